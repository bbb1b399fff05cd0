//! Cases that pin SPEC.md's readings where it was silent, and the refusing side of
//! MUSTs found by bending the reference verifier (tools/refverify, MUSTS.md).

use crate::prelude::*;

/// `list` (a signed trust or revocation list, whose body ends in its `alg` byte) with
/// that byte set to `alg` and signed again by `signer` under `label`: a list whose
/// signature verifies under the signer's key but whose `alg` names another algorithm.
pub(crate) fn resigned_with_alg(list: &[u8], alg: Algorithm, label: &[u8], signer: &KeyPair) -> Res<Vec<u8>> {
    let mut body = list.get(..list.len() - 64).ok_or("short list")?.to_vec();
    *body.last_mut().ok_or("empty list")? = alg.id();
    let mut tbs = label.to_vec();
    tbs.extend_from_slice(&body);
    body.extend_from_slice(&signer.sign(&tbs));
    Ok(body)
}

/// `text` with its digit at `at` (counted after the prefix) written as another Unicode
/// digit of the same value (`zero` the script's digit 0): an integer parser that takes
/// any Unicode digit would read the same code.
pub(crate) fn with_foreign_digit(text: &str, at: usize, zero: char) -> Res<String> {
    let digits = text.strip_prefix("CC1:").ok_or("no prefix")?;
    let mut out = String::from("CC1:");
    for (i, ch) in digits.chars().enumerate() {
        if i == at {
            let d = ch.to_digit(10).ok_or("not a digit")?;
            out.push(char::from_u32(zero as u32 + d).ok_or("no such digit")?);
        } else {
            out.push(ch);
        }
    }
    Ok(out)
}

/// Cases that pin the readings SPEC.md chose where it was silent or contradicted the
/// vectors, and the refusing side of MUSTs no other case catches (issue 27): each found
/// by bending a second verifier written from SPEC.md alone (tools/refverify, MUSTS.md).
pub(crate) fn conformance_cases(
    g: &mut Gen,
    cred: &Credential,
    device: &KeyPair,
    printed: &citycode::PrintedCode,
    union_bytes: &[u8],
    p256_code: &[u8],
) -> Res<()> {
    use citycode::digest::{LABEL_GUARDIAN_CARD, LABEL_REVOCATION_LIST, LABEL_TRUST_LIST};
    let at = NOW;
    let later = at + 2;
    let transit: &[u8] = &[4, 3, 1, 1, 0];
    let today = demo::TODAY.to_be_bytes();
    let health: &[u8] = &[1, 3, 1, today[0], today[1]];
    let one_card = |parts: &[&[u8]]| -> Vec<u8> {
        let mut v = vec![parts.len() as u8];
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    };

    // §4.3, §5: guardianship is the one domain that repeats across a code's cards.
    let c = g.code_with_cards_labelled(
        &[&one_card(&[health, &[7, 1, 2]]), &one_card(&[transit, &[7, 1, 2]])],
        at,
        0xe0,
        LABEL_GUARDIAN_CARD,
    )?;
    g.add(
        "accept_guardian_two_cards",
        "A guardian's code of two cards (health, transit), each carrying guardianship with the same relation (child): guardianship is the one domain that may repeat (SPEC.md §5).",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §9 step 4: scope covers every domain of a card, unknown ones and guardianship too.
    let six: Vec<u32> = (1..=6).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists =
        vec![g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), six.clone())], 2, NOW as u32 + DAY as u32)?];
    let c = g.code_with_cards_labelled(&[&one_card(&[transit, &[7, 1, 2]])], at, 0xe3, LABEL_GUARDIAN_CARD)?;
    g.add(
        "out_of_scope_guardianship",
        "A guardian's transit card whose issuer key lists domains 1 to 6 but not guardianship (7): out of scope (SPEC.md §9 step 4).",
        c,
        "out_of_scope",
        later,
        setup.clone(),
        vec![],
    )?;
    let c = g.code_with_claims(&one_card(&[transit, &[9, 0]]), at, 0xe4)?;
    g.add(
        "out_of_scope_unknown_domain",
        "Transit and an unknown domain 9 that the issuer key does not list: out of scope, unknown or not (SPEC.md §9 step 4).",
        c,
        "out_of_scope",
        later,
        setup,
        vec![],
    )?;

    // §4.1: time arithmetic without overflow. A card from day 60,000 (year 2134) starts
    // at 5,184,000,000 s, past 2^32: computed in 32 bits it would start and end in 1998.
    let c = g.code_with_cards_from(&[&one_card(&[transit])], at, 0xe5, citycode::digest::LABEL_CARD, 60_000, 10)?;
    g.add(
        "credential_not_yet_valid_beyond_32_bits",
        "A card valid from day 60,000, whose start in seconds exceeds 2^32: not yet valid, never expired (SPEC.md §4.1: 64-bit time arithmetic).",
        c,
        "credential_not_yet_valid",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §5.1: a printed code at a scene that refuses printed codes is refused before any
    // signature is looked at; one without identity is malformed before trailing bytes.
    let mut flipped = printed.as_bytes().to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "policy_unmet_printed_metro_gate_tampered",
        "bad_issuer_signature_printed at a metro gate: the scene refuses printed codes before any issuer key or signature is looked at (SPEC.md §5.1).",
        encode_text(&flipped),
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let entries = printed_claim_entries(union_bytes)?;
    let without_identity = entries.get(..2).ok_or("no health and insurance entries")?;
    let mut claims = vec![u8::try_from(without_identity.len())?];
    for e in without_identity {
        claims.extend_from_slice(e);
    }
    let no_identity = resign_printed(union_bytes, 30, &claims)?;
    let mut guarded = entries.clone();
    guarded.push(vec![7, 1, 1]);
    let mut claims = vec![u8::try_from(guarded.len())?];
    for e in &guarded {
        claims.extend_from_slice(e);
    }
    g.add(
        "malformed_printed_with_guardianship",
        "A printed code, validly signed, whose card also carries guardianship (parent): a printed code is never a guardian's (SPEC.md §5.1).",
        resign_printed(union_bytes, 30, &claims)?,
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    g.add(
        "malformed_printed_health_without_identity",
        "A printed code, validly signed, with health and the insurance status but no identity for the staff to check.",
        no_identity.clone(),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut over = Gen::bytes_of(&no_identity)?;
    over.push(0);
    g.add(
        "malformed_printed_without_identity_trailing_byte",
        "The same printed code with one byte after its last card: no identity is known after the last card, before the byte over (SPEC.md §5.1).",
        encode_text(&over),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    // §6: digits are ASCII 0-9 only.
    let text = g.code(cred, device, &[Domain::Transit], at, 0xe1)?;
    g.add(
        "accept_metro_before_foreign_digits",
        "The metro code that the next cases rewrite with other Unicode digits of the same values.",
        text.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    for (name, zero, what) in [
        ("text_fullwidth_digit", '\u{ff10}', "a full-width digit (U+FF10 block)"),
        ("text_arabic_indic_digit", '\u{0660}', "an Arabic-Indic digit (U+0660 block)"),
    ] {
        g.add(
            name,
            &format!("The metro code with one digit written as {what} of the same value: only ASCII 0-9 are digits (SPEC.md §6)."),
            with_foreign_digit(&text, 5, zero)?,
            "text_encoding",
            later,
            g.setup(metro()),
            vec![],
        )?;
    }
    let mut underscore: Vec<char> = text.chars().collect();
    *underscore.get_mut(4 + 5).ok_or("short text")? = '_';
    g.add(
        "text_underscore_in_digits",
        "The metro code with a digit replaced by `_`, which some integer parsers take between digits (SPEC.md §6).",
        underscore.into_iter().collect(),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §4.2: a P-256 key whose x is p: 02 || p names no point canonically.
    let p256_p = citycode::text::unhex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")?;
    let mut x_is_p = p256_code.to_vec();
    let mut x_key = vec![0x02];
    x_key.extend_from_slice(&p256_p);
    x_is_p.splice(2..35, x_key);
    g.add(
        "p256_device_key_x_is_p",
        "A P-256 device key 02 || p: x must be below p, never reduced (SPEC.md §4.2).",
        encode_text(&x_is_p),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §8.1, §8.2: a list's alg must be its signer's, even when the signature verifies.
    let metro_code = g.code(cred, device, &[Domain::Transit], at, 0xe2)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![encode_base64url(&resigned_with_alg(
        &g.city.trust_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_TRUST_LIST,
        &g.city.root,
    )?)];
    g.add(
        "trust_list_root_alg_not_the_roots",
        "The demo trust list with root_alg 2 (P-256), signed again by the Ed25519 root: the signature verifies, but root_alg is not the root's algorithm (SPEC.md §8.1).",
        metro_code.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![encode_base64url(&resigned_with_alg(
        &g.city.revocation_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_REVOCATION_LIST,
        &g.city.root,
    )?)];
    g.add(
        "revocation_list_alg_not_the_roots",
        "The root's revocation list with alg 2 (P-256), signed again by the Ed25519 root: alg is not its signer's algorithm (SPEC.md §8.2).",
        metro_code.clone(),
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;
    // The demo issuer's key (kid 1), as demo::DemoCity makes it.
    let issuer_key = key(Algorithm::Ed25519, 0x02)?;
    let issuer_list = RevocationList {
        signer: ListSigner::Issuer(1),
        sequence: 1,
        issued_at: NOW as u32 - 600,
        expires_at: NOW as u32 + DAY as u32,
        entries: vec![],
    }
    .sign(&issuer_key)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(encode_base64url(&issuer_list));
    g.add(
        "accept_issuer_revocation_list",
        "The root's revocation list and an empty one signed by issuer key 1: both load.",
        metro_code.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(encode_base64url(&resigned_with_alg(
        &issuer_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_REVOCATION_LIST,
        &issuer_key,
    )?));
    g.add(
        "issuer_revocation_list_alg_not_its_keys",
        "Issuer key 1's revocation list with alg 2 (P-256), signed again by the Ed25519 issuer key: alg is not its key's algorithm (SPEC.md §8.2).",
        metro_code.clone(),
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;

    // §8.3: an equal sequence with other bytes is a rollback, for both kinds of list.
    let all_ids: Vec<u32> = Domain::ALL.iter().map(|d| d.id()).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists.push(g.trust(
        vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids)],
        1,
        NOW as u32 + 2 * DAY as u32,
    )?);
    g.add(
        "trust_list_equal_sequence_other_bytes",
        "A second trust list of sequence 1 (the held list's) with other content: refused as a rollback (SPEC.md §8.3).",
        metro_code.clone(),
        "trust_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &g.city.root,
        ListSigner::Root,
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject([0x99; 8])],
    )?);
    g.add(
        "revocation_list_equal_sequence_other_bytes",
        "A second root revocation list of sequence 1 (the held list's) with an entry: refused as a rollback (SPEC.md §8.3).",
        metro_code,
        "revocation_list_rollback",
        later,
        setup,
        vec![],
    )?;
    Ok(())
}
