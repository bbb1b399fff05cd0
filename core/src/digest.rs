//! The domain-separation labels of every signed or hashed input.

pub use crate::alg::digest;

/// Prefix of an issuer's signing input for one card.
pub const LABEL_CARD: &[u8] = b"citycode/v1/card\0";
/// Prefix of the device's signing input for a code.
pub const LABEL_CODE: &[u8] = b"citycode/v1/code\0";
/// Prefix of the root's signing input for a trust list.
pub const LABEL_TRUST_LIST: &[u8] = b"citycode/v1/trust-list\0";
/// Prefix of the signing input for a revocation list.
pub const LABEL_REVOCATION_LIST: &[u8] = b"citycode/v1/revocation-list\0";

/// Prefix of the device's signing input for a key request (SPEC.md §4.7).
pub const LABEL_KEY_REQUEST: &[u8] = b"citycode/v1/key-request\0";

/// Prefix of an issuer's signing input for a card held by a guardian (SPEC.md §4.4):
/// a verifier that does not know guardianship cannot verify it as the dependant's own.
pub const LABEL_GUARDIAN_CARD: &[u8] = b"citycode/v1/guardian-card\0";

/// Prefix of an issuer's signing input for a printed code's card (SPEC.md §5.1).
pub const LABEL_PRINTED_CARD: &[u8] = b"citycode/v1/printed-card\0";

/// Prefix of the first digest of an identity commitment (SPEC.md §4.3).
pub const LABEL_ID_NUMBER: &[u8] = b"citycode/v1/id-number\0";

/// Prefix of the root's signing input for a published list status.
pub const LABEL_LIST_STATUS: &[u8] = b"citycode/v1/list-status\0";
