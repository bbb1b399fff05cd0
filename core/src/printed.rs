//! Printed codes (SPEC.md §5.1): a long-lived static code on paper for a resident with
//! no phone (an elder, a child, a person with a disability), valid up to
//! [`PRINTED_MAX_DAYS`] days. No device signs it, so anyone holding a copy can show it:
//! it always carries the identity domain, only scenes whose policy allows printed codes
//! (a staffed counter, never an unattended gate) accept it, and the verdict tells the
//! staff to check the person's identity document against it. Reissuing one cancels the
//! old one through the revocation list (its subject).

use crate::claims::{Claims, Domain};
use crate::credential::{Card, DecodedCards, FORMAT_VERSION, Issuer, Subject, decode_cards, merged_claims};
use crate::digest::{self, LABEL_PRINTED_CARD};
use crate::error::{Error, Reason, Rejection};
use crate::keys::SIGNATURE_LEN;
use crate::text;
use crate::wire::{Reader, Writer};

/// The `device_alg` byte of a printed code: no device key.
pub const PRINTED_DEVICE_ALG: u8 = 0;
/// Longest validity an issuer gives a printed code by default, in days (Shanghai's
/// offline code for elders and children: 180 days).
pub const PRINTED_MAX_DAYS: u8 = 180;

/// A printed code: subject and cards, no device key, time, nonce or device signature.
///
/// As with [`crate::UnverifiedCode`], every value is read once from the signed bytes and
/// cannot be changed afterwards (private fields, read-only accessors; verification takes
/// the code by value):
///
/// ```compile_fail,E0616
/// # let text = "";
/// let mut code = citycode::PrintedCode::from_text(text).unwrap();
/// code.cards[0].valid_days = 255;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintedCode {
    subject: Subject,
    cards: Vec<Card>,
    bytes: Vec<u8>,
    card_inputs: Vec<Vec<u8>>,
}

/// The issuer's signing input for a printed card (SPEC.md §5.1).
fn printed_card_input(subject: &Subject, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(LABEL_PRINTED_CARD.len() + 1 + 8 + body.len());
    m.extend_from_slice(LABEL_PRINTED_CARD);
    m.push(PRINTED_DEVICE_ALG);
    m.extend_from_slice(&subject.0);
    m.extend_from_slice(body);
    m
}

impl PrintedCode {
    /// Whether `bytes` (a decoded code) is a printed code: its `device_alg` byte is 0.
    pub fn is_printed(bytes: &[u8]) -> bool {
        bytes.get(1) == Some(&PRINTED_DEVICE_ALG)
    }

    /// Parses the binary encoding; rejects non-canonical forms and trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        PrintedCode::parse(bytes).map_err(|r| Rejection::new(r, "printed code structure"))
    }

    /// Parses QR text.
    pub fn from_text(text: &str) -> Result<Self, Rejection> {
        let bytes = text::decode_text(text).map_err(|r| Rejection::new(r, "QR text"))?;
        PrintedCode::from_bytes(&bytes)
    }

    fn parse(bytes: &[u8]) -> Result<Self, Reason> {
        let mut r = Reader::new(bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(Reason::UnsupportedVersion);
        }
        if r.u8()? != PRINTED_DEVICE_ALG {
            return Err(Reason::Malformed);
        }
        let subject = Subject(r.array()?);
        let DecodedCards { cards, inputs: card_inputs, claims: all } =
            decode_cards(&mut r, |_, body| printed_card_input(&subject, body))?;
        r.finish()?;
        // The staff check a person against it: identity always; never a guardian's.
        if all.identity.is_none() || all.guardian.is_some() {
            return Err(Reason::Malformed);
        }
        Ok(PrintedCode { subject, cards, bytes: bytes.to_vec(), card_inputs })
    }

    /// The subject of this printed code (reissuing revokes it).
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The cards. **Untrusted** until a verifier accepts the code.
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// The binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The QR text (`CC1:` and digits, SPEC.md §6).
    pub fn to_text(&self) -> String {
        text::encode_text(&self.bytes)
    }

    /// The bytes the issuer signed for card `i`; empty if there is no card `i`.
    pub fn card_input(&self, i: usize) -> &[u8] {
        self.card_inputs.get(i).map_or(&[], Vec::as_slice)
    }

    /// Revocation id of card `i`: the first 16 bytes of the digest of its signing input,
    /// by the algorithm of the issuer key that signed it (no device key here).
    pub fn card_id(&self, i: usize) -> [u8; 16] {
        let alg = self.cards.get(i).map_or(crate::Algorithm::Ed25519, |c| c.alg);
        digest::digest_16(alg, self.card_input(i))
    }

    /// Every claim, merged across cards. **Untrusted** until a verifier accepts it.
    pub fn untrusted_claims(&self) -> Claims {
        merged_claims(&self.cards)
    }

    /// Seconds since 1970 from which every card is valid.
    pub fn not_before(&self) -> u64 {
        self.cards.iter().map(Card::not_before).max().unwrap_or(0)
    }

    /// Seconds since 1970 at which the first card expires.
    pub fn not_after(&self) -> u64 {
        self.cards.iter().map(Card::not_after).min().unwrap_or(0)
    }
}

impl Issuer {
    /// Signs a printed code: one card holding `claims` (which must carry identity, and
    /// no guardianship), valid `valid_days` from `valid_from_day` (1 to
    /// [`PRINTED_MAX_DAYS`]; a city that allows longer passes its own `max_days`).
    /// Use a fresh subject for each code, and revoke the previous code's subject when
    /// reissuing (a lost card, a changed claim).
    pub fn issue_printed(
        &self,
        subject: Subject,
        claims: &Claims,
        valid_from_day: u16,
        valid_days: u8,
        max_days: u8,
    ) -> Result<PrintedCode, Error> {
        if valid_days == 0 || valid_days > max_days {
            return Err(Error::OutOfRange(format!("a printed code is valid 1 to {max_days} days")));
        }
        if claims.identity.is_none() || claims.guardian.is_some() {
            return Err(Error::OutOfRange(
                "a printed code carries its holder's identity, for the staff to check, and is not a guardian's".into(),
            ));
        }
        claims.validate()?;
        for id in claims.domain_ids() {
            if !self.scope().contains(&id) {
                let domain = Domain::from_id(id).map_or_else(|| format!("domain {id}"), |d| d.to_string());
                return Err(Error::OutOfScope { kid: self.kid(), domain });
            }
        }
        let alg = self.public_key().algorithm();
        let mut card = Card {
            kid: self.kid(),
            alg,
            valid_from_day,
            valid_days,
            claims: claims.clone(),
            signature: [0; SIGNATURE_LEN],
        };
        let mut body = Writer::default();
        card.encode_body(&mut body)?;
        card.signature = self.sign_card(&printed_card_input(&subject, &body.buf))?;
        let mut w = Writer::with_capacity(16 + body.buf.len() + SIGNATURE_LEN);
        w.u8(FORMAT_VERSION).u8(PRINTED_DEVICE_ALG).bytes(&subject.0).u8(1);
        card.encode(&mut w)?;
        Ok(PrintedCode::from_bytes(&w.buf)?)
    }
}
