//! What a verifier holds, one summary per list: the one shape every adapter reports
//! (the verify server's readiness and metrics, the CLI, the bindings' and the WASM
//! packages' `held_lists`), so that none of them re-spells it.
//!
//! ```json
//! [{"name": "trust-list.bin", "sequence": 3, "issued_at": 1795590000, "expires_at": 1798182000},
//!  {"name": "revocation-root.bin", "sequence": 12, "issued_at": 1795590000, "expires_at": 1795676400}]
//! ```

use serde::Serialize;

use crate::distribution::ListFile;
use crate::verify::Verifier;

/// One list a verifier holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldList {
    /// The list's file name in a published directory (SPEC.md §8.4): `trust-list.bin`,
    /// `revocation-root.bin` or `revocation-issuer-<kid>.bin`.
    pub name: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Unix second it was issued.
    pub issued_at: u32,
    /// Unix second from which every code is refused unless a newer list arrives.
    pub expires_at: u32,
}

impl Verifier {
    /// The lists held: the trust list first, then each revocation list.
    pub fn held_lists(&self) -> Vec<HeldList> {
        let trust = self.trust_list().map(|t| HeldList {
            name: ListFile::Trust.file_name(),
            sequence: t.sequence,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
        });
        let revocations = self.revocation_lists().map(|l| HeldList {
            name: ListFile::Revocation(l.signer).file_name(),
            sequence: l.sequence,
            issued_at: l.issued_at,
            expires_at: l.expires_at,
        });
        trust.into_iter().chain(revocations).collect()
    }
}
