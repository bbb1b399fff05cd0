//! SHA-256 helpers and the domain-separation labels of every signed or hashed input.

use sha2::{Digest, Sha256};

/// Prefix of an issuer's signing input for one card.
pub const LABEL_CARD: &[u8] = b"citycode/v1/card\0";
/// Prefix of the device's signing input for a code.
pub const LABEL_CODE: &[u8] = b"citycode/v1/code\0";
/// Prefix of the root's signing input for a trust list.
pub const LABEL_TRUST_LIST: &[u8] = b"citycode/v1/trust-list\0";
/// Prefix of the signing input for a revocation list.
pub const LABEL_REVOCATION_LIST: &[u8] = b"citycode/v1/revocation-list\0";

/// Prefix of the root's signing input for a published list status.
pub const LABEL_LIST_STATUS: &[u8] = b"citycode/v1/list-status\0";

/// SHA-256(`input`).
pub(crate) fn sha256(input: &[u8]) -> [u8; 32] {
    Sha256::digest(input).into()
}

/// The first 16 bytes of SHA-256(`input`).
pub(crate) fn sha256_16(input: &[u8]) -> [u8; 16] {
    let full = Sha256::digest(input);
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}
