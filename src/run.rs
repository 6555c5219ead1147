//! The entry point the binary calls: builds the settings, connects, and feeds the chosen
//! input (commands, a file, piped standard input, or the interactive prompt) through one
//! guarded session.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::{Cli, Command, ScriptArgs};
use crate::config::file::PromptColor;
use crate::config::{EnvSettings, Settings};
use crate::conn::{self, ConnParams, PasswordPrompt, Secret, SslMode};
use crate::render::Style;
use crate::repl::script::{Flow, Runner};
use crate::repl::vars::Vars;
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
    let mut runner = Runner::new(variables(&script.set));
    if !script.no_rc {
        if let Some(code) = run_rc(&rt, &mut session, &mut runner) {
            return Ok(code);
        }
    }
    if interactive {
        return Ok(crate::repl::run(&rt, &mut session, &mut runner));
    }
    let mut outcome = Outcome::Ok;
    let mut quit = false;
    if !script.command.is_empty() {
        // As in psql, `-c` text is not interpolated; a `-c` string that starts with a
        // backslash holds meta-commands, any other is SQL sent as it is.
        runner.interpolate = false;
        for c in &script.command {
            let flow = if c.trim_start().starts_with('\\') {
                runner.line(&rt, &mut session, c)
            } else {
                // A -c string is complete: its last statement needs no `;`. The newline
                // keeps a trailing `--` comment from swallowing it.
                Flow::Go(rt.block_on(session.execute(&format!("{c}\n;"))))
            };
            match flow {
                Flow::Quit => quit = true,
                Flow::Go(o) => outcome = o,
            }
            if outcome != Outcome::Ok || quit {
                break;
            }
        }
    } else {
        let text = read_script(script.file.as_deref())?;
        let (name, dir) = match script.file.as_deref() {
            Some(p) if p.as_os_str() != "-" => (
                p.display().to_string(),
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
            ),
            _ => ("<stdin>".to_string(), PathBuf::from(".")),
        };
        if let Flow::Go(o) = runner.script(&rt, &mut session, &text, &name, &dir) {
            outcome = o;
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

/// The variables of `-v NAME=VALUE` (`-v NAME` alone unsets, as in psql).
fn variables(set: &[(String, Option<String>)]) -> Vars {
    let mut vars = Vars::default();
    for (name, value) in set {
        match value {
            Some(v) => vars.set(name, v),
            None => vars.unset(name),
        }
    }
    vars
}

/// Runs `~/.pgwardrc` through the session, as psql runs `~/.psqlrc`; an error in it ends
/// pgward (the setup the author counts on is not in place) with its exit code.
fn run_rc(
    rt: &tokio::runtime::Runtime,
    session: &mut Session,
    runner: &mut Runner,
) -> Option<ExitCode> {
    let path = dirs::home_dir()?.join(".pgwardrc");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            eprintln!("pgward: cannot read {}: {e} (-X skips it)", path.display());
            return Some(ExitCode::Config);
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = path.display().to_string();
    let outcome = match runner.script(rt, session, &text, &name, &dir) {
        Flow::Quit => return Some(ExitCode::Ok),
        Flow::Go(o) => o,
    };
    if outcome == Outcome::Ok {
        return None;
    }
    eprintln!("pgward: {name} failed; nothing more is run (-X skips it)");
    if !outcome.ends_session() {
        rt.block_on(session.finish());
    }
    Some(outcome.exit_code())
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
        "pgward demo: database {} on {}:{}; you log in as {} with password {} (no table\n\
         privileges of its own; psql connects the same way);\n\
         reads run as {}, writes as {}. Try:\n  \
         select * from customers limit 3;\n  \
         update orders set status = 'cancelled' where id = 42;\n  \
         commit;   -- type `demo` to confirm\n\
         The cluster is removed when you quit (\\q).",
        target.dbname,
        target.host,
        target.port,
        target.user,
        target.password,
        target.read_role,
        target.write_role
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
        history_ignore: Vec::new(),
    };
    let code = shell(settings, script);
    drop(target);
    code
}
