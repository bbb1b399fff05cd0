//! P-256 device signatures (SPEC.md §4.2): r and s in [1, n-1]; high s allowed.

use crate::prelude::*;

/// Adds the cases of this section; returns a P-256 device's metro code, which the
/// conformance cases alter.
pub(crate) fn cases(g: &mut Gen, p256: &KeyPair, cred_p256: &Credential) -> Res<Vec<u8>> {
    let at = NOW;
    let later = at + 2;
    let p256_code = Gen::bytes_of(&g.code(cred_p256, p256, &[Domain::Transit], at, 0xb0)?)?;
    let with_sig = |r: [u8; 32], s: [u8; 32]| -> String {
        let mut b = p256_code.clone();
        let at = b.len() - 64;
        b.truncate(at);
        b.extend_from_slice(&r);
        b.extend_from_slice(&s);
        encode_text(&b)
    };
    let (mut r, mut s_val) = ([0u8; 32], [0u8; 32]);
    let (_, rs) = p256_code.split_at(p256_code.len() - 64);
    let (r_part, s_part) = rs.split_at(32);
    r.copy_from_slice(r_part);
    s_val.copy_from_slice(s_part);
    let mut flipped_s = s_val;
    flipped_s[31] ^= 1;
    let p256_cases = [
        (
            "p256_device_signature_bad",
            "A P-256 device signature with one bit of s flipped.",
            with_sig(r, flipped_s),
            "bad_device_signature",
        ),
        (
            "p256_device_signature_high_s",
            "The same P-256 signature as (r, n - s): high s is allowed, and it is the same code.",
            with_sig(r, be_sub(P256_N, s_val)),
            "accept",
        ),
        ("p256_device_signature_r_zero", "r = 0.", with_sig([0; 32], s_val), "bad_device_signature"),
        ("p256_device_signature_s_zero", "s = 0.", with_sig(r, [0; 32]), "bad_device_signature"),
        (
            "p256_device_signature_r_is_n",
            "r = n: out of range, though r mod n is 0.",
            with_sig(P256_N, s_val),
            "bad_device_signature",
        ),
        (
            "p256_device_signature_s_is_n",
            "s = n: out of range, though s mod n is 0.",
            with_sig(r, P256_N),
            "bad_device_signature",
        ),
    ];
    for (name, description, input, expected) in p256_cases {
        g.add(name, description, input, expected, later, g.setup(metro()), vec![])?;
    }
    let seen = vec![Seen { input: encode_text(&p256_code), now: later }];
    g.add(
        "p256_device_signature_high_s_replayed",
        "The high-s form of a code already accepted: the replay id covers no signature, so it is a replay.",
        with_sig(r, be_sub(P256_N, s_val)),
        "replayed",
        later + 1,
        g.setup(metro()),
        seen,
    )?;
    Ok(p256_code)
}
