//! Certificates and certificate paths as attestation chains carry them (SPEC.md §4.10.4):
//! strict DER, signatures by the issuer's key (RSA PKCS#1 v1.5, ECDSA P-256/P-384),
//! validity at the verifier's time, CA constraints of issuers, revocation by serial.

use der::asn1::ObjectIdentifier as Oid;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::error::AttestationError;
use crate::revocation::StatusList;
use crate::roots::Root;

/// Longest certificate accepted (real attestation certificates are under 2 KiB; an
/// RSA-4096 root is 1.4 KiB).
pub const MAX_CERTIFICATE_LEN: usize = 16 * 1024;
/// Most certificates in one chain (RKP chains have 5).
pub const MAX_CHAIN_LEN: usize = 8;

const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const CURVE_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");

/// A parsed certificate with the exact bytes its signature covers.
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    der: Vec<u8>,
    tbs: Vec<u8>,
    cert: Certificate,
    not_before: u64,
    not_after: u64,
}

/// The key of a certificate, in the form the signature check needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl Cert {
    /// Parses one DER certificate: strict DER, nothing after it, version 3, the inner and
    /// outer signature algorithms equal, no extension twice.
    pub(crate) fn parse(der: &[u8]) -> Result<Cert, AttestationError> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(AttestationError::Malformed("a certificate is longer than 16 KiB"));
        }
        let cert = Certificate::from_der(der)?;
        // The signed bytes are the first element of the outer SEQUENCE, as received.
        let mut reader = SliceReader::new(der)?;
        let tbs = reader.sequence(|r| {
            let tbs = r.tlv_bytes()?;
            r.tlv_bytes()?;
            r.tlv_bytes()?;
            Ok::<_, der::Error>(tbs.to_vec())
        })?;
        reader.finish()?;
        let tbs_cert = cert.tbs_certificate();
        if tbs_cert.version() != x509_cert::certificate::Version::V3 {
            return Err(AttestationError::Malformed("a certificate is not version 3"));
        }
        if tbs_cert.signature() != cert.signature_algorithm() {
            return Err(AttestationError::Malformed("a certificate's two signature algorithms differ"));
        }
        let extensions = tbs_cert.extensions().map(|e| e.as_slice()).unwrap_or(&[]);
        for (i, e) in extensions.iter().enumerate() {
            if extensions.iter().skip(i + 1).any(|other| other.extn_id == e.extn_id) {
                return Err(AttestationError::Malformed("a certificate has an extension twice"));
            }
        }
        let validity = tbs_cert.validity();
        let not_before = validity.not_before.to_unix_duration().as_secs();
        let not_after = validity.not_after.to_unix_duration().as_secs();
        Ok(Cert { der: der.to_vec(), tbs, cert, not_before, not_after })
    }

    /// The whole certificate as received.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    pub(crate) fn subject(&self) -> &x509_cert::name::Name {
        self.cert.tbs_certificate().subject()
    }

    pub(crate) fn issuer(&self) -> &x509_cert::name::Name {
        self.cert.tbs_certificate().issuer()
    }

    pub(crate) fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        self.cert.tbs_certificate().subject_public_key_info()
    }

    pub(crate) fn not_before(&self) -> u64 {
        self.not_before
    }

    pub(crate) fn not_after(&self) -> u64 {
        self.not_after
    }

    /// The values of the subject's attributes of type `oid` that are ASCII-compatible
    /// strings (UTF8String, PrintableString, IA5String, TeletexString), as bytes.
    pub(crate) fn subject_attribute_values(&self, oid: &Oid) -> Vec<&[u8]> {
        self.subject()
            .iter()
            .filter(|atv| &atv.oid == oid)
            .filter(|atv| {
                matches!(atv.value.tag(), Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString)
            })
            .map(|atv| atv.value.value())
            .collect()
    }

    /// Issuer and subject are the same name (a root, or a self-issued certificate).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.issuer() == self.subject()
    }

    /// The value of the extension `oid`, with its criticality, if present.
    pub(crate) fn extension(&self, oid: &Oid) -> Option<(bool, &[u8])> {
        self.cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| &e.extn_id == oid)
            .map(|e| (e.critical, e.extn_value.as_bytes()))
    }

    /// Whether any extension is critical other than those this verifier processes
    /// (basic constraints, key usage) and those in `also_known`.
    pub(crate) fn has_unknown_critical_extension(&self, also_known: &[Oid]) -> bool {
        self.cert.tbs_certificate().extensions().is_some_and(|exts| {
            exts.iter().any(|e| {
                e.critical
                    && e.extn_id != BASIC_CONSTRAINTS
                    && e.extn_id != KEY_USAGE
                    && !also_known.contains(&e.extn_id)
            })
        })
    }

    /// `(cA, pathLenConstraint)`, or `None` without the extension.
    pub(crate) fn basic_constraints(&self) -> Result<Option<(bool, Option<u8>)>, AttestationError> {
        match self.extension(&BASIC_CONSTRAINTS) {
            None => Ok(None),
            Some((_, value)) => {
                let bc = BasicConstraints::from_der(value)?;
                Ok(Some((bc.ca, bc.path_len_constraint)))
            }
        }
    }

    /// Whether the key may sign certificates by its key usage (`None` without the
    /// extension, which RFC 5280 reads as no restriction).
    pub(crate) fn key_cert_sign(&self) -> Result<Option<bool>, AttestationError> {
        match self.extension(&KEY_USAGE) {
            None => Ok(None),
            Some((_, value)) => Ok(Some(KeyUsage::from_der(value)?.key_cert_sign())),
        }
    }

    /// The serial number as Google's revocation status list writes it: lowercase hex
    /// without leading zeros, `-` before a negative number's magnitude (Java's
    /// `BigInteger.toString(16)`).
    pub(crate) fn serial_hex(&self) -> String {
        serial_to_hex(self.cert.tbs_certificate().serial_number().as_bytes())
    }

    /// Every spelling under which a status list may name this serial: Java's, and for a
    /// negative serial (an encoding RFC 5280 forbids, which some vendors' certificates
    /// carry) also its bytes read as an unsigned number, as tools other than Java print
    /// it. A certificate is revoked if the list names either.
    pub(crate) fn serial_spellings(&self) -> Vec<String> {
        let bytes = self.cert.tbs_certificate().serial_number().as_bytes();
        let java = serial_to_hex(bytes);
        if java.starts_with('-') {
            let unsigned: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let unsigned = unsigned.trim_start_matches('0').to_string();
            vec![java, unsigned]
        } else {
            vec![java]
        }
    }

    /// Verifies this certificate's signature under `issuer` (a subject public key info).
    pub(crate) fn signed_by(&self, issuer: &SubjectPublicKeyInfoOwned) -> Result<bool, AttestationError> {
        let (kind, key) = public_key(issuer)?;
        let alg = &self.cert.signature_algorithm();
        let hash_oid = alg.oid;
        let verifier: &dyn VerificationAlgorithm = match (kind, hash_oid) {
            (KeyKind::Rsa, o) if o == SHA256_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA256,
            (KeyKind::Rsa, o) if o == SHA384_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA384,
            (KeyKind::Rsa, o) if o == SHA512_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA512,
            (KeyKind::P256, o) if o == ECDSA_WITH_SHA256 => &signature::ECDSA_P256_SHA256_ASN1,
            (KeyKind::P256, o) if o == ECDSA_WITH_SHA384 => &signature::ECDSA_P256_SHA384_ASN1,
            (KeyKind::P384, o) if o == ECDSA_WITH_SHA384 => &signature::ECDSA_P384_SHA384_ASN1,
            (KeyKind::P384, o) if o == ECDSA_WITH_SHA256 => &signature::ECDSA_P384_SHA256_ASN1,
            _ => return Err(AttestationError::Unsupported("a certificate's signature algorithm")),
        };
        // RSA signature algorithms carry NULL parameters; ECDSA ones carry none (RFC 4055,
        // RFC 5758).
        let params_ok = match kind {
            KeyKind::Rsa => alg.parameters.as_ref().is_some_and(|p| p.is_null()),
            KeyKind::P256 | KeyKind::P384 => alg.parameters.is_none(),
        };
        if !params_ok {
            return Err(AttestationError::Malformed("signature algorithm parameters"));
        }
        let Some(sig) = self.cert.signature().as_bytes() else {
            return Err(AttestationError::Malformed("a signature is not whole bytes"));
        };
        Ok(UnparsedPublicKey::new(verifier, key).verify(&self.tbs, sig).is_ok())
    }
}

/// The kind and raw bytes of a subject public key: RSA (PKCS#1 `RSAPublicKey` DER) or
/// an uncompressed P-256/P-384 point.
pub(crate) fn public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<(KeyKind, &[u8]), AttestationError> {
    let Some(key) = spki.subject_public_key.as_bytes() else {
        return Err(AttestationError::Malformed("a public key is not whole bytes"));
    };
    let alg = &spki.algorithm;
    if alg.oid == RSA_ENCRYPTION {
        if !alg.parameters.as_ref().is_some_and(|p| p.is_null()) {
            return Err(AttestationError::Malformed("RSA key parameters"));
        }
        check_rsa_key(key)?;
        return Ok((KeyKind::Rsa, key));
    }
    if alg.oid == EC_PUBLIC_KEY {
        let curve = alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Oid>().ok())
            .ok_or(AttestationError::Malformed("EC key parameters"))?;
        return match curve {
            c if c == CURVE_P256 => Ok((KeyKind::P256, key)),
            c if c == CURVE_P384 => Ok((KeyKind::P384, key)),
            _ => Err(AttestationError::Unsupported("an elliptic curve other than P-256 and P-384")),
        };
    }
    Err(AttestationError::Unsupported("a public key algorithm other than RSA and EC"))
}

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 8192;
/// Smallest RSA public exponent accepted: 2^16 + 1 (FIPS 186-5 §A.1.1).
pub const MIN_RSA_EXPONENT: u64 = 65_537;

/// An `RSAPublicKey` (`SEQUENCE { modulus INTEGER, publicExponent INTEGER }`, strict DER,
/// nothing after) with a modulus of 2048 to 8192 bits and an odd exponent from 65537 to
/// 2^32 - 1. Small exponents are where PKCS#1 v1.5 signature forgeries live (e = 3 with
/// a lax padding check; e = 1 makes the signature the padded digest itself), and no
/// attestation key uses one: refused before any signature is read.
fn check_rsa_key(pkcs1: &[u8]) -> Result<(), AttestationError> {
    let mut r = SliceReader::new(pkcs1)?;
    let (modulus, exponent) = r.sequence(|r| {
        let n = der::asn1::UintRef::decode(r)?;
        let e = der::asn1::UintRef::decode(r)?;
        Ok::<_, der::Error>((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
    })?;
    r.finish()?;
    let bits = match modulus.first() {
        Some(top) => (modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    };
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(AttestationError::Unsupported("an RSA key outside 2048 to 8192 bits"));
    }
    if exponent.len() > 4 {
        return Err(AttestationError::Unsupported("an RSA public exponent of 2^32 or more"));
    }
    let e = exponent.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    if e < MIN_RSA_EXPONENT || e % 2 == 0 {
        return Err(AttestationError::Unsupported("an RSA public exponent below 65537 or even"));
    }
    Ok(())
}

/// Java `BigInteger(bytes).toString(16)` of a two's-complement big-endian integer.
pub(crate) fn serial_to_hex(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: Vec<u8> = if negative {
        // Two's complement: invert, add one.
        let mut m: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for b in m.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        m
    } else {
        bytes.to_vec()
    };
    let hex: String = magnitude.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    match (negative, trimmed.is_empty()) {
        (_, true) => "0".to_string(),
        (true, false) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    }
}

/// The contents of the OCTET STRING at the reader.
pub(crate) fn octets<'a>(r: &mut SliceReader<'a>) -> Result<&'a [u8], AttestationError> {
    Ok(<&der::asn1::OctetStringRef>::decode(r)?.as_bytes())
}

/// The contents of `bytes`, one whole OCTET STRING.
pub(crate) fn octets_der(bytes: &[u8]) -> Result<&[u8], AttestationError> {
    Ok(<&der::asn1::OctetStringRef>::from_der(bytes)?.as_bytes())
}

/// What a verified path says: which root anchors it.
#[derive(Clone, Debug)]
pub(crate) struct PathInfo {
    /// The configured root the chain leads to.
    pub root_name: String,
}

/// How [`verify_path`] treats the certificate that signs the leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeafIssuer {
    /// It must be a CA, like every issuer.
    MustBeCa,
    /// It may be an end-entity certificate (Android attestation keys: some vendors'
    /// batch certificates say `cA` FALSE, SPEC.md §4.10.4); every issuer above it must
    /// still be a CA.
    MayBeEndEntity,
}

/// Verifies `certs` (leaf first) as a path to one of `roots` at `now` (Unix seconds),
/// in the order of SPEC.md §4.10.4, and checks every serial against `revocations`.
pub(crate) fn verify_path(
    certs: &[Cert],
    roots: &[Root],
    now: u64,
    revocations: Option<&StatusList>,
    leaf_issuer: LeafIssuer,
    known_critical: &[Oid],
) -> Result<PathInfo, AttestationError> {
    if certs.len() < 2 {
        return Err(AttestationError::Chain("fewer than two certificates"));
    }
    if certs.len() > MAX_CHAIN_LEN {
        return Err(AttestationError::Chain("more than eight certificates"));
    }
    for pair in certs.windows(2) {
        if let [child, parent] = pair
            && child.issuer() != parent.subject()
        {
            return Err(AttestationError::Chain("a certificate's issuer is not the next certificate's subject"));
        }
    }
    // Only the last certificate may be self-issued (a root's copy): a root copy, or a
    // certificate repeated, anywhere above it is no path a phone returns.
    if certs.iter().rev().skip(1).any(Cert::is_self_issued) {
        return Err(AttestationError::Chain("a self-issued certificate before the end of the chain"));
    }
    let last = certs.last().ok_or(AttestationError::Chain("empty chain"))?;
    // The anchor: the chain's own root copy identified by its key, or the configured
    // root that issued the last certificate.
    let (path, root) = if last.is_self_issued() {
        let root = roots.iter().find(|r| r.spki() == last.spki()).ok_or(AttestationError::RootUnknown)?;
        (certs.get(..certs.len() - 1).unwrap_or(&[]), root)
    } else {
        // Of the roots with that name, the one whose key signed it (two roots may share
        // a name); if none did, the first, whose signature check then fails.
        let named: Vec<&Root> = roots.iter().filter(|r| r.subject() == last.issuer()).collect();
        let first = named.first().ok_or(AttestationError::Chain("the chain stops before any root"))?;
        let root = named.iter().find(|r| last.signed_by(r.spki()).unwrap_or(false)).unwrap_or(first);
        (certs, *root)
    };
    if path.is_empty() {
        return Err(AttestationError::Chain("the chain holds a root and nothing under it"));
    }
    // Signatures, leaf first.
    for (i, cert) in path.iter().enumerate() {
        let issuer = path.get(i + 1).map(Cert::spki).unwrap_or(root.spki());
        if !cert.signed_by(issuer)? {
            return Err(AttestationError::Signature(i));
        }
    }
    // Validity of every certificate, then of the configured root.
    for (i, cert) in path.iter().enumerate() {
        check_validity(cert.not_before(), cert.not_after(), now, i)?;
    }
    check_validity(root.not_before(), root.not_after(), now, path.len())?;
    // Issuers are CAs, within their path length; no critical extension goes unread.
    for (i, cert) in path.iter().enumerate() {
        if cert.has_unknown_critical_extension(known_critical) {
            return Err(AttestationError::Chain(
                "a certificate has a critical extension this verifier does not process",
            ));
        }
        if i == 0 {
            continue;
        }
        let exempt = i == 1 && leaf_issuer == LeafIssuer::MayBeEndEntity;
        let (ca, path_len) = cert.basic_constraints()?.unwrap_or((false, None));
        if !exempt {
            if !ca {
                return Err(AttestationError::Chain("an issuer is not a CA"));
            }
            if cert.key_cert_sign()? == Some(false) {
                return Err(AttestationError::Chain("an issuer's key usage does not allow signing certificates"));
            }
        }
        // Intermediate CAs between this certificate and the leaf.
        if path_len.is_some_and(|p| usize::from(p) < i - 1) {
            return Err(AttestationError::Chain("an issuer's path length constraint is exceeded"));
        }
    }
    if root.path_len().is_some_and(|p| usize::from(p) < path.len() - 1) {
        return Err(AttestationError::Chain("the root's path length constraint is exceeded"));
    }
    if let Some(list) = revocations {
        for (i, cert) in certs.iter().enumerate() {
            if cert.serial_spellings().iter().any(|s| list.is_revoked(s)) {
                return Err(AttestationError::Revoked(i));
            }
        }
    }
    Ok(PathInfo { root_name: root.name().to_string() })
}

fn check_validity(not_before: u64, not_after: u64, now: u64, index: usize) -> Result<(), AttestationError> {
    if now < not_before {
        return Err(AttestationError::NotYetValid(index));
    }
    if now > not_after {
        return Err(AttestationError::Expired(index));
    }
    Ok(())
}

/// The DER certificates of a PEM text, in order (`-----BEGIN CERTIFICATE-----` blocks;
/// anything between blocks is ignored, anything malformed inside one refused).
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, AttestationError> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let after = rest.get(body_start..).unwrap_or("");
        let end = after.find(END).ok_or(AttestationError::Malformed("a PEM block has no end line"))?;
        let body: String = after.get(..end).unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| AttestationError::Malformed("a PEM block is not base64"))?;
        out.push(der);
        rest = after.get(end + END.len()..).unwrap_or("");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_written_as_java_writes_them() {
        assert_eq!(serial_to_hex(&[0x01]), "1");
        assert_eq!(serial_to_hex(&[0x00, 0xe8, 0xfa, 0x19]), "e8fa19");
        assert_eq!(serial_to_hex(&[0x10, 0x01]), "1001");
        assert_eq!(serial_to_hex(&[0x00]), "0");
        // Negative: -1 is 0xff, -256 is 0xff00, -129 is 0xff7f.
        assert_eq!(serial_to_hex(&[0xff]), "-1");
        assert_eq!(serial_to_hex(&[0xff, 0x00]), "-100");
        assert_eq!(serial_to_hex(&[0xff, 0x7f]), "-81");
    }

    #[test]
    fn pem_blocks_are_read_in_order_and_bad_ones_refused() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(text).unwrap(), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nAAEC\n").is_err());
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err());
        assert!(pem_certificates("nothing").unwrap().is_empty());
    }

    #[test]
    fn validity_edges_are_inclusive() {
        assert!(check_validity(10, 20, 10, 0).is_ok());
        assert!(check_validity(10, 20, 20, 0).is_ok());
        assert_eq!(check_validity(10, 20, 9, 3), Err(AttestationError::NotYetValid(3)));
        assert_eq!(check_validity(10, 20, 21, 2), Err(AttestationError::Expired(2)));
    }
}
