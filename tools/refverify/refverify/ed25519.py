"""Ed25519 (RFC 8032) with the strict, cofactored rule of SPEC.md §4.2.

Points are extended twisted-Edwards coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z.
Signing is here only so that the runner can build codes from holder.json's test key.
"""

import hashlib

from .bends import bent

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]
IDENTITY: Point = (0, 1, 1, 0)


def _add(p1: Point, p2: Point) -> Point:
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _neg(p: Point) -> Point:
    x, y, z, t = p
    return ((-x) % P, y, z, (-t) % P)


def _mul(k: int, p: Point) -> Point:
    q = IDENTITY
    while k > 0:
        if k & 1:
            q = _add(q, p)
        p = _add(p, p)
        k >>= 1
    return q


def _is_identity(p: Point) -> bool:
    x, y, z, _ = p
    return x % P == 0 and (y - z) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x if x else 0
    return x


_BY = 4 * pow(5, P - 2, P) % P
_BX = _recover_x(_BY, 0) or 0
BASE: Point = (_BX, _BY, 1, _BX * _BY % P)


def decode_point(data: bytes, what: str) -> Point | None:
    """Decode 32 bytes strictly (SPEC.md §4.2): y < p, a point, no negative zero x.

    ``what`` is "key" or "r": the two uses have their own bend ids.
    """
    if len(data) != 32:
        return None
    value = int.from_bytes(data, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        if not bent("M-4.2-1a" if what == "key" else "M-4.2-2b"):
            return None
        y -= P
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P != 0:
        return None
    if x == 0 and sign == 1:
        if not bent("M-4.2-1b" if what == "key" else "M-4.2-2c"):
            return None
    if (x & 1) != sign:
        x = (P - x) % P
    return (x, y, 1, x * y % P)


def is_small_order(p: Point) -> bool:
    """True when [8]p is the identity."""
    return _is_identity(_mul(8, p))


def encode_point(p: Point) -> bytes:
    x, y, z, _ = p
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def valid_public_key(key: bytes) -> bool:
    """SPEC.md §4.2: canonical point encoding, not of small order."""
    point = decode_point(key, "key")
    if point is None:
        return False
    if is_small_order(point) and not bent("M-4.2-1c"):
        return False
    return True


def prime_order(key: bytes) -> bool:
    """SPEC.md §4.7: [L]A is the identity (no torsion component); the key already valid."""
    point = decode_point(key, "key")
    return point is not None and _is_identity(_mul(L, point))


def verify(key: bytes, message: bytes, signature: bytes) -> bool:
    """Strict cofactored verification of SPEC.md §4.2 (the key already validated)."""
    if len(signature) != 64:
        return False
    a = decode_point(key, "key")
    if a is None:
        return False
    r_bytes, s_bytes = signature[:32], signature[32:]
    s = int.from_bytes(s_bytes, "little")
    if s >= L and not bent("M-4.2-2a"):
        return False
    r = decode_point(r_bytes, "r")
    if r is None:
        return False
    if is_small_order(r) and not bent("M-4.2-2d"):
        return False
    k = int.from_bytes(hashlib.sha512(r_bytes + key + message).digest(), "little") % L
    diff = _add(_add(_mul(s, BASE), _neg(r)), _neg(_mul(k, a)))
    if bent("M-4.2-2e"):
        # Cofactorless: [S]B = R + [k]A exactly.
        return _is_identity(diff)
    return _is_identity(_mul(8, diff))


def public_key(seed: bytes) -> bytes:
    """RFC 8032 §5.1.5: the public key of a 32-byte secret."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return encode_point(_mul(a, BASE))


def sign(seed: bytes, message: bytes) -> bytes:
    """RFC 8032 §5.1.6 (for building holder test codes only)."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    prefix = h[32:]
    pub = encode_point(_mul(a, BASE))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % L
    r_enc = encode_point(_mul(r, BASE))
    k = int.from_bytes(hashlib.sha512(r_enc + pub + message).digest(), "little") % L
    s = (r + k * a) % L
    return r_enc + s.to_bytes(32, "little")
