//! The algorithm layer: algorithm ids, the signature length, and the digest that goes
//! with each algorithm (SPEC.md §4.6). Below it, the arithmetic: [`weierstrass`] (the
//! `a = -3` short-Weierstrass curves P-256 and SM2) and [`sm2`] (SM2 signing and
//! verification). Nothing here imports from the rest of the crate but errors.

use core::fmt;

use sha2::{Digest, Sha256};

use zeroize::Zeroizing;

use crate::error::{Error, Reason};

pub(crate) mod ed25519;
pub(crate) mod p256;
#[cfg(feature = "sm2")]
pub(crate) mod sm2;
/// SM2 in a build without it: uninhabited keys, `unsupported_algorithm` (feature `sm2`).
#[cfg(not(feature = "sm2"))]
#[path = "sm2_absent.rs"]
pub(crate) mod sm2;
pub(crate) mod weierstrass;

/// What the key layer asks of each signature algorithm; one implementation per module
/// ([`ed25519::Ed25519`], [`p256::P256`], [`sm2::Sm2Sm3`]). A new algorithm is a new
/// module answering this trait, a variant of [`Algorithm`], and an arm in each match of
/// `keys.rs` (the enum is exhaustive on purpose).
pub(crate) trait Scheme {
    /// The algorithm's id.
    const ALGORITHM: Algorithm;
    /// A validated public key.
    type PublicKey: Clone + PartialEq + Eq;
    /// A secret key; zeroized on drop.
    type SecretKey;
    /// Parses and validates a key in its wire form (`malformed` for a wrong length,
    /// `invalid_device_key` for a point that is not a usable key).
    fn parse_public(bytes: &[u8]) -> Result<Self::PublicKey, Reason>;
    /// The key's wire form.
    fn encode_public(key: &Self::PublicKey) -> Vec<u8>;
    /// Whether the key lies in the prime-order subgroup (always, on a cofactor-1 curve).
    fn has_prime_order(_key: &Self::PublicKey) -> bool {
        true
    }
    /// Verifies a signature over `message` strictly (SPEC.md §4.2).
    fn verify(key: &Self::PublicKey, message: &[u8], signature: &[u8]) -> bool;
    /// The digest that goes with the algorithm (SPEC.md §4.6); `None` when absent.
    fn digest(input: &[u8]) -> Option<[u8; 32]>;
    /// The secret for 32 bytes (a seed or a big-endian scalar).
    fn secret_from_bytes(bytes: &[u8; 32]) -> Result<Self::SecretKey, Error>;
    /// The secret's public half.
    fn public_of(secret: &Self::SecretKey) -> Result<Self::PublicKey, Reason>;
    /// The 32 secret bytes.
    fn secret_bytes(secret: &Self::SecretKey) -> Zeroizing<Vec<u8>>;
    /// Signs `message` deterministically.
    fn sign(secret: &Self::SecretKey, message: &[u8]) -> [u8; SIGNATURE_LEN];
    /// A keystore's DER signature as `r ‖ s` (an error where the algorithm has none).
    fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error>;
}

/// SHA-256 of `input`.
fn sha256(input: &[u8]) -> [u8; 32] {
    Sha256::digest(input).into()
}

/// Length in bytes of every signature in format version 1 (Ed25519; ECDSA P-256 and SM2
/// as the fixed 64-byte `r || s`).
pub const SIGNATURE_LEN: usize = 64;

/// A signature algorithm. Every key and every signature on the wire carries one of these
/// ids, so new algorithms can be added without a format break. Deliberately exhaustive:
/// an algorithm added later must be handled, by name, in every adapter that converts
/// it, never by a catch-all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), verified strictly: canonical encodings, no small-order keys
    /// or `R`. Public keys are 32 bytes.
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256, signatures as 64-byte `r || s`. Public keys
    /// are 33-byte SEC1 compressed points. The curve phone secure hardware offers.
    EcdsaP256Sha256,
    /// SM2 with SM3 (GB/T 32918.2, GM/T 0003.2) under the default user id
    /// `1234567812345678`, signatures as 64-byte `r || s`. Public keys are 33-byte SEC1
    /// compressed points on the SM2 curve. Every digest tied to an SM2 key is SM3
    /// (SPEC.md §4.6), so a deployment whose keys are all SM2 uses only the national
    /// algorithms.
    Sm2Sm3,
}

impl Algorithm {
    /// Every algorithm this verifier implements.
    pub const ALL: [Algorithm; 3] = [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256, Algorithm::Sm2Sm3];

    /// The stable name: `ed25519`, `ecdsa_p256_sha256` or `sm2_sm3` (as serde, the CLI
    /// and the WASM package spell it).
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256Sha256 => "ecdsa_p256_sha256",
            Algorithm::Sm2Sm3 => "sm2_sm3",
        }
    }

    /// The algorithm for a stable name, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The algorithm id byte on the wire.
    pub const fn id(self) -> u8 {
        match self {
            Algorithm::Ed25519 => 1,
            Algorithm::EcdsaP256Sha256 => 2,
            Algorithm::Sm2Sm3 => 3,
        }
    }

    /// The algorithm for an id byte; other ids are unsupported.
    pub fn from_id(id: u8) -> Result<Self, Reason> {
        match id {
            1 => Ok(Algorithm::Ed25519),
            2 => Ok(Algorithm::EcdsaP256Sha256),
            3 => Ok(Algorithm::Sm2Sm3),
            _ => Err(Reason::UnsupportedAlgorithm),
        }
    }

    /// Length of an encoded public key of this algorithm.
    pub const fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => 32,
            Algorithm::EcdsaP256Sha256 | Algorithm::Sm2Sm3 => 33,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The digest that goes with a signature algorithm (SPEC.md §4.6): SM3 for SM2, so a
/// deployment whose keys are all SM2 computes no SHA-256 anywhere; SHA-256 otherwise.
/// `None` for SM2 in a build without it (feature `sm2`).
pub fn digest(alg: Algorithm, input: &[u8]) -> Option<[u8; 32]> {
    match alg {
        Algorithm::Ed25519 => ed25519::Ed25519::digest(input),
        Algorithm::EcdsaP256Sha256 => p256::P256::digest(input),
        Algorithm::Sm2Sm3 => sm2::Sm2Sm3::digest(input),
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
