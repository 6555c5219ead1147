//! Cursors, prepared statements, sequence functions and notifications through the real
//! shell: cursors live inside the guarded transaction, an EXECUTE of a prepared write goes
//! through the preview and the guard like the write itself, setval is a write that warns
//! it survives ROLLBACK (and never runs in a dry run), and NOTIFY is a write delivered
//! only at an approved COMMIT. Each test checks the data as superuser afterwards.

use std::time::Duration;

use crate::term::{Start, Term};
use crate::util::{self, TestDb, TestShell, PASSWORD, READER, WRITER};

/// Writes `sql` as a script in `home` and starts `pgward … -f script` on a pty, so that a
/// COMMIT can be confirmed.
fn script_on_pty(db: &TestDb, home: &std::path::Path, sql: &str) -> Term {
    let script = home.join("fix.sql");
    std::fs::write(&script, sql).expect("write the script");
    let path = script.to_string_lossy().into_owned();
    Term::start_with(db, home, Start::WithPassword, &["-f", &path])
}

/// The question pgward asks before COMMIT for an ad-hoc session on `db`.
fn question(db: &TestDb) -> String {
    format!("Type the environment name ({}) to COMMIT", db.name)
}

#[test]
fn cursors_work_inside_the_guarded_transaction() {
    let db = TestDb::new("gn_cursor");
    let before = db.items();
    // Declared, fetched, moved and closed in the transaction BEGIN opened; the
    // transaction is not left read-only by the cursor: a write after it runs.
    let out = TestShell::new(&db)
        .stdin(
            "begin;\n\
             declare c cursor for select id, note from items order by id;\n\
             fetch 2 from c;\n\
             move forward 1 in c;\n\
             fetch next from c;\n\
             update items set qty = 7 where id = 5;\n\
             fetch all from c;\n\
             close c;\n\
             select qty as after_update from items where id = 5;\n\
             rollback;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("DECLARE CURSOR"), "{out:?}");
    assert!(out.stdout.contains("MOVE 1"), "{out:?}");
    let shown: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once("| item ").map(|(_, n)| n.trim()))
        .collect();
    // 1, 2 (fetch 2), 4 (after moving past 3), 5 (fetch all).
    assert_eq!(shown, vec!["1", "2", "4", "5"], "{out:?}");
    assert!(out.stdout.contains("CLOSE CURSOR"), "{out:?}");
    assert!(
        out.stdout.lines().any(|l| l.trim() == "7"),
        "the update after the cursor ran: {out:?}"
    );
    assert_eq!(db.items(), before, "rolled back");

    // Outside a transaction the server's own answer (25P01), and nothing is sent.
    let out = TestShell::new(&db)
        .stdin("declare c cursor for select * from items;\n")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("25P01"), "{out:?}");
    assert!(out.stderr.contains("BEGIN"), "{out:?}");

    // A cursor that would lock or write rows at FETCH is refused.
    for sql in [
        "declare c cursor for select * from items for update",
        "declare c cursor with hold for select * from items",
    ] {
        let out = TestShell::new(&db)
            .stdin(&format!("begin;\n{sql};\n"))
            .run();
        assert_eq!(out.code, 2, "{sql}: {out:?}");
        assert!(
            out.stderr.contains("refused [Cursor]: DECLARE"),
            "{sql}: {out:?}"
        );
    }
    assert_eq!(db.items(), before);
}

#[test]
fn a_cursor_over_a_writing_function_fails_read_only_at_fetch() {
    let db = TestDb::new("gn_cursor_writes");
    db.exec(&format!(
        "CREATE FUNCTION zero_all() RETURNS int LANGUAGE sql AS 'UPDATE items SET qty = 0 RETURNING 1'; \
         GRANT EXECUTE ON FUNCTION zero_all() TO {READER}, {WRITER};"
    ));
    let before = db.items();
    // The classifier cannot see into zero_all, so the cursor is a read; its query runs
    // at FETCH, read-only, and the server refuses the write (25006).
    let out = TestShell::new(&db)
        .stdin("begin;\ndeclare c cursor for select zero_all();\nfetch 1 from c;\n")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("25006"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn a_cursor_and_a_write_commit_together() {
    let db = TestDb::new("gn_cursor_commit");
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        "begin;\ndeclare c cursor for select id from items where qty > 30 order by id;\n\
         fetch 1 from c;\nupdate items set note = 'seen' where id = 4;\nclose c;\ncommit;\n",
    );
    t.expect("DECLARE CURSOR");
    t.expect("UPDATE 1");
    t.expect(&question(&db));
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert_eq!(
        db.value("SELECT string_agg(id::text, ',') FROM items WHERE note = 'seen'")
            .as_deref(),
        Some("4")
    );
}

#[test]
fn execute_of_a_prepared_write_goes_through_the_guard() {
    let db = TestDb::new("gn_prepare");
    let before = db.items();
    // Without a write role a prepared write is a write: refused, at PREPARE already.
    let out = TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .env("PGPASSWORD", PASSWORD)
        .stdin("prepare del(int) as delete from items where id = $1;\nexecute del(1);\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("write role"), "{out:?}");
    assert_eq!(db.items(), before);

    // A prepared read runs as a read, in READ ONLY, for a read-only login too.
    let out = TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .env("PGPASSWORD", PASSWORD)
        .stdin("prepare q(int) as select note from items where id = $1;\nexecute q(3);\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("item 3"), "{out:?}");

    // An EXECUTE runs in the guarded transaction, as the write role, with the server's
    // counts as its preview; the end of input rolls it back.
    let out = TestShell::new(&db)
        .stdin(
            "prepare del(int) as delete from items where id = $1;\n\
             execute del(2);\nselect current_user as who, count(*) as left from items;\n",
        )
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(
        out.stdout.contains(" items |        0 |       0 |       1"),
        "the preview counts the deleted row: {out:?}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(WRITER) && l.trim_end().ends_with('4')),
        "the EXECUTE ran in the write transaction: {out:?}"
    );
    assert_eq!(db.items(), before);

    // The guard judges what was prepared: a DELETE without WHERE needs its count typed,
    // which a piped run cannot do.
    let out = TestShell::new(&db)
        .stdin("prepare wipe as delete from items;\nexecute wipe;\ncommit;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no WHERE clause"), "{out:?}");
    assert_eq!(db.items(), before);

    // An EXECUTE of a name pgward did not see prepared is refused, unsent.
    let out = TestShell::new(&db).stdin("execute del(1);\n").run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("EXECUTE del"), "{out:?}");
    // And a DEALLOCATE forgets: the EXECUTE after it is refused too.
    let out = TestShell::new(&db)
        .stdin("prepare q as select 1;\ndeallocate q;\nexecute q;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("DEALLOCATE"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn an_executed_prepared_write_commits_after_confirmation() {
    let db = TestDb::new("gn_prepare_commit");
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        "prepare bump(int, int) as update items set qty = qty + $2 where id = $1;\n\
         execute bump(1, 5);\nexecute bump(2, 5);\ncommit;\n",
    );
    // The server's tag, as psql prints it: the EXECUTE ran an UPDATE.
    t.expect("UPDATE 1");
    let summary = t.expect(&question(&db));
    let items = summary
        .split("Change set of")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .find(|l| l.trim_start().starts_with("items "))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>());
    t.ensure(
        items.as_deref() == Some(&["items", "0", "2", "0"][..]),
        &format!("the summary counts both updates: {items:?}"),
    );
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert_eq!(
        db.value("SELECT string_agg(qty::text, ',' ORDER BY id) FROM items")
            .as_deref(),
        Some("15,25,30,40,50")
    );
}

#[test]
fn setval_is_a_write_that_warns_and_never_runs_in_a_dry_run() {
    let db = TestDb::new("gn_setval");
    db.exec(&format!(
        "CREATE SEQUENCE s; GRANT USAGE, SELECT, UPDATE ON SEQUENCE s TO {WRITER}; \
         GRANT SELECT ON SEQUENCE s TO {READER};"
    ));
    let seq = || db.value("SELECT last_value || ':' || is_called FROM s");
    assert_eq!(seq().as_deref(), Some("1:false"));
    // --dry-run and \preview never run it.
    for (flags, input) in [
        (vec!["--dry-run"], "select setval('s', 100);\ncommit;\n"),
        (vec![], "\\preview select setval('s', 100)\n"),
    ] {
        let out = TestShell::new(&db).args(flags).stdin(input).run();
        assert_eq!(out.code, 2, "{input}: {out:?}");
        assert!(out.stderr.contains("survives ROLLBACK"), "{out:?}");
        assert_eq!(seq().as_deref(), Some("1:false"), "{input}");
    }
    // A read-only login cannot run it: it is a write.
    let out = TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .env("PGPASSWORD", PASSWORD)
        .stdin("select setval('s', 100);\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("write role"), "{out:?}");
    assert_eq!(seq().as_deref(), Some("1:false"));
    // In a normal session it runs as a write, after the warning; and the warning is
    // true: the end of input rolls the transaction back, the sequence keeps its value.
    let out = TestShell::new(&db)
        .stdin("select setval('s', 100);\n")
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(out.stderr.contains("survives ROLLBACK"), "{out:?}");
    assert!(out.stderr.contains("rolled back"), "{out:?}");
    assert_eq!(seq().as_deref(), Some("100:true"));
}

#[test]
fn notify_is_delivered_only_by_a_confirmed_commit() {
    let db = TestDb::new("gn_notify");
    let listener = Listener::start(&db, "pgward_ch");
    // A read-only login cannot send one: NOTIFY is a write.
    let out = TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .env("PGPASSWORD", PASSWORD)
        .stdin("notify pgward_ch, 'denied';\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    // Rolled back (end of input, and --dry-run's COMMIT): never delivered.
    for (flags, input) in [
        (vec![], "notify pgward_ch, 'rolled back';\n"),
        (
            vec!["--dry-run"],
            "select pg_notify('pgward_ch', 'dry run');\ncommit;\n",
        ),
    ] {
        let out = TestShell::new(&db).args(flags).stdin(input).run();
        assert!(
            out.stdout.contains("NOTIFY") || out.stdout.contains("pg_notify"),
            "{out:?}"
        );
    }
    // A transaction that changed no row is closed without a COMMIT: a NOTIFY on its own
    // is not delivered, and pgward says so.
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(&db, home.path(), "notify pgward_ch, 'alone';\ncommit;\n");
    t.expect("closed without a COMMIT");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    // With the change it announces, it is delivered by the confirmed COMMIT.
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        "update items set qty = 0 where id = 1;\nnotify pgward_ch, 'committed';\ncommit;\n",
    );
    t.expect(&question(&db));
    t.ensure(
        listener.payloads().is_empty(),
        "nothing is delivered before the COMMIT",
    );
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert_eq!(listener.payloads(), vec!["committed".to_string()]);
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 1").as_deref(),
        Some("0")
    );
}

/// A superuser connection that LISTENs on a channel in a thread of its own and collects
/// the payloads delivered to it.
struct Listener {
    payloads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    db: String,
    channel: String,
}

impl Listener {
    fn start(db: &TestDb, channel: &str) -> Listener {
        let payloads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let conninfo = util::cluster().conninfo(&db.name);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = payloads.clone();
        let info = conninfo;
        let listen = format!("LISTEN {channel}");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use futures_util::StreamExt;
                let (client, mut conn) = tokio_postgres::connect(&info, tokio_postgres::NoTls)
                    .await
                    .expect("listener connect");
                let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                {
                    let listening = client.batch_execute(&listen);
                    tokio::pin!(listening);
                    // Drive the connection until LISTEN is done, then keep collecting.
                    loop {
                        tokio::select! {
                            done = &mut listening => { done.expect("LISTEN"); break; }
                            m = messages.next() => if m.is_none() { return; },
                        }
                    }
                }
                let _ = ready_tx.send(());
                while let Some(Ok(m)) = messages.next().await {
                    if let tokio_postgres::AsyncMessage::Notification(n) = m {
                        sink.lock().expect("payloads").push(n.payload().to_string());
                    }
                }
                drop(client);
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the listener is listening");
        Listener {
            payloads,
            db: db.name.clone(),
            channel: channel.to_string(),
        }
    }

    /// The payloads delivered so far, once a marker NOTIFY of the superuser's own has
    /// arrived (so everything committed before this call has arrived too), markers left
    /// out.
    fn payloads(&self) -> Vec<String> {
        let marker = format!("marker {:?}", std::time::Instant::now());
        crate::util::admin_exec(
            util::cluster(),
            &self.db,
            &format!("NOTIFY {}, '{marker}'", self.channel),
        )
        .expect("marker NOTIFY");
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            let got = self.payloads.lock().expect("payloads").clone();
            if got.last() == Some(&marker) {
                return got
                    .into_iter()
                    .filter(|p| !p.starts_with("marker "))
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the marker notification never arrived");
    }
}

/// A function whose body writes: it zeroes the quantity of items 1 and 2.
const ZERO_ALL: &str = "create function zero_all() returns int language sql as \
                        'update items set qty = 0 where id <= 2 returning 1';\n";

#[test]
fn a_call_of_a_function_created_in_the_session_takes_its_body_class() {
    let db = TestDb::new("gn_created_fn");
    db.exec(&format!("GRANT CREATE ON SCHEMA public TO {WRITER}"));
    let before = db.items();
    let create = ZERO_ALL;
    // The session saw zero_all created: its SELECT is a write, run in the guarded
    // transaction (not in a read-only savepoint, where the server would answer 25006),
    // with the server's counts as its preview; the end of input rolls it back.
    let out = TestShell::new(&db)
        .stdin(&format!(
            "{create}select zero_all();\nselect count(*) as zeroed from items where qty = 0;\n"
        ))
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert!(
        out.stdout.contains(" items |        0 |       2 |       0"),
        "the preview counts the updated rows: {out:?}"
    );
    assert_eq!(db.items(), before);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_proc WHERE proname = 'zero_all'")
            .as_deref(),
        Some("0"),
        "the rolled-back CREATE left no function"
    );

    // Confirmed, the call's writes commit with the function.
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        &format!("{create}select zero_all();\ncommit;\n"),
    );
    t.expect(&question(&db));
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert_eq!(
        db.value("SELECT string_agg(qty::text, ',' ORDER BY id) FROM items")
            .as_deref(),
        Some("0,0,30,40,50")
    );

    // Dropped and created again as a read, its call is a read again (it runs in the
    // read-only savepoint, and answers).
    let after = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "drop function zero_all();\n\
             create function zero_all() returns int language sql as 'select 7';\n\
             select zero_all() as seven;\n",
        )
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(
        out.stdout.lines().any(|l| l.trim() == "7"),
        "the read answered: {out:?}"
    );
    assert_eq!(db.items(), after);
}

/// CREATE and DROP FUNCTION are transactional, and so is what the session knows of them:
/// a DROP that a ROLLBACK or a ROLLBACK TO undid leaves the function known, so its call
/// is still a write (before, the call of a function whose DROP was rolled back counted
/// as unknown, ran read-only and failed with 25006).
#[test]
fn a_rolled_back_drop_function_keeps_the_function_known() {
    let db = TestDb::new("gn_drop_rolled_back");
    db.exec(&format!("GRANT CREATE ON SCHEMA public TO {WRITER}"));
    let create = ZERO_ALL;
    // Within one transaction: ROLLBACK TO a savepoint set before the DROP.
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(&format!(
            "{create}savepoint a;\ndrop function zero_all();\nrollback to a;\nselect zero_all();\n"
        ))
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert!(
        out.stdout.contains(" items |        0 |       2 |       0"),
        "the call is a write with its counts: {out:?}"
    );
    assert_eq!(db.items(), before);

    // Across transactions: created and committed, then a DROP rolled back.
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        &format!(
            "{create}commit;\nbegin;\ndrop function zero_all();\nrollback;\n\
             select zero_all();\nselect 'after' as marker;\n"
        ),
    );
    t.expect(&question(&db));
    let env = db.name.clone();
    t.line(&env);
    let screen = t.expect("marker");
    t.ensure(!screen.contains("25006"), "no read-only failure");
    t.ensure(
        screen.contains(" items |        0 |       2 |       0"),
        "the call is a write with its counts",
    );
    let code = t.exit_code();
    t.ensure(
        code == 2,
        &format!("exit code {code}, expected 2 (uncommitted)"),
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_proc WHERE proname = 'zero_all'")
            .as_deref(),
        Some("1")
    );
    assert_eq!(db.items(), before, "the call's writes were rolled back");
}

/// What a function's body calls is resolved when the function is called, not when it
/// was created: `outer_f` was created while `inner_f` did not exist yet, then `inner_f`
/// was created and replaced by a writing body, so a call of `outer_f` is a write, run in
/// the guarded transaction with the server's counts (before, it kept the class it had at
/// its CREATE, ran read-only and failed with 25006).
#[test]
fn a_call_follows_a_function_its_body_calls_created_after_it() {
    let db = TestDb::new("gn_callee_later");
    db.exec(&format!("GRANT CREATE ON SCHEMA public TO {WRITER}"));
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "create function outer_f() returns int language plpgsql as \
             $$ begin return inner_f(); end $$;\n\
             create function inner_f() returns int language sql as 'select 1';\n\
             create or replace function inner_f() returns int language sql as \
             'update items set qty = 0 where id <= 2 returning 1';\n\
             select outer_f();\n",
        )
        .run();
    assert_eq!(out.code, 2, "uncommitted: {out:?}");
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert!(
        out.stdout.contains(" items |        0 |       2 |       0"),
        "the call is a write with its counts: {out:?}"
    );
    assert_eq!(db.items(), before, "the end of input rolled it back");
}
