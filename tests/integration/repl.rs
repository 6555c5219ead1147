//! The interactive REPL through a real pseudo-terminal.
//!
//! Each test starts the real binary on a pty (rexpect) with `TERM=xterm`, so the real
//! rustyline editor runs in raw mode, and talks to it as a user would: waits for the
//! prompt, types a line, waits for the answer. Escape sequences are stripped from the
//! output and every match is a substring; a prompt only counts when the output ends with
//! it, so rustyline's redraws of `prompt + line` are not taken for it. Data are checked
//! with the superuser, errors by SQLSTATE. A failing expectation prints everything the
//! terminal showed so far.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::process::wait::WaitStatus;
use rexpect::reader::{Options, Regex};
use rexpect::session::PtySession;
use rexpect::ReadUntil;

use crate::util::{self, TestDb, LOGIN, PASSWORD, READER, WRITER};

/// How long starting, connecting and any ordinary step may take (2 CPUs, debug build).
const STEP: Duration = Duration::from_secs(10);
/// A cancel request must end a running statement within this.
const CANCEL: Duration = Duration::from_secs(3);
/// A prompt counts once nothing followed it for this long.
const SETTLE: Duration = Duration::from_millis(150);

/// How the shell is started.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// PGPASSWORD set.
    WithPassword,
    /// No PGPASSWORD, no pgpass, and terminal echo switched on: pgward must ask for the
    /// password and hide it itself.
    AskPassword,
}

/// One pgward process on a pseudo-terminal, and everything it printed.
struct Term {
    p: PtySession,
    /// The environment (for an ad-hoc session, the database name).
    env: String,
    /// The database.
    db: String,
    /// Everything the terminal showed, escape sequences stripped.
    transcript: String,
    /// What has not been matched yet.
    pending: String,
    /// The exit status, once the process was reaped.
    exited: Option<WaitStatus>,
    /// Matches whatever output is buffered.
    drain: Regex,
}

impl Term {
    /// `pgward -d <login conninfo> --write-role app_writer --read-role app_reader` on a
    /// pty, with `home` as HOME.
    fn start(db: &TestDb, home: &Path, how: Start) -> Term {
        // A shell sets the terminal up first, then execs pgward (same pid, so Ctrl-C and
        // the exit status are pgward's): a pty starts 0x0, and rustyline would then wrap
        // at 80 columns and redraw long prompts; rexpect switches echo off, which would
        // make the password test pass even if pgward never hid the input.
        let setup = match how {
            Start::WithPassword => "stty cols 250 rows 50",
            Start::AskPassword => "stty cols 250 rows 50 echo",
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{setup} && exec \"$0\" \"$@\""))
            .arg(util::bin())
            .args([
                "-d",
                &db.login_conninfo(),
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ]);
        util::isolate(&mut cmd, home);
        // A real terminal type: rustyline's editor, not its fallback for dumb terminals.
        cmd.env("TERM", "xterm");
        if how == Start::WithPassword {
            cmd.env("PGPASSWORD", PASSWORD);
        }
        let options = Options::new()
            .timeout_ms(Some(STEP.as_millis() as u64))
            .strip_ansi_escape_codes(true);
        let p = rexpect::session::spawn_with_options(cmd, options).expect("spawn pgward on a pty");
        Term {
            p,
            env: db.name.clone(),
            db: db.name.clone(),
            transcript: String::new(),
            pending: String::new(),
            exited: None,
            drain: Regex::new("(?s).*").expect("regex"),
        }
    }

    /// Started with PGPASSWORD, up to the first prompt.
    fn ready(db: &TestDb, home: &Path) -> Term {
        let mut t = Term::start(db, home, Start::WithPassword);
        t.expect("type \\? for help, \\q to quit.");
        t.prompt(READER, "=>");
        t
    }

    /// The prompt for `role` and transaction marker `marker`.
    fn prompt_text(&self, role: &str, marker: &str) -> String {
        format!("[{}] {role}@{}{marker} ", self.env, self.db)
    }

    fn pump(&mut self) {
        // Everything available, without waiting: `.*` also matches the empty buffer.
        // (Not `try_read`: it splits the buffer byte-wise and panics on non-ASCII output.)
        let all = ReadUntil::Regex(self.drain.clone());
        if let Ok((_, got)) = self.p.reader.read_until(&all) {
            self.transcript.push_str(&got);
            self.pending.push_str(&got);
        }
        if self.exited.is_none() {
            match self.p.process.status() {
                Some(WaitStatus::StillAlive) | None => {}
                Some(s) => self.exited = Some(s),
            }
        }
    }

    /// Panics with `what` and the whole terminal transcript.
    #[track_caller]
    fn fail(&mut self, what: &str) -> ! {
        std::thread::sleep(Duration::from_millis(100));
        self.pump();
        panic!(
            "{what}\n(process: {})\n===== terminal so far =====\n{}\n===== not yet matched =====\n{}\n===========================",
            match &self.exited {
                None => "still running".to_string(),
                Some(s) => format!("{s:?}"),
            },
            self.transcript.replace('\r', ""),
            self.pending.replace('\r', ""),
        );
    }

    /// Asserts `ok`, showing the terminal when it does not hold.
    #[track_caller]
    fn ensure(&mut self, ok: bool, what: &str) {
        if !ok {
            self.fail(&format!("assertion failed: {what}"));
        }
    }

    /// Waits up to `limit` for `needle`; returns what came before it.
    #[track_caller]
    fn expect_within(&mut self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        let mut gone_since: Option<Instant> = None;
        loop {
            self.pump();
            if let Some(i) = self.pending.find(needle) {
                let before = self.pending[..i].to_string();
                self.pending.drain(..i + needle.len());
                return before;
            }
            if start.elapsed() > limit {
                self.fail(&format!("expected {needle:?} within {limit:?}"));
            }
            if self.exited.is_some() {
                // Let the last output drain, then give up.
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    self.fail(&format!("expected {needle:?}, but pgward exited"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for `needle` (ordinary step timeout); returns what came before it.
    #[track_caller]
    fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, STEP)
    }

    /// Waits for the prompt to wait for input; returns what came before it (the previous
    /// answer). Rustyline redraws `prompt + line` while a line is edited (multi-line
    /// input, history), so only a prompt that ends the output and stays the end of it for
    /// a moment counts.
    #[track_caller]
    fn prompt(&mut self, role: &str, marker: &str) -> String {
        let p = self.prompt_text(role, marker);
        let start = Instant::now();
        let mut quiet: Option<(usize, Instant)> = None;
        loop {
            self.pump();
            // After the prompt, rustyline moves the cursor: `\r` and an escape, stripped.
            let shown = self.pending.trim_end_matches('\r');
            if shown.ends_with(&p) {
                let len = self.pending.len();
                match quiet {
                    Some((l, since)) if l == len => {
                        if since.elapsed() >= SETTLE {
                            let before = shown[..shown.len() - p.len()].to_string();
                            self.pending.clear();
                            return before;
                        }
                    }
                    _ => quiet = Some((len, Instant::now())),
                }
            } else {
                quiet = None;
            }
            if start.elapsed() > STEP {
                self.fail(&format!("expected the prompt {p:?} within {STEP:?}"));
            }
            if self.exited.is_some() && quiet.is_none() {
                std::thread::sleep(Duration::from_millis(300));
                self.pump();
                if !self.pending.trim_end_matches('\r').ends_with(&p) {
                    self.fail(&format!("expected the prompt {p:?}, but pgward exited"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` without Enter.
    fn send(&mut self, text: &str) {
        self.p.send(text).expect("write to the pty");
        self.p.flush().expect("flush the pty");
    }

    /// Types `line` and Enter (a carriage return, as a terminal sends it).
    fn line(&mut self, line: &str) {
        self.send(&format!("{line}\r"));
    }

    /// Presses Ctrl-`c`.
    fn ctrl(&mut self, c: char) {
        self.p.send_control(c).expect("write to the pty");
    }

    /// Waits for the process to end; its exit code.
    #[track_caller]
    fn exit_code(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            self.pump();
            match self.exited {
                Some(WaitStatus::Exited(_, code)) => {
                    std::thread::sleep(Duration::from_millis(100));
                    self.pump();
                    return code;
                }
                Some(other) => self.fail(&format!("pgward did not exit normally: {other:?}")),
                None => {}
            }
            if start.elapsed() > STEP {
                self.fail(&format!("pgward did not exit within {STEP:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// True when some line of `out` is exactly `cell` once trimmed (a one-column result).
fn has_cell(out: &str, cell: &str) -> bool {
    out.lines().any(|l| l.trim() == cell)
}

/// Polls `sql` (run as the superuser) until it returns `want`, up to `limit`.
fn wait_for_value(db: &TestDb, sql: &str, want: &str, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if db.value(sql).as_deref() == Some(want) {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The login role's backends in `db`.
fn backends(db: &TestDb) -> String {
    format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND datname = '{}'",
        db.name
    )
}

#[test]
fn repl_commit_needs_the_environment_name() {
    let db = TestDb::new("rp_commit");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    let question = format!(
        "Type the environment name ({}) to COMMIT, anything else keeps the transaction open: ",
        t.env
    );

    t.line("update items set qty = 99 where id = 2;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");

    // A wrong name: not confirmed, still open, nothing committed.
    t.line("commit;");
    t.expect("No second reviewer was involved");
    t.expect(&question);
    t.line("prod");
    t.expect("COMMIT not confirmed");
    t.expect("HINT:");
    t.prompt(WRITER, "=*>");
    let now = db.items();
    t.ensure(
        now == before,
        &format!("a wrong name changed nothing: {now} vs {before}"),
    );

    // Ctrl-C at the question: not confirmed either, and the shell stays.
    t.line("commit;");
    t.expect(&question);
    t.ctrl('c');
    t.expect("COMMIT not confirmed");
    t.prompt(WRITER, "=*>");
    let now = db.items();
    t.ensure(
        now == before,
        &format!("Ctrl-C changed nothing: {now} vs {before}"),
    );

    // The environment name commits.
    t.line("commit;");
    t.expect("No second reviewer was involved");
    t.expect(&question);
    let env = t.env.clone();
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT") && !answer.contains("not confirmed"),
        "the environment name commits and prints COMMIT",
    );
    let after = db.items();
    t.ensure(
        after == before.replace("2:20:item 2", "2:99:item 2") && after != before,
        &format!("the committed update is in the table: {after}"),
    );

    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
}

#[test]
fn repl_ctrl_c_cancels_a_running_statement() {
    let db = TestDb::new("rp_cancel");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    // Ctrl-C at the prompt clears the line: nothing runs, the shell stays.
    t.send("select 'abandoned' as never_run");
    t.expect("as never_run");
    t.ctrl('c');
    let cleared = t.prompt(READER, "=>");
    t.ensure(
        !cleared.contains("(1 row)"),
        "the abandoned line was not run",
    );
    t.line("select 2 as still_here;");
    let out = t.expect("(1 row)");
    t.ensure(
        has_cell(&out, "2"),
        "the shell still answers after Ctrl-C at the prompt",
    );
    t.prompt(READER, "=>");

    // Ctrl-C while a statement runs sends a cancel request.
    t.line("select pg_sleep(60);");
    let sleeping = format!("{} AND wait_event = 'PgSleep'", backends(&db));
    if !wait_for_value(&db, &sleeping, "1", STEP) {
        t.fail("pg_sleep(60) never started on the server");
    }
    let sent = Instant::now();
    t.ctrl('c');
    t.expect_within(
        "ERROR:  57014: canceling statement due to user request",
        CANCEL,
    );
    let took = sent.elapsed();
    t.ensure(took < CANCEL, &format!("the cancel took {took:?}"));
    t.prompt(READER, "=>");
    let still = db.value(&sleeping);
    t.ensure(
        still.as_deref() == Some("0"),
        "the server is no longer sleeping",
    );

    t.line("select 1 as one;");
    let out = t.expect("(1 row)");
    t.ensure(has_cell(&out, "1"), "select 1 works after the cancel");
    t.prompt(READER, "=>");

    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
}

#[test]
fn repl_killed_backend_commits_nothing() {
    let db = TestDb::new("rp_killed");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    t.line("update items set qty = 0 where id <= 4;");
    t.expect("UPDATE 4");
    t.prompt(WRITER, "=*>");

    let killed = db.value(&format!(
        "SELECT string_agg(pg_terminate_backend(pid)::text, ',') FROM pg_stat_activity \
         WHERE usename = '{LOGIN}' AND datname = '{}'",
        db.name
    ));
    t.ensure(
        killed.as_deref() == Some("true"),
        &format!("terminated one backend: {killed:?}"),
    );
    if !wait_for_value(&db, &backends(&db), "0", STEP) {
        t.fail("the terminated backend did not go away");
    }

    t.line("commit;");
    t.expect("connection lost");
    t.expect("nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 3, &format!("exit code {code}, expected 3"));
    let after = db.items();
    t.ensure(
        after == before,
        &format!("nothing was committed: {after} vs {before}"),
    );
}

#[test]
fn repl_refusal_keeps_role_and_session() {
    let db = TestDb::new("rp_refusal");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    t.line("set role pgward_admin;");
    let out = t.expect("HINT:");
    t.ensure(
        out.to_lowercase().contains("refused"),
        "SET ROLE is refused",
    );
    t.prompt(READER, "=>");
    t.line("select current_user;");
    let out = t.expect("(1 row)");
    t.ensure(has_cell(&out, READER), "reads still run as the read role");
    t.prompt(READER, "=>");

    t.line("update items set qty = 1 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("reset role;");
    let out = t.expect("HINT:");
    t.ensure(
        out.to_lowercase().contains("refused"),
        "RESET ROLE is refused",
    );
    t.prompt(WRITER, "=*>");
    t.line("select current_user;");
    let out = t.expect("(1 row)");
    t.ensure(
        has_cell(&out, WRITER),
        "the transaction still runs as the write role",
    );
    t.prompt(WRITER, "=*>");

    t.line("\\q");
    t.expect("rolled back: nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    let after = db.items();
    t.ensure(
        after == before,
        &format!("nothing was committed: {after} vs {before}"),
    );
}

#[test]
fn repl_failed_transaction_marker() {
    let db = TestDb::new("rp_failed");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    t.line("begin;");
    t.expect("BEGIN");
    t.prompt(WRITER, "=*>");
    t.line("savepoint a;");
    t.expect("SAVEPOINT");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 7 where id = 3;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("select 1/0;");
    t.expect("ERROR:  22012: division by zero");
    t.prompt(WRITER, "=!>");
    t.line("select 1;");
    t.expect("ERROR:  25P02:");
    t.prompt(WRITER, "=!>");
    t.line("rollback to a;");
    t.expect("ROLLBACK");
    t.prompt(WRITER, "=*>");
    t.line("select qty from items where id = 3;");
    let out = t.expect("(1 row)");
    t.ensure(
        has_cell(&out, "30"),
        "ROLLBACK TO undid the update after the savepoint",
    );
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.expect("ROLLBACK");
    t.prompt(READER, "=>");

    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    let after = db.items();
    t.ensure(
        after == before,
        &format!("nothing was committed: {after} vs {before}"),
    );
}

#[test]
fn repl_multiline_and_meta() {
    let db = TestDb::new("rp_meta");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    // Enter before the `;` continues the statement on the next line.
    t.send("select");
    t.expect("select");
    t.line("");
    std::thread::sleep(Duration::from_millis(300));
    t.pump();
    t.ensure(
        !t.pending.contains("ERROR"),
        "an unfinished statement is not sent",
    );
    t.line("1 as x;");
    let out = t.expect("(1 row)");
    t.ensure(
        has_cell(&out, "x") && has_cell(&out, "1"),
        "the two lines ran as one statement",
    );
    t.prompt(READER, "=>");

    // Errors as psql shows them: SQLSTATE, LINE n of the statement, a caret.
    t.send("select qty,");
    t.expect("qty,");
    t.line("");
    t.line("nosuch from items;");
    let out = t.prompt(READER, "=>");
    t.ensure(out.contains("ERROR:  42703:"), "an unknown column is 42703");
    // (psql would show the `;` too; pgward quotes the statement as sent, without it.)
    t.ensure(
        out.contains("LINE 2: nosuch from items"),
        "the error names line 2",
    );
    t.ensure(
        out.lines().any(|l| l.trim_end() == "        ^"),
        "a caret under the unknown column",
    );

    t.line("\\conninfo");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains(&format!("database \"{}\"", db.name)) && out.contains(LOGIN),
        "\\conninfo names the database and the login",
    );
    t.line("\\?");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("\\q") && out.contains("\\conninfo"),
        "\\? lists the meta-commands",
    );
    t.line("\\zz");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("invalid command \\zz"),
        "an unknown meta-command is invalid",
    );

    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
}

#[test]
fn repl_history_file_per_environment() {
    let db = TestDb::new("rp_history");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("select 42 as answer;");
    t.expect("(1 row)");
    t.prompt(READER, "=>");
    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));

    let file: PathBuf = home
        .path()
        .join(".local/share/pgward/history")
        .join(&db.name);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    t.ensure(
        text.contains("select 42 as answer;"),
        &format!("{} holds the statement: {text:?}", file.display()),
    );

    // The next session of the same environment recalls it: Up twice (past `\q`), Enter.
    let mut t = Term::ready(&db, home.path());
    t.send("\x1b[A");
    t.expect("\\q");
    t.send("\x1b[A");
    t.expect("select 42 as answer;");
    t.line("");
    let out = t.expect("(1 row)");
    t.ensure(has_cell(&out, "42"), "the recalled statement ran");
    t.prompt(READER, "=>");
    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
}

#[test]
fn repl_password_prompt_without_echo() {
    let db = TestDb::new("rp_password");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::start(&db, home.path(), Start::AskPassword);
    t.expect(&format!("Password for user {LOGIN}: "));
    // The prompt is written just before echo is switched off: give it time.
    std::thread::sleep(Duration::from_millis(500));
    t.line(PASSWORD);
    let shown = t.expect("type \\? for help, \\q to quit.");
    t.ensure(
        !shown.contains(PASSWORD),
        "the typed password is not echoed",
    );
    t.prompt(READER, "=>");
    t.line("select current_user;");
    let out = t.expect("(1 row)");
    t.ensure(has_cell(&out, READER), "the session works");
    t.prompt(READER, "=>");
    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    let all = t.transcript.clone();
    t.ensure(
        !all.contains(PASSWORD),
        "the password never appears on the terminal",
    );
}
