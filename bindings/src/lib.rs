//! UniFFI bindings of citycode for Kotlin, Swift and Python.
//!
//! This crate only converts types and errors; every rule lives in the `citycode` crate.
//! Holder apps use [`SigningKey`] or their own [`DeviceSigner`] (Android Keystore,
//! Secure Enclave) with a [`Holder`]; terminals and backends use a [`Verifier`];
//! issuing backends use an [`Issuer`] and the list-signing functions.
//!
//! One module per area: [`errors`], [`keys`], [`claims`], [`scene`], [`holder`],
//! [`verifier`], [`lists`] (updating a verifier's lists, signing and publishing them),
//! [`issuer`] and [`card`] (printed cards). Every exported item is re-exported here, so
//! the foreign interface is one namespace.

#![forbid(unsafe_code)]

use crate::errors::Result;

pub mod card;
pub mod claims;
pub mod errors;
pub mod holder;
pub mod issuer;
pub mod keys;
pub mod lists;
pub mod scene;
pub mod verifier;

pub use card::*;
pub use claims::*;
pub use errors::*;
pub use holder::*;
pub use issuer::*;
pub use keys::*;
pub use lists::*;
pub use scene::*;
pub use verifier::*;

uniffi::setup_scaffolding!();

/// The clock every "now" default reads: core's.
fn now() -> u64 {
    use citycode::Clock as _;
    citycode::SystemClock.now()
}

/// A guard whatever a panic elsewhere left behind: core changes a value only once an
/// operation has passed every check (a verifier's load, a batch's or wallet's move of a
/// whole instance), so a lock poisoned by a panic still guards a whole value.
fn unpoisoned<G>(result: std::sync::LockResult<G>) -> G {
    result.unwrap_or_else(std::sync::PoisonError::into_inner)
}

// UniFFI takes an argument's default as a literal; each below is core's default, and
// the build fails if core's changes without the attribute.
const _: () = {
    // `Verifier::new(skew_secs = 30, max_code_validity_secs = 120)`.
    assert!(citycode::verify::DEFAULT_SKEW_SECS == 30);
    assert!(citycode::verify::DEFAULT_MAX_CODE_VALIDITY_SECS == 120);
    // `validity_secs = 60` of every `present` and `present_for_scene`.
    assert!(citycode::presentation::DEFAULT_VALIDITY_SECS == 60);
    // `GuardianWallet::new(max_dependants = 5)` and `with_key`.
    assert!(citycode::MAX_DEPENDANTS == 5);
};

/// Decodes base64url (lists and credentials travel in JSON this way).
#[uniffi::export]
pub fn base64url_decode(text: String) -> Result<Vec<u8>> {
    Ok(citycode::text::decode_base64url(&text)?)
}

/// The library version.
#[uniffi::export]
pub fn citycode_version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
