//! The row-count confirmation says what its number counts: each table with its
//! operation, count and cause (the statement, a foreign-key cascade, a trigger), so that
//! nobody types the statement's own count and loses the work. Through a real terminal,
//! with `max_rows` below the total: an AFTER trigger writes audit rows (the obvious
//! number undoes only that statement, the true one keeps it), a DELETE cascades to
//! child rows, and a plain UPDATE of several rows; each time a "no" undoes only that
//! statement and keeps the transaction with its earlier writes. Data checked as the
//! superuser after COMMIT.

use std::path::Path;

use crate::term::Term;
use crate::util::{cluster, write_config, TestDb, LOGIN, READER, WRITER};

const UNDONE: &str = "statement undone (ROLLBACK TO its savepoint)";

#[test]
fn confirm_count_names_the_trigger_rows_and_only_the_total_keeps_them() {
    let db = TestDb::new("cc_trigger");
    db.exec(
        "CREATE TABLE audit (item int NOT NULL, qty int NOT NULL); \
         CREATE FUNCTION audit_item() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER \
           SET search_path = public AS \
           $$ BEGIN INSERT INTO audit VALUES (NEW.id, NEW.qty); RETURN NULL; END $$; \
         CREATE TRIGGER items_audit AFTER UPDATE ON items \
           FOR EACH ROW EXECUTE FUNCTION audit_item();",
    );
    let home = tempfile::tempdir().expect("home");
    let mut t = start(&db, home.path());
    t.line("begin;");
    t.prompt(WRITER, "=*>");
    // 1 + 1 rows: under max_rows, kept without a question.
    t.line("update items set qty = 55 where id = 5;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    // 3 updated + 3 audit rows = 6 > max_rows (4).
    let big = "update items set qty = qty + 1 where id <= 3;";
    let asked = "Type the exact number of rows (6: 3 rows of items updated by the statement, \
                 plus 3 rows of audit inserted by a trigger on items) to keep this change; \
                 anything else undoes only this statement: ";
    t.line(big);
    t.expect(asked);
    // The statement's own count is not the number asked for.
    t.line("3");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains("refused") && out.contains(UNDONE),
        "the statement's own count is refused and only this statement undone",
    );
    t.line(big);
    t.expect(asked);
    t.line("6");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(!out.contains("refused"), "the total keeps the change");
    t.line("commit;");
    t.expect("Type the environment name (t) to COMMIT, anything else keeps the transaction open: ");
    t.line("t");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits",
    );
    t.quit();
    let items = db.items();
    assert_eq!(
        items, "1:11:item 1,2:21:item 2,3:31:item 3,4:40:item 4,5:55:item 5",
        "the first write and the confirmed one are committed, the refused run undone"
    );
    let audit = db.value("SELECT string_agg(item || ':' || qty, ',' ORDER BY item) FROM audit");
    assert_eq!(
        audit.as_deref(),
        Some("1:11,2:21,3:31,5:55"),
        "the trigger's rows of the refused run were undone with it"
    );
}

/// pgward on a terminal in environment `t` on `db`, `max_rows = 4`, at its first prompt.
fn start(db: &TestDb, home: &Path) -> Term {
    let c = cluster();
    let cfg = write_config(
        home,
        &format!(
            "author = \"tester\"\n\n[environments.t]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
             write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\nmax_rows = 4\n",
            c.host(),
            c.port(),
            db.name
        ),
    );
    let cfg = cfg.display().to_string();
    let mut t = Term::start_args(db, home, "t", &["--config", &cfg, "--env", "t"], &[]);
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    t
}

/// Answers the question with "no": only the statement is undone, the transaction stays
/// open, and COMMIT then commits what came before.
fn decline_then_commit(t: &mut Term) {
    t.line("no");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains("refused") && out.contains(UNDONE),
        "\"no\" undoes only this statement",
    );
    t.line("commit;");
    t.expect("Type the environment name (t) to COMMIT, anything else keeps the transaction open: ");
    t.line("t");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.lines().any(|l| l.trim() == "COMMIT"),
        "the transaction survived the \"no\" and commits",
    );
    t.quit();
}

#[test]
fn confirm_count_names_the_cascade_and_no_keeps_the_transaction() {
    let db = TestDb::new("cc_cascade");
    db.exec(&format!(
        "CREATE TABLE parents (id int PRIMARY KEY); \
         CREATE TABLE kids (id int PRIMARY KEY, parent int NOT NULL REFERENCES parents ON DELETE CASCADE); \
         INSERT INTO parents VALUES (1), (2); \
         INSERT INTO kids SELECT g, CASE WHEN g <= 4 THEN 1 ELSE 2 END FROM generate_series(1, 6) g; \
         GRANT SELECT, DELETE ON parents, kids TO {WRITER}; GRANT SELECT ON parents, kids TO {READER};"
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = start(&db, home.path());
    t.line("begin;");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 55 where id = 5;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    // 1 parent deleted + 4 kids by the cascade = 5 > max_rows (4).
    t.line("delete from parents where id = 1;");
    t.expect(
        "Type the exact number of rows (5: 1 row of parents deleted by the statement, \
         plus 4 rows of kids deleted by a foreign-key cascade) to keep this change; \
         anything else undoes only this statement: ",
    );
    decline_then_commit(&mut t);
    assert_eq!(
        db.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:55:item 5",
        "the write before the declined one is committed"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM parents").as_deref(),
        Some("2"),
        "the declined DELETE was undone"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM kids").as_deref(),
        Some("6"),
        "and its cascade with it"
    );
}

#[test]
fn confirm_count_names_a_plain_multi_row_write_and_no_keeps_the_transaction() {
    let db = TestDb::new("cc_plain");
    let home = tempfile::tempdir().expect("home");
    let mut t = start(&db, home.path());
    t.line("insert into items values (6, 60, 'six');");
    t.expect("INSERT 0 1");
    t.prompt(WRITER, "=*>");
    // 5 rows > max_rows (4): the number still says what it counts.
    t.line("update items set qty = qty + 1 where id <= 5;");
    t.expect(
        "Type the exact number of rows (5: 5 rows of items updated by the statement) \
         to keep this change; anything else undoes only this statement: ",
    );
    decline_then_commit(&mut t);
    assert_eq!(
        db.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5,6:60:six",
        "the INSERT before the declined UPDATE is committed, the UPDATE undone"
    );
}
