//! Batch issuance, for codes that verifiers cannot link (SPEC.md §13).
//!
//! Every code of a holder used to carry the same device key and subject, and for one
//! scene the same card signature: verifiers that pool their logs could follow a
//! resident through the city. With batch issuance the issuer signs many *instances* of
//! a holder's credential, each bound to its own device key (each proven by its own
//! [`crate::KeyRequest`]) and its own random subject, so each has its own card
//! signatures; the holder shows each instance once ([`Reuse::OnceOnly`]), asks for more
//! before the batch runs out, and works offline in between. Nothing in two such codes
//! names the holder: `core/tests/linkability.rs` compares them byte by byte.
//!
//! The issuer can still link the instances it issued (it keeps their subjects, to revoke
//! them), and so can anyone the issuer tells. Revoking a holder lists the subjects of
//! its outstanding instances: 9 bytes each in the revocation list, for as long as the
//! instances are valid.

use std::collections::VecDeque;

use crate::claims::IdentityDocument;
use crate::credential::{Credential, CredentialRequest, Disclosure, Issuer, Subject};
use crate::error::Error;
use crate::keys::DeviceSigner;
use crate::presentation::{Code, PresentOptions, present};
use crate::request::ProvenKey;
use crate::trust::Revoked;

/// How often the holder shows one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Each instance for one code only (the default): no two codes share a key, a
    /// subject or a signature.
    OnceOnly,
    /// One instance for every code within `secs` of its first use, for phones that
    /// cannot hold many keys (a secure element with few slots). Codes inside the window
    /// are linkable to each other, and only to each other.
    LimitedTime {
        /// The window, seconds.
        secs: u64,
    },
}

/// Most instances one batch request may ask for. With at most this many outstanding
/// per holder, revoking a holder adds at most `9 × MAX_BATCH` bytes (576) to the
/// revocation list, until the instances expire (SPEC.md §13).
pub const MAX_BATCH: usize = 64;

impl Issuer {
    /// Issues one instance per proven key: the same claims, validity and layout as
    /// `template` (whose own key and subject are not used), each bound to its key and
    /// to a fresh random subject. Keep the returned subjects to revoke the holder
    /// ([`revoke_instances`]). 1 to [`MAX_BATCH`] keys (`out_of_range` otherwise); an
    /// issuer also caps how many a holder may have outstanding (SPEC.md §13).
    ///
    /// Identity (domain 6) comes as the `identity` document, never in the template:
    /// each instance gets its own salt and commitment ([`IdentityDocument::commit`],
    /// 16,384 digests each), so two instances shown at two hotels share nothing that
    /// names the holder. A template whose claims already carry a commitment is
    /// `out_of_range`: every instance would show it.
    pub fn issue_batch(
        &self,
        template: &CredentialRequest,
        identity: Option<&IdentityDocument>,
        keys: &[ProvenKey],
    ) -> Result<Vec<Credential>, Error> {
        if keys.is_empty() || keys.len() > MAX_BATCH {
            return Err(Error::OutOfRange(format!("a batch holds 1 to {MAX_BATCH} instances")));
        }
        if template.claims.identity.is_some() {
            return Err(Error::OutOfRange(
                "a batch commits identity afresh for every instance: give the identity document, not a commitment"
                    .into(),
            ));
        }
        // Two instances on one key would be linkable by it: every key once.
        let mut ids: Vec<[u8; 16]> = keys.iter().map(|k| k.public_key().key_id()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
            return Err(Error::OutOfRange("a device key appears twice in the batch".into()));
        }
        let reqs = keys
            .iter()
            .map(|key| {
                let mut request =
                    CredentialRequest { device_key: key.clone(), subject: Subject::random()?, ..template.clone() };
                if let Some(document) = identity {
                    request.claims.identity = Some(document.commit()?);
                }
                Ok(request)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // Every card of every instance in one call: a token signs them concurrently.
        self.issue_all(&reqs)
    }
}

/// The revocation entries that revoke every instance of a batch: one subject each.
pub fn revoke_instances(batch: &[Credential]) -> Vec<Revoked> {
    batch.iter().map(|c| Revoked::Subject(c.subject.0)).collect()
}

/// A holder's batch of instances, each a credential with the signer of its own key.
pub struct CredentialBatch<S: DeviceSigner> {
    instances: VecDeque<(Credential, S)>,
    reuse: Reuse,
    /// For [`Reuse::LimitedTime`]: the instance in use and when it was first shown.
    current: Option<(Credential, S, u64)>,
    refill_below: usize,
}

impl<S: DeviceSigner> core::fmt::Debug for CredentialBatch<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CredentialBatch")
            .field("remaining", &self.remaining())
            .field("reuse", &self.reuse)
            .field("refill_below", &self.refill_below)
            .finish_non_exhaustive()
    }
}

impl<S: DeviceSigner> CredentialBatch<S> {
    /// A batch from instances and their signers. Every signer's key must be its
    /// credential's device key (`signer` error otherwise). [`CredentialBatch::needs_refill`]
    /// says so when fewer than `refill_below` instances are left.
    pub fn new(instances: Vec<(Credential, S)>, reuse: Reuse, refill_below: usize) -> Result<Self, Error> {
        let mut batch = CredentialBatch::empty(reuse, refill_below);
        batch.refill(instances)?;
        Ok(batch)
    }

    /// A batch with no instance yet, to [`CredentialBatch::refill`] as they arrive.
    pub fn empty(reuse: Reuse, refill_below: usize) -> Self {
        CredentialBatch { instances: VecDeque::new(), reuse, current: None, refill_below }
    }

    /// Adds instances (a refill), checked as in [`CredentialBatch::new`].
    pub fn refill(&mut self, instances: Vec<(Credential, S)>) -> Result<(), Error> {
        if let Some((i, _)) = instances.iter().enumerate().find(|(_, (c, s))| s.public_key() != c.device_key) {
            return Err(Error::Signer(format!("instance {i}: the signer's key is not the credential's device key")));
        }
        self.instances.extend(instances);
        Ok(())
    }

    /// Instances not yet shown (with [`Reuse::LimitedTime`], the one in use counts).
    pub fn remaining(&self) -> usize {
        self.instances.len() + usize::from(self.current.is_some())
    }

    /// The instances still to be shown, in the order they will be (with
    /// [`Reuse::LimitedTime`], the one in use first): what an app persists across restarts,
    /// and whose keys it keeps. A key whose instance is no longer here can be deleted.
    pub fn unshown(&self) -> impl Iterator<Item = &Credential> {
        self.current.iter().map(|(c, _, _)| c).chain(self.instances.iter().map(|(c, _)| c))
    }

    /// Whether to ask the issuer for more, next time the phone is online.
    pub fn needs_refill(&self) -> bool {
        self.remaining() < self.refill_below
    }

    /// Builds a code disclosing what a scene reads, or whole domains, from the next instance: a fresh one for every
    /// code with [`Reuse::OnceOnly`]; with [`Reuse::LimitedTime`], the one in use until
    /// its window ends. Instances whose every card has expired are dropped; any other
    /// failure (domains the credential does not hold, a signer that fails or is
    /// cancelled) returns the error and keeps the instance for the next code. An empty
    /// (or wholly expired) batch is `missing_domain`: ask for a refill.
    pub fn present<'d>(
        &mut self,
        disclosure: impl Into<Disclosure<'d>>,
        now: u64,
        options: PresentOptions,
    ) -> Result<Code, Error> {
        self.present_disclosure(disclosure.into(), now, options)
    }

    fn present_disclosure(
        &mut self,
        disclosure: Disclosure<'_>,
        now: u64,
        options: PresentOptions,
    ) -> Result<Code, Error> {
        if let Reuse::LimitedTime { secs } = self.reuse {
            if let Some((credential, signer, since)) = &self.current
                && now < since.saturating_add(secs)
            {
                return present(credential, signer, disclosure, now, options);
            }
            self.current = None;
        }
        while let Some((credential, signer)) = self.instances.pop_front() {
            if credential.cards.iter().all(|card| now >= card.not_after()) {
                continue;
            }
            match present(&credential, &signer, disclosure, now, options) {
                Ok(code) => {
                    if let Reuse::LimitedTime { .. } = self.reuse {
                        self.current = Some((credential, signer, now));
                    }
                    return Ok(code);
                }
                Err(e) => {
                    self.instances.push_front((credential, signer));
                    return Err(e);
                }
            }
        }
        Err(Error::MissingDomain("no valid instance left in the batch: refill it".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{self, DemoCity};
    use crate::{Algorithm, KeyPair, Verifier};

    fn batch(city: &DemoCity, n: u8) -> Vec<(Credential, KeyPair)> {
        let keys: Vec<KeyPair> = (0..n).map(|i| demo::key(Algorithm::Ed25519, 0x80 + i).unwrap()).collect();
        let proven: Vec<ProvenKey> = keys.iter().map(|k| ProvenKey::by_signing(k).unwrap()).collect();
        let template = CredentialRequest {
            device_key: proven[0].clone(),
            subject: Subject([0; 8]),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: crate::CardLayout::Standard,
        };
        let issued = city.issuer.issue_batch(&template, None, &proven).unwrap();
        issued.into_iter().zip(keys).collect()
    }

    fn verifier(city: &DemoCity) -> Verifier {
        let mut v = Verifier::new(city.root.public_key(), crate::Scene::MetroGate);
        v.load_trust_list(&city.trust_list).unwrap();
        v.load_revocation_list(&city.revocation_list).unwrap();
        v
    }

    #[test]
    fn once_only_shows_each_instance_once_and_asks_for_a_refill() {
        let city = DemoCity::new().unwrap();
        let instances = batch(&city, 4);
        let subjects: Vec<Subject> = instances.iter().map(|(c, _)| c.subject).collect();
        let mut distinct = subjects.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "a subject per instance");
        let mut holder = CredentialBatch::new(instances, Reuse::OnceOnly, 2).unwrap();
        let v = verifier(&city);
        let mut seen = Vec::new();
        for i in 0..4u64 {
            assert_eq!(holder.needs_refill(), i >= 3);
            let unshown: Vec<Subject> = holder.unshown().map(|c| c.subject).collect();
            assert_eq!(unshown, subjects[i as usize..], "what the app persists");
            let code = holder.present(&[4], demo::NOW + i, PresentOptions::default()).unwrap();
            let accepted = v.verify_at(&code.to_text(), demo::NOW + i).unwrap();
            seen.push(accepted.subject);
        }
        assert_eq!(seen, subjects, "each instance once, in order");
        assert_eq!(holder.remaining(), 0);
        assert!(matches!(holder.present(&[4], demo::NOW, PresentOptions::default()), Err(Error::MissingDomain(_))));
        // A domain the credentials do not hold costs no instance; expired ones are dropped.
        holder.refill(batch(&city, 2)).unwrap();
        assert!(matches!(holder.present(&[99], demo::NOW, PresentOptions::default()), Err(Error::MissingDomain(_))));
        assert_eq!(holder.remaining(), 2);
        let after_expiry = demo::NOW + 3 * crate::claims::DAY;
        assert!(matches!(holder.present(&[4], after_expiry, PresentOptions::default()), Err(Error::MissingDomain(_))));
        assert_eq!(holder.remaining(), 0);
        holder.refill(batch(&city, 1)).unwrap();
        assert!(holder.present(&[4], demo::NOW, PresentOptions::default()).is_ok());
    }

    #[test]
    fn a_batch_request_holds_one_to_max_batch_keys() {
        let city = DemoCity::new().unwrap();
        let key = ProvenKey::by_signing(&demo::key(Algorithm::Ed25519, 0x80).unwrap()).unwrap();
        let template = CredentialRequest {
            device_key: key.clone(),
            subject: Subject([0; 8]),
            valid_from_day: demo::TODAY,
            valid_days: 1,
            claims: demo::resident_claims(),
            layout: crate::CardLayout::Custom(vec![vec![4]]),
        };
        assert!(matches!(city.issuer.issue_batch(&template, None, &[]), Err(Error::OutOfRange(_))));
        let keys: Vec<ProvenKey> = (0..=MAX_BATCH as u8)
            .map(|i| ProvenKey::by_signing(&demo::key(Algorithm::Ed25519, 0x10 + i).unwrap()).unwrap())
            .collect();
        assert!(matches!(city.issuer.issue_batch(&template, None, &keys), Err(Error::OutOfRange(_))));
        assert_eq!(city.issuer.issue_batch(&template, None, &keys[..MAX_BATCH]).unwrap().len(), MAX_BATCH);
        // One key twice would make two linkable instances.
        let twice = [key.clone(), keys[1].clone(), key];
        assert!(
            matches!(city.issuer.issue_batch(&template, None, &twice), Err(Error::OutOfRange(ref m)) if m.contains("twice"))
        );
    }

    #[test]
    fn limited_time_reuses_one_instance_within_its_window() {
        let city = DemoCity::new().unwrap();
        let mut holder = CredentialBatch::new(batch(&city, 2), Reuse::LimitedTime { secs: 600 }, 1).unwrap();
        let subject = |code: &Code| crate::UnverifiedCode::from_text(&code.to_text()).unwrap().subject();
        let opts = PresentOptions::default();
        let a = holder.present(&[4], demo::NOW, opts).unwrap();
        let b = holder.present(&[4], demo::NOW + 599, opts).unwrap();
        let c = holder.present(&[4], demo::NOW + 600, opts).unwrap();
        assert_eq!(subject(&a), subject(&b));
        assert_ne!(subject(&b), subject(&c));
        assert_eq!(holder.remaining(), 1);
        assert_eq!(holder.unshown().map(|c| c.subject).collect::<Vec<_>>(), vec![subject(&c)]);
    }

    #[test]
    fn a_batch_refuses_a_signer_of_another_key_and_revocation_reaches_every_instance() {
        let city = DemoCity::new().unwrap();
        let mut instances = batch(&city, 3);
        let wrong = demo::key(Algorithm::Ed25519, 0x99).unwrap();
        let (credential, _) = instances.pop().unwrap();
        assert!(matches!(CredentialBatch::new(vec![(credential, wrong)], Reuse::OnceOnly, 1), Err(Error::Signer(_))));
        let credentials: Vec<Credential> = instances.iter().map(|(c, _)| c.clone()).collect();
        let entries = revoke_instances(&credentials);
        let list = crate::RevocationList::new(
            crate::ListSigner::Root,
            2,
            demo::NOW as u32 - 60,
            demo::NOW as u32 + 3600,
            entries,
        )
        .unwrap();
        let mut v = verifier(&city);
        v.load_revocation_list(&list.sign(&city.root).unwrap()).unwrap();
        let mut holder = CredentialBatch::new(instances, Reuse::OnceOnly, 0).unwrap();
        for _ in 0..2 {
            let code = holder.present(&[4], demo::NOW, PresentOptions::default()).unwrap();
            assert_eq!(v.verify_at(&code.to_text(), demo::NOW).unwrap_err().reason, crate::Reason::Revoked);
        }
    }
}
