//! The preview's catalog facts are cached per connection, and another session's DDL
//! between two previews is seen by the next one: a foreign key (the cascade walk), a
//! BEFORE row trigger (the narrowed capture of an UPDATE) and a row-level security
//! policy forced on the owner (the capture's blocker), each added by the superuser on its own connection
//! while pgward's session stays open, each changing what the next preview must say.
//! Every write is rolled back; the data is checked as superuser at the end. The column
//! types the "changed" verdict reads are cached too, and the output settings it reads
//! are not: a type changed by another session and a SET in the session both reach the
//! next preview.

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

/// The column types the "changed" verdict reads are cached with the other facts, and
/// the output settings are read afresh for each preview: a column's type changed by
/// another session, and `extra_float_digits` and `DateStyle` changed by the session's
/// own SET, each decide the next preview of the same table (rows captured, or counts
/// only because the settings would print two values alike). Checked in the session
/// log's preview records (rows captured have an image digest) and the data at the end.
#[test]
fn a_column_type_or_output_setting_changed_between_previews_reaches_the_next() {
    let db = TestDb::new("fact_cache_output");
    db.exec(&format!(
        "CREATE TABLE m (id int PRIMARY KEY, v numeric, t text); \
         INSERT INTO m VALUES (1, 1.5, 'a'), (2, 2.5, 'b'); \
         ALTER TABLE m OWNER TO {WRITER};"
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
    let set = |t: &mut Term, sql: &str| {
        t.line(sql);
        t.prompt(READER, "=>");
    };
    let update = "update m set v = v + 1 where id = 1;";

    // 1. numeric prints exactly whatever extra_float_digits is: rows.
    set(&mut t, "set extra_float_digits = 0;");
    let shown = preview(&mut t, update);
    t.ensure(shown.contains("1.5 → 2.5"), &format!("rows: {shown}"));
    // 2. Another session makes v a float8, which extra_float_digits 0 prints lossily.
    db.exec("ALTER TABLE m ALTER COLUMN v TYPE float8");
    let shown = preview(&mut t, update);
    t.ensure(
        shown.contains("extra_float_digits is 0"),
        &format!("the new type is seen: {shown}"),
    );
    // 3. The session's own RESET: the cached types, the fresh setting: rows again.
    set(&mut t, "reset extra_float_digits;");
    let shown = preview(&mut t, update);
    t.ensure(
        shown.contains("1.5 → 2.5") && !shown.contains("counts only"),
        &format!("the setting is read again: {shown}"),
    );
    // 4. t becomes a timestamptz; DateStyle Postgres prints zone abbreviations.
    db.exec("ALTER TABLE m ALTER COLUMN t TYPE timestamptz USING '2014-10-25 21:30:00+00'");
    set(&mut t, "set datestyle = 'Postgres';");
    let shown = preview(&mut t, update);
    t.ensure(
        shown.contains("DateStyle is Postgres, MDY"),
        &format!("the new type and the setting are seen: {shown}"),
    );
    set(&mut t, "set datestyle = 'ISO';");
    let shown = preview(&mut t, update);
    t.ensure(
        shown.contains("1.5 → 2.5") && !shown.contains("counts only"),
        &format!("ISO again: {shown}"),
    );
    t.quit();

    // The session log: five previews of one updated row each; rows were captured (an
    // image digest) exactly where the types and settings print every value exactly.
    let records = crate::util::records(&crate::util::only_log(home.path()));
    let previews: Vec<(bool, i64)> = records
        .iter()
        .filter(|r| r["kind"] == "preview")
        .map(|r| {
            (
                r["image_digest"].is_string(),
                r["counts"][0]["updated"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        previews,
        [(true, 1), (false, 1), (true, 1), (false, 1), (true, 1)],
        "{records:?}"
    );
    // The other session's DDL stands; every UPDATE was rolled back.
    assert_eq!(
        db.value(
            "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) \
             FROM pg_attribute WHERE attrelid = 'm'::regclass AND attnum > 0"
        )
        .as_deref(),
        Some("integer,double precision,timestamp with time zone")
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM m")
            .as_deref(),
        Some("1:1.5,2:2.5")
    );
}
