//! How loud pgward is in the server log: with `log_statement = all` for the login, the
//! statements one typed UPDATE (ended by the script's implicit ROLLBACK) and one typed
//! SELECT cost, counted in a scratch cluster's log. The figures are recorded in
//! docs/benchmarks.md; the ceilings here keep them from growing unnoticed.

use crate::commit::own_cluster;
use crate::util::{self, TestDb, TestShell, LOGIN};

/// The statement lines (`LOG:  statement:` and `LOG:  execute`) in the server log.
fn logged(c: &pgward::scratch::Cluster) -> Vec<String> {
    std::fs::read_to_string(c.log_file())
        .expect("server log")
        .lines()
        .filter(|l| l.contains("LOG:  statement: ") || l.contains("LOG:  execute "))
        .map(str::to_string)
        .collect()
}

/// Runs `sql` with `-c` as the login and returns the statement lines it added.
fn count(c: &pgward::scratch::Cluster, db: &TestDb, sql: &str) -> Vec<String> {
    let before = logged(c).len();
    let port = c.port().to_string();
    let out = TestShell::new(db)
        .args(["-h", c.host(), "-p", &port, "-c", sql])
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    logged(c)[before..].to_vec()
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
    // The session's start (role check, defaults) is counted with a SELECT alone first.
    let select = count(&c, &db, "select 1");
    let update = count(&c, &db, "update items set qty = 1 where id = 1");
    eprintln!(
        "server log: {} statement lines for `select 1`, {} for one UPDATE + ROLLBACK",
        select.len(),
        update.len()
    );
    // The lines themselves, for `--nocapture` (what a DBA sees).
    eprintln!("{select:#?}\n{update:#?}");
    // The typed statement is in the log as typed (inside pgward's capture or alone).
    assert!(
        update
            .iter()
            .any(|l| l.contains("update items set qty = 1 where id = 1")),
        "{update:#?}"
    );
    // Measured 2026-11-26 (see docs/benchmarks.md): 22 and 52; a ceiling with a little
    // room, so that any new query of pgward's shows here.
    assert!(select.len() <= 24, "{}: {select:#?}", select.len());
    assert!(update.len() <= 54, "{}: {update:#?}", update.len());
    // The planner settings for the capture: read in one statement, set in one.
    let planner = update
        .iter()
        .filter(|l| l.contains("enable_hashjoin"))
        .count();
    assert_eq!(planner, 3, "{update:#?}");
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
