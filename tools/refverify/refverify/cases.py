"""Runs every vector file through the reference verifier.

Each function yields ``Result``s: one per vector case (codes.json, key-requests.json,
sm2.json) and one per check this verifier can make of holder.json and of the published
list directories. ``Result.ok`` says whether the verifier agrees with the vector.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from . import ed25519, primitives, weierstrass
from .errors import ConfigError, Reject
from .sm3 import sm3
from .text import b64url_decode


@dataclass
class Result:
    file: str
    name: str
    expected: str
    got: str
    ok: bool
    detail: str = ""
    # True for a check this verifier derives from the published files (a tampered
    # status, a mixed mirror) rather than one a vector file states.
    derived: bool = False

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"


def outcome(fn) -> tuple[str, object]:
    """("accept", value) or (reason, detail)."""
    try:
        return "accept", fn()
    except (Reject, ConfigError) as e:
        return e.reason, e.detail


# codes.json ---------------------------------------------------------------------------


def run_code_case(case: dict) -> tuple[str, object]:
    from .verifier import Config, Verifier

    def run():
        cfg = dict(case["verifier"])
        trust_lists = cfg.pop("trust_lists", [])
        revocation_lists = cfg.pop("revocation_lists", [])
        verifier = Verifier(Config.from_json(cfg))
        verifier.clock = case["now"]
        for tl in trust_lists:
            verifier.load_trust_list(b64url_decode(tl))
        for rl in revocation_lists:
            verifier.load_revocation_list(b64url_decode(rl))
        for seen in case.get("seen", []):
            try:
                verifier.verify(seen["input"], seen["now"])
            except Reject as e:
                raise Reject(e.reason, f"a `seen` code was refused: {e.detail}") from None
        return verifier.verify(case["input"], case["now"])

    return outcome(run)


def compare_accept(case: dict, verdict) -> str:
    """Empty when the accepted verdict carries exactly the vector's fields."""
    problems = []
    if verdict.claims != case.get("claims"):
        problems.append(f"claims {json.dumps(verdict.claims)} != {json.dumps(case.get('claims'))}")
    if verdict.subject.hex() != case.get("subject"):
        problems.append(f"subject {verdict.subject.hex()} != {case.get('subject')}")
    if verdict.printed != bool(case.get("printed", False)):
        problems.append(f"printed {verdict.printed}")
    if verdict.revocation_checked != case.get("revocation_checked", True):
        problems.append(f"revocation_checked {verdict.revocation_checked}")
    return "; ".join(problems)


def codes(vectors: Path):
    data = json.loads((vectors / "codes.json").read_text())
    for case in data["cases"]:
        got, value = run_code_case(case)
        expected = case["expected"]
        detail = ""
        ok = got == expected
        if ok and got == "accept":
            detail = compare_accept(case, value)
            ok = not detail
        elif not ok:
            detail = str(value) if got != "accept" else "accepted"
        yield Result("codes.json", case["name"], expected, got, ok, detail)


# key-requests.json --------------------------------------------------------------------


def key_requests(vectors: Path):
    from .structures import check_key_request

    data = json.loads((vectors / "key-requests.json").read_text())
    for case in data["cases"]:
        got, value = outcome(
            lambda: check_key_request(b64url_decode(case["key_request"]), bytes.fromhex(case["challenge"]))
        )
        yield Result("key-requests.json", case["name"], case["expected"], got, got == case["expected"], str(value))


# configs.json -------------------------------------------------------------------------


def configs(vectors: Path):
    from .verifier import Config, Verifier

    data = json.loads((vectors / "configs.json").read_text())
    for case in data["cases"]:
        got, value = outcome(lambda: Verifier(Config.from_json(case["verifier"])))
        yield Result("configs.json", case["name"], case["expected"], got, got == case["expected"], str(value or ""))


# sm2.json -----------------------------------------------------------------------------


def sm2(vectors: Path):
    data = json.loads((vectors / "sm2.json").read_text())
    for case in data["sm3"]:
        got = sm3(bytes.fromhex(case["message"])).hex()
        yield Result("sm2.json", "sm3/" + case["name"], case["digest"], got, got == case["digest"])
    if data.get("user_id") != weierstrass.SM2_DEFAULT_ID.decode():
        yield Result("sm2.json", "user_id", data.get("user_id"), weierstrass.SM2_DEFAULT_ID.decode(), False)
    for case in data["signatures"]:
        key_bytes = bytes.fromhex(case["public_key"])
        # sm2.json admits the uncompressed form for the primitive (FINDINGS.md F-2);
        # keys in codes and lists are compressed only.
        if len(key_bytes) == 65:
            point = weierstrass.decompress(weierstrass.SM2, key_bytes, "sm2", allow_uncompressed=True)
            key_ok = point is not None
        else:
            key_ok = primitives.valid_key(primitives.SM2, key_bytes)
            point = weierstrass.decompress(weierstrass.SM2, key_bytes, "sm2") if key_ok else None
        if key_ok:
            valid = weierstrass.sm2_verify(point, bytes.fromhex(case["message"]), bytes.fromhex(case["signature"]))
        else:
            valid = False
        expected = f"key_valid={case['key_valid']} valid={case['valid']}"
        got = f"key_valid={key_ok} valid={valid}"
        yield Result("sm2.json", "signature/" + case["name"], expected, got, expected == got)


# holder.json --------------------------------------------------------------------------


def _verifier(root_key_hex: str, scene: dict, now: int, root_alg: str = "ed25519"):
    from .verifier import Config, Verifier

    v = Verifier(Config.from_json({"root_alg": root_alg, "root_key": root_key_hex, "scene": scene}))
    v.clock = now
    return v


def _scenes_of(credential) -> list[dict]:
    scenes = [{"kind": k} for k in ("hospital", "metro_gate", "parking")]
    if any(6 in card.domains for card in credential.cards):
        scenes.append({"kind": "hotel_check_in"})
    sites = sorted(
        {e["site"] for card in credential.cards for d, _, p in card.claims if d == 5 and p for e in p["entries"]}
    )
    scenes += [{"kind": "scenic_spot", "site": site, "utc_offset_minutes": 480} for site in sites]
    return scenes


def _scene_name(scene: dict) -> str:
    return scene["kind"] + (f"_{scene['site']}" if "site" in scene else "")


def _serve(verifier, lists_dir: Path, now: int, credential, seed: bytes, scene: dict) -> tuple[str, object]:
    """Verify, at ``now``, a one-card code of each card of the credential at ``scene``:
    ("accept", claims) for the first accepted, else the reasons."""
    from .holder import build_code

    reasons = []
    for i, card in enumerate(credential.cards):
        text = build_code(credential, seed, [card], now - 5, nonce=bytes([0, 0, 0, i]))
        got, value = outcome(lambda: verifier.verify(text, now))
        if got == "accept":
            return got, value
        reasons.append(got)
    return "none of " + ",".join(sorted(set(reasons))), None


def _load_published(verifier, lists_dir: Path) -> None:
    from .distribution import Poller, directory_fetcher

    Poller(verifier).poll(directory_fetcher(lists_dir))


def holder(vectors: Path):
    from .claims import identity_commitment
    from .structures import parse_credential

    data = json.loads((vectors / "holder.json").read_text())
    now = data["now"]
    root = data["root_key"]
    lists_1 = vectors / "lists" / "1"
    f = "holder.json"

    def instance(prefix: str, credential_b64: str, secret_hex: str, subject_hex: str | None):
        got, credential = outcome(lambda: parse_credential(b64url_decode(credential_b64)))
        yield Result(
            f, f"{prefix}credential_parses", "accept", got, got == "accept", "" if got == "accept" else str(credential)
        )
        if got != "accept":
            return
        seed = bytes.fromhex(secret_hex)
        if subject_hex is not None:
            yield Result(
                f, f"{prefix}subject", subject_hex, credential.subject.hex(), credential.subject.hex() == subject_hex
            )
        alg_ok = credential.device_alg == primitives.ALG_NAMES.get(data["device_alg"])
        key = ed25519.public_key(seed) if alg_ok else b""
        yield Result(
            f,
            f"{prefix}device_key_of_secret",
            "equal",
            "equal" if key == credential.device_key else "differs",
            key == credential.device_key,
        )
        verifier = _verifier(root, {"kind": "hospital"}, now)
        got, detail = outcome(lambda: verifier.load_trust_list(b64url_decode(data["trust_list"])))
        yield Result(f, f"{prefix}trust_list_loads", "accept", got, got == "accept", str(detail or ""))
        for i, card in enumerate(credential.cards):
            code = credential.as_code()
            code.cards = [card]
            got, detail = outcome(lambda: verifier.check_cards(code, now))
            yield Result(f, f"{prefix}card_{i}_verifies", "accept", got, got == "accept", str(detail or ""))
        for scene in _scenes_of(credential):
            v = _verifier(root, scene, now)
            _load_published(v, lists_1)
            got, claims = _serve(v, lists_1, now, credential, seed, scene)
            yield Result(f, f"{prefix}serves_{_scene_name(scene)}", "accept", got, got == "accept")
        yield credential

    main = None
    for r in instance("", data["credential"], data["device_secret"], None):
        if isinstance(r, Result):
            yield r
        else:
            main = r
    ident = data["identity"]
    claim = ident["claim"]
    # The claim in JSON (§4.3) read back from the body it names: pins the JSON names.
    from .claims import IDENTITY_DIGEST, parse_body

    codes_of = {v: k for k, v in IDENTITY_DIGEST.items()}
    name = claim["name"].encode("utf-8")
    body = (
        bytes([codes_of.get(claim["digest"], 0)])
        + bytes.fromhex(claim["salt"])
        + bytes.fromhex(claim["commitment"])
        + bytes([len(name)])
        + name
    )
    got, parsed = outcome(lambda: parse_body(6, body))
    same = got == "accept" and parsed == claim
    yield Result(f, "identity_claim_is_a_domain_6_body", "equal", "equal" if same else f"{got}: {parsed}", same)
    if main is not None and any(6 in card.domains for card in main.cards):
        found = [p for card in main.cards for d, _, p in card.claims if d == 6]
        yield Result(
            f, "identity_claim_in_credential", "present", "present" if claim in found else "absent", claim in found
        )
    salt = bytes.fromhex(claim["salt"])
    commitment = identity_commitment(claim["digest"], salt, ident["number"]).hex()
    yield Result(f, "identity_number_matches", claim["commitment"], commitment, commitment == claim["commitment"])
    wrong = identity_commitment(claim["digest"], salt, ident["wrong_number"]).hex()
    yield Result(
        f,
        "identity_wrong_number_differs",
        "differs",
        "differs" if wrong != claim["commitment"] else "matches",
        wrong != claim["commitment"],
    )
    batch = []
    for i, inst in enumerate(data.get("batch", [])):
        for r in instance(f"batch_{i}_", inst["credential"], inst["device_secret"], inst["subject"]):
            if isinstance(r, Result):
                yield r
            else:
                batch.append(r)
    if batch:
        keys = {c.device_key for c in batch}
        subjects = {c.subject for c in batch}
        claims = {json.dumps([sorted(map(str, card.claims)) for card in c.cards]) for c in batch}
        ok = len(keys) == len(subjects) == len(batch) and len(claims) == 1
        yield Result(f, "batch_distinct_keys_and_subjects_same_claims", "true", str(ok).lower(), ok)


# lists/1 and lists/2 ------------------------------------------------------------------


def published_lists(vectors: Path):
    from .distribution import Poller, directory_fetcher
    from .lists import parse_revocation_list, parse_status, parse_trust_list
    from .structures import parse_credential

    data = json.loads((vectors / "holder.json").read_text())
    root, now = data["root_key"], data["now"]
    dirs = {n: vectors / "lists" / n for n in ("1", "2")}
    f = "lists"
    credential = parse_credential(b64url_decode(data["credential"]))
    seed = bytes.fromhex(data["device_secret"])
    scene = {"kind": "metro_gate"}

    def fresh():
        v = _verifier(root, scene, now)
        return v, Poller(v)

    for n, d in dirs.items():
        v, poller = fresh()
        got, detail = outcome(lambda: poller.poll(directory_fetcher(d)))
        yield Result(f, f"{n}/applies", "accept", got, got == "accept", str(detail or ""))
        status = parse_status((d / "status.bin").read_bytes())
        js = json.loads((d / "status.json").read_text())
        mine = {
            "sequence": status.sequence,
            "issued_at": status.issued_at,
            "expires_at": status.expires_at,
            "files": [
                {"file": e.file, "sequence": e.list_sequence, "expires_at": e.list_expires_at, "digest": e.digest.hex()}
                for e in status.entries
            ],
        }
        yield Result(
            f,
            f"{n}/status_json_equals_status_bin",
            "equal",
            "equal" if mine == js else "differs",
            mine == js,
            json.dumps(mine),
        )
        problems = []
        for e in status.entries:
            raw = (d / e.file).read_bytes()
            parsed = parse_trust_list(raw) if e.kind == 1 else parse_revocation_list(raw)
            if (parsed.sequence, parsed.expires_at) != (e.list_sequence, e.list_expires_at):
                problems.append(e.file)
        yield Result(
            f,
            f"{n}/entries_describe_their_files",
            "equal",
            "differs: " + ",".join(problems) if problems else "equal",
            not problems,
        )
    same = (dirs["1"] / "trust-list.bin").read_bytes() == b64url_decode(data["trust_list"])
    yield Result(f, "1/trust_list_is_holder_json_s", "equal", "equal" if same else "differs", same)

    def holder_code(v):
        from .holder import build_code

        card = next(
            c for c in credential.cards if [d for d, _, _ in c.claims] == [4] and "fare_class" in (c.claims[0][2] or {})
        )
        text = build_code(credential, seed, [card], now - 5, nonce=b"\x01\x02\x03\x04")
        return outcome(lambda: v.verify(text, now))[0]

    v, poller = fresh()
    outcome(lambda: poller.poll(directory_fetcher(dirs["1"])))
    got = holder_code(v)
    yield Result(f, "1/holder_code_accepted", "accept", got, got == "accept")
    got, detail = outcome(lambda: poller.poll(directory_fetcher(dirs["2"])))
    yield Result(f, "2/applies_after_1", "accept", got, got == "accept", str(detail or ""))
    seq = v.revocations[None].sequence if None in v.revocations else None
    yield Result(f, "2/root_revocation_sequence_2_held", "2", str(seq), seq == 2)
    v.replay.clear()
    got = holder_code(v)
    yield Result(f, "2/holder_device_key_revoked", "revoked", got, got == "revoked")

    # Derived: the update rules of §8.4 on the published files, tampered or mixed.
    got, _ = outcome(lambda: poller.poll(directory_fetcher(dirs["1"])))
    yield Result(
        f, "derived/1_after_2_is_a_rollback", "list_status_rollback", got, got == "list_status_rollback", derived=True
    )
    got, _ = outcome(lambda: poller.poll(directory_fetcher(dirs["2"])))
    yield Result(f, "derived/2_twice_changes_nothing", "accept", got, got == "accept", derived=True)

    def tampered(base: Path, replace: dict):
        def fetch(name: str) -> bytes:
            if name in replace:
                if replace[name] is None:
                    raise Reject("list_unavailable", name)
                return replace[name]
            return directory_fetcher(base)(name)

        return fetch

    status_2 = bytearray((dirs["2"] / "status.bin").read_bytes())
    status_2[-1] ^= 1
    v, poller = fresh()
    got, _ = outcome(lambda: poller.poll(tampered(dirs["2"], {"status.bin": bytes(status_2)})))
    yield Result(
        f,
        "derived/status_signature_flipped",
        "bad_list_status_signature",
        got,
        got == "bad_list_status_signature",
        derived=True,
    )
    v, poller = fresh()
    got, _ = outcome(lambda: poller.poll(tampered(dirs["2"], {"revocation-root.bin": None})))
    yield Result(
        f, "derived/missing_file_unavailable", "list_unavailable", got, got == "list_unavailable", derived=True
    )

    v, poller = fresh()
    outcome(lambda: poller.poll(directory_fetcher(dirs["1"])))
    mixed = tampered(dirs["2"], {"revocation-root.bin": (dirs["1"] / "revocation-root.bin").read_bytes()})
    got, _ = outcome(lambda: poller.poll(mixed))
    yield Result(
        f, "derived/mixed_publication", "list_digest_mismatch", got, got == "list_digest_mismatch", derived=True
    )
    got = holder_code(v)
    yield Result(f, "derived/mixed_publication_keeps_lists_1", "accept", got, got == "accept", derived=True)
    got, _ = outcome(lambda: poller.poll(directory_fetcher(dirs["2"])))
    seq = v.revocations[None].sequence if None in v.revocations else None
    ok = got == "accept" and seq == 2
    yield Result(
        f, "derived/retry_after_mismatch_applies_2", "accept, sequence 2", f"{got}, sequence {seq}", ok, derived=True
    )

    v, _ = fresh()
    v.load_trust_list((dirs["1"] / "trust-list.bin").read_bytes())
    v.load_revocation_list((dirs["2"] / "revocation-root.bin").read_bytes())
    got, _ = outcome(lambda: v.load_revocation_list((dirs["1"] / "revocation-root.bin").read_bytes()))
    yield Result(
        f,
        "derived/older_revocation_list_refused",
        "revocation_list_rollback",
        got,
        got == "revocation_list_rollback",
        derived=True,
    )
    got = holder_code(v)
    yield Result(f, "derived/failed_load_changes_nothing", "revoked", got, got == "revoked", derived=True)


# publications.json --------------------------------------------------------------------


def publications(vectors: Path):
    """Each case: a verifier holding no list polls directories in order (SPEC.md §8.4)."""
    from .distribution import Poller
    from .verifier import Config, Verifier

    data = json.loads((vectors / "publications.json").read_text())
    for case in data["cases"]:
        got, value = outcome(lambda: Verifier(Config.from_json(case["verifier"])))
        if got != "accept":
            yield Result("publications.json", case["name"], "accept", got, False, str(value or ""))
            continue
        poller = Poller(value)
        for i, poll in enumerate(case["polls"]):
            files = poll["files"]

            def fetch(name: str, files=files) -> bytes:
                if name not in files:
                    raise Reject("list_unavailable", name)
                return b64url_decode(files[name])

            got, detail = outcome(lambda: poller.poll(fetch))
            name = f"{case['name']}/{i + 1}"
            yield Result("publications.json", name, poll["expected"], got, got == poll["expected"], str(detail or ""))


FILES = {
    "codes.json": codes,
    "key-requests.json": key_requests,
    "configs.json": configs,
    "sm2.json": sm2,
    "holder.json": holder,
    "publications.json": publications,
    "lists": published_lists,
}


def run_all(vectors: Path):
    """Every result of every vector file, in a fixed order."""
    for fn in FILES.values():
        try:
            yield from fn(vectors)
        except Exception as e:  # a bend can crash the verifier: that is a disagreement
            yield Result(fn.__name__, "crashed", "no crash", f"{type(e).__name__}: {e}", False)
