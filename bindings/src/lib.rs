//! UniFFI bindings of citycode for Kotlin, Swift and Python.
//!
//! This crate only converts types and errors; every rule lives in the `citycode` crate.
//! Holder apps use [`SigningKey`] or their own [`DeviceSigner`] (Android Keystore,
//! Secure Enclave) with a [`Holder`]; terminals and backends use a [`Verifier`];
//! issuing backends use an [`Issuer`] and the list-signing functions.

#![forbid(unsafe_code)]

use std::sync::{Arc, RwLock};

use citycode::claims as cc;

uniffi::setup_scaffolding!();

// ---------------------------------------------------------------------------------
// Errors.

/// Every error the bindings raise. `code` is a stable code of SPEC.md §10: for rejected
/// input a reason code; otherwise `missing_domain`, `signer`, `out_of_scope`,
/// `out_of_range`, `random` or `invalid_argument` (an argument the bindings refuse).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CitycodeError {
    /// Input (a code, credential, key or list) was refused, with a SPEC.md reason code.
    #[error("{code}: {detail}")]
    Rejected {
        /// The stable reason code.
        code: String,
        /// What failed.
        detail: String,
    },
    /// The credential cannot disclose what was asked.
    #[error("{code}: {detail}")]
    MissingDomain {
        /// Always `missing_domain`.
        code: String,
        /// Which domains.
        detail: String,
    },
    /// The device signer failed or returned an unusable signature.
    #[error("{code}: {detail}")]
    Signer {
        /// Always `signer`.
        code: String,
        /// What went wrong.
        detail: String,
    },
    /// An argument is out of range or inconsistent.
    #[error("{code}: {detail}")]
    InvalidArgument {
        /// `out_of_scope`, `out_of_range`, `random` (the OS random source failed),
        /// `invalid_argument`, or a card font's code (`font_unreadable`, `font_invalid`,
        /// `font_face_not_found`, `font_not_embeddable`, `missing_glyph`).
        code: String,
        /// What is wrong.
        detail: String,
    },
}

impl CitycodeError {
    fn signer(message: impl Into<String>) -> Self {
        CitycodeError::Signer { code: "signer".into(), detail: message.into() }
    }
    fn invalid(message: impl Into<String>) -> Self {
        CitycodeError::InvalidArgument { code: "invalid_argument".into(), detail: message.into() }
    }
}

impl From<citycode::Rejection> for CitycodeError {
    fn from(r: citycode::Rejection) -> Self {
        CitycodeError::Rejected { code: r.reason.code().into(), detail: r.detail }
    }
}

impl From<citycode::Reason> for CitycodeError {
    fn from(r: citycode::Reason) -> Self {
        citycode::Rejection::from(r).into()
    }
}

impl From<citycode::Error> for CitycodeError {
    fn from(e: citycode::Error) -> Self {
        let code = e.code().to_owned();
        let detail = e.to_string();
        match e {
            citycode::Error::Invalid(r) => r.into(),
            citycode::Error::MissingDomain(_) => CitycodeError::MissingDomain { code, detail },
            citycode::Error::Signer(_) => CitycodeError::Signer { code, detail },
            // out_of_scope, out_of_range, random, and (citycode::Error is
            // #[non_exhaustive]) any error added later: its stable code says which.
            _ => CitycodeError::InvalidArgument { code, detail },
        }
    }
}

#[cfg(feature = "pdf")]
impl From<citycode::print_card::CardError> for CitycodeError {
    fn from(e: citycode::print_card::CardError) -> Self {
        match e {
            citycode::print_card::CardError::Code(e) => e.into(),
            // A font to configure differently: font_unreadable, font_invalid,
            // font_face_not_found, font_not_embeddable, missing_glyph.
            e => CitycodeError::InvalidArgument { code: e.code().into(), detail: e.to_string() },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CitycodeError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // Signers are the callbacks whose failures callers see as such; a list fetcher's
        // or list state store's fails the update with its own reason around this text.
        CitycodeError::signer(format!("the callback threw: {}", e.reason))
    }
}

type Result<T> = std::result::Result<T, CitycodeError>;

// ---------------------------------------------------------------------------------
// Keys.

/// A signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum KeyAlgorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA P-256 with SHA-256 (phone secure hardware).
    EcdsaP256,
    /// SM2 with SM3 (GB/T 32918), the national algorithm, default user id
    /// `1234567812345678`.
    Sm2,
}

impl From<KeyAlgorithm> for citycode::Algorithm {
    fn from(a: KeyAlgorithm) -> Self {
        match a {
            KeyAlgorithm::Ed25519 => citycode::Algorithm::Ed25519,
            KeyAlgorithm::EcdsaP256 => citycode::Algorithm::EcdsaP256Sha256,
            KeyAlgorithm::Sm2 => citycode::Algorithm::Sm2Sm3,
        }
    }
}

impl From<citycode::Algorithm> for KeyAlgorithm {
    fn from(a: citycode::Algorithm) -> Self {
        match a {
            citycode::Algorithm::Ed25519 => KeyAlgorithm::Ed25519,
            citycode::Algorithm::EcdsaP256Sha256 => KeyAlgorithm::EcdsaP256,
            citycode::Algorithm::Sm2Sm3 => KeyAlgorithm::Sm2,
        }
    }
}

fn public_key(alg: KeyAlgorithm, bytes: &[u8]) -> Result<citycode::PublicKey> {
    Ok(citycode::PublicKey::from_bytes(alg.into(), bytes)?)
}

/// A key pair held in this library's memory (zeroized on drop): a software device
/// key, an issuer key or the root key.
#[derive(Debug, uniffi::Object)]
pub struct SigningKey {
    inner: citycode::KeyPair,
}

#[uniffi::export]
impl SigningKey {
    /// A fresh key from the OS random source.
    #[uniffi::constructor]
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Arc<Self>> {
        Ok(Arc::new(SigningKey { inner: citycode::KeyPair::generate(algorithm.into())? }))
    }

    /// Restores a key from its 32 secret bytes.
    #[uniffi::constructor]
    pub fn from_secret_bytes(algorithm: KeyAlgorithm, secret: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(SigningKey { inner: citycode::KeyPair::from_secret_bytes(algorithm.into(), &secret)? }))
    }

    /// The 32 secret bytes, to store in a keystore. Handle with care.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.inner.secret_bytes().to_vec()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.inner.algorithm().into()
    }

    /// The public key as the wire carries it (32 or 33 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_bytes()
    }

    /// The 16-byte device key id that revocation lists name.
    pub fn key_id(&self) -> Vec<u8> {
        self.inner.public_key().key_id().to_vec()
    }

    /// Signs a message (64 bytes).
    pub fn sign(&self, message: Vec<u8>) -> Vec<u8> {
        self.inner.sign(&message).to_vec()
    }

    /// The key request for an issuer's `challenge` (SPEC.md §4.7): send it to be issued
    /// a credential bound to this key.
    pub fn key_request(&self, challenge: Vec<u8>) -> Result<Vec<u8>> {
        Ok(citycode::KeyRequest::sign(&self.inner, &challenge)?.to_bytes())
    }
}

/// The key request for an issuer's `challenge` (SPEC.md §4.7), signed by a device key
/// held outside this library (Android Keystore, the Secure Enclave, an SM2 element).
#[uniffi::export]
pub fn key_request(signer: Arc<dyn DeviceSigner>, challenge: Vec<u8>) -> Result<Vec<u8>> {
    Ok(citycode::KeyRequest::sign(&ForeignSigner::new(signer)?, &challenge)?.to_bytes())
}

/// [`key_request`] with an asynchronous signer (behind a biometric prompt).
#[uniffi::export]
pub async fn key_request_async(signer: Arc<dyn AsyncDeviceSigner>, challenge: Vec<u8>) -> Result<Vec<u8>> {
    let key = signer_key(signer.algorithm(), &signer.public_key())?;
    let input = citycode::KeyRequest::signing_input(&key, &challenge)?;
    let signature = signer.sign(input).await?;
    Ok(citycode::KeyRequest::from_signed(key, &challenge, &signature)?.to_bytes())
}

/// A fresh random challenge (32 bytes) for an issuer to give a holder, once.
#[uniffi::export]
pub fn random_challenge() -> Result<Vec<u8>> {
    Ok(citycode::request::random_challenge()?.to_vec())
}

/// A device key held outside this library, implemented in Kotlin, Swift or Python:
/// Android Keystore or the Secure Enclave (ECDSA P-256), or a phone security element
/// that signs SM2. The secret never enters Rust.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;
    /// The public key: 32 bytes (Ed25519), or P-256 or SM2 as 33-byte compressed or
    /// 65-byte uncompressed SEC1.
    fn public_key(&self) -> Vec<u8>;
    /// Signs `message`. P-256 and SM2 signatures may be DER (what `java.security`,
    /// CryptoKit's `derRepresentation` and SM2 devices return) or 64-byte `r || s`. An
    /// SM2 signer signs under the default user id `1234567812345678`.
    fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// A foreign signer's public key: an uncompressed point (what Java's ECPublicKey and SM2
/// devices give) is checked on its curve and compressed.
fn signer_key(alg: KeyAlgorithm, bytes: &[u8]) -> Result<citycode::PublicKey> {
    Ok(citycode::PublicKey::from_exported(alg.into(), bytes)?)
}

/// Adapts a foreign signer to core's signer trait.
struct ForeignSigner {
    inner: Arc<dyn DeviceSigner>,
    key: citycode::PublicKey,
}

impl ForeignSigner {
    fn new(inner: Arc<dyn DeviceSigner>) -> Result<Self> {
        Ok(ForeignSigner { key: signer_key(inner.algorithm(), &inner.public_key())?, inner })
    }
}

impl citycode::DeviceSigner for ForeignSigner {
    fn public_key(&self) -> citycode::PublicKey {
        self.key.clone()
    }

    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, citycode::Error> {
        // DER or r || s: core converts and checks it (citycode::keys::signature_by).
        self.inner.sign(message.to_vec()).map_err(|e| citycode::Error::Signer(e.to_string()))
    }
}

// ---------------------------------------------------------------------------------
// Claims.

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

// ---------------------------------------------------------------------------------
// Scenes.

/// A built-in scene policy.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Scene {
    /// Hospital registration: health + medical insurance.
    Hospital,
    /// Scenic spot gate: a pass or reservation for `site` today.
    ScenicSpot {
        /// This gate's site id.
        site: u32,
        /// Offset from UTC in minutes (480 for China).
        utc_offset_minutes: i32,
    },
    /// Parking exit: transit account with vehicle payment.
    Parking,
    /// Metro or bus gate: transit account in good standing, and its fare class.
    MetroGate,
    /// Hotel check-in: identity (check the guest's document with `identity_matches`).
    HotelCheckIn,
}

impl From<Scene> for citycode::Scene {
    fn from(s: Scene) -> Self {
        match s {
            Scene::Hospital => citycode::Scene::Hospital,
            Scene::ScenicSpot { site, utc_offset_minutes } => citycode::Scene::ScenicSpot { site, utc_offset_minutes },
            Scene::Parking => citycode::Scene::Parking,
            Scene::MetroGate => citycode::Scene::MetroGate,
            Scene::HotelCheckIn => citycode::Scene::HotelCheckIn,
        }
    }
}

impl From<citycode::Scene> for Scene {
    fn from(s: citycode::Scene) -> Self {
        match s {
            citycode::Scene::Hospital => Scene::Hospital,
            citycode::Scene::ScenicSpot { site, utc_offset_minutes } => Scene::ScenicSpot { site, utc_offset_minutes },
            citycode::Scene::Parking => Scene::Parking,
            citycode::Scene::MetroGate => Scene::MetroGate,
            citycode::Scene::HotelCheckIn => Scene::HotelCheckIn,
        }
    }
}

/// Parses a scene from the JSON form the test vectors use
/// (`{"kind":"scenic_spot","site":1024,"utc_offset_minutes":480}`).
#[uniffi::export]
pub fn scene_from_json(json: String) -> Result<Scene> {
    let s: citycode::Scene =
        serde_json::from_str(&json).map_err(|e| CitycodeError::invalid(format!("scene JSON: {e}")))?;
    Ok(s.into())
}

/// The domains a holder must disclose at a scene.
#[uniffi::export]
pub fn scene_domains(scene: Scene) -> Vec<Domain> {
    use citycode::Policy as _;
    citycode::Scene::from(scene).required_domains().into_iter().map(Domain::from).collect()
}

// ---------------------------------------------------------------------------------
// Holder.

/// A QR symbol to draw.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct QrImage {
    /// QR version (1 to 40), at error correction level M.
    pub version: u8,
    /// Modules per side, without quiet zone.
    pub width: u32,
    /// Row-major modules, true = dark.
    pub modules: Vec<bool>,
    /// An SVG drawing with a 4-module quiet zone, 8 px per module.
    pub svg: String,
}

/// Renders any text (normally a code's) as a QR symbol.
#[uniffi::export]
pub fn render_qr(text: String) -> Result<QrImage> {
    let qr = citycode::Qr::new(&text)?;
    Ok(QrImage {
        version: qr.version,
        width: u32::try_from(qr.width).unwrap_or(0),
        svg: qr.to_svg(8),
        modules: qr.modules,
    })
}

/// A code to show.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PresentedCode {
    /// The text the QR carries (`CC1:` and digits).
    pub text: String,
    /// The same code as base64url, for HTTP APIs.
    pub base64url: String,
    /// Unix second it was built.
    pub issued_at: u64,
    /// Unix second it stops being valid (before verifier skew).
    pub expires_at: u64,
    /// Seconds until the app should show a fresh code.
    pub refresh_in_secs: u64,
}

fn now() -> u64 {
    use citycode::Clock as _;
    citycode::SystemClock.now()
}

/// The citizen app's side: a stored credential and a device signer.
#[derive(uniffi::Object)]
pub struct Holder {
    credential: citycode::Credential,
    signer: ForeignSigner,
}

#[uniffi::export]
impl Holder {
    /// A holder with a credential (as stored: base64url) and a device signer whose key
    /// the credential is bound to.
    #[uniffi::constructor]
    pub fn new(credential_base64url: String, signer: Arc<dyn DeviceSigner>) -> Result<Arc<Self>> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let signer = ForeignSigner::new(signer)?;
        if signer.key != credential.device_key {
            return Err(CitycodeError::signer("the signer's key is not the credential's device key"));
        }
        Ok(Arc::new(Holder { credential, signer }))
    }

    /// A holder whose device key is a [`SigningKey`] in this library.
    #[uniffi::constructor]
    pub fn with_key(credential_base64url: String, key: Arc<SigningKey>) -> Result<Arc<Self>> {
        Holder::new(credential_base64url, key)
    }

    /// The stored credential (base64url).
    pub fn credential(&self) -> Result<String> {
        Ok(self.credential.to_base64url()?)
    }

    /// The pseudonymous subject, hex.
    pub fn subject(&self) -> String {
        self.credential.subject.to_hex()
    }

    /// Builds a code for a scene, now (or at `now_unix`), valid `validity_secs`
    /// (default 60). It discloses only what the scene's policy reads: the scene's own
    /// card (SPEC.md §11).
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(&self, scene: Scene, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = citycode::present(&self.credential, &self.signer, &citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }

    /// Builds a code that discloses `domains`, whole (for an application's own scenes).
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present(&self, domains: Vec<Domain>, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = citycode::present(&self.credential, &self.signer, &domain_ids(domains), at, options)?;
        Ok(presented(&code, at))
    }
}

/// How often a [`HolderBatch`] shows one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum BatchReuse {
    /// Each instance for one code only (the default): no two codes share a key, a
    /// subject or a signature.
    OnceOnly,
    /// One instance for every code within `secs` of its first use, for phones that
    /// cannot hold many keys. Codes inside one window are linkable to each other.
    LimitedTime {
        /// The window, seconds.
        secs: u64,
    },
}

/// A holder's batch of instances for codes verifiers cannot link (SPEC.md §13): each
/// code comes from its own instance (credential and device key), so no two verifiers
/// see the same key, subject or signature. Add the instances the issuer returned
/// (`Issuer.issueBatch`) with the signer of each one's key; ask for more when
/// [`HolderBatch::needs_refill`] says so, next time the phone is online. Offline, it
/// works until the instances run out (`missing_domain`: refill).
#[derive(uniffi::Object)]
pub struct HolderBatch {
    inner: std::sync::Mutex<citycode::CredentialBatch<ForeignSigner>>,
}

impl std::fmt::Debug for HolderBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderBatch").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl HolderBatch {
    /// An empty batch; `needs_refill` is true while fewer than `refill_below`
    /// instances are left (5 by default: half a day of codes at ten a day).
    #[uniffi::constructor(default(refill_below = 5))]
    pub fn new(reuse: BatchReuse, refill_below: u32) -> Arc<Self> {
        let reuse = match reuse {
            BatchReuse::OnceOnly => citycode::Reuse::OnceOnly,
            BatchReuse::LimitedTime { secs } => citycode::Reuse::LimitedTime { secs },
        };
        let batch = citycode::CredentialBatch::empty(reuse, refill_below as usize);
        Arc::new(HolderBatch { inner: std::sync::Mutex::new(batch) })
    }

    /// Adds one instance (base64url, as issued) with the signer of its device key
    /// (`signer` error if the key is another).
    pub fn add(&self, credential_base64url: String, signer: Arc<dyn DeviceSigner>) -> Result<()> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let signer = ForeignSigner::new(signer)?;
        Ok(self.lock().refill(vec![(credential, signer)])?)
    }

    /// Adds one instance whose device key is a [`SigningKey`] in this library.
    pub fn add_with_key(&self, credential_base64url: String, key: Arc<SigningKey>) -> Result<()> {
        self.add(credential_base64url, key)
    }

    /// Builds a code for a scene from the next instance (only what the scene reads).
    /// A failure (a signer cancelled, a domain not held) keeps the instance.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(&self, scene: Scene, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(&citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }

    /// Builds a code disclosing `domains`, whole, from the next instance.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present(&self, domains: Vec<Domain>, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(&domain_ids(domains), at, options)?;
        Ok(presented(&code, at))
    }

    /// Instances not yet shown.
    pub fn remaining(&self) -> u32 {
        u32::try_from(self.lock().remaining()).unwrap_or(u32::MAX)
    }

    /// Whether to ask the issuer for more, next time the phone is online.
    pub fn needs_refill(&self) -> bool {
        self.lock().needs_refill()
    }

    /// The instances still to be shown (base64url), in order: what the app persists
    /// across restarts. A device key whose instance is no longer listed can be deleted.
    pub fn unshown(&self) -> Result<Vec<String>> {
        self.lock().unshown().map(|c| Ok(c.to_base64url()?)).collect()
    }
}

impl HolderBatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, citycode::CredentialBatch<ForeignSigner>> {
        // A panic while holding the lock cannot leave the batch half-updated in a way
        // that matters (each operation moves whole instances): keep using it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A guardian's app: their own credential and up to 5 dependants' credentials (an
/// elder's, a child's), all on the guardian's device key; shows any of them.
#[derive(uniffi::Object)]
pub struct GuardianWallet {
    inner: std::sync::Mutex<citycode::Wallet<ForeignSigner>>,
}

impl std::fmt::Debug for GuardianWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianWallet").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl GuardianWallet {
    /// A wallet for the guardian's device signer, holding at most `max_dependants`
    /// (5 by default).
    #[uniffi::constructor(default(max_dependants = 5))]
    pub fn new(signer: Arc<dyn DeviceSigner>, max_dependants: u32) -> Result<Arc<Self>> {
        let wallet = citycode::Wallet::with_limit(ForeignSigner::new(signer)?, max_dependants as usize);
        Ok(Arc::new(GuardianWallet { inner: std::sync::Mutex::new(wallet) }))
    }

    /// A wallet whose device key is a [`SigningKey`] in this library.
    #[uniffi::constructor(default(max_dependants = 5))]
    pub fn with_key(key: Arc<SigningKey>, max_dependants: u32) -> Result<Arc<Self>> {
        GuardianWallet::new(key, max_dependants)
    }

    /// Sets the guardian's own credential (base64url).
    pub fn set_own(&self, credential_base64url: String) -> Result<()> {
        Ok(self.lock().set_own(citycode::Credential::from_base64url(&credential_base64url)?)?)
    }

    /// Adds (or renews) a dependant's credential under `label`; `out_of_range` beyond
    /// the limit or for a credential not issued to a guardian.
    pub fn add_dependant(&self, label: String, credential_base64url: String) -> Result<()> {
        Ok(self.lock().add_dependant(&label, citycode::Credential::from_base64url(&credential_base64url)?)?)
    }

    /// Removes a dependant; whether it was held.
    pub fn remove_dependant(&self, label: String) -> bool {
        self.lock().remove_dependant(&label)
    }

    /// The dependants' labels, in the order added.
    pub fn dependants(&self) -> Vec<String> {
        self.lock().dependants().map(str::to_string).collect()
    }

    /// Builds a code for a scene: the guardian's own (`dependant` null) or a dependant's.
    #[uniffi::method(default(dependant = None, now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(
        &self,
        scene: Scene,
        dependant: Option<String>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(dependant.as_deref(), &citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }
}

impl GuardianWallet {
    fn lock(&self) -> std::sync::MutexGuard<'_, citycode::Wallet<ForeignSigner>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A device key whose signatures arrive asynchronously: a keystore behind a biometric
/// prompt (Android's `BiometricPrompt`, iOS's LocalAuthentication), or any signer that
/// should not block the caller's thread. Implemented in Kotlin (`suspend fun`), Swift
/// (`async`) or Python (`async def`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AsyncDeviceSigner: Send + Sync {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;
    /// The public key, as for [`DeviceSigner::public_key`].
    fn public_key(&self) -> Vec<u8>;
    /// Signs `message` (DER or 64-byte `r || s`), or fails with a `signer` error when
    /// the user cancels the prompt.
    async fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// A holder whose device signer is asynchronous ([`AsyncDeviceSigner`]): the code is
/// built, the signer awaited, and the signature checked against the device key before
/// the code is returned.
#[derive(uniffi::Object)]
pub struct AsyncHolder {
    credential: citycode::Credential,
    key: citycode::PublicKey,
    signer: Arc<dyn AsyncDeviceSigner>,
}

impl std::fmt::Debug for AsyncHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncHolder").field("key", &self.key).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl AsyncHolder {
    /// A holder with a credential (base64url) and an asynchronous device signer whose
    /// key the credential is bound to.
    #[uniffi::constructor]
    pub fn new(credential_base64url: String, signer: Arc<dyn AsyncDeviceSigner>) -> Result<Arc<Self>> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let key = signer_key(signer.algorithm(), &signer.public_key())?;
        if key != credential.device_key {
            return Err(CitycodeError::signer("the signer's key is not the credential's device key"));
        }
        Ok(Arc::new(AsyncHolder { credential, key, signer }))
    }

    /// The pseudonymous subject, hex.
    pub fn subject(&self) -> String {
        self.credential.subject.to_hex()
    }

    /// Builds a code for a scene (only what its policy reads), awaiting the signer.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub async fn present_for_scene(
        &self,
        scene: Scene,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let scene = citycode::Scene::from(scene);
        self.sign(&scene, now_unix, validity_secs).await
    }

    /// Builds a code that discloses `domains`, whole, awaiting the signer.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub async fn present(
        &self,
        domains: Vec<Domain>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let ids = domain_ids(domains);
        self.sign(&ids, now_unix, validity_secs).await
    }
}

impl AsyncHolder {
    async fn sign(
        &self,
        disclosure: impl Into<citycode::Disclosure<'_>>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let unsigned = citycode::prepare(&self.credential, &self.key, disclosure, at, options)?;
        let signature = self.signer.sign(unsigned.signing_input().to_vec()).await?;
        Ok(presented(&unsigned.finish(&signature)?, at))
    }
}

fn domain_ids(domains: Vec<Domain>) -> Vec<u32> {
    domains.into_iter().map(|d| cc::Domain::from(d).id()).collect()
}

fn presented(code: &citycode::Code, at: u64) -> PresentedCode {
    PresentedCode {
        text: code.to_text(),
        base64url: code.to_base64url(),
        issued_at: u64::from(code.issued_at()),
        expires_at: code.expires_at(),
        refresh_in_secs: code.refresh_in(at),
    }
}

impl DeviceSigner for SigningKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.inner.algorithm().into()
    }
    fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_bytes()
    }
    fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError> {
        Ok(self.inner.sign(&message).to_vec())
    }
}

// ---------------------------------------------------------------------------------
// Verifier.

/// What a verifier decided: core's `Verdict`, field for field (the verify server and the
/// CLI print its JSON, which [`Verifier::verify_json`] returns).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Decision {
    /// The code passed every check.
    Accept {
        /// The policy that accepted the code (`hospital`, `scenic_spot:<site>`, ...).
        policy: String,
        /// Exactly the disclosed claims; `claims.guardian` is set when a guardian showed
        /// the code ([`claims_json`] gives them as core's JSON).
        claims: Claims,
        /// The holder's pseudonymous subject, hex.
        subject: String,
        /// Unix second the code was built.
        issued_at: u32,
        /// Key ids of the issuers of the code's cards, in card order.
        issuers: Vec<u32>,
        /// False only when the verifier runs without revocation lists by choice
        /// (`allowMissingRevocationList`) and holds none.
        revocation_checked: bool,
        /// Whether the code was checked for replay: false when the verifier's replay
        /// store records nothing, and for a printed code (never replay-checked).
        replay_checked: bool,
        /// A printed code: no device signed it, so staff MUST check the person's identity
        /// document against `claims.identity` (SPEC.md §5.1). (Core's JSON leaves it out
        /// when false.)
        printed: bool,
    },
    /// The code was refused.
    Reject {
        /// The stable reason code (SPEC.md §10).
        reason: String,
        /// What failed.
        detail: String,
    },
}

impl From<citycode::Verdict> for Decision {
    fn from(verdict: citycode::Verdict) -> Self {
        // Every field named: a field core adds does not compile until it is carried.
        match verdict {
            citycode::Verdict::Accept {
                policy,
                claims,
                subject,
                issued_at,
                issuers,
                revocation_checked,
                replay_checked,
                printed,
            } => Decision::Accept {
                policy,
                claims: claims.into(),
                subject,
                issued_at,
                issuers,
                revocation_checked,
                replay_checked,
                printed,
            },
            citycode::Verdict::Reject { reason, detail } => Decision::Reject { reason: reason.code().into(), detail },
            // A verdict this adapter does not know refuses the code.
            _ => Decision::Reject { reason: "internal".into(), detail: "unknown verdict".into() },
        }
    }
}

/// The claims as core's JSON (names as in SPEC.md §4.3): for logs and comparisons.
#[uniffi::export]
pub fn claims_json(claims: Claims) -> Result<String> {
    let claims = cc::Claims::try_from(claims)?;
    serde_json::to_string(&claims).map_err(|e| CitycodeError::invalid(e.to_string()))
}

/// A terminal's or backend's verifier. Thread-safe.
#[derive(uniffi::Object)]
pub struct Verifier {
    inner: RwLock<citycode::Verifier>,
}

#[uniffi::export]
impl Verifier {
    /// A verifier pinned to a root key, for a scene, with clock skew and the longest
    /// code validity accepted. Load a trust list before verifying.
    #[uniffi::constructor(default(skew_secs = 30, max_code_validity_secs = 120))]
    pub fn new(
        root_algorithm: KeyAlgorithm,
        root_key: Vec<u8>,
        scene: Scene,
        skew_secs: u32,
        max_code_validity_secs: u8,
    ) -> Result<Arc<Self>> {
        let root = public_key(root_algorithm, &root_key)?;
        let config = citycode::VerifierConfig {
            skew_secs,
            max_code_validity_secs,
            ..citycode::VerifierConfig::new(&root, citycode::Scene::from(scene))
        };
        Ok(Arc::new(Verifier { inner: RwLock::new(config.build()?) }))
    }

    /// A verifier from core's `VerifierConfig` as JSON, the `verifier` object of every
    /// test vector: `root_alg`, `root_key` (hex) and `scene`, and optionally
    /// `skew_secs`, `max_code_validity_secs`, `utc_offset_minutes` and
    /// `allow_missing_revocation_list` and `gm_only`. Other members (a vector's lists)
    /// are ignored.
    #[uniffi::constructor]
    pub fn from_config_json(json: String) -> Result<Arc<Self>> {
        let config: citycode::VerifierConfig = serde_json::from_str(&json)
            .map_err(|e| CitycodeError::invalid(format!("verifier configuration JSON: {e}")))?;
        Ok(Arc::new(Verifier { inner: RwLock::new(config.build()?) }))
    }

    /// Loads a signed trust list; refuses bad signatures and rollback.
    pub fn load_trust_list(&self, list: Vec<u8>) -> Result<()> {
        Ok(self.inner.write().map_err(|_| CitycodeError::invalid("verifier lock poisoned"))?.load_trust_list(&list)?)
    }

    /// Loads a signed revocation list now (or at `now_unix`); refuses bad signatures,
    /// rollback, and an issuer-signed list whose key is not valid then (SPEC.md §8.3).
    #[uniffi::method(default(now_unix = None))]
    pub fn load_revocation_list(&self, list: Vec<u8>, now_unix: Option<u64>) -> Result<()> {
        Ok(self
            .inner
            .write()
            .map_err(|_| CitycodeError::invalid("verifier lock poisoned"))?
            .load_revocation_list_at(&list, now_unix.unwrap_or_else(now))?)
    }

    /// Switches the scene.
    pub fn set_scene(&self, scene: Scene) -> Result<()> {
        self.inner
            .write()
            .map_err(|_| CitycodeError::invalid("verifier lock poisoned"))?
            .set_policy(citycode::Scene::from(scene));
        Ok(())
    }

    /// Verifies scanned text now (or at `now_unix`). Never throws for a bad code: the
    /// decision says why.
    #[uniffi::method(default(now_unix = None))]
    pub fn verify(&self, text: String, now_unix: Option<u64>) -> Decision {
        self.verdict(&text, now_unix).into()
    }

    /// [`Verifier::verify`], answered as core's `Verdict` in JSON: the shape the verify
    /// server and the CLI print, for backends that log or forward it.
    #[uniffi::method(default(now_unix = None))]
    pub fn verify_json(&self, text: String, now_unix: Option<u64>) -> String {
        let verdict = self.verdict(&text, now_unix);
        // A verdict is strings, numbers and booleans: serialising it cannot fail.
        serde_json::to_string(&verdict).unwrap_or_default()
    }

    /// Sets the verifier's local offset from UTC in minutes (480, China Standard Time,
    /// by default): a health status's last day ends at local midnight (SPEC.md §11).
    pub fn set_utc_offset_minutes(&self, minutes: i32) -> Result<()> {
        self.write()?.set_utc_offset_minutes(minutes);
        Ok(())
    }

    /// Accepts codes while no revocation list is held. By default every code is then
    /// refused (`no_revocation_list`); accepted decisions of a verifier running without
    /// a list carry `revocation_checked = false`.
    pub fn allow_missing_revocation_list(&self) -> Result<()> {
        self.write()?.set_revocation_required(false);
        Ok(())
    }

    /// Accepts only the national algorithms: the root (which must be SM2), every issuer
    /// key and every device key SM2, every digest SM3 (SPEC.md §4.6). A trust list or
    /// code with another algorithm is then refused (`unsupported_algorithm`).
    pub fn require_gm_only(&self) -> Result<()> {
        Ok(self.write()?.set_gm_only()?)
    }

    /// Fetches a published list directory (SPEC.md §8.4) through `fetcher` and loads
    /// every list newer than the held one: the status first (root signature checked,
    /// an older status refused as a stale mirror), then each newer list, checked
    /// against the status's digest and loaded with its own signature and rollback
    /// checks. Call it on a schedule; on error the verifier keeps the lists it holds
    /// until they expire. Returns the names of the files loaded.
    pub fn update_lists(&self, fetcher: Arc<dyn ListFetcher>) -> Result<Vec<String>> {
        let status = fetcher.fetch(citycode::distribution::STATUS_FILE.into())?;
        let plan =
            self.inner.read().map_err(|_| CitycodeError::invalid("verifier lock poisoned"))?.plan_update(status)?;
        let mut files = Vec::new();
        for name in plan.to_fetch() {
            files.push(fetcher.fetch(name)?);
        }
        Ok(self.write()?.apply_update(plan, files)?.loaded)
    }

    /// Keeps this verifier's list state in `store` (SPEC.md §8.3): restores what the
    /// store saved (from now on anything older is refused, and every revocation list it
    /// names must load again before a code is accepted), saves the result at once, and
    /// from then on saves after every load that changes it, before the load takes
    /// effect. Attach it before loading lists, once per verifier object. Fails with
    /// `list_state_unavailable` if the store cannot be read or written or holds a state
    /// of another root key; nothing changes then.
    pub fn set_list_state_store(&self, store: Arc<dyn ListStateStore>) -> Result<()> {
        Ok(self.write()?.set_list_state_store(Arc::new(ForeignListStateStore(store)))?)
    }

    /// The list state as JSON: what a [`ListStateStore`] is given to save.
    pub fn list_state(&self) -> String {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner).list_state().to_json()
    }

    /// The lists held (core's `HeldList`): what a terminal shows its operator and
    /// reports to monitoring.
    pub fn held_lists(&self) -> Result<Vec<HeldList>> {
        let v = self.inner.read().map_err(|_| CitycodeError::invalid("verifier lock poisoned"))?;
        Ok(v.held_lists().into_iter().map(HeldList::from).collect())
    }
}

impl Verifier {
    fn verdict(&self, text: &str, now_unix: Option<u64>) -> citycode::Verdict {
        // Core changes a verifier only once a load has passed every check, so a lock
        // poisoned by a panic elsewhere still guards a whole verifier (as in the server).
        let v = self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        citycode::Verdict::from(v.verify_at(text, now_unix.unwrap_or_else(now)))
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, citycode::Verifier>> {
        self.inner.write().map_err(|_| CitycodeError::invalid("verifier lock poisoned"))
    }
}

/// Where an app keeps a verifier's list state across restarts (SPEC.md §8.3): the
/// sequence and digest of every list and list status the verifier applied, as a JSON
/// string. Implement it over the app's storage (a file, SharedPreferences, UserDefaults,
/// a database row) and attach it with [`Verifier::set_list_state_store`]. The verifier
/// calls it itself: `load` once when attached, `save` after every load that changes its
/// state, before that load takes effect. So a verifier restarted against a stale mirror
/// that serves an older, unexpired publication refuses it (`list_status_rollback`, and
/// the rollback reasons of each list) and the phone it no longer revokes.
#[uniffi::export(with_foreign)]
pub trait ListStateStore: Send + Sync {
    /// The JSON last saved, or null if nothing was ever saved. Any error (unreadable,
    /// not a list state, another root's) keeps the store from being attached.
    fn load(&self) -> std::result::Result<Option<String>, CitycodeError>;
    /// Saves `state` (JSON), durably, replacing what was saved: return only when a
    /// restart would load it. An error fails the load that would change the state
    /// (`list_state_unavailable`), and the verifier keeps the lists it held.
    fn save(&self, state: String) -> std::result::Result<(), CitycodeError>;
}

/// Adapts an app's store to core's: JSON in and out, core parses and checks it.
struct ForeignListStateStore(Arc<dyn ListStateStore>);

impl citycode::ListStateStore for ForeignListStateStore {
    fn load(&self) -> std::result::Result<Option<citycode::ListState>, String> {
        match self.0.load().map_err(|e| e.to_string())? {
            Some(json) => citycode::ListState::from_json(&json).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    fn save(&self, state: &citycode::ListState) -> std::result::Result<(), String> {
        self.0.save(state.to_json()).map_err(|e| e.to_string())
    }
}

/// Fetches files of a published list directory: `status.bin`, `trust-list.bin`,
/// `revocation-root.bin`, `revocation-issuer-<kid>.bin`. Implement it over your HTTP
/// client (OkHttp, URLSession, requests).
#[uniffi::export(with_foreign)]
pub trait ListFetcher: Send + Sync {
    /// The bytes of the file `name`, or an error (any code; the update fails with it).
    fn fetch(&self, name: String) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// A list a verifier holds: core's `HeldList`, field for field.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HeldList {
    /// Its file name: `trust-list.bin`, `revocation-root.bin` or `revocation-issuer-<kid>.bin`.
    pub name: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Unix second it was issued.
    pub issued_at: u32,
    /// Unix second from which every code is refused unless a newer list arrives.
    pub expires_at: u32,
}

impl From<citycode::HeldList> for HeldList {
    fn from(held: citycode::HeldList) -> Self {
        let citycode::HeldList { name, sequence, issued_at, expires_at } = held;
        HeldList { name, sequence, issued_at, expires_at }
    }
}

// ---------------------------------------------------------------------------------
// Issuer and operators.

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

/// A font for printed cards' PDFs: one face of an OpenType font file or collection,
/// checked to allow embedding a subset. Load it once and print every card with it (a CJK
/// font is about 20 MB). Builds without the `pdf` feature (the mobile packages) refuse to
/// make one (`invalid_argument`).
#[derive(Debug, uniffi::Object)]
pub struct CardFont {
    #[cfg(feature = "pdf")]
    inner: citycode::print_card::CardFont,
}

#[cfg(not(feature = "pdf"))]
fn no_pdf<T>() -> Result<T> {
    Err(CitycodeError::invalid("this build has no PDF cards (built without the citycode-ffi `pdf` feature)"))
}

#[uniffi::export]
impl CardFont {
    /// Reads a font file (`.otf`, `.ttf`, `.ttc`). `family` picks a face of a collection
    /// by family or full name; without it, "Noto Sans CJK SC" (or Source Han Sans SC).
    /// Fails with `font_unreadable`, `font_invalid`, `font_face_not_found` or
    /// `font_not_embeddable`.
    #[uniffi::constructor]
    pub fn from_file(path: String, family: Option<String>) -> Result<Arc<Self>> {
        #[cfg(feature = "pdf")]
        return Ok(Arc::new(CardFont { inner: citycode::print_card::CardFont::from_file(path, family.as_deref())? }));
        #[cfg(not(feature = "pdf"))]
        {
            let _ = (path, family);
            no_pdf()
        }
    }

    /// A font from the bytes of a font file, the face chosen as by `from_file`.
    #[uniffi::constructor]
    pub fn from_bytes(data: Vec<u8>, family: Option<String>) -> Result<Arc<Self>> {
        #[cfg(feature = "pdf")]
        return Ok(Arc::new(CardFont { inner: citycode::print_card::CardFont::from_bytes(data, family.as_deref())? }));
        #[cfg(not(feature = "pdf"))]
        {
            let _ = (data, family);
            no_pdf()
        }
    }

    /// The chosen face's family name.
    pub fn family(&self) -> String {
        #[cfg(feature = "pdf")]
        return self.inner.family().to_string();
        #[cfg(not(feature = "pdf"))]
        String::new()
    }
}

/// Where Debian's fonts-noto-cjk puts Noto Sans CJK, the default card font.
#[uniffi::export]
pub fn default_card_font_path() -> String {
    citycode::print_card::DEFAULT_FONT_PATH.to_string()
}

/// The printable A6 card of a printed code (its QR text) as a one-page PDF that embeds a
/// subset of `font`: the symbol, the masked name, the validity dates, the instructions.
/// `missing_glyph` if the font lacks a character of the masked name.
#[uniffi::export]
pub fn printed_card_pdf(text: String, font: Arc<CardFont>) -> Result<Vec<u8>> {
    let code = citycode::PrintedCode::from_text(&text)?;
    #[cfg(feature = "pdf")]
    return Ok(citycode::print_card::printed_card_pdf(&code, &font.inner)?);
    #[cfg(not(feature = "pdf"))]
    {
        let _ = (code, font);
        no_pdf()
    }
}

/// The printable A6 card of a printed code (its QR text) as SVG, its fonts left to the
/// viewer (it names Noto Sans CJK SC).
#[uniffi::export]
pub fn printed_card_svg(text: String) -> Result<String> {
    let code = citycode::PrintedCode::from_text(&text)?;
    Ok(citycode::print_card::printed_card_svg(&code)?)
}

/// A random pseudonymous subject id (8 bytes).
#[uniffi::export]
pub fn random_subject() -> Result<Vec<u8>> {
    Ok(citycode::Subject::random()?.0.to_vec())
}

/// An issuer key entry of a trust list.
#[derive(Clone, Debug, uniffi::Record)]
pub struct TrustedIssuer {
    /// Key id.
    pub kid: u32,
    /// Algorithm.
    pub algorithm: KeyAlgorithm,
    /// Public key.
    pub public_key: Vec<u8>,
    /// Unix second the key becomes valid.
    pub not_before: u32,
    /// Unix second the key stops being valid.
    pub not_after: u32,
    /// Domain ids it may attest.
    pub domains: Vec<u32>,
}

/// Signs a trust list with the root key.
#[uniffi::export]
pub fn sign_trust_list(
    root: Arc<SigningKey>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    issuers: Vec<TrustedIssuer>,
) -> Result<Vec<u8>> {
    let mut keys = Vec::with_capacity(issuers.len());
    for i in issuers {
        keys.push(citycode::IssuerKey {
            kid: i.kid,
            key: public_key(i.algorithm, &i.public_key)?,
            not_before: i.not_before,
            not_after: i.not_after,
            domains: i.domains,
        });
    }
    Ok(citycode::TrustList::new(sequence, issued_at, expires_at, keys)?.sign(&root.inner)?)
}

/// What a revocation list names.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum Revocation {
    /// A card, by its 16-byte id.
    Card {
        /// Card id.
        id: Vec<u8>,
    },
    /// A subject (8 bytes).
    Subject {
        /// Subject id.
        id: Vec<u8>,
    },
    /// A device key, by its 16-byte key id.
    DeviceKey {
        /// Device key id.
        id: Vec<u8>,
    },
}

/// Signs a revocation list with the root key (`issuer_kid` = None) or an issuer key.
#[uniffi::export]
pub fn sign_revocation_list(
    key: Arc<SigningKey>,
    issuer_kid: Option<u32>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    entries: Vec<Revocation>,
) -> Result<Vec<u8>> {
    let fixed =
        |id: Vec<u8>| -> Result<[u8; 16]> { id.try_into().map_err(|_| CitycodeError::invalid("ids are 16 bytes")) };
    let mut list = Vec::with_capacity(entries.len());
    for e in entries {
        list.push(match e {
            Revocation::Card { id } => citycode::Revoked::Card(fixed(id)?),
            Revocation::DeviceKey { id } => citycode::Revoked::DeviceKey(fixed(id)?),
            Revocation::Subject { id } => {
                citycode::Revoked::Subject(id.try_into().map_err(|_| CitycodeError::invalid("subjects are 8 bytes"))?)
            }
        });
    }
    let signer = issuer_kid.map_or(citycode::ListSigner::Root, citycode::ListSigner::Issuer);
    Ok(citycode::RevocationList::new(signer, sequence, issued_at, expires_at, list)?.sign(&key.inner)?)
}

/// One file of a published list directory.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PublishedFile {
    /// Its name in the directory.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Publishes signed lists for verifiers to fetch (SPEC.md §8.4): the lists under their
/// fixed names, `status.bin`, signed by `root`, naming each list's sequence, expiry
/// and digest, and `status.json`, the same index unsigned. Write every file to a directory a static web server serves, `status.bin`
/// last. Every list's signature is checked first.
#[uniffi::export]
pub fn publish_lists(
    root: Arc<SigningKey>,
    sequence: u64,
    issued_at: u32,
    expires_at: u32,
    trust_list: Vec<u8>,
    revocation_lists: Vec<Vec<u8>>,
) -> Result<Vec<PublishedFile>> {
    let refs: Vec<&[u8]> = revocation_lists.iter().map(Vec::as_slice).collect();
    let status = citycode::distribution::ListStatus::describe(
        sequence,
        issued_at,
        expires_at,
        &root.inner.public_key(),
        &trust_list,
        &refs,
    )?;
    let mut files = Vec::with_capacity(status.entries.len() + 1);
    for entry in &status.entries {
        let bytes = std::iter::once(&trust_list)
            .chain(&revocation_lists)
            .find(|b| entry.describes(root.inner.algorithm(), b))
            .ok_or_else(|| CitycodeError::invalid("a list vanished"))?;
        files.push(PublishedFile { name: entry.file.file_name(), bytes: bytes.clone() });
    }
    let index = status.index_json().into_bytes();
    files.push(PublishedFile { name: citycode::distribution::STATUS_INDEX_FILE.into(), bytes: index });
    files.push(PublishedFile { name: citycode::distribution::STATUS_FILE.into(), bytes: status.sign(&root.inner)? });
    Ok(files)
}

/// Whether `signature` (64-byte `r || s`, or Ed25519's 64 bytes) over `message`
/// verifies under `public_key` with the checks of SPEC.md §4.2: for algorithm tests
/// and for checking a keystore. A public key that is not valid for `algorithm` is an
/// error (`invalid_device_key`, or `malformed` for the wrong length); P-256 and SM2 keys
/// may be compressed or uncompressed SEC1.
#[uniffi::export]
pub fn verify_signature(
    algorithm: KeyAlgorithm,
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
) -> Result<bool> {
    Ok(signer_key(algorithm, &public_key)?.verify(&message, &signature))
}

/// The digest that goes with `algorithm` (SPEC.md §4.6): SM3 for SM2, SHA-256
/// otherwise.
#[uniffi::export]
pub fn digest(algorithm: KeyAlgorithm, data: Vec<u8>) -> Result<Vec<u8>> {
    Ok(citycode::digest::digest(algorithm.into(), &data).ok_or(citycode::Reason::UnsupportedAlgorithm)?.to_vec())
}

/// Decodes base64url (lists and credentials travel in JSON this way).
#[uniffi::export]
pub fn base64url_decode(text: String) -> Result<Vec<u8>> {
    Ok(citycode::text::decode_base64url(&text)?)
}

/// The library version.
#[uniffi::export]
pub fn citycode_version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
