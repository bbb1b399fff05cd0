//! Presentations: the code itself. Built offline on the device from a credential and
//! a device signer; parsed by verifiers into an [`UnverifiedCode`].

use crate::alg;
use crate::claims::Claims;
use crate::credential::{
    Card, Credential, DecodedCards, Disclosure, FORMAT_VERSION, MAX_CARDS, Subject, card_signing_input, decode_cards,
    merged_claims,
};
use crate::digest::{Input, signing_input};
use crate::error::{Error, Reason, Rejection};
use crate::keys::{Algorithm, DeviceSigner, PublicKey, SIGNATURE_LEN};
use crate::text;
use crate::wire::{Reader, Writer};

/// Default validity of a code in seconds.
pub const DEFAULT_VALIDITY_SECS: u8 = 60;

/// How to build a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentOptions {
    /// Seconds the code stays valid after `issued_at`, 1 to 255.
    pub validity_secs: u8,
    /// The 4-byte unique id; `None` draws it from the operating system.
    pub nonce: Option<[u8; 4]>,
}

impl Default for PresentOptions {
    fn default() -> Self {
        PresentOptions { validity_secs: DEFAULT_VALIDITY_SECS, nonce: None }
    }
}

/// A signed code, ready to show.
#[derive(Clone, PartialEq, Eq)]
pub struct Code {
    bytes: Vec<u8>,
    issued_at: u32,
    validity_secs: u8,
}

impl core::fmt::Debug for Code {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Code").field("bytes", &self.bytes.len()).field("issued_at", &self.issued_at).finish()
    }
}

impl Code {
    /// The binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text a QR carries: `CC1:` and digits.
    pub fn to_text(&self) -> String {
        text::encode_text(&self.bytes)
    }

    /// base64url of the binary encoding, for JSON and HTTP.
    pub fn to_base64url(&self) -> String {
        text::encode_base64url(&self.bytes)
    }

    /// Unix second the code was built.
    pub fn issued_at(&self) -> u32 {
        self.issued_at
    }

    /// Unix second after which verifiers reject it (before skew).
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issued_at) + u64::from(self.validity_secs)
    }

    /// Seconds from `now` until the app should show a fresh code: half the validity
    /// after issue, so a code is never shown in its last half.
    pub fn refresh_in(&self, now: u64) -> u64 {
        (u64::from(self.issued_at) + u64::from(self.validity_secs / 2).max(1)).saturating_sub(now)
    }
}

/// Builds a code at Unix time `now` that discloses what a scene reads (`&Scene`, or any
/// `&dyn Policy`) or whole domains (ids: `&[u32]`).
///
/// Picks the credential's cards with [`Credential::select`], signs with the device
/// signer, and refuses a signer whose key is not the credential's.
pub fn present<'d>(
    credential: &Credential,
    signer: &dyn DeviceSigner,
    disclosure: impl Into<Disclosure<'d>>,
    now: u64,
    options: PresentOptions,
) -> Result<Code, Error> {
    present_disclosure(credential, signer, disclosure.into(), now, options)
}

/// [`present`] with the disclosure converted: one body for every argument type.
fn present_disclosure(
    credential: &Credential,
    signer: &dyn DeviceSigner,
    disclosure: Disclosure<'_>,
    now: u64,
    options: PresentOptions,
) -> Result<Code, Error> {
    let unsigned = prepare_disclosure(credential, &signer.public_key(), disclosure, now, options)?;
    let signature = crate::keys::signature_by(signer, unsigned.signing_input())?;
    Ok(unsigned.assemble(&signature))
}

/// Builds a code up to its device signature, for signers that answer later: behind a
/// biometric prompt, or through an asynchronous keystore API. Sign
/// [`UnsignedCode::signing_input`] with the device key, then
/// [`UnsignedCode::finish`]. `device_key` must be the credential's.
pub fn prepare<'d>(
    credential: &Credential,
    device_key: &PublicKey,
    disclosure: impl Into<Disclosure<'d>>,
    now: u64,
    options: PresentOptions,
) -> Result<UnsignedCode, Error> {
    prepare_disclosure(credential, device_key, disclosure.into(), now, options)
}

fn prepare_disclosure(
    credential: &Credential,
    device_key: &PublicKey,
    disclosure: Disclosure<'_>,
    now: u64,
    options: PresentOptions,
) -> Result<UnsignedCode, Error> {
    if *device_key != credential.device_key {
        return Err(Error::Signer("the signer's key is not the credential's device key".into()));
    }
    if options.validity_secs == 0 {
        return Err(Error::OutOfRange("validity_secs must be 1 to 255".into()));
    }
    let issued_at =
        u32::try_from(now).map_err(|_| Error::OutOfRange("time beyond 2106 does not fit the format".into()))?;
    let nonce = match options.nonce {
        Some(n) => n,
        None => {
            let mut n = [0u8; 4];
            getrandom::fill(&mut n).map_err(|_| Error::Random)?;
            n
        }
    };
    let cards = credential.select(disclosure, now)?;
    if cards.len() > MAX_CARDS {
        return Err(Error::OutOfRange("too many cards".into()));
    }
    let key_bytes = device_key.to_bytes();
    let mut w = Writer::with_capacity(256);
    w.u8(FORMAT_VERSION).u8(device_key.algorithm().id()).bytes(&key_bytes).bytes(&credential.subject.0);
    w.u32(issued_at).u8(options.validity_secs).bytes(&nonce).u8(cards.len() as u8);
    for c in cards {
        c.encode(&mut w)?;
    }
    let tbs = code_signing_input(&w.buf);
    Ok(UnsignedCode {
        device_key: device_key.clone(),
        unsigned: w.buf,
        tbs,
        issued_at,
        validity_secs: options.validity_secs,
    })
}

/// A code waiting for its device signature ([`prepare`]).
#[derive(Clone, Debug)]
pub struct UnsignedCode {
    device_key: PublicKey,
    unsigned: Vec<u8>,
    tbs: Vec<u8>,
    issued_at: u32,
    validity_secs: u8,
}

impl UnsignedCode {
    /// The exact bytes the device key must sign (SPEC.md §5).
    pub fn signing_input(&self) -> &[u8] {
        &self.tbs
    }

    /// The code, with `signature` from the device key: 64 bytes `r || s`, or DER
    /// (P-256, SM2). The signature is checked against the device key, so a keystore
    /// that signed with another key fails here with a `signer` error, not at every
    /// verifier.
    pub fn finish(self, signature: &[u8]) -> Result<Code, Error> {
        let signature = crate::keys::signature_from_keystore(self.device_key.algorithm(), signature)?;
        if !self.device_key.verify(&self.tbs, &signature) {
            return Err(Error::Signer("the signature does not verify under the device key".into()));
        }
        Ok(self.assemble(&signature))
    }

    fn assemble(self, signature: &[u8; SIGNATURE_LEN]) -> Code {
        let mut bytes = self.unsigned;
        bytes.extend_from_slice(signature);
        Code { bytes, issued_at: self.issued_at, validity_secs: self.validity_secs }
    }
}

fn code_signing_input(unsigned: &[u8]) -> Vec<u8> {
    signing_input(Input::Code, &[unsigned])
}

/// A parsed code whose signatures, keys, times and policy are not yet checked. Its
/// accessors are for inspection only: nothing here is vouched for until a
/// [`crate::Verifier`] accepts it.
///
/// Every value is read once from the bytes the signatures cover, and none can be
/// changed afterwards: the fields are private, and verification takes the code by value
/// ([`crate::Verifier::verify_code`]), so what a verifier checks and reports is exactly
/// what was signed. Editing a parsed code's claims does not compile:
///
/// ```compile_fail,E0616
/// # let text = "";
/// let mut code = citycode::UnverifiedCode::from_text(text).unwrap();
/// code.cards[0].claims = citycode::Claims::default();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnverifiedCode {
    device_key: PublicKey,
    subject: Subject,
    issued_at: u32,
    validity_secs: u8,
    nonce: [u8; 4],
    cards: Vec<Card>,
    device_signature: [u8; SIGNATURE_LEN],
    card_inputs: Vec<Vec<u8>>,
    code_input: Vec<u8>,
}

impl UnverifiedCode {
    /// Parses the QR text.
    pub fn from_text(text: &str) -> Result<Self, Rejection> {
        let bytes = text::decode_text(text).map_err(|r| Rejection::new(r, "QR text"))?;
        UnverifiedCode::from_bytes(&bytes)
    }

    /// Parses the binary encoding; rejects non-canonical forms and trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        UnverifiedCode::parse(bytes).map_err(|r| Rejection::new(r, "code structure"))
    }

    fn parse(bytes: &[u8]) -> Result<Self, Reason> {
        let mut r = Reader::new(bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(Reason::UnsupportedVersion);
        }
        let alg = Algorithm::from_id(r.u8()?)?;
        let device_key = PublicKey::from_bytes(alg, r.take(alg.public_key_len())?)?;
        let subject = Subject(r.array()?);
        let issued_at = r.u32()?;
        let validity_secs = r.u8()?;
        if validity_secs == 0 {
            return Err(Reason::Malformed);
        }
        let nonce = r.array()?;
        let DecodedCards { cards, inputs: card_inputs, .. } = decode_cards(
            &mut r,
            |card, body| card_signing_input(&device_key, &subject, card, body),
            |_| Ok::<(), Reason>(()),
        )?;
        let signed_len = bytes.len() - r.remaining().len();
        let device_signature = r.array::<SIGNATURE_LEN>()?;
        r.finish()?;
        let code_input = code_signing_input(bytes.get(..signed_len).ok_or(Reason::Truncated)?);
        Ok(UnverifiedCode {
            device_key,
            subject,
            issued_at,
            validity_secs,
            nonce,
            cards,
            device_signature,
            card_inputs,
            code_input,
        })
    }

    /// The device key the code claims.
    pub fn device_key(&self) -> &PublicKey {
        &self.device_key
    }

    /// The subject the cards name.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// Unix second the code says it was built.
    pub fn issued_at(&self) -> u32 {
        self.issued_at
    }

    /// Seconds of validity the code asks for.
    pub fn validity_secs(&self) -> u8 {
        self.validity_secs
    }

    /// The code's unique id.
    pub fn nonce(&self) -> [u8; 4] {
        self.nonce
    }

    /// The cards, in code order. **Untrusted** until a verifier accepts the code.
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// The device signature.
    pub fn device_signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.device_signature
    }

    /// The exact bytes the issuer signed for card `i` (its domain-separated signing
    /// input, SPEC.md §4.4); empty if there is no card `i`. For audits and for measuring
    /// the raw signature cost of a code.
    pub fn card_input(&self, i: usize) -> &[u8] {
        self.card_inputs.get(i).map_or(&[], Vec::as_slice)
    }

    /// The exact bytes the device signed (SPEC.md §5).
    pub fn code_input(&self) -> &[u8] {
        &self.code_input
    }

    /// The replay id: the first 16 bytes of the digest of the device signing input
    /// (SHA-256, or SM3 for an SM2 device key: SPEC.md §4.6).
    pub fn replay_id(&self) -> [u8; 16] {
        alg::digest_16(self.device_key.algorithm(), &self.code_input)
    }

    /// Revocation id of card `i` (first 16 bytes of the digest of its signing input).
    pub fn card_id(&self, i: usize) -> [u8; 16] {
        crate::credential::card_id(self.device_key.algorithm(), self.card_input(i))
    }

    /// Every disclosed claim, merged across cards. **Untrusted**: nothing here has been
    /// verified; only [`crate::Verifier`] turns a code into trusted claims
    /// ([`crate::Accepted::claims`]).
    pub fn untrusted_claims(&self) -> Claims {
        merged_claims(&self.cards)
    }
}
