//! The in-database ledger end to end: `pgward ledger init` (refused without the
//! privilege, then made by a DBA role with the grants), one row per COMMIT written in
//! the change's own transaction (a failing COMMIT and a kill between the insert and
//! COMMIT leave neither the data nor the row), `pgward ledger show`, `pgward log verify
//! --env` naming each disagreement between the logs and the ledger, and the run-once
//! guard (the same change again needs `\again` / `--again`). COMMITs are confirmed on a
//! real pseudo-terminal; data and ledger rows are checked as the superuser.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::approval_util::{config as approval_config, Approver, Reviewer, CRED_VAR, REVIEWER_PW};
use crate::term::Term;
use crate::util::{
    self, cluster, records, session_logs, Output, TestDb, TestShell, LOGIN, PASSWORD, READER,
    WRITER,
};

/// A config with environment `t` on `db` (no approval service: the author confirms).
fn config(home: &Path, db: &TestDb, extra: &str) -> PathBuf {
    util::write_config(
        home,
        &format!(
            "[environments.t]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\n\
             require_approval = false\n{extra}\n",
            db.login_conninfo()
        ),
    )
}

/// `pgward ARGS` without a terminal.
fn pgward(args: &[&str]) -> Output {
    TestShell::bare()
        .args(args)
        .env("PGPASSWORD", PASSWORD)
        .run()
}

/// `pgward ledger init --env t` as the cluster's superuser.
fn init(cfg: &Path) -> Output {
    let cfg = cfg.display().to_string();
    pgward(&[
        "ledger",
        "init",
        "--config",
        &cfg,
        "--env",
        "t",
        "-U",
        cluster().superuser(),
    ])
}

/// Runs `script` in environment `t` on a pty, as ticket `ticket` with `extra` flags;
/// the COMMIT questions are answered as they come (`commits` of them).
fn run_script(
    db: &TestDb,
    home: &Path,
    cfg: &Path,
    ticket: &str,
    extra: &[&str],
    script: &str,
    commits: usize,
) -> (i32, String) {
    let file = home.join(format!("fix-{}.sql", session_logs(home).len()));
    std::fs::write(&file, script).expect("script");
    let cfg = cfg.display().to_string();
    let file = file.display().to_string();
    let mut args = vec!["--config", &cfg, "--env", "t", "--ticket", ticket];
    args.extend(extra);
    args.extend(["-f", &file]);
    let mut t = Term::start_args(db, home, "t", &args, &[]);
    for _ in 0..commits {
        t.expect_within(
            "Type the environment name (t) to COMMIT",
            Duration::from_secs(20),
        );
        t.send("t\n");
    }
    let code = t.exit_code();
    (code, t.transcript.clone())
}

/// The ledger's commit rows as `ticket:txid:digest:again` lines, oldest first.
fn ledger_rows(db: &TestDb) -> Vec<Vec<Option<String>>> {
    util::admin_rows(
        cluster(),
        &db.name,
        "SELECT id::text, ticket, txid, change_digest, log_file, log_seq::text, again_reason, \
         counts::text, array_length(fingerprints, 1)::text, author, db_role \
         FROM pgward.ledger WHERE kind = 'commit' ORDER BY id",
    )
}

fn qty(db: &TestDb, id: i32) -> String {
    db.value(&format!("SELECT qty FROM items WHERE id = {id}"))
        .unwrap_or_default()
}

#[test]
fn init_is_refused_without_the_privilege_and_made_by_a_dba_with_grants() {
    let db = TestDb::new("lg_init");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    let cfgs = cfg.display().to_string();
    // As the environment's own login: it may not create a schema.
    let out = pgward(&["ledger", "init", "--config", &cfgs, "--env", "t"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("cannot create pgward.ledger"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("42501"),
        "the server's SQLSTATE: {out:?}"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgward'")
            .as_deref(),
        Some("0"),
        "nothing was created"
    );
    // As the DBA: made, with the init row and the grants printed and applied.
    let out = init(&cfg);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "GRANT SELECT, INSERT ON pgward.ledger TO \"{WRITER}\";"
        )),
        "{out:?}"
    );
    assert_eq!(
        db.value("SELECT string_agg(kind || ':' || environment, ',') FROM pgward.ledger")
            .as_deref(),
        Some("init:t")
    );
    let privileges = db.value(&format!(
        "SELECT has_table_privilege('{WRITER}', 'pgward.ledger', 'INSERT')::text || \
         has_table_privilege('{WRITER}', 'pgward.ledger', 'UPDATE')::text || \
         has_table_privilege('{WRITER}', 'pgward.ledger', 'DELETE')::text || \
         has_table_privilege('{READER}', 'pgward.ledger', 'SELECT')::text || \
         has_table_privilege('{READER}', 'pgward.ledger', 'INSERT')::text"
    ));
    assert_eq!(
        privileges.as_deref(),
        Some("truefalsefalsetruefalse"),
        "the write role appends and reads, never rewrites; the read role reads"
    );
    // Again: nothing changes, the grants are printed.
    let out = init(&cfg);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("already exists"), "{out:?}");
    assert_eq!(
        db.value("SELECT count(*) FROM pgward.ledger").as_deref(),
        Some("1")
    );
    // --print-sql gives a DBA the same SQL.
    let out = pgward(&[
        "ledger",
        "init",
        "--config",
        &cfgs,
        "--env",
        "t",
        "--print-sql",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("CREATE TABLE pgward.ledger"), "{out:?}");
}

#[test]
fn init_refuses_an_owner_the_write_role_belongs_to() {
    let db = TestDb::new("lg_owner");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    let cfgs = cfg.display().to_string();
    // A DBA role the write role is a member of: owning the ledger would let sessions
    // rewrite it.
    let owner = "lg_owner_role";
    util::admin_exec(
        cluster(),
        "postgres",
        &format!(
            "DROP ROLE IF EXISTS {owner}; CREATE ROLE {owner} LOGIN PASSWORD '{PASSWORD}'; \
             GRANT {owner} TO {WRITER}; GRANT CREATE ON DATABASE {} TO {owner}",
            db.name
        ),
    )
    .expect("owner role");
    let out = pgward(&[
        "ledger", "init", "--config", &cfgs, "--env", "t", "-U", owner,
    ]);
    util::admin_exec(
        cluster(),
        "postgres",
        &format!("REVOKE {owner} FROM {WRITER}"),
    )
    .expect("revoke");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("could rewrite it"), "{out:?}");
    assert_eq!(
        db.value("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgward'")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn each_commit_writes_one_row_in_its_transaction_and_show_lists_it() {
    let db = TestDb::new("lg_commit");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    assert_eq!(init(&cfg).code, 0);
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-7",
        &[],
        "select count(*) from items;\nBEGIN;\nupdate items set qty = 0 where id = 1;\nselect qty from items where id = 1;\ndelete from items where id = 5;\nCOMMIT;\n",
        1,
    );
    assert_eq!(code, 0, "{screen}");
    assert_eq!(qty(&db, 1), "0");
    assert!(
        !screen.contains("pgward.ledger"),
        "the ledger row is not part of the change anyone was shown: {screen}"
    );
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    let log = session_logs(home.path()).pop().expect("a log");
    let recs = records(&log);
    let commit = recs
        .iter()
        .find(|r| r["kind"] == "commit")
        .expect("commit record");
    let ledger = recs
        .iter()
        .find(|r| r["kind"] == "ledger")
        .expect("ledger record");
    let intent = recs
        .iter()
        .find(|r| r["kind"] == "commit_intent")
        .expect("intent");
    assert_eq!(row[1].as_deref(), Some("OPS-7"));
    assert_eq!(row[2].as_deref(), commit["txid"].as_str());
    assert_eq!(row[3].as_deref(), commit["change_digest"].as_str());
    assert_eq!(row[4].as_deref(), log.file_name().and_then(|n| n.to_str()));
    assert_eq!(row[5], Some(ledger["seq"].to_string()));
    assert_eq!(
        ledger["seq"].as_u64().map(|s| s + 1),
        intent["seq"].as_u64()
    );
    assert_eq!(
        ledger["ledger_id"].to_string(),
        row[0].clone().unwrap_or_default()
    );
    assert_eq!(row[6], None, "no \\again");
    let counts: serde_json::Value =
        serde_json::from_str(row[7].as_deref().unwrap_or("")).expect("counts JSON");
    assert_eq!(
        counts,
        serde_json::json!([{"table": "items", "inserted": 0, "updated": 1, "deleted": 1}]),
        "the user's counts, the ledger insert not among them"
    );
    assert_eq!(intent["counts"], counts, "the log's counts are the same");
    assert_eq!(
        row[8].as_deref(),
        Some("2"),
        "two write statements fingerprinted"
    );
    assert_eq!(
        row[10].as_deref(),
        Some(WRITER),
        "written as the write role"
    );
    // `ledger show` as the read role.
    let cfgs = cfg.display().to_string();
    let out = pgward(&["ledger", "show", "--config", &cfgs, "--env", "t"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("OPS-7")
            && out.stdout.contains(commit["txid"].as_str().unwrap_or("?"))
            && out.stdout.contains("+0 ~1 -1")
            && out.stdout.contains("(1 row)"),
        "{out:?}"
    );
    let out = pgward(&[
        "ledger", "show", "--config", &cfgs, "--env", "t", "--ticket", "OTHER-1",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("OPS-7"), "{out:?}");
}

/// A trigger on the ledger that defers a failing constraint trigger past the ledger
/// insert, so the COMMIT itself fails after the row was written.
const FAIL_AT_COMMIT: &str = "\
CREATE FUNCTION pgward.defer_all() RETURNS trigger LANGUAGE plpgsql AS \
$$BEGIN SET CONSTRAINTS ALL DEFERRED; RETURN NEW; END$$; \
CREATE FUNCTION pgward.refuse() RETURNS trigger LANGUAGE plpgsql AS \
$$BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001'; END$$; \
CREATE TRIGGER a_defer BEFORE INSERT ON pgward.ledger FOR EACH ROW EXECUTE FUNCTION pgward.defer_all(); \
CREATE CONSTRAINT TRIGGER z_refuse AFTER INSERT ON pgward.ledger DEFERRABLE INITIALLY DEFERRED \
FOR EACH ROW EXECUTE FUNCTION pgward.refuse();";

#[test]
fn a_failing_commit_leaves_neither_data_nor_ledger_row() {
    let db = TestDb::new("lg_fail");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    assert_eq!(init(&cfg).code, 0);
    db.exec(FAIL_AT_COMMIT);
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-8",
        &[],
        "update items set qty = 0 where id = 1;\ncommit;\n",
        1,
    );
    assert_eq!(code, 1, "the server's error: {screen}");
    assert!(screen.contains("P0001"), "{screen}");
    assert_eq!(qty(&db, 1), "10", "the data did not change");
    assert!(ledger_rows(&db).is_empty(), "no ledger row");
    let log = session_logs(home.path()).pop().expect("a log");
    let kinds: Vec<String> = records(&log)
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("").to_string())
        .collect();
    let at = kinds
        .iter()
        .position(|k| k == "ledger")
        .expect("ledger record");
    assert_eq!(
        &kinds[at..at + 3],
        ["ledger", "commit_intent", "commit_failed"],
        "{kinds:?}"
    );
}

/// Polls until `sql` as superuser returns `want`.
fn wait_for(db: &TestDb, sql: &str, want: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if db.value(sql).as_deref() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn killed_between_the_ledger_insert_and_commit_leaves_neither() {
    let db = TestDb::new("lg_kill");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "lock_timeout = \"60s\"");
    assert_eq!(init(&cfg).code, 0);
    // The superuser holds a lock that the ledger insert waits for.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let admin = rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&cluster().conninfo(&db.name), tokio_postgres::NoTls)
                .await
                .expect("admin");
        tokio::spawn(conn);
        client
            .batch_execute("BEGIN; LOCK TABLE pgward.ledger IN SHARE MODE")
            .await
            .expect("lock");
        client
    });
    let file = home.path().join("fix.sql");
    std::fs::write(&file, "update items set qty = 0 where id = 1;\ncommit;\n").expect("script");
    let cfgs = cfg.display().to_string();
    let files = file.display().to_string();
    let mut t = Term::start_args(
        &db,
        home.path(),
        "t",
        &[
            "--config", &cfgs, "--env", "t", "--ticket", "OPS-9", "-f", &files,
        ],
        &[],
    );
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(20),
    );
    t.send("t\n");
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND datname = '{}' \
         AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO pgward.ledger%'",
        db.name
    );
    if !wait_for(&db, &waiting, "1", Duration::from_secs(20)) {
        t.fail("the ledger insert never waited for the lock");
    }
    t.signal(nix::sys::signal::Signal::SIGKILL);
    t.wait_end();
    // The insert goes through once the lock is gone; the COMMIT never comes.
    rt.block_on(admin.batch_execute("COMMIT")).expect("unlock");
    let gone = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND datname = '{}'",
        db.name
    );
    assert!(
        wait_for(&db, &gone, "0", Duration::from_secs(20)),
        "the killed session's backend ends"
    );
    assert_eq!(qty(&db, 1), "10", "the data did not change");
    assert!(ledger_rows(&db).is_empty(), "no ledger row");
}

#[test]
fn log_verify_names_each_disagreement_with_the_ledger() {
    let db = TestDb::new("lg_verify");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    let cfgs = cfg.display().to_string();
    assert_eq!(init(&cfg).code, 0);
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-10",
        &[],
        "update items set qty = 1 where id = 1;\ncommit;\nupdate items set qty = 2 where id = 2;\ncommit;\n",
        2,
    );
    assert_eq!(code, 0, "{screen}");
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let log = session_logs(home.path()).pop().expect("a log");
    let logs = log.display().to_string();
    let verify = || pgward(&["log", "verify", "--config", &cfgs, "--env", "t", &logs]);
    let out = verify();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("2 logged COMMITs, 2 ledger rows: they agree"),
        "{out:?}"
    );
    // A changed digest, a deleted row, and a row no log holds.
    let first = rows[0][0].clone().unwrap_or_default();
    let second = rows[1][0].clone().unwrap_or_default();
    db.exec(&format!(
        "UPDATE pgward.ledger SET change_digest = 'forged' WHERE id = {first}; \
         DELETE FROM pgward.ledger WHERE id = {second}; \
         INSERT INTO pgward.ledger (environment, txid, change_digest, fingerprints, statements_digest, author, log_file, log_seq) \
         VALUES ('t', '999', 'x', '{{}}', 'x', 'mallory', 'elsewhere.jsonl', 4);"
    ));
    let out = verify();
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let has = |label: &str, what: &str| lines.iter().any(|l| l.contains(label) && l.contains(what));
    assert!(
        has(
            "DIGEST DIFFERS",
            &format!("ledger row {first} has digest forged")
        ),
        "{out:?}"
    );
    assert!(
        has("MISSING FROM THE LEDGER", "committed with a ledger row"),
        "{out:?}"
    );
    assert!(has("MISSING FROM THE LOGS", "elsewhere.jsonl"), "{out:?}");
    // The same as JSON.
    let out = pgward(&[
        "log", "verify", "--json", "--config", &cfgs, "--env", "t", &logs,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let findings = value
        .as_array()
        .and_then(|a| {
            a.iter()
                .find_map(|v| v["ledger"]["findings"].as_array().cloned())
        })
        .expect("ledger findings");
    let kinds: Vec<&str> = findings.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["digest_differs", "missing_from_ledger", "missing_from_logs"],
        "{out:?}"
    );
}

#[test]
fn the_same_change_twice_needs_again() {
    let db = TestDb::new("lg_again");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    assert_eq!(init(&cfg).code, 0);
    let script = "update items set qty = qty + 1 where id = 1;\ncommit;\n";
    let (code, screen) = run_script(&db, home.path(), &cfg, "OPS-11", &[], script, 1);
    assert_eq!(code, 0, "{screen}");
    assert_eq!(qty(&db, 1), "11");
    // The same change, spelled differently: refused before the COMMIT question.
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-12",
        &[],
        "UPDATE items\n   SET qty = qty + 1 WHERE id = 1;\ncommit;\n",
        0,
    );
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("COMMIT refused: this exact change was already committed to this database")
            && screen.contains("ticket OPS-11")
            && !screen.contains("Type the environment name"),
        "{screen}"
    );
    assert_eq!(qty(&db, 1), "11", "not committed twice");
    assert_eq!(ledger_rows(&db).len(), 1);
    // The same shape with another value: a note, and it commits.
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-13",
        &[],
        "update items set qty = qty + 1 where id = 2;\ncommit;\n",
        1,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("same statement fingerprints"), "{screen}");
    assert_eq!(qty(&db, 2), "21");
    // With --again REASON: said, committed, and recorded in the ledger and the log.
    let (code, screen) = run_script(
        &db,
        home.path(),
        &cfg,
        "OPS-14",
        &["--again", "the first run was reverted by hand"],
        script,
        1,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("RUN AGAIN"), "{screen}");
    assert_eq!(qty(&db, 1), "12");
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[2][6].as_deref(),
        Some("the first run was reverted by hand")
    );
    let log = session_logs(home.path()).pop().expect("a log");
    let ledger = records(&log)
        .into_iter()
        .find(|r| r["kind"] == "ledger")
        .expect("ledger record");
    assert_eq!(ledger["again"], "the first run was reverted by hand");
    assert_eq!(
        ledger["repeats"].to_string(),
        rows[0][0].clone().unwrap_or_default()
    );
}

#[test]
fn again_in_the_shell_lets_the_next_commit_repeat() {
    let db = TestDb::new("lg_again_repl");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, "");
    assert_eq!(init(&cfg).code, 0);
    let cfgs = cfg.display().to_string();
    let mut t = Term::start_args(
        &db,
        home.path(),
        "t",
        &["--config", &cfgs, "--env", "t", "--ticket", "OPS-15"],
        &[],
    );
    for round in 0..2 {
        t.expect_within(&format!("{READER}@{}=> ", db.name), Duration::from_secs(20));
        t.send("delete from items where id = 3;\n");
        t.expect("DELETE");
        t.send("insert into items values (3, 30, 'item 3');\n");
        t.expect("INSERT 0 1");
        t.send("commit;\n");
        if round == 1 {
            t.expect("COMMIT refused: this exact change was already committed");
            t.expect_within(
                &format!("{WRITER}@{}=*> ", db.name),
                Duration::from_secs(20),
            );
            t.send("\\again the audit wants it twice\n");
            t.expect("the next COMMIT may commit a change the ledger says");
            t.send("commit;\n");
            t.expect("RUN AGAIN");
        }
        t.expect_within(
            "Type the environment name (t) to COMMIT",
            Duration::from_secs(20),
        );
        t.send("t\n");
        t.expect("COMMIT");
    }
    t.expect_within(&format!("{READER}@{}=> ", db.name), Duration::from_secs(20));
    t.send("\\q\n");
    assert_eq!(t.exit_code(), 0);
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][6].as_deref(), Some("the audit wants it twice"));
}

/// Runs `script` in environment `t` (approval required) on a pty; bob approves on the
/// reviewer page, whose text comes back, and types the code.
fn approved_run(
    db: &TestDb,
    home: &Path,
    cfg: &Path,
    url: &str,
    cred: &str,
    extra: &[&str],
    script: &str,
) -> (i32, String, String) {
    let file = home.join(format!("fix-{}.sql", session_logs(home).len()));
    std::fs::write(&file, script).expect("script");
    let cfg = cfg.display().to_string();
    let file = file.display().to_string();
    let mut args = vec!["--config", &cfg, "--env", "t", "--ticket", "OPS-16"];
    args.extend(extra);
    args.extend(["-f", &file]);
    let mut t = Term::start_args(db, home, "t", &args, &[(CRED_VAR, cred)]);
    let base = url.to_string();
    let reviewer = std::thread::spawn(move || {
        let r = Reviewer::login(&base, "bob", REVIEWER_PW)
            .unwrap_or_else(|a| panic!("login: {}", a.status));
        let id = r
            .next_pending(Duration::from_secs(20))
            .expect("a pending request");
        let page = r.get(&format!("/review/{id}")).body;
        (page, r.approve(&id))
    });
    let (page, (status, code)) = reviewer.join().expect("reviewer");
    assert_eq!(status, 303);
    let code = code.expect("the page shows the code");
    t.expect_within("Approval code (1 of 3): ", Duration::from_secs(20));
    t.send(&format!("{code}\n"));
    let exit = t.exit_code();
    (exit, t.transcript.clone(), page)
}

#[test]
fn approved_rows_name_the_reviewer_and_the_reviewer_sees_a_repeat() {
    let db = TestDb::new("lg_approved");
    let ap = Approver::start("ledger");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = approval_config(home.path(), &db, &ap.url(), &ap.public_key(), "");
    let out = TestShell::bare()
        .args([
            "ledger",
            "init",
            "--config",
            &cfg.display().to_string(),
            "--env",
            "t",
            "-U",
            cluster().superuser(),
        ])
        .env(CRED_VAR, &cred)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let script = "update items set qty = 7 where id = 4;\ncommit;\n";
    let (code, screen, page) = approved_run(&db, home.path(), &cfg, &ap.url(), &cred, &[], script);
    assert_eq!(code, 0, "{screen}");
    assert!(!page.contains("RUN AGAIN"), "a first run is no repeat");
    let request = records(&session_logs(home.path()).pop().expect("log"))
        .into_iter()
        .find(|r| r["kind"] == "approval")
        .expect("approval record");
    let rows = ledger_rows(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let who =
        db.value("SELECT reviewer || ' ' || request_id FROM pgward.ledger WHERE kind = 'commit'");
    assert_eq!(
        who,
        Some(format!(
            "bob {}",
            request["request_id"].as_str().unwrap_or("?")
        )),
        "the row names the reviewer and the approval request"
    );
    // Again, with a reason: the reviewer's page says it is a repeat, and why.
    let (code, screen, page) = approved_run(
        &db,
        home.path(),
        &cfg,
        &ap.url(),
        &cred,
        &["--again", "restore the count after the recount"],
        script,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        page.contains("RUN AGAIN") && page.contains("restore the count after the recount"),
        "the reviewer is shown the repeat and its reason: {page}"
    );
    assert_eq!(ledger_rows(&db).len(), 2);
}
