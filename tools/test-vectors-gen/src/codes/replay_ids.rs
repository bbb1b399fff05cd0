//! Replay ids differ per code (SPEC.md §5, §9 step 8).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let first = g.code(&cred, &device, &[Domain::Transit], at, 0xb8)?;
    let second = g.code(&cred, &device, &[Domain::Transit], at, 0xb9)?;
    g.add(
        "another_code_of_the_same_holder",
        "A second code of the same holder and card, built the same second with another nonce, after the first was accepted: a new code, not a replay.",
        second,
        "accept",
        later + 1,
        g.setup(metro()),
        vec![Seen { input: first, now: later }],
    )?;
    Ok(())
}
