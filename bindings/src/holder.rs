//! The holder's side: codes from a credential and a device signer.

use std::sync::Arc;

use citycode::claims as cc;

use crate::claims::Domain;
use crate::errors::{CitycodeError, Result};
use crate::keys::{AsyncDeviceSigner, DeviceSigner, ForeignSigner, SigningKey, signer_key};
use crate::scene::Scene;
use crate::{now, unpoisoned};

/// A QR symbol to draw.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct QrImage {
    /// QR version (1 to 40), at error correction level M.
    pub version: u8,
    /// Modules per side, without quiet zone.
    pub width: u32,
    /// Row-major modules, true = dark.
    pub modules: Vec<bool>,
    /// An SVG drawing with a 4-module quiet zone, 8 px per module.
    pub svg: String,
}

/// Renders any text (normally a code's) as a QR symbol.
#[uniffi::export]
pub fn render_qr(text: String) -> Result<QrImage> {
    let qr = citycode::Qr::new(&text)?;
    Ok(QrImage {
        version: qr.version,
        width: u32::try_from(qr.width).unwrap_or(0),
        svg: qr.to_svg(8),
        modules: qr.modules,
    })
}

/// A code to show.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PresentedCode {
    /// The text the QR carries (`CC1:` and digits).
    pub text: String,
    /// The same code as base64url, for HTTP APIs.
    pub base64url: String,
    /// Unix second it was built.
    pub issued_at: u64,
    /// Unix second it stops being valid (before verifier skew).
    pub expires_at: u64,
    /// Seconds until the app should show a fresh code.
    pub refresh_in_secs: u64,
}

/// The citizen app's side: a stored credential and a device signer.
#[derive(uniffi::Object)]
pub struct Holder {
    credential: citycode::Credential,
    signer: ForeignSigner,
}

#[uniffi::export]
impl Holder {
    /// A holder with a credential (as stored: base64url) and a device signer whose key
    /// the credential is bound to.
    #[uniffi::constructor]
    pub fn new(credential_base64url: String, signer: Arc<dyn DeviceSigner>) -> Result<Arc<Self>> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let signer = ForeignSigner::new(signer)?;
        if signer.key != credential.device_key {
            return Err(CitycodeError::signer("the signer's key is not the credential's device key"));
        }
        Ok(Arc::new(Holder { credential, signer }))
    }

    /// A holder whose device key is a [`SigningKey`] in this library.
    #[uniffi::constructor]
    pub fn with_key(credential_base64url: String, key: Arc<SigningKey>) -> Result<Arc<Self>> {
        Holder::new(credential_base64url, key)
    }

    /// The stored credential (base64url).
    pub fn credential(&self) -> Result<String> {
        Ok(self.credential.to_base64url()?)
    }

    /// The pseudonymous subject, hex.
    pub fn subject(&self) -> String {
        self.credential.subject.to_hex()
    }

    /// Builds a code for a scene, now (or at `now_unix`), valid `validity_secs`
    /// (default 60). It discloses only what the scene's policy reads: the scene's own
    /// card (SPEC.md §11).
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(&self, scene: Scene, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = citycode::present(&self.credential, &self.signer, &citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }

    /// Builds a code that discloses `domains`, whole (for an application's own scenes).
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present(&self, domains: Vec<Domain>, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = citycode::present(&self.credential, &self.signer, &domain_ids(domains), at, options)?;
        Ok(presented(&code, at))
    }
}

/// How often a [`HolderBatch`] shows one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum BatchReuse {
    /// Each instance for one code only (the default): no two codes share a key, a
    /// subject or a signature.
    OnceOnly,
    /// One instance for every code within `secs` of its first use, for phones that
    /// cannot hold many keys. Codes inside one window are linkable to each other.
    LimitedTime {
        /// The window, seconds.
        secs: u64,
    },
}

/// A holder's batch of instances for codes verifiers cannot link (SPEC.md §13): each
/// code comes from its own instance (credential and device key), so no two verifiers
/// see the same key, subject or signature. Add the instances the issuer returned
/// (`Issuer.issueBatch`) with the signer of each one's key; ask for more when
/// [`HolderBatch::needs_refill`] says so, next time the phone is online. Offline, it
/// works until the instances run out (`missing_domain`: refill).
#[derive(uniffi::Object)]
pub struct HolderBatch {
    inner: std::sync::Mutex<citycode::CredentialBatch<ForeignSigner>>,
}

impl std::fmt::Debug for HolderBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderBatch").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl HolderBatch {
    /// An empty batch; `needs_refill` is true while fewer than `refill_below`
    /// instances are left (5 by default: half a day of codes at ten a day).
    #[uniffi::constructor(default(refill_below = 5))]
    pub fn new(reuse: BatchReuse, refill_below: u32) -> Arc<Self> {
        let reuse = match reuse {
            BatchReuse::OnceOnly => citycode::Reuse::OnceOnly,
            BatchReuse::LimitedTime { secs } => citycode::Reuse::LimitedTime { secs },
        };
        let batch = citycode::CredentialBatch::empty(reuse, refill_below as usize);
        Arc::new(HolderBatch { inner: std::sync::Mutex::new(batch) })
    }

    /// Adds one instance (base64url, as issued) with the signer of its device key
    /// (`signer` error if the key is another).
    pub fn add(&self, credential_base64url: String, signer: Arc<dyn DeviceSigner>) -> Result<()> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let signer = ForeignSigner::new(signer)?;
        Ok(self.lock().refill(vec![(credential, signer)])?)
    }

    /// Adds one instance whose device key is a [`SigningKey`] in this library.
    pub fn add_with_key(&self, credential_base64url: String, key: Arc<SigningKey>) -> Result<()> {
        self.add(credential_base64url, key)
    }

    /// Builds a code for a scene from the next instance (only what the scene reads).
    /// A failure (a signer cancelled, a domain not held) keeps the instance.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(&self, scene: Scene, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(&citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }

    /// Builds a code disclosing `domains`, whole, from the next instance.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub fn present(&self, domains: Vec<Domain>, now_unix: Option<u64>, validity_secs: u8) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(&domain_ids(domains), at, options)?;
        Ok(presented(&code, at))
    }

    /// Instances not yet shown.
    pub fn remaining(&self) -> u32 {
        u32::try_from(self.lock().remaining()).unwrap_or(u32::MAX)
    }

    /// Whether to ask the issuer for more, next time the phone is online.
    pub fn needs_refill(&self) -> bool {
        self.lock().needs_refill()
    }

    /// The instances still to be shown (base64url), in order: what the app persists
    /// across restarts. A device key whose instance is no longer listed can be deleted.
    pub fn unshown(&self) -> Result<Vec<String>> {
        self.lock().unshown().map(|c| Ok(c.to_base64url()?)).collect()
    }
}

impl HolderBatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, citycode::CredentialBatch<ForeignSigner>> {
        unpoisoned(self.inner.lock())
    }
}

/// A guardian's app: their own credential and up to 5 dependants' credentials (an
/// elder's, a child's), all on the guardian's device key; shows any of them.
#[derive(uniffi::Object)]
pub struct GuardianWallet {
    inner: std::sync::Mutex<citycode::Wallet<ForeignSigner>>,
}

impl std::fmt::Debug for GuardianWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardianWallet").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl GuardianWallet {
    /// A wallet for the guardian's device signer, holding at most `max_dependants`
    /// (5 by default).
    #[uniffi::constructor(default(max_dependants = 5))]
    pub fn new(signer: Arc<dyn DeviceSigner>, max_dependants: u32) -> Result<Arc<Self>> {
        let wallet = citycode::Wallet::with_limit(ForeignSigner::new(signer)?, max_dependants as usize);
        Ok(Arc::new(GuardianWallet { inner: std::sync::Mutex::new(wallet) }))
    }

    /// A wallet whose device key is a [`SigningKey`] in this library.
    #[uniffi::constructor(default(max_dependants = 5))]
    pub fn with_key(key: Arc<SigningKey>, max_dependants: u32) -> Result<Arc<Self>> {
        GuardianWallet::new(key, max_dependants)
    }

    /// Sets the guardian's own credential (base64url).
    pub fn set_own(&self, credential_base64url: String) -> Result<()> {
        Ok(self.lock().set_own(citycode::Credential::from_base64url(&credential_base64url)?)?)
    }

    /// Adds (or renews) a dependant's credential under `label`; `out_of_range` beyond
    /// the limit or for a credential not issued to a guardian.
    pub fn add_dependant(&self, label: String, credential_base64url: String) -> Result<()> {
        Ok(self.lock().add_dependant(&label, citycode::Credential::from_base64url(&credential_base64url)?)?)
    }

    /// Removes a dependant; whether it was held.
    pub fn remove_dependant(&self, label: String) -> bool {
        self.lock().remove_dependant(&label)
    }

    /// The dependants' labels, in the order added.
    pub fn dependants(&self) -> Vec<String> {
        self.lock().dependants().map(str::to_string).collect()
    }

    /// Builds a code for a scene: the guardian's own (`dependant` null) or a dependant's.
    #[uniffi::method(default(dependant = None, now_unix = None, validity_secs = 60))]
    pub fn present_for_scene(
        &self,
        scene: Scene,
        dependant: Option<String>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let code = self.lock().present(dependant.as_deref(), &citycode::Scene::from(scene), at, options)?;
        Ok(presented(&code, at))
    }
}

impl GuardianWallet {
    fn lock(&self) -> std::sync::MutexGuard<'_, citycode::Wallet<ForeignSigner>> {
        unpoisoned(self.inner.lock())
    }
}

/// A holder whose device signer is asynchronous ([`AsyncDeviceSigner`]): the code is
/// built, the signer awaited, and the signature checked against the device key before
/// the code is returned.
#[derive(uniffi::Object)]
pub struct AsyncHolder {
    credential: citycode::Credential,
    key: citycode::PublicKey,
    signer: Arc<dyn AsyncDeviceSigner>,
}

impl std::fmt::Debug for AsyncHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncHolder").field("key", &self.key).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl AsyncHolder {
    /// A holder with a credential (base64url) and an asynchronous device signer whose
    /// key the credential is bound to.
    #[uniffi::constructor]
    pub fn new(credential_base64url: String, signer: Arc<dyn AsyncDeviceSigner>) -> Result<Arc<Self>> {
        let credential = citycode::Credential::from_base64url(&credential_base64url)?;
        let key = signer_key(signer.algorithm(), &signer.public_key())?;
        if key != credential.device_key {
            return Err(CitycodeError::signer("the signer's key is not the credential's device key"));
        }
        Ok(Arc::new(AsyncHolder { credential, key, signer }))
    }

    /// The pseudonymous subject, hex.
    pub fn subject(&self) -> String {
        self.credential.subject.to_hex()
    }

    /// Builds a code for a scene (only what its policy reads), awaiting the signer.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub async fn present_for_scene(
        &self,
        scene: Scene,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let scene = citycode::Scene::from(scene);
        self.sign(&scene, now_unix, validity_secs).await
    }

    /// Builds a code that discloses `domains`, whole, awaiting the signer.
    #[uniffi::method(default(now_unix = None, validity_secs = 60))]
    pub async fn present(
        &self,
        domains: Vec<Domain>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let ids = domain_ids(domains);
        self.sign(&ids, now_unix, validity_secs).await
    }
}

impl AsyncHolder {
    async fn sign(
        &self,
        disclosure: impl Into<citycode::Disclosure<'_>>,
        now_unix: Option<u64>,
        validity_secs: u8,
    ) -> Result<PresentedCode> {
        let at = now_unix.unwrap_or_else(now);
        let options = citycode::PresentOptions { validity_secs, nonce: None };
        let unsigned = citycode::prepare(&self.credential, &self.key, disclosure, at, options)?;
        let signature = self.signer.sign(unsigned.signing_input().to_vec()).await?;
        Ok(presented(&unsigned.finish(&signature)?, at))
    }
}

fn domain_ids(domains: Vec<Domain>) -> Vec<u32> {
    domains.into_iter().map(|d| cc::Domain::from(d).id()).collect()
}

fn presented(code: &citycode::Code, at: u64) -> PresentedCode {
    PresentedCode {
        text: code.to_text(),
        base64url: code.to_base64url(),
        issued_at: u64::from(code.issued_at()),
        expires_at: code.expires_at(),
        refresh_in_secs: code.refresh_in(at),
    }
}
