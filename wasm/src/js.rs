//! JS values in and out: thrown errors with a stable `code`, plain objects, and the
//! arguments every entry point reads (scenes, algorithms, times, bytes).

use citycode::{Algorithm, Scene};
use wasm_bindgen::prelude::*;

/// A JS `Error` with `code` and `detail` properties (its message `code: detail`).
pub(crate) fn js_error(code: &str, detail: &str) -> JsValue {
    let e = js_sys::Error::new(&format!("{code}: {detail}"));
    // Setting properties on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(&e, &"code".into(), &code.into());
    let _ = js_sys::Reflect::set(&e, &"detail".into(), &detail.into());
    e.into()
}

/// Core's refusal as a thrown error: its reason code and detail.
pub(crate) fn rejection(r: citycode::Rejection) -> JsValue {
    js_error(r.reason.code(), &r.detail)
}

/// An argument the caller got wrong (`invalid_argument`).
pub(crate) fn invalid(detail: &str) -> JsValue {
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

pub(crate) fn algorithm(name: &str) -> Result<Algorithm, JsValue> {
    Algorithm::from_name(name).ok_or_else(|| invalid("unknown algorithm"))
}

pub(crate) fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

pub(crate) fn seconds(t: f64) -> Result<u64, JsValue> {
    if (0.0..1.8e19).contains(&t) {
        Ok(t as u64)
    } else {
        Err(js_error("clock", "time must be a non-negative number of seconds"))
    }
}

pub(crate) fn bytes(v: &JsValue) -> Result<Vec<u8>, JsValue> {
    if v.is_instance_of::<js_sys::Uint8Array>() {
        return Ok(js_sys::Uint8Array::new(v).to_vec());
    }
    // Lists arrive as bytes (fetch().arrayBuffer()); base64url decoding stays out of
    // the scanner package to keep it small.
    Err(invalid("expected a Uint8Array"))
}
