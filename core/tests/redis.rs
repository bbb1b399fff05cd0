//! The Redis replay store against a real redis-server on loopback, started here: several
//! verifiers (as on several machines) sharing one Redis reject a code replayed on
//! another; keys expire with the code; an unreachable, hung or restarted Redis fails
//! closed, within the store's deadline.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::*;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_redis() -> Server {
    start_redis_on(free_port())
}

fn start_redis_on(port: u16) -> Server {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test-all.sh installs Debian's redis-server)");
    let url = format!("redis://127.0.0.1:{port}/");
    let client = redis::Client::open(url.as_str()).unwrap();
    let start = Instant::now();
    while client.get_connection().is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, url }
}

/// What an operator does for a Redis known to be new: an epoch from long ago, so the
/// store does not wait out a replay window first.
fn seed_epoch(url: &str) {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("citycode:replay:epoch").arg("seeded:0").query(&mut conn).unwrap();
}

fn signal(server: &Server, sig: &str) {
    let status = Command::new("kill").args([sig, &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn verifier(city: &DemoCity, store: Arc<dyn ReplayStore>) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_replay_store(store);
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

fn code(city: &DemoCity, n: u8, at: u64) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
    present(&city.credential, &city.device, &[4], at, opts).unwrap().to_text()
}

#[test]
fn verifiers_sharing_redis_reject_a_code_replayed_on_another() {
    let server = start_redis();
    seed_epoch(&server.url);
    let city = DemoCity::new().unwrap();
    let machines: Vec<Verifier> =
        (0..3).map(|_| verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap()))).collect();
    let code = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap();
    let text = code.to_text();
    assert!(machines[0].verify_at(&text, demo::NOW).is_ok());
    for other in &machines[1..] {
        assert_eq!(other.verify_at(&text, demo::NOW + 1).unwrap_err().reason, Reason::Replayed);
    }
    // Another code of the same holder is fine on another machine.
    let next = present(&city.credential, &city.device, &[4], demo::NOW + 1, PresentOptions::default()).unwrap();
    assert!(machines[2].verify_at(&next.to_text(), demo::NOW + 1).is_ok());

    // The key lives until the code expires (validity 60 s + skew 30 s), then Redis drops it.
    let mut conn = redis::Client::open(server.url.as_str()).unwrap().get_connection().unwrap();
    let id = UnverifiedCode::from_text(&text).unwrap().replay_id();
    let ttl: i64 = redis::cmd("TTL").arg(format!("citycode:replay:{}", text::hex(&id))).query(&mut conn).unwrap();
    assert!((1..=90).contains(&ttl), "ttl {ttl}");

    // Batches go through the same store.
    let batch = machines[1].verify_batch_at(&[&text, &next.to_text()], demo::NOW + 2);
    assert!(batch.iter().all(|r| r.as_ref().unwrap_err().reason == Reason::Replayed));
}

#[test]
fn an_unreachable_redis_fails_closed() {
    let city = DemoCity::new().unwrap();
    let dead = format!("redis://127.0.0.1:{}/", free_port());
    let v = verifier(&city, Arc::new(RedisReplayStore::new(&dead).unwrap()));
    let start = Instant::now();
    assert_eq!(v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_store_reconnects_when_redis_drops_connections() {
    let server = start_redis();
    seed_epoch(&server.url);
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap()));
    assert!(v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).is_ok());
    // Break the connection: the server closes all client connections.
    let mut admin = redis::Client::open(server.url.as_str()).unwrap().get_connection().unwrap();
    let _: redis::RedisResult<()> = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query(&mut admin);
    assert!(v.verify_at(&code(&city, 2, demo::NOW), demo::NOW).is_ok(), "reconnects once");
}

#[test]
fn a_redis_restart_without_persistence_refuses_codes_for_one_replay_window() {
    let city = DemoCity::new().unwrap();
    let port = free_port();
    let server = start_redis_on(port);
    seed_epoch(&server.url);
    let a = verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap()));
    let b = verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap()));
    let t = demo::NOW;
    let first = code(&city, 1, t);
    assert!(a.verify_at(&first, t).is_ok());
    // Redis restarts empty: every entry, the epoch included, is gone.
    drop(server);
    let server = start_redis_on(port);
    // The same code at B within its minute: refused, not accepted again.
    let err = b.verify_at(&first, t + 10).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable, "{err}");
    assert!(err.detail.contains(&format!("until {}", t + 10 + b.replay_window_secs())), "{}", err.detail);
    // Every verifier sharing the store refuses, and says it is not ready, until the
    // window has passed since the loss was detected.
    assert_eq!(a.verify_at(&code(&city, 2, t + 100), t + 100).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert_eq!(a.ready_at(t + 100).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    let end = t + 10 + b.replay_window_secs();
    assert_eq!(a.verify_at(&code(&city, 3, end - 1), end - 1).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert!(a.ready_at(end).is_ok());
    assert!(a.verify_at(&code(&city, 4, end), end).is_ok());
    drop(server);
}

#[test]
fn a_new_store_waits_one_replay_window_unless_seeded() {
    let server = start_redis();
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap().with_recovery_window(60)));
    let t = demo::NOW;
    assert_eq!(v.verify_at(&code(&city, 1, t), t).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert!(v.verify_at(&code(&city, 2, t + 60), t + 60).is_ok());
}

#[test]
fn a_hung_redis_gives_a_verdict_within_the_deadline_and_blocks_nobody() {
    let server = start_redis();
    seed_epoch(&server.url);
    let city = DemoCity::new().unwrap();
    let deadline = Duration::from_millis(200);
    let store = Arc::new(RedisReplayStore::new(&server.url).unwrap().with_deadline(deadline));
    let v = Arc::new(verifier(&city, store));
    assert!(v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).is_ok());
    assert!(v.ready_at(demo::NOW).is_ok());

    signal(&server, "-STOP");
    let start = Instant::now();
    assert_eq!(v.verify_at(&code(&city, 2, demo::NOW), demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    let one = start.elapsed();
    assert!(one < Duration::from_millis(1000), "one verification took {one:?}");
    assert_eq!(v.ready_at(demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    // Eight verifications at once finish in about one deadline, not eight: no lock is
    // held across the network call.
    let start = Instant::now();
    let threads: Vec<_> = (10..18)
        .map(|n| {
            let v = v.clone();
            let text = code(&city, n, demo::NOW);
            std::thread::spawn(move || v.verify_at(&text, demo::NOW).unwrap_err().reason)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Reason::ReplayStoreUnavailable);
    }
    let eight = start.elapsed();
    assert!(eight < deadline * 4, "eight concurrent verifications took {eight:?}");

    signal(&server, "-CONT");
    // Once Redis answers again, so does the store. (A code refused while it hung may
    // still be recorded when Redis wakes and runs the queued SET: refused twice, never
    // accepted twice.)
    assert!(v.verify_at(&code(&city, 30, demo::NOW), demo::NOW + 1).is_ok());
    assert!(v.ready_at(demo::NOW).is_ok());
}
