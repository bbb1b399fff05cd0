//! QR text decoding: never panics; whatever decodes re-encodes to the same text, less
//! the one scanner terminator decoding ignores (SPEC.md §6).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(bytes) = citycode::text::decode_text(text) {
        let canonical = citycode::text::strip_scanner_suffix(text);
        assert_eq!(citycode::text::encode_text(&bytes), canonical, "decoding accepted a non-canonical text");
        assert!(text.len() - canonical.len() <= 2, "more than one terminator ignored");
    }
    if let Ok(bytes) = citycode::text::decode_base64url(text) {
        assert_eq!(citycode::text::encode_base64url(&bytes), text);
    }
});
