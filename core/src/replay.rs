//! The replay guard: remembers accepted codes until they expire, in bounded memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

use crate::error::Reason;

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
    /// The store did not answer in time, or answered with an error.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
    /// The store may have lost entries (a restart, a failover, a flush) and refuses
    /// every code until Unix second `until`, when every code it might have forgotten
    /// has expired.
    #[error("replay store lost its entries; refusing codes until {until}")]
    Recovering {
        /// Unix second from which codes are taken again.
        until: u64,
    },
}

impl ReplayError {
    /// The reason code a verifier reports (SPEC.md §10).
    pub fn reason(&self) -> Reason {
        match self {
            ReplayError::Replayed => Reason::Replayed,
            ReplayError::Full => Reason::ReplayCapacity,
            ReplayError::Unavailable(_) | ReplayError::Recovering { .. } => Reason::ReplayStoreUnavailable,
        }
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
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<u64>,
    by_expiry: BinaryHeap<Reverse<(u64, u64)>>,
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
        if inner.seen.contains(&fp) {
            return Err(ReplayError::Replayed);
        }
        if inner.seen.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        inner.seen.insert(fp);
        inner.by_expiry.push(Reverse((expires_at, fp)));
        Ok(())
    }
}

/// A replay store in Redis, shared by every verifier that points at the same server: a
/// code accepted on one machine is refused as replayed on all others.
///
/// - Each accepted code is one key, `{prefix}{hex replay id}`, set with `SET NX EX`: the
///   check and the insert are one atomic step, and Redis forgets the key when the code
///   expires.
/// - Every call has a deadline ([`DEFAULT_REDIS_DEADLINE`], 200 ms): connecting, writing
///   and reading all count against it, and a store that does not answer in time gives
///   [`ReplayError::Unavailable`]. The verifier fails closed.
/// - Connections come from a small pool; no lock is held across a network call, so
///   verifications run in parallel.
/// - Lost entries are detected: the store keeps an *epoch* key,
///   `{prefix}epoch` = `"<random hex>:<unix second created>"`, read in the same round
///   trip as every `SET`. A Redis that restarted without persistence, failed over to a
///   replica without the key, or was flushed has no epoch; the first verifier to notice
///   writes a new one, and every verifier sharing the store refuses codes
///   ([`ReplayError::Recovering`]) until the recovery window (by default 180 s: the
///   longest code validity plus twice the skew) has passed since the new epoch, so no
///   code accepted before the loss can be accepted again.
///
/// Redis must not evict keys on its own: run it with `maxmemory-policy noeviction`
/// (the default), so that a full Redis answers errors (refusals) instead of forgetting.
#[cfg(feature = "redis")]
pub struct RedisReplayStore {
    client: redis::Client,
    prefix: String,
    deadline: std::time::Duration,
    recovery_secs: u64,
    idle: Mutex<Vec<redis::Connection>>,
}

/// Default deadline of one [`RedisReplayStore`] call.
#[cfg(feature = "redis")]
pub const DEFAULT_REDIS_DEADLINE: std::time::Duration = std::time::Duration::from_millis(200);

/// Default recovery window of a [`RedisReplayStore`] after lost entries, in seconds: the
/// default longest code validity (120 s) plus twice the default skew (30 s).
#[cfg(feature = "redis")]
pub const DEFAULT_RECOVERY_SECS: u64 = 180;

/// Idle connections a [`RedisReplayStore`] keeps for reuse.
#[cfg(feature = "redis")]
const MAX_IDLE_CONNECTIONS: usize = 64;

#[cfg(feature = "redis")]
impl RedisReplayStore {
    /// A store at `url` (`redis://127.0.0.1:6379/`), with keys under `citycode:replay:`
    /// ([`RedisReplayStore::with_prefix`]), the default deadline and recovery window.
    /// Connects lazily: a Redis that is down makes verifications fail, not this call.
    pub fn new(url: &str) -> Result<Self, ReplayError> {
        let client = redis::Client::open(url).map_err(|e| ReplayError::Unavailable(format!("bad Redis URL: {e}")))?;
        Ok(RedisReplayStore {
            client,
            prefix: "citycode:replay:".into(),
            deadline: DEFAULT_REDIS_DEADLINE,
            recovery_secs: DEFAULT_RECOVERY_SECS,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Uses another key prefix (to separate deployments sharing one Redis).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the deadline of one call (connect, write and read together).
    pub fn with_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.deadline = deadline.max(std::time::Duration::from_millis(1));
        self
    }

    /// Sets how long codes are refused after lost entries are detected: at least the
    /// longest code validity plus twice the skew of every verifier sharing the store
    /// ([`crate::Verifier::replay_window_secs`]).
    pub fn with_recovery_window(mut self, secs: u64) -> Self {
        self.recovery_secs = secs;
        self
    }

    fn epoch_key(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    /// A connection with socket timeouts set to what is left of the deadline.
    fn connection(&self, end: std::time::Instant) -> Result<redis::Connection, ReplayError> {
        let pooled = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(ReplayError::Unavailable("deadline passed".into()));
        }
        let conn = match pooled {
            Some(conn) => conn,
            None => self.client.get_connection_with_timeout(left).map_err(unavailable)?,
        };
        let left = end.saturating_duration_since(std::time::Instant::now()).max(std::time::Duration::from_millis(1));
        conn.set_read_timeout(Some(left)).map_err(unavailable)?;
        conn.set_write_timeout(Some(left)).map_err(unavailable)?;
        Ok(conn)
    }

    /// Returns a connection that answered in full to the pool.
    fn give_back(&self, conn: redis::Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }

    /// Runs `f` on a connection within the deadline: a pooled connection first and, if
    /// it fails (it may have been closed by a Redis restart), once on a new one.
    fn with_connection<T>(
        &self,
        end: std::time::Instant,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, ReplayError> {
        let mut last = ReplayError::Unavailable("no attempt".into());
        for _ in 0..2 {
            let mut conn = self.connection(end)?;
            match f(&mut conn) {
                Ok(value) => {
                    self.give_back(conn);
                    return Ok(value);
                }
                // A connection that failed or timed out mid-reply is dropped, never reused.
                Err(e) => last = unavailable(e),
            }
        }
        Err(last)
    }

    /// Checks the epoch read with a command: creates it if it is missing (entries were
    /// lost, or the store is new) and refuses while it is younger than the window.
    fn check_epoch(&self, end: std::time::Instant, epoch: Option<String>, now: u64) -> Result<(), ReplayError> {
        let epoch = match epoch {
            Some(epoch) => epoch,
            None => {
                let key = self.epoch_key();
                let fresh = format!("{}:{now}", crate::text::hex(&random_tag()?));
                self.with_connection(end, |c| {
                    let (_, current): (Option<String>, Option<String>) =
                        redis::pipe().cmd("SET").arg(&key).arg(&fresh).arg("NX").cmd("GET").arg(&key).query(c)?;
                    Ok(current)
                })?
                .ok_or_else(|| ReplayError::Unavailable("epoch key vanished".into()))?
            }
        };
        let created: u64 = epoch
            .rsplit_once(':')
            .and_then(|(_, t)| t.parse().ok())
            .ok_or_else(|| ReplayError::Unavailable("epoch key is not citycode's".into()))?;
        let until = created.saturating_add(self.recovery_secs);
        if now < until { Err(ReplayError::Recovering { until }) } else { Ok(()) }
    }
}

#[cfg(feature = "redis")]
fn unavailable(e: redis::RedisError) -> ReplayError {
    ReplayError::Unavailable(if e.is_timeout() { "timed out".into() } else { e.to_string() })
}

#[cfg(feature = "redis")]
fn random_tag() -> Result<[u8; 8], ReplayError> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|_| ReplayError::Unavailable("random source failed".into()))?;
    Ok(tag)
}

#[cfg(feature = "redis")]
impl core::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("deadline", &self.deadline)
            .field("recovery_secs", &self.recovery_secs)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl ReplayStore for RedisReplayStore {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let key = format!("{}{}", self.prefix, crate::text::hex(id));
        let epoch_key = self.epoch_key();
        let ttl = expires_at.saturating_sub(now).max(1);
        // One round trip: the insert and the epoch.
        let end = std::time::Instant::now() + self.deadline;
        let (inserted, epoch): (Option<String>, Option<String>) = self.with_connection(end, |c| {
            redis::pipe().cmd("SET").arg(&key).arg(1).arg("NX").arg("EX").arg(ttl).cmd("GET").arg(&epoch_key).query(c)
        })?;
        self.check_epoch(end, epoch, now)?;
        if inserted.is_some() { Ok(()) } else { Err(ReplayError::Replayed) }
    }

    fn ready(&self, now: u64) -> Result<(), ReplayError> {
        let epoch_key = self.epoch_key();
        let end = std::time::Instant::now() + self.deadline;
        let epoch: Option<String> = self.with_connection(end, |c| redis::cmd("GET").arg(&epoch_key).query(c))?;
        self.check_epoch(end, epoch, now)
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
}
