//! Signed lists: `trust-list sign`, `trust-list inspect`, `revoke`, `publish`, `lists`.

use std::fs;
use std::path::{Path, PathBuf};

use citycode::distribution::{ListStatus, STATUS_FILE, STATUS_INDEX_FILE};
use citycode::text::{encode_base64url, hex, unhex};
use citycode::{Algorithm, IssuerKey, ListSigner, PublicKey, RevocationList, Revoked, Scene, TrustList};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::{
    Failure, Result, RootArgs, fixed, json_file, load_signer, now_secs, print_json, read_bytes, write_file,
};

#[derive(Subcommand)]
pub enum TrustListCommand {
    /// Sign a trust list from a JSON spec with the root key.
    Sign(TrustListSignArgs),
    /// Check a signed trust list against the root key and print it.
    Inspect(TrustListInspectArgs),
}

/// `trust-list sign` or `trust-list inspect`.
pub fn trust_list(command: TrustListCommand) -> Result<()> {
    match command {
        TrustListCommand::Sign(args) => trust_list_sign(args),
        TrustListCommand::Inspect(args) => trust_list_inspect(args),
    }
}

#[derive(Args)]
pub struct TrustListSignArgs {
    /// The root key: a key file, or token:CONFIG for a key in a PKCS#11 token.
    #[arg(long)]
    root: PathBuf,
    /// JSON: {"sequence", "issued_at", "expires_at", "issuers": [{"kid", "algorithm", "public_key", "not_before", "not_after", "domains"}]}.
    #[arg(long)]
    spec: PathBuf,
    /// Where to write the signed list.
    #[arg(long)]
    out: PathBuf,
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

fn trust_list_sign(args: TrustListSignArgs) -> Result<()> {
    let TrustListSignArgs { root, spec, out } = args;
    let root = load_signer(&root)?;
    let spec: TrustSpec = json_file(&spec)?;
    let mut keys = Vec::with_capacity(spec.issuers.len());
    for i in spec.issuers {
        let bytes =
            unhex(&i.public_key).map_err(|_| Failure::Input(format!("issuer {}: public_key is not hex", i.kid)))?;
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

#[derive(Args)]
pub struct TrustListInspectArgs {
    #[command(flatten)]
    root: RootArgs,
    /// The signed list.
    list: PathBuf,
}

fn trust_list_inspect(args: TrustListInspectArgs) -> Result<()> {
    let list = TrustList::verify(&read_bytes(&args.list)?, &args.root.key()?)?;
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

#[derive(Args)]
pub struct RevokeArgs {
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

/// `revoke`: a revocation list signed by the root or an issuer key.
pub fn revoke(args: RevokeArgs) -> Result<()> {
    let RevokeArgs { key, issuer_kid, spec, out } = args;
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

#[derive(Args)]
pub struct PublishArgs {
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
}

/// `publish`: the lists under their fixed names and a root-signed status, written last.
pub fn publish(args: PublishArgs) -> Result<()> {
    let PublishArgs { root, trust_list, revocation_list, sequence, valid_secs, out } = args;
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

#[derive(Args)]
pub struct ListsArgs {
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
}

/// `lists`: what a verifier loading these lists would hold, and whether it is ready.
pub fn lists(args: ListsArgs) -> Result<()> {
    let ListsArgs { root, dir, trust_list, revocation_list, now } = args;
    // The scene does not matter for lists; readiness is a verifier's, as a
    // terminal or the server reports it (core's HeldList for each list).
    let now = now.unwrap_or_else(now_secs);
    let config = citycode::VerifierConfig::new(&root.key()?, Scene::MetroGate);
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

/// A list file that cannot be read, as the verifier's reason for not holding it.
fn rejection_of(failure: Failure, path: &Path) -> citycode::Rejection {
    let detail = match failure {
        Failure::Input(m) | Failure::Io(m) => m,
        Failure::Rejected => path.display().to_string(),
    };
    citycode::Rejection::new(citycode::Reason::ListUnavailable, detail)
}
