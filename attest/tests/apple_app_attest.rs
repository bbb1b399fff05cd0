#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

//! Real App Attest attestations that nobody here made: the two fixtures of the npm
//! package `node-app-attest` 1.0.1 (MIT), a production and a development attestation of
//! the app `V8H6LQ9448.io.uebelacker.AppAttestExample`, whose client data hash is
//! SHA-256 of the fixture's challenge. `scripts/test-attest.sh` downloads the package
//! with npm and runs these tests with `CITYCODE_APP_ATTEST_FIXTURES` set to its
//! `test/fixtures` directory; without it they are ignored (they fail if run without it).

use base64::Engine as _;
use citycode_attest::{AppleAttestation, AttestationError, AttestationMode, AttestationPolicy, Environment, Roots};
use sha2::{Digest, Sha256};

const APP_ID: &str = "V8H6LQ9448.io.uebelacker.AppAttestExample";
/// 2024-06-01T00:00:00Z: inside both credential certificates' validity (2024-02 to 2024-12/2025-01).
const NOW: u64 = 1_717_200_000;

struct Fixture {
    object: Vec<u8>,
    client_data_hash: [u8; 32],
    key_id: String,
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::var("CITYCODE_APP_ATTEST_FIXTURES")
        .expect("CITYCODE_APP_ATTEST_FIXTURES: run scripts/test-attest.sh, which downloads the fixtures");
    let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("fixture file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    let b64 = |k: &str| base64::engine::general_purpose::STANDARD.decode(json[k].as_str().expect(k)).expect(k);
    Fixture {
        object: b64("attestation"),
        client_data_hash: Sha256::digest(b64("challenge")).into(),
        key_id: json["keyId"].as_str().expect("keyId").to_string(),
    }
}

fn policy() -> AttestationPolicy {
    let mut p = AttestationPolicy::new(AttestationMode::Require);
    p.apple_app_ids = vec!["ABCDE12345.other.app".into(), APP_ID.into()];
    p
}

#[test]
#[ignore = "needs the node-app-attest fixtures: scripts/test-attest.sh"]
fn real_production_and_development_attestations_verify_to_apples_root() {
    let roots = Roots::builtin().unwrap();
    for (name, env) in [
        ("attestation-production.json", Environment::Production),
        ("attestation-development.json", Environment::Development),
    ] {
        let f = fixture(name);
        let a = AppleAttestation::parse(&f.object).unwrap();
        let mut p = policy();
        p.allow_apple_development = true;
        let (facts, root) = a.verify_client_data_hash(&f.client_data_hash, &p, &roots.apple, NOW).unwrap();
        assert_eq!(root, "apple-app-attestation-root");
        assert_eq!(facts.app_id, APP_ID);
        assert_eq!(facts.environment, env);
        assert_eq!(facts.key_id, f.key_id, "the key id is SHA-256 of the attested key");
    }
}

#[test]
#[ignore = "needs the node-app-attest fixtures: scripts/test-attest.sh"]
fn real_attestations_are_refused_for_every_broken_condition() {
    let roots = Roots::builtin().unwrap();
    let f = fixture("attestation-production.json");
    let a = AppleAttestation::parse(&f.object).unwrap();
    let p = policy();
    let code = |r: Result<_, AttestationError>| r.map(|_| ()).unwrap_err().code();
    // Another client data hash (another challenge or device key): the nonce differs.
    let mut other = f.client_data_hash;
    other[0] ^= 1;
    assert_eq!(code(a.verify_client_data_hash(&other, &p, &roots.apple, NOW)), "attestation_challenge");
    // An app this issuer does not accept.
    let mut stranger = p.clone();
    stranger.apple_app_ids = vec!["ABCDE12345.other.app".into()];
    assert_eq!(
        code(a.verify_client_data_hash(&f.client_data_hash, &stranger, &roots.apple, NOW)),
        "attestation_app_id"
    );
    // Without Apple's root (Google's only), after the credential certificate expired,
    // and before it was issued.
    assert_eq!(
        code(a.verify_client_data_hash(&f.client_data_hash, &p, &roots.android, NOW)),
        "attestation_chain",
        "x5c stops before the root, and no configured root issued it"
    );
    assert_eq!(
        code(a.verify_client_data_hash(&f.client_data_hash, &p, &roots.apple, 1_767_225_600)),
        "attestation_expired"
    );
    assert_eq!(
        code(a.verify_client_data_hash(&f.client_data_hash, &p, &roots.apple, 1_700_000_000)),
        "attestation_not_yet_valid"
    );
    // A development attestation where the policy requires production.
    let dev = fixture("attestation-development.json");
    let d = AppleAttestation::parse(&dev.object).unwrap();
    assert_eq!(
        code(d.verify_client_data_hash(&dev.client_data_hash, &p, &roots.apple, NOW)),
        "attestation_environment"
    );
    // Every byte of the object with one bit flipped is refused (at parsing or
    // verification), except inside the receipt, which this verifier does not read.
    let receipt = a.untrusted_receipt();
    let at = f.object.windows(receipt.len()).position(|w| w == receipt).expect("receipt inside the object");
    for i in 0..f.object.len() {
        let mut bytes = f.object.clone();
        bytes[i] ^= 0x10;
        let accepted = AppleAttestation::parse(&bytes)
            .and_then(|x| x.verify_client_data_hash(&f.client_data_hash, &p, &roots.apple, NOW))
            .is_ok();
        assert_eq!(accepted, (at..at + receipt.len()).contains(&i), "byte {i} flipped");
    }
}
