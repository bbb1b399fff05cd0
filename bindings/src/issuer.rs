//! The issuing backend: credentials, printed codes, batches.

use std::sync::Arc;

use citycode::claims as cc;

use crate::claims::{Claims, Relation};
use crate::errors::{CitycodeError, Result};
use crate::keys::SigningKey;

/// An issuing backend's key.
#[derive(uniffi::Object)]
pub struct Issuer {
    inner: citycode::Issuer,
}

#[uniffi::export]
impl Issuer {
    /// An issuer with key id `kid`, allowed to attest `domains` (ids, including future
    /// ones).
    #[uniffi::constructor]
    pub fn new(kid: u32, key: Arc<SigningKey>, domains: Vec<u32>) -> Result<Arc<Self>> {
        let pair = citycode::KeyPair::from_secret_bytes(key.inner.algorithm(), &key.inner.secret_bytes())?;
        Ok(Arc::new(Issuer { inner: citycode::Issuer::new(kid, pair, domains) }))
    }

    /// Signs a credential for the device key of `key_request`, which must be signed
    /// over `challenge`, the one this issuer gave the holder (SPEC.md §4.7; otherwise
    /// `bad_device_signature`); returns it as base64url for the holder to store.
    /// `card_sets` empty means the standard layout (a card per built-in scene with only
    /// what its policy reads, one per domain, and all domains: SPEC.md §11); otherwise
    /// each inner list of domain ids is a card of whole domains.
    #[uniffi::method(default(card_sets = []))]
    // Kotlin, Swift and Python callers name these arguments; a record would only add a
    // type to construct.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &self,
        key_request: Vec<u8>,
        challenge: Vec<u8>,
        subject: Vec<u8>,
        valid_from_day: u16,
        valid_days: u8,
        claims: Claims,
        card_sets: Vec<Vec<u32>>,
    ) -> Result<String> {
        let subject: [u8; 8] = subject.try_into().map_err(|_| CitycodeError::invalid("subject must be 8 bytes"))?;
        let device_key = citycode::KeyRequest::from_bytes(&key_request)?.verify(&challenge)?;
        let req = request(device_key, citycode::Subject(subject), valid_from_day, valid_days, claims, card_sets)?;
        Ok(self.inner.issue(&req)?.to_base64url()?)
    }

    /// Signs a dependant's credential to a guardian's device key (SPEC.md §4.9): the
    /// dependant's `claims`, the guardian's `key_request` over `challenge`, a fresh
    /// `subject` for this guardianship (revoke it to end the guardianship). Every card is
    /// marked as held by a guardian with this `relation`. Record the consent and keep
    /// each guardian to 5 dependants before calling.
    #[uniffi::method(default(card_sets = []))]
    #[allow(clippy::too_many_arguments)]
    pub fn issue_guardian(
        &self,
        key_request: Vec<u8>,
        challenge: Vec<u8>,
        subject: Vec<u8>,
        valid_from_day: u16,
        valid_days: u8,
        claims: Claims,
        relation: Relation,
        card_sets: Vec<Vec<u32>>,
    ) -> Result<String> {
        let subject: [u8; 8] = subject.try_into().map_err(|_| CitycodeError::invalid("subject must be 8 bytes"))?;
        let device_key = citycode::KeyRequest::from_bytes(&key_request)?.verify(&challenge)?;
        let req = request(device_key, citycode::Subject(subject), valid_from_day, valid_days, claims, card_sets)?;
        Ok(self.inner.issue_guardian(&req, relation.into())?.to_base64url()?)
    }

    /// Signs a printed code (SPEC.md §5.1) for a resident with no phone: `claims` must
    /// carry identity; valid `valid_days` (1 to 180) from `valid_from_day`; a fresh
    /// `subject` (revoke the old code's subject when reissuing). Returns its QR text;
    /// print it with `printed_card_pdf` (or `printed_card_svg`).
    pub fn issue_printed(
        &self,
        subject: Vec<u8>,
        valid_from_day: u16,
        valid_days: u8,
        claims: Claims,
    ) -> Result<String> {
        let subject: [u8; 8] = subject.try_into().map_err(|_| CitycodeError::invalid("subject must be 8 bytes"))?;
        let claims: cc::Claims = claims.try_into()?;
        let code = self.inner.issue_printed(
            citycode::Subject(subject),
            &claims,
            valid_from_day,
            valid_days,
            citycode::PRINTED_MAX_DAYS,
        )?;
        Ok(code.to_text())
    }

    /// Signs a batch of instances for unlinkable codes (SPEC.md §13): one per key
    /// request, each signed over `challenge` by its own device key, each with the same
    /// claims and a fresh random subject. 1 to 64 requests of at most 99 bytes each
    /// (the longest a key request can be), checked before any signature
    /// (`out_of_range`), so the work a caller can cause is bounded; then any request that
    /// fails its check fails the whole batch (with its reason), so nothing is
    /// half-issued. Keep the subjects to revoke the holder (`Revocation.Subject` for each).
    #[uniffi::method(default(card_sets = []))]
    pub fn issue_batch(
        &self,
        key_requests: Vec<Vec<u8>>,
        challenge: Vec<u8>,
        valid_from_day: u16,
        valid_days: u8,
        claims: Claims,
        card_sets: Vec<Vec<u32>>,
    ) -> Result<Vec<IssuedInstance>> {
        if key_requests.is_empty() || key_requests.len() > citycode::MAX_BATCH {
            let detail = format!("a batch holds 1 to {} key requests, not {}", citycode::MAX_BATCH, key_requests.len());
            return Err(citycode::Error::OutOfRange(detail).into());
        }
        let longest = max_key_request_len();
        if let Some(i) = key_requests.iter().position(|r| r.len() > longest) {
            let detail = format!("key request {i} is longer than {longest} bytes");
            return Err(citycode::Error::OutOfRange(detail).into());
        }
        // Every request parsed (cheap) before the first signature is checked.
        let requests = key_requests
            .iter()
            .map(|r| citycode::KeyRequest::from_bytes(r))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let keys = requests.iter().map(|r| r.verify(&challenge)).collect::<std::result::Result<Vec<_>, _>>()?;
        let first = keys.first().cloned().ok_or_else(|| CitycodeError::invalid("a batch needs a key request"))?;
        let template = request(first, citycode::Subject([0; 8]), valid_from_day, valid_days, claims, card_sets)?;
        self.inner
            .issue_batch(&template, None, &keys)?
            .into_iter()
            .map(|c| Ok(IssuedInstance { subject: c.subject.0.to_vec(), credential: c.to_base64url()? }))
            .collect()
    }
}

fn request(
    device_key: citycode::ProvenKey,
    subject: citycode::Subject,
    valid_from_day: u16,
    valid_days: u8,
    claims: Claims,
    card_sets: Vec<Vec<u32>>,
) -> Result<citycode::CredentialRequest> {
    Ok(citycode::CredentialRequest {
        device_key,
        subject,
        valid_from_day,
        valid_days,
        claims: claims.try_into()?,
        layout: if card_sets.is_empty() {
            citycode::CardLayout::Standard
        } else {
            citycode::CardLayout::Custom(card_sets)
        },
    })
}

/// The longest key request (SPEC.md §4.7): version, algorithm, the longest public key
/// of any algorithm, a signature. [`Issuer::issue_batch`] refuses a longer one before
/// checking any signature.
fn max_key_request_len() -> usize {
    let longest_key = citycode::Algorithm::ALL.iter().map(|a| a.public_key_len()).max().unwrap_or(0);
    2 + longest_key + citycode::keys::SIGNATURE_LEN
}

/// One instance of a batch, as the issuer returns it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct IssuedInstance {
    /// The credential for the holder (base64url), bound to one key of the batch.
    pub credential: String,
    /// Its random subject (8 bytes): the issuer keeps it to revoke the instance.
    pub subject: Vec<u8>,
}

/// A random pseudonymous subject id (8 bytes).
#[uniffi::export]
pub fn random_subject() -> Result<Vec<u8>> {
    Ok(citycode::Subject::random()?.0.to_vec())
}
