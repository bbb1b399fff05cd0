//! List state across restarts (SPEC.md §8.3): a verifier restored from the state it
//! saved refuses every list and status older than what it applied, on every load path;
//! a load whose state cannot be saved does not take effect; a state never weakens a
//! verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use citycode::demo::{self, DemoCity};
use citycode::distribution::DirectorySource;
use citycode::list_state::{FileListStateStore, ListState, ListStateStore};
use citycode::trust::{ListSigner, RevocationList, Revoked};
use citycode::*;

/// The two published directories of test-vectors/lists: the demo device key is revoked
/// in the second.
fn publication(n: u8) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../test-vectors/lists/{n}"))
}

fn file(n: u8, name: &str) -> Vec<u8> {
    std::fs::read(publication(n).join(name)).unwrap()
}

fn code(city: &DemoCity, n: u8) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 7, 7, 7]) };
    present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
}

fn verifier(city: &DemoCity) -> Verifier {
    Verifier::new(city.root.public_key(), Scene::MetroGate).with_clock(FixedClock(demo::NOW))
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("citycode-list-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_restarted_verifier_refuses_the_stale_mirror_that_a_fresh_one_accepts() {
    let city = DemoCity::new().unwrap();
    let dir = TempDir::new("restart");
    let store = Arc::new(FileListStateStore::new(dir.0.join("state.json")));

    // Before the restart: publication 2 applied, the phone revoked, the state saved.
    let mut before = verifier(&city).with_list_state_store(store.clone()).unwrap();
    before.update_from(&mut DirectorySource(publication(2))).unwrap();
    assert_eq!(before.verify_at(&code(&city, 1), demo::NOW).unwrap_err().reason, Reason::Revoked);
    assert_eq!(store.load().unwrap(), Some(before.list_state()));
    drop(before);

    // The control: a verifier without the state takes the stale mirror (publication 1)
    // and accepts the revoked phone, by the status path and by loading the files.
    let mut fresh = verifier(&city);
    fresh.update_from(&mut DirectorySource(publication(1))).unwrap();
    assert!(fresh.verify_at(&code(&city, 2), demo::NOW).is_ok());
    let mut fresh = verifier(&city);
    fresh.load_trust_list(&file(1, "trust-list.bin")).unwrap();
    fresh.load_revocation_list(&file(1, "revocation-root.bin")).unwrap();
    assert!(fresh.verify_at(&code(&city, 3), demo::NOW).is_ok());

    // After the restart, restored from the store: the stale status is refused...
    let mut after = verifier(&city).with_list_state_store(store.clone()).unwrap();
    let err = after.update_from(&mut DirectorySource(publication(1))).unwrap_err();
    assert_eq!(err.reason, Reason::ListStatusRollback);
    // ...and so is its revocation list loaded as a file; the trust list (the same in
    // both publications) loads, and without the root list no code is accepted.
    after.load_trust_list(&file(1, "trust-list.bin")).unwrap();
    let err = after.load_revocation_list(&file(1, "revocation-root.bin")).unwrap_err();
    assert_eq!(err.reason, Reason::RevocationListRollback);
    assert_eq!(after.verify_at(&code(&city, 4), demo::NOW).unwrap_err().reason, Reason::NoRevocationList);
    // The current publication is taken, and the phone is revoked again.
    after.update_from(&mut DirectorySource(publication(2))).unwrap();
    assert_eq!(after.verify_at(&code(&city, 5), demo::NOW).unwrap_err().reason, Reason::Revoked);

    // The same holds with the state given by hand (an adapter with its own storage).
    let state = ListState::from_json(&after.list_state().to_json()).unwrap();
    let mut by_hand = verifier(&city);
    by_hand.restore_list_state(state).unwrap();
    let err = by_hand.update_from(&mut DirectorySource(publication(1))).unwrap_err();
    assert_eq!(err.reason, Reason::ListStatusRollback);
}

#[test]
fn a_list_at_the_floor_with_other_bytes_is_refused_after_a_restore() {
    let city = DemoCity::new().unwrap();
    let now = demo::NOW as u32;
    let list = |entries: Vec<Revoked>| {
        RevocationList { signer: ListSigner::Root, sequence: 5, issued_at: now, expires_at: now + 3600, entries }
            .sign(&city.root)
            .unwrap()
    };
    let revoking = list(vec![Revoked::DeviceKey(city.device.public_key().key_id())]);
    let mut before = verifier(&city);
    before.load_trust_list(&city.trust_list).unwrap();
    before.load_revocation_list(&revoking).unwrap();

    let mut after = verifier(&city);
    after.restore_list_state(before.list_state()).unwrap();
    after.load_trust_list(&city.trust_list).unwrap();
    // Sequence 5 again, without the entry: refused. The bytes applied: taken.
    let err = after.load_revocation_list(&list(vec![])).unwrap_err();
    assert_eq!(err.reason, Reason::RevocationListRollback);
    after.load_revocation_list(&revoking).unwrap();
    assert_eq!(after.verify_at(&code(&city, 1), demo::NOW).unwrap_err().reason, Reason::Revoked);

    // The trust list too: the same sequence with other content is refused.
    let mut other = citycode::trust::TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    other.expires_at -= 1;
    let err = after.load_trust_list(&other.sign(&city.root).unwrap()).unwrap_err();
    assert_eq!(err.reason, Reason::TrustListRollback);
}

/// A store that fails on demand and remembers what it saved.
#[derive(Default)]
struct FlakyStore {
    saved: Mutex<Option<ListState>>,
    fail_saves: Mutex<bool>,
}

impl ListStateStore for FlakyStore {
    fn load(&self) -> Result<Option<ListState>, String> {
        Ok(self.saved.lock().unwrap().clone())
    }
    fn save(&self, state: &ListState) -> Result<(), String> {
        if *self.fail_saves.lock().unwrap() {
            return Err("disk full".into());
        }
        *self.saved.lock().unwrap() = Some(state.clone());
        Ok(())
    }
}

#[test]
fn a_load_whose_state_cannot_be_saved_does_not_take_effect() {
    let city = DemoCity::new().unwrap();
    let store = Arc::new(FlakyStore::default());
    let mut v = verifier(&city).with_list_state_store(store.clone()).unwrap();
    v.update_from(&mut DirectorySource(publication(1))).unwrap();
    assert!(v.verify_at(&code(&city, 1), demo::NOW).is_ok());
    let state = v.list_state();
    assert_eq!(*store.saved.lock().unwrap(), Some(state.clone()));

    // The disk fails: publication 2 is not applied, by either path, and the verifier
    // goes on with what it held (and would hold again after a restart).
    *store.fail_saves.lock().unwrap() = true;
    let err = v.load_revocation_list(&file(2, "revocation-root.bin")).unwrap_err();
    assert_eq!(err.reason, Reason::ListStateUnavailable);
    let err = v.update_from(&mut DirectorySource(publication(2))).unwrap_err();
    assert_eq!(err.reason, Reason::ListStateUnavailable);
    assert_eq!(v.list_state(), state);
    assert_eq!(v.list_status().map(|s| s.0), Some(1));
    assert_eq!(v.revocation_lists().next().map(|l| l.sequence), Some(1));
    // Loading what is held again changes no state, so needs no save.
    v.load_trust_list(&file(1, "trust-list.bin")).unwrap();

    // The disk recovers: the same publication applies.
    *store.fail_saves.lock().unwrap() = false;
    v.update_from(&mut DirectorySource(publication(2))).unwrap();
    assert_eq!(v.verify_at(&code(&city, 2), demo::NOW).unwrap_err().reason, Reason::Revoked);
    assert_eq!(*store.saved.lock().unwrap(), Some(v.list_state()));

    // A store that cannot be written keeps a verifier from starting on it.
    *store.fail_saves.lock().unwrap() = true;
    let err = verifier(&city).with_list_state_store(store).unwrap_err();
    assert_eq!(err.reason, Reason::ListStateUnavailable);
}

#[test]
fn a_state_never_weakens_a_verifier() {
    let city = DemoCity::new().unwrap();
    let mut old = verifier(&city);
    old.update_from(&mut DirectorySource(publication(1))).unwrap();
    let mut v = verifier(&city);
    v.update_from(&mut DirectorySource(publication(2))).unwrap();
    let current = v.list_state();

    // An older state changes nothing.
    v.restore_list_state(old.list_state()).unwrap();
    assert_eq!(v.list_state(), current);
    assert_eq!(v.verify_at(&code(&city, 1), demo::NOW).unwrap_err().reason, Reason::Revoked);

    // A newer state drops the held lists older than it: publication 1's verifier, given
    // publication 2's state, holds no revocation list until it gets the current one.
    old.restore_list_state(current.clone()).unwrap();
    assert_eq!(old.list_state(), current);
    assert_eq!(old.revocation_lists().count(), 0);
    assert_eq!(old.list_status(), None);
    assert_eq!(old.verify_at(&code(&city, 2), demo::NOW).unwrap_err().reason, Reason::NoRevocationList);

    // Even a verifier told to run without revocation lists requires a list it applied.
    let mut open = verifier(&city).allow_missing_revocation_list();
    open.load_trust_list(&city.trust_list).unwrap();
    assert!(open.verify_at(&code(&city, 3), demo::NOW).is_ok());
    open.restore_list_state(current).unwrap();
    assert_eq!(open.verify_at(&code(&city, 4), demo::NOW).unwrap_err().reason, Reason::NoRevocationList);

    // A state of another root is refused and changes nothing.
    let other_root = KeyPair::generate(Algorithm::Ed25519).unwrap().public_key();
    let foreign = Verifier::new(other_root, Scene::MetroGate).list_state();
    let err = v.restore_list_state(foreign).unwrap_err();
    assert_eq!(err.reason, Reason::ListStateUnavailable);
    assert_eq!(v.list_state().status().map(|s| s.sequence), Some(2));
}

#[test]
fn a_state_in_conflict_with_what_was_applied_is_refused() {
    let city = DemoCity::new().unwrap();
    let mut v = verifier(&city);
    v.update_from(&mut DirectorySource(publication(1))).unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&v.list_state().to_json()).unwrap();
    state["status"]["digest"] = serde_json::Value::String("00".repeat(32));
    let err = v.restore_list_state(ListState::from_json(&state.to_string()).unwrap()).unwrap_err();
    assert_eq!(err.reason, Reason::ListStatusRollback);
}

#[test]
fn the_json_form_round_trips_and_refuses_what_it_does_not_know() {
    let city = DemoCity::new().unwrap();
    let mut v = verifier(&city);
    v.update_from(&mut DirectorySource(publication(2))).unwrap();
    let state = v.list_state();
    let json = state.to_json();
    assert_eq!(ListState::from_json(&json).unwrap(), state);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["status"]["sequence"], 2);
    assert_eq!(value["revocation_lists"][0]["signer"], "root");
    assert_eq!(value["root_key_id"], citycode::text::hex(&city.root.public_key().key_id()));
    // The digest is the root algorithm's H of the bytes applied.
    let applied = citycode::digest::digest(Algorithm::Ed25519, &file(2, "revocation-root.bin")).unwrap();
    assert_eq!(value["revocation_lists"][0]["digest"], citycode::text::hex(&applied));

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        ListState::from_json(&v.to_string()).map(|_| ()).unwrap_err().reason
    };
    assert_eq!(edit(&|v| v["version"] = 2.into()), Reason::ListStateUnavailable);
    assert_eq!(edit(&|v| v["extra"] = 1.into()), Reason::ListStateUnavailable);
    assert_eq!(edit(&|v| v["status"]["digest"] = "00".into()), Reason::ListStateUnavailable);
    let issuer = serde_json::json!({"signer": {"issuer": 1}, "sequence": 1, "digest": "00".repeat(32)});
    assert!(
        ListState::from_json(&{
            let mut v = value.clone();
            v["revocation_lists"].as_array_mut().unwrap().push(issuer.clone());
            v.to_string()
        })
        .is_ok()
    );
    assert_eq!(
        edit(&|v| v["revocation_lists"].as_array_mut().unwrap().insert(0, issuer.clone())),
        Reason::ListStateUnavailable
    );
    assert_eq!(ListState::from_json("not json").unwrap_err().reason, Reason::ListStateUnavailable);
}

#[test]
fn the_file_store_replaces_its_file_whole() {
    let city = DemoCity::new().unwrap();
    let dir = TempDir::new("file");
    let path = dir.0.join("state.json");
    let store = FileListStateStore::new(&path);
    assert_eq!(store.load().unwrap(), None, "no file yet: nothing saved");
    let mut v = verifier(&city);
    v.update_from(&mut DirectorySource(publication(2))).unwrap();
    store.save(&v.list_state()).unwrap();
    assert_eq!(store.load().unwrap(), Some(v.list_state()));
    // Only the file itself is left: the temporary file was renamed over it.
    let names: Vec<_> = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    // A corrupt file keeps a verifier from starting: it could not know its floor.
    std::fs::write(&path, "{").unwrap();
    assert!(store.load().is_err());
    let err = verifier(&city).with_list_state_store(Arc::new(store)).unwrap_err();
    assert_eq!(err.reason, Reason::ListStateUnavailable);
    // A directory that does not exist cannot be saved to.
    let nowhere = FileListStateStore::new(dir.0.join("missing/state.json"));
    assert!(nowhere.save(&v.list_state()).is_err());
}

#[test]
fn an_issuer_lists_floor_leaves_with_its_key() {
    let city = DemoCity::new().unwrap();
    let issuer_key = demo::key(Algorithm::Ed25519, 0x02).unwrap();
    let now = demo::NOW as u32;
    let issuer_list = RevocationList {
        signer: ListSigner::Issuer(1),
        sequence: 3,
        issued_at: now,
        expires_at: now + 3600,
        entries: vec![],
    }
    .sign(&issuer_key)
    .unwrap();
    let mut before = verifier(&city);
    before.load_trust_list(&city.trust_list).unwrap();
    before.load_revocation_list(&city.revocation_list).unwrap();
    before.load_revocation_list(&issuer_list).unwrap();
    assert!(before.list_state().revocation_list(ListSigner::Issuer(1)).is_some());

    // Restarted: the issuer's list must come back before any code is accepted.
    let mut after = verifier(&city);
    after.restore_list_state(before.list_state()).unwrap();
    after.load_trust_list(&city.trust_list).unwrap();
    after.load_revocation_list(&city.revocation_list).unwrap();
    assert_eq!(after.verify_at(&code(&city, 1), demo::NOW).unwrap_err().reason, Reason::NoRevocationList);
    after.load_revocation_list(&issuer_list).unwrap();
    assert!(after.verify_at(&code(&city, 2), demo::NOW).is_ok());

    // A trust list without key 1 drops the list and its floor, so the verifier is not
    // left waiting for a list that can never come (SPEC.md §8.3).
    let mut restarted = verifier(&city);
    restarted.restore_list_state(before.list_state()).unwrap();
    let mut trust = citycode::trust::TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    trust.sequence += 1;
    trust.keys.retain(|k| k.kid != 1);
    restarted.load_trust_list(&trust.sign(&city.root).unwrap()).unwrap();
    assert_eq!(restarted.list_state().revocation_list(ListSigner::Issuer(1)), None);
    assert!(restarted.list_state().revocation_list(ListSigner::Root).is_some());
}
