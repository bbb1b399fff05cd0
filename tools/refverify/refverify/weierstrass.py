"""Short Weierstrass curves y² = x³ + ax + b over F_p: NIST P-256 and the SM2 curve.

The SM2 parameters are those of GB/T 32918.5-2017 (the recommended 256-bit curve);
P-256's are FIPS 186-4 D.1.2.3. Points are affine tuples, None the point at infinity
(the arithmetic is written for clarity, not speed: a few milliseconds per signature).
"""

import hashlib
from dataclasses import dataclass

from .bends import bent
from .sm3 import sm3

AffinePoint = tuple[int, int] | None


@dataclass(frozen=True)
class Curve:
    """Curve parameters."""

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int


P256 = Curve(
    "P-256",
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    a=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
)

SM2 = Curve(
    "SM2",
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)

# Jacobian coordinates internally: (X, Y, Z), x = X/Z², y = Y/Z³; Z = 0 is infinity.
_Jac = tuple[int, int, int]


def _jdouble(c: Curve, q: _Jac) -> _Jac:
    x, y, z = q
    if z == 0 or y == 0:
        return (1, 1, 0)
    p = c.p
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + c.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y * z % p
    return (x3, y3, z3)


def _jadd(c: Curve, q1: _Jac, q2: _Jac) -> _Jac:
    if q1[2] == 0:
        return q2
    if q2[2] == 0:
        return q1
    p = c.p
    x1, y1, z1 = q1
    x2, y2, z2 = q2
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    if u1 == u2:
        if s1 != s2:
            return (1, 1, 0)
        return _jdouble(c, q1)
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    z3 = h * z1 * z2 % p
    return (x3, y3, z3)


def _to_affine(c: Curve, q: _Jac) -> AffinePoint:
    x, y, z = q
    if z % c.p == 0:
        return None
    zi = pow(z, -1, c.p)
    zi2 = zi * zi % c.p
    return (x * zi2 % c.p, y * zi2 * zi % c.p)


def _jmul(c: Curve, k: int, pt: AffinePoint) -> _Jac:
    if pt is None:
        return (1, 1, 0)
    q: _Jac = (1, 1, 0)
    base: _Jac = (pt[0], pt[1], 1)
    for bit in bin(k)[2:] if k > 0 else "":
        q = _jdouble(c, q)
        if bit == "1":
            q = _jadd(c, q, base)
    return q


def mul(c: Curve, k: int, pt: AffinePoint) -> AffinePoint:
    """[k]pt."""
    return _to_affine(c, _jmul(c, k, pt))


def double_mul(c: Curve, k1: int, p1: AffinePoint, k2: int, p2: AffinePoint) -> AffinePoint:
    """[k1]p1 + [k2]p2."""
    return _to_affine(c, _jadd(c, _jmul(c, k1, p1), _jmul(c, k2, p2)))


def on_curve(c: Curve, pt: AffinePoint) -> bool:
    if pt is None:
        return False
    x, y = pt
    return (y * y - (x * x * x + c.a * x + c.b)) % c.p == 0


def decompress(c: Curve, data: bytes, rule: str, allow_uncompressed: bool = False) -> AffinePoint:
    """SEC1 point decoding as SPEC.md §4.2 allows: 33 bytes, `02`/`03` ‖ x, x < p, on the curve.

    ``rule`` names the bend family ("p256" or "sm2"); ``allow_uncompressed`` admits the
    65-byte `04` ‖ x ‖ y form (sm2.json's primitive cases only). None: not a valid key.
    """
    if allow_uncompressed and len(data) == 65 and data[0] == 4:
        x = int.from_bytes(data[1:33], "big")
        y = int.from_bytes(data[33:], "big")
        if x >= c.p or y >= c.p or not on_curve(c, (x, y)):
            return None
        return (x, y)
    if len(data) != 33:
        return None
    if data[0] not in (2, 3) and not (bent("M-4.2-3c" if rule == "p256" else "M-4.2-5d") and data[0] != 0):
        return None  # a stranger's decoder reads the parity from any prefix byte but 00
    x = int.from_bytes(data[1:], "big")
    if x >= c.p:
        if not bent("M-4.2-3a" if rule == "p256" else "M-4.2-5a"):
            return None
        x -= c.p
    rhs = (x * x * x + c.a * x + c.b) % c.p
    y = pow(rhs, (c.p + 1) // 4, c.p)  # both primes are 3 mod 4
    if y * y % c.p != rhs:
        if not bent("M-4.2-3b" if rule == "p256" else "M-4.2-5b"):
            return None
        # A stranger's decoder that skips the square check keeps the wrong root.
    if (y & 1) != (data[0] & 1):
        y = (c.p - y) % c.p
    return (x, y)


def ecdsa_verify(key: AffinePoint, message: bytes, signature: bytes) -> bool:
    """ECDSA P-256 with SHA-256, `r ‖ s`; r and s in [1, n-1]; high s allowed."""
    c = P256
    if key is None or len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not 1 <= r < c.n:
        if not bent("M-4.2-4a"):
            return False
        r %= c.n
    if not 1 <= s < c.n:
        if not bent("M-4.2-4b"):
            return False
        s %= c.n
    if s == 0:
        return False  # no inverse: a stranger's code fails here whatever it meant
    if s > c.n // 2 and bent("M-4.2-4c"):
        return False  # a stranger's verifier that demands low s
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, c.n)
    point = double_mul(c, e * w % c.n, (c.gx, c.gy), r * w % c.n, key)
    if point is None:
        return False
    return point[0] % c.n == r


SM2_DEFAULT_ID = b"1234567812345678"


def sm2_za(key: AffinePoint, user_id: bytes = SM2_DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5)."""
    c = SM2
    if key is None:
        raise ValueError("no key")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    parts = [c.a, c.b, c.gx, c.gy, key[0], key[1]]
    return sm3(entl + user_id + b"".join(v.to_bytes(32, "big") for v in parts))


def sm2_verify(key: AffinePoint, message: bytes, signature: bytes) -> bool:
    """GB/T 32918.2 §7.1 with the default user id, as SPEC.md §4.2 states it."""
    c = SM2
    if key is None or len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not 1 <= r < c.n:
        if not bent("M-4.2-6a"):
            return False
        r %= c.n
    if not 1 <= s < c.n:
        if not bent("M-4.2-6b"):
            return False
        s %= c.n
    e = int.from_bytes(sm3(sm2_za(key) + message), "big")
    t = (r + s) % c.n
    if t == 0 and not bent("M-4.2-6c"):
        return False
    point = double_mul(c, s, (c.gx, c.gy), t, key)
    if point is None:
        if not bent("M-4.2-6d"):
            return False
        point = (0, 0)  # a stranger's affine infinity
    return (e + point[0]) % c.n == r
