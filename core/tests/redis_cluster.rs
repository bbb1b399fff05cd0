//! Redis as operators run it at scale: a Redis Cluster of three primaries on loopback.
//! Entries spread over the shards (256 hash-tagged buckets), and the loss rule holds per
//! shard (SPEC.md §9.1): a shard restarted empty refuses its buckets' codes for one
//! window while the others keep their entries and keep accepting.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod redis_support;

use std::time::{Duration, Instant};

use citycode::demo;
use citycode::*;
use redis_support::*;

const T: u64 = demo::NOW;

fn id(n: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_le_bytes());
    // The first byte picks the bucket: spread them as digests would.
    id[0] = (n.wrapping_mul(151) % 256) as u8;
    id
}

fn key(n: u32) -> String {
    let id = id(n);
    format!("citycode:replay:{{{:02x}}}{}", id[0], text::hex(&id))
}

#[test]
fn entries_spread_over_the_shards_and_each_shard_keeps_its_own_epoch() {
    let dir = TempDir::new("cluster");
    let mut cluster = Cluster::start(dir.path(), 3);
    let store = new_store(&cluster.url());
    for node in &cluster.nodes {
        let epochs: i64 = node.cmd(&["DBSIZE"]);
        assert!(epochs > 40, "every shard holds its buckets' epochs ({epochs})");
    }

    // 600 entries in one batch: all taken, spread over the three shards.
    let entries: Vec<([u8; 16], u64)> = (0..600).map(|n| (id(n), T + 90)).collect();
    let results = store.check_and_insert_batch(&entries, T);
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    let per_node: Vec<usize> = (0..3).map(|i| (0..600).filter(|n| cluster.node_of(&key(*n)) == i).count()).collect();
    assert!(per_node.iter().all(|n| *n > 100), "{per_node:?}");
    for n in [0, 1, 599] {
        assert!(exists(&cluster.nodes[cluster.node_of(&key(n))], &key(n)));
    }
    // Replays are refused, one by one and in a batch, and a repeat within a batch too.
    assert_eq!(store.check_and_insert(&id(5), T + 90, T), Err(ReplayError::Replayed));
    let mixed = [(id(7), T + 90), (id(1000), T + 90), (id(1000), T + 90)];
    assert_eq!(
        store.check_and_insert_batch(&mixed, T),
        vec![Err(ReplayError::Replayed), Ok(()), Err(ReplayError::Replayed)]
    );
    assert!(store.ready(T).is_ok());

    // One shard restarts empty (no persistence): its buckets lost their entries.
    let lost = cluster.node_of(&key(0));
    cluster.nodes[lost].restart();
    cluster.wait_ok();
    let lost_ids: Vec<u32> = (0..600).filter(|n| cluster.node_of(&key(*n)) == lost).take(20).collect();
    let kept_ids: Vec<u32> = (0..600).filter(|n| cluster.node_of(&key(*n)) != lost).take(20).collect();
    for n in &lost_ids {
        assert!(!exists(&cluster.nodes[lost], &key(*n)));
        let answer = insert_settled(&store, &id(*n), T + 90, T + 10);
        assert!(
            matches!(answer, Err(ReplayError::Recovering { cause: LossCause::Missing, .. })),
            "an entry lost with its shard: {answer:?}"
        );
    }
    // The other shards still remember theirs, and still take new codes.
    for n in &kept_ids {
        assert_eq!(insert_settled(&store, &id(*n), T + 90, T + 10), Err(ReplayError::Replayed));
    }
    let fresh_elsewhere = (1000..2000).find(|n| cluster.node_of(&key(*n)) != lost).unwrap();
    assert_eq!(store.check_and_insert(&id(fresh_elsewhere), T + 100, T + 10), Ok(()));
    let fresh_lost = (2000..3000).find(|n| cluster.node_of(&key(*n)) == lost).unwrap();
    assert!(matches!(store.check_and_insert(&id(fresh_lost), T + 100, T + 10), Err(ReplayError::Recovering { .. })));
    // Readiness reports the shard's window.
    let start = Instant::now();
    let until = loop {
        match store.ready(T + 10) {
            Err(ReplayError::Recovering { until, .. }) => break until,
            other => assert!(start.elapsed() < Duration::from_secs(10), "{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(until, T + 10 + 180);
    // After the window the restarted shard takes codes again.
    assert_eq!(store.check_and_insert(&id(fresh_lost), until + 100, until), Ok(()));
    assert!(store.ready(until).is_ok());
}
