//! The end-to-end demo on core's demo city (`citycode::demo`): [`story`] tells it, and
//! both `cargo run --example city_day` and `citycode demo` print it. A crate of its own
//! so that running the example compiles the library and its own dependencies only: none
//! of the test and benchmark dependencies (criterion, proptest, redis, rqrr) that the core
//! crate's examples pull in.

use citycode::claims::*;
use citycode::demo::{DemoCity, NOW, SITE, TODAY, UTC_OFFSET_MINUTES, resident_claims, resident_identity};
use citycode::{CardLayout, CredentialRequest, PresentOptions, ProvenKey, Qr, Scene, Subject, Verifier, present};

/// The end-to-end story on the demo city, written to `out`: issue a credential, then
/// codes at a hospital, a scenic spot, a parking lot and a metro gate (drawing each QR
/// when `draw`), a replayed code, an expired screenshot, a policy rejection, a guardian's
/// code for a resident without a phone and a printed code for one with none. Run by
/// `cargo run --example city_day` and `citycode demo`.
pub fn story(out: &mut dyn std::io::Write, draw: bool) -> Result<(), Box<dyn std::error::Error>> {
    let city = DemoCity::new()?;
    let name = |id: u32| Domain::from_id(id).map_or_else(|| format!("domain {id}"), |d| d.to_string());
    let report = |out: &mut dyn std::io::Write, r: &Result<citycode::Accepted, citycode::Rejection>| match r {
        Ok(a) if a.printed => {
            writeln!(out, "   ACCEPT ({}) {} — a printed code: check the holder's ID card", a.policy, a.claims)
        }
        Ok(a) => writeln!(out, "   ACCEPT ({}) {}", a.policy, a.claims),
        Err(r) => writeln!(out, "   REJECT {} ({})", r.reason, r.detail),
    };
    writeln!(out, "== The city platform issues a credential to the resident's phone")?;
    writeln!(
        out,
        "   subject {} · {} cards · device key {:?}",
        city.credential.subject.to_hex(),
        city.credential.cards.len(),
        city.device.public_key()
    )?;
    for card in &city.credential.cards {
        let names: Vec<String> = card.claims.domain_ids().into_iter().map(name).collect();
        let scene_card =
            if card.claims.withholds() { " (a scene's card: fields it does not read withheld)" } else { "" };
        writeln!(out, "   card: {}{scene_card}", names.join(" + "))?;
    }
    let scenes = [
        ("Hospital registration", Scene::Hospital),
        ("Scenic spot gate", Scene::ScenicSpot { site: SITE, utc_offset_minutes: UTC_OFFSET_MINUTES }),
        ("Parking lot exit", Scene::Parking),
        ("Metro gate", Scene::MetroGate),
    ];
    let verifier_for = |scene: Scene| -> Result<Verifier, citycode::Rejection> {
        let mut v = Verifier::new(city.root.public_key(), scene).with_skew(30);
        v.load_trust_list(&city.trust_list)?;
        v.load_revocation_list(&city.revocation_list)?;
        Ok(v)
    };
    let mut now = NOW;
    for (title, scene) in scenes {
        let verifier = verifier_for(scene.clone())?;
        let code = present(&city.credential, &city.device, &scene, now, PresentOptions::default())?;
        let text = code.to_text();
        let qr = Qr::new(&text)?;
        writeln!(
            out,
            "\n== {title}: the phone shows a code ({} bytes, {} chars, QR version {} at level M)",
            code.as_bytes().len(),
            text.len(),
            qr.version
        )?;
        if draw {
            write!(out, "{}", qr.to_terminal())?;
        }
        report(out, &verifier.verify_at(&text, now + 2))?;
        if matches!(scene, Scene::MetroGate) {
            writeln!(out, "   ... the same code scanned again at the next gate:")?;
            report(out, &verifier.verify_at(&text, now + 5))?;
            writeln!(out, "   ... a screenshot of it shown two minutes later at another gate:")?;
            report(out, &verifier_for(scene.clone())?.verify_at(&text, now + 120))?;
        }
        now += 1800;
    }
    writeln!(out, "\n== A code that discloses only transit, shown at the hospital")?;
    let transit_only =
        present(&city.credential, &city.device, &[Domain::Transit.id()], now, PresentOptions::default())?;
    report(out, &verifier_for(Scene::Hospital)?.verify_at(&transit_only.to_text(), now))?;

    writeln!(out, "\n== Grandma has no phone: her son's phone shows her code (a guardian's code)")?;
    let grandma = city.issuer.issue_guardian(
        &CredentialRequest {
            device_key: ProvenKey::by_signing(&city.device)?,
            subject: Subject([0x6d; 8]),
            valid_from_day: TODAY,
            valid_days: 30,
            claims: resident_claims(),
            layout: CardLayout::Standard,
        },
        Relation::Child,
    )?;
    let code = present(&grandma, &city.device, &Scene::Hospital, now, PresentOptions::default())?;
    report(out, &verifier_for(Scene::Hospital)?.verify_at(&code.to_text(), now + 2))?;
    writeln!(out, "   ... and at a parking exit, which takes no guardian's code:")?;
    let code = present(&grandma, &city.device, &Scene::Parking, now, PresentOptions::default())?;
    report(out, &verifier_for(Scene::Parking)?.verify_at(&code.to_text(), now + 2))?;

    writeln!(out, "\n== Grandpa has no phone at all: a printed code, valid 180 days")?;
    let mut paper = resident_claims().select(&[Domain::Health.id()]).unwrap_or_default();
    paper.medical_insurance = Some(MedicalInsurance { region: None, status: Some(InsuranceStatus::Active) });
    paper.identity = Some(resident_identity()?);
    let printed = city.issuer.issue_printed(Subject([0x70; 8]), &paper, TODAY, 180, citycode::PRINTED_MAX_DAYS)?;
    let text = printed.to_text();
    writeln!(
        out,
        "   {} bytes, QR version {}; its A6 card: `citycode render-card`",
        printed.as_bytes().len(),
        Qr::new(&text)?.version
    )?;
    report(out, &verifier_for(Scene::Hospital)?.verify_at(&text, now + 2))?;
    writeln!(out, "   ... and at a metro gate, unattended:")?;
    report(out, &verifier_for(Scene::MetroGate)?.verify_at(&text, now + 2))?;
    {
        writeln!(out, "\n== A GM-only city: every key SM2, every digest SM3, at a metro gate")?;
        let gm = DemoCity::gm()?;
        let mut v = Verifier::new(gm.root.public_key(), Scene::MetroGate).with_skew(30).gm_only()?;
        v.load_trust_list(&gm.trust_list)?;
        v.load_revocation_list(&gm.revocation_list)?;
        let code = present(&gm.credential, &gm.device, &[Domain::Transit.id()], now, PresentOptions::default())?;
        writeln!(out, "   code of {} bytes, device key {:?}", code.as_bytes().len(), gm.device.public_key())?;
        report(out, &v.verify_at(&code.to_text(), now + 2))?;
        writeln!(out, "   ... and the Ed25519 resident's code at the same gate:")?;
        let other = present(&city.credential, &city.device, &[Domain::Transit.id()], now, PresentOptions::default())?;
        report(out, &v.verify_at(&other.to_text(), now + 2))?;
    }
    Ok(())
}
