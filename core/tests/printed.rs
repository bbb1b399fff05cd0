//! Printed codes end to end: issued for 180 days, accepted only where staff check the
//! identity document, cancelled by reissuing, printed on an A6 card whose symbol the
//! same scanners read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::claims::{Claims, Health, HealthStatus, InsuranceStatus, MedicalInsurance};
use citycode::demo::{self, DemoCity};
use citycode::print_card::printed_card_svg;
use citycode::trust::{ListSigner, RevocationList, Revoked, TrustList};
use citycode::*;

/// Seconds in a day.
const DAY: u64 = 86_400;

fn verifier(city: &DemoCity, scene: Scene) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), scene).with_clock(FixedClock(demo::NOW));
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// What an elder's printed card carries: identity, health, the insurance status.
fn claims() -> Claims {
    Claims {
        health: Some(Health { status: HealthStatus::Green, valid_until_day: demo::TODAY + 179 }),
        medical_insurance: Some(MedicalInsurance { region: None, status: Some(InsuranceStatus::Active) }),
        identity: Some(demo::resident_identity().unwrap()),
        ..Claims::default()
    }
}

fn printed(city: &DemoCity, subject: u8) -> PrintedCode {
    city.issuer
        .issue_printed(Subject([subject; 8]), &claims(), demo::TODAY, PRINTED_MAX_DAYS, PRINTED_MAX_DAYS)
        .unwrap()
}

#[test]
fn accepted_at_staffed_counters_only_and_the_verdict_says_check_the_id() {
    let city = DemoCity::new().unwrap();
    let code = printed(&city, 0x91);
    let text = code.to_text();
    let qr = Qr::new(&text).unwrap();
    assert!(qr.version <= 11, "QR version {}", qr.version);
    let accepted = verifier(&city, Scene::Hospital).verify(&text).unwrap();
    assert!(accepted.printed);
    assert_eq!(accepted.subject, Subject([0x91; 8]));
    assert!(accepted.claims.identity.unwrap().matches(demo::ID_NUMBER).unwrap());
    // Static: the same card is shown every visit, so it takes no replay slot.
    assert!(verifier(&city, Scene::Hospital).verify(&text).is_ok());
    let hospital = verifier(&city, Scene::Hospital);
    assert!(hospital.verify(&text).is_ok() && hospital.verify(&text).is_ok());
    assert!(verifier(&city, Scene::HotelCheckIn).verify(&text).unwrap().printed);
    // Never at an unattended gate, whatever it carries.
    for scene in [Scene::MetroGate, Scene::Parking, Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: 480 }] {
        let refused = verifier(&city, scene.clone()).verify(&text).unwrap_err();
        assert_eq!(refused.reason, Reason::PolicyUnmet, "{scene:?}");
        assert!(refused.detail.contains("printed"), "{}", refused.detail);
    }
    // Valid 180 days, then expired (lists refreshed meanwhile, as a terminal's are).
    let later = |days: u64| {
        let at = (demo::NOW + days * DAY) as u32;
        let trust = TrustList::verify(&city.trust_list, &city.root.public_key()).unwrap();
        let trust = TrustList { sequence: 2, issued_at: at - 60, expires_at: at + 3600, ..trust };
        let revocations = RevocationList::new(ListSigner::Root, 2, at - 60, at + 3600, vec![]).unwrap();
        let mut v = Verifier::new(city.root.public_key(), Scene::Hospital);
        v.load_trust_list(&trust.sign(&city.root).unwrap()).unwrap();
        v.load_revocation_list(&revocations.sign(&city.root).unwrap()).unwrap();
        v.verify_at(&text, u64::from(at))
    };
    assert!(later(179).is_ok());
    assert_eq!(later(181).unwrap_err().reason, Reason::CredentialExpired);
    // A device-bound code still verifies as before beside it, in one batch too.
    let phone =
        present(&city.credential, &city.device, &Scene::Hospital, demo::NOW, PresentOptions::default()).unwrap();
    let texts = [text.as_str(), &phone.to_text(), text.as_str()];
    let batch = verifier(&city, Scene::Hospital).verify_batch_at(&texts, demo::NOW);
    let one_by_one: Vec<_> = {
        let v = verifier(&city, Scene::Hospital);
        texts.iter().map(|t| v.verify_at(t, demo::NOW)).collect()
    };
    assert_eq!(batch, one_by_one);
    assert!(batch.iter().all(Result::is_ok));
}

#[test]
fn reissuing_cancels_the_old_card_and_forgeries_fail() {
    let city = DemoCity::new().unwrap();
    let old = printed(&city, 0x92);
    let new = printed(&city, 0x93);
    let mut v = verifier(&city, Scene::Hospital);
    let list = RevocationList::new(
        ListSigner::Root,
        2,
        demo::NOW as u32 - 60,
        demo::NOW as u32 + 3600,
        vec![Revoked::Subject(old.subject().0)],
    )
    .unwrap();
    v.load_revocation_list(&list.sign(&city.root).unwrap()).unwrap();
    assert_eq!(v.verify(&old.to_text()).unwrap_err().reason, Reason::Revoked);
    assert!(v.verify(&new.to_text()).is_ok());
    // One flipped bit in the issuer signature, or the subject swapped: refused.
    let mut bytes = new.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let flipped = text::encode_text(&bytes);
    assert_eq!(verifier(&city, Scene::Hospital).verify(&flipped).unwrap_err().reason, Reason::BadIssuerSignature);
    let mut swapped = new.as_bytes().to_vec();
    swapped[2..10].copy_from_slice(&old.subject().0);
    let swapped = text::encode_text(&swapped);
    assert_eq!(verifier(&city, Scene::Hospital).verify(&swapped).unwrap_err().reason, Reason::BadIssuerSignature);
}

#[test]
fn a_printed_code_always_carries_identity_and_a_bounded_validity() {
    let city = DemoCity::new().unwrap();
    let mut no_identity = claims();
    no_identity.identity = None;
    let issue = |c: &Claims, days| city.issuer.issue_printed(Subject([1; 8]), c, demo::TODAY, days, PRINTED_MAX_DAYS);
    assert!(matches!(issue(&no_identity, 30), Err(Error::OutOfRange(_))));
    assert!(matches!(issue(&claims(), 181), Err(Error::OutOfRange(_))));
    assert!(matches!(issue(&claims(), 0), Err(Error::OutOfRange(_))));
    let mut guarded = claims();
    guarded.guardian = Some(claims::Guardian { relation: claims::Relation::Child });
    assert!(matches!(issue(&guarded, 30), Err(Error::OutOfRange(_))));
    // On the wire: a printed code whose card lacks identity is malformed, and trailing
    // bytes are refused.
    let good = printed(&city, 0x94);
    let mut extra = good.as_bytes().to_vec();
    extra.push(0);
    assert_eq!(PrintedCode::from_bytes(&extra).unwrap_err().reason, Reason::TrailingBytes);
    assert_eq!(PrintedCode::from_bytes(&good.as_bytes()[..40]).unwrap_err().reason, Reason::Truncated);
}

#[test]
fn the_a6_card_shows_the_masked_name_and_dates_and_its_symbol_scans() {
    let city = DemoCity::new().unwrap();
    let code = printed(&city, 0x95);
    let svg = printed_card_svg(&code).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("width=\"105mm\"") && svg.contains("height=\"148mm\""));
    assert!(svg.contains("张*明"), "the masked name");
    assert!(!svg.contains(demo::NAME) && !svg.contains(demo::ID_NUMBER), "never the full name or number");
    assert!(svg.contains("2026-11-25") && svg.contains("2027-05-23"), "first and last day");
    // The PDF, which embeds a font, is rendered and read back in tests/card_pdf.rs.
    // The symbol as printed (the SVG's modules) decodes to the code's text.
    let qr = Qr::new(&code.to_text()).unwrap();
    let side = (qr.width + 8) * 4;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        if x / 4 >= 4 && y / 4 >= 4 && qr.is_dark(x / 4 - 4, y / 4 - 4) { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, code.to_text());
    let accepted = verifier(&city, Scene::Hospital).verify(&grids[0].decode().unwrap().1).unwrap();
    assert!(accepted.printed);
}

/// Issue 24, item 9: a printed code was one card with whatever the issuer put in, so a
/// hotel's verdict showed health, insurance with its region, social security and fare
/// class. The issuer now signs only what the staffed scenes read.
#[test]
fn a_hotel_learns_from_a_printed_code_only_what_staffed_scenes_read() {
    let city = DemoCity::new().unwrap();
    let mut everything = demo::resident_claims();
    everything.identity = Some(demo::resident_identity().unwrap());
    let code = city.issuer.issue_printed(Subject([0x96; 8]), &everything, demo::TODAY, 30, PRINTED_MAX_DAYS).unwrap();
    let verdict = verifier(&city, Scene::HotelCheckIn).verify(&code.to_text()).unwrap();
    assert_eq!(verdict.claims.domain_ids(), vec![1, 2, 6]);
    assert!(verdict.claims.social_security.is_none() && verdict.claims.transit.is_none());
    assert!(verdict.claims.tourism.is_none());
    assert_eq!(verdict.claims.medical_insurance.unwrap().region, None);
    assert_eq!(verdict.claims.identity, everything.identity);
    // The hospital, the other staffed scene, reads what it needs from the same card.
    assert!(verifier(&city, Scene::Hospital).verify(&code.to_text()).is_ok());
    // A city may cap printed codes lower than 180 days, never higher.
    let issue = |days, max| city.issuer.issue_printed(Subject([0x97; 8]), &claims(), demo::TODAY, days, max);
    assert!(issue(180, 255).is_ok());
    assert!(matches!(issue(181, 255), Err(Error::OutOfRange(_))));
    assert!(matches!(issue(31, 30), Err(Error::OutOfRange(_))));
}

/// A single printed card is revoked by its revocation id (SPEC.md §8.2): the first 16
/// bytes of the SHA-256 of the card's signing input (the demo issuer's key is Ed25519),
/// as for a card of a phone's code. The id is computed here from the signed bytes, not
/// by the code's own `card_id`, so that a wrong id (one every card shares) is caught.
#[test]
fn a_printed_card_is_revoked_by_its_own_card_id_only() {
    use sha2::{Digest, Sha256};
    let city = DemoCity::new().unwrap();
    let code = printed(&city, 0x95);
    let other = printed(&city, 0x96);
    assert_eq!(code.cards()[0].alg, Algorithm::Ed25519);
    let id = |c: &PrintedCode| -> [u8; 16] { Sha256::digest(c.card_input(0))[..16].try_into().unwrap() };
    assert_eq!(code.card_id(0), id(&code));
    assert_ne!(id(&code), id(&other));
    let list = RevocationList::new(
        ListSigner::Root,
        2,
        demo::NOW as u32 - 60,
        demo::NOW as u32 + 3600,
        vec![Revoked::Card(id(&code))],
    )
    .unwrap();
    let mut v = verifier(&city, Scene::Hospital);
    v.load_revocation_list(&list.sign(&city.root).unwrap()).unwrap();
    assert_eq!(v.verify(&code.to_text()).unwrap_err().reason, Reason::Revoked);
    assert!(v.verify(&other.to_text()).is_ok());
}
