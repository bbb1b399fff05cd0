//! The holder side for mini-programs (feature `holder`): device keys, building codes,
//! rendering QR.

use citycode::text::decode_base64url;
use citycode::{Credential, CredentialBatch, Disclosure, KeyPair, PresentOptions, Qr, Reuse, present};
use wasm_bindgen::prelude::*;

use crate::js::{Obj, algorithm, invalid, js_error, now_secs, seconds};

fn holder_error(e: citycode::Error) -> JsValue {
    match e {
        citycode::Error::Invalid(r) => crate::js::rejection(r),
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
        let key = KeyPair::from_secret_bytes(crate::js::algorithm(algorithm)?, secret).map_err(holder_error)?;
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
        let scene = crate::js::scene_from_js(&scene)?;
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
        let (now, options) = when(now_unix, validity_secs)?;
        let code = present(&self.credential, &self.key, disclosure, now, options).map_err(holder_error)?;
        Ok(presented(&code, now))
    }
}

fn when(now_unix: Option<f64>, validity_secs: Option<u8>) -> Result<(u64, PresentOptions), JsValue> {
    let now = match now_unix {
        Some(t) => seconds(t)?,
        None => now_secs(),
    };
    Ok((now, PresentOptions { validity_secs: validity_secs.unwrap_or(60), nonce: None }))
}

fn presented(code: &citycode::Code, now: u64) -> JsValue {
    Obj::new()
        .set("text", code.to_text())
        .set("issued_at", code.issued_at())
        .set("expires_at", code.expires_at() as f64)
        .set("refresh_in_secs", code.refresh_in(now) as f64)
        .done()
}

/// A batch of instances for codes verifiers cannot link (SPEC.md §13): each code comes
/// from its own instance (credential and device key), shown once. Add what the issuer
/// returned for a batch request with each instance's key; ask for more when
/// `needsRefill()` says so.
#[wasm_bindgen]
pub struct HolderBatch {
    inner: CredentialBatch<KeyPair>,
}

#[wasm_bindgen]
impl HolderBatch {
    /// An empty batch; `needsRefill()` is true while fewer than `refillBelow` (default 5)
    /// instances are left. `limitedTimeSecs`, when given, shows one instance for every
    /// code within that many seconds of its first use (codes in one window are linkable
    /// to each other): for hosts that cannot keep many keys.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = refillBelow)] refill_below: Option<u32>,
        #[wasm_bindgen(js_name = limitedTimeSecs)] limited_time_secs: Option<f64>,
    ) -> Result<HolderBatch, JsValue> {
        let reuse = match limited_time_secs {
            None => Reuse::OnceOnly,
            Some(secs) => Reuse::LimitedTime { secs: seconds(secs)? },
        };
        Ok(HolderBatch { inner: CredentialBatch::empty(reuse, refill_below.unwrap_or(5) as usize) })
    }

    /// Adds one instance: its credential (base64url) and its device key's secret.
    pub fn add(&mut self, credential: &str, secret: &[u8], algorithm: &str) -> Result<(), JsValue> {
        let Holder { credential, key } = Holder::new(credential, secret, algorithm)?;
        self.inner.refill(vec![(credential, key)]).map_err(holder_error)
    }

    /// Builds a code for a scene from the next instance (only what the scene reads).
    /// Returns a {@link PresentedCode}; an empty batch throws `missing_domain`.
    #[wasm_bindgen(js_name = presentForScene, unchecked_return_type = "PresentedCode")]
    pub fn present_for_scene(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue,
        #[wasm_bindgen(js_name = nowUnix)] now_unix: Option<f64>,
        #[wasm_bindgen(js_name = validitySecs)] validity_secs: Option<u8>,
    ) -> Result<JsValue, JsValue> {
        let scene = crate::js::scene_from_js(&scene)?;
        let (now, options) = when(now_unix, validity_secs)?;
        let code = self.inner.present(&scene, now, options).map_err(holder_error)?;
        Ok(presented(&code, now))
    }

    /// Instances not yet shown.
    pub fn remaining(&self) -> u32 {
        u32::try_from(self.inner.remaining()).unwrap_or(u32::MAX)
    }

    /// Whether to ask the issuer for more, next time the host is online.
    #[wasm_bindgen(js_name = needsRefill)]
    pub fn needs_refill(&self) -> bool {
        self.inner.needs_refill()
    }

    /// The credentials still to be shown (base64url), in order: what the host persists;
    /// a key whose instance is no longer listed can be deleted.
    pub fn unshown(&self) -> Result<Vec<String>, JsValue> {
        self.inner.unshown().map(|c| c.to_base64url().map_err(holder_error)).collect()
    }
}

/// Renders text as a QR symbol in SVG (level M, 4-module quiet zone).
#[wasm_bindgen(js_name = renderQrSvg)]
pub fn render_qr_svg(
    text: &str,
    #[wasm_bindgen(js_name = modulePx)] module_px: Option<u32>,
) -> Result<String, JsValue> {
    let qr = Qr::new(text).map_err(crate::js::rejection)?;
    Ok(qr.to_svg(module_px.unwrap_or(8) as usize))
}
