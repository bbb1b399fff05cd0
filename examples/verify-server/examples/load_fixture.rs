//! Writes what `scripts/bench-server.sh` loads the service with: a published list
//! directory, the root key, and N distinct, fresh codes (many holders, on the real
//! clock) as JSON request bodies, one per line. Then verifies the same codes in process
//! on one thread with the service's verifier settings and prints the CPU time per code
//! (`/proc/self/stat`, as the script reads the server's), the baseline the service's CPU
//! time per code is compared with.
//!
//! `cargo run --release -p citycode-verify-server --example load_fixture -- DIR N`

use std::io::Write;
use std::time::Instant;

use citycode::distribution::{ListFile, ListStatus, STATUS_FILE, STATUS_INDEX_FILE};
use citycode::trust::{IssuerKey, ListSigner, RevocationList, TrustList};
use citycode::{
    Algorithm, CardLayout, Clock, CredentialRequest, Issuer, KeyPair, PresentOptions, Scene, Subject, SystemClock,
    Verifier, present,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: load_fixture DIR N")?);
    let n: usize = args.next().ok_or("usage: load_fixture DIR N")?.parse()?;
    let now = SystemClock.now() as u32;
    let root = KeyPair::generate(Algorithm::Ed25519)?;
    let all: Vec<u32> = citycode::Domain::ALL.iter().map(|d| d.id()).collect();
    let issuer = Issuer::new(1, KeyPair::generate(Algorithm::Ed25519)?, all.clone());
    let trust = TrustList {
        sequence: 1,
        issued_at: now - 60,
        expires_at: now + 86_400,
        keys: vec![IssuerKey {
            kid: 1,
            key: issuer.public_key(),
            not_before: now - 60,
            not_after: now + 86_400,
            domains: all,
        }],
    }
    .sign(&root)?;
    let revocations = RevocationList {
        signer: ListSigner::Root,
        sequence: 1,
        issued_at: now - 60,
        expires_at: now + 86_400,
        entries: vec![],
    }
    .sign(&root)?;
    let status = ListStatus::describe(1, now, now + 3600, &root.public_key(), &trust, &[&revocations])?;
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists)?;
    std::fs::write(lists.join(ListFile::Trust.file_name()), &trust)?;
    std::fs::write(lists.join(ListFile::Revocation(ListSigner::Root).file_name()), &revocations)?;
    std::fs::write(lists.join(STATUS_INDEX_FILE), status.index_json())?;
    std::fs::write(lists.join(STATUS_FILE), status.sign(&root)?)?;
    std::fs::write(dir.join("root.hex"), citycode::text::hex(&root.public_key().to_bytes()))?;

    // 1,000 holders (a metro gate's morning), codes spread over them.
    let holders: Vec<(KeyPair, citycode::Credential)> = (0..1000u32)
        .map(|i| {
            let device = KeyPair::generate(Algorithm::Ed25519)?;
            let mut subject = [0u8; 8];
            subject[..4].copy_from_slice(&i.to_be_bytes());
            let credential = issuer.issue(&CredentialRequest {
                device_key: citycode::ProvenKey::by_signing(&device)?,
                subject: Subject(subject),
                valid_from_day: (now / 86_400) as u16,
                valid_days: 2,
                claims: citycode::demo::resident_claims(),
                layout: CardLayout::Standard,
            })?;
            Ok((device, credential))
        })
        .collect::<Result<_, citycode::Error>>()?;
    let mut texts = Vec::with_capacity(n);
    for (i, (device, credential)) in holders.iter().cycle().take(n).enumerate() {
        let nonce = Some((i as u32).to_be_bytes());
        texts.push(
            present(credential, device, &[4], u64::from(now), PresentOptions { validity_secs: 120, nonce })?.to_text(),
        );
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("bodies.txt"))?);
    for t in &texts {
        writeln!(out, "{{\"text\":\"{t}\"}}")?;
    }
    out.flush()?;

    // The in-process baseline: the service's verifier settings, one thread.
    let mut v = Verifier::new(root.public_key(), Scene::MetroGate);
    v.load_trust_list(&trust)?;
    v.load_revocation_list(&revocations)?;
    // CPU time of this (single-threaded) process from /proc/self/stat, as the script
    // measures the server's: on a shared machine wall time counts other engineers' work.
    let sample = texts.len().min(40_000);
    let ticks = std::env::var("CLK_TCK").ok().and_then(|t| t.parse::<f64>().ok()).unwrap_or(100.0);
    let (cpu0, start) = (cpu_ticks()?, Instant::now());
    let mut accepted = 0;
    for t in texts.iter().take(sample) {
        accepted += usize::from(v.verify_at(t, u64::from(now)).is_ok());
    }
    let (cpu1, wall) = (cpu_ticks()?, start.elapsed());
    let per_code = (cpu1 - cpu0) / ticks * 1e6 / sample as f64;
    eprintln!("in-process wall time: {:.1} us/code", wall.as_secs_f64() * 1e6 / sample as f64);
    assert_eq!(accepted, sample, "every fixture code verifies");
    println!("{per_code:.1}");
    Ok(())
}

/// User and system CPU time of this process so far, in clock ticks.
fn cpu_ticks() -> Result<f64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("/proc/self/stat: no command")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let (utime, stime) = (fields.get(11).ok_or("no utime")?, fields.get(12).ok_or("no stime")?);
    Ok(utime.parse::<f64>()? + stime.parse::<f64>()?)
}
