//! Completion, history hints and highlighting at a real terminal: Tab offers a column
//! after `UPDATE t SET `, a past write is never offered as a hint while a past read is,
//! and the input line is coloured only when colour is allowed (`NO_COLOR` and
//! `--no-color` switch it off, as they switch off the prompt's colour).

use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::reader::Options;

use crate::term::{Term, STEP};
use crate::util::{self, TestDb, PASSWORD, READER, WRITER};

/// Presses Tab after `typed` until `needle` shows (the catalog loads in the background,
/// so the first Tab may come before it); fails after `STEP`.
fn tab_until(t: &mut Term, typed: &str, tabs: &str, needle: &str) {
    let start = Instant::now();
    loop {
        t.send(typed);
        t.send(tabs);
        let tried = Instant::now();
        while tried.elapsed() < Duration::from_millis(700) {
            t.pump();
            if t.pending.contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if start.elapsed() > STEP {
            t.fail(&format!("Tab after {typed:?} never offered {needle:?}"));
        }
        // Empty the line and try again.
        t.ctrl('u');
    }
}

#[test]
fn tab_completes_a_column_after_update_set() {
    let db = TestDb::new("complete_update_set");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    // Two Tabs list the candidates, as readline does: items' columns.
    tab_until(&mut t, "update items set ", "\t\t", "note");
    t.expect("qty");
    t.ctrl('u');
    // One Tab completes a unique prefix; the statement then runs as typed.
    t.send("update items set q\t");
    t.expect("update items set qty");
    t.line("= qty + 1 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.prompt(READER, "=>");
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 1").as_deref(),
        Some("10")
    );
    t.quit();
}

#[test]
fn the_catalog_is_read_again_after_a_transaction_ends() {
    let db = TestDb::new("complete_refresh");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    // The first load is done once a relation is offered.
    tab_until(&mut t, "select * from ite", "\t", "items");
    t.ctrl('u');
    db.exec(&format!(
        "CREATE TABLE late_arrival (x int); GRANT SELECT ON late_arrival TO {READER};"
    ));
    // The end of a transaction (here one that was never open) reloads the names.
    t.line("rollback;");
    t.prompt(READER, "=>");
    tab_until(&mut t, "select * from late", "\t", "late_arrival");
    t.ctrl('u');
    t.quit();
}

#[test]
fn hints_offer_past_reads_never_past_writes() {
    let db = TestDb::new("complete_hints");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("select 7 as seven;");
    t.prompt(READER, "=>");
    t.line("update items set note = 'hinted' where id = 2;");
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.prompt(READER, "=>");
    let mark = t.transcript.len();
    // The write's first letters: no hint. Then a read's: its hint shows, which also
    // proves the editor drew everything typed before it.
    t.send("upd");
    t.send("\x15sel");
    t.expect("ect 7 as seven;");
    let shown = t.transcript[mark..].to_string();
    t.ensure(
        !shown.contains("note = 'hinted'"),
        "a past write was offered as a hint",
    );
    t.ctrl('u');
    t.quit();
    assert_eq!(
        db.value("SELECT note FROM items WHERE id = 2").as_deref(),
        Some("item 2")
    );
}

/// pgward on a pty whose output keeps its escape sequences, with NO_COLOR unset unless
/// `vars` sets it; types `select 42` and returns everything shown up to the result.
fn raw_session(db: &TestDb, extra: &[&str], vars: &[(&str, &str)]) -> String {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 250 rows 50 && exec \"$0\" \"$@\"")
        .arg(util::bin())
        .args([
            "-d",
            &db.login_conninfo(),
            "--write-role",
            WRITER,
            "--read-role",
            READER,
        ])
        .args(extra);
    util::isolate(&mut cmd, home.path());
    cmd.env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .env("PGPASSWORD", PASSWORD);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let options = Options::new()
        .timeout_ms(Some(STEP.as_millis() as u64))
        .strip_ansi_escape_codes(false);
    let mut p = rexpect::session::spawn_with_options(cmd, options).expect("spawn on a pty");
    let mut shown = String::new();
    let wait = |p: &mut rexpect::session::PtySession, what: &str, shown: &mut String| match p
        .exp_string(what)
    {
        Ok(got) => {
            shown.push_str(&got);
            shown.push_str(what);
        }
        Err(e) => panic!("waiting for {what:?}: {e}\n--- shown so far:\n{shown:?}"),
    };
    wait(&mut p, "to quit.", &mut shown);
    wait(&mut p, "=> ", &mut shown);
    p.send("select 42 as answer; -- note\r").expect("type");
    p.flush().expect("flush");
    wait(&mut p, "(1 row)", &mut shown);
    p.send_control('d').expect("ctrl-d");
    let _ = p.exp_eof();
    shown
}

/// The SGR sequences in `s` that set a colour or an attribute (not a plain reset).
fn colours(s: &str) -> Vec<String> {
    let sgr = regex::Regex::new("\x1b\\[([0-9;]*)m").expect("regex");
    sgr.captures_iter(s)
        .map(|c| c[1].to_string())
        .filter(|code| !code.is_empty() && code != "0")
        .collect()
}

#[test]
fn the_input_line_is_highlighted_unless_colour_is_off() {
    let db = TestDb::new("complete_highlight");
    let shown = raw_session(&db, &[], &[]);
    for (what, sgr) in [
        ("keyword", "\x1b[1;34mselect\x1b[0m"),
        ("number", "\x1b[36m42\x1b[0m"),
        ("comment", "\x1b[2m-- note\x1b[0m"),
    ] {
        assert!(shown.contains(sgr), "{what} not highlighted: {shown:?}");
    }

    for (extra, vars) in [
        (&[][..], &[("NO_COLOR", "1")][..]),
        (&["--no-color"][..], &[][..]),
    ] {
        let shown = raw_session(&db, extra, vars);
        assert!(shown.contains("select 42 as answer; -- note"), "{shown:?}");
        assert_eq!(
            colours(&shown),
            Vec::<String>::new(),
            "{extra:?} {vars:?}: {shown:?}"
        );
    }
}
