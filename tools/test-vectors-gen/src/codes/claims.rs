//! Claims encoding at every bound (SPEC.md §4.1, §4.3), validly signed.

use crate::prelude::*;

/// Adds the cases of this section.
/// Returns the trust list that lets the demo issuer sign every domain id (the wider scope the
/// printed section uses too).
pub(crate) fn cases(g: &mut Gen) -> Res<String> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let transit = TRANSIT_ENTRY;
    let claims = claims_of;
    let unknown: Vec<[u8; 2]> = (8u8..=23).map(|d| [d, 0]).collect();
    let with_unknown = |n: usize| -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![transit];
        parts.extend(unknown.iter().take(n).map(|u| u.as_slice()));
        claims(parts.len() as u8, &parts)
    };
    // An identity entry (domain 6): digest, zero salt and commitment, name.
    let identity_body = |digest: u8, name: &[u8]| -> Vec<u8> {
        let mut body = vec![digest];
        body.extend_from_slice(&[0x5a; 32]);
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        let mut entry = vec![6, body.len() as u8];
        entry.extend_from_slice(&body);
        entry
    };
    let claim_cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "claims_sixteen_domains",
            "A card with 16 domains, the most allowed (transit and 15 unknown).",
            with_unknown(15),
            "accept",
        ),
        ("claims_seventeen_domains", "A card with 17 domains: one more than allowed.", with_unknown(16), "malformed"),
        ("claims_count_zero", "A card with no domain.", vec![0], "malformed"),
        (
            "claims_domain_zero",
            "Domain id 0 is malformed, not out of order.",
            claims(2, &[&[0, 0], transit]),
            "malformed",
        ),
        (
            "claims_duplicate_domain_in_card",
            "The same domain twice in one card: not strictly increasing.",
            claims(2, &[transit, transit]),
            "non_canonical",
        ),
        (
            "claims_body_longer_than_fields",
            "A transit body with one byte over: malformed, not trailing_bytes.",
            claims(1, &[&[4, 4, 1, 1, 0, 0]]),
            "malformed",
        ),
        (
            "claims_body_shorter_than_fields",
            "A transit body that ends before its flags byte: malformed, not truncated.",
            claims(1, &[&[4, 2, 1, 1]]),
            "malformed",
        ),
        (
            "claims_len_past_end",
            "A body length running past the end of the code.",
            claims(1, &[&[4, 0xff, 0x01, 1, 1, 0]]),
            "truncated",
        ),
        (
            "claims_transit_vehicle_payment_withheld",
            "Flags 2: vehicle payment withheld (a metro card).",
            claims(1, &[&[4, 3, 1, 1, 2]]),
            "accept",
        ),
        ("claims_transit_flags_three", "A transit flags byte above 2.", claims(1, &[&[4, 3, 1, 1, 3]]), "malformed"),
        (
            "claims_transit_all_withheld",
            "A transit body withholding all three fields: malformed (omit the domain instead).",
            claims(1, &[&[4, 3, 0, 0, 2]]),
            "malformed",
        ),
        (
            "claims_transit_fare_class_withheld",
            "Fare class byte 0 (withheld, a parking card) at a metro gate, which charges by it.",
            claims(1, &[&[4, 3, 1, 0, 1]]),
            "policy_unmet",
        ),
        (
            "claims_transit_account_withheld",
            "Account byte 0 (withheld) at a metro gate, which needs the account's standing.",
            claims(1, &[&[4, 3, 0, 1, 2]]),
            "policy_unmet",
        ),
        (
            "claims_insurance_region_withheld",
            "Medical insurance with region 0 (withheld) and status active, beside transit.",
            claims(2, &[&[2, 2, 0, 1], transit]),
            "accept",
        ),
        (
            "claims_insurance_status_withheld",
            "Medical insurance with region 6 and status 0 (withheld), beside transit.",
            claims(2, &[&[2, 2, 6, 0], transit]),
            "accept",
        ),
        (
            "claims_insurance_all_withheld",
            "Medical insurance withholding region and status: malformed.",
            claims(2, &[&[2, 2, 0, 0], transit]),
            "malformed",
        ),
        (
            "claims_identity_latin_name",
            "Transit and an identity (SHA-256 commitment, name \"Li\") beside it.",
            claims(2, &[transit, &identity_body(1, b"Li")]),
            "accept",
        ),
        (
            "claims_identity_digest_three",
            "An identity whose digest byte is 3 (only 1 SHA-256 and 2 SM3 are defined).",
            claims(2, &[transit, &identity_body(3, b"Li")]),
            "malformed",
        ),
        (
            "claims_identity_empty_name",
            "An identity with a name of 0 bytes.",
            claims(2, &[transit, &identity_body(1, b"")]),
            "malformed",
        ),
        (
            "claims_identity_name_not_utf8",
            "An identity whose name is not UTF-8.",
            claims(2, &[transit, &identity_body(1, &[0xe5, 0xbc])]),
            "malformed",
        ),
        (
            "claims_identity_name_control_character",
            "An identity whose name holds a line feed.",
            claims(2, &[transit, &identity_body(1, b"Li\nWei")]),
            "malformed",
        ),
        (
            "claims_identity_name_65_bytes",
            "An identity whose name is 65 bytes (64 is the most).",
            claims(2, &[transit, &identity_body(1, &[b'a'; 65])]),
            "malformed",
        ),
        (
            "claims_guardian_relation_six",
            "Guardianship with relation 6 (only 1 to 5 are defined).",
            claims(2, &[transit, &[7, 1, 6]]),
            "malformed",
        ),
        (
            "claims_insurance_status_four",
            "Medical insurance status 4 is not defined.",
            claims(2, &[&[2, 2, 0, 4], transit]),
            "malformed",
        ),
        (
            "claims_transit_vehicle_payment",
            "Flags 1: vehicle payment enabled.",
            claims(1, &[&[4, 3, 1, 1, 1]]),
            "accept",
        ),
        (
            "claims_largest_domain_id",
            "Domain id 2^32 - 1 in five varint bytes: an unknown domain, kept.",
            claims(2, &[transit, &[0xff, 0xff, 0xff, 0xff, 0x0f, 0]]),
            "accept",
        ),
        (
            "claims_domain_id_beyond_32_bits",
            "A varint of 2^32 or more is non_canonical.",
            claims(2, &[transit, &[0x80, 0x80, 0x80, 0x80, 0x10, 0]]),
            "non_canonical",
        ),
        (
            "claims_varint_sixth_byte",
            "A fifth varint byte with its continuation bit set: over-long, non_canonical.",
            claims(2, &[transit, &[0x86, 0x80, 0x80, 0x80, 0x80, 0x00, 0]]),
            "non_canonical",
        ),
        (
            "claims_varint_trailing_zero",
            "A varint ending in a zero group (6 as 0x86 0x00).",
            claims(2, &[transit, &[0x86, 0x00, 0]]),
            "non_canonical",
        ),
        (
            "claims_domain_zero_after_higher",
            "Domain id 0 after domain 4: both rules apply, and id 0 is malformed wherever it appears (SPEC.md §4.3).",
            claims(2, &[transit, &[0, 0]]),
            "malformed",
        ),
        (
            "claims_identity_name_del",
            "An identity whose name holds DEL (U+007F), a control character (Unicode category Cc).",
            claims(2, &[transit, &identity_body(1, b"Li\x7fWei")]),
            "malformed",
        ),
        (
            "claims_identity_name_c1_control",
            "An identity whose name holds U+0085 (NEXT LINE), a C1 control character (Unicode category Cc).",
            claims(2, &[transit, &identity_body(1, "Li\u{85}Wei".as_bytes())]),
            "malformed",
        ),
        (
            "claims_health_status_four",
            "Health status 4 is not defined (1 to 3).",
            claims(2, &[&[1, 3, 4, 0x52, 0x08], transit]),
            "malformed",
        ),
        (
            "claims_social_security_status_four",
            "Social security status 4 is not defined (1 to 3).",
            claims(2, &[&[3, 1, 4], transit]),
            "malformed",
        ),
        ("claims_fare_class_six", "Fare class 6 is not defined (1 to 5).", claims(1, &[&[4, 3, 1, 6, 0]]), "malformed"),
        (
            "claims_tourism_kind_three",
            "A tourism entry of kind 3 (only 1, pass, and 2, reservation, are defined).",
            claims(2, &[transit, &[5, 5, 1, 3, 7, 0x52, 0x08]]),
            "malformed",
        ),
    ];
    // The demo issuer (kid 1), here allowed the unknown domains too.
    let wide_scope: Vec<u32> = (1..=23).chain([u32::MAX]).collect();
    let tl_wide =
        g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), wide_scope)], 2, NOW as u32 + DAY as u32)?;
    for (i, (name, description, bytes, expected)) in claim_cases.into_iter().enumerate() {
        let c = g.code_with_claims(&bytes, at, 0x40 + i as u8)?;
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_wide.clone()];
        g.add(name, description, c, expected, later, setup, vec![])?;
    }
    // Each scene's card withholds what other scenes read (SPEC.md §11): shown at the
    // wrong scene it is refused, never read as "vehicle payment off" or "standard fare".
    let parking_card = g.code_for(&cred, &device, &Scene::Parking, at, 0x64)?;
    g.add(
        "policy_unmet_parking_card_at_metro",
        "The parking card (fare class withheld) at a metro gate.",
        parking_card,
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let metro_card = g.code_for(&cred, &device, &metro(), at, 0x65)?;
    g.add(
        "policy_unmet_metro_card_at_parking",
        "The metro card (vehicle payment withheld) at a parking exit.",
        metro_card,
        "policy_unmet",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let today = demo::TODAY.to_be_bytes();
    let status_withheld = claims(2, &[&[1, 3, 1, today[0], today[1]], &[2, 2, 6, 0]]);
    let c = g.code_with_claims(&status_withheld, at, 0x66)?;
    g.add(
        "policy_unmet_hospital_insurance_status_withheld",
        "Health green through today and medical insurance with its status withheld, at a hospital.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    Ok(tl_wide)
}
