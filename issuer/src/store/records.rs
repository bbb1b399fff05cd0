//! The rules that need records, written once over [`Tx`] so SQLite and PostgreSQL
//! enforce them alike: a challenge is consumed once, by one request, atomically with the
//! instances it issues; a holder has at most a cap of instances outstanding; a guardian
//! at most a cap of guardianships; a printed code is reissued only by revoking the last;
//! revocation entries leave the list once what they revoke has expired; publication
//! sequences only move forward; every change leaves an audit row.

use super::{Lock, Row, Store, Tx};
use crate::error::Error;

/// Who did something (the audit log's `actor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A resident, by record id.
    Resident(i64),
    /// A staff member, by their login subject.
    Staff(String),
    /// An administrator, by their login subject.
    Admin(String),
    /// The service itself (a schedule, an import command).
    System,
}

impl Actor {
    /// As written in the audit log.
    pub fn label(&self) -> String {
        match self {
            Actor::Resident(id) => format!("resident:{id}"),
            Actor::Staff(s) => format!("staff:{s}"),
            Actor::Admin(s) => format!("admin:{s}"),
            Actor::System => "system".into(),
        }
    }
}

/// A resident's record.
#[derive(Clone)]
pub struct Resident {
    /// Record id.
    pub id: i64,
    /// The city's reference (what imports and staff name them by).
    pub reference: String,
    /// The identity provider's subject, if known.
    pub login: Option<String>,
    /// Claims, core's JSON without identity.
    pub claims: String,
    /// The name on the identity document.
    pub id_name: Option<String>,
    /// The sealed identity document number.
    pub id_number: Option<Vec<u8>>,
    /// The commitment digest (1 SHA-256, 2 SM3).
    pub id_digest: Option<i64>,
    /// When the resident was revoked.
    pub revoked_at: Option<i64>,
}

impl core::fmt::Debug for Resident {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Claims, name and number are personal data: never in debug output.
        f.debug_struct("Resident").field("id", &self.id).field("revoked", &self.revoked_at.is_some()).finish()
    }
}

impl core::fmt::Debug for ResidentRow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Personal data: only the reference.
        f.debug_struct("ResidentRow").field("reference", &self.reference).finish_non_exhaustive()
    }
}

const RESIDENT_COLUMNS: &str = "id, ref, login, claims, id_name, id_number, id_digest, revoked_at";

fn resident(row: &Row) -> Result<Resident, Error> {
    Ok(Resident {
        id: row.int(0)?,
        reference: row.text(1)?,
        login: row.opt_text(2)?,
        claims: row.text(3)?,
        id_name: row.opt_text(4)?,
        id_number: row.opt_bytes(5)?,
        id_digest: row.opt_int(6)?,
        revoked_at: row.opt_int(7)?,
    })
}

/// A resident as an import gives it.
#[derive(Clone)]
pub struct ResidentRow {
    /// The city's reference.
    pub reference: String,
    /// The identity provider's subject.
    pub login: Option<String>,
    /// Claims JSON (validated by the importer).
    pub claims: String,
    /// Name on the identity document.
    pub id_name: Option<String>,
    /// Sealed number.
    pub id_number: Option<Vec<u8>>,
    /// Commitment digest id.
    pub id_digest: Option<i64>,
}

/// One instance signed for a batch.
#[derive(Clone, Debug)]
pub struct IssuedInstance {
    /// Its subject.
    pub subject: [u8; 8],
    /// Its device key's id (SPEC.md §8.2).
    pub device_key_id: [u8; 16],
    /// When its cards expire, Unix seconds.
    pub not_after: i64,
    /// What its device key's attestation showed (`citycode-attest`'s
    /// `AttestationRecord` as JSON, SPEC.md §4.10.2).
    pub attestation: Option<String>,
}

/// An instance as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRecord {
    /// Its subject.
    pub subject: [u8; 8],
    /// The resident who holds it (the guardian, for a guardian's instance).
    pub resident_id: i64,
    /// On whose behalf, for a guardian's instance.
    pub guardianship_id: Option<i64>,
    /// The device label of its batch.
    pub device: Option<String>,
    /// When its cards expire, Unix seconds.
    pub not_after: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// What its device key's attestation showed; `None` for an instance recorded before
    /// attestation was (schema version 1).
    pub attestation: Option<citycode_attest::AttestationRecord>,
}

/// A batch to record, with the response to give (and to give again on a retry).
#[derive(Clone, Debug)]
pub struct BatchRecord {
    /// The holder.
    pub resident_id: i64,
    /// On whose behalf, for a guardian's batch.
    pub guardianship_id: Option<i64>,
    /// The challenge the key requests signed.
    pub challenge: Vec<u8>,
    /// The client's request id, if it sent one.
    pub request_id: Option<String>,
    /// Digest of the request (configuration, key requests, device).
    pub digest: Vec<u8>,
    /// The client's device label.
    pub device: Option<String>,
    /// The instances.
    pub instances: Vec<IssuedInstance>,
    /// The JSON response.
    pub response: String,
    /// The holder's cap of outstanding instances.
    pub max_outstanding: u32,
}

/// What recording a batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Recorded now; the response.
    New(String),
    /// The same request was recorded before: its response, nothing new issued.
    Replayed(String),
}

/// A guardianship.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardianship {
    /// Record id.
    pub id: i64,
    /// The guardian's record id.
    pub guardian_id: i64,
    /// The dependant's record id.
    pub dependant_id: i64,
    /// Relation byte (SPEC.md §4.3 domain 7).
    pub relation: u8,
    /// `dependant_login` or `staff`.
    pub consent_kind: String,
    /// Whose consent (a login subject, or a staff member's).
    pub consent_by: String,
    /// The authority's reference, for a staff-recorded consent.
    pub consent_reference: Option<String>,
    /// When it ended.
    pub revoked_at: Option<i64>,
}

fn guardianship(row: &Row) -> Result<Guardianship, Error> {
    Ok(Guardianship {
        id: row.int(0)?,
        guardian_id: row.int(1)?,
        dependant_id: row.int(2)?,
        relation: u8::try_from(row.int(3)?).map_err(|_| Error::Store("relation out of range".into()))?,
        consent_kind: row.text(4)?,
        consent_by: row.text(5)?,
        consent_reference: row.opt_text(6)?,
        revoked_at: row.opt_int(7)?,
    })
}

const GUARDIANSHIP_COLUMNS: &str =
    "id, guardian_id, dependant_id, relation, consent_kind, consent_by, consent_reference, revoked_at";

/// How a guardianship's consent was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consent {
    /// The dependant, logged in, invited the guardian.
    DependantLogin {
        /// The dependant's login subject.
        login: String,
    },
    /// A staff officer recorded the authority's consent (a court order, a care home's
    /// decision, a parent for a child).
    Staff {
        /// The officer's login subject.
        officer: String,
        /// The authority's reference.
        reference: String,
    },
}

/// A printed code's record.
#[derive(Clone, Debug)]
pub struct PrintedRecord {
    /// Record id.
    pub id: i64,
    /// The resident.
    pub resident_id: i64,
    /// Its subject.
    pub subject: Vec<u8>,
    /// The QR text.
    pub text: String,
    /// Expiry, Unix seconds.
    pub not_after: i64,
    /// When revoked (reissued, lost).
    pub revoked_at: Option<i64>,
}

/// A published sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    /// The status sequence (also the revocation list's).
    pub sequence: u64,
    /// Unix second.
    pub issued_at: i64,
}

/// One audit row: (at, actor, action, target, detail).
pub type AuditRow = (i64, String, String, String, String);

/// Revocation entry kinds, as in SPEC.md §8.2.
pub const REVOKE_SUBJECT: i64 = 2;
/// A device key id.
pub const REVOKE_DEVICE_KEY: i64 = 3;

fn audit(tx: &mut dyn Tx, now: i64, actor: &Actor, action: &str, target: &str, detail: &str) -> Result<(), Error> {
    tx.exec(
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[now.into(), actor.label().into(), action.into(), target.into(), detail.into()],
    )?;
    Ok(())
}

/// Revokes instances by subject: each becomes a subject entry until it expires.
fn revoke_subjects(tx: &mut dyn Tx, subjects: &[(Vec<u8>, i64)], now: i64) -> Result<usize, Error> {
    for (subject, not_after) in subjects {
        tx.exec(
            "INSERT INTO revocations (kind, value, expires_at, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kind, value) DO NOTHING",
            &[REVOKE_SUBJECT.into(), subject.as_slice().into(), (*not_after).into(), now.into()],
        )?;
        tx.exec(
            "UPDATE instances SET revoked_at = ?1 WHERE subject = ?2 AND revoked_at IS NULL",
            &[now.into(), subject.as_slice().into()],
        )?;
    }
    Ok(subjects.len())
}

fn subjects(rows: Vec<Row>) -> Result<Vec<(Vec<u8>, i64)>, Error> {
    rows.iter().map(|r| Ok((r.bytes(0)?, r.int(1)?))).collect()
}

fn hex(b: &[u8]) -> String {
    citycode::text::hex(b)
}

impl Store {
    /// Adds or replaces residents, all or nothing (a failing row rolls back every row).
    /// A revoked resident stays revoked. Returns how many rows were written.
    pub fn import_residents(&self, rows: &[ResidentRow], actor: &Actor, now: i64) -> Result<usize, Error> {
        self.tx(|tx| {
            for (i, r) in rows.iter().enumerate() {
                let changed = tx.exec(
                    "INSERT INTO residents (ref, login, claims, id_name, id_number, id_digest, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                     ON CONFLICT (ref) DO UPDATE SET login = excluded.login, claims = excluded.claims,
                       id_name = excluded.id_name, id_number = excluded.id_number, id_digest = excluded.id_digest,
                       updated_at = excluded.updated_at",
                    &[
                        r.reference.as_str().into(),
                        r.login.clone().into(),
                        r.claims.as_str().into(),
                        r.id_name.clone().into(),
                        r.id_number.clone().into(),
                        r.id_digest.into(),
                        now.into(),
                    ],
                );
                // A login that another resident already has: the row's fault.
                changed.map_err(|e| Error::ImportRow { row: i + 1, detail: format!("not stored: {e}") })?;
            }
            audit(tx, now, actor, "import_residents", "residents", &format!("{} rows", rows.len()))?;
            Ok(rows.len())
        })
    }

    /// The resident whose login (identity provider subject) is `login`.
    pub fn resident_by_login(&self, login: &str) -> Result<Option<Resident>, Error> {
        self.tx(|tx| {
            tx.one(&format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE login = ?1"), &[login.into()])?
                .as_ref()
                .map(resident)
                .transpose()
        })
    }

    /// The resident with the city's reference `reference`.
    pub fn resident_by_ref(&self, reference: &str) -> Result<Option<Resident>, Error> {
        self.tx(|tx| {
            tx.one(&format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE ref = ?1"), &[reference.into()])?
                .as_ref()
                .map(resident)
                .transpose()
        })
    }

    /// The resident with record id `id`.
    pub fn resident(&self, id: i64) -> Result<Option<Resident>, Error> {
        self.tx(|tx| {
            tx.one(&format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE id = ?1"), &[id.into()])?
                .as_ref()
                .map(resident)
                .transpose()
        })
    }

    /// Records a challenge given to a resident, valid until `expires_at`. Refuses when
    /// the resident already holds `max_live` unexpired unused ones.
    pub fn new_challenge(
        &self,
        resident_id: i64,
        challenge: &[u8],
        now: i64,
        expires_at: i64,
        max_live: u32,
    ) -> Result<(), Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(resident_id))?;
            let live = tx.count(
                "SELECT COUNT(*) FROM challenges WHERE resident_id = ?1 AND used_at IS NULL AND expires_at > ?2",
                &[resident_id.into(), now.into()],
            )?;
            if live >= i64::from(max_live) {
                return Err(Error::TooManyChallenges);
            }
            tx.exec(
                "INSERT INTO challenges (challenge, resident_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                &[challenge.into(), resident_id.into(), now.into(), expires_at.into()],
            )?;
            Ok(())
        })
    }

    /// Unexpired, unused challenges (the challenge store's size, for metrics).
    pub fn live_challenges(&self, now: i64) -> Result<i64, Error> {
        self.tx(|tx| {
            tx.count("SELECT COUNT(*) FROM challenges WHERE used_at IS NULL AND expires_at > ?1", &[now.into()])
        })
    }

    /// Before any signing: whether a batch over `challenge` can go ahead (`Ok(None)`),
    /// is a retry of one recorded already (`Ok(Some(response))`: give it again), or is
    /// refused (`challenge_unknown`, `challenge_expired`, `challenge_used`,
    /// `request_id_conflict`). [`Store::commit_batch`] checks again, atomically.
    pub fn precheck_batch(
        &self,
        resident_id: i64,
        challenge: &[u8],
        request_id: Option<&str>,
        digest: &[u8],
        now: i64,
    ) -> Result<Option<String>, Error> {
        self.tx(|tx| match replayed(tx, resident_id, challenge, request_id, digest)? {
            Some(response) => Ok(Some(response)),
            None => challenge_state(tx, resident_id, challenge, now).map(|_| None),
        })
    }

    /// Records a signed batch in one transaction, under the holder's lock: a retry of a
    /// recorded request gets its response back; otherwise the challenge is consumed
    /// (refused if unknown, expired or used), the cap of outstanding instances checked
    /// (expired and revoked ones do not count), and the instances, the response and an
    /// audit row written. Nothing is kept if any step fails.
    pub fn commit_batch(&self, batch: &BatchRecord, actor: &Actor, now: i64) -> Result<Committed, Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(batch.resident_id))?;
            if let Some(response) =
                replayed(tx, batch.resident_id, &batch.challenge, batch.request_id.as_deref(), &batch.digest)?
            {
                return Ok(Committed::Replayed(response));
            }
            challenge_state(tx, batch.resident_id, &batch.challenge, now)?;
            let consumed = tx.exec(
                "UPDATE challenges SET used_at = ?1 WHERE challenge = ?2 AND resident_id = ?3 AND used_at IS NULL",
                &[now.into(), batch.challenge.as_slice().into(), batch.resident_id.into()],
            )?;
            if consumed != 1 {
                return Err(Error::ChallengeUsed);
            }
            let outstanding = outstanding(tx, batch.resident_id, batch.guardianship_id, now)?;
            let asked = i64::try_from(batch.instances.len()).unwrap_or(i64::MAX);
            if outstanding.saturating_add(asked) > i64::from(batch.max_outstanding) {
                return Err(Error::InstanceLimit {
                    max: batch.max_outstanding,
                    outstanding: u32::try_from(outstanding).unwrap_or(u32::MAX),
                });
            }
            let id = tx
                .one(
                    "INSERT INTO batches (resident_id, guardianship_id, challenge, request_id, request_digest, device, created_at, response)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                    &[
                        batch.resident_id.into(),
                        batch.guardianship_id.into(),
                        batch.challenge.as_slice().into(),
                        batch.request_id.clone().into(),
                        batch.digest.as_slice().into(),
                        batch.device.clone().into(),
                        now.into(),
                        batch.response.as_str().into(),
                    ],
                )?
                .ok_or_else(|| Error::Store("no batch id".into()))?
                .int(0)?;
            for i in &batch.instances {
                tx.exec(
                    "INSERT INTO instances (subject, batch_id, resident_id, guardianship_id, device_key_id, device, not_after, attestation)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    &[
                        i.subject.as_slice().into(),
                        id.into(),
                        batch.resident_id.into(),
                        batch.guardianship_id.into(),
                        i.device_key_id.as_slice().into(),
                        batch.device.clone().into(),
                        i.not_after.into(),
                        i.attestation.clone().into(),
                    ],
                )?;
            }
            let target = match batch.guardianship_id {
                Some(g) => format!("guardianship:{g}"),
                None => format!("resident:{}", batch.resident_id),
            };
            audit(tx, now, actor, "issue_batch", &target, &format!("batch {id}, {} instances", batch.instances.len()))?;
            Ok(Committed::New(batch.response.clone()))
        })
    }

    /// The instance with subject `subject`, as recorded.
    pub fn instance(&self, subject: &[u8]) -> Result<Option<InstanceRecord>, Error> {
        self.tx(|tx| {
            tx.one(
                "SELECT subject, resident_id, guardianship_id, device, not_after, revoked_at, attestation FROM instances WHERE subject = ?1",
                &[subject.into()],
            )?
            .map(|r| {
                let attestation = r
                    .opt_text(6)?
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| Error::Store(format!("a stored attestation record does not parse: {e}")))?;
                Ok(InstanceRecord {
                    subject: r.bytes(0)?.try_into().map_err(|_| Error::Store("a subject is not 8 bytes".into()))?,
                    resident_id: r.int(1)?,
                    guardianship_id: r.opt_int(2)?,
                    device: r.opt_text(3)?,
                    not_after: r.int(4)?,
                    revoked_at: r.opt_int(5)?,
                    attestation,
                })
            })
            .transpose()
        })
    }

    /// Instances the holder has outstanding (unexpired, unrevoked), its own
    /// (`guardianship` `None`) or those it holds for one guardianship.
    pub fn outstanding(&self, resident_id: i64, guardianship: Option<i64>, now: i64) -> Result<i64, Error> {
        self.tx(|tx| outstanding(tx, resident_id, guardianship, now))
    }

    /// Records an invitation a dependant gives a guardian.
    pub fn new_invitation(
        &self,
        dependant_id: i64,
        code: &[u8],
        relation: u8,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Error> {
        self.tx(|tx| {
            tx.exec(
                "INSERT INTO invitations (code, dependant_id, relation, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                &[code.into(), dependant_id.into(), i64::from(relation).into(), now.into(), expires_at.into()],
            )?;
            audit(tx, now, &Actor::Resident(dependant_id), "invite_guardian", &format!("resident:{dependant_id}"), "")
        })
    }

    /// The guardian accepts an invitation: the guardianship is recorded with the
    /// dependant's own consent (their login), if the guardian holds fewer than `max`.
    pub fn accept_invitation(&self, guardian_id: i64, code: &[u8], max: u32, now: i64) -> Result<Guardianship, Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(guardian_id))?;
            let row = tx
                .one(
                    "SELECT dependant_id, relation, expires_at, used_at FROM invitations WHERE code = ?1",
                    &[code.into()],
                )?
                .ok_or(Error::InvitationUnknown)?;
            if row.opt_int(3)?.is_some() {
                return Err(Error::InvitationUsed);
            }
            if row.int(2)? <= now {
                return Err(Error::InvitationExpired);
            }
            let (dependant_id, relation) = (row.int(0)?, row.int(1)?);
            let login = tx
                .one("SELECT login FROM residents WHERE id = ?1", &[dependant_id.into()])?
                .and_then(|r| r.opt_text(0).ok().flatten())
                .unwrap_or_default();
            tx.exec("UPDATE invitations SET used_at = ?1 WHERE code = ?2", &[now.into(), code.into()])?;
            let consent = Consent::DependantLogin { login };
            insert_guardianship(
                tx,
                guardian_id,
                dependant_id,
                relation,
                &consent,
                max,
                &Actor::Resident(guardian_id),
                now,
            )
        })
    }

    /// A staff officer records a guardianship with the authority's consent.
    #[allow(clippy::too_many_arguments)]
    pub fn staff_guardianship(
        &self,
        guardian_id: i64,
        dependant_id: i64,
        relation: u8,
        consent: &Consent,
        max: u32,
        actor: &Actor,
        now: i64,
    ) -> Result<Guardianship, Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(guardian_id))?;
            insert_guardianship(tx, guardian_id, dependant_id, i64::from(relation), consent, max, actor, now)
        })
    }

    /// A guardianship by id.
    pub fn guardianship(&self, id: i64) -> Result<Option<Guardianship>, Error> {
        self.tx(|tx| {
            tx.one(&format!("SELECT {GUARDIANSHIP_COLUMNS} FROM guardianships WHERE id = ?1"), &[id.into()])?
                .as_ref()
                .map(guardianship)
                .transpose()
        })
    }

    /// The resident's active guardianships, as guardian or as dependant.
    pub fn guardianships_of(&self, resident_id: i64) -> Result<Vec<Guardianship>, Error> {
        self.tx(|tx| {
            tx.query(
                &format!(
                    "SELECT {GUARDIANSHIP_COLUMNS} FROM guardianships WHERE (guardian_id = ?1 OR dependant_id = ?1) AND revoked_at IS NULL ORDER BY id"
                ),
                &[resident_id.into()],
            )?
            .iter()
            .map(guardianship)
            .collect()
        })
    }

    /// Ends a guardianship: `by` is one of its two residents (`Some(id)`) or staff
    /// (`None`). Its outstanding instances are revoked. Returns how many.
    pub fn revoke_guardianship(&self, id: i64, by: Option<i64>, actor: &Actor, now: i64) -> Result<usize, Error> {
        self.tx(|tx| {
            let g = tx
                .one(&format!("SELECT {GUARDIANSHIP_COLUMNS} FROM guardianships WHERE id = ?1"), &[id.into()])?
                .as_ref()
                .map(guardianship)
                .transpose()?
                .filter(|g| g.revoked_at.is_none())
                .filter(|g| by.is_none_or(|r| r == g.guardian_id || r == g.dependant_id))
                .ok_or(Error::GuardianshipUnknown)?;
            tx.lock(Lock::Resident(g.guardian_id))?;
            tx.exec(
                "UPDATE guardianships SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3",
                &[now.into(), actor.label().into(), id.into()],
            )?;
            let n = revoke_guardianship_instances(tx, id, now)?;
            audit(tx, now, actor, "revoke_guardianship", &format!("guardianship:{id}"), &format!("{n} instances"))?;
            Ok(n)
        })
    }

    /// Records a printed code, revoking the resident's previous one in the same
    /// transaction. Returns the new record's id and the revoked subject, if any.
    pub fn record_printed(
        &self,
        resident_id: i64,
        subject: &[u8],
        text: &str,
        not_after: i64,
        actor: &Actor,
        now: i64,
    ) -> Result<(i64, Option<Vec<u8>>), Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(resident_id))?;
            let previous = subjects(tx.query(
                "SELECT subject, not_after FROM printed_codes WHERE resident_id = ?1 AND revoked_at IS NULL AND not_after > ?2",
                &[resident_id.into(), now.into()],
            )?)?;
            revoke_printed(tx, &previous, now)?;
            let id = tx
                .one(
                    "INSERT INTO printed_codes (resident_id, subject, text, not_after, issued_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                    &[
                        resident_id.into(),
                        subject.into(),
                        text.into(),
                        not_after.into(),
                        actor.label().into(),
                        now.into(),
                    ],
                )?
                .ok_or_else(|| Error::Store("no printed code id".into()))?
                .int(0)?;
            let detail = if previous.is_empty() { "issued".to_string() } else { "reissued, previous revoked".into() };
            audit(tx, now, actor, "issue_printed", &format!("printed:{id}"), &detail)?;
            Ok((id, previous.into_iter().next().map(|(s, _)| s)))
        })
    }

    /// A printed code's record.
    pub fn printed(&self, id: i64) -> Result<Option<PrintedRecord>, Error> {
        self.tx(|tx| {
            tx.one(
                "SELECT id, resident_id, subject, text, not_after, revoked_at FROM printed_codes WHERE id = ?1",
                &[id.into()],
            )?
            .map(|r| {
                Ok(PrintedRecord {
                    id: r.int(0)?,
                    resident_id: r.int(1)?,
                    subject: r.bytes(2)?,
                    text: r.text(3)?,
                    not_after: r.int(4)?,
                    revoked_at: r.opt_int(5)?,
                })
            })
            .transpose()
        })
    }

    /// Revokes one instance by subject; `holder` restricts it to that resident's own.
    pub fn revoke_instance(&self, subject: &[u8], holder: Option<i64>, actor: &Actor, now: i64) -> Result<(), Error> {
        self.tx(|tx| {
            let row = tx
                .one("SELECT resident_id, not_after, revoked_at FROM instances WHERE subject = ?1", &[subject.into()])?
                .filter(|r| holder.is_none_or(|h| r.int(0).is_ok_and(|id| id == h)))
                .ok_or_else(|| Error::NotFound("instance".into()))?;
            revoke_subjects(tx, &[(subject.to_vec(), row.int(1)?)], now)?;
            audit(tx, now, actor, "revoke_instance", &format!("instance:{}", hex(subject)), "")
        })
    }

    /// Revokes every outstanding instance a resident's device (the label its batches
    /// named) holds. Returns how many.
    pub fn revoke_device(&self, resident_id: i64, device: &str, actor: &Actor, now: i64) -> Result<usize, Error> {
        self.tx(|tx| {
            let rows = subjects(tx.query(
                "SELECT subject, not_after FROM instances WHERE resident_id = ?1 AND device = ?2 AND revoked_at IS NULL AND not_after > ?3",
                &[resident_id.into(), device.into(), now.into()],
            )?)?;
            if rows.is_empty() {
                return Err(Error::NotFound("no outstanding instance on that device".into()));
            }
            let n = revoke_subjects(tx, &rows, now)?;
            audit(tx, now, actor, "revoke_device", &format!("resident:{resident_id}"), &format!("{n} instances"))?;
            Ok(n)
        })
    }

    /// Revokes a resident: every outstanding instance they hold or a guardian holds
    /// for them, their printed code, their guardianships both ways; nothing more is
    /// issued to them. Returns how many entries the list gains.
    pub fn revoke_resident(&self, resident_id: i64, actor: &Actor, now: i64) -> Result<usize, Error> {
        self.tx(|tx| {
            tx.lock(Lock::Resident(resident_id))?;
            let held = subjects(tx.query(
                "SELECT subject, not_after FROM instances WHERE resident_id = ?1 AND revoked_at IS NULL AND not_after > ?2",
                &[resident_id.into(), now.into()],
            )?)?;
            let mut n = revoke_subjects(tx, &held, now)?;
            let ids: Vec<i64> = tx
                .query(
                    "SELECT id FROM guardianships WHERE (guardian_id = ?1 OR dependant_id = ?1) AND revoked_at IS NULL",
                    &[resident_id.into()],
                )?
                .iter()
                .map(|r| r.int(0))
                .collect::<Result<_, _>>()?;
            for id in ids {
                tx.exec("UPDATE guardianships SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3", &[
                    now.into(),
                    actor.label().into(),
                    id.into(),
                ])?;
                n += revoke_guardianship_instances(tx, id, now)?;
            }
            let printed = subjects(tx.query(
                "SELECT subject, not_after FROM printed_codes WHERE resident_id = ?1 AND revoked_at IS NULL AND not_after > ?2",
                &[resident_id.into(), now.into()],
            )?)?;
            n += revoke_printed(tx, &printed, now)?;
            tx.exec("UPDATE residents SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL", &[
                now.into(),
                resident_id.into(),
            ])?;
            audit(tx, now, actor, "revoke_resident", &format!("resident:{resident_id}"), &format!("{n} entries"))?;
            Ok(n)
        })
    }

    /// The revocation entries in force at `now`: (kind, bytes), in list order. An entry
    /// whose instance has expired is left out: the list stays bounded.
    pub fn revocation_entries(&self, now: i64) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        self.tx(|tx| {
            tx.query("SELECT kind, value FROM revocations WHERE expires_at > ?1 ORDER BY kind, value", &[now.into()])?
                .iter()
                .map(|r| Ok((r.int(0)?, r.bytes(1)?)))
                .collect()
        })
    }

    /// Publishes under the publication lock: the next sequence is above both the
    /// store's last and `directory_last` (what the directory already holds, so a crash
    /// after writing and before committing never leads to a reuse); `write` gets the
    /// sequence and the entries in force and writes the directory; the publication is
    /// recorded only if it succeeds.
    pub fn publish<T>(
        &self,
        now: i64,
        reason: &str,
        directory_last: Option<u64>,
        mut write: impl FnMut(u64, Vec<(i64, Vec<u8>)>) -> Result<(T, i64, i64), Error>,
    ) -> Result<T, Error> {
        self.tx(|tx| {
            tx.lock(Lock::Publication)?;
            let last = tx.count("SELECT COALESCE(MAX(sequence), 0) FROM publications", &[])?;
            let last = u64::try_from(last).unwrap_or(0).max(directory_last.unwrap_or(0));
            let sequence = last.checked_add(1).ok_or_else(|| Error::Publication("sequence exhausted".into()))?;
            let entries = tx
                .query("SELECT kind, value FROM revocations WHERE expires_at > ?1 ORDER BY kind, value", &[now.into()])?
                .iter()
                .map(|r| Ok((r.int(0)?, r.bytes(1)?)))
                .collect::<Result<Vec<_>, Error>>()?;
            let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
            let (out, issued_at, expires_at) = write(sequence, entries)?;
            let seq = i64::try_from(sequence).map_err(|_| Error::Publication("sequence out of range".into()))?;
            tx.exec("INSERT INTO publications (sequence, issued_at, expires_at, entries, reason) VALUES (?1, ?2, ?3, ?4, ?5)", &[
                seq.into(),
                issued_at.into(),
                expires_at.into(),
                count.into(),
                reason.into(),
            ])?;
            audit(tx, now, &Actor::System, "publish", &format!("sequence:{sequence}"), reason)?;
            Ok(out)
        })
    }

    /// The last publication, if any.
    pub fn last_publication(&self) -> Result<Option<Publication>, Error> {
        self.tx(|tx| {
            tx.one("SELECT sequence, issued_at FROM publications ORDER BY sequence DESC LIMIT 1", &[])?
                .map(|r| {
                    Ok(Publication {
                        sequence: u64::try_from(r.int(0)?).map_err(|_| Error::Store("negative sequence".into()))?,
                        issued_at: r.int(1)?,
                    })
                })
                .transpose()
        })
    }

    /// The audit log's last `limit` rows, newest first.
    pub fn audit_log(&self, limit: i64) -> Result<Vec<AuditRow>, Error> {
        self.tx(|tx| {
            tx.query("SELECT at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?1", &[limit.into()])?
                .iter()
                .map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?, r.text(4)?)))
                .collect()
        })
    }

    /// Forgets what is no longer needed: challenges and invitations a day past their
    /// expiry, and batch responses past the retry window (the batch rows stay).
    pub fn housekeeping(&self, now: i64, retry_window_secs: i64) -> Result<(), Error> {
        self.tx(|tx| {
            tx.exec("DELETE FROM challenges WHERE expires_at < ?1", &[(now - 86_400).into()])?;
            tx.exec("DELETE FROM invitations WHERE expires_at < ?1", &[(now - 86_400).into()])?;
            tx.exec(
                "UPDATE batches SET response = NULL WHERE created_at < ?1 AND response IS NOT NULL",
                &[(now - retry_window_secs).into()],
            )?;
            Ok(())
        })
    }
}

/// A recorded batch this request repeats: same challenge, or same request id, and the
/// same digest. The same challenge with another request is `challenge_used`; the same
/// request id with another request `request_id_conflict`.
fn replayed(
    tx: &mut dyn Tx,
    resident_id: i64,
    challenge: &[u8],
    request_id: Option<&str>,
    digest: &[u8],
) -> Result<Option<String>, Error> {
    if let Some(id) = request_id
        && let Some(row) = tx.one(
            "SELECT request_digest, response FROM batches WHERE resident_id = ?1 AND request_id = ?2",
            &[resident_id.into(), id.into()],
        )?
    {
        if row.bytes(0)? != digest {
            return Err(Error::RequestIdConflict);
        }
        return row.opt_text(1)?.map(Some).ok_or(Error::ChallengeUsed);
    }
    if let Some(row) =
        tx.one("SELECT request_digest, response, resident_id FROM batches WHERE challenge = ?1", &[challenge.into()])?
    {
        if row.bytes(0)? != digest || row.int(2)? != resident_id {
            return Err(Error::ChallengeUsed);
        }
        return row.opt_text(1)?.map(Some).ok_or(Error::ChallengeUsed);
    }
    Ok(None)
}

/// A challenge's state for this resident: unknown (also when given to another
/// resident: nothing says it exists), used, expired, or live (`Ok`).
fn challenge_state(tx: &mut dyn Tx, resident_id: i64, challenge: &[u8], now: i64) -> Result<(), Error> {
    let row = tx
        .one(
            "SELECT expires_at, used_at FROM challenges WHERE challenge = ?1 AND resident_id = ?2",
            &[challenge.into(), resident_id.into()],
        )?
        .ok_or(Error::ChallengeUnknown)?;
    if row.opt_int(1)?.is_some() {
        return Err(Error::ChallengeUsed);
    }
    if row.int(0)? <= now {
        return Err(Error::ChallengeExpired);
    }
    Ok(())
}

fn outstanding(tx: &mut dyn Tx, resident_id: i64, guardianship: Option<i64>, now: i64) -> Result<i64, Error> {
    match guardianship {
        None => tx.count(
            "SELECT COUNT(*) FROM instances WHERE resident_id = ?1 AND guardianship_id IS NULL AND revoked_at IS NULL AND not_after > ?2",
            &[resident_id.into(), now.into()],
        ),
        Some(g) => tx.count(
            "SELECT COUNT(*) FROM instances WHERE guardianship_id = ?1 AND revoked_at IS NULL AND not_after > ?2",
            &[g.into(), now.into()],
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_guardianship(
    tx: &mut dyn Tx,
    guardian_id: i64,
    dependant_id: i64,
    relation: i64,
    consent: &Consent,
    max: u32,
    actor: &Actor,
    now: i64,
) -> Result<Guardianship, Error> {
    if guardian_id == dependant_id {
        return Err(Error::SelfGuardianship);
    }
    let active = tx.count(
        "SELECT COUNT(*) FROM guardianships WHERE guardian_id = ?1 AND revoked_at IS NULL",
        &[guardian_id.into()],
    )?;
    if tx.count(
        "SELECT COUNT(*) FROM guardianships WHERE guardian_id = ?1 AND dependant_id = ?2 AND revoked_at IS NULL",
        &[guardian_id.into(), dependant_id.into()],
    )? > 0
    {
        return Err(Error::GuardianshipExists);
    }
    if active >= i64::from(max) {
        return Err(Error::GuardianshipLimit(max));
    }
    let (kind, by, reference) = match consent {
        Consent::DependantLogin { login } => ("dependant_login", login.clone(), None),
        Consent::Staff { officer, reference } => ("staff", officer.clone(), Some(reference.clone())),
    };
    let row = tx
        .one(
            &format!(
                "INSERT INTO guardianships (guardian_id, dependant_id, relation, consent_kind, consent_by, consent_reference, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING {GUARDIANSHIP_COLUMNS}"
            ),
            &[
                guardian_id.into(),
                dependant_id.into(),
                relation.into(),
                kind.into(),
                by.into(),
                reference.into(),
                now.into(),
            ],
        )?
        .ok_or_else(|| Error::Store("no guardianship id".into()))?;
    let g = guardianship(&row)?;
    audit(tx, now, actor, "create_guardianship", &format!("guardianship:{}", g.id), &format!("consent: {kind}"))?;
    Ok(g)
}

fn revoke_guardianship_instances(tx: &mut dyn Tx, guardianship_id: i64, now: i64) -> Result<usize, Error> {
    let rows = subjects(tx.query(
        "SELECT subject, not_after FROM instances WHERE guardianship_id = ?1 AND revoked_at IS NULL AND not_after > ?2",
        &[guardianship_id.into(), now.into()],
    )?)?;
    revoke_subjects(tx, &rows, now)
}

fn revoke_printed(tx: &mut dyn Tx, printed: &[(Vec<u8>, i64)], now: i64) -> Result<usize, Error> {
    for (subject, not_after) in printed {
        tx.exec(
            "INSERT INTO revocations (kind, value, expires_at, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kind, value) DO NOTHING",
            &[REVOKE_SUBJECT.into(), subject.as_slice().into(), (*not_after).into(), now.into()],
        )?;
        tx.exec(
            "UPDATE printed_codes SET revoked_at = ?1 WHERE subject = ?2",
            &[now.into(), subject.as_slice().into()],
        )?;
    }
    Ok(printed.len())
}
