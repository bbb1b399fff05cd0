//! Attestation roots: the keys an issuer trusts to vouch for phones' hardware
//! (SPEC.md §4.10.4). Google's two hardware attestation roots and Apple's App Attest
//! root are built in (`attest/roots/`, with their fingerprints in its README); a city
//! adds vendor roots for phones sold without Google services from PEM files.

use sha2::{Digest, Sha256};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::error::AttestationError;
use crate::x509::{Cert, pem_certificates};

/// X.520 `commonName`.
const ATTR_COMMON_NAME: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
/// The common name of Google's software attestation root (EC P-256), never a root here.
pub const SOFTWARE_ROOT_CN: &str = "Android Keystore Software Attestation Root";

const GOOGLE_RSA: &str = include_str!("../roots/google-hardware-attestation-root-rsa.pem");
const GOOGLE_EC: &str = include_str!("../roots/google-key-attestation-ca1-ec.pem");
const APPLE_APP_ATTEST: &str = include_str!("../roots/apple-app-attestation-root-ca.pem");

/// A trusted root: a self-signed certificate whose key anchors attestation chains. A
/// chain's own copy of a root is matched by its key; the configured copy's validity
/// and path length are the ones that count.
#[derive(Clone, Debug)]
pub struct Root {
    name: String,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    not_before: u64,
    not_after: u64,
    path_len: Option<u8>,
    fingerprint: [u8; 32],
}

impl Root {
    /// A root from its DER certificate, named for verdicts and logs. It must be
    /// self-issued and self-signed (a corrupted or substituted file fails here, not at
    /// the first phone), and a CA if it says what it is.
    pub fn from_der(name: &str, der: &[u8]) -> Result<Root, AttestationError> {
        let cert = Cert::parse(der)?;
        if !cert.is_self_issued() {
            return Err(AttestationError::Chain("a configured root is not self-issued"));
        }
        // Google's software attestation roots: their private keys ship in Android's
        // source, so anything "attested" under them is forgeable by anyone (the RSA one,
        // 1024 bits, is refused by the key size rule below).
        if cert
            .subject_attribute_values(&ATTR_COMMON_NAME)
            .iter()
            .any(|cn| cn.eq_ignore_ascii_case(SOFTWARE_ROOT_CN.as_bytes()))
        {
            return Err(AttestationError::Unsupported(
                "Google's software attestation root, whose private key is public, as a trusted root",
            ));
        }
        if !cert.signed_by(cert.spki())? {
            return Err(AttestationError::Signature(0));
        }
        let (ca, path_len) = cert.basic_constraints()?.unwrap_or((true, None));
        if !ca {
            return Err(AttestationError::Chain("a configured root is not a CA"));
        }
        Ok(Root {
            name: name.to_string(),
            subject: cert.subject().clone(),
            spki: cert.spki().clone(),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            path_len,
            fingerprint: Sha256::digest(cert.der()).into(),
        })
    }

    /// Every certificate of a PEM text as a root, named `name`, `name#2`, ...
    pub fn from_pem(name: &str, pem: &str) -> Result<Vec<Root>, AttestationError> {
        let ders = pem_certificates(pem)?;
        if ders.is_empty() {
            return Err(AttestationError::Malformed("no certificate in the PEM text"));
        }
        ders.iter()
            .enumerate()
            .map(|(i, der)| {
                let n = if i == 0 { name.to_string() } else { format!("{name}#{}", i + 1) };
                Root::from_der(&n, der)
            })
            .collect()
    }

    /// The name given at configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the root certificate's DER, as published fingerprints are written.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// End of the configured copy's validity (Unix seconds).
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    /// Start of the configured copy's validity (Unix seconds).
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    pub(crate) fn subject(&self) -> &Name {
        &self.subject
    }

    pub(crate) fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    pub(crate) fn path_len(&self) -> Option<u8> {
        self.path_len
    }
}

/// The roots an issuer trusts, per attestation format.
#[derive(Clone, Debug, Default)]
pub struct Roots {
    /// Roots of Android key attestation chains.
    pub android: Vec<Root>,
    /// Roots of Apple App Attest certificates.
    pub apple: Vec<Root>,
}

impl Roots {
    /// The defaults: Google's hardware attestation roots (the RSA root, in its 2022
    /// certificate valid to 2042, which also anchors chains that carry its 2016 and
    /// 2019 copies of the same key, and the EC root "Key Attestation CA1" of 2025) for
    /// Android, Apple's App Attestation Root CA for Apple.
    pub fn builtin() -> Result<Roots, AttestationError> {
        Ok(Roots { android: Roots::google()?, apple: Roots::apple()? })
    }

    /// Google's two hardware attestation roots.
    pub fn google() -> Result<Vec<Root>, AttestationError> {
        let mut roots = Root::from_pem("google-hardware-attestation-rsa", GOOGLE_RSA)?;
        roots.extend(Root::from_pem("google-key-attestation-ca1", GOOGLE_EC)?);
        Ok(roots)
    }

    /// Apple's App Attestation Root CA.
    pub fn apple() -> Result<Vec<Root>, AttestationError> {
        Root::from_pem("apple-app-attestation-root", APPLE_APP_ATTEST)
    }

    /// Adds the roots of a PEM text (a vendor's attestation root, for phones sold
    /// without Google services) to the Android set.
    pub fn add_android_pem(&mut self, name: &str, pem: &str) -> Result<(), AttestationError> {
        self.android.extend(Root::from_pem(name, pem)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
    }

    #[test]
    fn the_builtin_roots_are_the_published_ones_and_verify_their_own_signatures() {
        // Root::from_der checks each self-signature: RSA-4096 PKCS#1 v1.5 with SHA-256
        // (Google's RSA root) and ECDSA P-384 with SHA-384 (Google's EC root, Apple's).
        let roots = Roots::builtin().unwrap();
        let fingerprints: Vec<String> =
            roots.android.iter().chain(&roots.apple).map(|r| hex(&r.fingerprint())).collect();
        assert_eq!(
            fingerprints,
            [
                "CE:DB:1C:B6:DC:89:6A:E5:EC:79:73:48:BC:E9:28:67:53:C2:B3:8E:E7:1C:E0:FB:E3:4A:9A:12:48:80:0D:FC",
                "6D:9D:B4:CE:6C:5C:0B:29:31:66:D0:89:86:E0:57:74:A8:77:6C:EB:52:5D:9E:43:29:52:0D:E1:2B:A4:BC:C0",
                "1C:B9:82:3B:A2:8B:A6:AD:2D:33:A0:06:94:1D:E2:AE:4F:51:3E:F1:D4:E8:31:B9:F7:E0:FA:7B:62:42:C9:32",
            ]
        );
        // Valid to 2042-03-15, 2035-07-15 and 2045-03-15.
        let ends: Vec<u64> = roots.android.iter().chain(&roots.apple).map(Root::not_after).collect();
        assert_eq!(ends, [2278519668, 2068151538, 2373148800]);
    }

    #[test]
    fn a_root_whose_signature_or_encoding_is_damaged_is_refused() {
        for pem in [GOOGLE_RSA, GOOGLE_EC, APPLE_APP_ATTEST] {
            let der = pem_certificates(pem).unwrap().remove(0);
            // A bit of the signature (the last byte), then a bit of the signed part
            // (inside the subject public key, well before the end of the TBS).
            let mut sig = der.clone();
            *sig.last_mut().unwrap() ^= 1;
            assert!(
                matches!(
                    Root::from_der("x", &sig),
                    Err(AttestationError::Signature(0) | AttestationError::Malformed(_))
                ),
                "{:?}",
                Root::from_der("x", &sig)
            );
            let mut tbs = der.clone();
            let at = der.len() / 2;
            tbs[at] ^= 0x01;
            assert!(Root::from_der("x", &tbs).is_err());
            // Trailing bytes and truncation.
            let mut long = der.clone();
            long.push(0);
            assert!(matches!(Root::from_der("x", &long), Err(AttestationError::Malformed(_))));
            assert!(matches!(Root::from_der("x", &der[..der.len() - 1]), Err(AttestationError::Malformed(_))));
        }
        assert!(Root::from_pem("x", "no pem here").is_err());
    }
}
