//! The library's top-level error and the process exit codes.
//!
//! Exit codes are part of the interface, documented in README.md and `--help`:
//! 0 ok, 1 SQL error, 2 refused by policy (or not confirmed), 3 configuration or
//! connection error, and 4–8 for a COMMIT whose outcome needs the operator's attention
//! (committed locally without the synchronous standby's confirmation; the connection
//! failed after COMMIT was sent and the server then said committed, rolled back, in
//! progress, or could not be asked), and 9 ended by a signal (SIGTERM, SIGHUP; the
//! open transaction was rolled back).

use crate::config::ConfigError;
use crate::conn::ConnError;
use crate::demo::DemoError;
use crate::session::roles::RoleError;

/// Errors that stop pgward before or outside a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No connection could be made.
    #[error(transparent)]
    Connect(#[from] ConnError),
    /// The login's role setup is one pgward cannot guard (or could not be checked).
    #[error(transparent)]
    Roles(#[from] RoleError),
    /// `pgward demo` could not set up its cluster.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// A script file could not be read.
    #[error("cannot read {path}: {source}")]
    Script {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A script file is not UTF-8 text.
    #[error(
        "{path}: byte {offset} (line {line}) is not valid UTF-8; pgward reads SQL as UTF-8, \
         so convert the file first (e.g. iconv -f LATIN1 -t UTF-8)"
    )]
    NotUtf8 {
        /// The file.
        path: String,
        /// Byte offset of the first byte that is not valid UTF-8.
        offset: usize,
        /// 1-based line of that byte.
        line: usize,
    },
    /// An output option (`-P`, `-o`) cannot be used.
    #[error("{0}")]
    Output(String),
    /// A session-log command failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The ledger could not be created, read or checked.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A change could not be replayed.
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    /// A change could not be undone.
    #[error(transparent)]
    Undo(#[from] crate::undo::UndoError),
    /// `pgward approver` could not do what was asked.
    #[error("{0}")]
    Approver(String),
    /// The terminal or runtime could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Config
    }
}

/// How a pgward process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// Everything ran.
    Ok = 0,
    /// A statement failed on the server.
    SqlError = 1,
    /// A statement was refused by policy, or a COMMIT was not confirmed.
    Refused = 2,
    /// Configuration or connection error (including a connection lost before COMMIT).
    Config = 3,
    /// COMMIT committed locally, but the synchronous standby did not confirm it.
    CommittedLocally = 4,
    /// The connection failed after COMMIT was sent; the server then said committed.
    LostCommitted = 5,
    /// The connection failed after COMMIT was sent; the server then said rolled back.
    LostRolledBack = 6,
    /// The connection failed after COMMIT was sent; the server then said in progress.
    LostInProgress = 7,
    /// The connection failed after COMMIT was sent, and the outcome could not be learned.
    LostUnknown = 8,
    /// Ended by SIGTERM or SIGHUP; an open transaction was rolled back.
    Signal = 9,
}

impl ExitCode {
    /// The numeric status.
    pub fn code(self) -> i32 {
        self as i32
    }
}
