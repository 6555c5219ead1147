//! The session's hooks into its log: one call per event (statement, preview, commit
//! intent and outcome, rollback, end), each a record of [`crate::audit`].
//!
//! Fail closed: while the log cannot be written, every write and every COMMIT is refused
//! with the reason, and reads go on marked unlogged. The `commit_intent` is fsynced
//! after the author confirmed and right before COMMIT is sent, so the only window in
//! which a log can lack a COMMIT's outcome is the COMMIT itself; `pgward log verify
//! --env` closes it with `txid_status`. Nothing here ever sees a password: the records
//! are built from the statements, the server's answers and the session's identity.

use std::path::Path;
use std::time::Instant;

use crate::audit::record::{Counts, Roles};
use crate::audit::session_log::new_session_id;
use crate::audit::{Body, LogTarget, SessionLog};
use crate::preview::statement::Report;
use crate::sql::Verdict;

use super::{CommitFate, OpenTx, Outcome, Session};

/// How long a preview excerpt in the log may be.
const EXCERPT_LINES: usize = 40;
const EXCERPT_BYTES: usize = 4096;

/// What the server answered to COMMIT.
pub(super) enum CommitAnswer<'a> {
    /// It committed.
    Committed,
    /// It refused; the transaction rolled back.
    Failed(&'a tokio_postgres::Error),
    /// No answer: the connection failed after COMMIT was sent.
    Unknown(&'a tokio_postgres::Error),
}

/// What the current statement did, gathered on the way for its record.
#[derive(Debug, Default)]
pub(super) struct Facts {
    class: Option<&'static str>,
    rows: Option<u64>,
    sqlstate: Option<String>,
    error: Option<String>,
    rule: Option<String>,
    preview: Option<Body>,
}

impl Session {
    /// Opens the session's log and writes `session_start`. When it cannot be opened the
    /// session runs unlogged, and says so at once.
    pub fn open_log(&mut self, target: &LogTarget) {
        let settings = &self.settings;
        let start = |operator_key: &str| Body::SessionStart {
            session_id: new_session_id(),
            author: settings.author.clone(),
            ticket: settings.ticket.clone(),
            env: settings.env.name.clone(),
            server: self.server.clone(),
            database: settings.conn.dbname.clone(),
            login: self.login.clone(),
            roles: Roles {
                write: settings.env.write_role.clone(),
                read: settings.env.read_role.clone(),
            },
            version: env!("CARGO_PKG_VERSION").to_string(),
            host: whoami::hostname().unwrap_or_else(|_| "unknown".into()),
            operator_key: operator_key.to_string(),
            // One line per risk the environment accepts, as the banner showed it.
            accepted_risks: self.accepted.clone(),
        };
        self.log = SessionLog::open(target, start);
        if let Some(reason) = self.log.unlogged_reason().map(str::to_string) {
            self.say_warn(&format!(
                "UNLOGGED SESSION: {reason}. Writes are refused; reads go on, unlogged."
            ));
        }
    }

    /// The log file, when the session is logged.
    pub fn log_path(&self) -> Option<&Path> {
        self.log.path()
    }

    /// Why the session is unlogged, if it is.
    pub fn unlogged_reason(&self) -> Option<&str> {
        self.log.unlogged_reason()
    }

    /// Starts gathering the facts of a new statement.
    pub(super) fn log_begin_statement(&mut self) -> Instant {
        self.facts = Facts::default();
        Instant::now()
    }

    /// How the guard classified the statement.
    pub(super) fn log_class(&mut self, verdict: &Verdict) {
        self.facts.class = Some(match verdict {
            Verdict::Read => "read",
            Verdict::Write { .. } => "write",
            Verdict::Ddl => "ddl",
            Verdict::NonTransactional { .. } => "non_transactional",
            Verdict::Transaction(_) => "transaction",
            Verdict::Session => "session",
            Verdict::Refused(r) => {
                self.facts.rule = Some(r.rule.name().to_string());
                self.facts.error = Some(r.to_string());
                "refused"
            }
        });
    }

    /// The rows a statement returned or changed (its command tag's count).
    pub(super) fn log_rows(&mut self, rows: Option<u64>) {
        self.facts.rows = rows;
    }

    /// A server error of the statement.
    pub(super) fn log_error(&mut self, e: &tokio_postgres::Error) {
        if self.facts.sqlstate.is_none() {
            self.facts.sqlstate = e.code().map(|c| c.code().to_string());
            self.facts.error = Some(crate::render::error::one_line(e));
        }
    }

    /// As [`Session::log_error`], for a failure pgward found (no SQLSTATE).
    pub(super) fn log_client_error(&mut self, error: String) {
        if self.facts.sqlstate.is_none() && self.facts.error.is_none() {
            self.facts.error = Some(error);
        }
    }

    /// Refuses a write while the log cannot be written. `Some(outcome)` when refused.
    pub(super) fn log_gate(&mut self) -> Option<Outcome> {
        let reason = self.log.unlogged_reason()?.to_string();
        self.facts.error = Some(format!("unlogged: {reason}"));
        self.say_error(&format!(
            "refused: the session log cannot be written ({reason}), and no write runs unlogged"
        ));
        self.say_hint("fix the log directory or the operator key (pgward keygen), then start pgward again; reads still work");
        Some(Outcome::Refused)
    }

    /// What a write did, recorded right after its statement.
    /// `opaque`, the line that marked the preview opaque, opens the excerpt.
    pub(super) fn log_preview(
        &mut self,
        report: &Report,
        image_digest: Option<&[u8; 32]>,
        opaque: Option<&str>,
    ) {
        let rendered = match opaque {
            Some(line) => format!("{line}\n{}", report.render(false)),
            None => report.render(false).to_string(),
        };
        let mut excerpt = String::new();
        let mut truncated = false;
        for (i, line) in rendered.lines().enumerate() {
            if i == EXCERPT_LINES || excerpt.len() + line.len() + 1 > EXCERPT_BYTES {
                truncated = true;
                break;
            }
            excerpt.push_str(line);
            excerpt.push('\n');
        }
        self.facts.preview = Some(Body::Preview {
            counts: counts(
                report
                    .delta
                    .iter()
                    .map(|c| (c.table.clone(), c.inserted, c.updated, c.deleted)),
            ),
            image_digest: image_digest.map(crate::preview::digest::hex),
            excerpt,
            excerpt_truncated: truncated,
        });
    }

    /// The statement's record (and its preview's), once it ran, failed or was refused.
    pub(super) fn log_statement(&mut self, text: &str, outcome: Outcome, started: Instant) {
        if self.log.unlogged_reason().is_some() {
            return;
        }
        let facts = std::mem::take(&mut self.facts);
        let body = Body::Statement {
            text: loggable(text),
            class: facts.class.unwrap_or("unclassified").to_string(),
            outcome: match outcome {
                Outcome::Ok | Outcome::CommittedLocally => "ok",
                Outcome::Refused => "refused",
                Outcome::SqlError | Outcome::ConnectionLost | Outcome::CommitLost(_) => "error",
            }
            .to_string(),
            duration_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            rows: facts.rows,
            sqlstate: facts.sqlstate,
            error: facts.error,
            rule: facts.rule,
        };
        if self.log_record(body) {
            if let Some(preview) = facts.preview {
                self.log_record(preview);
            }
        }
    }

    /// Writes and fsyncs `commit_intent` before COMMIT is sent; returns the change
    /// digest it recorded. When it cannot be written COMMIT is refused (the `Err`) and
    /// the transaction stays open.
    pub(super) fn log_commit_intent(&mut self, tx: &OpenTx, txid: &str) -> Result<String, Outcome> {
        let totals = self.changes.totals();
        let change_digest = self.change_set_digest(tx, txid);
        let body = Body::CommitIntent {
            txid: txid.to_string(),
            change_digest: change_digest.clone(),
            statements: tx.statements.clone(),
            counts: counts(
                totals
                    .into_iter()
                    .map(|t| (t.table, t.inserted, t.updated, t.deleted)),
            ),
            undo: Some(super::undo::availability(&self.changes)),
        };
        if self.log_record(body) {
            return Ok(change_digest);
        }
        let reason = self.log.unlogged_reason().unwrap_or("unknown").to_string();
        self.facts.error = Some(format!("unlogged: {reason}"));
        self.say_error(&format!(
            "COMMIT refused: the session log cannot record it ({reason}); the transaction is still open, nothing was committed"
        ));
        self.say_hint("ROLLBACK discards it");
        Err(Outcome::Refused)
    }

    /// What the server answered to COMMIT of `txid`, whose intent recorded `digest`.
    pub(super) fn log_commit_outcome(
        &mut self,
        txid: &str,
        digest: &str,
        answer: CommitAnswer<'_>,
    ) {
        let body = match answer {
            CommitAnswer::Committed => Body::Commit {
                txid: txid.to_string(),
                change_digest: digest.to_string(),
            },
            CommitAnswer::Failed(e) => Body::CommitFailed {
                txid: txid.to_string(),
                sqlstate: e.code().map(|c| c.code().to_string()),
                error: crate::render::error::one_line(e),
            },
            CommitAnswer::Unknown(e) => Body::CommitUnknown {
                txid: txid.to_string(),
                error: crate::render::error::one_line(e),
            },
        };
        self.log_record(body);
    }

    /// After a `commit_unknown`, what the server said on a new connection (`txid_status`):
    /// a known fate closes the intent; an unknown one leaves it open for `log verify --env`.
    pub(super) fn log_commit_resolved(&mut self, txid: &str, digest: &str, fate: CommitFate) {
        let body = match fate {
            CommitFate::Committed => Body::Commit {
                txid: txid.to_string(),
                change_digest: digest.to_string(),
            },
            CommitFate::RolledBack => Body::CommitFailed {
                txid: txid.to_string(),
                sqlstate: None,
                error: "the connection failed after COMMIT was sent; txid_status on a new connection: aborted".into(),
            },
            CommitFate::InProgress | CommitFate::Unknown => return,
        };
        self.log_record(body);
    }

    /// The guarded transaction was rolled back, for `reason`.
    pub(super) fn log_rollback(&mut self, reason: &str) {
        self.log_record(Body::Rollback {
            reason: reason.to_string(),
        });
    }

    /// The session ends.
    pub(super) fn log_end(&mut self, reason: &str) {
        self.log_record(Body::SessionEnd {
            reason: reason.to_string(),
        });
    }

    /// Appends `body`; false when the session is unlogged. The moment the log fails the
    /// session says so, once.
    pub(super) fn log_record(&mut self, body: Body) -> bool {
        let was_logged = self.log.unlogged_reason().is_none();
        match self.log.record(body) {
            Ok(_) => true,
            Err(reason) => {
                if was_logged {
                    self.say_warn(&format!(
                        "UNLOGGED SESSION from now on: {reason}. Writes and COMMIT are refused; reads go on, unlogged."
                    ));
                }
                false
            }
        }
    }
}

/// The text of a statement as it may be logged: role statements can carry a password
/// (`CREATE ROLE … PASSWORD '…'`), so their constants are replaced by `$n` placeholders
/// (PostgreSQL's own normalisation); everything else is logged as typed.
fn loggable(text: &str) -> String {
    use pg_query::NodeEnum;
    let role_statement =
        pg_query::parse(text, pg_query::ParserOptions::DEFAULT).is_ok_and(|parsed| {
            parsed.protobuf.stmts.iter().any(|s| {
                matches!(
                    s.stmt.as_ref().and_then(|n| n.node.as_ref()),
                    Some(NodeEnum::CreateRoleStmt(_) | NodeEnum::AlterRoleStmt(_))
                )
            })
        });
    if !role_statement {
        return text.to_string();
    }
    pg_query::normalize(text)
        .unwrap_or_else(|_| "(a role statement, withheld: it may hold a password)".into())
}

fn counts(rows: impl Iterator<Item = (String, i64, i64, i64)>) -> Vec<Counts> {
    rows.map(|(table, inserted, updated, deleted)| Counts {
        table,
        inserted,
        updated,
        deleted,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_passwords_are_not_logged() {
        let logged = super::loggable("CREATE ROLE x LOGIN PASSWORD 'hunter2'");
        assert!(!logged.contains("hunter2"), "{logged}");
        let logged = super::loggable("alter user x with password 'hunter2'");
        assert!(!logged.contains("hunter2"), "{logged}");
        assert_eq!(super::loggable("select 'hunter2'"), "select 'hunter2'");
    }
}
