//! The bindings' `Decision` and `HeldList` are core's `Verdict` and `HeldList`, field for
//! field: for every test vector, the decision the bindings' verifier returns, written
//! back field by field, is core's serde JSON of the same verdict (which
//! `Verifier::verify_json` returns), and its held lists are core's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;

use citycode_ffi::{Decision, HeldList, Verifier, base64url_decode, claims_json};
use serde_json::{Value, json};

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/codes.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    vectors["cases"].as_array().unwrap().clone()
}

/// A case's verifier with its lists and `seen` codes, or the reject its setup made.
fn prepare(case: &Value) -> Result<Arc<Verifier>, Value> {
    let setup = &case["verifier"];
    let v = Verifier::from_config_json(setup.to_string()).unwrap();
    let lists = |key: &str| setup[key].as_array().unwrap().iter().map(|l| base64url_decode(l.as_str().unwrap().into()));
    for list in lists("trust_lists") {
        if let Err(e) = v.load_trust_list(list.unwrap()) {
            return Err(json!(e.to_string()));
        }
    }
    for list in lists("revocation_lists") {
        if let Err(e) = v.load_revocation_list(list.unwrap(), case["now"].as_u64()) {
            return Err(json!(e.to_string()));
        }
    }
    for seen in case["seen"].as_array().into_iter().flatten() {
        let d = v.verify(seen["input"].as_str().unwrap().into(), seen["now"].as_u64());
        assert!(matches!(d, Decision::Accept { .. }), "{}: seen code {d:?}", case["name"]);
    }
    Ok(v)
}

/// A decision written back as JSON, field by field. Every field is named (no `..`): a
/// field added to `Decision` does not compile here until the test compares it.
fn decision_json(d: &Decision) -> Value {
    match d {
        Decision::Accept {
            policy,
            claims,
            subject,
            issued_at,
            issuers,
            revocation_checked,
            replay_checked,
            printed,
        } => {
            let claims: Value = serde_json::from_str(&claims_json(claims.clone()).unwrap()).unwrap();
            let mut out = json!({
                "decision": "accept", "policy": policy, "claims": claims, "subject": subject,
                "issued_at": issued_at, "issuers": issuers, "revocation_checked": revocation_checked,
                "replay_checked": replay_checked,
            });
            // Core's JSON leaves `printed` out when false.
            if *printed {
                out["printed"] = json!(true);
            }
            out
        }
        Decision::Reject { reason, detail } => json!({"decision": "reject", "reason": reason, "detail": detail}),
    }
}

fn held_json(held: &[HeldList]) -> Value {
    let each = |h: &HeldList| {
        let HeldList { name, sequence, issued_at, expires_at } = h;
        json!({"name": name, "sequence": sequence, "issued_at": issued_at, "expires_at": expires_at})
    };
    Value::Array(held.iter().map(each).collect())
}

#[test]
fn every_vectors_decision_is_cores_verdict_field_by_field() {
    let (mut compared, mut printed, mut guardian, mut unchecked, mut rejected) = (0, 0, 0, 0, 0);
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        // Two verifiers with the same setup: one answers a Decision, the other core's JSON.
        let (Ok(v), Ok(twin)) = (prepare(&case), prepare(&case)) else { continue };
        let input = case["input"].as_str().unwrap().to_string();
        let now = case["now"].as_u64();
        let decision = v.verify(input.clone(), now);
        let core: Value = serde_json::from_str(&twin.verify_json(input, now)).unwrap();
        assert_eq!(decision_json(&decision), core, "{name}");
        // And core's JSON is the case's expected result.
        match case["expected"].as_str().unwrap() {
            "accept" => {
                assert_eq!(core["claims"], case["claims"], "{name}");
                assert_eq!(core["subject"], case["subject"], "{name}");
                assert_eq!(core.get("printed"), case.get("printed"), "{name}");
            }
            reason => assert_eq!(core["reason"], reason, "{name}"),
        }
        printed += usize::from(core.get("printed").is_some());
        guardian += usize::from(core["claims"].get("guardian").is_some());
        unchecked += usize::from(core["revocation_checked"] == false);
        rejected += usize::from(core["decision"] == "reject");
        // The held lists are core's, field by field.
        assert_eq!(
            held_json(&v.held_lists().unwrap()),
            serde_json::to_value(core_verifier(&case).held_lists()).unwrap()
        );
        compared += 1;
    }
    // Every kind of field was compared: printed codes, guardians, unchecked revocation.
    assert!(compared > 150 && rejected > 100, "{compared} compared, {rejected} rejected");
    assert!(printed > 0 && guardian > 0 && unchecked > 0, "{printed} printed, {guardian} guardian, {unchecked}");
}

/// The case's verifier in core, its lists loaded.
fn core_verifier(case: &Value) -> citycode::Verifier {
    let setup = &case["verifier"];
    let config: citycode::VerifierConfig = serde_json::from_value(setup.clone()).unwrap();
    let mut core = config.build().unwrap();
    for l in setup["trust_lists"].as_array().unwrap() {
        core.load_trust_list(&base64url_decode(l.as_str().unwrap().into()).unwrap()).unwrap();
    }
    for l in setup["revocation_lists"].as_array().unwrap() {
        let bytes = base64url_decode(l.as_str().unwrap().into()).unwrap();
        core.load_revocation_list_at(&bytes, case["now"].as_u64().unwrap()).unwrap();
    }
    core
}

#[test]
fn held_lists_are_named_by_their_published_file() {
    let case = cases().into_iter().find(|c| c["name"] == "accept_metro_gate").unwrap();
    let held = held_json(&prepare(&case).unwrap().held_lists().unwrap());
    assert_eq!(held[0]["name"], "trust-list.bin");
    assert_eq!(held[1]["name"], "revocation-root.bin");
    assert_eq!(held.as_array().unwrap().len(), 2);
}
