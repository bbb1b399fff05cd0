//! The issuer's records, behind one small trait with two real backends: SQLite (the
//! embedded default, zero set-up) and PostgreSQL (production, several service instances
//! on one database).
//!
//! Every query is written once, in the SQL both dialects share, with `?1`-style
//! parameters (the PostgreSQL backend rewrites them to `$1`); the schema is one list of
//! migrations with two dialect tokens (`{id}`, `{blob}`). A backend only runs statements
//! inside a transaction and takes named locks: SQLite serialises writers with `BEGIN
//! IMMEDIATE`, PostgreSQL with transaction-scoped advisory locks. The rules (a challenge
//! consumed once, at most 64 outstanding instances, at most 5 guardianships) live in
//! [`records`], on top of this, so both backends enforce them the same way.

pub mod postgres;
pub mod records;
pub mod sqlite;

use crate::error::Error;

/// One SQL value, as both backends read and bind them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (every integer column is BIGINT).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (BLOB in SQLite, BYTEA in PostgreSQL).
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Clone, Debug, Default)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn get(&self, i: usize) -> Result<&Value, Error> {
        self.0.get(i).ok_or_else(|| Error::Store(format!("no column {i}")))
    }

    /// Column `i` as an integer.
    pub fn int(&self, i: usize) -> Result<i64, Error> {
        self.opt_int(i)?.ok_or_else(|| Error::Store(format!("column {i} is null")))
    }

    /// Column `i` as an integer or NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, Error> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            other => Err(Error::Store(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }

    /// Column `i` as text.
    pub fn text(&self, i: usize) -> Result<String, Error> {
        self.opt_text(i)?.ok_or_else(|| Error::Store(format!("column {i} is null")))
    }

    /// Column `i` as text or NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, Error> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(Error::Store(format!("column {i}: expected text, found {other:?}"))),
        }
    }

    /// Column `i` as bytes.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, Error> {
        self.opt_bytes(i)?.ok_or_else(|| Error::Store(format!("column {i} is null")))
    }

    /// Column `i` as bytes or NULL.
    pub fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, Error> {
        match self.get(i)? {
            Value::Null => Ok(None),
            Value::Bytes(v) => Ok(Some(v.clone())),
            other => Err(Error::Store(format!("column {i}: expected bytes, found {other:?}"))),
        }
    }
}

/// A named lock held until the transaction ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// Schema migrations (two instances starting at once).
    Migrations,
    /// One resident's records: issuance, guardianships, printed codes.
    Resident(i64),
    /// Publication of the distribution directory.
    Publication,
}

impl Lock {
    /// The two keys of a PostgreSQL advisory lock.
    pub fn keys(self) -> (i32, i32) {
        match self {
            Lock::Migrations => (0x6363_0001, 0),
            Lock::Publication => (0x6363_0002, 0),
            // Residents are many: the low 32 bits are enough to spread them (two
            // residents sharing a lock only wait for each other).
            Lock::Resident(id) => (0x6363_0003, id as i32),
        }
    }
}

/// Statements inside one transaction.
pub trait Tx {
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error>;
    /// Runs a query; its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Error>;
    /// Takes a lock until the transaction ends (a no-op where the transaction already
    /// excludes every other writer).
    fn lock(&mut self, lock: Lock) -> Result<(), Error>;
}

impl dyn Tx + '_ {
    /// The first row of a query, if any.
    pub fn one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, Error> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// A single integer (`SELECT COUNT(*) ...`).
    pub fn count(&mut self, sql: &str, params: &[Value]) -> Result<i64, Error> {
        self.one(sql, params)?.ok_or_else(|| Error::Store("no row".into()))?.int(0)
    }
}

/// The SQL dialect of a backend, for the few schema words that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later.
    Sqlite,
    /// PostgreSQL 12 or later.
    Postgres,
}

/// A database the records live in.
pub trait Backend: Send + Sync {
    /// Its dialect.
    fn dialect(&self) -> Dialect;
    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise
    /// (and on any store error).
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Error>) -> Result<(), Error>;
}

/// The schema, in order. Each migration runs once, in a transaction, under the
/// migration lock; `schema_migrations` records it.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            // Residents: the city's reference (the import key), the identity provider's
            // subject (`sub`) once known, the claims (core's JSON, identity left out), the
            // name and the identity document number sealed (AES-256-GCM, key outside the
            // database).
            "CREATE TABLE residents (
            id {id},
            ref TEXT NOT NULL UNIQUE,
            login TEXT UNIQUE,
            claims TEXT NOT NULL,
            id_name TEXT,
            id_number {blob},
            id_digest BIGINT,
            revoked_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)",
            // Challenges (SPEC.md §4.7): random, bound to the resident who asked, used once.
            "CREATE TABLE challenges (
            challenge {blob} PRIMARY KEY,
            resident_id BIGINT NOT NULL REFERENCES residents(id),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT)",
            "CREATE INDEX challenges_resident ON challenges (resident_id, expires_at)",
            // Guardianships (SPEC.md §4.9) and how consent was given.
            "CREATE TABLE guardianships (
            id {id},
            guardian_id BIGINT NOT NULL REFERENCES residents(id),
            dependant_id BIGINT NOT NULL REFERENCES residents(id),
            relation BIGINT NOT NULL,
            consent_kind TEXT NOT NULL,
            consent_by TEXT NOT NULL,
            consent_reference TEXT,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT,
            revoked_by TEXT)",
            "CREATE INDEX guardianships_guardian ON guardianships (guardian_id)",
            "CREATE INDEX guardianships_dependant ON guardianships (dependant_id)",
            "CREATE TABLE invitations (
            code {blob} PRIMARY KEY,
            dependant_id BIGINT NOT NULL REFERENCES residents(id),
            relation BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT)",
            // One batch request: its challenge (consumed by it), the client's request id,
            // a digest of what was asked and the response, for a retry to get the same
            // instances back instead of new ones.
            "CREATE TABLE batches (
            id {id},
            resident_id BIGINT NOT NULL REFERENCES residents(id),
            guardianship_id BIGINT REFERENCES guardianships(id),
            challenge {blob} NOT NULL UNIQUE,
            request_id TEXT,
            request_digest {blob} NOT NULL,
            device TEXT,
            created_at BIGINT NOT NULL,
            response TEXT,
            UNIQUE (resident_id, request_id))",
            // Every instance the issuer signed: its subject, the key it is bound to, until
            // when it is valid. `resident_id` holds it (the guardian for a guardian's
            // instance), `guardianship_id` says on whose behalf.
            "CREATE TABLE instances (
            subject {blob} PRIMARY KEY,
            batch_id BIGINT NOT NULL REFERENCES batches(id),
            resident_id BIGINT NOT NULL REFERENCES residents(id),
            guardianship_id BIGINT REFERENCES guardianships(id),
            device_key_id {blob} NOT NULL,
            device TEXT,
            not_after BIGINT NOT NULL,
            revoked_at BIGINT,
            attestation TEXT)",
            "CREATE INDEX instances_holder ON instances (resident_id, not_after)",
            "CREATE INDEX instances_guardianship ON instances (guardianship_id)",
            "CREATE TABLE printed_codes (
            id {id},
            resident_id BIGINT NOT NULL REFERENCES residents(id),
            subject {blob} NOT NULL UNIQUE,
            text TEXT NOT NULL,
            not_after BIGINT NOT NULL,
            issued_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT)",
            "CREATE INDEX printed_resident ON printed_codes (resident_id)",
            // Revocation entries (SPEC.md §8.2): kind 2 subject, 3 device key id; each
            // leaves the published list once what it revokes has expired.
            "CREATE TABLE revocations (
            kind BIGINT NOT NULL,
            value {blob} NOT NULL,
            expires_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (kind, value))",
            "CREATE TABLE publications (
            sequence BIGINT PRIMARY KEY,
            issued_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            entries BIGINT NOT NULL,
            reason TEXT NOT NULL)",
            // Who did what, when: actors, actions and record ids; never a claim value.
            "CREATE TABLE audit (
            id {id},
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL)",
            "{audit_append_only}",
        ],
    ),
    (
        2,
        &[
            // Each instance records its device key's attestation (SPEC.md §4.10.2) as JSON
            // in `instances.attestation`; the database itself refuses anything else there.
            // Instances recorded before keep NULL.
            "{attestation_json}",
        ],
    ),
];

fn dialect_sql(dialect: Dialect, sql: &str) -> Vec<String> {
    let (id, blob) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Dialect::Postgres => ("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"),
    };
    if sql == "{attestation_json}" {
        return match dialect {
            Dialect::Sqlite => ["INSERT", "UPDATE OF attestation"]
                .iter()
                .map(|op| {
                    format!(
                        "CREATE TRIGGER instances_attestation_json_{} BEFORE {op} ON instances \
                         WHEN NEW.attestation IS NOT NULL AND NOT json_valid(NEW.attestation) \
                         BEGIN SELECT RAISE(ABORT, 'instances.attestation holds JSON'); END",
                        op.split(' ').next().unwrap_or(op).to_lowercase()
                    )
                })
                .collect(),
            // A value that is not JSON fails the cast, and with it the statement.
            Dialect::Postgres => vec![
                "ALTER TABLE instances ADD CONSTRAINT instances_attestation_json CHECK (attestation IS NULL OR attestation::jsonb IS NOT NULL)".into(),
            ],
        };
    }
    if sql == "{audit_append_only}" {
        // The audit log is append-only in the database itself, not only in this code.
        return match dialect {
            Dialect::Sqlite => ["UPDATE", "DELETE"]
                .iter()
                .map(|op| {
                    format!(
                        "CREATE TRIGGER audit_no_{} BEFORE {op} ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
                        op.to_lowercase()
                    )
                })
                .collect(),
            Dialect::Postgres => vec![
                "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$".into(),
                "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()".into(),
            ],
        };
    }
    vec![sql.replace("{id}", id).replace("{blob}", blob)]
}

/// The latest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 2;

/// The records: a backend and the rules on top of it ([`records`]).
pub struct Store {
    backend: Box<dyn Backend>,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.backend.dialect()).finish()
    }
}

impl Store {
    /// A store on `backend`, migrated to [`SCHEMA_VERSION`]. A database whose schema is
    /// newer than this build is refused (an older service must not write to it).
    pub fn open(backend: Box<dyn Backend>) -> Result<Store, Error> {
        Store::open_at(backend, SCHEMA_VERSION)
    }

    /// A store migrated only as far as `version` (tests of the migrations: a database
    /// an older build made).
    #[doc(hidden)]
    pub fn open_at(backend: Box<dyn Backend>, version: i64) -> Result<Store, Error> {
        let store = Store { backend };
        store.migrate(version.min(SCHEMA_VERSION))?;
        Ok(store)
    }

    /// The SQLite database at `path` (created if missing).
    pub fn sqlite(path: &std::path::Path) -> Result<Store, Error> {
        Store::open(Box::new(sqlite::SqliteBackend::open(path)?))
    }

    /// The PostgreSQL database at `url` (`postgres://user@host:port/db`), with a pool
    /// of `pool` connections.
    pub fn postgres(url: &str, pool: usize) -> Result<Store, Error> {
        Store::open(Box::new(postgres::PgBackend::connect(url, pool)?))
    }

    /// Its dialect.
    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    /// Runs `f` in a transaction and returns what it returns.
    pub fn tx<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T, Error>) -> Result<T, Error> {
        let mut out = None;
        self.backend.transaction(&mut |tx| {
            out = Some(f(tx)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::Store("transaction ended without a result".into()))
    }

    /// Whether the store answers (readiness).
    pub fn ping(&self) -> Result<(), Error> {
        self.tx(|tx| tx.count("SELECT COUNT(*) FROM schema_migrations", &[]).map(|_| ()))
    }

    fn migrate(&self, target: i64) -> Result<(), Error> {
        let dialect = self.dialect();
        self.tx(|tx| {
            tx.lock(Lock::Migrations)?;
            tx.exec(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                &[],
            )?;
            let current = tx.count("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
            if current > SCHEMA_VERSION {
                return Err(Error::Store(format!(
                    "the database's schema is version {current}, newer than this build's {SCHEMA_VERSION}"
                )));
            }
            for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current && *v <= target) {
                for statement in *statements {
                    for sql in dialect_sql(dialect, statement) {
                        tx.exec(&sql, &[])?;
                    }
                }
                tx.exec(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    &[Value::Int(*version), Value::Int(crate::unix_now())],
                )?;
            }
            Ok(())
        })
    }
}
