//! Checks outside a verifier: a signature under a key, an algorithm's digest (GM
//! packages), and an identity document's number against an identity claim.

use wasm_bindgen::prelude::*;

#[cfg(feature = "gm")]
use crate::js::{algorithm, rejection};
use crate::js::{invalid, js_error};
#[cfg(feature = "gm")]
use citycode::PublicKey;

/// Whether `signature` over `message` verifies under `publicKey` for `algorithm`
/// (SPEC.md §4.2; P-256 and SM2 keys compressed or uncompressed SEC1). Throws
/// `invalid_device_key` or `malformed` for a key that is not valid. For algorithm tests
/// and for checking a device's signer. GM packages only.
#[cfg(feature = "gm")]
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    #[wasm_bindgen(unchecked_param_type = "Algorithm")] algorithm_name: &str,
    #[wasm_bindgen(js_name = publicKey)] public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<bool, JsValue> {
    let key = PublicKey::from_exported(algorithm(algorithm_name)?, public_key).map_err(|r| rejection(r.into()))?;
    Ok(key.verify(message, signature))
}

/// The digest that goes with `algorithm` (SPEC.md §4.6): SM3 for `sm2_sm3`, SHA-256
/// otherwise. GM packages only.
#[cfg(feature = "gm")]
#[wasm_bindgen]
pub fn digest(
    #[wasm_bindgen(unchecked_param_type = "Algorithm")] algorithm_name: &str,
    data: &[u8],
) -> Result<Vec<u8>, JsValue> {
    let alg = algorithm(algorithm_name)?;
    let digest = citycode::digest::digest(alg, data);
    Ok(digest.ok_or_else(|| rejection(citycode::Reason::UnsupportedAlgorithm.into()))?.to_vec())
}

/// Whether `number`, as the terminal's ID-card reader read it, is the identity document
/// number a verdict's `claims.identity` commits to (SPEC.md §4.3). Throws
/// `out_of_range` for a number that is not 1 to 32 letters and digits, and
/// `unsupported_algorithm` for an SM3 commitment in a build without SM2.
#[wasm_bindgen(js_name = identityMatches)]
pub fn identity_matches(
    #[wasm_bindgen(unchecked_param_type = "Identity")] identity: JsValue,
    number: &str,
) -> Result<bool, JsValue> {
    let get = |k: &str| js_sys::Reflect::get(&identity, &k.into()).ok().and_then(|v| v.as_string());
    let sixteen = |k: &str| -> Result<[u8; 16], JsValue> {
        let bytes = get(k).and_then(|h| citycode::text::unhex(&h).ok()).ok_or_else(|| invalid("identity fields"))?;
        bytes.try_into().map_err(|_| invalid("identity salt and commitment are 16 bytes"))
    };
    let digest = match get("digest").as_deref() {
        Some("sha256") => citycode::claims::IdDigest::Sha256,
        Some("sm3") => citycode::claims::IdDigest::Sm3,
        _ => return Err(invalid("identity.digest must be \"sha256\" or \"sm3\"")),
    };
    let name = get("name").ok_or_else(|| invalid("identity.name must be a string"))?;
    let claim = citycode::claims::Identity { name, digest, salt: sixteen("salt")?, commitment: sixteen("commitment")? };
    // Fixed messages: formatting core's Error would pull its whole Display into the
    // scanner package.
    claim.matches(number).map_err(|e| match e.code() {
        "out_of_range" => js_error("out_of_range", "an identity document number is 1 to 32 letters and digits"),
        code => js_error(code, "SM3 commitments need the GM package (citycode-verifier-gm)"),
    })
}
