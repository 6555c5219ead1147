//! `pooler = "session" | "transaction"`: what the DBA declares about a connection pooler
//! between pgward and an environment's server (PgBouncer's `pool_mode`, or the like).
//!
//! pgward detects most poolers itself (`session::pooler`: the cancel key's process id is
//! not the backend's), but it cannot tell their pool mode, and a proxy that passes the
//! server's cancel key through is not detected at all. A statement that runs alone
//! (VACUUM, CREATE INDEX CONCURRENTLY, …) needs the write role set for the session, which
//! only a pool in session mode keeps: `session` lets such statements run through a
//! detected pooler, `transaction` refuses them even where no pooler is detected.

use std::fmt;

use serde::Deserialize;

/// The pool mode of the pooler in front of an environment's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolerMode {
    /// Each client keeps one server backend until it disconnects (PgBouncer's
    /// `pool_mode = session`): statements that run alone may run.
    Session,
    /// A client may get another server backend for each transaction (`pool_mode =
    /// transaction` or `statement`): statements that run alone are refused.
    Transaction,
}

impl PoolerMode {
    /// The value as the config file spells it.
    pub fn id(self) -> &'static str {
        match self {
            PoolerMode::Session => "session",
            PoolerMode::Transaction => "transaction",
        }
    }
}

impl fmt::Display for PoolerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{locate, ConfigError};

    fn env(line: &str) -> Result<Option<PoolerMode>, ConfigError> {
        let text = format!("[environments.prod]\nurl = \"host=db\"\n{line}\n");
        locate::parse(&text, Path::new("pgward.toml")).map(|f| f.environments["prod"].pooler)
    }

    #[test]
    fn pooler_takes_session_or_transaction_and_nothing_else() {
        assert_eq!(env("").expect("parses"), None, "no pooler declared");
        assert_eq!(
            env("pooler = \"session\"").expect("parses"),
            Some(PoolerMode::Session)
        );
        assert_eq!(
            env("pooler = \"transaction\"").expect("parses"),
            Some(PoolerMode::Transaction)
        );
        for bad in [
            "pooler = \"statement\"",
            "pooler = \"Session\"",
            "pooler = \"\"",
            "pooler = true",
            "pooler = [\"session\"]",
        ] {
            match env(bad) {
                Err(ConfigError::Invalid { line, message, .. }) => {
                    assert_eq!(line, 3, "{bad}: the key's line");
                    assert!(
                        message.contains("session") && message.contains("transaction")
                            || message.contains("string"),
                        "{bad}: {message}"
                    );
                }
                other => panic!("{bad}: expected an error, got {other:?}"),
            }
        }
    }
}
