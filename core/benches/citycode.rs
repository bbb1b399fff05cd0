//! criterion benches: issue, present, text encoding, QR render, verify (cold, with a
//! warm credential cache), batches of 64 codes one by one against batched, and one
//! code verified and presented with every key Ed25519, P-256 or SM2.
//! `cargo bench -p citycode --bench citycode`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;

use citycode::demo::{self, DemoCity};
use citycode::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn holders(city: &DemoCity, n: u8) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (device, cred) = city.resident(i).unwrap();
            present(&cred, &device, &[4], demo::NOW, PresentOptions::default()).unwrap().to_text()
        })
        .collect()
}

/// A metro-gate verifier with the city's lists. Every bench first checks that its
/// verifier accepts its codes: a verifier that refuses early (no revocation list, say)
/// would measure a rejection, not a verification.
fn verifier(city: &DemoCity, cache: usize) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_credential_cache(cache);
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// A fresh verifier like [`verifier`] accepts `text`.
fn assert_accepted(city: &DemoCity, text: &str) {
    let accepted = verifier(city, 0).verify_at(text, demo::NOW);
    assert!(accepted.is_ok(), "{accepted:?}");
}

fn benches(c: &mut Criterion) {
    let city = DemoCity::new().unwrap();
    let req = CredentialRequest {
        device_key: citycode::ProvenKey::by_signing(&city.device).unwrap(),
        subject: city.credential.subject,
        valid_from_day: demo::TODAY,
        valid_days: 7,
        claims: demo::resident_claims(),
        layout: CardLayout::Standard,
    };
    c.bench_function("issue_standard_9_cards", |b| b.iter(|| city.issuer.issue(black_box(&req)).unwrap()));
    // A day of unlinkable codes for one holder (SPEC.md §13): ten instances, each key's
    // request checked, each instance's nine cards signed.
    let keys: Vec<citycode::KeyPair> =
        (0..10).map(|i| demo::key(citycode::Algorithm::Ed25519, 0x90 + i).unwrap()).collect();
    let challenge = citycode::request::random_challenge().unwrap();
    let requests: Vec<citycode::KeyRequest> =
        keys.iter().map(|k| citycode::KeyRequest::sign(k, &challenge).unwrap()).collect();
    c.bench_function("issue_batch_of_10_with_key_requests", |b| {
        b.iter(|| {
            let proven: Vec<citycode::ProvenKey> =
                requests.iter().map(|r| r.verify(black_box(&challenge)).unwrap()).collect();
            city.issuer.issue_batch(&req, None, &proven).unwrap()
        })
    });
    let opts = PresentOptions { validity_secs: 60, nonce: Some([1, 2, 3, 4]) };
    c.bench_function("present_one_domain", |b| {
        b.iter(|| present(black_box(&city.credential), &city.device, &[4], demo::NOW, opts).unwrap())
    });
    c.bench_function("ed25519_sign_one", |b| b.iter(|| city.device.sign(black_box(b"a 200-byte message....."))));
    let code = present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap();
    c.bench_function("encode_text", |b| b.iter(|| black_box(&code).to_text()));
    let text = code.to_text();
    c.bench_function("qr_render_matrix", |b| b.iter(|| Qr::new(black_box(&text)).unwrap()));

    // Verify: a code from the same holder repeatedly (rejected as replayed after the
    // first, which is the last check, so every iteration does all the work).
    assert_accepted(&city, &text);
    let cold = verifier(&city, 0);
    c.bench_function("verify_cold", |b| b.iter(|| cold.verify_at(black_box(&text), demo::NOW)));
    let warm = verifier(&city, 4096);
    c.bench_function("verify_warm_credential_cache", |b| b.iter(|| warm.verify_at(black_box(&text), demo::NOW)));

    let codes = holders(&city, 64);
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    for t in &refs {
        assert_accepted(&city, t);
    }
    let mut g = c.benchmark_group("verify_64_codes");
    g.throughput(Throughput::Elements(64));
    // One verifier each, no credential cache: after the first round every code is
    // reported replayed, which is the last check, so each round does all the work.
    let single = verifier(&city, 0);
    g.bench_function("one_by_one", |b| {
        b.iter(|| refs.iter().map(|t| single.verify_at(t, demo::NOW).is_err()).filter(|e| *e).count())
    });
    let batched = verifier(&city, 0);
    g.bench_function("batched", |b| {
        b.iter(|| batched.verify_batch_at(&refs, demo::NOW).iter().filter(|r| r.is_err()).count())
    });
    g.finish();

    // The same metro code in three cities whose root, issuer and device keys are all
    // Ed25519, all P-256, or all SM2 (with SM3 digests): verify (no credential cache,
    // so both signatures every time) and present (one device signature).
    let mut g = c.benchmark_group("by_algorithm");
    for alg in Algorithm::ALL {
        let city = DemoCity::with_algorithm(alg).unwrap();
        let text = present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text();
        assert_accepted(&city, &text);
        let v = verifier(&city, 0);
        g.bench_function(format!("verify/{alg}"), |b| b.iter(|| v.verify_at(black_box(&text), demo::NOW)));
        g.bench_function(format!("present/{alg}"), |b| {
            b.iter(|| present(black_box(&city.credential), &city.device, &[4], demo::NOW, opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(name = all; config = Criterion::default().sample_size(20); targets = benches);
criterion_main!(all);
