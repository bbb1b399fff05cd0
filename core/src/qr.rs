//! QR rendering (feature `qr`): module matrix, SVG and terminal text.
//!
//! Error correction is level M (15% recovery), as turnstile scanners expect. The
//! encoder segments the text itself: the `CC1:` prefix goes in alphanumeric mode and
//! the digits in numeric mode.

use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::types::QrError;
use qrcode::{Color, EcLevel};

use crate::error::{Reason, Rejection};

/// A rendered QR symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    /// QR version, 1 to 40.
    pub version: u8,
    /// Modules per side (without quiet zone).
    pub width: usize,
    /// Row-major modules, `true` = dark.
    pub modules: Vec<bool>,
}

/// The eight mask patterns of ISO/IEC 18004 §7.8.2, with whether each inverts the data
/// module at column x, row y.
type MaskFn = fn(usize, usize) -> bool;
const MASKS: [(MaskPattern, MaskFn); 8] = [
    (MaskPattern::Checkerboard, |x, y| (x + y) % 2 == 0),
    (MaskPattern::HorizontalLines, |_, y| y % 2 == 0),
    (MaskPattern::VerticalLines, |x, _| x % 3 == 0),
    (MaskPattern::DiagonalLines, |x, y| (x + y) % 3 == 0),
    (MaskPattern::LargeCheckerboard, |x, y| (y / 2 + x / 3) % 2 == 0),
    (MaskPattern::Fields, |x, y| (x * y) % 2 + (x * y) % 3 == 0),
    (MaskPattern::Diamonds, |x, y| ((x * y) % 2 + (x * y) % 3) % 2 == 0),
    (MaskPattern::Meadow, |x, y| ((x + y) % 2 + (x * y) % 3) % 2 == 0),
];

impl Qr {
    /// Encodes text at error-correction level M in the smallest version that fits,
    /// with the mask of lowest penalty (ISO/IEC 18004 §7.8.3).
    ///
    /// The `qrcode` crate segments, encodes, places and masks the data; the mask is
    /// chosen here because the crate's own penalty scoring takes about 2 ms of the
    /// 2.4 ms a symbol would cost (BENCHMARKS.md). Any of the eight masks gives a
    /// standard symbol; the penalty only steers away from patterns that trouble scanners.
    pub fn new(text: &str) -> Result<Qr, Rejection> {
        let err = |e: QrError| Rejection::new(Reason::Malformed, format!("QR encoding: {e}"));
        let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M).map_err(err)?;
        let version = bits.version();
        let (data, ecc) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(err)?;
        let mut canvas = Canvas::new(version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ecc);
        let side = version.width();
        let width = usize::try_from(side).unwrap_or(0);
        // Unmasked colours, and which modules carry data (the mask applies to those).
        let (mut base, mut is_data) = (Vec::with_capacity(width * width), Vec::with_capacity(width * width));
        for y in 0..side {
            for x in 0..side {
                let module = canvas.get(x, y);
                base.push(module.is_dark());
                is_data.push(!matches!(module, Module::Masked(_)));
            }
        }
        // Score each mask on the data modules; the format information it also changes
        // (30 modules) is left out of the score. Then let the encoder apply the winner.
        let mut best: Option<(u32, MaskPattern)> = None;
        let mut masked = vec![false; base.len()];
        for (mask, flips) in MASKS {
            let rows = masked
                .chunks_exact_mut(width.max(1))
                .zip(base.chunks_exact(width.max(1)))
                .zip(is_data.chunks_exact(width.max(1)));
            for (y, ((out, dark), data)) in rows.enumerate() {
                for (x, ((out, &dark), &data)) in out.iter_mut().zip(dark).zip(data).enumerate() {
                    *out = dark ^ (data & flips(x, y));
                }
            }
            let score = penalty(&masked, width);
            if best.is_none_or(|(s, _)| score < s) {
                best = Some((score, mask));
            }
        }
        let (_, mask) = best.ok_or_else(|| Rejection::new(Reason::Malformed, "QR encoding: no mask"))?;
        canvas.apply_mask(mask);
        let modules: Vec<bool> = canvas.into_colors().into_iter().map(|c| c == Color::Dark).collect();
        let version = match version {
            qrcode::Version::Normal(v) => u8::try_from(v).unwrap_or(0),
            qrcode::Version::Micro(_) => 0,
        };
        Ok(Qr { version, width, modules })
    }

    /// Whether the module at (x, y) is dark; false outside the symbol.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && self.modules.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// An SVG image, `module_px` pixels per module, with a 4-module quiet zone.
    pub fn to_svg(&self, module_px: usize) -> String {
        let px = module_px.max(1);
        let side = (self.width + 8) * px;
        let mut path = String::new();
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    path.push_str(&format!("M{},{}h{px}v{px}h-{px}z", (x + 4) * px, (y + 4) * px));
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{side}\" height=\"{side}\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }

    /// Text for a terminal: two module rows per line with half blocks, dark on light,
    /// with a 2-module quiet zone.
    pub fn to_terminal(&self) -> String {
        let q = 2usize;
        let side = self.width + 2 * q;
        let dark = |x: usize, y: usize| x >= q && y >= q && self.is_dark(x - q, y - q);
        let mut out = String::with_capacity(side * side / 2 * 3);
        for y in (0..side).step_by(2) {
            for x in 0..side {
                // Light background, dark modules: print a block where the module is light.
                out.push(match (dark(x, y), dark(x, y + 1)) {
                    (false, false) => '█',
                    (false, true) => '▀',
                    (true, false) => '▄',
                    (true, true) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

/// The penalty of a masked symbol (ISO/IEC 18004 §7.8.3); the lowest wins. N1: runs of
/// five or more same-coloured modules in a row or column; N2: 2×2 blocks of one
/// colour; N3: finder-like 1:1:3:1:1 runs with four light modules on one side; N4: the
/// dark share's distance from half, in 5% steps.
fn penalty(m: &[bool], w: usize) -> u32 {
    let w = w.max(1);
    let mut transposed = vec![false; m.len()];
    for (y, row) in m.chunks_exact(w).enumerate() {
        for (x, &dark) in row.iter().enumerate() {
            if let Some(t) = transposed.get_mut(x * w + y) {
                *t = dark;
            }
        }
    }
    // Branch-free arithmetic: the modules are noise to a branch predictor, and
    // mispredictions cost more than the counting itself.
    let mut score = 0u32;
    for line in m.chunks_exact(w).chain(transposed.chunks_exact(w)) {
        let (mut run, mut prev, mut window) = (0u32, false, 0u32);
        for (i, &dark) in line.iter().enumerate() {
            let same = u32::from(dark == prev && i > 0);
            // A run that ends here scores run - 2 if it reached 5.
            score += (1 - same) * u32::from(run >= 5) * run.saturating_sub(2);
            run = same * run + 1;
            prev = dark;
            window = ((window << 1) | u32::from(dark)) & 0x7ff;
            score += 40 * u32::from(i >= 10 && ((window == 0b101_1101_0000) | (window == 0b000_0101_1101)));
        }
        score += u32::from(run >= 5) * run.saturating_sub(2);
    }
    for (upper, lower) in m.chunks_exact(w).zip(m.chunks_exact(w).skip(1)) {
        for (a, b) in upper.windows(2).zip(lower.windows(2)) {
            if let ([a0, a1], [b0, b1]) = (a, b) {
                score += 3 * u32::from((a0 == a1) & (a0 == b0) & (a0 == b1));
            }
        }
    }
    let total = w * w;
    let dark = m.iter().filter(|&&d| d).count();
    score + 10 * u32::try_from((dark * 20).abs_diff(total * 10) / total).unwrap_or(u32::MAX / 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_payload_is_dense_and_the_symbol_has_finder_patterns() {
        let text = format!("CC1:{}", "1234567890".repeat(40));
        let qr = Qr::new(&text).unwrap();
        // 404 chars: byte mode would need version 15 at M; numeric fits version 9.
        assert_eq!(qr.version, 9);
        assert_eq!(qr.width, 17 + 4 * 9);
        // Top-left finder pattern: dark border, light ring, dark centre.
        assert!(qr.is_dark(0, 0) && qr.is_dark(6, 6) && !qr.is_dark(1, 1) && qr.is_dark(3, 3));
        assert!(qr.to_svg(4).starts_with("<svg"));
        assert_eq!(qr.to_terminal().lines().count(), (qr.width + 4).div_ceil(2));
    }

    #[test]
    fn penalty_counts_each_rule() {
        // 5×5 all light: N1 3 per row and column (30), N2 16 blocks (48), N4 50% off (100).
        assert_eq!(penalty(&[false; 25], 5), 30 + 48 + 100);
        // An 11×11 checkerboard whose first row is the finder-like run 10111010000 costs
        // N3's 40 more than with that run broken (give or take N1 and N2 changes).
        let symbol = |row0: [bool; 11]| -> Vec<bool> {
            (0..11).flat_map(|y| (0..11).map(move |x| if y == 0 { row0[x] } else { (x + y) % 2 == 0 })).collect()
        };
        let (t, f) = (true, false);
        let finder = symbol([t, f, t, t, t, f, t, f, f, f, f]);
        let broken = symbol([t, f, t, t, f, f, t, f, f, f, f]);
        let (pf, pb) = (penalty(&finder, 11), penalty(&broken, 11));
        assert!(pf >= pb + 40 - 10, "finder-like run must cost ~40 more: {pf} vs {pb}");
    }

    #[test]
    fn rendered_symbols_decode_to_the_same_text() {
        let city = crate::demo::DemoCity::new().unwrap();
        let code = crate::present(
            &city.credential,
            &city.device,
            &[crate::Domain::Transit.id()],
            crate::demo::NOW,
            crate::PresentOptions::default(),
        )
        .unwrap();
        for text in [code.to_text(), format!("CC1:{}", "9".repeat(300)), "hello, 世界".to_string()] {
            let qr = Qr::new(&text).unwrap();
            // Scale 4 with a 4-module quiet zone, as a camera would see it.
            let side = (qr.width + 8) * 4;
            let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
                if x / 4 >= 4 && y / 4 >= 4 && qr.is_dark(x / 4 - 4, y / 4 - 4) { 0 } else { 255 }
            });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1);
            let (_, content) = grids[0].decode().unwrap();
            assert_eq!(content, text);
        }
    }
}
