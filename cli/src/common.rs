//! What every command shares: the failure and its exit code, key files and signers,
//! reading and writing files, JSON output, the clock, and the arguments several
//! commands take (the root key, the scene).

use std::fs;
use std::path::{Path, PathBuf};

use citycode::text::unhex;
use citycode::{Algorithm, DeviceSigner, KeyPair, PublicKey, Scene};
use citycode_pkcs11::{TokenError, TokenKeyConfig};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

/// A failure with its exit code.
pub enum Failure {
    /// Bad input or usage (2).
    Input(String),
    /// A file problem (3).
    Io(String),
    /// The code was rejected (1); the JSON was already printed.
    Rejected,
}

impl From<citycode::Rejection> for Failure {
    fn from(r: citycode::Rejection) -> Self {
        Failure::Input(r.to_string())
    }
}

impl From<citycode::Error> for Failure {
    fn from(e: citycode::Error) -> Self {
        Failure::Input(e.to_string())
    }
}

impl From<citycode::print_card::CardError> for Failure {
    fn from(e: citycode::print_card::CardError) -> Self {
        use citycode::print_card::CardError;
        match e {
            CardError::FontUnreadable { .. } => Failure::Io(format!(
                "{}: {e} (install Debian's fonts-noto-cjk, or pass --font with an OpenType CJK font such as \
Noto Sans CJK SC)",
                e.code()
            )),
            e => Failure::Input(format!("{}: {e}", e.code())),
        }
    }
}

impl From<citycode::Reason> for Failure {
    fn from(r: citycode::Reason) -> Self {
        Failure::Input(r.to_string())
    }
}

/// A command's result.
pub type Result<T> = std::result::Result<T, Failure>;

#[derive(Args)]
pub struct RootArgs {
    /// The root key file (only its public key is read) ...
    #[arg(long = "root", conflicts_with = "root_key")]
    root_file: Option<PathBuf>,
    /// ... or the root public key in hex.
    #[arg(long)]
    root_key: Option<String>,
    /// Algorithm of --root-key: ed25519, ecdsa_p256_sha256 or sm2_sm3.
    #[arg(long, value_parser = algorithm, default_value = "ed25519")]
    root_alg: Algorithm,
}

impl RootArgs {
    /// The root public key, from the key file or the hex.
    pub fn key(&self) -> Result<PublicKey> {
        match (&self.root_file, &self.root_key) {
            (Some(path), _) => Ok(KeyFile::load(path)?.1.public_key()),
            (None, Some(h)) => {
                let bytes = unhex(h).map_err(|_| Failure::Input("--root-key is not hex".into()))?;
                Ok(PublicKey::from_bytes(self.root_alg, &bytes)?)
            }
            (None, None) => Err(Failure::Input("give --root FILE or --root-key HEX".into())),
        }
    }
}

#[derive(Args)]
pub struct SceneArgs {
    /// The scene, by core's name (as in JSON and every other citycode tool): hospital,
    /// scenic_spot (with --site), parking, metro_gate or hotel_check_in.
    #[arg(long, default_value = "metro_gate")]
    scene: String,
    /// Site id (scenic_spot).
    #[arg(long, default_value_t = 0)]
    site: u32,
    /// Local UTC offset in minutes: the scenic spot's day, and the day a health status
    /// ends (at local midnight, SPEC.md §11).
    #[arg(long, default_value_t = citycode::policy::DEFAULT_UTC_OFFSET_MINUTES, allow_hyphen_values = true)]
    pub utc_offset_minutes: i32,
}

impl SceneArgs {
    /// The scene through core's serde: one spelling of every scene, core's.
    pub fn scene(&self) -> Result<Scene> {
        let scene = json!({"kind": self.scene, "site": self.site, "utc_offset_minutes": self.utc_offset_minutes});
        serde_json::from_value(scene).map_err(|e| Failure::Input(format!("--scene {}: {e}", self.scene)))
    }
}

/// An algorithm by core's name.
pub fn algorithm(name: &str) -> std::result::Result<Algorithm, String> {
    Algorithm::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

#[derive(Clone, Copy, ValueEnum, Serialize, Deserialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Root,
    Issuer,
    Device,
}

/// A key file. The secret is hex, zeroized when dropped, and never printed unless asked.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    pub kind: KeyKind,
    pub algorithm: Algorithm,
    pub public_key: String,
    pub secret: Zeroizing<String>,
}

impl KeyFile {
    /// The algorithm of a key file, without reading its secret.
    pub fn algorithm(path: &Path) -> Result<Algorithm> {
        #[derive(Deserialize)]
        struct Head {
            algorithm: Algorithm,
        }
        let head: Head = serde_json::from_str(&read_text(path)?)
            .map_err(|e| Failure::Input(format!("{}: not a key file: {e}", path.display())))?;
        Ok(head.algorithm)
    }

    pub fn load(path: &Path) -> Result<(KeyKind, KeyPair)> {
        let text = Zeroizing::new(read_text(path)?);
        let file: KeyFile = serde_json::from_str(&text)
            .map_err(|e| Failure::Input(format!("{}: not a key file: {e}", path.display())))?;
        let secret = Zeroizing::new(
            unhex(&file.secret).map_err(|_| Failure::Input(format!("{}: secret is not hex", path.display())))?,
        );
        Ok((file.kind, KeyPair::from_secret_bytes(file.algorithm, &secret)?))
    }
}

/// A signing key named on the command line: a key file, or `token:CONFIG` for a key in
/// a PKCS#11 token (the configuration names the module, token, key and PIN source).
pub type Signer = Box<dyn DeviceSigner + Send + Sync>;

/// The prefix that marks a token key configuration where a key file may stand.
const TOKEN_PREFIX: &str = "token:";

pub fn load_signer(arg: &Path) -> Result<Signer> {
    match arg.to_str().and_then(|a| a.strip_prefix(TOKEN_PREFIX)) {
        Some(config) => {
            let config = TokenKeyConfig::from_file(Path::new(config)).map_err(token_failure)?;
            citycode_pkcs11::open_boxed(&config).map_err(token_failure)
        }
        None => Ok(Box::new(KeyFile::load(arg)?.1)),
    }
}

/// A token error, with its stable code first (`wrong_pin: the token refused the PIN`).
pub fn token_failure(e: TokenError) -> Failure {
    Failure::Input(format!("{}: {e}", e.code()))
}

pub fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

pub fn read_stdin() -> Result<String> {
    std::io::read_to_string(std::io::stdin()).map_err(|e| Failure::Io(format!("stdin: {e}")))
}

pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

pub fn json_file<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_text(path)?).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

pub fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

pub fn now_secs() -> u64 {
    use citycode::Clock as _;
    citycode::SystemClock.now()
}

/// `N` bytes from exactly `2 N` hex digits; `what` names the value in the error.
pub fn fixed<const N: usize>(h: &str, what: &str) -> Result<[u8; N]> {
    unhex(h)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Failure::Input(format!("{what} must be {} hex digits", 2 * N)))
}
