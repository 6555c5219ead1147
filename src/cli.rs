//! Command-line flags. psql's letters keep psql's meaning (`-h -p -U -d -w -W -c -f`, and
//! `-v -X -o` for script variables, the rc file and the output file); pgward's own options
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
    after_help = "Exit status: 0 ok, 1 SQL error, 2 refused by policy (or not confirmed), 3 configuration or connection error (or connection lost before COMMIT), 4 committed locally but the synchronous standby did not confirm it; connection lost after COMMIT was sent, then the server said: 5 committed, 6 rolled back, 7 still in progress, 8 could not be asked."
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
    /// Print shell completions for SHELL to standard output.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
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
