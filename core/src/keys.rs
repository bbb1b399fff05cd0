//! Keys and signatures: algorithm ids, validated public keys, secret key pairs that
//! zeroize on drop, and the [`DeviceSigner`] trait for keys held outside Rust.

use core::fmt;

use zeroize::Zeroizing;

#[cfg(feature = "batch")]
pub(crate) use crate::alg::ed25519::Check as Ed25519Check;
use crate::alg::ed25519::Ed25519;
use crate::alg::p256::P256;
use crate::alg::sm2::Sm2Sm3;
pub use crate::alg::{Algorithm, SIGNATURE_LEN};
use crate::alg::{Scheme, weierstrass};
use crate::error::{Error, Reason};

/// A validated public key: on its curve, canonically encoded, not of small order.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(KeyInner);

/// One variant per algorithm module; SM2's key type is uninhabited in a build without
/// it (`alg/sm2_absent.rs`), so no arm below needs a `cfg`.
#[derive(Clone, PartialEq, Eq)]
enum KeyInner {
    Ed25519(<Ed25519 as Scheme>::PublicKey),
    P256(<P256 as Scheme>::PublicKey),
    Sm2(<Sm2Sm3 as Scheme>::PublicKey),
}

impl PublicKey {
    /// Parses and validates an encoded key of the given algorithm.
    ///
    /// Ed25519: 32 bytes that decompress to a point whose canonical re-encoding is the
    /// same bytes, and that is not of small order. P-256: 33 bytes of SEC1 compressed
    /// form (`02`/`03` prefix) naming a point on the curve. SM2: the same on the SM2
    /// curve (`unsupported_algorithm` in a build without feature `sm2`).
    pub fn from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, Reason> {
        Ok(PublicKey(match alg {
            Algorithm::Ed25519 => KeyInner::Ed25519(Ed25519::parse_public(bytes)?),
            Algorithm::EcdsaP256Sha256 => KeyInner::P256(P256::parse_public(bytes)?),
            Algorithm::Sm2Sm3 => KeyInner::Sm2(Sm2Sm3::parse_public(bytes)?),
        }))
    }

    /// An SM2 key from SEC1 bytes, compressed (33 bytes) or uncompressed (65 bytes, as
    /// SM2 security elements and signing devices export it).
    #[cfg(feature = "sm2")]
    pub fn from_sm2_sec1(bytes: &[u8]) -> Result<Self, Reason> {
        PublicKey::sm2_from_sec1(bytes)
    }

    /// [`PublicKey::from_sm2_sec1`] in every build (`unsupported_algorithm` without SM2).
    fn sm2_from_sec1(bytes: &[u8]) -> Result<Self, Reason> {
        match bytes {
            [0x04, ..] if bytes.len() == 65 => {
                PublicKey::from_bytes(Algorithm::Sm2Sm3, &crate::alg::sm2::compress(bytes)?)
            }
            _ => PublicKey::from_bytes(Algorithm::Sm2Sm3, bytes),
        }
    }

    /// A P-256 key from SEC1 bytes, compressed (33 bytes) or uncompressed (65 bytes,
    /// `04 || x || y`, as Android Keystore, the Secure Enclave and WebCrypto export it).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Reason> {
        match bytes {
            [0x04, ..] if bytes.len() == 65 => PublicKey::from_bytes(
                Algorithm::EcdsaP256Sha256,
                &weierstrass::compress::<weierstrass::P256>(bytes).ok_or(Reason::InvalidDeviceKey)?,
            ),
            _ => PublicKey::from_bytes(Algorithm::EcdsaP256Sha256, bytes),
        }
    }

    /// A key of `alg` as keystores and signing devices export it: the wire form, or for
    /// P-256 and SM2 also 65-byte uncompressed SEC1 (checked on its curve, then
    /// compressed).
    pub fn from_exported(alg: Algorithm, bytes: &[u8]) -> Result<Self, Reason> {
        match alg {
            Algorithm::Ed25519 => PublicKey::from_bytes(alg, bytes),
            Algorithm::EcdsaP256Sha256 => PublicKey::from_sec1(bytes),
            Algorithm::Sm2Sm3 => PublicKey::sm2_from_sec1(bytes),
        }
    }

    /// A key whose algorithm its length tells, as operators paste them: 32 bytes are
    /// Ed25519; 33 or 65 bytes are P-256 SEC1 ([`PublicKey::from_sec1`]). SM2 keys have
    /// the same lengths: name their algorithm ([`PublicKey::from_bytes`]).
    pub fn from_encoded(bytes: &[u8]) -> Result<Self, Reason> {
        match bytes.len() {
            32 => PublicKey::from_bytes(Algorithm::Ed25519, bytes),
            33 | 65 => PublicKey::from_sec1(bytes),
            _ => Err(Reason::Malformed),
        }
    }

    /// Whether the key is a point of the prime-order subgroup. P-256 and SM2 keys always
    /// are (their curves have cofactor 1); an Ed25519 key is unless it has a torsion
    /// component (`A + T`, `T` of order 2, 4 or 8). Under the cofactored equation (SPEC.md
    /// §4.2) `A + T` verifies every signature of `A`'s secret, so one secret would yield
    /// 8 keys with 8 key ids: issuers refuse such keys (SPEC.md §4.7). Costs one scalar
    /// multiplication for Ed25519.
    pub fn has_prime_order(&self) -> bool {
        match &self.0 {
            KeyInner::Ed25519(k) => Ed25519::has_prime_order(k),
            KeyInner::P256(k) => P256::has_prime_order(k),
            KeyInner::Sm2(k) => Sm2Sm3::has_prime_order(k),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            KeyInner::Ed25519(_) => Ed25519::ALGORITHM,
            KeyInner::P256(_) => P256::ALGORITHM,
            KeyInner::Sm2(_) => Sm2Sm3::ALGORITHM,
        }
    }

    /// The key's encoding on the wire (32 or 33 bytes, without the algorithm id).
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.0 {
            KeyInner::Ed25519(k) => Ed25519::encode_public(k),
            KeyInner::P256(k) => P256::encode_public(k),
            KeyInner::Sm2(k) => Sm2Sm3::encode_public(k),
        }
    }

    /// Verifies a signature over `message`. Strict: Ed25519 rejects non-canonical `S`,
    /// non-canonical or small-order `R`, and uses the cofactored equation (SPEC.md §4.2);
    /// ECDSA and SM2 reject `r` or `s` out of range.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0 {
            KeyInner::Ed25519(k) => Ed25519::verify(k, message, signature),
            KeyInner::P256(k) => P256::verify(k, message, signature),
            KeyInner::Sm2(k) => Sm2Sm3::verify(k, message, signature),
        }
    }

    /// The decoded Ed25519 signature, ready for a batch; `None` for another algorithm
    /// or a signature that fails strict decoding.
    #[cfg(feature = "batch")]
    pub(crate) fn ed25519_check(&self, message: &[u8], signature: &[u8]) -> Option<Ed25519Check> {
        let KeyInner::Ed25519(k) = &self.0 else { return None };
        Ed25519Check::new(k, message, signature)
    }

    /// This key's signature as a host's native ECDSA takes it (a [`P256Check`]), when
    /// the key is P-256 and the signature passes every structural check of SPEC.md §4.2
    /// (64 bytes, `r` and `s` in `[1, n - 1]`); `None` otherwise, and then only this
    /// library's [`PublicKey::verify`] may decide it.
    pub fn p256_check(&self, message: &[u8], signature: &[u8]) -> Option<P256Check> {
        let KeyInner::P256(key) = &self.0 else { return None };
        let signature: [u8; SIGNATURE_LEN] = signature.try_into().ok()?;
        weierstrass::signature_in_range::<weierstrass::P256>(&signature).then(|| P256Check {
            public_key: key.uncompressed,
            message: message.to_vec(),
            signature,
        })
    }

    /// A 16-byte identifier of this key: the first half of the digest (SHA-256, or SM3
    /// for an SM2 key) of `alg id || encoded key`. Revocation lists name stolen devices
    /// by it.
    pub fn key_id(&self) -> [u8; 16] {
        let mut input = Vec::with_capacity(34);
        input.push(self.algorithm().id());
        input.extend_from_slice(&self.to_bytes());
        crate::alg::digest_16(self.algorithm(), &input)
    }
}

/// One ECDSA P-256 / SHA-256 signature for a host that verifies P-256 in native code
/// (WebCrypto in browsers: `importKey("raw", public_key)`, then `verify` with SHA-256
/// over `message`; `node:crypto` in Node): the key uncompressed (`04 ‖ x ‖ y`) and validated on the
/// curve, and a signature already past SPEC.md §4.2's structural checks, so the host
/// computes only the equation. See [`crate::Verifier::p256_checks`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P256Check {
    /// SEC1 uncompressed, 65 bytes (WebCrypto's `raw` format).
    pub public_key: [u8; 65],
    /// The signed bytes (the host hashes them with SHA-256).
    pub message: Vec<u8>,
    /// `r ‖ s` (IEEE P1363, as WebCrypto takes it).
    pub signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}:{})", self.algorithm(), crate::text::hex(&self.to_bytes()))
    }
}

/// A secret signing key with its public half. Zeroized on drop; `Debug` prints only the
/// public key.
pub struct KeyPair {
    secret: Secret,
    public: PublicKey,
}

enum Secret {
    Ed25519(<Ed25519 as Scheme>::SecretKey),
    P256(<P256 as Scheme>::SecretKey),
    Sm2(<Sm2Sm3 as Scheme>::SecretKey),
}

impl KeyPair {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        loop {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut_slice()).map_err(|_| Error::Random)?;
            // A P-256 scalar that is zero or >= n (probability ~2^-32) is redrawn.
            if let Ok(pair) = KeyPair::from_secret_bytes(alg, seed.as_slice()) {
                return Ok(pair);
            }
        }
    }

    /// Rebuilds a key from its 32 secret bytes (an Ed25519 seed, or a P-256 or SM2
    /// scalar, big-endian), as returned by [`KeyPair::secret_bytes`].
    pub fn from_secret_bytes(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let bytes: Zeroizing<[u8; 32]> =
            Zeroizing::new(secret.try_into().map_err(|_| Error::OutOfRange("secret keys are 32 bytes".into()))?);
        let (secret, public) = match alg {
            Algorithm::Ed25519 => {
                let s = Ed25519::secret_from_bytes(&bytes)?;
                let p = KeyInner::Ed25519(Ed25519::public_of(&s)?);
                (Secret::Ed25519(s), p)
            }
            Algorithm::EcdsaP256Sha256 => {
                let s = P256::secret_from_bytes(&bytes)?;
                let p = KeyInner::P256(P256::public_of(&s)?);
                (Secret::P256(s), p)
            }
            Algorithm::Sm2Sm3 => {
                let s = Sm2Sm3::secret_from_bytes(&bytes)?;
                let p = KeyInner::Sm2(Sm2Sm3::public_of(&s)?);
                (Secret::Sm2(s), p)
            }
        };
        Ok(KeyPair { secret, public: PublicKey(public) })
    }

    /// The 32 secret bytes, for storage in a keystore. Zeroized when dropped.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        match &self.secret {
            Secret::Ed25519(k) => Ed25519::secret_bytes(k),
            Secret::P256(k) => P256::secret_bytes(k),
            Secret::Sm2(k) => Sm2Sm3::secret_bytes(k),
        }
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Signs `message`: Ed25519 (deterministic), or ECDSA P-256 or SM2 with RFC 6979
    /// nonces (deterministic too).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        match &self.secret {
            Secret::Ed25519(k) => Ed25519::sign(k, message),
            Secret::P256(k) => P256::sign(k, message),
            Secret::Sm2(k) => Sm2Sm3::sign(k, message),
        }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public_key()).field("secret", &"<redacted>").finish()
    }
}

/// Something that holds a key and signs with it: the built-in [`KeyPair`], a platform
/// keystore (Android Keystore, Secure Enclave, an SM2 security element) reached through
/// the bindings, or, for issuers and list signers, a certified signing device
/// ([`crate::Issuer::new`], [`crate::trust::TrustList::sign_with`]). The secret never
/// enters this library. Signatures go through [`signature_by`].
pub trait DeviceSigner {
    /// The device public key, which credentials are bound to.
    fn public_key(&self) -> PublicKey;
    /// Signs `message`; returns 64 bytes (`r || s` for P-256 and SM2). A keystore that
    /// returns DER can convert with [`p256_signature_from_der`] or
    /// [`sm2_signature_from_der`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
    /// Whether the holder checks each signature against the public key before using
    /// it. True by default, so a keystore that signs with the wrong key fails at once
    /// with a clear error instead of making codes that every verifier rejects. The
    /// built-in [`KeyPair`] returns false: its signatures cannot be wrong.
    fn check_signatures(&self) -> bool {
        true
    }
    /// Signs several messages and returns their signatures in the same order. The
    /// default signs them one after another; a signer that can sign concurrently (a
    /// PKCS#11 token with a pool of sessions) overrides it. Use [`signatures_by`], which
    /// converts and checks what this returns.
    fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
        messages.iter().map(|m| self.sign(m)).collect()
    }
}

impl DeviceSigner for KeyPair {
    fn public_key(&self) -> PublicKey {
        KeyPair::public_key(self)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(KeyPair::sign(self, message).to_vec())
    }
    fn check_signatures(&self) -> bool {
        false
    }
}

/// A borrowed signer signs as the signer it borrows (a [`crate::Wallet`] or a
/// [`crate::CredentialBatch`] over keys the app keeps elsewhere).
impl<T: DeviceSigner + ?Sized> DeviceSigner for &T {
    fn public_key(&self) -> PublicKey {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).sign(message)
    }
    fn check_signatures(&self) -> bool {
        (**self).check_signatures()
    }
    fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
        (**self).sign_many(messages)
    }
}

/// A boxed signer signs as the signer it holds (a service that reads from its
/// configuration whether a key is in a file or in a token).
impl<T: DeviceSigner + ?Sized> DeviceSigner for Box<T> {
    fn public_key(&self) -> PublicKey {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        (**self).sign(message)
    }
    fn check_signatures(&self) -> bool {
        (**self).check_signatures()
    }
    fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
        (**self).sign_many(messages)
    }
}

/// Signs `message` through `signer` and returns the 64-byte wire form. The signer may
/// be a phone keystore, or a certified signing device (an HSM, 密码机) holding an
/// issuer's or the root's key: a DER signature is converted (P-256, SM2), and unless the
/// signer says its signatures cannot be wrong ([`DeviceSigner::check_signatures`]) the
/// signature is checked against the signer's public key, so a device that signs with
/// another key or the wrong user id fails here, not at every verifier.
pub fn signature_by(signer: &dyn DeviceSigner, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    let key = signer.public_key();
    let signature = signature_from_keystore(key.algorithm(), &signer.sign(message)?)?;
    if signer.check_signatures() && !key.verify(message, &signature) {
        return Err(Error::Signer("the signature does not verify under the signer's public key".into()));
    }
    Ok(signature)
}

/// Signs every message through `signer` ([`DeviceSigner::sign_many`], concurrently where
/// the signer can) and returns the 64-byte wire forms in order, converted and checked as
/// [`signature_by`] does each: a signer that returns the wrong number of signatures, or
/// one that does not verify, fails the whole call. Ed25519 signatures under the one key
/// are checked together with the batch equation where the `batch` feature is on (a few
/// hundred issuer signatures cost a fraction of as many single checks).
pub fn signatures_by(signer: &dyn DeviceSigner, messages: &[&[u8]]) -> Result<Vec<[u8; SIGNATURE_LEN]>, Error> {
    let key = signer.public_key();
    let raw = signer.sign_many(messages)?;
    if raw.len() != messages.len() {
        return Err(Error::Signer(format!("{} signatures returned for {} messages", raw.len(), messages.len())));
    }
    let signatures =
        raw.iter().map(|s| signature_from_keystore(key.algorithm(), s)).collect::<Result<Vec<_>, Error>>()?;
    if signer.check_signatures() && !all_verify(&key, messages, &signatures) {
        return Err(Error::Signer("a signature does not verify under the signer's public key".into()));
    }
    Ok(signatures)
}

/// Whether every signature verifies under `key`: Ed25519 in one batch equation (with
/// the `batch` feature), the rest one by one.
fn all_verify(key: &PublicKey, messages: &[&[u8]], signatures: &[[u8; SIGNATURE_LEN]]) -> bool {
    #[cfg(feature = "batch")]
    if key.algorithm() == Algorithm::Ed25519 && messages.len() > 1 {
        let checks: Option<Vec<Ed25519Check>> =
            messages.iter().zip(signatures).map(|(m, s)| key.ed25519_check(m, s)).collect();
        return checks.is_some_and(|c| Ed25519Check::verify_batch(&c));
    }
    messages.iter().zip(signatures).all(|(m, s)| key.verify(m, s))
}

/// Converts an ASN.1 DER ECDSA P-256 signature (what Android Keystore, the Secure
/// Enclave and `java.security` return) to the 64-byte `r || s` form the wire carries.
pub fn p256_signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    crate::alg::p256::signature_from_der(der)
}

/// Converts an ASN.1 DER SM2 signature (`SEQUENCE { r INTEGER, s INTEGER }`, GM/T
/// 0009, what SM2 signing devices and BouncyCastle's `SM3withSM2` return) to the 64-byte
/// `r || s` form the wire carries. `r` and `s` must be in `[1, n - 1]`.
#[cfg(feature = "sm2")]
pub fn sm2_signature_from_der(der: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    crate::alg::sm2::signature_from_der(der)
}

/// A signature from a keystore in either form: 64 bytes are `r || s` already; anything
/// else is read as DER for the key's algorithm (Ed25519 signatures have no DER form).
pub fn signature_from_keystore(alg: Algorithm, signature: &[u8]) -> Result<[u8; SIGNATURE_LEN], Error> {
    if let Ok(raw) = <[u8; SIGNATURE_LEN]>::try_from(signature) {
        return Ok(raw);
    }
    match alg {
        Algorithm::Ed25519 => Ed25519::signature_from_der(signature),
        Algorithm::EcdsaP256Sha256 => P256::signature_from_der(signature),
        Algorithm::Sm2Sm3 => Sm2Sm3::signature_from_der(signature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::ed25519::is_canonical_y;

    #[test]
    fn p256_keys_parse_from_compressed_and_uncompressed_sec1() {
        let pair = KeyPair::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let key = pair.public_key();
        let uncompressed = match &key.0 {
            KeyInner::P256(k) => k.uncompressed,
            _ => unreachable!(),
        };
        assert_eq!(PublicKey::from_sec1(&uncompressed).unwrap(), key);
        assert_eq!(PublicKey::from_exported(Algorithm::EcdsaP256Sha256, &uncompressed).unwrap(), key);
        assert_eq!(PublicKey::from_sec1(&key.to_bytes()).unwrap(), key);
        assert_eq!(PublicKey::from_encoded(&uncompressed).unwrap(), key);
        let mut off = uncompressed;
        off[64] ^= 1;
        assert_eq!(PublicKey::from_sec1(&off), Err(Reason::InvalidDeviceKey));
        assert_eq!(PublicKey::from_sec1(&uncompressed[..64]), Err(Reason::Malformed));
        let ed = KeyPair::generate(Algorithm::Ed25519).unwrap().public_key();
        assert_eq!(PublicKey::from_encoded(&ed.to_bytes()).unwrap(), ed);
        assert_eq!(PublicKey::from_encoded(&[0u8; 31]), Err(Reason::Malformed));
    }

    #[test]
    fn generated_keys_sign_and_verify_and_reject_other_messages() {
        for alg in Algorithm::ALL {
            let kp = KeyPair::generate(alg).unwrap();
            let pk = kp.public_key();
            assert_eq!(pk.algorithm(), alg);
            let sig = kp.sign(b"hello");
            assert!(pk.verify(b"hello", &sig));
            assert!(!pk.verify(b"hellp", &sig));
            assert!(!pk.verify(b"hello", &sig[..63]));
            let again = PublicKey::from_bytes(alg, &pk.to_bytes()).unwrap();
            assert_eq!(again, pk);
            let restored = KeyPair::from_secret_bytes(alg, &kp.secret_bytes()).unwrap();
            assert_eq!(restored.public_key(), pk);
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let kp = KeyPair::from_secret_bytes(Algorithm::Ed25519, &[7u8; 32]).unwrap();
        let shown = format!("{kp:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&crate::text::hex(&[7u8; 32])));
    }

    #[test]
    fn small_order_and_non_canonical_ed25519_keys_are_rejected() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(Algorithm::Ed25519, &identity), Err(Reason::InvalidDeviceKey));
        // y = p + 1 encodes the identity non-canonically.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(Algorithm::Ed25519, &non_canonical), Err(Reason::InvalidDeviceKey));
    }

    #[test]
    fn canonical_y_is_exactly_below_p() {
        let p_minus = |d: u8| {
            let mut b = [0xffu8; 32];
            b[0] = 0xed - d;
            b[31] = 0x7f;
            b
        };
        assert!(is_canonical_y(&p_minus(1)));
        assert!(is_canonical_y(&[0u8; 32]));
        assert!(!is_canonical_y(&p_minus(0)));
        assert!(!is_canonical_y(&[0xffu8; 32]));
        // The sign bit is not part of y.
        let mut signed = p_minus(1);
        signed[31] |= 0x80;
        assert!(is_canonical_y(&signed));
        signed[0] = 0xed;
        assert!(!is_canonical_y(&signed));
    }

    #[test]
    fn non_canonical_encodings_of_valid_points_are_refused() {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        // A point with a small y has a second encoding y + p that decompression accepts.
        let mut found = 0;
        for y in 2u8..19 {
            let mut canonical = [0u8; 32];
            canonical[0] = y;
            let Some(point) = CompressedEdwardsY(canonical).decompress() else { continue };
            if point.is_small_order() {
                continue;
            }
            let mut other = [0xffu8; 32];
            other[0] = 0xed + y;
            other[31] = 0x7f;
            assert_eq!(CompressedEdwardsY(other).decompress(), Some(point), "decompression reduces y mod p");
            assert!(PublicKey::from_bytes(Algorithm::Ed25519, &canonical).is_ok());
            assert_eq!(PublicKey::from_bytes(Algorithm::Ed25519, &other), Err(Reason::InvalidDeviceKey));
            // As a signature's R: the same point, refused in its non-canonical form.
            let key = KeyPair::from_secret_bytes(Algorithm::Ed25519, &[3u8; 32]).unwrap().public_key();
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&canonical);
            assert!(key.ed25519_check(b"m", &sig).is_some());
            sig[..32].copy_from_slice(&other);
            assert!(key.ed25519_check(b"m", &sig).is_none());
            found += 1;
        }
        assert!(found > 0, "no small-y point found");
    }

    #[test]
    fn p256_keys_must_be_compressed_points_on_the_curve() {
        let kp = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[9u8; 32]).unwrap();
        let mut bytes = kp.public_key().to_bytes();
        bytes[0] = 0x04;
        assert_eq!(PublicKey::from_bytes(Algorithm::EcdsaP256Sha256, &bytes), Err(Reason::InvalidDeviceKey));
        // x = p - 1... all-0xff x is >= p: not a field element.
        let mut big = [0xffu8; 33];
        big[0] = 0x02;
        assert_eq!(PublicKey::from_bytes(Algorithm::EcdsaP256Sha256, &big), Err(Reason::InvalidDeviceKey));
    }

    #[test]
    fn der_signatures_convert_to_fixed_form() {
        let kp = KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[5u8; 32]).unwrap();
        let fixed = kp.sign(b"m");
        let sig = p256::ecdsa::Signature::from_slice(&fixed).unwrap();
        let der = sig.to_der();
        assert_eq!(p256_signature_from_der(der.as_bytes()).unwrap(), fixed);
        assert!(p256_signature_from_der(&fixed).is_err());
        assert_eq!(signature_from_keystore(Algorithm::EcdsaP256Sha256, der.as_bytes()).unwrap(), fixed);
        assert_eq!(signature_from_keystore(Algorithm::EcdsaP256Sha256, &fixed).unwrap(), fixed);
        assert!(signature_from_keystore(Algorithm::Ed25519, der.as_bytes()).is_err());
    }

    #[cfg(feature = "sm2")]
    #[test]
    fn sm2_der_signatures_convert_and_out_of_range_values_are_refused() {
        let kp = KeyPair::from_secret_bytes(Algorithm::Sm2Sm3, &[5u8; 32]).unwrap();
        let fixed = kp.sign(b"m");
        // SEQUENCE { INTEGER r, INTEGER s }, each with a leading zero when its top bit is set.
        let integer = |v: &[u8]| {
            let mut b = v.to_vec();
            if b[0] & 0x80 != 0 {
                b.insert(0, 0);
            }
            [vec![2, b.len() as u8], b].concat()
        };
        let body = [integer(&fixed[..32]), integer(&fixed[32..])].concat();
        let der = [vec![0x30, body.len() as u8], body].concat();
        assert_eq!(sm2_signature_from_der(&der).unwrap(), fixed);
        assert_eq!(signature_from_keystore(Algorithm::Sm2Sm3, &der).unwrap(), fixed);
        assert!(kp.public_key().verify(b"m", &sm2_signature_from_der(&der).unwrap()));
        // r = n (SM2's n, below P-256's, so only the SM2 range check refuses it).
        let n = crate::text::unhex("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123").unwrap();
        let body = [integer(&n), integer(&fixed[32..])].concat();
        let at_n = [vec![0x30, body.len() as u8], body].concat();
        assert!(sm2_signature_from_der(&at_n).is_err());
        assert!(sm2_signature_from_der(&fixed).is_err());
        assert!(sm2_signature_from_der(&der[..der.len() - 1]).is_err());
    }

    #[cfg(feature = "sm2")]
    #[test]
    fn sm2_keys_parse_from_sec1_and_refuse_other_points() {
        let pair = KeyPair::from_secret_bytes(Algorithm::Sm2Sm3, &[9u8; 32]).unwrap();
        let key = pair.public_key();
        let KeyInner::Sm2(k) = &key.0 else { unreachable!() };
        let uncompressed = [&[4u8][..], &k.x, &k.y].concat();
        assert_eq!(PublicKey::from_sm2_sec1(&uncompressed).unwrap(), key);
        assert_eq!(PublicKey::from_exported(Algorithm::Sm2Sm3, &uncompressed).unwrap(), key);
        assert_eq!(PublicKey::from_exported(Algorithm::EcdsaP256Sha256, &uncompressed).ok(), None);
        assert_eq!(PublicKey::from_sm2_sec1(&key.to_bytes()).unwrap(), key);
        let mut off = uncompressed.clone();
        off[64] ^= 1;
        assert_eq!(PublicKey::from_sm2_sec1(&off), Err(Reason::InvalidDeviceKey));
        assert_eq!(PublicKey::from_bytes(Algorithm::Sm2Sm3, &[0u8; 33]), Err(Reason::InvalidDeviceKey));
        assert_eq!(PublicKey::from_bytes(Algorithm::Sm2Sm3, &key.to_bytes()[..32]), Err(Reason::Malformed));
        // The same bytes name another point, or none, on P-256: the algorithm is part of the key.
        assert_ne!(PublicKey::from_bytes(Algorithm::EcdsaP256Sha256, &key.to_bytes()).ok(), Some(key.clone()));
        let mut input = vec![3u8];
        input.extend_from_slice(&key.to_bytes());
        assert_eq!(key.key_id()[..], crate::alg::key_digest(Algorithm::Sm2Sm3, &input)[..16]);
        assert_ne!(key.key_id()[..], crate::alg::key_digest(Algorithm::EcdsaP256Sha256, &input)[..16]);
    }

    /// A signer that signs with `signing` but claims `claimed`, for some messages.
    struct Swapped {
        claimed: KeyPair,
        signing: KeyPair,
        wrong_at: Option<usize>,
        drop_last: bool,
    }

    impl DeviceSigner for Swapped {
        fn public_key(&self) -> PublicKey {
            self.claimed.public_key()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            Ok(self.claimed.sign(message).to_vec())
        }
        fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
            let mut out: Vec<Vec<u8>> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let key = if Some(i) == self.wrong_at { &self.signing } else { &self.claimed };
                    key.sign(m).to_vec()
                })
                .collect();
            if self.drop_last {
                out.pop();
            }
            Ok(out)
        }
    }

    #[test]
    fn signatures_by_checks_every_signature_and_the_count() {
        for alg in Algorithm::ALL {
            let messages: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 40]).collect();
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let signer = |wrong_at, drop_last| Swapped {
                claimed: KeyPair::from_secret_bytes(alg, &[3u8; 32]).unwrap(),
                signing: KeyPair::from_secret_bytes(alg, &[4u8; 32]).unwrap(),
                wrong_at,
                drop_last,
            };
            let good = signatures_by(&signer(None, false), &refs).unwrap();
            let key = signer(None, false).public_key();
            assert!(refs.iter().zip(&good).all(|(m, s)| key.verify(m, s)), "{alg}");
            for i in [0, 5, 11] {
                assert!(matches!(signatures_by(&signer(Some(i), false), &refs), Err(Error::Signer(_))), "{alg} {i}");
            }
            assert!(matches!(signatures_by(&signer(None, true), &refs), Err(Error::Signer(_))), "{alg} count");
            assert!(signatures_by(&signer(None, false), &[]).unwrap().is_empty());
            // One message goes through the same check.
            assert!(matches!(signatures_by(&signer(Some(0), false), &refs[..1]), Err(Error::Signer(_))), "{alg}");
        }
    }

    #[cfg(feature = "batch")]
    #[test]
    fn the_batch_equation_holds_exactly_when_every_signature_does() {
        // Six signatures by three keys, two per key (the shared-key term is exercised).
        let keys: Vec<KeyPair> =
            (1..=3u8).map(|i| KeyPair::from_secret_bytes(Algorithm::Ed25519, &[i; 32]).unwrap()).collect();
        let public: Vec<PublicKey> = keys.iter().map(KeyPair::public_key).collect();
        let messages: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
        let signatures: Vec<[u8; 64]> = messages.iter().enumerate().map(|(i, m)| keys[i % 3].sign(m)).collect();
        let checks = |sigs: &[[u8; 64]]| -> Vec<Ed25519Check> {
            messages
                .iter()
                .zip(sigs)
                .enumerate()
                .map(|(i, (m, s))| public[i % 3].ed25519_check(m, s).unwrap())
                .collect()
        };
        for n in 1..=6 {
            assert!(Ed25519Check::verify_batch(&checks(&signatures[..n])), "{n} valid signatures");
        }
        for i in 0..6 {
            // A changed S (still below L: its top byte is untouched) breaks the equation.
            let mut bad = signatures.clone();
            bad[i][40] ^= 1;
            assert!(!Ed25519Check::verify_batch(&checks(&bad)), "signature {i} changed");
            assert!(!checks(&bad)[i].verify(), "signature {i} alone");
        }
        // A valid signature checked against another message of the same key.
        let mut mixed = checks(&signatures);
        mixed[0] = public[0].ed25519_check(&messages[3], &signatures[0]).unwrap();
        assert!(!Ed25519Check::verify_batch(&mixed));
    }
}
