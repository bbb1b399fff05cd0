//! Issuing: `issue` (a credential to a device key), `issue-printed` (a printed code) and
//! `render-card` (the printed code's A6 card). `issue` and `issue-printed` share what
//! they read (the issuer key, the claims, the subject, the first day) and how they
//! deliver what they made.

use std::path::{Path, PathBuf};

use citycode::text::unhex;
use citycode::{CardLayout, Claims, CredentialRequest, Issuer, KeyRequest, Qr, Subject};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::common::{
    Failure, KeyFile, Result, fixed, json_file, load_signer, now_secs, print_json, read_text, write_file,
};

#[derive(Args)]
pub struct IssueArgs {
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
}

/// `issue`: a credential for a proven device key.
pub fn issue(args: IssueArgs) -> Result<()> {
    let IssueArgs { issuer, kid, scope, device, key_request, challenge, claims, subject, valid_from_day, days, out } =
        args;
    let issuer_key = load_signer(&issuer)?;
    let device_key = match (device, key_request, challenge) {
        (Some(path), _, _) => citycode::ProvenKey::by_signing(&KeyFile::load(&path)?.1)?,
        (None, Some(request), Some(challenge)) => KeyRequest::from_base64url(&request)?
            .verify(&unhex(&challenge).map_err(|_| Failure::Input("--challenge is not hex".into()))?)?,
        _ => return Err(Failure::Input("give --device FILE, or --key-request and --challenge".into())),
    };
    let terms = Terms::read(&claims, subject.as_deref(), valid_from_day)?;
    let subject = terms.subject;
    let req = CredentialRequest {
        device_key,
        subject,
        valid_from_day: terms.valid_from_day,
        valid_days: days,
        claims: terms.claims,
        layout: CardLayout::Standard,
    };
    let credential = Issuer::new(kid, issuer_key, scope).issue(&req)?.to_base64url()?;
    deliver(out.as_deref(), &credential, |path| Ok(json!({"written": path, "subject": subject.to_hex()})))
}

#[derive(Args)]
pub struct IssuePrintedArgs {
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
}

/// `issue-printed`: a printed code for a resident with no phone.
pub fn issue_printed(args: IssuePrintedArgs) -> Result<()> {
    let IssuePrintedArgs { issuer, kid, scope, claims, subject, valid_from_day, days, out } = args;
    let issuer_key = load_signer(&issuer)?;
    let terms = Terms::read(&claims, subject.as_deref(), valid_from_day)?;
    let subject = terms.subject;
    let code = Issuer::new(kid, issuer_key, scope).issue_printed(
        subject,
        &terms.claims,
        terms.valid_from_day,
        days,
        citycode::PRINTED_MAX_DAYS,
    )?;
    let text = code.to_text();
    deliver(out.as_deref(), &text, |path| {
        let version = Qr::new(&text)?.version;
        Ok(json!({"written": path, "subject": subject.to_hex(), "qr_version": version}))
    })
}

/// What `issue` and `issue-printed` read besides the keys: the claims, the subject
/// (given in hex, or random) and the first day of validity (given, or today).
struct Terms {
    claims: Claims,
    subject: Subject,
    valid_from_day: u16,
}

impl Terms {
    fn read(claims: &Path, subject: Option<&str>, valid_from_day: Option<u16>) -> Result<Terms> {
        let claims: Claims = json_file(claims)?;
        let subject = match subject {
            Some(h) => Subject(fixed(h, "--subject")?),
            None => Subject::random()?,
        };
        let today = u16::try_from(now_secs() / 86_400).map_err(|_| Failure::Input("date out of range".into()))?;
        Ok(Terms { claims, subject, valid_from_day: valid_from_day.unwrap_or(today) })
    }
}

/// Writes `text` to `out` and prints `report(out)`, or, without `out`, prints `text`.
fn deliver(out: Option<&Path>, text: &str, report: impl FnOnce(&Path) -> Result<serde_json::Value>) -> Result<()> {
    match out {
        Some(path) => {
            write_file(path, text.as_bytes())?;
            print_json(&report(path)?);
        }
        None => println!("{text}"),
    }
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CardFormat {
    Svg,
    Pdf,
}

#[derive(Args)]
pub struct RenderCardArgs {
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
}

/// `render-card`: a printed code's A6 card, SVG or PDF.
pub fn render_card(args: RenderCardArgs) -> Result<()> {
    let RenderCardArgs { code, format, out, font, font_family } = args;
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
