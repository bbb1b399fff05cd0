//! Printed codes (SPEC.md §5.1).

use crate::prelude::*;

/// Adds the cases of this section.
/// Returns the printed code made here and its bytes, which the conformance cases alter.
pub(crate) fn cases(g: &mut Gen, tl_wide: &str) -> Res<(citycode::PrintedCode, Vec<u8>)> {
    let transit = TRANSIT_ENTRY;
    let claims = claims_of;
    let at = NOW;
    let later = at + 2;
    let printed_claims = Claims {
        health: Some(citycode::claims::Health {
            status: citycode::claims::HealthStatus::Green,
            valid_until_day: demo::TODAY + 179,
        }),
        medical_insurance: Some(citycode::claims::MedicalInsurance {
            region: None,
            status: Some(citycode::claims::InsuranceStatus::Active),
        }),
        identity: Some(demo::resident_identity()?),
        ..Claims::default()
    };
    let printed = g.city.issuer.issue_printed(
        Subject([0x77; 8]),
        &printed_claims,
        demo::TODAY - 1,
        citycode::PRINTED_MAX_DAYS,
        citycode::PRINTED_MAX_DAYS,
    )?;
    g.add(
        "accept_printed_hospital",
        "A printed code (identity, health, insurance status; 180 days) at a hospital's staffed desk: accepted, printed.",
        printed.to_text(),
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    g.add(
        "accept_printed_hotel",
        "The same printed code at a hotel's front desk.",
        printed.to_text(),
        "accept",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    g.add(
        "policy_unmet_printed_metro_gate",
        "A printed code at an unattended metro gate: refused whatever it carries.",
        printed.to_text(),
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut setup = g.setup(Scene::Hospital);
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject([0x77; 8])],
    )?];
    g.add(
        "revoked_printed_reissued",
        "The printed code after it was reissued: its subject is on the revocation list.",
        printed.to_text(),
        "revoked",
        later,
        setup,
        vec![],
    )?;
    let mut flipped = printed.as_bytes().to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "bad_issuer_signature_printed",
        "The printed code with one bit of its issuer signature flipped.",
        encode_text(&flipped),
        "bad_issuer_signature",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    // A printed code carries only what the staffed scenes read, for at most 180 days
    // (SPEC.md §5.1): each case below is validly signed, so only that rule refuses it.
    let union_bytes = printed.as_bytes().to_vec();
    let entries = printed_claim_entries(&union_bytes)?;
    let with_entries = |entries: &[Vec<u8>], days: u8| -> Res<String> {
        let mut claims = vec![u8::try_from(entries.len())?];
        for e in entries {
            claims.extend_from_slice(e);
        }
        resign_printed(&union_bytes, days, &claims)
    };
    let mut with_social = entries.clone();
    with_social.insert(2, vec![3, 1, 2]);
    let mut with_region = entries.clone();
    // The insurance entry with region 310000 (a varint, f0 f5 12) instead of 0.
    *with_region.get_mut(1).ok_or("no insurance entry")? = vec![2, 4, 0xf0, 0xf5, 0x12, 1];
    let printed_rule_cases = [
        (
            "accept_printed_at_180_days",
            "A printed code's card valid 180 days, the most allowed.",
            with_entries(&entries, 180)?,
            "accept",
        ),
        (
            "malformed_printed_181_days",
            "A printed code's card valid 181 days, validly signed: verifiers enforce the 180-day cap too.",
            with_entries(&entries, 181)?,
            "malformed",
        ),
        (
            "malformed_printed_with_social_security",
            "A printed code that also carries social security, which no staffed scene reads.",
            with_entries(&with_social, 180)?,
            "malformed",
        ),
        (
            "malformed_printed_with_insurance_region",
            "A printed code whose insurance card shows the region (310000), which the hospital does not read.",
            with_entries(&with_region, 180)?,
            "malformed",
        ),
        (
            "accept_printed_identity_only",
            "A printed code with identity alone: less than the staffed scenes read is allowed.",
            with_entries(entries.get(2..).ok_or("no identity entry")?, 30)?,
            "accept",
        ),
    ];
    for (name, description, input, expected) in printed_rule_cases {
        g.add(name, description, input, expected, later, g.setup(Scene::HotelCheckIn), vec![])?;
    }
    // A printed code's card without identity: malformed before any signature is checked.
    let mut bare = vec![citycode::credential::FORMAT_VERSION, 0];
    bare.extend_from_slice(&[0x78; 8]);
    bare.push(1);
    bare.extend_from_slice(&[1, Algorithm::Ed25519.id()]);
    bare.extend_from_slice(&(demo::TODAY - 1).to_be_bytes());
    bare.push(30);
    bare.extend_from_slice(&claims(1, &[transit]));
    bare.extend_from_slice(&[0x11; 64]);
    g.add(
        "malformed_printed_without_identity",
        "A printed code (device algorithm 0) whose card carries no identity for the staff to check.",
        encode_text(&bare),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    // Cards per code: 1 to 16 (SPEC.md §5).
    let one_domain: Vec<[u8; 3]> = (8u8..=23).map(|d| [1, d, 0]).collect();
    let transit_card: &[u8] = &[1, 4, 3, 1, 1, 0];
    let cards = |n: usize| -> Vec<&[u8]> {
        let mut v = vec![transit_card];
        v.extend(one_domain.iter().take(n.saturating_sub(1)).map(|c| c.as_slice()));
        v.truncate(n);
        v
    };
    let card_count_cases = [
        (
            "sixteen_cards",
            "A code with 16 cards, the most allowed (transit and 15 unknown domains).",
            cards(16),
            "accept",
        ),
        ("seventeen_cards", "A code with 17 cards.", cards(17), "malformed"),
        ("no_cards", "A code with no card.", cards(0), "malformed"),
    ];
    for (i, (name, description, list, expected)) in card_count_cases.into_iter().enumerate() {
        let c = g.code_with_cards(&list, at, 0x68 + i as u8)?;
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_wide.to_string()];
        g.add(name, description, c, expected, later, setup, vec![])?;
    }
    // Tourism entries: 1 to 8 (SPEC.md §4.3); the reservation for this site is last.
    let tourism = |n: u8| -> Vec<u8> {
        let today = demo::TODAY.to_be_bytes();
        let mut body = vec![n];
        for i in 0..n {
            let site: [u8; 2] = if i + 1 == n { [0x80, 0x08] } else { [0x81 + i, 0x08] };
            body.extend_from_slice(&[2, site[0], site[1], today[0], today[1]]);
        }
        let mut v = vec![1, 5, body.len() as u8];
        v.extend_from_slice(&body);
        v
    };
    let tourism_cases = [
        (
            "tourism_eight_entries",
            "Eight tourism entries, the most allowed; the last one is this site's reservation.",
            tourism(8),
            "accept",
        ),
        ("tourism_nine_entries", "Nine tourism entries.", tourism(9), "malformed"),
        ("tourism_no_entries", "A tourism body with no entry.", vec![1, 5, 1, 0], "malformed"),
    ];
    for (i, (name, description, bytes, expected)) in tourism_cases.into_iter().enumerate() {
        let c = g.code_with_claims(&bytes, at, 0x60 + i as u8)?;
        g.add(name, description, c, expected, later, g.setup(scenic(demo::SITE)), vec![])?;
    }
    Ok((printed, union_bytes))
}
