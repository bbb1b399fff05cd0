"""Building codes from a stored credential (holder side), only to check holder.json."""

from . import ed25519, primitives
from .structures import LABEL_CODE, Card, Credential
from .text import encode_text


def build_code(
    credential: Credential,
    seed: bytes,
    cards: list[Card],
    issued_at: int,
    validity: int = 60,
    nonce: bytes = b"\x00" * 4,
) -> str:
    """A code (§5) carrying ``cards``, signed by the Ed25519 device key ``seed``."""
    if credential.device_alg != primitives.ED25519:
        raise ValueError("holder tests sign with Ed25519 only")
    body = (
        bytes([1, credential.device_alg])
        + credential.device_key
        + credential.subject
        + issued_at.to_bytes(4, "big")
        + bytes([validity])
        + nonce
        + bytes([len(cards)])
        + b"".join(card.body + card.signature for card in cards)
    )
    signature = ed25519.sign(seed, LABEL_CODE + body)
    return encode_text(body + signature)
