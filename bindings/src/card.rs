//! Printed cards as PDF or SVG.

use std::sync::Arc;

#[cfg(not(feature = "pdf"))]
use crate::errors::CitycodeError;
use crate::errors::Result;

/// A font for printed cards' PDFs: one face of an OpenType font file or collection,
/// checked to allow embedding a subset. Load it once and print every card with it (a CJK
/// font is about 20 MB). Builds without the `pdf` feature (the mobile packages) refuse to
/// make one (`invalid_argument`).
#[derive(Debug, uniffi::Object)]
pub struct CardFont {
    #[cfg(feature = "pdf")]
    inner: citycode::print_card::CardFont,
}

#[cfg(not(feature = "pdf"))]
fn no_pdf<T>() -> Result<T> {
    Err(CitycodeError::invalid("this build has no PDF cards (built without the citycode-ffi `pdf` feature)"))
}

#[uniffi::export]
impl CardFont {
    /// Reads a font file (`.otf`, `.ttf`, `.ttc`). `family` picks a face of a collection
    /// by family or full name; without it, "Noto Sans CJK SC" (or Source Han Sans SC).
    /// Fails with `font_unreadable`, `font_invalid`, `font_face_not_found` or
    /// `font_not_embeddable`.
    #[uniffi::constructor]
    pub fn from_file(path: String, family: Option<String>) -> Result<Arc<Self>> {
        #[cfg(feature = "pdf")]
        return Ok(Arc::new(CardFont { inner: citycode::print_card::CardFont::from_file(path, family.as_deref())? }));
        #[cfg(not(feature = "pdf"))]
        {
            let _ = (path, family);
            no_pdf()
        }
    }

    /// A font from the bytes of a font file, the face chosen as by `from_file`.
    #[uniffi::constructor]
    pub fn from_bytes(data: Vec<u8>, family: Option<String>) -> Result<Arc<Self>> {
        #[cfg(feature = "pdf")]
        return Ok(Arc::new(CardFont { inner: citycode::print_card::CardFont::from_bytes(data, family.as_deref())? }));
        #[cfg(not(feature = "pdf"))]
        {
            let _ = (data, family);
            no_pdf()
        }
    }

    /// The chosen face's family name.
    pub fn family(&self) -> String {
        #[cfg(feature = "pdf")]
        return self.inner.family().to_string();
        #[cfg(not(feature = "pdf"))]
        String::new()
    }
}

/// Where Debian's fonts-noto-cjk puts Noto Sans CJK, the default card font.
#[uniffi::export]
pub fn default_card_font_path() -> String {
    citycode::print_card::DEFAULT_FONT_PATH.to_string()
}

/// The printable A6 card of a printed code (its QR text) as a one-page PDF that embeds a
/// subset of `font`: the symbol, the masked name, the validity dates, the instructions.
/// `missing_glyph` if the font lacks a character of the masked name.
#[uniffi::export]
pub fn printed_card_pdf(text: String, font: Arc<CardFont>) -> Result<Vec<u8>> {
    let code = citycode::PrintedCode::from_text(&text)?;
    #[cfg(feature = "pdf")]
    return Ok(citycode::print_card::printed_card_pdf(&code, &font.inner)?);
    #[cfg(not(feature = "pdf"))]
    {
        let _ = (code, font);
        no_pdf()
    }
}

/// The printable A6 card of a printed code (its QR text) as SVG, its fonts left to the
/// viewer (it names Noto Sans CJK SC).
#[uniffi::export]
pub fn printed_card_svg(text: String) -> Result<String> {
    let code = citycode::PrintedCode::from_text(&text)?;
    Ok(citycode::print_card::printed_card_svg(&code)?)
}
