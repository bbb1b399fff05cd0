//! The frame every signed list shares (SPEC.md §8): trust lists, revocation lists and
//! list statuses start with the version byte and, after any list-specific field, the
//! header `sequence ‖ issued_at ‖ expires_at ‖ count`; they end with the signer's
//! algorithm id and its signature over `label ‖ body`, the body running through that
//! algorithm byte. Read and written here once for the three.

use crate::digest::{Input, signing_input};
use crate::error::{Error, Reason, Rejection};
use crate::keys::{Algorithm, DeviceSigner, PublicKey, SIGNATURE_LEN};
use crate::wire::{Reader, Writer};

/// Version byte of trust lists, revocation lists and list statuses.
pub(crate) const LIST_VERSION: u8 = 1;

/// A list's sequence and lifetime, and how many entries follow.
pub(crate) struct ListHeader {
    /// Increases with every new list of one signer.
    pub(crate) sequence: u64,
    /// Unix second the list was made.
    pub(crate) issued_at: u32,
    /// Unix second from which it is stale.
    pub(crate) expires_at: u32,
    /// Entries that follow, checked against the list's bounds.
    pub(crate) count: usize,
}

/// Reads the version byte: [`LIST_VERSION`] or `unsupported_version`.
pub(crate) fn read_version(r: &mut Reader<'_>) -> Result<(), Reason> {
    if r.u8()? != LIST_VERSION {
        return Err(Reason::UnsupportedVersion);
    }
    Ok(())
}

impl ListHeader {
    /// Reads the header; a count outside `min..=max` is `malformed`.
    pub(crate) fn read(r: &mut Reader<'_>, min: usize, max: usize) -> Result<ListHeader, Reason> {
        let sequence = r.u64()?;
        let issued_at = r.u32()?;
        let expires_at = r.u32()?;
        let count = r.varint()? as usize;
        if count < min || count > max {
            return Err(Reason::Malformed);
        }
        Ok(ListHeader { sequence, issued_at, expires_at, count })
    }

    /// Writes the header (the count as a varint).
    pub(crate) fn write(sequence: u64, issued_at: u32, expires_at: u32, count: usize, w: &mut Writer) {
        w.u64(sequence).u32(issued_at).u32(expires_at).varint(count as u32);
    }
}

/// A list's signed body, its signer's algorithm and its signature.
pub(crate) struct ListSignature<'a> {
    /// The signed bytes: the whole list up to and including the algorithm byte.
    pub(crate) body: &'a [u8],
    /// The signer's algorithm.
    pub(crate) alg: Algorithm,
    /// The signature.
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl ListSignature<'_> {
    /// Reads the algorithm id and the signature that end `bytes` (read up to them by
    /// `r`), and that nothing follows.
    pub(crate) fn read<'a>(mut r: Reader<'_>, bytes: &'a [u8]) -> Result<ListSignature<'a>, Reason> {
        let alg = Algorithm::from_id(r.u8()?)?;
        let body_len = bytes.len() - r.remaining().len();
        let signature = r.array::<SIGNATURE_LEN>()?;
        r.finish()?;
        let body = bytes.get(..body_len).ok_or(Reason::Truncated)?;
        Ok(ListSignature { body, alg, signature })
    }

    /// Whether `key`, of the algorithm the list names, signed it as an `input`.
    pub(crate) fn verified_by(&self, key: &PublicKey, input: Input) -> bool {
        self.alg == key.algorithm() && key.verify(&signing_input(input, &[self.body]), &self.signature)
    }
}

/// Appends the signer's algorithm id to a list body in `w`, then its signature over
/// `label ‖ body ‖ alg`.
pub(crate) fn append_signature(w: &mut Writer, input: Input, signer: &dyn DeviceSigner) -> Result<(), Error> {
    w.u8(signer.public_key().algorithm().id());
    let signature = crate::keys::signature_by(signer, &signing_input(input, &[&w.buf]))?;
    w.bytes(&signature);
    Ok(())
}

/// The error of a list signed with a [`crate::KeyPair`], whose signing cannot fail: only
/// the list's own encoding can (`non_canonical`, `malformed`).
pub(crate) fn rejection(e: Error, what: &str) -> Rejection {
    match e {
        Error::Invalid(r) => r,
        other => Rejection::new(Reason::Malformed, format!("{what}: {other}")),
    }
}
