//! Session settings the user changes (`SET work_mem`, `SET search_path`, `RESET …`).
//!
//! pgward runs everything in transactions it opens itself, so a setting is remembered and
//! re-applied as `SET LOCAL` after every BEGIN pgward opens: it then holds for reads and
//! writes alike, and never leaks into pgward's own bookkeeping between transactions. A
//! dotted name is a custom placeholder only when the server has no registered setting
//! of that name (`plpgsql.check_asserts` is an extension's real setting, not a
//! placeholder): the session looks it up in `pg_settings` first. Which settings are
//! allowed at all is the classifier's business (`sql::settings`).

use tokio_postgres::types::Type;

use crate::conn::options::StartupSetting;
use crate::conn::{Client, ConnError, Connection};
use crate::policy::{Refusal, Rule};
use crate::sql;
use crate::sql::settings::SettingChange;

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

/// The settings the connection string or environment carries (`options`, `PGOPTIONS`,
/// `PGDATESTYLE`, `PGTZ`, `PGGEQO`; [`crate::conn::options`]), taken up as if the user
/// had typed each `SET`: a dotted name must be a placeholder, the value must be one the
/// server takes (tried in a transaction that is thrown away), and it is then applied as
/// `SET LOCAL` in every transaction pgward opens. Never a startup parameter: PgBouncer
/// refuses `options`, and the server would apply it outside pgward's transactions. A
/// setting that cannot be taken up stops the session (or the switch to it).
pub(super) async fn connection_settings(conn: &Connection) -> Result<Reapplied, ConnError> {
    let unusable = |s: &StartupSetting, why: String| {
        ConnError::Conninfo(format!("{}: {}={:?}: {why}", s.source, s.name, s.value))
    };
    let mut reapplied = Reapplied::default();
    for s in &conn.params.extras.settings {
        let Some(SettingChange {
            apply: Some(apply),
            placeholder,
            ..
        }) = sql::setting_change(&s.sql())
        else {
            return Err(unusable(s, "not a setting pgward can apply".into()));
        };
        if placeholder
            && registered(&conn.client, &s.name)
                .await
                .map_err(|e| unusable(s, crate::conn::with_detail(&e)))?
        {
            return Err(unusable(
                s,
                "a setting the server has registered, not a custom placeholder".into(),
            ));
        }
        let check = format!("BEGIN READ ONLY; {apply}; ROLLBACK");
        if let Err(e) = conn.client.batch_execute(&check).await {
            let _ = conn.client.batch_execute("ROLLBACK").await;
            return Err(unusable(s, crate::conn::with_detail(&e)));
        }
        reapplied.set(&s.name, apply);
    }
    Ok(reapplied)
}

/// Whether the server has a registered setting `name`, after loading PL/pgSQL: an
/// extension registers its settings when it is loaded into the backend, and PL/pgSQL is
/// loaded on first use (an empty DO block), or `plpgsql.*` would look like placeholders
/// until then. An unnamed statement ([`crate::conn::Client`]): under PgBouncer's
/// transaction pooling a named one could be parsed on one backend and bound on another.
async fn registered(client: &Client, name: &str) -> Result<bool, tokio_postgres::Error> {
    client.batch_execute("DO $$BEGIN END$$").await?;
    client
        .query_typed(
            "SELECT 1 FROM pg_catalog.pg_settings WHERE name = $1",
            &[(&name, Type::TEXT)],
        )
        .await
        .map(|rows| !rows.is_empty())
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
            match registered(&self.conn.client, &change.name).await {
                Ok(false) => {}
                Ok(true) => {
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
