//! Native verification time per code for the vector codes the WASM benchmark also
//! measures (wasm/bench/verify.mjs runs this and prints the ratio). A benchmark
//! program, not a test: `cargo run --release --example verify_speed`.
//!
//! Each case is verified repeatedly by one verifier; after the first acceptance the
//! code is reported as replayed, which is the last check, so every iteration does the
//! full work: parsing, list and time checks, both signatures, policy, replay lookup.

use test_vectors_gen as gen_vectors;

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file: gen_vectors::VectorFile = serde_json::from_str(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../test-vectors/codes.json"
    ))?)?;
    let iterations: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3000);
    for name in ["accept_metro_gate", "accept_metro_gate_p256_device", "accept_hospital", "gm_accept_metro_gate"] {
        let case = file.cases.iter().find(|c| c.name == name).ok_or("missing case")?;
        // Build the verifier through the runner's setup, then time verify_at alone.
        let setup = &case.verifier;
        // No credential cache: the WASM scanner has none, and every round must do both signatures.
        let mut v = setup.config.build()?.with_credential_cache(0);
        for l in &setup.trust_lists {
            v.load_trust_list(&citycode::text::decode_base64url(l)?)?;
        }
        for l in &setup.revocation_lists {
            v.load_revocation_list(&citycode::text::decode_base64url(l)?)?;
        }
        let first = v.verify_at(&case.input, case.now);
        if first.is_err() {
            return Err(format!("{name}: {first:?}").into());
        }
        // The machines are shared and noisy: report the fastest of five rounds.
        let mut ns = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..iterations {
                let r = v.verify_at(std::hint::black_box(&case.input), case.now);
                std::hint::black_box(&r);
            }
            ns = ns.min(start.elapsed().as_nanos() as f64 / f64::from(iterations));
        }
        println!("{{\"case\":\"{name}\",\"ns_per_verify\":{ns:.0}}}");
    }
    Ok(())
}
