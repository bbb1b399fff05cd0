//! `citycode`: the operator's tool for keys, trust and revocation lists, credentials,
//! codes and QR images. JSON in and out; exit codes: 0 success (or accept), 1 the code
//! was rejected, 2 bad input or usage, 3 a file could not be read or written.

mod replay_store;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use citycode::claims::IdDigest;
use citycode::distribution::{ListStatus, STATUS_FILE, STATUS_INDEX_FILE};
use citycode::text::{encode_base64url, hex, unhex};
use citycode::{
    Algorithm, CardLayout, Claims, Credential, CredentialRequest, DeviceSigner, Issuer, IssuerKey, KeyPair, KeyRequest,
    ListSigner, PresentOptions, PublicKey, Qr, RevocationList, Revoked, Scene, Subject, TrustList, UnverifiedCode,
};
use citycode_pkcs11::{TokenError, TokenKeyConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

const EXAMPLES: &str = "Examples:
  citycode demo
  citycode keygen --kind root --out root.json
  citycode keygen --kind issuer --out issuer.json
  citycode keygen --kind root --token root-token.toml
  citycode keygen --kind device --alg ecdsa_p256_sha256 --out device.json
  citycode trust-list sign --root root.json --spec trust.json --out trust.bin
  citycode trust-list sign --root token:root-token.toml --spec trust.json --out trust.bin
  citycode trust-list inspect --root root.json trust.bin
  citycode issue --issuer issuer.json --kid 1 --device device.json --claims claims.json --out credential.txt
  citycode present --credential credential.txt --device device.json --scene metro_gate
  citycode verify --root root.json --trust-list trust.bin --revocation-list revocations.bin --scene metro_gate CC1:0031...
  citycode render CC1:0031... --format png --out code.png
  citycode verify --root root.json --trust-list trust.bin --revocation-list revocations.bin --scene metro_gate --image code.png
  citycode inspect CC1:0031...
  citycode publish --root root.json --trust-list trust.bin --revocation-list revocations.bin --out public/
  citycode lists --root root.json --dir public/";

#[derive(Parser)]
#[command(name = "citycode", version, about = "Issue, present, verify and render citycode city codes", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the end-to-end story on embedded demo keys: issue, present at four scenes, verify.
    Demo {
        /// Do not draw the QR symbols.
        #[arg(long)]
        no_qr: bool,
    },
    /// Generate a root, issuer or device key into a new file (mode 0600), or a root or
    /// issuer key inside a PKCS#11 token (--token), which prints only its public key.
    Keygen {
        /// What the key is for (recorded in the file).
        #[arg(long, value_enum)]
        kind: KeyKind,
        /// Algorithm: ed25519, ecdsa_p256_sha256 or sm2_sm3 (core's names, as in JSON; default
        /// ed25519; with --token, the configuration's).
        #[arg(long, value_parser = algorithm)]
        alg: Option<Algorithm>,
        /// The key file to create ...
        #[arg(long, required_unless_present = "token", conflicts_with = "token")]
        out: Option<PathBuf>,
        /// ... or the token key configuration (TOML or JSON: module, token or uri,
        /// key_label or key_id, pin_file or pin_env, algorithm): the key pair is created
        /// inside the token, sensitive and never extractable.
        #[arg(long, conflicts_with_all = ["force", "show_secret"])]
        token: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Also print the secret (it is never printed otherwise).
        #[arg(long)]
        show_secret: bool,
    },
    /// Build, sign and inspect trust lists.
    #[command(subcommand)]
    TrustList(TrustListCommand),
    /// Publish signed lists for verifiers to fetch: copies them under their fixed names
    /// into a directory any static web server can serve, with status.bin, a root-signed
    /// index of their sequences, expiries and digests (SPEC.md §8.4).
    Publish {
        /// The root key (signs status.bin): a key file, or token:CONFIG.
        #[arg(long)]
        root: PathBuf,
        /// The signed trust list.
        #[arg(long)]
        trust_list: PathBuf,
        /// Signed revocation lists (at most one per signer).
        #[arg(long)]
        revocation_list: Vec<PathBuf>,
        /// Status sequence number (default: now, in Unix seconds, or one above the
        /// directory's last status if that is higher; a value not above it is refused).
        #[arg(long)]
        sequence: Option<u64>,
        /// Seconds until the status is reported stale.
        #[arg(long, default_value_t = 3600)]
        valid_secs: u32,
        /// The directory to write (created if missing; files are replaced, status.bin last).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a revocation list with the root key, or an issuer key (--issuer-kid).
    Revoke {
        /// The signing key: a key file, or token:CONFIG.
        #[arg(long)]
        key: PathBuf,
        /// Sign as this issuer key id instead of the root.
        #[arg(long)]
        issuer_kid: Option<u32>,
        /// JSON: {"sequence", "issued_at", "expires_at", "cards": [hex], "subjects": [hex], "device_keys": [hex]}.
        #[arg(long)]
        spec: PathBuf,
        /// Where to write the signed list.
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a printed code (SPEC.md §5.1) for a resident with no phone: claims JSON with
    /// identity, valid up to 180 days. Prints its QR text and subject (revoke the subject
    /// of the previous code when reissuing).
    IssuePrinted {
        /// The issuer key: a key file, or token:CONFIG.
        #[arg(long)]
        issuer: PathBuf,
        /// The issuer's key id in the trust list.
        #[arg(long)]
        kid: u32,
        /// Domain ids the issuer may attest.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6,7")]
        scope: Vec<u32>,
        /// Claims JSON, with `identity` (`citycode identity`).
        #[arg(long)]
        claims: PathBuf,
        /// Subject id, 16 hex digits (default: random).
        #[arg(long)]
        subject: Option<String>,
        /// First UTC day of validity (default: today).
        #[arg(long)]
        valid_from_day: Option<u16>,
        /// Days of validity, 1 to 180.
        #[arg(long, default_value_t = 180)]
        days: u8,
        /// Write the QR text here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render a printed code as its A6 card for printing: the symbol, the masked name and
    /// the validity dates.
    RenderCard {
        /// The printed code's QR text, or a file holding it.
        code: String,
        /// `svg` or `pdf`.
        #[arg(long, value_enum, default_value = "pdf")]
        format: CardFormat,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// The OpenType font (or collection) the PDF embeds a subset of; it must have a
        /// glyph for every character of the masked name. Default: Debian's fonts-noto-cjk.
        #[arg(long, default_value = citycode::print_card::DEFAULT_FONT_PATH)]
        font: PathBuf,
        /// The face of a font collection, by family or full name. Default: the first of
        /// "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN".
        #[arg(long)]
        font_family: Option<String>,
    },
    /// The identity claim for a claims JSON (SPEC.md §4.3): the name and a commitment,
    /// with a fresh salt, to the identity document's number, which it never holds.
    Identity {
        /// The name as on the identity document.
        #[arg(long)]
        name: String,
        /// The identity document's number, or `-` to read it from stdin (keeps it out of
        /// the process list and the shell history).
        #[arg(long)]
        number: String,
        /// The issuer key file that will sign the claims: the commitment's digest follows
        /// its algorithm (SM3 for an SM2 key, as a GM-only city's verifiers require;
        /// SHA-256 otherwise). Only its `algorithm` is read.
        #[arg(long, conflicts_with = "sm3")]
        issuer: Option<PathBuf>,
        /// Commit with SM3 (GM-only cities) without naming the issuer key.
        #[arg(long)]
        sm3: bool,
    },
    /// Check an identity document's number against a verdict's or a claims file's
    /// identity (JSON `{"name", "digest", "salt", "commitment"}`); exit 0 if it matches, 1 if not.
    CheckId {
        /// The identity JSON file (`-` for stdin).
        #[arg(long)]
        identity: PathBuf,
        /// The number the ID-card reader read, or `-` for stdin.
        #[arg(long)]
        number: String,
    },
    /// Issue a credential for a device key from a claims JSON. A `guardian` member
    /// (`{"relation": "child"}`) issues a dependant's credential to a guardian's device
    /// key (SPEC.md §4.9).
    Issue {
        /// The issuer key: a key file, or token:CONFIG.
        #[arg(long)]
        issuer: PathBuf,
        /// The issuer's key id in the trust list.
        #[arg(long)]
        kid: u32,
        /// Domain ids the issuer may attest (default: 1-7).
        #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6,7")]
        scope: Vec<u32>,
        /// The holder's device key file: the proof of possession (SPEC.md §4.7) is made
        /// with it over a fresh challenge ...
        #[arg(long, conflicts_with = "key_request")]
        device: Option<PathBuf>,
        /// ... or the holder's key request (base64url, `citycode key-request`) over
        /// --challenge.
        #[arg(long, requires = "challenge")]
        key_request: Option<String>,
        /// The challenge (hex) this issuer gave the holder for --key-request.
        #[arg(long)]
        challenge: Option<String>,
        /// Claims JSON (names as in SPEC.md §4.3).
        #[arg(long)]
        claims: PathBuf,
        /// Subject id, 16 hex digits (default: random).
        #[arg(long)]
        subject: Option<String>,
        /// First UTC day of validity (default: today).
        #[arg(long)]
        valid_from_day: Option<u16>,
        /// Days of validity.
        #[arg(long, default_value_t = 7)]
        days: u8,
        /// Write the credential (base64url) here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The holder's side of issuance: sign the issuer's challenge with the device key
    /// (SPEC.md §4.7) and print the key request to send.
    KeyRequest {
        /// The device key file.
        #[arg(long)]
        device: PathBuf,
        /// The issuer's challenge, 16 to 64 bytes in hex.
        #[arg(long)]
        challenge: String,
    },
    /// Build a code from a credential and device key.
    Present {
        /// The credential file (base64url).
        #[arg(long)]
        credential: PathBuf,
        /// The device key file.
        #[arg(long)]
        device: PathBuf,
        #[command(flatten)]
        scene: SceneArgs,
        /// Disclose these domain ids, whole, instead of what the scene reads.
        #[arg(long, value_delimiter = ',')]
        domains: Option<Vec<u32>>,
        /// Unix time (default: now).
        #[arg(long)]
        now: Option<u64>,
        /// Seconds of validity.
        #[arg(long, default_value_t = 60)]
        validity: u8,
        /// Print JSON (text, expiry, sizes) instead of the bare text.
        #[arg(long)]
        json: bool,
    },
    /// Verify a code: exit 0 and the claims if accepted, exit 1 and the reason if not.
    Verify {
        /// The code text; or use --image or --stdin.
        text: Option<String>,
        /// Decode the code from a QR image file.
        #[arg(long, conflicts_with_all = ["text", "stdin"])]
        image: Option<PathBuf>,
        /// Read the code text from standard input.
        #[arg(long, conflicts_with = "text")]
        stdin: bool,
        #[command(flatten)]
        root: RootArgs,
        /// The signed trust list file.
        #[arg(long)]
        trust_list: PathBuf,
        /// Signed revocation list files, loaded in order.
        #[arg(long)]
        revocation_list: Vec<PathBuf>,
        #[command(flatten)]
        scene: SceneArgs,
        /// TESTING ONLY: verify as if the clock said this Unix time, instead of this
        /// machine's clock (replaying logs, tests).
        #[arg(long = "insecure-test-now", value_name = "UNIX")]
        now: Option<u64>,
        /// Allowed clock skew, seconds.
        #[arg(long, default_value_t = 30)]
        skew: u32,
        /// Accept codes without any revocation list (refused by default); accepted
        /// verdicts then carry "revocation_checked": false.
        #[arg(long, conflicts_with = "revocation_list")]
        no_revocation: bool,
        /// Accept only the national algorithms (SPEC.md §4.6): the root, every issuer
        /// key and every device key SM2, every digest SM3.
        #[arg(long)]
        gm_only: bool,
        /// Where accepted codes are remembered across runs, until they expire: a file
        /// every run that names it shares, locked while it is read and written, so a code
        /// is accepted once and `replayed` after. Default: the user's state directory,
        /// $XDG_STATE_HOME/citycode/replay (else ~/.local/state/citycode/replay).
        #[arg(long, value_name = "FILE")]
        replay_store: Option<PathBuf>,
        /// Remember nothing across runs: every run accepts the same code again. For
        /// checking a code's contents, never at a gate.
        #[arg(long, conflicts_with = "replay_store")]
        no_replay_store: bool,
    },
    /// Render a code as a QR image: SVG, PNG or terminal text.
    Render {
        /// The code text.
        text: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "terminal")]
        format: Format,
        /// Output file (required for png).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Pixels per module (svg, png).
        #[arg(long, default_value_t = 8)]
        scale: u32,
    },
    /// Show what a code contains WITHOUT verifying it.
    Inspect {
        /// The code text.
        text: String,
    },
    /// Load signed lists as a terminal would (a published directory, or list files) and
    /// print what the verifier then holds and whether it would accept codes now: exit 0
    /// if ready, 1 with the reason if not.
    Lists {
        #[command(flatten)]
        root: RootArgs,
        /// A published directory (citycode publish): status.bin and the lists it names ...
        #[arg(long, conflicts_with_all = ["trust_list", "revocation_list"])]
        dir: Option<PathBuf>,
        /// ... or a signed trust list file ...
        #[arg(long)]
        trust_list: Option<PathBuf>,
        /// ... and signed revocation list files, loaded in order.
        #[arg(long)]
        revocation_list: Vec<PathBuf>,
        /// TESTING ONLY: readiness as if the clock said this Unix time.
        #[arg(long = "insecure-test-now", value_name = "UNIX")]
        now: Option<u64>,
    },
}

#[derive(Subcommand)]
enum TrustListCommand {
    /// Sign a trust list from a JSON spec with the root key.
    Sign {
        /// The root key: a key file, or token:CONFIG for a key in a PKCS#11 token.
        #[arg(long)]
        root: PathBuf,
        /// JSON: {"sequence", "issued_at", "expires_at", "issuers": [{"kid", "algorithm", "public_key", "not_before", "not_after", "domains"}]}.
        #[arg(long)]
        spec: PathBuf,
        /// Where to write the signed list.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a signed trust list against the root key and print it.
    Inspect {
        #[command(flatten)]
        root: RootArgs,
        /// The signed list.
        list: PathBuf,
    },
}

#[derive(Args)]
struct RootArgs {
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

#[derive(Args)]
struct SceneArgs {
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
    utc_offset_minutes: i32,
}

/// An algorithm by core's name.
fn algorithm(name: &str) -> std::result::Result<Algorithm, String> {
    Algorithm::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

#[derive(Clone, Copy, ValueEnum, Serialize, Deserialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum KeyKind {
    Root,
    Issuer,
    Device,
}

#[derive(Clone, Copy, ValueEnum)]
enum CardFormat {
    Svg,
    Pdf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Svg,
    Png,
    Terminal,
}

impl SceneArgs {
    /// The scene through core's serde: one spelling of every scene, core's.
    fn scene(&self) -> Result<Scene> {
        let scene = json!({"kind": self.scene, "site": self.site, "utc_offset_minutes": self.utc_offset_minutes});
        serde_json::from_value(scene).map_err(|e| Failure::Input(format!("--scene {}: {e}", self.scene)))
    }
}

/// A failure with its exit code.
enum Failure {
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

type Result<T> = std::result::Result<T, Failure>;

/// A key file. The secret is hex, zeroized when dropped, and never printed unless asked.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kind: KeyKind,
    algorithm: Algorithm,
    public_key: String,
    secret: Zeroizing<String>,
}

impl KeyFile {
    /// The algorithm of a key file, without reading its secret.
    fn algorithm(path: &Path) -> Result<Algorithm> {
        #[derive(Deserialize)]
        struct Head {
            algorithm: Algorithm,
        }
        let head: Head = serde_json::from_str(&read_text(path)?)
            .map_err(|e| Failure::Input(format!("{}: not a key file: {e}", path.display())))?;
        Ok(head.algorithm)
    }

    fn load(path: &Path) -> Result<(KeyKind, KeyPair)> {
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
type Signer = Box<dyn DeviceSigner + Send + Sync>;

/// The prefix that marks a token key configuration where a key file may stand.
const TOKEN_PREFIX: &str = "token:";

fn load_signer(arg: &Path) -> Result<Signer> {
    match arg.to_str().and_then(|a| a.strip_prefix(TOKEN_PREFIX)) {
        Some(config) => {
            let config = TokenKeyConfig::from_file(Path::new(config)).map_err(token_failure)?;
            citycode_pkcs11::open_boxed(&config).map_err(token_failure)
        }
        None => Ok(Box::new(KeyFile::load(arg)?.1)),
    }
}

/// A token error, with its stable code first (`wrong_pin: the token refused the PIN`).
fn token_failure(e: TokenError) -> Failure {
    Failure::Input(format!("{}: {e}", e.code()))
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

fn read_stdin() -> Result<String> {
    std::io::read_to_string(std::io::stdin()).map_err(|e| Failure::Io(format!("stdin: {e}")))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

/// The sequence of the status already published in `dir`, if any. A status that does not
/// verify under this root is refused: publishing over it could not be ordered after it.
fn last_status_sequence(dir: &Path, root: &PublicKey) -> Result<Option<u64>> {
    let path = dir.join(STATUS_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::Io(format!("{}: {e}", path.display()))),
    };
    let status = ListStatus::verify(&bytes, root).map_err(|r| {
        Failure::Input(format!(
            "{}: not a list status of this root ({r}); publish into another directory or remove it",
            path.display()
        ))
    })?;
    Ok(Some(status.sequence))
}

/// Writes through a temporary file and a rename, so a web server never serves half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    write_file(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

fn json_file<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_text(path)?).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn now_secs() -> u64 {
    use citycode::Clock as _;
    citycode::SystemClock.now()
}

fn root_key(args: &RootArgs) -> Result<PublicKey> {
    match (&args.root_file, &args.root_key) {
        (Some(path), _) => Ok(KeyFile::load(path)?.1.public_key()),
        (None, Some(h)) => {
            let bytes = unhex(h).map_err(|_| Failure::Input("--root-key is not hex".into()))?;
            Ok(PublicKey::from_bytes(args.root_alg, &bytes)?)
        }
        (None, None) => Err(Failure::Input("give --root FILE or --root-key HEX".into())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustSpec {
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    issuers: Vec<IssuerSpec>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct IssuerSpec {
    kid: u32,
    algorithm: Algorithm,
    public_key: String,
    not_before: u32,
    not_after: u32,
    domains: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationSpec {
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    #[serde(default)]
    cards: Vec<String>,
    #[serde(default)]
    subjects: Vec<String>,
    #[serde(default)]
    device_keys: Vec<String>,
}

fn fixed<const N: usize>(h: &str, what: &str) -> Result<[u8; N]> {
    unhex(h)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Failure::Input(format!("{what} must be {} hex digits", 2 * N)))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { no_qr } => {
            citycode::demo::story(&mut std::io::stdout().lock(), !no_qr).map_err(|e| Failure::Input(e.to_string()))
        }
        Command::Keygen { kind, alg, out: _, token: Some(token), .. } => {
            if kind == KeyKind::Device {
                return Err(Failure::Input("device keys live on the holder's phone, not in the city's token".into()));
            }
            let config = TokenKeyConfig::from_file(&token).map_err(token_failure)?;
            if let Some(alg) = alg.filter(|a| *a != config.algorithm) {
                return Err(Failure::Input(format!(
                    "--alg {alg} differs from the configuration's {}",
                    config.algorithm
                )));
            }
            let public = citycode_pkcs11::generate_key(&config).map_err(token_failure)?;
            print_json(&json!({
                "kind": kind,
                "algorithm": public.algorithm(),
                "public_key": hex(&public.to_bytes()),
                "key_id": hex(&public.key_id()),
                "token": config.describe(),
            }));
            Ok(())
        }
        Command::Keygen { kind, alg, out, token: None, force, show_secret } => {
            let out = out.ok_or_else(|| Failure::Input("give --out FILE or --token CONFIG".into()))?;
            let alg = alg.unwrap_or(Algorithm::Ed25519);
            let key = KeyPair::generate(alg)?;
            let public_key = hex(&key.public_key().to_bytes());
            let file = KeyFile {
                kind,
                algorithm: alg,
                public_key: public_key.clone(),
                secret: Zeroizing::new(hex(&key.secret_bytes())),
            };
            let text = Zeroizing::new(serde_json::to_string_pretty(&file).map_err(|e| Failure::Input(e.to_string()))?);
            write_secret_file(&out, text.as_bytes(), force)?;
            let mut shown = serde_json::Map::new();
            shown.insert("kind".into(), json!(kind));
            shown.insert("algorithm".into(), json!(file.algorithm));
            shown.insert("public_key".into(), json!(public_key));
            shown.insert("key_id".into(), json!(hex(&key.public_key().key_id())));
            shown.insert("file".into(), json!(out));
            if show_secret {
                shown.insert("secret".into(), json!(*file.secret));
            }
            print_json(&serde_json::Value::Object(shown));
            Ok(())
        }
        Command::TrustList(TrustListCommand::Sign { root, spec, out }) => {
            let root = load_signer(&root)?;
            let spec: TrustSpec = json_file(&spec)?;
            let mut keys = Vec::with_capacity(spec.issuers.len());
            for i in spec.issuers {
                let bytes = unhex(&i.public_key)
                    .map_err(|_| Failure::Input(format!("issuer {}: public_key is not hex", i.kid)))?;
                keys.push(IssuerKey {
                    kid: i.kid,
                    key: PublicKey::from_bytes(i.algorithm, &bytes)?,
                    not_before: i.not_before,
                    not_after: i.not_after,
                    domains: i.domains,
                });
            }
            let list = TrustList::new(spec.sequence, spec.issued_at, spec.expires_at, keys)?;
            let bytes = list.sign_with(&root)?;
            write_file(&out, &bytes)?;
            print_json(
                &json!({"written": out, "bytes": bytes.len(), "sequence": list.sequence, "base64url": encode_base64url(&bytes)}),
            );
            Ok(())
        }
        Command::TrustList(TrustListCommand::Inspect { root, list }) => {
            let list = TrustList::verify(&read_bytes(&list)?, &root_key(&root)?)?;
            let issuers: Vec<IssuerSpec> = list
                .keys
                .iter()
                .map(|k| IssuerSpec {
                    kid: k.kid,
                    algorithm: k.key.algorithm(),
                    public_key: hex(&k.key.to_bytes()),
                    not_before: k.not_before,
                    not_after: k.not_after,
                    domains: k.domains.clone(),
                })
                .collect();
            print_json(
                &json!({"signature": "valid", "sequence": list.sequence, "issued_at": list.issued_at, "expires_at": list.expires_at, "issuers": issuers}),
            );
            Ok(())
        }
        Command::Publish { root, trust_list, revocation_list, sequence, valid_secs, out } => {
            let root = load_signer(&root)?;
            let trust = read_bytes(&trust_list)?;
            let revocations = revocation_list.iter().map(|p| read_bytes(p)).collect::<Result<Vec<_>>>()?;
            let refs: Vec<&[u8]> = revocations.iter().map(Vec::as_slice).collect();
            let now = u32::try_from(now_secs()).map_err(|_| Failure::Input("clock out of range".into()))?;
            // Verifiers refuse a status whose sequence is below, or equal with other
            // bytes, to one they applied (SPEC.md §8.4): never reuse or go below the
            // directory's last one, even for two publications in one second.
            let last = last_status_sequence(&out, &root.public_key())?;
            let sequence = match (sequence, last) {
                (Some(s), Some(last)) if s <= last => {
                    return Err(Failure::Input(format!(
                        "--sequence {s} is not above the directory's last status sequence {last}"
                    )));
                }
                (Some(s), _) => s,
                (None, last) => u64::from(now).max(last.map_or(0, |l| l.saturating_add(1))),
            };
            let status =
                ListStatus::describe(sequence, now, now.saturating_add(valid_secs), &root.public_key(), &trust, &refs)?;
            // Signed before anything is written: a key that cannot sign leaves the
            // published directory as it was.
            let signed_status = status.sign_with(&root)?;
            fs::create_dir_all(&out).map_err(|e| Failure::Io(format!("{}: {e}", out.display())))?;
            // Lists first, the status last: a verifier polling mid-publication sees the
            // old status (and old lists) or the new status with every new list.
            let mut files = Vec::new();
            for entry in &status.entries {
                let name = entry.file.file_name();
                let bytes = std::iter::once(&trust)
                    .chain(&revocations)
                    .find(|b| entry.describes(root.public_key().algorithm(), b))
                    .ok_or_else(|| Failure::Input(format!("no input file for {name}")))?;
                write_atomically(&out.join(&name), bytes)?;
                files.push(json!({"file": name, "sequence": entry.sequence, "expires_at": entry.expires_at, "digest": hex(&entry.digest)}));
            }
            write_atomically(&out.join(STATUS_INDEX_FILE), status.index_json().as_bytes())?;
            write_atomically(&out.join(STATUS_FILE), &signed_status)?;
            print_json(
                &json!({"written": out, "status_sequence": sequence, "status_expires_at": status.expires_at, "files": files}),
            );
            Ok(())
        }
        Command::Revoke { key, issuer_kid, spec, out } => {
            let key = load_signer(&key)?;
            let spec: RevocationSpec = json_file(&spec)?;
            let mut entries = Vec::new();
            for c in &spec.cards {
                entries.push(Revoked::Card(fixed(c, "a card id")?));
            }
            for s in &spec.subjects {
                entries.push(Revoked::Subject(fixed(s, "a subject")?));
            }
            for d in &spec.device_keys {
                entries.push(Revoked::DeviceKey(fixed(d, "a device key id")?));
            }
            let signer = issuer_kid.map_or(ListSigner::Root, ListSigner::Issuer);
            let list = RevocationList::new(signer, spec.sequence, spec.issued_at, spec.expires_at, entries)?;
            let bytes = list.sign_with(&key)?;
            write_file(&out, &bytes)?;
            print_json(
                &json!({"written": out, "bytes": bytes.len(), "entries": list.entries.len(), "sequence": list.sequence}),
            );
            Ok(())
        }
        Command::Issue {
            issuer,
            kid,
            scope,
            device,
            key_request,
            challenge,
            claims,
            subject,
            valid_from_day,
            days,
            out,
        } => {
            let issuer_key = load_signer(&issuer)?;
            let device_key = match (device, key_request, challenge) {
                (Some(path), _, _) => citycode::ProvenKey::by_signing(&KeyFile::load(&path)?.1)?,
                (None, Some(request), Some(challenge)) => KeyRequest::from_base64url(&request)?
                    .verify(&unhex(&challenge).map_err(|_| Failure::Input("--challenge is not hex".into()))?)?,
                _ => return Err(Failure::Input("give --device FILE, or --key-request and --challenge".into())),
            };
            let claims: Claims = json_file(&claims)?;
            let subject = match subject {
                Some(h) => Subject(fixed(&h, "--subject")?),
                None => Subject::random()?,
            };
            let today = u16::try_from(now_secs() / 86_400).map_err(|_| Failure::Input("date out of range".into()))?;
            let req = CredentialRequest {
                device_key,
                subject,
                valid_from_day: valid_from_day.unwrap_or(today),
                valid_days: days,
                claims,
                layout: CardLayout::Standard,
            };
            let credential = Issuer::new(kid, issuer_key, scope).issue(&req)?.to_base64url()?;
            match out {
                Some(path) => {
                    write_file(&path, credential.as_bytes())?;
                    print_json(&json!({"written": path, "subject": subject.to_hex()}));
                }
                None => println!("{credential}"),
            }
            Ok(())
        }
        Command::IssuePrinted { issuer, kid, scope, claims, subject, valid_from_day, days, out } => {
            let issuer_key = load_signer(&issuer)?;
            let claims: Claims = json_file(&claims)?;
            let subject = match subject {
                Some(h) => Subject(fixed(&h, "--subject")?),
                None => Subject::random()?,
            };
            let today = u16::try_from(now_secs() / 86_400).map_err(|_| Failure::Input("date out of range".into()))?;
            let code = Issuer::new(kid, issuer_key, scope).issue_printed(
                subject,
                &claims,
                valid_from_day.unwrap_or(today),
                days,
                citycode::PRINTED_MAX_DAYS,
            )?;
            let text = code.to_text();
            match out {
                Some(path) => {
                    write_file(&path, text.as_bytes())?;
                    let version = Qr::new(&text)?.version;
                    print_json(&json!({"written": path, "subject": subject.to_hex(), "qr_version": version}));
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        Command::RenderCard { code, format, out, font, font_family } => {
            let text = if code.starts_with("CC1:") { code } else { read_text(Path::new(&code))?.trim().to_string() };
            let code = citycode::PrintedCode::from_text(&text)?;
            let bytes = match format {
                CardFormat::Svg => citycode::print_card::printed_card_svg(&code)?.into_bytes(),
                CardFormat::Pdf => {
                    let font = citycode::print_card::CardFont::from_file(&font, font_family.as_deref())?;
                    citycode::print_card::printed_card_pdf(&code, &font)?
                }
            };
            write_file(&out, &bytes)?;
            print_json(&json!({"written": out, "bytes": bytes.len()}));
            Ok(())
        }
        Command::Identity { name, number, issuer, sm3 } => {
            let digest = match issuer {
                Some(path) => IdDigest::for_key(KeyFile::algorithm(&path)?),
                None if sm3 => IdDigest::Sm3,
                None => IdDigest::Sha256,
            };
            let number = if number == "-" { read_stdin()?.trim().to_string() } else { number };
            print_json(&json!(citycode::claims::Identity::commit(&name, &number, digest)?));
            Ok(())
        }
        Command::CheckId { identity, number } => {
            let text = if identity == Path::new("-") { read_stdin()? } else { read_text(&identity)? };
            let identity: citycode::claims::Identity =
                serde_json::from_str(&text).map_err(|e| Failure::Input(format!("identity JSON: {e}")))?;
            let number = if number == "-" { read_stdin()?.trim().to_string() } else { number };
            let matches = identity.matches(&number)?;
            print_json(&json!({"matches": matches, "name": identity.name}));
            if matches { Ok(()) } else { Err(Failure::Rejected) }
        }
        Command::KeyRequest { device, challenge } => {
            let (_, key) = KeyFile::load(&device)?;
            let challenge = unhex(&challenge).map_err(|_| Failure::Input("--challenge is not hex".into()))?;
            let request = KeyRequest::sign(&key, &challenge)?;
            print_json(&json!({
                "key_request": request.to_base64url(),
                "algorithm": request.device_key.algorithm(),
                "device_key": hex(&request.device_key.to_bytes()),
            }));
            Ok(())
        }
        Command::Present { credential, device, scene, domains, now, validity, json } => {
            let credential = Credential::from_base64url(read_text(&credential)?.trim())?;
            let (_, key) = KeyFile::load(&device)?;
            let now = now.unwrap_or_else(now_secs);
            let options = PresentOptions { validity_secs: validity, nonce: None };
            // Whole domains when asked for; otherwise only what the scene reads.
            let code = match domains {
                Some(domains) => citycode::present(&credential, &key, &domains, now, options)?,
                None => citycode::present(&credential, &key, &scene.scene()?, now, options)?,
            };
            let text = code.to_text();
            if json {
                let qr = Qr::new(&text)?;
                print_json(
                    &json!({"text": text, "issued_at": code.issued_at(), "expires_at": code.expires_at(), "bytes": code.as_bytes().len(), "qr_version": qr.version}),
                );
            } else {
                println!("{text}");
            }
            Ok(())
        }
        Command::Verify {
            text,
            image,
            stdin,
            root,
            trust_list,
            revocation_list,
            scene,
            now,
            skew,
            no_revocation,
            gm_only,
            replay_store,
            no_replay_store,
        } => {
            let text = match (text, image, stdin) {
                (Some(t), _, _) => t,
                (None, Some(path), _) => decode_image(&path)?,
                (None, None, true) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s).map_err(|e| Failure::Io(format!("stdin: {e}")))?;
                    // One trailing terminator is the verifier's to strip (SPEC.md §6).
                    s
                }
                (None, None, false) => {
                    return Err(Failure::Input("give the code text, --image FILE or --stdin".into()));
                }
            };
            let config = citycode::VerifierConfig {
                skew_secs: skew,
                utc_offset_minutes: scene.utc_offset_minutes,
                allow_missing_revocation_list: no_revocation,
                gm_only,
                ..citycode::VerifierConfig::new(&root_key(&root)?, scene.scene()?)
            };
            // The verifier's time: this machine's clock, or the test switch's, for loading
            // lists (an issuer's key must be valid now) as for the code.
            let now = now.unwrap_or_else(now_secs);
            let mut v = config.build()?.with_clock(citycode::FixedClock(now));
            if no_replay_store {
                // Remembers nothing, and every verdict says so (`replay_checked: false`).
                v = v.with_replay_store(std::sync::Arc::new(citycode::NoReplayCheck));
            } else {
                let store = match replay_store.or_else(replay_store::default_path) {
                    Some(path) => replay_store::open(path).map_err(Failure::Io)?,
                    None => {
                        return Err(Failure::Input(
                            "no state directory for the replay store ($XDG_STATE_HOME and $HOME unset): give \
                             --replay-store FILE, or --no-replay-store"
                                .into(),
                        ));
                    }
                };
                v = v.with_replay_store(std::sync::Arc::new(store));
            }
            v.load_trust_list(&read_bytes(&trust_list)?)?;
            for path in &revocation_list {
                v.load_revocation_list(&read_bytes(path)?)?;
            }
            let verdict = citycode::Verdict::from(v.verify_at(&text, now));
            print_json(&serde_json::to_value(&verdict).map_err(|e| Failure::Input(e.to_string()))?);
            if verdict.is_accept() { Ok(()) } else { Err(Failure::Rejected) }
        }
        Command::Render { text, format, out, scale } => {
            let qr = Qr::new(&text)?;
            match format {
                Format::Terminal => {
                    let rendered = qr.to_terminal();
                    match out {
                        Some(p) => write_file(&p, rendered.as_bytes()),
                        None => {
                            print!("{rendered}");
                            Ok(())
                        }
                    }
                }
                Format::Svg => {
                    let svg = qr.to_svg(scale as usize);
                    match out {
                        Some(p) => write_file(&p, svg.as_bytes()),
                        None => {
                            println!("{svg}");
                            Ok(())
                        }
                    }
                }
                Format::Png => {
                    let path = out.ok_or_else(|| Failure::Input("--format png needs --out FILE".into()))?;
                    write_png(&qr, scale.clamp(1, 64), &path)
                }
            }
        }
        Command::Lists { root, dir, trust_list, revocation_list, now } => {
            // The scene does not matter for lists; readiness is a verifier's, as a
            // terminal or the server reports it (core's HeldList for each list).
            let now = now.unwrap_or_else(now_secs);
            let config = citycode::VerifierConfig::new(&root_key(&root)?, Scene::MetroGate);
            let mut v = config.build()?.with_clock(citycode::FixedClock(now));
            let loaded = match (dir, trust_list) {
                (Some(dir), _) => v.update_from(&mut citycode::distribution::DirectorySource(dir)).map(|_| ()),
                (None, Some(trust)) => {
                    let mut load = || -> std::result::Result<(), citycode::Rejection> {
                        v.load_trust_list(&read_bytes(&trust).map_err(|f| rejection_of(f, &trust))?)?;
                        for path in &revocation_list {
                            v.load_revocation_list(&read_bytes(path).map_err(|f| rejection_of(f, path))?)?;
                        }
                        Ok(())
                    };
                    load()
                }
                (None, None) => return Err(Failure::Input("give --dir DIR, or --trust-list FILE".into())),
            };
            let problem = loaded.err().or_else(|| v.ready_at(now).err());
            let mut report = serde_json::Map::new();
            report.insert("ready".into(), json!(problem.is_none()));
            if let Some(p) = &problem {
                report.insert("reason".into(), json!(p.reason.code()));
                report.insert("detail".into(), json!(p.detail));
            }
            report.insert("now".into(), json!(now));
            report.insert("lists".into(), json!(v.held_lists()));
            report.insert("status_sequence".into(), json!(v.list_status().map(|s| s.0)));
            print_json(&serde_json::Value::Object(report));
            if problem.is_none() { Ok(()) } else { Err(Failure::Rejected) }
        }
        Command::Inspect { text } => {
            let bytes = citycode::text::decode_text(&text).map_err(|r| citycode::Rejection::new(r, "QR text"))?;
            if citycode::PrintedCode::is_printed(&bytes) {
                let code = citycode::PrintedCode::from_bytes(&bytes)?;
                let cards: Vec<serde_json::Value> =
                    code.cards().iter().enumerate().map(|(i, c)| card_json(c, &code.card_id(i))).collect();
                print_json(&json!({
                    "verified": false,
                    "warning": "NOT VERIFIED: signatures, keys, validity, revocation and policy were not checked; nothing here is vouched for",
                    "printed": true,
                    "subject": code.subject().to_hex(),
                    "cards": cards,
                }));
                return Ok(());
            }
            let code = UnverifiedCode::from_bytes(&bytes)?;
            let cards: Vec<serde_json::Value> =
                code.cards().iter().enumerate().map(|(i, c)| card_json(c, &code.card_id(i))).collect();
            print_json(&json!({
                "verified": false,
                "warning": "NOT VERIFIED: signatures, keys, validity, revocation and policy were not checked; nothing here is vouched for",
                "device_key": {"algorithm": code.device_key().algorithm(), "public_key": hex(&code.device_key().to_bytes()), "key_id": hex(&code.device_key().key_id())},
                "subject": code.subject().to_hex(),
                "issued_at": code.issued_at(),
                "validity_secs": code.validity_secs(),
                "nonce": hex(&code.nonce()),
                "replay_id": hex(&code.replay_id()),
                "cards": cards,
            }));
            Ok(())
        }
    }
}

/// A list file that cannot be read, as the verifier's reason for not holding it.
fn rejection_of(failure: Failure, path: &Path) -> citycode::Rejection {
    let detail = match failure {
        Failure::Input(m) | Failure::Io(m) => m,
        Failure::Rejected => path.display().to_string(),
    };
    citycode::Rejection::new(citycode::Reason::ListUnavailable, detail)
}

/// A card as `inspect` shows it.
fn card_json(c: &citycode::credential::Card, card_id: &[u8]) -> serde_json::Value {
    json!({"issuer_kid": c.kid, "algorithm": c.alg, "valid_from_day": c.valid_from_day, "valid_days": c.valid_days,
           "claims": c.claims, "card_id": hex(card_id)})
}

/// Creates a key file readable by its owner only; refuses to overwrite unless forced.
fn write_secret_file(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| Failure::Io(format!("{}: {e}", path.display()));
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut f = options.open(path).map_err(io)?;
    // An existing file keeps its old mode when truncated: tighten it.
    f.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io)?;
    f.write_all(bytes).map_err(io)
}

fn write_png(qr: &Qr, scale: u32, path: &Path) -> Result<()> {
    let quiet = 4u32;
    let width = u32::try_from(qr.width).map_err(|_| Failure::Input("QR too large".into()))?;
    let side = (width + 2 * quiet) * scale;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / scale).checked_sub(quiet), (y / scale).checked_sub(quiet));
        let dark = matches!((mx, my), (Some(mx), Some(my)) if qr.is_dark(mx as usize, my as usize));
        image::Luma([if dark { 0 } else { 255 }])
    });
    img.save(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

fn decode_image(path: &Path) -> Result<String> {
    let img = image::open(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or_else(|| Failure::Input(format!("{}: no QR code found", path.display())))?;
    let (_, content) =
        grid.decode().map_err(|e| Failure::Input(format!("{}: QR decoding failed: {e}", path.display())))?;
    Ok(content)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected) => ExitCode::from(1),
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Io(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(3)
        }
    }
}
