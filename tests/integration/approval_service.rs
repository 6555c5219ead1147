//! The approver on its own: chat notification to a loopback sink, approve-from-chat with
//! a signed (and a badly signed or stale) interactivity payload, and hostile input
//! (oversized bodies, bad UTF-8, HTML and script in statements) answered with 4xx while
//! the page stays intact.

use std::time::Duration;

use pgward::approval::protocol::{ApprovalRequest, TableCount};
use pgward::approval::service::chat;
use pgward::approval::time;

use crate::approval_util::*;

fn request(id: &str, statement: &str) -> ApprovalRequest {
    ApprovalRequest {
        version: 1,
        request_id: id.to_string(),
        environment: "prod".into(),
        server: "db1".into(),
        database: "shop".into(),
        role: "app_writer".into(),
        author: "alice".into(),
        ticket: "OPS-7".into(),
        statements: vec![statement.to_string()],
        counts: vec![TableCount {
            table: "public.items".into(),
            inserted: 0,
            updated: 1,
            deleted: 0,
        }],
        preview_excerpt: "UPDATE 1".into(),
        change_digest: "ab".repeat(32),
        log_head: "cd".repeat(32),
        txid: "777".into(),
        expires_at: time::format(time::now_unix() + 120),
    }
}

fn post(url: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    rt().block_on(async {
        let mut r = reqwest::Client::new().post(format!("{url}{path}"));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let resp = r.body(body).send().await.expect("post");
        (
            resp.status().as_u16(),
            resp.text().await.unwrap_or_default(),
        )
    })
}

fn create(url: &str, cred: &str, req: &ApprovalRequest) -> (u16, String) {
    post(
        url,
        "/requests",
        &[
            ("authorization", &format!("Bearer {cred}")),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(req).expect("json"),
    )
}

fn wait_for(seen: &std::sync::Arc<std::sync::Mutex<Vec<Exchange>>>, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let got: Vec<String> = seen
            .lock()
            .expect("lock")
            .iter()
            .map(|e| String::from_utf8_lossy(&e.body).into_owned())
            .collect();
        if got.len() >= n {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the sink got fewer than {n} posts");
}

#[test]
fn chat_notification_and_signed_approval() {
    let (hook, hooked) = hostile(5, |_| response("200 OK", "ok"));
    let (reply, replied) = hostile(5, |_| response("200 OK", "ok"));
    let secret = "chat-signing-secret";
    let ap = Approver::start_with(
        "chat",
        Extra {
            webhook: Some(hook),
            slack_secret: Some(secret.into()),
        },
    );
    let cred = ap.author("alice");
    let id = random_hex(16);
    assert_eq!(
        create(&ap.url(), &cred, &request(&id, "UPDATE items SET qty = 0")).0,
        201
    );
    let posted = wait_for(&hooked, 1);
    let json: serde_json::Value = serde_json::from_str(&posted[0]).expect("webhook JSON");
    let text = json["text"].as_str().expect("text");
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
    assert!(
        text.contains("OPS-7") && text.contains(&format!("{}/review/{id}", ap.url())),
        "{text}"
    );

    let payload = |user: &str| {
        let p = serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U1", "username": user},
            "actions": [{"action_id": "approve", "value": id}],
            "response_url": format!("{reply}/hook"),
        });
        format!(
            "payload={}",
            percent_encoding::utf8_percent_encode(
                &p.to_string(),
                percent_encoding::NON_ALPHANUMERIC
            )
        )
        .into_bytes()
    };
    let send = |body: Vec<u8>, ts: i64, key: &str| {
        let ts = ts.to_string();
        let sig = chat::signature(key.as_bytes(), &ts, &body);
        post(
            &ap.url(),
            "/chat/interactivity",
            &[
                ("x-slack-request-timestamp", &ts),
                ("x-slack-signature", &sig),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .0
    };
    let now = time::now_unix();
    // Badly signed, stale, or from someone who is no reviewer: refused, nothing decided.
    assert_eq!(send(payload("bob"), now, "wrong-secret"), 401);
    assert_eq!(send(payload("bob"), now - 400, secret), 401);
    assert_eq!(send(payload("mallory"), now, secret), 403);
    assert_eq!(ap.log_entries(), 0);
    // Signed and fresh: approved, and the code goes to response_url, ephemeral.
    assert_eq!(send(payload("bob"), now, secret), 200);
    let replies = wait_for(&replied, 1);
    let r: serde_json::Value = serde_json::from_str(&replies[0]).expect("reply JSON");
    assert_eq!(r["response_type"], "ephemeral");
    let text = r["text"].as_str().expect("text");
    assert!(text.contains("Type this code"), "{text}");
    assert_eq!(ap.log_entries(), 1);
    // The shell sees the approval.
    let status = rt().block_on(async {
        let c = pgward::approval::ApprovalClient::new(
            &ap.url(),
            pgward::conn::Secret::new(cred.clone()),
            None,
        )
        .expect("client");
        c.status(&id).await.expect("status")
    });
    match status {
        pgward::approval::Status::Approved {
            reviewer, token, ..
        } => {
            assert_eq!(reviewer, "bob");
            let code = pgward::approval::code::display(
                &pgward::approval::code::derive(&token).expect("code"),
            );
            assert!(text.contains(&code), "{text} / {code}");
        }
        other => panic!("not approved: {other:?}"),
    }
}

#[test]
fn hostile_input_gets_4xx_and_the_page_stays_intact() {
    let ap = Approver::start("hostile");
    let cred = ap.author("alice");
    let auth = format!("Bearer {cred}");
    let json = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    // Oversized, bad UTF-8, not JSON, wrong version, an id used twice.
    assert_eq!(
        post(&ap.url(), "/requests", &json, vec![b'x'; 300 * 1024]).0,
        413
    );
    let mut bad = serde_json::to_vec(&request(&random_hex(16), "x")).expect("json");
    let at = bad.iter().position(|b| *b == b'x').expect("x");
    bad[at] = 0xff;
    assert_eq!(post(&ap.url(), "/requests", &json, bad).0, 400);
    assert_eq!(
        post(&ap.url(), "/requests", &json, b"<html>".to_vec()).0,
        400
    );
    let mut v2 = request(&random_hex(16), "x");
    v2.version = 2;
    assert_eq!(create(&ap.url(), &cred, &v2).0, 400);
    let hostile_sql =
        "UPDATE items SET note = '</pre><script>alert(1)</script><img src=x onerror=alert(2)>'";
    let id = random_hex(16);
    assert_eq!(create(&ap.url(), &cred, &request(&id, hostile_sql)).0, 201);
    assert_eq!(create(&ap.url(), &cred, &request(&id, "x")).0, 409);
    // No credential, or someone else's request.
    assert_eq!(
        post(
            &ap.url(),
            "/requests",
            &[("content-type", "application/json")],
            b"{}".to_vec()
        )
        .0,
        401
    );
    let r =
        Reviewer::login(&ap.url(), "bob", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
    let page = r.get(&format!("/review/{id}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    // The page's own form (with its CSRF token) still works after the hostile input.
    let (status, code) = r.approve(&id);
    assert_eq!((status, code.is_some()), (303, true));
    let wrong_pw = Reviewer::login(&ap.url(), "bob", "not-the-password");
    assert_eq!(wrong_pw.err().map(|a| a.status), Some(401));
}

#[test]
fn pending_requests_survive_an_approver_restart() {
    let ap = Approver::start("restart");
    let cred = ap.author("alice");
    let id = random_hex(16);
    // Created through one approver, which then stops (its server shut down, its memory
    // gone)…
    let first = Approver::process(&ap.schema, &ap.key, Extra::default());
    let (status, _) = create(
        &first.public_url,
        &cred,
        &request(&id, "UPDATE items SET qty = 1"),
    );
    assert_eq!(status, 201);
    drop(first);
    // …and a fresh one, on the same store, still lists it and takes the decision.
    let again = Approver::process(&ap.schema, &ap.key, Extra::default());
    let r = Reviewer::login(&again.public_url, "bob", REVIEWER_PW)
        .unwrap_or_else(|a| panic!("{}", a.status));
    let page = r.get(&format!("/review/{id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("UPDATE items SET qty = 1"),
        "{}",
        page.body
    );
    let (status, code) = r.approve(&id);
    assert_eq!((status, code.is_some()), (303, true));
}

#[test]
fn forms_need_the_csrf_token() {
    let ap = Approver::start("csrf");
    // The page's headers: a strict Content-Security-Policy (no script runs, nothing is
    // framed) and a session-bound login cookie that scripts cannot read.
    let (csp, cookie) = rt().block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{}/review", ap.url()))
            .send()
            .await
            .expect("get /review");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        (header("content-security-policy"), header("set-cookie"))
    });
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cred = ap.author("alice");
    let id = random_hex(16);
    assert_eq!(
        create(&ap.url(), &cred, &request(&id, "UPDATE items SET qty = 1")).0,
        201
    );
    let r =
        Reviewer::login(&ap.url(), "bob", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
    let (status, _) = post(
        &ap.url(),
        &format!("/review/{id}/approve"),
        &[("content-type", "application/x-www-form-urlencoded")],
        b"csrf=guess".to_vec(),
    );
    assert_eq!(status, 401, "no session cookie");
    let a = r.post_raw(&format!("/review/{id}/approve"), "csrf=guess");
    assert_eq!(a.status, 403);
    assert_eq!(ap.log_entries(), 0);
    let page = r.get(&format!("/review/{id}"));
    assert!(page.body.contains("<h1>Pending</h1>"), "{}", page.body);
}

/// A Slack block-action payload from `user` pressing `action` on request `id`, with
/// `reason` typed in the message's `reason` input when given.
fn chat_payload(user: &str, action: &str, id: &str, reason: Option<&str>, reply: &str) -> Vec<u8> {
    let mut p = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U1", "username": user},
        "actions": [{"action_id": action, "value": id}],
        "response_url": format!("{reply}/hook"),
    });
    if let Some(reason) = reason {
        p["state"] = serde_json::json!({"values": {"decision": {
            "reason": {"type": "plain_text_input", "value": reason}
        }}});
    }
    format!(
        "payload={}",
        percent_encoding::utf8_percent_encode(&p.to_string(), percent_encoding::NON_ALPHANUMERIC)
    )
    .into_bytes()
}

/// POSTs `body` to the interactivity endpoint, signed with `key` at `ts`.
fn chat_send(url: &str, body: Vec<u8>, ts: i64, key: &str) -> u16 {
    let ts = ts.to_string();
    let sig = chat::signature(key.as_bytes(), &ts, &body);
    post(
        url,
        "/chat/interactivity",
        &[
            ("x-slack-request-timestamp", &ts),
            ("x-slack-signature", &sig),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .0
}

/// Reject from chat, end to end: the shell waits, the reviewer rejects in chat with the
/// reason typed in the message; without a reason, badly signed or stale, nothing is
/// decided. The shell shows the reason and commits nothing.
#[test]
fn chat_reject_needs_a_reason_and_the_shell_shows_it() {
    let (reply, replied) = hostile(10, |_| response("200 OK", "ok"));
    let secret = "chat-signing-secret";
    let ap = Approver::start_with(
        "chat_reject",
        Extra {
            webhook: None,
            slack_secret: Some(secret.into()),
        },
    );
    let cred = ap.author("alice");
    let db = crate::util::TestDb::new("appr_chat_reject");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(
        home.path(),
        &db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let shell_run = std::thread::spawn(move || {
        shell(
            &cfg,
            &cred,
            "UPDATE items SET qty = 0 WHERE id = 1;\nCOMMIT;\n",
        )
        .run()
    });
    let page =
        Reviewer::login(&ap.url(), "bob", REVIEWER_PW).unwrap_or_else(|a| panic!("{}", a.status));
    let id = page
        .next_pending(Duration::from_secs(20))
        .expect("a pending request");
    let now = time::now_unix();
    let why = Some("wrong ticket");
    // Badly signed or stale: refused before anything is read.
    assert_eq!(
        chat_send(
            &ap.url(),
            chat_payload("bob", "reject", &id, why, &reply),
            now,
            "wrong-secret"
        ),
        401
    );
    assert_eq!(
        chat_send(
            &ap.url(),
            chat_payload("bob", "reject", &id, why, &reply),
            now - 400,
            secret
        ),
        401
    );
    // No reason typed: nothing decided, and the reviewer is told why.
    assert_eq!(
        chat_send(
            &ap.url(),
            chat_payload("bob", "reject", &id, None, &reply),
            now,
            secret
        ),
        200
    );
    let replies = wait_for(&replied, 1);
    assert!(
        replies[0].contains("Not rejected: a rejection needs a reason"),
        "{}",
        replies[0]
    );
    assert_eq!(ap.log_entries(), 0);
    // With the reason: rejected.
    assert_eq!(
        chat_send(
            &ap.url(),
            chat_payload("bob", "reject", &id, why, &reply),
            now,
            secret
        ),
        200
    );
    let replies = wait_for(&replied, 2);
    assert!(replies[1].contains("Rejected OPS-1"), "{}", replies[1]);
    assert_eq!(ap.log_entries(), 1);
    let out = shell_run.join().expect("shell");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("bob rejected the change: wrong ticket"),
        "{}",
        out.stderr
    );
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 1").as_deref(),
        Some("10")
    );
}
