//! pgward under an operator's bad day: SIGTERM, SIGHUP and SIGKILL with before-images
//! spilled, Ctrl-C at every question of a script, and a temp directory that cannot be
//! written. Every case checks the data as the superuser, the exit code, and that no
//! spill file is left anywhere under the TMPDIR pgward was given.

use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use rexpect::process::wait::WaitStatus;

use crate::term::{Start, Term};
use crate::util::{TestDb, TestShell, WRITER};

/// Every regular file (or anything else that is not a directory) under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(path),
                _ => found.push(path),
            }
        }
    }
    found
}

/// pgward's private spill directory under `tmp`, and the open files in it: each must
/// have no name (`… (deleted)` in /proc), which proves a spill exists and is nameless.
fn spill_handles(tmp: &Path, pid: i32) -> (Option<PathBuf>, Vec<String>) {
    let dir = std::fs::read_dir(tmp)
        .expect("read TMPDIR")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("pgward-spill-{pid}-")))
        });
    let mut open = Vec::new();
    if let Some(dir) = &dir {
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .flatten()
        {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy().into_owned();
                if target.starts_with(&*dir.to_string_lossy()) {
                    open.push(target);
                }
            }
        }
    }
    (dir, open)
}

/// Starts an interactive pgward with TMPDIR `tmp`, runs an UPDATE whose before-images
/// are spilled, and checks the spill is there and has no name.
fn spilled_session(db: &TestDb, home: &Path, tmp: &Path) -> Term {
    let tmpdir = tmp.to_string_lossy().into_owned();
    let mut t = Term::start_full(
        db,
        home,
        Start::WithPassword,
        &[],
        &[("TMPDIR", &tmpdir)],
        None,
    );
    t.expect("type \\? for help, \\q to quit.");
    t.line("update items set qty = qty + 1000 where id <= 3;");
    t.expect("UPDATE 3");
    t.prompt(WRITER, "=*>");
    let (dir, open) = spill_handles(tmp, t.pid());
    t.ensure(
        dir.is_some(),
        "a private spill directory exists while writing",
    );
    t.ensure(
        !open.is_empty() && open.iter().all(|f| f.ends_with(" (deleted)")),
        &format!("the spill is open and has no name: {open:?}"),
    );
    let dir = dir.expect("spill dir");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&dir).expect("stat").permissions(),
    ) & 0o777;
    t.ensure(mode == 0o700, &format!("spill directory mode {mode:o}"));
    let named = files_under(tmp);
    t.ensure(named.is_empty(), &format!("no named spill file: {named:?}"));
    t
}

#[test]
fn sigterm_rolls_back_and_leaves_no_spill() {
    let db = TestDb::new("fa_term");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut t = spilled_session(&db, home.path(), tmp.path());
    t.signal(Signal::SIGTERM);
    t.expect("SIGTERM received: ending the session");
    t.expect("the open transaction was rolled back: nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 9, &format!("exit code {code}, expected 9"));
    assert_eq!(db.items(), before, "nothing committed");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").collect();
    assert!(left.is_empty(), "nothing left in TMPDIR: {left:?}");
}

/// SIGHUP while a script waits at its COMMIT question on the terminal.
#[test]
fn sighup_at_the_commit_question_rolls_back() {
    let db = TestDb::new("fa_hup");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let script = home.path().join("fix.sql");
    std::fs::write(
        &script,
        "update items set qty = qty + 1000 where id <= 3;\ncommit;\n",
    )
    .expect("script");
    let path = script.to_string_lossy().into_owned();
    let tmpdir = tmp.path().to_string_lossy().into_owned();
    let mut t = Term::start_full(
        &db,
        home.path(),
        Start::WithPassword,
        &["-f", &path],
        &[("TMPDIR", &tmpdir)],
        None,
    );
    t.expect("to COMMIT, anything else keeps the transaction open: ");
    let (dir, open) = spill_handles(tmp.path(), t.pid());
    t.ensure(
        dir.is_some() && !open.is_empty(),
        "the before-images are spilled while the question waits",
    );
    t.signal(Signal::SIGHUP);
    t.expect("SIGHUP received: ending the session");
    t.expect("the open transaction was rolled back: nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 9, &format!("exit code {code}, expected 9"));
    assert_eq!(db.items(), before, "nothing committed");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").collect();
    assert!(left.is_empty(), "nothing left in TMPDIR: {left:?}");
}

/// SIGKILL cannot be handled: the spill had no name, so nothing named is left; the empty
/// private directory is removed by the next pgward to start.
#[test]
fn sigkill_leaves_no_spill_file() {
    let db = TestDb::new("fa_kill");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut t = spilled_session(&db, home.path(), tmp.path());
    let pid = t.pid();
    t.signal(Signal::SIGKILL);
    let status = t.wait_end();
    assert!(
        matches!(status, WaitStatus::Signaled(_, s, _) if s as i32 == Signal::SIGKILL as i32),
        "{status:?}"
    );
    assert_eq!(db.items(), before, "nothing committed");
    let named = files_under(tmp.path());
    assert!(
        named.is_empty(),
        "no spill file survives SIGKILL: {named:?}"
    );
    let stale: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        stale.len() == 1 && stale[0].starts_with(&format!("pgward-spill-{pid}-")),
        "the killed process's empty directory: {stale:?}"
    );
    // The next pgward removes it: its process is gone.
    let out = TestShell::new(&db)
        .env("TMPDIR", &tmp.path().to_string_lossy())
        .args(["-c", "select 1"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").collect();
    assert!(left.is_empty(), "stale directory removed: {left:?}");
}

/// Ctrl-C at the COMMIT question of a script (`-f`): not confirmed, the run ends,
/// nothing is committed.
#[test]
fn ctrl_c_at_the_script_commit_question() {
    let db = TestDb::new("fa_cc_commit");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("fix.sql");
    std::fs::write(
        &script,
        "update items set qty = 7 where id = 1;\ncommit;\nupdate items set qty = 8 where id = 2;\n",
    )
    .expect("script");
    let path = script.to_string_lossy().into_owned();
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-f", &path]);
    t.expect("to COMMIT, anything else keeps the transaction open: ");
    t.ctrl('c');
    t.expect("COMMIT not confirmed");
    t.expect("the open transaction was rolled back: nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 2, &format!("exit code {code}, expected 2"));
    t.ensure(
        !t.transcript.contains("UPDATE 1\r\nUPDATE 1") && db.items() == before,
        "the run ended at the question, nothing committed",
    );
}

/// Ctrl-C at the row-count question of a piped script (standard input not a terminal):
/// the change is declined and rolled back.
#[test]
fn ctrl_c_at_the_piped_row_count_question() {
    let db = TestDb::new("fa_cc_rows");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("fix.sql");
    std::fs::write(&script, "update items set qty = 0;\ncommit;\n").expect("script");
    let mut t = Term::start_full(
        &db,
        home.path(),
        Start::WithPassword,
        &[],
        &[],
        Some(&script),
    );
    t.expect("Type the exact number of rows (5: 5 rows of items updated by the statement) to keep this change");
    t.ctrl('c');
    t.expect("was not confirmed; the transaction was rolled back, nothing was committed");
    let code = t.exit_code();
    t.ensure(code == 2, &format!("exit code {code}, expected 2"));
    t.ensure(db.items() == before, "nothing committed");
}

/// A temp directory that cannot be written: the write runs with counts only, says why,
/// and counts its rows once.
#[test]
fn read_only_tmpdir_means_counts_only_counted_once() {
    let db = TestDb::new("fa_rotmp");
    let before = db.items();
    let tmp = tempfile::tempdir().expect("tmp");
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).expect("ro");
    let root = nix::unistd::geteuid().is_root();
    if root {
        // root ignores modes; the immutable attribute stops it too.
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(&ro)
            .status()
            .expect("chattr");
        assert!(ok.success(), "chattr +i");
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let unwritable = std::fs::create_dir(ro.join("probe")).is_err();
    let out = TestShell::new(&db)
        .env("TMPDIR", &ro.to_string_lossy())
        .args([
            "-c",
            "update items set qty = qty + 1 where id <= 3",
            "-c",
            "rollback",
        ])
        .run();
    if root {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&ro)
            .status();
    }
    assert!(unwritable, "the temp directory is really read-only");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("rows could not be captured (could not write before-images to a spill file"),
        "{}",
        out.stdout
    );
    // One UPDATE of 3 rows: the server's per-table count says 3, not 6.
    let counts = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("items "))
        .unwrap_or_default()
        .to_string();
    let cells: Vec<&str> = counts.split('|').map(str::trim).collect();
    assert_eq!(cells, ["items", "0", "3", "0"], "{}", out.stdout);
    assert_eq!(db.items(), before);
    assert!(files_under(&ro).is_empty());
}

/// SIGTERM while a statement runs: the statement is cancelled (57014), the transaction
/// rolled back, and pgward ends with code 9 at once, not when the statement would end.
#[test]
fn sigterm_cancels_a_running_statement() {
    let db = TestDb::new("fa_term_run");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 0 where id = 4;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("select pg_sleep(60);");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = std::time::Instant::now();
    t.signal(Signal::SIGTERM);
    t.expect("57014");
    t.expect("SIGTERM received: ending the session");
    let code = t.exit_code();
    t.ensure(code == 9, &format!("exit code {code}, expected 9"));
    t.ensure(
        sent.elapsed() < std::time::Duration::from_secs(10),
        "ended at once",
    );
    assert_eq!(db.items(), before, "nothing committed");
}
