//! [`TokenSigner`]: a root or issuer key in a PKCS#11 token behind
//! [`citycode::DeviceSigner`], with a small pool of sessions so that signatures run in
//! parallel where the token allows, and a new session (and login) when one is lost.

use std::sync::{Condvar, Mutex, MutexGuard};

use citycode::{Algorithm, DeviceSigner, PublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::Digest as _;

use crate::config::{Pin, Selection, TokenKeyConfig, TokenMatch};
use crate::error::TokenError;

/// What a signer signs once when it opens, to prove that the token's private and public
/// key objects pair and that the mechanism works, before anything real is signed. The
/// label is distinct from every signing input of SPEC.md, so this signature can be taken
/// for nothing else.
pub const PROBE_MESSAGE: &[u8] = b"citycode/v1/token-probe\0";

/// DER of the `CKA_EC_PARAMS` that name each curve.
pub(crate) mod curves {
    /// OID 1.2.840.10045.3.1.7 (prime256v1, NIST P-256).
    pub const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// OID 1.3.101.112 (id-Ed25519, RFC 8410).
    pub const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    /// PrintableString "edwards25519", the form PKCS#11 3.0 also allows.
    pub const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
    /// OID 1.2.156.10197.1.301 (the SM2 curve, GM/T 0006).
    pub const SM2: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
}

/// A signing key in a PKCS#11 token. The private key never leaves the token; this holds
/// the public key, the PIN (zeroized on drop, for logging in again after a session is
/// lost) and a pool of up to `sessions` sessions.
///
/// Every signature goes through core's checks ([`citycode::keys::signature_by`]): it is
/// converted to `r ‖ s` and verified under the public key before use. [`sign_many`]
/// signs on as many threads as the pool has sessions.
///
/// [`sign_many`]: DeviceSigner::sign_many
pub struct TokenSigner {
    token: Token,
    public: PublicKey,
    sessions: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// The module, which token and key, and how to log in: all a new session needs.
struct Token {
    ctx: Pkcs11,
    selection: Selection,
    describe: String,
    algorithm: Algorithm,
    sm2_sign: Option<u64>,
    sm2_key_type: Option<u64>,
    allow_extractable: bool,
    pin: Pin,
}

/// Sessions logged in and ready, and how many exist in all (idle or in use).
struct Pool {
    idle: Vec<Ready>,
    open: usize,
    slot: Option<Slot>,
}

/// A logged-in session and the private key's handle in it.
struct Ready {
    session: Session,
    key: ObjectHandle,
}

impl core::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("key", &self.token.describe)
            .field("public", &self.public)
            .field("sessions", &self.sessions)
            .field("pin", &self.token.pin)
            .finish()
    }
}

impl TokenSigner {
    /// Opens the key a configuration names: loads the module, finds the token, logs in,
    /// finds the key pair, checks its type, curve and attributes and that the token
    /// offers the mechanism, and signs [`PROBE_MESSAGE`] to check that the pair matches.
    /// One session stays open; more are opened as concurrent signatures need them.
    pub fn open(config: &TokenKeyConfig) -> Result<Self, TokenError> {
        let selection = config.selection()?;
        let pin = selection.pin.read()?;
        let token = Token {
            ctx: load_module(&selection.module)?,
            describe: config.describe(),
            algorithm: config.algorithm,
            sm2_sign: config.sm2.map(|m| m.sign),
            sm2_key_type: config.sm2.and_then(|m| m.key_type),
            allow_extractable: config.allow_extractable,
            pin,
            selection,
        };
        let slot = token.find_slot()?;
        token.check_mechanism(slot)?;
        let session = token.login(slot)?;
        let (key, public) = token.find_key(&session)?;
        let signer = TokenSigner {
            token,
            public,
            sessions: config.sessions,
            pool: Mutex::new(Pool { idle: vec![Ready { session, key }], open: 1, slot: Some(slot) }),
            returned: Condvar::new(),
        };
        match citycode::keys::signature_by(&signer, PROBE_MESSAGE) {
            Ok(_) => Ok(signer),
            Err(citycode::Error::Signer(m)) if m.contains("does not verify") => Err(TokenError::KeyMismatch),
            Err(e) => Err(TokenError::Device(e.to_string())),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.token.algorithm
    }

    /// The configured description of the key (URI, or token and label), for messages.
    pub fn describe(&self) -> &str {
        &self.token.describe
    }

    /// Sessions open now, idle or in use (at most the configured `sessions`).
    pub fn open_sessions(&self) -> usize {
        self.lock().open
    }

    /// Signs one message with the token, as [`DeviceSigner::sign`] does, with the typed
    /// error. The result is the token's raw signature (`r ‖ s` or DER): use
    /// [`citycode::keys::signature_by`] to convert and check it.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let input = self.token.mechanism_input(message);
        let mechanism = self.token.mechanism()?;
        match self.sign_on(self.checkout()?, &mechanism, &input) {
            Ok((ready, signature)) => {
                self.checkin(ready);
                Ok(signature)
            }
            Err((ready, e)) => {
                if let Some(ready) = ready {
                    self.checkin(ready);
                }
                Err(e)
            }
        }
    }

    /// Signs `input` in `ready`'s session. If the session is lost (and with it, usually,
    /// every session of this token), drops them all, finds the token again, logs in
    /// again and retries once. Gives back the session to go on with, if one is left.
    #[allow(clippy::type_complexity)]
    fn sign_on(
        &self,
        ready: Ready,
        mechanism: &Mechanism<'_>,
        input: &[u8],
    ) -> Result<(Ready, Vec<u8>), (Option<Ready>, TokenError)> {
        match ready.session.sign(mechanism, ready.key, input) {
            Ok(signature) => Ok((ready, signature)),
            Err(e) if session_lost(&e) => {
                self.discard(ready, true);
                let again = self.checkout().map_err(|e| (None, e))?;
                match again.session.sign(mechanism, again.key, input) {
                    Ok(signature) => Ok((again, signature)),
                    Err(e) if session_lost(&e) => {
                        self.discard(again, true);
                        Err((None, TokenError::TokenRemoved(e.to_string())))
                    }
                    Err(e) => Err((Some(again), sign_error(e))),
                }
            }
            Err(e) => Err((Some(ready), sign_error(e))),
        }
    }

    /// Signs every message of `chunk` in order in one session, then returns it.
    fn sign_chunk(&self, mut ready: Ready, chunk: &[&[u8]]) -> Result<Vec<Vec<u8>>, TokenError> {
        // Built here: a mechanism (raw pointers to its parameters) stays on its thread.
        let mechanism = match self.token.mechanism() {
            Ok(m) => m,
            Err(e) => {
                self.checkin(ready);
                return Err(e);
            }
        };
        let mut out = Vec::with_capacity(chunk.len());
        for message in chunk {
            match self.sign_on(ready, &mechanism, &self.token.mechanism_input(message)) {
                Ok((next, signature)) => {
                    ready = next;
                    out.push(signature);
                }
                Err((next, e)) => {
                    if let Some(next) = next {
                        self.checkin(next);
                    }
                    return Err(e);
                }
            }
        }
        self.checkin(ready);
        Ok(out)
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        // A panic while holding the lock leaves only a list of sessions behind: go on.
        self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle session, a new one if fewer than `sessions` are open, or the next one
    /// returned.
    fn checkout(&self) -> Result<Ready, TokenError> {
        let mut pool = self.lock();
        loop {
            if let Some(ready) = pool.idle.pop() {
                return Ok(ready);
            }
            if pool.open < self.sessions {
                return self.open_new(pool);
            }
            pool = self.returned.wait(pool).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// An idle session or a new one, without waiting: `None` when every session the
    /// pool may open is in use.
    fn try_checkout(&self) -> Result<Option<Ready>, TokenError> {
        let mut pool = self.lock();
        if let Some(ready) = pool.idle.pop() {
            return Ok(Some(ready));
        }
        if pool.open < self.sessions { self.open_new(pool).map(Some) } else { Ok(None) }
    }

    /// Opens one more session, counted while it opens (outside the lock).
    fn open_new(&self, mut pool: MutexGuard<'_, Pool>) -> Result<Ready, TokenError> {
        pool.open += 1;
        let slot = pool.slot;
        drop(pool);
        let opened = self.open_session(slot);
        let mut pool = self.lock();
        match opened {
            Ok((ready, slot)) => {
                pool.slot = Some(slot);
                Ok(ready)
            }
            Err(e) => {
                pool.open = pool.open.saturating_sub(1);
                drop(pool);
                self.returned.notify_one();
                Err(e)
            }
        }
    }

    /// A new logged-in session with the key found in it, on `slot` or, if that is
    /// unknown (after a loss), on the token found again. The key must be the one this
    /// signer was opened with.
    fn open_session(&self, slot: Option<Slot>) -> Result<(Ready, Slot), TokenError> {
        // This signer found its token when it opened: if it is gone now, it was removed.
        let slot = match slot {
            Some(s) => s,
            None => self.token.find_slot().map_err(|e| match e {
                TokenError::TokenNotFound(label) => {
                    TokenError::TokenRemoved(format!("token {label:?} is no longer present"))
                }
                other => other,
            })?,
        };
        let session = self.token.login(slot)?;
        let (key, public) = self.token.find_key(&session)?;
        if public != self.public {
            return Err(TokenError::KeyReplaced { expected: citycode::text::hex(&self.public.to_bytes()) });
        }
        Ok((Ready { session, key }, slot))
    }

    fn checkin(&self, ready: Ready) {
        self.lock().idle.push(ready);
        self.returned.notify_one();
    }

    /// Closes a failed session; after a loss also the idle ones, and forgets the slot so
    /// the next session finds the token again.
    fn discard(&self, ready: Ready, lost: bool) {
        let mut pool = self.lock();
        pool.open = pool.open.saturating_sub(1);
        if lost {
            pool.open = pool.open.saturating_sub(pool.idle.len());
            pool.idle.clear();
            pool.slot = None;
        }
        drop(pool);
        drop(ready);
        self.returned.notify_all();
    }
}

impl Token {
    /// The bytes the token's mechanism takes: the message for EdDSA and SM2 (the token
    /// hashes), its SHA-256 digest for `CKM_ECDSA`.
    fn mechanism_input(&self, message: &[u8]) -> Vec<u8> {
        match self.algorithm {
            Algorithm::EcdsaP256Sha256 => sha2::Sha256::digest(message).to_vec(),
            Algorithm::Ed25519 | Algorithm::Sm2Sm3 => message.to_vec(),
        }
    }

    fn mechanism_type(&self) -> Result<MechanismType, TokenError> {
        match self.algorithm {
            Algorithm::Ed25519 => Ok(MechanismType::EDDSA),
            Algorithm::EcdsaP256Sha256 => Ok(MechanismType::ECDSA),
            Algorithm::Sm2Sm3 => vendor_mechanism(self.sm2_sign),
        }
    }

    fn mechanism(&self) -> Result<Mechanism<'static>, TokenError> {
        Ok(match self.algorithm {
            Algorithm::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            Algorithm::EcdsaP256Sha256 => Mechanism::Ecdsa,
            Algorithm::Sm2Sm3 => {
                Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(vendor_mechanism(self.sm2_sign)?, None))
            }
        })
    }

    /// Refuses a token that does not offer the mechanism for signing.
    fn check_mechanism(&self, slot: Slot) -> Result<(), TokenError> {
        let mechanism = self.mechanism_type()?;
        let offered = self.ctx.get_mechanism_list(slot).map_err(|e| TokenError::Device(e.to_string()))?;
        let signs = offered.contains(&mechanism)
            && self.ctx.get_mechanism_info(slot, mechanism).map(|info| info.sign()).unwrap_or(false);
        if signs { Ok(()) } else { Err(TokenError::MechanismNotSupported(mechanism.to_string())) }
    }

    /// The slot holding the configured token.
    fn find_slot(&self) -> Result<Slot, TokenError> {
        let want = &self.selection.token;
        let slots = self.ctx.get_slots_with_token().map_err(|e| TokenError::Device(e.to_string()))?;
        for slot in slots {
            let Ok(info) = self.ctx.get_token_info(slot) else { continue };
            if token_matches(want, info.label(), info.serial_number(), info.manufacturer_id(), info.model()) {
                return Ok(slot);
            }
        }
        Err(TokenError::TokenNotFound(want.label.clone()))
    }

    /// A read-only session, logged in as the user. Login state is shared by every
    /// session of the application, so "already logged in" is success.
    fn login(&self, slot: Slot) -> Result<Session, TokenError> {
        let session = self.ctx.open_ro_session(slot).map_err(|e| match rv(&e) {
            Some(RvError::TokenNotPresent | RvError::DeviceRemoved | RvError::SlotIdInvalid) => {
                TokenError::TokenRemoved(e.to_string())
            }
            _ => TokenError::Device(e.to_string()),
        })?;
        let pin = AuthPin::from(self.pin.0.as_str());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) => Ok(session),
            Err(e) => match rv(&e) {
                Some(RvError::UserAlreadyLoggedIn) => Ok(session),
                Some(RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid) => Err(TokenError::WrongPin),
                Some(RvError::PinLocked) => Err(TokenError::PinLocked),
                Some(RvError::TokenNotPresent | RvError::DeviceRemoved) => Err(TokenError::TokenRemoved(e.to_string())),
                _ => Err(TokenError::Device(e.to_string())),
            },
        }
    }

    /// The private key's handle and the public key beside it, checked against the
    /// configured algorithm.
    fn find_key(&self, session: &Session) -> Result<(ObjectHandle, PublicKey), TokenError> {
        let device = |e: CkError| match rv(&e) {
            Some(RvError::TokenNotPresent | RvError::DeviceRemoved | RvError::SessionHandleInvalid) => {
                TokenError::TokenRemoved(e.to_string())
            }
            _ => TokenError::Device(e.to_string()),
        };
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        template.extend(self.key_attributes());
        let found = session.find_objects(&template).map_err(device)?;
        let key = match found.as_slice() {
            [] => return Err(TokenError::KeyNotFound(self.describe.clone())),
            [one] => *one,
            more => return Err(TokenError::AmbiguousKey(more.len())),
        };
        let attributes = session
            .get_attributes(
                key,
                &[AttributeType::KeyType, AttributeType::EcParams, AttributeType::Sign, AttributeType::Id]
                    .into_iter()
                    .chain(if self.allow_extractable {
                        vec![]
                    } else {
                        vec![AttributeType::Sensitive, AttributeType::Extractable]
                    })
                    .collect::<Vec<_>>(),
            )
            .map_err(device)?;
        let mut key_type = None;
        let mut params = None;
        let mut can_sign = false;
        let mut id = None;
        let mut sensitive = false;
        let mut extractable = true;
        for a in attributes {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Sign(s) => can_sign = s,
                Attribute::Id(i) if !i.is_empty() => id = Some(i),
                Attribute::Sensitive(s) => sensitive = s,
                Attribute::Extractable(e) => extractable = e,
                _ => {}
            }
        }
        self.check_key_type(key_type, params.as_deref())?;
        if !can_sign {
            return Err(TokenError::WrongKeyType {
                expected: format!("{} signing key", self.algorithm),
                found: "a key without CKA_SIGN".into(),
            });
        }
        if !self.allow_extractable && (extractable || !sensitive) {
            return Err(TokenError::KeyExtractable);
        }
        // The public key object: the same id if the private key has one, else the same
        // label and id as configured.
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        match id {
            Some(id) => template.push(Attribute::Id(id)),
            None => template.extend(self.key_attributes()),
        }
        let found = session.find_objects(&template).map_err(device)?;
        let public_object = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(TokenError::KeyNotFound(format!(
                    "{}: no public key object beside the private key",
                    self.describe
                )));
            }
            more => return Err(TokenError::AmbiguousKey(more.len())),
        };
        let point = session
            .get_attributes(public_object, &[AttributeType::EcPoint])
            .map_err(device)?
            .into_iter()
            .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None })
            .ok_or_else(|| TokenError::KeyNotFound(format!("{}: the public key has no CKA_EC_POINT", self.describe)))?;
        let public = public_key_from_point(self.algorithm, &point).ok_or_else(|| TokenError::WrongKeyType {
            expected: self.algorithm.to_string(),
            found: format!("a public point of {} bytes that is not one", point.len()),
        })?;
        Ok((key, public))
    }

    /// The configured label and id as a search template.
    fn key_attributes(&self) -> Vec<Attribute> {
        let mut attributes = Vec::new();
        if let Some(label) = &self.selection.key_label {
            attributes.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.selection.key_id {
            attributes.push(Attribute::Id(id.clone()));
        }
        attributes
    }

    /// Refuses a key whose type or curve is not the configured algorithm's.
    fn check_key_type(&self, key_type: Option<KeyType>, params: Option<&[u8]>) -> Result<(), TokenError> {
        let found = || {
            format!(
                "{} on {}",
                key_type.map_or_else(|| "no key type".to_string(), |t| t.to_string()),
                params.map_or_else(|| "no curve".to_string(), curve_name)
            )
        };
        let ok = match self.algorithm {
            Algorithm::Ed25519 => {
                key_type == Some(KeyType::EC_EDWARDS)
                    && params.is_none_or(|p| p == curves::ED25519 || p == curves::ED25519_NAME)
            }
            Algorithm::EcdsaP256Sha256 => key_type == Some(KeyType::EC) && params == Some(curves::P256),
            Algorithm::Sm2Sm3 => match self.sm2_key_type {
                // CK_ULONG is 32 bits on Windows, 64 here.
                #[allow(clippy::useless_conversion)]
                Some(t) => key_type.is_some_and(|k| u64::from(*k) == t),
                None => key_type == Some(KeyType::EC) && params == Some(curves::SM2),
            },
        };
        if ok { Ok(()) } else { Err(TokenError::WrongKeyType { expected: self.algorithm.to_string(), found: found() }) }
    }
}

impl DeviceSigner for TokenSigner {
    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, citycode::Error> {
        Ok(self.sign_raw(message)?)
    }

    /// Signs on up to `sessions` threads, each with a session of its own for a
    /// contiguous run of the messages; the signatures come back in order. The sessions
    /// are taken before the threads start: the first waits for the pool, the others
    /// only if idle or still to be opened, so that concurrent callers cannot deadlock.
    fn sign_many(&self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, citycode::Error> {
        if messages.len() <= 1 || self.sessions == 1 {
            return messages.iter().map(|m| self.sign(m)).collect();
        }
        let mut held = vec![self.checkout()?];
        while held.len() < self.sessions.min(messages.len()) {
            // A session that fails to open (the module's session limit) leaves fewer
            // threads, not an error: the sessions held still sign.
            match self.try_checkout() {
                Ok(Some(ready)) => held.push(ready),
                Ok(None) | Err(_) => break,
            }
        }
        let run = messages.len().div_ceil(held.len());
        let mut sessions = held.into_iter();
        let results: Vec<Result<Vec<Vec<u8>>, TokenError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = messages
                .chunks(run)
                .zip(sessions.by_ref())
                .map(|(chunk, ready)| scope.spawn(move || self.sign_chunk(ready, chunk)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(TokenError::Device("a signing thread panicked".into()))))
                .collect()
        });
        // Sessions left over when the runs were fewer than the sessions.
        for ready in sessions {
            self.checkin(ready);
        }
        let mut out = Vec::with_capacity(messages.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }
}

/// Loads a module and initialises it for use from several threads. A module another
/// signer in this process already initialised is used as it is.
pub(crate) fn load_module(path: &std::path::Path) -> Result<Pkcs11, TokenError> {
    let err = |message: String| TokenError::Module { module: path.display().to_string(), message };
    if !path.is_file() {
        return Err(err("no such file".into()));
    }
    let ctx = Pkcs11::new(path).map_err(|e| err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => Ok(ctx),
        Err(e) if rv(&e) == Some(RvError::CryptokiAlreadyInitialized) => Ok(ctx),
        Err(e) => Err(err(e.to_string())),
    }
}

/// Whether a token's fields match what the configuration names (labels are padded with
/// spaces to 32 bytes in `CK_TOKEN_INFO`; cryptoki trims them).
pub(crate) fn token_matches(want: &TokenMatch, label: &str, serial: &str, manufacturer: &str, model: &str) -> bool {
    let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.trim_end() == have.trim_end());
    want.label.trim_end() == label.trim_end()
        && same(&want.serial, serial)
        && same(&want.manufacturer, manufacturer)
        && same(&want.model, model)
}

/// A public key from `CKA_EC_POINT`: DER `OCTET STRING` around the point (what the
/// standard asks) or the bare point (what some tokens return).
pub(crate) fn public_key_from_point(alg: Algorithm, point: &[u8]) -> Option<PublicKey> {
    let wrapped = match point {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && *len < 0x80 => Some(rest),
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => Some(rest),
        _ => None,
    };
    wrapped.and_then(|p| PublicKey::from_exported(alg, p).ok()).or_else(|| PublicKey::from_exported(alg, point).ok())
}

/// A curve's name for messages.
fn curve_name(params: &[u8]) -> String {
    match params {
        p if p == curves::P256 => "P-256".into(),
        p if p == curves::ED25519 || p == curves::ED25519_NAME => "Ed25519".into(),
        p if p == curves::SM2 => "SM2".into(),
        p => format!("curve {}", citycode::text::hex(p)),
    }
}

fn vendor_mechanism(id: Option<u64>) -> Result<MechanismType, TokenError> {
    let id = id.ok_or_else(|| TokenError::Config("an SM2 key needs the vendor's sm2.sign mechanism".into()))?;
    let ulong = std::os::raw::c_ulong::try_from(id)
        .map_err(|_| TokenError::Config(format!("sm2 mechanism {id:#x} does not fit a CK_ULONG")))?;
    MechanismType::new_vendor_defined(ulong)
        .map_err(|_| TokenError::Config(format!("sm2 mechanism {id:#x} is below CKM_VENDOR_DEFINED")))
}

/// The PKCS#11 return value inside an error, if it is one.
pub(crate) fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// Errors after which the session, its login or its key handle is gone, but the token
/// may still be there (a restarted HSM, a reconnected network module).
fn session_lost(e: &CkError) -> bool {
    matches!(
        rv(e),
        Some(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::DeviceError
        )
    )
}

fn sign_error(e: CkError) -> TokenError {
    match rv(&e) {
        Some(RvError::MechanismInvalid | RvError::MechanismParamInvalid) => {
            TokenError::MechanismNotSupported(e.to_string())
        }
        Some(RvError::KeyTypeInconsistent | RvError::KeyFunctionNotPermitted) => {
            TokenError::WrongKeyType { expected: "a signing key".into(), found: e.to_string() }
        }
        _ => TokenError::Device(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_are_read_wrapped_or_bare() {
        let ed = citycode::KeyPair::from_secret_bytes(Algorithm::Ed25519, &[4u8; 32]).unwrap().public_key();
        let bare = ed.to_bytes();
        let wrapped = [&[0x04, 32][..], &bare].concat();
        assert_eq!(public_key_from_point(Algorithm::Ed25519, &wrapped), Some(ed.clone()));
        assert_eq!(public_key_from_point(Algorithm::Ed25519, &bare), Some(ed));
        assert_eq!(public_key_from_point(Algorithm::Ed25519, &wrapped[..33]), None);
        let p = citycode::KeyPair::from_secret_bytes(Algorithm::EcdsaP256Sha256, &[4u8; 32]).unwrap().public_key();
        let mut sec1 = [4u8; 65];
        // Uncompressed: decompress through core, then wrap as a token returns it.
        let (x, y) = {
            let uncompressed = p.p256_check(b"", &[1u8; 64]).unwrap().public_key;
            (uncompressed[1..33].to_vec(), uncompressed[33..].to_vec())
        };
        sec1[1..33].copy_from_slice(&x);
        sec1[33..].copy_from_slice(&y);
        let wrapped = [&[0x04, 65][..], &sec1].concat();
        assert_eq!(public_key_from_point(Algorithm::EcdsaP256Sha256, &wrapped), Some(p.clone()));
        assert_eq!(public_key_from_point(Algorithm::EcdsaP256Sha256, &sec1), Some(p.clone()));
        // The same point is not an Ed25519 key, nor an SM2 one.
        assert_eq!(public_key_from_point(Algorithm::Ed25519, &wrapped), None);
        assert_ne!(public_key_from_point(Algorithm::Sm2Sm3, &wrapped), Some(p));
    }

    #[test]
    fn tokens_match_on_every_named_field() {
        let want = TokenMatch { label: "root".into(), serial: Some("42".into()), ..TokenMatch::default() };
        assert!(token_matches(&want, "root", "42", "SoftHSM", "x"));
        assert!(token_matches(&want, "root  ", "42  ", "SoftHSM", "x"));
        assert!(!token_matches(&want, "root", "43", "SoftHSM", "x"));
        assert!(!token_matches(&want, "roots", "42", "SoftHSM", "x"));
    }

    #[test]
    fn the_probe_message_is_no_other_signing_input() {
        for label in [
            citycode::digest::LABEL_CARD,
            citycode::digest::LABEL_CODE,
            citycode::digest::LABEL_TRUST_LIST,
            citycode::digest::LABEL_REVOCATION_LIST,
            citycode::digest::LABEL_KEY_REQUEST,
            citycode::digest::LABEL_GUARDIAN_CARD,
            citycode::digest::LABEL_PRINTED_CARD,
            citycode::digest::LABEL_LIST_STATUS,
        ] {
            assert!(!PROBE_MESSAGE.starts_with(label) && !label.starts_with(PROBE_MESSAGE));
        }
    }
}
