//! pgward's own client: every statement pgward sends on its own behalf opens with the
//! marker comment [`MARK`], so a DBA reading the server log (`log_statement = all`) can
//! tell pgward's catalog queries, probes and transaction control from the user's SQL,
//! and filter them out with one grep.
//!
//! One mechanism rather than a comment in each literal: [`Client`] wraps
//! tokio-postgres's client, and its query methods add the marker. The user's own
//! statements never pass through it: [`crate::session::exec`] takes the raw client
//! (reached through `Deref`), so the server log shows them exactly as typed. A statement
//! that already opens with a pgward comment (`/* pgward: probe */`, the capture's
//! `/* pgward ticket=… typed: … */`) keeps its own, more specific label.
//!
//! Its query methods also send every statement unnamed, with its parameters' types
//! declared, in one round trip (tokio-postgres's `query_typed`): PgBouncer in transaction
//! mode may give each transaction another backend, so a named statement prepared while no
//! transaction is open can be parsed on one backend and bound on another (26000), and
//! the names tokio-postgres picks (`s0`, `s1`, …, the same in every client) collide with
//! another client's leftovers on a pooled backend (42P05). A parameter is declared as the
//! first type of [`DECLARED`] its Rust type accepts, which is what the server inferred
//! for pgward's own queries: text for strings, int8 for `i64`, oid for `u32`, arrays of
//! those. Whatever tokio-postgres still prepares under a name (the description of the
//! user's statement, its lookups of types it does not know) reaches the server as its
//! unnamed statement too: the connection's bridge rewrites it on the way out (see
//! `conn::unnamed`), so no backend ever holds a name.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::preview::fact_cache::FactCache;

use bytes::BytesMut;
use futures_util::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row, SimpleQueryMessage, SimpleQueryStream};

/// The comment every statement of pgward's own opens with.
pub const MARK: &str = "/* pgward */ ";

/// `sql` with pgward's marker in front, unless it opens with one of pgward's labels.
pub fn marked(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.starts_with("/* pgward") {
        sql.into()
    } else {
        format!("{MARK}{sql}").into()
    }
}

/// The types a parameter of pgward's own statements is declared as: the first its Rust
/// type accepts. A value no type here accepts fails to serialize, with
/// tokio-postgres's own error, before anything is sent.
pub const DECLARED: &[Type] = &[
    Type::TEXT,
    Type::INT8,
    Type::INT4,
    Type::INT2,
    Type::OID,
    Type::BOOL,
    Type::FLOAT8,
    Type::FLOAT4,
    Type::BYTEA,
    Type::TIMESTAMPTZ,
    Type::CHAR,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::INT4_ARRAY,
    Type::INT2_ARRAY,
    Type::OID_ARRAY,
    Type::BOOL_ARRAY,
];

/// `params` with their declared types ([`DECLARED`]).
fn declared<'a>(params: &[&'a (dyn ToSql + Sync)]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    let mut scratch = BytesMut::new();
    params
        .iter()
        .map(|&p| {
            let ty = DECLARED
                .iter()
                .find(|ty| {
                    scratch.clear();
                    p.to_sql_checked(ty, &mut scratch).is_ok()
                })
                .cloned()
                .unwrap_or(Type::UNKNOWN);
            (p, ty)
        })
        .collect()
}

/// tokio-postgres's client, with pgward's marker on every statement it sends, the
/// preview's catalog facts learned on this connection ([`FactCache`]): a new
/// connection starts with none; and whether a request may still await its answer
/// ([`Client::unsettled`]).
pub struct Client(tokio_postgres::Client, Mutex<FactCache>, AtomicBool);

impl From<tokio_postgres::Client> for Client {
    fn from(c: tokio_postgres::Client) -> Self {
        Client(c, Mutex::new(FactCache::default()), AtomicBool::new(true))
    }
}

impl Client {
    /// The raw client, for a connection that is not a session's (the approval
    /// service's store).
    pub fn into_inner(self) -> tokio_postgres::Client {
        self.0
    }

    /// The preview's catalog facts on this connection. Never held across an await.
    pub fn facts(&self) -> MutexGuard<'_, FactCache> {
        // A panic while it was held cannot leave a fact half-stored (each change is
        // one map operation); the cache is still consistent.
        self.1.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether tokio-postgres may have sent a request without awaiting its answer (the
    /// Close of a prepared statement, after any extended-protocol query) since pgward's
    /// last simple query was answered. Answers come in order, so a simple query that
    /// was answered settles everything sent before it; any other use of the client, or
    /// of the raw client behind it, unsettles ([`crate::conn::Connection::settle`]).
    pub fn unsettled(&self) -> bool {
        self.2.load(Ordering::SeqCst)
    }

    fn unsettle(&self) {
        self.2.store(true, Ordering::SeqCst);
    }

    /// After a simple query was answered (success or error: the server answered it).
    fn settled<T>(&self, answer: Result<T, Error>) -> Result<T, Error> {
        let answered = match &answer {
            Ok(_) => true,
            // An error the server sent is an answer; a closed connection is not.
            Err(e) => e.as_db_error().is_some(),
        };
        if answered {
            self.2.store(false, Ordering::SeqCst);
        }
        answer
    }
}

impl Deref for Client {
    type Target = tokio_postgres::Client;

    /// The raw client: for the user's own statements, cancel tokens and state.
    fn deref(&self) -> &tokio_postgres::Client {
        self.unsettle();
        &self.0
    }
}

impl Client {
    /// [`tokio_postgres::Client::query`], marked and unnamed.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        self.unsettle();
        self.0.query_typed(&marked(sql), &declared(params)).await
    }

    /// [`tokio_postgres::Client::query_one`], marked and unnamed.
    pub async fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        self.unsettle();
        self.0
            .query_typed_one(&marked(sql), &declared(params))
            .await
    }

    /// [`tokio_postgres::Client::query_opt`], marked and unnamed.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        self.unsettle();
        self.0
            .query_typed_opt(&marked(sql), &declared(params))
            .await
    }

    /// [`tokio_postgres::Client::query_typed`], marked.
    pub async fn query_typed(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        self.unsettle();
        self.0.query_typed(&marked(sql), params).await
    }

    /// [`tokio_postgres::Client::execute`], marked and unnamed: the rows the statement
    /// affected.
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        self.unsettle();
        let rows = self
            .0
            .query_typed_raw(&marked(sql), declared(params))
            .await?;
        let mut rows = std::pin::pin!(rows);
        while rows.try_next().await?.is_some() {}
        Ok(rows.rows_affected().unwrap_or(0))
    }

    /// [`tokio_postgres::Client::batch_execute`], marked. An empty `sql` stays a
    /// comment alone, which the server answers as the empty query it was.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        self.unsettle();
        let answer = self.0.batch_execute(&marked(sql)).await;
        self.settled(answer)
    }

    /// [`tokio_postgres::Client::simple_query`], marked.
    pub async fn simple_query(&self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        self.unsettle();
        let answer = self.0.simple_query(&marked(sql)).await;
        self.settled(answer)
    }

    /// [`tokio_postgres::Client::simple_query_raw`], marked.
    pub async fn simple_query_raw(&self, sql: &str) -> Result<SimpleQueryStream, Error> {
        self.unsettle();
        self.0.simple_query_raw(&marked(sql)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_declared_as_the_server_would_infer_them() {
        let (s, n, o, v): (&str, i64, u32, Vec<String>) = ("x", 1, 2, vec![]);
        let none: Option<&str> = None;
        let params: [&(dyn ToSql + Sync); 5] = [&s, &n, &o, &v, &none];
        let types: Vec<Type> = declared(&params).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            types,
            [
                Type::TEXT,
                Type::INT8,
                Type::OID,
                Type::TEXT_ARRAY,
                Type::TEXT
            ]
        );
    }

    #[test]
    fn marks_once_and_keeps_a_specific_label() {
        assert_eq!(marked("SELECT 1"), "/* pgward */ SELECT 1");
        assert_eq!(marked(""), "/* pgward */ ");
        assert_eq!(
            marked("/* pgward: probe */ SELECT 1"),
            "/* pgward: probe */ SELECT 1"
        );
    }
}
