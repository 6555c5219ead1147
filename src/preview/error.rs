//! The preview's error type.
//!
//! Every server-side fact of the preview is a query run inside the guarded
//! transaction; when one fails, the caller needs the SQLSTATE (to tell a missing
//! privilege from a cancelled statement) and a one-line message it can show next to
//! the write it was trying to explain.

use tokio_postgres::error::SqlState;

/// Why a fact of the preview could not be established on the server.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// A preview query failed on the server or on the connection.
    #[error("{}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// No relation has this oid (it was dropped, or never existed).
    #[error("no table has oid {relid}")]
    NoSuchTable {
        /// The oid that was looked up.
        relid: u32,
    },
    /// The catalog holds a value this version of pgward does not know how to read.
    #[error("unexpected catalog value: {0}; pgward cannot predict this statement's effects")]
    Catalog(String),
}

impl PreviewError {
    /// The SQLSTATE of a server error, if this is one.
    pub fn sqlstate(&self) -> Option<&SqlState> {
        match self {
            PreviewError::Db(e) => e.code(),
            PreviewError::NoSuchTable { .. } | PreviewError::Catalog(_) => None,
        }
    }
}

/// `message (SQLSTATE)` for a server error, the driver's own text otherwise.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
