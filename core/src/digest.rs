//! The domain-separation labels of every signed or hashed input.

pub use crate::alg::digest;

/// Prefix of an issuer's signing input for one card.
pub const LABEL_CARD: &[u8] = b"citycode/v1/card\0";
/// Prefix of the device's signing input for a code.
pub const LABEL_CODE: &[u8] = b"citycode/v1/code\0";
/// Prefix of the root's signing input for a trust list.
pub const LABEL_TRUST_LIST: &[u8] = b"citycode/v1/trust-list\0";
/// Prefix of the signing input for a revocation list.
pub const LABEL_REVOCATION_LIST: &[u8] = b"citycode/v1/revocation-list\0";

/// Prefix of the device's signing input for a key request (SPEC.md §4.7).
pub const LABEL_KEY_REQUEST: &[u8] = b"citycode/v1/key-request\0";

/// Prefix of an issuer's signing input for a card held by a guardian (SPEC.md §4.4):
/// a verifier that does not know guardianship cannot verify it as the dependant's own.
pub const LABEL_GUARDIAN_CARD: &[u8] = b"citycode/v1/guardian-card\0";

/// Prefix of an issuer's signing input for a printed code's card (SPEC.md §5.1).
pub const LABEL_PRINTED_CARD: &[u8] = b"citycode/v1/printed-card\0";

/// Prefix of the first digest of an identity commitment (SPEC.md §4.3).
pub(crate) const LABEL_ID_NUMBER: &[u8] = b"citycode/v1/id-number\0";

/// Prefix of the root's signing input for a published list status.
pub const LABEL_LIST_STATUS: &[u8] = b"citycode/v1/list-status\0";

/// What a signed or hashed input is for. Each has its own label, and every input is
/// built by [`signing_input`], so a message type cannot reuse another's label or
/// forget one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// An issuer's signature over one card ([`LABEL_CARD`]).
    Card,
    /// An issuer's signature over a card a guardian holds ([`LABEL_GUARDIAN_CARD`]).
    GuardianCard,
    /// An issuer's signature over a printed code's card ([`LABEL_PRINTED_CARD`]).
    PrintedCard,
    /// The device's signature over a code ([`LABEL_CODE`]).
    Code,
    /// The device's signature over a key request ([`LABEL_KEY_REQUEST`]).
    KeyRequest,
    /// The root's signature over a trust list ([`LABEL_TRUST_LIST`]).
    TrustList,
    /// The root's or an issuer's signature over a revocation list ([`LABEL_REVOCATION_LIST`]).
    RevocationList,
    /// The root's signature over a list status ([`LABEL_LIST_STATUS`]).
    ListStatus,
    /// The first digest of an identity commitment ([`LABEL_ID_NUMBER`]).
    IdNumber,
}

impl Input {
    /// Every kind of input.
    #[cfg(test)]
    const ALL: [Input; 9] = [
        Input::Card,
        Input::GuardianCard,
        Input::PrintedCard,
        Input::Code,
        Input::KeyRequest,
        Input::TrustList,
        Input::RevocationList,
        Input::ListStatus,
        Input::IdNumber,
    ];

    /// Its domain-separation label: `citycode/v1/<name>` and a NUL byte, the format
    /// version inside the label.
    pub(crate) const fn label(self) -> &'static [u8] {
        match self {
            Input::Card => LABEL_CARD,
            Input::GuardianCard => LABEL_GUARDIAN_CARD,
            Input::PrintedCard => LABEL_PRINTED_CARD,
            Input::Code => LABEL_CODE,
            Input::KeyRequest => LABEL_KEY_REQUEST,
            Input::TrustList => LABEL_TRUST_LIST,
            Input::RevocationList => LABEL_REVOCATION_LIST,
            Input::ListStatus => LABEL_LIST_STATUS,
            Input::IdNumber => LABEL_ID_NUMBER,
        }
    }
}

/// The one builder of signed and hashed inputs (as pasetors' PAE): the label of `input`,
/// then `fields` in order, concatenated. Every field but the last has a length fixed by
/// what comes before it (an algorithm id fixes its key's length) or encodes its own, so
/// the concatenation is unambiguous; SPEC.md gives each input's fields.
pub(crate) fn signing_input(input: Input, fields: &[&[u8]]) -> Vec<u8> {
    let label = input.label();
    let mut out = Vec::with_capacity(label.len() + fields.iter().map(|f| f.len()).sum::<usize>());
    out.extend_from_slice(label);
    for field in fields {
        out.extend_from_slice(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_versioned_distinct_and_no_prefix_of_another() {
        for a in Input::ALL {
            let label = a.label();
            assert!(label.starts_with(b"citycode/v1/") && label.ends_with(b"\0"), "{a:?}");
            assert_eq!(label.iter().filter(|&&b| b == 0).count(), 1, "{a:?}");
            for b in Input::ALL {
                if a != b {
                    assert!(!b.label().starts_with(label), "{a:?} is a prefix of {b:?}");
                }
            }
        }
    }

    #[test]
    fn the_builder_is_the_label_then_the_fields() {
        assert_eq!(signing_input(Input::Code, &[]), LABEL_CODE);
        assert_eq!(signing_input(Input::KeyRequest, &[b"ab", b"", b"c"]), b"citycode/v1/key-request\0abc");
        assert_ne!(signing_input(Input::Card, &[b"x"]), signing_input(Input::GuardianCard, &[b"x"]));
    }
}
