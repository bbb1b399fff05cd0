//! Trust and revocation list and list status parsing and signature checks: never
//! panic on any bytes.
#![no_main]
use std::sync::OnceLock;

use citycode::demo::DemoCity;
use citycode::{RevocationList, TrustList};
use libfuzzer_sys::fuzz_target;

fn city() -> &'static DemoCity {
    static C: OnceLock<DemoCity> = OnceLock::new();
    C.get_or_init(|| DemoCity::new().expect("demo city"))
}

fuzz_target!(|data: &[u8]| {
    let root = city().root.public_key();
    let trust = TrustList::verify(data, &root).ok();
    let _ = RevocationList::verify(data, &root, trust.as_ref());
    let _ = citycode::distribution::ListStatus::verify(data, &root);
});
