//! Counters for `GET /metrics` (Prometheus text): instances issued, requests by route
//! and outcome, refusals by reason, device key attestations by outcome. Signing
//! failures by key and code are counted by the keys themselves
//! ([`crate::keys::SharedSigner`]). Gauges (challenge store size, publication age) are
//! read from the records when scraped.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    instances: AtomicU64,
    printed: AtomicU64,
    outcomes: Mutex<BTreeMap<(&'static str, String), u64>>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    attestations: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    /// Counts `n` instances issued.
    pub fn issued(&self, n: u64) {
        self.instances.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a printed code issued.
    pub fn issued_printed(&self) {
        self.printed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an outcome of a kind of request (`batch` / `issued`).
    pub fn count(&self, kind: &'static str, outcome: &str) {
        *self
            .outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((kind, outcome.to_string()))
            .or_default() += 1;
    }

    /// Counts a refused request by reason code.
    pub fn refused(&self, reason: &'static str) {
        *self.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(reason).or_default() += 1;
    }

    /// Counts the attestation records of instances issued: by status (`attested`,
    /// `absent`, `refused`, `off`) and detail (the protection of an attested key, the
    /// reason of a refused attestation).
    pub fn attestations(&self, records: &[citycode_attest::AttestationRecord]) {
        let mut counts = self.attestations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for record in records {
            let value = serde_json::to_value(record).unwrap_or_default();
            let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
            let detail = if field("status") == "attested" { field("protection") } else { field("code") };
            *counts.entry((field("status"), detail)).or_default() += 1;
        }
    }

    /// Instances issued so far.
    pub fn instances(&self) -> u64 {
        self.instances.load(Ordering::Relaxed)
    }

    /// The counters as Prometheus text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP citycode_issuer_instances_total Instances signed and recorded.\n# TYPE citycode_issuer_instances_total counter\n");
        out.push_str(&format!("citycode_issuer_instances_total {}\n", self.instances()));
        out.push_str("# HELP citycode_issuer_printed_total Printed codes issued.\n# TYPE citycode_issuer_printed_total counter\n");
        out.push_str(&format!("citycode_issuer_printed_total {}\n", self.printed.load(Ordering::Relaxed)));
        out.push_str("# HELP citycode_issuer_requests_total Requests by kind and outcome.\n# TYPE citycode_issuer_requests_total counter\n");
        for ((kind, outcome), n) in self.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            out.push_str(&format!("citycode_issuer_requests_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}\n"));
        }
        out.push_str("# HELP citycode_issuer_refusals_total Refused requests by reason code.\n# TYPE citycode_issuer_refusals_total counter\n");
        for (reason, n) in self.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            out.push_str(&format!("citycode_issuer_refusals_total{{reason=\"{reason}\"}} {n}\n"));
        }
        out.push_str("# HELP citycode_issuer_attestations_total Instances issued, by what their device key's attestation showed.\n# TYPE citycode_issuer_attestations_total counter\n");
        for ((status, detail), n) in self.attestations.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter()
        {
            out.push_str(&format!(
                "citycode_issuer_attestations_total{{status=\"{status}\",detail=\"{detail}\"}} {n}\n"
            ));
        }
        out
    }
}
