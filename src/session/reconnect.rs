//! Carrying on when the server ends the connection: idle_session_timeout,
//! idle_in_transaction_session_timeout, a restart, `pg_terminate_backend`, a failover.
//!
//! The interactive shell reconnects like psql ("Attempting reset: Succeeded."), with the
//! parameters that worked (the password included, never prompting) and the same checks
//! a new session gets at start: the same login, its role setup, the server's defaults
//! and identity, so a failover to a standby or to another server is seen. What became of
//! the transaction is said plainly, and nothing of it is ever replayed:
//!
//! - found ended before the input was sent, with no transaction open: the input runs on
//!   the new connection, so the typed statement is not lost;
//! - found ended with a transaction open: the server rolled it back; the input is not run
//!   (it was typed for that transaction);
//! - ended while a statement ran: the statement's fate is the server's (rolled back), and
//!   it is not sent again.
//!
//! Scripts (`-f`, `-c`, piped input) stop instead, with exit code 3: what follows in a
//! script counts on what came before.

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::conn::{self, ConnError, Connection};
use crate::render;

use super::defaults::ServerDefaults;
use super::{probe, roles, Changes, Outcome, Session, TxState};

/// How long one reset may take in all: a server restarting after a crash replays WAL.
const RESET_TIMEOUT: Duration = Duration::from_secs(30);

/// What a connection is checked for before a session uses it, at start and after a reset.
pub(super) struct Inspected {
    /// `session_user`.
    pub(super) login: String,
    /// `application_name` as the server keeps it.
    pub(super) app_name: String,
    /// What the DBA set on the login and database.
    pub(super) defaults: ServerDefaults,
    /// Accepted role-check risks, one line each.
    pub(super) accepted: Vec<String>,
    /// The server's identity, for the change digest.
    pub(super) server: String,
    /// Whether the connection goes through a pooler: the BackendKeyData's pid against
    /// `pg_backend_pid()`.
    pub(super) route: super::pooler::Route,
}

/// Checks `conn` as a session needs it: who it is logged in as, the server's defaults,
/// a role setup the database enforces.
pub(super) async fn inspect(
    conn: &Connection,
    settings: &Settings,
) -> Result<Inspected, crate::Error> {
    let unusable = |e: tokio_postgres::Error| ConnError::Unusable {
        target: conn.params.target(),
        message: render::error::one_line(&e),
    };
    let me = probe::probe(&conn.client).await.map_err(unusable)?;
    let defaults = ServerDefaults::read(&conn.client, me.timeouts, &conn.params.dbname)
        .await
        .map_err(unusable)?;
    let accepted = roles::check_known(
        &conn.client,
        &settings.env,
        &me.session_user,
        conn.server_version,
    )
    .await?
    .lines();
    let server = super::server_identity(&conn.client).await;
    let route = super::pooler::Route::detect(conn.tls.key_pid(), &me.pid);
    Ok(Inspected {
        route,
        login: me.session_user,
        app_name: me.application_name,
        defaults,
        accepted,
        server,
    })
}

impl Session {
    /// The interactive shell reconnects when the server ended the connection; scripts
    /// stop (exit code 3).
    pub fn set_reconnect(&mut self, on: bool) {
        self.reconnects = on;
    }

    /// When the server will end the open transaction for being idle
    /// (idle_in_transaction_session_timeout, as pgward set it), and that timeout; `None`
    /// when no transaction is open or the timeout is off.
    pub fn idle_deadline(&self) -> Option<(Instant, Duration)> {
        let idle = u64::try_from(self.timeouts.idle)
            .ok()
            .filter(|ms| *ms > 0)?;
        if !self.state.is_open() {
            return None;
        }
        let idle = Duration::from_millis(idle);
        Some((self.last_activity + idle, idle))
    }

    /// Before input runs: did the server end the connection while pgward waited on the
    /// author? Then say why and what became of the transaction, and reconnect. `None`
    /// when the input may run (on the old connection or a new one).
    pub(super) async fn revive(&mut self) -> Option<Outcome> {
        if !self.connection_ended().await {
            return None;
        }
        let was_open = self.state.is_open();
        let _ = self.lost(None);
        match self.reset().await {
            Outcome::SqlError if !was_open => None,
            Outcome::SqlError => {
                self.say_warn(
                    "the input was not run: it was typed for the transaction that is gone; type it again to run it in a new one",
                );
                Some(Outcome::SqlError)
            }
            other => Some(other),
        }
    }

    /// True when the connection is closed. The runtime does not run while the author
    /// types, so the connection task may not have read the server's FATAL yet: a few
    /// turns of the scheduler let it (the socket is already readable then).
    async fn connection_ended(&mut self) -> bool {
        for _ in 0..4 {
            if self.conn.client.is_closed() {
                return true;
            }
            tokio::task::yield_now().await;
        }
        self.conn.client.is_closed()
    }

    /// Connects again after the connection was lost (what became of the transaction has
    /// been said): `Outcome::SqlError` when the session goes on, `ConnectionLost` when
    /// no usable connection could be made.
    pub(super) async fn reset(&mut self) -> Outcome {
        self.state = TxState::Idle;
        self.changes = Changes::default();
        // A new connection has no prepared statements.
        self.prepared.clear();
        let attempt = tokio::time::timeout(
            RESET_TIMEOUT,
            conn::reconnect(&self.conn.params, &self.app_name),
        )
        .await;
        let fresh = match attempt {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return self.reset_failed(&e.to_string()),
            Err(_) => {
                return self.reset_failed(&format!(
                    "no connection within {}s",
                    RESET_TIMEOUT.as_secs()
                ))
            }
        };
        let seen = match inspect(&fresh, &self.settings).await {
            Ok(seen) => seen,
            Err(e) => return self.reset_failed(&e.to_string()),
        };
        if seen.login != self.login {
            return self.reset_failed(&format!(
                "the new connection is logged in as {:?}, not {:?}",
                seen.login, self.login
            ));
        }
        let was_standby = self.defaults.standby;
        self.timeouts = seen
            .defaults
            .effective(super::config_timeouts(&self.settings));
        self.defaults = seen.defaults;
        self.accepted = seen.accepted;
        self.app_name = seen.app_name;
        self.server = seen.server;
        self.route = seen.route;
        self.conn = fresh;
        self.say_err("Attempting reset: Succeeded.\n");
        if self.defaults.standby && !was_standby {
            self.say_warn(
                "the server is now a standby (read-only): reads only, writes are refused",
            );
        }
        Outcome::SqlError
    }

    fn reset_failed(&mut self, why: &str) -> Outcome {
        self.say_error(&format!(
            "Attempting reset: Failed. {}",
            render::escape::one_line(why)
        ));
        Outcome::ConnectionLost
    }
}
