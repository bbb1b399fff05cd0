//! Replay and policy.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen, metro_code: &str) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let hospital = [Domain::Health, Domain::MedicalInsurance];
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    g.add(
        "replayed",
        "The same code, accepted once, scanned again within its window.",
        metro_code.to_string(),
        "replayed",
        at + 5,
        g.setup(metro()),
        vec![Seen { input: metro_code.to_string(), now: at + 1 }],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 50)?;
    g.add(
        "policy_unmet_wrong_domain",
        "Transit only, shown at a hospital.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut arrears = demo::resident_claims();
    if let Some(t) = arrears.transit.as_mut() {
        t.account = Some(AccountStatus::Arrears);
    }
    let cred_arrears = g.credential(&g.city.issuer, &device, arrears, CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_arrears, &device, &[Domain::Transit], at, 51)?;
    g.add(
        "policy_unmet_arrears",
        "Transit account in arrears at a metro gate.",
        c,
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Tourism], at, 52)?;
    g.add(
        "policy_unmet_other_site",
        "A reservation for site 1024 at the gate of site 2048.",
        c,
        "policy_unmet",
        later,
        g.setup(scenic(2048)),
        vec![],
    )?;

    // The health status's last day is a local day (UTC+8 here): it ends at local
    // midnight, eight hours before the UTC day does.
    let last_day = demo::resident_claims().health.map(|h| h.valid_until_day).ok_or("no health")?;
    let local_midnight = (u64::from(last_day) + 1) * DAY - 480 * 60;
    let mut setup = g.setup(Scene::Hospital);
    setup.revocation_lists =
        vec![g.revocations(&g.city.root, ListSigner::Root, 2, (local_midnight + DAY) as u32, vec![])?];
    let c = g.code(&cred, &device, &hospital, local_midnight - 1, 53)?;
    g.add(
        "hospital_health_last_local_second",
        "The health status's last day, one second before local midnight (UTC+8).",
        c,
        "accept",
        local_midnight - 1,
        setup.clone(),
        vec![],
    )?;
    let c = g.code(&cred, &device, &hospital, local_midnight, 54)?;
    g.add(
        "hospital_health_past_local_midnight",
        "Local midnight after the health status's last day: out of date, though the UTC day is still that day.",
        c.clone(),
        "policy_unmet",
        local_midnight,
        setup.clone(),
        vec![],
    )?;
    // The same code and second at a hospital in a UTC+0 city: still the last day there.
    let mut utc = setup;
    utc.config.utc_offset_minutes = 0;
    g.add(
        "hospital_health_same_instant_in_utc_city",
        "The same code at the same second, at a verifier whose local offset is 0: its local day is still the last day.",
        c,
        "accept",
        local_midnight,
        utc,
        vec![],
    )?;
    Ok(())
}
