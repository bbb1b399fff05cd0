//! List distribution: how signed trust and revocation lists reach thousands of
//! terminals through any static web server or shared directory (SPEC.md §8.4).
//!
//! The operator publishes a directory: the signed lists under fixed names
//! ([`ListFile::file_name`]) and `status.bin`, a small root-signed index of them (each
//! list's sequence, expiry and digest). A verifier fetches `status.bin` on a schedule,
//! checks its signature and sequence (an older status is refused: a stale mirror), and
//! fetches only the lists newer than those it holds, each checked against the digest in
//! the status and then loaded with the usual signature and rollback checks
//! ([`crate::update_lists`], [`crate::Verifier::update_from`]), all of them or none. It
//! keeps serving with the lists it holds until they expire, and refuses every code
//! after that.

use crate::alg::key_digest;
use crate::digest::Input;
use crate::error::{Error, Reason, Rejection};
use crate::keys::{Algorithm, DeviceSigner, KeyPair, PublicKey};
use crate::signed_list::{LIST_VERSION, ListHeader, ListSignature, append_signature, read_version, rejection};
use crate::trust::{ListSigner, RevocationList, TrustList};
use crate::wire::{Reader, Writer};

/// The name of the status document in a published directory.
pub const STATUS_FILE: &str = "status.bin";
/// The name of its unsigned JSON index ([`ListStatus::index_json`]).
pub const STATUS_INDEX_FILE: &str = "status.json";
/// Most lists one status names (one trust list and a revocation list per signer).
pub const MAX_STATUS_ENTRIES: usize = 1025;

/// Which list a published file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListFile {
    /// The trust list.
    Trust,
    /// The revocation list of one signer.
    Revocation(ListSigner),
}

impl ListFile {
    /// Its file name in a published directory: `trust-list.bin`, `revocation-root.bin`
    /// or `revocation-issuer-<kid>.bin`.
    pub fn file_name(&self) -> String {
        match self {
            ListFile::Trust => "trust-list.bin".into(),
            ListFile::Revocation(ListSigner::Root) => "revocation-root.bin".into(),
            ListFile::Revocation(ListSigner::Issuer(kid)) => format!("revocation-issuer-{kid}.bin"),
        }
    }
}

/// One published list, as the status names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    /// Which list.
    pub file: ListFile,
    /// The list's own sequence number.
    pub sequence: u64,
    /// The list's own expiry, Unix seconds.
    pub expires_at: u32,
    /// The digest of the file's bytes: SHA-256, or SM3 under an SM2 root (SPEC.md §4.6).
    pub digest: [u8; 32],
}

impl StatusEntry {
    /// Whether `bytes` are the file this entry names, by the digest of the root key's
    /// algorithm `root`.
    pub fn describes(&self, root: Algorithm, bytes: &[u8]) -> bool {
        key_digest(root, bytes) == self.digest
    }
}

/// The signed index of a published directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListStatus {
    /// Increases with every publication; verifiers refuse a lower one (a stale mirror).
    pub sequence: u64,
    /// Unix second of publication.
    pub issued_at: u32,
    /// Unix second after which operators should treat the publication as stale (a
    /// verifier reports it; the lists' own expiries decide what it accepts).
    pub expires_at: u32,
    /// The lists, trust list first, then revocation lists by signer, each at most once.
    pub entries: Vec<StatusEntry>,
}

impl ListStatus {
    /// The status of signed lists: reads each list's sequence, expiry and signer
    /// (checking every signature, so nothing unverifiable is published). An
    /// issuer-signed revocation list whose key is not valid at `issued_at` (the
    /// publication's time) is refused (`issuer_key_not_valid`), as every verifier would
    /// refuse to load it (SPEC.md §8.3): move a retired key's entries to the root list.
    pub fn describe(
        sequence: u64,
        issued_at: u32,
        expires_at: u32,
        root: &PublicKey,
        trust_list: &[u8],
        revocation_lists: &[&[u8]],
    ) -> Result<ListStatus, Rejection> {
        let trust = TrustList::verify(trust_list, root)?;
        let mut entries = vec![StatusEntry {
            file: ListFile::Trust,
            sequence: trust.sequence,
            expires_at: trust.expires_at,
            digest: key_digest(root.algorithm(), trust_list),
        }];
        for bytes in revocation_lists {
            let list = RevocationList::verify_at(bytes, root, Some(&trust), u64::from(issued_at))?;
            entries.push(StatusEntry {
                file: ListFile::Revocation(list.signer),
                sequence: list.sequence,
                expires_at: list.expires_at,
                digest: key_digest(root.algorithm(), bytes),
            });
        }
        entries.sort_by_key(|e| e.file);
        if entries.windows(2).any(|p| matches!(p, [a, b] if a.file == b.file)) {
            return Err(Rejection::new(Reason::NonCanonical, "two revocation lists of one signer"));
        }
        Ok(ListStatus { sequence, issued_at, expires_at, entries })
    }

    /// `status.json`, the unsigned index published beside `status.bin` for clients that
    /// do not parse the signed status (the WASM scanner, whose size budget has no room
    /// for it, and people): the same facts, in JSON. Each list it names is still checked
    /// by its own signature and sequence when loaded.
    pub fn index_json(&self) -> String {
        let files: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                format!(
                    "{{\"file\":\"{}\",\"sequence\":{},\"expires_at\":{},\"digest\":\"{}\"}}",
                    e.file.file_name(),
                    e.sequence,
                    e.expires_at,
                    crate::text::hex(&e.digest)
                )
            })
            .collect();
        format!(
            "{{\"sequence\":{},\"issued_at\":{},\"expires_at\":{},\"files\":[{}]}}\n",
            self.sequence,
            self.issued_at,
            self.expires_at,
            files.join(",")
        )
    }

    /// Signs the status with the root key.
    pub fn sign(&self, root: &KeyPair) -> Result<Vec<u8>, Rejection> {
        self.sign_with(root).map_err(|e| rejection(e, "list status"))
    }

    /// Signs the status through `root`, which may be a certified signing device holding
    /// the root key ([`DeviceSigner`]).
    pub fn sign_with(&self, root: &dyn DeviceSigner) -> Result<Vec<u8>, Error> {
        let canonical = self.entries.first().is_some_and(|e| e.file == ListFile::Trust)
            && self.entries.windows(2).all(|p| matches!(p, [a, b] if a.file < b.file))
            && self.entries.len() <= MAX_STATUS_ENTRIES;
        if !canonical {
            return Err(Rejection::new(Reason::NonCanonical, "list status entries").into());
        }
        let mut w = Writer::default();
        w.u8(LIST_VERSION);
        ListHeader::write(self.sequence, self.issued_at, self.expires_at, self.entries.len(), &mut w);
        for e in &self.entries {
            match e.file {
                ListFile::Trust => w.u8(1),
                ListFile::Revocation(ListSigner::Root) => w.u8(2),
                ListFile::Revocation(ListSigner::Issuer(kid)) => w.u8(3).varint(kid),
            };
            w.u64(e.sequence).u32(e.expires_at).bytes(&e.digest);
        }
        append_signature(&mut w, Input::ListStatus, root)?;
        Ok(w.buf)
    }

    /// Parses a signed status and checks the root signature.
    pub fn verify(bytes: &[u8], root: &PublicKey) -> Result<ListStatus, Rejection> {
        let fail = |r: Reason| Rejection::new(r, "list status");
        let (status, signed) = ListStatus::parse(bytes).map_err(fail)?;
        if !signed.verified_by(root, Input::ListStatus) {
            return Err(fail(Reason::BadListStatusSignature));
        }
        Ok(status)
    }

    fn parse(bytes: &[u8]) -> Result<(ListStatus, ListSignature<'_>), Reason> {
        let mut r = Reader::new(bytes);
        read_version(&mut r)?;
        let ListHeader { sequence, issued_at, expires_at, count } = ListHeader::read(&mut r, 1, MAX_STATUS_ENTRIES)?;
        let mut entries: Vec<StatusEntry> = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = r.u8()?;
            // The first entry is the trust list, checked as soon as its kind is read (SPEC.md §8.3).
            if entries.is_empty() && kind != 1 {
                return Err(Reason::Malformed);
            }
            let file = match kind {
                1 => ListFile::Trust,
                2 => ListFile::Revocation(ListSigner::Root),
                3 => ListFile::Revocation(ListSigner::Issuer(r.varint()?)),
                _ => return Err(Reason::Malformed),
            };
            if entries.last().is_some_and(|l| l.file >= file) {
                return Err(Reason::NonCanonical);
            }
            entries.push(StatusEntry { file, sequence: r.u64()?, expires_at: r.u32()?, digest: r.array()? });
        }
        let signed = ListSignature::read(r, bytes)?;
        Ok((ListStatus { sequence, issued_at, expires_at, entries }, signed))
    }
}

/// Where a verifier fetches a published directory from: an HTTP base URL, a local
/// directory, a test double. `fetch` returns a file's bytes or says why not.
pub trait ListSource {
    /// The bytes of `name` ([`STATUS_FILE`] or a [`ListFile::file_name`]).
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String>;
}

/// A published directory on the local file system (or a mounted share).
#[derive(Clone, Debug)]
pub struct DirectorySource(pub std::path::PathBuf);

impl ListSource for DirectorySource {
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.0.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What a verifier needs fetched to apply a published status
/// ([`crate::Verifier::plan_update`]).
#[derive(Clone, Debug)]
pub struct UpdatePlan {
    pub(crate) status: ListStatus,
    pub(crate) status_bytes: Vec<u8>,
    pub(crate) fetch: Vec<StatusEntry>,
    pub(crate) unchanged: Vec<String>,
}

impl UpdatePlan {
    /// The file names to fetch, in order.
    pub fn to_fetch(&self) -> Vec<String> {
        self.fetch.iter().map(|e| e.file.file_name()).collect()
    }

    /// The status this plan applies.
    pub fn status(&self) -> &ListStatus {
        &self.status
    }
}

/// What one update did ([`crate::update_lists`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// The status sequence now held.
    pub status_sequence: u64,
    /// When that status was issued (Unix seconds).
    pub status_issued_at: u32,
    /// Files fetched and loaded (newer than what was held).
    pub loaded: Vec<String>,
    /// Files the status named that were already held.
    pub unchanged: Vec<String>,
}
