//! Real Redis processes for the Redis store's tests: one Redis, a primary with a
//! replica, Sentinel, a Redis Cluster. Every process listens on loopback on a port the
//! OS picked, keeps its files in a temporary directory (under `CITYCODE_REDIS_TMP` when
//! `scripts/test-redis.sh` runs the tests, so that it can stop whatever a failed test
//! left), writes its pid there, and is killed when its handle is dropped.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use citycode::demo::DemoCity;
use citycode::*;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::var_os("CITYCODE_REDIS_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let dir =
            root.join(format!("citycode-{name}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nobody listens on (nor on its cluster bus port, `port + 10000`).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// One `redis-server` (or `redis-sentinel`) process.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    program: &'static str,
    args: Vec<String>,
}

impl Redis {
    /// A Redis without persistence.
    pub fn start(dir: &Path) -> Redis {
        Redis::start_with(dir, &["--save", "", "--appendonly", "no"])
    }

    /// A Redis with these extra settings (`--name value` pairs).
    pub fn start_with(dir: &Path, settings: &[&str]) -> Redis {
        Redis::spawn("redis-server", dir, free_port(), settings.iter().map(|s| s.to_string()).collect())
    }

    fn spawn(program: &'static str, dir: &Path, port: u16, settings: Vec<String>) -> Redis {
        let mut redis = Redis { child: None, port, dir: dir.to_path_buf(), program, args: settings };
        redis.launch();
        redis
    }

    fn launch(&mut self) {
        let mut args: Vec<String> = Vec::new();
        if self.program == "redis-sentinel" {
            // redis-server runs as Sentinel with --sentinel (no redis-sentinel package needed).
            args.push(self.dir.join("sentinel.conf").display().to_string());
            args.push("--sentinel".into());
        }
        args.extend(["--bind", "127.0.0.1", "--port", &self.port.to_string()].map(String::from));
        args.extend(["--dir".to_string(), self.dir.display().to_string()]);
        args.extend(self.args.iter().cloned());
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test-redis.sh installs Debian's redis-server)");
        std::fs::write(self.dir.join(format!("{}.pid", self.port)), child.id().to_string()).unwrap();
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if let Ok(mut c) = self.try_conn()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{} on {} did not start", self.program, self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url().as_str())?.get_connection_with_timeout(Duration::from_secs(1))
    }

    /// An administrator's connection.
    pub fn conn(&self) -> redis::Connection {
        self.try_conn().unwrap()
    }

    /// Runs one command as the administrator.
    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.conn()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// One field of `INFO`.
    pub fn info(&self, field: &str) -> String {
        let info: String = self.cmd(&["INFO", "everything"]);
        info.lines()
            .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
            .unwrap_or_else(|| panic!("no {field} in INFO"))
            .trim()
            .to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill").args([sig, &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGKILL: nothing is saved, nothing flushed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same server again (same port, directory and settings) after a kill.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Runs a Lua busy loop that holds Redis for `millis` (a slow Redis), in the background.
    pub fn hold_busy(&self, millis: u64) -> std::thread::JoinHandle<()> {
        let url = self.url();
        let handle = std::thread::spawn(move || {
            let mut c = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
            let script = "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] \
                          while true do local n = redis.call('TIME') \
                          if n[1] * 1000000 + n[2] - start > tonumber(ARGV[1]) * 1000 then return 1 end end";
            let _: i64 = redis::cmd("EVAL").arg(script).arg(0).arg(millis).query(&mut c).unwrap();
        });
        // Let the script start before the caller measures.
        std::thread::sleep(Duration::from_millis(20));
        handle
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A primary and a replica of it, in sync.
pub struct Replicated {
    pub primary: Redis,
    pub replica: Redis,
}

impl Replicated {
    pub fn start(dir: &Path, settings: &[&str]) -> Replicated {
        let primary_dir = dir.join("primary");
        let replica_dir = dir.join("replica");
        std::fs::create_dir_all(&primary_dir).unwrap();
        std::fs::create_dir_all(&replica_dir).unwrap();
        let primary = Redis::start_with(&primary_dir, settings);
        let mut replica_settings: Vec<&str> = settings.to_vec();
        let port = primary.port.to_string();
        replica_settings.extend(["--replicaof", "127.0.0.1", &port]);
        let replica = Redis::start_with(&replica_dir, &replica_settings);
        let pair = Replicated { primary, replica };
        pair.wait_in_sync();
        pair
    }

    /// Waits until the replica has everything the primary wrote.
    pub fn wait_in_sync(&self) {
        let start = Instant::now();
        loop {
            let link = self.replica.info("master_link_status");
            let primary: i64 = self.primary.info("master_repl_offset").parse().unwrap();
            let replica: i64 = self.replica.info("master_repl_offset").parse().unwrap();
            if link == "up" && replica >= primary {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "replica never caught up ({link}, {replica} < {primary})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sentinel watching a primary named `citycode` (quorum 1, quick failover).
pub fn start_sentinel(dir: &Path, primary: &Redis) -> Redis {
    let dir = dir.join("sentinel");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sentinel.conf"),
        format!(
            "sentinel monitor citycode 127.0.0.1 {} 1\n\
             sentinel down-after-milliseconds citycode 1000\n\
             sentinel failover-timeout citycode 10000\n\
             sentinel parallel-syncs citycode 1\n",
            primary.port
        ),
    )
    .unwrap();
    Redis::spawn("redis-sentinel", &dir, free_port(), Vec::new())
}

/// A Redis Cluster of `n` primaries, each serving a share of the slots.
pub struct Cluster {
    pub nodes: Vec<Redis>,
}

impl Cluster {
    pub fn start(dir: &Path, n: usize) -> Cluster {
        let nodes: Vec<Redis> = (0..n)
            .map(|i| {
                let node_dir = dir.join(format!("node{i}"));
                std::fs::create_dir_all(&node_dir).unwrap();
                Redis::start_with(
                    &node_dir,
                    &[
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(node.addr());
        }
        let out = create.args(["--cluster-replicas", "0", "--cluster-yes"]).output().unwrap();
        assert!(out.status.success(), "cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = Cluster { nodes };
        cluster.wait_ok();
        cluster
    }

    /// Waits until every node reports the cluster whole.
    pub fn wait_ok(&self) {
        let start = Instant::now();
        for node in &self.nodes {
            loop {
                let info: String = node.cmd(&["CLUSTER", "INFO"]);
                if info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384") {
                    break;
                }
                assert!(start.elapsed() < Duration::from_secs(20), "cluster never became ok: {info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(Redis::addr).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// Which node holds `key`.
    pub fn node_of(&self, key: &str) -> usize {
        let slot: i64 = self.nodes[0].cmd(&["CLUSTER", "KEYSLOT", key]);
        let ranges: Vec<Vec<redis::Value>> = self.nodes[0].cmd(&["CLUSTER", "SLOTS"]);
        let port = ranges
            .iter()
            .find_map(|range| match (range.first(), range.get(1), range.get(2)) {
                (Some(redis::Value::Int(lo)), Some(redis::Value::Int(hi)), Some(redis::Value::Array(primary)))
                    if (*lo..=*hi).contains(&slot) =>
                {
                    match primary.get(1) {
                        Some(redis::Value::Int(port)) => Some(*port),
                        _ => None,
                    }
                }
                _ => None,
            })
            .unwrap();
        self.nodes.iter().position(|n| i64::from(n.port) == port).unwrap()
    }
}

/// A verifier at the metro gate of the demo city, with `store`.
pub fn verifier(city: &DemoCity, store: std::sync::Arc<dyn ReplayStore>) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_replay_store(store);
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// The demo holder's code number `n`, made at `at`, valid 60 s.
pub fn code(city: &DemoCity, n: u32, at: u64) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some(n.to_le_bytes()) };
    present(&city.credential, &city.device, &[4], at, opts).unwrap().to_text()
}

/// The store key of a code (one Redis).
pub fn key_of(text: &str) -> String {
    format!("citycode:replay:{}", text::hex(&UnverifiedCode::from_text(text).unwrap().replay_id()))
}

/// A store at `url` on a Redis known to be new (no window to wait out).
pub fn new_store(url: &str) -> RedisReplayStore {
    let store = RedisReplayStore::new(url).unwrap();
    assert!(store.declare_new().is_ok());
    store
}

/// Verifies `text` at `now`, again while the answer is only that the store could not
/// be reached or answer in time (a restarted Redis closes the store's connection, and
/// the store reconnects): every answer on the way is a refusal, and the first other
/// answer is returned.
pub fn verify_settled(v: &Verifier, text: &str, now: u64) -> Result<Accepted, Rejection> {
    let start = Instant::now();
    loop {
        let answer = v.verify_at(text, now);
        match &answer {
            Err(e)
                if e.reason == Reason::ReplayStoreUnavailable
                    && (e.detail.contains("replay store unavailable") || e.detail.contains("did not answer"))
                    && start.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return answer,
        }
    }
}

/// The same for a store's own call.
pub fn insert_settled(store: &RedisReplayStore, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
    let start = Instant::now();
    loop {
        let answer = store.check_and_insert(id, expires_at, now);
        match &answer {
            Err(ReplayError::Unavailable(_) | ReplayError::Timeout { .. })
                if start.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return answer,
        }
    }
}

/// Whether `key` exists on `server`.
pub fn exists(server: &Redis, key: &str) -> bool {
    server.cmd::<i64>(&["EXISTS", key]) == 1
}
