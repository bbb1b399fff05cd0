//! citycode side by side with what a city would otherwise deploy, in one run on one
//! machine: encoded size, QR version at level M, and verification time per code.
//!
//! ```text
//! cargo run --release -p citycode-compare            # the table (BENCHMARKS.md)
//! cargo run --release -p citycode-compare -- --only floor --rounds 1
//! ```
//!
//! `--only NAME` measures one row (for `valgrind --tool=callgrind`, whose instruction
//! counts repeat exactly): `floor`, `citycode`, `citycode-batched`, `citycode-warm`,
//! `paseto`, `jwt`, `sd-jwt`, `dcc`, or `qr` for the QR renderers, or `algorithms` for
//! SM2 beside Ed25519 and P-256 (signatures by crate, and whole codes); `--rounds N` sets how many timing rounds to take the fastest
//! of (default 5); `--wasm FILE` adds the row `node wasm/bench/verify.mjs --json` wrote.
//!
//! Content: the hospital scene's disclosure (health and the insurance status) of the demo
//! city's residents. citycode, SD-JWT and the floor carry it with holder binding (an
//! issuer signature and a device signature per code); PASETO and JWT carry the same
//! claims under one issuer signature (no holder binding: a screenshot verifies until it
//! expires); the EU DCC codes are the public dgc-testdata vaccination certificates
//! (one ECDSA P-256 signature, no holder binding).

mod algorithms;
mod peers;

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use citycode::demo::{self, DemoCity};
use citycode::{Policy, PolicyView, PresentOptions, Scene, UnverifiedCode, Verifier, present};

/// Codes per measurement: 64 residents, each presenting at 30 instants (all within the
/// validity window at the verification time), so no code is ever verified twice by
/// one verifier and every verification is a first, accepted one.
const RESIDENTS: u8 = 64;
const INSTANTS: u64 = 30;

/// One row of the table: what it measures, and one timing round of it.
struct Bench<'a> {
    name: &'static str,
    /// What the code carries and how it is bound to the holder.
    carries: &'static str,
    /// Bytes of the text that goes in the QR symbol.
    text_bytes: usize,
    /// QR version at error-correction level M.
    qr_version: u8,
    /// Runs one round on fresh state; returns nanoseconds per verification.
    round: Round<'a>,
}

type Round<'a> = Box<dyn FnMut() -> Result<f64, Box<dyn Error>> + 'a>;

/// A round that builds fresh state with `fresh` (untimed), then times `verify_all`,
/// which must verify all `n` codes and return how many verified.
fn round<'a, S>(
    n: usize,
    mut fresh: impl FnMut() -> S + 'a,
    mut verify_all: impl FnMut(&mut S) -> usize + 'a,
) -> Round<'a> {
    Box::new(move || {
        let mut state = fresh();
        let start = Instant::now();
        let ok = verify_all(&mut state);
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        if ok != n {
            return Err(format!("only {ok} of {n} codes verified").into());
        }
        Ok(ns)
    })
}

/// Runs the rounds interleaved (one round of each row, `rounds` times), so that noise
/// on the shared machine falls on every row alike; keeps each row's fastest round.
fn measure(benches: &mut [Bench<'_>], rounds: u32) -> Result<Vec<f64>, Box<dyn Error>> {
    let mut best = vec![f64::MAX; benches.len()];
    for _ in 0..rounds {
        for (b, best) in benches.iter_mut().zip(&mut best) {
            *best = best.min((b.round)().map_err(|e| format!("{}: {e}", b.name))?);
        }
    }
    Ok(best)
}

/// QR version at level M of `text`, with the encoder's optimal segmentation.
fn qr_version(text: &str) -> Result<u8, Box<dyn Error>> {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?.version() {
        qrcode::Version::Normal(v) => Ok(u8::try_from(v)?),
        qrcode::Version::Micro(_) => Err("micro QR".into()),
    }
}

struct Options {
    only: Option<String>,
    rounds: u32,
    wasm: Option<String>,
}

fn options() -> Result<Options, Box<dyn Error>> {
    let mut o = Options { only: None, rounds: 5, wasm: None };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--only" => o.only = Some(args.next().ok_or("--only NAME")?),
            "--rounds" => o.rounds = args.next().ok_or("--rounds N")?.parse()?,
            "--wasm" => o.wasm = Some(args.next().ok_or("--wasm FILE")?),
            _ => return Err(format!("unknown argument {a}; see the doc comment in compare/src/main.rs").into()),
        }
    }
    Ok(o)
}

/// The demo city's hospital codes: `RESIDENTS` holders × `INSTANTS` instants.
struct Codes {
    city: DemoCity,
    texts: Vec<String>,
    now: u64,
}

fn hospital_codes() -> Result<Codes, Box<dyn Error>> {
    let city = DemoCity::new()?;
    let mut texts = Vec::new();
    for n in 0..RESIDENTS {
        let (device, credential) = city.resident(n)?;
        for t in 0..INSTANTS {
            let code = present(&credential, &device, &Scene::Hospital, demo::NOW - t, PresentOptions::default())?;
            texts.push(code.to_text());
        }
    }
    Ok(Codes { city, texts, now: demo::NOW })
}

fn verifier(city: &DemoCity, cache: usize) -> Result<Verifier, Box<dyn Error>> {
    let mut v = Verifier::new(city.root.public_key(), Scene::Hospital).with_skew(30).with_credential_cache(cache);
    v.load_trust_list(&city.trust_list)?;
    v.load_revocation_list(&city.revocation_list)?;
    Ok(v)
}

/// The floor: the two strict Ed25519 verifications each code needs, one by one, done
/// as cheaply as they can be done correctly, on the exact bytes each signature covers.
/// The device key is decoded and checked (canonical, not of small order) per code; the
/// issuer key once, as from a loaded trust list. Per signature: `S < L`, `R` canonical
/// (y < p, no re-encoding) and not of small order, and the cofactored equation with one
/// variable-time double-base multiplication. No parsing, no policy, no replay check.
struct FloorCase {
    device_key: [u8; 32],
    card_input: Vec<u8>,
    card_sig: [u8; 64],
    code_input: Vec<u8>,
    code_sig: [u8; 64],
}

fn floor_cases(codes: &Codes) -> Result<Vec<FloorCase>, Box<dyn Error>> {
    codes
        .texts
        .iter()
        .map(|t| {
            let code = UnverifiedCode::from_text(t)?;
            let [card] = code.cards() else { return Err("a hospital code has one card".into()) };
            Ok(FloorCase {
                device_key: code.device_key().to_bytes().try_into().map_err(|_| "Ed25519 device key")?,
                card_input: code.card_input(0).to_vec(),
                card_sig: card.signature,
                code_input: code.code_input().to_vec(),
                code_sig: *code.device_signature(),
            })
        })
        .collect()
}

/// y < p for an encoded Edwards point (the sign bit aside).
fn canonical_y(b: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = b;
    !(*high & 0x7f == 0x7f && middle.iter().all(|&x| x == 0xff) && *low >= 0xed)
}

/// A strictly checked Ed25519 point: canonical and not of small order.
fn strict_point(b: &[u8; 32]) -> Option<curve25519_dalek::EdwardsPoint> {
    let p = curve25519_dalek::edwards::CompressedEdwardsY(*b).decompress()?;
    (canonical_y(b) && !p.is_small_order()).then_some(p)
}

/// One strict, cofactored Ed25519 verification: [8]([S]B - R - [k]A) = 0.
fn floor_verify(a: &curve25519_dalek::EdwardsPoint, a_bytes: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> bool {
    use curve25519_dalek::traits::IsIdentity;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::{Digest, Sha512};
    let (r_bytes, s_bytes) = sig.split_at(32);
    let (Ok(r_bytes), Ok(s_bytes)) = (<[u8; 32]>::try_from(r_bytes), <[u8; 32]>::try_from(s_bytes)) else {
        return false;
    };
    let (Some(r), Some(s)) = (strict_point(&r_bytes), Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)))
    else {
        return false;
    };
    let k = Scalar::from_hash(Sha512::new().chain_update(r_bytes).chain_update(a_bytes).chain_update(message));
    (EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s) - r).mul_by_cofactor().is_identity()
}

fn main() -> Result<(), Box<dyn Error>> {
    let opt = options()?;
    let wanted = |name: &str| opt.only.as_deref().is_none_or(|o| o == name);
    let codes = &hospital_codes()?;
    let n = codes.texts.len();
    let sample = codes.texts.first().ok_or("no codes")?;
    let (cc_bytes, cc_qr) = (sample.len(), qr_version(sample)?);
    let citycode_row = |name, carries, round| Bench { name, carries, text_bytes: cc_bytes, qr_version: cc_qr, round };
    let mut benches = Vec::new();

    if wanted("floor") {
        let cases = floor_cases(codes)?;
        let issuer_bytes: [u8; 32] = codes.city.issuer.public_key().to_bytes().try_into().map_err(|_| "Ed25519")?;
        let issuer = strict_point(&issuer_bytes).ok_or("issuer key")?;
        let verify_all = move |_: &mut ()| {
            black_box(&cases)
                .iter()
                .filter(|c| {
                    strict_point(&c.device_key).is_some_and(|device| {
                        floor_verify(&issuer, &issuer_bytes, &c.card_input, &c.card_sig)
                            && floor_verify(&device, &c.device_key, &c.code_input, &c.code_sig)
                    })
                })
                .count()
        };
        benches.push(citycode_row(
            "floor",
            "2 strict Ed25519 verifications one by one, cheapest correct form (what a citycode hospital code needs)",
            round(n, || (), verify_all),
        ));
    }
    let fresh = |cache: usize| move || verifier(&codes.city, cache);
    if wanted("citycode") {
        let verify_all = |v: &mut Result<Verifier, _>| match v {
            Ok(v) => codes.texts.iter().filter(|t| v.verify_at(t, codes.now).is_ok()).count(),
            Err(_) => 0,
        };
        benches.push(citycode_row(
            "citycode",
            "health + insurance card, issuer + device Ed25519, replay-checked",
            round(n, fresh(0), verify_all),
        ));
    }
    if wanted("citycode-batched") {
        // Every batch of 64 holds 64 different holders (one code of each resident per
        // instant), so no batch shares a device key: the costly case for a gate.
        let refs: Vec<&str> = (0..INSTANTS as usize)
            .flat_map(|t| (0..usize::from(RESIDENTS)).map(move |r| r * INSTANTS as usize + t))
            .filter_map(|i| codes.texts.get(i).map(String::as_str))
            .collect();
        let verify_all = move |v: &mut Result<Verifier, _>| match v {
            Ok(v) => refs
                .chunks(64)
                .map(|chunk| v.verify_batch_at(chunk, codes.now).iter().filter(|r| r.is_ok()).count())
                .sum(),
            Err(_) => 0,
        };
        benches.push(citycode_row(
            "citycode batched",
            "same codes, `verify_batch_at` in batches of 64 distinct holders",
            round(n, fresh(0), verify_all),
        ));
    }
    if wanted("citycode-warm") {
        // A returning holder: the credential cache already holds each card's issuer
        // check. Warm it with one code per holder (left out of the timed pass, so no
        // timed code is a replay).
        let warmed = move || -> Result<Verifier, Box<dyn Error>> {
            let v = verifier(&codes.city, 256)?;
            for t in codes.texts.iter().step_by(INSTANTS as usize) {
                v.verify_at(t, codes.now)?;
            }
            Ok(v)
        };
        let timed: Vec<&String> =
            codes.texts.iter().enumerate().filter(|(i, _)| i % INSTANTS as usize != 0).map(|(_, t)| t).collect();
        let count = timed.len();
        let verify_all = move |v: &mut Result<Verifier, _>| match v {
            Ok(v) => timed.iter().filter(|t| v.verify_at(t, codes.now).is_ok()).count(),
            Err(_) => 0,
        };
        benches.push(citycode_row(
            "citycode warm cache",
            "same codes, issuer check cached (device signature only)",
            round(count, warmed, verify_all),
        ));
    }
    benches.extend(peers::all(&wanted)?);
    let mut ns = measure(&mut benches, opt.rounds)?;
    let mut rows: Vec<(&Bench<'_>, f64)> = benches.iter().zip(ns.drain(..)).collect();
    let wasm;
    if let Some(file) = &opt.wasm {
        let (bench, ns) = wasm_row(file, cc_bytes, cc_qr)?;
        wasm = bench;
        rows.push((&wasm, ns));
    }
    if !rows.is_empty() {
        print_table(&rows);
    }
    if wanted("qr") {
        qr_render(codes, opt.rounds)?;
    }
    if wanted("algorithms") {
        algorithms::run(opt.rounds)?;
    }
    Ok(())
}

/// QR rendering of citycode texts (64 distinct codes) by `citycode::Qr` (the `qrcode`
/// crate, mixed alphanumeric + numeric segments) and by `fast_qr` (one mode for the
/// whole text: alphanumeric here, as `CC1:` is not numeric).
fn qr_render(codes: &Codes, rounds: u32) -> Result<(), Box<dyn Error>> {
    let texts: Vec<&String> = codes.texts.iter().step_by(INSTANTS as usize).collect();
    let n = texts.len();
    let fast_version = |t: &str| -> Result<u8, Box<dyn Error>> {
        let qr = fast_qr::QRBuilder::new(t).ecl(fast_qr::ECL::M).build().map_err(|e| format!("fast_qr: {e:?}"))?;
        Ok(qr.version.map_or(0, |v| v as u8 + 1))
    };
    let sample = texts.first().ok_or("no codes")?;
    let mut benches = vec![
        Bench {
            name: "citycode::Qr (qrcode 0.14)",
            carries: "mixed segments, best of 8 masks",
            text_bytes: sample.len(),
            qr_version: citycode::Qr::new(sample)?.version,
            round: round(
                n,
                || (),
                |_| texts.iter().filter(|t| citycode::Qr::new(t).is_ok_and(|q| q.width > 0)).count(),
            ),
        },
        Bench {
            name: "fast_qr 0.14",
            carries: "one mode (alphanumeric), best of 8 masks",
            text_bytes: sample.len(),
            qr_version: fast_version(sample)?,
            round: round(
                n,
                || (),
                |_| {
                    texts
                        .iter()
                        .filter(|t| {
                            fast_qr::QRBuilder::new(t.as_str()).ecl(fast_qr::ECL::M).build().is_ok_and(|q| q.size > 0)
                        })
                        .count()
                },
            ),
        },
    ];
    let ns = measure(&mut benches, rounds)?;
    println!("\n| QR renderer | segments, mask | QR version (M) | µs/render |");
    println!("|---|---|---|---|");
    for (b, ns) in benches.iter().zip(ns) {
        println!("| {} | {} | {} | {:.0} |", b.name, b.carries, b.qr_version, ns / 1000.0);
    }
    Ok(())
}

/// The WASM scanner's figure for the same kind of code, from the JSON line
/// `node wasm/bench/verify.mjs 1000 --json` wrote.
fn wasm_row(file: &str, bytes: usize, qr: u8) -> Result<(Bench<'static>, f64), Box<dyn Error>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let ns = v.get("wasm_ns").and_then(serde_json::Value::as_f64).ok_or("wasm_ns missing")?;
    let bench = Bench {
        name: "citycode in WASM (Node 20)",
        carries: "scanner package, one code verified repeatedly (wasm/bench/verify.mjs)",
        text_bytes: bytes,
        qr_version: qr,
        round: Box::new(|| Err("measured by wasm/bench/verify.mjs".into())),
    };
    Ok((bench, ns))
}

fn print_table(rows: &[(&Bench<'_>, f64)]) {
    let find = |name: &str| rows.iter().find(|(b, _)| b.name == name).map(|(_, ns)| *ns);
    let (base, floor) = (find("citycode"), find("floor"));
    println!("| system | carries | QR text bytes | QR version (M) | µs/verify | ÷ citycode | ÷ floor |");
    println!("|---|---|---|---|---|---|---|");
    let ratio = |x: f64, b: Option<f64>| b.map_or_else(|| "-".to_string(), |b| format!("{:.2}", x / b));
    for (b, ns) in rows {
        println!(
            "| {} | {} | {} | {} | {:.1} | {} | {} |",
            b.name,
            b.carries,
            b.text_bytes,
            b.qr_version,
            ns / 1000.0,
            ratio(*ns, base),
            ratio(*ns, floor)
        );
    }
}

/// The claims the hospital scene discloses, as JSON for the peers.
pub(crate) fn hospital_claims_json() -> Result<serde_json::Map<String, serde_json::Value>, Box<dyn Error>> {
    let claims = Scene::Hospital.view(&demo::resident_claims());
    if !claims.domain_ids().into_iter().eq(Scene::Hospital.required_domains().into_iter().map(citycode::Domain::id)) {
        return Err("resident claims lack the hospital domains".into());
    }
    match serde_json::to_value(claims)? {
        serde_json::Value::Object(m) => Ok(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        _ => Err("claims are not a JSON object".into()),
    }
}
