//! Signatures and points no honest signer makes: Ed25519 signatures over torsion
//! points or unreduced scalars, non-canonical and off-curve encodings, P-256 scalars.

use crate::prelude::*;

/// The order n of the P-256 group, big-endian.
pub(crate) const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// a - b for big-endian 256-bit a >= b.
pub(crate) fn be_sub(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b).rev() {
        let d = i16::from(x) - i16::from(y) - borrow;
        borrow = i16::from(d < 0);
        *o = (d + 256 * borrow) as u8;
    }
    out
}

/// How a hand-made Ed25519 device signature departs from RFC 8032 (SPEC.md §4.2).
/// An Ed25519 signature over `message` by the secret of `seed`, with `key` hashed as
/// the public key: how the holder of one secret signs for `A + T`.
pub(crate) fn ed25519_sign_as(seed: [u8; 32], key: &[u8; 32], message: &[u8]) -> [u8; 64] {
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let (low, prefix) = h.split_at(32);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(low);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(message));
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let k = Scalar::from_hash(Sha512::new().chain_update(big_r.as_bytes()).chain_update(key).chain_update(message));
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice((r + k * a).as_bytes());
    sig
}

#[derive(Clone, Copy)]
pub(crate) enum Torsion {
    /// `R + T` for a point `T` of order 8, with `k` over the new `R`: valid under the
    /// cofactored equation only.
    MixedR,
    /// `R = T` of order 8 and `S = k·a`: satisfies the cofactored equation, but a small-
    /// order `R` MUST be refused.
    SmallOrderR,
    /// A valid signature with `S + L` in place of `S`: the equation holds, but `S` MUST
    /// be below `L`.
    UnreducedS,
}

/// Signs `message` with the Ed25519 key of `seed` the way `how` says.
pub(crate) fn ed25519_sign_odd(seed: [u8; 32], message: &[u8], how: Torsion) -> [u8; 64] {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let (low, prefix) = h.split_at(32);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(low);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = EdwardsPoint::mul_base(&a).compress();
    let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(message));
    let big_r = match how {
        Torsion::MixedR => EdwardsPoint::mul_base(&r) + EIGHT_TORSION[1],
        Torsion::SmallOrderR => EIGHT_TORSION[1],
        Torsion::UnreducedS => EdwardsPoint::mul_base(&r),
    };
    let k = Scalar::from_hash(
        Sha512::new().chain_update(big_r.compress().as_bytes()).chain_update(public.as_bytes()).chain_update(message),
    );
    let s = match how {
        Torsion::SmallOrderR => k * a,
        _ => r + k * a,
    };
    let mut s_bytes = s.to_bytes();
    if matches!(how, Torsion::UnreducedS) {
        // S + L, little-endian; S < L < 2^253 so the sum fits 256 bits.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (x, l) in s_bytes.iter_mut().zip(L) {
            let sum = u16::from(*x) + u16::from(l) + carry;
            *x = sum as u8;
            carry = sum >> 8;
        }
    }
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.compress().as_bytes());
    sig[32..].copy_from_slice(&s_bytes);
    sig
}

/// An Ed25519 point with small y (< 19) that is valid and not of small order,
/// re-encoded as y + p (non-canonical).
/// `sign` is the x sign bit (0 or 0x80): both signs must be refused.
pub(crate) fn non_canonical_point(sign: u8) -> Res<Vec<u8>> {
    for y in 2u8..19 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        canonical[31] = sign;
        if PublicKey::from_bytes(Algorithm::Ed25519, &canonical).is_ok() {
            // p = 2^255 - 19; y + p = 2^255 - 19 + y, with the sign bit on top.
            let mut enc = [0xffu8; 32];
            enc[0] = 0xed + y;
            enc[31] = 0x7f | sign;
            return Ok(enc.to_vec());
        }
    }
    Err("no small-y point".into())
}

/// 32 bytes whose y has no matching x on the curve.
pub(crate) fn off_curve_point() -> Res<Vec<u8>> {
    for y in 2u8..=255 {
        let mut enc = [0u8; 32];
        enc[0] = y;
        enc[1] = 0x5a;
        if ed25519_dalek::VerifyingKey::from_bytes(&enc).is_err() {
            return Ok(enc.to_vec());
        }
    }
    Err("no off-curve y".into())
}

/// The order n of the SM2 group, big-endian.
pub(crate) const SM2_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x72, 0x03, 0xdf,
    0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23,
];

/// An SM2 signature (`r || s`) over `message` under a user id other than the default,
/// made with the `sm2` crate's signer.
pub(crate) fn sm2_sign_with_user_id(secret: &[u8], user_id: &str, message: &[u8]) -> Res<[u8; 64]> {
    use sm2::dsa::signature::Signer as _;
    let key = sm2::dsa::SigningKey::from_slice(user_id, secret).map_err(|e| format!("sm2 key: {e}"))?;
    let signature: sm2::dsa::Signature = key.try_sign(message).map_err(|e| format!("sm2 sign: {e}"))?;
    Ok(signature.to_bytes().into())
}

/// A compressed SEC1 encoding (prefix 02) of an x with no point on the SM2 curve.
pub(crate) fn sm2_off_curve_point() -> Res<Vec<u8>> {
    for x in 1u8..=255 {
        let mut enc = vec![0x02];
        enc.extend_from_slice(&[0u8; 31]);
        enc.push(x);
        if PublicKey::from_bytes(Algorithm::Sm2Sm3, &enc).is_err() {
            return Ok(enc);
        }
    }
    Err("no off-curve x".into())
}

/// The claim entries (`domain len body`, each whole) of a one-card printed code whose
/// card has key id 1 (one varint byte) and whose domain ids and lengths are one byte each.
pub(crate) fn printed_claim_entries(printed: &[u8]) -> Res<Vec<Vec<u8>>> {
    // version, alg 0, subject[8], n; kid, alg, valid_from_day[2], valid_days; claims
    let claims = printed.get(16..printed.len() - 64).ok_or("short printed code")?;
    let (&count, mut rest) = claims.split_first().ok_or("no claims")?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let len = usize::from(*rest.get(1).ok_or("short entry")?);
        let (entry, tail) = rest.split_at_checked(2 + len).ok_or("short entry")?;
        entries.push(entry.to_vec());
        rest = tail;
    }
    Ok(entries)
}

/// `printed` (one card, demo issuer kid 1) with its card's validity and claims replaced,
/// signed again by the demo issuer: a printed code any issuer could have signed.
pub(crate) fn resign_printed(printed: &[u8], valid_days: u8, claims: &[u8]) -> Res<String> {
    let issuer = key(Algorithm::Ed25519, 0x02)?;
    let head = printed.get(..11).ok_or("short printed code")?;
    let mut body = printed.get(11..15).ok_or("short printed code")?.to_vec();
    body.push(valid_days);
    body.extend_from_slice(claims);
    let mut tbs = citycode::digest::LABEL_PRINTED_CARD.to_vec();
    tbs.push(0);
    tbs.extend_from_slice(head.get(2..10).ok_or("no subject")?);
    tbs.extend_from_slice(&body);
    let mut out = head.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&issuer.sign(&tbs));
    Ok(encode_text(&out))
}
