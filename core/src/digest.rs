//! Digests (SHA-256, or SM3 for the national suite) and the domain-separation labels of
//! every signed or hashed input.

use sha2::{Digest, Sha256};

use crate::keys::Algorithm;

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

/// The digest that goes with a signature algorithm (SPEC.md §4.6): SM3 for SM2, so a
/// deployment whose keys are all SM2 computes no SHA-256 anywhere; SHA-256 otherwise.
/// `None` for SM2 in a build without it (feature `sm2`).
pub fn digest(alg: Algorithm, input: &[u8]) -> Option<[u8; 32]> {
    match alg {
        Algorithm::Ed25519 | Algorithm::EcdsaP256Sha256 => Some(Sha256::digest(input).into()),
        #[cfg(feature = "sm2")]
        Algorithm::Sm2Sm3 => Some(sm3::Sm3::digest(input).into()),
        #[cfg(not(feature = "sm2"))]
        Algorithm::Sm2Sm3 => None,
    }
}

/// The digest of `input` for a key's algorithm `alg`. Keys exist only for algorithms
/// this build has (without feature `sm2` no SM2 key parses), so the fallback is never
/// taken.
pub(crate) fn key_digest(alg: Algorithm, input: &[u8]) -> [u8; 32] {
    digest(alg, input).unwrap_or_else(|| Sha256::digest(input).into())
}

/// The first 16 bytes of [`key_digest`]: key ids, card ids and replay ids.
pub(crate) fn digest_16(alg: Algorithm, input: &[u8]) -> [u8; 16] {
    let full = key_digest(alg, input);
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        crate::text::hex(b)
    }

    /// GB/T 32905-2016 Appendix A: "abc" and "abcd" repeated 16 times.
    #[test]
    fn sm3_matches_the_standards_samples() {
        let digest = |alg, m: &[u8]| super::digest(alg, m).unwrap();
        assert_eq!(
            hex(&digest(Algorithm::Sm2Sm3, b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hex(&digest(Algorithm::Sm2Sm3, &b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
        assert_eq!(
            hex(&digest(Algorithm::EcdsaP256Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(digest(Algorithm::Ed25519, b"abc"), digest(Algorithm::EcdsaP256Sha256, b"abc"));
        assert_eq!(digest_16(Algorithm::Sm2Sm3, b"abc")[..], digest(Algorithm::Sm2Sm3, b"abc")[..16]);
        assert_eq!(key_digest(Algorithm::Sm2Sm3, b"abc"), digest(Algorithm::Sm2Sm3, b"abc"));
    }
}
