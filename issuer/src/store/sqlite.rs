//! The SQLite backend: one connection in WAL mode; `BEGIN IMMEDIATE` makes every
//! transaction the only writer, so the rules' read-then-write steps cannot interleave.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::{Backend, Dialect, Lock, Row, Tx, Value};
use crate::error::Error;

fn store_error(e: rusqlite::Error) -> Error {
    Error::Store(format!("sqlite: {e}"))
}

/// A SQLite database file.
pub struct SqliteBackend {
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteBackend {
    /// Opens (or creates) the database at `path`: WAL journal, foreign keys on, a
    /// 5-second wait for a lock held by another process.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let conn = rusqlite::Connection::open(path).map_err(store_error)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(store_error)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(store_error)?;
        Ok(SqliteBackend { conn: Mutex::new(conn) })
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

struct SqliteTx<'c>(&'c rusqlite::Connection);

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_error)?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter())).map_err(store_error)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Error> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_error)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(store_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(store_error)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(store_error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Int(v as i64),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn lock(&mut self, _: Lock) -> Result<(), Error> {
        // BEGIN IMMEDIATE already holds the database's write lock.
        Ok(())
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Error>) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        conn.execute_batch("BEGIN IMMEDIATE").map_err(store_error)?;
        match f(&mut SqliteTx(&conn)) {
            Ok(()) => conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                store_error(e)
            }),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}
