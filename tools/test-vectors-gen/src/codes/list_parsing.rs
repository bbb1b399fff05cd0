//! List parsing: each failure's reason, found before any signature check
//! (SPEC.md §8.3). The lists are the demo city's with one field changed.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let tl = g.city.trust_list.clone();
    let rl = g.city.revocation_list.clone();
    let edit = |b: &[u8], at: usize, remove: usize, insert: &[u8]| -> String {
        let mut v = b.to_vec();
        v.splice(at..at + remove, insert.iter().copied());
        encode_base64url(&v)
    };
    // Trust list: version(0) sequence(1..9) issued(9..13) expires(13..17) n(17) kid(18) alg(19).
    // Revocation list: version(0) signer(1) sequence(2..10) issued(10..14) expires(14..18) n(18).
    let list_parse_cases: Vec<(&str, &str, bool, String, &str)> = vec![
        ("trust_list_version_2", "A trust list of version 2.", true, edit(&tl, 0, 1, &[2]), "unsupported_version"),
        (
            "trust_list_truncated",
            "A trust list cut inside its root signature.",
            true,
            encode_base64url(tl.get(..tl.len() - 1).ok_or("short")?),
            "truncated",
        ),
        (
            "trust_list_trailing_byte",
            "A trust list with one byte after its signature.",
            true,
            {
                let mut v = tl.clone();
                v.push(0);
                encode_base64url(&v)
            },
            "trailing_bytes",
        ),
        (
            "trust_list_1025_keys",
            "A trust list whose key count is 1,025, and nothing after the count: refused when the count is read (malformed, not truncated).",
            true,
            edit(&tl, 17, tl.len() - 17, &[0x81, 0x08]),
            "malformed",
        ),
        (
            "trust_list_key_algorithm_4",
            "An issuer key of algorithm id 4 (unassigned).",
            true,
            edit(&tl, 19, 1, &[4]),
            "unsupported_algorithm",
        ),
        (
            "trust_list_count_varint_over_long",
            "A key count of 1 written in two varint bytes.",
            true,
            edit(&tl, 17, 1, &[0x81, 0x00]),
            "non_canonical",
        ),
        (
            "revocation_list_version_2",
            "A revocation list of version 2.",
            false,
            edit(&rl, 0, 1, &[2]),
            "unsupported_version",
        ),
        (
            "revocation_list_signer_2",
            "A revocation list whose signer byte is 2.",
            false,
            edit(&rl, 1, 1, &[2]),
            "malformed",
        ),
        (
            "revocation_list_too_many_entries",
            "A revocation list whose entry count is 2^20 + 1, and nothing after the count: refused when the count is read (malformed, not truncated).",
            false,
            edit(&rl, 18, rl.len() - 18, &[0x81, 0x80, 0x40]),
            "malformed",
        ),
        (
            "revocation_list_entry_kind_4",
            "A revocation list entry of kind 4.",
            false,
            edit(&rl, 18, 1, &[1, 4]),
            "malformed",
        ),
        (
            "revocation_list_truncated",
            "A revocation list cut inside its signature.",
            false,
            encode_base64url(rl.get(..rl.len() - 1).ok_or("short")?),
            "truncated",
        ),
    ];
    let c = g.code(&cred, &device, &[Domain::Transit], at, 0xba)?;
    for (name, description, trust, list, expected) in list_parse_cases {
        let mut setup = g.setup(metro());
        if trust {
            setup.trust_lists = vec![list];
        } else {
            setup.revocation_lists = vec![list];
        }
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }
    // The most issuer keys a trust list may hold: 1,024 (the demo key under every kid).
    let many: Vec<IssuerKey> =
        (1..=1024).map(|kid| g.issuer_entry(kid, g.city.issuer.public_key(), all_ids.clone())).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![g.trust(many, 2, NOW as u32 + DAY as u32)?];
    g.add(
        "trust_list_1024_keys",
        "A trust list of 1,024 issuer keys, the most allowed.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;

    // A verifier configured to run without a revocation list (SPEC.md §9 step 2).
    let mut setup = g.setup(metro());
    setup.revocation_lists.clear();
    setup.config.allow_missing_revocation_list = true;
    g.add(
        "no_revocation_list_allowed",
        "No revocation list, on a verifier its operator configured to run without one: accepted (its verdicts say revocation was not checked).",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    // The root-signed revocation list is required: an issuer's list alone does not make
    // revocation checked (SPEC.md §9 step 2; issue 24).
    let issuer_list_only = g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject(*b"someone_")],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![issuer_list_only.clone()];
    g.add(
        "no_revocation_list_issuer_list_only",
        "Issuer 1's revocation list but not the root's: fail closed, whatever issuer lists are held.",
        c.clone(),
        "no_revocation_list",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![issuer_list_only];
    setup.config.allow_missing_revocation_list = true;
    g.add(
        "no_root_revocation_list_allowed",
        "Issuer 1's revocation list but not the root's, on a verifier configured to run without revocation lists: accepted, and the verdict says revocation was not checked.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    // Loading the held bytes again is allowed and changes nothing (SPEC.md §8.3).
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![encode_base64url(&tl), encode_base64url(&tl)];
    setup.revocation_lists = vec![encode_base64url(&rl), encode_base64url(&rl)];
    g.add(
        "lists_loaded_twice",
        "The same trust list and the same revocation list, each loaded twice: not a rollback.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    Ok(())
}
