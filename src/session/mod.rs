//! The guarded session: the one choke point every statement passes through.
//!
//! A [`Session`] owns the connection. Input is split client-side, each statement is
//! classified, checked against the policy, and run in a transaction pgward opened:
//! reads in `BEGIN READ ONLY`, writes after `BEGIN; SET LOCAL ROLE …` with timeouts.
//! Before it opens, [`roles`] checks that the login can become nothing beyond the read
//! and write roles and that those cannot act outside the transaction.
//! After every statement the [`probe`] checks role, login, backend, transaction and the
//! settings pgward set; after every transaction, leftover advisory locks are released.
//! COMMIT is intercepted wherever it appears and needs confirmation at a terminal.
//! Statements that cannot run in a transaction block run alone, after the same
//! authorisation, in [`standalone`](self) (see `standalone.rs`).
//! See the state machine in `../shared/DESIGN.md` and README's "Security model".

mod advisory;
mod approve;
pub mod changes;
mod commit;
pub mod confirm;
mod copy_from;
pub mod copy_rows;
pub mod defaults;
mod dry_run;
pub mod exec;
mod implicit;
mod io;
mod ledger;
mod log;
mod named;
pub mod outcome;
mod pager;
pub mod pooler;
pub mod probe;
mod reconnect;
mod replay;
pub mod roles;
mod setting;
pub mod signals;
mod standalone;
mod standalone_digest;
pub mod state;
mod summary;
mod switch;
mod typed_comment;
pub mod undo;
mod undo_inserts;
mod undo_no_order;
pub mod undo_sql;
mod undoing;
mod unknown;
pub mod wait;
mod write;

use tokio_postgres::error::SqlState;

use crate::config::Settings;
use crate::conn::Connection;
use crate::policy::Refusal;
use crate::preview::counts::{self, TableCounts};
use crate::preview::relation::quote_ident;
use crate::render::{self, Paint, Text};
use crate::sql::{self, TxControl, Verdict};

pub use changes::Changes;
pub use confirm::Confirm;
pub use copy_from::{fold_identifier, CopyLoad, CopyOptions, Header};
pub use io::Io;
pub use outcome::{CommitFate, Outcome};
pub use state::{OpenTx, TxState};
pub use switch::EndedLog;

use probe::Expected;
#[cfg(test)]
pub(crate) use summary::Summary;

/// The guarded session.
pub struct Session {
    conn: Connection,
    settings: Settings,
    io: Io,
    confirm: Box<dyn Confirm>,
    login: String,
    /// The session's application_name, as the server showed it at start.
    app_name: String,
    /// Accepted role-check risks, one line each.
    accepted: Vec<String>,
    server: String,
    /// What the DBA set on the login and database, read at start.
    defaults: defaults::ServerDefaults,
    /// Whether the connection goes through a pooler, as detected at start.
    route: pooler::Route,
    /// The timeouts pgward sets in its transactions: the stricter of the server's and
    /// the config's.
    timeouts: probe::Timeouts,
    state: TxState,
    changes: Changes,
    all_columns: bool,
    dry_run: bool,
    previewing: bool,
    /// While a catalog read runs for a describe command ([`Session::read_rows`]), its
    /// results are kept here instead of being drawn.
    captured: Option<Vec<exec::Executed>>,
    /// Settings the user SET, re-applied as `SET LOCAL` after every BEGIN pgward opens.
    reapplied: setting::Reapplied,
    /// Each statement in the open transaction runs under an implicit savepoint, so an
    /// error undoes only it (the interactive shell; scripts stop at the first error).
    error_rollback: bool,
    log: crate::audit::SessionLog,
    facts: log::Facts,
    /// The interactive shell reconnects when the server ends the connection
    /// ([`reconnect`]); scripts stop.
    reconnects: bool,
    /// When the last input finished: the server counts idle time in a transaction from
    /// about then.
    last_activity: std::time::Instant,
    /// The last error the server sent, with its statement and where that statement sat
    /// in what was sent (`\errverbose`).
    last_error: Option<(tokio_postgres::error::DbError, String, render::error::At)>,
    /// How many values of the last result were shown escaped, not as stored
    /// ([`exec::Executed::escaped`]).
    last_escaped: u64,
    /// The ledger's run-once state and the COMMIT's approval (see [`ledger`]).
    ledger: ledger::LedgerState,
    /// The committed change this session replays (`pgward replay`).
    replaying: Option<crate::replay::Origin>,
    /// The committed change this session undoes (`pgward undo`).
    undoing: Option<crate::undo::Plan>,
    /// The prepared statements this connection has, which give an EXECUTE its class
    /// ([`named`]).
    prepared: sql::Prepared,
    /// The functions this session created, which give a call of them their body's class
    /// ([`named`]). They live in the database, so a reconnect keeps them.
    created: sql::Created,
    /// What `created` was at BEGIN and at each savepoint ([`named`]).
    journal: named::CreatedJournal,
    /// The logs this session ended when `\c` switched environments, oldest first.
    ended_logs: Vec<switch::EndedLog>,
    /// How many times `\c` switched environments.
    switches: u64,
}

impl Session {
    /// Starts a session on `conn`, checking who it is logged in as and that its role
    /// setup is one the database enforces ([`roles`]); refuses to open otherwise.
    pub async fn start(
        conn: Connection,
        settings: Settings,
        io: Io,
        confirm: Box<dyn Confirm>,
    ) -> Result<Session, crate::Error> {
        let reconnect::Inspected {
            login,
            app_name,
            defaults,
            accepted,
            server,
            route,
        } = reconnect::inspect(&conn, &settings).await?;
        let reapplied = setting::connection_settings(&conn).await?;
        let mut io = io;
        let config = config_timeouts(&settings);
        announce(&mut io, &conn, &accepted, &defaults, config);
        if let Some(line) = pooler::summary(&route, settings.env.pooler) {
            io.say_note(&line);
        }
        Ok(Session {
            timeouts: defaults.effective(config),
            defaults,
            route,
            login,
            app_name,
            accepted,
            server,
            changes: Changes::default(),
            all_columns: false,
            dry_run: false,
            previewing: false,
            captured: None,
            reapplied,
            error_rollback: false,
            log: crate::audit::SessionLog::unlogged("no session log was opened"),
            facts: log::Facts::default(),
            reconnects: false,
            last_activity: std::time::Instant::now(),
            last_error: None,
            last_escaped: 0,
            ledger: ledger::LedgerState::default(),
            replaying: None,
            undoing: None,
            prepared: sql::Prepared::default(),
            created: sql::Created::default(),
            journal: named::CreatedJournal::default(),
            ended_logs: Vec::new(),
            switches: 0,
            conn,
            settings,
            io,
            confirm,
            state: TxState::Idle,
        })
    }

    /// The role-check risks this environment accepts, one line each, as the start
    /// banner showed them.
    pub fn accepted_risks(&self) -> &[String] {
        &self.accepted
    }

    /// The timeouts pgward sets in its transactions (milliseconds, 0 = off): per
    /// timeout, the stricter of the server's default and the config.
    pub fn effective_timeouts(&self) -> probe::Timeouts {
        self.timeouts
    }

    /// The role reads run as: the configured read role, else the login's default `role`
    /// setting when it has one (the role psql would use), else the login.
    pub fn read_role(&self) -> String {
        match (&self.settings.env.read_role, &self.defaults.role_default) {
            (Some(r), _) => r.clone(),
            (None, Some(d)) => d.role.clone(),
            (None, None) => self.login.clone(),
        }
    }

    /// The server is a standby (`pg_is_in_recovery()`): reads only.
    pub fn is_standby(&self) -> bool {
        self.defaults.standby
    }

    /// One line on the pooler the connection goes through (detected at start) or the
    /// environment declares, and what it means for statements that run alone; `None`
    /// for a direct connection with no pooler declared.
    pub fn pooler_summary(&self) -> Option<String> {
        pooler::summary(&self.route, self.settings.env.pooler)
    }

    /// The transaction state.
    pub fn state(&self) -> &TxState {
        &self.state
    }

    /// How many statements the open transaction has run.
    fn statement_count(&self) -> usize {
        match &self.state {
            TxState::Open(tx) | TxState::Failed(tx) => tx.statements.len(),
            TxState::Idle => 0,
        }
    }

    /// The last error the server sent and the statement it answered (`\errverbose`).
    pub fn last_error(
        &self,
    ) -> Option<&(tokio_postgres::error::DbError, String, render::error::At)> {
        self.last_error.as_ref()
    }

    /// How many values of the last result held bytes that are not UTF-8 (a SQL_ASCII
    /// database) and were shown as `\xe9`, not as stored.
    pub fn last_escaped(&self) -> u64 {
        self.last_escaped
    }

    /// The one writer to the terminal, for the shell around the session (meta-commands,
    /// banner): everything written through it is escaped.
    pub fn io(&mut self) -> &mut Io {
        &mut self.io
    }

    /// The settings the session runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The login role.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// Dry run: every write runs and shows its preview, and COMMIT rolls back.
    pub fn set_dry_run(&mut self, on: bool) {
        self.dry_run = on;
    }

    /// Whether the diff shows every column (`\diff all`) or only changed ones.
    pub fn set_all_columns(&mut self, on: bool) {
        self.all_columns = on;
    }

    /// psql's `ON_ERROR_ROLLBACK=interactive`: the REPL turns it on, so a statement that
    /// fails inside the open transaction undoes only itself (see [`implicit`]).
    pub fn set_error_rollback(&mut self, on: bool) {
        self.error_rollback = on;
    }

    /// Replaces where confirmations come from (the REPL installs its line editor).
    pub fn set_confirm(&mut self, confirm: Box<dyn Confirm>) {
        self.confirm = confirm;
    }

    /// Runs every complete statement in `input`, stopping at the first that does not
    /// succeed. An unterminated tail is an error: nothing of it is sent. The connection
    /// is settled before the author is waited on again, so a FATAL the server sends
    /// meanwhile is kept (see [`crate::conn::Connection::settle`]).
    ///
    /// In the interactive shell a connection the server ended is reconnected
    /// ([`reconnect`]): before the input when it was found ended, after it when it ended
    /// while the input ran (nothing is sent again).
    pub async fn execute(&mut self, input: &str) -> Outcome {
        let outcome = if self.reconnects {
            match self.revive().await {
                Some(outcome) => outcome,
                None => match self.execute_pieces(input).await {
                    Outcome::ConnectionLost => self.reset().await,
                    outcome => outcome,
                },
            }
        } else {
            self.execute_pieces(input).await
        };
        if !outcome.ends_session() {
            self.conn.settle().await;
        }
        self.last_activity = std::time::Instant::now();
        outcome
    }

    async fn execute_pieces(&mut self, input: &str) -> Outcome {
        let split = sql::split(input);
        let interrupts = signals::interrupts();
        for piece in &split.pieces {
            if signals::terminated().is_some() {
                // SIGTERM or SIGHUP: nothing more runs; the caller ends the session.
                return Outcome::Refused;
            }
            if signals::interrupts() != interrupts {
                self.say_error("interrupted (Ctrl-C): the rest of the input was not run");
                return Outcome::Refused;
            }
            let outcome = self.run_piece(&piece.text).await;
            if !self.state.is_open() {
                self.changes.release_spills();
            }
            self.flush_notices();
            if outcome != Outcome::Ok {
                return outcome;
            }
        }
        if let Some(rest) = split.rest {
            let head: String = rest.chars().take(60).collect();
            self.say_error(&format!(
                "unterminated statement at end of input, not run: {head:?}; end it with ;"
            ));
            return Outcome::SqlError;
        }
        Outcome::Ok
    }

    /// The connection parameters the session connected with (the password that worked
    /// included), for the completion catalog's own connection.
    pub fn conn_params(&self) -> &crate::conn::ConnParams {
        &self.conn.params
    }

    /// Runs one catalog query for a describe command (`\d NAME`) exactly as a typed
    /// read runs: classified, in a `READ ONLY` transaction (or the open transaction's
    /// read-only savepoint) under the read role, probed and logged. Its rows come back
    /// instead of being drawn; `Err` carries the outcome of a read that did not succeed,
    /// whose error the session has shown already. Anything the classifier does not call
    /// a read is refused unsent.
    pub async fn read_rows(&mut self, sql: &str) -> Result<exec::Executed, Outcome> {
        if sql::classify(sql) != Verdict::Read {
            self.say_error(
                "refused: only a read's rows can be taken (a describe query, \\gset); nothing was sent",
            );
            return Err(Outcome::Refused);
        }
        self.captured = Some(Vec::new());
        let outcome = self.execute(&format!("{sql}\n;")).await;
        let kept = self.captured.take().unwrap_or_default();
        match outcome {
            Outcome::Ok => Ok(kept.into_iter().next().unwrap_or_default()),
            other => Err(other),
        }
    }

    /// Ends the session: an open transaction is rolled back, and the session says so.
    pub async fn finish(&mut self) {
        if self.state.is_open() {
            let _ = self.rollback().await;
            if self.dry_run {
                self.say_warn("dry run: the transaction was rolled back, nothing was committed");
            } else {
                self.say_warn("the open transaction was rolled back: nothing was committed");
            }
        } else {
            self.release_advisory_locks().await;
        }
        self.flush_notices();
        self.log_end("the session ended");
    }

    /// Runs one statement and records it in the session log.
    async fn run_piece(&mut self, text: &str) -> Outcome {
        let started = self.log_begin_statement();
        let outcome = self.guard_piece(text).await;
        self.log_statement(text, outcome, started);
        outcome
    }

    async fn guard_piece(&mut self, text: &str) -> Outcome {
        if self.conn.client.is_closed() {
            return self.lost(None);
        }
        self.settle_created();
        let analysis = self.resolve(sql::analyze(text, &self.settings.env.classify_options()));
        if !analysis.survives_rollback.is_empty() {
            if let Some(outcome) = self.survives_rollback(&analysis.survives_rollback) {
                return outcome;
            }
        }
        let verdict = analysis.verdict;
        let named = analysis.named;
        // Dynamic SQL let through by allow_dynamic_sql: only the server knows what it did.
        let opaque = analysis.dynamic_sql.then_some(sql::OPAQUE_DYNAMIC);
        self.log_class(&verdict);
        if matches!(verdict, Verdict::Ddl | Verdict::NonTransactional { .. }) {
            // Schema changes of pgward's own: no catalog fact learned before them is
            // used after them (the cache's fingerprint would see them too).
            self.conn.client.facts().clear();
        }
        if let Some(message) = analysis.syntax_error {
            // PostgreSQL's own parser said no: this is the server's syntax error, sent
            // nowhere, so it costs no transaction and no savepoint.
            let shown = render::error::fields(
                &render::error::Fields {
                    severity: "ERROR",
                    code: SqlState::SYNTAX_ERROR.code(),
                    message: &message,
                    position: crate::sql::syntax_position::syntax_position(text, &message),
                    ..Default::default()
                },
                text,
            );
            self.say_error(shown.trim_end());
            return Outcome::SqlError;
        }
        // Reads, writes and settings in the open transaction run under the implicit
        // savepoint; transaction control and refusals do not.
        let statement = matches!(
            verdict,
            Verdict::Read | Verdict::Write { .. } | Verdict::Ddl | Verdict::Session
        );
        if statement {
            if let Some(outcome) = self.named_gate(named.as_ref()) {
                return outcome;
            }
        }
        let outcome = if !statement || !matches!(self.state, TxState::Open(_)) {
            self.run_statement(verdict, text, named.as_ref(), opaque)
                .await
        } else {
            let started = match self.begin_statement(text).await {
                Ok(started) => started,
                Err(outcome) => return outcome,
            };
            let outcome = self
                .run_statement(verdict, text, named.as_ref(), opaque)
                .await;
            self.end_statement(started, outcome).await
        };
        if outcome == Outcome::Ok {
            self.named_ran(named.as_ref());
        }
        outcome
    }

    /// Runs a classified statement where it belongs.
    /// `opaque`, for a write, is the line that marks its preview opaque.
    async fn run_statement(
        &mut self,
        verdict: Verdict,
        text: &str,
        named: Option<&sql::Named>,
        opaque: Option<&str>,
    ) -> Outcome {
        match verdict {
            Verdict::Refused(r) => self.refuse(&r),
            Verdict::Transaction(tc) => self.transaction(tc, text).await,
            Verdict::NonTransactional { what, lock } => self.standalone(what, lock, text).await,
            _ if matches!(self.state, TxState::Failed(_)) => self.aborted(),
            Verdict::Read => match self.state {
                TxState::Idle => self.read_only(text).await,
                // A cursor declared there stays open: its savepoint is released.
                _ => {
                    let keep = matches!(named, Some(sql::Named::Cursor(_)));
                    self.read_in_transaction(text, keep).await
                }
            },
            Verdict::Write { .. } | Verdict::Ddl => {
                if let Some(outcome) = self.log_gate() {
                    return outcome;
                }
                if self.state == TxState::Idle {
                    if let Some(outcome) = self.open_write(None).await {
                        return outcome;
                    }
                }
                let prepared = self.prepared_text(named);
                self.write(text, verdict == Verdict::Ddl, prepared.as_deref(), opaque)
                    .await
            }
            Verdict::Session => self.session_setting(text).await,
        }
    }

    /// What the probe must see inside a transaction pgward opened as `role`: the
    /// transaction's application_name when it set one, the session's otherwise, and the
    /// configured timeouts.
    fn expected(&self, role: &str, xact_start: Option<String>, read_only: bool) -> Expected {
        let application_name = match &self.state {
            TxState::Open(tx) | TxState::Failed(tx) => tx.application_name.clone(),
            TxState::Idle => self.app_name.clone(),
        };
        Expected {
            role: role.to_string(),
            login: self.login.clone(),
            xact_start,
            read_only,
            application_name,
            timeouts: Some(self.timeouts),
        }
    }

    /// A read outside a transaction: `BEGIN READ ONLY`, made read-only for good by the
    /// probe (the first query takes the snapshot), the statement, the probe, ROLLBACK.
    async fn read_only(&mut self, text: &str) -> Outcome {
        let role = self.read_role();
        let mut begin = String::from("BEGIN READ ONLY; ");
        // A `role` default on the login is the baseline for reads, set explicitly.
        if self.settings.env.read_role.is_some() || self.defaults.role_default.is_some() {
            begin.push_str(&format!("SET LOCAL ROLE {}; ", quote_ident(&role)));
        }
        begin.push_str(&self.timeouts());
        begin.push_str(&self.reapplied.sql());
        let mut expected = self.expected(&role, None, true);
        // One statement in the server log: the BEGIN batch, then the probe.
        match probe::probe_after(&self.conn.client, &begin).await {
            Ok(seen) => {
                if let Some(m) = expected.mismatch(&seen) {
                    return self.betrayed(&m).await;
                }
                expected.xact_start = Some(seen.xact_start);
            }
            Err(e) => {
                let _ = self.conn.client.batch_execute("ROLLBACK").await;
                return self.failed(e, text).await;
            }
        }
        let via = self.via();
        let result = self.run_read(text, via).await;
        match result {
            Ok(done) => {
                // A read-only transaction ends with ROLLBACK: nothing it did may take
                // effect at commit (a NOTIFY from a function, say). The probe, the
                // ROLLBACK and the count of session-level advisory locks left go as one
                // statement; a failed probe skips the rest, and the error path rolls back.
                let held = match probe::probe_then_end(&self.conn.client, "ROLLBACK").await {
                    Ok((seen, held)) => {
                        if let Some(m) = expected.mismatch(&seen) {
                            let outcome = self.betrayed(&m).await;
                            self.release_held_advisory_locks(held).await;
                            return outcome;
                        }
                        held
                    }
                    Err(e) => {
                        let _ = self.conn.client.batch_execute("ROLLBACK").await;
                        return self.failed(e, text).await;
                    }
                };
                self.show(text, &done);
                self.release_held_advisory_locks(held).await;
                Outcome::Ok
            }
            Err(e) => {
                let _ = self.conn.client.batch_execute("ROLLBACK").await;
                let outcome = self.failed_run(e, text).await;
                self.release_advisory_locks().await;
                outcome
            }
        }
    }

    /// A harmless session setting outside a transaction.
    async fn plain(&mut self, text: &str) -> Outcome {
        match self
            .conn
            .user_statement(exec::run(
                &self.conn.client,
                &self.conn.tls,
                text,
                self.via(),
            ))
            .await
        {
            Ok(done) => {
                // Outside a transaction pgward set no timeouts, and the session's role
                // is the login's default one.
                let role = match &self.defaults.role_default {
                    Some(d) => d.role.clone(),
                    None => self.login.clone(),
                };
                let expected = Expected {
                    timeouts: None,
                    ..self.expected(&role, None, false)
                };
                match probe::probe(&self.conn.client).await {
                    Ok(seen) => {
                        if let Some(m) = expected.mismatch(&seen) {
                            return self.betrayed(&m).await;
                        }
                    }
                    Err(e) => return self.failed(e, text).await,
                }
                self.show(text, &done);
                self.release_advisory_locks().await;
                Outcome::Ok
            }
            Err(e) => self.failed_run(e, text).await,
        }
    }

    fn timeouts(&self) -> String {
        // What pgward owns is set in its own transactions, never at connect: a pooler
        // refuses startup options, and a session setting would leak to its next client.
        format!(
            "SET LOCAL standard_conforming_strings = on; SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}; \
             SET LOCAL idle_in_transaction_session_timeout = {};",
            self.timeouts.statement, self.timeouts.lock, self.timeouts.idle
        )
    }

    /// Opens the guarded write transaction. `Some(outcome)` when it could not be opened.
    async fn open_write(&mut self, isolation: Option<&str>) -> Option<Outcome> {
        let Some(role) = self.settings.env.write_role.clone() else {
            self.say_error(&format!(
                "refused: environment {:?} has no write role, so writes cannot run under a least-privilege role",
                self.settings.env.name
            ));
            self.say_hint(
                "set write_role for the environment in the config file, or pass --write-role ROLE",
            );
            return Some(Outcome::Refused);
        };
        if self.defaults.standby {
            self.say_error("refused: the server is a standby (read-only): writes cannot run here");
            self.say_hint("connect to the primary to change data");
            return Some(Outcome::Refused);
        }
        // REPEATABLE READ by default: the preview's before/after images come from one
        // snapshot, and a concurrent change to a captured row fails the statement
        // (40001) instead of silently escaping the capture.
        let isolation = match isolation.map(|i| i.to_ascii_uppercase()) {
            None => " ISOLATION LEVEL REPEATABLE READ".to_string(),
            Some(i)
                if [
                    "SERIALIZABLE",
                    "REPEATABLE READ",
                    "READ COMMITTED",
                    "READ UNCOMMITTED",
                ]
                .contains(&i.as_str()) =>
            {
                format!(" ISOLATION LEVEL {i}")
            }
            Some(i) => {
                self.say_error(&format!("refused: unknown isolation level {i:?}"));
                return Some(Outcome::Refused);
            }
        };
        let app = format!(
            "pgward author={} ticket={}",
            self.settings.author,
            self.settings.ticket.as_deref().unwrap_or("none")
        );
        // Author and ticket are user input: printable ASCII only (the server keeps no
        // more of an application_name anyway), so no client encoding can read a byte of
        // it as part of another character, then a literal as libpq's PQescapeLiteral
        // writes it, which reads the same whatever standard_conforming_strings is when
        // the server parses the batch.
        let app: String = app
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
            .collect();
        let app = truncate(&app, 63);
        let begin = format!(
            // READ WRITE stated: pgward, not default_transaction_read_only, chooses.
            "BEGIN READ WRITE{isolation}; SET LOCAL ROLE {}; {}{} SET LOCAL application_name = {}",
            quote_ident(&role),
            self.timeouts(),
            self.reapplied.sql(),
            crate::repl::vars::quote_literal(&app),
        );
        // One statement in the server log: the BEGIN batch, the probe, and the baseline
        // of the transaction's row counters.
        let opened = probe::probe_between(
            &self.conn.client,
            &begin,
            &crate::preview::counts::baseline_sql(),
            crate::preview::counts::baseline_of,
        )
        .await;
        let (seen, baseline) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = self.conn.client.batch_execute("ROLLBACK").await;
                let outcome = self.failed(e, "").await;
                if outcome != Outcome::ConnectionLost {
                    self.say_hint(&format!(
                        "pgward could not switch to write role {role:?}; the login role must be a member of it"
                    ));
                }
                return Some(outcome);
            }
        };
        let read_committed =
            isolation.contains("READ COMMITTED") || isolation.contains("READ UNCOMMITTED");
        // The server keeps application_name cleaned and truncated: what the probe read
        // right after pgward set it, in the same batch, is what it must see from now on.
        let app = seen.application_name.clone();
        let expected = Expected {
            application_name: app.clone(),
            ..self.expected(&role, None, false)
        };
        if let Some(m) = expected.mismatch(&seen) {
            return Some(self.betrayed(&m).await);
        }
        let baseline = match baseline {
            Ok(b) => b,
            Err(e) => return Some(self.counters_failed(&e).await),
        };
        self.changes = Changes {
            baseline,
            ..Changes::default()
        };
        let mut tx = OpenTx::new(role, seen.xact_start);
        tx.read_committed = read_committed;
        tx.application_name = app;
        self.state = TxState::Open(tx);
        None
    }

    /// Runs `text` inside the open guarded transaction, then probes.
    async fn in_transaction(&mut self, text: &str) -> Outcome {
        let result = self
            .conn
            .user_statement(exec::run(
                &self.conn.client,
                &self.conn.tls,
                text,
                self.via(),
            ))
            .await;
        match result {
            Ok(done) => {
                if let Some(outcome) = self.check_open().await {
                    return outcome;
                }
                if let TxState::Open(tx) = &mut self.state {
                    tx.statements.push(text.to_string());
                }
                self.show(text, &done);
                self.unexpected_writes().await
            }
            Err(e) => self.failed_run(e, text).await,
        }
    }

    /// After a statement that was not classified as a write ran in the open
    /// transaction, asks the server whether it changed rows anyway (a function with
    /// side effects, say). If it did, the change is shown and joins the change set.
    async fn unexpected_writes(&mut self) -> Outcome {
        if !matches!(self.state, TxState::Open(_)) {
            return Outcome::Ok;
        }
        let now =
            match crate::preview::counts::since(&self.conn.client, &self.changes.baseline).await {
                Ok(now) => now,
                Err(e) => return self.counters_failed(&e).await,
            };
        let delta = crate::preview::statement::difference(&now, &self.changes.cumulative);
        if !delta.is_empty() {
            let mut shown = Text::painted(
                "WARNING: this statement was not classified as a write, but it changed rows:",
                Paint::Warn,
            );
            shown.push("\n");
            shown.push(crate::preview::statement::counts_table(&delta));
            self.io.out(&shown);
            self.changes.images.add(None);
            self.changes.writes += 1;
            self.changes.cumulative = now;
        }
        Outcome::Ok
    }

    /// A read inside the open transaction: it sees the uncommitted change, but runs in a
    /// read-only savepoint that is rolled back, so the database refuses any write it
    /// tries (a function with side effects, say), DDL included.
    async fn read_in_transaction(&mut self, text: &str, keep: bool) -> Outcome {
        const BEGIN: &str = "SAVEPOINT pgward_read; SET LOCAL transaction_read_only = on";
        const END: &str = "ROLLBACK TO SAVEPOINT pgward_read; RELEASE SAVEPOINT pgward_read";
        // A released savepoint keeps the cursor it declared (a DECLARE only plans its
        // query, and did so read-only); transaction_read_only returns to the
        // transaction's own at the end of the savepoint either way.
        const KEEP: &str = "RELEASE SAVEPOINT pgward_read";
        if let Err(e) = self.conn.client.batch_execute(BEGIN).await {
            return self.failed(e, text).await;
        }
        let via = self.via();
        let result = self.run_read(text, via).await;
        match result {
            Ok(done) => {
                // Probe inside the savepoint: a role change the read attempted is caught
                // (and the transaction rolled back), not quietly undone.
                if let Some(outcome) = self.check_open().await {
                    return outcome;
                }
                let end = if keep { KEEP } else { END };
                if let Err(e) = self.conn.client.batch_execute(end).await {
                    return self.failed(e, text).await;
                }
                if let TxState::Open(tx) = &mut self.state {
                    tx.statements.push(text.to_string());
                }
                self.show(text, &done);
                Outcome::Ok
            }
            Err(e) => {
                // Leave no savepoint of pgward's on the server's stack, whatever happens
                // next to the transaction.
                let _ = self.conn.client.batch_execute(END).await;
                self.failed_run(e, text).await
            }
        }
    }

    /// Probes the open transaction; `Some(outcome)` when it is no longer pgward's.
    async fn check_open(&mut self) -> Option<Outcome> {
        let TxState::Open(tx) = &self.state else {
            return None;
        };
        let expected = self.expected(&tx.role, Some(tx.xact_start.clone()), false);
        match probe::probe(&self.conn.client).await {
            Ok(seen) => match expected.mismatch(&seen) {
                Some(m) => Some(self.betrayed(&m).await),
                None => None,
            },
            Err(e) => Some(self.failed(e, "").await),
        }
    }

    /// [`Session::check_open`] with `before` in front (the RELEASE of pgward's capture
    /// savepoint, or nothing) and the transaction's row counters since the baseline
    /// after it, in one statement: the counters, or the outcome when the probe failed
    /// or saw something pgward did not set up. An error in `before` fails the same way.
    async fn check_open_counted(
        &mut self,
        before: &str,
        text: &str,
    ) -> Result<Result<Vec<TableCounts>, crate::preview::PreviewError>, Outcome> {
        let TxState::Open(tx) = &self.state else {
            if !before.is_empty() {
                if let Err(e) = self.conn.client.batch_execute(before).await {
                    return Err(self.failed(e, text).await);
                }
            }
            return Ok(counts::since(&self.conn.client, &self.changes.baseline).await);
        };
        let expected = self.expected(&tx.role, Some(tx.xact_start.clone()), false);
        let base = &self.changes.baseline;
        let sql = counts::since_sql(base);
        let checked = probe::probe_between(&self.conn.client, before, &sql, |rows| {
            counts::since_of(base, rows)
        })
        .await;
        match checked {
            Ok((seen, now)) => match expected.mismatch(&seen) {
                Some(m) => Err(self.betrayed(&m).await),
                None => Ok(now),
            },
            Err(e) => Err(self.failed(e, text).await),
        }
    }

    async fn transaction(&mut self, tc: TxControl, text: &str) -> Outcome {
        if let TxControl::Savepoint(name) | TxControl::RollbackTo(name) | TxControl::Release(name) =
            &tc
        {
            if name.starts_with("pgward_") {
                self.say_error(&format!(
                    "refused: savepoint names starting with pgward_ are pgward's own ({name})"
                ));
                self.say_hint("choose another savepoint name");
                return Outcome::Refused;
            }
        }
        match (tc, self.state.is_open()) {
            (TxControl::Begin { isolation }, false) => {
                if let Some(outcome) = self.log_gate() {
                    return outcome;
                }
                match self.open_write(isolation.as_deref()).await {
                    Some(outcome) => outcome,
                    None => {
                        self.io.result_tag("BEGIN");
                        Outcome::Ok
                    }
                }
            }
            (TxControl::Begin { .. }, true) => {
                self.say_error("refused: a guarded transaction is already open (nested BEGIN)");
                self.say_hint("COMMIT or ROLLBACK the open transaction first");
                Outcome::Refused
            }
            (TxControl::Commit, true) => self.commit().await,
            (TxControl::Rollback, true) => match self.rollback().await {
                Ok(()) => {
                    self.io.result_tag("ROLLBACK");
                    Outcome::Ok
                }
                Err(f) => self.failed(f, text).await,
            },
            (TxControl::Commit | TxControl::Rollback, false) => {
                self.say_warn("WARNING:  there is no transaction in progress");
                Outcome::Ok
            }
            (TxControl::Savepoint(_) | TxControl::RollbackTo(_) | TxControl::Release(_), false) => {
                self.say_error(&format!(
                    "ERROR:  {}: {} can only be used in transaction blocks",
                    SqlState::NO_ACTIVE_SQL_TRANSACTION.code(),
                    text.split_whitespace()
                        .next()
                        .unwrap_or("SAVEPOINT")
                        .to_uppercase()
                ));
                Outcome::SqlError
            }
            (TxControl::Savepoint(name), true) => {
                if matches!(self.state, TxState::Failed(_)) {
                    return self.aborted();
                }
                let outcome = self.in_transaction(text).await;
                if outcome == Outcome::Ok {
                    self.created_savepoint(&name, named::SavepointEvent::Set);
                    self.changes.savepoint(&name);
                    if let TxState::Open(tx) = &mut self.state {
                        tx.savepoints.push(name);
                    }
                }
                outcome
            }
            (TxControl::RollbackTo(name), true) => self.rollback_to(&name, text).await,
            (TxControl::Release(name), true) => {
                if matches!(self.state, TxState::Failed(_)) {
                    return self.aborted();
                }
                let outcome = self.in_transaction(text).await;
                if outcome == Outcome::Ok {
                    self.created_savepoint(&name, named::SavepointEvent::Released);
                    self.changes.release(&name);
                    if let TxState::Open(tx) = &mut self.state {
                        if let Some(i) = tx.savepoints.iter().rposition(|s| *s == name) {
                            tx.savepoints.truncate(i);
                        }
                    }
                }
                outcome
            }
        }
    }

    async fn rollback_to(&mut self, name: &str, text: &str) -> Outcome {
        let tx = match std::mem::replace(&mut self.state, TxState::Idle) {
            TxState::Open(tx) | TxState::Failed(tx) => tx,
            TxState::Idle => return Outcome::SqlError,
        };
        self.state = TxState::Open(tx);
        // Not `in_transaction`: what a failed statement counted before ROLLBACK TO undid
        // it is no unexpected write of the ROLLBACK TO.
        let outcome = match self
            .conn
            .user_statement(exec::run(
                &self.conn.client,
                &self.conn.tls,
                text,
                self.via(),
            ))
            .await
        {
            Ok(done) => match self.check_open().await {
                Some(outcome) => outcome,
                None => {
                    if let TxState::Open(tx) = &mut self.state {
                        tx.statements.push(text.to_string());
                    }
                    self.show(text, &done);
                    Outcome::Ok
                }
            },
            Err(e) => self.failed_run(e, text).await,
        };
        if outcome == Outcome::Ok {
            // The undone work leaves the change set, its counts included: the server
            // still counts it, so the change set measures and subtracts it.
            match crate::preview::counts::since(&self.conn.client, &self.changes.baseline).await {
                Ok(now) => self.changes.rollback_to(name, now),
                Err(e) => return self.counters_failed(&e).await,
            }
            self.created_savepoint(name, named::SavepointEvent::RolledBackTo);
            if let TxState::Open(tx) = &mut self.state {
                if let Some(i) = tx.savepoints.iter().rposition(|s| s == name) {
                    tx.savepoints.truncate(i + 1);
                }
            }
        }
        outcome
    }

    async fn rollback(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.state.is_open() {
            self.log_rollback(
                "the guarded transaction was rolled back, nothing of it was committed",
            );
        }
        self.state = TxState::Idle;
        self.changes = Changes::default();
        // One statement in the server log: the ROLLBACK, then the count of the
        // session-level advisory locks that outlive it.
        let held = probe::end_then_count(&self.conn.client, "ROLLBACK").await?;
        self.release_held_advisory_locks(held).await;
        Ok(())
    }

    /// The probe saw something pgward did not set up: roll back, loudly.
    async fn betrayed(&mut self, what: &str) -> Outcome {
        let _ = self.rollback().await;
        self.say_error(&format!(
            "GUARD: {what}; the transaction was rolled back and nothing was committed"
        ));
        Outcome::Refused
    }

    /// The row counters could not be read: without them no preview is true, so the
    /// transaction is rolled back.
    async fn counters_failed(&mut self, e: &crate::preview::PreviewError) -> Outcome {
        let _ = self.rollback().await;
        self.say_error(&format!(
            "cannot read the transaction's row counters ({e}); the transaction was rolled back, nothing was committed"
        ));
        Outcome::Refused
    }

    fn aborted(&mut self) -> Outcome {
        self.say_error(&format!(
            "ERROR:  {}: current transaction is aborted, commands ignored until end of transaction block",
            SqlState::IN_FAILED_SQL_TRANSACTION.code()
        ));
        self.say_hint("ROLLBACK, or ROLLBACK TO a savepoint");
        Outcome::SqlError
    }

    fn refuse(&mut self, r: &Refusal) -> Outcome {
        self.say_error(&r.to_string());
        self.say_hint(r.rule.hint());
        Outcome::Refused
    }

    /// The connection is gone before any COMMIT was sent: the server rolls back what was
    /// open. Says why in the server's words when it gave a reason, and what became of
    /// the transaction.
    fn lost(&mut self, e: Option<&tokio_postgres::Error>) -> Outcome {
        self.show_server_reason(e);
        let was_open = self.state.is_open();
        if was_open {
            self.log_rollback("the connection was lost");
        }
        self.state = TxState::Idle;
        self.changes = Changes::default();
        self.say_error(if was_open {
            "connection lost: the open transaction is gone, rolled back by the server; nothing was committed"
        } else {
            "connection lost: no transaction was open; nothing was committed"
        });
        Outcome::ConnectionLost
    }

    /// Shows why the connection ended: the server's FATAL (with DETAIL) carried by `e`
    /// or sent between requests, else what the client saw.
    fn show_server_reason(&mut self, e: Option<&tokio_postgres::Error>) {
        let fatal = e
            .filter(|e| commit::fatal(e))
            .and_then(|e| e.as_db_error())
            .cloned();
        match fatal.or_else(|| self.conn.server_reason()) {
            Some(db) => {
                let shown = render::error::db_error(&db, "");
                self.say_error(shown.trim_end());
            }
            None => {
                let why = e.map_or_else(
                    || "the server closed the connection".to_string(),
                    render::error::one_line,
                );
                self.say_error(&format!("ERROR:  {why}"));
            }
        }
    }

    /// Reports a failure and settles the transaction: with savepoints the transaction
    /// waits for ROLLBACK TO (psql's `=!>`); without, it is rolled back at once.
    async fn failed(&mut self, e: tokio_postgres::Error, text: &str) -> Outcome {
        self.failed_as(e, text, render::error::At::Typed, None)
            .await
    }

    /// As [`Session::failed`], for an error whose position is `at` relative to `text`
    /// (the statement was sent inside other text, or rewritten).
    async fn failed_at(
        &mut self,
        e: tokio_postgres::Error,
        text: &str,
        at: render::error::At,
    ) -> Outcome {
        self.failed_as(e, text, at, None).await
    }

    /// As [`Session::failed`], the server's error shown as the one line `shown` when
    /// given (it is still what `\errverbose` shows in full).
    async fn failed_as(
        &mut self,
        e: tokio_postgres::Error,
        text: &str,
        at: render::error::At,
        shown: Option<String>,
    ) -> Outcome {
        self.flush_notices();
        self.log_error(&e);
        if e.is_closed() || self.conn.client.is_closed() || commit::fatal(&e) {
            return self.lost(Some(&e));
        }
        match e.as_db_error() {
            Some(db) => {
                let shown = shown.unwrap_or_else(|| render::error::db_error_at(db, text, at));
                self.say_error(shown.trim_end());
                self.last_error = Some((db.clone(), text.to_string(), at));
            }
            None => self.say_error(&format!("ERROR:  {}", render::error::one_line(&e))),
        }
        self.after_failure().await
    }

    /// As [`Session::failed`], for a statement whose rows may have come as COPY data
    /// ([`exec::Via::Copy`]).
    async fn failed_run(&mut self, e: exec::Failure, text: &str) -> Outcome {
        match e {
            exec::Failure::Db(e) => self.failed(e, text).await,
            exec::Failure::InCopy(e) => {
                let at = render::error::At::After(exec::COPY_PREFIX_CHARS);
                self.failed_at(e, text, at).await
            }
            exec::Failure::Copy(m) => {
                self.flush_notices();
                self.log_client_error(m.to_string());
                self.say_error(&format!("ERROR:  {m}"));
                self.after_failure().await
            }
        }
    }

    /// How rows travel on this connection ([`exec::Via`]).
    fn via(&self) -> exec::Via {
        exec::Via::for_encoding(&self.defaults.server_encoding)
    }

    /// After a failed statement: an open transaction with savepoints waits for ROLLBACK
    /// TO, any other is rolled back.
    async fn after_failure(&mut self) -> Outcome {
        match std::mem::replace(&mut self.state, TxState::Idle) {
            TxState::Open(tx) | TxState::Failed(tx) if !tx.savepoints.is_empty() => {
                self.state = TxState::Failed(tx);
            }
            TxState::Open(_) | TxState::Failed(_) => {
                self.log_rollback("a statement failed");
                let _ = self.conn.client.batch_execute("ROLLBACK").await;
                self.say_warn("the transaction was rolled back: nothing was committed");
                self.release_advisory_locks().await;
            }
            TxState::Idle => {}
        }
        Outcome::SqlError
    }

    fn show(&mut self, text: &str, done: &exec::Executed) {
        self.log_rows(done.count);
        self.last_escaped = done.escaped;
        if let Some(kept) = &mut self.captured {
            kept.push(done.clone());
            return;
        }
        // The statement's notices came before its result, and psql shows them first.
        self.flush_notices();
        let tag = render::tag::command_tag(text, done.count, done.tag.as_deref());
        if !done.tuples {
            self.io.result_tag(&tag);
            return;
        }
        self.io.result(&done.columns, &done.rows, done.last_part());
        // psql prints the tag after the rows of INSERT/UPDATE/DELETE … RETURNING.
        if render::tag::dml_verb(text).is_some() {
            self.io.result_tag(&tag);
        }
    }

    /// Shows the notices the user's statement caused ([`show_notices`]).
    fn flush_notices(&mut self) {
        show_notices(&mut self.conn.notices, &mut self.io);
    }

    /// Runs the user's read `text`: whole when its rows are taken (a describe, `\gset`),
    /// else streamed, each batch drawn as it comes, after the notices that came before
    /// it (psql shows a statement's notices before its rows).
    async fn run_read(
        &mut self,
        text: &str,
        via: exec::Via,
    ) -> Result<exec::Executed, exec::Failure> {
        let conn = &mut self.conn;
        if self.captured.is_some() {
            return conn
                .user_statement(exec::run(&conn.client, &conn.tls, text, via))
                .await;
        }
        let io = &mut self.io;
        let notices = &mut conn.notices;
        let mut draw = |columns: &[render::table::Column],
                        rows: &[Vec<Option<String>>],
                        part: render::print::Part| {
            show_notices(notices, io);
            io.result(columns, rows, part)
        };
        let run = exec::run_streaming(&conn.client, &conn.tls, text, via, &mut draw);
        crate::conn::as_user(&conn.users, run).await
    }

    // Kept for the say_* family (HELPERS.md), though results now go through Io::result.
    #[allow(dead_code)]
    fn say_out(&mut self, s: &str) {
        self.io.say_out(s);
    }

    fn say_err(&mut self, s: &str) {
        self.io.say_err(s);
    }

    fn say_error(&mut self, s: &str) {
        self.io.say_error(s);
    }

    fn say_warn(&mut self, s: &str) {
        self.io.say_warn(s);
    }

    fn say_hint(&mut self, s: &str) {
        self.io.say_hint(s);
    }

    fn say_note(&mut self, s: &str) {
        self.io.say_note(s);
    }
}

/// Who the server is, for the change digest: its system identifier when the role may
/// read it, its address and port, and its version.
async fn server_identity(client: &crate::conn::Client) -> String {
    let text = |rows: Result<Vec<tokio_postgres::SimpleQueryMessage>, tokio_postgres::Error>| {
        rows.ok()
            .and_then(|m| {
                m.into_iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or("").to_string())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    _ => None,
                })
            })
            .unwrap_or_default()
    };
    let sysid = text(
        client
            .simple_query("SELECT system_identifier::text FROM pg_catalog.pg_control_system()")
            .await,
    );
    let rest = text(
        client
            .simple_query(
                "SELECT coalesce(pg_catalog.inet_server_addr()::text, 'local') || ':' || \
                 coalesce(pg_catalog.inet_server_port()::text, ''), \
                 'PostgreSQL ' || pg_catalog.current_setting('server_version')",
            )
            .await,
    );
    format!("{sysid} {rest}").trim().to_string()
}

/// What a new connection's checks found that the author must see, at start and after
/// `\c`: accepted role-check risks, a standby, and the settings pgward overrides.
fn announce(
    io: &mut Io,
    conn: &Connection,
    accepted: &[String],
    defaults: &defaults::ServerDefaults,
    config: probe::Timeouts,
) {
    for line in accepted {
        io.say_warn(&format!("WARNING: {}", render::escape::one_line(line)));
    }
    if defaults.standby {
        io.say_note("the server is a standby (read-only): reads only, writes are refused");
    }
    let overrides = conn.overrides.iter().cloned();
    for line in overrides.chain(defaults.overrides(config)) {
        io.say_note(&format!("pgward overrides {line}"));
    }
}

/// The timeouts the config asks for, in milliseconds.
fn config_timeouts(settings: &Settings) -> probe::Timeouts {
    let env = &settings.env;
    let ms = |d: crate::config::PgDuration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    probe::Timeouts {
        statement: ms(env.statement_timeout),
        lock: ms(env.lock_timeout),
        idle: ms(env.idle_timeout),
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Shows the notices the user's statement caused
/// ([`crate::conn::Connection::user_statement`]) that are not shown yet. A notice the
/// server raised while reading the text (a truncated identifier, a nonstandard
/// backslash: no context) is shown once, since pgward's rewrite names the typed
/// identifiers again; notices raised by running code (RAISE in a function or trigger:
/// they carry a context) are shown as often as they were raised.
fn show_notices(
    notices: &mut tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::error::DbError>,
    io: &mut Io,
) {
    let mut seen = std::collections::HashSet::new();
    while let Ok(n) = notices.try_recv() {
        let key = (
            n.severity().to_string(),
            n.code().code().to_string(),
            n.message().to_string(),
            n.detail().map(str::to_string),
            n.hint().map(str::to_string),
        );
        if n.where_().is_none() && !seen.insert(key) {
            continue;
        }
        io.say_err(&render::error::db_error(&n, ""));
    }
}
