//! The guard through piped input and `-c`: unconfirmed COMMITs, refusals, hidden writes,
//! reads that try to write, and the identity probe. Each test checks the data with the
//! superuser afterwards.

use crate::util::{assert_refused_alone, role_setup, TestDb, TestShell, READER, WRITER};

#[test]
fn unconfirmed_commit_leaves_table_unchanged() {
    let db = TestDb::new("unconfirmed_commit");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = 0 where id <= 3;\ncommit;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("UPDATE 3"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn update_and_commit_on_one_piped_line_leaves_table_unchanged() {
    let db = TestDb::new("one_line_commit");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("UPDATE items SET qty = qty + 1 WHERE id > 1; COMMIT;")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(db.items(), before);
    let out = TestShell::new(&db)
        .args(["-c", "delete from items where id in (1, 2); end"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn embedded_commit_inside_begin_block_is_intercepted() {
    let db = TestDb::new("embedded_commit");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("begin;\ninsert into items values (9, 90, 'new');\n/* ; */ commit /* sneaky */;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn each_refused_entry_is_refused_and_changes_nothing() {
    let db = TestDb::new("refused_entries");
    let before = db.items();
    let roles = role_setup(&db);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("items.csv");
    let copy_to = format!("copy items to '{}'", file.display());
    let refused = [
        // app_reader is a role the login can become: if this ran, it would succeed.
        ("set role app_reader", "IdentityChange"),
        ("set role pgward_admin", "IdentityChange"),
        ("reset role", "IdentityChange"),
        ("set session authorization pgward_admin", "IdentityChange"),
        (
            "select set_config('role', 'app_reader', false)",
            "IdentityChange",
        ),
        ("prepare transaction 'x'", "TwoPhaseCommit"),
        ("commit prepared 'x'", "TwoPhaseCommit"),
        ("rollback prepared 'x'", "TwoPhaseCommit"),
        ("set transaction read write", "GuardSetting"),
        ("set transaction_read_only = off", "GuardSetting"),
        ("set standard_conforming_strings = off", "GuardSetting"),
        ("copy items from program 'id'", "OutsideReach"),
        (copy_to.as_str(), "OutsideReach"),
        (
            "select dblink_exec('dbname=x', 'delete from items')",
            "OutsideReach",
        ),
        ("select lo_import('/etc/passwd')", "OutsideReach"),
        ("select pg_read_file('/etc/passwd')", "OutsideReach"),
        ("alter system set work_mem = '1GB'", "AlterSystem"),
        // VACUUM and CREATE INDEX CONCURRENTLY run alone after approval or confirmation
        // (approval_alone.rs); these cannot run in a transaction and stay refused.
        ("create database evil", "NoTransactionBlock"),
        ("cluster", "NoTransactionBlock"),
        ("reindex database t_refused_entries", "NoTransactionBlock"),
    ];
    for (sql, rule) in refused {
        assert_refused_alone(&db, sql, rule);
        assert_eq!(db.items(), before, "{sql}");
    }
    assert_eq!(
        db.value("SELECT count(*) FROM pg_prepared_xacts")
            .as_deref(),
        Some("0"),
        "no transaction was prepared"
    );
    assert!(!file.exists(), "COPY TO wrote no file");
    assert_eq!(
        db.value("SELECT count(*) FROM pg_largeobject_metadata")
            .as_deref(),
        Some("0"),
        "no large object was imported"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'")
            .as_deref(),
        Some("0"),
        "ALTER SYSTEM wrote nothing"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_database WHERE datname = 'evil'")
            .as_deref(),
        Some("0")
    );
    assert_eq!(role_setup(&db), roles, "roles and memberships unchanged");
    // Refused inside an open transaction too, to a role the login can become; the
    // update before it is rolled back and the script stops.
    let out = TestShell::new(&db)
        .stdin("update items set qty = 1 where id = 1;\nset role app_reader;\nrollback;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("refused [IdentityChange]: "), "{out:?}");
    assert_eq!(db.items(), before);
    assert_eq!(role_setup(&db), roles);
}

#[test]
fn write_hidden_in_a_cte_is_a_write() {
    let db = TestDb::new("cte_write");
    let before = db.items();
    // Without a write role, a write is refused: so the CTE must be seen as one.
    let out = crate::util::TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .env("PGPASSWORD", crate::util::PASSWORD)
        .stdin("with d as (delete from items where id = 1 returning *) select count(*) from d;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("write role"), "{out:?}");
    assert_eq!(db.items(), before);
    // With one, it runs in the guarded transaction and is rolled back at end of input.
    let out = TestShell::new(&db)
        .stdin("with d as (delete from items where id = 1 returning *) select count(*) from d;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("(1 row)"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn read_calling_a_writing_function_fails_and_changes_nothing() {
    let db = TestDb::new("read_writes");
    db.exec(&format!(
        "CREATE FUNCTION zero_all() RETURNS int LANGUAGE sql AS 'UPDATE items SET qty = 0 RETURNING 1'; \
         GRANT EXECUTE ON FUNCTION zero_all() TO {READER}, {WRITER};"
    ));
    let before = db.items();
    let out = TestShell::new(&db).args(["-c", "select zero_all()"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    // 25006: read_only_sql_transaction.
    assert!(out.stderr.contains("25006"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn hidden_role_change_is_caught_by_the_probe() {
    let db = TestDb::new("probe_role");
    db.exec(&format!(
        "CREATE FUNCTION become_reader() RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN EXECUTE 'SET ROLE {READER}'; RETURN 1; END $$; \
         GRANT EXECUTE ON FUNCTION become_reader() TO {WRITER}, {READER};"
    ));
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = 7 where id = 2;\nselect become_reader();\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("GUARD"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn sql_error_exits_1_and_rolls_back() {
    let db = TestDb::new("sql_error");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = 5 where id = 1;\nupdate items set qty = 'x';\n")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    // 22P02: invalid_text_representation, with psql's caret line.
    assert!(out.stderr.contains("22P02"), "{out:?}");
    assert!(out.stderr.contains("LINE 1:"), "{out:?}");
    assert!(out.stderr.contains("rolled back"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn reads_print_psql_like_tables() {
    let db = TestDb::new("read_table");
    let out = TestShell::new(&db)
        .args([
            "-c",
            "select id, note, null::text as n from items where id <= 2 order by id",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn unterminated_last_statement_is_an_error() {
    let db = TestDb::new("unterminated");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("select 1;\ndelete from items")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("unterminated"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn a_read_that_writes_inside_the_transaction_is_refused_by_the_server() {
    // Reads inside the guarded transaction run in a read-only savepoint: a function with
    // side effects fails there (25006) instead of writing unseen.
    let db = TestDb::new("read_writes_in_tx");
    db.exec(&format!(
        "CREATE FUNCTION zero_two() RETURNS int LANGUAGE sql AS 'UPDATE items SET qty = 0 WHERE id <= 2 RETURNING 1'; \
         GRANT EXECUTE ON FUNCTION zero_two() TO {READER}, {WRITER};"
    ));
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set note = 'x' where id = 5;\nselect zero_two();\ncommit;\n")
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("25006"), "{out:?}");
    assert_eq!(db.items(), before);
    // A read in the transaction still sees the transaction's own change.
    let out = TestShell::new(&db)
        .stdin("update items set note = 'seen' where id = 5;\nselect note from items where id = 5;\nrollback;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(" seen"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn planner_settings_are_restored_after_a_captured_update() {
    // The UPDATE capture steers its self-join to a TID scan with SET LOCAL; the user's
    // transaction must get the planner back as it was.
    let db = TestDb::new("planner_restored");
    let out = TestShell::new(&db)
        .stdin("update items set qty = 1 where id = 1;\nshow enable_hashjoin;\nshow enable_mergejoin;\nrollback;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("10 → 1"), "{out:?}");
    let settings: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| *l == "on" || *l == "off")
        .collect();
    assert_eq!(settings, ["on", "on"], "{out:?}");
}

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    // An escape sequence in a value or a notice could repaint the shared screen.
    let db = TestDb::new("escapes");
    db.exec(&format!(
        "CREATE FUNCTION shout() RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN RAISE NOTICE '%', chr(27) || '[2J'; RETURN 1; END $$; \
         GRANT EXECUTE ON FUNCTION shout() TO {READER};"
    ));
    let out = TestShell::new(&db)
        .args(["-c", "select chr(27) || '[2J' as x, shout()"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains('\u{1b}'), "{out:?}");
    assert!(!out.stderr.contains('\u{1b}'), "{out:?}");
    assert!(out.stdout.contains("\\x1b[2J"), "{out:?}");
    assert!(out.stderr.contains("\\x1b[2J"), "{out:?}");
}

#[test]
fn review_refusals_leave_data_and_settings_unchanged() {
    // query_to_xml of a computed text runs SQL the classifier never sees: refused before
    // it reaches the server. (NOTIFY and setval are writes now: guard_named.rs.)
    let db = TestDb::new("review_refusals");
    db.exec(&format!(
        "CREATE SEQUENCE review_seq; SELECT setval('review_seq', 42); \
         GRANT USAGE, SELECT, UPDATE ON SEQUENCE review_seq TO {WRITER};"
    ));
    let seq = || db.value("SELECT last_value || ':' || is_called FROM review_seq");
    let before = db.items();
    let seq_before = seq();
    assert_eq!(seq_before.as_deref(), Some("42:true"));
    // A computed query text is refused, alone, and nothing moved.
    assert_refused_alone(
        &db,
        "select query_to_xml('select ' || 1, false, false, '')",
        "DynamicSql",
    );
    assert_eq!(db.items(), before);
    assert_eq!(seq(), seq_before);
    // A name inside a string literal is not a call: the literal is a read, and runs.
    let out = TestShell::new(&db)
        .stdin(
            "select 'set_config(''standard_conforming_strings'',''off'',false)' as s;\n\
             show standard_conforming_strings;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim() == "set_config('standard_conforming_strings','off',false)"),
        "{out:?}"
    );
    assert!(out.stdout.lines().any(|l| l.trim() == "on"), "{out:?}");
    assert!(!out.stderr.contains("refused"), "{out:?}");
    assert_eq!(db.items(), before);
    assert_eq!(seq(), seq_before);
    // Inside an open transaction setval runs as the write it is, after its warning, and
    // the warning is true: ROLLBACK undoes the update but not the sequence.
    let out = TestShell::new(&db)
        .stdin(
            "update items set qty = 1 where id = 1;\nselect setval('review_seq', 1);\nrollback;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("survives ROLLBACK"), "{out:?}");
    assert_eq!(db.items(), before);
    assert_eq!(seq().as_deref(), Some("1:true"));
    let scs = TestShell::new(&db)
        .args(["-c", "show standard_conforming_strings"])
        .run();
    assert_eq!(scs.code, 0, "{scs:?}");
    assert!(scs.stdout.lines().any(|l| l.trim() == "on"), "{scs:?}");
}
