//! The configuration: a TOML file, each top-level setting overridable by a `CITYCODE_*`
//! environment variable, every value range-checked at start with an error that names
//! it. The service refuses to start on anything it does not understand.

use std::path::{Path, PathBuf};

use citycode_attest::{AttestationMode, AttestationPolicy};
use serde::Deserialize;

use crate::attestation::AttestationTrustConfig;
use crate::auth::AuthConfig;
use crate::error::Error;
use crate::issuing::{PublicationSettings, Settings};
use crate::keys::KeyConfig;

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`CITYCODE_LISTEN`; default 127.0.0.1:8090).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The service's public base URL, for the OpenID4VCI metadata (`CITYCODE_PUBLIC_URL`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// `sqlite:<path>` (default `sqlite:issuer.db`) or `postgres://...`
    /// (`CITYCODE_DATABASE`).
    #[serde(default = "default_database")]
    pub database: String,
    /// PostgreSQL connections (`CITYCODE_DB_POOL`, 1 to 64, default 4).
    #[serde(default = "default_pool")]
    pub db_pool: usize,
    /// The key sealing identity numbers at rest: 64 hex digits in a file, mode 0600
    /// (`CITYCODE_ID_NUMBER_KEY_FILE`).
    pub id_number_key_file: PathBuf,
    /// The issuer key that signs cards.
    pub issuer: IssuerConfig,
    /// The identity provider.
    pub auth: AuthConfig,
    /// Limits and lifetimes.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The OpenType font printed cards embed a subset of (`CITYCODE_CARD_FONT`; default
    /// Debian's fonts-noto-cjk, `/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc`).
    #[serde(default = "default_card_font")]
    pub card_font: PathBuf,
    /// The face of a font collection, by family or full name.
    #[serde(default)]
    pub card_font_family: Option<String>,
    /// Publication of the distribution directory; absent: the service does not publish.
    #[serde(default)]
    pub publication: Option<PublicationConfig>,
    /// Device key attestation at the batch endpoint (SPEC.md §4.10.2): `citycode-attest`'s
    /// policy as it is (`mode` and what an attestation must show). Absent: `record`, so
    /// every phone is served and each instance records what its key's attestation showed;
    /// `mode = "require"` (or `CITYCODE_ATTESTATION_MODE=require`) refuses keys that are
    /// not attested.
    #[serde(default = "default_attestation")]
    pub attestation: AttestationPolicy,
    /// What attestations are checked against: roots and Google's revocation status list.
    #[serde(default)]
    pub attestation_trust: AttestationTrustConfig,
}

/// `[issuer]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The key id the trust list gives this key.
    pub kid: u32,
    /// The domains it may attest (default every domain).
    #[serde(default = "default_scope")]
    pub scope: Vec<u32>,
    /// The key.
    pub key: KeyConfig,
}

/// `[limits]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a challenge is usable (10 to 3600, default 300).
    pub challenge_ttl_secs: u64,
    /// Live challenges per resident (1 to 64, default 8).
    pub max_live_challenges: u32,
    /// Days each instance is valid (1 to 255, default 7).
    pub instance_valid_days: u8,
    /// Outstanding instances per holder (1 to 64, default 64: SPEC.md §4.8).
    pub max_outstanding: u32,
    /// Guardianships per guardian (1 to 5, default 5: SPEC.md §4.9).
    pub max_guardianships: u32,
    /// Seconds an invitation is usable (60 to 604800, default 86400).
    pub invitation_ttl_secs: u64,
    /// Days a printed code is valid (1 to 180, default 180).
    pub printed_valid_days: u8,
    /// Seconds a batch's response is kept for retries (60 to 604800, default 86400).
    pub retry_window_secs: u64,
    /// Seconds readiness trusts a signing key's last signature before it signs a probe
    /// (1 to 300, default 10): a token is asked at most this often, however often
    /// `/readyz` is.
    pub key_probe_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let s = Settings::default();
        LimitsConfig {
            challenge_ttl_secs: s.challenge_ttl_secs,
            max_live_challenges: s.max_live_challenges,
            instance_valid_days: s.instance_valid_days,
            max_outstanding: s.max_outstanding,
            max_guardianships: s.max_guardianships,
            invitation_ttl_secs: s.invitation_ttl_secs,
            printed_valid_days: s.printed_valid_days,
            retry_window_secs: s.retry_window_secs,
            key_probe_secs: s.key_probe_secs,
        }
    }
}

/// `[publication]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationConfig {
    /// The directory verifiers' mirror serves.
    pub directory: PathBuf,
    /// The root-signed trust list file to publish.
    pub trust_list: PathBuf,
    /// The root key (signs the revocation list and the status).
    pub root_key: KeyConfig,
    /// Seconds between scheduled publications (60 to 86400, default 3600): on a fixed
    /// schedule, not per event (SPEC.md §13).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Seconds each publication's lists are valid (more than the interval; default
    /// 86400, at most 30 days).
    #[serde(default = "default_validity")]
    pub validity_secs: u32,
}

fn default_listen() -> String {
    "127.0.0.1:8090".into()
}
fn default_database() -> String {
    "sqlite:issuer.db".into()
}
fn default_pool() -> usize {
    4
}
fn default_scope() -> Vec<u32> {
    citycode::Domain::ALL.iter().map(|d| d.id()).collect()
}
fn default_card_font() -> PathBuf {
    PathBuf::from(citycode::print_card::DEFAULT_FONT_PATH)
}
fn default_interval() -> u64 {
    3600
}
fn default_validity() -> u32 {
    86_400
}
fn default_attestation() -> AttestationPolicy {
    AttestationPolicy::new(AttestationMode::Record)
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(name: &str, v: T, lo: T, hi: T) -> Result<(), Error> {
    if v < lo || v > hi {
        return Err(Error::Config(format!("{name} = {v} is out of range ({lo} to {hi})")));
    }
    Ok(())
}

fn env_parse<T: std::str::FromStr>(name: &str, slot: &mut T) -> Result<(), Error> {
    if let Ok(v) = std::env::var(name) {
        *slot = v.parse().map_err(|_| Error::Config(format!("{name} = {v:?} is not a valid value")))?;
    }
    Ok(())
}

impl Config {
    /// Reads `path`, applies `CITYCODE_*` overrides, resolves relative paths against
    /// the file's folder, and checks every range.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        config.apply_env()?;
        if let Some(dir) = path.parent() {
            config.resolve(dir);
        }
        config.check()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<(), Error> {
        env_parse("CITYCODE_LISTEN", &mut self.listen)?;
        if let Ok(v) = std::env::var("CITYCODE_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        env_parse("CITYCODE_DATABASE", &mut self.database)?;
        env_parse("CITYCODE_DB_POOL", &mut self.db_pool)?;
        env_parse("CITYCODE_ID_NUMBER_KEY_FILE", &mut self.id_number_key_file)?;
        env_parse("CITYCODE_CARD_FONT", &mut self.card_font)?;
        env_parse("CITYCODE_CHALLENGE_TTL_SECS", &mut self.limits.challenge_ttl_secs)?;
        env_parse("CITYCODE_INSTANCE_VALID_DAYS", &mut self.limits.instance_valid_days)?;
        env_parse("CITYCODE_MAX_OUTSTANDING", &mut self.limits.max_outstanding)?;
        if let Some(p) = &mut self.publication {
            env_parse("CITYCODE_PUBLISH_INTERVAL_SECS", &mut p.interval_secs)?;
        }
        if let Ok(v) = std::env::var("CITYCODE_ATTESTATION_MODE") {
            self.attestation.mode = serde_json::from_value(serde_json::Value::String(v.clone())).map_err(|_| {
                Error::Config(format!("CITYCODE_ATTESTATION_MODE = {v:?}: give require, record or off"))
            })?;
        }
        Ok(())
    }

    fn resolve(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        fix(&mut self.id_number_key_file);
        fix(&mut self.card_font);
        self.issuer.key.resolve(dir);
        for p in &mut self.attestation_trust.android_roots {
            fix(p);
        }
        if let Some(p) = &mut self.attestation_trust.status_list {
            fix(p);
        }
        if let crate::auth::JwksSource::File(p) = &mut self.auth.jwks {
            fix(p);
        }
        if let Some(rest) = self.database.strip_prefix("sqlite:") {
            let p = Path::new(rest);
            if p.is_relative() {
                self.database = format!("sqlite:{}", dir.join(p).display());
            }
        }
        if let Some(p) = &mut self.publication {
            fix(&mut p.directory);
            fix(&mut p.trust_list);
            p.root_key.resolve(dir);
        }
    }

    /// Range checks.
    pub fn check(&self) -> Result<(), Error> {
        let l = &self.limits;
        range("limits.challenge_ttl_secs", l.challenge_ttl_secs, 10, 3600)?;
        range("limits.max_live_challenges", l.max_live_challenges, 1, 64)?;
        range("limits.instance_valid_days", l.instance_valid_days, 1, 255)?;
        range("limits.max_outstanding", l.max_outstanding, 1, citycode::MAX_BATCH as u32)?;
        range("limits.max_guardianships", l.max_guardianships, 1, citycode::MAX_DEPENDANTS as u32)?;
        range("limits.invitation_ttl_secs", l.invitation_ttl_secs, 60, 604_800)?;
        range("limits.printed_valid_days", l.printed_valid_days, 1, citycode::PRINTED_MAX_DAYS)?;
        range("limits.retry_window_secs", l.retry_window_secs, 60, 604_800)?;
        range("limits.key_probe_secs", l.key_probe_secs, 1, 300)?;
        range("db_pool", self.db_pool, 1, 64)?;
        if self.issuer.scope.is_empty() {
            return Err(Error::Config("issuer.scope names no domain".into()));
        }
        if !(self.database.starts_with("sqlite:")
            || self.database.starts_with("postgres://")
            || self.database.starts_with("postgresql://"))
        {
            return Err(Error::Config(format!("database = {:?}: give sqlite:<path> or postgres://...", self.database)));
        }
        self.attestation_trust.check(&self.attestation)?;
        if let Some(p) = &self.publication {
            range("publication.interval_secs", p.interval_secs, 60, 86_400)?;
            range("publication.validity_secs", p.validity_secs, 120, 30 * 86_400)?;
            if u64::from(p.validity_secs) <= p.interval_secs {
                return Err(Error::Config(
                    "publication.validity_secs must exceed interval_secs: lists would expire between publications"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// The service's settings.
    pub fn settings(&self) -> Settings {
        let l = &self.limits;
        Settings {
            challenge_ttl_secs: l.challenge_ttl_secs,
            max_live_challenges: l.max_live_challenges,
            instance_valid_days: l.instance_valid_days,
            max_outstanding: l.max_outstanding,
            max_guardianships: l.max_guardianships,
            invitation_ttl_secs: l.invitation_ttl_secs,
            printed_valid_days: l.printed_valid_days,
            retry_window_secs: l.retry_window_secs,
            key_probe_secs: l.key_probe_secs,
            card_font: self.card_font.clone(),
            card_font_family: self.card_font_family.clone(),
            publication: self.publication.as_ref().map(|p| PublicationSettings {
                directory: p.directory.clone(),
                trust_list: p.trust_list.clone(),
                validity_secs: p.validity_secs,
            }),
        }
    }

    /// Opens the store the configuration names.
    pub fn store(&self) -> Result<crate::store::Store, Error> {
        match self.database.strip_prefix("sqlite:") {
            Some(path) => crate::store::Store::sqlite(Path::new(path)),
            None => crate::store::Store::postgres(&self.database, self.db_pool),
        }
    }
}
