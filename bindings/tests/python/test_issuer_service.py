"""The Python holder flows against the running issuing service (citycode-issuer, the
binary) over loopback HTTP: a HolderBatch filled and refilled from the service, a retry
that gets the same instances, and a guardian's wallet with a dependant's code. The codes
verify under the lists the service publishes."""

import base64
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

import citycode as cc

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(os.environ.get("CITYCODE_ISSUER_BIN", ROOT / "target" / "debug" / "citycode-issuer"))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Service:
    def __init__(self, base, directory):
        self.base, self.dir = base, directory

    def token(self, sub, role=None):
        args = [str(BIN), "trial-token", self.dir, "--sub", sub] + (["--role", role] if role else [])
        return subprocess.check_output(args).decode().strip()

    def call(self, method, path, token, body=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def batch(self, token, keys, configuration="citycode", **extra):
        status, nonce = self.call("POST", "/v1/nonce", token)
        assert status == 200, nonce
        challenge = unb64(nonce["c_nonce"])
        body = {"credential_configuration_id": configuration, "c_nonce": nonce["c_nonce"],
                "proofs": {"citycode_key_request": [b64(k.key_request(challenge)) for k in keys]}, **extra}
        return body, self.call("POST", "/v1/credential", token, body)

    def verifier(self, scene):
        root = json.loads(pathlib.Path(self.dir, "root.json").read_text())
        v = cc.Verifier(cc.KeyAlgorithm.ED25519, bytes.fromhex(root["public_key"]), scene)
        public = pathlib.Path(self.dir, "public")
        v.load_trust_list((public / "trust-list.bin").read_bytes())
        v.load_revocation_list((public / "revocation-root.bin").read_bytes())
        return v


@pytest.fixture(scope="module")
def service():
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: scripts/test-python.sh builds it (cargo build -p citycode-issuer)")
    directory = tempfile.mkdtemp(prefix="citycode-issuer-py-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, CITYCODE_LISTEN=f"127.0.0.1:{port}")
    proc = subprocess.Popen([str(BIN), "trial", directory], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/livez", timeout=1).read()
            break
        except OSError:
            assert time.time() < deadline and proc.poll() is None, "the service did not start"
            time.sleep(0.1)
    svc = Service(base, directory)
    today = int(time.time()) // 86400
    rows = [{"ref": f"R{i}", "login": f"py-{i}",
             "claims": {"health": {"status": "green", "valid_until_day": today + 30},
                        "transit": {"account": "active", "fare_class": "standard", "vehicle_payment": True}},
             "identity": {"name": "王秀英", "number": f"11010519491231000{i}"}} for i in range(3)]
    status, body = svc.call("POST", "/v1/admin/residents", svc.token("admin", "admin"),
                            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode(), "application/x-ndjson")
    assert status == 200, body
    yield svc
    proc.terminate()
    proc.wait(timeout=15)


def test_a_holder_batch_fills_and_refills_from_the_service(service):
    token = service.token("py-0")
    keys = [cc.SigningKey.generate(cc.KeyAlgorithm.ED25519) for _ in range(3)]
    body, (status, issued) = service.batch(token, keys, device="py-phone", request_id="fill-1")
    assert status == 200, issued
    # A retry (the response was lost) gets the same instances, nothing new.
    assert service.call("POST", "/v1/credential", token, body) == (200, issued)
    batch = cc.HolderBatch(cc.BatchReuse.ONCE_ONLY(), refill_below=2)
    for instance, key in zip(issued["credentials"], keys):
        batch.add_with_key(instance["credential"], key)
    assert service.call("POST", "/v1/admin/publish", service.token("admin", "admin"))[0] == 200
    now = int(time.time())
    verifier = service.verifier(cc.Scene.METRO_GATE())
    subjects = set()
    for n in range(3):
        decision = verifier.verify(batch.present_for_scene(cc.Scene.METRO_GATE(), now_unix=now + n).text, now + n)
        assert decision.is_accept(), decision
        subjects.add(decision.subject)
    assert len(subjects) == 3 and batch.needs_refill()
    # Refill: a new challenge, new keys.
    more = [cc.SigningKey.generate(cc.KeyAlgorithm.ED25519) for _ in range(2)]
    _, (status, refill) = service.batch(token, more, device="py-phone")
    assert status == 200, refill
    for instance, key in zip(refill["credentials"], more):
        batch.add_with_key(instance["credential"], key)
    assert batch.remaining() == 2
    assert service.call("GET", "/v1/me", token)[1]["instances_outstanding"] == 5
    # The same challenge twice with other keys: refused with the service's reason.
    other = cc.SigningKey.generate(cc.KeyAlgorithm.ED25519).key_request(unb64(body["c_nonce"]))
    reused = dict(body, proofs={"citycode_key_request": [b64(other)]}, request_id="fill-2")
    status, refused = service.call("POST", "/v1/credential", token, reused)
    assert (status, refused["error"], refused["reason"]) == (400, "invalid_nonce", "challenge_used")
    # The phone is lost: its instances are revoked and, once published, refused.
    status, revoked = service.call("POST", "/v1/me/devices/py-phone/revoke", token)
    assert (status, revoked["revoked_instances"]) == (200, 5)
    assert service.call("POST", "/v1/admin/publish", service.token("admin", "admin"))[0] == 200
    refused = service.verifier(cc.Scene.METRO_GATE()).verify(
        batch.present_for_scene(cc.Scene.METRO_GATE(), now_unix=now).text, now)
    assert refused.is_reject() and refused.reason == "revoked"


def test_a_guardian_wallet_holds_a_dependants_code_from_the_service(service):
    guardian, dependant = service.token("py-1"), service.token("py-2")
    status, invitation = service.call("POST", "/v1/guardianships/invitations", dependant, {"relation": "child"})
    assert status == 200, invitation
    status, g = service.call("POST", "/v1/guardianships", guardian, {"invitation": invitation["invitation"]})
    assert status == 200 and g["role"] == "guardian", g
    phone = cc.SigningKey.generate(cc.KeyAlgorithm.ED25519)
    _, (status, issued) = service.batch(guardian, [phone], "citycode_guardian", guardianship_id=g["id"])
    assert status == 200, issued
    wallet = cc.GuardianWallet.with_key(phone)
    wallet.add_dependant("mother", issued["credentials"][0]["credential"])
    assert service.call("POST", "/v1/admin/publish", service.token("admin", "admin"))[0] == 200
    now = int(time.time())
    gate = service.verifier(cc.Scene.METRO_GATE())
    shown = gate.verify(wallet.present_for_scene(cc.Scene.METRO_GATE(), dependant="mother", now_unix=now).text, now)
    assert shown.is_accept(), shown
    assert shown.claims.guardian == cc.Relation.CHILD
    # The dependant ends it; published, the guardian's code is refused.
    status, ended = service.call("DELETE", f"/v1/guardianships/{g['id']}", dependant)
    assert (status, ended["revoked_instances"]) == (200, 1)
    assert service.call("POST", "/v1/admin/publish", service.token("admin", "admin"))[0] == 200
    refused = service.verifier(cc.Scene.METRO_GATE()).verify(
        wallet.present_for_scene(cc.Scene.METRO_GATE(), dependant="mother", now_unix=now + 1).text, now + 1)
    assert refused.is_reject() and refused.reason == "revoked"
