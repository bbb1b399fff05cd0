//! `test-vectors/attestation.json`: the file is what the generator writes, byte for
//! byte, and every case gives its expected outcome through the issuer's decision
//! function, as another implementation would run it from the file alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/vectors_gen.rs"]
mod vectors_gen;

use citycode::{Algorithm, PublicKey};
use citycode_attest::{AttestationContext, AttestationPolicy, Root, Roots, StatusList};
use serde_json::{Value, json};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/attestation.json");

fn load() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    citycode::text::unhex(s).unwrap()
}

#[test]
fn the_committed_file_is_what_the_generator_writes() {
    let generated = serde_json::to_string_pretty(&vectors_gen::vectors()).unwrap() + "\n";
    let committed = std::fs::read_to_string(FILE).unwrap();
    assert!(
        generated == committed,
        "test-vectors/attestation.json is stale: cargo run -p citycode-attest --example gen_attestation_vectors"
    );
}

/// The outcome of one case, in the file's terms.
fn run(file: &Value, case: &Value) -> Value {
    let challenge = unhex(file["challenge"].as_str().unwrap());
    let mut roots = Roots::default();
    for name in case["roots"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let der = citycode::text::decode_base64url(file["roots"][name].as_str().unwrap()).unwrap();
        let root = Root::from_der(name, &der).unwrap();
        roots.android.push(root.clone());
        roots.apple.push(root);
    }
    let entries: serde_json::Map<String, Value> = case["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s.as_str().unwrap().to_string(), json!({"status": "REVOKED"})))
        .collect();
    let revocations = StatusList::from_json(&json!({ "entries": entries }).to_string()).unwrap();
    let policy: AttestationPolicy = serde_json::from_value(case["policy"].clone()).unwrap();
    let alg = Algorithm::from_id(case["device_alg"].as_u64().unwrap() as u8).unwrap();
    let key = PublicKey::from_bytes(alg, &unhex(case["device_key"].as_str().unwrap())).unwrap();
    let ctx = AttestationContext {
        challenge: &challenge,
        roots: &roots,
        revocations: &revocations,
        now: case["now"].as_u64().unwrap(),
    };
    let entry = if case["entry"].is_null() { None } else { Some(&case["entry"]) };
    match policy.decide_key(entry, &ctx, &key) {
        Ok(record) => json!({"record": record}),
        Err(e) => json!({"refuse": e.code()}),
    }
}

#[test]
fn every_case_gives_its_expected_outcome() {
    let file = load();
    let cases = file["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let got = run(&file, case);
        if got != case["expected"] {
            failures.push(format!("{}: expected {}, got {}", case["name"], case["expected"], got));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_cases_cover_every_reason_and_each_refusal_is_its_own() {
    let file = load();
    let cases = file["cases"].as_array().unwrap();
    let codes: std::collections::BTreeSet<&str> =
        cases.iter().filter_map(|c| c["expected"]["refuse"].as_str()).collect();
    for code in citycode_attest::AttestationError::CODES {
        assert!(codes.contains(code), "no vector refuses with {code}");
    }
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    // Both outcomes of each boundary: accepted cases exist for both formats, every mode.
    for must in [
        "android_accept_tee",
        "android_accept_strongbox",
        "apple_accept",
        "policy_record_absent",
        "policy_off_ignores_garbage",
    ] {
        assert!(names.contains(must), "{must}");
    }
}

#[test]
fn every_single_bit_flip_of_an_accepted_chain_is_refused() {
    // The accepted TEE chain with one bit flipped in each byte (sampled every 5th byte of
    // each certificate, all four certificates): never accepted.
    let file = load();
    let case = file["cases"].as_array().unwrap().iter().find(|c| c["name"] == "android_accept_tee").unwrap().clone();
    let chain: Vec<String> =
        case["entry"]["chain"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    let mut flips = 0;
    for (ci, cert) in chain.iter().enumerate() {
        let der = citycode::text::decode_base64url(cert).unwrap();
        for i in (0..der.len()).step_by(5) {
            let mut bad = der.clone();
            bad[i] ^= 0x04;
            let mut c = case.clone();
            c["entry"]["chain"][ci] = json!(citycode::text::encode_base64url(&bad));
            let got = run(&file, &c);
            // The last certificate is the root's copy: only its key is read (SPEC.md
            // §4.10.4), so flips elsewhere in it change nothing. Every other byte counts.
            if ci + 1 < chain.len() {
                assert!(got.get("refuse").is_some(), "certificate {ci} byte {i}: {got}");
            }
            flips += 1;
        }
    }
    assert!(flips > 300);
}
