//! Runs every case of test-vectors/ through the Rust verifier, checks that the
//! generator reproduces the committed files byte for byte, and that every single-bit
//! flip of every accepted code is rejected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::text::{decode_text, encode_text};
use test_vectors_gen as gen_vectors;
use test_vectors_gen::{Case, VectorFile, outcome, run_case};

fn committed() -> VectorFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/codes.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs one case as [`run_case`] does, but verifies `input` through the batch API, in a
/// batch of one: the batch path must give every case's result too.
#[cfg(feature = "batch")]
fn run_case_batched(case: &Case) -> Result<citycode::Accepted, citycode::Rejection> {
    gen_vectors::prepared_verifier(case)?
        .verify_batch_at(&[case.input.as_str()], case.now)
        .pop()
        .unwrap_or_else(|| Err(citycode::Rejection::new(citycode::Reason::Malformed, "an empty batch result")))
}

#[test]
fn every_case_gives_its_expected_result() {
    let file = committed();
    assert!(file.cases.len() >= 50);
    for case in &file.cases {
        let result = run_case(case);
        assert_eq!(outcome(&result), case.expected, "case {}: {result:?}", case.name);
        #[cfg(feature = "batch")]
        {
            let batched = run_case_batched(case);
            assert_eq!(outcome(&batched), case.expected, "case {} through the batch API: {batched:?}", case.name);
            assert_eq!(batched.ok().map(|a| a.claims), result.as_ref().ok().map(|a| a.claims.clone()));
        }
        if let Ok(accepted) = result {
            assert_eq!(Some(&accepted.claims), case.claims.as_ref(), "case {} claims", case.name);
            assert_eq!(Some(accepted.subject.to_hex()), case.subject, "case {} subject", case.name);
            assert_eq!(accepted.revocation_checked, case.revocation_checked.unwrap_or(true), "case {}", case.name);
            assert_eq!(accepted.printed, case.printed.unwrap_or(false), "case {} printed", case.name);
            assert_eq!(accepted.replay_checked, case.replay_checked.unwrap_or(true), "case {} replay", case.name);
        } else {
            assert!(case.claims.is_none(), "case {} lists claims but is rejected", case.name);
        }
    }
}

/// Every case again with its P-256 signatures checked by a host (the `p256` crate here,
/// WebCrypto in the WASM packages, whose tests do the same): the same verdict.
#[test]
fn every_case_gives_its_result_with_p256_checked_by_the_host() {
    use p256::ecdsa::signature::Verifier as _;
    let host = |c: &citycode::P256Check| {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&c.public_key).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&c.signature).unwrap();
        key.verify(&c.message, &sig).is_ok()
    };
    let (mut asked, mut refused) = (0, 0);
    for case in &committed().cases {
        let result = gen_vectors::prepared_verifier(case).and_then(|v| {
            // A printed code has no device key and no host check: verified as it is.
            if citycode::text::decode_text(&case.input).is_ok_and(|b| citycode::PrintedCode::is_printed(&b)) {
                return v.verify_at(&case.input, case.now);
            }
            let code = citycode::UnverifiedCode::from_text(&case.input)?;
            let checks = v.p256_checks(&code);
            let listed = checks.len();
            let verified: Vec<_> = checks.into_iter().filter(|c| host(c)).collect();
            asked += listed;
            refused += listed - verified.len();
            v.verify_code_host_checked(code.clone(), case.now, &verified)
        });
        assert_eq!(outcome(&result), case.expected, "case {} with a host: {result:?}", case.name);
    }
    // The vectors give the host valid signatures and forged ones.
    assert!(asked >= 8 && refused >= 2, "{asked} asked, {refused} refused");
}

/// test-vectors/key-requests.json: each key request accepted or refused as listed.
#[test]
fn every_key_request_gives_its_expected_result() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/key-requests.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let challenge = citycode::text::unhex(case["challenge"].as_str().unwrap()).unwrap();
        let got = citycode::KeyRequest::from_base64url(case["key_request"].as_str().unwrap())
            .and_then(|r| r.verify(&challenge).map(|_| ()))
            .map_or_else(|r| r.reason.code().to_string(), |()| "accept".to_string());
        assert_eq!(got, case["expected"].as_str().unwrap(), "{}", case["name"]);
    }
}

/// test-vectors/configs.json: each verifier configuration built or refused as listed.
#[test]
fn every_configuration_gives_its_expected_result() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/configs.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.iter().filter(|c| c["expected"] != "accept").count() >= 5);
    for case in cases {
        assert_eq!(
            gen_vectors::config_outcome(&case["verifier"]),
            case["expected"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn at_least_twenty_distinct_negative_kinds() {
    let file = committed();
    let mut kinds: Vec<&str> = file.cases.iter().map(|c| c.expected.as_str()).filter(|e| *e != "accept").collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert!(kinds.len() >= 20, "{kinds:?}");
    for k in kinds {
        assert!(citycode::Reason::from_code(k).is_some(), "unknown reason {k}");
    }
}

#[test]
fn regenerating_yields_the_committed_files() {
    for (name, content) in gen_vectors::render().unwrap() {
        let path = format!("{}/../test-vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        let on_disk = std::fs::read(&path).unwrap();
        assert!(
            on_disk == content,
            "{name} differs from the generator's output: run `cargo run --example gen_vectors`"
        );
    }
}

#[test]
fn the_published_directories_apply_in_order_and_refuse_going_back() {
    use citycode::distribution::DirectorySource;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/lists");
    let city = citycode::demo::DemoCity::new().unwrap();
    let mut v = citycode::Verifier::new(city.root.public_key(), citycode::Scene::MetroGate);
    assert_eq!(v.update_from(&mut DirectorySource(dir.join("1"))).unwrap().loaded.len(), 2);
    let code = |n: u8| {
        let opts = citycode::PresentOptions { validity_secs: 60, nonce: Some([n, 3, 3, 3]) };
        citycode::present(&city.credential, &city.device, &[4], citycode::demo::NOW, opts).unwrap().to_text()
    };
    assert!(v.verify_at(&code(1), citycode::demo::NOW).is_ok());
    assert_eq!(v.update_from(&mut DirectorySource(dir.join("2"))).unwrap().loaded, vec!["revocation-root.bin"]);
    assert_eq!(v.verify_at(&code(2), citycode::demo::NOW).unwrap_err().reason, citycode::Reason::Revoked);
    let back = v.update_from(&mut DirectorySource(dir.join("1"))).unwrap_err();
    assert_eq!(back.reason, citycode::Reason::ListStatusRollback);
}

#[test]
fn every_single_bit_flip_of_every_accepted_code_is_rejected() {
    let file = committed();
    let accepted: Vec<&Case> = file.cases.iter().filter(|c| c.expected == "accept").collect();
    assert!(accepted.len() >= 10);
    let mut tried = 0usize;
    for case in accepted {
        let bytes = decode_text(&case.input).unwrap();
        // One verifier per case: a rejected code leaves no replay state behind, so every
        // flip meets the verifier the case describes.
        let v = gen_vectors::prepared_verifier(case).unwrap();
        for i in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            let result = v.verify_at(&encode_text(&flipped), case.now);
            assert!(result.is_err(), "case {} bit {i} still verifies", case.name);
            tried += 1;
        }
        assert!(
            v.verify_at(&case.input, case.now).is_ok(),
            "case {}: the verifier still accepts the original",
            case.name
        );
    }
    assert!(tried > 10_000);
}

#[test]
fn sizes_meet_the_qr_targets() {
    let file = committed();
    let version = |name: &str| file.cases.iter().find(|c| c.name == name).and_then(|c| c.qr_version).unwrap();
    for one in [
        "accept_hospital",
        "accept_scenic_spot_reservation",
        "accept_parking",
        "accept_metro_gate",
        "accept_metro_gate_p256_device",
    ] {
        assert!(version(one) <= 10, "{one} is version {}", version(one));
    }
    assert!(version("accept_all_four_domains") <= 11);
}

/// test-vectors/sm2.json: the standards' SM3 samples and the SM2 example and negative
/// cases, through the public API.
#[test]
fn sm2_and_sm3_primitives_match_the_standards_and_refuse_the_negative_cases() {
    use citycode::keys::{Algorithm, PublicKey};
    use citycode::text::{hex, unhex};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/sm2.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().to_string();
    let digests = file["sm3"].as_array().unwrap();
    assert!(digests.iter().any(|d| d["digest"] == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));
    for d in digests {
        let got = citycode::digest::digest(Algorithm::Sm2Sm3, &unhex(&text(d, "message")).unwrap()).unwrap();
        assert_eq!(hex(&got), text(d, "digest"), "{}", text(d, "name"));
    }
    let cases = file["signatures"].as_array().unwrap();
    assert!(cases.iter().filter(|c| c["valid"] == true).count() >= 2);
    assert!(cases.iter().filter(|c| c["valid"] == false).count() >= 10);
    for c in cases {
        let key = PublicKey::from_sm2_sec1(&unhex(&text(c, "public_key")).unwrap());
        assert_eq!(key.is_ok(), c["key_valid"] == true, "{}", text(c, "name"));
        let verified =
            key.is_ok_and(|k| k.verify(&unhex(&text(c, "message")).unwrap(), &unhex(&text(c, "signature")).unwrap()));
        assert_eq!(verified, c["valid"] == true, "{}", text(c, "name"));
    }
}

/// Every poll of every case of test-vectors/publications.json (SPEC.md §8.4) gives its
/// expected outcome: bad publications refused with their reason, good ones applied.
#[test]
fn every_publication_case_gives_its_expected_results() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/publications.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    let mut refused = 0;
    for case in cases {
        let want: Vec<String> =
            case["polls"].as_array().unwrap().iter().map(|p| p["expected"].as_str().unwrap().to_string()).collect();
        refused += want.iter().filter(|e| *e != "accept").count();
        assert_eq!(gen_vectors::run_publication_case(case), want, "case {}", case["name"]);
    }
    assert!(refused >= 10, "publications.json must hold refusals");
}
