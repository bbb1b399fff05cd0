"""Parsing of cards, codes, printed codes, credentials and key requests (SPEC.md §4.4,
§4.5, §4.7, §5, §5.1). Parsing runs left to right and raises at the first failing field;
the parsed values are *untrusted* until ``verifier.py`` has checked them."""

from dataclasses import dataclass

from . import primitives
from .bends import bent, one
from .claims import GUARDIAN, HEALTH, IDENTITY, INSURANCE, parse_claims
from .errors import Reject
from .wire import Reader

LABEL_CARD = b"citycode/v1/card\x00"
LABEL_GUARDIAN_CARD = b"citycode/v1/guardian-card\x00"
LABEL_PRINTED_CARD = b"citycode/v1/printed-card\x00"
LABEL_CODE = b"citycode/v1/code\x00"
LABEL_KEY_REQUEST = b"citycode/v1/key-request\x00"

MAX_CARDS = 16


@dataclass
class Card:
    """One card: its body (the signed bytes after the prefix) and issuer signature."""

    kid: int
    alg: int
    valid_from_day: int
    valid_days: int
    claims: list  # (domain, body, parsed or None)
    body: bytes
    signature: bytes

    @property
    def domains(self) -> list[int]:
        return [d for d, _, _ in self.claims]

    def relation(self) -> dict | None:
        for domain, _, parsed in self.claims:
            if domain == GUARDIAN:
                return parsed
        return None

    @property
    def start(self) -> int:
        if bent("M-4.1-4a"):
            return self.valid_from_day * 86400 % 2**32  # a stranger's 32-bit arithmetic
        return self.valid_from_day * 86400

    @property
    def end(self) -> int:
        if bent("M-4.1-4a"):
            return (self.valid_from_day + self.valid_days) * 86400 % 2**32
        return (self.valid_from_day + self.valid_days) * 86400


@dataclass
class Code:
    """A parsed code (device-bound, or printed when ``device_alg`` is 0)."""

    version: int
    device_alg: int
    device_key: bytes
    subject: bytes
    issued_at: int
    validity: int
    nonce: bytes
    cards: list[Card]
    device_sig: bytes
    raw: bytes
    printed: bool = False

    @property
    def code_tbs(self) -> bytes:
        return LABEL_CODE + self.raw[: len(self.raw) - 64]

    def card_tbs(self, card: Card) -> bytes:
        if self.printed:
            return LABEL_PRINTED_CARD + b"\x00" + self.subject + card.body
        guardian = GUARDIAN in card.domains
        if bent("M-4.4-2a"):
            guardian = False
        label = LABEL_GUARDIAN_CARD if guardian else LABEL_CARD
        return label + bytes([self.device_alg]) + self.device_key + self.subject + card.body

    def card_id(self, card: Card) -> bytes:
        """§4.4 and §5.1: H(card_tbs)[:16], H of the device key (of the issuer, printed)."""
        if self.printed:
            if bent("M-5.1-4b"):
                return primitives.digest(card.alg, LABEL_CARD + b"\x00" + self.subject + card.body)[:16]
            return primitives.digest(card.alg, self.card_tbs(card))[:16]
        if bent("M-4.6-1b"):
            return primitives.digest(card.alg, self.card_tbs(card))[:16]
        return primitives.digest(self.device_alg, self.card_tbs(card))[:16]

    def replay_id(self) -> bytes:
        """§5: H(code_tbs)[:16], which covers no signature."""
        if bent("M-5-9a"):
            return primitives.digest(self.device_alg, self.code_tbs + self.device_sig)[:16]
        return primitives.digest(self.device_alg, self.code_tbs)[:16]

    def device_key_id(self) -> bytes:
        return primitives.digest(self.device_alg, bytes([self.device_alg]) + self.device_key)[:16]


def parse_card(r: Reader) -> Card:
    """`card = card_body issuer_sig[64]` (§4.4)."""
    start = r.pos
    kid = r.varint()
    alg = r.u8()
    if not primitives.known(alg) and not bent("M-4.1-2a"):
        raise Reject("unsupported_algorithm", f"card algorithm {alg}")
    valid_from_day = r.u16()
    valid_days = r.u8()
    if valid_days < 1 + one("M-4.4-1b") and not bent("M-4.4-1a"):
        raise Reject("malformed", "card valid_days 0")
    claims = parse_claims(r)
    body = r.data[start : r.pos]
    signature = r.take(64)
    return Card(kid, alg, valid_from_day, valid_days, claims, body, signature)


def _check_count(n: int) -> None:
    if n == 0 and not bent("M-5-5a"):
        raise Reject("malformed", "no card")
    if n > MAX_CARDS - one("M-5-5c") and not bent("M-5-5b"):
        raise Reject("malformed", f"{n} cards")


def check_duplicates(cards: list[Card], printed: bool) -> None:
    """A domain in two cards is `malformed` (§5), guardianship aside (§4.3)."""
    seen: set[int] = set()
    for card in cards:
        for domain in card.domains:
            if domain == GUARDIAN and not printed:
                continue  # every card of a guardian's code carries it (§4.3; FINDINGS.md F-4)
            if domain in seen and not bent("M-5-6a"):
                raise Reject("malformed", f"domain {domain} in two cards")
        seen.update(card.domains)


PRINTED_MAX_DAYS = 180


def _check_printed_card(card: Card) -> None:
    """§5.1 items 2 and 3, when the card has been read whole (§5): only health, the
    insurance status (region withheld) and identity; at most 180 days."""
    for domain, _, parsed in card.claims:
        if domain in (HEALTH, IDENTITY):
            continue
        if domain == INSURANCE and "region" not in (parsed or {}):
            continue
        if domain == GUARDIAN or bent("M-5.1-7a"):
            continue  # guardianship has its own rule (M-5.1-2)
        raise Reject("malformed", f"a printed card discloses domain {domain} beyond the staffed scenes' view")
    if card.valid_days > PRINTED_MAX_DAYS + one("M-5.1-8b") - one("M-5.1-8c") and not bent("M-5.1-8a"):
        raise Reject("malformed", f"a printed card valid {card.valid_days} days")


def _read_cards(r: Reader, printed: bool) -> list[Card]:
    n = r.u8()
    if not bent("M-5-8c"):
        _check_count(n)  # `n` before any card (§5)
    cards: list[Card] = []
    seen: set[int] = set()
    for i in range(n):
        card = parse_card(r)
        # Checked when the card has been read whole (§5).
        if not bent("M-5-8d"):
            check_duplicates(cards + [card], printed)
        seen.update(card.domains)
        if printed:
            if card.relation() is not None and not bent("M-5.1-2a"):
                raise Reject("malformed", "a printed code carries guardianship")
            _check_printed_card(card)
        elif i > 0:
            mine, first = card.relation(), cards[0].relation()
            if (mine is None) != (first is None) and not bent("M-4.3-11a"):
                raise Reject("malformed", "guardianship on some cards only")
            if mine is not None and first is not None and mine != first and not bent("M-4.3-11b"):
                raise Reject("malformed", "guardians' relations differ between cards")
        cards.append(card)
    if bent("M-5-8c"):
        _check_count(n)
    if printed and IDENTITY not in seen and not bent("M-5.1-1a"):
        raise Reject("malformed", "a printed code carries no identity")
    return cards


def parse_code(data: bytes) -> Code:
    """A code (§5) or a printed code (§5.1), from the bytes of the text."""
    r = Reader(data)
    version = r.u8()
    if version != 1 and not bent("M-5-1a"):
        raise Reject("unsupported_version", f"code version {version}")
    device_alg = r.u8()
    if device_alg == 0:
        subject = r.take(8)
        cards = _read_cards(r, printed=True)
        if not r.done() and not bent("M-5-7a"):
            raise Reject("trailing_bytes", f"{r.remaining()} bytes after the last card")
        if bent("M-5-8d"):
            check_duplicates(cards, printed=True)
        return Code(version, 0, b"", subject, 0, 0, b"", cards, b"", data, printed=True)
    if not primitives.known(device_alg):
        if not bent("M-5-2a"):
            raise Reject("unsupported_algorithm", f"device algorithm {device_alg}")
    device_key = r.take(primitives.KEY_LEN.get(device_alg, 32))

    def check_key() -> None:
        if not primitives.valid_key(device_alg, device_key) and not bent("M-5-3a"):
            raise Reject("invalid_device_key")

    def check_validity() -> None:
        if validity < 1 + one("M-5-4b") and not bent("M-5-4a"):
            raise Reject("malformed", "code validity 0")

    if not bent("M-5-8a"):
        check_key()  # as soon as its bytes are read (§5)
    subject = r.take(8)
    issued_at = r.u32()
    validity = r.u8()
    if not bent("M-5-8b"):
        check_validity()  # before the nonce (§5)
    nonce = r.take(4)
    cards = _read_cards(r, printed=False)
    device_sig = r.take(64)
    if not r.done() and not bent("M-5-7a"):
        raise Reject("trailing_bytes", f"{r.remaining()} bytes after the device signature")
    # The bends that defer a field's check to the end of the parse:
    if bent("M-5-8a"):
        check_key()
    if bent("M-5-8b"):
        check_validity()
    if bent("M-5-8d"):
        check_duplicates(cards, printed=False)
    return Code(version, device_alg, device_key, subject, issued_at, validity, nonce, cards, device_sig, data)


@dataclass
class Credential:
    """A stored credential (§4.5)."""

    device_alg: int
    device_key: bytes
    subject: bytes
    cards: list[Card]

    def as_code(self) -> Code:
        """The cards seen as a code's (for card_tbs and card ids)."""
        return Code(1, self.device_alg, self.device_key, self.subject, 0, 0, b"", self.cards, b"", b"\x00" * 64)


def parse_credential(data: bytes) -> Credential:
    r = Reader(data)
    version = r.u8()
    if version != 1:
        raise Reject("unsupported_version", f"credential version {version}")
    device_alg = r.u8()
    if not primitives.known(device_alg):
        raise Reject("unsupported_algorithm", f"device algorithm {device_alg}")
    device_key = r.take(primitives.KEY_LEN[device_alg])
    if not primitives.valid_key(device_alg, device_key):
        raise Reject("invalid_device_key")
    subject = r.take(8)
    n = r.u8()
    if not 1 <= n <= MAX_CARDS:
        raise Reject("malformed", f"{n} cards")
    cards = [parse_card(r) for _ in range(n)]
    if not r.done():
        raise Reject("trailing_bytes")
    return Credential(device_alg, device_key, subject, cards)


def check_key_request(data: bytes, challenge: bytes) -> tuple[int, bytes]:
    """An issuer's check of a key request (§4.7): the (alg, key) it proves, or Reject."""
    r = Reader(data)
    version = r.u8()
    if version != 1 and not bent("M-4.7-3a"):
        raise Reject("unsupported_version")
    alg = r.u8()
    if not primitives.known(alg) and not bent("M-4.7-3b"):
        raise Reject("unsupported_algorithm")
    key = r.take(primitives.KEY_LEN.get(alg, 32))
    if not primitives.valid_key(alg, key) and not bent("M-4.7-2a"):
        raise Reject("invalid_device_key")
    signature = r.take(64)
    if not r.done() and not bent("M-4.7-3c"):
        raise Reject("trailing_bytes")
    # §4.7: after the parse, the key's order, then the challenge's length, then the signature.
    if alg == primitives.ED25519 and not primitives.prime_order(alg, key) and not bent("M-4.7-5a"):
        raise Reject("invalid_device_key", "not of prime order (a torsion component)")
    too_short = len(challenge) < 16 + one("M-4.7-4c") and not bent("M-4.7-4a")
    too_long = len(challenge) > 64 - one("M-4.7-4d") and not bent("M-4.7-4b")
    if too_short or too_long:
        raise Reject("malformed", f"challenge of {len(challenge)} bytes")
    signed = LABEL_KEY_REQUEST + bytes([alg]) + key + challenge
    if bent("M-4.7-1a"):
        return alg, key
    if not primitives.verify(alg, key, signed, signature):
        raise Reject("bad_device_signature")
    return alg, key
