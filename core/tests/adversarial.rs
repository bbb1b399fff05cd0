//! Adversarial cases beyond single bit flips (THREAT-MODEL.md): fields swapped between
//! two valid codes, a stolen credential re-signed by another device, every truncation,
//! trust-list expiry at its boundary, and revocation after issuance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::demo::{self, DemoCity};
use citycode::text::encode_text;
use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
use citycode::*;

const NOW: u64 = demo::NOW;

fn verifier(city: &DemoCity) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_skew(30).with_clock(FixedClock(NOW));
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// Resident `n`'s metro code built at `at`, valid 60 s.
fn code(city: &DemoCity, n: u8, at: u64) -> Vec<u8> {
    code_valid(city, n, at, 60)
}

fn code_valid(city: &DemoCity, n: u8, at: u64, validity_secs: u8) -> Vec<u8> {
    let (device, credential) = city.resident(n).unwrap();
    let options = PresentOptions { validity_secs, ..PresentOptions::default() };
    present(&credential, &device, &Scene::MetroGate.required_domains(), at, options).unwrap().as_bytes().to_vec()
}

/// The byte ranges of a one-card Ed25519 code's fields (SPEC.md §5), by name.
fn fields(len: usize) -> Vec<(&'static str, std::ops::Range<usize>)> {
    vec![
        ("device key", 2..34),
        ("subject", 34..42),
        ("issued_at", 42..46),
        ("validity", 46..47),
        ("nonce", 47..51),
        ("card", 52..len - 64),
        ("card body", 52..len - 128),
        ("card signature", len - 128..len - 64),
        ("device signature", len - 64..len),
    ]
}

#[test]
fn swapping_any_field_between_two_valid_codes_is_rejected() {
    let city = DemoCity::new().unwrap();
    let a = code(&city, 1, NOW);
    let b = code_valid(&city, 2, NOW - 1, 45);
    assert_eq!(a.len(), b.len(), "same layout, same length");
    // Both verify as they are.
    assert!(verifier(&city).verify_at(&encode_text(&a), NOW).is_ok());
    assert!(verifier(&city).verify_at(&encode_text(&b), NOW).is_ok());
    let mut same = Vec::new();
    for (name, range) in fields(a.len()) {
        if a[range.clone()] == b[range.clone()] {
            same.push(name);
            continue;
        }
        for (base, donor) in [(&a, &b), (&b, &a)] {
            let mut hybrid = base.clone();
            hybrid[range.clone()].copy_from_slice(&donor[range.clone()]);
            let result = verifier(&city).verify_at(&encode_text(&hybrid), NOW);
            assert!(result.is_err(), "{name} swapped: accepted");
        }
    }
    // Only the card bodies (claims and days, the same for both residents) are equal:
    // every other field was swapped both ways.
    assert_eq!(same, ["card body"]);
}

#[test]
fn a_stolen_credential_re_signed_by_another_device_is_rejected() {
    let city = DemoCity::new().unwrap();
    let victim = code(&city, 1, NOW);
    let (thief, _) = city.resident(2).unwrap();
    // The thief puts their own device key in the victim's code and signs it properly.
    let mut forged = victim.clone();
    forged[2..34].copy_from_slice(&thief.public_key().to_bytes());
    let unsigned = UnverifiedCode::from_bytes(&forged).unwrap();
    let signature = thief.sign(unsigned.code_input());
    let len = forged.len();
    forged[len - 64..].copy_from_slice(&signature);
    let rejection = verifier(&city).verify_at(&encode_text(&forged), NOW).unwrap_err();
    // The card is bound to the victim's device key: the issuer signature fails.
    assert_eq!(rejection.reason, Reason::BadIssuerSignature);

    // And the victim's code with the thief's device signature over it fails too.
    let thief_code = code(&city, 2, NOW);
    let mut mixed = victim.clone();
    mixed[len - 64..].copy_from_slice(&thief_code[len - 64..]);
    assert_eq!(verifier(&city).verify_at(&encode_text(&mixed), NOW).unwrap_err().reason, Reason::BadDeviceSignature);
}

#[test]
fn every_truncation_and_every_extension_is_rejected() {
    let city = DemoCity::new().unwrap();
    let full = code(&city, 1, NOW);
    let v = verifier(&city);
    assert_eq!(v.verify_at(&encode_text(&[]), NOW).unwrap_err().reason, Reason::TextEncoding);
    for len in 1..full.len() {
        let r = v.verify_at(&encode_text(&full[..len]), NOW).unwrap_err();
        assert_eq!(r.reason, Reason::Truncated, "cut to {len} bytes");
    }
    for extra in [0u8, 1, 0xff] {
        let mut longer = full.clone();
        longer.push(extra);
        assert_eq!(v.verify_at(&encode_text(&longer), NOW).unwrap_err().reason, Reason::TrailingBytes);
    }
    // The untouched code still verifies: none of the above consumed its replay slot.
    assert!(v.verify_at(&encode_text(&full), NOW).is_ok());
}

#[test]
fn trust_list_expiry_is_exact() {
    let city = DemoCity::new().unwrap();
    // A newer trust list (same keys) that expires 100 s from now, before any card.
    let mut list = verifier(&city).trust_list().unwrap().clone();
    list.sequence += 1;
    list.expires_at = NOW as u32 + 100;
    let signed = list.sign(&city.root).unwrap();
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_skew(30).allow_missing_revocation_list();
    v.load_trust_list(&signed).unwrap();
    let at = |t: u64| {
        present(&city.credential, &city.device, &[Domain::Transit.id()], t, PresentOptions::default())
            .unwrap()
            .to_text()
    };
    let end = NOW + 100;
    assert!(v.verify_at(&at(end - 1), end - 1).is_ok());
    // Skew widens code windows, never the trust list's.
    assert_eq!(v.verify_at(&at(end), end).unwrap_err().reason, Reason::TrustListExpired);
    // An expired list cannot be brought back by reloading the older one.
    assert_eq!(v.load_trust_list(&city.trust_list).unwrap_err().reason, Reason::TrustListRollback);
}

#[test]
fn revocation_after_issuance_takes_effect_at_the_next_list() {
    let city = DemoCity::new().unwrap();
    let (device, credential) = city.resident(7).unwrap();
    let domains = Scene::MetroGate.required_domains();
    let fresh = |t: u64| present(&credential, &device, &domains, t, PresentOptions::default()).unwrap().to_text();
    let card_id = UnverifiedCode::from_text(&fresh(NOW)).unwrap().card_id(0);
    let revoke = |entry: Revoked| {
        RevocationList {
            signer: ListSigner::Root,
            sequence: 2,
            issued_at: NOW as u32,
            expires_at: NOW as u32 + 86_400,
            entries: vec![entry],
        }
        .sign(&city.root)
        .unwrap()
    };
    let entries = [
        Revoked::Card(card_id),
        Revoked::Subject(credential.subject.0),
        Revoked::DeviceKey(device.public_key().key_id()),
    ];
    for entry in entries {
        let mut v = verifier(&city);
        assert!(v.verify_at(&fresh(NOW), NOW + 1).is_ok(), "valid before revocation");
        v.load_revocation_list(&revoke(entry)).unwrap();
        let r = v.verify_at(&fresh(NOW + 2), NOW + 3).unwrap_err();
        assert_eq!(r.reason, Reason::Revoked, "{entry:?}");
        // Another resident is unaffected.
        let other = code(&city, 8, NOW + 2);
        assert!(v.verify_at(&encode_text(&other), NOW + 3).is_ok());
    }
}

#[test]
fn an_issuer_revocation_list_needs_its_key_valid_at_issue_and_leaves_with_the_key() {
    let city = DemoCity::new().unwrap();
    let now = NOW as u32;
    let issuer_key = &demo::key(Algorithm::Ed25519, 0x02).unwrap(); // the demo issuer, kid 1
    let list = |issued_at: u32, device: &KeyPair| {
        let entries = vec![Revoked::DeviceKey(device.public_key().key_id())];
        RevocationList::new(ListSigner::Issuer(1), 1, issued_at, now + 86_400, entries)
            .unwrap()
            .sign(issuer_key)
            .unwrap()
    };
    let (device, _) = city.resident(7).unwrap();
    let trust = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    let window = trust.keys[0].clone();

    // Issued when the key was valid: loads and revokes.
    let mut v = verifier(&city);
    v.load_revocation_list(&list(now, &device)).unwrap();
    assert_eq!(v.verify_at(&encode_text(&code(&city, 7, NOW)), NOW + 1).unwrap_err().reason, Reason::Revoked);
    // Issued before not_before or at not_after: refused, and the held lists are unchanged.
    for at in [window.not_before - 1, window.not_after] {
        let mut fresh = verifier(&city);
        let r = fresh.load_revocation_list(&list(at, &device)).unwrap_err();
        assert_eq!(r.reason, Reason::IssuerKeyNotValid, "issued at {at}");
        assert_eq!(fresh.revocation_lists().count(), 1);
    }
    assert!(verifier(&city).load_revocation_list(&list(window.not_before, &device)).is_ok());

    // A trust-list update that keeps the key keeps the list; one that drops the key, or
    // gives its kid another key, drops the list with it.
    let next = |sequence: u64, keys: Vec<IssuerKey>| {
        TrustList::new(sequence, now, now + 86_400, keys).unwrap().sign(&city.root).unwrap()
    };
    v.load_trust_list(&next(2, vec![window.clone()])).unwrap();
    assert_eq!(v.revocation_lists().count(), 2);
    let other = IssuerKey { key: demo::key(Algorithm::Ed25519, 0x77).unwrap().public_key(), ..window.clone() };
    v.load_trust_list(&next(3, vec![other])).unwrap();
    assert_eq!(v.revocation_lists().map(|l| l.signer).collect::<Vec<_>>(), vec![ListSigner::Root]);
    let mut w = verifier(&city);
    w.load_revocation_list(&list(now, &device)).unwrap();
    let kid2 = IssuerKey { kid: 2, ..window };
    w.load_trust_list(&next(2, vec![kid2])).unwrap();
    assert_eq!(w.revocation_lists().map(|l| l.signer).collect::<Vec<_>>(), vec![ListSigner::Root]);
}

/// A clock the test moves.
#[derive(Clone, Default)]
struct MovingClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl MovingClock {
    fn set(&self, t: u64) {
        self.0.store(t, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for MovingClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Issue 24, item 1: issuer key 5 revokes a phone, then is retired (its `not_after` in
/// the past, the key kept in the trust list). A list of key 5 dated `not_after - 1`, with
/// a higher sequence and no entries, must not un-revoke the phone, on any load path; the
/// held list stays enforced until it expires, and then stops every code until the root
/// drops the key (after moving the entries to its own list).
#[test]
fn a_retired_issuer_key_cannot_replace_its_last_list_on_any_path() {
    use citycode::distribution::{ListFile, ListStatus, StatusEntry};
    let city = DemoCity::new().unwrap();
    let now = NOW as u32;
    let key_5 = demo::key(Algorithm::Ed25519, 0x25).unwrap();
    let held = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    let trust = |sequence: u64, not_after_5: Option<u32>| {
        let mut keys = held.keys.clone();
        if let Some(not_after) = not_after_5 {
            keys.push(IssuerKey {
                kid: 5,
                key: key_5.public_key(),
                not_before: now - 3600,
                not_after,
                domains: vec![5],
            });
        }
        TrustList::new(sequence, now, now + 10 * 86_400, keys).unwrap().sign(&city.root).unwrap()
    };
    let (device, _) = city.resident(7).unwrap();
    let phone = Revoked::DeviceKey(device.public_key().key_id());
    let key_5_list = |sequence: u64, issued_at: u32, entries: Vec<Revoked>| {
        RevocationList::new(ListSigner::Issuer(5), sequence, issued_at, now + 600, entries)
            .unwrap()
            .sign(&key_5)
            .unwrap()
    };
    let revoking = key_5_list(1, now, vec![phone]);
    let retired_at = now + 10;
    let backdated = key_5_list(2, retired_at - 1, vec![]);
    let clock = MovingClock::default();
    let verdict = |v: &Verifier, n: u8, t: u64| v.verify_at(&encode_text(&code(&city, n, t)), t).map(|_| ());

    let start = |clock: &MovingClock| {
        clock.set(NOW);
        let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_clock(clock.clone());
        v.load_trust_list(&trust(2, Some(now + 3600))).unwrap();
        v.load_revocation_list(&city.revocation_list).unwrap();
        v.load_revocation_list(&revoking).unwrap();
        assert_eq!(verdict(&v, 7, NOW).unwrap_err().reason, Reason::Revoked);
        // The root retires key 5; its held list stays (issued while the key was valid).
        clock.set(NOW + 20);
        v.load_trust_list(&trust(3, Some(retired_at))).unwrap();
        assert_eq!(v.revocation_lists().count(), 2);
        v
    };

    // The control: before the key retires, the backdated list would load (and un-revoke).
    let mut control = Verifier::new(city.root.public_key(), Scene::MetroGate).with_clock(FixedClock(NOW));
    control.load_trust_list(&trust(2, Some(retired_at))).unwrap();
    control.load_revocation_list(&city.revocation_list).unwrap();
    control.load_revocation_list(&revoking).unwrap();
    control.load_revocation_list(&backdated).unwrap();
    assert!(verdict(&control, 7, NOW).is_ok());

    // Plain loads, at the clock's time or a given one: refused, the phone stays revoked.
    let mut v = start(&clock);
    let err = v.load_revocation_list(&backdated).unwrap_err();
    assert_eq!(err.reason, Reason::IssuerKeyNotValid);
    let err = v.load_revocation_list_at(&backdated, NOW + 20).unwrap_err();
    assert_eq!(err.reason, Reason::IssuerKeyNotValid);
    assert_eq!(verdict(&v, 7, NOW + 20).unwrap_err().reason, Reason::Revoked);
    assert!(verdict(&v, 8, NOW + 20).is_ok());

    // The status path, even with a root-signed status naming the list (an operator's
    // mistake: `ListStatus::describe` refuses to write it).
    let revocation_root = city.revocation_list.clone();
    let err = ListStatus::describe(
        4,
        now + 20,
        now + 600,
        &city.root.public_key(),
        &trust(3, Some(retired_at)),
        &[&revocation_root, &backdated],
    )
    .unwrap_err();
    assert_eq!(err.reason, Reason::IssuerKeyNotValid);
    let mut status = ListStatus::describe(
        4,
        now,
        now + 600,
        &city.root.public_key(),
        &trust(3, Some(retired_at)),
        &[&revocation_root],
    )
    .unwrap();
    let digest = citycode::digest::digest(Algorithm::Ed25519, &backdated).unwrap();
    let entry =
        StatusEntry { file: ListFile::Revocation(ListSigner::Issuer(5)), sequence: 2, expires_at: now + 600, digest };
    status.entries.push(entry);
    let plan = v.plan_update(status.sign(&city.root).unwrap()).unwrap();
    assert_eq!(plan.to_fetch(), vec!["revocation-issuer-5.bin"]);
    let err = v.apply_update(plan, vec![backdated.clone()]).unwrap_err();
    assert_eq!(err.reason, Reason::IssuerKeyNotValid);
    assert_eq!(verdict(&v, 7, NOW + 20).unwrap_err().reason, Reason::Revoked);

    // The held list expires: every code is refused (fail closed) until the root drops
    // key 5, having moved its entries to the root list (SPEC.md §8.3).
    let expiry = NOW + 600;
    clock.set(expiry);
    assert_eq!(verdict(&v, 8, expiry).unwrap_err().reason, Reason::RevocationListExpired);
    let moved = RevocationList::new(ListSigner::Root, 2, now + 30, now + 86_400, vec![phone])
        .unwrap()
        .sign(&city.root)
        .unwrap();
    v.load_revocation_list(&moved).unwrap();
    assert_eq!(verdict(&v, 8, expiry).unwrap_err().reason, Reason::RevocationListExpired);
    v.load_trust_list(&trust(4, None)).unwrap();
    assert_eq!(v.revocation_lists().map(|l| l.signer).collect::<Vec<_>>(), vec![ListSigner::Root]);
    assert!(verdict(&v, 8, expiry).is_ok());
    assert_eq!(verdict(&v, 7, expiry).unwrap_err().reason, Reason::Revoked);
}

/// Issue 24, item 8: `UnverifiedCode` had public, mutable fields beside its cached
/// signing inputs, so a caller could edit `code.cards[i].claims` after parsing and get
/// an `Accepted` for claims no one signed. The fields are private now (the doc tests of
/// `UnverifiedCode` and `PrintedCode` show the edit no longer compiles) and verification
/// takes the code by value; here every value of the verdict is the one the signatures
/// cover.
#[test]
fn every_value_of_a_verdict_is_one_the_signatures_cover() {
    let city = DemoCity::new().unwrap();
    let (device, credential) = city.resident(9).unwrap();
    let scene = Scene::MetroGate;
    let code = present(&credential, &device, &scene, NOW, PresentOptions::default()).unwrap();
    let parsed = UnverifiedCode::from_bytes(code.as_bytes()).unwrap();
    let accepted = verifier(&city).verify_code(parsed.clone(), NOW).unwrap();

    // The device signed `code_tbs` = label || version, key, subject, issued_at, ...
    let signed = parsed.code_input().strip_prefix(citycode::digest::LABEL_CODE).unwrap();
    assert_eq!(accepted.subject.0[..], signed[34..42]);
    assert_eq!(accepted.issued_at.to_be_bytes()[..], signed[42..46]);
    // The issuer signed card_tbs = label || device key || subject || card body, whose first
    // byte here is the key id; and the claims it signed are those of the holder's card.
    let card_tbs = parsed.card_input(0);
    let body = &card_tbs[citycode::digest::LABEL_CARD.len() + 1 + 32 + 8..];
    assert_eq!(accepted.issuers, vec![u32::from(body[0])]);
    let selected = credential.select(&scene, NOW).unwrap();
    assert_eq!(accepted.claims, selected[0].claims);
    // And the code's own parts are read-only copies of the same bytes.
    assert_eq!((parsed.subject(), parsed.issued_at()), (accepted.subject, accepted.issued_at));
    assert_eq!(parsed.cards()[0].claims, accepted.claims);
}
