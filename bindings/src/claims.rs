//! Claims and domains, field for field core's.

use citycode::claims as cc;

use crate::errors::{CitycodeError, Result};

/// Health code colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum HealthStatus {
    /// No restriction.
    Green,
    /// Restricted.
    Yellow,
    /// Must not enter public venues.
    Red,
}

/// Medical insurance card state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum InsuranceStatus {
    /// Usable.
    Active,
    /// Temporarily unusable.
    Suspended,
    /// Ended.
    Terminated,
}

/// Social security standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SocialSecurityStatus {
    /// Contributing.
    Contributing,
    /// Drawing a pension.
    Retired,
    /// Suspended.
    Suspended,
}

/// Transit account standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AccountStatus {
    /// Good standing.
    Active,
    /// Unpaid fares.
    Arrears,
    /// Blocked.
    Suspended,
}

/// Fare class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum FareClass {
    /// Full fare.
    Standard,
    /// Senior, free.
    SeniorFree,
    /// Student.
    Student,
    /// Disability, free.
    DisabledFree,
    /// Child.
    Child,
}

/// Tourism entry kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum TourismKind {
    /// A pass valid through `day`.
    Pass,
    /// A reservation for `day`.
    Reservation,
}

/// How a guardian is related to the dependant whose card they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Relation {
    /// The dependant's parent.
    Parent,
    /// The dependant's child (an elder's son or daughter).
    Child,
    /// The dependant's spouse.
    Spouse,
    /// Another relative.
    Relative,
    /// A guardian appointed by law or a court.
    LegalGuardian,
}

/// The digest of an identity commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum IdDigest {
    /// SHA-256.
    Sha256,
    /// SM3, for GM-only cities.
    Sm3,
}

/// Identity for real-name scenes: the name and a salted commitment to the identity
/// document's number, never the number itself (SPEC.md §4.3).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Identity {
    /// The name as on the identity document.
    pub name: String,
    /// The commitment's digest.
    pub digest: IdDigest,
    /// 16 random bytes.
    pub salt: Vec<u8>,
    /// 16 bytes.
    pub commitment: Vec<u8>,
}

impl From<cc::Identity> for Identity {
    fn from(i: cc::Identity) -> Self {
        Identity { name: i.name, digest: i.digest.into(), salt: i.salt.to_vec(), commitment: i.commitment.to_vec() }
    }
}

impl TryFrom<Identity> for cc::Identity {
    type Error = CitycodeError;
    fn try_from(i: Identity) -> Result<Self> {
        let sixteen = |v: Vec<u8>, what: &str| -> Result<[u8; 16]> {
            v.try_into().map_err(|_| CitycodeError::invalid(format!("identity {what} must be 16 bytes")))
        };
        Ok(cc::Identity {
            name: i.name,
            digest: i.digest.into(),
            salt: sixteen(i.salt, "salt")?,
            commitment: sixteen(i.commitment, "commitment")?,
        })
    }
}

/// The identity claim for `name` and document number `number`, with a fresh random
/// salt: for issuers.
#[uniffi::export]
pub fn identity_commit(name: String, number: String, digest: IdDigest) -> Result<Identity> {
    Ok(cc::Identity::commit(&name, &number, digest.into())?.into())
}

/// Whether `number`, as an ID-card reader read it, is the one `identity` commits to.
#[uniffi::export]
pub fn identity_matches(identity: Identity, number: String) -> Result<bool> {
    Ok(cc::Identity::try_from(identity)?.matches(&number)?)
}

/// The name with every character but the first and last masked (`张*明`).
#[uniffi::export]
pub fn mask_name(name: String) -> String {
    cc::mask_name(&name)
}

macro_rules! enum_map {
    ($ffi:ident, $core:path, [$($v:ident),+]) => {
        impl From<$ffi> for $core {
            fn from(x: $ffi) -> Self { match x { $($ffi::$v => <$core>::$v),+ } }
        }
        impl From<$core> for $ffi {
            fn from(x: $core) -> Self { match x { $(<$core>::$v => $ffi::$v),+ } }
        }
    };
}
enum_map!(HealthStatus, cc::HealthStatus, [Green, Yellow, Red]);
enum_map!(Relation, cc::Relation, [Parent, Child, Spouse, Relative, LegalGuardian]);
enum_map!(IdDigest, cc::IdDigest, [Sha256, Sm3]);
enum_map!(InsuranceStatus, cc::InsuranceStatus, [Active, Suspended, Terminated]);
enum_map!(SocialSecurityStatus, cc::SocialSecurityStatus, [Contributing, Retired, Suspended]);
enum_map!(AccountStatus, cc::AccountStatus, [Active, Arrears, Suspended]);
enum_map!(FareClass, cc::FareClass, [Standard, SeniorFree, Student, DisabledFree, Child]);
enum_map!(TourismKind, cc::TourismKind, [Pass, Reservation]);

/// Health claims.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Health {
    /// Colour.
    pub status: HealthStatus,
    /// Last UTC day (days since 1970-01-01) the status holds.
    pub valid_until_day: u16,
}

/// Medical insurance claims. A scene's card may withhold a field (null): the hospital's
/// card carries the status, not the region.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MedicalInsurance {
    /// 6-digit administrative division code; null when withheld.
    #[uniffi(default = None)]
    pub region: Option<u32>,
    /// Card state; null when withheld.
    #[uniffi(default = None)]
    pub status: Option<InsuranceStatus>,
}

/// Transit claims. A scene's card may withhold fields (null): the parking card carries
/// no fare class, the metro card no vehicle payment.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Transit {
    /// Account standing; null when withheld.
    #[uniffi(default = None)]
    pub account: Option<AccountStatus>,
    /// Fare class; null when withheld.
    #[uniffi(default = None)]
    pub fare_class: Option<FareClass>,
    /// Vehicle and parking payment enabled; null when withheld.
    #[uniffi(default = None)]
    pub vehicle_payment: Option<bool>,
}

/// One tourism pass or reservation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TourismEntry {
    /// Pass or reservation.
    pub kind: TourismKind,
    /// Site id.
    pub site: u32,
    /// Local calendar day at the site.
    pub day: u16,
}

/// Claims of a domain this version does not know.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OtherClaim {
    /// Domain id (8 and above).
    pub domain: u32,
    /// Opaque body.
    pub body: Vec<u8>,
}

/// A holder's claims, or the claims a code disclosed.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct Claims {
    /// Health.
    #[uniffi(default = None)]
    pub health: Option<Health>,
    /// Medical insurance.
    #[uniffi(default = None)]
    pub medical_insurance: Option<MedicalInsurance>,
    /// Social security.
    #[uniffi(default = None)]
    pub social_security: Option<SocialSecurityStatus>,
    /// Transit.
    #[uniffi(default = None)]
    pub transit: Option<Transit>,
    /// Tourism passes and reservations (empty = not present).
    #[uniffi(default = [])]
    pub tourism: Vec<TourismEntry>,
    /// Identity, for real-name scenes.
    #[uniffi(default = None)]
    pub identity: Option<Identity>,
    /// Set when the card is held by a guardian: how the guardian is related to the
    /// holder. A verdict with it was shown by a guardian, not the holder.
    #[uniffi(default = None)]
    pub guardian: Option<Relation>,
    /// Future domains.
    #[uniffi(default = [])]
    pub other: Vec<OtherClaim>,
}

impl From<cc::Claims> for Claims {
    fn from(c: cc::Claims) -> Self {
        Claims {
            health: c.health.map(|h| Health { status: h.status.into(), valid_until_day: h.valid_until_day }),
            medical_insurance: c
                .medical_insurance
                .map(|m| MedicalInsurance { region: m.region, status: m.status.map(Into::into) }),
            social_security: c.social_security.map(|s| s.status.into()),
            transit: c.transit.map(|t| Transit {
                account: t.account.map(Into::into),
                fare_class: t.fare_class.map(Into::into),
                vehicle_payment: t.vehicle_payment,
            }),
            tourism: c
                .tourism
                .map(|t| {
                    t.entries
                        .into_iter()
                        .map(|e| TourismEntry { kind: e.kind.into(), site: e.site, day: e.day })
                        .collect()
                })
                .unwrap_or_default(),
            identity: c.identity.map(Into::into),
            guardian: c.guardian.map(|g| g.relation.into()),
            other: c.other.into_iter().map(|o| OtherClaim { domain: o.domain, body: o.body }).collect(),
        }
    }
}

impl TryFrom<Claims> for cc::Claims {
    type Error = CitycodeError;
    fn try_from(c: Claims) -> Result<Self> {
        Ok(cc::Claims {
            health: c.health.map(|h| cc::Health { status: h.status.into(), valid_until_day: h.valid_until_day }),
            medical_insurance: c
                .medical_insurance
                .map(|m| cc::MedicalInsurance { region: m.region, status: m.status.map(Into::into) }),
            social_security: c.social_security.map(|s| cc::SocialSecurity { status: s.into() }),
            transit: c.transit.map(|t| cc::Transit {
                account: t.account.map(Into::into),
                fare_class: t.fare_class.map(Into::into),
                vehicle_payment: t.vehicle_payment,
            }),
            tourism: if c.tourism.is_empty() {
                None
            } else {
                Some(cc::Tourism {
                    entries: c
                        .tourism
                        .into_iter()
                        .map(|e| cc::TourismEntry { kind: e.kind.into(), site: e.site, day: e.day })
                        .collect(),
                })
            },
            identity: c.identity.map(cc::Identity::try_from).transpose()?,
            guardian: c.guardian.map(|r| cc::Guardian { relation: r.into() }),
            other: c.other.into_iter().map(|o| cc::OtherClaim { domain: o.domain, body: o.body }).collect(),
        })
    }
}

/// A credential domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Domain {
    /// Health (id 1).
    Health,
    /// Medical insurance (id 2).
    MedicalInsurance,
    /// Social security (id 3).
    SocialSecurity,
    /// Transit (id 4).
    Transit,
    /// Tourism (id 5).
    Tourism,
    /// Identity (id 6).
    Identity,
    /// Guardianship (id 7).
    Guardian,
}

enum_map!(Domain, cc::Domain, [Health, MedicalInsurance, SocialSecurity, Transit, Tourism, Identity, Guardian]);

/// The claims as core's JSON (names as in SPEC.md §4.3): for logs and comparisons.
#[uniffi::export]
pub fn claims_json(claims: Claims) -> Result<String> {
    let claims = cc::Claims::try_from(claims)?;
    serde_json::to_string(&claims).map_err(|e| CitycodeError::invalid(e.to_string()))
}
