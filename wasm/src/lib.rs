//! citycode for JavaScript hosts: scanning terminals (browser or Node kiosks) and
//! mini-programs. A thin adapter: every rule lives in the `citycode` crate.
//!
//! Results are plain JS objects typed by the TypeScript declarations below. Errors are
//! thrown as `Error` objects with a stable `code` (SPEC.md §10, or `invalid_argument`,
//! `missing_domain`, `signer`, `clock`) and a `detail`.

#![forbid(unsafe_code)]

use citycode::text::unhex;
use citycode::{Algorithm, Policy, PublicKey, Scene, UnverifiedCode};
use wasm_bindgen::prelude::*;

/// The TypeScript declarations of the plain JS objects and string unions this package
/// passes (types.d.ts, added to the generated `.d.ts`).
#[wasm_bindgen(typescript_custom_section)]
const TS: &'static str = include_str!("types.d.ts");

fn js_error(code: &str, detail: &str) -> JsValue {
    let e = js_sys::Error::new(&format!("{code}: {detail}"));
    // Setting properties on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(&e, &"code".into(), &code.into());
    let _ = js_sys::Reflect::set(&e, &"detail".into(), &detail.into());
    e.into()
}

fn rejection(r: citycode::Rejection) -> JsValue {
    js_error(r.reason.code(), &r.detail)
}

fn invalid(detail: &str) -> JsValue {
    js_error("invalid_argument", detail)
}

/// A plain JS object under construction.
pub(crate) struct Obj(js_sys::Object);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(js_sys::Object::new())
    }
    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        self.put(key, value.into())
    }
    // One body for every value type: the generic `set` only converts (smaller package).
    #[inline(never)]
    fn put(self, key: &str, value: JsValue) -> Self {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&self.0, &key.into(), &value);
        self
    }
    pub(crate) fn done(self) -> JsValue {
        self.0.into()
    }
}

fn claims_to_js(c: &citycode::Claims) -> JsValue {
    let mut o = Obj::new();
    if let Some(h) = &c.health {
        o = o.set("health", Obj::new().set("status", h.status.name()).set("valid_until_day", h.valid_until_day).done());
    }
    // A withheld field (a scene's card, SPEC.md §4.3) is absent, as in the JSON form.
    if let Some(m) = &c.medical_insurance {
        let mut i = Obj::new();
        if let Some(region) = m.region {
            i = i.set("region", region);
        }
        if let Some(status) = m.status {
            i = i.set("status", status.name());
        }
        o = o.set("medical_insurance", i.done());
    }
    if let Some(s) = &c.social_security {
        o = o.set("social_security", Obj::new().set("status", s.status.name()).done());
    }
    if let Some(t) = &c.transit {
        let mut j = Obj::new();
        if let Some(account) = t.account {
            j = j.set("account", account.name());
        }
        if let Some(fare_class) = t.fare_class {
            j = j.set("fare_class", fare_class.name());
        }
        if let Some(vehicle_payment) = t.vehicle_payment {
            j = j.set("vehicle_payment", vehicle_payment);
        }
        o = o.set("transit", j.done());
    }
    if let Some(t) = &c.tourism {
        let entries: js_sys::Array = t
            .entries
            .iter()
            .map(|e| Obj::new().set("kind", e.kind.name()).set("site", e.site).set("day", e.day).done())
            .collect();
        o = o.set("tourism", Obj::new().set("entries", entries).done());
    }
    if let Some(i) = &c.identity {
        let id = Obj::new()
            .set("name", i.name.as_str())
            .set("digest", i.digest.name())
            .set("salt", citycode::text::hex(&i.salt))
            .set("commitment", citycode::text::hex(&i.commitment));
        o = o.set("identity", id.done());
    }
    if let Some(g) = &c.guardian {
        o = o.set("guardian", Obj::new().set("relation", g.relation.name()).done());
    }
    if !c.other.is_empty() {
        let other: js_sys::Array = c
            .other
            .iter()
            .map(|x| Obj::new().set("domain", x.domain).set("body", citycode::text::hex(&x.body)).done())
            .collect();
        o = o.set("other", other);
    }
    o.done()
}

pub(crate) fn scene_from_js(scene: &JsValue) -> Result<Scene, JsValue> {
    let get = |k: &str| js_sys::Reflect::get(scene, &k.into()).ok();
    let number = |k: &str| get(k).and_then(|v| v.as_f64()).filter(|n| n.fract() == 0.0);
    let kind = get("kind").and_then(|k| k.as_string()).ok_or_else(|| invalid("scene.kind must be a string"))?;
    match kind.as_str() {
        "hospital" => Ok(Scene::Hospital),
        "parking" => Ok(Scene::Parking),
        "metro_gate" => Ok(Scene::MetroGate),
        "hotel_check_in" => Ok(Scene::HotelCheckIn),
        "scenic_spot" => {
            let site = number("site").filter(|n| (0.0..=f64::from(u32::MAX)).contains(n));
            let offset = number("utc_offset_minutes").filter(|n| (-1440.0..=1440.0).contains(n));
            match (site, offset) {
                (Some(site), Some(offset)) => {
                    Ok(Scene::ScenicSpot { site: site as u32, utc_offset_minutes: offset as i32 })
                }
                _ => Err(invalid("scenic_spot needs an integer site and utc_offset_minutes")),
            }
        }
        other => Err(invalid(&format!("unknown scene kind \"{other}\""))),
    }
}

fn algorithm(name: &str) -> Result<Algorithm, JsValue> {
    Algorithm::from_name(name).ok_or_else(|| invalid("unknown algorithm"))
}

fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// A verifier for one terminal: pinned root key, trust and revocation lists (rollback
/// refused), a scene, a clock with allowed skew, and a bounded replay guard.
#[wasm_bindgen]
pub struct Verifier {
    inner: citycode::Verifier,
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
    fn now(&self, now_unix: Option<f64>) -> Result<u64, JsValue> {
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

/// Core's [`citycode::Verdict`] as a plain JS object, field for field: the names and
/// values of its serde JSON (`decision`, `policy`, `claims`, ... or `decision`,
/// `reason`, `detail`; `printed` only when true). Every field is named here, so a field
/// core adds does not compile until it is carried.
fn verdict_to_js(verdict: citycode::Verdict) -> JsValue {
    match verdict {
        citycode::Verdict::Accept {
            policy,
            claims,
            subject,
            issued_at,
            issuers,
            revocation_checked,
            replay_checked,
            printed,
        } => {
            let issuers: js_sys::Array = issuers.iter().map(|&k| JsValue::from(k)).collect();
            let o = Obj::new()
                .set("decision", "accept")
                .set("policy", policy)
                .set("claims", claims_to_js(&claims))
                .set("subject", subject)
                .set("issued_at", issued_at)
                .set("issuers", issuers)
                .set("revocation_checked", revocation_checked)
                .set("replay_checked", replay_checked);
            if printed { o.set("printed", true).done() } else { o.done() }
        }
        citycode::Verdict::Reject { reason, detail } => {
            Obj::new().set("decision", "reject").set("reason", reason.code()).set("detail", detail).done()
        }
        // A verdict this adapter does not know refuses the code.
        _ => Obj::new().set("decision", "reject").set("reason", "internal").set("detail", "unknown verdict").done(),
    }
}

fn seconds(t: f64) -> Result<u64, JsValue> {
    if (0.0..1.8e19).contains(&t) {
        Ok(t as u64)
    } else {
        Err(js_error("clock", "time must be a non-negative number of seconds"))
    }
}

fn bytes(v: &JsValue) -> Result<Vec<u8>, JsValue> {
    if v.is_instance_of::<js_sys::Uint8Array>() {
        return Ok(js_sys::Uint8Array::new(v).to_vec());
    }
    // Lists arrive as bytes (fetch().arrayBuffer()); base64url decoding stays out of
    // the scanner package to keep it small.
    Err(invalid("expected a Uint8Array"))
}

/// The library version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

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

#[cfg(feature = "holder")]
mod holder;
#[cfg(feature = "holder")]
pub use holder::*;

/// The required domains of a scene (so a mini-program knows what to disclose).
#[wasm_bindgen(js_name = sceneDomains)]
pub fn scene_domains(#[wasm_bindgen(unchecked_param_type = "Scene")] scene: JsValue) -> Result<Vec<u32>, JsValue> {
    Ok(scene_from_js(&scene)?.required_domains().into_iter().map(citycode::Domain::id).collect())
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
