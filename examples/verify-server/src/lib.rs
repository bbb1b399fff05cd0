//! An HTTP verification service on [`citycode::Verifier`], built to fail closed:
//!
//! - the time is the service's own clock, never the client's;
//! - no trust list, an expired list, or no revocation list (unless the operator opted
//!   out) refuses every code, and readiness (`GET /readyz`) says so;
//! - the replay store answers within its deadline or the code is refused;
//! - lists reload on a schedule and on SIGHUP, from files or a published directory
//!   (SPEC.md §8.4), fetched without holding the verifier;
//! - header reads and whole requests have deadlines, bodies a size cap;
//! - `GET /metrics` (Prometheus) and JSON log lines carry outcomes, latencies and list
//!   ages, never claims or subject ids.
//!
//! `openapi.json` beside this crate documents the routes; a test checks it against the
//! running service.

pub mod config;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use citycode::distribution::{DirectorySource, ListSource, STATUS_FILE};
use citycode::{Clock, Reason, Rejection, Verdict, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most codes in one batch request.
pub const MAX_BATCH: usize = 1024;

/// The OpenAPI document of the routes, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// `POST /verify` body. Unknown fields are refused: a client cannot set the time.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The scanned text.
    pub text: String,
}

/// `POST /verify/batch` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The scanned texts, at most [`MAX_BATCH`].
    pub texts: Vec<String>,
}

/// Deadlines and caps of the HTTP layer.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A client must send a request's headers within this time, or the connection closes.
    pub header_read: Duration,
    /// A whole request (body read and verification) must finish within this time (408).
    pub request: Duration,
    /// Largest request body, bytes (413).
    pub body_bytes: usize,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(5),
            request: Duration::from_secs(10),
            body_bytes: 1 << 20,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Where the service's lists come from; read again on every reload.
pub enum Lists {
    /// Signed list files on disk.
    Files {
        /// The trust list file.
        trust: PathBuf,
        /// Revocation list files.
        revocations: Vec<PathBuf>,
    },
    /// A published directory (SPEC.md §8.4): an HTTP base URL or a local directory.
    Published(Box<dyn ListSource + Send>),
}

impl core::fmt::Debug for Lists {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Lists::Files { trust, revocations } => {
                f.debug_struct("Files").field("trust", trust).field("revocations", revocations).finish()
            }
            Lists::Published(_) => f.write_str("Published"),
        }
    }
}

/// A published directory served over HTTP(S): fetches `<base>/<name>`.
pub struct HttpSource {
    base: String,
    agent: ureq::Agent,
}

impl HttpSource {
    /// A source at `base` (`http://lists.internal/citycode/`), with a 10 s deadline per
    /// file and at most 32 MiB per file (a revocation list of a million entries is
    /// 17 MB). Plain HTTP: every file is signed, and the status binds them together.
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(true)
            .build()
            .into();
        HttpSource { base: base.trim_end_matches('/').to_string(), agent }
    }
}

impl ListSource for HttpSource {
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/{name}", self.base);
        let mut resp = self.agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
        resp.body_mut().with_config().limit(32 << 20).read_to_vec().map_err(|e| format!("{url}: {e}"))
    }
}

/// The service's clock, shared with its verifier.
struct ServiceClock(Arc<dyn Clock>);

impl Clock for ServiceClock {
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// Where log lines go: one JSON object per line.
pub type LogSink = Box<dyn Write + Send>;

/// The service: one verifier shared by every request, its lists, clock, metrics and log.
pub struct Service {
    verifier: RwLock<Verifier>,
    clock: Arc<dyn Clock>,
    lists: Mutex<Lists>,
    metrics: Metrics,
    log: Mutex<LogSink>,
    log_verdicts: bool,
    /// The replay store waits on the network: verify on the blocking pool.
    store_blocks: bool,
}

impl core::fmt::Debug for Service {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl Service {
    /// A service around `verifier` (configured with root key, scene, skew and replay
    /// store), taking its time from `clock` and its lists from `lists`. Call
    /// [`Service::reload`] to load them.
    pub fn new(verifier: Verifier, clock: Arc<dyn Clock>, lists: Lists, log: LogSink) -> Self {
        // One time for everything: the verifier loads lists (an issuer's key must be
        // valid now) on the service's clock, as it verifies codes.
        let verifier = verifier.with_clock(ServiceClock(clock.clone()));
        Service {
            verifier: RwLock::new(verifier),
            clock,
            lists: Mutex::new(lists),
            metrics: Metrics::default(),
            log: Mutex::new(log),
            log_verdicts: false,
            store_blocks: false,
        }
    }

    /// Says that the verifier's replay store waits on the network (Redis): requests
    /// then verify on the blocking pool so a slow store never stalls the async workers.
    pub fn with_network_store(mut self) -> Self {
        self.store_blocks = true;
        self
    }

    /// Logs every verdict (outcome and latency only) as well as lifecycle events.
    pub fn with_verdict_log(mut self) -> Self {
        self.log_verdicts = true;
        self
    }

    /// Writes one JSON log line. Callers pass outcomes, reasons, sequences and times:
    /// never claims, subjects or code text.
    pub fn log(&self, level: &str, msg: &str, fields: Value) {
        let mut line = json!({"ts": self.clock.now(), "level": level, "msg": msg});
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(log, "{line}");
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Verifier> {
        self.verifier.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the lists again and loads what is newer (blocking: call it from a blocking
    /// thread). Fetches hold no verifier lock; loading takes the write lock briefly. A
    /// failure keeps the held lists, is logged and counted, and is returned.
    pub fn reload(&self) -> Result<Value, Rejection> {
        let result = self.reload_inner();
        let now = self.clock.now();
        match &result {
            Ok(report) => {
                self.metrics.count_update("ok");
                self.log("info", "lists reloaded", report.clone());
            }
            Err(e) => {
                self.metrics.count_update(e.reason.code());
                self.log(
                    "error",
                    "list reload failed; serving with the lists held",
                    json!({"reason": e.reason.code(), "detail": e.detail}),
                );
            }
        }
        if let Err(e) = self.read().ready_at(now) {
            self.log(
                "warn",
                "not ready: every code is refused",
                json!({"reason": e.reason.code(), "detail": e.detail}),
            );
        }
        result
    }

    fn reload_inner(&self) -> Result<Value, Rejection> {
        let mut lists = self.lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let unavailable = |what: &PathBuf, e: std::io::Error| {
            Rejection::new(Reason::ListUnavailable, format!("{}: {e}", what.display()))
        };
        match &mut *lists {
            Lists::Files { trust, revocations } => {
                let trust_bytes = std::fs::read(&*trust).map_err(|e| unavailable(trust, e))?;
                let mut revocation_bytes = Vec::with_capacity(revocations.len());
                for path in revocations.iter() {
                    revocation_bytes.push(std::fs::read(path).map_err(|e| unavailable(path, e))?);
                }
                let mut v = self.verifier.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                v.load_trust_list(&trust_bytes)?;
                for bytes in &revocation_bytes {
                    v.load_revocation_list(bytes)?;
                }
                Ok(json!({"source": "files", "trust_sequence": v.trust_list().map(|t| t.sequence)}))
            }
            Lists::Published(source) => {
                let fetch = |source: &mut Box<dyn ListSource + Send>, name: &str| {
                    source.fetch(name).map_err(|e| Rejection::new(Reason::ListUnavailable, format!("{name}: {e}")))
                };
                let status = fetch(source, STATUS_FILE)?;
                let plan = self.read().plan_update(status)?;
                let mut files = Vec::new();
                for name in plan.to_fetch() {
                    files.push(fetch(source, &name)?);
                }
                let report = self
                    .verifier
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .apply_update(plan, files)?;
                Ok(json!({"source": "published", "status_sequence": report.status_sequence, "loaded": report.loaded,
                          "unchanged": report.unchanged}))
            }
        }
    }

    /// Readiness at the service's time: lists held and unexpired, replay store ready.
    pub fn readiness(&self) -> Result<Value, Rejection> {
        let now = self.clock.now();
        let v = self.read();
        v.ready_at(now)?;
        Ok(self.list_summary(&v, now))
    }

    fn list_summary(&self, v: &Verifier, now: u64) -> Value {
        json!({"now": now, "lists": v.held_lists(), "status_sequence": v.list_status().map(|s| s.0),
               "revocation_required": v.revocation_required()})
    }

    /// Verifies one scanned text on the service's clock, counted in its metrics: what
    /// `POST /verify` answers.
    pub fn verify(&self, text: &str) -> Verdict {
        let start = Instant::now();
        let verdict = Verdict::from(self.read().verify_at(text, self.clock.now()));
        self.record(&verdict, start.elapsed());
        verdict
    }

    fn verify_many(&self, texts: &[String]) -> Vec<Verdict> {
        let start = Instant::now();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let results = self.read().verify_batch_at(&refs, self.clock.now());
        let each = start.elapsed() / u32::try_from(results.len().max(1)).unwrap_or(u32::MAX);
        results
            .into_iter()
            .map(|r| {
                let verdict = Verdict::from(r);
                self.record(&verdict, each);
                verdict
            })
            .collect()
    }

    fn record(&self, verdict: &Verdict, took: Duration) {
        self.metrics.observe(verdict.outcome(), took);
        if self.log_verdicts {
            self.log("info", "verdict", json!({"outcome": verdict.outcome(), "micros": took.as_micros() as u64}));
        }
    }

    /// Prometheus text exposition of the service's metrics.
    pub fn metrics_text(&self) -> String {
        let now = self.clock.now();
        let v = self.read();
        let mut out = self.metrics.render();
        out.push_str(
            "# HELP citycode_list_sequence Sequence number of each held list.\n# TYPE citycode_list_sequence gauge\n",
        );
        // One series per held list, labelled with its file name (core's HeldList).
        let held = v.held_lists();
        for l in &held {
            out.push_str(&format!("citycode_list_sequence{{list=\"{}\"}} {}\n", l.name, l.sequence));
        }
        out.push_str("# HELP citycode_list_expires_at_seconds Expiry of each held list, Unix seconds.\n# TYPE citycode_list_expires_at_seconds gauge\n");
        for l in &held {
            out.push_str(&format!("citycode_list_expires_at_seconds{{list=\"{}\"}} {}\n", l.name, l.expires_at));
        }
        out.push_str("# HELP citycode_list_age_seconds Seconds since each held list was issued.\n# TYPE citycode_list_age_seconds gauge\n");
        for l in &held {
            out.push_str(&format!(
                "citycode_list_age_seconds{{list=\"{}\"}} {}\n",
                l.name,
                now.saturating_sub(u64::from(l.issued_at))
            ));
        }
        let ready = u8::from(v.ready_at(now).is_ok());
        out.push_str(&format!("# HELP citycode_ready Whether the service would accept a valid code now.\n# TYPE citycode_ready gauge\ncitycode_ready {ready}\n"));
        out
    }

    /// The routes: `POST /verify`, `POST /verify/batch`, `GET /livez`, `GET /readyz`,
    /// `GET /health` (= readiness), `GET /metrics`, `GET /openapi.json`.
    pub fn router(self: Arc<Self>, limits: Limits) -> Router {
        Router::new()
            .route("/verify", post(verify))
            .route("/verify/batch", post(verify_batch))
            .route("/livez", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/health", get(ready))
            .route("/metrics", get(metrics))
            .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
            .layer(DefaultBodyLimit::max(limits.body_bytes))
            .layer(middleware::from_fn_with_state(limits.request, request_deadline))
            .with_state(self)
    }
}

async fn request_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, Json(json!({"error": "request took too long"}))).into_response(),
    }
}

fn internal() -> (StatusCode, Json<Value>) {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "verification task failed"})))
}

/// Runs `f` on the request's own worker when the replay store is in memory (a
/// verification is tens of microseconds of CPU: a thread handoff would cost as much),
/// and on the blocking pool when the store waits on the network (up to its deadline).
async fn run_verification<T: Send + 'static>(
    s: Arc<Service>,
    f: impl FnOnce(&Service) -> T + Send + 'static,
) -> Option<T> {
    if s.store_blocks { tokio::task::spawn_blocking(move || f(&s)).await.ok() } else { Some(f(&s)) }
}

async fn verify(State(s): State<Arc<Service>>, Json(req): Json<VerifyRequest>) -> Response {
    match run_verification(s, move |s| s.verify(&req.text)).await {
        Some(verdict) => Json(verdict).into_response(),
        None => internal().into_response(),
    }
}

async fn verify_batch(State(s): State<Arc<Service>>, Json(req): Json<BatchRequest>) -> Response {
    if req.texts.len() > MAX_BATCH {
        let error = json!({"error": format!("at most {MAX_BATCH} codes per batch")});
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(error)).into_response();
    }
    match run_verification(s, move |s| s.verify_many(&req.texts)).await {
        Some(results) => Json(json!({"results": results})).into_response(),
        None => internal().into_response(),
    }
}

async fn ready(State(s): State<Arc<Service>>) -> Response {
    match tokio::task::spawn_blocking(move || s.readiness()).await {
        Ok(Ok(summary)) => {
            let mut body = json!({"ready": true});
            if let (Some(b), Value::Object(m)) = (body.as_object_mut(), summary) {
                b.extend(m);
            }
            Json(body).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": e.reason.code(), "detail": e.detail})),
        )
            .into_response(),
        Err(_) => internal().into_response(),
    }
}

async fn metrics(State(s): State<Arc<Service>>) -> Response {
    match tokio::task::spawn_blocking(move || s.metrics_text()).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(_) => internal().into_response(),
    }
}

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Counters and the latency histogram.
#[derive(Default)]
struct Metrics {
    verdicts: Mutex<BTreeMap<&'static str, u64>>,
    updates: Mutex<BTreeMap<&'static str, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Metrics {
    fn observe(&self, outcome: &'static str, took: Duration) {
        *self.verdicts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(outcome).or_default() += 1;
        let secs = took.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn count_update(&self, result: &'static str) {
        *self.updates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(result).or_default() += 1;
    }

    fn render(&self) -> String {
        let mut out = String::from(
            "# HELP citycode_verdicts_total Verdicts by outcome: accept or the reason code.\n# TYPE citycode_verdicts_total counter\n",
        );
        let verdicts = self.verdicts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (outcome, n) in &verdicts {
            out.push_str(&format!("citycode_verdicts_total{{outcome=\"{outcome}\"}} {n}\n"));
        }
        let store_errors = verdicts.get(Reason::ReplayStoreUnavailable.code()).copied().unwrap_or(0);
        out.push_str(&format!("# HELP citycode_replay_store_errors_total Codes refused because the replay store did not answer or was recovering.\n# TYPE citycode_replay_store_errors_total counter\ncitycode_replay_store_errors_total {store_errors}\n"));
        out.push_str("# HELP citycode_list_updates_total List reloads by result: ok or the reason code.\n# TYPE citycode_list_updates_total counter\n");
        for (result, n) in self.updates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            out.push_str(&format!("citycode_list_updates_total{{result=\"{result}\"}} {n}\n"));
        }
        out.push_str(
            "# HELP citycode_verify_seconds Time to verify one code.\n# TYPE citycode_verify_seconds histogram\n",
        );
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            out.push_str(&format!(
                "citycode_verify_seconds_bucket{{le=\"{bound}\"}} {}\n",
                bucket.load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!("citycode_verify_seconds_bucket{{le=\"+Inf\"}} {count}\n"));
        out.push_str(&format!("citycode_verify_seconds_sum {}\n", self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9));
        out.push_str(&format!("citycode_verify_seconds_count {count}\n"));
        out
    }
}

/// Serves `app` on `listener` until `shutdown` resolves: HTTP/1.1 with a deadline on
/// each request's headers, then a graceful drain of in-flight requests for at most
/// `limits.shutdown_grace`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_read)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ =
        tokio::time::timeout(limits.shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
}

/// A local published directory as a list source (for `--lists-dir`).
pub fn directory_source(dir: PathBuf) -> Box<dyn ListSource + Send> {
    Box::new(DirectorySource(dir))
}
