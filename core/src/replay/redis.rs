//! The replay store in Redis (feature `redis`), shared by every verifier that points at
//! the same Redis: standalone, behind Sentinel, or a Redis Cluster (SPEC.md §9.1).
//!
//! One script (`replay.lua`) does each bucket's work atomically: it reads the serving
//! process's identity (`INFO server, replication`), compares it with the bucket's epoch,
//! and inserts with `SET NX EX`. The synchronous [`ReplayStore`] calls hand the work to a
//! small runtime of the store's own (one thread, one multiplexed connection per Redis
//! node) and wait for the answer until the deadline, so the deadline holds however the
//! client library reads, and a late answer never costs a connection.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
use redis::{AsyncConnectionConfig, IntoConnectionInfo, Value};

use super::{LossCause, ReplayError, ReplayStore};

/// Default deadline of one [`RedisReplayStore`] call.
pub const DEFAULT_REDIS_DEADLINE: Duration = Duration::from_millis(200);

/// Default recovery window of a [`RedisReplayStore`] after lost entries, in seconds: the
/// default longest code validity (120 s) plus twice the default skew (30 s).
pub const DEFAULT_RECOVERY_SECS: u64 = 180;

/// Buckets of a store on a Redis Cluster. A bucket is a hash tag: its entries and its
/// epoch live in one slot, so one script sees both.
const CLUSTER_BUCKETS: u16 = 256;

/// How long one attempt to connect may take. It runs on the store's runtime, apart from
/// any call: a call waits for it only until its own deadline, and the connection, once
/// made, serves the calls after it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an insert also checks `maxmemory-policy` on its bucket's node (every
/// readiness check does, and every insert after a new connection or a detected loss).
const POLICY_RECHECK: Duration = Duration::from_secs(10);

/// How long a `PING` may take on a connection whose call ran out of time before the
/// connection is taken for dead and replaced.
const PROBE_PATIENCE: Duration = Duration::from_secs(2);

/// The script: identity, epoch and inserts in one atomic step.
const SCRIPT: &str = include_str!("replay.lua");

/// A replay store in Redis, shared by every verifier that points at the same Redis: a
/// code accepted on one machine is refused as replayed on all others.
///
/// - **Where**: [`RedisReplayStore::new`] takes `redis://host:port/` (one Redis),
///   `redis+sentinel://host:port,host:port/service` (the primary that Sentinel names,
///   followed through failovers) or `redis+cluster://host:port,host:port/` (a Redis
///   Cluster; entries spread over 256 hash-tagged buckets, each with its own epoch).
/// - **Insert**: each accepted code is one key, `{prefix}{hex replay id}` (in a Cluster
///   `{prefix}{bb}{hex replay id}` with `bb` the id's first byte), set with `SET NX EX`
///   by a script that first checks the epoch: the check and the insert are one atomic
///   step, and Redis forgets the key when the code expires.
/// - **Loss rule**: the epoch key, `{prefix}epoch`, names the Redis process and
///   replication history that hold the entries (`run_id`, `master_replid`). A missing
///   epoch (new, flushed or emptied Redis), another process (a restart from any
///   persistence, a failover to a replica) or another history (a process demoted and
///   promoted again) means entries may have been lost: the first call to see it writes
///   a new epoch, and every verifier sharing the store refuses codes
///   ([`ReplayError::Recovering`], with the cause) for the recovery window from then on.
/// - **Deadline**: every call has one ([`DEFAULT_REDIS_DEADLINE`], 200 ms) for
///   connecting, writing and reading together; a call that runs out gives
///   [`ReplayError::Timeout`] at the deadline. A late answer does not close the
///   connection, so a Redis whose round trip stays just under the deadline keeps
///   accepting.
/// - **Eviction**: Redis must run `maxmemory-policy noeviction`; the store reads the
///   policy (`INFO memory`) on every readiness check, after every new connection or
///   detected loss, and every 10 s per bucket, and refuses
///   ([`ReplayError::Misconfigured`]) under any other policy unless
///   [`RedisReplayStore::with_unchecked_eviction_policy`]. A write refused for want of
///   memory gives [`ReplayError::OutOfMemory`], and readiness says so.
/// - **Replication** (optional): [`RedisReplayStore::with_replicas`] confirms each
///   insert on that many replicas (`WAIT`) before a code is accepted.
pub struct RedisReplayStore {
    link: Arc<Link>,
    worker: Worker,
    prefix: String,
    deadline: Duration,
    recovery_secs: u64,
    replicas: u32,
    check_policy: bool,
}

/// What a [`RedisReplayStore`] has seen since it was made: for a service's metrics.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedisStoreStats {
    /// Connections made (for a Cluster: cluster clients made). One while Redis stays
    /// up: calls that run out of time do not cost a connection.
    pub connections: u64,
    /// Calls that ran out of their deadline.
    pub timeouts: u64,
    /// Times Redis did not have the script (`NOSCRIPT`: a restart, a failover, `SCRIPT
    /// FLUSH`) and the store sent it again.
    pub script_loads: u64,
    /// Losses this store detected (epochs it wrote because entries may have been lost).
    pub losses_detected: u64,
    /// Calls that failed otherwise (connection errors, server errors, out of memory).
    pub errors: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    timeouts: AtomicU64,
    script_loads: AtomicU64,
    losses_detected: AtomicU64,
    errors: AtomicU64,
}

/// Where the store's Redis is.
enum Target {
    Single(redis::Client),
    Sentinel {
        sentinels: Vec<redis::ConnectionInfo>,
        service: String,
        node: redis::sentinel::SentinelNodeConnectionInfo,
    },
    Cluster(redis::cluster::ClusterClient),
}

/// A live connection: cheap to clone, every clone shares one socket (or, for a
/// Cluster, one socket per node).
#[derive(Clone)]
enum Conn {
    Single(MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Conn {
    async fn query(&mut self, pipe: &redis::Pipeline) -> redis::RedisResult<Vec<Value>> {
        match self {
            Conn::Single(c) => pipe.query_async(c).await,
            Conn::Cluster(c) => pipe.query_async(c).await,
        }
    }
}

/// The connection and what the store's runtime shares with every call.
struct Link {
    target: Target,
    state: Mutex<LinkState>,
    changed: tokio::sync::Notify,
    /// Per bucket: milliseconds after `started` (plus one) when the node serving it last
    /// reported `noeviction`; 0 when it must be checked on the next insert.
    policy_checked: Vec<AtomicU64>,
    started: Instant,
    counters: Counters,
    script_hash: String,
}

#[derive(Default)]
struct LinkState {
    conn: Option<Conn>,
    generation: u64,
    connecting: bool,
    attempts: u64,
    last_error: String,
    probing: bool,
}

/// The store's runtime: one thread, shut down without waiting when the store is dropped
/// (also from inside another runtime, where waiting would panic).
struct Worker {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The work of one call, run on the store's runtime.
type Work<T> = std::pin::Pin<Box<dyn Future<Output = Result<T, ReplayError>> + Send>>;

/// One bucket's part of a call: its epoch key, entry keys and times to live, and where
/// each entry's result goes.
struct Group {
    bucket: usize,
    keys: Vec<String>,
    ttls: Vec<u64>,
    positions: Vec<usize>,
}

/// What one script call answered for a bucket.
enum Answer {
    /// Per entry (mode "i"), or the connected replicas (mode "r"), or whether it seeded (mode "s").
    Done(Vec<Result<(), ReplayError>>, i64),
    /// The whole bucket is refused.
    Refused(ReplayError),
}

impl RedisReplayStore {
    /// A store at `url`: `redis://[user:password@]host:port[/db]` for one Redis,
    /// `redis+sentinel://host:port[,host:port…]/service[/db]` for the primary that
    /// Sentinel names for `service`, `redis+cluster://host:port[,host:port…]` for a Redis
    /// Cluster (credentials before the first host apply to the Redis nodes, not to
    /// Sentinel). Keys go under `citycode:replay:` ([`RedisReplayStore::with_prefix`]),
    /// with the default deadline and recovery window. Connects in the background: a
    /// Redis that is down makes verifications fail, not this call.
    pub fn new(url: &str) -> Result<Self, ReplayError> {
        let (target, buckets) = parse_target(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("citycode-redis")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| ReplayError::Unavailable(format!("cannot start the Redis client's runtime: {e}")))?;
        let link = Arc::new(Link {
            target,
            state: Mutex::new(LinkState::default()),
            changed: tokio::sync::Notify::new(),
            policy_checked: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            started: Instant::now(),
            counters: Counters::default(),
            script_hash: redis::Script::new(SCRIPT).get_hash().to_string(),
        });
        let worker = Worker { handle: runtime.handle().clone(), runtime: Some(runtime) };
        // Connect now, so that the first verification finds the connection made.
        {
            let mut state = link.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.connecting = true;
        }
        worker.handle.spawn(connect(link.clone()));
        Ok(RedisReplayStore {
            link,
            worker,
            prefix: "citycode:replay:".into(),
            deadline: DEFAULT_REDIS_DEADLINE,
            recovery_secs: DEFAULT_RECOVERY_SECS,
            replicas: 0,
            check_policy: true,
        })
    }

    /// Uses another key prefix (to separate deployments sharing one Redis). In a Redis
    /// Cluster the prefix must not contain `{` or `}` (the buckets' hash tags follow it);
    /// such a prefix makes every call refuse with [`ReplayError::Misconfigured`].
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the deadline of one call (connect, write and read together; at least 1 ms).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline.max(Duration::from_millis(1));
        self
    }

    /// Sets how long codes are refused after lost entries are detected: at least the
    /// longest code validity plus twice the skew of every verifier sharing the store
    /// ([`crate::Verifier::replay_window_secs`]).
    pub fn with_recovery_window(mut self, secs: u64) -> Self {
        self.recovery_secs = secs;
        self
    }

    /// Accepts a code only once its entry is on `replicas` replicas (`WAIT`, within the
    /// deadline), and is ready only while that many replicas are connected. A primary
    /// cut off from its replicas then accepts nothing, so a failover cannot leave two
    /// primaries accepting; with `replicas` equal to the number of replicas, every
    /// replica that can be promoted holds every accepted entry. 0 (the default) waits
    /// for none.
    pub fn with_replicas(mut self, replicas: u32) -> Self {
        self.replicas = replicas;
        self
    }

    /// Trusts that Redis never evicts an entry without reading `maxmemory-policy`: for a
    /// managed Redis that does not report it (`INFO memory` without `maxmemory_policy`)
    /// but is known to run `noeviction`. A Redis that evicts lets replays through.
    pub fn with_unchecked_eviction_policy(mut self) -> Self {
        self.check_policy = false;
        self
    }

    /// Declares that this Redis is new, so that codes are taken at once rather than
    /// after one recovery window: every bucket without an epoch gets one bound to the
    /// serving process, dated 0. Returns whether any was written. An existing epoch is
    /// never replaced, so a loss already recorded still refuses codes; but called after
    /// an unnoticed loss (a Redis flushed or restarted empty that no verifier has seen
    /// since) it lets replays through: only for a Redis known to hold nothing that
    /// matters. Waits up to 5 s or the deadline, whichever is longer.
    pub fn declare_new(&self) -> Result<bool, ReplayError> {
        let end = Instant::now() + self.deadline.max(CONNECT_TIMEOUT);
        let groups = self.all_buckets(None);
        let answers = self.run(end, self.call_groups(groups, "s", 0, end))?;
        let mut seeded = false;
        for answer in answers {
            match answer {
                (_, Answer::Done(_, n)) => seeded |= n == 1,
                (_, Answer::Refused(e)) => return Err(e),
            }
        }
        Ok(seeded)
    }

    /// What the store has seen since it was made.
    pub fn stats(&self) -> RedisStoreStats {
        let c = &self.link.counters;
        RedisStoreStats {
            connections: c.connections.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            script_loads: c.script_loads.load(Ordering::Relaxed),
            losses_detected: c.losses_detected.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
        }
    }

    fn buckets(&self) -> usize {
        self.link.policy_checked.len()
    }

    /// The hash tag of `bucket` in a Cluster; nothing for one Redis.
    fn tag(&self, bucket: usize) -> String {
        if self.buckets() == 1 { String::new() } else { format!("{{{bucket:02x}}}") }
    }

    /// One group per bucket with the epoch key and, for readiness, a probe key.
    fn all_buckets(&self, probe: Option<&str>) -> Vec<Group> {
        (0..self.buckets())
            .map(|bucket| {
                let tag = self.tag(bucket);
                let mut keys = vec![format!("{}{tag}epoch", self.prefix)];
                keys.extend(probe.map(|p| format!("{}{tag}{p}", self.prefix)));
                Group { bucket, keys, ttls: Vec::new(), positions: Vec::new() }
            })
            .collect()
    }

    /// Groups entries by bucket, keeping their order within each bucket.
    fn entry_groups(&self, entries: &[([u8; 16], u64)], now: u64) -> Vec<Group> {
        let buckets = self.buckets();
        let mut groups: Vec<Group> = Vec::new();
        for (position, (id, expires_at)) in entries.iter().enumerate() {
            let bucket = if buckets == 1 { 0 } else { usize::from(id[0]) % buckets };
            let at = match groups.iter().position(|g| g.bucket == bucket) {
                Some(at) => at,
                None => {
                    let tag = self.tag(bucket);
                    groups.push(Group {
                        bucket,
                        keys: vec![format!("{}{tag}epoch", self.prefix)],
                        ttls: Vec::new(),
                        positions: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            if let Some(group) = groups.get_mut(at) {
                group.keys.push(format!("{}{}{}", self.prefix, self.tag(bucket), crate::text::hex(id)));
                group.ttls.push(expires_at.saturating_sub(now).max(1));
                group.positions.push(position);
            }
        }
        groups
    }

    /// Runs `work` on the store's runtime and waits for its answer until `end`, whatever
    /// the work is doing then.
    fn run<T: Send + 'static>(&self, end: Instant, work: Work<T>) -> Result<T, ReplayError> {
        let wait = end.saturating_duration_since(Instant::now());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.worker.handle.spawn(async move {
            let answer = tokio::time::timeout_at(tokio::time::Instant::from_std(end), work)
                .await
                .unwrap_or_else(|_| Err(ReplayError::Timeout { after_ms: 0 }));
            let _ = tx.send(answer);
        });
        let answer =
            rx.recv_timeout(end.saturating_duration_since(Instant::now())).unwrap_or_else(|_| Err(timeout(wait)));
        match answer {
            Err(ReplayError::Timeout { .. }) => {
                self.link.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(timeout(self.deadline.max(wait)))
            }
            other => other,
        }
    }

    /// The work of one call that ends at `end`: a script call per group, all sent at
    /// once on one connection.
    fn call_groups(
        &self,
        groups: Vec<Group>,
        mode: &'static str,
        now: u64,
        end: Instant,
    ) -> Work<Vec<(Group, Answer)>> {
        let link = self.link.clone();
        let window = self.recovery_secs;
        let replicas = if mode == "i" { self.replicas } else { 0 };
        let check = self.check_policy;
        let cluster_prefix_bad = self.buckets() > 1 && (self.prefix.contains('{') || self.prefix.contains('}'));
        Box::pin(async move {
            if cluster_prefix_bad {
                return Err(ReplayError::Misconfigured(
                    "a Redis Cluster store's key prefix must not contain '{' or '}'".into(),
                ));
            }
            let (mut conn, generation) = link.connection().await?;
            let mut groups = groups;
            if groups.len() == 1
                && let Some(group) = groups.pop()
            {
                // One bucket (one Redis): no task to spawn.
                let due = check && (mode != "i" || link.policy_due(group.bucket));
                let answer = link.call(&mut conn, generation, &group, mode, now, window, due, replicas, end).await?;
                return Ok(vec![(group, answer)]);
            }
            let calls: Vec<_> = groups
                .into_iter()
                .map(|group| {
                    let link = link.clone();
                    let mut conn = conn.clone();
                    let due = check && (mode != "i" || link.policy_due(group.bucket));
                    tokio::spawn(async move {
                        let answer =
                            link.call(&mut conn, generation, &group, mode, now, window, due, replicas, end).await;
                        (group, answer)
                    })
                })
                .collect();
            let mut answers = Vec::with_capacity(calls.len());
            for call in calls {
                let (group, answer) =
                    call.await.map_err(|_| ReplayError::Unavailable("the Redis client's task failed".into()))?;
                answers.push((group, answer?));
            }
            Ok(answers)
        })
    }
}

impl Link {
    /// The live connection, or one made now (by one attempt that every waiting call
    /// shares). The caller's deadline bounds the wait.
    async fn connection(self: &Arc<Self>) -> Result<(Conn, u64), ReplayError> {
        loop {
            let mut changed = std::pin::pin!(self.changed.notified());
            changed.as_mut().enable();
            let attempts = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(conn) = &state.conn {
                    return Ok((conn.clone(), state.generation));
                }
                if !state.connecting {
                    state.connecting = true;
                    tokio::spawn(connect(self.clone()));
                }
                state.attempts
            };
            changed.await;
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(conn) = &state.conn {
                return Ok((conn.clone(), state.generation));
            }
            if state.attempts > attempts && !state.connecting {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                return Err(ReplayError::Unavailable(format!("cannot connect to Redis: {}", state.last_error)));
            }
        }
    }

    /// Forgets connection `generation` (it failed) and starts making a new one.
    fn drop_connection(self: &Arc<Self>, generation: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.generation == generation && state.conn.is_some() {
            state.conn = None;
            if !state.connecting {
                state.connecting = true;
                tokio::spawn(connect(self.clone()));
            }
        }
    }

    /// A call on connection `generation` ran out of time: Redis may be slow (keep the
    /// connection) or gone without a word (a network cut, a failover whose old primary
    /// vanished). One `PING` at a time, with a longer timeout, tells them apart.
    fn suspect(self: &Arc<Self>, conn: &Conn, generation: u64) {
        let Conn::Single(single) = conn else {
            // The cluster client watches its own node connections.
            return;
        };
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.probing || state.generation != generation {
                return;
            }
            state.probing = true;
        }
        let link = self.clone();
        let mut single = single.clone();
        tokio::spawn(async move {
            let answered =
                tokio::time::timeout(PROBE_PATIENCE, redis::cmd("PING").query_async::<String>(&mut single)).await;
            if !matches!(answered, Ok(Ok(_))) {
                link.drop_connection(generation);
            }
            link.state.lock().unwrap_or_else(PoisonError::into_inner).probing = false;
        });
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1)
    }

    /// Whether an insert into `bucket` should also check `maxmemory-policy`.
    fn policy_due(&self, bucket: usize) -> bool {
        let recheck = u64::try_from(POLICY_RECHECK.as_millis()).unwrap_or(u64::MAX);
        self.policy_checked.get(bucket).is_none_or(|at| {
            let at = at.load(Ordering::Relaxed);
            at == 0 || self.millis().saturating_sub(at) >= recheck
        })
    }

    fn policy_seen(&self, bucket: usize) {
        if let Some(at) = self.policy_checked.get(bucket) {
            at.store(self.millis(), Ordering::Relaxed);
        }
    }

    /// One script call for one bucket (with `WAIT` when `replicas` > 0), sent again as
    /// `EVAL` if Redis lost the script.
    #[allow(clippy::too_many_arguments)]
    async fn call(
        self: &Arc<Self>,
        conn: &mut Conn,
        generation: u64,
        group: &Group,
        mode: &str,
        now: u64,
        window: u64,
        check: bool,
        replicas: u32,
        end: Instant,
    ) -> Result<Answer, ReplayError> {
        let pipe = |by_hash: bool| {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            let cmd = if by_hash { pipe.cmd("EVALSHA").arg(&self.script_hash) } else { pipe.cmd("EVAL").arg(SCRIPT) };
            cmd.arg(group.keys.len())
                .arg(&group.keys)
                .arg(now)
                .arg(window)
                .arg(mode)
                .arg(if check { "1" } else { "0" })
                .arg(&group.ttls);
            if replicas > 0 {
                // Three quarters of what is left, so that a replica's silence is reported
                // as such before the deadline; WAIT 0 would wait forever: at least 1 ms.
                let left = end.saturating_duration_since(Instant::now()).as_millis() * 3 / 4;
                pipe.cmd("WAIT").arg(replicas).arg(u64::try_from(left.max(1)).unwrap_or(u64::MAX));
            }
            pipe
        };
        let deadline = tokio::time::Instant::from_std(end);
        let mut reply = self.query(conn, generation, &pipe(true), deadline).await?;
        if matches!(reply.first(), Some(Value::ServerError(e)) if e.code() == "NOSCRIPT") {
            self.counters.script_loads.fetch_add(1, Ordering::Relaxed);
            reply = self.query(conn, generation, &pipe(false), deadline).await?;
        }
        let mut reply = reply.into_iter();
        let answer = self.answer(reply.next(), group, mode, check, generation)?;
        if replicas == 0 {
            return Ok(answer);
        }
        let acknowledged = match reply.next() {
            Some(Value::Int(n)) => n,
            Some(Value::ServerError(e)) => return Err(self.server_error(&e, generation)),
            _ => return Err(ReplayError::Unavailable("Redis answered WAIT with something else".into())),
        };
        Ok(match answer {
            Answer::Done(results, n) if acknowledged < i64::from(replicas) => {
                // Inserted but not confirmed: refused (and remembered), never accepted twice.
                let short = ReplayError::NotReplicated {
                    acknowledged: u32::try_from(acknowledged.max(0)).unwrap_or(0),
                    required: replicas,
                };
                Answer::Done(results.into_iter().map(|r| r.and(Err(short.clone()))).collect(), n)
            }
            other => other,
        })
    }

    /// Sends `pipe`, within the deadline; a connection that fails is replaced, one that
    /// is only slow is kept.
    async fn query(
        self: &Arc<Self>,
        conn: &mut Conn,
        generation: u64,
        pipe: &redis::Pipeline,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<Value>, ReplayError> {
        match tokio::time::timeout_at(deadline, conn.query(pipe)).await {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                if e.is_unrecoverable_error() || e.is_connection_dropped() || e.is_io_error() {
                    self.drop_connection(generation);
                }
                Err(ReplayError::Unavailable(if e.is_timeout() { "timed out".into() } else { e.to_string() }))
            }
            Err(_) => {
                self.suspect(conn, generation);
                Err(ReplayError::Timeout { after_ms: 0 })
            }
        }
    }

    /// A server error: out of memory, a replica (after a failover: reconnect, Sentinel
    /// names the new primary), or anything else.
    fn server_error(self: &Arc<Self>, e: &redis::ServerError, generation: u64) -> ReplayError {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let text = format!("{} {}", e.code(), e.details().unwrap_or_default());
        if e.code() == "OOM" || text.contains("OOM command not allowed") {
            return ReplayError::OutOfMemory;
        }
        if e.code() == "READONLY" {
            self.drop_connection(generation);
            return ReplayError::Unavailable("Redis is a read-only replica (a failover?): reconnecting".into());
        }
        ReplayError::Unavailable(format!("Redis answered: {}", text.trim()))
    }

    /// Reads the script's reply for `group`.
    fn answer(
        self: &Arc<Self>,
        reply: Option<Value>,
        group: &Group,
        mode: &str,
        check: bool,
        generation: u64,
    ) -> Result<Answer, ReplayError> {
        let items = match reply {
            Some(Value::Array(items)) => items,
            Some(Value::ServerError(e)) => return Err(self.server_error(&e, generation)),
            _ => return Err(ReplayError::Unavailable("the replay script answered something else".into())),
        };
        let mut items = items.into_iter();
        let status = items.next();
        if check && !matches!(status, Some(Value::Int(2))) {
            self.policy_seen(group.bucket);
        }
        match status {
            Some(Value::Int(0)) => {
                let until = match items.next() {
                    Some(Value::Int(until)) => u64::try_from(until).unwrap_or(0),
                    _ => return Err(ReplayError::Unavailable("the replay script answered something else".into())),
                };
                let cause = match items.next() {
                    Some(Value::BulkString(cause)) => LossCause::from_tag(&cause),
                    _ => LossCause::Foreign,
                };
                if matches!(items.next(), Some(Value::Int(1))) {
                    self.counters.losses_detected.fetch_add(1, Ordering::Relaxed);
                    // A new process may be configured otherwise: look again on every bucket.
                    for at in &self.policy_checked {
                        at.store(0, Ordering::Relaxed);
                    }
                }
                Ok(Answer::Refused(ReplayError::Recovering { until, cause }))
            }
            Some(Value::Int(1)) if mode == "i" => {
                let results = items
                    .map(|item| match item {
                        Value::Int(1) => Ok(()),
                        Value::Int(0) => Err(ReplayError::Replayed),
                        Value::BulkString(text) if text.starts_with(b"OOM") => {
                            self.counters.errors.fetch_add(1, Ordering::Relaxed);
                            Err(ReplayError::OutOfMemory)
                        }
                        Value::BulkString(text) => {
                            self.counters.errors.fetch_add(1, Ordering::Relaxed);
                            Err(ReplayError::Unavailable(format!("Redis answered: {}", String::from_utf8_lossy(&text))))
                        }
                        _ => Err(ReplayError::Unavailable("the replay script answered something else".into())),
                    })
                    .collect::<Vec<_>>();
                if results.len() != group.positions.len() {
                    return Err(ReplayError::Unavailable("the replay script answered for other entries".into()));
                }
                Ok(Answer::Done(results, 0))
            }
            Some(Value::Int(1)) => match items.next() {
                Some(Value::Int(n)) => Ok(Answer::Done(Vec::new(), n)),
                _ => Err(ReplayError::Unavailable("the replay script answered something else".into())),
            },
            Some(Value::Int(2)) => {
                let reason = match items.next() {
                    Some(Value::BulkString(reason)) => String::from_utf8_lossy(&reason).into_owned(),
                    _ => "misconfigured".into(),
                };
                Ok(Answer::Refused(ReplayError::Misconfigured(reason)))
            }
            _ => Err(ReplayError::Unavailable("the replay script answered something else".into())),
        }
    }
}

/// One attempt to connect, shared by every call waiting for it; then the script is
/// loaded, so that the first call needs one round trip.
async fn connect(link: Arc<Link>) {
    let made = tokio::time::timeout(CONNECT_TIMEOUT, link.target.connect()).await;
    let made = match made {
        Ok(Ok(mut conn)) => {
            let load = redis::pipe().cmd("SCRIPT").arg("LOAD").arg(SCRIPT).clone();
            match &mut conn {
                Conn::Single(_) => {
                    // A failure here surfaces on the first call (and NOSCRIPT is handled).
                    let _ = tokio::time::timeout(CONNECT_TIMEOUT, conn.query(&load)).await;
                }
                Conn::Cluster(c) => {
                    let routing = RoutingInfo::MultiNode((
                        MultipleNodeRoutingInfo::AllMasters,
                        Some(ResponsePolicy::AllSucceeded),
                    ));
                    let mut load = redis::cmd("SCRIPT");
                    load.arg("LOAD").arg(SCRIPT);
                    let _ = tokio::time::timeout(CONNECT_TIMEOUT, c.route_command(load, routing)).await;
                }
            }
            Ok(conn)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())),
    };
    {
        let mut state = link.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.connecting = false;
        state.attempts += 1;
        match made {
            Ok(conn) => {
                state.conn = Some(conn);
                state.generation += 1;
                link.counters.connections.fetch_add(1, Ordering::Relaxed);
                for at in &link.policy_checked {
                    at.store(0, Ordering::Relaxed);
                }
            }
            Err(e) => state.last_error = e,
        }
    }
    link.changed.notify_waiters();
}

impl Target {
    async fn connect(&self) -> redis::RedisResult<Conn> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            // Calls carry their own deadline; a late answer must not close the connection.
            .set_response_timeout(None);
        match self {
            Target::Single(client) => {
                Ok(Conn::Single(client.get_multiplexed_async_connection_with_config(&config).await?))
            }
            Target::Sentinel { sentinels, service, node } => {
                let mut client = redis::sentinel::SentinelClient::build(
                    sentinels.clone(),
                    service.clone(),
                    Some(node.clone()),
                    redis::sentinel::SentinelServerType::Master,
                )?;
                Ok(Conn::Single(client.get_async_connection_with_config(&config).await?))
            }
            Target::Cluster(client) => Ok(Conn::Cluster(client.get_async_connection().await?)),
        }
    }
}

fn timeout(wait: Duration) -> ReplayError {
    ReplayError::Timeout { after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX) }
}

/// The shape of the URLs [`RedisReplayStore::new`] takes, for error messages that never
/// repeat a URL (it may hold a password).
const URL_FORMS: &str =
    "expected redis://host:port/, redis+sentinel://host:port,…/service or redis+cluster://host:port,…";

fn bad_url(why: &str) -> ReplayError {
    ReplayError::Misconfigured(format!("bad Redis URL ({why}); {URL_FORMS}"))
}

/// Parses a store URL into where to connect and how many buckets to use.
fn parse_target(url: &str) -> Result<(Target, usize), ReplayError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad_url("no scheme"))?;
    match scheme {
        "redis+sentinel" | "redis+cluster" => {}
        _ => {
            let client = redis::Client::open(url).map_err(|_| bad_url("not a Redis URL"))?;
            return Ok((Target::Single(client), 1));
        }
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
    if hosts.is_empty() {
        return Err(bad_url("no host"));
    }
    let node_url = |host: &str, db: &str| match userinfo {
        Some(userinfo) => format!("redis://{userinfo}@{host}/{db}"),
        None => format!("redis://{host}/{db}"),
    };
    if scheme == "redis+cluster" {
        if !path.is_empty() {
            return Err(bad_url("a Redis Cluster has no database or service name"));
        }
        let nodes = hosts
            .iter()
            .map(|h| node_url(h, "").into_connection_info())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad_url("a node address does not parse"))?;
        let client = redis::cluster::ClusterClient::builder(nodes)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|_| bad_url("the cluster nodes do not parse"))?;
        return Ok((Target::Cluster(client), usize::from(CLUSTER_BUCKETS)));
    }
    let (service, db) = path.split_once('/').unwrap_or((path, ""));
    if service.is_empty() {
        return Err(bad_url("no Sentinel service name"));
    }
    let sentinels = hosts
        .iter()
        .map(|h| format!("redis://{h}/").into_connection_info())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad_url("a Sentinel address does not parse"))?;
    let settings = node_url("localhost", db)
        .into_connection_info()
        .map_err(|_| bad_url("the credentials or database do not parse"))?
        .redis_settings()
        .clone();
    let node = redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(settings);
    Ok((Target::Sentinel { sentinels, service: service.into(), node }, 1))
}

impl core::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let topology = match self.link.target {
            Target::Single(_) => "single",
            Target::Sentinel { .. } => "sentinel",
            Target::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisReplayStore")
            .field("topology", &topology)
            .field("prefix", &self.prefix)
            .field("deadline", &self.deadline)
            .field("recovery_secs", &self.recovery_secs)
            .field("replicas", &self.replicas)
            .field("check_policy", &self.check_policy)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for RedisReplayStore {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        self.check_and_insert_batch(&[(*id, expires_at)], now)
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(ReplayError::Unavailable("no answer".into())))
    }

    /// One round trip for the whole batch (one script call per bucket touched, sent
    /// together), under one deadline; results as if inserted one by one in order.
    fn check_and_insert_batch(&self, entries: &[([u8; 16], u64)], now: u64) -> Vec<Result<(), ReplayError>> {
        if entries.is_empty() {
            return Vec::new();
        }
        let end = Instant::now() + self.deadline;
        let groups = self.entry_groups(entries, now);
        match self.run(end, self.call_groups(groups, "i", now, end)) {
            Ok(answers) => {
                let mut results = vec![Err(ReplayError::Unavailable("no answer".into())); entries.len()];
                for (group, answer) in answers {
                    let per_entry: Vec<Result<(), ReplayError>> = match answer {
                        Answer::Done(per_entry, _) => per_entry,
                        Answer::Refused(e) => vec![Err(e); group.positions.len()],
                    };
                    for (position, result) in group.positions.iter().zip(per_entry) {
                        if let Some(slot) = results.get_mut(*position) {
                            *slot = result;
                        }
                    }
                }
                results
            }
            Err(e) => vec![Err(e); entries.len()],
        }
    }

    /// Checks every bucket: its epoch (creating it if missing), `maxmemory-policy`, a
    /// write (refused when Redis is out of memory) and, with
    /// [`RedisReplayStore::with_replicas`], the connected replicas.
    fn ready(&self, now: u64) -> Result<(), ReplayError> {
        let end = Instant::now() + self.deadline;
        let groups = self.all_buckets(Some("ready"));
        let answers = self.run(end, self.call_groups(groups, "r", now, end))?;
        let mut worst: Option<ReplayError> = None;
        for (_, answer) in answers {
            let problem = match answer {
                Answer::Done(_, connected) if connected < i64::from(self.replicas) => ReplayError::NotReplicated {
                    acknowledged: u32::try_from(connected.max(0)).unwrap_or(0),
                    required: self.replicas,
                },
                Answer::Done(..) => continue,
                Answer::Refused(e) => e,
            };
            worst = Some(match worst {
                Some(w) if severity(&w) >= severity(&problem) => w,
                _ => problem,
            });
        }
        worst.map_or(Ok(()), Err)
    }
}

/// Which of several buckets' problems readiness reports: the one an operator must fix
/// first, and of recovery windows the longest.
fn severity(e: &ReplayError) -> (u8, u64) {
    match e {
        ReplayError::Misconfigured(_) => (5, 0),
        ReplayError::OutOfMemory => (4, 0),
        ReplayError::NotReplicated { .. } => (3, 0),
        ReplayError::Recovering { until, .. } => (2, *until),
        _ => (1, 0),
    }
}
