//! What checking a device key attestation costs an issuer: the accepted Android (TEE)
//! and App Attest cases of `test-vectors/attestation.json`, parsed from their JSON entry
//! and decided under `require`, and a key request verified for comparison.
//! `cargo bench -p citycode-attest --bench attest`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;

use citycode::{Algorithm, KeyPair, KeyRequest, PublicKey};
use citycode_attest::{AttestationContext, AttestationPolicy, Root, Roots, StatusList};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

fn benches(c: &mut Criterion) {
    let file: Value = serde_json::from_str(include_str!("../../test-vectors/attestation.json")).unwrap();
    let challenge = citycode::text::unhex(file["challenge"].as_str().unwrap()).unwrap();
    let root = |n: &str| {
        Root::from_der(n, &citycode::text::decode_base64url(file["roots"][n].as_str().unwrap()).unwrap()).unwrap()
    };
    let roots = Roots { android: vec![root("synthetic-root")], apple: vec![root("synthetic-apple-root")] };
    let none = StatusList::empty();
    for name in ["android_accept_tee", "apple_accept"] {
        let case = file["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
        let policy: AttestationPolicy = serde_json::from_value(case["policy"].clone()).unwrap();
        let key = PublicKey::from_bytes(
            Algorithm::from_id(case["device_alg"].as_u64().unwrap() as u8).unwrap(),
            &citycode::text::unhex(case["device_key"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let ctx = AttestationContext {
            challenge: &challenge,
            roots: &roots,
            revocations: &none,
            now: case["now"].as_u64().unwrap(),
        };
        let entry = case["entry"].clone();
        // A bench that measured a refusal would mislead: check the case is accepted.
        assert!(policy.decide_key(Some(&entry), &ctx, &key).unwrap().verdict().is_some());
        c.bench_function(&format!("attestation/{name}"), |b| {
            b.iter(|| policy.decide_key(Some(black_box(&entry)), &ctx, &key).unwrap())
        });
    }
    let device = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[3; 32]).unwrap();
    let request = KeyRequest::sign(&device, &challenge).unwrap().to_bytes();
    c.bench_function("attestation/key_request_p256_for_comparison", |b| {
        b.iter(|| KeyRequest::from_bytes(black_box(&request)).unwrap().verify(&challenge).unwrap())
    });
}

criterion_group!(group, benches);
criterion_main!(group);
