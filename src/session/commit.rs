//! The intercepted COMMIT, step by step:
//!
//! 1. the probe: still pgward's transaction, and its transaction id (none: it wrote
//!    nothing, so it ends with ROLLBACK);
//! 2. deferred work fires now: `SET CONSTRAINTS ALL IMMEDIATE` inside the transaction,
//!    so deferred constraint triggers and deferred foreign-key checks run before the
//!    summary, their rows are in its counts and digest, and their failure fails the
//!    transaction like any statement's;
//! 3. the change-set summary;
//! 4. a second person's approval where the environment has an approval service
//!    (`approve.rs`), else the author's confirmation; after either the connection is
//!    checked before anything is claimed about the transaction (the backend may have
//!    died meanwhile): by the probe of step 5 when the answer was yes, by its own
//!    probe when it was no;
//! 5. the change set is still the one summarised: deferred work fired again (with the
//!    probe and the counters, in one statement) must change no count (a trigger that
//!    re-deferred constraints would otherwise act at COMMIT, unseen), and an approved
//!    digest must still be the digest, over those counters;
//! 6. COMMIT, sent on the cancellable path with a live line, because no timeout covers
//!    commit processing (a synchronous standby that never answers);
//! 7. the report of exactly what the server said: committed; committed locally with
//!    replication unconfirmed; failed and rolled back; or, when the connection failed
//!    after COMMIT was sent, unknown until the server is asked (`unknown.rs`).

use tokio_postgres::error::{DbError, SqlState};

use crate::preview::counts;
use crate::preview::statement::{counts_table, difference};
use crate::render::{Paint, Text};

use super::log::CommitAnswer;
use super::wait::{self, Line};
use super::{probe, Outcome, Session, TxState};

/// What fires deferred constraints and triggers inside the transaction.
const FIRE_DEFERRED: &str = "SET CONSTRAINTS ALL IMMEDIATE";

/// How the server answered COMMIT.
enum CommitReply {
    /// It committed. `warnings` are what it said while committing.
    Committed {
        cancel_sent: bool,
        warnings: Vec<DbError>,
    },
    /// It refused, and the transaction is rolled back; the connection is alive.
    Refused(tokio_postgres::Error),
    /// The connection failed after COMMIT was sent: the outcome is unknown.
    Lost(tokio_postgres::Error),
}

impl Session {
    /// The intercepted COMMIT (or END).
    pub(super) async fn commit(&mut self) -> Outcome {
        match self.commit_steps().await {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    /// The steps; `Err` ends the COMMIT early with that outcome.
    async fn commit_steps(&mut self) -> Result<Outcome, Outcome> {
        let tx = match &self.state {
            TxState::Failed(_) => {
                let _ = self.rollback().await;
                self.say_error(
                    "the transaction had failed, so COMMIT rolled it back: nothing was committed",
                );
                self.io.result_tag("ROLLBACK");
                return Err(Outcome::SqlError);
            }
            TxState::Open(tx) => tx.clone(),
            TxState::Idle => return Ok(Outcome::Ok),
        };
        let Some(xid) = self.commit_probe(&tx).await? else {
            return self.close_unwritten().await;
        };
        // Under the implicit savepoint in the REPL: a deferred check that fails undoes only
        // the firing, and the transaction stays open to be fixed.
        let started = self.begin_statement(FIRE_DEFERRED).await?;
        let fired = match self.fire_deferred().await {
            Ok(()) => Outcome::Ok,
            Err(outcome) => outcome,
        };
        match self.end_statement(started, fired).await {
            Outcome::Ok => {}
            outcome => return Err(outcome),
        }
        self.generate_undo().await;
        let summary = self.change_summary(&tx, &xid);
        self.say_err(&summary);
        if self.dry_run {
            let _ = self.rollback().await;
            self.say_warn("dry run: the transaction was rolled back, nothing was committed");
            return Ok(Outcome::Ok);
        }
        // Run once: what the ledger says goes first in what the reviewer is shown.
        let replay = self.replay_check();
        let undo = self.undo_commit_check().await?;
        let summary = format!("{replay}{undo}{}{summary}", self.ledger_check(&tx).await?);
        let approved = self.authorize_commit(&tx, &xid, &summary).await?;
        self.still_summarised().await?;
        if let Some(digest) = approved {
            self.still_approved(&xid, &digest).await?;
        }
        let digest = self.change_set_digest(&tx, &xid);
        let in_ledger = self.ledger_insert(&xid, &digest).await?;
        let digest = match self.log_commit_intent(&tx, &xid) {
            Ok(digest) => digest,
            Err(outcome) => {
                self.ledger_withdraw(in_ledger).await;
                return Err(outcome);
            }
        };
        self.ledger_done();
        let reply = self.send_commit().await;
        self.log_commit_outcome(
            &xid,
            &digest,
            match &reply {
                CommitReply::Committed { .. } => CommitAnswer::Committed,
                CommitReply::Refused(e) => CommitAnswer::Failed(e),
                CommitReply::Lost(e) => CommitAnswer::Unknown(e),
            },
        );
        let outcome = self.commit_reported(reply, &xid).await;
        if let Outcome::CommitLost(fate) = outcome {
            self.log_commit_resolved(&xid, &digest, fate);
        }
        Ok(outcome)
    }

    /// Probes the transaction; its id, or `None` when it never wrote.
    async fn commit_probe(&mut self, tx: &super::OpenTx) -> Result<Option<String>, Outcome> {
        let expected = self.expected(&tx.role, Some(tx.xact_start.clone()), false);
        let seen = match probe::probe(&self.conn.client).await {
            Ok(seen) => seen,
            Err(e) => return Err(self.failed(e, "").await),
        };
        if let Some(m) = expected.mismatch(&seen) {
            return Err(self.betrayed(&m).await);
        }
        Ok(seen.xid)
    }

    /// No transaction id was ever assigned: the transaction wrote nothing, so ending it
    /// with ROLLBACK loses nothing, and anything queued for COMMIT (a NOTIFY from a
    /// function, say) is not delivered unapproved.
    async fn close_unwritten(&mut self) -> Result<Outcome, Outcome> {
        match self.rollback().await {
            Ok(()) => {
                self.io.result_tag("ROLLBACK");
                self.say_note(
                    "nothing was written, so the transaction was closed without a COMMIT",
                );
                Ok(Outcome::Ok)
            }
            Err(e) => Err(self.failed(e, "").await),
        }
    }

    /// Fires deferred constraints and triggers, then reads the counts from the server
    /// again. What the deferred work changed is shown and joins the change set (counts
    /// only: no rewrite can capture a trigger's rows).
    async fn fire_deferred(&mut self) -> Result<(), Outcome> {
        let delta = self.run_deferred().await?;
        if !delta.is_empty() {
            let mut shown = Text::painted(
                format!("Deferred constraint triggers fired now ({FIRE_DEFERRED}) and changed rows (counts only, their rows are not captured):"),
                Paint::Warn,
            );
            shown.push("\n");
            shown.push(counts_table(&delta));
            self.io.out(&shown);
            self.changes.images.add(None);
            self.changes.writes += 1;
        }
        Ok(())
    }

    /// Runs [`FIRE_DEFERRED`] in the transaction, probes, and returns the per-table rows
    /// it changed, which are then part of the cumulative counts. The three ride in one
    /// simple query (one statement in the server log); a failure of any of them, or a
    /// probe that sees something pgward did not set up, ends the COMMIT unsent.
    async fn run_deferred(&mut self) -> Result<Vec<counts::TableCounts>, Outcome> {
        let TxState::Open(tx) = &self.state else {
            return Err(self.aborted());
        };
        let expected = self.expected(&tx.role, Some(tx.xact_start.clone()), false);
        let client = &self.conn.client;
        let base = &self.changes.baseline;
        let sql = counts::since_sql(base);
        let fired = wait::cancellable_with_line(
            client,
            &self.conn.tls,
            self.conn
                .user_statement(probe::probe_between(client, FIRE_DEFERRED, &sql, |rows| {
                    counts::since_of(base, rows)
                })),
            Some(Line {
                io: &mut self.io,
                what: "deferred constraints and triggers",
            }),
        )
        .await;
        let (seen, now) = match fired.result {
            Ok(fired) => fired,
            Err(e) => {
                let outcome = self.failed(e, "").await;
                if outcome != Outcome::ConnectionLost {
                    self.say_error(
                        "COMMIT was not sent: a deferred constraint or trigger failed when pgward fired them before the summary",
                    );
                }
                return Err(outcome);
            }
        };
        if let Some(m) = expected.mismatch(&seen) {
            return Err(self.betrayed(&m).await);
        }
        let now = match now {
            Ok(now) => now,
            Err(e) => return Err(self.counters_failed(&e).await),
        };
        let delta = difference(&now, &self.changes.cumulative);
        self.changes.cumulative = now;
        Ok(delta)
    }

    /// Asks the author to type the environment name. Whatever the answer, the
    /// connection is checked before anything is said about the transaction: the
    /// backend may have been terminated while the question was open.
    pub(super) async fn confirm_commit(&mut self) -> Result<(), Outcome> {
        let env = self.settings.env.name.clone();
        self.say_err("No second reviewer was involved: no approval service is configured for this environment, so only the author confirms this COMMIT.\n");
        self.conn.settle().await;
        let answer = self.confirm.ask(&format!(
            "Type the environment name ({env}) to COMMIT, anything else keeps the transaction open: "
        ));
        if answer.as_deref().map(str::trim) == Some(env.as_str()) {
            // Confirmed: the next step ([`Session::still_summarised`]) fires deferred work
            // again and probes in the same statement, before anything is claimed.
            return Ok(());
        }
        if let Some(outcome) = self.check_open().await {
            return Err(outcome);
        }
        self.say_error(match answer {
            None => "COMMIT not confirmed (no answer, or no terminal to answer at): the transaction is still open, nothing was committed",
            Some(_) => "COMMIT not confirmed: the transaction is still open, nothing was committed",
        });
        self.say_hint("ROLLBACK discards it; COMMIT asks again");
        Err(Outcome::Refused)
    }

    /// Fires deferred work once more: it must change nothing, or what would be
    /// committed is not what was summarised and confirmed.
    async fn still_summarised(&mut self) -> Result<(), Outcome> {
        let delta = self.run_deferred().await?;
        if delta.is_empty() {
            return Ok(());
        }
        self.changes.images.add(None);
        let table = counts_table(&delta);
        self.say_error(&format!(
            "COMMIT was not sent: deferred triggers changed rows after the summary was confirmed:\n{}",
            table.trim_end()
        ));
        self.say_error("the transaction is still open, nothing was committed");
        self.say_hint("COMMIT again shows the change set as it is now; ROLLBACK discards it");
        Err(Outcome::Refused)
    }

    /// Sends COMMIT on the cancellable path, with the live line while it waits.
    async fn send_commit(&mut self) -> CommitReply {
        self.flush_notices();
        let client = &self.conn.client;
        let waited = wait::cancellable_with_line(
            client,
            &self.conn.tls,
            self.conn.user_statement(client.batch_execute("COMMIT")),
            Some(Line {
                io: &mut self.io,
                what: "COMMIT",
            }),
        )
        .await;
        let mut warnings = Vec::new();
        while let Ok(n) = self.conn.notices.try_recv() {
            warnings.push(n);
        }
        match waited.result {
            Ok(()) => CommitReply::Committed {
                cancel_sent: waited.cancel_sent,
                warnings,
            },
            Err(e) if severed(&e) || self.conn.client.is_closed() => {
                self.show_notices(&warnings);
                CommitReply::Lost(e)
            }
            Err(e) => {
                self.show_notices(&warnings);
                CommitReply::Refused(e)
            }
        }
    }

    /// Says what the server answered, and settles the session.
    async fn commit_reported(&mut self, reply: CommitReply, xid: &str) -> Outcome {
        // Whatever the answer, this transaction is over on this connection.
        self.state = TxState::Idle;
        self.changes = super::Changes::default();
        match reply {
            CommitReply::Committed {
                cancel_sent,
                warnings,
            } => {
                self.created_committed();
                self.show_notices(&warnings);
                self.io.result_tag("COMMIT");
                self.release_advisory_locks().await;
                // The server answers a cancelled wait for a synchronous standby with a
                // plain WARNING (01000) and a successful COMMIT: the transaction
                // committed locally, and may not have reached the standby.
                if cancel_sent && warnings.iter().any(|w| *w.code() == SqlState::WARNING) {
                    self.say_warn(&format!(
                        "transaction {xid} committed locally, but replication was not confirmed: the wait for the synchronous standby was cancelled"
                    ));
                    self.say_hint(
                        "check the standby (pg_stat_replication) before relying on the change there",
                    );
                    return Outcome::CommittedLocally;
                }
                Outcome::Ok
            }
            CommitReply::Refused(e) => {
                let outcome = self.failed(e, "").await;
                self.say_error(
                    "COMMIT failed: the server rolled the transaction back; nothing was committed",
                );
                self.release_advisory_locks().await;
                outcome
            }
            CommitReply::Lost(e) => {
                self.show_server_reason(Some(&e));
                self.say_error(&format!(
                    "the connection failed after COMMIT was sent: the outcome of transaction {xid} is unknown; asking the server on a new connection"
                ));
                let outcome = self.resolve_unknown(xid).await;
                if let Outcome::CommitLost(fate) = outcome {
                    self.created_after_lost_commit(fate);
                }
                outcome
            }
        }
    }

    fn show_notices(&mut self, notices: &[DbError]) {
        for n in notices {
            let shown = crate::render::error::db_error(n, "");
            self.say_err(&shown);
        }
    }
}

/// True when the answer to COMMIT means the connection is gone: no answer from the
/// server at all (closed, an I/O error), or a FATAL or PANIC, which ends the backend.
fn severed(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_none() || fatal(e)
}

/// True when the server answered with a FATAL or PANIC: the backend is ending.
pub(super) fn fatal(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::Severity;
    e.as_db_error().is_some_and(|db| {
        matches!(
            db.parsed_severity(),
            Some(Severity::Fatal | Severity::Panic)
        )
    })
}
