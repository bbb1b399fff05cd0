//! List state: what a verifier remembers of the lists it applied, so that a restart
//! against a stale mirror cannot take it back to older lists (SPEC.md §8.3).
//!
//! For the last list status applied, the trust list and each revocation list (by
//! signer), a [`ListState`] holds the highest sequence applied and the digest of the
//! bytes applied at that sequence (H of the root key's algorithm, SPEC.md §4.6: SM3
//! under an SM2 root, so a GM-only city computes no SHA-256 for it). A verifier refuses a
//! list below that floor, or at the floor with other bytes, with the rollback reasons it
//! gives for a list it holds.
//!
//! A long-lived verifier gets a [`ListStateStore`]
//! ([`crate::Verifier::with_list_state_store`]): the verifier restores the floor from it
//! at once and saves the state itself after every load that changes it, before the
//! load takes effect. When saving fails the load does not take effect
//! (`list_state_unavailable`): a verifier never applies a list it could forget on
//! restart. [`FileListStateStore`] keeps the state in a file, replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Reason, Rejection};
use crate::trust::ListSigner;

/// Version of the JSON form of [`ListState`].
pub(crate) const LIST_STATE_VERSION: u8 = 1;

/// The highest sequence of one list a verifier applied, and the digest of the bytes it
/// applied at that sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedList {
    /// The list's sequence.
    pub sequence: u64,
    /// H(bytes) of the list applied at `sequence`, H the root key's digest (SPEC.md
    /// §4.6); lowercase hex in JSON.
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
}

/// [`AppliedList`] for the revocation list of one signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedRevocationList {
    /// Who signs the list: `"root"` or `{"issuer": kid}` in JSON.
    pub signer: ListSigner,
    /// The list's sequence.
    pub sequence: u64,
    /// H(bytes) of the list applied at `sequence`, lowercase hex in JSON.
    #[serde(with = "hex_digest")]
    pub digest: [u8; 32],
}

impl AppliedRevocationList {
    fn applied(&self) -> AppliedList {
        AppliedList { sequence: self.sequence, digest: self.digest }
    }
}

/// What a verifier applied: for the list status, the trust list and each revocation
/// list, the highest sequence and the digest of its bytes. Made by
/// [`crate::Verifier::list_state`], kept by a [`ListStateStore`], and given back to a
/// restarted verifier ([`crate::Verifier::restore_list_state`]), which then refuses
/// anything older. Restoring a state only ever raises a verifier's floors, so no state,
/// however made, lets a verifier accept a list it would refuse without it.
///
/// ```json
/// {"version": 1, "root_key_id": "…",
///  "status": {"sequence": 7, "digest": "…"},
///  "trust_list": {"sequence": 3, "digest": "…"},
///  "revocation_lists": [{"signer": "root", "sequence": 12, "digest": "…"},
///                       {"signer": {"issuer": 5}, "sequence": 2, "digest": "…"}]}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListState {
    version: u8,
    /// The root key's id (SPEC.md §8.2, of the root key), hex: a state is restored only
    /// into a verifier with that root.
    #[serde(with = "hex_key_id")]
    root_key_id: [u8; 16],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<AppliedList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trust_list: Option<AppliedList>,
    /// By signer, strictly increasing (root first, then issuers by key id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    revocation_lists: Vec<AppliedRevocationList>,
}

/// Which list of a [`ListState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Status,
    Trust,
    Revocation(ListSigner),
}

impl Slot {
    /// The reason a list in this slot is refused for being older than the floor.
    pub(crate) fn rollback(self) -> Reason {
        match self {
            Slot::Status => Reason::ListStatusRollback,
            Slot::Trust => Reason::TrustListRollback,
            Slot::Revocation(_) => Reason::RevocationListRollback,
        }
    }

    fn describe(self) -> String {
        match self {
            Slot::Status => "list status".into(),
            Slot::Trust => "trust list".into(),
            Slot::Revocation(ListSigner::Root) => "root revocation list".into(),
            Slot::Revocation(ListSigner::Issuer(kid)) => format!("revocation list of issuer key {kid}"),
        }
    }
}

impl ListState {
    /// The empty state of a verifier with the root whose key id is `root_key_id`.
    pub(crate) fn new(root_key_id: [u8; 16]) -> Self {
        ListState {
            version: LIST_STATE_VERSION,
            root_key_id,
            status: None,
            trust_list: None,
            revocation_lists: Vec::new(),
        }
    }

    /// The root key id this state belongs to.
    pub fn root_key_id(&self) -> [u8; 16] {
        self.root_key_id
    }

    /// The last list status applied in full.
    pub fn status(&self) -> Option<AppliedList> {
        self.status
    }

    /// The trust list applied.
    pub fn trust_list(&self) -> Option<AppliedList> {
        self.trust_list
    }

    /// The revocation list of `signer` applied.
    pub fn revocation_list(&self, signer: ListSigner) -> Option<AppliedList> {
        self.revocation_lists.iter().find(|r| r.signer == signer).map(AppliedRevocationList::applied)
    }

    /// Every revocation list applied, by signer (root first, then issuers by key id).
    pub fn revocation_lists(&self) -> &[AppliedRevocationList] {
        &self.revocation_lists
    }

    pub(crate) fn get(&self, slot: Slot) -> Option<AppliedList> {
        match slot {
            Slot::Status => self.status,
            Slot::Trust => self.trust_list,
            Slot::Revocation(signer) => self.revocation_list(signer),
        }
    }

    pub(crate) fn set(&mut self, slot: Slot, applied: AppliedList) {
        match slot {
            Slot::Status => self.status = Some(applied),
            Slot::Trust => self.trust_list = Some(applied),
            Slot::Revocation(signer) => {
                let entry = AppliedRevocationList { signer, sequence: applied.sequence, digest: applied.digest };
                match self.revocation_lists.binary_search_by_key(&signer, |r| r.signer) {
                    Ok(i) => {
                        if let Some(r) = self.revocation_lists.get_mut(i) {
                            *r = entry;
                        }
                    }
                    Err(i) => self.revocation_lists.insert(i, entry),
                }
            }
        }
    }

    /// Forgets the revocation lists of the signers `keep` refuses (their issuer key left
    /// the trust list).
    pub(crate) fn retain_revocations(&mut self, mut keep: impl FnMut(ListSigner) -> bool) {
        self.revocation_lists.retain(|r| keep(r.signer));
    }

    /// Refuses a list in `slot` older than the floor, or at the floor with other bytes
    /// (`digest`): the rollback reason of its kind.
    pub(crate) fn refuse_rollback(&self, slot: Slot, sequence: u64, digest: &[u8; 32]) -> Result<(), Rejection> {
        match self.get(slot) {
            Some(floor) if sequence < floor.sequence || (sequence == floor.sequence && *digest != floor.digest) => {
                Err(Rejection::new(
                    slot.rollback(),
                    format!("{}: offered sequence {sequence}, applied {}", slot.describe(), floor.sequence),
                ))
            }
            _ => Ok(()),
        }
    }

    /// This state with `other`'s floors where they are higher: what a verifier holds
    /// after restoring `other`. A list at the same sequence with another digest in each
    /// is a conflict (the rollback reason of its kind); so is another root.
    pub(crate) fn merged(&self, other: &ListState) -> Result<ListState, Rejection> {
        if other.root_key_id != self.root_key_id {
            return Err(Rejection::new(
                Reason::ListStateUnavailable,
                format!(
                    "the list state belongs to root key {}, this verifier trusts root key {}",
                    crate::text::hex(&other.root_key_id),
                    crate::text::hex(&self.root_key_id)
                ),
            ));
        }
        let mut out = self.clone();
        let mut slots = vec![Slot::Status, Slot::Trust];
        slots.extend(other.revocation_lists.iter().map(|r| Slot::Revocation(r.signer)));
        for slot in slots {
            let Some(theirs) = other.get(slot) else { continue };
            self.refuse_rollback(slot, theirs.sequence, &theirs.digest).or_else(|e| {
                // Only a conflict at one sequence is an error; a lower floor is ignored.
                if self.get(slot).is_some_and(|ours| ours.sequence > theirs.sequence) { Ok(()) } else { Err(e) }
            })?;
            if out.get(slot).is_none_or(|ours| theirs.sequence > ours.sequence) {
                out.set(slot, theirs);
            }
        }
        Ok(out)
    }

    /// The JSON form (one line).
    pub fn to_json(&self) -> String {
        // Serialising plain integers, strings and arrays cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses [`ListState::to_json`]: refuses unknown fields, another version, digests
    /// that are not 64 hex digits, and revocation lists not strictly increasing by
    /// signer (`list_state_unavailable`).
    pub fn from_json(json: &str) -> Result<ListState, Rejection> {
        let bad = |why: String| Rejection::new(Reason::ListStateUnavailable, format!("list state: {why}"));
        let state: ListState = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if state.version != LIST_STATE_VERSION {
            return Err(bad(format!("version {} (this verifier reads {LIST_STATE_VERSION})", state.version)));
        }
        if state.revocation_lists.windows(2).any(|p| matches!(p, [a, b] if a.signer >= b.signer)) {
            return Err(bad("revocation lists not strictly increasing by signer".into()));
        }
        Ok(state)
    }
}

/// Where a verifier keeps its [`ListState`] across restarts: a file
/// ([`FileListStateStore`]), a database row, an app's storage through the bindings.
///
/// The verifier calls [`ListStateStore::save`] itself after every load that changes its
/// state, before the load takes effect; if `save` fails, the load fails
/// (`list_state_unavailable`) and the verifier keeps what it held. So an adapter cannot
/// forget to persist, and never applies a list it could lose on restart.
pub trait ListStateStore: Send + Sync {
    /// The saved state, or `None` if nothing was ever saved. An error (unreadable,
    /// corrupt) keeps the verifier from starting: it could not know its floor.
    fn load(&self) -> Result<Option<ListState>, String>;
    /// Saves `state`, durably, replacing the saved one; returns only when a restart
    /// would load it.
    fn save(&self, state: &ListState) -> Result<(), String>;
}

/// A [`ListStateStore`] in one JSON file. `save` writes a temporary file beside it,
/// flushes it to disk, renames it over the file and flushes the directory, so a crash
/// leaves the old state or the new one, whole. One verifier process per file.
#[derive(Clone, Debug)]
pub struct FileListStateStore {
    path: PathBuf,
}

impl FileListStateStore {
    /// A store in `path` (created on the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileListStateStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!(".tmp-{}", std::process::id()));
        self.path.with_file_name(name)
    }
}

impl ListStateStore for FileListStateStore {
    fn load(&self) -> Result<Option<ListState>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => ListState::from_json(&text).map(Some).map_err(|e| format!("{}: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }

    fn save(&self, state: &ListState) -> Result<(), String> {
        let temp = self.temp_path();
        let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", temp.display());
        let write = || -> Result<(), String> {
            let mut file = std::fs::File::create(&temp).map_err(|e| fail("create", e))?;
            file.write_all(state.to_json().as_bytes()).map_err(|e| fail("write", e))?;
            file.write_all(b"\n").map_err(|e| fail("write", e))?;
            file.sync_all().map_err(|e| fail("sync", e))?;
            std::fs::rename(&temp, &self.path).map_err(|e| fail("rename", e))
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        // The rename is durable once the directory is on disk (POSIX; elsewhere a
        // directory cannot be opened and the rename is as durable as the platform makes it).
        #[cfg(unix)]
        {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("sync {}: {e}", dir.display()))?;
        }
        Ok(())
    }
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::hex(d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = crate::text::unhex(&text).map_err(|_| D::Error::custom("a digest is hex"))?;
        bytes.try_into().map_err(|_| D::Error::custom("a digest is 32 bytes"))
    }
}

mod hex_key_id {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::hex(d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = crate::text::unhex(&text).map_err(|_| D::Error::custom("a key id is hex"))?;
        bytes.try_into().map_err(|_| D::Error::custom("a key id is 16 bytes"))
    }
}
