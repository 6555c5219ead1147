//! The preview never lies: each class of issue 12 checked against the truth.
//!
//! Every test is built the same way. The truth is computed by the server: the same
//! statement runs as the write role in a transaction that is rolled back, and the
//! superuser measures the tables before and after it in that transaction
//! ([`truth`]). Then the real binary runs the statement (`--dry-run`, so the COMMIT
//! summary, whose totals the change digest binds, is printed and nothing is kept), and
//! what it shows is parsed and compared with the truth. Finally the data is checked as
//! superuser to be unchanged.

use crate::util::{
    admin_rows, cluster, write_config, Output, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER,
};

/// Runs `statement` as the write role inside a transaction that is rolled back, and
/// returns `measure` (one row of text) evaluated by the superuser before and after it.
fn truth(db: &TestDb, statement: &str, measure: &str) -> (Vec<String>, Vec<String>) {
    let sql = format!(
        "BEGIN; {measure}; SET LOCAL ROLE {WRITER}; {statement}; RESET ROLE; {measure}; ROLLBACK;"
    );
    let rows = admin_rows(cluster(), &db.name, &sql);
    let text = |r: &Vec<Option<String>>| -> Vec<String> {
        r.iter()
            .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
            .collect()
    };
    // The statement may return rows of its own: the measures are the first and last.
    let first = rows.first().map(text).expect("measure before");
    let last = rows.last().map(text).expect("measure after");
    (first, last)
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

/// `pgward --dry-run` on `db` with `statements` each as `-c`, then `-c commit`.
fn dry_run(db: &TestDb, statements: &[&str]) -> Output {
    dry_run_with(db, "", &[], statements)
}

/// [`dry_run`] through a config file with `extra` settings and environment `vars`.
fn dry_run_with(db: &TestDb, extra: &str, vars: &[(&str, &str)], statements: &[&str]) -> Output {
    let mut shell = TestShell::bare();
    write_config(shell.home(), &env_config(db, extra));
    shell = shell
        .args(["--env", "prod", "--dry-run"])
        .env("PGPASSWORD", PASSWORD);
    for (k, v) in vars {
        shell = shell.env(k, v);
    }
    for s in statements {
        shell = shell.args(["-c", s]);
    }
    shell.args(["-c", "commit"]).run()
}

/// Per-table counts as shown: `(table, [inserted, updated, deleted])`.
type Counts = Vec<(String, [i64; 3])>;

/// The rows of the counts grid that follows the first line starting with `heading`:
/// `table → [inserted, updated, deleted]`.
fn counts_after(text: &str, heading: &str) -> Counts {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.starts_with(heading)) else {
        panic!("no line starting with {heading:?} in:\n{text}");
    };
    let rule = (start + 1..lines.len())
        .find(|&i| lines[i].starts_with("---"))
        .unwrap_or_else(|| panic!("no grid after {heading:?} in:\n{text}"));
    lines[rule + 1..]
        .iter()
        .take_while(|l| l.contains('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let n = |i: usize| cells[i].parse::<i64>().expect("a count");
            (cells[0].to_string(), [n(1), n(2), n(3)])
        })
        .collect()
}

/// The per-statement counts the preview shows, and the change set's totals.
fn shown_counts(out: &Output) -> (Counts, Counts) {
    (
        counts_after(&out.stdout, "Rows changed by this statement, per table"),
        counts_after(&out.stderr, "Rows changed, per table"),
    )
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

fn count(db: &TestDb, table: &str) -> i64 {
    db.value(&format!("SELECT count(*) FROM {table}"))
        .and_then(|v| v.parse().ok())
        .expect("count")
}

// ---------------------------------------------------------------------------------------
// 1. The capture must not change what the statement does.
// ---------------------------------------------------------------------------------------

#[test]
fn row_level_security_runs_the_statement_as_typed() {
    let db = TestDb::new("pt_rls");
    // The write role may delete every row, but SELECT shows it only its own: a
    // RETURNING capture would apply the SELECT policy and delete 1 row, not 3.
    db.exec(&format!(
        "CREATE TABLE docs (id int PRIMARY KEY, owner text NOT NULL); \
         INSERT INTO docs VALUES (1, '{WRITER}'), (2, 'other'), (3, 'other'); \
         ALTER TABLE docs ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY see_own ON docs FOR SELECT USING (owner = current_user); \
         CREATE POLICY del_all ON docs FOR DELETE USING (true); \
         GRANT SELECT, DELETE ON docs TO {WRITER};"
    ));
    let statement = "DELETE FROM docs";
    let (before, after) = truth(&db, statement, "SELECT count(*) FROM docs");
    let deleted = before[0].parse::<i64>().expect("n") - after[0].parse::<i64>().expect("n");
    assert_eq!(deleted, 3, "the truth");

    let out = TestShell::new(&db).stdin(&format!("{statement};\n")).run();
    // No WHERE: refused without a terminal, after the preview was shown.
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with(&format!("DELETE {deleted}\n")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("row-level security applies to docs"),
        "{out:?}"
    );
    assert_eq!(
        counts_after(&out.stdout, "Rows changed by this statement, per table"),
        [("docs".to_string(), [0, 0, deleted])]
    );
    assert!(
        out.stderr.contains(&format!("changed {deleted} rows")),
        "{out:?}"
    );
    assert_eq!(count(&db, "docs"), 3);
}

#[test]
fn column_grants_and_insert_only_policies_run_as_typed() {
    let db = TestDb::new("pt_grants");
    db.exec(&format!(
        "CREATE TABLE secrets (id int PRIMARY KEY, name text, secret text); \
         INSERT INTO secrets VALUES (1, 'a', 's1'), (2, 'b', 's2'); \
         GRANT SELECT (id, name), UPDATE (name) ON secrets TO {WRITER}; \
         CREATE TABLE inbox (id int PRIMARY KEY, body text); \
         ALTER TABLE inbox ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY drop_box ON inbox FOR INSERT WITH CHECK (true); \
         GRANT INSERT ON inbox TO {WRITER};"
    ));
    let update = "UPDATE secrets SET name = 'x' WHERE id = 1";
    let insert = "INSERT INTO inbox VALUES (1, 'hello'), (2, 'world')";
    let measure =
        "SELECT (SELECT count(*) FROM secrets WHERE name = 'x'), (SELECT count(*) FROM inbox)";
    let (before, after) = truth(&db, &format!("{update}; {insert}"), measure);
    assert_eq!(
        (before, after.clone()),
        (vec!["0".into(), "0".into()], vec!["1".into(), "2".into()])
    );

    let out = dry_run(&db, &[update, insert]);
    assert_summary(&out);
    // Neither write failed with 42501: both ran as typed, with counts and the reason.
    assert!(!out.stderr.contains("42501"), "{out:?}");
    assert!(out.stdout.contains("cannot SELECT every column"), "{out:?}");
    assert!(
        out.stdout.contains("row-level security applies to inbox"),
        "{out:?}"
    );
    let (_, totals) = shown_counts(&out);
    assert_eq!(
        totals,
        [
            ("inbox".to_string(), [2, 0, 0]),
            ("secrets".to_string(), [0, 1, 0]),
        ]
    );
    assert_eq!(count(&db, "inbox"), 0);
}

// ---------------------------------------------------------------------------------------
// 4 and issue 11.3. Counts exclude undone work, or say they are upper bounds.
// ---------------------------------------------------------------------------------------

#[test]
fn a_failed_capture_is_not_counted_twice() {
    let db = TestDb::new("pt_failed_capture");
    db.exec(&format!(
        "CREATE TABLE sixty (id int PRIMARY KEY, v int NOT NULL); \
         INSERT INTO sixty SELECT g, g FROM generate_series(1, 60) g; \
         GRANT SELECT, UPDATE ON sixty TO {WRITER};"
    ));
    let statement = "UPDATE sixty SET v = v + 1 WHERE id > 0";
    let (before, after) = truth(&db, statement, "SELECT sum(v) FROM sixty");
    assert_eq!(
        after[0].parse::<i64>().expect("n") - before[0].parse::<i64>().expect("n"),
        60
    );
    // The before-images cannot be spilled: the capture fails after changing rows.
    let missing = tempfile::tempdir().expect("dir").path().join("gone");
    let out = dry_run_with(
        &db,
        "max_rows = 100\n",
        &[("TMPDIR", missing.to_str().expect("utf-8"))],
        &[statement],
    );
    assert_summary(&out);
    assert!(out.stdout.contains("rows could not be captured"), "{out:?}");
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    assert!(!out.stderr.contains("max_rows"), "{out:?}");
    let (shown, totals) = shown_counts(&out);
    assert_eq!(shown, [("sixty".to_string(), [0, 60, 0])]);
    assert_eq!(totals, shown);
    assert_eq!(count(&db, "sixty WHERE v = id"), 60);
}

#[test]
fn work_undone_inside_a_statement_is_labelled_an_upper_bound() {
    let db = TestDb::new("pt_undone");
    db.exec(&format!(
        "CREATE TABLE ninety (id int PRIMARY KEY); \
         INSERT INTO ninety SELECT generate_series(1, 90); \
         CREATE TABLE events (id int PRIMARY KEY, k int NOT NULL); \
         CREATE TABLE tally (k int PRIMARY KEY, n int NOT NULL); \
         INSERT INTO tally VALUES (1, 0), (2, 0), (3, 0); \
         CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           BEGIN INSERT INTO tally VALUES (NEW.k, 1); \
           EXCEPTION WHEN unique_violation THEN UPDATE tally SET n = n + 1 WHERE k = NEW.k; \
           END; \
           RETURN NEW; \
         END $$; \
         CREATE TRIGGER bump AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION bump(); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ninety, events, tally TO {WRITER};"
    ));
    let block = "DO $$ BEGIN BEGIN DELETE FROM ninety; RAISE EXCEPTION 'undo'; \
                 EXCEPTION WHEN raise_exception THEN NULL; END; END $$";
    let insert = "INSERT INTO events VALUES (1, 1), (2, 2), (3, 3)";
    let measure = "SELECT (SELECT count(*) FROM ninety), (SELECT count(*) FROM tally), \
                   (SELECT sum(n) FROM tally)";
    let (before, after) = truth(&db, &format!("{block}; {insert}"), measure);
    // The truth: nothing deleted, no tally row inserted, three updated.
    assert_eq!(before, ["90", "3", "0"]);
    assert_eq!(after, ["90", "3", "3"]);

    let out = dry_run_with(&db, "max_rows = 1000\n", &[], &[block, insert]);
    assert_summary(&out);
    // The server counts 90 deletes and 3 inserts that never happened: pgward must not
    // present them as exact.
    let (shown, totals) = shown_counts(&out);
    assert!(
        shown.contains(&("ninety".to_string(), [0, 0, 90])),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("per table (from the server; upper bounds)"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("NOTE: these counts are upper bounds: the DO block has an EXCEPTION block"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("NOTE: these counts are upper bounds: triggers on events ran, and trigger function bump() has an EXCEPTION block"),
        "{out:?}"
    );
    assert!(
        totals.contains(&("tally".to_string(), [3, 3, 0])),
        "{out:?}"
    );
    assert!(out.stderr.contains("upper bounds, because"), "{out:?}");
    assert_eq!(count(&db, "ninety"), 90);

    // Over max_rows, the prompt asks for the upper bound as what it is.
    let out = dry_run_with(&db, "max_rows = 10\n", &[], &[block]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("changed at most 90 rows"), "{out:?}");
    assert!(out.stderr.contains("an upper bound"), "{out:?}");
    assert_eq!(count(&db, "ninety"), 90);
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

// ---------------------------------------------------------------------------------------
// 3. Images show every change.
// ---------------------------------------------------------------------------------------

#[test]
fn images_tell_null_from_json_null_and_ignore_user_casts_and_lossy_floats() {
    let db = TestDb::new("pt_images");
    db.exec(&format!(
        "CREATE TYPE pair AS (a int, b int); \
         CREATE FUNCTION pair_json(pair) RETURNS json LANGUAGE sql AS $$ SELECT '\"same\"'::json $$; \
         CREATE CAST (pair AS json) WITH FUNCTION pair_json(pair); \
         CREATE TABLE shapes (id int PRIMARY KEY, j json, f float8, p pair); \
         INSERT INTO shapes VALUES (1, NULL, 1, NULL), (2, NULL, 1, ROW(1, 2)), (3, NULL, 0.1, NULL); \
         GRANT SELECT, UPDATE ON shapes TO {WRITER};"
    ));
    let statements = [
        "UPDATE shapes SET j = 'null' WHERE id = 1",
        "UPDATE shapes SET p = ROW(1, 3) WHERE id = 2",
        "SET extra_float_digits = -15",
        "UPDATE shapes SET f = f + 1e-12 WHERE id = 3",
    ];
    let measure = "SELECT (SELECT j IS NULL FROM shapes WHERE id = 1), \
                   (SELECT p::text FROM shapes WHERE id = 2), \
                   (SELECT f::numeric::text FROM shapes WHERE id = 3)";
    let (before, after) = truth(&db, &statements.join("; "), measure);
    // The truth: every row changed.
    assert_eq!(before, ["t", "(1,2)", "0.1"]);
    assert_eq!(after[..2], ["f", "(1,3)"]);
    assert_ne!(after[2], before[2]);

    let out = dry_run(&db, &statements);
    assert_summary(&out);
    let second = out.stdout[1..].find("\nUPDATE 1\n").expect("a second tag") + 1;
    let (first, rest) = out.stdout.split_at(second);
    // SQL NULL became JSON null: a change, shown as one.
    assert_eq!(
        grid_after(first, "UPDATE shapes: 1 row updated"),
        [["id", "j"], ["1", "NULL → 'null'"]]
    );
    // The owner's cast to json cannot hide the change of p.
    assert_eq!(
        grid_after(rest, "UPDATE shapes: 1 row updated"),
        [["id", "p"], ["2", "(1,2) → (1,3)"]]
    );
    // With floats printed lossily, the row would look unchanged: counts only, and why.
    assert!(out.stdout.contains("extra_float_digits is -15"), "{out:?}");
    let (_, totals) = shown_counts(&out);
    assert_eq!(totals, [("shapes".to_string(), [0, 3, 0])]);
    assert_eq!(
        db.value("SELECT string_agg(coalesce(j::text, 'NULL'), ',' ORDER BY id) FROM shapes")
            .as_deref(),
        Some("NULL,NULL,NULL")
    );
}

/// Whether `old IS DISTINCT FROM new` on the server, as the superuser computes it.
fn server_distinct(db: &TestDb, old: &str, new: &str) -> bool {
    db.value(&format!("SELECT ({old}) IS DISTINCT FROM ({new})"))
        .as_deref()
        == Some("t")
}

#[test]
fn changed_is_the_text_or_the_server_and_lossy_settings_block_only_their_tables() {
    let db = TestDb::new("pt_distinct");
    db.exec(&format!(
        "CREATE TABLE vals (id int PRIMARY KEY, n numeric, t text, tz timestamptz); \
         INSERT INTO vals VALUES (1, 1.0, 'a', NULL), (2, 2, 'a', NULL), \
                                 (3, 3, 'a', '2014-10-25 21:30:00+00'); \
         GRANT SELECT, UPDATE ON vals TO {WRITER};"
    ));
    let statements = [
        "UPDATE vals SET n = 1.00 WHERE id = 1",
        "SET extra_float_digits = -15",
        "UPDATE vals SET t = 'b' WHERE id = 2",
        "SET DateStyle = 'Postgres'",
        "SET TimeZone = 'Europe/Moscow'",
        "UPDATE vals SET tz = tz + interval '1 hour' WHERE id = 3",
    ];
    let measure = "SELECT (SELECT n::text FROM vals WHERE id = 1), \
                   (SELECT t FROM vals WHERE id = 2), \
                   (SELECT extract(epoch FROM tz)::int8::text FROM vals WHERE id = 3)";
    let (before, after) = truth(&db, &statements.join("; "), measure);
    // The truth: every row changed. 1.0 → 1.00 is a change the server's `=` does not
    // see; the timestamp moved by an hour, which DateStyle Postgres prints alike in
    // Moscow on that night (`Sun Oct 26 01:30:00 2014 MSK` both times).
    assert_eq!(before, ["1.0", "a", "1414272600"]);
    assert_eq!(after, ["1.00", "b", "1414276200"]);
    assert!(!server_distinct(&db, "1.0::numeric", "1.00::numeric"));
    assert!(server_distinct(
        &db,
        "'2014-10-25 21:30:00+00'::timestamptz",
        "'2014-10-25 22:30:00+00'::timestamptz"
    ));
    let alike = db
        .value(
            "SET DateStyle = 'Postgres'; SET TimeZone = 'Europe/Moscow'; \
             SELECT '2014-10-25 21:30:00+00'::timestamptz::text \
                    = '2014-10-25 22:30:00+00'::timestamptz::text",
        )
        .expect("compared");
    assert_eq!(alike, "t");

    let out = dry_run(&db, &statements);
    assert_summary(&out);
    let tags: Vec<usize> = out
        .stdout
        .match_indices("UPDATE 1\n")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || out.stdout[..i].ends_with('\n'))
        .collect();
    assert_eq!(tags.len(), 3, "{out:?}");
    let first = &out.stdout[..tags[1]];
    let second = &out.stdout[tags[1]..tags[2]];
    let third = &out.stdout[tags[2]..];
    // The text changed, though `=` says equal: shown as changed.
    assert_eq!(
        grid_after(first, "UPDATE vals: 1 row updated"),
        [["id", "n"], ["1", "1.0 → 1.00"]]
    );
    // extra_float_digits blurs only floats: a table without one is captured exactly.
    assert_eq!(
        grid_after(second, "UPDATE vals: 1 row updated"),
        [["id", "t"], ["2", "a → b"]]
    );
    assert!(!second.contains("counts only"), "{out:?}");
    // DateStyle Postgres could show the moved timestamp unchanged: counts only, and why.
    assert!(
        third.contains(
            "DateStyle is Postgres, MDY, which prints two different timestamptz values alike"
        ),
        "{out:?}"
    );
    assert!(!third.contains("UPDATE vals: 1 row updated"), "{out:?}");
    let (_, totals) = shown_counts(&out);
    assert_eq!(totals, [("vals".to_string(), [0, 3, 0])]);
    assert_eq!(
        db.value("SELECT string_agg(n::text || t, ',' ORDER BY id) FROM vals")
            .as_deref(),
        Some("1.0a,2a,3a")
    );
}

// ---------------------------------------------------------------------------------------
// 9. What the reviewer reads is exact.
// ---------------------------------------------------------------------------------------

#[test]
fn statements_values_and_names_read_exactly() {
    let db = TestDb::new("pt_exact");
    db.exec(&format!(
        "CREATE SCHEMA s2; GRANT USAGE ON SCHEMA s2 TO {WRITER}; \
         CREATE TABLE s2.accounts (id int PRIMARY KEY, v text); \
         CREATE TABLE public.\"s2.accounts\" (id int PRIMARY KEY, v text); \
         INSERT INTO s2.accounts VALUES (1, 'x'); \
         INSERT INTO public.\"s2.accounts\" VALUES (1, 'abc'); \
         GRANT SELECT, UPDATE ON s2.accounts, public.\"s2.accounts\" TO {WRITER};"
    ));
    let first = "UPDATE s2.accounts SET v = 'two  spaces'  WHERE id = 1";
    let second = "UPDATE \"s2.accounts\" SET v = 'abc ' WHERE id = 1";
    let measure = "SELECT (SELECT v FROM s2.accounts WHERE id = 1), \
                   (SELECT v || '|' FROM public.\"s2.accounts\" WHERE id = 1)";
    let (_, after) = truth(&db, &format!("{first}; {second}"), measure);
    assert_eq!(after, ["two  spaces", "abc |"]);

    let out = dry_run(&db, &[first, second]);
    assert_summary(&out);
    // The statement record is byte-exact.
    assert!(out.stderr.contains(&format!("  1. {first}\n")), "{out:?}");
    assert!(out.stderr.contains(&format!("  2. {second}\n")), "{out:?}");
    // A trailing space in a value is visible.
    assert_eq!(
        grid_after(&out.stdout, "UPDATE \"s2.accounts\": 1 row updated"),
        [["id", "v"], ["1", "abc → 'abc '"]]
    );
    // Two different tables never share a name.
    let (_, totals) = shown_counts(&out);
    assert_eq!(
        totals,
        [
            ("\"s2.accounts\"".to_string(), [0, 1, 0]),
            ("s2.accounts".to_string(), [0, 1, 0]),
        ]
    );
    assert_eq!(db.value("SELECT v FROM s2.accounts").as_deref(), Some("x"));
}

// ---------------------------------------------------------------------------------------
// 2 and 6. Cascades through partitions, inheritance and views; partitioned targets.
// ---------------------------------------------------------------------------------------

#[test]
fn cascades_through_partitions_inheritance_and_views_match_the_server() {
    let db = TestDb::new("pt_partitions");
    db.exec(&format!(
        "CREATE TABLE cust (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region); \
         CREATE TABLE cust_eu PARTITION OF cust FOR VALUES IN ('eu'); \
         CREATE TABLE cust_us PARTITION OF cust FOR VALUES IN ('us'); \
         CREATE TABLE ord (id int PRIMARY KEY, cid int, region text, \
             FOREIGN KEY (cid, region) REFERENCES cust ON DELETE CASCADE); \
         CREATE TABLE eu_notes (id int PRIMARY KEY, cid int, region text, \
             FOREIGN KEY (cid, region) REFERENCES cust_eu ON DELETE CASCADE); \
         INSERT INTO cust VALUES (1, 'eu'), (2, 'eu'), (3, 'eu'), (4, 'eu'), (5, 'us'); \
         INSERT INTO ord VALUES (1, 1, 'eu'), (2, 1, 'eu'), (3, 2, 'eu'), (4, 3, 'eu'), (5, 5, 'us'); \
         INSERT INTO eu_notes VALUES (1, 1, 'eu'), (2, 2, 'eu'), (3, 2, 'eu'), (4, 3, 'eu'); \
         CREATE TABLE animals (id int PRIMARY KEY); \
         CREATE TABLE dogs (PRIMARY KEY (id)) INHERITS (animals); \
         CREATE TABLE dog_tags (id int PRIMARY KEY, dog int REFERENCES dogs ON DELETE CASCADE); \
         INSERT INTO animals VALUES (1); INSERT INTO dogs VALUES (10), (11); \
         INSERT INTO dog_tags VALUES (1, 10), (2, 10), (3, 11); \
         CREATE VIEW eu_view AS SELECT * FROM cust WHERE region = 'eu'; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON cust, cust_eu, cust_us, ord, eu_notes, \
             animals, dogs, dog_tags, eu_view TO {WRITER};"
    ));
    let statements = [
        "DELETE FROM cust_eu WHERE id = 1",
        "DELETE FROM cust WHERE id = 2",
        "DELETE FROM animals WHERE id = 10",
        "DELETE FROM eu_view WHERE id = 3",
        "UPDATE cust SET region = 'us' WHERE id = 4",
    ];
    let tables = [
        "cust_eu", "cust_us", "ord", "eu_notes", "animals", "dogs", "dog_tags",
    ];
    let measure = format!(
        "SELECT {}",
        tables
            .iter()
            .map(|t| format!("(SELECT count(*) FROM ONLY {t})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (before, after) = truth(&db, &statements.join("; "), &measure);
    let net: Vec<(String, i64)> = tables
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(t, (b, a))| {
            (
                t.to_string(),
                a.parse::<i64>().expect("n") - b.parse::<i64>().expect("n"),
            )
        })
        .filter(|(_, n)| *n != 0)
        .collect();
    assert_eq!(
        net,
        [
            ("cust_eu".to_string(), -4),
            ("cust_us".to_string(), 1),
            ("ord".to_string(), -4),
            ("eu_notes".to_string(), -4),
            ("dogs".to_string(), -1),
            ("dog_tags".to_string(), -2),
        ],
        "the truth"
    );

    let out = dry_run_with(&db, "max_rows = 10\n", &[], &statements);
    assert_summary(&out);
    // No sentence the server's counts contradict: no mismatch warning at all.
    assert!(!out.stdout.contains("WARNING"), "{out:?}");
    assert!(
        out.stdout
            .contains("Foreign keys: not predicted: eu_view is a view"),
        "{out:?}"
    );
    // The partitioned UPDATE moved one row: counted once, no mismatch.
    assert!(out.stdout.contains("UPDATE cust: 1 row updated"), "{out:?}");
    let (_, totals) = shown_counts(&out);
    let mut shown_net: Vec<(String, i64)> = totals
        .iter()
        .map(|(t, [i, _, d])| (t.clone(), i - d))
        .filter(|(_, n)| *n != 0)
        .collect();
    shown_net.sort();
    let mut expected = net.clone();
    expected.sort();
    assert_eq!(shown_net, expected, "{out:?}");
    // Each prediction names exactly what the server then counted.
    for (statement, line) in [
        (0, "Foreign keys: deleting 1 row of cust_eu removes 1 row of eu_notes and removes 2 rows of ord"),
        (1, "Foreign keys: deleting 1 row of cust removes 2 rows of eu_notes and removes 1 row of ord"),
        (2, "Foreign keys: deleting 1 row of animals removes 2 rows of dog_tags"),
    ] {
        assert!(out.stdout.contains(line), "statement {statement}: {out:?}");
    }
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    assert_eq!(db.value("SELECT count(*) FROM ord").as_deref(), Some("5"));
}

// ---------------------------------------------------------------------------------------
// 5. TRUNCATE counts every table it empties.
// ---------------------------------------------------------------------------------------

#[test]
fn truncate_counts_cascade_only_and_hidden_rows_truly() {
    let db = TestDb::new("pt_truncate");
    db.exec(&format!(
        "CREATE TABLE logs (id int); CREATE TABLE logs_old () INHERITS (logs); \
         INSERT INTO logs VALUES (1), (2); INSERT INTO logs_old VALUES (3), (4), (5); \
         CREATE TABLE parents (id int PRIMARY KEY); \
         CREATE TABLE kids (id int PRIMARY KEY, pid int REFERENCES parents); \
         INSERT INTO parents VALUES (1), (2); INSERT INTO kids VALUES (1, 1), (2, 1), (3, 2), (4, 2); \
         CREATE TABLE vault (id int); INSERT INTO vault SELECT generate_series(1, 40); \
         ALTER TABLE vault ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY none ON vault FOR SELECT USING (false); ANALYZE vault; \
         GRANT SELECT, TRUNCATE ON logs, logs_old, parents, kids, vault TO {WRITER};"
    ));
    let measure = "SELECT (SELECT count(*) FROM ONLY logs), (SELECT count(*) FROM logs_old), \
                   (SELECT count(*) FROM parents), (SELECT count(*) FROM kids), \
                   (SELECT count(*) FROM vault)";
    for (statement, removed, lines) in [
        (
            "TRUNCATE ONLY logs",
            [2, 0, 0, 0, 0],
            vec!["TRUNCATE logs: removes all 2 rows"],
        ),
        (
            "TRUNCATE logs",
            [2, 3, 0, 0, 0],
            vec![
                "TRUNCATE logs: removes all 2 rows",
                "TRUNCATE logs_old: removes all 3 rows",
            ],
        ),
        (
            "TRUNCATE parents CASCADE",
            [0, 0, 2, 4, 0],
            vec![
                "TRUNCATE parents: removes all 2 rows",
                "TRUNCATE kids: removes all 4 rows",
            ],
        ),
        (
            "TRUNCATE vault",
            [0, 0, 0, 0, 40],
            vec!["TRUNCATE vault: removes all about 40 rows"],
        ),
    ] {
        let (before, after) = truth(&db, statement, measure);
        let truth: Vec<i64> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| b.parse::<i64>().expect("n") - a.parse::<i64>().expect("n"))
            .collect();
        assert_eq!(truth, removed, "the truth of {statement}");
        let out = TestShell::new(&db).stdin(&format!("{statement};\n")).run();
        assert_eq!(out.code, 2, "{out:?}");
        for line in lines {
            assert!(out.stdout.contains(line), "{statement}: {line}: {out:?}");
        }
        let total: i64 = removed.iter().sum();
        if statement == "TRUNCATE vault" {
            assert!(
                out.stdout
                    .contains("NOTE: estimated: vault: row-level security"),
                "{out:?}"
            );
            assert!(
                out.stderr.contains(&format!("changed about {total} rows")),
                "{out:?}"
            );
        } else {
            assert!(
                out.stderr.contains(&format!("changed {total} rows")),
                "{out:?}"
            );
        }
    }
    assert_eq!(db.value("SELECT count(*) FROM kids").as_deref(), Some("4"));
    assert_eq!(db.value("SELECT count(*) FROM logs").as_deref(), Some("5"));
}

// ---------------------------------------------------------------------------------------
// 7. Warnings blame the real cause.
// ---------------------------------------------------------------------------------------

#[test]
fn a_no_op_key_update_predicts_no_cascade_and_no_failure() {
    let db = TestDb::new("pt_noop_key");
    db.exec(&format!(
        "CREATE TABLE owners (id int PRIMARY KEY); \
         CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES owners ON UPDATE CASCADE); \
         CREATE TABLE bills (id int PRIMARY KEY, owner int REFERENCES owners); \
         INSERT INTO owners VALUES (1), (2); \
         INSERT INTO pets VALUES (1, 1), (2, 1); INSERT INTO bills VALUES (1, 1); \
         GRANT SELECT, UPDATE ON owners, pets, bills TO {WRITER};"
    ));
    let statement = "UPDATE owners SET id = id WHERE id = 1";
    let measure = "SELECT (SELECT count(*) FROM pets WHERE xmin::text::bigint = txid_current()), \
                   (SELECT count(*) FROM owners WHERE xmin::text::bigint = txid_current())";
    let (_, after) = truth(&db, statement, measure);
    // The truth: the owner row got a new version, no pet did, nothing failed.
    assert_eq!(after, ["0", "1"]);

    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    assert!(
        out.stdout
            .contains("Foreign keys: updating 1 row of owners changes owner in 0 rows of pets\n"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("will fail"), "{out:?}");
    assert!(!out.stdout.contains("did more"), "{out:?}");
    // No warning blames a trigger or rule for the cascade that a no-op key skips.
    assert!(!out.stdout.contains("foreign keys explain"), "{out:?}");
    let (shown, _) = shown_counts(&out);
    assert_eq!(shown, [("owners".to_string(), [0, 1, 0])]);
}

// ---------------------------------------------------------------------------------------
// 8. The COMMIT summary shows the net change next to the operations.
// ---------------------------------------------------------------------------------------

/// The server's net change of `tables` (each with an `id` key) after `statements` ran as
/// the write role in a rolled-back transaction: `table → [inserted, changed, deleted]`,
/// rows that differ from the transaction's start, compared as whole rows.
fn net_truth(db: &TestDb, statements: &[&str], tables: &[&str]) -> Counts {
    let mut sql = String::from("BEGIN; ");
    for t in tables {
        sql.push_str(&format!("CREATE TEMP TABLE start_{t} AS TABLE {t}; "));
    }
    sql.push_str(&format!("SET LOCAL ROLE {WRITER}; "));
    for s in statements {
        sql.push_str(&format!("{s}; "));
    }
    sql.push_str("RESET ROLE; ");
    let measures: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{t}', count(*) FILTER (WHERE s.id IS NULL), \
                 count(*) FILTER (WHERE s.id IS NOT NULL AND n.id IS NOT NULL \
                                  AND ROW(s.*)::text IS DISTINCT FROM ROW(n.*)::text), \
                 count(*) FILTER (WHERE n.id IS NULL) \
                 FROM start_{t} s FULL JOIN {t} n ON s.id = n.id"
            )
        })
        .collect();
    sql.push_str(&measures.join(" UNION ALL "));
    sql.push_str("; ROLLBACK;");
    let rows = admin_rows(cluster(), &db.name, &sql);
    let n = |v: &Option<String>| v.as_deref().and_then(|v| v.parse().ok()).expect("count");
    let mut out: Counts = rows
        .iter()
        .filter(|r| r.len() == 4)
        .map(|r| (r[0].clone().expect("table"), [n(&r[1]), n(&r[2]), n(&r[3])]))
        .collect();
    out.sort();
    out
}

#[test]
fn the_summary_shows_the_net_change_from_the_images() {
    let db = TestDb::new("pt_net");
    db.exec(&format!(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL, note text); \
         INSERT INTO accounts VALUES (1, 10, NULL), (2, 20, 'x'), (3, 30, 'y'); \
         CREATE TABLE notes (id int PRIMARY KEY, body text); \
         INSERT INTO notes VALUES (1, 'old'), (2, 'gone'); \
         CREATE TABLE tally (id int PRIMARY KEY, n int NOT NULL); \
         CREATE FUNCTION count_note() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO tally VALUES (NEW.id, 1) \
           ON CONFLICT (id) DO UPDATE SET n = tally.n + 1; RETURN NEW; END $$; \
         CREATE TRIGGER count_note AFTER UPDATE ON notes FOR EACH ROW \
           EXECUTE FUNCTION count_note(); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, notes, tally TO {WRITER};"
    ));
    let statements = [
        // Update, then revert: operations on every row, no row differs.
        "UPDATE accounts SET balance = balance + 5, note = 'tmp' WHERE id <= 2",
        "UPDATE accounts SET balance = balance - 5, note = NULL WHERE id = 1",
        "UPDATE accounts SET balance = balance - 5, note = 'x' WHERE id = 2",
        // Insert, then delete: none either.
        "INSERT INTO items VALUES (9, 90, 'tmp')",
        "DELETE FROM items WHERE id = 9",
        // A real net change: one row changed, one deleted, one inserted.
        "UPDATE notes SET body = 'new' WHERE id = 1",
        "DELETE FROM notes WHERE id = 2",
        "INSERT INTO notes VALUES (3, 'three')",
    ];
    let truth = net_truth(&db, &statements, &["accounts", "items", "notes"]);
    assert_eq!(
        truth,
        [
            ("accounts".to_string(), [0, 0, 0]),
            ("items".to_string(), [0, 0, 0]),
            ("notes".to_string(), [1, 1, 1]),
        ],
        "the truth"
    );

    let out = dry_run(&db, &statements);
    assert_summary(&out);
    let (_, totals) = shown_counts(&out);
    // The operations, as the server counted them, are still shown.
    assert!(
        totals.contains(&("accounts".to_string(), [0, 4, 0])),
        "{out:?}"
    );
    assert!(
        totals.contains(&("items".to_string(), [1, 0, 1])),
        "{out:?}"
    );
    // Next to them, the net change, which is the truth.
    let mut net = counts_after(&out.stderr, "Net change, per table");
    net.sort();
    assert_eq!(net, truth, "{out:?}");
    // The trigger's table was not captured: its net change is not claimed.
    assert!(
        out.stderr
            .contains("Net change of tally not known: its rows are not captured"),
        "{out:?}"
    );
    assert_eq!(
        db.value("SELECT string_agg(id || ':' || body, ',' ORDER BY id) FROM notes")
            .as_deref(),
        Some("1:old,2:gone")
    );
    assert_eq!(count(&db, "items"), 5);
    assert_eq!(count(&db, "tally"), 0);
}

#[test]
fn a_net_change_the_images_cannot_explain_is_not_claimed() {
    let db = TestDb::new("pt_net_unknown");
    db.exec(&format!(
        "CREATE TABLE stock (id int PRIMARY KEY, qty int NOT NULL); \
         INSERT INTO stock VALUES (1, 5), (2, 6); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON stock TO {WRITER};"
    ));
    // The second statement is shown with counts only (a data-modifying CTE): the
    // images of the first no longer explain the table, so no net change is claimed.
    let statements = [
        "UPDATE stock SET qty = qty + 1 WHERE id = 1",
        "WITH d AS (UPDATE stock SET qty = qty - 1 WHERE id = 1 RETURNING id) SELECT count(*) FROM d",
    ];
    let truth = net_truth(&db, &statements, &["stock"]);
    assert_eq!(truth, [("stock".to_string(), [0, 0, 0])], "the truth");
    let out = dry_run(&db, &statements);
    assert_summary(&out);
    if out.stderr.contains("Net change, per table") {
        // Captured exactly (issue 12, item 10): then the figure is the truth.
        let net = counts_after(&out.stderr, "Net change, per table");
        assert_eq!(net, truth, "{out:?}");
    } else {
        assert!(
            out.stderr.contains("Net change of stock not known"),
            "{out:?}"
        );
    }
    assert_eq!(count(&db, "stock WHERE qty = 5"), 1);
}

#[test]
fn a_skipping_trigger_or_an_instead_rule_is_not_blamed_for_doing_more() {
    let db = TestDb::new("pt_blame");
    db.exec(&format!(
        "CREATE TABLE parents (id int PRIMARY KEY); \
         CREATE TABLE kids (id int PRIMARY KEY, parent int REFERENCES parents ON DELETE CASCADE); \
         INSERT INTO parents VALUES (1), (2); INSERT INTO kids VALUES (1, 1), (2, 2), (3, 2); \
         CREATE FUNCTION keep_two() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF OLD.id = 2 THEN RETURN NULL; END IF; RETURN OLD; END $$; \
         CREATE TRIGGER keep_two BEFORE DELETE ON parents FOR EACH ROW EXECUTE FUNCTION keep_two(); \
         CREATE TABLE docs (id int PRIMARY KEY, gone bool NOT NULL DEFAULT false); \
         INSERT INTO docs VALUES (1), (2); \
         CREATE RULE soft AS ON DELETE TO docs DO INSTEAD UPDATE docs SET gone = true WHERE id = OLD.id; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON parents, kids, docs TO {WRITER};"
    ));
    let skip = "DELETE FROM parents WHERE id IN (1, 2)";
    let rule = "DELETE FROM docs WHERE id = 1";
    let measure = "SELECT (SELECT count(*) FROM parents), (SELECT count(*) FROM kids), \
                   (SELECT count(*) FROM docs WHERE gone)";
    let (before, after) = truth(&db, &format!("{skip}; {rule}"), measure);
    assert_eq!(before, ["2", "3", "0"]);
    // The truth: one parent and its one kid deleted; one doc updated, none deleted.
    assert_eq!(after, ["1", "2", "1"]);
    let out = dry_run(&db, &[skip, rule]);
    assert_summary(&out);
    assert!(!out.stdout.contains("did more"), "{out:?}");
    // The foreign-key line says what the server counted, and the warning names the
    // trigger that skipped the row.
    assert!(
        out.stdout
            .contains("Foreign keys: deleting 1 row of parents removes 1 row of kids\n"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(
            "foreign keys explain 3 deletes in kids, but the server counted 1: a BEFORE trigger on parents skipped rows\n"
        ),
        "{out:?}"
    );
    // A trigger without an EXCEPTION block cannot undo work: the counts are exact.
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    assert!(!out.stderr.contains("upper bound"), "{out:?}");
    let (_, totals) = shown_counts(&out);
    assert!(
        totals.contains(&("parents".to_string(), [0, 0, 1])),
        "{out:?}"
    );
    assert!(totals.contains(&("kids".to_string(), [0, 0, 1])), "{out:?}");
    assert!(totals.contains(&("docs".to_string(), [0, 1, 0])), "{out:?}");
    assert_eq!(count(&db, "parents"), 2);
    assert_eq!(count(&db, "docs WHERE gone"), 0);
}

#[test]
fn a_trigger_that_deletes_the_row_its_update_changed_is_flagged() {
    let db = TestDb::new("pt_self_delete");
    db.exec(&format!(
        "CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL); \
         INSERT INTO jobs VALUES (1, 'new'), (2, 'new'); \
         CREATE FUNCTION reap() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.state = 'done' THEN DELETE FROM jobs WHERE id = NEW.id; \
           INSERT INTO jobs VALUES (NEW.id + 100, 'archived'); END IF; RETURN NULL; END $$; \
         CREATE TRIGGER reap AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION reap(); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO {WRITER};"
    ));
    let statement = "UPDATE jobs SET state = 'done' WHERE id = 1";
    let (_, after) = truth(
        &db,
        statement,
        "SELECT (SELECT count(*) FROM jobs WHERE id = 1), (SELECT count(*) FROM jobs WHERE id = 101)",
    );
    // The truth: the updated row is gone, and a row was inserted.
    assert_eq!(after, ["0", "1"]);
    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    assert!(!out.stdout.contains("the capture saw"), "{out:?}");
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    let (shown, _) = shown_counts(&out);
    assert_eq!(shown, [("jobs".to_string(), [1, 1, 1])], "{out:?}");
    // One delete and one insert on an unpartitioned table are not a moved row.
    assert!(
        out.stdout
            .contains("the server also counted 2 rows of jobs inserted or deleted"),
        "{out:?}"
    );
    assert_eq!(count(&db, "jobs WHERE state = 'new'"), 2);
}

#[test]
fn counts_are_upper_bounds_only_where_code_can_undo_work() {
    let db = TestDb::new("pt_narrow");
    db.exec(&format!(
        "CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL); \
         INSERT INTO orders SELECT g, g FROM generate_series(1, 4) g; \
         CREATE TABLE log (id serial PRIMARY KEY, order_id int NOT NULL); \
         CREATE TABLE seen (order_id int PRIMARY KEY); \
         CREATE FUNCTION remember(o int) RETURNS void LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO seen VALUES (o); EXCEPTION WHEN unique_violation THEN NULL; END $$; \
         CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO log (order_id) VALUES (NEW.id); RETURN NEW; END $$; \
         CREATE TRIGGER log_it AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION log_it(); \
         CREATE FUNCTION seen_it() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM remember(NEW.id); RETURN NULL; END $$; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON orders, log, seen TO {WRITER}; \
         GRANT USAGE ON SEQUENCE log_id_seq TO {WRITER};"
    ));
    // A trigger with no EXCEPTION block, calling nothing that has one: exact counts.
    let update = "UPDATE orders SET total = total + 1 WHERE id <= 2";
    let (_, after) = truth(&db, update, "SELECT (SELECT count(*) FROM log)");
    assert_eq!(after, ["2"]);
    let block = "DO $$ BEGIN UPDATE orders SET total = 0 WHERE id = 4; END $$";
    let out = dry_run(&db, &[update, block]);
    assert_summary(&out);
    let (_, totals) = shown_counts(&out);
    assert!(totals.contains(&("log".to_string(), [3, 0, 0])), "{out:?}");
    assert!(!out.stdout.contains("upper bound"), "{out:?}");
    assert!(!out.stderr.contains("upper bound"), "{out:?}");

    // A trigger that calls a function with an EXCEPTION block: upper bounds, naming it.
    db.exec(
        "CREATE TRIGGER seen_it AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION seen_it()",
    );
    let out = dry_run(&db, &[update]);
    assert_summary(&out);
    assert!(
        out.stdout.contains("NOTE: these counts are upper bounds: triggers on orders ran, and function remember() has an EXCEPTION block"),
        "{out:?}"
    );
    assert_eq!(count(&db, "log"), 0);
    assert_eq!(count(&db, "seen"), 0);
}

// ---------------------------------------------------------------------------------------
// 10. Writes inside a CTE are captured per table.
// ---------------------------------------------------------------------------------------

/// The rows of the diff grid under the header `heading` (cells trimmed, header first).
fn diff_rows(text: &str, heading: &str) -> Vec<Vec<String>> {
    grid_after(text, heading)
}

#[test]
fn a_delete_cte_feeding_an_insert_is_captured_table_by_table() {
    let db = TestDb::new("pt_cte_move");
    db.exec(&format!(
        "CREATE TABLE live (id int PRIMARY KEY, v text); \
         CREATE TABLE archive (id int PRIMARY KEY, v text); \
         INSERT INTO live VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON live, archive TO {WRITER};"
    ));
    let statement =
        "WITH d AS (DELETE FROM live WHERE id <= 2 RETURNING *) INSERT INTO archive SELECT * FROM d";
    let truth = net_truth(&db, &[statement], &["archive", "live"]);
    assert_eq!(
        truth,
        [
            ("archive".to_string(), [2, 0, 0]),
            ("live".to_string(), [0, 0, 2]),
        ],
        "the truth"
    );

    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    assert!(out.stdout.contains("INSERT 0 2\n"), "{out:?}");
    // Each table's rows, as the server changed them.
    assert!(
        out.stdout.contains("WITH d:\nDELETE live: 2 rows deleted"),
        "{out:?}"
    );
    assert_eq!(
        diff_rows(&out.stdout, "DELETE live: 2 rows deleted"),
        [["id", "v"], ["1", "a"], ["2", "b"]]
    );
    assert!(
        out.stdout
            .contains("main statement:\nINSERT archive: 2 rows inserted"),
        "{out:?}"
    );
    assert_eq!(
        diff_rows(&out.stdout, "INSERT archive: 2 rows inserted"),
        [["id", "v"], ["1", "a"], ["2", "b"]]
    );
    assert!(!out.stdout.contains("counts only"), "{out:?}");
    // The net change, which the digest binds, is the truth for both tables, and every
    // changed row was captured with its key: undo is possible.
    let mut net = counts_after(&out.stderr, "Net change, per table");
    net.sort();
    assert_eq!(net, truth, "{out:?}");
    assert!(out.stderr.contains("Undo: possible"), "{out:?}");
    let (statement_counts, _) = shown_counts(&out);
    let mut statement_counts = statement_counts;
    statement_counts.sort();
    assert_eq!(
        statement_counts,
        [
            ("archive".to_string(), [2, 0, 0]),
            ("live".to_string(), [0, 0, 2]),
        ]
    );
    assert_eq!(count(&db, "live"), 3);
    assert_eq!(count(&db, "archive"), 0);
}

#[test]
fn two_update_ctes_on_two_tables_and_a_main_query() {
    let db = TestDb::new("pt_cte_two");
    db.exec(&format!(
        "CREATE TABLE acct (id int PRIMARY KEY, balance numeric NOT NULL); \
         CREATE TABLE ledger (id int PRIMARY KEY, note text); \
         INSERT INTO acct VALUES (1, 10), (2, 20); INSERT INTO ledger VALUES (1, 'x'), (2, 'y'); \
         GRANT SELECT, UPDATE ON acct, ledger TO {WRITER};"
    ));
    let statement = "WITH a AS (UPDATE acct SET balance = balance - 5 WHERE id = 1 RETURNING id), \
                     l AS (UPDATE ledger SET note = 'paid' WHERE id = 2 RETURNING id) \
                     SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM l) AS changed";
    let truth = net_truth(&db, &[statement], &["acct", "ledger"]);
    assert_eq!(
        truth,
        [
            ("acct".to_string(), [0, 1, 0]),
            ("ledger".to_string(), [0, 1, 0]),
        ],
        "the truth"
    );
    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    // The user's own result, as psql shows it.
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "changed")
        .unwrap_or_else(|| panic!("no result: {out:?}"));
    assert_eq!(lines[at + 2..at + 4], ["2", "(1 row)"], "{out:?}");
    assert_eq!(
        diff_rows(&out.stdout, "UPDATE acct: 1 row updated"),
        [["id", "balance"], ["1", "10 → 5"]]
    );
    assert_eq!(
        diff_rows(&out.stdout, "UPDATE ledger: 1 row updated"),
        [["id", "note"], ["2", "y → paid"]]
    );
    let mut net = counts_after(&out.stderr, "Net change, per table");
    net.sort();
    assert_eq!(net, truth, "{out:?}");
    assert!(out.stderr.contains("Undo: possible"), "{out:?}");
    assert_eq!(
        db.value("SELECT string_agg(balance::text, ',' ORDER BY id) FROM acct")
            .as_deref(),
        Some("10,20")
    );
}

#[test]
fn a_cte_write_that_cannot_be_captured_exactly_has_counts_only_and_why() {
    let db = TestDb::new("pt_cte_rls");
    db.exec(&format!(
        "CREATE TABLE docs (id int PRIMARY KEY, owner text NOT NULL); \
         INSERT INTO docs VALUES (1, '{WRITER}'), (2, 'other'), (3, 'other'); \
         ALTER TABLE docs ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY see_all ON docs FOR SELECT USING (true); \
         CREATE POLICY upd_all ON docs FOR UPDATE USING (true); \
         CREATE TABLE log (id int PRIMARY KEY, n int); INSERT INTO log VALUES (1, 0); \
         GRANT SELECT, UPDATE ON docs, log TO {WRITER};"
    ));
    // Row-level security on one part: the whole statement runs as typed.
    let rls = "WITH d AS (UPDATE docs SET owner = 'x' WHERE id >= 2 RETURNING id) \
               UPDATE log SET n = (SELECT count(*) FROM d) WHERE id = 1";
    // Two parts on one table: which change wins depends on the order they run in.
    let same = "WITH d AS (UPDATE log SET n = 5 WHERE id = 1 RETURNING id) \
                UPDATE log SET n = 7 WHERE id = 1";
    let truth = net_truth(&db, &[rls, same], &["docs", "log"]);
    assert_eq!(
        truth,
        [
            ("docs".to_string(), [0, 2, 0]),
            ("log".to_string(), [0, 1, 0]),
        ],
        "the truth"
    );
    let out = dry_run(&db, &[rls, same]);
    assert_summary(&out);
    assert!(
        out.stdout
            .contains("row-level security applies to docs for role"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("two parts of the statement write log and log"),
        "{out:?}"
    );
    // Counts only, from the server: the truth.
    let (_, totals) = shown_counts(&out);
    let mut totals = totals;
    totals.sort();
    assert_eq!(
        totals,
        [
            ("docs".to_string(), [0, 2, 0]),
            ("log".to_string(), [0, 2, 0]),
        ],
        "{out:?}"
    );
    assert!(
        out.stderr.contains("Net change of docs not known"),
        "{out:?}"
    );
    assert!(out.stderr.contains("Undo: IMPOSSIBLE"), "{out:?}");
    assert_eq!(count(&db, "docs WHERE owner = 'x'"), 0);
}

#[test]
fn a_cte_write_without_returning_and_its_cascade_are_told_apart() {
    let db = TestDb::new("pt_cte_cascade");
    db.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent ON DELETE CASCADE); \
         CREATE TABLE other (id int PRIMARY KEY, v int); \
         INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (1, 1), (2, 1), (3, 2); \
         INSERT INTO other VALUES (1, 10); \
         GRANT SELECT, INSERT, UPDATE, DELETE ON parent, child, other TO {WRITER};"
    ));
    let statement =
        "WITH p AS (DELETE FROM parent WHERE id = 1) UPDATE other SET v = v + 1 WHERE id = 1";
    let truth = net_truth(&db, &[statement], &["child", "other", "parent"]);
    assert_eq!(
        truth,
        [
            ("child".to_string(), [0, 0, 2]),
            ("other".to_string(), [0, 1, 0]),
            ("parent".to_string(), [0, 0, 1]),
        ],
        "the truth"
    );
    let out = dry_run(&db, &[statement]);
    assert_summary(&out);
    assert!(out.stdout.contains("UPDATE 1\n"), "{out:?}");
    // One column: a grid without `|`.
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("DELETE parent: 1 row deleted"))
        .unwrap_or_else(|| panic!("no diff of parent: {out:?}"));
    assert_eq!(lines[at - 1], "WITH p:", "{out:?}");
    assert_eq!(lines[at + 1], "id", "{out:?}");
    assert_eq!(lines[at + 3], "1", "{out:?}");
    assert_eq!(
        diff_rows(&out.stdout, "UPDATE other: 1 row updated"),
        [["id", "v"], ["1", "10 → 11"]]
    );
    // The server's counts, cascade included, are the truth.
    let (mut statement_counts, _) = shown_counts(&out);
    statement_counts.sort();
    assert_eq!(
        statement_counts,
        [
            ("child".to_string(), [0, 0, 2]),
            ("other".to_string(), [0, 1, 0]),
            ("parent".to_string(), [0, 0, 1]),
        ]
    );
    // The captured tables' net change is known; the cascade's is not claimed, and undo
    // says before COMMIT that it is impossible, naming the table.
    let mut net = counts_after(&out.stderr, "Net change, per table");
    net.sort();
    assert_eq!(
        net,
        [
            ("other".to_string(), [0, 1, 0]),
            ("parent".to_string(), [0, 0, 1]),
        ],
        "{out:?}"
    );
    assert!(
        out.stderr.contains("Net change of child not known"),
        "{out:?}"
    );
    assert!(out.stderr.contains("Undo: IMPOSSIBLE"), "{out:?}");
    assert!(out.stderr.contains("  - child: "), "{out:?}");
    assert_eq!(count(&db, "child"), 3);
}
