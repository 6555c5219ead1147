//! How loud and how honest pgward is in the server log: with `log_statement = all` for the
//! login, the statements a session's start, a typed SELECT, an UPDATE + ROLLBACK and an
//! UPDATE + COMMIT cost, counted in a scratch cluster's own log; every one of pgward's
//! own statements carries its marker comment, and the typed statement is there as typed.
//! The figures are recorded in docs/benchmarks.md; the ceilings here keep them from
//! growing unnoticed.

use crate::commit::own_cluster;
use crate::term::{Start, Term};
use crate::util::{self, TestDb, TestShell, LOGIN};

/// Every statement the server logged (`LOG:  statement:` and `LOG:  execute …:`), with
/// the lines of a multi-line statement joined again.
fn logged(c: &pgward::scratch::Cluster) -> Vec<String> {
    let text = std::fs::read_to_string(c.log_file()).expect("server log");
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        // A new entry opens with the prefix `%m [%p] `: `2026-11-26 06:11:24.455 UTC [`.
        let entry = line.len() > 24
            && line.as_bytes()[4] == b'-'
            && line[..4].bytes().all(|b| b.is_ascii_digit())
            && line.contains(" UTC [");
        if !entry {
            if open {
                let last = out.last_mut().expect("an open statement");
                // The server's stderr format indents continuation lines with a tab.
                last.push('\n');
                last.push_str(line.strip_prefix('\t').unwrap_or(line));
            }
            continue;
        }
        open = false;
        if let Some((_, s)) = line.split_once("LOG:  statement: ") {
            out.push(s.to_string());
            open = true;
        } else if let Some((_, rest)) = line.split_once("LOG:  execute ") {
            let s = rest.split_once(": ").map(|(_, s)| s).unwrap_or(rest);
            out.push(s.to_string());
            open = true;
        }
    }
    out
}

/// Runs `sql` with `-c` as the login and returns the statements it added to the log.
fn count(c: &pgward::scratch::Cluster, db: &TestDb, sql: &str) -> Vec<String> {
    let before = logged(c).len();
    let port = c.port().to_string();
    let out = TestShell::new(db)
        .args(["-h", c.host(), "-p", &port, "-c", sql])
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    logged(c)[before..].to_vec()
}

/// Runs `update` then COMMIT (confirmed with the environment's name on a pty) and
/// returns the statements it added to the log.
fn count_commit(c: &pgward::scratch::Cluster, db: &TestDb, update: &str) -> Vec<String> {
    let before = logged(c).len();
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("fix.sql");
    std::fs::write(&script, format!("{update};\ncommit;\n")).expect("write the script");
    let port = c.port().to_string();
    let path = script.to_string_lossy().into_owned();
    let mut t = Term::start_with(
        db,
        home.path(),
        Start::WithPassword,
        &["-h", c.host(), "-p", &port, "-f", &path],
    );
    t.expect("UPDATE 1");
    t.expect(&format!(
        "Type the environment name ({}) to COMMIT",
        db.name
    ));
    let env = db.name.clone();
    t.line(&env);
    let exit = t.exit_code();
    assert_eq!(exit, 0, "{}", t.transcript);
    logged(c)[before..].to_vec()
}

/// pgward's own statements open with its marker; anything else must be one of the
/// statements the user typed, exactly.
fn unmarked<'a>(lines: &'a [String], typed: &[&str]) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| !l.starts_with("/* pgward") && !typed.contains(&l.as_str()))
        .collect()
}

#[test]
fn statements_per_typed_statement_in_the_server_log() {
    let name = "t_server_log";
    let c = own_cluster(name);
    util::admin_exec(
        &c,
        "postgres",
        &format!("ALTER ROLE {LOGIN} SET log_statement = 'all'"),
    )
    .expect("log the login's statements");
    let db = TestDb {
        name: name.to_string(),
    };
    // The session's start is what one `select 1` costs beyond a second one.
    let one = count(&c, &db, "select 1");
    let two = count(&c, &db, "select 1; select 1");
    let select = two.len() - one.len();
    let start = one.len() - select;
    let update = "update items set qty = 1 where id = 1";
    let rollback = count(&c, &db, &format!("{update}; rollback"));
    // A second preview of the same table in the session: its catalog facts come from
    // the session's cache, after one query that checks they still hold.
    let twice = count(&c, &db, &format!("{update}; rollback; {update}; rollback"));
    let again = twice.len() - rollback.len();
    let commit = count_commit(&c, &db, "update items set qty = 2 where id = 2");
    eprintln!(
        "server log: {start} statements to start a session; then {select} for `select 1`, \
         {} for an UPDATE + ROLLBACK ({again} for a second one), {} for an UPDATE + COMMIT",
        rollback.len() - start,
        commit.len() - start,
    );
    eprintln!("{twice:#?}");
    // The statements themselves, for `--nocapture` (what a DBA sees).
    eprintln!("{one:#?}\n{rollback:#?}\n{commit:#?}");
    for (lines, typed) in [
        (&one, &["select 1"][..]),
        (&two, &["select 1"][..]),
        (&rollback, &["rollback"][..]),
        (&commit, &[][..]),
    ] {
        let stray = unmarked(lines, typed);
        assert!(stray.is_empty(), "without pgward's marker: {stray:#?}");
    }
    // The typed UPDATE is in the log as typed, in the capture's leading comment.
    let whole = |lines: &[String]| lines.join("\n");
    assert!(whole(&rollback).contains(&format!("typed: {update} */\n")));
    assert!(
        whole(&commit).contains("ticket=none typed: update items set qty = 2 where id = 2 */\n")
    );
    // The COMMIT did commit.
    let qty = util::admin_rows(&c, name, "SELECT qty FROM items WHERE id = 2");
    assert_eq!(qty, vec![vec![Some("2".to_string())]]);
    // Measured 2026-11-26 (see docs/benchmarks.md); a ceiling with a little room, so that
    // any new query of pgward's shows here.
    assert!(start <= START, "{start} to start: {one:#?}");
    assert!(select <= SELECT, "{select} per select: {two:#?}");
    assert!(rollback.len() - start <= ROLLBACK, "{rollback:#?}");
    assert!(commit.len() - start <= COMMIT, "{commit:#?}");
    assert!(
        again <= AGAIN,
        "{again} for a second UPDATE + ROLLBACK: {twice:#?}"
    );
    // The planner settings for the capture: read and set in one statement, restored in one.
    let planner = rollback
        .iter()
        .filter(|l| l.contains("enable_hashjoin"))
        .count();
    assert_eq!(planner, 2, "{rollback:#?}");
    typed_verbatim(&c, &db);
}

/// Ceilings (statements in the server log): a session's start, one `select 1`, one
/// UPDATE + ROLLBACK and one UPDATE + COMMIT.
const START: usize = 12;
const SELECT: usize = 3;
const ROLLBACK: usize = 15;
const COMMIT: usize = 21;
const AGAIN: usize = 10;

/// A typed statement holding `*/` and a newline reaches the server log exactly as typed,
/// inside the capture's comment, and still runs.
fn typed_verbatim(c: &pgward::scratch::Cluster, db: &TestDb) {
    let name = db.name.as_str();
    let typed = "update items set note = 'a */ b /* c'\n  where id = 3";
    let port = c.port().to_string();
    let before = logged(c).len();
    let out = TestShell::new(db)
        .args(["-h", c.host(), "-p", &port, "-c", typed])
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    assert!(out.stdout.starts_with("UPDATE 1\n"), "{out:?}");
    assert!(
        out.stdout.contains("a */ b /* c"),
        "the preview shows the new note: {out:?}"
    );
    let lines = logged(c)[before..].to_vec();
    let capture = lines
        .iter()
        .find(|l| l.contains(typed))
        .unwrap_or_else(|| panic!("{typed:?} verbatim in {lines:#?}"));
    assert!(
        capture.starts_with("/* pgward ticket=none typed: "),
        "{capture}"
    );
    assert!(unmarked(&lines, &[]).is_empty(), "{lines:#?}");
    // The script's implicit ROLLBACK undid the write.
    let note = util::admin_rows(c, name, "SELECT note FROM items WHERE id = 3");
    assert_eq!(note, vec![vec![Some("item 3".to_string())]]);
}

/// A foreign key added in the session is seen by the next preview: nothing pgward
/// learned about the table before the DDL is used after it.
#[test]
fn ddl_in_the_session_reaches_the_next_preview() {
    let db = TestDb::new("slog_ddl");
    db.exec(&format!(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE ch (id int PRIMARY KEY, pid int); \
         INSERT INTO p VALUES (1), (2), (3); INSERT INTO ch VALUES (1, 2), (2, 2), (3, 3); \
         ALTER TABLE p OWNER TO {w}; ALTER TABLE ch OWNER TO {w};",
        w = util::WRITER
    ));
    let out = TestShell::new(&db)
        .stdin(
            "delete from p where id = 1;\n\
             alter table ch add constraint ch_p foreign key (pid) references p on delete cascade;\n\
             delete from p where id = 2;\n",
        )
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    let (first, second) = out
        .stdout
        .split_once("ALTER TABLE")
        .unwrap_or_else(|| panic!("the DDL ran: {out:?}"));
    assert!(
        first.contains("Foreign keys: deleting 1 row of p changes no rows of other tables"),
        "{out:?}"
    );
    assert!(
        second.contains("Foreign keys: deleting 1 row of p removes 2 rows of ch"),
        "{out:?}"
    );
    // Rolled back: the rows and the table as they were, and no constraint.
    assert_eq!(db.value("SELECT count(*) FROM p").as_deref(), Some("3"));
    assert_eq!(db.value("SELECT count(*) FROM ch").as_deref(), Some("3"));
    assert_eq!(
        db.value("SELECT count(*) FROM pg_constraint WHERE conname = 'ch_p'")
            .as_deref(),
        Some("0")
    );
}

/// The statement lines of `update` that name a truncated alias: how often the NOTICE
/// about it shows, for a read and for a write (which pgward runs as its rewrite, next to
/// its own catalog queries that name the table again).
#[test]
fn a_notice_shows_once_and_only_the_users_own() {
    let db = TestDb::new("notice_once");
    let before = db.items();
    let alias = "a".repeat(70);
    let truncated = "a".repeat(63);
    let read = format!("select {alias}.qty from items {alias} where {alias}.id = 1");
    let write = format!("update items {alias} set qty = {alias}.qty + 1 where {alias}.id = 1");
    for sql in [&read, &write] {
        let out = TestShell::new(&db).args(["-c", sql]).run();
        assert!(out.code == 0 || out.code == 2, "{out:?}");
        // SQLSTATE 42622 (name too long), as psql shows it: once per statement.
        let shown = out
            .stderr
            .matches(&format!("will be truncated to \"{truncated}\""))
            .count();
        assert_eq!(shown, 1, "{sql}: {out:?}");
        // pgward's own BEGIN, SET LOCAL and catalog queries raise nothing the user sees.
        assert!(!out.stderr.contains("NOTICE:  there is"), "{out:?}");
    }
    // The script's implicit ROLLBACK undid the write.
    assert_eq!(db.items(), before);
}

/// The author reaches `application_name` inside pgward's BEGIN batch as a literal, not a
/// parameter: one with a quote, a backslash, a semicolon and a non-ASCII letter is set as
/// printable ASCII, the probe accepts it, and the write runs (and is rolled back).
#[test]
fn an_author_with_quotes_and_backslashes_is_a_literal_in_the_begin_batch() {
    let db = TestDb::new("slog_author");
    let before = db.items();
    let out = TestShell::new(&db)
        .args([
            "--author",
            "O'P\\é; x",
            "-c",
            "update items set qty = qty + 1 where id = 1; \
             select current_setting('application_name')",
        ])
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    assert!(out.stdout.starts_with("UPDATE 1\n"), "{out:?}");
    assert!(
        out.stdout.contains("pgward author=O'P\\?; x ticket=none"),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
}
