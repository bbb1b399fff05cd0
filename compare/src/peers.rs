//! The peers: PASETO v4.public (`pasetors`), JWT with EdDSA (`jsonwebtoken`), SD-JWT
//! with key binding (`sd-jwt-rs`), and EU DCC `HC1:` codes (`dgc`). Each builds its
//! tokens first (untimed), then verifies them through the crate's own public API,
//! claims validation included, as an application would.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::{Bench, hospital_claims_json, qr_version, round};

/// Distinct tokens per peer; each is verified `PASSES` times per round, so every peer
/// does as many verifications per round as the citycode rows (64 × 30).
const TOKENS: usize = 64;
const PASSES: usize = 30;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

fn pkcs8(seed: &[u8]) -> Vec<u8> {
    [ED25519_PKCS8_PREFIX.as_slice(), seed].concat()
}

fn unix_now() -> Result<u64, Box<dyn Error>> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())
}

/// The payload every JSON-based peer signs for holder `i`: the hospital claims, the
/// subject, and a 60-second validity like a citycode code's.
fn payload(i: usize, now: u64) -> Result<Value, Box<dyn Error>> {
    let mut m = hospital_claims_json()?;
    m.insert("iss".into(), json!("city"));
    m.insert("sub".into(), json!(format!("{:016x}", i)));
    m.insert("iat".into(), json!(now));
    m.insert("exp".into(), json!(now + 60));
    Ok(Value::Object(m))
}

/// A round that verifies each of `tokens` `PASSES` times with `verify`.
fn token_round<T: 'static>(tokens: Vec<T>, verify: impl Fn(&T) -> bool + 'static) -> crate::Round<'static> {
    let n = tokens.len() * PASSES;
    round(
        n,
        || (),
        move |_| (0..PASSES).map(|_| std::hint::black_box(&tokens).iter().filter(|t| verify(t)).count()).sum(),
    )
}

fn bench(
    name: &'static str,
    carries: &'static str,
    sample: &str,
    round: crate::Round<'static>,
) -> Result<Bench<'static>, Box<dyn Error>> {
    Ok(Bench { name, carries, text_bytes: sample.len(), qr_version: qr_version(sample)?, round })
}

/// Every peer row that `wanted` selects.
pub(crate) fn all(wanted: &dyn Fn(&str) -> bool) -> Result<Vec<Bench<'static>>, Box<dyn Error>> {
    // The demo issuer's Ed25519 seed (a public demo constant): the JWT-based peers sign
    // with the same key as citycode's cards.
    let issuer_seed = citycode::demo::key(citycode::Algorithm::Ed25519, 0x02)?.secret_bytes().to_vec();
    let mut rows = Vec::new();
    if wanted("paseto") {
        rows.push(paseto()?);
    }
    if wanted("jwt") {
        rows.push(jwt(&issuer_seed)?);
    }
    if wanted("sd-jwt") {
        rows.push(sd_jwt(&issuer_seed)?);
    }
    if wanted("dcc") {
        rows.push(dcc()?);
    }
    Ok(rows)
}

fn paseto() -> Result<Bench<'static>, Box<dyn Error>> {
    use pasetors::claims::{Claims, ClaimsValidationRules};
    use pasetors::keys::{AsymmetricKeyPair, Generate};
    use pasetors::token::UntrustedToken;
    use pasetors::version4::V4;
    use pasetors::{Public, public};

    let kp = AsymmetricKeyPair::<V4>::generate()?;
    let now = unix_now()?;
    let mut tokens = Vec::with_capacity(TOKENS);
    for i in 0..TOKENS {
        let mut claims = Claims::new_expires_in(&std::time::Duration::from_secs(60))?;
        let Value::Object(p) = payload(i, now)? else { return Err("payload".into()) };
        // iat and exp come from new_expires_in (RFC 3339, as PASETO requires).
        for (k, v) in p {
            match (k.as_str(), v.as_str()) {
                ("iat" | "exp", _) => {}
                ("iss", Some(iss)) => claims.issuer(iss)?,
                ("sub", Some(sub)) => claims.subject(sub)?,
                _ => claims.add_additional(&k, v)?,
            }
        }
        tokens.push(public::sign(&kp.secret, &claims, None, None)?);
    }
    let rules = ClaimsValidationRules::new();
    let sample = tokens.first().cloned().ok_or("no tokens")?;
    let round = token_round(tokens, move |t: &String| {
        UntrustedToken::<Public, V4>::try_from(t.as_str())
            .and_then(|u| public::verify(&kp.public, &u, &rules, None, None))
            .is_ok_and(|trusted| trusted.payload_claims().is_some_and(|c| c.contains_claim("health")))
    });
    bench("PASETO v4.public (pasetors)", "same claims, 1 Ed25519 signature, no holder binding", &sample, round)
}

fn jwt(issuer_seed: &[u8]) -> Result<Bench<'static>, Box<dyn Error>> {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};

    let signer = EncodingKey::from_ed_der(&pkcs8(issuer_seed));
    let public = citycode::demo::key(citycode::Algorithm::Ed25519, 0x02)?.public_key().to_bytes();
    let verifier = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public))?;
    let now = unix_now()?;
    let tokens = (0..TOKENS)
        .map(|i| Ok(encode(&Header::new(Algorithm::EdDSA), &payload(i, now)?, &signer)?))
        .collect::<Result<Vec<String>, Box<dyn Error>>>()?;
    let validation = Validation::new(Algorithm::EdDSA);
    let sample = tokens.first().cloned().ok_or("no tokens")?;
    let round = token_round(tokens, move |t: &String| {
        decode::<Value>(t, &verifier, &validation).is_ok_and(|d| d.claims.get("health").is_some())
    });
    bench("JWT EdDSA (jsonwebtoken)", "same claims, 1 Ed25519 signature, no holder binding", &sample, round)
}

fn sd_jwt(issuer_seed: &[u8]) -> Result<Bench<'static>, Box<dyn Error>> {
    use jsonwebtoken9::{DecodingKey, EncodingKey, jwk::Jwk};
    use sd_jwt_rs::issuer::ClaimsForSelectiveDisclosureStrategy;
    use sd_jwt_rs::{SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat, SDJWTVerifier};

    let issuer_public = citycode::demo::key(citycode::Algorithm::Ed25519, 0x02)?.public_key().to_bytes();
    let issuer_key = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(issuer_public))?;
    let now = unix_now()?;
    // Every domain of the resident is selectively disclosable; the hospital presentation
    // discloses two, with a key-binding JWT signed by the holder's device key.
    let mut all_claims = match serde_json::to_value(citycode::demo::resident_claims())? {
        Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect::<serde_json::Map<_, _>>(),
        _ => return Err("claims are not an object".into()),
    };
    all_claims.remove("other");
    let mut presentations = Vec::with_capacity(TOKENS);
    for i in 0..TOKENS {
        let device = citycode::demo::key(citycode::Algorithm::Ed25519, 0x40 + i as u8)?;
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(device.public_key().to_bytes())
        }))?;
        let mut claims = all_claims.clone();
        claims.insert("iss".into(), json!("city"));
        claims.insert("sub".into(), json!(format!("{:016x}", i)));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 60));
        let issued = SDJWTIssuer::new(EncodingKey::from_ed_der(&pkcs8(issuer_seed)), Some("EdDSA".into()))
            .issue_sd_jwt(
                Value::Object(claims),
                ClaimsForSelectiveDisclosureStrategy::TopLevel,
                Some(jwk),
                false,
                SDJWTSerializationFormat::Compact,
            )?;
        let disclose = json!({"health": true, "medical_insurance": true});
        let Value::Object(disclose) = disclose else { return Err("disclosure".into()) };
        let presentation = SDJWTHolder::new(issued, SDJWTSerializationFormat::Compact)?.create_presentation(
            disclose,
            Some("terminal-nonce".into()),
            Some("hospital".into()),
            Some(EncodingKey::from_ed_der(&pkcs8(&device.secret_bytes()))),
            Some("EdDSA".into()),
        )?;
        presentations.push(presentation);
    }
    let sample = presentations.first().cloned().ok_or("no presentations")?;
    let round = token_round(presentations, move |p: &String| {
        let key = issuer_key.clone();
        SDJWTVerifier::new(
            p.clone(),
            Box::new(move |_, _| key.clone()),
            Some("hospital".into()),
            Some("terminal-nonce".into()),
            SDJWTSerializationFormat::Compact,
        )
        .is_ok_and(|v| v.verified_claims.get("health").is_some() && v.verified_claims.get("transit").is_none())
    });
    bench("SD-JWT + KB (sd-jwt-rs)", "same claims disclosed of 5, issuer + holder EdDSA (KB-JWT)", &sample, round)
}

fn dcc() -> Result<Bench<'static>, Box<dyn Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/dgc");
    let mut trust = dgc::TrustList::default();
    let mut codes = Vec::new();
    for name in ["AT-1", "DE-1", "DE-2", "DE-3"] {
        let path = format!("{dir}/{name}.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?)?;
        let cert = v.pointer("/TESTCTX/CERTIFICATE").and_then(Value::as_str).ok_or("TESTCTX.CERTIFICATE")?;
        trust.add_key_from_certificate(cert)?;
        codes.push(v.get("PREFIX").and_then(Value::as_str).ok_or("PREFIX")?.to_string());
    }
    // Each of the four codes 16 times: as many distinct tokens as the other peers.
    // The shortest of the four is the fairest size comparison.
    let shortest = codes.iter().min_by_key(|c| c.len()).cloned().ok_or("no DCC codes")?;
    // `dgc::validate` checks the signature only (it says Valid for these 2021 codes
    // today), so the row checks the CWT's issued-at and expiry itself, as a verifier
    // must: each code at a time inside its own window (untimed: read beforehand).
    let mut tokens = Vec::new();
    for c in codes.into_iter().cycle().take(TOKENS) {
        let (container, _) = dgc::validate(&c, &trust)?;
        let iat = seconds(&container.issued_at);
        let now = iat + 1;
        if container.expires_at.as_ref().is_none_or(|exp| seconds(exp) <= now) {
            return Err(format!("a DCC test code without a window after {iat}").into());
        }
        tokens.push((c, now));
    }
    let round = token_round(tokens, move |(c, now): &(String, u64)| {
        dgc::validate(c, &trust).is_ok_and(|(container, validity)| {
            matches!(validity, dgc::SignatureValidity::Valid)
                && seconds(&container.issued_at) <= *now
                && container.expires_at.as_ref().is_some_and(|exp| *now < seconds(exp))
        })
    });
    bench(
        "EU DCC HC1 (dgc)",
        "vaccination/test record, 1 ECDSA P-256 signature, issued-at and expiry checked, no holder binding",
        &shortest,
        round,
    )
}

/// A CWT time as whole Unix seconds.
fn seconds(t: &dgc::IntegerOrFloat) -> u64 {
    match t {
        dgc::IntegerOrFloat::Integer(n) => *n,
        dgc::IntegerOrFloat::Float(f) => *f as u64,
    }
}
