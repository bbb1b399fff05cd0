//! Apple App Attest (SPEC.md §4.10.5): the attestation object `DCAppAttestService`
//! returns, whose credential certificate chains to Apple's App Attestation Root CA and
//! whose nonce is SHA-256 of the authenticator data and the client data hash.
//!
//! App Attest attests the app's own App Attest key, which can only sign assertions; the
//! citycode device key is a separate Secure Enclave key the app creates. The binding is
//! the client data hash, which covers the device key ([`crate::binding`]): a genuine
//! instance of the city's app, on a genuine Apple device, vouches for the key.

use citycode::{Algorithm, PublicKey};
use der::asn1::{AnyRef, ObjectIdentifier as Oid};

use crate::x509::octets_der;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AttestationError;
use crate::policy::AttestationPolicy;
use crate::roots::Root;
use crate::x509::{Cert, KeyKind, LeafIssuer, public_key, verify_path};

/// OID of the App Attest nonce extension in the credential certificate.
pub const NONCE_OID: Oid = Oid::new_unwrap("1.2.840.113635.100.8.2");
/// `aaguid` of production attestations.
pub const AAGUID_PRODUCTION: [u8; 16] = *b"appattest\0\0\0\0\0\0\0";
/// `aaguid` of development attestations.
pub const AAGUID_DEVELOPMENT: [u8; 16] = *b"appattestdevelop";
/// Longest App Attest object accepted (real ones are about 5 KiB).
pub const MAX_OBJECT_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 8;

/// The App Attest environment an attestation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Apps from the App Store, TestFlight, enterprise distribution.
    Production,
    /// Apps built for development.
    Development,
}

/// What a verified App Attest attestation proves (part of an
/// [`AttestationVerdict`](crate::AttestationVerdict)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppleFacts {
    /// The attested app (`TEAMID.bundle.id`).
    pub app_id: String,
    /// Production or development.
    pub environment: Environment,
    /// The App Attest key id (SHA-256 of its public key), base64, as the app knows it.
    pub key_id: String,
}

/// An App Attest attestation object as received: parsed, nothing verified.
#[derive(Clone, Debug)]
pub struct AppleAttestation {
    certs: Vec<Cert>,
    auth_data: Vec<u8>,
    rp_id_hash: [u8; 32],
    sign_count: u32,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    receipt: Vec<u8>,
}

impl AppleAttestation {
    /// Parses the CBOR attestation object: a map of exactly `fmt`
    /// (`"apple-appattest"`), `attStmt` (`x5c`, `receipt`) and `authData`, definite
    /// lengths, minimal heads, no key twice; the authenticator data with attested
    /// credential data and nothing after the credential public key.
    pub fn parse(object: &[u8]) -> Result<AppleAttestation, AttestationError> {
        if object.len() > MAX_OBJECT_LEN {
            return Err(AttestationError::Malformed("an App Attest object is longer than 64 KiB"));
        }
        let mut c = Cbor::new(object);
        let (mut fmt, mut x5c, mut receipt, mut auth_data) = (None, None, None, None);
        let n = c.map_len()?;
        let mut seen = Vec::new();
        for _ in 0..n {
            let key = c.text()?;
            if seen.contains(&key) {
                return Err(AttestationError::Malformed("an App Attest object has a key twice"));
            }
            seen.push(key);
            match key {
                "fmt" => fmt = Some(c.text()?),
                "authData" => auth_data = Some(c.bytes()?),
                "attStmt" => {
                    let m = c.map_len()?;
                    let mut inner = Vec::new();
                    for _ in 0..m {
                        let k = c.text()?;
                        if inner.contains(&k) {
                            return Err(AttestationError::Malformed("an attestation statement has a key twice"));
                        }
                        inner.push(k);
                        match k {
                            "x5c" => {
                                let len = c.array_len()?;
                                if len > crate::x509::MAX_CHAIN_LEN as u64 {
                                    return Err(AttestationError::Chain("more than eight certificates"));
                                }
                                let mut certs = Vec::new();
                                for _ in 0..len {
                                    certs.push(c.bytes()?);
                                }
                                x5c = Some(certs);
                            }
                            "receipt" => receipt = Some(c.bytes()?),
                            _ => return Err(AttestationError::Malformed("an unknown attestation statement key")),
                        }
                    }
                }
                _ => return Err(AttestationError::Malformed("an unknown App Attest object key")),
            }
        }
        c.finish()?;
        if fmt != Some("apple-appattest") {
            return Err(AttestationError::Malformed("fmt is not apple-appattest"));
        }
        let (Some(x5c), Some(receipt), Some(auth_data)) = (x5c, receipt, auth_data) else {
            return Err(AttestationError::Malformed("an App Attest object lacks x5c, receipt or authData"));
        };
        let certs = x5c.iter().map(|der| Cert::parse(der)).collect::<Result<Vec<_>, _>>()?;
        // authData: rpIdHash(32) flags(1) signCount(4) aaguid(16) credIdLen(2) credId COSE_Key.
        let mut a = Bytes(auth_data);
        let rp_id_hash: [u8; 32] = a.array()?;
        let [flags] = a.array::<1>()?;
        let sign_count = u32::from_be_bytes(a.array()?);
        if flags & 0x40 == 0 || flags & 0x80 != 0 {
            return Err(AttestationError::Malformed("authData flags: attested data missing, or extensions present"));
        }
        let aaguid: [u8; 16] = a.array()?;
        let id_len = u16::from_be_bytes(a.array()?);
        let credential_id = a.take(usize::from(id_len))?.to_vec();
        let mut key = Cbor::new(a.0);
        key.skip(0)?;
        key.finish()?;
        Ok(AppleAttestation {
            certs,
            auth_data: auth_data.to_vec(),
            rp_id_hash,
            sign_count,
            aaguid,
            credential_id,
            receipt: receipt.to_vec(),
        })
    }

    /// The App Attest receipt, unverified: this verifier does not read it; an issuer may
    /// send it to Apple's fraud metric service.
    pub fn untrusted_receipt(&self) -> &[u8] {
        &self.receipt
    }

    /// Verifies the attestation for the citycode binding (SPEC.md §4.10.5): the client
    /// data hash of `challenge` and `device_key`, which must be a P-256 key (the Secure
    /// Enclave's).
    pub fn verify(
        &self,
        challenge: &[u8],
        device_key: &PublicKey,
        policy: &AttestationPolicy,
        roots: &[Root],
        now: u64,
    ) -> Result<(AppleFacts, String), AttestationError> {
        let client_data_hash = crate::binding::apple_client_data_hash(challenge, device_key)?;
        if device_key.algorithm() != Algorithm::EcdsaP256Sha256 {
            return Err(AttestationError::KeyMismatch);
        }
        self.verify_client_data_hash(&client_data_hash, policy, roots, now)
    }

    /// Verifies the attestation over a given client data hash, in the order of SPEC.md
    /// §4.10.5: the path to one of `roots` at `now`, the nonce, the key id, the app, the
    /// counter, the environment. [`AppleAttestation::verify`] is this with citycode's
    /// binding; apps that hash something else (public test data) use this.
    pub fn verify_client_data_hash(
        &self,
        client_data_hash: &[u8; 32],
        policy: &AttestationPolicy,
        roots: &[Root],
        now: u64,
    ) -> Result<(AppleFacts, String), AttestationError> {
        let path = verify_path(&self.certs, roots, now, None, LeafIssuer::MustBeCa, &[])?;
        let leaf = self.certs.first().ok_or(AttestationError::Chain("empty chain"))?;
        let (_, nonce_ext) = leaf.extension(&NONCE_OID).ok_or(AttestationError::Malformed("no App Attest nonce"))?;
        let nonce = parse_nonce(nonce_ext)?;
        let mut h = Sha256::new();
        h.update(&self.auth_data);
        h.update(client_data_hash);
        if nonce != h.finalize().as_slice() {
            return Err(AttestationError::Challenge);
        }
        let (kind, point) = public_key(leaf.spki())?;
        if kind != KeyKind::P256 || Sha256::digest(point).as_slice() != self.credential_id {
            return Err(AttestationError::KeyMismatch);
        }
        let app_id = policy
            .apple_app_ids
            .iter()
            .find(|id| Sha256::digest(id.as_bytes()).as_slice() == self.rp_id_hash)
            .ok_or(AttestationError::AppId)?;
        if self.sign_count != 0 {
            return Err(AttestationError::Malformed("an attestation's counter is not zero"));
        }
        let environment = match self.aaguid {
            AAGUID_PRODUCTION => Environment::Production,
            AAGUID_DEVELOPMENT if policy.allow_apple_development => Environment::Development,
            AAGUID_DEVELOPMENT => return Err(AttestationError::Environment),
            _ => return Err(AttestationError::Malformed("an unknown aaguid")),
        };
        use base64::Engine as _;
        let key_id = base64::engine::general_purpose::STANDARD.encode(&self.credential_id);
        Ok((AppleFacts { app_id: app_id.clone(), environment, key_id }, path.root_name))
    }
}

/// `SEQUENCE { [1] EXPLICIT OCTET STRING nonce }`.
fn parse_nonce(value: &[u8]) -> Result<Vec<u8>, AttestationError> {
    let mut r = SliceReader::new(value)?;
    let nonce = r.sequence(|r| {
        let tagged = AnyRef::decode(r)?;
        if tagged.tag() != (Tag::ContextSpecific { constructed: true, number: der::TagNumber(1) }) {
            return Err(AttestationError::Malformed("the App Attest nonce is not [1]"));
        }
        Ok(octets_der(tagged.value())?.to_vec())
    })?;
    r.finish()?;
    Ok(nonce)
}

/// A byte cursor that cannot panic.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AttestationError> {
        if self.0.len() < n {
            return Err(AttestationError::Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AttestationError> {
        self.take(N)?.try_into().map_err(|_| AttestationError::Malformed("truncated"))
    }
}

/// The CBOR this format uses (RFC 8949): definite lengths, minimal heads, unsigned and
/// negative integers, byte and text strings, arrays, maps. Tags, floats and simple
/// values are refused.
struct Cbor<'a> {
    b: Bytes<'a>,
}

impl<'a> Cbor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cbor { b: Bytes(bytes) }
    }

    fn head(&mut self) -> Result<(u8, u64), AttestationError> {
        let [first] = self.b.array::<1>()?;
        let (major, info) = (first >> 5, first & 0x1f);
        let value = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.b.array::<1>()?[0]),
            25 => u64::from(u16::from_be_bytes(self.b.array()?)),
            26 => u64::from(u32::from_be_bytes(self.b.array()?)),
            27 => u64::from_be_bytes(self.b.array()?),
            _ => return Err(AttestationError::Malformed("CBOR indefinite length or reserved value")),
        };
        let minimal = match info {
            24 => value >= 24,
            25 => value > 0xff,
            26 => value > 0xffff,
            27 => value > 0xffff_ffff,
            _ => true,
        };
        if !minimal {
            return Err(AttestationError::Malformed("CBOR head is not minimal"));
        }
        Ok((major, value))
    }

    fn expect(&mut self, major: u8) -> Result<u64, AttestationError> {
        let (m, v) = self.head()?;
        if m != major {
            return Err(AttestationError::Malformed("unexpected CBOR type"));
        }
        Ok(v)
    }

    fn len(&mut self, major: u8) -> Result<usize, AttestationError> {
        let v = self.expect(major)?;
        let n = usize::try_from(v).map_err(|_| AttestationError::Malformed("CBOR length"))?;
        if n > self.b.0.len() {
            return Err(AttestationError::Malformed("truncated"));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8], AttestationError> {
        let n = self.len(2)?;
        self.b.take(n)
    }

    fn text(&mut self) -> Result<&'a str, AttestationError> {
        let n = self.len(3)?;
        std::str::from_utf8(self.b.take(n)?).map_err(|_| AttestationError::Malformed("CBOR text is not UTF-8"))
    }

    fn array_len(&mut self) -> Result<u64, AttestationError> {
        Ok(self.len(4)? as u64)
    }

    fn map_len(&mut self) -> Result<u64, AttestationError> {
        Ok(self.len(5)? as u64)
    }

    /// Skips one item, nesting at most [`MAX_DEPTH`].
    fn skip(&mut self, depth: usize) -> Result<(), AttestationError> {
        if depth > MAX_DEPTH {
            return Err(AttestationError::Malformed("CBOR nested too deeply"));
        }
        let (major, v) = self.head()?;
        let n = usize::try_from(v).map_err(|_| AttestationError::Malformed("CBOR length"))?;
        match major {
            0 | 1 => Ok(()),
            2 | 3 => self.b.take(n).map(|_| ()),
            4 | 5 => {
                if n > self.b.0.len() {
                    return Err(AttestationError::Malformed("truncated"));
                }
                let items = if major == 5 { n * 2 } else { n };
                (0..items).try_for_each(|_| self.skip(depth + 1))
            }
            _ => Err(AttestationError::Malformed("CBOR tags, floats and simple values are not allowed here")),
        }
    }

    fn finish(&self) -> Result<(), AttestationError> {
        if self.b.0.is_empty() { Ok(()) } else { Err(AttestationError::Malformed("trailing bytes")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_heads_must_be_minimal_and_definite() {
        assert_eq!(Cbor::new(&[0x18, 0x18]).head().unwrap(), (0, 24));
        assert!(Cbor::new(&[0x18, 0x17]).head().is_err());
        assert!(Cbor::new(&[0x19, 0x00, 0xff]).head().is_err());
        assert!(Cbor::new(&[0x5f]).head().is_err());
        assert!(Cbor::new(&[0x1c]).head().is_err());
        assert!(Cbor::new(&[]).head().is_err());
        // A byte string claiming more than remains, a map nested too deep, a tag.
        assert!(Cbor::new(&[0x45, 1, 2]).bytes().is_err());
        assert!(Cbor::new(&[0xa1; 20]).skip(0).is_err());
        assert!(Cbor::new(&[0xc1, 0x00]).skip(0).is_err());
        let mut ok = Cbor::new(&[0xa2, 0x01, 0x02, 0x20, 0x43, 1, 2, 3]);
        ok.skip(0).unwrap();
        ok.finish().unwrap();
    }

    #[test]
    fn attestation_objects_are_parsed_strictly() {
        // Objects that are not attestation objects at all.
        for bad in [&[][..], &[0xa0], &[0xa1, 0x63, b'f', b'm', b't', 0x61, b'x'], &[0x80]] {
            assert!(matches!(AppleAttestation::parse(bad), Err(AttestationError::Malformed(_))), "{bad:02x?}");
        }
    }
}
