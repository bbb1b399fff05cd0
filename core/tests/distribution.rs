//! List distribution (SPEC.md §8.4): a published directory reaches a verifier through a
//! source; newer lists load, stale mirrors and mixed files are refused, and a verifier
//! that only reaches a stale mirror stops accepting once its lists expire.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;

use citycode::demo::{self, DemoCity};
use citycode::distribution::{DirectorySource, ListFile, ListSource, ListStatus, STATUS_FILE};
use citycode::trust::{ListSigner, RevocationList, Revoked};
use citycode::*;

/// A published directory in memory, counting what is fetched.
#[derive(Clone, Default)]
struct Mirror {
    files: HashMap<String, Vec<u8>>,
    fetched: Vec<String>,
}

impl ListSource for Mirror {
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String> {
        self.fetched.push(name.to_string());
        self.files.get(name).cloned().ok_or_else(|| "404".to_string())
    }
}

fn revocations(city: &DemoCity, sequence: u64, entries: Vec<Revoked>) -> Vec<u8> {
    let now = demo::NOW as u32;
    RevocationList { signer: ListSigner::Root, sequence, issued_at: now, expires_at: now + 3600, entries }
        .sign(&city.root)
        .unwrap()
}

fn publish(city: &DemoCity, sequence: u64, trust: &[u8], revocation: &[u8]) -> Mirror {
    let now = demo::NOW as u32;
    let status = ListStatus::describe(sequence, now, now + 600, &city.root.public_key(), trust, &[revocation]).unwrap();
    let mut m = Mirror::default();
    m.files.insert(STATUS_FILE.into(), status.sign(&city.root).unwrap());
    m.files.insert(ListFile::Trust.file_name(), trust.to_vec());
    m.files.insert(ListFile::Revocation(ListSigner::Root).file_name(), revocation.to_vec());
    m
}

fn code(city: &DemoCity, n: u8) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 5, 5, 5]) };
    present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
}

#[test]
fn a_verifier_follows_publications_and_refuses_stale_mirrors() {
    let city = DemoCity::new().unwrap();
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    let rev1 = revocations(&city, 1, vec![]);
    let mut first = publish(&city, 1, &city.trust_list, &rev1);

    // A fresh terminal gets both lists and accepts.
    let report = v.update_from(&mut first).unwrap();
    assert_eq!(report.loaded, vec!["trust-list.bin", "revocation-root.bin"]);
    assert_eq!(v.list_status(), Some((1, demo::NOW as u32 + 600)));
    assert!(v.verify_at(&code(&city, 1), demo::NOW).is_ok());

    // Polling the same publication fetches the status only.
    first.fetched.clear();
    let report = v.update_from(&mut first).unwrap();
    assert_eq!(report.unchanged.len(), 2);
    assert_eq!(first.fetched, vec![STATUS_FILE]);

    // The device is revoked in publication 2: only the revocation list is fetched.
    let device_id = city.device.public_key().key_id();
    let rev2 = revocations(&city, 2, vec![Revoked::DeviceKey(device_id)]);
    let mut second = publish(&city, 2, &city.trust_list, &rev2);
    let report = v.update_from(&mut second).unwrap();
    assert_eq!(report.loaded, vec!["revocation-root.bin"]);
    assert_eq!(v.verify_at(&code(&city, 2), demo::NOW).unwrap_err().reason, Reason::Revoked);

    // A stale mirror still serving publication 1: refused, and the newer list stays.
    let err = v.update_from(&mut first).unwrap_err();
    assert_eq!(err.reason, Reason::ListStatusRollback);
    assert_eq!(v.verify_at(&code(&city, 3), demo::NOW).unwrap_err().reason, Reason::Revoked);
    assert_eq!(v.list_status().unwrap().0, 2);

    // A mixed mirror: publication 3's status with publication 1's revocation file.
    let rev3 = revocations(&city, 3, vec![Revoked::DeviceKey(device_id)]);
    let mut mixed = publish(&city, 3, &city.trust_list, &rev3);
    mixed.files.insert("revocation-root.bin".into(), rev1.clone());
    assert_eq!(v.update_from(&mut mixed).unwrap_err().reason, Reason::ListDigestMismatch);
    assert_eq!(v.list_status().unwrap().0, 2);

    // A status not signed by the root.
    let mut forged = publish(&city, 4, &city.trust_list, &rev3);
    let rogue = demo::key(Algorithm::Ed25519, 0x66).unwrap();
    let status = ListStatus::verify(&forged.files[STATUS_FILE], &city.root.public_key()).unwrap();
    forged.files.insert(STATUS_FILE.into(), status.sign(&rogue).unwrap());
    assert_eq!(v.update_from(&mut forged).unwrap_err().reason, Reason::BadListStatusSignature);

    // An unreachable mirror changes nothing.
    assert_eq!(v.update_from(&mut Mirror::default()).unwrap_err().reason, Reason::ListUnavailable);
    assert_eq!(v.verify_at(&code(&city, 4), demo::NOW).unwrap_err().reason, Reason::Revoked);
}

#[test]
fn a_terminal_that_only_reaches_a_stale_mirror_stops_accepting_at_expiry() {
    let city = DemoCity::new().unwrap();
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    let mut mirror = publish(&city, 1, &city.trust_list, &revocations(&city, 1, vec![]));
    v.update_from(&mut mirror).unwrap();
    let expiry = u64::from(v.revocation_lists().next().unwrap().expires_at);
    let at = |t: u64, n: u8| {
        let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 6, 6, 6]) };
        present(&city.credential, &city.device, &[4], t, opts).unwrap().to_text()
    };
    assert!(v.verify_at(&at(expiry - 1, 1), expiry - 1).is_ok());
    // The mirror keeps serving the same publication: nothing newer arrives.
    v.update_from(&mut mirror).unwrap();
    assert_eq!(v.verify_at(&at(expiry, 2), expiry).unwrap_err().reason, Reason::RevocationListExpired);
    assert_eq!(v.ready_at(expiry).unwrap_err().reason, Reason::RevocationListExpired);
}

#[test]
fn status_encoding_is_strict_and_reads_from_a_directory() {
    let city = DemoCity::new().unwrap();
    let mirror = publish(&city, 7, &city.trust_list, &city.revocation_list);
    let bytes = &mirror.files[STATUS_FILE];
    let root = city.root.public_key();
    let status = ListStatus::verify(bytes, &root).unwrap();
    assert_eq!(status.sequence, 7);
    assert_eq!(status.entries.len(), 2);
    assert_eq!(status.sign(&city.root).unwrap(), *bytes);
    // Every truncation and any extension is refused; so is every flipped bit.
    for n in 0..bytes.len() {
        assert!(ListStatus::verify(&bytes[..n], &root).is_err(), "truncated to {n}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(ListStatus::verify(&longer, &root).unwrap_err().reason, Reason::TrailingBytes);
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        assert!(ListStatus::verify(&flipped, &root).is_err(), "bit {i}");
    }
    // The same files from a directory on disk.
    let dir = std::env::temp_dir().join(format!("citycode-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, b) in &mirror.files {
        std::fs::write(dir.join(name), b).unwrap();
    }
    let mut v = Verifier::new(root, Scene::MetroGate);
    assert_eq!(v.update_from(&mut DirectorySource(dir.clone())).unwrap().loaded.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An operator's tool must not sign a status that every verifier refuses as
/// non-canonical (SPEC.md §8.4): the trust list first, then revocation lists in signer
/// order, each once. Each rule is refused on its own, with the others kept.
#[test]
fn only_a_canonical_status_is_signed() {
    use citycode::distribution::StatusEntry;
    let city = DemoCity::new().unwrap();
    let entry = |file| StatusEntry { file, sequence: 1, expires_at: demo::NOW as u32 + 600, digest: [7; 32] };
    let status = |files: Vec<ListFile>| ListStatus {
        sequence: 1,
        issued_at: demo::NOW as u32,
        expires_at: demo::NOW as u32 + 600,
        entries: files.into_iter().map(entry).collect(),
    };
    let root = ListFile::Revocation(ListSigner::Root);
    let issuer = |kid| ListFile::Revocation(ListSigner::Issuer(kid));
    // Canonical: signed, and read back as signed.
    let good = status(vec![ListFile::Trust, root, issuer(1), issuer(2)]);
    let signed = good.sign(&city.root).unwrap();
    assert_eq!(ListStatus::verify(&signed, &city.root.public_key()).unwrap(), good);
    // In order, but no trust list first.
    let no_trust = status(vec![root, issuer(1)]);
    // The trust list first, the rest out of order, or one signer twice.
    let unordered = status(vec![ListFile::Trust, issuer(2), issuer(1)]);
    let twice = status(vec![ListFile::Trust, root, root]);
    for bad in [no_trust, unordered, twice] {
        let err = bad.sign(&city.root).unwrap_err();
        assert_eq!(err.reason, Reason::NonCanonical, "{bad:?}");
    }
}
