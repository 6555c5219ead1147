//! Command-line flags. psql's letters keep psql's meaning (`-h -p -U -d -w -W -c -f`,
//! `-v -X` for script variables and the rc file, and the output flags `-A -t -F -R -x -P
//! -o -q --csv`); pgward's own options
//! (`--env`, `--ticket`, …) have no letter, so `psql -tc …` habits never land on them.
//! `--help` has no short form, as in psql (`-?` is not offered).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A guarded interactive SQL shell for PostgreSQL: every write runs in a transaction under
/// a least-privilege role, and nothing commits except through pgward's own COMMIT.
#[derive(Debug, Parser)]
#[command(
    name = "pgward",
    version,
    disable_help_flag = true,
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 ok, 1 SQL error, 2 refused by policy (or not confirmed), 3 configuration or connection error (or connection lost before COMMIT), 4 committed locally but the synchronous standby did not confirm it; connection lost after COMMIT was sent, then the server said: 5 committed, 6 rolled back, 7 still in progress, 8 could not be asked; 9 ended by SIGTERM or SIGHUP (the open transaction rolled back)."
)]
pub struct Cli {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help, global = true)]
    pub help: Option<bool>,

    /// What to do; without a subcommand, open the shell.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Shell options.
    #[command(flatten)]
    pub shell: ShellArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it.
    Demo {
        /// What to run instead of the interactive prompt.
        #[command(flatten)]
        script: ScriptArgs,
    },
    /// Classify the statements in SQL files without connecting (for code review and CI).
    ///
    /// Exit status: 0 clean, 2 when any statement would be refused, 1 on warnings with --strict.
    Check(CheckArgs),
    /// The built-in approval service: serve it, make its key, manage reviewers and authors.
    Approver {
        /// What to do.
        #[command(subcommand)]
        command: ApproverCommand,
    },
    /// Print shell completions for SHELL to standard output.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Create the operator's Ed25519 key that signs session logs (mode 0600) and print its public key.
    Keygen {
        /// Where to write the key [default: config `key`, else $XDG_DATA_HOME/pgward/operator.key].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Verify, show, export or list session logs.
    Log {
        /// What to do with the logs.
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Run the statements of a committed change, read from its session log, in another environment.
    ///
    /// The whole pipeline applies (guard, preview, run once, approval, ledger); at COMMIT
    /// the original counts are shown beside the new ones, and differences are flagged.
    Replay(ReplayArgs),
    /// Undo a committed change with the undo SQL its session log stored.
    ///
    /// Refused unless every row the change left is still as the commit left it (the rows
    /// that changed are named); then the same preview, run-once check and approval apply.
    Undo(UndoArgs),
    /// Create or list the in-database ledger of committed changes (pgward.ledger).
    Ledger {
        /// What to do with the ledger.
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

/// `pgward ledger …`.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create pgward.ledger in the environment's database and grant its roles what they need.
    ///
    /// Run it as a DBA role (e.g. -U the database owner): the ledger must not belong to a
    /// role a pgward session can become.
    Init {
        /// The environment.
        #[command(flatten)]
        target: LedgerTarget,
        /// Print the SQL (for a DBA to run) instead of running it.
        #[arg(long)]
        print_sql: bool,
    },
    /// List the committed changes the ledger holds, oldest first.
    Show {
        /// The environment.
        #[command(flatten)]
        target: LedgerTarget,
        /// Only changes of this ticket.
        #[arg(short = 't', long, value_name = "ID")]
        ticket: Option<String>,
    },
}

/// `pgward undo` options.
#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// The session log that holds the change.
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// The change's commit_intent (or commit) record in that log.
    #[arg(long, value_name = "N")]
    pub record: u64,
    /// The environment, which must be the one the change committed in [default: that one].
    #[arg(short = 'e', long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The ticket [default: the original's].
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
    /// Who is undoing [default: config `author`, else the OS user].
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,
    /// Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Commit even when the ledger already holds this undo, for this reason.
    #[arg(long, value_name = "REASON")]
    pub again: Option<String>,
}

/// `pgward replay` options.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The session log that holds the change.
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// The change's commit_intent (or commit) record in that log.
    #[arg(long, value_name = "N")]
    pub record: u64,
    /// The environment to run it in.
    #[arg(short = 'e', long = "env", value_name = "NAME")]
    pub env: String,
    /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The ticket [default: the original's].
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
    /// Who is replaying [default: config `author`, else the OS user].
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,
    /// Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Commit even when the ledger here already holds this change, for this reason.
    #[arg(long, value_name = "REASON")]
    pub again: Option<String>,
}

/// Which database's ledger: an environment of the config file, or psql-style flags.
#[derive(Debug, Clone, Args, Default)]
pub struct LedgerTarget {
    /// Named environment from the config file.
    #[arg(short = 'e', long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database server host or socket directory (overrides the environment's).
    #[arg(short = 'h', long = "host", value_name = "HOSTNAME")]
    pub host: Option<String>,
    /// Database server port.
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Database user name (for init, a DBA role).
    #[arg(short = 'U', long = "username", value_name = "USERNAME")]
    pub username: Option<String>,
    /// Database name, URI or conninfo string.
    #[arg(short = 'd', long = "dbname", value_name = "DBNAME")]
    pub dbname: Option<String>,
    /// Write role (ad-hoc environment without a config file).
    #[arg(long, value_name = "ROLE")]
    pub write_role: Option<String>,
    /// Read role (ad-hoc environment).
    #[arg(long, value_name = "ROLE")]
    pub read_role: Option<String>,
}

/// `pgward log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check chain, signatures and ending of each FILE; exit 0 only when every log is intact.
    ///
    /// With --env, also cross-check the logs against the environment's ledger both ways
    /// (give every log of the environment).
    Verify {
        /// Session log files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Resolve a COMMIT without outcome with txid_status on this environment's database.
        #[arg(short = 'e', long = "env", value_name = "NAME")]
        env: Option<String>,
        /// The operator public key (hex) the logs must be signed with.
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
        /// The approval service's public key (hex) the approval tokens must verify under
        /// [default: the `[approval] public_key` of --env, else of the log's environment].
        #[arg(long, value_name = "HEX")]
        approver_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print a readable summary of a session log.
    Show {
        /// The session log.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Render a session log as the ticket attachment.
    Export {
        /// The session log.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// markdown or json.
        #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
        format: ExportFormat,
    },
    /// Attach a session log to its ticket ([tickets] in the config); clears it from the
    /// pending attachments the banner lists.
    Attach {
        /// The session log.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The ticket [default: the one the log names].
        #[arg(short = 't', long, value_name = "ID")]
        ticket: Option<String>,
        /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List session logs, newest first.
    List {
        /// Only sessions of this ticket.
        #[arg(short = 't', long, value_name = "ID")]
        ticket: Option<String>,
        /// Only sessions in this environment.
        #[arg(short = 'e', long = "env", value_name = "NAME")]
        env: Option<String>,
        /// Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions].
        #[arg(long, value_name = "DIR")]
        log_dir: Option<PathBuf>,
        /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Formats of `pgward log export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Markdown, for a ticket comment.
    Markdown,
    /// JSON: the verified records and the verification result.
    Json,
}

/// `pgward check` options.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// SQL files to check (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Decide for this environment of the config file (e.g. no write_role: writes are refused).
    #[arg(short = 'e', long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Exit 1 when any statement has a warning (e.g. an effect that survives ROLLBACK).
    #[arg(long)]
    pub strict: bool,
    /// Fail a script that changes the schema.
    #[arg(long)]
    pub no_ddl: bool,
}

/// Output formats of `pgward check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// One line per statement.
    Text,
    /// The versioned JSON report (docs/check.md).
    Json,
}

/// What to run: commands, a file, or (without either) standard input or the prompt.
#[derive(Debug, Clone, Args, Default)]
pub struct ScriptArgs {
    /// Run this SQL (may be repeated), then exit.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command: Vec<String>,
    /// Run the SQL in FILE (`-` for standard input), then exit.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "command"
    )]
    pub file: Option<PathBuf>,
    /// Run every write and show its preview, then roll back: nothing is committed.
    #[arg(long)]
    pub dry_run: bool,
    /// Set script variable NAME to VALUE, used as :NAME, :'NAME' or :"NAME" (may be repeated).
    #[arg(
        short = 'v',
        long = "set",
        visible_alias = "variable",
        value_name = "NAME=VALUE",
        value_parser = variable
    )]
    pub set: Vec<(String, Option<String>)>,
    /// Do not read the startup file ~/.pgwardrc.
    #[arg(short = 'X', long = "no-psqlrc")]
    pub no_rc: bool,
    /// How results are printed.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Commit a change the ledger says was already committed here, for this reason
    /// (logged, and shown to the reviewer); `\again REASON` does it for one COMMIT.
    #[arg(long, value_name = "REASON")]
    pub again: Option<String>,
    /// The committed change this run replays (set by `pgward replay`, not a flag).
    #[arg(skip)]
    pub replay: Option<Box<crate::replay::Origin>>,
    /// The committed change this run undoes (set by `pgward undo`, not a flag).
    #[arg(skip)]
    pub undo: Option<Box<crate::undo::Plan>>,
}

/// psql's output options.
#[derive(Debug, Clone, Args, Default)]
pub struct OutputArgs {
    /// Unaligned table output mode.
    #[arg(short = 'A', long = "no-align")]
    pub no_align: bool,
    /// CSV (Comma-Separated Values) table output mode.
    #[arg(long)]
    pub csv: bool,
    /// Field separator for unaligned output (default: "|").
    #[arg(short = 'F', long = "field-separator", value_name = "STRING")]
    pub field_separator: Option<String>,
    /// Record separator for unaligned output (default: newline).
    #[arg(short = 'R', long = "record-separator", value_name = "STRING")]
    pub record_separator: Option<String>,
    /// Print rows only (no header, no footer).
    #[arg(short = 't', long = "tuples-only")]
    pub tuples_only: bool,
    /// Turn on expanded table output.
    #[arg(short = 'x', long)]
    pub expanded: bool,
    /// Set printing option VAR to ARG (see \pset).
    #[arg(short = 'P', long = "pset", value_name = "VAR[=ARG]")]
    pub pset: Vec<String>,
    /// Send query results to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILENAME")]
    pub output: Option<PathBuf>,
    /// Run quietly (no command tags, no confirmations of settings).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Options of the shell.
#[derive(Debug, Clone, Args, Default)]
pub struct ShellArgs {
    /// What to run.
    #[command(flatten)]
    pub script: ScriptArgs,

    /// Named environment from the config file (e.g. prod).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The ticket this change belongs to (required where approval is required).
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
    /// Who is typing [default: config `author`, else the OS user].
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,
    /// Least-privilege role that writes run as (ad-hoc environment without a config file).
    #[arg(long, value_name = "ROLE")]
    pub write_role: Option<String>,
    /// Role that reads run as (ad-hoc environment).
    #[arg(long, value_name = "ROLE")]
    pub read_role: Option<String>,
    /// Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// No colour in output, prompt or input line (as NO_COLOR=1 does).
    #[arg(long)]
    pub no_color: bool,

    /// Database server host or socket directory.
    #[arg(short = 'h', long = "host", value_name = "HOSTNAME")]
    pub host: Option<String>,
    /// Database server port.
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Database user name.
    #[arg(short = 'U', long = "username", value_name = "USERNAME")]
    pub username: Option<String>,
    /// Database name, URI or conninfo string.
    #[arg(short = 'd', long = "dbname", value_name = "DBNAME")]
    pub dbname: Option<String>,
    /// Never prompt for a password.
    #[arg(short = 'w', long = "no-password", conflicts_with = "password")]
    pub no_password: bool,
    /// Prompt for a password before connecting.
    #[arg(short = 'W', long = "password")]
    pub password: bool,

    /// Database name (as psql's first argument).
    #[arg(value_name = "DBNAME")]
    pub db_arg: Option<String>,
    /// User name (as psql's second argument).
    #[arg(value_name = "USERNAME")]
    pub user_arg: Option<String>,
}

/// `-v NAME=VALUE`, or `-v NAME` (unset), as psql takes them.
fn variable(item: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match item.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (item, None),
    };
    if crate::repl::vars::valid_name(name) {
        Ok((name.to_string(), value))
    } else {
        Err(format!(
            "invalid variable name {name:?} (letters, digits and _ only)"
        ))
    }
}

/// Where the approver keeps its state.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// PostgreSQL database for the approver's state (URI or conninfo; pgpass and PG* apply).
    #[arg(long, value_name = "URL", env = "PGWARD_APPROVER_STORE")]
    pub store: String,
    /// Schema for the approver's tables (created and migrated by the approver).
    #[arg(long, value_name = "NAME", default_value = "pgward_approver")]
    pub schema: String,
}

/// `pgward approver …`.
#[derive(Debug, Subcommand)]
pub enum ApproverCommand {
    /// Serve protocol v1, the reviewer page and the chat endpoint.
    Serve {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The service key (made by `pgward approver keygen`).
        #[arg(long, value_name = "FILE", env = "PGWARD_APPROVER_KEY")]
        key: PathBuf,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
        listen: std::net::SocketAddr,
        /// The address reviewers use (https:// behind a TLS proxy makes cookies Secure).
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Chat incoming-webhook URL to notify of new requests.
        #[arg(long, value_name = "URL", env = "PGWARD_APPROVER_WEBHOOK")]
        webhook_url: Option<String>,
        /// Variable holding the Slack signing secret (enables /chat/interactivity).
        #[arg(long, value_name = "VAR")]
        chat_secret_env: Option<String>,
        /// Pooled store connections.
        #[arg(long, value_name = "N", default_value_t = 4)]
        pool: usize,
    },
    /// Write a new service key (mode 0600) and print its public key for shell configs.
    Keygen {
        /// Where to write the key.
        #[arg(long, value_name = "FILE", env = "PGWARD_APPROVER_KEY")]
        key: PathBuf,
    },
    /// Add or remove a reviewer (passwords are stored as argon2 hashes).
    Reviewer {
        /// What to do.
        #[command(subcommand)]
        action: MemberAction,
    },
    /// Add or remove an author (prints the author's credential; only its hash is stored).
    Author {
        /// What to do.
        #[command(subcommand)]
        action: MemberAction,
    },
    /// Verify the decision log's chain and signatures.
    Verify {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The service key.
        #[arg(long, value_name = "FILE", env = "PGWARD_APPROVER_KEY")]
        key: PathBuf,
    },
}

/// Add or remove a member.
#[derive(Debug, Subcommand)]
pub enum MemberAction {
    /// Add NAME (or replace their password or credential).
    Add {
        /// The name.
        name: String,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// Reviewers: read the password from this variable instead of the terminal.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Remove NAME.
    Remove {
        /// The name.
        name: String,
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
    },
}
