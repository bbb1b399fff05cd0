//! `citycode-issuer`: the issuing service.
//!
//! ```sh
//! citycode-issuer trial ./trial                  # one command: a trial city on SQLite, then serve
//! citycode-issuer serve --config issuer.toml     # CITYCODE_* variables override the file
//! citycode-issuer import --config issuer.toml residents.csv   # or .jsonl; all or nothing
//! citycode-issuer publish --config issuer.toml   # publish now (the service also does on schedule)
//! citycode-issuer demo                           # the demo's issuing step, through the service
//! ```

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use citycode::{Algorithm, Clock, KeyPair, SystemClock};
use citycode_issuer::config::Config;
use citycode_issuer::http::{Limits, router, serve};
use citycode_issuer::{Error, Issuing, build};
use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
#[command(
    about = "The city's issuing service: challenges, batches, guardianships, printed codes, revocation, publication"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// The TOML configuration (also CITYCODE_CONFIG).
        #[arg(long, env = "CITYCODE_CONFIG")]
        config: PathBuf,
    },
    /// Import residents' claims from a CSV or JSON-lines file (by extension), all or nothing.
    Import {
        /// The TOML configuration.
        #[arg(long, env = "CITYCODE_CONFIG")]
        config: PathBuf,
        /// The file: `.csv`, or JSON lines.
        file: PathBuf,
    },
    /// Publish the distribution directory now.
    Publish {
        /// The TOML configuration.
        #[arg(long, env = "CITYCODE_CONFIG")]
        config: PathBuf,
    },
    /// A trial city in DIR (keys, trust list, a local identity provider, SQLite; made
    /// once, kept), then serve it. Not for production: every key is a file.
    Trial {
        /// The directory.
        dir: PathBuf,
    },
    /// The issuing step of the demo, through the service: a trial city in a temp dir, a
    /// resident imported, a phone's batch over HTTP, the lists published, a code verified.
    Demo,
    /// For a trial city: mint an access token of its local identity provider.
    TrialToken {
        /// The trial directory.
        dir: PathBuf,
        /// The login subject.
        #[arg(long)]
        sub: String,
        /// A role: staff or admin.
        #[arg(long)]
        role: Option<String>,
    },
}

fn stderr_log() -> citycode_issuer::LogSink {
    Box::new(std::io::stderr())
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(match e {
        Error::Config(_) => 2,
        _ => 1,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => Config::load(&config).and_then(run),
        Command::Import { config, file } => Config::load(&config).and_then(|c| import(&c, &file)),
        Command::Publish { config } => Config::load(&config).and_then(|c| {
            let service = build(&c, Arc::new(SystemClock), stderr_log())?;
            let report = service.publish("command")?;
            println!("{report}");
            Ok(())
        }),
        Command::Trial { dir } => trial(&dir).and_then(|config| Config::load(&config)).and_then(run),
        Command::TrialToken { dir, sub, role } => trial_token(&dir, &sub, role.as_deref()),
        Command::Demo => demo(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn import(config: &Config, file: &Path) -> Result<(), Error> {
    let service = build(config, Arc::new(SystemClock), stderr_log())?;
    let text = std::fs::read_to_string(file).map_err(|e| Error::Config(format!("{}: {e}", file.display())))?;
    let rows = if file.extension().is_some_and(|e| e == "csv") {
        citycode_issuer::import::parse_csv(&text, service.seal())?
    } else {
        citycode_issuer::import::parse_json_lines(&text, service.seal())?
    };
    let n = service.store.import_residents(&rows, &citycode_issuer::store::records::Actor::System, service.now())?;
    println!("{}", json!({"imported": n}));
    Ok(())
}

fn run(config: Config) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("runtime: {e}")))?;
    runtime.block_on(async move {
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
        let listen = config.listen.clone();
        let interval = config.publication.as_ref().map(|p| Duration::from_secs(p.interval_secs));
        let cfg = config.clone();
        let service: Issuing = tokio::task::spawn_blocking(move || build(&cfg, Arc::new(SystemClock), stderr_log()))
            .await
            .map_err(|e| Error::Config(format!("start-up: {e}")))??;
        let service = Arc::new(service);
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| Error::Config(format!("listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
        service.log("info", "listening", json!({"address": format!("http://{addr}")}));

        // Identity provider keys on schedule; housekeeping; publication on its schedule.
        let refresh = Duration::from_secs(service.auth().config().refresh_secs.max(10));
        let s = service.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(refresh);
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = s.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = s.auth().refresh() {
                        s.log("warn", "identity provider keys not refreshed", json!({"reason": e.reason()}));
                    }
                    let retry = i64::try_from(s.settings().retry_window_secs).unwrap_or(i64::MAX);
                    if let Err(e) = s.store.housekeeping(s.now(), retry) {
                        s.log("warn", "housekeeping failed", json!({"reason": e.reason()}));
                    }
                    match s.attestation().refresh() {
                        Ok(true) => s.log(
                            "info",
                            "attestation status list reloaded",
                            json!({"entries": s.attestation().status_list_len()}),
                        ),
                        Ok(false) => {}
                        Err(e) => s.log(
                            "warn",
                            "attestation status list not reloaded; the last good one stays",
                            json!({"reason": e.reason(), "detail": e.to_string()}),
                        ),
                    }
                })
                .await;
            }
        });
        if let Some(interval) = interval {
            let s = service.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                loop {
                    tick.tick().await;
                    let s = s.clone();
                    let _ = tokio::task::spawn_blocking(move || s.publish("schedule")).await;
                }
            });
        }

        let limits = Limits::default();
        let shutdown = async {
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
        };
        serve(listener, router(service.clone(), limits, &public_url), limits, shutdown).await;
        service.log("info", "stopped", json!({}));
        Ok(())
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    f.write_all(bytes).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

fn key_file(path: &Path, kind: &str, key: &KeyPair) -> Result<(), Error> {
    let text = json!({
        "kind": kind,
        "algorithm": key.public_key().algorithm(),
        "public_key": citycode::text::hex(&key.public_key().to_bytes()),
        "secret": citycode::text::hex(&key.secret_bytes()),
    });
    write_private(path, text.to_string().as_bytes())
}

/// The PKCS#8 document of an Ed25519 seed (RFC 8410), for signing trial tokens.
fn ed25519_pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

const TRIAL_ISSUER: &str = "https://idp.trial.invalid";
const TRIAL_AUDIENCE: &str = "citycode-issuer";

/// Makes a trial city in `dir` unless it exists; returns its configuration's path.
fn trial(dir: &Path) -> Result<PathBuf, Error> {
    let config = dir.join("issuer.toml");
    if config.exists() {
        return Ok(config);
    }
    let io = |e: std::io::Error| Error::Config(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let new_key = || KeyPair::generate(Algorithm::Ed25519).map_err(Error::Issuance);
    let (root, issuer, idp) = (new_key()?, new_key()?, new_key()?);
    key_file(&dir.join("root.json"), "root", &root)?;
    key_file(&dir.join("issuer.json"), "issuer", &issuer)?;
    key_file(&dir.join("trial-idp.json"), "device", &idp)?;
    let now = u32::try_from(SystemClock.now()).map_err(|_| Error::Config("clock out of range".into()))?;
    let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
    let trust = citycode::TrustList {
        sequence: 1,
        issued_at: now,
        expires_at: now + 365 * 86_400,
        keys: vec![citycode::IssuerKey {
            kid: 1,
            key: issuer.public_key(),
            not_before: now,
            not_after: now + 365 * 86_400,
            domains: all,
        }],
    }
    .sign(&root)
    .map_err(|e| Error::Config(format!("trust list: {e}")))?;
    std::fs::write(dir.join("trust.bin"), trust).map_err(io)?;
    let mut id_key = [0u8; 32];
    getrandom::fill(&mut id_key).map_err(|_| Error::Issuance(citycode::Error::Random))?;
    write_private(&dir.join("id-number.key"), citycode::text::hex(&id_key).as_bytes())?;
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "trial",
        "x": citycode::text::encode_base64url(&idp.public_key().to_bytes())}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).map_err(io)?;
    let toml = format!(
        "# A trial city: every key is a file here. Not for production.\n\
         listen = \"127.0.0.1:8090\"\ndatabase = \"sqlite:issuer.db\"\nid_number_key_file = \"id-number.key\"\n\n\
         [issuer]\nkid = 1\nkey = {{ kind = \"file\", path = \"issuer.json\" }}\n\n\
         [auth]\nissuer = \"{TRIAL_ISSUER}\"\naudience = \"{TRIAL_AUDIENCE}\"\njwks = {{ file = \"jwks.json\" }}\n\n\
         [publication]\ndirectory = \"public\"\ntrust_list = \"trust.bin\"\nroot_key = {{ kind = \"file\", path = \"root.json\" }}\n\n\
         [attestation]\n\
         # \"require\": no attestation, no credential (with attestation_trust.status_list, Google's list).\n\
         mode = \"record\"\n"
    );
    std::fs::write(&config, toml).map_err(io)?;
    eprintln!(
        "trial city written to {}; tokens: citycode-issuer trial-token {} --sub <login> [--role admin]",
        dir.display(),
        dir.display()
    );
    Ok(config)
}

fn trial_token(dir: &Path, sub: &str, role: Option<&str>) -> Result<(), Error> {
    println!("{}", mint(dir, sub, role)?);
    Ok(())
}

fn mint(dir: &Path, sub: &str, role: Option<&str>) -> Result<String, Error> {
    let idp = citycode_issuer::keys::load_key_file(&dir.join("trial-idp.json"))?;
    let key = jsonwebtoken::EncodingKey::from_ed_der(&ed25519_pkcs8(&idp.secret_bytes()));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("trial".into());
    let now = SystemClock.now();
    let roles: Vec<String> = role.map(|r| vec![format!("citycode:{r}")]).unwrap_or_default();
    let claims = json!({"iss": TRIAL_ISSUER, "aud": TRIAL_AUDIENCE, "sub": sub, "iat": now, "exp": now + 3600,
                        "roles": roles});
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| Error::Config(format!("token: {e}")))
}

/// The demo's issuing step, end to end over loopback HTTP.
fn demo() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("citycode-issuer-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config::load(&trial(&dir)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("runtime: {e}")))?;
    let service = Arc::new(build(&config, Arc::new(SystemClock), Box::new(std::io::sink()))?);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Config(e.to_string()))?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| Error::Config(e.to_string()))?);
    let _ = listener.set_nonblocking(true);
    let app = router(service, Limits::default(), &base);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
            serve(listener, app, Limits::default(), async {
                let _ = stopped.await;
            })
            .await;
        }
    });
    let result = demo_story(&dir, &base);
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn demo_story(dir: &Path, base: &str) -> Result<(), Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let post = |path: &str, token: &str, body: Option<(&str, String)>| -> Result<serde_json::Value, Error> {
        let r = agent.post(&format!("{base}{path}")).header("Authorization", &format!("Bearer {token}"));
        let mut resp = match body {
            Some((ctype, text)) => r.header("Content-Type", ctype).send(text),
            None => r.send_empty(),
        }
        .map_err(|e| Error::Config(format!("{path}: {e}")))?;
        let text = resp.body_mut().read_to_string().map_err(|e| Error::Config(format!("{path}: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if resp.status().as_u16() != 200 {
            return Err(Error::Config(format!("{path}: {value}")));
        }
        Ok(value)
    };
    let today = SystemClock.now() / 86_400;
    let resident = json!({"ref": "R-0001", "login": "wang.xiuying", "claims": {
        "health": {"status": "green", "valid_until_day": today + 30},
        "transit": {"account": "active", "fare_class": "senior_free", "vehicle_payment": false}},
        "identity": {"name": "王秀英", "number": "11010519491231002X"}});
    let admin = mint(dir, "admin", Some("admin"))?;
    post("/v1/admin/residents", &admin, Some(("application/x-ndjson", resident.to_string())))?;
    println!("issuer: resident R-0001 imported (claims and identity; the number sealed at rest)");
    let token = mint(dir, "wang.xiuying", None)?;
    let nonce = post("/v1/nonce", &token, None)?;
    let c_nonce = nonce.get("c_nonce").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let challenge = citycode::text::decode_base64url(&c_nonce).map_err(|e| Error::Config(e.to_string()))?;
    let keys: Vec<KeyPair> =
        (0..5).map(|_| KeyPair::generate(Algorithm::Ed25519)).collect::<Result<_, _>>().map_err(Error::Issuance)?;
    let requests: Vec<String> = keys
        .iter()
        .map(|k| citycode::KeyRequest::sign(k, &challenge).map(|r| r.to_base64url()))
        .collect::<Result<_, _>>()
        .map_err(Error::Issuance)?;
    println!("phone: a challenge from POST /v1/nonce, 5 new device keys, 5 key requests over it");
    let body = json!({"credential_configuration_id": "citycode", "c_nonce": c_nonce,
                      "proofs": {"citycode_key_request": requests}, "device": "phone-1"});
    let issued = post("/v1/credential", &token, Some(("application/json", body.to_string())))?;
    let credentials: Vec<citycode::Credential> = issued
        .get("credentials")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|c| c.get("credential").and_then(|v| v.as_str())).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(citycode::Credential::from_base64url)
        .collect::<Result<_, _>>()
        .map_err(Error::Issuance)?;
    println!("issuer: {} instances, each with its own subject and identity commitment", credentials.len());
    let published = post("/v1/admin/publish", &admin, None)?;
    println!("issuer: lists published, sequence {}", published.get("sequence").cloned().unwrap_or_default());
    let root = citycode_issuer::keys::load_key_file(&dir.join("root.json"))?;
    let mut verifier = citycode::Verifier::new(root.public_key(), citycode::Scene::MetroGate);
    verifier
        .update_from(&mut citycode::distribution::DirectorySource(dir.join("public")))
        .map_err(|e| Error::Config(e.to_string()))?;
    let mut batch =
        citycode::CredentialBatch::new(credentials.into_iter().zip(keys).collect(), citycode::Reuse::OnceOnly, 2)
            .map_err(Error::Issuance)?;
    for n in 0..2 {
        let now = SystemClock.now() + n;
        let code = batch
            .present(&citycode::Scene::MetroGate, now, citycode::PresentOptions::default())
            .map_err(Error::Issuance)?;
        let verdict = citycode::Verdict::from(verifier.verify_at(&code.to_text(), now));
        println!("metro gate: {}", serde_json::to_string(&verdict).unwrap_or_default());
    }
    println!("phone: {} instances left", batch.remaining());
    Ok(())
}
