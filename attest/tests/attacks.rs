//! An attacker's review of device key attestation (SPEC.md §4.10): someone who controls
//! the phone (rooted, a custom ROM, a leaked attestation key, a software keystore), the
//! network and the JSON message, and who has read this code. Every attack is built
//! deterministically with the synthetic PKI of the vectors' generator and must be
//! refused with its reason; where an encoding is accepted on purpose, the test says so
//! and why, so a change of mind is a visible change of test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "support/vectors_gen.rs"]
mod vectors_gen;

use citycode::PublicKey;
use citycode_attest::{
    AttestationContext, AttestationError, AttestationMode, AttestationPolicy, AttestationVerdict, KeyAttestation, Root,
    Roots, StatusList,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vectors_gen::*;

// ---------------------------------------------------------------- the world

struct World {
    pki: Pki,
    challenge: Vec<u8>,
    bound: Vec<u8>,
    dev: Key,
    dev_pub: PublicKey,
}

fn world() -> World {
    let challenge = Sha256::digest(b"an attacker's review").to_vec();
    let bound = citycode_attest::binding::android_challenge(&challenge).unwrap().to_vec();
    let (dev, dev_pub) = device("device key");
    World { pki: pki(), challenge, bound, dev, dev_pub }
}

impl World {
    fn kd(&self) -> Kd {
        Kd::new(1, &self.bound)
    }

    fn leaf(&self, kd: &[u8]) -> Vec<u8> {
        leaf(&self.dev, kd, &self.pki.attest, vec![])
    }

    /// The accepted TEE chain with `kd` in its leaf: leaf, attestation key, intermediate,
    /// root copy.
    fn chain(&self, kd: &[u8]) -> Vec<Vec<u8>> {
        vec![self.leaf(kd), self.pki.attest_cert.clone(), self.pki.inter_cert.clone(), self.pki.root_cert.clone()]
    }

    fn good(&self) -> Vec<Vec<u8>> {
        self.chain(&self.kd().der())
    }

    fn roots(&self) -> Roots {
        Roots {
            android: vec![Root::from_der("synthetic-root", &self.pki.root_cert).unwrap()],
            apple: vec![Root::from_der("synthetic-apple-root", &self.pki.apple_root_cert).unwrap()],
        }
    }

    /// The issuer's decision under `require` for `chain` and the device key.
    fn check(&self, chain: &[Vec<u8>]) -> Result<AttestationVerdict, AttestationError> {
        self.check_with(&android_entry(chain), &self.dev_pub, &require(), &[], NOW, &self.roots())
    }

    fn check_with(
        &self,
        entry: &Value,
        key: &PublicKey,
        policy: &AttestationPolicy,
        revoked: &[&str],
        now: u64,
        roots: &Roots,
    ) -> Result<AttestationVerdict, AttestationError> {
        let entries: serde_json::Map<String, Value> =
            revoked.iter().map(|s| (s.to_string(), json!({"status": "REVOKED"}))).collect();
        let list = StatusList::from_json(&json!({ "entries": entries }).to_string()).unwrap();
        let ctx = AttestationContext { challenge: &self.challenge, roots, revocations: &list, now };
        KeyAttestation::from_value(entry)?.verify_key(&ctx, key, policy)
    }
}

fn require() -> AttestationPolicy {
    let mut p = AttestationPolicy::new(AttestationMode::Require);
    p.apple_app_ids = vec![APP_ID.into()];
    p
}

/// "accepted" or the reason code.
fn outcome<T>(r: Result<T, AttestationError>) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

/// An extension as the generator writes them: `(oid, critical, value)`.
fn ext(oid: &str, critical: bool, value: Vec<u8>) -> (String, bool, Vec<u8>) {
    (oid.to_string(), critical, value)
}

/// A certificate of the intermediate's shape (name, key, issuer) with other extensions.
fn inter_with(w: &World, extensions: Vec<(String, bool, Vec<u8>)>) -> Vec<u8> {
    Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: w.pki.inter.spki(),
        extensions,
        sha384: true,
    }
    .build(&w.pki.root)
}

/// A certificate of the attestation key's shape (name, key, issuer) with other contents.
fn attest_like(w: &World) -> Cert {
    Cert {
        serial: vec![0x7e, 0x57, 0x5e, 0x71, 0xa1],
        issuer: name("Synthetic Intermediate"),
        subject: name("Synthetic Attestation Key"),
        not_before: Y2026,
        not_after: Y2027,
        spki: w.pki.attest.spki(),
        extensions: ca_extensions(None),
        sha384: true,
    }
}

/// The leaf's contents, to build variants of it.
fn leaf_like(w: &World, kd: &[u8]) -> Cert {
    Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Key"),
        subject: name("Android Keystore Key"),
        not_before: 0,
        not_after: Y2048,
        spki: w.dev.spki(),
        extensions: vec![leaf_key_usage(), ext(KD_OID, false, kd.to_vec())],
        sha384: false,
    }
}

/// A minimal DER reader for the tests' surgery: `(tag, header length, content)`.
fn tlv_at(b: &[u8]) -> (u8, usize, &[u8]) {
    let tag = b[0];
    let (len, hl) = if b[1] < 0x80 {
        (b[1] as usize, 2)
    } else {
        let n = (b[1] & 0x7f) as usize;
        (b[2..2 + n].iter().fold(0usize, |a, x| a << 8 | *x as usize), 2 + n)
    };
    (tag, hl, &b[hl..hl + len])
}

/// The three parts of a certificate: TBS, AlgorithmIdentifier, signature BIT STRING
/// contents (unused-bits byte first), each as whole TLVs except the last.
fn split_cert(der: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (_, _, body) = tlv_at(der);
    let (_, hl, c) = tlv_at(body);
    let tbs = body[..hl + c.len()].to_vec();
    let rest = &body[tbs.len()..];
    let (_, hl, c) = tlv_at(rest);
    let alg = rest[..hl + c.len()].to_vec();
    let rest = &rest[alg.len()..];
    let (_, _, sig) = tlv_at(rest);
    (tbs, alg, sig.to_vec())
}

// ---------------------------------------------------------------- 256-bit arithmetic

const P256_P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `a - b` for big-endian 32-byte numbers with `a >= b`.
fn sub256(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut bb = [0u8; 32];
    bb[32 - b.len()..].copy_from_slice(b);
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let v = a[i] as i16 - bb[i] as i16 - borrow;
        borrow = i16::from(v < 0);
        out[i] = (v + 256 * borrow) as u8;
    }
    out
}

/// `a + b` for big-endian numbers of at most 32 bytes, as 33 bytes.
fn add256(a: &[u8; 32], b: &[u8]) -> Vec<u8> {
    let mut bb = [0u8; 32];
    bb[32 - b.len()..].copy_from_slice(b);
    let mut out = vec![0u8; 33];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let v = a[i] as u16 + bb[i] as u16 + carry;
        out[i + 1] = v as u8;
        carry = v >> 8;
    }
    out[0] = carry as u8;
    out
}

fn ec_spki(point: &[u8]) -> Vec<u8> {
    seq(&[seq(&[oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")]), bit_string(point)])
}

/// `(r, s)` of a DER ECDSA signature, as unsigned magnitudes.
fn sig_parts(sig: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, _, body) = tlv_at(sig);
    let (_, hl, r) = tlv_at(body);
    let (_, _, s) = tlv_at(&body[hl + r.len()..]);
    let trim = |x: &[u8]| x.iter().copied().skip_while(|b| *b == 0).collect::<Vec<u8>>();
    (trim(r), trim(s))
}

fn resign_leaf_signature(leaf: &[u8], sig: &[u8]) -> Vec<u8> {
    let (tbs, alg, _) = split_cert(leaf);
    seq(&[tbs, alg, bit_string(sig)])
}

// ---------------------------------------------------------------- the chain

#[test]
fn the_baseline_is_accepted() {
    let w = world();
    assert_eq!(outcome(w.check(&w.good())), "accepted");
}

#[test]
fn chains_no_phone_returns_are_refused() {
    let w = world();
    let [l, a, i, r] = <[Vec<u8>; 4]>::try_from(w.good()).unwrap();
    for (what, chain) in [
        ("leaf twice", vec![l.clone(), l.clone(), a.clone(), i.clone(), r.clone()]),
        ("attestation certificate twice", vec![l.clone(), a.clone(), a.clone(), i.clone(), r.clone()]),
        ("intermediate twice", vec![l.clone(), a.clone(), i.clone(), i.clone(), r.clone()]),
        ("root copy twice", vec![l.clone(), a.clone(), i.clone(), r.clone(), r.clone()]),
        ("root copy in the middle", vec![l.clone(), a.clone(), r.clone(), i.clone()]),
        ("attestation and intermediate swapped", vec![l.clone(), i.clone(), a.clone(), r.clone()]),
        ("reversed", vec![r.clone(), i.clone(), a.clone(), l.clone()]),
        ("leaf last", vec![a.clone(), i.clone(), r.clone(), l.clone()]),
        ("a leaf alone", vec![l.clone()]),
        ("nothing", vec![]),
        (
            "nine certificates",
            vec![l.clone(), a.clone(), i.clone(), r.clone(), r.clone(), r.clone(), r.clone(), r.clone(), r.clone()],
        ),
    ] {
        assert_eq!(outcome(w.check(&chain)), "attestation_chain", "{what}");
    }
}

#[test]
fn the_root_is_a_configured_key_not_a_name() {
    let w = world();
    let good = w.good();
    // A root copy with the configured root's name and another key, and the whole chain
    // re-signed under it by the attacker (who holds every key but the root's).
    let fake_root = self_signed(&w.pki.other_root, "Synthetic Attestation Root", &[0x01]);
    let fake_inter = Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: w.pki.inter.spki(),
        extensions: ca_extensions(Some(2)),
        sha384: true,
    }
    .build(&w.pki.other_root);
    let forged = vec![good[0].clone(), good[1].clone(), fake_inter.clone(), fake_root.clone()];
    assert_eq!(outcome(w.check(&forged)), "attestation_root_unknown");
    // The genuine chain ending at that fake copy: the intermediate's signature is then
    // checked against nothing the issuer trusts.
    let swapped = vec![good[0].clone(), good[1].clone(), good[2].clone(), fake_root.clone()];
    assert_eq!(outcome(w.check(&swapped)), "attestation_root_unknown");
    // Without a root copy, an intermediate that names the configured root but was
    // signed by the fake one.
    assert_eq!(outcome(w.check(&[good[0].clone(), good[1].clone(), fake_inter])), "attestation_signature");
    // A chain that stops below a root nobody configured.
    let orphan = Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Some Other Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: w.pki.inter.spki(),
        extensions: ca_extensions(Some(2)),
        sha384: true,
    }
    .build(&w.pki.other_root);
    assert_eq!(outcome(w.check(&[good[0].clone(), good[1].clone(), orphan])), "attestation_chain");

    // A root copy that differs from the configured root's bytes but carries its key:
    // identified by the key (SPEC.md §4.10.4 step 3); its own validity, extensions and
    // signature are not read, the configured copy's validity counts.
    let reissued = Cert {
        serial: vec![0x77],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Attestation Root"),
        not_before: Y2025,
        not_after: Y2026, // expired at NOW
        spki: w.pki.root.spki(),
        extensions: vec![],
        sha384: true,
    }
    .build(&w.pki.root);
    let mut chain = good.clone();
    chain[3] = reissued.clone();
    assert_eq!(outcome(w.check(&chain)), "accepted");
    let mut broken_sig = reissued.clone();
    *broken_sig.last_mut().unwrap() ^= 1;
    chain[3] = broken_sig;
    assert_eq!(outcome(w.check(&chain)), "accepted", "the chain's root copy is identified by its key alone");
    // The configured copy expired: refused, whatever the chain's copy says.
    let expired_root = Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Attestation Root"),
        not_before: Y2025,
        not_after: Y2026,
        spki: w.pki.root.spki(),
        extensions: ca_extensions(None),
        sha384: true,
    }
    .build(&w.pki.root);
    let roots = Roots { android: vec![Root::from_der("expired", &expired_root).unwrap()], apple: vec![] };
    assert_eq!(
        w.check_with(&android_entry(&good), &w.dev_pub, &require(), &[], NOW, &roots).unwrap_err(),
        AttestationError::Expired(3)
    );
}

#[test]
fn an_attested_key_cannot_extend_the_chain() {
    let w = world();
    // A genuine attestation of the device key, made for another session's challenge.
    let old = Kd::new(1, &citycode_attest::binding::android_challenge(&[7u8; 32]).unwrap());
    let genuine = w.leaf(&old.der());
    let dev_name = name("Android Keystore Key");
    let below = |spki: Vec<u8>, kd: Option<Vec<u8>>| {
        let mut extensions = vec![leaf_key_usage()];
        extensions.extend(kd.map(|kd| ext(KD_OID, false, kd)));
        Cert {
            serial: vec![0x02],
            issuer: dev_name.clone(),
            subject: name("Android Keystore Key 2"),
            not_before: 0,
            not_after: Y2048,
            spki,
            extensions,
            sha384: false,
        }
        .build(&w.dev)
    };
    let rest = [w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    // 1. The device key signs a new certificate of itself with a KeyDescription of this
    //    session: the old attestation replayed, with an "intermediate" (the genuine
    //    leaf) that is the new leaf's own key.
    let replay = [vec![below(w.dev.spki(), Some(w.kd().der())), genuine.clone()], rest.to_vec()].concat();
    assert_eq!(outcome(w.check(&replay)), "attestation_chain");
    // 2. The attested key vouches for a software key with a forged KeyDescription.
    let (software, software_pub) = device("a software key");
    let vouched = [vec![below(software.spki(), Some(w.kd().der())), genuine.clone()], rest.to_vec()].concat();
    assert_eq!(
        outcome(w.check_with(&android_entry(&vouched), &software_pub, &require(), &[], NOW, &w.roots())),
        "attestation_chain"
    );
    // 3. The same without any KeyDescription in the new leaf.
    let bare = [vec![below(software.spki(), None), genuine.clone()], rest.to_vec()].concat();
    assert_eq!(
        outcome(w.check_with(&android_entry(&bare), &software_pub, &require(), &[], NOW, &w.roots())),
        "attestation_chain"
    );

    // A KeyDescription anywhere but the leaf: in the attestation key's certificate, the
    // intermediate, the root copy.
    let kd = w.kd().der();
    let mut attest = attest_like(&w);
    attest.extensions.push(ext(KD_OID, false, kd.clone()));
    let chain = vec![w.leaf(&kd), attest.build(&w.pki.inter), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    assert_eq!(outcome(w.check(&chain)), "attestation_chain");
    let mut inter_exts = ca_extensions(Some(2));
    inter_exts.push(ext(KD_OID, false, kd.clone()));
    let chain = vec![w.leaf(&kd), w.pki.attest_cert.clone(), inter_with(&w, inter_exts), w.pki.root_cert.clone()];
    assert_eq!(outcome(w.check(&chain)), "attestation_chain");
    let root_copy = Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Attestation Root"),
        not_before: Y2025,
        not_after: Y2045,
        spki: w.pki.root.spki(),
        extensions: [ca_extensions(None), vec![ext(KD_OID, false, kd.clone())]].concat(),
        sha384: true,
    }
    .build(&w.pki.root);
    let chain = vec![w.leaf(&kd), w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), root_copy];
    assert_eq!(outcome(w.check(&chain)), "attestation_chain");

    // The leaf with a second KeyDescription (which would a reader take?).
    let two = leaf(&w.dev, &kd, &w.pki.attest, vec![ext(KD_OID, false, old.der())]);
    let chain = [vec![two], rest.to_vec()].concat();
    assert_eq!(outcome(w.check(&chain)), "attestation_malformed");
    // The leaf's KeyDescription marked critical: refused like every critical extension
    // outside basic constraints and key usage (no phone marks it critical).
    let mut critical = leaf_like(&w, &kd);
    critical.extensions[1].1 = true;
    let chain = [vec![critical.build(&w.pki.attest)], rest.to_vec()].concat();
    assert_eq!(outcome(w.check(&chain)), "attestation_chain");
}

#[test]
fn issuers_are_cas_within_their_path_length() {
    let w = world();
    let kd = w.kd().der();
    let with_inter = |inter: Vec<u8>| vec![w.leaf(&kd), w.pki.attest_cert.clone(), inter, w.pki.root_cert.clone()];
    // Path length 0 on the intermediate: the attestation key's CA certificate is one
    // intermediate too many. 1 is enough.
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, ca_extensions(Some(0)))))), "attestation_chain");
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, ca_extensions(Some(1)))))), "accepted");
    // No basic constraints, cA FALSE, or key usage without keyCertSign on an issuer above
    // the attestation key.
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, vec![])))), "attestation_chain");
    let ee = vec![ext("2.5.29.19", true, seq(&[])), leaf_key_usage()];
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, ee)))), "attestation_chain");
    let no_cert_sign = vec![ext("2.5.29.19", true, seq(&[boolean(true)])), leaf_key_usage()];
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, no_cert_sign)))), "attestation_chain");
    // Name constraints: critical ones are not processed, so refused; a non-critical one
    // (which RFC 5280 forbids) is ignored.
    let nc = seq(&[explicit(0, &seq(&[tlv(&[0x82], b"example.invalid")]))]);
    let mut critical = ca_extensions(Some(2));
    critical.push(ext("2.5.29.30", true, nc.clone()));
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, critical)))), "attestation_chain");
    let mut loose = ca_extensions(Some(2));
    loose.push(ext("2.5.29.30", false, nc));
    assert_eq!(outcome(w.check(&with_inter(inter_with(&w, loose)))), "accepted");

    // The certificate that signs the leaf may be an end entity (a real Sony chain); one
    // more end entity above it may not.
    let batch_key = Key::p256("vendor batch key");
    let mut batch = attest_like(&w);
    batch.spki = batch_key.spki();
    batch.extensions = vec![ext("2.5.29.19", true, seq(&[])), leaf_key_usage()];
    let ok = vec![
        leaf(&w.dev, &kd, &batch_key, vec![]),
        batch.build(&w.pki.inter),
        w.pki.inter_cert.clone(),
        w.pki.root_cert.clone(),
    ];
    assert_eq!(outcome(w.check(&ok)), "accepted");
    let mut upper = attest_like(&w);
    upper.subject = name("Synthetic Attestation Key");
    upper.extensions = vec![ext("2.5.29.19", true, seq(&[])), leaf_key_usage()];
    let mut lower = attest_like(&w);
    lower.issuer = name("Synthetic Attestation Key");
    lower.subject = name("Synthetic Lower Key");
    lower.spki = batch_key.spki();
    lower.extensions = vec![ext("2.5.29.19", true, seq(&[])), leaf_key_usage()];
    let two_ee = vec![
        leaf_under(&w.dev, &kd, &batch_key, name("Synthetic Lower Key"), vec![]),
        lower.build(&w.pki.attest),
        upper.build(&w.pki.inter),
        w.pki.inter_cert.clone(),
        w.pki.root_cert.clone(),
    ];
    assert_eq!(outcome(w.check(&two_ee)), "attestation_chain");

    // The configured root's own path length constraint.
    let tight_root = Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Attestation Root"),
        not_before: Y2025,
        not_after: Y2045,
        spki: w.pki.root.spki(),
        extensions: ca_extensions(Some(1)),
        sha384: true,
    }
    .build(&w.pki.root);
    let roots = Roots { android: vec![Root::from_der("tight", &tight_root).unwrap()], apple: vec![] };
    assert_eq!(
        outcome(w.check_with(&android_entry(&w.good()), &w.dev_pub, &require(), &[], NOW, &roots)),
        "attestation_chain"
    );
}

// ---------------------------------------------------------------- the KeyDescription

#[test]
fn properties_count_only_from_the_hardware_list() {
    let w = world();
    let moved = |tag: u32| {
        let mut kd = w.kd();
        let i = kd.hardware.iter().position(|(t, _)| *t == tag).unwrap();
        let e = kd.hardware.remove(i);
        kd.software.push(e);
        kd.software.sort_by_key(|(t, _)| *t);
        kd
    };
    let relaxed = {
        let mut p = require();
        p.require_locked_bootloader = false;
        p.require_verified_boot = false;
        p
    };
    let run = |kd: &Kd, p: &AttestationPolicy| {
        outcome(w.check_with(&android_entry(&w.chain(&kd.der())), &w.dev_pub, p, &[], NOW, &w.roots()))
    };
    assert_eq!(run(&moved(1), &require()), "attestation_purpose");
    assert_eq!(run(&moved(702), &require()), "attestation_origin");
    assert_eq!(run(&moved(2), &require()), "attestation_key_mismatch");
    assert_eq!(run(&moved(704), &require()), "attestation_boot_state");
    assert_eq!(run(&moved(704), &relaxed), "attestation_boot_state", "no root of trust, whatever the policy");
    // The OS says the right thing where the hardware says the wrong one.
    let mut contradict = w.kd();
    contradict.set_hw(1, set(&[int(3)]));
    contradict.software.push((1, set(&[int(2)])));
    contradict.software.sort_by_key(|(t, _)| *t);
    assert_eq!(run(&contradict, &require()), "attestation_purpose");
    let mut contradict = w.kd();
    contradict.set_hw(702, int(2));
    contradict.software.push((702, int(0)));
    contradict.software.sort_by_key(|(t, _)| *t);
    assert_eq!(run(&contradict, &require()), "attestation_origin");
    // An EC key on another curve in the hardware list.
    let mut curve = w.kd();
    curve.set_hw(10, int(2));
    assert_eq!(run(&curve, &require()), "attestation_key_mismatch");
}

#[test]
fn security_levels_agree_with_each_other_and_with_the_chain() {
    let w = world();
    let sb_name = name_with_o(SB_ATTEST_NAME.0, SB_ATTEST_NAME.1);
    let sb_chain = |kd: &Kd| {
        vec![
            leaf_under(&w.dev, &kd.der(), &w.pki.sb_attest, sb_name.clone(), vec![]),
            w.pki.sb_attest_cert.clone(),
            w.pki.inter_cert.clone(),
            w.pki.root_cert.clone(),
        ]
    };
    let strongbox = {
        let mut p = require();
        p.min_security_level = citycode_attest::SecurityLevel::StrongBox;
        p
    };
    let run = |chain: Vec<Vec<u8>>, p: &AttestationPolicy| {
        outcome(w.check_with(&android_entry(&chain), &w.dev_pub, p, &[], NOW, &w.roots()))
    };
    let kd = |att: i64, km: i64| {
        let mut kd = Kd::new(att, &w.bound);
        kd.keymint_level = km;
        kd
    };
    // (attestation level, KeyMint level, chain names StrongBox) -> under a TEE policy,
    // under a StrongBox policy.
    for (att, km, sb, tee_policy, sb_policy) in [
        (1, 1, false, "accepted", "attestation_security_level"),
        (2, 2, true, "accepted", "accepted"),
        (2, 2, false, "attestation_security_level", "attestation_security_level"),
        (1, 1, true, "attestation_security_level", "attestation_security_level"),
        (2, 1, true, "attestation_security_level", "attestation_security_level"),
        (1, 2, true, "attestation_security_level", "attestation_security_level"),
        (1, 2, false, "attestation_security_level", "attestation_security_level"),
        (0, 1, false, "attestation_security_level", "attestation_security_level"),
        (1, 0, false, "attestation_security_level", "attestation_security_level"),
        (0, 0, false, "attestation_security_level", "attestation_security_level"),
    ] {
        let chain = if sb { sb_chain(&kd(att, km)) } else { w.chain(&kd(att, km).der()) };
        assert_eq!(run(chain.clone(), &require()), tee_policy, "{att}/{km}/{sb} under TEE");
        assert_eq!(run(chain, &strongbox), sb_policy, "{att}/{km}/{sb} under StrongBox");
    }
    assert_eq!(run(w.chain(&kd(3, 3).der()), &require()), "attestation_malformed");
    // Factory chains name the level with `title`, in any case; a chain that names both
    // levels backs neither claim of StrongBox.
    let title_name = |title: &str, cn: &str| {
        seq(&[
            set(&[seq(&[oid("2.5.4.12"), tlv(&[0x13], title.as_bytes())])]),
            set(&[seq(&[oid("2.5.4.3"), tlv(&[0x0c], cn.as_bytes())])]),
        ])
    };
    for (title, expected) in
        [("StrongBox", "accepted"), ("strongbox", "accepted"), ("Strongbox2", "attestation_security_level")]
    {
        let mut cert = attest_like(&w);
        cert.subject = title_name(title, "factory batch");
        cert.spki = w.pki.sb_attest.spki();
        let chain = vec![
            leaf_under(&w.dev, &kd(2, 2).der(), &w.pki.sb_attest, title_name(title, "factory batch"), vec![]),
            cert.build(&w.pki.inter),
            w.pki.inter_cert.clone(),
            w.pki.root_cert.clone(),
        ];
        assert_eq!(run(chain, &strongbox), expected, "title={title}");
    }
    let mut both = attest_like(&w);
    both.subject = seq(&[
        set(&[seq(&[oid("2.5.4.10"), tlv(&[0x0c], b"StrongBox")])]),
        set(&[seq(&[oid("2.5.4.12"), tlv(&[0x13], b"TEE")])]),
    ]);
    both.spki = w.pki.sb_attest.spki();
    let chain = vec![
        leaf_under(&w.dev, &kd(2, 2).der(), &w.pki.sb_attest, both.subject.clone(), vec![]),
        both.build(&w.pki.inter),
        w.pki.inter_cert.clone(),
        w.pki.root_cert.clone(),
    ];
    assert_eq!(run(chain, &require()), "attestation_security_level");
}

/// The fields of a KeyDescription as [`Kd::der`] writes them, to rearrange.
fn kd_fields(kd: &Kd) -> Vec<Vec<u8>> {
    let list = |entries: &[(u32, Vec<u8>)]| seq(&entries.iter().map(|(t, v)| explicit(*t, v)).collect::<Vec<_>>());
    vec![
        int(400),
        enumerated(kd.attestation_level),
        int(400),
        enumerated(kd.keymint_level),
        octets(&kd.challenge),
        octets(&[]),
        list(&kd.software),
        list(&kd.hardware),
    ]
}

#[test]
fn the_key_description_is_strict_der() {
    let w = world();
    let good = w.kd();
    let fields = kd_fields(&good);
    assert_eq!(seq(&fields), good.der(), "the test's writer is the generator's");
    let with = |i: usize, v: Vec<u8>| {
        let mut f = fields.clone();
        f[i] = v;
        seq(&f)
    };
    let body: Vec<u8> = fields.concat();
    let mut long_len = vec![0x30, 0x83];
    long_len.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    long_len.extend_from_slice(&body);
    let rot_fields = [octets(&[0x11; 32]), boolean(true), enumerated(0), octets(&[0x22; 32])];
    let hw_with = |tag: u32, v: Vec<u8>| {
        let mut kd = good.clone();
        kd.set_hw(tag, v);
        kd.der()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a ninth field", seq(&[fields.clone(), vec![int(0)]].concat())),
        ("seven fields", seq(&fields[..7])),
        ("a byte after the SEQUENCE", [good.der(), vec![0]].concat()),
        ("an indefinite length", [vec![0x30, 0x80], body.clone(), vec![0, 0]].concat()),
        ("a length in more bytes than needed", long_len),
        ("attestationVersion with a leading zero", with(0, tlv(&[0x02], &[0x00, 0x01, 0x90]))),
        ("attestationVersion with a leading 0xFF", with(0, tlv(&[0x02], &[0xff, 0xff]))),
        ("a security level with a leading zero", with(1, tlv(&[0x0a], &[0x00, 0x01]))),
        ("a security level as INTEGER", with(1, int(1))),
        ("a security level of 3", with(3, enumerated(3))),
        ("a negative security level", with(1, enumerated(-1))),
        ("the challenge as UTF8String", with(4, tlv(&[0x0c], &good.challenge))),
        ("the challenge constructed", with(4, tlv(&[0x24], &octets(&good.challenge)))),
        ("an AuthorizationList as a SET", with(7, tlv(&[0x31], tlv_at(&fields[7]).2))),
        ("a root of trust with a fifth field", hw_with(704, seq(&[rot_fields.to_vec(), vec![int(0)]].concat()))),
        ("deviceLocked as INTEGER", hw_with(704, seq(&[octets(&[0x11; 32]), int(1), enumerated(0)]))),
        ("a verified boot state of 4", hw_with(704, seq(&[octets(&[0x11; 32]), boolean(true), enumerated(4)]))),
        ("purposes as a SEQUENCE", hw_with(1, seq(&[int(2)]))),
        ("a purpose with a leading zero", hw_with(1, set(&[tlv(&[0x02], &[0x00, 0x02])]))),
        ("an origin and a second element in one tag", hw_with(702, [int(0), int(0)].concat())),
        ("an unknown tag holding two elements", hw_with(9999, [int(0), int(0)].concat())),
        ("an unknown tag holding a truncated element", hw_with(9999, vec![0x02, 0x02, 0x00])),
        ("a flag that is not NULL", hw_with(503, boolean(true))),
        ("the KeyDescription wrapped in another OCTET STRING", octets(&good.der())),
    ];
    for (what, kd) in cases {
        assert_eq!(outcome(w.check(&w.chain(&kd))), "attestation_malformed", "{what}");
    }
    // Accepted on purpose (SPEC.md §4.10.4 step 1): SET OF elements out of order (real
    // Keymaster 4 TEEs write purposes {3, 2}) or repeated, and a tag the schema does not
    // know, kept and reported.
    let mut unordered = good.clone();
    unordered.set_hw(1, set(&[int(3), int(2)]));
    assert_eq!(outcome(w.check(&w.chain(&unordered.der()))), "accepted");
    let mut repeated = good.clone();
    repeated.set_hw(1, set(&[int(2), int(2)]));
    assert_eq!(outcome(w.check(&w.chain(&repeated.der()))), "accepted");
    let mut unknown = good.clone();
    unknown.set_hw(725, null());
    unknown.software.push((9000, octets(b"new")));
    let verdict = w.check(&w.chain(&unknown.der())).unwrap();
    assert_eq!(verdict.android.unwrap().unknown_tags, vec![9000, 725]);
}

// ---------------------------------------------------------------- keys and signatures

#[test]
fn the_attested_point_is_compared_not_its_encoding() {
    let w = world();
    let kd = w.kd().der();
    let point = w.dev.point();
    let (x, y): ([u8; 32], [u8; 32]) = (point[1..33].try_into().unwrap(), point[33..].try_into().unwrap());
    let neg_y = sub256(&P256_P, &y);
    let compressed = |y: &[u8; 32]| [vec![0x02 | (y[31] & 1)], x.to_vec()].concat();
    let with_point = |p: Vec<u8>| {
        let mut leaf = leaf_like(&w, &kd);
        leaf.spki = ec_spki(&p);
        vec![leaf.build(&w.pki.attest), w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()]
    };
    assert_eq!(outcome(w.check(&with_point(point.clone()))), "accepted");
    assert_eq!(outcome(w.check(&with_point(compressed(&y)))), "accepted", "the same point, compressed");
    let negated = [vec![0x04], x.to_vec(), neg_y.to_vec()].concat();
    assert_eq!(outcome(w.check(&with_point(negated))), "attestation_key_mismatch", "the negated point");
    assert_eq!(outcome(w.check(&with_point(compressed(&neg_y)))), "attestation_key_mismatch");
    let hybrid = [vec![0x06 | (y[31] & 1)], x.to_vec(), y.to_vec()].concat();
    assert_eq!(outcome(w.check(&with_point(hybrid))), "attestation_key_mismatch", "hybrid encoding");
    let mut off_curve = point.clone();
    off_curve[64] ^= 1;
    assert_eq!(outcome(w.check(&with_point(off_curve))), "attestation_key_mismatch");
    assert_eq!(outcome(w.check(&with_point(vec![0x00]))), "attestation_key_mismatch", "the point at infinity");
    // A P-384 leaf, and an EC leaf with no named curve.
    let mut p384 = leaf_like(&w, &kd);
    p384.spki = w.pki.root.spki();
    let chain =
        vec![p384.build(&w.pki.attest), w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    assert_eq!(outcome(w.check(&chain)), "attestation_key_mismatch");
    let mut unnamed = leaf_like(&w, &kd);
    unnamed.spki = seq(&[seq(&[oid("1.2.840.10045.2.1")]), bit_string(&point)]);
    let chain = vec![
        unnamed.build(&w.pki.attest),
        w.pki.attest_cert.clone(),
        w.pki.inter_cert.clone(),
        w.pki.root_cert.clone(),
    ];
    assert_eq!(outcome(w.check(&chain)), "attestation_key_mismatch");
}

#[test]
fn ecdsa_signatures_out_of_range_are_refused_and_high_s_is_not_a_forgery() {
    let w = world();
    let good = w.good();
    let (tbs, _, sig_bits) = split_cert(&good[0]);
    assert_eq!(sig_bits[0], 0, "no unused bits");
    let (r, s) = sig_parts(&sig_bits[1..]);
    let with_sig = |sig: Vec<u8>| {
        let mut chain = good.clone();
        chain[0] = resign_leaf_signature(&good[0], &sig);
        chain
    };
    let der_sig = |r: &[u8], s: &[u8]| seq(&[uint_bytes(r), uint_bytes(s)]);
    // The same (r, s) re-encoded: accepted (the test's surgery is sound).
    assert_eq!(outcome(w.check(&with_sig(der_sig(&r, &s)))), "accepted");
    // High s: (r, n - s) is the other valid signature of the same certificate. ECDSA
    // allows it, the signed bytes are the same, and nothing here keys on signature bytes,
    // so it is accepted like any re-encoding of an unchanged certificate.
    let high_s = sub256(&P256_N, &s);
    assert_eq!(outcome(w.check(&with_sig(der_sig(&r, &high_s)))), "accepted");
    // Out of range: s + n, r + n, zero, n itself.
    for (what, sig) in [
        ("s + n", der_sig(&r, &add256(&P256_N, &s))),
        ("r + n", der_sig(&add256(&P256_N, &r), &s)),
        ("s = 0", der_sig(&r, &[0])),
        ("r = 0", der_sig(&[0], &s)),
        ("s = n", der_sig(&r, &P256_N)),
        ("r with a leading zero", seq(&[tlv(&[0x02], &[vec![0, 0], r.clone()].concat()), uint_bytes(&s)])),
        ("a byte after the signature", [der_sig(&r, &s), vec![0]].concat()),
        ("r alone", seq(&[uint_bytes(&r)])),
        ("s negative", seq(&[uint_bytes(&r), tlv(&[0x02], &[vec![0xff], s.clone()].concat())])),
    ] {
        assert_eq!(outcome(w.check(&with_sig(sig))), "attestation_signature", "{what}");
    }
    // A signature BIT STRING with unused bits.
    let mut chain = good.clone();
    let (_, alg, _) = split_cert(&good[0]);
    chain[0] = seq(&[tbs, alg, tlv(&[0x03], &[&[0x01][..], &sig_bits[1..]].concat())]);
    assert_eq!(outcome(w.check(&chain)), "attestation_malformed");
}

#[test]
fn algorithm_identifiers_must_match_their_keys_and_parameters() {
    let w = world();
    let kd = w.kd().der();
    let leaf_c = leaf_like(&w, &kd);
    let ecdsa256 = seq(&[oid("1.2.840.10045.4.3.2")]);
    let rest = |attest: Vec<u8>| vec![attest, w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    // Sign the leaf with `inner` in the TBS and `outer` beside it.
    let signed = |inner: Vec<u8>, outer: Vec<u8>| {
        let tbs = leaf_c.tbs(uint_bytes(&leaf_c.serial), inner);
        let (_, sig) = w.pki.attest.sign(&tbs, false);
        seq(&[tbs, outer, bit_string(&sig)])
    };
    let ok = [vec![signed(ecdsa256.clone(), ecdsa256.clone())], rest(w.pki.attest_cert.clone())].concat();
    assert_eq!(outcome(w.check(&ok)), "accepted");
    let with_null = seq(&[oid("1.2.840.10045.4.3.2"), null()]);
    for (what, inner, outer, expected) in [
        ("ECDSA with NULL parameters", with_null.clone(), with_null.clone(), "attestation_malformed"),
        ("inner and outer differ", ecdsa256.clone(), seq(&[oid("1.2.840.10045.4.3.3")]), "attestation_malformed"),
        ("inner NULL, outer absent", with_null.clone(), ecdsa256.clone(), "attestation_malformed"),
        ("RSA under an EC key", rsa_sha256_alg(), rsa_sha256_alg(), "attestation_unsupported"),
        (
            "ECDSA with SHA-512",
            seq(&[oid("1.2.840.10045.4.3.4")]),
            seq(&[oid("1.2.840.10045.4.3.4")]),
            "attestation_unsupported",
        ),
    ] {
        let chain = [vec![signed(inner, outer)], rest(w.pki.attest_cert.clone())].concat();
        assert_eq!(outcome(w.check(&chain)), expected, "{what}");
    }
    // The attestation key's own SubjectPublicKeyInfo: no named curve, another curve,
    // explicit parameters.
    let point = w.pki.attest.point();
    for (what, spki, expected) in [
        ("no curve", seq(&[seq(&[oid("1.2.840.10045.2.1")]), bit_string(&point)]), "attestation_malformed"),
        (
            "secp256k1",
            seq(&[seq(&[oid("1.2.840.10045.2.1"), oid("1.3.132.0.10")]), bit_string(&point)]),
            "attestation_unsupported",
        ),
        ("a NULL curve", seq(&[seq(&[oid("1.2.840.10045.2.1"), null()]), bit_string(&point)]), "attestation_malformed"),
        ("ed25519", seq(&[seq(&[oid("1.3.101.112")]), bit_string(&[0u8; 32])]), "attestation_unsupported"),
    ] {
        let mut attest = attest_like(&w);
        attest.spki = spki;
        let chain = [vec![w.leaf(&kd)], rest(attest.build(&w.pki.inter))].concat();
        assert_eq!(outcome(w.check(&chain)), expected, "{what}");
    }
}

#[test]
fn rsa_keys_need_2048_bits_and_an_exponent_of_65537_or_more() {
    let w = world();
    let kd = w.kd().der();
    let leaf_c = leaf_like(&w, &kd);
    // Under an exponent of 1 the "signature" is the padded digest itself: no private key.
    let forged_leaf = rsa_e1_signed(&leaf_c);
    let (_, _, sig) = split_cert(&forged_leaf);
    assert_eq!(&sig[1..], pkcs1_sha256(&leaf_c.tbs(uint_bytes(&leaf_c.serial), rsa_sha256_alg()), 256).as_slice());
    let with_key = |spki: Vec<u8>, leaf: Vec<u8>| {
        let mut attest = attest_like(&w);
        attest.spki = spki;
        vec![leaf, attest.build(&w.pki.inter), w.pki.inter_cert.clone(), w.pki.root_cert.clone()]
    };
    let n = rsa_e1_modulus();
    for (what, e, modulus, expected) in [
        ("e = 1", vec![1u8], n.clone(), "attestation_unsupported"),
        ("e = 2", vec![2], n.clone(), "attestation_unsupported"),
        ("e = 3", vec![3], n.clone(), "attestation_unsupported"),
        ("e = 65535", vec![0xff, 0xff], n.clone(), "attestation_unsupported"),
        ("e = 65538 (even)", vec![0x01, 0x00, 0x02], n.clone(), "attestation_unsupported"),
        ("e = 2^32 + 1", vec![0x01, 0, 0, 0, 0x01], n.clone(), "attestation_unsupported"),
        ("1024 bits", vec![0x01, 0x00, 0x01], vec![0xff; 128], "attestation_unsupported"),
        ("2047 bits", vec![0x01, 0x00, 0x01], [vec![0x7f], vec![0xff; 255]].concat(), "attestation_unsupported"),
        // A well-formed key: the forged signature then simply does not verify.
        ("e = 65537", vec![0x01, 0x00, 0x01], n.clone(), "attestation_signature"),
    ] {
        let chain = with_key(rsa_spki(&modulus, &e), forged_leaf.clone());
        assert_eq!(outcome(w.check(&chain)), expected, "{what}");
    }
    // An RSA key without its NULL parameters; a signature algorithm without them.
    let no_null = seq(&[seq(&[oid("1.2.840.113549.1.1.1")]), bit_string(&seq(&[uint_bytes(&n), int(65537)]))]);
    assert_eq!(outcome(w.check(&with_key(no_null, forged_leaf.clone()))), "attestation_malformed");
    let bare_alg = seq(&[oid("1.2.840.113549.1.1.11")]);
    let tbs = leaf_c.tbs(uint_bytes(&leaf_c.serial), bare_alg.clone());
    let bare_leaf = seq(&[tbs.clone(), bare_alg, bit_string(&pkcs1_sha256(&tbs, 256))]);
    let chain = with_key(rsa_spki(&n, &[0x01, 0x00, 0x01]), bare_leaf);
    assert_eq!(outcome(w.check(&chain)), "attestation_malformed");
    // An RSAPublicKey with a byte after it, or a negative modulus.
    let trailing = seq(&[
        seq(&[oid("1.2.840.113549.1.1.1"), null()]),
        bit_string(&[seq(&[uint_bytes(&n), int(65537)]), vec![0]].concat()),
    ]);
    assert_eq!(outcome(w.check(&with_key(trailing, forged_leaf.clone()))), "attestation_malformed");
    let negative =
        seq(&[seq(&[oid("1.2.840.113549.1.1.1"), null()]), bit_string(&seq(&[tlv(&[0x02], &n), int(65537)]))]);
    assert_eq!(outcome(w.check(&with_key(negative, forged_leaf))), "attestation_malformed");
}

// ---------------------------------------------------------------- time

#[test]
fn validity_encodings_at_the_2050_boundary() {
    let w = world();
    let kd = w.kd().der();
    let utc = |s: &str| tlv(&[0x17], s.as_bytes());
    let gtime = |s: &str| tlv(&[0x18], s.as_bytes());
    let with_validity = |not_before: Vec<u8>, not_after: Vec<u8>| {
        let attest = attest_like(&w).build_raw(
            &w.pki.inter,
            uint_bytes(&[0x7e, 0x57, 0x5e, 0x71, 0xa1]),
            seq(&[not_before, not_after]),
        );
        vec![w.leaf(&kd), attest, w.pki.inter_cert.clone(), w.pki.root_cert.clone()]
    };
    let from = utc("260101000000Z");
    for (what, not_after, expected) in [
        ("UTCTime 49 is 2049", utc("491231235959Z"), "accepted"),
        (
            "GeneralizedTime before 2050 (RFC 5280 wants UTCTime; unambiguous, accepted)",
            gtime("20491231235959Z"),
            "accepted",
        ),
        ("GeneralizedTime 2050", gtime("20500101000000Z"), "accepted"),
        ("GeneralizedTime 9999", gtime("99991231235959Z"), "accepted"),
        ("UTCTime 50 is 1950, before the epoch", utc("500101000000Z"), "attestation_malformed"),
        ("UTCTime 25 is 2025: expired", utc("251231235959Z"), "attestation_expired"),
        ("exactly the issuer's time (bounds inclusive)", utc("260601000000Z"), "accepted"),
        ("a second before the issuer's time", utc("260531235959Z"), "attestation_expired"),
        ("UTCTime without seconds", utc("4912312359Z"), "attestation_malformed"),
        ("UTCTime with an offset", utc("491231235959+0000"), "attestation_malformed"),
        ("GeneralizedTime with a fraction", gtime("20491231235959.5Z"), "attestation_malformed"),
        ("GeneralizedTime without Z", gtime("20491231235959"), "attestation_malformed"),
        ("a month 13", utc("491331235959Z"), "attestation_malformed"),
    ] {
        assert_eq!(outcome(w.check(&with_validity(from.clone(), not_after))), expected, "{what}");
    }
    assert_eq!(
        outcome(w.check(&with_validity(utc("260601000001Z"), utc("491231235959Z")))),
        "attestation_not_yet_valid"
    );
    // The leaf's validity counts too (SPEC.md §4.10.4 step 5): Android writes 1970 to
    // 2048 or 2106 unless the app narrows it.
    let mut leaf = leaf_like(&w, &kd);
    leaf.not_after = NOW - 1;
    let chain =
        vec![leaf.build(&w.pki.attest), w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    assert_eq!(w.check(&chain).unwrap_err(), AttestationError::Expired(0));
    let leaf_2106 = leaf_like(&w, &kd).build_raw(
        &w.pki.attest,
        uint_bytes(&[1]),
        seq(&[utc("700101000000Z"), gtime("21060207062815Z")]),
    );
    let chain = vec![leaf_2106, w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    assert_eq!(outcome(w.check(&chain)), "accepted");
}

// ---------------------------------------------------------------- revocation

#[test]
fn every_certificate_of_the_chain_is_looked_up_under_every_spelling() {
    let w = world();
    let kd = w.kd().der();
    let mut leaf = leaf_like(&w, &kd);
    leaf.serial = vec![0x42];
    let chain =
        vec![leaf.build(&w.pki.attest), w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    let entry = android_entry(&chain);
    let run = |revoked: &[&str]| w.check_with(&entry, &w.dev_pub, &require(), revoked, NOW, &w.roots());
    assert_eq!(outcome(run(&[])), "accepted");
    for (revoked, index) in [
        ("42", 0),
        ("7e575e71a1", 1),
        ("7E575E71A1", 1),
        ("00007e575e71a1", 1),
        ("1a2b3c4d", 2),
        ("1", 3), // the chain's root copy
    ] {
        assert_eq!(run(&[revoked]).unwrap_err(), AttestationError::Revoked(index), "{revoked}");
    }
    // Whatever the status word: a serial Google lists is not valid.
    for status in ["REVOKED", "SUSPENDED", "SOMETHING_NEW", ""] {
        let list = StatusList::from_json(
            &json!({"entries": {"1a2b3c4d": {"status": status, "reason": "KEY_COMPROMISE"}}}).to_string(),
        )
        .unwrap();
        let roots = w.roots();
        let ctx = AttestationContext { challenge: &w.challenge, roots: &roots, revocations: &list, now: NOW };
        let r = KeyAttestation::from_value(&entry).unwrap().verify_key(&ctx, &w.dev_pub, &require());
        assert_eq!(r.unwrap_err(), AttestationError::Revoked(2), "{status}");
    }
    // A serial that only resembles one in the chain.
    assert_eq!(outcome(run(&["7e575e71a", "e575e71a1", "-7e575e71a1", "1a2b3c4d0"])), "accepted");
    // The leaf's serial with leading zeros in its DER: not strict DER.
    let bad =
        Cert { serial: vec![], ..leaf_like(&w, &kd) }.build_with_serial(&w.pki.attest, tlv(&[0x02], &[0x00, 0x42]));
    let chain = vec![bad, w.pki.attest_cert.clone(), w.pki.inter_cert.clone(), w.pki.root_cert.clone()];
    assert_eq!(outcome(w.check(&chain)), "attestation_malformed");
}

// ---------------------------------------------------------------- App Attest

fn apple_default(w: &World) -> Apple {
    Apple {
        app_id: APP_ID.into(),
        aaguid: *b"appattest\0\0\0\0\0\0\0",
        counter: 0,
        client_data_hash: citycode_attest::binding::apple_client_data_hash(&w.challenge, &w.dev_pub).unwrap(),
        credential_id: None,
    }
}

fn apple_check(w: &World, object: &[u8]) -> &'static str {
    let entry = json!({"format": "apple_app_attest", "attestation": b64u(object)});
    outcome(w.check_with(&entry, &w.dev_pub, &require(), &[], NOW, &w.roots()))
}

/// An App Attest object from its top-level map entries (key, value), in order.
fn apple_map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = cbor_head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend(cbor_text(k));
        out.extend(v);
    }
    out
}

#[test]
fn app_attest_cbor_is_read_strictly() {
    let w = world();
    let a = apple_default(&w);
    let (leaf, auth) = apple_parts(&w.pki, &a, &|_| {});
    let x5c = [cbor_head(4, 2), cbor_bytes(&leaf), cbor_bytes(&w.pki.apple_inter_cert)].concat();
    let stmt = |entries: &[(&str, Vec<u8>)]| apple_map(entries);
    let good_stmt = stmt(&[("x5c", x5c.clone()), ("receipt", cbor_bytes(b"r"))]);
    let fmt = cbor_text("apple-appattest");
    let good = apple_map(&[("fmt", fmt.clone()), ("attStmt", good_stmt.clone()), ("authData", cbor_bytes(&auth))]);
    assert_eq!(apple_check(&w, &apple_object(&w.pki, &a)), "accepted");
    assert_eq!(apple_check(&w, &good), "accepted");
    // Map keys in another order than Apple writes them: CBOR maps are unordered, and
    // the verifier reads each key once.
    let reordered = apple_map(&[("authData", cbor_bytes(&auth)), ("attStmt", good_stmt.clone()), ("fmt", fmt.clone())]);
    assert_eq!(apple_check(&w, &reordered), "accepted");
    // A non-minimal head: the text "fmt" with its length in a following byte.
    let long_fmt = [vec![0xa3, 0x78, 0x03], b"fmt".to_vec(), good[5..].to_vec()].concat();
    assert_eq!(good[..5], [0xa3, 0x63, b'f', b'm', b't']);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "fmt twice",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("fmt", fmt.clone()),
                ("attStmt", good_stmt.clone()),
                ("authData", cbor_bytes(&auth)),
            ]),
        ),
        (
            "authData twice",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", good_stmt.clone()),
                ("authData", cbor_bytes(&auth)),
                ("authData", cbor_bytes(&auth)),
            ]),
        ),
        (
            "x5c twice",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", stmt(&[("x5c", x5c.clone()), ("x5c", x5c.clone()), ("receipt", cbor_bytes(b"r"))])),
                ("authData", cbor_bytes(&auth)),
            ]),
        ),
        (
            "an unknown key",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", good_stmt.clone()),
                ("authData", cbor_bytes(&auth)),
                ("extra", cbor_bytes(b"")),
            ]),
        ),
        (
            "an unknown statement key",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", stmt(&[("x5c", x5c.clone()), ("receipt", cbor_bytes(b"r")), ("alg", vec![0x26])])),
                ("authData", cbor_bytes(&auth)),
            ]),
        ),
        (
            "no receipt",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", stmt(&[("x5c", x5c.clone())])),
                ("authData", cbor_bytes(&auth)),
            ]),
        ),
        (
            "fmt packed",
            apple_map(&[("fmt", cbor_text("packed")), ("attStmt", good_stmt.clone()), ("authData", cbor_bytes(&auth))]),
        ),
        ("a non-minimal length", long_fmt),
        ("an indefinite-length map", [vec![0xbf], good[1..].to_vec(), vec![0xff]].concat()),
        (
            "an indefinite-length byte string",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", good_stmt.clone()),
                ("authData", [vec![0x5f], cbor_bytes(&auth), vec![0xff]].concat()),
            ]),
        ),
        ("a byte after the map", [good.clone(), vec![0x00]].concat()),
        (
            "a tagged authData",
            apple_map(&[
                ("fmt", fmt.clone()),
                ("attStmt", good_stmt.clone()),
                ("authData", [vec![0xd8, 0x40], cbor_bytes(&auth)].concat()),
            ]),
        ),
        ("an integer key", [vec![0xa4, 0x01, 0x01], good[1..].to_vec()].concat()),
        ("cut short", good[..good.len() - 1].to_vec()),
    ];
    for (what, object) in cases {
        assert_eq!(apple_check(&w, &object), "attestation_malformed", "{what}");
    }
    let nine = [vec![0x89], std::iter::repeat_n(cbor_bytes(&leaf), 9).flatten().collect()].concat();
    let object = apple_map(&[
        ("fmt", fmt.clone()),
        ("attStmt", stmt(&[("x5c", nine), ("receipt", cbor_bytes(b"r"))])),
        ("authData", cbor_bytes(&auth)),
    ]);
    assert_eq!(apple_check(&w, &object), "attestation_chain");
}

#[test]
fn app_attest_authenticator_data_is_read_strictly() {
    let w = world();
    let a = apple_default(&w);
    let object = |a: &Apple, edit: &dyn Fn(&mut Vec<u8>)| {
        let (leaf, auth) = apple_parts(&w.pki, a, edit);
        apple_map(&[
            ("fmt", cbor_text("apple-appattest")),
            (
                "attStmt",
                apple_map(&[
                    ("x5c", [cbor_head(4, 2), cbor_bytes(&leaf), cbor_bytes(&w.pki.apple_inter_cert)].concat()),
                    ("receipt", cbor_bytes(b"r")),
                ]),
            ),
            ("authData", cbor_bytes(&auth)),
        ])
    };
    assert_eq!(apple_check(&w, &object(&a, &|_| {})), "accepted");
    // Flags at byte 32: extension data present, attested data absent.
    assert_eq!(apple_check(&w, &object(&a, &|d| d[32] |= 0x80)), "attestation_malformed");
    assert_eq!(apple_check(&w, &object(&a, &|d| d[32] &= !0x40)), "attestation_malformed");
    // A byte after the credential public key; the key cut short; a credential id
    // length longer than what follows.
    assert_eq!(apple_check(&w, &object(&a, &|d| d.push(0))), "attestation_malformed");
    assert_eq!(
        apple_check(
            &w,
            &object(&a, &|d| {
                d.pop();
            })
        ),
        "attestation_malformed"
    );
    assert_eq!(
        apple_check(
            &w,
            &object(&a, &|d| {
                d[53] = 0xff;
                d[54] = 0xff;
            })
        ),
        "attestation_malformed"
    );
    // The counter, any value but 0; an aaguid of neither environment; development where
    // the policy wants production.
    for counter in [1, 0x8000_0000, u32::MAX] {
        assert_eq!(apple_check(&w, &object(&Apple { counter, ..apple_default(&w) }, &|_| {})), "attestation_malformed");
    }
    let aaguid = *b"appattestdevelo\0";
    assert_eq!(apple_check(&w, &object(&Apple { aaguid, ..apple_default(&w) }, &|_| {})), "attestation_malformed");
    let aaguid = *b"appattestdevelop";
    assert_eq!(apple_check(&w, &object(&Apple { aaguid, ..apple_default(&w) }, &|_| {})), "attestation_environment");
    // Another app; the right app id with a trailing byte.
    let app_id = format!("{APP_ID}.");
    assert_eq!(apple_check(&w, &object(&Apple { app_id, ..apple_default(&w) }, &|_| {})), "attestation_app_id");
    // The client data hash over the challenge alone (no device key): the nonce does not
    // match the one the issuer computes.
    let bare = Sha256::digest(&w.challenge).into();
    assert_eq!(
        apple_check(&w, &object(&Apple { client_data_hash: bare, ..apple_default(&w) }, &|_| {})),
        "attestation_challenge"
    );
}

// ---------------------------------------------------------------- the message

#[test]
fn message_entries_of_the_wrong_shape_are_refused() {
    let w = world();
    let good: Vec<String> = w.good().iter().map(|c| b64u(c)).collect();
    let run = |entry: Value| outcome(w.check_with(&entry, &w.dev_pub, &require(), &[], NOW, &w.roots()));
    assert_eq!(run(json!({"format": "android_key", "chain": good})), "accepted");
    for (what, entry, expected) in [
        ("an array", json!([{"format": "android_key", "chain": good}]), "attestation_malformed"),
        ("a string", json!("android_key"), "attestation_malformed"),
        ("no format", json!({"chain": good}), "attestation_malformed"),
        ("a numeric format", json!({"format": 1, "chain": good}), "attestation_malformed"),
        ("a format in another case", json!({"format": "Android_Key", "chain": good}), "attestation_unsupported"),
        ("the chain as one string", json!({"format": "android_key", "chain": good[0]}), "attestation_malformed"),
        ("a certificate as numbers", json!({"format": "android_key", "chain": [[1, 2, 3]]}), "attestation_malformed"),
        ("an empty chain", json!({"format": "android_key", "chain": []}), "attestation_chain"),
        ("a chain of nine", json!({"format": "android_key", "chain": vec![good[0].clone(); 9]}), "attestation_chain"),
        (
            "an Apple field on an Android entry",
            json!({"format": "android_key", "chain": good, "attestation": ""}),
            "attestation_malformed",
        ),
        (
            "an Android field on an Apple entry",
            json!({"format": "apple_app_attest", "attestation": "", "chain": good}),
            "attestation_malformed",
        ),
        (
            "standard base64",
            json!({"format": "android_key", "chain": good.iter().map(|c| c.replace('-', "+").replace('_', "/")).collect::<Vec<_>>()}),
            "attestation_malformed",
        ),
    ] {
        // Standard base64 of these certificates may happen to contain no '-' or '_'.
        if what == "standard base64" && !good.iter().any(|c| c.contains('-') || c.contains('_')) {
            continue;
        }
        assert_eq!(run(entry), expected, "{what}");
    }
    // Under require, a null entry is no attestation; under record, it is recorded absent.
    let roots = w.roots();
    let list = StatusList::empty();
    let ctx = AttestationContext { challenge: &w.challenge, roots: &roots, revocations: &list, now: NOW };
    assert_eq!(require().decide_key(None, &ctx, &w.dev_pub).unwrap_err(), AttestationError::Required);
}

// ---------------------------------------------------------------- configured roots

#[test]
fn roots_whose_private_keys_are_public_or_weak_are_not_loaded() {
    let w = world();
    // A root named as Google's software attestation root: its private key is in Android's
    // source, so a city that configures it (to "support more phones") accepts forgeries.
    let software = self_signed(&w.pki.other_root, citycode_attest::roots::SOFTWARE_ROOT_CN, &[0x05]);
    assert_eq!(Root::from_der("software", &software).unwrap_err().code(), "attestation_unsupported");
    let other = self_signed(&w.pki.other_root, "Android Keystore Software Attestation Root 2", &[0x05]);
    assert!(Root::from_der("other", &other).is_ok(), "only that name");
    // A 1024-bit RSA root (Google's RSA software root is one): refused by key size,
    // before its signature is read.
    let rsa = Cert {
        serial: vec![0x06],
        issuer: name("weak"),
        subject: name("weak"),
        not_before: Y2025,
        not_after: Y2045,
        spki: rsa_spki(&[0xff; 128], &[0x01, 0x00, 0x01]),
        extensions: ca_extensions(None),
        sha384: false,
    };
    let tbs = rsa.tbs(uint_bytes(&rsa.serial), rsa_sha256_alg());
    let weak = seq(&[tbs.clone(), rsa_sha256_alg(), bit_string(&pkcs1_sha256(&tbs, 128))]);
    assert_eq!(Root::from_der("weak", &weak).unwrap_err().code(), "attestation_unsupported");
    // Not self-issued, not a CA: refused as configuration.
    assert_eq!(Root::from_der("inter", &w.pki.inter_cert).unwrap_err().code(), "attestation_chain");
    let ee_root = Cert {
        serial: vec![0x07],
        issuer: name("ee"),
        subject: name("ee"),
        not_before: Y2025,
        not_after: Y2045,
        spki: w.pki.other_root.spki(),
        extensions: vec![ext("2.5.29.19", true, seq(&[]))],
        sha384: true,
    }
    .build(&w.pki.other_root);
    assert_eq!(Root::from_der("ee", &ee_root).unwrap_err().code(), "attestation_chain");
}
