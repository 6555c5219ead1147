//! The identity probe: after every statement, one cheap query checks that the role, the
//! login, the backend and the transaction are still the ones pgward opened.
//!
//! Everything is schema-qualified or a keyword, so a hostile `search_path` cannot replace
//! what the probe calls.

use tokio_postgres::{Client, SimpleQueryMessage};

// The transaction start is compared as epoch microseconds: its text form follows the
// session's TimeZone and DateStyle, which the author may change mid-transaction.
const PROBE: &str = "SELECT current_user, session_user, \
     pg_catalog.pg_backend_pid()::pg_catalog.text, \
     EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::pg_catalog.text, \
     pg_catalog.current_setting('transaction_read_only'), \
     pg_catalog.txid_current_if_assigned()::pg_catalog.text, \
     pg_catalog.current_setting('standard_conforming_strings'), \
     pg_catalog.current_setting('client_encoding')";

/// What the probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `current_user`: the role in effect.
    pub current_user: String,
    /// `session_user`: the login.
    pub session_user: String,
    /// `pg_backend_pid()`.
    pub pid: String,
    /// `transaction_timestamp()`: identifies the transaction.
    pub xact_start: String,
    /// `transaction_read_only` is on.
    pub read_only: bool,
    /// The transaction id, once the transaction has written something.
    pub xid: Option<String>,
    /// `standard_conforming_strings` is on and the client encoding is UTF8: the quoting
    /// rules pgward's splitter and its own generated SQL assume.
    pub quoting_intact: bool,
}

/// Runs the probe.
pub async fn probe(client: &Client) -> Result<Identity, tokio_postgres::Error> {
    let messages = client.simple_query(PROBE).await?;
    let row = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    let get = |i: usize| row.and_then(|r| r.get(i)).map(str::to_string);
    Ok(Identity {
        current_user: get(0).unwrap_or_default(),
        session_user: get(1).unwrap_or_default(),
        pid: get(2).unwrap_or_default(),
        xact_start: get(3).unwrap_or_default(),
        read_only: get(4).as_deref() == Some("on"),
        xid: get(5),
        quoting_intact: get(6).as_deref() == Some("on") && get(7).as_deref() == Some("UTF8"),
    })
}

/// What the probe must see, and what it saw instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The role pgward set.
    pub role: String,
    /// The login.
    pub login: String,
    /// The backend.
    pub pid: String,
    /// The transaction, once known.
    pub xact_start: Option<String>,
    /// Whether the transaction must be read-only.
    pub read_only: bool,
}

impl Expected {
    /// The first difference between what was expected and `seen`, in words.
    pub fn mismatch(&self, seen: &Identity) -> Option<String> {
        if seen.session_user != self.login {
            return Some(format!(
                "session user is {:?}, expected {:?}",
                seen.session_user, self.login
            ));
        }
        if seen.current_user != self.role {
            return Some(format!(
                "current role is {:?}, expected {:?}",
                seen.current_user, self.role
            ));
        }
        if seen.pid != self.pid {
            return Some(format!("backend is {}, expected {}", seen.pid, self.pid));
        }
        if let Some(start) = &self.xact_start {
            if &seen.xact_start != start {
                return Some(format!(
                    "transaction changed (started {}, expected {start})",
                    seen.xact_start
                ));
            }
        }
        if !seen.quoting_intact {
            return Some(
                "standard_conforming_strings or client_encoding changed: pgward's quoting rules no longer hold"
                    .into(),
            );
        }
        if self.read_only && !seen.read_only {
            return Some("transaction is no longer read-only".into());
        }
        None
    }
}
