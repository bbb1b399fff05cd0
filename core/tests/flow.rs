//! End-to-end behaviour through the public API: issue, present, verify, with the
//! cases a holder app, a turnstile and an operator meet.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Arc;

use citycode::claims::{HealthStatus, InsuranceStatus};
use citycode::demo::{self, DemoCity, key};
use citycode::keys::p256_signature_from_der;
use citycode::trust::{ListSigner, RevocationList, Revoked, TrustList};
use citycode::*;

/// The demo resident's device and subject, with other claims, valid today.
fn issue_with(city: &DemoCity, claims: Claims) -> Credential {
    city.issuer
        .issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(&city.device).unwrap(),
            subject: city.credential.subject,
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims,
            layout: CardLayout::Standard,
        })
        .unwrap()
}

fn verifier(city: &DemoCity, scene: Scene) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), scene).with_clock(FixedClock(demo::NOW));
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// A keystore-style signer: DER signatures from a P-256 key that never leaves it.
struct Keystore(KeyPair);

impl DeviceSigner for Keystore {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let fixed = self.0.sign(message);
        let der = p256::ecdsa::Signature::from_slice(&fixed).unwrap().to_der();
        Ok(p256_signature_from_der(der.as_bytes())?.to_vec())
    }
}

/// An SM2 security element's signer: DER signatures.
struct Sm2Keystore(KeyPair);

impl DeviceSigner for Sm2Keystore {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        // DER through p256's encoder: SM2 signatures share ECDSA's ASN.1 structure.
        let fixed = self.0.sign(message);
        let der = p256::ecdsa::Signature::from_slice(&fixed).unwrap().to_der();
        Ok(citycode::keys::signature_from_keystore(Algorithm::Sm2Sm3, der.as_bytes())?.to_vec())
    }
}

/// A certified signing device (HSM) holding an issuer's or the root's key: DER out.
struct SigningDevice(KeyPair);

impl DeviceSigner for SigningDevice {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let fixed = self.0.sign(message);
        Ok(p256::ecdsa::Signature::from_slice(&fixed).unwrap().to_der().as_bytes().to_vec())
    }
}

#[test]
fn issuers_and_list_signers_sign_through_a_signing_device() {
    let gm = DemoCity::gm().unwrap();
    let root = SigningDevice(key(Algorithm::Sm2Sm3, 0x01).unwrap());
    let issuer =
        Issuer::new(1, SigningDevice(key(Algorithm::Sm2Sm3, 0x02).unwrap()), Domain::ALL.map(|d| d.id()).to_vec());
    assert_eq!(issuer.public_key(), gm.issuer.public_key());
    let trust = TrustList::verify(&gm.trust_list, &gm.root.public_key()).unwrap();
    let trust = TrustList { sequence: 2, ..trust }.sign_with(&root).unwrap();
    let revocations = RevocationList {
        signer: ListSigner::Root,
        sequence: 2,
        issued_at: demo::NOW as u32,
        expires_at: demo::NOW as u32 + 3600,
        entries: Vec::new(),
    }
    .sign_with(&root)
    .unwrap();
    let device = key(Algorithm::Sm2Sm3, 0x53).unwrap();
    let cred = issuer
        .issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(&device).unwrap(),
            subject: Subject::random().unwrap(),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        })
        .unwrap();
    let mut v =
        Verifier::new(gm.root.public_key(), Scene::Hospital).with_clock(FixedClock(demo::NOW)).gm_only().unwrap();
    v.load_trust_list(&trust).unwrap();
    v.load_revocation_list(&revocations).unwrap();
    let code = present(&cred, &device, &v.required_domains(), demo::NOW, PresentOptions::default()).unwrap();
    assert!(v.verify(&code.to_text()).is_ok());

    // A device that signs with another key than it claims fails at issuance, clearly.
    struct Mixup(KeyPair, KeyPair);
    impl DeviceSigner for Mixup {
        fn public_key(&self) -> PublicKey {
            self.0.public_key()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            Ok(self.1.sign(message).to_vec())
        }
    }
    let wrong =
        Issuer::new(1, Mixup(key(Algorithm::Sm2Sm3, 0x02).unwrap(), key(Algorithm::Sm2Sm3, 0x09).unwrap()), vec![4]);
    let req = CredentialRequest {
        device_key: citycode::ProvenKey::by_signing(&device).unwrap(),
        subject: Subject::random().unwrap(),
        valid_from_day: demo::TODAY,
        valid_days: 1,
        claims: Claims { transit: demo::resident_claims().transit, ..Claims::default() },
        layout: CardLayout::Standard,
    };
    assert!(matches!(wrong.issue(&req), Err(Error::Signer(_))));
    let list = TrustList { sequence: 3, issued_at: 0, expires_at: 1, keys: Vec::new() };
    assert!(matches!(
        list.sign_with(&Mixup(key(Algorithm::Sm2Sm3, 1).unwrap(), key(Algorithm::Sm2Sm3, 2).unwrap())),
        Err(Error::Signer(_))
    ));
}

#[test]
fn a_gm_only_verifier_accepts_only_sm2_and_says_why() {
    let gm = DemoCity::gm().unwrap();
    let mut v = verifier(&gm, Scene::MetroGate).gm_only().unwrap();
    assert!(v.is_gm_only());
    let keystore = Sm2Keystore(key(Algorithm::Sm2Sm3, 0x51).unwrap());
    let cred = gm
        .issuer
        .issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(&keystore).unwrap(),
            subject: Subject::random().unwrap(),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        })
        .unwrap();
    let code = present(&cred, &keystore, &v.required_domains(), demo::NOW, PresentOptions::default()).unwrap();
    assert!(v.verify(&code.to_text()).is_ok());

    // An identity commitment must be SM3 too (issue 24): a SHA-256 one is refused, in a
    // code and in a printed code, by a GM-only verifier and only by one.
    for digest in [claims::IdDigest::Sha256, claims::IdDigest::Sm3] {
        let identity = claims::Identity::with_salt(demo::NAME, demo::ID_NUMBER, digest, [4; 16]).unwrap();
        let held = Claims { identity: Some(identity), ..demo::resident_claims() };
        let request = |device_key| CredentialRequest {
            device_key,
            subject: Subject::random().unwrap(),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: held.clone(),
            layout: CardLayout::Standard,
        };
        let cred = gm.issuer.issue(&request(citycode::ProvenKey::by_signing(&keystore).unwrap())).unwrap();
        let hotel = present(&cred, &keystore, &Scene::HotelCheckIn, demo::NOW, PresentOptions::default()).unwrap();
        let identity_only = Claims { identity: held.identity.clone(), ..Claims::default() };
        let printed =
            gm.issuer.issue_printed(Subject::random().unwrap(), &identity_only, demo::TODAY, 30, 180).unwrap();
        let strict = verifier(&gm, Scene::HotelCheckIn).gm_only().unwrap();
        let open = verifier(&gm, Scene::HotelCheckIn);
        for text in [hotel.to_text(), printed.to_text()] {
            let verdict = strict.verify(&text);
            if digest == claims::IdDigest::Sha256 {
                let err = verdict.unwrap_err();
                assert_eq!(err.reason, Reason::UnsupportedAlgorithm);
                assert!(err.detail.contains("SHA-256"), "{}", err.detail);
            } else {
                assert!(verdict.is_ok(), "{verdict:?}");
            }
            assert!(open.verify(&text).is_ok());
        }
    }

    // An Ed25519 root cannot be GM-only.
    let intl = DemoCity::new().unwrap();
    let err = verifier(&intl, Scene::MetroGate).gm_only().unwrap_err();
    assert_eq!(err.reason, Reason::UnsupportedAlgorithm);

    // A held trust list naming an Ed25519 issuer: GM-only is refused and nothing changes.
    let mut mixed = verifier(&gm, Scene::MetroGate);
    let list = TrustList {
        sequence: 2,
        issued_at: demo::NOW as u32,
        expires_at: demo::NOW as u32 + 3600,
        keys: vec![citycode::trust::IssuerKey {
            kid: 7,
            key: key(Algorithm::Ed25519, 0x52).unwrap().public_key(),
            not_before: 0,
            not_after: u32::MAX,
            domains: vec![Domain::Transit.id()],
        }],
    }
    .sign(&gm.root)
    .unwrap();
    mixed.load_trust_list(&list).unwrap();
    assert_eq!(mixed.set_gm_only().unwrap_err().reason, Reason::UnsupportedAlgorithm);
    assert!(!mixed.is_gm_only());
    // And a GM-only verifier refuses to load it.
    let third =
        TrustList { sequence: 3, ..TrustList::verify(&list, &gm.root.public_key()).unwrap() }.sign(&gm.root).unwrap();
    assert_eq!(v.load_trust_list(&third).unwrap_err().reason, Reason::UnsupportedAlgorithm);
    assert_eq!(v.trust_list().unwrap().sequence, 1);
}

#[test]
fn a_code_discloses_exactly_what_the_scene_needs() {
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Scene::Hospital);
    let code = present(&city.credential, &city.device, &Scene::Hospital, demo::NOW, PresentOptions::default()).unwrap();
    let accepted = v.verify(&code.to_text()).unwrap();
    assert_eq!(accepted.claims.domain_ids(), vec![Domain::Health.id(), Domain::MedicalInsurance.id()]);
    assert_eq!(accepted.claims.health.unwrap().status, HealthStatus::Green);
    let insurance = accepted.claims.medical_insurance.unwrap();
    assert_eq!(insurance.status, Some(InsuranceStatus::Active));
    // The hospital does not read the insurance region: its card withholds it.
    assert_eq!(insurance.region, None);
    assert!(accepted.claims.transit.is_none() && accepted.claims.tourism.is_none());
    assert_eq!(accepted.subject, city.credential.subject);
    assert_eq!(accepted.issuers, vec![1]);
    // Asked for whole domains, the holder shows whole cards: the region is there.
    let whole = present(&city.credential, &city.device, &[1, 2], demo::NOW, PresentOptions::default()).unwrap();
    let accepted = v.verify(&whole.to_text()).unwrap();
    assert_eq!(accepted.claims.medical_insurance.unwrap().region, Some(demo::REGION));
}

#[test]
fn each_scene_gets_its_own_card_and_never_another_sites_pass() {
    let city = DemoCity::new().unwrap();
    let cred = &city.credential;
    let full = demo::resident_claims();
    for scene in [
        Scene::Hospital,
        Scene::Parking,
        Scene::MetroGate,
        Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: 480 },
    ] {
        let chosen = cred.select(&scene, demo::NOW).unwrap();
        assert_eq!(chosen.len(), 1, "{scene:?}");
        assert_eq!(chosen[0].claims, scene.view(&full), "{scene:?}");
    }
    let parking = &cred.select(&Scene::Parking, demo::NOW).unwrap()[0].claims;
    assert_eq!(parking.transit.as_ref().unwrap().fare_class, None);

    // Two sites: each gate gets only its own site's entries.
    let mut claims = demo::resident_claims();
    let mut other = claims.tourism.as_ref().unwrap().entries[0].clone();
    other.site = demo::SITE + 1;
    claims.tourism.as_mut().unwrap().entries.push(other);
    let two = issue_with(&city, claims.clone());
    let here = Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: 480 };
    let picked = &two.select(&here, demo::NOW).unwrap()[0].claims;
    assert!(picked.tourism.as_ref().unwrap().entries.iter().all(|e| e.site == demo::SITE));
    // Without that site's card, the whole tourism card serves, never the other site's.
    let only_other_site = |c: &citycode::credential::Card| {
        c.claims.tourism.as_ref().is_some_and(|t| t.entries.iter().all(|e| e.site != demo::SITE))
    };
    let mut fewer = two.clone();
    fewer.cards.retain(|c| {
        c.claims.domain_ids() != vec![5] || only_other_site(c) || c.claims.tourism.as_ref().unwrap().entries.len() == 2
    });
    let picked = &fewer.select(&here, demo::NOW).unwrap()[0].claims;
    assert_eq!(picked.tourism.as_ref().unwrap().entries.len(), 2);
    fewer.cards.retain(|c| !c.claims.has(Domain::Tourism) || only_other_site(c));
    assert_eq!(fewer.cards.iter().filter(|c| only_other_site(c)).count(), 1);
    assert!(matches!(fewer.select(&here, demo::NOW), Err(Error::MissingDomain(_))));
    // Domain-level, the other site's card is still a tourism card.
    assert!(fewer.select_cards(&[5], demo::NOW).is_ok());

    // A credential of whole cards only (a custom layout) still serves every scene.
    let singles = Credential {
        cards: cred
            .cards
            .iter()
            .filter(|c| c.claims.domain_ids().len() == 1 && !c.claims.withholds())
            .cloned()
            .collect(),
        ..cred.clone()
    };
    let chosen = singles.select(&Scene::MetroGate, demo::NOW).unwrap();
    assert_eq!(chosen[0].claims.transit, full.transit);
    // The hospital from two single cards, as before scenes had their own.
    let chosen = singles.select(&Scene::Hospital, demo::NOW).unwrap();
    let ids: Vec<Vec<u32>> = chosen.iter().map(|c| c.claims.domain_ids()).collect();
    assert_eq!(ids, vec![vec![1], vec![2]]);
}

#[test]
fn external_p256_signer_with_der_output_makes_verifiable_codes() {
    let city = DemoCity::new().unwrap();
    let keystore = Keystore(KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap());
    let cred = city
        .issuer
        .issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(&keystore).unwrap(),
            subject: Subject::random().unwrap(),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        })
        .unwrap();
    let v = verifier(&city, Scene::MetroGate);
    let code = present(&cred, &keystore, &v.required_domains(), demo::NOW, PresentOptions::default()).unwrap();
    assert!(v.verify(&code.to_text()).is_ok());
    // Through base64url as well.
    let parsed = UnverifiedCode::from_bytes(&text::decode_base64url(&code.to_base64url()).unwrap()).unwrap();
    assert_eq!(*parsed.device_key(), keystore.public_key());
}

#[test]
fn holder_refuses_a_signer_for_another_key_or_a_bad_signature() {
    let city = DemoCity::new().unwrap();
    let other = key(Algorithm::Ed25519, 0x42).unwrap();
    let err = present(&city.credential, &other, &[4], demo::NOW, PresentOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Signer(_)), "{err}");

    struct Liar<'a>(&'a KeyPair);
    impl DeviceSigner for Liar<'_> {
        fn public_key(&self) -> PublicKey {
            self.0.public_key()
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, Error> {
            Ok(vec![7u8; 64])
        }
    }
    let err = present(&city.credential, &Liar(&city.device), &[4], demo::NOW, PresentOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Signer(_)), "{err}");
}

#[test]
fn holder_reports_a_domain_the_credential_lacks() {
    let city = DemoCity::new().unwrap();
    let mut claims = demo::resident_claims();
    claims.tourism = None;
    let cred = issue_with(&city, claims);
    let err = present(&cred, &city.device, &[Domain::Tourism.id()], demo::NOW, PresentOptions::default()).unwrap_err();
    assert!(matches!(err, Error::MissingDomain(ref d) if d == "tourism"), "{err}");
}

#[test]
fn card_selection_prefers_one_exact_card_then_an_exact_cover_then_a_superset() {
    let city = DemoCity::new().unwrap();
    let cred = &city.credential;
    let pick = |wanted: &[u32]| -> Vec<Vec<u32>> {
        cred.select_cards(wanted, demo::NOW).unwrap().iter().map(|c| c.claims.domain_ids()).collect()
    };
    // The only {1, 2} card is the hospital's, which withholds the insurance region:
    // whole domains come from two single cards.
    assert_eq!(pick(&[1, 2]), vec![vec![1], vec![2]]);
    assert!(cred.select_cards(&[1, 2], demo::NOW).unwrap().iter().all(|c| !c.claims.withholds()));
    assert_eq!(pick(&[4]), vec![vec![4]]);
    assert!(!cred.select_cards(&[4], demo::NOW).unwrap()[0].claims.withholds());
    let scene_only =
        Credential { cards: cred.cards.iter().filter(|c| c.claims.withholds()).cloned().collect(), ..cred.clone() };
    // With only scene cards left, they serve a whole-domain request rather than none.
    assert_eq!(scene_only.select_cards(&[1, 2], demo::NOW).unwrap()[0].claims.domain_ids(), vec![1, 2]);
    // No card is exactly {1, 4}: two single cards.
    assert_eq!(pick(&[4, 1]), vec![vec![1], vec![4]]);
    let bundle_only = Credential {
        cards: cred.cards.iter().filter(|c| c.claims.domain_ids().len() == 5).cloned().collect(),
        ..cred.clone()
    };
    let chosen = bundle_only.select_cards(&[4], demo::NOW).unwrap();
    assert_eq!(chosen[0].claims.domain_ids().len(), 5);
    // Expired cards are never chosen.
    assert!(cred.select_cards(&[4], demo::NOW + 30 * 86_400).is_err());
}

#[test]
fn credential_storage_round_trips_and_rejects_trailing_bytes() {
    let city = DemoCity::new().unwrap();
    let text = city.credential.to_base64url().unwrap();
    assert_eq!(Credential::from_base64url(&text).unwrap(), city.credential);
    let mut bytes = city.credential.to_bytes().unwrap();
    bytes.push(0);
    assert!(matches!(Credential::from_bytes(&bytes), Err(Error::Invalid(r)) if r.reason == Reason::TrailingBytes));
}

#[test]
fn issuer_refuses_domains_outside_its_scope() {
    let city = DemoCity::new().unwrap();
    let transit_only = Issuer::new(5, key(Algorithm::Ed25519, 0x55).unwrap(), vec![Domain::Transit.id()]);
    let err = transit_only
        .issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(&city.device).unwrap(),
            subject: city.credential.subject,
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        })
        .unwrap_err();
    assert!(matches!(err, Error::OutOfScope { kid: 5, ref domain } if domain == "health"), "{err}");
}

#[test]
fn verifiers_sharing_a_replay_store_reject_a_code_replayed_on_another() {
    let city = DemoCity::new().unwrap();
    let shared: Arc<dyn ReplayStore> = Arc::new(ReplayGuard::new(1000));
    let a = verifier(&city, Scene::MetroGate).with_replay_store(shared.clone());
    let b = verifier(&city, Scene::MetroGate).with_replay_store(shared);
    let code = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap().to_text();
    assert!(a.verify(&code).is_ok());
    assert_eq!(b.verify(&code).unwrap_err().reason, Reason::Replayed);
    // A separate verifier with its own guard accepts it once.
    assert!(verifier(&city, Scene::MetroGate).verify(&code).is_ok());
}

#[test]
fn replay_guard_stays_bounded_and_fails_closed() {
    let city = DemoCity::new().unwrap();
    let guard = Arc::new(ReplayGuard::new(3));
    let v = verifier(&city, Scene::MetroGate).with_replay_store(guard.clone());
    let mut codes = Vec::new();
    for n in 0..4u8 {
        let opts = PresentOptions { validity_secs: 60, nonce: Some([n, 0, 0, 0]) };
        codes.push(present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text());
    }
    for c in &codes[..3] {
        assert!(v.verify(c).is_ok());
    }
    assert_eq!(v.verify(&codes[3]).unwrap_err().reason, Reason::ReplayCapacity);
    assert_eq!(guard.len(), 3);
    // Once the first three expire, the fourth (built later) is accepted and they are gone.
    let later = demo::NOW + 100;
    let opts = PresentOptions { validity_secs: 60, nonce: Some([9, 0, 0, 0]) };
    let fresh = present(&city.credential, &city.device, &[4], later, opts).unwrap().to_text();
    assert!(v.verify_at(&fresh, later).is_ok());
    assert_eq!(guard.len(), 1);
}

#[test]
fn skew_edges_for_code_and_card_validity() {
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Scene::MetroGate).with_skew(10);
    let at = demo::NOW;
    let code = |t: u64, n: u8| {
        present(
            &city.credential,
            &city.device,
            &[4],
            t,
            PresentOptions { validity_secs: 60, nonce: Some([n, 1, 2, 3]) },
        )
        .unwrap()
        .to_text()
    };
    assert!(v.verify_at(&code(at, 1), at + 69).is_ok());
    assert_eq!(v.verify_at(&code(at, 2), at + 70).unwrap_err().reason, Reason::CodeExpired);
    assert!(v.verify_at(&code(at + 10, 3), at).is_ok());
    assert_eq!(v.verify_at(&code(at + 11, 4), at).unwrap_err().reason, Reason::CodeNotYetValid);
    // The demo card runs from TODAY-1 for 7 days (past the demo revocation list's
    // expiry, so check it with a verifier that holds only the trust list).
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_skew(10).allow_missing_revocation_list();
    v.load_trust_list(&city.trust_list).unwrap();
    let card_end = (u64::from(demo::TODAY) + 6) * 86_400;
    assert!(v.verify_at(&code(card_end - 5, 5), card_end + 9).is_ok());
    assert_eq!(v.verify_at(&code(card_end - 5, 6), card_end + 10).unwrap_err().reason, Reason::CredentialExpired);
}

/// The demo resident's transit code at the demo time, with this nonce.
fn metro_code(city: &DemoCity, nonce: [u8; 4]) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some(nonce) };
    present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
}

#[test]
fn no_revocation_list_refuses_unless_allowed_and_verdicts_say_so() {
    let city = DemoCity::new().unwrap();
    let code = |n: u8| metro_code(&city, [n, 9, 9, 9]);
    // Fail closed: a trust list alone is not enough.
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    assert!(v.revocation_required());
    assert_eq!(v.verify_at(&code(1), demo::NOW).unwrap_err().reason, Reason::NoRevocationList);
    assert_eq!(v.ready_at(demo::NOW).unwrap_err().reason, Reason::NoRevocationList);
    // The refusal took no replay slot: once the list is loaded the same code passes.
    v.load_revocation_list(&city.revocation_list).unwrap();
    assert!(v.ready_at(demo::NOW).is_ok());
    assert!(v.verify_at(&code(1), demo::NOW).unwrap().revocation_checked);
    // Opted out explicitly: accepted, and the verdict says revocation was not checked.
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).allow_missing_revocation_list();
    v.load_trust_list(&city.trust_list).unwrap();
    let accepted = v.verify_at(&code(2), demo::NOW).unwrap();
    assert!(!accepted.revocation_checked);
    // No trust list is reported before no revocation list.
    let v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    assert_eq!(v.verify_at(&code(3), demo::NOW).unwrap_err().reason, Reason::NoTrustList);
}

/// Issue 24, item 2: with only issuer 5's list (an issuer that may attest tourism only)
/// loaded, a device that the root-signed list revokes was accepted with
/// `revocation_checked: true`. The root-signed list is required.
#[test]
fn the_root_signed_revocation_list_is_required_whatever_issuer_lists_are_held() {
    let city = DemoCity::new().unwrap();
    let now = demo::NOW as u32;
    let key_5 = key(Algorithm::Ed25519, 0x25).unwrap();
    let mut trust = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    trust.sequence += 1;
    trust.keys.push(citycode::trust::IssuerKey {
        kid: 5,
        key: key_5.public_key(),
        not_before: now - 3600,
        not_after: now + 3600,
        domains: vec![5],
    });
    let trust = trust.sign(&city.root).unwrap();
    let issuer_5 =
        RevocationList::new(ListSigner::Issuer(5), 1, now, now + 3600, vec![]).unwrap().sign(&key_5).unwrap();
    let phone = Revoked::DeviceKey(city.device.public_key().key_id());
    let root =
        RevocationList::new(ListSigner::Root, 2, now, now + 3600, vec![phone]).unwrap().sign(&city.root).unwrap();
    let code = |n: u8| metro_code(&city, [n, 5, 5, 5]);
    let with = |v: Verifier, lists: &[&[u8]]| {
        let mut v = v.with_clock(FixedClock(demo::NOW));
        v.load_trust_list(&trust).unwrap();
        for l in lists {
            v.load_revocation_list(l).unwrap();
        }
        v
    };
    let strict = || Verifier::new(city.root.public_key(), Scene::MetroGate);

    // Issuer 5's list alone: refused, and the verifier is not ready.
    let v = with(strict(), &[&issuer_5]);
    let err = v.verify_at(&code(1), demo::NOW).unwrap_err();
    assert_eq!(err.reason, Reason::NoRevocationList);
    assert!(err.detail.contains("root-signed"), "{}", err.detail);
    assert_eq!(v.ready_at(demo::NOW).unwrap_err().reason, Reason::NoRevocationList);
    // With the root's list too: the phone is revoked.
    let v = with(strict(), &[&issuer_5, &root]);
    assert_eq!(v.verify_at(&code(2), demo::NOW).unwrap_err().reason, Reason::Revoked);
    assert!(v.ready_at(demo::NOW).is_ok());
    // A verifier told to run without revocation lists accepts with issuer 5's list
    // alone, and its verdict says the root's list was not checked.
    let v = with(strict().allow_missing_revocation_list(), &[&issuer_5]);
    assert!(!v.verify_at(&code(3), demo::NOW).unwrap().revocation_checked);
    let v = with(strict().allow_missing_revocation_list(), &[&issuer_5, &city.revocation_list]);
    assert!(v.verify_at(&code(4), demo::NOW).unwrap().revocation_checked);
}

/// Issue 24, item 5: a one-shot run (the CLI) accepted the same code on every run, and
/// the verdict did not say that replay went unchecked. A store that records nothing says
/// so in every verdict; a file store refuses the code on the next run.
#[test]
fn a_one_shot_verifier_says_whether_replay_was_checked() {
    let city = DemoCity::new().unwrap();
    let text = metro_code(&city, [4, 4, 4, 4]);
    let run = |store: Arc<dyn ReplayStore>| verifier(&city, Scene::MetroGate).with_replay_store(store).verify(&text);
    // Remembering nothing: accepted on every run, and each verdict says so.
    for _ in 0..3 {
        let accepted = run(Arc::new(NoReplayCheck)).unwrap();
        assert!(!accepted.replay_checked);
        let verdict = serde_json::to_value(Verdict::from(Ok(accepted))).unwrap();
        assert_eq!(verdict["replay_checked"], false);
    }
    // A file shared by the runs: the second run refuses the code as replayed.
    let dir = std::env::temp_dir().join(format!("citycode-flow-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("replay.bin");
    let _ = std::fs::remove_file(&file);
    let first = run(Arc::new(FileReplayStore::new(&file))).unwrap();
    assert!(first.replay_checked);
    assert_eq!(serde_json::to_value(Verdict::from(Ok(first))).unwrap()["replay_checked"], true);
    assert_eq!(run(Arc::new(FileReplayStore::new(&file))).unwrap_err().reason, Reason::Replayed);
    let _ = std::fs::remove_dir_all(&dir);
    // The default in-memory guard checks replay too.
    assert!(verifier(&city, Scene::MetroGate).verify(&text).unwrap().replay_checked);
}

#[test]
fn scanner_line_terminators_and_over_long_input() {
    let city = DemoCity::new().unwrap();
    let v = verifier(&city, Scene::MetroGate);
    let code = |n: u8| metro_code(&city, [n, 7, 7, 7]);
    for (n, suffix) in [(1, "\n"), (2, "\r"), (3, "\r\n")] {
        assert!(v.verify_at(&format!("{}{suffix}", code(n)), demo::NOW).is_ok(), "{suffix:?}");
    }
    // The same code with and without a terminator is one code: a replay.
    assert_eq!(v.verify_at(&code(1), demo::NOW).unwrap_err().reason, Reason::Replayed);
    assert_eq!(v.verify_at(&format!("{}\n\n", code(4)), demo::NOW).unwrap_err().reason, Reason::TextEncoding);
    assert_eq!(v.verify_at(&format!("{} ", code(4)), demo::NOW).unwrap_err().reason, Reason::TextEncoding);
    let huge = format!("{}{}", code(4), "0".repeat(64 << 20));
    assert_eq!(v.verify_at(&huge, demo::NOW).unwrap_err().reason, Reason::TextTooLong);
    assert!(v.verify_at(&code(4), demo::NOW).is_ok());
}

#[test]
fn lists_refuse_rollback_and_conflicts_but_accept_reloads_and_updates() {
    let city = DemoCity::new().unwrap();
    let mut v = verifier(&city, Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    let held = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
    let mut newer = held.clone();
    newer.sequence = 2;
    v.load_trust_list(&newer.sign(&city.root).unwrap()).unwrap();
    assert_eq!(v.load_trust_list(&city.trust_list).unwrap_err().reason, Reason::TrustListRollback);
    let mut conflicting = newer.clone();
    conflicting.expires_at += 1;
    assert_eq!(
        v.load_trust_list(&conflicting.sign(&city.root).unwrap()).unwrap_err().reason,
        Reason::TrustListRollback
    );
    assert_eq!(v.trust_list().unwrap().sequence, 2);

    // Revocation after issuance: the code verifies, then a newer list revokes the device.
    let code = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap();
    let parsed = UnverifiedCode::from_text(&code.to_text()).unwrap();
    let v2 = verifier(&city, Scene::MetroGate);
    assert!(v2.verify_code(parsed.clone(), demo::NOW).is_ok());
    let mut v3 = verifier(&city, Scene::MetroGate);
    let revoke = RevocationList {
        signer: ListSigner::Root,
        sequence: 2,
        issued_at: demo::NOW as u32,
        expires_at: demo::NOW as u32 + 3600,
        entries: vec![Revoked::DeviceKey(city.device.public_key().key_id())],
    };
    v3.load_revocation_list(&revoke.sign(&city.root).unwrap()).unwrap();
    assert_eq!(v3.verify_code(parsed.clone(), demo::NOW).unwrap_err().reason, Reason::Revoked);
    // An issuer may not sign a list in the root's name, nor one for an unknown key id.
    let mut forged = revoke.clone();
    forged.sequence = 3;
    assert_eq!(
        v3.load_revocation_list(&forged.sign(&key(Algorithm::Ed25519, 0x02).unwrap()).unwrap()).unwrap_err().reason,
        Reason::BadRevocationListSignature
    );
    forged.signer = ListSigner::Issuer(99);
    assert_eq!(
        v3.load_revocation_list(&forged.sign(&key(Algorithm::Ed25519, 0x02).unwrap()).unwrap()).unwrap_err().reason,
        Reason::BadRevocationListSignature
    );
}

#[test]
fn custom_policies_plug_in() {
    struct SeniorsRideFree;
    impl Policy for SeniorsRideFree {
        fn name(&self) -> String {
            "senior_free_bus".into()
        }
        fn required_domains(&self) -> Vec<Domain> {
            vec![Domain::Transit]
        }
        fn check(&self, claims: &Claims, _: &PolicyContext) -> Result<(), PolicyRefusal> {
            match &claims.transit {
                Some(t) if t.fare_class == Some(claims::FareClass::SeniorFree) => Ok(()),
                _ => Err(PolicyRefusal::Other("not a senior free-ride account".into())),
            }
        }
    }
    let city = DemoCity::new().unwrap();
    let mut v = verifier(&city, Scene::MetroGate);
    v.set_policy(SeniorsRideFree);
    let code =
        present(&city.credential, &city.device, &v.required_domains(), demo::NOW, PresentOptions::default()).unwrap();
    assert_eq!(v.verify(&code.to_text()).unwrap().policy, "senior_free_bus");
    let mut claims = demo::resident_claims();
    claims.transit.as_mut().unwrap().fare_class = Some(claims::FareClass::Standard);
    let cred = issue_with(&city, claims);
    let code = present(&cred, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap();
    let err = v.verify(&code.to_text()).unwrap_err();
    assert_eq!(err.reason, Reason::PolicyUnmet);
    assert_eq!(err.detail, "not a senior free-ride account");
}

#[test]
fn refresh_hint_is_half_the_validity() {
    let city = DemoCity::new().unwrap();
    let code = present(&city.credential, &city.device, &[4], demo::NOW, PresentOptions::default()).unwrap();
    assert_eq!(code.refresh_in(demo::NOW), 30);
    assert_eq!(code.refresh_in(demo::NOW + 25), 5);
    assert_eq!(code.refresh_in(demo::NOW + 90), 0);
    assert_eq!(code.expires_at(), demo::NOW + 60);
}

#[test]
fn every_reason_code_is_unique_and_round_trips() {
    let mut codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    for r in Reason::ALL {
        assert_eq!(Reason::from_code(r.code()), Some(r));
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), Reason::ALL.len());
    assert_eq!(Reason::from_code("nope"), None);
}

#[test]
fn secrets_never_reach_debug_output() {
    let city = DemoCity::new().unwrap();
    let secret_hex = text::hex(&city.device.secret_bytes());
    for shown in [format!("{:?}", city.device), format!("{:?}", city.issuer), format!("{city:?}")] {
        assert!(!shown.contains(&secret_hex), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
