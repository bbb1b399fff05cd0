//! Redis as operators run it with Sentinel: a primary, a replica and a Sentinel on
//! loopback; the store follows a failover to the new primary, and the loss rule fires
//! there (SPEC.md §9.1): a code accepted before the failover is refused after it.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod redis_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use citycode::demo::{self, DemoCity};
use citycode::*;
use redis_support::*;

const T: u64 = demo::NOW;

#[test]
fn the_store_follows_a_sentinel_failover_and_the_loss_rule_fires_on_the_new_primary() {
    let dir = TempDir::new("sentinel");
    let pair = Replicated::start(dir.path(), &["--save", "", "--appendonly", "no"]);
    let sentinel = start_sentinel(dir.path(), &pair.primary);
    let url = format!("redis+sentinel://{}/citycode", sentinel.addr());
    let city = DemoCity::new().unwrap();
    let store = Arc::new(new_store(&url));
    let v = verifier(&city, store.clone());
    let first = code(&city, 1, T);
    assert!(v.verify_at(&first, T).is_ok());
    assert!(exists(&pair.primary, &key_of(&first)), "the store writes to the primary Sentinel names");
    pair.wait_in_sync();
    // Sentinel must know the replica (and have fresh news of it) before it promotes it.
    let start = Instant::now();
    loop {
        let asked: redis::RedisResult<()> =
            redis::cmd("SENTINEL").arg("FAILOVER").arg("citycode").query(&mut sentinel.conn());
        match asked {
            Ok(()) => break,
            Err(e) if e.code() == Some("NOGOODSLAVE") && start.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("SENTINEL FAILOVER: {e}"),
        }
    }
    let start = Instant::now();
    loop {
        let addr: Vec<String> = sentinel.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "citycode"]);
        // Promoted, and the old primary told so (until then it still takes writes:
        // SPEC.md §9.1 on split brain).
        if addr.get(1) == Some(&pair.replica.port.to_string())
            && pair.replica.info("role") == "master"
            && pair.primary.info("role") == "slave"
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no failover: {addr:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The code accepted before the failover: refused (the old primary, demoted, says
    // READONLY; the store asks Sentinel again and reaches the new primary, whose
    // identity is not the epoch's).
    let err = verify_settled(&v, &first, T + 5).unwrap_err();
    assert_eq!(err.reason, Reason::ReplayStoreUnavailable);
    assert!(err.detail.contains("another Redis process"), "{}", err.detail);
    let epoch: String = pair.replica.cmd(&["GET", "citycode:replay:epoch"]);
    assert!(epoch.starts_with(&pair.replica.info("run_id")) && epoch.ends_with(":process"), "{epoch}");
    assert!(v.ready_at(T + 5).is_err());
    assert!(store.stats().connections >= 2);

    // After the window, codes are taken again, and written to the new primary.
    let later = T + 5 + 180;
    let next = code(&city, 2, later);
    assert!(v.verify_at(&next, later).is_ok());
    assert!(exists(&pair.replica, &key_of(&next)));
    assert_eq!(v.verify_at(&next, later + 1).unwrap_err().reason, Reason::Replayed);
}
