//! The generator of `test-vectors/attestation.json`: synthetic Android attestation
//! chains and App Attest objects under synthetic roots, every key derived from a fixed
//! seed and every signature deterministic (RFC 6979), so the file is the same bytes on
//! every run. Shared by `examples/gen_attestation_vectors.rs` (writes the file) and
//! `tests/vectors.rs` (regenerates it in memory and compares).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use p256::ecdsa::signature::hazmat::PrehashSigner;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384};

use citycode::{Algorithm, KeyPair, PublicKey};

// ---------------------------------------------------------------- DER writer

pub fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x30], &items.concat())
}

pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x31], &items.concat())
}

/// Minimal two's-complement INTEGER.
pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(&[0x02], &bytes[start..])
}

/// A positive INTEGER from big-endian magnitude bytes.
pub fn uint_bytes(b: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(&[0x02], &content)
}

pub fn enumerated(v: i64) -> Vec<u8> {
    let mut e = int(v);
    e[0] = 0x0a;
    e
}

pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(&[0x04], b)
}

pub fn boolean(b: bool) -> Vec<u8> {
    tlv(&[0x01], &[if b { 0xff } else { 0x00 }])
}

pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub fn bit_string(b: &[u8]) -> Vec<u8> {
    tlv(&[0x03], &[&[0u8][..], b].concat())
}

pub fn oid(dotted: &str) -> Vec<u8> {
    let parts: Vec<u64> = dotted.split('.').map(|p| p.parse().unwrap()).collect();
    let mut body = vec![(parts[0] * 40 + parts[1]) as u8];
    for &p in &parts[2..] {
        let mut stack = vec![(p & 0x7f) as u8];
        let mut v = p >> 7;
        while v > 0 {
            stack.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        stack.reverse();
        body.extend(stack);
    }
    tlv(&[0x06], &body)
}

/// `[n] EXPLICIT inner` (context class, constructed, high tag numbers as X.690 writes them).
pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
    let tag = if n < 31 {
        vec![0xa0 | n as u8]
    } else {
        let mut stack = vec![(n & 0x7f) as u8];
        let mut v = n >> 7;
        while v > 0 {
            stack.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        stack.reverse();
        [vec![0xbf], stack].concat()
    };
    tlv(&tag, inner)
}

fn civil(days: i64) -> (i64, i64, i64) {
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// UTCTime before 2050, GeneralizedTime after (RFC 5280).
pub fn time(t: u64) -> Vec<u8> {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (y, m, d) = civil(days);
    let hms = format!("{:02}{:02}{:02}", secs / 3600, secs % 3600 / 60, secs % 60);
    if y < 2050 {
        tlv(&[0x17], format!("{:02}{m:02}{d:02}{hms}Z", y % 100).as_bytes())
    } else {
        tlv(&[0x18], format!("{y:04}{m:02}{d:02}{hms}Z").as_bytes())
    }
}

pub fn name(cn: &str) -> Vec<u8> {
    seq(&[set(&[seq(&[oid("2.5.4.3"), tlv(&[0x0c], cn.as_bytes())])])])
}

/// `O=<o>, CN=<cn>`, as Google's RKP attestation certificates name their level (`O=TEE`,
/// `O=StrongBox`).
pub fn name_with_o(o: &str, cn: &str) -> Vec<u8> {
    seq(&[
        set(&[seq(&[oid("2.5.4.10"), tlv(&[0x0c], o.as_bytes())])]),
        set(&[seq(&[oid("2.5.4.3"), tlv(&[0x0c], cn.as_bytes())])]),
    ])
}

/// The subject of the synthetic StrongBox attestation key's certificate.
pub const SB_ATTEST_NAME: (&str, &str) = ("StrongBox", "Synthetic StrongBox Attestation Key");

// ---------------------------------------------------------------- keys and certificates

/// A signing key of a synthetic CA or device, from a seed label.
#[derive(Clone)]
pub enum Key {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

fn secret(label: &str) -> [u8; 32] {
    Sha256::digest(format!("citycode attestation vectors/{label}")).into()
}

impl Key {
    pub fn p256(label: &str) -> Key {
        Key::P256(p256::ecdsa::SigningKey::from_slice(&secret(label)).unwrap())
    }

    pub fn p384(label: &str) -> Key {
        let s = Sha384::digest(format!("citycode attestation vectors/{label}"));
        Key::P384(p384::ecdsa::SigningKey::from_slice(&s).unwrap())
    }

    pub fn spki(&self) -> Vec<u8> {
        match self {
            Key::P256(k) => seq(&[
                seq(&[oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")]),
                bit_string(k.verifying_key().to_sec1_point(false).as_bytes()),
            ]),
            Key::P384(k) => seq(&[
                seq(&[oid("1.2.840.10045.2.1"), oid("1.3.132.0.34")]),
                bit_string(k.verifying_key().to_sec1_point(false).as_bytes()),
            ]),
        }
    }

    /// The uncompressed point.
    pub fn point(&self) -> Vec<u8> {
        match self {
            Key::P256(k) => k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            Key::P384(k) => k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// The signature algorithm (as a DER AlgorithmIdentifier) and a DER ECDSA signature:
    /// P-256 keys sign with SHA-256 unless `sha384`, P-384 keys with SHA-384.
    pub fn sign(&self, tbs: &[u8], sha384: bool) -> (Vec<u8>, Vec<u8>) {
        let use384 = sha384 || matches!(self, Key::P384(_));
        let digest: Vec<u8> = if use384 { Sha384::digest(tbs).to_vec() } else { Sha256::digest(tbs).to_vec() };
        let alg = seq(&[oid(if use384 { "1.2.840.10045.4.3.3" } else { "1.2.840.10045.4.3.2" })]);
        let sig = match self {
            Key::P256(k) => {
                let s: p256::ecdsa::DerSignature = k.sign_prehash(&digest).unwrap();
                s.as_bytes().to_vec()
            }
            Key::P384(k) => {
                let s: p384::ecdsa::DerSignature = k.sign_prehash(&digest).unwrap();
                s.as_bytes().to_vec()
            }
        };
        (alg, sig)
    }
}

/// A certificate's contents; [`Cert::build`] signs it.
#[derive(Clone)]
pub struct Cert {
    pub serial: Vec<u8>,
    pub issuer: Vec<u8>,
    pub subject: Vec<u8>,
    pub not_before: u64,
    pub not_after: u64,
    pub spki: Vec<u8>,
    /// `(oid, critical, value)`.
    pub extensions: Vec<(String, bool, Vec<u8>)>,
    pub sha384: bool,
}

pub fn ca_extensions(path_len: Option<i64>) -> Vec<(String, bool, Vec<u8>)> {
    let mut bc = vec![boolean(true)];
    if let Some(p) = path_len {
        bc.push(int(p));
    }
    vec![
        ("2.5.29.19".into(), true, seq(&bc)),
        // keyCertSign (bit 5) and cRLSign (bit 6): 0x06 with one unused bit.
        ("2.5.29.15".into(), true, tlv(&[0x03], &[0x01, 0x06])),
    ]
}

pub fn leaf_key_usage() -> (String, bool, Vec<u8>) {
    // digitalSignature (bit 0).
    ("2.5.29.15".into(), true, tlv(&[0x03], &[0x07, 0x80]))
}

impl Cert {
    pub fn build(&self, signer: &Key) -> Vec<u8> {
        self.build_with_serial(signer, uint_bytes(&self.serial))
    }

    /// [`Cert::build`] with the serial number's INTEGER as given (a negative one, say).
    pub fn build_with_serial(&self, signer: &Key, serial: Vec<u8>) -> Vec<u8> {
        self.build_raw(signer, serial, seq(&[time(self.not_before), time(self.not_after)]))
    }

    /// [`Cert::build`] with the serial INTEGER and the Validity SEQUENCE as given.
    pub fn build_raw(&self, signer: &Key, serial: Vec<u8>, validity: Vec<u8>) -> Vec<u8> {
        let use384 = self.sha384 || matches!(signer, Key::P384(_));
        let alg = seq(&[oid(if use384 { "1.2.840.10045.4.3.3" } else { "1.2.840.10045.4.3.2" })]);
        let tbs = self.tbs_raw(serial, alg, validity);
        let (alg, sig) = signer.sign(&tbs, self.sha384);
        seq(&[tbs, alg, bit_string(&sig)])
    }

    /// The TBSCertificate with the given serial INTEGER and signature AlgorithmIdentifier.
    pub fn tbs(&self, serial: Vec<u8>, alg: Vec<u8>) -> Vec<u8> {
        self.tbs_raw(serial, alg, seq(&[time(self.not_before), time(self.not_after)]))
    }

    /// [`Cert::tbs`] with the Validity SEQUENCE as given.
    pub fn tbs_raw(&self, serial: Vec<u8>, alg: Vec<u8>, validity: Vec<u8>) -> Vec<u8> {
        let exts: Vec<Vec<u8>> = self
            .extensions
            .iter()
            .map(|(o, critical, value)| {
                let mut e = vec![oid(o)];
                if *critical {
                    e.push(boolean(true));
                }
                e.push(octets(value));
                seq(&e)
            })
            .collect();
        let mut tbs_items = vec![
            explicit(0, &int(2)),
            serial,
            alg,
            self.issuer.clone(),
            validity,
            self.subject.clone(),
            self.spki.clone(),
        ];
        if !exts.is_empty() {
            tbs_items.push(explicit(3, &seq(&exts)));
        }
        seq(&tbs_items)
    }
}

// ---------------------------------------------------------------- RSA without a private key

/// `sha256WithRSAEncryption` with its NULL parameters.
pub fn rsa_sha256_alg() -> Vec<u8> {
    seq(&[oid("1.2.840.113549.1.1.11"), null()])
}

/// An RSA SubjectPublicKeyInfo of modulus `n` and exponent `e` (big-endian magnitudes).
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    seq(&[seq(&[oid("1.2.840.113549.1.1.1"), null()]), bit_string(&seq(&[uint_bytes(n), uint_bytes(e)]))])
}

/// EMSA-PKCS1-v1_5 of SHA-256(`msg`) for a `k`-byte modulus: `00 01 FF.. 00 DigestInfo`.
pub fn pkcs1_sha256(msg: &[u8], k: usize) -> Vec<u8> {
    let digest_info = [
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ][..],
        &Sha256::digest(msg),
    ]
    .concat();
    let mut em = vec![0x00, 0x01];
    em.resize(k - digest_info.len() - 1, 0xff);
    em.push(0x00);
    em.extend(digest_info);
    em
}

/// A certificate "signed" under an RSA key whose exponent is 1: with e = 1 the
/// signature is the padded digest itself, so anyone makes it without a private key.
/// `n` is 2048 bits of 0xFF (odd, larger than any padded digest).
pub fn rsa_e1_signed(cert: &Cert) -> Vec<u8> {
    let tbs = cert.tbs(uint_bytes(&cert.serial), rsa_sha256_alg());
    let sig = pkcs1_sha256(&tbs, 256);
    seq(&[tbs, rsa_sha256_alg(), bit_string(&sig)])
}

/// The 2048-bit modulus of [`rsa_e1_signed`].
pub fn rsa_e1_modulus() -> Vec<u8> {
    vec![0xff; 256]
}

// ---------------------------------------------------------------- KeyDescription

pub const Y2025: u64 = 1_735_689_600; // 2025-01-01
pub const Y2026: u64 = 1_767_225_600; // 2026-01-01
pub const Y2027: u64 = 1_798_761_600; // 2027-01-01
pub const Y2030: u64 = 1_893_456_000; // 2030-01-01
pub const Y2045: u64 = 2_366_841_600; // 2045-01-01
pub const Y2048: u64 = 2_461_449_600; // 2048-01-01
/// The vectors' clock: 2026-06-01T00:00:00Z.
pub const NOW: u64 = 1_780_272_000;

/// What a synthetic KeyDescription says. `hardware` entries are `(tag, inner DER)` in
/// the order written (the generator may misorder them on purpose).
#[derive(Clone)]
pub struct Kd {
    pub attestation_level: i64,
    pub keymint_level: i64,
    pub challenge: Vec<u8>,
    pub software: Vec<(u32, Vec<u8>)>,
    pub hardware: Vec<(u32, Vec<u8>)>,
}

pub fn root_of_trust(locked: bool, state: i64) -> Vec<u8> {
    seq(&[octets(&[0x11; 32]), boolean(locked), enumerated(state), octets(&[0x22; 32])])
}

pub fn application_id() -> Vec<u8> {
    octets(&seq(&[
        set(&[seq(&[octets(b"city.citycode.app"), int(42)])]),
        set(&[octets(&Sha256::digest(b"citycode app signing certificate"))]),
    ]))
}

impl Kd {
    pub fn new(level: i64, challenge: &[u8]) -> Kd {
        Kd {
            attestation_level: level,
            keymint_level: level,
            challenge: challenge.to_vec(),
            software: vec![(701, int(1_780_000_000_000)), (709, application_id())],
            hardware: vec![
                (1, set(&[int(2), int(3)])),
                (2, int(3)),
                (3, int(256)),
                (5, set(&[int(4)])),
                (10, int(1)),
                (503, null()),
                (702, int(0)),
                (704, root_of_trust(true, 0)),
                (705, int(160_000)),
                (706, int(202_605)),
                (718, int(20_260_505)),
                (719, int(20_260_505)),
            ],
        }
    }

    pub fn set_hw(&mut self, tag: u32, value: Vec<u8>) {
        match self.hardware.iter_mut().find(|(t, _)| *t == tag) {
            Some(e) => e.1 = value,
            None => {
                self.hardware.push((tag, value));
                self.hardware.sort_by_key(|(t, _)| *t);
            }
        }
    }

    pub fn der(&self) -> Vec<u8> {
        let list = |entries: &[(u32, Vec<u8>)]| seq(&entries.iter().map(|(t, v)| explicit(*t, v)).collect::<Vec<_>>());
        seq(&[
            int(400),
            enumerated(self.attestation_level),
            int(400),
            enumerated(self.keymint_level),
            octets(&self.challenge),
            octets(&[]),
            list(&self.software),
            list(&self.hardware),
        ])
    }
}

// ---------------------------------------------------------------- the synthetic PKI

pub struct Pki {
    pub root: Key,
    pub root_cert: Vec<u8>,
    pub inter: Key,
    pub inter_cert: Vec<u8>,
    pub attest: Key,
    pub attest_cert: Vec<u8>,
    /// A StrongBox attestation key, its certificate named `O=StrongBox` (RKP's shape).
    pub sb_attest: Key,
    pub sb_attest_cert: Vec<u8>,
    pub other_root: Key,
    pub other_root_cert: Vec<u8>,
    pub apple_root: Key,
    pub apple_root_cert: Vec<u8>,
    pub apple_inter: Key,
    pub apple_inter_cert: Vec<u8>,
}

pub const KD_OID: &str = "1.3.6.1.4.1.11129.2.1.17";

pub fn self_signed(key: &Key, cn: &str, serial: &[u8]) -> Vec<u8> {
    Cert {
        serial: serial.to_vec(),
        issuer: name(cn),
        subject: name(cn),
        not_before: Y2025,
        not_after: Y2045,
        spki: key.spki(),
        extensions: ca_extensions(None),
        sha384: true,
    }
    .build(key)
}

/// Google's RKP shape: a P-384 root, a P-256 intermediate signed with SHA-384, an
/// attestation key certificate (valid for the year 2026) signed with ECDSA P-256 and
/// SHA-384, the leaf signed with SHA-256.
pub fn pki() -> Pki {
    let root = Key::p384("root");
    let root_cert = self_signed(&root, "Synthetic Attestation Root", &[0x01]);
    let inter = Key::p256("intermediate");
    let inter_cert = Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: inter.spki(),
        extensions: ca_extensions(Some(2)),
        sha384: true,
    }
    .build(&root);
    let attest = Key::p256("attestation key");
    let attest_cert = attestation_cert(&attest, &inter, true, Y2026, Y2027);
    let sb_attest = Key::p256("strongbox attestation key");
    let sb_attest_cert = Cert {
        serial: vec![0x5b, 0x57, 0x5e, 0x71, 0xa1],
        issuer: name("Synthetic Intermediate"),
        subject: name_with_o(SB_ATTEST_NAME.0, SB_ATTEST_NAME.1),
        not_before: Y2026,
        not_after: Y2027,
        spki: sb_attest.spki(),
        extensions: ca_extensions(None),
        sha384: true,
    }
    .build(&inter);
    let other_root = Key::p384("unknown root");
    let other_root_cert = self_signed(&other_root, "Synthetic Attestation Root", &[0x02]);
    let apple_root = Key::p384("apple root");
    let apple_root_cert = self_signed(&apple_root, "Synthetic App Attestation Root", &[0x03]);
    let apple_inter = Key::p384("apple intermediate");
    let apple_inter_cert = Cert {
        serial: vec![0x0a, 0x0b],
        issuer: name("Synthetic App Attestation Root"),
        subject: name("Synthetic App Attestation CA"),
        not_before: Y2025,
        not_after: Y2030,
        spki: apple_inter.spki(),
        extensions: ca_extensions(Some(0)),
        sha384: true,
    }
    .build(&apple_root);
    Pki {
        root,
        root_cert,
        inter,
        inter_cert,
        attest,
        attest_cert,
        sb_attest,
        sb_attest_cert,
        other_root,
        other_root_cert,
        apple_root,
        apple_root_cert,
        apple_inter,
        apple_inter_cert,
    }
}

pub fn attestation_cert(key: &Key, inter: &Key, ca: bool, from: u64, to: u64) -> Vec<u8> {
    Cert {
        serial: vec![0x7e, 0x57, 0x5e, 0x71, 0xa1],
        issuer: name("Synthetic Intermediate"),
        subject: name("Synthetic Attestation Key"),
        not_before: from,
        not_after: to,
        spki: key.spki(),
        extensions: if ca {
            ca_extensions(None)
        } else {
            // A vendor batch certificate as some phones carry it: cA FALSE, digitalSignature.
            vec![("2.5.29.19".into(), true, seq(&[])), leaf_key_usage()]
        },
        sha384: true,
    }
    .build(inter)
}

pub fn leaf(device: &Key, kd: &[u8], signer: &Key, extra: Vec<(String, bool, Vec<u8>)>) -> Vec<u8> {
    leaf_under(device, kd, signer, name("Synthetic Attestation Key"), extra)
}

/// [`leaf`] under an attestation key certificate of another name.
pub fn leaf_under(
    device: &Key,
    kd: &[u8],
    signer: &Key,
    issuer: Vec<u8>,
    extra: Vec<(String, bool, Vec<u8>)>,
) -> Vec<u8> {
    let mut extensions = vec![leaf_key_usage(), (KD_OID.to_string(), false, kd.to_vec())];
    extensions.extend(extra);
    Cert {
        serial: vec![0x01],
        issuer,
        subject: name("Android Keystore Key"),
        not_before: 0,
        not_after: Y2048,
        spki: device.spki(),
        extensions,
        sha384: false,
    }
    .build(signer)
}

// ---------------------------------------------------------------- App Attest

pub fn cbor_head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
    }
}

pub fn cbor_text(s: &str) -> Vec<u8> {
    [cbor_head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
}

pub fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    [cbor_head(2, b.len() as u64), b.to_vec()].concat()
}

/// What a synthetic App Attest object says.
pub struct Apple {
    pub app_id: String,
    pub aaguid: [u8; 16],
    pub counter: u32,
    pub client_data_hash: [u8; 32],
    /// Replaces the credential id (normally SHA-256 of the App Attest key's point).
    pub credential_id: Option<Vec<u8>>,
}

pub fn apple_object(pki: &Pki, a: &Apple) -> Vec<u8> {
    let (leaf, auth_data) = apple_parts(pki, a, &|_| {});
    [
        cbor_head(5, 3),
        cbor_text("fmt"),
        cbor_text("apple-appattest"),
        cbor_text("attStmt"),
        cbor_head(5, 2),
        cbor_text("x5c"),
        cbor_head(4, 2),
        cbor_bytes(&leaf),
        cbor_bytes(&pki.apple_inter_cert),
        cbor_text("receipt"),
        cbor_bytes(b"synthetic receipt"),
        cbor_text("authData"),
        cbor_bytes(&auth_data),
    ]
    .concat()
}

/// The credential certificate and the authenticator data of an App Attest object, after
/// `edit` changed the authenticator data (the nonce in the certificate covers the edit).
pub fn apple_parts(pki: &Pki, a: &Apple, edit: &dyn Fn(&mut Vec<u8>)) -> (Vec<u8>, Vec<u8>) {
    let app_key = Key::p256("app attest key");
    let cred_id = a.credential_id.clone().unwrap_or_else(|| Sha256::digest(app_key.point()).to_vec());
    let point = app_key.point();
    let cose = [
        cbor_head(5, 5),
        vec![0x01, 0x02], // kty: EC2
        vec![0x03, 0x26], // alg: ES256
        vec![0x20, 0x01], // crv: P-256
        vec![0x21],
        cbor_bytes(&point[1..33]),
        vec![0x22],
        cbor_bytes(&point[33..]),
    ]
    .concat();
    let auth_data = [
        Sha256::digest(a.app_id.as_bytes()).to_vec(),
        vec![0x40],
        a.counter.to_be_bytes().to_vec(),
        a.aaguid.to_vec(),
        (cred_id.len() as u16).to_be_bytes().to_vec(),
        cred_id,
        cose,
    ]
    .concat();
    let mut auth_data = auth_data;
    edit(&mut auth_data);
    let nonce: Vec<u8> = Sha256::digest([auth_data.as_slice(), &a.client_data_hash].concat()).to_vec();
    let leaf = Cert {
        serial: vec![0x01, 0x8d],
        issuer: name("Synthetic App Attestation CA"),
        subject: name("synthetic app attest key"),
        not_before: Y2026,
        not_after: Y2027,
        spki: app_key.spki(),
        extensions: vec![
            ("2.5.29.19".into(), true, seq(&[])),
            leaf_key_usage(),
            ("1.2.840.113635.100.8.2".into(), false, seq(&[explicit(1, &octets(&nonce))])),
        ],
        sha384: false,
    }
    .build(&pki.apple_inter);
    (leaf, auth_data)
}

// ---------------------------------------------------------------- the cases

pub fn b64u(b: &[u8]) -> String {
    citycode::text::encode_base64url(b)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub const APP_ID: &str = "ABCDE12345.city.citycode.app";

pub fn device(label: &str) -> (Key, PublicKey) {
    let s = secret(label);
    let key = Key::P256(p256::ecdsa::SigningKey::from_slice(&s).unwrap());
    let public = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &s).unwrap().public_key();
    (key, public)
}

struct Case {
    name: &'static str,
    proves: &'static str,
    entry: Value,
    device_key: PublicKey,
    now: u64,
    roots: Vec<&'static str>,
    revoked: Vec<String>,
    policy: Value,
    expected: Value,
}

pub fn android_entry(chain: &[Vec<u8>]) -> Value {
    json!({"format": "android_key", "chain": chain.iter().map(|c| b64u(c)).collect::<Vec<_>>()})
}

fn require() -> Value {
    json!({"mode": "require", "apple_app_ids": [APP_ID]})
}

fn refuse(code: &str) -> Value {
    json!({"refuse": code})
}

/// Every case, in file order.
pub fn vectors() -> Value {
    let pki = pki();
    let challenge: Vec<u8> = Sha256::digest(b"the issuer's challenge for this request").to_vec();
    let bound = citycode_attest::binding::android_challenge(&challenge).unwrap().to_vec();
    let (dev, dev_pub) = device("device key");
    let (_, other_pub) = device("another device key");
    let ed25519 = KeyPair::from_secret_bytes(Algorithm::Ed25519, &secret("ed25519 device")).unwrap().public_key();
    let chain_with = |kd: &Kd| -> Vec<Vec<u8>> {
        vec![
            leaf(&dev, &kd.der(), &pki.attest, vec![]),
            pki.attest_cert.clone(),
            pki.inter_cert.clone(),
            pki.root_cert.clone(),
        ]
    };
    let good = Kd::new(1, &bound);
    let good_chain = chain_with(&good);
    let accept = |level: &str, extra: Value| {
        let mut facts = json!({
            "attestation_security_level": level, "keymint_security_level": level,
            "attestation_version": 400, "keymint_version": 400,
            "verified_boot_state": "verified", "device_locked": true,
            "os_version": 160000, "os_patch_level": 202605, "vendor_patch_level": 20260505,
            "boot_patch_level": 20260505, "unknown_tags": [],
        });
        if let (Value::Object(f), Value::Object(e)) = (&mut facts, extra) {
            f.extend(e);
        }
        json!({"record": {"status": "attested", "format": "android_key",
            "protection": level, "root": "synthetic-root", "checked_at": NOW, "android": facts}})
    };
    let mut cases = Vec::new();
    let mut add = |name, proves, entry, device_key: &PublicKey, policy: Value, expected: Value| {
        cases.push(Case {
            name,
            proves,
            entry,
            device_key: device_key.clone(),
            now: NOW,
            roots: vec!["synthetic-root"],
            revoked: vec![],
            policy,
            expected,
        })
    };

    // --- Android: accepted
    add(
        "android_accept_tee",
        "a TEE key on a locked, verified phone, chain to a configured root",
        android_entry(&good_chain),
        &dev_pub,
        require(),
        accept("trusted_environment", json!({})),
    );
    let sb = Kd::new(2, &bound);
    let sb_chain_with = |kd: &Kd| -> Vec<Vec<u8>> {
        vec![
            leaf_under(&dev, &kd.der(), &pki.sb_attest, name_with_o(SB_ATTEST_NAME.0, SB_ATTEST_NAME.1), vec![]),
            pki.sb_attest_cert.clone(),
            pki.inter_cert.clone(),
            pki.root_cert.clone(),
        ]
    };
    add(
        "android_accept_strongbox",
        "a StrongBox key, under an attestation key certificate that names StrongBox (O=StrongBox); the verdict says strong_box",
        android_entry(&sb_chain_with(&sb)),
        &dev_pub,
        json!({"mode": "require", "min_security_level": "strong_box"}),
        accept("strong_box", json!({})),
    );
    let mut no_root_copy = good_chain.clone();
    no_root_copy.pop();
    add(
        "android_accept_without_root_copy",
        "a chain that stops below the root is anchored by the configured root that issued its last certificate",
        android_entry(&no_root_copy),
        &dev_pub,
        require(),
        accept("trusted_environment", json!({})),
    );
    let vendor_attest = Key::p256("vendor batch key");
    let vendor_chain = vec![
        leaf(&dev, &good.der(), &vendor_attest, vec![]),
        attestation_cert(&vendor_attest, &pki.inter, false, Y2026, Y2027),
        pki.inter_cert.clone(),
        pki.root_cert.clone(),
    ];
    add(
        "android_accept_end_entity_attestation_certificate",
        "the certificate that signs the leaf may say cA FALSE (as a real Sony chain does); every issuer above it must be a CA",
        android_entry(&vendor_chain),
        &dev_pub,
        require(),
        accept("trusted_environment", json!({})),
    );
    let mut unknown = good.clone();
    unknown.set_hw(9999, int(7));
    add(
        "android_accept_unknown_tag_kept",
        "an AuthorizationList tag the schema does not know is kept and reported, not refused",
        android_entry(&chain_with(&unknown)),
        &dev_pub,
        require(),
        accept("trusted_environment", json!({"unknown_tags": [9999]})),
    );
    let mut unlocked = good.clone();
    unlocked.set_hw(704, root_of_trust(false, 2));
    add(
        "android_accept_unlocked_when_policy_allows",
        "the boot state is a policy choice: relaxed, an unlocked phone's hardware key is accepted and its state recorded",
        android_entry(&chain_with(&unlocked)),
        &dev_pub,
        json!({"mode": "require", "require_locked_bootloader": false, "require_verified_boot": false}),
        accept("trusted_environment", json!({"verified_boot_state": "unverified", "device_locked": false})),
    );

    // --- Android: the chain
    let mut cut = good_chain.clone();
    cut.remove(2);
    add(
        "android_chain_cut_short",
        "a chain with its intermediate removed",
        android_entry(&cut),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );
    add(
        "android_chain_of_one",
        "a leaf alone",
        android_entry(&good_chain[..1]),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );
    let mut repeated_root = good_chain.clone();
    repeated_root.push(pki.root_cert.clone());
    add(
        "android_root_copy_repeated",
        "the root's copy twice at the end of the chain: only the last certificate may be self-issued",
        android_entry(&repeated_root),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );
    let rsa_leaf = rsa_e1_signed(&Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Key"),
        subject: name("Android Keystore Key"),
        not_before: 0,
        not_after: Y2048,
        spki: dev.spki(),
        extensions: vec![leaf_key_usage(), (KD_OID.to_string(), false, good.der())],
        sha384: false,
    });
    for (case_name, proves, e) in [
        (
            "android_rsa_exponent_one",
            "an attestation key certificate with an RSA key of exponent 1, under which the leaf's signature is its padded digest, made with no private key",
            1u8,
        ),
        (
            "android_rsa_exponent_three",
            "an attestation key certificate with an RSA key of exponent 3 (PKCS#1 v1.5 forgeries need small exponents; none is used by attestation keys)",
            3u8,
        ),
    ] {
        let rsa_attest = Cert {
            serial: vec![0x7e, 0x57, 0x5e, 0x71, 0xa1],
            issuer: name("Synthetic Intermediate"),
            subject: name("Synthetic Attestation Key"),
            not_before: Y2026,
            not_after: Y2027,
            spki: rsa_spki(&rsa_e1_modulus(), &[e]),
            extensions: ca_extensions(None),
            sha384: true,
        }
        .build(&pki.inter);
        add(
            case_name,
            proves,
            android_entry(&[rsa_leaf.clone(), rsa_attest, pki.inter_cert.clone(), pki.root_cert.clone()]),
            &dev_pub,
            require(),
            refuse("attestation_unsupported"),
        );
    }
    let stranger_inter = Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: pki.inter.spki(),
        extensions: ca_extensions(Some(2)),
        sha384: true,
    }
    .build(&pki.other_root);
    let unknown_root =
        vec![good_chain[0].clone(), pki.attest_cert.clone(), stranger_inter, pki.other_root_cert.clone()];
    add(
        "android_chain_to_unknown_root",
        "the same names, under a root whose key is not configured",
        android_entry(&unknown_root),
        &dev_pub,
        require(),
        refuse("attestation_root_unknown"),
    );
    let resigned = leaf(&dev, &good.der(), &Key::p256("a forger's key"), vec![]);
    let mut forged = good_chain.clone();
    forged[0] = resigned;
    add(
        "android_leaf_resigned_by_another_key",
        "a leaf with the right issuer name, signed by another key",
        android_entry(&forged),
        &dev_pub,
        require(),
        refuse("attestation_signature"),
    );
    let mut flipped = good_chain.clone();
    let last = flipped[1].len() - 1;
    flipped[1][last] ^= 1;
    add(
        "android_attestation_certificate_signature_flipped",
        "one bit of an issuer certificate's signature",
        android_entry(&flipped),
        &dev_pub,
        require(),
        refuse("attestation_signature"),
    );
    let expired_attest = attestation_cert(&pki.attest, &pki.inter, true, Y2025, Y2026);
    let mut expired = good_chain.clone();
    expired[1] = expired_attest;
    add(
        "android_attestation_certificate_expired",
        "an attestation key certificate that expired before the issuer's clock",
        android_entry(&expired),
        &dev_pub,
        require(),
        refuse("attestation_expired"),
    );
    let future_attest = attestation_cert(&pki.attest, &pki.inter, true, Y2027, Y2030);
    let mut future = good_chain.clone();
    future[1] = future_attest;
    add(
        "android_attestation_certificate_not_yet_valid",
        "an attestation key certificate valid only from next year",
        android_entry(&future),
        &dev_pub,
        require(),
        refuse("attestation_not_yet_valid"),
    );
    let not_ca_inter = Cert {
        serial: vec![0x1a, 0x2b, 0x3c, 0x4d],
        issuer: name("Synthetic Attestation Root"),
        subject: name("Synthetic Intermediate"),
        not_before: Y2025,
        not_after: Y2030,
        spki: pki.inter.spki(),
        extensions: vec![leaf_key_usage()],
        sha384: true,
    }
    .build(&pki.root);
    let mut not_ca = good_chain.clone();
    not_ca[2] = not_ca_inter;
    add(
        "android_issuer_not_a_ca",
        "an intermediate above the attestation certificate that is not a CA",
        android_entry(&not_ca),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );
    let crit = leaf(&dev, &good.der(), &pki.attest, vec![("1.2.3.4.5".into(), true, null())]);
    let mut critical = good_chain.clone();
    critical[0] = crit;
    add(
        "android_unknown_critical_extension",
        "a critical extension this verifier does not process",
        android_entry(&critical),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );
    let below = Key::p256("a key below the device key");
    let mut fake_kd = Kd::new(2, &bound);
    fake_kd.set_hw(704, root_of_trust(true, 0));
    let extended_leaf = Cert {
        serial: vec![0x02],
        issuer: name("Android Keystore Key"),
        subject: name("Android Keystore Key"),
        not_before: 0,
        not_after: Y2048,
        spki: below.spki(),
        extensions: vec![leaf_key_usage(), (KD_OID.to_string(), false, fake_kd.der())],
        sha384: false,
    }
    .build(&dev);
    let mut extended = vec![extended_leaf];
    extended.extend(good_chain.clone());
    let (_, below_pub) = device("a key below the device key");
    add(
        "android_chain_extended_below_the_attested_key",
        "a certificate signed by an attested key, with a fake extension of its own: only the leaf may carry one",
        android_entry(&extended),
        &below_pub,
        require(),
        refuse("attestation_chain"),
    );
    let no_ext_leaf = Cert {
        serial: vec![0x01],
        issuer: name("Synthetic Attestation Key"),
        subject: name("Android Keystore Key"),
        not_before: 0,
        not_after: Y2048,
        spki: dev.spki(),
        extensions: vec![leaf_key_usage()],
        sha384: false,
    }
    .build(&pki.attest);
    let mut no_ext = good_chain.clone();
    no_ext[0] = no_ext_leaf;
    add(
        "android_leaf_without_extension",
        "a chain whose leaf carries no KeyDescription",
        android_entry(&no_ext),
        &dev_pub,
        require(),
        refuse("attestation_chain"),
    );

    // --- Android: revocation
    let mut revoked_case = |name, proves, serial: &str| {
        cases.push(Case {
            name,
            proves,
            entry: android_entry(&good_chain),
            device_key: dev_pub.clone(),
            now: NOW,
            roots: vec!["synthetic-root"],
            revoked: vec![serial.to_string()],
            policy: require(),
            expected: refuse("attestation_revoked"),
        })
    };
    revoked_case(
        "android_attestation_key_revoked",
        "the attestation key certificate's serial on the status list (a leaked key)",
        "7e575e71a1",
    );
    revoked_case("android_intermediate_revoked", "an intermediate's serial on the status list", "1a2b3c4d");
    revoked_case(
        "android_intermediate_revoked_spelled_with_zeros_and_case",
        "the status list writes the intermediate's serial in upper case with leading zeros: the same serial",
        "001A2B3C4D",
    );
    // An attestation key certificate whose serial is negative (0x80575e, a DER INTEGER
    // with its top bit set: RFC 5280 forbids it, some vendors' certificates carry it).
    let neg_attest = Cert {
        serial: vec![],
        issuer: name("Synthetic Intermediate"),
        subject: name("Synthetic Attestation Key"),
        not_before: Y2026,
        not_after: Y2027,
        spki: pki.attest.spki(),
        extensions: ca_extensions(None),
        sha384: true,
    }
    .build_with_serial(&pki.inter, tlv(&[0x02], &[0x80, 0x57, 0x5e]));
    let neg_chain = vec![good_chain[0].clone(), neg_attest, pki.inter_cert.clone(), pki.root_cert.clone()];
    for (case_name, proves, revoked, expected) in [
        (
            "android_negative_serial_not_listed",
            "a certificate with a negative serial number is otherwise accepted",
            vec![],
            accept("trusted_environment", json!({})),
        ),
        (
            "android_negative_serial_revoked_java_spelling",
            "a negative serial listed as Java's BigInteger.toString(16) writes it (-7fa8a2)",
            vec!["-7fa8a2".to_string()],
            refuse("attestation_revoked"),
        ),
        (
            "android_negative_serial_revoked_unsigned_spelling",
            "the same serial listed as its bytes read unsigned (80575e): either spelling revokes",
            vec!["80575e".to_string()],
            refuse("attestation_revoked"),
        ),
    ] {
        cases.push(Case {
            name: case_name,
            proves,
            entry: android_entry(&neg_chain),
            device_key: dev_pub.clone(),
            now: NOW,
            roots: vec!["synthetic-root"],
            revoked,
            policy: require(),
            expected,
        });
    }
    let mut add = |name, proves, entry, device_key: &PublicKey, policy: Value, expected: Value| {
        cases.push(Case {
            name,
            proves,
            entry,
            device_key: device_key.clone(),
            now: NOW,
            roots: vec!["synthetic-root"],
            revoked: vec!["2c8cdddfd5e03bfc".into()],
            policy,
            expected,
        })
    };
    add(
        "android_other_serial_revoked",
        "a status list naming other serials refuses nothing",
        android_entry(&good_chain),
        &dev_pub,
        require(),
        accept("trusted_environment", json!({})),
    );

    // --- Android: the extension
    let wrong = Kd::new(1, &citycode_attest::binding::android_challenge(&[9u8; 32]).unwrap());
    add(
        "android_wrong_challenge",
        "an attestation made for another challenge",
        android_entry(&chain_with(&wrong)),
        &dev_pub,
        require(),
        refuse("attestation_challenge"),
    );
    let raw = Kd::new(1, &challenge);
    add(
        "android_raw_challenge_not_bound",
        "the issuer's challenge itself, not its labelled digest (SPEC.md §4.10.3)",
        android_entry(&chain_with(&raw)),
        &dev_pub,
        require(),
        refuse("attestation_challenge"),
    );
    let mut software = Kd::new(1, &bound);
    software.attestation_level = 0;
    add(
        "android_software_attestation",
        "attestationSecurityLevel SOFTWARE: the attestation was made outside the secure hardware",
        android_entry(&chain_with(&software)),
        &dev_pub,
        require(),
        refuse("attestation_security_level"),
    );
    let mut software_key = Kd::new(1, &bound);
    software_key.keymint_level = 0;
    add(
        "android_software_key",
        "keyMintSecurityLevel SOFTWARE: a key that can be copied",
        android_entry(&chain_with(&software_key)),
        &dev_pub,
        require(),
        refuse("attestation_security_level"),
    );
    add(
        "android_tee_where_strongbox_required",
        "a TEE key under a policy that requires StrongBox",
        android_entry(&good_chain),
        &dev_pub,
        json!({"mode": "require", "min_security_level": "strong_box"}),
        refuse("attestation_security_level"),
    );
    add(
        "android_strongbox_claim_not_named_by_chain",
        "a KeyDescription claiming StrongBox, signed by an attestation key whose certificate does not name StrongBox (what a leaked TEE key would forge)",
        android_entry(&chain_with(&sb)),
        &dev_pub,
        require(),
        refuse("attestation_security_level"),
    );
    add(
        "android_tee_claim_under_strongbox_key",
        "a TEE KeyDescription signed by an attestation key whose certificate names StrongBox",
        android_entry(&sb_chain_with(&good)),
        &dev_pub,
        require(),
        refuse("attestation_security_level"),
    );
    let mut disagree = Kd::new(2, &bound);
    disagree.keymint_level = 1;
    add(
        "android_levels_disagree",
        "attestationSecurityLevel StrongBox, keyMintSecurityLevel TEE: levels no phone reports apart",
        android_entry(&sb_chain_with(&disagree)),
        &dev_pub,
        require(),
        refuse("attestation_security_level"),
    );
    add(
        "android_key_mismatch",
        "an attestation of another P-256 key than the requested device key",
        android_entry(&good_chain),
        &other_pub,
        require(),
        refuse("attestation_key_mismatch"),
    );
    add(
        "android_key_mismatch_ed25519",
        "an Ed25519 device key, which Android hardware cannot hold",
        android_entry(&good_chain),
        &ed25519,
        require(),
        refuse("attestation_key_mismatch"),
    );
    let mut no_sign = good.clone();
    no_sign.set_hw(1, set(&[int(3)]));
    add(
        "android_purpose_not_sign",
        "a key that may only verify",
        android_entry(&chain_with(&no_sign)),
        &dev_pub,
        require(),
        refuse("attestation_purpose"),
    );
    let mut imported = good.clone();
    imported.set_hw(702, int(2));
    add(
        "android_origin_imported",
        "a key imported into the hardware (it existed outside it)",
        android_entry(&chain_with(&imported)),
        &dev_pub,
        require(),
        refuse("attestation_origin"),
    );
    add(
        "android_bootloader_unlocked",
        "an unlocked bootloader under the default policy",
        android_entry(&chain_with(&unlocked)),
        &dev_pub,
        require(),
        refuse("attestation_boot_state"),
    );
    let mut self_signed_boot = good.clone();
    self_signed_boot.set_hw(704, root_of_trust(true, 1));
    add(
        "android_boot_self_signed",
        "a locked phone booting an OS signed by its owner's key",
        android_entry(&chain_with(&self_signed_boot)),
        &dev_pub,
        require(),
        refuse("attestation_boot_state"),
    );
    let only_software = |tag: u32| {
        let mut kd = good.clone();
        let moved = kd.hardware.iter().position(|(t, _)| *t == tag).map(|i| kd.hardware.remove(i));
        kd.software.extend(moved);
        kd.software.sort_by_key(|(t, _)| *t);
        kd
    };
    add(
        "android_no_root_of_trust",
        "rootOfTrust only in the software-enforced list, under a policy that relaxes both boot checks: the hardware reported none",
        android_entry(&chain_with(&only_software(704))),
        &dev_pub,
        json!({"mode": "require", "require_locked_bootloader": false, "require_verified_boot": false}),
        refuse("attestation_boot_state"),
    );
    add(
        "android_purpose_only_software_enforced",
        "purpose SIGN asserted by the OS (softwareEnforced) only: no evidence about the hardware",
        android_entry(&chain_with(&only_software(1))),
        &dev_pub,
        require(),
        refuse("attestation_purpose"),
    );
    add(
        "android_origin_only_software_enforced",
        "origin GENERATED asserted by the OS (softwareEnforced) only",
        android_entry(&chain_with(&only_software(702))),
        &dev_pub,
        require(),
        refuse("attestation_origin"),
    );
    let app_digest = hex(&Sha256::digest(b"citycode app signing certificate"));
    let pinned = |package: &str, digest: &str| json!({"mode": "require", "android_apps": [{"package": package, "signing_certificate_sha256": digest}]});
    add(
        "android_app_pinned",
        "a policy naming the city's app (package and signing certificate digest): its key is accepted",
        android_entry(&good_chain),
        &dev_pub,
        pinned("city.citycode.app", &app_digest),
        accept("trusted_environment", json!({})),
    );
    add(
        "android_app_other_package",
        "a policy naming another package with the same signing certificate",
        android_entry(&good_chain),
        &dev_pub,
        pinned("city.citycode.other", &app_digest),
        refuse("attestation_app_id"),
    );
    add(
        "android_app_other_signer",
        "the city's package name signed with another certificate (a repackaged app)",
        android_entry(&good_chain),
        &dev_pub,
        pinned("city.citycode.app", &hex(&Sha256::digest(b"a repackager's certificate"))),
        refuse("attestation_app_id"),
    );
    let mut no_app = good.clone();
    no_app.software.retain(|(t, _)| *t != 709);
    add(
        "android_app_id_absent",
        "no attestationApplicationId, under a policy that names apps",
        android_entry(&chain_with(&no_app)),
        &dev_pub,
        pinned("city.citycode.app", &app_digest),
        refuse("attestation_app_id"),
    );
    add(
        "android_algorithm_only_software_enforced",
        "algorithm EC asserted by the OS (softwareEnforced) only",
        android_entry(&chain_with(&only_software(2))),
        &dev_pub,
        require(),
        refuse("attestation_key_mismatch"),
    );
    let mut truncated = good.der();
    truncated.truncate(truncated.len() - 3);
    let t_leaf = leaf(&dev, &truncated, &pki.attest, vec![]);
    let mut t_chain = good_chain.clone();
    t_chain[0] = t_leaf;
    add(
        "android_malformed_extension",
        "a KeyDescription cut short inside a signed certificate",
        android_entry(&t_chain),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );
    let mut misordered = good.clone();
    misordered.hardware.swap(0, 1);
    add(
        "android_tags_not_ascending",
        "AuthorizationList tags out of order (DER)",
        android_entry(&chain_with(&misordered)),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );
    let mut bad_bool = good.clone();
    bad_bool.set_hw(704, seq(&[octets(&[0x11; 32]), tlv(&[0x01], &[0x01]), enumerated(0), octets(&[0x22; 32])]));
    add(
        "android_root_of_trust_boolean_not_der",
        "deviceLocked encoded 0x01 instead of 0xFF",
        android_entry(&chain_with(&bad_bool)),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );

    // --- The message
    let mut trailing = good_chain.clone();
    trailing[0].push(0);
    add(
        "message_trailing_bytes_after_certificate",
        "a certificate with a byte after it",
        android_entry(&trailing),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );
    add(
        "message_unknown_format",
        "a format this verifier does not know",
        json!({"format": "android_key_v9", "chain": []}),
        &dev_pub,
        require(),
        refuse("attestation_unsupported"),
    );
    add(
        "message_unknown_field",
        "an entry with a field its format does not have",
        json!({"format": "android_key", "chain": [b64u(&good_chain[0])], "note": "x"}),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );
    add(
        "message_bad_base64",
        "a chain entry that is not base64url",
        json!({"format": "android_key", "chain": ["not base64url!"]}),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );
    let mut padded: Vec<String> = good_chain.iter().map(|c| b64u(c)).collect();
    padded[0].push('=');
    add(
        "message_padded_base64",
        "a good chain whose first entry has base64 padding",
        json!({"format": "android_key", "chain": padded}),
        &dev_pub,
        require(),
        refuse("attestation_malformed"),
    );

    // --- The policy
    add(
        "policy_require_absent",
        "require: a key request without an attestation",
        Value::Null,
        &dev_pub,
        require(),
        refuse("attestation_required"),
    );
    add(
        "policy_record_absent",
        "record: issued, recorded as absent",
        Value::Null,
        &dev_pub,
        json!({"mode": "record"}),
        json!({"record": {"status": "absent"}}),
    );
    add(
        "policy_record_refused",
        "record: an attestation that fails is recorded with its reason, and the credential issued",
        android_entry(&chain_with(&software_key)),
        &dev_pub,
        json!({"mode": "record"}),
        json!({"record": {"status": "refused", "code": "attestation_security_level"}}),
    );
    add(
        "policy_record_attested",
        "record: a good attestation is recorded with its verdict",
        android_entry(&good_chain),
        &dev_pub,
        json!({"mode": "record"}),
        accept("trusted_environment", json!({})),
    );
    add(
        "policy_off_ignores_garbage",
        "off: even a malformed entry is not read",
        json!({"format": "nonsense"}),
        &dev_pub,
        json!({"mode": "off"}),
        json!({"record": {"status": "off"}}),
    );

    cases.push(Case {
        name: "android_accept_root_name_shared",
        proves: "two configured roots with the same name: the chain is anchored by the one whose key signed it",
        entry: android_entry(&no_root_copy),
        device_key: dev_pub.clone(),
        now: NOW,
        roots: vec!["synthetic-other-root", "synthetic-root"],
        revoked: vec![],
        policy: require(),
        expected: accept("trusted_environment", json!({})),
    });

    // --- Apple App Attest
    let apple = |dh: [u8; 32]| Apple {
        app_id: APP_ID.into(),
        aaguid: *b"appattest\0\0\0\0\0\0\0",
        counter: 0,
        client_data_hash: dh,
        credential_id: None,
    };
    let apple_entry = |obj: &[u8]| json!({"format": "apple_app_attest", "attestation": b64u(obj)});
    let dh = citycode_attest::binding::apple_client_data_hash(&challenge, &dev_pub).unwrap();
    let app_key_id = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(Key::p256("app attest key").point()))
    };
    let apple_accept = |env: &str| {
        json!({"record": {"status": "attested", "format": "apple_app_attest", "protection": "secure_enclave_app",
            "root": "synthetic-apple-root", "checked_at": NOW,
            "apple": {"app_id": APP_ID, "environment": env, "key_id": app_key_id}}})
    };
    let mut apple_cases: Vec<(&'static str, &'static str, Value, PublicKey, Value, Value)> = vec![];
    apple_cases.push((
        "apple_accept",
        "an App Attest object whose client data hash binds the challenge and the device key",
        apple_entry(&apple_object(&pki, &apple(dh))),
        dev_pub.clone(),
        require(),
        apple_accept("production"),
    ));
    apple_cases.push((
        "apple_other_device_key",
        "the same object offered for another device key: the nonce no longer matches",
        apple_entry(&apple_object(&pki, &apple(dh))),
        other_pub.clone(),
        require(),
        refuse("attestation_challenge"),
    ));
    let other_dh = citycode_attest::binding::apple_client_data_hash(&[9u8; 32], &dev_pub).unwrap();
    apple_cases.push((
        "apple_wrong_challenge",
        "an object made for another challenge",
        apple_entry(&apple_object(&pki, &apple(other_dh))),
        dev_pub.clone(),
        require(),
        refuse("attestation_challenge"),
    ));
    let mut stranger = apple(dh);
    stranger.app_id = "ZZZZZ99999.some.other.app".into();
    apple_cases.push((
        "apple_other_app",
        "an attestation of an app the issuer does not accept",
        apple_entry(&apple_object(&pki, &stranger)),
        dev_pub.clone(),
        require(),
        refuse("attestation_app_id"),
    ));
    let mut dev_env = apple(dh);
    dev_env.aaguid = *b"appattestdevelop";
    apple_cases.push((
        "apple_development_refused",
        "a development attestation under the default policy",
        apple_entry(&apple_object(&pki, &dev_env)),
        dev_pub.clone(),
        require(),
        refuse("attestation_environment"),
    ));
    apple_cases.push((
        "apple_development_allowed",
        "a development attestation where the policy allows it",
        apple_entry(&apple_object(&pki, &dev_env)),
        dev_pub.clone(),
        json!({"mode": "require", "apple_app_ids": [APP_ID], "allow_apple_development": true}),
        apple_accept("development"),
    ));
    let mut counted = apple(dh);
    counted.counter = 1;
    apple_cases.push((
        "apple_counter_not_zero",
        "an attestation whose counter is not zero",
        apple_entry(&apple_object(&pki, &counted)),
        dev_pub.clone(),
        require(),
        refuse("attestation_malformed"),
    ));
    let mut wrong_id = apple(dh);
    wrong_id.credential_id = Some(vec![0u8; 32]);
    apple_cases.push((
        "apple_key_id_mismatch",
        "a credential id that is not SHA-256 of the attested App Attest key",
        apple_entry(&apple_object(&pki, &wrong_id)),
        dev_pub.clone(),
        require(),
        refuse("attestation_key_mismatch"),
    ));
    apple_cases.push((
        "apple_ed25519_device_key",
        "an Ed25519 device key, which the Secure Enclave cannot hold",
        apple_entry(&apple_object(&pki, &apple(dh))),
        ed25519.clone(),
        require(),
        refuse("attestation_key_mismatch"),
    ));
    apple_cases.push((
        "apple_no_app_ids_configured",
        "a policy that names no app refuses every App Attest object",
        apple_entry(&apple_object(&pki, &apple(dh))),
        dev_pub.clone(),
        json!({"mode": "require"}),
        refuse("attestation_app_id"),
    ));
    for (name, proves, entry, key, policy, expected) in apple_cases {
        cases.push(Case {
            name,
            proves,
            entry,
            device_key: key,
            now: NOW,
            roots: vec!["synthetic-apple-root"],
            revoked: vec![],
            policy,
            expected,
        });
    }

    json!({
        "description": "Device key attestations (SPEC.md §4.10) an issuer accepts or refuses. Each case: the key_attestations entry (null: none), the issuer's challenge (hex), the proven device key (hex, SPEC.md §4.1 with its alg), the issuer's time, the roots to trust (names in `roots`: DER, base64url), the serials on Google's revocation status list, the policy, and the expected outcome: `refuse` with a reason code, or the `record` the issuer stores. Synthetic chains under synthetic roots, generated by `cargo run -p citycode-attest --example gen_attestation_vectors`.",
        "challenge": hex(&challenge),
        "roots": {
            "synthetic-root": b64u(&pki.root_cert),
            "synthetic-other-root": b64u(&pki.other_root_cert),
            "synthetic-apple-root": b64u(&pki.apple_root_cert),
        },
        "cases": cases.iter().map(|c| json!({
            "name": c.name,
            "proves": c.proves,
            "entry": c.entry,
            "device_alg": c.device_key.algorithm().id(),
            "device_key": hex(&c.device_key.to_bytes()),
            "now": c.now,
            "roots": c.roots,
            "revoked": c.revoked,
            "policy": c.policy,
            "expected": c.expected,
        })).collect::<Vec<_>>(),
    })
}
