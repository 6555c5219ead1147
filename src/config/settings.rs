//! The validated settings of one session: the environment, the connection, the author
//! and the ticket, merged from flags, `PG*` variables and the config file.

use std::path::PathBuf;

use crate::audit::LogTarget;
use crate::cli::ShellArgs;
use crate::conn::{ConnFlags, ConnParams, PasswordPrompt};
use crate::error::Error;

use super::file::{ConfigFile, Environment, PromptColor};
use super::{locate, ConfigError, PgDuration, PoolerMode, Risk};

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
    /// Whether dynamic SQL in DO blocks and function bodies is let through.
    pub allow_dynamic_sql: bool,
    /// The approval service, where one is configured and `require_approval` is on.
    pub approval: Option<ApprovalSettings>,
    /// Role-check findings accepted by name (`accept_risks`).
    pub accept_risks: Vec<Risk>,
    /// The environment whose ledger must hold a write's fingerprints first.
    pub promote_from: Option<String>,
    /// The pool mode of a pooler the DBA declared in front of the server (`pooler`).
    pub pooler: Option<PoolerMode>,
}

/// A validated `[environments.NAME.approval]`.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// The service's base URL.
    pub url: String,
    /// The service's public key.
    pub public_key: ed25519_dalek::VerifyingKey,
    /// The author's credential.
    pub credential: crate::conn::Secret,
    /// Allowed reviewers (empty: any but the author).
    pub reviewers: Vec<String>,
    /// How long COMMIT waits.
    pub wait: std::time::Duration,
    /// Whether the code must be typed.
    pub require_code: bool,
    /// Extra CA for the service.
    pub ca_file: Option<PathBuf>,
}

impl ApprovalSettings {
    /// Validates `raw` for environment `env`, reading the credential through `var`.
    pub fn new(
        env: &str,
        raw: &super::file::Approval,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ApprovalSettings, ConfigError> {
        let bad = |message: String| ConfigError::Approval {
            env: env.to_string(),
            message,
        };
        let public_key = crate::approval::key::parse_public(&raw.public_key).ok_or_else(|| {
            bad("public_key must be the 64 hex digits `pgward approver keygen` printed".into())
        })?;
        let url = raw.url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad(format!(
                "url {url:?} must start with http:// or https://"
            )));
        }
        if raw.wait.0.is_zero() {
            return Err(bad("wait must be more than 0".into()));
        }
        let credential = crate::approval::credential::load(
            raw.credential_file.as_deref(),
            raw.credential_env.as_deref(),
            var,
        )
        .map_err(bad)?;
        Ok(ApprovalSettings {
            url,
            public_key,
            credential,
            reviewers: raw.reviewers.clone(),
            wait: raw.wait.0,
            require_code: raw.require_code,
            ca_file: raw.ca_file.clone(),
        })
    }
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
            allow_dynamic_sql: env.allow_dynamic_sql,
            color: env.color.unwrap_or(if production {
                PromptColor::Red
            } else {
                PromptColor::Green
            }),
            approval: None,
            accept_risks: env.accept_risks.clone(),
            promote_from: env.promote_from.clone(),
            pooler: env.pooler,
        }
    }

    /// What the classifier may let through in this environment.
    pub fn classify_options(&self) -> crate::sql::Options {
        crate::sql::Options {
            allow_dynamic_sql: self.allow_dynamic_sql,
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
    /// Where the session log goes and which key signs it.
    pub log: LogTarget,
    /// `--no-color`: no colour anywhere, as with `NO_COLOR`.
    pub no_color: bool,
    /// Where session logs are attached, when `[tickets]` is configured.
    pub tickets: Option<super::TicketSettings>,
    /// The environments the config file names, in order (`\c` completes them).
    pub environments: Vec<String>,
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
                let (env, url) = environment(&file, path.as_deref(), name, &var)?;
                if args.write_role.is_some() || args.read_role.is_some() {
                    let place = path
                        .as_deref()
                        .unwrap_or(std::path::Path::new(""))
                        .display();
                    return Err(ConfigError::Flag {
                        what: "--write-role/--read-role",
                        message: format!(
                            "roles of environment {name:?} come from {place}; change them there"
                        ),
                    }
                    .into());
                }
                (env, Some(url))
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
        nonempty_roles(&env)?;
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
            log: log_target(&file, args.log_dir.as_deref()),
            tickets: tickets(&file)?,
            config_path: path,
            history_ignore: file.history_ignore.clone(),
            environments: file.environments.keys().cloned().collect(),
            no_color: args.no_color,
        })
    }

    /// The settings of configured environment `name` for the same author, ticket, log
    /// and output (`\c NAME` in the shell): the config file is read again, and the
    /// connection is the environment's `url` with the `PG*` variables (read through
    /// `var`) and `-w`/`-W`, as `pgward --env NAME` would make it. The command line's
    /// `-h -p -U -d` described the first environment and are not carried over.
    pub fn switched(
        &self,
        name: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let Some(path) = &self.config_path else {
            return Err(ConfigError::NoConfigFile {
                name: name.to_string(),
                default: locate::default_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/pgward/config.toml".into()),
            }
            .into());
        };
        let file = locate::load(path)?;
        let (env, url) = environment(&file, Some(path), name, &var)?;
        let flags = ConnFlags {
            host: None,
            port: None,
            user: None,
            dbname: None,
            prompt: self.conn.prompt,
        };
        let conn = ConnParams::resolve(Some(&url), &flags, &var)?;
        nonempty_roles(&env)?;
        if env.require_approval && self.ticket.is_none() {
            return Err(ConfigError::TicketRequired { env: env.name }.into());
        }
        Ok(Settings {
            env,
            conn,
            environments: file.environments.keys().cloned().collect(),
            ..self.clone()
        })
    }

    /// The `application_name` pgward connects with: its own name, the author and the
    /// ticket, then the one the connection parameters ask for.
    pub fn application_name(&self) -> String {
        let own = format!(
            "pgward ({}{})",
            self.author,
            self.ticket
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default()
        );
        self.conn.application_name(&own)
    }
}

/// A role name that is empty (or blank) is an error, not "no role".
fn nonempty_roles(env: &EnvSettings) -> Result<(), ConfigError> {
    if let Some(role) = env.write_role.as_deref().or(env.read_role.as_deref()) {
        if role.trim().is_empty() {
            return Err(ConfigError::Flag {
                what: "role",
                message: "role names must not be empty".into(),
            });
        }
    }
    Ok(())
}

/// Configured environment `name` of `file` (read from `path`): its validated settings
/// (with its approval service when it requires approval) and its `url`.
fn environment(
    file: &ConfigFile,
    path: Option<&std::path::Path>,
    name: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(EnvSettings, String), Error> {
    let Some(p) = path else {
        return Err(ConfigError::NoConfigFile {
            name: name.to_string(),
            default: locate::default_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.config/pgward/config.toml".into()),
        }
        .into());
    };
    let entry = file
        .environments
        .get(name)
        .ok_or_else(|| ConfigError::UnknownEnvironment {
            name: name.to_string(),
            known: file
                .environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            path: p.to_path_buf(),
        })?;
    let mut entry = entry.clone();
    entry.url = entry.url.trim().to_string();
    let mut env = EnvSettings::new(name, &entry);
    if let (true, Some(raw)) = (entry.require_approval, &entry.approval) {
        env.approval = Some(ApprovalSettings::new(name, raw, var)?);
    }
    Ok((env, entry.url))
}

/// The log directory and operator key: `--log-dir`, else the file's `log_dir`, else
/// `$XDG_DATA_HOME/pgward/sessions`; the file's `key`, else
/// `$XDG_DATA_HOME/pgward/operator.key`. A leading `~/` in the file means the home directory.
pub fn log_target(file: &ConfigFile, log_dir: Option<&std::path::Path>) -> LogTarget {
    let data = dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("pgward");
    LogTarget {
        dir: log_dir
            .map(std::path::Path::to_path_buf)
            .or_else(|| file.log_dir.as_deref().map(expand_home))
            .unwrap_or_else(|| data.join("sessions")),
        key: file
            .key
            .as_deref()
            .map(expand_home)
            .unwrap_or_else(|| data.join("operator.key")),
    }
}

/// The validated `[tickets]` of `file`, if it has one.
pub fn tickets(file: &ConfigFile) -> Result<Option<super::TicketSettings>, ConfigError> {
    file.tickets
        .as_ref()
        .map(|raw| super::TicketSettings::new(raw, expand_home))
        .transpose()
}

fn expand_home(p: &std::path::Path) -> PathBuf {
    match (p.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}
