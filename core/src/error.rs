//! Rejection reasons: one stable, documented code per way a code or list can fail.
//!
//! The string returned by [`Reason::code`] is part of the wire contract: SPEC.md lists
//! every one, test vectors name them, and bindings expose them unchanged. A reason is
//! never renamed; new reasons may be added (the enum is `#[non_exhaustive]`).

use core::fmt;

/// Why a code, a trust list or a revocation list was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The text does not start with the `CC1:` prefix.
    TextPrefix,
    /// The text after the prefix is not a valid digit string of a valid length.
    TextEncoding,
    /// The text is longer than any QR symbol can hold; refused before decoding.
    TextTooLong,
    /// An encoding that is valid but not the one canonical form (over-long varint,
    /// out-of-range numeric chunk, unsorted or duplicate entries).
    NonCanonical,
    /// The bytes end before the structure does.
    Truncated,
    /// Bytes remain after the structure ends.
    TrailingBytes,
    /// The format version byte is not one this verifier knows.
    UnsupportedVersion,
    /// An algorithm id that this verifier does not implement.
    UnsupportedAlgorithm,
    /// A field holds a value the format forbids (zero count, unknown enum value,
    /// zero validity, a domain disclosed twice, too many entries).
    Malformed,
    /// The device public key is not a valid, canonical, non-small-order point.
    InvalidDeviceKey,
    /// An issuer key in a trust list is not a valid, canonical, non-small-order point
    /// (under the cofactored equation a small-order key would admit forgeries).
    InvalidIssuerKey,
    /// No issuer key with this key id is in the trust list.
    UnknownIssuerKey,
    /// The card's signature algorithm differs from the algorithm of its issuer key.
    AlgorithmMismatch,
    /// The issuer key is outside its validity window at verification time.
    IssuerKeyNotValid,
    /// The issuer key may not attest one of the card's domains.
    OutOfScope,
    /// An issuer signature over a card does not verify.
    BadIssuerSignature,
    /// The device signature over the code does not verify.
    BadDeviceSignature,
    /// A card's validity ended before the verification time (after skew).
    CredentialExpired,
    /// A card's validity starts after the verification time (after skew).
    CredentialNotYetValid,
    /// The code's own short validity ended (after skew).
    CodeExpired,
    /// The code claims to be built in the future (beyond skew).
    CodeNotYetValid,
    /// The code asks for a longer validity than this verifier allows.
    CodeValidityTooLong,
    /// A card, the subject or the device key is on a revocation list.
    Revoked,
    /// This exact code was already accepted by this verifier within its window.
    Replayed,
    /// The replay guard is full of unexpired entries; the code is refused rather than
    /// risk a replay.
    ReplayCapacity,
    /// A shared replay store could not be reached; the code is refused rather than
    /// risk a replay.
    ReplayStoreUnavailable,
    /// The disclosed claims do not satisfy the scene policy.
    PolicyUnmet,
    /// The verifier holds no trust list.
    NoTrustList,
    /// The verifier holds no revocation list and was not told to run without one.
    NoRevocationList,
    /// The trust list is past its expiry at verification time.
    TrustListExpired,
    /// A trust list older than (or conflicting with) the one held was offered.
    TrustListRollback,
    /// A trust list's root signature does not verify.
    BadTrustListSignature,
    /// A revocation list is past its expiry at verification time.
    RevocationListExpired,
    /// A revocation list older than (or conflicting with) the one held was offered.
    RevocationListRollback,
    /// A revocation list's signature does not verify, or its signer is not trusted.
    BadRevocationListSignature,
    /// A published list status's root signature does not verify.
    BadListStatusSignature,
    /// A list status older than (or conflicting with) the one held was offered: a
    /// stale mirror.
    ListStatusRollback,
    /// A published list's bytes differ from the digest its status names.
    ListDigestMismatch,
    /// A published file could not be fetched.
    ListUnavailable,
    /// The verifier's saved list state (SPEC.md §8.3) could not be read or saved, or
    /// belongs to another root key: a verifier that cannot load its state does not
    /// start, and a list whose new state cannot be saved does not take effect.
    ListStateUnavailable,
}

impl Reason {
    /// Every reason, in SPEC.md order.
    pub const ALL: [Reason; 40] = [
        Reason::TextPrefix,
        Reason::TextEncoding,
        Reason::TextTooLong,
        Reason::NonCanonical,
        Reason::Truncated,
        Reason::TrailingBytes,
        Reason::UnsupportedVersion,
        Reason::UnsupportedAlgorithm,
        Reason::Malformed,
        Reason::InvalidDeviceKey,
        Reason::InvalidIssuerKey,
        Reason::UnknownIssuerKey,
        Reason::AlgorithmMismatch,
        Reason::IssuerKeyNotValid,
        Reason::OutOfScope,
        Reason::BadIssuerSignature,
        Reason::BadDeviceSignature,
        Reason::CredentialExpired,
        Reason::CredentialNotYetValid,
        Reason::CodeExpired,
        Reason::CodeNotYetValid,
        Reason::CodeValidityTooLong,
        Reason::Revoked,
        Reason::Replayed,
        Reason::ReplayCapacity,
        Reason::ReplayStoreUnavailable,
        Reason::PolicyUnmet,
        Reason::NoTrustList,
        Reason::NoRevocationList,
        Reason::TrustListExpired,
        Reason::TrustListRollback,
        Reason::BadTrustListSignature,
        Reason::RevocationListExpired,
        Reason::RevocationListRollback,
        Reason::BadRevocationListSignature,
        Reason::BadListStatusSignature,
        Reason::ListStatusRollback,
        Reason::ListDigestMismatch,
        Reason::ListUnavailable,
        Reason::ListStateUnavailable,
    ];

    /// The stable reason code, as SPEC.md and the test vectors spell it.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::TextPrefix => "text_prefix",
            Reason::TextEncoding => "text_encoding",
            Reason::TextTooLong => "text_too_long",
            Reason::NonCanonical => "non_canonical",
            Reason::Truncated => "truncated",
            Reason::TrailingBytes => "trailing_bytes",
            Reason::UnsupportedVersion => "unsupported_version",
            Reason::UnsupportedAlgorithm => "unsupported_algorithm",
            Reason::Malformed => "malformed",
            Reason::InvalidDeviceKey => "invalid_device_key",
            Reason::InvalidIssuerKey => "invalid_issuer_key",
            Reason::UnknownIssuerKey => "unknown_issuer_key",
            Reason::AlgorithmMismatch => "algorithm_mismatch",
            Reason::IssuerKeyNotValid => "issuer_key_not_valid",
            Reason::OutOfScope => "out_of_scope",
            Reason::BadIssuerSignature => "bad_issuer_signature",
            Reason::BadDeviceSignature => "bad_device_signature",
            Reason::CredentialExpired => "credential_expired",
            Reason::CredentialNotYetValid => "credential_not_yet_valid",
            Reason::CodeExpired => "code_expired",
            Reason::CodeNotYetValid => "code_not_yet_valid",
            Reason::CodeValidityTooLong => "code_validity_too_long",
            Reason::Revoked => "revoked",
            Reason::Replayed => "replayed",
            Reason::ReplayCapacity => "replay_capacity",
            Reason::ReplayStoreUnavailable => "replay_store_unavailable",
            Reason::PolicyUnmet => "policy_unmet",
            Reason::NoTrustList => "no_trust_list",
            Reason::NoRevocationList => "no_revocation_list",
            Reason::TrustListExpired => "trust_list_expired",
            Reason::TrustListRollback => "trust_list_rollback",
            Reason::BadTrustListSignature => "bad_trust_list_signature",
            Reason::RevocationListExpired => "revocation_list_expired",
            Reason::RevocationListRollback => "revocation_list_rollback",
            Reason::BadRevocationListSignature => "bad_revocation_list_signature",
            Reason::BadListStatusSignature => "bad_list_status_signature",
            Reason::ListStatusRollback => "list_status_rollback",
            Reason::ListDigestMismatch => "list_digest_mismatch",
            Reason::ListUnavailable => "list_unavailable",
            Reason::ListStateUnavailable => "list_state_unavailable",
        }
    }

    /// The reason for a stable code string, if there is one.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection: the stable reason plus a human-readable detail.
///
/// The detail never contains secret material; it may name a key id, a domain or a time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    /// The stable reason code.
    pub reason: Reason,
    /// What exactly failed, for logs and operators.
    pub detail: String,
}

impl Rejection {
    /// A rejection with a detail message.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection { reason, detail: detail.into() }
    }
}

impl From<Reason> for Rejection {
    fn from(reason: Reason) -> Self {
        Rejection { reason, detail: String::new() }
    }
}

/// Errors of the holder and issuer side: building codes and credentials, keys, signers.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that could not be decoded (a credential, key or list from storage).
    #[error("invalid input: {0}")]
    Invalid(#[from] Rejection),
    /// The credential holds no card set that covers the domains a scene needs.
    #[error("the credential cannot disclose {0}")]
    MissingDomain(String),
    /// The issuer key may not attest a requested domain.
    #[error("issuer key {kid} may not attest {domain}")]
    OutOfScope {
        /// The issuer key id.
        kid: u32,
        /// The domain it may not attest.
        domain: String,
    },
    /// A value does not fit the format (too many cards, validity out of range, ...).
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// The external signer failed or returned a signature of the wrong form.
    #[error("signer failed: {0}")]
    Signer(String),
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
}

impl Error {
    /// The stable error code, as SPEC.md §10 lists it: the reason code for refused input,
    /// otherwise one of `missing_domain`, `out_of_scope`, `out_of_range`, `signer` and
    /// `random`. Bindings, the WASM package and the CLI report exactly this string.
    pub const fn code(&self) -> &'static str {
        match self {
            Error::Invalid(r) => r.reason.code(),
            Error::MissingDomain(_) => "missing_domain",
            Error::OutOfScope { .. } => "out_of_scope",
            Error::OutOfRange(_) => "out_of_range",
            Error::Signer(_) => "signer",
            Error::Random => "random",
        }
    }
}

impl From<Reason> for Error {
    fn from(reason: Reason) -> Self {
        Error::Invalid(Rejection::from(reason))
    }
}

impl std::error::Error for Reason {}
