//! Capture coverage (issue 12, item 10): the writes PostgreSQL 15 lets pgward capture
//! exactly beyond plain INSERT, UPDATE and DELETE (the old values of ON CONFLICT DO
//! UPDATE, MERGE, `UPDATE … RETURNING *`), and one that must stay counts only, with
//! its reason.
//!
//! Each test is built like those of `preview_truth`: the truth is computed by the
//! server, as the write role, in a transaction that is rolled back (a snapshot of the
//! table before, the table after, joined by key: every changed row's before and after
//! image), and compared with what pgward shows (the diff grid, one row per changed
//! row with `old → new`) and with what its change digest binds (the totals and the net
//! change of the COMMIT summary, computed from the images). The data is then checked as
//! superuser to be unchanged (`--dry-run` keeps nothing).

use std::process::Command;

use crate::util::{
    admin_rows, cluster, isolate, write_config, Output, TestDb, TestShell, LOGIN, PASSWORD, READER,
    WRITER,
};

/// A config whose environment `prod` points at `db`.
fn env_config(db: &TestDb) -> String {
    let c = cluster();
    format!(
        "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
         write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n",
        c.host(),
        c.port(),
        db.name
    )
}

/// `pgward --dry-run` on `db` with `statements` each as `-c`, then `-c commit`.
fn dry_run(db: &TestDb, statements: &[&str]) -> Output {
    let mut shell = TestShell::bare();
    write_config(shell.home(), &env_config(db));
    shell = shell
        .args(["--env", "prod", "--dry-run"])
        .env("PGPASSWORD", PASSWORD);
    for s in statements {
        shell = shell.args(["-c", s]);
    }
    shell.args(["-c", "commit"]).run()
}

/// One changed row as the truth sees it: `(key, before, after)`, each image
/// `ROW(t.*)::text` or `-` when the row did not exist.
type Change = (String, String, String);

/// The truth: `statements` run as the write role in a transaction that is rolled
/// back; the rows of `table` (keyed by its column `key`) that differ between before
/// and after, by key.
fn truth(db: &TestDb, statements: &[&str], table: &str, key: &str) -> Vec<Change> {
    let mut sql = format!(
        "BEGIN; CREATE TEMP TABLE pgward_start AS TABLE {table}; SET LOCAL ROLE {WRITER}; "
    );
    for s in statements {
        sql.push_str(&format!("{s}; "));
    }
    sql.push_str(&format!(
        "RESET ROLE; SELECT 'truth', coalesce(s.{key}, n.{key})::text, \
         CASE WHEN s.{key} IS NULL THEN '-' ELSE ROW(s.*)::text END, \
         CASE WHEN n.{key} IS NULL THEN '-' ELSE ROW(n.*)::text END \
         FROM pgward_start s FULL JOIN {table} n ON s.{key} = n.{key} \
         WHERE ROW(s.*)::text IS DISTINCT FROM ROW(n.*)::text ORDER BY 2; ROLLBACK;"
    ));
    let rows = admin_rows(cluster(), &db.name, &sql);
    rows.into_iter()
        .filter(|r| r.len() == 4 && r[0].as_deref() == Some("truth"))
        .map(|r| {
            let v = |i: usize| r[i].clone().expect("text");
            (v(1), v(2), v(3))
        })
        .collect()
}

/// Asserts the dry run ended well and printed a change digest.
#[track_caller]
fn assert_summary(out: &Output) {
    assert_eq!(out.code, 0, "{out:?}");
    let digest = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Change digest: "))
        .unwrap_or_else(|| panic!("no change digest: {out:?}"));
    assert_eq!(digest.len(), 64, "{out:?}");
}

/// The psql-like grid (header and rows, cells trimmed) after the first line starting
/// with `heading`.
fn grid_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with(heading)) else {
        panic!("no line starting with {heading:?} in:\n{text}");
    };
    let rule = (start + 1..lines.len())
        .find(|&i| lines[i].starts_with("---"))
        .unwrap_or_else(|| panic!("no grid after {heading:?} in:\n{text}"));
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

/// Per-table counts as shown: `(table, [inserted, updated, deleted])`.
type Counts = Vec<(String, [i64; 3])>;

/// The rows of the counts grid that follows the first line starting with `heading`.
fn counts_after(text: &str, heading: &str) -> Counts {
    grid_after(text, heading)
        .into_iter()
        .skip(1)
        .map(|cells| {
            let n = |i: usize| cells[i].parse::<i64>().expect("a count");
            (cells[0].clone(), [n(1), n(2), n(3)])
        })
        .collect()
}

/// Every result table in `text`, in order: from its header line to its `(N rows)`
/// footer.
fn result_tables(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let footer = |l: &str| {
        l.strip_prefix('(')
            .and_then(|l| l.strip_suffix(" rows)").or_else(|| l.strip_suffix(" row)")))
            .is_some_and(|n| n.parse::<u64>().is_ok())
    };
    let mut tables = Vec::new();
    for end in (0..lines.len()).filter(|&i| footer(lines[i])) {
        let rule = (0..end)
            .rev()
            .find(|&i| lines[i].starts_with("---"))
            .unwrap_or_else(|| panic!("no header before the footer in:\n{text}"));
        tables.push(lines[rule - 1..=end].join("\n"));
    }
    tables
}

/// psql's output for `statements` run as the write role in one transaction, rolled
/// back.
fn psql_as_writer(db: &TestDb, statements: &[&str]) -> String {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-q",
        "-P",
        "pager=off",
        "-d",
        &cluster().conninfo(&db.name),
    ]);
    isolate(&mut cmd, home.path());
    let sql = format!(
        "BEGIN; SET LOCAL ROLE {WRITER}; {}; ROLLBACK;",
        statements.join("; ")
    );
    let out = cmd.args(["-c", &sql]).output().expect("psql is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// UPDATE … RETURNING *
// ---------------------------------------------------------------------------------------

#[test]
fn update_returning_star_shows_psqls_result_and_the_diff() {
    let db = TestDb::new("pc_returning");
    db.exec(&format!(
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric NOT NULL); \
         INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20.50), (3, NULL, 30); \
         CREATE TABLE bonus (id int, amount numeric); INSERT INTO bonus VALUES (2, 1), (3, 2.25); \
         GRANT SELECT, UPDATE ON accounts TO {WRITER}; GRANT SELECT ON bonus TO {WRITER};"
    ));
    let statements = [
        "UPDATE accounts SET balance = balance * 2 WHERE id >= 2 RETURNING *",
        "UPDATE accounts a SET owner = 'zed' FROM bonus b WHERE b.id = a.id AND b.amount > 1 RETURNING *",
    ];
    let changes = truth(&db, &statements, "accounts", "id");
    assert_eq!(
        changes,
        [
            ("2".into(), "(2,bob,20.50)".into(), "(2,bob,41.00)".into()),
            ("3".into(), "(3,,30)".into(), "(3,zed,60)".into()),
        ],
        "the truth"
    );
    let out = dry_run(&db, &statements);
    assert_summary(&out);
    // The user's results are psql's, column for column and row for row.
    let psql = result_tables(&psql_as_writer(&db, &statements));
    assert_eq!(psql.len(), 2, "{psql:?}");
    assert_eq!(result_tables(&out.stdout), psql, "{out:?}");
    let second = out.stdout.find("\nUPDATE 1\n").expect("the second tag") + 1;
    let (first, rest) = out.stdout.split_at(second);
    // And the rows are captured: every changed row's before and after.
    assert_eq!(
        grid_after(first, "UPDATE accounts: 2 rows updated"),
        [
            vec!["id", "balance"],
            vec!["2", "20.50 → 41.00"],
            vec!["3", "30 → 60"]
        ]
    );
    assert_eq!(
        grid_after(rest, "UPDATE accounts: 1 row updated"),
        [vec!["id", "owner"], vec!["3", "NULL → zed"]]
    );
    assert!(!out.stdout.contains("counts only"), "{out:?}");
    assert_eq!(
        counts_after(&out.stderr, "Net change, per table"),
        [("accounts".to_string(), [0, 2, 0])]
    );
    assert_eq!(
        db.value("SELECT string_agg(balance::text, ',' ORDER BY id) FROM accounts")
            .as_deref(),
        Some("10,20.50,30")
    );
}

// ---------------------------------------------------------------------------------------
// INSERT … ON CONFLICT DO UPDATE: the old values of the updated rows
// ---------------------------------------------------------------------------------------

/// What the diff grid of an upsert or a MERGE shows for the truth's changes: per row
/// its action, key and each value column, `old → new` where it changed.
fn expected_grid(header: &[&str], changes: &[Change]) -> Vec<Vec<String>> {
    let fields = |image: &str| -> Vec<String> {
        image
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|v| {
                if v.is_empty() {
                    "NULL".to_string()
                } else {
                    v.trim_matches('"').to_string()
                }
            })
            .collect()
    };
    let mut out = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for (_, before, after) in changes {
        let (action, old, new) = match (before.as_str(), after.as_str()) {
            ("-", a) => ("inserted", None, fields(a)),
            (b, "-") => ("deleted", None, fields(b)),
            (b, a) => ("updated", Some(fields(b)), fields(a)),
        };
        let mut row = vec![action.to_string()];
        for (i, value) in new.iter().enumerate() {
            match &old {
                Some(old) if old[i] != *value => row.push(format!("{} → {value}", old[i])),
                _ => row.push(value.clone()),
            }
        }
        out.push(row);
    }
    out
}

#[test]
fn upsert_shows_the_old_values_of_the_rows_it_updates() {
    let db = TestDb::new("pc_upsert");
    db.exec(&format!(
        "CREATE TABLE stock (id int PRIMARY KEY, sku text NOT NULL UNIQUE, qty int NOT NULL, note text); \
         INSERT INTO stock VALUES (1, 'A', 5, NULL), (2, 'B', 6, 'keep'), (3, 'C', 7, NULL); \
         GRANT SELECT, INSERT, UPDATE ON stock TO {WRITER};"
    ));
    // Two rows conflict on the unique sku (one through the named constraint), two are
    // new; the DO UPDATE WHERE skips C, which stays unchanged.
    let statements = [
        "INSERT INTO stock AS s VALUES (11, 'A', 10, 'x'), (4, 'D', 1, NULL), (13, 'C', 1, NULL) \
         ON CONFLICT (sku) DO UPDATE SET qty = s.qty + excluded.qty, note = excluded.note \
         WHERE s.sku <> 'C'",
        "INSERT INTO stock (sku, id, qty) VALUES ('B', 12, 0), ('E', 5, 2) \
         ON CONFLICT ON CONSTRAINT stock_sku_key DO UPDATE SET qty = excluded.qty",
    ];
    let changes = truth(&db, &statements, "stock", "id");
    assert_eq!(
        changes,
        [
            ("1".into(), "(1,A,5,)".into(), "(1,A,15,x)".into()),
            ("2".into(), "(2,B,6,keep)".into(), "(2,B,0,keep)".into()),
            ("4".into(), "-".into(), "(4,D,1,)".into()),
            ("5".into(), "-".into(), "(5,E,2,)".into()),
        ],
        "the truth"
    );
    let out = dry_run(&db, &statements);
    assert_summary(&out);
    assert!(!out.stdout.contains("not captured"), "{out:?}");
    let second = out.stdout.find("\nINSERT 0 2\n").expect("the second tag") + 1;
    let (first, rest) = out.stdout.split_at(second);
    assert_eq!(
        grid_after(first, "INSERT stock: 1 row inserted, 1 row updated"),
        expected_grid(
            &["action", "id", "sku", "qty", "note"],
            &[changes[0].clone(), changes[2].clone()]
        )
    );
    assert_eq!(
        grid_after(rest, "INSERT stock: 1 row inserted, 1 row updated"),
        expected_grid(
            &["action", "id", "sku", "qty", "note"],
            &[changes[1].clone(), changes[3].clone()]
        )
    );
    // The digest binds the images, and the net change computed from them is the truth.
    assert_eq!(
        counts_after(&out.stderr, "Net change, per table"),
        [("stock".to_string(), [2, 2, 0])]
    );
    assert_eq!(
        counts_after(&out.stderr, "Rows changed, per table"),
        [("stock".to_string(), [2, 2, 0])]
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM stock")
            .as_deref(),
        Some("1:5,2:6,3:7")
    );
}

#[test]
fn upsert_under_read_committed_stays_without_old_values_and_says_why() {
    let db = TestDb::new("pc_upsert_rc");
    db.exec(&format!(
        "CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL); \
         INSERT INTO stock VALUES ('A', 5); \
         GRANT SELECT, INSERT, UPDATE ON stock TO {WRITER};"
    ));
    let statement =
        "INSERT INTO stock VALUES ('A', 1), ('B', 2) ON CONFLICT (sku) DO UPDATE SET qty = 0";
    let changes = truth(&db, &[statement], "stock", "sku");
    assert_eq!(changes.len(), 2, "the truth: {changes:?}");
    let out = dry_run(&db, &["BEGIN ISOLATION LEVEL READ COMMITTED", statement]);
    assert_summary(&out);
    // A concurrent insert could race ON CONFLICT between a read and the statement: the
    // old values are not claimed, and the reason is shown.
    assert!(
        out.stdout
            .contains("note: under READ COMMITTED a concurrent insert can race ON CONFLICT"),
        "{out:?}"
    );
    assert_eq!(
        grid_after(&out.stdout, "INSERT stock: 1 row inserted, 1 row updated"),
        [
            ["action", "sku", "qty"],
            ["updated", "A", "0"],
            ["inserted", "B", "2"]
        ]
    );
    // The counts stay the server's; the net change is not claimed.
    assert_eq!(
        counts_after(&out.stderr, "Rows changed, per table"),
        [("stock".to_string(), [1, 1, 0])]
    );
    assert!(
        out.stderr.contains("Net change of stock not known"),
        "{out:?}"
    );
    assert_eq!(db.value("SELECT qty FROM stock").as_deref(), Some("5"));
}

// ---------------------------------------------------------------------------------------
// MERGE: matched update, matched delete, not-matched insert
// ---------------------------------------------------------------------------------------

#[test]
fn merge_shows_every_row_it_inserted_updated_and_deleted() {
    let db = TestDb::new("pc_merge");
    db.exec(&format!(
        "CREATE TABLE prices (id int PRIMARY KEY, price numeric NOT NULL, note text); \
         INSERT INTO prices VALUES (1, 10, NULL), (2, 20, 'old'), (3, 30, NULL), (4, 40, 'kept'); \
         CREATE TABLE incoming (id int, price numeric); \
         INSERT INTO incoming VALUES (1, 11), (2, 0), (4, 40), (7, 70); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON prices TO {WRITER}; \
         GRANT SELECT ON incoming TO {WRITER};"
    ));
    // 1 is updated, 2 deleted, 4 matched but left alone, 7 inserted; 3 is not reached.
    let statements = [
        "MERGE INTO prices p USING incoming i ON p.id = i.id \
         WHEN MATCHED AND i.price = 0 THEN DELETE \
         WHEN MATCHED AND i.price <> p.price THEN UPDATE SET price = i.price, note = 'merged' \
         WHEN MATCHED THEN DO NOTHING \
         WHEN NOT MATCHED THEN INSERT (id, price) VALUES (i.id, i.price)",
        // A VALUES source of constants: 3 updated, 7 deleted again.
        "MERGE INTO prices AS p USING (VALUES (3, 'x'), (7, 'gone')) AS v(id, what) ON p.id = v.id \
         WHEN MATCHED AND v.what = 'gone' THEN DELETE \
         WHEN MATCHED THEN UPDATE SET note = v.what",
    ];
    let first = truth(&db, &statements[..1], "prices", "id");
    assert_eq!(
        first,
        [
            ("1".into(), "(1,10,)".into(), "(1,11,merged)".into()),
            ("2".into(), "(2,20,old)".into(), "-".into()),
            ("7".into(), "-".into(), "(7,70,)".into()),
        ],
        "the truth"
    );
    let both = truth(&db, &statements, "prices", "id");
    let out = dry_run(&db, &statements);
    assert_summary(&out);
    assert!(!out.stdout.contains("counts only"), "{out:?}");
    let second = out.stdout.find("\nMERGE 2\n").expect("the second tag") + 1;
    let (one, two) = out.stdout.split_at(second);
    // Rows after the MERGE in key order, then the deleted ones.
    assert_eq!(
        grid_after(
            one,
            "MERGE prices: 1 row inserted, 1 row updated, 1 row deleted"
        ),
        expected_grid(
            &["action", "id", "price", "note"],
            &[first[0].clone(), first[2].clone(), first[1].clone()]
        )
    );
    assert_eq!(
        grid_after(
            two,
            "MERGE prices: 0 rows inserted, 1 row updated, 1 row deleted"
        ),
        [
            vec!["action", "id", "price", "note"],
            vec!["updated", "3", "30", "NULL → x"],
            vec!["deleted", "7", "70", "NULL"],
        ]
    );
    // What the digest binds: the server's operations, and the net change from the
    // images, which is the truth's (1 and 3 changed, 2 deleted; 7 came and went).
    assert_eq!(
        counts_after(&out.stderr, "Rows changed, per table"),
        [("prices".to_string(), [1, 2, 2])]
    );
    let changed = both.iter().filter(|(_, b, a)| b != "-" && a != "-").count() as i64;
    let deleted = both.iter().filter(|(_, _, a)| a == "-").count() as i64;
    assert_eq!((changed, deleted), (2, 1), "the truth: {both:?}");
    assert_eq!(
        counts_after(&out.stderr, "Net change, per table"),
        [("prices".to_string(), [0, changed, deleted])]
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || price, ',' ORDER BY id) FROM prices")
            .as_deref(),
        Some("1:10,2:20,3:30,4:40")
    );
}

#[test]
fn merge_that_reads_cannot_reach_stays_counts_only_with_the_reason() {
    let db = TestDb::new("pc_merge_counts");
    db.exec(&format!(
        "CREATE TABLE prices (id int PRIMARY KEY, price numeric NOT NULL); \
         INSERT INTO prices VALUES (1, 10), (2, 20); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON prices TO {WRITER};"
    ));
    // The inserted key is computed, not a source column: a read keyed on the source
    // could not find the inserted row, so no image is claimed.
    let statement =
        "MERGE INTO prices p USING (VALUES (1, 5), (9, 90)) s(id, price) ON p.id = s.id \
         WHEN MATCHED THEN UPDATE SET price = s.price \
         WHEN NOT MATCHED THEN INSERT VALUES (s.id + 100, s.price)";
    let changes = truth(&db, &[statement], "prices", "id");
    assert_eq!(changes.len(), 2, "the truth: {changes:?}");
    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("MERGE: "))
        .unwrap_or_else(|| panic!("no counts-only line: {out:?}"));
    assert!(line.contains("inserts a key column id"), "{line}");
    assert!(line.ends_with("counts only"), "{line}");
    assert_eq!(
        counts_after(&out.stdout, "Rows changed by this statement, per table"),
        [("prices".to_string(), [1, 1, 0])]
    );
    assert!(
        out.stderr.contains("Net change of prices not known"),
        "{out:?}"
    );
    assert_eq!(count_rows(&db), 2);
}

fn count_rows(db: &TestDb) -> i64 {
    db.value("SELECT count(*) FROM prices")
        .and_then(|v| v.parse().ok())
        .expect("count")
}
