//! The screen is not the attacker's: names, values, notices, diffs and the COMMIT summary
//! that carry terminal escape sequences and bidi overrides reach the terminal escaped,
//! while the data keeps every byte.

use pgward::render::text::foreign;

use crate::util::{TestDb, TestShell, READER, WRITER};

/// Clear the screen, reverse the text, set a scroll region that hides what follows.
const CLEAR: &str = "\u{1b}[2J";
const RLO: &str = "\u{202e}";
const SCROLL: &str = "\u{1b}[1;5r";

fn hostile(word: &str) -> String {
    format!("{word}{CLEAR}{RLO}{SCROLL}")
}

/// `s` as a SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `s` as a SQL string literal (standard_conforming_strings is on).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[test]
fn hostile_names_values_and_notices_are_shown_escaped() {
    let db = TestDb::new("screen");
    let (table, column, value) = (hostile("tab"), hostile("col"), hostile("val"));
    let (t, c) = (ident(&table), ident(&column));
    db.exec(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, {c} text); \
         INSERT INTO {t} VALUES (1, {v}), (2, 'plain'); \
         GRANT SELECT, UPDATE ON {t} TO {WRITER}; GRANT SELECT ON {t} TO {READER}; \
         CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN RAISE NOTICE '%', {n}; RETURN 1; END $$; \
         GRANT EXECUTE ON FUNCTION noisy() TO {READER}, {WRITER};",
        v = literal(&value),
        n = literal(&hostile("notice")),
    ));
    let script = format!(
        "select * from {t} order by id;\n\
         select noisy() as {c};\n\
         do $$ begin raise notice '%', {n}; end $$;\n\
         update {t} set {c} = {v} where id = 2;\n\
         commit;\n",
        n = literal(&hostile("do")),
        v = literal(&hostile("new")),
    );
    let out = TestShell::new(&db).stdin(&script).run();
    // No terminal to confirm at: the COMMIT is refused after the summary was shown.
    assert_eq!(out.code, 2, "{out:?}");

    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for raw in [CLEAR, RLO, SCROLL, "\u{1b}"] {
            assert!(!stream.contains(raw), "{name} holds {raw:?} raw: {out:?}");
        }
        assert_eq!(foreign(stream), None, "{name}: {out:?}");
    }
    let shown = |word: &str| format!("{word}\\x1b[2J\\u{{202e}}\\x1b[1;5r");
    // Column header, table values and the diff's column and values.
    assert!(out.stdout.contains(&shown("col")), "{out:?}");
    assert!(out.stdout.contains(&shown("val")), "{out:?}");
    assert!(out.stdout.contains(&shown("new")), "{out:?}");
    assert!(
        // Named as PostgreSQL's quote_ident would (issue 12): quoted.
        out.stdout.contains(&format!("UPDATE \"{}\"", shown("tab"))),
        "{out:?}"
    );
    // Notices from a function and from a DO block.
    assert!(out.stderr.contains(&shown("notice")), "{out:?}");
    assert!(out.stderr.contains(&shown("do")), "{out:?}");
    // The COMMIT summary: the statement as typed and the table's counts.
    let summary = &out.stderr[out
        .stderr
        .find("Change set of transaction")
        .expect("a summary")..];
    assert!(summary.contains(&shown("new")), "{summary}");
    assert!(
        summary.contains(&format!(" \"{}\" ", shown("tab"))),
        "{summary}"
    );

    // Escaping is for the screen only: the data keeps every byte, and the refused
    // COMMIT changed nothing.
    let stored = crate::util::admin_rows(
        crate::util::cluster(),
        &db.name,
        &format!("SELECT id::text, {c} FROM {t} ORDER BY id"),
    );
    assert_eq!(
        stored,
        vec![
            vec![Some("1".to_string()), Some(value.clone())],
            vec![Some("2".to_string()), Some("plain".to_string())],
        ]
    );
    assert_eq!(
        db.value(&format!(
            "SELECT attname FROM pg_attribute WHERE attrelid = {}::regclass AND attnum = 2",
            literal(&t)
        )),
        Some(column)
    );
}
