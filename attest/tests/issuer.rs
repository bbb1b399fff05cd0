//! The issuer's path end to end: key requests signed over the issuer's challenge and
//! verified (SPEC.md §4.7), then the batch's attestations decided under each mode
//! (SPEC.md §4.10.2), with the chains of the vectors' generator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/vectors_gen.rs"]
mod vectors_gen;

use citycode::{Algorithm, KeyPair, KeyRequest, ProvenKey};
use citycode_attest::{
    AttestationContext, AttestationMode, AttestationPolicy, AttestationRecord, KeyProtection, Root, Roots, StatusList,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vectors_gen::*;

struct Setup {
    challenge: Vec<u8>,
    roots: Roots,
    keys: Vec<ProvenKey>,
    request: Value,
}

/// Two device keys, each proven by a key request over the challenge; the first
/// attested by a synthetic TEE chain, the second by nothing.
fn setup() -> Setup {
    let pki = pki();
    let challenge = Sha256::digest(b"batch challenge").to_vec();
    let secret: [u8; 32] = Sha256::digest(b"citycode attestation vectors/device key").into();
    let device = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &secret).unwrap();
    let second = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let requests = [KeyRequest::sign(&device, &challenge).unwrap(), KeyRequest::sign(&second, &challenge).unwrap()];
    let keys: Vec<ProvenKey> = requests.iter().map(|r| r.verify(&challenge).unwrap()).collect();
    let kd = Kd::new(1, &citycode_attest::binding::android_challenge(&challenge).unwrap());
    let dev_key = Key::P256(p256::ecdsa::SigningKey::from_slice(&secret).unwrap());
    let chain = [leaf(&dev_key, &kd.der(), &pki.attest, vec![]), pki.attest_cert.clone(), pki.inter_cert.clone()];
    let request = json!({
        "key_requests": requests.iter().map(KeyRequest::to_base64url).collect::<Vec<_>>(),
        "key_attestations": [{"format": "android_key", "chain": chain.iter().map(|c| b64u(c)).collect::<Vec<_>>()}, null],
    });
    let roots = Roots { android: vec![Root::from_der("synthetic-root", &pki.root_cert).unwrap()], apple: vec![] };
    Setup { challenge, roots, keys, request }
}

#[test]
fn each_mode_decides_a_batch_as_spec_says() {
    let s = setup();
    let none = StatusList::empty();
    let ctx = AttestationContext { challenge: &s.challenge, roots: &s.roots, revocations: &none, now: NOW };
    // Require: the unattested second key refuses the whole batch.
    let require = AttestationPolicy::new(AttestationMode::Require);
    assert_eq!(require.decide_batch(&s.request, &s.keys, &ctx).unwrap_err().code(), "attestation_required");
    // Record: the first key attested in a TEE, the second recorded as absent.
    let record = AttestationPolicy::new(AttestationMode::Record);
    let records = record.decide_batch(&s.request, &s.keys, &ctx).unwrap();
    assert_eq!(records.len(), 2);
    let verdict = records[0].verdict().expect("attested");
    assert_eq!(verdict.protection, KeyProtection::TrustedEnvironment);
    assert_eq!(verdict.root, "synthetic-root");
    assert_eq!(records[1], AttestationRecord::Absent);
    // Off: nothing read.
    let off = AttestationPolicy::new(AttestationMode::Off);
    assert_eq!(off.decide_batch(&s.request, &s.keys, &ctx).unwrap(), vec![AttestationRecord::Off; 2]);
    // The attestation of the first key does not serve the second (positional).
    let mut swapped = s.request.clone();
    swapped["key_attestations"] = json!([null, s.request["key_attestations"][0]]);
    let records = record.decide_batch(&swapped, &s.keys, &ctx).unwrap();
    assert_eq!(records[0], AttestationRecord::Absent);
    assert_eq!(records[1], AttestationRecord::Refused { code: "attestation_key_mismatch".into() });
    // Another session's challenge: the attestation was made for this one.
    let other = Sha256::digest(b"another challenge").to_vec();
    let ctx_other = AttestationContext { challenge: &other, ..ctx };
    assert_eq!(
        record.decide(Some(&s.request["key_attestations"][0]), &ctx_other, &s.keys[0]).unwrap(),
        AttestationRecord::Refused { code: "attestation_challenge".into() }
    );
}

#[test]
fn a_malformed_key_attestations_field_refuses_or_is_recorded() {
    let s = setup();
    let none = StatusList::empty();
    let ctx = AttestationContext { challenge: &s.challenge, roots: &s.roots, revocations: &none, now: NOW };
    let require = AttestationPolicy::new(AttestationMode::Require);
    let record = AttestationPolicy::new(AttestationMode::Record);
    for bad in [json!([null]), json!({"format": "android_key"}), json!("x"), json!([null, null, null])] {
        let mut r = s.request.clone();
        r["key_attestations"] = bad;
        assert_eq!(require.decide_batch(&r, &s.keys, &ctx).unwrap_err().code(), "attestation_malformed");
        assert_eq!(
            record.decide_batch(&r, &s.keys, &ctx).unwrap(),
            vec![AttestationRecord::Refused { code: "attestation_malformed".into() }; 2]
        );
    }
    // A request from before attestation (no field at all) is every key absent.
    let mut old = s.request.clone();
    old.as_object_mut().unwrap().remove("key_attestations");
    assert_eq!(record.decide_batch(&old, &s.keys, &ctx).unwrap(), vec![AttestationRecord::Absent; 2]);
    assert_eq!(require.decide_batch(&old, &s.keys, &ctx).unwrap_err().code(), "attestation_required");
}

#[test]
fn records_round_trip_through_json_as_an_issuer_stores_them() {
    let s = setup();
    let none = StatusList::empty();
    let ctx = AttestationContext { challenge: &s.challenge, roots: &s.roots, revocations: &none, now: NOW };
    let records = AttestationPolicy::new(AttestationMode::Record).decide_batch(&s.request, &s.keys, &ctx).unwrap();
    for r in records {
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<AttestationRecord>(&text).unwrap(), r);
    }
}
