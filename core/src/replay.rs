//! The replay guard: remembers accepted codes until they expire, in bounded memory.

use std::collections::{BinaryHeap, HashSet};
use std::cmp::Reverse;
use std::sync::Mutex;

use crate::error::Reason;

/// Default capacity: codes remembered at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 1 << 20;

/// Where accepted codes are remembered. The in-memory [`ReplayGuard`] is the default;
/// a shared store lets several verifiers reject a code replayed on another machine.
pub trait ReplayStore: Send + Sync {
    /// Records `id` until Unix second `expires_at`. Returns [`Reason::Replayed`] if it is
    /// already recorded and unexpired, [`Reason::ReplayCapacity`] if the store is full of
    /// unexpired entries.
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), Reason>;
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
    /// fingerprint and 1 control byte each) and the expiry heap (16 bytes per slot).
    pub fn memory_bytes(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.seen.capacity() * 9 + i.by_expiry.capacity() * 16)
    }
}

impl Default for ReplayGuard {
    fn default() -> Self {
        ReplayGuard::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayStore for ReplayGuard {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), Reason> {
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
            return Err(Reason::Replayed);
        }
        if inner.seen.len() >= self.capacity {
            return Err(Reason::ReplayCapacity);
        }
        inner.seen.insert(fp);
        inner.by_expiry.push(Reverse((expires_at, fp)));
        Ok(())
    }
}

/// A replay store in Redis, shared by every verifier that points at the same server: a
/// code accepted on one machine is refused as replayed on all others.
///
/// Each accepted code is one key, `{prefix}{hex replay id}`, set with `SET NX EX` so the
/// check and the insert are one atomic step and Redis forgets it when the code expires.
/// If Redis cannot be reached the store answers [`Reason::ReplayStoreUnavailable`]: the
/// verifier fails closed.
#[cfg(feature = "redis")]
pub struct RedisReplayStore {
    client: redis::Client,
    prefix: String,
    connection: Mutex<Option<redis::Connection>>,
}

#[cfg(feature = "redis")]
impl RedisReplayStore {
    /// A store at `url` (`redis://127.0.0.1:6379/`), with keys under `prefix`
    /// (`citycode:replay:` by default, see [`RedisReplayStore::with_prefix`]).
    pub fn new(url: &str) -> Result<Self, Reason> {
        let client = redis::Client::open(url).map_err(|_| Reason::ReplayStoreUnavailable)?;
        Ok(RedisReplayStore { client, prefix: "citycode:replay:".into(), connection: Mutex::new(None) })
    }

    /// Uses another key prefix (to separate deployments sharing one Redis).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn set_nx(&self, conn: &mut redis::Connection, key: &str, ttl: u64) -> redis::RedisResult<bool> {
        let reply: Option<String> =
            redis::cmd("SET").arg(key).arg(1).arg("NX").arg("EX").arg(ttl).query(conn)?;
        Ok(reply.is_some())
    }
}

#[cfg(feature = "redis")]
impl core::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisReplayStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl ReplayStore for RedisReplayStore {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), Reason> {
        let key = format!("{}{}", self.prefix, crate::text::hex(id));
        let ttl = expires_at.saturating_sub(now).max(1);
        let mut slot = self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // One reconnect on a broken connection, then fail closed.
        for _ in 0..2 {
            if slot.is_none() {
                *slot = self.client.get_connection().ok();
            }
            let Some(conn) = slot.as_mut() else { continue };
            match self.set_nx(conn, &key, ttl) {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(Reason::Replayed),
                Err(_) => *slot = None,
            }
        }
        Err(Reason::ReplayStoreUnavailable)
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
        assert_eq!(g.check_and_insert(&id(1), 100, 99), Err(Reason::Replayed));
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
        assert_eq!(g.check_and_insert(&id(3), 100, 0), Err(Reason::ReplayCapacity));
        assert_eq!(g.check_and_insert(&id(1), 100, 0), Err(Reason::Replayed));
        assert_eq!(g.check_and_insert(&id(3), 200, 100), Ok(()));
    }
}
