//! Domains and their claims: small typed values with a compact, canonical encoding.
//!
//! Each domain has a numeric id. A card's claims are a list of `(domain id, length,
//! body)` entries in strictly increasing id order; a verifier that does not know a
//! domain id keeps its body as opaque bytes ([`OtherClaim`]), so new domains never break
//! old verifiers.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::wire::{Reader, Writer};

/// Seconds in a day: claims, cards and policies count dates in days since 1970-01-01.
pub(crate) const DAY: u64 = 86_400;

/// A credential domain of format version 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Health status (id 1).
    Health,
    /// Medical insurance (id 2).
    MedicalInsurance,
    /// Social security (id 3).
    SocialSecurity,
    /// Transit account (id 4).
    Transit,
    /// Tourism passes and reservations (id 5).
    Tourism,
    /// Identity for real-name scenes (id 6): the name, and a salted commitment to the
    /// identity document's number.
    Identity,
    /// Guardianship (id 7): the card is held by a guardian, on the guardian's device key.
    Guardian,
}

impl Domain {
    /// Every domain of version 1, in id order.
    pub const ALL: [Domain; 7] = [
        Domain::Health,
        Domain::MedicalInsurance,
        Domain::SocialSecurity,
        Domain::Transit,
        Domain::Tourism,
        Domain::Identity,
        Domain::Guardian,
    ];

    /// The five status domains a resident's credential carries (ids 1 to 5).
    pub const STATUS: [Domain; 5] =
        [Domain::Health, Domain::MedicalInsurance, Domain::SocialSecurity, Domain::Transit, Domain::Tourism];

    /// The domain id on the wire.
    pub const fn id(self) -> u32 {
        match self {
            Domain::Health => 1,
            Domain::MedicalInsurance => 2,
            Domain::SocialSecurity => 3,
            Domain::Transit => 4,
            Domain::Tourism => 5,
            Domain::Identity => 6,
            Domain::Guardian => 7,
        }
    }

    /// The domain with this id, if version 1 defines it.
    pub fn from_id(id: u32) -> Option<Domain> {
        Domain::ALL.into_iter().find(|d| d.id() == id)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Domain::Health => "health",
            Domain::MedicalInsurance => "medical_insurance",
            Domain::SocialSecurity => "social_security",
            Domain::Transit => "transit",
            Domain::Tourism => "tourism",
            Domain::Identity => "identity",
            Domain::Guardian => "guardian",
        })
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The value's byte on the wire.
            pub const fn to_byte(self) -> u8 {
                match self { $($name::$variant => $value),+ }
            }
            /// The value for a byte; values this version does not define are malformed.
            pub fn from_byte(b: u8) -> Result<Self, Reason> {
                match b { $($value => Ok($name::$variant),)+ _ => Err(Reason::Malformed) }
            }
            /// The value's name in JSON and SPEC.md (snake_case).
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

wire_enum!(
    /// Health code colour.
    HealthStatus { /// No restriction.
        Green = 1 => "green", /// Restricted (for example, pending a test).
        Yellow = 2 => "yellow", /// Must not enter public venues.
        Red = 3 => "red" }
);
wire_enum!(
    /// State of a medical insurance card.
    InsuranceStatus { /// Insured and usable.
        Active = 1 => "active", /// Temporarily not usable (for example, contributions overdue).
        Suspended = 2 => "suspended", /// Ended.
        Terminated = 3 => "terminated" }
);
wire_enum!(
    /// Social security standing.
    SocialSecurityStatus { /// Contributing.
        Contributing = 1 => "contributing", /// Drawing a pension.
        Retired = 2 => "retired", /// Contributions suspended.
        Suspended = 3 => "suspended" }
);
wire_enum!(
    /// Transit account standing.
    AccountStatus { /// In good standing.
        Active = 1 => "active", /// Unpaid fares.
        Arrears = 2 => "arrears", /// Blocked.
        Suspended = 3 => "suspended" }
);
wire_enum!(
    /// Fare class of a transit account.
    FareClass { /// Full fare.
        Standard = 1 => "standard", /// Senior citizen, free ride.
        SeniorFree = 2 => "senior_free", /// Student discount.
        Student = 3 => "student", /// Disability, free ride.
        DisabledFree = 4 => "disabled_free", /// Child fare.
        Child = 5 => "child" }
);
wire_enum!(
    /// How a guardian is related to the dependant whose card they hold.
    Relation { /// The dependant's parent.
        Parent = 1 => "parent", /// The dependant's child (an elder's son or daughter).
        Child = 2 => "child", /// The dependant's spouse.
        Spouse = 3 => "spouse", /// Another relative.
        Relative = 4 => "relative", /// A guardian appointed by law or a court.
        LegalGuardian = 5 => "legal_guardian" }
);
wire_enum!(
    /// The digest of an identity commitment.
    IdDigest { /// SHA-256.
        Sha256 = 1 => "sha256", /// SM3 (GM/T 0004), for GM-only cities.
        Sm3 = 2 => "sm3" }
);
wire_enum!(
    /// Kind of a tourism entry.
    TourismKind { /// A pass for the site, valid through `day` inclusive.
        Pass = 1 => "pass", /// A reservation for the site on `day`.
        Reservation = 2 => "reservation" }
);

/// Health domain claims. Body: status (1 byte), valid-until day (u16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Code colour.
    pub status: HealthStatus,
    /// Last UTC day (days since 1970-01-01) the status holds.
    pub valid_until_day: u16,
}

/// Medical insurance claims. Body: region (varint, 0 = withheld), status (1 byte, 0 =
/// withheld). A card may withhold either field, not both (SPEC.md §4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicalInsurance {
    /// Insured region as a 6-digit administrative division code (GB/T 2260); `None` when
    /// the card withholds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<u32>,
    /// Card state; `None` when the card withholds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<InsuranceStatus>,
}

/// Social security claims. Body: status (1 byte).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialSecurity {
    /// Standing.
    pub status: SocialSecurityStatus,
}

/// Transit claims. Body: account (1 byte, 0 = withheld), fare class (1 byte, 0 =
/// withheld), flags (1 byte: 0 vehicle payment off, 1 on, 2 withheld). A card may
/// withhold any fields but not all three (SPEC.md §4.3): a parking card carries no fare
/// class, a metro card no vehicle payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transit {
    /// Account standing; `None` when withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountStatus>,
    /// Fare class; `None` when withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fare_class: Option<FareClass>,
    /// Whether the account pays for parking and vehicle services; `None` when withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle_payment: Option<bool>,
}

/// The byte of an optional enum field: its value, or 0 when withheld.
fn opt_byte(value: Option<u8>) -> u8 {
    value.unwrap_or(0)
}

/// An optional enum field from its byte: 0 is withheld, anything else must be a value.
fn from_opt_byte<T>(b: u8, from: fn(u8) -> Result<T, Reason>) -> Result<Option<T>, Reason> {
    if b == 0 { Ok(None) } else { from(b).map(Some) }
}

/// One tourism pass or reservation. Body: kind (1 byte), site (varint), day (u16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TourismEntry {
    /// Pass or reservation.
    pub kind: TourismKind,
    /// Scenic site id, assigned by the city.
    pub site: u32,
    /// A local calendar day (days since 1970-01-01 in the site's time zone): the last
    /// valid day of a pass, or the day of a reservation.
    pub day: u16,
}

/// Tourism claims. Body: count (1 byte, 1 to 8), then entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tourism {
    /// Passes and reservations.
    pub entries: Vec<TourismEntry>,
}

/// The transit `flags` byte of a card that withholds vehicle payment.
const FLAGS_VEHICLE_WITHHELD: u8 = 2;

/// Identity claims for real-name scenes (hotel check-in, printed codes). Body: digest
/// (1 byte), salt (16), commitment (16), name length (1 byte, 1 to 64), name (UTF-8).
/// The identity document's number is never in a code: a terminal with an ID-card reader
/// checks the card's number against the commitment ([`Identity::matches`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The holder's name as on the identity document.
    pub name: String,
    /// The digest of the commitment.
    pub digest: IdDigest,
    /// A random salt, fresh for every credential (hex in JSON).
    #[serde(with = "hex_array")]
    pub salt: [u8; 16],
    /// `H^16384` of the label, the salt and the number, first 16 bytes (SPEC.md §4.3; hex).
    #[serde(with = "hex_array")]
    pub commitment: [u8; 16],
}

impl IdDigest {
    /// The commitment digest that goes with a signing key's algorithm (SPEC.md §4.6):
    /// SM3 for SM2, so that a GM-only city's identities are SM3 (a GM-only verifier
    /// refuses SHA-256 ones); SHA-256 otherwise.
    pub fn for_key(alg: crate::Algorithm) -> IdDigest {
        match alg {
            crate::Algorithm::Sm2Sm3 => IdDigest::Sm3,
            crate::Algorithm::Ed25519 | crate::Algorithm::EcdsaP256Sha256 => IdDigest::Sha256,
        }
    }
}

/// Longest name, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Rounds of the identity commitment: each guess at a number costs a verifier that
/// tries to recover it this many digests.
pub const ID_COMMITMENT_ROUNDS: u32 = 16_384;

impl Identity {
    /// The identity claim for `name` and document number `number`, with a fresh salt.
    pub fn commit(name: &str, number: &str, digest: IdDigest) -> Result<Identity, crate::Error> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| crate::Error::Random)?;
        Identity::with_salt(name, number, digest, salt)
    }

    /// As [`Identity::commit`] with a given salt (test vectors).
    pub fn with_salt(name: &str, number: &str, digest: IdDigest, salt: [u8; 16]) -> Result<Identity, crate::Error> {
        let commitment = commitment(digest, &salt, number)?;
        let identity = Identity { name: name.to_string(), digest, salt, commitment };
        identity
            .validate()
            .map_err(|_| crate::Error::OutOfRange("a name is 1 to 64 UTF-8 bytes, no control characters".into()))?;
        Ok(identity)
    }

    /// Whether `number`, as read from the identity document, is the committed one.
    /// `out_of_range` for a number that is not 1 to 32 letters and digits; `Invalid
    /// (unsupported_algorithm)` for SM3 in a build without feature `sm2`.
    pub fn matches(&self, number: &str) -> Result<bool, crate::Error> {
        let c = commitment(self.digest, &self.salt, number)?;
        // Not secret-dependent timing in any way that matters (the commitment is
        // public), but compare all bytes anyway.
        Ok(c.iter().zip(self.commitment.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    }

    /// The name with every character but the first and the last masked (`张*明`,
    /// `J********h`; a two-character name keeps its first): for printed cards and screens
    /// that show who a code is for without spelling the name out.
    pub fn masked_name(&self) -> String {
        mask_name(&self.name)
    }

    fn validate(&self) -> Result<(), Reason> {
        if self.name.is_empty() || self.name.len() > MAX_NAME_BYTES || self.name.chars().any(char::is_control) {
            return Err(Reason::Malformed);
        }
        Ok(())
    }
}

/// An identity document as an issuer holds it: the name and the number, from which
/// every credential gets a commitment of its own, with a fresh salt
/// ([`IdentityDocument::commit`]). Batch issuance takes this, never a finished
/// [`Identity`], so no two instances of a batch share a salt or a commitment (SPEC.md
/// §4.8). The number is zeroized on drop and never shown by `Debug`.
#[derive(Clone)]
pub struct IdentityDocument {
    name: String,
    number: zeroize::Zeroizing<String>,
    digest: IdDigest,
}

impl fmt::Debug for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityDocument")
            .field("name", &mask_name(&self.name))
            .field("number", &"<redacted>")
            .field("digest", &self.digest)
            .finish()
    }
}

impl IdentityDocument {
    /// The document of `name` with number `number` (1 to 32 letters and digits), to be
    /// committed with `digest` (SM3 in a GM-only city). `out_of_range` for a name or
    /// number outside the rules of SPEC.md §4.3.
    pub fn new(name: &str, number: &str, digest: IdDigest) -> Result<Self, crate::Error> {
        let normalised = zeroize::Zeroizing::new(normalise_number(number)?);
        let number = zeroize::Zeroizing::new(String::from_utf8_lossy(&normalised).into_owned());
        let document = IdentityDocument { name: name.to_string(), number, digest };
        Identity { name: document.name.clone(), digest, salt: [0; 16], commitment: [0; 16] }
            .validate()
            .map_err(|_| crate::Error::OutOfRange("a name is 1 to 64 UTF-8 bytes, no control characters".into()))?;
        Ok(document)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The digest its commitments use.
    pub fn digest(&self) -> IdDigest {
        self.digest
    }

    /// A fresh identity claim: a new random salt and the commitment under it (16,384
    /// digests, SPEC.md §4.3). Every call gives an unrelated salt and commitment.
    pub fn commit(&self) -> Result<Identity, crate::Error> {
        Identity::commit(&self.name, &self.number, self.digest)
    }
}

/// See [`Identity::masked_name`].
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [only] => only.to_string(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            let mut out = String::with_capacity(name.len());
            out.push(*first);
            out.extend(middle.iter().map(|c| if c.is_whitespace() { *c } else { '*' }));
            out.push(*last);
            out
        }
    }
}

/// The normalised document number: ASCII letters upper-cased, 1 to 32 letters and
/// digits.
fn normalise_number(number: &str) -> Result<Vec<u8>, crate::Error> {
    let n: Vec<u8> = number.trim().bytes().map(|b| b.to_ascii_uppercase()).collect();
    if n.is_empty() || n.len() > 32 || !n.iter().all(u8::is_ascii_alphanumeric) {
        return Err(crate::Error::OutOfRange("an identity document number is 1 to 32 letters and digits".into()));
    }
    Ok(n)
}

fn commitment(digest: IdDigest, salt: &[u8; 16], number: &str) -> Result<[u8; 16], crate::Error> {
    let number = normalise_number(number)?;
    let alg = match digest {
        IdDigest::Sha256 => crate::Algorithm::Ed25519,
        IdDigest::Sm3 => crate::Algorithm::Sm2Sm3,
    };
    let h = |input: &[u8]| crate::alg::digest(alg, input).ok_or(crate::Error::from(Reason::UnsupportedAlgorithm));
    let first = crate::digest::signing_input(crate::digest::Input::IdNumber, &[salt, &number]);
    let mut c = h(&first)?;
    for _ in 1..ID_COMMITMENT_ROUNDS {
        c = h(&c)?;
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&c[..16]);
    Ok(out)
}

/// Guardianship: every card of a dependant's credential held by a guardian carries it,
/// and is signed under its own label (SPEC.md §4.4), so a verifier that does not know
/// guardianship cannot take it for the dependant's own card. Body: relation (1 byte).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    /// How the guardian is related to the dependant.
    pub relation: Relation,
}

/// Most tourism entries one card may carry.
pub const MAX_TOURISM_ENTRIES: usize = 8;

/// Claims of a domain this version does not define, kept as opaque bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherClaim {
    /// The domain id (8 or above).
    pub domain: u32,
    /// The body, hex in JSON.
    #[serde(with = "hex_bytes")]
    pub body: Vec<u8>,
}

/// The claims of one card, or all claims a code disclosed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Health claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Medical insurance claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_insurance: Option<MedicalInsurance>,
    /// Social security claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_security: Option<SocialSecurity>,
    /// Transit claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit: Option<Transit>,
    /// Tourism claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tourism: Option<Tourism>,
    /// Identity claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Present when the card is held by a guardian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
    /// Claims of domains unknown to this version, in id order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<OtherClaim>,
}

/// Most claim entries (domains) one card may carry.
pub const MAX_DOMAINS_PER_CARD: usize = 16;

impl Claims {
    /// Ids of the domains present, in increasing order.
    pub fn domain_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = Domain::ALL.into_iter().filter(|d| self.has(*d)).map(Domain::id).collect();
        ids.extend(self.other.iter().map(|o| o.domain));
        ids
    }

    /// Whether the domain is present.
    pub fn has(&self, domain: Domain) -> bool {
        match domain {
            Domain::Health => self.health.is_some(),
            Domain::MedicalInsurance => self.medical_insurance.is_some(),
            Domain::SocialSecurity => self.social_security.is_some(),
            Domain::Transit => self.transit.is_some(),
            Domain::Tourism => self.tourism.is_some(),
            Domain::Identity => self.identity.is_some(),
            Domain::Guardian => self.guardian.is_some(),
        }
    }

    /// Whether a disclosed domain withholds some of its fields (a scene's card, SPEC.md
    /// §11).
    pub fn withholds(&self) -> bool {
        let insurance = self.medical_insurance.as_ref().is_some_and(|m| m.region.is_none() || m.status.is_none());
        let transit = self
            .transit
            .as_ref()
            .is_some_and(|t| t.account.is_none() || t.fare_class.is_none() || t.vehicle_payment.is_none());
        insurance || transit
    }

    /// Only the listed domains (ids), or `None` if one of them is absent.
    pub fn select(&self, ids: &[u32]) -> Option<Claims> {
        let mut out = Claims::default();
        for &id in ids {
            match Domain::from_id(id) {
                Some(Domain::Health) => out.health = Some(self.health.clone()?),
                Some(Domain::MedicalInsurance) => out.medical_insurance = Some(self.medical_insurance.clone()?),
                Some(Domain::SocialSecurity) => out.social_security = Some(self.social_security.clone()?),
                Some(Domain::Transit) => out.transit = Some(self.transit.clone()?),
                Some(Domain::Tourism) => out.tourism = Some(self.tourism.clone()?),
                Some(Domain::Identity) => out.identity = Some(self.identity.clone()?),
                Some(Domain::Guardian) => out.guardian = Some(self.guardian.clone()?),
                None => out.other.push(self.other.iter().find(|o| o.domain == id)?.clone()),
            }
        }
        out.other.sort_by_key(|o| o.domain);
        Some(out)
    }

    /// Moves every domain of `other` into `self`; fails if a domain is in both.
    pub(crate) fn merge(&mut self, other: Claims) -> Result<(), Reason> {
        fn put<T>(slot: &mut Option<T>, value: Option<T>) -> Result<(), Reason> {
            if let Some(v) = value {
                if slot.is_some() {
                    return Err(Reason::Malformed);
                }
                *slot = Some(v);
            }
            Ok(())
        }
        put(&mut self.health, other.health)?;
        put(&mut self.medical_insurance, other.medical_insurance)?;
        put(&mut self.social_security, other.social_security)?;
        put(&mut self.transit, other.transit)?;
        put(&mut self.tourism, other.tourism)?;
        put(&mut self.identity, other.identity)?;
        // Every card of a guardian's code carries the same guardianship (SPEC.md §5).
        match (&self.guardian, other.guardian) {
            (Some(a), Some(b)) if *a != b => return Err(Reason::Malformed),
            (None, Some(b)) => self.guardian = Some(b),
            _ => {}
        }
        for o in other.other {
            // Keep `other` sorted by domain id: insert in place.
            match self.other.binary_search_by_key(&o.domain, |x| x.domain) {
                Ok(_) => return Err(Reason::Malformed),
                Err(at) => self.other.insert(at, o),
            }
        }
        Ok(())
    }

    /// Checks what the encoding cannot express: at least one domain, at most
    /// [`MAX_DOMAINS_PER_CARD`], tourism entry counts, unknown ids above 7 and unique.
    pub fn validate(&self) -> Result<(), Reason> {
        let ids = self.domain_ids();
        if ids.is_empty() || ids.len() > MAX_DOMAINS_PER_CARD {
            return Err(Reason::Malformed);
        }
        if ids.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(Reason::Malformed);
        }
        if self.other.iter().any(|o| Domain::from_id(o.domain).is_some() || o.domain == 0) {
            return Err(Reason::Malformed);
        }
        if let Some(t) = &self.tourism
            && (t.entries.is_empty() || t.entries.len() > MAX_TOURISM_ENTRIES)
        {
            return Err(Reason::Malformed);
        }
        if let Some(m) = &self.medical_insurance
            && (m.region == Some(0) || (m.region.is_none() && m.status.is_none()))
        {
            return Err(Reason::Malformed);
        }
        if let Some(t) = &self.transit
            && t.account.is_none()
            && t.fare_class.is_none()
            && t.vehicle_payment.is_none()
        {
            return Err(Reason::Malformed);
        }
        if let Some(i) = &self.identity {
            i.validate()?;
        }
        Ok(())
    }

    /// Appends the canonical encoding: count (1 byte), then `(id, len, body)` entries.
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), Reason> {
        self.validate()?;
        let ids = self.domain_ids();
        w.u8(u8::try_from(ids.len()).map_err(|_| Reason::Malformed)?);
        for id in ids {
            let mut body = Writer::default();
            match Domain::from_id(id) {
                Some(Domain::Health) => {
                    if let Some(h) = &self.health {
                        body.u8(h.status.to_byte()).u16(h.valid_until_day);
                    }
                }
                Some(Domain::MedicalInsurance) => {
                    if let Some(m) = &self.medical_insurance {
                        body.varint(m.region.unwrap_or(0)).u8(opt_byte(m.status.map(InsuranceStatus::to_byte)));
                    }
                }
                Some(Domain::SocialSecurity) => {
                    if let Some(s) = &self.social_security {
                        body.u8(s.status.to_byte());
                    }
                }
                Some(Domain::Transit) => {
                    if let Some(t) = &self.transit {
                        let flags = t.vehicle_payment.map_or(FLAGS_VEHICLE_WITHHELD, u8::from);
                        body.u8(opt_byte(t.account.map(AccountStatus::to_byte)))
                            .u8(opt_byte(t.fare_class.map(FareClass::to_byte)))
                            .u8(flags);
                    }
                }
                Some(Domain::Tourism) => {
                    if let Some(t) = &self.tourism {
                        body.u8(u8::try_from(t.entries.len()).map_err(|_| Reason::Malformed)?);
                        for e in &t.entries {
                            body.u8(e.kind.to_byte()).varint(e.site).u16(e.day);
                        }
                    }
                }
                Some(Domain::Identity) => {
                    if let Some(i) = &self.identity {
                        let name = i.name.as_bytes();
                        body.u8(i.digest.to_byte()).bytes(&i.salt).bytes(&i.commitment);
                        body.u8(u8::try_from(name.len()).map_err(|_| Reason::Malformed)?).bytes(name);
                    }
                }
                Some(Domain::Guardian) => {
                    if let Some(g) = &self.guardian {
                        body.u8(g.relation.to_byte());
                    }
                }
                None => {
                    if let Some(o) = self.other.iter().find(|o| o.domain == id) {
                        body.bytes(&o.body);
                    }
                }
            }
            w.varint(id);
            w.varint(u32::try_from(body.buf.len()).map_err(|_| Reason::Malformed)?);
            w.bytes(&body.buf);
        }
        Ok(())
    }

    /// Reads a canonical claims encoding.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Claims, Reason> {
        let count = r.u8()?;
        if count == 0 || usize::from(count) > MAX_DOMAINS_PER_CARD {
            return Err(Reason::Malformed);
        }
        let mut claims = Claims::default();
        let mut last = 0u32;
        for _ in 0..count {
            let id = r.varint()?;
            if id <= last {
                return Err(if id == 0 { Reason::Malformed } else { Reason::NonCanonical });
            }
            last = id;
            let len = r.varint()?;
            let body = r.take(usize::try_from(len).map_err(|_| Reason::Truncated)?)?;
            // A known domain's body is bounded by its length: one that ends early or
            // leaves bytes over is `malformed` (SPEC.md §4.3), never `truncated`.
            decode_body(&mut claims, id, body).map_err(|r| match r {
                Reason::Truncated | Reason::TrailingBytes => Reason::Malformed,
                other => other,
            })?;
        }
        Ok(claims)
    }
}

/// Decodes one domain body into `claims`: a known domain consumed exactly, an unknown one
/// kept as opaque bytes.
fn decode_body(claims: &mut Claims, id: u32, body: &[u8]) -> Result<(), Reason> {
    let mut b = Reader::new(body);
    match Domain::from_id(id) {
        Some(Domain::Health) => {
            claims.health = Some(Health { status: HealthStatus::from_byte(b.u8()?)?, valid_until_day: b.u16()? });
        }
        Some(Domain::MedicalInsurance) => {
            let region = Some(b.varint()?).filter(|&r| r != 0);
            let status = from_opt_byte(b.u8()?, InsuranceStatus::from_byte)?;
            if region.is_none() && status.is_none() {
                return Err(Reason::Malformed);
            }
            claims.medical_insurance = Some(MedicalInsurance { region, status });
        }
        Some(Domain::SocialSecurity) => {
            claims.social_security = Some(SocialSecurity { status: SocialSecurityStatus::from_byte(b.u8()?)? });
        }
        Some(Domain::Transit) => {
            let account = from_opt_byte(b.u8()?, AccountStatus::from_byte)?;
            let fare_class = from_opt_byte(b.u8()?, FareClass::from_byte)?;
            let vehicle_payment = match b.u8()? {
                0 => Some(false),
                1 => Some(true),
                FLAGS_VEHICLE_WITHHELD => None,
                _ => return Err(Reason::Malformed),
            };
            if account.is_none() && fare_class.is_none() && vehicle_payment.is_none() {
                return Err(Reason::Malformed);
            }
            claims.transit = Some(Transit { account, fare_class, vehicle_payment });
        }
        Some(Domain::Tourism) => {
            let n = b.u8()?;
            if n == 0 || usize::from(n) > MAX_TOURISM_ENTRIES {
                return Err(Reason::Malformed);
            }
            let mut entries = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                entries.push(TourismEntry { kind: TourismKind::from_byte(b.u8()?)?, site: b.varint()?, day: b.u16()? });
            }
            claims.tourism = Some(Tourism { entries });
        }
        Some(Domain::Identity) => {
            let digest = IdDigest::from_byte(b.u8()?)?;
            let salt = b.array()?;
            let commitment = b.array()?;
            let len = usize::from(b.u8()?);
            let name = core::str::from_utf8(b.take(len)?).map_err(|_| Reason::Malformed)?.to_string();
            let identity = Identity { name, digest, salt, commitment };
            identity.validate()?;
            claims.identity = Some(identity);
        }
        Some(Domain::Guardian) => {
            claims.guardian = Some(Guardian { relation: Relation::from_byte(b.u8()?)? });
        }
        None => {
            claims.other.push(OtherClaim { domain: id, body: body.to_vec() });
            return Ok(());
        }
    }
    b.finish()
}

impl fmt::Display for Claims {
    /// A one-line human summary, for terminals and logs: `health green (until day
    /// 20783); transit active, senior_free, vehicle payment`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(h) = &self.health {
            parts.push(format!("health {} (until day {})", h.status.name(), h.valid_until_day));
        }
        if let Some(m) = &self.medical_insurance {
            let mut p = String::from("medical insurance");
            if let Some(status) = m.status {
                p = format!("{p} {}", status.name());
            }
            if let Some(region) = m.region {
                p = format!("{p} (region {region})");
            }
            parts.push(p);
        }
        if let Some(s) = &self.social_security {
            parts.push(format!("social security {}", s.status.name()));
        }
        if let Some(t) = &self.transit {
            let mut fields: Vec<&str> = Vec::new();
            fields.extend(t.account.map(AccountStatus::name));
            fields.extend(t.fare_class.map(FareClass::name));
            fields.extend(t.vehicle_payment.map(|on| if on { "vehicle payment" } else { "no vehicle payment" }));
            parts.push(format!("transit {}", fields.join(", ")));
        }
        if let Some(t) = &self.tourism {
            let entries: Vec<String> =
                t.entries.iter().map(|e| format!("{} site {} day {}", e.kind.name(), e.site, e.day)).collect();
            parts.push(format!("tourism {}", entries.join(", ")));
        }
        if let Some(i) = &self.identity {
            parts.push(format!("identity {}", i.masked_name()));
        }
        if let Some(g) = &self.guardian {
            parts.push(format!("held by a guardian ({})", g.relation.name()));
        }
        for o in &self.other {
            parts.push(format!("domain {} ({} bytes)", o.domain, o.body.len()));
        }
        f.write_str(&parts.join("; "))
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = crate::text::unhex(&text).map_err(serde::de::Error::custom)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("expected 16 bytes"))
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        crate::text::unhex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Claims {
        Claims {
            health: Some(Health { status: HealthStatus::Green, valid_until_day: 20_800 }),
            medical_insurance: Some(MedicalInsurance { region: Some(310_000), status: Some(InsuranceStatus::Active) }),
            social_security: Some(SocialSecurity { status: SocialSecurityStatus::Retired }),
            transit: Some(Transit {
                account: Some(AccountStatus::Active),
                fare_class: Some(FareClass::SeniorFree),
                vehicle_payment: Some(true),
            }),
            tourism: Some(Tourism {
                entries: vec![TourismEntry { kind: TourismKind::Reservation, site: 1024, day: 20_790 }],
            }),
            identity: Some(Identity::with_salt("张小明", "11010519491231002x", IdDigest::Sha256, [7; 16]).unwrap()),
            guardian: Some(Guardian { relation: Relation::Child }),
            other: vec![OtherClaim { domain: 9, body: vec![1, 2, 3] }],
        }
    }

    fn round_trip(c: &Claims) -> Result<Claims, Reason> {
        let mut w = Writer::default();
        c.encode(&mut w)?;
        let mut r = Reader::new(&w.buf);
        let back = Claims::decode(&mut r)?;
        r.finish()?;
        Ok(back)
    }

    #[test]
    fn every_domain_round_trips_and_unknown_domains_pass_through() {
        let c = sample();
        assert_eq!(round_trip(&c), Ok(c.clone()));
        assert_eq!(c.domain_ids(), vec![1, 2, 3, 4, 5, 6, 7, 9]);
        let only = c.select(&[2, 9]).unwrap();
        assert_eq!(only.domain_ids(), vec![2, 9]);
        assert!(Claims::default().select(&[1]).is_none());
    }

    #[test]
    fn decoder_rejects_unsorted_unknown_values_and_inner_trailing_bytes() {
        // Two entries out of order: transit (4) before health (1).
        let bytes = [2u8, 4, 3, 1, 1, 0, 1, 3, 1, 0x51, 0x40];
        assert_eq!(Claims::decode(&mut Reader::new(&bytes)), Err(Reason::NonCanonical));
        // Health status 4 is not defined.
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 1, 3, 4, 0, 0])), Err(Reason::Malformed));
        // Health body with an extra byte.
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 1, 4, 1, 0, 0, 9])), Err(Reason::Malformed));
        // Zero entries.
        assert_eq!(Claims::decode(&mut Reader::new(&[0])), Err(Reason::Malformed));
        // Transit flag byte 3 (2 is "vehicle payment withheld").
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 4, 3, 1, 1, 3])), Err(Reason::Malformed));
        // Every transit field withheld; every insurance field withheld.
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 4, 3, 0, 0, 2])), Err(Reason::Malformed));
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 2, 2, 0, 0])), Err(Reason::Malformed));
    }

    #[test]
    fn withheld_fields_round_trip_as_zero_bytes() {
        let parking = Transit { account: Some(AccountStatus::Active), fare_class: None, vehicle_payment: Some(true) };
        let metro = Transit { vehicle_payment: None, fare_class: Some(FareClass::Child), ..parking.clone() };
        let status_only = MedicalInsurance { region: None, status: Some(InsuranceStatus::Suspended) };
        for (claims, bytes) in [
            (Claims { transit: Some(parking), ..Claims::default() }, vec![1u8, 4, 3, 1, 0, 1]),
            (Claims { transit: Some(metro), ..Claims::default() }, vec![1, 4, 3, 1, 5, 2]),
            (Claims { medical_insurance: Some(status_only), ..Claims::default() }, vec![1, 2, 2, 0, 2]),
        ] {
            let mut w = Writer::default();
            claims.encode(&mut w).unwrap();
            assert_eq!(w.buf, bytes);
            assert_eq!(round_trip(&claims), Ok(claims));
        }
        // Region 0 would read back as withheld: refused at encoding.
        let zero = MedicalInsurance { region: Some(0), status: Some(InsuranceStatus::Active) };
        let c = Claims { medical_insurance: Some(zero), ..Claims::default() };
        assert_eq!(c.encode(&mut Writer::default()), Err(Reason::Malformed));
        let none = Transit { account: None, fare_class: None, vehicle_payment: None };
        assert_eq!(Claims { transit: Some(none), ..Claims::default() }.validate(), Err(Reason::Malformed));
    }

    #[test]
    fn identity_commits_to_the_number_never_carries_it_and_masks_the_name() {
        let id = sample().identity.unwrap();
        assert!(id.matches("11010519491231002X").unwrap());
        assert!(id.matches(" 11010519491231002x ").unwrap(), "case and spaces around are the reader's noise");
        assert!(!id.matches("110105194912310029").unwrap());
        assert!(id.matches("1101-0519").is_err());
        assert!(id.matches("").is_err());
        // Another salt, another commitment: two credentials' identity claims do not link.
        let other = Identity::with_salt("张小明", "11010519491231002X", IdDigest::Sha256, [8; 16]).unwrap();
        assert_ne!(other.commitment, id.commitment);
        let mut w = Writer::default();
        Claims { identity: Some(id.clone()), ..Claims::default() }.encode(&mut w).unwrap();
        let number = b"11010519491231002X";
        assert!(!w.buf.windows(number.len()).any(|x| x == number), "the number is never on the wire");
        assert_eq!(id.masked_name(), "张*明");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("Mary Ann Lee"), "M*** *** **e");
        assert!(Identity::with_salt("", "1", IdDigest::Sha256, [0; 16]).is_err());
        assert!(Identity::with_salt("a\u{7}b", "1", IdDigest::Sha256, [0; 16]).is_err());
        assert!(Identity::with_salt(&"名".repeat(22), "1", IdDigest::Sha256, [0; 16]).is_err(), "66 bytes");
    }

    #[test]
    fn identity_and_guardian_bodies_are_checked() {
        let id = |name: &[u8], digest: u8| {
            let mut body = vec![digest];
            body.extend_from_slice(&[0; 32]);
            body.push(name.len() as u8);
            body.extend_from_slice(name);
            let mut v = vec![1u8, 6, body.len() as u8];
            v.extend_from_slice(&body);
            Claims::decode(&mut Reader::new(&v))
        };
        assert!(id(b"Li", 1).is_ok());
        assert_eq!(id(b"Li", 3), Err(Reason::Malformed), "digest 3");
        assert_eq!(id(b"", 1), Err(Reason::Malformed), "empty name");
        assert_eq!(id(&[0xff, 0xfe], 1), Err(Reason::Malformed), "not UTF-8");
        assert_eq!(id(b"a\nb", 1), Err(Reason::Malformed), "a control character");
        assert_eq!(Claims::decode(&mut Reader::new(&[1, 7, 1, 6])), Err(Reason::Malformed), "relation 6");
        assert!(Claims::decode(&mut Reader::new(&[1, 7, 1, 5])).is_ok());
    }

    #[test]
    fn merge_refuses_a_domain_twice() {
        let mut a = sample().select(&[1]).unwrap();
        assert_eq!(a.merge(sample().select(&[1, 4]).unwrap()), Err(Reason::Malformed));
        let mut b = sample().select(&[1]).unwrap();
        b.merge(sample().select(&[4, 9]).unwrap()).unwrap();
        assert_eq!(b.domain_ids(), vec![1, 4, 9]);
        // Guardianship repeats in every card of a guardian's code, always the same.
        let mut g = sample().select(&[1, 7]).unwrap();
        g.merge(sample().select(&[4, 7]).unwrap()).unwrap();
        assert_eq!(g.domain_ids(), vec![1, 4, 7]);
        let mut spouse = sample().select(&[2, 7]).unwrap();
        spouse.guardian = Some(Guardian { relation: Relation::Spouse });
        assert_eq!(g.merge(spouse), Err(Reason::Malformed));
    }

    #[test]
    fn enum_names_match_their_json_names() {
        fn check<T: Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
            for &v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(name(v)));
            }
        }
        check(HealthStatus::ALL, HealthStatus::name);
        check(InsuranceStatus::ALL, InsuranceStatus::name);
        check(SocialSecurityStatus::ALL, SocialSecurityStatus::name);
        check(AccountStatus::ALL, AccountStatus::name);
        check(FareClass::ALL, FareClass::name);
        check(TourismKind::ALL, TourismKind::name);
    }

    #[test]
    fn json_uses_stable_snake_case_names() {
        let json = serde_json::to_value(sample().select(&[4]).unwrap()).unwrap();
        assert_eq!(json["transit"]["fare_class"], "senior_free");
        assert_eq!(json["transit"]["account"], "active");
    }
}
