//! The Redis replay store against a real redis-server on loopback, started here: several
//! verifiers (as on several machines) sharing one Redis reject a code replayed on
//! another; keys expire with the code; an unreachable Redis fails closed.

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
    let port = free_port();
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

fn verifier(city: &DemoCity, store: Arc<dyn ReplayStore>) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_replay_store(store);
    v.load_trust_list(&city.trust_list).unwrap();
    v
}

#[test]
fn verifiers_sharing_redis_reject_a_code_replayed_on_another() {
    let server = start_redis();
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
    let code = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap();
    assert_eq!(v.verify_at(&code.to_text(), demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
}

#[test]
fn the_store_recovers_when_redis_restarts() {
    let server = start_redis();
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(RedisReplayStore::new(&server.url).unwrap()));
    let code = |n: u8| {
        let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
        present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
    };
    assert!(v.verify_at(&code(1), demo::NOW).is_ok());
    // Break the connection: the server closes all client connections.
    let mut admin = redis::Client::open(server.url.as_str()).unwrap().get_connection().unwrap();
    let _: redis::RedisResult<()> = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query(&mut admin);
    assert!(v.verify_at(&code(2), demo::NOW).is_ok(), "reconnects once");
}
