"""A minimal holder: a device key, a credential from the issuer, a code for the scene.

Runs offline; the issuer and trust list are made here so the example stands alone."""
import time

import citycode as cc

now = int(time.time())
today = now // 86400

# Issuer side (normally the city platform's backend).
root = cc.SigningKey.generate(cc.KeyAlgorithm.ED25519)
issuer_key = cc.SigningKey.generate(cc.KeyAlgorithm.ED25519)
issuer = cc.Issuer(1, issuer_key, [1, 2, 3, 4, 5])

# Holder side: a device key (on a phone: the platform keystore behind cc.DeviceSigner).
device = cc.SigningKey.generate(cc.KeyAlgorithm.ED25519)
claims = cc.Claims(transit=cc.Transit(account=cc.AccountStatus.ACTIVE, fare_class=cc.FareClass.STANDARD,
                                      vehicle_payment=True))
# Issuance: the issuer's fresh challenge, the phone's key request over it (proof that
# it holds the key, SPEC.md §4.7), then the credential.
challenge = cc.random_challenge()
request = device.key_request(challenge)
credential = issuer.issue(request, challenge, cc.random_subject(), today, 7, claims)
holder = cc.Holder.with_key(credential, device)

code = holder.present_for_scene(cc.Scene.METRO_GATE())
qr = cc.render_qr(code.text)
print(f"{code.text[:40]}... QR version {qr.version}, refresh in {code.refresh_in_secs} s")

# A gate that trusts this issuer accepts it.
trust = cc.sign_trust_list(root, 1, now - 60, now + 86400, [cc.TrustedIssuer(
    kid=1, algorithm=cc.KeyAlgorithm.ED25519, public_key=issuer_key.public_key(),
    not_before=now - 60, not_after=now + 86400, domains=[1, 2, 3, 4, 5])])
revocations = cc.sign_revocation_list(root, None, 1, now - 60, now + 3600, [])
gate = cc.Verifier(cc.KeyAlgorithm.ED25519, root.public_key(), cc.Scene.METRO_GATE())
gate.load_trust_list(trust)
gate.load_revocation_list(revocations)  # without one, every code is refused
decision = gate.verify(code.text)
print("gate:", "ACCEPT" if decision.is_accept() else f"REJECT {decision.reason}")
if not decision.is_accept():
    raise SystemExit(1)
