//! One verifier configuration that every adapter builds from: the CLI, the
//! verify-server, the test-vector generator and runner.

use serde::{Deserialize, Serialize};

use crate::error::{Reason, Rejection};
use crate::keys::{Algorithm, PublicKey};
use crate::policy::{DEFAULT_UTC_OFFSET_MINUTES, Scene};
use crate::text::{hex, unhex};
use crate::verify::{DEFAULT_MAX_CODE_VALIDITY_SECS, DEFAULT_SKEW_SECS, Verifier};

/// Everything a verifier is configured with apart from its lists, clock and replay
/// store, in the form operators write (TOML, JSON) and the test vectors carry
/// (`verifier` of every case, SPEC.md §14).
///
/// Unknown fields are ignored so that the struct can be embedded (`#[serde(flatten)]`)
/// in an adapter's own configuration; adapters that read a whole file deny unknown
/// fields themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierConfig {
    /// The root key's algorithm.
    pub root_alg: Algorithm,
    /// The root public key, hex, in its wire form (SPEC.md §4.1).
    pub root_key: String,
    /// Allowed clock skew, seconds (SPEC.md §9).
    #[serde(default = "default_skew")]
    pub skew_secs: u32,
    /// Longest code validity accepted, seconds.
    #[serde(default = "default_max_validity")]
    pub max_code_validity_secs: u8,
    /// The verifier's local offset from UTC, minutes (SPEC.md §11).
    #[serde(default = "default_utc_offset")]
    pub utc_offset_minutes: i32,
    /// The scene policy.
    pub scene: Scene,
    /// Accept codes while no revocation list is held (verdicts then say revocation was
    /// not checked). Off unless an operator turns it on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_missing_revocation_list: bool,
    /// Accept only the national algorithms (SPEC.md §4.6): the root, every issuer key
    /// and every device key SM2, every digest SM3. The root must be SM2.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gm_only: bool,
}

fn default_skew() -> u32 {
    DEFAULT_SKEW_SECS
}

fn default_max_validity() -> u8 {
    DEFAULT_MAX_CODE_VALIDITY_SECS
}

fn default_utc_offset() -> i32 {
    DEFAULT_UTC_OFFSET_MINUTES
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl VerifierConfig {
    /// A configuration with every default: skew, validity limit, UTC+8, revocation
    /// list required.
    pub fn new(root: &PublicKey, scene: Scene) -> Self {
        VerifierConfig {
            root_alg: root.algorithm(),
            root_key: hex(&root.to_bytes()),
            skew_secs: DEFAULT_SKEW_SECS,
            max_code_validity_secs: DEFAULT_MAX_CODE_VALIDITY_SECS,
            utc_offset_minutes: DEFAULT_UTC_OFFSET_MINUTES,
            scene,
            allow_missing_revocation_list: false,
            gm_only: false,
        }
    }

    /// The root key. A key that is not hex is `text_encoding`; one of the wrong length
    /// `malformed`; one that fails the checks of SPEC.md §4.2 `invalid_issuer_key` (a
    /// verifier refuses to be configured with it).
    pub fn root(&self) -> Result<PublicKey, Rejection> {
        let bytes = unhex(&self.root_key).map_err(|r| Rejection::new(r, "root key is not hex"))?;
        PublicKey::from_bytes(self.root_alg, &bytes).map_err(|r| match r {
            Reason::InvalidDeviceKey => Rejection::new(Reason::InvalidIssuerKey, "root key is not a valid key"),
            other => Rejection::new(other, "root key"),
        })
    }

    /// A verifier with this configuration, the system clock and an in-memory replay
    /// guard ([`Verifier::with_clock`], [`Verifier::with_replay_store`] change them).
    /// It holds no lists yet.
    pub fn build(&self) -> Result<Verifier, Rejection> {
        let mut v = Verifier::new(self.root()?, self.scene.clone())
            .with_skew(self.skew_secs)
            .with_max_code_validity(self.max_code_validity_secs)
            .with_utc_offset_minutes(self.utc_offset_minutes);
        v.set_revocation_required(!self.allow_missing_revocation_list);
        if self.gm_only {
            #[cfg(feature = "sm2")]
            {
                v = v.gm_only()?;
            }
            #[cfg(not(feature = "sm2"))]
            return Err(Rejection::new(Reason::UnsupportedAlgorithm, "GM-only, in a build without SM2"));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    #[test]
    fn a_config_round_trips_through_json_and_builds_what_it_says() {
        let root = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap().public_key();
        let mut c = VerifierConfig::new(&root, Scene::Hospital);
        c.skew_secs = 5;
        c.utc_offset_minutes = -300;
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("allow_missing"), "{json}");
        assert_eq!(serde_json::from_str::<VerifierConfig>(&json).unwrap(), c);
        let v = c.build().unwrap();
        assert!(v.revocation_required());
        assert_eq!(v.replay_window_secs(), u64::from(DEFAULT_MAX_CODE_VALIDITY_SECS) + 2 * 5);
        let minimal =
            format!(r#"{{"root_alg":"ecdsa_p256_sha256","root_key":"{}","scene":{{"kind":"parking"}}}}"#, c.root_key);
        let d: VerifierConfig = serde_json::from_str(&minimal).unwrap();
        assert_eq!((d.skew_secs, d.utc_offset_minutes), (DEFAULT_SKEW_SECS, DEFAULT_UTC_OFFSET_MINUTES));
        let open = VerifierConfig { allow_missing_revocation_list: true, ..d };
        assert!(!open.build().unwrap().revocation_required());
    }

    #[test]
    fn a_bad_root_key_is_refused_with_its_reason() {
        let root = KeyPair::generate(Algorithm::Ed25519).unwrap().public_key();
        let good = VerifierConfig::new(&root, Scene::Parking);
        let with = |key: &str| VerifierConfig { root_key: key.into(), ..good.clone() }.build().unwrap_err().reason;
        assert_eq!(with("zz"), Reason::TextEncoding);
        assert_eq!(with("00"), Reason::Malformed);
        // The identity point (y = 1) is of small order.
        assert_eq!(with(&format!("01{}", "00".repeat(31))), Reason::InvalidIssuerKey);
    }
}
