//! The verifier's signed lists: loading trust and revocation lists (rollback refused)
//! and reporting what it holds.

use wasm_bindgen::prelude::*;

use crate::js::{Obj, bytes, rejection};
use crate::verifier::Verifier;

#[wasm_bindgen]
impl Verifier {
    /// Loads a signed trust list (bytes). Throws on a bad
    /// signature or rollback.
    #[wasm_bindgen(js_name = loadTrustList)]
    pub fn load_trust_list(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] list: JsValue,
    ) -> Result<(), JsValue> {
        self.inner.load_trust_list(&bytes(&list)?).map_err(rejection)
    }

    /// Loads a signed revocation list (bytes) at `nowUnix` (default: the clock). An
    /// issuer-signed list is refused unless its key is valid then (SPEC.md §8.3).
    #[wasm_bindgen(js_name = loadRevocationList)]
    pub fn load_revocation_list(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] list: JsValue,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
    ) -> Result<(), JsValue> {
        let now = self.now(now_unix)?;
        self.inner.load_revocation_list_at(&bytes(&list)?, now).map_err(rejection)
    }

    /// The lists held (core's `HeldList`, field for field), for the terminal's status line
    /// and monitoring.
    #[wasm_bindgen(js_name = heldLists, unchecked_return_type = "HeldList[]")]
    pub fn held_lists(&self) -> js_sys::Array {
        let out = js_sys::Array::new();
        for held in self.inner.held_lists() {
            let citycode::HeldList { name, sequence, issued_at, expires_at } = held;
            let list = Obj::new()
                .set("name", name)
                .set("sequence", sequence as f64)
                .set("issued_at", issued_at)
                .set("expires_at", expires_at);
            out.push(&list.done());
        }
        out
    }
}
