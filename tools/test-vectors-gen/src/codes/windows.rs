//! Every validity window on both sides of its edge (SPEC.md §9 steps 2-4, §11).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let skew = u64::from(SKEW);
    let transit_at = |g: &Gen, t: u64, nonce: u8| g.code(&cred, &device, &[Domain::Transit], t, nonce);
    let at_max =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 120, nonce: Some([0x70, 0, 0, 0]) })?;
    g.add(
        "code_validity_at_max",
        "Asks for 120 s, exactly what the verifier allows.",
        at_max.to_text(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let over = present(&cred, &device, &[4], at, PresentOptions { validity_secs: 121, nonce: Some([0x71, 0, 0, 0]) })?;
    g.add(
        "code_validity_one_over_max",
        "Asks for 121 s; the verifier allows 120.",
        over.to_text(),
        "code_validity_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut max_60 = g.setup(metro());
    max_60.config.max_code_validity_secs = 60;
    let sixty = present(&cred, &device, &[4], at, PresentOptions { validity_secs: 60, nonce: Some([0x76, 0, 0, 0]) })?;
    g.add(
        "code_validity_at_configured_max",
        "A verifier configured for at most 60 s; the code asks for 60.",
        sixty.to_text(),
        "accept",
        later,
        max_60.clone(),
        vec![],
    )?;
    let sixty_one =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 61, nonce: Some([0x77, 0, 0, 0]) })?;
    g.add(
        "code_validity_over_configured_max",
        "A verifier configured for at most 60 s; the code asks for 61.",
        sixty_one.to_text(),
        "code_validity_too_long",
        later,
        max_60,
        vec![],
    )?;
    let mut no_skew = g.setup(metro());
    no_skew.config.skew_secs = 0;
    g.add(
        "code_last_second_without_skew",
        "Skew 0: verified at issued_at + validity - 1.",
        transit_at(g, at, 0x72)?,
        "accept",
        at + 59,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_expired_without_skew",
        "Skew 0: verified at issued_at + validity.",
        transit_at(g, at, 0x73)?,
        "code_expired",
        at + 60,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_from_future_without_skew",
        "Skew 0: built one second ahead of the verifier's clock.",
        transit_at(g, at + 1, 0x74)?,
        "code_not_yet_valid",
        at,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_at_verifier_time_without_skew",
        "Skew 0: built at the verifier's second.",
        transit_at(g, at, 0x75)?,
        "accept",
        at,
        no_skew,
        vec![],
    )?;

    // Cards: valid from day start (inclusive) to day end (exclusive), widened by skew.
    let from_tomorrow =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY + 1, 1)?;
    let start = u64::from(demo::TODAY + 1) * DAY;
    let card_cases = [
        (
            "card_starts_within_skew",
            "Verified skew seconds before the card's first second.",
            &from_tomorrow,
            start - skew,
            "accept",
        ),
        (
            "card_starts_beyond_skew",
            "Verified skew + 1 seconds before the card's first second.",
            &from_tomorrow,
            start - skew - 1,
            "credential_not_yet_valid",
        ),
        (
            "card_ends_within_skew",
            "Verified at the card's end + skew - 1.",
            &from_tomorrow,
            start + DAY + skew - 1,
            "accept",
        ),
        (
            "card_ends_beyond_skew",
            "Verified at the card's end + skew.",
            &from_tomorrow,
            start + DAY + skew,
            "credential_expired",
        ),
    ];
    for (i, (name, description, credential, t, expected)) in card_cases.into_iter().enumerate() {
        let c = g.code_unchecked(credential, &device, 4, t, 0x78 + i as u8)?;
        let mut setup = g.setup(metro());
        // Lists valid over the whole range.
        setup.trust_lists = vec![g.trust(
            vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())],
            2,
            NOW as u32 + 30 * DAY as u32,
        )?];
        setup.revocation_lists =
            vec![g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 + 30 * DAY as u32, vec![])?];
        g.add(name, description, c, expected, t, setup, vec![])?;
    }

    // Issuer keys: valid from not_before (inclusive) to not_after (exclusive); no skew.
    let mut window = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    (window.not_before, window.not_after) = (NOW as u32, NOW as u32 + 10);
    let tl_window = g.trust(vec![window], 2, NOW as u32 + DAY as u32)?;
    let key_cases = [
        ("issuer_key_first_second", "Verified at the key's not_before.", NOW, "accept"),
        (
            "issuer_key_before_first_second",
            "Verified one second before the key's not_before (skew does not apply).",
            NOW - 1,
            "issuer_key_not_valid",
        ),
        ("issuer_key_last_second", "Verified at the key's not_after - 1.", NOW + 9, "accept"),
        (
            "issuer_key_at_not_after",
            "Verified at the key's not_after (skew does not apply).",
            NOW + 10,
            "issuer_key_not_valid",
        ),
    ];
    for (i, (name, description, t, expected)) in key_cases.into_iter().enumerate() {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_window.clone()];
        g.add(name, description, transit_at(g, t, 0x80 + i as u8)?, expected, t, setup, vec![])?;
    }

    // Lists: held until expires_at (exclusive); no skew.
    let edge = NOW as u32 + 10;
    let tl_edge = g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())], 2, edge)?;
    let rl_edge = g.revocations(&g.city.root, ListSigner::Root, 2, edge, vec![])?;
    let list_cases = [
        ("trust_list_last_second", "Verified at the trust list's expires_at - 1.", true, NOW + 9, "accept"),
        (
            "trust_list_at_expiry",
            "Verified at the trust list's expires_at (skew does not apply).",
            true,
            NOW + 10,
            "trust_list_expired",
        ),
        ("revocation_list_last_second", "Verified at the revocation list's expires_at - 1.", false, NOW + 9, "accept"),
        (
            "revocation_list_at_expiry",
            "Verified at the revocation list's expires_at (skew does not apply).",
            false,
            NOW + 10,
            "revocation_list_expired",
        ),
    ];
    for (i, (name, description, trust, t, expected)) in list_cases.into_iter().enumerate() {
        let mut setup = g.setup(metro());
        if trust {
            setup.trust_lists = vec![tl_edge.clone()];
        } else {
            setup.revocation_lists = vec![rl_edge.clone()];
        }
        g.add(name, description, transit_at(g, t, 0x88 + i as u8)?, expected, t, setup, vec![])?;
    }

    // Tourism days are local days at the site (UTC+8): local midnight is 16:00 UTC.
    let local_midnight = u64::from(demo::TODAY) * DAY - 8 * 3600;
    let entry = |kind: u8| -> Vec<u8> {
        let today = demo::TODAY.to_be_bytes();
        vec![1, 5, 6, 1, kind, 0x80, 0x08, today[0], today[1]]
    };
    let tourism_edges = [
        (
            "reservation_first_local_second",
            "A reservation for today, at 00:00:00 local time.",
            2u8,
            local_midnight,
            "accept",
        ),
        (
            "reservation_last_local_second_of_yesterday",
            "A reservation for today, at 23:59:59 local time the day before.",
            2,
            local_midnight - 1,
            "policy_unmet",
        ),
        (
            "reservation_last_local_second",
            "A reservation for today, at 23:59:59 local time.",
            2,
            local_midnight + DAY - 1,
            "accept",
        ),
        (
            "reservation_next_local_day",
            "A reservation for today, at 00:00:00 local time the next day.",
            2,
            local_midnight + DAY,
            "policy_unmet",
        ),
        (
            "pass_days_before",
            "A pass valid through today, three local days before.",
            1,
            local_midnight - 3 * DAY,
            "accept",
        ),
        (
            "pass_last_local_second",
            "A pass valid through today, at 23:59:59 local time.",
            1,
            local_midnight + DAY - 1,
            "accept",
        ),
        (
            "pass_next_local_day",
            "A pass valid through today, at 00:00:00 local time the next day.",
            1,
            local_midnight + DAY,
            "policy_unmet",
        ),
    ];
    for (i, (name, description, kind, t, expected)) in tourism_edges.into_iter().enumerate() {
        let c = g.code_with_claims(&entry(kind), t, 0x90 + i as u8)?;
        g.add(name, description, c, expected, t, g.setup(scenic(demo::SITE)), vec![])?;
    }
    Ok(())
}
