"""Unit tests of the reference verifier: what the vector files do not pin, the bend
catalogue's consistency, and the feasibility of vectors FINDINGS.md and MUSTS.md propose.

    cd tools/refverify && python3 -m unittest discover -s tests
"""

import hashlib
import re
import unittest
from pathlib import Path

from refverify import bends, ed25519, primitives, weierstrass
from refverify.errors import ConfigError, Reject
from refverify.musts import MUSTS, NOTES, all_bends
from refverify.sm3 import sm3
from refverify.text import b64url_decode, b64url_encode, decode_text, encode_text
from refverify.wire import Reader

PACKAGE = Path(__file__).resolve().parents[1] / "refverify"


class Bent:
    """Context manager: one bend for the duration of a block."""

    def __init__(self, bend_id: str) -> None:
        self.bend_id = bend_id

    def __enter__(self) -> None:
        bends.set_bend(self.bend_id)

    def __exit__(self, *exc: object) -> None:
        bends.set_bend(None)


def reason(fn) -> str:
    try:
        fn()
    except (Reject, ConfigError) as e:
        return e.reason
    return "accept"


class Catalogue(unittest.TestCase):
    def test_every_bend_asked_is_catalogued_and_every_catalogued_bend_is_asked(self):
        asked = set()
        for path in PACKAGE.glob("*.py"):
            if path.name != "musts.py":
                asked |= set(re.findall(r'"(M-[0-9.]+-[0-9]+[a-z])"', path.read_text()))
        catalogued = [b.id for _, b in all_bends()]
        self.assertEqual(len(catalogued), len(set(catalogued)), "duplicate bend ids")
        self.assertEqual(asked, set(catalogued))

    def test_notes_name_catalogued_bends(self):
        self.assertLessEqual(set(NOTES), {b.id for _, b in all_bends()})

    def test_rules_without_bends_say_why(self):
        for must in MUSTS:
            self.assertTrue(must.bends or must.unbent, must.id)

    def test_the_generated_table_is_current_with_the_catalogue(self):
        # MUSTS.md names every bend once, and each NOT CAUGHT note as musts.py has it.
        table = (PACKAGE.parent / "MUSTS.md").read_text()
        for _, bend in all_bends():
            self.assertEqual(table.count(f"| `{bend.id}` "), 1, f"{bend.id}: regenerate MUSTS.md")
        what = {bend.id: bend.what for _, bend in all_bends()}
        for line in table.splitlines():
            match = re.match(r"- `(M-[^`]+)` ", line)
            if match:
                bend_id = match.group(1)
                expected = f"- `{bend_id}` ({what.get(bend_id)}): {NOTES.get(bend_id)}"
                self.assertEqual(line, expected, f"{bend_id}: regenerate MUSTS.md")

    def test_testing_md_embeds_the_table(self):
        from refverify.__main__ import BEGIN, END, TESTING

        table = (PACKAGE.parent / "MUSTS.md").read_text()
        body = table.split("\n\n", 1)[1]
        block = TESTING.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
        self.assertEqual(block, "\n" + body, "regenerate with python3 -m refverify --table MUSTS.md")

    def test_no_bend_is_active_by_default(self):
        self.assertIsNone(bends.active())


class Text(unittest.TestCase):
    def test_round_trip_every_length(self):
        for n in range(1, 60):
            data = bytes((7 * i + n) % 256 for i in range(n))
            self.assertEqual(decode_text(encode_text(data)), data)

    def test_exactly_one_terminator(self):
        text = encode_text(b"\x01\x02\x03")
        for ending in ("\n", "\r\n", "\r"):
            self.assertEqual(decode_text(text + ending), b"\x01\x02\x03")
        for ending in ("\n\n", "\r\n\r\n", " ", "\t", "\n\r"):
            self.assertEqual(reason(lambda: decode_text(text + ending)), "text_encoding", repr(ending))

    def test_only_ascii_digits(self):
        text = encode_text(bytes(range(20)))
        for bad in ("\uff11", "\u0661", "_"):
            spoiled = text[:10] + bad + text[11:]
            self.assertEqual(reason(lambda: decode_text(spoiled)), "text_encoding", repr(bad))
        spoiled = text[:10] + "\u0661" + text[11:]
        with Bent("M-6-4d"):
            self.assertEqual(reason(lambda: decode_text(spoiled)), "accept")

    def test_length_before_prefix(self):
        # 7,090 bytes with a wrong prefix: too long, whatever the content (§6 step 2).
        self.assertEqual(reason(lambda: decode_text("HC1:" + "0" * 7086)), "text_too_long")
        with Bent("M-6-2b"):
            self.assertEqual(reason(lambda: decode_text("HC1:" + "0" * 7086)), "text_prefix")

    def test_chunk_out_of_range_of_each_length(self):
        for k, d in ((1, 3), (2, 5), (12, 29)):
            self.assertEqual(reason(lambda: decode_text("CC1:" + str(2 ** (8 * k)).zfill(d))), "non_canonical")
            self.assertEqual(reason(lambda: decode_text("CC1:" + str(2 ** (8 * k) - 1).zfill(d))), "accept")

    def test_base64url_is_strict(self):
        data = bytes(range(7))  # 7 bytes: 10 characters, 2 trailing bits
        text = b64url_encode(data)
        self.assertEqual(b64url_decode(text), data)
        self.assertEqual(reason(lambda: b64url_decode(text + "==")), "text_encoding")
        self.assertEqual(reason(lambda: b64url_decode("+/" + text[2:])), "text_encoding")
        self.assertEqual(reason(lambda: b64url_decode(text[:4] + " " + text[4:])), "text_encoding")
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(text[-1])
        flipped = text[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
        self.assertEqual(reason(lambda: b64url_decode(flipped)), "text_encoding")
        self.assertEqual(reason(lambda: b64url_decode(text[:8] + "A")), "text_encoding")  # a lone sextet


class Varint(unittest.TestCase):
    def read(self, data: bytes):
        return Reader(data).varint()

    def test_boundaries(self):
        self.assertEqual(self.read(b"\x00"), 0)
        self.assertEqual(self.read(b"\x7f"), 127)
        self.assertEqual(self.read(b"\x80\x01"), 128)
        self.assertEqual(self.read(b"\xff\xff\xff\xff\x0f"), 2**32 - 1)
        self.assertEqual(reason(lambda: self.read(b"\x80\x80\x80\x80\x10")), "non_canonical")  # 2^32
        self.assertEqual(reason(lambda: self.read(b"\x86\x00")), "non_canonical")
        self.assertEqual(reason(lambda: self.read(b"\x80")), "truncated")

    def test_fifth_continuation_byte_is_refused_before_a_sixth_is_read(self):
        self.assertEqual(reason(lambda: self.read(b"\x80\x80\x80\x80\x80")), "non_canonical")
        with Bent("M-4.1-1c"):
            self.assertEqual(reason(lambda: self.read(b"\x80\x80\x80\x80\x80")), "truncated")


class Primitives(unittest.TestCase):
    def test_sm3_standard_samples(self):
        self.assertEqual(sm3(b"abc").hex(), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")

    def test_ed25519_rfc8032_test_2(self):
        seed = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
        key = ed25519.public_key(seed)
        self.assertEqual(key.hex(), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        signature = ed25519.sign(seed, b"\x72")
        self.assertEqual(
            signature.hex(),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        )
        self.assertTrue(ed25519.verify(key, b"\x72", signature))
        self.assertFalse(ed25519.verify(key, b"\x73", signature))

    def test_every_small_order_ed25519_point_is_refused(self):
        # The eight points of order dividing 8, canonically encoded: the multiples of
        # [L]P for a point P with a torsion component of order 8.
        candidate = ed25519.decode_point((3).to_bytes(32, "little"), "key")  # y = 3 is on the curve
        self.assertIsNotNone(candidate)
        torsion = ed25519._mul(ed25519.L, candidate)
        points = set()
        q = ed25519.IDENTITY
        for _ in range(8):
            points.add(ed25519.encode_point(q))
            q = ed25519._add(q, torsion)
        self.assertEqual(len(points), 8, "y = 3 has a torsion component of order 8")
        for encoded in points:
            self.assertFalse(primitives.valid_key(primitives.ED25519, encoded), encoded.hex())

    def test_curve_parameters(self):
        for c in (weierstrass.P256, weierstrass.SM2):
            g = (c.gx, c.gy)
            self.assertTrue(weierstrass.on_curve(c, g), c.name)
            self.assertIsNone(weierstrass.mul(c, c.n, g), c.name)

    def test_sm2_x_zero_is_on_the_curve_and_p_names_it_non_canonically(self):
        c = weierstrass.SM2
        good = [pre + (0).to_bytes(32, "big") for pre in (b"\x02", b"\x03")]
        self.assertTrue(any(primitives.valid_key(primitives.SM2, k) for k in good))
        prefix = next(k[:1] for k in good if primitives.valid_key(primitives.SM2, k))
        self.assertFalse(primitives.valid_key(primitives.SM2, prefix + c.p.to_bytes(32, "big")))
        with Bent("M-4.2-5a"):
            self.assertTrue(primitives.valid_key(primitives.SM2, prefix + c.p.to_bytes(32, "big")))

    def test_p256_key_with_x_plus_p_is_refused(self):
        # A P-256 x below 2^256 - p names a point non-canonically as x + p (M-4.2-3a).
        c = weierstrass.P256
        for x in range(1, 50):
            for prefix in (b"\x02", b"\x03"):
                key = prefix + x.to_bytes(32, "big")
                if primitives.valid_key(primitives.P256, key):
                    alias = prefix + (x + c.p).to_bytes(32, "big")
                    self.assertFalse(primitives.valid_key(primitives.P256, alias))
                    with Bent("M-4.2-3a"):
                        self.assertTrue(primitives.valid_key(primitives.P256, alias))
                    return
        self.fail("no small x on P-256")


class ProposedVectorsAreFeasible(unittest.TestCase):
    """Each test builds the input a NOT CAUGHT note proposes and shows that the bent
    verifier accepts what the letter of SPEC.md refuses."""

    def test_sm2_point_at_infinity_forgery_by_the_key_holder(self):
        # M-4.2-6d: r = e mod n, s = -r·d/(1 + d) makes [s]G + [t]P the point at infinity.
        c = weierstrass.SM2
        d = 0x1234567890ABCDEF
        key = weierstrass.mul(c, d, (c.gx, c.gy))
        message = b"citycode/v1/code\x00a code"
        e = int.from_bytes(sm3(weierstrass.sm2_za(key) + message), "big")
        r = e % c.n
        s = (-r * d * pow(1 + d, -1, c.n)) % c.n
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        self.assertFalse(weierstrass.sm2_verify(key, message, signature))
        with Bent("M-4.2-6d"):
            self.assertTrue(weierstrass.sm2_verify(key, message, signature))

    def test_p256_s_plus_n_with_a_key_solved_for_s_equal_1(self):
        # M-4.2-4b: an issuer key chosen after the message (card_tbs does not hold it):
        # d = (s·k - e)/r with s = 1, so that (r, 1 + n) fits in 32 bytes.
        c = weierstrass.P256
        message = b"citycode/v1/card\x00a card_tbs"
        e = int.from_bytes(hashlib.sha256(message).digest(), "big")
        k = 0xC0FFEE
        r = weierstrass.mul(c, k, (c.gx, c.gy))[0] % c.n
        d = ((1 * k - e) * pow(r, -1, c.n)) % c.n
        key = weierstrass.mul(c, d, (c.gx, c.gy))
        valid = r.to_bytes(32, "big") + (1).to_bytes(32, "big")
        alias = r.to_bytes(32, "big") + (1 + c.n).to_bytes(32, "big")
        self.assertTrue(weierstrass.ecdsa_verify(key, message, valid))
        self.assertFalse(weierstrass.ecdsa_verify(key, message, alias))
        with Bent("M-4.2-4b"):
            self.assertTrue(weierstrass.ecdsa_verify(key, message, alias))

    def test_a_small_order_root_verifies_forged_lists(self):
        # M-4.2-7a: under the cofactored equation, the identity as root key verifies
        # R = [S]B for every message; refusing it at configuration is what stops that.
        from refverify.verifier import Config, Verifier

        identity = (1).to_bytes(32, "little")
        s = 12345
        forged = ed25519.encode_point(ed25519._mul(s, ed25519.BASE)) + s.to_bytes(32, "little")
        self.assertTrue(ed25519.verify(identity, b"any trust list", forged))
        config = Config(primitives.ED25519, identity, {"kind": "hospital"})
        self.assertEqual(reason(lambda: Verifier(config)), "invalid_issuer_key")
        with Bent("M-4.2-7a"):
            self.assertEqual(reason(lambda: Verifier(config)), "accept")


if __name__ == "__main__":
    unittest.main()
