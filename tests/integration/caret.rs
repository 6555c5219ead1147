//! The caret under an error points into the typed statement where psql's does, however
//! pgward sent it: as typed (a read), refused by its own parse without sending anything
//! (a syntax error), or as a write's capture, a rewrite around the typed text. Each
//! statement runs in pgward and in psql 15 against the same database, and the `LINE n:`
//! line and the caret line under it must be the same bytes.

use crate::util::{self, cluster, TestDb, TestShell};

/// The `LINE n: …` line of an error and the caret line after it.
fn caret_lines(stderr: &str) -> Option<(String, String)> {
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("LINE ") {
            return Some((line.to_string(), lines.next()?.to_string()));
        }
    }
    None
}

#[test]
fn the_caret_points_where_psqls_does() {
    let db = TestDb::new("caret");
    let conninfo = cluster().conninfo(&db.name);
    for sql in [
        // A read, sent as typed.
        "select qty, nope from items",
        // pgward's own parse refuses these, sending nothing.
        "select qty from items where",
        "select qty from from items",
        // Writes, sent as their capture.
        "update items set qty = 1 + 'x' where id = 1",
        "update items set qty = 2 where nope = 1",
        "update items\n   set note = 'a'\n where qty = 'many'",
        "delete from items where id = 'one'",
        "insert into items (id, qty, note) values (9, 'x', 'n')",
    ] {
        let ours = TestShell::new(&db).args(["-c", sql]).run();
        assert_eq!(ours.code, 1, "{sql}: {ours:?}");
        let theirs = util::psql_piped(&conninfo, &["-c", sql], &[], "");
        let theirs = String::from_utf8_lossy(&theirs.stderr).into_owned();
        let expected = caret_lines(&theirs).unwrap_or_else(|| panic!("psql: {theirs}"));
        assert_eq!(
            caret_lines(&ours.stderr),
            Some(expected),
            "{sql}: ours {ours:?}, psql's {theirs}"
        );
        // The same SQLSTATE as the server's.
        let code = |stderr: &str| {
            stderr
                .lines()
                .find_map(|l| l.strip_prefix("ERROR:  "))
                .map(|m| m.to_string())
        };
        let ours_message = code(&ours.stderr).expect("an error");
        let theirs_message = code(&theirs).expect("psql's error");
        assert!(
            ours_message.ends_with(&theirs_message),
            "{sql}: {ours_message} against psql's {theirs_message}"
        );
    }
    // Nothing was written.
    assert_eq!(db.value("SELECT count(*) FROM items").as_deref(), Some("5"));
    assert_eq!(
        db.value("SELECT count(*) FROM items WHERE note = 'a' OR qty = 2")
            .as_deref(),
        Some("0")
    );
}
