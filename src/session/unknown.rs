//! A COMMIT whose outcome is unknown: the connection failed after COMMIT was sent, so
//! the server may have committed, rolled back, or still be working. Guessing either way
//! is a lie one time in some, so pgward asks: it reconnects with the same parameters and
//! reads `txid_status(xid)` for the transaction id the probe saw before COMMIT, and
//! reports exactly that, each answer with its own exit code.
//!
//! A transaction whose client vanished before its COMMIT arrived is "in progress" until
//! its backend notices and rolls it back, which takes a moment: pgward asks again for a
//! few seconds before it reports "in progress".

use std::time::{Duration, Instant};

use crate::conn;

use super::outcome::CommitFate;
use super::{Outcome, Session};

/// How long reconnecting may take in all (a server that restarts after a crash needs a
/// few seconds).
const RECONNECT_FOR: Duration = Duration::from_secs(30);
/// How long one connection attempt may take.
const ATTEMPT: Duration = Duration::from_secs(10);
/// How long an "in progress" answer is asked again before it is reported.
const SETTLE_FOR: Duration = Duration::from_secs(3);
/// The pause between attempts and between questions.
const PAUSE: Duration = Duration::from_millis(250);

impl Session {
    /// Reconnects, asks the server what became of transaction `xid`, and says so.
    /// Ctrl-C stops asking (the outcome then stays unknown).
    pub(super) async fn resolve_unknown(&mut self, xid: &str) -> Outcome {
        let asked = tokio::select! {
            fate = self.ask_fate(xid) => fate,
            _ = tokio::signal::ctrl_c() => Err("interrupted by Ctrl-C".to_string()),
        };
        let check = format!("SELECT pg_catalog.txid_status({xid});");
        let fate = match asked {
            Ok(CommitFate::Committed) => {
                self.say_warn(&format!(
                    "COMMIT outcome: the server reports transaction {xid} COMMITTED"
                ));
                CommitFate::Committed
            }
            Ok(CommitFate::RolledBack) => {
                self.say_warn(&format!(
                    "COMMIT outcome: the server reports transaction {xid} ROLLED BACK: nothing was committed"
                ));
                CommitFate::RolledBack
            }
            Ok(CommitFate::InProgress) => {
                self.say_warn(&format!(
                    "COMMIT outcome: the server reports transaction {xid} still IN PROGRESS: it has neither committed nor rolled back yet"
                ));
                self.say_hint(&format!(
                    "its backend may still be finishing the COMMIT, or has not yet noticed the lost connection (it then rolls back); ask again with {check}"
                ));
                CommitFate::InProgress
            }
            Ok(CommitFate::Unknown) => {
                self.say_error(&format!(
                    "COMMIT outcome UNKNOWN: the server no longer knows transaction {xid}"
                ));
                self.say_hint(&format!(
                    "check the data before doing anything else; {check}"
                ));
                CommitFate::Unknown
            }
            Err(why) => {
                self.say_error(&format!(
                    "COMMIT outcome UNKNOWN: pgward could not ask the server ({why})"
                ));
                self.say_hint(&format!(
                    "once the server is reachable, ask it with {check} before doing anything else"
                ));
                CommitFate::Unknown
            }
        };
        Outcome::CommitLost(fate)
    }

    /// A new connection with the session's parameters, and the server's answer.
    async fn ask_fate(&mut self, xid: &str) -> Result<CommitFate, String> {
        let params = self.conn.params.clone();
        let start = Instant::now();
        let again = loop {
            let attempt =
                tokio::time::timeout(ATTEMPT, conn::reconnect(&params, "pgward (commit outcome)"))
                    .await;
            match attempt {
                Ok(Ok(c)) => break c,
                // Only the server's or the network's refusal can pass; the rest is final.
                Ok(Err(e)) if !matches!(e, conn::ConnError::Connect { .. }) => {
                    return Err(e.to_string())
                }
                Ok(Err(e)) if start.elapsed() >= RECONNECT_FOR => return Err(e.to_string()),
                Err(_) if start.elapsed() >= RECONNECT_FOR => {
                    return Err(format!("no connection within {RECONNECT_FOR:?}"))
                }
                _ => tokio::time::sleep(PAUSE).await,
            }
        };
        let xid: i64 = xid
            .parse()
            .map_err(|_| format!("the transaction id {xid:?} is not a number"))?;
        let start = Instant::now();
        loop {
            let status: Option<String> = again
                .client
                // Unnamed: a pooled backend keeps no statement of pgward's.
                .query_typed(
                    "SELECT pg_catalog.txid_status($1::pg_catalog.int8)::pg_catalog.text",
                    &[(&xid, tokio_postgres::types::Type::INT8)],
                )
                .await
                .and_then(|rows| match rows.first() {
                    Some(row) => row.try_get(0),
                    None => Ok(None),
                })
                .map_err(|e| crate::render::error::one_line(&e))?;
            let fate = fate_of(status.as_deref());
            if fate != CommitFate::InProgress || start.elapsed() >= SETTLE_FOR {
                return Ok(fate);
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
}

/// `txid_status`'s answer as a fate; NULL (too old to know) is unknown.
fn fate_of(status: Option<&str>) -> CommitFate {
    match status {
        Some("committed") => CommitFate::Committed,
        Some("aborted") => CommitFate::RolledBack,
        Some("in progress") => CommitFate::InProgress,
        _ => CommitFate::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txid_status_answers() {
        assert_eq!(fate_of(Some("committed")), CommitFate::Committed);
        assert_eq!(fate_of(Some("aborted")), CommitFate::RolledBack);
        assert_eq!(fate_of(Some("in progress")), CommitFate::InProgress);
        assert_eq!(fate_of(None), CommitFate::Unknown);
        assert_eq!(fate_of(Some("something new")), CommitFate::Unknown);
    }
}
