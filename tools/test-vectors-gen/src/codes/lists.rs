//! Lists.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen, tl_future: &str, rogue_issuer: &Issuer) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let c = g.code(&cred, &device, &[Domain::Transit], at, 70)?;
    let mut setup = g.setup(metro());
    setup.trust_lists.clear();
    setup.revocation_lists.clear();
    g.add("no_trust_list", "The verifier holds no trust list.", c.clone(), "no_trust_list", later, setup, vec![])?;
    // A trust list naming a small-order issuer key, validly signed by the root: under the
    // cofactored equation such a key would verify forged cards, so the list is refused.
    let placeholder = TrustList {
        sequence: 2,
        issued_at: NOW as u32 - 3600,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())],
    }
    .sign(&g.city.root)?;
    let mut body = placeholder.get(..placeholder.len() - 64).ok_or("short")?.to_vec();
    // version, sequence, issued_at, expires_at, n = 1, kid = 1, alg: the key starts at 20.
    body.splice(20..52, unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")?);
    let mut tbs = citycode::digest::LABEL_TRUST_LIST.to_vec();
    tbs.extend_from_slice(&body);
    body.extend_from_slice(&g.city.root.sign(&tbs));
    let mut setup = g.setup(metro());
    setup.trust_lists.push(encode_base64url(&body));
    g.add(
        "trust_list_small_order_issuer_key",
        "A root-signed trust list whose issuer key is a point of order 8: refused at load.",
        c.clone(),
        "invalid_issuer_key",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.clear();
    g.add(
        "no_revocation_list",
        "A trust list but no revocation list: fail closed.",
        c.clone(),
        "no_revocation_list",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists =
        vec![g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())], 2, NOW as u32 - 1)?];
    g.add(
        "trust_list_expired",
        "A stale trust list: past its expiry.",
        c.clone(),
        "trust_list_expired",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_future.to_string(), encode_base64url(&g.city.trust_list)];
    g.add(
        "trust_list_rollback",
        "Sequence 2 held, sequence 1 offered.",
        c.clone(),
        "trust_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let forged = TrustList {
        sequence: 3,
        issued_at: NOW as u32,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![g.issuer_entry(7, rogue_issuer.public_key(), all_ids.clone())],
    };
    let mut setup = g.setup(metro());
    setup.trust_lists.push(encode_base64url(&forged.sign(&key(Algorithm::Ed25519, 0x0c)?)?));
    g.add(
        "bad_trust_list_signature",
        "A trust list signed by a key that is not the root.",
        c.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 - 1, vec![])?];
    g.add(
        "revocation_list_expired",
        "The revocation list is past its expiry.",
        c.clone(),
        "revocation_list_expired",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![
        g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 + DAY as u32, vec![])?,
        encode_base64url(&g.city.revocation_list),
    ];
    g.add(
        "revocation_list_rollback",
        "Revocation sequence 2 held, sequence 1 offered.",
        c.clone(),
        "revocation_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists =
        vec![g.revocations(&key(Algorithm::Ed25519, 0x0c)?, ListSigner::Root, 2, NOW as u32 + DAY as u32, vec![])?];
    g.add(
        "bad_revocation_list_signature",
        "A revocation list claiming the root, signed by another key.",
        c,
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;
    Ok(())
}
