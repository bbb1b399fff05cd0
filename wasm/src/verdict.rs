//! Core's verdict and claims as plain JS objects, field for field as their serde JSON.

use wasm_bindgen::prelude::*;

use crate::js::Obj;

/// Core's [`citycode::Verdict`] as a plain JS object, field for field: the names and
/// values of its serde JSON (`decision`, `policy`, `claims`, ... or `decision`,
/// `reason`, `detail`; `printed` only when true). Every field is named here, so a field
/// core adds does not compile until it is carried.
pub(crate) fn verdict_to_js(verdict: citycode::Verdict) -> JsValue {
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
