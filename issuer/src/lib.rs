//! `citycode-issuer`: the city's issuing service, the half of citycode that creates
//! trust, run as a service a city operates behind its app.
//!
//! - **Challenges** (SPEC.md §4.7): random, stored with a short expiry, bound to the
//!   resident who asked, consumed atomically by the batch that uses them.
//! - **Batches** (§4.8): 1 to 64 key requests become instances, each with a fresh
//!   subject and a fresh identity commitment; at most 64 outstanding per holder; a
//!   retried request gets the same instances back.
//! - **Guardianships** (§4.9) with recorded consent, at most 5 per guardian, revocable by
//!   either side; **printed codes** (§5.1) for staff, reissued only by revoking the last;
//!   **revocation** of residents, devices, guardianships and instances, entries leaving
//!   the list once what they revoke has expired; **publication** of the distribution
//!   directory (§8.4) on a schedule and on demand, sequences persisted and only rising.
//! - Shapes from OpenID for Verifiable Credential Issuance 1.0 (nonce endpoint,
//!   credential endpoint with a batch of proofs over one nonce, its error responses);
//!   SPEC.md §15 says where and why citycode differs.
//! - Signing keys in a file or a PKCS#11 token ([`keys`]); readiness proves they sign.
//! - Device key attestation at the batch endpoint ([`attestation`]): `citycode-attest`'s
//!   policy decides, each instance records the verdict.
//! - Callers authenticate with the city's identity provider (JWT access tokens checked
//!   against its JWKS); staff and admin roles come from a claim.
//! - Records in SQLite (embedded default) or PostgreSQL, one schema, the rules written
//!   once ([`store::records`]); an append-only audit log without claim values.
//! - Operations as the verify server: `/livez`, `/readyz`, `/metrics`, JSON logs,
//!   deadlines, body caps, graceful shutdown, `openapi.json` checked against the
//!   running service.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod attestation;
pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod import;
pub mod issuing;
pub mod keys;
pub mod metrics;
pub mod store;

use std::sync::Arc;

pub use error::Error;
pub use issuing::{Issuing, LogSink, Settings, unix_now};

/// The service a configuration describes: store opened and migrated, keys loaded, the
/// identity provider's keys fetched (a failure is logged; readiness stays false until a
/// refresh succeeds).
pub fn build(config: &config::Config, clock: Arc<dyn citycode::Clock>, log: LogSink) -> Result<Issuing, Error> {
    let store = config.store()?;
    let issuer_key = config.issuer.key.signer("issuer.key")?;
    let root = config.publication.as_ref().map(|p| p.root_key.signer("publication.root_key")).transpose()?;
    let seal = keys::NumberSeal::from_file(&config.id_number_key_file)?;
    let attestation = attestation::Attestation::from_config(&config.attestation, &config.attestation_trust)?;
    let auth = auth::Authenticator::new(config.auth.clone());
    let service = Issuing::new(
        store,
        config.issuer.kid,
        config.issuer.scope.clone(),
        issuer_key,
        root,
        seal,
        auth,
        clock,
        config.settings(),
        log,
    )
    .with_attestation(attestation);
    if service.attestation().policy().mode != citycode_attest::AttestationMode::Off
        && !service.attestation().has_status_list()
    {
        service.log(
            "warn",
            "no attestation revocation status list: a revoked attestation key is recorded as attested",
            serde_json::json!({"mode": service.attestation().policy().mode}),
        );
    }
    if let Err(e) = service.auth().refresh() {
        service.log(
            "warn",
            "identity provider keys unavailable",
            serde_json::json!({"reason": e.reason(), "detail": e.to_string()}),
        );
    }
    Ok(service)
}
