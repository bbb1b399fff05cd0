//! Device key attestations (SPEC.md §4.10): the JSON entry, an Android chain, an App
//! Attest object and a revocation status list never panic on any bytes, and nothing
//! built from fuzzed bytes ever verifies against Google's and Apple's roots.
//!
//! The first byte chooses the form: 0 an entry's JSON, 1 a chain of certificates (each
//! a big-endian u16 length and its bytes), 2 an App Attest object, 3 a status list.
#![no_main]
use std::sync::OnceLock;

use citycode::{Algorithm, KeyPair, PublicKey};
use citycode_attest::{
    AndroidAttestation, AppleAttestation, AttestationContext, AttestationMode, AttestationPolicy, KeyAttestation,
    Roots, StatusList,
};
use libfuzzer_sys::fuzz_target;

fn roots() -> &'static Roots {
    static R: OnceLock<Roots> = OnceLock::new();
    R.get_or_init(|| Roots::builtin().expect("built-in roots"))
}

fn device() -> &'static PublicKey {
    static K: OnceLock<PublicKey> = OnceLock::new();
    K.get_or_init(|| KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[7; 32]).expect("key").public_key())
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    let challenge = [0x5a; 32];
    let empty = StatusList::empty();
    let ctx = AttestationContext { challenge: &challenge, roots: roots(), revocations: &empty, now: 1_780_272_000 };
    let mut policy = AttestationPolicy::new(AttestationMode::Require);
    policy.apple_app_ids = vec!["ABCDE12345.city.citycode.app".into()];
    policy.require_locked_bootloader = false;
    policy.require_verified_boot = false;
    match form % 4 {
        0 => {
            if let Ok(a) =
                std::str::from_utf8(rest).map_err(|_| ()).and_then(|t| KeyAttestation::from_json(t).map_err(|_| ()))
            {
                assert!(a.verify_key(&ctx, device(), &policy).is_err(), "a fuzzed entry verified");
            }
        }
        1 => {
            let mut chain = Vec::new();
            let mut r = rest;
            while let [a, b, tail @ ..] = r {
                let n = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
                let (cert, next) = tail.split_at(n);
                chain.push(cert.to_vec());
                r = next;
            }
            if let Ok(a) = AndroidAttestation::parse(&chain) {
                let _ = a.untrusted_description().map(|d| d.to_json());
                let _ = (a.common_validity(), a.serials(), a.untrusted_leaf_key());
                let expected = citycode_attest::binding::android_challenge(&challenge).expect("challenge");
                assert!(
                    a.verify(&expected, device(), &policy, &roots().android, &empty, ctx.now).is_err(),
                    "a fuzzed chain verified"
                );
            }
        }
        2 => {
            if let Ok(a) = AppleAttestation::parse(rest) {
                assert!(
                    a.verify(&challenge, device(), &policy, &roots().apple, ctx.now).is_err(),
                    "a fuzzed object verified"
                );
            }
        }
        _ => {
            if let Ok(list) =
                std::str::from_utf8(rest).map_err(|_| ()).and_then(|t| StatusList::from_json(t).map_err(|_| ()))
            {
                let _ = list.is_revoked("1");
            }
        }
    }
});
