//! The interactive REPL through a real pseudo-terminal.
//!
//! Each test starts the real binary on a pty with `TERM=xterm` ([`Term`], so the real
//! rustyline editor runs in raw mode) and talks to it as a user would: waits for the
//! prompt, types a line, waits for the answer. Data are checked with the superuser,
//! errors by SQLSTATE. A failing expectation prints everything the terminal showed so far.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::term::{Start, Term, STEP};
use crate::util::{TestDb, COMPLETION_APP, LOGIN, PASSWORD, READER, WRITER};

/// A cancel request must end a running statement within this.
const CANCEL: Duration = Duration::from_secs(3);

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
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}'",
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
         WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}'",
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
    // The shell reconnects and goes on; the COMMIT typed for the lost transaction is
    // not run.
    t.expect("Attempting reset: Succeeded.");
    t.expect("the input was not run");
    t.prompt(READER, "=>");
    t.quit();
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
fn repl_error_keeps_the_transaction_open() {
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
    // The implicit savepoint undoes only the failed statement: still `=*>`, not `=!>`.
    t.line("select 1/0;");
    t.expect("ERROR:  22012: division by zero");
    t.expect("statement undone (ROLLBACK TO its savepoint)");
    t.prompt(WRITER, "=*>");
    t.line("select qty from items where id = 3;");
    let out = t.expect("(1 row)");
    t.ensure(has_cell(&out, "7"), "the update before the error is kept");
    t.prompt(WRITER, "=*>");
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

/// A reviewed script (`-f`) runs through the same guard; its COMMIT is confirmed on the
/// controlling terminal, never from the script itself.
#[test]
fn script_commit_is_confirmed_on_the_terminal() {
    let db = TestDb::new("rp_script");
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("fix.sql");
    std::fs::write(
        &script,
        "update items set note = 'fixed' where id = 3;\ncommit;\n-- the script cannot answer for itself:\nt_rp_script\n;\n",
    )
    .expect("script");
    let path = script.to_string_lossy().into_owned();
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-f", &path]);
    t.expect("item 3 → fixed");
    t.expect("Type the environment name (t_rp_script) to COMMIT");
    t.line("t_rp_script");
    t.expect("COMMIT");
    // The line after COMMIT in the script is not a statement pgward runs as an answer.
    let code = t.exit_code();
    assert_eq!(
        db.value("select note from items where id = 3").as_deref(),
        Some("fixed")
    );
    assert_ne!(code, 0, "the stray line after COMMIT is an error");
}

#[test]
fn repl_history_keeps_no_secrets() {
    let db = TestDb::new("rp_secrets");
    let home = tempfile::tempdir().expect("home");
    crate::util::write_config(home.path(), "history_ignore = ['(?i)hush_\\w+']\n");
    let mut t = Term::ready(&db, home.path());
    t.line("alter role app_writer");
    t.prompt(READER, "->");
    t.line("password 'sekret-1';");
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.prompt(READER, "=>");
    t.line("select 1 as hush_col;");
    t.prompt(READER, "=>");
    t.line("select 7 as kept;");
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
    assert!(text.contains("select 7 as kept;"), "{text:?}");
    assert!(
        !text.contains("sekret") && !text.contains("hush_col"),
        "no secret and no ignored statement in the history: {text:?}"
    );
    let hash = db.value("select rolpassword from pg_authid where rolname = 'app_writer'");
    assert!(
        hash.is_none_or(|h| !h.contains("sekret")),
        "the role's password was not changed"
    );
}
