//! The implicit savepoint around each statement in the open guarded transaction, like
//! psql's `ON_ERROR_ROLLBACK=interactive`: in the interactive shell, a statement that
//! fails, is cancelled, or whose row count is not confirmed is rolled back to its own
//! savepoint, and the transaction stays open with its earlier work. The change set
//! follows the savepoint exactly (the same marks as a user's `ROLLBACK TO`), with the
//! counts re-read from the server. Scripts keep ON_ERROR_STOP: no implicit savepoint,
//! and the first error ends the transaction.

use crate::preview::counts;

use super::{Outcome, Session, TxState};

/// pgward's name for the implicit savepoint (user savepoints named `pgward_*` are refused).
pub(super) const SAVEPOINT: &str = "pgward_statement";

/// The statement started under the implicit savepoint: how many statements the
/// transaction had run before it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Started {
    statements: usize,
}

impl Session {
    /// Opens the implicit savepoint before a statement runs in the open transaction.
    /// `Ok(None)` when none applies (scripts, no transaction open, inside `\preview`,
    /// which has its own); `Err(outcome)` when it could not be set.
    pub(super) async fn begin_statement(&mut self, text: &str) -> Result<Option<Started>, Outcome> {
        if !self.error_rollback || self.previewing {
            return Ok(None);
        }
        let TxState::Open(tx) = &self.state else {
            return Ok(None);
        };
        let statements = tx.statements.len();
        let sql = format!("SAVEPOINT {SAVEPOINT}");
        if let Err(e) = self.conn.client.batch_execute(&sql).await {
            return Err(self.failed(e, text).await);
        }
        if let TxState::Open(tx) = &mut self.state {
            // A failure then leaves the transaction failed (recovered in `end_statement`)
            // instead of rolling it back.
            tx.savepoints.push(SAVEPOINT.into());
        }
        self.changes.savepoint(SAVEPOINT);
        Ok(Some(Started { statements }))
    }

    /// Settles the implicit savepoint after the statement ended with `outcome`: released
    /// when it succeeded, rolled back to (and released) when it did not, the change set
    /// following it. The transaction then stays open.
    pub(super) async fn end_statement(
        &mut self,
        started: Option<Started>,
        outcome: Outcome,
    ) -> Outcome {
        let Some(started) = started else {
            return outcome;
        };
        let (tx, failed) = match std::mem::replace(&mut self.state, TxState::Idle) {
            TxState::Open(tx) => (tx, outcome != Outcome::Ok),
            TxState::Failed(tx) => (tx, true),
            // The guard already rolled everything back and said so.
            TxState::Idle => return outcome,
        };
        self.state = TxState::Open(tx);
        if !failed {
            let release = format!("RELEASE SAVEPOINT {SAVEPOINT}");
            let released = self.conn.client.batch_execute(&release).await;
            self.forget_statement_savepoint();
            self.changes.release(SAVEPOINT);
            return match released {
                Ok(()) => outcome,
                Err(e) => self.failed(e, "").await,
            };
        }
        let undo = format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}");
        let undone = self.conn.client.batch_execute(&undo).await;
        self.forget_statement_savepoint();
        if let Err(e) = undone {
            self.changes.release(SAVEPOINT);
            // The savepoint cannot be used: the transaction fails as it would without
            // it (`=!>` with user savepoints, rolled back otherwise).
            if let TxState::Open(tx) = std::mem::replace(&mut self.state, TxState::Idle) {
                self.state = TxState::Failed(tx);
            }
            self.failed(e, "").await;
            return outcome;
        }
        if let TxState::Open(tx) = &mut self.state {
            tx.statements.truncate(started.statements);
        }
        // The server still counts the undone work: measured now, it leaves the counts,
        // as on a user's ROLLBACK TO.
        match counts::since(&self.conn.client, &self.changes.baseline).await {
            Ok(now) => self.changes.rollback_to(SAVEPOINT, now),
            Err(e) => return self.counters_failed(&e).await,
        }
        self.changes.release(SAVEPOINT);
        // ROLLBACK TO also undoes settings the statement made: the transaction must
        // still be the one pgward opened.
        if let Some(ended) = self.check_open().await {
            return ended;
        }
        let writes = self.changes.writes;
        let plural = if writes == 1 { "" } else { "s" };
        self.say_warn(&format!(
            "statement undone (ROLLBACK TO its savepoint): the transaction is still open with its {writes} earlier write{plural}"
        ));
        outcome
    }

    /// Whether the running statement is under the implicit savepoint, so that a refusal
    /// undoes only it.
    pub(super) fn under_statement_savepoint(&self) -> bool {
        matches!(&self.state, TxState::Open(tx) if tx.savepoints.last().map(String::as_str) == Some(SAVEPOINT))
    }

    fn forget_statement_savepoint(&mut self) {
        if let TxState::Open(tx) | TxState::Failed(tx) = &mut self.state {
            if let Some(i) = tx.savepoints.iter().rposition(|s| s == SAVEPOINT) {
                tx.savepoints.truncate(i);
            }
        }
    }
}
