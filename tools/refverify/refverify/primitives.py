"""Algorithm ids, key checks, signature checks and digests (SPEC.md §4.1, §4.2, §4.6)."""

import hashlib

from . import ed25519, weierstrass
from .bends import active, bent
from .sm3 import sm3

ED25519 = 1
P256 = 2
SM2 = 3

KEY_LEN = {ED25519: 32, P256: 33, SM2: 33}
SIG_LEN = 64

# Names a configuration uses (test-vectors/README.md; the P-256 name appears only in
# key-requests.json's case names).
ALG_NAMES = {"ed25519": ED25519, "ecdsa_p256_sha256": P256, "sm2_sm3": SM2}


# Bends that change what a primitive answers (§4.2's, and §4.6's digest): the memo
# keys on them, so that a run under any other bend reuses the letter-of-the-spec answers.
def _is_primitive_bend(bend: str | None) -> bool:
    return bend is not None and (bend.startswith("M-4.2-") or bend == "M-4.6-1a")


_memo: dict[tuple, bool] = {}


def _memo_key(*parts: object) -> tuple:
    bend = active()
    return (bend if _is_primitive_bend(bend) else None, *parts)


def known(alg: int) -> bool:
    return alg in KEY_LEN


def valid_key(alg: int, key: bytes) -> bool:
    """SPEC.md §4.2: the key checks that apply to every key."""
    memo = _memo_key("key", alg, key)
    if memo in _memo:
        return _memo[memo]
    if alg == ED25519:
        result = len(key) == 32 and ed25519.valid_public_key(key)
    elif alg == P256:
        result = weierstrass.decompress(weierstrass.P256, key, "p256") is not None
    elif alg == SM2:
        if len(key) == 33 and key[0] == 0 and bent("M-4.2-5c"):
            result = True  # a stranger's decoder that reads `00` as some point
        else:
            result = weierstrass.decompress(weierstrass.SM2, key, "sm2") is not None
    else:
        result = False
    _memo[memo] = result
    return result


def prime_order(alg: int, key: bytes) -> bool:
    """SPEC.md §4.7: a key request's key is of prime order (P-256 and SM2 always are)."""
    return alg != ED25519 or ed25519.prime_order(key)


def verify(alg: int, key: bytes, message: bytes, signature: bytes) -> bool:
    """A signature by ``key`` (already checked by ``valid_key``) over ``message``."""
    memo = _memo_key("sig", alg, key, message, signature)
    if memo in _memo:
        return _memo[memo]
    if alg == ED25519:
        result = ed25519.verify(key, message, signature)
    elif alg == P256:
        point = weierstrass.decompress(weierstrass.P256, key, "p256")
        result = weierstrass.ecdsa_verify(point, message, signature)
    elif alg == SM2:
        if key[:1] == b"\x00":
            result = False
        else:
            point = weierstrass.decompress(weierstrass.SM2, key, "sm2")
            result = weierstrass.sm2_verify(point, message, signature)
    else:
        result = False
    _memo[memo] = result
    return result


def digest(alg: int, data: bytes) -> bytes:
    """H of SPEC.md §4.6: SM3 for SM2 keys, SHA-256 for Ed25519 and P-256."""
    if alg == SM2 and not bent("M-4.6-1a"):
        return sm3(data)
    return hashlib.sha256(data).digest()
