//! What the DBA set on the login and the database (`ALTER ROLE … SET`, `ALTER DATABASE …
//! SET`), read once at start, and what pgward does about each: timeouts only tighten (the
//! stricter of the server's value and pgward's config wins), pgward states every
//! transaction's access mode itself (so `default_transaction_read_only` cannot break a
//! write), a default `role` is named with the statement that clears it and neutralised
//! inside pgward's transactions, and a standby is recognised so writes are refused up
//! front. Each override is announced at start in one line.
//!
//! The values are read from the session as it stands right after login, before pgward
//! sets anything: that is the server's own resolution of role, database and server
//! defaults, the same one psql would live with.

use tokio_postgres::SimpleQueryMessage;

use crate::conn::Client;

use super::probe::Timeouts;

const READ: &str = "SELECT pg_catalog.current_setting('default_transaction_read_only'), \
     pg_catalog.current_setting('default_transaction_isolation'), \
     pg_catalog.pg_is_in_recovery()::pg_catalog.text, \
     current_user::pg_catalog.text, session_user::pg_catalog.text, \
     pg_catalog.current_setting('server_encoding')";

// Where each value came from: only what someone set (not PostgreSQL's built-in default)
// is announced as overridden.
const SOURCES: &str = "SELECT name, source FROM pg_catalog.pg_settings WHERE name IN \
     ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', \
      'default_transaction_read_only', 'default_transaction_isolation')";

// The most specific `role` default wins, as the server applies them: the login in this
// database, then the login anywhere, then this database for every login.
const ROLE_SOURCE: &str = "SELECT s.setrole <> 0, s.setdatabase <> 0 \
     FROM pg_catalog.pg_db_role_setting s \
     WHERE (s.setrole = 0 OR s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user)) \
       AND (s.setdatabase = 0 OR s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) \
       AND EXISTS (SELECT 1 FROM pg_catalog.unnest(s.setconfig) c WHERE c LIKE 'role=%') \
     ORDER BY (s.setrole <> 0 AND s.setdatabase <> 0) DESC, s.setrole <> 0 DESC LIMIT 1";

/// The server's defaults for this login and database, as read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDefaults {
    /// The timeouts in milliseconds (0 = off).
    pub timeouts: Timeouts,
    /// `default_transaction_read_only` is on.
    pub read_only: bool,
    /// `default_transaction_isolation`.
    pub isolation: String,
    /// `pg_is_in_recovery()`: a standby.
    pub standby: bool,
    /// The role a `role` default put in effect at login, when it is not the login.
    pub role_default: Option<RoleDefault>,
    /// pg_settings.source of the settings above, by name (absent: built-in default).
    pub sources: std::collections::BTreeMap<String, String>,
    /// `server_encoding`: `SQL_ASCII` databases may hold bytes the server cannot send
    /// as UTF-8.
    pub server_encoding: String,
}

/// A `role` setting on the login or the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefault {
    /// The role it sets.
    pub role: String,
    /// The statement that clears it.
    pub clear: String,
}

impl ServerDefaults {
    /// Reads the defaults; `timeouts` are the session's values right after login (the
    /// start probe reads them).
    pub async fn read(
        client: &Client,
        timeouts: Timeouts,
        dbname: &str,
    ) -> Result<ServerDefaults, tokio_postgres::Error> {
        let row = first_row(client.simple_query(READ).await?);
        let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (current, login) = (get(3), get(4));
        let role_default = if current != login {
            let source = first_row(client.simple_query(ROLE_SOURCE).await?);
            let on_role = source.first().cloned().flatten().as_deref() == Some("t");
            let in_db = source.get(1).cloned().flatten().as_deref() == Some("t");
            let (r, d) = (quote_ident(&login), quote_ident(dbname));
            let clear = match (on_role, in_db) {
                (true, true) => format!("ALTER ROLE {r} IN DATABASE {d} RESET role"),
                (false, true) => format!("ALTER DATABASE {d} RESET role"),
                _ => format!("ALTER ROLE {r} RESET role"),
            };
            Some(RoleDefault {
                role: current,
                clear,
            })
        } else {
            None
        };
        let sources = client
            .simple_query(SOURCES)
            .await?
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((
                    r.get(0).unwrap_or_default().to_string(),
                    r.get(1).unwrap_or_default().to_string(),
                )),
                _ => None,
            })
            .filter(|(_, source)| source != "default")
            .collect();
        Ok(ServerDefaults {
            sources,
            timeouts,
            read_only: get(0) == "on",
            isolation: get(1),
            standby: get(2) == "true",
            role_default,
            server_encoding: get(5),
        })
    }

    /// The timeouts pgward sets in its transactions: per timeout, the stricter of the
    /// server's and `config`'s.
    pub fn effective(&self, config: Timeouts) -> Timeouts {
        Timeouts {
            statement: stricter(self.timeouts.statement, config.statement),
            lock: stricter(self.timeouts.lock, config.lock),
            idle: stricter(self.timeouts.idle, config.idle),
        }
    }

    /// One line per server setting pgward overrides, and why.
    pub fn overrides(&self, config: Timeouts) -> Vec<String> {
        let mut lines = Vec::new();
        let effective = self.effective(config);
        for (name, server, used) in [
            (
                "statement_timeout",
                self.timeouts.statement,
                effective.statement,
            ),
            ("lock_timeout", self.timeouts.lock, effective.lock),
            (
                "idle_in_transaction_session_timeout",
                self.timeouts.idle,
                effective.idle,
            ),
        ] {
            if let (Some(source), true) = (self.source(name), server != used) {
                lines.push(format!(
                    "{name} = {} ({source}) becomes {} in pgward's transactions: pgward's config is stricter, and pgward only tightens timeouts",
                    ms(server),
                    ms(used)
                ));
            }
        }
        if self.read_only && !self.standby {
            lines.push(
                "default_transaction_read_only = on: pgward states each transaction's access mode (reads READ ONLY, writes READ WRITE)"
                    .into(),
            );
        }
        let isolation = self.source("default_transaction_isolation");
        if let (Some(source), false) = (isolation, self.isolation == "repeatable read") {
            lines.push(format!(
                "default_transaction_isolation = {} ({source}): writes run REPEATABLE READ unless BEGIN names a level (the preview needs one snapshot)",
                self.isolation
            ));
        }
        if let Some(d) = &self.role_default {
            lines.push(format!(
                "role = {} (a default on the login or database): reads without a read_role run as {}, set explicitly in each transaction, and writes as the write role; to clear it: {}",
                d.role, d.role, d.clear
            ));
        }
        lines
    }
}

impl ServerDefaults {
    /// Where `name`'s value was set, in words; `None` for PostgreSQL's built-in default.
    fn source(&self, name: &str) -> Option<String> {
        let source = self.sources.get(name)?;
        Some(match source.as_str() {
            "user" => "set on the role".into(),
            "database" => "set on the database".into(),
            "database user" => "set on the role in this database".into(),
            "configuration file" => "set in the server's configuration".into(),
            other => format!("source: {other}"),
        })
    }
}

/// The stricter of two timeouts in milliseconds, where 0 is off.
pub fn stricter(a: i64, b: i64) -> i64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}

/// A timeout for people: `off`, `250ms`, `2s`, `1min`.
pub fn ms(v: i64) -> String {
    match v {
        0 => "off".into(),
        v if v % 60_000 == 0 => format!("{}min", v / 60_000),
        v if v % 1000 == 0 => format!("{}s", v / 1000),
        v => format!("{v}ms"),
    }
}

fn first_row(messages: Vec<SimpleQueryMessage>) -> Vec<Option<String>> {
    messages
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(statement: i64, lock: i64, idle: i64) -> ServerDefaults {
        ServerDefaults {
            timeouts: Timeouts {
                statement,
                lock,
                idle,
            },
            read_only: false,
            isolation: "repeatable read".into(),
            standby: false,
            role_default: None,
            server_encoding: "UTF8".into(),
            sources: [
                "statement_timeout",
                "lock_timeout",
                "default_transaction_read_only",
                "default_transaction_isolation",
            ]
            .iter()
            .map(|n| (n.to_string(), "user".to_string()))
            .collect(),
        }
    }

    const CONFIG: Timeouts = Timeouts {
        statement: 30_000,
        lock: 2_000,
        idle: 600_000,
    };

    #[test]
    fn timeouts_only_tighten() {
        let s = server(1_000, 0, 900_000);
        let e = s.effective(CONFIG);
        assert_eq!(
            e,
            Timeouts {
                statement: 1_000,
                lock: 2_000,
                idle: 600_000
            }
        );
        assert_eq!(stricter(0, 0), 0);
        assert_eq!(stricter(0, 5), 5);
        assert_eq!(stricter(7, 0), 7);
    }

    #[test]
    fn overrides_name_only_what_pgward_changes() {
        let s = server(1_000, 0, 600_000);
        let lines = s.overrides(CONFIG);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("lock_timeout = off (set on the role) becomes 2s"),
            "{lines:?}"
        );
        // idle_in_transaction_session_timeout is the built-in default: not announced.
        let s = server(1_000, 2_000, 0);
        assert_eq!(s.overrides(CONFIG), Vec::<String>::new());
        let mut s = server(30_000, 2_000, 600_000);
        s.read_only = true;
        s.isolation = "serializable".into();
        s.role_default = Some(RoleDefault {
            role: "app_admin".into(),
            clear: "ALTER ROLE \"ops\" RESET role".into(),
        });
        let lines = s.overrides(CONFIG);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[2].contains("ALTER ROLE \"ops\" RESET role"));
    }

    #[test]
    fn timeouts_read_like_settings() {
        assert_eq!(ms(0), "off");
        assert_eq!(ms(250), "250ms");
        assert_eq!(ms(2_000), "2s");
        assert_eq!(ms(600_000), "10min");
    }
}
