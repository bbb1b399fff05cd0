//! Lists: updating a verifier's lists, signing and publishing them.

use std::sync::Arc;

use crate::errors::{CitycodeError, Result};
use crate::keys::{KeyAlgorithm, SigningKey, public_key};
use crate::verifier::Verifier;

#[uniffi::export]
impl Verifier {
    /// Fetches a published list directory (SPEC.md §8.4) through `fetcher` and loads
    /// every list newer than the held one: the status first (root signature checked,
    /// an older status refused as a stale mirror), then each newer list, checked
    /// against the status's digest and loaded with its own signature and rollback
    /// checks. Call it on a schedule; on error the verifier keeps the lists it holds
    /// until they expire. Returns the names of the files loaded.
    pub fn update_lists(&self, fetcher: Arc<dyn ListFetcher>) -> Result<Vec<String>> {
        let status = fetcher.fetch(citycode::distribution::STATUS_FILE.into())?;
        let plan = self.read().plan_update(status)?;
        let mut files = Vec::new();
        for name in plan.to_fetch() {
            files.push(fetcher.fetch(name)?);
        }
        Ok(self.write()?.apply_update(plan, files)?.loaded)
    }

    /// Keeps this verifier's list state in `store` (SPEC.md §8.3): restores what the
    /// store saved (from now on anything older is refused, and every revocation list it
    /// names must load again before a code is accepted), saves the result at once, and
    /// from then on saves after every load that changes it, before the load takes
    /// effect. Attach it before loading lists, once per verifier object. Fails with
    /// `list_state_unavailable` if the store cannot be read or written or holds a state
    /// of another root key; nothing changes then.
    pub fn set_list_state_store(&self, store: Arc<dyn ListStateStore>) -> Result<()> {
        Ok(self.write()?.set_list_state_store(Arc::new(ForeignListStateStore(store)))?)
    }

    /// The list state as JSON: what a [`ListStateStore`] is given to save.
    pub fn list_state(&self) -> String {
        self.read().list_state().to_json()
    }

    /// The lists held (core's `HeldList`): what a terminal shows its operator and
    /// reports to monitoring.
    pub fn held_lists(&self) -> Result<Vec<HeldList>> {
        Ok(self.read().held_lists().into_iter().map(HeldList::from).collect())
    }
}

/// Where an app keeps a verifier's list state across restarts (SPEC.md §8.3): the
/// sequence and digest of every list and list status the verifier applied, as a JSON
/// string. Implement it over the app's storage (a file, SharedPreferences, UserDefaults,
/// a database row) and attach it with [`Verifier::set_list_state_store`]. The verifier
/// calls it itself: `load` once when attached, `save` after every load that changes its
/// state, before that load takes effect. So a verifier restarted against a stale mirror
/// that serves an older, unexpired publication refuses it (`list_status_rollback`, and
/// the rollback reasons of each list) and the phone it no longer revokes.
#[uniffi::export(with_foreign)]
pub trait ListStateStore: Send + Sync {
    /// The JSON last saved, or null if nothing was ever saved. Any error (unreadable,
    /// not a list state, another root's) keeps the store from being attached.
    fn load(&self) -> std::result::Result<Option<String>, CitycodeError>;
    /// Saves `state` (JSON), durably, replacing what was saved: return only when a
    /// restart would load it. An error fails the load that would change the state
    /// (`list_state_unavailable`), and the verifier keeps the lists it held.
    fn save(&self, state: String) -> std::result::Result<(), CitycodeError>;
}

/// Adapts an app's store to core's: JSON in and out, core parses and checks it.
struct ForeignListStateStore(Arc<dyn ListStateStore>);

impl citycode::ListStateStore for ForeignListStateStore {
    fn load(&self) -> std::result::Result<Option<citycode::ListState>, String> {
        match self.0.load().map_err(|e| e.to_string())? {
            Some(json) => citycode::ListState::from_json(&json).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    fn save(&self, state: &citycode::ListState) -> std::result::Result<(), String> {
        self.0.save(state.to_json()).map_err(|e| e.to_string())
    }
}

/// Fetches files of a published list directory: `status.bin`, `trust-list.bin`,
/// `revocation-root.bin`, `revocation-issuer-<kid>.bin`. Implement it over your HTTP
/// client (OkHttp, URLSession, requests).
#[uniffi::export(with_foreign)]
pub trait ListFetcher: Send + Sync {
    /// The bytes of the file `name`, or an error (any code; the update fails with it).
    fn fetch(&self, name: String) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// A list a verifier holds: core's `HeldList`, field for field.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HeldList {
    /// Its file name: `trust-list.bin`, `revocation-root.bin` or `revocation-issuer-<kid>.bin`.
    pub name: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Unix second it was issued.
    pub issued_at: u32,
    /// Unix second from which every code is refused unless a newer list arrives.
    pub expires_at: u32,
}

impl From<citycode::HeldList> for HeldList {
    fn from(held: citycode::HeldList) -> Self {
        let citycode::HeldList { name, sequence, issued_at, expires_at } = held;
        HeldList { name, sequence, issued_at, expires_at }
    }
}

/// An issuer key entry of a trust list.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrustedIssuer {
    /// Key id.
    pub kid: u32,
    /// Algorithm.
    pub algorithm: KeyAlgorithm,
    /// Public key.
    pub public_key: Vec<u8>,
    /// Unix second the key becomes valid.
    pub not_before: u32,
    /// Unix second the key stops being valid.
    pub not_after: u32,
    /// Domain ids it may attest.
    pub domains: Vec<u32>,
}

/// Signs a trust list with the root key.
#[uniffi::export]
pub fn sign_trust_list(
    root: Arc<SigningKey>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    issuers: Vec<TrustedIssuer>,
) -> Result<Vec<u8>> {
    let mut keys = Vec::with_capacity(issuers.len());
    for i in issuers {
        keys.push(citycode::IssuerKey {
            kid: i.kid,
            key: public_key(i.algorithm, &i.public_key)?,
            not_before: i.not_before,
            not_after: i.not_after,
            domains: i.domains,
        });
    }
    Ok(citycode::TrustList::new(sequence, issued_at, expires_at, keys)?.sign(&root.inner)?)
}

/// What a revocation list names.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum Revocation {
    /// A card, by its 16-byte id.
    Card {
        /// Card id.
        id: Vec<u8>,
    },
    /// A subject (8 bytes).
    Subject {
        /// Subject id.
        id: Vec<u8>,
    },
    /// A device key, by its 16-byte key id.
    DeviceKey {
        /// Device key id.
        id: Vec<u8>,
    },
}

/// Signs a revocation list with the root key (`issuer_kid` = None) or an issuer key.
#[uniffi::export]
pub fn sign_revocation_list(
    key: Arc<SigningKey>,
    issuer_kid: Option<u32>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    entries: Vec<Revocation>,
) -> Result<Vec<u8>> {
    let fixed =
        |id: Vec<u8>| -> Result<[u8; 16]> { id.try_into().map_err(|_| CitycodeError::invalid("ids are 16 bytes")) };
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        list.push(match e {
            Revocation::Card { id } => citycode::Revoked::Card(fixed(id)?),
            Revocation::DeviceKey { id } => citycode::Revoked::DeviceKey(fixed(id)?),
            Revocation::Subject { id } => {
                citycode::Revoked::Subject(id.try_into().map_err(|_| CitycodeError::invalid("subjects are 8 bytes"))?)
            }
        });
    }
    let signer = issuer_kid.map_or(citycode::ListSigner::Root, citycode::ListSigner::Issuer);
    Ok(citycode::RevocationList::new(signer, sequence, issued_at, expires_at, list)?.sign(&key.inner)?)
}

/// One file of a published list directory.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PublishedFile {
    /// Its name in the directory.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Publishes signed lists for verifiers to fetch (SPEC.md §8.4): the lists under their
/// fixed names, `status.bin`, signed by `root`, naming each list's sequence, expiry
/// and digest, and `status.json`, the same index unsigned. Write every file to a directory a static web server serves, `status.bin`
/// last. Every list's signature is checked first.
#[uniffi::export]
pub fn publish_lists(
    root: Arc<SigningKey>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    trust_list: Vec<u8>,
    revocation_lists: Vec<Vec<u8>>,
) -> Result<Vec<PublishedFile>> {
    let refs: Vec<&[u8]> = revocation_lists.iter().map(Vec::as_slice).collect();
    let status = citycode::distribution::ListStatus::describe(
        sequence,
        issued_at,
        expires_at,
        &root.inner.public_key(),
        &trust_list,
        &refs,
    )?;
    let mut files = Vec::with_capacity(status.entries.len() + 1);
    for entry in &status.entries {
        let bytes = std::iter::once(&trust_list)
            .chain(&revocation_lists)
            .find(|b| entry.describes(root.inner.algorithm(), b))
            .ok_or_else(|| CitycodeError::invalid("a list vanished"))?;
        files.push(PublishedFile { name: entry.file.file_name(), bytes: bytes.clone() });
    }
    let index = status.index_json().into_bytes();
    files.push(PublishedFile { name: citycode::distribution::STATUS_INDEX_FILE.into(), bytes: index });
    files.push(PublishedFile { name: citycode::distribution::STATUS_FILE.into(), bytes: status.sign(&root.inner)? });
    Ok(files)
}
