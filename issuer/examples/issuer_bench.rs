//! Issuance figures for BENCHMARKS.md (a comparison program, not a test):
//!
//! - CPU per instance of in-process `Issuer::issue_batch` (batches of 10, the standard
//!   layout, identity committed afresh per instance), from this process's own CPU time;
//! - CPU per instance of the service over loopback HTTP, on SQLite and on PostgreSQL,
//!   read from the service process's `/proc/<pid>/stat` (the client's work is not
//!   counted), and instances per second as the client sees them;
//! - store bytes per resident after a simulated day (10 codes per resident, i.e. one
//!   batch of 10), scaled to 10 million residents;
//! - the same on SQLite with every key attested: P-256 device keys, each with an Android
//!   key attestation chain from `citycode-attest`'s generator (a TEE chain under its
//!   synthetic P-384 root, which the service is configured to trust), under
//!   `attestation.mode = "require"`, so every batch issued proves every chain verified.
//!
//! ```sh
//! cargo build --release -p citycode-issuer
//! cargo run --release -p citycode-issuer --example issuer_bench -- [residents] [postgres://user@host:port]
//! ```
//!
//! With a server URL (`postgres://postgres@127.0.0.1:5433`) it also runs on PostgreSQL
//! (the database `citycode_bench` is created afresh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../../attest/tests/support/vectors_gen.rs"]
mod vectors_gen;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use citycode::{Algorithm, CardLayout, CredentialRequest, IdentityDocument, KeyPair, ProvenKey, Subject};
use serde_json::{Value, json};

fn cpu_of(pid: &str) -> f64 {
    // utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 Hz).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn claims(today: u64) -> citycode::Claims {
    serde_json::from_value(json!({"health": {"status": "green", "valid_until_day": today + 30},
        "medical_insurance": {"region": 310000, "status": "active"},
        "social_security": {"status": "contributing"},
        "transit": {"account": "active", "fare_class": "standard", "vehicle_payment": true},
        "tourism": {"entries": [{"kind": "pass", "site": 1024, "day": today + 30}]}}))
    .unwrap()
}

fn in_process(batches: usize, identity: bool) -> f64 {
    let issuer = citycode::Issuer::new(1, KeyPair::generate(Algorithm::Ed25519).unwrap(), (1..=7).collect());
    let today = citycode::SystemClock.now_secs() / 86_400;
    let document = IdentityDocument::new("王秀英", "110105194912310021", citycode::claims::IdDigest::Sha256).unwrap();
    let keys: Vec<ProvenKey> =
        (0..10).map(|_| ProvenKey::by_signing(&KeyPair::generate(Algorithm::Ed25519).unwrap()).unwrap()).collect();
    let template = CredentialRequest {
        device_key: keys[0].clone(),
        subject: Subject([0; 8]),
        valid_from_day: today as u16,
        valid_days: 7,
        claims: claims(today),
        layout: CardLayout::Standard,
    };
    let pid = std::process::id().to_string();
    let before = cpu_of(&pid);
    for _ in 0..batches {
        std::hint::black_box(issuer.issue_batch(&template, identity.then_some(&document), &keys).unwrap());
    }
    (cpu_of(&pid) - before) / (batches * 10) as f64
}

trait NowSecs {
    fn now_secs(&self) -> u64;
}
impl NowSecs for citycode::SystemClock {
    fn now_secs(&self) -> u64 {
        use citycode::Clock as _;
        self.now()
    }
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: Option<Value>, ctype: Option<(&str, String)>) -> Value {
    let r = agent.post(url).header("Authorization", &format!("Bearer {token}"));
    let mut resp = match (body, ctype) {
        (Some(b), _) => r.send_json(b).unwrap(),
        (None, Some((ct, text))) => r.header("Content-Type", ct).send(text).unwrap(),
        (None, None) => r.send_empty().unwrap(),
    };
    let status = resp.status().as_u16();
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{url}: {v}");
    v
}

fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("citycode-issuer")
}

/// A P-256 device key's key request over `challenge` and its Android key attestation
/// (TEE, under the synthetic root of `pki`), as a phone would send them.
fn attested_key(pki: &vectors_gen::Pki, challenge: &[u8]) -> (String, Value) {
    let secret = loop {
        let s = citycode::request::random_challenge().unwrap();
        if p256::ecdsa::SigningKey::from_slice(&s).is_ok() {
            break s;
        }
    };
    let device = vectors_gen::Key::P256(p256::ecdsa::SigningKey::from_slice(&secret).unwrap());
    let key = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &secret).unwrap();
    let request = citycode::KeyRequest::sign(&key, challenge).unwrap().to_base64url();
    let bound = citycode_attest::binding::android_challenge(challenge).unwrap();
    let kd = vectors_gen::Kd::new(1, &bound);
    let chain = vec![
        vectors_gen::leaf(&device, &kd.der(), &pki.attest, vec![]),
        pki.attest_cert.clone(),
        pki.inter_cert.clone(),
    ];
    (request, vectors_gen::android_entry(&chain))
}

/// The service on `database`: seconds of its CPU per instance, instances per second
/// (client's view), and store bytes per resident (SQLite file, or PostgreSQL's
/// database size), for `residents` residents each issued one batch of 10; with `pki`,
/// every key attested under it and the service requiring it.
fn over_http(dir: &Path, database: &str, residents: usize, pki: Option<&vectors_gen::Pki>) -> (f64, f64, f64) {
    let _ = std::fs::remove_dir_all(dir);
    // Make the trial city (keys, JWKS, config), then serve it on the chosen database.
    let mut init = Command::new(bin())
        .args(["trial", dir.to_str().unwrap()])
        .env("CITYCODE_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !dir.join("issuer.toml").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = init.kill();
    let _ = init.wait();
    if let Some(pki) = pki {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pki.root_cert);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
        std::fs::write(dir.join("synthetic-root.pem"), pem).unwrap();
        std::fs::write(dir.join("attestation-status.json"), r#"{"entries": {}}"#).unwrap();
        let config = std::fs::read_to_string(dir.join("issuer.toml")).unwrap().replace(
            "mode = \"record\"",
            "mode = \"require\"\n\n[attestation_trust]\nandroid_roots = [\"synthetic-root.pem\"]\nstatus_list = \"attestation-status.json\"",
        );
        assert!(config.contains("require"));
        std::fs::write(dir.join("issuer.toml"), config).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server(
        Command::new(bin())
            .args(["serve", "--config", dir.join("issuer.toml").to_str().unwrap()])
            .env("CITYCODE_LISTEN", format!("127.0.0.1:{port}"))
            .env("CITYCODE_DATABASE", database)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let start = Instant::now();
    while agent.get(&format!("{base}/livez")).call().is_err() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    let token = |sub: &str, role: Option<&str>| {
        let mut c = Command::new(bin());
        c.args(["trial-token", dir.to_str().unwrap(), "--sub", sub]);
        if let Some(r) = role {
            c.args(["--role", r]);
        }
        String::from_utf8(c.output().unwrap().stdout).unwrap().trim().to_string()
    };
    let today = citycode::SystemClock.now_secs() / 86_400;
    let rows: Vec<String> = (0..residents)
        .map(|i| {
            json!({"ref": format!("R{i}"), "login": format!("login-{i}"), "claims": claims(today),
                   "identity": {"name": "王秀英", "number": format!("1101051949{i:08}")}})
            .to_string()
        })
        .collect();
    post(
        &agent,
        &format!("{base}/v1/admin/residents"),
        &token("admin", Some("admin")),
        None,
        Some(("application/x-ndjson", rows.join("\n"))),
    );
    // One token per resident, minted before timing.
    let tokens: Vec<String> = (0..residents).map(|i| token(&format!("login-{i}"), None)).collect();
    let pid = server.0.id().to_string();
    let cpu_before = cpu_of(&pid);
    let wall = Instant::now();
    for t in &tokens {
        let nonce = post(&agent, &format!("{base}/v1/nonce"), t, None, None);
        let challenge = citycode::text::decode_base64url(nonce["c_nonce"].as_str().unwrap()).unwrap();
        let (requests, attestations): (Vec<String>, Vec<Value>) = match pki {
            None => (0..10)
                .map(|_| {
                    let key = KeyPair::generate(Algorithm::Ed25519).unwrap();
                    (citycode::KeyRequest::sign(&key, &challenge).unwrap().to_base64url(), Value::Null)
                })
                .unzip(),
            Some(pki) => (0..10).map(|_| attested_key(pki, &challenge)).unzip(),
        };
        let mut body = json!({"credential_configuration_id": "citycode", "c_nonce": nonce["c_nonce"],
                          "proofs": {"citycode_key_request": requests}, "device": "phone"});
        if pki.is_some() {
            body["key_attestations"] = Value::Array(attestations);
        }
        let issued = post(&agent, &format!("{base}/v1/credential"), t, Some(body), None);
        assert_eq!(issued["credentials"].as_array().unwrap().len(), 10);
    }
    let elapsed = wall.elapsed().as_secs_f64();
    let cpu = cpu_of(&pid) - cpu_before;
    let instances = (residents * 10) as f64;
    let bytes = if let Some(path) = database.strip_prefix("sqlite:") {
        // Checkpoint the WAL into the file before measuring: stop the server.
        drop(server);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;").unwrap();
        std::fs::metadata(path).unwrap().len() as f64
    } else {
        let mut client = postgres::Client::connect(database, postgres::NoTls).unwrap();
        let size: i64 = client.query_one("SELECT pg_database_size(current_database())", &[]).unwrap().get(0);
        // An empty database of the same cluster is the baseline.
        let empty: i64 = client.query_one("SELECT pg_database_size('template1')", &[]).unwrap().get(0);
        (size - empty) as f64
    };
    (cpu / instances, instances / elapsed, bytes / residents as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let residents: usize = args.get(1).map_or(200, |a| a.parse().unwrap());
    let pg = args.get(2).cloned();
    let plain = in_process(40, false);
    let inproc = in_process(40, true);
    println!(
        "in-process issue_batch (10 per batch, standard layout): {:.3} ms CPU per instance without identity, {:.3} ms with identity committed afresh (the commitment: {:.3} ms)",
        plain * 1e3,
        inproc * 1e3,
        (inproc - plain) * 1e3
    );
    let dir = std::env::temp_dir().join(format!("citycode-issuer-bench-{}", std::process::id()));
    let db = format!("sqlite:{}", dir.join("bench.db").display());
    let (cpu, rate, bytes) = over_http(&dir, &db, residents, None);
    println!(
        "SQLite over HTTP: {:.3} ms CPU per instance ({:.2}x in-process), {rate:.0} instances/s, {bytes:.0} store bytes per resident",
        cpu * 1e3,
        cpu / inproc
    );
    let pki = vectors_gen::pki();
    let db = format!("sqlite:{}", dir.join("attested").join("bench.db").display());
    let (attested, rate, bytes) = over_http(&dir.join("attested"), &db, residents, Some(&pki));
    println!(
        "SQLite over HTTP, every key attested (P-256, require): {:.3} ms CPU per instance ({:.2}x in-process; {:.3} ms more than unattested Ed25519 keys), {rate:.0} instances/s, {bytes:.0} store bytes per resident",
        attested * 1e3,
        attested / inproc,
        (attested - cpu) * 1e3
    );
    if let Some(base) = pg {
        let mut admin = postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls).unwrap();
        admin.batch_execute("DROP DATABASE IF EXISTS citycode_bench").unwrap();
        admin.batch_execute("CREATE DATABASE citycode_bench").unwrap();
        let url = format!("{base}/citycode_bench");
        let (cpu, rate, bytes) = over_http(&dir.join("pg"), &url, residents, None);
        println!(
            "PostgreSQL over HTTP: {:.3} ms CPU per instance in the service ({:.2}x in-process), {rate:.0} instances/s, {bytes:.0} store bytes per resident (database growth)",
            cpu * 1e3,
            cpu / inproc
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
