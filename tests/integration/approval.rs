//! Two-person approval end to end: the real shell, the real approver on 127.0.0.1:0 over
//! the shared PostgreSQL cluster, the reviewer on the real page over HTTP, the code typed
//! on a real pseudo-terminal. Every case checks the data afterwards as superuser.

use std::time::Duration;

use pgward::approval::protocol::ApprovalRequest;
use pgward::approval::token::Approval;

use crate::approval_util::*;
use crate::term::Term;
use crate::util::{TestDb, PASSWORD, WRITER};

const SCRIPT: &str = "UPDATE items SET qty = 0 WHERE id = 1;\nCOMMIT;\n";

fn qty(db: &TestDb) -> String {
    db.value("SELECT qty FROM items WHERE id = 1")
        .unwrap_or_default()
}

/// The shell on a pty running `script` from a file, as author alice.
fn pty_shell(
    db: &TestDb,
    home: &std::path::Path,
    cfg: &std::path::Path,
    cred: &str,
    script: &str,
) -> Term {
    let file = home.join("fix.sql");
    std::fs::write(&file, script).expect("script");
    let cfg = cfg.display().to_string();
    let file = file.display().to_string();
    Term::start_args(
        db,
        home,
        "t",
        &[
            "--config", &cfg, "--env", "t", "--ticket", "OPS-1", "-f", &file,
        ],
        &[(CRED_VAR, cred)],
    )
}

#[test]
fn approval_code_typed_commits() {
    let db = TestDb::new("appr_code");
    let ap = Approver::start("code");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &ap.url(), &ap.public_key(), "");
    let mut t = pty_shell(&db, home.path(), &cfg, &cred, SCRIPT);
    let reviewer = approve_soon(&ap.url(), "bob");
    t.expect_within("/review/", Duration::from_secs(15));
    let (status, code) = reviewer.join().expect("reviewer");
    assert_eq!(status, 303);
    let code = code.expect("the page shows the code");
    t.expect_within("Approval code (1 of 3): ", Duration::from_secs(15));
    t.send(&format!("{code}\n"));
    let exit = t.exit_code();
    assert_eq!(exit, 0, "{}", t.transcript);
    assert!(!t.transcript.contains(&code), "the code is not echoed");
    assert_eq!(qty(&db), "0");
    assert_eq!(ap.log_entries(), 1);
    let records = crate::util::records(&crate::util::only_log(home.path()));
    let approval = records
        .iter()
        .find(|r| r["kind"] == "approval")
        .expect("an approval record");
    assert_eq!(approval["code_typed"], true, "{approval}");
}

#[test]
fn wrong_code_three_times_commits_nothing() {
    let db = TestDb::new("appr_wrong");
    let ap = Approver::start("wrong");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &ap.url(), &ap.public_key(), "");
    let mut t = pty_shell(&db, home.path(), &cfg, &cred, SCRIPT);
    let reviewer = approve_soon(&ap.url(), "bob");
    let (_, code) = reviewer.join().expect("reviewer");
    let code = code.expect("code");
    let wrong = if code.starts_with('Z') { "Y" } else { "Z" }.to_string() + &code[1..];
    for n in 1..=3 {
        t.expect_within(
            &format!("Approval code ({n} of 3): "),
            Duration::from_secs(15),
        );
        t.send(&format!("{wrong}\n"));
    }
    t.expect_within("wrong approval code three times", Duration::from_secs(5));
    assert_eq!(t.exit_code(), 2);
    assert_eq!(qty(&db), "10");
}

#[test]
fn rejected_with_reason_commits_nothing() {
    let db = TestDb::new("appr_reject");
    let ap = Approver::start("reject");
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
        // A reject needs a reason.
        assert_eq!(r.reject(&id, "  "), 400);
        r.reject(&id, "wrong <b>customer</b>")
    });
    let out = shell(&cfg, &cred, SCRIPT).run();
    assert_eq!(reviewer.join().expect("reviewer"), 303);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("bob rejected the change: wrong <b>customer</b>"),
        "{}",
        out.stderr
    );
    assert_eq!(qty(&db), "10");
    assert_eq!(ap.log_entries(), 1);
}

#[test]
fn script_needs_a_terminal_unless_require_code_is_off() {
    let db = TestDb::new("appr_script");
    let ap = Approver::start("script");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &ap.url(), &ap.public_key(), "");
    // Refused before anyone is asked to review.
    let out = shell(&cfg, &cred, SCRIPT).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no terminal to type the approval code"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Approval requested"), "{}", out.stderr);
    assert_eq!(qty(&db), "10");

    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let reviewer = approve_soon(&ap.url(), "bob");
    let logs = tempfile::tempdir().expect("log dir");
    let out = shell(&cfg, &cred, SCRIPT)
        .args(["--log-dir"])
        .arg_path(logs.path())
        .run();
    reviewer.join().expect("reviewer");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("require_code = false"),
        "{}",
        out.stderr
    );
    assert_eq!(qty(&db), "0");
    // The log says that the verified token alone sufficed: no code was typed.
    let log = std::fs::read_dir(logs.path())
        .expect("log dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .expect("a session log");
    let records = crate::util::records(&log);
    let approval = records
        .iter()
        .find(|r| r["kind"] == "approval")
        .expect("an approval record");
    assert_eq!(approval["code_typed"], false, "{approval}");
    let commit = records.iter().position(|r| r["kind"] == "commit");
    let approved = records.iter().position(|r| r["kind"] == "approval");
    assert!(
        approved < commit && commit.is_some(),
        "approval logged before commit"
    );
    let md = crate::util::TestShell::bare()
        .args(["log", "export", "--format", "markdown"])
        .arg_path(&log)
        .run();
    assert!(
        md.stdout.contains("no approval code was typed"),
        "{}{}",
        md.stdout,
        md.stderr
    );
}

/// The effect changed between approval and COMMIT: a deferred trigger that defers
/// constraints again queues work that fires only at the re-check after the approval, so
/// the counts differ from what was approved, and nothing is committed.
#[test]
fn effect_changed_after_approval_commits_nothing() {
    let db = TestDb::new("appr_changed");
    db.exec(&format!(
        "CREATE TABLE audit (item int NOT NULL); CREATE TABLE shadow (item int NOT NULL); \
         GRANT INSERT ON audit, shadow TO {WRITER}; \
         CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN SET CONSTRAINTS ALL DEFERRED; INSERT INTO public.audit VALUES (NEW.id); RETURN NULL; END$$; \
         CREATE FUNCTION shadow_audit() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN INSERT INTO public.shadow VALUES (NEW.item); RETURN NULL; END$$; \
         CREATE CONSTRAINT TRIGGER items_audit AFTER UPDATE ON items \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_items(); \
         CREATE CONSTRAINT TRIGGER audit_shadow AFTER INSERT ON audit \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shadow_audit();"
    ));
    let ap = Approver::start("changed");
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
    let out = shell(&cfg, &cred, SCRIPT).run();
    let (status, code) = reviewer.join().expect("reviewer");
    assert_eq!((status, code.is_some()), (303, true), "it was approved");
    assert_eq!(ap.log_entries(), 1);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("deferred triggers changed rows after the summary was confirmed"),
        "{}",
        out.stderr
    );
    assert_eq!(qty(&db), "10");
    assert_eq!(db.value("SELECT count(*) FROM audit").as_deref(), Some("0"));
    assert_eq!(
        db.value("SELECT count(*) FROM shadow").as_deref(),
        Some("0")
    );
}

#[test]
fn nobody_decides_in_time_commits_nothing() {
    let db = TestDb::new("appr_timeout");
    let ap = Approver::start("timeout");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    )
    .display()
    .to_string();
    // The config's wait of 20s is replaced by 2s.
    let text = std::fs::read_to_string(&cfg)
        .expect("read")
        .replace("wait = \"20s\"", "wait = \"2s\"");
    std::fs::write(&cfg, text).expect("write");
    let out = shell(std::path::Path::new(&cfg), &cred, SCRIPT).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no decision within 0:02"),
        "{}",
        out.stderr
    );
    assert_eq!(qty(&db), "10");
    // The service lets the request lapse too: a late approval is refused.
    std::thread::sleep(Duration::from_secs(1));
    let r =
        Reviewer::login(&ap.url(), "bob", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
    assert_eq!(r.next_pending(Duration::from_millis(300)), None);
}

#[test]
fn self_approval_refused_under_any_name() {
    let db = TestDb::new("appr_self");
    let ap = Approver::start("self");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    )
    .display()
    .to_string();
    let text = std::fs::read_to_string(&cfg)
        .expect("read")
        .replace("wait = \"20s\"", "wait = \"4s\"");
    std::fs::write(&cfg, text).expect("write");
    let url = ap.url();
    // alice claims to be mallory; the service knows her credential.
    let reviewer = std::thread::spawn(move || {
        let r =
            Reviewer::login(&url, "alice", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
        let id = r.next_pending(Duration::from_secs(20)).expect("pending");
        let page = r.get(&format!("/review/{id}"));
        assert!(page.body.contains("You wrote this change"), "{}", page.body);
        r.approve(&id).0
    });
    let out = shell(std::path::Path::new(&cfg), &cred, SCRIPT)
        .args(["--author", "mallory"])
        .run();
    assert_eq!(reviewer.join().expect("reviewer"), 409);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(qty(&db), "10");
    assert_eq!(ap.log_entries(), 0);
}

#[test]
fn two_approver_processes_share_one_store() {
    let db = TestDb::new("appr_two");
    let ap = Approver::start("two");
    let other = Approver::process(&ap.schema, &ap.key, Extra::default());
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    // Created through the first process, approved through the second.
    let reviewer = approve_soon(&other.public_url, "bob");
    let out = shell(&cfg, &cred, SCRIPT).run();
    let (status, code) = reviewer.join().expect("reviewer");
    assert_eq!((status, code.is_some()), (303, true));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(qty(&db), "0");
}

/// Makes the token a hostile service answers with.
type Tamper = fn(&ApprovalRequest, &ed25519_dalek::SigningKey) -> String;

/// What a forged or replayed approval looks like to the shell: a hostile service signs
/// with the real key, but over something else than what the shell sent.
fn forged(db_name: &str, tamper: Tamper) -> (i32, String, String) {
    let db = TestDb::new(db_name);
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("random");
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = pgward::approval::key::public_hex(&key.verifying_key());
    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<ApprovalRequest>));
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
        let token = tamper(&r, &key);
        response(
            "200 OK",
            &format!(
                "{{\"status\":\"approved\",\"reviewer\":\"bob\",\"approved_at\":\"{}\",\"token\":\"{token}\"}}",
                pgward::approval::time::format(pgward::approval::time::now_unix())
            ),
        )
    });
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &url, &public, "require_code = false");
    let out = shell(&cfg, "pgw_x", SCRIPT).run();
    (out.code, out.stderr, qty(&db))
}

fn sign(
    r: &ApprovalRequest,
    key: &ed25519_dalek::SigningKey,
    digest: &str,
    log_head: &str,
    id: &str,
) -> String {
    Approval {
        request_id: id,
        change_digest: digest,
        log_head,
        reviewer: "bob",
        approved_at: &pgward::approval::time::format(pgward::approval::time::now_unix()),
        expires_at: &r.expires_at,
    }
    .sign(key)
    .expect("sign")
}

#[test]
fn forged_tokens_commit_nothing() {
    // The honest token is accepted (so the refusals below are about the forgery).
    let (code, err, q) = forged("appr_honest", |r, k| {
        sign(r, k, &r.change_digest, &r.log_head, &r.request_id)
    });
    assert_eq!((code, q.as_str()), (0, "0"), "{err}");
    let cases: [(&str, Tamper); 4] = [
        ("appr_tampered", |r, k| {
            let t = sign(r, k, &r.change_digest, &r.log_head, &r.request_id);
            let flip = if t.starts_with('0') { "1" } else { "0" };
            format!("{flip}{}", &t[1..])
        }),
        ("appr_digest", |r, k| {
            sign(r, k, &"ab".repeat(32), &r.log_head, &r.request_id)
        }),
        ("appr_head", |r, k| {
            sign(r, k, &r.change_digest, &"cd".repeat(32), &r.request_id)
        }),
        // A token from an earlier request, replayed for this one.
        ("appr_replay", |r, k| {
            sign(
                r,
                k,
                &r.change_digest,
                &r.log_head,
                "0123456789abcdef0123456789abcdef",
            )
        }),
    ];
    for (name, tamper) in cases {
        let (code, err, q) = forged(name, tamper);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains("does not verify"), "{name}: {err}");
        assert_eq!(q, "10", "{name}");
    }
}

fn some_public_key() -> String {
    pgward::approval::key::public_hex(
        &ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key(),
    )
}

#[test]
fn broken_services_commit_nothing() {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("appr_500", response("500 Internal Server Error", "{\"error\":\"boom\"}"), "HTTP 500: boom"),
        ("appr_junk", response("201 Created", "<html>hello</html>"), "no valid protocol-v1 answer"),
        ("appr_big", response("201 Created", &big), "more than 65536 bytes"),
        (
            "appr_redirect",
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://203.0.113.9/requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            "redirected to http://203.0.113.9/requests",
        ),
    ];
    for (name, answer, says) in cases {
        let db = TestDb::new(name);
        let (url, _) = hostile(5, move |_| answer.clone());
        let home = tempfile::tempdir().expect("home");
        let cfg = config(
            home.path(),
            &db,
            &url,
            &some_public_key(),
            "require_code = false",
        );
        let out = shell(&cfg, "pgw_x", SCRIPT).run();
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("the transaction is still open"),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(qty(&db), "10", "{name}");
    }
    // Down: nothing listens.
    let db = TestDb::new("appr_down");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &format!("http://127.0.0.1:{port}"),
        &some_public_key(),
        "require_code = false",
    );
    let out = shell(&cfg, "pgw_x", SCRIPT).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    assert_eq!(qty(&db), "10");
}

#[test]
fn unknown_credential_is_refused() {
    let db = TestDb::new("appr_cred");
    let ap = Approver::start("cred");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let out = shell(&cfg, "pgw_not_a_credential", SCRIPT).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
    assert_eq!(qty(&db), "10");
    let _ = PASSWORD;
}

#[test]
fn demo_serves_the_approver_and_asks_it() {
    let out = crate::util::TestShell::bare()
        .args(["demo", "-f", "-"])
        .stdin("update orders set status = 'cancelled' where id = 42;\ncommit;\n")
        .run();
    assert!(
        out.stderr.contains("review at http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("as reviewer `reviewer`, password `"),
        "{}",
        out.stderr
    );
    // No terminal here to type the code at: refused, the transaction rolled back at exit.
    assert!(
        out.stderr.contains("no terminal to type the approval code"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// A service that has seen one request after another: what it answers to each poll.
type Answer = Box<dyn Fn(&[ApprovalRequest], &ed25519_dalek::SigningKey) -> Vec<u8> + Send>;

/// A hostile service holding the configured key: it takes every request (201) and
/// answers polls with `answer`, given the requests so far. Returns the URL and key.
fn scripted(answer: Answer) -> (String, String) {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).expect("random");
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = pgward::approval::key::public_hex(&key.verifying_key());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<ApprovalRequest>::new()));
    let (url, _) = hostile(40, move |ex| {
        let mut seen = seen.lock().expect("lock");
        if ex.method == "POST" {
            let r: ApprovalRequest = serde_json::from_slice(&ex.body).expect("request");
            let body = format!(
                "{{\"request_id\":\"{}\",\"review_url\":\"http://x/review\"}}",
                r.request_id
            );
            seen.push(r);
            return response("201 Created", &body);
        }
        answer(&seen, &key)
    });
    (url, public)
}

fn approved(token: &str, approved_at: &str) -> Vec<u8> {
    response(
        "200 OK",
        &format!(
            "{{\"status\":\"approved\",\"reviewer\":\"bob\",\"approved_at\":\"{approved_at}\",\"token\":\"{token}\"}}"
        ),
    )
}

/// The first transaction's genuine token, replayed by the service for the second
/// transaction of the same script: the first commits, the second does not.
#[test]
fn token_replayed_in_a_second_transaction_commits_nothing() {
    let db = TestDb::new("appr_replay2");
    let first = std::sync::Arc::new(std::sync::Mutex::new(None::<(String, String)>));
    let (url, public) = scripted(Box::new(move |seen, key| {
        let mut first = first.lock().expect("lock");
        if first.is_none() {
            let r = &seen[0];
            let at = pgward::approval::time::format(pgward::approval::time::now_unix());
            *first = Some((sign_at(r, key, &at), at));
        }
        let (token, at) = first.clone().expect("signed");
        approved(&token, &at)
    }));
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &url, &public, "require_code = false");
    let out = shell(
        &cfg,
        "pgw_x",
        "UPDATE items SET qty = 0 WHERE id = 1;\nCOMMIT;\nUPDATE items SET qty = 1 WHERE id = 2;\nCOMMIT;\n",
    )
    .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("does not verify"), "{}", out.stderr);
    assert_eq!(qty(&db), "0", "the first transaction committed");
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 2").as_deref(),
        Some("20"),
        "the second did not"
    );
}

fn sign_at(r: &ApprovalRequest, key: &ed25519_dalek::SigningKey, approved_at: &str) -> String {
    Approval {
        request_id: &r.request_id,
        change_digest: &r.change_digest,
        log_head: &r.log_head,
        reviewer: "bob",
        approved_at,
        expires_at: &r.expires_at,
    }
    .sign(key)
    .expect("sign")
}

/// Expiry: the service says the request expired, or signs an approval dated after the
/// request's expiry; either way nothing is committed.
#[test]
fn expired_requests_commit_nothing() {
    let cases: [(&str, Answer, &str); 2] = [
        (
            "appr_expired",
            Box::new(|_, _| response("200 OK", "{\"status\":\"expired\"}")),
            "the approval request expired before anyone decided",
        ),
        (
            "appr_late",
            Box::new(|seen, key| {
                let r = &seen[0];
                let late = pgward::approval::time::parse(&r.expires_at).expect("expiry") + 1;
                let at = pgward::approval::time::format(late);
                approved(&sign_at(r, key, &at), &at)
            }),
            "the approval arrived after the request expired",
        ),
    ];
    for (name, answer, says) in cases {
        let db = TestDb::new(name);
        let (url, public) = scripted(answer);
        let home = tempfile::tempdir().expect("home");
        let cfg = config(home.path(), &db, &url, &public, "require_code = false");
        let out = shell(&cfg, "pgw_x", SCRIPT).run();
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert_eq!(qty(&db), "10", "{name}");
    }
}

/// A service slower than the per-exchange limit (10 s): refused, nothing committed.
#[test]
fn slow_service_commits_nothing() {
    let db = TestDb::new("appr_slow");
    let (url, _) = hostile(2, |_| {
        std::thread::sleep(Duration::from_secs(12));
        response("500 Internal Server Error", "{}")
    });
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &url,
        &some_public_key(),
        "require_code = false",
    );
    let out = shell(&cfg, "pgw_x", SCRIPT).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("did not answer within 10 s"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the transaction is still open"),
        "{}",
        out.stderr
    );
    assert_eq!(qty(&db), "10");
}
