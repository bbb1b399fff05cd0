//! Signing keys and the key that seals identity document numbers.
//!
//! Signing keys are named by a config that says what kind they are: `kind = "file"` (a
//! key file as `citycode keygen` writes it) today; a PKCS#11 token variant slots into
//! [`KeyConfig`] beside it. Either way the service holds a `dyn DeviceSigner`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use citycode::{Algorithm, DeviceSigner, KeyPair, PublicKey};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::Error;

/// Where a signing key is.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyConfig {
    /// A key file (`citycode keygen`): JSON with the algorithm and the secret, mode
    /// 0600. For trials and small deployments; production keys belong in a token.
    File {
        /// The file's path.
        path: PathBuf,
    },
}

/// A signer the service shares between threads.
#[derive(Clone)]
pub struct SharedSigner(pub Arc<dyn DeviceSigner + Send + Sync>);

impl DeviceSigner for SharedSigner {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, citycode::Error> {
        self.0.sign(message)
    }
    fn check_signatures(&self) -> bool {
        self.0.check_signatures()
    }
}

impl core::fmt::Debug for SharedSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedSigner").field("public_key", &self.0.public_key()).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    algorithm: Algorithm,
    secret: Zeroizing<String>,
}

impl KeyConfig {
    /// Loads the signer.
    pub fn signer(&self) -> Result<SharedSigner, Error> {
        match self {
            KeyConfig::File { path } => Ok(SharedSigner(Arc::new(load_key_file(path)?))),
        }
    }
}

/// Reads a key file written by `citycode keygen`.
pub fn load_key_file(path: &Path) -> Result<KeyPair, Error> {
    let text =
        Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?);
    let file: KeyFile =
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: not a key file: {e}", path.display())))?;
    let secret = Zeroizing::new(
        citycode::text::unhex(&file.secret)
            .map_err(|_| Error::Config(format!("{}: the secret is not hex", path.display())))?,
    );
    KeyPair::from_secret_bytes(file.algorithm, &secret)
        .map_err(|e| Error::Config(format!("{}: not a valid key: {e}", path.display())))
}

/// Seals identity document numbers at rest: AES-256-GCM under a key kept outside the
/// database (a file, mode 0600), a random nonce per value, the resident's reference as
/// associated data (a sealed number copied to another resident's row does not open).
/// A copy of the database alone reveals no number.
pub struct NumberSeal {
    key: LessSafeKey,
}

impl core::fmt::Debug for NumberSeal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NumberSeal(<redacted>)")
    }
}

impl NumberSeal {
    /// A seal under `key` (32 bytes).
    pub fn new(key: &[u8]) -> Result<Self, Error> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| Error::Config("the identity number key must be 32 bytes".into()))?;
        Ok(NumberSeal { key: LessSafeKey::new(key) })
    }

    /// The key in a file: 64 hex digits.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?,
        );
        let key = Zeroizing::new(
            citycode::text::unhex(text.trim())
                .map_err(|_| Error::Config(format!("{}: the key is not hex", path.display())))?,
        );
        NumberSeal::new(&key)
    }

    /// `nonce ‖ ciphertext ‖ tag` of `number`, bound to `reference`.
    pub fn seal(&self, reference: &str, number: &str) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| Error::Issuance(citycode::Error::Random))?;
        let mut data = number.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(reference.as_bytes()), &mut data)
            .map_err(|_| Error::Store("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// The number sealed in `sealed` for `reference`; an error if it was not sealed
    /// under this key for this resident.
    pub fn open(&self, reference: &str, sealed: &[u8]) -> Result<Zeroizing<String>, Error> {
        let fail = || Error::Store("a sealed identity number does not open under the configured key".into());
        let (nonce, data) = sealed.split_at_checked(NONCE_LEN).ok_or_else(fail)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut data = Zeroizing::new(data.to_vec());
        let plain = self.key.open_in_place(nonce, Aad::from(reference.as_bytes()), &mut data).map_err(|_| fail())?;
        Ok(Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| fail())?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_number_opens_for_its_resident_and_key_only() {
        let seal = NumberSeal::new(&[7; 32]).unwrap();
        let sealed = seal.seal("r1", "11010519491231002X").unwrap();
        assert!(!sealed.windows(18).any(|w| w == b"11010519491231002X"));
        assert_eq!(seal.open("r1", &sealed).unwrap().as_str(), "11010519491231002X");
        assert!(seal.open("r2", &sealed).is_err(), "bound to the resident");
        assert!(NumberSeal::new(&[8; 32]).unwrap().open("r1", &sealed).is_err(), "bound to the key");
        assert_ne!(seal.seal("r1", "11010519491231002X").unwrap(), sealed, "a fresh nonce each time");
        assert!(seal.open("r1", &sealed[..10]).is_err());
    }
}
