//! Device key attestation for citycode issuers (SPEC.md §4.10).
//!
//! A key request (SPEC.md §4.7) proves that the holder can sign with a device key; an
//! attestation beside it proves where the key lives: Android key attestation (a
//! certificate chain from the key up to Google's or a vendor's root, with the issuer's
//! challenge and the key's security level inside) or Apple App Attest. This crate owns
//! those rules so that core and the WASM packages carry no X.509 code.
//!
//! Parse, then verify: [`KeyAttestation::from_value`] reads an entry of the request's
//! `key_attestations` (untrusted); [`KeyAttestation::verify`] or, for an issuer,
//! [`AttestationPolicy::decide`] / [`AttestationPolicy::decide_batch`] alone make an
//! [`AttestationVerdict`], which the issuer records with the instance
//! ([`AttestationRecord`]).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let request_json = serde_json::json!({});
//! # let proven_keys: Vec<citycode::ProvenKey> = vec![];
//! # let challenge = [0u8; 32];
//! # let now = 0;
//! use citycode_attest::{AttestationContext, AttestationMode, AttestationPolicy, Roots, StatusList};
//!
//! let policy = AttestationPolicy::new(AttestationMode::Require);
//! let roots = Roots::builtin()?; // Google's and Apple's roots; add vendor roots as needed
//! let revocations = StatusList::from_json(&std::fs::read_to_string("status.json")?)?;
//! let ctx = AttestationContext { challenge: &challenge, roots: &roots, revocations: &revocations, now };
//! // After every key request of the batch verified over `challenge` (SPEC.md §4.7):
//! let records = policy.decide_batch(&request_json, &proven_keys, &ctx)?; // Err: refuse, with e.code()
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod android;
pub mod apple;
pub mod binding;
pub mod error;
pub mod message;
pub mod policy;
pub mod revocation;
pub mod roots;
pub mod x509;

pub use android::{AndroidAttestation, AndroidFacts, KeyDescription, SecurityLevel, VerifiedBootState};
pub use apple::{AppleAttestation, AppleFacts, Environment};
pub use error::AttestationError;
pub use message::{Format, KeyAttestation};
pub use policy::{
    AndroidApp, AttestationContext, AttestationMode, AttestationPolicy, AttestationRecord, AttestationVerdict,
    KeyProtection,
};
pub use revocation::StatusList;
pub use roots::{Root, Roots};
