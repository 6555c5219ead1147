//! `\preview SQL`: run one statement through the guard, show everything, and undo it.
//! With no transaction open, the transaction it opens is rolled back; inside an open
//! transaction it runs in a savepoint that is rolled back; the server still counts the
//! undone work, so it is measured and left out of the change set's counts.

use crate::preview::counts;
use crate::sql::{self, Verdict};

use super::{Outcome, Session, TxState};

const SAVEPOINT: &str = "pgward_preview";

impl Session {
    /// Runs `input` (exactly one statement), shows its preview, and undoes it.
    pub async fn preview(&mut self, input: &str) -> Outcome {
        let split = sql::split(&format!("{input}\n;"));
        let [piece] = split.pieces.as_slice() else {
            self.say_error("\\preview takes exactly one statement");
            return Outcome::Refused;
        };
        if split.rest.is_some() {
            self.say_error("\\preview takes exactly one complete statement");
            return Outcome::Refused;
        }
        let text = piece.text.clone();
        let options = self.settings.env.classify_options();
        let verdict = self.resolve(sql::analyze(&text, &options)).verdict;
        if let Verdict::Transaction(_) | Verdict::Read | Verdict::Session = verdict {
            self.say_error("\\preview takes a write (a read or setting has nothing to undo)");
            return Outcome::Refused;
        }
        match &self.state {
            TxState::Failed(_) => self.aborted(),
            TxState::Idle => {
                self.previewing = true;
                let outcome = self.run_piece(&text).await;
                self.previewing = false;
                self.flush_notices();
                if self.state.is_open() {
                    match self.rollback().await {
                        Ok(()) => self.say_warn("preview: rolled back, nothing was changed"),
                        Err(e) => return self.failed(e, "").await,
                    }
                }
                outcome
            }
            TxState::Open(tx) => {
                let statements = tx.statements.len();
                if let Err(e) = self
                    .conn
                    .client
                    .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
                    .await
                {
                    return self.failed(e, "").await;
                }
                if let TxState::Open(tx) = &mut self.state {
                    // An error inside the preview then leaves the transaction failed
                    // (recoverable below) instead of rolling it back.
                    tx.savepoints.push(SAVEPOINT.into());
                }
                self.changes.savepoint(SAVEPOINT);
                self.previewing = true;
                let outcome = self.run_piece(&text).await;
                self.previewing = false;
                self.flush_notices();
                let tx = match std::mem::replace(&mut self.state, TxState::Idle) {
                    TxState::Open(tx) | TxState::Failed(tx) => tx,
                    // The guard already rolled everything back and said so.
                    TxState::Idle => return outcome,
                };
                self.state = TxState::Open(tx);
                let undo =
                    format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}");
                if let Err(e) = self.conn.client.batch_execute(&undo).await {
                    return self.failed(e, "").await;
                }
                if let TxState::Open(tx) = &mut self.state {
                    tx.statements.truncate(statements);
                    if let Some(i) = tx.savepoints.iter().rposition(|s| s == SAVEPOINT) {
                        tx.savepoints.truncate(i);
                    }
                }
                // The same bookkeeping as a user's ROLLBACK TO: images, TRUNCATEs, spills
                // and schema lines of the undone work leave the change set.
                match counts::since(&self.conn.client, &self.changes.baseline).await {
                    Ok(now) => self.changes.rollback_to(SAVEPOINT, now),
                    Err(e) => return self.counters_failed(&e).await,
                }
                self.changes.release(SAVEPOINT);
                self.say_warn("preview: undone; the transaction is as before");
                outcome
            }
        }
    }
}
