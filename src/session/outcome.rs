//! How one piece of input ended, and what that means for the exit code.

use crate::ExitCode;

/// The result of running input through the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything ran.
    Ok,
    /// The server reported an error.
    SqlError,
    /// Policy refused, or a COMMIT was not confirmed.
    Refused,
    /// The connection is gone (before any COMMIT was sent).
    ConnectionLost,
    /// COMMIT committed locally, but the wait for the synchronous standby was cancelled,
    /// so replication is not confirmed.
    CommittedLocally,
    /// The connection failed after COMMIT was sent; what the server said afterwards.
    CommitLost(CommitFate),
}

/// What became of a transaction whose connection failed after COMMIT was sent, as the
/// server reported it (`txid_status`) on a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitFate {
    /// The transaction committed.
    Committed,
    /// The transaction rolled back: nothing was committed.
    RolledBack,
    /// The transaction has neither committed nor rolled back yet.
    InProgress,
    /// The server could not be asked, or no longer knows.
    Unknown,
}

impl Outcome {
    /// The process exit code this outcome maps to.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::Ok,
            Outcome::SqlError => ExitCode::SqlError,
            Outcome::Refused => ExitCode::Refused,
            Outcome::ConnectionLost => ExitCode::Config,
            Outcome::CommittedLocally => ExitCode::CommittedLocally,
            Outcome::CommitLost(CommitFate::Committed) => ExitCode::LostCommitted,
            Outcome::CommitLost(CommitFate::RolledBack) => ExitCode::LostRolledBack,
            Outcome::CommitLost(CommitFate::InProgress) => ExitCode::LostInProgress,
            Outcome::CommitLost(CommitFate::Unknown) => ExitCode::LostUnknown,
        }
    }

    /// True when the session has no connection left to go on with.
    pub fn ends_session(self) -> bool {
        matches!(self, Outcome::ConnectionLost | Outcome::CommitLost(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_commit_outcome_has_its_own_exit_code() {
        let outcomes = [
            Outcome::Ok,
            Outcome::SqlError,
            Outcome::Refused,
            Outcome::ConnectionLost,
            Outcome::CommittedLocally,
            Outcome::CommitLost(CommitFate::Committed),
            Outcome::CommitLost(CommitFate::RolledBack),
            Outcome::CommitLost(CommitFate::InProgress),
            Outcome::CommitLost(CommitFate::Unknown),
        ];
        let codes: Vec<i32> = outcomes.iter().map(|o| o.exit_code().code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
