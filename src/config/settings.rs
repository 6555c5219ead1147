//! The validated settings of one session: the environment, the connection, the author
//! and the ticket, merged from flags, `PG*` variables and the config file.

use std::path::PathBuf;

use crate::cli::ShellArgs;
use crate::conn::{ConnFlags, ConnParams, PasswordPrompt};
use crate::error::Error;

use super::file::{Environment, PromptColor};
use super::{locate, ConfigError, PgDuration, Risk};

/// The environment a session runs in.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// Its name (what the author types to confirm a COMMIT).
    pub name: String,
    /// Role for writes; writes are refused without one.
    pub write_role: Option<String>,
    /// Role for reads; the login role when absent.
    pub read_role: Option<String>,
    /// Whether COMMIT needs a second person's approval.
    pub require_approval: bool,
    /// statement_timeout.
    pub statement_timeout: PgDuration,
    /// lock_timeout.
    pub lock_timeout: PgDuration,
    /// idle_in_transaction_session_timeout.
    pub idle_timeout: PgDuration,
    /// Row threshold for writes.
    pub max_rows: u64,
    /// Changed rows drawn per statement.
    pub preview_rows: usize,
    /// Prompt colour.
    pub color: PromptColor,
    /// Role-check findings accepted by name (`accept_risks`).
    pub accept_risks: Vec<Risk>,
}

impl EnvSettings {
    /// Builds from a file entry; production-like names default to a red prompt.
    pub fn new(name: &str, env: &Environment) -> EnvSettings {
        let production = ["prod", "production", "live"]
            .iter()
            .any(|p| name.to_ascii_lowercase().starts_with(p));
        EnvSettings {
            name: name.to_string(),
            write_role: env.write_role.clone(),
            read_role: env.read_role.clone(),
            require_approval: env.require_approval,
            statement_timeout: env.statement_timeout,
            lock_timeout: env.lock_timeout,
            idle_timeout: env.idle_timeout,
            max_rows: env.max_rows,
            preview_rows: env.preview_rows,
            color: env.color.unwrap_or(if production {
                PromptColor::Red
            } else {
                PromptColor::Green
            }),
            accept_risks: env.accept_risks.clone(),
        }
    }
}

/// Everything a session needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The environment.
    pub env: EnvSettings,
    /// Connection parameters.
    pub conn: ConnParams,
    /// Who is typing.
    pub author: String,
    /// The ticket, if any.
    pub ticket: Option<String>,
    /// The config file used, if any.
    pub config_path: Option<PathBuf>,
    /// The config file's `history_ignore` patterns (each a valid regular expression).
    pub history_ignore: Vec<String>,
}

impl Settings {
    /// Resolves flags, variables (read through `var`) and the config file.
    pub fn resolve(
        args: &ShellArgs,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let path = locate::find(
            args.config.as_deref(),
            var("PGWARD_CONFIG").map(PathBuf::from),
        );
        let file = match &path {
            Some(p) => locate::load(p)?,
            None => Default::default(),
        };
        let flags = ConnFlags {
            host: args.host.clone(),
            port: args.port,
            user: args.username.clone().or_else(|| args.user_arg.clone()),
            dbname: args.dbname.clone().or_else(|| args.db_arg.clone()),
            prompt: if args.no_password {
                PasswordPrompt::Never
            } else if args.password {
                PasswordPrompt::Always
            } else {
                PasswordPrompt::Auto
            },
        };
        let (env, url) = match &args.env {
            Some(name) => {
                let Some(p) = &path else {
                    return Err(ConfigError::NoConfigFile {
                        name: name.clone(),
                        default: locate::default_path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "~/.config/pgward/config.toml".into()),
                    }
                    .into());
                };
                let entry =
                    file.environments
                        .get(name)
                        .ok_or_else(|| ConfigError::UnknownEnvironment {
                            name: name.clone(),
                            known: file
                                .environments
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", "),
                            path: p.clone(),
                        })?;
                let mut entry = entry.clone();
                if args.write_role.is_some() || args.read_role.is_some() {
                    return Err(ConfigError::Flag {
                        what: "--write-role/--read-role",
                        message: format!(
                            "roles of environment {name:?} come from {}; change them there",
                            p.display()
                        ),
                    }
                    .into());
                }
                entry.url = entry.url.trim().to_string();
                (EnvSettings::new(name, &entry), Some(entry.url))
            }
            None => {
                let adhoc = Environment::ad_hoc(args.write_role.clone(), args.read_role.clone());
                (EnvSettings::new("adhoc", &adhoc), None)
            }
        };
        let conn = ConnParams::resolve(url.as_deref(), &flags, &var)?;
        let mut env = env;
        if args.env.is_none() {
            // An ad-hoc environment is named after its database: that is what the
            // author types to confirm a COMMIT.
            env.name = conn.dbname.clone();
        }
        if let Some(role) = env.write_role.as_deref().or(env.read_role.as_deref()) {
            if role.trim().is_empty() {
                return Err(ConfigError::Flag {
                    what: "role",
                    message: "role names must not be empty".into(),
                }
                .into());
            }
        }
        let ticket = args.ticket.clone().filter(|t| !t.trim().is_empty());
        if let Some(t) = &ticket {
            let ok = t.len() <= 64
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:/#-".contains(c));
            if !ok {
                return Err(ConfigError::Flag {
                    what: "--ticket",
                    message: format!(
                        "{t:?}: a ticket id is at most 64 letters, digits and . _ : / # -"
                    ),
                }
                .into());
            }
        }
        if env.require_approval && ticket.is_none() {
            return Err(ConfigError::TicketRequired { env: env.name }.into());
        }
        let author = args
            .author
            .clone()
            .or(file.author.clone())
            .or_else(|| whoami::username().ok())
            .unwrap_or_else(|| "unknown".into());
        for pattern in &file.history_ignore {
            if let Err(e) = regex::Regex::new(pattern) {
                return Err(ConfigError::Flag {
                    what: "history_ignore pattern",
                    message: format!("{pattern:?}: {e}"),
                }
                .into());
            }
        }
        Ok(Settings {
            env,
            conn,
            author,
            ticket,
            config_path: path,
            history_ignore: file.history_ignore.clone(),
        })
    }
}
