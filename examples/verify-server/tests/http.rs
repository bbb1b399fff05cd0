//! The service on loopback, driven by a real HTTP client (ureq): in process with a
//! fixed clock, and as the built binary (config file, environment, SIGHUP, SIGTERM).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::distribution::{ListFile, ListStatus, STATUS_FILE};
use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
use citycode::{
    Algorithm, CardLayout, Clock, CredentialRequest, FixedClock, Issuer, KeyPair, PresentOptions, Scene, Subject,
    SystemClock, Verifier, present,
};
use citycode_verify_server::config::ServerConfig;
use citycode_verify_server::{HttpSource, Limits, Lists, Service, serve};
use serde_json::{Value, json};

/// A log sink the test can read.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Serves `app` on a loopback port from a thread of its own; stops when dropped.
struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(app: axum::Router, limits: Limits) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve(listener, app, limits, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    Running { base: format!("http://{addr}"), stop: Some(tx), thread: Some(thread) }
}

fn limits() -> Limits {
    Limits { header_read: Duration::from_millis(500), ..Limits::default() }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn post(url: &str, body: Value) -> (u16, Value) {
    let mut resp = agent().post(url).send_json(body).unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    // Refused requests (422, 413) answer in plain text.
    (resp.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn get(url: &str) -> (u16, String) {
    let mut resp = agent().get(url).call().unwrap();
    (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap())
}

fn get_json(url: &str) -> (u16, Value) {
    let (status, body) = get(url);
    (status, serde_json::from_str(&body).unwrap())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("citycode-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo city's lists in a directory, as `citycode verify-server --trust-list` reads them.
fn demo_files(city: &DemoCity, name: &str) -> Lists {
    let dir = temp_dir(name);
    std::fs::write(dir.join("trust.bin"), &city.trust_list).unwrap();
    std::fs::write(dir.join("rev.bin"), &city.revocation_list).unwrap();
    Lists::Files { trust: dir.join("trust.bin"), revocations: vec![dir.join("rev.bin")] }
}

fn demo_service(city: &DemoCity, lists: Lists, log: Buf) -> Arc<Service> {
    let v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    let s = Arc::new(Service::new(v, Arc::new(FixedClock(demo::NOW)), lists, Box::new(log)).with_verdict_log());
    let _ = s.reload();
    s
}

fn code(city: &DemoCity, n: u8, at: u64) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
    present(&city.credential, &city.device, &[4], at, opts).unwrap().to_text()
}

#[test]
fn verify_and_batch_over_http_on_the_services_own_clock() {
    let city = DemoCity::new().unwrap();
    let log = Buf::default();
    let service = demo_service(&city, demo_files(&city, "basic"), log.clone());
    let server = run(service.clone().router(limits()), limits());
    let base = &server.base;
    assert_eq!(get(&format!("{base}/livez")), (200, "ok".to_string()));
    let (status, ready) = get_json(&format!("{base}/readyz"));
    assert_eq!(status, 200, "{ready}");
    assert_eq!(
        ready["lists"][0],
        json!({"name": "trust-list.bin", "sequence": 1, "issued_at": demo::NOW - 3600, "expires_at": demo::NOW + 30 * 86_400})
    );

    let (status, one) = post(&format!("{base}/verify"), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(status, 200);
    assert_eq!(one["decision"], "accept");
    assert_eq!(one["revocation_checked"], true);
    assert_eq!(one["claims"]["transit"]["fare_class"], "senior_free");
    let (_, again) = post(&format!("{base}/verify"), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(again["reason"], "replayed");
    let (_, junk) = post(&format!("{base}/verify"), json!({"text": "HC1:xyz"}));
    assert_eq!(junk["reason"], "text_prefix");
    // A keyboard-wedge scanner's Enter is the one terminator the verifier strips.
    let (_, wedge) = post(&format!("{base}/verify"), json!({"text": format!("{}\r\n", code(&city, 9, demo::NOW))}));
    assert_eq!(wedge["decision"], "accept");
    // Longer than any QR symbol: refused before decoding.
    let (_, huge) = post(&format!("{base}/verify"), json!({"text": format!("CC1:{}", "1".repeat(200_000))}));
    assert_eq!(huge["reason"], "text_too_long");

    // Defect 1 of the fail-closed issue: a client that sends its own "now" to bring an
    // hour-old code back to life is refused outright, and the code stays expired.
    let old = code(&city, 2, demo::NOW - 3600);
    let (status, _) = post(&format!("{base}/verify"), json!({"text": old, "now": demo::NOW - 3600}));
    assert_eq!(status, 422);
    let (_, stale) = post(&format!("{base}/verify"), json!({"text": old}));
    assert_eq!(stale["reason"], "code_expired");

    let texts =
        vec![code(&city, 3, demo::NOW), code(&city, 4, demo::NOW), "CC1:123".to_string(), code(&city, 3, demo::NOW)];
    let (status, batch) = post(&format!("{base}/verify/batch"), json!({"texts": texts}));
    assert_eq!(status, 200);
    let outcomes: Vec<Value> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.get("reason").cloned().unwrap_or(r["decision"].clone()))
        .collect();
    assert_eq!(outcomes, vec![json!("accept"), json!("accept"), json!("unsupported_version"), json!("replayed")]);
    let (status, _) = post(&format!("{base}/verify/batch"), json!({"texts": texts, "now": 1}));
    assert_eq!(status, 422);
    let (status, _) = post(&format!("{base}/verify/batch"), json!({"texts": vec!["x"; 2000]}));
    assert_eq!(status, 413);
    let bad =
        agent().post(&format!("{base}/verify")).header("content-type", "application/json").send("{not json").unwrap();
    assert!(bad.status().is_client_error());
    // Over the body cap: 413, announced as soon as the length is read; the server may
    // close before the client has written it all, which the client sees as a broken
    // pipe or a reset. Either way nothing was verified.
    let big =
        agent().post(&format!("{base}/verify")).header("content-type", "application/json").send(vec![b' '; 2 << 20]);
    match big {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
        Err(ureq::Error::Io(e)) => {
            assert!(matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset), "{e}")
        }
        Err(e) => panic!("{e}"),
    }

    // Metrics count outcomes; logs carry outcomes, never claims or subjects.
    let (_, metrics) = get(&format!("{base}/metrics"));
    assert!(metrics.contains("citycode_verdicts_total{outcome=\"accept\"} 4"), "{metrics}");
    assert!(metrics.contains("citycode_verdicts_total{outcome=\"replayed\"} 2"), "{metrics}");
    assert!(metrics.contains("citycode_verify_seconds_count 10"), "{metrics}");
    assert!(metrics.contains("citycode_list_sequence{list=\"trust-list.bin\"} 1"), "{metrics}");
    assert!(metrics.contains("citycode_list_sequence{list=\"revocation-root.bin\"} 1"), "{metrics}");
    assert!(metrics.contains("citycode_ready 1"), "{metrics}");
    let logs = log.text();
    assert_eq!(logs.lines().filter(|l| l.contains("\"msg\":\"verdict\"")).count(), 10, "{logs}");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    for secret in [city.credential.subject.to_hex().as_str(), "senior_free", "claims", "CC1:"] {
        assert!(!logs.contains(secret), "log holds {secret}: {logs}");
    }
}

#[test]
fn missing_or_expired_lists_refuse_every_code_and_readiness_says_so() {
    let city = DemoCity::new().unwrap();
    // No file where the trust list should be.
    let log = Buf::default();
    let lists = Lists::Files { trust: temp_dir("missing").join("nope.bin"), revocations: vec![] };
    let service = demo_service(&city, lists, log.clone());
    let server = run(service.router(limits()), limits());
    let (status, ready) = get_json(&format!("{}/readyz", server.base));
    assert_eq!((status, ready["reason"].as_str()), (503, Some("no_trust_list")));
    assert_eq!(get(&format!("{}/health", server.base)).0, 503);
    assert_eq!(get(&format!("{}/livez", server.base)).0, 200);
    let (_, verdict) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(verdict["reason"], "no_trust_list");
    assert!(log.text().contains("\"level\":\"error\""), "{}", log.text());

    // A trust list only: no revocation list, so every code is refused.
    let dir = temp_dir("norev");
    std::fs::write(dir.join("trust.bin"), &city.trust_list).unwrap();
    let service =
        demo_service(&city, Lists::Files { trust: dir.join("trust.bin"), revocations: vec![] }, Buf::default());
    assert_eq!(service.readiness().unwrap_err().reason.code(), "no_revocation_list");

    // A list that is already expired at start: a warning, not ready, every code refused.
    let dir = temp_dir("expired");
    let mut trust = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    trust.expires_at = demo::NOW as u32 - 1;
    std::fs::write(dir.join("trust.bin"), trust.sign(&city.root).unwrap()).unwrap();
    std::fs::write(dir.join("rev.bin"), &city.revocation_list).unwrap();
    let log = Buf::default();
    let lists = Lists::Files { trust: dir.join("trust.bin"), revocations: vec![dir.join("rev.bin")] };
    let service = demo_service(&city, lists, log.clone());
    let server = run(service.router(limits()), limits());
    let (status, ready) = get_json(&format!("{}/readyz", server.base));
    assert_eq!((status, ready["reason"].as_str()), (503, Some("trust_list_expired")));
    let (_, verdict) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(verdict["reason"], "trust_list_expired");
    assert!(log.text().contains("not ready"), "{}", log.text());
}

/// A static web server for a published directory whose files the test can swap.
fn mirror(files: Arc<Mutex<HashMap<String, Vec<u8>>>>) -> Running {
    use axum::extract::Path as UrlPath;
    let app = axum::Router::new().route(
        "/lists/{name}",
        axum::routing::get(move |UrlPath(name): UrlPath<String>| {
            let files = files.clone();
            async move {
                match files.lock().unwrap().get(&name) {
                    Some(b) => (axum::http::StatusCode::OK, b.clone()),
                    None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        }),
    );
    run(app, limits())
}

fn publication(city: &DemoCity, sequence: u64, revocation: &[u8]) -> HashMap<String, Vec<u8>> {
    let now = demo::NOW as u32;
    let status =
        ListStatus::describe(sequence, now, now + 600, &city.root.public_key(), &city.trust_list, &[revocation])
            .unwrap();
    HashMap::from([
        (STATUS_FILE.to_string(), status.sign(&city.root).unwrap()),
        (ListFile::Trust.file_name(), city.trust_list.clone()),
        (ListFile::Revocation(ListSigner::Root).file_name(), revocation.to_vec()),
    ])
}

fn revocations(city: &DemoCity, sequence: u64, entries: Vec<Revoked>) -> Vec<u8> {
    let now = demo::NOW as u32;
    RevocationList { signer: ListSigner::Root, sequence, issued_at: now, expires_at: now + 3600, entries }
        .sign(&city.root)
        .unwrap()
}

#[test]
fn lists_reach_the_service_over_http_and_a_stale_mirror_is_refused() {
    let city = DemoCity::new().unwrap();
    let files = Arc::new(Mutex::new(publication(&city, 1, &revocations(&city, 1, vec![]))));
    let lists = mirror(files.clone());
    let source = HttpSource::new(&format!("{}/lists/", lists.base));
    let log = Buf::default();
    let service = demo_service(&city, Lists::Published(Box::new(source)), log.clone());
    let server = run(service.clone().router(limits()), limits());
    let (status, ready) = get_json(&format!("{}/readyz", server.base));
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status_sequence"], 1);
    let (_, ok) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(ok["decision"], "accept");

    // Publication 2 revokes the phone; the next reload picks it up.
    let old = files.lock().unwrap().clone();
    let device = city.device.public_key().key_id();
    *files.lock().unwrap() = publication(&city, 2, &revocations(&city, 2, vec![Revoked::DeviceKey(device)]));
    assert_eq!(service.reload().unwrap()["loaded"], json!(["revocation-root.bin"]));
    let (_, revoked) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 2, demo::NOW)}));
    assert_eq!(revoked["reason"], "revoked");

    // The load balancer now sends the service to a stale mirror: refused, logged,
    // counted, and the newer list stays in force.
    *files.lock().unwrap() = old;
    assert_eq!(service.reload().unwrap_err().reason.code(), "list_status_rollback");
    let (_, still) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 3, demo::NOW)}));
    assert_eq!(still["reason"], "revoked");
    let (_, metrics) = get(&format!("{}/metrics", server.base));
    assert!(metrics.contains("citycode_list_updates_total{result=\"list_status_rollback\"} 1"), "{metrics}");
    assert!(metrics.contains("citycode_list_sequence{list=\"revocation-root.bin\"} 2"), "{metrics}");
    assert!(log.text().contains("list_status_rollback"));

    // The mirror goes away: the service keeps serving with what it holds.
    drop(lists);
    assert_eq!(service.reload().unwrap_err().reason.code(), "list_unavailable");
    assert_eq!(get(&format!("{}/readyz", server.base)).0, 200);
}

#[test]
fn a_restart_against_a_stale_mirror_keeps_refusing_the_revoked_phone() {
    let city = DemoCity::new().unwrap();
    let device = city.device.public_key().key_id();
    let first = publication(&city, 1, &revocations(&city, 1, vec![]));
    let second = publication(&city, 2, &revocations(&city, 2, vec![Revoked::DeviceKey(device)]));
    let files = Arc::new(Mutex::new(first.clone()));
    let lists = mirror(files.clone());
    let dir = temp_dir("restart");
    let state = dir.join("state").join("list-state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let root = citycode::text::hex(&city.root.public_key().to_bytes());
    let config = |more: String| {
        ServerConfig::from_toml(&format!(
            "root_alg = \"ed25519\"\nroot_key = \"{root}\"\nscene = {{ kind = \"metro_gate\" }}\nlists_url = \"{}/lists/\"\n{more}\n",
            lists.base
        ))
        .unwrap()
    };
    let with_state = config(format!("list_state_file = \"{}\"", state.display()));
    let log = Buf::default();
    let start = |c: &ServerConfig| c.service(Arc::new(FixedClock(demo::NOW)), Box::new(log.clone())).unwrap();

    // The first process: publication 1, then 2, which revokes the phone.
    let service = start(&with_state);
    service.reload().unwrap();
    assert_eq!(service.verify(&code(&city, 1, demo::NOW)).outcome(), "accept");
    *files.lock().unwrap() = second.clone();
    service.reload().unwrap();
    assert_eq!(service.verify(&code(&city, 2, demo::NOW)).outcome(), "revoked");
    drop(service);
    let saved = citycode::ListState::from_json(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved.status().map(|s| s.sequence), Some(2));
    assert_eq!(saved.revocation_list(ListSigner::Root).map(|l| l.sequence), Some(2));

    // A new process, and the load balancer sends it to a stale mirror serving publication
    // 1, unexpired: refused, so the phone it no longer revokes stays refused (the server
    // is not ready: it holds no list it may use).
    *files.lock().unwrap() = first.clone();
    let restarted = start(&with_state);
    assert_eq!(restarted.reload().unwrap_err().reason.code(), "list_status_rollback");
    assert_ne!(restarted.verify(&code(&city, 3, demo::NOW)).outcome(), "accept");
    assert!(restarted.readiness().is_err());
    // The same restart without the state file: the stale publication loads and the
    // revoked phone is accepted again. This is the hole the file closes.
    let forgetful = start(&config("no_list_state = true".into()));
    forgetful.reload().unwrap();
    assert_eq!(forgetful.verify(&code(&city, 4, demo::NOW)).outcome(), "accept");

    // The mirror catches up: publication 2 loads again and the phone stays revoked.
    *files.lock().unwrap() = second;
    restarted.reload().unwrap();
    assert_eq!(restarted.verify(&code(&city, 5, demo::NOW)).outcome(), "revoked");
    assert!(restarted.readiness().is_ok());

    // A state that cannot be saved (its directory gone): publication 3 does not take
    // effect, the reload fails with list_state_unavailable, and it is logged and counted.
    let third = publication(&city, 3, &revocations(&city, 3, vec![]));
    *files.lock().unwrap() = third;
    std::fs::remove_dir_all(state.parent().unwrap()).unwrap();
    assert_eq!(restarted.reload().unwrap_err().reason.code(), "list_state_unavailable");
    assert_eq!(restarted.verify(&code(&city, 6, demo::NOW)).outcome(), "revoked");
    assert!(restarted.metrics_text().contains("citycode_list_updates_total{result=\"list_state_unavailable\"} 1"));
    assert!(log.text().contains("list_state_unavailable"));
}

#[test]
fn header_reads_have_a_deadline_so_half_open_connections_are_closed() {
    let city = DemoCity::new().unwrap();
    let service = demo_service(&city, demo_files(&city, "slowloris"), Buf::default());
    let server = run(service.router(limits()), limits());
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut idle: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"POST /verify HTTP/1.1\r\nHost: x\r\n").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s
        })
        .collect();
    let start = Instant::now();
    for s in &mut idle {
        let mut buf = [0u8; 256];
        // The server answers 408 or just closes: either way the read ends, never hangs.
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                // A reset is a close too; only the read timeout means it is still open.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("connection still open after {:?}: {e}", start.elapsed()),
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
    // And the service still answers.
    assert_eq!(get(&format!("{}/livez", server.base)).0, 200);
}

#[test]
fn the_openapi_document_matches_the_running_service() {
    let city = DemoCity::new().unwrap();
    let service = demo_service(&city, demo_files(&city, "openapi"), Buf::default());
    let server = run(service.router(limits()), limits());
    let (status, doc) = get_json(&format!("{}/openapi.json", server.base));
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    let valid = json!({"text": code(&city, 1, demo::NOW)});
    let mut checked = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let url = format!("{}{path}", server.base);
            let (status, body) = match method.as_str() {
                "get" => get(&url),
                "post" => {
                    let body = if path == "/verify" { valid.clone() } else { json!({"texts": [valid["text"]]}) };
                    let mut r = agent().post(&url).send_json(body).unwrap();
                    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
                }
                other => panic!("undocumented method {other}"),
            };
            let documented = &op["responses"][status.to_string()];
            assert!(documented.is_object(), "{method} {path} answered {status}, which the document does not list");
            // Every required property of a documented JSON object is in the answer.
            if let Some(schema) = documented["content"]["application/json"]["schema"].as_object() {
                let value: Value = serde_json::from_str(&body).unwrap();
                let schema = match schema.get("$ref").and_then(Value::as_str) {
                    Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
                    None => &Value::Object(schema.clone()),
                };
                let variants = schema["oneOf"].as_array().cloned().unwrap_or_else(|| vec![schema.clone()]);
                let fits = |s: &Value| {
                    s["required"]
                        .as_array()
                        .is_none_or(|req| req.iter().all(|k| value.get(k.as_str().unwrap()).is_some()))
                };
                assert!(variants.iter().any(fits), "{method} {path}: {value} lacks a required field of {schema}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 7);
    // And every route the service has is documented.
    for path in ["/verify", "/verify/batch", "/livez", "/readyz", "/health", "/metrics", "/openapi.json"] {
        assert!(paths.contains_key(path), "{path} undocumented");
    }
    assert_eq!(get(&format!("{}/nope", server.base)).0, 404);
}

// ---- The binary: real clock, config file, environment, P-256 root, SIGHUP, SIGTERM.

/// A city made now, on the real clock: a P-256 root, or every key SM2.
struct LiveCity {
    root: KeyPair,
    issuer: Issuer,
    trust: Vec<u8>,
    device: KeyPair,
    credential: Option<citycode::Credential>,
    now: u32,
}

impl LiveCity {
    fn new() -> Self {
        LiveCity::with(Algorithm::EcdsaP256Sha256, Algorithm::Ed25519)
    }

    /// A GM-only city: root, issuer and device keys SM2.
    fn gm() -> Self {
        LiveCity::with(Algorithm::Sm2Sm3, Algorithm::Sm2Sm3)
    }

    fn with(root: Algorithm, keys: Algorithm) -> Self {
        let now = SystemClock.now() as u32;
        let root = KeyPair::generate(root).unwrap();
        let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
        let issuer = Issuer::new(1, KeyPair::generate(keys).unwrap(), all.clone());
        let trust = TrustList {
            sequence: 1,
            issued_at: now - 60,
            expires_at: now + 3600,
            keys: vec![IssuerKey {
                kid: 1,
                key: issuer.public_key(),
                not_before: now - 60,
                not_after: now + 86_400,
                domains: all,
            }],
        }
        .sign(&root)
        .unwrap();
        let device = KeyPair::generate(keys).unwrap();
        let mut city = LiveCity { root, issuer, trust, credential: None, device, now };
        city.credential = Some(city.issue(&city.device));
        city
    }

    /// A credential for `device`'s key, every domain, valid today and tomorrow.
    fn issue(&self, device: &KeyPair) -> citycode::Credential {
        self.issuer
            .issue(&CredentialRequest {
                device_key: citycode::ProvenKey::by_signing(device).unwrap(),
                subject: Subject(*b"liveresi"),
                valid_from_day: (self.now / 86_400) as u16,
                valid_days: 2,
                claims: demo::resident_claims(),
                layout: CardLayout::Standard,
            })
            .unwrap()
    }

    fn revocations(&self, sequence: u64, entries: Vec<Revoked>) -> Vec<u8> {
        RevocationList { signer: ListSigner::Root, sequence, issued_at: self.now, expires_at: self.now + 3600, entries }
            .sign(&self.root)
            .unwrap()
    }

    fn code(&self) -> String {
        let credential = self.credential.as_ref().unwrap();
        present(credential, &self.device, &[4], SystemClock.now(), PresentOptions::default()).unwrap().to_text()
    }
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_binary(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_citycode-verify-server"));
    cmd.current_dir(dir).args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Process(cmd.spawn().unwrap())
}

fn wait_live(base: &str) {
    let start = Instant::now();
    while agent().get(&format!("{base}/livez")).call().is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_binary_runs_from_a_config_file_reloads_on_sighup_and_stops_on_sigterm() {
    let city = LiveCity::new();
    let dir = temp_dir("binary");
    std::fs::write(dir.join("trust.bin"), &city.trust).unwrap();
    std::fs::write(dir.join("rev.bin"), city.revocations(1, vec![])).unwrap();
    let port = free_port();
    let root_hex = citycode::text::hex(&city.root.public_key().to_bytes());
    let config = format!(
        "root_alg = \"ecdsa_p256_sha256\"\nroot_key = \"{root_hex}\"\ntrust_list = \"trust.bin\"\nrevocation_list = [\"rev.bin\"]\nscene = {{ kind = \"metro_gate\" }}\nlisten = \"127.0.0.1:{port}\"\nlist_state_file = \"state.json\"\n"
    );
    std::fs::write(dir.join("server.toml"), config).unwrap();
    // The reload period from the environment: an hour, so only SIGHUP reloads here.
    let mut server = start_binary(&dir, &["--config", "server.toml"], &[("CITYCODE_REFRESH_SECS", "3600")]);
    let base = format!("http://127.0.0.1:{port}");
    wait_live(&base);
    assert_eq!(get_json(&format!("{base}/readyz")).0, 200);
    let (_, ok) = post(&format!("{base}/verify"), json!({"text": city.code()}));
    assert_eq!(ok["decision"], "accept", "a P-256 root works: {ok}");

    // The operator revokes the phone and sends SIGHUP: no restart.
    let device = city.device.public_key().key_id();
    std::fs::write(dir.join("rev.bin"), city.revocations(2, vec![Revoked::DeviceKey(device)])).unwrap();
    let pid = server.0.id().to_string();
    let kill = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    kill("-HUP");
    let start = Instant::now();
    loop {
        let (_, verdict) = post(&format!("{base}/verify"), json!({"text": city.code()}));
        if verdict["reason"] == "revoked" {
            break;
        }
        assert_eq!(verdict["decision"], "accept");
        assert!(start.elapsed() < Duration::from_secs(10), "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.0.try_wait().unwrap().is_none(), "SIGHUP must not stop the server");

    kill("-TERM");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "SIGTERM did not stop the server");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn the_binary_refuses_a_bad_configuration_with_a_clear_error() {
    let dir = temp_dir("badconfig");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_citycode-verify-server"));
        cmd.current_dir(&dir).args(args).env_remove("CITYCODE_CONFIG");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let lists = ["--trust-list", "t.bin", "--no-list-state", "--scene", "parking"];
    let (code, err) = run(&lists, &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("missing field `root_alg`"), "{err}");
    let (code, err) = run(&[&lists[..], &["--root-alg", "ed25519", "--root-key", "00"]].concat(), &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("configuration") && err.contains("malformed"), "{err}");
    std::fs::write(dir.join("c.toml"), "now = 5\n").unwrap();
    let (code, err) = run(&["--config", "c.toml"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown field now"), "{err}");
    // What core's VerifierConfig refuses, from the environment: GM-only with an Ed25519
    // root. The server never starts listening.
    let root = citycode::text::hex(&KeyPair::generate(Algorithm::Ed25519).unwrap().public_key().to_bytes());
    let env = [("CITYCODE_ROOT_ALG", "ed25519"), ("CITYCODE_ROOT_KEY", root.as_str()), ("CITYCODE_GM_ONLY", "true")];
    let (code, err) = run(&lists, &env);
    assert_eq!(code, Some(2));
    assert!(err.contains("unsupported_algorithm") && err.contains("SM2 root"), "{err}");
    // The old spelling of a scene, the root from the environment.
    let (code, err) = run(&["--trust-list", "t.bin", "--no-list-state", "--scene", "metro-gate"], &env[..2]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown variant `metro-gate`"), "{err}");
}

#[test]
fn a_gm_only_city_runs_the_binary_on_an_sm2_root() {
    let city = LiveCity::gm();
    let dir = temp_dir("gm");
    std::fs::write(dir.join("trust.bin"), &city.trust).unwrap();
    std::fs::write(dir.join("rev.bin"), city.revocations(1, vec![])).unwrap();
    let port = free_port();
    let root_hex = citycode::text::hex(&city.root.public_key().to_bytes());
    assert_eq!(root_hex.len(), 66, "a compressed SM2 point: 33 bytes, which the old server read as P-256");
    let config = format!(
        "root_alg = \"sm2_sm3\"\nroot_key = \"{root_hex}\"\ngm_only = true\nscene = {{ kind = \"metro_gate\" }}\n\
         trust_list = \"trust.bin\"\nrevocation_list = [\"rev.bin\"]\nlisten = \"127.0.0.1:{port}\"\nlist_state_file = \"state.json\"\n"
    );
    std::fs::write(dir.join("gm.toml"), config).unwrap();
    let _server = start_binary(&dir, &["--config", "gm.toml"], &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_live(&base);
    assert_eq!(get_json(&format!("{base}/readyz")).0, 200);
    let (_, ok) = post(&format!("{base}/verify"), json!({"text": city.code()}));
    assert_eq!(ok["decision"], "accept", "an all-SM2 code: {ok}");
    // A phone whose key is P-256, carded by the same SM2 issuer: not GM.
    let p256 = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let credential = city.issue(&p256);
    let text = present(&credential, &p256, &[4], SystemClock.now(), PresentOptions::default()).unwrap().to_text();
    let (_, refused) = post(&format!("{base}/verify"), json!({"text": text}));
    assert_eq!(refused["reason"], "unsupported_algorithm", "{refused}");
}

#[test]
fn a_hung_redis_gives_verdicts_within_the_deadline_and_readiness_drops() {
    let port = free_port();
    let redis = Process(
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test-all.sh installs Debian's redis-server)"),
    );
    let url = format!("redis://127.0.0.1:{port}/");
    let start = Instant::now();
    let _conn = loop {
        match redis::Client::open(url.as_str()).unwrap().get_connection() {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("redis-server did not start: {e}"),
        }
    };

    let city = DemoCity::new().unwrap();
    let store = citycode::RedisReplayStore::new(&url).unwrap().with_deadline(Duration::from_millis(200));
    // A Redis known to be new: no replay window to wait out (SPEC.md §9.1).
    assert!(store.declare_new().unwrap());
    let v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_replay_store(Arc::new(store));
    let service =
        Service::new(v, Arc::new(FixedClock(demo::NOW)), demo_files(&city, "redis"), Box::new(Buf::default()));
    let service = Arc::new(service.with_network_store());
    service.reload().unwrap();
    let server = run(service.router(limits()), limits());
    let (_, ok) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 1, demo::NOW)}));
    assert_eq!(ok["decision"], "accept");

    let pid = redis.0.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let start = Instant::now();
    let (_, refused) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 2, demo::NOW)}));
    assert_eq!(refused["reason"], "replay_store_unavailable");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    let (status, ready) = get_json(&format!("{}/readyz", server.base));
    assert_eq!((status, ready["reason"].as_str()), (503, Some("replay_store_unavailable")));
    let (_, metrics) = get(&format!("{}/metrics", server.base));
    assert!(metrics.contains("citycode_replay_store_errors_total 1"), "{metrics}");
    assert!(metrics.contains("citycode_ready 0"), "{metrics}");

    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    assert_eq!(get(&format!("{}/readyz", server.base)).0, 200);
    let (_, ok) = post(&format!("{}/verify", server.base), json!({"text": code(&city, 3, demo::NOW)}));
    assert_eq!(ok["decision"], "accept");
}
