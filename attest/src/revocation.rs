//! Google's attestation certificate revocation status list (SPEC.md §4.10.4): JSON
//! `{"entries": {"<serial hex>": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}`,
//! as Google publishes it, loaded from a file the operator refreshes.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::AttestationError;

/// Serial numbers of revoked or suspended attestation certificates. Every listed serial
/// is refused, whatever its status says: a status this verifier does not know must not
/// read as "not revoked".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusList {
    entries: BTreeMap<String, String>,
}

// Fields beside "entries" are ignored: none of them can un-revoke a serial.
#[derive(Deserialize)]
struct RawList {
    entries: BTreeMap<String, RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    status: String,
    // Google's entries also carry "reason", "comment", "expires": kept out of the
    // decision, read leniently.
}

impl StatusList {
    /// An empty list (nothing revoked). An issuer that runs with it should say so.
    pub fn empty() -> StatusList {
        StatusList::default()
    }

    /// Parses the JSON. Serial keys are hex digits, optionally with a leading `-` (as
    /// Java prints negative numbers); case and leading zeros are normalised.
    pub fn from_json(text: &str) -> Result<StatusList, AttestationError> {
        let raw: RawList =
            serde_json::from_str(text).map_err(|_| AttestationError::Malformed("revocation status list JSON"))?;
        let mut entries = BTreeMap::new();
        for (serial, entry) in raw.entries {
            entries.insert(normalise(&serial)?, entry.status);
        }
        Ok(StatusList { entries })
    }

    /// Whether the serial (as [`crate::x509`] writes it: lowercase, no leading zeros)
    /// is listed.
    pub fn is_revoked(&self, serial_hex: &str) -> bool {
        self.entries.contains_key(serial_hex)
    }

    /// How many serials are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The status Google gives a listed serial (`REVOKED`, `SUSPENDED`).
    pub fn status(&self, serial_hex: &str) -> Option<&str> {
        self.entries.get(serial_hex).map(String::as_str)
    }
}

fn normalise(serial: &str) -> Result<String, AttestationError> {
    let (sign, digits) = match serial.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", serial),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AttestationError::Malformed("a revocation list serial is not hex"));
    }
    let lower = digits.to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    Ok(if trimmed.is_empty() { "0".to_string() } else { format!("{sign}{trimmed}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_serials_are_revoked_whatever_their_status_and_spelling() {
        let list = StatusList::from_json(
            r#"{"entries": {
                "2c8cdddfd5e03bfc": {"status": "REVOKED", "reason": "KEY_COMPROMISE"},
                "00C8966FCB2FBE32": {"status": "SUSPENDED", "reason": "SOFTWARE_FLAW"},
                "-7f": {"status": "SOMETHING_NEW"}
            }}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.is_revoked("2c8cdddfd5e03bfc"));
        assert!(list.is_revoked("c8966fcb2fbe32"));
        assert!(list.is_revoked("-7f"));
        assert_eq!(list.status("c8966fcb2fbe32"), Some("SUSPENDED"));
        assert!(!list.is_revoked("2c8cdddfd5e03bfd"));
        assert!(!list.is_revoked("7f"));
    }

    #[test]
    fn a_malformed_list_is_refused_not_read_as_empty() {
        for bad in [
            "",
            "{}",
            r#"{"entries": []}"#,
            r#"{"entries": {"xyz": {"status": "REVOKED"}}}"#,
            r#"{"entries": {"": {"status": "REVOKED"}}}"#,
            r#"{"entries": {"01": {}}}"#,
        ] {
            assert!(matches!(StatusList::from_json(bad), Err(AttestationError::Malformed(_))), "{bad}");
        }
        assert!(StatusList::from_json(r#"{"entries": {}}"#).unwrap().is_empty());
        assert!(StatusList::from_json(r#"{"entries": {}, "updated": "2026"}"#).unwrap().is_empty());
    }
}
