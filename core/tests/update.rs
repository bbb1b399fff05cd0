//! Updating a shared verifier's lists (`citycode::update_lists`, SPEC.md §8.4): the
//! fetch runs holding no lock, so a verify meanwhile is never blocked by it; a failure
//! anywhere (a fetch, a list refused after another loaded, the list state store)
//! leaves the verifier exactly as it was; a stale status is refused with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use citycode::demo::{self, DemoCity};
use citycode::distribution::{ListFile, ListStatus, STATUS_FILE};
use citycode::trust::{ListSigner, RevocationList, Revoked, TrustList};
use citycode::*;

const NOW: u32 = demo::NOW as u32;

fn revocations(city: &DemoCity, sequence: u64, entries: Vec<Revoked>) -> Vec<u8> {
    RevocationList { signer: ListSigner::Root, sequence, issued_at: NOW, expires_at: NOW + 3600, entries }
        .sign(&city.root)
        .unwrap()
}

/// The demo city's trust list again, at `sequence`.
fn trust(city: &DemoCity, sequence: u64) -> Vec<u8> {
    let held = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    TrustList::new(sequence, held.issued_at, held.expires_at, held.keys).unwrap().sign(&city.root).unwrap()
}

/// A published directory: file name → bytes.
fn publish(city: &DemoCity, sequence: u64, trust: &[u8], revocation: &[u8]) -> HashMap<String, Vec<u8>> {
    let status = ListStatus::describe(sequence, NOW, NOW + 600, &city.root.public_key(), trust, &[revocation]).unwrap();
    HashMap::from([
        (STATUS_FILE.to_string(), status.sign(&city.root).unwrap()),
        (ListFile::Trust.file_name(), trust.to_vec()),
        (ListFile::Revocation(ListSigner::Root).file_name(), revocation.to_vec()),
    ])
}

fn code(city: &DemoCity, n: u8) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 7, 7, 7]) };
    present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
}

/// A shared verifier holding publication 1 (trust list 1, an empty revocation list 1).
fn shared(city: &DemoCity) -> RwLock<Verifier> {
    let v = RwLock::new(Verifier::new(city.root.public_key(), Scene::MetroGate));
    let first = publish(city, 1, &city.trust_list, &revocations(city, 1, vec![]));
    update_lists(&v, |name| first.get(name).cloned().ok_or("404")).unwrap();
    v
}

/// Everything about a verifier's lists a caller can see.
fn lists_of(v: &RwLock<Verifier>) -> (Vec<HeldList>, ListState, Option<(u64, u32)>) {
    let v = v.read().unwrap();
    (v.held_lists(), v.list_state(), v.list_status())
}

#[test]
fn a_verify_during_an_update_is_never_blocked_by_the_fetch() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let device = city.device.public_key().key_id();
    let second = publish(&city, 2, &city.trust_list, &revocations(&city, 2, vec![Revoked::DeviceKey(device)]));
    let mut fetched = Vec::new();
    let report = update_lists(&v, |name| {
        // No lock is held while fetching: a writer could take it, and a verify through
        // the same shared verifier runs (with the lists held before the update).
        assert!(v.try_write().is_ok(), "a lock is held while fetching {name}");
        let held = v.try_read().expect("the verifier is readable while fetching");
        assert!(held.verify_at(&code(&city, fetched.len() as u8), demo::NOW).is_ok());
        fetched.push(name.to_string());
        second.get(name).cloned().ok_or("404")
    })
    .unwrap();
    assert_eq!(fetched, vec![STATUS_FILE, "revocation-root.bin"]);
    assert_eq!(report.loaded, vec!["revocation-root.bin"]);
    assert_eq!((report.status_sequence, report.status_issued_at), (2, NOW));
    let err = v.read().unwrap().verify_at(&code(&city, 9), demo::NOW).unwrap_err();
    assert_eq!(err.reason, Reason::Revoked, "the update took effect");
}

#[test]
fn a_failed_fetch_midway_leaves_the_verifier_unchanged() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let before = lists_of(&v);
    let second = publish(&city, 2, &trust(&city, 2), &revocations(&city, 2, vec![]));
    let err = update_lists(&v, |name| match name {
        "revocation-root.bin" => Err("connection reset"),
        _ => second.get(name).cloned().ok_or("404"),
    })
    .unwrap_err();
    match &err {
        UpdateError::Fetch { file, error } => {
            assert_eq!((file.as_str(), *error), ("revocation-root.bin", "connection reset"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.into_rejection().reason, Reason::ListUnavailable);
    assert_eq!(lists_of(&v), before);
}

#[test]
fn a_list_refused_after_another_loaded_leaves_the_verifier_unchanged() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let before = lists_of(&v);
    // Trust list 2 loads; then the revocation list is not the file the status names.
    let mut second = publish(&city, 2, &trust(&city, 2), &revocations(&city, 2, vec![]));
    second.insert("revocation-root.bin".into(), revocations(&city, 3, vec![]));
    let err = update_lists(&v, |name| second.get(name).cloned().ok_or("404")).unwrap_err();
    assert_eq!(err.into_rejection().reason, Reason::ListDigestMismatch);
    assert_eq!(lists_of(&v), before, "trust list 2 did not stay loaded");
    assert_eq!(v.read().unwrap().trust_list().unwrap().sequence, 1);

    // The same through `apply_update` on a verifier held `&mut`.
    let mut owned = Verifier::new(city.root.public_key(), Scene::MetroGate);
    let first = publish(&city, 1, &city.trust_list, &revocations(&city, 1, vec![]));
    owned
        .apply_update(
            owned.plan_update(first[STATUS_FILE].clone()).unwrap(),
            vec![first["trust-list.bin"].clone(), first["revocation-root.bin"].clone()],
        )
        .unwrap();
    let plan = owned.plan_update(second[STATUS_FILE].clone()).unwrap();
    let files = vec![second["trust-list.bin"].clone(), second["revocation-root.bin"].clone()];
    assert_eq!(owned.apply_update(plan, files).unwrap_err().reason, Reason::ListDigestMismatch);
    assert_eq!(owned.trust_list().unwrap().sequence, 1);
    assert_eq!(owned.list_status().unwrap().0, 1);
}

#[test]
fn a_stale_status_is_refused_with_its_reason() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let second = publish(&city, 2, &trust(&city, 2), &revocations(&city, 2, vec![]));
    update_lists(&v, |name| second.get(name).cloned().ok_or("404")).unwrap();
    let before = lists_of(&v);
    let first = publish(&city, 1, &city.trust_list, &revocations(&city, 1, vec![]));
    let mut fetched = Vec::new();
    let err = update_lists(&v, |name| {
        fetched.push(name.to_string());
        first.get(name).cloned().ok_or("404")
    })
    .unwrap_err();
    let rejection = err.into_rejection();
    assert_eq!(rejection.reason, Reason::ListStatusRollback, "{rejection}");
    assert_eq!(fetched, vec![STATUS_FILE], "no list of a stale status is fetched");
    assert_eq!(lists_of(&v), before);
}

/// A list state store that records every save, and refuses them once told to.
#[derive(Default)]
struct Recorder {
    saved: Mutex<Vec<ListState>>,
    refuse: Mutex<bool>,
}

impl ListStateStore for Recorder {
    fn load(&self) -> Result<Option<ListState>, String> {
        Ok(None)
    }

    fn save(&self, state: &ListState) -> Result<(), String> {
        if *self.refuse.lock().unwrap() {
            return Err("disk full".into());
        }
        self.saved.lock().unwrap().push(state.clone());
        Ok(())
    }
}

#[test]
fn the_list_state_is_saved_once_before_the_lists_change_and_a_failed_save_changes_nothing() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let store = Arc::new(Recorder::default());
    v.write().unwrap().set_list_state_store(store.clone()).unwrap();
    let saves = store.saved.lock().unwrap().len();
    let second = publish(&city, 2, &trust(&city, 2), &revocations(&city, 2, vec![]));

    *store.refuse.lock().unwrap() = true;
    let before = lists_of(&v);
    let err = update_lists(&v, |name| second.get(name).cloned().ok_or("404")).unwrap_err();
    assert_eq!(err.into_rejection().reason, Reason::ListStateUnavailable);
    assert_eq!(lists_of(&v), before);

    *store.refuse.lock().unwrap() = false;
    update_lists(&v, |name| second.get(name).cloned().ok_or("404")).unwrap();
    let saved = store.saved.lock().unwrap();
    assert_eq!(saved.len(), saves + 1, "one save for the whole update");
    assert_eq!(saved.last(), Some(&v.read().unwrap().list_state()));
}

#[test]
fn lists_loaded_while_an_update_fetched_are_not_overwritten() {
    let city = DemoCity::new().unwrap();
    let v = shared(&city);
    let second = publish(&city, 2, &trust(&city, 2), &revocations(&city, 2, vec![]));
    let newer = revocations(&city, 5, vec![]);
    let err = update_lists(&v, |name| {
        if name == "trust-list.bin" {
            // Another thread loads a newer revocation list meanwhile.
            v.try_write().unwrap().load_revocation_list_at(&newer, demo::NOW).unwrap();
        }
        second.get(name).cloned().ok_or("404")
    })
    .unwrap_err();
    assert_eq!(err.into_rejection().reason, Reason::ListUnavailable);
    let held = v.read().unwrap();
    assert_eq!(held.trust_list().unwrap().sequence, 1);
    assert_eq!(held.revocation_lists().next().unwrap().sequence, 5, "the list loaded meanwhile stays");
}
