//! The session log: signed, hash-chained JSON Lines, one file per session (format
//! version 1, see `docs/log.md` and `../shared/DESIGN.md`).
//!
//! - [`record`]: the record kinds and the exact bytes that are signed.
//! - [`hex`]: the one hex spelling the log uses.
//! - [`chain`]: `prev`, the SHA-256 of the line before.
//! - [`key`]: the operator's Ed25519 key (`pgward keygen`).
//! - [`batch`]: many signatures by one key, checked at once.
//! - [`writer`]: append, sign, fsync.
//! - [`session_log`]: the log a session holds, or the reason it is unlogged.
//! - [`verify`]: chain, signatures, seq, ending, open commit intents.
//! - [`resolve`]: asks the database what became of an intent (`txid_status`).
//! - [`export`]: the ticket attachment (markdown, JSON) and `log show`.
//! - [`list`]: the sessions in a log directory, newest first.
//! - [`attach`]: the log to its ticket (`[tickets]`: Jira, GitHub, GitLab, a webhook),
//!   and the attachments still pending.
//! - [`command`]: `pgward keygen` and `pgward log …`.

pub mod attach;
pub mod batch;
pub mod chain;
pub mod command;
pub mod export;
pub mod hex;
pub mod key;
pub mod list;
pub mod record;
pub mod resolve;
pub mod session_log;
pub mod verify;
pub mod writer;

use std::path::PathBuf;

pub use key::{KeyError, OperatorKey};
pub use record::{Body, Record};
pub use session_log::{LogTarget, SessionLog};
pub use verify::{verify, Verification};

/// Why a log command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The operator key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A log file could not be read.
    #[error("cannot read session log {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A log directory could not be listed.
    #[error("cannot list session logs in {path}: {source}")]
    List {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `pgward log attach` without a `[tickets]` section.
    #[error("no [tickets] section in {config}: pgward does not know where to attach logs (see docs/log.md, \"Attached to the ticket\")")]
    NoTickets {
        /// The config file, or where it was looked for.
        config: String,
    },
    /// A `--key` value is not a public key.
    #[error("--key {0:?} is not an Ed25519 public key (64 lowercase hex digits, as `pgward keygen` prints)")]
    BadPublicKey(String),
}

/// Reads a log file.
pub fn read(path: &std::path::Path) -> Result<Vec<u8>, AuditError> {
    std::fs::read(path).map_err(|source| AuditError::Read {
        path: path.to_path_buf(),
        source,
    })
}
