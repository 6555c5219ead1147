//! The server ends the connection under an interactive pgward (pg_terminate_backend,
//! idle_session_timeout, idle_in_transaction_session_timeout, a restart): the shell says
//! why in the server's words, says what became of the transaction, reconnects
//! ("Attempting reset: Succeeded."), runs the typed statement only when no transaction
//! was open, and never replays anything. Data is checked as the superuser.

use std::time::{Duration, Instant};

use crate::commit::own_cluster;
use crate::term::{Start, Term};
use crate::util::{self, TestDb, COMPLETION_APP, LOGIN, READER, WRITER};

/// The login's backends in `db` on the shared cluster.
fn backends(db: &TestDb) -> String {
    db.value(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}'",
        db.name
    ))
    .unwrap_or_default()
}

/// Waits until the login has `want` backends in `db`.
fn wait_backends(t: &mut Term, db: &TestDb, want: &str, limit: Duration) {
    let start = Instant::now();
    while backends(db) != want {
        if start.elapsed() > limit {
            t.fail(&format!(
                "the login never had {want} backends in {}",
                db.name
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Terminates the login's backend in `db` as the superuser, and waits until it is gone.
fn terminate_login(t: &mut Term, db: &TestDb) {
    let killed = db.value(&format!(
        "SELECT string_agg(pg_terminate_backend(pid)::text, ',') FROM pg_stat_activity \
         WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}'",
        db.name
    ));
    t.ensure(
        killed.as_deref() == Some("true"),
        &format!("terminated one backend: {killed:?}"),
    );
    wait_backends(t, db, "0", Duration::from_secs(10));
}

#[test]
fn terminated_while_idle_reconnects_and_runs_the_typed_statement() {
    let db = TestDb::new("rc_idle");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    terminate_login(&mut t, &db);
    t.line("select 40 + 2 as answer;");
    let said = t.expect("Attempting reset: Succeeded.");
    t.ensure(
        said.contains("FATAL:  57P01: terminating connection due to administrator command"),
        "the server's FATAL is shown",
    );
    t.ensure(
        said.contains("no transaction was open"),
        "says no transaction was lost",
    );
    let out = t.expect("(1 row)");
    t.ensure(
        out.contains("42"),
        "the typed statement ran after the reset",
    );
    // As psql's, the line ends there: the result starts on a line of its own.
    t.ensure(
        out.starts_with("\r\n") || out.starts_with('\n'),
        "the reset line ends before the result",
    );
    t.prompt(READER, "=>");
    t.ensure(backends(&db) == "1", "one new backend");
    // The new connection is a full one: a write and its preview work.
    t.line("update items set qty = 11 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(
        db.value("SELECT qty::text FROM items WHERE id = 1")
            .as_deref(),
        Some("10")
    );
}

#[test]
fn idle_session_timeout_reconnects() {
    let db = TestDb::new("rc_idle_session");
    db.exec(&format!(
        "ALTER ROLE {LOGIN} IN DATABASE {} SET idle_session_timeout = '1s'",
        db.name
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    // The server ends the idle session by itself.
    wait_backends(&mut t, &db, "0", Duration::from_secs(15));
    t.line("select 'still here' as status;");
    let said = t.expect("Attempting reset: Succeeded.");
    t.ensure(
        said.contains("FATAL:  57P05: terminating connection due to idle-session timeout"),
        "the server's FATAL is shown",
    );
    let out = t.expect("(1 row)");
    t.ensure(out.contains("still here"), "the typed statement ran");
    t.prompt(READER, "=>");
    t.quit();
}

#[test]
fn terminated_in_a_transaction_says_it_is_gone_and_replays_nothing() {
    let db = TestDb::new("rc_open");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 0 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    terminate_login(&mut t, &db);
    t.line("update items set qty = 99 where id = 2;");
    let said = t.expect("Attempting reset: Succeeded.");
    t.ensure(
        said.contains("57P01")
            && said.contains(
                "the open transaction is gone, rolled back by the server; nothing was committed",
            ),
        "the server's reason and the transaction's fate",
    );
    t.expect("the input was not run");
    t.prompt(READER, "=>");
    t.ensure(
        !t.transcript.contains("UPDATE 1\r\nUPDATE 1")
            && !t.transcript.contains("qty = 99\r\nUPDATE"),
        "the typed UPDATE did not run",
    );
    assert_eq!(db.items(), before, "nothing committed, nothing replayed");
    t.line("select qty from items where id = 1;");
    let out = t.expect("(1 row)");
    t.ensure(out.contains("10"), "the earlier write is gone");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(db.items(), before);
}

#[test]
fn idle_in_transaction_timeout_is_warned_then_said() {
    let db = TestDb::new("rc_idle_tx");
    db.exec(&format!(
        "ALTER ROLE {LOGIN} IN DATABASE {} SET idle_in_transaction_session_timeout = '4s'",
        db.name
    ));
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 0 where id = 3;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    let opened = Instant::now();
    t.expect_within(
        "WARNING: the open transaction ends in",
        Duration::from_secs(10),
    );
    t.ensure(
        opened.elapsed() < Duration::from_secs(4),
        "the warning comes before the server ends the transaction",
    );
    t.expect("idle_in_transaction_session_timeout = 4s");
    wait_backends(&mut t, &db, "0", Duration::from_secs(15));
    t.line("commit;");
    let said = t.expect("Attempting reset: Succeeded.");
    t.ensure(
        said.contains("FATAL:  25P03: terminating connection due to idle-in-transaction timeout"),
        "the server's FATAL is shown",
    );
    t.ensure(
        said.contains("the open transaction is gone, rolled back by the server"),
        "says the transaction is gone",
    );
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(db.items(), before, "nothing committed");
}

#[test]
fn restart_reconnects() {
    let name = "t_rc_restart";
    let mut c = own_cluster(name);
    let db = TestDb {
        name: name.to_string(),
    };
    let home = tempfile::tempdir().expect("home");
    let port = c.port().to_string();
    let mut t = Term::start_with(
        &db,
        home.path(),
        Start::WithPassword,
        &["-h", c.host(), "-p", &port],
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    c.restart_in_place().expect("restart the cluster");
    t.line("select 'after the restart' as status;");
    let said = t.expect("Attempting reset: Succeeded.");
    t.ensure(
        said.contains("57P01") && said.contains("no transaction was open"),
        "the server's reason, and no transaction lost",
    );
    let out = t.expect("(1 row)");
    t.ensure(out.contains("after the restart"), "the typed statement ran");
    t.prompt(READER, "=>");
    t.quit();
    let rows = util::admin_rows(&c, name, "SELECT count(*)::text FROM items");
    assert_eq!(rows, vec![vec![Some("5".to_string())]]);
}
