//! codes.json, section by section: each module adds its cases in file order.

pub(crate) mod claims;
pub(crate) mod ed25519;
pub(crate) mod guardian;
pub(crate) mod keys;
pub(crate) mod list_parsing;
pub(crate) mod lists;
pub(crate) mod p256;
pub(crate) mod printed;
pub(crate) mod replay_ids;
pub(crate) mod replay_policy;
pub(crate) mod revocation;
pub(crate) mod revocation_signer_issued;
pub(crate) mod revocation_signer_now;
pub(crate) mod scenes;
pub(crate) mod tampering;
pub(crate) mod text_bounds;
pub(crate) mod time;
pub(crate) mod windows;
