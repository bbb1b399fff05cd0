//! ECDSA over NIST P-256 with SHA-256: keys as 33-byte SEC1 compressed points, checked on
//! the curve; signatures as 64-byte `r ‖ s`, verified by ring natively or by the
//! short-Weierstrass arithmetic ([`super::weierstrass`]) without it; deterministic
//! signing (RFC 6979) by the `p256` crate.

use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use zeroize::Zeroizing;

use super::weierstrass;
use super::{Algorithm, SIGNATURE_LEN, Scheme};
use crate::error::{Error, Reason};

/// ECDSA P-256 with SHA-256.
pub(crate) struct P256;

/// A validated P-256 key, compressed (the wire form) and uncompressed (what ring and
/// WebCrypto take).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct P256Key {
    pub(crate) compressed: [u8; 33],
    pub(crate) uncompressed: [u8; 65],
}

impl Scheme for P256 {
    const ALGORITHM: Algorithm = Algorithm::EcdsaP256Sha256;
    type PublicKey = P256Key;
    type SecretKey = SigningKey;

    fn parse_public(bytes: &[u8]) -> Result<P256Key, Reason> {
        let compressed: [u8; 33] = bytes.try_into().map_err(|_| Reason::Malformed)?;
        if !matches!(compressed.first(), Some(0x02 | 0x03)) {
            return Err(Reason::InvalidDeviceKey);
        }
        let (x, y) = weierstrass::decompress::<weierstrass::P256>(&compressed).ok_or(Reason::InvalidDeviceKey)?;
        let mut uncompressed = [4u8; 65];
        uncompressed[1..33].copy_from_slice(&x);
        uncompressed[33..].copy_from_slice(&y);
        Ok(P256Key { compressed, uncompressed })
    }

    fn encode_public(key: &P256Key) -> Vec<u8> {
        key.compressed.to_vec()
    }

    fn verify(key: &P256Key, message: &[u8], signature: &[u8]) -> bool {
        verify_p256(&key.uncompressed, message, signature)
    }

    fn digest(input: &[u8]) -> Option<[u8; 32]> {
        Some(super::sha256(input))
    }

    fn secret_from_bytes(bytes: &[u8; 32]) -> Result<SigningKey, Error> {
        SigningKey::from_slice(bytes).map_err(|_| Error::OutOfRange("P-256 scalar is zero or not below n".into()))
    }

    fn public_of(secret: &SigningKey) -> Result<P256Key, Reason> {
        P256::parse_public(secret.verifying_key().to_sec1_point(true).as_bytes())
    }

    fn secret_bytes(secret: &SigningKey) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(secret.to_bytes().to_vec())
    }

    fn sign(secret: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig: p256::ecdsa::Signature = secret.sign(message);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&sig.to_bytes());
        out
    }

    fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        signature_from_der(der)
    }
}

/// Converts an ASN.1 DER ECDSA P-256 signature to `r ‖ s`.
pub(crate) fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    let sig =
        p256::ecdsa::Signature::from_der(der).map_err(|_| Error::Signer("not a DER ECDSA P-256 signature".into()))?;
    let mut out = [0u8; SIGNATURE_LEN];
    out.copy_from_slice(&sig.to_bytes());
    Ok(out)
}

/// ECDSA P-256 / SHA-256 verification with ring.
#[cfg(feature = "ring")]
fn verify_p256(uncompressed: &[u8; 65], message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, uncompressed)
        .verify(message, signature)
        .is_ok()
}

/// ECDSA P-256 / SHA-256 verification on citycode's own arithmetic (no ring: the WASM
/// packages), which is smaller and faster there than the generic `p256` crate.
#[cfg(not(feature = "ring"))]
fn verify_p256(uncompressed: &[u8; 65], message: &[u8], signature: &[u8]) -> bool {
    use sha2::Digest as _;
    let (Ok(x), Ok(y), Ok(signature)) = (
        <&[u8; 32]>::try_from(&uncompressed[1..33]),
        <&[u8; 32]>::try_from(&uncompressed[33..]),
        <&[u8; SIGNATURE_LEN]>::try_from(signature),
    ) else {
        return false;
    };
    let e: [u8; 32] = sha2::Sha256::digest(message).into();
    weierstrass::ecdsa_verify_prehash::<weierstrass::P256>(x, y, &e, signature)
}
