"""Claims (SPEC.md §4.3): parsing domain bodies, and their JSON form."""

import unicodedata

from .bends import bent, one
from .errors import Reject
from .wire import Reader

HEALTH = 1
INSURANCE = 2
SOCIAL = 3
TRANSIT = 4
TOURISM = 5
IDENTITY = 6
GUARDIAN = 7

HEALTH_STATUS = {1: "green", 2: "yellow", 3: "red"}
INSURANCE_STATUS = {1: "active", 2: "suspended", 3: "terminated"}
SOCIAL_STATUS = {1: "contributing", 2: "retired", 3: "suspended"}
ACCOUNT = {1: "active", 2: "arrears", 3: "suspended"}
FARE_CLASS = {1: "standard", 2: "senior_free", 3: "student", 4: "disabled_free", 5: "child"}
TOURISM_KIND = {1: "pass", 2: "reservation"}
# SPEC.md §4.3's rule (lowercase names of the table) gives "sha-256"; the vectors and
# holder.json say "sha256" (FINDINGS.md F-1). The vectors win.
IDENTITY_DIGEST = {1: "sha256", 2: "sm3"}
RELATION = {1: "parent", 2: "child", 3: "spouse", 4: "relative", 5: "legal_guardian"}

KNOWN_DOMAINS = (HEALTH, INSURANCE, SOCIAL, TRANSIT, TOURISM, IDENTITY, GUARDIAN)


def _enum(value: int, table: dict[int, str], bend_id: str, what: str, withheld_ok: bool = False) -> str | None:
    if value == 0 and withheld_ok:
        return None
    if value in table:
        return table[value]
    if bent(bend_id):
        return f"unknown_{value}"
    raise Reject("malformed", f"{what} {value} not defined")


def _has_control(name: str) -> bool:
    # "No control characters": read as Unicode category Cc (C0, DEL, C1); FINDINGS.md F-9.
    return any(unicodedata.category(ch) == "Cc" for ch in name)


def parse_body(domain: int, body: bytes) -> dict:
    """A known domain's body, consumed exactly; its JSON member's value."""
    # A body that ends before its fields is `malformed`, never `truncated` (§4.3).
    r = Reader(body, truncated="truncated" if bent("M-4.3-5b") else "malformed")
    try:
        return _parse_body(domain, r)
    except Reject as e:
        if e.reason == "non_canonical" and bent("M-4.3-5c"):
            raise Reject("malformed", e.detail) from None
        raise


def _parse_body(domain: int, r: Reader) -> dict:
    if domain == HEALTH:
        status = _enum(r.u8(), HEALTH_STATUS, "M-4.3-6a", "health status")
        out = {"status": status, "valid_until_day": r.u16()}
    elif domain == INSURANCE:
        region = r.varint()
        status = _enum(r.u8(), INSURANCE_STATUS, "M-4.3-6b", "insurance status", withheld_ok=True)
        if region == 0 and status is None and not bent("M-4.3-9a"):
            raise Reject("malformed", "medical insurance withholds every field")
        out = {}
        if region != 0:
            out["region"] = region
        if status is not None:
            out["status"] = status
    elif domain == SOCIAL:
        out = {"status": _enum(r.u8(), SOCIAL_STATUS, "M-4.3-6c", "social security status")}
    elif domain == TRANSIT:
        account = _enum(r.u8(), ACCOUNT, "M-4.3-6d", "transit account", withheld_ok=True)
        fare = _enum(r.u8(), FARE_CLASS, "M-4.3-6e", "fare class", withheld_ok=True)
        flags = r.u8()
        if flags > 2 and not bent("M-4.3-7a"):
            raise Reject("malformed", f"transit flags {flags}")
        if account is None and fare is None and flags == 2 and not bent("M-4.3-9b"):
            raise Reject("malformed", "transit withholds every field")
        out = {}
        if account is not None:
            out["account"] = account
        if fare is not None:
            out["fare_class"] = fare
        if flags != 2:
            out["vehicle_payment"] = bool(flags & 1)
    elif domain == TOURISM:
        n = r.u8()
        if n == 0 and not bent("M-4.3-8a"):
            raise Reject("malformed", "tourism with no entry")
        if n > 8 - one("M-4.3-8c") and not bent("M-4.3-8b"):
            raise Reject("malformed", f"{n} tourism entries")
        entries = []
        for _ in range(n):
            kind = _enum(r.u8(), TOURISM_KIND, "M-4.3-6f", "tourism kind")
            site = r.varint()
            day = r.u16()
            entries.append({"kind": kind, "site": site, "day": day})
        out = {"entries": entries}
    elif domain == IDENTITY:
        digest = _enum(r.u8(), IDENTITY_DIGEST, "M-4.3-6g", "identity digest")
        salt = r.take(16)
        commitment = r.take(16)
        name_len = r.u8()
        too_short = name_len < 1 + one("M-4.3-10f") and not bent("M-4.3-10a")
        too_long = name_len > 64 - one("M-4.3-10e") and not bent("M-4.3-10b")
        if too_short or too_long:
            raise Reject("malformed", f"name of {name_len} bytes")
        raw = r.take(name_len)
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not bent("M-4.3-10c"):
                raise Reject("malformed", "name not UTF-8") from None
            name = raw.decode("utf-8", "replace")
        if _has_control(name) and not bent("M-4.3-10d"):
            raise Reject("malformed", "control character in name")
        out = {"name": name, "digest": digest, "salt": salt.hex(), "commitment": commitment.hex()}
    elif domain == GUARDIAN:
        out = {"relation": _enum(r.u8(), RELATION, "M-4.3-6h", "relation")}
    else:
        raise AssertionError("not a known domain")
    if not r.done() and not bent("M-4.3-5a"):
        raise Reject("malformed", "bytes left over in a domain body")
    return out


JSON_NAME = {
    HEALTH: "health",
    INSURANCE: "medical_insurance",
    SOCIAL: "social_security",
    TRANSIT: "transit",
    TOURISM: "tourism",
    IDENTITY: "identity",
    GUARDIAN: "guardian",
}


def parse_claims(r: Reader) -> list[tuple[int, bytes, dict | None]]:
    """`claims = count:u8 entry{count}`: (domain, raw body, parsed body or None if unknown)."""
    count = r.u8()
    if count == 0 and not bent("M-4.3-3a"):
        raise Reject("malformed", "no claim")
    if count > 16 - one("M-4.3-3c") and not bent("M-4.3-3b"):
        raise Reject("malformed", f"{count} claims")
    out: list[tuple[int, bytes, dict | None]] = []
    previous = -1
    for _ in range(count):
        domain = r.varint()
        if domain == 0 and not bent("M-4.3-2a"):
            raise Reject("malformed", "domain id 0")
        if domain < previous and not bent("M-4.3-1a"):
            raise Reject("non_canonical", "domain ids out of order")
        if domain == previous and not bent("M-4.3-1b"):
            raise Reject("non_canonical", "a domain id twice in one card")
        previous = domain
        length = r.varint()
        if bent("M-4.3-4a"):
            length = min(length, r.remaining())  # a stranger's reader that clamps `len`
        body = r.take(length)
        if domain in KNOWN_DOMAINS:
            out.append((domain, body, parse_body(domain, body)))
        elif not bent("M-4.3-13a"):
            out.append((domain, body, None))  # kept as opaque bytes for the application
    return out


def to_json(entries: list[tuple[int, bytes, dict | None]]) -> dict:
    """The JSON claims object of SPEC.md §4.3 for merged entries (sorted by domain id)."""
    out: dict = {}
    other = []
    for domain, body, parsed in sorted(entries, key=lambda e: e[0]):
        if parsed is None:
            other.append({"domain": domain, "body": body.hex()})
        else:
            out[JSON_NAME[domain]] = parsed
    if other:
        out["other"] = other
    return out


def identity_commitment(digest_name: str, salt: bytes, number: str) -> bytes:
    """§4.3: c_1 = D("citycode/v1/id-number" 0x00 ‖ salt ‖ number), c_k = D(c_(k-1)),
    commitment = c_16384[0 .. 16]; D is SHA-256 or SM3."""
    import hashlib

    from .sm3 import sm3

    def d(data: bytes) -> bytes:
        return sm3(data) if digest_name == "sm3" else hashlib.sha256(data).digest()

    c = d(b"citycode/v1/id-number\x00" + salt + number.upper().encode("ascii"))
    for _ in range(2, 16385):
        c = d(c)
    return c[:16]
