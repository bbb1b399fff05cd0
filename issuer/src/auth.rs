//! Who may call: OAuth 2 / OpenID Connect access tokens (JWT) from the city's identity
//! provider, checked against its JWKS: signature under the key the header names (by
//! `kid`, with that key's own algorithm only), issuer, audience, expiry and not-before
//! on the service's clock. Keys are fetched at start, refreshed on a schedule and when a
//! token names an unknown `kid` (at most once per `min_refresh`, so a flood of made-up
//! `kid`s costs the provider nothing). Roles come from one claim.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::Error;

/// Where the identity provider's keys come from.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JwksSource {
    /// Fetched over HTTP(S) (the provider's `jwks_uri`).
    Url(String),
    /// A file (a provider whose keys are distributed out of band; trials).
    File(PathBuf),
}

/// The identity provider, as the configuration names it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The provider's issuer identifier (`iss`).
    pub issuer: String,
    /// This service's audience (`aud`).
    pub audience: String,
    /// Where its keys are.
    pub jwks: JwksSource,
    /// The claim holding roles: an array of strings or a space-separated string.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// The role of staff (printed codes, guardianships on an authority's consent,
    /// revocation).
    #[serde(default = "default_staff_role")]
    pub staff_role: String,
    /// The role of administrators (claims import, publication); implies staff.
    #[serde(default = "default_admin_role")]
    pub admin_role: String,
    /// Seconds of clock difference allowed for `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Seconds between scheduled key refreshes.
    #[serde(default = "default_refresh")]
    pub refresh_secs: u64,
    /// Least seconds between two refreshes caused by unknown `kid`s.
    #[serde(default = "default_min_refresh")]
    pub min_refresh_secs: u64,
}

fn default_roles_claim() -> String {
    "roles".into()
}
fn default_staff_role() -> String {
    "citycode:staff".into()
}
fn default_admin_role() -> String {
    "citycode:admin".into()
}
fn default_leeway() -> u64 {
    30
}
fn default_refresh() -> u64 {
    300
}
fn default_min_refresh() -> u64 {
    30
}

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Any valid login: a resident acting for themselves.
    Resident,
    /// Staff.
    Staff,
    /// Administrators.
    Admin,
}

impl Role {
    /// Its name in errors.
    pub fn name(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject (`sub`).
    pub subject: String,
    /// The highest role the token carries.
    pub role: Role,
}

impl Caller {
    /// Refuses the caller unless it holds `role` (admin holds staff too).
    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role >= role { Ok(()) } else { Err(Error::InsufficientRole(role.name())) }
    }
}

struct Keys {
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
    /// Keys without a `kid` (usable only when the token has none and there is one).
    anonymous: Vec<(DecodingKey, Algorithm)>,
}

/// Checks access tokens.
pub struct Authenticator {
    config: AuthConfig,
    keys: RwLock<Option<Keys>>,
    last_fetch: Mutex<Option<Instant>>,
    agent: ureq::Agent,
}

impl core::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authenticator").field("issuer", &self.config.issuer).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    exp: u64,
    nbf: Option<u64>,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

fn key_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    // The JWK's declared algorithm if any, else the one its key type implies.
    let declared = jwk.common.key_algorithm.and_then(|a| match a {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    });
    declared.or(match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => Some(Algorithm::EdDSA),
        // Symmetric keys are never accepted: the JWKS is public.
        _ => None,
    })
}

impl Authenticator {
    /// An authenticator; call [`Authenticator::refresh`] to load the keys.
    pub fn new(config: AuthConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(true)
            .build()
            .into();
        Authenticator { config, keys: RwLock::new(None), last_fetch: Mutex::new(None), agent }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether keys are held (readiness).
    pub fn has_keys(&self) -> bool {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_some()
    }

    /// Fetches the JWKS and replaces the keys held (blocking). A failure keeps the keys
    /// held. Returns how many usable keys it holds.
    pub fn refresh(&self) -> Result<usize, Error> {
        *self.last_fetch.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        let text = match &self.config.jwks {
            JwksSource::Url(url) => self
                .agent
                .get(url)
                .call()
                .and_then(|mut r| r.body_mut().with_config().limit(1 << 20).read_to_string())
                .map_err(|e| Error::JwksUnavailable(format!("{url}: {e}")))?,
            JwksSource::File(path) => {
                std::fs::read_to_string(path).map_err(|e| Error::JwksUnavailable(format!("{}: {e}", path.display())))?
            }
        };
        let set: JwkSet = serde_json::from_str(&text).map_err(|e| Error::JwksUnavailable(format!("JWKS: {e}")))?;
        let mut keys = Keys { by_kid: HashMap::new(), anonymous: Vec::new() };
        for jwk in &set.keys {
            let (Some(alg), Ok(key)) = (key_algorithm(jwk), DecodingKey::from_jwk(jwk)) else { continue };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.by_kid.insert(kid.clone(), (key, alg));
                }
                None => keys.anonymous.push((key, alg)),
            }
        }
        let n = keys.by_kid.len() + keys.anonymous.len();
        if n == 0 {
            return Err(Error::JwksUnavailable("the JWKS holds no usable public key".into()));
        }
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(keys);
        Ok(n)
    }

    fn key_for(&self, kid: Option<&str>) -> Option<(DecodingKey, Algorithm)> {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys = keys.as_ref()?;
        match kid {
            Some(kid) => keys.by_kid.get(kid).cloned(),
            None => match (keys.anonymous.as_slice(), keys.by_kid.len()) {
                ([only], 0) => Some(only.clone()),
                _ => None,
            },
        }
    }

    /// Checks `Authorization` (`Bearer <jwt>`) at `now` (Unix seconds, the service's
    /// clock). A `kid` not held triggers one refresh, at most every `min_refresh_secs`.
    pub fn authenticate(&self, authorization: Option<&str>, now: u64) -> Result<Caller, Error> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::NoToken)?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| Error::TokenMalformed(e.to_string()))?;
        let kid = header.kid.as_deref();
        let key = match self.key_for(kid) {
            Some(k) => Some(k),
            None => {
                let due = self
                    .last_fetch
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(self.config.min_refresh_secs));
                if due {
                    let _ = self.refresh();
                }
                self.key_for(kid)
            }
        };
        let (key, alg) = key.ok_or_else(|| Error::UnknownTokenKey(kid.unwrap_or("(none)").to_string()))?;
        // The key's own algorithm only: a token cannot pick another (alg confusion).
        if header.alg != alg {
            return Err(Error::UnknownTokenKey(format!("{:?} is not the key's algorithm", header.alg)));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time is checked below on the service's clock, not the library's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<TokenClaims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => Error::BadTokenSignature,
                K::InvalidAudience => Error::WrongAudience,
                K::InvalidIssuer => Error::WrongIssuer,
                K::ExpiredSignature => Error::TokenExpired,
                K::ImmatureSignature => Error::TokenNotYetValid,
                _ => Error::TokenMalformed(e.to_string()),
            }
        })?;
        let claims = data.claims;
        let leeway = self.config.leeway_secs;
        if now >= claims.exp.saturating_add(leeway) {
            return Err(Error::TokenExpired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(Error::TokenNotYetValid);
        }
        if claims.sub.is_empty() {
            return Err(Error::TokenMalformed("empty sub".into()));
        }
        let roles: Vec<String> = match claims.other.get(&self.config.roles_claim) {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            _ => Vec::new(),
        };
        let role = if roles.contains(&self.config.admin_role) {
            Role::Admin
        } else if roles.contains(&self.config.staff_role) {
            Role::Staff
        } else {
            Role::Resident
        };
        Ok(Caller { subject: claims.sub, role })
    }
}
