//! Batch verification gives, case by case, exactly what one-by-one verification gives:
//! on valid codes, adversarial vectors, flipped bits, weak keys, torsion-laden
//! signatures and replays within the batch; and the credential cache changes no result.

#![cfg(feature = "batch")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use test_vectors_gen as gen_vectors;

use citycode::demo::{self, DemoCity};
use citycode::text::{decode_text, encode_text};
use citycode::*;
use proptest::prelude::*;

fn verifier(city: &DemoCity) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

fn outcome(r: &Result<Accepted, Rejection>) -> Result<Accepted, Reason> {
    r.clone().map_err(|e| e.reason)
}

/// Every vector input that the demo verifier setup can judge, valid codes from many
/// holders, and one bit flipped in each of their signatures.
fn pool(city: &DemoCity) -> Vec<String> {
    let file = gen_vectors::generate().unwrap();
    let mut texts: Vec<String> = file.cases.iter().map(|c| c.input.clone()).collect();
    for n in 0..24u8 {
        let (device, cred) = city.resident(n).unwrap();
        let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
        let text = present(&cred, &device, &[4], demo::NOW, opts).unwrap().to_text();
        let mut bytes = decode_text(&text).unwrap();
        texts.push(text);
        let last = bytes.len() - 1;
        bytes[last - (n as usize % 64)] ^= 1 << (n % 8);
        texts.push(encode_text(&bytes));
    }
    texts.push(torsion_signature_code(city));
    texts
}

/// A valid code whose device signature's R has an order-8 point added: the challenge
/// hash changes with R, so it is invalid, alone and in a batch alike.
fn torsion_signature_code(city: &DemoCity) -> String {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let code = present(
        &city.credential,
        &city.device,
        &[4],
        demo::NOW,
        PresentOptions { validity_secs: 60, nonce: Some([0xee; 4]) },
    )
    .unwrap();
    let mut bytes = code.as_bytes().to_vec();
    let n = bytes.len();
    let r = CompressedEdwardsY(bytes[n - 64..n - 32].try_into().unwrap()).decompress().unwrap();
    let r2 = r + EIGHT_TORSION[1];
    bytes[n - 64..n - 32].copy_from_slice(&r2.compress().to_bytes());
    encode_text(&bytes)
}

#[test]
fn batch_equals_one_by_one_on_every_input_including_replays() {
    let city = DemoCity::new().unwrap();
    let mut texts = pool(&city);
    // Replays inside the batch: the first valid code again at the end.
    let first_valid = texts.iter().position(|t| verifier(&city).verify_at(t, demo::NOW).is_ok()).unwrap();
    texts.push(texts[first_valid].clone());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let single = verifier(&city);
    let expected: Vec<_> = refs.iter().map(|t| outcome(&single.verify_at(t, demo::NOW))).collect();
    let batched = verifier(&city);
    let got: Vec<_> = batched.verify_batch_at(&refs, demo::NOW).iter().map(outcome).collect();
    assert_eq!(got, expected);
    assert!(expected.iter().filter(|r| r.is_ok()).count() >= 24);
    assert_eq!(*expected.last().unwrap(), Err(Reason::Replayed));
    assert!(expected.contains(&Err(Reason::BadDeviceSignature)));
    assert!(expected.contains(&Err(Reason::InvalidDeviceKey)));
}

#[test]
fn a_torsion_shifted_r_is_rejected_alone_and_in_a_batch() {
    let city = DemoCity::new().unwrap();
    let bad = torsion_signature_code(&city);
    assert_eq!(verifier(&city).verify_at(&bad, demo::NOW).unwrap_err().reason, Reason::BadDeviceSignature);
    let good = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap().to_text();
    let results = verifier(&city).verify_batch_at(&[&good, &bad, &good], demo::NOW);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().reason, Reason::BadDeviceSignature);
    assert_eq!(results[2].as_ref().unwrap_err().reason, Reason::Replayed);
}

#[test]
fn the_credential_cache_changes_no_result() {
    let city = DemoCity::new().unwrap();
    let texts = pool(&city);
    let cached = verifier(&city);
    let uncached = verifier(&city).with_credential_cache(0);
    for round in 0..2 {
        for t in &texts {
            assert_eq!(
                outcome(&cached.verify_at(t, demo::NOW)),
                outcome(&uncached.verify_at(t, demo::NOW)),
                "round {round}: {t}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn any_order_and_subset_batches_like_one_by_one(picks in proptest::collection::vec(0usize..1000, 2..40)) {
        let city = DemoCity::new().unwrap();
        let texts = pool(&city);
        let chosen: Vec<&str> = picks.iter().map(|i| texts[i % texts.len()].as_str()).collect();
        let single = verifier(&city);
        let expected: Vec<_> = chosen.iter().map(|t| outcome(&single.verify_at(t, demo::NOW))).collect();
        let got: Vec<_> = verifier(&city).verify_batch_at(&chosen, demo::NOW).iter().map(outcome).collect();
        prop_assert_eq!(got, expected);
    }
}

/// An in-memory store that counts how it is called.
struct Counting {
    inner: ReplayGuard,
    singles: std::sync::atomic::AtomicUsize,
    batches: std::sync::Mutex<Vec<usize>>,
}

impl ReplayStore for Counting {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        self.singles.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.check_and_insert(id, expires_at, now)
    }

    fn check_and_insert_batch(&self, entries: &[([u8; 16], u64)], now: u64) -> Vec<Result<(), ReplayError>> {
        self.batches.lock().unwrap().push(entries.len());
        entries.iter().map(|(id, expires_at)| self.inner.check_and_insert(id, *expires_at, now)).collect()
    }
}

#[test]
fn a_batch_writes_its_replay_entries_in_one_store_call_with_one_by_one_results() {
    let city = DemoCity::new().unwrap();
    let store = std::sync::Arc::new(Counting {
        inner: ReplayGuard::new(1 << 12),
        singles: Default::default(),
        batches: Default::default(),
    });
    let batched = verifier(&city).with_replay_store(store.clone());
    let alone = verifier(&city);
    let mut texts = pool(&city);
    // Replays within the batch, and of codes the store already holds.
    let first = texts.iter().position(|t| alone.verify_at(t, demo::NOW).is_ok()).unwrap();
    batched.verify_at(&texts[first], demo::NOW).unwrap();
    let again = alone.verify_at(&texts[first], demo::NOW);
    assert_eq!(again.unwrap_err().reason, Reason::Replayed);
    let copy = texts.clone();
    texts.extend(copy);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let results = batched.verify_batch_at(&refs, demo::NOW);
    let expected: Vec<_> = refs.iter().map(|t| outcome(&alone.verify_at(t, demo::NOW))).collect();
    assert_eq!(results.iter().map(outcome).collect::<Vec<_>>(), expected);
    // The lone verify_at above took one single insert; the batch took one call for
    // every code that reached the replay step (accepted or replayed), and no single one.
    assert_eq!(store.singles.load(std::sync::atomic::Ordering::SeqCst), 1);
    let reached = results.iter().filter(|r| r.as_ref().map_or_else(|e| e.reason == Reason::Replayed, |_| true)).count();
    assert_eq!(*store.batches.lock().unwrap(), vec![reached]);
    assert!(results.iter().filter(|r| r.is_ok()).count() >= 24);
}
