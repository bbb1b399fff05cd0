//! QR rendering (feature `qr`): module matrix, SVG and terminal text.
//!
//! Error correction is level M (15% recovery), as turnstile scanners expect. The
//! encoder segments the text itself: the `CC1:` prefix goes in alphanumeric mode and
//! the digits in numeric mode.

use qrcode::{EcLevel, QrCode};

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

impl Qr {
    /// Encodes text at error-correction level M in the smallest version that fits.
    pub fn new(text: &str) -> Result<Qr, Rejection> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| Rejection::new(Reason::Malformed, format!("QR encoding: {e}")))?;
        let version = match code.version() {
            qrcode::Version::Normal(v) => u8::try_from(v).unwrap_or(0),
            qrcode::Version::Micro(_) => 0,
        };
        let width = code.width();
        let modules = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
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
}
