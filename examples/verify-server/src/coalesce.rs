//! Coalescing of concurrent `POST /verify` requests into batches.
//!
//! A request that finds a free verification slot is verified at once, alone (in memory
//! after one yield to the scheduler, so that requests its worker has already read can
//! queue behind it; no timer): a lone request never waits for a window to fill, and an
//! idle service answers it as fast as one-by-one verification does. Requests that arrive while every slot is busy queue;
//! whenever a slot finishes, it takes what queued meanwhile (up to [`MAX_COALESCED`]) and
//! verifies it as one batch ([`citycode::Verifier::verify_batch_at`]: one batch equation
//! for the Ed25519 signatures, one round trip for the replay entries). So batches form
//! only under load, exactly as large as the load makes them, and no timer runs.
//!
//! Results are those of one-by-one verification, code by code: each code is verified
//! once, alone or in a batch whose results equal one-by-one verification in order
//! (replays within it included), and batches run one after another on the shared replay
//! store, so a code in two concurrent requests is accepted exactly once.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use citycode::Verdict;

/// Most codes one coalesced batch verifies.
pub const MAX_COALESCED: usize = 64;

/// A request waiting for its verdict.
pub(crate) struct Pending {
    /// The scanned text.
    pub(crate) text: String,
    /// When it queued (its latency counts the wait).
    pub(crate) since: Instant,
    /// Where its verdict goes; a request that went away has dropped the receiver.
    pub(crate) reply: tokio::sync::oneshot::Sender<Verdict>,
}

#[derive(Default)]
struct Slots {
    queue: VecDeque<Pending>,
    busy: usize,
}

/// The queue and the verification slots.
pub(crate) struct Coalescer {
    slots: Mutex<Slots>,
    max_busy: usize,
}

/// What a request does on arrival.
pub(crate) enum Arrival {
    /// A slot was free and is now the caller's: verify the text at once, then call
    /// [`Coalescer::next`] until it answers `None`.
    Lead(String),
    /// Every slot is busy: the verdict arrives on this receiver.
    Queued(tokio::sync::oneshot::Receiver<Verdict>),
}

impl Coalescer {
    /// A coalescer with `max_busy` slots (at least one).
    pub(crate) fn new(max_busy: usize) -> Self {
        Coalescer { slots: Mutex::new(Slots::default()), max_busy: max_busy.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request arrives with `text`.
    pub(crate) fn arrive(&self, text: String) -> Arrival {
        let mut slots = self.lock();
        if slots.busy < self.max_busy {
            slots.busy += 1;
            return Arrival::Lead(text);
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        slots.queue.push_back(Pending { text, since: Instant::now(), reply });
        Arrival::Queued(rx)
    }

    /// The next batch for a slot that finished, or `None`, and the slot is free again,
    /// when nothing queued.
    pub(crate) fn next(&self) -> Option<Vec<Pending>> {
        let mut slots = self.lock();
        if slots.queue.is_empty() {
            slots.busy = slots.busy.saturating_sub(1);
            return None;
        }
        let n = slots.queue.len().min(MAX_COALESCED);
        Some(slots.queue.drain(..n).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_free_slot_leads_at_once_and_busy_slots_queue_in_order_up_to_the_batch_size() {
        let c = Coalescer::new(1);
        assert!(matches!(c.arrive("a".into()), Arrival::Lead(t) if t == "a"));
        let mut receivers = Vec::new();
        for i in 0..70 {
            match c.arrive(format!("q{i}")) {
                Arrival::Queued(rx) => receivers.push(rx),
                Arrival::Lead(_) => panic!("the only slot is busy"),
            }
        }
        let first = c.next().unwrap();
        assert_eq!(first.len(), MAX_COALESCED);
        assert_eq!(first[0].text, "q0");
        assert_eq!(first[63].text, "q63");
        let second = c.next().unwrap();
        assert_eq!(
            second.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
            ["q64", "q65", "q66", "q67", "q68", "q69"]
        );
        // Nothing queued: the slot is free, and the next request leads again.
        assert!(c.next().is_none());
        assert!(matches!(c.arrive("b".into()), Arrival::Lead(_)));
    }

    #[test]
    fn every_slot_leads_before_anything_queues() {
        let c = Coalescer::new(2);
        assert!(matches!(c.arrive("a".into()), Arrival::Lead(_)));
        assert!(matches!(c.arrive("b".into()), Arrival::Lead(_)));
        assert!(matches!(c.arrive("c".into()), Arrival::Queued(_)));
        assert_eq!(c.next().unwrap().len(), 1);
        assert!(c.next().is_none());
        assert!(matches!(c.arrive("d".into()), Arrival::Lead(_)));
    }
}
