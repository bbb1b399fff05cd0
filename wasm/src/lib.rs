//! citycode for JavaScript hosts: scanning terminals (browser or Node kiosks) and
//! mini-programs. A thin adapter: every rule lives in the `citycode` crate.
//!
//! Results are plain JS objects typed by the TypeScript declarations below. Errors are
//! thrown as `Error` objects with a stable `code` (SPEC.md §10, or `invalid_argument`,
//! `missing_domain`, `signer`, `clock`) and a `detail`.

#![forbid(unsafe_code)]

mod checks;
#[cfg(feature = "holder")]
mod holder;
mod js;
mod lists;
mod verdict;
mod verifier;

use citycode::Policy;
use wasm_bindgen::prelude::*;

pub use checks::*;
#[cfg(feature = "holder")]
pub use holder::*;
pub use verifier::Verifier;

/// The TypeScript declarations of the plain JS objects and string unions this package
/// passes (types.d.ts, added to the generated `.d.ts`).
#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = include_str!("types.d.ts");

/// The library version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

/// The required domains of a scene (so a mini-program knows what to disclose).
#[wasm_bindgen(js_name = sceneDomains)]
pub fn scene_domains(#[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue) -> Result<Vec<u32>, JsValue> {
    Ok(js::scene_from_js(&scene)?.required_domains().into_iter().map(citycode::Domain::id).collect())
}

#[cfg(test)]
mod tests {
    /// The TypeScript union of reason codes is exactly core's list.
    #[test]
    fn the_reason_code_union_is_every_reason() {
        let union = include_str!("types.d.ts")
            .split("export type ReasonCode =")
            .nth(1)
            .and_then(|t| t.split(';').next())
            .unwrap_or("");
        let listed: Vec<&str> =
            union.split('|').map(|c| c.trim().trim_matches('"')).filter(|c| !c.is_empty()).collect();
        let all: Vec<&str> = citycode::Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(listed, all);
    }
}
