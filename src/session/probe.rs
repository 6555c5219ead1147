//! The identity probe: after every statement, one cheap query checks that the role, the
//! login, the backend and the transaction are still the ones pgward opened, and that the
//! settings pgward set for the transaction (its timeouts, `application_name`,
//! `transaction_read_only`) still hold: a function can change any of them through
//! `set_config` with a name built at run time, which no client-side check sees.
//!
//! After a transaction ends, [`advisory_locks`] finds the session-level advisory locks
//! pgward's backend still holds (a function can take them, and they survive ROLLBACK);
//! the session releases them.
//!
//! Each of these is one line in the server log, so where the order allows it they ride
//! in the same simple query as the statement next to them ([`probe_after`]: the BEGIN
//! batch, then the probe; [`probe_then_end`]: the probe, the read's ROLLBACK, then the
//! advisory-lock count; [`end_then_count`]: a ROLLBACK and that count): fewer statements
//! for a DBA to read, same checks.
//!
//! Everything is schema-qualified or a keyword, so a hostile `search_path` cannot replace
//! what the probe calls.

use tokio_postgres::SimpleQueryMessage;

use crate::conn::Client;

// The transaction start is compared as epoch microseconds: its text form follows the
// session's TimeZone and DateStyle, which the author may change mid-transaction.
const PROBE: &str = "SELECT current_user, session_user, \
     pg_catalog.pg_backend_pid()::pg_catalog.text, \
     EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::pg_catalog.text, \
     pg_catalog.current_setting('transaction_read_only'), \
     pg_catalog.txid_current_if_assigned()::pg_catalog.text, \
     pg_catalog.current_setting('standard_conforming_strings'), \
     pg_catalog.current_setting('client_encoding'), \
     pg_catalog.current_setting('application_name'), \
     (EXTRACT(epoch FROM pg_catalog.current_setting('statement_timeout')::pg_catalog.interval) \
       * 1000)::pg_catalog.int8::pg_catalog.text, \
     (EXTRACT(epoch FROM pg_catalog.current_setting('lock_timeout')::pg_catalog.interval) \
       * 1000)::pg_catalog.int8::pg_catalog.text, \
     (EXTRACT(epoch FROM pg_catalog.current_setting('idle_in_transaction_session_timeout')::pg_catalog.interval) \
       * 1000)::pg_catalog.int8::pg_catalog.text";

// Session-level advisory locks are the only advisory locks left once a transaction has
// ended (transaction-level ones are released with it).
const ADVISORY: &str = "SELECT pg_catalog.count(*)::pg_catalog.text FROM pg_catalog.pg_locks \
     WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()";

/// What the probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `current_user`: the role in effect.
    pub current_user: String,
    /// `session_user`: the login.
    pub session_user: String,
    /// `pg_backend_pid()`.
    pub pid: String,
    /// `pid/transaction_timestamp()`: identifies the transaction and its backend. Only
    /// within a transaction is the backend pgward's own: behind a pooler in transaction
    /// mode each transaction may get another one, which is normal.
    pub xact_start: String,
    /// `transaction_read_only` is on.
    pub read_only: bool,
    /// The transaction id, once the transaction has written something.
    pub xid: Option<String>,
    /// `standard_conforming_strings` is on and the client encoding is UTF8, or SQL_ASCII
    /// (which pgward sets in a SQL_ASCII database, see [`crate::conn::connect`]; it
    /// converts nothing either way): the quoting rules pgward's splitter and its own
    /// generated SQL assume.
    pub quoting_intact: bool,
    /// `application_name`.
    pub application_name: String,
    /// statement_timeout, lock_timeout and idle_in_transaction_session_timeout in
    /// milliseconds, as the server reads them.
    pub timeouts: Timeouts,
}

/// The three timeouts pgward sets for every transaction, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// statement_timeout.
    pub statement: i64,
    /// lock_timeout.
    pub lock: i64,
    /// idle_in_transaction_session_timeout.
    pub idle: i64,
}

/// Runs the probe.
pub async fn probe(client: &Client) -> Result<Identity, tokio_postgres::Error> {
    let messages = client.simple_query(PROBE).await?;
    let seen = identity(rows(&messages).next());
    Ok(seen)
}

/// Runs `before` (statements that return no rows: a `BEGIN …; SET LOCAL …` batch), then
/// the probe, in one simple query. An error in `before` skips the probe and is returned.
pub async fn probe_after(client: &Client, before: &str) -> Result<Identity, tokio_postgres::Error> {
    let messages = client.simple_query(&format!("{before}; {PROBE}")).await?;
    let seen = identity(rows(&messages).next());
    Ok(seen)
}

/// Runs the probe, then `end` (a ROLLBACK), then counts the session-level advisory locks
/// left, in one simple query: what the probe saw and the count.
pub async fn probe_then_end(
    client: &Client,
    end: &str,
) -> Result<(Identity, u64), tokio_postgres::Error> {
    let messages = client
        .simple_query(&format!("{PROBE}; {end}; {ADVISORY}"))
        .await?;
    let mut rows = rows(&messages);
    let seen = identity(rows.next());
    let held = rows
        .next()
        .and_then(|r| r.get(0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((seen, held))
}

/// Runs `end` (a ROLLBACK), then counts the session-level advisory locks left, in one
/// simple query.
pub async fn end_then_count(client: &Client, end: &str) -> Result<u64, tokio_postgres::Error> {
    let messages = client.simple_query(&format!("{end}; {ADVISORY}")).await?;
    let held = rows(&messages)
        .next()
        .and_then(|r| r.get(0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(held)
}

/// The rows of a simple query's answer, in order.
fn rows(messages: &[SimpleQueryMessage]) -> impl Iterator<Item = &tokio_postgres::SimpleQueryRow> {
    messages.iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    })
}

/// What the probe's row says; a missing row or value never matches what pgward expects.
fn identity(row: Option<&tokio_postgres::SimpleQueryRow>) -> Identity {
    let get = |i: usize| row.and_then(|r| r.get(i)).map(str::to_string);
    Identity {
        current_user: get(0).unwrap_or_default(),
        session_user: get(1).unwrap_or_default(),
        pid: get(2).unwrap_or_default(),
        xact_start: format!(
            "{}/{}",
            get(2).unwrap_or_default(),
            get(3).unwrap_or_default()
        ),
        read_only: get(4).as_deref() == Some("on"),
        xid: get(5),
        quoting_intact: get(6).as_deref() == Some("on")
            && matches!(get(7).as_deref(), Some("UTF8" | "SQL_ASCII")),
        application_name: get(8).unwrap_or_default(),
        // An unreadable value is -1, which never matches what pgward set.
        timeouts: Timeouts {
            statement: get(9).and_then(|v| v.parse().ok()).unwrap_or(-1),
            lock: get(10).and_then(|v| v.parse().ok()).unwrap_or(-1),
            idle: get(11).and_then(|v| v.parse().ok()).unwrap_or(-1),
        },
    }
}

/// How many session-level advisory locks this backend holds. Meaningful only between
/// transactions.
pub async fn advisory_locks(client: &Client) -> Result<u64, tokio_postgres::Error> {
    let messages = client.simple_query(ADVISORY).await?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .unwrap_or(0))
}

/// What the probe must see, and what it saw instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The role pgward set.
    pub role: String,
    /// The login.
    pub login: String,
    /// The transaction and its backend, once known.
    pub xact_start: Option<String>,
    /// Whether the transaction must be read-only.
    pub read_only: bool,
    /// The application_name pgward set (for the session, or for the transaction).
    pub application_name: String,
    /// The timeouts pgward set for the transaction; `None` outside one.
    pub timeouts: Option<Timeouts>,
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
        if let Some(start) = &self.xact_start {
            if &seen.xact_start != start {
                return Some(format!(
                    "transaction or backend changed (backend/start {}, expected {start})",
                    seen.xact_start
                ));
            }
        }
        // pgward sets standard_conforming_strings in its own transactions; outside one
        // the server's default stands.
        if !seen.quoting_intact && self.timeouts.is_some() {
            return Some(
                "standard_conforming_strings or client_encoding changed: pgward's quoting rules no longer hold"
                    .into(),
            );
        }
        if self.read_only && !seen.read_only {
            return Some("transaction is no longer read-only".into());
        }
        if seen.application_name != self.application_name {
            return Some(format!(
                "application_name is {:?}, pgward set {:?}",
                seen.application_name, self.application_name
            ));
        }
        if let Some(set) = &self.timeouts {
            let pairs = [
                ("statement_timeout", seen.timeouts.statement, set.statement),
                ("lock_timeout", seen.timeouts.lock, set.lock),
                (
                    "idle_in_transaction_session_timeout",
                    seen.timeouts.idle,
                    set.idle,
                ),
            ];
            for (name, now, wanted) in pairs {
                if now != wanted {
                    return Some(format!("{name} is {now}ms, pgward set {wanted}ms"));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            current_user: "app_writer".into(),
            session_user: "ops".into(),
            pid: "42".into(),
            xact_start: "1.5".into(),
            read_only: false,
            xid: None,
            quoting_intact: true,
            application_name: "pgward author=a ticket=T-1".into(),
            timeouts: Timeouts {
                statement: 30_000,
                lock: 5_000,
                idle: 600_000,
            },
        }
    }

    fn expected() -> Expected {
        Expected {
            role: "app_writer".into(),
            login: "ops".into(),
            xact_start: Some("1.5".into()),
            read_only: false,
            application_name: "pgward author=a ticket=T-1".into(),
            timeouts: Some(Timeouts {
                statement: 30_000,
                lock: 5_000,
                idle: 600_000,
            }),
        }
    }

    #[test]
    fn what_pgward_set_matches() {
        assert_eq!(expected().mismatch(&identity()), None);
    }

    #[test]
    fn each_changed_setting_is_a_mismatch() {
        let mut seen = identity();
        seen.timeouts.statement = 0;
        let m = expected().mismatch(&seen).expect("mismatch");
        assert!(m.contains("statement_timeout is 0ms"), "{m}");
        let mut seen = identity();
        seen.timeouts.lock = -1;
        assert!(expected().mismatch(&seen).is_some());
        let mut seen = identity();
        seen.timeouts.idle = 0;
        let m = expected().mismatch(&seen).expect("mismatch");
        assert!(m.contains("idle_in_transaction_session_timeout"), "{m}");
        let mut seen = identity();
        seen.application_name = "pgward author=b ticket=T-1".into();
        let m = expected().mismatch(&seen).expect("mismatch");
        assert!(m.contains("application_name"), "{m}");
    }

    #[test]
    fn timeouts_are_not_checked_outside_a_transaction() {
        let mut seen = identity();
        seen.timeouts = Timeouts::default();
        let mut e = expected();
        e.timeouts = None;
        assert_eq!(e.mismatch(&seen), None);
    }

    #[test]
    fn a_read_only_transaction_must_stay_read_only() {
        let mut e = expected();
        e.read_only = true;
        let m = e.mismatch(&identity()).expect("mismatch");
        assert!(m.contains("read-only"), "{m}");
    }
}
