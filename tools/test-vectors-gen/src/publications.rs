//! The published list directories `lists/1/` and `lists/2/` (SPEC.md §8.4).

use crate::prelude::*;

/// Two publications of the demo city's lists (SPEC.md §8.4), as `citycode publish`
/// writes them: `lists/1/` (sequence 1, nothing revoked) and `lists/2/` (sequence 2,
/// the demo device key revoked), for distribution tests in every language.
pub(crate) fn publications(city: &DemoCity) -> Res<Vec<(String, Vec<u8>)>> {
    let now = NOW as u32;
    let revoked = RevocationList {
        signer: ListSigner::Root,
        sequence: 2,
        issued_at: now,
        expires_at: now + DAY as u32,
        entries: vec![Revoked::DeviceKey(city.device.public_key().key_id())],
    }
    .sign(&city.root)?;
    let mut files = Vec::new();
    for (n, revocations) in [(1u64, city.revocation_list.clone()), (2, revoked)] {
        let status =
            ListStatus::describe(n, now, now + 3600, &city.root.public_key(), &city.trust_list, &[&revocations])?;
        files.push((format!("lists/{n}/trust-list.bin"), city.trust_list.clone()));
        files.push((format!("lists/{n}/revocation-root.bin"), revocations));
        files.push((format!("lists/{n}/status.json"), status.index_json().into_bytes()));
        files.push((format!("lists/{n}/status.bin"), status.sign(&city.root)?));
    }
    Ok(files)
}
