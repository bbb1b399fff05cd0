//! citycode: one short-lived, signed, device-bound QR code that merges a resident's
//! health, medical insurance, social security, transit and tourism credentials, and
//! that terminals verify offline in milliseconds.
//!
//! - An [`Issuer`] signs a [`Credential`] of cards bound to the holder's device key.
//! - The holder's app calls [`present`] every few tens of seconds to build a [`Code`]
//!   (the QR text) that discloses only what the scene needs.
//! - A [`Verifier`] with a trust list, revocation lists, a scene [`Policy`], a clock
//!   and a replay guard turns scanned text into [`Accepted`] claims or a [`Rejection`]
//!   with a stable [`Reason`].
//!
//! SPEC.md in the repository is the normative byte-level description.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

mod alg;
pub mod batch;
pub mod claims;
pub mod config;
pub mod credential;
#[cfg(feature = "demo")]
pub mod demo;
pub mod digest;
pub mod distribution;
pub mod error;
pub mod guardian;
pub mod held;
pub mod keys;
pub mod list_state;
pub mod policy;
pub mod presentation;
#[cfg(feature = "qr")]
pub mod print_card;
pub mod printed;
#[cfg(feature = "qr")]
pub mod qr;
pub mod replay;
pub mod replay_file;
pub mod request;
mod signed_list;
pub mod text;
pub mod trust;
mod update;
pub mod verdict;
pub mod verify;
mod wire;

pub use batch::{CredentialBatch, MAX_BATCH, Reuse};
pub use claims::{Claims, Domain, IdentityDocument};
pub use config::VerifierConfig;
pub use credential::{CardLayout, Credential, CredentialRequest, Disclosure, Issuer, Subject};
pub use error::{Error, Reason, Rejection};
pub use guardian::{MAX_DEPENDANTS, Wallet};
pub use held::HeldList;
pub use keys::{Algorithm, DeviceSigner, KeyPair, P256Check, PublicKey};
pub use list_state::{FileListStateStore, ListState, ListStateStore};
pub use policy::{Policy, PolicyContext, PolicyRefusal, PolicyView, Scene};
pub use presentation::{Code, PresentOptions, UnsignedCode, UnverifiedCode, prepare, present};
pub use printed::{PRINTED_MAX_DAYS, PrintedCode};
#[cfg(feature = "qr")]
pub use qr::Qr;
pub use replay::{LossCause, ReplayError, ReplayGuard, ReplayStore};
#[cfg(feature = "redis")]
pub use replay::{RedisReplayStore, RedisStoreStats};
pub use replay_file::{FileReplayStore, NoReplayCheck};
pub use request::{KeyRequest, ProvenKey};
pub use trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
pub use update::{UpdateError, update_lists};
pub use verdict::Verdict;
pub use verify::{Accepted, Clock, FixedClock, SystemClock, Verifier};
