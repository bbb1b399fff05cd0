//! Core's verdict and held lists for every test vector, as JSON: what the WASM packages'
//! plain JS objects must equal, field for field (wasm/tests/vectors.test.mjs). Built
//! natively with the same features as a package: `--features gm` for the GM scanner and
//! the holder package (SM2), without for the scanner.
//!
//! ```sh
//! cargo run -p citycode-wasm --example core_verdicts > target/wasm-pkg/core-verdicts.json
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::text::decode_base64url;
use citycode::{Verdict, VerifierConfig};
use serde_json::{Map, Value, json};

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/codes.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Map::new();
    for case in vectors["cases"].as_array().unwrap() {
        out.insert(case["name"].as_str().unwrap().into(), run(case));
    }
    println!("{}", Value::Object(out));
}

/// A case run as test-vectors/README.md says: its verdict and the lists held.
fn run(case: &Value) -> Value {
    let setup = &case["verifier"];
    let config: VerifierConfig = serde_json::from_value(setup.clone()).unwrap();
    let mut v = match config.build() {
        Ok(v) => v,
        Err(r) => return json!({"verdict": Verdict::from(Err(r)), "held_lists": []}),
    };
    let now = case["now"].as_u64().unwrap();
    let lists =
        |key: &str| setup[key].as_array().unwrap().iter().map(|l| decode_base64url(l.as_str().unwrap()).unwrap());
    let loaded = lists("trust_lists")
        .try_for_each(|l| v.load_trust_list(&l))
        .and_then(|()| lists("revocation_lists").try_for_each(|l| v.load_revocation_list_at(&l, now)));
    if let Err(r) = loaded {
        return json!({"verdict": Verdict::from(Err(r)), "held_lists": v.held_lists()});
    }
    for seen in case["seen"].as_array().into_iter().flatten() {
        assert!(v.verify_at(seen["input"].as_str().unwrap(), seen["now"].as_u64().unwrap()).is_ok());
    }
    let verdict = Verdict::from(v.verify_at(case["input"].as_str().unwrap(), now));
    json!({"verdict": verdict, "held_lists": v.held_lists()})
}
