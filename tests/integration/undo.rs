//! The implicit savepoint around each statement of the open transaction in the REPL
//! (psql's `ON_ERROR_ROLLBACK=interactive`): a typo, a failing write, Ctrl-C or a
//! declined row count undoes only that statement, the transaction stays open (`=*>`)
//! with its earlier writes, and COMMIT's summary covers exactly what was kept. Scripts
//! keep ON_ERROR_STOP. Data are checked as the superuser, errors by SQLSTATE.

use std::time::{Duration, Instant};

use crate::term::{Term, STEP};
use crate::util::{TestDb, TestShell, COMPLETION_APP, LOGIN, READER, WRITER};

const UNDONE: &str = "statement undone (ROLLBACK TO its savepoint)";

/// The `items` row of a COMMIT summary's per-table counts: (inserted, updated, deleted).
fn items_counts(summary: &str) -> Option<(i64, i64, i64)> {
    let start = summary.rfind("Rows changed, per table")?;
    summary[start..].lines().find_map(|l| {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        match cells.as_slice() {
            [table, i, u, d] if table.ends_with("items") => {
                Some((i.parse().ok()?, u.parse().ok()?, d.parse().ok()?))
            }
            _ => None,
        }
    })
}

/// Commits on the terminal; the COMMIT summary shown before the question.
fn commit(t: &mut Term) -> String {
    t.line("commit;");
    let summary = t.expect(&format!(
        "Type the environment name ({}) to COMMIT, anything else keeps the transaction open: ",
        t.env
    ));
    let env = t.env.clone();
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits",
    );
    summary
}

/// Two updates, then a failing statement: the prompt stays `=*>`, the two updates stay.
fn two_updates(t: &mut Term) {
    t.line("begin;");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 11 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 22 where id = 2;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
}

/// After the undo: the earlier writes are still there, inside the transaction.
fn still_there(t: &mut Term) {
    t.line("select string_agg(qty::text, ',' order by id) as q from items where id <= 2;");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.lines().any(|l| l.trim() == "11,22"),
        "the earlier writes are kept in the open transaction",
    );
}

/// Commits and checks the summary and the data: exactly the two kept updates.
/// `failed`, the undone statement, is not among the summary's `kept` statements.
fn commit_two(t: &mut Term, db: &TestDb, failed: &str, kept: usize) {
    let summary = commit(t);
    let listed = summary
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains(". "))
        .count();
    t.ensure(
        !summary.contains(failed) && listed == kept,
        &format!("the summary lists {kept} statements, not {failed:?}: {listed}"),
    );
    let counts = items_counts(&summary);
    t.ensure(
        counts == Some((0, 2, 0)),
        &format!("the summary counts exactly the kept writes: {counts:?}"),
    );
    let after = db.items();
    t.ensure(
        after == "1:11:item 1,2:22:item 2,3:30:item 3,4:40:item 4,5:50:item 5",
        &format!("the superuser sees exactly the kept writes: {after}"),
    );
    t.quit();
}

#[test]
fn undo_typo_in_a_select_keeps_earlier_writes() {
    let db = TestDb::new("un_typo");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    two_updates(&mut t);
    t.line("select * from itemz;");
    t.expect("ERROR:  42P01:");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains(UNDONE) && out.contains("still open with its 2 earlier writes"),
        "the undo is announced with the writes kept",
    );
    still_there(&mut t);
    commit_two(&mut t, &db, "select * from itemz", 3);
}

#[test]
fn undo_failing_update_keeps_the_first() {
    let db = TestDb::new("un_unique");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    two_updates(&mut t);
    // A unique violation after the statement already changed a row in the capture.
    t.line("update items set id = 1 where id = 3;");
    t.expect("ERROR:  23505:");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(out.contains(UNDONE), "the undo is announced");
    still_there(&mut t);
    commit_two(&mut t, &db, "set id = 1 where id = 3", 3);
}

#[test]
fn undo_ctrl_c_on_a_slow_statement_keeps_earlier_writes() {
    let db = TestDb::new("un_cancel");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    two_updates(&mut t);
    t.line("select pg_sleep(30);");
    let sleeping = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND datname = '{}' \
         AND wait_event = 'PgSleep'",
        db.name
    );
    let start = Instant::now();
    while db.value(&sleeping).as_deref() != Some("1") {
        if start.elapsed() > STEP {
            t.fail("pg_sleep(30) never started on the server");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    t.ctrl('c');
    t.expect("ERROR:  57014:");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(out.contains(UNDONE), "the undo is announced");
    still_there(&mut t);
    commit_two(&mut t, &db, "pg_sleep", 3);
}

#[test]
fn undo_declined_row_count_undoes_only_that_statement() {
    let db = TestDb::new("un_decline");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    two_updates(&mut t);
    t.line("delete from items;");
    t.expect(
        "Type the exact number of rows (5: 5 rows of items deleted by the statement) to keep this change; anything else undoes only this statement: ",
    );
    t.line("4");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains("refused") && out.contains(UNDONE),
        "a wrong count is refused and only the DELETE undone",
    );
    t.line("select count(*) as n from items;");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.lines().any(|l| l.trim() == "5"),
        "the DELETE was undone",
    );
    still_there(&mut t);
    commit_two(&mut t, &db, "delete from items", 4);
}

#[test]
fn undo_user_savepoints_still_work_around_it() {
    let db = TestDb::new("un_user_sp");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    two_updates(&mut t);
    t.line("savepoint a;");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 33 where id = 3;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("select 1/0;");
    t.expect("ERROR:  22012:");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains("still open with its 3 earlier writes"),
        "three writes kept",
    );
    t.line("rollback to a;");
    t.expect("ROLLBACK");
    t.prompt(WRITER, "=*>");
    t.line("release a;");
    t.expect("RELEASE");
    t.prompt(WRITER, "=*>");
    t.line("savepoint pgward_statement;");
    t.expect("refused");
    t.prompt(WRITER, "=*>");
    commit_two(&mut t, &db, "savepoint pgward_statement", 6);
}

#[test]
fn undo_not_in_scripts_the_first_error_stops_and_nothing_commits() {
    let db = TestDb::new("un_script");
    let before = db.items();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("edit.sql");
    std::fs::write(
        &file,
        "begin;\n\
         update items set qty = 11 where id = 1;\n\
         select * from itemz;\n\
         update items set qty = 33 where id = 3;\n\
         commit;\n",
    )
    .expect("write script");
    let out = TestShell::new(&db)
        .args(["-f", file.to_str().expect("path")])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("ERROR:  42P01:"), "{out:?}");
    assert!(!out.stderr.contains(UNDONE), "{out:?}");
    assert!(out.stderr.contains("nothing was committed"), "{out:?}");
    assert_eq!(
        out.stdout.matches("UPDATE 1").count(),
        1,
        "the script stopped at the error: {out:?}"
    );
    assert_eq!(db.items(), before);
}

#[test]
fn undo_deferred_check_failing_at_commit_keeps_the_transaction_open() {
    let db = TestDb::new("un_deferred");
    db.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, \
           parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED); \
         GRANT SELECT, INSERT ON parent, child TO {WRITER}; \
         GRANT SELECT ON parent, child TO {READER};"
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("insert into child values (1, 42);");
    t.expect("INSERT 0 1");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect("ERROR:  23503:");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains(UNDONE) && out.contains("with its 1 earlier write"),
        "only the deferred check is undone",
    );
    t.ensure(
        db.value("SELECT count(*) FROM child").as_deref() == Some("0"),
        "nothing was committed",
    );
    // Fixed inside the same transaction, the COMMIT goes through with both rows.
    t.line("insert into parent values (42);");
    t.expect("INSERT 0 1");
    t.prompt(WRITER, "=*>");
    let summary = commit(&mut t);
    t.ensure(
        summary.contains("insert into child") && summary.contains("insert into parent"),
        "the summary lists both inserts",
    );
    let rows =
        db.value("SELECT (SELECT count(*) FROM parent) || ',' || (SELECT count(*) FROM child)");
    t.ensure(
        rows.as_deref() == Some("1,1"),
        &format!("both rows committed: {rows:?}"),
    );
    t.quit();
}
