//! The interactive shell: a rustyline editor whose validator keeps reading until a
//! statement ends with `;` outside quotes and comments, a prompt that shows environment,
//! role, database and transaction state, psql's backslash meta-commands, and a history
//! file per environment.

pub mod describe;
pub mod helper;
pub mod meta;
pub mod prompt;

use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use crate::session::{Confirm, Outcome, Session};
use crate::ExitCode;

use helper::ReplHelper;

/// Asks confirmations on a fresh line editor; Ctrl-C or Ctrl-D answer nothing.
#[derive(Debug, Default)]
pub struct EditorConfirm;

impl Confirm for EditorConfirm {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        let mut editor = rustyline::DefaultEditor::new().ok()?;
        // The prompt names the environment: it stays on its line and drives nothing.
        editor
            .readline(&crate::render::escape::one_line(prompt))
            .ok()
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

/// Runs the interactive loop until `\q` or Ctrl-D; an open transaction is then rolled back.
/// The exit code is 0, or the code of a COMMIT that needs attention (README's table).
pub fn run(rt: &tokio::runtime::Runtime, session: &mut Session) -> ExitCode {
    session.set_confirm(Box::new(EditorConfirm));
    let config = Config::builder().auto_add_history(false).build();
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            session
                .io()
                .say_error(&format!("pgward: cannot open the line editor: {e}"));
            return ExitCode::Config;
        }
    };
    let color = session.settings().env.color;
    editor.set_helper(Some(ReplHelper::default()));
    let history = history_path(&session.settings().env.name);
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.load_history(path);
    }
    let standby = if session.is_standby() {
        " The server is a standby (read-only): reads only."
    } else {
        ""
    };
    session.io().say_out(&format!(
        "pgward {} — type \\? for help, \\q to quit.{standby}",
        env!("CARGO_PKG_VERSION"),
    ));
    let mut status = ExitCode::Ok;
    loop {
        let p = prompt::Prompt::of(session);
        if let Some(h) = editor.helper_mut() {
            h.colored_prompt = p.colored(color);
        }
        match editor.readline(&p.plain()) {
            Ok(line) => {
                let trimmed = line.trim();
                if trimmed.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(trimmed);
                if let Some(path) = &history {
                    let _ = editor.append_history(path);
                }
                if trimmed.starts_with('\\') {
                    match meta::perform(rt, session, trimmed) {
                        meta::Step::Quit => break,
                        meta::Step::Continue(outcome) if outcome.ends_session() => {
                            return outcome.exit_code();
                        }
                        meta::Step::Continue(_) => continue,
                    }
                }
                let outcome = rt.block_on(session.execute(&line));
                if outcome.ends_session() {
                    return outcome.exit_code();
                }
                if outcome == Outcome::CommittedLocally {
                    // The shell goes on; its exit status still tells a wrapper that a
                    // COMMIT was not confirmed by the synchronous standby.
                    status = outcome.exit_code();
                }
            }
            Err(ReadlineError::Interrupted) => continue,
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
