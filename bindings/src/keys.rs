//! Keys: software key pairs, foreign device signers and key requests.

use std::sync::Arc;

use crate::errors::{CitycodeError, Result};

/// A signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum KeyAlgorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA P-256 with SHA-256 (phone secure hardware).
    EcdsaP256,
    /// SM2 with SM3 (GB/T 32918), the national algorithm, default user id
    /// `1234567812345678`.
    Sm2,
}

impl From<KeyAlgorithm> for citycode::Algorithm {
    fn from(a: KeyAlgorithm) -> Self {
        match a {
            KeyAlgorithm::Ed25519 => citycode::Algorithm::Ed25519,
            KeyAlgorithm::EcdsaP256 => citycode::Algorithm::EcdsaP256Sha256,
            KeyAlgorithm::Sm2 => citycode::Algorithm::Sm2Sm3,
        }
    }
}

impl From<citycode::Algorithm> for KeyAlgorithm {
    fn from(a: citycode::Algorithm) -> Self {
        match a {
            citycode::Algorithm::Ed25519 => KeyAlgorithm::Ed25519,
            citycode::Algorithm::EcdsaP256Sha256 => KeyAlgorithm::EcdsaP256,
            citycode::Algorithm::Sm2Sm3 => KeyAlgorithm::Sm2,
        }
    }
}

pub(crate) fn public_key(alg: KeyAlgorithm, bytes: &[u8]) -> Result<citycode::PublicKey> {
    Ok(citycode::PublicKey::from_bytes(alg.into(), bytes)?)
}

/// A key pair held in this library's memory (zeroized on drop): a software device
/// key, an issuer key or the root key.
#[derive(Debug, uniffi::Object)]
pub struct SigningKey {
    pub(crate) inner: citycode::KeyPair,
}

#[uniffi::export]
impl SigningKey {
    /// A fresh key from the OS random source.
    #[uniffi::constructor]
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Arc<Self>> {
        Ok(Arc::new(SigningKey { inner: citycode::KeyPair::generate(algorithm.into())? }))
    }

    /// Restores a key from its 32 secret bytes.
    #[uniffi::constructor]
    pub fn from_secret_bytes(algorithm: KeyAlgorithm, secret: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(SigningKey { inner: citycode::KeyPair::from_secret_bytes(algorithm.into(), &secret)? }))
    }

    /// The 32 secret bytes, to store in a keystore. Handle with care.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.inner.secret_bytes().to_vec()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.inner.algorithm().into()
    }

    /// The public key as the wire carries it (32 or 33 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_bytes()
    }

    /// The 16-byte device key id that revocation lists name.
    pub fn key_id(&self) -> Vec<u8> {
        self.inner.public_key().key_id().to_vec()
    }

    /// Signs a message (64 bytes).
    pub fn sign(&self, message: Vec<u8>) -> Vec<u8> {
        self.inner.sign(&message).to_vec()
    }

    /// The key request for an issuer's `challenge` (SPEC.md §4.7): send it to be issued
    /// a credential bound to this key.
    pub fn key_request(&self, challenge: Vec<u8>) -> Result<Vec<u8>> {
        Ok(citycode::KeyRequest::sign(&self.inner, &challenge)?.to_bytes())
    }
}

/// The key request for an issuer's `challenge` (SPEC.md §4.7), signed by a device key
/// held outside this library (Android Keystore, the Secure Enclave, an SM2 element).
#[uniffi::export]
pub fn key_request(signer: Arc<dyn DeviceSigner>, challenge: Vec<u8>) -> Result<Vec<u8>> {
    Ok(citycode::KeyRequest::sign(&ForeignSigner::new(signer)?, &challenge)?.to_bytes())
}

/// [`key_request`] with an asynchronous signer (behind a biometric prompt).
#[uniffi::export]
pub async fn key_request_async(signer: Arc<dyn AsyncDeviceSigner>, challenge: Vec<u8>) -> Result<Vec<u8>> {
    let key = signer_key(signer.algorithm(), &signer.public_key())?;
    let input = citycode::KeyRequest::signing_input(&key, &challenge)?;
    let signature = signer.sign(input).await?;
    Ok(citycode::KeyRequest::from_signed(key, &challenge, &signature)?.to_bytes())
}

/// A fresh random challenge (32 bytes) for an issuer to give a holder, once.
#[uniffi::export]
pub fn random_challenge() -> Result<Vec<u8>> {
    Ok(citycode::request::random_challenge()?.to_vec())
}

/// A device key held outside this library, implemented in Kotlin, Swift or Python:
/// Android Keystore or the Secure Enclave (ECDSA P-256), or a phone security element
/// that signs SM2. The secret never enters Rust.
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;
    /// The public key: 32 bytes (Ed25519), or P-256 or SM2 as 33-byte compressed or
    /// 65-byte uncompressed SEC1.
    fn public_key(&self) -> Vec<u8>;
    /// Signs `message`. P-256 and SM2 signatures may be DER (what `java.security`,
    /// CryptoKit's `derRepresentation` and SM2 devices return) or 64-byte `r || s`. An
    /// SM2 signer signs under the default user id `1234567812345678`.
    fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// A foreign signer's public key: an uncompressed point (what Java's ECPublicKey and SM2
/// devices give) is checked on its curve and compressed.
pub(crate) fn signer_key(alg: KeyAlgorithm, bytes: &[u8]) -> Result<citycode::PublicKey> {
    Ok(citycode::PublicKey::from_exported(alg.into(), bytes)?)
}

/// Adapts a foreign signer to core's signer trait.
pub(crate) struct ForeignSigner {
    pub(crate) inner: Arc<dyn DeviceSigner>,
    pub(crate) key: citycode::PublicKey,
}

impl ForeignSigner {
    pub(crate) fn new(inner: Arc<dyn DeviceSigner>) -> Result<Self> {
        Ok(ForeignSigner { key: signer_key(inner.algorithm(), &inner.public_key())?, inner })
    }
}

impl citycode::DeviceSigner for ForeignSigner {
    fn public_key(&self) -> citycode::PublicKey {
        self.key.clone()
    }

    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, citycode::Error> {
        // DER or r || s: core converts and checks it (citycode::keys::signature_by).
        self.inner.sign(message.to_vec()).map_err(|e| citycode::Error::Signer(e.to_string()))
    }
}

impl DeviceSigner for SigningKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.inner.algorithm().into()
    }
    fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_bytes()
    }
    fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError> {
        Ok(self.inner.sign(&message).to_vec())
    }
}

/// A device key whose signatures arrive asynchronously: a keystore behind a biometric
/// prompt (Android's `BiometricPrompt`, iOS's LocalAuthentication), or any signer that
/// should not block the caller's thread. Implemented in Kotlin (`suspend fun`), Swift
/// (`async`) or Python (`async def`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AsyncDeviceSigner: Send + Sync {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;
    /// The public key, as for [`DeviceSigner::public_key`].
    fn public_key(&self) -> Vec<u8>;
    /// Signs `message` (DER or 64-byte `r || s`), or fails with a `signer` error when
    /// the user cancels the prompt.
    async fn sign(&self, message: Vec<u8>) -> std::result::Result<Vec<u8>, CitycodeError>;
}

/// Whether `signature` (64-byte `r || s`, or Ed25519's 64 bytes) over `message`
/// verifies under `public_key` with the checks of SPEC.md §4.2: for algorithm tests
/// and for checking a keystore. A public key that is not valid for `algorithm` is an
/// error (`invalid_device_key`, or `malformed` for the wrong length); P-256 and SM2 keys
/// may be compressed or uncompressed SEC1.
#[uniffi::export]
pub fn verify_signature(
    algorithm: KeyAlgorithm,
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
) -> Result<bool> {
    Ok(signer_key(algorithm, &public_key)?.verify(&message, &signature))
}

/// The digest that goes with `algorithm` (SPEC.md §4.6): SM3 for SM2, SHA-256
/// otherwise.
#[uniffi::export]
pub fn digest(algorithm: KeyAlgorithm, data: Vec<u8>) -> Result<Vec<u8>> {
    Ok(citycode::digest::digest(algorithm.into(), &data).ok_or(citycode::Reason::UnsupportedAlgorithm)?.to_vec())
}
