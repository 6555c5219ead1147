//! One ledger row: what a session appends just before COMMIT ([`Entry`]), and a row as
//! read back ([`Stored`]). Every value travels as a statement parameter, never as SQL
//! text. The counts are JSON, `[{table, inserted, updated, deleted}]`, as the log
//! writes them.

use tokio_postgres::Row;

use crate::conn::Client;

use crate::preview::digest::TableTotals;

use super::{ChangePrint, LedgerError};

/// The row a committing session appends.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The environment's name.
    pub environment: String,
    /// The transaction id, as the log spells it.
    pub txid: String,
    /// The change digest the author confirmed (and the reviewer approved).
    pub change_digest: String,
    /// The write statements' identity.
    pub print: ChangePrint,
    /// The ticket.
    pub ticket: Option<String>,
    /// Who typed the change.
    pub author: String,
    /// Who approved it, when someone did.
    pub reviewer: Option<String>,
    /// The approval request's id.
    pub request_id: Option<String>,
    /// The session log's file name (no directory).
    pub log_file: Option<String>,
    /// The seq of the log's `ledger` record for this COMMIT.
    pub log_seq: Option<i64>,
    /// Totals per table.
    pub counts: Vec<TableTotals>,
    /// Why the same change runs again (`\again`).
    pub again_reason: Option<String>,
    /// Whether the change can be undone, and if not why (one line).
    pub undo: Option<String>,
}

/// The columns [`Stored::from_row`] reads, in its order.
pub const COLUMNS: &str = "id, kind, committed_at::text, environment, txid, db_role, \
     change_digest, fingerprints, statements_digest, ticket, author, reviewer, request_id, \
     log_file, log_seq, counts::text, again_reason, undo";

/// A ledger row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its id.
    pub id: i64,
    /// `init` (the ledger's first row) or `commit`.
    pub kind: String,
    /// When the row was written (just before COMMIT), as the server prints it.
    pub committed_at: String,
    /// The environment's name.
    pub environment: String,
    /// The transaction id.
    pub txid: String,
    /// The role that wrote it.
    pub db_role: String,
    /// The change digest.
    pub change_digest: String,
    /// Statement fingerprints.
    pub fingerprints: Vec<String>,
    /// Digest of the exact statements.
    pub statements_digest: String,
    /// The ticket.
    pub ticket: Option<String>,
    /// The author.
    pub author: String,
    /// The reviewer.
    pub reviewer: Option<String>,
    /// The approval request id.
    pub request_id: Option<String>,
    /// The session log's file name.
    pub log_file: Option<String>,
    /// The log record's seq.
    pub log_seq: Option<i64>,
    /// Counts, as JSON text.
    pub counts: String,
    /// Why it ran again.
    pub again_reason: Option<String>,
    /// Undo availability.
    pub undo: Option<String>,
}

impl Stored {
    /// A row of a `SELECT {COLUMNS}`.
    pub fn from_row(row: &Row) -> Result<Stored, LedgerError> {
        let bad = |e: tokio_postgres::Error| LedgerError::Malformed(e.to_string());
        Ok(Stored {
            id: row.try_get(0).map_err(bad)?,
            kind: row.try_get(1).map_err(bad)?,
            committed_at: row.try_get(2).map_err(bad)?,
            environment: row.try_get(3).map_err(bad)?,
            txid: row.try_get(4).map_err(bad)?,
            db_role: row.try_get(5).map_err(bad)?,
            change_digest: row.try_get(6).map_err(bad)?,
            fingerprints: row.try_get(7).map_err(bad)?,
            statements_digest: row.try_get(8).map_err(bad)?,
            ticket: row.try_get(9).map_err(bad)?,
            author: row.try_get(10).map_err(bad)?,
            reviewer: row.try_get(11).map_err(bad)?,
            request_id: row.try_get(12).map_err(bad)?,
            log_file: row.try_get(13).map_err(bad)?,
            log_seq: row.try_get(14).map_err(bad)?,
            counts: row.try_get(15).map_err(bad)?,
            again_reason: row.try_get(16).map_err(bad)?,
            undo: row.try_get(17).map_err(bad)?,
        })
    }

    /// `+inserted ~updated -deleted` over all tables, from the counts JSON.
    pub fn rows_summary(&self) -> String {
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&self.counts).unwrap_or_default();
        let sum = |k: &str| -> i64 { parsed.iter().filter_map(|c| c[k].as_i64()).sum() };
        format!(
            "+{} ~{} -{}",
            sum("inserted"),
            sum("updated"),
            sum("deleted")
        )
    }

    /// Who, when and for which ticket, in one line.
    pub fn described(&self) -> String {
        format!(
            "on {} by {}{} (ticket {}, transaction {}, ledger row {})",
            self.committed_at,
            self.author,
            self.reviewer
                .as_deref()
                .map(|r| format!(", approved by {r}"))
                .unwrap_or_default(),
            self.ticket.as_deref().unwrap_or("none"),
            self.txid,
            self.id
        )
    }
}

/// The counts as the JSON the ledger keeps.
pub fn counts_json(counts: &[TableTotals]) -> String {
    serde_json::Value::Array(
        counts
            .iter()
            .map(|c| {
                serde_json::json!({
                    "table": c.table,
                    "inserted": c.inserted,
                    "updated": c.updated,
                    "deleted": c.deleted,
                })
            })
            .collect(),
    )
    .to_string()
}

/// Appends `entry` (kind `commit`) and returns its id. Runs in the caller's
/// transaction, as its current role.
pub async fn insert(client: &Client, entry: &Entry) -> Result<i64, tokio_postgres::Error> {
    let counts = counts_json(&entry.counts);
    let row = client
        .query_one(
            "INSERT INTO pgward.ledger (kind, environment, txid, change_digest, fingerprints, \
             statements_digest, ticket, author, reviewer, request_id, log_file, log_seq, counts, \
             again_reason, undo) \
             VALUES ('commit', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14) \
             RETURNING id",
            &[
                &entry.environment,
                &entry.txid,
                &entry.change_digest,
                &entry.print.fingerprints,
                &entry.print.exact,
                &entry.ticket,
                &entry.author,
                &entry.reviewer,
                &entry.request_id,
                &entry.log_file,
                &entry.log_seq,
                &counts,
                &entry.again_reason,
                &entry.undo,
            ],
        )
        .await?;
    row.try_get(0)
}

/// The ledger's rows, oldest first: `kind` `commit` only unless `all`, and of
/// `ticket` only when given.
pub async fn read(
    client: &Client,
    ticket: Option<&str>,
    all: bool,
) -> Result<Vec<Stored>, LedgerError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pgward.ledger \
         WHERE ($1::text IS NULL OR ticket = $1) AND ($2 OR kind = 'commit') ORDER BY id"
    );
    let rows = client
        .query(&sql, &[&ticket, &all])
        .await
        .map_err(|e| LedgerError::server("cannot read pgward.ledger", &e))?;
    rows.iter().map(Stored::from_row).collect()
}
