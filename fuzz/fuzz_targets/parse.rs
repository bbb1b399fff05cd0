//! Code and credential parsing: never panics on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(code) = citycode::UnverifiedCode::from_bytes(data) {
        // A parsed code exposes its parts without panicking.
        let _ = code.untrusted_claims();
        let _ = code.replay_id();
        for i in 0..code.cards().len() {
            let _ = code.card_id(i);
        }
    }
    if let Ok(cred) = citycode::Credential::from_bytes(data) {
        // What parses re-encodes to the same bytes (canonical).
        assert_eq!(cred.to_bytes().ok().as_deref(), Some(data));
    }
});
