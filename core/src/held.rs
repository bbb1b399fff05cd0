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
        let held = |file: ListFile, sequence, issued_at, expires_at| HeldList {
            name: file.file_name(),
            sequence,
            issued_at,
            expires_at,
        };
        let mut out = Vec::new();
        if let Some(t) = self.trust_list() {
            out.push(held(ListFile::Trust, t.sequence, t.issued_at, t.expires_at));
        }
        for l in self.revocation_lists() {
            out.push(held(ListFile::Revocation(l.signer), l.sequence, l.issued_at, l.expires_at));
        }
        out
    }
}
