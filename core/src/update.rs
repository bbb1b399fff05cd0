//! Updating a shared verifier's lists from a published directory (SPEC.md §8.4): the
//! one plan → fetch → apply that the verify server, the bindings and
//! [`Verifier::update_from`] all run.
//!
//! The plan is made under a short read of the verifier (the status's signature and
//! sequence checked, a private copy of the lists taken); the fetches run holding no
//! lock (they are network calls); the new lists are checked and loaded on the copy,
//! still holding no lock; and a short write swaps them in, all or nothing, after the
//! list state store (if any) saved them. A verify running meanwhile is never blocked by
//! a fetch, and a failure anywhere leaves the verifier exactly as it was.

use std::sync::{PoisonError, RwLock};

use crate::distribution::{ListSource, STATUS_FILE, UpdatePlan, UpdateReport};
use crate::error::{Reason, Rejection};
use crate::verify::{StagedLists, Verifier};

/// Why [`update_lists`] failed. Either way the verifier is exactly as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError<E> {
    /// The fetch callback failed for `file`, with its own error.
    #[error("{file}: {error}")]
    Fetch {
        /// The file being fetched: [`STATUS_FILE`] or a list's file name.
        file: String,
        /// What the callback returned.
        error: E,
    },
    /// A fetched file was refused (the status's signature or sequence, a list's digest,
    /// signature or rollback), the list state could not be saved, or the verifier's
    /// lists changed while the update ran (`list_unavailable`: update again).
    #[error(transparent)]
    Rejected(#[from] Rejection),
}

impl<E: core::fmt::Display> UpdateError<E> {
    /// As a [`Rejection`]: a failed fetch is `list_unavailable`, naming the file.
    pub fn into_rejection(self) -> Rejection {
        match self {
            UpdateError::Fetch { file, error } => Rejection::new(Reason::ListUnavailable, format!("{file}: {error}")),
            UpdateError::Rejected(r) => r,
        }
    }
}

/// Updates the lists of a verifier shared behind a lock from a published directory
/// (SPEC.md §8.4): fetches `status.bin` through `fetch`, checks it (root signature; an
/// older status than the one applied is refused, `list_status_rollback`, as from a
/// stale mirror), fetches every list it names that is newer than the held one, checks
/// each against the status's digest and loads it with its own signature and rollback
/// checks, then makes them all the verifier's at once, the list state saved first.
/// No lock is held while `fetch` runs or while the lists are checked: only the plan
/// reads the verifier and only the final swap writes it. On error nothing changes and
/// the verifier goes on serving with the lists it holds until they expire. Call it on
/// a schedule; a failed fetch is [`UpdateError::Fetch`] with the callback's own error.
///
/// A verifier whose lock a panic poisoned is used as it is: core changes a verifier
/// only once a change passed every check, so it is whole.
pub fn update_lists<E>(
    verifier: &RwLock<Verifier>,
    fetch: impl FnMut(&str) -> Result<Vec<u8>, E>,
) -> Result<UpdateReport, UpdateError<E>> {
    run(verifier, fetch)
}

impl Verifier {
    /// [`update_lists`] for a verifier held `&mut`: fetches a published directory from
    /// `source` and loads every list newer than the held one, all or nothing. A failed
    /// fetch is `list_unavailable`, naming the file.
    pub fn update_from(&mut self, source: &mut dyn ListSource) -> Result<UpdateReport, Rejection> {
        run(self, |file: &str| source.fetch(file)).map_err(UpdateError::into_rejection)
    }
}

/// Where an update plans and commits: a verifier shared behind a lock, or one held
/// `&mut`.
trait Target {
    /// Checks the status and copies the lists to load into.
    fn plan(&mut self, status: Vec<u8>) -> Result<(UpdatePlan, StagedLists), Rejection>;
    /// Makes the loaded copy the verifier's lists.
    fn commit(&mut self, staged: StagedLists) -> Result<(), Rejection>;
}

impl Target for &RwLock<Verifier> {
    fn plan(&mut self, status: Vec<u8>) -> Result<(UpdatePlan, StagedLists), Rejection> {
        let v = self.read().unwrap_or_else(PoisonError::into_inner);
        Ok((v.plan_update(status)?, v.stage()))
    }

    fn commit(&mut self, staged: StagedLists) -> Result<(), Rejection> {
        self.write().unwrap_or_else(PoisonError::into_inner).commit(staged)
    }
}

impl Target for &mut Verifier {
    fn plan(&mut self, status: Vec<u8>) -> Result<(UpdatePlan, StagedLists), Rejection> {
        Ok((self.plan_update(status)?, self.stage()))
    }

    fn commit(&mut self, staged: StagedLists) -> Result<(), Rejection> {
        Verifier::commit(self, staged)
    }
}

/// Plan, fetch, load, commit: the one update every adapter runs.
fn run<E>(
    mut target: impl Target,
    mut fetch: impl FnMut(&str) -> Result<Vec<u8>, E>,
) -> Result<UpdateReport, UpdateError<E>> {
    let mut get = |file: &str| fetch(file).map_err(|error| UpdateError::Fetch { file: file.to_string(), error });
    let status = get(STATUS_FILE)?;
    let (plan, mut staged) = target.plan(status)?;
    let mut files = Vec::with_capacity(plan.fetch.len());
    for name in plan.to_fetch() {
        files.push(get(&name)?);
    }
    let report = staged.load_planned(plan, files)?;
    target.commit(staged)?;
    Ok(report)
}
