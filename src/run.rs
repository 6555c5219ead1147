//! The entry point the binary calls: builds the settings, connects, and feeds the chosen
//! input (commands, a file, piped standard input, or the interactive prompt) through one
//! guarded session.

use std::io::{IsTerminal, Read};

use clap::CommandFactory;

use crate::cli::{Cli, Command, ScriptArgs};
use crate::config::file::PromptColor;
use crate::config::{EnvSettings, Settings};
use crate::conn::{self, ConnParams, PasswordPrompt, Secret, SslMode};
use crate::render::Style;
use crate::repl::meta;
use crate::session::{confirm, Io, Outcome, Session};
use crate::{Error, ExitCode};

/// Runs pgward as the command line asks.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "pgward", &mut std::io::stdout());
            Ok(ExitCode::Ok)
        }
        Some(Command::Demo { script }) => demo(&script),
        None => {
            let settings = Settings::resolve(&cli.shell, |k| std::env::var(k).ok())?;
            shell(settings, &cli.shell.script)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Connects and runs the session over the chosen input.
pub fn shell(settings: Settings, script: &ScriptArgs) -> Result<ExitCode, Error> {
    let rt = runtime()?;
    let app = format!(
        "pgward ({}{})",
        settings.author,
        settings
            .ticket
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default()
    );
    let connection = rt.block_on(conn::connect(&settings.conn, &app))?;
    let interactive =
        script.command.is_empty() && script.file.is_none() && std::io::stdin().is_terminal();
    let io = Io::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        Style::detect(std::io::stderr().is_terminal()),
    )
    .with_live(std::io::stderr().is_terminal());
    let mut session = rt.block_on(Session::start(
        connection,
        settings,
        io,
        Box::new(confirm::Tty),
    ))?;
    session.set_dry_run(script.dry_run);
    if interactive {
        return Ok(crate::repl::run(&rt, &mut session));
    }
    let inputs: Vec<String> = if !script.command.is_empty() {
        script
            .command
            .iter()
            .map(|c| {
                if c.trim_start().starts_with('\\') {
                    // A -c string that starts with a backslash holds meta-commands.
                    c.clone()
                } else {
                    // As in psql, a -c string is complete: its last statement needs no
                    // `;`. The newline keeps a trailing `--` comment from swallowing it.
                    format!("{c}\n;")
                }
            })
            .collect()
    } else {
        vec![read_script(script.file.as_deref())?]
    };
    let mut outcome = Outcome::Ok;
    for input in &inputs {
        let (ran, quit) = run_script(&rt, &mut session, input);
        outcome = ran;
        if outcome != Outcome::Ok || quit {
            break;
        }
    }
    let mut code = outcome.exit_code();
    if outcome == Outcome::Ok && session.state().is_open() && !script.dry_run {
        session
            .io()
            .say_err("pgward: input ended inside an open transaction without a confirmed COMMIT\n");
        code = ExitCode::Refused;
    }
    if !outcome.ends_session() {
        rt.block_on(session.finish());
    }
    Ok(code)
}

/// Runs script text: SQL goes to the session; a line that starts with a backslash where
/// no statement is unfinished is a meta-command, as in psql. Returns how it ended, and
/// whether `\q` ended it.
fn run_script(rt: &tokio::runtime::Runtime, session: &mut Session, text: &str) -> (Outcome, bool) {
    let mut pending = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.starts_with('\\') || !crate::sql::is_complete(&pending) {
            pending.push_str(line);
            continue;
        }
        if !pending.trim().is_empty() {
            let outcome = rt.block_on(session.execute(&pending));
            if outcome != Outcome::Ok {
                return (outcome, false);
            }
        }
        pending.clear();
        match meta::perform(rt, session, trimmed) {
            meta::Step::Quit => return (Outcome::Ok, true),
            meta::Step::Continue(Outcome::Ok) => {}
            meta::Step::Continue(outcome) => return (outcome, false),
        }
    }
    let outcome = if pending.trim().is_empty() {
        Outcome::Ok
    } else {
        rt.block_on(session.execute(&pending))
    };
    (outcome, false)
}

fn read_script(file: Option<&std::path::Path>) -> Result<String, Error> {
    let mut text = String::new();
    match file {
        Some(p) if p.as_os_str() != "-" => {
            text = std::fs::read_to_string(p).map_err(|source| Error::Script {
                path: p.display().to_string(),
                source,
            })?;
        }
        _ => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| Error::Script {
                    path: "standard input".into(),
                    source,
                })?;
        }
    }
    Ok(text)
}

/// `pgward demo`: a throwaway cluster with the shop schema, and the shell on it.
fn demo(script: &ScriptArgs) -> Result<ExitCode, Error> {
    let rt = runtime()?;
    eprintln!("pgward demo: starting a throwaway PostgreSQL cluster…");
    let target = rt.block_on(crate::demo::prepare())?;
    drop(rt);
    eprintln!(
        "pgward demo: database {} on {}:{}; you log in as {} (no table privileges of its own);\n\
         reads run as {}, writes as {}. Try:\n  \
         select * from customers limit 3;\n  \
         update orders set status = 'cancelled' where id = 42;\n  \
         commit;   -- type `demo` to confirm\n\
         The cluster is removed when you quit (\\q).",
        target.dbname, target.host, target.port, target.user, target.read_role, target.write_role
    );
    let env = EnvSettings {
        color: PromptColor::Cyan,
        ..EnvSettings::new(
            "demo",
            &crate::config::Environment::ad_hoc(
                Some(target.write_role.clone()),
                Some(target.read_role.clone()),
            ),
        )
    };
    let settings = Settings {
        env,
        conn: ConnParams {
            host: target.host.clone(),
            hostaddr: None,
            port: target.port,
            user: target.user.clone(),
            dbname: target.dbname.clone(),
            password: Some(Secret::new(target.password.clone())),
            sslmode: SslMode::Disable,
            sslrootcert: None,
            connect_timeout: None,
            passfile: None,
            prompt: PasswordPrompt::Never,
        },
        author: whoami::username().unwrap_or_else(|_| "demo".into()),
        ticket: Some("DEMO-1".into()),
        config_path: None,
    };
    let code = shell(settings, script);
    drop(target);
    code
}
