//! Generated undo of a committed change: whether undo is possible is decided before
//! COMMIT, said in the summary and kept in the `commit_intent` record. COMMITs are
//! confirmed on a real pseudo-terminal; data checked as the superuser.

use std::path::Path;
use std::time::Duration;

use crate::term::Term;
use crate::util::{self, records, session_logs, TestDb, READER, WRITER};

/// Environment `t` on `db`; the author confirms COMMIT.
fn config(home: &Path, db: &TestDb) -> std::path::PathBuf {
    util::write_config(
        home,
        &format!(
            "[environments.t]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n",
            db.login_conninfo()
        ),
    )
}

/// Runs `script` in environment `t`, confirms its COMMIT; the summary shown and the
/// `commit_intent` record of the log.
pub(crate) fn run_and_commit(
    db: &TestDb,
    home: &Path,
    script: &str,
) -> (String, serde_json::Value) {
    let cfg = config(home, db).display().to_string();
    let file = home.join("change.sql");
    std::fs::write(&file, script).expect("script");
    let files = file.display().to_string();
    let mut t = Term::start_args(
        db,
        home,
        "t",
        &[
            "--config", &cfg, "--env", "t", "--ticket", "OPS-30", "-f", &files,
        ],
        &[],
    );
    let summary = t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(30),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    let intent = session_logs(home)
        .iter()
        .flat_map(|log| records(log))
        .find(|r| r["kind"] == "commit_intent")
        .expect("a commit_intent record");
    (summary, intent)
}

#[test]
fn undo_availability_is_said_before_commit_and_logged() {
    let db = TestDb::new("rv_avail");
    db.exec(&format!(
        "CREATE TABLE loose (a int, b text); INSERT INTO loose VALUES (1, 'x'), (2, 'y'); \
         GRANT SELECT, UPDATE ON loose TO {WRITER};"
    ));
    // Keyed rows, captured: undo is possible.
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "update items set qty = 99 where id = 2;\ncommit;\n",
    );
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert_eq!(intent["undo"]["possible"], true, "{intent}");
    assert_eq!(
        db.value("SELECT qty::text FROM items WHERE id = 2")
            .as_deref(),
        Some("99")
    );
    // A table without a key: impossible, said before COMMIT, and logged.
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "update loose set b = 'z' where a = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert!(
        summary.contains("no primary key or NOT NULL unique key"),
        "{summary}"
    );
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    let why = intent["undo"]["impossible"].to_string();
    assert!(why.contains("loose"), "{why}");
    assert_eq!(
        db.value("SELECT b FROM loose WHERE a = 1").as_deref(),
        Some("z")
    );
}

/// Every row of `kids`, to compare before and after.
fn kids(db: &TestDb) -> String {
    db.value("SELECT string_agg(id || ':' || item || ':' || coalesce(tag, 'NULL'), ',' ORDER BY id) FROM kids")
        .unwrap_or_default()
}

#[test]
fn the_generated_undo_restores_the_start_state() {
    let db = TestDb::new("rv_sql");
    db.exec(&format!(
        "CREATE TABLE kids (id int PRIMARY KEY, item int NOT NULL REFERENCES items, tag text); \
         INSERT INTO kids VALUES (1, 4, 'a'), (2, 4, NULL), (3, 1, 'c'); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON kids TO {WRITER};"
    ));
    let (items_before, kids_before) = (db.items(), kids(&db));
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "update items set qty = qty + 1 where id <= 2;\n\
         update items set note = E'it''s a \\\\ tab\\there' where id = 3;\n\
         update items set note = NULL where id = 1;\n\
         insert into items values (6, 60, 'new');\n\
         delete from kids where item = 4;\n\
         delete from items where id = 4;\n\
         commit;\n",
    );
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert_ne!(db.items(), items_before, "the change committed");
    assert_ne!(kids(&db), kids_before, "the change committed");
    let sql = intent["undo"]["sql"]
        .as_str()
        .expect("inline undo SQL")
        .to_string();
    assert_eq!(
        intent["undo"]["sha256"].as_str().map(str::len),
        Some(64),
        "{intent}"
    );
    // Parents before children: item 4 is inserted back before its kids.
    let parent = sql
        .find("INSERT INTO \"public\".\"items\"")
        .expect("items insert");
    let child = sql
        .find("INSERT INTO \"public\".\"kids\"")
        .expect("kids insert");
    assert!(parent < child, "{sql}");
    db.exec(&sql);
    assert_eq!(
        db.items(),
        items_before,
        "undo restores items exactly: {sql}"
    );
    assert_eq!(kids(&db), kids_before, "undo restores kids exactly: {sql}");
}

/// md5 of every row of `table`, in key order: the whole-table checksum.
pub(crate) fn checksum(db: &TestDb, table: &str) -> String {
    db.value(&format!(
        "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY id), '')) FROM {table} t"
    ))
    .unwrap_or_default()
}

/// The log in `home` with a committed change, and its `commit_intent` seq.
pub(crate) fn committed(home: &Path) -> (std::path::PathBuf, u64) {
    session_logs(home)
        .into_iter()
        .find_map(|log| {
            let recs = records(&log);
            recs.iter().any(|r| r["kind"] == "commit").then_some(())?;
            let seq = recs
                .iter()
                .find(|r| r["kind"] == "commit_intent")
                .and_then(|r| r["seq"].as_u64())?;
            Some((log, seq))
        })
        .expect("a log with a committed change")
}

/// `pgward undo LOG --record N` in environment `t`, on a pseudo-terminal.
pub(crate) fn undo(db: &TestDb, home: &Path, log: &Path, seq: u64) -> Term {
    let cfg = config(home, db).display().to_string();
    let logs = log.display().to_string();
    let record = seq.to_string();
    Term::start_args(
        db,
        home,
        "t",
        &["undo", &logs, "--record", &record, "--config", &cfg],
        &[],
    )
}

/// A change over two tables: a row updated twice (two statements), a row with a tab,
/// a quote and a line feed, an insert, children deleted, their parent deleted.
const CHANGE: &str = "update items set qty = qty + 1 where id <= 2;\n\
     update items set qty = qty * 2, note = E'it''s\\ta\\nline' where id = 2;\n\
     insert into items values (6, 60, 'new');\n\
     delete from kids where item = 4;\n\
     delete from items where id = 4;\n\
     commit;\n";

fn with_kids(db: &TestDb) {
    db.exec(&format!(
        "CREATE TABLE kids (id int PRIMARY KEY, item int NOT NULL REFERENCES items, tag text); \
         INSERT INTO kids VALUES (1, 4, 'a'), (2, 4, NULL), (3, 1, 'c'); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON kids TO {WRITER}; \
         GRANT SELECT ON kids TO {READER};"
    ));
}

#[test]
fn undo_command_restores_the_original_rows_exactly() {
    let db = TestDb::new("rv_cmd");
    with_kids(&db);
    let before = (checksum(&db, "items"), checksum(&db, "kids"));
    let home = tempfile::tempdir().expect("home");
    let (summary, _) = run_and_commit(&db, home.path(), CHANGE);
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert_ne!(
        (checksum(&db, "items"), checksum(&db, "kids")),
        before,
        "the change committed"
    );
    let (log, seq) = committed(home.path());
    let mut t = undo(&db, home.path(), &log, seq);
    t.expect_within("rows are as the commit left them", Duration::from_secs(30));
    let shown = t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(60),
    );
    t.ensure(
        shown.contains(&format!("UNDO of ticket OPS-30, record {seq}"))
            && shown.contains("the counts mirror the original's"),
        "the undo says what it undoes and that its counts mirror the original's",
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    assert_eq!(
        (checksum(&db, "items"), checksum(&db, "kids")),
        before,
        "undo restores both tables exactly"
    );
    // The undo is itself a logged, committed change.
    let undo_log = session_logs(home.path()).pop().expect("the undo's log");
    assert!(
        records(&undo_log).iter().any(|r| r["kind"] == "commit"),
        "{undo_log:?}"
    );
}

#[test]
fn undo_refuses_when_a_row_changed_since_and_names_it() {
    let db = TestDb::new("rv_changed");
    with_kids(&db);
    let home = tempfile::tempdir().expect("home");
    let (summary, _) = run_and_commit(&db, home.path(), CHANGE);
    assert!(summary.contains("Undo: possible"), "{summary}");
    // Someone else changes one row the change left, and re-creates a deleted one.
    db.exec("UPDATE items SET note = 'later' WHERE id = 1");
    db.exec("INSERT INTO kids VALUES (2, 1, 'again')");
    let after = (checksum(&db, "items"), checksum(&db, "kids"));
    let (log, seq) = committed(home.path());
    let mut t = undo(&db, home.path(), &log, seq);
    let code = t.exit_code();
    assert_eq!(code, 2, "refused: {}", t.transcript);
    t.ensure(
        t.transcript.contains("changed since the commit")
            && t.transcript
                .contains("\"public\".\"items\" id=1: has changed")
            && t.transcript
                .contains("\"public\".\"kids\" id=2: exists again (it was deleted)"),
        "the rows that changed are named",
    );
    t.ensure(
        !t.transcript.contains("id=6:") && !t.transcript.contains("id=3:"),
        "rows that did not change are not named",
    );
    assert_eq!(
        (checksum(&db, "items"), checksum(&db, "kids")),
        after,
        "nothing ran"
    );
}

/// `parent` ← `child` ← `grandchild`, each ON DELETE CASCADE; the write role may read
/// and lock (UPDATE) the referencing tables, as the cascade pre-read needs.
fn family(db: &TestDb) {
    db.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL); \
         CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent ON DELETE CASCADE, note text); \
         CREATE TABLE grandchild (id int PRIMARY KEY, child_id int REFERENCES child ON DELETE CASCADE, v numeric(10,2), at timestamptz); \
         INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, E'th\\tree'); \
         INSERT INTO child SELECT g, 1 + g % 3, 'c' || g FROM generate_series(1, 12) g; \
         INSERT INTO grandchild SELECT g, 1 + g % 12, g / 7.0, '2024-01-01 10:00+02'::timestamptz + g * interval '1 hour' \
           FROM generate_series(1, 40) g; \
         INSERT INTO grandchild VALUES (41, NULL, NULL, NULL); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON parent, child, grandchild TO {WRITER}; \
         GRANT SELECT ON parent, child, grandchild TO {READER};"
    ));
}

fn family_sums(db: &TestDb) -> [String; 3] {
    [
        checksum(db, "parent"),
        checksum(db, "child"),
        checksum(db, "grandchild"),
    ]
}

#[test]
fn undo_restores_a_two_level_cascade_delete_exactly() {
    let db = TestDb::new("rv_cascade");
    family(&db);
    let before = family_sums(&db);
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "delete from parent where id in (1, 3);\n\
         update child set note = 'kept' where parent_id = 2;\n\
         commit;\n",
    );
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert_eq!(intent["undo"]["possible"], true, "{intent}");
    assert_eq!(
        db.value("SELECT count(*)::text FROM child").as_deref(),
        Some("4"),
        "the cascade removed the children of parents 1 and 3"
    );
    let after = family_sums(&db);
    assert!(
        after.iter().zip(&before).all(|(a, b)| a != b),
        "every table changed"
    );
    let (log, seq) = committed(home.path());
    let mut t = undo(&db, home.path(), &log, seq);
    t.expect_within("rows are as the commit left them", Duration::from_secs(30));
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(60),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    assert_eq!(
        family_sums(&db),
        before,
        "undo restores parent, child and grandchild exactly"
    );
}

#[test]
fn a_cascade_that_cannot_be_read_first_leaves_the_change_without_undo() {
    let db = TestDb::new("rv_cascade_noread");
    family(&db);
    // Without UPDATE on the referencing tables their rows cannot be locked (FOR UPDATE)
    // and read first: the DELETE runs as typed, the cascade as before, and undo is
    // impossible, said before COMMIT.
    db.exec(&format!("REVOKE UPDATE ON child, grandchild FROM {WRITER}"));
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "delete from parent where id = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert!(summary.contains("child"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    assert_eq!(
        db.value("SELECT count(*)::text FROM child WHERE parent_id = 1")
            .as_deref(),
        Some("0"),
        "the statement did what it does"
    );
}

#[test]
fn a_cascade_whose_counts_differ_from_the_rows_read_first_has_no_undo() {
    let db = TestDb::new("rv_cascade_counts");
    family(&db);
    // A trigger deletes one more grandchild than the cascade reaches: the server's
    // count for grandchild is not the rows read first.
    db.exec(
        "CREATE FUNCTION sweep() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN DELETE FROM grandchild WHERE id = 41; RETURN OLD; END$$; \
         CREATE TRIGGER sweep AFTER DELETE ON child FOR EACH ROW EXECUTE FUNCTION sweep();",
    );
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "delete from parent where id = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert!(summary.contains("grandchild"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    assert_eq!(
        db.value("SELECT count(*)::text FROM grandchild WHERE id = 41")
            .as_deref(),
        Some("0"),
        "the statement did what it does"
    );
}

#[test]
fn undo_restores_every_table_of_a_cte_write() {
    let db = TestDb::new("rv_cte");
    db.exec(&format!(
        "CREATE TABLE archive (LIKE items INCLUDING ALL); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON archive TO {WRITER}; \
         GRANT SELECT ON archive TO {READER};"
    ));
    let before = (checksum(&db, "items"), checksum(&db, "archive"));
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "with d as (delete from items where id >= 4 returning *) \
         insert into archive select * from d;\ncommit;\n",
    );
    // Both tables were captured: undo is possible, and said before COMMIT.
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert_eq!(intent["undo"]["possible"], true, "{intent}");
    assert_eq!(
        db.value("SELECT count(*) FROM archive").as_deref(),
        Some("2")
    );
    let (log, seq) = committed(home.path());
    let mut t = undo(&db, home.path(), &log, seq);
    t.expect_within("rows are as the commit left them", Duration::from_secs(30));
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(60),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    assert_eq!(
        (checksum(&db, "items"), checksum(&db, "archive")),
        before,
        "undo restores both tables exactly"
    );
}
