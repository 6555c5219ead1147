//! The session log through the real binary: every session writes a signed, chained log
//! that `pgward log verify` accepts; any changed byte, removed, moved or cut-off record
//! is caught at the right record; a log that cannot be written refuses writes; a process
//! killed around COMMIT is detected and resolved with `txid_status`; the markdown export
//! is a snapshot.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pgward::audit::verify::Ending;
use pgward::audit::{verify, OperatorKey};

use crate::term::{Start, Term};
use crate::util::{
    self, isolate, only_log, records, write_config, TestDb, TestShell, LOGIN, PASSWORD, READER,
    WRITER,
};

/// Runs `pgward ARGS` with HOME `home`; (exit code, stdout, stderr).
fn pgward(home: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(util::bin());
    isolate(&mut cmd, home);
    cmd.args(args);
    let out = cmd.output().expect("run pgward");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kinds(path: &Path) -> Vec<String> {
    records(path)
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The one log in `dir`.
#[track_caller]
fn only_log_in(dir: &Path) -> PathBuf {
    let logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(
        logs.len(),
        1,
        "expected one log in {}: {logs:?}",
        dir.display()
    );
    logs[0].clone()
}

/// A real log with reads, a write and its preview, a refusal, and the rollback at the end.
fn script_log(db: &TestDb) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join("logs");
    let out = TestShell::new(db)
        .args(["--author", "tester", "--ticket", "OPS-7", "--log-dir"])
        .args([&dir])
        .stdin(
            "select id, qty from items where id <= 2 order by id;\n\
             update items set qty = qty + 1 where id = 2;\n\
             select count(*) from items;\n\
             set role postgres;\n",
        )
        .run();
    assert_eq!(out.code, 2, "the refusal ends the script: {out:?}");
    let log = only_log_in(&dir);
    (home, log)
}

#[test]
fn log_records_every_statement_and_verifies() {
    let db = TestDb::new("log_basic");
    let (home, log) = script_log(&db);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        !text.contains(PASSWORD),
        "the password never enters the log"
    );
    assert_eq!(
        kinds(&log),
        [
            "session_start",
            "statement",
            "statement",
            "preview",
            "statement",
            "statement",
            "rollback",
            "session_end"
        ]
    );
    let recs = records(&log);
    assert_eq!(recs[0]["author"], "tester");
    assert_eq!(recs[0]["ticket"], "OPS-7");
    assert_eq!(recs[0]["login"], LOGIN);
    assert_eq!(recs[0]["roles"]["write"], WRITER);
    assert_eq!(recs[0]["roles"]["read"], READER);
    assert_eq!(recs[0]["accepted_risks"], serde_json::json!([]));
    assert_eq!(recs[1]["class"], "read");
    assert_eq!(recs[1]["rows"], 2);
    assert_eq!(recs[2]["class"], "write");
    assert_eq!(recs[2]["rows"], 1);
    assert_eq!(recs[3]["counts"][0]["table"], "items");
    assert_eq!(recs[3]["counts"][0]["updated"], 1);
    assert!(recs[3]["excerpt"].as_str().unwrap().contains("20 → 21"));
    assert_eq!(recs[5]["outcome"], "refused");
    assert!(recs[5]["rule"].is_string(), "{}", recs[5]);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1);
        assert_eq!(r["v"], 1);
    }
    assert_eq!(recs[0]["prev"], "0".repeat(64));

    let (code, out, _) = pgward(home.path(), &["log", "verify", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    // Nothing was committed.
    assert_eq!(
        db.value("select qty from items where id = 2").as_deref(),
        Some("20")
    );
}

/// Expects `bytes` to fail verification at `line` (or, for the last line, to end cut off).
#[track_caller]
fn fails_at(bytes: &[u8], line: usize, what: &str) {
    let v = verify(bytes, None);
    assert!(!v.intact(), "{what}: verified");
    match &v.broken {
        Some(b) => assert_eq!(b.line, line, "{what}: {b:?}"),
        None => assert!(
            matches!(v.ending, Ending::PartialLine { line: l } | Ending::NoSessionEnd { last: l } if l == line || l + 1 == line),
            "{what}: {:?}",
            v.ending
        ),
    }
}

#[test]
fn log_tampering_fails_at_the_right_record() {
    let db = TestDb::new("log_tamper");
    let (_home, log) = script_log(&db);
    let bytes = std::fs::read(&log).expect("log");
    assert!(verify(&bytes, None).intact());
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let n = lines.len();

    // Every byte of every record, the newline included.
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        for k in 0..line.len() {
            let mut t = bytes.clone();
            t[start + k] ^= 0x01;
            fails_at(&t, i + 1, &format!("byte {k} of record {}", i + 1));
            let mut t = bytes.clone();
            t[start + k] = if bytes[start + k] == b'0' { b'1' } else { b'0' };
            fails_at(&t, i + 1, &format!("byte {k} of record {} set", i + 1));
        }
        start += line.len();
    }
    // Deleting any record.
    for i in 0..n {
        let t: Vec<u8> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, l)| l.iter().copied())
            .collect();
        let v = verify(&t, None);
        assert!(!v.intact(), "deleting record {}", i + 1);
        if i + 1 < n {
            assert_eq!(
                v.broken.as_ref().map(|b| b.line),
                Some(i + 1),
                "deleting {}",
                i + 1
            );
        } else {
            assert_eq!(v.ending, Ending::NoSessionEnd { last: n - 1 });
        }
    }
    // Swapping neighbours.
    for i in 0..n - 1 {
        let mut ls = lines.clone();
        ls.swap(i, i + 1);
        let t: Vec<u8> = ls.concat();
        let v = verify(&t, None);
        assert_eq!(
            v.broken.as_ref().map(|b| b.line),
            Some(i + 1),
            "swapping {}",
            i + 1
        );
    }
    // Truncating after any record, and in the middle of any record.
    let mut end = 0;
    for (i, line) in lines.iter().enumerate().take(n - 1) {
        end += line.len();
        let v = verify(&bytes[..end], None);
        assert!(v.broken.is_none());
        assert_eq!(v.ending, Ending::NoSessionEnd { last: i + 1 });
        let v = verify(&bytes[..end + 10], None);
        assert_eq!(v.ending, Ending::PartialLine { line: i + 2 });
        assert!(!v.intact());
    }

    // A forged signature: another key signs record 3's exact bytes.
    let forger = OperatorKey::from_seed([9; 32]);
    let line3 = lines[2].strip_suffix(b"\n").unwrap();
    let (unsigned, _) = pgward::audit::record::split_line(line3).unwrap();
    let forged_sig = forger.sign(&pgward::audit::record::signing_message(&unsigned));
    let forged = pgward::audit::record::signed_line(&unsigned, &forged_sig);
    let mut t = lines[..2].concat();
    t.extend_from_slice(&forged);
    t.push(b'\n');
    t.extend_from_slice(&lines[3..].concat());
    let v = verify(&t, None);
    assert_eq!(v.broken.as_ref().map(|b| b.line), Some(3), "{:?}", v.broken);
    // Through the binary, too: exit 1 and the record named.
    let bad = log.with_extension("forged.jsonl");
    std::fs::write(&bad, &t).unwrap();
    let (code, out, _) = pgward(
        _home.path(),
        &["log", "verify", "--json", bad.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report[0]["broken"]["line"], 3, "{out}");

    // A whole log re-signed by another key verifies only when no key is pinned.
    let mut resigned = Vec::new();
    let mut head = pgward::audit::chain::Head::default();
    for line in &lines {
        let line = line.strip_suffix(b"\n").unwrap();
        let (unsigned, _) = pgward::audit::record::split_line(line).unwrap();
        let mut rec: pgward::audit::Record = serde_json::from_slice(&unsigned).unwrap();
        if let pgward::audit::Body::SessionStart { operator_key, .. } = &mut rec.body {
            *operator_key = forger.public_hex();
        }
        rec.prev = head.hex();
        let unsigned = rec.unsigned_bytes();
        let sig = forger.sign(&pgward::audit::record::signing_message(&unsigned));
        let l = pgward::audit::record::signed_line(&unsigned, &sig);
        head = head.next(&l);
        resigned.extend_from_slice(&l);
        resigned.push(b'\n');
    }
    assert!(verify(&resigned, None).intact());
    let original = records(&log)[0]["operator_key"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&bad, &resigned).unwrap();
    let (code, out, _) = pgward(
        _home.path(),
        &["log", "verify", "--key", &original, bad.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at record 1"), "{out}");
}

#[test]
fn log_unwritable_refuses_writes_and_reads_go_on() {
    let db = TestDb::new("log_unwritable");
    let before = db.items();
    // A file where the log directory's parent should be: no directory can be made there,
    // even by root (the tests may run as root, where permission bits would not stop it).
    let blocker = tempfile::NamedTempFile::new().expect("file");
    let dir = blocker.path().join("sessions");
    let out = TestShell::new(&db)
        .args(["--log-dir", dir.to_str().unwrap()])
        .stdin("select qty from items where id = 1;\nupdate items set qty = 0 where id = 1;\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("10"), "the read ran: {out:?}");
    assert!(out.stderr.contains("UNLOGGED"), "{out:?}");
    assert!(out.stderr.contains("no write runs unlogged"), "{out:?}");
    assert_eq!(db.items(), before);

    // No operator key: the same, and the message says how to make one.
    let shell = TestShell::new(&db).stdin("select 1;\ndelete from items where id = 1;\n");
    std::fs::remove_file(util::key_path(shell.home())).expect("remove key");
    let out = shell.run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("UNLOGGED"), "{out:?}");
    assert!(out.stderr.contains("pgward keygen"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn keygen_writes_a_private_key_once() {
    let home = tempfile::tempdir().expect("home");
    let path = home.path().join("k/operator.key");
    let (code, out, err) = pgward(home.path(), &["keygen", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let key = OperatorKey::load(&path).expect("a key");
    assert_eq!(out.trim(), key.public_hex());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let (code, _, err) = pgward(home.path(), &["keygen", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 3, "never over an existing key: {err}");
    assert_eq!(
        OperatorKey::load(&path).unwrap().public_hex(),
        key.public_hex()
    );
}

#[test]
fn log_commit_through_the_terminal() {
    let db = TestDb::new("log_commit");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 77 where id = 4;");
    t.expect("UPDATE 1");
    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    t.prompt(READER, "=>");
    t.quit();
    let log = only_log(home.path());
    assert_eq!(
        kinds(&log),
        [
            "session_start",
            "statement",
            "preview",
            "commit_intent",
            "commit",
            "statement",
            "session_end"
        ]
    );
    let recs = records(&log);
    let txid = recs[3]["txid"].as_str().unwrap().to_string();
    assert_eq!(recs[4]["txid"], txid.as_str());
    assert_eq!(recs[3]["change_digest"], recs[4]["change_digest"]);
    assert_eq!(
        db.value(&format!("select txid_status({txid})")).as_deref(),
        Some("committed")
    );
    assert_eq!(
        db.value("select qty from items where id = 4").as_deref(),
        Some("77")
    );
    let (code, out, _) = pgward(home.path(), &["log", "verify", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn log_kill_around_commit_is_resolved_with_txid_status() {
    // COMMIT waits for a synchronous standby that does not exist, so the kill lands while
    // COMMIT is in flight. `synchronous_standby_names` is server-wide: a cluster of its own.
    let name = "t_log_kill";
    let c = crate::commit::own_cluster(name);
    for sql in [
        "ALTER SYSTEM SET synchronous_commit = 'local'",
        "ALTER SYSTEM SET synchronous_standby_names = 'nonexistent'",
        "SELECT pg_reload_conf()",
        &format!("ALTER DATABASE {name} SET synchronous_commit = on"),
    ] {
        util::admin_exec(&c, "postgres", sql).expect("configure a missing standby");
    }
    let value = |sql: &str| {
        util::admin_rows(&c, name, sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    };
    let db = TestDb {
        name: name.to_string(),
    };
    let home = tempfile::tempdir().expect("home");
    let port = c.port().to_string();
    let mut t = Term::start_with(
        &db,
        home.path(),
        Start::WithPassword,
        &["-h", c.host(), "-p", &port],
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    t.line("update items set qty = 55 where id = 5;");
    t.expect("UPDATE 1");
    t.line("commit;");
    t.expect("to COMMIT");
    let log = only_log(home.path());
    let env = t.env.clone();
    t.line(&env);
    // Kill the moment the intent is on disk.
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("\"kind\":\"commit_intent\"")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no commit_intent"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = Command::new("kill")
        .args(["-KILL", &t.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    drop(t);
    // The backend may still wait for the standby: end it, as an operator would.
    std::thread::sleep(Duration::from_millis(300));
    util::admin_exec(
        &c,
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ),
    )
    .expect("terminate the waiting backend");

    // Without the database: the open intent is named, and the log is not intact.
    let (code, out, _) = pgward(
        home.path(),
        &["log", "verify", "--json", log.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    let intent = &report[0]["open_intents"][0];
    let txid = intent["txid"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "an open intent: {out}\n{}",
                std::fs::read_to_string(&log).unwrap()
            )
        })
        .to_string();
    assert_eq!(report[0]["broken"], serde_json::Value::Null, "{out}");
    assert_eq!(report[0]["ending"], "no_session_end", "{out}");

    // With --env: txid_status says what happened, and the data agrees.
    write_config(
        home.path(),
        &format!(
            "[environments.prod]\nurl = \"postgresql://{LOGIN}@{}:{}/{name}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\n",
            c.host(),
            c.port(),
        ),
    );
    let started = Instant::now();
    let resolved = loop {
        let mut cmd = Command::new(util::bin());
        isolate(&mut cmd, home.path());
        let out = cmd
            .env("PGPASSWORD", PASSWORD)
            .args([
                "log",
                "verify",
                "--json",
                "--env",
                "prod",
                log.to_str().unwrap(),
            ])
            .output()
            .expect("verify");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let report: serde_json::Value = serde_json::from_str(&text).expect("json");
        let status = report[0]["resolved"][0]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("{text} {}", String::from_utf8_lossy(&out.stderr)))
            .to_string();
        assert_eq!(report[0]["resolved"][0]["txid"], txid.as_str());
        if status != "in progress" || started.elapsed() > Duration::from_secs(20) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let qty = value("select qty from items where id = 5");
    match resolved.as_str() {
        "committed" => assert_eq!(qty.as_deref(), Some("55")),
        "aborted" => assert_eq!(qty.as_deref(), Some("50")),
        other => panic!("unexpected status {other}"),
    }
    assert_eq!(
        value(&format!("select txid_status({txid})")).as_deref(),
        Some(resolved.as_str())
    );
}

#[test]
fn log_export_markdown_snapshot() {
    let db = TestDb::new("log_export");
    let (home, log) = script_log(&db);
    let (code, md, err) = pgward(
        home.path(),
        &[
            "log",
            "export",
            "--format",
            "markdown",
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&log.display().to_string()), "[LOG]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[TIME]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[HEX64]");
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[ID]");
    settings.add_filter(r"\d+(\.\d+)? ms", "[MS] ms");
    settings.add_filter(r"\| Server \| [^|]*\|", "| Server | [SERVER] |");
    settings.add_filter(r"\| Client host \| [^|]*\|", "| Client host | [HOST] |");
    settings.add_filter(r"\| pgward \| [^|]*\|", "| pgward | [VERSION] |");
    settings.add_filter(&db.name, "[DB]");
    settings.set_snapshot_path("snapshots");
    settings.bind(|| insta::assert_snapshot!("log_export_markdown", md));

    // JSON export holds the same records.
    let (code, json, _) = pgward(
        home.path(),
        &["log", "export", "--format", "json", log.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["verification"]["intact"], true);
    assert_eq!(v["records"].as_array().unwrap().len(), records(&log).len());
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn log_list_newest_first_with_filters() {
    let db = TestDb::new("log_list");
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join("logs");
    for ticket in ["OPS-1", "OPS-2"] {
        let out = TestShell::new(&db)
            .args(["--ticket", ticket, "--log-dir", dir.to_str().unwrap()])
            .stdin("select 1;\n")
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, out, err) = pgward(
        home.path(),
        &["log", "list", "--log-dir", dir.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let first = out.find("OPS-2").expect("OPS-2 listed");
    let second = out.find("OPS-1").expect("OPS-1 listed");
    assert!(first < second, "newest first: {out}");
    let (_, out, _) = pgward(
        home.path(),
        &[
            "log",
            "list",
            "--ticket",
            "OPS-1",
            "--log-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(out.contains("OPS-1") && !out.contains("OPS-2"), "{out}");
    let (_, out, _) = pgward(
        home.path(),
        &[
            "log",
            "list",
            "--env",
            "nowhere",
            "--log-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(!out.contains("OPS-"), "{out}");
    let (code, show, _) = pgward(
        home.path(),
        &["log", "show", only_first(&dir).to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert!(
        show.contains("intact") && show.contains("select 1"),
        "{show}"
    );
}

fn only_first(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    logs.sort();
    logs[0].clone()
}

/// What to get wrong in [`approval_log`].
#[derive(Clone, Copy, PartialEq)]
enum Forge {
    Nothing,
    /// The operator edits the approver's token (and signs the record: they hold their key).
    Token,
    /// The request names a log head other than the log's.
    Head,
    /// The COMMIT intent names another digest than the approved one.
    Digest,
}

/// A log with an approved COMMIT, written through the real writer and signed by the
/// operator; the approval token is `approver`'s, over the request's id, digest and head.
fn approval_log(dir: &Path, approver: &ed25519_dalek::SigningKey, forge: Forge) -> PathBuf {
    use pgward::audit::writer::LogWriter;
    use pgward::audit::Body;
    let operator = OperatorKey::from_seed([4; 32]);
    let public = operator.public_hex();
    let name = format!("approved-{}.jsonl", forge as u8);
    let mut w = LogWriter::create(dir, &name, operator).expect("log");
    w.append(Body::SessionStart {
        session_id: "s1".into(),
        author: "alice".into(),
        ticket: Some("OPS-9".into()),
        env: "prod".into(),
        server: "srv".into(),
        database: "shop".into(),
        login: "alice".into(),
        roles: Default::default(),
        version: "v".into(),
        host: "h".into(),
        operator_key: public,
        accepted_risks: vec![],
    })
    .unwrap();
    w.append(Body::Statement {
        text: "update items set qty = 1 where id = 1".into(),
        class: "write".into(),
        outcome: "ok".into(),
        duration_ms: 1.0,
        rows: Some(1),
        sqlstate: None,
        error: None,
        rule: None,
    })
    .unwrap();
    let digest = "d".repeat(64);
    let head = if forge == Forge::Head {
        "e".repeat(64)
    } else {
        w.head().hex()
    };
    w.append(Body::ApprovalRequest {
        request_id: "req-1".into(),
        change_digest: digest.clone(),
        log_head: head.clone(),
    })
    .unwrap();
    let (approved_at, expires_at) = ("2026-11-26T01:00:00Z", "2026-11-26T01:05:00Z");
    let mut token = pgward::approval::token::Approval {
        request_id: "req-1",
        change_digest: &digest,
        log_head: &head,
        reviewer: "bob",
        approved_at,
        expires_at,
    }
    .sign(approver)
    .unwrap();
    if forge == Forge::Token {
        let flipped = if token.starts_with('0') { "1" } else { "0" };
        token.replace_range(..1, flipped);
    }
    w.append(Body::Approval {
        request_id: "req-1".into(),
        reviewer: "bob".into(),
        approved_at: approved_at.into(),
        expires_at: expires_at.into(),
        token,
        code_typed: Some(true),
    })
    .unwrap();
    let committed = if forge == Forge::Digest {
        "f".repeat(64)
    } else {
        digest
    };
    w.append(Body::CommitIntent {
        txid: "1234".into(),
        change_digest: committed.clone(),
        statements: vec!["update items set qty = 1 where id = 1".into()],
        counts: vec![],
        undo: None,
    })
    .unwrap();
    w.append(Body::Commit {
        txid: "1234".into(),
        change_digest: committed,
    })
    .unwrap();
    w.append(Body::SessionEnd {
        reason: "done".into(),
    })
    .unwrap();
    dir.join(name)
}

fn verify_json(home: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["log", "verify", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = pgward(home, &all);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v[0].clone())
}

#[test]
fn log_verify_checks_every_approval_token() {
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join("logs");
    let approver = ed25519_dalek::SigningKey::from_bytes(&[6; 32]);
    let approver_hex = pgward::approval::key::public_hex(&approver.verifying_key());
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let stranger_hex = pgward::approval::key::public_hex(&stranger.verifying_key());
    let good = approval_log(&dir, &approver, Forge::Nothing);
    let good = good.to_str().unwrap();

    // With the approver's key: intact, one token verified.
    let (code, v) = verify_json(home.path(), &["--approver-key", &approver_hex, good]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["approvals"], 1, "{v}");
    // Without a key the token cannot be checked, and the log is not called intact.
    let (code, v) = verify_json(home.path(), &[good]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["unchecked_approvals"], serde_json::json!([4]), "{v}");
    assert_eq!(v["broken"], serde_json::Value::Null);
    // The key from the config: the environment the log names, or --env.
    let config = write_config(
        home.path(),
        &format!(
            "[environments.prod]\nurl = \"host=db\"\n\n[environments.prod.approval]\nurl = \"http://127.0.0.1:9\"\npublic_key = \"{approver_hex}\"\ncredential_env = \"NONE\"\n\n[environments.other]\nurl = \"host=db\"\n\n[environments.other.approval]\nurl = \"http://127.0.0.1:9\"\npublic_key = \"{stranger_hex}\"\ncredential_env = \"NONE\"\n"
        ),
    );
    let (code, v) = verify_json(home.path(), &[good]);
    assert_eq!(code, 0, "the log's own environment, prod: {v}");
    let (code, v) = verify_json(home.path(), &["--env", "other", good]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["broken"]["line"], 4, "{v}");
    std::fs::remove_file(config).unwrap();

    // Another service's key, an edited token, a request whose head is not the log's,
    // and a COMMIT of another digest than the approved one: each fails at its record.
    let (code, v) = verify_json(home.path(), &["--approver-key", &stranger_hex, good]);
    assert_eq!((code, v["broken"]["line"].clone()), (1, 4.into()), "{v}");
    assert!(
        v["broken"]["reason"]
            .as_str()
            .unwrap()
            .contains("approval token"),
        "{v}"
    );
    for (forge, line) in [(Forge::Token, 4), (Forge::Head, 3), (Forge::Digest, 5)] {
        let log = approval_log(&dir, &approver, forge);
        let bytes = std::fs::read(&log).unwrap();
        // The operator's own chain and signatures hold: only the approval is wrong.
        let unchecked = verify(&bytes, None);
        assert!(
            forge == Forge::Head || forge == Forge::Digest || unchecked.broken.is_none(),
            "{:?}",
            unchecked.broken
        );
        let (code, v) = verify_json(
            home.path(),
            &["--approver-key", &approver_hex, log.to_str().unwrap()],
        );
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["broken"]["line"], line, "{v}");
    }
}

#[test]
fn log_session_start_records_accepted_risks() {
    let db = TestDb::new("log_risks");
    db.exec(&format!(
        "CREATE ROLE log_risks_power NOLOGIN; \
         CREATE ROLE log_risks_login LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
         GRANT {WRITER}, {READER}, log_risks_power TO log_risks_login;"
    ));
    let c = util::cluster();
    let shell = TestShell::bare();
    // The shell's HOME goes when it has run: the logs live elsewhere.
    let logs = tempfile::tempdir().expect("logs");
    let dir = logs.path().join("logs");
    write_config(
        shell.home(),
        &format!(
            "[environments.prod]\nurl = \"postgresql://log_risks_login@{}:{}/{}\"\n\
             write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n\
             accept_risks = [\"extra_roles\"]\n",
            c.host(),
            c.port(),
            db.name
        ),
    );
    let out = shell
        .args(["--env", "prod", "--log-dir", dir.to_str().unwrap()])
        .args(["-c", "select count(*) from items"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let log = only_log_in(&dir);
    let start = &records(&log)[0];
    let risks = start["accepted_risks"].as_array().expect("a list");
    assert_eq!(risks.len(), 1, "{start}");
    let line = risks[0].as_str().unwrap();
    assert!(line.starts_with("accepted risk extra_roles"), "{line}");
    assert!(line.contains("log_risks_power"), "{line}");
    // The banner showed the same line.
    assert!(out.stderr.contains(line), "{out:?}");
    assert!(verify(&std::fs::read(&log).unwrap(), None).intact());
}
