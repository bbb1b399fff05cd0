//! Tampering and encoding.

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let good = Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 60)?)?;
    let mut flipped = good.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "flipped_bit_device_signature",
        "One bit of the device signature flipped.",
        encode_text(&flipped),
        "bad_device_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut flipped = good.clone();
    // Byte 58 is the first claim entry's domain id; 59 its length; 60.. the body.
    // Flip the vehicle-payment flag (third transit byte).
    if let Some(b) = flipped.get_mut(62) {
        *b ^= 0x01;
    }
    g.add(
        "flipped_bit_claims",
        "One bit of a claim flipped.",
        encode_text(&flipped),
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "truncated",
        "The last byte removed.",
        encode_text(good.get(..good.len() - 1).ok_or("short")?),
        "truncated",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut trailing = good.clone();
    trailing.push(0);
    g.add(
        "trailing_bytes",
        "One byte appended after the device signature.",
        encode_text(&trailing),
        "trailing_bytes",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let text = encode_text(&good);
    g.add(
        "wrong_prefix",
        "HC1: instead of CC1:.",
        text.replacen("CC1:", "HC1:", 1),
        "text_prefix",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "lowercase_prefix",
        "The prefix is case-sensitive.",
        text.replacen("CC1:", "cc1:", 1),
        "text_prefix",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_lf",
        "A scanner's trailing LF is the one terminator SPEC.md §6 ignores.",
        format!("{text}\n"),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let crlf = encode_text(&Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 71)?)?);
    g.add(
        "scanner_crlf",
        "A scanner's trailing CR LF is ignored.",
        format!("{crlf}\r\n"),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_two_terminators",
        "Two line terminators: only one is ignored.",
        format!("{text}\n\n"),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_trailing_space",
        "A trailing space is not a terminator.",
        format!("{text} "),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut long = text.clone();
    long.push_str(&"0".repeat(MAX_TEXT_LEN + 1 - text.len()));
    g.add(
        "text_too_long",
        "One character more than any QR symbol holds (7,089), refused before decoding.",
        long,
        "text_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "text_not_digits",
        "A letter among the digits.",
        text.replacen('0', "A", 1),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "text_bad_length",
        "One digit removed: no byte count has that many digits.",
        text.get(..text.len() - 1).ok_or("short")?.to_string(),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut big = String::from("CC1:");
    big.push_str(&"9".repeat(29));
    big.push_str(text.get(33..).ok_or("short")?);
    g.add(
        "text_chunk_out_of_range",
        "A 29-digit chunk of 10^29 - 1, above 2^96 - 1.",
        big,
        "non_canonical",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut v2 = good.clone();
    if let Some(b) = v2.first_mut() {
        *b = 2;
    }
    g.add(
        "wrong_version",
        "Format version byte 2.",
        encode_text(&v2),
        "unsupported_version",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut unassigned = good.clone();
    if let Some(b) = unassigned.get_mut(1) {
        *b = 4;
    }
    g.add(
        "unsupported_device_algorithm",
        "Device algorithm id 4 (unassigned).",
        encode_text(&unassigned),
        "unsupported_algorithm",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut varint = good.clone();
    // Byte 52 is the first card's key id (1); encode it as 0x81 0x00.
    varint.splice(52..53, [0x81, 0x00]);
    g.add(
        "non_canonical_varint",
        "Key id 1 encoded in two bytes.",
        encode_text(&varint),
        "non_canonical",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let hosp = Gen::bytes_of(&g.code_for(&cred, &device, &Scene::Hospital, at, 61)?)?;
    // Hospital card entries: health at 58..63, medical insurance (region withheld) at
    // 63..67. Swap them.
    let mut swapped = hosp.clone();
    let health = hosp.get(58..63).ok_or("short")?.to_vec();
    let insurance = hosp.get(63..67).ok_or("short")?.to_vec();
    swapped.splice(58..67, insurance.into_iter().chain(health));
    g.add(
        "non_canonical_claim_order",
        "Medical insurance (2) before health (1) in a card.",
        encode_text(&swapped),
        "non_canonical",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut zero = good.clone();
    if let Some(b) = zero.get_mut(46) {
        *b = 0;
    }
    g.add(
        "zero_validity",
        "Code validity of 0 seconds.",
        encode_text(&zero),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut bad_status = good.clone();
    if let Some(b) = bad_status.get_mut(60) {
        *b = 9;
    }
    g.add(
        "unknown_enum_value",
        "Transit account status 9 is not defined.",
        encode_text(&bad_status),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    // Two copies of the transit card: a domain disclosed twice.
    let card = good.get(52..good.len() - 64).ok_or("short")?.to_vec();
    let mut dup = good.get(..52).ok_or("short")?.to_vec();
    if let Some(b) = dup.get_mut(51) {
        *b = 2;
    }
    dup.extend_from_slice(&card);
    dup.extend_from_slice(&card);
    dup.extend_from_slice(good.get(good.len() - 64..).ok_or("short")?);
    g.add(
        "duplicate_domain",
        "The transit card twice in one code.",
        encode_text(&dup),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // Weak and invalid device keys.
    let mut small = good.clone();
    let order8 = unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")?;
    small.splice(2..34, order8);
    g.add(
        "small_order_device_key",
        "The device key is a point of order 8.",
        encode_text(&small),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut ident = good.clone();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    ident.splice(2..34, identity);
    g.add(
        "identity_device_key",
        "The device key is the identity point.",
        encode_text(&ident),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;
    for (name, description, sign) in [
        ("non_canonical_device_key", "A valid point encoded with y >= p.", 0),
        ("non_canonical_device_key_negative_x", "A valid point encoded with y >= p and the x sign bit set.", 0x80),
    ] {
        let mut noncanon = good.clone();
        noncanon.splice(2..34, non_canonical_point(sign)?);
        g.add(name, description, encode_text(&noncanon), "invalid_device_key", later, g.setup(metro()), vec![])?;
    }
    let mut off = good.clone();
    off.splice(2..34, off_curve_point()?);
    g.add(
        "device_key_not_on_curve",
        "32 bytes that decode to no curve point.",
        encode_text(&off),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;
    Ok(())
}
