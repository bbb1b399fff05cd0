//! The service's errors: one enum, each variant with a stable reason code (SPEC.md §15
//! lists them), the HTTP status it answers with and the OpenID4VCI / RFC 6750 error
//! code a client of those specifications expects.

/// Why the service refused a request or could not serve it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `Authorization: Bearer` token.
    #[error("no access token")]
    NoToken,
    /// The token is not a JWT this service can read (structure, header, claims).
    #[error("access token: {0}")]
    TokenMalformed(String),
    /// The token's `exp` has passed.
    #[error("the access token has expired")]
    TokenExpired,
    /// The token's `nbf` or `iat` is in the future.
    #[error("the access token is not valid yet")]
    TokenNotYetValid,
    /// The token's `aud` does not name this service.
    #[error("the access token is for another audience")]
    WrongAudience,
    /// The token's `iss` is not the configured identity provider.
    #[error("the access token is from another issuer")]
    WrongIssuer,
    /// The token's signature does not verify under the provider's key.
    #[error("the access token's signature does not verify")]
    BadTokenSignature,
    /// The token names a key (`kid`) the provider's JWKS does not hold, even after a
    /// refresh, or an algorithm other than its key's.
    #[error("the access token's key is unknown: {0}")]
    UnknownTokenKey(String),
    /// The identity provider's keys could not be fetched.
    #[error("the identity provider's keys are unavailable: {0}")]
    JwksUnavailable(String),
    /// The caller lacks the role the route needs (staff, admin).
    #[error("this needs the {0} role")]
    InsufficientRole(&'static str),
    /// The token's subject is not a resident of the records.
    #[error("no resident record for this login")]
    UnknownResident,
    /// The resident's records are revoked: nothing more is issued to them.
    #[error("the resident is revoked")]
    ResidentRevoked,
    /// No challenge with these bytes was given to this resident.
    #[error("unknown challenge")]
    ChallengeUnknown,
    /// The challenge's time ran out.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The challenge was consumed by an earlier request.
    #[error("the challenge was already used")]
    ChallengeUsed,
    /// The resident holds too many live challenges (ask less often, use them).
    #[error("too many challenges outstanding")]
    TooManyChallenges,
    /// A key request failed its check (SPEC.md §4.7); the reason is core's.
    #[error("key request {index}: {reason}")]
    InvalidProof {
        /// Which request, from 0.
        index: usize,
        /// Core's reason code (`bad_device_signature`, `truncated`, ...).
        reason: citycode::Reason,
    },
    /// A key's attestation was refused under the `require` policy (SPEC.md §4.10.2); the
    /// reason is `citycode-attest`'s (`attestation_required`, `attestation_revoked`, ...).
    /// Nothing of the batch was issued.
    #[error("key attestation: {0}")]
    Attestation(#[from] citycode_attest::AttestationError),
    /// A count or size outside its range (1..64 key requests, a field too long).
    #[error("{0}")]
    OutOfRange(String),
    /// The request is not what the route takes (JSON shape, unknown configuration).
    #[error("{0}")]
    BadRequest(String),
    /// The same client request id with a different request.
    #[error("request id already used for another request")]
    RequestIdConflict,
    /// Issuing would take the holder above its cap of outstanding instances.
    #[error("at most {max} instances outstanding; {outstanding} are")]
    InstanceLimit {
        /// The cap.
        max: u32,
        /// Outstanding now.
        outstanding: u32,
    },
    /// The guardian already holds the most guardianships allowed.
    #[error("a guardian holds at most {0} guardianships")]
    GuardianshipLimit(u32),
    /// No such guardianship, or not one of the caller's.
    #[error("unknown guardianship")]
    GuardianshipUnknown,
    /// The two residents already have an active guardianship.
    #[error("this guardianship exists already")]
    GuardianshipExists,
    /// A resident cannot be their own guardian.
    #[error("a resident cannot be their own guardian")]
    SelfGuardianship,
    /// No such invitation.
    #[error("unknown invitation")]
    InvitationUnknown,
    /// The invitation's time ran out.
    #[error("the invitation has expired")]
    InvitationExpired,
    /// The invitation was accepted already.
    #[error("the invitation was already used")]
    InvitationUsed,
    /// A resident, printed code or instance the request names does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A printed code needs the resident's identity document, which the records lack.
    #[error("the resident has no identity document on record")]
    NoIdentity,
    /// An import row was refused; nothing of the import was kept.
    #[error("row {row}: {detail}")]
    ImportRow {
        /// The row number, from 1 (a CSV header is row 1).
        row: usize,
        /// Why.
        detail: String,
    },
    /// Core refused to issue (claims out of the issuer's scope, a value out of range).
    #[error("issuance: {0}")]
    Issuance(#[from] citycode::Error),
    /// The printed card could not be rendered (its font missing, unreadable or lacking a
    /// glyph of the name); the reason is core's card font code.
    #[error("card: {0}")]
    Card(#[from] citycode::print_card::CardError),
    /// A signing key did not sign (a token pulled out, a lost session that did not come
    /// back, a locked PIN): nothing was issued or published. `code` is the token's
    /// (SPEC.md §4.6: `token_removed`, `wrong_pin`, ...) or core's `signer`. The
    /// signer's own message stays out of the caller's error (it names modules, tokens
    /// and keys): it goes to the log and to `/readyz`.
    #[error("the {key} key cannot sign now ({code})")]
    SigningKey {
        /// Which key: `issuer` or `root`.
        key: &'static str,
        /// The failure's code.
        code: &'static str,
        /// What the signer said.
        detail: String,
    },
    /// The database did not answer or failed.
    #[error("store: {0}")]
    Store(String),
    /// Publishing the distribution directory failed.
    #[error("publication: {0}")]
    Publication(String),
    /// The configuration is invalid (at start-up).
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// What an operator reads (`/readyz`, logs): the message, and for a key that did not
    /// sign, what its signer said.
    pub fn detail(&self) -> String {
        match self {
            Error::SigningKey { detail, .. } => format!("{self}: {detail}"),
            _ => self.to_string(),
        }
    }

    /// The stable reason code (SPEC.md §15).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NoToken => "no_token",
            Error::TokenMalformed(_) => "token_malformed",
            Error::TokenExpired => "token_expired",
            Error::TokenNotYetValid => "token_not_yet_valid",
            Error::WrongAudience => "wrong_audience",
            Error::WrongIssuer => "wrong_issuer",
            Error::BadTokenSignature => "bad_token_signature",
            Error::UnknownTokenKey(_) => "unknown_token_key",
            Error::JwksUnavailable(_) => "jwks_unavailable",
            Error::InsufficientRole(_) => "insufficient_role",
            Error::UnknownResident => "unknown_resident",
            Error::ResidentRevoked => "resident_revoked",
            Error::ChallengeUnknown => "challenge_unknown",
            Error::ChallengeExpired => "challenge_expired",
            Error::ChallengeUsed => "challenge_used",
            Error::TooManyChallenges => "too_many_challenges",
            Error::InvalidProof { reason, .. } => reason.code(),
            Error::Attestation(e) => e.code(),
            Error::OutOfRange(_) => "out_of_range",
            Error::BadRequest(_) => "bad_request",
            Error::RequestIdConflict => "request_id_conflict",
            Error::InstanceLimit { .. } => "instance_limit",
            Error::GuardianshipLimit(_) => "guardianship_limit",
            Error::GuardianshipUnknown => "guardianship_unknown",
            Error::GuardianshipExists => "guardianship_exists",
            Error::SelfGuardianship => "self_guardianship",
            Error::InvitationUnknown => "invitation_unknown",
            Error::InvitationExpired => "invitation_expired",
            Error::InvitationUsed => "invitation_used",
            Error::NotFound(_) => "not_found",
            Error::NoIdentity => "no_identity",
            Error::ImportRow { .. } => "import_row",
            Error::Issuance(e) => e.code(),
            Error::Card(e) => e.code(),
            Error::SigningKey { .. } => "signing_key_unavailable",
            Error::Store(_) => "store_unavailable",
            Error::Publication(_) => "publication_failed",
            Error::Config(_) => "configuration",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Error::NoToken
            | Error::TokenMalformed(_)
            | Error::TokenExpired
            | Error::TokenNotYetValid
            | Error::WrongAudience
            | Error::WrongIssuer
            | Error::BadTokenSignature
            | Error::UnknownTokenKey(_) => 401,
            Error::InsufficientRole(_) | Error::UnknownResident | Error::ResidentRevoked => 403,
            Error::NotFound(_) | Error::GuardianshipUnknown => 404,
            Error::RequestIdConflict | Error::GuardianshipExists => 409,
            Error::TooManyChallenges => 429,
            Error::JwksUnavailable(_) | Error::Store(_) | Error::SigningKey { .. } => 503,
            Error::Publication(_) | Error::Config(_) | Error::Card(_) => 500,
            Error::Issuance(citycode::Error::Signer(_) | citycode::Error::Random) => 500,
            _ => 400,
        }
    }

    /// The `error` member: RFC 6750 for authorization, OpenID4VCI §8.3.1.2 for
    /// credential requests (`invalid_nonce`, `invalid_proof`, ...), else a generic one.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            Error::NoToken => "invalid_request",
            Error::TokenMalformed(_)
            | Error::TokenExpired
            | Error::TokenNotYetValid
            | Error::WrongAudience
            | Error::WrongIssuer
            | Error::BadTokenSignature
            | Error::UnknownTokenKey(_) => "invalid_token",
            Error::InsufficientRole(_) => "insufficient_scope",
            Error::UnknownResident | Error::ResidentRevoked | Error::InstanceLimit { .. } => {
                "credential_request_denied"
            }
            Error::ChallengeUnknown | Error::ChallengeExpired | Error::ChallengeUsed => "invalid_nonce",
            // OpenID4VCI §8.3.1.2: a key proof (and a key attestation with it) is invalid.
            Error::InvalidProof { .. } | Error::Attestation(_) => "invalid_proof",
            Error::OutOfRange(_) | Error::BadRequest(_) | Error::RequestIdConflict => "invalid_credential_request",
            Error::JwksUnavailable(_) | Error::Store(_) | Error::SigningKey { .. } => "temporarily_unavailable",
            Error::Publication(_) | Error::Config(_) | Error::Card(_) => "server_error",
            Error::Issuance(citycode::Error::Signer(_) | citycode::Error::Random) => "server_error",
            _ => "invalid_request",
        }
    }
}
