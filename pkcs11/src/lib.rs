//! citycode root and issuer keys in a PKCS#11 token: a hardware security module, a
//! certified signing device (密码机), a smart card, or SoftHSM for trials.
//!
//! [`TokenSigner`] implements [`citycode::DeviceSigner`], so it signs wherever a key
//! file does: trust lists and revocation lists (`sign_with`), the list status, and every
//! card an [`citycode::Issuer`] issues. The key is chosen by a [`TokenKeyConfig`] (TOML
//! or JSON, or embedded in a service's configuration) that names the module, the token
//! by label or RFC 7512 URI, the key by label or id, and where the PIN is: a file or an
//! environment variable, never a command line. [`generate_key`] creates a key pair
//! inside the token, sensitive and never extractable, and returns only its public key.
//!
//! Ed25519 signs with `CKM_EDDSA`, ECDSA P-256 with `CKM_ECDSA` over a SHA-256 digest
//! made here, SM2 with the vendor's mechanism named in the configuration (PKCS#11
//! defines none; no SM2 token was available to test it). Every signature is converted
//! to `r ‖ s` and checked against the public key before use, by core
//! ([`citycode::keys::signature_by`]).
//!
//! A signer keeps a pool of sessions (`sessions`, default 4): [`citycode::keys::signatures_by`]
//! (which `Issuer::issue_batch` uses) signs on that many threads at once. A lost session
//! (a restarted HSM) is replaced by a new one, logged in again; if the token is gone, or
//! now holds another key under the label, signing fails with [`TokenError`] and nothing is
//! signed.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

mod config;
mod error;
mod keygen;
mod signer;
pub mod softhsm;

pub use config::{DEFAULT_SESSIONS, Sm2Mechanisms, TokenKeyConfig};
pub use error::TokenError;
pub use keygen::generate_key;
pub use signer::{PROBE_MESSAGE, TokenSigner};

/// A signer from a configuration: [`TokenSigner::open`], boxed as services hold their
/// keys.
pub fn open_boxed(config: &TokenKeyConfig) -> Result<Box<dyn citycode::DeviceSigner + Send + Sync>, TokenError> {
    Ok(Box::new(TokenSigner::open(config)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_signer_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::TokenSigner>();
        send_sync::<super::TokenKeyConfig>();
    }
}
