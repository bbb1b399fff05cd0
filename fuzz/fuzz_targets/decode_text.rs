//! QR text decoding: never panics; whatever decodes re-encodes to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(bytes) = citycode::text::decode_text(text) {
        assert_eq!(citycode::text::encode_text(&bytes), text, "decoding accepted a non-canonical text");
    }
    if let Ok(bytes) = citycode::text::decode_base64url(text) {
        assert_eq!(citycode::text::encode_base64url(&bytes), text);
    }
});
