//! Guardian codes and real-name scenes end to end: a relative's phone shows an elder's
//! code; the verdict says so; a car park refuses it; revoking the guardianship ends it
//! and nothing else; a hotel checks the guest's identity document against the code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::claims::{Identity, Relation};
use citycode::demo::{self, DemoCity};
use citycode::digest::{LABEL_CARD, LABEL_GUARDIAN_CARD};
use citycode::trust::{ListSigner, RevocationList, Revoked};
use citycode::*;

fn verifier(city: &DemoCity, scene: Scene) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), scene).with_clock(FixedClock(demo::NOW));
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// An elder's claims (no phone of her own), issued to the demo resident's phone.
fn grandma(city: &DemoCity, subject: u8) -> Credential {
    let mut claims = demo::resident_claims();
    if let Some(h) = claims.health.as_mut() {
        h.status = claims::HealthStatus::Yellow;
    }
    city.issuer
        .issue_guardian(
            &CredentialRequest {
                device_key: ProvenKey::by_signing(&city.device).unwrap(),
                subject: Subject([subject; 8]),
                valid_from_day: demo::TODAY,
                valid_days: 30,
                claims,
                layout: CardLayout::Standard,
            },
            Relation::Child,
        )
        .unwrap()
}

fn opts() -> PresentOptions {
    PresentOptions { validity_secs: 60, nonce: None }
}

#[test]
fn a_guardian_shows_a_dependants_code_and_the_verdict_says_so() {
    let city = DemoCity::new().unwrap();
    let elder = grandma(&city, 0xe1);
    assert!(elder.cards.iter().all(|c| c.claims.guardian.is_some()), "every card says it is a guardian's");
    let mut wallet = Wallet::new(&city.device);
    wallet.set_own(city.credential.clone()).unwrap();
    wallet.add_dependant("grandma", elder.clone()).unwrap();

    let hospital = verifier(&city, Scene::Hospital);
    let code = wallet.present(Some("grandma"), &Scene::Hospital, demo::NOW, opts()).unwrap();
    let accepted = hospital.verify(&code.to_text()).unwrap();
    assert_eq!(accepted.guardian(), Some(Relation::Child));
    assert_eq!(accepted.subject, elder.subject);
    assert_eq!(accepted.claims.health.unwrap().status, claims::HealthStatus::Yellow, "the elder's claims");
    assert_eq!(accepted.claims.medical_insurance.unwrap().region, None, "and only what the hospital reads");
    // The guardian's own code is the guardian's, and says nothing of guardianship.
    let own = hospital.verify(&wallet.present(None, &Scene::Hospital, demo::NOW, opts()).unwrap().to_text()).unwrap();
    assert_eq!((own.guardian(), own.subject), (None, city.credential.subject));

    // A car park refuses a guardian's code: paying is the account holder's own act.
    let parking = verifier(&city, Scene::Parking);
    let refused =
        parking.verify(&wallet.present(Some("grandma"), &Scene::Parking, demo::NOW, opts()).unwrap().to_text());
    let refused = refused.unwrap_err();
    assert_eq!(refused.reason, Reason::PolicyUnmet);
    assert!(refused.detail.contains("guardian"), "{}", refused.detail);
    // A metro gate lets the elder through on it.
    let metro = verifier(&city, Scene::MetroGate);
    assert!(
        metro.verify(&wallet.present(Some("grandma"), &Scene::MetroGate, demo::NOW, opts()).unwrap().to_text()).is_ok()
    );
}

#[test]
fn a_custom_layout_signs_each_guardian_card_once() {
    let city = DemoCity::new().unwrap();
    let request = CredentialRequest {
        device_key: ProvenKey::by_signing(&city.device).unwrap(),
        subject: Subject([0xe4; 8]),
        valid_from_day: demo::TODAY,
        valid_days: 30,
        claims: demo::resident_claims(),
        layout: CardLayout::Custom(vec![vec![4], vec![1], vec![4, 7], vec![7]]),
    };
    let credential = city.issuer.issue_guardian(&request, Relation::Parent).unwrap();
    // {4} and {4, 7} are one guardian's card; {7} alone would disclose nothing.
    let sets: Vec<Vec<u32>> = credential.cards.iter().map(|c| c.claims.domain_ids()).collect();
    assert_eq!(sets, vec![vec![4, 7], vec![1, 7]]);
}

#[test]
fn a_verifier_that_ignores_guardianship_cannot_verify_a_guardians_card() {
    let city = DemoCity::new().unwrap();
    let elder = grandma(&city, 0xe2);
    let code = present(&elder, &city.device, &Scene::MetroGate, demo::NOW, opts()).unwrap();
    let parsed = UnverifiedCode::from_bytes(code.as_bytes()).unwrap();
    let input = parsed.card_input(0);
    assert!(input.starts_with(LABEL_GUARDIAN_CARD));
    let issuer_key = city.issuer.public_key();
    assert!(issuer_key.verify(input, &parsed.cards()[0].signature));
    // The same bytes under the ordinary card label, as a verifier that carries domain 7
    // as opaque would check them: the signature does not verify, so it fails closed.
    let mut plain = LABEL_CARD.to_vec();
    plain.extend_from_slice(&input[LABEL_GUARDIAN_CARD.len()..]);
    assert!(!issuer_key.verify(&plain, &parsed.cards()[0].signature));
}

#[test]
fn the_wallet_keeps_its_limit_and_its_key() {
    let city = DemoCity::new().unwrap();
    let mut wallet = Wallet::new(&city.device);
    for n in 0..MAX_DEPENDANTS as u8 {
        wallet.add_dependant(&format!("d{n}"), grandma(&city, n)).unwrap();
    }
    let sixth = wallet.add_dependant("d5", grandma(&city, 9)).unwrap_err();
    assert!(matches!(sixth, Error::OutOfRange(ref m) if m.contains("at most 5")), "{sixth}");
    // A renewal of a held dependant is not a new one.
    wallet.add_dependant("d0", grandma(&city, 10)).unwrap();
    assert_eq!(wallet.dependant("d0").unwrap().subject, Subject([10; 8]));
    assert!(wallet.remove_dependant("d1"));
    assert!(!wallet.remove_dependant("d1"));
    wallet.add_dependant("d5", grandma(&city, 11)).unwrap();
    assert_eq!(wallet.dependants().collect::<Vec<_>>(), ["d0", "d2", "d3", "d4", "d5"]);
    // Not a guardian's card, or bound to another key: refused.
    assert!(matches!(wallet.add_dependant("x", city.credential.clone()), Err(Error::OutOfRange(_))));
    assert!(matches!(wallet.set_own(grandma(&city, 12)), Err(Error::OutOfRange(_))));
    let (_, stranger) = city.resident(3).unwrap();
    assert!(matches!(wallet.set_own(stranger), Err(Error::Signer(_))));
    assert!(matches!(wallet.present(Some("nobody"), &Scene::MetroGate, demo::NOW, opts()), Err(Error::OutOfRange(_))));
    assert!(matches!(wallet.present(None, &Scene::MetroGate, demo::NOW, opts()), Err(Error::OutOfRange(_))));
}

#[test]
fn revoking_the_guardianship_ends_it_and_nothing_else() {
    let city = DemoCity::new().unwrap();
    let elder = grandma(&city, 0xe3);
    let mut v = verifier(&city, Scene::MetroGate);
    let list = RevocationList::new(
        ListSigner::Root,
        2,
        demo::NOW as u32 - 60,
        demo::NOW as u32 + 3600,
        vec![Revoked::Subject(elder.subject.0)],
    )
    .unwrap();
    v.load_revocation_list(&list.sign(&city.root).unwrap()).unwrap();
    let theirs = present(&elder, &city.device, &Scene::MetroGate, demo::NOW, opts()).unwrap();
    assert_eq!(v.verify(&theirs.to_text()).unwrap_err().reason, Reason::Revoked);
    let own = present(&city.credential, &city.device, &Scene::MetroGate, demo::NOW, opts()).unwrap();
    assert!(v.verify(&own.to_text()).is_ok(), "the guardian's own code still works");
}

#[test]
fn a_hotel_reads_the_name_and_checks_the_document_against_the_commitment() {
    let city = DemoCity::new().unwrap();
    let mut claims = demo::resident_claims();
    claims.identity = Some(demo::resident_identity().unwrap());
    let credential = city
        .issuer
        .issue(&CredentialRequest {
            device_key: ProvenKey::by_signing(&city.device).unwrap(),
            subject: city.credential.subject,
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims,
            layout: CardLayout::Standard,
        })
        .unwrap();
    let hotel = verifier(&city, Scene::HotelCheckIn);
    let code = present(&credential, &city.device, &Scene::HotelCheckIn, demo::NOW, opts()).unwrap();
    let accepted = hotel.verify(&code.to_text()).unwrap();
    assert_eq!(accepted.claims.domain_ids(), vec![Domain::Identity.id()], "the hotel is told the identity only");
    let identity: Identity = accepted.claims.identity.unwrap();
    assert_eq!(identity.name, demo::NAME);
    // The ID-card reader's number matches; another person's does not.
    assert!(identity.matches(demo::ID_NUMBER).unwrap());
    assert!(!identity.matches("110105194912310011").unwrap());
    // The identity card is never chosen where the scene does not read it.
    let metro = present(&credential, &city.device, &Scene::MetroGate, demo::NOW, opts()).unwrap();
    assert!(UnverifiedCode::from_bytes(metro.as_bytes()).unwrap().untrusted_claims().identity.is_none());
    // Without identity, a hotel refuses.
    let transit_only = present(&credential, &city.device, &[4], demo::NOW, opts()).unwrap();
    assert_eq!(hotel.verify(&transit_only.to_text()).unwrap_err().reason, Reason::PolicyUnmet);
}
