//! Statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY and the
//! like) run alone, outside any transaction, only after an approval bound to their exact
//! text, environment, server, database, role and ticket; without an approval service the
//! author confirms, as for a COMMIT. Real approver, real cluster; the index is checked as
//! superuser afterwards (`pg_index.indisvalid`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pgward::approval::protocol::ApprovalRequest;
use pgward::approval::token::Approval;
use sha2::{Digest, Sha256};

use crate::approval_util::*;
use crate::term::{Start, Term};
use crate::util::{self, TestDb, TestShell, WRITER};

const CIC: &str = "CREATE INDEX CONCURRENTLY items_qty ON items (qty);\n";
/// The statement as the splitter cuts it (no terminating semicolon).
const CIC_TEXT: &str = "CREATE INDEX CONCURRENTLY items_qty ON items (qty)";

/// A database whose `items` the write role owns (an index needs the owner).
fn owned_db(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.exec(&format!(
        "ALTER TABLE items OWNER TO {WRITER}; GRANT CREATE ON SCHEMA public TO {WRITER}"
    ));
    db
}

/// `items_qty` as the catalog has it: `"valid"`, `"invalid"` or `"absent"`.
fn index(db: &TestDb) -> String {
    match db
        .value(
            "SELECT CASE WHEN i.indisvalid THEN 'valid' ELSE 'invalid' END \
             FROM pg_catalog.pg_index i WHERE i.indexrelid = pg_catalog.to_regclass('items_qty')",
        )
        .as_deref()
    {
        Some(v) => v.to_string(),
        None => "absent".into(),
    }
}

/// The one session log in `dir`.
fn only_log(dir: &std::path::Path) -> std::path::PathBuf {
    let logs: Vec<_> = std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(logs.len(), 1, "one session log: {logs:?}");
    logs[0].clone()
}

/// The kinds of the session log's records, in order.
fn kinds(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

fn record<'a>(records: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    records
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} record in {:?}", kinds(records)))
}

#[test]
fn approved_index_concurrently_is_built_valid_and_logged() {
    let db = owned_db("alone_ok");
    let ap = Approver::start("alone_ok");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let reviewer = approve_soon(&ap.url(), "bob");
    let logs = tempfile::tempdir().expect("log dir");
    let run = shell(&cfg, &cred, CIC)
        .args(["--log-dir"])
        .arg_path(logs.path());
    let out = run.run();
    let (status, _) = reviewer.join().expect("reviewer");
    assert_eq!(status, 303);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("CANNOT BE ROLLED BACK"),
        "the summary says it: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "It takes a SHARE UPDATE EXCLUSIVE lock; lock_timeout 5s, statement_timeout 30s."
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("CREATE INDEX"), "{}", out.stdout);
    assert_eq!(index(&db), "valid");
    assert_eq!(ap.log_entries(), 1);
    // Logged before and after: the intent with the statement, then the outcome.
    let records = util::records(&only_log(logs.path()));
    let k = kinds(&records);
    let at = |kind: &str| k.iter().position(|x| x == kind).expect(kind);
    assert!(
        at("approval_request") < at("approval")
            && at("approval") < at("commit_intent")
            && at("commit_intent") < at("commit")
            && at("commit") < at("statement"),
        "{k:?}"
    );
    let intent = record(&records, "commit_intent");
    assert_eq!(intent["statements"][0], CIC_TEXT);
    assert!(
        intent["txid"]
            .as_str()
            .unwrap_or("")
            .contains("outside any transaction"),
        "{intent}"
    );
    assert_eq!(record(&records, "statement")["class"], "non_transactional");
    // require_code = false: the approval record says no code was typed.
    assert_eq!(record(&records, "approval")["code_typed"], false);
    // The whole log verifies: chain, signatures, the approval token under the
    // approver's key, every intent with its outcome.
    let bytes = std::fs::read(only_log(logs.path())).expect("read log");
    let approver = ap.key.verifying_key();
    let v = pgward::audit::verify::verify_with(&bytes, None, Some(&approver));
    assert!(
        v.intact(),
        "{:?} {:?} {:?}",
        v.broken,
        v.ending,
        v.open_intents
    );
}

#[test]
fn rejected_index_is_not_built() {
    let db = owned_db("alone_reject");
    let ap = Approver::start("alone_reject");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let url = ap.url();
    let reviewer = std::thread::spawn(move || {
        let r =
            Reviewer::login(&url, "bob", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
        let id = r.next_pending(Duration::from_secs(20)).expect("pending");
        let page = r.get(&format!("/review/{id}"));
        assert!(page.body.contains("CANNOT BE ROLLED BACK"), "{}", page.body);
        r.reject(&id, "not during business hours")
    });
    let out = shell(&cfg, &cred, CIC).run();
    assert_eq!(reviewer.join().expect("reviewer"), 303);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("bob rejected the change: not during business hours"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("nothing was sent to the server"),
        "{}",
        out.stderr
    );
    assert_eq!(index(&db), "absent");
}

/// The statement digest as `standalone_digest.rs` documents it, computed independently.
fn standalone_digest(r: &ApprovalRequest, statement: &str) -> String {
    let mut out = String::from("pgward-standalone-v1\n");
    for (label, value) in [
        ("environment", r.environment.as_str()),
        ("server", &r.server),
        ("database", &r.database),
        ("role", &r.role),
        ("ticket", &r.ticket),
        ("statement", statement),
    ] {
        out.push_str(&format!("{label}:{}:{value}\n", value.len()));
    }
    Sha256::digest(out.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type Forge = fn(&ApprovalRequest, &ed25519_dalek::SigningKey) -> String;

fn sign(r: &ApprovalRequest, key: &ed25519_dalek::SigningKey, digest: &str) -> String {
    Approval {
        request_id: &r.request_id,
        change_digest: digest,
        log_head: &r.log_head,
        reviewer: "bob",
        approved_at: &pgward::approval::time::format(pgward::approval::time::now_unix()),
        expires_at: &r.expires_at,
    }
    .sign(key)
    .expect("sign")
}

/// A service holding the configured key answers with `forge`'s token: what the shell
/// does with it, and the index afterwards.
fn forged(name: &str, forge: Forge) -> (i32, String, String) {
    let db = owned_db(name);
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("random");
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = pgward::approval::key::public_hex(&key.verifying_key());
    let sent = Arc::new(Mutex::new(None::<ApprovalRequest>));
    let seen = sent.clone();
    let (url, _) = hostile(20, move |ex| {
        if ex.method == "POST" {
            let r: ApprovalRequest = serde_json::from_slice(&ex.body).expect("request");
            let body = format!(
                "{{\"request_id\":\"{}\",\"review_url\":\"http://x/review\"}}",
                r.request_id
            );
            *seen.lock().expect("lock") = Some(r);
            return response("201 Created", &body);
        }
        let r = seen.lock().expect("lock").clone().expect("posted first");
        response(
            "200 OK",
            &format!(
                "{{\"status\":\"approved\",\"reviewer\":\"bob\",\"approved_at\":\"{}\",\"token\":\"{}\"}}",
                pgward::approval::time::format(pgward::approval::time::now_unix()),
                forge(&r, &key)
            ),
        )
    });
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &url, &public, "require_code = false");
    let out = shell(&cfg, "pgw_x", CIC).run();
    let r = sent
        .lock()
        .expect("lock")
        .clone()
        .expect("a request was sent");
    // The request binds this statement, where it runs, and the ticket.
    assert_eq!(
        r.change_digest,
        standalone_digest(&r, CIC_TEXT),
        "the digest is the documented canonical form"
    );
    assert_eq!((r.ticket.as_str(), r.statements.len()), ("OPS-1", 1));
    (out.code, out.stderr, index(&db))
}

#[test]
fn token_for_other_text_or_tampered_builds_nothing() {
    // The honest token is accepted, so the refusals below are about the forgery.
    let (code, err, idx) = forged("alone_honest", |r, k| sign(r, k, &r.change_digest));
    assert_eq!((code, idx.as_str()), (0, "valid"), "{err}");
    let cases: [(&str, Forge); 3] = [
        // A real approval of another statement, in the same place under the same ticket.
        ("alone_other_text", |r, k| {
            sign(
                r,
                k,
                &standalone_digest(r, "DROP INDEX CONCURRENTLY items_qty"),
            )
        }),
        // The same statement under another ticket.
        ("alone_other_ticket", |r, k| {
            let other = ApprovalRequest {
                ticket: "OPS-2".into(),
                ..r.clone()
            };
            sign(r, k, &standalone_digest(&other, &r.statements[0]))
        }),
        ("alone_tampered", |r, k| {
            let t = sign(r, k, &r.change_digest);
            let flip = if t.starts_with('0') { "1" } else { "0" };
            format!("{flip}{}", &t[1..])
        }),
    ];
    for (name, forge) in cases {
        let (code, err, idx) = forged(name, forge);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains("does not verify"), "{name}: {err}");
        assert_eq!(idx, "absent", "{name}");
    }
}

#[test]
fn inside_an_open_transaction_is_refused() {
    let db = owned_db("alone_in_tx");
    let before = db.items();
    let out = TestShell::new(&db)
        .args(["-f", "-"])
        .stdin(&format!(
            "BEGIN;\nUPDATE items SET qty = 0 WHERE id = 1;\n{CIC}"
        ))
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and a guarded transaction is open"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(index(&db), "absent");
    assert_eq!(db.items(), before, "the open transaction was rolled back");
}

/// Where the environment has no approval service, the author confirms by typing its
/// name, as for a COMMIT; with no terminal to confirm at, nothing runs.
#[test]
fn without_approval_service_the_author_confirms() {
    let db = owned_db("alone_confirm");
    let out = TestShell::new(&db).args(["-f", "-"]).stdin(CIC).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not confirmed"), "{}", out.stderr);
    assert_eq!(index(&db), "absent");

    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("fix.sql");
    std::fs::write(&script, "VACUUM (ANALYZE) items;\n").expect("script");
    let path = script.display().to_string();
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-f", &path]);
    let summary = t.expect("Type the environment name (");
    t.ensure(
        summary.contains("VACUUM runs alone, outside any transaction"),
        "the summary names it",
    );
    t.ensure(
        summary.contains("CANNOT BE ROLLED BACK"),
        "the summary says it cannot be rolled back",
    );
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    assert!(wait_vacuumed(&db), "VACUUM (ANALYZE) ran");
}

/// The cumulative statistics may show the VACUUM a little late: polls for it.
fn wait_vacuumed(db: &TestDb) -> bool {
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        if db
            .value(
                "SELECT vacuum_count > 0 FROM pg_catalog.pg_stat_user_tables WHERE relname = 'items'",
            )
            .as_deref()
            == Some("t")
        {
            return true;
        }
    }
    false
}

/// Another session holds a lock the statement needs: it gives up after the
/// environment's lock_timeout (55P03), builds nothing, and the log says it failed.
#[test]
fn lock_timeout_applies_outside_the_transaction() {
    let db = owned_db("alone_lock");
    let ap = Approver::start("alone_lock");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let text = std::fs::read_to_string(&cfg).expect("read").replace(
        "require_approval = true\n",
        "require_approval = true\nlock_timeout = \"1s\"\n",
    );
    std::fs::write(&cfg, text).expect("write");
    let (release, holder) = hold_lock(&db);
    let reviewer = approve_soon(&ap.url(), "bob");
    let logs = tempfile::tempdir().expect("log dir");
    let run = shell(&cfg, &cred, CIC)
        .args(["--log-dir"])
        .arg_path(logs.path());
    let started = std::time::Instant::now();
    let out = run.run();
    let _ = release.send(());
    holder.join().expect("lock holder");
    reviewer.join().expect("reviewer");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("55P03"), "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "gave up in time"
    );
    assert_eq!(index(&db), "absent");
    let records = util::records(&only_log(logs.path()));
    assert_eq!(record(&records, "commit_failed")["sqlstate"], "55P03");
    assert!(!kinds(&records).contains(&"commit".to_string()));
}

/// Holds ACCESS EXCLUSIVE on `items` in an open transaction until told to stop.
fn hold_lock(db: &TestDb) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let conninfo = util::cluster().conninfo(&db.name);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        rt().block_on(async {
            let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .batch_execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
                .await
                .expect("lock");
            let _ = ready_tx.send(());
            let _ = tokio::task::spawn_blocking(move || rx.recv()).await;
            let _ = client.batch_execute("ROLLBACK").await;
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the lock is held");
    (tx, handle)
}
