//! psql's output meta-commands: `\pset`, `\x`, `\t`, `\a`, `\f`, `\C` (the printing
//! options, answered in psql's words unless `-q`), `\o` (results to a file) and
//! `\errverbose` (the last server error with every field libpq's VERBOSE shows).
//! Their arguments arrive already read as psql reads them (quotes, escapes, variables).

use crate::render::pset::Format;
use crate::session::{Outcome, Session};

/// The meta-commands this file runs.
pub const COMMANDS: [&str; 9] = [
    "\\pset",
    "\\x",
    "\\t",
    "\\a",
    "\\f",
    "\\C",
    "\\o",
    "\\out",
    "\\errverbose",
];

/// Runs output meta-command `command` with `args`.
pub fn perform(session: &mut Session, command: &str, args: &[String]) -> Outcome {
    let arg = args.first().map(String::as_str);
    match command {
        "\\pset" => match arg {
            None => {
                let list = session.io().pset().list();
                session.io().say_out(list.trim_end_matches('\n'));
                Outcome::Ok
            }
            Some(name) => pset(session, name, args.get(1).map(String::as_str)),
        },
        "\\x" => pset(session, "expanded", arg),
        "\\t" => pset(session, "tuples_only", arg),
        "\\a" => {
            let to = if session.io().pset().format == Format::Aligned {
                "unaligned"
            } else {
                "aligned"
            };
            pset(session, "format", Some(to))
        }
        "\\f" => pset(session, "fieldsep", arg),
        "\\C" => pset(session, "title", arg),
        "\\o" | "\\out" => output(session, arg),
        "\\errverbose" => {
            match session.last_error() {
                Some((db, statement, at)) => {
                    let shown = crate::render::error::verbose(db, statement, *at);
                    session.io().say_err(&shown);
                }
                None => session.io().say_out("There is no previous error."),
            }
            Outcome::Ok
        }
        _ => Outcome::SqlError,
    }
}

/// `\pset NAME [VALUE]`, psql's answer shown unless `-q`.
fn pset(session: &mut Session, name: &str, value: Option<&str>) -> Outcome {
    match session.io().pset_mut().set(name, value) {
        Ok(said) => {
            if let Some(said) = said.filter(|_| !session.io().is_quiet()) {
                session.io().say_out(&said);
            }
            Outcome::Ok
        }
        Err(message) => {
            session.io().say_error(&message);
            Outcome::SqlError
        }
    }
}

/// `\o [FILE]`: results to FILE (created or truncated), or back to standard output.
fn output(session: &mut Session, file: Option<&str>) -> Outcome {
    match file {
        None => {
            session.io().set_output(None);
            Outcome::Ok
        }
        Some(f) if f.starts_with('|') => {
            session
                .io()
                .say_error("\\o: sending results to a command is not supported; give a file name");
            Outcome::SqlError
        }
        Some(f) => match open(f) {
            Ok(w) => {
                session.io().set_output(Some(w));
                Outcome::Ok
            }
            Err(message) => {
                session.io().say_error(&format!("\\o: {message}"));
                Outcome::SqlError
            }
        },
    }
}

/// Opens `path` for results (`\o`, `\g FILE`, `-o`), created or truncated.
pub fn open(path: &str) -> Result<Box<dyn std::io::Write>, String> {
    std::fs::File::create(path)
        .map(|f| Box::new(f) as Box<dyn std::io::Write>)
        .map_err(|e| format!("{}: {e}", crate::render::escape::one_line(path)))
}
