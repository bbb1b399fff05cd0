//! `test-vectors/sm2.json`: SM2 and SM3 primitives.

use crate::prelude::*;

pub(crate) fn sm2_primitives() -> Res<serde_json::Value> {
    use serde_json::json;
    let sm3 = |m: &[u8]| citycode::digest::digest(Algorithm::Sm2Sm3, m).map(|d| hex(&d)).unwrap_or_default();
    let digests = vec![
        json!({"name": "gbt_32905_a1", "description": "GB/T 32905-2016 Annex A.1: \"abc\".", "message": hex(b"abc"), "digest": sm3(b"abc")}),
        json!({"name": "gbt_32905_a2", "description": "GB/T 32905-2016 Annex A.2: \"abcd\" repeated 16 times (512 bits).", "message": hex(&b"abcd".repeat(16)), "digest": sm3(&b"abcd".repeat(16))}),
        json!({"name": "empty", "description": "The empty message.", "message": "", "digest": sm3(b"")}),
    ];
    let d = unhex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")?;
    let pair = KeyPair::from_secret_bytes(Algorithm::Sm2Sm3, &d)?;
    let key = hex(&pair.public_key().to_bytes());
    let uncompressed = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
    let message = hex(b"message digest");
    let sample = unhex(
        "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa",
    )?;
    let (r, s) = sample.split_at(32);
    let r_arr: [u8; 32] = r.try_into()?;
    let s_arr: [u8; 32] = s.try_into()?;
    let sig = |r: &[u8], s: &[u8]| hex(&[r, s].concat());
    let other_id = sm2_sign_with_user_id(&d, "ALICE123@YAHOO.COM", b"message digest")?;
    let cases = vec![
        (
            "gmt_0003_5_example",
            "GM/T 0003.5-2012 (GB/T 32918.5-2017) Annex A: the signature example on the recommended curve, user id 1234567812345678.",
            key.clone(),
            message.clone(),
            hex(&sample),
            true,
        ),
        (
            "gmt_0003_5_example_uncompressed_key",
            "The same, with the public key in uncompressed SEC1 form.",
            uncompressed.to_string(),
            message.clone(),
            hex(&sample),
            true,
        ),
        (
            "tampered_message",
            "The example's signature over \"message digesT\".",
            key.clone(),
            hex(b"message digesT"),
            hex(&sample),
            false,
        ),
        ("r_zero", "r = 0.", key.clone(), message.clone(), sig(&[0; 32], s), false),
        ("s_zero", "s = 0.", key.clone(), message.clone(), sig(r, &[0; 32]), false),
        ("r_is_n", "r = n.", key.clone(), message.clone(), sig(&SM2_N, s), false),
        ("s_is_n", "s = n.", key.clone(), message.clone(), sig(r, &SM2_N), false),
        ("r_above_n", "r = 2^256 - 1, above n.", key.clone(), message.clone(), sig(&[0xff; 32], s), false),
        ("r_plus_s_is_n", "s = n - r: t = 0.", key.clone(), message.clone(), sig(r, &be_sub(SM2_N, r_arr)), false),
        ("s_negated", "(r, n - s).", key.clone(), message.clone(), sig(r, &be_sub(SM2_N, s_arr)), false),
        (
            "other_user_id",
            "A valid signature of the message under user id ALICE123@YAHOO.COM.",
            key.clone(),
            message.clone(),
            hex(&other_id),
            false,
        ),
        (
            "key_off_curve",
            "A public key 02 || x with no point on the curve.",
            hex(&sm2_off_curve_point()?),
            message.clone(),
            hex(&sample),
            false,
        ),
        (
            "key_infinity",
            "The point at infinity (SEC1 00), padded to 33 bytes.",
            hex(&[0u8; 33]),
            message.clone(),
            hex(&sample),
            false,
        ),
        (
            "key_infinity_short",
            "The point at infinity as SEC1 encodes it: one 00 byte.",
            "00".into(),
            message.clone(),
            hex(&sample),
            false,
        ),
    ];
    let signatures: Vec<serde_json::Value> = cases
        .into_iter()
        .map(|(name, description, public_key, message, signature, valid)| {
            let key_valid = unhex(&public_key).ok().and_then(|k| PublicKey::from_sm2_sec1(&k).ok());
            json!({"name": name, "description": description, "public_key": public_key, "key_valid": key_valid.is_some(), "message": message, "signature": signature, "valid": valid})
        })
        .collect();
    // Every case gives its stated result here, or generation fails.
    for case in &signatures {
        let get = |k: &str| case.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let valid = case.get("valid").and_then(serde_json::Value::as_bool).unwrap_or(true);
        let verified =
            unhex(&get("public_key")).ok().and_then(|k| PublicKey::from_sm2_sec1(&k).ok()).is_some_and(|k| {
                k.verify(&unhex(&get("message")).unwrap_or_default(), &unhex(&get("signature")).unwrap_or_default())
            });
        if verified != valid {
            return Err(format!("sm2 case {}: expected {valid}, got {verified}", get("name")).into());
        }
    }
    Ok(json!({
        "description": "SM2 with SM3 (GB/T 32918.2, default user id 1234567812345678) and SM3 (GB/T 32905) primitives: see test-vectors/README.md",
        "user_id": "1234567812345678",
        "sm3": digests,
        "signatures": signatures,
    }))
}
