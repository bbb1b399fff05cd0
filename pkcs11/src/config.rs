//! Which token key to use: the configuration a CLI or a service reads (TOML or JSON),
//! an RFC 7512 `pkcs11:` URI as an alternative to labels, and the PIN, which comes from
//! a file or an environment variable and never from a command line.

use std::fmt;
use std::path::{Path, PathBuf};

use citycode::Algorithm;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::TokenError;

/// Sessions a signer opens by default: enough for two cores to sign at once with room
/// for a network HSM's latency.
pub const DEFAULT_SESSIONS: usize = 4;

/// Where a root or issuer key lives in a PKCS#11 token, and how to log in to it.
///
/// ```toml
/// module = "/usr/lib/softhsm/libsofthsm2.so"   # the vendor's PKCS#11 library
/// token = "city-root"                           # token label (or `uri`)
/// key_label = "root-2026"                       # CKA_LABEL of the key pair (and/or `key_id`)
/// pin_file = "/etc/citycode/root.pin"           # or pin_env = "CITYCODE_ROOT_PIN"
/// algorithm = "ed25519"                         # or "ecdsa_p256_sha256", "sm2_sm3"
/// ```
///
/// Or with a URI: `uri = "pkcs11:token=city-root;object=root-2026;type=private"` in place
/// of `token`, `key_label` and `key_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenKeyConfig {
    /// Path of the PKCS#11 library (the token vendor's module). May instead come from
    /// the URI's `module-path` query attribute.
    #[serde(default)]
    pub module: Option<PathBuf>,
    /// The token's label (`CKA_LABEL` of the token, as `pkcs11-tool -L` shows it).
    #[serde(default)]
    pub token: Option<String>,
    /// An RFC 7512 URI naming the token and the key, instead of `token`, `key_label`
    /// and `key_id`.
    #[serde(default)]
    pub uri: Option<String>,
    /// The key pair's `CKA_LABEL`.
    #[serde(default)]
    pub key_label: Option<String>,
    /// The key pair's `CKA_ID`, in hex.
    #[serde(default)]
    pub key_id: Option<String>,
    /// A file holding the user PIN (one line; readable by its owner only).
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// An environment variable holding the user PIN.
    #[serde(default)]
    pub pin_env: Option<String>,
    /// The key's algorithm.
    #[serde(alias = "alg")]
    pub algorithm: Algorithm,
    /// Sessions in the pool, 1 to 64: signatures run concurrently up to this many where
    /// the token allows (default [`DEFAULT_SESSIONS`]).
    #[serde(default = "default_sessions")]
    pub sessions: usize,
    /// Accept a private key that is extractable or not sensitive (refused by default:
    /// such a key is no better kept than a key file).
    #[serde(default)]
    pub allow_extractable: bool,
    /// SM2 only: the token vendor's mechanisms and key type (PKCS#11 defines none).
    #[serde(default)]
    pub sm2: Option<Sm2Mechanisms>,
}

/// The vendor-defined ids an SM2 token uses (from its PKCS#11 documentation). The signing
/// mechanism takes the whole message and computes `SM3(Z_A ‖ M)` with the default user
/// id `1234567812345678` inside the token, as SM3-with-SM2 mechanisms do; its signature
/// is `r ‖ s` or DER (both are accepted, then checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sm2Mechanisms {
    /// The SM3-with-SM2 signing mechanism (`CKM_VENDOR_DEFINED` or above).
    pub sign: u64,
    /// The key-pair generation mechanism, for `keygen` in the token.
    #[serde(default)]
    pub generate: Option<u64>,
    /// The token's key type for SM2 keys, if not `CKK_EC` with the SM2 curve's OID.
    #[serde(default)]
    pub key_type: Option<u64>,
}

fn default_sessions() -> usize {
    DEFAULT_SESSIONS
}

/// Which token and which key, after the URI or the labels are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) module: PathBuf,
    pub(crate) token: TokenMatch,
    pub(crate) key_label: Option<String>,
    pub(crate) key_id: Option<Vec<u8>>,
    pub(crate) pin: PinSource,
}

/// The attributes a token must have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenMatch {
    pub(crate) label: String,
    pub(crate) serial: Option<String>,
    pub(crate) manufacturer: Option<String>,
    pub(crate) model: Option<String>,
}

/// Where the PIN comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PinSource {
    File(PathBuf),
    Env(String),
}

impl TokenKeyConfig {
    /// Reads a configuration file: JSON if its name ends in `.json`, TOML otherwise.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::Config(format!("{}: {e}", path.display())))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|e| TokenError::Config(format!("{}: {e}", path.display())))
    }

    /// The key's description for messages: the URI, or `token/label`.
    pub fn describe(&self) -> String {
        match &self.uri {
            Some(uri) => uri.clone(),
            None => format!(
                "token {:?}, key {}",
                self.token.as_deref().unwrap_or(""),
                match (&self.key_label, &self.key_id) {
                    (Some(l), Some(i)) => format!("{l:?} (id {i})"),
                    (Some(l), None) => format!("{l:?}"),
                    (None, Some(i)) => format!("id {i}"),
                    (None, None) => "?".into(),
                }
            ),
        }
    }

    /// Checks the configuration and resolves the URI: exactly one of `token` and `uri`,
    /// a key label or id, exactly one PIN source, a module path, 1 to 64 sessions, and
    /// for SM2 the vendor's mechanism.
    pub(crate) fn selection(&self) -> Result<Selection, TokenError> {
        let bad = |m: &str| Err(TokenError::Config(m.into()));
        if !(1..=64).contains(&self.sessions) {
            return bad("sessions must be 1 to 64");
        }
        if self.algorithm == Algorithm::Sm2Sm3 && self.sm2.is_none() {
            return bad("an SM2 key needs [sm2] sign = <the vendor's mechanism id>: PKCS#11 defines no SM2 mechanism");
        }
        let mut module = self.module.clone();
        let mut pin_file = self.pin_file.clone();
        let (token, key_label, key_id) = match (&self.token, &self.uri) {
            (Some(_), Some(_)) => return bad("give token or uri, not both"),
            (None, None) => return bad("give token (a label) or uri (pkcs11:...)"),
            (Some(label), None) => {
                let key_id = self.key_id.as_deref().map(parse_hex_id).transpose()?;
                (TokenMatch { label: label.clone(), ..TokenMatch::default() }, self.key_label.clone(), key_id)
            }
            (None, Some(uri)) => {
                if self.key_label.is_some() || self.key_id.is_some() {
                    return bad("with a uri, name the key in it (object=, id=), not in key_label or key_id");
                }
                let parsed = Pkcs11Uri::parse(uri)?;
                if let Some(path) = parsed.module_path {
                    if module.is_some() {
                        return bad("give module or the uri's module-path, not both");
                    }
                    module = Some(path);
                }
                if let Some(path) = parsed.pin_source {
                    if pin_file.is_some() || self.pin_env.is_some() {
                        return bad("give one PIN source: the uri's pin-source, pin_file or pin_env");
                    }
                    pin_file = Some(path);
                }
                (parsed.token, parsed.object, parsed.id)
            }
        };
        if token.label.is_empty() {
            return bad("the token label is empty");
        }
        if key_label.is_none() && key_id.is_none() {
            return bad("name the key: key_label or key_id (object= or id= in a uri)");
        }
        let pin = match (pin_file, &self.pin_env) {
            (Some(path), None) => PinSource::File(path),
            (None, Some(var)) => PinSource::Env(var.clone()),
            (Some(_), Some(_)) => return bad("give pin_file or pin_env, not both"),
            (None, None) => return bad("give pin_file or pin_env: the PIN is never taken from a command line"),
        };
        let module = match module {
            Some(m) => m,
            None => return bad("give module: the path of the token's PKCS#11 library"),
        };
        Ok(Selection { module, token, key_label, key_id, pin })
    }
}

fn parse_hex_id(h: &str) -> Result<Vec<u8>, TokenError> {
    citycode::text::unhex(h)
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| TokenError::Config(format!("key_id {h:?} is not hex")))
}

/// The user PIN. Zeroized when dropped; `Debug` never shows it.
pub(crate) struct Pin(pub(crate) Zeroizing<String>);

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl PinSource {
    /// Reads the PIN. A file must not be readable by group or others; one trailing line
    /// end is dropped.
    pub(crate) fn read(&self) -> Result<Pin, TokenError> {
        let pin = match self {
            PinSource::File(path) => {
                let err = |e: std::io::Error| TokenError::PinSource(format!("{}: {e}", path.display()));
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let mode = std::fs::metadata(path).map_err(err)?.permissions().mode();
                    if mode & 0o077 != 0 {
                        return Err(TokenError::PinSource(format!(
                            "{} is readable by others (mode {:o}): chmod 600 it",
                            path.display(),
                            mode & 0o777
                        )));
                    }
                }
                let mut text = Zeroizing::new(std::fs::read_to_string(path).map_err(err)?);
                for end in ["\n", "\r"] {
                    if text.ends_with(end) {
                        text.pop();
                    }
                }
                text
            }
            PinSource::Env(var) => Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| TokenError::PinSource(format!("environment variable {var} is not set")))?,
            ),
        };
        if pin.is_empty() {
            return Err(TokenError::PinSource("the PIN is empty".into()));
        }
        Ok(Pin(pin))
    }
}

/// The parts of an RFC 7512 `pkcs11:` URI that select a token key.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pkcs11Uri {
    pub(crate) token: TokenMatch,
    pub(crate) object: Option<String>,
    pub(crate) id: Option<Vec<u8>>,
    pub(crate) module_path: Option<PathBuf>,
    pub(crate) pin_source: Option<PathBuf>,
}

impl Pkcs11Uri {
    /// Parses a URI strictly: path attributes `token`, `object`, `id`, `type` (only
    /// `private`), `serial`, `manufacturer`, `model`; query attributes `module-path` and
    /// `pin-source` (a file path or `file:` URI). Any other attribute, a repeated one,
    /// `pin-value` (a PIN in a configuration string) or a bad percent-escape is refused:
    /// a URI this reader does not fully understand could select another key.
    pub(crate) fn parse(uri: &str) -> Result<Self, TokenError> {
        let bad = |m: String| TokenError::Config(format!("pkcs11 URI: {m}"));
        let rest = uri.strip_prefix("pkcs11:").ok_or_else(|| bad("does not start with pkcs11:".into()))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        let mut label = None;
        let mut seen: Vec<String> = Vec::new();
        let attributes = path.split(';').filter(|a| !a.is_empty()).map(|a| (a, false));
        let queries = query.into_iter().flat_map(|q| q.split('&')).filter(|a| !a.is_empty()).map(|a| (a, true));
        for (attribute, in_query) in attributes.chain(queries) {
            let (name, value) = attribute.split_once('=').ok_or_else(|| bad(format!("{attribute:?} has no value")))?;
            if seen.iter().any(|s| s == name) {
                return Err(bad(format!("{name} appears twice")));
            }
            seen.push(name.to_string());
            let bytes = percent_decode(value).ok_or_else(|| bad(format!("bad percent-escape in {name}")))?;
            let text = || String::from_utf8(bytes.clone()).map_err(|_| bad(format!("{name} is not UTF-8")));
            match (name, in_query) {
                ("token", false) => label = Some(text()?),
                ("object", false) => out.object = Some(text()?),
                ("id", false) if !bytes.is_empty() => out.id = Some(bytes.clone()),
                ("type", false) if bytes == b"private" => {}
                ("type", false) => return Err(bad("type must be private (the signing key)".into())),
                ("serial", false) => out.token.serial = Some(text()?),
                ("manufacturer", false) => out.token.manufacturer = Some(text()?),
                ("model", false) => out.token.model = Some(text()?),
                ("module-path", true) => out.module_path = Some(PathBuf::from(text()?)),
                ("pin-source", true) => {
                    let source = text()?;
                    out.pin_source = Some(PathBuf::from(source.strip_prefix("file:").unwrap_or(&source)));
                }
                ("pin-value", true) => {
                    return Err(bad("pin-value is refused: give the PIN in a file or an environment variable".into()));
                }
                _ => return Err(bad(format!("attribute {name} is not supported here"))),
            }
        }
        out.token.label = label.ok_or_else(|| bad("no token= attribute".into()))?;
        Ok(out)
    }
}

/// RFC 3986 percent-decoding; `None` on a bad escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Result<TokenKeyConfig, toml::de::Error> {
        toml::from_str(&format!("algorithm = \"ed25519\"\n{extra}"))
    }

    #[test]
    fn a_uri_selects_token_key_module_and_pin_file() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=City%20Root;object=root-2026;id=%01%02;type=private;serial=abc?module-path=/opt/hsm/lib.so&pin-source=file:/etc/pin",
        )
        .unwrap();
        assert_eq!(uri.token.label, "City Root");
        assert_eq!(uri.token.serial.as_deref(), Some("abc"));
        assert_eq!(uri.object.as_deref(), Some("root-2026"));
        assert_eq!(uri.id, Some(vec![1, 2]));
        assert_eq!(uri.module_path, Some(PathBuf::from("/opt/hsm/lib.so")));
        assert_eq!(uri.pin_source, Some(PathBuf::from("/etc/pin")));
    }

    #[test]
    fn uris_that_could_select_another_key_or_carry_a_pin_are_refused() {
        for uri in [
            "pkcs11:object=k",                        // no token
            "pkcs11:token=t;object=k;type=public",    // not the private key
            "pkcs11:token=t;object=k;slot-id=3",      // an attribute not understood
            "pkcs11:token=t;token=u;object=k",        // repeated
            "pkcs11:token=t;object=k?pin-value=1234", // a PIN in the string
            "pkcs11:token=t;object=%zz",              // bad escape
            "pkcs11:token=t;object=%4",               // short escape
            "pkcs11:token=t;object",                  // no value
            "pkcs11:token=t;object=%ff",              // not UTF-8
            "pkcs12:token=t;object=k",                // not pkcs11
        ] {
            assert!(matches!(Pkcs11Uri::parse(uri), Err(TokenError::Config(_))), "{uri}");
        }
    }

    #[test]
    fn a_configuration_needs_one_token_one_key_name_one_pin_source_and_a_module() {
        let ok = config("module = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"\npin_env = \"P\"").unwrap();
        let s = ok.selection().unwrap();
        assert_eq!(s.token.label, "t");
        assert_eq!(s.key_label.as_deref(), Some("k"));
        assert_eq!(s.pin, PinSource::Env("P".into()));
        assert_eq!(ok.sessions, DEFAULT_SESSIONS);
        for (extra, why) in [
            ("module = \"/m.so\"\nkey_label = \"k\"\npin_env = \"P\"", "no token"),
            ("module = \"/m.so\"\ntoken = \"t\"\nuri = \"pkcs11:token=t;object=k\"\npin_env = \"P\"", "token and uri"),
            ("module = \"/m.so\"\ntoken = \"t\"\npin_env = \"P\"", "no key"),
            ("module = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"", "no PIN source"),
            (
                "module = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"\npin_env = \"P\"\npin_file = \"/p\"",
                "two PIN sources",
            ),
            ("token = \"t\"\nkey_label = \"k\"\npin_env = \"P\"", "no module"),
            ("module = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"\npin_env = \"P\"\nsessions = 0", "no session"),
            ("module = \"/m.so\"\ntoken = \"t\"\nkey_id = \"zz\"\npin_env = \"P\"", "id not hex"),
            ("module = \"/m.so\"\nuri = \"pkcs11:token=t;object=k\"\nkey_label = \"k\"\npin_env = \"P\"", "key twice"),
            ("uri = \"pkcs11:token=t;object=k?pin-source=/p\"\nmodule = \"/m.so\"\npin_env = \"P\"", "two PIN sources"),
        ] {
            let c = config(extra).unwrap();
            assert!(matches!(c.selection(), Err(TokenError::Config(_))), "{why}");
        }
        // SM2 needs the vendor's mechanism.
        let sm2: TokenKeyConfig = toml::from_str(
            "algorithm = \"sm2_sm3\"\nmodule = \"/m.so\"\ntoken = \"t\"\nkey_label = \"k\"\npin_env = \"P\"",
        )
        .unwrap();
        assert!(matches!(sm2.selection(), Err(TokenError::Config(_))));
        // Unknown fields are refused (a misspelt pin_file must not go unnoticed).
        assert!(config("pin_fiel = \"/p\"").is_err());
        // `alg` is accepted as the field's short name, JSON as well as TOML.
        let json: TokenKeyConfig = serde_json::from_str(
            r#"{"alg": "ecdsa_p256_sha256", "uri": "pkcs11:token=t;object=k?module-path=/m.so", "pin_env": "P"}"#,
        )
        .unwrap();
        assert_eq!(json.algorithm, Algorithm::EcdsaP256Sha256);
        assert_eq!(json.selection().unwrap().module, PathBuf::from("/m.so"));
    }

    #[test]
    fn the_pin_comes_from_a_private_file_or_the_environment_and_never_shows() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "4321\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(PinSource::File(path.clone()).read(), Err(TokenError::PinSource(_))), "world-readable");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let pin = PinSource::File(path.clone()).read().unwrap();
        assert_eq!(pin.0.as_str(), "4321");
        assert!(!format!("{pin:?}").contains("4321"));
        assert!(matches!(PinSource::File(dir.path().join("none")).read(), Err(TokenError::PinSource(_))));
        assert!(matches!(
            PinSource::Env("CITYCODE_PKCS11_TEST_UNSET_VARIABLE".into()).read(),
            Err(TokenError::PinSource(_))
        ));
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(PinSource::File(path).read(), Err(TokenError::PinSource(_))), "empty");
    }
}
