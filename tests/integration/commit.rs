//! The COMMIT path under real faults: deferred constraint triggers and deferred foreign
//! keys fired before the summary; a connection broken right at COMMIT by a loopback
//! proxy (committed, rolled back, still in progress); a COMMIT that waits for a
//! synchronous standby that does not exist, cancelled with Ctrl-C; and backends
//! terminated by the superuser, with the server's reason shown. COMMITs are confirmed on
//! a real pseudo-terminal; every test checks the data as superuser and the exit code.

use std::time::{Duration, Instant};

use pgward::scratch::Cluster;

use crate::proxy::{OnCommit, Proxy};
use crate::term::{Start, Term};
use crate::util::{self, TestDb, TestShell, COMPLETION_APP, LOGIN, PASSWORD, READER, WRITER};

/// Writes `sql` as a script in `home` and starts `pgward … <extra> -f script` on a pty.
fn script_on_pty(db: &TestDb, home: &std::path::Path, extra: &[&str], sql: &str) -> Term {
    let script = home.join("fix.sql");
    std::fs::write(&script, sql).expect("write the script");
    let path = script.to_string_lossy().into_owned();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["-f", &path]);
    Term::start_with(db, home, Start::WithPassword, &args)
}

/// The question pgward asks before COMMIT in environment `env`.
fn question(env: &str) -> String {
    format!("Type the environment name ({env}) to COMMIT")
}

/// Polls until `sql` (as superuser on the shared cluster) returns `want`.
fn wait_for(db: &TestDb, sql: &str, want: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if db.value(sql).as_deref() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The login role's backends in `db`.
fn backends(db: &TestDb) -> String {
    format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}'",
        db.name
    )
}

/// Terminates the login role's backends in `db` as superuser and waits until they are gone.
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
    if !wait_for(db, &backends(db), "0") {
        t.fail("the terminated backend did not go away");
    }
}

// ---- E: deferred work is counted ------------------------------------------------------

#[test]
fn deferred_trigger_rows_are_summarised_and_committed() {
    let db = TestDb::new("cm_deferred");
    db.exec(&format!(
        "CREATE TABLE audit (id serial PRIMARY KEY, item int NOT NULL); \
         GRANT SELECT, INSERT ON audit TO {WRITER}; GRANT USAGE ON SEQUENCE audit_id_seq TO {WRITER}; \
         CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN INSERT INTO public.audit (item) VALUES (NEW.id); RETURN NULL; END$$; \
         CREATE CONSTRAINT TRIGGER items_audit AFTER UPDATE ON items \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_items();"
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        &[],
        "update items set qty = qty + 1 where id <= 3;\ncommit;\n",
    );
    t.expect("UPDATE 3");
    // Before the summary: the deferred trigger fired, and its rows are shown and counted.
    let deferred = t.expect("Rows changed, per table");
    t.ensure(
        deferred.contains("Deferred constraint triggers fired now"),
        "the deferred work is announced before the summary",
    );
    let summary = t.expect("Change digest:");
    let audit_line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("audit "))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>());
    t.ensure(
        audit_line.as_deref() == Some(&["audit", "3", "0", "0"][..]),
        &format!("the summary counts the trigger's 3 audit rows: {audit_line:?}"),
    );
    t.expect(&question(&db.name));
    // Nothing is committed before the confirmation.
    t.ensure(
        db.value("SELECT count(*) FROM audit").as_deref() == Some("0"),
        "no audit row is visible before the confirmation",
    );
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert_eq!(
        db.value("SELECT string_agg(item::text, ',' ORDER BY item) FROM audit")
            .as_deref(),
        Some("1,2,3"),
        "exactly the summarised audit rows were committed"
    );
    assert_eq!(
        db.value("SELECT string_agg(qty::text, ',' ORDER BY id) FROM items")
            .as_deref(),
        Some("11,21,31,40,50")
    );
}

#[test]
fn deferred_foreign_key_violation_fails_commit_before_the_question() {
    let db = TestDb::new("cm_deferred_fk");
    db.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, \
           parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED); \
         GRANT SELECT, INSERT ON parent, child TO {WRITER}; \
         GRANT SELECT ON parent, child TO {READER};"
    ));
    let out = TestShell::new(&db)
        .stdin("insert into child values (1, 42);\ncommit;\n")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("23503"),
        "the deferred FK check fails with its SQLSTATE: {out:?}"
    );
    assert!(
        !out.stderr.contains("Type the environment name") && !out.stderr.contains("Change digest"),
        "COMMIT failed before the summary and the question: {out:?}"
    );
    assert!(out.stderr.contains("COMMIT was not sent"), "{out:?}");
    assert_eq!(db.value("SELECT count(*) FROM child").as_deref(), Some("0"));
}

/// A deferred trigger that defers constraints again and queues more deferred work would
/// act at COMMIT, after the confirmation: the second firing catches it, and COMMIT is
/// not sent.
#[test]
fn deferred_work_queued_after_the_summary_stops_the_commit() {
    let db = TestDb::new("cm_redeferred");
    db.exec(&format!(
        "CREATE TABLE audit (item int NOT NULL); CREATE TABLE shadow (item int NOT NULL); \
         GRANT INSERT ON audit, shadow TO {WRITER}; \
         CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN SET CONSTRAINTS ALL DEFERRED; INSERT INTO public.audit VALUES (NEW.id); RETURN NULL; END$$; \
         CREATE FUNCTION shadow_audit() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN INSERT INTO public.shadow VALUES (NEW.item); RETURN NULL; END$$; \
         CREATE CONSTRAINT TRIGGER items_audit AFTER UPDATE ON items \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_items(); \
         CREATE CONSTRAINT TRIGGER audit_shadow AFTER INSERT ON audit \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shadow_audit();"
    ));
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        &[],
        "update items set qty = qty + 1 where id = 1;\ncommit;\n",
    );
    t.expect("UPDATE 1");
    let summary = t.expect("Change digest:");
    t.ensure(
        !summary.contains("shadow"),
        "the re-deferred work had not run when the summary was shown",
    );
    t.expect(&question(&db.name));
    let env = db.name.clone();
    t.line(&env);
    t.expect("COMMIT was not sent: deferred triggers changed rows after the summary was confirmed");
    let code = t.exit_code();
    t.ensure(code == 2, &format!("exit code {code}, expected 2"));
    assert_eq!(db.items(), before, "nothing was committed");
    assert_eq!(
        db.value("SELECT count(*) FROM shadow").as_deref(),
        Some("0")
    );
    assert_eq!(db.value("SELECT count(*) FROM audit").as_deref(), Some("0"));
}

// ---- G: COMMIT with an unknown outcome ------------------------------------------------

/// Runs an UPDATE and COMMIT through a proxy that acts on COMMIT as `on_commit` says;
/// returns the terminal (exited) and the exit code.
fn commit_through_proxy(
    db: &TestDb,
    home: &std::path::Path,
    on_commit: OnCommit,
) -> (Term, i32, Proxy) {
    let proxy = Proxy::start(util::cluster().port(), on_commit);
    let port = proxy.port().to_string();
    let mut t = script_on_pty(
        db,
        home,
        &["-p", &port],
        "update items set qty = 77 where id = 2;\ncommit;\n",
    );
    t.expect("UPDATE 1");
    t.expect(&question(&db.name));
    let env = db.name.clone();
    t.line(&env);
    t.expect("the connection failed after COMMIT was sent");
    t.expect("is unknown");
    t.expect("COMMIT outcome");
    let code = t.exit_code();
    t.ensure(proxy.fired(), "the proxy saw the COMMIT");
    (t, code, proxy)
}

#[test]
fn commit_lost_after_sending_reports_committed() {
    let db = TestDb::new("cm_lost_committed");
    let home = tempfile::tempdir().expect("home");
    let (mut t, code, _proxy) = commit_through_proxy(&db, home.path(), OnCommit::ForwardThenDrop);
    let said = t.transcript.clone();
    t.ensure(
        said.contains("reports transaction") && said.contains("COMMITTED"),
        "pgward reports the server's answer: committed",
    );
    t.ensure(code == 5, &format!("exit code {code}, expected 5"));
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 2").as_deref(),
        Some("77"),
        "the server committed the update"
    );
}

#[test]
fn commit_lost_before_the_server_got_it_reports_rolled_back() {
    let db = TestDb::new("cm_lost_aborted");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let (mut t, code, _proxy) = commit_through_proxy(&db, home.path(), OnCommit::DropUnsent);
    let said = t.transcript.clone();
    t.ensure(
        said.contains("ROLLED BACK: nothing was committed"),
        "pgward reports the server's answer: rolled back",
    );
    t.ensure(code == 6, &format!("exit code {code}, expected 6"));
    assert_eq!(db.items(), before, "nothing was committed");
}

#[test]
fn commit_lost_with_the_backend_still_waiting_reports_in_progress() {
    let db = TestDb::new("cm_lost_in_progress");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let (mut t, code, proxy) = commit_through_proxy(&db, home.path(), OnCommit::HoldUnsent);
    let said = t.transcript.clone();
    t.ensure(
        said.contains("still IN PROGRESS"),
        "pgward reports the server's answer: in progress",
    );
    t.ensure(code == 7, &format!("exit code {code}, expected 7"));
    assert_eq!(
        db.items(),
        before,
        "nothing is committed while it is in progress"
    );
    // Once the held connection closes, the server rolls the transaction back.
    drop(proxy);
    assert!(wait_for(&db, &backends(&db), "0"), "the held backend ended");
    assert_eq!(db.items(), before, "nothing was committed");
}

#[test]
fn commit_lost_with_no_way_to_ask_reports_unknown() {
    let db = TestDb::new("cm_lost_unknown");
    let home = tempfile::tempdir().expect("home");
    let proxy = Proxy::start(util::cluster().port(), OnCommit::ForwardThenRefuse);
    let port = proxy.port().to_string();
    let mut t = script_on_pty(
        &db,
        home.path(),
        &["-p", &port],
        "update items set qty = 88 where id = 3;\ncommit;\n",
    );
    t.expect("UPDATE 1");
    t.expect(&question(&db.name));
    let env = db.name.clone();
    t.line(&env);
    t.expect("the connection failed after COMMIT was sent");
    // pgward keeps reconnecting for half a minute before it gives up asking.
    t.expect_within(
        "COMMIT outcome UNKNOWN: pgward could not ask the server",
        Duration::from_secs(90),
    );
    t.expect("txid_status");
    let code = t.exit_code();
    t.ensure(proxy.fired(), "the proxy saw the COMMIT");
    t.ensure(code == 8, &format!("exit code {code}, expected 8"));
    // The server did commit: exit code 8 says that nobody could tell, not that nothing
    // was committed.
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 3").as_deref(),
        Some("88"),
        "the server committed the update"
    );
}

// ---- 11.1: a COMMIT that waits for a synchronous standby --------------------------------

/// A cluster of its own (`synchronous_standby_names` is server-wide): the roles and a
/// database `name` with the `items` table, as on the shared cluster.
pub(crate) fn own_cluster(name: &str) -> Cluster {
    let c = Cluster::start().expect("start a throwaway PostgreSQL cluster");
    util::admin_exec(
        &c,
        "postgres",
        &format!(
            "CREATE ROLE {WRITER} NOLOGIN; CREATE ROLE {READER} NOLOGIN; \
             CREATE ROLE {LOGIN} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
             GRANT {WRITER}, {READER} TO {LOGIN};"
        ),
    )
    .expect("roles");
    util::admin_exec(&c, "postgres", &format!("CREATE DATABASE {name}")).expect("database");
    util::admin_exec(
        &c,
        name,
        &format!(
            "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text); \
             INSERT INTO items SELECT g, g * 10, 'item ' || g FROM generate_series(1, 5) g; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {WRITER}; \
             GRANT SELECT ON items TO {READER};"
        ),
    )
    .expect("items");
    c
}

#[test]
fn commit_waiting_for_a_missing_standby_is_cancelled_and_reported() {
    let name = "t_cm_syncrep";
    let c = own_cluster(name);
    // Only this database waits for the standby; everything else commits locally.
    for sql in [
        "ALTER SYSTEM SET synchronous_commit = 'local'",
        "ALTER SYSTEM SET synchronous_standby_names = 'nonexistent'",
        "SELECT pg_reload_conf()",
        &format!("ALTER DATABASE {name} SET synchronous_commit = on"),
    ] {
        util::admin_exec(&c, "postgres", sql).expect("configure a missing standby");
    }
    let value = |sql: &str| {
        util::admin_rows(&c, name, sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    };
    // The shared cluster's database of the same name is never touched: -h/-p point here.
    let db = TestDb {
        name: name.to_string(),
    };
    let home = tempfile::tempdir().expect("home");
    let port = c.port().to_string();
    let mut t = script_on_pty(
        &db,
        home.path(),
        &["-h", c.host(), "-p", &port],
        "insert into items values (9, 90, 'sync');\ncommit;\n",
    );
    t.expect("INSERT 0 1");
    t.expect(&question(name));
    t.line(name);
    // COMMIT waits; the live line says so and how to end the wait.
    t.expect_within("Ctrl-C cancels the wait", Duration::from_secs(10));
    let waiting = value(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND wait_event = 'SyncRep'"
    ));
    t.ensure(
        waiting.as_deref() == Some("1"),
        &format!("the backend waits for the standby: {waiting:?}"),
    );
    t.ctrl('c');
    // The server's own words, then pgward's.
    t.expect("WARNING:  01000: canceling wait for synchronous replication");
    t.expect("DETAIL:  The transaction has already committed locally");
    t.expect("committed locally, but replication was not confirmed");
    let code = t.exit_code();
    t.ensure(code == 4, &format!("exit code {code}, expected 4"));
    assert_eq!(
        value("SELECT note FROM items WHERE id = 9").as_deref(),
        Some("sync"),
        "the row committed locally"
    );
}

// ---- 11.6: the server's reason, and no false claims about the transaction ---------------

#[test]
fn immediate_shutdown_shows_the_servers_reason_and_commits_nothing() {
    let name = "t_cm_shutdown";
    let mut c = own_cluster(name);
    // Scratch clusters commit asynchronously: make the fixture durable before the crash,
    // so that after recovery only what pgward did (or did not) commit is in question.
    util::admin_exec(&c, name, "CHECKPOINT").expect("checkpoint");
    let db = TestDb {
        name: name.to_string(),
    };
    let home = tempfile::tempdir().expect("home");
    let port = c.port().to_string();
    let mut t = script_on_pty(
        &db,
        home.path(),
        &["-h", c.host(), "-p", &port],
        "update items set qty = 7 where id = 1;\nselect pg_sleep(30);\ncommit;\n",
    );
    t.expect("UPDATE 1");
    // The backend sleeps inside the open transaction when the server goes away.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while util::admin_rows(
        &c,
        "postgres",
        &format!(
            "SELECT 1 FROM pg_stat_activity WHERE datname = '{name}' AND query LIKE '%pg_sleep%'"
        ),
    )
    .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sleep never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    c.stop_immediately();
    let said = t.expect("connection lost");
    t.ensure(
        said.contains("57P01") && said.contains("immediate shutdown"),
        &format!("the server's reason is shown, not only \"connection closed\": {said}"),
    );
    let code = t.exit_code();
    t.ensure(code == 3, &format!("exit code {code}, expected 3"));
    c.restart().expect("restart the cluster");
    let qty = util::admin_rows(&c, name, "SELECT qty::text FROM items WHERE id = 1");
    assert_eq!(
        qty,
        vec![vec![Some("10".to_string())]],
        "nothing was committed"
    );
}

#[test]
fn terminated_while_the_commit_question_is_open_and_declined() {
    let db = TestDb::new("cm_killed_declined");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 0 where id <= 2;");
    t.expect("UPDATE 2");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect(&question(&db.name));
    terminate_login(&mut t, &db);
    t.line("no");
    let said = t.expect("connection lost");
    t.ensure(
        said.contains("FATAL:  57P01: terminating connection due to administrator command"),
        "the server's FATAL is shown",
    );
    t.expect("the open transaction is gone, rolled back by the server; nothing was committed");
    t.expect("Attempting reset: Succeeded.");
    t.prompt(READER, "=>");
    t.ensure(
        !t.transcript.contains("still open"),
        "pgward does not claim the transaction is still open",
    );
    t.quit();
    assert_eq!(db.items(), before, "nothing was committed");
}

#[test]
fn terminated_while_the_commit_question_is_open_and_confirmed() {
    let db = TestDb::new("cm_killed_confirmed");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = script_on_pty(
        &db,
        home.path(),
        &[],
        "update items set qty = 0 where id <= 2;\ncommit;\n",
    );
    t.expect("UPDATE 2");
    t.expect(&question(&db.name));
    terminate_login(&mut t, &db);
    let env = db.name.clone();
    t.line(&env);
    let said = t.expect("connection lost");
    t.ensure(said.contains("57P01"), "the server's FATAL is shown");
    t.expect("nothing was committed");
    let code = t.exit_code();
    t.ensure(
        !t.transcript.contains("COMMIT outcome"),
        "COMMIT was never sent, so its outcome is not in question",
    );
    t.ensure(code == 3, &format!("exit code {code}, expected 3"));
    assert_eq!(db.items(), before, "nothing was committed");
}

#[test]
fn terminated_while_idle_shows_the_servers_reason() {
    let db = TestDb::new("cm_killed_idle");
    let before = db.items();
    let out_home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, out_home.path());
    t.line("update items set qty = 5 where id = 5;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    terminate_login(&mut t, &db);
    t.line("select 1;");
    let said = t.expect("connection lost");
    t.ensure(
        said.contains("FATAL:  57P01: terminating connection due to administrator command"),
        "the server's FATAL is shown, not only \"connection closed\"",
    );
    t.expect("rolled back by the server; nothing was committed");
    t.expect("Attempting reset: Succeeded.");
    t.expect("the input was not run");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(db.items(), before);
}
