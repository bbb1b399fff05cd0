//! A day in the city: issue a credential, then show codes at a hospital, a scenic
//! spot, a parking lot and a metro gate; then a replayed code, an expired code and a
//! policy rejection. Runs on the embedded demo keys and a fixed clock.
//!
//! `cargo run --example city_day` (add `-- --no-qr` to skip drawing the symbols).

use citycode::demo::{self, DemoCity};
use citycode::{Domain, Policy, PresentOptions, Qr, Scene, Verifier, present};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let draw = !std::env::args().any(|a| a == "--no-qr");
    let city = DemoCity::new()?;
    println!("== The city platform issues a credential to the resident's phone");
    println!(
        "   subject {} · {} cards · device key {:?}",
        city.credential.subject.to_hex(),
        city.credential.cards.len(),
        city.device.public_key()
    );
    for card in &city.credential.cards {
        let names: Vec<String> = card.claims.domain_ids().iter().map(|&d| name(d)).collect();
        println!("   card: {}", names.join(" + "));
    }

    let scenes = [
        ("Hospital registration", Scene::Hospital),
        ("Scenic spot gate", Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: demo::UTC_OFFSET_MINUTES }),
        ("Parking lot exit", Scene::Parking),
        ("Metro gate", Scene::MetroGate),
    ];
    let mut now = demo::NOW;
    for (title, scene) in scenes {
        let mut verifier = Verifier::new(city.root.public_key(), scene.clone()).with_skew(30);
        verifier.load_trust_list(&city.trust_list)?;
        verifier.load_revocation_list(&city.revocation_list)?;
        let code = present(&city.credential, &city.device, &scene.required_domains(), now, PresentOptions::default())?;
        let text = code.to_text();
        let qr = Qr::new(&text)?;
        println!("\n== {title}: the phone shows a code ({} bytes, {} chars, QR version {} at level M)",
            code.as_bytes().len(), text.len(), qr.version);
        if draw {
            print!("{}", qr.to_terminal());
        }
        report(&verifier.verify_at(&text, now + 2));
        if title == "Metro gate" {
            println!("   ... the same code scanned again at the next gate:");
            report(&verifier.verify_at(&text, now + 5));
            println!("   ... a screenshot of it shown two minutes later:");
            let fresh = Verifier::new(city.root.public_key(), scene.clone());
            let mut fresh = fresh;
            fresh.load_trust_list(&city.trust_list)?;
            report(&fresh.verify_at(&text, now + 120));
        }
        now += 1800;
    }

    println!("\n== A code that discloses only transit, shown at the hospital");
    let mut hospital = Verifier::new(city.root.public_key(), Scene::Hospital);
    hospital.load_trust_list(&city.trust_list)?;
    let transit_only = present(&city.credential, &city.device, &[Domain::Transit.id()], now, PresentOptions::default())?;
    report(&hospital.verify_at(&transit_only.to_text(), now));
    Ok(())
}

fn name(id: u32) -> String {
    Domain::from_id(id).map_or_else(|| format!("domain {id}"), |d| d.to_string())
}

fn report(result: &Result<citycode::Accepted, citycode::Rejection>) {
    match result {
        Ok(a) => {
            let claims = serde_json::to_string(&a.claims).unwrap_or_default();
            println!("   ACCEPT ({}) {claims}", a.policy);
        }
        Err(r) => println!("   REJECT {} ({})", r.reason, r.detail),
    }
}
