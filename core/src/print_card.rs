//! The printable card of a printed code (SPEC.md §5.1): A6 portrait (105 × 148 mm), the
//! QR symbol 80 mm wide, the holder's masked name, the validity dates and the instruction
//! to check the identity document, as SVG or PDF. The full name and the document number
//! are never printed in clear beside the symbol: a lost card tells a finder little.

use crate::claims::mask_name;
use crate::credential::DAY;
use crate::error::Error;
use crate::printed::PrintedCode;
use crate::qr::Qr;

/// Card size in millimetres (ISO 216 A6, portrait).
const WIDTH_MM: f64 = 105.0;
const HEIGHT_MM: f64 = 148.0;
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

/// The lines of text under the symbol, top to bottom, with their font size in mm.
fn lines(f: &Face) -> [(String, f64); 4] {
    [
        (f.masked_name.clone(), 7.0),
        (format!("有效期 Valid {} – {}", f.from, f.until), 4.0),
        ("请核验持码人身份证 Check the holder's ID card".to_string(), 3.6),
        ("仅限人工窗口使用 For staffed counters only".to_string(), 3.6),
    ]
}

/// The card as an SVG document, sized in millimetres for printing at 100%.
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
    let mut baseline = QR_TOP_MM + QR_MM + 9.0;
    for (line, size) in lines(&f) {
        text.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{baseline:.1}\" font-size=\"{size}\" text-anchor=\"middle\">{}</text>",
            WIDTH_MM / 2.0,
            xml_escape(&line)
        ));
        baseline += size + 3.0;
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH_MM}mm\" height=\"{HEIGHT_MM}mm\" viewBox=\"0 0 {WIDTH_MM} {HEIGHT_MM}\" font-family=\"'Noto Sans CJK SC','Source Han Sans SC',sans-serif\">\
<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
<text x=\"{:.1}\" y=\"14\" font-size=\"6\" text-anchor=\"middle\" font-weight=\"bold\">{TITLE}</text>\
<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"{path}\"/>{text}</svg>",
        WIDTH_MM / 2.0
    ))
}

/// PDF points per millimetre.
const PT: f64 = 72.0 / 25.4;

/// UTF-16BE hex of a string for the PDF's `UniGB-UCS2-H` font (characters outside the
/// Basic Multilingual Plane, which UCS-2 cannot carry, print as `?`).
fn ucs2_hex(s: &str) -> String {
    s.chars().map(|c| if (c as u32) <= 0xFFFF { format!("{:04X}", c as u32) } else { "003F".into() }).collect()
}

/// The card as a one-page PDF, A6 portrait. Text is set in Adobe's STSong-Light, a
/// CJK font every PDF reader provides or substitutes (none is embedded), so the file
/// stays small; the symbol is vector rectangles.
pub fn printed_card_pdf(code: &PrintedCode) -> Result<Vec<u8>, Error> {
    let f = face(code)?;
    let (w, h) = (WIDTH_MM * PT, HEIGHT_MM * PT);
    let side = f.qr.width + 8;
    let module = QR_MM / side as f64 * PT;
    let left = (WIDTH_MM - QR_MM) / 2.0 * PT;
    let top = h - QR_TOP_MM * PT;
    let mut content = String::from("0 g\n");
    for y in 0..f.qr.width {
        for x in 0..f.qr.width {
            if f.qr.is_dark(x, y) {
                let px = left + (x + 4) as f64 * module;
                let py = top - (y + 5) as f64 * module;
                content.push_str(&format!("{px:.2} {py:.2} {module:.3} {module:.3} re\n"));
            }
        }
    }
    content.push_str("f\n");
    // Text, centred by an estimate of its width: CJK characters are one em, others half.
    let mut put = |line: &str, size_mm: f64, baseline_mm: f64| {
        let size = size_mm * PT;
        let ems: f64 = line.chars().map(|c| if c.is_ascii() { 0.5 } else { 1.0 }).sum();
        let x = (w - ems * size) / 2.0;
        let y = h - baseline_mm * PT;
        content.push_str(&format!("BT /F1 {size:.2} Tf {x:.2} {y:.2} Td <{}> Tj ET\n", ucs2_hex(line)));
    };
    put(TITLE, 6.0, 14.0);
    let mut baseline = QR_TOP_MM + QR_MM + 9.0;
    for (line, size) in lines(&f) {
        put(&line, size, baseline);
        baseline += size + 3.0;
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:.2} {h:.2}] /Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>"
            .to_string(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 6 0 R >>".to_string(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        table.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.extend_from_slice(table.as_bytes());
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    Ok(pdf)
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
}
