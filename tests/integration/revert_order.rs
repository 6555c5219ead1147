//! The order undo puts rows back in: rows one statement deleted from a self-referencing
//! table (its own rows, or rows a cascade reached, several levels down) go back parents
//! first even when the server returned them children first; rows that reference each
//! other in one table go back in one statement; a cycle through two tables has no
//! undo, said before COMMIT and logged; a statement that shifted keys (`SET id = id +
//! 1`) is undone row by row in reverse, and every key it restores is checked first.
//! Each change is committed through pgward and undone with `pgward undo`; every table
//! must then hold exactly its rows from before (whole-table checksums, as superuser).
//!
//! Rows are made to come back children first: they are stored children first (inserted
//! with the foreign keys' triggers off, `session_replication_role = replica`, as a
//! restore would), and a child's id is lower than its parent's, so an index scan meets
//! them children first as well. (Updating a parent after its children does not do it: a
//! HOT update keeps the index pointing at the row's first place.)

use crate::revert::{checksum, committed, run_and_commit, undo};
use crate::revert_cascade::{grant, round_trip};
use crate::util::TestDb;

#[test]
fn undo_puts_a_self_referencing_tree_deleted_in_one_statement_back_roots_first() {
    let db = TestDb::new("rvo_tree");
    db.exec(
        "CREATE TABLE categories (id int PRIMARY KEY, \
             parent_id int REFERENCES categories ON DELETE CASCADE, name text NOT NULL); \
         SET session_replication_role = replica; \
         INSERT INTO categories VALUES (3, 1, 'deep'), (1, 5, 'grandchild'), \
             (2, 7, 'leaf'), (5, 10, 'child'), (7, 10, 'side'), (10, NULL, 'root'), \
             (21, 20, 'kept'), (20, NULL, 'other'); \
         SET session_replication_role = DEFAULT; \
         CREATE TABLE replies (id int PRIMARY KEY, reply_to int REFERENCES replies \
             ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, body text); \
         INSERT INTO replies VALUES (1, 2, 'last'), (2, 3, 'middle'), (3, NULL, 'first'), \
             (4, NULL, 'kept');",
    );
    grant(&db, "categories, replies");
    // The WHERE catches the whole tree; its deepest row (3) only through the cascade.
    // A deferred key is checked at the undo's COMMIT, when every row is back.
    round_trip(
        &db,
        &["categories", "replies"],
        "delete from categories where id in (10, 5, 1, 7, 2);\n\
         delete from replies where id in (1, 2, 3);\n\
         commit;\n",
    );
    assert_eq!(
        db.value("SELECT count(*)::text FROM categories").as_deref(),
        Some("8")
    );
}

#[test]
fn undo_puts_back_a_multi_level_cascade_into_a_self_referencing_table() {
    let db = TestDb::new("rvo_levels");
    db.exec(
        "CREATE TABLE depts (id int PRIMARY KEY, name text); \
         CREATE TABLE teams (id int PRIMARY KEY, \
             dept_id int NOT NULL REFERENCES depts ON DELETE CASCADE); \
         CREATE TABLE people (id int PRIMARY KEY, \
             team_id int NOT NULL REFERENCES teams ON DELETE CASCADE, \
             manager_id int REFERENCES people ON DELETE CASCADE, name text); \
         INSERT INTO depts VALUES (1, 'one'), (2, 'two'); \
         INSERT INTO teams VALUES (11, 1), (12, 1), (21, 2), (22, 2); \
         SET session_replication_role = replica; \
         INSERT INTO people VALUES (60, 22, 70, 'two levels further'), \
             (70, 21, 80, 'other dept, under 80'), (80, 11, 90, 'member'), \
             (90, 12, 100, 'lead'), (100, 11, NULL, 'head'), (50, 22, NULL, 'unrelated'); \
         SET session_replication_role = DEFAULT;",
    );
    grant(&db, "depts, teams, people");
    // people 100, 90, 80 go with dept 1's teams (one level, read children first);
    // 70 and 60 with their managers (two and three levels further).
    round_trip(
        &db,
        &["depts", "teams", "people"],
        "delete from depts where id = 1;\ncommit;\n",
    );
    assert_eq!(
        db.value("SELECT string_agg(id::text, ',' ORDER BY id) FROM people")
            .as_deref(),
        Some("50,60,70,80,90,100")
    );
}

#[test]
fn undo_puts_back_rows_under_a_restrict_self_reference_and_rows_that_reference_each_other() {
    let db = TestDb::new("rvo_restrict");
    db.exec(
        "CREATE TABLE folders (id int PRIMARY KEY, \
             parent_id int REFERENCES folders ON DELETE RESTRICT, name text); \
         SET session_replication_role = replica; \
         INSERT INTO folders VALUES (2, 4, 'c'), (4, 6, 'b'), (6, 10, 'a'), \
             (10, NULL, 'root'), (8, 9, 'ring one'), (9, 8, 'ring two'); \
         SET session_replication_role = DEFAULT;",
    );
    grant(&db, "folders");
    // RESTRICT is checked at once for the delete, but the whole subtree goes in one
    // statement; 8 and 9 reference each other, so no single-row order exists.
    round_trip(
        &db,
        &["folders"],
        "delete from folders where id in (6, 4, 2, 8, 9);\ncommit;\n",
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || coalesce(parent_id::text, '-'), ',' ORDER BY id) FROM folders")
            .as_deref(),
        Some("2:4,4:6,6:10,8:9,9:8,10:-")
    );
}

#[test]
fn a_cycle_through_two_tables_has_no_undo_said_before_commit_and_logged() {
    let db = TestDb::new("rvo_cycle");
    db.exec(
        "CREATE TABLE husks (id int PRIMARY KEY, seed_id int); \
         CREATE TABLE seeds (id int PRIMARY KEY, \
             husk_id int NOT NULL REFERENCES husks ON DELETE CASCADE); \
         ALTER TABLE husks ADD FOREIGN KEY (seed_id) REFERENCES seeds ON DELETE CASCADE; \
         WITH h AS (INSERT INTO husks VALUES (1, 1), (2, NULL)) \
             INSERT INTO seeds VALUES (1, 1), (2, 2);",
    );
    grant(&db, "husks, seeds");
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "delete from husks where id = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    let reasons = intent["undo"]["impossible"].to_string();
    assert!(
        reasons.contains("reference each other")
            && reasons.contains("husks")
            && reasons.contains("seeds"),
        "{reasons}"
    );
    assert_eq!(
        db.value("SELECT (SELECT count(*) FROM husks) || ',' || (SELECT count(*) FROM seeds)")
            .as_deref(),
        Some("1,1"),
        "the change committed, cascade included"
    );
    // And nothing can be undone from that record.
    let (log, seq) = committed(home.path());
    let mut t = undo(&db, home.path(), &log, seq);
    assert_ne!(t.exit_code(), 0, "{}", t.transcript);
    t.ensure(
        t.transcript.contains("has no undo"),
        "the undo says the record has none",
    );
}

/// `shift` with ids 1..=3 stored in descending order, so `SET id = id + 1` takes them
/// highest first (as a key checked at once needs) and the undo must go lowest first.
fn shift(db: &TestDb) {
    db.exec(
        "CREATE TABLE shift (id int PRIMARY KEY, v text); \
         INSERT INTO shift VALUES (3, 'c'), (2, 'b'), (1, 'a'), (9, 'z');",
    );
    grant(db, "shift");
}

const SHIFT: &str = "update shift set v = 'x' where id = 1;\n\
     update shift set id = id + 1 where v <> 'z';\n\
     commit;\n";

#[test]
fn undo_shifts_keys_back_row_by_row() {
    let db = TestDb::new("rvo_shift");
    shift(&db);
    round_trip(&db, &["shift"], SHIFT);
    assert_eq!(
        db.value("SELECT string_agg(id || v, ',' ORDER BY id) FROM shift")
            .as_deref(),
        Some("1a,2b,3c,9z")
    );
}

#[test]
fn undo_of_a_key_shift_checks_every_row_and_key_it_restores() {
    for (name, later, named) in [
        (
            "rvo_shift_changed",
            "UPDATE shift SET v = 'later' WHERE id = 3",
            "\"public\".\"shift\" id=3: has changed",
        ),
        (
            "rvo_shift_taken",
            "INSERT INTO shift VALUES (1, 'new')",
            "\"public\".\"shift\" id=1: holds a row again",
        ),
    ] {
        let db = TestDb::new(name);
        shift(&db);
        let home = tempfile::tempdir().expect("home");
        let (summary, _) = run_and_commit(&db, home.path(), SHIFT);
        assert!(summary.contains("Undo: possible"), "{summary}");
        db.exec(later);
        let after = checksum(&db, "shift");
        let (log, seq) = committed(home.path());
        let mut t = undo(&db, home.path(), &log, seq);
        assert_eq!(t.exit_code(), 2, "refused: {}", t.transcript);
        t.ensure(
            t.transcript.contains("changed since the commit") && t.transcript.contains(named),
            "the row that changed is named before anything runs",
        );
        assert_eq!(checksum(&db, "shift"), after, "nothing ran");
    }
}

#[test]
fn undo_puts_back_a_tree_deleted_from_one_partition_of_a_self_referencing_table_roots_first() {
    let db = TestDb::new("rvo_partition");
    // The key is declared on the partitioned table and references it; the statement
    // names one partition, which neither end of the key names.
    db.exec(
        "CREATE TABLE nodes (region int NOT NULL, id int NOT NULL, parent_id int, name text, \
             PRIMARY KEY (region, id), \
             FOREIGN KEY (region, parent_id) REFERENCES nodes (region, id)) \
             PARTITION BY LIST (region); \
         CREATE TABLE nodes_1 PARTITION OF nodes FOR VALUES IN (1); \
         CREATE TABLE nodes_2 PARTITION OF nodes FOR VALUES IN (2); \
         SET session_replication_role = replica; \
         INSERT INTO nodes VALUES (1, 3, 5, 'leaf'), (1, 5, 10, 'child'), \
             (1, 10, NULL, 'root'), (1, 20, NULL, 'kept'), (2, 3, 10, 'other leaf'), \
             (2, 10, NULL, 'other root'); \
         SET session_replication_role = DEFAULT;",
    );
    grant(&db, "nodes, nodes_1, nodes_2");
    round_trip(
        &db,
        &["nodes"],
        "delete from nodes_1 where id in (10, 5, 3);\ncommit;\n",
    );
    assert_eq!(
        db.value("SELECT string_agg(region || '.' || id, ',' ORDER BY region, id) FROM nodes")
            .as_deref(),
        Some("1.3,1.5,1.10,1.20,2.3,2.10")
    );
}

/// Commits `script` and checks that the summary said before COMMIT that the change has
/// no undo, with a reason holding every one of `named`, that the log records it, that
/// the change committed (`committed` is true of the data) and that no undo runs.
fn no_undo(db: &TestDb, script: &str, named: &[&str], committed_check: (&str, &str)) {
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(db, home.path(), script);
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    let reasons = intent["undo"]["impossible"].to_string();
    for n in named {
        assert!(reasons.contains(n), "{n} in {reasons}");
        assert!(summary.contains(n), "{n} in the summary: {summary}");
    }
    assert_eq!(
        db.value(committed_check.0).as_deref(),
        Some(committed_check.1),
        "the change committed"
    );
    let (log, seq) = committed(home.path());
    let mut t = undo(db, home.path(), &log, seq);
    assert_ne!(t.exit_code(), 0, "{}", t.transcript);
    t.ensure(
        t.transcript.contains("has no undo"),
        "the undo says the record has none",
    );
}

#[test]
fn a_swap_under_a_key_checked_at_statement_end_has_no_undo_said_before_commit_and_logged() {
    let db = TestDb::new("rvo_swap");
    db.exec(
        "CREATE TABLE seats (id int PRIMARY KEY DEFERRABLE, name text); \
         INSERT INTO seats VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd');",
    );
    grant(&db, "seats");
    // One row moved under that key has its undo.
    round_trip(
        &db,
        &["seats"],
        "update seats set id = 7, name = 'moved' where id = 4;\ncommit;\n",
    );
    no_undo(
        &db,
        "update seats set id = 3 - id where id in (1, 2);\ncommit;\n",
        &["seats", "DEFERRABLE"],
        (
            "SELECT string_agg(id || name, ',' ORDER BY id) FROM seats",
            "1b,2a,3c,4d",
        ),
    );
}

#[test]
fn a_swap_under_a_key_checked_at_commit_is_undone() {
    let db = TestDb::new("rvo_swap_deferred");
    db.exec(
        "CREATE TABLE seats (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, name text); \
         INSERT INTO seats VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    grant(&db, "seats");
    round_trip(
        &db,
        &["seats"],
        "update seats set id = 3 - id where id in (1, 2);\ncommit;\n",
    );
}

/// `owners` and the `pets` that reference them through a key checked at once.
fn owners(db: &TestDb) {
    db.exec(
        "CREATE TABLE owners (id int PRIMARY KEY, name text); \
         CREATE TABLE pets (id int PRIMARY KEY, owner_id int NOT NULL REFERENCES owners, \
             name text); \
         INSERT INTO owners VALUES (1, 'one'), (2, 'two'), (3, 'no pets'); \
         INSERT INTO pets VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'z');",
    );
    grant(db, "owners, pets");
}

#[test]
fn undo_sets_a_key_back_before_the_deleted_rows_that_referenced_its_old_value() {
    let db = TestDb::new("rvo_with_key");
    owners(&db);
    // The pets go back after owner 1 is back at its key, not before.
    round_trip(
        &db,
        &["owners", "pets"],
        "with gone as (delete from pets where owner_id = 1 returning id) \
         update owners set id = 10 where id = 1;\ncommit;\n",
    );
}

#[test]
fn a_key_set_back_between_two_tables_of_deleted_rows_has_no_undo_said_before_commit() {
    let db = TestDb::new("rvo_with_between");
    owners(&db);
    db.exec(
        "CREATE TABLE houses (id int PRIMARY KEY); INSERT INTO houses VALUES (5), (6); \
         ALTER TABLE owners ADD house_id int REFERENCES houses; \
         UPDATE owners SET house_id = 5 WHERE id = 1;",
    );
    grant(&db, "houses");
    // Owner 1 must be set back after house 5 and before its pets go back: one order
    // exists, but not the undo's (updated rows before or after all deleted rows).
    no_undo(
        &db,
        "with gone as (delete from pets where owner_id = 1 returning id), \
              sold as (delete from houses where id = 5 returning id) \
         update owners set id = 10, house_id = NULL where id = 1;\ncommit;\n",
        &["pets", "key of"],
        (
            "SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM owners) \
             || ';' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM houses)",
            "2,3,10;6",
        ),
    );
}

#[test]
fn a_key_changed_beside_deleted_rows_that_reference_other_keys_is_undone() {
    let db = TestDb::new("rvo_with_other");
    owners(&db);
    round_trip(
        &db,
        &["owners", "pets"],
        "with gone as (delete from pets where owner_id = 2 returning id) \
         update owners set id = 10 where id = 3;\ncommit;\n",
    );
}

/// A statement's rows are undone in the reverse of the order it changed them, whatever
/// its key: it ran row by row with its unique keys and its foreign keys' RESTRICT
/// checked at each row, so undoing its last row first passes back through the states
/// it passed through. Shown with a shift of a unique column that is not the key pgward
/// finds rows by, and a tree inserted in one statement (the undo deletes the children
/// before their parent).
#[test]
fn a_statements_rows_are_undone_last_first_whatever_key_they_touch() {
    let db = TestDb::new("rvo_reverse");
    db.exec(
        "CREATE TABLE codes (id int PRIMARY KEY, code int NOT NULL UNIQUE); \
         INSERT INTO codes VALUES (3, 30), (2, 20), (1, 10); \
         UPDATE codes SET code = code / 10; \
         CREATE TABLE nodes (id int PRIMARY KEY, \
             parent_id int REFERENCES nodes ON DELETE RESTRICT, name text); \
         INSERT INTO nodes VALUES (100, NULL, 'kept');",
    );
    grant(&db, "codes, nodes");
    round_trip(
        &db,
        &["codes", "nodes"],
        "update codes set code = code + 1 where id > 0;\n\
         insert into nodes values (1, NULL, 'root'), (2, 1, 'child'), (3, 2, 'grandchild');\n\
         commit;\n",
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || code, ',' ORDER BY id) FROM codes")
            .as_deref(),
        Some("1:1,2:2,3:3")
    );
    assert_eq!(
        db.value("SELECT count(*)::text FROM nodes").as_deref(),
        Some("1")
    );
}
