//! Android key attestation (SPEC.md §4.10.4): the certificate chain Android Keystore
//! returns for a key generated with an attestation challenge, whose leaf carries the
//! KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17).
//!
//! [`AndroidAttestation::parse`] reads the chain and the extension strictly (untrusted);
//! [`AndroidAttestation::verify`] alone says what they prove.

use std::collections::BTreeMap;

use base64::Engine as _;
use citycode::{Algorithm, PublicKey};
use der::asn1::{AnyRef, ObjectIdentifier as Oid};

use crate::x509::{octets, octets_der};
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::AttestationError;
use crate::policy::AttestationPolicy;
use crate::revocation::StatusList;
use crate::roots::Root;
use crate::x509::{Cert, KeyKind, LeafIssuer, public_key, verify_path};

/// OID of the Android key attestation extension (KeyDescription).
pub const KEY_DESCRIPTION_OID: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.1.17");

/// Where a key lives, as KeyMint reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityLevel {
    /// Android's software keystore: the key can be copied off the phone.
    Software,
    /// The Trusted Execution Environment (TrustZone and the like).
    TrustedEnvironment,
    /// A separate secure element (StrongBox).
    StrongBox,
}

impl SecurityLevel {
    fn from_enumerated(v: i64) -> Result<Self, AttestationError> {
        match v {
            0 => Ok(SecurityLevel::Software),
            1 => Ok(SecurityLevel::TrustedEnvironment),
            2 => Ok(SecurityLevel::StrongBox),
            _ => Err(AttestationError::Malformed("unknown security level")),
        }
    }

    /// The name in Google's JSON (`TRUSTED_ENVIRONMENT`, ...).
    pub fn json_name(self) -> &'static str {
        match self {
            SecurityLevel::Software => "SOFTWARE",
            SecurityLevel::TrustedEnvironment => "TRUSTED_ENVIRONMENT",
            SecurityLevel::StrongBox => "STRONG_BOX",
        }
    }
}

/// The boot state the root of trust reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedBootState {
    /// Verified boot with the manufacturer's key: the OS is the one shipped.
    Verified,
    /// Verified boot with a user-installed key (a custom OS the owner chose).
    SelfSigned,
    /// No verified boot: an unlocked bootloader, anything may run.
    Unverified,
    /// Verification failed.
    Failed,
}

impl VerifiedBootState {
    fn from_enumerated(v: i64) -> Result<Self, AttestationError> {
        match v {
            0 => Ok(VerifiedBootState::Verified),
            1 => Ok(VerifiedBootState::SelfSigned),
            2 => Ok(VerifiedBootState::Unverified),
            3 => Ok(VerifiedBootState::Failed),
            _ => Err(AttestationError::Malformed("unknown verified boot state")),
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            VerifiedBootState::Verified => "VERIFIED",
            VerifiedBootState::SelfSigned => "SELF_SIGNED",
            VerifiedBootState::Unverified => "UNVERIFIED",
            VerifiedBootState::Failed => "FAILED",
        }
    }
}

/// RootOfTrust: the boot state the secure hardware saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootOfTrust {
    /// Digest of the key that verified the boot image (zeros when unlocked on some devices).
    pub verified_boot_key: Vec<u8>,
    /// Whether the bootloader is locked.
    pub device_locked: bool,
    /// The verified boot state.
    pub verified_boot_state: VerifiedBootState,
    /// Digest of the verified boot data (attestation version 3 and later).
    pub verified_boot_hash: Option<Vec<u8>>,
}

/// One package of an AttestationApplicationId.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageInfo {
    /// The package name.
    pub name: String,
    /// The package version code.
    pub version: i64,
}

/// AttestationApplicationId: the app(s) that asked for the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationId {
    /// The packages sharing the app's uid.
    pub packages: Vec<PackageInfo>,
    /// SHA-256 digests of the app's signing certificates.
    pub signature_digests: Vec<Vec<u8>>,
}

/// The value of one AuthorizationList entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthValue {
    /// An INTEGER.
    Int(i64),
    /// A SET OF INTEGER (purposes, digests, ...).
    IntSet(Vec<i64>),
    /// A NULL: the property holds.
    Flag,
    /// An OCTET STRING of bytes (application id, module hash).
    Bytes(Vec<u8>),
    /// An OCTET STRING holding UTF-8 text (device ids).
    Text(String),
    /// The RootOfTrust.
    RootOfTrust(RootOfTrust),
    /// The AttestationApplicationId.
    ApplicationId(ApplicationId),
    /// A tag this verifier does not know, kept as its inner DER (SPEC.md §4.10.4).
    Unknown(Vec<u8>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    IntSet,
    Flag,
    Bytes,
    Text,
    RootOfTrust,
    ApplicationId,
}

/// Every tag of the AuthorizationList schema, attestation versions 1 to 400 (KeyMint 4)
/// and the ML-DSA variant, with its name in Google's JSON and its type.
const SCHEMA: &[(u32, &str, Kind)] = &[
    (1, "purposes", Kind::IntSet),
    (2, "algorithms", Kind::Int),
    (3, "keySize", Kind::Int),
    (4, "blockModes", Kind::IntSet),
    (5, "digests", Kind::IntSet),
    (6, "paddings", Kind::IntSet),
    (7, "callerNonce", Kind::Flag),
    (8, "minMacLength", Kind::Int),
    (10, "ecCurve", Kind::Int),
    (11, "mlDsaVariant", Kind::Int),
    (200, "rsaPublicExponent", Kind::Int),
    (203, "rsaOaepMgfDigests", Kind::IntSet),
    (303, "rollbackResistance", Kind::Flag),
    (305, "earlyBootOnly", Kind::Flag),
    (400, "activeDateTime", Kind::Int),
    (401, "originationExpireDateTime", Kind::Int),
    (402, "usageExpireDateTime", Kind::Int),
    (405, "usageCountLimit", Kind::Int),
    (503, "noAuthRequired", Kind::Flag),
    (504, "userAuthType", Kind::Int),
    (505, "authTimeout", Kind::Int),
    (506, "allowWhileOnBody", Kind::Flag),
    (507, "trustedUserPresenceRequired", Kind::Flag),
    (508, "trustedConfirmationRequired", Kind::Flag),
    (509, "unlockedDeviceRequired", Kind::Flag),
    (600, "allApplications", Kind::Flag),
    (601, "applicationId", Kind::Bytes),
    (701, "creationDateTime", Kind::Int),
    (702, "origin", Kind::Int),
    (703, "rollbackResistant", Kind::Flag),
    (704, "rootOfTrust", Kind::RootOfTrust),
    (705, "osVersion", Kind::Int),
    (706, "osPatchLevel", Kind::Int),
    (709, "attestationApplicationId", Kind::ApplicationId),
    (710, "attestationIdBrand", Kind::Text),
    (711, "attestationIdDevice", Kind::Text),
    (712, "attestationIdProduct", Kind::Text),
    (713, "attestationIdSerial", Kind::Text),
    (714, "attestationIdImei", Kind::Text),
    (715, "attestationIdMeid", Kind::Text),
    (716, "attestationIdManufacturer", Kind::Text),
    (717, "attestationIdModel", Kind::Text),
    (718, "vendorPatchLevel", Kind::Int),
    (719, "bootPatchLevel", Kind::Int),
    (720, "deviceUniqueAttestation", Kind::Flag),
    (723, "attestationIdSecondImei", Kind::Text),
    (724, "moduleHash", Kind::Bytes),
];

/// KeyMint purpose SIGN.
pub const PURPOSE_SIGN: i64 = 2;
/// KeyMint algorithm EC.
pub const ALGORITHM_EC: i64 = 3;
/// KeyMint EC curve P-256.
pub const EC_CURVE_P256: i64 = 1;
/// KeyMint key origin GENERATED.
pub const ORIGIN_GENERATED: i64 = 0;

/// An AuthorizationList: its entries by tag number, in the strictly ascending order DER
/// requires of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationList {
    entries: BTreeMap<u32, AuthValue>,
}

impl AuthorizationList {
    /// The entry of a tag.
    pub fn get(&self, tag: u32) -> Option<&AuthValue> {
        self.entries.get(&tag)
    }

    /// Every entry, by ascending tag.
    pub fn entries(&self) -> impl Iterator<Item = (u32, &AuthValue)> {
        self.entries.iter().map(|(t, v)| (*t, v))
    }

    /// Tags present that the schema does not know.
    pub fn unknown_tags(&self) -> Vec<u32> {
        self.entries.iter().filter(|(_, v)| matches!(v, AuthValue::Unknown(_))).map(|(t, _)| *t).collect()
    }

    fn int(&self, tag: u32) -> Option<i64> {
        match self.entries.get(&tag) {
            Some(AuthValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// The purposes (tag 1).
    pub fn purposes(&self) -> &[i64] {
        match self.entries.get(&1) {
            Some(AuthValue::IntSet(v)) => v,
            _ => &[],
        }
    }

    /// The algorithm (tag 2).
    pub fn algorithm(&self) -> Option<i64> {
        self.int(2)
    }

    /// The EC curve (tag 10).
    pub fn ec_curve(&self) -> Option<i64> {
        self.int(10)
    }

    /// The key's origin (tag 702).
    pub fn origin(&self) -> Option<i64> {
        self.int(702)
    }

    /// The OS version (tag 705), e.g. 160000 for Android 16.
    pub fn os_version(&self) -> Option<i64> {
        self.int(705)
    }

    /// The OS patch level (tag 706), `YYYYMM`.
    pub fn os_patch_level(&self) -> Option<i64> {
        self.int(706)
    }

    /// The vendor patch level (tag 718).
    pub fn vendor_patch_level(&self) -> Option<i64> {
        self.int(718)
    }

    /// The boot patch level (tag 719).
    pub fn boot_patch_level(&self) -> Option<i64> {
        self.int(719)
    }

    /// The root of trust (tag 704).
    pub fn root_of_trust(&self) -> Option<&RootOfTrust> {
        match self.entries.get(&704) {
            Some(AuthValue::RootOfTrust(r)) => Some(r),
            _ => None,
        }
    }

    /// The list in the JSON form of Google's test data (numbers as decimal strings,
    /// bytes as standard base64), for comparison and logs.
    pub fn to_json(&self) -> Value {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut out = serde_json::Map::new();
        for (tag, value) in &self.entries {
            let name = SCHEMA.iter().find(|(t, _, _)| t == tag).map(|(_, n, _)| n.to_string());
            let name = name.unwrap_or_else(|| format!("unknownTag{tag}"));
            let v = match value {
                AuthValue::Int(v) if *tag == 702 => json!(origin_name(*v)),
                AuthValue::Int(v) => json!(v.to_string()),
                AuthValue::IntSet(v) => json!(v.iter().map(i64::to_string).collect::<Vec<_>>()),
                AuthValue::Flag => json!(true),
                AuthValue::Bytes(b) | AuthValue::Unknown(b) => json!(b64(b)),
                AuthValue::Text(s) => json!(s),
                AuthValue::RootOfTrust(r) => {
                    let mut m = serde_json::Map::new();
                    m.insert("verifiedBootKey".into(), json!(b64(&r.verified_boot_key)));
                    m.insert("deviceLocked".into(), json!(r.device_locked));
                    m.insert("verifiedBootState".into(), json!(r.verified_boot_state.json_name()));
                    if let Some(h) = &r.verified_boot_hash {
                        m.insert("verifiedBootHash".into(), json!(b64(h)));
                    }
                    Value::Object(m)
                }
                AuthValue::ApplicationId(a) => json!({
                    "packages": a.packages.iter().map(|p| json!({"name": p.name, "version": p.version.to_string()})).collect::<Vec<_>>(),
                    "signatures": a.signature_digests.iter().map(|d| b64(d)).collect::<Vec<_>>(),
                }),
            };
            out.insert(name, v);
        }
        Value::Object(out)
    }
}

fn origin_name(v: i64) -> String {
    match v {
        0 => "GENERATED".into(),
        1 => "DERIVED".into(),
        2 => "IMPORTED".into(),
        3 => "RESERVED".into(),
        4 => "SECURELY_IMPORTED".into(),
        other => other.to_string(),
    }
}

/// KeyDescription: what the secure hardware attests about the key in the leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    /// The attestation format version (1 to 4, then 100, 200, 300, 400, 500 with KeyMint).
    pub attestation_version: i64,
    /// Where the attestation was made.
    pub attestation_security_level: SecurityLevel,
    /// The Keymaster/KeyMint version.
    pub keymint_version: i64,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// The challenge the app set at key generation.
    pub attestation_challenge: Vec<u8>,
    /// The unique id (empty unless requested by a system app).
    pub unique_id: Vec<u8>,
    /// Properties the Android OS enforces.
    pub software_enforced: AuthorizationList,
    /// Properties the secure hardware enforces.
    pub hardware_enforced: AuthorizationList,
}

impl KeyDescription {
    /// Parses the extension's value: strict DER, exactly the eight fields, AuthorizationList
    /// tags strictly ascending, each known tag of its schema type, unknown tags kept
    /// (SPEC.md §4.10.4), nothing after.
    pub fn from_der(bytes: &[u8]) -> Result<KeyDescription, AttestationError> {
        let mut r = SliceReader::new(bytes)?;
        let kd = r.sequence(|r| {
            let attestation_version = i64::decode(r)?;
            let attestation_security_level = SecurityLevel::from_enumerated(enumerated(r)?)?;
            let keymint_version = i64::decode(r)?;
            let keymint_security_level = SecurityLevel::from_enumerated(enumerated(r)?)?;
            let attestation_challenge = octets(r)?.to_vec();
            let unique_id = octets(r)?.to_vec();
            let software_enforced = authorization_list(AnyRef::decode(r)?)?;
            let hardware_enforced = authorization_list(AnyRef::decode(r)?)?;
            Ok::<_, AttestationError>(KeyDescription {
                attestation_version,
                attestation_security_level,
                keymint_version,
                keymint_security_level,
                attestation_challenge,
                unique_id,
                software_enforced,
                hardware_enforced,
            })
        })?;
        r.finish()?;
        Ok(kd)
    }

    /// The description in the JSON form of Google's test data.
    pub fn to_json(&self) -> Value {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        json!({
            "attestationVersion": self.attestation_version.to_string(),
            "attestationSecurityLevel": self.attestation_security_level.json_name(),
            "keyMintVersion": self.keymint_version.to_string(),
            "keyMintSecurityLevel": self.keymint_security_level.json_name(),
            "attestationChallenge": b64(&self.attestation_challenge),
            "uniqueId": b64(&self.unique_id),
            "softwareEnforced": self.software_enforced.to_json(),
            "hardwareEnforced": self.hardware_enforced.to_json(),
        })
    }
}

fn enumerated<'a>(r: &mut SliceReader<'a>) -> Result<i64, AttestationError> {
    let any = AnyRef::decode(r)?;
    if any.tag() != Tag::Enumerated {
        return Err(AttestationError::Malformed("expected an ENUMERATED"));
    }
    // The value is an INTEGER's (minimal two's complement) under another tag.
    Ok(AnyRef::new(Tag::Integer, any.value())?.decode_as::<i64>()?)
}

/// A SET OF INTEGER. Element order is not checked (SPEC.md §4.10.4): Keymaster 4 TEEs
/// emit purposes `{3, 2}`, and no rule depends on the order.
fn int_set(bytes: &[u8]) -> Result<Vec<i64>, AttestationError> {
    set_elements(AnyRef::from_der(bytes)?)?.into_iter().map(|tlv| Ok(i64::from_der(tlv)?)).collect()
}

fn authorization_list(any: AnyRef<'_>) -> Result<AuthorizationList, AttestationError> {
    if any.tag() != Tag::Sequence {
        return Err(AttestationError::Malformed("an AuthorizationList is not a SEQUENCE"));
    }
    let mut r = SliceReader::new(any.value())?;
    let mut entries = BTreeMap::new();
    let mut last: Option<u32> = None;
    while !r.is_finished() {
        let field = AnyRef::decode(&mut r)?;
        let Tag::ContextSpecific { constructed: true, number } = field.tag() else {
            return Err(AttestationError::Malformed("an AuthorizationList entry is not an explicit context tag"));
        };
        let tag = number.0;
        if last.is_some_and(|l| tag <= l) {
            return Err(AttestationError::Malformed("AuthorizationList tags are not in ascending order"));
        }
        last = Some(tag);
        let inner = field.value();
        let kind = SCHEMA.iter().find(|(t, _, _)| *t == tag).map(|(_, _, k)| *k);
        let value = match kind {
            Some(Kind::Int) => AuthValue::Int(i64::from_der(inner)?),
            Some(Kind::IntSet) => AuthValue::IntSet(int_set(inner)?),
            Some(Kind::Flag) => {
                der::asn1::Null::from_der(inner)?;
                AuthValue::Flag
            }
            Some(Kind::Bytes) => AuthValue::Bytes(octets_der(inner)?.to_vec()),
            Some(Kind::Text) => AuthValue::Text(utf8(octets_der(inner)?)?),
            Some(Kind::RootOfTrust) => AuthValue::RootOfTrust(root_of_trust(inner)?),
            Some(Kind::ApplicationId) => AuthValue::ApplicationId(application_id(octets_der(inner)?)?),
            None => {
                // Kept: one whole DER element, unread by any rule.
                AnyRef::from_der(inner)?;
                AuthValue::Unknown(inner.to_vec())
            }
        };
        entries.insert(tag, value);
    }
    Ok(AuthorizationList { entries })
}

fn utf8(bytes: &[u8]) -> Result<String, AttestationError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| AttestationError::Malformed("a device id is not UTF-8"))
}

fn root_of_trust(bytes: &[u8]) -> Result<RootOfTrust, AttestationError> {
    let mut r = SliceReader::new(bytes)?;
    let rot = r.sequence(|r| {
        let verified_boot_key = octets(r)?.to_vec();
        let device_locked = bool::decode(r)?;
        let verified_boot_state = VerifiedBootState::from_enumerated(enumerated(r)?)?;
        let verified_boot_hash = if r.is_finished() { None } else { Some(octets(r)?.to_vec()) };
        Ok::<_, AttestationError>(RootOfTrust {
            verified_boot_key,
            device_locked,
            verified_boot_state,
            verified_boot_hash,
        })
    })?;
    r.finish()?;
    Ok(rot)
}

/// AttestationApplicationId (no rule reads it; its SETs list packages unsorted on real
/// phones).
fn application_id(bytes: &[u8]) -> Result<ApplicationId, AttestationError> {
    let mut r = SliceReader::new(bytes)?;
    let id = r.sequence(|r| {
        let packages = set_elements(AnyRef::decode(r)?)?
            .into_iter()
            .map(|tlv| {
                let mut pr = SliceReader::new(tlv)?;
                let p = pr.sequence(|pr| {
                    let name = utf8(octets(pr)?)?;
                    let version = i64::decode(pr)?;
                    Ok::<_, AttestationError>(PackageInfo { name, version })
                })?;
                pr.finish()?;
                Ok(p)
            })
            .collect::<Result<Vec<_>, AttestationError>>()?;
        let signature_digests = set_elements(AnyRef::decode(r)?)?
            .into_iter()
            .map(|tlv| Ok(octets_der(tlv)?.to_vec()))
            .collect::<Result<Vec<_>, AttestationError>>()?;
        Ok::<_, AttestationError>(ApplicationId { packages, signature_digests })
    })?;
    r.finish()?;
    Ok(id)
}

/// The elements of a SET OF, each one whole DER element, in the order given.
fn set_elements(any: AnyRef<'_>) -> Result<Vec<&[u8]>, AttestationError> {
    if any.tag() != Tag::Set {
        return Err(AttestationError::Malformed("expected a SET OF"));
    }
    let mut r = SliceReader::new(any.value())?;
    let mut out: Vec<&[u8]> = Vec::new();
    while !r.is_finished() {
        out.push(r.tlv_bytes()?);
    }
    Ok(out)
}

/// An Android key attestation as received: the chain parsed, the leaf's KeyDescription
/// parsed, nothing verified. Read it only through [`AndroidAttestation::verify`], or
/// as [`AndroidAttestation::untrusted_description`] for diagnostics.
#[derive(Clone, Debug)]
pub struct AndroidAttestation {
    certs: Vec<Cert>,
    description: Option<KeyDescription>,
}

/// What a verified Android attestation proves (part of an
/// [`AttestationVerdict`](crate::AttestationVerdict)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AndroidFacts {
    /// Where the attestation was made.
    pub attestation_security_level: SecurityLevel,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// The attestation format version.
    pub attestation_version: i64,
    /// The KeyMint version.
    pub keymint_version: i64,
    /// The boot state the secure hardware saw, if it reported one.
    pub verified_boot_state: Option<VerifiedBootState>,
    /// Whether the bootloader was locked, if reported.
    pub device_locked: Option<bool>,
    /// The OS version (e.g. 160000), if reported.
    pub os_version: Option<i64>,
    /// The OS patch level (`YYYYMM`), if reported.
    pub os_patch_level: Option<i64>,
    /// The vendor patch level, if reported.
    pub vendor_patch_level: Option<i64>,
    /// The boot patch level, if reported.
    pub boot_patch_level: Option<i64>,
    /// AuthorizationList tags the schema does not know (kept, read by no rule).
    pub unknown_tags: Vec<u32>,
}

impl AndroidAttestation {
    /// Parses a chain of DER certificates, leaf first, and the leaf's attestation
    /// extension. Fails only on bytes that are not what the schema allows
    /// (`attestation_malformed`); everything else is [`AndroidAttestation::verify`]'s.
    pub fn parse(chain: &[Vec<u8>]) -> Result<AndroidAttestation, AttestationError> {
        if chain.len() > crate::x509::MAX_CHAIN_LEN {
            return Err(AttestationError::Chain("more than eight certificates"));
        }
        let certs = chain.iter().map(|der| Cert::parse(der)).collect::<Result<Vec<_>, _>>()?;
        let description = match certs.first().and_then(|leaf| leaf.extension(&KEY_DESCRIPTION_OID)) {
            Some((_, value)) => Some(KeyDescription::from_der(value)?),
            None => None,
        };
        Ok(AndroidAttestation { certs, description })
    }

    /// The leaf's KeyDescription before any check: for diagnostics only.
    pub fn untrusted_description(&self) -> Option<&KeyDescription> {
        self.description.as_ref()
    }

    /// The leaf's key if it is a P-256 key, before any check: for diagnostics only.
    pub fn untrusted_leaf_key(&self) -> Option<PublicKey> {
        let (kind, point) = public_key(self.certs.first()?.spki()).ok()?;
        if kind != KeyKind::P256 {
            return None;
        }
        PublicKey::from_sec1(point).ok()
    }

    /// The times (Unix seconds, inclusive) at which every certificate of the chain is
    /// within its validity, if any: for diagnostics and test clocks.
    pub fn common_validity(&self) -> Option<(u64, u64)> {
        let from = self.certs.iter().map(Cert::not_before).max()?;
        let to = self.certs.iter().map(Cert::not_after).min()?;
        (from <= to).then_some((from, to))
    }

    /// The serial numbers of the chain's certificates, leaf first, as Google's
    /// revocation status list writes them.
    pub fn serials(&self) -> Vec<String> {
        self.certs.iter().map(Cert::serial_hex).collect()
    }

    /// The number of certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Checks everything SPEC.md §4.10.4 requires, in its order: the path to one of
    /// `roots` at `now` (Unix seconds), revocation, the extension in the leaf alone, the
    /// challenge (`expected_challenge`, from [`crate::binding::android_challenge`]),
    /// security levels, the key, purpose, origin, root of trust and app under `policy`.
    pub fn verify(
        &self,
        expected_challenge: &[u8],
        device_key: &PublicKey,
        policy: &AttestationPolicy,
        roots: &[Root],
        revocations: &StatusList,
        now: u64,
    ) -> Result<(AndroidFacts, String), AttestationError> {
        let path = verify_path(&self.certs, roots, now, Some(revocations), LeafIssuer::MayBeEndEntity, &[])?;
        // Only the leaf carries the extension: a certificate below the attested key
        // (a chain extended by the attested key itself) or a fake extension above it is
        // refused.
        if self.certs.iter().skip(1).any(|c| c.extension(&KEY_DESCRIPTION_OID).is_some()) {
            return Err(AttestationError::Chain("a certificate other than the leaf carries the attestation extension"));
        }
        let kd = self.description.as_ref().ok_or(AttestationError::Chain("the leaf has no attestation extension"))?;
        if kd.attestation_challenge != expected_challenge {
            return Err(AttestationError::Challenge);
        }
        // The two levels agree (a StrongBox attestation of a TEE key, or the reverse, is
        // no attestation a phone makes), reach the policy's minimum, and are what the
        // chain's own certificates say they are.
        let level = kd.attestation_security_level;
        if kd.keymint_security_level != level
            || level < policy.min_security_level.max(SecurityLevel::TrustedEnvironment)
            || !chain_backs_level(&self.certs, level)
        {
            return Err(AttestationError::SecurityLevel);
        }
        let hw = &kd.hardware_enforced;
        check_key(&self.certs, hw, device_key)?;
        if !hw.purposes().contains(&PURPOSE_SIGN) {
            return Err(AttestationError::Purpose);
        }
        if hw.origin() != Some(ORIGIN_GENERATED) {
            return Err(AttestationError::Origin);
        }
        // Every hardware attestation reports its root of trust; one without it is refused
        // whatever the policy relaxes (Google's verifier does the same by default).
        let rot = hw.root_of_trust();
        if rot.is_none() {
            return Err(AttestationError::BootState("no root of trust in the hardware-enforced list"));
        }
        if policy.require_locked_bootloader && !rot.is_some_and(|r| r.device_locked) {
            return Err(AttestationError::BootState("the bootloader is not locked"));
        }
        if policy.require_verified_boot && !rot.is_some_and(|r| r.verified_boot_state == VerifiedBootState::Verified) {
            return Err(AttestationError::BootState("the boot is not verified with the manufacturer's key"));
        }
        check_app(kd, policy)?;
        let mut unknown_tags = kd.software_enforced.unknown_tags();
        unknown_tags.extend(hw.unknown_tags());
        let facts = AndroidFacts {
            attestation_security_level: kd.attestation_security_level,
            keymint_security_level: kd.keymint_security_level,
            attestation_version: kd.attestation_version,
            keymint_version: kd.keymint_version,
            verified_boot_state: rot.map(|r| r.verified_boot_state),
            device_locked: rot.map(|r| r.device_locked),
            os_version: hw.os_version(),
            os_patch_level: hw.os_patch_level(),
            vendor_patch_level: hw.vendor_patch_level(),
            boot_patch_level: hw.boot_patch_level(),
            unknown_tags,
        };
        Ok((facts, path.root_name))
    }
}

/// The app that asked for the key is one the policy names (SPEC.md §4.10.4 step 15):
/// some package of the `attestationApplicationId` has a policy entry's name, and that
/// entry's certificate digest is among the app's signing certificate digests. The list
/// is the OS's statement (Keystore writes it), so it is evidence only on a phone whose
/// boot the root of trust verified: keep the boot checks on with it.
fn check_app(kd: &KeyDescription, policy: &AttestationPolicy) -> Result<(), AttestationError> {
    if policy.android_apps.is_empty() {
        return Ok(());
    }
    let app = [&kd.hardware_enforced, &kd.software_enforced].into_iter().find_map(|list| match list.get(709) {
        Some(AuthValue::ApplicationId(a)) => Some(a),
        _ => None,
    });
    let Some(app) = app else {
        return Err(AttestationError::AppId);
    };
    let accepted = policy.android_apps.iter().any(|allowed| {
        app.packages.iter().any(|p| p.name == allowed.package)
            && app.signature_digests.iter().any(|d| d.as_slice() == allowed.signing_certificate_sha256.as_slice())
    });
    if accepted { Ok(()) } else { Err(AttestationError::AppId) }
}

/// X.520 `organizationName` (RKP attestation certificates: `O=TEE`, `O=StrongBox`).
const ATTR_ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");
/// X.520 `title` (factory batch certificates: `title=TEE`, `title=StrongBox`).
const ATTR_TITLE: Oid = Oid::new_unwrap("2.5.4.12");

/// Whether the certificates above the leaf, which the root's owner signed, agree with the
/// KeyDescription's security level (SPEC.md §4.10.4 step 10). Google's chains name the
/// level of their attestation keys: RKP certificates `O=TEE` or `O=StrongBox`, factory
/// certificates `title=TEE` or `title=StrongBox`; older factory chains name none. A
/// StrongBox claim needs a certificate naming StrongBox and none naming TEE (StrongBox
/// chains always name it, Android's compatibility tests require it); a TEE claim needs
/// no certificate naming StrongBox. So a leaked TEE attestation key cannot pass its
/// forgeries off as StrongBox.
fn chain_backs_level(certs: &[Cert], level: SecurityLevel) -> bool {
    let named = |what: &[u8]| {
        certs.iter().skip(1).any(|c| {
            [ATTR_ORGANIZATION, ATTR_TITLE]
                .iter()
                .any(|oid| c.subject_attribute_values(oid).iter().any(|v| v.eq_ignore_ascii_case(what)))
        })
    };
    let (strongbox, tee) = (named(b"StrongBox"), named(b"TEE"));
    match level {
        SecurityLevel::StrongBox => strongbox && !tee,
        SecurityLevel::TrustedEnvironment => !strongbox,
        SecurityLevel::Software => false,
    }
}

/// The leaf's key is an EC P-256 key equal (as a point) to the device key, and the
/// hardware says it is an EC key on P-256.
fn check_key(certs: &[Cert], hw: &AuthorizationList, device_key: &PublicKey) -> Result<(), AttestationError> {
    let leaf = certs.first().ok_or(AttestationError::Chain("empty chain"))?;
    if device_key.algorithm() != Algorithm::EcdsaP256Sha256 {
        return Err(AttestationError::KeyMismatch);
    }
    let (kind, point) = public_key(leaf.spki()).map_err(|_| AttestationError::KeyMismatch)?;
    if kind != KeyKind::P256 {
        return Err(AttestationError::KeyMismatch);
    }
    let attested = PublicKey::from_sec1(point).map_err(|_| AttestationError::KeyMismatch)?;
    if &attested != device_key {
        return Err(AttestationError::KeyMismatch);
    }
    if hw.algorithm() != Some(ALGORITHM_EC) || hw.ec_curve().is_some_and(|c| c != EC_CURVE_P256) {
        return Err(AttestationError::KeyMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_lists_are_read_strictly() {
        // [1] { SET { 2, 3 } }, [702] { 0 }, [900] { NULL } (unknown, kept).
        let ok = [
            0x30, 0x17, 0xa1, 0x08, 0x31, 0x06, 0x02, 0x01, 0x02, 0x02, 0x01, 0x03, 0xbf, 0x85, 0x3e, 0x03, 0x02, 0x01,
            0x00, 0xbf, 0x87, 0x04, 0x02, 0x05, 0x00,
        ];
        let list = authorization_list(AnyRef::from_der(&ok).unwrap()).unwrap();
        assert_eq!(list.purposes(), &[2, 3]);
        assert_eq!(list.origin(), Some(0));
        assert_eq!(list.unknown_tags(), vec![900]);
        assert_eq!(list.to_json()["origin"], "GENERATED");
        // A set out of order is read as it is (Keymaster 4 TEEs write {3, 2}).
        let unsorted = [0x30, 0x0a, 0xa1, 0x08, 0x31, 0x06, 0x02, 0x01, 0x03, 0x02, 0x01, 0x02];
        assert_eq!(authorization_list(AnyRef::from_der(&unsorted).unwrap()).unwrap().purposes(), &[3, 2]);
        // A set holding a boolean, the tags out of order, a tag twice, an integer where the
        // set belongs, a non-minimal integer, an implicit tag.
        let bad: [&[u8]; 6] = [
            &[0x30, 0x07, 0xa1, 0x05, 0x31, 0x03, 0x01, 0x01, 0xff],
            &[0x30, 0x0e, 0xbf, 0x85, 0x3e, 0x03, 0x02, 0x01, 0x00, 0xa1, 0x05, 0x31, 0x03, 0x02, 0x01, 0x02],
            &[0x30, 0x0e, 0xa1, 0x05, 0x31, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x05, 0x31, 0x03, 0x02, 0x01, 0x02],
            &[0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x02],
            &[0x30, 0x08, 0xbf, 0x85, 0x3e, 0x04, 0x02, 0x02, 0x00, 0x00],
            &[0x30, 0x05, 0x81, 0x03, 0x02, 0x01, 0x02],
        ];
        for b in bad {
            let r = AnyRef::from_der(b).map_err(AttestationError::from).and_then(authorization_list);
            assert!(matches!(r, Err(AttestationError::Malformed(_))), "{b:02x?}: {r:?}");
        }
    }
}
