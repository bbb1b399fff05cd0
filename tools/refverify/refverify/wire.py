"""A cursor over untrusted bytes (SPEC.md §4.1): every read checks its length."""

from .bends import bent, one
from .errors import Reject


class Reader:
    """Reads big-endian integers, LEB128 varints and byte strings left to right."""

    def __init__(self, data: bytes, truncated: str = "truncated") -> None:
        self.data = data
        self.pos = 0
        # Inside a claim body a short read is `malformed` (§4.3: `len` bounds it).
        self.truncated = truncated

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise Reject(self.truncated, f"needs {n} bytes at {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def varint(self) -> int:
        """Minimal unsigned LEB128 below 2^32, at most 5 bytes (SPEC.md §4.1)."""
        value = 0
        limit = 10 if bent("M-4.1-1c") else 5
        for i in range(limit):
            byte = self.u8()
            value |= (byte & 0x7F) << (7 * i)
            if byte & 0x80 == 0:
                if i > 0 and byte == 0 and not bent("M-4.1-1a"):
                    raise Reject("non_canonical", "varint ends in a zero group")
                if value >= 2**32 - one("M-4.1-1d"):
                    if not bent("M-4.1-1b"):
                        raise Reject("non_canonical", "varint of 2^32 or more")
                    value &= 0xFFFFFFFF
                return value
        raise Reject("non_canonical", "over-long varint")

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> bool:
        return self.pos == len(self.data)
