//! Backslash meta-commands, as psql spells them. The interactive shell and scripts
//! (`-c`, `-f`, standard input) both run them through [`perform`].

use std::io::Write;

use crate::session::{Outcome, Session};

use super::describe;

/// What the loop does after a meta-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the next line.
    Continue,
    /// Leave the shell.
    Quit,
    /// Run this write, show its preview, and undo it.
    Preview(String),
    /// Run these catalog queries through the session (`\d` and friends).
    Describe(Vec<describe::Query>),
    /// The command was not understood, or its argument was wrong.
    Invalid,
}

/// What running a meta-command line leaves the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Go on with the next input; the outcome says whether the command worked.
    Continue(Outcome),
    /// Leave the shell, or end the script.
    Quit,
}

/// Runs one meta-command line to the end, queries included.
pub fn perform(rt: &tokio::runtime::Runtime, session: &mut Session, line: &str) -> Step {
    match run(line, session) {
        Action::Quit => Step::Quit,
        Action::Continue => Step::Continue(Outcome::Ok),
        Action::Invalid => Step::Continue(Outcome::SqlError),
        Action::Preview(sql) => Step::Continue(rt.block_on(session.preview(&sql))),
        Action::Describe(queries) => {
            let many = queries.len() > 1;
            for q in &queries {
                // The title may hold the pattern as typed: control characters are escaped.
                println!("{}", crate::render::escape::one_line(&q.title));
                let _ = std::io::stdout().flush();
                let outcome = rt.block_on(session.execute(&format!("{}\n;", q.sql)));
                if outcome != Outcome::Ok {
                    return Step::Continue(outcome);
                }
                if many {
                    println!();
                }
            }
            Step::Continue(Outcome::Ok)
        }
    }
}

const HELP: &str = "\
General
  \\q                quit pgward (an open transaction is rolled back)
  \\?                show this help
  \\conninfo         show how pgward is connected and which roles it uses

Previews
  \\preview SQL      run one write, show what it did, and undo it
  \\diff all         show every column of changed rows in diffs
  \\diff changed     show only the changed columns (default)

{DESCRIBE}

Transactions
  Reads run in their own READ ONLY transaction. The first write opens a guarded
  transaction under the environment's write role; COMMIT (or END) asks for
  confirmation, ROLLBACK (or ABORT) discards it.";

/// Runs one meta-command line.
pub fn run(line: &str, session: &mut Session) -> Action {
    let command = line.split_whitespace().next().unwrap_or("");
    let argument = line[command.len()..].trim();
    let words = describe::words(argument);
    if let Some(planned) = describe::plan(command, &words) {
        for extra in words.iter().skip(1) {
            eprintln!("{command}: extra argument {extra:?} ignored");
        }
        return match planned {
            Ok(queries) => Action::Describe(queries),
            Err(message) => {
                eprintln!("{command}: {message}");
                Action::Invalid
            }
        };
    }
    match command {
        "\\preview" if !argument.is_empty() => Action::Preview(argument.to_string()),
        "\\preview" => {
            eprintln!("\\preview needs a statement, e.g. \\preview delete from t where id = 1;");
            Action::Continue
        }
        "\\diff" => {
            match argument {
                "all" => session.set_all_columns(true),
                "changed" | "" => session.set_all_columns(false),
                other => eprintln!("\\diff takes all or changed, not {other:?}"),
            }
            Action::Continue
        }
        "\\q" | "\\quit" => Action::Quit,
        "\\?" => {
            println!("{}", HELP.replace("{DESCRIBE}", describe::HELP));
            Action::Continue
        }
        "\\conninfo" => {
            let s = session.settings();
            println!(
                "You are connected to database \"{}\" as user \"{}\" on \"{}\" at port \"{}\" (environment {}).\n\
                 Writes run as {}; reads run as {}. Author {}; ticket {}.",
                s.conn.dbname,
                session.login(),
                s.conn.host,
                s.conn.port,
                s.env.name,
                s.env.write_role.as_deref().unwrap_or("(none: writes are refused)"),
                session.read_role(),
                s.author,
                s.ticket.as_deref().unwrap_or("(none)"),
            );
            let t = session.effective_timeouts();
            let ms = crate::session::defaults::ms;
            println!(
                "Timeouts in pgward's transactions (the stricter of the server's and the config's): \
                 statement_timeout {}, lock_timeout {}, idle_in_transaction_session_timeout {}.",
                ms(t.statement),
                ms(t.lock),
                ms(t.idle)
            );
            if session.is_standby() {
                println!("The server is a standby (read-only): writes are refused.");
            }
            for line in session.accepted_risks() {
                println!("WARNING: {}", crate::render::escape::one_line(line));
            }
            Action::Continue
        }
        other => {
            eprintln!("invalid command {other}\nTry \\? for help.");
            Action::Invalid
        }
    }
}
