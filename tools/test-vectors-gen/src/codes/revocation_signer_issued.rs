//! An issuer-signed revocation list needs its key valid when it was issued
//! (SPEC.md §8.2): the key's window here is [NOW - 100, NOW + 100).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    // The list-parsing section's last transit code (nonce 0xba): only the lists differ.
    let c = g.code(&g.city.credential, &key(Algorithm::Ed25519, 0x03)?, &[Domain::Transit], at, 0xba)?;
    let all_ids = Domain::ALL.iter().map(|d| d.id()).collect::<Vec<u32>>();
    let mut windowed = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    (windowed.not_before, windowed.not_after) = (NOW as u32 - 100, NOW as u32 + 100);
    let tl_windowed = g.trust(vec![windowed], 2, NOW as u32 + DAY as u32)?;
    let issuer_list_at = |issued_at: u32| -> Res<String> {
        let list = RevocationList {
            signer: ListSigner::Issuer(1),
            sequence: 1,
            issued_at,
            expires_at: NOW as u32 + DAY as u32,
            entries: vec![Revoked::Subject([0x99; 8])],
        };
        Ok(encode_base64url(&list.sign(&key(Algorithm::Ed25519, 0x02)?)?))
    };
    let issuer_list_cases = [
        (
            "issuer_revocation_list_at_key_not_before",
            "Issued at the issuer key's not_before.",
            NOW as u32 - 100,
            "accept",
        ),
        (
            "issuer_revocation_list_before_key_window",
            "Issued one second before the issuer key's not_before.",
            NOW as u32 - 101,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_at_key_last_second",
            "Issued at the issuer key's not_after - 1.",
            NOW as u32 + 99,
            "accept",
        ),
        (
            "issuer_revocation_list_at_key_not_after",
            "Issued at the issuer key's not_after: the key was retired.",
            NOW as u32 + 100,
            "issuer_key_not_valid",
        ),
    ];
    for (name, description, issued_at, expected) in issuer_list_cases {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_windowed.clone()];
        setup.revocation_lists.push(issuer_list_at(issued_at)?);
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }
    Ok(())
}
