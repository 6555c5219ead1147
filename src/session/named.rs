//! Cursors and prepared statements in the guarded session: the objects the server keeps
//! between statements, whose meaning depends on what ran before.
//!
//! - A cursor (`DECLARE c CURSOR FOR <read>`) lives until its transaction ends, so it is
//!   declared only inside the transaction the user opened (BEGIN): outside one the
//!   session answers as the server would (25P01), sending nothing, instead of declaring
//!   it in a read-only transaction that ends at once. It is declared inside the same
//!   read-only savepoint as any read, which is then released instead of rolled back, so
//!   the cursor stays open; FETCH, MOVE and CLOSE are reads, and each FETCH runs its
//!   query read-only, where the server refuses any write.
//! - A prepared statement is remembered once the server accepted its PREPARE
//!   ([`crate::sql::Prepared`]), so an EXECUTE runs as what was prepared: a read as a
//!   read, a write in the guarded transaction with its preview and the same guard
//!   thresholds as the statement itself (judged on the prepared text, e.g. a DELETE
//!   without WHERE). A name the session did not see prepared is refused.
//! - A function or procedure is remembered once the server accepted its CREATE
//!   ([`crate::sql::Created`]), with the class its body got, and forgotten at its DROP:
//!   a statement that calls it takes that class, so `SELECT f()` of a function whose
//!   body writes runs on the guarded write path (counts-only preview), not read-only.
//!   CREATE and DROP are transactional, so this record is too ([`CreatedJournal`]): a
//!   ROLLBACK (or a failed COMMIT, or a lost connection before COMMIT) brings back what
//!   was known at BEGIN, a ROLLBACK TO what was known at that savepoint. A COMMIT whose
//!   outcome is lost and stays unknown (or in progress) fails closed: every function the
//!   transaction created or replaced becomes an opaque write
//!   ([`crate::sql::Created::uncertain`]); the server's answer "committed" keeps the
//!   transaction's record, "rolled back" brings back BEGIN's.

use tokio_postgres::error::SqlState;

use crate::sql::{Analysis, Named};

use super::outcome::CommitFate;
use super::{Outcome, Session, TxState};

/// What the session knew of created functions when the open transaction began and at
/// each of its savepoints, so that work the server undoes is undone here too.
#[derive(Debug, Default)]
pub(super) struct CreatedJournal {
    /// The record before the transaction's first CREATE or DROP of a function.
    at_begin: Option<crate::sql::Created>,
    /// The record at each savepoint the user set, innermost last.
    savepoints: Vec<(String, crate::sql::Created)>,
}

impl Session {
    /// Whether `named` may run in the current state; `Some(outcome)` when it may not.
    pub(super) fn named_gate(&mut self, named: Option<&Named>) -> Option<Outcome> {
        if let (Some(Named::Cursor(_)), TxState::Idle) = (named, &self.state) {
            self.say_error(&format!(
                "ERROR:  {}: DECLARE CURSOR can only be used in transaction blocks",
                SqlState::NO_ACTIVE_SQL_TRANSACTION.code()
            ));
            self.say_hint(
                "type BEGIN first: a cursor lives until its transaction ends (nothing was sent)",
            );
            return Some(Outcome::SqlError);
        }
        None
    }

    /// The analysis of a statement with what this session prepared and created: an
    /// EXECUTE takes its prepared statement's class, a call its function body's.
    pub(super) fn resolve(&self, analysis: Analysis) -> Analysis {
        self.created.resolve(self.prepared.resolve(analysis))
    }

    /// Follows a statement that succeeded: a PREPARE or CREATE FUNCTION is remembered, a
    /// DEALLOCATE or DROP FUNCTION forgets.
    pub(super) fn named_ran(&mut self, named: Option<&Named>) {
        self.prepared.ran(named);
        if matches!(named, Some(Named::Function { .. } | Named::DropFunction(_)))
            && self.state.is_open()
            && self.journal.at_begin.is_none()
        {
            self.journal.at_begin = Some(self.created.clone());
        }
        self.created.ran(named);
    }

    /// Before each statement: a transaction that ended without a confirmed COMMIT took
    /// its CREATE and DROP FUNCTIONs with it, so the record goes back to what it was at
    /// its BEGIN. (Checked lazily here because a transaction ends on many paths: ROLLBACK,
    /// a failed COMMIT, a guard rollback, a lost connection.)
    pub(super) fn settle_created(&mut self) {
        if self.state.is_open() {
            return;
        }
        self.journal.savepoints.clear();
        if let Some(before) = self.journal.at_begin.take() {
            self.created = before;
        }
    }

    /// The COMMIT was confirmed: what the transaction created and dropped stays.
    pub(super) fn created_committed(&mut self) {
        self.journal = CreatedJournal::default();
    }

    /// The connection failed after COMMIT was sent, and the server said `fate`: what
    /// the transaction created and dropped stays (committed), goes (rolled back, as
    /// [`Session::settle_created`] does next), or, when nobody knows, every function it
    /// created or replaced is an opaque write from now on.
    pub(super) fn created_after_lost_commit(&mut self, fate: CommitFate) {
        match fate {
            CommitFate::Committed => self.created_committed(),
            CommitFate::RolledBack => {}
            CommitFate::InProgress | CommitFate::Unknown => {
                if let Some(before) = self.journal.at_begin.take() {
                    self.created = self.created.uncertain(&before);
                }
                self.journal = CreatedJournal::default();
            }
        }
    }

    /// A savepoint was set, released, or rolled back to (`SAVEPOINT`, `RELEASE`,
    /// `ROLLBACK TO`), and the server accepted it.
    pub(super) fn created_savepoint(&mut self, name: &str, event: SavepointEvent) {
        let at = self.journal.savepoints.iter().rposition(|(n, _)| n == name);
        match (event, at) {
            (SavepointEvent::Set, _) => {
                let now = self.created.clone();
                self.journal.savepoints.push((name.to_string(), now));
            }
            (SavepointEvent::Released, Some(i)) => self.journal.savepoints.truncate(i),
            (SavepointEvent::RolledBackTo, Some(i)) => {
                self.created = self.journal.savepoints[i].1.clone();
                self.journal.savepoints.truncate(i + 1);
            }
            (_, None) => {}
        }
    }

    /// The text of the statement an EXECUTE runs, for the guard thresholds of the write
    /// path; `None` for anything else.
    pub(super) fn prepared_text(&self, named: Option<&Named>) -> Option<String> {
        match named {
            Some(Named::Execute { name, .. }) => self.prepared.statement(name).map(String::from),
            _ => None,
        }
    }
}

/// What happened to a savepoint ([`Session::created_savepoint`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum SavepointEvent {
    /// `SAVEPOINT name`.
    Set,
    /// `RELEASE name`.
    Released,
    /// `ROLLBACK TO name`.
    RolledBackTo,
}
