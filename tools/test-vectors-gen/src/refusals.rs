//! The refusing side of MUSTs that no other case caught (issue 27, round two): each case
//! found by bending the reference verifier (tools/refverify, MUSTS.md) and seeing every
//! vector still pass. Lists are the demo city's, changed and signed again by the root
//! where the rule under test needs a valid signature; codes are the demo resident's.

use crate::prelude::*;
use citycode::digest::{LABEL_REVOCATION_LIST, LABEL_TRUST_LIST};

/// `body` (a list without its signature) signed by `signer` under `label`.
fn signed(body: Vec<u8>, label: &[u8], signer: &KeyPair) -> Vec<u8> {
    let mut tbs = label.to_vec();
    tbs.extend_from_slice(&body);
    let mut out = body;
    out.extend_from_slice(&signer.sign(&tbs));
    out
}

/// The body of a signed list (its last 64 bytes are the signature).
fn body_of(list: &[u8]) -> Res<Vec<u8>> {
    Ok(list.get(..list.len().checked_sub(64).ok_or("short list")?).ok_or("short list")?.to_vec())
}

/// `text` (a code) with one bit of its last byte (the device signature's) flipped.
fn bad_device_signature(text: &str) -> Res<String> {
    let mut bytes = Gen::bytes_of(text)?;
    *bytes.last_mut().ok_or("empty code")? ^= 1;
    Ok(encode_text(&bytes))
}

/// A new case from the case `base` already made: its input changed by `edit`, its
/// verifier and time kept.
fn variant(
    g: &mut Gen,
    base: &str,
    name: &str,
    description: &str,
    edit: impl FnOnce(&mut Vec<u8>) -> Res<()>,
    expected: &str,
) -> Res<()> {
    let case = g.cases.iter().find(|c| c.name == base).ok_or(format!("no case {base}"))?.clone();
    let mut bytes = Gen::bytes_of(&case.input)?;
    edit(&mut bytes)?;
    g.add(name, description, encode_text(&bytes), expected, case.now, case.verifier, vec![])
}

/// Cases built on the GM-only deployment's cases (added after them).
pub(crate) fn gm_cases(g: &mut Gen) -> Res<()> {
    variant(
        g,
        "gm_accept_metro_gate",
        "gm_device_key_prefix_04_compressed",
        "gm_accept_metro_gate with its 33-byte SM2 device key's prefix 02/03 replaced by 04 (SPEC.md §4.2: only 02 and 03 name a compressed key): refused as read, whatever the signatures.",
        |b| {
            *b.get_mut(2).ok_or("short code")? = 0x04;
            Ok(())
        },
        "invalid_device_key",
    )
}

/// Adds the cases.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let metro_code = g.code(&cred, &device, &[Domain::Transit], at, 0xd0)?;

    // ---- Lists (SPEC.md §8.1-§8.3), each with a code the demo city's lists accept.
    // Trust list: version(0) sequence(1..9) issued(9..13) expires(13..17) n(17), then
    // each key: kid alg key[32] not_before[4] not_after[4] m domains, then root_alg.
    let two_keys = {
        let keys = vec![
            g.issuer_entry(1, g.city.issuer.public_key(), vec![1, 2, 3, 4, 5, 6, 7]),
            g.issuer_entry(2, key(Algorithm::Ed25519, 0x07)?.public_key(), vec![1, 4]),
        ];
        decode_base64url(&g.trust(keys, 2, NOW as u32 + DAY as u32)?).map_err(|r| format!("{r}"))?
    };
    let body = body_of(&two_keys)?;
    // The first key's entry is 18..18+50 (seven one-byte domains), the second's follows (two).
    let (first, rest) = body.split_at_checked(18).ok_or("short list")?;
    let (key_1, rest) = rest.split_at_checked(50).ok_or("short list")?;
    let (key_2, tail) = rest.split_at_checked(45).ok_or("short list")?;
    let swapped_keys = [first, key_2, key_1, tail].concat();
    let mut swapped_domains = body.clone();
    // The second key's domains [1, 4] are its last two bytes before root_alg.
    swapped_domains.splice(body.len() - 3..body.len() - 1, [4, 1]);
    let mut unknown_root_alg = g.city.trust_list.clone();
    let alg_at = unknown_root_alg.len() - 65;
    *unknown_root_alg.get_mut(alg_at).ok_or("short list")? = 4;
    let trust_cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "trust_list_key_ids_unsorted",
            "A trust list whose key ids are 2 then 1, validly signed by the root (SPEC.md §8.1): key ids MUST be strictly increasing.",
            signed(swapped_keys, LABEL_TRUST_LIST, &g.city.root),
            "non_canonical",
        ),
        (
            "trust_list_domain_ids_unsorted",
            "A trust list whose second key's domains are 4 then 1, validly signed by the root (SPEC.md §8.1): domain ids MUST be strictly increasing.",
            signed(swapped_domains, LABEL_TRUST_LIST, &g.city.root),
            "non_canonical",
        ),
        (
            "trust_list_root_alg_4",
            "The demo trust list with its root_alg set to 4 (unassigned), signature unchanged: the algorithm id is refused as it is read, before the signature (SPEC.md §4.1, §8.3).",
            unknown_root_alg,
            "unsupported_algorithm",
        ),
    ];
    for (name, description, list, expected) in trust_cases {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![encode_base64url(&list)];
        g.add(name, description, metro_code.clone(), expected, later, setup, vec![])?;
    }

    // Revocation list: version(0) signer(1) sequence(2..10) issued(10..14) expires(14..18)
    // n(18), then each entry: kind and its bytes, then alg.
    let other_a = key(Algorithm::Ed25519, 0x07)?.public_key().key_id();
    let other_b = key(Algorithm::Ed25519, 0x08)?.public_key().key_id();
    let two_entries = decode_base64url(&g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(other_a), Revoked::DeviceKey(other_b)],
    )?)
    .map_err(|r| format!("{r}"))?;
    let body = body_of(&two_entries)?;
    let (head, rest) = body.split_at_checked(19).ok_or("short list")?;
    let (entry_1, rest) = rest.split_at_checked(17).ok_or("short list")?;
    let (entry_2, tail) = rest.split_at_checked(17).ok_or("short list")?;
    let swapped_entries = [head, entry_2, entry_1, tail].concat();
    let mut unknown_alg = g.city.revocation_list.clone();
    let alg_at = unknown_alg.len() - 65;
    *unknown_alg.get_mut(alg_at).ok_or("short list")? = 4;
    let mut trailing = g.city.revocation_list.clone();
    trailing.push(0);
    let revocation_cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "revocation_list_entries_unsorted",
            "A root-signed revocation list whose two device-key entries are in decreasing order, validly signed (SPEC.md §8.2): entries MUST be strictly increasing.",
            signed(swapped_entries, LABEL_REVOCATION_LIST, &g.city.root),
            "non_canonical",
        ),
        (
            "revocation_list_alg_4",
            "The demo revocation list with its alg set to 4 (unassigned), signature unchanged: refused as it is read, before the signature (SPEC.md §4.1, §8.3).",
            unknown_alg,
            "unsupported_algorithm",
        ),
        (
            "revocation_list_trailing_byte",
            "The demo revocation list with one byte after its signature (SPEC.md §8.3).",
            trailing,
            "trailing_bytes",
        ),
    ];
    for (name, description, list, expected) in revocation_cases {
        let mut setup = g.setup(metro());
        setup.revocation_lists = vec![encode_base64url(&list)];
        g.add(name, description, metro_code.clone(), expected, later, setup, vec![])?;
    }

    // Load order (SPEC.md §8.3): parse, signature, then rollback. A list of a lower
    // sequence than the held one whose signature is also bad is refused for the signature.
    let mut forged_older = g.city.trust_list.clone();
    *forged_older.last_mut().ok_or("empty list")? ^= 1;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![
        g.trust(
            vec![g.issuer_entry(1, g.city.issuer.public_key(), vec![1, 2, 3, 4, 5, 6, 7])],
            2,
            NOW as u32 + DAY as u32,
        )?,
        encode_base64url(&forged_older),
    ];
    g.add(
        "trust_list_rollback_with_bad_signature",
        "A trust list of sequence 2 is held; the demo list (sequence 1) with its signature broken is then loaded: the signature is checked before the sequence (SPEC.md §8.3).",
        metro_code.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;

    // ---- Codes (SPEC.md §4.1, §4.4, §11).
    let transit_card: &[u8] = &claims_of(1, &[TRANSIT_ENTRY]);
    let mut unknown_card_alg = Gen::bytes_of(&metro_code)?;
    // version alg device_key[32] subject[8] issued_at[4] validity nonce[4] n: the first
    // card's kid is byte 52 and its alg byte 53.
    *unknown_card_alg.get_mut(53).ok_or("short code")? = 4;
    g.add(
        "card_alg_4",
        "The demo metro code with its card's alg set to 4 (unassigned): refused as it is read (SPEC.md §4.1).",
        encode_text(&unknown_card_alg),
        "unsupported_algorithm",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code_with_cards_from(&[transit_card], at, 0xd1, citycode::digest::LABEL_CARD, demo::TODAY, 0)?;
    g.add(
        "card_valid_days_0",
        "A validly signed card whose valid_days is 0 (SPEC.md §4.4: 1..255).",
        c,
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    for (i, (name, description, account, expected)) in [
        ("parking_account_arrears", "A parking code whose transit account is in arrears (2), vehicle payment on (SPEC.md §11: parking needs an active account).", 2u8, "policy_unmet"),
        ("parking_account_suspended", "A parking code whose transit account is suspended (3), vehicle payment on (SPEC.md §11).", 3, "policy_unmet"),
    ]
    .into_iter()
    .enumerate()
    {
        let card = claims_of(1, &[&[4, 3, account, 1, 1]]);
        let c = g.code_with_claims(&card, at, 0xd2 + i as u8)?;
        g.add(name, description, c, expected, later, g.setup(Scene::Parking), vec![])?;
    }

    // ---- Device keys as read (SPEC.md §4.2): P-256.
    variant(
        g,
        "accept_metro_gate_p256_device",
        "p256_device_key_prefix_04_compressed",
        "accept_metro_gate_p256_device with its 33-byte device key's prefix replaced by 04 (SPEC.md §4.2: only 02 and 03 name a compressed key).",
        |b| {
            *b.get_mut(2).ok_or("short code")? = 0x04;
            Ok(())
        },
        "invalid_device_key",
    )?;
    let off_curve = p256_off_curve_point()?;
    variant(
        g,
        "accept_metro_gate_p256_device",
        "p256_device_key_off_curve",
        "accept_metro_gate_p256_device with its device key replaced by 02 ‖ x for an x with no point on P-256 (found by trying x = 1, 2, ...; SPEC.md §4.2).",
        |b| {
            b.splice(2..35, off_curve);
            Ok(())
        },
        "invalid_device_key",
    )?;

    // ---- Parsing reports the first failing field, each checked as it is read (SPEC.md §5).
    // version alg device_key[32] subject[8] issued_at[4] validity nonce[4] n.
    let metro_bytes = Gen::bytes_of(&metro_code)?;
    let mut small_order_key = metro_bytes.get(..34).ok_or("short code")?.to_vec();
    small_order_key.splice(2..34, [1u8].into_iter().chain([0u8; 31]));
    let mut validity_0 = metro_bytes.get(..47).ok_or("short code")?.to_vec();
    *validity_0.get_mut(46).ok_or("short code")? = 0;
    let mut cards_17 = metro_bytes.get(..52).ok_or("short code")?.to_vec();
    *cards_17.get_mut(51).ok_or("short code")? = 17;
    let duplicate = g.cases.iter().find(|c| c.name == "duplicate_domain").ok_or("no duplicate_domain")?;
    let duplicate = Gen::bytes_of(&duplicate.input)?;
    let duplicate_cut = duplicate.get(..duplicate.len() - 10).ok_or("short code")?.to_vec();
    let mut kid_five_continuations = metro_bytes.get(..52).ok_or("short code")?.to_vec();
    kid_five_continuations.extend_from_slice(&[0x80; 5]);
    let cut_cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "cut_after_kid_of_five_continuation_bytes",
            "A code cut right after its first card's kid, written as five varint bytes 0x80 that all continue: refused when the fifth is read (SPEC.md §4.1: at most five bytes), before the code is found short.",
            kid_five_continuations,
            "non_canonical",
        ),
        (
            "cut_after_small_order_device_key",
            "A code of an Ed25519 device key of small order (the identity point), cut right after the key: the key is refused as it is read, before the code is found short.",
            small_order_key,
            "invalid_device_key",
        ),
        (
            "cut_after_validity_0",
            "A code whose validity is 0, cut right after the validity byte: refused as read (malformed), not truncated.",
            validity_0,
            "malformed",
        ),
        (
            "cut_after_card_count_17",
            "A code whose card count is 17 and nothing after it: refused when the count is read (malformed), not truncated.",
            cards_17,
            "malformed",
        ),
        (
            "duplicate_domain_cut_in_device_signature",
            "duplicate_domain cut inside its device signature: the repeated domain is refused when its card is read whole, before the code is found short.",
            duplicate_cut,
            "malformed",
        ),
    ];
    for (name, description, bytes, expected) in cut_cases {
        g.add(name, description, encode_text(&bytes), expected, later, g.setup(metro()), vec![])?;
    }

    // ---- A printed code is never replay-checked (SPEC.md §5.1, §9.2).
    let printed = g.cases.iter().find(|c| c.name == "accept_printed_hospital").ok_or("no printed case")?.clone();
    g.add(
        "printed_shown_twice",
        "accept_printed_hospital shown again one second after it was accepted: a printed code is not checked for replay, so it is accepted again.",
        printed.input.clone(),
        "accept",
        printed.now + 1,
        printed.verifier.clone(),
        vec![Seen { input: printed.input, now: printed.now }],
    )?;

    // ---- Step order (SPEC.md §9): a code failing two steps reports the earlier.
    let mut setup = g.setup(metro());
    setup.trust_lists.clear();
    setup.revocation_lists.clear();
    g.add(
        "step_order_truncated_before_no_trust_list",
        "A truncated code at a verifier holding no list: parsing (step 1) is reported before the lists (step 2).",
        encode_text(metro_bytes.get(..60).ok_or("short code")?),
        "truncated",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![g.trust(
        vec![g.issuer_entry(1, g.city.issuer.public_key(), vec![1, 2, 3, 4, 5, 6, 7])],
        2,
        NOW as u32 + 10,
    )?];
    g.add(
        "step_order_trust_list_expired_before_code_expired",
        "A trust list that expired at NOW + 10 and a code issued at NOW for 60 s, verified at NOW + 1000: the lists (step 2) are reported before the code window (step 3).",
        metro_code.clone(),
        "trust_list_expired",
        NOW + 1000,
        setup,
        vec![],
    )?;
    let mut unknown_kid = metro_bytes.clone();
    *unknown_kid.get_mut(52).ok_or("short code")? = 9;
    g.add(
        "step_order_code_expired_before_unknown_issuer_key",
        "An expired code whose card names key id 9 (in no list): the code window (step 3) is reported before the cards (step 4).",
        encode_text(&unknown_kid),
        "code_expired",
        NOW + 1000,
        g.setup(metro()),
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists =
        vec![g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), vec![1, 2])], 2, NOW as u32 + DAY as u32)?];
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject(cred.subject.0)],
    )?];
    g.add(
        "step_order_out_of_scope_before_revoked",
        "A revoked subject's transit card, its key allowed domains 1 and 2 only: the cards (step 4) are reported before revocation (step 5).",
        metro_code.clone(),
        "out_of_scope",
        later,
        setup,
        vec![],
    )?;
    let revoking = g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(device.public_key().key_id())],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![revoking];
    g.add(
        "step_order_revoked_before_bad_device_signature",
        "A code of a revoked device key whose device signature is also broken: revocation (step 5) is reported before signatures (step 6).",
        bad_device_signature(&metro_code)?,
        "revoked",
        later,
        setup,
        vec![],
    )?;
    g.add(
        "step_order_bad_device_signature_before_policy",
        "A transit code with a broken device signature shown at a hospital: signatures (step 6) are reported before the policy (step 7).",
        bad_device_signature(&metro_code)?,
        "bad_device_signature",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    Ok(())
}

/// `02 ‖ x` for the smallest x with no point on P-256.
fn p256_off_curve_point() -> Res<Vec<u8>> {
    for x in 1u8..=255 {
        let mut enc = vec![0x02];
        enc.extend_from_slice(&[0u8; 31]);
        enc.push(x);
        if PublicKey::from_bytes(Algorithm::EcdsaP256Sha256, &enc).is_err() {
            return Ok(enc);
        }
    }
    Err("no off-curve x".into())
}
