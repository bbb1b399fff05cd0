//! The verifier: codes in, decisions out.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::claims::Claims;
use crate::errors::{CitycodeError, Result};
use crate::keys::{KeyAlgorithm, public_key};
use crate::scene::Scene;
use crate::{now, unpoisoned};

/// What a verifier decided: core's `Verdict`, field for field (the verify server and the
/// CLI print its JSON, which [`Verifier::verify_json`] returns).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Decision {
    /// The code passed every check.
    Accept {
        /// The policy that accepted the code (`hospital`, `scenic_spot:<site>`, ...).
        policy: String,
        /// Exactly the disclosed claims; `claims.guardian` is set when a guardian showed
        /// the code ([`claims_json`] gives them as core's JSON).
        claims: Claims,
        /// The holder's pseudonymous subject, hex.
        subject: String,
        /// Unix second the code was built.
        issued_at: u32,
        /// Key ids of the issuers of the code's cards, in card order.
        issuers: Vec<u32>,
        /// False only when the verifier runs without revocation lists by choice
        /// (`allowMissingRevocationList`) and holds none.
        revocation_checked: bool,
        /// Whether the code was checked for replay: false when the verifier's replay
        /// store records nothing, and for a printed code (never replay-checked).
        replay_checked: bool,
        /// A printed code: no device signed it, so staff MUST check the person's identity
        /// document against `claims.identity` (SPEC.md §5.1). (Core's JSON leaves it out
        /// when false.)
        printed: bool,
    },
    /// The code was refused.
    Reject {
        /// The stable reason code (SPEC.md §10).
        reason: String,
        /// What failed.
        detail: String,
    },
}

impl From<citycode::Verdict> for Decision {
    fn from(verdict: citycode::Verdict) -> Self {
        // Every field named: a field core adds does not compile until it is carried.
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
            } => Decision::Accept {
                policy,
                claims: claims.into(),
                subject,
                issued_at,
                issuers,
                revocation_checked,
                replay_checked,
                printed,
            },
            citycode::Verdict::Reject { reason, detail } => Decision::Reject { reason: reason.code().into(), detail },
            // A verdict this adapter does not know refuses the code.
            _ => Decision::Reject { reason: "internal".into(), detail: "unknown verdict".into() },
        }
    }
}

/// A terminal's or backend's verifier. Thread-safe.
#[derive(uniffi::Object)]
pub struct Verifier {
    inner: RwLock<citycode::Verifier>,
}

#[uniffi::export]
impl Verifier {
    /// A verifier pinned to a root key, for a scene, with clock skew and the longest
    /// code validity accepted. Load a trust list before verifying.
    #[uniffi::constructor(default(skew_secs = 30, max_code_validity_secs = 120))]
    pub fn new(
        root_algorithm: KeyAlgorithm,
        root_key: Vec<u8>,
        scene: Scene,
        skew_secs: u32,
        max_code_validity_secs: u8,
    ) -> Result<Arc<Self>> {
        let root = public_key(root_algorithm, &root_key)?;
        let config = citycode::VerifierConfig {
            skew_secs,
            max_code_validity_secs,
            ..citycode::VerifierConfig::new(&root, citycode::Scene::from(scene))
        };
        Ok(Arc::new(Verifier { inner: RwLock::new(config.build()?) }))
    }

    /// A verifier from core's `VerifierConfig` as JSON, the `verifier` object of every
    /// test vector: `root_alg`, `root_key` (hex) and `scene`, and optionally
    /// `skew_secs`, `max_code_validity_secs`, `utc_offset_minutes` and
    /// `allow_missing_revocation_list` and `gm_only`. Other members (a vector's lists)
    /// are ignored.
    #[uniffi::constructor]
    pub fn from_config_json(json: String) -> Result<Arc<Self>> {
        let config: citycode::VerifierConfig = serde_json::from_str(&json)
            .map_err(|e| CitycodeError::invalid(format!("verifier configuration JSON: {e}")))?;
        Ok(Arc::new(Verifier { inner: RwLock::new(config.build()?) }))
    }

    /// Loads a signed trust list; refuses bad signatures and rollback.
    pub fn load_trust_list(&self, list: Vec<u8>) -> Result<()> {
        Ok(self.write()?.load_trust_list(&list)?)
    }

    /// Loads a signed revocation list now (or at `now_unix`); refuses bad signatures,
    /// rollback, and an issuer-signed list whose key is not valid then (SPEC.md §8.3).
    #[uniffi::method(default(now_unix = None))]
    pub fn load_revocation_list(&self, list: Vec<u8>, now_unix: Option<u64>) -> Result<()> {
        Ok(self.write()?.load_revocation_list_at(&list, now_unix.unwrap_or_else(now))?)
    }

    /// Switches the scene.
    pub fn set_scene(&self, scene: Scene) -> Result<()> {
        self.write()?.set_policy(citycode::Scene::from(scene));
        Ok(())
    }

    /// Verifies scanned text now (or at `now_unix`). Never throws for a bad code: the
    /// decision says why.
    #[uniffi::method(default(now_unix = None))]
    pub fn verify(&self, text: String, now_unix: Option<u64>) -> Decision {
        self.verdict(&text, now_unix).into()
    }

    /// [`Verifier::verify`], answered as core's `Verdict` in JSON: the shape the verify
    /// server and the CLI print, for backends that log or forward it.
    #[uniffi::method(default(now_unix = None))]
    pub fn verify_json(&self, text: String, now_unix: Option<u64>) -> String {
        let verdict = self.verdict(&text, now_unix);
        // A verdict is strings, numbers and booleans: serialising it cannot fail.
        serde_json::to_string(&verdict).unwrap_or_default()
    }

    /// Sets the verifier's local offset from UTC in minutes (480, China Standard Time,
    /// by default): a health status's last day ends at local midnight (SPEC.md §11).
    pub fn set_utc_offset_minutes(&self, minutes: i32) -> Result<()> {
        self.write()?.set_utc_offset_minutes(minutes);
        Ok(())
    }

    /// Accepts codes while no revocation list is held. By default every code is then
    /// refused (`no_revocation_list`); accepted decisions of a verifier running without
    /// a list carry `revocation_checked = false`.
    pub fn allow_missing_revocation_list(&self) -> Result<()> {
        self.write()?.set_revocation_required(false);
        Ok(())
    }

    /// Accepts only the national algorithms: the root (which must be SM2), every issuer
    /// key and every device key SM2, every digest SM3 (SPEC.md §4.6). A trust list or
    /// code with another algorithm is then refused (`unsupported_algorithm`).
    pub fn require_gm_only(&self) -> Result<()> {
        Ok(self.write()?.set_gm_only()?)
    }
}

impl Verifier {
    fn verdict(&self, text: &str, now_unix: Option<u64>) -> citycode::Verdict {
        citycode::Verdict::from(self.read().verify_at(text, now_unix.unwrap_or_else(now)))
    }

    /// The verifier to read: verifying and reading its state go on after a panic
    /// elsewhere poisoned the lock (see [`unpoisoned`]), as in the server.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, citycode::Verifier> {
        unpoisoned(self.inner.read())
    }

    /// The verifier to change. A change waits for no panic's aftermath: it fails
    /// (`invalid_argument`) once a panic poisoned the lock, and the lists held stay.
    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, citycode::Verifier>> {
        self.inner.write().map_err(|_| CitycodeError::invalid("verifier lock poisoned"))
    }
}
