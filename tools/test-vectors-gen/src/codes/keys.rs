//! Keys and trust.

use crate::prelude::*;

/// Adds the cases of this section; returns the rogue issuer (kid 7, in no trust list).
pub(crate) fn cases(g: &mut Gen) -> Res<Issuer> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let rogue_issuer = Issuer::new(7, key(Algorithm::Ed25519, 0x07)?, all_ids.clone());
    let cred_rogue =
        g.credential(&rogue_issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_rogue, &device, &[Domain::Transit], at, 30)?;
    g.add(
        "unknown_issuer_key",
        "Key id 7 is not in the trust list.",
        c,
        "unknown_issuer_key",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let transit_only_tl =
        g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), vec![4])], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Tourism], at, 31)?;
    let mut setup = g.setup(scenic(demo::SITE));
    setup.trust_lists = vec![transit_only_tl];
    g.add(
        "out_of_scope",
        "The trust list lets key 1 attest transit only; the card attests tourism.",
        c,
        "out_of_scope",
        later,
        setup,
        vec![],
    )?;

    let mut retired = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    retired.not_after = NOW as u32 - 1;
    let tl_retired = g.trust(vec![retired], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 32)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_retired];
    g.add(
        "issuer_key_not_valid",
        "Key 1's validity window ended before the verification time.",
        c,
        "issuer_key_not_valid",
        later,
        setup,
        vec![],
    )?;

    let p256_issuer_key = key(Algorithm::EcdsaP256Sha256, 0x08)?;
    let tl_p256 =
        g.trust(vec![g.issuer_entry(1, p256_issuer_key.public_key(), all_ids.clone())], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 33)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_p256];
    g.add(
        "algorithm_mismatch",
        "The card says Ed25519; key 1 in the trust list is P-256.",
        c,
        "algorithm_mismatch",
        later,
        setup,
        vec![],
    )?;

    let impostor = Issuer::new(1, key(Algorithm::Ed25519, 0x09)?, all_ids.clone());
    let cred_impostor =
        g.credential(&impostor, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_impostor, &device, &[Domain::Transit], at, 34)?;
    // The same forged card after the genuine card of the same holder and domain was
    // accepted: a verifier that remembers verified issuer signatures must key them by
    // key, message and signature, never let one stand for another.
    let genuine = g.code(&cred, &device, &[Domain::Transit], at, 0xbb)?;
    g.add(
        "bad_issuer_signature_after_the_genuine_card",
        "The forged card of bad_issuer_signature, verified after a code with the genuine card of the same holder and domain was accepted.",
        c.clone(),
        "bad_issuer_signature",
        later + 1,
        g.setup(metro()),
        vec![Seen { input: genuine, now: later }],
    )?;
    g.add(
        "bad_issuer_signature",
        "A card signed by a key that is not key 1, claiming key id 1.",
        c,
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let thief = key(Algorithm::Ed25519, 0x0a)?;
    let c = g.code(&cred, &WrongSigner { claimed: device.public_key(), actual: &thief }, &[Domain::Transit], at, 35)?;
    g.add(
        "bad_device_signature",
        "A copied credential signed without its device key.",
        c,
        "bad_device_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // Holder A's cards, holder B's device key and signature.
    let a_code = Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 36)?)?;
    let b = key(Algorithm::Ed25519, 0x0b)?;
    let mut swapped = a_code.clone();
    swapped.splice(2..34, b.public_key().to_bytes());
    let unsigned = swapped.get(..swapped.len() - 64).ok_or("short")?.to_vec();
    let mut tbs = citycode::digest::LABEL_CODE.to_vec();
    tbs.extend_from_slice(&unsigned);
    let mut resigned = unsigned;
    resigned.extend_from_slice(&b.sign(&tbs));
    g.add(
        "holder_swap",
        "Holder A's credential with holder B's device key and signature.",
        encode_text(&resigned),
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    Ok(rogue_issuer)
}
