//! Device key attestation at the batch endpoint (SPEC.md §4.10, §15). The service holds
//! what checking needs — the policy, the trusted roots, Google's revocation status list
//! (reloaded when its file changes) — and asks `citycode-attest` for the decision: one
//! call, [`citycode_attest::AttestationPolicy::decide_batch`], over the same challenge the
//! key requests were verified against and the batch consumes. No rule lives here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use citycode::ProvenKey;
use citycode_attest::{
    AttestationContext, AttestationError, AttestationMode, AttestationPolicy, AttestationRecord, Roots, StatusList,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

fn yes() -> bool {
    true
}

/// `[attestation_trust]`: what attestations are checked against.
///
/// ```toml
/// [attestation_trust]
/// status_list = "/var/lib/citycode/attestation-status.json"   # Google's list, refreshed by a timer
/// android_roots = ["/etc/citycode/vendor-attestation-root.pem"] # phones sold without Google services
/// # builtin_roots = true                                       # Google's two roots and Apple's
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttestationTrustConfig {
    /// Trust Google's two hardware attestation roots and Apple's App Attest root (default
    /// true; `citycode-attest`'s `attest/roots/`).
    #[serde(default = "yes")]
    pub builtin_roots: bool,
    /// PEM files of more Android attestation roots (vendors' own).
    #[serde(default)]
    pub android_roots: Vec<PathBuf>,
    /// Google's attestation revocation status list (its JSON), a file the operator
    /// refreshes; re-read when it changes. Required under `require`; without it under
    /// `record`, revoked attestation keys are recorded as attested (a warning says so).
    #[serde(default)]
    pub status_list: Option<PathBuf>,
}

impl Default for AttestationTrustConfig {
    fn default() -> Self {
        AttestationTrustConfig { builtin_roots: true, android_roots: Vec::new(), status_list: None }
    }
}

impl AttestationTrustConfig {
    /// What `policy` needs of it: under `require`, a status list (an attestation key
    /// Google revoked must not enrol a phone) and at least one root.
    pub fn check(&self, policy: &AttestationPolicy) -> Result<(), Error> {
        if policy.mode != AttestationMode::Require {
            return Ok(());
        }
        if self.status_list.is_none() {
            return Err(Error::Config(
                "attestation.mode = \"require\" needs attestation_trust.status_list: Google's revocation status list \
                 (its JSON, refreshed into that file on a schedule)"
                    .into(),
            ));
        }
        if !self.builtin_roots && self.android_roots.is_empty() {
            return Err(Error::Config(
                "attestation.mode = \"require\" with no root: builtin_roots = false and no android_roots".into(),
            ));
        }
        Ok(())
    }
}

/// The status list as last loaded, and the modification time of the file it came from.
struct Loaded {
    list: Arc<StatusList>,
    modified: Option<SystemTime>,
}

/// What the service checks attestations with.
pub struct Attestation {
    policy: AttestationPolicy,
    roots: Roots,
    status_file: Option<PathBuf>,
    status: RwLock<Loaded>,
}

impl core::fmt::Debug for Attestation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Attestation")
            .field("mode", &self.policy.mode)
            .field("android_roots", &self.roots.android.len())
            .field("apple_roots", &self.roots.apple.len())
            .field("status_file", &self.status_file)
            .finish_non_exhaustive()
    }
}

fn read_status(path: &Path) -> Result<Loaded, Error> {
    let err = |m: String| Error::Config(format!("attestation_trust.status_list {}: {m}", path.display()));
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).map_err(|e| err(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let list = StatusList::from_json(&text).map_err(|e| err(e.to_string()))?;
    Ok(Loaded { list: Arc::new(list), modified: Some(modified) })
}

impl Attestation {
    /// Checking under `policy` against `roots`, with the status list in `status_file`
    /// (read now: a missing or malformed file is a configuration error; none at all is an
    /// empty list).
    pub fn new(policy: AttestationPolicy, roots: Roots, status_file: Option<PathBuf>) -> Result<Attestation, Error> {
        let loaded = match &status_file {
            Some(path) => read_status(path)?,
            None => Loaded { list: Arc::new(StatusList::empty()), modified: None },
        };
        Ok(Attestation { policy, roots, status_file, status: RwLock::new(loaded) })
    }

    /// From the configuration: the roots it names (their PEM files read and checked
    /// now), the status list.
    pub fn from_config(policy: &AttestationPolicy, trust: &AttestationTrustConfig) -> Result<Attestation, Error> {
        trust.check(policy)?;
        let mut roots = if trust.builtin_roots {
            Roots::builtin().map_err(|e| Error::Config(format!("attestation: the built-in roots: {e}")))?
        } else {
            Roots::default()
        };
        for path in &trust.android_roots {
            let err = |m: String| Error::Config(format!("attestation_trust.android_roots {}: {m}", path.display()));
            let pem = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
            let name = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into());
            roots.add_android_pem(&name, &pem).map_err(|e| err(e.to_string()))?;
        }
        Attestation::new(policy.clone(), roots, trust.status_list.clone())
    }

    /// The policy.
    pub fn policy(&self) -> &AttestationPolicy {
        &self.policy
    }

    /// The roots.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    fn loaded(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.status.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The decision for a batch (SPEC.md §4.10.2): `request` is the credential request's
    /// JSON (its `key_attestations`, positional with the key requests), `keys` the keys
    /// its key requests proved over `challenge`, `now` the service's time. `Ok`: one
    /// record per key, to store with its instance. `Err`: refuse the batch with that
    /// reason.
    pub fn decide(
        &self,
        request: &Value,
        keys: &[ProvenKey],
        challenge: &[u8],
        now: u64,
    ) -> Result<Vec<AttestationRecord>, AttestationError> {
        let revocations = self.loaded().list.clone();
        let ctx = AttestationContext { challenge, roots: &self.roots, revocations: &revocations, now };
        self.policy.decide_batch(request, keys, &ctx)
    }

    /// Re-reads the status list if its file changed since it was read. A file that no
    /// longer reads or parses leaves the last good list in force (a damaged download
    /// must not un-revoke anything) and is an error to log. `Ok(true)`: reloaded.
    pub fn refresh(&self) -> Result<bool, Error> {
        let Some(path) = &self.status_file else { return Ok(false) };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified.is_some() && modified == self.loaded().modified {
            return Ok(false);
        }
        let fresh = read_status(path)?;
        *self.status.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(true)
    }

    /// Serials on the status list in force.
    pub fn status_list_len(&self) -> usize {
        self.loaded().list.len()
    }

    /// When the status list in force was written (its file's modification time), if it
    /// came from a file: an operator alerts when it grows old.
    pub fn status_list_written(&self) -> Option<SystemTime> {
        self.loaded().modified
    }

    /// Whether a status list file is configured.
    pub fn has_status_list(&self) -> bool {
        self.status_file.is_some()
    }
}

impl Default for Attestation {
    /// `record` with the built-in roots and no status list, as a configuration without
    /// `[attestation]` gets.
    fn default() -> Self {
        Attestation {
            policy: AttestationPolicy::new(AttestationMode::Record),
            // The built-in roots are compiled in and checked by their crate's tests; if
            // they ever failed to load, no attestation would verify (fail closed).
            roots: Roots::builtin().unwrap_or_default(),
            status_file: None,
            status: RwLock::new(Loaded { list: Arc::new(StatusList::empty()), modified: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("citycode-issuer-attestation-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn require_needs_a_status_list_and_a_root() {
        let require = AttestationPolicy::new(AttestationMode::Require);
        let record = AttestationPolicy::new(AttestationMode::Record);
        let none = AttestationTrustConfig::default();
        assert!(none.check(&record).is_ok());
        let e = none.check(&require).unwrap_err().to_string();
        assert!(e.contains("status_list"), "{e}");
        let no_roots =
            AttestationTrustConfig { builtin_roots: false, android_roots: vec![], status_list: Some("s.json".into()) };
        assert!(no_roots.check(&require).unwrap_err().to_string().contains("no root"));
        assert!(no_roots.check(&record).is_ok());
        assert!(Attestation::from_config(&require, &none).is_err());
    }

    #[test]
    fn the_status_list_is_reloaded_when_its_file_changes_and_kept_when_it_breaks() {
        let dir = temp("status");
        let path = dir.join("status.json");
        std::fs::write(&path, r#"{"entries": {"0a": {"status": "REVOKED"}}}"#).unwrap();
        let trust = AttestationTrustConfig { status_list: Some(path.clone()), ..AttestationTrustConfig::default() };
        let a = Attestation::from_config(&AttestationPolicy::new(AttestationMode::Require), &trust).unwrap();
        assert_eq!(a.status_list_len(), 1);
        assert!(a.status_list_written().is_some());
        assert!(!a.refresh().unwrap(), "unchanged");
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::write(&path, r#"{"entries": {"0a": {"status": "REVOKED"}, "0b": {"status": "SUSPENDED"}}}"#).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(a.refresh().unwrap());
        assert_eq!(a.status_list_len(), 2);
        // A damaged download: an error, and the last good list stays.
        std::fs::write(&path, "{\"entries\": ").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + std::time::Duration::from_secs(5))
            .unwrap();
        assert!(matches!(a.refresh(), Err(Error::Config(_))));
        assert_eq!(a.status_list_len(), 2);
        // At start, the same file is a configuration error.
        let e = Attestation::from_config(&AttestationPolicy::new(AttestationMode::Record), &trust).unwrap_err();
        assert!(e.to_string().contains("status_list"), "{e}");
        // A root file that is no PEM certificate: refused at start.
        std::fs::write(dir.join("vendor.pem"), "not a certificate").unwrap();
        let trust =
            AttestationTrustConfig { android_roots: vec![dir.join("vendor.pem")], ..AttestationTrustConfig::default() };
        let e = Attestation::from_config(&AttestationPolicy::new(AttestationMode::Record), &trust).unwrap_err();
        assert!(e.to_string().contains("android_roots"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
