//! The row-count confirmation says what its number counts: each table with its
//! operation, count and cause (the statement, a foreign-key cascade, a trigger), so that
//! nobody types the statement's own count and loses the work. Through a real terminal:
//! an AFTER trigger writes audit rows, `max_rows` is below the total, the obvious
//! number undoes only that statement, the true one keeps it; data checked as the
//! superuser after COMMIT.

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
    let c = cluster();
    let cfg = write_config(
        home.path(),
        &format!(
            "author = \"tester\"\n\n[environments.t]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
             write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\nmax_rows = 4\n",
            c.host(),
            c.port(),
            db.name
        ),
    );
    let cfg = cfg.display().to_string();
    let mut t = Term::start_args(
        &db,
        home.path(),
        "t",
        &["--config", &cfg, "--env", "t"],
        &[],
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
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
