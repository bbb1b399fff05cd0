//! The issuing service on loopback HTTP, driven by a real client, with real tokens from
//! a local identity provider, on SQLite and on a real PostgreSQL (every test that
//! touches the records runs on both).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::Arc;

use citycode::{Credential, KeyPair, PresentOptions, Scene};
use citycode_issuer::http::router;
use common::*;
use serde_json::{Value, json};

struct Setup {
    city: City,
    idp: Idp,
    clock: Arc<TestClock>,
    log: Buf,
    service: Arc<citycode_issuer::Issuing>,
    server: Running,
}

fn setup(db: &Db, residents: usize) -> Setup {
    let city = City::new(db.name());
    let idp = Idp::new();
    let clock = TestClock::at(START);
    let log = Buf::default();
    let service = city.service(db.open(), &idp, clock.clone(), log.clone());
    import(&service, residents);
    let server = run(router(service.clone(), Default::default(), "http://issuer.test"));
    Setup { city, idp, clock, log, service, server }
}

impl Setup {
    fn token(&self, i: usize) -> String {
        self.idp.token(&format!("login-{i}"), self.clock.0.load(std::sync::atomic::Ordering::SeqCst), &[])
    }
    fn staff(&self) -> String {
        self.idp.token("officer-7", self.clock.0.load(std::sync::atomic::Ordering::SeqCst), &["citycode:staff"])
    }
    fn admin(&self) -> String {
        self.idp.token("admin-1", self.clock.0.load(std::sync::atomic::Ordering::SeqCst), &["citycode:admin"])
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }
    fn batch(&self, token: &str, n: usize) -> (u16, Value, Vec<KeyPair>) {
        let challenge = nonce(&self.server.base, token);
        let (keys, requests) = key_requests(n, &challenge);
        let (status, body) =
            call("POST", &self.url("/v1/credential"), Some(token), Some(credential_body(&challenge, &requests)));
        (status, body, keys)
    }
}

fn credentials(body: &Value) -> Vec<Credential> {
    body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Credential::from_base64url(c["credential"].as_str().unwrap()).unwrap())
        .collect()
}

fn reason(body: &Value) -> &str {
    body["reason"].as_str().unwrap_or("")
}

#[test]
fn a_batch_is_issued_verified_and_each_instance_commits_identity_afresh() {
    for db in databases("batch") {
        let s = setup(&db, 2);
        let token = s.token(0);
        let (status, body, keys) = s.batch(&token, 4);
        assert_eq!(status, 200, "{}: {body}", db.name());
        let issued = credentials(&body);
        assert_eq!(issued.len(), 4);
        // Each bound to its own key, in request order, with its own subject and its
        // own identity salt and commitment (issue 29 item 3).
        let mut salts = std::collections::HashSet::new();
        let mut subjects = std::collections::HashSet::new();
        for (c, k) in issued.iter().zip(&keys) {
            assert_eq!(c.device_key, k.public_key());
            subjects.insert(c.subject);
            for card in &c.cards {
                if let Some(id) = &card.claims.identity {
                    assert!(id.matches("110105194912310000").unwrap());
                    salts.insert(id.salt);
                }
            }
        }
        assert_eq!((subjects.len(), salts.len()), (4, 4), "{}", db.name());
        // A verifier of the city accepts a code of it, with the published lists.
        let (status, published) = call("POST", &s.url("/v1/admin/publish"), Some(&s.admin()), None);
        assert_eq!(status, 200, "{published}");
        let v = s.city.verifier(Scene::MetroGate);
        let code =
            citycode::present(&issued[0], &keys[0], &Scene::MetroGate, START, PresentOptions::default()).unwrap();
        let accepted = v.verify_at(&code.to_text(), START).unwrap();
        assert_eq!(accepted.subject, issued[0].subject);
        // The resident sees counts, never claim values; the log never holds personal data.
        let (_, me) = call("GET", &s.url("/v1/me"), Some(&token), None);
        assert_eq!(me["instances_outstanding"], 4);
        let logs = s.log.text();
        for secret in ["王秀英", "110105194912310000", "green", "standard", "login-0", &token] {
            assert!(!logs.contains(secret), "the log holds {secret}: {logs}");
        }
        let audit = s.service.store.audit_log(100).unwrap();
        assert!(audit.iter().any(|(_, actor, action, _, _)| action == "issue_batch" && actor.starts_with("resident:")));
        assert!(!format!("{audit:?}").contains("王秀英"));
    }
}

#[test]
fn challenges_are_single_use_short_lived_and_the_residents_own() {
    for db in databases("challenge") {
        let s = setup(&db, 2);
        let token = s.token(0);
        let url = s.url("/v1/credential");
        let challenge = nonce(&s.server.base, &token);
        let (_, requests) = key_requests(2, &challenge);
        let (status, _) = call("POST", &url, Some(&token), Some(credential_body(&challenge, &requests)));
        assert_eq!(status, 200);
        // Reused with other keys: challenge_used (the same request again would be a retry).
        let (_, others) = key_requests(2, &challenge);
        let (status, body) = call("POST", &url, Some(&token), Some(credential_body(&challenge, &others)));
        assert_eq!(
            (status, body["error"].as_str(), reason(&body)),
            (400, Some("invalid_nonce"), "challenge_used"),
            "{}",
            db.name()
        );
        // Expired.
        let old = nonce(&s.server.base, &token);
        s.clock.advance(301);
        let token = s.token(0);
        let (_, requests) = key_requests(1, &old);
        let (_, body) = call("POST", &url, Some(&token), Some(credential_body(&old, &requests)));
        assert_eq!(reason(&body), "challenge_expired");
        // Chosen by the holder (all zeros): unknown; and another resident's: unknown too.
        let zeros = [0u8; 32];
        let (_, requests) = key_requests(1, &zeros);
        let (_, body) = call("POST", &url, Some(&token), Some(credential_body(&zeros, &requests)));
        assert_eq!(reason(&body), "challenge_unknown");
        let theirs = nonce(&s.server.base, &s.token(1));
        let (_, requests) = key_requests(1, &theirs);
        let (_, body) = call("POST", &url, Some(&token), Some(credential_body(&theirs, &requests)));
        assert_eq!(reason(&body), "challenge_unknown");
        // A key request over another challenge than the one named: invalid_proof.
        let mine = nonce(&s.server.base, &token);
        let (_, wrong) = key_requests(1, &theirs);
        let (_, body) = call("POST", &url, Some(&token), Some(credential_body(&mine, &wrong)));
        assert_eq!((body["error"].as_str(), reason(&body)), (Some("invalid_proof"), "bad_device_signature"));
        // A resident holds a bounded number of live challenges.
        let mut last = 0;
        for _ in 0..10 {
            last = call("POST", &s.url("/v1/nonce"), Some(&token), None).0;
        }
        assert_eq!(last, 429);
        let (_, metrics) = call("GET", &s.url("/metrics"), None, None);
        let metrics = metrics.as_str().unwrap().to_string();
        assert!(metrics.contains("citycode_issuer_refusals_total{reason=\"challenge_used\"} 1"), "{metrics}");
        assert!(metrics.contains("citycode_issuer_challenges 9"), "{metrics}");
    }
}

#[test]
fn a_batch_of_65_or_of_none_is_refused_before_any_signature_is_checked() {
    let db = Db::Sqlite(temp_dir("count").join("issuer.db"));
    let s = setup(&db, 1);
    let token = s.token(0);
    let challenge = nonce(&s.server.base, &token);
    // 65 requests that are not even key requests: refused for their count, not content.
    let junk: Vec<String> = (0..65).map(|_| "AAAA".to_string()).collect();
    let (status, body) = call("POST", &s.url("/v1/credential"), Some(&token), Some(credential_body(&challenge, &junk)));
    assert_eq!(
        (status, body["error"].as_str(), reason(&body)),
        (400, Some("invalid_credential_request"), "out_of_range")
    );
    let (_, body) = call("POST", &s.url("/v1/credential"), Some(&token), Some(credential_body(&challenge, &[])));
    assert_eq!(reason(&body), "out_of_range");
    let long = vec!["A".repeat(10_000)];
    let (_, body) = call("POST", &s.url("/v1/credential"), Some(&token), Some(credential_body(&challenge, &long)));
    assert_eq!(reason(&body), "out_of_range");
    // Within the count, the same junk is read and refused for what it is.
    let (_, body) = call("POST", &s.url("/v1/credential"), Some(&token), Some(credential_body(&challenge, &junk[..2])));
    assert_eq!((body["error"].as_str(), reason(&body)), (Some("invalid_proof"), "unsupported_version"));
    // The challenge survived all of that: 64 distinct keys are one batch.
    let (_, requests) = key_requests(64, &challenge);
    let (status, body) =
        call("POST", &s.url("/v1/credential"), Some(&token), Some(credential_body(&challenge, &requests)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(credentials(&body).len(), 64);
}

#[test]
fn the_65th_outstanding_instance_is_refused_until_some_expire_or_are_revoked() {
    for db in databases("cap") {
        let s = setup(&db, 1);
        let token = s.token(0);
        let (status, first, _) = s.batch(&token, 60);
        assert_eq!(status, 200);
        let (status, body, _) = s.batch(&token, 5);
        assert_eq!(
            (status, body["error"].as_str(), reason(&body)),
            (400, Some("credential_request_denied"), "instance_limit"),
            "{}",
            db.name()
        );
        let (status, _, _) = s.batch(&token, 4);
        assert_eq!(status, 200, "64 exactly");
        let (_, body, _) = s.batch(&token, 1);
        assert_eq!(reason(&body), "instance_limit");
        // Revoked instances no longer count (they are on the list until they expire).
        let subject = citycode::text::hex(&credentials(&first)[0].subject.0);
        let (status, _) =
            call("POST", &s.url(&format!("/v1/staff/instances/{subject}/revoke")), Some(&s.staff()), None);
        assert_eq!(status, 200);
        let (status, _, _) = s.batch(&token, 1);
        assert_eq!(status, 200);
        // Once the instances expire, none count.
        s.clock.advance(8 * 86_400);
        let token = s.token(0);
        let (status, body, _) = s.batch(&token, 64);
        assert_eq!(status, 200, "{body}");
    }
}

#[test]
fn a_crash_between_commit_and_response_never_issues_twice() {
    for db in databases("crash") {
        let s = setup(&db, 1);
        let token = s.token(0);
        let challenge = nonce(&s.server.base, &token);
        let (_, requests) = key_requests(3, &challenge);
        let mut body = credential_body(&challenge, &requests);
        body["request_id"] = json!("refill-1");
        body["device"] = json!("phone-a");
        s.service.set_crash_after_commit(true);
        let (status, lost) = call("POST", &s.url("/v1/credential"), Some(&token), Some(body.clone()));
        assert_eq!(status, 503, "{lost}");
        s.service.set_crash_after_commit(false);
        // The holder retries: the same instances, nothing new.
        let (status, first) = call("POST", &s.url("/v1/credential"), Some(&token), Some(body.clone()));
        assert_eq!(status, 200, "{}: {first}", db.name());
        let (status, again) = call("POST", &s.url("/v1/credential"), Some(&token), Some(body.clone()));
        assert_eq!(status, 200);
        assert_eq!(first, again);
        assert_eq!(credentials(&first).len(), 3);
        let (_, me) = call("GET", &s.url("/v1/me"), Some(&token), None);
        assert_eq!(me["instances_outstanding"], 3, "issued once");
        // The same request id for another request is a conflict; another challenge's
        // retry without the id is recognised by the consumed challenge.
        let fresh = nonce(&s.server.base, &token);
        let (_, other) = key_requests(1, &fresh);
        let mut conflicting = credential_body(&fresh, &other);
        conflicting["request_id"] = json!("refill-1");
        let (status, body) = call("POST", &s.url("/v1/credential"), Some(&token), Some(conflicting));
        assert_eq!((status, reason(&body)), (409, "request_id_conflict"));
        let plain = credential_body(&fresh, &other);
        let (status, a) = call("POST", &s.url("/v1/credential"), Some(&token), Some(plain.clone()));
        let (_, b) = call("POST", &s.url("/v1/credential"), Some(&token), Some(plain));
        assert_eq!((status, &a), (200, &b));
        let (_, me) = call("GET", &s.url("/v1/me"), Some(&token), None);
        assert_eq!(me["instances_outstanding"], 4);
        // The phone is lost: what it holds is revoked and published.
        let (status, revoked) = call("POST", &s.url("/v1/me/devices/phone-a/revoke"), Some(&token), None);
        assert_eq!((status, revoked["revoked_instances"].as_u64()), (200, Some(3)));
        let entries = s.service.store.revocation_entries(s.service.now()).unwrap();
        assert_eq!(entries.len(), 3);
    }
}

#[test]
fn guardianships_take_consent_stop_at_five_and_end_from_either_side() {
    for db in databases("guardian") {
        let s = setup(&db, 8);
        let guardian = s.token(0);
        // Dependants 1..=6 each invite resident 0.
        let mut ids = Vec::new();
        for i in 1..=6 {
            let (status, inv) = call(
                "POST",
                &s.url("/v1/guardianships/invitations"),
                Some(&s.token(i)),
                Some(json!({"relation": "parent"})),
            );
            assert_eq!(status, 200, "{inv}");
            let (status, g) = call(
                "POST",
                &s.url("/v1/guardianships"),
                Some(&guardian),
                Some(json!({"invitation": inv["invitation"]})),
            );
            if i <= 5 {
                assert_eq!(status, 200, "{}: {g}", db.name());
                assert_eq!((g["role"].as_str(), g["consent"].as_str()), (Some("guardian"), Some("dependant_login")));
                ids.push(g["id"].as_i64().unwrap());
            } else {
                assert_eq!((status, reason(&g)), (400, "guardianship_limit"), "the 6th");
            }
        }
        // An invitation is used once.
        let (_, inv) = call(
            "POST",
            &s.url("/v1/guardianships/invitations"),
            Some(&s.token(7)),
            Some(json!({"relation": "child"})),
        );
        let (status, _) = call(
            "POST",
            &s.url("/v1/guardianships"),
            Some(&s.token(6)),
            Some(json!({"invitation": inv["invitation"]})),
        );
        assert_eq!(status, 200);
        let (_, again) = call(
            "POST",
            &s.url("/v1/guardianships"),
            Some(&s.token(5)),
            Some(json!({"invitation": inv["invitation"]})),
        );
        assert_eq!(reason(&again), "invitation_used");
        // Staff record one on an authority's consent, but not a sixth for resident 0.
        let staff_body = json!({"guardian": "R0", "dependant": "R7", "relation": "legal_guardian", "authority_reference": "court 2026-17"});
        let (_, refused) = call("POST", &s.url("/v1/staff/guardianships"), Some(&s.staff()), Some(staff_body));
        assert_eq!(reason(&refused), "guardianship_limit");
        let staff_body = json!({"guardian": "R6", "dependant": "R1", "relation": "legal_guardian", "authority_reference": "court 2026-17"});
        let (status, g) = call("POST", &s.url("/v1/staff/guardianships"), Some(&s.staff()), Some(staff_body.clone()));
        assert_eq!((status, g["consent"].as_str()), (200, Some("staff")), "{g}");
        let (status, _) = call("POST", &s.url("/v1/staff/guardianships"), Some(&s.token(2)), Some(staff_body));
        assert_eq!(status, 403, "a resident is not staff");
        // A guardian's batch: the dependant's claims, marked as a guardian's.
        let challenge = nonce(&s.server.base, &guardian);
        let (keys, requests) = key_requests(2, &challenge);
        let mut body = credential_body(&challenge, &requests);
        body["credential_configuration_id"] = json!("citycode_guardian");
        body["guardianship_id"] = json!(ids[0]);
        let (status, issued) = call("POST", &s.url("/v1/credential"), Some(&guardian), Some(body));
        assert_eq!(status, 200, "{issued}");
        let issued = credentials(&issued);
        assert!(issued[0].cards.iter().all(|c| c.claims.guardian.is_some()));
        let mut wallet = citycode::Wallet::new(&keys[0]);
        wallet.add_dependant("mother", issued[0].clone()).unwrap();
        // Another resident cannot use that guardianship.
        let challenge = nonce(&s.server.base, &s.token(3));
        let (_, requests) = key_requests(1, &challenge);
        let mut body = credential_body(&challenge, &requests);
        body["credential_configuration_id"] = json!("citycode_guardian");
        body["guardianship_id"] = json!(ids[0]);
        let (_, refused) = call("POST", &s.url("/v1/credential"), Some(&s.token(3)), Some(body));
        assert_eq!(reason(&refused), "guardianship_unknown");
        // The dependant ends it: the guardian's instances are revoked; then the
        // guardian may take another.
        let (status, ended) = call("DELETE", &s.url(&format!("/v1/guardianships/{}", ids[0])), Some(&s.token(1)), None);
        assert_eq!((status, ended["revoked_instances"].as_u64()), (200, Some(2)), "{ended}");
        let (status, _) = call("DELETE", &s.url(&format!("/v1/guardianships/{}", ids[1])), Some(&s.token(5)), None);
        assert_eq!(status, 404, "not a party to it");
        let (status, _) = call("DELETE", &s.url(&format!("/v1/guardianships/{}", ids[1])), Some(&guardian), None);
        assert_eq!(status, 200, "the guardian ends it");
        let audit = s.service.store.audit_log(200).unwrap();
        assert!(audit.iter().any(|(_, a, action, _, d)| action == "create_guardianship"
            && a == "staff:officer-7"
            && d == "consent: staff"));
    }
}

#[test]
fn printed_codes_are_staff_only_and_a_reissue_revokes_the_last() {
    for db in databases("printed") {
        let s = setup(&db, 2);
        let url = s.url("/v1/staff/residents/R1/printed");
        let (status, body) = call("POST", &url, Some(&s.token(1)), None);
        assert_eq!(
            (status, body["error"].as_str(), reason(&body)),
            (403, Some("insufficient_scope"), "insufficient_role")
        );
        let (status, first) = call("POST", &url, Some(&s.staff()), None);
        assert_eq!(status, 200, "{}: {first}", db.name());
        assert_eq!(first["revoked_previous"], false);
        let code = citycode::PrintedCode::from_text(first["text"].as_str().unwrap()).unwrap();
        assert!(code.untrusted_claims().identity.unwrap().matches("110105194912310001").unwrap());
        let (status, second) = call("POST", &url, Some(&s.staff()), None);
        assert_eq!((status, second["revoked_previous"].as_bool()), (200, Some(true)));
        let entries = s.service.store.revocation_entries(s.service.now()).unwrap();
        assert_eq!(entries, vec![(2, code.subject().0.to_vec())], "the first card's subject, revoked");
        // The card of the current one prints; the revoked one does not.
        let agent = agent();
        let card = |id: &Value| {
            let mut r = agent
                .get(&s.url(&format!("/v1/staff/printed/{id}/card.pdf")))
                .header("Authorization", &format!("Bearer {}", s.staff()))
                .call()
                .unwrap();
            (r.status().as_u16(), r.body_mut().read_to_vec().unwrap())
        };
        let (status, pdf) = card(&second["id"]);
        assert_eq!(status, 200);
        assert!(pdf.starts_with(b"%PDF"));
        assert_eq!(card(&first["id"]).0, 404);
        // The revoked card is refused by a verifier once published.
        call("POST", &s.url("/v1/admin/publish"), Some(&s.admin()), None);
        let v = s.city.verifier(Scene::Hospital);
        let reason_code = v.verify_at(first["text"].as_str().unwrap(), START).unwrap_err().reason;
        assert_eq!(reason_code, citycode::Reason::Revoked);
        // A resident without an identity document gets none.
        s.service
            .store
            .import_residents(
                &citycode_issuer::import::parse_json_lines(
                    r#"{"ref":"X","claims":{"social_security":{"status":"retired"}}}"#,
                    s.service.seal(),
                )
                .unwrap(),
                &citycode_issuer::store::records::Actor::System,
                s.service.now(),
            )
            .unwrap();
        let (_, body) = call("POST", &s.url("/v1/staff/residents/X/printed"), Some(&s.staff()), None);
        assert_eq!(reason(&body), "no_identity");
    }
}

#[test]
fn every_refusal_of_a_token_has_its_reason() {
    let db = Db::Sqlite(temp_dir("auth").join("issuer.db"));
    let s = setup(&db, 1);
    let url = s.url("/v1/nonce");
    let (kid, key) = s.idp.keys.lock().unwrap()[0].clone();
    let now = START;
    let with = |claims: Value| s.idp.sign(&kid, &key, &claims);
    let refused = |token: Option<&str>| {
        let (status, body) = call("POST", &url, token, None);
        (status, reason(&body).to_string())
    };
    assert_eq!(refused(None), (401, "no_token".into()));
    assert_eq!(refused(Some("not.a.jwt")), (401, "token_malformed".into()));
    let mut c = Idp::claims("login-0", now, &[]);
    c["exp"] = json!(now - 31);
    assert_eq!(refused(Some(&with(c))), (401, "token_expired".into()));
    let mut c = Idp::claims("login-0", now, &[]);
    c["nbf"] = json!(now + 600);
    assert_eq!(refused(Some(&with(c))), (401, "token_not_yet_valid".into()));
    let mut c = Idp::claims("login-0", now, &[]);
    c["aud"] = json!("another-service");
    assert_eq!(refused(Some(&with(c))), (401, "wrong_audience".into()));
    let mut c = Idp::claims("login-0", now, &[]);
    c["iss"] = json!("https://evil.invalid");
    assert_eq!(refused(Some(&with(c))), (401, "wrong_issuer".into()));
    let forger = KeyPair::generate(citycode::Algorithm::Ed25519).unwrap();
    assert_eq!(
        refused(Some(&s.idp.sign(&kid, &forger, &Idp::claims("login-0", now, &[])))),
        (401, "bad_token_signature".into())
    );
    assert_eq!(
        refused(Some(&s.idp.sign("k9", &forger, &Idp::claims("login-0", now, &[])))),
        (401, "unknown_token_key".into())
    );
    let (status, body) = call("POST", &url, Some(&s.idp.token("nobody", now, &[])), None);
    assert_eq!((status, reason(&body)), (403, "unknown_resident"));
    // A resident is not staff, staff is not admin.
    let (status, body) = call("POST", &s.url("/v1/staff/residents/R0/revoke"), Some(&s.token(0)), None);
    assert_eq!((status, reason(&body)), (403, "insufficient_role"));
    let (status, body) = call("POST", &s.url("/v1/admin/publish"), Some(&s.staff()), None);
    assert_eq!((status, reason(&body)), (403, "insufficient_role"));
    // 401s say so in WWW-Authenticate (RFC 6750).
    let resp = agent().post(&url).header("Authorization", "Bearer x.y.z").send_empty().unwrap();
    assert!(resp.headers().get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
    let resp = agent().post(&url).send_empty().unwrap();
    assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer", "no error code without a token");
    assert_eq!(refused(Some(&s.token(0))).0, 200);
}

#[test]
fn keys_are_refreshed_on_an_unknown_kid_at_most_once_per_interval() {
    let idp = Idp::new();
    let mut config = idp.config();
    config.min_refresh_secs = 1;
    let auth = citycode_issuer::auth::Authenticator::new(config);
    auth.refresh().unwrap();
    let fetched = idp.fetches.load(std::sync::atomic::Ordering::SeqCst);
    // The provider rotates: k2 appears; a token under it triggers one refresh.
    let k2 = KeyPair::generate(citycode::Algorithm::Ed25519).unwrap();
    idp.keys.lock().unwrap().push((
        "k2".into(),
        Arc::new(KeyPair::from_secret_bytes(citycode::Algorithm::Ed25519, &k2.secret_bytes()).unwrap()),
    ));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let token = idp.sign("k2", &k2, &Idp::claims("someone", START, &[]));
    assert_eq!(auth.authenticate(Some(&format!("Bearer {token}")), START).unwrap().subject, "someone");
    assert_eq!(idp.fetches.load(std::sync::atomic::Ordering::SeqCst), fetched + 1);
    // A flood of made-up kids costs at most one fetch per interval.
    for i in 0..50 {
        let t = idp.sign(&format!("bogus{i}"), &k2, &Idp::claims("someone", START, &[]));
        assert!(matches!(
            auth.authenticate(Some(&format!("Bearer {t}")), START),
            Err(citycode_issuer::Error::UnknownTokenKey(_))
        ));
    }
    assert!(idp.fetches.load(std::sync::atomic::Ordering::SeqCst) <= fetched + 2);
}

#[test]
fn publication_sequences_only_rise_across_restarts_and_entries_leave_when_expired() {
    for db in databases("publish") {
        let s = setup(&db, 1);
        let admin = s.admin();
        let (status, p1) = call("POST", &s.url("/v1/admin/publish"), Some(&admin), None);
        assert_eq!(status, 200, "{}: {p1}", db.name());
        let (_, p2) = call("POST", &s.url("/v1/admin/publish"), Some(&admin), None);
        assert!(p2["sequence"].as_u64() > p1["sequence"].as_u64(), "two in one second rise: {p1} {p2}");
        let mut v = s.city.verifier(Scene::MetroGate);
        // Revoke a batch's instance; publish; the verifier applies it.
        let (_, body, keys) = s.batch(&s.token(0), 1);
        let instance = &credentials(&body)[0];
        call(
            "POST",
            &s.url(&format!("/v1/staff/instances/{}/revoke", citycode::text::hex(&instance.subject.0))),
            Some(&s.staff()),
            None,
        );
        // A restart: a new service on the same database and directory.
        drop(s.server);
        let service = s.city.service(db.open(), &s.idp, s.clock.clone(), Buf::default());
        let p3 = service.publish("restart").unwrap();
        assert!(p3["sequence"].as_u64() > p2["sequence"].as_u64(), "{p3}");
        assert_eq!(p3["entries"], 1);
        v.update_from(&mut citycode::distribution::DirectorySource(s.city.dir.join("public"))).unwrap();
        let code = citycode::present(instance, &keys[0], &Scene::MetroGate, START, PresentOptions::default()).unwrap();
        assert_eq!(v.verify_at(&code.to_text(), START).unwrap_err().reason, citycode::Reason::Revoked);
        // A fresh database against the same directory still goes above what it holds.
        let other = databases("publish-fresh").into_iter().find(|d| d.name() == db.name()).unwrap();
        let fresh = s.city.service(other.open(), &s.idp, s.clock.clone(), Buf::default());
        let p4 = fresh.publish("fresh store").unwrap();
        assert!(p4["sequence"].as_u64() > p3["sequence"].as_u64());
        // Once the instance has expired its entry leaves the list.
        s.clock.advance(8 * 86_400);
        let p5 = service.publish("later").unwrap();
        assert_eq!(p5["entries"], 0);
    }
}

#[test]
fn two_services_on_one_postgres_consume_a_challenge_once() {
    let url = postgres_db();
    let city = City::new("two");
    let idp = Idp::new();
    let clock = TestClock::at(START);
    let a =
        city.service(citycode_issuer::store::Store::postgres(&url, 4).unwrap(), &idp, clock.clone(), Buf::default());
    let b =
        city.service(citycode_issuer::store::Store::postgres(&url, 4).unwrap(), &idp, clock.clone(), Buf::default());
    import(&a, 1);
    let (ra, rb) =
        (run(router(a.clone(), Default::default(), "http://a")), run(router(b, Default::default(), "http://b")));
    let token = idp.token("login-0", START, &[]);
    for round in 0..5 {
        let challenge = nonce(&ra.base, &token);
        // Two different batches over one challenge, one to each instance, at once.
        let bodies: Vec<Value> = (0..2).map(|_| credential_body(&challenge, &key_requests(2, &challenge).1)).collect();
        let urls = [format!("{}/v1/credential", ra.base), format!("{}/v1/credential", rb.base)];
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = bodies
            .into_iter()
            .zip(urls)
            .map(|(body, url)| {
                let (token, barrier) = (token.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    call("POST", &url, Some(&token), Some(body))
                })
            })
            .collect();
        let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = results.iter().filter(|(s, _)| *s == 200).count();
        let used = results.iter().filter(|(_, b)| reason(b) == "challenge_used").count();
        assert_eq!((ok, used), (1, 1), "round {round}: {results:?}");
    }
    assert_eq!(a.store.outstanding(1, None, START as i64).unwrap(), 10);
}

#[test]
fn an_import_with_a_bad_row_keeps_nothing_and_names_the_row() {
    for db in databases("import") {
        let s = setup(&db, 0);
        let csv = "ref,login,social_security_status\nA1,la1,retired\nA2,la2,wealthy\n";
        let send = |token: &str, ctype: &str, body: &str| {
            let mut r = agent()
                .post(&s.url("/v1/admin/residents"))
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", ctype)
                .send(body)
                .unwrap();
            (r.status().as_u16(), serde_json::from_str::<Value>(&r.body_mut().read_to_string().unwrap()).unwrap())
        };
        let (status, body) = send(&s.admin(), "text/csv", csv);
        assert_eq!((status, reason(&body)), (400, "import_row"), "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with("row 3:"), "{body}");
        assert!(s.service.store.resident_by_ref("A1").unwrap().is_none(), "nothing half-imported");
        let (status, _) = send(&s.staff(), "text/csv", "ref,social_security_status\nA1,retired\n");
        assert_eq!(status, 403);
        let (status, body) =
            send(&s.admin(), "text/csv", "ref,login,social_security_status\nA1,la1,retired\nA2,la2,retired\n");
        assert_eq!((status, body["imported"].as_u64()), (200, Some(2)));
        let (status, body) = send(&s.admin(), "application/x-ndjson", &residents(2));
        assert_eq!((status, body["imported"].as_u64()), (200, Some(2)));
        // A login that another resident has: the row is named, nothing kept.
        let clash = "ref,login,social_security_status\nB1,lb1,retired\nB2,la1,retired\n";
        let (status, body) = send(&s.admin(), "text/csv", clash);
        assert_eq!((status, reason(&body)), (400, "import_row"));
        assert!(s.service.store.resident_by_ref("B1").unwrap().is_none());
    }
}

#[test]
fn a_revoked_resident_gets_nothing_more_and_every_instance_is_listed() {
    for db in databases("revoke") {
        let s = setup(&db, 2);
        let (status, _, _) = s.batch(&s.token(0), 3);
        assert_eq!(status, 200);
        call("POST", &s.url("/v1/staff/residents/R0/printed"), Some(&s.staff()), None);
        let (status, body) = call("POST", &s.url("/v1/staff/residents/R0/revoke"), Some(&s.staff()), None);
        assert_eq!((status, body["revoked_entries"].as_u64()), (200, Some(4)), "{}: {body}", db.name());
        let (status, body) = call("POST", &s.url("/v1/nonce"), Some(&s.token(0)), None);
        assert_eq!((status, reason(&body)), (403, "resident_revoked"));
        let (status, body) = call("POST", &s.url("/v1/staff/residents/R0/printed"), Some(&s.staff()), None);
        assert_eq!((status, reason(&body)), (403, "resident_revoked"));
        // The other resident is untouched.
        let (status, _, _) = s.batch(&s.token(1), 1);
        assert_eq!(status, 200);
    }
}

#[test]
fn the_openapi_document_matches_the_running_service() {
    let db = Db::Sqlite(temp_dir("openapi").join("issuer.db"));
    let s = setup(&db, 2);
    let (status, doc) = call("GET", &s.url("/openapi.json"), None, None);
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    // Each route called once with what it needs (a valid call where one is cheap).
    let staff = s.staff();
    let admin = s.admin();
    let resident = s.token(0);
    let mut checked = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let concrete = path
                .replace("{ref}", "R1")
                .replace("{device}", "phone-x")
                .replace("{id}", "1")
                .replace("{subject}", "0102030405060708");
            let token = if path.starts_with("/v1/admin") {
                Some(admin.as_str())
            } else if path.starts_with("/v1/staff") {
                Some(staff.as_str())
            } else if path.starts_with("/v1/") {
                Some(resident.as_str())
            } else {
                None
            };
            let body = match path.as_str() {
                "/v1/credential" => {
                    let challenge = nonce(&s.server.base, &resident);
                    Some(credential_body(&challenge, &key_requests(1, &challenge).1))
                }
                "/v1/guardianships/invitations" => Some(json!({"relation": "parent"})),
                "/v1/guardianships" => Some(json!({"invitation": "AAAA"})),
                "/v1/staff/guardianships" => {
                    Some(json!({"guardian": "R0", "dependant": "R1", "relation": "child", "authority_reference": "x"}))
                }
                _ => None,
            };
            let (status, value) = call(&method.to_uppercase(), &s.url(&concrete), token, body);
            let documented = &op["responses"][status.to_string()];
            assert!(documented.is_object(), "{method} {path} answered {status}: {value}");
            if let Some(schema) = documented["content"]["application/json"]["schema"].as_object() {
                let schema = match schema.get("$ref").and_then(Value::as_str) {
                    Some(r) => doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone(),
                    None => Value::Object(schema.clone()),
                };
                if let Some(required) = schema["required"].as_array() {
                    for k in required {
                        assert!(value.get(k.as_str().unwrap()).is_some(), "{method} {path}: {value} lacks {k}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 21);
    assert_eq!(call("GET", &s.url("/nope"), None, None).0, 404);
    let (_, meta) = call("GET", &s.url("/.well-known/openid-credential-issuer"), None, None);
    assert_eq!(meta["batch_credential_issuance"]["batch_size"], 64);
    assert_eq!(meta["nonce_endpoint"], "http://issuer.test/v1/nonce");
}

// ---- The binary: a trial city in one command, environment overrides, SIGTERM, bad config.

struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_runs_a_trial_city_and_refuses_a_bad_configuration_clearly() {
    let bin = env!("CARGO_BIN_EXE_citycode-issuer");
    let dir = temp_dir("binary");
    let trial = dir.join("trial");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Process(
        std::process::Command::new(bin)
            .arg("trial")
            .arg(&trial)
            .env("CITYCODE_LISTEN", format!("127.0.0.1:{port}"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    eventually(|| agent().get(&format!("{base}/livez")).call().is_ok());
    let (status, ready) = call("GET", &format!("{base}/readyz"), None, None);
    assert_eq!((status, ready["store"].as_str()), (200, Some("sqlite")), "{ready}");
    assert_eq!(ready["attestation"], "record", "the trial city records attestations: {ready}");
    let token = |sub: &str, role: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("trial-token")
            .arg(&trial)
            .args(["--sub", sub])
            .args(role)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let admin = token("admin", &["--role", "admin"]);
    let mut r = agent()
        .post(&format!("{base}/v1/admin/residents"))
        .header("Authorization", &format!("Bearer {admin}"))
        .header("Content-Type", "application/x-ndjson")
        .send(residents(1))
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.body_mut().read_to_string().unwrap());
    let resident = token("login-0", &[]);
    let challenge = nonce(&base, &resident);
    let (_, requests) = key_requests(2, &challenge);
    let (status, body) =
        call("POST", &format!("{base}/v1/credential"), Some(&resident), Some(credential_body(&challenge, &requests)));
    assert_eq!(status, 200, "{body}");
    let (status, published) = call("POST", &format!("{base}/v1/admin/publish"), Some(&admin), None);
    assert_eq!(status, 200, "{published}");
    assert!(trial.join("public/status.bin").exists());
    // SIGTERM drains and stops.
    let pid = server.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(15), "SIGTERM did not stop it");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");

    // The demo's issuing step: a phone's batch through the service, two codes accepted.
    let out = std::process::Command::new(bin).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("\"decision\":\"accept\"").count(), 2, "{text}");
    assert!(text.contains("5 instances") && text.contains("3 instances left"), "{text}");

    // A bad configuration: exit 2 and the setting named.
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = std::process::Command::new(bin);
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let config = trial.join("issuer.toml");
    let config = config.to_str().unwrap();
    let out = run(&["serve", "--config", config], &[("CITYCODE_INSTANCE_VALID_DAYS", "0")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits.instance_valid_days = 0 is out of range"));
    let out = run(&["serve", "--config", config], &[("CITYCODE_DB_POOL", "many")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("CITYCODE_DB_POOL"));
    let out = run(&["serve", "--config", config], &[("CITYCODE_DATABASE", "mysql://x")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give sqlite:<path> or postgres://"));
    // An attestation mode that does not exist; `require` without Google's revocation
    // status list (a revoked attestation key would enrol phones).
    let out = run(&["serve", "--config", config], &[("CITYCODE_ATTESTATION_MODE", "strict")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CITYCODE_ATTESTATION_MODE = \"strict\": give require"));
    let out = run(&["serve", "--config", config], &[("CITYCODE_ATTESTATION_MODE", "require")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs attestation_trust.status_list"));
    std::fs::write(dir.join("bad.toml"), std::fs::read_to_string(trial.join("issuer.toml")).unwrap() + "now = 5\n")
        .unwrap();
    let out = run(&["serve", "--config", dir.join("bad.toml").to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"), "{}", String::from_utf8_lossy(&out.stderr));
}
