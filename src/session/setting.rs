//! Session settings the user changes (`SET work_mem`, `SET search_path`, `RESET …`).
//!
//! pgward runs everything in transactions it opens itself, so a setting is remembered and
//! re-applied as `SET LOCAL` after every BEGIN pgward opens: it then holds for reads and
//! writes alike, and never leaks into pgward's own bookkeeping between transactions. A
//! dotted name is a custom placeholder only when the server has no registered setting
//! of that name (`plpgsql.check_asserts` is an extension's real setting, not a
//! placeholder): the session looks it up in `pg_settings` first. Which settings are
//! allowed at all is the classifier's business (`sql::settings`).

use crate::policy::{Refusal, Rule};
use crate::sql;

use super::{Outcome, Session, TxState};

/// The remembered settings, in the order they were set.
#[derive(Debug, Clone, Default)]
pub(super) struct Reapplied {
    settings: Vec<(String, String)>,
}

impl Reapplied {
    /// The `SET LOCAL` statements to run after BEGIN, each followed by `; `.
    pub(super) fn sql(&self) -> String {
        self.settings
            .iter()
            .map(|(_, apply)| format!(" {apply};"))
            .collect()
    }

    fn set(&mut self, name: &str, apply: String) {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.to_string(), apply));
    }

    fn reset(&mut self, name: &str) {
        self.settings.retain(|(n, _)| n != name);
    }
}

impl Session {
    /// Runs an allowed SET, RESET or DISCARD.
    pub(super) async fn session_setting(&mut self, text: &str) -> Outcome {
        let Some(change) = sql::setting_change(text) else {
            // DISCARD PLANS / TEMP / SEQUENCES.
            return match self.state {
                TxState::Idle => self.plain(text).await,
                _ => self.in_transaction(text).await,
            };
        };
        if change.placeholder {
            // An extension registers its settings when it is loaded into the backend;
            // PL/pgSQL is loaded on first use, so use it first (an empty DO block), or
            // `plpgsql.*` would look like placeholders until then.
            if let Err(e) = self.conn.client.batch_execute("DO $$BEGIN END$$").await {
                return self.failed(e, text).await;
            }
            let registered = self
                .conn
                .client
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_settings WHERE name = $1",
                    &[&change.name],
                )
                .await;
            match registered {
                Ok(None) => {}
                Ok(Some(_)) => {
                    return self.refuse(&Refusal::new(
                        Rule::GuardSetting,
                        format!(
                        "SET {} (a setting the server has registered, not a custom placeholder)",
                        change.name
                    ),
                    ))
                }
                Err(e) => return self.failed(e, text).await,
            }
        }
        if change.local {
            // For the open transaction only (outside one, the server warns and ignores it).
            return match self.state {
                TxState::Idle => self.plain(text).await,
                _ => self.in_transaction(text).await,
            };
        }
        let Some(apply) = change.apply else {
            let outcome = match self.state {
                TxState::Idle => {
                    self.io.result_tag("RESET");
                    Outcome::Ok
                }
                _ => self.in_transaction(text).await,
            };
            if outcome == Outcome::Ok {
                self.reapplied.reset(&change.name);
            }
            return outcome;
        };
        let outcome = match self.state {
            TxState::Idle => {
                // Check the value now, in a transaction that is thrown away.
                let check = format!("BEGIN READ ONLY; {apply}; ROLLBACK");
                match self.conn.client.batch_execute(&check).await {
                    Ok(()) => {
                        self.io.result_tag("SET");
                        Outcome::Ok
                    }
                    Err(e) => {
                        let _ = self.conn.client.batch_execute("ROLLBACK").await;
                        self.failed(e, text).await
                    }
                }
            }
            _ => self.in_transaction(&apply).await,
        };
        if outcome == Outcome::Ok {
            self.reapplied.set(&change.name, apply);
        }
        outcome
    }

    /// A statement calling functions whose effect survives ROLLBACK: never under
    /// `--dry-run` or `\preview` (which promise to change nothing); otherwise a warning.
    pub(super) fn survives_rollback(&mut self, what: &[String]) -> Option<Outcome> {
        let list = what.join("; ");
        if self.dry_run || self.previewing {
            let mode = if self.dry_run {
                "--dry-run"
            } else {
                "\\preview"
            };
            self.say_error(&format!(
                "refused: {mode} never runs a statement whose effect survives ROLLBACK ({list})"
            ));
            self.say_hint("run it in a normal session, where it is a write that needs COMMIT");
            return Some(Outcome::Refused);
        }
        self.say_warn(&format!(
            "WARNING: this statement's effect survives ROLLBACK ({list})"
        ));
        None
    }
}
