//! Keys and identities: `keygen`, `key-request`, `identity`, `check-id`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use citycode::claims::IdDigest;
use citycode::text::{hex, unhex};
use citycode::{Algorithm, KeyPair, KeyRequest};
use citycode_pkcs11::TokenKeyConfig;
use clap::Args;
use serde_json::json;
use zeroize::Zeroizing;

use crate::common::{Failure, KeyFile, KeyKind, Result, algorithm, print_json, read_stdin, read_text, token_failure};

#[derive(Args)]
pub struct KeygenArgs {
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
}

/// `keygen`: a key in a token (`--token`), or a new key file.
pub fn keygen(args: KeygenArgs) -> Result<()> {
    match &args.token {
        Some(token) => keygen_in_token(args.kind, args.alg, token),
        None => keygen_to_file(args),
    }
}

/// A root or issuer key pair created inside a token; prints only its public key.
fn keygen_in_token(kind: KeyKind, alg: Option<Algorithm>, token: &Path) -> Result<()> {
    if kind == KeyKind::Device {
        return Err(Failure::Input("device keys live on the holder's phone, not in the city's token".into()));
    }
    let config = TokenKeyConfig::from_file(token).map_err(token_failure)?;
    if let Some(alg) = alg.filter(|a| *a != config.algorithm) {
        return Err(Failure::Input(format!("--alg {alg} differs from the configuration's {}", config.algorithm)));
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

/// A new key file (mode 0600); the secret is printed only when asked.
fn keygen_to_file(args: KeygenArgs) -> Result<()> {
    let KeygenArgs { kind, alg, out, token: _, force, show_secret } = args;
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

#[derive(Args)]
pub struct KeyRequestArgs {
    /// The device key file.
    #[arg(long)]
    device: PathBuf,
    /// The issuer's challenge, 16 to 64 bytes in hex.
    #[arg(long)]
    challenge: String,
}

/// `key-request`: the device key's signature over the issuer's challenge.
pub fn key_request(args: KeyRequestArgs) -> Result<()> {
    let (_, key) = KeyFile::load(&args.device)?;
    let challenge = unhex(&args.challenge).map_err(|_| Failure::Input("--challenge is not hex".into()))?;
    let request = KeyRequest::sign(&key, &challenge)?;
    print_json(&json!({
        "key_request": request.to_base64url(),
        "algorithm": request.device_key.algorithm(),
        "device_key": hex(&request.device_key.to_bytes()),
    }));
    Ok(())
}

#[derive(Args)]
pub struct IdentityArgs {
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
}

/// `identity`: the identity claim, committing to the number with a fresh salt.
pub fn identity(args: IdentityArgs) -> Result<()> {
    let digest = match &args.issuer {
        Some(path) => IdDigest::for_key(KeyFile::algorithm(path)?),
        None if args.sm3 => IdDigest::Sm3,
        None => IdDigest::Sha256,
    };
    let number = number_or_stdin(args.number)?;
    print_json(&json!(citycode::claims::Identity::commit(&args.name, &number, digest)?));
    Ok(())
}

#[derive(Args)]
pub struct CheckIdArgs {
    /// The identity JSON file (`-` for stdin).
    #[arg(long)]
    identity: PathBuf,
    /// The number the ID-card reader read, or `-` for stdin.
    #[arg(long)]
    number: String,
}

/// `check-id`: whether a number matches an identity's commitment (exit 1 if not).
pub fn check_id(args: CheckIdArgs) -> Result<()> {
    let text = if args.identity == Path::new("-") { read_stdin()? } else { read_text(&args.identity)? };
    let identity: citycode::claims::Identity =
        serde_json::from_str(&text).map_err(|e| Failure::Input(format!("identity JSON: {e}")))?;
    let number = number_or_stdin(args.number)?;
    let matches = identity.matches(&number)?;
    print_json(&json!({"matches": matches, "name": identity.name}));
    if matches { Ok(()) } else { Err(Failure::Rejected) }
}

/// An identity document's number as given, or read from stdin for `-`.
fn number_or_stdin(number: String) -> Result<String> {
    if number == "-" { Ok(read_stdin()?.trim().to_string()) } else { Ok(number) }
}
