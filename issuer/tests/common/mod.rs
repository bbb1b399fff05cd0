//! Test fixtures: a real PostgreSQL (Debian's binaries, a cluster in a temp dir on a
//! random loopback port, or the one `CITYCODE_TEST_POSTGRES` names), a local identity
//! provider (JWKS over loopback HTTP, tokens minted here), a city (root, issuer key,
//! trust list) and the service on loopback.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use citycode::{Algorithm, Clock, KeyPair};
use citycode_issuer::auth::{AuthConfig, Authenticator, JwksSource};
use citycode_issuer::http::{Limits, serve};
use citycode_issuer::issuing::{PublicationSettings, Settings};
use citycode_issuer::keys::{NumberSeal, SharedSigner};
use citycode_issuer::store::Store;
use citycode_issuer::{Issuing, LogSink};
use serde_json::{Value, json};

pub const IDP: &str = "https://idp.test.invalid";
pub const AUDIENCE: &str = "citycode-issuer";
/// 2026-11-24 08:00 UTC, a fixed start for the service's clock.
pub const START: u64 = 1_795_564_800 + 8 * 3600;

pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "citycode-issuer-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---- PostgreSQL

struct Cluster {
    /// `host=... port=... user=postgres`, without a database.
    base: String,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's postgresql \
         (scripts/test-issuer.sh does)",
    )
}

fn as_postgres(cmd: &Path) -> Command {
    // initdb refuses to run as root: run the server as the postgres user then.
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

fn start_cluster() -> Cluster {
    if let Ok(url) = std::env::var("CITYCODE_TEST_POSTGRES") {
        return Cluster { base: url };
    }
    let bin = pg_bin();
    let dir = temp_dir("pg");
    let data = dir.join("data");
    let _ = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
    let out = as_postgres(&bin.join("initdb"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
    let out = as_postgres(&bin.join("pg_ctl"))
        .args(["-w", "-D"])
        .arg(&data)
        .args(["-o", &opts, "-l"])
        .arg(dir.join("log"))
        .arg("start")
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    // The cluster outlives no test process: a watchdog stops it when this one exits.
    let pid = std::process::id();
    let stop = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; {} -D {} -m immediate stop >/dev/null 2>&1; rm -rf {}",
        bin.join("pg_ctl").display(),
        data.display(),
        dir.display()
    );
    let mut watchdog = as_postgres(Path::new("sh"));
    watchdog.args(["-c", &stop]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // Detached on purpose: it must outlive this process to stop the cluster after it.
    #[allow(clippy::zombie_processes)]
    watchdog.spawn().unwrap();
    Cluster { base: format!("host=127.0.0.1 port={port} user=postgres") }
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster)
}

/// A fresh, empty PostgreSQL database: its connection string.
pub fn postgres_db() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let c = cluster();
    let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let base = if c.base.starts_with("postgres") { c.base.clone() } else { format!("{} dbname=postgres", c.base) };
    let mut client = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    if c.base.starts_with("postgres") {
        // A URL: replace its database.
        let (head, _) = c.base.rsplit_once('/').unwrap();
        format!("{head}/{name}")
    } else {
        format!("{} dbname={name}", c.base)
    }
}

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    pub fn open(&self) -> Store {
        match self {
            Db::Sqlite(p) => Store::sqlite(p).unwrap(),
            Db::Postgres(url) => Store::postgres(url, 4).unwrap(),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// Both backends, each a fresh database.
pub fn databases(name: &str) -> Vec<Db> {
    vec![Db::Sqlite(temp_dir(name).join("issuer.db")), Db::Postgres(postgres_db())]
}

// ---- Clock and log

#[derive(Default)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    pub fn at(t: u64) -> Arc<TestClock> {
        Arc::new(TestClock(AtomicU64::new(t)))
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

#[derive(Clone, Default)]
pub struct Buf(pub Arc<Mutex<Vec<u8>>>);

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
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

// ---- HTTP

/// Serves `app` on a loopback port from a thread of its own; stops when dropped.
pub struct Running {
    pub base: String,
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

pub fn run(app: axum::Router) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let limits = Limits { header_read: Duration::from_millis(500), ..Limits::default() };
            serve(listener, app, limits, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    Running { base: format!("http://{addr}"), stop: Some(tx), thread: Some(thread) }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `(status, JSON body)`; `token` as a bearer token.
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut resp = match method {
        "GET" | "DELETE" => {
            let mut r = if method == "GET" { agent.get(url) } else { agent.delete(url) };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call().unwrap()
        }
        _ => {
            let mut r = agent.post(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            match body {
                Some(b) => r.send_json(b).unwrap(),
                None => r.send_empty().unwrap(),
            }
        }
    };
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (resp.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

// ---- Identity provider

/// The provider's keys by `kid`, in the order served.
pub type Keys = Arc<Mutex<Vec<(String, Arc<KeyPair>)>>>;

/// A local identity provider: an Ed25519 key (and more as the test rotates them),
/// its JWKS served over loopback HTTP, tokens minted on demand.
pub struct Idp {
    pub keys: Keys,
    pub fetches: Arc<AtomicUsize>,
    pub server: Running,
}

pub fn pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

impl Idp {
    pub fn new() -> Idp {
        let keys =
            Arc::new(Mutex::new(vec![("k1".to_string(), Arc::new(KeyPair::generate(Algorithm::Ed25519).unwrap()))]));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (k, f) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (k, f) = (k.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let keys: Vec<Value> = k
                        .lock()
                        .unwrap()
                        .iter()
                        .map(|(kid, key)| {
                            json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid,
                                   "x": citycode::text::encode_base64url(&key.public_key().to_bytes())})
                        })
                        .collect();
                    axum::Json(json!({"keys": keys}))
                }
            }),
        );
        Idp { keys, fetches, server: run(app) }
    }

    pub fn config(&self) -> AuthConfig {
        AuthConfig {
            issuer: IDP.into(),
            audience: AUDIENCE.into(),
            jwks: JwksSource::Url(format!("{}/jwks", self.server.base)),
            roles_claim: "roles".into(),
            staff_role: "citycode:staff".into(),
            admin_role: "citycode:admin".into(),
            leeway_secs: 30,
            refresh_secs: 300,
            min_refresh_secs: 3600,
        }
    }

    /// A token signed with key `kid` (held or not) carrying `claims`.
    pub fn sign(&self, kid: &str, key: &KeyPair, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ed_der(&pkcs8(&key.secret_bytes())))
            .unwrap()
    }

    pub fn claims(sub: &str, now: u64, roles: &[&str]) -> Value {
        json!({"iss": IDP, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600, "roles": roles})
    }

    /// A valid token for `sub` at `now` with `roles`.
    pub fn token(&self, sub: &str, now: u64, roles: &[&str]) -> String {
        let (kid, key) = self.keys.lock().unwrap()[0].clone();
        self.sign(&kid, &key, &Idp::claims(sub, now, roles))
    }
}

// ---- The city and the service

/// A city: root key, issuer key (kid 1, every domain), its trust list, a publication
/// directory.
pub struct City {
    pub root: KeyPair,
    pub issuer: KeyPair,
    pub trust: Vec<u8>,
    pub dir: PathBuf,
}

impl City {
    pub fn new(name: &str) -> City {
        let root = KeyPair::generate(Algorithm::Ed25519).unwrap();
        let issuer = KeyPair::generate(Algorithm::Ed25519).unwrap();
        let now = START as u32;
        let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
        let trust = citycode::TrustList {
            sequence: 1,
            issued_at: now - 60,
            expires_at: now + 90 * 86_400,
            keys: vec![citycode::IssuerKey {
                kid: 1,
                key: issuer.public_key(),
                not_before: now - 60,
                not_after: now + 90 * 86_400,
                domains: all,
            }],
        }
        .sign(&root)
        .unwrap();
        let dir = temp_dir(name);
        std::fs::write(dir.join("trust.bin"), &trust).unwrap();
        City { root, issuer, trust, dir }
    }

    fn copy(k: &KeyPair) -> KeyPair {
        KeyPair::from_secret_bytes(k.public_key().algorithm(), &k.secret_bytes()).unwrap()
    }

    /// The service on `store`, at `clock`, logging into `log`.
    pub fn service(&self, store: Store, idp: &Idp, clock: Arc<TestClock>, log: Buf) -> Arc<Issuing> {
        let settings = Settings {
            publication: Some(PublicationSettings {
                directory: self.dir.join("public"),
                trust_list: self.dir.join("trust.bin"),
                validity_secs: 86_400,
            }),
            ..Settings::default()
        };
        let auth = Authenticator::new(idp.config());
        auth.refresh().unwrap();
        let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
        let sink: LogSink = Box::new(log);
        Arc::new(Issuing::new(
            store,
            1,
            all,
            SharedSigner::new(City::copy(&self.issuer)),
            Some(SharedSigner::new(City::copy(&self.root))),
            NumberSeal::new(&[9; 32]).unwrap(),
            auth,
            clock,
            settings,
            sink,
        ))
    }

    /// A verifier of this city with the directory's lists loaded, at `now`.
    pub fn verifier(&self, scene: citycode::Scene) -> citycode::Verifier {
        let mut v = citycode::Verifier::new(self.root.public_key(), scene);
        v.update_from(&mut citycode::distribution::DirectorySource(self.dir.join("public"))).unwrap();
        v
    }
}

/// Residents as JSON lines: `n` of them, `R<i>` logged in as `login-<i>`, each with
/// identity, transit and health.
pub fn residents(n: usize) -> String {
    let today = START / 86_400;
    (0..n)
        .map(|i| {
            json!({"ref": format!("R{i}"), "login": format!("login-{i}"),
                   "claims": {"health": {"status": "green", "valid_until_day": today + 30},
                              "transit": {"account": "active", "fare_class": "standard", "vehicle_payment": true}},
                   "identity": {"name": "王秀英", "number": format!("1101051949123100{i:02}")}})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Imports `residents(n)` straight into the store.
pub fn import(service: &Issuing, n: usize) {
    if n == 0 {
        return;
    }
    let rows = citycode_issuer::import::parse_json_lines(&residents(n), service.seal()).unwrap();
    service.store.import_residents(&rows, &citycode_issuer::store::records::Actor::System, service.now()).unwrap();
}

/// A phone: `n` fresh keys and their key requests over `challenge`.
pub fn key_requests(n: usize, challenge: &[u8]) -> (Vec<KeyPair>, Vec<String>) {
    let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate(Algorithm::Ed25519).unwrap()).collect();
    let requests = keys.iter().map(|k| citycode::KeyRequest::sign(k, challenge).unwrap().to_base64url()).collect();
    (keys, requests)
}

pub fn nonce(base: &str, token: &str) -> Vec<u8> {
    let (status, body) = call("POST", &format!("{base}/v1/nonce"), Some(token), None);
    assert_eq!(status, 200, "{body}");
    citycode::text::decode_base64url(body["c_nonce"].as_str().unwrap()).unwrap()
}

pub fn credential_body(challenge: &[u8], requests: &[String]) -> Value {
    json!({"credential_configuration_id": "citycode", "c_nonce": citycode::text::encode_base64url(challenge),
           "proofs": {"citycode_key_request": requests}})
}

/// Waits until `f` holds (10 s at most).
pub fn eventually(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}
