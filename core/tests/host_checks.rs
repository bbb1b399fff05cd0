//! P-256 signatures checked by the host (WebCrypto, in the WASM packages): with a host
//! that answers right the verdict is the library's own; a host's "verified" counts only
//! for the exact key, message and signature it names, and never for a signature that
//! fails a structural check of SPEC.md §4.2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::demo::{self, DemoCity};
use citycode::text::{decode_text, encode_text};
use citycode::*;

fn verifier(city: &DemoCity) -> Verifier {
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&city.trust_list).unwrap();
    v.load_revocation_list(&city.revocation_list).unwrap();
    v
}

/// The host: ECDSA P-256 / SHA-256 from the `p256` crate.
fn host_verifies(c: &P256Check) -> bool {
    use p256::ecdsa::signature::Verifier as _;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&c.public_key).unwrap();
    key.verify(&c.message, &p256::ecdsa::Signature::from_slice(&c.signature).unwrap()).is_ok()
}

fn p256_code(city: &DemoCity, nonce: u8) -> String {
    let opts = PresentOptions { validity_secs: 60, nonce: Some([nonce, 0, 0, 0]) };
    present(&city.credential, &city.device, &[4], demo::NOW, opts).unwrap().to_text()
}

/// The code with its device signature (the last 64 bytes) replaced.
fn with_device_signature(text: &str, signature: &[u8; 64]) -> String {
    let mut bytes = decode_text(text).unwrap();
    let at = bytes.len() - 64;
    bytes[at..].copy_from_slice(signature);
    encode_text(&bytes)
}

#[test]
fn every_p256_signature_is_listed_and_the_hosts_answers_give_the_librarys_verdict() {
    let city = DemoCity::with_algorithm(Algorithm::EcdsaP256Sha256).unwrap();
    let text = p256_code(&city, 1);
    let code = UnverifiedCode::from_text(&text).unwrap();
    let v = verifier(&city);
    let checks = v.p256_checks(&code);
    // The card's issuer signature, then the device signature.
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(host_verifies));
    assert_eq!(checks[1].message, code.code_input());
    assert_eq!(checks[1].public_key[0], 4);
    let hosted = v.verify_code_host_checked(code.clone(), demo::NOW, &checks).unwrap();
    let own = verifier(&city).verify_code(code.clone(), demo::NOW).unwrap();
    assert_eq!((hosted.claims, hosted.subject), (own.claims, own.subject));
    // An Ed25519 city has nothing for the host.
    let ed = DemoCity::new().unwrap();
    assert!(verifier(&ed).p256_checks(&UnverifiedCode::from_text(&p256_code(&ed, 1)).unwrap()).is_empty());
}

#[cfg(feature = "cache")]
#[test]
fn issuer_signatures_the_cache_holds_are_not_listed() {
    let city = DemoCity::with_algorithm(Algorithm::EcdsaP256Sha256).unwrap();
    // The library verified the first code's issuer signature itself: it is cached, and the
    // second code asks the host for its device signature only.
    let v = verifier(&city);
    let first = UnverifiedCode::from_text(&p256_code(&city, 1)).unwrap();
    v.verify_code(first, demo::NOW).unwrap();
    let second = UnverifiedCode::from_text(&p256_code(&city, 2)).unwrap();
    let checks = v.p256_checks(&second);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].message, second.code_input());
    // A host's confirmation counts for its call only and is never cached (a host that lied
    // once must not make later codes pass): after a host-checked verification the next
    // code's issuer signature is asked for again.
    let v = verifier(&city);
    let first = UnverifiedCode::from_text(&p256_code(&city, 3)).unwrap();
    v.verify_code_host_checked(first.clone(), demo::NOW, &v.p256_checks(&first)).unwrap();
    let second = UnverifiedCode::from_text(&p256_code(&city, 4)).unwrap();
    assert_eq!(v.p256_checks(&second).len(), 2);
}

#[test]
fn a_signature_the_host_did_not_confirm_is_checked_by_the_library() {
    let city = DemoCity::with_algorithm(Algorithm::EcdsaP256Sha256).unwrap();
    let genuine = p256_code(&city, 3);
    let code = UnverifiedCode::from_text(&genuine).unwrap();
    let v = verifier(&city);
    // Nothing confirmed: the library verifies both itself and accepts.
    assert!(v.verify_code_host_checked(code.clone(), demo::NOW, &[]).is_ok());
    // A forged device signature (r changed, still in range) that the host refused.
    let mut forged_sig = verifier(&city).p256_checks(&code)[1].signature;
    forged_sig[5] ^= 0x40;
    let forged = UnverifiedCode::from_text(&with_device_signature(&genuine, &forged_sig)).unwrap();
    let checks = verifier(&city).p256_checks(&forged);
    assert_eq!(checks.len(), 2);
    assert!(!host_verifies(&checks[1]));
    let confirmed: Vec<P256Check> = checks.into_iter().filter(host_verifies).collect();
    let refused = verifier(&city).verify_code_host_checked(forged.clone(), demo::NOW, &confirmed).unwrap_err();
    assert_eq!(refused.reason, Reason::BadDeviceSignature);
    // Another code's confirmed checks do not carry over to this one.
    let other = UnverifiedCode::from_text(&p256_code(&city, 4)).unwrap();
    let others = verifier(&city).p256_checks(&other);
    let refused = verifier(&city).verify_code_host_checked(forged.clone(), demo::NOW, &others).unwrap_err();
    assert_eq!(refused.reason, Reason::BadDeviceSignature);
}

#[test]
fn a_host_cannot_confirm_what_the_structural_checks_refuse() {
    let city = DemoCity::with_algorithm(Algorithm::EcdsaP256Sha256).unwrap();
    let genuine = p256_code(&city, 5);
    let code = UnverifiedCode::from_text(&genuine).unwrap();
    let device = verifier(&city).p256_checks(&code)[1].clone();
    let n: [u8; 32] = citycode::text::unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        .unwrap()
        .try_into()
        .unwrap();
    let mut zero_s = device.signature;
    zero_s[32..].fill(0);
    let mut r_is_n = device.signature;
    r_is_n[..32].copy_from_slice(&n);
    for bad in [zero_s, r_is_n] {
        let broken = UnverifiedCode::from_text(&with_device_signature(&genuine, &bad)).unwrap();
        let v = verifier(&city);
        // Not listed for the host...
        assert_eq!(v.p256_checks(&broken).len(), 1);
        // ...and a host that claims it verified anyway changes nothing.
        let lie = P256Check { signature: bad, ..device.clone() };
        let refused = v.verify_code_host_checked(broken.clone(), demo::NOW, &[lie]).unwrap_err();
        assert_eq!(refused.reason, Reason::BadDeviceSignature);
    }
}
