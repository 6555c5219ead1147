//! What became of a COMMIT the log does not know the outcome of: a `commit_intent` with
//! no outcome (the process died around COMMIT) or a `commit_unknown` (the connection
//! was lost after COMMIT was sent). The server still knows, through `txid_status`,
//! for as long as it keeps the transaction's commit status.

use crate::conn::Client;

/// The server's answer for one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// It committed.
    Committed,
    /// It aborted (rolled back, or never reached COMMIT).
    Aborted,
    /// It is still open on the server (its backend has not yet noticed the client died).
    InProgress,
    /// The server no longer keeps its status (too old), or the id is not a transaction id.
    Unknown,
}

impl TxStatus {
    /// As `txid_status` spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            TxStatus::Committed => "committed",
            TxStatus::Aborted => "aborted",
            TxStatus::InProgress => "in progress",
            TxStatus::Unknown => "unknown",
        }
    }
}

/// Asks the server for the status of transaction `txid` (a `txid_current()` value).
pub async fn txid_status(client: &Client, txid: &str) -> Result<TxStatus, tokio_postgres::Error> {
    if txid.is_empty() || !txid.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(TxStatus::Unknown);
    }
    let row = client
        .query_one(
            "SELECT pg_catalog.txid_status($1::pg_catalog.text::pg_catalog.int8)",
            &[&txid],
        )
        .await?;
    let status: Option<String> = row.get(0);
    Ok(match status.as_deref() {
        Some("committed") => TxStatus::Committed,
        Some("aborted") => TxStatus::Aborted,
        Some("in progress") => TxStatus::InProgress,
        _ => TxStatus::Unknown,
    })
}
