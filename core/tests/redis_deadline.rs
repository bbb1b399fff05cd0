//! The deadline is the deadline: at 100, 200 and 500 ms, a Redis that is stopped
//! (SIGSTOP), slow (a script holding it), or behind a proxy that delays its answers just
//! over the deadline gives a refusal at the deadline (plus a small margin), and one
//! whose answers come just under the deadline keeps accepting, on one connection (no
//! reconnect storm). The proxy is written here: it forwards both ways on loopback and
//! holds each chunk of Redis's answers for the set delay.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod redis_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::*;
use redis_support::*;

/// How late a verdict may come after the deadline: thread wake-ups on a busy machine.
const MARGIN: Duration = Duration::from_millis(60);

/// A TCP proxy to `upstream` that delays what upstream sends back by `delay_ms`.
struct Proxy {
    port: u16,
    delay_ms: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: u16, delay: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay_ms = Arc::new(AtomicU64::new(delay.as_millis() as u64));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (delay_ms.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                        client.set_nodelay(true).unwrap();
                        server.set_nodelay(true).unwrap();
                        pump(client.try_clone().unwrap(), server.try_clone().unwrap(), None);
                        pump(server, client, Some(d.clone()));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, delay_ms, stop }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies `from` to `to`, each chunk held for the delay (if any) after it was read.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Option<Arc<AtomicU64>>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due =
                        Instant::now() + Duration::from_millis(delay.as_ref().map_or(0, |d| d.load(Ordering::Relaxed)));
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// A verification that must be refused for want of an answer: at the deadline, give or
/// take the margin, never later.
fn refused_at_the_deadline(v: &Verifier, text: &str, deadline: Duration, what: &str) {
    let start = Instant::now();
    let answer = v.verify_at(text, demo::NOW);
    let took = start.elapsed();
    let err = answer.expect_err(what);
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable, "{what}: {}", err.detail);
    assert!(err.detail.contains("did not answer within"), "{what}: {}", err.detail);
    assert!(
        took >= deadline.saturating_sub(Duration::from_millis(2)),
        "{what}: refused after {took:?}, before {deadline:?}"
    );
    assert!(took <= deadline + MARGIN, "{what}: refused after {took:?}, deadline {deadline:?}");
}

fn deadline_holds(ms: u64) {
    let deadline = Duration::from_millis(ms);
    // Just under / over: at least 30 ms (or a fifth of the deadline) from it.
    let gap = Duration::from_millis((ms / 5).max(30));
    let dir = TempDir::new(&format!("deadline{ms}"));
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        code(&city, n, demo::NOW)
    };

    // Stopped.
    let store = Arc::new(new_store(&server.url()).with_deadline(deadline));
    let v = verifier(&city, store.clone());
    assert!(v.verify_at(&next(), demo::NOW).is_ok());
    server.signal("-STOP");
    for _ in 0..3 {
        refused_at_the_deadline(&v, &next(), deadline, "stopped");
    }
    server.signal("-CONT");
    assert!(verify_settled(&v, &next(), demo::NOW).is_ok());

    // Slow: a script holds Redis for three deadlines.
    let busy = server.hold_busy(ms * 3);
    for _ in 0..2 {
        refused_at_the_deadline(&v, &next(), deadline, "slow");
    }
    busy.join().unwrap();
    assert!(verify_settled(&v, &next(), demo::NOW).is_ok());

    // Behind a proxy whose answers come just under the deadline: accepted, every time,
    // on the one connection made at the start.
    let proxy = Proxy::start(server.port, deadline - gap);
    let store = Arc::new(RedisReplayStore::new(&proxy.url()).unwrap().with_deadline(deadline));
    let v = verifier(&city, store.clone());
    // The connection (handshake and script load, two delayed round trips) is made in
    // the background, whatever the first calls do meanwhile.
    let start = Instant::now();
    while store.stats().connections == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "no connection through the proxy");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = v.verify_at(&next(), demo::NOW); // the first insert also checks the policy
    let timeouts = store.stats().timeouts;
    for _ in 0..6 {
        let start = Instant::now();
        let answer = v.verify_at(&next(), demo::NOW);
        let took = start.elapsed();
        assert!(answer.is_ok(), "just under the deadline ({took:?}): {:?}", answer.err().map(|e| e.detail));
        assert!(took >= deadline - gap && took < deadline, "{took:?}");
    }
    assert_eq!(store.stats().timeouts, timeouts);

    // Just over: refused at the deadline, still on the same connection.
    proxy.set_delay(deadline + gap);
    for _ in 0..3 {
        refused_at_the_deadline(&v, &next(), deadline, "behind the proxy, just over");
    }
    assert_eq!(store.stats().connections, 1, "{:?}", store.stats());
    // And when the answers come in time again, so do the acceptances.
    proxy.set_delay(deadline - gap);
    std::thread::sleep(deadline + gap);
    assert!(v.verify_at(&next(), demo::NOW).is_ok());
    assert_eq!(store.stats().connections, 1, "{:?}", store.stats());
}

#[test]
fn the_deadline_holds_at_100_ms() {
    deadline_holds(100);
}

#[test]
fn the_deadline_holds_at_200_ms() {
    deadline_holds(200);
}

#[test]
fn the_deadline_holds_at_500_ms() {
    deadline_holds(500);
}
