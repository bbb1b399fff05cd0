"""A minimal verifier: a backend or kiosk that checks a scanned code.

python3 examples/python/verifier.py  (after scripts/test-python.sh built the binding,
with PYTHONPATH pointing at it; the test suite runs it)."""
import json
import os
import sys

import citycode as cc

vectors = json.load(open(os.path.join(os.path.dirname(__file__), "../../test-vectors/codes.json")))
case = next(c for c in vectors["cases"] if c["name"] == "accept_hospital")
setup = case["verifier"]

verifier = cc.Verifier(cc.KeyAlgorithm.ED25519, bytes.fromhex(setup["root_key"]), cc.Scene.HOSPITAL())
verifier.load_trust_list(cc.base64url_decode(setup["trust_lists"][0]))
for revocations in setup["revocation_lists"]:  # without one, every code is refused
    verifier.load_revocation_list(cc.base64url_decode(revocations))
decision = verifier.verify(case["input"], case["now"])
if decision.is_accept():
    print("ACCEPT", cc.claims_json(decision.claims))
else:
    print("REJECT", decision.reason, decision.detail)
    sys.exit(1)
