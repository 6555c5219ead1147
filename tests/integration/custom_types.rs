//! Columns of types tokio-postgres does not know (an enum, a composite holding it, a
//! range over it, an array of it): tokio-postgres looks each one up with statements it
//! prepares under a name and keeps for the life of the connection. pgward's bridge sends
//! every statement unnamed (src/conn/unnamed.rs), so after reads, a previewed write and
//! a COMMIT on such tables the session's backend holds no prepared statement, as
//! `pg_prepared_statements` in that same session says. The superuser checks the data.

use crate::term::{Start, Term};
use crate::util::{TestDb, TestShell, READER, WRITER};

/// One table per kind of type, each with ids 1..=8.
pub const TABLES: [&str; 4] = ["feel_enum", "feel_pair", "feel_range", "feel_array"];

/// Creates the types and [`TABLES`], every value `sad` (or holding it).
pub fn setup(db: &TestDb) {
    db.exec(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); \
         CREATE TYPE pair AS (a int, b mood); \
         CREATE TYPE mood_range AS RANGE (subtype = mood); \
         CREATE TABLE feel_enum (id int PRIMARY KEY, v mood NOT NULL); \
         CREATE TABLE feel_pair (id int PRIMARY KEY, v pair NOT NULL); \
         CREATE TABLE feel_range (id int PRIMARY KEY, v mood_range NOT NULL); \
         CREATE TABLE feel_array (id int PRIMARY KEY, v mood[] NOT NULL); \
         INSERT INTO feel_enum SELECT g, 'sad' FROM generate_series(1, 8) g; \
         INSERT INTO feel_pair SELECT g, format('(%s,sad)', g)::pair FROM generate_series(1, 8) g; \
         INSERT INTO feel_range SELECT g, '[sad,ok]' FROM generate_series(1, 8) g; \
         INSERT INTO feel_array SELECT g, '{{sad,ok}}' FROM generate_series(1, 8) g; \
         GRANT SELECT, UPDATE ON {t} TO {WRITER}; GRANT SELECT ON {t} TO {READER};",
        t = TABLES.join(", ")
    ));
}

/// How row `id` of `table` reads before any change, as PostgreSQL prints it.
pub fn stored(table: &str, id: usize) -> String {
    match table {
        "feel_enum" => "sad".into(),
        "feel_pair" => format!("({id},sad)"),
        "feel_range" => "[sad,ok]".into(),
        _ => "{sad,ok}".into(),
    }
}

/// The value an update of `table` sets (SQL), and how it reads afterwards.
pub fn change(table: &str) -> (&'static str, &'static str) {
    match table {
        "feel_enum" => ("'happy'", "happy"),
        "feel_pair" => ("'(9,happy)'", "(9,happy)"),
        "feel_range" => ("'[ok,happy]'", "[ok,happy]"),
        _ => ("'{happy}'", "{happy}"),
    }
}

/// Every row of `table` as `id:value`, read by the superuser.
pub fn rows(db: &TestDb, table: &str) -> String {
    db.value(&format!(
        "SELECT string_agg(id || ':' || v::text, ',' ORDER BY id) FROM {table}"
    ))
    .unwrap_or_default()
}

/// Whether `out` has a line that is `text` once trimmed.
pub fn has_line(out: &str, text: &str) -> bool {
    out.lines().any(|l| l.trim() == text)
}

/// Whether `out` has a preview diff line `id | old → new`.
pub fn has_diff(out: &str, id: usize, old: &str, new: &str) -> bool {
    let diff = format!("{id} | {old} → {new}");
    out.lines()
        .any(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join(" | ") == diff)
}

#[test]
fn custom_types_leave_no_prepared_statement_on_the_backend() {
    let db = TestDb::new("custom_types");
    setup(&db);
    let before: Vec<String> = TABLES.iter().map(|t| rows(&db, t)).collect();
    let mut script = String::new();
    for t in TABLES {
        script.push_str(&format!("select v from {t} where id = 1;\n"));
    }
    for t in TABLES {
        let (set, _) = change(t);
        script.push_str(&format!("update {t} set v = {set} where id = 2;\n"));
    }
    script.push_str(
        "select 'named=' || count(*) as named from pg_prepared_statements;\n\
         rollback;\n\
         select 'named=' || count(*) as named from pg_prepared_statements;\n",
    );
    let out = TestShell::new(&db).stdin(&script).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("ERROR"), "{out:?}");
    for t in TABLES {
        assert!(has_line(&out.stdout, &stored(t, 1)), "{t} reads: {out:?}");
        let (_, new) = change(t);
        assert!(
            has_diff(&out.stdout, 2, &stored(t, 2), new),
            "{t}'s preview: {out:?}"
        );
    }
    assert_eq!(
        out.stdout.lines().filter(|l| l.trim() == "named=0").count(),
        2,
        "no prepared statement in the transaction nor after it: {out:?}"
    );
    let after: Vec<String> = TABLES.iter().map(|t| rows(&db, t)).collect();
    assert_eq!(after, before, "nothing was committed");

    // A COMMIT on such a table, confirmed at a terminal, and the same check after it.
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::start(&db, home.path(), Start::WithPassword);
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    t.line("select v from feel_range where id = 3;");
    t.expect("[sad,ok]");
    t.prompt(READER, "=>");
    t.line("update feel_pair set v = '(9,happy)' where id = 3;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits",
    );
    t.line("select 'named=' || count(*) as named from pg_prepared_statements;");
    t.expect("named=0");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(
        rows(&db, "feel_pair"),
        before[1].replace("3:(3,sad)", "3:(9,happy)"),
        "the committed change, and only it"
    );
    for (i, table) in TABLES.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert_eq!(rows(&db, table), before[i], "{table} unchanged");
    }
}
