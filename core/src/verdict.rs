//! The verdict every adapter reports: one serde shape for the CLI, the HTTP service and
//! logs, so that none of them re-spells accept and reject.
//!
//! ```json
//! {"decision": "accept", "policy": "metro_gate", "claims": {...}, "subject": "7265...",
//!  "issued_at": 1795593600, "issuers": [1], "revocation_checked": true, "replay_checked": true}
//! {"decision": "accept", "policy": "hospital", ..., "replay_checked": false, "printed": true}   (a printed code)
//! {"decision": "reject", "reason": "code_expired", "detail": "expired at 1795593690"}
//! ```
//!
//! SPEC.md §9.2 describes every field.

use serde::Serialize;

use crate::claims::Claims;
use crate::error::{Reason, Rejection};
use crate::verify::Accepted;

/// What a verifier decided, ready to serialise.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Accept {
        /// The policy that accepted the code.
        policy: String,
        /// Exactly the disclosed claims (names as in SPEC.md §4.3).
        claims: Claims,
        /// The pseudonymous subject, hex.
        subject: String,
        /// Unix second the code was built.
        issued_at: u32,
        /// Key ids of the issuers of the code's cards, in card order.
        issuers: Vec<u32>,
        /// False only when the verifier runs without the root-signed revocation list by
        /// choice.
        revocation_checked: bool,
        /// Whether the code was checked for replay: false when the verifier's replay
        /// store records nothing (a one-shot run, [`crate::NoReplayCheck`]: the same code
        /// would be accepted again) and for a printed code (never replay-checked).
        replay_checked: bool,
        /// Present (true) for a printed code: check the person's identity document
        /// against `claims.identity` (SPEC.md §5.1).
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        printed: bool,
    },
    /// A check failed.
    Reject {
        /// The stable reason code (SPEC.md §10).
        #[serde(serialize_with = "reason_code")]
        reason: Reason,
        /// What exactly failed, for operators. Never secret; may name a key id or a time.
        detail: String,
    },
}

fn reason_code<S: serde::Serializer>(reason: &Reason, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(reason.code())
}

impl Verdict {
    /// Whether the code was accepted.
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept { .. })
    }

    /// `"accept"`, or the reason code: what metrics and logs count.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::Accept { .. } => "accept",
            Verdict::Reject { reason, .. } => reason.code(),
        }
    }
}

impl From<&Result<Accepted, Rejection>> for Verdict {
    fn from(result: &Result<Accepted, Rejection>) -> Self {
        match result {
            Ok(a) => Verdict::Accept {
                policy: a.policy.clone(),
                claims: a.claims.clone(),
                subject: a.subject.to_hex(),
                issued_at: a.issued_at,
                issuers: a.issuers.clone(),
                revocation_checked: a.revocation_checked,
                replay_checked: a.replay_checked,
                printed: a.printed,
            },
            Err(r) => Verdict::Reject { reason: r.reason, detail: r.detail.clone() },
        }
    }
}

impl From<Result<Accepted, Rejection>> for Verdict {
    fn from(result: Result<Accepted, Rejection>) -> Self {
        Verdict::from(&result)
    }
}
