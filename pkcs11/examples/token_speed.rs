//! Signatures per second and batch issuance with keys in SoftHSM2, beside the same work
//! with an in-process key. Run with `cargo run --release -p citycode-pkcs11 --example
//! token_speed` (BENCHMARKS.md has the figures). It makes a temporary SoftHSM token
//! directory, then runs itself again with `SOFTHSM2_CONF` pointing at it.
//!
//! Each figure is the fastest of five rounds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use citycode::demo;
use citycode::{
    Algorithm, CardLayout, CredentialRequest, DeviceSigner, Domain, Issuer, KeyPair, KeyRequest, ProvenKey, Subject,
};
use citycode_pkcs11::softhsm::{CONF_ENV, SoftHsm};
use citycode_pkcs11::{TokenKeyConfig, TokenSigner, generate_key};

const CHILD: &str = "CITYCODE_TOKEN_SPEED_DIR";
const PIN: &str = "5678";
const ROUNDS: usize = 5;

fn main() {
    let Ok(dir) = std::env::var(CHILD) else {
        let dir = tempfile::tempdir().unwrap();
        let hsm = SoftHsm::create(dir.path()).expect("SoftHSM2 is not installed");
        hsm.init_token("bench", "1234", PIN).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env(CHILD, dir.path())
            .env(CONF_ENV, &hsm.conf)
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    };
    let dir = std::path::PathBuf::from(dir);
    let hsm = SoftHsm::create(&dir).unwrap();
    let pin = dir.join("pin");
    std::fs::write(&pin, PIN).unwrap();
    std::fs::set_permissions(&pin, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cores} cores; fastest of {ROUNDS} rounds\n");

    println!("| key | signer | signatures/s | µs/signature (wall) | µs/signature (CPU, all threads) |");
    println!("|---|---|---|---|---|");
    let mut signers = Vec::new();
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256] {
        let config = |sessions| TokenKeyConfig {
            module: Some(hsm.module.clone()),
            token: Some("bench".into()),
            uri: None,
            key_label: Some(alg.name().into()),
            key_id: None,
            pin_file: Some(pin.clone()),
            pin_env: None,
            algorithm: alg,
            sessions,
            allow_extractable: false,
            sm2: None,
        };
        generate_key(&config(1)).unwrap();
        let single = TokenSigner::open(&config(1)).unwrap();
        let pooled = TokenSigner::open(&config(cores.max(2))).unwrap();
        let local = KeyPair::generate(alg).unwrap();
        let messages: Vec<Vec<u8>> = (0..1024u16).map(|i| [&i.to_be_bytes()[..], &[7u8; 200][..]].concat()).collect();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();

        let row = |what: &str, per_round: usize, f: &dyn Fn()| {
            let (wall, cpu) = measure(f);
            let t = wall / u32::try_from(per_round).unwrap();
            let cpu = cpu / u32::try_from(per_round * ROUNDS).unwrap();
            println!(
                "| {alg} | {what} | {:.0} | {:.1} | {:.1} |",
                1.0 / t.as_secs_f64(),
                t.as_secs_f64() * 1e6,
                cpu.as_secs_f64() * 1e6
            );
        };
        row("in-process key, one thread", refs.len(), &|| {
            for m in &refs {
                std::hint::black_box(local.sign(m));
            }
        });
        row("token, one session, raw (no check)", refs.len(), &|| {
            for m in &refs {
                std::hint::black_box(single.sign_raw(m).unwrap());
            }
        });
        row("token, one session, checked (signature_by)", refs.len(), &|| {
            for m in &refs {
                std::hint::black_box(citycode::keys::signature_by(&single, m).unwrap());
            }
        });
        let pool_raw = format!("token, pool of {} sessions, raw (sign_many, no check)", cores.max(2));
        row(&pool_raw, refs.len(), &|| {
            std::hint::black_box(pooled.sign_many(&refs).unwrap());
        });
        let pool_name = format!("token, pool of {} sessions, checked (signatures_by)", cores.max(2));
        row(&pool_name, refs.len(), &|| {
            std::hint::black_box(citycode::keys::signatures_by(&pooled, &refs).unwrap());
        });
        signers.push((alg, local, config(1), config(cores.max(2))));
    }

    println!("\n| issuer key | batch | in-process | token, one session | token, pool | pool ÷ in-process |");
    println!("|---|---|---|---|---|---|");
    let devices: Vec<KeyPair> = (0..64).map(|i| demo::key(Algorithm::Ed25519, 0x40 + i).unwrap()).collect();
    let challenge = citycode::request::random_challenge().unwrap();
    let requests: Vec<KeyRequest> = devices.iter().map(|d| KeyRequest::sign(d, &challenge).unwrap()).collect();
    for (alg, local, single, pooled) in &signers {
        let scope = Domain::ALL.map(|d| d.id()).to_vec();
        let in_process = Issuer::new(1, local_copy(local), scope.clone());
        let one = Issuer::new(1, TokenSigner::open(single).unwrap(), scope.clone());
        let pool = Issuer::new(1, TokenSigner::open(pooled).unwrap(), scope);
        for n in [10, 64] {
            let batch = |issuer: &Issuer| {
                let proven: Vec<ProvenKey> = requests[..n].iter().map(|r| r.verify(&challenge).unwrap()).collect();
                let template = CredentialRequest {
                    device_key: proven[0].clone(),
                    subject: Subject::random().unwrap(),
                    valid_from_day: demo::TODAY,
                    valid_days: 1,
                    claims: demo::resident_claims(),
                    layout: CardLayout::Standard,
                };
                std::hint::black_box(issuer.issue_batch(&template, None, &proven).unwrap());
            };
            let (a, b, c) = (fastest(&|| batch(&in_process)), fastest(&|| batch(&one)), fastest(&|| batch(&pool)));
            println!(
                "| {alg} | {n} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} |",
                ms(a),
                ms(b),
                ms(c),
                c.as_secs_f64() / a.as_secs_f64()
            );
        }
    }
}

fn local_copy(key: &KeyPair) -> KeyPair {
    KeyPair::from_secret_bytes(key.algorithm(), &key.secret_bytes()).unwrap()
}

/// The fastest of [`ROUNDS`] rounds (after one warm-up), and this process's CPU time
/// (user + system, every thread) over those rounds.
fn measure(f: &dyn Fn()) -> (Duration, Duration) {
    f();
    let cpu_before = cpu_time();
    let fastest = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap();
    (fastest, cpu_time().saturating_sub(cpu_before))
}

fn fastest(f: &dyn Fn()) -> Duration {
    measure(f).0
}

/// User + system time of this process, every thread, from `/proc/self/stat` (in the
/// kernel's 100 Hz ticks): CPU spent whatever else the machine runs.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = after_name.split_whitespace().skip(11).take(2).map(|f| f.parse().unwrap()).collect();
    Duration::from_millis(10 * (fields[0] + fields[1]))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
