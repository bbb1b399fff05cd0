//! The holder side for mini-programs (feature `holder`): device keys, building codes,
//! rendering QR.

use citycode::text::decode_base64url;
use citycode::{Credential, Disclosure, KeyPair, PresentOptions, Qr, present};
use wasm_bindgen::prelude::*;

use crate::{Obj, algorithm, invalid, js_error, now_secs, seconds};

fn holder_error(e: citycode::Error) -> JsValue {
    match e {
        citycode::Error::Invalid(r) => crate::rejection(r),
        other => js_error(other.code(), &other.to_string()),
    }
}

/// Generates a device key: `"ed25519"`, `"ecdsa_p256_sha256"` or `"sm2_sm3"`. Returns a
/// {@link DeviceKey}; store `secret` in the host's secure storage.
#[wasm_bindgen(js_name = generateDeviceKey, unchecked_return_type = "DeviceKey")]
pub fn generate_device_key(alg: &str) -> Result<JsValue, JsValue> {
    let key = KeyPair::generate(algorithm(alg)?).map_err(holder_error)?;
    Ok(Obj::new()
        .set("algorithm", alg)
        .set("secret", js_sys::Uint8Array::from(key.secret_bytes().as_slice()))
        .set("public_key", js_sys::Uint8Array::from(key.public_key().to_bytes().as_slice()))
        .done())
}

/// A mini-program holder: a stored credential and the device key's secret.
#[wasm_bindgen]
pub struct Holder {
    credential: Credential,
    key: KeyPair,
}

#[wasm_bindgen]
impl Holder {
    /// `credential`: base64url as the issuer returned it; `secret`: the device key's
    /// 32 secret bytes; `algorithm`: its algorithm.
    #[wasm_bindgen(constructor)]
    pub fn new(credential: &str, secret: &[u8], algorithm: &str) -> Result<Holder, JsValue> {
        let credential =
            Credential::from_bytes(&decode_base64url(credential).map_err(|_| invalid("credential is not base64url"))?)
                .map_err(holder_error)?;
        let key = KeyPair::from_secret_bytes(crate::algorithm(algorithm)?, secret).map_err(holder_error)?;
        if key.public_key() != credential.device_key {
            return Err(js_error("signer", "the key is not the credential's device key"));
        }
        Ok(Holder { credential, key })
    }

    /// Builds a code for a scene (`{kind: "metro_gate"}`, ...) disclosing only what its
    /// policy reads: the scene's own card (SPEC.md §11). At `nowUnix` (default now),
    /// valid `validitySecs` (default 60). Returns a {@link PresentedCode}.
    #[wasm_bindgen(js_name = presentForScene, unchecked_return_type = "PresentedCode")]
    pub fn present_for_scene(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
        #[wasm_bindgen(js_name = validitySecs)] validity_secs: Option<u8>,
    ) -> Result<JsValue, JsValue> {
        let scene = crate::scene_from_js(&scene)?;
        self.build(&scene, now_unix, validity_secs)
    }

    /// Builds a code disclosing `domains` (ids), whole, at `nowUnix` (default now), valid
    /// `validitySecs` (default 60). Returns a {@link PresentedCode}.
    #[wasm_bindgen(unchecked_return_type = "PresentedCode")]
    pub fn present(
        &self,
        domains: Vec<u32>,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
        #[wasm_bindgen(js_name = validitySecs)] validity_secs: Option<u8>,
    ) -> Result<JsValue, JsValue> {
        self.build(&domains, now_unix, validity_secs)
    }
}

impl Holder {
    fn build<'d>(
        &self,
        disclosure: impl Into<Disclosure<'d>>,
        now_unix: Option<f64>,
        validity_secs: Option<u8>,
    ) -> Result<JsValue, JsValue> {
        let now = match now_unix {
            Some(t) => seconds(t)?,
            None => now_secs(),
        };
        let options = PresentOptions { validity_secs: validity_secs.unwrap_or(60), nonce: None };
        let code = present(&self.credential, &self.key, disclosure, now, options).map_err(holder_error)?;
        Ok(Obj::new()
            .set("text", code.to_text())
            .set("issued_at", code.issued_at())
            .set("expires_at", code.expires_at() as f64)
            .set("refresh_in_secs", code.refresh_in(now) as f64)
            .done())
    }
}

/// Renders text as a QR symbol in SVG (level M, 4-module quiet zone).
#[wasm_bindgen(js_name = renderQrSvg)]
pub fn render_qr_svg(
    text: &str,
    #[wasm_bindgen(js_name = modulePx)] module_px: Option<u32>,
) -> Result<String, JsValue> {
    let qr = Qr::new(text).map_err(crate::rejection)?;
    Ok(qr.to_svg(module_px.unwrap_or(8) as usize))
}
