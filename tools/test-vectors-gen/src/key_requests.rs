//! `test-vectors/key-requests.json` (SPEC.md §4.7).

use crate::prelude::*;

/// test-vectors/sm2.json: the standards' SM2 and SM3 samples and SM2 negative cases,
/// as raw primitives (public key, message, signature), for every language's tests.
/// `test-vectors/key-requests.json`: key requests (SPEC.md §4.7) an issuer accepts or
/// refuses, with the reason.
pub(crate) fn key_request_vectors() -> Res<serde_json::Value> {
    use citycode::KeyRequest;
    use serde_json::json;
    let challenge = *b"citycode issuer challenge 000001";
    let other = *b"citycode issuer challenge 000002";
    let mut cases = Vec::new();
    let mut case = |name: &str, description: &str, request: Vec<u8>, challenge: &[u8], expected: &str| {
        cases.push(json!({
            "name": name, "description": description, "key_request": encode_base64url(&request),
            "challenge": hex(challenge), "expected": expected,
        }));
    };
    for alg in Algorithm::ALL {
        let device = demo::key(alg, 0x51)?;
        let request = KeyRequest::sign(&device, &challenge)?.to_bytes();
        let name = alg.name();
        case(
            &format!("{name}_valid"),
            &format!("A {name} device key's request over the challenge."),
            request.clone(),
            &challenge,
            "accept",
        );
        case(
            &format!("{name}_other_challenge"),
            "The same request checked against another challenge: a proof replayed from another session.",
            request.clone(),
            &other,
            "bad_device_signature",
        );
        let mut flipped = request.clone();
        if let Some(b) = flipped.last_mut() {
            *b ^= 0x01;
        }
        case(
            &format!("{name}_flipped_signature"),
            "The last signature byte flipped.",
            flipped,
            &challenge,
            "bad_device_signature",
        );
        let thief = demo::key(alg, 0x52)?.public_key().to_bytes();
        let mut swapped = request.clone();
        swapped.splice(2..2 + thief.len(), thief);
        case(
            &format!("{name}_swapped_key"),
            "Another key in place of the signer's, the signature kept.",
            swapped,
            &challenge,
            "bad_device_signature",
        );
    }
    let device = demo::key(Algorithm::Ed25519, 0x51)?;
    let request = KeyRequest::sign(&device, &challenge)?.to_bytes();
    case(
        "truncated",
        "The request without its last byte.",
        request.get(..request.len() - 1).ok_or("short request")?.to_vec(),
        &challenge,
        "truncated",
    );
    case(
        "trailing_bytes",
        "One byte after the signature.",
        [request.as_slice(), &[0]].concat(),
        &challenge,
        "trailing_bytes",
    );
    let mut v2 = request.clone();
    v2.splice(0..1, [2]);
    case("unsupported_version", "Version 2.", v2, &challenge, "unsupported_version");
    let mut alg9 = request.clone();
    alg9.splice(1..2, [9]);
    case("unsupported_algorithm", "Algorithm id 9.", alg9, &challenge, "unsupported_algorithm");
    let mut identity = request.clone();
    identity.splice(2..34, [&[1u8][..], &[0u8; 31]].concat());
    case(
        "small_order_key",
        "The Ed25519 identity point as the key: never valid (SPEC.md §4.2).",
        identity,
        &challenge,
        "invalid_device_key",
    );
    // The demo key plus a point of order 8, signed by the demo key's secret (k over the
    // new key's bytes): the cofactored equation accepts the signature, so only the
    // prime-order rule refuses it (issue 24: one secret, 8 keys in a batch).
    let mixed = {
        use curve25519_dalek::constants::EIGHT_TORSION;
        use curve25519_dalek::edwards::CompressedEdwardsY;
        let a = CompressedEdwardsY(device.public_key().to_bytes().try_into().map_err(|_| "key length")?)
            .decompress()
            .ok_or("demo key")?;
        let key = (a + EIGHT_TORSION[1]).compress().to_bytes();
        let mut input = citycode::digest::LABEL_KEY_REQUEST.to_vec();
        input.push(Algorithm::Ed25519.id());
        input.extend_from_slice(&key);
        input.extend_from_slice(&challenge);
        let signature = ed25519_sign_as([0x51; 32], &key, &input);
        if !PublicKey::from_bytes(Algorithm::Ed25519, &key)?.verify(&input, &signature) {
            return Err("the torsioned key's signature must verify".into());
        }
        [&[1u8, Algorithm::Ed25519.id()][..], &key, &signature].concat()
    };
    case(
        "torsion_component_key",
        "The valid Ed25519 key plus a point of order 8, its signature made with the same secret and valid under the cofactored equation: not of prime order (SPEC.md §4.7).",
        mixed.clone(),
        &challenge,
        "invalid_device_key",
    );
    case(
        "short_challenge",
        "A valid request checked against 15 bytes of challenge: too short to be fresh.",
        request.clone(),
        challenge.get(..15).ok_or("short challenge")?,
        "malformed",
    );
    // The challenge's bounds on both sides, and the order of §4.7's checks.
    for len in [16usize, 64] {
        let long = [0x63u8; 64];
        let c = long.get(..len).ok_or("challenge")?;
        case(
            &format!("challenge_{len}_bytes"),
            &format!(
                "A valid request over a {len}-byte challenge, the {} allowed.",
                if len == 16 { "fewest" } else { "most" }
            ),
            KeyRequest::sign(&device, c)?.to_bytes(),
            c,
            "accept",
        );
    }
    let long = [0x63u8; 65];
    case(
        "long_challenge",
        "A valid request over the first 64 bytes, checked against a 65-byte challenge: too long (SPEC.md §4.7).",
        KeyRequest::sign(&device, long.get(..64).ok_or("challenge")?)?.to_bytes(),
        &long,
        "malformed",
    );
    case(
        "trailing_bytes_and_short_challenge",
        "A byte after the signature and a 15-byte challenge: the request's parse comes first (SPEC.md §4.7).",
        [request.as_slice(), &[0]].concat(),
        challenge.get(..15).ok_or("short challenge")?,
        "trailing_bytes",
    );
    case(
        "torsion_component_key_and_short_challenge",
        "The torsion-component key with a 15-byte challenge: the key's order is checked before the challenge's length (SPEC.md §4.7).",
        mixed,
        challenge.get(..15).ok_or("short challenge")?,
        "invalid_device_key",
    );
    // Base64url with non-zero trailing bits (SPEC.md §6): 98 bytes leave 2 unused bits
    // in the last character; setting one names the same bytes a second way.
    let mut text = encode_base64url(&request);
    let last = text.pop().ok_or("empty")?;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = ALPHABET.iter().position(|&b| char::from(b) == last).ok_or("not base64url")?;
    text.push(char::from(*ALPHABET.get(index | 1).ok_or("index")?));
    cases.push(json!({
        "name": "base64url_trailing_bits",
        "description": "The Ed25519 request with a non-zero unused bit in its last base64url character: each byte string has one encoding (SPEC.md §6).",
        "key_request": text, "challenge": hex(&challenge), "expected": "text_encoding",
    }));
    Ok(json!({
        "description": "Key requests (SPEC.md §4.7): the device key signs citycode/v1/key-request 0x00 alg key challenge. An issuer given `challenge` accepts or refuses `key_request` (base64url) with `expected`. The device keys are public test constants.",
        "cases": cases,
    }))
}
