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

pub mod coalesce;
pub mod config;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use citycode::distribution::{DirectorySource, ListSource};
use citycode::{Clock, Reason, RedisReplayStore, Rejection, ReplayError, ReplayStore, Verdict, Verifier};
use coalesce::{Arrival, Coalescer, Pending};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most codes in one batch request.
pub const MAX_BATCH: usize = 1024;

/// The OpenAPI document of the routes, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Longest request target (path and query) the service reads, bytes: longer ones are
/// refused with 414 (`uri_too_long`).
pub const MAX_URI_BYTES: usize = 8 << 10;

/// Most header bytes (names and values) in one request: more is 431
/// (`headers_too_large`).
pub const MAX_HEADER_BYTES: usize = 16 << 10;

/// Most header fields in one request: more is 431 (`headers_too_large`). Below hyper's
/// own limit (100), which answers without a body.
pub const MAX_HEADERS: usize = 64;

/// An HTTP error the service answers: its status and a JSON body `{"error": code,
/// "detail": text}`, where `code` is a stable string (listed in `openapi.json`) and
/// `detail` says what was wrong in words. Every error status the service answers has
/// this body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code: `invalid_json`, `invalid_request`, `unsupported_media_type`,
    /// `body_too_large`, `batch_too_large`, `not_found`, `method_not_allowed`,
    /// `request_timeout`, `uri_too_long`, `headers_too_large`, `internal`,
    /// `not_ready` (with the readiness reason beside it).
    pub code: &'static str,
    /// What was wrong, for a person.
    pub detail: String,
}

impl ApiError {
    /// An error with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into() }
    }

    /// The code of an error status answered without one (a rejection of axum's or
    /// hyper's that reached the outer layer).
    fn code_for(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "invalid_json",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "request_timeout",
            413 => "body_too_large",
            414 => "uri_too_long",
            415 => "unsupported_media_type",
            422 => "invalid_request",
            431 => "headers_too_large",
            503 => "not_ready",
            401..=499 => "bad_request",
            _ => "internal",
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match &r {
            JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::JsonDataError(_) => "invalid_request",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ => ApiError::code_for(status),
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.code, "detail": self.detail}))).into_response()
    }
}

/// A JSON request body whose refusals are [`ApiError`]s (axum's own answer in plain
/// text).
struct JsonBody<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state).await.map(|Json(t)| JsonBody(t)).map_err(ApiError::from)
    }
}

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

/// Holds a verification slot: releasing it on drop (what queued meanwhile is verified
/// by a runner), so a request that goes away mid-await cannot keep it.
struct SlotGuard(Arc<Service>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.0.release_slot();
        } else {
            self.0.release_slot_blocking();
        }
    }
}

/// Verification slots by default: one fewer than CPUs (at least one). In memory a
/// verification runs on the async worker that read the request, so with a slot per
/// worker no request would find them all busy and nothing would coalesce; with a network
/// store one slot fewer makes batches twice as large, so fewer round trips, for the same
/// throughput on the CPUs left (BENCHMARKS.md).
fn default_slots() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from).saturating_sub(1).max(1)
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
    /// Sequence and `issued_at` of the last list status applied (for its age).
    status_issued: Mutex<Option<(u64, u32)>>,
    /// Concurrent `POST /verify` requests, verified alone or in batches.
    coalescer: Coalescer,
    /// The Redis replay store the verifier uses, for its readiness reasons and counters.
    redis: Option<Arc<RedisReplayStore>>,
}

/// Why the service is not ready: what `GET /readyz` answers with 503, and what
/// `citycode_not_ready` says on `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    /// The reason code: the verifier's (SPEC.md §10: `no_trust_list`,
    /// `trust_list_expired`, `no_revocation_list`, `replay_store_unavailable`, ...), or
    /// `list_status_expired` (the publication was not refreshed in time).
    pub reason: &'static str,
    /// What is wrong, for a person.
    pub detail: String,
    /// When the replay store is the cause: why it refuses (its
    /// [`ReplayError::kind`]: `recovering`, `out_of_memory`, `misconfigured`,
    /// `timeout`, `unavailable`, `not_replicated`, ...).
    pub replay_store: Option<ReplayError>,
}

impl From<Rejection> for NotReady {
    fn from(r: Rejection) -> Self {
        NotReady { reason: r.reason.code(), detail: r.detail, replay_store: None }
    }
}

impl NotReady {
    /// The body of `GET /readyz`'s 503: the reason, and for the replay store its kind,
    /// and while it recovers from a loss, until when and why.
    fn body(&self) -> Value {
        let mut body = json!({"ready": false, "error": "not_ready", "reason": self.reason, "detail": self.detail});
        if let (Some(store), Some(b)) = (&self.replay_store, body.as_object_mut()) {
            b.insert("replay_store".into(), json!(store.kind()));
            if let ReplayError::Recovering { until, cause } = store {
                b.insert("recovering_until".into(), json!(until));
                b.insert("loss_cause".into(), json!(cause.tag()));
            }
        }
        body
    }

    /// The labels of `citycode_not_ready`.
    fn labels(&self) -> String {
        match &self.replay_store {
            Some(store) => format!("reason=\"{}\",replay_store=\"{}\"", self.reason, store.kind()),
            None => format!("reason=\"{}\"", self.reason),
        }
    }
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
            status_issued: Mutex::new(None),
            coalescer: Coalescer::new(default_slots()),
            redis: None,
        }
    }

    /// Says that the verifier's replay store is this Redis store (the one given to
    /// [`Verifier::with_replay_store`]): requests verify on the blocking pool, and
    /// readiness and metrics report why the store refuses (a loss being recovered, out
    /// of memory, an evicting policy) and its counters.
    pub fn with_redis_store(mut self, store: Arc<RedisReplayStore>) -> Self {
        self.store_blocks = true;
        self.redis = Some(store);
        self
    }

    /// Sets how many `POST /verify` verifications run at once (default: one fewer than
    /// CPUs, at least one).
    /// Requests beyond that queue and are verified together, in batches of up to
    /// [`coalesce::MAX_COALESCED`], as soon as a slot frees (`coalesce` module).
    pub fn with_verify_slots(mut self, slots: usize) -> Self {
        self.coalescer = Coalescer::new(slots);
        self
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
        if let Err(e) = self.not_ready(&self.read(), now) {
            self.log("warn", "not ready", json!({"reason": e.reason, "detail": e.detail}));
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
                let report = citycode::update_lists(&self.verifier, |name| source.fetch(name))
                    .map_err(citycode::UpdateError::into_rejection)?;
                let issued = (report.status_sequence, report.status_issued_at);
                *self.status_issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(issued);
                Ok(json!({"source": "published", "status_sequence": report.status_sequence, "loaded": report.loaded,
                          "unchanged": report.unchanged}))
            }
        }
    }

    /// Readiness at the service's time: lists held and unexpired, the list status (if
    /// lists come from a published directory) unexpired, replay store ready.
    pub fn readiness(&self) -> Result<Value, NotReady> {
        let now = self.clock.now();
        let v = self.read();
        self.not_ready(&v, now)?;
        Ok(self.list_summary(&v, now))
    }

    /// Why the service is not ready at `now`, if it is not. The verifier's own rule
    /// first (lists, replay store), then the list status: a status past its
    /// `expires_at` means the publication stopped being refreshed (SPEC.md §8.4), and
    /// the instance says so before its lists expire and every code is refused.
    fn not_ready(&self, v: &Verifier, now: u64) -> Result<(), NotReady> {
        if let Err(r) = v.ready_at(now) {
            let mut e = NotReady::from(r);
            // The verifier says only replay_store_unavailable: ask the store why.
            if e.reason == Reason::ReplayStoreUnavailable.code()
                && let Some(Err(store)) = self.redis.as_ref().map(|s| s.ready(now))
            {
                e.detail = store.to_string();
                e.replay_store = Some(store);
            }
            return Err(e);
        }
        if let Some((sequence, expires_at)) = v.list_status()
            && now >= u64::from(expires_at)
        {
            return Err(NotReady {
                reason: "list_status_expired",
                detail: format!(
                    "list status {sequence} expired at {expires_at}: the published directory has not been refreshed \
                     (codes are still verified against the lists held until they expire)"
                ),
                replay_store: None,
            });
        }
        Ok(())
    }

    /// The last status applied: sequence, `issued_at` (when the service saw it) and
    /// `expires_at`.
    fn status_summary(&self, v: &Verifier) -> Option<(u64, Option<u32>, u32)> {
        let (sequence, expires_at) = v.list_status()?;
        let issued = *self.status_issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let issued_at = issued.filter(|(s, _)| *s == sequence).map(|(_, at)| at);
        Some((sequence, issued_at, expires_at))
    }

    fn list_summary(&self, v: &Verifier, now: u64) -> Value {
        let status = self.status_summary(v).map(|(sequence, issued_at, expires_at)| {
            json!({"sequence": sequence, "issued_at": issued_at, "expires_at": expires_at})
        });
        json!({"now": now, "lists": v.held_lists(), "status_sequence": v.list_status().map(|s| s.0),
               "status": status, "revocation_required": v.revocation_required()})
    }

    /// Verifies one scanned text on the service's clock, counted in its metrics: what
    /// `POST /verify` answers.
    pub fn verify(&self, text: &str) -> Verdict {
        let start = Instant::now();
        let verdict = Verdict::from(self.read().verify_at(text, self.clock.now()));
        self.record(&verdict, start.elapsed());
        verdict
    }

    /// Verifies what queued while every slot was busy, as one batch (or alone, when one
    /// request queued), and answers each request.
    fn verify_pending(&self, batch: Vec<Pending>) {
        let now = self.clock.now();
        let results = {
            let v = self.read();
            match batch.as_slice() {
                [one] => vec![v.verify_at(&one.text, now)],
                _ => v.verify_batch_at(&batch.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), now),
            }
        };
        self.metrics.count_batch(batch.len());
        for (pending, result) in batch.into_iter().zip(results) {
            let verdict = Verdict::from(result);
            self.record(&verdict, pending.since.elapsed());
            let _ = pending.reply.send(verdict);
        }
    }

    /// Frees the caller's verification slot, or hands it to a runner that verifies what
    /// queued meanwhile, batch after batch, until nothing waits. Never waits itself.
    fn release_slot(self: &Arc<Self>) {
        let Some(first) = self.coalescer.next() else { return };
        let s = self.clone();
        if self.store_blocks {
            tokio::task::spawn_blocking(move || {
                let mut batch = first;
                loop {
                    s.verify_pending(batch);
                    match s.coalescer.next() {
                        Some(next) => batch = next,
                        None => break,
                    }
                }
            });
        } else {
            tokio::spawn(async move {
                let mut batch = first;
                loop {
                    s.verify_pending(batch);
                    match s.coalescer.next() {
                        Some(next) => batch = next,
                        None => break,
                    }
                    // Let the connections on this worker read their requests.
                    tokio::task::yield_now().await;
                }
            });
        }
    }

    /// `POST /verify`: at once when a slot is free, else with what queued beside it.
    async fn verify_coalesced(self: Arc<Self>, text: String) -> Option<Verdict> {
        match self.coalescer.arrive(text) {
            Arrival::Lead(text) if self.store_blocks => {
                // On the blocking pool, in a task of its own: the slot is released even
                // if this request goes away while the store answers.
                let (tx, rx) = tokio::sync::oneshot::channel();
                let s = self.clone();
                tokio::task::spawn_blocking(move || {
                    let verdict = s.verify(&text);
                    // Free the slot before answering when nothing queued, so that the
                    // client's next request finds it free.
                    let next = s.coalescer.next();
                    let _ = tx.send(verdict);
                    if let Some(batch) = next {
                        s.verify_pending(batch);
                        s.release_slot_blocking();
                    }
                });
                rx.await.ok()
            }
            Arrival::Lead(text) => {
                // In memory, on this worker. First let the requests this worker has
                // already read (other connections' tasks ready to run) arrive and queue
                // behind the slot: no timer, an idle service goes straight on. The
                // guard releases the slot even if this request goes away meanwhile.
                let guard = SlotGuard(self.clone());
                tokio::task::yield_now().await;
                let verdict = self.verify(&text);
                drop(guard);
                Some(verdict)
            }
            Arrival::Queued(rx) => rx.await.ok(),
        }
    }

    /// [`Service::release_slot`] from a blocking thread: verifies what queued here.
    fn release_slot_blocking(&self) {
        while let Some(batch) = self.coalescer.next() {
            self.verify_pending(batch);
        }
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
        if let Some((sequence, issued_at, expires_at)) = self.status_summary(&v) {
            out.push_str(&format!(
                "# HELP citycode_list_status_sequence Sequence of the list status last applied.\n# TYPE citycode_list_status_sequence gauge\ncitycode_list_status_sequence {sequence}\n"
            ));
            out.push_str(&format!(
                "# HELP citycode_list_status_expires_at_seconds Expiry of the list status last applied, Unix seconds.\n# TYPE citycode_list_status_expires_at_seconds gauge\ncitycode_list_status_expires_at_seconds {expires_at}\n"
            ));
            if let Some(issued_at) = issued_at {
                out.push_str(&format!(
                    "# HELP citycode_list_status_age_seconds Seconds since the list status last applied was issued.\n# TYPE citycode_list_status_age_seconds gauge\ncitycode_list_status_age_seconds {}\n",
                    now.saturating_sub(u64::from(issued_at))
                ));
            }
        }
        let not_ready = self.not_ready(&v, now).err();
        let ready = u8::from(not_ready.is_none());
        out.push_str(&format!("# HELP citycode_ready Whether the service is ready (GET /readyz answers 200).\n# TYPE citycode_ready gauge\ncitycode_ready {ready}\n"));
        out.push_str("# HELP citycode_not_ready Why the service is not ready: one series, 1, labelled with the reason code.\n# TYPE citycode_not_ready gauge\n");
        if let Some(e) = not_ready {
            out.push_str(&format!("citycode_not_ready{{{}}} 1\n", e.labels()));
        }
        if let Some(store) = &self.redis {
            self.redis_metrics(store, now, &mut out);
        }
        out
    }

    /// The Redis store's own state (asked now, apart from the lists) and counters.
    fn redis_metrics(&self, store: &RedisReplayStore, now: u64, out: &mut String) {
        let state = store.ready(now);
        out.push_str(&format!(
            "# HELP citycode_replay_store_ready Whether the Redis replay store takes codes now.\n# TYPE citycode_replay_store_ready gauge\ncitycode_replay_store_ready {}\n",
            u8::from(state.is_ok())
        ));
        out.push_str("# HELP citycode_replay_store_refusing Why the Redis replay store refuses codes: one series, 1, labelled with the kind.\n# TYPE citycode_replay_store_refusing gauge\n");
        if let Err(e) = &state {
            out.push_str(&format!("citycode_replay_store_refusing{{kind=\"{}\"}} 1\n", e.kind()));
        }
        if let Err(ReplayError::Recovering { until, cause }) = &state {
            out.push_str(&format!(
                "# HELP citycode_replay_store_recovering_until_seconds Until when codes are refused after a possible loss, Unix seconds.\n# TYPE citycode_replay_store_recovering_until_seconds gauge\ncitycode_replay_store_recovering_until_seconds{{cause=\"{}\"}} {until}\n",
                cause.tag()
            ));
        }
        let stats = store.stats();
        for (name, help, value) in [
            ("connections", "Connections the Redis store made", stats.connections),
            ("timeouts", "Redis calls that ran out of their deadline", stats.timeouts),
            ("script_loads", "Times Redis lacked the store's script and it was sent again", stats.script_loads),
            (
                "losses_detected",
                "Possible losses of entries this instance detected (a new epoch written)",
                stats.losses_detected,
            ),
            ("errors", "Redis calls that failed otherwise (connection, server, out of memory)", stats.errors),
        ] {
            out.push_str(&format!(
                "# HELP citycode_redis_{name}_total {help}.\n# TYPE citycode_redis_{name}_total counter\ncitycode_redis_{name}_total {value}\n"
            ));
        }
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
            .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
            .method_not_allowed_fallback(|| async {
                ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route takes another method")
            })
            .layer(DefaultBodyLimit::max(limits.body_bytes))
            .layer(middleware::from_fn_with_state(limits.request, request_deadline))
            .layer(middleware::from_fn(head_limits))
            .layer(middleware::from_fn(json_errors))
            .with_state(self)
    }
}

async fn request_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Refuses a request target or header block larger than the service reads, before any
/// route: 414 and 431 with their JSON bodies.
async fn head_limits(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        let detail = format!("the request target is {target} bytes, at most {MAX_URI_BYTES}");
        return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", detail).into_response();
    }
    let headers = req.headers();
    let bytes: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        let detail = format!(
            "{} header fields, {bytes} bytes: at most {MAX_HEADERS} fields, {MAX_HEADER_BYTES} bytes",
            headers.len()
        );
        return ApiError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", detail).into_response();
    }
    next.run(req).await
}

/// The last word on every error: an error status that reaches here without a JSON body
/// (a refusal from a layer that writes plain text) gets one, with the code of its
/// status and its text as the detail.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let body = axum::body::to_bytes(resp.into_body(), 64 << 10).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).trim().to_string();
    let detail = if detail.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { detail };
    ApiError::new(status, ApiError::code_for(status), detail).into_response()
}

fn internal() -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the verification task failed")
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

async fn verify(State(s): State<Arc<Service>>, JsonBody(req): JsonBody<VerifyRequest>) -> Response {
    match s.verify_coalesced(req.text).await {
        Some(verdict) => Json(verdict).into_response(),
        None => internal().into_response(),
    }
}

async fn verify_batch(State(s): State<Arc<Service>>, JsonBody(req): JsonBody<BatchRequest>) -> Response {
    if req.texts.len() > MAX_BATCH {
        let detail = format!("{} codes: at most {MAX_BATCH} per batch", req.texts.len());
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", detail).into_response();
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
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, Json(e.body())).into_response(),
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
    batches: AtomicU64,
    batched_codes: AtomicU64,
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

    fn count_batch(&self, codes: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_codes.fetch_add(codes as u64, Ordering::Relaxed);
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
        out.push_str(&format!(
            "# HELP citycode_coalesced_batches_total Batches of POST /verify requests that queued while every slot was busy.\n# TYPE citycode_coalesced_batches_total counter\ncitycode_coalesced_batches_total {}\n",
            self.batches.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP citycode_coalesced_codes_total Codes verified in those batches.\n# TYPE citycode_coalesced_codes_total counter\ncitycode_coalesced_codes_total {}\n",
            self.batched_codes.load(Ordering::Relaxed)
        ));
        out
    }
}

/// Serves `app` on `listener` until `shutdown` resolves: HTTP/1.1 with a deadline on
/// each request's headers, then a graceful drain of in-flight requests for at most
/// `limits.shutdown_grace` (the loop the issuing service shares, `citycode_http::serve`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    citycode_http::serve(listener, app, limits.header_read, limits.shutdown_grace, shutdown).await;
}

/// A local published directory as a list source (for `--lists-dir`).
pub fn directory_source(dir: PathBuf) -> Box<dyn ListSource + Send> {
    Box::new(DirectorySource(dir))
}
