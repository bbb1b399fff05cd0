//! What the service does, independent of HTTP: give challenges, issue batches (a
//! resident's own and a guardian's), record guardianships, issue printed codes, revoke,
//! and publish the distribution directory. Every call takes the authenticated caller
//! and the service's clock; the records' rules are in [`crate::store::records`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use citycode::claims::{Guardian, IdDigest, Relation};
use citycode::distribution::{ListFile, ListStatus, STATUS_FILE, STATUS_INDEX_FILE};
use citycode::trust::{ListSigner, RevocationList, Revoked, TrustList};
use citycode::{CardLayout, Claims, Clock, CredentialRequest, DeviceSigner, IdentityDocument, KeyRequest, Subject};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::attestation::Attestation;
use crate::auth::{Authenticator, Caller, Role};
use crate::error::Error;
use crate::keys::{NumberSeal, SharedSigner, SignFailure};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::records::{
    Actor, BatchRecord, Committed, Consent, Guardianship, IssuedInstance, REVOKE_DEVICE_KEY, REVOKE_SUBJECT, Resident,
};

/// The proof type of citycode key requests (SPEC.md §4.7) in `proofs`.
pub const PROOF_TYPE: &str = "citycode_key_request";
/// The credential configuration of a resident's own credential.
pub const CONFIG_OWN: &str = "citycode";
/// The credential configuration of a credential a guardian holds for a dependant.
pub const CONFIG_GUARDIAN: &str = "citycode_guardian";
/// Longest key request accepted, in base64url characters (the longest is 132).
pub const MAX_KEY_REQUEST_CHARS: usize = 160;
/// Longest client request id or device label.
pub const MAX_LABEL_CHARS: usize = 64;

/// Limits and lifetimes.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Seconds a challenge stays usable.
    pub challenge_ttl_secs: u64,
    /// Live challenges one resident may hold.
    pub max_live_challenges: u32,
    /// Days each instance is valid (1 to 255).
    pub instance_valid_days: u8,
    /// Outstanding instances per holder (own, or per guardianship).
    pub max_outstanding: u32,
    /// Active guardianships per guardian.
    pub max_guardianships: u32,
    /// Seconds an invitation to become a guardian stays usable.
    pub invitation_ttl_secs: u64,
    /// Days a printed code is valid (1 to 180).
    pub printed_valid_days: u8,
    /// Seconds a batch's response is kept for a retry to get it again.
    pub retry_window_secs: u64,
    /// Seconds readiness trusts a signing key's last signature before signing a probe
    /// (0: a probe at every readiness check).
    pub key_probe_secs: u64,
    /// Publication, when the service publishes.
    pub publication: Option<PublicationSettings>,
    /// The OpenType font printed cards embed a subset of (SPEC.md §5.1).
    pub card_font: PathBuf,
    /// The face of a font collection, by family or full name (default: the first).
    pub card_font_family: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            challenge_ttl_secs: 300,
            max_live_challenges: 8,
            instance_valid_days: 7,
            max_outstanding: citycode::MAX_BATCH as u32,
            max_guardianships: citycode::MAX_DEPENDANTS as u32,
            invitation_ttl_secs: 86_400,
            printed_valid_days: citycode::PRINTED_MAX_DAYS,
            retry_window_secs: 86_400,
            key_probe_secs: 10,
            publication: None,
            card_font: PathBuf::from(citycode::print_card::DEFAULT_FONT_PATH),
            card_font_family: None,
        }
    }
}

/// Where and how the service publishes (SPEC.md §8.4).
#[derive(Clone, Debug)]
pub struct PublicationSettings {
    /// The directory to write.
    pub directory: PathBuf,
    /// The root-signed trust list to publish beside the revocation list.
    pub trust_list: PathBuf,
    /// Seconds the revocation list and status are valid after each publication.
    pub validity_secs: u32,
}

/// Where log lines go: one JSON object per line.
pub type LogSink = Box<dyn Write + Send>;

/// The service.
pub struct Issuing {
    /// The records.
    pub store: Store,
    issuer: citycode::Issuer,
    issuer_key: SharedSigner,
    root: Option<SharedSigner>,
    seal: NumberSeal,
    auth: Authenticator,
    clock: Arc<dyn Clock>,
    settings: Settings,
    attestation: Attestation,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    log: Mutex<LogSink>,
    crash_after_commit: AtomicBool,
    /// The card font, loaded at the first card and kept (a failed load is retried).
    card_font: Mutex<Option<Arc<citycode::print_card::CardFont>>>,
}

impl core::fmt::Debug for Issuing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuing").field("store", &self.store).finish_non_exhaustive()
    }
}

/// `POST /v1/credential` body (OpenID4VCI §8.2, with citycode's proof type).
#[derive(Deserialize)]
pub struct CredentialRequestBody {
    /// `citycode` or `citycode_guardian`.
    pub credential_configuration_id: String,
    /// The challenge every key request signed (base64url), from `POST /v1/nonce`.
    pub c_nonce: String,
    /// `{"citycode_key_request": ["<base64url>", ...]}`.
    pub proofs: Proofs,
    /// For `citycode_guardian`: which guardianship.
    #[serde(default)]
    pub guardianship_id: Option<i64>,
    /// A client request id: a retry with the same id gets the same response.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The device keys' attestations (SPEC.md §4.10.1), positional with the key
    /// requests. Read as it came: the attestation policy, not this type, says what a
    /// malformed one means.
    #[serde(default)]
    pub key_attestations: Option<Value>,
    /// A label for the phone (to revoke what it holds if it is lost).
    #[serde(default)]
    pub device: Option<String>,
}

/// The `proofs` object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Key requests (SPEC.md §4.7), base64url.
    pub citycode_key_request: Vec<String>,
}

fn b64(bytes: &[u8]) -> String {
    citycode::text::encode_base64url(bytes)
}

fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| Error::Issuance(citycode::Error::Random))?;
    Ok(b)
}

fn label(value: &Option<String>, what: &str) -> Result<(), Error> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > MAX_LABEL_CHARS || v.chars().any(char::is_control) => {
            Err(Error::OutOfRange(format!("{what} is 1 to {MAX_LABEL_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

impl Issuing {
    /// The service: records in `store`, cards signed by `issuer_key` as key id `kid`
    /// for `scope`, lists and status signed by `root` (when it publishes), identity
    /// numbers sealed by `seal`, callers checked by `auth`, time from `clock`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        kid: u32,
        scope: Vec<u32>,
        issuer_key: SharedSigner,
        root: Option<SharedSigner>,
        seal: NumberSeal,
        auth: Authenticator,
        clock: Arc<dyn Clock>,
        settings: Settings,
        log: LogSink,
    ) -> Self {
        Issuing {
            store,
            issuer: citycode::Issuer::new(kid, issuer_key.clone(), scope),
            issuer_key,
            root,
            seal,
            auth,
            clock,
            settings,
            attestation: Attestation::default(),
            metrics: Metrics::default(),
            log: Mutex::new(log),
            crash_after_commit: AtomicBool::new(false),
            card_font: Mutex::new(None),
        }
    }

    /// The service checking attestations with `attestation` (the default:
    /// [`Attestation::default`], `record` with the built-in roots).
    pub fn with_attestation(mut self, attestation: Attestation) -> Self {
        self.attestation = attestation;
        self
    }

    /// What attestations are checked with (to reload the status list on schedule).
    pub fn attestation(&self) -> &Attestation {
        &self.attestation
    }

    /// The signing keys, by role (`issuer`, and `root` when the service publishes).
    pub fn signing_keys(&self) -> Vec<(&'static str, &SharedSigner)> {
        let mut keys = vec![("issuer", &self.issuer_key)];
        if let Some(root) = &self.root {
            keys.push(("root", root));
        }
        keys
    }

    /// A signing error as the service reports it: a key that did not sign is
    /// `signing_key_unavailable` with its code (logged with the signer's message); any
    /// other error of core is `other`'s.
    fn signing(&self, key: &'static str, e: citycode::Error, other: impl FnOnce(citycode::Error) -> Error) -> Error {
        match e {
            citycode::Error::Signer(_) => {
                let SignFailure { code, detail } = SignFailure::of(&e);
                self.log("error", "signing failed", json!({"key": key, "code": code, "detail": detail}));
                Error::SigningKey { key, code, detail }
            }
            e => other(e),
        }
    }

    /// The service's time, Unix seconds.
    pub fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The authenticator (to refresh its keys on schedule).
    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    /// The record sealing identity numbers (for imports).
    pub fn seal(&self) -> &NumberSeal {
        &self.seal
    }

    /// Writes one JSON log line: outcomes, reasons, counts and times, never claims,
    /// names, numbers, subjects or tokens.
    pub fn log(&self, level: &str, msg: &str, fields: Value) {
        let mut line = json!({"ts": self.clock.now(), "level": level, "msg": msg});
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(log, "{line}");
    }

    /// Test hook: the next batches are committed and then fail as if the service
    /// crashed before answering (the holder's retry must get the same instances).
    #[doc(hidden)]
    pub fn set_crash_after_commit(&self, on: bool) {
        self.crash_after_commit.store(on, Ordering::SeqCst);
    }

    /// Authenticates `authorization` and requires `role`.
    pub fn caller(&self, authorization: Option<&str>, role: Role) -> Result<Caller, Error> {
        let caller = self.auth.authenticate(authorization, self.clock.now())?;
        caller.require(role)?;
        Ok(caller)
    }

    /// The calling resident's record (refused if none or revoked).
    pub fn resident_of(&self, caller: &Caller) -> Result<Resident, Error> {
        let resident = self.store.resident_by_login(&caller.subject)?.ok_or(Error::UnknownResident)?;
        if resident.revoked_at.is_some() {
            return Err(Error::ResidentRevoked);
        }
        Ok(resident)
    }

    /// Readiness: the store answers, the signing keys sign (each proven by its last
    /// signature, or by a probe signature when that is older than `key_probe_secs`: a
    /// token is asked at most that often), the identity provider's keys are held.
    pub fn readiness(&self) -> Result<Value, Error> {
        self.store.ping()?;
        let age = std::time::Duration::from_secs(self.settings.key_probe_secs);
        for (key, signer) in self.signing_keys() {
            signer.probe(age).map_err(|SignFailure { code, detail }| Error::SigningKey { key, code, detail })?;
        }
        if !self.auth.has_keys() {
            return Err(Error::JwksUnavailable("no key of the identity provider held".into()));
        }
        Ok(json!({
            "store": format!("{:?}", self.store.dialect()).to_lowercase(),
            "kid": self.issuer.kid(),
            "attestation": self.attestation.policy().mode,
        }))
    }

    /// `POST /v1/nonce`: a fresh challenge for the calling resident (OpenID4VCI §7).
    pub fn nonce(&self, caller: &Caller) -> Result<Value, Error> {
        let resident = self.resident_of(caller)?;
        let challenge: [u8; 32] = citycode::request::random_challenge()?;
        let now = self.now();
        let ttl = i64::try_from(self.settings.challenge_ttl_secs).unwrap_or(i64::MAX);
        self.store.new_challenge(
            resident.id,
            &challenge,
            now,
            now.saturating_add(ttl),
            self.settings.max_live_challenges,
        )?;
        Ok(json!({"c_nonce": b64(&challenge), "c_nonce_expires_in": ttl}))
    }

    /// `POST /v1/credential`: a batch of instances for the calling resident, or for a
    /// dependant of theirs. Count and sizes are checked before anything is decoded,
    /// the challenge before any signature, every key request before any card is signed;
    /// the records decide atomically.
    pub fn credential(&self, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("credential request: {e}")))?;
        let req = CredentialRequestBody::deserialize(&value)
            .map_err(|e| Error::BadRequest(format!("credential request: {e}")))?;
        let n = req.proofs.citycode_key_request.len();
        if n == 0 || n > citycode::MAX_BATCH {
            return Err(Error::OutOfRange(format!("a batch holds 1 to {} key requests, not {n}", citycode::MAX_BATCH)));
        }
        if req.proofs.citycode_key_request.iter().any(|r| r.len() > MAX_KEY_REQUEST_CHARS) {
            return Err(Error::OutOfRange(format!("a key request is at most {MAX_KEY_REQUEST_CHARS} characters")));
        }
        if req.c_nonce.len() > 88 {
            return Err(Error::OutOfRange("c_nonce is at most 64 bytes".into()));
        }
        label(&req.request_id, "request_id")?;
        label(&req.device, "device")?;
        let guardianship = match (req.credential_configuration_id.as_str(), req.guardianship_id) {
            (CONFIG_OWN, None) => None,
            (CONFIG_GUARDIAN, Some(id)) => Some(id),
            (CONFIG_GUARDIAN, None) => return Err(Error::BadRequest("citycode_guardian needs guardianship_id".into())),
            (CONFIG_OWN, Some(_)) => return Err(Error::BadRequest("guardianship_id is for citycode_guardian".into())),
            (other, _) => return Err(Error::BadRequest(format!("unknown credential configuration {other:?}"))),
        };
        let challenge = citycode::text::decode_base64url(&req.c_nonce).map_err(|_| Error::ChallengeUnknown)?;
        let requests = req
            .proofs
            .citycode_key_request
            .iter()
            .enumerate()
            .map(|(index, r)| {
                KeyRequest::from_base64url(r).map_err(|e| Error::InvalidProof { index, reason: e.reason })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let holder = self.resident_of(caller)?;
        let (subject_of_claims, relation) = match guardianship {
            None => (holder.clone(), None),
            Some(id) => {
                let g = self
                    .store
                    .guardianship(id)?
                    .filter(|g| g.guardian_id == holder.id && g.revoked_at.is_none())
                    .ok_or(Error::GuardianshipUnknown)?;
                let dependant = self.store.resident(g.dependant_id)?.ok_or(Error::GuardianshipUnknown)?;
                if dependant.revoked_at.is_some() {
                    return Err(Error::ResidentRevoked);
                }
                (dependant, Some(g.relation))
            }
        };

        // What was asked, to recognise a retry.
        let mut asked = Vec::new();
        asked.extend_from_slice(req.credential_configuration_id.as_bytes());
        asked.push(0);
        asked.extend_from_slice(&guardianship.unwrap_or(0).to_be_bytes());
        for r in &requests {
            asked.extend_from_slice(&r.to_bytes());
        }
        asked.extend_from_slice(req.device.as_deref().unwrap_or("").as_bytes());
        // The attestations as they came (`null` is not absent: the policy reads it so).
        if let Some(attestations) = value.get("key_attestations") {
            asked.push(0);
            asked.extend_from_slice(attestations.to_string().as_bytes());
        }
        let digest = citycode::digest::digest(citycode::Algorithm::Ed25519, &asked)
            .ok_or_else(|| Error::Store("digest".into()))?
            .to_vec();
        let now = self.now();
        if let Some(response) =
            self.store.precheck_batch(holder.id, &challenge, req.request_id.as_deref(), &digest, now)?
        {
            self.metrics.count("batch", "replayed");
            return serde_json::from_str(&response).map_err(|e| Error::Store(format!("stored response: {e}")));
        }
        let keys = requests
            .iter()
            .enumerate()
            .map(|(index, r)| r.verify(&challenge).map_err(|e| Error::InvalidProof { index, reason: e.reason }))
            .collect::<Result<Vec<_>, _>>()?;
        // Where each key lives, under the attestation policy, over the challenge the key
        // requests were just verified against (and the commit below consumes).
        let attestations = self.attestation.decide(&value, &keys, &challenge, self.clock.now())?;
        let attestation_json = attestations
            .iter()
            .map(|r| serde_json::to_string(r).map_err(|e| Error::Store(format!("attestation record: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;

        let mut claims: Claims = serde_json::from_str(&subject_of_claims.claims)
            .map_err(|e| Error::Store(format!("a resident's stored claims do not parse: {e}")))?;
        if let Some(relation) = relation {
            claims.guardian = Some(Guardian { relation: relation_of(relation)? });
        }
        let identity = self.identity_document(&subject_of_claims)?;
        let first = keys.first().cloned().ok_or_else(|| Error::OutOfRange("no key request".into()))?;
        let today = u16::try_from(now / 86_400).map_err(|_| Error::OutOfRange("date out of range".into()))?;
        let template = CredentialRequest {
            device_key: first,
            subject: Subject([0; 8]),
            valid_from_day: today,
            valid_days: self.settings.instance_valid_days,
            claims,
            layout: CardLayout::Standard,
        };
        let issued = self
            .issuer
            .issue_batch(&template, identity.as_ref(), &keys)
            .map_err(|e| self.signing("issuer", e, Error::Issuance))?;
        let not_after = (i64::from(today) + i64::from(self.settings.instance_valid_days)) * 86_400;
        let mut credentials = Vec::with_capacity(issued.len());
        let mut instances = Vec::with_capacity(issued.len());
        for (c, attestation) in issued.iter().zip(attestation_json) {
            credentials.push(json!({"credential": c.to_base64url()?}));
            instances.push(IssuedInstance {
                subject: c.subject.0,
                device_key_id: c.device_key.key_id(),
                not_after,
                attestation: Some(attestation),
            });
        }
        let response = json!({"credentials": credentials}).to_string();
        let record = BatchRecord {
            resident_id: holder.id,
            guardianship_id: guardianship,
            challenge,
            request_id: req.request_id.clone(),
            digest,
            device: req.device.clone(),
            instances,
            response,
            max_outstanding: self.settings.max_outstanding,
        };
        let committed = self.store.commit_batch(&record, &Actor::Resident(holder.id), now)?;
        let response = match committed {
            Committed::New(r) => {
                self.metrics.issued(issued.len() as u64);
                self.metrics.count("batch", "issued");
                self.metrics.attestations(&attestations);
                r
            }
            Committed::Replayed(r) => {
                self.metrics.count("batch", "replayed");
                r
            }
        };
        if self.crash_after_commit.load(Ordering::SeqCst) {
            return Err(Error::Store("simulated crash after commit".into()));
        }
        serde_json::from_str(&response).map_err(|e| Error::Store(format!("stored response: {e}")))
    }

    fn identity_document(&self, resident: &Resident) -> Result<Option<IdentityDocument>, Error> {
        let (Some(name), Some(sealed)) = (&resident.id_name, &resident.id_number) else { return Ok(None) };
        let number = self.seal.open(&resident.reference, sealed)?;
        let digest = if resident.id_digest == Some(2) { IdDigest::Sm3 } else { IdDigest::Sha256 };
        Ok(Some(IdentityDocument::new(name, &number, digest)?))
    }

    /// `GET /v1/me`: what the resident holds (counts, never claim values).
    pub fn me(&self, caller: &Caller) -> Result<Value, Error> {
        let resident = self.resident_of(caller)?;
        let now = self.now();
        let guardianships: Vec<Value> =
            self.store.guardianships_of(resident.id)?.iter().map(|g| guardianship_json(g, resident.id)).collect();
        Ok(json!({
            "instances_outstanding": self.store.outstanding(resident.id, None, now)?,
            "max_outstanding": self.settings.max_outstanding,
            "guardianships": guardianships,
        }))
    }

    /// `POST /v1/guardianships/invitations`: the calling resident (the dependant, or
    /// someone logged in as them) invites a guardian; the code goes to the guardian out
    /// of band (shown as a QR on the dependant's screen).
    pub fn invite(&self, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            relation: Relation,
        }
        let body: Body = serde_json::from_slice(body).map_err(|e| Error::BadRequest(e.to_string()))?;
        let resident = self.resident_of(caller)?;
        let code: [u8; 16] = random()?;
        let now = self.now();
        let ttl = i64::try_from(self.settings.invitation_ttl_secs).unwrap_or(i64::MAX);
        self.store.new_invitation(resident.id, &code, body.relation.to_byte(), now, now.saturating_add(ttl))?;
        Ok(json!({"invitation": b64(&code), "expires_in": ttl}))
    }

    /// `POST /v1/guardianships`: the calling resident accepts an invitation and becomes
    /// the guardian.
    pub fn accept(&self, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            invitation: String,
        }
        let body: Body = serde_json::from_slice(body).map_err(|e| Error::BadRequest(e.to_string()))?;
        let code = citycode::text::decode_base64url(&body.invitation).map_err(|_| Error::InvitationUnknown)?;
        let resident = self.resident_of(caller)?;
        let g = self.store.accept_invitation(resident.id, &code, self.settings.max_guardianships, self.now())?;
        Ok(guardianship_json(&g, resident.id))
    }

    /// `DELETE /v1/guardianships/{id}`: either side ends it.
    pub fn end_guardianship(&self, caller: &Caller, id: i64) -> Result<Value, Error> {
        let resident = self.resident_of(caller)?;
        let n = self.store.revoke_guardianship(id, Some(resident.id), &Actor::Resident(resident.id), self.now())?;
        Ok(json!({"revoked_instances": n}))
    }

    /// `POST /v1/me/devices/{device}/revoke`: a lost phone.
    pub fn revoke_own_device(&self, caller: &Caller, device: &str) -> Result<Value, Error> {
        let resident = self.resident_of(caller)?;
        let n = self.store.revoke_device(resident.id, device, &Actor::Resident(resident.id), self.now())?;
        Ok(json!({"revoked_instances": n}))
    }

    fn staff_actor(caller: &Caller) -> Actor {
        match caller.role {
            Role::Admin => Actor::Admin(caller.subject.clone()),
            _ => Actor::Staff(caller.subject.clone()),
        }
    }

    fn resident_ref(&self, reference: &str) -> Result<Resident, Error> {
        self.store.resident_by_ref(reference)?.ok_or_else(|| Error::NotFound(format!("resident {reference:?}")))
    }

    /// `POST /v1/staff/guardianships`: staff record a guardianship on an authority's
    /// consent (a legal guardian's order, a parent for a child).
    pub fn staff_guardianship(&self, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            guardian: String,
            dependant: String,
            relation: Relation,
            authority_reference: String,
        }
        let body: Body = serde_json::from_slice(body).map_err(|e| Error::BadRequest(e.to_string()))?;
        if body.authority_reference.trim().is_empty() || body.authority_reference.chars().count() > 256 {
            return Err(Error::OutOfRange("authority_reference is 1 to 256 characters".into()));
        }
        let guardian = self.resident_ref(&body.guardian)?;
        let dependant = self.resident_ref(&body.dependant)?;
        if guardian.revoked_at.is_some() || dependant.revoked_at.is_some() {
            return Err(Error::ResidentRevoked);
        }
        let consent = Consent::Staff { officer: caller.subject.clone(), reference: body.authority_reference };
        let g = self.store.staff_guardianship(
            guardian.id,
            dependant.id,
            body.relation.to_byte(),
            &consent,
            self.settings.max_guardianships,
            &Self::staff_actor(caller),
            self.now(),
        )?;
        Ok(guardianship_json(&g, guardian.id))
    }

    /// `DELETE /v1/staff/guardianships/{id}`.
    pub fn staff_end_guardianship(&self, caller: &Caller, id: i64) -> Result<Value, Error> {
        let n = self.store.revoke_guardianship(id, None, &Self::staff_actor(caller), self.now())?;
        Ok(json!({"revoked_instances": n}))
    }

    /// `POST /v1/staff/residents/{ref}/printed`: issues a printed code, revoking the
    /// previous one in the same transaction.
    pub fn printed(&self, caller: &Caller, reference: &str) -> Result<Value, Error> {
        let resident = self.resident_ref(reference)?;
        if resident.revoked_at.is_some() {
            return Err(Error::ResidentRevoked);
        }
        let identity = self.identity_document(&resident)?.ok_or(Error::NoIdentity)?;
        let mut claims: Claims = serde_json::from_str(&resident.claims)
            .map_err(|e| Error::Store(format!("a resident's stored claims do not parse: {e}")))?;
        claims.identity = Some(identity.commit()?);
        let now = self.now();
        let today = u16::try_from(now / 86_400).map_err(|_| Error::OutOfRange("date out of range".into()))?;
        let days = self.settings.printed_valid_days;
        let subject = Subject::random()?;
        let code = self
            .issuer
            .issue_printed(subject, &claims, today, days, citycode::PRINTED_MAX_DAYS)
            .map_err(|e| self.signing("issuer", e, Error::Issuance))?;
        let not_after = (i64::from(today) + i64::from(days)) * 86_400;
        let (id, previous) = self.store.record_printed(
            resident.id,
            &subject.0,
            &code.to_text(),
            not_after,
            &Self::staff_actor(caller),
            now,
        )?;
        self.metrics.issued_printed();
        Ok(json!({"id": id, "text": code.to_text(), "not_after": not_after, "revoked_previous": previous.is_some()}))
    }

    /// `GET /v1/staff/printed/{id}/card.pdf`: the A6 card.
    pub fn printed_card(&self, id: i64) -> Result<Vec<u8>, Error> {
        let record = self.store.printed(id)?.ok_or_else(|| Error::NotFound(format!("printed code {id}")))?;
        if record.revoked_at.is_some() {
            return Err(Error::NotFound(format!("printed code {id} was revoked")));
        }
        let code = citycode::PrintedCode::from_text(&record.text)
            .map_err(|e| Error::Store(format!("a stored printed code does not parse: {e}")))?;
        let font = {
            let mut held = self.card_font.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*held {
                Some(font) => font.clone(),
                None => {
                    let font = Arc::new(citycode::print_card::CardFont::from_file(
                        &self.settings.card_font,
                        self.settings.card_font_family.as_deref(),
                    )?);
                    *held = Some(font.clone());
                    font
                }
            }
        };
        Ok(citycode::print_card::printed_card_pdf(&code, &font)?)
    }

    /// `POST /v1/staff/residents/{ref}/revoke`.
    pub fn revoke_resident(&self, caller: &Caller, reference: &str) -> Result<Value, Error> {
        let resident = self.resident_ref(reference)?;
        let n = self.store.revoke_resident(resident.id, &Self::staff_actor(caller), self.now())?;
        Ok(json!({"revoked_entries": n}))
    }

    /// `POST /v1/staff/residents/{ref}/devices/{device}/revoke`.
    pub fn staff_revoke_device(&self, caller: &Caller, reference: &str, device: &str) -> Result<Value, Error> {
        let resident = self.resident_ref(reference)?;
        let n = self.store.revoke_device(resident.id, device, &Self::staff_actor(caller), self.now())?;
        Ok(json!({"revoked_instances": n}))
    }

    /// `POST /v1/staff/instances/{subject}/revoke` (subject in hex).
    pub fn revoke_instance(&self, caller: &Caller, subject_hex: &str) -> Result<Value, Error> {
        let subject = citycode::text::unhex(subject_hex)
            .ok()
            .filter(|s| s.len() == 8)
            .ok_or_else(|| Error::BadRequest("a subject is 16 hex digits".into()))?;
        self.store.revoke_instance(&subject, None, &Self::staff_actor(caller), self.now())?;
        Ok(json!({"revoked": true}))
    }

    /// `POST /v1/admin/residents`: imports claims (JSON lines or CSV), all or nothing.
    pub fn import(&self, caller: &Caller, content_type: Option<&str>, body: &[u8]) -> Result<Value, Error> {
        let text = std::str::from_utf8(body).map_err(|_| Error::BadRequest("the body is not UTF-8".into()))?;
        let rows = if content_type.is_some_and(|c| c.starts_with("text/csv")) {
            crate::import::parse_csv(text, &self.seal)?
        } else {
            crate::import::parse_json_lines(text, &self.seal)?
        };
        let n = self.store.import_residents(&rows, &Self::staff_actor(caller), self.now())?;
        Ok(json!({"imported": n}))
    }

    /// Publishes the distribution directory (SPEC.md §8.4): the trust list as
    /// configured, the root-signed revocation list of every entry in force, the status
    /// last; the sequence is above every one published before, from the records and
    /// from the directory itself.
    pub fn publish(&self, reason: &str) -> Result<Value, Error> {
        let settings =
            self.settings.publication.as_ref().ok_or_else(|| {
                Error::Publication("this service does not publish (no [publication] configured)".into())
            })?;
        let root = self.root.as_ref().ok_or_else(|| Error::Publication("no root key configured".into()))?;
        let root_key = root.public_key();
        let trust = std::fs::read(&settings.trust_list)
            .map_err(|e| Error::Publication(format!("{}: {e}", settings.trust_list.display())))?;
        TrustList::verify(&trust, &root_key)
            .map_err(|e| Error::Publication(format!("the trust list does not verify under the root: {e}")))?;
        let dir = &settings.directory;
        std::fs::create_dir_all(dir).map_err(|e| Error::Publication(format!("{}: {e}", dir.display())))?;
        let directory_last = match std::fs::read(dir.join(STATUS_FILE)) {
            Ok(bytes) => Some(
                ListStatus::verify(&bytes, &root_key)
                    .map_err(|e| Error::Publication(format!("the directory's status.bin is not this root's: {e}")))?
                    .sequence,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::Publication(format!("{}: {e}", dir.display()))),
        };
        let now = self.now();
        let issued_at = u32::try_from(now).map_err(|_| Error::Publication("time out of range".into()))?;
        let expires_at = issued_at.saturating_add(settings.validity_secs);
        let result = self.store.publish(now, reason, directory_last, |sequence, entries| {
            let entries: Vec<Revoked> = entries
                .into_iter()
                .filter_map(|(kind, value)| match kind {
                    REVOKE_SUBJECT => value.try_into().ok().map(Revoked::Subject),
                    REVOKE_DEVICE_KEY => value.try_into().ok().map(Revoked::DeviceKey),
                    _ => None,
                })
                .collect();
            let count = entries.len();
            let list = RevocationList::new(ListSigner::Root, sequence, issued_at, expires_at, entries)
                .map_err(|e| Error::Publication(e.to_string()))?;
            let list_bytes =
                list.sign_with(root).map_err(|e| self.signing("root", e, |e| Error::Publication(e.to_string())))?;
            let status = ListStatus::describe(sequence, issued_at, expires_at, &root_key, &trust, &[&list_bytes])
                .map_err(|e| Error::Publication(e.to_string()))?;
            let status_bytes =
                status.sign_with(root).map_err(|e| self.signing("root", e, |e| Error::Publication(e.to_string())))?;
            // Lists first, the status last, each through a rename.
            write_atomically(&dir.join(ListFile::Trust.file_name()), &trust)?;
            write_atomically(&dir.join(ListFile::Revocation(ListSigner::Root).file_name()), &list_bytes)?;
            write_atomically(&dir.join(STATUS_INDEX_FILE), status.index_json().as_bytes())?;
            write_atomically(&dir.join(STATUS_FILE), &status_bytes)?;
            Ok((
                json!({"sequence": sequence, "entries": count, "issued_at": issued_at, "expires_at": expires_at}),
                i64::from(issued_at),
                i64::from(expires_at),
            ))
        });
        match &result {
            Ok(v) => self.log(
                "info",
                "published",
                json!({"reason": reason, "sequence": v["sequence"], "entries": v["entries"]}),
            ),
            Err(e) => self.log("error", "publication failed", json!({"reason": e.reason(), "detail": e.detail()})),
        }
        result
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::Publication(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::Publication(format!("{}: {e}", path.display())))
}

fn relation_of(b: u8) -> Result<Relation, Error> {
    Relation::from_byte(b).map_err(|_| Error::Store(format!("relation {b} out of range")))
}

fn guardianship_json(g: &Guardianship, me: i64) -> Value {
    json!({
        "id": g.id,
        "role": if g.guardian_id == me { "guardian" } else { "dependant" },
        "relation": relation_of(g.relation).ok(),
        "consent": g.consent_kind,
    })
}

/// Unix seconds now, on the system clock (migrations' timestamps).
pub fn unix_now() -> i64 {
    use citycode::Clock as _;
    i64::try_from(citycode::SystemClock.now()).unwrap_or(i64::MAX)
}
