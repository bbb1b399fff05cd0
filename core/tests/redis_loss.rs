//! Every way a Redis can lose replay entries, with real processes on loopback: a restart
//! without persistence, from an RDB snapshot taken before an accept, from an AOF
//! (`everysec`) that lost its last second; a failover to a replica in sync and to one
//! that lagged; a process demoted and promoted again; FLUSHALL; out of memory; an
//! evicting `maxmemory-policy`; a primary cut off from its replicas. In each case the
//! code accepted before the loss is never accepted again (SPEC.md §9.1), and a lossless
//! reload (`DEBUG RELOAD`) costs no window.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod redis_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::*;
use redis_support::*;

const T: u64 = demo::NOW;
const WINDOW: u64 = 180;

/// `answer` is the refusal of a store that may have lost entries, for `cause`.
fn assert_recovering(answer: Result<Accepted, Rejection>, cause: LossCause) {
    let err = answer.expect_err("a code accepted before a loss was accepted again");
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable, "{}", err.detail);
    let expected = ReplayError::Recovering { until: 0, cause }.to_string();
    let expected = expected.split(';').next().unwrap();
    assert!(err.detail.contains(expected), "{} (expected {expected})", err.detail);
}

#[test]
fn a_restart_without_persistence_refuses_codes_for_one_replay_window() {
    let dir = TempDir::new("empty-restart");
    let mut server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let a = verifier(&city, Arc::new(new_store(&server.url())));
    let b = verifier(&city, Arc::new(RedisReplayStore::new(&server.url()).unwrap()));
    let first = code(&city, 1, T);
    assert!(a.verify_at(&first, T).is_ok());
    // Redis restarts empty: every entry, the epoch included, is gone.
    server.restart();
    // The same code at B within its minute: refused, not accepted again.
    let err = verify_settled(&b, &first, T + 10).unwrap_err();
    assert!(err.detail.contains(&format!("until {}", T + 10 + WINDOW)), "{}", err.detail);
    assert_recovering(Err(err), LossCause::Missing);
    // Every verifier sharing the store refuses, and says it is not ready, until the
    // window has passed since the loss was detected.
    assert_recovering(verify_settled(&a, &code(&city, 2, T + 100), T + 100), LossCause::Missing);
    assert_eq!(a.ready_at(T + 100).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    let end = T + 10 + WINDOW;
    assert_recovering(a.verify_at(&code(&city, 3, end - 1), end - 1), LossCause::Missing);
    assert!(a.ready_at(end).is_ok());
    assert!(a.verify_at(&code(&city, 4, end), end).is_ok());
}

#[test]
fn a_restart_from_an_rdb_snapshot_taken_before_an_accept_is_detected() {
    let dir = TempDir::new("rdb");
    let mut server = Redis::start_with(dir.path(), &["--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb"]);
    let city = DemoCity::new().unwrap();
    let store = Arc::new(new_store(&server.url()));
    let v = verifier(&city, store.clone());
    let (before, after) = (code(&city, 1, T), code(&city, 2, T));
    assert!(v.verify_at(&before, T).is_ok());
    let _: () = server.cmd(&["SAVE"]);
    assert!(v.verify_at(&after, T + 1).is_ok());
    // Killed; restarted from the snapshot, which predates the second accept.
    server.restart();
    // The loss the epoch key alone missed: the entry is gone, the epoch came back.
    assert!(exists(&server, &key_of(&before)) && !exists(&server, &key_of(&after)));
    assert!(exists(&server, "citycode:replay:epoch"));
    // Another verifier sharing the store meets the snapshot first: refused.
    let other_store = Arc::new(RedisReplayStore::new(&server.url()).unwrap());
    let other = verifier(&city, other_store.clone());
    assert_recovering(verify_settled(&other, &after, T + 10), LossCause::Process);
    assert_recovering(verify_settled(&v, &after, T + 11), LossCause::Process);
    assert_recovering(v.verify_at(&before, T + 11), LossCause::Process);
    // The new epoch names the restarted process.
    let epoch: String = server.cmd(&["GET", "citycode:replay:epoch"]);
    assert!(epoch.starts_with(&server.info("run_id")), "{epoch}");
    assert!(epoch.ends_with(":process"), "{epoch}");
    assert_eq!((other_store.stats().losses_detected, store.stats().losses_detected), (1, 0));
    // After the window the store takes codes again; the codes from before have expired.
    let end = T + 10 + WINDOW;
    assert!(v.verify_at(&code(&city, 3, end), end).is_ok());
    assert_eq!(v.verify_at(&after, end).unwrap_err().reason, Reason::CodeExpired);
}

#[test]
fn an_aof_everysec_that_lost_its_last_second_is_detected() {
    let dir = TempDir::new("aof");
    let mut server = Redis::start_with(
        dir.path(),
        &["--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--appenddirname", "aof"],
    );
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(new_store(&server.url())));
    let (kept, lost) = (code(&city, 1, T), code(&city, 2, T));
    assert!(v.verify_at(&kept, T).is_ok());
    let incr = incr_file(&dir.path().join("aof"));
    let durable = std::fs::metadata(&incr).unwrap().len();
    assert!(v.verify_at(&lost, T).is_ok());
    // Killed within the second, and the machine lost what the kernel had not written:
    // the AOF ends before the second accept.
    server.kill();
    assert!(std::fs::metadata(&incr).unwrap().len() > durable);
    std::fs::OpenOptions::new().write(true).open(&incr).unwrap().set_len(durable).unwrap();
    server.restart();
    assert!(exists(&server, &key_of(&kept)) && !exists(&server, &key_of(&lost)));
    assert!(exists(&server, "citycode:replay:epoch"));
    assert_recovering(verify_settled(&v, &lost, T + 2), LossCause::Process);
}

fn incr_file(aof_dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(aof_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an incremental AOF file")
}

#[test]
fn a_failover_to_a_replica_that_lagged_is_detected() {
    let dir = TempDir::new("lag");
    let mut pair = Replicated::start(dir.path(), &["--save", "", "--appendonly", "no"]);
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(new_store(&pair.primary.url())));
    let (replicated, lost) = (code(&city, 1, T), code(&city, 2, T));
    assert!(v.verify_at(&replicated, T).is_ok());
    pair.wait_in_sync();
    // The replica lags: paused, its link cut (what was sent stays in its socket), it
    // misses the next accept; the primary dies before it could catch up.
    pair.replica.signal("-STOP");
    let _: i64 = pair.primary.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    assert!(v.verify_at(&lost, T + 1).is_ok());
    pair.primary.kill();
    pair.replica.signal("-CONT");
    let _: () = pair.replica.cmd(&["REPLICAOF", "NO", "ONE"]);
    assert!(exists(&pair.replica, &key_of(&replicated)) && !exists(&pair.replica, &key_of(&lost)));
    assert!(exists(&pair.replica, "citycode:replay:epoch"));
    // Verifiers now pointed at the promoted replica refuse the lost code.
    let promoted = verifier(&city, Arc::new(RedisReplayStore::new(&pair.replica.url()).unwrap()));
    assert_recovering(verify_settled(&promoted, &lost, T + 5), LossCause::Process);
    assert_recovering(promoted.verify_at(&replicated, T + 5), LossCause::Process);
    assert!(promoted.ready_at(T + 5).is_err());
    assert!(promoted.verify_at(&code(&city, 3, T + 5 + WINDOW), T + 5 + WINDOW).is_ok());
}

#[test]
fn a_manual_failover_refuses_on_the_new_primary_and_the_old_one_accepts_nothing() {
    let dir = TempDir::new("failover");
    let pair = Replicated::start(dir.path(), &["--save", "", "--appendonly", "no"]);
    let city = DemoCity::new().unwrap();
    let old = verifier(&city, Arc::new(new_store(&pair.primary.url())));
    let first = code(&city, 1, T);
    assert!(old.verify_at(&first, T).is_ok());
    pair.wait_in_sync();
    // The replica is promoted and the old primary demoted, while `old` still holds its
    // connection to the old primary.
    let _: () = pair.replica.cmd(&["REPLICAOF", "NO", "ONE"]);
    let port = pair.replica.port.to_string();
    let _: () = pair.primary.cmd(&["REPLICAOF", "127.0.0.1", &port]);
    for n in 2..5 {
        let err = old.verify_at(&code(&city, n, T + 1), T + 1).unwrap_err();
        assert_eq!(err.reason, Reason::ReplayStoreUnavailable, "{}", err.detail);
    }
    // The new primary holds every entry, but nothing proves it: one window.
    assert!(exists(&pair.replica, &key_of(&first)));
    let new = verifier(&city, Arc::new(RedisReplayStore::new(&pair.replica.url()).unwrap()));
    assert_recovering(verify_settled(&new, &first, T + 2), LossCause::Process);
    assert_eq!(new.ready_at(T + 2).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert!(new.verify_at(&code(&city, 5, T + 2 + WINDOW), T + 2 + WINDOW).is_ok());
}

#[test]
fn a_process_demoted_and_promoted_again_without_its_primary_is_detected() {
    let dir = TempDir::new("history");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(new_store(&server.url())));
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    // Made a replica of a primary it never reaches, then promoted again: same process,
    // new replication history (entries another primary took meanwhile would be missing).
    let nowhere = free_port().to_string();
    let _: () = server.cmd(&["REPLICAOF", "127.0.0.1", &nowhere]);
    let _: () = server.cmd(&["REPLICAOF", "NO", "ONE"]);
    assert_recovering(verify_settled(&v, &first, T + 1), LossCause::History);
}

#[test]
fn flushall_is_detected() {
    let dir = TempDir::new("flush");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(new_store(&server.url())));
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    let _: () = server.cmd(&["FLUSHALL"]);
    assert_recovering(v.verify_at(&first, T + 1), LossCause::Missing);
}

#[test]
fn a_lossless_debug_reload_keeps_the_entries_and_costs_no_window() {
    let dir = TempDir::new("reload");
    let server =
        Redis::start_with(dir.path(), &["--save", "", "--appendonly", "no", "--enable-debug-command", "local"]);
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Arc::new(new_store(&server.url())));
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    // Saves, empties and loads again: same process, same history, nothing lost.
    let _: () = server.cmd(&["DEBUG", "RELOAD"]);
    assert_eq!(verify_settled(&v, &first, T + 1).unwrap_err().reason, Reason::Replayed);
    assert!(v.verify_at(&code(&city, 2, T + 1), T + 1).is_ok());
}

#[test]
fn out_of_memory_refuses_codes_and_readiness_says_why() {
    let dir = TempDir::new("oom");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let store = Arc::new(new_store(&server.url()));
    let v = verifier(&city, store.clone());
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    let _: () = server.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
    let err = v.verify_at(&code(&city, 2, T), T).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("out of memory"), "{}", err.detail);
    let not_ready = v.ready_at(T).unwrap_err();
    assert!(not_ready.detail.contains("out of memory"), "{}", not_ready.detail);
    assert_eq!(store.ready(T), Err(ReplayError::OutOfMemory));
    assert_eq!(store.check_and_insert(&[9; 16], T + 60, T), Err(ReplayError::OutOfMemory));
    // A replay is still called a replay.
    assert_eq!(v.verify_at(&first, T).unwrap_err().reason, Reason::Replayed);
    let _: () = server.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    assert!(v.ready_at(T).is_ok());
    assert!(v.verify_at(&code(&city, 2, T), T).is_ok());
}

#[test]
fn an_evicting_maxmemory_policy_is_refused_unless_overridden() {
    let dir = TempDir::new("policy");
    let server =
        Redis::start_with(dir.path(), &["--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"]);
    let city = DemoCity::new().unwrap();
    let store = RedisReplayStore::new(&server.url()).unwrap();
    let err = store.declare_new().unwrap_err();
    assert!(matches!(&err, ReplayError::Misconfigured(why) if why.contains("allkeys-lru")), "{err}");
    let v = verifier(&city, Arc::new(store));
    let err = v.verify_at(&code(&city, 1, T), T).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("misconfigured") && err.detail.contains("allkeys-lru"), "{}", err.detail);
    assert!(v.ready_at(T).unwrap_err().detail.contains("allkeys-lru"));
    // An operator who knows better says so.
    let dir = TempDir::new("policy-trusted");
    let server =
        Redis::start_with(dir.path(), &["--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"]);
    let trusting = RedisReplayStore::new(&server.url()).unwrap().with_unchecked_eviction_policy();
    assert_eq!(trusting.declare_new(), Ok(true));
    let v = verifier(&city, Arc::new(trusting));
    assert!(v.verify_at(&code(&city, 2, T), T).is_ok());
    assert!(v.ready_at(T).is_ok());

    // A policy changed while the store runs: readiness sees it at once, inserts soon.
    let dir = TempDir::new("policy2");
    let server = Redis::start(dir.path());
    let store = Arc::new(new_store(&server.url()));
    let v = verifier(&city, store.clone());
    assert!(v.verify_at(&code(&city, 3, T), T).is_ok());
    let _: () = server.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
    assert!(matches!(store.ready(T), Err(ReplayError::Misconfigured(why)) if why.contains("volatile-lru")));
    // A restart (new connection) checks before the first insert.
    let _: i64 = server.cmd(&["CLIENT", "KILL", "TYPE", "normal"]);
    let err = insert_settled(&store, &[4; 16], T + 60, T).unwrap_err();
    assert!(matches!(&err, ReplayError::Misconfigured(why) if why.contains("volatile-lru")), "{err}");
}

#[test]
fn waiting_for_a_replica_refuses_what_it_did_not_confirm() {
    let dir = TempDir::new("wait");
    let pair = Replicated::start(dir.path(), &["--save", "", "--appendonly", "no"]);
    let city = DemoCity::new().unwrap();
    let deadline = Duration::from_millis(200);
    let store = Arc::new(new_store(&pair.primary.url()).with_replicas(1).with_deadline(deadline));
    let v = verifier(&city, store.clone());
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    assert!(exists(&pair.replica, &key_of(&first)), "confirmed on the replica before the verdict");
    assert!(v.ready_at(T).is_ok());

    // A replica that does not answer: refused within the deadline, and remembered.
    pair.replica.signal("-STOP");
    let unconfirmed = code(&city, 2, T);
    let start = Instant::now();
    let err = v.verify_at(&unconfirmed, T).unwrap_err();
    let took = start.elapsed();
    pair.replica.signal("-CONT");
    assert!(err.detail.contains("on 0 of 1 replicas"), "{}", err.detail);
    assert!(took < deadline + Duration::from_millis(60), "{took:?}");
    pair.wait_in_sync();
    assert_eq!(v.verify_at(&unconfirmed, T + 1).unwrap_err().reason, Reason::Replayed);
    assert!(v.verify_at(&code(&city, 3, T + 1), T + 1).is_ok());

    // The primary loses its replica (it was promoted elsewhere): it accepts nothing more.
    let _: () = pair.replica.cmd(&["REPLICAOF", "NO", "ONE"]);
    let start = Instant::now();
    while pair.primary.info("connected_slaves") != "0" {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.ready(T + 2), Err(ReplayError::NotReplicated { acknowledged: 0, required: 1 }));
    let err = v.verify_at(&code(&city, 4, T + 2), T + 2).unwrap_err();
    assert!(err.detail.contains("on 0 of 1 replicas"), "{}", err.detail);
}
