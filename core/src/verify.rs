//! Verification: from scanned text to an accepted set of claims or a stable reason.

use std::sync::Arc;

use crate::claims::Claims;
use crate::credential::Subject;
use crate::error::{Reason, Rejection};
use crate::keys::PublicKey;
use crate::policy::{Policy, PolicyContext};
use crate::presentation::UnverifiedCode;
use crate::replay::{ReplayGuard, ReplayStore};
use crate::trust::{RevocationList, Revoked, TrustList};

/// Default allowed clock skew between holder and verifier, in seconds.
pub const DEFAULT_SKEW_SECS: u32 = 30;
/// Default longest code validity a verifier accepts, in seconds.
pub const DEFAULT_MAX_CODE_VALIDITY_SECS: u8 = 120;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}

/// A clock that always says the same time (tests, vectors, replaying logs).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// A code that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Exactly the claims the code disclosed.
    pub claims: Claims,
    /// The holder's pseudonymous subject.
    pub subject: Subject,
    /// Unix second the code was built.
    pub issued_at: u32,
    /// Key ids of the issuers whose cards the code carried, in card order.
    pub issuers: Vec<u32>,
    /// The policy that accepted it.
    pub policy: String,
}

/// A verifier for one terminal or service: trust, revocation, a scene policy, a clock
/// with allowed skew, and a replay store. `verify` takes `&self` and is safe to share
/// between threads.
pub struct Verifier {
    root: PublicKey,
    trust: Option<(TrustList, Vec<u8>)>,
    /// One list per signer (a handful), with the bytes it was loaded from.
    revocations: Vec<(RevocationList, Vec<u8>)>,
    policy: Arc<dyn Policy>,
    clock: Arc<dyn Clock>,
    skew: u64,
    max_validity: u8,
    replay: Arc<dyn ReplayStore>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("root", &self.root)
            .field("trust_sequence", &self.trust.as_ref().map(|t| t.0.sequence))
            .field("policy", &self.policy.name())
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

/// Refuses a list older than the held one, or as old with other content.
fn refuse_rollback(held: Option<(u64, &[u8])>, sequence: u64, bytes: &[u8], reason: Reason) -> Result<(), Rejection> {
    match held {
        Some((held_seq, held_bytes)) if sequence < held_seq || (sequence == held_seq && bytes != held_bytes) => {
            Err(Rejection::new(reason, format!("offered sequence {sequence}, holding {held_seq}")))
        }
        _ => Ok(()),
    }
}

impl Verifier {
    /// A verifier that trusts `root` and applies `policy`, with the system clock, the
    /// default skew and validity limits, and an in-memory replay guard. Load a trust
    /// list before verifying.
    pub fn new(root: PublicKey, policy: impl Policy + 'static) -> Self {
        Verifier {
            root,
            trust: None,
            revocations: Vec::new(),
            policy: Arc::new(policy),
            clock: Arc::new(SystemClock),
            skew: u64::from(DEFAULT_SKEW_SECS),
            max_validity: DEFAULT_MAX_CODE_VALIDITY_SECS,
            replay: Arc::new(ReplayGuard::default()),
        }
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the allowed clock skew in seconds.
    pub fn with_skew(mut self, secs: u32) -> Self {
        self.skew = u64::from(secs);
        self
    }

    /// Sets the longest code validity accepted, in seconds.
    pub fn with_max_code_validity(mut self, secs: u8) -> Self {
        self.max_validity = secs;
        self
    }

    /// Replaces the replay store (share one `Arc` between verifiers to share it).
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// Changes the allowed clock skew of a verifier in use.
    pub fn set_skew(&mut self, secs: u32) {
        self.skew = u64::from(secs);
    }

    /// Changes the longest code validity accepted by a verifier in use.
    pub fn set_max_code_validity(&mut self, secs: u8) {
        self.max_validity = secs;
    }

    /// Replaces the scene policy.
    pub fn set_policy(&mut self, policy: impl Policy + 'static) {
        self.policy = Arc::new(policy);
    }

    /// The current policy's required domains, to show or to send to a holder app.
    pub fn required_domains(&self) -> Vec<u32> {
        self.policy.required_domains()
    }

    /// The held trust list, if any.
    pub fn trust_list(&self) -> Option<&TrustList> {
        self.trust.as_ref().map(|t| &t.0)
    }

    /// Loads a signed trust list. Refuses a bad signature, and a list with a lower
    /// sequence than the one held, or the same sequence with other content (rollback).
    /// Loading the held list again is a no-op.
    pub fn load_trust_list(&mut self, bytes: &[u8]) -> Result<(), Rejection> {
        let list = TrustList::verify(bytes, &self.root)?;
        let held = self.trust.as_ref().map(|(l, b)| (l.sequence, b.as_slice()));
        refuse_rollback(held, list.sequence, bytes, Reason::TrustListRollback)?;
        self.trust = Some((list, bytes.to_vec()));
        Ok(())
    }

    /// Loads a signed revocation list (root-signed, or signed by an issuer key of the
    /// held trust list), replacing the previous list of the same signer. Refuses
    /// rollback as [`Verifier::load_trust_list`] does.
    pub fn load_revocation_list(&mut self, bytes: &[u8]) -> Result<(), Rejection> {
        let list = RevocationList::verify(bytes, &self.root, self.trust_list())?;
        let slot = self.revocations.iter().position(|(held, _)| held.signer == list.signer);
        let held = slot.and_then(|i| self.revocations.get(i)).map(|(l, b)| (l.sequence, b.as_slice()));
        refuse_rollback(held, list.sequence, bytes, Reason::RevocationListRollback)?;
        let entry = (list, bytes.to_vec());
        match slot.and_then(|i| self.revocations.get_mut(i)) {
            Some(held) => *held = entry,
            None => self.revocations.push(entry),
        }
        Ok(())
    }

    /// Verifies scanned QR text at the clock's current time.
    pub fn verify(&self, text: &str) -> Result<Accepted, Rejection> {
        self.verify_at(text, self.clock.now())
    }

    /// Verifies scanned QR text at Unix time `now`.
    pub fn verify_at(&self, text: &str, now: u64) -> Result<Accepted, Rejection> {
        let code = UnverifiedCode::from_text(text)?;
        self.verify_code(&code, now)
    }

    /// Verifies a parsed code at Unix time `now`, in the order SPEC.md §7 fixes.
    pub fn verify_code(&self, code: &UnverifiedCode, now: u64) -> Result<Accepted, Rejection> {
        let reject = |reason: Reason, detail: String| Err(Rejection::new(reason, detail));
        let skew = self.skew;

        // Lists.
        let Some((trust, _)) = &self.trust else {
            return reject(Reason::NoTrustList, "load a trust list first".into());
        };
        if now >= u64::from(trust.expires_at) {
            return reject(Reason::TrustListExpired, format!("trust list {} expired", trust.sequence));
        }
        if let Some((list, _)) = self.revocations.iter().find(|(l, _)| now >= u64::from(l.expires_at)) {
            return reject(Reason::RevocationListExpired, format!("{:?} list {} expired", list.signer, list.sequence));
        }

        // The code's own window.
        if code.validity_secs > self.max_validity {
            return reject(
                Reason::CodeValidityTooLong,
                format!("{} s asked, {} s allowed", code.validity_secs, self.max_validity),
            );
        }
        let issued_at = u64::from(code.issued_at);
        if issued_at > now.saturating_add(skew) {
            return reject(Reason::CodeNotYetValid, format!("built at {issued_at}, now {now}"));
        }
        let code_end = issued_at + u64::from(code.validity_secs) + skew;
        if now >= code_end {
            return reject(Reason::CodeExpired, format!("expired at {}", code_end - skew));
        }

        // Issuer keys, scope and card validity.
        for card in &code.cards {
            let Some(key) = trust.key(card.kid) else {
                return reject(Reason::UnknownIssuerKey, format!("key id {}", card.kid));
            };
            if key.key.algorithm() != card.alg {
                return reject(Reason::AlgorithmMismatch, format!("key id {} is {}", card.kid, key.key.algorithm()));
            }
            if now < u64::from(key.not_before) || now >= u64::from(key.not_after) {
                return reject(Reason::IssuerKeyNotValid, format!("key id {}", card.kid));
            }
            if let Some(d) = card.claims.domain_ids().into_iter().find(|d| !key.domains.contains(d)) {
                return reject(Reason::OutOfScope, format!("key id {} may not attest domain {d}", card.kid));
            }
            if now.saturating_add(skew) < card.not_before() {
                return reject(Reason::CredentialNotYetValid, format!("valid from day {}", card.valid_from_day));
            }
            if now >= card.not_after() + skew {
                return reject(Reason::CredentialExpired, format!("expired at {}", card.not_after()));
            }
        }

        // Revocation.
        let device = Revoked::DeviceKey(code.device_key.key_id());
        let subject = Revoked::Subject(code.subject.0);
        for (list, _) in &self.revocations {
            if list.contains(&device) {
                return reject(Reason::Revoked, "device key revoked".into());
            }
            if list.contains(&subject) {
                return reject(Reason::Revoked, "subject revoked".into());
            }
            for i in 0..code.cards.len() {
                if list.contains(&Revoked::Card(code.card_id(i))) {
                    return reject(Reason::Revoked, format!("card {i} revoked"));
                }
            }
        }

        // Signatures.
        for (i, card) in code.cards.iter().enumerate() {
            let key = trust.key(card.kid).map(|k| &k.key);
            if !key.is_some_and(|k| k.verify(code.card_input(i), &card.signature)) {
                return reject(Reason::BadIssuerSignature, format!("card {i}, key id {}", card.kid));
            }
        }
        if !code.device_key.verify(code.code_input(), &code.device_signature) {
            return reject(Reason::BadDeviceSignature, "device signature does not verify".into());
        }

        // Policy.
        let claims = code.claims();
        if let Err(why) = self.policy.check(&claims, &PolicyContext { now }) {
            return reject(Reason::PolicyUnmet, why);
        }

        // Replay, last: only codes that would be accepted take a slot.
        self.replay
            .check_and_insert(&code.replay_id(), code_end, now)
            .map_err(|r| match r {
                Reason::Replayed => Rejection::new(r, "this code was already accepted"),
                _ => Rejection::new(r, "replay guard full of unexpired codes"),
            })?;

        Ok(Accepted {
            claims,
            subject: code.subject,
            issued_at: code.issued_at,
            issuers: code.cards.iter().map(|c| c.kid).collect(),
            policy: self.policy.name(),
        })
    }
}
