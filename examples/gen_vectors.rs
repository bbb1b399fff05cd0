//! Generates test-vectors/codes.json from fixed seeds and a fixed clock.
//!
//! `cargo run --example gen_vectors` rewrites the files; regenerating yields identical
//! bytes (core/tests/vectors.rs checks it). Every case is run through the Rust
//! verifier here, and generation fails if a case does not give its intended result.
//!
//! This file also holds the case runner that the Rust vector test uses, so the
//! generator and the test read cases the same way.

#![allow(dead_code)]

use citycode::claims::{AccountStatus, Claims, Domain, OtherClaim, Relation};
use citycode::credential::{CardLayout, Credential, CredentialRequest, Issuer, Subject};
use citycode::demo::{self, DemoCity, key};
use citycode::distribution::ListStatus;
use citycode::keys::{Algorithm, DeviceSigner, KeyPair, PublicKey};
use citycode::text::{MAX_TEXT_LEN, decode_base64url, decode_text, encode_base64url, encode_text, hex, unhex};
use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
use citycode::{
    Accepted, Error, PresentOptions, Qr, Rejection, Scene, UnverifiedCode, Verifier, VerifierConfig, present,
};
use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: u64 = 86_400;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The file every implementation reads.
#[derive(Serialize, Deserialize)]
pub struct VectorFile {
    /// What the file is.
    pub description: String,
    /// Format version of the codes.
    pub format_version: u8,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case: a verifier's whole configuration, the scanned text and the result.
#[derive(Serialize, Deserialize, Clone)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// What it proves.
    pub description: String,
    /// The exact text a QR carries.
    pub input: String,
    /// `"accept"` or a reason code.
    pub expected: String,
    /// Verification time, Unix seconds.
    pub now: u64,
    /// Everything the verifier is configured with.
    pub verifier: VerifierSetup,
    /// Codes accepted earlier by the same verifier, in order (replay state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// For accepted cases: exactly the disclosed claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// For accepted cases: the subject, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For accepted cases of a verifier running without a revocation list: `false`
    /// (the verdict says revocation was not checked). Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_checked: Option<bool>,
    /// For accepted printed codes (SPEC.md §5.1): `true`; the staff must check the
    /// identity document. Absent means `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed: Option<bool>,
    /// For accepted codes that were not checked for replay (a printed code, SPEC.md
    /// §9.2): `false`. Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_checked: Option<bool>,
    /// Binary length of the code, when the text decodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// QR version at error correction level M (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_version: Option<u8>,
}

/// A verifier configuration: core's [`VerifierConfig`] and the lists to load.
#[derive(Serialize, Deserialize, Clone)]
pub struct VerifierSetup {
    /// Root key, skew, validity limit, local offset, scene.
    #[serde(flatten)]
    pub config: VerifierConfig,
    /// Signed trust lists (base64url), loaded in order; a load failure is the result.
    pub trust_lists: Vec<String>,
    /// Signed revocation lists (base64url), loaded in order after the trust lists.
    pub revocation_lists: Vec<String>,
}

/// A code accepted earlier.
#[derive(Serialize, Deserialize, Clone)]
pub struct Seen {
    /// Its text.
    pub input: String,
    /// When it was accepted.
    pub now: u64,
}

/// Runs one case through the Rust verifier: loads lists, replays `seen`, verifies.
pub fn run_case(case: &Case) -> Result<Accepted, Rejection> {
    prepared_verifier(case)?.verify_at(&case.input, case.now)
}

/// The verifier of a case, ready for its `input`: configured, lists loaded in order at
/// the case's `now` (a load failure is the case's result), `seen` codes accepted.
pub fn prepared_verifier(case: &Case) -> Result<Verifier, Rejection> {
    let setup = &case.verifier;
    let bad = |what: &str| Rejection::new(citycode::Reason::Malformed, format!("vector file: {what}"));
    let mut v = setup.config.build()?;
    for list in &setup.trust_lists {
        v.load_trust_list(&decode_base64url(list).map_err(|_| bad("trust list"))?)?;
    }
    for list in &setup.revocation_lists {
        v.load_revocation_list_at(&decode_base64url(list).map_err(|_| bad("revocation list"))?, case.now)?;
    }
    for s in &case.seen {
        v.verify_at(&s.input, s.now).map_err(|r| bad(&format!("seen code rejected: {r}")))?;
    }
    Ok(v)
}

/// Runs one case as [`run_case`] does, but verifies `input` through the batch API, in a
/// batch of one: the batch path must give every case's result too.
#[cfg(feature = "batch")]
pub fn run_case_batched(case: &Case) -> Result<Accepted, Rejection> {
    prepared_verifier(case)?
        .verify_batch_at(&[case.input.as_str()], case.now)
        .pop()
        .unwrap_or_else(|| Err(Rejection::new(citycode::Reason::Malformed, "an empty batch result")))
}

/// The outcome as the vectors spell it.
pub fn outcome(r: &Result<Accepted, Rejection>) -> String {
    match r {
        Ok(_) => "accept".into(),
        Err(e) => e.reason.code().into(),
    }
}

// ---------------------------------------------------------------------------------
// Generation.

const SKEW: u32 = 30;
const NOW: u64 = demo::NOW;

fn metro() -> Scene {
    Scene::MetroGate
}

fn scenic(site: u32) -> Scene {
    Scene::ScenicSpot { site, utc_offset_minutes: demo::UTC_OFFSET_MINUTES }
}

struct Gen {
    city: DemoCity,
    cases: Vec<Case>,
}

/// A signer whose public key is one key and whose signatures come from another.
struct WrongSigner<'a> {
    claimed: PublicKey,
    actual: &'a KeyPair,
}

impl DeviceSigner for WrongSigner<'_> {
    fn public_key(&self) -> PublicKey {
        self.claimed.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.actual.sign(message).to_vec())
    }
    fn check_signatures(&self) -> bool {
        false
    }
}

fn opts(nonce: u8) -> PresentOptions {
    PresentOptions { validity_secs: 60, nonce: Some([nonce, 0xc0, 0xde, 0x01]) }
}

impl Gen {
    fn setup(&self, scene: Scene) -> VerifierSetup {
        let config = VerifierConfig {
            skew_secs: SKEW,
            max_code_validity_secs: 120,
            utc_offset_minutes: 480,
            ..VerifierConfig::new(&self.city.root.public_key(), scene)
        };
        VerifierSetup {
            config,
            trust_lists: vec![encode_base64url(&self.city.trust_list)],
            revocation_lists: vec![encode_base64url(&self.city.revocation_list)],
        }
    }

    fn trust(&self, keys: Vec<IssuerKey>, sequence: u64, expires_at: u32) -> Res<String> {
        let list = TrustList { sequence, issued_at: NOW as u32 - 3600, expires_at, keys };
        Ok(encode_base64url(&list.sign(&self.city.root)?))
    }

    fn issuer_entry(&self, kid: u32, key: PublicKey, domains: Vec<u32>) -> IssuerKey {
        IssuerKey {
            kid,
            key,
            not_before: NOW as u32 - 365 * DAY as u32,
            not_after: NOW as u32 + 365 * DAY as u32,
            domains,
        }
    }

    fn revocations(
        &self,
        signer: &KeyPair,
        who: ListSigner,
        sequence: u64,
        expires_at: u32,
        mut entries: Vec<Revoked>,
    ) -> Res<String> {
        entries.sort();
        let list = RevocationList { signer: who, sequence, issued_at: NOW as u32 - 600, expires_at, entries };
        Ok(encode_base64url(&list.sign(signer)?))
    }

    fn credential(
        &self,
        issuer: &Issuer,
        device: &KeyPair,
        claims: Claims,
        layout: CardLayout,
        from: u16,
        days: u8,
    ) -> Res<Credential> {
        Ok(issuer.issue(&CredentialRequest {
            device_key: citycode::ProvenKey::by_signing(device)?,
            subject: Subject(*b"resident"),
            valid_from_day: from,
            valid_days: days,
            claims,
            layout,
        })?)
    }

    fn code(
        &self,
        credential: &Credential,
        signer: &dyn DeviceSigner,
        domains: &[Domain],
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        let ids: Vec<u32> = domains.iter().map(|d| d.id()).collect();
        Ok(present(credential, signer, &ids, at, opts(nonce))?.to_text())
    }

    /// A code disclosing what `scene` reads: its own card under the standard layout.
    fn code_for(
        &self,
        credential: &Credential,
        signer: &dyn DeviceSigner,
        scene: &Scene,
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        Ok(present(credential, signer, scene, at, opts(nonce))?.to_text())
    }

    fn bytes_of(text: &str) -> Res<Vec<u8>> {
        Ok(decode_text(text).map_err(|r| format!("decode: {r}"))?)
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        description: &str,
        input: String,
        expected: &str,
        now: u64,
        verifier: VerifierSetup,
        seen: Vec<Seen>,
    ) -> Res<()> {
        let mut case = Case {
            name: name.into(),
            description: description.into(),
            input,
            expected: expected.into(),
            now,
            verifier,
            seen,
            claims: None,
            subject: None,
            revocation_checked: None,
            printed: None,
            replay_checked: None,
            bytes: None,
            qr_version: None,
        };
        if let Ok(b) = decode_text(&case.input) {
            case.bytes = Some(b.len());
            case.qr_version = Qr::new(&case.input).ok().map(|q| q.version);
        }
        let result = run_case(&case);
        let got = outcome(&result);
        if got != expected {
            return Err(format!("case {name}: expected {expected}, verifier says {got} ({result:?})").into());
        }
        if let Ok(a) = result {
            case.revocation_checked = (!a.revocation_checked).then_some(false);
            case.printed = a.printed.then_some(true);
            case.replay_checked = (!a.replay_checked).then_some(false);
            case.claims = Some(a.claims);
            case.subject = Some(a.subject.to_hex());
        }
        self.cases.push(case);
        Ok(())
    }
}

/// Builds every case.
pub fn generate() -> Res<VectorFile> {
    let city = DemoCity::new()?;
    let mut g = Gen { city, cases: Vec::new() };
    let at = NOW;
    let later = at + 2;
    let hospital = [Domain::Health, Domain::MedicalInsurance];
    let cred = g.city.credential.clone();
    let device = key(Algorithm::Ed25519, 0x03)?;
    let all_ids: Vec<u32> = Domain::ALL.iter().map(|d| d.id()).collect();
    let status_ids: Vec<u32> = Domain::STATUS.iter().map(|d| d.id()).collect();

    // ---- Accepted codes at each scene.
    let c = g.code_for(&cred, &device, &Scene::Hospital, at, 1)?;
    g.add(
        "accept_hospital",
        "The hospital's card: health and the insurance status, the region withheld.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let c = g.code_for(&cred, &device, &scenic(demo::SITE), at, 2)?;
    g.add(
        "accept_scenic_spot_reservation",
        "A reservation for this site today (local day, UTC+8).",
        c,
        "accept",
        later,
        g.setup(scenic(demo::SITE)),
        vec![],
    )?;
    let c = g.code_for(&cred, &device, &Scene::Parking, at, 3)?;
    g.add(
        "accept_parking",
        "The parking card: account in good standing, vehicle payment on, the fare class withheld.",
        c.clone(),
        "accept",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let metro_code = g.code_for(&cred, &device, &metro(), at, 4)?;
    g.add(
        "accept_metro_gate",
        "The metro card: account in good standing and fare class, vehicle payment withheld.",
        metro_code.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let p256 = key(Algorithm::EcdsaP256Sha256, 0x05)?;
    let cred_p256 =
        g.credential(&g.city.issuer, &p256, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code_for(&cred_p256, &p256, &metro(), at, 5)?;
    g.add(
        "accept_metro_gate_p256_device",
        "Device key is ECDSA P-256 (phone secure hardware).",
        c.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code_for(&cred_p256, &p256, &Scene::Hospital, at, 6)?;
    g.add(
        "accept_hospital_p256_device",
        "The hospital's card with a P-256 device key.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    let mut four = demo::resident_claims();
    four.social_security = None;
    let four_ids = four.domain_ids();
    let cred4 = g.credential(&g.city.issuer, &device, four, CardLayout::Custom(vec![four_ids]), demo::TODAY - 1, 7)?;
    let c =
        g.code(&cred4, &device, &[Domain::Health, Domain::MedicalInsurance, Domain::Transit, Domain::Tourism], at, 7)?;
    g.add(
        "accept_all_four_domains",
        "Health, medical insurance, transit and tourism in one card.",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &Domain::STATUS, at, 8)?;
    g.add("accept_all_five_domains", "Every domain in one card.", c, "accept", later, g.setup(metro()), vec![])?;

    let singles = CardLayout::Custom(status_ids.iter().map(|&d| vec![d]).collect());
    let cred_singles = g.credential(&g.city.issuer, &device, demo::resident_claims(), singles, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_singles, &device, &hospital, at, 9)?;
    g.add(
        "accept_two_cards",
        "No hospital bundle: the code carries two single-domain cards.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    let future = key(Algorithm::Ed25519, 0x06)?;
    let mut with_future = demo::resident_claims();
    with_future.other.push(OtherClaim { domain: 9, body: vec![0x01, 0x02, 0x03] });
    let future_issuer = Issuer::new(6, future, vec![1, 2, 3, 4, 5, 9]);
    let cred_future =
        g.credential(&future_issuer, &device, with_future, CardLayout::Custom(vec![vec![4, 9]]), demo::TODAY - 1, 7)?;
    let tl_future = g.trust(
        vec![
            g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone()),
            g.issuer_entry(6, future_issuer.public_key(), vec![1, 2, 3, 4, 5, 9]),
        ],
        2,
        NOW as u32 + 30 * DAY as u32,
    )?;
    let c = present(&cred_future, &device, &[4, 9], at, opts(10))?.to_text();
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_future.clone()];
    g.add(
        "accept_unknown_future_domain",
        "A domain (id 9) this version does not know passes through as opaque bytes.",
        c,
        "accept",
        later,
        setup,
        vec![],
    )?;

    let c = g.code(&cred, &device, &[Domain::Transit], at, 11)?;
    g.add(
        "accept_at_last_second_with_skew",
        "Verified at issued_at + validity + skew - 1.",
        c,
        "accept",
        at + 60 + 30 - 1,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at + 30, 12)?;
    g.add(
        "accept_from_future_within_skew",
        "Built 30 s ahead of the verifier's clock (the skew).",
        c,
        "accept",
        at,
        g.setup(metro()),
        vec![],
    )?;

    let other_entries = vec![Revoked::Subject(*b"someone_"), Revoked::Card([7; 16]), Revoked::DeviceKey([9; 16])];
    let c = g.code(&cred, &device, &[Domain::Transit], at, 13)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        other_entries.clone(),
    )?);
    setup.revocation_lists.push(g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        other_entries,
    )?);
    g.add(
        "accept_with_unrelated_revocations",
        "Root- and issuer-signed revocation lists that name others.",
        c,
        "accept",
        later,
        setup,
        vec![],
    )?;

    // ---- Time.
    let c = g.code(&cred, &device, &[Domain::Transit], at, 20)?;
    g.add(
        "code_expired",
        "Verified at issued_at + validity + skew.",
        c,
        "code_expired",
        at + 90,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at + 31, 21)?;
    g.add(
        "code_not_yet_valid",
        "Built 31 s ahead of the verifier's clock.",
        c,
        "code_not_yet_valid",
        at,
        g.setup(metro()),
        vec![],
    )?;
    let long =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 200, nonce: Some([22, 0, 0, 0]) })?.to_text();
    g.add(
        "code_validity_too_long",
        "Asks for 200 s; the verifier allows 120.",
        long,
        "code_validity_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let old =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 10, 5)?;
    let c = g.code_unchecked(&old, &device, 4, at, 23)?;
    g.add(
        "credential_expired",
        "The card's validity ended five days ago.",
        c,
        "credential_expired",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let future_cred =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY + 1, 5)?;
    let c = g.code_unchecked(&future_cred, &device, 4, at, 24)?;
    g.add(
        "credential_not_yet_valid",
        "The card's validity starts tomorrow.",
        c,
        "credential_not_yet_valid",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // ---- Keys and trust.
    let rogue_issuer = Issuer::new(7, key(Algorithm::Ed25519, 0x07)?, all_ids.clone());
    let cred_rogue =
        g.credential(&rogue_issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_rogue, &device, &[Domain::Transit], at, 30)?;
    g.add(
        "unknown_issuer_key",
        "Key id 7 is not in the trust list.",
        c,
        "unknown_issuer_key",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let transit_only_tl =
        g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), vec![4])], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Tourism], at, 31)?;
    let mut setup = g.setup(scenic(demo::SITE));
    setup.trust_lists = vec![transit_only_tl];
    g.add(
        "out_of_scope",
        "The trust list lets key 1 attest transit only; the card attests tourism.",
        c,
        "out_of_scope",
        later,
        setup,
        vec![],
    )?;

    let mut retired = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    retired.not_after = NOW as u32 - 1;
    let tl_retired = g.trust(vec![retired], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 32)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_retired];
    g.add(
        "issuer_key_not_valid",
        "Key 1's validity window ended before the verification time.",
        c,
        "issuer_key_not_valid",
        later,
        setup,
        vec![],
    )?;

    let p256_issuer_key = key(Algorithm::EcdsaP256Sha256, 0x08)?;
    let tl_p256 =
        g.trust(vec![g.issuer_entry(1, p256_issuer_key.public_key(), all_ids.clone())], 2, NOW as u32 + DAY as u32)?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 33)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_p256];
    g.add(
        "algorithm_mismatch",
        "The card says Ed25519; key 1 in the trust list is P-256.",
        c,
        "algorithm_mismatch",
        later,
        setup,
        vec![],
    )?;

    let impostor = Issuer::new(1, key(Algorithm::Ed25519, 0x09)?, all_ids.clone());
    let cred_impostor =
        g.credential(&impostor, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_impostor, &device, &[Domain::Transit], at, 34)?;
    // The same forged card after the genuine card of the same holder and domain was
    // accepted: a verifier that remembers verified issuer signatures must key them by
    // key, message and signature, never let one stand for another.
    let genuine = g.code(&cred, &device, &[Domain::Transit], at, 0xbb)?;
    g.add(
        "bad_issuer_signature_after_the_genuine_card",
        "The forged card of bad_issuer_signature, verified after a code with the genuine card of the same holder and domain was accepted.",
        c.clone(),
        "bad_issuer_signature",
        later + 1,
        g.setup(metro()),
        vec![Seen { input: genuine, now: later }],
    )?;
    g.add(
        "bad_issuer_signature",
        "A card signed by a key that is not key 1, claiming key id 1.",
        c,
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;

    let thief = key(Algorithm::Ed25519, 0x0a)?;
    let c = g.code(&cred, &WrongSigner { claimed: device.public_key(), actual: &thief }, &[Domain::Transit], at, 35)?;
    g.add(
        "bad_device_signature",
        "A copied credential signed without its device key.",
        c,
        "bad_device_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // Holder A's cards, holder B's device key and signature.
    let a_code = Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 36)?)?;
    let b = key(Algorithm::Ed25519, 0x0b)?;
    let mut swapped = a_code.clone();
    swapped.splice(2..34, b.public_key().to_bytes());
    let unsigned = swapped.get(..swapped.len() - 64).ok_or("short")?.to_vec();
    let mut tbs = citycode::digest::LABEL_CODE.to_vec();
    tbs.extend_from_slice(&unsigned);
    let mut resigned = unsigned;
    resigned.extend_from_slice(&b.sign(&tbs));
    g.add(
        "holder_swap",
        "Holder A's credential with holder B's device key and signature.",
        encode_text(&resigned),
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // ---- Revocation.
    let c = g.code(&cred, &device, &[Domain::Transit], at, 40)?;
    let card_id = UnverifiedCode::from_text(&c)?.card_id(0);
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Card(card_id)],
    )?];
    g.add("revoked_card", "The transit card is on the root's revocation list.", c, "revoked", later, setup, vec![])?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 41)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject(*b"resident")],
    )?);
    g.add("revoked_subject", "The subject is on issuer 1's revocation list.", c, "revoked", later, setup, vec![])?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 42)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(device.public_key().key_id())],
    )?];
    g.add(
        "revoked_device_key",
        "The phone was reported stolen: its device key is revoked.",
        c,
        "revoked",
        later,
        setup,
        vec![],
    )?;

    // ---- Replay and policy.
    g.add(
        "replayed",
        "The same code, accepted once, scanned again within its window.",
        metro_code.clone(),
        "replayed",
        at + 5,
        g.setup(metro()),
        vec![Seen { input: metro_code.clone(), now: at + 1 }],
    )?;
    let c = g.code(&cred, &device, &[Domain::Transit], at, 50)?;
    g.add(
        "policy_unmet_wrong_domain",
        "Transit only, shown at a hospital.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut arrears = demo::resident_claims();
    if let Some(t) = arrears.transit.as_mut() {
        t.account = Some(AccountStatus::Arrears);
    }
    let cred_arrears = g.credential(&g.city.issuer, &device, arrears, CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code(&cred_arrears, &device, &[Domain::Transit], at, 51)?;
    g.add(
        "policy_unmet_arrears",
        "Transit account in arrears at a metro gate.",
        c,
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code(&cred, &device, &[Domain::Tourism], at, 52)?;
    g.add(
        "policy_unmet_other_site",
        "A reservation for site 1024 at the gate of site 2048.",
        c,
        "policy_unmet",
        later,
        g.setup(scenic(2048)),
        vec![],
    )?;

    // The health status's last day is a local day (UTC+8 here): it ends at local
    // midnight, eight hours before the UTC day does.
    let last_day = demo::resident_claims().health.map(|h| h.valid_until_day).ok_or("no health")?;
    let local_midnight = (u64::from(last_day) + 1) * DAY - 480 * 60;
    let mut setup = g.setup(Scene::Hospital);
    setup.revocation_lists =
        vec![g.revocations(&g.city.root, ListSigner::Root, 2, (local_midnight + DAY) as u32, vec![])?];
    let c = g.code(&cred, &device, &hospital, local_midnight - 1, 53)?;
    g.add(
        "hospital_health_last_local_second",
        "The health status's last day, one second before local midnight (UTC+8).",
        c,
        "accept",
        local_midnight - 1,
        setup.clone(),
        vec![],
    )?;
    let c = g.code(&cred, &device, &hospital, local_midnight, 54)?;
    g.add(
        "hospital_health_past_local_midnight",
        "Local midnight after the health status's last day: out of date, though the UTC day is still that day.",
        c.clone(),
        "policy_unmet",
        local_midnight,
        setup.clone(),
        vec![],
    )?;
    // The same code and second at a hospital in a UTC+0 city: still the last day there.
    let mut utc = setup;
    utc.config.utc_offset_minutes = 0;
    g.add(
        "hospital_health_same_instant_in_utc_city",
        "The same code at the same second, at a verifier whose local offset is 0: its local day is still the last day.",
        c,
        "accept",
        local_midnight,
        utc,
        vec![],
    )?;

    // ---- Tampering and encoding.
    let good = Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 60)?)?;
    let mut flipped = good.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "flipped_bit_device_signature",
        "One bit of the device signature flipped.",
        encode_text(&flipped),
        "bad_device_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut flipped = good.clone();
    // Byte 58 is the first claim entry's domain id; 59 its length; 60.. the body.
    // Flip the vehicle-payment flag (third transit byte).
    if let Some(b) = flipped.get_mut(62) {
        *b ^= 0x01;
    }
    g.add(
        "flipped_bit_claims",
        "One bit of a claim flipped.",
        encode_text(&flipped),
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "truncated",
        "The last byte removed.",
        encode_text(good.get(..good.len() - 1).ok_or("short")?),
        "truncated",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut trailing = good.clone();
    trailing.push(0);
    g.add(
        "trailing_bytes",
        "One byte appended after the device signature.",
        encode_text(&trailing),
        "trailing_bytes",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let text = encode_text(&good);
    g.add(
        "wrong_prefix",
        "HC1: instead of CC1:.",
        text.replacen("CC1:", "HC1:", 1),
        "text_prefix",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "lowercase_prefix",
        "The prefix is case-sensitive.",
        text.replacen("CC1:", "cc1:", 1),
        "text_prefix",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_lf",
        "A scanner's trailing LF is the one terminator SPEC.md §6 ignores.",
        format!("{text}\n"),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let crlf = encode_text(&Gen::bytes_of(&g.code(&cred, &device, &[Domain::Transit], at, 71)?)?);
    g.add(
        "scanner_crlf",
        "A scanner's trailing CR LF is ignored.",
        format!("{crlf}\r\n"),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_two_terminators",
        "Two line terminators: only one is ignored.",
        format!("{text}\n\n"),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "scanner_trailing_space",
        "A trailing space is not a terminator.",
        format!("{text} "),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut long = text.clone();
    long.push_str(&"0".repeat(MAX_TEXT_LEN + 1 - text.len()));
    g.add(
        "text_too_long",
        "One character more than any QR symbol holds (7,089), refused before decoding.",
        long,
        "text_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "text_not_digits",
        "A letter among the digits.",
        text.replacen('0', "A", 1),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    g.add(
        "text_bad_length",
        "One digit removed: no byte count has that many digits.",
        text.get(..text.len() - 1).ok_or("short")?.to_string(),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut big = String::from("CC1:");
    big.push_str(&"9".repeat(29));
    big.push_str(text.get(33..).ok_or("short")?);
    g.add(
        "text_chunk_out_of_range",
        "A 29-digit chunk of 10^29 - 1, above 2^96 - 1.",
        big,
        "non_canonical",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut v2 = good.clone();
    if let Some(b) = v2.first_mut() {
        *b = 2;
    }
    g.add(
        "wrong_version",
        "Format version byte 2.",
        encode_text(&v2),
        "unsupported_version",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut unassigned = good.clone();
    if let Some(b) = unassigned.get_mut(1) {
        *b = 4;
    }
    g.add(
        "unsupported_device_algorithm",
        "Device algorithm id 4 (unassigned).",
        encode_text(&unassigned),
        "unsupported_algorithm",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut varint = good.clone();
    // Byte 52 is the first card's key id (1); encode it as 0x81 0x00.
    varint.splice(52..53, [0x81, 0x00]);
    g.add(
        "non_canonical_varint",
        "Key id 1 encoded in two bytes.",
        encode_text(&varint),
        "non_canonical",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let hosp = Gen::bytes_of(&g.code_for(&cred, &device, &Scene::Hospital, at, 61)?)?;
    // Hospital card entries: health at 58..63, medical insurance (region withheld) at
    // 63..67. Swap them.
    let mut swapped = hosp.clone();
    let health = hosp.get(58..63).ok_or("short")?.to_vec();
    let insurance = hosp.get(63..67).ok_or("short")?.to_vec();
    swapped.splice(58..67, insurance.into_iter().chain(health));
    g.add(
        "non_canonical_claim_order",
        "Medical insurance (2) before health (1) in a card.",
        encode_text(&swapped),
        "non_canonical",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut zero = good.clone();
    if let Some(b) = zero.get_mut(46) {
        *b = 0;
    }
    g.add(
        "zero_validity",
        "Code validity of 0 seconds.",
        encode_text(&zero),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut bad_status = good.clone();
    if let Some(b) = bad_status.get_mut(60) {
        *b = 9;
    }
    g.add(
        "unknown_enum_value",
        "Transit account status 9 is not defined.",
        encode_text(&bad_status),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    // Two copies of the transit card: a domain disclosed twice.
    let card = good.get(52..good.len() - 64).ok_or("short")?.to_vec();
    let mut dup = good.get(..52).ok_or("short")?.to_vec();
    if let Some(b) = dup.get_mut(51) {
        *b = 2;
    }
    dup.extend_from_slice(&card);
    dup.extend_from_slice(&card);
    dup.extend_from_slice(good.get(good.len() - 64..).ok_or("short")?);
    g.add(
        "duplicate_domain",
        "The transit card twice in one code.",
        encode_text(&dup),
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // Weak and invalid device keys.
    let mut small = good.clone();
    let order8 = unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")?;
    small.splice(2..34, order8);
    g.add(
        "small_order_device_key",
        "The device key is a point of order 8.",
        encode_text(&small),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut ident = good.clone();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    ident.splice(2..34, identity);
    g.add(
        "identity_device_key",
        "The device key is the identity point.",
        encode_text(&ident),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;
    for (name, description, sign) in [
        ("non_canonical_device_key", "A valid point encoded with y >= p.", 0),
        ("non_canonical_device_key_negative_x", "A valid point encoded with y >= p and the x sign bit set.", 0x80),
    ] {
        let mut noncanon = good.clone();
        noncanon.splice(2..34, non_canonical_point(sign)?);
        g.add(name, description, encode_text(&noncanon), "invalid_device_key", later, g.setup(metro()), vec![])?;
    }
    let mut off = good.clone();
    off.splice(2..34, off_curve_point()?);
    g.add(
        "device_key_not_on_curve",
        "32 bytes that decode to no curve point.",
        encode_text(&off),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // ---- Lists.
    let c = g.code(&cred, &device, &[Domain::Transit], at, 70)?;
    let mut setup = g.setup(metro());
    setup.trust_lists.clear();
    setup.revocation_lists.clear();
    g.add("no_trust_list", "The verifier holds no trust list.", c.clone(), "no_trust_list", later, setup, vec![])?;
    // A trust list naming a small-order issuer key, validly signed by the root: under the
    // cofactored equation such a key would verify forged cards, so the list is refused.
    let placeholder = TrustList {
        sequence: 2,
        issued_at: NOW as u32 - 3600,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())],
    }
    .sign(&g.city.root)?;
    let mut body = placeholder.get(..placeholder.len() - 64).ok_or("short")?.to_vec();
    // version, sequence, issued_at, expires_at, n = 1, kid = 1, alg: the key starts at 20.
    body.splice(20..52, unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")?);
    let mut tbs = citycode::digest::LABEL_TRUST_LIST.to_vec();
    tbs.extend_from_slice(&body);
    body.extend_from_slice(&g.city.root.sign(&tbs));
    let mut setup = g.setup(metro());
    setup.trust_lists.push(encode_base64url(&body));
    g.add(
        "trust_list_small_order_issuer_key",
        "A root-signed trust list whose issuer key is a point of order 8: refused at load.",
        c.clone(),
        "invalid_issuer_key",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.clear();
    g.add(
        "no_revocation_list",
        "A trust list but no revocation list: fail closed.",
        c.clone(),
        "no_revocation_list",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists =
        vec![g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())], 2, NOW as u32 - 1)?];
    g.add(
        "trust_list_expired",
        "A stale trust list: past its expiry.",
        c.clone(),
        "trust_list_expired",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![tl_future.clone(), encode_base64url(&g.city.trust_list)];
    g.add(
        "trust_list_rollback",
        "Sequence 2 held, sequence 1 offered.",
        c.clone(),
        "trust_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let forged = TrustList {
        sequence: 3,
        issued_at: NOW as u32,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![g.issuer_entry(7, rogue_issuer.public_key(), all_ids.clone())],
    };
    let mut setup = g.setup(metro());
    setup.trust_lists.push(encode_base64url(&forged.sign(&key(Algorithm::Ed25519, 0x0c)?)?));
    g.add(
        "bad_trust_list_signature",
        "A trust list signed by a key that is not the root.",
        c.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 - 1, vec![])?];
    g.add(
        "revocation_list_expired",
        "The revocation list is past its expiry.",
        c.clone(),
        "revocation_list_expired",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![
        g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 + DAY as u32, vec![])?,
        encode_base64url(&g.city.revocation_list),
    ];
    g.add(
        "revocation_list_rollback",
        "Revocation sequence 2 held, sequence 1 offered.",
        c.clone(),
        "revocation_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists =
        vec![g.revocations(&key(Algorithm::Ed25519, 0x0c)?, ListSigner::Root, 2, NOW as u32 + DAY as u32, vec![])?];
    g.add(
        "bad_revocation_list_signature",
        "A revocation list claiming the root, signed by another key.",
        c,
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;

    // ---- Claims encoding at every bound (SPEC.md §4.1, §4.3), validly signed.
    let transit: &[u8] = &[4, 3, 1, 1, 0];
    let claims = |count: u8, parts: &[&[u8]]| -> Vec<u8> {
        let mut v = vec![count];
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    };
    let unknown: Vec<[u8; 2]> = (8u8..=23).map(|d| [d, 0]).collect();
    let with_unknown = |n: usize| -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![transit];
        parts.extend(unknown.iter().take(n).map(|u| u.as_slice()));
        claims(parts.len() as u8, &parts)
    };
    // An identity entry (domain 6): digest, zero salt and commitment, name.
    let identity_body = |digest: u8, name: &[u8]| -> Vec<u8> {
        let mut body = vec![digest];
        body.extend_from_slice(&[0x5a; 32]);
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        let mut entry = vec![6, body.len() as u8];
        entry.extend_from_slice(&body);
        entry
    };
    let claim_cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "claims_sixteen_domains",
            "A card with 16 domains, the most allowed (transit and 15 unknown).",
            with_unknown(15),
            "accept",
        ),
        ("claims_seventeen_domains", "A card with 17 domains: one more than allowed.", with_unknown(16), "malformed"),
        ("claims_count_zero", "A card with no domain.", vec![0], "malformed"),
        (
            "claims_domain_zero",
            "Domain id 0 is malformed, not out of order.",
            claims(2, &[&[0, 0], transit]),
            "malformed",
        ),
        (
            "claims_duplicate_domain_in_card",
            "The same domain twice in one card: not strictly increasing.",
            claims(2, &[transit, transit]),
            "non_canonical",
        ),
        (
            "claims_body_longer_than_fields",
            "A transit body with one byte over: malformed, not trailing_bytes.",
            claims(1, &[&[4, 4, 1, 1, 0, 0]]),
            "malformed",
        ),
        (
            "claims_body_shorter_than_fields",
            "A transit body that ends before its flags byte: malformed, not truncated.",
            claims(1, &[&[4, 2, 1, 1]]),
            "malformed",
        ),
        (
            "claims_len_past_end",
            "A body length running past the end of the code.",
            claims(1, &[&[4, 0xff, 0x01, 1, 1, 0]]),
            "truncated",
        ),
        (
            "claims_transit_vehicle_payment_withheld",
            "Flags 2: vehicle payment withheld (a metro card).",
            claims(1, &[&[4, 3, 1, 1, 2]]),
            "accept",
        ),
        ("claims_transit_flags_three", "A transit flags byte above 2.", claims(1, &[&[4, 3, 1, 1, 3]]), "malformed"),
        (
            "claims_transit_all_withheld",
            "A transit body withholding all three fields: malformed (omit the domain instead).",
            claims(1, &[&[4, 3, 0, 0, 2]]),
            "malformed",
        ),
        (
            "claims_transit_fare_class_withheld",
            "Fare class byte 0 (withheld, a parking card) at a metro gate, which charges by it.",
            claims(1, &[&[4, 3, 1, 0, 1]]),
            "policy_unmet",
        ),
        (
            "claims_transit_account_withheld",
            "Account byte 0 (withheld) at a metro gate, which needs the account's standing.",
            claims(1, &[&[4, 3, 0, 1, 2]]),
            "policy_unmet",
        ),
        (
            "claims_insurance_region_withheld",
            "Medical insurance with region 0 (withheld) and status active, beside transit.",
            claims(2, &[&[2, 2, 0, 1], transit]),
            "accept",
        ),
        (
            "claims_insurance_status_withheld",
            "Medical insurance with region 6 and status 0 (withheld), beside transit.",
            claims(2, &[&[2, 2, 6, 0], transit]),
            "accept",
        ),
        (
            "claims_insurance_all_withheld",
            "Medical insurance withholding region and status: malformed.",
            claims(2, &[&[2, 2, 0, 0], transit]),
            "malformed",
        ),
        (
            "claims_identity_latin_name",
            "Transit and an identity (SHA-256 commitment, name \"Li\") beside it.",
            claims(2, &[transit, &identity_body(1, b"Li")]),
            "accept",
        ),
        (
            "claims_identity_digest_three",
            "An identity whose digest byte is 3 (only 1 SHA-256 and 2 SM3 are defined).",
            claims(2, &[transit, &identity_body(3, b"Li")]),
            "malformed",
        ),
        (
            "claims_identity_empty_name",
            "An identity with a name of 0 bytes.",
            claims(2, &[transit, &identity_body(1, b"")]),
            "malformed",
        ),
        (
            "claims_identity_name_not_utf8",
            "An identity whose name is not UTF-8.",
            claims(2, &[transit, &identity_body(1, &[0xe5, 0xbc])]),
            "malformed",
        ),
        (
            "claims_identity_name_control_character",
            "An identity whose name holds a line feed.",
            claims(2, &[transit, &identity_body(1, b"Li\nWei")]),
            "malformed",
        ),
        (
            "claims_identity_name_65_bytes",
            "An identity whose name is 65 bytes (64 is the most).",
            claims(2, &[transit, &identity_body(1, &[b'a'; 65])]),
            "malformed",
        ),
        (
            "claims_guardian_relation_six",
            "Guardianship with relation 6 (only 1 to 5 are defined).",
            claims(2, &[transit, &[7, 1, 6]]),
            "malformed",
        ),
        (
            "claims_insurance_status_four",
            "Medical insurance status 4 is not defined.",
            claims(2, &[&[2, 2, 0, 4], transit]),
            "malformed",
        ),
        (
            "claims_transit_vehicle_payment",
            "Flags 1: vehicle payment enabled.",
            claims(1, &[&[4, 3, 1, 1, 1]]),
            "accept",
        ),
        (
            "claims_largest_domain_id",
            "Domain id 2^32 - 1 in five varint bytes: an unknown domain, kept.",
            claims(2, &[transit, &[0xff, 0xff, 0xff, 0xff, 0x0f, 0]]),
            "accept",
        ),
        (
            "claims_domain_id_beyond_32_bits",
            "A varint of 2^32 or more is non_canonical.",
            claims(2, &[transit, &[0x80, 0x80, 0x80, 0x80, 0x10, 0]]),
            "non_canonical",
        ),
        (
            "claims_varint_sixth_byte",
            "A fifth varint byte with its continuation bit set: over-long, non_canonical.",
            claims(2, &[transit, &[0x86, 0x80, 0x80, 0x80, 0x80, 0x00, 0]]),
            "non_canonical",
        ),
        (
            "claims_varint_trailing_zero",
            "A varint ending in a zero group (6 as 0x86 0x00).",
            claims(2, &[transit, &[0x86, 0x00, 0]]),
            "non_canonical",
        ),
        (
            "claims_domain_zero_after_higher",
            "Domain id 0 after domain 4: both rules apply, and id 0 is malformed wherever it appears (SPEC.md §4.3).",
            claims(2, &[transit, &[0, 0]]),
            "malformed",
        ),
        (
            "claims_identity_name_del",
            "An identity whose name holds DEL (U+007F), a control character (Unicode category Cc).",
            claims(2, &[transit, &identity_body(1, b"Li\x7fWei")]),
            "malformed",
        ),
        (
            "claims_identity_name_c1_control",
            "An identity whose name holds U+0085 (NEXT LINE), a C1 control character (Unicode category Cc).",
            claims(2, &[transit, &identity_body(1, "Li\u{85}Wei".as_bytes())]),
            "malformed",
        ),
        (
            "claims_health_status_four",
            "Health status 4 is not defined (1 to 3).",
            claims(2, &[&[1, 3, 4, 0x52, 0x08], transit]),
            "malformed",
        ),
        (
            "claims_social_security_status_four",
            "Social security status 4 is not defined (1 to 3).",
            claims(2, &[&[3, 1, 4], transit]),
            "malformed",
        ),
        ("claims_fare_class_six", "Fare class 6 is not defined (1 to 5).", claims(1, &[&[4, 3, 1, 6, 0]]), "malformed"),
        (
            "claims_tourism_kind_three",
            "A tourism entry of kind 3 (only 1, pass, and 2, reservation, are defined).",
            claims(2, &[transit, &[5, 5, 1, 3, 7, 0x52, 0x08]]),
            "malformed",
        ),
    ];
    // The demo issuer (kid 1), here allowed the unknown domains too.
    let wide_scope: Vec<u32> = (1..=23).chain([u32::MAX]).collect();
    let tl_wide =
        g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), wide_scope)], 2, NOW as u32 + DAY as u32)?;
    for (i, (name, description, bytes, expected)) in claim_cases.into_iter().enumerate() {
        let c = g.code_with_claims(&bytes, at, 0x40 + i as u8)?;
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_wide.clone()];
        g.add(name, description, c, expected, later, setup, vec![])?;
    }
    // Each scene's card withholds what other scenes read (SPEC.md §11): shown at the
    // wrong scene it is refused, never read as "vehicle payment off" or "standard fare".
    let parking_card = g.code_for(&cred, &device, &Scene::Parking, at, 0x64)?;
    g.add(
        "policy_unmet_parking_card_at_metro",
        "The parking card (fare class withheld) at a metro gate.",
        parking_card,
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let metro_card = g.code_for(&cred, &device, &metro(), at, 0x65)?;
    g.add(
        "policy_unmet_metro_card_at_parking",
        "The metro card (vehicle payment withheld) at a parking exit.",
        metro_card,
        "policy_unmet",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let today = demo::TODAY.to_be_bytes();
    let status_withheld = claims(2, &[&[1, 3, 1, today[0], today[1]], &[2, 2, 6, 0]]);
    let c = g.code_with_claims(&status_withheld, at, 0x66)?;
    g.add(
        "policy_unmet_hospital_insurance_status_withheld",
        "Health green through today and medical insurance with its status withheld, at a hospital.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    // ---- Guardian codes and real-name scenes (SPEC.md §4.3, §4.4, §4.9, §11).
    let guardian_request = CredentialRequest {
        device_key: citycode::ProvenKey::by_signing(&device)?,
        subject: Subject([0x6a; 8]),
        valid_from_day: demo::TODAY - 1,
        valid_days: 30,
        claims: demo::resident_claims(),
        layout: CardLayout::Standard,
    };
    let cred_guardian = g.city.issuer.issue_guardian(&guardian_request, Relation::Child)?;
    let c = g.code_for(&cred_guardian, &device, &Scene::Hospital, at, 0x70)?;
    g.add(
        "accept_guardian_hospital",
        "An elder's hospital card shown from her son's phone: the claims say a guardian (child) holds it.",
        c,
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let c = g.code_for(&cred_guardian, &device, &Scene::Parking, at, 0x71)?;
    g.add(
        "policy_unmet_guardian_parking",
        "A guardian's code at a parking exit: paying is the account holder's own act.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::Parking),
        vec![],
    )?;
    let guarded_transit = claims(2, &[transit, &[7, 1, 2]]);
    let c = g.code_with_cards_labelled(&[&guarded_transit], at, 0x72, citycode::digest::LABEL_GUARDIAN_CARD)?;
    g.add(
        "accept_guardian_card_metro",
        "Transit and guardianship (child), signed under the guardian-card label, at a metro gate.",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let c = g.code_with_cards(&[&guarded_transit], at, 0x73)?;
    g.add(
        "bad_issuer_signature_guardian_card_plain_label",
        "The same card signed under the ordinary card label: a guardian's card never verifies as the holder's own.",
        c,
        "bad_issuer_signature",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let today = demo::TODAY.to_be_bytes();
    let health_card = claims(1, &[&[1, 3, 1, today[0], today[1]]]);
    let c =
        g.code_with_cards_labelled(&[&guarded_transit, &health_card], at, 0x74, citycode::digest::LABEL_GUARDIAN_CARD)?;
    g.add(
        "malformed_guardian_on_some_cards",
        "Two cards, guardianship on the first only: every card of a guardian's code says so, or none.",
        c,
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let spouse_health = claims(2, &[&[1, 3, 1, today[0], today[1]], &[7, 1, 3]]);
    let c = g.code_with_cards_labelled(
        &[&guarded_transit, &spouse_health],
        at,
        0x75,
        citycode::digest::LABEL_GUARDIAN_CARD,
    )?;
    g.add(
        "malformed_guardian_relations_differ",
        "Two guardian cards naming different relations (child, spouse).",
        c,
        "malformed",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut with_identity = demo::resident_claims();
    with_identity.identity = Some(demo::resident_identity()?);
    let cred_identity =
        g.credential(&g.city.issuer, &device, with_identity, CardLayout::Standard, demo::TODAY - 1, 7)?;
    let c = g.code_for(&cred_identity, &device, &Scene::HotelCheckIn, at, 0x76)?;
    g.add(
        "accept_hotel_check_in",
        "The identity card at a hotel: the name and the commitment to the document number 11010519491231002X (holder.json), never the number.",
        c,
        "accept",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    let c = g.code_for(&cred_identity, &device, &metro(), at, 0x77)?;
    g.add(
        "policy_unmet_hotel_without_identity",
        "The metro card at a hotel: no identity disclosed.",
        c,
        "policy_unmet",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    // ---- Printed codes (SPEC.md §5.1).
    let printed_claims = Claims {
        health: Some(citycode::claims::Health {
            status: citycode::claims::HealthStatus::Green,
            valid_until_day: demo::TODAY + 179,
        }),
        medical_insurance: Some(citycode::claims::MedicalInsurance {
            region: None,
            status: Some(citycode::claims::InsuranceStatus::Active),
        }),
        identity: Some(demo::resident_identity()?),
        ..Claims::default()
    };
    let printed = g.city.issuer.issue_printed(
        Subject([0x77; 8]),
        &printed_claims,
        demo::TODAY - 1,
        citycode::PRINTED_MAX_DAYS,
        citycode::PRINTED_MAX_DAYS,
    )?;
    g.add(
        "accept_printed_hospital",
        "A printed code (identity, health, insurance status; 180 days) at a hospital's staffed desk: accepted, printed.",
        printed.to_text(),
        "accept",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    g.add(
        "accept_printed_hotel",
        "The same printed code at a hotel's front desk.",
        printed.to_text(),
        "accept",
        later,
        g.setup(Scene::HotelCheckIn),
        vec![],
    )?;
    g.add(
        "policy_unmet_printed_metro_gate",
        "A printed code at an unattended metro gate: refused whatever it carries.",
        printed.to_text(),
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut setup = g.setup(Scene::Hospital);
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject([0x77; 8])],
    )?];
    g.add(
        "revoked_printed_reissued",
        "The printed code after it was reissued: its subject is on the revocation list.",
        printed.to_text(),
        "revoked",
        later,
        setup,
        vec![],
    )?;
    let mut flipped = printed.as_bytes().to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "bad_issuer_signature_printed",
        "The printed code with one bit of its issuer signature flipped.",
        encode_text(&flipped),
        "bad_issuer_signature",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    // A printed code carries only what the staffed scenes read, for at most 180 days
    // (SPEC.md §5.1): each case below is validly signed, so only that rule refuses it.
    let union_bytes = printed.as_bytes().to_vec();
    let entries = printed_claim_entries(&union_bytes)?;
    let with_entries = |entries: &[Vec<u8>], days: u8| -> Res<String> {
        let mut claims = vec![u8::try_from(entries.len())?];
        for e in entries {
            claims.extend_from_slice(e);
        }
        resign_printed(&union_bytes, days, &claims)
    };
    let mut with_social = entries.clone();
    with_social.insert(2, vec![3, 1, 2]);
    let mut with_region = entries.clone();
    // The insurance entry with region 310000 (a varint, f0 f5 12) instead of 0.
    *with_region.get_mut(1).ok_or("no insurance entry")? = vec![2, 4, 0xf0, 0xf5, 0x12, 1];
    let printed_rule_cases = [
        (
            "accept_printed_at_180_days",
            "A printed code's card valid 180 days, the most allowed.",
            with_entries(&entries, 180)?,
            "accept",
        ),
        (
            "malformed_printed_181_days",
            "A printed code's card valid 181 days, validly signed: verifiers enforce the 180-day cap too.",
            with_entries(&entries, 181)?,
            "malformed",
        ),
        (
            "malformed_printed_with_social_security",
            "A printed code that also carries social security, which no staffed scene reads.",
            with_entries(&with_social, 180)?,
            "malformed",
        ),
        (
            "malformed_printed_with_insurance_region",
            "A printed code whose insurance card shows the region (310000), which the hospital does not read.",
            with_entries(&with_region, 180)?,
            "malformed",
        ),
        (
            "accept_printed_identity_only",
            "A printed code with identity alone: less than the staffed scenes read is allowed.",
            with_entries(entries.get(2..).ok_or("no identity entry")?, 30)?,
            "accept",
        ),
    ];
    for (name, description, input, expected) in printed_rule_cases {
        g.add(name, description, input, expected, later, g.setup(Scene::HotelCheckIn), vec![])?;
    }
    // A printed code's card without identity: malformed before any signature is checked.
    let mut bare = vec![citycode::credential::FORMAT_VERSION, 0];
    bare.extend_from_slice(&[0x78; 8]);
    bare.push(1);
    bare.extend_from_slice(&[1, Algorithm::Ed25519.id()]);
    bare.extend_from_slice(&(demo::TODAY - 1).to_be_bytes());
    bare.push(30);
    bare.extend_from_slice(&claims(1, &[transit]));
    bare.extend_from_slice(&[0x11; 64]);
    g.add(
        "malformed_printed_without_identity",
        "A printed code (device algorithm 0) whose card carries no identity for the staff to check.",
        encode_text(&bare),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    // Cards per code: 1 to 16 (SPEC.md §5).
    let one_domain: Vec<[u8; 3]> = (8u8..=23).map(|d| [1, d, 0]).collect();
    let transit_card: &[u8] = &[1, 4, 3, 1, 1, 0];
    let cards = |n: usize| -> Vec<&[u8]> {
        let mut v = vec![transit_card];
        v.extend(one_domain.iter().take(n.saturating_sub(1)).map(|c| c.as_slice()));
        v.truncate(n);
        v
    };
    let card_count_cases = [
        (
            "sixteen_cards",
            "A code with 16 cards, the most allowed (transit and 15 unknown domains).",
            cards(16),
            "accept",
        ),
        ("seventeen_cards", "A code with 17 cards.", cards(17), "malformed"),
        ("no_cards", "A code with no card.", cards(0), "malformed"),
    ];
    for (i, (name, description, list, expected)) in card_count_cases.into_iter().enumerate() {
        let c = g.code_with_cards(&list, at, 0x68 + i as u8)?;
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_wide.clone()];
        g.add(name, description, c, expected, later, setup, vec![])?;
    }
    // Tourism entries: 1 to 8 (SPEC.md §4.3); the reservation for this site is last.
    let tourism = |n: u8| -> Vec<u8> {
        let today = demo::TODAY.to_be_bytes();
        let mut body = vec![n];
        for i in 0..n {
            let site: [u8; 2] = if i + 1 == n { [0x80, 0x08] } else { [0x81 + i, 0x08] };
            body.extend_from_slice(&[2, site[0], site[1], today[0], today[1]]);
        }
        let mut v = vec![1, 5, body.len() as u8];
        v.extend_from_slice(&body);
        v
    };
    let tourism_cases = [
        (
            "tourism_eight_entries",
            "Eight tourism entries, the most allowed; the last one is this site's reservation.",
            tourism(8),
            "accept",
        ),
        ("tourism_nine_entries", "Nine tourism entries.", tourism(9), "malformed"),
        ("tourism_no_entries", "A tourism body with no entry.", vec![1, 5, 1, 0], "malformed"),
    ];
    for (i, (name, description, bytes, expected)) in tourism_cases.into_iter().enumerate() {
        let c = g.code_with_claims(&bytes, at, 0x60 + i as u8)?;
        g.add(name, description, c, expected, later, g.setup(scenic(demo::SITE)), vec![])?;
    }

    // ---- Every validity window on both sides of its edge (SPEC.md §9 steps 2-4, §11).
    let skew = u64::from(SKEW);
    let transit_at = |g: &Gen, t: u64, nonce: u8| g.code(&cred, &device, &[Domain::Transit], t, nonce);
    let at_max =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 120, nonce: Some([0x70, 0, 0, 0]) })?;
    g.add(
        "code_validity_at_max",
        "Asks for 120 s, exactly what the verifier allows.",
        at_max.to_text(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let over = present(&cred, &device, &[4], at, PresentOptions { validity_secs: 121, nonce: Some([0x71, 0, 0, 0]) })?;
    g.add(
        "code_validity_one_over_max",
        "Asks for 121 s; the verifier allows 120.",
        over.to_text(),
        "code_validity_too_long",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let mut max_60 = g.setup(metro());
    max_60.config.max_code_validity_secs = 60;
    let sixty = present(&cred, &device, &[4], at, PresentOptions { validity_secs: 60, nonce: Some([0x76, 0, 0, 0]) })?;
    g.add(
        "code_validity_at_configured_max",
        "A verifier configured for at most 60 s; the code asks for 60.",
        sixty.to_text(),
        "accept",
        later,
        max_60.clone(),
        vec![],
    )?;
    let sixty_one =
        present(&cred, &device, &[4], at, PresentOptions { validity_secs: 61, nonce: Some([0x77, 0, 0, 0]) })?;
    g.add(
        "code_validity_over_configured_max",
        "A verifier configured for at most 60 s; the code asks for 61.",
        sixty_one.to_text(),
        "code_validity_too_long",
        later,
        max_60,
        vec![],
    )?;
    let mut no_skew = g.setup(metro());
    no_skew.config.skew_secs = 0;
    g.add(
        "code_last_second_without_skew",
        "Skew 0: verified at issued_at + validity - 1.",
        transit_at(&g, at, 0x72)?,
        "accept",
        at + 59,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_expired_without_skew",
        "Skew 0: verified at issued_at + validity.",
        transit_at(&g, at, 0x73)?,
        "code_expired",
        at + 60,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_from_future_without_skew",
        "Skew 0: built one second ahead of the verifier's clock.",
        transit_at(&g, at + 1, 0x74)?,
        "code_not_yet_valid",
        at,
        no_skew.clone(),
        vec![],
    )?;
    g.add(
        "code_at_verifier_time_without_skew",
        "Skew 0: built at the verifier's second.",
        transit_at(&g, at, 0x75)?,
        "accept",
        at,
        no_skew,
        vec![],
    )?;

    // Cards: valid from day start (inclusive) to day end (exclusive), widened by skew.
    let from_tomorrow =
        g.credential(&g.city.issuer, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY + 1, 1)?;
    let start = u64::from(demo::TODAY + 1) * DAY;
    let card_cases = [
        (
            "card_starts_within_skew",
            "Verified skew seconds before the card's first second.",
            &from_tomorrow,
            start - skew,
            "accept",
        ),
        (
            "card_starts_beyond_skew",
            "Verified skew + 1 seconds before the card's first second.",
            &from_tomorrow,
            start - skew - 1,
            "credential_not_yet_valid",
        ),
        (
            "card_ends_within_skew",
            "Verified at the card's end + skew - 1.",
            &from_tomorrow,
            start + DAY + skew - 1,
            "accept",
        ),
        (
            "card_ends_beyond_skew",
            "Verified at the card's end + skew.",
            &from_tomorrow,
            start + DAY + skew,
            "credential_expired",
        ),
    ];
    for (i, (name, description, credential, t, expected)) in card_cases.into_iter().enumerate() {
        let c = g.code_unchecked(credential, &device, 4, t, 0x78 + i as u8)?;
        let mut setup = g.setup(metro());
        // Lists valid over the whole range.
        setup.trust_lists = vec![g.trust(
            vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())],
            2,
            NOW as u32 + 30 * DAY as u32,
        )?];
        setup.revocation_lists =
            vec![g.revocations(&g.city.root, ListSigner::Root, 2, NOW as u32 + 30 * DAY as u32, vec![])?];
        g.add(name, description, c, expected, t, setup, vec![])?;
    }

    // Issuer keys: valid from not_before (inclusive) to not_after (exclusive); no skew.
    let mut window = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    (window.not_before, window.not_after) = (NOW as u32, NOW as u32 + 10);
    let tl_window = g.trust(vec![window], 2, NOW as u32 + DAY as u32)?;
    let key_cases = [
        ("issuer_key_first_second", "Verified at the key's not_before.", NOW, "accept"),
        (
            "issuer_key_before_first_second",
            "Verified one second before the key's not_before (skew does not apply).",
            NOW - 1,
            "issuer_key_not_valid",
        ),
        ("issuer_key_last_second", "Verified at the key's not_after - 1.", NOW + 9, "accept"),
        (
            "issuer_key_at_not_after",
            "Verified at the key's not_after (skew does not apply).",
            NOW + 10,
            "issuer_key_not_valid",
        ),
    ];
    for (i, (name, description, t, expected)) in key_cases.into_iter().enumerate() {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_window.clone()];
        g.add(name, description, transit_at(&g, t, 0x80 + i as u8)?, expected, t, setup, vec![])?;
    }

    // Lists: held until expires_at (exclusive); no skew.
    let edge = NOW as u32 + 10;
    let tl_edge = g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone())], 2, edge)?;
    let rl_edge = g.revocations(&g.city.root, ListSigner::Root, 2, edge, vec![])?;
    let list_cases = [
        ("trust_list_last_second", "Verified at the trust list's expires_at - 1.", true, NOW + 9, "accept"),
        (
            "trust_list_at_expiry",
            "Verified at the trust list's expires_at (skew does not apply).",
            true,
            NOW + 10,
            "trust_list_expired",
        ),
        ("revocation_list_last_second", "Verified at the revocation list's expires_at - 1.", false, NOW + 9, "accept"),
        (
            "revocation_list_at_expiry",
            "Verified at the revocation list's expires_at (skew does not apply).",
            false,
            NOW + 10,
            "revocation_list_expired",
        ),
    ];
    for (i, (name, description, trust, t, expected)) in list_cases.into_iter().enumerate() {
        let mut setup = g.setup(metro());
        if trust {
            setup.trust_lists = vec![tl_edge.clone()];
        } else {
            setup.revocation_lists = vec![rl_edge.clone()];
        }
        g.add(name, description, transit_at(&g, t, 0x88 + i as u8)?, expected, t, setup, vec![])?;
    }

    // Tourism days are local days at the site (UTC+8): local midnight is 16:00 UTC.
    let local_midnight = u64::from(demo::TODAY) * DAY - 8 * 3600;
    let entry = |kind: u8| -> Vec<u8> {
        let today = demo::TODAY.to_be_bytes();
        vec![1, 5, 6, 1, kind, 0x80, 0x08, today[0], today[1]]
    };
    let tourism_edges = [
        (
            "reservation_first_local_second",
            "A reservation for today, at 00:00:00 local time.",
            2u8,
            local_midnight,
            "accept",
        ),
        (
            "reservation_last_local_second_of_yesterday",
            "A reservation for today, at 23:59:59 local time the day before.",
            2,
            local_midnight - 1,
            "policy_unmet",
        ),
        (
            "reservation_last_local_second",
            "A reservation for today, at 23:59:59 local time.",
            2,
            local_midnight + DAY - 1,
            "accept",
        ),
        (
            "reservation_next_local_day",
            "A reservation for today, at 00:00:00 local time the next day.",
            2,
            local_midnight + DAY,
            "policy_unmet",
        ),
        (
            "pass_days_before",
            "A pass valid through today, three local days before.",
            1,
            local_midnight - 3 * DAY,
            "accept",
        ),
        (
            "pass_last_local_second",
            "A pass valid through today, at 23:59:59 local time.",
            1,
            local_midnight + DAY - 1,
            "accept",
        ),
        (
            "pass_next_local_day",
            "A pass valid through today, at 00:00:00 local time the next day.",
            1,
            local_midnight + DAY,
            "policy_unmet",
        ),
    ];
    for (i, (name, description, kind, t, expected)) in tourism_edges.into_iter().enumerate() {
        let c = g.code_with_claims(&entry(kind), t, 0x90 + i as u8)?;
        g.add(name, description, c, expected, t, g.setup(scenic(demo::SITE)), vec![])?;
    }

    // ---- Text bounds (SPEC.md §6).
    let text_cases = [
        ("text_empty_payload", "The prefix and nothing else.", "CC1:".to_string(), "text_encoding"),
        (
            "text_at_max_length",
            "Exactly 7,089 bytes: not too long, but 7,085 digits is no valid length.",
            format!("CC1:{}", "0".repeat(MAX_TEXT_LEN - 4)),
            "text_encoding",
        ),
        (
            "text_at_max_length_with_lf",
            "7,089 bytes and a scanner's LF: the terminator is removed before the length is checked.",
            format!("CC1:{}\n", "0".repeat(MAX_TEXT_LEN - 4)),
            "text_encoding",
        ),
    ];
    for (name, description, input, expected) in text_cases {
        g.add(name, description, input, expected, later, g.setup(metro()), vec![])?;
    }

    // ---- Replay ids differ per code (SPEC.md §5, §9 step 8).
    let first = g.code(&cred, &device, &[Domain::Transit], at, 0xb8)?;
    let second = g.code(&cred, &device, &[Domain::Transit], at, 0xb9)?;
    g.add(
        "another_code_of_the_same_holder",
        "A second code of the same holder and card, built the same second with another nonce, after the first was accepted: a new code, not a replay.",
        second,
        "accept",
        later + 1,
        g.setup(metro()),
        vec![Seen { input: first, now: later }],
    )?;

    // ---- List parsing: each failure's reason, found before any signature check
    // (SPEC.md §8.3). The lists are the demo city's with one field changed.
    let tl = g.city.trust_list.clone();
    let rl = g.city.revocation_list.clone();
    let edit = |b: &[u8], at: usize, remove: usize, insert: &[u8]| -> String {
        let mut v = b.to_vec();
        v.splice(at..at + remove, insert.iter().copied());
        encode_base64url(&v)
    };
    // Trust list: version(0) sequence(1..9) issued(9..13) expires(13..17) n(17) kid(18) alg(19).
    // Revocation list: version(0) signer(1) sequence(2..10) issued(10..14) expires(14..18) n(18).
    let list_parse_cases: Vec<(&str, &str, bool, String, &str)> = vec![
        ("trust_list_version_2", "A trust list of version 2.", true, edit(&tl, 0, 1, &[2]), "unsupported_version"),
        (
            "trust_list_truncated",
            "A trust list cut inside its root signature.",
            true,
            encode_base64url(tl.get(..tl.len() - 1).ok_or("short")?),
            "truncated",
        ),
        (
            "trust_list_trailing_byte",
            "A trust list with one byte after its signature.",
            true,
            {
                let mut v = tl.clone();
                v.push(0);
                encode_base64url(&v)
            },
            "trailing_bytes",
        ),
        (
            "trust_list_1025_keys",
            "A trust list whose key count is 1,025, and nothing after the count: refused when the count is read (malformed, not truncated).",
            true,
            edit(&tl, 17, tl.len() - 17, &[0x81, 0x08]),
            "malformed",
        ),
        (
            "trust_list_key_algorithm_4",
            "An issuer key of algorithm id 4 (unassigned).",
            true,
            edit(&tl, 19, 1, &[4]),
            "unsupported_algorithm",
        ),
        (
            "trust_list_count_varint_over_long",
            "A key count of 1 written in two varint bytes.",
            true,
            edit(&tl, 17, 1, &[0x81, 0x00]),
            "non_canonical",
        ),
        (
            "revocation_list_version_2",
            "A revocation list of version 2.",
            false,
            edit(&rl, 0, 1, &[2]),
            "unsupported_version",
        ),
        (
            "revocation_list_signer_2",
            "A revocation list whose signer byte is 2.",
            false,
            edit(&rl, 1, 1, &[2]),
            "malformed",
        ),
        (
            "revocation_list_too_many_entries",
            "A revocation list whose entry count is 2^20 + 1, and nothing after the count: refused when the count is read (malformed, not truncated).",
            false,
            edit(&rl, 18, rl.len() - 18, &[0x81, 0x80, 0x40]),
            "malformed",
        ),
        (
            "revocation_list_entry_kind_4",
            "A revocation list entry of kind 4.",
            false,
            edit(&rl, 18, 1, &[1, 4]),
            "malformed",
        ),
        (
            "revocation_list_truncated",
            "A revocation list cut inside its signature.",
            false,
            encode_base64url(rl.get(..rl.len() - 1).ok_or("short")?),
            "truncated",
        ),
    ];
    let c = g.code(&cred, &device, &[Domain::Transit], at, 0xba)?;
    for (name, description, trust, list, expected) in list_parse_cases {
        let mut setup = g.setup(metro());
        if trust {
            setup.trust_lists = vec![list];
        } else {
            setup.revocation_lists = vec![list];
        }
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }
    // The most issuer keys a trust list may hold: 1,024 (the demo key under every kid).
    let many: Vec<IssuerKey> =
        (1..=1024).map(|kid| g.issuer_entry(kid, g.city.issuer.public_key(), all_ids.clone())).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![g.trust(many, 2, NOW as u32 + DAY as u32)?];
    g.add(
        "trust_list_1024_keys",
        "A trust list of 1,024 issuer keys, the most allowed.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;

    // A verifier configured to run without a revocation list (SPEC.md §9 step 2).
    let mut setup = g.setup(metro());
    setup.revocation_lists.clear();
    setup.config.allow_missing_revocation_list = true;
    g.add(
        "no_revocation_list_allowed",
        "No revocation list, on a verifier its operator configured to run without one: accepted (its verdicts say revocation was not checked).",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    // The root-signed revocation list is required: an issuer's list alone does not make
    // revocation checked (SPEC.md §9 step 2; issue 24).
    let issuer_list_only = g.revocations(
        &key(Algorithm::Ed25519, 0x02)?,
        ListSigner::Issuer(1),
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject(*b"someone_")],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![issuer_list_only.clone()];
    g.add(
        "no_revocation_list_issuer_list_only",
        "Issuer 1's revocation list but not the root's: fail closed, whatever issuer lists are held.",
        c.clone(),
        "no_revocation_list",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![issuer_list_only];
    setup.config.allow_missing_revocation_list = true;
    g.add(
        "no_root_revocation_list_allowed",
        "Issuer 1's revocation list but not the root's, on a verifier configured to run without revocation lists: accepted, and the verdict says revocation was not checked.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    // Loading the held bytes again is allowed and changes nothing (SPEC.md §8.3).
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![encode_base64url(&tl), encode_base64url(&tl)];
    setup.revocation_lists = vec![encode_base64url(&rl), encode_base64url(&rl)];
    g.add(
        "lists_loaded_twice",
        "The same trust list and the same revocation list, each loaded twice: not a rollback.",
        c.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;

    // ---- An issuer-signed revocation list needs its key valid when it was issued
    // (SPEC.md §8.2): the key's window here is [NOW - 100, NOW + 100).
    let mut windowed = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
    (windowed.not_before, windowed.not_after) = (NOW as u32 - 100, NOW as u32 + 100);
    let tl_windowed = g.trust(vec![windowed], 2, NOW as u32 + DAY as u32)?;
    let issuer_list_at = |issued_at: u32| -> Res<String> {
        let list = RevocationList {
            signer: ListSigner::Issuer(1),
            sequence: 1,
            issued_at,
            expires_at: NOW as u32 + DAY as u32,
            entries: vec![Revoked::Subject([0x99; 8])],
        };
        Ok(encode_base64url(&list.sign(&key(Algorithm::Ed25519, 0x02)?)?))
    };
    let issuer_list_cases = [
        (
            "issuer_revocation_list_at_key_not_before",
            "Issued at the issuer key's not_before.",
            NOW as u32 - 100,
            "accept",
        ),
        (
            "issuer_revocation_list_before_key_window",
            "Issued one second before the issuer key's not_before.",
            NOW as u32 - 101,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_at_key_last_second",
            "Issued at the issuer key's not_after - 1.",
            NOW as u32 + 99,
            "accept",
        ),
        (
            "issuer_revocation_list_at_key_not_after",
            "Issued at the issuer key's not_after: the key was retired.",
            NOW as u32 + 100,
            "issuer_key_not_valid",
        ),
    ];
    for (name, description, issued_at, expected) in issuer_list_cases {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![tl_windowed.clone()];
        setup.revocation_lists.push(issuer_list_at(issued_at)?);
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }

    // ---- An issuer-signed revocation list needs its key valid *now*, at the verifier's
    // clock, whatever its issued_at (SPEC.md §8.3): a retired key cannot replace its last
    // list with a backdated one. Issuer key 5 (tourism only, as in issue 24) signs lists
    // and no card, so only the list's load can refuse; its window ends at `retired`.
    let list_signer = key(Algorithm::Ed25519, 0x25)?;
    let retired = later as u32;
    let with_key_5 = |g: &Gen, not_before: u32, not_after: u32| -> Res<String> {
        let issuer = g.issuer_entry(1, g.city.issuer.public_key(), all_ids.clone());
        let key_5 = IssuerKey { not_before, not_after, ..g.issuer_entry(5, list_signer.public_key(), vec![5]) };
        g.trust(vec![issuer, key_5], 2, NOW as u32 + DAY as u32)
    };
    // The issue's exact attack: sequence 2, dated not_after - 1, no entries.
    let key_5_list = |issued_at: u32| -> Res<String> {
        let list = RevocationList {
            signer: ListSigner::Issuer(5),
            sequence: 2,
            issued_at,
            expires_at: NOW as u32 + DAY as u32,
            entries: vec![],
        };
        Ok(encode_base64url(&list.sign(&list_signer)?))
    };
    let key_5_cases = [
        (
            "issuer_revocation_list_key_retired_backdated",
            "Issuer key 5 retired (not_after = now): its list dated not_after - 1, with a higher sequence and no entries, is refused, so it cannot replace the key's last list (issue 24).",
            (NOW as u32 - 3600, retired),
            retired - 1,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_key_valid_last_second",
            "The same list while issuer key 5 is still valid (now = not_after - 1): loaded.",
            (NOW as u32 - 3600, retired + 1),
            retired - 1,
            "accept",
        ),
        (
            "issuer_revocation_list_key_not_yet_valid",
            "A list dated inside issuer key 5's window, loaded one second before the window opens (now = not_before - 1): refused.",
            (retired + 1, retired + 100),
            retired + 1,
            "issuer_key_not_valid",
        ),
        (
            "issuer_revocation_list_key_valid_first_second",
            "The same list at issuer key 5's not_before (now = not_before): loaded.",
            (retired, retired + 100),
            retired + 1,
            "accept",
        ),
    ];
    for (name, description, (not_before, not_after), issued_at, expected) in key_5_cases {
        let mut setup = g.setup(metro());
        setup.trust_lists = vec![with_key_5(&g, not_before, not_after)?];
        setup.revocation_lists.push(key_5_list(issued_at)?);
        g.add(name, description, c.clone(), expected, later, setup, vec![])?;
    }

    // ---- P-256 device signatures (SPEC.md §4.2): r and s in [1, n-1]; high s allowed.
    let p256_code = Gen::bytes_of(&g.code(&cred_p256, &p256, &[Domain::Transit], at, 0xb0)?)?;
    let with_sig = |r: [u8; 32], s: [u8; 32]| -> String {
        let mut b = p256_code.clone();
        let at = b.len() - 64;
        b.truncate(at);
        b.extend_from_slice(&r);
        b.extend_from_slice(&s);
        encode_text(&b)
    };
    let (mut r, mut s_val) = ([0u8; 32], [0u8; 32]);
    let (_, rs) = p256_code.split_at(p256_code.len() - 64);
    let (r_part, s_part) = rs.split_at(32);
    r.copy_from_slice(r_part);
    s_val.copy_from_slice(s_part);
    let mut flipped_s = s_val;
    flipped_s[31] ^= 1;
    let p256_cases = [
        (
            "p256_device_signature_bad",
            "A P-256 device signature with one bit of s flipped.",
            with_sig(r, flipped_s),
            "bad_device_signature",
        ),
        (
            "p256_device_signature_high_s",
            "The same P-256 signature as (r, n - s): high s is allowed, and it is the same code.",
            with_sig(r, be_sub(P256_N, s_val)),
            "accept",
        ),
        ("p256_device_signature_r_zero", "r = 0.", with_sig([0; 32], s_val), "bad_device_signature"),
        ("p256_device_signature_s_zero", "s = 0.", with_sig(r, [0; 32]), "bad_device_signature"),
        (
            "p256_device_signature_r_is_n",
            "r = n: out of range, though r mod n is 0.",
            with_sig(P256_N, s_val),
            "bad_device_signature",
        ),
        (
            "p256_device_signature_s_is_n",
            "s = n: out of range, though s mod n is 0.",
            with_sig(r, P256_N),
            "bad_device_signature",
        ),
    ];
    for (name, description, input, expected) in p256_cases {
        g.add(name, description, input, expected, later, g.setup(metro()), vec![])?;
    }
    let seen = vec![Seen { input: encode_text(&p256_code), now: later }];
    g.add(
        "p256_device_signature_high_s_replayed",
        "The high-s form of a code already accepted: the replay id covers no signature, so it is a replay.",
        with_sig(r, be_sub(P256_N, s_val)),
        "replayed",
        later + 1,
        g.setup(metro()),
        seen,
    )?;

    // ---- What separates the cofactored equation, and the strict checks (SPEC.md §4.2).
    let odd = [
        (
            "device_signature_r_with_torsion",
            "R has a component of order 8 (k computed over it): valid under the cofactored equation, which every verifier and batch verification use.",
            Torsion::MixedR,
            "accept",
        ),
        (
            "device_signature_small_order_r",
            "R of order 8 and S = k·a: the cofactored equation holds, but a small-order R is refused.",
            Torsion::SmallOrderR,
            "bad_device_signature",
        ),
        (
            "device_signature_s_not_reduced",
            "A valid signature with S + L for S: the equation holds, but S must be below L.",
            Torsion::UnreducedS,
            "bad_device_signature",
        ),
    ];
    for (i, (name, description, how, expected)) in odd.into_iter().enumerate() {
        let c = g.code_with_odd_device_signature(at, 0xa0 + i as u8, how)?;
        g.add(name, description, c, expected, later, g.setup(metro()), vec![])?;
    }

    conformance_cases(&mut g, &cred, &device, &printed, &union_bytes, &p256_code)?;
    g.cases.extend(gm_cases(&g)?);
    Ok(VectorFile {
        description: "citycode v1 verification vectors: see test-vectors/README.md".into(),
        format_version: citycode::credential::FORMAT_VERSION,
        cases: g.cases,
    })
}

/// `list` (a signed trust or revocation list, whose body ends in its `alg` byte) with
/// that byte set to `alg` and signed again by `signer` under `label`: a list whose
/// signature verifies under the signer's key but whose `alg` names another algorithm.
fn resigned_with_alg(list: &[u8], alg: Algorithm, label: &[u8], signer: &KeyPair) -> Res<Vec<u8>> {
    let mut body = list.get(..list.len() - 64).ok_or("short list")?.to_vec();
    *body.last_mut().ok_or("empty list")? = alg.id();
    let mut tbs = label.to_vec();
    tbs.extend_from_slice(&body);
    body.extend_from_slice(&signer.sign(&tbs));
    Ok(body)
}

/// `text` with its digit at `at` (counted after the prefix) written as another Unicode
/// digit of the same value (`zero` the script's digit 0): an integer parser that takes
/// any Unicode digit would read the same code.
fn with_foreign_digit(text: &str, at: usize, zero: char) -> Res<String> {
    let digits = text.strip_prefix("CC1:").ok_or("no prefix")?;
    let mut out = String::from("CC1:");
    for (i, ch) in digits.chars().enumerate() {
        if i == at {
            let d = ch.to_digit(10).ok_or("not a digit")?;
            out.push(char::from_u32(zero as u32 + d).ok_or("no such digit")?);
        } else {
            out.push(ch);
        }
    }
    Ok(out)
}

/// Cases that pin the readings SPEC.md chose where it was silent or contradicted the
/// vectors, and the refusing side of MUSTs no other case catches (issue 27): each found
/// by bending a second verifier written from SPEC.md alone (tools/refverify, MUSTS.md).
fn conformance_cases(
    g: &mut Gen,
    cred: &Credential,
    device: &KeyPair,
    printed: &citycode::PrintedCode,
    union_bytes: &[u8],
    p256_code: &[u8],
) -> Res<()> {
    use citycode::digest::{LABEL_GUARDIAN_CARD, LABEL_REVOCATION_LIST, LABEL_TRUST_LIST};
    let at = NOW;
    let later = at + 2;
    let transit: &[u8] = &[4, 3, 1, 1, 0];
    let today = demo::TODAY.to_be_bytes();
    let health: &[u8] = &[1, 3, 1, today[0], today[1]];
    let one_card = |parts: &[&[u8]]| -> Vec<u8> {
        let mut v = vec![parts.len() as u8];
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    };

    // §4.3, §5: guardianship is the one domain that repeats across a code's cards.
    let c = g.code_with_cards_labelled(
        &[&one_card(&[health, &[7, 1, 2]]), &one_card(&[transit, &[7, 1, 2]])],
        at,
        0xe0,
        LABEL_GUARDIAN_CARD,
    )?;
    g.add(
        "accept_guardian_two_cards",
        "A guardian's code of two cards (health, transit), each carrying guardianship with the same relation (child): guardianship is the one domain that may repeat (SPEC.md §5).",
        c,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §9 step 4: scope covers every domain of a card, unknown ones and guardianship too.
    let six: Vec<u32> = (1..=6).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists =
        vec![g.trust(vec![g.issuer_entry(1, g.city.issuer.public_key(), six.clone())], 2, NOW as u32 + DAY as u32)?];
    let c = g.code_with_cards_labelled(&[&one_card(&[transit, &[7, 1, 2]])], at, 0xe3, LABEL_GUARDIAN_CARD)?;
    g.add(
        "out_of_scope_guardianship",
        "A guardian's transit card whose issuer key lists domains 1 to 6 but not guardianship (7): out of scope (SPEC.md §9 step 4).",
        c,
        "out_of_scope",
        later,
        setup.clone(),
        vec![],
    )?;
    let c = g.code_with_claims(&one_card(&[transit, &[9, 0]]), at, 0xe4)?;
    g.add(
        "out_of_scope_unknown_domain",
        "Transit and an unknown domain 9 that the issuer key does not list: out of scope, unknown or not (SPEC.md §9 step 4).",
        c,
        "out_of_scope",
        later,
        setup,
        vec![],
    )?;

    // §4.1: time arithmetic without overflow. A card from day 60,000 (year 2134) starts
    // at 5,184,000,000 s, past 2^32: computed in 32 bits it would start and end in 1998.
    let c = g.code_with_cards_from(&[&one_card(&[transit])], at, 0xe5, citycode::digest::LABEL_CARD, 60_000, 10)?;
    g.add(
        "credential_not_yet_valid_beyond_32_bits",
        "A card valid from day 60,000, whose start in seconds exceeds 2^32: not yet valid, never expired (SPEC.md §4.1: 64-bit time arithmetic).",
        c,
        "credential_not_yet_valid",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §5.1: a printed code at a scene that refuses printed codes is refused before any
    // signature is looked at; one without identity is malformed before trailing bytes.
    let mut flipped = printed.as_bytes().to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    g.add(
        "policy_unmet_printed_metro_gate_tampered",
        "bad_issuer_signature_printed at a metro gate: the scene refuses printed codes before any issuer key or signature is looked at (SPEC.md §5.1).",
        encode_text(&flipped),
        "policy_unmet",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let entries = printed_claim_entries(union_bytes)?;
    let without_identity = entries.get(..2).ok_or("no health and insurance entries")?;
    let mut claims = vec![u8::try_from(without_identity.len())?];
    for e in without_identity {
        claims.extend_from_slice(e);
    }
    let no_identity = resign_printed(union_bytes, 30, &claims)?;
    let mut guarded = entries.clone();
    guarded.push(vec![7, 1, 1]);
    let mut claims = vec![u8::try_from(guarded.len())?];
    for e in &guarded {
        claims.extend_from_slice(e);
    }
    g.add(
        "malformed_printed_with_guardianship",
        "A printed code, validly signed, whose card also carries guardianship (parent): a printed code is never a guardian's (SPEC.md §5.1).",
        resign_printed(union_bytes, 30, &claims)?,
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    g.add(
        "malformed_printed_health_without_identity",
        "A printed code, validly signed, with health and the insurance status but no identity for the staff to check.",
        no_identity.clone(),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;
    let mut over = Gen::bytes_of(&no_identity)?;
    over.push(0);
    g.add(
        "malformed_printed_without_identity_trailing_byte",
        "The same printed code with one byte after its last card: no identity is known after the last card, before the byte over (SPEC.md §5.1).",
        encode_text(&over),
        "malformed",
        later,
        g.setup(Scene::Hospital),
        vec![],
    )?;

    // §6: digits are ASCII 0-9 only.
    let text = g.code(cred, device, &[Domain::Transit], at, 0xe1)?;
    g.add(
        "accept_metro_before_foreign_digits",
        "The metro code that the next cases rewrite with other Unicode digits of the same values.",
        text.clone(),
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    for (name, zero, what) in [
        ("text_fullwidth_digit", '\u{ff10}', "a full-width digit (U+FF10 block)"),
        ("text_arabic_indic_digit", '\u{0660}', "an Arabic-Indic digit (U+0660 block)"),
    ] {
        g.add(
            name,
            &format!("The metro code with one digit written as {what} of the same value: only ASCII 0-9 are digits (SPEC.md §6)."),
            with_foreign_digit(&text, 5, zero)?,
            "text_encoding",
            later,
            g.setup(metro()),
            vec![],
        )?;
    }
    let mut underscore: Vec<char> = text.chars().collect();
    *underscore.get_mut(4 + 5).ok_or("short text")? = '_';
    g.add(
        "text_underscore_in_digits",
        "The metro code with a digit replaced by `_`, which some integer parsers take between digits (SPEC.md §6).",
        underscore.into_iter().collect(),
        "text_encoding",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §4.2: a P-256 key whose x is p: 02 || p names no point canonically.
    let p256_p = citycode::text::unhex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")?;
    let mut x_is_p = p256_code.to_vec();
    let mut x_key = vec![0x02];
    x_key.extend_from_slice(&p256_p);
    x_is_p.splice(2..35, x_key);
    g.add(
        "p256_device_key_x_is_p",
        "A P-256 device key 02 || p: x must be below p, never reduced (SPEC.md §4.2).",
        encode_text(&x_is_p),
        "invalid_device_key",
        later,
        g.setup(metro()),
        vec![],
    )?;

    // §8.1, §8.2: a list's alg must be its signer's, even when the signature verifies.
    let metro_code = g.code(cred, device, &[Domain::Transit], at, 0xe2)?;
    let mut setup = g.setup(metro());
    setup.trust_lists = vec![encode_base64url(&resigned_with_alg(
        &g.city.trust_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_TRUST_LIST,
        &g.city.root,
    )?)];
    g.add(
        "trust_list_root_alg_not_the_roots",
        "The demo trust list with root_alg 2 (P-256), signed again by the Ed25519 root: the signature verifies, but root_alg is not the root's algorithm (SPEC.md §8.1).",
        metro_code.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists = vec![encode_base64url(&resigned_with_alg(
        &g.city.revocation_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_REVOCATION_LIST,
        &g.city.root,
    )?)];
    g.add(
        "revocation_list_alg_not_the_roots",
        "The root's revocation list with alg 2 (P-256), signed again by the Ed25519 root: alg is not its signer's algorithm (SPEC.md §8.2).",
        metro_code.clone(),
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;
    // The demo issuer's key (kid 1), as demo::DemoCity makes it.
    let issuer_key = key(Algorithm::Ed25519, 0x02)?;
    let issuer_list = RevocationList {
        signer: ListSigner::Issuer(1),
        sequence: 1,
        issued_at: NOW as u32 - 600,
        expires_at: NOW as u32 + DAY as u32,
        entries: vec![],
    }
    .sign(&issuer_key)?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(encode_base64url(&issuer_list));
    g.add(
        "accept_issuer_revocation_list",
        "The root's revocation list and an empty one signed by issuer key 1: both load.",
        metro_code.clone(),
        "accept",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(encode_base64url(&resigned_with_alg(
        &issuer_list,
        Algorithm::EcdsaP256Sha256,
        LABEL_REVOCATION_LIST,
        &issuer_key,
    )?));
    g.add(
        "issuer_revocation_list_alg_not_its_keys",
        "Issuer key 1's revocation list with alg 2 (P-256), signed again by the Ed25519 issuer key: alg is not its key's algorithm (SPEC.md §8.2).",
        metro_code.clone(),
        "bad_revocation_list_signature",
        later,
        setup,
        vec![],
    )?;

    // §8.3: an equal sequence with other bytes is a rollback, for both kinds of list.
    let all_ids: Vec<u32> = Domain::ALL.iter().map(|d| d.id()).collect();
    let mut setup = g.setup(metro());
    setup.trust_lists.push(g.trust(
        vec![g.issuer_entry(1, g.city.issuer.public_key(), all_ids)],
        1,
        NOW as u32 + 2 * DAY as u32,
    )?);
    g.add(
        "trust_list_equal_sequence_other_bytes",
        "A second trust list of sequence 1 (the held list's) with other content: refused as a rollback (SPEC.md §8.3).",
        metro_code.clone(),
        "trust_list_rollback",
        later,
        setup,
        vec![],
    )?;
    let mut setup = g.setup(metro());
    setup.revocation_lists.push(g.revocations(
        &g.city.root,
        ListSigner::Root,
        1,
        NOW as u32 + DAY as u32,
        vec![Revoked::Subject([0x99; 8])],
    )?);
    g.add(
        "revocation_list_equal_sequence_other_bytes",
        "A second root revocation list of sequence 1 (the held list's) with an entry: refused as a rollback (SPEC.md §8.3).",
        metro_code,
        "revocation_list_rollback",
        later,
        setup,
        vec![],
    )?;
    Ok(())
}

/// What building a verifier from a configuration object gives: `accept` or the reason
/// code of the refusal (SPEC.md §14.1).
pub fn config_outcome(verifier: &serde_json::Value) -> String {
    match serde_json::from_value::<VerifierConfig>(verifier.clone()) {
        Err(_) => "invalid_argument".into(),
        Ok(config) => config.build().map_or_else(|r| r.reason.code().to_string(), |_| "accept".into()),
    }
}

/// `test-vectors/configs.json`: verifier configurations (SPEC.md §14.1) a verifier
/// accepts or refuses, with the reason: the root key checks of §4.2 and GM-only's SM2
/// root (§4.6), which no case of codes.json can reach.
fn config_vectors() -> Res<serde_json::Value> {
    use serde_json::json;
    let city = DemoCity::new()?;
    let gm = DemoCity::gm()?;
    let demo_root = hex(&city.root.public_key().to_bytes());
    let sm2_root = hex(&gm.root.public_key().to_bytes());
    let sm2_p = "fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff";
    let p256_p = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
    let list: Vec<(&str, &str, &str, String, bool, &str)> = vec![
        ("accept_ed25519_root", "The demo city's Ed25519 root key.", "ed25519", demo_root.clone(), false, "accept"),
        (
            "accept_gm_only_sm2_root",
            "A GM-only verifier with the GM city's SM2 root.",
            "sm2_sm3",
            sm2_root,
            true,
            "accept",
        ),
        (
            "gm_only_ed25519_root",
            "A GM-only verifier configured with an Ed25519 root: refused (SPEC.md §4.6).",
            "ed25519",
            demo_root.clone(),
            true,
            "unsupported_algorithm",
        ),
        (
            "root_key_small_order",
            "The Ed25519 identity point as the root key: under the cofactored equation it verifies forged lists (SPEC.md §4.2).",
            "ed25519",
            format!("01{}", "00".repeat(31)),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_ed25519_off_curve",
            "An Ed25519 root key whose y has no x on the curve.",
            "ed25519",
            hex(&off_curve_point()?),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_p256_x_is_p",
            "A P-256 root key 02 || p: x must be below p (SPEC.md §4.2).",
            "ecdsa_p256_sha256",
            format!("02{p256_p}"),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_sm2_x_is_p",
            "An SM2 root key 02 || p: x = 0 is on the SM2 curve, but x must be below p.",
            "sm2_sm3",
            format!("02{sm2_p}"),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_sm2_off_curve",
            "An SM2 root key 02 || x with no point on the SM2 curve.",
            "sm2_sm3",
            hex(&sm2_off_curve_point()?),
            false,
            "invalid_issuer_key",
        ),
        (
            "root_key_wrong_length",
            "An Ed25519 root key of 31 bytes.",
            "ed25519",
            demo_root.get(..62).ok_or("root")?.to_string(),
            false,
            "malformed",
        ),
        (
            "root_key_not_hex",
            "A root key that is not hex.",
            "ed25519",
            format!("zz{}", demo_root.get(2..).ok_or("root")?),
            false,
            "text_encoding",
        ),
    ];
    let mut cases = Vec::new();
    for (name, description, alg, root_key, gm_only, expected) in list {
        let verifier = if gm_only {
            json!({"root_alg": alg, "root_key": root_key, "scene": {"kind": "metro_gate"}, "gm_only": true})
        } else {
            json!({"root_alg": alg, "root_key": root_key, "scene": {"kind": "metro_gate"}})
        };
        let got = config_outcome(&verifier);
        if got != expected {
            return Err(format!("config case {name}: expected {expected}, the verifier says {got}").into());
        }
        cases.push(json!({"name": name, "description": description, "verifier": verifier, "expected": expected}));
    }
    Ok(json!({
        "description": "Verifier configurations (SPEC.md §14.1): building a verifier from `verifier` succeeds (`accept`) or is refused with `expected`, before any list is loaded.",
        "cases": cases,
    }))
}

/// The order n of the SM2 group, big-endian.
const SM2_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x72, 0x03, 0xdf,
    0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23,
];

/// An SM2 signature (`r || s`) over `message` under a user id other than the default,
/// made with the `sm2` crate's signer.
fn sm2_sign_with_user_id(secret: &[u8], user_id: &str, message: &[u8]) -> Res<[u8; 64]> {
    use sm2::dsa::signature::Signer as _;
    let key = sm2::dsa::SigningKey::from_slice(user_id, secret).map_err(|e| format!("sm2 key: {e}"))?;
    let signature: sm2::dsa::Signature = key.try_sign(message).map_err(|e| format!("sm2 sign: {e}"))?;
    Ok(signature.to_bytes().into())
}

/// A compressed SEC1 encoding (prefix 02) of an x with no point on the SM2 curve.
fn sm2_off_curve_point() -> Res<Vec<u8>> {
    for x in 1u8..=255 {
        let mut enc = vec![0x02];
        enc.extend_from_slice(&[0u8; 31]);
        enc.push(x);
        if PublicKey::from_bytes(Algorithm::Sm2Sm3, &enc).is_err() {
            return Ok(enc);
        }
    }
    Err("no off-curve x".into())
}

/// The GM-only deployment (SPEC.md §4.6): an SM2 root, issuer and device, a verifier
/// configured `gm_only`, and SM2's strictness rules (SPEC.md §4.2).
fn gm_cases(intl: &Gen) -> Res<Vec<Case>> {
    let mut g = Gen { city: DemoCity::gm()?, cases: Vec::new() };
    let at = NOW;
    let later = at + 2;
    let device = key(Algorithm::Sm2Sm3, 0x03)?;
    let cred = g.city.credential.clone();
    let gm_setup = |g: &Gen, scene: Scene| {
        let mut s = g.setup(scene);
        s.config.gm_only = true;
        s
    };
    let c = g.code(&cred, &device, &[Domain::Transit], at, 0xd0)?;
    g.add(
        "gm_accept_metro_gate",
        "A GM-only city: root, issuer and device keys SM2 (key ids, card ids and replay ids SM3), at a metro gate.",
        c.clone(),
        "accept",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    let hospital = [Domain::Health, Domain::MedicalInsurance];
    let h = g.code(&cred, &device, &hospital, at, 0xd1)?;
    g.add(
        "gm_accept_hospital",
        "The GM city's code at a hospital.",
        h,
        "accept",
        later,
        gm_setup(&g, Scene::Hospital),
        vec![],
    )?;
    g.add(
        "gm_replayed",
        "The GM code scanned a second time: its SM3 replay id is remembered.",
        c.clone(),
        "replayed",
        later + 1,
        gm_setup(&g, metro()),
        vec![Seen { input: c.clone(), now: later }],
    )?;

    // Revocation by SM3 ids.
    let mut setup = gm_setup(&g, metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::DeviceKey(device.public_key().key_id())],
    )?];
    g.add(
        "gm_device_revoked",
        "The SM2 device key revoked by its key id, the first 16 bytes of SM3(3 || key).",
        c.clone(),
        "revoked",
        later,
        setup,
        vec![],
    )?;
    let mut setup = gm_setup(&g, metro());
    setup.revocation_lists = vec![g.revocations(
        &g.city.root,
        ListSigner::Root,
        2,
        NOW as u32 + DAY as u32,
        vec![Revoked::Card(UnverifiedCode::from_text(&c)?.card_id(0))],
    )?];
    g.add(
        "gm_card_revoked",
        "The transit card revoked by its card id, the first 16 bytes of SM3(card_tbs).",
        c.clone(),
        "revoked",
        later,
        setup,
        vec![],
    )?;

    // What a GM-only verifier refuses.
    let p256 = key(Algorithm::EcdsaP256Sha256, 0x33)?;
    let cred_p256 =
        g.credential(&g.city.issuer, &p256, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    let mixed = g.code(&cred_p256, &p256, &[Domain::Transit], at, 0xd2)?;
    g.add(
        "gm_only_refuses_a_p256_device_key",
        "An SM2 issuer's card bound to a P-256 device key, at a GM-only verifier.",
        mixed.clone(),
        "unsupported_algorithm",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    g.add(
        "sm2_root_accepts_a_p256_device_key_when_not_gm_only",
        "The same code at a verifier with the SM2 root that is not GM-only: algorithms may mix.",
        mixed,
        "accept",
        later,
        g.setup(metro()),
        vec![],
    )?;
    let ed_issuer = key(Algorithm::Ed25519, 0x34)?;
    let mut setup = gm_setup(&g, metro());
    setup.trust_lists = vec![g.trust(
        vec![
            g.issuer_entry(1, g.city.issuer.public_key(), Domain::ALL.iter().map(|d| d.id()).collect()),
            g.issuer_entry(2, ed_issuer.public_key(), vec![Domain::Tourism.id()]),
        ],
        2,
        NOW as u32 + DAY as u32,
    )?];
    g.add(
        "gm_only_refuses_a_trust_list_with_an_ed25519_issuer",
        "An SM2-signed trust list that also names an Ed25519 issuer key: a GM-only verifier refuses to load it.",
        c.clone(),
        "unsupported_algorithm",
        later,
        setup,
        vec![],
    )?;
    let forged = TrustList {
        sequence: 2,
        issued_at: NOW as u32 - 3600,
        expires_at: NOW as u32 + DAY as u32,
        keys: vec![
            g.issuer_entry(1, g.city.issuer.public_key(), Domain::ALL.iter().map(|d| d.id()).collect()),
            g.issuer_entry(2, ed_issuer.public_key(), vec![Domain::Tourism.id()]),
        ],
    };
    let mut setup = gm_setup(&g, metro());
    setup.trust_lists = vec![encode_base64url(&forged.sign(&key(Algorithm::Sm2Sm3, 0x3a)?)?)];
    g.add(
        "gm_only_forged_trust_list_with_an_ed25519_issuer",
        "The same trust list signed by an SM2 key that is not the root: the signature is checked before the issuer keys' algorithms (SPEC.md §4.6, §8.3 step 2).",
        c.clone(),
        "bad_trust_list_signature",
        later,
        setup,
        vec![],
    )?;
    // Identity commitments (SPEC.md §4.3) in the GM city: a GM-only verifier refuses a
    // SHA-256 commitment, in a code and in a printed code (§4.6, §9 step 2).
    let with_identity = |digest: citycode::claims::IdDigest| -> Res<Claims> {
        let mut claims = demo::resident_claims();
        claims.identity = Some(citycode::claims::Identity::with_salt(demo::NAME, demo::ID_NUMBER, digest, [0x1d; 16])?);
        Ok(claims)
    };
    for (digest, nonce) in [(citycode::claims::IdDigest::Sha256, 0xd4), (citycode::claims::IdDigest::Sm3, 0xd5)] {
        let cred =
            g.credential(&g.city.issuer, &device, with_identity(digest)?, CardLayout::Standard, demo::TODAY - 1, 7)?;
        let hotel = g.code_for(&cred, &device, &Scene::HotelCheckIn, at, nonce)?;
        if digest == citycode::claims::IdDigest::Sha256 {
            g.add(
                "gm_only_refuses_a_sha256_identity_commitment",
                "An all-SM2 code whose identity commitment is SHA-256, at a GM-only hotel: no SHA-256 anywhere (issue 24).",
                hotel.clone(),
                "unsupported_algorithm",
                later,
                gm_setup(&g, Scene::HotelCheckIn),
                vec![],
            )?;
            g.add(
                "sm2_root_accepts_a_sha256_identity_commitment_when_not_gm_only",
                "The same code at a verifier with the SM2 root that is not GM-only.",
                hotel,
                "accept",
                later,
                g.setup(Scene::HotelCheckIn),
                vec![],
            )?;
        } else {
            g.add(
                "gm_accept_hotel_check_in_sm3_identity",
                "The GM city's hotel card with an SM3 identity commitment, at a GM-only hotel.",
                hotel,
                "accept",
                later,
                gm_setup(&g, Scene::HotelCheckIn),
                vec![],
            )?;
        }
        let printed = g.city.issuer.issue_printed(
            Subject([0x79; 8]),
            &Claims { identity: with_identity(digest)?.identity, ..Claims::default() },
            demo::TODAY - 1,
            30,
            citycode::PRINTED_MAX_DAYS,
        )?;
        let (name, description, expected) = if digest == citycode::claims::IdDigest::Sha256 {
            (
                "gm_only_refuses_a_printed_sha256_identity_commitment",
                "An SM2-signed printed code whose identity commitment is SHA-256, at a GM-only hotel.",
                "unsupported_algorithm",
            )
        } else {
            (
                "gm_accept_printed_sm3_identity",
                "An SM2-signed printed code with an SM3 identity commitment, at a GM-only hotel.",
                "accept",
            )
        };
        g.add(name, description, printed.to_text(), expected, later, gm_setup(&g, Scene::HotelCheckIn), vec![])?;
    }
    let forger = Issuer::new(1, key(Algorithm::Sm2Sm3, 0x35)?, Domain::ALL.iter().map(|d| d.id()).collect());
    let forged = g.credential(&forger, &device, demo::resident_claims(), CardLayout::Standard, demo::TODAY - 1, 7)?;
    g.add(
        "sm2_issuer_signature_bad",
        "A card signed by another SM2 key under key id 1.",
        g.code(&forged, &device, &[Domain::Transit], at, 0xd3)?,
        "bad_issuer_signature",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;

    // SM2 device signatures (SPEC.md §4.2): r and s in [1, n-1], r + s not n.
    let code = Gen::bytes_of(&c)?;
    let with_sig = |r: &[u8], s: &[u8]| -> String {
        let mut b = code.clone();
        b.truncate(b.len() - 64);
        b.extend_from_slice(r);
        b.extend_from_slice(s);
        encode_text(&b)
    };
    let (_, rs) = code.split_at(code.len() - 64);
    let (r, s_val) = rs.split_at(32);
    let mut flipped = s_val.to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    let r_arr: [u8; 32] = r.try_into()?;
    let s_arr: [u8; 32] = s_val.try_into()?;
    let mut tampered = code.clone();
    if let Some(b) = tampered.get_mut(48) {
        *b ^= 0x01;
    }
    let unsigned = code.get(..code.len() - 64).ok_or("short")?;
    let mut tbs = citycode::digest::LABEL_CODE.to_vec();
    tbs.extend_from_slice(unsigned);
    let other_id = sm2_sign_with_user_id(&device.secret_bytes(), "ALICE123@YAHOO.COM", &tbs)?;
    let sm2_cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "sm2_device_signature_bad",
            "An SM2 device signature with one bit of s flipped.",
            with_sig(r, &flipped),
            "bad_device_signature",
        ),
        ("sm2_device_signature_r_zero", "r = 0.", with_sig(&[0; 32], s_val), "bad_device_signature"),
        ("sm2_device_signature_s_zero", "s = 0.", with_sig(r, &[0; 32]), "bad_device_signature"),
        ("sm2_device_signature_r_is_n", "r = n: out of range.", with_sig(&SM2_N, s_val), "bad_device_signature"),
        ("sm2_device_signature_s_is_n", "s = n: out of range.", with_sig(r, &SM2_N), "bad_device_signature"),
        (
            "sm2_device_signature_r_plus_s_is_n",
            "s = n - r, so t = r + s mod n = 0 (GB/T 32918.2 step B5).",
            with_sig(r, &be_sub(SM2_N, r_arr)),
            "bad_device_signature",
        ),
        (
            "sm2_device_signature_s_negated",
            "(r, n - s): unlike ECDSA, SM2 has no second valid s.",
            with_sig(r, &be_sub(SM2_N, s_arr)),
            "bad_device_signature",
        ),
        (
            "sm2_device_signature_other_user_id",
            "A valid SM2 signature of the code under the user id ALICE123@YAHOO.COM, not the default 1234567812345678.",
            with_sig(&other_id[..32], &other_id[32..]),
            "bad_device_signature",
        ),
        (
            "sm2_tampered_code",
            "The code's nonce changed after the device signed it.",
            encode_text(&tampered),
            "bad_device_signature",
        ),
    ];
    for (name, description, input, expected) in sm2_cases {
        g.add(name, description, input, expected, later, gm_setup(&g, metro()), vec![])?;
    }
    let mut off = code.clone();
    off.splice(2..35, sm2_off_curve_point()?);
    g.add(
        "sm2_device_key_off_curve",
        "A device key 02 || x with no point on the SM2 curve.",
        encode_text(&off),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    let mut infinity = code.clone();
    infinity.splice(2..35, [0u8; 33]);
    g.add(
        "sm2_device_key_infinity",
        "A device key 00 followed by zeros: SEC1's point at infinity, padded to the key length.",
        encode_text(&infinity),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;
    // x = 0 is on the SM2 curve, so 02 || p would name it if x were reduced mod p.
    let sm2_p = unhex("fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff")?;
    let mut x_is_p = code.clone();
    let mut key_bytes = vec![0x02];
    key_bytes.extend_from_slice(&sm2_p);
    x_is_p.splice(2..35, key_bytes);
    g.add(
        "sm2_device_key_x_is_p",
        "An SM2 device key 02 || p: x = 0 is on the SM2 curve, and x must be below p, never reduced (SPEC.md §4.2).",
        encode_text(&x_is_p),
        "invalid_device_key",
        later,
        gm_setup(&g, metro()),
        vec![],
    )?;

    // An SM2 device key in the Ed25519 demo city: algorithms mix unless GM-only.
    let sm2_device = key(Algorithm::Sm2Sm3, 0x36)?;
    let cred_sm2 = intl.credential(
        &intl.city.issuer,
        &sm2_device,
        demo::resident_claims(),
        CardLayout::Standard,
        demo::TODAY - 1,
        7,
    )?;
    let c = intl.code(&cred_sm2, &sm2_device, &[Domain::Transit], at, 0xd4)?;
    g.add(
        "sm2_device_key_in_an_ed25519_city",
        "An Ed25519 issuer's card bound to an SM2 device key (a phone whose secure element signs SM2).",
        c,
        "accept",
        later,
        intl.setup(metro()),
        vec![],
    )?;
    Ok(g.cases)
}

/// test-vectors/sm2.json: the standards' SM2 and SM3 samples and SM2 negative cases,
/// as raw primitives (public key, message, signature), for every language's tests.
/// `test-vectors/key-requests.json`: key requests (SPEC.md §4.7) an issuer accepts or
/// refuses, with the reason.
fn key_request_vectors() -> Res<serde_json::Value> {
    use citycode::KeyRequest;
    use serde_json::json;
    let challenge = *b"citycode issuer challenge 000001";
    let other = *b"citycode issuer challenge 000002";
    let mut cases = Vec::new();
    let mut case = |name: &str, description: &str, request: Vec<u8>, challenge: &[u8], expected: &str| {
        cases.push(json!({
            "name": name, "description": description, "key_request": encode_base64url(&request),
            "challenge": hex(challenge), "expected": expected,
        }));
    };
    for alg in Algorithm::ALL {
        let device = demo::key(alg, 0x51)?;
        let request = KeyRequest::sign(&device, &challenge)?.to_bytes();
        let name = alg.name();
        case(
            &format!("{name}_valid"),
            &format!("A {name} device key's request over the challenge."),
            request.clone(),
            &challenge,
            "accept",
        );
        case(
            &format!("{name}_other_challenge"),
            "The same request checked against another challenge: a proof replayed from another session.",
            request.clone(),
            &other,
            "bad_device_signature",
        );
        let mut flipped = request.clone();
        if let Some(b) = flipped.last_mut() {
            *b ^= 0x01;
        }
        case(
            &format!("{name}_flipped_signature"),
            "The last signature byte flipped.",
            flipped,
            &challenge,
            "bad_device_signature",
        );
        let thief = demo::key(alg, 0x52)?.public_key().to_bytes();
        let mut swapped = request.clone();
        swapped.splice(2..2 + thief.len(), thief);
        case(
            &format!("{name}_swapped_key"),
            "Another key in place of the signer's, the signature kept.",
            swapped,
            &challenge,
            "bad_device_signature",
        );
    }
    let device = demo::key(Algorithm::Ed25519, 0x51)?;
    let request = KeyRequest::sign(&device, &challenge)?.to_bytes();
    case(
        "truncated",
        "The request without its last byte.",
        request.get(..request.len() - 1).ok_or("short request")?.to_vec(),
        &challenge,
        "truncated",
    );
    case(
        "trailing_bytes",
        "One byte after the signature.",
        [request.as_slice(), &[0]].concat(),
        &challenge,
        "trailing_bytes",
    );
    let mut v2 = request.clone();
    v2.splice(0..1, [2]);
    case("unsupported_version", "Version 2.", v2, &challenge, "unsupported_version");
    let mut alg9 = request.clone();
    alg9.splice(1..2, [9]);
    case("unsupported_algorithm", "Algorithm id 9.", alg9, &challenge, "unsupported_algorithm");
    let mut identity = request.clone();
    identity.splice(2..34, [&[1u8][..], &[0u8; 31]].concat());
    case(
        "small_order_key",
        "The Ed25519 identity point as the key: never valid (SPEC.md §4.2).",
        identity,
        &challenge,
        "invalid_device_key",
    );
    // The demo key plus a point of order 8, signed by the demo key's secret (k over the
    // new key's bytes): the cofactored equation accepts the signature, so only the
    // prime-order rule refuses it (issue 24: one secret, 8 keys in a batch).
    let mixed = {
        use curve25519_dalek::constants::EIGHT_TORSION;
        use curve25519_dalek::edwards::CompressedEdwardsY;
        let a = CompressedEdwardsY(device.public_key().to_bytes().try_into().map_err(|_| "key length")?)
            .decompress()
            .ok_or("demo key")?;
        let key = (a + EIGHT_TORSION[1]).compress().to_bytes();
        let mut input = citycode::digest::LABEL_KEY_REQUEST.to_vec();
        input.push(Algorithm::Ed25519.id());
        input.extend_from_slice(&key);
        input.extend_from_slice(&challenge);
        let signature = ed25519_sign_as([0x51; 32], &key, &input);
        if !PublicKey::from_bytes(Algorithm::Ed25519, &key)?.verify(&input, &signature) {
            return Err("the torsioned key's signature must verify".into());
        }
        [&[1u8, Algorithm::Ed25519.id()][..], &key, &signature].concat()
    };
    case(
        "torsion_component_key",
        "The valid Ed25519 key plus a point of order 8, its signature made with the same secret and valid under the cofactored equation: not of prime order (SPEC.md §4.7).",
        mixed.clone(),
        &challenge,
        "invalid_device_key",
    );
    case(
        "short_challenge",
        "A valid request checked against 15 bytes of challenge: too short to be fresh.",
        request.clone(),
        challenge.get(..15).ok_or("short challenge")?,
        "malformed",
    );
    // The challenge's bounds on both sides, and the order of §4.7's checks.
    for len in [16usize, 64] {
        let long = [0x63u8; 64];
        let c = long.get(..len).ok_or("challenge")?;
        case(
            &format!("challenge_{len}_bytes"),
            &format!(
                "A valid request over a {len}-byte challenge, the {} allowed.",
                if len == 16 { "fewest" } else { "most" }
            ),
            KeyRequest::sign(&device, c)?.to_bytes(),
            c,
            "accept",
        );
    }
    let long = [0x63u8; 65];
    case(
        "long_challenge",
        "A valid request over the first 64 bytes, checked against a 65-byte challenge: too long (SPEC.md §4.7).",
        KeyRequest::sign(&device, long.get(..64).ok_or("challenge")?)?.to_bytes(),
        &long,
        "malformed",
    );
    case(
        "trailing_bytes_and_short_challenge",
        "A byte after the signature and a 15-byte challenge: the request's parse comes first (SPEC.md §4.7).",
        [request.as_slice(), &[0]].concat(),
        challenge.get(..15).ok_or("short challenge")?,
        "trailing_bytes",
    );
    case(
        "torsion_component_key_and_short_challenge",
        "The torsion-component key with a 15-byte challenge: the key's order is checked before the challenge's length (SPEC.md §4.7).",
        mixed,
        challenge.get(..15).ok_or("short challenge")?,
        "invalid_device_key",
    );
    // Base64url with non-zero trailing bits (SPEC.md §6): 98 bytes leave 2 unused bits
    // in the last character; setting one names the same bytes a second way.
    let mut text = encode_base64url(&request);
    let last = text.pop().ok_or("empty")?;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = ALPHABET.iter().position(|&b| char::from(b) == last).ok_or("not base64url")?;
    text.push(char::from(*ALPHABET.get(index | 1).ok_or("index")?));
    cases.push(json!({
        "name": "base64url_trailing_bits",
        "description": "The Ed25519 request with a non-zero unused bit in its last base64url character: each byte string has one encoding (SPEC.md §6).",
        "key_request": text, "challenge": hex(&challenge), "expected": "text_encoding",
    }));
    Ok(json!({
        "description": "Key requests (SPEC.md §4.7): the device key signs citycode/v1/key-request 0x00 alg key challenge. An issuer given `challenge` accepts or refuses `key_request` (base64url) with `expected`. The device keys are public test constants.",
        "cases": cases,
    }))
}

fn sm2_primitives() -> Res<serde_json::Value> {
    use serde_json::json;
    let sm3 = |m: &[u8]| citycode::digest::digest(Algorithm::Sm2Sm3, m).map(|d| hex(&d)).unwrap_or_default();
    let digests = vec![
        json!({"name": "gbt_32905_a1", "description": "GB/T 32905-2016 Annex A.1: \"abc\".", "message": hex(b"abc"), "digest": sm3(b"abc")}),
        json!({"name": "gbt_32905_a2", "description": "GB/T 32905-2016 Annex A.2: \"abcd\" repeated 16 times (512 bits).", "message": hex(&b"abcd".repeat(16)), "digest": sm3(&b"abcd".repeat(16))}),
        json!({"name": "empty", "description": "The empty message.", "message": "", "digest": sm3(b"")}),
    ];
    let d = unhex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")?;
    let pair = KeyPair::from_secret_bytes(Algorithm::Sm2Sm3, &d)?;
    let key = hex(&pair.public_key().to_bytes());
    let uncompressed = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
    let message = hex(b"message digest");
    let sample = unhex(
        "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa",
    )?;
    let (r, s) = sample.split_at(32);
    let r_arr: [u8; 32] = r.try_into()?;
    let s_arr: [u8; 32] = s.try_into()?;
    let sig = |r: &[u8], s: &[u8]| hex(&[r, s].concat());
    let other_id = sm2_sign_with_user_id(&d, "ALICE123@YAHOO.COM", b"message digest")?;
    let cases = vec![
        (
            "gmt_0003_5_example",
            "GM/T 0003.5-2012 (GB/T 32918.5-2017) Annex A: the signature example on the recommended curve, user id 1234567812345678.",
            key.clone(),
            message.clone(),
            hex(&sample),
            true,
        ),
        (
            "gmt_0003_5_example_uncompressed_key",
            "The same, with the public key in uncompressed SEC1 form.",
            uncompressed.to_string(),
            message.clone(),
            hex(&sample),
            true,
        ),
        (
            "tampered_message",
            "The example's signature over \"message digesT\".",
            key.clone(),
            hex(b"message digesT"),
            hex(&sample),
            false,
        ),
        ("r_zero", "r = 0.", key.clone(), message.clone(), sig(&[0; 32], s), false),
        ("s_zero", "s = 0.", key.clone(), message.clone(), sig(r, &[0; 32]), false),
        ("r_is_n", "r = n.", key.clone(), message.clone(), sig(&SM2_N, s), false),
        ("s_is_n", "s = n.", key.clone(), message.clone(), sig(r, &SM2_N), false),
        ("r_above_n", "r = 2^256 - 1, above n.", key.clone(), message.clone(), sig(&[0xff; 32], s), false),
        ("r_plus_s_is_n", "s = n - r: t = 0.", key.clone(), message.clone(), sig(r, &be_sub(SM2_N, r_arr)), false),
        ("s_negated", "(r, n - s).", key.clone(), message.clone(), sig(r, &be_sub(SM2_N, s_arr)), false),
        (
            "other_user_id",
            "A valid signature of the message under user id ALICE123@YAHOO.COM.",
            key.clone(),
            message.clone(),
            hex(&other_id),
            false,
        ),
        (
            "key_off_curve",
            "A public key 02 || x with no point on the curve.",
            hex(&sm2_off_curve_point()?),
            message.clone(),
            hex(&sample),
            false,
        ),
        (
            "key_infinity",
            "The point at infinity (SEC1 00), padded to 33 bytes.",
            hex(&[0u8; 33]),
            message.clone(),
            hex(&sample),
            false,
        ),
        (
            "key_infinity_short",
            "The point at infinity as SEC1 encodes it: one 00 byte.",
            "00".into(),
            message.clone(),
            hex(&sample),
            false,
        ),
    ];
    let signatures: Vec<serde_json::Value> = cases
        .into_iter()
        .map(|(name, description, public_key, message, signature, valid)| {
            let key_valid = unhex(&public_key).ok().and_then(|k| PublicKey::from_sm2_sec1(&k).ok());
            json!({"name": name, "description": description, "public_key": public_key, "key_valid": key_valid.is_some(), "message": message, "signature": signature, "valid": valid})
        })
        .collect();
    // Every case gives its stated result here, or generation fails.
    for case in &signatures {
        let get = |k: &str| case.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let valid = case.get("valid").and_then(serde_json::Value::as_bool).unwrap_or(true);
        let verified =
            unhex(&get("public_key")).ok().and_then(|k| PublicKey::from_sm2_sec1(&k).ok()).is_some_and(|k| {
                k.verify(&unhex(&get("message")).unwrap_or_default(), &unhex(&get("signature")).unwrap_or_default())
            });
        if verified != valid {
            return Err(format!("sm2 case {}: expected {valid}, got {verified}", get("name")).into());
        }
    }
    Ok(json!({
        "description": "SM2 with SM3 (GB/T 32918.2, default user id 1234567812345678) and SM3 (GB/T 32905) primitives: see test-vectors/README.md",
        "user_id": "1234567812345678",
        "sm3": digests,
        "signatures": signatures,
    }))
}

impl Gen {
    /// Builds a code from the card holding exactly `domain`, ignoring the card's
    /// validity (select_cards would refuse an expired card, as a holder should).
    fn code_unchecked(
        &self,
        credential: &Credential,
        device: &KeyPair,
        domain: u32,
        at: u64,
        nonce: u8,
    ) -> Res<String> {
        let card = credential.cards.iter().find(|c| c.claims.domain_ids() == [domain]).ok_or("no card")?;
        let one = Credential {
            device_key: credential.device_key.clone(),
            subject: credential.subject,
            cards: vec![card.clone()],
        };
        // Present at a time the card is valid, then rewrite issued_at: the signature
        // is made over the final bytes.
        let inside = card.not_before() + 60;
        let code = present(&one, device, &[domain], inside, opts(nonce))?;
        let mut bytes = code.as_bytes().to_vec();
        bytes.splice(42..46, (at as u32).to_be_bytes());
        let unsigned = bytes.get(..bytes.len() - 64).ok_or("short")?.to_vec();
        let mut tbs = citycode::digest::LABEL_CODE.to_vec();
        tbs.extend_from_slice(&unsigned);
        let mut out = unsigned;
        out.extend_from_slice(&device.sign(&tbs));
        Ok(encode_text(&out))
    }
}

impl Gen {
    /// A one-card code whose card carries exactly `claims` (SPEC.md §4.3 bytes, which
    /// the issuer API would refuse to encode), validly signed by the demo issuer (kid 1)
    /// and the demo device: only the claims rule under test can refuse it.
    fn code_with_claims(&self, claims: &[u8], at: u64, nonce: u8) -> Res<String> {
        self.code_with_cards(&[claims], at, nonce)
    }

    /// A code with one card per entry of `cards` (each the card's claims bytes), every
    /// card and the code validly signed (demo issuer kid 1, demo device).
    fn code_with_cards(&self, cards: &[&[u8]], at: u64, nonce: u8) -> Res<String> {
        self.code_with_cards_labelled(cards, at, nonce, citycode::digest::LABEL_CARD)
    }

    /// As `code_with_cards`, every card signed under `label`.
    fn code_with_cards_labelled(&self, cards: &[&[u8]], at: u64, nonce: u8, label: &[u8]) -> Res<String> {
        self.code_with_cards_from(cards, at, nonce, label, demo::TODAY - 5, 10)
    }

    /// As `code_with_cards_labelled`, every card valid `days` from day `from`.
    fn code_with_cards_from(
        &self,
        cards: &[&[u8]],
        at: u64,
        nonce: u8,
        label: &[u8],
        from: u16,
        days: u8,
    ) -> Res<String> {
        let device = key(Algorithm::Ed25519, 0x03)?;
        let issuer = key(Algorithm::Ed25519, 0x02)?;
        let device_key = device.public_key().to_bytes();
        let subject = *b"resident";
        let mut code = vec![citycode::credential::FORMAT_VERSION, Algorithm::Ed25519.id()];
        code.extend_from_slice(&device_key);
        code.extend_from_slice(&subject);
        code.extend_from_slice(&(at as u32).to_be_bytes());
        code.push(60);
        code.extend_from_slice(&[nonce, 0xc1, 0xa1, 0x01]);
        code.push(u8::try_from(cards.len())?);
        for claims in cards {
            let mut card_body = vec![1, Algorithm::Ed25519.id()];
            card_body.extend_from_slice(&from.to_be_bytes());
            card_body.push(days);
            card_body.extend_from_slice(claims);
            let mut card_tbs = label.to_vec();
            card_tbs.push(Algorithm::Ed25519.id());
            card_tbs.extend_from_slice(&device_key);
            card_tbs.extend_from_slice(&subject);
            card_tbs.extend_from_slice(&card_body);
            code.extend_from_slice(&card_body);
            code.extend_from_slice(&issuer.sign(&card_tbs));
        }
        let mut code_tbs = citycode::digest::LABEL_CODE.to_vec();
        code_tbs.extend_from_slice(&code);
        code.extend_from_slice(&device.sign(&code_tbs));
        Ok(encode_text(&code))
    }
}

/// The order n of the P-256 group, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// a - b for big-endian 256-bit a >= b.
fn be_sub(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b).rev() {
        let d = i16::from(x) - i16::from(y) - borrow;
        borrow = i16::from(d < 0);
        *o = (d + 256 * borrow) as u8;
    }
    out
}

/// How a hand-made Ed25519 device signature departs from RFC 8032 (SPEC.md §4.2).
/// An Ed25519 signature over `message` by the secret of `seed`, with `key` hashed as
/// the public key: how the holder of one secret signs for `A + T`.
fn ed25519_sign_as(seed: [u8; 32], key: &[u8; 32], message: &[u8]) -> [u8; 64] {
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let (low, prefix) = h.split_at(32);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(low);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(message));
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let k = Scalar::from_hash(Sha512::new().chain_update(big_r.as_bytes()).chain_update(key).chain_update(message));
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice((r + k * a).as_bytes());
    sig
}

#[derive(Clone, Copy)]
enum Torsion {
    /// `R + T` for a point `T` of order 8, with `k` over the new `R`: valid under the
    /// cofactored equation only.
    MixedR,
    /// `R = T` of order 8 and `S = k·a`: satisfies the cofactored equation, but a small-
    /// order `R` MUST be refused.
    SmallOrderR,
    /// A valid signature with `S + L` in place of `S`: the equation holds, but `S` MUST
    /// be below `L`.
    UnreducedS,
}

/// Signs `message` with the Ed25519 key of `seed` the way `how` says.
fn ed25519_sign_odd(seed: [u8; 32], message: &[u8], how: Torsion) -> [u8; 64] {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let (low, prefix) = h.split_at(32);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(low);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = EdwardsPoint::mul_base(&a).compress();
    let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(message));
    let big_r = match how {
        Torsion::MixedR => EdwardsPoint::mul_base(&r) + EIGHT_TORSION[1],
        Torsion::SmallOrderR => EIGHT_TORSION[1],
        Torsion::UnreducedS => EdwardsPoint::mul_base(&r),
    };
    let k = Scalar::from_hash(
        Sha512::new().chain_update(big_r.compress().as_bytes()).chain_update(public.as_bytes()).chain_update(message),
    );
    let s = match how {
        Torsion::SmallOrderR => k * a,
        _ => r + k * a,
    };
    let mut s_bytes = s.to_bytes();
    if matches!(how, Torsion::UnreducedS) {
        // S + L, little-endian; S < L < 2^253 so the sum fits 256 bits.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (x, l) in s_bytes.iter_mut().zip(L) {
            let sum = u16::from(*x) + u16::from(l) + carry;
            *x = sum as u8;
            carry = sum >> 8;
        }
    }
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.compress().as_bytes());
    sig[32..].copy_from_slice(&s_bytes);
    sig
}

impl Gen {
    /// The demo resident's metro code with its device signature made by `how`.
    fn code_with_odd_device_signature(&self, at: u64, nonce: u8, how: Torsion) -> Res<String> {
        let device = key(Algorithm::Ed25519, 0x03)?;
        let code = present(&self.city.credential, &device, &[Domain::Transit.id()], at, opts(nonce))?;
        let unsigned = code.as_bytes().get(..code.as_bytes().len() - 64).ok_or("short")?.to_vec();
        let mut tbs = citycode::digest::LABEL_CODE.to_vec();
        tbs.extend_from_slice(&unsigned);
        let mut out = unsigned;
        out.extend_from_slice(&ed25519_sign_odd([0x03; 32], &tbs, how));
        Ok(encode_text(&out))
    }
}

/// An Ed25519 point with small y (< 19) that is valid and not of small order,
/// re-encoded as y + p (non-canonical).
/// `sign` is the x sign bit (0 or 0x80): both signs must be refused.
fn non_canonical_point(sign: u8) -> Res<Vec<u8>> {
    for y in 2u8..19 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        canonical[31] = sign;
        if PublicKey::from_bytes(Algorithm::Ed25519, &canonical).is_ok() {
            // p = 2^255 - 19; y + p = 2^255 - 19 + y, with the sign bit on top.
            let mut enc = [0xffu8; 32];
            enc[0] = 0xed + y;
            enc[31] = 0x7f | sign;
            return Ok(enc.to_vec());
        }
    }
    Err("no small-y point".into())
}

/// 32 bytes whose y has no matching x on the curve.
fn off_curve_point() -> Res<Vec<u8>> {
    for y in 2u8..=255 {
        let mut enc = [0u8; 32];
        enc[0] = y;
        enc[1] = 0x5a;
        if ed25519_dalek::VerifyingKey::from_bytes(&enc).is_err() {
            return Ok(enc.to_vec());
        }
    }
    Err("no off-curve y".into())
}

/// The claim entries (`domain len body`, each whole) of a one-card printed code whose
/// card has key id 1 (one varint byte) and whose domain ids and lengths are one byte each.
fn printed_claim_entries(printed: &[u8]) -> Res<Vec<Vec<u8>>> {
    // version, alg 0, subject[8], n; kid, alg, valid_from_day[2], valid_days; claims
    let claims = printed.get(16..printed.len() - 64).ok_or("short printed code")?;
    let (&count, mut rest) = claims.split_first().ok_or("no claims")?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let len = usize::from(*rest.get(1).ok_or("short entry")?);
        let (entry, tail) = rest.split_at_checked(2 + len).ok_or("short entry")?;
        entries.push(entry.to_vec());
        rest = tail;
    }
    Ok(entries)
}

/// `printed` (one card, demo issuer kid 1) with its card's validity and claims replaced,
/// signed again by the demo issuer: a printed code any issuer could have signed.
fn resign_printed(printed: &[u8], valid_days: u8, claims: &[u8]) -> Res<String> {
    let issuer = key(Algorithm::Ed25519, 0x02)?;
    let head = printed.get(..11).ok_or("short printed code")?;
    let mut body = printed.get(11..15).ok_or("short printed code")?.to_vec();
    body.push(valid_days);
    body.extend_from_slice(claims);
    let mut tbs = citycode::digest::LABEL_PRINTED_CARD.to_vec();
    tbs.push(0);
    tbs.extend_from_slice(head.get(2..10).ok_or("no subject")?);
    tbs.extend_from_slice(&body);
    let mut out = head.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&issuer.sign(&tbs));
    Ok(encode_text(&out))
}

/// Two publications of the demo city's lists (SPEC.md §8.4), as `citycode publish`
/// writes them: `lists/1/` (sequence 1, nothing revoked) and `lists/2/` (sequence 2,
/// the demo device key revoked), for distribution tests in every language.
fn publications(city: &DemoCity) -> Res<Vec<(String, Vec<u8>)>> {
    let now = NOW as u32;
    let revoked = RevocationList {
        signer: ListSigner::Root,
        sequence: 2,
        issued_at: now,
        expires_at: now + DAY as u32,
        entries: vec![Revoked::DeviceKey(city.device.public_key().key_id())],
    }
    .sign(&city.root)?;
    let mut files = Vec::new();
    for (n, revocations) in [(1u64, city.revocation_list.clone()), (2, revoked)] {
        let status =
            ListStatus::describe(n, now, now + 3600, &city.root.public_key(), &city.trust_list, &[&revocations])?;
        files.push((format!("lists/{n}/trust-list.bin"), city.trust_list.clone()));
        files.push((format!("lists/{n}/revocation-root.bin"), revocations));
        files.push((format!("lists/{n}/status.json"), status.index_json().into_bytes()));
        files.push((format!("lists/{n}/status.bin"), status.sign(&city.root)?));
    }
    Ok(files)
}

/// The files, as written to test-vectors/.
pub fn render() -> Res<Vec<(String, Vec<u8>)>> {
    let file = generate()?;
    let mut json = serde_json::to_string_pretty(&file)?;
    json.push('\n');
    let city = DemoCity::new()?;
    // Instances of one holder's batch (SPEC.md §13) as `Issuer::issue_batch` makes them:
    // each its own device key and subject, the same claims. Fixed subjects keep the file
    // reproducible.
    let batch = (1..=3u8)
        .map(|n| {
            let (device, credential) = city.resident(n)?;
            Ok(serde_json::json!({
                "credential": credential.to_base64url()?,
                "device_secret": hex(&device.secret_bytes()),
                "subject": credential.subject.to_hex(),
            }))
        })
        .collect::<Res<Vec<_>>>()?;
    let holder = serde_json::json!({
        "description": "The demo resident's credential and device key, for holder tests in every language. The secret is a public test constant: never use it outside tests.",
        "credential": city.credential.to_base64url()?,
        "device_alg": Algorithm::Ed25519,
        "device_secret": hex(&city.device.secret_bytes()),
        "now": NOW,
        "root_key": hex(&city.root.public_key().to_bytes()),
        "trust_list": encode_base64url(&city.trust_list),
        "batch": batch,
        "identity": {
            "description": "The demo resident's identity claim and the document number it commits to (SPEC.md §4.3); a wrong number must not match.",
            "claim": demo::resident_identity()?,
            "number": demo::ID_NUMBER,
            "wrong_number": "110105194912310011",
        },
    });
    let mut holder_json = serde_json::to_string_pretty(&holder)?;
    holder_json.push('\n');
    let mut sm2_json = serde_json::to_string_pretty(&sm2_primitives()?)?;
    sm2_json.push('\n');
    let mut key_requests_json = serde_json::to_string_pretty(&key_request_vectors()?)?;
    key_requests_json.push('\n');
    let mut configs_json = serde_json::to_string_pretty(&config_vectors()?)?;
    configs_json.push('\n');
    let mut files = vec![
        ("codes.json".to_string(), json.into_bytes()),
        ("holder.json".to_string(), holder_json.into_bytes()),
        ("sm2.json".to_string(), sm2_json.into_bytes()),
        ("key-requests.json".to_string(), key_requests_json.into_bytes()),
        ("configs.json".to_string(), configs_json.into_bytes()),
    ];
    files.extend(publications(&city)?);
    Ok(files)
}

fn main() -> Res<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors");
    for (name, content) in render()? {
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
        println!("wrote test-vectors/{name}");
    }
    Ok(())
}
