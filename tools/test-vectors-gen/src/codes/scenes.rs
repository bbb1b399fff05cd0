//! Accepted codes at each scene.

use crate::prelude::*;

/// What later sections reuse: the metro code, the P-256 device and its credential, and
/// the trust list that adds issuer 6 (a future domain).
pub(crate) struct Scenes {
    pub(crate) metro_code: String,
    pub(crate) p256: KeyPair,
    pub(crate) cred_p256: Credential,
    pub(crate) tl_future: String,
}

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<Scenes> {
    let at = NOW;
    let later = at + 2;
    let hospital = [Domain::Health, Domain::MedicalInsurance];
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let status_ids = Domain::STATUS.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let c = g.code_for(&cred, &device, &Scene::Hospital, at, 1)?;
    g.add(
        "accept_hospital",
        "The hospital's card: health and the insurance status, the region withheld.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let c = g.code_for(&cred, &device, &scenic(demo::SITE), at, 2)?;
    g.add(
        "accept_scenic_spot_reservation",
        "A reservation for this site today (local day, UTC+8).",
        c,
        "accept",
        later,
        g.setup(scenic(demo::SITE)),
        vec![],
    )?;
    let c = g.code_for(&cred, &device, &Scene::Parking, at, 3)?;
    g.add(
        "accept_parking",
        "The parking card: account in good standing, vehicle payment on, the fare class withheld.",
        c.clone(),
        "accept",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let metro_code = g.code_for(&cred, &device, &metro(), at, 4)?;
    g.add(
        "accept_metro_gate",
        "The metro card: account in good standing and fare class, vehicle payment withheld.",
        metro_code.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let p256 = key(Algorithm::EcdsaP256Sha256, 0x05)?;
    let cred_p256 =
        g.credential(&g.city.issuer, &p256, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code_for(&cred_p256, &p256, &metro(), at, 5)?;
    g.add(
        "accept_metro_gate_p256_device",
        "Device key is ECDSA P-256 (phone secure hardware).",
        c.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code_for(&cred_p256, &p256, &Scene::Hospital, at, 6)?;
    g.add(
        "accept_hospital_p256_device",
        "The hospital's card with a P-256 device key.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    let mut four = demo::resident_claims();
    four.social_security = None;
    let four_ids = four.domain_ids();
    let cred4 = g.credential(&g.city.issuer, &device, four, CardLayout::Custom(vec![four_ids]), demo::TODAY - 1, 7)?;
    let c =
        g.code(&cred4, &device, &[Domain::Health, Domain::MedicalInsurance, Domain::Transit, Domain::Tourism], at, 7)?;
    g.add(
        "accept_all_four_domains",
        "Health, medical insurance, transit and tourism in one card.",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &Domain::STATUS, at, 8)?;
    g.add("accept_all_five_domains", "Every domain in one card.", c, "accept", later, g.setup(metro()), vec![])?;

    let singles = CardLayout::Custom(status_ids.iter().map(|&d| vec![d]).collect());
    let cred_singles = g.credential(&g.city.issuer, &device, demo::resident_claims(), singles, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_singles, &device, &hospital, at, 9)?;
    g.add(
        "accept_two_cards",
        "No hospital bundle: the code carries two single-domain cards.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    let future = key(Algorithm::Ed25519, 0x06)?;
    let mut with_future = demo::resident_claims();
    with_future.other.push(OtherClaim { domain: 9, body: vec![0x01, 0x02, 0x03] });
    let future_issuer = Issuer::new(6, future, vec![1, 2, 3, 4, 5, 9]);
    let cred_future =
        g.credential(&future_issuer, &device, with_future, CardLayout::Custom(vec![vec![4, 9]]), demo::TODAY - 1, 7)?;
    let tl_future = g.trust(
        vec![
            g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone()),
            g.issuer_entry(6, future_issuer.public_key(), vec![1, 2, 3, 4, 5, 9]),
        ],
        2,
        NOW as u32 + 30 * DAY as u32,
    )?;
    let c = present(&cred_future, &device, &[4, 9], at, opts(10))?.to_text();
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_future.clone()];
    g.add(
        "accept_unknown_future_domain",
        "A domain (id 9) this version does not know passes through as opaque bytes.",
        c,
        "accept",
        later,
        setup,
        vec![],
    )?;

    let c = g.code(&cred, &device, &[Domain::Transit], at, 11)?;
    g.add(
        "accept_at_last_second_with_skew",
        "Verified at issued_at + validity + skew - 1.",
        c,
        "accept",
        at + 60 + 30 - 1,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at + 30, 12)?;
    g.add(
        "accept_from_future_within_skew",
        "Built 30 s ahead of the verifier's clock (the skew).",
        c,
        "accept",
        at,
        g.setup(metro()),
        vec![],
    )?;

    let other_entries = vec![Revoked::Subject(*b"someone_"), Revoked::Card([7; 16]), Revoked::DeviceKey([9; 16])];
    let c = g.code(&cred, &device, &[Domain::Transit], at, 13)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        other_entries.clone(),
    )?);
    setup.revocation_lists.push(g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        other_entries,
    )?);
    g.add(
        "accept_with_unrelated_revocations",
        "Root- and issuer-signed revocation lists that name others.",
        c,
        "accept",
        later,
        setup,
        vec![],
    )?;
    Ok(Scenes { metro_code, p256, cred_p256, tl_future })
}
