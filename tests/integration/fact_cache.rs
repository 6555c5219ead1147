//! The preview's catalog facts are cached per connection, and another session's DDL
//! between two previews is seen by the next one: a foreign key (the cascade walk), a
//! BEFORE row trigger (the narrowed capture of an UPDATE) and a row-level security
//! policy forced on the owner (the capture's blocker), each added by the superuser on its own connection
//! while pgward's session stays open, each changing what the next preview must say.
//! Every write is rolled back; the data is checked as superuser at the end.

use crate::term::Term;
use crate::util::{TestDb, READER, WRITER};

#[test]
fn another_sessions_ddl_reaches_the_next_preview() {
    let db = TestDb::new("fact_cache_ddl");
    db.exec(&format!(
        "CREATE TABLE p (id int PRIMARY KEY, qty int, note text); \
         CREATE TABLE ch (id int PRIMARY KEY, pid int); \
         INSERT INTO p VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c'); \
         INSERT INTO ch VALUES (1, 2), (2, 2), (3, 3); \
         ALTER TABLE p OWNER TO {WRITER}; ALTER TABLE ch OWNER TO {WRITER}; \
         CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN NEW.note := 'stamped'; RETURN NEW; END $$;"
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    let preview = |t: &mut Term, sql: &str| {
        t.line(sql);
        let shown = t.prompt(WRITER, "=*>");
        t.line("rollback;");
        t.prompt(READER, "=>");
        shown
    };

    // The facts of p, learned by a first UPDATE and a first DELETE.
    let shown = preview(&mut t, "update p set qty = qty + 1 where id = 3;");
    t.ensure(
        shown.contains("30 → 31") && !shown.contains("stamped"),
        &format!("the first update: {shown}"),
    );
    let shown = preview(&mut t, "delete from p where id = 1;");
    t.ensure(
        shown.contains("Foreign keys: deleting 1 row of p changes no rows of other tables"),
        &format!("no foreign key yet: {shown}"),
    );

    // A foreign key, added by another session.
    db.exec("ALTER TABLE ch ADD CONSTRAINT ch_p FOREIGN KEY (pid) REFERENCES p ON DELETE CASCADE");
    let shown = preview(&mut t, "delete from p where id = 2;");
    t.ensure(
        shown.contains("Foreign keys: deleting 1 row of p removes 2 rows of ch"),
        &format!("the new foreign key is walked: {shown}"),
    );

    // A BEFORE row trigger that rewrites a column the UPDATE does not assign.
    db.exec("CREATE TRIGGER stamp BEFORE UPDATE ON p FOR EACH ROW EXECUTE FUNCTION stamp()");
    let shown = preview(&mut t, "update p set qty = qty + 1 where id = 3;");
    t.ensure(
        shown.contains("30 → 31") && shown.contains("c → stamped"),
        &format!("the trigger's change is in the preview: {shown}"),
    );

    // Row-level security for the write role.
    db.exec(&format!(
        "ALTER TABLE p ENABLE ROW LEVEL SECURITY; ALTER TABLE p FORCE ROW LEVEL SECURITY; \
         CREATE POLICY all_rows ON p TO {WRITER} USING (true)"
    ));
    let shown = preview(&mut t, "update p set qty = qty + 1 where id = 3;");
    t.ensure(
        shown.contains("row-level security applies to"),
        &format!("the policy stops the capture: {shown}"),
    );
    t.quit();

    // Everything was rolled back.
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || qty || ':' || note, ',' ORDER BY id) FROM p")
            .as_deref(),
        Some("1:10:a,2:20:b,3:30:c")
    );
    assert_eq!(db.value("SELECT count(*) FROM ch").as_deref(), Some("3"));
}
