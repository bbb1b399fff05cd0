//! Printed codes (SPEC.md §5.1): a long-lived static code on paper for a resident with
//! no phone (an elder, a child, a person with a disability), valid up to
//! [`PRINTED_MAX_DAYS`] days. No device signs it, so anyone holding a copy can show it:
//! it always carries the identity domain, only scenes whose policy allows printed codes
//! (a staffed counter, never an unattended gate) accept it, and the verdict tells the
//! staff to check the person's identity document against it. Reissuing one cancels the
//! old one through the revocation list (its subject).

use crate::alg;
use crate::claims::{Claims, Domain};
use crate::credential::{Card, DecodedCards, FORMAT_VERSION, Issuer, Subject, decode_cards, merged_claims};
use crate::digest::{Input, signing_input};
use crate::error::{Error, Reason, Rejection};
use crate::keys::SIGNATURE_LEN;
use crate::policy::{PolicyView, Scene};
use crate::text;
use crate::wire::{Reader, Writer};

/// The `device_alg` byte of a printed code: no device key.
pub(crate) const PRINTED_DEVICE_ALG: u8 = 0;
/// Longest validity of a printed code's card, in days (Shanghai's offline code for
/// elders and children: 180 days). Issuers give no more, and verifiers refuse a card
/// valid longer (`malformed`, SPEC.md §5.1).
pub const PRINTED_MAX_DAYS: u8 = 180;

/// The built-in scenes that accept printed codes (SPEC.md §11): staffed counters.
/// `printed_view` is the union of their views.
pub const STAFFED_SCENES: [Scene; 2] = [Scene::Hospital, Scene::HotelCheckIn];

/// What a printed code may carry of `claims` (SPEC.md §5.1): the union of the views of
/// the scenes that accept printed codes ([`STAFFED_SCENES`]): health, the medical
/// insurance status (its region withheld) and identity. A printed code is shown whole at
/// every staffed desk for up to 180 days and cannot choose a card per scene, so it
/// carries only what those desks read: a hotel never learns social security, a fare
/// class or the insurance region from it.
pub(crate) fn printed_view(claims: &Claims) -> Claims {
    let mut view = Claims::default();
    for scene in &STAFFED_SCENES {
        // The staffed scenes read disjoint domains, so merging cannot fail.
        if view.merge(scene.view(claims)).is_err() {
            return Claims::default();
        }
    }
    view
}

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
    signing_input(Input::PrintedCard, &[&[PRINTED_DEVICE_ALG], &subject.0, body])
}

impl PrintedCode {
    /// Whether `bytes` (a decoded code) is a printed code: its `device_alg` byte is 0.
    pub fn is_printed(bytes: &[u8]) -> bool {
        bytes.get(1) == Some(&PRINTED_DEVICE_ALG)
    }

    /// Parses the binary encoding; rejects non-canonical forms and trailing bytes, and
    /// (`malformed`) a printed code without identity, with guardianship, carrying more
    /// than `printed_view`, or with a card valid more than [`PRINTED_MAX_DAYS`] days.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        PrintedCode::parse(bytes)
    }

    /// Parses QR text.
    pub fn from_text(text: &str) -> Result<Self, Rejection> {
        let bytes = text::decode_text(text).map_err(|r| Rejection::new(r, "QR text"))?;
        PrintedCode::from_bytes(&bytes)
    }

    fn parse(bytes: &[u8]) -> Result<Self, Rejection> {
        let structure = |r: Reason| Rejection::new(r, "printed code structure");
        let mut r = Reader::new(bytes);
        if r.u8().map_err(structure)? != FORMAT_VERSION {
            return Err(structure(Reason::UnsupportedVersion));
        }
        if r.u8().map_err(structure)? != PRINTED_DEVICE_ALG {
            return Err(structure(Reason::Malformed));
        }
        let subject = Subject(r.array().map_err(structure)?);
        let malformed = |why: String| Rejection::new(Reason::Malformed, format!("printed code: {why}"));
        // Each card when it has been read whole (SPEC.md §5.1, in §5's order).
        let check = |card: &Card| {
            // The staff check a person against it: never a guardian's.
            if card.claims.guardian.is_some() {
                return Err(malformed("it carries guardianship".into()));
            }
            // Only what the staffed scenes read.
            if printed_view(&card.claims) != card.claims {
                return Err(malformed(
                    "it carries more than the staffed scenes read (health, insurance status, identity)".into(),
                ));
            }
            if card.valid_days > PRINTED_MAX_DAYS {
                return Err(malformed(format!("a card valid {} days; at most {PRINTED_MAX_DAYS}", card.valid_days)));
            }
            Ok(())
        };
        let DecodedCards { cards, inputs: card_inputs, claims: all } =
            decode_cards(&mut r, |_, body| printed_card_input(&subject, body), check)
                .map_err(|e: Rejection| if e.detail.is_empty() { structure(e.reason) } else { e })?;
        // Identity always, known after the last card and before any byte after it.
        if all.identity.is_none() {
            return Err(malformed("it must carry identity".into()));
        }
        r.finish().map_err(structure)?;
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
        alg::digest_16(alg, self.card_input(i))
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
    /// Signs a printed code: one card holding what the staffed scenes read of `claims`
    /// (`printed_view`: health, the insurance status, identity; the rest of `claims` is
    /// left out), which must carry identity and no guardianship, valid `valid_days` from
    /// `valid_from_day`: 1 to `max_days`, a city's own cap, at most [`PRINTED_MAX_DAYS`]
    /// (verifiers refuse longer). [`PrintedCode::cards`] shows what was signed. Use a
    /// fresh subject for each code, and revoke the previous code's subject when reissuing
    /// (a lost card, a changed claim).
    pub fn issue_printed(
        &self,
        subject: Subject,
        claims: &Claims,
        valid_from_day: u16,
        valid_days: u8,
        max_days: u8,
    ) -> Result<PrintedCode, Error> {
        let max_days = max_days.min(PRINTED_MAX_DAYS);
        if valid_days == 0 || valid_days > max_days {
            return Err(Error::OutOfRange(format!("a printed code is valid 1 to {max_days} days")));
        }
        if claims.identity.is_none() || claims.guardian.is_some() {
            return Err(Error::OutOfRange(
                "a printed code carries its holder's identity, for the staff to check, and is not a guardian's".into(),
            ));
        }
        let claims = &printed_view(claims);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{
        AccountStatus, FareClass, Health, HealthStatus, InsuranceStatus, MedicalInsurance, SocialSecurity,
        SocialSecurityStatus, Transit,
    };
    use crate::keys::{Algorithm, KeyPair};

    #[test]
    fn the_staffed_scenes_are_the_built_in_scenes_that_accept_printed_codes() {
        let all = [
            Scene::Hospital,
            Scene::ScenicSpot { site: 1, utc_offset_minutes: 480 },
            Scene::Parking,
            Scene::MetroGate,
            Scene::HotelCheckIn,
        ];
        let staffed: Vec<Scene> = all.into_iter().filter(crate::Policy::accepts_printed).collect();
        assert_eq!(staffed, STAFFED_SCENES);
    }

    fn identity() -> crate::claims::Identity {
        crate::claims::Identity::with_salt("张小明", "11010519491231002X", crate::claims::IdDigest::Sha256, [3; 16])
            .unwrap()
    }

    /// A printed code of one card holding `claims`, valid `days`, validly signed by
    /// `issuer` (kid 1) whatever it holds: what a careless or old issuer could sign.
    fn signed(issuer: &KeyPair, claims: &Claims, days: u8) -> Vec<u8> {
        let mut card = Card {
            kid: 1,
            alg: Algorithm::Ed25519,
            valid_from_day: 20_000,
            valid_days: days,
            claims: claims.clone(),
            signature: [0; SIGNATURE_LEN],
        };
        let subject = Subject([5; 8]);
        let mut body = Writer::default();
        card.encode_body(&mut body).unwrap();
        card.signature = issuer.sign(&printed_card_input(&subject, &body.buf));
        let mut w = Writer::default();
        w.u8(FORMAT_VERSION).u8(PRINTED_DEVICE_ALG).bytes(&subject.0).u8(1);
        card.encode(&mut w).unwrap();
        w.buf
    }

    #[test]
    fn a_printed_code_carries_only_what_staffed_scenes_read_for_at_most_180_days() {
        let issuer = KeyPair::generate(Algorithm::Ed25519).unwrap();
        let union = Claims {
            health: Some(Health { status: HealthStatus::Green, valid_until_day: 20_100 }),
            medical_insurance: Some(MedicalInsurance { region: None, status: Some(InsuranceStatus::Active) }),
            identity: Some(identity()),
            ..Claims::default()
        };
        assert_eq!(printed_view(&union), union);
        assert!(PrintedCode::from_bytes(&signed(&issuer, &union, 180)).is_ok());
        let id_only = Claims { identity: Some(identity()), ..Claims::default() };
        assert!(PrintedCode::from_bytes(&signed(&issuer, &id_only, 1)).is_ok());
        // One day more, the insurance region, social security: refused when parsed.
        let refused = |claims: &Claims, days| PrintedCode::from_bytes(&signed(&issuer, claims, days)).unwrap_err();
        let long = refused(&union, 181);
        assert_eq!(long.reason, Reason::Malformed);
        assert!(long.detail.contains("181 days"), "{}", long.detail);
        let region = Claims {
            medical_insurance: Some(MedicalInsurance { region: Some(310_000), status: Some(InsuranceStatus::Active) }),
            ..union.clone()
        };
        let social =
            Claims { social_security: Some(SocialSecurity { status: SocialSecurityStatus::Retired }), ..union.clone() };
        for over in [region, social] {
            let err = refused(&over, 30);
            assert_eq!(err.reason, Reason::Malformed);
            assert!(err.detail.contains("more than the staffed scenes read"), "{}", err.detail);
        }
    }

    #[test]
    fn the_issuer_signs_only_the_printed_view_and_never_beyond_180_days() {
        let key = KeyPair::generate(Algorithm::Ed25519).unwrap();
        let issuer = Issuer::new(1, key, (1..=7).collect());
        let everything = Claims {
            health: Some(Health { status: HealthStatus::Yellow, valid_until_day: 20_100 }),
            medical_insurance: Some(MedicalInsurance { region: Some(310_000), status: Some(InsuranceStatus::Active) }),
            social_security: Some(SocialSecurity { status: SocialSecurityStatus::Retired }),
            transit: Some(Transit {
                account: Some(AccountStatus::Active),
                fare_class: Some(FareClass::SeniorFree),
                vehicle_payment: Some(true),
            }),
            identity: Some(identity()),
            ..Claims::default()
        };
        let code = issuer.issue_printed(Subject([6; 8]), &everything, 20_000, 180, 180).unwrap();
        let signed = code.untrusted_claims();
        assert_eq!(signed, printed_view(&everything));
        assert_eq!(signed.domain_ids(), vec![1, 2, 6]);
        assert_eq!(signed.medical_insurance.and_then(|m| m.region), None);
        // A city's own cap may be lower, never higher.
        assert!(issuer.issue_printed(Subject([6; 8]), &everything, 20_000, 181, 255).is_err());
        assert!(issuer.issue_printed(Subject([6; 8]), &everything, 20_000, 31, 30).is_err());
    }
}
