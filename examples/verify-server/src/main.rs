//! `citycode-verify-server`: the HTTP verification service. Every option can come from
//! the command line, an environment variable (`CITYCODE_…`) or a TOML config file
//! (`--config`, keys as the long options with `_`), in that order of precedence.
//!
//! ```sh
//! citycode-verify-server --root-key HEX --lists-url https://lists.example.gov/citycode/ --scene metro-gate
//! citycode-verify-server --config /etc/citycode/verify-server.toml
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use citycode::{PublicKey, Scene, SystemClock, VerifierConfig};
use citycode_verify_server::{HttpSource, Limits, Lists, Service, directory_source, serve};
use clap::Parser;
use serde::Deserialize;
use serde_json::json;

#[derive(Parser, Default)]
#[command(
    about = "HTTP verification service: POST /verify {\"text\"}, POST /verify/batch {\"texts\"}, GET /readyz, GET /metrics"
)]
struct Args {
    /// TOML config file; its keys are the long option names with `_` (root_key, lists_url, ...).
    #[arg(long, env = "CITYCODE_CONFIG")]
    config: Option<PathBuf>,
    /// Root public key, hex: 32 bytes (Ed25519) or 33/65 bytes (P-256 SEC1).
    #[arg(long, env = "CITYCODE_ROOT_KEY")]
    root_key: Option<String>,
    /// Base URL of a published list directory (citycode publish), polled on schedule.
    #[arg(long, env = "CITYCODE_LISTS_URL")]
    lists_url: Option<String>,
    /// A published list directory on disk, polled on schedule.
    #[arg(long, env = "CITYCODE_LISTS_DIR")]
    lists_dir: Option<PathBuf>,
    /// Signed trust list file (instead of a published directory).
    #[arg(long, env = "CITYCODE_TRUST_LIST")]
    trust_list: Option<PathBuf>,
    /// Signed revocation list files (with --trust-list).
    #[arg(long, env = "CITYCODE_REVOCATION_LIST", value_delimiter = ',')]
    revocation_list: Vec<PathBuf>,
    /// Accept codes while no revocation list is held (refused by default); accepted
    /// verdicts then carry "revocation_checked": false.
    #[arg(long, env = "CITYCODE_NO_REVOCATION")]
    no_revocation: bool,
    /// Scene: hospital, parking or metro-gate.
    #[arg(long, env = "CITYCODE_SCENE")]
    scene: Option<String>,
    /// Allowed clock skew, seconds (default 30).
    #[arg(long, env = "CITYCODE_SKEW_SECS")]
    skew_secs: Option<u32>,
    /// Local offset from UTC in minutes (default 480, China Standard Time): a health
    /// status's last day ends at local midnight.
    #[arg(long, env = "CITYCODE_UTC_OFFSET_MINUTES", allow_hyphen_values = true)]
    utc_offset_minutes: Option<i32>,
    /// Share the replay store with other instances through this Redis.
    #[arg(long, env = "CITYCODE_REDIS")]
    redis: Option<String>,
    /// Deadline of one Redis call, milliseconds (default 200).
    #[arg(long, env = "CITYCODE_REDIS_DEADLINE_MS")]
    redis_deadline_ms: Option<u64>,
    /// Seconds between list reloads (default 60); SIGHUP reloads at once.
    #[arg(long, env = "CITYCODE_REFRESH_SECS")]
    refresh_secs: Option<u64>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "CITYCODE_LISTEN")]
    listen: Option<String>,
    /// Log every verdict (outcome and latency; never claims or subjects).
    #[arg(long, env = "CITYCODE_LOG_VERDICTS")]
    log_verdicts: bool,
}

/// The config file: the same settings as the options.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    root_key: Option<String>,
    lists_url: Option<String>,
    lists_dir: Option<PathBuf>,
    trust_list: Option<PathBuf>,
    #[serde(default)]
    revocation_list: Vec<PathBuf>,
    #[serde(default)]
    no_revocation: bool,
    scene: Option<String>,
    skew_secs: Option<u32>,
    utc_offset_minutes: Option<i32>,
    redis: Option<String>,
    redis_deadline_ms: Option<u64>,
    refresh_secs: Option<u64>,
    listen: Option<String>,
    #[serde(default)]
    log_verdicts: bool,
}

impl Args {
    /// Fills what the command line and environment left unset from the config file.
    fn merge(mut self) -> Result<Args, String> {
        let Some(path) = &self.config else { return Ok(self) };
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let f: FileConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        self.root_key = self.root_key.or(f.root_key);
        self.lists_url = self.lists_url.or(f.lists_url);
        self.lists_dir = self.lists_dir.or(f.lists_dir);
        self.trust_list = self.trust_list.or(f.trust_list);
        if self.revocation_list.is_empty() {
            self.revocation_list = f.revocation_list;
        }
        self.no_revocation |= f.no_revocation;
        self.scene = self.scene.or(f.scene);
        self.skew_secs = self.skew_secs.or(f.skew_secs);
        self.utc_offset_minutes = self.utc_offset_minutes.or(f.utc_offset_minutes);
        self.redis = self.redis.or(f.redis);
        self.redis_deadline_ms = self.redis_deadline_ms.or(f.redis_deadline_ms);
        self.refresh_secs = self.refresh_secs.or(f.refresh_secs);
        self.listen = self.listen.or(f.listen);
        self.log_verdicts |= f.log_verdicts;
        Ok(self)
    }
}

fn build(args: &Args) -> Result<(Service, Duration, String), String> {
    let root_hex =
        args.root_key.as_deref().ok_or("no root key: --root-key, CITYCODE_ROOT_KEY or root_key in --config")?;
    let root_bytes = citycode::text::unhex(root_hex).map_err(|_| "the root key is not hex")?;
    let root = PublicKey::from_encoded(&root_bytes).map_err(|r| format!("the root key is not a valid key: {r}"))?;
    let scene = match args.scene.as_deref().unwrap_or("metro-gate") {
        "hospital" => Scene::Hospital,
        "parking" => Scene::Parking,
        "metro-gate" => Scene::MetroGate,
        other => return Err(format!("unknown scene {other} (hospital, parking, metro-gate)")),
    };
    let defaults = VerifierConfig::new(&root, scene);
    let config = VerifierConfig {
        skew_secs: args.skew_secs.unwrap_or(defaults.skew_secs),
        utc_offset_minutes: args.utc_offset_minutes.unwrap_or(defaults.utc_offset_minutes),
        allow_missing_revocation_list: args.no_revocation,
        ..defaults
    };
    let mut v = config.build().map_err(|r| format!("configuration: {r}"))?;
    if let Some(url) = &args.redis {
        let deadline = Duration::from_millis(args.redis_deadline_ms.unwrap_or(200));
        let store = citycode::RedisReplayStore::new(url)
            .map_err(|e| e.to_string())?
            .with_deadline(deadline)
            .with_recovery_window(v.replay_window_secs());
        v = v.with_replay_store(Arc::new(store));
    }
    let lists = match (&args.lists_url, &args.lists_dir, &args.trust_list) {
        (Some(url), None, None) => Lists::Published(Box::new(HttpSource::new(url))),
        (None, Some(dir), None) => Lists::Published(directory_source(dir.clone())),
        (None, None, Some(trust)) => Lists::Files { trust: trust.clone(), revocations: args.revocation_list.clone() },
        (None, None, None) => return Err("no lists: give --lists-url, --lists-dir or --trust-list".into()),
        _ => return Err("give exactly one of --lists-url, --lists-dir and --trust-list".into()),
    };
    let mut service = Service::new(v, Arc::new(SystemClock), lists, Box::new(std::io::stderr()));
    if args.redis.is_some() {
        service = service.with_network_store();
    }
    if args.log_verdicts {
        service = service.with_verdict_log();
    }
    let refresh = Duration::from_secs(args.refresh_secs.unwrap_or(60).max(1));
    Ok((service, refresh, args.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into())))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match Args::parse().merge() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let (service, refresh, listen) = match build(&args) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let service = Arc::new(service);
    // A failed first load is logged; the service starts not ready and refuses every
    // code until a reload succeeds.
    let first = service.clone();
    let _ = tokio::task::spawn_blocking(move || first.reload()).await;

    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: listen on {listen}: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
    service.log("info", "listening", json!({"address": format!("http://{addr}")}));

    // Reloads: on schedule and on SIGHUP.
    let reloader = service.clone();
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        let mut tick = tokio::time::interval(refresh);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = hup.recv() => reloader.log("info", "SIGHUP: reloading lists", json!({})),
            }
            let s = reloader.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });

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
    serve(listener, service.clone().router(limits), limits, shutdown).await;
    service.log("info", "stopped", json!({}));
    std::process::ExitCode::SUCCESS
}
