//! Backslash meta-commands, as psql spells them.

use crate::session::Session;

/// What the loop does after a meta-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the next line.
    Continue,
    /// Leave the shell.
    Quit,
    /// Run this write, show its preview, and undo it.
    Preview(String),
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

Transactions
  Reads run in their own READ ONLY transaction. The first write opens a guarded
  transaction under the environment's write role; COMMIT (or END) asks for
  confirmation, ROLLBACK (or ABORT) discards it.";

/// Runs one meta-command line.
pub fn run(line: &str, session: &mut Session) -> Action {
    let command = line.split_whitespace().next().unwrap_or("");
    let argument = line[command.len()..].trim();
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
            println!("{HELP}");
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
                s.env.read_role.as_deref().unwrap_or(session.login()),
                s.author,
                s.ticket.as_deref().unwrap_or("(none)"),
            );
            Action::Continue
        }
        other => {
            eprintln!("invalid command {other}\nTry \\? for help.");
            Action::Continue
        }
    }
}
