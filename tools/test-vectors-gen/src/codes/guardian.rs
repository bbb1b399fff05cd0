//! Guardian codes and real-name scenes (SPEC.md §4.3, §4.4, §4.9, §11).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let transit = TRANSIT_ENTRY;
    let claims = claims_of;
    let at = NOW;
    let later = at + 2;
    let device = key(Algorithm::Ed25519, 0x03)?;
    let guardian_request = CredentialRequest {
        device_key: citycode::ProvenKey::by_signing(&device)?,
        subject: Subject([0x6a; 8]),
        valid_from_day: demo::TODAY - 1,
        valid_days: 30,
        claims: demo::resident_claims(),
        layout: CardLayout::Standard,
    };
    let cred_guardian = g.city.issuer.issue_guardian(&guardian_request, Relation::Child)?;
    let c = g.code_for(&cred_guardian, &device, &Scene::Hospital, at, 0x70)?;
    g.add(
        "accept_guardian_hospital",
        "An elder's hospital card shown from her son's phone: the claims say a guardian (child) holds it.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let c = g.code_for(&cred_guardian, &device, &Scene::Parking, at, 0x71)?;
    g.add(
        "policy_unmet_guardian_parking",
        "A guardian's code at a parking exit: paying is the account holder's own act.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let guarded_transit = claims(2, &[transit, &[7, 1, 2]]);
    let c = g.code_with_cards_labelled(&[&guarded_transit], at, 0x72, citycode::digest::LABEL_GUARDIAN_CARD)?;
    g.add(
        "accept_guardian_card_metro",
        "Transit and guardianship (child), signed under the guardian-card label, at a metro gate.",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code_with_cards(&[&guarded_transit], at, 0x73)?;
    g.add(
        "bad_issuer_signature_guardian_card_plain_label",
        "The same card signed under the ordinary card label: a guardian's card never verifies as the holder's own.",
        c,
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let today = demo::TODAY.to_be_bytes();
    let health_card = claims(1, &[&[1, 3, 1, today[0], today[1]]]);
    let c =
        g.code_with_cards_labelled(&[&guarded_transit, &health_card], at, 0x74, citycode::digest::LABEL_GUARDIAN_CARD)?;
    g.add(
        "malformed_guardian_on_some_cards",
        "Two cards, guardianship on the first only: every card of a guardian's code says so, or none.",
        c,
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let spouse_health = claims(2, &[&[1, 3, 1, today[0], today[1]], &[7, 1, 3]]);
    let c = g.code_with_cards_labelled(
        &[&guarded_transit, &spouse_health],
        at,
        0x75,
        citycode::digest::LABEL_GUARDIAN_CARD,
    )?;
    g.add(
        "malformed_guardian_relations_differ",
        "Two guardian cards naming different relations (child, spouse).",
        c,
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut with_identity = demo::resident_claims();
    with_identity.identity = Some(demo::resident_identity()?);
    let cred_identity =
        g.credential(&g.city.issuer, &device, with_identity, CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code_for(&cred_identity, &device, &Scene::HotelCheckIn, at, 0x76)?;
    g.add(
        "accept_hotel_check_in",
        "The identity card at a hotel: the name and the commitment to the document number 11010519491231002X (holder.json), never the number.",
        c,
        "accept",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    let c = g.code_for(&cred_identity, &device, &metro(), at, 0x77)?;
    g.add(
        "policy_unmet_hotel_without_identity",
        "The metro card at a hotel: no identity disclosed.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    Ok(())
}
