"""The QR text (SPEC.md §6) and base64url (§6, last paragraph)."""

from .bends import bent, one
from .errors import Reject

MAX_TEXT = 7089
PREFIX = "CC1:"
# D(k): the fewest decimal digits that hold 2^(8k) - 1.
DIGITS = {k: len(str(2 ** (8 * k) - 1)) for k in range(1, 13)}
BYTES_OF = {d: k for k, d in DIGITS.items()}


def strip_terminator(text: str) -> str:
    """Step 1: remove exactly one trailing CR LF, LF or CR."""
    if bent("M-6-1a"):
        return text.rstrip("\r\n")
    if bent("M-6-1b"):
        return text
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n") or (text.endswith("\r") and not bent("M-6-1c")):
        return text[:-1]
    return text


def _check_length(text: str) -> None:
    """Step 2: more than 7,089 bytes is `text_too_long`, whatever the content."""
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT + one("M-6-2a") - one("M-6-2c"):
        raise Reject("text_too_long", f"{size} bytes")


def _check_prefix(text: str) -> None:
    if bent("M-6-3a"):
        if not text.upper().startswith(PREFIX):
            raise Reject("text_prefix")
    elif not text.startswith(PREFIX):
        raise Reject("text_prefix")


def decode_text(text: str) -> bytes:
    """Text to code bytes, rejecting as §6 says."""
    if bent("M-6-1d"):
        _check_length(text)  # the length before the terminator is removed
    text = strip_terminator(text)
    if bent("M-6-2b"):
        _check_prefix(text)  # the content looked at before the length
    _check_length(text)
    _check_prefix(text)
    payload = text[len(PREFIX) :]
    if not payload and not bent("M-6-4a"):
        raise Reject("text_encoding", "empty payload")
    lenient = bent("M-6-4d")  # a stranger's decoder that trusts Python's int() per chunk
    if payload and not (payload.isascii() and payload.isdigit()) and not lenient:
        if not bent("M-6-4b"):
            raise Reject("text_encoding", "non-digit")
        # A stranger's decoder that maps every character to a digit by its code point.
        payload = "".join(str((ord(ch) - 48) % 10) for ch in payload)
    rest = len(payload) % 29
    if rest != 0 and rest not in BYTES_OF and not bent("M-6-4c"):
        raise Reject("text_encoding", "impossible digit count")
    out = bytearray()
    for i in range(0, len(payload), 29):
        chunk = payload[i : i + 29]
        k = 12 if len(chunk) == 29 else BYTES_OF.get(len(chunk), 0)
        if k == 0:
            # Only reachable under a bend of the length rule: the bytes the digits hold.
            k = max((kk for kk, d in DIGITS.items() if d <= len(chunk)), default=1)
        try:
            value = int(chunk)  # ASCII digits only here, unless bent: int() also takes "_", "٣", "１"
        except ValueError:
            raise Reject("text_encoding", "non-digit") from None
        if value >= 2 ** (8 * k):
            if not bent("M-6-5a"):
                raise Reject("non_canonical", "chunk out of range")
            value %= 2 ** (8 * k)
        out += value.to_bytes(k, "big")
    return bytes(out)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_INDEX = {ch: i for i, ch in enumerate(_B64)}


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url; padding, other characters, a lone final character and
    non-zero trailing bits are `text_encoding`."""
    if bent("M-6-6a"):
        text = text.rstrip("=")
    if bent("M-6-6b"):
        text = "".join(text.split()).replace("+", "-").replace("/", "_")
    bits = 0
    nbits = 0
    out = bytearray()
    for ch in text:
        if ch not in _B64_INDEX:
            raise Reject("text_encoding", f"character {ch!r} outside base64url")
        bits = (bits << 6) | _B64_INDEX[ch]
        nbits += 6
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
            bits &= (1 << nbits) - 1
    if len(text) % 4 == 1:
        raise Reject("text_encoding", "impossible base64url length")
    if bits != 0 and not bent("M-6-6c"):
        raise Reject("text_encoding", "non-zero trailing bits")
    return bytes(out)


def b64url_encode(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def encode_text(data: bytes) -> str:
    """Code bytes to text (for building holder test codes)."""
    parts = []
    for i in range(0, len(data), 12):
        chunk = data[i : i + 12]
        parts.append(str(int.from_bytes(chunk, "big")).zfill(DIGITS[len(chunk)]))
    return PREFIX + "".join(parts)
