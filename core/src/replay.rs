//! The replay guard: remembers accepted codes until they expire, in bounded memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

use crate::error::Reason;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_RECOVERY_SECS, DEFAULT_REDIS_DEADLINE, RedisReplayStore, RedisStoreStats};

/// Default capacity: codes remembered at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 1 << 20;

/// Why a replay store did not record a code. Every variant refuses the code: a store
/// that cannot promise to remember it never lets it through.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The id is already recorded and unexpired.
    #[error("this code was already accepted")]
    Replayed,
    /// Every slot holds an unexpired code.
    #[error("replay store full of unexpired codes")]
    Full,
    /// The store answered with an error, or could not be reached.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer within its deadline.
    #[error("replay store did not answer within {after_ms} ms")]
    Timeout {
        /// The deadline, in milliseconds.
        after_ms: u64,
    },
    /// The store may have lost entries and refuses every code until Unix second `until`,
    /// when every code it might have forgotten has expired.
    #[error("replay store may have lost entries ({cause}); refusing codes until {until}")]
    Recovering {
        /// Unix second from which codes are taken again.
        until: u64,
        /// What made the store think entries may be lost.
        cause: LossCause,
    },
    /// The store has no memory left for a new entry (Redis at `maxmemory` under
    /// `noeviction`).
    #[error("replay store out of memory: Redis refuses writes at its maxmemory")]
    OutOfMemory,
    /// The store is set up so that it could forget an entry (Redis evicting keys), or so
    /// that lost entries could go unnoticed; it refuses every code until fixed.
    #[error("replay store misconfigured: {0}")]
    Misconfigured(String),
    /// The entry was recorded but not confirmed on as many replicas as required in time.
    #[error("replay store confirmed the entry on {acknowledged} of {required} replicas")]
    NotReplicated {
        /// Replicas that confirmed.
        acknowledged: u32,
        /// Replicas required.
        required: u32,
    },
}

impl ReplayError {
    /// The reason code a verifier reports (SPEC.md §10).
    pub fn reason(&self) -> Reason {
        match self {
            ReplayError::Replayed => Reason::Replayed,
            ReplayError::Full => Reason::ReplayCapacity,
            ReplayError::Unavailable(_)
            | ReplayError::Timeout { .. }
            | ReplayError::Recovering { .. }
            | ReplayError::OutOfMemory
            | ReplayError::Misconfigured(_)
            | ReplayError::NotReplicated { .. } => Reason::ReplayStoreUnavailable,
        }
    }

    /// Why the store refused, as a stable string for metrics and dashboards (SPEC.md
    /// §9.1): `replayed`, `full`, `unavailable`, `timeout`, `recovering`,
    /// `out_of_memory`, `misconfigured`, `not_replicated`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReplayError::Replayed => "replayed",
            ReplayError::Full => "full",
            ReplayError::Unavailable(_) => "unavailable",
            ReplayError::Timeout { .. } => "timeout",
            ReplayError::Recovering { .. } => "recovering",
            ReplayError::OutOfMemory => "out_of_memory",
            ReplayError::Misconfigured(_) => "misconfigured",
            ReplayError::NotReplicated { .. } => "not_replicated",
        }
    }
}

/// Why a shared store decided it may have lost entries (SPEC.md §9.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossCause {
    /// No epoch: a new store, or a Redis flushed, restarted without persistence or
    /// replaced by an empty one.
    Missing,
    /// Another Redis process holds the entries: a restart (from a snapshot, an AOF or
    /// nothing) or a failover to a replica.
    Process,
    /// The same process took another replication history (demoted and promoted again).
    History,
    /// An epoch this version does not read (an older citycode, or another writer).
    Foreign,
    /// The verifier's clock went back past entries the store had already dropped as
    /// expired: a code that expires before the latest second seen may have been
    /// accepted and forgotten.
    Clock,
}

impl LossCause {
    /// The stable tag of the cause, as the epoch stores it: `missing`, `process`,
    /// `history`, `foreign`.
    pub fn tag(&self) -> &'static str {
        match self {
            LossCause::Missing => "missing",
            LossCause::Process => "process",
            LossCause::History => "history",
            LossCause::Foreign => "foreign",
            LossCause::Clock => "clock",
        }
    }

    /// The cause a tag names; anything else is [`LossCause::Foreign`].
    pub fn from_tag(tag: &[u8]) -> Self {
        match tag {
            b"missing" => LossCause::Missing,
            b"process" => LossCause::Process,
            b"history" => LossCause::History,
            b"clock" => LossCause::Clock,
            _ => LossCause::Foreign,
        }
    }
}

impl core::fmt::Display for LossCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LossCause::Missing => "no epoch: a new, flushed or emptied Redis",
            LossCause::Process => "another Redis process: a restart or a failover",
            LossCause::History => "another replication history: a demoted Redis promoted again",
            LossCause::Foreign => "an epoch this version does not read",
            LossCause::Clock => "the clock went back past entries already dropped as expired",
        })
    }
}

/// Where accepted codes are remembered. The in-memory [`ReplayGuard`] is the default;
/// a shared store lets several verifiers reject a code replayed on another machine.
///
/// A store MUST NOT forget an unexpired entry, and MUST answer within a bounded time;
/// when it cannot keep either promise it answers an error, and the code is refused.
pub trait ReplayStore: Send + Sync {
    /// Records `id` until Unix second `expires_at`, or says why not.
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError>;

    /// Records each `(id, expires_at)`, with results identical, entry by entry, to
    /// [`ReplayStore::check_and_insert`] on each in order (an id twice in `entries` is
    /// [`ReplayError::Replayed`] the second time). A shared store does it in one round
    /// trip under one deadline; the default inserts one by one.
    fn check_and_insert_batch(&self, entries: &[([u8; 16], u64)], now: u64) -> Vec<Result<(), ReplayError>> {
        entries.iter().map(|(id, expires_at)| self.check_and_insert(id, *expires_at, now)).collect()
    }

    /// Whether the store would take codes now (a service's readiness). In-memory stores
    /// are always ready.
    fn ready(&self, _now: u64) -> Result<(), ReplayError> {
        Ok(())
    }

    /// Whether the store remembers the codes it is given beyond the call, so that a
    /// replay is refused: true for every store that keeps its promise above. Only a
    /// store that records nothing on purpose ([`crate::NoReplayCheck`], for a one-shot
    /// run) says false, and every verdict then says `replay_checked: false`.
    fn remembers(&self) -> bool {
        true
    }
}

/// In-memory replay guard with a fixed capacity.
///
/// Each entry is a 64-bit fingerprint of the replay id with its expiry: a fingerprint
/// collision can only make an honest code look replayed, with probability about
/// `capacity / 2^64`, never let a replay through. Expired entries are dropped before
/// each insert; when every slot holds an unexpired code the guard refuses new codes
/// ([`Reason::ReplayCapacity`]) rather than forget one.
///
/// Entries are dropped by the clock the verifier passes in. If that clock goes back
/// (an NTP step, a wrong time corrected), codes that expire before the latest second
/// already seen may have been dropped while still valid by the new clock; such a code
/// is refused ([`ReplayError::Recovering`], [`LossCause::Clock`]) rather than taken as
/// new. Codes that expire later were never dropped and are checked as usual.
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<u64>,
    by_expiry: BinaryHeap<Reverse<(u64, u64)>>,
    /// The latest `now` at which expired entries were dropped: an entry expiring at or
    /// before it may be gone.
    dropped_through: u64,
}

impl ReplayGuard {
    /// A guard that remembers at most `capacity` unexpired codes.
    pub fn new(capacity: usize) -> Self {
        ReplayGuard { capacity: capacity.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// Codes currently remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.seen.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Heap bytes the guard's tables occupy now: the hash set's buckets (8-byte
    /// fingerprint and 1 control byte each, plus one group of trailing control bytes)
    /// and the expiry heap (16 bytes per slot). While the set grows it briefly holds
    /// its old and new tables together; this counts the settled size.
    pub fn memory_bytes(&self) -> usize {
        self.inner.lock().map_or(0, |i| set_table_bytes(i.seen.capacity()) + i.by_expiry.capacity() * 16)
    }
}

/// The allocation of a `HashSet<u64>` (hashbrown's swiss table) whose usable capacity is
/// `capacity`: the table keeps 1/8 of its buckets free once it has 8 or more, and
/// holds an 8-byte slot and a control byte per bucket, plus 16 more control bytes.
fn set_table_bytes(capacity: usize) -> usize {
    let buckets = match capacity {
        0 => return 0,
        1..8 => capacity + 1,
        _ => capacity / 7 * 8,
    };
    buckets * 9 + 16
}

impl Default for ReplayGuard {
    fn default() -> Self {
        ReplayGuard::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayStore for ReplayGuard {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let mut fp = [0u8; 8];
        for (d, s) in fp.iter_mut().zip(id.iter()) {
            *d = *s;
        }
        let fp = u64::from_le_bytes(fp);
        // A poisoned lock only means another thread panicked mid-insert; the set is
        // still a valid set, so keep using it.
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(Reverse((exp, old))) = inner.by_expiry.peek().copied() {
            if exp > now {
                break;
            }
            inner.by_expiry.pop();
            inner.seen.remove(&old);
        }
        inner.dropped_through = inner.dropped_through.max(now);
        if inner.seen.contains(&fp) {
            return Err(ReplayError::Replayed);
        }
        if expires_at <= inner.dropped_through {
            // Only reachable when the clock went back: the verifier refuses a code
            // that has expired by its own clock before asking the store.
            return Err(ReplayError::Recovering { until: inner.dropped_through, cause: LossCause::Clock });
        }
        if inner.seen.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        inner.seen.insert(fp);
        inner.by_expiry.push(Reverse((expires_at, fp)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_le_bytes());
        b
    }

    #[test]
    fn replay_is_refused_until_expiry_then_forgotten() {
        let g = ReplayGuard::new(4);
        assert_eq!(g.check_and_insert(&id(1), 100, 10), Ok(()));
        assert_eq!(g.check_and_insert(&id(1), 100, 99), Err(ReplayError::Replayed));
        // At its expiry second the entry is dropped; the verifier has already
        // rejected the code as expired by then.
        assert_eq!(g.check_and_insert(&id(2), 200, 100), Ok(()));
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn full_guard_refuses_instead_of_forgetting() {
        let g = ReplayGuard::new(2);
        assert_eq!(g.check_and_insert(&id(1), 100, 0), Ok(()));
        assert_eq!(g.check_and_insert(&id(2), 100, 0), Ok(()));
        assert_eq!(g.check_and_insert(&id(3), 100, 0), Err(ReplayError::Full));
        assert_eq!(g.check_and_insert(&id(1), 100, 0), Err(ReplayError::Replayed));
        assert_eq!(g.check_and_insert(&id(3), 200, 100), Ok(()));
    }

    #[test]
    fn a_clock_that_goes_back_cannot_resurrect_a_dropped_code() {
        let g = ReplayGuard::new(4);
        assert_eq!(g.check_and_insert(&id(1), 100, 10), Ok(()));
        // The clock jumps ahead to 500: code 1's entry is dropped as expired.
        assert_eq!(g.check_and_insert(&id(2), 600, 500), Ok(()));
        // Corrected back to 11: code 1 is valid again by this clock, and its entry is
        // gone, so the store cannot say it is new.
        let back = g.check_and_insert(&id(1), 100, 11);
        assert_eq!(back, Err(ReplayError::Recovering { until: 500, cause: LossCause::Clock }));
        assert_eq!(back.map_err(|e| e.reason()), Err(Reason::ReplayStoreUnavailable));
        // A code expiring after the latest second seen was never dropped: checked as usual.
        assert_eq!(g.check_and_insert(&id(2), 600, 11), Err(ReplayError::Replayed));
        assert_eq!(g.check_and_insert(&id(3), 501, 11), Ok(()));
    }
}
