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
    /// The connection is gone.
    ConnectionLost,
}

impl Outcome {
    /// The process exit code this outcome maps to.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::Ok,
            Outcome::SqlError => ExitCode::SqlError,
            Outcome::Refused => ExitCode::Refused,
            Outcome::ConnectionLost => ExitCode::Config,
        }
    }
}
