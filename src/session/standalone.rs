//! Statements PostgreSQL refuses inside a transaction block (CREATE/DROP INDEX
//! CONCURRENTLY, REINDEX … CONCURRENTLY, VACUUM, DETACH PARTITION CONCURRENTLY): pgward
//! runs each alone, outside any transaction, and only while no guarded transaction is
//! open. Nothing can roll such a statement back, so before anything is sent:
//!
//! 1. the summary says so plainly, with the lock it takes and the timeouts it runs under;
//! 2. it needs what a COMMIT needs in this environment: a second person's approval bound
//!    to its exact text, environment, server, database, role and ticket
//!    (`standalone_digest.rs`), or, where the environment has no approval service, the
//!    author's confirmation by the environment's name;
//! 3. `commit_intent` is fsynced before it is sent and `commit`, `commit_failed` or
//!    `commit_unknown` follows it, with [`NO_TXID`] for the transaction id.
//!
//! It runs as the write role with lock_timeout and statement_timeout. `SET LOCAL` needs a
//! transaction, so these are set for the session and reset right after. Behind a pooler
//! in transaction mode (PgBouncer's `pool_mode = transaction`) that cannot be done safely:
//! each round trip outside a transaction may reach another backend, so the RESET could
//! miss the backend that took the SET ROLE, which would go back to the pool acting as the
//! write role. So, in this order:
//!
//! 1. up front, before the summary, the approval or anything set or logged, the statement
//!    is refused through a pooler detected at start (the cancel key's pid is not the
//!    backend's, see [`super::pooler`]) unless the environment declares `pooler =
//!    "session"`, and wherever it declares `pooler = "transaction"`;
//! 2. before anything is set, pgward checks that the connection keeps its backend
//!    ([`keeps_backend`]: a placeholder set on it must still be there, on the same
//!    backend, one round trip later), which catches a busy transaction pool declared as
//!    `session` (a quiet one hands the same backend back, so this alone proves nothing);
//! 3. the SETs and the RESET each travel with a probe in one message, so pgward knows
//!    which backend took them; should the RESET still land elsewhere, the backend left
//!    with the write role is ended (`pg_terminate_backend`, allowed for the login's own
//!    backends) rather than left in the pool, and the session ends.

use crate::approval::ApprovalError;
use crate::conn::Client;
use crate::preview::relation::quote_ident;

use super::approve::Subject;
use super::exec;
use super::pooler;
use super::probe::{self, Identity};
use super::standalone_digest::Standalone;
use super::{commit, Outcome, Session};

/// What the log and the approval request carry for the transaction id of a statement
/// that runs outside any transaction.
pub(crate) const NO_TXID: &str = "none (runs alone, outside any transaction)";

/// What puts the session back as it was before the statement.
const RESET: &str = "RESET ROLE; RESET standard_conforming_strings; RESET statement_timeout; \
                     RESET lock_timeout";

impl Session {
    /// Runs `text`, a statement that cannot run in a transaction block (`what`, taking
    /// `lock`), alone, once it is approved or confirmed.
    pub(super) async fn standalone(
        &mut self,
        what: &'static str,
        lock: &'static str,
        text: &str,
    ) -> Outcome {
        if self.state.is_open() {
            self.say_error(&format!(
                "refused: {what} cannot run inside a transaction block, and a guarded transaction is open"
            ));
            self.say_hint("COMMIT or ROLLBACK the open transaction first, then run it on its own");
            return Outcome::Refused;
        }
        if let Some(outcome) = self.log_gate() {
            return outcome;
        }
        if self.dry_run || self.previewing {
            self.say_error(&format!(
                "refused: {what} runs outside any transaction and cannot be rolled back, so a dry run or \\preview cannot try it"
            ));
            self.say_hint("run it without --dry-run: its summary and approval come before it runs");
            return Outcome::Refused;
        }
        let Some(role) = self.settings.env.write_role.clone() else {
            self.say_error(&format!(
                "refused: environment {:?} has no write role, so {what} cannot run under a least-privilege role",
                self.settings.env.name
            ));
            self.say_hint(
                "set write_role for the environment in the config file, or pass --write-role ROLE",
            );
            return Outcome::Refused;
        };
        if self.defaults.standby {
            self.say_error(&format!(
                "refused: the server is a standby (read-only): {what} cannot run here"
            ));
            self.say_hint("connect to the primary");
            return Outcome::Refused;
        }
        let env = &self.settings.env;
        if let Err(why) = pooler::alone_allowed(&self.route, env.pooler, &env.name, what) {
            self.say_error(&why.reason);
            self.say_hint(&why.hint);
            return Outcome::Refused;
        }
        let ticket = self.settings.ticket.clone().unwrap_or_default();
        let digest = Standalone {
            environment: &self.settings.env.name,
            server: &self.server,
            database: &self.settings.conn.dbname,
            role: &role,
            ticket: &ticket,
            statement: text,
        }
        .digest();
        let summary = self.standalone_summary(what, lock, &role, text, &digest);
        self.say_err(&summary);
        let statements = vec![text.to_string()];
        if let Err(outcome) = self
            .authorize_standalone(
                what,
                Subject {
                    role: &role,
                    statements: &statements,
                    counts: Vec::new(),
                    txid: NO_TXID,
                    digest: &digest,
                    summary: &summary,
                    holds_locks: false,
                },
            )
            .await
        {
            return outcome;
        }
        self.run_alone(what, &role, text, &digest).await
    }

    /// What the author (and the reviewer) read before it runs.
    fn standalone_summary(
        &self,
        what: &str,
        lock: &str,
        role: &str,
        text: &str,
        digest: &str,
    ) -> String {
        use crate::render::escape::one_line;
        let mut out = format!(
            "{what} runs alone, outside any transaction, in environment \"{}\" (database {}, role {}, ticket {}):\n",
            one_line(&self.settings.env.name),
            one_line(&self.settings.conn.dbname),
            one_line(role),
            one_line(self.settings.ticket.as_deref().unwrap_or("none")),
        );
        out.push_str(&format!("  {}\n", one_line(text)));
        out.push_str(&format!(
            "It takes a {lock} lock; lock_timeout {}, statement_timeout {}.\n",
            millis(self.timeouts.lock),
            millis(self.timeouts.statement)
        ));
        out.push_str(
            "It CANNOT BE ROLLED BACK: no transaction holds it, so once sent its effect stays.\n",
        );
        if leaves_invalid_index(what) {
            out.push_str(
                "If it fails part-way it can leave an INVALID index behind, to drop with DROP INDEX CONCURRENTLY.\n",
            );
        }
        out.push_str(&format!("Statement digest: {digest}\n"));
        out
    }

    /// A second person's approval where the environment has an approval service, else
    /// the author's confirmation, exactly as for a COMMIT there.
    async fn authorize_standalone(
        &mut self,
        what: &str,
        subject: Subject<'_>,
    ) -> Result<(), Outcome> {
        let approval = match &self.settings.env.approval {
            Some(a) if self.settings.env.require_approval => a.clone(),
            _ => return self.confirm_standalone(what).await,
        };
        match self.approve(&approval, subject).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.not_run(what, &e)),
        }
    }

    fn not_run(&mut self, what: &str, e: &ApprovalError) -> Outcome {
        self.say_error(&format!(
            "{what} not run: {e}; nothing was sent to the server"
        ));
        self.say_hint("run the statement again to ask for approval again");
        Outcome::Refused
    }

    /// The author types the environment's name, as for a COMMIT without approval.
    async fn confirm_standalone(&mut self, what: &str) -> Result<(), Outcome> {
        let env = self.settings.env.name.clone();
        self.say_err("No second reviewer was involved: no approval service is configured for this environment, so only the author confirms this statement.\n");
        self.conn.settle().await;
        let answer = self.confirm.ask(&format!(
            "Type the environment name ({env}) to run it, anything else does not run it: "
        ));
        if answer.as_deref().map(str::trim) == Some(env.as_str()) {
            return Ok(());
        }
        self.say_error(&format!(
            "{what} not run: not confirmed{}; nothing was sent to the server",
            if answer.is_none() {
                " (no answer, or no terminal to answer at)"
            } else {
                ""
            }
        ));
        Err(Outcome::Refused)
    }

    /// Sets role and timeouts for the session, checks them, logs the intent, runs the
    /// statement, resets, checks again, and logs and says what the server answered.
    async fn run_alone(&mut self, what: &str, role: &str, text: &str, digest: &str) -> Outcome {
        let before = match probe::probe(&self.conn.client).await {
            Ok(seen) => seen,
            Err(e) => return self.failed(e, "").await,
        };
        match keeps_backend(&self.conn.client, &before.pid).await {
            Ok(true) => {}
            Ok(false) => {
                self.say_error(&format!(
                    "GUARD: {what} was not run: this connection does not keep its server backend between transactions (a pooler in transaction mode, such as PgBouncer's pool_mode = transaction), and a statement that runs alone needs the write role set for the session, which could be left on a pooled backend"
                ));
                self.say_hint(
                    "connect directly to the server, or through a pool in session mode, to run it; where the environment declares pooler = \"session\", the pool is not in session mode",
                );
                return Outcome::Refused;
            }
            Err(e) => return self.failed(e, "").await,
        }
        let set = format!(
            "SET ROLE {}; SET standard_conforming_strings = on; SET statement_timeout = {}; SET lock_timeout = {}",
            quote_ident(role),
            self.timeouts.statement,
            self.timeouts.lock
        );
        // The SETs and a probe in one message: `took` is the backend that took them.
        let took = match probe::probe_after(&self.conn.client, &set).await {
            Ok(seen) => seen,
            Err(e) => {
                let _ = self.reset_alone(&before, &before.pid).await;
                let outcome = self.failed(e, "").await;
                if outcome != Outcome::ConnectionLost {
                    self.say_hint(&format!(
                        "pgward could not switch to write role {role:?}; the login role must be a member of it"
                    ));
                }
                return outcome;
            }
        };
        let mismatch = self.alone_mismatch(&before, &took, role);
        if let Some(m) = mismatch {
            if let Err(left) = self.reset_alone(&before, &took.pid).await {
                return self.not_restored(&left);
            }
            self.say_error(&format!("GUARD: {m}; {what} was not run"));
            return Outcome::Refused;
        }
        let statements = vec![text.to_string()];
        if !self.log_record(crate::audit::Body::CommitIntent {
            txid: NO_TXID.to_string(),
            change_digest: digest.to_string(),
            statements,
            counts: Vec::new(),
            undo: Some(crate::audit::record::Undo {
                possible: false,
                impossible: vec![format!(
                    "{what} ran alone, outside any transaction, where pgward captures no rows"
                )],
                sql: None,
                file: None,
                sha256: None,
            }),
        }) {
            if let Err(left) = self.reset_alone(&before, &took.pid).await {
                return self.not_restored(&left);
            }
            let reason = self.log.unlogged_reason().unwrap_or("unknown").to_string();
            self.say_error(&format!(
                "{what} not run: the session log cannot record it ({reason}); nothing was sent to the server"
            ));
            return Outcome::Refused;
        }
        let result = self
            .conn
            .user_statement(exec::run(
                &self.conn.client,
                &self.conn.tls,
                text,
                self.via(),
            ))
            .await;
        if let Some(e) = result.as_ref().err().and_then(exec::Failure::db) {
            if e.is_closed() || self.conn.client.is_closed() || commit::fatal(e) {
                return self.alone_lost(what, e);
            }
        }
        // Put the session back before anything else; then check that it is back.
        let back = self.reset_alone(&before, &took.pid).await.err();
        match result {
            Ok(done) => {
                self.log_record(crate::audit::Body::Commit {
                    txid: NO_TXID.to_string(),
                    change_digest: digest.to_string(),
                });
                self.show(text, &done);
                if let Some(m) = back {
                    return self.not_restored(&m);
                }
                Outcome::Ok
            }
            Err(e) => {
                let (sqlstate, error) = match &e {
                    exec::Failure::Db(e) | exec::Failure::InCopy(e) => (
                        e.code().map(|c| c.code().to_string()),
                        crate::render::error::one_line(e),
                    ),
                    exec::Failure::Copy(m) => (None, m.to_string()),
                };
                self.log_record(crate::audit::Body::CommitFailed {
                    txid: NO_TXID.to_string(),
                    sqlstate,
                    error,
                });
                let outcome = self.failed_run(e, text).await;
                if leaves_invalid_index(what) {
                    self.say_warn(&format!(
                        "{what} failed: it may have left an INVALID index behind (pg_index.indisvalid); drop it with DROP INDEX CONCURRENTLY"
                    ));
                }
                if let Some(m) = back {
                    return self.not_restored(&m);
                }
                outcome
            }
        }
    }

    /// The first way `seen` (after the SETs) is not what pgward set on the backend it
    /// probed before (`before`).
    fn alone_mismatch(&self, before: &Identity, seen: &Identity, role: &str) -> Option<String> {
        if seen.pid != before.pid {
            return Some(format!(
                "the server backend changed (pid {} became {}): a pooler in transaction mode hands out backends per transaction, so settings cannot hold for a statement outside one",
                before.pid, seen.pid
            ));
        }
        if seen.session_user != self.login {
            return Some(format!(
                "session user is {:?}, expected {:?}",
                seen.session_user, self.login
            ));
        }
        if seen.current_user != role {
            return Some(format!(
                "current role is {:?}, expected {role:?}",
                seen.current_user
            ));
        }
        if !seen.quoting_intact {
            return Some(
                "standard_conforming_strings or client_encoding is not what pgward's quoting rules assume".into(),
            );
        }
        for (name, now, wanted) in [
            (
                "statement_timeout",
                seen.timeouts.statement,
                self.timeouts.statement,
            ),
            ("lock_timeout", seen.timeouts.lock, self.timeouts.lock),
        ] {
            if now != wanted {
                return Some(format!("{name} is {now}ms, pgward set {wanted}ms"));
            }
        }
        None
    }

    /// RESETs what [`Session::run_alone`] set, with a probe in the same message, and
    /// checks that the session is as `before`. Should the RESET have reached another
    /// backend than `took`, the one that took the SETs (a pooler), that one may still act
    /// as the write role:
    /// it is ended rather than left in the pool. `Err` says what is not as it was.
    async fn reset_alone(&mut self, before: &Identity, took: &str) -> Result<(), String> {
        let seen = probe::probe_after(&self.conn.client, RESET)
            .await
            .map_err(|e| crate::render::error::one_line(&e))?;
        match restored(before, &seen) {
            None => Ok(()),
            Some(m) if seen.pid != took => {
                let ended = self
                    .conn
                    .client
                    .query_one(
                        "SELECT pg_catalog.pg_terminate_backend($1::pg_catalog.text::pg_catalog.int4)",
                        &[&took],
                    )
                    .await
                    .map(|row| row.get::<_, bool>(0));
                Err(match ended {
                    Ok(true) => format!(
                        "{m}; backend {took} that took the write role was ended so that no one else gets it"
                    ),
                    _ => format!(
                        "{m}; backend {took} may still act as the write role: end it with SELECT pg_terminate_backend({took})"
                    ),
                })
            }
            Some(m) => Err(m),
        }
    }

    /// The connection failed while the statement ran: whether it took effect is unknown.
    fn alone_lost(&mut self, what: &str, e: &tokio_postgres::Error) -> Outcome {
        self.log_error(e);
        self.log_record(crate::audit::Body::CommitUnknown {
            txid: NO_TXID.to_string(),
            error: crate::render::error::one_line(e),
        });
        self.show_server_reason(Some(e));
        self.say_error(&format!(
            "connection lost while {what} ran: whether it took effect is unknown; check the catalog on a new connection (for an index: pg_index.indisvalid)"
        ));
        Outcome::ConnectionLost
    }

    /// The session could not be put back as it was: it may still hold the write role or
    /// the timeouts for the session, so it ends here rather than go on.
    fn not_restored(&mut self, what: &str) -> Outcome {
        self.say_error(&format!(
            "GUARD: the session could not be put back after the statement ({what}); the session ends, start pgward again"
        ));
        Outcome::ConnectionLost
    }
}

/// Whether the connection keeps its server backend between transactions: a placeholder
/// set for the session (with a probe in the same message) on backend `pid` is still set,
/// on `pid`, one round trip later. Behind a pooler in transaction mode either the backend
/// changes or the placeholder is gone. The placeholder is reset after.
async fn keeps_backend(client: &Client, pid: &str) -> Result<bool, tokio_postgres::Error> {
    let set = probe::probe_after(client, "SET pgward.alone = 'pinned'").await?;
    let later = client
        .simple_query(
            "SELECT pg_catalog.pg_backend_pid()::pg_catalog.text, pg_catalog.current_setting('pgward.alone', true)",
        )
        .await;
    let _ = client.batch_execute("RESET pgward.alone").await;
    let later = later?;
    let kept = later.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => {
            r.get(0) == Some(pid) && r.get(1) == Some("pinned")
        }
        _ => false,
    });
    Ok(set.pid == pid && kept)
}

/// The first way the session after RESET differs from before the statement.
fn restored(before: &Identity, seen: &Identity) -> Option<String> {
    if seen.pid != before.pid {
        return Some(format!(
            "the server backend changed (pid {} became {})",
            before.pid, seen.pid
        ));
    }
    if seen.current_user != before.current_user {
        return Some(format!(
            "current role is {:?}, was {:?}",
            seen.current_user, before.current_user
        ));
    }
    if seen.timeouts.statement != before.timeouts.statement
        || seen.timeouts.lock != before.timeouts.lock
    {
        return Some("statement_timeout or lock_timeout differs from before".into());
    }
    None
}

/// Whether a failure part-way can leave an INVALID index behind (CREATE, DROP and
/// REINDEX … CONCURRENTLY, REINDEX SCHEMA).
fn leaves_invalid_index(what: &str) -> bool {
    what.contains("INDEX")
}

/// A timeout in milliseconds as the summary shows it.
fn millis(ms: i64) -> String {
    match ms {
        0 => "off".into(),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}
