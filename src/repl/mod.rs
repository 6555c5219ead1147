//! The interactive shell: a rustyline editor that hands each line to psql's query buffer
//! ([`script`]; a statement runs at its `;` or at `\g`), a prompt that shows environment,
//! role, database and transaction state, psql's backslash meta-commands, and a history
//! file per environment that never stores a statement carrying a secret ([`secrets`]).

pub mod buffer;
pub mod catalog;
pub mod complete;
pub mod copy;
pub mod describe;
pub mod help;
pub mod helper;
pub mod idle;
pub mod lex;
pub mod meta;
pub mod output;
pub mod prompt;
pub mod script;
pub mod secrets;
pub mod vars;

use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};

use crate::session::{signals, Confirm, Outcome, Session};
use crate::ExitCode;

use helper::ReplHelper;
use script::{Flow, Runner};

/// Asks confirmations on a fresh line editor; Ctrl-C or Ctrl-D answer nothing, and so
/// do SIGTERM and SIGHUP.
#[derive(Debug, Default)]
pub struct EditorConfirm;

impl Confirm for EditorConfirm {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        let mut editor = rustyline::DefaultEditor::new().ok()?;
        // The prompt names the environment: it stays on its line and drives nothing.
        let prompt = crate::render::escape::one_line(prompt);
        signals::while_editing(|| editor.readline(&prompt))?.ok()
    }
}

/// The history file of environment `env`.
pub fn history_path(env: &str) -> Option<PathBuf> {
    let safe: String = env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dirs::data_dir().map(|d| d.join("pgward").join("history").join(safe))
}

/// Runs the interactive loop until `\q`, Ctrl-D, SIGTERM or SIGHUP; an open transaction is then rolled back.
/// The exit code is 0, or the code of a COMMIT that needs attention (README's table).
pub fn run(rt: &tokio::runtime::Runtime, session: &mut Session, runner: &mut Runner) -> ExitCode {
    session.set_confirm(Box::new(EditorConfirm));
    session.set_error_rollback(true);
    session.set_reconnect(true);
    runner.interactive = true;
    // psql's (readline's) completion: Tab completes what is common, a second Tab lists.
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            session
                .io()
                .say_error(&format!("pgward: cannot open the line editor: {e}"));
            return ExitCode::Config;
        }
    };
    let mut color = session.settings().env.color;
    let coloured = session.io().style().color;
    // Completion's names come from a connection of its own, in the background.
    let mut catalog = catalog::Loader::start(session.conn_params());
    editor.set_helper(Some(ReplHelper {
        colored_prompt: String::new(),
        color: coloured,
        catalog: Some(catalog.catalog.clone()),
        environments: session.settings().environments.clone(),
    }));
    let mut history = load_history(&mut editor, &session.settings().env.name);
    let mut switches = session.switches();
    let standby = if session.is_standby() {
        " The server is a standby (read-only): reads only."
    } else {
        ""
    };
    // -q leaves out the greeting, as in psql, but never what pgward must say.
    if !session.io().is_quiet() || session.is_standby() {
        session.io().say_out(&format!(
            "pgward {} — type \\? for help, \\q to quit.{standby}",
            env!("CARGO_PKG_VERSION"),
        ));
    }
    if let Some(path) = session.log_path().map(|p| p.display().to_string()) {
        session.io().say_out(&format!("Session log: {path}"));
    }
    let mut status = ExitCode::Ok;
    // The lines of the statement being typed; one history entry once it is sent.
    let mut typed: Vec<String> = Vec::new();
    let filter = secrets::HistoryFilter::new(&session.settings().history_ignore);
    loop {
        if signals::terminated().is_some() {
            return crate::run::end_by_signal(rt, session);
        }
        if session.switches() != switches {
            // `\c` moved the session to another environment: what the shell keeps per
            // environment follows it (the old catalog's connection ends with its loader).
            switches = session.switches();
            catalog = catalog::Loader::start(session.conn_params());
            color = session.settings().env.color;
            if let Some(h) = editor.helper_mut() {
                h.catalog = Some(catalog.catalog.clone());
                h.environments = session.settings().environments.clone();
            }
            let _ = editor.clear_history();
            history = load_history(&mut editor, &session.settings().env.name);
        }
        let p = prompt::Prompt::of(session).continued(runner.status());
        let copying = runner.copying();
        if let Some(h) = editor.helper_mut() {
            h.colored_prompt = if copying {
                // psql's prompt for `\copy … FROM STDIN` data.
                ">> ".into()
            } else if coloured {
                p.colored(color)
            } else {
                String::new()
            };
        }
        // Dropped as soon as the prompt is answered, which cancels the warning.
        let idle_warning = session.idle_deadline().and_then(|(deadline, idle)| {
            let printer = editor.create_external_printer().ok()?;
            Some(idle::start(printer, deadline, idle))
        });
        let plain = if copying { ">> ".into() } else { p.plain() };
        let read = signals::while_editing(|| editor.readline(&plain));
        drop(idle_warning);
        let Some(read) = read else {
            continue;
        };
        if signals::terminated().is_some() {
            return crate::run::end_by_signal(rt, session);
        }
        match read {
            Ok(line) if copying => {
                // COPY data: never history, never completion's business.
                if let Flow::Go(outcome) = runner.line(rt, session, &line) {
                    if outcome.ends_session() {
                        return outcome.exit_code();
                    }
                }
            }
            Ok(line) => {
                if runner.is_empty() && line.trim().is_empty() {
                    continue;
                }
                typed.push(line.trim_end().to_string());
                let flow = runner.line(rt, session, &line);
                if runner.is_empty() {
                    let entry = typed.join("\n");
                    typed.clear();
                    if changes_catalog(&entry) {
                        catalog.refresh();
                    }
                    if filter.keeps(&entry) {
                        let _ = editor.add_history_entry(entry.trim());
                        if let Some(path) = &history {
                            let _ = editor.append_history(path);
                        }
                    }
                }
                match flow {
                    Flow::Quit => break,
                    Flow::Go(outcome) if outcome.ends_session() => return outcome.exit_code(),
                    Flow::Go(Outcome::CommittedLocally) => {
                        // The shell goes on; its exit status still tells a wrapper that a
                        // COMMIT was not confirmed by the synchronous standby.
                        status = Outcome::CommittedLocally.exit_code();
                    }
                    Flow::Go(_) => {}
                }
            }
            Err(ReadlineError::Interrupted) => {
                // As in psql, Ctrl-C at the prompt empties the query buffer.
                if copying {
                    session
                        .io()
                        .say_error("\\copy: cancelled (Ctrl-C); nothing was loaded");
                }
                runner.reset();
                typed.clear();
            }
            Err(ReadlineError::Eof) if copying => {
                // Ctrl-D ends `\copy … FROM STDIN` data, as `\.` does.
                if let Flow::Go(outcome) = runner.end_of_input(rt, session) {
                    if outcome.ends_session() {
                        return outcome.exit_code();
                    }
                }
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                session.io().say_error(&format!("pgward: input error: {e}"));
                break;
            }
        }
    }
    rt.block_on(session.finish());
    status
}

/// Loads environment `env`'s history into `editor`; its file, where there is one.
fn load_history(editor: &mut Editor<ReplHelper, FileHistory>, env: &str) -> Option<PathBuf> {
    let history = history_path(env);
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    history
}

/// True when `entry` may have changed what completion knows: DDL, or the end of a
/// transaction (the catalog's connection sees committed names only).
fn changes_catalog(entry: &str) -> bool {
    crate::sql::split(entry).pieces.iter().any(|p| {
        matches!(
            crate::sql::classify(&p.text),
            crate::sql::Verdict::Ddl
                | crate::sql::Verdict::Transaction(_)
                | crate::sql::Verdict::NonTransactional { .. }
        )
    })
}
