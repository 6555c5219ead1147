//! The TOML configuration file, as written by people: unknown keys are errors, and every
//! value is checked while it is parsed so that an error names its key and line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{PgDuration, PoolerMode, Risk};

/// The whole file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Who is typing; defaults to the OS user.
    pub author: Option<String>,
    /// Regular expressions: a statement matching any of them is not kept in the history
    /// (in addition to every statement that mentions a password).
    #[serde(default)]
    pub history_ignore: Vec<String>,
    /// Directory of session logs; default `$XDG_DATA_HOME/pgward/sessions`.
    pub log_dir: Option<PathBuf>,
    /// The operator key that signs session logs; default `$XDG_DATA_HOME/pgward/operator.key`.
    pub key: Option<PathBuf>,
    /// Named environments, e.g. `[environments.prod]`.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Where session logs are attached (`[tickets]`).
    pub tickets: Option<super::tickets::Tickets>,
}

/// One named environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// A `postgresql://` URI or a `key=value` conninfo string (no password: use ~/.pgpass).
    pub url: String,
    /// The least-privilege role writes run as (`SET LOCAL ROLE`). Without it, writes are refused.
    pub write_role: Option<String>,
    /// The role reads run as; the login role when absent.
    pub read_role: Option<String>,
    /// Whether COMMIT needs a second person's approval (and a ticket).
    #[serde(default = "yes")]
    pub require_approval: bool,
    /// `statement_timeout` for every statement.
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout: PgDuration,
    /// `lock_timeout` for every statement.
    #[serde(default = "default_lock_timeout")]
    pub lock_timeout: PgDuration,
    /// `idle_in_transaction_session_timeout` while a guarded transaction is open.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: PgDuration,
    /// Writes affecting more rows than this need the exact count typed to confirm.
    #[serde(default = "default_max_rows")]
    pub max_rows: u64,
    /// At most this many changed rows are drawn per statement (totals are always exact).
    #[serde(default = "default_preview_rows")]
    pub preview_rows: usize,
    /// Prompt colour; production-like names default to red.
    pub color: Option<PromptColor>,
    /// Let `EXECUTE` of a computed string in DO blocks and function bodies through (as an
    /// opaque write). Off by default: only an environment whose role setup the database
    /// enforces should turn it on.
    #[serde(default)]
    pub allow_dynamic_sql: bool,
    /// The approval service that approves COMMITs where `require_approval` is on.
    pub approval: Option<Approval>,
    /// Findings of the role check accepted by name; any other finding refuses to open
    /// the environment.
    #[serde(default)]
    pub accept_risks: Vec<Risk>,
    /// An earlier environment a write must have committed in first (its ledger is asked
    /// for the change's statement fingerprints; without them COMMIT needs `\again`).
    pub promote_from: Option<String>,
    /// The pool mode of a connection pooler between pgward and the server, when the DBA
    /// declares one (`"session"` or `"transaction"`): whether statements that run alone
    /// may run through it (see [`PoolerMode`]).
    pub pooler: Option<PoolerMode>,
}

/// `[environments.NAME.approval]`: where COMMITs are approved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The service's base URL (`http://127.0.0.1:8765`, `https://approve.internal`).
    pub url: String,
    /// The service's Ed25519 public key, 64 hex digits (`pgward approver keygen` prints it).
    pub public_key: String,
    /// File holding the author's credential (mode 0600).
    pub credential_file: Option<std::path::PathBuf>,
    /// Variable holding the author's credential.
    pub credential_env: Option<String>,
    /// Reviewers allowed to approve in this environment; empty allows any but the author.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// How long COMMIT waits for a decision.
    #[serde(default = "default_wait")]
    pub wait: PgDuration,
    /// Whether the reviewer must type the approval code at this screen.
    #[serde(default = "yes")]
    pub require_code: bool,
    /// A CA file for the service's TLS certificate, besides the bundled Mozilla roots.
    pub ca_file: Option<std::path::PathBuf>,
}

fn default_wait() -> PgDuration {
    PgDuration(std::time::Duration::from_secs(300))
}

/// Colours the prompt can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptColor {
    /// Red, for production.
    Red,
    /// Yellow, for staging.
    Yellow,
    /// Green.
    Green,
    /// Blue.
    Blue,
    /// Cyan.
    Cyan,
    /// Magenta.
    Magenta,
    /// No colour.
    None,
}

fn yes() -> bool {
    true
}
fn default_statement_timeout() -> PgDuration {
    PgDuration(std::time::Duration::from_secs(30))
}
fn default_lock_timeout() -> PgDuration {
    PgDuration(std::time::Duration::from_secs(5))
}
fn default_idle_timeout() -> PgDuration {
    PgDuration(std::time::Duration::from_secs(600))
}
fn default_max_rows() -> u64 {
    1000
}
fn default_preview_rows() -> usize {
    20
}

impl Environment {
    /// An environment defined by flags alone.
    pub fn ad_hoc(write_role: Option<String>, read_role: Option<String>) -> Environment {
        Environment {
            url: String::new(),
            write_role,
            read_role,
            require_approval: false,
            statement_timeout: default_statement_timeout(),
            lock_timeout: default_lock_timeout(),
            idle_timeout: default_idle_timeout(),
            max_rows: default_max_rows(),
            preview_rows: default_preview_rows(),
            color: None,
            allow_dynamic_sql: false,
            approval: None,
            accept_risks: Vec::new(),
            promote_from: None,
            pooler: None,
        }
    }
}
