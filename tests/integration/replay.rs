//! `pgward replay`: a committed change read from its verified log and run in a second
//! database through the whole pipeline, with the original counts shown beside the new
//! ones and differences flagged; a record that is no committed change is refused.
//! COMMITs are confirmed on a real pseudo-terminal; data checked as the superuser.

use std::path::Path;
use std::time::Duration;

use crate::term::Term;
use crate::util::{self, records, session_logs, TestDb, TestShell, PASSWORD, READER, WRITER};

/// Environments `t` and `next` on two databases (the author confirms COMMIT); `extra`
/// lines go into `next`.
fn config(home: &Path, first: &TestDb, next: &TestDb, extra: &str) -> std::path::PathBuf {
    let env = |name: &str, db: &TestDb| {
        format!(
            "[environments.{name}]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n",
            db.login_conninfo()
        )
    };
    util::write_config(
        home,
        &format!("{}{}{extra}\n", env("t", first), env("next", next)),
    )
}

/// The log in `home` that holds a committed change, and its `commit_intent` seq.
fn committed(home: &Path) -> (std::path::PathBuf, u64) {
    session_logs(home)
        .into_iter()
        .find_map(|log| {
            let recs = records(&log);
            recs.iter().any(|r| r["kind"] == "commit").then_some(())?;
            let seq = recs
                .iter()
                .find(|r| r["kind"] == "commit_intent")
                .and_then(|r| r["seq"].as_u64())?;
            Some((log, seq))
        })
        .expect("a log with a committed change")
}

fn notes(db: &TestDb) -> String {
    db.value("SELECT string_agg(id || ':' || coalesce(note, 'NULL'), ',' ORDER BY id) FROM items")
        .unwrap_or_default()
}

#[test]
fn replay_runs_the_logged_statements_in_the_next_database_and_flags_count_differences() {
    let first = TestDb::new("rp_first");
    let next = TestDb::new("rp_next");
    // The next database holds one row fewer: the same statement changes fewer rows.
    next.exec("DELETE FROM items WHERE id = 5");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &first, &next, "");
    let cfgs = cfg.display().to_string();
    let file = home.path().join("fix.sql");
    std::fs::write(
        &file,
        "update items set note = 'fixed' where qty >= 30;\ncommit;\n",
    )
    .expect("script");
    let files = file.display().to_string();
    let mut t = Term::start_args(
        &first,
        home.path(),
        "t",
        &[
            "--config", &cfgs, "--env", "t", "--ticket", "OPS-20", "-f", &files,
        ],
        &[],
    );
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(20),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    let (log, seq) = committed(home.path());
    let logs = log.display().to_string();
    let record = seq.to_string();
    // Replayed: the same statement, the counts compared, then the COMMIT question.
    let mut r = Term::start_args(
        &next,
        home.path(),
        "next",
        &[
            "replay", &logs, "--record", &record, "--env", "next", "--config", &cfgs,
        ],
        &[],
    );
    r.expect_within(
        &format!("REPLAY of ticket OPS-20, record {seq}"),
        Duration::from_secs(20),
    );
    let compared = r.expect("Type the environment name (next) to COMMIT");
    r.ensure(
        compared.contains("the counts DIFFER from the original's")
            && compared.contains("items: there +0 ~3 -0, here +0 ~2 -0  DIFFERS"),
        "the counts there and here, the difference flagged",
    );
    r.send("next\n");
    assert_eq!(r.exit_code(), 0, "{}", r.transcript);
    assert_eq!(
        notes(&next),
        "1:item 1,2:item 2,3:fixed,4:fixed",
        "exactly the logged statement ran in the next database"
    );
    assert_eq!(notes(&first), "1:item 1,2:item 2,3:fixed,4:fixed,5:fixed");
    // The replay's own log holds the same statement, under the original ticket.
    let replayed = session_logs(home.path()).pop().expect("replay log");
    assert!(
        replayed.display().to_string().contains("OPS-20"),
        "{replayed:?}"
    );
    let texts: Vec<String> = records(&replayed)
        .iter()
        .filter(|r| r["kind"] == "commit_intent")
        .map(|r| r["statements"].to_string())
        .collect();
    assert_eq!(
        texts,
        [r#"["update items set note = 'fixed' where qty >= 30"]"#],
        "the statement as typed, never retyped"
    );
}

#[test]
fn replay_refuses_a_record_that_is_no_committed_change() {
    let first = TestDb::new("rp_refuse");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &first, &first, "");
    let cfgs = cfg.display().to_string();
    // A session that only read: its log has no committed change.
    let mut t = Term::start_args(
        &first,
        home.path(),
        "t",
        &[
            "--config", &cfgs, "--env", "t", "--ticket", "OPS-21", "-c", "select 1",
        ],
        &[],
    );
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    let log = session_logs(home.path()).pop().expect("a log");
    let replay = |log: &Path, record: &str| {
        TestShell::bare()
            .args([
                "replay",
                &log.display().to_string(),
                "--record",
                record,
                "--env",
                "next",
                "--config",
                &cfgs,
            ])
            .env("PGPASSWORD", PASSWORD)
            .run()
    };
    let out = replay(&log, "1");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("record 1 is not a commit_intent or commit record"),
        "{out:?}"
    );
    // A log that does not verify replays nothing.
    let mut bytes = std::fs::read(&log).expect("log");
    bytes.extend_from_slice(b"{\"v\":1}\n");
    let forged = home.path().join("forged.jsonl");
    std::fs::write(&forged, bytes).expect("forged");
    let out = replay(&forged, "2");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("does not verify"), "{out:?}");
    assert_eq!(
        first.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5"
    );
}

/// `pgward ledger init --env NAME` as the superuser.
fn init(cfg: &str, env: &str) {
    let out = TestShell::bare()
        .args([
            "ledger",
            "init",
            "--config",
            cfg,
            "--env",
            env,
            "-U",
            util::cluster().superuser(),
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn promote_from_requires_the_change_in_the_earlier_ledger() {
    let first = TestDb::new("rp_promote_first");
    let next = TestDb::new("rp_promote_next");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &first, &next, "promote_from = \"t\"");
    let cfgs = cfg.display().to_string();
    init(&cfgs, "t");
    init(&cfgs, "next");
    let file = home.path().join("fix.sql");
    std::fs::write(&file, "update items set qty = 99 where id = 2;\ncommit;\n").expect("script");
    let files = file.display().to_string();
    // Straight into next: refused, it never ran in t.
    let mut n = Term::start_args(
        &next,
        home.path(),
        "next",
        &[
            "--config", &cfgs, "--env", "next", "--ticket", "OPS-22", "-f", &files,
        ],
        &[],
    );
    n.expect_within(
        "COMMIT refused: this change never committed in t",
        Duration::from_secs(20),
    );
    assert_eq!(n.exit_code(), 2, "{}", n.transcript);
    assert_eq!(
        next.value("SELECT qty FROM items WHERE id = 2").as_deref(),
        Some("20")
    );
    // In t first, then replayed into next: promoted.
    let mut t = Term::start_args(
        &first,
        home.path(),
        "t",
        &[
            "--config", &cfgs, "--env", "t", "--ticket", "OPS-22", "-f", &files,
        ],
        &[],
    );
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(20),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    let (log, seq) = committed(home.path());
    let mut r = Term::start_args(
        &next,
        home.path(),
        "next",
        &[
            "replay",
            &log.display().to_string(),
            "--record",
            &seq.to_string(),
            "--env",
            "next",
            "--config",
            &cfgs,
        ],
        &[],
    );
    let before = r.expect_within(
        "Type the environment name (next) to COMMIT",
        Duration::from_secs(20),
    );
    r.ensure(
        before.contains("promoted from t: the same statements were committed there")
            && before.contains("the counts are the original's"),
        "promotion and the equal counts are shown",
    );
    r.send("next\n");
    assert_eq!(r.exit_code(), 0, "{}", r.transcript);
    assert_eq!(
        next.value("SELECT qty FROM items WHERE id = 2").as_deref(),
        Some("99")
    );
    assert_eq!(
        next.value("SELECT count(*) FROM pgward.ledger WHERE kind = 'commit'")
            .as_deref(),
        Some("1")
    );
}

#[test]
fn a_replays_approval_request_says_what_it_replays_from_where() {
    use crate::approval_util::{hostile, response, CRED_VAR};
    use pgward::approval::protocol::ApprovalRequest;
    let first = TestDb::new("rp_ask_first");
    let next = TestDb::new("rp_ask_next");
    // The approval service the next environment asks: it records every request and
    // rejects the change when polled.
    let (url, seen) = hostile(20, |ex| {
        if ex.method == "POST" {
            let r: ApprovalRequest = serde_json::from_slice(&ex.body).expect("request");
            return response(
                "201 Created",
                &format!(
                    "{{\"request_id\":\"{}\",\"review_url\":\"http://x/review\"}}",
                    r.request_id
                ),
            );
        }
        response(
            "200 OK",
            "{\"status\":\"rejected\",\"reviewer\":\"bob\",\"reason\":\"not today\"}",
        )
    });
    let key = pgward::approval::key::public_hex(
        &ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key(),
    );
    let home = tempfile::tempdir().expect("home");
    let extra = format!(
        "[environments.next.approval]\nurl = \"{url}\"\npublic_key = \"{key}\"\n\
         credential_env = \"{CRED_VAR}\"\nwait = \"20s\"\nrequire_code = false\n"
    );
    let cfg = util::write_config(
        home.path(),
        &format!(
            "[environments.t]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n\
             [environments.next]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = true\n{extra}",
            first.login_conninfo(),
            next.login_conninfo()
        ),
    );
    let cfgs = cfg.display().to_string();
    let mut t = Term::start_args(
        &first,
        home.path(),
        "t",
        &[
            "--config",
            &cfgs,
            "--env",
            "t",
            "--ticket",
            "OPS-22",
            "-c",
            "update items set note = 'fixed' where id = 1",
            "-c",
            "commit",
        ],
        &[],
    );
    t.expect_within(
        "Type the environment name (t) to COMMIT",
        Duration::from_secs(20),
    );
    t.send("t\n");
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    let (log, seq) = committed(home.path());
    let out = TestShell::bare()
        .args([
            "replay",
            &log.display().to_string(),
            "--record",
            &seq.to_string(),
            "--env",
            "next",
            "--config",
            &cfgs,
        ])
        .env("PGPASSWORD", PASSWORD)
        .env(CRED_VAR, "pgw_author")
        .run();
    assert_ne!(out.code, 0, "rejected, so nothing commits: {out:?}");
    let posted: Vec<ApprovalRequest> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|ex| ex.method == "POST")
        .map(|ex| serde_json::from_slice(&ex.body).expect("request"))
        .collect();
    assert_eq!(posted.len(), 1, "{out:?}");
    let asked = &posted[0];
    assert_eq!(asked.environment, "next");
    assert_eq!(asked.ticket, "OPS-22");
    assert!(
        asked.preview_excerpt.starts_with(&format!(
            "REPLAY of ticket OPS-22, record {seq} of {}",
            log.file_name().expect("name").to_string_lossy()
        )) && asked.preview_excerpt.contains("from environment t:"),
        "the reviewer is told what is replayed from where: {}",
        asked.preview_excerpt
    );
    assert_eq!(
        asked.statements,
        ["update items set note = 'fixed' where id = 1"]
    );
    assert_eq!(
        next.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5",
        "nothing committed in the next database"
    );
}
