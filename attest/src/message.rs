//! The attestation beside a key request (SPEC.md §4.10.1): one JSON object per key,
//! in the `key_attestations` array of an issuance request, positionally matching
//! `key_requests`.
//!
//! ```json
//! {"key_requests": ["<base64url>", "<base64url>"],
//!  "key_attestations": [{"format": "android_key", "chain": ["<base64url DER>", ...]},
//!                       {"format": "apple_app_attest", "attestation": "<base64url CBOR>"}]}
//! ```

use citycode::{ProvenKey, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::android::AndroidAttestation;
use crate::apple::AppleAttestation;
use crate::error::AttestationError;
use crate::policy::{AttestationContext, AttestationPolicy, AttestationVerdict, KeyProtection};

/// The attestation formats (SPEC.md §4.10.1). A new format takes a new name; a verifier
/// refuses a name it does not know (`attestation_unsupported`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Android key attestation: a certificate chain whose leaf is the device key's.
    AndroidKey,
    /// Apple App Attest: an attestation object whose client data hash binds the device key.
    AppleAppAttest,
}

impl Format {
    /// The format's name in the message.
    pub fn name(self) -> &'static str {
        match self {
            Format::AndroidKey => "android_key",
            Format::AppleAppAttest => "apple_app_attest",
        }
    }
}

/// The most bytes one attestation entry may take in JSON (eight 16 KiB certificates in
/// base64url, with room to spare).
pub const MAX_ENTRY_JSON_LEN: usize = 192 * 1024;

/// One key's attestation as received: parsed, not verified. Only
/// [`KeyAttestation::verify`] (or [`AttestationPolicy::decide`]) says what it proves.
#[derive(Clone, Debug)]
pub enum KeyAttestation {
    /// An Android key attestation chain.
    Android(AndroidAttestation),
    /// An Apple App Attest attestation object.
    Apple(AppleAttestation),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AndroidEntry {
    #[allow(dead_code)]
    format: String,
    chain: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppleEntry {
    #[allow(dead_code)]
    format: String,
    attestation: String,
}

fn b64(text: &str) -> Result<Vec<u8>, AttestationError> {
    citycode::text::decode_base64url(text).map_err(|_| AttestationError::Malformed("not base64url"))
}

impl KeyAttestation {
    /// Parses one entry from its JSON text.
    pub fn from_json(text: &str) -> Result<KeyAttestation, AttestationError> {
        if text.len() > MAX_ENTRY_JSON_LEN {
            return Err(AttestationError::Malformed("an attestation entry is too long"));
        }
        let value: Value = serde_json::from_str(text).map_err(|_| AttestationError::Malformed("attestation JSON"))?;
        KeyAttestation::from_value(&value)
    }

    /// Parses one entry: an object whose `format` names the rest of its fields, no
    /// other field, every byte string base64url without padding.
    pub fn from_value(value: &Value) -> Result<KeyAttestation, AttestationError> {
        let format = value
            .get("format")
            .and_then(Value::as_str)
            .ok_or(AttestationError::Malformed("an attestation entry has no format"))?;
        let bad = |_| AttestationError::Malformed("an attestation entry's fields");
        match format {
            "android_key" => {
                let e: AndroidEntry = serde_json::from_value(value.clone()).map_err(bad)?;
                if e.chain.len() > crate::x509::MAX_CHAIN_LEN {
                    return Err(AttestationError::Chain("more than eight certificates"));
                }
                if e.chain.iter().any(|c| c.len() > crate::x509::MAX_CERTIFICATE_LEN / 3 * 4 + 4) {
                    return Err(AttestationError::Malformed("a certificate is longer than 16 KiB"));
                }
                let chain = e.chain.iter().map(|c| b64(c)).collect::<Result<Vec<_>, _>>()?;
                Ok(KeyAttestation::Android(AndroidAttestation::parse(&chain)?))
            }
            "apple_app_attest" => {
                let e: AppleEntry = serde_json::from_value(value.clone()).map_err(bad)?;
                if e.attestation.len() > crate::apple::MAX_OBJECT_LEN / 3 * 4 + 4 {
                    return Err(AttestationError::Malformed("an App Attest object is longer than 64 KiB"));
                }
                Ok(KeyAttestation::Apple(AppleAttestation::parse(&b64(&e.attestation)?)?))
            }
            _ => Err(AttestationError::Unsupported("an attestation format this verifier does not know")),
        }
    }

    /// The entry's format.
    pub fn format(&self) -> Format {
        match self {
            KeyAttestation::Android(_) => Format::AndroidKey,
            KeyAttestation::Apple(_) => Format::AppleAppAttest,
        }
    }

    /// Verifies that the attestation proves the device key of a verified key request
    /// (SPEC.md §4.7, over `ctx.challenge`) is in secure hardware, as `policy` requires.
    pub fn verify(
        &self,
        ctx: &AttestationContext<'_>,
        key: &ProvenKey,
        policy: &AttestationPolicy,
    ) -> Result<AttestationVerdict, AttestationError> {
        self.verify_key(ctx, key.public_key(), policy)
    }

    /// [`KeyAttestation::verify`] for a device key whose possession the caller proved
    /// some other way (and for test vectors, which carry public keys only).
    pub fn verify_key(
        &self,
        ctx: &AttestationContext<'_>,
        device_key: &PublicKey,
        policy: &AttestationPolicy,
    ) -> Result<AttestationVerdict, AttestationError> {
        match self {
            KeyAttestation::Android(a) => {
                let expected = crate::binding::android_challenge(ctx.challenge)?;
                let (facts, root) =
                    a.verify(&expected, device_key, policy, &ctx.roots.android, ctx.revocations, ctx.now)?;
                let protection = match facts.keymint_security_level {
                    crate::SecurityLevel::StrongBox => KeyProtection::StrongBox,
                    _ => KeyProtection::TrustedEnvironment,
                };
                Ok(AttestationVerdict {
                    format: Format::AndroidKey,
                    protection,
                    root,
                    checked_at: ctx.now,
                    android: Some(facts),
                    apple: None,
                })
            }
            KeyAttestation::Apple(a) => {
                let (facts, root) = a.verify(ctx.challenge, device_key, policy, &ctx.roots.apple, ctx.now)?;
                Ok(AttestationVerdict {
                    format: Format::AppleAppAttest,
                    protection: KeyProtection::SecureEnclaveApp,
                    root,
                    checked_at: ctx.now,
                    android: None,
                    apple: Some(facts),
                })
            }
        }
    }
}

/// The `key_attestations` entries of an issuance request, one per key request: all
/// `None` when the field is absent (a request from before attestation); otherwise an
/// array of exactly `n` entries, each an object or `null`.
pub fn entries_of_request(request: &Value, n: usize) -> Result<Vec<Option<&Value>>, AttestationError> {
    match request.get("key_attestations") {
        None => Ok(vec![None; n]),
        Some(Value::Array(items)) if items.len() == n => {
            Ok(items.iter().map(|v| if v.is_null() { None } else { Some(v) }).collect())
        }
        Some(Value::Array(_)) => Err(AttestationError::Malformed("key_attestations has not one entry per key request")),
        Some(_) => Err(AttestationError::Malformed("key_attestations is not an array")),
    }
}
