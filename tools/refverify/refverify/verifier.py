"""The verifier: configuration (SPEC.md §14), list loading (§8.3), verification in the
order of §9, scene policies (§11) and the replay store."""

from dataclasses import dataclass, field

from . import primitives
from .bends import bent, one
from .claims import to_json
from .errors import ConfigError, Reject
from .lists import RevocationList, TrustList, parse_revocation_list, parse_trust_list
from .structures import Code, parse_code
from .text import decode_text

SCENES = ("hospital", "scenic_spot", "parking", "metro_gate", "hotel_check_in")
PRINTED_SCENES = ("hospital", "hotel_check_in")


@dataclass
class Config:
    """A verifier configuration: a test vector's `verifier` without its list fields."""

    root_alg: int
    root_key: bytes
    scene: dict
    skew_secs: int = 30
    max_code_validity_secs: int = 120
    utc_offset_minutes: int = 480
    allow_missing_revocation_list: bool = False
    gm_only: bool = False

    @classmethod
    def from_json(cls, obj: dict) -> "Config":
        name = obj.get("root_alg")
        if name not in primitives.ALG_NAMES:
            raise ConfigError("unsupported_algorithm", f"root_alg {name!r}")
        if not isinstance(obj.get("root_key"), str):
            raise ConfigError("invalid_argument", "root_key must be a string")
        try:
            root_key = bytes.fromhex(obj["root_key"])
        except ValueError:
            raise ConfigError("text_encoding", "root_key must be hex (§14.1)") from None
        scene = obj.get("scene")
        if not isinstance(scene, dict) or scene.get("kind") not in SCENES:
            raise ConfigError("invalid_argument", f"scene {scene!r}")
        if scene["kind"] == "scenic_spot" and not all(
            isinstance(scene.get(k), int) for k in ("site", "utc_offset_minutes")
        ):
            # SPEC.md names no default offset for the scene (FINDINGS.md F-12): refuse to guess.
            raise ConfigError("invalid_argument", "scenic_spot needs site and utc_offset_minutes")
        fields = {
            "skew_secs": 0 if bent("M-14-1b") else 30,
            "max_code_validity_secs": 60 if bent("M-14-1c") else 120,
            "utc_offset_minutes": 0 if bent("M-14-1d") else 480,
        }
        for key in fields:
            value = obj.get(key, fields[key])
            if not isinstance(value, int) or isinstance(value, bool) or (key != "utc_offset_minutes" and value < 0):
                raise ConfigError("invalid_argument", f"{key} {value!r}")
            fields[key] = value
        flags = {"allow_missing_revocation_list": bent("M-14-1a"), "gm_only": bent("M-14-1e")}
        for key in flags:
            value = obj.get(key, flags[key])
            if not isinstance(value, bool):
                raise ConfigError("invalid_argument", f"{key} {value!r}")
            flags[key] = value
        return cls(primitives.ALG_NAMES[name], root_key, scene, **fields, **flags)


@dataclass
class Verdict:
    """An accepted code: what §9 step 8 returns."""

    claims: dict
    subject: bytes
    kids: list[int]
    printed: bool
    revocation_checked: bool


def local_day(now: int, offset_minutes: int) -> int:
    """floor((now + 60 × offset) / 86400) (§11)."""
    return (now + 60 * offset_minutes) // 86400


# §9's steps in order ("2L": the lists, "2G": the GM-only device check at the end of step
# 2), and the order each ordering bend runs instead.
ORDER = ["1", "2L", "2G", "3", "4", "5", "6", "7", "8"]


def _swap(order: list[str], a: str, b: str) -> list[str]:
    out = list(order)
    i, j = out.index(a), out.index(b)
    out[i], out[j] = out[j], out[i]
    return out


def step_order() -> list[str]:
    if bent("M-9-1a"):
        return _swap(ORDER, "1", "2L")
    if bent("M-9-1b"):
        return ["1", "3", "2L", "2G", "4", "5", "6", "7", "8"]
    if bent("M-4.6-2d"):
        return _swap(ORDER, "2G", "3")
    for bend, (a, b) in {
        "M-9-1c": ("3", "4"),
        "M-9-1d": ("4", "5"),
        "M-9-1e": ("5", "6"),
        "M-9-1f": ("6", "7"),
        "M-9-1g": ("7", "8"),
    }.items():
        if bent(bend):
            return _swap(ORDER, a, b)
    return ORDER


@dataclass
class Verifier:
    """One terminal's state: configuration, held lists and replay memory."""

    config: Config
    trust: TrustList | None = None
    revocations: dict = field(default_factory=dict)  # signer (None: root; kid) -> RevocationList
    replay: dict = field(default_factory=dict)  # replay id -> expiry (issued_at + validity + skew)
    # The verifier's own clock when it loads lists (§8.2: an issuer key valid at `now`);
    # the runner sets it to the case's `now`.
    clock: int | None = None

    def __post_init__(self) -> None:
        c = self.config
        if len(c.root_key) != primitives.KEY_LEN[c.root_alg]:
            raise ConfigError("malformed", f"a root key of {len(c.root_key)} bytes (§14.1)")
        if not primitives.valid_key(c.root_alg, c.root_key) and not bent("M-4.2-7a"):
            # §4.2, §14.1: a verifier MUST refuse such a root key.
            raise ConfigError("invalid_issuer_key", "root key fails SPEC.md §4.2")
        if c.gm_only and c.root_alg != primitives.SM2 and not bent("M-4.6-2a"):
            raise ConfigError("unsupported_algorithm", "a GM-only verifier needs an SM2 root")

    # §8.1-§8.3 ---------------------------------------------------------------------

    def _root_signed(self, alg: int, tbs: bytes, signature: bytes, bend_alg: str) -> bool:
        if alg != self.config.root_alg and not bent(bend_alg):
            return False
        return primitives.verify(self.config.root_alg, self.config.root_key, tbs, signature)

    def load_trust_list(self, data: bytes) -> None:
        """§8.3 for a trust list: parse, signature, rollback; then re-check issuer lists."""
        tl = parse_trust_list(data, gm_only=self.config.gm_only and bent("M-4.6-2f"))
        held = self.trust

        def check_signature() -> None:
            if not bent("M-8.1-4a") and not self._root_signed(tl.root_alg, tl.tbs, tl.signature, "M-8.1-5a"):
                raise Reject("bad_trust_list_signature")
            # §4.6, §8.3 step 2: a GM-only verifier refuses other issuer algorithms after the signature.
            if self.config.gm_only and not bent("M-4.6-2b") and not bent("M-4.6-2f"):
                for key in tl.keys.values():
                    if key.alg != primitives.SM2:
                        raise Reject("unsupported_algorithm", f"issuer key {key.kid} is not SM2")

        def check_rollback() -> None:
            if held is None:
                return
            if tl.sequence < held.sequence and not bent("M-8.3-3a"):
                raise Reject("trust_list_rollback", f"sequence {tl.sequence} < {held.sequence}")
            if tl.sequence == held.sequence:
                if tl.raw != held.raw and not bent("M-8.3-3b"):
                    raise Reject("trust_list_rollback", "same sequence, other bytes")
                if tl.raw == held.raw and bent("M-8.3-3e"):
                    raise Reject("trust_list_rollback", "the held list again")

        try:
            for check in [check_rollback, check_signature] if bent("M-8.3-2a") else [check_signature, check_rollback]:
                check()
        except Reject:
            if bent("M-8.3-4a"):
                self.trust = tl  # a stranger's verifier that kept what it parsed
            raise
        self.trust = tl
        if not bent("M-8.3-5a"):
            for signer in [s for s in self.revocations if s is not None]:
                try:
                    self._check_revocation_signature(self.revocations[signer], at_now=False)
                except Reject:
                    del self.revocations[signer]

    def _check_revocation_signature(self, rl: RevocationList, at_now: bool = True) -> None:
        """§8.3 step 2 for a revocation list: signature, then an issuer key's window at
        `issued_at`, then (when loading, not when a trust list re-checks it) at `now`."""
        if rl.signer is None:
            if not bent("M-8.2-2a") and not self._root_signed(rl.alg, rl.tbs, rl.signature, "M-8.2-2b"):
                raise Reject("bad_revocation_list_signature", "not the root's")
            return
        key = self.trust.keys.get(rl.signer) if self.trust is not None else None
        if key is None:
            if bent("M-8.2-2c"):
                return
            raise Reject("bad_revocation_list_signature", f"no issuer key {rl.signer}")
        if not bent("M-8.2-2a"):
            if rl.alg != key.alg and not bent("M-8.2-2b"):
                raise Reject("bad_revocation_list_signature", "alg is not its key's")
            if not primitives.verify(key.alg, key.key, rl.tbs, rl.signature):
                raise Reject("bad_revocation_list_signature")
        lo = key.not_before - one("M-8.2-3a") + one("M-8.2-3c")
        hi = key.not_after + one("M-8.2-3b") - one("M-8.2-3d")
        if not lo <= rl.issued_at < hi:
            raise Reject("issuer_key_not_valid", "list issued outside its key's window")
        if at_now and not bent("M-8.2-5a"):
            if self.clock is None:
                raise ConfigError("invalid_argument", "an issuer-signed list loads only with the verifier's clock")
            if not key.not_before <= self.clock < key.not_after:
                raise Reject("issuer_key_not_valid", "the list's key is not valid now")

    def load_revocation_list(self, data: bytes) -> None:
        """§8.3 for a revocation list."""
        rl = parse_revocation_list(data)
        held = self.revocations.get(rl.signer)

        def check_rollback() -> None:
            if held is None:
                return
            if rl.sequence < held.sequence and not bent("M-8.3-3c"):
                raise Reject("revocation_list_rollback", f"sequence {rl.sequence} < {held.sequence}")
            if rl.sequence == held.sequence:
                if rl.raw != held.raw and not bent("M-8.3-3d"):
                    raise Reject("revocation_list_rollback", "same sequence, other bytes")
                if rl.raw == held.raw and bent("M-8.3-3f"):
                    raise Reject("revocation_list_rollback", "the held list again")

        def check_signature() -> None:
            self._check_revocation_signature(rl)

        try:
            for check in [check_rollback, check_signature] if bent("M-8.3-2a") else [check_signature, check_rollback]:
                check()
        except Reject:
            if bent("M-8.3-4a"):
                self.revocations[rl.signer] = rl
            raise
        self.revocations[rl.signer] = rl

    # §9 --------------------------------------------------------------------------

    def verify(self, text: str, now: int) -> Verdict:
        """Verify scanned text at ``now``: a Verdict, or Reject with the first failure."""
        state: dict = {}
        for step in step_order():
            getattr(self, "_step_" + step)(state, text, now)
        code: Code = state["code"]
        claims = state["claims"]
        if bent("M-4.9-1a"):
            claims.pop("guardian", None)
        if bent("M-9-8c"):
            # A stranger's verdict that fills withheld fields with their zero values.
            if "transit" in claims:
                claims["transit"].setdefault("vehicle_payment", False)
            if "medical_insurance" in claims:
                claims["medical_insurance"].setdefault("region", 0)
        return Verdict(
            claims,
            code.subject,
            [] if bent("M-9-8d") else [card.kid for card in code.cards],
            code.printed and not bent("M-5.1-6a"),
            None in self.revocations or not self.config.allow_missing_revocation_list or bent("M-9-2f"),
        )

    def _step_1(self, state: dict, text: str, now: int) -> None:
        code = parse_code(decode_text(text))
        state["code"] = code
        state["claims"] = to_json([entry for card in code.cards for entry in card.claims])

    def _trust(self) -> TrustList:
        if self.trust is None:
            # Only under the bend of M-9-2a: an empty list in its place.
            return TrustList(0, 0, 2**32, {}, self.config.root_alg, b"", b"", b"")
        return self.trust

    def _step_2L(self, state: dict, text: str, now: int) -> None:
        c = self.config
        if self.trust is None and not bent("M-9-2a"):
            raise Reject("no_trust_list")
        list_skew = c.skew_secs if bent("M-9-2g") else 0
        trust = self._trust()

        def revocation() -> None:
            held = None in self.revocations or (bent("M-9-2k") and bool(self.revocations))
            if not held and not c.allow_missing_revocation_list and not bent("M-9-2c"):
                # The root-signed list, whatever issuer lists are held (§9 step 2).
                raise Reject("no_revocation_list")
            for signer, rl in self.revocations.items():
                if signer is not None and bent("M-9-2e"):
                    continue  # a stranger's verifier that looks at the root's list only
                if now >= rl.expires_at + list_skew + one("M-9-2d") - one("M-9-2j"):
                    raise Reject("revocation_list_expired")

        if bent("M-9-2h"):
            revocation()  # the revocation lists before the trust list's expiry
        if now >= trust.expires_at + list_skew + one("M-9-2b") - one("M-9-2i"):
            raise Reject("trust_list_expired")
        revocation()

    def _step_2G(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        if not self.config.gm_only:
            return
        # A printed code has no device key: only its identity digest is checked (§4.6).
        if not code.printed and code.device_alg != primitives.SM2 and not bent("M-4.6-2c"):
            raise Reject("unsupported_algorithm", "a GM-only verifier accepts SM2 device keys only")
        identity = state["claims"].get("identity")
        if identity is not None and identity["digest"] != "sm3" and not bent("M-4.6-2e"):
            raise Reject("unsupported_algorithm", "a GM-only verifier accepts SM3 identity commitments only")

    def _step_3(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        if code.printed:
            # §5.1: a scene that does not accept printed codes refuses them here, after
            # the lists and before any issuer key or signature (there is no code window).
            if not bent("M-5.1-3b"):
                self._printed_scene(code)
            return
        c = self.config
        skew = c.skew_secs

        def too_long() -> None:
            if code.validity > c.max_code_validity_secs + one("M-9-3a") - one("M-9-3e"):
                raise Reject("code_validity_too_long")

        def future() -> None:
            if code.issued_at > now + skew + one("M-9-3b") - one("M-9-3f"):
                raise Reject("code_not_yet_valid")

        def expired() -> None:
            if now >= code.issued_at + code.validity + skew + one("M-9-3c") - one("M-9-3g"):
                raise Reject("code_expired")

        for check in [expired, too_long, future] if bent("M-9-3d") else [too_long, future, expired]:
            check()

    def _step_4(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        skew = self.config.skew_secs
        trust = self._trust()

        def kid(card) -> bool:
            if card.kid not in trust.keys:
                if bent("M-9-4a"):
                    return False  # skip this card's other checks
                raise Reject("unknown_issuer_key", f"kid {card.kid}")
            return True

        def alg(card) -> None:
            if trust.keys[card.kid].alg != card.alg and not bent("M-4.1-3a"):
                raise Reject("algorithm_mismatch", f"kid {card.kid}")

        def key_window(card) -> None:
            key = trust.keys[card.kid]
            key_skew = skew if bent("M-9-4g") else 0
            if now + key_skew < key.not_before - one("M-9-4b") + one("M-9-4l"):
                raise Reject("issuer_key_not_valid", f"kid {card.kid} not yet valid")
            if now - key_skew >= key.not_after + one("M-9-4c") - one("M-9-4m"):
                raise Reject("issuer_key_not_valid", f"kid {card.kid} retired")

        def scope(card) -> None:
            if bent("M-9-4d"):
                return
            for domain in card.domains:
                if domain > 7 and bent("M-9-4h"):
                    continue  # a stranger's verifier that scopes known domains only
                if domain == 7 and bent("M-9-4i"):
                    continue  # ... or that takes guardianship for a mark, not a domain
                if domain not in trust.keys[card.kid].domains:
                    raise Reject("out_of_scope", f"kid {card.kid} may not attest domain {domain}")

        def card_window(card) -> None:
            if now + skew < card.start - one("M-9-4e") + one("M-9-4n"):
                raise Reject("credential_not_yet_valid")
            if now >= card.end + skew + one("M-9-4f") - one("M-9-4o"):
                raise Reject("credential_expired")

        checks = [alg, key_window, scope, card_window]
        if bent("M-9-4k"):
            checks = [alg, card_window, key_window, scope]
        if bent("M-9-4j"):
            # Check by check across the cards, instead of card by card.
            known = [card for card in code.cards if kid(card)]
            for check in checks:
                for card in known:
                    check(card)
            return
        for card in code.cards:
            if kid(card):
                for check in checks:
                    check(card)

    def _step_5(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        wanted: set[tuple[int, bytes]] = set()
        if not bent("M-9-5b") and not (code.printed and bent("M-5.1-4a")):
            wanted.add((2, code.subject))
        if not code.printed and not bent("M-9-5a"):
            wanted.add((3, code.device_key_id()))
        if not bent("M-9-5c"):
            wanted.update((1, code.card_id(card)) for card in code.cards)
        for rl in self.revocations.values():
            entries = rl.entries
            if bent("M-8.2-4a") and rl.signer is not None:
                # A stranger's reading: an issuer's list names only its own cards.
                entries = {e for e in entries if e[0] == 1}
                own = {(1, code.card_id(card)) for card in code.cards if card.kid == rl.signer}
                if wanted & entries & own:
                    raise Reject("revoked")
                continue
            if wanted & entries:
                raise Reject("revoked")

    def _step_6(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        trust = self._trust()

        def issuer() -> None:
            if not bent("M-9-6a"):
                self.check_issuer_signatures(code)

        def device() -> None:
            if code.printed or bent("M-9-6b"):
                return
            if not primitives.verify(code.device_alg, code.device_key, code.code_tbs, code.device_sig):
                raise Reject("bad_device_signature")

        for check in [device, issuer] if bent("M-9-6c") else [issuer, device]:
            check()

    def check_issuer_signatures(self, code: Code) -> None:
        """Every card's issuer signature over its card_tbs (§9 step 6, first half)."""
        trust = self._trust()
        for card in code.cards:
            key = trust.keys.get(card.kid)
            if key is None or not primitives.verify(key.alg, key.key, code.card_tbs(card), card.signature):
                raise Reject("bad_issuer_signature", f"kid {card.kid}")

    def check_cards(self, code: Code, now: int) -> None:
        """What a verifier can check of a stored credential's cards: §9 steps 4 and 6."""
        self._step_4({"code": code}, "", now)
        self.check_issuer_signatures(code)

    def _step_7(self, state: dict, text: str, now: int) -> None:
        self._policy(state["claims"], state["code"], now)

    def _step_8(self, state: dict, text: str, now: int) -> None:
        code: Code = state["code"]
        if code.printed and not bent("M-5.1-5a"):
            return  # no replay check for a printed code (§5.1)
        if bent("M-9-8a"):
            return
        replay_id = code.replay_id()
        expiry = self.replay.get(replay_id)
        if expiry is not None and now < expiry:
            raise Reject("replayed")
        skew = 0 if bent("M-9-8b") else self.config.skew_secs
        if code.printed:
            # Bent M-5.1-5a: a printed code has no code window, so a verifier that
            # replay-checks it remembers it for good (a second showing is `replayed`).
            self.replay[replay_id] = 2**64
            return
        self.replay[replay_id] = code.issued_at + code.validity + skew

    # §11 -------------------------------------------------------------------------

    def _printed_scene(self, code: Code) -> None:
        if code.printed and self.config.scene["kind"] not in PRINTED_SCENES and not bent("M-5.1-3a"):
            raise Reject("policy_unmet", "printed codes only at staffed scenes")

    def _policy(self, claims: dict, code: Code, now: int) -> None:
        scene = self.config.scene
        kind = scene["kind"]
        guardian = "guardian" in claims

        def unmet(why: str) -> Reject:
            return Reject("policy_unmet", why)

        if bent("M-5.1-3b"):
            self._printed_scene(code)  # a stranger's verifier that refuses at the policy step
        if kind == "hospital":
            health = claims.get("health")
            insurance = claims.get("medical_insurance")
            if (health is None or insurance is None) and not bent("M-11-1a"):
                raise unmet("health and medical insurance needed")
            offset = 0 if bent("M-11-1c") else self.config.utc_offset_minutes
            today = local_day(now, offset)
            if health is not None and health["valid_until_day"] < today - one("M-11-1b") + one("M-11-1e"):
                raise unmet("health status out of date")
            status = (insurance or {}).get("status")
            if status is None and bent("M-11-6c"):
                status = "active"  # a withheld status read as a default
            if insurance is not None and status != "active" and not bent("M-11-1d"):
                raise unmet("insurance not active")
        elif kind == "scenic_spot":
            tourism = claims.get("tourism")
            if tourism is None:
                raise unmet("tourism needed")
            offset = self.config.utc_offset_minutes if bent("M-11-2d") else scene["utc_offset_minutes"]
            today = local_day(now, offset)
            ok = False
            for entry in tourism["entries"]:
                if entry["site"] != scene.get("site") and not bent("M-11-2a"):
                    continue
                if entry["kind"] == "pass" and entry["day"] >= today - one("M-11-2b") + one("M-11-2e"):
                    ok = True
                if entry["kind"] == "reservation" and (
                    entry["day"] == today or (bent("M-11-2c") and entry["day"] in (today - 1, today + 1))
                ):
                    ok = True
            if not ok:
                raise unmet("no pass or reservation for this site today")
        elif kind in ("parking", "metro_gate"):
            transit = claims.get("transit")
            if transit is None:
                raise unmet("transit needed")
            account = transit.get("account")
            if kind == "parking":
                if account != "active" and not bent("M-11-3a"):
                    raise unmet("account not active")
                if guardian and not bent("M-11-3c"):
                    raise unmet("a guardian's code cannot pay for parking")
                payment = transit.get("vehicle_payment")
                if payment is None and bent("M-11-6b"):
                    payment = False  # a withheld field read as "vehicle payment off"
                if payment is not True and not bent("M-11-3b"):
                    raise unmet("vehicle payment not enabled")
            else:
                if account is None and bent("M-11-6d"):
                    account = "active"  # a withheld account read as in good standing
                if account != "active" and not bent("M-11-4a"):
                    raise unmet("account not active")
                fare = transit.get("fare_class")
                if fare is None and bent("M-11-6a"):
                    fare = "standard"  # a withheld field read as "standard fare"
                if fare is None and not bent("M-11-4b"):
                    raise unmet("fare class withheld")
        elif kind == "hotel_check_in":
            if "identity" not in claims and not bent("M-11-5a"):
                raise unmet("identity needed")
