"""Polling a published list directory (SPEC.md §8.4)."""

from pathlib import Path
from typing import Callable

from . import primitives
from .bends import bent
from .errors import Reject
from .lists import ListStatus, parse_status
from .verifier import Verifier


def directory_fetcher(directory: Path) -> Callable[[str], bytes]:
    """A fetcher over a folder: a missing file is `list_unavailable`."""

    def fetch(name: str) -> bytes:
        path = directory / name
        if not path.is_file():
            raise Reject("list_unavailable", name)
        return path.read_bytes()

    return fetch


class Poller:
    """A verifier's list updates from one publication point."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.applied: ListStatus | None = None

    def _held_sequence(self, kind: int, kid: int | None) -> int | None:
        v = self.verifier
        if kind == 1:
            return v.trust.sequence if v.trust is not None else None
        held = v.revocations.get(None if kind == 2 else kid)
        return held.sequence if held is not None else None

    def poll(self, fetch: Callable[[str], bytes]) -> None:
        """One poll: §8.4 steps 1-3. Raises the first failure; lists loaded stay loaded."""
        config = self.verifier.config
        status = parse_status(fetch("status.bin"))
        if status.root_alg != config.root_alg and not bent("M-8.4-3b"):
            raise Reject("bad_list_status_signature", "root_alg is not the root's")
        if not bent("M-8.4-3a") and not primitives.verify(
            config.root_alg, config.root_key, status.tbs, status.signature
        ):
            raise Reject("bad_list_status_signature")
        applied = self.applied
        if applied is not None:
            if status.sequence < applied.sequence and not bent("M-8.4-4a"):
                raise Reject("list_status_rollback", f"sequence {status.sequence} < {applied.sequence}")
            if status.sequence == applied.sequence:
                if status.raw == applied.raw:
                    return  # nothing new
                if not bent("M-8.4-4b"):
                    raise Reject("list_status_rollback", "same sequence, other bytes")
        if bent("M-8.4-6a"):
            self.applied = status  # a stranger's poller that counts it applied at once
        for entry in status.entries:
            held = self._held_sequence(entry.kind, entry.kid)
            newer = held is None if bent("M-8.4-5a") else (held is None or entry.list_sequence > held)
            if not newer:
                continue
            try:
                data = fetch(entry.file)
            except Reject:
                if bent("M-8.4-7a"):
                    continue
                raise
            if primitives.digest(config.root_alg, data) != entry.digest and not bent("M-8.4-2a"):
                raise Reject("list_digest_mismatch", entry.file)
            if entry.kind == 1:
                self.verifier.load_trust_list(data)
            else:
                self.verifier.load_revocation_list(data)
        self.applied = status
