//! The server's configuration: core's [`VerifierConfig`] (root key with its algorithm,
//! scene, skew, validity limit, local offset, `gm_only`, the revocation opt-out), with
//! the server's transport settings beside it (`#[serde(flatten)]`), from a TOML file,
//! `CITYCODE_*` environment variables and command-line options, in increasing order of
//! precedence. Every value is spelled as in core's JSON: `root_alg = "sm2_sm3"`,
//! `scene = { kind = "metro_gate" }`, and on the command line `--root-alg sm2_sm3
//! --scene metro_gate` (a long option is its key with `-` for `_`, its variable
//! `CITYCODE_` and the key in capitals).
//!
//! Whatever the source, the settings meet in one TOML table that is deserialised once,
//! through core's own serde; a key that neither core's configuration nor the server
//! reads is refused, so a misspelt `gm_only` cannot leave a city's server open.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use citycode::{Clock, VerifierConfig};
use clap::Parser;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, Visitor};

use crate::{HttpSource, Lists, LogSink, Service, directory_source};

/// The command line (and its `CITYCODE_*` variables). Every option that is given
/// overrides the same key of the `--config` file.
#[derive(Parser, Debug, Default)]
#[command(
    name = "citycode-verify-server",
    about = "HTTP verification service: POST /verify {\"text\"}, POST /verify/batch {\"texts\"}, GET /readyz, GET /metrics",
    after_help = "Examples:
  citycode-verify-server --root-alg ed25519 --root-key HEX --scene metro_gate \\
      --lists-url https://lists.example.gov/citycode/ --list-state-file /var/lib/citycode/list-state.json
  citycode-verify-server --root-alg sm2_sm3 --root-key HEX --gm-only --scene hospital --lists-dir /srv/lists ...
  citycode-verify-server --scene scenic_spot --site 1024 ...
  citycode-verify-server --config /etc/citycode/verify-server.toml"
)]
pub struct Args {
    /// TOML config file: core's verifier configuration (root_alg, root_key, scene,
    /// skew_secs, max_code_validity_secs, utc_offset_minutes, gm_only,
    /// allow_missing_revocation_list) and the transport keys below, each spelled as its
    /// long option with `_`. Unknown keys are refused.
    #[arg(long, env = "CITYCODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Root public key, hex, in its wire form (SPEC.md §4.1).
    #[arg(long, env = "CITYCODE_ROOT_KEY")]
    pub root_key: Option<String>,
    /// The root key's algorithm: ed25519, ecdsa_p256_sha256 or sm2_sm3 (never guessed
    /// from the key's length).
    #[arg(long, env = "CITYCODE_ROOT_ALG")]
    pub root_alg: Option<String>,
    /// The scene: hospital, scenic_spot (with --site), parking, metro_gate or
    /// hotel_check_in; or the scene as JSON, `{"kind": "scenic_spot", "site": 1024,
    /// "utc_offset_minutes": 480}`.
    #[arg(long, env = "CITYCODE_SCENE")]
    pub scene: Option<String>,
    /// The scenic spot's site id (scene scenic_spot); its day is the local day at
    /// --utc-offset-minutes.
    #[arg(long, env = "CITYCODE_SITE")]
    pub site: Option<u32>,
    /// Allowed clock skew, seconds (default 30).
    #[arg(long, env = "CITYCODE_SKEW_SECS")]
    pub skew_secs: Option<u32>,
    /// Longest code validity accepted, seconds (default 120).
    #[arg(long, env = "CITYCODE_MAX_CODE_VALIDITY_SECS")]
    pub max_code_validity_secs: Option<u8>,
    /// Local offset from UTC in minutes (default 480, China Standard Time): a health
    /// status's last day ends at local midnight.
    #[arg(long, env = "CITYCODE_UTC_OFFSET_MINUTES", allow_hyphen_values = true)]
    pub utc_offset_minutes: Option<i32>,
    /// Accept only the national algorithms (SPEC.md §4.6): the root (which must be
    /// SM2), every issuer key and every device key SM2, every digest SM3.
    #[arg(long, env = "CITYCODE_GM_ONLY")]
    pub gm_only: bool,
    /// Accept codes while no revocation list is held (refused by default); accepted
    /// verdicts then carry "revocation_checked": false.
    #[arg(long, env = "CITYCODE_ALLOW_MISSING_REVOCATION_LIST", alias = "no-revocation")]
    pub allow_missing_revocation_list: bool,
    /// Base URL of a published list directory (citycode publish), polled on schedule.
    #[arg(long, env = "CITYCODE_LISTS_URL")]
    pub lists_url: Option<String>,
    /// A published list directory on disk, polled on schedule.
    #[arg(long, env = "CITYCODE_LISTS_DIR")]
    pub lists_dir: Option<PathBuf>,
    /// Signed trust list file (instead of a published directory).
    #[arg(long, env = "CITYCODE_TRUST_LIST")]
    pub trust_list: Option<PathBuf>,
    /// Signed revocation list files (with --trust-list).
    #[arg(long, env = "CITYCODE_REVOCATION_LIST", value_delimiter = ',')]
    pub revocation_list: Vec<PathBuf>,
    /// Where the service keeps the sequences of the lists it applied (SPEC.md §8.3),
    /// written atomically after every load: after a restart it refuses anything older,
    /// so a stale mirror cannot bring back a revoked phone. Required, unless
    /// --no-list-state.
    #[arg(long, env = "CITYCODE_LIST_STATE_FILE")]
    pub list_state_file: Option<PathBuf>,
    /// Keep list state in memory only: after a restart a stale mirror's older lists are
    /// accepted again. For tests and throwaway instances.
    #[arg(long, env = "CITYCODE_NO_LIST_STATE")]
    pub no_list_state: bool,
    /// Share the replay store with other instances through this Redis.
    #[arg(long, env = "CITYCODE_REDIS")]
    pub redis: Option<String>,
    /// Deadline of one Redis call, milliseconds (default 200).
    #[arg(long, env = "CITYCODE_REDIS_DEADLINE_MS")]
    pub redis_deadline_ms: Option<u64>,
    /// Seconds between list reloads (default 60); SIGHUP reloads at once.
    #[arg(long, env = "CITYCODE_REFRESH_SECS")]
    pub refresh_secs: Option<u64>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "CITYCODE_LISTEN")]
    pub listen: Option<String>,
    /// Log every verdict (outcome and latency; never claims or subjects).
    #[arg(long, env = "CITYCODE_LOG_VERDICTS")]
    pub log_verdicts: bool,
}

/// The whole configuration: core's verifier configuration and the transport settings,
/// side by side in one flat table.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Core's verifier configuration, read by core's own serde.
    #[serde(flatten)]
    pub verifier: VerifierConfig,
    /// How codes and lists reach the service.
    #[serde(flatten)]
    pub transport: Transport,
}

/// The server's own settings: where lists come from, where their state is kept, the
/// replay store, the listener.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// Base URL of a published list directory.
    pub lists_url: Option<String>,
    /// A published list directory on disk.
    pub lists_dir: Option<PathBuf>,
    /// A signed trust list file.
    pub trust_list: Option<PathBuf>,
    /// Signed revocation list files, with `trust_list`.
    #[serde(default)]
    pub revocation_list: Vec<PathBuf>,
    /// The list-state file (SPEC.md §8.3).
    pub list_state_file: Option<PathBuf>,
    /// Run without a list-state file, explicitly.
    #[serde(default)]
    pub no_list_state: bool,
    /// A Redis URL for a shared replay store.
    pub redis: Option<String>,
    /// Deadline of one Redis call, milliseconds.
    pub redis_deadline_ms: Option<u64>,
    /// Seconds between list reloads.
    pub refresh_secs: Option<u64>,
    /// Listen address.
    pub listen: Option<String>,
    /// Log every verdict.
    #[serde(default)]
    pub log_verdicts: bool,
}

/// Where lists come from, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListsFrom {
    /// A published directory over HTTP(S).
    Url(String),
    /// A published directory on disk.
    Dir(PathBuf),
    /// Signed list files.
    Files {
        /// The trust list.
        trust: PathBuf,
        /// The revocation lists.
        revocations: Vec<PathBuf>,
    },
}

impl Transport {
    /// Where lists come from: exactly one of `lists_url`, `lists_dir` and `trust_list`.
    pub fn lists(&self) -> Result<ListsFrom, String> {
        match (&self.lists_url, &self.lists_dir, &self.trust_list) {
            (Some(url), None, None) => Ok(ListsFrom::Url(url.clone())),
            (None, Some(dir), None) => Ok(ListsFrom::Dir(dir.clone())),
            (None, None, Some(trust)) => {
                Ok(ListsFrom::Files { trust: trust.clone(), revocations: self.revocation_list.clone() })
            }
            (None, None, None) => Err("no lists: give --lists-url, --lists-dir or --trust-list".into()),
            _ => Err("give exactly one of --lists-url, --lists-dir and --trust-list".into()),
        }
    }

    /// The list-state file, or `None` when the operator opted out; an error when neither
    /// was said (fail closed: a server that forgets what it applied can be rolled back
    /// by a stale mirror after a restart).
    pub fn list_state(&self) -> Result<Option<PathBuf>, String> {
        match (&self.list_state_file, self.no_list_state) {
            (Some(_), true) => Err("give --list-state-file or --no-list-state, not both".into()),
            (Some(path), false) => Ok(Some(path.clone())),
            (None, true) => Ok(None),
            (None, false) => Err("no list state: give --list-state-file FILE (SPEC.md §8.3), or --no-list-state to \
                                  keep it in memory only"
                .into()),
        }
    }

    /// The Redis deadline (default 200 ms).
    pub fn redis_deadline(&self) -> Duration {
        Duration::from_millis(self.redis_deadline_ms.unwrap_or(200))
    }

    /// The reload period (default 60 s, at least 1 s).
    pub fn refresh(&self) -> Duration {
        Duration::from_secs(self.refresh_secs.unwrap_or(60).max(1))
    }

    /// The listen address (default `127.0.0.1:8080`).
    pub fn listen(&self) -> String {
        self.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into())
    }
}

/// The field names serde reads for `T`, from the derive's own list: what the server
/// accepts is what core's configuration and [`Transport`] read, never a copy of it.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Every key a configuration may hold.
pub fn known_keys() -> Vec<&'static str> {
    let mut keys = field_names::<VerifierConfig>().to_vec();
    keys.extend_from_slice(field_names::<Transport>());
    keys
}

impl ServerConfig {
    /// Reads a configuration from one TOML table: unknown keys refused, every value
    /// through core's serde (a scene spelt `metro-gate`, an algorithm spelt `sm2`, a
    /// missing `root_alg` are refused with serde's message).
    pub fn from_table(table: toml::Table) -> Result<ServerConfig, String> {
        let known = known_keys();
        let mut unknown: Vec<&str> = table.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(format!("unknown field {} (known: {})", unknown.join(", "), known.join(", ")));
        }
        table.try_into().map_err(|e: toml::de::Error| e.message().trim().to_string())
    }

    /// Reads a TOML text ([`ServerConfig::from_table`]).
    pub fn from_toml(text: &str) -> Result<ServerConfig, String> {
        ServerConfig::from_table(text.parse::<toml::Table>().map_err(|e| e.message().trim().to_string())?)
    }
}

impl ServerConfig {
    /// The service this configuration describes, on `clock`, logging to `log`. Core
    /// refuses what it must (a root that is not a key of its algorithm, `gm_only` with a
    /// root that is not SM2), and so does the transport (no lists, two list sources, no
    /// list state and no opt-out). With a list-state file the verifier restores the
    /// floors it saved there (SPEC.md §8.3) before it loads anything, and saves them itself
    /// after every load: a file that cannot be read, belongs to another root or cannot be
    /// written stops the service here (`list_state_unavailable`). Call
    /// [`Service::reload`] to load the lists.
    pub fn service(&self, clock: Arc<dyn Clock>, log: LogSink) -> Result<Service, String> {
        let t = &self.transport;
        let lists = match t.lists()? {
            ListsFrom::Url(url) => Lists::Published(Box::new(HttpSource::new(&url))),
            ListsFrom::Dir(dir) => Lists::Published(directory_source(dir)),
            ListsFrom::Files { trust, revocations } => Lists::Files { trust, revocations },
        };
        let state = t.list_state()?;
        let mut v = self.verifier.build().map_err(|r| format!("configuration: {r}"))?;
        if let Some(path) = state {
            let store = Arc::new(citycode::FileListStateStore::new(path));
            v = v.with_list_state_store(store).map_err(|r| format!("list state: {r}"))?;
        }
        if let Some(url) = &t.redis {
            let store = citycode::RedisReplayStore::new(url)
                .map_err(|e| e.to_string())?
                .with_deadline(t.redis_deadline())
                .with_recovery_window(v.replay_window_secs());
            v = v.with_replay_store(Arc::new(store));
        }
        let mut service = Service::new(v, clock, lists, log);
        if t.redis.is_some() {
            service = service.with_network_store();
        }
        if t.log_verdicts {
            service = service.with_verdict_log();
        }
        Ok(service)
    }
}

impl Args {
    /// The configuration: the file (if any), then every option given on the command line
    /// or in the environment over it, read as one table.
    pub fn config(&self) -> Result<ServerConfig, String> {
        let mut table = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                text.parse::<toml::Table>().map_err(|e| format!("{}: {}", path.display(), e.message().trim()))?
            }
            None => toml::Table::new(),
        };
        self.overlay(&mut table)?;
        let config = ServerConfig::from_table(table);
        match &self.config {
            Some(path) => config.map_err(|e| format!("{}: {e}", path.display())),
            None => config,
        }
    }

    fn overlay(&self, t: &mut toml::Table) -> Result<(), String> {
        use toml::Value;
        let mut set = |key: &str, value: Value| {
            t.insert(key.to_string(), value);
        };
        let string = |s: &String| Value::String(s.clone());
        let path = |p: &PathBuf| Value::String(p.to_string_lossy().into_owned());
        if let Some(v) = &self.root_key {
            set("root_key", string(v));
        }
        if let Some(v) = &self.root_alg {
            set("root_alg", string(v));
        }
        if let Some(v) = self.skew_secs {
            set("skew_secs", Value::Integer(v.into()));
        }
        if let Some(v) = self.max_code_validity_secs {
            set("max_code_validity_secs", Value::Integer(v.into()));
        }
        if let Some(v) = self.utc_offset_minutes {
            set("utc_offset_minutes", Value::Integer(v.into()));
        }
        // A flag can only turn these on: a file's `true` stays, failing closed for gm_only.
        if self.gm_only {
            set("gm_only", Value::Boolean(true));
        }
        if self.allow_missing_revocation_list {
            set("allow_missing_revocation_list", Value::Boolean(true));
        }
        if let Some(v) = &self.lists_url {
            set("lists_url", string(v));
        }
        if let Some(v) = &self.lists_dir {
            set("lists_dir", path(v));
        }
        if let Some(v) = &self.trust_list {
            set("trust_list", path(v));
        }
        if !self.revocation_list.is_empty() {
            set("revocation_list", Value::Array(self.revocation_list.iter().map(path).collect()));
        }
        if let Some(v) = &self.list_state_file {
            set("list_state_file", path(v));
        }
        if self.no_list_state {
            set("no_list_state", Value::Boolean(true));
        }
        if let Some(v) = &self.redis {
            set("redis", string(v));
        }
        if let Some(v) = self.redis_deadline_ms {
            set("redis_deadline_ms", Value::Integer(i64::try_from(v).map_err(|_| "--redis-deadline-ms is too large")?));
        }
        if let Some(v) = self.refresh_secs {
            set("refresh_secs", Value::Integer(i64::try_from(v).map_err(|_| "--refresh-secs is too large")?));
        }
        if let Some(v) = &self.listen {
            set("listen", string(v));
        }
        if self.log_verdicts {
            set("log_verdicts", Value::Boolean(true));
        }
        if let Some(scene) = &self.scene {
            let value = if scene.trim_start().starts_with('{') {
                let json: serde_json::Value = serde_json::from_str(scene).map_err(|e| format!("--scene JSON: {e}"))?;
                Value::try_from(json).map_err(|e| format!("--scene JSON: {e}"))?
            } else {
                Value::Table(toml::Table::from_iter([("kind".to_string(), Value::String(scene.clone()))]))
            };
            set("scene", value);
        }
        if let Some(site) = self.site {
            let offset = t.get("utc_offset_minutes").cloned();
            let Some(Value::Table(scene)) = t.get_mut("scene") else {
                return Err("--site needs --scene scenic_spot".into());
            };
            scene.insert("site".into(), Value::Integer(site.into()));
            // The site's day is the server's local day unless the scene says otherwise.
            if !scene.contains_key("utc_offset_minutes") {
                let offset = offset.unwrap_or(Value::Integer(citycode::policy::DEFAULT_UTC_OFFSET_MINUTES.into()));
                scene.insert("utc_offset_minutes".into(), offset);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_known_keys_are_serdes_own_lists() {
        let keys = known_keys();
        for key in ["root_alg", "root_key", "scene", "skew_secs", "gm_only", "allow_missing_revocation_list"] {
            assert!(keys.contains(&key), "{key}: {keys:?}");
        }
        for key in ["lists_url", "list_state_file", "redis", "listen"] {
            assert!(keys.contains(&key), "{key}: {keys:?}");
        }
        // Every key core's configuration serialises (with its flags on) is known.
        let root = citycode::KeyPair::generate(citycode::Algorithm::Ed25519).unwrap().public_key();
        let full = VerifierConfig {
            allow_missing_revocation_list: true,
            gm_only: true,
            ..VerifierConfig::new(&root, citycode::Scene::Parking)
        };
        let json = serde_json::to_value(&full).unwrap();
        for key in json.as_object().unwrap().keys() {
            assert!(keys.contains(&key.as_str()), "{key}");
        }
    }
}
