//! Issuance requests that prove possession of the device key (SPEC.md §4.7).
//!
//! An issuer must not bind cards to a key nobody has shown to hold: a phone could ask
//! for a credential on another phone's key (whose codes it cannot sign, but whose
//! holder then carries claims that are not theirs), or a request could replay a key
//! seen elsewhere. So the holder signs the issuer's fresh challenge with the device key
//! (each key of a batch), and [`Issuer::issue`](crate::Issuer::issue) takes only a
//! [`ProvenKey`], which [`KeyRequest::verify`] alone makes.

use crate::digest::{Input, signing_input as build};
use crate::error::{Error, Reason, Rejection};
use crate::keys::{Algorithm, DeviceSigner, PublicKey, SIGNATURE_LEN};
use crate::wire::{Reader, Writer};

/// Format version of key requests.
pub(crate) const KEY_REQUEST_VERSION: u8 = 1;
/// Shortest challenge an issuer may give (16 random bytes).
pub const MIN_CHALLENGE_LEN: usize = 16;
/// Longest challenge.
pub const MAX_CHALLENGE_LEN: usize = 64;

/// A device key with a signature over an issuer's challenge: what a holder sends to be
/// issued a credential. Encoded as `version ‖ alg ‖ key ‖ signature` (SPEC.md §4.7); the
/// challenge is not in it, the issuer holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    /// The device key the credential is to be bound to.
    pub device_key: PublicKey,
    signature: [u8; SIGNATURE_LEN],
}

/// A device key whose holder proved possession by signing the issuer's challenge. Only
/// [`KeyRequest::verify`] makes one; [`crate::CredentialRequest`] takes nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenKey(PublicKey);

impl ProvenKey {
    /// Possession proven of a key at hand, where one process is both issuer and holder
    /// (an operator's tool with the device key file, fixtures, the demo): the handshake
    /// run in place with a fresh random challenge.
    pub fn by_signing(device: &dyn DeviceSigner) -> Result<Self, Error> {
        let challenge = random_challenge()?;
        Ok(KeyRequest::sign(device, &challenge)?.verify(&challenge)?)
    }

    /// The proven device key.
    pub fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

/// A fresh challenge for an issuer to give a holder, once: 32 bytes from the operating
/// system's random source.
pub fn random_challenge() -> Result<[u8; 32], Error> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(|_| Error::Random)?;
    Ok(challenge)
}

/// `label ‖ alg ‖ key ‖ challenge` ([`Input::KeyRequest`]), after checking the challenge's length.
fn signing_input(key: &PublicKey, challenge: &[u8]) -> Result<Vec<u8>, Reason> {
    if !(MIN_CHALLENGE_LEN..=MAX_CHALLENGE_LEN).contains(&challenge.len()) {
        return Err(Reason::Malformed);
    }
    Ok(build(Input::KeyRequest, &[&[key.algorithm().id()], &key.to_bytes(), challenge]))
}

impl KeyRequest {
    /// The holder's side: signs the issuer's `challenge` (16 to 64 bytes) with the
    /// device key, in secure hardware or software alike.
    pub fn sign(signer: &dyn DeviceSigner, challenge: &[u8]) -> Result<Self, Error> {
        let device_key = signer.public_key();
        let signature = crate::keys::signature_by(signer, &KeyRequest::signing_input(&device_key, challenge)?)?;
        Ok(KeyRequest { device_key, signature })
    }

    /// The bytes the device key signs for `challenge`, for a signer that is called
    /// asynchronously (behind a biometric prompt); then [`KeyRequest::from_signed`].
    pub fn signing_input(device_key: &PublicKey, challenge: &[u8]) -> Result<Vec<u8>, Error> {
        signing_input(device_key, challenge)
            .map_err(|_| Error::OutOfRange(format!("a challenge is {MIN_CHALLENGE_LEN} to {MAX_CHALLENGE_LEN} bytes")))
    }

    /// The request from a signature over [`KeyRequest::signing_input`] (DER or `r ‖ s`
    /// for P-256 and SM2, as keystores return them), checked before use.
    pub fn from_signed(device_key: PublicKey, challenge: &[u8], signature: &[u8]) -> Result<Self, Error> {
        let signature = crate::keys::signature_from_keystore(device_key.algorithm(), signature)?;
        let request = KeyRequest { device_key, signature };
        request
            .verify(challenge)
            .map_err(|_| Error::Signer("the signature does not verify under the signer's public key".into()))?;
        Ok(request)
    }

    /// The issuer's side: the key, if it is of prime order and the request's signature
    /// verifies over `challenge` (the one this issuer gave this holder, used once). An
    /// Ed25519 key with a torsion component is `invalid_device_key`
    /// ([`PublicKey::has_prime_order`]: one secret would pass for 8 distinct keys in a
    /// batch); a signature over another challenge, by another key, or altered, is
    /// `bad_device_signature`.
    pub fn verify(&self, challenge: &[u8]) -> Result<ProvenKey, Rejection> {
        if !self.device_key.has_prime_order() {
            return Err(Rejection::new(
                Reason::InvalidDeviceKey,
                "the device key has a torsion component: not of prime order (SPEC.md §4.7)",
            ));
        }
        let input = signing_input(&self.device_key, challenge).map_err(|r| Rejection::new(r, "challenge length"))?;
        if !self.device_key.verify(&input, &self.signature) {
            return Err(Rejection::new(Reason::BadDeviceSignature, "the key request's signature does not verify"));
        }
        Ok(ProvenKey(self.device_key.clone()))
    }

    /// The binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let key = self.device_key.to_bytes();
        let mut w = Writer::with_capacity(2 + key.len() + SIGNATURE_LEN);
        w.u8(KEY_REQUEST_VERSION).u8(self.device_key.algorithm().id()).bytes(&key).bytes(&self.signature);
        w.buf
    }

    /// Parses the binary encoding: version 1, a valid key (§4.2), 64 signature bytes,
    /// nothing after.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Rejection> {
        let parse = || -> Result<Self, Reason> {
            let mut r = Reader::new(bytes);
            if r.u8()? != KEY_REQUEST_VERSION {
                return Err(Reason::UnsupportedVersion);
            }
            let alg = Algorithm::from_id(r.u8()?)?;
            let device_key = PublicKey::from_bytes(alg, r.take(alg.public_key_len())?)?;
            let signature = r.array()?;
            r.finish()?;
            Ok(KeyRequest { device_key, signature })
        };
        parse().map_err(|r| Rejection::new(r, "key request structure"))
    }

    /// As base64url, for JSON and HTTP.
    pub fn to_base64url(&self) -> String {
        crate::text::encode_base64url(&self.to_bytes())
    }

    /// Decodes [`KeyRequest::to_base64url`].
    pub fn from_base64url(text: &str) -> Result<Self, Rejection> {
        KeyRequest::from_bytes(&crate::text::decode_base64url(text).map_err(Rejection::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyPair;

    const CHALLENGE: [u8; 16] = *b"issuer-challenge";

    #[test]
    fn a_request_proves_its_key_for_its_challenge_only() {
        for alg in Algorithm::ALL {
            let device = KeyPair::from_secret_bytes(alg, &[3u8; 32]).unwrap();
            let request = KeyRequest::sign(&device, &CHALLENGE).unwrap();
            let parsed = KeyRequest::from_bytes(&request.to_bytes()).unwrap();
            assert_eq!(parsed, request);
            assert_eq!(KeyRequest::from_base64url(&request.to_base64url()).unwrap(), request);
            assert_eq!(parsed.verify(&CHALLENGE).unwrap().public_key(), &device.public_key());
            // Another challenge, one bit of the signature, another key: refused.
            let mut other = CHALLENGE;
            other[0] ^= 1;
            assert_eq!(parsed.verify(&other).unwrap_err().reason, Reason::BadDeviceSignature);
            let mut bytes = request.to_bytes();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            assert_eq!(
                KeyRequest::from_bytes(&bytes).unwrap().verify(&CHALLENGE).unwrap_err().reason,
                Reason::BadDeviceSignature
            );
            let thief = KeyPair::from_secret_bytes(alg, &[4u8; 32]).unwrap();
            let stolen = KeyRequest { device_key: thief.public_key(), ..request.clone() };
            assert_eq!(stolen.verify(&CHALLENGE).unwrap_err().reason, Reason::BadDeviceSignature);
            // The asynchronous path gives the same request, and checks the signature.
            let input = KeyRequest::signing_input(&device.public_key(), &CHALLENGE).unwrap();
            assert_eq!(
                KeyRequest::from_signed(device.public_key(), &CHALLENGE, &device.sign(&input)).unwrap(),
                request
            );
            assert!(matches!(
                KeyRequest::from_signed(device.public_key(), &other, &device.sign(&input)),
                Err(Error::Signer(_))
            ));
            // A challenge of the wrong length is refused on both sides.
            assert!(matches!(KeyRequest::sign(&device, &[0u8; 15]), Err(Error::OutOfRange(_))));
            assert!(KeyRequest::sign(&device, &[0u8; 65]).is_err());
            assert_eq!(parsed.verify(&[0u8; 15]).unwrap_err().reason, Reason::Malformed);
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_their_reason() {
        let device = KeyPair::from_secret_bytes(Algorithm::Ed25519, &[3u8; 32]).unwrap();
        let bytes = KeyRequest::sign(&device, &CHALLENGE).unwrap().to_bytes();
        let reason = |b: &[u8]| KeyRequest::from_bytes(b).unwrap_err().reason;
        assert_eq!(reason(&bytes[..bytes.len() - 1]), Reason::Truncated);
        assert_eq!(reason(&[bytes.as_slice(), &[0]].concat()), Reason::TrailingBytes);
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert_eq!(reason(&v2), Reason::UnsupportedVersion);
        let mut alg = bytes.clone();
        alg[1] = 9;
        assert_eq!(reason(&alg), Reason::UnsupportedAlgorithm);
        // A small-order Ed25519 key (the identity point) never parses.
        let mut weak = bytes.clone();
        weak[2..34].copy_from_slice(&[
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(reason(&weak), Reason::InvalidDeviceKey);
    }

    /// An Ed25519 signature over `message` by the secret of `seed`, with `key` hashed as
    /// the public key (RFC 8032 with another `A`): how the holder of one secret signs
    /// for `A + T`.
    fn sign_as(seed: [u8; 32], key: &[u8; 32], message: &[u8]) -> [u8; 64] {
        use curve25519_dalek::{EdwardsPoint, Scalar};
        use sha2::{Digest, Sha512};
        let h = Sha512::digest(seed);
        let (low, prefix) = h.split_at(32);
        let mut a = [0u8; 32];
        a.copy_from_slice(low);
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a);
        let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(message));
        let big_r = EdwardsPoint::mul_base(&r).compress();
        let k = Scalar::from_hash(Sha512::new().chain_update(big_r.as_bytes()).chain_update(key).chain_update(message));
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(big_r.as_bytes());
        sig[32..].copy_from_slice((r + k * a).as_bytes());
        sig
    }

    /// Issue 24, item 10: with the cofactored equation, `A + T` (T of order 8) verifies
    /// every signature of `A`'s secret, so one secret passed for 8 distinct keys, with 8
    /// key ids, in one batch. Only the prime-order key is accepted now.
    #[test]
    fn one_secret_cannot_pass_for_eight_device_keys() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        use curve25519_dalek::edwards::CompressedEdwardsY;
        let seed = [9u8; 32];
        let honest = KeyPair::from_secret_bytes(Algorithm::Ed25519, &seed).unwrap().public_key();
        let a = CompressedEdwardsY(honest.to_bytes().try_into().unwrap()).decompress().unwrap();
        let mut ids = std::collections::HashSet::new();
        let mut proven = Vec::new();
        for t in EIGHT_TORSION {
            let bytes = (a + t).compress().to_bytes();
            // Each parses (none is of small order) and has its own key id...
            let key = PublicKey::from_bytes(Algorithm::Ed25519, &bytes).unwrap();
            ids.insert(key.key_id());
            let input = signing_input(&key, &CHALLENGE).unwrap();
            let request = KeyRequest { device_key: key.clone(), signature: sign_as(seed, &bytes, &input) };
            // ...and its signature verifies: only the prime-order rule tells them apart.
            assert!(key.verify(&input, &request.signature));
            assert_eq!(key.has_prime_order(), key == honest);
            match KeyRequest::from_bytes(&request.to_bytes()).unwrap().verify(&CHALLENGE) {
                Ok(p) => proven.push(p.public_key().clone()),
                Err(e) => assert_eq!(e.reason, Reason::InvalidDeviceKey),
            }
        }
        assert_eq!(ids.len(), 8);
        assert_eq!(proven, vec![honest]);
        // P-256 and SM2 curves have cofactor 1: every valid key is of prime order.
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Sm2Sm3] {
            assert!(KeyPair::from_secret_bytes(alg, &seed).unwrap().public_key().has_prime_order());
        }
    }

    #[test]
    fn every_challenge_is_fresh() {
        // A constant challenge would let a request signed once be replayed to any issuer.
        let challenges: Vec<[u8; 32]> = (0..4).map(|_| random_challenge().unwrap()).collect();
        for (i, a) in challenges.iter().enumerate() {
            assert!(challenges[i + 1..].iter().all(|b| b != a), "challenge {i} repeats");
        }
    }

    #[test]
    fn a_key_request_signature_is_no_code_or_card_signature() {
        // Domain separation: the signed input starts with its own label.
        let device = KeyPair::from_secret_bytes(Algorithm::Ed25519, &[3u8; 32]).unwrap();
        let input = signing_input(&device.public_key(), &CHALLENGE).unwrap();
        assert!(input.starts_with(b"citycode/v1/key-request\0"));
        for label in [crate::digest::LABEL_CARD, crate::digest::LABEL_CODE] {
            assert!(!input.starts_with(label));
        }
    }
}
