//! The deployment policy and what an issuer records (SPEC.md §4.10.2): the one place
//! that decides whether a key request's attestation lets a credential be issued.

use citycode::{ProvenKey, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::android::{AndroidFacts, SecurityLevel};
use crate::apple::AppleFacts;
use crate::error::AttestationError;
use crate::message::{Format, KeyAttestation, entries_of_request};
use crate::revocation::StatusList;
use crate::roots::Roots;

/// What an issuer does with attestations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationMode {
    /// No attestation, no credential: every key must come with an attestation that
    /// verifies; anything else refuses the request with its reason.
    Require,
    /// Issue in any case and record with each instance what the attestation showed:
    /// attested (with its verdict), absent, or refused (with its reason). For rolling
    /// attestation out, and for phones that cannot attest.
    Record,
    /// Attestations are not read at all (a malformed one refuses nothing).
    Off,
}

fn tee() -> SecurityLevel {
    SecurityLevel::TrustedEnvironment
}

fn yes() -> bool {
    true
}

/// An issuer's attestation policy: its mode and what an attestation must show. Read
/// from the issuer's configuration (serde: TOML, JSON); `mode` has no default, every
/// other field does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationPolicy {
    /// Require, record or off.
    pub mode: AttestationMode,
    /// Android: the lowest security level accepted for both the attestation and the key
    /// (`trusted_environment`, the default, or `strong_box`). Software is never
    /// accepted, whatever this says.
    #[serde(default = "tee")]
    pub min_security_level: SecurityLevel,
    /// Android: refuse a phone whose bootloader is unlocked (default true).
    #[serde(default = "yes")]
    pub require_locked_bootloader: bool,
    /// Android: refuse a phone that did not boot the manufacturer's verified OS
    /// (default true).
    #[serde(default = "yes")]
    pub require_verified_boot: bool,
    /// Android: the apps whose keys are accepted, each a package name and the SHA-256 of
    /// its signing certificate, matched against the attestation's
    /// `attestationApplicationId` (`attestation_app_id` if none matches). Empty (the
    /// default) accepts a key of any app on the phone; a city names its own app, so that
    /// a repackaged copy of it cannot enrol (SPEC.md §4.10.4 step 15).
    #[serde(default)]
    pub android_apps: Vec<AndroidApp>,
    /// Apple: the app ids (`TEAMID.bundle.id`) whose attestations are accepted. Empty
    /// (the default) refuses every App Attest attestation (`attestation_app_id`).
    #[serde(default)]
    pub apple_app_ids: Vec<String>,
    /// Apple: accept development-environment attestations (default false).
    #[serde(default)]
    pub allow_apple_development: bool,
}

impl AttestationPolicy {
    /// A policy of `mode` with every other field at its default.
    pub fn new(mode: AttestationMode) -> AttestationPolicy {
        AttestationPolicy {
            mode,
            min_security_level: tee(),
            require_locked_bootloader: true,
            require_verified_boot: true,
            android_apps: Vec::new(),
            apple_app_ids: Vec::new(),
            allow_apple_development: false,
        }
    }

    /// The decision for one key: `attestation` is the key's entry of `key_attestations`
    /// (SPEC.md §4.10.1) or `None`; `key` the device key its verified key request proved.
    /// `Err` means: refuse the request with this reason. `Ok` is what to store with the
    /// instance.
    pub fn decide(
        &self,
        attestation: Option<&Value>,
        ctx: &AttestationContext<'_>,
        key: &ProvenKey,
    ) -> Result<AttestationRecord, AttestationError> {
        self.decide_key(attestation, ctx, key.public_key())
    }

    /// [`AttestationPolicy::decide`] for a device key whose possession the caller proved
    /// some other way (and for test vectors, which carry public keys only).
    pub fn decide_key(
        &self,
        attestation: Option<&Value>,
        ctx: &AttestationContext<'_>,
        key: &PublicKey,
    ) -> Result<AttestationRecord, AttestationError> {
        let outcome = match (self.mode, attestation) {
            (AttestationMode::Off, _) => return Ok(AttestationRecord::Off),
            (AttestationMode::Require, None) => return Err(AttestationError::Required),
            (AttestationMode::Record, None) => return Ok(AttestationRecord::Absent),
            (_, Some(entry)) => KeyAttestation::from_value(entry).and_then(|a| a.verify_key(ctx, key, self)),
        };
        match (self.mode, outcome) {
            (_, Ok(verdict)) => Ok(AttestationRecord::Attested(verdict)),
            (AttestationMode::Record, Err(e)) => Ok(AttestationRecord::Refused { code: e.code().to_string() }),
            (_, Err(e)) => Err(e),
        }
    }

    /// The decisions for a batch (SPEC.md §4.8), all or nothing like the batch: `keys`
    /// are the proven keys of `request["key_requests"]`, in order. Under `require`, the
    /// first key whose attestation fails refuses the batch with its reason; under
    /// `record`, a malformed `key_attestations` field is recorded as refused for every key.
    pub fn decide_batch(
        &self,
        request: &Value,
        keys: &[ProvenKey],
        ctx: &AttestationContext<'_>,
    ) -> Result<Vec<AttestationRecord>, AttestationError> {
        if self.mode == AttestationMode::Off {
            return Ok(vec![AttestationRecord::Off; keys.len()]);
        }
        let entries = match entries_of_request(request, keys.len()) {
            Ok(entries) => entries,
            Err(e) if self.mode == AttestationMode::Record => {
                return Ok(vec![AttestationRecord::Refused { code: e.code().to_string() }; keys.len()]);
            }
            Err(e) => return Err(e),
        };
        keys.iter().zip(entries).map(|(key, entry)| self.decide(entry, ctx, key)).collect()
    }
}

/// An Android app an issuer accepts keys of: its package name and the SHA-256 digest of
/// its signing certificate (as `apksigner verify --print-certs` prints it), as the
/// attestation's `attestationApplicationId` lists them. In configuration:
/// `{"package": "city.citycode.app", "signing_certificate_sha256": "<64 hex digits>"}`
/// (colons between bytes and either case accepted; anything else refused at load).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAndroidApp", into = "RawAndroidApp")]
pub struct AndroidApp {
    /// The package name (`applicationId`), e.g. `city.citycode.app`.
    pub package: String,
    /// SHA-256 of the signing certificate.
    pub signing_certificate_sha256: [u8; 32],
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAndroidApp {
    package: String,
    signing_certificate_sha256: String,
}

impl TryFrom<RawAndroidApp> for AndroidApp {
    type Error = String;

    fn try_from(raw: RawAndroidApp) -> Result<Self, String> {
        let hex: String = raw.signing_certificate_sha256.chars().filter(|c| *c != ':').collect();
        let digest = citycode::text::unhex(&hex.to_ascii_lowercase())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| "signing_certificate_sha256 is not 32 bytes of hex".to_string())?;
        if raw.package.is_empty() {
            return Err("an Android app needs its package name".to_string());
        }
        Ok(AndroidApp { package: raw.package, signing_certificate_sha256: digest })
    }
}

impl From<AndroidApp> for RawAndroidApp {
    fn from(app: AndroidApp) -> Self {
        RawAndroidApp {
            package: app.package,
            signing_certificate_sha256: app.signing_certificate_sha256.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// What verifying an attestation needs besides the policy: the issuer's challenge for
/// this request, the roots, the revocation status list and the issuer's clock.
#[derive(Clone, Copy, Debug)]
pub struct AttestationContext<'a> {
    /// The challenge this issuer gave for this request (the key requests' challenge).
    pub challenge: &'a [u8],
    /// The trusted roots.
    pub roots: &'a Roots,
    /// Google's revocation status list, as last loaded.
    pub revocations: &'a StatusList,
    /// The issuer's own time, Unix seconds.
    pub now: u64,
}

/// Where a verified attestation says the device key lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyProtection {
    /// Android: the key and the attestation in a TEE (the two levels are equal).
    TrustedEnvironment,
    /// Android: the key and the attestation in StrongBox.
    StrongBox,
    /// Apple: a genuine instance of the city's app on a genuine device vouches for the
    /// key (App Attest attests the app; the app keeps the key in the Secure Enclave).
    SecureEnclaveApp,
}

/// What a verified attestation proves: what an issuer records with the instance. Made
/// only by verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationVerdict {
    /// The attestation's format.
    pub format: Format,
    /// Where the key lives.
    pub protection: KeyProtection,
    /// The configured root the chain leads to.
    pub root: String,
    /// When it was checked (issuer's clock, Unix seconds).
    pub checked_at: u64,
    /// Android facts (levels, boot state, patch levels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidFacts>,
    /// Apple facts (app, environment, key id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleFacts>,
}

/// What an issuer stores with an instance about its key's attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AttestationRecord {
    /// The policy is off: nothing was read.
    Off,
    /// The key request came without an attestation (record mode).
    Absent,
    /// An attestation came and verified.
    Attested(AttestationVerdict),
    /// An attestation came and was refused with this reason code (record mode).
    Refused {
        /// The reason code (SPEC.md §4.10.6).
        code: String,
    },
}

impl AttestationRecord {
    /// The verdict, if the key was attested.
    pub fn verdict(&self) -> Option<&AttestationVerdict> {
        match self {
            AttestationRecord::Attested(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_its_defaults_and_refuses_unknown_fields() {
        let p: AttestationPolicy = serde_json::from_str(r#"{"mode": "require"}"#).unwrap();
        assert_eq!(p, AttestationPolicy::new(AttestationMode::Require));
        assert!(p.require_locked_bootloader && p.require_verified_boot && p.apple_app_ids.is_empty());
        let p: AttestationPolicy = serde_json::from_str(
            r#"{"mode": "record", "min_security_level": "strong_box", "require_verified_boot": false,
                "apple_app_ids": ["ABCDE12345.city.code"], "allow_apple_development": true}"#,
        )
        .unwrap();
        assert_eq!(p.mode, AttestationMode::Record);
        assert_eq!(p.min_security_level, SecurityLevel::StrongBox);
        assert!(!p.require_verified_boot && p.require_locked_bootloader && p.allow_apple_development);
        for bad in [r#"{}"#, r#"{"mode": "maybe"}"#, r#"{"mode": "off", "typo": 1}"#] {
            assert!(serde_json::from_str::<AttestationPolicy>(bad).is_err(), "{bad}");
        }
        // Android apps: a digest with colons, in upper case, is read; a short one, a
        // non-hex one, an empty package or an unknown field refuse the configuration.
        let digest = "AB:".repeat(31) + "CD";
        let p: AttestationPolicy = serde_json::from_value(serde_json::json!({"mode": "require",
            "android_apps": [{"package": "city.citycode.app", "signing_certificate_sha256": digest}]}))
        .unwrap();
        let mut expected = [0xab; 32];
        expected[31] = 0xcd;
        assert_eq!(p.android_apps[0].signing_certificate_sha256, expected);
        assert_eq!(
            serde_json::to_value(&p.android_apps[0]).unwrap()["signing_certificate_sha256"],
            "ab".repeat(31) + "cd"
        );
        for app in [
            serde_json::json!({"package": "a", "signing_certificate_sha256": "ab".repeat(31)}),
            serde_json::json!({"package": "a", "signing_certificate_sha256": "zz".repeat(32)}),
            serde_json::json!({"package": "", "signing_certificate_sha256": "ab".repeat(32)}),
            serde_json::json!({"package": "a", "signing_certificate_sha256": "ab".repeat(32), "version": 1}),
        ] {
            let policy = serde_json::json!({"mode": "require", "android_apps": [app]});
            assert!(serde_json::from_value::<AttestationPolicy>(policy).is_err(), "{app}");
        }
    }

    #[test]
    fn records_serialise_with_their_status() {
        let refused = AttestationRecord::Refused { code: "attestation_revoked".into() };
        assert_eq!(
            serde_json::to_value(&refused).unwrap(),
            serde_json::json!({"status": "refused", "code": "attestation_revoked"})
        );
        assert_eq!(serde_json::to_value(AttestationRecord::Absent).unwrap(), serde_json::json!({"status": "absent"}));
        let back: AttestationRecord = serde_json::from_value(serde_json::to_value(&refused).unwrap()).unwrap();
        assert_eq!(back, refused);
    }
}
