//! Ed25519 (RFC 8032) as SPEC.md §4.2 verifies it: strict decoding (canonical `S`, `R`
//! and keys, none of small order) and the cofactored equation, alone or in a batch.

use ed25519_dalek::Signer as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::{Algorithm, SIGNATURE_LEN, Scheme};
use crate::error::{Error, Reason};

/// Ed25519.
pub(crate) struct Ed25519;

impl Scheme for Ed25519 {
    const ALGORITHM: Algorithm = Algorithm::Ed25519;
    type PublicKey = VerifyingKey;
    type SecretKey = SigningKey;

    fn parse_public(bytes: &[u8]) -> Result<VerifyingKey, Reason> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Reason::Malformed)?;
        let key = VerifyingKey::from_bytes(&arr).map_err(|_| Reason::InvalidDeviceKey)?;
        // Non-canonical y (>= p) decodes but re-encodes differently; small-order
        // points (which include both with x = 0, the only points whose sign bit
        // could be non-canonical) are useless as keys.
        if !is_canonical_y(&arr) || key.is_weak() {
            return Err(Reason::InvalidDeviceKey);
        }
        Ok(key)
    }

    fn encode_public(key: &VerifyingKey) -> Vec<u8> {
        key.to_bytes().to_vec()
    }

    /// Not every valid key: `A + T` with a torsion component `T` verifies every
    /// signature of `A`'s secret under the cofactored equation (SPEC.md §4.7).
    fn has_prime_order(key: &VerifyingKey) -> bool {
        curve25519_dalek::edwards::CompressedEdwardsY(key.to_bytes()).decompress().is_some_and(|p| p.is_torsion_free())
    }

    fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == SIGNATURE_LEN && Check::new(key, message, signature).is_some_and(|c| c.verify())
    }

    fn digest(input: &[u8]) -> Option<[u8; 32]> {
        Some(super::sha256(input))
    }

    fn secret_from_bytes(bytes: &[u8; 32]) -> Result<SigningKey, Error> {
        Ok(SigningKey::from_bytes(bytes))
    }

    fn public_of(secret: &SigningKey) -> Result<VerifyingKey, Reason> {
        Ok(secret.verifying_key())
    }

    fn secret_bytes(secret: &SigningKey) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(secret.to_bytes().to_vec())
    }

    fn sign(secret: &SigningKey, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        secret.sign(message).to_bytes()
    }

    fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        Err(Error::Signer(format!("an Ed25519 signature is 64 bytes, not {}", der.len())))
    }
}

/// Whether an encoded Edwards point's y-coordinate (the sign bit aside) is below
/// p = 2^255 - 19. Decompression reduces larger values silently, so without this check
/// two encodings would name one point.
pub(crate) fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = bytes;
    // y >= p exactly when bits 8 to 254 are all set and the low byte is 0xed or more.
    !(*high & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff) && *low >= 0xed)
}

/// One Ed25519 signature, decoded and ready for the verification equation.
pub(crate) struct Check {
    #[cfg(feature = "batch")]
    a_bytes: [u8; 32],
    a: curve25519_dalek::EdwardsPoint,
    r: curve25519_dalek::EdwardsPoint,
    s: curve25519_dalek::Scalar,
    k: curve25519_dalek::Scalar,
}

impl Check {
    /// Decodes a signature strictly: `S` canonical (below the group order), `R`
    /// canonically encoded and not of small order. `None` means the signature is
    /// invalid whatever the equation says.
    pub(crate) fn new(vk: &VerifyingKey, message: &[u8], signature: &[u8]) -> Option<Check> {
        use curve25519_dalek::Scalar;
        use curve25519_dalek::edwards::CompressedEdwardsY;
        use sha2::{Digest, Sha512};
        let (r_bytes, s_bytes) = signature.split_at_checked(32)?;
        let r_bytes: [u8; 32] = r_bytes.try_into().ok()?;
        let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
        let r = CompressedEdwardsY(r_bytes).decompress()?;
        // Canonical without re-encoding (an inversion): y below p, and not of small order
        // (which also rules out x = 0 with the sign bit set).
        if !is_canonical_y(&r_bytes) || r.is_small_order() {
            return None;
        }
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(vk.as_bytes());
        h.update(message);
        let wide: [u8; 64] = h.finalize().into();
        Some(Check {
            #[cfg(feature = "batch")]
            a_bytes: vk.to_bytes(),
            a: vk.to_edwards(),
            r,
            s,
            k: Scalar::from_bytes_mod_order_wide(&wide),
        })
    }

    /// The cofactored equation `[8]([S]B - R - [k]A) = 0`. With the strict decoding
    /// above, and keys that are canonical and not of small order, this is the rule of
    /// SPEC.md §4.2; unlike the cofactorless equation it gives the same answer alone and
    /// in a batch.
    pub(crate) fn verify(&self) -> bool {
        use curve25519_dalek::traits::IsIdentity;
        let r = curve25519_dalek::EdwardsPoint::vartime_double_scalar_mul_basepoint(&self.k, &-self.a, &self.s);
        (r - self.r).mul_by_cofactor().is_identity()
    }

    /// Checks many signatures with one multi-scalar multiplication: with `z_0 = 1` and
    /// random 128-bit `z_i` for the others, `[8](-(Σ z_i S_i) B + Σ z_i R_i + Σ z_i k_i A_i)
    /// = 0`. It holds if every signature verifies; if one does not, it fails except with
    /// probability about 2^-125 over `z`, which comes from the OS and is unknown to the
    /// signers (fixing one `z` to 1 loses nothing: the others still randomise every
    /// combination of failures). Two signatures cost about 0.65 of two single checks.
    #[cfg(feature = "batch")]
    pub(crate) fn verify_batch(checks: &[Check]) -> bool {
        use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
        use curve25519_dalek::{EdwardsPoint, Scalar};
        let Some((first, others)) = checks.split_first() else { return true };
        let mut random = vec![0u8; 16 * others.len()];
        if getrandom::fill(&mut random).is_err() {
            return false;
        }
        let zs: Vec<Scalar> = core::iter::once(Scalar::ONE)
            .chain(random.chunks_exact(16).map(|c| {
                let mut b = [0u8; 32];
                b[..16].copy_from_slice(c);
                Scalar::from_bytes_mod_order(b)
            }))
            .collect();
        let b_coefficient: Scalar = checks.iter().zip(&zs).map(|(c, z)| c.s * z).sum();
        // Signatures under the same key (an issuer's cards) share one term.
        let mut keys: Vec<(&[u8; 32], EdwardsPoint, Scalar)> = Vec::new();
        for (c, z) in checks.iter().zip(&zs) {
            match keys.iter_mut().find(|(a, ..)| **a == c.a_bytes) {
                Some((_, _, sum)) => *sum += c.k * z,
                None => keys.push((&c.a_bytes, c.a, c.k * z)),
            }
        }
        // R_0's coefficient is 1: added after the multiplication rather than through it.
        let scalars =
            core::iter::once(-b_coefficient).chain(zs.iter().skip(1).copied()).chain(keys.iter().map(|(_, _, k)| *k));
        let points = core::iter::once(curve25519_dalek::constants::ED25519_BASEPOINT_POINT)
            .chain(others.iter().map(|c| c.r))
            .chain(keys.iter().map(|(_, a, _)| *a));
        (EdwardsPoint::vartime_multiscalar_mul(scalars, points) + first.r).mul_by_cofactor().is_identity()
    }
}
