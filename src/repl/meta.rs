//! Backslash meta-commands, as psql spells them. The interactive shell and scripts
//! (`-c`, `-f`, standard input) both run them through [`perform`]. What they print goes
//! through the session's one terminal writer, with every name and argument escaped.

use crate::render::escape::one_line;
use crate::session::{Outcome, Session};

use super::{describe, help};

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
    Describe(describe::Plan),
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
        Action::Describe(plan) => Step::Continue(describe_with(rt, session, plan)),
    }
}

/// Runs a describe plan: every catalog query is a read through the session
/// ([`Session::read_rows`]), and the pages are drawn as psql draws them.
fn describe_with(
    rt: &tokio::runtime::Runtime,
    session: &mut Session,
    plan: describe::Plan,
) -> Outcome {
    use crate::render::print::Part;
    use describe::relation::{self, Described};
    use describe::Plan;
    match plan {
        Plan::List(queries) => {
            for q in queries {
                let result = match rt.block_on(session.read_rows(&q.sql)) {
                    Ok(result) => result,
                    Err(outcome) => return outcome,
                };
                if let (true, Some(message)) = (result.rows.is_empty(), &q.empty) {
                    session.io().say_error(&one_line(message));
                    continue;
                }
                // Drawn as any result is, under psql's title for the listing, so `\x`,
                // `\pset` and `\o` apply as in psql.
                let io = session.io();
                let saved = io.pset_mut().title.replace(q.title);
                io.result(&result.columns, &result.rows, Part::WHOLE);
                io.pset_mut().title = saved;
            }
            Outcome::Ok
        }
        Plan::Relation { pattern, verbose } => {
            let mut failed = None;
            let mut read = |sql: &str| {
                let result = rt.block_on(session.read_rows(sql));
                if let Err(outcome) = result {
                    failed = Some(outcome);
                }
                result
            };
            let described = relation::describe(&mut read, &pattern, verbose);
            match described {
                Err(message) => {
                    let line = format!("\\d: {}\n", one_line(&message));
                    session.io().say_err(&line);
                    Outcome::SqlError
                }
                Ok(Described::NotFound(message)) => {
                    session.io().say_error(&one_line(&message));
                    failed.unwrap_or(Outcome::SqlError)
                }
                Ok(Described::Pages(pages)) => {
                    for page in pages {
                        page.draw(session.io());
                    }
                    failed.unwrap_or(Outcome::Ok)
                }
            }
        }
        Plan::FunctionSource(q) => {
            let result = match rt.block_on(session.read_rows(&q.sql)) {
                Ok(result) => result,
                Err(outcome) => return outcome,
            };
            let text = result
                .rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .unwrap_or_default();
            let mut text = text;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            session.io().result_text(&text);
            Outcome::Ok
        }
    }
}

const HELP: &str = "\
General
  \\q                quit pgward (an open transaction is rolled back)
  \\?                show this help
  \\h [NAME]        help on the syntax of SQL commands (psql's), * for all
  \\conninfo         show how pgward is connected and which roles it uses
  \\c[onnect] ENV    switch to environment ENV of the config file (no transaction open)

Previews
  \\preview SQL      run one write, show what it did, and undo it
  \\diff all         show every column of changed rows in diffs
  \\diff changed     show only the changed columns (default)
  \\again REASON     let the next COMMIT repeat a change the ledger already holds

{DESCRIBE}

Output (as psql's)
  \\pset [NAME [VALUE]] set or show a printing option (format aligned|unaligned|csv,
                    border, expanded, tuples_only, null, fieldsep, recordsep,
                    csv_fieldsep, footer, pager on|off|always, title)
  \\x [on|off|auto]  expanded display       \\t [on|off]   rows only
  \\a                aligned/unaligned       \\f [SEP]      field separator
  \\C [TITLE]        table title             \\o [FILE]     results to FILE
  \\g [FILE]         run the buffer          \\gx [FILE]    run it, expanded
  \\gset [PREFIX]    run the buffer (a read of one row), its values into variables
  \\errverbose       the last server error with every field
  \\copy ... TO FILE|STDOUT [options]   export a table or (query) as COPY data
  \\copy ... FROM FILE|STDIN [options] load rows, as a previewed write

Transactions
  Reads run in their own READ ONLY transaction. The first write opens a guarded
  transaction under the environment's write role; COMMIT (or END) asks for
  confirmation, ROLLBACK (or ABORT) discards it.";

/// Runs one meta-command line.
pub fn run(line: &str, session: &mut Session) -> Action {
    let command = line.split_whitespace().next().unwrap_or("");
    let argument = line[command.len()..].trim();
    let words = describe::words(argument);
    if let Some(planned) = describe::plan(command, &words, argument) {
        let takes_all = command.starts_with("\\sf");
        for extra in words.iter().skip(1).filter(|_| !takes_all) {
            let line = format!(
                "{}: extra argument {} ignored\n",
                one_line(command),
                one_line(&format!("{extra:?}"))
            );
            session.io().say_err(&line);
        }
        return match planned {
            Ok(plan) => Action::Describe(plan),
            Err(message) => {
                let line = format!("{}: {}\n", one_line(command), one_line(&message));
                session.io().say_err(&line);
                Action::Invalid
            }
        };
    }
    match command {
        "\\preview" if !argument.is_empty() => Action::Preview(argument.to_string()),
        "\\preview" => {
            session.io().say_err(
                "\\preview needs a statement, e.g. \\preview delete from t where id = 1;\n",
            );
            Action::Continue
        }
        "\\diff" => {
            match argument {
                "all" => session.set_all_columns(true),
                "changed" | "" => session.set_all_columns(false),
                other => {
                    let line = format!("\\diff takes all or changed, not {:?}\n", one_line(other));
                    session.io().say_err(&line);
                }
            }
            Action::Continue
        }
        "\\again" if !argument.is_empty() => {
            session.set_again(argument, false);
            session.io().say_note(
                "the next COMMIT may commit a change the ledger says was already committed here; the reason is logged and shown to the reviewer",
            );
            Action::Continue
        }
        "\\again" => {
            session.io().say_err(
                "\\again needs a reason, e.g. \\again the first run was rolled back by hand\n",
            );
            Action::Invalid
        }
        "\\q" | "\\quit" => Action::Quit,
        "\\h" | "\\help" => {
            // psql assumes 80 columns when its output is not a terminal.
            let width = session.io().screen_width().map_or(80, usize::from);
            let text = help::help(argument, width);
            session.io().result_text(&text);
            Action::Continue
        }
        "\\?" => {
            session
                .io()
                .say_out(&HELP.replace("{DESCRIBE}", describe::HELP));
            Action::Continue
        }
        "\\conninfo" => {
            let s = session.settings();
            let e = |v: &str| one_line(v);
            // The server this connection reached (after a failover, not the first
            // configured host), worded as psql words it.
            let live = session.conn_params();
            let place = match (&live.hostaddr, live.host.starts_with('/')) {
                (_, true) => format!("via socket in \"{}\"", e(&live.host)),
                (Some(addr), false) => {
                    format!("on host \"{}\" (address \"{}\")", e(&live.host), e(addr))
                }
                (None, false) => format!("on host \"{}\"", e(&live.host)),
            };
            let info = format!(
                "You are connected to database \"{}\" as user \"{}\" {} at port \"{}\" (environment {}).\n\
                 Writes run as {}; reads run as {}. Author {}; ticket {}.",
                e(&live.dbname),
                e(session.login()),
                place,
                live.port,
                e(&s.env.name),
                e(s.env.write_role.as_deref().unwrap_or("(none: writes are refused)")),
                e(&session.read_role()),
                e(&s.author),
                e(s.ticket.as_deref().unwrap_or("(none)")),
            );
            session.io().say_out(&info);
            let t = session.effective_timeouts();
            let ms = crate::session::defaults::ms;
            let timeouts = format!(
                "Timeouts in pgward's transactions (the stricter of the server's and the config's): \
                 statement_timeout {}, lock_timeout {}, idle_in_transaction_session_timeout {}.",
                ms(t.statement),
                ms(t.lock),
                ms(t.idle)
            );
            session.io().say_out(&timeouts);
            if session.is_standby() {
                session
                    .io()
                    .say_out("The server is a standby (read-only): writes are refused.");
            }
            if let Some(line) = session.pooler_summary() {
                // The line starts with an ASCII word ("connected", "declared").
                let (first, rest) = line.split_at(1.min(line.len()));
                let shown = format!("{}{rest}.", first.to_ascii_uppercase());
                session.io().say_out(&shown);
            }
            let risks: Vec<String> = session
                .accepted_risks()
                .iter()
                .map(|line| format!("WARNING: {}", one_line(line)))
                .collect();
            for line in risks {
                session.io().say_out(&line);
            }
            Action::Continue
        }
        other => {
            let line = format!("invalid command {}\nTry \\? for help.\n", one_line(other));
            session.io().say_err(&line);
            Action::Invalid
        }
    }
}
