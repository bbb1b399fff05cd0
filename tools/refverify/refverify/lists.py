"""Trust lists, revocation lists and list statuses (SPEC.md §8.1, §8.2, §8.4): parsing
(§8.3 step 1). Signatures and rollback are the verifier's (verifier.py)."""

from dataclasses import dataclass

from . import primitives
from .bends import bent, one
from .errors import Reject
from .wire import Reader

LABEL_TRUST_LIST = b"citycode/v1/trust-list\x00"
LABEL_REVOCATION_LIST = b"citycode/v1/revocation-list\x00"
LABEL_LIST_STATUS = b"citycode/v1/list-status\x00"

MAX_ISSUER_KEYS = 1024
MAX_REVOCATIONS = 2**20
MAX_STATUS_ENTRIES = 1025


@dataclass
class IssuerKey:
    kid: int
    alg: int
    key: bytes
    not_before: int
    not_after: int
    domains: list[int]


@dataclass
class TrustList:
    sequence: int
    issued_at: int
    expires_at: int
    keys: dict[int, IssuerKey]
    root_alg: int
    tbs: bytes
    signature: bytes
    raw: bytes


@dataclass
class RevocationList:
    signer: int | None  # None: the root; else the issuer key id
    sequence: int
    issued_at: int
    expires_at: int
    entries: set[tuple[int, bytes]]
    alg: int
    tbs: bytes
    signature: bytes
    raw: bytes


@dataclass
class StatusEntry:
    kind: int
    kid: int | None
    list_sequence: int
    list_expires_at: int
    digest: bytes

    @property
    def file(self) -> str:
        if self.kind == 1:
            return "trust-list.bin"
        if self.kind == 2:
            return "revocation-root.bin"
        return f"revocation-issuer-{self.kid}.bin"


@dataclass
class ListStatus:
    sequence: int
    issued_at: int
    expires_at: int
    entries: list[StatusEntry]
    root_alg: int
    tbs: bytes
    signature: bytes
    raw: bytes


def _alg(r: Reader, what: str, bend_id: str) -> int:
    alg = r.u8()
    if not primitives.known(alg) and not bent(bend_id):
        raise Reject("unsupported_algorithm", f"{what} algorithm {alg}")
    return alg


def parse_trust_list(data: bytes, gm_only: bool = False) -> TrustList:
    """§8.1, parsed left to right (§8.3 step 1)."""
    r = Reader(data)
    version = r.u8()
    if version != 1 and not bent("M-8.3-1a"):
        raise Reject("unsupported_version", f"trust list version {version}")
    sequence = r.u64()
    issued_at = r.u32()
    expires_at = r.u32()
    n = r.varint()

    def check_count() -> None:
        if n > MAX_ISSUER_KEYS - one("M-8.1-2c") and not bent("M-8.1-2a"):
            raise Reject("malformed", f"{n} issuer keys")

    if not bent("M-8.1-2b"):
        check_count()  # when the count is read, before any entry (§8.3)
    keys: dict[int, IssuerKey] = {}
    previous = -1
    for _ in range(n):
        kid = r.varint()
        if kid <= previous and not bent("M-8.1-1a"):
            raise Reject("non_canonical", "key ids not strictly increasing")
        previous = kid
        alg = _alg(r, "issuer key", "M-8.3-1d")
        if gm_only and alg != primitives.SM2 and not bent("M-4.6-2b"):
            # Read as an algorithm this verifier refuses, where the id is read (FINDINGS.md F-12).
            raise Reject("unsupported_algorithm", "a GM-only verifier loads SM2 issuer keys only")
        key = r.take(primitives.KEY_LEN.get(alg, 32))
        if not primitives.valid_key(alg, key) and not bent("M-8.1-3a"):
            raise Reject("invalid_issuer_key", f"issuer key {kid}")
        not_before = r.u32()
        not_after = r.u32()
        m = r.u8()
        domains = []
        prev_domain = -1
        for _ in range(m):
            domain = r.varint()
            if domain <= prev_domain and not bent("M-8.1-1b"):
                raise Reject("non_canonical", "key domains not strictly increasing")
            prev_domain = domain
            domains.append(domain)
        keys[kid] = IssuerKey(kid, alg, key, not_before, not_after, domains)
    if bent("M-8.1-2b"):
        check_count()
    root_alg = _alg(r, "root", "M-8.3-1e")
    body_end = r.pos
    signature = r.take(64)
    if not r.done() and not bent("M-8.3-1j"):
        raise Reject("trailing_bytes", "after the trust list's signature")
    return TrustList(
        sequence, issued_at, expires_at, keys, root_alg, LABEL_TRUST_LIST + data[:body_end], signature, data
    )


def parse_revocation_list(data: bytes) -> RevocationList:
    """§8.2, parsed left to right (§8.3 step 1)."""
    r = Reader(data)
    version = r.u8()
    if version != 1 and not bent("M-8.3-1b"):
        raise Reject("unsupported_version", f"revocation list version {version}")
    signer_byte = r.u8()
    if signer_byte == 0:
        signer = None
    elif signer_byte == 1:
        signer = r.varint()
    else:
        if not bent("M-8.3-1h"):
            raise Reject("malformed", f"signer byte {signer_byte}")
        signer = None
    sequence = r.u64()
    issued_at = r.u32()
    expires_at = r.u32()
    n = r.varint()

    def check_count() -> None:
        if n > MAX_REVOCATIONS - one("M-8.2-1d") and not bent("M-8.2-1b"):
            raise Reject("malformed", f"{n} revocation entries")

    if not bent("M-8.2-1c"):
        check_count()  # when the count is read, before any entry (§8.3)
    entries: set[tuple[int, bytes]] = set()
    previous: tuple[int, bytes] | None = None
    for _ in range(n):
        kind = r.u8()
        if kind == 1:
            value = r.take(16)
        elif kind == 2:
            value = r.take(8)
        elif kind == 3:
            value = r.take(16)
        else:
            if not bent("M-8.3-1i"):
                raise Reject("malformed", f"entry kind {kind}")
            value = r.take(16)
        entry = (kind, value)
        if previous is not None and entry <= previous and not bent("M-8.2-1a"):
            raise Reject("non_canonical", "revocation entries not strictly increasing")
        previous = entry
        entries.add(entry)
    if bent("M-8.2-1c"):
        check_count()
    alg = _alg(r, "revocation list", "M-8.3-1f")
    body_end = r.pos
    signature = r.take(64)
    if not r.done() and not bent("M-8.3-1k"):
        raise Reject("trailing_bytes", "after the revocation list's signature")
    return RevocationList(
        signer,
        sequence,
        issued_at,
        expires_at,
        entries,
        alg,
        LABEL_REVOCATION_LIST + data[:body_end],
        signature,
        data,
    )


def parse_status(data: bytes) -> ListStatus:
    """§8.4's list status, parsed left to right (§8.3 step 1)."""
    r = Reader(data)
    version = r.u8()
    if version != 1 and not bent("M-8.3-1c"):
        raise Reject("unsupported_version", f"status version {version}")
    sequence = r.u64()
    issued_at = r.u32()
    expires_at = r.u32()
    n = r.varint()
    if n > MAX_STATUS_ENTRIES - one("M-8.4-1f") and not bent("M-8.4-1c"):
        raise Reject("malformed", f"{n} status entries")
    if n < 1 + one("M-8.4-1g") and not bent("M-8.4-1d"):
        raise Reject("malformed", "a status with no entry")
    entries: list[StatusEntry] = []
    previous: tuple[int, int] | None = None
    for i in range(n):
        kind = r.u8()
        if kind not in (1, 2, 3) and not bent("M-8.4-1e"):
            raise Reject("malformed", f"status entry kind {kind}")
        if i == 0 and kind != 1 and not bent("M-8.4-1a"):
            # As soon as its kind is read (§8.3 step 1, §8.4), before any kid.
            raise Reject("malformed", "the first status entry is not the trust list")
        kid = r.varint() if kind == 3 else None
        order = (kind, kid if kid is not None else -1)
        if previous is not None and order <= previous and not bent("M-8.4-1b"):
            raise Reject("non_canonical", "status entries not strictly increasing")
        previous = order
        list_sequence = r.u64()
        list_expires_at = r.u32()
        digest = r.take(32)
        entries.append(StatusEntry(kind, kid, list_sequence, list_expires_at, digest))
    root_alg = _alg(r, "status root", "M-8.3-1g")
    body_end = r.pos
    signature = r.take(64)
    if not r.done() and not bent("M-8.3-1l"):
        raise Reject("trailing_bytes", "after the status's signature")
    return ListStatus(
        sequence, issued_at, expires_at, entries, root_alg, LABEL_LIST_STATUS + data[:body_end], signature, data
    )
