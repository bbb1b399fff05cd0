//! Guardian codes (SPEC.md §4.9): a relative shows the code of a resident without a
//! phone of their own (亲友码), an elder or a child, from the relative's own phone.
//!
//! The issuer signs the dependant's claims to the guardian's device key, every card
//! marked with the guardianship ([`Guardian`]) and signed under its own label, under a
//! subject of its own: revoking that subject ends the guardianship and nothing else. The
//! issuer records the consent (how is its concern) and keeps at most
//! [`MAX_DEPENDANTS`] guardianships per guardian. The guardian's app keeps the
//! dependants' credentials beside its own in a [`Wallet`] and shows any of them; the
//! verdict says a guardian showed the code, scene policies accept or refuse that (a car
//! park refuses), and each code discloses only the dependant's claims.

use crate::claims::{Guardian, Relation};
use crate::credential::{Credential, CredentialRequest, Disclosure, Issuer};
use crate::error::Error;
use crate::keys::DeviceSigner;
use crate::presentation::{Code, PresentOptions, present};

/// Most dependants one guardian holds codes for, by default.
pub const MAX_DEPENDANTS: usize = 5;

impl Issuer {
    /// Signs a dependant's credential to a guardian: `req` carries the dependant's claims,
    /// the guardian's proven device key and a fresh subject for this guardianship. Every
    /// card is marked as held by a guardian with this `relation`. The caller has recorded
    /// the dependant's (or their legal representative's) consent and checked the
    /// guardian holds fewer than [`MAX_DEPENDANTS`] guardianships.
    pub fn issue_guardian(&self, req: &CredentialRequest, relation: Relation) -> Result<Credential, Error> {
        let mut req = req.clone();
        req.claims.guardian = Some(Guardian { relation });
        self.issue(&req)
    }
}

/// A guardian's app: their own credential and the dependants' credentials they hold,
/// all bound to one device key.
pub struct Wallet<S: DeviceSigner> {
    signer: S,
    own: Option<Credential>,
    dependants: Vec<(String, Credential)>,
    limit: usize,
}

impl<S: DeviceSigner> core::fmt::Debug for Wallet<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Wallet")
            .field("key", &self.signer.public_key())
            .field("own", &self.own.is_some())
            .field("dependants", &self.dependants.iter().map(|(l, _)| l).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<S: DeviceSigner> Wallet<S> {
    /// A wallet for the device key behind `signer`, holding up to [`MAX_DEPENDANTS`]
    /// dependants.
    pub fn new(signer: S) -> Self {
        Wallet::with_limit(signer, MAX_DEPENDANTS)
    }

    /// A wallet with another limit of dependants (a city's own rule).
    pub fn with_limit(signer: S, limit: usize) -> Self {
        Wallet { signer, own: None, dependants: Vec::new(), limit }
    }

    /// Sets the guardian's own credential: bound to this key, not a guardian's card.
    pub fn set_own(&mut self, credential: Credential) -> Result<(), Error> {
        self.check_key(&credential)?;
        if credential.cards.iter().any(|c| c.claims.guardian.is_some()) {
            return Err(Error::OutOfRange("a guardian's card is a dependant's, not the holder's own".into()));
        }
        self.own = Some(credential);
        Ok(())
    }

    /// Adds a dependant's credential under `label` (a name for the app's list): bound to
    /// this key, every card a guardian's. Replaces the credential of an existing label
    /// (a renewal); refuses a new label beyond the limit.
    pub fn add_dependant(&mut self, label: &str, credential: Credential) -> Result<(), Error> {
        self.check_key(&credential)?;
        if credential.cards.iter().any(|c| c.claims.guardian.is_none()) {
            return Err(Error::OutOfRange("a dependant's credential must be issued to a guardian".into()));
        }
        if let Some(slot) = self.dependants.iter_mut().find(|(l, _)| l == label) {
            slot.1 = credential;
            return Ok(());
        }
        if self.dependants.len() >= self.limit {
            return Err(Error::OutOfRange(format!("a guardian holds at most {} dependants' codes", self.limit)));
        }
        self.dependants.push((label.to_string(), credential));
        Ok(())
    }

    /// Removes a dependant (the guardianship ended or was revoked); whether it was there.
    pub fn remove_dependant(&mut self, label: &str) -> bool {
        let before = self.dependants.len();
        self.dependants.retain(|(l, _)| l != label);
        self.dependants.len() != before
    }

    /// The dependants' labels, in the order added.
    pub fn dependants(&self) -> impl Iterator<Item = &str> {
        self.dependants.iter().map(|(l, _)| l.as_str())
    }

    /// A dependant's credential.
    pub fn dependant(&self, label: &str) -> Option<&Credential> {
        self.dependants.iter().find(|(l, _)| l == label).map(|(_, c)| c)
    }

    /// Builds a code: the guardian's own (`who` = `None`) or a dependant's, disclosing
    /// what the scene reads (or whole domains) of that credential only.
    pub fn present<'d>(
        &self,
        who: Option<&str>,
        disclosure: impl Into<Disclosure<'d>>,
        now: u64,
        options: PresentOptions,
    ) -> Result<Code, Error> {
        let credential = match who {
            None => self.own.as_ref().ok_or_else(|| Error::OutOfRange("the wallet holds no own credential".into()))?,
            Some(label) => {
                self.dependant(label).ok_or_else(|| Error::OutOfRange(format!("no dependant labelled {label:?}")))?
            }
        };
        present(credential, &self.signer, disclosure, now, options)
    }

    fn check_key(&self, credential: &Credential) -> Result<(), Error> {
        if credential.device_key != self.signer.public_key() {
            return Err(Error::Signer("the credential is bound to another device key".into()));
        }
        Ok(())
    }
}
