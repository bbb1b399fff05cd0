//! The Redis replay store against a real redis-server on loopback, started here: several
//! verifiers (as on several machines) sharing one Redis reject a code replayed on
//! another; keys expire with the code; a batch answers as one by one; an unreachable,
//! hung or flushed-script Redis fails closed or recovers; a new Redis waits one window
//! unless declared new. (Losses: `redis_loss.rs`; deadlines: `redis_deadline.rs`;
//! Sentinel and Cluster: `redis_sentinel.rs`, `redis_cluster.rs`.)

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod redis_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::*;
use redis_support::*;

#[test]
fn verifiers_sharing_redis_reject_a_code_replayed_on_another() {
    let dir = TempDir::new("share");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    assert!(new_store(&server.url()).stats().connections <= 1);
    let machines: Vec<Verifier> =
        (0..3).map(|_| verifier(&city, Arc::new(RedisReplayStore::new(&server.url()).unwrap()))).collect();
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
    let ttl: i64 = server.cmd(&["TTL", &key_of(&text)]);
    assert!((1..=90).contains(&ttl), "ttl {ttl}");

    // Batches go through the same store.
    let batch = machines[1].verify_batch_at(&[&text, &next.to_text()], demo::NOW + 2);
    assert!(batch.iter().all(|r| r.as_ref().unwrap_err().reason == Reason::Replayed));
}

#[test]
fn a_batch_answers_entry_by_entry_as_one_by_one_in_one_round_trip() {
    let dir = TempDir::new("batch");
    let server = Redis::start(dir.path());
    let now = demo::NOW;
    let id = |n: u8| {
        let mut id = [0u8; 16];
        id[0] = n.wrapping_mul(37);
        id[1] = n;
        id
    };
    // Ids 1..=8, with 3 and 5 accepted before and 2 and 7 repeated inside the batch.
    let entries: Vec<([u8; 16], u64)> =
        [1u8, 2, 3, 2, 4, 5, 6, 7, 7, 8, 2].iter().map(|n| (id(*n), now + 60 + u64::from(*n))).collect();
    let pre = [id(3), id(5)];

    let batched = new_store(&server.url());
    let one_by_one = new_store(&server.url()).with_prefix("citycode:other:");
    assert!(one_by_one.declare_new().unwrap());
    let guard = ReplayGuard::new(100);
    for p in &pre {
        for store in [&batched as &dyn ReplayStore, &one_by_one, &guard] {
            assert_eq!(store.check_and_insert(p, now + 60, now), Ok(()));
        }
    }
    let expected: Vec<Result<(), ReplayError>> =
        entries.iter().map(|(id, exp)| one_by_one.check_and_insert(id, *exp, now)).collect();
    let evalsha_before = evalsha_calls(&server);
    let got = batched.check_and_insert_batch(&entries, now);
    // One script call for the whole batch.
    assert_eq!(evalsha_calls(&server) - evalsha_before, 1);
    assert_eq!(got, expected);
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 6, "{got:?}");
    assert_eq!(got[3], Err(ReplayError::Replayed), "a repeat inside the batch");
    assert_eq!(got[2], Err(ReplayError::Replayed), "accepted before the batch");
    // The in-memory guard's default answers the same.
    assert_eq!(guard.check_and_insert_batch(&entries, now), expected);
    // Each entry lives until its own expiry.
    let ttl: i64 = server.cmd(&["TTL", &format!("citycode:replay:{}", text::hex(&id(8)))]);
    assert!((60..=68).contains(&ttl), "ttl {ttl}");
    assert!(batched.check_and_insert_batch(&[], now).is_empty());

    // A stopped Redis refuses the whole batch within the one deadline.
    let store = new_store(&server.url()).with_deadline(Duration::from_millis(150));
    server.signal("-STOP");
    let start = Instant::now();
    let fresh: Vec<([u8; 16], u64)> = (100..110).map(|n| (id(n), now + 60)).collect();
    let refused = store.check_and_insert_batch(&fresh, now);
    let took = start.elapsed();
    server.signal("-CONT");
    assert!(refused.iter().all(|r| *r == Err(ReplayError::Timeout { after_ms: 150 })), "{refused:?}");
    assert!(took >= Duration::from_millis(150) && took < Duration::from_millis(250), "{took:?}");
}

fn evalsha_calls(server: &Redis) -> u64 {
    let stats: String = server.cmd(&["INFO", "commandstats"]);
    stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|v| v.split(',').next())
        .map_or(0, |v| v.parse().unwrap())
}

#[test]
fn an_unreachable_redis_fails_closed() {
    let city = DemoCity::new().unwrap();
    let dead = format!("redis://127.0.0.1:{}/", free_port());
    let store = Arc::new(RedisReplayStore::new(&dead).unwrap());
    let v = verifier(&city, store.clone());
    let start = Instant::now();
    let err = v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("connect"), "{}", err.detail);
    assert!(start.elapsed() < Duration::from_millis(250));
    assert_eq!(v.ready_at(demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert_eq!(store.stats().connections, 0);
}

#[test]
fn the_store_reconnects_when_redis_drops_connections() {
    let dir = TempDir::new("reconnect");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let store = Arc::new(new_store(&server.url()));
    let v = verifier(&city, store.clone());
    assert!(v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).is_ok());
    assert_eq!(store.stats().connections, 1);
    // The server closes every client connection.
    let _: i64 = server.cmd(&["CLIENT", "KILL", "TYPE", "normal"]);
    // The call that meets the closed connection is refused (never accepted unrecorded);
    // the store reconnects, and the next one is accepted.
    let start = Instant::now();
    let mut accepted = false;
    for n in 2..20 {
        if v.verify_at(&code(&city, n, demo::NOW), demo::NOW).is_ok() {
            accepted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(accepted && start.elapsed() < Duration::from_secs(2));
    assert_eq!(store.stats().connections, 2);
}

#[test]
fn a_new_store_waits_one_replay_window_unless_declared_new() {
    let dir = TempDir::new("new");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let store = Arc::new(RedisReplayStore::new(&server.url()).unwrap().with_recovery_window(60));
    let v = verifier(&city, store.clone());
    let t = demo::NOW;
    let err = v.verify_at(&code(&city, 1, t), t).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("no epoch") && err.detail.contains(&format!("until {}", t + 60)), "{}", err.detail);
    assert_eq!(store.stats().losses_detected, 1);
    // A loss once recorded is not undone by declaring the store new.
    assert_eq!(store.declare_new(), Ok(false));
    assert_eq!(v.verify_at(&code(&city, 2, t + 59), t + 59).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    assert!(v.verify_at(&code(&city, 3, t + 60), t + 60).is_ok());

    // A Redis declared new takes codes at once.
    let dir = TempDir::new("new2");
    let fresh = Redis::start(dir.path());
    let store = RedisReplayStore::new(&fresh.url()).unwrap();
    assert_eq!(store.declare_new(), Ok(true));
    assert_eq!(store.declare_new(), Ok(false));
    let v = verifier(&city, Arc::new(store));
    assert!(v.verify_at(&code(&city, 1, t), t).is_ok());
    assert!(v.ready_at(t).is_ok());
    // The epoch names the serving process.
    let epoch: String = fresh.cmd(&["GET", "citycode:replay:epoch"]);
    assert_eq!(epoch, format!("{}:{}:0:seeded", fresh.info("run_id"), fresh.info("master_replid")));
}

#[test]
fn an_epoch_from_an_older_version_or_another_writer_is_a_loss() {
    let dir = TempDir::new("foreign");
    let server = Redis::start(dir.path());
    // The format earlier versions wrote (and the seed they documented): no identity.
    let _: () = server.cmd(&["SET", "citycode:replay:epoch", "seeded:0"]);
    let store = RedisReplayStore::new(&server.url()).unwrap();
    let t = demo::NOW;
    let err = store.check_and_insert(&[7; 16], t + 60, t).unwrap_err();
    assert_eq!(err, ReplayError::Recovering { until: t + DEFAULT_WINDOW, cause: LossCause::Foreign });
    assert_eq!(err.kind(), "recovering");
    assert_eq!(store.ready(t + 1), Err(err.clone()));
}

const DEFAULT_WINDOW: u64 = 180;

#[test]
fn a_flushed_script_cache_is_loaded_again() {
    let dir = TempDir::new("noscript");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let store = Arc::new(new_store(&server.url()));
    let v = verifier(&city, store.clone());
    let first = code(&city, 1, demo::NOW);
    assert!(v.verify_at(&first, demo::NOW).is_ok());
    let _: () = server.cmd(&["SCRIPT", "FLUSH"]);
    // NOSCRIPT is never taken for an answer: the store sends the script and goes on.
    assert!(v.verify_at(&code(&city, 2, demo::NOW), demo::NOW).is_ok());
    assert_eq!(v.verify_at(&first, demo::NOW).unwrap_err().reason, Reason::Replayed);
    assert_eq!(store.stats().script_loads, 1);
    assert_eq!(store.stats().connections, 1);
}

#[test]
fn urls_for_one_redis_sentinel_and_cluster_parse_and_bad_ones_never_echo_a_password() {
    for ok in [
        "redis://127.0.0.1:1/",
        "redis://:pw@127.0.0.1:1/2",
        "redis+sentinel://127.0.0.1:1,127.0.0.1:2/citycode",
        "redis+sentinel://user:pw@127.0.0.1:1/citycode/3",
        "redis+cluster://127.0.0.1:1,127.0.0.1:2",
        "redis+cluster://:pw@127.0.0.1:1/",
    ] {
        let store = RedisReplayStore::new(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert!(!format!("{store:?}").contains("pw"));
    }
    for bad in [
        "127.0.0.1:6379",
        "http://:hunter2@127.0.0.1:1/",
        "redis+sentinel://:hunter2@127.0.0.1:1/",
        "redis+sentinel://:hunter2@/citycode",
        "redis+cluster://:hunter2@127.0.0.1:1/0",
        "redis+cluster://:hunter2@127.0.0.1:notaport",
    ] {
        let err = RedisReplayStore::new(bad).unwrap_err();
        assert_eq!(err.kind(), "misconfigured", "{bad}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn a_hung_redis_gives_a_verdict_within_the_deadline_and_blocks_nobody() {
    let dir = TempDir::new("hung");
    let server = Redis::start(dir.path());
    let city = DemoCity::new().unwrap();
    let deadline = Duration::from_millis(200);
    let store = Arc::new(new_store(&server.url()).with_deadline(deadline));
    let v = Arc::new(verifier(&city, store.clone()));
    assert!(v.verify_at(&code(&city, 1, demo::NOW), demo::NOW).is_ok());
    assert!(v.ready_at(demo::NOW).is_ok());

    server.signal("-STOP");
    let start = Instant::now();
    let err = v.verify_at(&code(&city, 2, demo::NOW), demo::NOW).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("within 200 ms"), "{}", err.detail);
    let one = start.elapsed();
    assert!(one < deadline + Duration::from_millis(100), "one verification took {one:?}");
    assert_eq!(v.ready_at(demo::NOW).unwrap_err().reason, Reason::ReplayStoreUnavailable);
    // Eight verifications at once finish in about one deadline, not eight.
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
    assert!(eight < deadline * 2, "eight concurrent verifications took {eight:?}");
    assert!(store.stats().timeouts >= 10);

    server.signal("-CONT");
    // Once Redis answers again, so does the store. (A code refused while it hung may
    // still be recorded when Redis wakes and runs the queued script: refused twice,
    // never accepted twice.)
    assert!(v.verify_at(&code(&city, 30, demo::NOW), demo::NOW + 1).is_ok());
    assert!(v.ready_at(demo::NOW).is_ok());
}
