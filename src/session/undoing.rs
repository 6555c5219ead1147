//! The session's undo hook: a session started by `pgward undo` holds the change it
//! undoes ([`crate::undo::Plan`]). Before anything runs it reads the undo's checks, so
//! an undo over rows that changed since the commit is refused before it starts, with
//! those rows named. At COMMIT the server's counts must be the mirror of the
//! original's (each undo statement finds its row by its after-image, so a row changed
//! after the check counts one short): otherwise the transaction is rolled back. What
//! the reviewer is shown starts with what is undone, from where.

use crate::undo::Plan;

use super::{Outcome, Session};

/// Check lines read in one query (joined by `UNION ALL`).
const BATCH: usize = 200;

/// Rows that changed since the commit named on screen; the rest are counted.
const NAMED: usize = 20;

impl Session {
    /// This session undoes `plan` (its statements are the script; they are not kept).
    pub fn set_undo(&mut self, mut plan: Plan) {
        plan.statements = Vec::new();
        self.undoing = Some(plan);
    }

    /// Reads the undo's checks through the guarded read path; `Outcome::Refused` (after
    /// naming them) when any row changed since the commit, and nothing may run.
    pub async fn undo_precheck(&mut self) -> Outcome {
        let Some(plan) = self.undoing.take() else {
            return Outcome::Ok;
        };
        let mut changed: Vec<String> = Vec::new();
        let mut outcome = Outcome::Ok;
        for batch in plan.checks.chunks(BATCH) {
            match self.read_rows(&batch.join(" UNION ALL ")).await {
                Ok(done) => changed.extend(done.rows.iter().map(|row| {
                    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                    crate::render::escape::one_line(&format!(
                        "{} {}: {}",
                        field(0),
                        field(1),
                        field(2)
                    ))
                })),
                Err(o) => {
                    outcome = o;
                    break;
                }
            }
        }
        let checked = plan.checks.len();
        self.undoing = Some(plan);
        if outcome != Outcome::Ok {
            self.say_error("refused: the undo's rows could not be checked, so nothing was run");
            return outcome;
        }
        if !changed.is_empty() {
            let mut text = format!(
                "refused: {} of the {checked} rows the undo restores changed since the commit, so nothing was run:",
                changed.len()
            );
            for line in changed.iter().take(NAMED) {
                text.push_str(&format!("\n  {line}"));
            }
            if changed.len() > NAMED {
                text.push_str(&format!("\n  … and {} more", changed.len() - NAMED));
            }
            self.say_error(&text);
            self.say_hint("look at those rows; a later change may need its own undo first");
            return Outcome::Refused;
        }
        self.say_note(&format!(
            "undo: all {checked} rows are as the commit left them"
        ));
        Outcome::Ok
    }

    /// At COMMIT of an undo: the counts expected and here, shown; the text for the
    /// reviewer. `Err` after rolling back when they differ. Empty when the session
    /// undoes nothing.
    pub(super) async fn undo_commit_check(&mut self) -> Result<String, Outcome> {
        let Some(plan) = &self.undoing else {
            return Ok(String::new());
        };
        let described = plan.described();
        let (table, differs) =
            plan.expected()
                .compare_as(&self.changes.totals(), "expected", "here");
        let table = table.trim_end().to_string();
        if differs {
            let _ = self.rollback().await;
            self.say_error(&format!(
                "UNDO of {described}: the counts are not the mirror of the original's (a row \
                 changed after the check); the transaction was rolled back and nothing was \
                 committed:\n{table}"
            ));
            return Err(Outcome::Refused);
        }
        let head = format!("UNDO of {described}: the counts mirror the original's");
        self.say_note(&format!("{head}:\n{table}"));
        Ok(format!("{head}:\n{table}\n"))
    }
}
