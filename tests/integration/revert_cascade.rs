//! Undo of rows a change reached through foreign keys: ON DELETE SET NULL / SET
//! DEFAULT, ON UPDATE CASCADE / SET NULL / SET DEFAULT, cascades into the target table
//! itself, and into partitioned and inherited tables. Each change is made through
//! pgward and committed, then undone with `pgward undo LOG --record N` and committed;
//! every table involved must then hold exactly its rows from before the change
//! (whole-table checksums, read as the superuser). A change whose cascaded rows cannot
//! be found again stays without undo, said before COMMIT.

use std::time::Duration;

use crate::revert::{checksum, committed, run_and_commit, undo};
use crate::util::{TestDb, READER, WRITER};

pub(crate) fn sums(db: &TestDb, tables: &[&str]) -> Vec<String> {
    tables.iter().map(|t| checksum(db, t)).collect()
}

/// Commits `script` through pgward (undo must be possible and every table in `tables`
/// must change), undoes it with `pgward undo`, and checks every table is as before.
pub(crate) fn round_trip(db: &TestDb, tables: &[&str], script: &str) {
    let before = sums(db, tables);
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(db, home.path(), script);
    assert!(summary.contains("Undo: possible"), "{summary}");
    assert!(
        !summary.contains("WARNING"),
        "the foreign keys' rows are explained: {summary}"
    );
    assert_eq!(intent["undo"]["possible"], true, "{intent}");
    let after = sums(db, tables);
    for ((table, a), b) in tables.iter().zip(&after).zip(&before) {
        assert_ne!(a, b, "the change reached {table}");
    }
    let (log, seq) = committed(home.path());
    let mut t = undo(db, home.path(), &log, seq);
    t.expect_within("rows are as the commit left them", Duration::from_secs(30));
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(60),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    for ((table, now), b) in tables.iter().zip(sums(db, tables)).zip(&before) {
        assert_eq!(&now, b, "undo restores {table} exactly");
    }
}

pub(crate) fn grant(db: &TestDb, tables: &str) {
    db.exec(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {WRITER}; \
         GRANT SELECT ON {tables} TO {READER};"
    ));
}

#[test]
fn undo_restores_rows_a_delete_set_to_null_or_default() {
    let db = TestDb::new("rvc_delete_set");
    db.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL); \
         CREATE TABLE nulled (id int PRIMARY KEY, \
             parent_id int REFERENCES parent ON DELETE SET NULL, note text); \
         CREATE TABLE defaulted (id int PRIMARY KEY, \
             parent_id int NOT NULL DEFAULT 0 REFERENCES parent ON DELETE SET DEFAULT, \
             v numeric(10,2)); \
         INSERT INTO parent VALUES (0, 'none'), (1, 'one'), (2, 'two'), (3, E'th\\tree'); \
         INSERT INTO nulled SELECT g, g % 4, 'n' || g FROM generate_series(1, 12) g; \
         INSERT INTO defaulted SELECT g, 1 + g % 3, g / 7.0 FROM generate_series(1, 9) g;",
    );
    grant(&db, "parent, nulled, defaulted");
    // A later statement changes some of the rows the cascade set to NULL again.
    round_trip(
        &db,
        &["parent", "nulled", "defaulted"],
        "delete from parent where id in (1, 3);\n\
         update nulled set note = 'orphan' where parent_id is null and id < 6;\n\
         commit;\n",
    );
}

#[test]
fn undo_restores_rows_an_update_of_a_key_cascaded_to() {
    let db = TestDb::new("rvc_update_key");
    db.exec(
        "CREATE TABLE parent (id int NOT NULL, code text PRIMARY KEY, name text); \
         CREATE TABLE child (id int PRIMARY KEY, \
             code text REFERENCES parent ON UPDATE CASCADE, note text, UNIQUE (id, code)); \
         CREATE TABLE grandchild (id int PRIMARY KEY, child_id int, code text, \
             FOREIGN KEY (child_id, code) REFERENCES child (id, code) ON UPDATE CASCADE); \
         CREATE TABLE nulled (id int PRIMARY KEY, \
             code text REFERENCES parent ON UPDATE SET NULL); \
         CREATE TABLE defaulted (id int PRIMARY KEY, \
             code text NOT NULL DEFAULT 'x' REFERENCES parent ON UPDATE SET DEFAULT); \
         INSERT INTO parent VALUES (0, 'x', 'default'), (1, 'a', 'A'), (2, 'b', 'B'), (3, 'c', 'C'); \
         INSERT INTO child SELECT g, (ARRAY['a', 'b', 'c'])[1 + g % 3], 'c' || g \
             FROM generate_series(1, 9) g; \
         INSERT INTO grandchild SELECT g, c.id, c.code FROM generate_series(1, 20) g \
             JOIN child c ON c.id = 1 + g % 9; \
         INSERT INTO nulled SELECT g, (ARRAY['a', 'b', 'c'])[1 + g % 3] \
             FROM generate_series(1, 6) g; \
         INSERT INTO defaulted SELECT g, (ARRAY['a', 'b', 'c'])[1 + g % 3] \
             FROM generate_series(1, 6) g;",
    );
    grant(&db, "parent, child, grandchild, nulled, defaulted");
    round_trip(
        &db,
        &["parent", "child", "grandchild", "nulled", "defaulted"],
        "update parent set code = 'z', name = 'Z' where code = 'a';\ncommit;\n",
    );
    assert_eq!(
        db.value("SELECT count(*)::text FROM grandchild WHERE code = 'a'")
            .as_deref(),
        Some("7"),
        "the grandchildren are back on 'a'"
    );
}

#[test]
fn undo_restores_cascades_into_the_target_itself() {
    let db = TestDb::new("rvc_self");
    db.exec(
        "CREATE TABLE employees (id int PRIMARY KEY, \
             manager_id int REFERENCES employees ON DELETE CASCADE, name text); \
         INSERT INTO employees VALUES (1, NULL, 'boss'); \
         INSERT INTO employees SELECT g, g - 1, 'e' || g FROM generate_series(2, 6) g; \
         INSERT INTO employees VALUES (7, 3, 'side'), (8, 1, 'other'); \
         CREATE TABLE staff (id int PRIMARY KEY, \
             boss_id int REFERENCES staff ON DELETE SET NULL); \
         INSERT INTO staff VALUES (1, NULL), (2, 1), (3, 1), (4, 2), (5, 4); \
         CREATE TABLE nodes (id int PRIMARY KEY, \
             parent_id int REFERENCES nodes ON UPDATE CASCADE, label text); \
         INSERT INTO nodes VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'c');",
    );
    grant(&db, "employees, staff, nodes");
    round_trip(
        &db,
        &["employees", "staff", "nodes"],
        "delete from employees where id = 3;\n\
         delete from staff where id in (1, 2);\n\
         update nodes set id = 10 where id = 1;\n\
         commit;\n",
    );
    assert_eq!(
        db.value("SELECT count(*)::text FROM employees").as_deref(),
        Some("8")
    );
}

#[test]
fn undo_restores_cascades_into_partitioned_and_inherited_tables() {
    let db = TestDb::new("rvc_parts");
    db.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name text); \
         CREATE TABLE lines (id int PRIMARY KEY, \
             parent_id int REFERENCES parent ON DELETE CASCADE, qty int) \
             PARTITION BY RANGE (id); \
         CREATE TABLE lines_lo PARTITION OF lines FOR VALUES FROM (0) TO (100); \
         CREATE TABLE lines_hi PARTITION OF lines FOR VALUES FROM (100) TO (1000); \
         CREATE TABLE marks (id int PRIMARY KEY, \
             parent_id int REFERENCES parent ON DELETE SET NULL, tag text) \
             PARTITION BY RANGE (id); \
         CREATE TABLE marks_lo PARTITION OF marks FOR VALUES FROM (0) TO (100); \
         CREATE TABLE marks_hi PARTITION OF marks FOR VALUES FROM (100) TO (1000); \
         CREATE TABLE notes (id int PRIMARY KEY, \
             parent_id int REFERENCES parent ON DELETE CASCADE, body text); \
         CREATE TABLE old_notes () INHERITS (notes); \
         INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three'); \
         INSERT INTO lines SELECT g, 1 + g % 3, g * 2 FROM generate_series(1, 20) g; \
         INSERT INTO lines SELECT g, 1 + g % 3, g * 2 FROM generate_series(101, 120) g; \
         INSERT INTO marks SELECT g, 1 + g % 3, 't' || g FROM generate_series(1, 10) g; \
         INSERT INTO marks SELECT g, 1 + g % 3, 't' || g FROM generate_series(101, 110) g; \
         INSERT INTO notes SELECT g, 1 + g % 3, 'b' || g FROM generate_series(1, 6) g; \
         INSERT INTO old_notes VALUES (7, 1, 'kept: no key on a child'), (8, 2, 'kept');",
    );
    grant(&db, "parent, lines, marks, notes, old_notes");
    round_trip(
        &db,
        &["parent", "lines", "marks", "notes"],
        "delete from parent where id = 2;\ncommit;\n",
    );
    assert_eq!(
        db.value("SELECT count(*)::text FROM old_notes").as_deref(),
        Some("2"),
        "rows of an inheritance child are not reached by its parent's key"
    );
}

#[test]
fn a_cascade_that_changes_a_key_leaves_the_change_without_undo() {
    let db = TestDb::new("rvc_key_changes");
    db.exec(
        "CREATE TABLE orders (id int PRIMARY KEY, note text); \
         CREATE TABLE order_lines (order_id int REFERENCES orders ON UPDATE CASCADE, \
             line int, qty int, PRIMARY KEY (order_id, line)); \
         INSERT INTO orders VALUES (1, 'a'), (2, 'b'); \
         INSERT INTO order_lines VALUES (1, 1, 5), (1, 2, 6), (2, 1, 7);",
    );
    grant(&db, "orders, order_lines");
    // ON UPDATE CASCADE changes a column of order_lines' own key: its rows cannot be
    // found again by key, so the change has no undo, said before COMMIT.
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = run_and_commit(
        &db,
        home.path(),
        "update orders set id = 10 where id = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert!(summary.contains("order_lines"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    assert_eq!(
        db.value("SELECT count(*)::text FROM order_lines WHERE order_id = 10")
            .as_deref(),
        Some("2"),
        "the statement did what it does"
    );
}
