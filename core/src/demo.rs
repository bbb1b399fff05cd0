//! A demo city on embedded, fixed keys: a root, one issuer, a trust list, a revocation
//! list, and a resident with a credential. It drives the `city_day` example, the test
//! vectors and the CLI's `demo`.
//!
//! The secrets here are public constants. Never use them outside demos and tests.

use crate::claims::*;
use crate::credential::{CardLayout, Credential, CredentialRequest, Issuer, Subject};
use crate::error::Error;
use crate::keys::{Algorithm, KeyPair};
use crate::request::ProvenKey;
use crate::trust::{IssuerKey, ListSigner, RevocationList, TrustList};

/// The demo clock: 2026-11-25T08:00:00Z (16:00 in the city, UTC+8).
pub const NOW: u64 = 1_795_564_800 + 8 * 3600;
/// The demo city's offset from UTC in minutes.
pub const UTC_OFFSET_MINUTES: i32 = 480;
/// The demo scenic site.
pub const SITE: u32 = 1024;
/// The demo insured region (Shanghai's division code).
pub const REGION: u32 = 310_000;
/// Today's UTC day number at [`NOW`].
pub const TODAY: u16 = (NOW / DAY) as u16;

/// A key from a fixed seed byte (demo and tests only).
pub fn key(alg: Algorithm, seed: u8) -> Result<KeyPair, Error> {
    KeyPair::from_secret_bytes(alg, &[seed; 32])
}

/// Every domain a resident of the demo city holds.
pub fn resident_claims() -> Claims {
    Claims {
        health: Some(Health { status: HealthStatus::Green, valid_until_day: TODAY + 1 }),
        medical_insurance: Some(MedicalInsurance { region: Some(REGION), status: Some(InsuranceStatus::Active) }),
        social_security: Some(SocialSecurity { status: SocialSecurityStatus::Retired }),
        transit: Some(Transit {
            account: Some(AccountStatus::Active),
            fare_class: Some(FareClass::SeniorFree),
            vehicle_payment: Some(true),
        }),
        tourism: Some(Tourism {
            entries: vec![TourismEntry { kind: TourismKind::Reservation, site: SITE, day: TODAY }],
        }),
        // Identity is issued where a real-name scene needs it: `resident_identity`.
        identity: None,
        guardian: None,
        other: Vec::new(),
    }
}

/// The demo resident's name and identity document number (a made-up number with a valid
/// check digit: a public test constant).
pub const NAME: &str = "张小明";
/// See [`NAME`].
pub const ID_NUMBER: &str = "11010519491231002X";

/// The demo resident's identity claim, with a fixed salt (so vectors regenerate).
pub fn resident_identity() -> Result<crate::claims::Identity, Error> {
    crate::claims::Identity::with_salt(NAME, ID_NUMBER, crate::claims::IdDigest::Sha256, [0x1d; 16])
}

/// The demo city.
#[derive(Debug)]
pub struct DemoCity {
    /// The root key that signs trust and revocation lists.
    pub root: KeyPair,
    /// The city platform's issuer (key id 1), allowed every domain.
    pub issuer: Issuer,
    /// The root-signed trust list (sequence 1, valid 30 days from [`NOW`]).
    pub trust_list: Vec<u8>,
    /// The root-signed revocation list (sequence 1, empty, valid 1 day).
    pub revocation_list: Vec<u8>,
    /// The resident's device key (Ed25519; SM2 in [`DemoCity::gm`]).
    pub device: KeyPair,
    /// The resident's credential: every domain, standard card layout, 7 days.
    pub credential: Credential,
}

impl DemoCity {
    /// Builds the demo city: every key Ed25519.
    pub fn new() -> Result<DemoCity, Error> {
        DemoCity::with_algorithm(Algorithm::Ed25519)
    }

    /// The demo city of a GM-only deployment (SPEC.md §4.6): root, issuer and device
    /// keys SM2 (same seeds), so every digest is SM3.
    #[cfg(feature = "sm2")]
    pub fn gm() -> Result<DemoCity, Error> {
        DemoCity::with_algorithm(Algorithm::Sm2Sm3)
    }

    /// The demo city with every key (root, issuer, device) of `alg`, from the same
    /// seeds: for comparing algorithms on identical codes.
    pub fn with_algorithm(alg: Algorithm) -> Result<DemoCity, Error> {
        let root = key(alg, 0x01)?;
        let all: Vec<u32> = Domain::ALL.iter().map(|d| d.id()).collect();
        let issuer = Issuer::new(1, key(alg, 0x02)?, all.clone());
        let now = NOW as u32;
        let trust = TrustList {
            sequence: 1,
            issued_at: now - 3600,
            expires_at: now + 30 * DAY as u32,
            keys: vec![IssuerKey {
                kid: 1,
                key: issuer.public_key(),
                not_before: now - 365 * DAY as u32,
                not_after: now + 365 * DAY as u32,
                domains: all,
            }],
        };
        let trust_list = trust.sign(&root)?;
        let revocations = RevocationList {
            signer: ListSigner::Root,
            sequence: 1,
            issued_at: now - 3600,
            expires_at: now + DAY as u32,
            entries: Vec::new(),
        };
        let revocation_list = revocations.sign(&root)?;
        let device = key(alg, 0x03)?;
        let credential = issuer.issue(&CredentialRequest {
            device_key: ProvenKey::by_signing(&device)?,
            subject: Subject(*b"resident"),
            valid_from_day: TODAY - 1,
            valid_days: 7,
            claims: resident_claims(),
            layout: CardLayout::Standard,
        })?;
        Ok(DemoCity { root, issuer, trust_list, revocation_list, device, credential })
    }

    /// Another resident, number `n`: a device key from a seed derived from `n`, and a
    /// credential (every domain, standard layout, valid today) with subject `[n; 8]`.
    pub fn resident(&self, n: u8) -> Result<(KeyPair, Credential), Error> {
        let device = key(self.device.algorithm(), n.wrapping_add(0x40))?;
        let credential = self.issuer.issue(&CredentialRequest {
            device_key: ProvenKey::by_signing(&device)?,
            subject: Subject([n; 8]),
            valid_from_day: TODAY,
            valid_days: 1,
            claims: resident_claims(),
            layout: CardLayout::Standard,
        })?;
        Ok((device, credential))
    }
}
