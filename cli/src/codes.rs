//! Codes: `demo`, `present`, `verify`, `render`, `inspect`.

use std::io::Read;
use std::path::{Path, PathBuf};

use citycode::text::hex;
use citycode::{Credential, PresentOptions, Qr, UnverifiedCode};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::common::{
    Failure, KeyFile, Result, RootArgs, SceneArgs, now_secs, print_json, read_bytes, read_text, write_file,
};
use crate::replay_store;

#[derive(Args)]
pub struct DemoArgs {
    /// Do not draw the QR symbols.
    #[arg(long)]
    no_qr: bool,
}

/// `demo`: the end-to-end story on the embedded demo keys.
pub fn demo(args: DemoArgs) -> Result<()> {
    citycode_demo::story(&mut std::io::stdout().lock(), !args.no_qr).map_err(|e| Failure::Input(e.to_string()))
}

#[derive(Args)]
pub struct PresentArgs {
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
}

/// `present`: a code from a credential and its device key.
pub fn present(args: PresentArgs) -> Result<()> {
    let PresentArgs { credential, device, scene, domains, now, validity, json } = args;
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

#[derive(Args)]
pub struct VerifyArgs {
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
}

/// `verify`: the verdict as JSON; exit 1 unless accepted.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let VerifyArgs {
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
    } = args;
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
        ..citycode::VerifierConfig::new(&root.key()?, scene.scene()?)
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

/// The QR text in an image file.
fn decode_image(path: &Path) -> Result<String> {
    let img = image::open(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or_else(|| Failure::Input(format!("{}: no QR code found", path.display())))?;
    let (_, content) =
        grid.decode().map_err(|e| Failure::Input(format!("{}: QR decoding failed: {e}", path.display())))?;
    Ok(content)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Svg,
    Png,
    Terminal,
}

#[derive(Args)]
pub struct RenderArgs {
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
}

/// `render`: a code's QR symbol as terminal text, SVG or PNG.
pub fn render(args: RenderArgs) -> Result<()> {
    let RenderArgs { text, format, out, scale } = args;
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

#[derive(Args)]
pub struct InspectArgs {
    /// The code text.
    text: String,
}

/// What `inspect` says first about every code it shows.
const NOT_VERIFIED: &str =
    "NOT VERIFIED: signatures, keys, validity, revocation and policy were not checked; nothing here is vouched for";

/// `inspect`: what a code (or printed code) holds, without verifying it.
pub fn inspect(args: InspectArgs) -> Result<()> {
    let bytes = citycode::text::decode_text(&args.text).map_err(|r| citycode::Rejection::new(r, "QR text"))?;
    if citycode::PrintedCode::is_printed(&bytes) {
        let code = citycode::PrintedCode::from_bytes(&bytes)?;
        let cards: Vec<serde_json::Value> =
            code.cards().iter().enumerate().map(|(i, c)| card_json(c, &code.card_id(i))).collect();
        print_json(&json!({
            "verified": false,
            "warning": NOT_VERIFIED,
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
        "warning": NOT_VERIFIED,
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

/// A card as `inspect` shows it.
fn card_json(c: &citycode::credential::Card, card_id: &[u8]) -> serde_json::Value {
    json!({"issuer_kid": c.kid, "algorithm": c.alg, "valid_from_day": c.valid_from_day, "valid_days": c.valid_days,
           "claims": c.claims, "card_id": hex(card_id)})
}
