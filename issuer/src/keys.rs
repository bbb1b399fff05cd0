//! Signing keys and the key that seals identity document numbers.
//!
//! A signing key is named by a config that says what kind it is: `kind = "file"` (a key
//! file as `citycode keygen` writes it) or `kind = "token"` (a key pair inside a PKCS#11
//! token, [`citycode_pkcs11::TokenKeyConfig`] nested under `pkcs11`). Either way the
//! service holds a [`SharedSigner`]: a `dyn DeviceSigner` that remembers how its last
//! signature went (readiness asks it, and signs a probe only when that is older than a
//! few seconds) and counts its failures by code (for `/metrics`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citycode::{Algorithm, DeviceSigner, KeyPair, PublicKey};
use citycode_pkcs11::{PROBE_MESSAGE, TokenError, TokenKeyConfig, TokenSigner};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::Error;

/// Where a signing key is.
///
/// ```toml
/// key = { kind = "file", path = "/etc/citycode/issuer.json" }
/// # or, the key pair inside a token (the PIN from a file or the environment, never here):
/// [issuer.key]
/// kind = "token"
/// pkcs11 = { module = "/usr/lib/softhsm/libsofthsm2.so", token = "city-issuer", key_label = "issuer-2026",
///            pin_file = "/etc/citycode/issuer.pin", algorithm = "ed25519" }
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyConfig {
    /// A key file (`citycode keygen`): JSON with the algorithm and the secret, mode
    /// 0600. For trials and small deployments; production keys belong in a token.
    File {
        /// The file's path.
        path: PathBuf,
    },
    /// A key pair inside a PKCS#11 token (an HSM, a 密码机, SoftHSM for trials): the
    /// private key never leaves it. Opened at start: a wrong PIN, a missing token or key,
    /// a key of another type or an extractable one refuse to start, with the token's code.
    Token {
        /// Which module, token and key, and where the PIN is (`citycode-pkcs11`'s
        /// configuration, nested as it is: its fields are checked as strictly).
        pkcs11: TokenKeyConfig,
    },
}

impl KeyConfig {
    /// Loads the signer; `name` is the setting, for the error (`issuer.key`).
    pub fn signer(&self, name: &str) -> Result<SharedSigner, Error> {
        match self {
            KeyConfig::File { path } => Ok(SharedSigner::new(load_key_file(path)?)),
            KeyConfig::Token { pkcs11 } => TokenSigner::open(pkcs11)
                .map(SharedSigner::new)
                .map_err(|e| Error::Config(format!("{name}: token key {}: {}: {e}", pkcs11.describe(), e.code()))),
        }
    }

    /// `file` or `token`.
    pub fn kind(&self) -> &'static str {
        match self {
            KeyConfig::File { .. } => "file",
            KeyConfig::Token { .. } => "token",
        }
    }

    /// Resolves relative paths (the key file; a token's module and PIN file) against
    /// `dir`, the configuration file's folder.
    pub fn resolve(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        match self {
            KeyConfig::File { path } => fix(path),
            KeyConfig::Token { pkcs11 } => {
                if let Some(p) = &mut pkcs11.module {
                    fix(p);
                }
                if let Some(p) = &mut pkcs11.pin_file {
                    fix(p);
                }
            }
        }
    }
}

/// Why a key did not sign: a stable code (a token's, SPEC.md §4.6, such as
/// `token_removed` or `wrong_pin`; else core's, `signer`) and the signer's message, for
/// the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignFailure {
    /// The code.
    pub code: &'static str,
    /// What the signer said (never a PIN or a key).
    pub detail: String,
}

impl SignFailure {
    /// The failure a signing error reports.
    pub fn of(e: &citycode::Error) -> SignFailure {
        SignFailure { code: TokenError::code_in(e).unwrap_or_else(|| e.code()), detail: e.to_string() }
    }
}

/// How a shared signer has been doing: its failures by code, and the outcome and time
/// of its last signature.
#[derive(Default)]
struct Health {
    failures: Mutex<BTreeMap<&'static str, u64>>,
    last: Mutex<Option<(Instant, Result<(), SignFailure>)>>,
    /// Held while a probe signs, so that readiness checks arriving together sign once.
    probing: Mutex<()>,
}

/// A signer the service shares between threads (and with the core `Issuer` that signs
/// cards through it). Clones share the signer and its health.
#[derive(Clone)]
pub struct SharedSigner {
    signer: Arc<dyn DeviceSigner + Send + Sync>,
    health: Arc<Health>,
}

impl SharedSigner {
    /// Shares `signer`.
    pub fn new(signer: impl DeviceSigner + Send + Sync + 'static) -> SharedSigner {
        SharedSigner::from_arc(Arc::new(signer))
    }

    /// Shares a signer already behind an `Arc`.
    pub fn from_arc(signer: Arc<dyn DeviceSigner + Send + Sync>) -> SharedSigner {
        SharedSigner { signer, health: Arc::default() }
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the outcome of a signature (or a batch of them).
    fn note(&self, outcome: Result<(), &citycode::Error>) {
        let outcome = outcome.map_err(SignFailure::of);
        if let Err(f) = &outcome {
            *Self::lock(&self.health.failures).entry(f.code).or_default() += 1;
        }
        *Self::lock(&self.health.last) = Some((Instant::now(), outcome));
    }

    /// Whether the key signs now. The outcome of its last signature (cards, lists or a
    /// probe) if it is younger than `max_age`; otherwise it signs
    /// [`citycode_pkcs11::PROBE_MESSAGE`] (a message no citycode signing input starts
    /// with) and checks the signature under the public key, as every signature is
    /// checked. A token pulled out fails here, with its code; a failed signature of real
    /// work makes the next probe fail at once, without waiting for `max_age`.
    pub fn probe(&self, max_age: Duration) -> Result<(), SignFailure> {
        if let Some(outcome) = self.recent(max_age) {
            return outcome;
        }
        let _one = Self::lock(&self.health.probing);
        // Another check may have signed its probe while this one waited for it.
        if let Some(outcome) = self.recent(max_age) {
            return outcome;
        }
        let outcome = citycode::keys::signature_by(&*self.signer, PROBE_MESSAGE).map(|_| ());
        self.note(outcome.as_ref().map(|_| ()));
        outcome.map_err(|e| SignFailure::of(&e))
    }

    /// The outcome of the last signature, if it is younger than `max_age`.
    fn recent(&self, max_age: Duration) -> Option<Result<(), SignFailure>> {
        match &*Self::lock(&self.health.last) {
            Some((at, outcome)) if at.elapsed() < max_age => Some(outcome.clone()),
            _ => None,
        }
    }

    /// Signing failures so far, by code.
    pub fn failures(&self) -> BTreeMap<&'static str, u64> {
        Self::lock(&self.health.failures).clone()
    }
}

impl DeviceSigner for SharedSigner {
    fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, citycode::Error> {
        let signed = self.signer.sign(message);
        self.note(signed.as_ref().map(|_| ()));
        signed
    }
    fn check_signatures(&self) -> bool {
        self.signer.check_signatures()
    }
    /// As the signer it shares signs many (a token's session pool: several at once).
    fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, citycode::Error> {
        let signed = self.signer.sign_many(messages);
        self.note(signed.as_ref().map(|_| ()));
        signed
    }
}

impl core::fmt::Debug for SharedSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedSigner").field("public_key", &self.signer.public_key()).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    algorithm: Algorithm,
    secret: Zeroizing<String>,
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

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A key that counts its signatures and fails, as a pulled token does, or signs
    /// slowly, as a network HSM does, on demand.
    struct Flaky {
        key: KeyPair,
        calls: AtomicUsize,
        many: AtomicUsize,
        fail: AtomicBool,
        slow: AtomicBool,
    }

    impl Flaky {
        fn new() -> Arc<Flaky> {
            Arc::new(Flaky {
                key: KeyPair::generate(Algorithm::Ed25519).unwrap(),
                calls: AtomicUsize::new(0),
                many: AtomicUsize::new(0),
                fail: AtomicBool::new(false),
                slow: AtomicBool::new(false),
            })
        }
    }

    impl DeviceSigner for Flaky {
        fn public_key(&self) -> PublicKey {
            self.key.public_key()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, citycode::Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.slow.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(TokenError::TokenRemoved("CKR_DEVICE_REMOVED".into()).into());
            }
            Ok(self.key.sign(message).to_vec())
        }
        fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, citycode::Error> {
            self.many.fetch_add(1, Ordering::SeqCst);
            messages.iter().map(|m| self.sign(m)).collect()
        }
    }

    #[test]
    fn a_shared_signer_probes_rarely_remembers_failures_and_counts_them_by_code() {
        let flaky = Flaky::new();
        let signer = SharedSigner::from_arc(flaky.clone());
        let calls = || flaky.calls.load(Ordering::SeqCst);
        let minute = Duration::from_secs(60);
        // The first probe signs; the next ones within the age reuse its outcome.
        assert_eq!(signer.probe(minute), Ok(()));
        assert_eq!(signer.probe(minute), Ok(()));
        assert_eq!(calls(), 1);
        // An age of zero signs every time.
        assert_eq!(signer.probe(Duration::ZERO), Ok(()));
        assert_eq!(calls(), 2);
        // Batches go to the shared signer's own sign_many (a token's session pool).
        signer.sign_many(&[b"a", b"b"]).unwrap();
        assert_eq!(flaky.many.load(Ordering::SeqCst), 1);
        // The key fails at work: the next probe fails at once, with the token's code,
        // without another signature; the failure is counted.
        flaky.fail.store(true, Ordering::SeqCst);
        let e = citycode::keys::signature_by(&signer, b"card").unwrap_err();
        assert_eq!(SignFailure::of(&e).code, "token_removed");
        let before = calls();
        let failure = signer.probe(minute).unwrap_err();
        assert_eq!(failure.code, "token_removed");
        assert!(failure.detail.contains("CKR_DEVICE_REMOVED"), "{failure:?}");
        assert_eq!(calls(), before);
        // A probe past the age signs again, fails again, and counts.
        assert_eq!(signer.probe(Duration::ZERO).unwrap_err().code, "token_removed");
        assert!(signer.sign_many(&[b"a", b"b"]).is_err());
        assert_eq!(signer.failures(), BTreeMap::from([("token_removed", 3)]));
        // Back: a probe past the age succeeds, and so do the cached ones after it.
        flaky.fail.store(false, Ordering::SeqCst);
        assert_eq!(signer.probe(Duration::ZERO), Ok(()));
        assert_eq!(signer.probe(minute), Ok(()));
        assert_eq!(signer.failures(), BTreeMap::from([("token_removed", 3)]));
        // A key that is not a token's reports core's code.
        let other = SignFailure::of(&citycode::Error::Signer("keystore locked".into()));
        assert_eq!(other.code, "signer");
    }

    #[test]
    fn readiness_checks_arriving_together_sign_one_probe() {
        let flaky = Flaky::new();
        flaky.slow.store(true, Ordering::SeqCst);
        let signer = SharedSigner::from_arc(flaky.clone());
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    start.wait();
                    assert_eq!(signer.probe(Duration::from_secs(60)), Ok(()));
                });
            }
        });
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 1, "one probe signed for eight checks");
    }

    #[test]
    fn key_configs_read_a_file_or_a_nested_token_config_and_nothing_else() {
        #[derive(Deserialize)]
        struct Holder {
            key: KeyConfig,
        }
        let file: Holder = toml::from_str("key = { kind = \"file\", path = \"issuer.json\" }").unwrap();
        assert_eq!(file.key, KeyConfig::File { path: "issuer.json".into() });
        let token: Holder = toml::from_str(
            "[key]\nkind = \"token\"\n[key.pkcs11]\nmodule = \"lib.so\"\ntoken = \"city-issuer\"\n\
             key_label = \"issuer-2026\"\npin_file = \"issuer.pin\"\nalgorithm = \"ecdsa_p256_sha256\"\n",
        )
        .unwrap();
        let KeyConfig::Token { pkcs11 } = &token.key else { panic!("{:?}", token.key) };
        assert_eq!(pkcs11.token.as_deref(), Some("city-issuer"));
        assert_eq!(pkcs11.algorithm, Algorithm::EcdsaP256Sha256);
        let mut resolved = token.key.clone();
        resolved.resolve(Path::new("/etc/citycode"));
        let KeyConfig::Token { pkcs11 } = &resolved else { panic!() };
        assert_eq!(pkcs11.module.as_deref(), Some(Path::new("/etc/citycode/lib.so")));
        assert_eq!(pkcs11.pin_file.as_deref(), Some(Path::new("/etc/citycode/issuer.pin")));
        for bad in [
            // The token's fields flattened into the key: refused, not half read.
            "key = { kind = \"token\", module = \"m\", token = \"t\", key_label = \"k\", pin_env = \"P\", algorithm = \"ed25519\" }",
            // A misspelt field of the token's configuration.
            "key = { kind = \"token\", pkcs11 = { module = \"m\", token = \"t\", key_label = \"k\", pin_fiel = \"p\", algorithm = \"ed25519\" } }",
            // A PIN in the configuration is no field at all.
            "key = { kind = \"token\", pkcs11 = { module = \"m\", token = \"t\", key_label = \"k\", pin = \"1234\", algorithm = \"ed25519\" } }",
            "key = { kind = \"hsm\", path = \"x\" }",
            "key = { kind = \"file\", path = \"x\", extra = 1 }",
        ] {
            assert!(toml::from_str::<Holder>(bad).is_err(), "{bad}");
        }
        // A token that cannot be opened is a configuration error that names the setting.
        let missing = KeyConfig::Token {
            pkcs11: TokenKeyConfig {
                module: Some("/nonexistent/libpkcs11.so".into()),
                token: Some("t".into()),
                uri: None,
                key_label: Some("k".into()),
                key_id: None,
                pin_file: None,
                pin_env: Some("CITYCODE_ISSUER_TEST_PIN".into()),
                algorithm: Algorithm::Ed25519,
                sessions: 1,
                allow_extractable: false,
                sm2: None,
            },
        };
        let e = missing.signer("issuer.key").unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.starts_with("issuer.key: token key") && m.contains("pin_source")),
            "{e}"
        );
    }

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
