//! Time.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 20)?;
    g.add(
        "code_expired",
        "Verified at issued_at + validity + skew.",
        c,
        "code_expired",
        at + 90,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at + 31, 21)?;
    g.add(
        "code_not_yet_valid",
        "Built 31 s ahead of the verifier's clock.",
        c,
        "code_not_yet_valid",
        at,
        g.setup(metro()),
        vec![],
    )?;
    let long =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 200, nonce: Some([22, 0, 0, 0]) })?.to_text();
    g.add(
        "code_validity_too_long",
        "Asks for 200 s; the verifier allows 120.",
        long,
        "code_validity_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let old =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 10, 5)?;
    let c = g.code_unchecked(&old, &device, 4, at, 23)?;
    g.add(
        "credential_expired",
        "The card's validity ended five days ago.",
        c,
        "credential_expired",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let future_cred =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY + 1, 5)?;
    let c = g.code_unchecked(&future_cred, &device, 4, at, 24)?;
    g.add(
        "credential_not_yet_valid",
        "The card's validity starts tomorrow.",
        c,
        "credential_not_yet_valid",
        later,
        g.setup(metro()),
        vec![],
    )?;
    Ok(())
}
