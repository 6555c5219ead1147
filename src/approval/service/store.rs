//! The approver's state in PostgreSQL: reviewers, author credentials, requests and their
//! decisions, reviewer sessions and the decision log, in one schema of a database the
//! operator chooses. The approver creates and migrates the schema itself (under an
//! advisory lock, so several processes can start at once), and every process serving one
//! team shares it: a request created through one process can be decided through another.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::Client;

use crate::conn::{self, ConnFlags, ConnParams, PasswordPrompt};

/// The schema version this build writes.
const VERSION: i32 = 1;

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting failed.
    #[error("approver store: {0}")]
    Connect(#[from] conn::ConnError),
    /// A query failed.
    #[error("approver store: {}", crate::render::error::one_line(.0))]
    Query(#[from] tokio_postgres::Error),
    /// The schema name is unusable.
    #[error("approver store: schema name {0:?} must be lower-case letters, digits and _")]
    Schema(String),
    /// The schema is newer than this build.
    #[error("approver store: schema {schema} is at version {found}, newer than this pgward ({VERSION}); upgrade pgward")]
    Newer {
        /// The schema.
        schema: String,
        /// Its version.
        found: i32,
    },
}

/// Connections to the store. Reads and single-statement writes share the pool (a
/// tokio-postgres client pipelines concurrent queries); a decision, which needs a
/// transaction, takes the one `decider` connection.
pub struct Store {
    pool: Vec<Client>,
    next: AtomicUsize,
    /// The connection decisions run their transactions on.
    pub decider: tokio::sync::Mutex<Client>,
    /// The schema, validated, safe to splice into SQL.
    pub schema: String,
}

impl Store {
    /// Connects to `url` (a URI or conninfo string, with pgpass and `PG*` as psql) with
    /// `size` pooled connections, and creates or migrates `schema`.
    pub async fn open(url: &str, schema: &str, size: usize) -> Result<Store, StoreError> {
        if schema.is_empty()
            || schema.len() > 63
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            || schema.as_bytes()[0].is_ascii_digit()
        {
            return Err(StoreError::Schema(schema.to_string()));
        }
        let flags = ConnFlags {
            prompt: PasswordPrompt::Never,
            ..Default::default()
        };
        let params = ConnParams::resolve(Some(url), &flags, |k: &str| std::env::var(k).ok())?;
        let mut pool = Vec::new();
        for _ in 0..size.max(1) {
            pool.push(
                conn::connect(&params, "pgward approver")
                    .await?
                    .client
                    .into_inner(),
            );
        }
        let decider = conn::connect(&params, "pgward approver")
            .await?
            .client
            .into_inner();
        migrate(&decider, schema).await?;
        Ok(Store {
            pool,
            next: AtomicUsize::new(0),
            decider: tokio::sync::Mutex::new(decider),
            schema: schema.to_string(),
        })
    }

    /// A pooled connection.
    pub fn client(&self) -> &Client {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        &self.pool[i]
    }

    /// `name` qualified by the schema.
    pub fn t(&self, name: &str) -> String {
        format!("{}.{name}", self.schema)
    }
}

async fn migrate(client: &Client, schema: &str) -> Result<(), StoreError> {
    client
        .batch_execute("SELECT pg_advisory_lock(hashtext('pgward approver migrate'))")
        .await?;
    let result = migrate_locked(client, schema).await;
    let unlock = client
        .batch_execute("SELECT pg_advisory_unlock(hashtext('pgward approver migrate'))")
        .await;
    result?;
    unlock?;
    Ok(())
}

async fn migrate_locked(client: &Client, s: &str) -> Result<(), StoreError> {
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.meta (version int NOT NULL)"
        ))
        .await?;
    let found: Option<i32> = client
        .query_opt(&format!("SELECT max(version) FROM {s}.meta"), &[])
        .await?
        .and_then(|r| r.get(0));
    match found {
        Some(v) if v > VERSION => {
            return Err(StoreError::Newer {
                schema: s.to_string(),
                found: v,
            })
        }
        Some(_) => return Ok(()),
        None => {}
    }
    client
        .batch_execute(&format!(
            "BEGIN;
             CREATE TABLE {s}.reviewers (
                 name text PRIMARY KEY,
                 password_hash text NOT NULL,
                 created_at timestamptz NOT NULL DEFAULT now());
             CREATE TABLE {s}.authors (
                 name text PRIMARY KEY,
                 token_hash text NOT NULL UNIQUE,
                 created_at timestamptz NOT NULL DEFAULT now());
             CREATE TABLE {s}.requests (
                 request_id text PRIMARY KEY,
                 author text NOT NULL,
                 body text NOT NULL,
                 created_unix bigint NOT NULL,
                 expires_unix bigint NOT NULL,
                 status text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'rejected')),
                 reviewer text,
                 reason text,
                 approved_at text,
                 token text,
                 decided_unix bigint);
             CREATE INDEX ON {s}.requests (status, expires_unix);
             CREATE TABLE {s}.sessions (
                 id_hash text PRIMARY KEY,
                 reviewer text NOT NULL REFERENCES {s}.reviewers ON DELETE CASCADE,
                 csrf text NOT NULL,
                 expires_unix bigint NOT NULL);
             CREATE TABLE {s}.decisions (
                 seq bigint PRIMARY KEY,
                 entry text NOT NULL,
                 sig text NOT NULL);
             CREATE FUNCTION {s}.append_only() RETURNS trigger LANGUAGE plpgsql AS
                 $$BEGIN RAISE EXCEPTION 'the decision log is append-only'; END$$;
             CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {s}.decisions
                 FOR EACH STATEMENT EXECUTE FUNCTION {s}.append_only();
             INSERT INTO {s}.meta VALUES ({VERSION});
             COMMIT;"
        ))
        .await?;
    Ok(())
}
