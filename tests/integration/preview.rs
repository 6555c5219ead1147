//! Previews through the real binary: what each write did, shown before COMMIT.
//!
//! Every piped session ends without a confirmed COMMIT (there is no terminal to confirm
//! at), so each test also checks with the superuser that the data did not change. The
//! few tests that must type a confirmation drive the REPL on a pseudo-terminal.

use crate::term::Term;
use crate::util::{
    cluster, write_config, Output, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER,
};

// ---------------------------------------------------------------------------------------
// Reading what pgward printed.
// ---------------------------------------------------------------------------------------

/// `rows` as owned strings, to compare with a parsed grid.
fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// The first psql-like grid (header and rows, cells trimmed, rule left out) that follows
/// the first line of `text` starting with `heading`. Lines between the heading and the
/// grid (warnings, notes) are skipped; the grid ends at the first line without `|`.
fn grid_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with(heading)) else {
        panic!("no line starting with {heading:?} in:\n{text}");
    };
    let is_rule = |l: &str| l.contains("--") && l.chars().all(|c| c == '-' || c == '+');
    let Some(rule) = (start + 1..lines.len()).find(|&i| is_rule(lines[i])) else {
        panic!("no grid after {heading:?} in:\n{text}");
    };
    let cells = |l: &str| l.split('|').map(|c| c.trim().to_string()).collect();
    let mut out = vec![cells(lines[rule - 1])];
    out.extend(
        lines[rule + 1..]
            .iter()
            .take_while(|l| l.contains('|'))
            .map(|l| cells(l)),
    );
    out
}

/// The per-table counts of the first write in `text`, header included.
fn counts(text: &str) -> Vec<Vec<String>> {
    grid_after(
        text,
        "Rows changed by this statement, per table (from the server",
    )
}

/// `text` from the first occurrence of `marker` on.
fn from<'a>(text: &'a str, marker: &str) -> &'a str {
    let Some(i) = text.find(marker) else {
        panic!("{marker:?} not in:\n{text}");
    };
    &text[i..]
}

/// The number in `UPDATE items2: 91 rows updated (showing 20)` after `prefix`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let rest = from(text, prefix)[prefix.len()..].trim_start();
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in:\n{text}"))
}

/// The change digest of the COMMIT summary on stderr, checked to be 64 lowercase hex.
fn digest(out: &Output) -> String {
    let line = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Change digest: "))
        .unwrap_or_else(|| panic!("no change digest: {out:?}"));
    assert_eq!(line.len(), 64, "{line:?}");
    assert!(
        line.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{line:?}"
    );
    line.to_string()
}

/// Asserts a piped session ended refused (exit 2) without confirming anything.
#[track_caller]
fn assert_refused(out: &Output) {
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("refused"), "{out:?}");
    assert!(out.stderr.contains("not confirmed"), "{out:?}");
    assert!(out.stderr.contains("nothing was committed"), "{out:?}");
}

/// Asserts a piped session ended at end of input in an open transaction, rolled back.
#[track_caller]
fn assert_unconfirmed(out: &Output) {
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nothing was committed"), "{out:?}");
    assert!(!out.stderr.contains("refused"), "{out:?}");
}

// ---------------------------------------------------------------------------------------
// Setting up data.
// ---------------------------------------------------------------------------------------

/// Grants the write role everything on every table and sequence of `public`.
fn grant_all(db: &TestDb) {
    db.exec(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {WRITER}; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}; \
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {WRITER};"
    ));
}

/// customers(1, 2) → orders(1..3 of customer 1, 4 of customer 2) → order_items (1..9 on
/// orders 1..3, three each; 10 on order 4), both foreign keys ON DELETE CASCADE.
fn shop(db: &TestDb) {
    db.exec(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL); \
         CREATE TABLE orders (id int PRIMARY KEY, \
             customer_id int NOT NULL REFERENCES customers ON DELETE CASCADE ON UPDATE CASCADE); \
         CREATE TABLE order_items (id int PRIMARY KEY, \
             order_id int NOT NULL REFERENCES orders ON DELETE CASCADE); \
         INSERT INTO customers VALUES (1, 'ada'), (2, 'bob'); \
         INSERT INTO orders VALUES (1, 1), (2, 1), (3, 1), (4, 2); \
         INSERT INTO order_items SELECT g, (g % 3) + 1 FROM generate_series(1, 9) g; \
         INSERT INTO order_items VALUES (10, 4);",
    );
    grant_all(db);
}

/// Row counts of the shop's tables, `customers/orders/order_items`.
fn shop_counts(db: &TestDb) -> String {
    db.value(
        "SELECT (SELECT count(*) FROM customers) || '/' || (SELECT count(*) FROM orders) \
         || '/' || (SELECT count(*) FROM order_items)",
    )
    .unwrap_or_default()
}

/// A config whose environment `prod` points at `db`, with `extra` appended to it.
fn env_config(db: &TestDb, extra: &str) -> String {
    let c = cluster();
    format!(
        "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
         write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n{extra}",
        c.host(),
        c.port(),
        db.name
    )
}

// ---------------------------------------------------------------------------------------
// Every statement form, with exact values.
// ---------------------------------------------------------------------------------------

#[test]
fn update_shows_old_and_new_of_changed_columns_only() {
    let db = TestDb::new("pv_update");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = qty + 1 where id in (2, 3);\n")
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("UPDATE 2\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("UPDATE items: 2 rows updated (showing 2)\n"),
        "{out:?}"
    );
    // Keyed by id; qty changed; note did not, so it is not shown at all.
    assert_eq!(
        grid_after(&out.stdout, "UPDATE items:"),
        grid(&[&["id", "qty"], &["2", "20 → 21"], &["3", "30 → 31"]])
    );
    assert!(!out.stdout.contains("note"), "{out:?}");
    assert!(!out.stdout.contains("item 2"), "{out:?}");
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "2", "0"]
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    // No foreign key references items: no cascade line for an UPDATE of non-key columns.
    assert!(!out.stdout.contains("Foreign keys"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn update_of_two_columns_shows_unchanged_values_of_a_changed_column_plainly() {
    let db = TestDb::new("pv_update_two");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "update items set qty = qty * 2, note = case when id = 2 then 'two' else note end \
             where id in (2, 3);\n",
        )
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("UPDATE 2\n"), "{out:?}");
    assert_eq!(
        grid_after(&out.stdout, "UPDATE items:"),
        grid(&[
            &["id", "qty", "note"],
            &["2", "20 → 40", "item 2 → two"],
            &["3", "30 → 60", "item 3"],
        ])
    );
    assert_eq!(db.items(), before);
}

#[test]
fn insert_of_several_rows_shows_the_inserted_rows() {
    let db = TestDb::new("pv_insert");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("insert into items values (6, 60, 'six'), (7, 70, null);\n")
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("INSERT 0 2\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("INSERT items: 2 rows inserted (showing 2)\n"),
        "{out:?}"
    );
    assert_eq!(
        grid_after(&out.stdout, "INSERT items:"),
        grid(&[
            &["id", "qty", "note"],
            &["6", "60", "six"],
            &["7", "70", "NULL"],
        ])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "2", "0", "0"]
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn delete_shows_the_deleted_rows() {
    let db = TestDb::new("pv_delete");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("delete from items where id >= 4;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("DELETE 2\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("DELETE items: 2 rows deleted (showing 2)\n"),
        "{out:?}"
    );
    assert_eq!(
        grid_after(&out.stdout, "DELETE items:"),
        grid(&[
            &["id", "qty", "note"],
            &["4", "40", "item 4"],
            &["5", "50", "item 5"],
        ])
    );
    assert!(
        out.stdout.contains(
            "Foreign keys: deleting 2 rows of items changes no rows of other tables through foreign keys\n"
        ),
        "{out:?}"
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "0", "2"]
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn upsert_says_which_rows_were_inserted_and_which_updated() {
    let db = TestDb::new("pv_upsert");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "insert into items values (1, 11, 'one'), (8, 80, 'eight') \
             on conflict (id) do update set qty = excluded.qty;\n",
        )
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("INSERT 0 2\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("INSERT items: 1 row inserted, 1 row updated (showing 2)\n"),
        "{out:?}"
    );
    // Row 1 existed: updated, qty from the proposed row (its old value read before the
    // upsert), note kept. Row 8 is new.
    assert_eq!(
        grid_after(&out.stdout, "INSERT items:"),
        grid(&[
            &["action", "id", "qty", "note"],
            &["updated", "1", "10 → 11", "item 1"],
            &["inserted", "8", "80", "eight"],
        ])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "1", "1", "0"]
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn merge_shows_its_rows_and_exact_server_counts() {
    let db = TestDb::new("pv_merge");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "merge into items t using (values (1, 5), (2, 0), (9, 90)) s(id, q) on t.id = s.id \
             when matched and s.q = 0 then delete \
             when matched then update set qty = s.q \
             when not matched then insert values (s.id, s.q, 'merged');\n",
        )
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("MERGE 3\n"), "{out:?}");
    // Read around the MERGE (PostgreSQL 15 gives it no RETURNING): every row, with what
    // happened to it.
    assert!(
        out.stdout
            .contains("MERGE items: 1 row inserted, 1 row updated, 1 row deleted (showing 3)\n"),
        "{out:?}"
    );
    assert_eq!(
        grid_after(&out.stdout, "MERGE items:"),
        grid(&[
            &["action", "id", "qty", "note"],
            &["updated", "1", "10 → 5", "item 1"],
            &["inserted", "9", "90", "merged"],
            &["deleted", "2", "20", "item 2"],
        ])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "1", "1", "1"]
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn update_of_the_primary_key_shows_the_key_change() {
    let db = TestDb::new("pv_update_key");
    shop(&db);
    let before = shop_counts(&db);
    let out = TestShell::new(&db)
        .stdin("update customers set id = 5 where id = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("UPDATE 1\n"), "{out:?}");
    assert!(
        !out.stdout.contains("no column changed its value"),
        "the key did change: {out:?}"
    );
    assert!(out.stdout.contains("1 → 5"), "{out:?}");
    assert_eq!(shop_counts(&db), before);
}

// ---------------------------------------------------------------------------------------
// Foreign keys and triggers.
// ---------------------------------------------------------------------------------------

#[test]
fn cascade_through_two_levels_is_predicted_and_confirmed_by_the_server() {
    let db = TestDb::new("pv_cascade");
    shop(&db);
    let before = shop_counts(&db);
    assert_eq!(before, "2/4/10");
    let out = TestShell::new(&db)
        .stdin("delete from customers where id = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(out.stdout.starts_with("DELETE 1\n"), "{out:?}");
    assert_eq!(
        grid_after(&out.stdout, "DELETE customers: 1 row deleted (showing 1)"),
        grid(&[&["id", "name"], &["1", "ada"]])
    );
    assert!(
        out.stdout.contains(
            "Foreign keys: deleting 1 row of customers removes 3 rows of orders and removes 9 rows of order_items\n"
        ),
        "{out:?}"
    );
    // The server's counts equal the prediction, so no mismatch is flagged.
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["customers", "0", "0", "1"],
            &["order_items", "0", "0", "9"],
            &["orders", "0", "0", "3"],
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(shop_counts(&db), before);
}

#[test]
fn update_of_a_referenced_key_predicts_the_cascaded_updates() {
    let db = TestDb::new("pv_cascade_update");
    shop(&db);
    let before = shop_counts(&db);
    let out = TestShell::new(&db)
        .stdin("update customers set id = 5 where id = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(
        out.stdout.contains(
            "Foreign keys: updating 1 row of customers changes customer_id in 3 rows of orders\n"
        ),
        "{out:?}"
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["customers", "0", "1", "0"],
            &["orders", "0", "3", "0"],
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(shop_counts(&db), before);
    assert_eq!(
        db.value("SELECT string_agg(customer_id::text, ',' ORDER BY id) FROM orders")
            .as_deref(),
        Some("1,1,1,2")
    );
}

#[test]
fn a_trigger_doing_more_than_the_foreign_keys_is_flagged() {
    let db = TestDb::new("pv_cascade_more");
    shop(&db);
    // Deleting any order also deletes order item 10 (of customer 2's order).
    db.exec(
        "CREATE FUNCTION also_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \
         $$ BEGIN DELETE FROM order_items WHERE id = 10; RETURN OLD; END $$; \
         CREATE TRIGGER orders_also AFTER DELETE ON orders FOR EACH ROW EXECUTE FUNCTION also_delete();",
    );
    let before = shop_counts(&db);
    let out = TestShell::new(&db)
        .stdin("delete from customers where id = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(
        out.stdout.contains(
            "Foreign keys: deleting 1 row of customers removes 3 rows of orders and removes 9 rows of order_items\n"
        ),
        "{out:?}"
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["customers", "0", "0", "1"],
            &["order_items", "0", "0", "10"],
            &["orders", "0", "0", "3"],
        ])
    );
    assert!(
        out.stdout.contains(
            "WARNING: foreign keys explain 9 deletes in order_items, but the server counted 10: triggers on orders did more\n"
        ),
        "{out:?}"
    );
    assert_eq!(shop_counts(&db), before);
}

#[test]
fn a_trigger_writing_to_another_table_shows_in_the_counts() {
    let db = TestDb::new("pv_trigger");
    db.exec(
        "CREATE TABLE audit (id serial PRIMARY KEY, item_id int, old_qty int, new_qty int); \
         CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \
         $$ BEGIN INSERT INTO audit (item_id, old_qty, new_qty) VALUES (OLD.id, OLD.qty, NEW.qty); \
         RETURN NEW; END $$; \
         CREATE TRIGGER items_audit AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION audit_items();",
    );
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = qty + 1 where id in (2, 3);\n")
        .run();
    assert_unconfirmed(&out);
    assert_eq!(
        grid_after(&out.stdout, "UPDATE items: 2 rows updated (showing 2)"),
        grid(&[&["id", "qty"], &["2", "20 → 21"], &["3", "30 → 31"]])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["audit", "2", "0", "0"],
            &["items", "0", "2", "0"],
        ])
    );
    // A trigger writing elsewhere is no mismatch for the capture of items.
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(db.items(), before);
    assert_eq!(db.value("SELECT count(*) FROM audit").as_deref(), Some("0"));
}

#[test]
fn a_trigger_changing_more_rows_of_the_same_table_is_flagged() {
    let db = TestDb::new("pv_trigger_same");
    db.exec(
        "CREATE FUNCTION touch_five() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \
         $$ BEGIN IF pg_trigger_depth() = 1 THEN UPDATE items SET note = 'touched' WHERE id = 5; \
         END IF; RETURN NEW; END $$; \
         CREATE TRIGGER items_touch AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch_five();",
    );
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = 1 where id = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert_eq!(
        grid_after(&out.stdout, "UPDATE items: 1 row updated (showing 1)"),
        grid(&[&["id", "qty"], &["1", "10 → 1"]])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "2", "0"],
        ])
    );
    assert!(
        out.stdout.contains(
            "WARNING: the capture saw 1 rows of items but the server counted 2: a trigger or rule changed rows of the same table\n"
        ),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
}

// ---------------------------------------------------------------------------------------
// Savepoints, volatile conditions, keys.
// ---------------------------------------------------------------------------------------

#[test]
fn counts_after_a_savepoint_rollback_stay_exact() {
    let db = TestDb::new("pv_savepoint");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin(
            "begin;\nupdate items set qty = 1 where id = 1;\nsavepoint s;\n\
             delete from items where id = 2;\nrollback to s;\n\
             update items set qty = 2 where id = 3;\ncommit;\n",
        )
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("COMMIT not confirmed"), "{out:?}");
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    let (earlier, later) = out.stdout.split_at(
        out.stdout
            .find("ROLLBACK\n")
            .unwrap_or_else(|| panic!("no ROLLBACK tag: {out:?}")),
    );
    assert_eq!(
        grid_after(earlier, "DELETE items: 1 row deleted (showing 1)"),
        grid(&[&["id", "qty", "note"], &["2", "20", "item 2"]])
    );
    // ROLLBACK TO is not reported as a statement that changed rows.
    assert!(!later.contains("not classified as a write"), "{out:?}");
    assert_eq!(
        grid_after(later, "UPDATE items: 1 row updated (showing 1)"),
        grid(&[&["id", "qty"], &["3", "30 → 2"]])
    );
    assert_eq!(
        counts(later),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "1", "0"],
        ])
    );
    // The server still counts the undone DELETE; pgward measured it at the rollback
    // and left it out, so the summary's totals are the transaction's real change.
    let summary = from(&out.stderr, "Change set of transaction");
    assert!(!summary.contains("upper bound"), "{out:?}");
    assert_eq!(
        grid_after(summary, "Rows changed, per table"),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "2", "0"],
        ])
    );
    digest(&out);
    assert_eq!(db.items(), before);
}

#[test]
fn volatile_where_captures_exactly_the_rows_the_server_changed() {
    let db = TestDb::new("pv_volatile");
    db.exec(
        "CREATE TABLE items2 (id int PRIMARY KEY, v int NOT NULL); \
         INSERT INTO items2 SELECT g, 0 FROM generate_series(1, 200) g;",
    );
    grant_all(&db);
    let out = TestShell::new(&db)
        .stdin("update items2 set v = 1 where random() < 0.5;\n")
        .run();
    assert_unconfirmed(&out);
    let tag = number_after(&out.stdout, "UPDATE");
    assert!(tag > 0 && tag < 200, "{out:?}");
    let announced = number_after(&out.stdout, "UPDATE items2:");
    assert_eq!(announced, tag, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "UPDATE items2: {tag} rows updated (showing {})\n",
            tag.min(20)
        )),
        "{out:?}"
    );
    // The rows drawn are rows that changed, each 0 → 1.
    let drawn = grid_after(&out.stdout, "UPDATE items2:");
    assert_eq!(drawn[0], vec!["id", "v"]);
    assert_eq!(drawn.len() as u64 - 1, tag.min(20), "{out:?}");
    assert!(drawn[1..].iter().all(|r| r[1] == "0 → 1"), "{out:?}");
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items2", "0", &tag.to_string(), "0"],
        ])
    );
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert_eq!(
        db.value("SELECT count(*) FROM items2 WHERE v <> 0")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn table_without_a_primary_key_is_keyed_by_ctid_with_a_warning() {
    let db = TestDb::new("pv_nopk");
    db.exec(
        "CREATE TABLE nopk (a int, b text); INSERT INTO nopk VALUES (1, 'x'), (2, 'y'); \
         CREATE TABLE uq (code text NOT NULL UNIQUE, v int); INSERT INTO uq VALUES ('a', 1), ('b', 2);",
    );
    grant_all(&db);
    let out = TestShell::new(&db)
        .stdin("update nopk set b = 'z' where a = 1;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(
        out.stdout.contains(
            "warning: nopk has no primary key or unique not-null key; rows are keyed by ctid\n"
        ),
        "{out:?}"
    );
    let drawn = grid_after(&out.stdout, "UPDATE nopk: 1 row updated (showing 1)");
    assert_eq!(drawn[0], vec!["ctid", "b"], "{out:?}");
    assert_eq!(drawn.len(), 2, "{out:?}");
    assert!(
        drawn[1][0].starts_with('(') && drawn[1][0].ends_with(')'),
        "{out:?}"
    );
    assert_eq!(drawn[1][1], "x → z");
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["nopk", "0", "1", "0"],
        ])
    );

    // A unique not-null key is used instead of ctid, without a warning.
    let out = TestShell::new(&db)
        .stdin("update uq set v = 9 where code = 'a';\n")
        .run();
    assert_unconfirmed(&out);
    assert!(!out.stdout.contains("ctid"), "{out:?}");
    assert_eq!(
        grid_after(&out.stdout, "UPDATE uq: 1 row updated (showing 1)"),
        grid(&[&["code", "v"], &["a", "1 → 9"]])
    );
    assert_eq!(
        db.value("SELECT string_agg(a || b, ',' ORDER BY a) FROM nopk")
            .as_deref(),
        Some("1x,2y")
    );
    assert_eq!(
        db.value("SELECT string_agg(code || v, ',' ORDER BY code) FROM uq")
            .as_deref(),
        Some("a1,b2")
    );
}

// ---------------------------------------------------------------------------------------
// Thresholds.
// ---------------------------------------------------------------------------------------

#[test]
fn writes_over_a_threshold_are_refused_without_a_terminal() {
    let db = TestDb::new("pv_refuse");
    let before = db.items();
    for sql in [
        "update items set qty = 0;",
        "delete from items;",
        "delete from items where 1=1;",
        "update items set qty = 0 where true;",
        "delete from items where id = id;",
    ] {
        let out = TestShell::new(&db).stdin(&format!("{sql}\n")).run();
        assert_refused(&out);
        // The preview is shown before the question.
        assert!(out.stdout.contains("5 rows"), "{sql}: {out:?}");
        assert_eq!(db.items(), before, "{sql}");
    }
    // Refused inside an explicit transaction: everything before it is rolled back too.
    let out = TestShell::new(&db)
        .stdin("begin;\ninsert into items values (6, 60, 'six');\nupdate items set qty = 0;\n")
        .run();
    assert_refused(&out);
    assert_eq!(db.items(), before);
    // A narrow WHERE is not refused: --dry-run reaches COMMIT and exits 0.
    let out = TestShell::new(&db)
        .args([
            "--dry-run",
            "-c",
            "delete from items where id = 1",
            "-c",
            "commit",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn truncate_is_refused_without_a_terminal() {
    let db = TestDb::new("pv_truncate");
    db.exec(&format!("GRANT TRUNCATE ON items TO {WRITER}"));
    let before = db.items();
    let out = TestShell::new(&db).stdin("truncate items;\n").run();
    assert_refused(&out);
    assert!(out.stdout.starts_with("TRUNCATE TABLE\n"), "{out:?}");
    assert!(
        out.stdout.contains(
            "TRUNCATE items: removes all 5 rows it held (TRUNCATE shows in no row counter)\n"
        ),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
}

#[test]
fn more_than_max_rows_is_refused_and_max_rows_itself_is_not() {
    let db = TestDb::new("pv_limit");
    let before = db.items();
    let run = |args: &[&str]| {
        let shell = TestShell::bare();
        write_config(shell.home(), &env_config(&db, "max_rows = 3\n"));
        shell
            .args(["--env", "prod", "--dry-run"])
            .args(args)
            .env("PGPASSWORD", PASSWORD)
            .run()
    };
    let out = run(&[
        "-c",
        "update items set qty = qty + 1 where id <= 4",
        "-c",
        "commit",
    ]);
    assert_refused(&out);
    assert!(out.stdout.starts_with("UPDATE 4\n"), "{out:?}");
    assert!(out.stderr.contains("max_rows (3)"), "{out:?}");
    assert_eq!(db.items(), before);

    let out = run(&[
        "-c",
        "update items set qty = qty + 1 where id <= 3",
        "-c",
        "commit",
    ]);
    assert_eq!(out.code, 0, "exactly max_rows is allowed: {out:?}");
    assert!(out.stdout.starts_with("UPDATE 3\n"), "{out:?}");
    assert!(!out.stderr.contains("max_rows"), "{out:?}");
    assert_eq!(db.items(), before);
}

// ---------------------------------------------------------------------------------------
// DDL.
// ---------------------------------------------------------------------------------------

#[test]
fn ddl_shows_its_lock_and_whether_it_rewrites() {
    let db = TestDb::new("pv_ddl");
    db.exec(&format!(
        "CREATE TABLE owned (id int PRIMARY KEY, qty int NOT NULL); \
         INSERT INTO owned SELECT g, g FROM generate_series(1, 5) g; \
         ALTER TABLE owned OWNER TO {WRITER};"
    ));
    let out = TestShell::new(&db)
        .stdin("alter table owned add column extra int;\n")
        .run();
    assert_unconfirmed(&out);
    assert_eq!(
        out.stdout, "ALTER TABLE\nDDL: takes ACCESS EXCLUSIVE on owned\nDDL: rewrites no table\n",
        "{out:?}"
    );

    let out = TestShell::new(&db)
        .stdin("alter table owned alter column qty type bigint;\n")
        .run();
    assert_unconfirmed(&out);
    assert_eq!(
        out.stdout, "ALTER TABLE\nDDL: takes ACCESS EXCLUSIVE on owned\nDDL: rewrites owned\n",
        "{out:?}"
    );
    let columns =
        "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) \
                   FROM information_schema.columns WHERE table_name = 'owned'";
    assert_eq!(db.value(columns).as_deref(), Some("id integer,qty integer"));
}

// ---------------------------------------------------------------------------------------
// The COMMIT summary and dry runs.
// ---------------------------------------------------------------------------------------

#[test]
fn commit_summary_lists_statements_totals_and_a_digest() {
    let db = TestDb::new("pv_summary");
    let before = db.items();
    let script = "update items set qty = qty + 1 where id in (2, 3);\n\
                  insert into items values (6, 60, 'six');\n\
                  commit;\n";
    let out = TestShell::new(&db).stdin(script).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("COMMIT not confirmed"), "{out:?}");
    let summary = from(&out.stderr, "Change set of transaction ");
    let txid: String = summary["Change set of transaction ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert!(!txid.is_empty(), "{out:?}");
    assert!(
        summary.contains(&format!(
            "Change set of transaction {txid} in environment \"{0}\" (database {0}, role {WRITER}):\n",
            db.name
        )),
        "{out:?}"
    );
    assert!(
        summary.contains(
            "Statements, as typed:\n  1. update items set qty = qty + 1 where id in (2, 3)\n  \
             2. insert into items values (6, 60, 'six')\n"
        ),
        "{out:?}"
    );
    assert!(!summary.contains("upper bound"), "{out:?}");
    assert_eq!(
        grid_after(summary, "Rows changed, per table (from the server):"),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "1", "2", "0"],
        ])
    );
    let first = digest(&out);
    assert_eq!(db.items(), before);

    // The same session again: the digest binds the transaction id, so it is only checked
    // for its form.
    let again = TestShell::new(&db).stdin(script).run();
    assert_eq!(again.code, 2, "{again:?}");
    let second = digest(&again);
    assert_eq!(first.len(), second.len());
    assert_eq!(db.items(), before);
}

#[test]
fn dry_run_shows_the_preview_and_commits_nothing() {
    let db = TestDb::new("pv_dry_run");
    let before = db.items();
    let out = TestShell::new(&db)
        .args([
            "--dry-run",
            "-c",
            "update items set qty = 1 where id = 1",
            "-c",
            "commit",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("UPDATE 1\n"), "{out:?}");
    assert_eq!(
        grid_after(&out.stdout, "UPDATE items: 1 row updated (showing 1)"),
        grid(&[&["id", "qty"], &["1", "10 → 1"]])
    );
    assert_eq!(
        counts(&out.stdout),
        grid(&[
            &["table", "inserted", "updated", "deleted"],
            &["items", "0", "1", "0"],
        ])
    );
    assert!(out.stderr.contains("Change set of transaction"), "{out:?}");
    digest(&out);
    assert!(
        out.stderr
            .contains("dry run: the transaction was rolled back, nothing was committed"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("COMMIT"), "{out:?}");
    assert_eq!(db.items(), before);

    // Piped input too.
    let out = TestShell::new(&db)
        .args(["--dry-run"])
        .stdin("delete from items where id = 2;\ncommit;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        grid_after(&out.stdout, "DELETE items: 1 row deleted (showing 1)"),
        grid(&[&["id", "qty", "note"], &["2", "20", "item 2"]])
    );
    assert!(out.stderr.contains("dry run"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn update_preview_snapshot_plain() {
    let db = TestDb::new("pv_snapshot");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = qty * 3, note = upper(note) where id between 2 and 4;\n")
        .run();
    assert_unconfirmed(&out);
    assert!(!out.stdout.contains('\x1b'), "NO_COLOR: {out:?}");
    insta::assert_snapshot!(out.stdout);
    assert_eq!(db.items(), before);
}

// ---------------------------------------------------------------------------------------
// On a terminal: confirming a threshold, and \preview.
// ---------------------------------------------------------------------------------------

#[test]
fn typing_the_exact_count_keeps_the_change_and_commit_then_commits_it() {
    let db = TestDb::new("pv_confirm_count");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    t.line("update items set qty = 0 where 1=1;");
    let shown = t.expect(
        "Type the exact number of rows (5: 5 rows of items updated by the statement) to keep this change; anything else rolls back the transaction: ",
    );
    t.ensure(
        shown.contains("UPDATE items: 5 rows updated (showing 5)") && shown.contains("50 → 0"),
        "the preview comes before the question",
    );
    t.line("5");
    t.prompt(WRITER, "=*>");
    let now = db.items();
    t.ensure(
        now.starts_with("1:10:item 1"),
        &format!("nothing committed yet: {now}"),
    );

    t.line("commit;");
    t.expect("Change digest: ");
    let env = db.name.clone();
    t.expect(&format!(
        "Type the environment name ({env}) to COMMIT, anything else keeps the transaction open: "
    ));
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits",
    );
    let after = db.items();
    t.ensure(
        after == "1:0:item 1,2:0:item 2,3:0:item 3,4:0:item 4,5:0:item 5",
        &format!("the confirmed update was committed: {after}"),
    );
    t.quit();
}

#[test]
fn typing_a_wrong_count_rolls_back() {
    let db = TestDb::new("pv_confirm_wrong");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    // The write opened the transaction itself: declining ends it. (Inside a transaction
    // opened before, only the statement is undone: tests/integration/undo.rs.)
    t.line("delete from items;");
    t.expect(
        "Type the exact number of rows (5: 5 rows of items deleted by the statement) to keep this change; anything else rolls back the transaction: ",
    );
    t.line("4");
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.contains("refused") && answer.contains("nothing was committed"),
        "a wrong count is refused",
    );
    let now = db.items();
    t.ensure(now == before, &format!("nothing changed: {now}"));
    t.quit();
    assert_eq!(db.items(), before);
}

#[test]
fn preview_meta_command_shows_the_write_and_undoes_it() {
    let db = TestDb::new("pv_meta_preview");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    // Inside an open transaction: undone, the transaction stays as it was.
    t.line("begin;");
    t.prompt(WRITER, "=*>");
    t.line("update items set qty = 1 where id = 1;");
    t.prompt(WRITER, "=*>");
    t.line("\\preview delete from items where id = 5");
    let shown = t.prompt(WRITER, "=*>");
    t.ensure(
        shown.contains("DELETE items: 1 row deleted (showing 1)"),
        "the deleted row is announced",
    );
    let rows = grid_after(&shown, "DELETE items: 1 row deleted (showing 1)");
    t.ensure(
        rows == grid(&[&["id", "qty", "note"], &["5", "50", "item 5"]]),
        &format!("the deleted row is shown: {rows:?}"),
    );
    t.ensure(shown.contains("preview: undone"), "it says it was undone");
    t.line("select count(*) from items;");
    let answer = t.prompt(WRITER, "=*>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "5"),
        "the deleted row is back",
    );
    t.line("select qty from items where id = 1;");
    let answer = t.prompt(WRITER, "=*>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "1"),
        "the earlier update is still there",
    );
    t.line("rollback;");
    t.prompt(READER, "=>");

    // With no transaction open: the transaction it opened is rolled back.
    t.line("\\preview update items set qty = 7 where id = 2");
    let shown = t.prompt(READER, "=>");
    t.ensure(shown.contains("20 → 7"), "the change is shown");
    t.ensure(
        shown.contains("preview: rolled back, nothing was changed"),
        "it says it was rolled back",
    );
    t.quit();
    assert_eq!(db.items(), before);
}

// ---------------------------------------------------------------------------------------
// Schema changes hidden in DO blocks and procedures.
// ---------------------------------------------------------------------------------------

#[test]
fn a_do_block_that_truncates_a_table_is_reported() {
    let db = TestDb::new("pv_do_truncate");
    db.exec(&format!(
        "GRANT TRUNCATE ON items TO {WRITER}; \
         CREATE FUNCTION hidden_truncate() RETURNS void LANGUAGE plpgsql AS \
         $f$ begin truncate items; end $f$"
    ));
    let before = db.items();
    // Dynamic SQL that hides the TRUNCATE from the classifier is refused outright.
    let out = TestShell::new(&db)
        .stdin("do $$ begin execute 'trunc' || 'ate items'; end $$;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("EXECUTE of a computed string"),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
    // A function the classifier cannot see into: the preview still reports the TRUNCATE.
    let out = TestShell::new(&db)
        .stdin("do $$ begin update items set qty = qty where id = 1; perform hidden_truncate(); end $$;\n")
        .run();
    // Refused or unconfirmed: either way nothing is committed.
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nothing was committed"), "{out:?}");
    assert!(out.stdout.starts_with("DO\n"), "{out:?}");
    assert!(
        out.stdout.contains(
            "statement: rewrites or truncates: items (a TRUNCATE shows in no row counter)\n"
        ),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
}

#[test]
fn a_leading_with_does_not_hide_a_delete_without_where() {
    let db = TestDb::new("pv_with_delete");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("with x as (select 1) delete from items;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    // Captured like a plain DELETE: the deleted rows are shown.
    assert!(
        out.stdout.contains("DELETE items: 5 rows deleted"),
        "{out:?}"
    );
    assert!(out.stderr.contains("no WHERE clause"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn a_trigger_that_truncates_another_table_must_be_confirmed() {
    let db = TestDb::new("pv_trigger_truncate");
    db.exec(&format!(
        "CREATE TABLE victims (id int PRIMARY KEY); INSERT INTO victims SELECT generate_series(1, 3); \
         CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \
         $$ BEGIN TRUNCATE victims; RETURN NEW; END $$; \
         CREATE TRIGGER wipe AFTER UPDATE ON items FOR EACH ROW EXECUTE FUNCTION wipe(); \
         GRANT SELECT ON victims TO {WRITER}, {READER};"
    ));
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("update items set qty = 1 where id = 1;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.contains("rewrites or truncates: victims"),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
    assert_eq!(
        db.value("select count(*) from victims").as_deref(),
        Some("3")
    );
}

#[test]
fn savepoint_names_of_pgward_are_reserved() {
    let db = TestDb::new("pv_reserved_savepoint");
    let out = TestShell::new(&db)
        .stdin("begin;\nsavepoint pgward_read;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("pgward_"), "{out:?}");
}

#[test]
fn a_catalog_change_inside_a_do_block_must_be_confirmed() {
    // A large object lives in the system catalogs: no user table's counter shows it.
    let db = TestDb::new("pv_catalog_change");
    let before = db.value("select count(*) from pg_largeobject_metadata");
    let out = TestShell::new(&db)
        .stdin("do $$ begin perform lo_create(0); end $$;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.contains("changes the system catalogs"),
        "{out:?}"
    );
    assert_eq!(
        db.value("select count(*) from pg_largeobject_metadata"),
        before
    );
}

#[test]
fn schema_changes_are_listed_in_the_change_set() {
    let db = TestDb::new("pv_schema_in_summary");
    db.exec(&format!(
        "CREATE TABLE owned (id int PRIMARY KEY, v int); ALTER TABLE owned OWNER TO {WRITER};"
    ));
    let out = TestShell::new(&db)
        .args(["--dry-run"])
        .stdin("alter table owned add column extra int;\ncommit;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("Schema and storage changes:"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("statement 1: takes ACCESS EXCLUSIVE on owned"),
        "{out:?}"
    );
    assert_eq!(
        db.value("select count(*) from information_schema.columns where table_name = 'owned'")
            .as_deref(),
        Some("2")
    );
}

/// A DELETE or UPDATE without WHERE inside WITH is asked about as a bare one is: the
/// guard thresholds look at every part, not only the main statement.
#[test]
fn a_delete_without_where_inside_with_is_asked_about() {
    let db = TestDb::new("pv_cte_delete_all");
    db.exec(&format!(
        "CREATE TABLE archive (LIKE items); GRANT SELECT, INSERT ON archive TO {WRITER}, {READER};"
    ));
    let before = db.items();
    for statement in [
        "with d as (delete from items returning *) insert into archive select * from d;\n",
        "with u as (update items set qty = 0 returning id) select count(*) from u;\n",
    ] {
        let out = TestShell::new(&db).stdin(statement).run();
        assert_eq!(out.code, 2, "{out:?}");
        assert!(
            out.stderr.contains("no WHERE clause (") && out.stderr.contains("items inside WITH)"),
            "{out:?}"
        );
        assert_eq!(db.items(), before);
        assert_eq!(
            db.value("select count(*) from archive").as_deref(),
            Some("0")
        );
    }
    // With a WHERE it runs without the question.
    let out = TestShell::new(&db)
        .stdin("with d as (delete from items where id = 1 returning *) insert into archive select * from d;\n")
        .run();
    assert!(!out.stderr.contains("no WHERE clause"), "{out:?}");
}

/// An UPDATE or DELETE sqlparser cannot read (`SET a[2] = …`) is judged from
/// PostgreSQL's parser: without WHERE, or with one that is always true, it is asked
/// about as a readable one is; with a real condition it runs, and its counts are not
/// blamed on an exception block it does not have.
#[test]
fn a_change_sqlparser_cannot_read_is_still_asked_about_without_where() {
    let db = TestDb::new("pv_pg_where");
    db.exec(&format!(
        "CREATE TABLE arr (id int PRIMARY KEY, a int[]); \
         INSERT INTO arr SELECT g, ARRAY[g, g, g] FROM generate_series(1, 4) g; \
         GRANT SELECT, UPDATE, DELETE ON arr TO {WRITER}; GRANT SELECT ON arr TO {READER};"
    ));
    let table = || db.value("select string_agg(id || ':' || a::text, ' ' order by id) from arr");
    let before = table();
    for statement in [
        "update arr set a[2] = 0;\n",
        "update arr set a[2] = 0 where 1 = 1;\n",
        "update arr set a[2:3] = '{0,0}' where true;\n",
    ] {
        let out = TestShell::new(&db).stdin(statement).run();
        assert_eq!(out.code, 2, "{statement}: {out:?}");
        assert!(
            out.stderr.contains("no WHERE clause") || out.stderr.contains("always true"),
            "{statement}: {out:?}"
        );
        assert_eq!(table(), before, "{statement}");
    }
    let out = TestShell::new(&db)
        .args(["--dry-run"])
        .stdin("update arr set a[2] = 0 where id = 3;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("WHERE clause"), "{out:?}");
    assert!(!out.stdout.contains("exception block"), "{out:?}");
    assert!(!out.stderr.contains("exception block"), "{out:?}");
    assert_eq!(table(), before);
    // A function it calls that undoes work in an EXCEPTION block is read, and the
    // counts are upper bounds because of it.
    db.exec(&format!(
        "CREATE TABLE audit (n int); GRANT INSERT ON audit TO {WRITER}; \
         CREATE FUNCTION undoing() RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN BEGIN INSERT INTO audit VALUES (1); RAISE EXCEPTION 'undo'; \
         EXCEPTION WHEN others THEN NULL; END; RETURN 0; END $$; \
         GRANT EXECUTE ON FUNCTION undoing() TO {WRITER};"
    ));
    let out = TestShell::new(&db)
        .args(["--dry-run"])
        .stdin("update arr set a[2] = undoing() where id = 1;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("upper bounds") && out.stdout.contains("has an EXCEPTION block"),
        "{out:?}"
    );
    assert_eq!(table(), before);
    assert_eq!(db.value("select count(*) from audit").as_deref(), Some("0"));
}
