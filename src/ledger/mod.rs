//! The in-database ledger: one row in `pgward.ledger` per committed change, inserted
//! inside the change's own transaction just before COMMIT, so the audit record and the
//! data are atomic (both exist, or neither does).
//!
//! - [`schema`]: the table, its grants, and how a session finds it.
//! - [`fingerprint`]: what identifies a change: PostgreSQL's fingerprints of its
//!   statements, and a digest of their exact parse trees.
//! - [`entry`]: the row written at COMMIT and the rows read back.
//! - [`lookup`]: the run-once question: was this change committed here before?
//! - [`cross_check`]: `pgward log verify --env`, the logs against the ledger both ways.
//! - [`command`]: `pgward ledger init` and `pgward ledger show`.
//!
//! The session's hooks into its COMMIT path are in `session/ledger.rs`.

pub mod command;
pub mod cross_check;
pub mod entry;
pub mod fingerprint;
pub mod lookup;
pub mod schema;

pub use entry::{Entry, Stored};
pub use fingerprint::ChangePrint;

/// Why the ledger could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The server refused a ledger statement.
    #[error("{what}: {message}")]
    Server {
        /// What pgward was doing.
        what: &'static str,
        /// The server's error in one line (SQLSTATE first).
        message: String,
        /// Its SQLSTATE, when it sent one.
        sqlstate: Option<String>,
    },
    /// The database has no ledger.
    #[error(
        "database {database} has no pgward.ledger; `pgward ledger init --env {env}` creates it"
    )]
    Missing {
        /// The database.
        database: String,
        /// The environment.
        env: String,
    },
    /// pgward will not do what was asked, and says why.
    #[error("{0}")]
    Refused(String),
    /// A row read back is not what pgward writes.
    #[error("pgward.ledger holds a row pgward cannot read ({0})")]
    Malformed(String),
}

impl LedgerError {
    /// A server error while doing `what`.
    pub fn server(what: &'static str, e: &tokio_postgres::Error) -> LedgerError {
        LedgerError::Server {
            what,
            message: crate::render::error::one_line(e),
            sqlstate: e.code().map(|c| c.code().to_string()),
        }
    }
}
