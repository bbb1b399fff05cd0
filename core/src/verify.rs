//! Verification: from scanned text to an accepted set of claims or a stable reason.

#[cfg(feature = "cache")]
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
#[cfg(feature = "cache")]
use std::sync::Mutex;

#[cfg(feature = "sm2")]
use crate::claims::IdDigest;
use crate::claims::{Claims, Domain};
use crate::credential::Subject;
use crate::distribution::{ListFile, ListStatus, UpdatePlan, UpdateReport};
use crate::error::{Reason, Rejection};
#[cfg(feature = "sm2")]
use crate::keys::Algorithm;
use crate::keys::{P256Check, PublicKey};
use crate::list_state::{AppliedList, ListState, ListStateStore, Slot};
use crate::policy::{Policy, PolicyContext};
use crate::presentation::UnverifiedCode;
use crate::printed::PrintedCode;
use crate::replay::{ReplayError, ReplayGuard, ReplayStore};
use crate::trust::{ListSigner, RevocationList, Revoked, TrustList};

/// Default allowed clock skew between holder and verifier, in seconds.
pub const DEFAULT_SKEW_SECS: u32 = 30;
/// Default longest code validity a verifier accepts, in seconds.
pub const DEFAULT_MAX_CODE_VALIDITY_SECS: u8 = 120;

/// A verifier's lists copied for an update ([`Verifier::stage`]), loaded into with no
/// lock held, then made the verifier's by [`Verifier::commit`].
pub(crate) struct StagedLists {
    /// The verifier's lists when copied: the commit refuses a verifier whose lists changed.
    base: ListsToken,
    /// The copy the update loads into.
    copy: Box<Verifier>,
}

impl StagedLists {
    /// Loads a plan's files into the copy, all of them or (on error) none that matter:
    /// the copy is dropped.
    pub(crate) fn load_planned(&mut self, plan: UpdatePlan, files: Vec<Vec<u8>>) -> Result<UpdateReport, Rejection> {
        self.copy.load_planned(plan, files)
    }
}

/// What a verifier's lists are, to tell whether they changed ([`Verifier::commit`]).
#[derive(Debug, PartialEq, Eq)]
struct ListsToken {
    floors: ListState,
    status: Option<(u64, u32)>,
    #[cfg(feature = "sm2")]
    gm_only: bool,
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}

/// A clock that always says the same time (tests, vectors, replaying logs).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// A code that passed every check. Only [`Verifier`] makes one: holding an `Accepted`
/// means verification produced it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Exactly the claims the code disclosed.
    pub claims: Claims,
    /// The holder's pseudonymous subject.
    pub subject: Subject,
    /// Unix second the code was built.
    pub issued_at: u32,
    /// Key ids of the issuers whose cards the code carried, in card order.
    pub issuers: Vec<u32>,
    /// The policy that accepted it.
    pub policy: String,
    /// Whether revocation was checked against the root-signed revocation list: false
    /// only on a verifier that was told to run without revocation lists
    /// ([`Verifier::allow_missing_revocation_list`]) and holds no root-signed list
    /// (issuer-signed lists it holds were still checked).
    pub revocation_checked: bool,
    /// A printed code (SPEC.md §5.1): no device signed it and anyone with a copy can
    /// show it, so the staff MUST check the person's identity document against
    /// `claims.identity` before serving them.
    pub printed: bool,
    /// Whether the code was checked for replay (SPEC.md §9.2): false when the verifier's
    /// replay store records nothing ([`crate::NoReplayCheck`], a one-shot run that keeps
    /// no state: the same code would be accepted again), and for a printed code, which is
    /// never checked for replay (it is shown at every visit).
    pub replay_checked: bool,
}

impl Accepted {
    /// How the guardian who showed the code is related to its holder, when the code was
    /// shown by a guardian (SPEC.md §11): the holder may not be the person at the
    /// terminal.
    pub fn guardian(&self) -> Option<crate::claims::Relation> {
        self.claims.guardian.as_ref().map(|g| g.relation)
    }
}

/// Scanned text, parsed: a device-bound code (SPEC.md §5) or a printed one (§5.1),
/// told apart by the `device_alg` byte. Short-lived, so the variants stay unboxed: a box
/// would cost an allocation per verified code.
#[allow(clippy::large_enum_variant)]
enum Scanned {
    Device(UnverifiedCode),
    Printed(PrintedCode),
}

impl Scanned {
    fn from_text(text: &str) -> Result<Scanned, Rejection> {
        let bytes = crate::text::decode_text(text).map_err(|r| Rejection::new(r, "QR text"))?;
        if PrintedCode::is_printed(&bytes) {
            Ok(Scanned::Printed(PrintedCode::from_bytes(&bytes)?))
        } else {
            Ok(Scanned::Device(UnverifiedCode::from_bytes(&bytes)?))
        }
    }
}

/// A verifier for one terminal or service: trust, revocation, a scene policy, a clock
/// with allowed skew, and a replay store. `verify` takes `&self` and is safe to share
/// between threads.
pub struct Verifier {
    root: PublicKey,
    trust: Option<(TrustList, Vec<u8>)>,
    /// One list per signer (a handful), with the bytes it was loaded from.
    revocations: Vec<(RevocationList, Vec<u8>)>,
    policy: Arc<dyn Policy>,
    clock: Arc<dyn Clock>,
    skew: u64,
    max_validity: u8,
    replay: Arc<dyn ReplayStore>,
    cache: CredentialCache,
    /// Refuse every code while no revocation list is held (the default).
    revocation_required: bool,
    /// The last list status applied in full: sequence, expiry.
    status: Option<(u64, u32)>,
    /// The floor of every list: the highest sequence applied and the digest of its bytes
    /// (SPEC.md §8.3), restored across restarts through `state_store`.
    floors: ListState,
    /// Where the floors are saved after every load that changes them.
    state_store: Option<Arc<dyn ListStateStore>>,
    /// Local offset from UTC for dates people read (SPEC.md §11).
    utc_offset_minutes: i32,
    /// Accept SM2 keys only (SPEC.md §4.6).
    #[cfg(feature = "sm2")]
    gm_only: bool,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("root", &self.root)
            .field("trust_sequence", &self.trust.as_ref().map(|t| t.0.sequence))
            .field("policy", &self.policy.name())
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

/// For a GM-only verifier: refuses a trust list naming a key that is not SM2.
#[cfg(feature = "sm2")]
fn refuse_other_algorithms(list: &TrustList) -> Result<(), Rejection> {
    match list.keys.iter().find(|k| k.key.algorithm() != Algorithm::Sm2Sm3) {
        Some(k) => Err(Rejection::new(
            Reason::UnsupportedAlgorithm,
            format!("issuer key {} is {}; this verifier accepts SM2 only", k.kid, k.key.algorithm()),
        )),
        None => Ok(()),
    }
}

impl Verifier {
    /// A verifier that trusts `root` and applies `policy`, with the system clock, the
    /// default skew and validity limits, and an in-memory replay guard. Load a trust
    /// list before verifying.
    pub fn new(root: PublicKey, policy: impl Policy + 'static) -> Self {
        Verifier {
            floors: ListState::new(root.key_id()),
            state_store: None,
            root,
            trust: None,
            revocations: Vec::new(),
            policy: Arc::new(policy),
            clock: Arc::new(SystemClock),
            skew: u64::from(DEFAULT_SKEW_SECS),
            max_validity: DEFAULT_MAX_CODE_VALIDITY_SECS,
            replay: Arc::new(ReplayGuard::default()),
            cache: CredentialCache::new(DEFAULT_CREDENTIAL_CACHE),
            revocation_required: true,
            status: None,
            utc_offset_minutes: crate::policy::DEFAULT_UTC_OFFSET_MINUTES,
            #[cfg(feature = "sm2")]
            gm_only: false,
        }
    }

    /// Accepts only the national algorithms (SPEC.md §4.6): a trust list naming an
    /// issuer key that is not SM2 is refused when loaded, and so is a code whose device
    /// key is not SM2 or whose identity commitment is not SM3 (`unsupported_algorithm`). With an SM2 root this leaves no
    /// signature but SM2 and no digest but SM3 in anything the verifier accepts. Fails
    /// (`unsupported_algorithm`) unless the root is SM2, and if a list already loaded
    /// names another algorithm.
    #[cfg(feature = "sm2")]
    pub fn gm_only(mut self) -> Result<Self, Rejection> {
        self.set_gm_only()?;
        Ok(self)
    }

    /// Makes a verifier in use GM-only (see [`Verifier::gm_only`]); on error nothing
    /// changes.
    #[cfg(feature = "sm2")]
    pub fn set_gm_only(&mut self) -> Result<(), Rejection> {
        if self.root.algorithm() != Algorithm::Sm2Sm3 {
            return Err(Rejection::new(
                Reason::UnsupportedAlgorithm,
                format!("a GM-only verifier needs an SM2 root, not {}", self.root.algorithm()),
            ));
        }
        if let Some((list, _)) = &self.trust {
            refuse_other_algorithms(list)?;
        }
        self.gm_only = true;
        Ok(())
    }

    /// Whether only SM2 keys are accepted ([`Verifier::gm_only`]).
    #[cfg(feature = "sm2")]
    pub fn is_gm_only(&self) -> bool {
        self.gm_only
    }

    /// Sets the local offset from UTC, in minutes, of the days the policies compare
    /// (SPEC.md §11): 480 (China Standard Time) by default. Values beyond ±1440 are
    /// clamped.
    pub fn with_utc_offset_minutes(mut self, minutes: i32) -> Self {
        self.set_utc_offset_minutes(minutes);
        self
    }

    /// Changes the local offset of a verifier in use (see
    /// [`Verifier::with_utc_offset_minutes`]).
    pub fn set_utc_offset_minutes(&mut self, minutes: i32) {
        let max = crate::policy::MAX_UTC_OFFSET_MINUTES;
        self.utc_offset_minutes = minutes.clamp(-max, max);
    }

    /// Lets the verifier accept codes while it holds no root-signed revocation list. By
    /// default it refuses them (`no_revocation_list`), whatever issuer-signed lists it
    /// holds: a terminal that never got the root's list would otherwise admit revoked
    /// phones. Verdicts of a verifier running without it say so
    /// ([`Accepted::revocation_checked`] is false).
    pub fn allow_missing_revocation_list(mut self) -> Self {
        self.revocation_required = false;
        self
    }

    /// Sets whether codes are refused while no revocation list is held (see
    /// [`Verifier::allow_missing_revocation_list`]).
    pub fn set_revocation_required(&mut self, required: bool) {
        self.revocation_required = required;
    }

    /// Whether codes are refused while no revocation list is held.
    pub fn revocation_required(&self) -> bool {
        self.revocation_required
    }

    /// How long, in seconds, a code accepted now can still be presented: the longest
    /// code validity plus twice the skew (built up to `skew` in the future, accepted
    /// until `skew` after its end). A shared replay store that lost entries must refuse
    /// codes for this long (the Redis store's `with_recovery_window`, feature `redis`).
    pub fn replay_window_secs(&self) -> u64 {
        u64::from(self.max_validity) + 2 * self.skew
    }

    /// The held revocation lists, one per signer.
    pub fn revocation_lists(&self) -> impl Iterator<Item = &RevocationList> {
        self.revocations.iter().map(|(l, _)| l)
    }

    /// Whether the verifier could accept a code at `now`: a trust list held and
    /// unexpired, the root-signed revocation list held (unless allowed to run without)
    /// and no revocation list expired, and the replay store ready. A service reports
    /// this as its readiness.
    pub fn ready_at(&self, now: u64) -> Result<(), Rejection> {
        self.check_lists(now)?;
        self.replay.ready(now).map_err(|e| Rejection::new(e.reason(), e.to_string()))
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the allowed clock skew in seconds.
    pub fn with_skew(mut self, secs: u32) -> Self {
        self.set_skew(secs);
        self
    }

    /// Sets the longest code validity accepted, in seconds.
    pub fn with_max_code_validity(mut self, secs: u8) -> Self {
        self.set_max_code_validity(secs);
        self
    }

    /// Replaces the replay store (share one `Arc` between verifiers to share it).
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// Changes the allowed clock skew of a verifier in use.
    pub fn set_skew(&mut self, secs: u32) {
        self.skew = u64::from(secs);
    }

    /// Changes the longest code validity accepted by a verifier in use.
    pub fn set_max_code_validity(&mut self, secs: u8) {
        self.max_validity = secs;
    }

    /// Sets how many verified issuer signatures to remember (0 turns the cache off).
    pub fn with_credential_cache(mut self, capacity: usize) -> Self {
        self.cache = CredentialCache::new(capacity);
        self
    }

    /// Replaces the scene policy.
    pub fn set_policy(&mut self, policy: impl Policy + 'static) {
        self.policy = Arc::new(policy);
    }

    /// The current policy's required domains, to show or to send to a holder app.
    pub fn required_domains(&self) -> Vec<Domain> {
        self.policy.required_domains()
    }

    /// The held trust list, if any.
    pub fn trust_list(&self) -> Option<&TrustList> {
        self.trust.as_ref().map(|t| &t.0)
    }

    /// Loads a signed trust list. Refuses a bad signature, and a list with a lower
    /// sequence than the one applied, or the same sequence with other content
    /// (rollback, also against the floor restored from a [`ListState`]). Loading the
    /// held list again is a no-op. A held issuer-signed revocation list that the new
    /// trust list no longer verifies (its key dropped or replaced, or not valid when the
    /// list was issued) is dropped with it (SPEC.md §8.3). With a list state store, the
    /// new state is saved first. On error nothing changes.
    pub fn load_trust_list(&mut self, bytes: &[u8]) -> Result<(), Rejection> {
        let list = TrustList::verify(bytes, &self.root)?;
        #[cfg(feature = "sm2")]
        if self.gm_only {
            refuse_other_algorithms(&list)?;
        }
        let digest = self.list_digest(bytes);
        self.floors.refuse_rollback(Slot::Trust, list.sequence, &digest)?;
        // An issuer-signed revocation list stays only while the new trust list still
        // holds a key that verifies it (SPEC.md §8.3): a list whose key was dropped or
        // replaced could never be refreshed, and once expired would refuse every code.
        // Root-signed lists do not depend on the trust list: only issuer lists are checked.
        let root = &self.root;
        let kept: Vec<bool> = self
            .revocations
            .iter()
            .map(|(held, bytes)| {
                held.signer == ListSigner::Root || RevocationList::verify(bytes, root, Some(&list)).is_ok()
            })
            .collect();
        let mut floors = self.floors.clone();
        floors.set(Slot::Trust, AppliedList { sequence: list.sequence, digest });
        // A dropped list's floor goes with it; so does the floor of a list not held (after
        // a restart) whose key left the trust list.
        let dropped: Vec<ListSigner> =
            self.revocations.iter().zip(&kept).filter(|(_, k)| !**k).map(|((l, _), _)| l.signer).collect();
        floors.retain_revocations(|signer| match signer {
            ListSigner::Root => true,
            ListSigner::Issuer(kid) => !dropped.contains(&signer) && list.key(kid).is_some(),
        });
        self.save_floors(floors)?;
        if self.trust.as_ref().is_none_or(|(_, held)| held.as_slice() != bytes) {
            self.cache.clear();
        }
        let mut keep = kept.into_iter();
        self.revocations.retain(|_| keep.next().unwrap_or(false));
        self.trust = Some((list, bytes.to_vec()));
        Ok(())
    }

    /// Loads a signed revocation list at the clock's time: see
    /// [`Verifier::load_revocation_list_at`].
    pub fn load_revocation_list(&mut self, bytes: &[u8]) -> Result<(), Rejection> {
        self.load_revocation_list_at(bytes, self.clock.now())
    }

    /// Loads a signed revocation list (root-signed, or signed by an issuer key of the
    /// held trust list) at Unix time `now`, replacing the previous list of the same
    /// signer. An issuer-signed list is refused (`issuer_key_not_valid`) unless its key
    /// is valid at `now`, whatever the list's `issued_at` ([`RevocationList::verify_at`]):
    /// a retired key's last list stays held, and enforced, until it expires, and that key
    /// never replaces it (SPEC.md §8.3). Refuses rollback as
    /// [`Verifier::load_trust_list`] does. With a list state store, the new state is
    /// saved first. On error nothing changes.
    pub fn load_revocation_list_at(&mut self, bytes: &[u8], now: u64) -> Result<(), Rejection> {
        let list = RevocationList::verify_at(bytes, &self.root, self.trust_list(), now)?;
        let digest = self.list_digest(bytes);
        let slot = Slot::Revocation(list.signer);
        self.floors.refuse_rollback(slot, list.sequence, &digest)?;
        let mut floors = self.floors.clone();
        floors.set(slot, AppliedList { sequence: list.sequence, digest });
        self.save_floors(floors)?;
        let held = self.revocations.iter().position(|(held, _)| held.signer == list.signer);
        let entry = (list, bytes.to_vec());
        match held.and_then(|i| self.revocations.get_mut(i)) {
            Some(held) => *held = entry,
            None => self.revocations.push(entry),
        }
        Ok(())
    }

    /// H of a list's bytes, H the root key's digest (SPEC.md §4.6).
    fn list_digest(&self, bytes: &[u8]) -> [u8; 32] {
        crate::alg::key_digest(self.root.algorithm(), bytes)
    }

    /// Makes `floors` the verifier's floors, saving them first when a list state store
    /// is attached and they changed. On error (`list_state_unavailable`) nothing changes.
    fn save_floors(&mut self, floors: ListState) -> Result<(), Rejection> {
        if floors != self.floors {
            self.save_state(&floors)?;
            self.floors = floors;
        }
        Ok(())
    }

    /// What the verifier applied: for the list status, the trust list and each
    /// revocation list, the highest sequence and the digest of its bytes (SPEC.md §8.3).
    /// Give it to [`Verifier::restore_list_state`] after a restart, or let a
    /// [`ListStateStore`] keep it ([`Verifier::with_list_state_store`]).
    pub fn list_state(&self) -> ListState {
        self.floors.clone()
    }

    /// Restores what a verifier with this root applied before ([`Verifier::list_state`]):
    /// from now on a list (or status) with a lower sequence than the state's, or the same
    /// sequence with a different digest, is refused with its rollback reason, exactly as
    /// if that list were still held; and every revocation list in the state must be
    /// loaded again before any code is accepted (`no_revocation_list` until then). Held
    /// lists older than the state are dropped (they would be refused if offered now).
    /// Restoring only raises floors: a state lower than what the verifier applied
    /// changes nothing. A state of another root key is `list_state_unavailable`; a
    /// state naming a list at a sequence the verifier applied with other bytes is that
    /// list's rollback reason. With a list state store, the merged state is saved
    /// first. On error nothing changes.
    pub fn restore_list_state(&mut self, state: ListState) -> Result<(), Rejection> {
        let floors = self.floors.merged(&state)?;
        if floors != self.floors {
            self.save_state(&floors)?;
        }
        self.raise_floors(floors);
        Ok(())
    }

    /// Saves `state` to the list state store, if one is attached.
    fn save_state(&self, state: &ListState) -> Result<(), Rejection> {
        match &self.state_store {
            Some(store) => store.save(state).map_err(|e| {
                Rejection::new(Reason::ListStateUnavailable, format!("saving the list state failed: {e}"))
            }),
            None => Ok(()),
        }
    }

    /// Takes `floors` (at least the verifier's own) and drops the held lists older than
    /// them.
    fn raise_floors(&mut self, floors: ListState) {
        let older = |slot: Slot, sequence: u64| floors.get(slot).is_some_and(|f| sequence < f.sequence);
        if self.trust.as_ref().is_some_and(|(t, _)| older(Slot::Trust, t.sequence)) {
            self.trust = None;
            self.cache.clear();
        }
        if self.status.is_some_and(|(seq, _)| older(Slot::Status, seq)) {
            self.status = None;
        }
        self.revocations.retain(|(l, _)| !older(Slot::Revocation(l.signer), l.sequence));
        self.floors = floors;
    }

    /// Attaches a store that keeps the verifier's [`ListState`] across restarts, and
    /// restores the state it holds at once ([`Verifier::restore_list_state`]), saving
    /// the result straight away (so a store that cannot be written is found before any
    /// list depends on it). From then on the verifier saves its state itself after
    /// every load that changes it, before the load takes effect: a load whose state
    /// cannot be saved fails (`list_state_unavailable`) and changes nothing. Fails
    /// (`list_state_unavailable`) if the store cannot be read or written or its state is
    /// of another root, and with a rollback reason if the state conflicts with a list
    /// the verifier already applied.
    pub fn with_list_state_store(mut self, store: Arc<dyn ListStateStore>) -> Result<Self, Rejection> {
        self.set_list_state_store(store)?;
        Ok(self)
    }

    /// Attaches a list state store to a verifier in use (see
    /// [`Verifier::with_list_state_store`]); on error nothing changes.
    pub fn set_list_state_store(&mut self, store: Arc<dyn ListStateStore>) -> Result<(), Rejection> {
        let saved = store
            .load()
            .map_err(|e| Rejection::new(Reason::ListStateUnavailable, format!("loading the list state failed: {e}")))?;
        let floors = match saved {
            Some(state) => self.floors.merged(&state)?,
            None => self.floors.clone(),
        };
        store
            .save(&floors)
            .map_err(|e| Rejection::new(Reason::ListStateUnavailable, format!("saving the list state failed: {e}")))?;
        self.state_store = Some(store);
        self.raise_floors(floors);
        Ok(())
    }

    /// Checks a published status (root signature; not older than the last one applied,
    /// which refuses a stale mirror, also after a restart with a restored
    /// [`ListState`]) and says which of its lists are newer than those held: fetch
    /// [`UpdatePlan::to_fetch`], in order, and give them to [`Verifier::apply_update`].
    pub fn plan_update(&self, status_bytes: Vec<u8>) -> Result<UpdatePlan, Rejection> {
        let status = ListStatus::verify(&status_bytes, &self.root)?;
        self.floors.refuse_rollback(Slot::Status, status.sequence, &self.list_digest(&status_bytes))?;
        let (mut fetch, mut unchanged) = (Vec::new(), Vec::new());
        for entry in status.entries.iter() {
            let held = match entry.file {
                ListFile::Trust => self.trust_list().map(|t| t.sequence),
                ListFile::Revocation(signer) => {
                    self.revocation_lists().find(|l| l.signer == signer).map(|l| l.sequence)
                }
            };
            if held.is_some_and(|h| h >= entry.sequence) {
                unchanged.push(entry.file.file_name());
            } else {
                fetch.push(entry.clone());
            }
        }
        Ok(UpdatePlan { status, status_bytes, fetch, unchanged })
    }

    /// Loads the files of a plan, fetched in [`UpdatePlan::to_fetch`] order, all or
    /// nothing: each must match the digest the status names, then loads with its own
    /// signature and rollback checks, on a copy of the verifier's lists; only when every
    /// list loaded (and, with a list state store, the new state was saved) do they
    /// replace the lists held, and the status counts as applied. On error the verifier
    /// is exactly as it was, and goes on serving with its lists until they expire.
    /// [`crate::update_lists`] does the same for a verifier shared behind a lock,
    /// holding no lock while it fetches and checks.
    pub fn apply_update(&mut self, plan: UpdatePlan, files: Vec<Vec<u8>>) -> Result<UpdateReport, Rejection> {
        let mut staged = self.stage();
        let report = staged.load_planned(plan, files)?;
        self.commit(staged)?;
        Ok(report)
    }

    /// A copy of the verifier's lists to load an update into, holding no lock: the
    /// verifier's settings (root, clock, GM-only) with its lists, floors and status, and
    /// no list state store (the commit saves) and no credential cache.
    pub(crate) fn stage(&self) -> StagedLists {
        let copy = Verifier {
            root: self.root.clone(),
            trust: self.trust.clone(),
            revocations: self.revocations.clone(),
            policy: Arc::clone(&self.policy),
            clock: Arc::clone(&self.clock),
            skew: self.skew,
            max_validity: self.max_validity,
            replay: Arc::clone(&self.replay),
            cache: CredentialCache::new(0),
            revocation_required: self.revocation_required,
            status: self.status,
            floors: self.floors.clone(),
            state_store: None,
            utc_offset_minutes: self.utc_offset_minutes,
            #[cfg(feature = "sm2")]
            gm_only: self.gm_only,
        };
        StagedLists { base: self.lists_token(), copy: Box::new(copy) }
    }

    /// Makes staged lists the verifier's, all at once: refused (`list_unavailable`) if
    /// the verifier's lists changed since they were copied (another update or load ran
    /// meanwhile), and with a list state store, saved first (`list_state_unavailable`
    /// if that fails). On error nothing changes.
    pub(crate) fn commit(&mut self, staged: StagedLists) -> Result<(), Rejection> {
        if self.lists_token() != staged.base {
            return Err(Rejection::new(
                Reason::ListUnavailable,
                "the verifier's lists changed while the update ran: update again",
            ));
        }
        let copy = *staged.copy;
        if copy.floors != self.floors {
            self.save_state(&copy.floors)?;
        }
        if self.trust.as_ref().map(|(_, bytes)| bytes) != copy.trust.as_ref().map(|(_, bytes)| bytes) {
            self.cache.clear();
        }
        self.trust = copy.trust;
        self.revocations = copy.revocations;
        self.floors = copy.floors;
        self.status = copy.status;
        Ok(())
    }

    /// What identifies the verifier's lists: every list and status applied (sequence and
    /// digest) names what is held, and the GM-only setting decides what may load.
    fn lists_token(&self) -> ListsToken {
        ListsToken {
            floors: self.floors.clone(),
            status: self.status,
            #[cfg(feature = "sm2")]
            gm_only: self.gm_only,
        }
    }

    /// Loads a plan's files into this verifier one by one (see
    /// [`Verifier::apply_update`]): run on a staged copy, so a failure midway leaves the
    /// real verifier untouched.
    fn load_planned(&mut self, plan: UpdatePlan, files: Vec<Vec<u8>>) -> Result<UpdateReport, Rejection> {
        if files.len() != plan.fetch.len() {
            return Err(Rejection::new(
                Reason::ListUnavailable,
                format!("{} files for {} lists", files.len(), plan.fetch.len()),
            ));
        }
        let mut report = UpdateReport {
            status_sequence: plan.status.sequence,
            status_issued_at: plan.status.issued_at,
            loaded: Vec::new(),
            unchanged: plan.unchanged,
        };
        for (entry, file) in plan.fetch.iter().zip(files) {
            let name = entry.file.file_name();
            if !entry.describes(self.root.algorithm(), &file) {
                return Err(Rejection::new(
                    Reason::ListDigestMismatch,
                    format!("{name} is not the file the status names"),
                ));
            }
            match entry.file {
                ListFile::Trust => self.load_trust_list(&file)?,
                ListFile::Revocation(_) => self.load_revocation_list(&file)?,
            }
            report.loaded.push(name);
        }
        let digest = self.list_digest(&plan.status_bytes);
        // Checked again: a list loaded above cannot have moved the status floor, but the
        // plan may be older than a status applied since it was made.
        self.floors.refuse_rollback(Slot::Status, plan.status.sequence, &digest)?;
        let mut floors = self.floors.clone();
        floors.set(Slot::Status, AppliedList { sequence: plan.status.sequence, digest });
        self.save_floors(floors)?;
        self.status = Some((plan.status.sequence, plan.status.expires_at));
        Ok(report)
    }

    /// The sequence and expiry of the last list status applied in full, if any.
    pub fn list_status(&self) -> Option<(u64, u32)> {
        self.status
    }

    /// Verifies scanned QR text at the clock's current time.
    pub fn verify(&self, text: &str) -> Result<Accepted, Rejection> {
        self.verify_at(text, self.clock.now())
    }

    /// Verifies many codes now: see [`Verifier::verify_batch_at`].
    #[cfg(feature = "batch")]
    pub fn verify_batch(&self, texts: &[&str]) -> Vec<Result<Accepted, Rejection>> {
        self.verify_batch_at(texts, self.clock.now())
    }

    /// Verifies scanned QR text at Unix time `now`.
    pub fn verify_at(&self, text: &str, now: u64) -> Result<Accepted, Rejection> {
        match Scanned::from_text(text)? {
            Scanned::Device(code) => self.verify_code(code, now),
            Scanned::Printed(code) => self.verify_printed(code, now),
        }
    }

    /// Verifies a printed code (SPEC.md §5.1) at Unix time `now`: only where the scene's
    /// policy accepts printed codes; lists, issuer keys, scope, card validity, revocation,
    /// the issuer signatures, then the policy. No replay check: the code is static, and
    /// the staff check the person's identity document. Takes the code by value: the
    /// verdict is made from exactly what was checked.
    pub fn verify_printed(&self, code: PrintedCode, now: u64) -> Result<Accepted, Rejection> {
        self.printed_verdict(&code, now)
    }

    fn printed_verdict(&self, code: &PrintedCode, now: u64) -> Result<Accepted, Rejection> {
        let trust = self.check_lists(now)?;
        #[cfg(feature = "sm2")]
        self.refuse_non_gm(None, code.cards())?;
        if !self.policy.accepts_printed() {
            return Err(Rejection::new(
                Reason::PolicyUnmet,
                format!("{} does not accept printed codes: a staffed counter does", self.policy.name()),
            ));
        }
        self.check_cards(trust, code.cards(), now)?;
        let subject_detail = "printed code revoked (reissued or reported lost)";
        self.check_revocation(None, &code.subject(), subject_detail, code.cards().len(), &|i| code.card_id(i))?;
        for (i, card) in code.cards().iter().enumerate() {
            let key = trust.key(card.kid).map(|k| &k.key);
            if !key.is_some_and(|k| k.verify(code.card_input(i), &card.signature)) {
                return Err(Rejection::new(Reason::BadIssuerSignature, format!("card {i}, key id {}", card.kid)));
            }
        }
        let claims = code.untrusted_claims();
        if let Err(why) =
            self.policy.check(&claims, &PolicyContext { now, utc_offset_minutes: self.utc_offset_minutes })
        {
            return Err(Rejection::new(Reason::PolicyUnmet, why.to_string()));
        }
        Ok(Accepted {
            claims,
            subject: code.subject(),
            issued_at: u32::try_from(code.not_before()).unwrap_or(u32::MAX),
            issuers: code.cards().iter().map(|c| c.kid).collect(),
            policy: self.policy.name(),
            revocation_checked: self.holds_root_revocation_list(),
            printed: true,
            replay_checked: false,
        })
    }

    /// Verifies a parsed code at Unix time `now`, in the order SPEC.md §9 fixes. Takes
    /// the code by value: the verdict is made from exactly what was checked, the values
    /// parsed from the signed bytes.
    pub fn verify_code(&self, code: UnverifiedCode, now: u64) -> Result<Accepted, Rejection> {
        self.verify_code_host_checked(code, now, &[])
    }

    /// The P-256 signatures [`Verifier::verify_code`] would check for `code` under the
    /// trust list held (issuer signatures the credential cache holds left out), for a
    /// host that verifies P-256 in native code (WebCrypto in browsers, `node:crypto` in
    /// Node), where this library's arithmetic runs as WASM several times slower. Give those the host
    /// verified to [`Verifier::verify_code_host_checked`]. Signatures that fail a
    /// structural check of SPEC.md §4.2 are not listed: they fail here.
    pub fn p256_checks(&self, code: &UnverifiedCode) -> Vec<P256Check> {
        let Some((trust, _)) = &self.trust else { return Vec::new() };
        signature_jobs(trust, code)
            .iter()
            .filter(|job| !self.cache_key(job).is_some_and(|fp| self.cache.contains(&fp)))
            .filter_map(|job| job.key.p256_check(job.message, job.signature))
            .collect()
    }

    /// [`Verifier::verify_code`], with the P-256 signatures in `verified` taken as
    /// checked by the host's native ECDSA ([`Verifier::p256_checks`]). Every rule stays
    /// this library's, including each P-256 signature's structural checks: an entry
    /// counts only for the exact key, message and signature it names, and a signature
    /// it does not name is checked here. So the verdict is `verify_code`'s whenever the
    /// host's ECDSA is right; list only what it verified.
    pub fn verify_code_host_checked(
        &self,
        code: UnverifiedCode,
        now: u64,
        verified: &[P256Check],
    ) -> Result<Accepted, Rejection> {
        let trust = self.check_before_signatures(&code, now)?;
        let jobs = signature_jobs(trust, &code);
        if let Some(bad) = self.first_bad_signatures(&[&jobs], verified).into_iter().flatten().next() {
            return Err(bad.failure());
        }
        self.finish(&code, now)
    }

    /// Step 6 of SPEC.md §9 for one code or many: for each code's signature jobs, the
    /// first (in SPEC order) that does not verify. Issuer signatures the credential
    /// cache holds are answered by it. With the `batch` feature every other Ed25519
    /// signature of all the codes is checked with one combined equation, exact for the
    /// cofactored rule; only if it fails is each checked alone, to name the culprit, so
    /// every answer is that of one-by-one checking. [`Verifier::verify_code`] calls it
    /// with one code (its card and device signatures), [`Verifier::verify_batch_at`]
    /// with a batch: one path for both. P-256 signatures in `host` were verified by the
    /// host ([`Verifier::verify_code_host_checked`]).
    fn first_bad_signatures<'j, 'a>(
        &self,
        codes: &[&'j [SignatureJob<'a>]],
        host: &[P256Check],
    ) -> Vec<Option<&'j SignatureJob<'a>>> {
        #[cfg(feature = "batch")]
        let known = self.batch_verified(codes);
        #[cfg(not(feature = "batch"))]
        let known: Vec<Vec<bool>> = Vec::new();
        codes
            .iter()
            .enumerate()
            .map(|(i, jobs)| {
                let known = known.get(i);
                jobs.iter()
                    .enumerate()
                    .find(|(j, job)| {
                        !(known.and_then(|k| k.get(*j)).is_some_and(|ok| *ok) || self.check_signature(job, host))
                    })
                    .map(|(_, job)| job)
            })
            .collect()
    }

    /// Which signatures of `codes` are known to verify without checking each alone: the
    /// issuer signatures the cache holds, and, when one combined equation over every
    /// other Ed25519 signature holds, those too (and the cache learns the issuer ones).
    #[cfg(feature = "batch")]
    fn batch_verified(&self, codes: &[&[SignatureJob<'_>]]) -> Vec<Vec<bool>> {
        use crate::keys::Ed25519Check;
        let mut known: Vec<Vec<bool>> = Vec::with_capacity(codes.len());
        let mut pending: Vec<(usize, usize, Option<Fingerprint>)> = Vec::new();
        let mut checks: Vec<Ed25519Check> = Vec::new();
        for (i, jobs) in codes.iter().enumerate() {
            let mut row = Vec::with_capacity(jobs.len());
            for (j, job) in jobs.iter().enumerate() {
                let fp = self.cache_key(job);
                let cached = fp.is_some_and(|fp| self.cache.contains(&fp));
                row.push(cached);
                if cached || job.key.algorithm() != crate::Algorithm::Ed25519 {
                    continue;
                }
                // An undecodable signature stays unknown: checked alone, it fails.
                if let Some(check) = job.key.ed25519_check(job.message, job.signature) {
                    pending.push((i, j, fp));
                    checks.push(check);
                }
            }
            known.push(row);
        }
        if checks.len() > 1 && Ed25519Check::verify_batch(&checks) {
            for (i, j, fp) in pending {
                if let Some(ok) = known.get_mut(i).and_then(|row| row.get_mut(j)) {
                    *ok = true;
                }
                if let Some(fp) = fp {
                    self.cache.insert(fp);
                }
            }
        }
        known
    }

    /// Steps 2 to 5 of SPEC.md §9: lists, the code's window, issuer keys, scope, card
    /// validity, revocation. Returns the trust list the signatures are checked against.
    fn check_before_signatures(&self, code: &UnverifiedCode, now: u64) -> Result<&TrustList, Rejection> {
        let reject = |reason: Reason, detail: String| Err(Rejection::new(reason, detail));
        let skew = self.skew;
        let trust = self.check_lists(now)?;
        #[cfg(feature = "sm2")]
        self.refuse_non_gm(Some(code.device_key()), code.cards())?;

        // The code's own window.
        if code.validity_secs() > self.max_validity {
            return reject(
                Reason::CodeValidityTooLong,
                format!("{} s asked, {} s allowed", code.validity_secs(), self.max_validity),
            );
        }
        let issued_at = u64::from(code.issued_at());
        if issued_at > now.saturating_add(skew) {
            return reject(Reason::CodeNotYetValid, format!("built at {issued_at}, now {now}"));
        }
        let code_end = self.code_end(code);
        if now >= code_end {
            return reject(Reason::CodeExpired, format!("expired at {}", code_end - skew));
        }

        self.check_cards(trust, code.cards(), now)?;

        let device = Revoked::DeviceKey(code.device_key().key_id());
        self.check_revocation(Some(device), &code.subject(), "subject revoked", code.cards().len(), &|i| {
            code.card_id(i)
        })?;
        Ok(trust)
    }

    /// For a GM-only verifier (SPEC.md §4.6, §9 step 2): refuses a device key that is
    /// not SM2 and an identity commitment whose digest is not SM3
    /// (`unsupported_algorithm`). Issuer keys were checked when the trust list loaded.
    #[cfg(feature = "sm2")]
    fn refuse_non_gm(&self, device: Option<&PublicKey>, cards: &[crate::credential::Card]) -> Result<(), Rejection> {
        if !self.gm_only {
            return Ok(());
        }
        if let Some(alg) = device.map(PublicKey::algorithm).filter(|a| *a != Algorithm::Sm2Sm3) {
            return Err(Rejection::new(
                Reason::UnsupportedAlgorithm,
                format!("device key is {alg}; this verifier accepts SM2 only"),
            ));
        }
        let sha = cards.iter().position(|c| c.claims.identity.as_ref().is_some_and(|i| i.digest != IdDigest::Sm3));
        if let Some(i) = sha {
            return Err(Rejection::new(
                Reason::UnsupportedAlgorithm,
                format!("card {i}'s identity commitment is SHA-256; this verifier accepts SM3 only"),
            ));
        }
        Ok(())
    }

    /// Revocation (SPEC.md §9 step 5), list by list in load order: the device key (a
    /// printed code has none), the subject (`subject_detail` says what that means here),
    /// then each of `cards` cards by its id (`card_id`).
    fn check_revocation(
        &self,
        device: Option<Revoked>,
        subject: &Subject,
        subject_detail: &'static str,
        cards: usize,
        card_id: &dyn Fn(usize) -> [u8; 16],
    ) -> Result<(), Rejection> {
        let subject = Revoked::Subject(subject.0);
        for (list, _) in &self.revocations {
            if device.as_ref().is_some_and(|d| list.contains(d)) {
                return Err(Rejection::new(Reason::Revoked, "device key revoked"));
            }
            if list.contains(&subject) {
                return Err(Rejection::new(Reason::Revoked, subject_detail));
            }
            for i in 0..cards {
                if list.contains(&Revoked::Card(card_id(i))) {
                    return Err(Rejection::new(Reason::Revoked, format!("card {i} revoked")));
                }
            }
        }
        Ok(())
    }

    /// Issuer keys, scope and card validity of every card (SPEC.md §9 step 4).
    fn check_cards(&self, trust: &TrustList, cards: &[crate::credential::Card], now: u64) -> Result<(), Rejection> {
        let reject = |reason: Reason, detail: String| Err(Rejection::new(reason, detail));
        let skew = self.skew;
        for card in cards {
            let Some(key) = trust.key(card.kid) else {
                return reject(Reason::UnknownIssuerKey, format!("key id {}", card.kid));
            };
            if key.key.algorithm() != card.alg {
                return reject(Reason::AlgorithmMismatch, format!("key id {} is {}", card.kid, key.key.algorithm()));
            }
            if now < u64::from(key.not_before) || now >= u64::from(key.not_after) {
                return reject(Reason::IssuerKeyNotValid, format!("key id {}", card.kid));
            }
            if let Some(d) = card.claims.domain_ids().into_iter().find(|d| !key.domains.contains(d)) {
                return reject(Reason::OutOfScope, format!("key id {} may not attest domain {d}", card.kid));
            }
            if now.saturating_add(skew) < card.not_before() {
                return reject(Reason::CredentialNotYetValid, format!("valid from day {}", card.valid_from_day));
            }
            if now >= card.not_after() + skew {
                return reject(Reason::CredentialExpired, format!("expired at {}", card.not_after()));
            }
        }
        Ok(())
    }

    /// Step 2 of SPEC.md §9: the held lists. Returns the trust list.
    fn check_lists(&self, now: u64) -> Result<&TrustList, Rejection> {
        let reject = |reason: Reason, detail: String| Err(Rejection::new(reason, detail));
        let Some((trust, _)) = &self.trust else {
            return reject(Reason::NoTrustList, "load a trust list first".into());
        };
        if now >= u64::from(trust.expires_at) {
            return reject(
                Reason::TrustListExpired,
                format!("trust list {} expired at {}", trust.sequence, trust.expires_at),
            );
        }
        // The root-signed list is the one every revocation reaches: issuer lists alone
        // (an issuer that may attest tourism only) do not make revocation checked.
        if self.revocation_required && !self.holds_root_revocation_list() {
            let detail = if self.revocations.is_empty() {
                "load a revocation list first"
            } else {
                "the root-signed revocation list is required; only issuer-signed lists are held"
            };
            return reject(Reason::NoRevocationList, detail.into());
        }
        // A revocation list applied before a restart (its floor restored) is required
        // again, whatever the configuration: the verifier knows revocations it no longer
        // holds.
        if let Some(missing) =
            self.floors.revocation_lists().iter().find(|f| !self.revocations.iter().any(|(l, _)| l.signer == f.signer))
        {
            return reject(
                Reason::NoRevocationList,
                format!(
                    "{:?} revocation list at sequence {} was applied before; load it or a newer one",
                    missing.signer, missing.sequence
                ),
            );
        }
        if let Some((list, _)) = self.revocations.iter().find(|(l, _)| now >= u64::from(l.expires_at)) {
            return reject(
                Reason::RevocationListExpired,
                format!("{:?} list {} expired at {}", list.signer, list.sequence, list.expires_at),
            );
        }
        Ok(trust)
    }

    /// Whether the root-signed revocation list is held (SPEC.md §9 step 2).
    fn holds_root_revocation_list(&self) -> bool {
        self.revocations.iter().any(|(l, _)| l.signer == ListSigner::Root)
    }

    /// Unix second from which the code is expired (skew included).
    fn code_end(&self, code: &UnverifiedCode) -> u64 {
        u64::from(code.issued_at()) + u64::from(code.validity_secs()) + self.skew
    }

    /// The cache fingerprint of a job the credential cache may answer: an issuer
    /// signature, when the cache is on.
    fn cache_key(&self, job: &SignatureJob<'_>) -> Option<Fingerprint> {
        (job.cacheable && self.cache.enabled()).then(|| job.fingerprint())
    }

    /// One signature check, through the credential cache for issuer signatures, and
    /// through the host's answers for P-256 (`host`: the exact checks it verified).
    ///
    /// A host's confirmation counts for this call only: it never enters the cache, which
    /// remembers only what `PublicKey::verify` itself accepted, so a host that lied once
    /// cannot make a later code verified by the library alone pass.
    fn check_signature(&self, job: &SignatureJob<'_>, host: &[P256Check]) -> bool {
        let host_confirmed =
            || !host.is_empty() && job.key.p256_check(job.message, job.signature).is_some_and(|c| host.contains(&c));
        let Some(fingerprint) = self.cache_key(job) else {
            return host_confirmed() || job.key.verify(job.message, job.signature);
        };
        if self.cache.contains(&fingerprint) || host_confirmed() {
            return true;
        }
        let ok = job.key.verify(job.message, job.signature);
        if ok {
            self.cache.insert(fingerprint);
        }
        ok
    }

    /// Steps 7 and 8 of SPEC.md §9, after every signature verified: policy, replay.
    fn finish(&self, code: &UnverifiedCode, now: u64) -> Result<Accepted, Rejection> {
        let claims = self.check_policy(code, now)?;
        // Replay, last: only codes that would be accepted take a slot.
        self.replay
            .check_and_insert(&code.replay_id(), self.code_end(code), now)
            .map_err(|e: ReplayError| Rejection::new(e.reason(), e.to_string()))?;
        Ok(self.accepted(code, claims))
    }

    /// Step 7 of SPEC.md §9: the scene's policy on the code's claims.
    fn check_policy(&self, code: &UnverifiedCode, now: u64) -> Result<Claims, Rejection> {
        let claims = code.untrusted_claims();
        match self.policy.check(&claims, &PolicyContext { now, utc_offset_minutes: self.utc_offset_minutes }) {
            Ok(()) => Ok(claims),
            Err(why) => Err(Rejection::new(Reason::PolicyUnmet, why.to_string())),
        }
    }

    /// The verdict of a code that passed every step, replay included.
    fn accepted(&self, code: &UnverifiedCode, claims: Claims) -> Accepted {
        Accepted {
            claims,
            subject: code.subject(),
            issued_at: code.issued_at(),
            issuers: code.cards().iter().map(|c| c.kid).collect(),
            policy: self.policy.name(),
            revocation_checked: self.holds_root_revocation_list(),
            printed: false,
            replay_checked: self.replay.remembers(),
        }
    }

    /// Verifies many codes at Unix time `now`. Results are identical, case by case, to
    /// calling [`Verifier::verify_at`] on each in order (replays within the batch
    /// included): every Ed25519 signature is checked with one batch equation, which is
    /// exact for the cofactored rule of SPEC.md §4.2, and if it fails each is checked
    /// alone; P-256 signatures are checked alone.
    #[cfg(feature = "batch")]
    pub fn verify_batch_at(&self, texts: &[&str], now: u64) -> Vec<Result<Accepted, Rejection>> {
        let parsed: Vec<Result<Scanned, Rejection>> = texts.iter().map(|t| Scanned::from_text(t)).collect();
        // Steps 1 to 5 for every code; collect the signature checks of those that pass.
        // A printed code takes no replay slot and has no device signature: verified
        // apart, below, with the same result as one by one.
        let mut stage: Vec<Result<Vec<SignatureJob<'_>>, Rejection>> = Vec::with_capacity(parsed.len());
        for p in &parsed {
            stage.push(match p {
                Ok(Scanned::Device(code)) => {
                    self.check_before_signatures(code, now).map(|trust| signature_jobs(trust, code))
                }
                Ok(Scanned::Printed(_)) => Ok(Vec::new()),
                Err(r) => Err(r.clone()),
            });
        }
        let job_lists: Vec<&[SignatureJob<'_>]> =
            stage.iter().map(|s| s.as_ref().map_or(&[][..], Vec::as_slice)).collect();
        let bad = self.first_bad_signatures(&job_lists, &[]);
        // Finish in input order: policy and replay, so replays within the batch count.
        let finished = parsed
            .iter()
            .zip(&stage)
            .zip(bad)
            .map(|((p, s), bad)| match (p, s, bad) {
                (Err(r), _, _) | (_, Err(r), _) => Finished::Done(Err(r.clone())),
                (Ok(Scanned::Printed(code)), Ok(_), _) => Finished::Done(self.printed_verdict(code, now)),
                (Ok(Scanned::Device(_)), Ok(_), Some(job)) => Finished::Done(Err(job.failure())),
                (Ok(Scanned::Device(code)), Ok(_), None) => match self.check_policy(code, now) {
                    Ok(claims) => Finished::Replay(code, claims),
                    Err(r) => Finished::Done(Err(r)),
                },
            })
            .collect::<Vec<_>>();
        // Replay, last, for every code that passed the rest: one call to the store (one
        // round trip for a shared store), whose results equal one insert after another
        // in input order, so a code twice in the batch is replayed the second time.
        let entries: Vec<([u8; 16], u64)> = finished
            .iter()
            .filter_map(|f| match f {
                Finished::Replay(code, _) => Some((code.replay_id(), self.code_end(code))),
                Finished::Done(_) => None,
            })
            .collect();
        let mut replay = self.replay.check_and_insert_batch(&entries, now).into_iter();
        finished
            .into_iter()
            .map(|f| match f {
                Finished::Done(result) => result,
                Finished::Replay(code, claims) => match replay.next() {
                    Some(Ok(())) => Ok(self.accepted(code, claims)),
                    Some(Err(e)) => Err(Rejection::new(e.reason(), e.to_string())),
                    // A store that answered fewer results than entries: refused.
                    None => Err(Rejection::new(Reason::ReplayStoreUnavailable, "the store answered too few results")),
                },
            })
            .collect()
    }
}

/// Where a code of a batch stands before the replay step.
#[cfg(feature = "batch")]
enum Finished<'a> {
    /// Its verdict is known.
    Done(Result<Accepted, Rejection>),
    /// It passed every step but replay.
    Replay(&'a UnverifiedCode, Claims),
}

/// One signature a code needs checked, in SPEC.md order: each card's issuer signature,
/// then the device signature.
struct SignatureJob<'a> {
    key: &'a PublicKey,
    message: &'a [u8],
    signature: &'a [u8],
    /// Issuer signatures repeat for a holder's every code, so verified ones are cached.
    cacheable: bool,
    /// Card index, or `None` for the device signature.
    card: Option<(usize, u32)>,
}

impl SignatureJob<'_> {
    fn failure(&self) -> Rejection {
        match self.card {
            Some((i, kid)) => Rejection::new(Reason::BadIssuerSignature, format!("card {i}, key id {kid}")),
            None => Rejection::new(Reason::BadDeviceSignature, "device signature does not verify"),
        }
    }

    /// Identifies (key, message, signature): the key's digest (SPEC.md §4.6) over the
    /// three, length-prefixed.
    fn fingerprint(&self) -> [u8; 16] {
        let key = self.key.to_bytes();
        let mut input = Vec::with_capacity(8 + key.len() + self.message.len() + self.signature.len());
        for part in [key.as_slice(), self.message, self.signature] {
            input.extend_from_slice(&(part.len() as u32).to_be_bytes());
            input.extend_from_slice(part);
        }
        crate::alg::digest_16(self.key.algorithm(), &input)
    }
}

fn signature_jobs<'a>(trust: &'a TrustList, code: &'a UnverifiedCode) -> Vec<SignatureJob<'a>> {
    let mut jobs = Vec::with_capacity(code.cards().len() + 1);
    for (i, card) in code.cards().iter().enumerate() {
        // check_before_signatures already refused unknown key ids.
        if let Some(k) = trust.key(card.kid) {
            jobs.push(SignatureJob {
                key: &k.key,
                message: code.card_input(i),
                signature: &card.signature,
                cacheable: true,
                card: Some((i, card.kid)),
            });
        }
    }
    jobs.push(SignatureJob {
        key: code.device_key(),
        message: code.code_input(),
        signature: code.device_signature(),
        cacheable: false,
        card: None,
    });
    jobs
}

/// A 16-byte digest identifying one (key, message, signature).
type Fingerprint = [u8; 16];

/// Default number of verified issuer signatures a verifier remembers.
pub const DEFAULT_CREDENTIAL_CACHE: usize = 4096;

/// A bounded set of issuer signatures already verified under the held trust list, so a
/// returning holder costs one signature check (the device's) instead of two. Only
/// successes are remembered, keyed by (key, message, signature); it is emptied when the
/// trust list changes. Oldest entries leave first. Without the `cache` feature it
/// remembers nothing (and takes no code space).
#[derive(Debug)]
struct CredentialCache {
    #[cfg(feature = "cache")]
    capacity: usize,
    /// The remembered fingerprints, and their insertion order for eviction.
    #[cfg(feature = "cache")]
    inner: Mutex<(HashSet<Fingerprint>, VecDeque<Fingerprint>)>,
}

#[cfg(feature = "cache")]
impl CredentialCache {
    fn new(capacity: usize) -> Self {
        CredentialCache { capacity, inner: Mutex::new((HashSet::new(), VecDeque::new())) }
    }

    /// Whether it remembers anything (capacity above zero).
    fn enabled(&self) -> bool {
        self.capacity > 0
    }

    fn contains(&self, fp: &Fingerprint) -> bool {
        self.enabled() && self.inner.lock().is_ok_and(|g| g.0.contains(fp))
    }

    fn insert(&self, fp: Fingerprint) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        let (set, order) = &mut *g;
        if set.insert(fp) {
            order.push_back(fp);
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    set.remove(&old);
                }
            }
        }
    }

    fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.clear();
            g.1.clear();
        }
    }
}

#[cfg(not(feature = "cache"))]
impl CredentialCache {
    fn new(_capacity: usize) -> Self {
        CredentialCache {}
    }
    fn enabled(&self) -> bool {
        false
    }
    fn contains(&self, _fp: &Fingerprint) -> bool {
        false
    }
    fn insert(&self, _fp: Fingerprint) {}
    fn clear(&self) {}
}
