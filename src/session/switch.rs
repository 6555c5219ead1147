//! `\c ENV` (`\connect ENV`): the session moves to another configured environment.
//!
//! A switch is a new session in all but the process: the environment's settings are
//! read from the config file again, a new connection is made and put through the same
//! checks as at start ([`super::reconnect::inspect`]: the login, the role setup, the
//! server's defaults and identity, a standby), and what they found is announced as at
//! start. Only then is anything of the old session let go: its log gets its
//! `session_end` and a new log starts with the new environment's `session_start` (a log
//! names one environment, docs/log.md), and the old connection is closed. Anything that
//! fails before that point leaves the current connection, log and settings exactly as
//! they were, and says why in one line.
//!
//! Nothing carries over that belonged to the old database: a switch is refused while a
//! transaction is open (it would be rolled back by a command that does not say so), and
//! prepared statements, created functions, re-applied settings and `\again` (or `--again`)
//! are dropped; the new environment's own `options` settings are taken up.

use std::path::PathBuf;

use crate::conn;
use crate::render::escape::one_line;

use super::{config_timeouts, reconnect, Changes, Outcome, Session};

/// A log this session ended at a switch, kept to be attached to the ticket at the end.
#[derive(Debug, Clone)]
pub struct EndedLog {
    /// The log file.
    pub path: PathBuf,
    /// The approval service key of the environment the log names (to check its tokens).
    pub approver: Option<ed25519_dalek::VerifyingKey>,
}

impl Session {
    /// Switches to configured environment `name`; see the module docs. `Outcome::Ok`
    /// when the session now runs there, `Refused` when it stays where it was.
    pub async fn switch_environment(&mut self, name: &str) -> Outcome {
        let here = self.settings.env.name.clone();
        let refuse = |session: &mut Session, why: &str| {
            session.say_error(&format!(
                "\\connect: {}; still connected to environment {}",
                one_line(why),
                one_line(&here)
            ));
            Outcome::Refused
        };
        if self.state.is_open() {
            return refuse(self, "a transaction is open: COMMIT or ROLLBACK it first");
        }
        if self.replaying.is_some() || self.undoing.is_some() {
            return refuse(
                self,
                "this session replays or undoes a change in this environment",
            );
        }
        let settings = match self.settings.switched(name, |k| std::env::var(k).ok()) {
            Ok(s) => s,
            Err(e) => return refuse(self, &e.to_string()),
        };
        let app = settings.application_name();
        let fresh = match conn::connect(&settings.conn, &app).await {
            Ok(c) => c,
            Err(e) => return refuse(self, &e.to_string()),
        };
        let seen = match reconnect::inspect(&fresh, &settings).await {
            Ok(seen) => seen,
            Err(e) => return refuse(self, &e.to_string()),
        };
        let reapplied = match super::setting::connection_settings(&fresh).await {
            Ok(r) => r,
            Err(e) => return refuse(self, &e.to_string()),
        };
        // The new connection passed every check: from here on the session is the new
        // environment's.
        let config = config_timeouts(&settings);
        super::announce(&mut self.io, &fresh, &seen.accepted, &seen.defaults, config);
        if let Some(line) = super::pooler::summary(&seen.route, settings.env.pooler) {
            self.io.say_note(&line);
        }
        self.release_advisory_locks().await;
        self.log_end(&format!(
            "\\connect to environment {}",
            one_line(&settings.env.name)
        ));
        if let Some(path) = self.log_path() {
            self.ended_logs.push(EndedLog {
                path: path.to_path_buf(),
                approver: self.settings.env.approval.as_ref().map(|a| a.public_key),
            });
        }
        let lapsed = self.ledger_switched();
        self.timeouts = seen.defaults.effective(config);
        self.defaults = seen.defaults;
        self.login = seen.login;
        self.app_name = seen.app_name;
        self.accepted = seen.accepted;
        self.server = seen.server;
        self.route = seen.route;
        self.conn = fresh;
        self.settings = settings;
        self.changes = Changes::default();
        self.reapplied = reapplied;
        self.prepared.clear();
        self.created = Default::default();
        self.journal = Default::default();
        self.last_error = None;
        self.switches += 1;
        let log = self.settings.log.clone();
        self.open_log(&log);
        let db = self.conn.params.dbname.clone();
        let login = self.login.clone();
        self.io.say_out(&format!(
            "You are now connected to database \"{}\" as user \"{}\" (environment {}).",
            one_line(&db),
            one_line(&login),
            one_line(&self.settings.env.name),
        ));
        if let Some(path) = self.log_path().map(|p| p.display().to_string()) {
            self.io
                .say_out(&format!("Session log: {}", one_line(&path)));
        }
        if lapsed {
            self.say_note(&format!(
                "\\again (or --again) was said for environment {}: it does not carry over",
                one_line(&here)
            ));
        }
        Outcome::Ok
    }

    /// How many times `\c` switched environments: the shell reloads what it keeps per
    /// environment (completion's catalog, history, prompt colour) when this changes.
    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// The logs ended at switches, oldest first; the current one is [`Session::log_path`].
    pub fn ended_logs(&self) -> &[EndedLog] {
        &self.ended_logs
    }
}
