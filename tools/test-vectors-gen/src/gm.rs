//! The GM-only deployment's cases (SPEC.md §4.6) and SM2's strictness rules.

use crate::prelude::*;

/// The GM-only deployment (SPEC.md §4.6): an SM2 root, issuer and device, a verifier
/// configured `gm_only`, and SM2's strictness rules (SPEC.md §4.2).
pub(crate) fn gm_cases(intl: &Gen) -> Res<Vec<Case>> {
    let mut g = Gen { city: DemoCity::gm()?, cases: Vec::new() };
    let at = NOW;
    let later = at + 2;
    let device = key(Algorithm::Sm2Sm3, 0x03)?;
    let cred = g.city.credential.clone();
    let gm_setup = |g: &Gen, scene: Scene| {
        let mut s = g.setup(scene);
        s.config.gm_only = true;
        s
    };
    let c = g.code(&cred, &device, &[Domain::Transit], at, 0xd0)?;
    g.add(
        "gm_accept_metro_gate",
        "A GM-only city: root, issuer and device keys SM2 (key ids, card ids and replay ids SM3), at a metro gate.",
        c.clone(),
        "accept",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    let hospital = [Domain::Health, Domain::MedicalInsurance];
    let h = g.code(&cred, &device, &hospital, at, 0xd1)?;
    g.add(
        "gm_accept_hospital",
        "The GM city's code at a hospital.",
        h,
        "accept",
        later,
        gm_setup(&g, Scene::Hospital),
        vec![],
    )?;
    g.add(
        "gm_replayed",
        "The GM code scanned a second time: its SM3 replay id is remembered.",
        c.clone(),
        "replayed",
        later + 1,
        gm_setup(&g, metro()),
        vec![Seen { input: c.clone(), now: later }],
    )?;

    // Revocation by SM3 ids.
    let mut setup = gm_setup(&g, metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(device.public_key().key_id())],
    )?];
    g.add(
        "gm_device_revoked",
        "The SM2 device key revoked by its key id, the first 16 bytes of SM3(3 || key).",
        c.clone(),
        "revoked",
        later,
        setup,
        vec![],
    )?;
    let mut setup = gm_setup(&g, metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Card(UnverifiedCode::from_text(&c)?.card_id(0))],
    )?];
    g.add(
        "gm_card_revoked",
        "The transit card revoked by its card id, the first 16 bytes of SM3(card_tbs).",
        c.clone(),
        "revoked",
        later,
        setup,
        vec![],
    )?;

    // What a GM-only verifier refuses.
    let p256 = key(Algorithm::EcdsaP256Sha256, 0x33)?;
    let cred_p256 =
        g.credential(&g.city.issuer, &p256, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let mixed = g.code(&cred_p256, &p256, &[Domain::Transit], at, 0xd2)?;
    g.add(
        "gm_only_refuses_a_p256_device_key",
        "An SM2 issuer's card bound to a P-256 device key, at a GM-only verifier.",
        mixed.clone(),
        "unsupported_algorithm",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    g.add(
        "sm2_root_accepts_a_p256_device_key_when_not_gm_only",
        "The same code at a verifier with the SM2 root that is not GM-only: algorithms may mix.",
        mixed,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let ed_issuer = key(Algorithm::Ed25519, 0x34)?;
    let mut setup = gm_setup(&g, metro());
    setup.trust_lists = vec![g.trust(
        vec![
            g.issuer_entry(1, g.city.issuer.public_key(), Domain::ALL.iter().map(|d| d.id()).collect()),
            g.issuer_entry(2, ed_issuer.public_key(), vec![Domain::Tourism.id()]),
        ],
        2,
        NOW as u32 + DAY as u32,
    )?];
    g.add(
        "gm_only_refuses_a_trust_list_with_an_ed25519_issuer",
        "An SM2-signed trust list that also names an Ed25519 issuer key: a GM-only verifier refuses to load it.",
        c.clone(),
        "unsupported_algorithm",
        later,
        setup,
        vec![],
    )?;
    let forged = TrustList {
        sequence: 2,
        issued_at: NOW as u32 - 3600,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![
            g.issuer_entry(1, g.city.issuer.public_key(), Domain::ALL.iter().map(|d| d.id()).collect()),
            g.issuer_entry(2, ed_issuer.public_key(), vec![Domain::Tourism.id()]),
        ],
    };
    let mut setup = gm_setup(&g, metro());
    setup.trust_lists = vec![encode_base64url(&forged.sign(&key(Algorithm::Sm2Sm3, 0x3a)?)?)];
    g.add(
        "gm_only_forged_trust_list_with_an_ed25519_issuer",
        "The same trust list signed by an SM2 key that is not the root: the signature is checked before the issuer keys' algorithms (SPEC.md §4.6, §8.3 step 2).",
        c.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    // Identity commitments (SPEC.md §4.3) in the GM city: a GM-only verifier refuses a
    // SHA-256 commitment, in a code and in a printed code (§4.6, §9 step 2).
    let with_identity = |digest: citycode::claims::IdDigest| -> Res<Claims> {
        let mut claims = demo::resident_claims();
        claims.identity = Some(citycode::claims::Identity::with_salt(demo::NAME, demo::ID_NUMBER, digest, [0x1d; 16])?);
        Ok(claims)
    };
    for (digest, nonce) in [(citycode::claims::IdDigest::Sha256, 0xd4), (citycode::claims::IdDigest::Sm3, 0xd5)] {
        let cred =
            g.credential(&g.city.issuer, &device, with_identity(digest)?, CardLayout::Standard, demo::TODAY - 1, 7)?;
        let hotel = g.code_for(&cred, &device, &Scene::HotelCheckIn, at, nonce)?;
        if digest == citycode::claims::IdDigest::Sha256 {
            g.add(
                "gm_only_refuses_a_sha256_identity_commitment",
                "An all-SM2 code whose identity commitment is SHA-256, at a GM-only hotel: no SHA-256 anywhere (issue 24).",
                hotel.clone(),
                "unsupported_algorithm",
                later,
                gm_setup(&g, Scene::HotelCheckIn),
                vec![],
            )?;
            g.add(
                "sm2_root_accepts_a_sha256_identity_commitment_when_not_gm_only",
                "The same code at a verifier with the SM2 root that is not GM-only.",
                hotel,
                "accept",
                later,
                g.setup(Scene::HotelCheckIn),
                vec![],
            )?;
        } else {
            g.add(
                "gm_accept_hotel_check_in_sm3_identity",
                "The GM city's hotel card with an SM3 identity commitment, at a GM-only hotel.",
                hotel,
                "accept",
                later,
                gm_setup(&g, Scene::HotelCheckIn),
                vec![],
            )?;
        }
        let printed = g.city.issuer.issue_printed(
            Subject([0x79; 8]),
            &Claims { identity: with_identity(digest)?.identity, ..Claims::default() },
            demo::TODAY - 1,
            30,
            citycode::PRINTED_MAX_DAYS,
        )?;
        let (name, description, expected) = if digest == citycode::claims::IdDigest::Sha256 {
            (
                "gm_only_refuses_a_printed_sha256_identity_commitment",
                "An SM2-signed printed code whose identity commitment is SHA-256, at a GM-only hotel.",
                "unsupported_algorithm",
            )
        } else {
            (
                "gm_accept_printed_sm3_identity",
                "An SM2-signed printed code with an SM3 identity commitment, at a GM-only hotel.",
                "accept",
            )
        };
        g.add(name, description, printed.to_text(), expected, later, gm_setup(&g, Scene::HotelCheckIn), vec![])?;
    }
    let forger = Issuer::new(1, key(Algorithm::Sm2Sm3, 0x35)?, Domain::ALL.iter().map(|d| d.id()).collect());
    let forged = g.credential(&forger, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    g.add(
        "sm2_issuer_signature_bad",
        "A card signed by another SM2 key under key id 1.",
        g.code(&forged, &device, &[Domain::Transit], at, 0xd3)?,
        "bad_issuer_signature",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;

    // SM2 device signatures (SPEC.md §4.2): r and s in [1, n-1], r + s not n.
    let code = Gen::bytes_of(&c)?;
    let with_sig = |r: &[u8], s: &[u8]| -> String {
        let mut b = code.clone();
        b.truncate(b.len() - 64);
        b.extend_from_slice(r);
        b.extend_from_slice(s);
        encode_text(&b)
    };
    let (_, rs) = code.split_at(code.len() - 64);
    let (r, s_val) = rs.split_at(32);
    let mut flipped = s_val.to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    let r_arr: [u8; 32] = r.try_into()?;
    let s_arr: [u8; 32] = s_val.try_into()?;
    let mut tampered = code.clone();
    if let Some(b) = tampered.get_mut(48) {
        *b ^= 0x01;
    }
    let unsigned = code.get(..code.len() - 64).ok_or("short")?;
    let mut tbs = citycode::digest::LABEL_CODE.to_vec();
    tbs.extend_from_slice(unsigned);
    let other_id = sm2_sign_with_user_id(&device.secret_bytes(), "ALICE123@YAHOO.COM", &tbs)?;
    let sm2_cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "sm2_device_signature_bad",
            "An SM2 device signature with one bit of s flipped.",
            with_sig(r, &flipped),
            "bad_device_signature",
        ),
        ("sm2_device_signature_r_zero", "r = 0.", with_sig(&[0; 32], s_val), "bad_device_signature"),
        ("sm2_device_signature_s_zero", "s = 0.", with_sig(r, &[0; 32]), "bad_device_signature"),
        ("sm2_device_signature_r_is_n", "r = n: out of range.", with_sig(&SM2_N, s_val), "bad_device_signature"),
        ("sm2_device_signature_s_is_n", "s = n: out of range.", with_sig(r, &SM2_N), "bad_device_signature"),
        (
            "sm2_device_signature_r_plus_s_is_n",
            "s = n - r, so t = r + s mod n = 0 (GB/T 32918.2 step B5).",
            with_sig(r, &be_sub(SM2_N, r_arr)),
            "bad_device_signature",
        ),
        (
            "sm2_device_signature_s_negated",
            "(r, n - s): unlike ECDSA, SM2 has no second valid s.",
            with_sig(r, &be_sub(SM2_N, s_arr)),
            "bad_device_signature",
        ),
        (
            "sm2_device_signature_other_user_id",
            "A valid SM2 signature of the code under the user id ALICE123@YAHOO.COM, not the default 1234567812345678.",
            with_sig(&other_id[..32], &other_id[32..]),
            "bad_device_signature",
        ),
        (
            "sm2_tampered_code",
            "The code's nonce changed after the device signed it.",
            encode_text(&tampered),
            "bad_device_signature",
        ),
    ];
    for (name, description, input, expected) in sm2_cases {
        g.add(name, description, input, expected, later, gm_setup(&g, metro()), vec![])?;
    }
    let mut off = code.clone();
    off.splice(2..35, sm2_off_curve_point()?);
    g.add(
        "sm2_device_key_off_curve",
        "A device key 02 || x with no point on the SM2 curve.",
        encode_text(&off),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    let mut infinity = code.clone();
    infinity.splice(2..35, [0u8; 33]);
    g.add(
        "sm2_device_key_infinity",
        "A device key 00 followed by zeros: SEC1's point at infinity, padded to the key length.",
        encode_text(&infinity),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    // x = 0 is on the SM2 curve, so 02 || p would name it if x were reduced mod p.
    let sm2_p = unhex("fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff")?;
    let mut x_is_p = code.clone();
    let mut key_bytes = vec![0x02];
    key_bytes.extend_from_slice(&sm2_p);
    x_is_p.splice(2..35, key_bytes);
    g.add(
        "sm2_device_key_x_is_p",
        "An SM2 device key 02 || p: x = 0 is on the SM2 curve, and x must be below p, never reduced (SPEC.md §4.2).",
        encode_text(&x_is_p),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;

    // An SM2 device key in the Ed25519 demo city: algorithms mix unless GM-only.
    let sm2_device = key(Algorithm::Sm2Sm3, 0x36)?;
    let cred_sm2 = intl.credential(
        &intl.city.issuer,
        &sm2_device,
        demo::resident_claims(),
        CardLayout::Standard,
        demo::TODAY - 1,
        7,
    )?;
    let c = intl.code(&cred_sm2, &sm2_device, &[Domain::Transit], at, 0xd4)?;
    g.add(
        "sm2_device_key_in_an_ed25519_city",
        "An Ed25519 issuer's card bound to an SM2 device key (a phone whose secure element signs SM2).",
        c,
        "accept",
        later,
        intl.setup(metro()),
        vec![],
    )?;
    Ok(g.cases)
}
