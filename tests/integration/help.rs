//! `\h`, with psql 15 as the contract: the same `\h` lines through psql and through
//! pgward must print the same bytes on standard output (the list of commands at psql's
//! 80 columns off a terminal, single pages, multi-word and prefix topics, every page, and
//! the answer for an unknown topic). On a real pseudo-terminal the list fills the
//! terminal's width and help taller than the terminal goes through the pager.

use crate::term::{Start, Term};
use crate::util::{self, cluster, TestDb, TestShell, READER};

/// psql reading `input` from a pipe, its standard output. Untranslated (`LC_ALL=C`), as
/// pgward's copy of the help text was captured.
fn psql(db: &TestDb, input: &str) -> String {
    let out = util::psql_piped(
        &cluster().conninfo(&db.name),
        &[],
        &[("LC_ALL", "C")],
        input,
    );
    assert!(out.status.success(), "psql: {out:?}");
    String::from_utf8(out.stdout).expect("psql's help is UTF-8")
}

#[test]
fn help_prints_what_psql_prints() {
    let db = TestDb::new("help_psql");
    for input in [
        "\\h\n",
        "\\h update\n",
        "\\help ALTER TABLE\n",
        "\\h create index\n",
        "\\h nosuch\n",
        "\\h sel;\n",
        "\\h alter table nosuch\n",
        "\\h alter nosuch\n",
        "\\help\n\\h *\n",
    ] {
        let theirs = psql(&db, input);
        assert!(!theirs.is_empty(), "psql printed help for {input:?}");
        let ours = TestShell::new(&db).stdin(input).run();
        assert_eq!(ours.code, 0, "{input:?}: {ours:?}");
        assert!(
            ours.stdout == theirs,
            "{input:?}: pgward printed\n{}\npsql printed\n{theirs}",
            ours.stdout
        );
    }
}

#[test]
fn help_on_a_terminal_is_as_wide_as_it_and_paged_when_tall() {
    let db = TestDb::new("help_pager");
    let home = tempfile::tempdir().expect("home");
    // The pager marks every line it shows.
    let pager = "sed 's/^/PAGED: /'";
    let mut t = Term::start_full(
        &db,
        home.path(),
        Start::WithPassword,
        &[],
        &[("PAGER", pager)],
        None,
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    // Every page is far taller than the 50-line terminal: paged.
    t.line("\\h *");
    t.expect("PAGED: Command:     VALUES");
    t.prompt(READER, "=>");
    // One page fits: not paged.
    t.line("\\h update");
    let out = t.expect("URL: https://www.postgresql.org/docs/15/sql-update.html");
    t.ensure(!out.contains("PAGED:"), "a short page is not paged");
    t.prompt(READER, "=>");
    // The list fills the 250 columns (psql's layout at that width), not 80.
    let list = pgward::repl::help::help("", 250);
    let first = list.lines().nth(1).expect("a first row");
    t.ensure(first.len() > 200, "seven columns of names in 250");
    t.line("\\h");
    let out = t.expect(first);
    t.ensure(!out.contains("PAGED:"), "the list fits: not paged");
    t.prompt(READER, "=>");
    t.quit();
}
