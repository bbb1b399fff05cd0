//! The PostgreSQL backend: a small pool of connections, each statement with a deadline;
//! named locks are transaction-scoped advisory locks, so two service instances on one
//! database take turns on a resident's records and on publication.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Backend, Dialect, Lock, Row, Tx, Value};
use crate::error::Error;

fn store_error(e: postgres::Error) -> Error {
    // The message names the failing statement's error, never its parameters.
    Error::Store(format!("postgres: {e}"))
}

/// `?1` placeholders (the shared dialect) as PostgreSQL's `$1`.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A PostgreSQL database.
pub struct PgBackend {
    pool: Mutex<Vec<postgres::Client>>,
    available: Condvar,
    url: String,
}

impl PgBackend {
    /// Connects `size` clients (at least 1) to `url`. Each session gets a 5-second
    /// statement and lock timeout, so a hung database gives an error in bounded time.
    pub fn connect(url: &str, size: usize) -> Result<Self, Error> {
        let mut clients = Vec::new();
        for _ in 0..size.max(1) {
            clients.push(Self::client(url)?);
        }
        Ok(PgBackend { pool: Mutex::new(clients), available: Condvar::new(), url: url.to_string() })
    }

    fn client(url: &str) -> Result<postgres::Client, Error> {
        let mut config: postgres::Config = url.parse().map_err(store_error)?;
        config.connect_timeout(Duration::from_secs(5));
        let mut client = config.connect(postgres::NoTls).map_err(store_error)?;
        client
            .batch_execute("SET statement_timeout = '5s'; SET lock_timeout = '5s'; SET idle_in_transaction_session_timeout = '30s'")
            .map_err(store_error)?;
        Ok(client)
    }

    fn checkout(&self) -> Result<postgres::Client, Error> {
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(client) = pool.pop() {
                return Ok(client);
            }
            let (guard, timeout) = self
                .available
                .wait_timeout(pool, Duration::from_secs(5))
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pool = guard;
            if timeout.timed_out() && pool.is_empty() {
                return Err(Error::Store("postgres: no connection free within 5 s".into()));
            }
        }
    }

    fn give_back(&self, client: postgres::Client) {
        // A broken connection is replaced on the next checkout that finds none.
        if client.is_closed() {
            if let Ok(fresh) = Self::client(&self.url) {
                self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(fresh);
            }
        } else {
            self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(client);
        }
        self.available.notify_one();
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        // A synchronous client blocks on its own runtime when it closes, which panics
        // inside an async runtime (the service may be dropped there): close them on a
        // thread of their own.
        let clients = std::mem::take(&mut *self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let _ = std::thread::spawn(move || drop(clients)).join();
    }
}

struct PgTx<'a, 'b>(&'a mut postgres::Transaction<'b>);

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, values: &[Value]) -> Result<u64, Error> {
        if values.is_empty() {
            // Schema statements (functions with `$$` bodies) go as they are.
            return self.0.execute(sql, &[]).map_err(store_error);
        }
        self.0.execute(placeholders(sql).as_str(), &params(values)).map_err(store_error)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, Error> {
        let rows = self.0.query(placeholders(sql).as_str(), &params(values)).map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let mut out = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let value = match *column.type_() {
                        Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int)),
                        Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
                        Type::INT2 => row.try_get::<_, Option<i16>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
                        Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
                        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map(Value::Bytes)),
                        _ => row.try_get::<_, Option<String>>(i).map(|v| v.map(Value::Text)),
                    }
                    .map_err(store_error)?;
                    out.push(value.unwrap_or(Value::Null));
                }
                Ok(Row(out))
            })
            .collect()
    }

    fn lock(&mut self, lock: Lock) -> Result<(), Error> {
        let (a, b) = lock.keys();
        self.0.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&a, &b]).map_err(store_error)?;
        Ok(())
    }
}

impl Backend for PgBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Error>) -> Result<(), Error> {
        let mut client = self.checkout()?;
        let result = (|| {
            let mut tx = client.transaction().map_err(store_error)?;
            f(&mut PgTx(&mut tx))?;
            tx.commit().map_err(store_error)
        })();
        self.give_back(client);
        result
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_dollar_numbers() {
        assert_eq!(super::placeholders("a = ?1 AND b = ?12 OR c = '?'"), "a = $1 AND b = $12 OR c = '?'");
    }
}
