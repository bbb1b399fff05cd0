"""Every MUST / MUST NOT / "a verifier rejects" rule of SPEC.md, numbered, with the
bends the reference verifier can apply to it (one part of one rule at a time).

``MUSTS`` is the catalogue the bend runner walks; ``NOTES`` says, for each bend that no
vector catches, which vector would (setup and expected reason) or why none can. Rules a
verifier does not decide (issuer, operator, storage) are listed with the reason they
have no bend here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bend:
    id: str
    what: str


@dataclass(frozen=True)
class Must:
    id: str
    section: str
    rule: str
    bends: tuple[Bend, ...] = ()
    # For a rule with no bend: why (not a verifier's rule, or outside the vector files).
    unbent: str = ""


def _m(id: str, section: str, rule: str, *bends: tuple[str, str], unbent: str = "") -> Must:
    return Must(id, section, rule, tuple(Bend(b, w) for b, w in bends), unbent)


MUSTS: list[Must] = [
    _m(
        "M-1-1",
        "1",
        "A subject MUST NOT be derived from a national id or other identifier.",
        unbent="Issuer side; an 8-byte pseudonym looks random whatever its source: no verifier can test it.",
    ),
    # §4.1
    _m(
        "M-4.1-1",
        "4.1",
        "A varint MUST be minimal: `non_canonical` for a final 0x00 after the first byte, "
        "a value of 2^32 or more, a fifth byte with its continuation bit (before any sixth byte).",
        ("M-4.1-1a", "accept a final zero group"),
        ("M-4.1-1b", "accept values of 2^32 or more (kept mod 2^32)"),
        ("M-4.1-1c", "read on past a fifth continuation byte (up to 10 bytes)"),
        ("M-4.1-1d", "refuse 2^32 - 1 too"),
    ),
    _m(
        "M-4.1-2",
        "4.1",
        "An unknown algorithm id MUST be rejected (`unsupported_algorithm`): a card's `alg`.",
        ("M-4.1-2a", "accept an unknown card `alg`"),
    ),
    _m(
        "M-4.1-3",
        "4.1",
        "A card whose `alg` differs from its trust-list key's is `algorithm_mismatch`.",
        ("M-4.1-3a", "skip the comparison"),
    ),
    _m(
        "M-4.1-4",
        "4.1",
        "Time arithmetic is done without overflow (64 bits or more).",
        ("M-4.1-4a", "card start and end in 32 bits (wrapping)"),
    ),
    # §4.2
    _m(
        "M-4.2-1",
        "4.2",
        "Ed25519 keys MUST be canonical (y < p, no negative zero x) and MUST NOT be of small order.",
        ("M-4.2-1a", "accept y >= p (reduced)"),
        ("M-4.2-1b", "accept a negative zero x"),
        ("M-4.2-1c", "accept small-order keys"),
    ),
    _m(
        "M-4.2-2",
        "4.2",
        "Ed25519 signatures: S < L, R canonical and not of small order, the cofactored equation.",
        ("M-4.2-2a", "accept S >= L"),
        ("M-4.2-2b", "accept R with y >= p"),
        ("M-4.2-2c", "accept R with a negative zero x"),
        ("M-4.2-2d", "accept small-order R"),
        ("M-4.2-2e", "cofactorless equation [S]B = R + [k]A"),
    ),
    _m(
        "M-4.2-3",
        "4.2",
        "P-256 keys MUST be 33 bytes SEC1 compressed (02/03 ‖ x) naming a curve point.",
        ("M-4.2-3a", "accept x >= p (reduced)"),
        ("M-4.2-3b", "skip the on-curve (square root) check"),
        ("M-4.2-3c", "accept any prefix byte but 00 (parity from its low bit)"),
    ),
    _m(
        "M-4.2-4",
        "4.2",
        "P-256 signatures: r and s in [1, n-1].",
        ("M-4.2-4a", "reduce r mod n instead of refusing"),
        ("M-4.2-4b", "reduce s mod n instead of refusing"),
        ("M-4.2-4c", "refuse high s (which SPEC.md allows)"),
    ),
    _m(
        "M-4.2-5",
        "4.2",
        "SM2 keys MUST be 33 bytes SEC1 compressed (02/03 ‖ x) naming a point of the SM2 curve; "
        "`00` is never valid.",
        ("M-4.2-5a", "accept x >= p (reduced)"),
        ("M-4.2-5b", "skip the on-curve (square root) check"),
        ("M-4.2-5c", "accept `00` ‖ 32 bytes"),
        ("M-4.2-5d", "accept any prefix byte but 00 (parity from its low bit)"),
    ),
    _m(
        "M-4.2-6",
        "4.2",
        "SM2 signatures: r, s in [1, n-1]; t = r + s mod n MUST NOT be 0; [s]G + [t]P MUST NOT be infinity.",
        ("M-4.2-6a", "reduce r mod n instead of refusing"),
        ("M-4.2-6b", "reduce s mod n instead of refusing"),
        ("M-4.2-6c", "skip the t = 0 check"),
        ("M-4.2-6d", "read the point at infinity as (0, 0)"),
    ),
    _m(
        "M-4.2-7",
        "4.2",
        "A verifier MUST refuse to be configured with a root key failing §4.2.",
        ("M-4.2-7a", "accept an invalid root key at configuration"),
    ),
    # §4.3
    _m(
        "M-4.3-1",
        "4.3",
        "Domain ids in a card MUST be strictly increasing (`non_canonical`).",
        ("M-4.3-1a", "accept a lower id after a higher one"),
        ("M-4.3-1b", "accept the same id twice"),
    ),
    _m("M-4.3-2", "4.3", "Domain id 0 is `malformed`.", ("M-4.3-2a", "accept domain 0 (as unknown)")),
    _m(
        "M-4.3-3",
        "4.3",
        "A claims count of 0 or above 16 is `malformed`.",
        ("M-4.3-3a", "accept count 0"),
        ("M-4.3-3b", "accept counts above 16"),
        ("M-4.3-3c", "refuse 16"),
    ),
    _m(
        "M-4.3-4",
        "4.3",
        "`len` bytes MUST follow (`truncated` otherwise).",
        ("M-4.3-4a", "clamp `len` to the bytes left"),
    ),
    _m(
        "M-4.3-5",
        "4.3",
        "A known domain's body MUST be consumed exactly: bytes over or a short body are `malformed` "
        "(never `truncated`/`trailing_bytes`).",
        ("M-4.3-5a", "accept bytes left over"),
        ("M-4.3-5b", "report a short body as `truncated`"),
        ("M-4.3-5c", "report an over-long varint inside a body as `malformed` (it is still `non_canonical`)"),
    ),
    _m(
        "M-4.3-6",
        "4.3",
        "Enum bytes other than those listed are `malformed` (withheld 0 only where §4.3 allows).",
        ("M-4.3-6a", "accept any health status"),
        ("M-4.3-6b", "accept any insurance status"),
        ("M-4.3-6c", "accept any social security status"),
        ("M-4.3-6d", "accept any transit account"),
        ("M-4.3-6e", "accept any fare class"),
        ("M-4.3-6f", "accept any tourism kind"),
        ("M-4.3-6g", "accept any identity digest"),
        ("M-4.3-6h", "accept any guardian relation"),
    ),
    _m(
        "M-4.3-7",
        "4.3",
        "A transit `flags` byte other than 0, 1 or 2 is `malformed`.",
        ("M-4.3-7a", "accept flags above 2"),
    ),
    _m(
        "M-4.3-8",
        "4.3",
        "A tourism `n` of 0 or above 8 is `malformed`.",
        ("M-4.3-8a", "accept n = 0"),
        ("M-4.3-8b", "accept n above 8"),
        ("M-4.3-8c", "refuse 8"),
    ),
    _m(
        "M-4.3-9",
        "4.3",
        "A body that withholds every field of its domain is `malformed`.",
        ("M-4.3-9a", "accept medical insurance with region 0 and status 0"),
        ("M-4.3-9b", "accept transit with 0, 0 and flags 2"),
    ),
    _m(
        "M-4.3-10",
        "4.3",
        "An identity name is 1..64 bytes of UTF-8 with no control characters (`malformed`).",
        ("M-4.3-10a", "accept an empty name"),
        ("M-4.3-10b", "accept names over 64 bytes"),
        ("M-4.3-10c", "accept names that are not UTF-8"),
        ("M-4.3-10d", "accept control characters"),
        ("M-4.3-10e", "refuse 64 bytes"),
        ("M-4.3-10f", "refuse 1 byte"),
    ),
    _m(
        "M-4.3-11",
        "4.3",
        "In a code every card carries guardianship with the same relation, or none does (`malformed`).",
        ("M-4.3-11a", "accept guardianship on some cards only"),
        ("M-4.3-11b", "accept different relations"),
    ),
    _m(
        "M-4.3-13",
        "4.3",
        "An unknown domain's body is kept as opaque bytes and passed to the application (`other`).",
        ("M-4.3-13a", "drop unknown domains"),
    ),
    _m(
        "M-4.3-12",
        "4.3",
        "An issuer MUST NOT sign insurance region 0 as a value.",
        unbent="Issuer side: region 0 on the wire is read as withheld, which the vectors pin (M-4.3-9).",
    ),
    # §4.4
    _m(
        "M-4.4-1",
        "4.4",
        "`valid_days` MUST be 1..255 (`malformed`).",
        ("M-4.4-1a", "accept valid_days 0"),
        ("M-4.4-1b", "refuse valid_days 1"),
    ),
    _m(
        "M-4.4-2",
        "4.4",
        "A card carrying domain 7 is signed under `citycode/v1/guardian-card`, never the card label.",
        ("M-4.4-2a", "check guardian cards under the ordinary card label"),
    ),
    # §4.6
    _m(
        "M-4.6-1",
        "4.6",
        "Digests use H of the deciding key's algorithm: SM3 for SM2, SHA-256 otherwise; a card "
        "id hashes with the device key's.",
        ("M-4.6-1a", "SHA-256 everywhere"),
        ("M-4.6-1b", "card ids with the issuer key's digest"),
    ),
    _m(
        "M-4.6-2",
        "4.6",
        "A GM-only verifier MUST refuse (`unsupported_algorithm`) a non-SM2 root, a trust list "
        "naming a non-SM2 issuer key (after its signature, before rollback), and, right after the lists (§9 step 2), a non-SM2 device key and "
        "an identity commitment whose digest is not SM3 (a printed code has no device key: only the latter).",
        ("M-4.6-2a", "accept a non-SM2 root"),
        ("M-4.6-2b", "load trust lists with non-SM2 issuer keys"),
        ("M-4.6-2c", "accept non-SM2 device keys"),
        ("M-4.6-2d", "check the device key after the code window (step 3)"),
        ("M-4.6-2e", "accept a SHA-256 identity commitment"),
        ("M-4.6-2f", "refuse a non-SM2 issuer key when its id is read, before the signature"),
    ),
    # §4.7
    _m(
        "M-4.7-1",
        "4.7",
        "An issuer MUST NOT sign cards for a key whose key request does not verify (`bad_device_signature`).",
        ("M-4.7-1a", "skip the key request's signature"),
    ),
    _m(
        "M-4.7-2",
        "4.7",
        "A key request's device key MUST be valid (`invalid_device_key`).",
        ("M-4.7-2a", "accept an invalid key"),
    ),
    _m(
        "M-4.7-5",
        "4.7",
        "A key request's Ed25519 key MUST be of prime order: a torsion component is `invalid_device_key`.",
        ("M-4.7-5a", "accept a key with a torsion component"),
    ),
    _m(
        "M-4.7-3",
        "4.7",
        "Key requests parse as §4.1: `unsupported_version`, `unsupported_algorithm`, `truncated`, `trailing_bytes`.",
        ("M-4.7-3a", "accept another version"),
        ("M-4.7-3b", "accept an unknown algorithm"),
        ("M-4.7-3c", "accept trailing bytes"),
    ),
    _m(
        "M-4.7-4",
        "4.7",
        "The challenge is 16 to 64 bytes (`malformed` otherwise), checked after the request's parse and key order.",
        ("M-4.7-4a", "accept challenges under 16 bytes"),
        ("M-4.7-4b", "accept challenges over 64 bytes"),
        ("M-4.7-4c", "refuse 16 bytes"),
        ("M-4.7-4d", "refuse 64 bytes"),
    ),
    _m(
        "M-4.8-1",
        "4.8",
        "A batch is all or nothing; a repeated device key or n outside 1..64 refuses it (`out_of_range`).",
        unbent="Issuer side, and no vector file holds a batch of key requests: a batch-requests vector would pin it.",
    ),
    _m(
        "M-4.9-1",
        "4.9",
        "A verifier accepting a guardian's code reports the guardianship (`guardian`) in the verdict's claims.",
        ("M-4.9-1a", "leave `guardian` out of the verdict"),
    ),
    # §5
    _m(
        "M-5-1",
        "5",
        "A code version other than 1 is `unsupported_version` (also §12).",
        ("M-5-1a", "accept other versions"),
    ),
    _m("M-5-2", "5", "An unknown `device_alg` is `unsupported_algorithm`.", ("M-5-2a", "accept it (32-byte key)")),
    _m("M-5-3", "5", "An invalid device key is `invalid_device_key`.", ("M-5-3a", "skip the key checks")),
    _m("M-5-4", "5", "`validity` 0 is `malformed`.", ("M-5-4a", "accept validity 0"), ("M-5-4b", "refuse validity 1")),
    _m(
        "M-5-5",
        "5",
        "`n` of 0 or above 16 is `malformed`.",
        ("M-5-5a", "accept n = 0"),
        ("M-5-5b", "accept n above 16"),
        ("M-5-5c", "refuse 16"),
    ),
    _m("M-5-6", "5", "A domain present in two cards is `malformed`.", ("M-5-6a", "accept it")),
    _m(
        "M-5-7",
        "5",
        "Any byte after `device_sig` (after the last card of a printed code) is `trailing_bytes`.",
        ("M-5-7a", "ignore trailing bytes"),
    ),
    _m(
        "M-5-8",
        "5",
        "Parsing reports the first failing field, each checked as read: the key as read, `validity` "
        "before the nonce, `n` before any card, a repeated domain when its card is read whole.",
        ("M-5-8a", "check the device key after the whole code"),
        ("M-5-8b", "check validity 0 after the whole code"),
        ("M-5-8c", "check `n` after reading the cards"),
        ("M-5-8d", "check repeated domains after the whole code"),
    ),
    _m(
        "M-5-9",
        "5",
        "The replay id is H(code_tbs)[:16]: it covers no signature.",
        ("M-5-9a", "replay id over the code with its signature"),
    ),
    # §5.1
    _m("M-5.1-1", "5.1", "A printed code MUST carry identity (`malformed`).", ("M-5.1-1a", "accept one without")),
    _m("M-5.1-2", "5.1", "A printed code MUST NOT carry guardianship (`malformed`).", ("M-5.1-2a", "accept one with")),
    _m(
        "M-5.1-3",
        "5.1, 11",
        "A printed code is accepted only where the scene allows it (`hospital`, `hotel_check_in`; `policy_unmet`), "
        "refused after the lists and before any issuer key or signature.",
        ("M-5.1-3a", "accept printed codes at every scene"),
        ("M-5.1-3b", "refuse at the policy step, after the signatures"),
    ),
    _m(
        "M-5.1-4",
        "5.1",
        "A printed code is checked for revocation by subject and by card id (D(printed_card_tbs)[:16]).",
        ("M-5.1-4a", "skip the subject of a printed code"),
        ("M-5.1-4b", "card id over the ordinary card label"),
    ),
    _m(
        "M-5.1-7",
        "5.1",
        "A printed card carries only health, the insurance status (region withheld) and identity (`malformed`).",
        ("M-5.1-7a", "accept any domain on a printed card"),
    ),
    _m(
        "M-5.1-8",
        "5.1",
        "A printed card is valid at most 180 days (`malformed`).",
        ("M-5.1-8a", "accept any `valid_days`"),
        ("M-5.1-8b", "accept 181 days"),
        ("M-5.1-8c", "refuse 180 days"),
    ),
    _m("M-5.1-5", "5.1", "No replay check for a printed code.", ("M-5.1-5a", "replay-check printed codes")),
    _m(
        "M-5.1-6",
        "5.1",
        "The verdict says `printed` (the staff MUST compare the identity document).",
        ("M-5.1-6a", "leave `printed` out of the verdict"),
    ),
    # §6
    _m(
        "M-6-1",
        "6",
        "Exactly one trailing CR LF, LF or CR is removed, before the length check; nothing else.",
        ("M-6-1a", "remove every trailing terminator"),
        ("M-6-1b", "remove none"),
        ("M-6-1c", "do not remove a lone CR"),
        ("M-6-1d", "check the length before removing it"),
    ),
    _m(
        "M-6-2",
        "6",
        "Text of more than 7,089 bytes MUST be rejected (`text_too_long`) without looking at its content.",
        ("M-6-2a", "allow 7,090 bytes"),
        ("M-6-2b", "check the prefix before the length"),
        ("M-6-2c", "refuse 7,089 bytes"),
    ),
    _m("M-6-3", "6", "The prefix `CC1:` is case-sensitive (`text_prefix`).", ("M-6-3a", "compare case-insensitively")),
    _m(
        "M-6-4",
        "6",
        "Decoding MUST reject (`text_encoding`) an empty payload, a non-digit, an impossible digit count.",
        ("M-6-4a", "accept an empty payload"),
        ("M-6-4b", "map non-digits to digits"),
        ("M-6-4c", "accept any digit count"),
        ("M-6-4d", "parse chunks with Python's int(): `_` between digits and non-ASCII digits pass"),
    ),
    _m(
        "M-6-5",
        "6",
        "A chunk of 2^(8k) or more MUST be rejected (`non_canonical`).",
        ("M-6-5a", "reduce it mod 2^(8k)"),
    ),
    _m(
        "M-6-6",
        "6",
        "base64url decoders MUST reject padding, characters outside the alphabet and non-zero "
        "trailing bits (`text_encoding`).",
        ("M-6-6a", "strip padding"),
        ("M-6-6b", "accept `+`, `/` and whitespace"),
        ("M-6-6c", "accept non-zero trailing bits"),
    ),
    # §8.1
    _m(
        "M-8.1-1",
        "8.1",
        "Key ids and each key's domain ids MUST be strictly increasing (`non_canonical`).",
        ("M-8.1-1a", "accept unsorted key ids"),
        ("M-8.1-1b", "accept unsorted domain ids"),
    ),
    _m(
        "M-8.1-2",
        "8.1, 8.3",
        "At most 1024 keys (`malformed`), checked when the count is read.",
        ("M-8.1-2a", "accept more than 1024"),
        ("M-8.1-2b", "check the count after the keys"),
        ("M-8.1-2c", "refuse 1024"),
    ),
    _m(
        "M-8.1-3",
        "8.1",
        "Every issuer key MUST pass §4.2 (`invalid_issuer_key`).",
        ("M-8.1-3a", "skip the issuer key checks"),
    ),
    _m(
        "M-8.1-4",
        "8.1",
        "The root signature MUST verify under the configured root key (`bad_trust_list_signature`).",
        ("M-8.1-4a", "skip it"),
    ),
    _m(
        "M-8.1-5",
        "8.1",
        "`root_alg` MUST be the configured root's algorithm (`bad_trust_list_signature`).",
        ("M-8.1-5a", "ignore `root_alg`"),
    ),
    # §8.2
    _m(
        "M-8.2-1",
        "8.2, 8.3",
        "Entries MUST be strictly increasing by (kind, bytes) (`non_canonical`); at most "
        "2^20 (`malformed`, checked when the count is read).",
        ("M-8.2-1a", "accept unsorted entries"),
        ("M-8.2-1b", "accept more than 2^20"),
        ("M-8.2-1c", "check the count after the entries"),
        ("M-8.2-1d", "refuse 2^20"),
    ),
    _m(
        "M-8.2-2",
        "8.2",
        "The signature MUST verify under the root or the named issuer key of the held trust list, "
        "and `alg` MUST be that key's (`bad_revocation_list_signature`).",
        ("M-8.2-2a", "skip the signature"),
        ("M-8.2-2b", "ignore `alg`"),
        ("M-8.2-2c", "accept an issuer list whose key is not in the held trust list (or none is held)"),
    ),
    _m(
        "M-8.2-3",
        "8.2",
        "An issuer-signed list MUST be issued while its key was valid, not_before <= issued_at < "
        "not_after (`issuer_key_not_valid`).",
        ("M-8.2-3a", "one second before not_before accepted"),
        ("M-8.2-3b", "issued_at = not_after accepted"),
        ("M-8.2-3c", "issued_at = not_before refused"),
        ("M-8.2-3d", "issued_at = not_after - 1 refused"),
    ),
    _m(
        "M-8.2-4",
        "8.2",
        "Whatever the signer, a list's entries apply to every code.",
        ("M-8.2-4a", "an issuer's list applies to its own card ids only"),
    ),
    _m(
        "M-8.2-5",
        "8.2",
        "A verifier MUST refuse to load an issuer-signed list unless its key is valid at its own clock, "
        "not_before <= now < not_after (`issuer_key_not_valid`).",
        ("M-8.2-5a", "check the key's window at `issued_at` only"),
    ),
    # §8.3
    _m(
        "M-8.3-1",
        "8.3",
        "List parsing, first failing field: versions, unknown algorithms, signer byte, entry kind, trailing bytes.",
        ("M-8.3-1a", "accept trust list version != 1"),
        ("M-8.3-1b", "accept revocation list version != 1"),
        ("M-8.3-1c", "accept status version != 1"),
        ("M-8.3-1d", "accept an unknown issuer key algorithm"),
        ("M-8.3-1e", "accept an unknown trust list `root_alg`"),
        ("M-8.3-1f", "accept an unknown revocation list `alg`"),
        ("M-8.3-1g", "accept an unknown status `root_alg`"),
        ("M-8.3-1h", "accept a signer byte other than 0 or 1 (as the root)"),
        ("M-8.3-1i", "accept entry kinds other than 1-3"),
        ("M-8.3-1j", "accept trailing bytes after a trust list"),
        ("M-8.3-1k", "accept trailing bytes after a revocation list"),
        ("M-8.3-1l", "accept trailing bytes after a status"),
    ),
    _m(
        "M-8.3-2",
        "8.3",
        "Load checks run in order: parse, signature (and an issuer key's window), rollback.",
        ("M-8.3-2a", "rollback before the signature"),
    ),
    _m(
        "M-8.3-3",
        "8.3",
        "A lower sequence, or an equal one with other bytes, MUST be refused "
        "(`trust_list_rollback`, `revocation_list_rollback`); the held bytes again are allowed.",
        ("M-8.3-3a", "accept a lower trust list sequence"),
        ("M-8.3-3b", "accept an equal trust list sequence with other bytes"),
        ("M-8.3-3c", "accept a lower revocation list sequence"),
        ("M-8.3-3d", "accept an equal revocation list sequence with other bytes"),
        ("M-8.3-3e", "refuse the held trust list again"),
        ("M-8.3-3f", "refuse the held revocation list again"),
    ),
    _m("M-8.3-4", "8.3", "A load that fails changes nothing.", ("M-8.3-4a", "keep the refused list")),
    _m(
        "M-8.3-5",
        "8.3",
        "When a trust list loads, held issuer-signed revocation lists are checked again and dropped if they fail.",
        ("M-8.3-5a", "keep them unchecked"),
    ),
    _m(
        "M-8.3-6",
        "8.3",
        "An operator retiring an issuer key MUST move its entries to the root-signed list first.",
        unbent="Operator side (`citycode publish` refuses); a verifier sees only the lists.",
    ),
    # §8.4
    _m(
        "M-8.4-1",
        "8.4",
        "Status: the first entry MUST be the trust list (`malformed`); entries strictly increasing "
        "by (kind, kid) (`non_canonical`); 1 to 1025 entries; kinds 1-3 (`malformed`).",
        ("M-8.4-1a", "accept a first entry that is not the trust list"),
        ("M-8.4-1b", "accept unsorted entries"),
        ("M-8.4-1c", "accept more than 1025"),
        ("M-8.4-1d", "accept no entry"),
        ("M-8.4-1e", "accept other kinds"),
        ("M-8.4-1f", "refuse 1025"),
        ("M-8.4-1g", "refuse a single entry"),
    ),
    _m(
        "M-8.4-2",
        "8.4",
        "A fetched file whose digest differs from its entry's is refused (`list_digest_mismatch`).",
        ("M-8.4-2a", "skip the digest"),
    ),
    _m(
        "M-8.4-3",
        "8.4",
        "The status's root signature MUST verify under the configured root (`bad_list_status_signature`).",
        ("M-8.4-3a", "skip it"),
        ("M-8.4-3b", "ignore the status `root_alg`"),
    ),
    _m(
        "M-8.4-4",
        "8.4",
        "A status with a lower sequence than the last applied, or equal with other bytes, is "
        "refused (`list_status_rollback`).",
        ("M-8.4-4a", "accept a lower sequence"),
        ("M-8.4-4b", "accept an equal sequence with other bytes"),
    ),
    _m(
        "M-8.4-5",
        "8.4",
        "A list is fetched and loaded when its entry's sequence is higher than the held list's (or none is held).",
        ("M-8.4-5a", "fetch only when no list is held"),
    ),
    _m(
        "M-8.4-6",
        "8.4",
        "Only when every list loaded does the status count as applied.",
        ("M-8.4-6a", "count it applied before loading"),
    ),
    _m("M-8.4-7", "8.4", "A file that cannot be fetched is `list_unavailable`.", ("M-8.4-7a", "skip it")),
    # §9
    _m(
        "M-9-1",
        "9",
        "A verifier MUST perform the steps in order and report the first failure.",
        ("M-9-1a", "the lists (step 2) before parsing (step 1)"),
        ("M-9-1b", "the code window (3) before the lists (2)"),
        ("M-9-1c", "the cards (4) before the code window (3)"),
        ("M-9-1d", "revocation (5) before the cards (4)"),
        ("M-9-1e", "signatures (6) before revocation (5)"),
        ("M-9-1f", "the policy (7) before signatures (6)"),
        ("M-9-1g", "replay (8) before the policy (7)"),
    ),
    _m(
        "M-9-2",
        "9",
        "Step 2: `no_trust_list`; `now >= expires_at` is `trust_list_expired`; `no_revocation_list` "
        "unless allowed (and then the verdict says so); any held revocation list with `now >= expires_at` is "
        "`revocation_list_expired`; no skew for lists.",
        ("M-9-2a", "no trust list read as an empty one"),
        ("M-9-2b", "trust list expiry one second late"),
        ("M-9-2c", "run without a revocation list unasked"),
        ("M-9-2d", "revocation list expiry one second late"),
        ("M-9-2e", "look at the root's revocation list only"),
        ("M-9-2f", "say `revocation_checked` whatever happened"),
        ("M-9-2g", "apply the skew to list expiry"),
        ("M-9-2h", "the revocation lists before the trust list's expiry"),
        ("M-9-2i", "trust list expiry one second early"),
        ("M-9-2j", "revocation list expiry one second early"),
        ("M-9-2k", "take any held revocation list for the root's"),
    ),
    _m(
        "M-9-3",
        "9",
        "Step 3: `validity > max_validity`, `issued_at > now + skew`, `now >= issued_at + validity + skew`.",
        ("M-9-3a", "allow max_validity + 1"),
        ("M-9-3b", "allow issued_at = now + skew + 1"),
        ("M-9-3c", "accept at issued_at + validity + skew"),
        ("M-9-3d", "expiry before the validity bound"),
        ("M-9-3e", "refuse max_validity"),
        ("M-9-3f", "refuse issued_at = now + skew"),
        ("M-9-3g", "expire at issued_at + validity + skew - 1"),
    ),
    _m(
        "M-9-4",
        "9",
        "Step 4, card by card, in this order: unknown kid; algorithm (M-4.1-3); key window "
        "`now < not_before` or `now >= not_after` (no skew); every domain in scope; `now + skew < start`; "
        "`now >= end + skew`.",
        ("M-9-4a", "skip cards with unknown kids"),
        ("M-9-4b", "key valid from not_before - 1"),
        ("M-9-4c", "key valid through not_after"),
        ("M-9-4d", "skip the scope"),
        ("M-9-4e", "card valid from start - skew - 1"),
        ("M-9-4f", "card valid through end + skew"),
        ("M-9-4g", "apply the skew to the key window"),
        ("M-9-4h", "scope known domains only"),
        ("M-9-4i", "leave guardianship (7) out of the scope"),
        ("M-9-4j", "check by check across the cards, not card by card"),
        ("M-9-4k", "the card's validity before its key's window and scope"),
        ("M-9-4l", "key valid from not_before + 1"),
        ("M-9-4m", "key retired at not_after - 1"),
        ("M-9-4n", "card valid from start - skew + 1"),
        ("M-9-4o", "card expired at end + skew - 1"),
    ),
    _m(
        "M-9-5",
        "9",
        "Step 5: the device key id, the subject or any card id on a held list is `revoked`.",
        ("M-9-5a", "skip the device key id"),
        ("M-9-5b", "skip the subject"),
        ("M-9-5c", "skip card ids"),
    ),
    _m(
        "M-9-6",
        "9",
        "Step 6: each card's issuer signature (`bad_issuer_signature`), then the device signature "
        "(`bad_device_signature`).",
        ("M-9-6a", "skip issuer signatures"),
        ("M-9-6b", "skip the device signature"),
        ("M-9-6c", "the device signature first"),
    ),
    _m(
        "M-9-8",
        "9, 9.1",
        "Step 8: a replay id accepted before and unexpired is `replayed`; it is remembered until "
        "`issued_at + validity + skew` (the store MUST NOT forget an unexpired entry).",
        ("M-9-8a", "skip the replay check"),
        ("M-9-8b", "remember until issued_at + validity only"),
    ),
    _m(
        "M-9-9",
        "9",
        "Step 8 returns exactly the claims of the cards the code carried, the subject and the issuer "
        "key ids (a withheld field is absent, §4.3).",
        ("M-9-8c", "fill withheld fields with zero values"),
        ("M-9-8d", "return no issuer key ids"),
    ),
    _m(
        "M-9.1-1",
        "9.1",
        "Batch results MUST equal one-by-one results, code by code.",
        unbent="Batch semantics are outside this verifier (the brief sets them aside); a batch runner over codes.json "
        "in order would test it.",
    ),
    _m(
        "M-9.1-2",
        "9.1",
        "A full store refuses (`replay_capacity`); a shared store MUST answer within a deadline "
        "(`replay_store_unavailable`) and MUST refuse every code for a replay window after a loss; Redis MUST run "
        "with noeviction.",
        unbent="Store faults are not expressible in the vector format (no capacity, clock of a store, or failure "
        "in a case's setup).",
    ),
    # §11
    _m(
        "M-11-1",
        "11",
        "`hospital`: health and medical insurance disclosed, `valid_until_day` not before the "
        "verifier's local today, insurance active.",
        ("M-11-1a", "skip the domains check"),
        ("M-11-1b", "accept the day after valid_until_day"),
        ("M-11-1c", "today in UTC"),
        ("M-11-1d", "accept any insurance status"),
        ("M-11-1e", "refuse on valid_until_day itself"),
    ),
    _m(
        "M-11-2",
        "11",
        "`scenic_spot {site, utc_offset_minutes}`: an entry for `site`, a pass with day >= today or "
        "a reservation with day == today, today at the scene's offset.",
        ("M-11-2a", "any site"),
        ("M-11-2b", "a pass through yesterday"),
        ("M-11-2c", "a reservation a day off"),
        ("M-11-2d", "today at the verifier's offset, not the scene's"),
        ("M-11-2e", "refuse a pass on its last day"),
    ),
    _m(
        "M-11-3",
        "11",
        "`parking`: transit, account active, vehicle payment enabled; guardian codes refused.",
        ("M-11-3a", "any account"),
        ("M-11-3b", "payment not needed"),
        ("M-11-3c", "accept guardian codes"),
    ),
    _m(
        "M-11-4",
        "11",
        "`metro_gate`: transit, account active, fare class disclosed.",
        ("M-11-4a", "any account"),
        ("M-11-4b", "fare class not needed"),
    ),
    _m("M-11-5", "11", "`hotel_check_in`: identity disclosed.", ("M-11-5a", "identity not needed")),
    _m(
        "M-12-1",
        "12",
        "A verifier MUST reject versions it does not know.",
        unbent="The same rule as M-5-1 and M-8.3-1a..c, bent there.",
    ),
    _m(
        "M-14-1",
        "14",
        "Configuration defaults: skew 30, max validity 120, offset 480, "
        "allow_missing_revocation_list false, gm_only false.",
        ("M-14-1a", "allow_missing_revocation_list true by default"),
        ("M-14-1b", "skew 0 by default"),
        ("M-14-1c", "max validity 60 by default"),
        ("M-14-1d", "offset 0 by default"),
        ("M-14-1e", "gm_only true by default"),
    ),
    _m(
        "M-11-6",
        "11",
        "A withheld field the policy reads fails it (`policy_unmet`), never read as a default.",
        ("M-11-6a", "withheld fare class read as standard"),
        ("M-11-6b", "withheld vehicle payment read as off"),
        ("M-11-6c", "withheld insurance status read as active"),
        ("M-11-6d", "withheld transit account read as active"),
    ),
]

# For each bend no vector catches: the vector that would (setup, expected reason), or why
# no feasible vector can. Filled from the bend run; `python3 -m refverify --table` lists
# any NOT CAUGHT bend that has no note here as a failure.
NOTES: dict[str, str] = {
    # §4.1
    "M-4.1-1c": "A code cut right after a card's `kid` of five bytes 0x80 0x80 0x80 0x80 0x80: `non_canonical` "
    "(refused before a sixth byte is read); a verifier reading on says `truncated`. The only input that can tell: "
    "any sixth byte makes the value 2^35 or more, which M-4.1-1b refuses with the same reason.",
    "M-4.1-2a": "A code whose card has `alg` 4 (unassigned), validly signed otherwise: `unsupported_algorithm` "
    "(a bent verifier reaches step 4: `algorithm_mismatch`).",
    # §4.2
    "M-4.2-1b": "No vector can: the only points with x = 0 are (0, 1) and (0, -1), both of small order, so a "
    "negative-zero key is also refused by M-4.2-1c with the same reason (`invalid_device_key`).",
    "M-4.2-2b": "No feasible vector: a non-canonical R encodes a point with y < 19; a signature over it needs that "
    "point's discrete logarithm, except for y = 0 and y = 1 (small order), which M-4.2-2d refuses with the same "
    "verdict.",
    "M-4.2-2c": "No vector can: an R with x = 0 is (0, ±1), of small order, refused by M-4.2-2d alike.",
    "M-4.2-3a": "A P-256 device key `02`/`03` ‖ (x + p) where x is a small on-curve x (x + p < 2^256; "
    "tests/test_refverify.py finds one below 50): `invalid_device_key` (a bent verifier reaches the signature: "
    "`bad_device_signature`). No signature needed.",
    "M-4.2-3b": "A P-256 device key `02` ‖ x with no point on the curve (as `sm2_device_key_off_curve` for SM2): "
    "`invalid_device_key` (bent: `bad_device_signature`).",
    "M-4.2-3c": "A P-256 device key `04` ‖ x (33 bytes) naming a point as `02` would: `invalid_device_key`.",
    "M-4.2-4a": "A valid P-256 device signature re-encoded as (r + n, s): `bad_device_signature` (bent: accept). "
    "Needs r < 2^256 - n (about 2^224): grind the nonce k once (about 2^32 point additions, as r depends on k "
    "alone) and keep k as a constant; s = k^-1(e + r·d) then signs any code.",
    "M-4.2-4b": "A P-256 issuer key solved for s = 1: d = (k - e)/r over a fixed card_tbs (which does not hold the "
    "issuer key), the card signed (r, 1 + n): `bad_issuer_signature` (bent: accept). tests/test_refverify.py "
    "builds it.",
    "M-4.2-5a": "An SM2 device key `02`/`03` ‖ p (x = 0 is on the SM2 curve, so p names it non-canonically): "
    "`invalid_device_key` (bent: `bad_device_signature`). tests/test_refverify.py checks x = 0.",
    "M-4.2-5d": "An SM2 device key `04` ‖ x (33 bytes): `invalid_device_key`.",
    "M-4.2-6a": "An SM2 signature (r + n, s) with r < 2^256 - n: `bad_device_signature`. r = (e + x_1) mod n depends "
    "on the message (Z_A holds the key), so the nonce must be ground per message (about 2^32 point additions): "
    "feasible once in sm2.json, whose message and key never change.",
    "M-4.2-6b": "As M-4.2-6a for (r, s + n) with s < 2^256 - n: grind the nonce until s is small, once, in sm2.json.",
    "M-4.2-6c": "No feasible vector: with t = 0 the point is [s]G = [-r]G, so r = e + x([r]G) mod n must hold, "
    "which fixes SM3(Z_A ‖ M) to a chosen value: a preimage.",
    "M-4.2-6d": "An SM2 signature by the device key's holder with r = e mod n and s = -r·d/(1 + d) mod n, so that "
    "[s]G + [t]P_A is the point at infinity: `bad_device_signature`; a verifier that reads infinity as (0, 0) "
    "accepts it. tests/test_refverify.py builds one.",
    "M-4.2-7a": "A case whose root key is the Ed25519 identity (01 00..00): under the cofactored equation R = [S]B "
    "verifies any trust list, so a forged list names the forger's issuer key. Refusing the root is the only "
    "defence (tests/test_refverify.py shows the forgery); the vector format needs a configuration-refusal "
    "outcome, and SPEC.md a reason for it (FINDINGS.md F-8).",
    # §4.3
    "M-4.3-5c": "An insurance body whose region is an over-long varint (0x86 0x00): `non_canonical`, not "
    "`malformed`.",
    "M-4.3-6a": "A health status of 4 (and of 0: health is never withheld): `malformed`.",
    "M-4.3-6c": "A social security status of 4 (and of 0): `malformed`.",
    "M-4.3-6e": "A fare class of 6: `malformed`.",
    "M-4.3-6f": "A tourism entry of kind 3 (and 0): `malformed`.",
    "M-4.3-10e": "An identity whose name is exactly 64 bytes (21 CJK characters and one ASCII letter): `accept`. "
    "`claims_identity_name_65_bytes` pins only the refusing side.",
    "M-4.3-10f": "An identity whose name is one byte: `accept`.",
    "M-4.4-1a": "A card with `valid_days` 0, validly signed: `malformed` (a bent verifier says "
    "`credential_expired`).",
    # §4.6
    "M-4.6-1b": "`sm2_device_key_in_an_ed25519_city`'s card revoked by its card id under SM3 (the device key's "
    "digest): `revoked`; a verifier hashing with the issuer's SHA-256 accepts it.",
    "M-4.6-2a": "A GM-only case with an Ed25519 root: the verifier refuses its configuration "
    "(`unsupported_algorithm`). The vector format needs a configuration-refusal outcome.",
    "M-4.6-2d": "A GM-only verifier and the P-256 device code of `gm_only_refuses_a_p256_device_key`, verified "
    "after its window: `unsupported_algorithm` (bent: `code_expired`).",
    "M-4.7-4c": "A valid request over a 16-byte challenge: `accept` (every accepted case uses 32 bytes).",
    "M-4.7-4d": "A valid request over a 64-byte challenge: `accept`.",
    "M-4.7-4b": "A valid request checked against a 65-byte challenge: `malformed`.",
    # §5
    "M-5-4b": "A code with validity 1, verified within its second: `accept` (every accepted code asks 60 s or "
    "more).",
    "M-5-8a": "A code with a small-order device key, cut right after the key: `invalid_device_key` (bent: "
    "`truncated`).",
    "M-5-8b": "A code with validity 0, cut right after the validity byte: `malformed` (bent: `truncated`).",
    "M-5-8c": "A code whose card count is 17 and nothing after it: `malformed` (bent: `truncated`), as "
    "`trust_list_1025_keys` does for lists.",
    "M-5-8d": "`duplicate_domain` cut inside its device signature: `malformed` (bent: `truncated`).",
    "M-5.1-2a": "A printed code whose card carries identity and guardianship, signed under the printed label: "
    "`malformed`.",
    "M-5.1-3a": "A printed code carrying identity and transit (account active, a fare class) at a metro gate: "
    "`policy_unmet`. `policy_unmet_printed_metro_gate` carries no transit, so the metro policy refuses it anyway.",
    "M-5.1-4b": "`accept_printed_hospital` with its card id, D(printed_card_tbs)[:16], on the root's list: "
    "`revoked`.",
    "M-5.1-5a": "`accept_printed_hospital` with the same text in `seen`: `accept` (a bent verifier says "
    "`replayed`).",
    # §6
    "M-6-1c": "`scanner_lf` with a lone CR instead of LF: `accept`.",
    "M-6-2b": "7,090 bytes beginning `HC1:`: `text_too_long` (bent: `text_prefix`).",
    "M-6-4d": "A code's text with one digit written as a full-width `１` (U+FF11) or Arabic-Indic `١`, and one "
    "with `_` between two digits of a chunk (digit count unchanged): `text_encoding`. `text_not_digits` uses a "
    "letter, which int() refuses too.",
    "M-6-6a": "A case whose trust list is given with `=` padding: `text_encoding` (the runner reports a list that "
    "does not decode as the case's result).",
    "M-6-6b": "A key request (key-requests.json) or list with `+` or `/` in place of `-` or `_`: `text_encoding`.",
    "M-6-6c": "The demo trust list (133 bytes: 4 trailing bits) with its last character's low bit set: "
    "`text_encoding`.",
    # §8.1, §8.2
    "M-8.1-1a": "A root-signed trust list with key ids 2 then 1: `non_canonical`.",
    "M-8.1-1b": "A root-signed trust list whose key has domains 4 then 1: `non_canonical`.",
    "M-8.1-5a": "A trust list with `root_alg` 2 signed by the Ed25519 root: `bad_trust_list_signature`.",
    "M-8.2-1a": "A root-signed revocation list with a subject entry before a card entry (kinds 2, 1): "
    "`non_canonical`; and one with two equal entries.",
    "M-8.2-1d": "A root-signed revocation list of exactly 2^20 entries: `accept`. Feasible but heavy: 2^20 subject "
    "entries are 9.4 MB of list (12.6 MB of base64url in codes.json); better as a raw file beside lists/ than inside "
    "codes.json. `revocation_list_too_many_entries` pins the refusing side.",
    "M-8.2-2b": "A root-signed revocation list whose `alg` byte says 2 (P-256) under the Ed25519 root: "
    "`bad_revocation_list_signature`.",
    "M-8.2-2c": "A revocation list signed by an issuer key, signer kid 9, not in the held trust list: "
    "`bad_revocation_list_signature`.",
    # §8.3
    "M-8.3-1c": "A status of version 2 (a status-vectors file, see M-8.4-1a): `unsupported_version`.",
    "M-8.3-1e": "A trust list whose `root_alg` is 4: `unsupported_algorithm`.",
    "M-8.3-1f": "A revocation list whose `alg` is 4: `unsupported_algorithm`.",
    "M-8.3-1g": "A status whose `root_alg` is 4: `unsupported_algorithm`.",
    "M-8.3-1k": "A revocation list with a byte after its signature: `trailing_bytes`.",
    "M-8.3-1l": "A status with a byte after its signature: `trailing_bytes`.",
    "M-8.3-2a": "Trust list sequence 2 held, then a sequence 1 list signed by another key: "
    "`bad_trust_list_signature` (bent: `trust_list_rollback`).",
    "M-8.3-3b": "Trust list sequence 2 held, then another root-signed list of sequence 2: `trust_list_rollback`.",
    "M-8.3-3d": "Root revocation list sequence 2 held, then another of sequence 2: `revocation_list_rollback`.",
    "M-8.3-4a": "codes.json ends a case at the first load failure, so no vector can look at the lists after it. "
    "With an `expected` per load: trust list sequence 2 held, a forged sequence 3 without key 1 refused, then a "
    "key-1 code: `accept`. refverify's own check loads lists/1 and lists/2 out of order to show it.",
    "M-8.3-5a": "codes.json loads every trust list before every revocation list. With one ordered `loads` list: "
    "trust list 1 with key 1, key 1's revocation list (the only one), then trust list 2 without key 1: the "
    "issuer list is dropped, so the next code is `no_revocation_list`.",
    # §8.4
    "M-8.4-1a": "lists/1 and lists/2 are two good publications only. A status-vectors file (each case: the root, "
    "the publications polled in order, the expected reason of each poll) would carry: a status whose first entry "
    "is the root revocation list: `malformed`.",
    "M-8.4-1b": "Status-vectors: entries kind 3 kid 2 before kind 3 kid 1: `non_canonical`.",
    "M-8.4-1c": "Status-vectors: an entry count of 1,026 and nothing after: `malformed`.",
    "M-8.4-1d": "Status-vectors: an entry count of 0: `malformed`.",
    "M-8.4-1e": "Status-vectors: an entry of kind 4: `malformed`.",
    "M-8.4-1f": "Status-vectors: a status of 1,025 entries (the trust list, the root's list and 1,023 issuer lists, "
    "about 60 KB): applies.",
    "M-8.4-1g": "Status-vectors: a publication of the trust list alone (one entry), on a verifier allowed to run "
    "without a revocation list: applies.",
    "M-8.4-2a": "Status-vectors: lists/2's status beside lists/1's revocation-root.bin: `list_digest_mismatch` "
    "(refverify's derived check does this).",
    "M-8.4-3a": "Status-vectors: lists/1's status.bin with a signature bit flipped: `bad_list_status_signature`.",
    "M-8.4-3b": "Status-vectors: a status with `root_alg` 2 signed by the Ed25519 root: "
    "`bad_list_status_signature` (SPEC.md §8.4).",
    "M-8.4-4a": "Status-vectors: lists/2 then lists/1: `list_status_rollback`.",
    "M-8.4-4b": "Status-vectors: lists/2 then another root-signed status of sequence 2: `list_status_rollback`.",
    "M-8.4-6a": "Status-vectors: lists/1, then lists/2's status with lists/1's revocation file "
    "(`list_digest_mismatch`), then lists/2 whole: applied, and a demo code `revoked`.",
    "M-8.4-7a": "Status-vectors: lists/2 without its revocation-root.bin: `list_unavailable`.",
    # §9
    "M-9-1a": "No trust list held and a truncated code: `truncated` (bent: `no_trust_list`).",
    "M-9-1b": "An expired trust list and an expired code: `trust_list_expired` (bent: `code_expired`).",
    "M-9-1c": "An expired code whose card names an unknown key id: `code_expired` (bent: `unknown_issuer_key`).",
    "M-9-1d": "A revoked subject whose card is out of scope: `out_of_scope` (bent: `revoked`).",
    "M-9-1e": "A revoked device key and a bad device signature: `revoked` (bent: `bad_device_signature`).",
    "M-9-1f": "A bad device signature on a code the scene refuses (transit at a hospital): "
    "`bad_device_signature` (bent: `policy_unmet`).",
    "M-9-1g": "A hospital code accepted (`seen`) at the last local second of its health day, shown again 20 s "
    "later (within its window, after local midnight): `policy_unmet` (bent: `replayed`).",
    "M-9-2e": "A current root revocation list and an expired issuer-signed one: `revocation_list_expired`.",
    "M-9-2h": "An expired trust list and an expired revocation list: `trust_list_expired` (bent: "
    "`revocation_list_expired`).",
    "M-9-3d": "A code asking 200 s, verified after issued_at + 200 + skew: `code_validity_too_long` (bent: "
    "`code_expired`).",
    "M-9-4h": "`accept_unknown_future_domain` under a trust list whose key does not list domain 9: `out_of_scope`.",
    "M-9-4i": "`accept_guardian_hospital` under a trust list whose key lists 1-6 only: `out_of_scope`.",
    "M-9-4j": "Two cards, the first out of scope, the second with an unknown key id: `out_of_scope` (bent: "
    "`unknown_issuer_key`).",
    "M-9-4k": "A card whose key is retired and which has itself expired: `issuer_key_not_valid` (bent: "
    "`credential_expired`).",
    "M-9-8b": "A code accepted (`seen`) and shown again at issued_at + validity + 10 (skew 30): `replayed` "
    "(bent: accept).",
    "M-9-8d": "Accepted cases list no issuer key ids, though §9 step 8 returns them: add `kids` to accepted cases.",
    # §11, §14
    "M-11-2d": "A scenic-spot scene with `utc_offset_minutes` 0 at a verifier configured for 480, at 20:00 UTC "
    "of the reservation's day: `accept` (the verifier's offset gives the next day: `policy_unmet`).",
    "M-11-3a": "The parking card with its account in arrears at a parking exit: `policy_unmet`.",
    "M-11-6b": 'No vector can: reading a withheld vehicle payment as "off" refuses the parking code as the rule '
    "does; only the rejection's detail differs.",
    "M-14-1b": "Every case states `skew_secs`: a case without it, verified at issued_at + validity + 29: `accept`.",
    "M-14-1c": "Every case states `max_code_validity_secs`: a case without it and a code asking 120 s: `accept`.",
    "M-14-1d": "Every case states `utc_offset_minutes`: `hospital_health_past_local_midnight` without it: "
    "`policy_unmet` (a default of 0 reads the UTC day, still the last one: accept).",
}


def _order(must: Must) -> tuple:
    _, section, number = must.id.split("-")
    return (tuple(int(p) for p in section.split(".")), int(number))


MUSTS.sort(key=_order)


def all_bends() -> list[tuple[Must, Bend]]:
    return [(m, b) for m in MUSTS for b in m.bends]
