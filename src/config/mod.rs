//! Configuration: the TOML file model ([`file`]), how the file is found ([`locate`]), and
//! the validated [`Settings`] that the rest of pgward reads ([`settings`]).
//!
//! Two stages, as in ripgrep: raw flags, environment and the TOML file are merged into one
//! validated [`Settings`]. Unlike ripgrep, a bad configuration is fatal: a guard that
//! guesses is no guard.

pub mod duration;
pub mod file;
pub mod locate;
pub mod pooler;
pub mod risk;
pub mod settings;
pub mod tickets;

pub use duration::PgDuration;
pub use file::{ConfigFile, Environment};
pub use pooler::PoolerMode;
pub use risk::Risk;
pub use settings::{ApprovalSettings, EnvSettings, Settings};
pub use tickets::TicketSettings;

use std::path::PathBuf;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid pgward TOML; `message` names the key and the line.
    #[error("invalid config file {path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `--env NAME` names no environment in the file.
    #[error("unknown environment {name:?} (configured: {known}); check --env or {path}")]
    UnknownEnvironment {
        /// The requested name.
        name: String,
        /// The names in the file.
        known: String,
        /// The file.
        path: PathBuf,
    },
    /// `--env` was given but there is no config file.
    #[error("--env {name} needs a config file: none at --config, $PGWARD_CONFIG or {default}")]
    NoConfigFile {
        /// The requested name.
        name: String,
        /// Where pgward looked by default.
        default: String,
    },
    /// The environment needs approval and no ticket was given.
    #[error("environment {env:?} requires a ticket: pass --ticket (e.g. --ticket OPS-123)")]
    TicketRequired {
        /// The environment.
        env: String,
    },
    /// The approval section of an environment is not usable.
    #[error("environment {env:?}, [approval]: {message}")]
    Approval {
        /// The environment.
        env: String,
        /// What is wrong.
        message: String,
    },
    /// `[tickets]` is not usable.
    #[error("config [tickets]: {message}")]
    Tickets {
        /// What is wrong.
        message: String,
    },
    /// A value given on the command line is not valid.
    #[error("invalid {what}: {message}")]
    Flag {
        /// Which flag.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
}
