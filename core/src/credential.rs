//! Credentials: the issuer's signed cards, bound to one device key and subject.
//!
//! A credential is a set of *cards*. Each card is one issuer signature over a subset of
//! the holder's claims, the device key, the subject and a validity in days. A code
//! discloses claims by carrying a card that holds them; the issuer signs one card per
//! built-in scene with only the fields its policy reads (the hospital's card has the
//! insurance status but not the region), one per whole domain and one with every domain,
//! so every scene is served by one card and learns nothing else. SPEC.md §3 explains why
//! this beats salted digests for a QR code: nothing undisclosed is ever on the wire.

use serde::{Deserialize, Serialize};

use crate::alg;
use crate::claims::{Claims, DAY, Domain};
use crate::digest::{Input, signing_input};
use crate::error::{Error, Reason};
use crate::keys::{Algorithm, DeviceSigner, PublicKey, SIGNATURE_LEN};
use crate::policy::{Policy, PolicyView, Scene};
use crate::wire::{Reader, Writer};

/// Format version of codes and stored credentials.
pub const FORMAT_VERSION: u8 = 1;
/// Most cards one credential or one code may carry.
pub const MAX_CARDS: usize = 16;
/// A pseudonymous subject id: 8 random bytes the issuer assigns, never derived from a
/// national id number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(pub [u8; 8]);

impl Subject {
    /// A fresh random subject id.
    pub fn random() -> Result<Self, Error> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|_| Error::Random)?;
        Ok(Subject(b))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        crate::text::hex(&self.0)
    }
}

impl core::fmt::Debug for Subject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Subject({})", self.to_hex())
    }
}

/// One issuer-signed card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// Key id of the issuer key that signed it.
    pub kid: u32,
    /// The issuer signature algorithm; must equal the issuer key's.
    pub alg: Algorithm,
    /// First UTC day of validity (days since 1970-01-01).
    pub valid_from_day: u16,
    /// Number of days valid, 1 to 255: valid until the start of day
    /// `valid_from_day + valid_days`.
    pub valid_days: u8,
    /// The claims this card attests.
    pub claims: Claims,
    /// The issuer signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl Card {
    /// Seconds since 1970 at which validity starts.
    pub fn not_before(&self) -> u64 {
        u64::from(self.valid_from_day) * DAY
    }

    /// Seconds since 1970 at which validity ends (exclusive).
    pub fn not_after(&self) -> u64 {
        (u64::from(self.valid_from_day) + u64::from(self.valid_days)) * DAY
    }

    /// Appends the card body without its signature.
    pub(crate) fn encode_body(&self, w: &mut Writer) -> Result<(), Reason> {
        if self.valid_days == 0 {
            return Err(Reason::Malformed);
        }
        w.varint(self.kid).u8(self.alg.id()).u16(self.valid_from_day).u8(self.valid_days);
        self.claims.encode(w)
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), Reason> {
        self.encode_body(w)?;
        w.bytes(&self.signature);
        Ok(())
    }

    /// Reads one card; returns it and the bytes of its body (for the signing input).
    pub(crate) fn decode<'a>(r: &mut Reader<'a>) -> Result<(Card, &'a [u8]), Reason> {
        let start = r.remaining();
        let kid = r.varint()?;
        let alg = Algorithm::from_id(r.u8()?)?;
        let valid_from_day = r.u16()?;
        let valid_days = r.u8()?;
        if valid_days == 0 {
            return Err(Reason::Malformed);
        }
        let claims = Claims::decode(r)?;
        let body_len = start.len() - r.remaining().len();
        let body = start.get(..body_len).ok_or(Reason::Truncated)?;
        let signature = r.array::<SIGNATURE_LEN>()?;
        Ok((Card { kid, alg, valid_from_day, valid_days, claims, signature }, body))
    }
}

/// The issuer's signing input for a card: label, device key, subject, card body. A card
/// held by a guardian (its claims carry guardianship) has its own label (SPEC.md §4.4).
pub(crate) fn card_signing_input(device_key: &PublicKey, subject: &Subject, card: &Card, body: &[u8]) -> Vec<u8> {
    let input = if card.claims.guardian.is_some() { Input::GuardianCard } else { Input::Card };
    signing_input(input, &[&[device_key.algorithm().id()], &device_key.to_bytes(), &subject.0, body])
}

/// A code's cards as [`decode_cards`] reads them.
pub(crate) struct DecodedCards {
    pub(crate) cards: Vec<Card>,
    /// The bytes the issuer signed for each card.
    pub(crate) inputs: Vec<Vec<u8>>,
    /// Every card's claims, merged.
    pub(crate) claims: Claims,
}

/// Reads a code's card count (1 to [`MAX_CARDS`]) and its cards, each with the bytes
/// its issuer signed (`input` from the card and its body). Each card is checked as soon
/// as it has been read whole (SPEC.md §5): a domain disclosed by an earlier card, or
/// guardianship on some cards only or with another relation, is `malformed`; then
/// `check` (a printed code's own rules). Device-bound and printed codes differ only in
/// `input` and `check`.
pub(crate) fn decode_cards<E: From<Reason>>(
    r: &mut Reader<'_>,
    input: impl Fn(&Card, &[u8]) -> Vec<u8>,
    check: impl Fn(&Card) -> Result<(), E>,
) -> Result<DecodedCards, E> {
    let n = r.u8()?;
    if n == 0 || usize::from(n) > MAX_CARDS {
        return Err(Reason::Malformed.into());
    }
    let mut cards: Vec<Card> = Vec::with_capacity(usize::from(n));
    let mut inputs = Vec::with_capacity(usize::from(n));
    let mut all = Claims::default();
    for _ in 0..n {
        let (card, body) = Card::decode(r)?;
        // A guardian's code: every card says so, or none does (SPEC.md §4.3).
        if cards.first().is_some_and(|first| first.claims.guardian.is_some() != card.claims.guardian.is_some()) {
            return Err(Reason::Malformed.into());
        }
        // A domain may be disclosed by one card only; guardianship repeats, the same.
        all.merge(card.claims.clone())?;
        check(&card)?;
        inputs.push(input(&card, body));
        cards.push(card);
    }
    Ok(DecodedCards { cards, inputs, claims: all })
}

/// Every claim of `cards`, merged: the claims a code disclosed. Parsing refused a
/// domain in two cards, so merging cannot fail; it stops at the first failure anyway.
pub(crate) fn merged_claims(cards: &[Card]) -> Claims {
    let mut all = Claims::default();
    for c in cards {
        if all.merge(c.claims.clone()).is_err() {
            break;
        }
    }
    all
}

/// A card's revocation id: the first 16 bytes of the digest of its signing input, by
/// the algorithm of the device key it is bound to (SPEC.md §4.6).
pub(crate) fn card_id(device_alg: Algorithm, signing_input: &[u8]) -> [u8; 16] {
    alg::digest_16(device_alg, signing_input)
}

/// Everything a holder stores: the device public key, the subject and the cards. Holds
/// no secret; the device key's secret stays in the keystore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The device key every card is bound to.
    pub device_key: PublicKey,
    /// The pseudonymous subject.
    pub subject: Subject,
    /// The signed cards.
    pub cards: Vec<Card>,
}

impl Credential {
    /// The storage encoding: version, device key (alg id + bytes), subject, card count,
    /// cards. The same card encoding as in a code.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        if self.cards.is_empty() || self.cards.len() > MAX_CARDS {
            return Err(Error::OutOfRange(format!("a credential holds 1 to {MAX_CARDS} cards")));
        }
        let mut w = Writer::with_capacity(64 + 96 * self.cards.len());
        w.u8(FORMAT_VERSION).u8(self.device_key.algorithm().id()).bytes(&self.device_key.to_bytes());
        w.bytes(&self.subject.0).u8(self.cards.len() as u8);
        for c in &self.cards {
            c.encode(&mut w)?;
        }
        Ok(w.buf)
    }

    /// Decodes the storage encoding (signatures are checked by verifiers, not here).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        if r.u8()? != FORMAT_VERSION {
            return Err(Reason::UnsupportedVersion.into());
        }
        let alg = Algorithm::from_id(r.u8()?)?;
        let device_key = PublicKey::from_bytes(alg, r.take(alg.public_key_len())?)?;
        let subject = Subject(r.array()?);
        let n = r.u8()?;
        if n == 0 || usize::from(n) > MAX_CARDS {
            return Err(Reason::Malformed.into());
        }
        let cards = (0..n).map(|_| Card::decode(&mut r).map(|(c, _)| c)).collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(Credential { device_key, subject, cards })
    }

    /// Storage encoding as base64url, for JSON and HTTP.
    pub fn to_base64url(&self) -> Result<String, Error> {
        Ok(crate::text::encode_base64url(&self.to_bytes()?))
    }

    /// Decodes [`Credential::to_base64url`].
    pub fn from_base64url(text: &str) -> Result<Self, Error> {
        Credential::from_bytes(&crate::text::decode_base64url(text)?)
    }

    /// Picks the cards that disclose exactly `wanted` (domain ids), whole, if the
    /// credential allows it, preferring fewer cards, among cards valid at `now` (Unix
    /// seconds): one card with exactly those domains; else disjoint cards inside `wanted`
    /// that cover it; else the smallest single card holding all of them. Cards that
    /// withhold fields (a scene's card) serve only when no whole card does.
    pub fn select_cards(&self, wanted: &[u32], now: u64) -> Result<Vec<&Card>, Error> {
        self.select(Disclosure::Domains(wanted), now)
    }

    /// Picks the cards for a disclosure among cards valid at `now` (Unix seconds). For a
    /// scene: the card that is exactly the scene's view of itself (it holds only what the
    /// policy reads, [`PolicyView::view`]); else, as for domains, among the cards whose view
    /// keeps every wanted domain they hold (so a pass for another site never stands in).
    pub fn select<'d>(&self, disclosure: impl Into<Disclosure<'d>>, now: u64) -> Result<Vec<&Card>, Error> {
        // One body for every argument type: the generic part is only the conversion.
        self.select_disclosure(disclosure.into(), now)
    }

    fn select_disclosure(&self, disclosure: Disclosure<'_>, now: u64) -> Result<Vec<&Card>, Error> {
        let (mut wanted, policy) = match disclosure {
            Disclosure::Domains(ids) => (ids.to_vec(), None),
            Disclosure::Known(domains) => (domains.iter().copied().map(Domain::id).collect(), None),
            Disclosure::Scene(policy) => {
                (policy.required_domains().into_iter().map(Domain::id).collect(), Some(policy))
            }
        };
        wanted.sort_unstable();
        wanted.dedup();
        let missing = || Error::MissingDomain(describe(&wanted));
        if wanted.is_empty() {
            return Err(missing());
        }
        let mut valid: Vec<&Card> =
            self.cards.iter().filter(|c| c.not_before() <= now && now < c.not_after()).collect();
        if let Some(policy) = policy {
            let own = valid.iter().find(|c| {
                let view = scene_view(policy, &c.claims);
                view == c.claims && disclosed(&view) == wanted
            });
            if let Some(card) = own {
                return Ok(vec![card]);
            }
            valid.retain(|c| {
                let kept = disclosed(&scene_view(policy, &c.claims));
                disclosed(&c.claims).iter().all(|d| !wanted.contains(d) || kept.contains(d))
            });
        }
        // Whole domains where the credential has them (a scene's card withholds fields a
        // custom policy may read), else whatever holds the domains.
        let whole: Vec<&Card> = valid.iter().copied().filter(|c| !c.claims.withholds()).collect();
        cover(&whole, &wanted).or_else(|| cover(&valid, &wanted)).ok_or_else(missing)
    }
}

/// Cards that disclose exactly `wanted` (sorted ids), preferring fewer: one card with
/// exactly those domains; else disjoint cards inside `wanted` that cover it; else the
/// smallest single card holding all of them.
fn cover<'c>(cards: &[&'c Card], wanted: &[u32]) -> Option<Vec<&'c Card>> {
    if let Some(card) = cards.iter().find(|c| disclosed(&c.claims) == wanted) {
        return Some(vec![card]);
    }
    // Greedy exact cover by cards inside `wanted`, largest first.
    let mut inside: Vec<&Card> =
        cards.iter().copied().filter(|c| disclosed(&c.claims).iter().all(|d| wanted.contains(d))).collect();
    inside.sort_by_key(|c| core::cmp::Reverse(disclosed(&c.claims).len()));
    let mut covered: Vec<u32> = Vec::new();
    let mut chosen = Vec::new();
    for c in inside {
        let ids = disclosed(&c.claims);
        if ids.iter().all(|d| !covered.contains(d)) {
            covered.extend(ids);
            chosen.push(c);
        }
    }
    covered.sort_unstable();
    if covered == wanted && chosen.len() <= MAX_CARDS {
        return Some(chosen);
    }
    cards
        .iter()
        .copied()
        .filter(|c| {
            let ids = disclosed(&c.claims);
            wanted.iter().all(|d| ids.contains(d))
        })
        .min_by_key(|c| disclosed(&c.claims).len())
        .map(|c| vec![c])
}

/// The domains a card discloses about its holder: all but guardianship, which every card
/// of a guardian's credential carries (SPEC.md §4.4).
fn disclosed(claims: &Claims) -> Vec<u32> {
    let guardian = Domain::Guardian.id();
    claims.domain_ids().into_iter().filter(|&d| d != guardian).collect()
}

/// A policy's view of a card's claims, keeping the card's guardianship: a guardian's
/// card always says so.
fn scene_view(policy: &dyn PolicyView, claims: &Claims) -> Claims {
    let mut view = policy.view(claims);
    if !view.domain_ids().is_empty() {
        view.guardian = claims.guardian.clone();
    }
    view
}

/// What a code discloses: whole domains, or what a scene's policy reads.
#[derive(Clone, Copy)]
pub enum Disclosure<'a> {
    /// These domains (ids), whole: for an application's own scenes, and domains this
    /// version does not know.
    Domains(&'a [u32]),
    /// These domains, whole: what [`Policy::required_domains`] asks for.
    Known(&'a [Domain]),
    /// What the policy reads ([`PolicyView::view`]): the built-in scenes' cards withhold
    /// the fields their policy does not read (SPEC.md §11).
    Scene(&'a dyn PolicyView),
}

impl core::fmt::Debug for Disclosure<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Disclosure::Domains(ids) => f.debug_tuple("Domains").field(ids).finish(),
            Disclosure::Known(domains) => f.debug_tuple("Known").field(domains).finish(),
            Disclosure::Scene(policy) => f.debug_tuple("Scene").field(&policy.name()).finish(),
        }
    }
}

impl<'a> From<&'a [u32]> for Disclosure<'a> {
    fn from(ids: &'a [u32]) -> Self {
        Disclosure::Domains(ids)
    }
}

impl<'a, const N: usize> From<&'a [u32; N]> for Disclosure<'a> {
    fn from(ids: &'a [u32; N]) -> Self {
        Disclosure::Domains(ids)
    }
}

impl<'a> From<&'a Vec<u32>> for Disclosure<'a> {
    fn from(ids: &'a Vec<u32>) -> Self {
        Disclosure::Domains(ids)
    }
}

impl<'a> From<&'a [Domain]> for Disclosure<'a> {
    fn from(domains: &'a [Domain]) -> Self {
        Disclosure::Known(domains)
    }
}

impl<'a, const N: usize> From<&'a [Domain; N]> for Disclosure<'a> {
    fn from(domains: &'a [Domain; N]) -> Self {
        Disclosure::Known(domains)
    }
}

impl<'a> From<&'a Vec<Domain>> for Disclosure<'a> {
    fn from(domains: &'a Vec<Domain>) -> Self {
        Disclosure::Known(domains)
    }
}

impl<'a> From<&'a Scene> for Disclosure<'a> {
    fn from(scene: &'a Scene) -> Self {
        Disclosure::Scene(scene)
    }
}

impl<'a> From<&'a dyn PolicyView> for Disclosure<'a> {
    fn from(policy: &'a dyn PolicyView) -> Self {
        Disclosure::Scene(policy)
    }
}

fn describe(ids: &[u32]) -> String {
    ids.iter()
        .map(|&id| Domain::from_id(id).map(|d| d.to_string()).unwrap_or_else(|| format!("domain {id}")))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Which cards the issuer signs.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardLayout {
    /// One card per domain; one per built-in scene the holder can use, holding only what
    /// its policy reads (hospital, metro gate, parking, and a scenic spot per tourism
    /// site: SPEC.md §11); and one with every domain when there is room (at most
    /// [`MAX_CARDS`] cards). Equal cards are signed once.
    #[default]
    Standard,
    /// Exactly these domain sets (ids), each a card of whole domains.
    Custom(Vec<Vec<u32>>),
}

impl CardLayout {
    /// The claims of each card to sign.
    fn cards(&self, claims: &Claims) -> Result<Vec<Claims>, Error> {
        let mut cards: Vec<Claims> = Vec::new();
        // Every card of a guardian's credential says so (and is signed under its label);
        // a card that would disclose nothing else is not signed, nor one signed already.
        let add = |cards: &mut Vec<Claims>, mut c: Claims| {
            c.guardian = claims.guardian.clone();
            if !disclosed(&c).is_empty() && !cards.contains(&c) {
                cards.push(c);
            }
        };
        match self {
            CardLayout::Standard => {
                let all = disclosed(claims);
                for &d in &all {
                    add(&mut cards, claims.select(&[d]).ok_or_else(|| Error::MissingDomain(describe(&[d])))?);
                }
                let mut sites: Vec<u32> =
                    claims.tourism.iter().flat_map(|t| t.entries.iter().map(|e| e.site)).collect();
                sites.sort_unstable();
                sites.dedup();
                let mut scenes = vec![Scene::Hospital, Scene::MetroGate, Scene::Parking, Scene::HotelCheckIn];
                scenes.extend(sites.into_iter().map(|site| Scene::ScenicSpot { site, utc_offset_minutes: 0 }));
                for scene in scenes {
                    let view = scene.view(claims);
                    if view.domain_ids().into_iter().eq(scene.required_domains().into_iter().map(Domain::id)) {
                        add(&mut cards, view);
                    }
                }
                if all.len() > 1 && cards.len() < MAX_CARDS {
                    add(&mut cards, claims.clone());
                }
            }
            CardLayout::Custom(sets) => {
                for set in sets {
                    add(&mut cards, claims.select(set).ok_or_else(|| Error::MissingDomain(describe(set)))?);
                }
            }
        }
        Ok(cards)
    }
}

/// What the issuer is asked to sign.
#[derive(Clone, Debug)]
pub struct CredentialRequest {
    /// The holder's device key, proven by a [`crate::KeyRequest`] over this issuer's
    /// challenge.
    pub device_key: crate::ProvenKey,
    /// The pseudonymous subject.
    pub subject: Subject,
    /// First UTC day of validity.
    pub valid_from_day: u16,
    /// Days of validity, 1 to 255.
    pub valid_days: u8,
    /// All of the holder's claims.
    pub claims: Claims,
    /// Which cards to sign.
    pub layout: CardLayout,
}

/// An issuer: a signing key with its key id and the domains the trust list lets it
/// attest.
pub struct Issuer {
    kid: u32,
    key: Box<dyn DeviceSigner + Send + Sync>,
    scope: Vec<u32>,
}

impl core::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuer")
            .field("kid", &self.kid)
            .field("key", &self.key.public_key())
            .field("secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

impl Issuer {
    /// An issuer with key id `kid`, allowed to attest `scope` (domain ids), signing with
    /// `key`: a [`crate::KeyPair`], or a certified signing device behind [`DeviceSigner`] that
    /// holds the issuer key (signatures in DER or `r || s`, checked before use).
    pub fn new(kid: u32, key: impl DeviceSigner + Send + Sync + 'static, scope: Vec<u32>) -> Self {
        Issuer { kid, key: Box::new(key), scope }
    }

    /// The key id.
    pub fn kid(&self) -> u32 {
        self.kid
    }

    /// The public key, for the trust list.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The domains this issuer may attest.
    pub fn scope(&self) -> &[u32] {
        &self.scope
    }

    /// Signs a card's signing input with the issuer key.
    pub(crate) fn sign_card(&self, input: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
        crate::keys::signature_by(&*self.key, input)
    }

    /// Signs the cards of a credential. Refuses domains outside the issuer's scope.
    pub fn issue(&self, req: &CredentialRequest) -> Result<Credential, Error> {
        let (cards, inputs) = self.unsigned_cards(req)?;
        let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let signatures = crate::keys::signatures_by(&*self.key, &inputs)?;
        Ok(Credential::signed(req, cards, signatures))
    }

    /// Signs the cards of several credentials with one [`crate::keys::signatures_by`]
    /// call, so that a signer with several sessions (a PKCS#11 token) signs them
    /// concurrently. All or nothing.
    pub(crate) fn issue_all(&self, reqs: &[CredentialRequest]) -> Result<Vec<Credential>, Error> {
        let mut unsigned = Vec::with_capacity(reqs.len());
        for req in reqs {
            unsigned.push(self.unsigned_cards(req)?);
        }
        let inputs: Vec<&[u8]> = unsigned.iter().flat_map(|(_, inputs)| inputs.iter().map(Vec::as_slice)).collect();
        let mut signatures = crate::keys::signatures_by(&*self.key, &inputs)?.into_iter();
        Ok(reqs
            .iter()
            .zip(unsigned)
            .map(|(req, (cards, _))| {
                let mine: Vec<[u8; SIGNATURE_LEN]> = signatures.by_ref().take(cards.len()).collect();
                Credential::signed(req, cards, mine)
            })
            .collect())
    }

    /// A request's cards, their signatures still zero, and each card's signing input.
    fn unsigned_cards(&self, req: &CredentialRequest) -> Result<(Vec<Card>, Vec<Vec<u8>>), Error> {
        let device_key = req.device_key.public_key();
        if req.valid_days == 0 {
            return Err(Error::OutOfRange("valid_days must be 1 to 255".into()));
        }
        req.claims.validate()?;
        for id in req.claims.domain_ids() {
            if !self.scope.contains(&id) {
                return Err(Error::OutOfScope { kid: self.kid, domain: describe(&[id]) });
            }
        }
        let views = req.layout.cards(&req.claims)?;
        if views.is_empty() || views.len() > MAX_CARDS {
            return Err(Error::OutOfRange(format!("a credential holds 1 to {MAX_CARDS} cards")));
        }
        let alg = self.key.public_key().algorithm();
        let mut cards = Vec::with_capacity(views.len());
        let mut inputs = Vec::with_capacity(views.len());
        for claims in views {
            let card = Card {
                kid: self.kid,
                alg,
                valid_from_day: req.valid_from_day,
                valid_days: req.valid_days,
                claims,
                signature: [0; SIGNATURE_LEN],
            };
            let mut body = Writer::default();
            card.encode_body(&mut body)?;
            inputs.push(card_signing_input(device_key, &req.subject, &card, &body.buf));
            cards.push(card);
        }
        Ok((cards, inputs))
    }
}

impl Credential {
    /// The credential of `req` from its cards and their signatures, in order.
    fn signed(req: &CredentialRequest, mut cards: Vec<Card>, signatures: Vec<[u8; SIGNATURE_LEN]>) -> Credential {
        for (card, signature) in cards.iter_mut().zip(signatures) {
            card.signature = signature;
        }
        Credential { device_key: req.device_key.public_key().clone(), subject: req.subject, cards }
    }
}
