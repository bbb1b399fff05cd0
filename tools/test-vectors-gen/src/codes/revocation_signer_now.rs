//! An issuer-signed revocation list needs its key valid *now*, at the verifier's
//! clock, whatever its issued_at (SPEC.md §8.3): a retired key cannot replace its last
//! list with a backdated one. Issuer key 5 (tourism only, as in issue 24) signs lists
//! and no card, so only the list's load can refuse; its window ends at `retired`.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    // The list-parsing section's last transit code (nonce 0xba): only the lists differ.
    let c = g.code(&g.city.credential, &key(Algorithm::Ed25519, 0x03)?, &[Domain::Transit], at, 0xba)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let list_signer = key(Algorithm::Ed25519, 0x25)?;
    let retired = later as u32;
    let with_key_5 = |g: &Gen, not_before: u32, not_after: u32| -> Res<String> {
        let issuer = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
        let key_5 = IssuerKey { not_before, not_after, ..g.issuer_entry(5, list_signer.public_key(), vec![5]) };
        g.trust(vec![issuer, key_5], 2, NOW as u32 + DAY as u32)
    };
    // The exact attack: sequence 2, dated not_after - 1, no entries.
    let key_5_list = |issued_at: u32| -> Res<String> {
        let list = RevocationList {
            signer: ListSigner::Issuer(5),
            sequence: 2,
            issued_at,
            expires_at: NOW as u32 + DAY as u32,
            entries: vec![],
        };
        Ok(encode_base64url(&list.sign(&list_signer)?))
    };
    let key_5_cases = [
        (
            "issuer_revocation_list_key_retired_backdated",
            "Issuer key 5 retired (not_after = now): its list dated not_after - 1, with a higher sequence and no entries, is refused, so it cannot replace the key's last list (issue 24).",
            (NOW as u32 - 3600, retired),
            retired - 1,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_key_valid_last_second",
            "The same list while issuer key 5 is still valid (now = not_after - 1): loaded.",
            (NOW as u32 - 3600, retired + 1),
            retired - 1,
            "accept",
        ),
        (
            "issuer_revocation_list_key_not_yet_valid",
            "A list dated inside issuer key 5's window, loaded one second before the window opens (now = not_before - 1): refused.",
            (retired + 1, retired + 100),
            retired + 1,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_key_valid_first_second",
            "The same list at issuer key 5's not_before (now = not_before): loaded.",
            (retired, retired + 100),
            retired + 1,
            "accept",
        ),
    ];
    for (name, description, (not_before, not_after), issued_at, expected) in key_5_cases {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![with_key_5(g, not_before, not_after)?];
        setup.revocation_lists.push(key_5_list(issued_at)?);
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }
    Ok(())
}
