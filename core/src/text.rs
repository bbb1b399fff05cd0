//! Text forms of a code: the `CC1:` numeric text a QR carries, and base64url for APIs.
//!
//! The QR text is `CC1:` followed by decimal digits. Bytes are cut into 12-byte chunks,
//! each written as a 29-digit big-endian number (a shorter last chunk of `k` bytes takes
//! `DIGITS_FOR_BYTES``[k]` digits). A QR encoder puts the prefix in one alphanumeric
//! segment and the digits in one numeric segment at 10 bits per 3 digits: 8.06 bits per
//! payload byte, against 8.25 for Base45 in alphanumeric mode and 10.67 for base64 in
//! byte mode.

use base64::Engine as _;

use crate::error::Reason;

/// The prefix naming the format and text version.
pub const PREFIX: &str = "CC1:";

const CHUNK: usize = 12;

/// Digits used for a final chunk of `k` bytes (index `k`, 1 to 12): the fewest decimal
/// digits that can hold every value below 2^(8k). All are distinct, so the digit count
/// alone tells the byte count.
pub(crate) const DIGITS_FOR_BYTES: [usize; 13] = [0, 3, 5, 8, 10, 13, 15, 17, 20, 22, 25, 27, 29];

/// Encodes bytes as QR text: `CC1:` and digits.
pub fn encode_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(PREFIX.len() + bytes.len() * 29 / 12 + 29);
    out.push_str(PREFIX);
    for chunk in bytes.chunks(CHUNK) {
        let mut value: u128 = 0;
        for b in chunk {
            value = (value << 8) | u128::from(*b);
        }
        let width = DIGITS_FOR_BYTES.get(chunk.len()).copied().unwrap_or(29);
        out.push_str(&format!("{value:0width$}"));
    }
    out
}

/// The longest text a verifier reads, in bytes: the most characters any QR symbol holds
/// (7,089 numeric characters, version 40 at level L). Longer input is refused
/// ([`Reason::TextTooLong`]) before any decoding, in time that does not depend on it.
pub const MAX_TEXT_LEN: usize = 7089;

/// Removes the one line terminator a scanner may append: exactly one trailing `"\r\n"`,
/// `"\n"` or `"\r"` (SPEC.md §6). Anything else, including a second terminator or
/// spaces, is left for decoding to reject.
pub fn strip_scanner_suffix(text: &str) -> &str {
    text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).or_else(|| text.strip_suffix('\r')).unwrap_or(text)
}

/// Decodes QR text back to bytes, rejecting every form [`encode_text`] would not produce.
/// One trailing line terminator is ignored ([`strip_scanner_suffix`]); text longer than
/// [`MAX_TEXT_LEN`] after it is refused before anything else is looked at.
pub fn decode_text(text: &str) -> Result<Vec<u8>, Reason> {
    let text = strip_scanner_suffix(text);
    if text.len() > MAX_TEXT_LEN {
        return Err(Reason::TextTooLong);
    }
    let digits = text.strip_prefix(PREFIX).ok_or(Reason::TextPrefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::TextEncoding);
    }
    let full = DIGITS_FOR_BYTES[CHUNK];
    let tail_digits = digits.len() % full;
    let tail_bytes = if tail_digits == 0 {
        0
    } else {
        DIGITS_FOR_BYTES.iter().position(|&d| d == tail_digits).ok_or(Reason::TextEncoding)?
    };
    let mut out = Vec::with_capacity(digits.len() / full * CHUNK + tail_bytes);
    // On bytes, not `str`: slicing a `str` links its char-boundary panic, whose message
    // formatting (Debug of a char, Unicode printability tables) the scanner package pays for.
    let mut rest = digits.as_bytes();
    while !rest.is_empty() {
        let take = if rest.len() >= full { full } else { tail_digits };
        let (head, tail) = rest.split_at_checked(take).ok_or(Reason::TextEncoding)?;
        rest = tail;
        let n_bytes = if take == full { CHUNK } else { tail_bytes };
        // Every byte is an ASCII digit (checked above); a chunk's digits fit in a u128.
        let value = head
            .iter()
            .try_fold(0u128, |v, &d| v.checked_mul(10)?.checked_add(u128::from(d.checked_sub(b'0')?)))
            .ok_or(Reason::TextEncoding)?;
        if value >> (8 * n_bytes) != 0 {
            return Err(Reason::NonCanonical);
        }
        out.extend_from_slice(value.to_be_bytes().get(16 - n_bytes..).ok_or(Reason::TextEncoding)?);
    }
    Ok(out)
}

/// Encodes bytes as unpadded base64url, for JSON and HTTP APIs.
pub fn encode_base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url strictly (no padding, no non-zero trailing bits).
pub fn decode_base64url(text: &str) -> Result<Vec<u8>, Reason> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| Reason::TextEncoding)
}

/// Lowercase hex, for logs and test vectors.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lowercase or uppercase hex.
pub fn unhex(text: &str) -> Result<Vec<u8>, Reason> {
    if !text.len().is_multiple_of(2) {
        return Err(Reason::TextEncoding);
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()).ok_or(Reason::TextEncoding))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_table_is_the_minimum_that_fits() {
        for (k, &d) in DIGITS_FOR_BYTES.iter().enumerate().skip(1) {
            // 10^d >= 2^(8k) > 10^(d-1)
            let bits = 8.0 * k as f64;
            assert!(d as f64 >= bits * 2f64.log10());
            assert!(((d - 1) as f64) < bits * 2f64.log10());
        }
    }

    #[test]
    fn round_trips_every_length_up_to_three_chunks() {
        for len in 1..=36usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(97) ^ 0xa5).collect();
            let text = encode_text(&bytes);
            assert!(text.starts_with(PREFIX));
            assert_eq!(decode_text(&text), Ok(bytes.clone()));
            let ones = vec![0xffu8; len];
            assert_eq!(decode_text(&encode_text(&ones)), Ok(ones));
            let zeros = vec![0u8; len];
            assert_eq!(decode_text(&encode_text(&zeros)), Ok(zeros));
        }
    }

    #[test]
    fn rejects_wrong_prefix_bad_digits_lengths_and_out_of_range_chunks() {
        assert_eq!(decode_text("CC2:000"), Err(Reason::TextPrefix));
        assert_eq!(decode_text("cc1:000"), Err(Reason::TextPrefix));
        assert_eq!(decode_text("CC1:"), Err(Reason::TextEncoding));
        assert_eq!(decode_text("CC1:00a"), Err(Reason::TextEncoding));
        assert_eq!(decode_text("CC1:0000"), Err(Reason::TextEncoding)); // 4 digits: no k
        assert_eq!(decode_text("CC1:256"), Err(Reason::NonCanonical)); // > 0xff
        assert_eq!(decode_text("CC1:255"), Ok(vec![0xff]));
        let max96 = format!("CC1:{}", "9".repeat(29));
        assert_eq!(decode_text(&max96), Err(Reason::NonCanonical));
    }

    #[test]
    fn one_scanner_terminator_is_ignored_and_nothing_else() {
        let text = encode_text(b"city");
        for suffix in ["", "\n", "\r", "\r\n"] {
            assert_eq!(decode_text(&format!("{text}{suffix}")), Ok(b"city".to_vec()), "{suffix:?}");
        }
        for suffix in ["\n\n", "\r\n\r\n", "\n\r", " ", "\t", " \n", "\n "] {
            assert_eq!(decode_text(&format!("{text}{suffix}")), Err(Reason::TextEncoding), "{suffix:?}");
        }
        assert_eq!(decode_text(&format!("\n{text}")), Err(Reason::TextPrefix));
    }

    #[test]
    fn over_long_text_is_refused_before_decoding() {
        // The longest text still decodes (or fails for its content), one more byte does not.
        let longest = format!("{PREFIX}{}", "0".repeat(MAX_TEXT_LEN - PREFIX.len()));
        assert_ne!(decode_text(&longest), Err(Reason::TextTooLong));
        assert_ne!(decode_text(&format!("{longest}\r\n")), Err(Reason::TextTooLong));
        let over = format!("{longest}0");
        assert_eq!(decode_text(&over), Err(Reason::TextTooLong));
        // Not even the prefix is looked at.
        assert_eq!(decode_text(&"x".repeat(MAX_TEXT_LEN + 1)), Err(Reason::TextTooLong));
        assert_eq!(decode_text(&"9".repeat(64 << 20)), Err(Reason::TextTooLong));
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(decode_base64url(&encode_base64url(b"abc\xff")), Ok(b"abc\xff".to_vec()));
        assert_eq!(decode_base64url("YWJj="), Err(Reason::TextEncoding));
        assert_eq!(decode_base64url("YR"), Err(Reason::TextEncoding)); // non-zero trailing bits
    }

    #[test]
    fn hex_round_trips_and_rejects_odd_input() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab])), Ok(vec![0, 1, 0xab]));
        assert_eq!(unhex("abc"), Err(Reason::TextEncoding));
        assert_eq!(unhex("zz"), Err(Reason::TextEncoding));
    }
}
