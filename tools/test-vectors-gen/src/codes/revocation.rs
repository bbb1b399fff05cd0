//! Revocation.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 40)?;
    let card_id = UnverifiedCode::from_text(&c)?.card_id(0);
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Card(card_id)],
    )?];
    g.add("revoked_card", "The transit card is on the root's revocation list.", c, "revoked", later, setup, vec![])?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 41)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject(*b"resident")],
    )?);
    g.add("revoked_subject", "The subject is on issuer 1's revocation list.", c, "revoked", later, setup, vec![])?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 42)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(device.public_key().key_id())],
    )?];
    g.add(
        "revoked_device_key",
        "The phone was reported stolen: its device key is revoked.",
        c,
        "revoked",
        later,
        setup,
        vec![],
    )?;
    Ok(())
}
