//! The printable card of a printed code (SPEC.md §5.1): A6 portrait (105 × 148 mm), the
//! QR symbol 80 mm wide, the holder's masked name, the validity dates and the instruction
//! to check the identity document, as SVG or PDF. The full name and the document number
//! are never printed in clear beside the symbol: a lost card tells a finder little.
//!
//! The PDF (feature `pdf`) embeds a subset of a font the caller supplies (`CardFont`,
//! by default Noto Sans CJK SC from [`DEFAULT_FONT_PATH`]): exactly the glyphs the card
//! shows, their widths and a ToUnicode map, so it prints the same in every reader and its
//! text extracts and searches. Every line is set with the font's own advances, centred,
//! and made smaller if it would not fit between the margins.
//! The SVG names the same font family and leaves the fonts to the viewer.

use crate::claims::DAY;
use crate::claims::mask_name;
use crate::error::Error;
use crate::printed::PrintedCode;
use crate::qr::Qr;

#[cfg(feature = "pdf")]
mod font;
#[cfg(feature = "pdf")]
mod pdf;
#[cfg(feature = "pdf")]
pub use font::{CardFont, DEFAULT_FAMILIES};

/// Where Debian's `fonts-noto-cjk` package puts Noto Sans CJK (regular weight, every
/// region's face in one collection): the card font the CLI and services read when none
/// is configured.
pub const DEFAULT_FONT_PATH: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// Card width in millimetres (ISO 216 A6, portrait).
pub const WIDTH_MM: f64 = 105.0;
/// Card height in millimetres.
pub const HEIGHT_MM: f64 = 148.0;
/// No text comes closer than this to the left or right edge: a line wider than the
/// space between is set smaller.
pub const MARGIN_MM: f64 = 8.0;
/// The symbol, quiet zone included.
const QR_MM: f64 = 80.0;
const QR_TOP_MM: f64 = 22.0;
/// The heading, at 6 mm, its baseline 14 mm from the top.
const TITLE: &str = "城市码 · 纸质码 City code";

/// What a card shows besides the symbol.
struct Face {
    qr: Qr,
    masked_name: String,
    from: String,
    until: String,
}

/// The civil date (proleptic Gregorian, UTC) of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    // H. Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(unix: u64) -> String {
    let (y, m, d) = civil((unix / DAY) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn face(code: &PrintedCode) -> Result<Face, Error> {
    let claims = code.untrusted_claims();
    let name = claims.identity.as_ref().map(|i| i.name.as_str()).unwrap_or_default();
    Ok(Face {
        qr: Qr::new(&code.to_text())?,
        masked_name: mask_name(name),
        from: date(code.not_before()),
        // The last day of validity, as people read it.
        until: date(code.not_after().saturating_sub(DAY)),
    })
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A line of text: what it says, its font size and its baseline from the top, in mm.
struct Line {
    text: String,
    size_mm: f64,
    baseline_mm: f64,
}

/// The card's lines of text, top to bottom: the heading above the symbol, then the
/// masked name, the validity and the two instructions under it.
fn lines(f: &Face) -> Vec<Line> {
    let under = [
        (f.masked_name.clone(), 7.0),
        (format!("有效期 Valid {} – {}", f.from, f.until), 4.0),
        ("请核验持码人身份证 Check the holder's ID card".to_string(), 3.6),
        ("仅限人工窗口使用 For staffed counters only".to_string(), 3.6),
    ];
    let mut out = vec![Line { text: TITLE.to_string(), size_mm: 6.0, baseline_mm: 14.0 }];
    let mut baseline_mm = QR_TOP_MM + QR_MM + 9.0;
    for (text, size_mm) in under {
        out.push(Line { text, size_mm, baseline_mm });
        baseline_mm += size_mm + 3.0;
    }
    out
}

/// The card as an SVG document, sized in millimetres for printing at 100%. Its text names
/// the font family Noto Sans CJK SC (Source Han Sans SC, then any sans-serif font) and
/// is centred by the viewer; nothing is embedded.
pub fn printed_card_svg(code: &PrintedCode) -> Result<String, Error> {
    let f = face(code)?;
    let side = f.qr.width + 8;
    let module = QR_MM / side as f64;
    let left = (WIDTH_MM - QR_MM) / 2.0;
    let mut path = String::new();
    for y in 0..f.qr.width {
        for x in 0..f.qr.width {
            if f.qr.is_dark(x, y) {
                let (px, py) = (left + (x + 4) as f64 * module, QR_TOP_MM + (y + 4) as f64 * module);
                path.push_str(&format!("M{px:.3},{py:.3}h{module:.3}v{module:.3}h-{module:.3}z"));
            }
        }
    }
    let mut text = String::new();
    for (i, line) in lines(&f).iter().enumerate() {
        text.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{}\" text-anchor=\"middle\"{}>{}</text>",
            WIDTH_MM / 2.0,
            line.baseline_mm,
            line.size_mm,
            if i == 0 { " font-weight=\"bold\"" } else { "" },
            xml_escape(&line.text)
        ));
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH_MM}mm\" height=\"{HEIGHT_MM}mm\" viewBox=\"0 0 {WIDTH_MM} {HEIGHT_MM}\" font-family=\"'Noto Sans CJK SC','Source Han Sans SC',sans-serif\">\
<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"{path}\"/>{text}</svg>"
    ))
}

#[cfg(feature = "pdf")]
/// Why a printed card could not be rendered as PDF. [`CardError::code`] gives the stable
/// code SPEC.md §10 lists.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The code itself could not be drawn (its QR symbol); the code of the inner error.
    #[error(transparent)]
    Code(#[from] Error),
    /// The font file could not be read (`font_unreadable`).
    #[error("cannot read the card font {path}: {detail}")]
    FontUnreadable {
        /// The path asked for.
        path: String,
        /// The operating system's reason.
        detail: String,
    },
    /// The bytes are not a font the card can embed: not OpenType, no face parses, no
    /// Unicode cmap or advances, neither CFF nor TrueType outlines, or subsetting failed
    /// (`font_invalid`).
    #[error("the card font is unusable: {0}")]
    FontInvalid(String),
    /// No face of the font file or collection has the family asked for
    /// (`font_face_not_found`).
    #[error("no face of the card font is named {family} (it has: {available})")]
    FontFaceNotFound {
        /// The family asked for (or the default families tried).
        family: String,
        /// The families the file has.
        available: String,
    },
    /// The font's OS/2 `fsType` forbids embedding a subset of its outlines
    /// (`font_not_embeddable`).
    #[error("the card font {family} may not be embedded in a document (its OS/2 fsType forbids it)")]
    FontNotEmbeddable {
        /// The face's family.
        family: String,
    },
    /// A character the card shows has no glyph in the font (`missing_glyph`): a card is
    /// never printed with a blank or a box in the name. Names the character, which is
    /// one the card prints (a character of the masked name, at most its first or last).
    #[error("the card font {family} has no glyph for U+{:04X}; configure a font that covers it", u32::from(*ch))]
    MissingGlyph {
        /// The face's family.
        family: String,
        /// The character.
        ch: char,
    },
}

#[cfg(feature = "pdf")]
impl CardError {
    /// The stable code (SPEC.md §10): the inner error's code for [`CardError::Code`],
    /// otherwise `font_unreadable`, `font_invalid`, `font_face_not_found`,
    /// `font_not_embeddable` or `missing_glyph`.
    pub const fn code(&self) -> &'static str {
        match self {
            CardError::Code(e) => e.code(),
            CardError::FontUnreadable { .. } => "font_unreadable",
            CardError::FontInvalid(_) => "font_invalid",
            CardError::FontFaceNotFound { .. } => "font_face_not_found",
            CardError::FontNotEmbeddable { .. } => "font_not_embeddable",
            CardError::MissingGlyph { .. } => "missing_glyph",
        }
    }
}

/// PDF points per millimetre.
#[cfg(feature = "pdf")]
const PT: f64 = 72.0 / 25.4;

/// A number for a PDF content stream or dictionary: at most three decimals, no
/// trailing zeros.
#[cfg(feature = "pdf")]
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A line as the PDF sets it: its glyphs, and the size and left edge (mm) that centre it
/// within the margins.
#[cfg(feature = "pdf")]
struct SetLine {
    glyphs: Vec<font::Glyph>,
    size_mm: f64,
    x_mm: f64,
    baseline_mm: f64,
}

/// Sets a line: its width from the font's advances, its size reduced (never enlarged) so
/// that it fits between the margins, centred.
#[cfg(feature = "pdf")]
fn set_line(line: &Line, face: &ttf_parser::Face<'_>, family: &str) -> Result<SetLine, CardError> {
    let glyphs = font::glyphs(face, family, &line.text)?;
    let ems: f64 = glyphs.iter().map(|g| g.advance).sum::<f64>() / 1000.0;
    let room = WIDTH_MM - 2.0 * MARGIN_MM;
    let size_mm = if ems * line.size_mm > room { room / ems } else { line.size_mm };
    Ok(SetLine { glyphs, size_mm, x_mm: (WIDTH_MM - ems * size_mm) / 2.0, baseline_mm: line.baseline_mm })
}

/// The ToUnicode CMap: each glyph of the subset (its CID) to the character it shows, in
/// UTF-16BE (surrogate pairs beyond the Basic Multilingual Plane).
#[cfg(feature = "pdf")]
fn to_unicode(chars: &[char]) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    // CID 0 is .notdef; the card's glyphs are CIDs 1.. in order. At most 100 a block.
    let entries: Vec<(usize, &char)> = chars.iter().enumerate().map(|(i, c)| (i + 1, c)).collect();
    for block in entries.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", block.len()));
        for (cid, ch) in block {
            let utf16: String = ch.encode_utf16(&mut [0; 2]).iter().map(|u| format!("{u:04X}")).collect();
            cmap.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

/// The subset tag of a font name (six capital letters, PDF 32000-1 §9.6.4): derived from
/// the glyphs, so the same card gives the same file.
#[cfg(feature = "pdf")]
fn subset_tag(glyphs: &[u16], postscript_name: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(postscript_name.as_bytes());
    for g in glyphs {
        h.update(g.to_be_bytes());
    }
    h.finalize().iter().take(6).map(|b| char::from(b'A' + b % 26)).collect()
}

/// The card as a one-page PDF, A6 portrait: the symbol as vector rectangles, the text in
/// an embedded subset of `font` (Type 0 font, `Identity-H`, glyph widths, ToUnicode), the
/// streams deflated. Fails with [`CardError::MissingGlyph`] if the font lacks a character
/// the card shows (a rare character of a name: configure a font that has it).
#[cfg(feature = "pdf")]
pub fn printed_card_pdf(code: &PrintedCode, font: &CardFont) -> Result<Vec<u8>, CardError> {
    let f = face(code)?;
    let ttf = font.face()?;
    let set = lines(&f).iter().map(|line| set_line(line, &ttf, font.family())).collect::<Result<Vec<_>, _>>()?;

    // The subset: every glyph the card shows, numbered 1.. in order of appearance (the
    // subsetter makes CID = new glyph id); the character each shows, for ToUnicode.
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut chars = Vec::new();
    for g in set.iter().flat_map(|l| &l.glyphs) {
        if remapper.get(g.id.0).is_none() {
            remapper.remap(g.id.0);
            chars.push(g.ch);
        }
    }
    let widths: Vec<String> = {
        let mut w = vec![String::new(); chars.len()];
        for g in set.iter().flat_map(|l| &l.glyphs) {
            if let Some(slot) = remapper.get(g.id.0).and_then(|cid| w.get_mut(usize::from(cid).wrapping_sub(1))) {
                *slot = num(g.advance);
            }
        }
        w
    };
    let old_ids: Vec<u16> = remapper.remapped_gids().collect();
    let subset = font.subset(&remapper)?;

    // Page content: the symbol, then each line.
    let (w, h) = (WIDTH_MM * PT, HEIGHT_MM * PT);
    let side = f.qr.width + 8;
    let module = QR_MM / side as f64 * PT;
    let left = (WIDTH_MM - QR_MM) / 2.0 * PT;
    let top = h - QR_TOP_MM * PT;
    let mut content = String::from("0 g\n");
    for y in 0..f.qr.width {
        // One rectangle per horizontal run of dark modules.
        let mut x = 0;
        while x < f.qr.width {
            if !f.qr.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < f.qr.width && f.qr.is_dark(x, y) {
                x += 1;
            }
            let px = left + (start + 4) as f64 * module;
            let py = top - (y + 5) as f64 * module;
            content.push_str(&format!(
                "{} {} {} {} re\n",
                num(px),
                num(py),
                num((x - start) as f64 * module),
                num(module)
            ));
        }
    }
    content.push_str("f\n");
    for line in &set {
        let hex: String =
            line.glyphs.iter().filter_map(|g| remapper.get(g.id.0)).map(|cid| format!("{cid:04X}")).collect();
        content.push_str(&format!(
            "BT /F1 {} Tf {} {} Td <{hex}> Tj ET\n",
            num(line.size_mm * PT),
            num(line.x_mm * PT),
            num(h - line.baseline_mm * PT)
        ));
    }

    // The font: Type 0 over one CID font, its descriptor, the embedded subset.
    let per_em = f64::from(ttf.units_per_em().max(1));
    let scale = |v: i16| num(f64::from(v) * 1000.0 / per_em);
    let bbox = ttf.global_bounding_box();
    let name = format!("{}+{}", subset_tag(&old_ids, font.postscript_name()), font.postscript_name());
    let mut pdf = pdf::Pdf::default();
    let (catalog, pages, page) = (pdf.reserve(), pdf.reserve(), pdf.reserve());
    let contents = pdf.stream("", content.as_bytes());
    let (file_key, cid_subtype, cid_to_gid, file_extra) = match font.outlines() {
        font::Outlines::Cff => ("FontFile3", "CIDFontType0", "", " /Subtype /CIDFontType0C".to_string()),
        font::Outlines::TrueType => {
            ("FontFile2", "CIDFontType2", " /CIDToGIDMap /Identity", format!(" /Length1 {}", subset.len()))
        }
    };
    let file = pdf.stream(&file_extra, &subset);
    let descriptor = pdf.add(format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 \
/Ascent {} /Descent {} /CapHeight {} /StemV 80 /{file_key} {file} 0 R >>",
        scale(bbox.x_min),
        scale(bbox.y_min),
        scale(bbox.x_max),
        scale(bbox.y_max),
        scale(ttf.ascender()),
        scale(ttf.descender()),
        scale(ttf.capital_height().unwrap_or(ttf.ascender())),
    ));
    let cid_font = pdf.add(format!(
        "<< /Type /Font /Subtype /{cid_subtype} /BaseFont /{name} \
/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
/FontDescriptor {descriptor} 0 R /DW 1000 /W [1 [{}]]{cid_to_gid} >>",
        widths.join(" ")
    ));
    let unicode = pdf.stream("", to_unicode(&chars).as_bytes());
    let type0 = pdf.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
/DescendantFonts [{cid_font} 0 R] /ToUnicode {unicode} 0 R >>"
    ));
    pdf.set(catalog, format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
    pdf.set(pages, format!("<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"));
    pdf.set(
        page,
        format!(
            "<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 {type0} 0 R >> >> \
/Contents {contents} 0 R >>",
            num(w),
            num(h)
        ),
    );
    Ok(pdf.finish(catalog))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_784), (2026, 11, 27));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(-1), (1969, 12, 31));
    }

    #[cfg(feature = "pdf")]
    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(297.637_795), "297.638");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(-3.25), "-3.25");
    }

    #[cfg(feature = "pdf")]
    #[test]
    fn to_unicode_maps_each_cid_to_utf16_in_blocks_of_100() {
        let cmap = to_unicode(&['王', '*', '\u{30EDE}']);
        assert!(cmap.contains("3 beginbfchar\n<0001> <738B>\n<0002> <002A>\n<0003> <D883DEDE>\nendbfchar"), "{cmap}");
        assert!(cmap.contains("<0000> <FFFF>"));
        let many: Vec<char> = ('a'..='z').cycle().take(250).collect();
        let cmap = to_unicode(&many);
        let blocks: Vec<&str> = cmap.lines().filter(|l| l.ends_with("beginbfchar")).collect();
        assert_eq!(blocks, ["100 beginbfchar", "100 beginbfchar", "50 beginbfchar"]);
        assert!(cmap.contains("<00FA> <0070>"), "CID 250 is the 250th character");
    }

    #[cfg(feature = "pdf")]
    #[test]
    fn subset_tags_are_six_capitals_that_follow_the_glyphs() {
        let tag = subset_tag(&[0, 5, 9], "NotoSansCJKsc-Regular");
        assert_eq!(tag.len(), 6);
        assert!(tag.bytes().all(|b| b.is_ascii_uppercase()), "{tag}");
        assert_eq!(tag, subset_tag(&[0, 5, 9], "NotoSansCJKsc-Regular"));
        assert_ne!(tag, subset_tag(&[0, 5, 10], "NotoSansCJKsc-Regular"));
        assert_ne!(tag, subset_tag(&[0, 5, 9], "SourceHanSansSC-Regular"));
    }
}
