//! Writes `test-vectors/attestation.json` (SPEC.md §4.10.7): synthetic Android key
//! attestation chains and App Attest objects, accepted and refused, from fixed seeds.
//!
//! ```sh
//! cargo run -p citycode-attest --example gen_attestation_vectors
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/vectors_gen.rs"]
mod vectors_gen;

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/attestation.json");
    let text = serde_json::to_string_pretty(&vectors_gen::vectors()).unwrap() + "\n";
    std::fs::write(path, text).expect("write test-vectors/attestation.json");
    println!("wrote test-vectors/attestation.json");
}
