//! SM2 signatures with SM3 (GB/T 32918.2-2016, GM/T 0003.2-2012): the user-id digest
//! `Z_A`, deterministic signing, and verification.
//!
//! Signing runs on the `sm2` crate's arithmetic with nonces from RFC 6979 with SM3 (as
//! the `sm2` crate's own signer does); keys are decompressed and signatures verified on
//! the dedicated arithmetic of [`super::weierstrass`], which is several times faster than the
//! generic one.

use sm2::elliptic_curve::PrimeField as _;
use sm2::elliptic_curve::ops::Reduce as _;
use sm2::elliptic_curve::point::AffineCoordinates as _;
use sm2::{FieldBytes, ProjectivePoint, Scalar};
use sm3::Digest as _;
use zeroize::Zeroizing;

use super::weierstrass::{Curve as _, Sm2};
use super::{Algorithm, SIGNATURE_LEN, Scheme};
use crate::error::{Error, Reason};

/// The user id every citycode key signs under: the default of GM/T 0009-2012, so a
/// signing device that only knows the default (most do) signs what verifiers check.
pub const DEFAULT_USER_ID: &[u8; 16] = b"1234567812345678";

/// SM2 with SM3 under the default user id.
pub(crate) struct Sm2Sm3;

/// A validated SM2 key: its wire form, affine coordinates and user digest `Z_A`,
/// computed once per key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sm2Key {
    compressed: [u8; 33],
    pub(crate) x: [u8; 32],
    pub(crate) y: [u8; 32],
    za: [u8; 32],
}

impl Scheme for Sm2Sm3 {
    const ALGORITHM: Algorithm = Algorithm::Sm2Sm3;
    type PublicKey = Sm2Key;
    type SecretKey = Sm2Secret;

    fn parse_public(bytes: &[u8]) -> Result<Sm2Key, Reason> {
        let compressed: [u8; 33] = bytes.try_into().map_err(|_| Reason::Malformed)?;
        if !matches!(compressed.first(), Some(0x02 | 0x03)) {
            return Err(Reason::InvalidDeviceKey);
        }
        let (x, y) = super::weierstrass::decompress::<Sm2>(&compressed).ok_or(Reason::InvalidDeviceKey)?;
        Ok(Sm2Key { compressed, x, y, za: user_digest(&x, &y) })
    }

    fn encode_public(key: &Sm2Key) -> Vec<u8> {
        key.compressed.to_vec()
    }

    fn verify(key: &Sm2Key, message: &[u8], signature: &[u8]) -> bool {
        verify(&key.x, &key.y, &key.za, message, signature)
    }

    fn digest(input: &[u8]) -> Option<[u8; 32]> {
        Some(sm3::Sm3::digest(input).into())
    }

    fn secret_from_bytes(bytes: &[u8; 32]) -> Result<Sm2Secret, Error> {
        Sm2Secret::new(bytes).ok_or_else(|| Error::OutOfRange("SM2 scalar is zero or not below n - 1".into()))
    }

    fn public_of(secret: &Sm2Secret) -> Result<Sm2Key, Reason> {
        Sm2Sm3::parse_public(secret.public_key())
    }

    fn secret_bytes(secret: &Sm2Secret) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(secret.bytes().to_vec())
    }

    fn sign(secret: &Sm2Secret, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        secret.sign(message)
    }

    fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        signature_from_der(der)
    }
}

/// Converts an ASN.1 DER SM2 signature (`SEQUENCE { r INTEGER, s INTEGER }`) to `r ‖ s`,
/// `r` and `s` in `[1, n - 1]`.
pub(crate) fn signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    let not_sm2 = || Error::Signer("not a DER SM2 signature".into());
    // The DER structure is ECDSA's, and SM2's n is below P-256's, so p256's strict DER
    // reader takes every SM2 signature; the SM2 range check follows.
    let fixed = p256::ecdsa::Signature::from_der(der).map_err(|_| not_sm2())?.to_bytes();
    let sig = sm2::dsa::Signature::from_slice(&fixed).map_err(|_| not_sm2())?;
    Ok(sig.to_bytes().into())
}

/// A key in SEC1 compressed form from 65-byte uncompressed SEC1 on the SM2 curve;
/// `invalid_device_key` unless the point is on it.
pub(crate) fn compress(uncompressed: &[u8]) -> Result<[u8; 33], Reason> {
    super::weierstrass::compress::<Sm2>(uncompressed).ok_or(Reason::InvalidDeviceKey)
}

/// `Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` for the default user id, the
/// per-key prefix of every digest an SM2 key signs (GB/T 32918.2 §5.5).
pub(crate) fn user_digest(x: &[u8; 32], y: &[u8; 32]) -> [u8; 32] {
    // ENTL: the id's length in bits, two bytes big-endian (16 bytes: 0x0080).
    let mut h = sm3::Sm3::new();
    h.update([0x00, 0x80]);
    h.update(DEFAULT_USER_ID);
    for part in [&Sm2::A, &Sm2::B, &Sm2::GX, &Sm2::GY, x, y] {
        h.update(part);
    }
    h.finalize().into()
}

/// `e = SM3(Z_A ‖ M)`.
pub(crate) fn message_digest(za: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut h = sm3::Sm3::new();
    h.update(za);
    h.update(message);
    h.finalize().into()
}

/// An SM2 secret key ready to sign: `d`, `(1 + d)^-1` and `Z_A` computed once, and the
/// secret bytes (the RFC 6979 input). The secrets are zeroized on drop.
pub(crate) struct Sm2Secret {
    d: Zeroizing<Scalar>,
    d_plus_one_inv: Zeroizing<Scalar>,
    bytes: Zeroizing<[u8; 32]>,
    za: [u8; 32],
    /// The compressed public key `[d]G`.
    public: [u8; 33],
}

impl Sm2Secret {
    /// The key for 32 secret bytes, or `None` unless `d` is in `[1, n - 2]` (so that
    /// `1 + d` is invertible).
    pub(crate) fn new(bytes: &[u8; 32]) -> Option<Self> {
        use sm2::elliptic_curve::sec1::ToSec1Point as _;
        let d = Zeroizing::new(Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(*bytes)))?);
        if bool::from(d.is_zero()) {
            return None;
        }
        let d_plus_one_inv = Zeroizing::new(Option::<Scalar>::from((*d + Scalar::ONE).invert())?);
        let point = (ProjectivePoint::GENERATOR * *d).to_affine().to_sec1_point(false);
        let (x, y) = point.as_bytes().get(1..)?.split_at_checked(32)?;
        let (x, y): ([u8; 32], [u8; 32]) = (x.try_into().ok()?, y.try_into().ok()?);
        let mut public = [0x02 | (y[31] & 1); 33];
        public[1..].copy_from_slice(&x);
        Some(Sm2Secret { d, d_plus_one_inv, bytes: Zeroizing::new(*bytes), za: user_digest(&x, &y), public })
    }

    /// The compressed public key.
    pub(crate) fn public_key(&self) -> &[u8; 33] {
        &self.public
    }

    /// The secret bytes this key was made from.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Signs `message` (GB/T 32918.2 §6.1) with a nonce from RFC 6979's HMAC-SM3
    /// generator (deterministic: one key and message give one signature, so published
    /// vectors are reproducible).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let e_bytes = message_digest(&self.za, message);
        let e = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(e_bytes));
        let order = <sm2::Sm2 as sm2::elliptic_curve::Curve>::ORDER;
        let mut kgen = rfc6979::KGenerator::<sm3::Sm3, rfc6979::bigint::U256>::new(
            self.bytes.as_slice(),
            &e.to_repr(),
            &[],
            order.as_ref(),
        );
        loop {
            let mut k_bytes = Zeroizing::new(FieldBytes::default());
            kgen.fill_next_k(k_bytes.as_mut_slice());
            let Some(k) = Option::<Scalar>::from(Scalar::from_repr(*k_bytes)).map(Zeroizing::new) else { continue };
            if let Some(signature) = sign_with_nonce(&self.d, &self.d_plus_one_inv, &e, &k) {
                return signature;
            }
        }
    }
}

/// Steps A4-A7 of GB/T 32918.2 §6.1 with the nonce `k`; `None` when `k` must be redrawn.
fn sign_with_nonce(d: &Scalar, d_plus_one_inv: &Scalar, e: &Scalar, k: &Scalar) -> Option<[u8; SIGNATURE_LEN]> {
    let point = (ProjectivePoint::GENERATOR * *k).to_affine();
    let r = *e + Scalar::reduce(&point.x());
    if bool::from(r.is_zero()) || bool::from((r + *k).is_zero()) {
        return None;
    }
    let s = *d_plus_one_inv * (*k - r * d);
    if bool::from(s.is_zero()) {
        return None;
    }
    let mut out = [0u8; SIGNATURE_LEN];
    out[..32].copy_from_slice(&r.to_repr());
    out[32..].copy_from_slice(&s.to_repr());
    Some(out)
}

/// Verifies `signature` (`r ‖ s`, 64 bytes) over `message` under the key `(x, y)`, whose
/// user digest is `za` (GB/T 32918.2 §7.1): `r` and `s` in `[1, n - 1]`,
/// `t = r + s mod n` not zero, `(x_1, y_1) = [s]G + [t]P_A` not the point at infinity,
/// and `r = e + x_1 mod n`.
pub(crate) fn verify(x: &[u8; 32], y: &[u8; 32], za: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = <&[u8; SIGNATURE_LEN]>::try_from(signature) else { return false };
    let e = message_digest(za, message);
    super::weierstrass::sm2_verify_prehash(x, y, &e, signature)
}

/// The verification equation on the `sm2` crate's generic arithmetic: the reference the
/// dedicated arithmetic is tested against.
#[cfg(test)]
pub(crate) fn verify_prehash_generic(x: &[u8; 32], y: &[u8; 32], e: &[u8; 32], signature: &[u8; 64]) -> bool {
    let scalar = |b: &[u8]| -> Option<Scalar> {
        let b: [u8; 32] = b.try_into().ok()?;
        Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(b))).filter(|v| !bool::from(v.is_zero()))
    };
    let (r_bytes, s_bytes) = signature.split_at(32);
    let (Some(r), Some(s)) = (scalar(r_bytes), scalar(s_bytes)) else { return false };
    let t = r + s;
    if bool::from(t.is_zero()) {
        return false;
    }
    let mut sec1 = [4u8; 65];
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    let Ok(key) = sm2::PublicKey::from_sec1_bytes(&sec1) else { return false };
    let point = ProjectivePoint::GENERATOR * s + key.to_projective() * t;
    if bool::from(sm2::elliptic_curve::Group::is_identity(&point)) {
        return false;
    }
    let e = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
    r == e + Scalar::reduce(&point.to_affine().x())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::alg::weierstrass::hex32;

    fn scalar(hex: &str) -> Scalar {
        Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(hex32(hex)))).unwrap()
    }

    /// GM/T 0003.5-2012 (GB/T 32918.5-2017) Annex A: the signature example on the
    /// recommended curve: key, `Z_A`, `e`, and `(r, s)` from the published `k`.
    #[test]
    fn the_standards_signature_example_on_the_recommended_curve() {
        let d = hex32("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
        let pair = crate::KeyPair::from_secret_bytes(crate::Algorithm::Sm2Sm3, &d).unwrap();
        let x = hex32("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020");
        let y = hex32("CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13");
        let mut compressed = vec![0x02 | (y[31] & 1)];
        compressed.extend_from_slice(&x);
        assert_eq!(pair.public_key().to_bytes(), compressed);
        let za = user_digest(&x, &y);
        assert_eq!(crate::text::hex(&za), "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3");
        let e = message_digest(&za, b"message digest");
        assert_eq!(crate::text::hex(&e), "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640");
        let secret = Sm2Secret::new(&d).unwrap();
        let (d, d_plus_one_inv) = (&secret.d, &secret.d_plus_one_inv);
        let e = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(e));
        let k = scalar("59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21");
        let signature = sign_with_nonce(d, d_plus_one_inv, &e, &k).unwrap();
        assert_eq!(
            crate::text::hex(&signature),
            "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3\
             b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
        );
        assert!(pair.public_key().verify(b"message digest", &signature));
        assert!(!pair.public_key().verify(b"message digesT", &signature));
    }

    #[test]
    fn signatures_verify_under_the_sm2_crate_and_deterministically() {
        use sm2::dsa::signature::Verifier as _;
        let pair = crate::KeyPair::generate(crate::Algorithm::Sm2Sm3).unwrap();
        let signature = pair.sign(b"citycode");
        assert_eq!(pair.sign(b"citycode"), signature);
        let reference = sm2::dsa::VerifyingKey::from_sec1_bytes(
            core::str::from_utf8(DEFAULT_USER_ID).unwrap(),
            &pair.public_key().to_bytes(),
        )
        .unwrap();
        let parsed = sm2::dsa::Signature::from_slice(&signature).unwrap();
        assert!(reference.verify(b"citycode", &parsed).is_ok());
        assert!(reference.verify(b"citycodf", &parsed).is_err());
    }

    /// The key's affine coordinates, through the `sm2` crate.
    fn coordinates(key: &crate::PublicKey) -> ([u8; 32], [u8; 32]) {
        use sm2::elliptic_curve::sec1::ToSec1Point as _;
        let point = sm2::PublicKey::from_sec1_bytes(&key.to_bytes()).unwrap().to_sec1_point(false);
        (point.as_bytes()[1..33].try_into().unwrap(), point.as_bytes()[33..].try_into().unwrap())
    }

    const N: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");

    /// `N - v` for a small `v`, big-endian.
    fn n_minus(v: u8) -> [u8; 32] {
        let mut b = N;
        b[31] -= v;
        b
    }

    /// `N - r` (so that `r + s = n`), big-endian.
    fn complement(r: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(r[i]) - borrow;
            out[i] = d.rem_euclid(256) as u8;
            borrow = i16::from(d < 0);
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// The dedicated arithmetic gives the generic one's answer on valid signatures
        /// and on each way of breaking one.
        #[test]
        fn the_dedicated_verifier_agrees_with_the_sm2_crate(
            seed in proptest::prelude::any::<[u8; 32]>(),
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            bit in 0usize..512,
            mode in 0u8..8,
        ) {
            let Ok(pair) = crate::KeyPair::from_secret_bytes(crate::Algorithm::Sm2Sm3, &seed) else { return Ok(()) };
            let (x, y) = coordinates(&pair.public_key());
            let za = user_digest(&x, &y);
            let mut e = message_digest(&za, &message);
            let mut signature = pair.sign(&message);
            let (x, y) = match mode {
                0 => (x, y),
                1 => { signature[bit / 8] ^= 1 << (bit % 8); (x, y) }
                2 => { e[(bit / 8) % 32] ^= 1 << (bit % 8); (x, y) }
                3 => { let s = complement(&signature[..32]); signature[32..].copy_from_slice(&s); (x, y) }
                4 => { signature[..32].copy_from_slice(&n_minus(1)); (x, y) }
                5 => { signature[32..].copy_from_slice(&N); (x, y) }
                6 => coordinates(&crate::KeyPair::generate(crate::Algorithm::Sm2Sm3).unwrap().public_key()),
                _ => { signature = [0u8; 64]; signature[bit / 8] = 1; (x, y) }
            };
            let fast = crate::alg::weierstrass::sm2_verify_prehash(&x, &y, &e, &signature);
            proptest::prop_assert_eq!(fast, verify_prehash_generic(&x, &y, &e, &signature));
            proptest::prop_assert_eq!(fast, mode == 0);
        }
    }

    /// The branch no real signature reaches (probability about 2^-128): `x_1` of
    /// `[s]G + [t]P` at or above `n`, so `x_1 mod n = x_1 - n`. Built backwards: a point
    /// `R` with `x ≥ n`, `s = r = 1` (so `t = 2`), the key `P = [2^-1](R - G)` (so
    /// `[s]G + [t]P = R`), and `e = r - (x_R - n) mod n`.
    #[test]
    fn x1_at_or_above_n_is_reduced_as_the_standard_says() {
        use sm2::elliptic_curve::sec1::ToSec1Point as _;
        let mut r_point = None;
        for i in 0u8..=255 {
            let mut x = N;
            x[31] = x[31].wrapping_add(i);
            let compressed = [&[0x02u8][..], &x].concat();
            if let Ok(point) = sm2::PublicKey::from_sec1_bytes(&compressed) {
                r_point = Some((x, point));
                break;
            }
        }
        let (x_r, r_point) = r_point.unwrap();
        let two_inv = Option::<Scalar>::from(Scalar::from(2u64).invert()).unwrap();
        let key = (r_point.to_projective() - ProjectivePoint::GENERATOR) * two_inv;
        let key = key.to_affine().to_sec1_point(false);
        let (x, y): ([u8; 32], [u8; 32]) =
            (key.as_bytes()[1..33].try_into().unwrap(), key.as_bytes()[33..].try_into().unwrap());
        let x_r_mod_n = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(x_r));
        let e: [u8; 32] = (Scalar::ONE - x_r_mod_n).to_repr().into();
        let mut signature = [0u8; 64];
        signature[31] = 1;
        signature[63] = 1;
        assert!(crate::alg::weierstrass::sm2_verify_prehash(&x, &y, &e, &signature));
        assert!(verify_prehash_generic(&x, &y, &e, &signature));
        // e one higher: r = e + x_1 no longer holds, also not as x_1 itself (without - n).
        let e_next: [u8; 32] = (Scalar::ONE - x_r_mod_n + Scalar::ONE).to_repr().into();
        assert!(!crate::alg::weierstrass::sm2_verify_prehash(&x, &y, &e_next, &signature));
        assert!(!verify_prehash_generic(&x, &y, &e_next, &signature));
    }

    #[test]
    fn secret_scalars_are_in_one_to_n_minus_two() {
        assert!(Sm2Secret::new(&[0u8; 32]).is_none());
        assert!(Sm2Secret::new(&n_minus(0)).is_none());
        assert!(Sm2Secret::new(&n_minus(1)).is_none());
        assert!(Sm2Secret::new(&n_minus(2)).is_some());
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(Sm2Secret::new(&one).is_some());
    }
}
