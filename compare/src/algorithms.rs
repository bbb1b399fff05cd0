//! SM2 beside Ed25519 and P-256 (`--only algorithms`): one signature by each
//! implementation measured for the choice of SM2 crate, then whole metro codes of three
//! cities whose root, issuer and device keys are all of one algorithm.

use std::error::Error;
use std::hint::black_box;

use citycode::demo::{self, DemoCity};
use citycode::{Algorithm, KeyPair, PresentOptions, Verifier, present};

use crate::{Bench, measure, round};

/// One 200-byte message, signed `N` times by distinct keys (so no implementation can
/// cache a key), verified by each implementation.
const N: usize = 256;

fn keys(alg: Algorithm) -> Result<Vec<KeyPair>, Box<dyn Error>> {
    (0..N as u64)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i + 1).to_be_bytes());
            Ok(KeyPair::from_secret_bytes(alg, &seed)?)
        })
        .collect()
}

fn signature_rows() -> Result<Vec<Bench<'static>>, Box<dyn Error>> {
    let message = vec![0x5a; 200];
    let sm2_keys = keys(Algorithm::Sm2Sm3)?;
    let sm2: Vec<(Vec<u8>, [u8; 64])> =
        sm2_keys.iter().map(|k| (k.public_key().to_bytes(), k.sign(&message))).collect();
    let p256_keys = keys(Algorithm::EcdsaP256Sha256)?;
    let p256: Vec<(Vec<u8>, [u8; 64])> =
        p256_keys.iter().map(|k| (k.public_key().to_bytes(), k.sign(&message))).collect();
    let row = |name, carries, round| Bench { name, carries, text_bytes: 0, qr_version: 0, round };
    let m = message.clone();
    let sm2_citycode = sm2
        .iter()
        .map(|(k, s)| Ok((citycode::PublicKey::from_bytes(Algorithm::Sm2Sm3, k)?, *s)))
        .collect::<Result<Vec<_>, citycode::Reason>>()
        .map_err(|r| format!("{r}"))?;
    let mut rows = vec![row(
        "citycode SM2 (own arithmetic)",
        "parsed key (Z_A precomputed), e = SM3(Z_A || M), [s]G + [t]P",
        round(N, || (), move |_| sm2_citycode.iter().filter(|(k, s)| k.verify(black_box(&m), s)).count()),
    )];
    let m = message.clone();
    let rc = sm2
        .iter()
        .map(|(k, s)| {
            let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", k).map_err(|e| e.to_string())?;
            Ok((vk, sm2::dsa::Signature::from_slice(s).map_err(|e| e.to_string())?))
        })
        .collect::<Result<Vec<_>, String>>()?;
    rows.push(row(
        "RustCrypto sm2 0.14.0",
        "parsed key, generic primeorder arithmetic",
        round(
            N,
            || (),
            move |_| {
                use sm2::dsa::signature::Verifier as _;
                rc.iter().filter(|(k, s)| k.verify(black_box(&m), s).is_ok()).count()
            },
        ),
    ));
    let m = message.clone();
    let eff = sm2_keys
        .iter()
        .map(|k| {
            let secret = k.secret_bytes();
            let pair = efficient_sm2::KeyPair::new(&secret).map_err(|e| format!("{e:?}"))?;
            let sig = pair.sign(&m).map_err(|e| format!("{e:?}"))?;
            Ok((pair.public_key(), sig))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let m = message.clone();
    rows.push(row(
        "efficient-sm2 0.2.5",
        "parsed key, ring-style arithmetic in Rust",
        round(N, || (), move |_| eff.iter().filter(|(k, s)| s.verify(k, black_box(&m)).is_ok()).count()),
    ));
    let m2 = message.clone();
    let ring_keys: Vec<(Vec<u8>, [u8; 64])> = p256_keys
        .iter()
        .map(|k| {
            use p256::elliptic_curve::sec1::ToSec1Point as _;
            let point = p256::PublicKey::from_sec1_bytes(&k.public_key().to_bytes()).map(|p| p.to_sec1_point(false));
            point.map(|p| (p.as_bytes().to_vec(), k.sign(&message))).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    rows.push(row(
        "ring 0.17 ECDSA P-256",
        "uncompressed key, SHA-256, assembly field arithmetic",
        round(
            N,
            || (),
            move |_| {
                ring_keys
                    .iter()
                    .filter(|(k, s)| {
                        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, k)
                            .verify(black_box(&m2), s)
                            .is_ok()
                    })
                    .count()
            },
        ),
    ));
    let m3 = message.clone();
    let rc_p256 = p256
        .iter()
        .map(|(k, s)| {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(k).map_err(|e| e.to_string())?;
            Ok((vk, p256::ecdsa::Signature::from_slice(s).map_err(|e| e.to_string())?))
        })
        .collect::<Result<Vec<_>, String>>()?;
    rows.push(row(
        "RustCrypto p256 0.14 ECDSA",
        "parsed key, generic primeorder arithmetic (the WASM scanner's P-256)",
        round(
            N,
            || (),
            move |_| {
                use p256::ecdsa::signature::Verifier as _;
                rc_p256.iter().filter(|(k, s)| k.verify(black_box(&m3), s).is_ok()).count()
            },
        ),
    ));
    Ok(rows)
}

/// 64 residents of a city whose keys are all `alg`, one metro code each.
fn city_codes(alg: Algorithm) -> Result<(DemoCity, Vec<String>), Box<dyn Error>> {
    let city = DemoCity::with_algorithm(alg)?;
    let codes = (0..64u8)
        .map(|i| {
            let (device, credential) = city.resident(i)?;
            Ok(present(&credential, &device, &[4], demo::NOW, PresentOptions::default())?.to_text())
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    Ok((city, codes))
}

fn code_rows() -> Result<Vec<Bench<'static>>, Box<dyn Error>> {
    let mut rows = Vec::new();
    for (alg, name, carries) in [
        (Algorithm::Ed25519, "metro code, every key Ed25519", "issuer + device Ed25519, SHA-256 ids"),
        (Algorithm::EcdsaP256Sha256, "metro code, every key P-256", "issuer + device P-256 (ring), SHA-256 ids"),
        (Algorithm::Sm2Sm3, "metro code, every key SM2 (GM-only)", "issuer + device SM2, SM3 ids, GM-only verifier"),
    ] {
        let (city, codes) = city_codes(alg)?;
        let text_bytes = codes.first().map_or(0, String::len);
        let fresh = move || -> Result<Verifier, Box<dyn Error>> {
            let mut v = Verifier::new(city.root.public_key(), citycode::Scene::MetroGate).with_credential_cache(0);
            if alg == Algorithm::Sm2Sm3 {
                v = v.gm_only()?;
            }
            v.load_trust_list(&city.trust_list)?;
            v.load_revocation_list(&city.revocation_list)?;
            Ok(v)
        };
        let verify_all = move |v: &mut Result<Verifier, Box<dyn Error>>| match v {
            Ok(v) => codes.iter().filter(|t| v.verify_at(t, demo::NOW).is_ok()).count(),
            Err(_) => 0,
        };
        rows.push(Bench { name, carries, text_bytes, qr_version: 10, round: round(64, fresh, verify_all) });
    }
    Ok(rows)
}

/// Prints both tables and the ratios the SM2 goal is stated in.
pub fn run(rounds: u32) -> Result<(), Box<dyn Error>> {
    let mut sigs = signature_rows()?;
    let ns = measure(&mut sigs, rounds)?;
    println!("\n| one signature, 200-byte message | how | µs/verify | ÷ ring P-256 |");
    println!("|---|---|---|---|");
    let ring = sigs.iter().zip(&ns).find(|(b, _)| b.name.starts_with("ring")).map(|(_, n)| *n);
    for (b, n) in sigs.iter().zip(&ns) {
        let ratio = ring.map_or_else(|| "-".into(), |r| format!("{:.2}", n / r));
        println!("| {} | {} | {:.1} | {} |", b.name, b.carries, n / 1000.0, ratio);
    }
    let mut codes = code_rows()?;
    let ns = measure(&mut codes, rounds)?;
    println!("\n| code | carries | QR text bytes | µs/verify | ÷ P-256 code |");
    println!("|---|---|---|---|---|");
    let p256 = ns.get(1).copied();
    for (b, n) in codes.iter().zip(&ns) {
        let ratio = p256.map_or_else(|| "-".into(), |p| format!("{:.2}", n / p));
        println!("| {} | {} | {} | {:.1} | {} |", b.name, b.carries, b.text_bytes, n / 1000.0, ratio);
    }
    Ok(())
}
