//! Full verification of arbitrary text by the demo verifier: never panics, and random
//! input never verifies.
#![no_main]
use std::sync::OnceLock;

use citycode::demo::{self, DemoCity};
use citycode::{Scene, Verifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let city = DemoCity::new().expect("demo city");
        let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_credential_cache(0);
        v.load_trust_list(&city.trust_list).expect("trust list");
        v.load_revocation_list(&city.revocation_list).expect("revocation list");
        v
    })
}

fuzz_target!(|text: &str| {
    // The seed corpus holds real codes; the fuzzer's mutations of them must not verify
    // (the demo verifier accepts only codes signed by the demo keys).
    if let Ok(accepted) = verifier().verify_at(text, demo::NOW + 2) {
        let city = DemoCity::new().expect("demo city");
        assert_eq!(accepted.subject, city.credential.subject, "a code from nowhere verified: {text}");
    }
});
