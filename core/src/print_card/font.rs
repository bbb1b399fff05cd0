//! The font a card's PDF embeds: a face of an OpenType font file (or collection) that the
//! caller supplies, its glyphs for the card's characters with their advances, and the
//! subset of it that goes into the PDF.
//!
//! A whole CJK font is megabytes and a name can hold any character, so no font ships with
//! the library: the issuer reads one (by default Debian's `fonts-noto-cjk`, the face
//! "Noto Sans CJK SC", OFL-licensed) and each card embeds only the glyphs it shows.

use std::fmt;
use std::path::Path;

use ttf_parser::{Face, GlyphId, Tag, name_id};

use super::CardError;

/// The faces tried, in order, when a font collection is given without a family: the
/// simplified Chinese faces of Noto Sans CJK and of Source Han Sans (the same design
/// under Adobe's name).
pub const DEFAULT_FAMILIES: [&str; 3] = ["Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN"];

/// The outline format of a face, which decides how a PDF embeds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outlines {
    /// CFF outlines (the Noto and Source Han CJK fonts): a CIDFontType0 with the subset's
    /// CFF table as `FontFile3` (`CIDFontType0C`).
    Cff,
    /// TrueType outlines: a CIDFontType2 with the subset font as `FontFile2`.
    TrueType,
}

/// An OpenType font for printed cards' PDFs: one face of a font file or collection,
/// checked once to be parseable, to have Unicode glyph mapping and CFF or TrueType
/// outlines, and to allow embedding a subset (its OS/2 `fsType`).
///
/// It holds the whole file (about 20 MB for Noto Sans CJK): an issuing service loads it
/// once and renders every card with it.
pub struct CardFont {
    data: Vec<u8>,
    index: u32,
    family: String,
    postscript_name: String,
    outlines: Outlines,
}

impl fmt::Debug for CardFont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardFont")
            .field("family", &self.family)
            .field("face", &self.index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// A face's family (the typographic family if it names one, else the family), in US
/// English if the font has it, else in its first language.
fn family_of(face: &Face<'_>) -> Option<String> {
    let name = |id: u16, english: bool| {
        face.names()
            .into_iter()
            .filter(|n| n.name_id == id && n.is_unicode())
            .filter(|n| !english || n.language() == ttf_parser::Language::English_UnitedStates)
            .find_map(|n| n.to_string())
    };
    [true, false]
        .into_iter()
        .find_map(|english| name(name_id::TYPOGRAPHIC_FAMILY, english).or_else(|| name(name_id::FAMILY, english)))
}

/// Whether `wanted` names this face: its family, typographic family or full name.
fn is_named(face: &Face<'_>, wanted: &str) -> bool {
    face.names().into_iter().any(|n| {
        matches!(n.name_id, name_id::FAMILY | name_id::TYPOGRAPHIC_FAMILY | name_id::FULL_NAME)
            && n.is_unicode()
            && n.to_string().is_some_and(|s| s.trim() == wanted.trim())
    })
}

/// A PDF name for the face: its PostScript name with only the characters PDF names and
/// font subset tags allow, or a fixed one.
fn postscript_name(face: &Face<'_>) -> String {
    let name = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .unwrap_or_default();
    let clean: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(63).collect();
    if clean.is_empty() { "CitycodeCardFont".to_string() } else { clean }
}

impl CardFont {
    /// Reads a font file (`.otf`, `.ttf`, `.ttc`, `.otc`). `family` picks a face of a
    /// collection by family or full name; without it a collection's first face of
    /// [`DEFAULT_FAMILIES`] is used and a single font's only face.
    pub fn from_file(path: impl AsRef<Path>, family: Option<&str>) -> Result<Self, CardError> {
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|e| CardError::FontUnreadable { path: path.display().to_string(), detail: e.to_string() })?;
        Self::from_bytes(data, family)
    }

    /// A font from its bytes (a font file or collection), the face chosen as in
    /// [`CardFont::from_file`].
    pub fn from_bytes(data: Vec<u8>, family: Option<&str>) -> Result<Self, CardError> {
        let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        let mut faces = Vec::new();
        for index in 0..count {
            match Face::parse(&data, index) {
                Ok(face) => faces.push((index, face)),
                // A collection whose every face fails is reported below.
                Err(e) if count == 1 => return Err(CardError::FontInvalid(format!("not an OpenType font: {e}"))),
                Err(_) => {}
            }
        }
        let chosen = match family {
            Some(wanted) => faces.iter().find(|(_, face)| is_named(face, wanted)),
            None if faces.len() == 1 => faces.first(),
            None => DEFAULT_FAMILIES.iter().find_map(|wanted| faces.iter().find(|(_, face)| is_named(face, wanted))),
        };
        let Some((index, face)) = chosen else {
            if faces.is_empty() {
                return Err(CardError::FontInvalid("no face of the collection parses".into()));
            }
            let mut available: Vec<String> = faces.iter().filter_map(|(_, face)| family_of(face)).collect();
            available.dedup();
            return Err(CardError::FontFaceNotFound {
                family: family.map_or_else(|| DEFAULT_FAMILIES.join(" | "), str::to_string),
                available: available.join(", "),
            });
        };
        let family = family_of(face).unwrap_or_else(|| "(unnamed)".to_string());
        let raw = face.raw_face();
        let outlines = if raw.table(Tag::from_bytes(b"CFF ")).is_some() {
            Outlines::Cff
        } else if raw.table(Tag::from_bytes(b"glyf")).is_some() {
            Outlines::TrueType
        } else {
            return Err(CardError::FontInvalid(format!(
                "{family}: neither CFF nor TrueType outlines (CFF2 and bitmap-only fonts are not supported)"
            )));
        };
        if face.tables().cmap.is_none() || face.tables().hmtx.is_none() {
            return Err(CardError::FontInvalid(format!("{family}: no cmap or hmtx table")));
        }
        // OS/2 fsType: a card embeds a subset of the outlines, so the font must allow
        // embedding (installable, editable or preview & print), subsetting and outlines.
        if face.permissions().is_none_or(|p| p == ttf_parser::Permissions::Restricted)
            || !face.is_subsetting_allowed()
            || !face.is_outline_embedding_allowed()
        {
            return Err(CardError::FontNotEmbeddable { family });
        }
        let (index, postscript_name) = (*index, postscript_name(face));
        drop(faces);
        Ok(CardFont { data, index, family, postscript_name, outlines })
    }

    /// The chosen face's family name ("Noto Sans CJK SC").
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The face's index in its file (0 for a single font).
    pub fn face_index(&self) -> u32 {
        self.index
    }

    pub(super) fn postscript_name(&self) -> &str {
        &self.postscript_name
    }

    pub(super) fn outlines(&self) -> Outlines {
        self.outlines
    }

    /// The parsed face. It parsed when the font was made, over the same bytes.
    pub(super) fn face(&self) -> Result<Face<'_>, CardError> {
        Face::parse(&self.data, self.index).map_err(|e| CardError::FontInvalid(e.to_string()))
    }

    /// The subset of the face holding `glyphs` (old glyph ids in the order the remapper
    /// numbered them), as subsetter writes it: for CFF outlines the subset's `CFF ` table
    /// (CID-keyed, CID = new glyph id), for TrueType the whole subset font.
    pub(super) fn subset(&self, remapper: &subsetter::GlyphRemapper) -> Result<Vec<u8>, CardError> {
        let font = subsetter::subset(&self.data, self.index, remapper)
            .map_err(|e| CardError::FontInvalid(format!("{}: subsetting failed: {e}", self.family)))?;
        match self.outlines {
            Outlines::TrueType => Ok(font),
            Outlines::Cff => ttf_parser::RawFace::parse(&font, 0)
                .ok()
                .and_then(|raw| raw.table(Tag::from_bytes(b"CFF ")))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| CardError::FontInvalid(format!("{}: the subset has no CFF table", self.family))),
        }
    }
}

/// One glyph of a line of text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Glyph {
    /// The glyph id in the whole font.
    pub id: GlyphId,
    /// The advance, in thousandths of the font size (PDF glyph space).
    pub advance: f64,
    /// The character it shows.
    pub ch: char,
}

/// The glyphs of `text`, one per character (the card's scripts need no shaping: Han
/// characters, Latin letters and digits, punctuation). Fails on the first character the
/// face has no glyph for: a card never prints a blank or a box where a name is.
pub(super) fn glyphs(face: &Face<'_>, family: &str, text: &str) -> Result<Vec<Glyph>, CardError> {
    let per_em = f64::from(face.units_per_em().max(1));
    text.chars()
        .map(|ch| {
            let id = face
                .glyph_index(ch)
                .filter(|g| g.0 != 0)
                .ok_or_else(|| CardError::MissingGlyph { family: family.to_string(), ch })?;
            let advance = f64::from(face.glyph_hor_advance(id).unwrap_or(0)) * 1000.0 / per_em;
            Ok(Glyph { id, advance, ch })
        })
        .collect()
}
