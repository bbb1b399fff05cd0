//! The printed card's PDF as readers see it: rendered and read back by poppler
//! (`pdftoppm`, `pdftotext`, `pdffonts`, the engine of Linux viewers and many print
//! pipelines), with the font it embeds read from Debian's fonts-noto-cjk.
//!
//! `scripts/test-print.sh` installs poppler-utils and the fonts and runs this file. Where
//! they are missing locally each test says so and skips; under CI (`CI` set) a missing
//! tool or font fails the test instead. `CITYCODE_CARD_FONT` names another font file.

#![cfg(feature = "pdf")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use citycode::claims::{Claims, Health, HealthStatus, IdDigest, Identity, InsuranceStatus, MedicalInsurance};
use citycode::demo::{self, DemoCity};
use citycode::print_card::{CardError, CardFont, DEFAULT_FONT_PATH, HEIGHT_MM, MARGIN_MM, WIDTH_MM, printed_card_pdf};
use citycode::*;

const PT: f64 = 72.0 / 25.4;
/// Rasterising resolution: 150 dpi, as a print preview.
const DPI: f64 = 150.0;
/// TrueType outlines (the Noto fonts are CFF): Debian's fonts-wqy-microhei.
const TRUETYPE_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// Whether a prerequisite is there; if not, skip (or fail under CI) with what installs it.
fn present(what: &str, ok: bool) -> bool {
    if !ok {
        let msg = format!("{what} is missing: `bash scripts/test-print.sh` installs it");
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("skipped: {msg}");
    }
    ok
}

fn font_path() -> PathBuf {
    std::env::var_os("CITYCODE_CARD_FONT").map_or_else(|| PathBuf::from(DEFAULT_FONT_PATH), PathBuf::from)
}

/// The card font, or None (skipped) where it is not installed.
fn font() -> Option<CardFont> {
    let path = font_path();
    present(&format!("the card font {}", path.display()), path.exists())
        .then(|| CardFont::from_file(&path, None).unwrap())
}

fn poppler() -> bool {
    let ok = ["pdftoppm", "pdftotext", "pdffonts"]
        .iter()
        .all(|tool| Command::new(tool).arg("-v").output().is_ok_and(|o| o.status.success() || !o.stderr.is_empty()));
    present("poppler-utils (pdftoppm, pdftotext, pdffonts)", ok)
}

/// Where the cards go: `target/tmp/card-pdf/`, kept after the run for people to look
/// at (each test writes files of its own names).
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("card-pdf");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A printed code whose identity carries `name`.
fn printed(city: &DemoCity, name: &str) -> PrintedCode {
    let claims = Claims {
        health: Some(Health { status: HealthStatus::Green, valid_until_day: demo::TODAY + 179 }),
        medical_insurance: Some(MedicalInsurance { region: None, status: Some(InsuranceStatus::Active) }),
        identity: Some(Identity::commit(name, demo::ID_NUMBER, IdDigest::Sha256).unwrap()),
        ..Claims::default()
    };
    city.issuer.issue_printed(Subject([0x5c; 8]), &claims, demo::TODAY, PRINTED_MAX_DAYS, PRINTED_MAX_DAYS).unwrap()
}

/// The lines the card must show, top to bottom.
fn expected_lines(masked: &str) -> Vec<String> {
    vec![
        "城市码 · 纸质码 City code".to_string(),
        masked.to_string(),
        "有效期 Valid 2026-11-25 – 2027-05-23".to_string(),
        "请核验持码人身份证 Check the holder's ID card".to_string(),
        "仅限人工窗口使用 For staffed counters only".to_string(),
    ]
}

/// A word of `pdftotext -bbox`: its box in points, from the top left.
#[derive(Debug)]
struct Word {
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
    text: String,
}

fn words(pdf: &Path) -> Vec<Word> {
    let html = run("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]);
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    html.lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| Word {
            x_min: attr(l, "xMin"),
            y_min: attr(l, "yMin"),
            x_max: attr(l, "xMax"),
            y_max: attr(l, "yMax"),
            text: l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()].replace("&apos;", "'").replace("&amp;", "&"),
        })
        .collect()
}

/// A greyscale rendering of the page: width, height, one byte per pixel (0 black).
struct Raster {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Raster {
    fn dark(&self, x: usize, y: usize) -> bool {
        self.pixels[y * self.width + x] < 128
    }
}

fn rasterise(pdf: &Path) -> Raster {
    let prefix = pdf.with_extension("");
    run("pdftoppm", &["-gray", "-r", &DPI.to_string(), "-singlefile", pdf.to_str().unwrap(), prefix.to_str().unwrap()]);
    let pgm = std::fs::read(prefix.with_extension("pgm")).unwrap();
    // P5 <width> <height> <maxval> then the pixels.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P5", "255"));
    let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    Raster { width, height, pixels: pgm[at + 1..].to_vec() }
}

/// Renders a card for `name` and checks it as a reader shows it: the text extracts as
/// the masked name, the dates and the instructions; every word lies inside the margins;
/// no ink in the margins; the symbol on the rendered page decodes to the code. Returns
/// the name line's word boxes.
fn check_card(city: &DemoCity, font: &CardFont, name: &str, file: &str) -> Vec<Word> {
    let code = printed(city, name);
    let pdf = scratch().join(file);
    std::fs::write(&pdf, printed_card_pdf(&code, font).unwrap()).unwrap();
    // Kept for people to look at (the test output names the folder).
    eprintln!("{name}: {}", pdf.display());

    // The text, as pdftotext reads it: exactly the card's lines.
    let text = run("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    let got: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "\u{c}").collect();
    let masked = claims::mask_name(name);
    assert_eq!(got, expected_lines(&masked), "{name}");
    assert!(!text.contains(name) || masked == name, "the full name is never printed");

    // Every word inside the page's margins (half a point for rounding).
    let (w, h) = (WIDTH_MM * PT, HEIGHT_MM * PT);
    let all = words(&pdf);
    assert!(all.len() >= 20, "{all:?}");
    for word in &all {
        assert!(word.x_min >= MARGIN_MM * PT - 0.5 && word.x_max <= w - MARGIN_MM * PT + 0.5, "{name}: {word:?}");
        assert!(word.y_min >= 0.0 && word.y_max <= h, "{name}: {word:?}");
    }

    // No ink in the margins of the rendered page.
    let page = rasterise(&pdf);
    assert_eq!(
        (page.width, page.height),
        ((WIDTH_MM / 25.4 * DPI).ceil() as usize, (HEIGHT_MM / 25.4 * DPI).ceil() as usize)
    );
    let margin = (MARGIN_MM / 25.4 * DPI).floor() as usize;
    for y in 0..page.height {
        for x in (0..margin).chain(page.width - margin..page.width) {
            assert!(!page.dark(x, y), "{name}: ink in the margin at ({x}, {y}) px");
        }
    }
    // And ink where the text is (the lines were drawn, not only extractable).
    let name_word = all.iter().find(|w| w.text == masked.split_whitespace().next().unwrap()).unwrap();
    let px = |pt: f64| (pt / 72.0 * DPI) as usize;
    let inked = (px(name_word.y_min)..px(name_word.y_max))
        .any(|y| (px(name_word.x_min)..px(name_word.x_max)).any(|x| page.dark(x, y)));
    assert!(inked, "{name}: the name line has no ink");

    // The symbol, read off the rendered page, is the code, and verifies.
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(page.width, page.height, |x, y| page.pixels[y * page.width + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "{name}: one symbol");
    let decoded = grids[0].decode().unwrap().1;
    assert_eq!(decoded, code.to_text());
    let mut v = Verifier::new(city.root.public_key(), Scene::Hospital).with_clock(FixedClock(demo::NOW));
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    assert!(v.verify(&decoded).unwrap().printed);

    let first_line_y = name_word.y_min;
    all.into_iter().filter(|w| (w.y_min - first_line_y).abs() < 0.5).collect()
}

#[test]
fn a_chinese_name_prints_in_the_embedded_subset_and_reads_back() {
    let (Some(font), true) = (font(), poppler()) else { return };
    let city = DemoCity::new().unwrap();
    let line = check_card(&city, &font, demo::NAME, "chinese.pdf");
    assert_eq!(line.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["张*明"]);
    // The name at its full 7 mm: a line that fits is not shrunk.
    let height_mm = (line[0].y_max - line[0].y_min) / PT;
    assert!(height_mm > 7.0 && height_mm < 11.0, "{height_mm} mm");

    // pdffonts: one font, Type 0 over CFF (CID Type 0C), embedded, subset, with ToUnicode.
    let code = printed(&city, demo::NAME);
    let pdf = scratch().join("pdffonts.pdf");
    std::fs::write(&pdf, printed_card_pdf(&code, &font).unwrap()).unwrap();
    let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "{fonts}");
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    let (name, emb_sub_uni) = (cols[0], &cols[cols.len() - 5..cols.len() - 2]);
    assert!(
        name.len() > 7 && name.as_bytes()[6] == b'+' && name[..6].bytes().all(|b| b.is_ascii_uppercase()),
        "{fonts}"
    );
    assert!(name.ends_with("+NotoSansCJKsc-Regular"), "{fonts}");
    assert!(rows[0].contains("CID Type 0C") && rows[0].contains("Identity-H"), "{fonts}");
    assert_eq!(emb_sub_uni, ["yes", "yes", "yes"], "{fonts}");
}

#[test]
fn a_long_latin_name_is_set_smaller_and_stays_inside_the_margins() {
    let (Some(font), true) = (font(), poppler()) else { return };
    let city = DemoCity::new().unwrap();
    // 64 bytes, the longest name an identity holds (SPEC.md §4.3).
    let name = "Maximiliana Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh";
    let name = &name[..64];
    let line = check_card(&city, &font, name, "latin.pdf");
    let (left, right) = (line.first().unwrap().x_min, line.last().unwrap().x_max);
    // Set smaller than 7 mm to fill (nearly) the whole width between the margins, centred.
    let room = (WIDTH_MM - 2.0 * MARGIN_MM) * PT;
    assert!(right - left > room * 0.9 && right - left <= room + 0.5, "{left}..{right}");
    assert!((left - (WIDTH_MM * PT - right)).abs() < 1.0, "centred: {left}..{right}");
    let height_mm = (line[0].y_max - line[0].y_min) / PT;
    assert!(height_mm < 7.0 && height_mm > 2.5, "{height_mm} mm");
    // A name of one long word too.
    check_card(
        &city,
        &font,
        &"Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaf"[..64],
        "one-word.pdf",
    );
}

#[test]
fn rare_characters_print_and_extract_exactly() {
    let (Some(font), true) = (font(), poppler()) else { return };
    let city = DemoCity::new().unwrap();
    // 䶮 (U+4DAE, Extension A) and 𰻞 (U+30EDE, Extension G, beyond the Basic Multilingual
    // Plane, which the old UCS-2 text printed as "?").
    let line = check_card(&city, &font, "刘小䶮", "ext-a.pdf");
    assert_eq!(line[0].text, "刘*䶮");
    let line = check_card(&city, &font, "王小𰻞", "ext-g.pdf");
    assert_eq!(line[0].text, "王*𰻞");
}

#[test]
fn truetype_fonts_embed_as_cid_truetype() {
    let (Some(_), true) = (font(), poppler()) else { return };
    if !present(TRUETYPE_FONT, Path::new(TRUETYPE_FONT).exists()) {
        return;
    }
    let font = CardFont::from_file(TRUETYPE_FONT, Some("WenQuanYi Micro Hei")).unwrap();
    assert_eq!(font.family(), "WenQuanYi Micro Hei");
    let city = DemoCity::new().unwrap();
    check_card(&city, &font, demo::NAME, "truetype.pdf");
    let pdf = scratch().join("truetype-pdffonts.pdf");
    std::fs::write(&pdf, printed_card_pdf(&printed(&city, demo::NAME), &font).unwrap()).unwrap();
    let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
    assert!(fonts.contains("+WenQuanYiMicroHei") && fonts.contains("CID TrueType"), "{fonts}");
    // Its collection has no Noto face: without a family the default families are not found.
    let err = CardFont::from_file(TRUETYPE_FONT, None).unwrap_err();
    assert_eq!(err.code(), "font_face_not_found");
    assert!(err.to_string().contains("WenQuanYi Micro Hei Mono"), "{err}");
}

#[test]
fn a_character_the_font_lacks_is_refused_not_printed_as_a_box() {
    let Some(font) = font() else { return };
    let city = DemoCity::new().unwrap();
    // 𪚥 (U+2A6A5, Extension B) is not in Noto Sans CJK.
    let err = printed_card_pdf(&printed(&city, "王小𪚥"), &font).unwrap_err();
    assert!(matches!(err, CardError::MissingGlyph { ch: '𪚥', .. }), "{err:?}");
    assert_eq!(err.code(), "missing_glyph");
    assert!(err.to_string().contains("U+2A6A5") && err.to_string().contains("Noto Sans CJK SC"), "{err}");
    // Only the printed (masked) characters matter: a middle character is never printed.
    assert!(printed_card_pdf(&printed(&city, "王𪚥明"), &font).is_ok());
}

#[test]
fn fonts_are_chosen_and_refused_with_their_codes() {
    let Some(font) = font() else { return };
    assert_eq!(font.family(), "Noto Sans CJK SC");
    let path = font_path();
    // Another face of the collection, by family or full name.
    assert_eq!(CardFont::from_file(&path, Some("Noto Sans CJK JP")).unwrap().family(), "Noto Sans CJK JP");
    let err = CardFont::from_file(&path, Some("Comic Sans MS")).unwrap_err();
    assert_eq!(err.code(), "font_face_not_found");
    assert!(err.to_string().contains("Noto Sans CJK SC") && err.to_string().contains("Comic Sans MS"), "{err}");
    let err = CardFont::from_file("/nonexistent/card-font.ttc", None).unwrap_err();
    assert_eq!(err.code(), "font_unreadable");
    assert!(err.to_string().contains("/nonexistent/card-font.ttc"), "{err}");
    for junk in [Vec::new(), b"not a font at all".to_vec(), b"ttcf\0\x01\0\0\0\0\0\x02".to_vec()] {
        assert_eq!(CardFont::from_bytes(junk, None).unwrap_err().code(), "font_invalid");
    }
    // The same face with its OS/2 fsType set to "restricted licence embedding" (bit 1),
    // then to "no subsetting" (bit 8): refused, whatever else it has.
    let bytes = std::fs::read(&path).unwrap();
    for fs_type in [0x0002u16, 0x0100, 0x0200] {
        let mut patched = bytes.clone();
        let os2 = table_offset(&patched, font.face_index(), b"OS/2");
        patched[os2 + 8..os2 + 10].copy_from_slice(&fs_type.to_be_bytes());
        let err = CardFont::from_bytes(patched, None).unwrap_err();
        assert_eq!(err.code(), "font_not_embeddable", "fsType {fs_type:#06x}");
    }
    // Preview & print (bit 2) is enough for a printed card.
    let mut patched = bytes;
    let os2 = table_offset(&patched, font.face_index(), b"OS/2");
    patched[os2 + 8..os2 + 10].copy_from_slice(&0x0004u16.to_be_bytes());
    assert!(CardFont::from_bytes(patched, None).is_ok());
}

/// The offset of a table of face `index` in a font collection (or single font).
fn table_offset(data: &[u8], index: u32, tag: &[u8; 4]) -> usize {
    let be32 = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    let face = if &data[..4] == b"ttcf" { be32(12 + 4 * index as usize) } else { 0 };
    let tables = u16::from_be_bytes(data[face + 4..face + 6].try_into().unwrap()) as usize;
    (0..tables)
        .map(|i| face + 12 + 16 * i)
        .find(|&record| &data[record..record + 4] == tag)
        .map(|record| be32(record + 8))
        .unwrap()
}

#[test]
fn the_same_card_gives_the_same_file_with_a_sound_cross_reference_table() {
    let Some(font) = font() else { return };
    let city = DemoCity::new().unwrap();
    let code = printed(&city, demo::NAME);
    let pdf = printed_card_pdf(&code, &font).unwrap();
    assert_eq!(pdf, printed_card_pdf(&code, &font).unwrap());
    assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 297.638 419.528]"), "A6 in points");
    // Every cross-reference offset points at its object, and startxref at the table.
    let xref = pdf.windows(6).rposition(|w| w == b"\nxref\n").unwrap() + 1;
    let table = String::from_utf8(pdf[xref..].to_vec()).unwrap();
    let count: usize = table.lines().nth(1).unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    assert!(count >= 10, "{count}");
    for (i, line) in table.lines().skip(3).take(count - 1).enumerate() {
        let offset: usize = line[..10].parse().unwrap();
        assert!(pdf[offset..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()), "object {}", i + 1);
    }
    let start: usize = table.lines().rev().nth(1).unwrap().parse().unwrap();
    assert_eq!(start, xref);
    // Not the whole font: a card is a few kilobytes, whatever the font's size.
    assert!(pdf.len() < 40_000, "{} bytes", pdf.len());
    // A different holder draws different glyphs, so the subset tag changes too.
    let other = printed_card_pdf(&printed(&city, "王秀英"), &font).unwrap();
    let tag = |pdf: &[u8]| {
        let s = String::from_utf8_lossy(pdf);
        let at = s.find("/BaseFont /").unwrap() + 11;
        s[at..at + 7].to_string()
    };
    assert_ne!(tag(&pdf), tag(&other));
}
