//! Device key attestation at the batch endpoint, over loopback HTTP, on SQLite and on a
//! real PostgreSQL: under `require` a missing or bad attestation refuses the batch with
//! its reason and issues nothing; under `record` every key is issued and its instance
//! records what the attestation showed (read back from the store); under `off` nothing
//! is read. The chains are built with `citycode-attest`'s own generator
//! (`attest/tests/support`) under its synthetic root, which the service trusts through
//! its configuration (a PEM file), at the service's own clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
#[path = "../../attest/tests/support/vectors_gen.rs"]
mod vectors_gen;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use citycode::{Algorithm, KeyPair};
use citycode_attest::{AttestationMode, AttestationPolicy, AttestationRecord, KeyProtection};
use citycode_issuer::attestation::{Attestation, AttestationTrustConfig};
use citycode_issuer::http::router;
use citycode_issuer::store::Store;
use common::*;
use serde_json::{Value, json};
use vectors_gen::{Kd, Key, Pki, SB_ATTEST_NAME, android_entry, leaf, leaf_under, name_with_o, pki};

/// The attestation key certificate's serial, as Google's status list writes serials.
const ATTEST_KEY_SERIAL: &str = "7e575e71a1";

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// The service's attestation: `mode`, the synthetic root from a PEM file, Google's
/// status list format from a file in `dir`.
fn attestation(dir: &Path, pki: &Pki, mode: AttestationMode) -> Attestation {
    std::fs::write(dir.join("synthetic-root.pem"), pem(&pki.root_cert)).unwrap();
    std::fs::write(dir.join("status.json"), r#"{"entries": {}}"#).unwrap();
    let trust = AttestationTrustConfig {
        builtin_roots: true,
        android_roots: vec![dir.join("synthetic-root.pem")],
        status_list: Some(dir.join("status.json")),
    };
    Attestation::from_config(&AttestationPolicy::new(mode), &trust).unwrap()
}

/// A phone's P-256 device key, generated (as Android Keystore would) with the citycode
/// attestation challenge of `challenge`: the key, its key request over `challenge`,
/// and its chain (TEE, or StrongBox), leaf first.
fn attested_key(pki: &Pki, challenge: &[u8], strongbox: bool) -> (KeyPair, String, Value) {
    let secret = loop {
        let s = citycode::request::random_challenge().unwrap();
        if p256::ecdsa::SigningKey::from_slice(&s).is_ok() {
            break s;
        }
    };
    let device = Key::P256(p256::ecdsa::SigningKey::from_slice(&secret).unwrap());
    let key = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &secret).unwrap();
    let request = citycode::KeyRequest::sign(&key, challenge).unwrap().to_base64url();
    let bound = citycode_attest::binding::android_challenge(challenge).unwrap();
    let chain = if strongbox {
        let kd = Kd::new(2, &bound);
        vec![
            leaf_under(&device, &kd.der(), &pki.sb_attest, name_with_o(SB_ATTEST_NAME.0, SB_ATTEST_NAME.1), vec![]),
            pki.sb_attest_cert.clone(),
            pki.inter_cert.clone(),
            pki.root_cert.clone(),
        ]
    } else {
        let kd = Kd::new(1, &bound);
        vec![leaf(&device, &kd.der(), &pki.attest, vec![]), pki.attest_cert.clone(), pki.inter_cert.clone()]
    };
    (key, request, android_entry(&chain))
}

struct Setup {
    idp: Idp,
    clock: Arc<TestClock>,
    service: Arc<citycode_issuer::Issuing>,
    server: Running,
    pki: Pki,
    /// The city's directory, where the status list file is.
    dir: std::path::PathBuf,
}

fn setup(db: &Db, mode: AttestationMode) -> Setup {
    let city = City::new(&format!("attest-{}", db.name()));
    let idp = Idp::new();
    let clock = TestClock::at(START);
    let pki = pki();
    let service = city.service(db.open(), &idp, clock.clone(), Buf::default());
    let service = Arc::new(Arc::into_inner(service).unwrap().with_attestation(attestation(&city.dir, &pki, mode)));
    import(&service, 1);
    let server = run(router(service.clone(), Default::default(), "http://issuer.test"));
    Setup { idp, clock, service, server, pki, dir: city.dir.clone() }
}

impl Setup {
    fn token(&self) -> String {
        self.idp.token("login-0", self.clock.0.load(std::sync::atomic::Ordering::SeqCst), &[])
    }
    fn nonce(&self) -> Vec<u8> {
        nonce(&self.server.base, &self.token())
    }
    fn post(&self, body: &Value) -> (u16, Value) {
        call("POST", &format!("{}/v1/credential", self.server.base), Some(&self.token()), Some(body.clone()))
    }
    fn outstanding(&self) -> i64 {
        self.service.store.outstanding(1, None, START as i64).unwrap()
    }
    fn metrics(&self) -> String {
        agent().get(&format!("{}/metrics", self.server.base)).call().unwrap().body_mut().read_to_string().unwrap()
    }
    /// The attestation records of a response's instances, read back from the store.
    fn records(&self, body: &Value) -> Vec<AttestationRecord> {
        body["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let credential = citycode::Credential::from_base64url(c["credential"].as_str().unwrap()).unwrap();
                let instance = self.service.store.instance(&credential.subject.0).unwrap().unwrap();
                assert_eq!(instance.resident_id, 1);
                instance.attestation.expect("every instance issued now records its attestation")
            })
            .collect()
    }
}

fn with_attestations(challenge: &[u8], requests: &[String], attestations: Value) -> Value {
    let mut body = credential_body(challenge, requests);
    body["key_attestations"] = attestations;
    body
}

#[test]
fn require_refuses_a_missing_or_bad_attestation_with_its_reason_and_issues_nothing() {
    for db in databases("attest-require") {
        let s = setup(&db, AttestationMode::Require);
        let challenge = s.nonce();
        let (_, tee_request, tee_chain) = attested_key(&s.pki, &challenge, false);
        let (_, sb_request, sb_chain) = attested_key(&s.pki, &challenge, true);
        let requests = vec![tee_request.clone(), sb_request.clone()];

        // No attestation at all (a client from before attestation), one key without,
        // an attestation made for another challenge (the key's request is over this
        // one), a chain cut short, another key's chain, entries that do not match the
        // keys, an unknown format: each refused with its own reason, nothing issued.
        let (other_key, _, other_chain) = attested_key(&s.pki, &[7u8; 32], false);
        let other_request = citycode::KeyRequest::sign(&other_key, &challenge).unwrap().to_base64url();
        let (_, mismatched_request, _) = attested_key(&s.pki, &challenge, false);
        let cut = json!({"format": "android_key", "chain": [tee_chain["chain"][0]]});
        for (body, expected) in [
            (credential_body(&challenge, &requests), "attestation_required"),
            (with_attestations(&challenge, &requests, json!([tee_chain, null])), "attestation_required"),
            (with_attestations(&challenge, &[other_request], json!([other_chain])), "attestation_challenge"),
            (with_attestations(&challenge, std::slice::from_ref(&tee_request), json!([cut])), "attestation_chain"),
            (
                with_attestations(&challenge, std::slice::from_ref(&mismatched_request), json!([tee_chain])),
                "attestation_key_mismatch",
            ),
            (with_attestations(&challenge, &requests, json!([tee_chain])), "attestation_malformed"),
            (with_attestations(&challenge, &requests, json!({"format": "android_key"})), "attestation_malformed"),
            (
                with_attestations(
                    &challenge,
                    std::slice::from_ref(&tee_request),
                    json!([{"format": "tpm", "chain": []}]),
                ),
                "attestation_unsupported",
            ),
        ] {
            let (status, refused) = s.post(&body);
            assert_eq!((status, refused["reason"].as_str()), (400, Some(expected)), "{}: {refused}", db.name());
            assert_eq!(refused["error"], "invalid_proof");
            assert_eq!(s.outstanding(), 0, "{}: {expected} issued something", db.name());
        }

        // Both keys attested, over the same challenge the refusals left unused.
        let (status, ok_before) = s.post(&with_attestations(&challenge, &requests, json!([tee_chain, sb_chain])));
        assert_eq!(status, 200, "{}: {ok_before}", db.name());

        // Issued, each instance with its verdict.
        let records = s.records(&ok_before);
        let protections: Vec<KeyProtection> = records.iter().map(|r| r.verdict().unwrap().protection).collect();
        assert_eq!(protections, [KeyProtection::TrustedEnvironment, KeyProtection::StrongBox]);
        for r in &records {
            let v = r.verdict().unwrap();
            assert_eq!(v.root, "synthetic-root");
            assert_eq!(v.checked_at, START, "checked at the service's clock");
        }
        assert_eq!(s.outstanding(), 2);

        let metrics = s.metrics();
        for line in [
            "citycode_issuer_refusals_total{reason=\"attestation_required\"} 2",
            "citycode_issuer_refusals_total{reason=\"attestation_challenge\"} 1",
            "citycode_issuer_refusals_total{reason=\"attestation_malformed\"} 2",
            "citycode_issuer_attestations_total{status=\"attested\",detail=\"trusted_environment\"} 1",
            "citycode_issuer_attestations_total{status=\"attested\",detail=\"strong_box\"} 1",
            "citycode_issuer_attestation_status_list_entries 0",
        ] {
            assert!(metrics.contains(line), "{}: no {line} in\n{metrics}", db.name());
        }
        // The metadata tells wallets that key attestations are required (OpenID4VCI D).
        let (_, meta) = call("GET", &format!("{}/.well-known/openid-credential-issuer", s.server.base), None, None);
        assert_eq!(
            meta["credential_configurations_supported"]["citycode"]["proof_types_supported"]["citycode_key_request"]["key_attestations_required"],
            json!({})
        );
    }
}

#[test]
fn require_refuses_a_key_whose_attestation_key_google_revoked() {
    for db in databases("attest-revoked") {
        let s = setup(&db, AttestationMode::Require);
        let challenge = s.nonce();
        let (_, request, chain) = attested_key(&s.pki, &challenge, false);
        let body = with_attestations(&challenge, std::slice::from_ref(&request), json!([chain]));
        // The operator's timer writes Google's new list; the service's schedule rereads it.
        let status_file = s.service.attestation().status_list_written().unwrap();
        let path = s.dir.join("status.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"entries": {{"{}": {{"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}}}}"#,
                ATTEST_KEY_SERIAL
            ),
        )
        .unwrap();
        let later = status_file + std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(s.service.attestation().refresh().unwrap());
        let (status, refused) = s.post(&body);
        assert_eq!((status, refused["reason"].as_str()), (400, Some("attestation_revoked")), "{refused}");
        assert_eq!(s.outstanding(), 0);
        assert!(s.metrics().contains("citycode_issuer_attestation_status_list_entries 1"));
    }
}

#[test]
fn record_issues_every_key_and_stores_what_each_attestation_showed() {
    for db in databases("attest-record") {
        let s = setup(&db, AttestationMode::Record);
        let challenge = s.nonce();
        let (_, attested, chain) = attested_key(&s.pki, &challenge, false);
        let (_, unattested) = key_requests(1, &challenge);
        let (_, wrong_challenge, _) = attested_key(&s.pki, &challenge, false);
        let (_, _, other_chain) = attested_key(&s.pki, &[9u8; 32], false);
        let requests = vec![attested.clone(), unattested[0].clone(), wrong_challenge.clone()];
        let body = with_attestations(&challenge, &requests, json!([chain, null, other_chain]));
        let (status, issued) = s.post(&body);
        assert_eq!(status, 200, "{}: {issued}", db.name());
        let records = s.records(&issued);
        assert_eq!(records[0].verdict().unwrap().protection, KeyProtection::TrustedEnvironment);
        assert_eq!(records[1], AttestationRecord::Absent);
        assert_eq!(records[2], AttestationRecord::Refused { code: "attestation_challenge".into() });
        // A retry gets the same instances back; nothing is recorded twice.
        let (status, again) = s.post(&body);
        assert_eq!((status, &again), (200, &issued));
        assert_eq!(s.outstanding(), 3);
        let metrics = s.metrics();
        for line in [
            "citycode_issuer_attestations_total{status=\"attested\",detail=\"trusted_environment\"} 1",
            "citycode_issuer_attestations_total{status=\"absent\",detail=\"\"} 1",
            "citycode_issuer_attestations_total{status=\"refused\",detail=\"attestation_challenge\"} 1",
        ] {
            assert!(metrics.contains(line), "{}: no {line} in\n{metrics}", db.name());
        }
        // A malformed field is recorded as refused for every key, and still issues.
        let challenge = s.nonce();
        let (_, requests) = key_requests(2, &challenge);
        let (status, issued) = s.post(&with_attestations(&challenge, &requests, json!("not an array")));
        assert_eq!(status, 200, "{issued}");
        assert_eq!(s.records(&issued), vec![AttestationRecord::Refused { code: "attestation_malformed".into() }; 2]);
        // A client from before attestation: every key absent.
        let challenge = s.nonce();
        let (_, requests) = key_requests(1, &challenge);
        let (status, issued) = s.post(&credential_body(&challenge, &requests));
        assert_eq!(status, 200);
        assert_eq!(s.records(&issued), vec![AttestationRecord::Absent]);
        // No requirement advertised.
        let (_, meta) = call("GET", &format!("{}/.well-known/openid-credential-issuer", s.server.base), None, None);
        assert!(
            meta["credential_configurations_supported"]["citycode"]["proof_types_supported"]["citycode_key_request"]
                .get("key_attestations_required")
                .is_none()
        );
    }
}

#[test]
fn off_reads_no_attestation_and_records_that_it_did_not() {
    for db in databases("attest-off") {
        let s = setup(&db, AttestationMode::Off);
        let challenge = s.nonce();
        let (_, requests) = key_requests(2, &challenge);
        // Even a malformed field refuses nothing: it is not read.
        let (status, issued) = s.post(&with_attestations(&challenge, &requests, json!([{"format": "tpm"}])));
        assert_eq!(status, 200, "{}: {issued}", db.name());
        assert_eq!(s.records(&issued), vec![AttestationRecord::Off; 2]);
        let (_, ready) = call("GET", &format!("{}/readyz", s.server.base), None, None);
        assert_eq!(ready["attestation"], "off");
    }
}

#[test]
fn a_database_of_schema_1_gains_the_attestation_rule_and_keeps_its_instances() {
    use citycode_issuer::store::records::{Actor, BatchRecord, IssuedInstance};
    for db in databases("attest-migration") {
        let backend = || -> Box<dyn citycode_issuer::store::Backend> {
            match &db {
                Db::Sqlite(p) => Box::new(citycode_issuer::store::sqlite::SqliteBackend::open(p).unwrap()),
                Db::Postgres(url) => Box::new(citycode_issuer::store::postgres::PgBackend::connect(url, 2).unwrap()),
            }
        };
        // What the service of schema 1 recorded: an instance without an attestation.
        let old = Store::open_at(backend(), 1).unwrap();
        let seal = citycode_issuer::keys::NumberSeal::new(&[9; 32]).unwrap();
        let rows = citycode_issuer::import::parse_json_lines(&residents(1), &seal).unwrap();
        old.import_residents(&rows, &Actor::System, START as i64).unwrap();
        old.new_challenge(1, &[1; 32], START as i64, START as i64 + 300, 8).unwrap();
        let batch = BatchRecord {
            resident_id: 1,
            guardianship_id: None,
            challenge: vec![1; 32],
            request_id: None,
            digest: vec![0; 32],
            device: None,
            instances: vec![IssuedInstance {
                subject: [5; 8],
                device_key_id: [6; 16],
                not_after: START as i64 + 86_400,
                attestation: None,
            }],
            response: "{}".into(),
            max_outstanding: 64,
        };
        old.commit_batch(&batch, &Actor::System, START as i64).unwrap();
        drop(old);

        let store = Store::open(backend()).unwrap();
        let instance = store.instance(&[5; 8]).unwrap().unwrap();
        assert_eq!((instance.attestation, instance.not_after), (None, START as i64 + 86_400), "{}", db.name());
        let versions = store.tx(|tx| tx.count("SELECT MAX(version) FROM schema_migrations", &[])).unwrap();
        assert_eq!(versions, 2);
        // The column now takes JSON only, in the database itself.
        let set = |text: &str| {
            store.tx(|tx| {
                tx.exec(
                    "UPDATE instances SET attestation = ?1 WHERE subject = ?2",
                    &[text.into(), [5u8; 8].as_slice().into()],
                )
            })
        };
        assert!(set("not json").is_err(), "{}", db.name());
        assert_eq!(set(r#"{"status": "absent"}"#).unwrap(), 1);
        assert_eq!(store.instance(&[5; 8]).unwrap().unwrap().attestation, Some(AttestationRecord::Absent));
    }
}

/// The OpenAPI document the running service serves describes `key_attestations` as the
/// service reads it: every format it documents is one the service knows, each required
/// field is required and no other field taken, the entries are bounded by the batch size,
/// a refusal has the documented status and error shape with a reason the attestation
/// crate defines, and `/readyz` names a documented mode.
#[test]
fn the_openapi_document_describes_key_attestations_as_the_service_reads_them() {
    let db = Db::Sqlite(temp_dir("attest-openapi").join("issuer.db"));
    let s = setup(&db, AttestationMode::Require);
    let (status, doc) = call("GET", &format!("{}/openapi.json", s.server.base), None, None);
    assert_eq!(status, 200);
    let credential = &doc["paths"]["/v1/credential"]["post"];
    let field = &credential["requestBody"]["content"]["application/json"]["schema"]["properties"]["key_attestations"];
    assert_eq!(field["type"], "array");
    assert_eq!(field["maxItems"], json!(citycode::MAX_BATCH));
    let items = field["items"]["oneOf"].as_array().unwrap();
    assert_eq!(items[0], json!({"type": "null"}));
    let reference = items[1]["$ref"].as_str().unwrap();
    let schema = &doc["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")];
    let variants = schema["oneOf"].as_array().unwrap();
    let formats: Vec<&str> = variants.iter().map(|v| v["properties"]["format"]["const"].as_str().unwrap()).collect();
    assert_eq!(formats, ["android_key", "apple_app_attest"]);

    let refusal = |body: &Value| -> String {
        let (status, refused) = s.post(body);
        let documented = &credential["responses"][status.to_string()];
        assert!(documented.is_object(), "{status} is not documented: {refused}");
        assert_eq!(documented["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
        for k in doc["components"]["schemas"]["Error"]["required"].as_array().unwrap() {
            assert!(refused.get(k.as_str().unwrap()).is_some(), "{refused} lacks {k}");
        }
        assert_eq!(s.outstanding(), 0, "a refusal issued something: {refused}");
        refused["reason"].as_str().unwrap().to_string()
    };
    let challenge = s.nonce();
    let (_, request, chain) = attested_key(&s.pki, &challenge, false);
    let one = |entry: Value| with_attestations(&challenge, std::slice::from_ref(&request), json!([entry]));
    for variant in variants {
        assert_eq!(variant["additionalProperties"], false);
        let required: Vec<&str> = variant["required"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
        let format = variant["properties"]["format"]["const"].as_str().unwrap();
        // A well-shaped entry of the format, as the document describes it.
        let mut entry = json!({"format": format});
        for k in &required {
            if *k != "format" {
                entry[*k] = match variant["properties"][*k]["type"].as_str().unwrap() {
                    "array" => chain["chain"].clone(),
                    _ => json!("o2NmbXRvYXBwbGUtYXBwYXR0ZXN0"),
                };
            }
        }
        let reason = refusal(&one(json!({"format": format, "extra": 1})));
        assert_eq!(reason, "attestation_malformed", "{format}: a field the document does not list");
        for k in required.iter().filter(|k| **k != "format") {
            let mut without = entry.clone();
            without.as_object_mut().unwrap().remove(*k);
            assert_eq!(refusal(&one(without)), "attestation_malformed", "{format}: {k} is required");
            let mut extra = entry.clone();
            extra["extra"] = json!(1);
            assert_eq!(refusal(&one(extra)), "attestation_malformed", "{format}: additionalProperties false");
        }
        if let Some(max) = variant["properties"]["chain"]["maxItems"].as_u64() {
            let long: Vec<Value> = (0..=max).map(|i| chain["chain"][i as usize % 3].clone()).collect();
            let reason = refusal(&one(json!({"format": format, "chain": long})));
            assert!(reason.starts_with("attestation_") && reason != "attestation_unsupported", "{reason}");
        }
        if format == "android_key" {
            continue;
        }
        // A format the document lists is one the service knows (its content is refused,
        // not its format).
        let reason = refusal(&one(entry));
        assert!(reason != "attestation_unsupported" && reason.starts_with("attestation_"), "{format}: {reason}");
    }
    assert_eq!(refusal(&one(json!({"format": "tpm", "chain": []}))), "attestation_unsupported");
    // A code the 400 response names is one the attestation crate defines.
    let description = credential["responses"]["400"]["description"].as_str().unwrap();
    let named: Vec<&str> = description
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("attestation_"))
        .collect();
    assert!(!named.is_empty());
    for code in named {
        assert!(citycode_attest::AttestationError::CODES.contains(&code), "{code} is not a code");
    }
    // The documented shape, well filled, is issued.
    let (status, issued) = s.post(&one(chain.clone()));
    assert_eq!(status, 200, "{issued}");
    for k in credential["responses"]["200"]["content"]["application/json"]["schema"]["required"].as_array().unwrap() {
        assert!(issued.get(k.as_str().unwrap()).is_some());
    }
    let (status, ready) = call("GET", &format!("{}/readyz", s.server.base), None, None);
    assert_eq!(status, 200);
    let modes = &doc["paths"]["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
        ["attestation"]["enum"];
    assert!(modes.as_array().unwrap().contains(&ready["attestation"]), "{ready} against {modes}");
    assert_eq!(ready["attestation"], "require");
}
