//! Trust: the root-signed trust list of issuer keys, and revocation lists.

use serde::{Deserialize, Serialize};

use crate::digest::Input;
use crate::error::{Error, Reason, Rejection};
use crate::keys::{Algorithm, DeviceSigner, KeyPair, PublicKey};
use crate::signed_list::{LIST_VERSION, ListHeader, ListSignature, append_signature, read_version, rejection};
use crate::wire::{Reader, Writer};

/// Most issuer keys in one trust list.
pub const MAX_ISSUER_KEYS: usize = 1024;
/// Most entries in one revocation list.
pub const MAX_REVOCATIONS: usize = 1 << 20;

/// An issuer key as the trust list describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerKey {
    /// Key id, unique in the list.
    pub kid: u32,
    /// The public key (its algorithm is the only one its cards may use).
    pub key: PublicKey,
    /// Unix second from which the key is valid.
    pub not_before: u32,
    /// Unix second from which the key is no longer valid.
    pub not_after: u32,
    /// Domain ids the key may attest, strictly increasing.
    pub domains: Vec<u32>,
}

/// The set of issuer keys a verifier trusts, signed by the root key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustList {
    /// Increases with every new list; verifiers refuse lower numbers (rollback).
    pub sequence: u64,
    /// Unix second the list was made.
    pub issued_at: u32,
    /// Unix second from which verifiers reject every code until they get a newer list.
    pub expires_at: u32,
    /// The issuer keys, by strictly increasing key id.
    pub keys: Vec<IssuerKey>,
}

impl TrustList {
    /// A list in canonical form: keys sorted by key id and each key's domains sorted
    /// and de-duplicated. Two keys with one key id are refused (`non_canonical`), as
    /// are more than [`MAX_ISSUER_KEYS`] keys or 255 domains on one key.
    pub fn new(sequence: u64, issued_at: u32, expires_at: u32, mut keys: Vec<IssuerKey>) -> Result<Self, Rejection> {
        for k in &mut keys {
            k.domains.sort_unstable();
            k.domains.dedup();
        }
        keys.sort_by_key(|k| k.kid);
        let duplicate = keys.windows(2).any(|p| matches!(p, [a, b] if a.kid == b.kid));
        if duplicate || keys.len() > MAX_ISSUER_KEYS || keys.iter().any(|k| k.domains.len() > 255) {
            return Err(Rejection::new(Reason::NonCanonical, "duplicate key ids, or too many keys or domains"));
        }
        Ok(TrustList { sequence, issued_at, expires_at, keys })
    }

    /// The key with this id.
    pub fn key(&self, kid: u32) -> Option<&IssuerKey> {
        self.keys.binary_search_by_key(&kid, |k| k.kid).ok().and_then(|i| self.keys.get(i))
    }

    fn encode_body(&self, w: &mut Writer) -> Result<(), Reason> {
        if self.keys.len() > MAX_ISSUER_KEYS || self.keys.windows(2).any(|p| matches!(p, [a, b] if a.kid >= b.kid)) {
            return Err(Reason::NonCanonical);
        }
        w.u8(LIST_VERSION);
        ListHeader::write(self.sequence, self.issued_at, self.expires_at, self.keys.len(), w);
        for k in &self.keys {
            if k.domains.windows(2).any(|p| matches!(p, [a, b] if a >= b)) || k.domains.len() > 255 {
                return Err(Reason::NonCanonical);
            }
            w.varint(k.kid).u8(k.key.algorithm().id()).bytes(&k.key.to_bytes());
            w.u32(k.not_before).u32(k.not_after).u8(k.domains.len() as u8);
            for d in &k.domains {
                w.varint(*d);
            }
        }
        Ok(())
    }

    /// Signs the list with the root key; returns the signed encoding.
    pub fn sign(&self, root: &KeyPair) -> Result<Vec<u8>, Rejection> {
        self.sign_with(root).map_err(|e| rejection(e, "trust list"))
    }

    /// Signs the list through `root`, which may be a certified signing device holding
    /// the root key ([`DeviceSigner`]).
    pub fn sign_with(&self, root: &dyn DeviceSigner) -> Result<Vec<u8>, Error> {
        let mut w = Writer::default();
        self.encode_body(&mut w).map_err(|r| Rejection::new(r, "trust list"))?;
        append_signature(&mut w, Input::TrustList, root)?;
        Ok(w.buf)
    }

    /// Parses a signed trust list and checks the root signature.
    pub fn verify(bytes: &[u8], root: &PublicKey) -> Result<TrustList, Rejection> {
        let fail = |r: Reason| Rejection::new(r, "trust list");
        let (list, signed) = TrustList::parse(bytes).map_err(fail)?;
        if !signed.verified_by(root, Input::TrustList) {
            return Err(fail(Reason::BadTrustListSignature));
        }
        Ok(list)
    }

    fn parse(bytes: &[u8]) -> Result<(TrustList, ListSignature<'_>), Reason> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let ListHeader { sequence, issued_at, expires_at, count } = ListHeader::read(&mut r, 0, MAX_ISSUER_KEYS)?;
        let mut keys: Vec<IssuerKey> = Vec::with_capacity(count);
        for _ in 0..count {
            let kid = r.varint()?;
            if keys.last().is_some_and(|k| k.kid >= kid) {
                return Err(Reason::NonCanonical);
            }
            let alg = Algorithm::from_id(r.u8()?)?;
            let key = PublicKey::from_bytes(alg, r.take(alg.public_key_len())?).map_err(|e| match e {
                Reason::InvalidDeviceKey => Reason::InvalidIssuerKey,
                other => other,
            })?;
            let not_before = r.u32()?;
            let not_after = r.u32()?;
            let nd = r.u8()?;
            let mut domains: Vec<u32> = Vec::with_capacity(usize::from(nd));
            for _ in 0..nd {
                let d = r.varint()?;
                if domains.last().is_some_and(|&l| l >= d) {
                    return Err(Reason::NonCanonical);
                }
                domains.push(d);
            }
            keys.push(IssuerKey { kid, key, not_before, not_after, domains });
        }
        let signed = ListSignature::read(r, bytes)?;
        Ok((TrustList { sequence, issued_at, expires_at, keys }, signed))
    }
}

/// Who signed a revocation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSigner {
    /// The root key.
    Root,
    /// An issuer key in the trust list, by key id.
    Issuer(u32),
}

/// One revoked thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Revoked {
    /// A single card, by its revocation id (kind 1).
    Card([u8; 16]),
    /// Every card of a subject (kind 2).
    Subject([u8; 8]),
    /// Every code signed by a device key, by [`PublicKey::key_id`] (kind 3): a lost or
    /// stolen phone.
    DeviceKey([u8; 16]),
}

impl Revoked {
    fn kind(&self) -> u8 {
        match self {
            Revoked::Card(_) => 1,
            Revoked::Subject(_) => 2,
            Revoked::DeviceKey(_) => 3,
        }
    }
}

/// A signed list of revoked cards, subjects and device keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationList {
    /// Who signs it.
    pub signer: ListSigner,
    /// Increases with every new list from this signer; lower numbers are refused.
    pub sequence: u64,
    /// Unix second the list was made.
    pub issued_at: u32,
    /// Unix second from which verifiers reject every code until they get a newer list.
    pub expires_at: u32,
    /// The entries, strictly increasing (kind, then bytes).
    pub entries: Vec<Revoked>,
}

impl RevocationList {
    /// A list in canonical form: entries sorted and de-duplicated; more than
    /// [`MAX_REVOCATIONS`] are refused (`non_canonical`).
    pub fn new(
        signer: ListSigner,
        sequence: u64,
        issued_at: u32,
        expires_at: u32,
        mut entries: Vec<Revoked>,
    ) -> Result<Self, Rejection> {
        entries.sort_unstable();
        entries.dedup();
        if entries.len() > MAX_REVOCATIONS {
            return Err(Rejection::new(Reason::NonCanonical, "too many revocation entries"));
        }
        Ok(RevocationList { signer, sequence, issued_at, expires_at, entries })
    }

    /// Whether an entry matches.
    pub fn contains(&self, item: &Revoked) -> bool {
        self.entries.binary_search(item).is_ok()
    }

    fn encode_body(&self, w: &mut Writer) -> Result<(), Reason> {
        if self.entries.len() > MAX_REVOCATIONS || self.entries.windows(2).any(|p| matches!(p, [a, b] if a >= b)) {
            return Err(Reason::NonCanonical);
        }
        w.u8(LIST_VERSION);
        match self.signer {
            ListSigner::Root => w.u8(0),
            ListSigner::Issuer(kid) => w.u8(1).varint(kid),
        };
        ListHeader::write(self.sequence, self.issued_at, self.expires_at, self.entries.len(), w);
        for e in &self.entries {
            w.u8(e.kind());
            match e {
                Revoked::Card(b) | Revoked::DeviceKey(b) => w.bytes(b),
                Revoked::Subject(b) => w.bytes(b),
            };
        }
        Ok(())
    }

    /// Signs the list with the root key or the named issuer's key.
    pub fn sign(&self, key: &KeyPair) -> Result<Vec<u8>, Rejection> {
        self.sign_with(key).map_err(|e| rejection(e, "revocation list"))
    }

    /// Signs the list through `key`, which may be a certified signing device holding
    /// the root's or the issuer's key ([`DeviceSigner`]).
    pub fn sign_with(&self, key: &dyn DeviceSigner) -> Result<Vec<u8>, Error> {
        let mut w = Writer::default();
        self.encode_body(&mut w).map_err(|r| Rejection::new(r, "revocation list"))?;
        append_signature(&mut w, Input::RevocationList, key)?;
        Ok(w.buf)
    }

    /// Parses a signed revocation list and checks its signature against the root key
    /// or, for an issuer-signed list, the issuer's key in `trust` (SPEC.md §8.2): the
    /// key must be in `trust`, verify the signature, and have been valid when the list
    /// says it was issued (`not_before <= issued_at < not_after`, else
    /// `issuer_key_not_valid`).
    ///
    /// This says whether the list was validly signed, not whether a verifier may take
    /// it now: `issued_at` is whatever the signer wrote. Loading uses
    /// [`RevocationList::verify_at`], which also needs the key valid now.
    pub fn verify(bytes: &[u8], root: &PublicKey, trust: Option<&TrustList>) -> Result<RevocationList, Rejection> {
        RevocationList::verify_signed(bytes, root, trust).map(|(list, _)| list)
    }

    /// What a verifier loads (SPEC.md §8.2, §8.3): [`RevocationList::verify`], and for
    /// an issuer-signed list its key valid at `now`, the verifier's clock
    /// (`not_before <= now < not_after`, else `issuer_key_not_valid`), whatever the
    /// list's `issued_at`. A retired key (its `not_after` past) can sign nothing a
    /// verifier takes: not a new list, and not a backdated one with a higher sequence
    /// that would replace its last list.
    pub fn verify_at(
        bytes: &[u8],
        root: &PublicKey,
        trust: Option<&TrustList>,
        now: u64,
    ) -> Result<RevocationList, Rejection> {
        let (list, issuer) = RevocationList::verify_signed(bytes, root, trust)?;
        if let Some(k) = issuer
            && (now < u64::from(k.not_before) || now >= u64::from(k.not_after))
        {
            return Err(Rejection::new(
                Reason::IssuerKeyNotValid,
                format!(
                    "issuer key {} is not valid now ({now}; valid from {} to {}): its revocation lists are refused",
                    k.kid, k.not_before, k.not_after
                ),
            ));
        }
        Ok(list)
    }

    /// [`RevocationList::verify`], returning the issuer key that signed, if not the root.
    fn verify_signed<'t>(
        bytes: &[u8],
        root: &PublicKey,
        trust: Option<&'t TrustList>,
    ) -> Result<(RevocationList, Option<&'t IssuerKey>), Rejection> {
        let fail = |r: Reason| Rejection::new(r, "revocation list");
        let (list, signed) = RevocationList::parse(bytes).map_err(fail)?;
        let issuer = match list.signer {
            ListSigner::Root => None,
            ListSigner::Issuer(kid) => Some(trust.and_then(|t| t.key(kid)).ok_or_else(|| {
                Rejection::new(Reason::BadRevocationListSignature, format!("issuer key {kid} is not in the trust list"))
            })?),
        };
        let key = issuer.map_or(root, |k| &k.key);
        if !signed.verified_by(key, Input::RevocationList) {
            return Err(fail(Reason::BadRevocationListSignature));
        }
        if let Some(k) = issuer
            && (list.issued_at < k.not_before || list.issued_at >= k.not_after)
        {
            return Err(Rejection::new(
                Reason::IssuerKeyNotValid,
                format!("revocation list issued at {} outside issuer key {}'s validity", list.issued_at, k.kid),
            ));
        }
        Ok((list, issuer))
    }

    fn parse(bytes: &[u8]) -> Result<(RevocationList, ListSignature<'_>), Reason> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let signer = match r.u8()? {
            0 => ListSigner::Root,
            1 => ListSigner::Issuer(r.varint()?),
            _ => return Err(Reason::Malformed),
        };
        let ListHeader { sequence, issued_at, expires_at, count } = ListHeader::read(&mut r, 0, MAX_REVOCATIONS)?;
        let mut entries: Vec<Revoked> = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let e = match r.u8()? {
                1 => Revoked::Card(r.array()?),
                2 => Revoked::Subject(r.array()?),
                3 => Revoked::DeviceKey(r.array()?),
                _ => return Err(Reason::Malformed),
            };
            if entries.last().is_some_and(|l| *l >= e) {
                return Err(Reason::NonCanonical);
            }
            entries.push(e);
        }
        let signed = ListSignature::read(r, bytes)?;
        Ok((RevocationList { signer, sequence, issued_at, expires_at, entries }, signed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn key(kid: u32, domains: Vec<u32>) -> IssuerKey {
        let key = KeyPair::generate(Algorithm::Ed25519).unwrap().public_key();
        IssuerKey { kid, key, not_before: 0, not_after: 100, domains }
    }

    #[test]
    fn constructors_make_canonical_lists_and_refuse_duplicate_key_ids() {
        let list = TrustList::new(1, 0, 100, vec![key(9, vec![5, 1, 1]), key(2, vec![3])]).unwrap();
        assert_eq!(list.keys.iter().map(|k| k.kid).collect::<Vec<_>>(), vec![2, 9]);
        assert_eq!(list.keys[1].domains, vec![1, 5]);
        let root = KeyPair::generate(Algorithm::Ed25519).unwrap();
        assert_eq!(TrustList::verify(&list.sign(&root).unwrap(), &root.public_key()).unwrap(), list);
        let dup = TrustList::new(1, 0, 100, vec![key(2, vec![1]), key(2, vec![2])]);
        assert_eq!(dup.unwrap_err().reason, Reason::NonCanonical);

        let entries = vec![Revoked::Subject([2; 8]), Revoked::Card([1; 16]), Revoked::Subject([2; 8])];
        let list = RevocationList::new(ListSigner::Root, 1, 0, 100, entries).unwrap();
        assert_eq!(list.entries, vec![Revoked::Card([1; 16]), Revoked::Subject([2; 8])]);
        assert!(list.sign(&root).is_ok());
    }
}
