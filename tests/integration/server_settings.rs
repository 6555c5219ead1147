//! Settings the DBA put on the login or the database, through the real binary:
//! `default_transaction_read_only = on` does not break writes (pgward states READ
//! WRITE), a role's stricter `statement_timeout` is kept (57014) while a looser
//! `lock_timeout` is tightened and announced, `\conninfo` shows the effective timeouts,
//! and a default `role` on the login is the baseline for reads, named with the statement
//! that clears it. The superuser checks the data afterwards.

use crate::util::{cluster, TestDb, TestShell, PASSWORD, READER, WRITER};

/// Creates login `name` (NOINHERIT, the test password) granted the write and read roles.
fn login(db: &TestDb, name: &str) {
    db.exec(&format!(
        "DROP ROLE IF EXISTS {name}; \
         CREATE ROLE {name} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
         GRANT {WRITER}, {READER} TO {name};"
    ));
}

fn shell(db: &TestDb, user: &str) -> TestShell {
    TestShell::bare()
        .args(["-d", &db.conninfo_as(user), "--write-role", WRITER])
        .env("PGPASSWORD", PASSWORD)
}

#[test]
fn default_transaction_read_only_does_not_break_writes() {
    let db = TestDb::new("dba_read_only");
    login(&db, "dba_ro_login");
    db.exec(&format!(
        "ALTER ROLE dba_ro_login IN DATABASE {} SET default_transaction_read_only = on",
        db.name
    ));
    let before = db.items();
    let out = shell(&db, "dba_ro_login")
        .args(["--read-role", READER])
        .stdin(
            "update items set qty = 7 where id = 1;\nselect qty as now from items where id = 1;\n",
        )
        .run();
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert!(out.stdout.contains("UPDATE 1"), "{out:?}");
    assert!(
        out.stdout.lines().any(|l| l.trim() == "7"),
        "the write ran and its own transaction sees it: {out:?}"
    );
    assert!(
        out.stderr
            .contains("pgward overrides default_transaction_read_only = on"),
        "{out:?}"
    );
    // Not committed (no terminal to confirm): the table is as it was.
    assert_eq!(db.items(), before);
}

/// The user's own `BEGIN READ WRITE` is what pgward opens anyway: accepted, and the
/// write runs even under `default_transaction_read_only = on`; `BEGIN READ ONLY` is
/// refused with the reason.
#[test]
fn typed_begin_read_write_is_the_guarded_transaction() {
    let db = TestDb::new("dba_begin_rw");
    login(&db, "dba_rw_login");
    db.exec(&format!(
        "ALTER ROLE dba_rw_login IN DATABASE {} SET default_transaction_read_only = on",
        db.name
    ));
    let before = db.items();
    let out = shell(&db, "dba_rw_login")
        .args(["--read-role", READER])
        .stdin(
            "begin read write;
update items set qty = 7 where id = 1;
select qty as now from items where id = 1;
rollback;
",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("BEGIN"), "{out:?}");
    assert!(out.stdout.contains("UPDATE 1"), "{out:?}");
    assert!(
        out.stdout.lines().any(|l| l.trim() == "7"),
        "the write ran in the read-write transaction, which sees it: {out:?}"
    );
    assert_eq!(db.items(), before);

    let out = shell(&db, "dba_rw_login")
        .args(["--read-role", READER])
        .args(["-c", "begin read only"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("BEGIN READ ONLY"), "{out:?}");
}

#[test]
fn timeouts_only_tighten_and_conninfo_shows_them() {
    let db = TestDb::new("dba_timeouts");
    login(&db, "dba_to_login");
    db.exec(&format!(
        "ALTER ROLE dba_to_login IN DATABASE {} SET statement_timeout = '1s'; \
         ALTER ROLE dba_to_login IN DATABASE {} SET lock_timeout = '10min'",
        db.name, db.name
    ));
    let out = shell(&db, "dba_to_login")
        .args(["--read-role", READER])
        .args(["-c", "\\conninfo"])
        .args(["-c", "select pg_sleep(3)"])
        .run();
    // The role's 1s wins over pgward's 30s: the sleep is cancelled.
    assert!(out.stderr.contains("57014"), "{out:?}");
    assert!(
        out.stdout.contains("statement_timeout 1s, lock_timeout 5s"),
        "{out:?}"
    );
    let note = out
        .stderr
        .lines()
        .find(|l| l.contains("pgward overrides lock_timeout = 10min"))
        .unwrap_or_else(|| panic!("no override line: {out:?}"));
    assert!(note.contains("becomes 5s"), "{note}");
    assert!(
        !out.stderr.contains("overrides statement_timeout"),
        "the stricter server value is kept, not overridden: {out:?}"
    );
}

#[test]
fn a_role_default_is_the_baseline_for_reads_and_is_named() {
    let db = TestDb::new("dba_role_default");
    // Granted only the write role (no read role configured), which is its default.
    db.exec(&format!(
        "DROP ROLE IF EXISTS dba_rd_login; \
         CREATE ROLE dba_rd_login LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
         GRANT {WRITER} TO dba_rd_login; \
         ALTER ROLE dba_rd_login SET role = {WRITER}"
    ));
    let out = shell(&db, "dba_rd_login")
        .args(["-c", "select count(*) as n from items"])
        .args(["-c", "set datestyle = 'ISO'"])
        .args(["-c", "select current_user as who"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.trim() == "5"), "{out:?}");
    assert!(out.stdout.lines().any(|l| l.trim() == WRITER), "{out:?}");
    assert!(!out.stderr.contains("GUARD"), "{out:?}");
    assert!(
        !out.stderr.contains("no transaction in progress"),
        "no stray warning from pgward's own statements: {out:?}"
    );
    assert!(
        out.stderr
            .contains("to clear it: ALTER ROLE \"dba_rd_login\" RESET role"),
        "{out:?}"
    );
    // The printed fix is the fix: afterwards reads run as the login, and nothing is said.
    db.exec("ALTER ROLE \"dba_rd_login\" RESET role");
    let out = shell(&db, "dba_rd_login")
        .args(["-c", "select current_user as who"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.lines().any(|l| l.trim() == "dba_rd_login"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("RESET role"), "{out:?}");
    let _ = cluster();
}
