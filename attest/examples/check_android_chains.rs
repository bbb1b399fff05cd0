//! Runs the Android attestation verifier over a directory of real attestation chains
//! laid out as the `android/keyattestation` repository's `testdata/` is (`<device>/<sdk>/
//! NAME.pem` chains with `NAME.json` parsed contents, `invalid/*.pem`). That data is not
//! part of this repository, so this is not part of the test command; SPEC.md §4.10.7 and
//! TESTING.md say what it showed.
//!
//! ```sh
//! cargo run -p citycode-attest --example check_android_chains -- path/to/testdata
//! ```
//!
//! For every chain: the parsed KeyDescription against every field its JSON records; the
//! chain verified to a built-in Google root at a time inside every certificate's
//! validity (the JSON's own challenge, the leaf's own key when it is P-256, boot state
//! not required); then the chain cut short, a foreign root set, a flipped leaf signature
//! bit, another challenge and each certificate's serial on a revocation list, each
//! refused with its own reason.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use citycode_attest::x509::pem_certificates;
use citycode_attest::{AndroidAttestation, AttestationError, AttestationMode, AttestationPolicy, Roots, StatusList};
use serde_json::Value;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "pem") {
            out.push(p);
        }
    }
}

/// Every field `expected` records equals ours (Google's parser's `areTagsOrdered` flag
/// aside: ours refuses what it would mark false). Returns the mismatches.
fn compare(expected: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (k, v) in e {
                if k == "areTagsOrdered" {
                    continue;
                }
                match o.get(k) {
                    Some(ov) => compare(v, ov, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing (expected {v})")),
                }
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            let mut e: Vec<String> = e.iter().map(Value::to_string).collect();
            let mut o: Vec<String> = o.iter().map(Value::to_string).collect();
            e.sort();
            o.sort();
            if e != o {
                out.push(format!("{path}: expected {e:?}, ours {o:?}"));
            }
        }
        _ if expected == ours => {}
        _ => out.push(format!("{path}: expected {expected}, ours {ours}")),
    }
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: check_android_chains <testdata directory>");
        return ExitCode::from(2);
    };
    let roots = match Roots::builtin() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("built-in roots: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut policy = AttestationPolicy::new(AttestationMode::Require);
    policy.require_locked_bootloader = false;
    policy.require_verified_boot = false;
    let mut pems = Vec::new();
    files(Path::new(&dir), &mut pems);
    let (mut fields_ok, mut verified, mut problems) = (0, 0, 0);
    for pem in &pems {
        let name = pem.strip_prefix(&dir).unwrap_or(pem).display().to_string();
        let text = std::fs::read_to_string(pem).unwrap_or_default();
        let chain = match pem_certificates(&text) {
            Ok(c) => c,
            Err(e) => {
                println!("{name}: PEM {e}");
                continue;
            }
        };
        let attestation = match AndroidAttestation::parse(&chain) {
            Ok(a) => a,
            Err(e) => {
                println!("{name}: {} certificates, refused at parsing: {}", chain.len(), e);
                continue;
            }
        };
        let json_path = pem.with_extension("json");
        let Some(kd) = attestation.untrusted_description() else {
            println!("{name}: {} certificates, no attestation extension in the leaf", chain.len());
            continue;
        };
        if !json_path.exists() {
            println!("{name}: {} certificates, no JSON beside it", chain.len());
        }
        if let Ok(text) = std::fs::read_to_string(&json_path) {
            // Some files start with a `//` comment line.
            let text: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            let expected: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let mut mismatches = Vec::new();
            compare(&expected, &kd.to_json(), "", &mut mismatches);
            if mismatches.is_empty() {
                fields_ok += 1;
                println!("{name}: every field of its JSON parsed equal");
            } else {
                problems += 1;
                println!("{name}: FIELD MISMATCH {mismatches:#?}");
            }
        }
        // A time inside every certificate's validity and a configured root's.
        let window = attestation.common_validity();
        let times: Vec<u64> = roots
            .android
            .iter()
            .filter_map(|r| {
                let (from, to) = window?;
                let (lo, hi) = (from.max(r.not_before()), to.min(r.not_after()));
                (lo <= hi).then(|| lo + (hi - lo) / 2)
            })
            .collect();
        let challenge = kd.attestation_challenge.clone();
        let key = attestation.untrusted_leaf_key();
        let device_key = key.clone().unwrap_or_else(|| {
            citycode::KeyPair::from_secret_bytes(citycode::Algorithm::EcdsaP256Sha256, &[1; 32])
                .map(|k| k.public_key())
                .unwrap_or_else(|_| std::process::exit(1))
        });
        let none = StatusList::empty();
        let run = |a: &AndroidAttestation, c: &[u8], roots: &Roots, list: &StatusList, now: u64| {
            a.verify(c, &device_key, &policy, &roots.android, list, now)
        };
        let mut result = Err(AttestationError::Expired(usize::MAX));
        let mut at = 0;
        for t in &times {
            result = run(&attestation, &challenge, &roots, &none, *t);
            at = *t;
            if result.is_ok() || key.is_none() {
                break;
            }
        }
        let rsa_leaf = key.is_none();
        match (&result, rsa_leaf) {
            (Ok((facts, root)), _) => {
                verified += 1;
                println!(
                    "  verified at {at} to {root}: {:?}/{:?}, boot {:?}, locked {:?}, unknown tags {:?}",
                    facts.attestation_security_level,
                    facts.keymint_security_level,
                    facts.verified_boot_state,
                    facts.device_locked,
                    facts.unknown_tags
                );
            }
            // Everything up to the key checked: path, revocation, extension, challenge, level.
            (Err(AttestationError::KeyMismatch), true) => {
                verified += 1;
                println!(
                    "  chain, challenge and level verified at {at}; a leaf key that is not P-256 (RSA, ML-DSA), refused as a device key"
                );
            }
            (Err(e), _) => {
                println!("  not verified (times {times:?}): {e}");
                continue;
            }
        }
        // The negative cases, on the same real chain.
        let mut cut = chain.clone();
        cut.remove(1);
        let cut_result = AndroidAttestation::parse(&cut).and_then(|a| run(&a, &challenge, &roots, &none, at));
        let foreign = Roots { android: roots.apple.clone(), apple: vec![] };
        let mut flipped = chain.clone();
        if let Some(b) = flipped.first_mut().and_then(|leaf| leaf.last_mut()) {
            *b ^= 1;
        }
        let flipped_result = AndroidAttestation::parse(&flipped).and_then(|a| run(&a, &challenge, &roots, &none, at));
        let mut other = challenge.clone();
        other.push(0);
        let checks = [
            ("cut short", cut_result.err().map(|e| e.code())),
            ("foreign roots", run(&attestation, &challenge, &foreign, &none, at).err().map(|e| e.code())),
            ("flipped leaf signature", flipped_result.err().map(|e| e.code())),
            ("other challenge", run(&attestation, &other, &roots, &none, at).err().map(|e| e.code())),
        ];
        let mut line = Vec::new();
        for (what, code) in checks {
            line.push(format!("{what}: {}", code.unwrap_or("ACCEPTED")));
        }
        for (i, serial) in attestation.serials().iter().enumerate() {
            let list = StatusList::from_json(&format!(r#"{{"entries": {{"{serial}": {{"status": "REVOKED"}}}}}}"#));
            let code = list.ok().and_then(|l| run(&attestation, &challenge, &roots, &l, at).err()).map(|e| e.code());
            line.push(format!("serial {i} revoked: {}", code.unwrap_or("ACCEPTED")));
        }
        if line.iter().any(|l| l.contains("ACCEPTED")) {
            problems += 1;
        }
        println!("  refused: {}", line.join(", "));
    }
    println!(
        "{} chains: {} with every JSON field equal, {} verified to a Google root, {} problems",
        pems.len(),
        fields_ok,
        verified,
        problems
    );
    if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
