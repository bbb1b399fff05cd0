//! The scanner's `Verifier`: a pinned root, a scene, a clock, and the ways to verify
//! (all in WASM, or with the host's WebCrypto checking P-256). Its lists are in `lists.rs`.

use citycode::text::unhex;
use citycode::{PublicKey, UnverifiedCode};
use wasm_bindgen::prelude::*;

use crate::js::{Obj, algorithm, bytes, invalid, js_error, now_secs, rejection, scene_from_js, seconds};
use crate::verdict::verdict_to_js;

/// A verifier for one terminal: pinned root key, trust and revocation lists (rollback
/// refused), a scene, a clock with allowed skew, and a bounded replay guard.
#[wasm_bindgen]
pub struct Verifier {
    pub(crate) inner: citycode::Verifier,
    clock: Option<js_sys::Function>,
    /// The code `p256Checks` parsed last, by its text, for the `verifyHostChecked` that
    /// follows: parsing decompresses the device key, a modular exponentiation that
    /// costs about a fifth of a P-256 code's time in WASM.
    parsed: core::cell::RefCell<Option<(String, UnverifiedCode)>>,
}

#[wasm_bindgen]
impl Verifier {
    /// `rootKeyHex`: the pinned root public key; `rootAlgorithm`: an {@link Algorithm}
    /// (`"sm2_sm3"` throws `unsupported_algorithm` in the default scanner package);
    /// `scene`: a {@link Scene}.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = rootKeyHex)] root_key_hex: &str,
        #[wasm_bindgen(js_name = rootAlgorithm, unchecked_param_type = "Algorithm")] root_algorithm: &str,
        #[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue,
    ) -> Result<Verifier, JsValue> {
        let alg = algorithm(root_algorithm)?;
        let bytes = unhex(root_key_hex).map_err(|_| invalid("root key is not hex"))?;
        let root = PublicKey::from_bytes(alg, &bytes).map_err(|r| rejection(r.into()))?;
        Ok(Verifier {
            inner: citycode::Verifier::new(root, scene_from_js(&scene)?),
            clock: None,
            parsed: core::cell::RefCell::new(None),
        })
    }

    /// Allowed clock skew in seconds (default 30).
    #[wasm_bindgen(js_name = setSkew)]
    pub fn set_skew(&mut self, secs: u32) {
        self.inner.set_skew(secs);
    }

    /// Longest code validity accepted, seconds (default 120).
    #[wasm_bindgen(js_name = setMaxCodeValidity)]
    pub fn set_max_code_validity(&mut self, secs: u8) {
        self.inner.set_max_code_validity(secs);
    }

    /// The clock: a function returning Unix seconds (default `Date.now() / 1000`).
    #[wasm_bindgen(js_name = setClock)]
    pub fn set_clock(&mut self, #[wasm_bindgen(unchecked_param_type = "() => number")] clock: js_sys::Function) {
        self.clock = Some(clock);
    }

    /// Switches the scene.
    #[wasm_bindgen(js_name = setScene)]
    pub fn set_scene(&mut self, #[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue) -> Result<(), JsValue> {
        self.inner.set_policy(scene_from_js(&scene)?);
        Ok(())
    }

    /// Domains (ids) the current scene needs disclosed.
    #[wasm_bindgen(js_name = requiredDomains)]
    pub fn required_domains(&self) -> Vec<u32> {
        self.inner.required_domains().into_iter().map(citycode::Domain::id).collect()
    }

    /// The terminal's local offset from UTC in minutes (480, China Standard Time, by
    /// default): a health status's last day ends at local midnight (SPEC.md §11).
    #[wasm_bindgen(js_name = setUtcOffsetMinutes)]
    pub fn set_utc_offset_minutes(&mut self, minutes: i32) {
        self.inner.set_utc_offset_minutes(minutes);
    }

    /// Accepts codes while no revocation list is held (refused by default:
    /// `no_revocation_list`); accepted decisions then carry `revocation_checked: false`.
    #[wasm_bindgen(js_name = allowMissingRevocationList)]
    pub fn allow_missing_revocation_list(&mut self) {
        self.inner.set_revocation_required(false);
    }

    /// Accepts only the national algorithms (SPEC.md §4.6): the root (which must be
    /// SM2), every issuer key and every device key SM2, every digest SM3. Throws
    /// `unsupported_algorithm` otherwise. GM packages only.
    #[cfg(feature = "gm")]
    #[wasm_bindgen(js_name = requireGmOnly)]
    pub fn require_gm_only(&mut self) -> Result<(), JsValue> {
        self.inner.set_gm_only().map_err(rejection)
    }

    /// Verifies scanned text at `nowUnix` (default: the clock). Returns a
    /// {@link Decision}; throws only if the clock function fails. All in WASM;
    /// `verifyAsync` (added by the package's entry modules) checks P-256 signatures with
    /// the host's WebCrypto, several times faster, and gives the same decision.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn verify(
        &self,
        text: &str,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        self.decide(text, now_unix, &[])
    }

    /// The P-256 signatures `verify` would check for `text`, for the host's WebCrypto
    /// (SPEC.md §4.2's structural checks already passed: only the equation is left).
    /// Empty for text that is not a code and for codes without P-256 keys.
    #[wasm_bindgen(js_name = p256Checks, unchecked_return_type = "P256Check[]")]
    pub fn p256_checks(&self, text: &str) -> js_sys::Array {
        let Ok(code) = UnverifiedCode::from_text(text) else { return js_sys::Array::new() };
        let bytes = |b: &[u8]| js_sys::Uint8Array::from(b);
        let checks = self
            .inner
            .p256_checks(&code)
            .iter()
            .map(|c| {
                Obj::new()
                    .set("publicKey", bytes(&c.public_key))
                    .set("message", bytes(&c.message))
                    .set("signature", bytes(&c.signature))
                    .done()
            })
            .collect();
        // Parsing depends on the text alone, so the parse is as good for the next call.
        *self.parsed.borrow_mut() = Some((text.to_owned(), code));
        checks
    }

    /// `verify`, with the entries of `p256Checks(text)` that the host's ECDSA verified
    /// taken as verified. An entry counts only for the exact key, message and signature
    /// it names; every other signature, and every rule, is checked here.
    #[wasm_bindgen(js_name = verifyHostChecked, unchecked_return_type = "Decision")]
    pub fn verify_host_checked(
        &self,
        text: &str,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
        #[wasm_bindgen(unchecked_param_type = "P256Check[]")] verified: js_sys::Array,
    ) -> Result<JsValue, JsValue> {
        let field = |entry: &JsValue, name: &str| -> Result<Vec<u8>, JsValue> {
            bytes(
                &js_sys::Reflect::get(entry, &name.into())
                    .map_err(|_| invalid(&format!("a P256Check has no {name}")))?,
            )
        };
        let mut checks = Vec::with_capacity(verified.length() as usize);
        for entry in verified.iter() {
            let malformed = || invalid("a P256Check needs a 65-byte publicKey and a 64-byte signature");
            checks.push(citycode::P256Check {
                public_key: field(&entry, "publicKey")?.try_into().map_err(|_| malformed())?,
                message: field(&entry, "message")?,
                signature: field(&entry, "signature")?.try_into().map_err(|_| malformed())?,
            });
        }
        self.decide(text, now_unix, &checks)
    }
}

impl Verifier {
    /// `now_unix`, else the clock's time, else the host's.
    pub(crate) fn now(&self, now_unix: Option<f64>) -> Result<u64, JsValue> {
        Ok(match (now_unix, &self.clock) {
            (Some(t), _) => seconds(t)?,
            (None, Some(f)) => {
                let t = f.call0(&JsValue::NULL).map_err(|_| js_error("clock", "the clock function threw"))?;
                seconds(t.as_f64().ok_or_else(|| js_error("clock", "the clock returned no number"))?)?
            }
            (None, None) => now_secs(),
        })
    }

    fn decide(&self, text: &str, now_unix: Option<f64>, verified: &[citycode::P256Check]) -> Result<JsValue, JsValue> {
        let now = self.now(now_unix)?;
        let parsed = self.parsed.borrow_mut().take().filter(|(t, _)| t == text).map(|(_, code)| code);
        let decided = match parsed {
            Some(code) => self.inner.verify_code_host_checked(code, now, verified),
            None => citycode::text::decode_text(text).map_err(|r| citycode::Rejection::new(r, "QR text")).and_then(
                |bytes| {
                    // A printed code (SPEC.md §5.1) has no device key and no P-256 check.
                    if citycode::PrintedCode::is_printed(&bytes) {
                        citycode::PrintedCode::from_bytes(&bytes).and_then(|code| self.inner.verify_printed(code, now))
                    } else {
                        UnverifiedCode::from_bytes(&bytes)
                            .and_then(|code| self.inner.verify_code_host_checked(code, now, verified))
                    }
                },
            ),
        };
        Ok(verdict_to_js(citycode::Verdict::from(decided)))
    }
}
