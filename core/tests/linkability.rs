//! Codes built from a batch (one instance per code, `Reuse::OnceOnly`) for different
//! scenes and verifiers, compared byte by byte: no byte string that identifies the
//! holder (device key, its id, subject, a card or device signature, a card id, a replay
//! id) appears in two of them, and two codes of one holder share no longer run of bytes
//! than two codes of two different residents do (up to a few bytes of chance matches). What they share is listed in SPEC.md
//! §13: the format's version and algorithm bytes, the issuer's key id, the card's
//! validity days and the claims each scene is shown. The same comparison on codes of one
//! credential (no batch) finds the holder in every pair, which is what the test exists
//! to catch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;

use citycode::demo::{self, DemoCity};
use citycode::*;

const SCENES: [Scene; 4] = [
    Scene::Hospital,
    Scene::Parking,
    Scene::MetroGate,
    Scene::ScenicSpot { site: 1024, utc_offset_minutes: demo::UTC_OFFSET_MINUTES },
];

/// A holder's batch of `n` instances; device keys from seeds `seed..seed + n`.
fn holder(city: &DemoCity, seed: u8, n: u8) -> CredentialBatch<KeyPair> {
    holder_with(city, seed, n, None)
}

/// As [`holder`], the batch carrying identity (domain 6) committed from `document`.
fn holder_with(city: &DemoCity, seed: u8, n: u8, document: Option<&IdentityDocument>) -> CredentialBatch<KeyPair> {
    let keys: Vec<KeyPair> = (0..n).map(|i| demo::key(Algorithm::Ed25519, seed.wrapping_add(i)).unwrap()).collect();
    let proven: Vec<ProvenKey> = keys.iter().map(|k| ProvenKey::by_signing(k).unwrap()).collect();
    let template = CredentialRequest {
        device_key: proven[0].clone(),
        subject: Subject([0; 8]),
        valid_from_day: demo::TODAY - 1,
        valid_days: 7,
        claims: demo::resident_claims(),
        layout: CardLayout::Standard,
    };
    let instances = city.issuer.issue_batch(&template, document, &proven).unwrap();
    CredentialBatch::new(instances.into_iter().zip(keys).collect(), Reuse::OnceOnly, 0).unwrap()
}

/// Codes for every scene, twice (two verifiers each), a second apart. Each carries only
/// what its scene reads.
fn codes(mut next: impl FnMut(&Scene, u64) -> Code) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, scene) in SCENES.iter().chain(SCENES.iter()).enumerate() {
        let code = next(scene, demo::NOW + i as u64).as_bytes().to_vec();
        let shown = UnverifiedCode::from_bytes(&code).unwrap().untrusted_claims();
        assert_eq!(shown, scene.view(&demo::resident_claims()), "{scene:?}");
        out.push(code);
    }
    out
}

#[test]
fn no_scene_learns_a_field_its_policy_does_not_read() {
    let city = DemoCity::new().unwrap();
    let opts = PresentOptions { validity_secs: 60, nonce: None };
    let shown = |scene: &Scene| {
        let code = present(&city.credential, &city.device, scene, demo::NOW, opts).unwrap();
        UnverifiedCode::from_bytes(code.as_bytes()).unwrap().untrusted_claims()
    };
    // The resident rides free as a senior: the car park must not learn it.
    let parking = shown(&Scene::Parking).transit.unwrap();
    assert_eq!(parking.fare_class, None);
    assert_eq!(parking.vehicle_payment, Some(true));
    let metro = shown(&Scene::MetroGate).transit.unwrap();
    assert_eq!((metro.fare_class, metro.vehicle_payment), (Some(claims::FareClass::SeniorFree), None));
    let hospital = shown(&Scene::Hospital);
    assert_eq!(hospital.medical_insurance.unwrap().region, None);
    assert!(hospital.transit.is_none() && hospital.tourism.is_none() && hospital.social_security.is_none());
}

/// Every byte string in a code that names its holder.
fn identifiers(bytes: &[u8]) -> HashSet<Vec<u8>> {
    let code = UnverifiedCode::from_bytes(bytes).unwrap();
    let mut ids: HashSet<Vec<u8>> = HashSet::new();
    // Identity shown at a real-name scene: its salt and commitment name the holder as
    // surely as a key would.
    if let Some(identity) = code.untrusted_claims().identity {
        ids.insert(identity.salt.to_vec());
        ids.insert(identity.commitment.to_vec());
    }
    ids.insert(code.device_key().to_bytes());
    ids.insert(code.device_key().key_id().to_vec());
    ids.insert(code.subject().0.to_vec());
    ids.insert(code.device_signature().to_vec());
    ids.insert(code.replay_id().to_vec());
    for (i, card) in code.cards().iter().enumerate() {
        ids.insert(card.signature.to_vec());
        ids.insert(code.card_id(i).to_vec());
    }
    ids
}

/// The longest run of bytes two codes have in common.
fn longest_common_run(a: &[u8], b: &[u8]) -> usize {
    let mut best = 0;
    let mut row = vec![0usize; b.len() + 1];
    for &x in a {
        let mut prev = 0;
        for (j, &y) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = if x == y { prev + 1 } else { 0 };
            best = best.max(row[j + 1]);
            prev = here;
        }
    }
    best
}

fn pairs(codes: &[Vec<u8>]) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
    codes.iter().enumerate().flat_map(move |(i, a)| codes[i + 1..].iter().map(move |b| (a, b)))
}

#[test]
fn codes_of_one_batch_share_nothing_that_names_the_holder() {
    let city = DemoCity::new().unwrap();
    let opts = || PresentOptions { validity_secs: 60, nonce: None };
    // Twelve residents; each shows eight codes from its own batch.
    let residents: Vec<Vec<Vec<u8>>> = (0..12u8)
        .map(|r| {
            let mut batch = holder(&city, 0x20 + r * 8, 8);
            codes(|scene, now| batch.present(scene, now, opts()).unwrap())
        })
        .collect();
    let mut within = 0;
    for codes in &residents {
        for (a, b) in pairs(codes) {
            let shared: Vec<_> = identifiers(a).intersection(&identifiers(b)).cloned().collect();
            assert!(shared.is_empty(), "two codes of one holder share {shared:02x?}");
            within = within.max(longest_common_run(a, b));
        }
    }
    // The same scene's codes of two different residents: what any two strangers share.
    let mut strangers = 0;
    for (a, b) in residents.iter().zip(residents.iter().skip(1)) {
        for (x, y) in a.iter().zip(b) {
            strangers = strangers.max(longest_common_run(x, y));
        }
    }
    // Random bytes (nonces, subjects, signatures) beside the shared structure match by
    // chance, a byte at a time with probability 1/256, and one holder's 8 codes make
    // more pairs (28) than one scene's codes of two strangers (8): the maxima differ by a
    // byte or two either way from run to run. Four bytes more than strangers share would
    // happen by chance about once in 10^7 runs; it would mean an identifier.
    assert!(within <= strangers + 3, "one holder's codes share {within} bytes in a row, strangers' {strangers}");
    // The shared run is the card header and the scene's claims, not an identifier.
    assert!(within < 32, "{within}");
}

#[test]
fn without_a_batch_every_pair_of_codes_names_the_holder() {
    let city = DemoCity::new().unwrap();
    let codes = codes(|scene, now| {
        present(&city.credential, &city.device, scene, now, PresentOptions { validity_secs: 60, nonce: None }).unwrap()
    });
    for (a, b) in pairs(&codes) {
        let shared = identifiers(a).intersection(&identifiers(b)).count();
        // The device key, its id and the subject at least.
        assert!(shared >= 3, "{shared}");
    }
}

/// The hotel's codes of one batch: identity is shown, and every instance committed the
/// number afresh (issue 29 item 3: they used to share the template's salt and
/// commitment, so two hotels could link the guest's visits).
#[test]
fn identity_codes_of_one_batch_share_no_salt_or_commitment() {
    let city = DemoCity::new().unwrap();
    let (name, number) = (demo::NAME, demo::ID_NUMBER);
    let document = IdentityDocument::new(name, number, claims::IdDigest::Sha256).unwrap();
    let opts = PresentOptions { validity_secs: 60, nonce: None };
    let mut batch = holder_with(&city, 0x60, 6, Some(&document));
    let codes: Vec<Vec<u8>> = (0..6u64)
        .map(|i| batch.present(&Scene::HotelCheckIn, demo::NOW + i, opts).unwrap().as_bytes().to_vec())
        .collect();
    for code in &codes {
        let identity = UnverifiedCode::from_bytes(code).unwrap().untrusted_claims().identity.unwrap();
        assert_eq!(identity.name, name);
        assert!(identity.matches(number).unwrap(), "each commitment is to the resident's number");
    }
    for (a, b) in pairs(&codes) {
        let shared: Vec<_> = identifiers(a).intersection(&identifiers(b)).cloned().collect();
        assert!(shared.is_empty(), "two hotel codes of one batch share {shared:02x?}");
        // Not even a run as long as half a salt.
        assert!(longest_common_run(a, b) < 32, "{}", longest_common_run(a, b));
    }
    // The control: one committed identity in the template, copied into every instance
    // as before the fix, is refused; issued one by one it shows in every code.
    let keys: Vec<KeyPair> = (0..2).map(|i| demo::key(Algorithm::Ed25519, 0x70 + i).unwrap()).collect();
    let proven: Vec<ProvenKey> = keys.iter().map(|k| ProvenKey::by_signing(k).unwrap()).collect();
    let mut claims = demo::resident_claims();
    claims.identity = Some(document.commit().unwrap());
    let template = CredentialRequest {
        device_key: proven[0].clone(),
        subject: Subject([0; 8]),
        valid_from_day: demo::TODAY - 1,
        valid_days: 7,
        claims,
        layout: CardLayout::Standard,
    };
    assert!(matches!(city.issuer.issue_batch(&template, None, &proven), Err(Error::OutOfRange(_))));
    let copied: Vec<Vec<u8>> = proven
        .iter()
        .zip(&keys)
        .map(|(key, signer)| {
            let request =
                CredentialRequest { device_key: key.clone(), subject: Subject::random().unwrap(), ..template.clone() };
            let credential = city.issuer.issue(&request).unwrap();
            present(&credential, signer, &Scene::HotelCheckIn, demo::NOW, opts).unwrap().as_bytes().to_vec()
        })
        .collect();
    let shared = identifiers(&copied[0]).intersection(&identifiers(&copied[1])).count();
    assert_eq!(shared, 2, "the copied salt and commitment");
}
