//! Audit of issue 27: every MUST of SPEC.md that no vector catches on its refusing side
//! (`tools/refverify/MUSTS.md`, "NOT CAUGHT"), every verifier behaviour that
//! `tools/refverify/FINDINGS.md` names, and the paths an outside implementer cannot see
//! (batch, host-checked P-256, the credential cache, printed codes through every entry
//! point, list loading order, published-directory updates).
//!
//! Each test builds the exact input (signed with the demo keys where a valid signature
//! is needed, so that only the rule under test can refuse it) and asserts what SPEC.md
//! requires of it. Every device-code verdict is taken twice, one by one and in a batch,
//! and the two must agree (SPEC.md §9.1). Tests named `m_…` follow a bend id of
//! MUSTS.md, `f_…` a finding of FINDINGS.md, `probe_…` the audit's own probes. A test
//! marked `#[ignore = "AUDIT-n: …"]` asserts what SPEC.md requires and fails today: its
//! finding is in the audit report.

#![cfg(all(feature = "batch", feature = "sm2"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::sync::OnceLock;

use citycode::claims::{Claims, Domain, Relation};
use citycode::credential::{CardLayout, Credential, CredentialRequest, Issuer, Subject};
use citycode::demo::{self, DemoCity, key};
use citycode::digest::{
    LABEL_CARD, LABEL_CODE, LABEL_GUARDIAN_CARD, LABEL_KEY_REQUEST, LABEL_LIST_STATUS, LABEL_PRINTED_CARD,
    LABEL_REVOCATION_LIST, LABEL_TRUST_LIST,
};
use citycode::distribution::{ListFile, ListSource, ListStatus, STATUS_FILE};
use citycode::text::{decode_base64url, decode_text, encode_base64url, encode_text, unhex};
use citycode::trust::{IssuerKey, ListSigner, RevocationList, Revoked, TrustList};
use citycode::*;
use sha2::Digest as _;

/// Seconds in a day.
const DAY: u64 = 86_400;

// ---------------------------------------------------------------------------------------
// The demo city and fresh verifiers.

const NOW: u64 = demo::NOW;
const TODAY: u16 = demo::TODAY;
const ED: Algorithm = Algorithm::Ed25519;
const P256: Algorithm = Algorithm::EcdsaP256Sha256;
const SM2: Algorithm = Algorithm::Sm2Sm3;
const SUBJECT: [u8; 8] = *b"resident";

fn city() -> &'static DemoCity {
    static CITY: OnceLock<DemoCity> = OnceLock::new();
    CITY.get_or_init(|| DemoCity::new().unwrap())
}

fn gm_city() -> &'static DemoCity {
    static CITY: OnceLock<DemoCity> = OnceLock::new();
    CITY.get_or_init(|| DemoCity::gm().unwrap())
}

fn p256_city() -> &'static DemoCity {
    static CITY: OnceLock<DemoCity> = OnceLock::new();
    CITY.get_or_init(|| DemoCity::with_algorithm(Algorithm::EcdsaP256Sha256).unwrap())
}

fn root() -> KeyPair {
    key(ED, 0x01).unwrap()
}

fn issuer_key() -> KeyPair {
    key(ED, 0x02).unwrap()
}

fn device() -> KeyPair {
    key(ED, 0x03).unwrap()
}

fn all_domains() -> Vec<u32> {
    Domain::ALL.iter().map(|d| d.id()).collect()
}

/// A trust-list entry valid a year either side of the demo clock.
fn issuer_entry(kid: u32, key: PublicKey, domains: Vec<u32>) -> IssuerKey {
    IssuerKey { kid, key, not_before: NOW as u32 - 365 * DAY as u32, not_after: NOW as u32 + 365 * DAY as u32, domains }
}

/// A root-signed trust list.
fn trust_list(root: &KeyPair, sequence: u64, keys: Vec<IssuerKey>) -> Vec<u8> {
    TrustList { sequence, issued_at: NOW as u32 - 3600, expires_at: NOW as u32 + 30 * DAY as u32, keys }
        .sign(root)
        .unwrap()
}

/// A revocation list signed by `key` as `signer`, issued ten minutes before the demo clock.
fn revocation_list(
    key: &KeyPair,
    signer: ListSigner,
    sequence: u64,
    expires_at: u32,
    entries: Vec<Revoked>,
) -> Vec<u8> {
    RevocationList::new(signer, sequence, NOW as u32 - 600, expires_at, entries).unwrap().sign(key).unwrap()
}

fn root_revocations(sequence: u64, entries: Vec<Revoked>) -> Vec<u8> {
    revocation_list(&root(), ListSigner::Root, sequence, NOW as u32 + DAY as u32, entries)
}

/// A verifier of the demo city at `scene`: skew 30 s, its trust list and empty root
/// revocation list.
fn demo_verifier(scene: Scene) -> Verifier {
    let c = city();
    let mut v = Verifier::new(c.root.public_key(), scene).with_skew(30);
    v.load_trust_list(&c.trust_list).unwrap();
    v.load_revocation_list(&c.revocation_list).unwrap();
    v
}

/// A verifier with these lists, loaded in order (trust lists first).
fn verifier_with(scene: Scene, trust: &[&[u8]], revocations: &[&[u8]]) -> Verifier {
    let mut v = Verifier::new(root().public_key(), scene).with_skew(30);
    for t in trust {
        v.load_trust_list(t).unwrap();
    }
    for r in revocations {
        v.load_revocation_list(r).unwrap();
    }
    v
}

fn outcome(r: &Result<Accepted, Rejection>) -> String {
    match r {
        Ok(_) => "accept".into(),
        Err(e) => e.reason.code().into(),
    }
}

fn reason(r: Result<impl Sized, Rejection>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.reason.code().into(),
    }
}

/// The verdict on `text` at `now` of a fresh verifier from `make`, one by one and in a
/// batch of one (SPEC.md §9.1: they must be equal). Returns the accepted verdict or the
/// reason code.
fn verdict_full(make: &dyn Fn() -> Verifier, text: &str, now: u64) -> Result<Accepted, Rejection> {
    let one = make().verify_at(text, now);
    let batch = make().verify_batch_at(&[text], now).pop().unwrap();
    assert_eq!(outcome(&one), outcome(&batch), "one by one and batched disagree");
    if let (Ok(a), Ok(b)) = (&one, &batch) {
        assert_eq!(a, b, "one by one and batched accept differently");
    }
    one
}

fn verdict(make: &dyn Fn() -> Verifier, text: &str, now: u64) -> String {
    outcome(&verdict_full(make, text, now))
}

// ---------------------------------------------------------------------------------------
// Byte builders: codes, cards and claims exactly as SPEC.md lays them out, so that the
// input can break one rule while every signature over it is valid.

fn varint(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// `claims = count:u8 entry{count}`, `entry = domain:varint len:varint body` (§4.3).
fn claims(entries: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = vec![entries.len() as u8];
    for (id, body) in entries {
        out.extend(varint(*id));
        out.extend(varint(body.len() as u32));
        out.extend_from_slice(body);
    }
    out
}

/// Transit: account active, standard fare, vehicle payment on.
const TRANSIT: [u8; 3] = [1, 1, 1];

fn health_body(status: u8, until: u16) -> Vec<u8> {
    let mut b = vec![status];
    b.extend(until.to_be_bytes());
    b
}

/// Medical insurance, region withheld, status active.
const INSURANCE: [u8; 2] = [0, 1];

fn identity_body(name: &[u8]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend([0x1d; 16]);
    b.extend([0x2e; 16]);
    b.push(name.len() as u8);
    b.extend_from_slice(name);
    b
}

fn transit_claims() -> Vec<u8> {
    claims(&[(4, &TRANSIT)])
}

fn hospital_claims() -> Vec<u8> {
    claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE)])
}

/// `card_body = kid:varint alg:u8 valid_from_day:u16 valid_days:u8 claims` (§4.4).
fn card_body(kid: u32, alg: u8, from: u16, days: u8, claims: &[u8]) -> Vec<u8> {
    let mut b = varint(kid);
    b.push(alg);
    b.extend(from.to_be_bytes());
    b.push(days);
    b.extend_from_slice(claims);
    b
}

/// A card bound to `device_alg ‖ device_key` and `subject`: its body and the signature
/// of `issuer` over `label ‖ device_alg ‖ device_key ‖ subject ‖ body`.
fn bound_card(
    issuer: &KeyPair,
    label: &[u8],
    device_alg: u8,
    device_key: &[u8],
    subject: &[u8; 8],
    body: &[u8],
) -> Vec<u8> {
    let mut tbs = label.to_vec();
    tbs.push(device_alg);
    tbs.extend_from_slice(device_key);
    tbs.extend_from_slice(subject);
    tbs.extend_from_slice(body);
    let mut card = body.to_vec();
    card.extend(issuer.sign(&tbs));
    card
}

/// A card of the demo issuer (kid 1) for the demo device and subject, valid from five
/// days ago for ten days, under the label its claims call for.
fn card(claims: &[u8]) -> Vec<u8> {
    let label = if guardian_in(claims) { LABEL_GUARDIAN_CARD } else { LABEL_CARD };
    card_labelled(label, claims)
}

fn card_labelled(label: &[u8], claims: &[u8]) -> Vec<u8> {
    let body = card_body(1, 1, TODAY - 5, 10, claims);
    bound_card(&issuer_key(), label, 1, &device().public_key().to_bytes(), &SUBJECT, &body)
}

/// Whether an encoded claims list has a guardianship entry (single-byte ids and lengths).
fn guardian_in(claims: &[u8]) -> bool {
    let mut i = 1;
    while i + 1 < claims.len() {
        if claims[i] == 7 {
            return true;
        }
        i += 2 + claims[i + 1] as usize;
    }
    false
}

/// A code's bytes, field by field (§5).
#[derive(Clone)]
struct Raw {
    version: u8,
    device_alg: u8,
    device_key: Vec<u8>,
    subject: [u8; 8],
    issued_at: u32,
    validity: u8,
    nonce: [u8; 4],
    cards: Vec<Vec<u8>>,
}

impl Raw {
    /// The demo device's code carrying `cards`, built at the demo clock, 60 s.
    fn new(cards: Vec<Vec<u8>>) -> Raw {
        Raw {
            version: 1,
            device_alg: 1,
            device_key: device().public_key().to_bytes(),
            subject: SUBJECT,
            issued_at: NOW as u32,
            validity: 60,
            nonce: [0xa0, 0x0d, 0x17, 0x01],
            cards,
        }
    }

    fn nonce(mut self, n: u8) -> Raw {
        self.nonce[3] = n;
        self
    }

    /// Everything before the device signature.
    fn unsigned(&self) -> Vec<u8> {
        let mut b = vec![self.version, self.device_alg];
        b.extend_from_slice(&self.device_key);
        b.extend_from_slice(&self.subject);
        b.extend(self.issued_at.to_be_bytes());
        b.push(self.validity);
        b.extend_from_slice(&self.nonce);
        b.push(self.cards.len() as u8);
        for c in &self.cards {
            b.extend_from_slice(c);
        }
        b
    }

    /// Signed by `signer` over `"citycode/v1/code" 0x00 ‖ unsigned`.
    fn signed_by(&self, signer: &KeyPair) -> Vec<u8> {
        let unsigned = self.unsigned();
        let mut tbs = LABEL_CODE.to_vec();
        tbs.extend_from_slice(&unsigned);
        let mut out = unsigned;
        out.extend(signer.sign(&tbs));
        out
    }

    /// The QR text, signed by the demo device.
    fn text(&self) -> String {
        encode_text(&self.signed_by(&device()))
    }
}

/// A printed code (§5.1) of `cards`.
fn printed_bytes(subject: [u8; 8], cards: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![1u8, 0];
    b.extend_from_slice(&subject);
    b.push(cards.len() as u8);
    for c in cards {
        b.extend_from_slice(c);
    }
    b
}

/// A printed card of the demo issuer: `body` signed over
/// `"citycode/v1/printed-card" 0x00 0x00 ‖ subject ‖ body`.
fn printed_card(subject: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut tbs = LABEL_PRINTED_CARD.to_vec();
    tbs.push(0);
    tbs.extend_from_slice(subject);
    tbs.extend_from_slice(body);
    let mut card = body.to_vec();
    card.extend(issuer_key().sign(&tbs));
    card
}

/// A list's wire form: `body ‖ alg`, then the signature of `signer` over
/// `label ‖ body ‖ alg` (§8).
fn sign_list(label: &[u8], body: &[u8], alg: u8, signer: &KeyPair) -> Vec<u8> {
    let mut b = body.to_vec();
    b.push(alg);
    let mut tbs = label.to_vec();
    tbs.extend_from_slice(&b);
    b.extend(signer.sign(&tbs));
    b
}

/// A trust list body (§8.1) of raw issuer-key entries, valid 30 days.
fn trust_body(sequence: u64, keys: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(sequence.to_be_bytes());
    b.extend((NOW as u32 - 3600).to_be_bytes());
    b.extend((NOW as u32 + 30 * DAY as u32).to_be_bytes());
    b.extend(varint(keys.len() as u32));
    for k in keys {
        b.extend_from_slice(k);
    }
    b
}

/// `issuer_key = kid:varint alg:u8 key not_before:u32 not_after:u32 m:u8 domain:varint{m}`.
fn raw_issuer_key(kid: u32, alg: u8, key: &[u8], domains: &[u32]) -> Vec<u8> {
    let mut b = varint(kid);
    b.push(alg);
    b.extend_from_slice(key);
    b.extend((NOW as u32 - 365 * DAY as u32).to_be_bytes());
    b.extend((NOW as u32 + 365 * DAY as u32).to_be_bytes());
    b.push(domains.len() as u8);
    for d in domains {
        b.extend(varint(*d));
    }
    b
}

/// A revocation list body (§8.2) signed by the root, with raw entries.
fn revocation_body(signer: &[u8], sequence: u64, entries: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend_from_slice(signer);
    b.extend(sequence.to_be_bytes());
    b.extend((NOW as u32 - 600).to_be_bytes());
    b.extend((NOW as u32 + DAY as u32).to_be_bytes());
    b.extend(varint(entries.len() as u32));
    for e in entries {
        b.extend_from_slice(e);
    }
    b
}

/// A list status body (§8.4) with raw entries.
fn status_body(sequence: u64, entries: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(sequence.to_be_bytes());
    b.extend((NOW as u32).to_be_bytes());
    b.extend((NOW as u32 + 600).to_be_bytes());
    b.extend(varint(entries.len() as u32));
    for e in entries {
        b.extend_from_slice(e);
    }
    b
}

/// `entry = kind:u8 [kid] list_sequence:u64 list_expires_at:u32 digest[32]`, naming `file`.
fn status_entry(kind: u8, kid: Option<u32>, sequence: u64, file: &[u8]) -> Vec<u8> {
    let mut b = vec![kind];
    if let Some(k) = kid {
        b.extend(varint(k));
    }
    b.extend(sequence.to_be_bytes());
    b.extend((NOW as u32 + DAY as u32).to_be_bytes());
    b.extend(sha2::Sha256::digest(file));
    b
}

/// A published directory in memory.
#[derive(Clone, Default)]
struct Mirror(HashMap<String, Vec<u8>>);

impl ListSource for Mirror {
    fn fetch(&mut self, name: &str) -> Result<Vec<u8>, String> {
        self.0.get(name).cloned().ok_or_else(|| format!("{name}: 404"))
    }
}

/// A publication of `trust` and `revocations` (root-signed status `sequence`).
fn publish(sequence: u64, trust: &[u8], revocations: &[&[u8]]) -> Mirror {
    let r = root();
    let status =
        ListStatus::describe(sequence, NOW as u32, NOW as u32 + 600, &r.public_key(), trust, revocations).unwrap();
    let mut m = Mirror::default();
    m.0.insert(STATUS_FILE.into(), status.sign(&r).unwrap());
    m.0.insert(ListFile::Trust.file_name(), trust.to_vec());
    for bytes in revocations {
        let list =
            RevocationList::verify(bytes, &r.public_key(), TrustList::verify(trust, &r.public_key()).ok().as_ref())
                .unwrap();
        m.0.insert(ListFile::Revocation(list.signer).file_name(), bytes.to_vec());
    }
    m
}

fn metro_text(n: u8) -> String {
    Raw::new(vec![card(&transit_claims())]).nonce(n).text()
}

#[test]
fn the_builders_make_codes_the_verifier_accepts() {
    // Every refusal below is meaningful only if the same builders, unbent, give codes
    // and lists that verify.
    let make = || demo_verifier(Scene::MetroGate);
    let accepted = verdict_full(&make, &metro_text(1), NOW).unwrap();
    assert_eq!(accepted.subject, Subject(SUBJECT));
    assert_eq!(accepted.issuers, vec![1]);
    let hospital = Raw::new(vec![card(&hospital_claims())]).text();
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &hospital, NOW), "accept");
    let keys = [raw_issuer_key(1, 1, &issuer_key().public_key().to_bytes(), &all_domains())];
    let list = sign_list(LABEL_TRUST_LIST, &trust_body(2, &keys), 1, &root());
    let rev = sign_list(LABEL_REVOCATION_LIST, &revocation_body(&[0], 2, &[]), 1, &root());
    let v = verifier_with(Scene::MetroGate, &[&list], &[&rev]);
    assert!(v.verify_at(&metro_text(2), NOW).is_ok());
    let status = sign_list(
        LABEL_LIST_STATUS,
        &status_body(1, &[status_entry(1, None, 2, &list), status_entry(2, None, 2, &rev)]),
        1,
        &root(),
    );
    let mut m = Mirror::default();
    m.0.insert(STATUS_FILE.into(), status);
    m.0.insert(ListFile::Trust.file_name(), list);
    m.0.insert(ListFile::Revocation(ListSigner::Root).file_name(), rev);
    let mut fresh = Verifier::new(root().public_key(), Scene::MetroGate);
    assert_eq!(fresh.update_from(&mut m).unwrap().loaded.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Big-endian 256-bit helpers and curve constants (typed from FIPS 186-4 D.1.2.3 and
// GB/T 32918.5, independently of citycode's own).

const P256_P: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const SM2_P: &str = "fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff";
const SM2_A: &str = "fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc";
const SM2_B: &str = "28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93";
const SM2_GX: &str = "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7";
const SM2_GY: &str = "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0";

fn h32(s: &str) -> [u8; 32] {
    unhex(s).unwrap().try_into().unwrap()
}

/// `a + b` for big-endian 256-bit values whose sum fits.
fn be_add(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0, "the sum does not fit 256 bits");
    out
}

fn small(v: u8) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[31] = v;
    b
}

fn with_prefix(prefix: u8, x: &[u8; 32]) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(x);
    k
}

/// The smallest x from `from` up that names a point (with prefix `02`) of `alg`'s curve.
fn small_x_on_curve(alg: Algorithm, from: u8) -> [u8; 32] {
    (from..100u8).map(small).find(|x| PublicKey::from_bytes(alg, &with_prefix(2, x)).is_ok()).unwrap()
}

/// The demo device's metro code, but claiming the device key `alg ‖ key` (any bytes):
/// cards validly bound to that key, the device signature by whatever key (a verifier that
/// let the key through would reach the signature and say `bad_device_signature`).
fn code_with_device_key(alg: u8, key: &[u8]) -> String {
    let body = card_body(1, 1, TODAY - 5, 10, &transit_claims());
    let card = bound_card(&issuer_key(), LABEL_CARD, alg, key, &SUBJECT, &body);
    let raw = Raw { device_alg: alg, device_key: key.to_vec(), ..Raw::new(vec![card]) };
    encode_text(&raw.signed_by(&device()))
}

/// A trust list of the demo root naming one issuer key given as raw bytes.
fn trust_list_with_raw_key(alg: u8, key: &[u8]) -> Vec<u8> {
    sign_list(LABEL_TRUST_LIST, &trust_body(2, &[raw_issuer_key(1, alg, key, &all_domains())]), 1, &root())
}

fn config(root_alg: Algorithm, root_key: &[u8]) -> VerifierConfig {
    VerifierConfig {
        root_alg,
        root_key: citycode::text::hex(root_key),
        ..VerifierConfig::new(&root().public_key(), Scene::MetroGate)
    }
}

// ---------------------------------------------------------------------------------------
// §4.1 Primitive encodings.

/// M-4.1-1c: a fifth varint byte with its continuation bit is `non_canonical` before any
/// sixth byte is read (a verifier that reads on says `truncated`).
#[test]
fn m_4_1_1c_a_fifth_continuation_byte_is_non_canonical_before_a_sixth_is_read() {
    let mut cut = Raw::new(vec![]).unsigned();
    *cut.last_mut().unwrap() = 1; // one card, whose kid is:
    cut.extend([0x80; 5]);
    assert_eq!(reason(UnverifiedCode::from_bytes(&cut)), "non_canonical");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &encode_text(&cut), NOW), "non_canonical");
    // Four such bytes and nothing after: the input ended inside the varint.
    cut.pop();
    assert_eq!(reason(UnverifiedCode::from_bytes(&cut)), "truncated");
}

/// M-4.1-2a: a card whose `alg` is unassigned is `unsupported_algorithm`, even when every
/// signature over it is valid (a verifier that let it through would say
/// `algorithm_mismatch` at step 4).
#[test]
fn m_4_1_2a_a_card_with_an_unknown_alg_is_unsupported_algorithm() {
    for alg in [0u8, 4, 255] {
        let body = card_body(1, alg, TODAY - 5, 10, &transit_claims());
        let card = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &SUBJECT, &body);
        let text = Raw::new(vec![card]).text();
        assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW), "unsupported_algorithm", "alg {alg}");
    }
}

// ---------------------------------------------------------------------------------------
// §4.2 Key and signature validity.

/// M-4.2-1b: an Ed25519 key with a "negative zero" x (x = 0 with the sign bit set) is
/// invalid: as a device key, an issuer key and a root key.
#[test]
fn m_4_2_1b_ed25519_keys_with_a_negative_zero_x_are_invalid() {
    // (0, 1) and (0, -1) with the sign bit set: y = 1 and y = p - 1.
    let mut y1 = [0u8; 32];
    y1[0] = 1;
    y1[31] = 0x80;
    let mut y_minus_1 = [0xffu8; 32];
    y_minus_1[0] = 0xec;
    for k in [y1, y_minus_1] {
        assert_eq!(
            verdict(&|| demo_verifier(Scene::MetroGate), &code_with_device_key(1, &k), NOW),
            "invalid_device_key"
        );
        let mut v = Verifier::new(root().public_key(), Scene::MetroGate);
        assert_eq!(reason(v.load_trust_list(&trust_list_with_raw_key(1, &k))), "invalid_issuer_key");
        assert_eq!(reason(config(ED, &k).build()), "invalid_issuer_key");
    }
}

/// An Ed25519 signature of the demo device over `message` whose `R` is given as
/// `r_bytes` (a small-order point, canonical or not) and `S = k·a`, so that the
/// cofactored equation `[8]([S]B − R − [k]A) = 0` holds: only the strict decoding of `R`
/// refuses it.
fn small_order_r_signature(r_bytes: [u8; 32], message: &[u8]) -> [u8; 64] {
    use curve25519_dalek::Scalar;
    let h = sha2::Sha512::digest([0x03u8; 32]);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let mut k = sha2::Sha512::new();
    k.update(r_bytes);
    k.update(device().public_key().to_bytes());
    k.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&k.finalize().into());
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&(k * a).to_bytes());
    sig
}

/// M-4.2-2b, M-4.2-2c: a device signature whose `R` is the identity encoded with y ≥ p
/// (y = p + 1) or with a negative-zero x satisfies the cofactored equation; it is
/// `bad_device_signature`. (MUSTS.md says no vector can catch the bends alone because
/// the small-order check refuses the same `R`; this pins both checks together.)
#[test]
fn m_4_2_2bc_a_device_signature_with_a_non_canonical_small_order_r_is_refused() {
    let raw = Raw::new(vec![card(&transit_claims())]);
    let unsigned = raw.unsigned();
    let mut tbs = LABEL_CODE.to_vec();
    tbs.extend_from_slice(&unsigned);
    let mut p_plus_1 = [0xffu8; 32];
    p_plus_1[0] = 0xee;
    p_plus_1[31] = 0x7f;
    let mut negative_zero = [0u8; 32];
    negative_zero[0] = 1;
    negative_zero[31] = 0x80;
    let mut canonical_identity = [0u8; 32];
    canonical_identity[0] = 1;
    for r in [p_plus_1, negative_zero, canonical_identity] {
        let sig = small_order_r_signature(r, &tbs);
        // The cofactored equation holds for this signature: [8]([S]B - R - [k]A) = 0.
        {
            use curve25519_dalek::edwards::CompressedEdwardsY;
            use curve25519_dalek::traits::IsIdentity;
            let s = curve25519_dalek::Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()).unwrap();
            let big_r = CompressedEdwardsY(r).decompress().unwrap();
            let a = CompressedEdwardsY(device().public_key().to_bytes().try_into().unwrap()).decompress().unwrap();
            let mut k = sha2::Sha512::new();
            k.update(r);
            k.update(device().public_key().to_bytes());
            k.update(&tbs);
            let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&k.finalize().into());
            let lhs = curve25519_dalek::EdwardsPoint::mul_base(&s) - big_r - a * k;
            assert!(lhs.mul_by_cofactor().is_identity());
        }
        let mut code = unsigned.clone();
        code.extend(sig);
        let text = encode_text(&code);
        assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW), "bad_device_signature");
    }
}

/// M-4.2-3a, M-4.2-3b, M-4.2-3c: a P-256 key `02`/`03` ‖ (x + p) naming a point
/// non-canonically, an x with no point, and any prefix but `02`/`03` are invalid, as
/// device, issuer and root keys.
#[test]
fn m_4_2_3_p256_keys_must_be_canonical_compressed_points() {
    let x = small_x_on_curve(P256, 0);
    let x_plus_p = be_add(x, h32(P256_P));
    let off = (0..100u8).map(small).find(|x| PublicKey::from_bytes(P256, &with_prefix(2, x)).is_err()).unwrap();
    let good = key(P256, 0x09).unwrap().public_key().to_bytes();
    let good_x: [u8; 32] = good[1..].try_into().unwrap();
    let mut bad: Vec<Vec<u8>> = vec![with_prefix(2, &x_plus_p), with_prefix(3, &x_plus_p), with_prefix(2, &off)];
    for prefix in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0x82, 0x83] {
        bad.push(with_prefix(prefix, &good_x));
    }
    for k in &bad {
        assert_eq!(
            verdict(&|| demo_verifier(Scene::MetroGate), &code_with_device_key(2, k), NOW),
            "invalid_device_key"
        );
        let mut v = Verifier::new(root().public_key(), Scene::MetroGate);
        assert_eq!(reason(v.load_trust_list(&trust_list_with_raw_key(2, k))), "invalid_issuer_key");
        assert_eq!(reason(config(P256, k).build()), "invalid_issuer_key");
    }
    // The canonical encodings of the same points are valid.
    assert!(PublicKey::from_bytes(P256, &with_prefix(2, &x)).is_ok());
    assert!(PublicKey::from_bytes(P256, &good).is_ok());
}

/// M-4.2-5a, M-4.2-5d: an SM2 key `02` ‖ p (x = 0 is on the SM2 curve, so p names its
/// point non-canonically) and `04` ‖ x are invalid, as device, issuer and root keys.
#[test]
fn m_4_2_5_sm2_keys_must_be_canonical_compressed_points() {
    let zero = [0u8; 32];
    let x0_valid = [2u8, 3].iter().any(|&p| PublicKey::from_bytes(SM2, &with_prefix(p, &zero)).is_ok());
    assert!(x0_valid, "x = 0 names a point of the SM2 curve");
    let good = key(SM2, 0x09).unwrap().public_key().to_bytes();
    let good_x: [u8; 32] = good[1..].try_into().unwrap();
    let bad =
        [with_prefix(2, &h32(SM2_P)), with_prefix(3, &h32(SM2_P)), with_prefix(4, &good_x), with_prefix(0, &zero)];
    for k in &bad {
        assert_eq!(
            verdict(&|| demo_verifier(Scene::MetroGate), &code_with_device_key(3, k), NOW),
            "invalid_device_key"
        );
        let mut v = Verifier::new(root().public_key(), Scene::MetroGate);
        assert_eq!(reason(v.load_trust_list(&trust_list_with_raw_key(3, k))), "invalid_issuer_key");
        assert_eq!(reason(config(SM2, k).build()), "invalid_issuer_key");
    }
}

/// A P-256 issuer key under which `(r, s)` is a valid signature of `message`, for a
/// chosen `r` (the x of a point with small x) and `s`: `Q = r⁻¹([s]R − [e]G)`. No secret
/// key exists for anyone to know, and none is needed: the verifier checks
/// `x([e/s]G + [r/s]Q) = r`.
fn p256_key_for(message: &[u8], r_point_x: [u8; 32], s: [u8; 32]) -> Vec<u8> {
    use p256::elliptic_curve::PrimeField as _;
    use p256::elliptic_curve::sec1::{FromSec1Point as _, ToSec1Point as _};
    use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};
    let e_bytes: [u8; 32] = sha2::Sha256::digest(message).into();
    let e = <Scalar as p256::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(e_bytes));
    let r = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(r_point_x))).unwrap();
    let s = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(s))).unwrap();
    let big_r = ProjectivePoint::from(AffinePoint::from_sec1_bytes(&with_prefix(2, &r_point_x)).unwrap());
    let q = (big_r * s - ProjectivePoint::GENERATOR * e) * Option::<Scalar>::from(r.invert()).unwrap();
    q.to_affine().to_sec1_point(true).as_bytes().to_vec()
}

/// M-4.2-4a, M-4.2-4b: ECDSA P-256 `r` and `s` MUST be in [1, n − 1]: a valid issuer
/// signature `(r, s)` re-encoded as `(r + n, s)` or `(r, s + n)` is
/// `bad_issuer_signature` (a verifier that reduces mod n accepts it). The issuer key is
/// solved for a small `r` and `s = 1`, so that both sums fit 256 bits.
#[test]
fn m_4_2_4ab_p256_signatures_with_r_or_s_not_below_n_are_refused() {
    let device_key = device().public_key().to_bytes();
    let body = card_body(9, 2, TODAY - 5, 10, &transit_claims());
    let mut tbs = LABEL_CARD.to_vec();
    tbs.push(1);
    tbs.extend_from_slice(&device_key);
    tbs.extend_from_slice(&SUBJECT);
    tbs.extend_from_slice(&body);
    let r = small_x_on_curve(P256, 1);
    let s = small(1);
    let q = p256_key_for(&tbs, r, s);
    let issuer = PublicKey::from_bytes(P256, &q).unwrap();
    let valid = [r, s].concat();
    assert!(issuer.verify(&tbs, &valid), "the solved key verifies (r, s)");
    let trust = trust_list(&root(), 2, vec![issuer_entry(9, issuer, all_domains())]);
    let make = || verifier_with(Scene::MetroGate, &[&trust], &[&root_revocations(1, vec![])]);
    let with_sig = |sig: &[u8]| {
        let mut card = body.clone();
        card.extend_from_slice(sig);
        Raw::new(vec![card]).text()
    };
    assert_eq!(verdict(&make, &with_sig(&valid), NOW), "accept");
    let n = h32(P256_N);
    assert_eq!(verdict(&make, &with_sig(&[be_add(r, n), s].concat()), NOW), "bad_issuer_signature");
    assert_eq!(verdict(&make, &with_sig(&[r, be_add(s, n)].concat()), NOW), "bad_issuer_signature");
}

/// A GM demo verifier (SM2 root, issuer and lists) at `scene`, GM-only.
fn gm_verifier(scene: Scene) -> Verifier {
    let c = gm_city();
    let mut v = Verifier::new(c.root.public_key(), scene).with_skew(30).gm_only().unwrap();
    v.load_trust_list(&c.trust_list).unwrap();
    v.load_revocation_list(&c.revocation_list).unwrap();
    v
}

/// M-4.2-6d: an SM2 signature for which `[s]G + [t]P_A` is the point at infinity is
/// invalid. Made by the holder of the device key `d` as `r = e mod n`,
/// `s = −r·d/(1 + d) mod n`: `[s]G + [t]P = [s + (r + s)d]G = O`, and a verifier that
/// reads infinity as (0, 0) finds `r = e + 0` and accepts.
#[test]
fn m_4_2_6d_an_sm2_signature_that_sums_to_the_point_at_infinity_is_refused() {
    use sm2::elliptic_curve::PrimeField as _;
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    use sm2::{FieldBytes, ProjectivePoint, Scalar};
    let gm = gm_city();
    let genuine = present(&gm.credential, &gm.device, &Scene::MetroGate, NOW, PresentOptions::default()).unwrap();
    assert_eq!(verdict(&|| gm_verifier(Scene::MetroGate), &genuine.to_text(), NOW), "accept");
    let bytes = genuine.as_bytes();
    let unsigned = &bytes[..bytes.len() - 64];
    let mut tbs = LABEL_CODE.to_vec();
    tbs.extend_from_slice(unsigned);
    // Z_A and e as GB/T 32918.2 defines them, computed here from the standard's numbers.
    let d = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from([0x03u8; 32]))).unwrap();
    let public = (ProjectivePoint::GENERATOR * d).to_affine().to_sec1_point(false);
    assert_eq!(public.as_bytes()[1..33], gm.device.public_key().to_bytes()[1..]);
    let mut za = sm3::Sm3::new();
    za.update([0x00, 0x80]);
    za.update(b"1234567812345678");
    for part in [SM2_A, SM2_B, SM2_GX, SM2_GY] {
        za.update(h32(part));
    }
    za.update(&public.as_bytes()[1..]);
    let za: [u8; 32] = za.finalize().into();
    let mut e = sm3::Sm3::new();
    e.update(za);
    e.update(&tbs);
    let e_bytes: [u8; 32] = e.finalize().into();
    let r = <Scalar as sm2::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(&FieldBytes::from(e_bytes));
    let s = -(r * d) * Option::<Scalar>::from((d + Scalar::ONE).invert()).unwrap();
    assert!(!bool::from(r.is_zero()) && !bool::from(s.is_zero()) && !bool::from((r + s).is_zero()));
    // [s]G + [r + s]P is the point at infinity.
    assert_eq!(ProjectivePoint::GENERATOR * s + ProjectivePoint::GENERATOR * d * (r + s), ProjectivePoint::IDENTITY);
    let mut code = unsigned.to_vec();
    code.extend_from_slice(&r.to_repr());
    code.extend_from_slice(&s.to_repr());
    assert_eq!(verdict(&|| gm_verifier(Scene::MetroGate), &encode_text(&code), NOW), "bad_device_signature");
}

/// M-4.2-7a (and FINDINGS F-8): a verifier refuses to be configured with a root key that
/// fails §4.2; citycode names the reason `invalid_issuer_key`. Nothing else can hold one:
/// [`PublicKey`] is valid by construction.
#[test]
fn m_4_2_7a_an_invalid_root_key_is_refused_at_configuration() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut p_plus_1 = [0xffu8; 32];
    p_plus_1[0] = 0xee;
    p_plus_1[31] = 0x7f;
    for k in [identity, p_plus_1] {
        assert_eq!(reason(config(ED, &k).build()), "invalid_issuer_key");
        assert!(PublicKey::from_bytes(ED, &k).is_err());
    }
    assert_eq!(reason(config(ED, &[0u8; 31]).build()), "malformed");
    assert_eq!(reason(config(ED, &root().public_key().to_bytes()).build()), "ok");
}

// ---------------------------------------------------------------------------------------
// §4.3 Claims, §4.4 Card.

fn one_card_verdict(scene: Scene, claims: &[u8]) -> String {
    verdict(&move || demo_verifier(scene.clone()), &Raw::new(vec![card(claims)]).text(), NOW)
}

/// M-4.3-5c: an over-long varint inside a known domain's body is still `non_canonical`
/// (not `malformed`, which a short or long body is).
#[test]
fn m_4_3_5c_an_over_long_varint_inside_a_body_is_non_canonical() {
    // Insurance region 6 written as 0x86 0x00; a tourism site 0 written as 0x80 0x00.
    assert_eq!(one_card_verdict(Scene::Hospital, &claims(&[(2, &[0x86, 0x00, 0x01])])), "non_canonical");
    let tourism = [1, 2, 0x80, 0x00, (TODAY >> 8) as u8, TODAY as u8];
    assert_eq!(one_card_verdict(Scene::MetroGate, &claims(&[(5, &tourism)])), "non_canonical");
    // The same values written minimally are accepted by the parser.
    assert_eq!(one_card_verdict(Scene::MetroGate, &claims(&[(2, &[0x06, 0x01])])), "policy_unmet");
}

/// M-4.3-6a, c, e, f (and the other enums): every enum byte outside its table is
/// `malformed`, in a validly signed card; health, social security and tourism kinds have
/// no withheld 0.
#[test]
fn m_4_3_6_enum_bytes_outside_their_tables_are_malformed() {
    let day = TODAY.to_be_bytes();
    let bodies: Vec<(u32, Vec<u8>)> = vec![
        (1, vec![0, day[0], day[1]]),
        (1, vec![4, day[0], day[1]]),
        (2, vec![0x06, 4]),
        (3, vec![0]),
        (3, vec![4]),
        (4, vec![4, 1, 1]),
        (4, vec![1, 6, 1]),
        (5, vec![1, 0, 1, day[0], day[1]]),
        (5, vec![1, 3, 1, day[0], day[1]]),
        (6, [vec![0], identity_body(b"Li Lei")[1..].to_vec()].concat()),
        (6, [vec![3], identity_body(b"Li Lei")[1..].to_vec()].concat()),
        (7, vec![0]),
        (7, vec![6]),
    ];
    for (domain, body) in &bodies {
        let got = one_card_verdict(Scene::MetroGate, &claims(&[(*domain, body)]));
        assert_eq!(got, "malformed", "domain {domain} body {body:?}");
    }
    // Each table's last value is accepted by the parser (the metro gate then reads the claims).
    for (domain, body) in [(1u32, vec![3, day[0], day[1]]), (3, vec![3]), (4, vec![1, 5, 1])] {
        let got = one_card_verdict(Scene::MetroGate, &claims(&[(domain, &body)]));
        assert!(got == "accept" || got == "policy_unmet", "domain {domain}: {got}");
    }
}

/// M-4.3-10e, M-4.3-10f: names of exactly 64 bytes and of one byte are accepted
/// (`claims_identity_name_65_bytes` pins only the refusing side).
#[test]
fn m_4_3_10ef_names_of_64_bytes_and_of_one_byte_are_accepted() {
    let long = format!("{}a", "张".repeat(21));
    assert_eq!(long.len(), 64);
    for name in [long.as_str(), "a"] {
        let text = Raw::new(vec![card(&claims(&[(6, &identity_body(name.as_bytes()))]))]).text();
        let a = verdict_full(&|| demo_verifier(Scene::HotelCheckIn), &text, NOW).unwrap();
        assert_eq!(a.claims.identity.unwrap().name, name);
    }
    let too_long = format!("{long}b");
    assert_eq!(
        one_card_verdict(Scene::HotelCheckIn, &claims(&[(6, &identity_body(too_long.as_bytes()))])),
        "malformed"
    );
}

/// FINDINGS F-14: "no control characters" in a name. C0, DEL and C1 (Unicode category
/// Cc) are `malformed`. Format characters are not: a right-to-left override (U+202E) or a
/// line separator (U+2028) in an issuer-signed name is accepted today (SPEC.md does not
/// say; pinned here so that a change is deliberate).
#[test]
fn f_14_control_characters_in_a_name() {
    for name in ["Li\u{7f}Lei", "Li\u{85}Lei", "Li\u{1}Lei", "Li\tLei"] {
        let c = claims(&[(6, &identity_body(name.as_bytes()))]);
        assert_eq!(one_card_verdict(Scene::HotelCheckIn, &c), "malformed", "{name:?}");
    }
    for name in ["Li\u{202e}ieL", "Li\u{2028}Lei"] {
        let c = claims(&[(6, &identity_body(name.as_bytes()))]);
        assert_eq!(one_card_verdict(Scene::HotelCheckIn, &c), "accept", "{name:?}");
    }
}

/// FINDINGS F-15: domain id 0 is `malformed` wherever it appears, also after a higher id
/// (where "not increasing" would say `non_canonical`).
#[test]
fn f_15_domain_zero_after_a_higher_domain_is_malformed() {
    assert_eq!(one_card_verdict(Scene::MetroGate, &claims(&[(4, &TRANSIT), (0, &[])])), "malformed");
    assert_eq!(one_card_verdict(Scene::MetroGate, &claims(&[(4, &TRANSIT), (3, &[1])])), "non_canonical");
}

/// M-4.4-1a: `valid_days` 0 is `malformed`, even on a validly signed card (a verifier that
/// let it through would say `credential_expired`).
#[test]
fn m_4_4_1a_valid_days_zero_is_malformed_even_when_signed() {
    let body = card_body(1, 1, TODAY, 0, &transit_claims());
    let c = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &SUBJECT, &body);
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &Raw::new(vec![c]).text(), NOW), "malformed");
}

/// FINDINGS F-20: time arithmetic does not wrap. A card from day 65,535 is not yet valid
/// (in 32 bits its start, 65,535 × 86,400, wraps to 2013 and a wrapping verifier accepts
/// it), and a code built ten seconds before 2^32 is accepted until its end past 2^32.
#[test]
fn f_20_time_arithmetic_does_not_wrap() {
    let body = card_body(1, 1, u16::MAX, 255, &transit_claims());
    let c = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &SUBJECT, &body);
    assert_eq!(
        verdict(&|| demo_verifier(Scene::MetroGate), &Raw::new(vec![c]).text(), NOW),
        "credential_not_yet_valid"
    );

    // A city whose lists and keys run to the end of u32 time.
    let end = u32::MAX;
    let now = u64::from(end) - 5;
    let trust = TrustList {
        sequence: 1,
        issued_at: 0,
        expires_at: end,
        keys: vec![IssuerKey {
            kid: 1,
            key: issuer_key().public_key(),
            not_before: 0,
            not_after: end,
            domains: all_domains(),
        }],
    }
    .sign(&root())
    .unwrap();
    let rev = RevocationList::new(ListSigner::Root, 1, 0, end, vec![]).unwrap().sign(&root()).unwrap();
    let day = (now / DAY) as u16;
    let body = card_body(1, 1, day, 2, &transit_claims());
    let c = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &SUBJECT, &body);
    let text = Raw { issued_at: end - 10, ..Raw::new(vec![c]) }.text();
    let make = || verifier_with(Scene::MetroGate, &[&trust], &[&rev]);
    assert_eq!(verdict(&make, &text, now), "accept");
}

// ---------------------------------------------------------------------------------------
// §4.6 Digests and GM-only; §4.7 key requests.

fn sm3_16(input: &[u8]) -> [u8; 16] {
    sm3::Sm3::digest(input)[..16].try_into().unwrap()
}

fn sha256_16(input: &[u8]) -> [u8; 16] {
    sha2::Sha256::digest(input)[..16].try_into().unwrap()
}

/// A credential of issuer `issuer` bound to `device` (whatever its algorithm): every
/// domain of the demo resident, the standard layout, valid from yesterday for a week.
fn credential_for(issuer: &Issuer, device: &KeyPair, subject: [u8; 8]) -> Credential {
    issuer
        .issue(&CredentialRequest {
            device_key: ProvenKey::by_signing(device).unwrap(),
            subject: Subject(subject),
            valid_from_day: TODAY - 1,
            valid_days: 7,
            claims: demo::resident_claims(),
            layout: CardLayout::Standard,
        })
        .unwrap()
}

/// M-4.6-1b: a card id is H of the card's signing input with the digest of the *device*
/// key's algorithm: an SM2 phone in an Ed25519 city has SM3 card ids.
#[test]
fn m_4_6_1b_a_card_id_hashes_with_the_device_keys_digest() {
    let phone = key(SM2, 0x31).unwrap();
    let cred = credential_for(&city().issuer, &phone, *b"sm2phone");
    let text = present(&cred, &phone, &Scene::MetroGate, NOW, PresentOptions::default()).unwrap().to_text();
    let tbs = UnverifiedCode::from_text(&text).unwrap().card_input(0).to_vec();
    assert!(tbs.starts_with(LABEL_CARD));
    let with = |id: [u8; 16]| {
        let rev = root_revocations(2, vec![Revoked::Card(id)]);
        move || verifier_with(Scene::MetroGate, &[&city().trust_list], &[&rev])
    };
    assert_eq!(verdict(&with(sm3_16(&tbs)), &text, NOW), "revoked");
    assert_eq!(verdict(&with(sha256_16(&tbs)), &text, NOW), "accept");
}

/// The demo paper claims: health, insurance status, identity (as the demo story, `citycode_demo::story`, prints).
fn paper_claims() -> Claims {
    let mut paper = demo::resident_claims().select(&[Domain::Health.id()]).unwrap();
    paper.medical_insurance = Some(citycode::claims::MedicalInsurance {
        region: None,
        status: Some(citycode::claims::InsuranceStatus::Active),
    });
    paper.identity = Some(demo::resident_identity().unwrap());
    paper
}

/// [`paper_claims`] for the GM city: its identity commitment uses SM3 (a GM-only verifier
/// refuses SHA-256 anywhere, SPEC.md §4.6).
fn gm_paper_claims() -> Claims {
    let mut paper = paper_claims();
    paper.identity = Some(
        citycode::claims::Identity::with_salt(demo::NAME, demo::ID_NUMBER, citycode::claims::IdDigest::Sm3, [0x1d; 16])
            .unwrap(),
    );
    paper
}

/// FINDINGS F-6 (and M-5.1-4b under SM2): a printed card's id is the digest of the card's
/// *issuer* algorithm over `printed_card_tbs`: SM3 in a GM city.
#[test]
fn f_6_a_printed_card_id_hashes_with_the_issuer_keys_digest() {
    let gm = gm_city();
    let printed =
        gm.issuer.issue_printed(Subject([0x70; 8]), &gm_paper_claims(), TODAY, 180, PRINTED_MAX_DAYS).unwrap();
    let tbs = printed.card_input(0).to_vec();
    assert!(tbs.starts_with(LABEL_PRINTED_CARD));
    let with = |id: [u8; 16]| {
        let rev =
            RevocationList::new(ListSigner::Root, 2, NOW as u32 - 600, NOW as u32 + 3600, vec![Revoked::Card(id)])
                .unwrap()
                .sign(&gm.root)
                .unwrap();
        move || {
            let mut v = Verifier::new(gm.root.public_key(), Scene::Hospital).gm_only().unwrap();
            v.load_trust_list(&gm.trust_list).unwrap();
            v.load_revocation_list(&rev).unwrap();
            v
        }
    };
    assert_eq!(verdict(&with(sm3_16(&tbs)), &printed.to_text(), NOW), "revoked");
    assert_eq!(verdict(&with(sha256_16(&tbs)), &printed.to_text(), NOW), "accept");
}

/// M-4.6-2a: a GM-only verifier refuses a root that is not SM2 (`unsupported_algorithm`),
/// from a configuration and from the builder.
#[test]
fn m_4_6_2a_gm_only_refuses_a_non_sm2_root_at_configuration() {
    for alg in [ED, P256] {
        let root = key(alg, 0x01).unwrap().public_key();
        let cfg = VerifierConfig { gm_only: true, ..VerifierConfig::new(&root, Scene::MetroGate) };
        assert_eq!(reason(cfg.build()), "unsupported_algorithm");
        assert_eq!(reason(Verifier::new(root, Scene::MetroGate).gm_only()), "unsupported_algorithm");
    }
    let sm2_root = gm_city().root.public_key();
    let cfg = VerifierConfig { gm_only: true, ..VerifierConfig::new(&sm2_root, Scene::MetroGate) };
    assert!(cfg.build().unwrap().is_gm_only());
}

/// M-4.6-2d: a GM-only verifier refuses a non-SM2 device key right after the lists,
/// before the code's window: a P-256 phone's code shown after its window is
/// `unsupported_algorithm`, not `code_expired`.
#[test]
fn m_4_6_2d_gm_only_refuses_a_non_sm2_device_key_before_the_code_window() {
    let gm = gm_city();
    for (alg, seed) in [(P256, 0x32u8), (ED, 0x33)] {
        let phone = key(alg, seed).unwrap();
        let cred = credential_for(&gm.issuer, &phone, [seed; 8]);
        let text = present(&cred, &phone, &Scene::MetroGate, NOW, PresentOptions::default()).unwrap().to_text();
        assert_eq!(verdict(&|| gm_verifier(Scene::MetroGate), &text, NOW), "unsupported_algorithm");
        assert_eq!(verdict(&|| gm_verifier(Scene::MetroGate), &text, NOW + 1000), "unsupported_algorithm");
        assert_eq!(verdict(&|| gm_verifier(Scene::MetroGate), &text, NOW - 1000), "unsupported_algorithm");
        // Without GM-only the mixed code is accepted: only the GM rule refuses it.
        let mixed = || {
            let mut v = Verifier::new(gm.root.public_key(), Scene::MetroGate).with_skew(30);
            v.load_trust_list(&gm.trust_list).unwrap();
            v.load_revocation_list(&gm.revocation_list).unwrap();
            v
        };
        assert_eq!(verdict(&mixed, &text, NOW), "accept");
        assert_eq!(verdict(&mixed, &text, NOW + 1000), "code_expired");
    }
    // The lists come first: with no trust list the reason is `no_trust_list`.
    let phone = key(P256, 0x32).unwrap();
    let cred = credential_for(&gm.issuer, &phone, [0x32; 8]);
    let text = present(&cred, &phone, &Scene::MetroGate, NOW, PresentOptions::default()).unwrap().to_text();
    let bare = || Verifier::new(gm.root.public_key(), Scene::MetroGate).gm_only().unwrap();
    assert_eq!(verdict(&bare, &text, NOW), "no_trust_list");
}

/// FINDINGS F-9 (SPEC.md silent): a GM-only verifier accepts a printed code of its city.
/// A printed code has no device key; its only signatures are issuer signatures, which
/// the GM-only trust list already restricts to SM2, and its card ids are SM3 (F-6).
/// Pinned: refverify refuses it instead.
#[test]
fn f_9_gm_only_accepts_its_citys_printed_code() {
    let gm = gm_city();
    let printed =
        gm.issuer.issue_printed(Subject([0x71; 8]), &gm_paper_claims(), TODAY, 180, PRINTED_MAX_DAYS).unwrap();
    let a = verdict_full(&|| gm_verifier(Scene::Hospital), &printed.to_text(), NOW).unwrap();
    assert!(a.printed);
}

/// FINDINGS F-11 (SPEC.md silent on the place): a GM-only verifier refuses a trust list
/// naming a non-SM2 issuer key after checking its signature and before rollback; the held
/// list stays. Pinned: refverify refuses at parse, so a forged list says
/// `unsupported_algorithm` there and `bad_trust_list_signature` here.
#[test]
fn f_11_gm_only_refuses_a_non_sm2_issuer_key_after_the_signature() {
    let gm = gm_city();
    let mixed_keys = vec![
        issuer_entry(1, gm.issuer.public_key(), all_domains()),
        issuer_entry(2, issuer_key().public_key(), all_domains()),
    ];
    let mixed = |sequence| {
        TrustList { sequence, issued_at: NOW as u32, expires_at: NOW as u32 + DAY as u32, keys: mixed_keys.clone() }
            .sign(&gm.root)
            .unwrap()
    };
    let text =
        present(&gm.credential, &gm.device, &Scene::MetroGate, NOW, PresentOptions::default()).unwrap().to_text();
    let mut v = gm_verifier(Scene::MetroGate);
    assert_eq!(reason(v.load_trust_list(&mixed(2))), "unsupported_algorithm");
    // Equal sequence, other bytes: the GM rule speaks before rollback.
    assert_eq!(reason(v.load_trust_list(&mixed(1))), "unsupported_algorithm");
    let mut forged = mixed(3);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(reason(v.load_trust_list(&forged)), "bad_trust_list_signature");
    assert_eq!(v.trust_list().unwrap().sequence, 1);
    assert_eq!(outcome(&v.verify_at(&text, NOW)), "accept");
}

/// The signing input of a key request over any challenge (§4.7).
fn key_request_for(device: &KeyPair, challenge: &[u8]) -> KeyRequest {
    let public = device.public_key();
    let mut input = LABEL_KEY_REQUEST.to_vec();
    input.push(public.algorithm().id());
    input.extend_from_slice(&public.to_bytes());
    input.extend_from_slice(challenge);
    let mut bytes = vec![1u8, public.algorithm().id()];
    bytes.extend_from_slice(&public.to_bytes());
    bytes.extend(device.sign(&input));
    KeyRequest::from_bytes(&bytes).unwrap()
}

/// M-4.7-4b, c, d (and FINDINGS F-3): challenges of 16 and 64 bytes are accepted, 15 and
/// 65 bytes refused (`malformed`, as key-requests.json says), for a request validly
/// signed over exactly that challenge.
#[test]
fn m_4_7_4_challenge_lengths() {
    for alg in Algorithm::ALL {
        let phone = key(alg, 0x34).unwrap();
        for (len, expected) in [(15usize, "malformed"), (16, "ok"), (32, "ok"), (64, "ok"), (65, "malformed")] {
            let challenge = vec![0x5c; len];
            assert_eq!(reason(key_request_for(&phone, &challenge).verify(&challenge)), expected, "{alg} {len}");
        }
        // FINDINGS F-3 (order, pinned): the request parses before the challenge is looked
        // at, so a malformed request over a bad challenge reports its own reason.
        let mut bytes = key_request_for(&phone, &[0x5c; 32]).to_bytes();
        bytes[0] = 2;
        assert_eq!(reason(KeyRequest::from_bytes(&bytes)), "unsupported_version");
    }
}

// ---------------------------------------------------------------------------------------
// §5 Code: parse order; §4.3/§4.9 guardianship across cards.

fn parse_reason(bytes: &[u8]) -> String {
    verdict(&|| demo_verifier(Scene::MetroGate), &encode_text(bytes), NOW)
}

/// M-5-4b: a code asking for one second of validity is accepted within it (and expires
/// after it and the skew).
#[test]
fn m_5_4b_a_code_valid_for_one_second_is_accepted() {
    let text = Raw { validity: 1, ..Raw::new(vec![card(&transit_claims())]) }.text();
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW), "accept");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW + 30), "accept");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW + 31), "code_expired");
}

/// M-5-8a..d: each field is checked as soon as it is read: a code cut right after a
/// small-order device key is `invalid_device_key`, right after `validity` 0 `malformed`,
/// right after a card count of 17 `malformed`, and a domain repeated by a second card is
/// `malformed` though the device signature is cut short (a verifier checking these after
/// the whole code says `truncated`).
#[test]
fn m_5_8_fields_are_checked_as_soon_as_they_are_read() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut key_cut = vec![1u8, 1];
    key_cut.extend(identity);
    assert_eq!(parse_reason(&key_cut), "invalid_device_key");

    let header = Raw::new(vec![]).unsigned();
    // version, alg, key (32), subject (8), issued_at (4), validity: 47 bytes.
    let mut validity_cut = header[..47].to_vec();
    validity_cut[46] = 0;
    assert_eq!(parse_reason(&validity_cut), "malformed");

    let mut count_cut = header.clone();
    *count_cut.last_mut().unwrap() = 17;
    assert_eq!(parse_reason(&count_cut), "malformed");

    let twice = Raw::new(vec![card(&transit_claims()), card(&transit_claims())]).signed_by(&device());
    assert_eq!(parse_reason(&twice[..twice.len() - 10]), "malformed");
    assert_eq!(parse_reason(&twice), "malformed");
}

/// FINDINGS F-4: guardianship (domain 7) on every card of a code with the same relation
/// is not "a domain in two cards": a guardian's code of two cards is accepted, and the
/// verdict names the guardianship once.
#[test]
fn f_4_a_guardians_code_of_two_cards_with_one_relation_is_accepted() {
    let child = [2u8];
    let text = Raw::new(vec![
        card(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (7, &child)])),
        card(&claims(&[(4, &TRANSIT), (7, &child)])),
    ])
    .text();
    for scene in [Scene::Hospital, Scene::MetroGate] {
        let a = verdict_full(&|| demo_verifier(scene.clone()), &text, NOW).unwrap();
        assert_eq!(a.guardian(), Some(Relation::Child));
        assert_eq!(a.claims.domain_ids(), vec![1, 2, 4, 7]);
    }
    assert_eq!(verdict(&|| demo_verifier(Scene::Parking), &text, NOW), "policy_unmet");
}

/// FINDINGS F-13, the guardianship half: "every card carries guardianship with the same
/// relation, or none does" is known broken when the second card is read whole; §5's
/// left-to-right order ("each field checked as soon as it is read", as for a repeated
/// domain) then gives `malformed`. citycode checks after the last card, so the same code
/// cut inside a third card says `truncated`.
#[test]
fn f_13_guardianship_on_some_cards_is_malformed_when_the_card_is_read() {
    let guardian = card(&claims(&[(1, &health_body(1, TODAY + 1)), (7, &[2])]));
    let plain = card(&claims(&[(4, &TRANSIT)]));
    let third = card(&claims(&[(3, &[1])]));
    let mut raw = Raw::new(vec![guardian, plain, third]).unsigned();
    raw.truncate(raw.len() - 20);
    assert_eq!(parse_reason(&raw), "malformed");
}

/// The same code complete is `malformed` today: the rule itself holds.
#[test]
fn f_13_guardianship_on_some_cards_is_malformed() {
    let guardian = card(&claims(&[(1, &health_body(1, TODAY + 1)), (7, &[2])]));
    let plain = card(&claims(&[(4, &TRANSIT)]));
    assert_eq!(parse_reason(&Raw::new(vec![guardian.clone(), plain.clone()]).signed_by(&device())), "malformed");
    assert_eq!(parse_reason(&Raw::new(vec![plain, guardian]).signed_by(&device())), "malformed");
}

// ---------------------------------------------------------------------------------------
// §5.1 Printed codes.

const PAPER: [u8; 8] = [0x70; 8];

fn printed_text(claims: &[u8]) -> String {
    encode_text(&printed_bytes(PAPER, &[printed_card(&PAPER, &card_body(1, 1, TODAY, 180, claims))]))
}

fn paper_identity() -> Vec<u8> {
    identity_body("张小明".as_bytes())
}

/// M-5.1-2a: a printed code MUST NOT carry guardianship: `malformed`, though its card is
/// validly signed under the printed label.
#[test]
fn m_5_1_2a_a_printed_code_with_guardianship_is_malformed() {
    let text =
        printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity()), (7, &[1])]));
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &text, NOW), "malformed");
    let without = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]));
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &without, NOW), "accept");
}

/// M-5.1-3a: a printed code is refused (`policy_unmet`) at every scene whose policy does
/// not accept printed codes. It cannot carry what an unstaffed scene reads: a printed code
/// with transit or tourism is `malformed` (SPEC.md §5.1, only what the staffed scenes read).
#[test]
fn m_5_1_3a_a_printed_code_is_refused_at_unstaffed_scenes() {
    let mut tourism = vec![1u8, 2];
    tourism.extend(varint(demo::SITE));
    tourism.extend(TODAY.to_be_bytes());
    let carrying = printed_text(&claims(&[(4, &TRANSIT), (5, &tourism), (6, &paper_identity())]));
    let text_ok = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]));
    let scenic = Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: demo::UTC_OFFSET_MINUTES };
    for scene in [Scene::MetroGate, Scene::Parking, scenic] {
        assert_eq!(verdict(&|| demo_verifier(scene.clone()), &carrying, NOW), "malformed", "{scene:?}");
        assert_eq!(verdict(&|| demo_verifier(scene.clone()), &text_ok, NOW), "policy_unmet", "{scene:?}");
    }
    for scene in [Scene::Hospital, Scene::HotelCheckIn] {
        let a = verdict_full(&|| demo_verifier(scene.clone()), &text_ok, NOW).unwrap();
        assert!(a.printed, "{scene:?}");
    }
}

/// M-5.1-4b: a printed card is revoked by its id, the first 16 bytes of
/// D(`printed_card_tbs`) (SHA-256 under an Ed25519 issuer), not of the ordinary card label.
#[test]
fn m_5_1_4b_a_printed_card_is_revoked_by_its_printed_card_id() {
    let c = claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]);
    let body = card_body(1, 1, TODAY, 180, &c);
    let text = printed_text(&c);
    let mut printed_tbs = LABEL_PRINTED_CARD.to_vec();
    printed_tbs.push(0);
    printed_tbs.extend_from_slice(&PAPER);
    printed_tbs.extend_from_slice(&body);
    let mut ordinary_tbs = LABEL_CARD.to_vec();
    ordinary_tbs.push(0);
    ordinary_tbs.extend_from_slice(&PAPER);
    ordinary_tbs.extend_from_slice(&body);
    let with = |id: [u8; 16]| {
        let rev = root_revocations(2, vec![Revoked::Card(id)]);
        move || verifier_with(Scene::Hospital, &[&city().trust_list], &[&rev])
    };
    assert_eq!(verdict(&with(sha256_16(&printed_tbs)), &text, NOW), "revoked");
    assert_eq!(verdict(&with(sha256_16(&ordinary_tbs)), &text, NOW), "accept");
    // And by its subject.
    let rev = root_revocations(2, vec![Revoked::Subject(PAPER)]);
    assert_eq!(verdict(&|| verifier_with(Scene::Hospital, &[&city().trust_list], &[&rev]), &text, NOW), "revoked");
}

/// M-5.1-5a: a printed code takes no replay slot: the same text is accepted again, one by
/// one and twice in one batch.
#[test]
fn m_5_1_5a_a_printed_code_is_not_replay_checked() {
    let text = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]));
    let v = demo_verifier(Scene::Hospital);
    for t in [NOW, NOW + 1, NOW + 3600] {
        assert!(v.verify_at(&text, t).unwrap().printed);
    }
    let both = demo_verifier(Scene::Hospital).verify_batch_at(&[&text, &text], NOW);
    assert!(both.iter().all(|r| r.as_ref().is_ok_and(|a| a.printed)));
}

/// FINDINGS F-10 (SPEC.md §5.1 lists the scene first; pinned): a printed code at a scene
/// that refuses printed codes is refused after the lists and before any issuer-key or
/// signature check: a tampered printed code at a metro gate is `policy_unmet`, at a
/// hospital `bad_issuer_signature`.
#[test]
fn f_10_a_printed_code_at_an_unstaffed_scene_is_refused_before_signature_work() {
    let text = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]));
    let mut bytes = decode_text(&text).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = encode_text(&bytes);
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &tampered, NOW), "policy_unmet");
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &tampered, NOW), "bad_issuer_signature");
    let no_lists = || Verifier::new(root().public_key(), Scene::MetroGate);
    assert_eq!(verdict(&no_lists, &tampered, NOW), "no_trust_list");
}

/// FINDINGS F-13, the printed half: "a printed code MUST carry identity" is known broken
/// after its last card, before any byte after it; §5's left-to-right order gives
/// `malformed`. citycode checks for trailing bytes first (`trailing_bytes`).
#[test]
fn f_13_a_printed_code_without_identity_is_malformed_before_trailing_bytes() {
    let mut bytes = decode_text(&printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE)]))).unwrap();
    bytes.push(0);
    assert_eq!(parse_reason(&bytes), "malformed");
}

/// FINDINGS F-13, guardianship in a printed code: known when its card is read; citycode
/// reads every card first, so a printed code whose first card carries guardianship and
/// whose second card is cut short says `truncated`.
#[test]
fn f_13_a_printed_card_with_guardianship_is_malformed_when_read() {
    let first = printed_card(&PAPER, &card_body(1, 1, TODAY, 180, &claims(&[(6, &paper_identity()), (7, &[1])])));
    let second = printed_card(&PAPER, &card_body(1, 1, TODAY, 180, &claims(&[(4, &TRANSIT)])));
    let mut bytes = printed_bytes(PAPER, &[first, second]);
    bytes.truncate(bytes.len() - 20);
    assert_eq!(parse_reason(&bytes), "malformed");
}

/// The printed rules themselves hold on complete codes.
#[test]
fn f_13_the_printed_rules_hold_on_complete_codes() {
    let no_identity = decode_text(&printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE)]))).unwrap();
    assert_eq!(parse_reason(&no_identity), "malformed");
    let mut trailing = decode_text(&printed_text(&claims(&[(6, &paper_identity())]))).unwrap();
    trailing.push(0);
    assert_eq!(parse_reason(&trailing), "trailing_bytes");
}

// ---------------------------------------------------------------------------------------
// §6 Text encoding and base64url.

/// M-6-1c: one trailing lone CR is removed like LF and CR LF.
#[test]
fn m_6_1c_a_lone_trailing_cr_is_removed() {
    let text = metro_text(3);
    for suffix in ["\r", "\n", "\r\n"] {
        assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &format!("{text}{suffix}"), NOW), "accept");
    }
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &format!("{text}\r\r"), NOW), "text_encoding");
}

/// M-6-2b: the length is checked before the prefix: 7,090 bytes beginning `HC1:` are
/// `text_too_long`, not `text_prefix`.
#[test]
fn m_6_2b_the_length_is_checked_before_the_prefix() {
    for prefix in ["HC1:", "cc1:", ""] {
        let long = format!("{prefix}{}", "1".repeat(7090 - prefix.len()));
        assert_eq!(long.len(), 7090);
        assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &long, NOW), "text_too_long");
    }
    // The byte count is of UTF-8: 2,363 three-byte characters are 7,089 bytes.
    let wide = "一".repeat(2363);
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &wide, NOW), "text_prefix");
    let wider = format!("{wide}1");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &wider, NOW), "text_too_long");
}

/// M-6-4d: only ASCII 0-9 are digits: a full-width `１`, an Arabic-Indic `١`, a `_` and a
/// `+` (which Rust's and many languages' integer parsers take) in place of a digit are
/// `text_encoding`.
#[test]
fn m_6_4d_only_ascii_digits_are_digits() {
    let text = metro_text(4);
    let digits = &text[4..];
    for replacement in ["１", "١", "_", "+", "-", " "] {
        for at in [0usize, 29, 30] {
            let changed = format!("CC1:{}{replacement}{}", &digits[..at], &digits[at + 1..]);
            assert_eq!(
                verdict(&|| demo_verifier(Scene::MetroGate), &changed, NOW),
                "text_encoding",
                "{replacement:?} at {at}"
            );
        }
    }
    // `_` between two digits, the digit count unchanged (a chunk of 28 digits and a `_`).
    let with_underscore = format!("CC1:{}_{}", &digits[..14], &digits[15..]);
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &with_underscore, NOW), "text_encoding");
}

/// M-6-6a, b, c: base64url decoders refuse padding, characters outside the alphabet
/// (`+`, `/`, whitespace) and non-zero trailing bits (`text_encoding`): the core decoder
/// and the loaders built on it.
#[test]
fn m_6_6_base64url_is_strict() {
    let trust = encode_base64url(&city().trust_list);
    assert_eq!(decode_base64url(&trust).unwrap(), city().trust_list);
    let bits = (city().trust_list.len() * 8) % 6;
    assert_ne!(bits, 0, "the demo trust list leaves trailing bits");
    // The last character's lowest bit is a trailing bit: set it.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = trust.chars().last().unwrap();
    let value = alphabet.find(last).unwrap();
    let flipped = alphabet.chars().nth(value ^ 1).unwrap();
    let trailing = format!("{}{flipped}", &trust[..trust.len() - 1]);
    let padded = format!("{trust}{}", "=".repeat((4 - trust.len() % 4) % 4));
    assert_ne!(padded, trust);
    let plus = trust.replacen(['-', '_'], "+", 1);
    let slash = trust.replacen(['-', '_'], "/", 1);
    assert!(trust.contains(['-', '_']), "the demo trust list's base64url has a - or _");
    for bad in [
        trailing,
        padded,
        plus,
        slash,
        format!(" {trust}"),
        format!("{trust}\n"),
        format!("{}\n{}", &trust[..8], &trust[8..]),
    ] {
        assert_eq!(decode_base64url(&bad), Err(Reason::TextEncoding), "{bad}");
    }
    let cred = city().credential.to_base64url().unwrap();
    assert!(Credential::from_base64url(&cred).is_ok());
    let bad_cred = format!("{cred}=");
    assert!(
        matches!(Credential::from_base64url(&bad_cred), Err(Error::Invalid(r)) if r.reason == Reason::TextEncoding)
    );
    let request = key_request_for(&device(), &[1; 32]).to_base64url();
    assert!(KeyRequest::from_base64url(&request).is_ok());
    assert_eq!(reason(KeyRequest::from_base64url(&format!("{request}="))), "text_encoding");
}

// ---------------------------------------------------------------------------------------
// §8.1-§8.3 Lists: parsing, signatures, rollback, loading order.

fn load_trust(bytes: &[u8]) -> String {
    reason(Verifier::new(root().public_key(), Scene::MetroGate).load_trust_list(bytes))
}

fn load_revocation(bytes: &[u8]) -> String {
    reason(demo_verifier(Scene::MetroGate).load_revocation_list(bytes))
}

fn demo_key(kid: u32, domains: &[u32]) -> Vec<u8> {
    raw_issuer_key(kid, 1, &issuer_key().public_key().to_bytes(), domains)
}

/// M-8.1-1a, M-8.1-1b: key ids and each key's domain ids MUST be strictly increasing
/// (`non_canonical`), in a list the root signed.
#[test]
fn m_8_1_1_unsorted_or_repeated_key_ids_and_domains_are_non_canonical() {
    let signed = |keys: &[Vec<u8>]| sign_list(LABEL_TRUST_LIST, &trust_body(2, keys), 1, &root());
    assert_eq!(load_trust(&signed(&[demo_key(1, &[1]), demo_key(2, &[1])])), "ok");
    assert_eq!(load_trust(&signed(&[demo_key(2, &[1]), demo_key(1, &[1])])), "non_canonical");
    assert_eq!(load_trust(&signed(&[demo_key(1, &[1]), demo_key(1, &[2])])), "non_canonical");
    assert_eq!(load_trust(&signed(&[demo_key(1, &[4, 1])])), "non_canonical");
    assert_eq!(load_trust(&signed(&[demo_key(1, &[4, 4])])), "non_canonical");
}

/// M-8.1-5a: a trust list's `root_alg` MUST be the configured root's algorithm
/// (`bad_trust_list_signature`), though the signature over the list, `root_alg` included,
/// verifies under the root.
#[test]
fn m_8_1_5a_the_trust_lists_root_alg_must_be_the_roots() {
    let body = trust_body(2, &[demo_key(1, &all_domains())]);
    assert_eq!(load_trust(&sign_list(LABEL_TRUST_LIST, &body, 1, &root())), "ok");
    for alg in [2u8, 3] {
        assert_eq!(load_trust(&sign_list(LABEL_TRUST_LIST, &body, alg, &root())), "bad_trust_list_signature");
    }
    // M-8.3-1e: an unknown `root_alg` is refused at parse.
    assert_eq!(load_trust(&sign_list(LABEL_TRUST_LIST, &body, 4, &root())), "unsupported_algorithm");
}

fn card_entry(id: u8) -> Vec<u8> {
    [vec![1u8], vec![id; 16]].concat()
}

fn subject_entry(id: u8) -> Vec<u8> {
    [vec![2u8], vec![id; 8]].concat()
}

/// M-8.2-1a: revocation entries MUST be strictly increasing by (kind, bytes)
/// (`non_canonical`): a subject before a card, two equal entries, bytes out of order.
#[test]
fn m_8_2_1a_unsorted_or_repeated_revocation_entries_are_non_canonical() {
    let signed = |entries: &[Vec<u8>]| sign_list(LABEL_REVOCATION_LIST, &revocation_body(&[0], 2, entries), 1, &root());
    assert_eq!(load_revocation(&signed(&[card_entry(1), subject_entry(1)])), "ok");
    assert_eq!(load_revocation(&signed(&[subject_entry(1), card_entry(1)])), "non_canonical");
    assert_eq!(load_revocation(&signed(&[subject_entry(1), subject_entry(1)])), "non_canonical");
    assert_eq!(load_revocation(&signed(&[subject_entry(2), subject_entry(1)])), "non_canonical");
}

/// M-8.2-1d: a revocation list of exactly 2^20 entries loads, and its last entry revokes.
#[test]
fn m_8_2_1d_a_revocation_list_of_exactly_2_pow_20_entries_loads() {
    let entries: Vec<Revoked> = (0u32..1 << 20)
        .map(|i| {
            let mut s = [0u8; 8];
            s[4..].copy_from_slice(&i.to_be_bytes());
            Revoked::Subject(s)
        })
        .collect();
    let last = match entries.last() {
        Some(Revoked::Subject(s)) => *s,
        _ => unreachable!(),
    };
    let list = root_revocations(2, entries);
    let mut v = demo_verifier(Scene::MetroGate);
    v.load_revocation_list(&list).unwrap();
    assert_eq!(v.revocation_lists().next().unwrap().entries.len(), 1 << 20);
    let text = Raw { subject: last, ..Raw::new(vec![]) };
    let body = card_body(1, 1, TODAY - 5, 10, &transit_claims());
    let c = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &last, &body);
    let text = encode_text(&Raw { cards: vec![c], ..text }.signed_by(&device()));
    assert_eq!(outcome(&v.verify_at(&text, NOW)), "revoked");
    assert_eq!(outcome(&demo_verifier(Scene::MetroGate).verify_at(&text, NOW)), "accept");
}

/// M-8.2-2b: a revocation list's `alg` MUST be its signer's algorithm
/// (`bad_revocation_list_signature`), root- or issuer-signed, though the signature over
/// the list, `alg` included, verifies. M-8.3-1f: an unknown `alg` is refused at parse.
#[test]
fn m_8_2_2b_the_revocation_lists_alg_must_be_its_signers() {
    let root_body = revocation_body(&[0], 2, &[]);
    let issuer_body = revocation_body(&[1, 1], 2, &[]);
    assert_eq!(load_revocation(&sign_list(LABEL_REVOCATION_LIST, &root_body, 1, &root())), "ok");
    assert_eq!(load_revocation(&sign_list(LABEL_REVOCATION_LIST, &issuer_body, 1, &issuer_key())), "ok");
    for alg in [2u8, 3] {
        let by_root = sign_list(LABEL_REVOCATION_LIST, &root_body, alg, &root());
        assert_eq!(load_revocation(&by_root), "bad_revocation_list_signature");
        let by_issuer = sign_list(LABEL_REVOCATION_LIST, &issuer_body, alg, &issuer_key());
        assert_eq!(load_revocation(&by_issuer), "bad_revocation_list_signature");
    }
    assert_eq!(load_revocation(&sign_list(LABEL_REVOCATION_LIST, &root_body, 4, &root())), "unsupported_algorithm");
}

/// M-8.2-2c: an issuer-signed revocation list whose key id is not in the held trust list,
/// or loaded while no trust list is held, is `bad_revocation_list_signature`.
#[test]
fn m_8_2_2c_an_issuer_list_needs_its_key_in_the_held_trust_list() {
    let by_nine = revocation_list(&issuer_key(), ListSigner::Issuer(9), 1, NOW as u32 + 3600, vec![]);
    assert_eq!(load_revocation(&by_nine), "bad_revocation_list_signature");
    let by_one = revocation_list(&issuer_key(), ListSigner::Issuer(1), 1, NOW as u32 + 3600, vec![]);
    assert_eq!(load_revocation(&by_one), "ok");
    let mut bare = Verifier::new(root().public_key(), Scene::MetroGate);
    assert_eq!(reason(bare.load_revocation_list(&by_one)), "bad_revocation_list_signature");
}

/// M-8.3-1c, 1g, 1k, 1l: list parsing: a status of version 2 is `unsupported_version`,
/// an unknown status `root_alg` `unsupported_algorithm`, a byte after a revocation list's
/// or a status's signature `trailing_bytes`.
#[test]
fn m_8_3_1_status_and_revocation_list_parsing() {
    let status = |body: &[u8], alg: u8| sign_list(LABEL_LIST_STATUS, body, alg, &root());
    let entries = [status_entry(1, None, 1, &city().trust_list)];
    let plan = |bytes: Vec<u8>| reason(demo_verifier(Scene::MetroGate).plan_update(bytes));
    assert_eq!(plan(status(&status_body(2, &entries), 1)), "ok");
    let mut v2 = status_body(2, &entries);
    v2[0] = 2;
    assert_eq!(plan(status(&v2, 1)), "unsupported_version");
    assert_eq!(plan(status(&status_body(2, &entries), 4)), "unsupported_algorithm");
    let mut trailing = status(&status_body(2, &entries), 1);
    trailing.push(0);
    assert_eq!(plan(trailing), "trailing_bytes");
    let mut rev = root_revocations(2, vec![]);
    assert_eq!(load_revocation(&rev), "ok");
    rev.push(0);
    assert_eq!(load_revocation(&rev), "trailing_bytes");
}

/// M-8.3-2a: the signature is checked before rollback: a lower-sequence list signed by
/// another key is `bad_trust_list_signature` / `bad_revocation_list_signature`, not a
/// rollback.
#[test]
fn m_8_3_2a_the_signature_is_checked_before_rollback() {
    let stranger = key(ED, 0x77).unwrap();
    let keys = vec![issuer_entry(1, issuer_key().public_key(), all_domains())];
    let mut v =
        verifier_with(Scene::MetroGate, &[&trust_list(&root(), 2, keys.clone())], &[&root_revocations(2, vec![])]);
    assert_eq!(reason(v.load_trust_list(&trust_list(&root(), 1, keys.clone()))), "trust_list_rollback");
    assert_eq!(reason(v.load_trust_list(&trust_list(&stranger, 1, keys))), "bad_trust_list_signature");
    assert_eq!(reason(v.load_revocation_list(&root_revocations(1, vec![]))), "revocation_list_rollback");
    let forged = revocation_list(&stranger, ListSigner::Root, 1, NOW as u32 + 3600, vec![]);
    assert_eq!(reason(v.load_revocation_list(&forged)), "bad_revocation_list_signature");
}

/// M-8.3-3b, M-8.3-3d: a list of the held sequence with other bytes is a rollback; the
/// held bytes again load and change nothing.
#[test]
fn m_8_3_3_an_equal_sequence_with_other_bytes_is_a_rollback() {
    let keys = vec![issuer_entry(1, issuer_key().public_key(), all_domains())];
    let held = trust_list(&root(), 2, keys.clone());
    let other = trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), vec![4])]);
    let held_rev = root_revocations(2, vec![]);
    let other_rev = root_revocations(2, vec![Revoked::Subject(SUBJECT)]);
    let mut v = verifier_with(Scene::MetroGate, &[&held], &[&held_rev]);
    assert_eq!(reason(v.load_trust_list(&other)), "trust_list_rollback");
    assert_eq!(reason(v.load_revocation_list(&other_rev)), "revocation_list_rollback");
    assert_eq!(reason(v.load_trust_list(&held)), "ok");
    assert_eq!(reason(v.load_revocation_list(&held_rev)), "ok");
    assert_eq!(outcome(&v.verify_at(&metro_text(5), NOW)), "accept");
}

/// M-8.3-4a: a load that fails changes nothing: after a refused trust list (forged,
/// rolled back, or refused by GM-only) and a refused revocation list the verifier holds
/// exactly what it held, and its verdicts are unchanged.
#[test]
fn m_8_3_4a_a_failed_load_changes_nothing() {
    let keys = vec![issuer_entry(1, issuer_key().public_key(), all_domains())];
    let revoked = root_revocations(2, vec![Revoked::Subject([9; 8])]);
    let mut v = verifier_with(Scene::MetroGate, &[&trust_list(&root(), 2, keys.clone())], &[&revoked]);
    let before = (v.trust_list().cloned(), v.revocation_lists().cloned().collect::<Vec<_>>());
    // A sequence-3 list without key 1, with its signature broken.
    let mut forged = trust_list(&root(), 3, vec![issuer_entry(2, issuer_key().public_key(), all_domains())]);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(reason(v.load_trust_list(&forged)), "bad_trust_list_signature");
    assert_eq!(reason(v.load_trust_list(&trust_list(&root(), 1, vec![]))), "trust_list_rollback");
    let mut forged_rev = root_revocations(3, vec![]);
    let last = forged_rev.len() - 1;
    forged_rev[last] ^= 1;
    assert_eq!(reason(v.load_revocation_list(&forged_rev)), "bad_revocation_list_signature");
    assert_eq!(reason(v.load_revocation_list(&root_revocations(1, vec![]))), "revocation_list_rollback");
    assert_eq!(before, (v.trust_list().cloned(), v.revocation_lists().cloned().collect::<Vec<_>>()));
    assert_eq!(outcome(&v.verify_at(&metro_text(6), NOW)), "accept");
    let revoked_code = {
        let body = card_body(1, 1, TODAY - 5, 10, &transit_claims());
        let c = bound_card(&issuer_key(), LABEL_CARD, 1, &device().public_key().to_bytes(), &[9; 8], &body);
        Raw { subject: [9; 8], ..Raw::new(vec![c]) }.text()
    };
    assert_eq!(outcome(&v.verify_at(&revoked_code, NOW)), "revoked");
}

/// M-8.3-5a: a trust list loaded after revocation lists re-checks every held issuer-signed
/// list and drops one whose key it no longer holds, holds with other bytes, or no longer
/// covers at its `issued_at`; root-signed lists stay.
#[test]
fn m_8_3_5a_a_trust_list_loaded_later_drops_issuer_lists_it_no_longer_verifies() {
    let first = trust_list(&root(), 1, vec![issuer_entry(1, issuer_key().public_key(), all_domains())]);
    let issuer_list =
        revocation_list(&issuer_key(), ListSigner::Issuer(1), 1, NOW as u32 + 3600, vec![Revoked::Subject([9; 8])]);
    let root_list = root_revocations(1, vec![]);
    let other_key = key(ED, 0x45).unwrap().public_key();
    let retired =
        IssuerKey { not_after: NOW as u32 - 3600, ..issuer_entry(1, issuer_key().public_key(), all_domains()) };
    let kid2 = issuer_entry(2, other_key.clone(), all_domains());
    let dropping = [
        vec![kid2.clone()],
        vec![issuer_entry(1, other_key.clone(), all_domains()), kid2.clone()],
        vec![retired, kid2.clone()],
    ];
    let signers = |v: &Verifier| v.revocation_lists().map(|l| l.signer).collect::<Vec<_>>();
    for (i, keys) in dropping.into_iter().enumerate() {
        let mut v = verifier_with(Scene::MetroGate, &[&first], &[&root_list, &issuer_list]);
        assert_eq!(outcome(&v.verify_at(&metro_text(7), NOW)), "accept");
        assert_eq!(outcome(&v.verify_at(&code_of(1, &transit_claims(), [9; 8], NOW as u32).text(), NOW)), "revoked");
        v.load_trust_list(&trust_list(&root(), 2, keys)).unwrap();
        assert_eq!(signers(&v), vec![ListSigner::Root], "case {i}");
    }
    // A trust list that still verifies it keeps it.
    let mut v = verifier_with(Scene::MetroGate, &[&first], &[&root_list, &issuer_list]);
    v.load_trust_list(&trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), vec![4]), kid2]))
        .unwrap();
    assert_eq!(signers(&v), vec![ListSigner::Root, ListSigner::Issuer(1)]);
    assert_eq!(outcome(&v.verify_at(&code_of(1, &transit_claims(), [9; 8], NOW as u32).text(), NOW)), "revoked");
}

// ---------------------------------------------------------------------------------------
// §8.4 Distribution.

fn plan_reason(entries: &[Vec<u8>]) -> String {
    let status = sign_list(LABEL_LIST_STATUS, &status_body(2, entries), 1, &root());
    reason(demo_verifier(Scene::MetroGate).plan_update(status))
}

fn trust_entry() -> Vec<u8> {
    status_entry(1, None, 1, &city().trust_list)
}

/// M-8.4-1a: the first status entry MUST be the trust list (`malformed`).
#[test]
fn m_8_4_1a_the_first_status_entry_must_be_the_trust_list() {
    assert_eq!(plan_reason(&[trust_entry()]), "ok");
    assert_eq!(plan_reason(&[status_entry(2, None, 1, &city().revocation_list)]), "malformed");
    assert_eq!(plan_reason(&[status_entry(3, Some(1), 1, &city().revocation_list)]), "malformed");
}

/// M-8.4-1a with §8.3's parse order: "left to right, the first failing field giving the
/// reason". A status whose first entry is a revocation list fails at that entry
/// (`malformed`) whatever follows; citycode checks the first entry after reading them
/// all, so a trust-list entry after it says `non_canonical` (out of order) and a cut
/// after it `truncated`.
#[test]
fn m_8_4_1a_the_first_status_entry_is_checked_when_read() {
    let rev = status_entry(2, None, 1, &city().revocation_list);
    assert_eq!(plan_reason(&[rev.clone(), trust_entry()]), "malformed");
    let mut cut = status_body(2, &[rev, trust_entry()]);
    cut.truncate(cut.len() - 10);
    assert_eq!(reason(demo_verifier(Scene::MetroGate).plan_update(cut)), "malformed");
}

/// M-8.4-1b..1g: status entries strictly increasing by (kind, kid) (`non_canonical`),
/// between 1 and 1,025 of them (`malformed`, checked when the count is read), kinds 1 to
/// 3 (`malformed`); 1,025 entries parse.
#[test]
fn m_8_4_1_status_entries() {
    let rev = |kind: u8, kid: Option<u32>| status_entry(kind, kid, 1, &city().revocation_list);
    assert_eq!(plan_reason(&[trust_entry(), rev(2, None), rev(3, Some(1)), rev(3, Some(2))]), "ok");
    assert_eq!(plan_reason(&[trust_entry(), rev(3, Some(2)), rev(3, Some(1))]), "non_canonical");
    assert_eq!(plan_reason(&[trust_entry(), rev(2, None), rev(2, None)]), "non_canonical");
    assert_eq!(plan_reason(&[trust_entry(), trust_entry()]), "non_canonical");
    assert_eq!(plan_reason(&[trust_entry(), rev(4, None)]), "malformed");
    assert_eq!(plan_reason(&[]), "malformed");
    // A count of 1,026 and nothing after it: refused at the count, before any entry.
    let mut over = status_body(2, &[]);
    let at = over.len() - 1;
    over.truncate(at);
    over.extend(varint(1026));
    assert_eq!(reason(demo_verifier(Scene::MetroGate).plan_update(over)), "malformed");
    // 1,025 entries: the trust list, the root's list and 1,023 issuers' lists.
    let mut many = vec![trust_entry(), rev(2, None)];
    many.extend((1..=1023).map(|kid| rev(3, Some(kid))));
    let status = sign_list(LABEL_LIST_STATUS, &status_body(2, &many), 1, &root());
    let plan = Verifier::new(root().public_key(), Scene::MetroGate).plan_update(status).unwrap();
    assert_eq!(plan.to_fetch().len(), 1025);
}

/// M-8.4-1g: a publication of the trust list alone applies (a verifier allowed to run
/// without revocation lists then accepts, saying revocation was not checked).
#[test]
fn m_8_4_1g_a_publication_of_the_trust_list_alone_applies() {
    let mut m = Mirror::default();
    let status = sign_list(LABEL_LIST_STATUS, &status_body(1, &[trust_entry()]), 1, &root());
    m.0.insert(STATUS_FILE.into(), status);
    m.0.insert(ListFile::Trust.file_name(), city().trust_list.clone());
    let mut v = Verifier::new(root().public_key(), Scene::MetroGate).with_skew(30).allow_missing_revocation_list();
    assert_eq!(v.update_from(&mut m).unwrap().loaded, vec!["trust-list.bin"]);
    assert!(!v.verify_at(&metro_text(9), NOW).unwrap().revocation_checked);
    let mut strict = Verifier::new(root().public_key(), Scene::MetroGate);
    strict.update_from(&mut m).unwrap();
    assert_eq!(outcome(&strict.verify_at(&metro_text(9), NOW)), "no_revocation_list");
}

/// M-8.4-2a, 3a, 3b, 4a, 4b, 6a, 7a: a mixed publication is `list_digest_mismatch`; a
/// status with a broken signature or another `root_alg` `bad_list_status_signature`; an
/// older status, or another of the same sequence, `list_status_rollback`; a status counts
/// as applied only once every list loaded; a file that cannot be fetched is
/// `list_unavailable`.
#[test]
fn m_8_4_publications() {
    let c = city();
    let rev1 = root_revocations(1, vec![]);
    let rev2 = root_revocations(2, vec![Revoked::DeviceKey(device().public_key().key_id())]);
    let first = publish(1, &c.trust_list, &[&rev1]);
    let second = publish(2, &c.trust_list, &[&rev2]);
    let revocation_file = ListFile::Revocation(ListSigner::Root).file_name();

    let mut v = Verifier::new(root().public_key(), Scene::MetroGate).with_skew(30);
    v.update_from(&mut first.clone()).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(10), NOW)), "accept");

    // 2a, 6a: status 2 beside publication 1's revocation list.
    let mut mixed = second.clone();
    mixed.0.insert(revocation_file.clone(), rev1.clone());
    assert_eq!(reason(v.update_from(&mut mixed)), "list_digest_mismatch");
    assert_eq!(v.list_status().unwrap().0, 1, "not applied");
    assert_eq!(outcome(&v.verify_at(&metro_text(11), NOW)), "accept");
    // 7a: a withheld file.
    let mut withheld = second.clone();
    withheld.0.remove(&revocation_file);
    assert_eq!(reason(v.update_from(&mut withheld)), "list_unavailable");
    let mut no_status = second.clone();
    no_status.0.remove(STATUS_FILE);
    assert_eq!(reason(v.update_from(&mut no_status)), "list_unavailable");
    assert_eq!(v.list_status().unwrap().0, 1);
    // 3a: a broken status signature; 3b: a status whose root_alg is not the root's.
    let mut broken = second.clone();
    let status = broken.0.get_mut(STATUS_FILE).unwrap();
    let last = status.len() - 1;
    status[last] ^= 1;
    assert_eq!(reason(v.update_from(&mut broken)), "bad_list_status_signature");
    let entries = [status_entry(1, None, 1, &c.trust_list), status_entry(2, None, 2, &rev2)];
    let mut other_alg = second.clone();
    other_alg.0.insert(STATUS_FILE.into(), sign_list(LABEL_LIST_STATUS, &status_body(2, &entries), 2, &root()));
    assert_eq!(reason(v.update_from(&mut other_alg)), "bad_list_status_signature");
    // The whole publication 2 applies after all that.
    v.update_from(&mut second.clone()).unwrap();
    assert_eq!(v.list_status().unwrap().0, 2);
    assert_eq!(outcome(&v.verify_at(&metro_text(12), NOW)), "revoked");
    // 4a: publication 1 again (a stale mirror); 4b: another status of sequence 2.
    assert_eq!(reason(v.update_from(&mut first.clone())), "list_status_rollback");
    let mut same_sequence = second.clone();
    same_sequence.0.insert(STATUS_FILE.into(), sign_list(LABEL_LIST_STATUS, &status_body(2, &entries), 1, &root()));
    assert_eq!(reason(v.update_from(&mut same_sequence)), "list_status_rollback");
    assert_eq!(reason(v.update_from(&mut second.clone())), "ok");
    assert_eq!(outcome(&v.verify_at(&metro_text(13), NOW)), "revoked");
}

/// Probe: two plans made from the same held state and applied out of order. §8.4: a
/// status "whose sequence is lower than the last one it applied" is refused
/// (`list_status_rollback`). `plan_update` checks that when it plans, but `apply_update`
/// does not check it again, so a service whose polls overlap (a timer and a SIGHUP) can
/// apply status 3, then the older plan of status 2: the held status goes back to 2, and
/// a mirror stuck on status 2 is no longer reported as stale.
#[test]
fn probe_a_stale_plan_does_not_roll_the_list_status_back() {
    let c = city();
    let rev = root_revocations(1, vec![]);
    let mut v = Verifier::new(root().public_key(), Scene::MetroGate);
    v.update_from(&mut publish(1, &c.trust_list, &[&rev])).unwrap();
    // Publications 2 and 3 republish the same lists (a new status each poll interval).
    let two = publish(2, &c.trust_list, &[&rev]).0[STATUS_FILE].clone();
    let three = publish(3, &c.trust_list, &[&rev]).0[STATUS_FILE].clone();
    let plan_two = v.plan_update(two).unwrap();
    let plan_three = v.plan_update(three).unwrap();
    assert!(plan_two.to_fetch().is_empty() && plan_three.to_fetch().is_empty());
    v.apply_update(plan_three, vec![]).unwrap();
    assert_eq!(v.list_status().unwrap().0, 3);
    assert_eq!(reason(v.apply_update(plan_two, vec![])), "list_status_rollback");
    assert_eq!(v.list_status().unwrap().0, 3);
}

/// FINDINGS F-17 (SPEC.md silent; pinned): what a status says beyond digests. (b) Its own
/// expiry is not enforced: a status past `expires_at` applies. (c) An entry's
/// `list_sequence` is not compared with the fetched list's own: an entry that says 9 for
/// a list of sequence 2 loads it (the digest binds the file). (d) A held issuer list the
/// status no longer names is kept.
#[test]
fn f_17_what_a_status_says_beyond_digests() {
    let c = city();
    let rev2 = root_revocations(2, vec![]);
    let issuer_list = revocation_list(&issuer_key(), ListSigner::Issuer(1), 1, NOW as u32 + 3600, vec![]);
    let mut v = verifier_with(Scene::MetroGate, &[&c.trust_list], &[&issuer_list]);
    let mut expired_status = status_body(5, &[trust_entry(), status_entry(2, None, 9, &rev2)]);
    // issued_at and expires_at of the status: both in the past.
    expired_status[9..13].copy_from_slice(&(NOW as u32 - 7200).to_be_bytes());
    expired_status[13..17].copy_from_slice(&(NOW as u32 - 3600).to_be_bytes());
    let mut m = Mirror::default();
    m.0.insert(STATUS_FILE.into(), sign_list(LABEL_LIST_STATUS, &expired_status, 1, &root()));
    m.0.insert(ListFile::Trust.file_name(), c.trust_list.clone());
    m.0.insert(ListFile::Revocation(ListSigner::Root).file_name(), rev2);
    let report = v.update_from(&mut m).unwrap();
    assert_eq!(report.loaded, vec!["revocation-root.bin"]);
    assert_eq!(v.list_status(), Some((5, NOW as u32 - 3600)));
    let signers: Vec<ListSigner> = v.revocation_lists().map(|l| l.signer).collect();
    assert_eq!(signers, vec![ListSigner::Issuer(1), ListSigner::Root]);
    assert_eq!(v.revocation_lists().find(|l| l.signer == ListSigner::Root).unwrap().sequence, 2);
}

// ---------------------------------------------------------------------------------------
// §9 Verification order, §11 policies, §14 configuration defaults.

/// A demo code carrying one card of `kid` with `claims`, bound to `subject`.
fn code_of(kid: u32, claims: &[u8], subject: [u8; 8], issued_at: u32) -> Raw {
    let body = card_body(kid, 1, TODAY - 5, 10, claims);
    let label = if guardian_in(claims) { LABEL_GUARDIAN_CARD } else { LABEL_CARD };
    let c = bound_card(&issuer_key(), label, 1, &device().public_key().to_bytes(), &subject, &body);
    Raw { subject, issued_at, ..Raw::new(vec![c]) }
}

/// M-9-1a..1g: the steps run in SPEC order and the first failure is reported, for inputs
/// that fail two steps at once.
#[test]
fn m_9_1_the_first_failing_step_is_reported() {
    // 1a: parse (1) before the lists (2).
    let mut cut = Raw::new(vec![card(&transit_claims())]).signed_by(&device());
    cut.truncate(cut.len() - 1);
    let bare = || Verifier::new(root().public_key(), Scene::MetroGate);
    assert_eq!(verdict(&bare, &encode_text(&cut), NOW), "truncated");
    // 1b: the lists (2) before the code window (3): an expired trust list and code.
    let late = NOW + 31 * DAY;
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &metro_text(20), late), "trust_list_expired");
    // 1c: the code window (3) before the cards (4): an expired code with an unknown key id.
    let unknown = code_of(5, &transit_claims(), SUBJECT, NOW as u32).text();
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &unknown, NOW + 200), "code_expired");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &unknown, NOW), "unknown_issuer_key");
    // 1d: the cards (4) before revocation (5): a revoked subject's out-of-scope card.
    let narrow = trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), vec![1, 2])]);
    let revoked_subject = root_revocations(2, vec![Revoked::Subject(SUBJECT)]);
    let make = || verifier_with(Scene::MetroGate, &[&narrow], &[&revoked_subject]);
    assert_eq!(verdict(&make, &metro_text(21), NOW), "out_of_scope");
    // 1e: revocation (5) before signatures (6): a revoked device key and a bad device signature.
    let revoked_device = root_revocations(2, vec![Revoked::DeviceKey(device().public_key().key_id())]);
    let mut bad_sig = decode_text(&metro_text(22)).unwrap();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    let bad_sig = encode_text(&bad_sig);
    let make = || verifier_with(Scene::MetroGate, &[&city().trust_list], &[&revoked_device]);
    assert_eq!(verdict(&make, &bad_sig, NOW), "revoked");
    // 1f: signatures (6) before the policy (7): a transit code with a bad device signature
    // at a hospital.
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &bad_sig, NOW), "bad_device_signature");
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &metro_text(22), NOW), "policy_unmet");
}

/// M-9-1g: the policy (7) before replay (8): a hospital code accepted at the last local
/// second of its health status's day and shown again 20 s later, within its window but
/// after local midnight, is `policy_unmet`, not `replayed`; one by one and in batches.
#[test]
fn m_9_1g_the_policy_is_checked_before_replay() {
    let midnight = (u64::from(TODAY) + 1) * DAY - 480 * 60;
    let last_second = midnight - 1;
    let c = claims(&[(1, &health_body(1, TODAY)), (2, &INSURANCE)]);
    let text = code_of(1, &c, SUBJECT, last_second as u32 - 5).text();
    let v = demo_verifier(Scene::Hospital);
    assert_eq!(outcome(&v.verify_at(&text, last_second)), "accept");
    assert_eq!(outcome(&v.verify_at(&text, last_second)), "replayed");
    assert_eq!(outcome(&v.verify_at(&text, last_second + 20)), "policy_unmet");
    let b = demo_verifier(Scene::Hospital);
    assert_eq!(outcome(&b.verify_batch_at(&[&text], last_second)[0]), "accept");
    assert_eq!(outcome(&b.verify_batch_at(&[&text], last_second + 20)[0]), "policy_unmet");
}

/// M-9-2e, M-9-2h: every held revocation list's expiry counts (an expired issuer list
/// beside a current root list), and the trust list's expiry is checked first.
#[test]
fn m_9_2_every_revocation_list_expires_and_the_trust_list_first() {
    let issuer_list = revocation_list(&issuer_key(), ListSigner::Issuer(1), 1, NOW as u32 - 1, vec![]);
    let make = || verifier_with(Scene::MetroGate, &[&city().trust_list], &[&root_revocations(2, vec![]), &issuer_list]);
    assert_eq!(verdict(&make, &metro_text(23), NOW), "revocation_list_expired");
    let short_trust = TrustList {
        sequence: 2,
        issued_at: NOW as u32 - 3600,
        expires_at: NOW as u32 + 10,
        keys: vec![issuer_entry(1, issuer_key().public_key(), all_domains())],
    }
    .sign(&root())
    .unwrap();
    let short_rev = revocation_list(&root(), ListSigner::Root, 2, NOW as u32 + 5, vec![]);
    let make = || verifier_with(Scene::MetroGate, &[&short_trust], &[&short_rev]);
    let text = code_of(1, &transit_claims(), SUBJECT, NOW as u32 + 15).text();
    assert_eq!(verdict(&make, &text, NOW + 20), "trust_list_expired");
    assert_eq!(verdict(&make, &text, NOW + 7), "revocation_list_expired");
}

/// M-9-3d: the validity bound is checked before expiry: a code asking 200 s (over the
/// 120 s allowed) shown after `issued_at + 200 + skew` is `code_validity_too_long`.
#[test]
fn m_9_3d_the_validity_bound_comes_before_expiry() {
    let text = Raw { validity: 200, ..Raw::new(vec![card(&transit_claims())]) }.text();
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW + 260), "code_validity_too_long");
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &text, NOW), "code_validity_too_long");
}

/// M-9-4h, M-9-4i: scope covers every domain a card carries: an unknown domain (9) and
/// guardianship (7) outside the key's domains are `out_of_scope`.
#[test]
fn m_9_4hi_scope_covers_unknown_domains_and_guardianship() {
    let with = |domains: Vec<u32>| {
        let t = trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), domains)]);
        move || verifier_with(Scene::MetroGate, &[&t], &[&root_revocations(1, vec![])])
    };
    let future = Raw::new(vec![card(&claims(&[(4, &TRANSIT), (9, &[0xab, 0xcd])]))]).text();
    assert_eq!(verdict(&with(vec![1, 2, 3, 4, 5, 6, 7]), &future, NOW), "out_of_scope");
    let a = verdict_full(&with(vec![1, 2, 3, 4, 5, 6, 7, 9]), &future, NOW).unwrap();
    assert_eq!(a.claims.other.len(), 1);
    let guardian = Raw::new(vec![card(&claims(&[(4, &TRANSIT), (7, &[1])]))]).text();
    assert_eq!(verdict(&with(vec![1, 2, 3, 4, 5, 6]), &guardian, NOW), "out_of_scope");
    assert_eq!(verdict(&with(vec![4, 7]), &guardian, NOW), "accept");
}

/// M-9-4j, M-9-4k: step 4 runs card by card, each card through every check in order: a
/// first card out of scope before a second card's unknown key id; a retired key before
/// the card's own expiry.
#[test]
fn m_9_4jk_step_4_runs_card_by_card_in_order() {
    let narrow = trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), vec![1, 2])]);
    let make = || verifier_with(Scene::MetroGate, &[&narrow], &[&root_revocations(1, vec![])]);
    let unknown_kid = bound_card(
        &issuer_key(),
        LABEL_CARD,
        1,
        &device().public_key().to_bytes(),
        &SUBJECT,
        &card_body(5, 1, TODAY - 5, 10, &claims(&[(3, &[1])])),
    );
    let text = Raw::new(vec![card(&transit_claims()), unknown_kid]).text();
    assert_eq!(verdict(&make, &text, NOW), "out_of_scope");

    let retired =
        IssuerKey { not_after: NOW as u32 - 100, ..issuer_entry(1, issuer_key().public_key(), all_domains()) };
    let t = trust_list(&root(), 2, vec![retired]);
    let make = || verifier_with(Scene::MetroGate, &[&t], &[&root_revocations(1, vec![])]);
    let old = bound_card(
        &issuer_key(),
        LABEL_CARD,
        1,
        &device().public_key().to_bytes(),
        &SUBJECT,
        &card_body(1, 1, TODAY - 20, 10, &transit_claims()),
    );
    assert_eq!(verdict(&make, &Raw::new(vec![old]).text(), NOW), "issuer_key_not_valid");
}

/// M-9-8b: an accepted code is remembered until `issued_at + validity + skew`: shown
/// again at `issued_at + validity + 10` (skew 30) it is `replayed`, one by one and in a
/// batch (where a repeat inside the batch is `replayed` too).
#[test]
fn m_9_8b_a_code_is_remembered_through_its_skew() {
    let text = metro_text(24);
    let v = demo_verifier(Scene::MetroGate);
    assert_eq!(outcome(&v.verify_at(&text, NOW)), "accept");
    assert_eq!(outcome(&v.verify_at(&text, NOW + 70)), "replayed");
    assert_eq!(outcome(&v.verify_at(&text, NOW + 89)), "replayed");
    assert_eq!(outcome(&v.verify_at(&text, NOW + 90)), "code_expired");
    let b = demo_verifier(Scene::MetroGate);
    let both: Vec<String> = b.verify_batch_at(&[&text, &text], NOW).iter().map(outcome).collect();
    assert_eq!(both, vec!["accept", "replayed"]);
    assert_eq!(outcome(&b.verify_batch_at(&[&text], NOW + 70)[0]), "replayed");
}

/// M-9-8d: the verdict returns the issuer key ids of the cards, in card order.
#[test]
fn m_9_8d_the_verdict_names_the_issuer_key_ids() {
    let second = key(ED, 0x46).unwrap();
    let t = trust_list(
        &root(),
        2,
        vec![issuer_entry(1, issuer_key().public_key(), vec![1, 2]), issuer_entry(3, second.public_key(), vec![4])],
    );
    let transit = bound_card(
        &second,
        LABEL_CARD,
        1,
        &device().public_key().to_bytes(),
        &SUBJECT,
        &card_body(3, 1, TODAY - 5, 10, &transit_claims()),
    );
    let text = Raw::new(vec![card(&hospital_claims()), transit]).text();
    let a =
        verdict_full(&|| verifier_with(Scene::Hospital, &[&t], &[&root_revocations(1, vec![])]), &text, NOW).unwrap();
    assert_eq!(a.issuers, vec![1, 3]);
}

/// M-11-2d: a scenic spot compares with today at the *scene's* offset: a reservation for
/// the UTC day, at a gate configured for UTC, at 20:00 UTC (the next day at the
/// verifier's +8) is accepted.
#[test]
fn m_11_2d_a_scenic_spot_uses_the_scenes_offset() {
    let at = u64::from(TODAY) * DAY + 20 * 3600;
    let mut tourism = vec![1u8, 2];
    tourism.extend(varint(demo::SITE));
    tourism.extend(TODAY.to_be_bytes());
    let text = code_of(1, &claims(&[(5, &tourism)]), SUBJECT, at as u32).text();
    let scene = |offset| Scene::ScenicSpot { site: demo::SITE, utc_offset_minutes: offset };
    assert_eq!(verdict(&|| demo_verifier(scene(0)).with_utc_offset_minutes(480), &text, at), "accept");
    assert_eq!(verdict(&|| demo_verifier(scene(480)).with_utc_offset_minutes(0), &text, at), "policy_unmet");
}

/// M-11-3a: parking needs an active account: arrears are `policy_unmet`. M-11-6b (no
/// vector can tell, N/A): a withheld vehicle payment is refused as "not disclosed", not
/// read as "off".
#[test]
fn m_11_3a_parking_refuses_an_account_in_arrears() {
    assert_eq!(one_card_verdict(Scene::Parking, &claims(&[(4, &[2, 0, 1])])), "policy_unmet");
    assert_eq!(one_card_verdict(Scene::Parking, &claims(&[(4, &[1, 0, 1])])), "accept");
    let withheld =
        demo_verifier(Scene::Parking).verify_at(&Raw::new(vec![card(&claims(&[(4, &[1, 0, 2])]))]).text(), NOW);
    let off = demo_verifier(Scene::Parking).verify_at(&Raw::new(vec![card(&claims(&[(4, &[1, 0, 0])]))]).text(), NOW);
    assert_eq!((outcome(&withheld), outcome(&off)), ("policy_unmet".into(), "policy_unmet".into()));
    assert_ne!(withheld.unwrap_err().detail, off.unwrap_err().detail);
}

/// M-14-1b, c, d: a configuration that leaves them out gets skew 30 s, a maximum code
/// validity of 120 s and a local offset of +480 minutes.
#[test]
fn m_14_1_configuration_defaults() {
    let json = format!(
        r#"{{"root_alg":"ed25519","root_key":"{}","scene":{{"kind":"metro_gate"}}}}"#,
        citycode::text::hex(&root().public_key().to_bytes())
    );
    let config: VerifierConfig = serde_json::from_str(&json).unwrap();
    let make = |scene: Scene| {
        let config = VerifierConfig { scene, ..config.clone() };
        move || {
            let mut v = config.build().unwrap();
            v.load_trust_list(&city().trust_list).unwrap();
            v.load_revocation_list(&city().revocation_list).unwrap();
            v
        }
    };
    let text = metro_text(25);
    assert_eq!(verdict(&make(Scene::MetroGate), &text, NOW + 60 + 29), "accept");
    assert_eq!(verdict(&make(Scene::MetroGate), &text, NOW + 60 + 30), "code_expired");
    assert_eq!(verdict(&make(Scene::MetroGate), &text, NOW - 30), "accept");
    assert_eq!(verdict(&make(Scene::MetroGate), &text, NOW - 31), "code_not_yet_valid");
    let asks = |secs| Raw { validity: secs, ..Raw::new(vec![card(&transit_claims())]) }.text();
    assert_eq!(verdict(&make(Scene::MetroGate), &asks(120), NOW), "accept");
    assert_eq!(verdict(&make(Scene::MetroGate), &asks(121), NOW), "code_validity_too_long");
    // Health valid through today (local): refused from local midnight at +8, 16:00 UTC.
    let midnight = (u64::from(TODAY) + 1) * DAY - 480 * 60;
    let c = claims(&[(1, &health_body(1, TODAY)), (2, &INSURANCE)]);
    let at = |t: u64| code_of(1, &c, SUBJECT, t as u32).text();
    assert_eq!(verdict(&make(Scene::Hospital), &at(midnight - 1), midnight - 1), "accept");
    assert_eq!(verdict(&make(Scene::Hospital), &at(midnight), midnight), "policy_unmet");
}

/// FINDINGS F-23: a verifier allowed to run without revocation lists that holds one says
/// revocation was checked; holding none it says it was not.
#[test]
fn f_23_revocation_checked_follows_the_lists_held() {
    let with_list = || demo_verifier(Scene::MetroGate).allow_missing_revocation_list();
    assert!(verdict_full(&with_list, &metro_text(26), NOW).unwrap().revocation_checked);
    let without = || verifier_with(Scene::MetroGate, &[&city().trust_list], &[]).allow_missing_revocation_list();
    assert!(!verdict_full(&without, &metro_text(26), NOW).unwrap().revocation_checked);
}

// ---------------------------------------------------------------------------------------
// Probes beyond MUSTS.md: what an outside implementer cannot see.

/// The same code with its device signature made again after `edit` changed its bytes
/// (the demo Ed25519 device).
fn resigned(text: &str, signer: &KeyPair, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let bytes = decode_text(text).unwrap();
    let mut unsigned = bytes[..bytes.len() - 64].to_vec();
    edit(&mut unsigned);
    let mut tbs = LABEL_CODE.to_vec();
    tbs.extend_from_slice(&unsigned);
    unsigned.extend(signer.sign(&tbs));
    encode_text(&unsigned)
}

/// Probe, the credential cache: a verified (cached) issuer signature is never reused
/// for another message: the same card signature under another device key, another
/// subject or other claims is `bad_issuer_signature` on the verifier that cached it, one
/// by one and in a batch beside the genuine code.
#[test]
fn probe_a_cached_issuer_signature_vouches_for_its_own_message_only() {
    let v = demo_verifier(Scene::MetroGate);
    let genuine = metro_text(30);
    assert_eq!(outcome(&v.verify_at(&genuine, NOW)), "accept");
    let card = card(&transit_claims());
    // The card moved to another phone (signed by it) and to another subject.
    let thief = key(ED, 0x50).unwrap();
    let other_device = encode_text(
        &Raw { device_key: thief.public_key().to_bytes(), ..Raw::new(vec![card.clone()]) }.signed_by(&thief),
    );
    let other_subject = Raw { subject: [0x51; 8], ..Raw::new(vec![card.clone()]) }.nonce(31).text();
    // Other claims, same signature: the account byte changed.
    let mut changed = card.clone();
    changed[8] = 2;
    let other_claims = Raw::new(vec![changed]).nonce(32).text();
    for forged in [&other_device, &other_subject, &other_claims] {
        assert_eq!(outcome(&v.verify_at(forged, NOW)), "bad_issuer_signature");
    }
    let batch: Vec<String> = demo_verifier(Scene::MetroGate)
        .verify_batch_at(&[&metro_text(33), &other_device, &other_subject, &other_claims, &metro_text(34)], NOW)
        .iter()
        .map(outcome)
        .collect();
    assert_eq!(batch, ["accept", "bad_issuer_signature", "bad_issuer_signature", "bad_issuer_signature", "accept"]);
}

/// Probe, the credential cache and the trust list: after a new trust list maps the key
/// id to another key, a cached card is `bad_issuer_signature`; after one that narrows the
/// key's scope or retires it, the card is refused before any signature (`out_of_scope`,
/// `issuer_key_not_valid`); the cache never answers for a rule of step 4.
#[test]
fn probe_the_credential_cache_follows_the_trust_list() {
    let mut v = demo_verifier(Scene::MetroGate);
    assert_eq!(outcome(&v.verify_at(&metro_text(35), NOW)), "accept");
    let other = key(ED, 0x52).unwrap().public_key();
    v.load_trust_list(&trust_list(&root(), 2, vec![issuer_entry(1, other, all_domains())])).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(36), NOW)), "bad_issuer_signature");

    let mut v = demo_verifier(Scene::MetroGate);
    assert_eq!(outcome(&v.verify_at(&metro_text(37), NOW)), "accept");
    v.load_trust_list(&trust_list(&root(), 2, vec![issuer_entry(1, issuer_key().public_key(), vec![1, 2])])).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(38), NOW)), "out_of_scope");
    let retired = IssuerKey { not_after: NOW as u32 - 1, ..issuer_entry(1, issuer_key().public_key(), all_domains()) };
    v.load_trust_list(&trust_list(&root(), 3, vec![retired])).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(39), NOW)), "issuer_key_not_valid");
}

/// A P-256 city's metro code (nonce `n`) whose card's issuer signature has the last byte
/// of `s` changed (still in range, no longer valid), the device signature made again.
fn p256_forged_card_code(c: &DemoCity, n: u8) -> String {
    let options = PresentOptions { validity_secs: 60, nonce: Some([n; 4]) };
    let genuine = present(&c.credential, &c.device, &[4], NOW, options).unwrap().to_text();
    resigned(&genuine, &c.device, |b| {
        let at = b.len() - 1;
        b[at] ^= 1;
    })
}

/// Probe, the host-checked P-256 path and the cache: a host "confirms" a P-256 issuer
/// signature that does not verify (a host bug, or a hostile host script). The contract of
/// `verify_code_host_checked` is that an entry counts for that call, for the exact key,
/// message and signature it names. But the confirmation enters the credential cache, so
/// every later `verify_code` / `verify_at` / `verify_batch_at` of a code carrying that
/// card (a new code, checked by the library alone) accepts it without any check.
#[cfg(feature = "cache")]
#[test]
fn probe_a_host_confirmation_does_not_outlive_its_call() {
    let c = p256_city();
    let mut v = Verifier::new(c.root.public_key(), Scene::MetroGate);
    v.load_trust_list(&c.trust_list).unwrap();
    v.load_revocation_list(&c.revocation_list).unwrap();
    let code = |n: u8| p256_forged_card_code(c, n);
    let first = UnverifiedCode::from_text(&code(1)).unwrap();
    assert_eq!(outcome(&v.verify_code(first.clone(), NOW)), "bad_issuer_signature");
    let lie = v.p256_checks(&first);
    assert_eq!(lie.len(), 2);
    assert_eq!(outcome(&v.verify_code_host_checked(first.clone(), NOW, &lie)), "accept");
    // A new code with the same forged card, verified by the library alone.
    assert_eq!(outcome(&v.verify_at(&code(2), NOW)), "bad_issuer_signature");
    assert_eq!(outcome(&v.verify_batch_at(&[&code(3)], NOW)[0]), "bad_issuer_signature");
}

/// Probe, the host-checked P-256 path without a cache: a host's confirmations count only
/// for the call they are given to.
#[test]
fn probe_a_host_confirmation_without_the_cache_counts_for_its_call_only() {
    let c = p256_city();
    let mut v = Verifier::new(c.root.public_key(), Scene::MetroGate).with_credential_cache(0);
    v.load_trust_list(&c.trust_list).unwrap();
    v.load_revocation_list(&c.revocation_list).unwrap();
    let code = UnverifiedCode::from_text(&p256_forged_card_code(c, 7)).unwrap();
    let lie = v.p256_checks(&code);
    assert_eq!(outcome(&v.verify_code_host_checked(code.clone(), NOW, &lie)), "accept");
    assert_eq!(outcome(&v.verify_at(&p256_forged_card_code(c, 8), NOW)), "bad_issuer_signature");
    assert_eq!(outcome(&v.verify_code_host_checked(code, NOW, &[])), "bad_issuer_signature");
}

// AUDIT-1 (a parsed code's public fields edited between parse and verify) can no longer
// be written: `UnverifiedCode` and `PrintedCode` keep their fields private behind
// read-only accessors and `Verifier::verify_code` / `verify_printed` take them by value
// (the `compile_fail` doc tests in presentation.rs and printed.rs); tests/adversarial.rs
// checks that every value of a verdict is one the signatures cover.

/// Probe, printed codes through every entry point: `verify_at`, `verify` (the clock),
/// `verify_batch_at` and `verify_printed` give one verdict; the device-code parsers and
/// `p256_checks` refuse a printed code (`unsupported_algorithm`), so no device-code path
/// can take one for a code without a device signature.
#[test]
fn probe_printed_codes_through_every_entry_point() {
    let text = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]));
    let v = demo_verifier(Scene::Hospital).with_clock(FixedClock(NOW));
    let at = v.verify_at(&text, NOW).unwrap();
    assert!(at.printed);
    assert_eq!(v.verify(&text).unwrap(), at);
    assert_eq!(v.verify_batch(&[&text]).pop().unwrap().unwrap(), at);
    assert_eq!(v.verify_printed(PrintedCode::from_text(&text).unwrap(), NOW).unwrap(), at);
    assert_eq!(reason(UnverifiedCode::from_text(&text)), "unsupported_algorithm");
    assert_eq!(
        reason(Credential::from_bytes(&decode_text(&text).unwrap()).map_err(|_| Rejection::new(Reason::Malformed, ""))),
        "malformed"
    );
    // At a scene that refuses printed codes, every entry point refuses it.
    let metro = demo_verifier(Scene::MetroGate).with_clock(FixedClock(NOW));
    assert_eq!(outcome(&metro.verify(&text)), "policy_unmet");
    assert_eq!(outcome(&metro.verify_batch(&[&text])[0]), "policy_unmet");
    assert_eq!(outcome(&metro.verify_printed(PrintedCode::from_text(&text).unwrap(), NOW)), "policy_unmet");
    // A device code is not a printed code.
    assert_eq!(reason(PrintedCode::from_text(&metro_text(44))), "malformed");
}

/// Probe, signing labels: a printed card carried in a device code, a device card carried
/// in a printed code, and a guardian's card under the ordinary label (or the reverse) are
/// all `bad_issuer_signature`: no card is ever verified under another purpose's label.
#[test]
fn probe_cards_never_verify_under_another_label() {
    let c = claims(&[(1, &health_body(1, TODAY + 1)), (2, &INSURANCE), (6, &paper_identity())]);
    let body = card_body(1, 1, TODAY - 5, 10, &c);
    let as_printed = printed_card(&SUBJECT, &body);
    let text = Raw::new(vec![as_printed.clone()]).text();
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &text, NOW), "bad_issuer_signature");
    let device_card = card_labelled(LABEL_CARD, &c);
    let printed = encode_text(&printed_bytes(SUBJECT, &[device_card]));
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &printed, NOW), "bad_issuer_signature");
    let good = encode_text(&printed_bytes(SUBJECT, &[as_printed]));
    assert_eq!(verdict(&|| demo_verifier(Scene::Hospital), &good, NOW), "accept");
    let guardian = claims(&[(4, &TRANSIT), (7, &[3])]);
    let under_card_label = Raw::new(vec![card_labelled(LABEL_CARD, &guardian)]).text();
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &under_card_label, NOW), "bad_issuer_signature");
    let plain_under_guardian_label = Raw::new(vec![card_labelled(LABEL_GUARDIAN_CARD, &transit_claims())]).text();
    assert_eq!(verdict(&|| demo_verifier(Scene::MetroGate), &plain_under_guardian_label, NOW), "bad_issuer_signature");
}

/// Probe, list loading order: an issuer-signed revocation list offered before any trust
/// list is refused and leaves nothing behind; loaded after it, it counts; reloading the
/// held trust list keeps every list held.
#[test]
fn probe_list_loading_order() {
    let issuer_list =
        revocation_list(&issuer_key(), ListSigner::Issuer(1), 1, NOW as u32 + 3600, vec![Revoked::Subject(SUBJECT)]);
    let mut v = Verifier::new(root().public_key(), Scene::MetroGate).with_skew(30);
    assert_eq!(reason(v.load_revocation_list(&issuer_list)), "bad_revocation_list_signature");
    assert_eq!(v.revocation_lists().count(), 0);
    v.load_trust_list(&city().trust_list).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(45), NOW)), "no_revocation_list");
    v.load_revocation_list(&root_revocations(1, vec![])).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(46), NOW)), "accept");
    v.load_revocation_list(&issuer_list).unwrap();
    assert_eq!(outcome(&v.verify_at(&metro_text(47), NOW)), "revoked");
    v.load_trust_list(&city().trust_list).unwrap();
    assert_eq!(v.revocation_lists().count(), 2);
    assert_eq!(outcome(&v.verify_at(&metro_text(48), NOW)), "revoked");
}

/// Probe, §9.1 on a mixed batch: one batch of every kind of input (accepted, refused at
/// each step, replayed inside the batch, printed, a bad signature among good ones) gives,
/// code by code, what the same verifier gives one by one in order.
#[test]
fn probe_a_mixed_batch_equals_one_by_one_in_order() {
    let bad_card = {
        let mut c = card(&transit_claims());
        let last = c.len() - 1;
        c[last] ^= 1;
        Raw::new(vec![c]).nonce(50).text()
    };
    let mut bad_device = decode_text(&metro_text(51)).unwrap();
    let last = bad_device.len() - 1;
    bad_device[last] ^= 1;
    let printed = printed_text(&claims(&[(1, &health_body(1, TODAY + 1)), (6, &paper_identity())]));
    let texts: Vec<String> = vec![
        metro_text(52),
        bad_card,
        metro_text(52),
        encode_text(&bad_device),
        printed.clone(),
        Raw { validity: 200, ..Raw::new(vec![card(&transit_claims())]) }.text(),
        code_of(5, &transit_claims(), SUBJECT, NOW as u32).text(),
        metro_text(53),
        printed,
        Raw::new(vec![card(&claims(&[(4, &[2, 1, 1])]))]).nonce(54).text(),
        "CC1:123".into(),
        metro_text(53),
        metro_text(55),
    ];
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for scene in [Scene::MetroGate, Scene::Hospital] {
        let one = demo_verifier(scene.clone());
        let sequential: Vec<Result<Accepted, Rejection>> = refs.iter().map(|t| one.verify_at(t, NOW)).collect();
        let batched = demo_verifier(scene.clone()).verify_batch_at(&refs, NOW);
        assert_eq!(sequential.iter().map(outcome).collect::<Vec<_>>(), batched.iter().map(outcome).collect::<Vec<_>>());
        for (a, b) in sequential.iter().zip(&batched) {
            if let (Ok(a), Ok(b)) = (a, b) {
                assert_eq!(a, b);
            }
        }
    }
    let metro: Vec<String> = demo_verifier(Scene::MetroGate).verify_batch_at(&refs, NOW).iter().map(outcome).collect();
    assert_eq!(
        metro,
        [
            "accept",
            "bad_issuer_signature",
            "replayed",
            "bad_device_signature",
            "policy_unmet",
            "code_validity_too_long",
            "unknown_issuer_key",
            "accept",
            "policy_unmet",
            "policy_unmet",
            "unsupported_version",
            "replayed",
            "accept"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// FINDINGS items not covered above.

/// FINDINGS F-2: the 65-byte (uncompressed) SM2 form of sm2.json is an export format
/// only: on the wire (a code, a trust list, a key request) an SM2 key is 33 bytes, so
/// `04 ‖ x ‖ y` is read as a 33-byte key with prefix `04` and refused.
#[test]
fn f_2_uncompressed_sm2_keys_are_refused_on_the_wire() {
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    let d = key(SM2, 0x09).unwrap();
    let secret: [u8; 32] = d.secret_bytes().as_slice().try_into().unwrap();
    let scalar =
        Option::<sm2::Scalar>::from(<sm2::Scalar as sm2::elliptic_curve::PrimeField>::from_repr(secret.into()))
            .unwrap();
    let uncompressed = (sm2::ProjectivePoint::GENERATOR * scalar).to_affine().to_sec1_point(false).as_bytes().to_vec();
    assert_eq!(uncompressed.len(), 65);
    assert_eq!(PublicKey::from_exported(SM2, &uncompressed).unwrap(), d.public_key());
    assert_eq!(PublicKey::from_bytes(SM2, &uncompressed), Err(Reason::Malformed));
    assert_eq!(
        verdict(&|| demo_verifier(Scene::MetroGate), &code_with_device_key(3, &uncompressed), NOW),
        "invalid_device_key"
    );
    let mut v = Verifier::new(root().public_key(), Scene::MetroGate);
    assert_eq!(reason(v.load_trust_list(&trust_list_with_raw_key(3, &uncompressed))), "invalid_issuer_key");
    let mut request = vec![1u8, 3];
    request.extend_from_slice(&uncompressed);
    request.extend([0u8; 64]);
    assert_eq!(reason(KeyRequest::from_bytes(&request)), "invalid_device_key");
}

/// FINDINGS F-12 (pinned): the scenic spot's offset has no default in a configuration;
/// a scene object without it is refused when read.
#[test]
fn f_12_a_scenic_spot_scene_names_its_offset() {
    assert!(serde_json::from_str::<Scene>(r#"{"kind":"scenic_spot","site":1024}"#).is_err());
    let scene: Scene = serde_json::from_str(r#"{"kind":"scenic_spot","site":1024,"utc_offset_minutes":0}"#).unwrap();
    assert_eq!(scene, Scene::ScenicSpot { site: 1024, utc_offset_minutes: 0 });
}

/// FINDINGS F-18 (pinned): every character and the digit count are checked before any
/// chunk's value: a text with an out-of-range first chunk and a non-digit later is
/// `text_encoding`, as is one with an out-of-range chunk and an impossible length.
#[test]
fn f_18_characters_and_length_before_chunk_values() {
    let big = "9".repeat(29);
    assert_eq!(decode_text(&format!("CC1:{big}")), Err(Reason::NonCanonical));
    assert_eq!(decode_text(&format!("CC1:{big}12a")), Err(Reason::TextEncoding));
    assert_eq!(decode_text(&format!("CC1:{big}1234")), Err(Reason::TextEncoding));
}

/// FINDINGS F-19 (pinned): fields SPEC.md does not constrain load: an issuer key with
/// `not_before >= not_after`, one with no domains, domain 0 in a key's list, and a list
/// issued after it expires. Each is only useless: no code verifies under them.
#[test]
fn f_19_unconstrained_trust_list_fields_load_and_admit_nothing() {
    let k = issuer_key().public_key().to_bytes();
    let mut backwards = raw_issuer_key(1, 1, &k, &all_domains());
    let window = varint(1).len() + 1 + 32;
    backwards[window..window + 4].copy_from_slice(&(NOW as u32 + 10).to_be_bytes());
    backwards[window + 4..window + 8].copy_from_slice(&(NOW as u32 - 10).to_be_bytes());
    for (keys, expected) in [
        (vec![backwards], "issuer_key_not_valid"),
        (vec![raw_issuer_key(1, 1, &k, &[])], "out_of_scope"),
        (vec![raw_issuer_key(1, 1, &k, &[0, 4])], "accept"),
    ] {
        let list = sign_list(LABEL_TRUST_LIST, &trust_body(2, &keys), 1, &root());
        let make = || verifier_with(Scene::MetroGate, &[&list], &[&root_revocations(1, vec![])]);
        assert_eq!(verdict(&make, &metro_text(60), NOW), expected);
    }
    let mut inverted = trust_body(2, &[demo_key(1, &all_domains())]);
    inverted[9..13].copy_from_slice(&(NOW as u32 + 3600).to_be_bytes());
    inverted[13..17].copy_from_slice(&(NOW as u32 + 60).to_be_bytes());
    let list = sign_list(LABEL_TRUST_LIST, &inverted, 1, &root());
    let make = || verifier_with(Scene::MetroGate, &[&list], &[&root_revocations(1, vec![])]);
    assert_eq!(verdict(&make, &metro_text(61), NOW), "accept");
    assert_eq!(verdict(&make, &metro_text(61), NOW + 60), "trust_list_expired");
}

/// Probe, §9.1 and malleability: every single-bit change of a two-card code of an
/// Ed25519 city, and one bit of every byte in a P-256 and an SM2 city, is refused, with
/// the same reason one by one and in a batch (each changed code in a batch with the
/// genuine one, which stays accepted).
#[test]
fn probe_every_bit_flip_is_refused_alike_one_by_one_and_in_a_batch() {
    for (c, alg) in [(city(), ED), (p256_city(), P256), (gm_city(), SM2)] {
        let make = || {
            let mut v = Verifier::new(c.root.public_key(), Scene::Hospital).with_skew(30).with_credential_cache(0);
            v.load_trust_list(&c.trust_list).unwrap();
            v.load_revocation_list(&c.revocation_list).unwrap();
            v
        };
        let ids = [Domain::Health.id(), Domain::MedicalInsurance.id()];
        let options = PresentOptions { validity_secs: 60, nonce: Some([9; 4]) };
        // Two cards: health and insurance from the single-domain cards.
        let genuine = present(&c.credential, &c.device, &ids[..], NOW, options).unwrap();
        let bytes = genuine.as_bytes().to_vec();
        assert_eq!(outcome(&make().verify_at(&genuine.to_text(), NOW)), "accept", "{alg}");
        let bits: Vec<usize> =
            if alg == ED { (0..bytes.len() * 8).collect() } else { (0..bytes.len()).map(|i| i * 8 + i % 8).collect() };
        let mut refused = 0;
        for &bit in &bits {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let text = encode_text(&b);
            let one = make().verify_at(&text, NOW);
            let batch = make().verify_batch_at(&[&text, &genuine.to_text()], NOW);
            assert_eq!(outcome(&one), outcome(&batch[0]), "{alg} bit {bit}");
            assert_eq!(outcome(&batch[1]), "accept", "{alg} bit {bit}");
            assert!(one.is_err(), "{alg}: bit {bit} changed and the code is still accepted");
            refused += 1;
        }
        assert_eq!(refused, bits.len());
    }
}
