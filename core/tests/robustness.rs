//! Random bytes and random text never panic any decoder or the verifier, and never
//! verify.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::demo::{self, DemoCity};
use citycode::text::encode_text;
use citycode::trust::{RevocationList, TrustList};
use citycode::{Credential, Scene, UnverifiedCode, Verifier};
use proptest::prelude::*;

fn verifier() -> (Verifier, DemoCity) {
    let city = DemoCity::new().unwrap();
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    (v, city)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_and_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (v, city) = verifier();
        let _ = UnverifiedCode::from_bytes(&bytes);
        let _ = Credential::from_bytes(&bytes);
        let _ = TrustList::verify(&bytes, &city.root.public_key());
        let _ = RevocationList::verify(&bytes, &city.root.public_key(), v.trust_list());
        prop_assert!(v.verify_at(&encode_text(&bytes), demo::NOW).is_err());
    }

    #[test]
    fn random_text_never_panics_and_never_verifies(text in ".{0,600}") {
        let (v, _) = verifier();
        prop_assert!(v.verify_at(&text, demo::NOW).is_err());
        let prefixed = format!("CC1:{text}");
        prop_assert!(v.verify_at(&prefixed, demo::NOW).is_err());
    }

    #[test]
    fn random_digits_never_panic_and_never_verify(digits in "[0-9]{0,700}") {
        let (v, _) = verifier();
        let text = format!("CC1:{digits}");
        prop_assert!(v.verify_at(&text, demo::NOW).is_err());
    }

    #[test]
    fn mutated_valid_codes_never_panic(pos in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let (v, city) = verifier();
        let code = citycode::present(&city.credential, &city.device, &[4], demo::NOW, Default::default()).unwrap();
        let mut bytes = code.as_bytes().to_vec();
        let original = bytes.clone();
        if let Some(b) = bytes.get_mut(pos) { *b = byte; }
        bytes.truncate(cut.max(1));
        let result = v.verify_at(&encode_text(&bytes), demo::NOW);
        if bytes != original { prop_assert!(result.is_err()); }
    }
}
