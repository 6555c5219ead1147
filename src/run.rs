//! The entry point the binary calls: builds the settings, connects, and feeds the chosen
//! input (commands, a file, piped standard input, or the interactive prompt) through one
//! guarded session.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::approval::service::admin::{Options, Running};
use crate::cli::{Cli, Command, LedgerCommand, LogCommand, ScriptArgs};

use crate::config::file::PromptColor;
use crate::config::{ApprovalSettings, EnvSettings, Settings};
use crate::conn::{self, ConnParams, PasswordPrompt, Secret, SslMode};
use crate::render::pset::{Expanded, Format, Pset};
use crate::render::Style;
use crate::repl::script::{Flow, Runner};
use crate::repl::vars::Vars;
use crate::session::{confirm, signals, Io, Outcome, Session};
use crate::{Error, ExitCode};

/// Runs pgward as the command line asks.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "pgward", &mut std::io::stdout());
            Ok(ExitCode::Ok)
        }
        Some(Command::Demo { script }) => demo(&script),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Keygen { out, config }) => {
            crate::audit::command::keygen(out.as_deref(), config.as_deref())
        }
        Some(Command::Log { command }) => log_command(command),
        Some(Command::Replay(args)) => crate::replay::command(&args),
        Some(Command::Undo(args)) => crate::undo::command(&args),
        Some(Command::Ledger { command }) => match command {
            LedgerCommand::Init { target, print_sql } => {
                crate::ledger::command::init(&target, print_sql)
            }
            LedgerCommand::Show { target, ticket } => {
                crate::ledger::command::show(&target, ticket.as_deref())
            }
        },
        Some(Command::Approver { command }) => crate::approval::service::command::run(command),
        None => {
            let settings = Settings::resolve(&cli.shell, |k| std::env::var(k).ok())?;
            shell(settings, &cli.shell.script)
        }
    }
}

fn log_command(command: LogCommand) -> Result<ExitCode, Error> {
    use crate::audit::command;
    match command {
        LogCommand::Verify {
            files,
            env,
            key,
            approver_key,
            json,
            config,
        } => command::verify_files(
            &files,
            env.as_deref(),
            key.as_deref(),
            approver_key.as_deref(),
            json,
            config.as_deref(),
        ),
        LogCommand::Show { file } => command::show(&file),
        LogCommand::Export { file, format } => command::export_file(&file, format),
        LogCommand::Attach {
            file,
            ticket,
            config,
        } => command::attach_file(&file, ticket.as_deref(), config.as_deref()),
        LogCommand::List {
            ticket,
            env,
            log_dir,
            config,
        } => command::list_logs(
            ticket.as_deref(),
            env.as_deref(),
            log_dir.as_deref(),
            config.as_deref(),
        ),
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
    // Spill directories of pgward processes that were killed: their files had no names,
    // but the empty private directories stay until someone removes them.
    crate::preview::spill::remove_stale(&std::env::temp_dir());
    let _spill_dir = SpillDir;
    let (pset, file) = output_options(&script.output)?;
    let app = settings.application_name();
    let connection = rt.block_on(conn::connect(&settings.conn, &app))?;
    let interactive =
        script.command.is_empty() && script.file.is_none() && std::io::stdin().is_terminal();
    let io = Io::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        Style::detect(std::io::stderr().is_terminal() && !settings.no_color),
    )
    .with_live(std::io::stderr().is_terminal())
    .with_terminal(std::io::stdout().is_terminal());
    let mut io = io;
    *io.pset_mut() = pset;
    io.set_quiet(script.output.quiet);
    io.set_output(file);
    let log = settings.log.clone();
    let mut session = rt.block_on(Session::start(
        connection,
        settings,
        io,
        Box::new(confirm::Tty),
    ))?;
    session.open_log(&log);
    for line in crate::audit::attach::banner(&log.dir) {
        session.io().say_warn(&format!(
            "WARNING: {}",
            crate::render::escape::one_line(&line)
        ));
    }
    session.set_dry_run(script.dry_run);
    if let Some(reason) = &script.again {
        session.set_again(reason, true);
    }
    if let Some(origin) = &script.replay {
        session.set_replay((**origin).clone());
    }
    let code = match &script.undo {
        Some(plan) => {
            session.set_undo((**plan).clone());
            match rt.block_on(session.undo_precheck()) {
                Outcome::Ok => drive(&rt, &mut session, script, interactive),
                refused => Ok(refused.exit_code()),
            }
        }
        None => drive(&rt, &mut session, script, interactive),
    };
    // Every log the session wrote: one per environment `\c` moved it to, oldest first.
    let mut logs = session.ended_logs().to_vec();
    if let Some(path) = session.log_path() {
        logs.push(crate::session::EndedLog {
            path: path.to_path_buf(),
            approver: session
                .settings()
                .env
                .approval
                .as_ref()
                .map(|a| a.public_key),
        });
    }
    let ticket = session.settings().ticket.clone();
    let tickets = session.settings().tickets.clone();
    let config = session.settings().config_path.clone();
    // Dropping the session closes its log (`session_end`) before it is attached.
    drop(session);
    if let Some(tickets) = tickets.filter(|t| t.at_session_end && !logs.is_empty()) {
        if ticket.is_none() {
            eprintln!(
                "pgward: no --ticket, so the session log was not attached to one ([tickets])"
            );
        }
        for log in logs.iter().filter(|_| ticket.is_some()) {
            attach_at_end(
                &rt,
                &tickets,
                &log.path,
                log.approver.as_ref(),
                config.as_deref(),
            );
        }
    }
    code
}

/// Attaches the session's log to its ticket; a failure is reported with the command that
/// retries it, and kept for the next session's banner.
fn attach_at_end(
    rt: &tokio::runtime::Runtime,
    tickets: &crate::config::TicketSettings,
    path: &Path,
    approver: Option<&ed25519_dalek::VerifyingKey>,
    config: Option<&Path>,
) {
    let named = config.filter(|c| Some(c.to_path_buf()) != crate::config::locate::default_path());
    match rt.block_on(crate::audit::attach::attach_recorded(
        tickets,
        path,
        None,
        approver,
        named,
        |k| std::env::var(k).ok(),
    )) {
        Ok(done) => eprintln!("pgward: session log attached: {}", done.what),
        Err(failed) => crate::audit::command::report_failed(&failed),
    }
}

/// Runs the chosen input through `session`: the rc file, then the prompt or the script.
fn drive(
    rt: &tokio::runtime::Runtime,
    session: &mut Session,
    script: &ScriptArgs,
    interactive: bool,
) -> Result<ExitCode, Error> {
    let mut runner = Runner::new(variables(&script.set));
    if !script.no_rc {
        if let Some(code) = run_rc(rt, session, &mut runner) {
            return Ok(code);
        }
    }
    if interactive {
        signals::install()?;
        return Ok(crate::repl::run(rt, session, &mut runner));
    }
    // Standard input is read before pgward takes the signals: until then SIGTERM ends a
    // process that has nothing open.
    let script_text = if script.command.is_empty() {
        Some(read_script(script.file.as_deref())?)
    } else {
        None
    };
    // From here on SIGINT, SIGTERM and SIGHUP are pgward's (see session::signals).
    signals::install()?;
    let mut outcome = Outcome::Ok;
    let mut quit = false;
    if !script.command.is_empty() {
        // As in psql, `-c` text is not interpolated; a `-c` string that starts with a
        // backslash holds meta-commands, any other is SQL sent as it is.
        runner.interpolate = false;
        for c in &script.command {
            let flow = if c.trim_start().starts_with('\\') {
                runner.line(rt, session, c)
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
        let text = script_text.unwrap_or_default();
        let (name, dir) = match script.file.as_deref() {
            Some(p) if p.as_os_str() != "-" => (
                p.display().to_string(),
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
            ),
            _ => ("<stdin>".to_string(), PathBuf::from(".")),
        };
        if let Flow::Go(o) = runner.script(rt, session, &text, &name, &dir) {
            outcome = o;
        }
    }
    if signals::terminated().is_some() {
        return Ok(end_by_signal(rt, session));
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

/// psql's output flags as printing options, and the `-o` file; a bad `-P` or an `-o`
/// file that cannot be created stops pgward before it connects.
fn output_options(
    args: &crate::cli::OutputArgs,
) -> Result<(Pset, Option<Box<dyn std::io::Write>>), Error> {
    let mut pset = Pset::default();
    if args.no_align {
        pset.format = Format::Unaligned;
    }
    if args.csv {
        pset.format = Format::Csv;
    }
    if let Some(f) = &args.field_separator {
        pset.fieldsep = f.clone();
    }
    if let Some(r) = &args.record_separator {
        pset.recordsep = r.clone();
    }
    pset.tuples_only |= args.tuples_only;
    if args.expanded {
        pset.expanded = Expanded::On;
    }
    for item in &args.pset {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item.as_str(), None),
        };
        pset.set(name, value).map_err(Error::Output)?;
    }
    let file = match &args.output {
        Some(path) => Some(
            crate::repl::output::open(&path.display().to_string())
                .map_err(|e| Error::Output(format!("pgward: -o {e}")))?,
        ),
        None => None,
    };
    Ok((pset, file))
}

/// SIGTERM or SIGHUP arrived: the session ends as at Ctrl-D (an open transaction is
/// rolled back, and the session says so), with exit code 9.
pub fn end_by_signal(rt: &tokio::runtime::Runtime, session: &mut Session) -> ExitCode {
    let name = signals::terminated().map_or("a signal", signals::name);
    let open = session.state().is_open();
    eprintln!("pgward: {name} received: ending the session");
    rt.block_on(session.finish());
    if !open {
        eprintln!("pgward: no transaction is open, so there is nothing to roll back");
    }
    ExitCode::Signal
}

/// Removes this process's spill directory when the shell ends, however it ends.
struct SpillDir;

impl Drop for SpillDir {
    fn drop(&mut self) {
        crate::preview::spill::release();
    }
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

/// The text of a script file (`-` or `None`: standard input). SQL is read as UTF-8: a
/// file that is not is refused whole, naming the first byte that is not.
fn read_script(file: Option<&std::path::Path>) -> Result<String, Error> {
    let mut bytes = Vec::new();
    let path = match file {
        Some(p) if p.as_os_str() != "-" => {
            let path = p.display().to_string();
            bytes = std::fs::read(p).map_err(|source| Error::Script {
                path: path.clone(),
                source,
            })?;
            path
        }
        _ => {
            let path = "standard input".to_string();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Script {
                    path: path.clone(),
                    source,
                })?;
            path
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = 1 + e
            .as_bytes()
            .get(..offset)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::NotUtf8 { path, offset, line }
    })
}

/// `pgward check`: classify files without connecting.
fn check(args: &crate::cli::CheckArgs) -> Result<ExitCode, Error> {
    use crate::check::{self, Policy, Report};
    use crate::config::{locate, ConfigError};
    let mut policy = Policy {
        can_write: true,
        no_ddl: args.no_ddl,
        ..Policy::default()
    };
    if let Some(name) = &args.env {
        let path = locate::find(
            args.config.as_deref(),
            std::env::var("PGWARD_CONFIG")
                .ok()
                .map(std::path::PathBuf::from),
        )
        .ok_or_else(|| ConfigError::NoConfigFile {
            name: name.clone(),
            default: locate::default_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.config/pgward/config.toml".into()),
        })?;
        let file = locate::load(&path)?;
        let entry = file
            .environments
            .get(name)
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.clone(),
                known: file
                    .environments
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                path: path.clone(),
            })?;
        let env = EnvSettings::new(name, entry);
        policy.env = Some(name.clone());
        policy.can_write = env.write_role.is_some();
        policy.require_approval = env.require_approval;
        policy.options = env.classify_options();
    }
    let mut texts = Vec::with_capacity(args.files.len());
    for file in &args.files {
        texts.push((file.display().to_string(), read_script(Some(file))?));
    }
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let report = Report {
        version: check::VERSION,
        files: check::check_files(&files, &policy),
    };
    let json = args.format == crate::cli::CheckFormat::Json;
    let mut out = std::io::stdout().lock();
    if let Err(e) = check::write(&report, json, &mut out) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(report.exit_code(args.strict))
}

/// `pgward demo`: a throwaway cluster with the shop schema, the built-in approver on
/// loopback with a demo reviewer, and the shell on it.
fn demo(script: &ScriptArgs) -> Result<ExitCode, Error> {
    let rt = runtime()?;
    eprintln!("pgward demo: starting a throwaway PostgreSQL cluster…");
    let target = rt.block_on(crate::demo::prepare())?;
    let author = whoami::username().unwrap_or_else(|_| "demo".into());
    let (approver, approval, password) = demo_approver(&rt, &target, &author)?;
    drop(rt);
    eprintln!(
        "pgward demo: database {} on {}:{}; you log in as {} with password {} (no table\n\
         privileges of its own; psql connects the same way);\n\
         reads run as {}, writes as {}.\n\
         The approver runs at {url}: review at {url}/review as reviewer `reviewer`, password `{password}`.\n\
         Try:\n  \
         select * from customers limit 3;\n  \
         update orders set status = 'cancelled' where id = 42;\n  \
         commit;   -- approve in the browser, then type the code it shows\n\
         The cluster is removed when you quit (\\q).",
        target.dbname,
        target.host,
        target.port,
        target.user,
        target.password,
        target.read_role,
        target.write_role,
        url = approver.public_url,
    );
    // A throwaway operator key signs the demo's log: the log goes where logs go, so
    // `pgward log list` and `pgward log verify` work on it afterwards.
    let key_dir = tempfile::tempdir()?;
    let mut log = crate::config::settings::log_target(&Default::default(), None);
    log.key = key_dir.path().join("demo-operator.key");
    crate::audit::OperatorKey::generate()
        .and_then(|k| k.save(&log.key))
        .map_err(crate::audit::AuditError::from)?;
    let env = EnvSettings {
        color: PromptColor::Cyan,
        require_approval: true,
        approval: Some(approval),
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
            extras: conn::Extras::default(),
        },
        author,
        ticket: Some("DEMO-1".into()),
        config_path: None,
        history_ignore: Vec::new(),
        environments: Vec::new(),
        no_color: false,
        log,
        tickets: None,
    };
    let code = shell(settings, script);
    drop(approver);
    drop(target);
    drop(key_dir);
    code
}

/// The built-in approver for the demo, its state in the demo cluster; a reviewer
/// `reviewer` with a fresh password, and a credential for `author`.
fn demo_approver(
    rt: &tokio::runtime::Runtime,
    target: &crate::demo::DemoTarget,
    author: &str,
) -> Result<(Running, ApprovalSettings, String), Error> {
    use crate::approval::service::{admin, store::Store};
    let fail = |e: String| Error::Approver(format!("demo approver: {e}"));
    let store = target.cluster.conninfo("postgres");
    let password = crate::approval::hex::random(6).map_err(|e| fail(e.to_string()))?;
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| fail(e.to_string()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let credential = rt.block_on(async {
        let s = Store::open(&store, "pgward_approver", 1)
            .await
            .map_err(|e| fail(e.to_string()))?;
        admin::add_reviewer(&s, "reviewer", &password)
            .await
            .map_err(fail)?;
        admin::add_author(&s, author).await.map_err(fail)
    })?;
    let running = Running::start(Options {
        store,
        schema: "pgward_approver".into(),
        key: key.clone(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: None,
        webhook: None,
        slack_secret: None,
        pool: 2,
    })
    .map_err(fail)?;
    let approval = ApprovalSettings {
        url: running.public_url.clone(),
        public_key: key.verifying_key(),
        credential,
        reviewers: Vec::new(),
        wait: std::time::Duration::from_secs(300),
        require_code: true,
        ca_file: None,
    };
    Ok((running, approval, password))
}
