//! Variable-time arithmetic on the SM2 curve for signature verification, where every
//! input is public: the field modulo `p = 2^256 - 2^224 - 2^96 + 2^64 - 1` in Montgomery
//! form on four 64-bit limbs, Jacobian points with `a = -3`, and `[s]G + [t]P` by
//! interleaved width-5 (`P`) and width-7 (`G`, a table built once) NAF.
//!
//! The generic arithmetic of the `sm2` crate takes about 5x ring's P-256 time; this is
//! within 2x (BENCHMARKS.md). It is checked against the `sm2` crate's arithmetic on random
//! and edge inputs (the property test in sm2dsa.rs) and by the standards' vectors. Not for
//! secrets: branches and table lookups depend on the data, which is fine for public keys,
//! signatures and messages and wrong for signing.

// Every index below is a loop counter over a fixed-size array, or a NAF digit already
// bounded by its window; none comes from outside.
#![allow(clippy::indexing_slicing)]

use std::sync::OnceLock;

/// A field element in Montgomery form (`a·2^256 mod p`), little-endian limbs, fully
/// reduced (below `p`), so equality is limb equality.
type Fe = [u64; 4];

const P: Fe = [0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFE_FFFF_FFFF];
/// The group order `n`.
const N: [u64; 4] = [0x53BB_F409_39D5_4123, 0x7203_DF6B_21C6_052B, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFE_FFFF_FFFF];
/// `2^256 mod p`: one in Montgomery form.
const ONE: Fe = sub_p_if_needed([0, 0, 0, 0], 1);
/// `2^512 mod p`, for conversion into Montgomery form: one doubled 256 times.
const R2: Fe = {
    let mut x = ONE;
    let mut i = 0;
    while i < 256 {
        x = add(&x, &x);
        i += 1;
    }
    x
};

/// `(x + 2^256·carry) mod p` for `x + 2^256·carry < 2p`: computes `2^256 - p` when
/// called with zero and carry one.
const fn sub_p_if_needed(x: Fe, carry: u64) -> Fe {
    let (d, borrow) = sub_limbs(&x, &P);
    // Keep the difference when x + 2^256·carry >= p: a carry out, or no borrow.
    if carry != 0 || borrow == 0 { d } else { x }
}

const fn sub_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    let mut i = 0;
    while i < 4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        out[i] = d2;
        borrow = (b1 | b2) as u64;
        i += 1;
    }
    (out, borrow)
}

const fn add_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut carry = 0u64;
    let mut i = 0;
    while i < 4 {
        let (s1, c1) = a[i].overflowing_add(b[i]);
        let (s2, c2) = s1.overflowing_add(carry);
        out[i] = s2;
        carry = (c1 | c2) as u64;
        i += 1;
    }
    (out, carry)
}

const fn add(a: &Fe, b: &Fe) -> Fe {
    let (s, carry) = add_limbs(a, b);
    sub_p_if_needed(s, carry)
}

fn sub(a: &Fe, b: &Fe) -> Fe {
    let (d, borrow) = sub_limbs(a, b);
    if borrow == 0 { d } else { add_limbs(&d, &P).0 }
}

fn neg(a: &Fe) -> Fe {
    if is_zero(a) { *a } else { sub_limbs(&P, a).0 }
}

fn is_zero(a: &[u64; 4]) -> bool {
    a.iter().all(|&l| l == 0)
}

/// Montgomery multiplication `a·b·2^-256 mod p` (CIOS). `-p^-1 mod 2^64 = 1`, since the
/// low limb of `p` is `2^64 - 1`, so each step's multiplier is the low limb itself.
fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut t = [0u64; 6];
    for &bi in b {
        let mut carry = 0u64;
        for j in 0..4 {
            let uv = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + u128::from(carry);
            t[j] = uv as u64;
            carry = (uv >> 64) as u64;
        }
        let uv = u128::from(t[4]) + u128::from(carry);
        t[4] = uv as u64;
        t[5] = (uv >> 64) as u64;
        let m = t[0];
        let uv = u128::from(t[0]) + u128::from(m) * u128::from(P[0]);
        let mut carry = (uv >> 64) as u64;
        for j in 1..4 {
            let uv = u128::from(t[j]) + u128::from(m) * u128::from(P[j]) + u128::from(carry);
            t[j - 1] = uv as u64;
            carry = (uv >> 64) as u64;
        }
        let uv = u128::from(t[4]) + u128::from(carry);
        t[3] = uv as u64;
        t[4] = t[5] + (uv >> 64) as u64;
    }
    sub_p_if_needed([t[0], t[1], t[2], t[3]], t[4])
}

fn sqr(a: &Fe) -> Fe {
    mul(a, a)
}

/// Big-endian bytes (a value below `p`) to Montgomery form.
fn from_bytes(b: &[u8; 32]) -> Fe {
    mul(&limbs(b), &R2)
}

/// Big-endian bytes to little-endian limbs.
fn limbs(b: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, chunk) in b.rchunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        out[i] = u64::from_be_bytes(w);
    }
    out
}

/// A point in Jacobian coordinates `(X/Z^2, Y/Z^3)`; `Z = 0` is the point at infinity.
#[derive(Clone, Copy)]
struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

/// An affine point (never the point at infinity).
#[derive(Clone, Copy)]
struct Affine {
    x: Fe,
    y: Fe,
}

const INFINITY: Jacobian = Jacobian { x: ONE, y: ONE, z: [0; 4] };

impl Jacobian {
    fn is_infinity(&self) -> bool {
        is_zero(&self.z)
    }

    /// dbl-2001-b (a = -3): 3M + 5S.
    fn double(&self) -> Jacobian {
        if self.is_infinity() {
            return *self;
        }
        let delta = sqr(&self.z);
        let gamma = sqr(&self.y);
        let beta = mul(&self.x, &gamma);
        let t = mul(&sub(&self.x, &delta), &add(&self.x, &delta));
        let alpha = add(&add(&t, &t), &t);
        let beta4 = add(&add(&beta, &beta), &add(&beta, &beta));
        let x = sub(&sqr(&alpha), &add(&beta4, &beta4));
        let yz = add(&self.y, &self.z);
        let z = sub(&sub(&sqr(&yz), &gamma), &delta);
        let gamma2 = sqr(&gamma);
        let gamma8 = {
            let g2 = add(&gamma2, &gamma2);
            let g4 = add(&g2, &g2);
            add(&g4, &g4)
        };
        let y = sub(&mul(&alpha, &sub(&beta4, &x)), &gamma8);
        Jacobian { x, y, z }
    }

    /// add-2007-bl: 11M + 5S, with the exceptional cases (either point at infinity,
    /// equal points, opposite points) handled.
    fn add(&self, other: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *other;
        }
        if other.is_infinity() {
            return *self;
        }
        let z1z1 = sqr(&self.z);
        let z2z2 = sqr(&other.z);
        let u1 = mul(&self.x, &z2z2);
        let u2 = mul(&other.x, &z1z1);
        let s1 = mul(&mul(&self.y, &other.z), &z2z2);
        let s2 = mul(&mul(&other.y, &self.z), &z1z1);
        let h = sub(&u2, &u1);
        let r = sub(&s2, &s1);
        if is_zero(&h) {
            return if is_zero(&r) { self.double() } else { INFINITY };
        }
        let r = add(&r, &r);
        let h2 = add(&h, &h);
        let i = sqr(&h2);
        let j = mul(&h, &i);
        let v = mul(&u1, &i);
        let x = sub(&sub(&sqr(&r), &j), &add(&v, &v));
        let s1j = mul(&s1, &j);
        let y = sub(&mul(&r, &sub(&v, &x)), &add(&s1j, &s1j));
        let zz = add(&self.z, &other.z);
        let z = mul(&sub(&sub(&sqr(&zz), &z1z1), &z2z2), &h);
        Jacobian { x, y, z }
    }

    /// madd-2007-bl (`other` affine): 7M + 4S, exceptional cases handled.
    fn add_affine(&self, other: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian { x: other.x, y: other.y, z: ONE };
        }
        let z1z1 = sqr(&self.z);
        let u2 = mul(&other.x, &z1z1);
        let s2 = mul(&mul(&other.y, &self.z), &z1z1);
        let h = sub(&u2, &self.x);
        let r = sub(&s2, &self.y);
        if is_zero(&h) {
            return if is_zero(&r) { self.double() } else { INFINITY };
        }
        let hh = sqr(&h);
        let i = add(&add(&hh, &hh), &add(&hh, &hh));
        let j = mul(&h, &i);
        let r = add(&r, &r);
        let v = mul(&self.x, &i);
        let x = sub(&sub(&sqr(&r), &j), &add(&v, &v));
        let y1j = mul(&self.y, &j);
        let y = sub(&mul(&r, &sub(&v, &x)), &add(&y1j, &y1j));
        let zh = add(&self.z, &h);
        let z = sub(&sub(&sqr(&zh), &z1z1), &hh);
        Jacobian { x, y, z }
    }

    fn neg(&self) -> Jacobian {
        Jacobian { x: self.x, y: neg(&self.y), z: self.z }
    }

    /// The affine form, or `None` for the point at infinity (one inversion).
    fn to_affine(self) -> Option<Affine> {
        if self.is_infinity() {
            return None;
        }
        let zi = invert(&self.z);
        let zi2 = sqr(&zi);
        Some(Affine { x: mul(&self.x, &zi2), y: mul(&self.y, &mul(&zi2, &zi)) })
    }
}

/// `a^(p-2)` by square-and-multiply over the bits of `p - 2` (used only to build the
/// base-point table, once).
fn invert(a: &Fe) -> Fe {
    let e = sub_limbs(&P, &[2, 0, 0, 0]).0;
    let mut acc = ONE;
    for limb in e.iter().rev() {
        for bit in (0..64).rev() {
            acc = sqr(&acc);
            if (limb >> bit) & 1 == 1 {
                acc = mul(&acc, a);
            }
        }
    }
    acc
}

const G_WINDOW: u32 = 7;
const P_WINDOW: u32 = 5;

/// The odd multiples `G, 3G, ..., (2^(G_WINDOW-1) - 1)G`, affine, built on first use.
fn base_table() -> &'static [Affine; 1 << (G_WINDOW - 2)] {
    static TABLE: OnceLock<[Affine; 1 << (G_WINDOW - 2)]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let gx = from_bytes(&crate::sm2dsa::GX);
        let gy = from_bytes(&crate::sm2dsa::GY);
        let g = Jacobian { x: gx, y: gy, z: ONE };
        let g2 = g.double();
        let mut table = [Affine { x: gx, y: gy }; 1 << (G_WINDOW - 2)];
        let mut current = g;
        for entry in table.iter_mut().skip(1) {
            current = current.add(&g2);
            // The odd multiples of G below 2^6 are never the point at infinity.
            if let Some(a) = current.to_affine() {
                *entry = a;
            }
        }
        table
    })
}

/// Width-`w` NAF of a scalar below 2^256: at most 257 digits, each zero or odd with
/// absolute value below `2^(w-1)`, least significant first.
fn wnaf(k: &[u64; 4], w: u32) -> [i8; 257] {
    let mut out = [0i8; 257];
    let mut k = [k[0], k[1], k[2], k[3], 0u64];
    let window = 1u64 << w;
    let mut i = 0;
    while k.iter().any(|&l| l != 0) && i < out.len() {
        if k[0] & 1 == 1 {
            let d = k[0] & (window - 1);
            if d >= window / 2 {
                // Digit d - 2^w: k grows by 2^w - d (no overflow: k < 2^257 throughout).
                out[i] = (d as i64 - window as i64) as i8;
                let mut carry = window - d;
                for limb in k.iter_mut() {
                    let (s, c) = limb.overflowing_add(carry);
                    *limb = s;
                    carry = u64::from(c);
                }
            } else {
                out[i] = d as i8;
                k[0] -= d;
            }
        }
        for j in 0..4 {
            k[j] = (k[j] >> 1) | (k[j + 1] << 63);
        }
        k[4] >>= 1;
        i += 1;
    }
    out
}

/// Scalars below `n`, from big-endian bytes; `None` for zero or `n` and above.
fn scalar_in_range(b: &[u8; 32]) -> Option<[u64; 4]> {
    let v = limbs(b);
    let below_n = sub_limbs(&v, &N).1 == 1;
    (below_n && !is_zero(&v)).then_some(v)
}

/// `(a + b) mod n` for `a, b < n`.
fn add_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (s, carry) = add_limbs(a, b);
    let (d, borrow) = sub_limbs(&s, &N);
    if carry != 0 || borrow == 0 { d } else { s }
}

/// `(a - b) mod n` for `a, b < n`.
fn sub_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub_limbs(a, b);
    if borrow == 0 { d } else { add_limbs(&d, &N).0 }
}

/// SM2 verification (GB/T 32918.2 §7.1, steps B1-B2 and B5-B7) of `signature = r ‖ s`
/// for the message digest `e` under the public key `(x, y)`, which must be a validated
/// point on the curve (as [`crate::PublicKey`] holds).
pub(crate) fn verify_prehash(x: &[u8; 32], y: &[u8; 32], e: &[u8; 32], signature: &[u8; 64]) -> bool {
    let (r_bytes, s_bytes) = signature.split_at(32);
    let (Ok(r_bytes), Ok(s_bytes)) = (<&[u8; 32]>::try_from(r_bytes), <&[u8; 32]>::try_from(s_bytes)) else {
        return false;
    };
    // B1, B2: r and s in [1, n - 1].
    let (Some(r), Some(s)) = (scalar_in_range(r_bytes), scalar_in_range(s_bytes)) else { return false };
    // B5: t = r + s mod n, not zero.
    let t = add_mod_n(&r, &s);
    if is_zero(&t) {
        return false;
    }
    // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
    let key = Jacobian { x: from_bytes(x), y: from_bytes(y), z: ONE };
    let key2 = key.double();
    let mut key_table = [key; 1 << (P_WINDOW - 2)];
    for i in 1..key_table.len() {
        key_table[i] = key_table[i - 1].add(&key2);
    }
    let g_table = base_table();
    let (s_naf, t_naf) = (wnaf(&s, G_WINDOW), wnaf(&t, P_WINDOW));
    let top = s_naf.iter().zip(&t_naf).rposition(|(a, b)| *a != 0 || *b != 0).unwrap_or(0);
    let mut acc = INFINITY;
    for i in (0..=top).rev() {
        acc = acc.double();
        let d = t_naf[i];
        if d > 0 {
            acc = acc.add(&key_table[(d / 2) as usize]);
        } else if d < 0 {
            acc = acc.add(&key_table[(-d / 2) as usize].neg());
        }
        let d = s_naf[i];
        if d > 0 {
            acc = acc.add_affine(&g_table[(d / 2) as usize]);
        } else if d < 0 {
            let a = g_table[(-d / 2) as usize];
            acc = acc.add_affine(&Affine { x: a.x, y: neg(&a.y) });
        }
    }
    if acc.is_infinity() {
        return false;
    }
    // B7: r = e + x1 mod n, i.e. x1 ≡ r - e (mod n). With x1 = X/Z^2 below p and
    // c = r - e mod n, x1 is c or (when below p) c + n: compare X with c·Z^2, no
    // inversion.
    let e = {
        let v = limbs(e);
        let (d, borrow) = sub_limbs(&v, &N);
        if borrow == 0 { d } else { v }
    };
    let c = sub_mod_n(&r, &e);
    let z2 = sqr(&acc.z);
    if mul(&mul(&c, &R2), &z2) == acc.x {
        return true;
    }
    let (c_plus_n, carry) = add_limbs(&c, &N);
    let below_p = carry == 0 && sub_limbs(&c_plus_n, &P).1 == 1;
    below_p && mul(&mul(&c_plus_n, &R2), &z2) == acc.x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_bytes(a: &Fe) -> [u8; 32] {
        let plain = mul(a, &[1, 0, 0, 0]);
        let mut out = [0u8; 32];
        for (chunk, limb) in out.rchunks_exact_mut(8).zip(plain) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    #[test]
    fn the_montgomery_constants_are_right() {
        // 2^256 mod p = 2^224 + 2^96 - 2^64 + 1.
        assert_eq!(ONE, [1, 0xFFFF_FFFF, 0, 0x1_0000_0000]);
        // 2^512 mod p, as GmSSL and OpenSSL's SM2 code list it.
        assert_eq!(R2, [0x0000_0002_0000_0003, 0x0000_0002_FFFF_FFFF, 0x0000_0001_0000_0001, 0x0000_0004_0000_0002]);
        let x = from_bytes(&crate::sm2dsa::GX);
        assert_eq!(to_bytes(&x), crate::sm2dsa::GX);
        assert_eq!(mul(&invert(&x), &x), ONE);
    }

    #[test]
    fn the_base_point_is_on_the_curve_and_the_table_holds_odd_multiples() {
        let b = from_bytes(&crate::sm2dsa::B);
        let on_curve = |p: &Affine| {
            let three_x = add(&add(&p.x, &p.x), &p.x);
            sqr(&p.y) == add(&sub(&mul(&sqr(&p.x), &p.x), &three_x), &b)
        };
        let table = base_table();
        assert!(table.iter().all(on_curve));
        // 2G + (2k+1)G = (2k+3)G, through the affine addition.
        let g = Jacobian { x: table[0].x, y: table[0].y, z: ONE };
        let three = g.double().add_affine(&table[0]).to_affine().unwrap();
        assert_eq!((three.x, three.y), (table[1].x, table[1].y));
        // P + (-P) is the point at infinity; P + P doubles.
        assert!(g.add(&g.neg()).is_infinity());
        let twice = g.add(&g).to_affine().unwrap();
        let doubled = g.double().to_affine().unwrap();
        assert_eq!((twice.x, twice.y), (doubled.x, doubled.y));
    }

    #[test]
    fn wnaf_digits_rebuild_the_scalar() {
        for k in [[0u64; 4], [1, 0, 0, 0], [u64::MAX; 4], N, [0x1234_5678_9abc_def0, 7, 0, 1 << 63]] {
            for w in [P_WINDOW, G_WINDOW] {
                let digits = wnaf(&k, w);
                // Σ d_i 2^i, on 5 limbs with two's complement for negative terms.
                let mut acc = [0u64; 5];
                for &d in digits.iter().rev() {
                    let mut carry = 0u64;
                    for limb in acc.iter_mut() {
                        let v = (*limb << 1) | carry;
                        carry = *limb >> 63;
                        *limb = v;
                    }
                    let add = if d >= 0 {
                        [d as u64, 0, 0, 0, 0]
                    } else {
                        [d as i64 as u64, u64::MAX, u64::MAX, u64::MAX, u64::MAX]
                    };
                    let mut c = 0u64;
                    for (a, b) in acc.iter_mut().zip(add) {
                        let (s1, c1) = a.overflowing_add(b);
                        let (s2, c2) = s1.overflowing_add(c);
                        *a = s2;
                        c = u64::from(c1 | c2);
                    }
                    assert!(d == 0 || (d % 2 != 0 && i64::from(d).abs() < 1 << (w - 1)));
                }
                assert_eq!(acc, [k[0], k[1], k[2], k[3], 0], "k = {k:x?}, w = {w}");
            }
        }
    }
}
