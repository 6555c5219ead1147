//! Session logs attached to tickets (`[tickets]`), through the real binary against real
//! HTTP servers on 127.0.0.1:0 that check every request the way each service documents
//! its API: Jira's attachment upload (path, `X-Atlassian-Token: no-check`, basic auth,
//! one `multipart/form-data` part named `file` holding the exact log bytes) and comment,
//! GitHub's issue comment, GitLab's issue note, and the webhook's JSON with its
//! HMAC-SHA256 signature. A failing service leaves the log intact, names the exact retry
//! command, and is listed in the next session's banner until `pgward log attach` succeeds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::util::{self, isolate, TestDb, TestShell};

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// The path as sent (percent-encoding kept).
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A recording HTTP server: it answers every request with `status` (201 by default) and
/// keeps what it received.
struct Service {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    status: Arc<AtomicU16>,
    _thread: std::thread::JoinHandle<()>,
}

impl Service {
    fn start() -> Service {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(201));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (s, st) = (seen.clone(), status.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let (s, st) = (s.clone(), st.clone());
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_string();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                            })
                            .collect();
                        let body = axum::body::to_bytes(req.into_body(), 64 << 20)
                            .await
                            .map(|b| b.to_vec())
                            .unwrap_or_default();
                        s.lock().unwrap().push(Seen {
                            method,
                            path,
                            headers,
                            body,
                        });
                        let code = st.load(Ordering::SeqCst);
                        let body = if code >= 400 {
                            r#"{"errorMessages":["the service is down for maintenance"],"errors":{}}"#
                        } else {
                            r#"{"id":"10001"}"#
                        };
                        (
                            axum::http::StatusCode::from_u16(code).unwrap(),
                            [("content-type", "application/json")],
                            body,
                        )
                    }
                });
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        Service {
            url,
            seen,
            status,
            _thread: thread,
        }
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    fn fail(&self, fail: bool) {
        self.status
            .store(if fail { 503 } else { 201 }, Ordering::SeqCst);
    }
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The parts of a `multipart/form-data` body (RFC 7578): each part's header lines and
/// its content.
fn multipart(content_type: &str, body: &[u8]) -> Vec<(Vec<String>, Vec<u8>)> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart/form-data content type with a boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut rest = body
        .strip_prefix(delimiter.as_bytes())
        .expect("the body opens with the boundary");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            assert_eq!(&rest[2..], b"\r\n", "nothing after the closing boundary");
            return parts;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after a boundary");
        let end = find(rest, format!("\r\n{delimiter}").as_bytes()).expect("a closing boundary");
        let part = &rest[..end];
        let split = find(part, b"\r\n\r\n").expect("part headers end with a blank line");
        let headers = String::from_utf8(part[..split].to_vec())
            .unwrap()
            .split("\r\n")
            .map(str::to_string)
            .collect();
        parts.push((headers, part[split + 4..].to_vec()));
        rest = &rest[end + 2 + delimiter.len()..];
    }
}

const JIRA_TOKEN: &str = "jira-api-token-7f3a";
const GITHUB_TOKEN: &str = "ghp_test_token_91c2";
const GITLAB_TOKEN: &str = "glpat-test-token-55d1";
const HOOK_SECRET: &str = "hook-secret-0b8e";

fn config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("config");
    path
}

/// Runs `pgward ARGS` with HOME `home` and the services' tokens in the environment.
fn pgward(home: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(util::bin());
    isolate(&mut cmd, home);
    let out = with_tokens(&mut cmd).args(args).output().expect("pgward");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_tokens(cmd: &mut Command) -> &mut Command {
    cmd.env("PGWARD_TEST_JIRA", JIRA_TOKEN)
        .env("PGWARD_TEST_GITLAB", GITLAB_TOKEN)
        .env("PGWARD_TEST_HOOK", HOOK_SECRET)
}

fn session(db: &TestDb, cfg: &Path, logs: &Path, ticket: &str) -> (util::Output, PathBuf) {
    let before: Vec<PathBuf> = list(logs);
    let out = TestShell::new(db)
        .args(["--config", cfg.to_str().unwrap(), "--log-dir"])
        .arg_path(logs)
        .args(["--ticket", ticket])
        .env("PGWARD_TEST_JIRA", JIRA_TOKEN)
        .stdin(
            "select qty from items where id = 1;\nupdate items set qty = 99 where id = 1;\nrollback;\n",
        )
        .run();
    let new: Vec<PathBuf> = list(logs)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "one new log: {new:?} {out:?}");
    (out, new[0].clone())
}

fn list(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
fn intact(log: &Path) -> Vec<u8> {
    let bytes = std::fs::read(log).expect("log");
    assert!(
        pgward::audit::verify(&bytes, None).intact(),
        "the log is intact"
    );
    bytes
}

#[test]
fn tickets_each_service_gets_the_request_its_api_documents() {
    let db = TestDb::new("tickets_api");
    let before = db.items();
    let service = Service::start();
    let home = tempfile::tempdir().expect("home");
    let logs = home.path().join("logs");
    let jira = config(
        home.path(),
        "jira.toml",
        &format!(
            "[tickets]\nservice = \"jira\"\nurl = \"{}/\"\nuser = \"ops@example.com\"\ntoken_env = \"PGWARD_TEST_JIRA\"\n",
            service.url
        ),
    );

    // Jira, at the end of a real session: the attachment, then the comment.
    let (out, log) = session(&db, &jira, &logs, "OPS-7");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("session log attached"), "{out:?}");
    assert_eq!(db.items(), before, "the session rolled its update back");
    let bytes = intact(&log);
    let text = String::from_utf8(bytes.clone()).unwrap();
    for token in [JIRA_TOKEN, GITHUB_TOKEN, GITLAB_TOKEN, HOOK_SECRET] {
        assert!(!text.contains(token) && !out.stderr.contains(token));
    }
    let seen = service.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let upload = &seen[0];
    assert_eq!(upload.method, "POST");
    assert_eq!(upload.path, "/rest/api/2/issue/OPS-7/attachments");
    assert_eq!(upload.header("x-atlassian-token"), Some("no-check"));
    assert_eq!(
        upload.header("authorization").map(str::to_string),
        Some(format!(
            "Basic {}",
            base64(format!("ops@example.com:{JIRA_TOKEN}").as_bytes())
        ))
    );
    let parts = multipart(upload.header("content-type").unwrap(), &upload.body);
    assert_eq!(parts.len(), 1, "one part");
    let (headers, content) = &parts[0];
    let name = log.file_name().unwrap().to_str().unwrap();
    assert!(
        headers.contains(&format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\""
        )),
        "{headers:?}"
    );
    assert_eq!(content, &bytes, "the part is the log, byte for byte");
    let comment = &seen[1];
    assert_eq!(comment.method, "POST");
    assert_eq!(comment.path, "/rest/api/2/issue/OPS-7/comment");
    assert_eq!(
        comment.header("authorization"),
        upload.header("authorization")
    );
    assert_eq!(comment.header("content-type"), Some("application/json"));
    let md = comment.json()["body"].as_str().expect("body").to_string();
    assert!(
        md.contains("OPS-7") && md.contains("update items set qty = 99 where id = 1"),
        "{md}"
    );
    assert!(md.contains("pgward log verify"), "{md}");

    // GitHub, on demand: an issue comment on the configured repository.
    let gh_token = home.path().join("gh.token");
    std::fs::write(&gh_token, format!("{GITHUB_TOKEN}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gh_token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let github = config(
        home.path(),
        "github.toml",
        &format!(
            "[tickets]\nservice = \"github\"\nurl = \"{}\"\nrepo = \"acme/shop\"\ntoken_file = \"{}\"\n",
            service.url,
            gh_token.display()
        ),
    );
    let (code, err) = pgward(
        home.path(),
        &[
            "log",
            "attach",
            log.to_str().unwrap(),
            "--ticket",
            "42",
            "--config",
            github.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let seen = service.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let c = &seen[0];
    assert_eq!(c.method, "POST");
    assert_eq!(c.path, "/repos/acme/shop/issues/42/comments");
    assert_eq!(
        c.header("authorization").map(str::to_string),
        Some(format!("Bearer {GITHUB_TOKEN}"))
    );
    assert_eq!(c.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(c.header("x-github-api-version"), Some("2022-11-28"));
    assert!(c.header("user-agent").unwrap_or("").starts_with("pgward/"));
    assert_eq!(c.json()["body"].as_str(), Some(md.as_str()));
    // A ticket that names no GitHub issue is refused before anything is sent.
    let (code, err) = pgward(
        home.path(),
        &[
            "log",
            "attach",
            log.to_str().unwrap(),
            "--config",
            github.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--ticket 123"), "{err}");
    assert!(service.take().is_empty());
    std::fs::remove_file(logs.join(pgward::audit::attach::pending::FILE)).unwrap();

    // GitLab: an issue note, the project path URL-encoded.
    let gitlab = config(
        home.path(),
        "gitlab.toml",
        &format!(
            "[tickets]\nservice = \"gitlab\"\nurl = \"{}\"\nproject = \"ops/shop\"\ntoken_env = \"PGWARD_TEST_GITLAB\"\n",
            service.url
        ),
    );
    let (code, err) = pgward(
        home.path(),
        &[
            "log",
            "attach",
            log.to_str().unwrap(),
            "--ticket",
            "#5",
            "--config",
            gitlab.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let seen = service.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let n = &seen[0];
    assert_eq!(n.method, "POST");
    assert_eq!(n.path, "/api/v4/projects/ops%2Fshop/issues/5/notes");
    assert_eq!(n.header("private-token"), Some(GITLAB_TOKEN));
    assert_eq!(n.json()["body"].as_str(), Some(md.as_str()));

    // The webhook: {ticket, markdown, log}, signed over the exact body.
    let hook = config(
        home.path(),
        "hook.toml",
        &format!(
            "[tickets]\nservice = \"webhook\"\nurl = \"{}/hooks/pgward\"\ntoken_env = \"PGWARD_TEST_HOOK\"\n",
            service.url
        ),
    );
    let (code, err) = pgward(
        home.path(),
        &[
            "log",
            "attach",
            log.to_str().unwrap(),
            "--config",
            hook.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let seen = service.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let h = &seen[0];
    assert_eq!(h.path, "/hooks/pgward");
    assert_eq!(h.header("content-type"), Some("application/json"));
    let mut mac = <Hmac<Sha256>>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(&h.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        h.header("x-pgward-signature-256").map(str::to_string),
        Some(format!("sha256={expected}"))
    );
    let body = h.json();
    assert_eq!(body["ticket"], "OPS-7");
    assert_eq!(body["markdown"].as_str(), Some(md.as_str()));
    assert_eq!(body["log"].as_str(), Some(text.as_str()));
    assert!(pgward::audit::verify(body["log"].as_str().unwrap().as_bytes(), None).intact());

    // A token in the config text is refused: credentials come from a variable or a file.
    let bad = config(
        home.path(),
        "bad.toml",
        "[tickets]\nservice = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\ntoken = \"s3cret\"\n",
    );
    let (code, err) = pgward(
        home.path(),
        &[
            "log",
            "attach",
            log.to_str().unwrap(),
            "--config",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("token_env"), "{err}");
    assert!(service.take().is_empty());
    assert!(!logs.join(pgward::audit::attach::pending::FILE).exists());
}

#[test]
fn tickets_failed_attachment_is_kept_shown_and_retried() {
    let db = TestDb::new("tickets_retry");
    let service = Service::start();
    service.fail(true);
    let home = tempfile::tempdir().expect("home");
    let logs = home.path().join("logs");
    let cfg = config(
        home.path(),
        "jira.toml",
        &format!(
            "[tickets]\nservice = \"jira\"\nurl = \"{}\"\ntoken_env = \"PGWARD_TEST_JIRA\"\n",
            service.url
        ),
    );
    let state = logs.join(pgward::audit::attach::pending::FILE);

    // The service fails: the session still ends as it would, its log intact, and the
    // failure is reported with the command that retries.
    let (out, first) = session(&db, &cfg, &logs, "OPS-8");
    assert_eq!(out.code, 0, "{out:?}");
    intact(&first);
    let seen = service.take();
    assert_eq!(
        seen.len(),
        1,
        "one try, stopped at the failed upload: {seen:?}"
    );
    assert_eq!(seen[0].path, "/rest/api/2/issue/OPS-8/attachments");
    assert_eq!(
        seen[0].header("authorization").map(str::to_string),
        Some(format!("Bearer {JIRA_TOKEN}")),
        "without user, Jira gets a bearer token"
    );
    assert!(out.stderr.contains("NOT attached"), "{out:?}");
    assert!(out.stderr.contains("HTTP 503"), "{out:?}");
    let retry = out
        .stderr
        .lines()
        .find_map(|l| l.split_once("retry with: ").map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| panic!("a retry command: {out:?}"));
    let pending: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("the failure is recorded")).unwrap();
    let entry = &pending["pending"][0];
    let canonical = std::fs::canonicalize(&first).unwrap();
    assert_eq!(entry["log"], canonical.to_str().unwrap());
    assert_eq!(entry["ticket"], "OPS-8");
    assert_eq!(entry["service"], "jira");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["retry"], retry.as_str());

    // The next session's banner lists it, with the same command.
    service.fail(false);
    let (out, second) = session(&db, &cfg, &logs, "OPS-9");
    assert_eq!(out.code, 0, "{out:?}");
    let banner = out
        .stderr
        .lines()
        .find(|l| l.contains("NOT attached to ticket OPS-8"))
        .unwrap_or_else(|| panic!("the banner names the pending log: {out:?}"));
    assert!(banner.contains(&retry), "{banner}");
    // That session's own log went through.
    let seen = service.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].path, "/rest/api/2/issue/OPS-9/attachments");
    let parts = multipart(seen[0].header("content-type").unwrap(), &seen[0].body);
    assert_eq!(parts[0].1, intact(&second));

    // The exact retry command, run by a shell, attaches the first log and clears it.
    let dir = Path::new(util::bin()).parent().unwrap();
    let mut sh = Command::new("sh");
    isolate(&mut sh, home.path());
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let done = with_tokens(&mut sh)
        .env("PATH", path)
        .arg("-c")
        .arg(&retry)
        .output()
        .expect("retry");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let seen = service.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].path, "/rest/api/2/issue/OPS-8/attachments");
    let parts = multipart(seen[0].header("content-type").unwrap(), &seen[0].body);
    assert_eq!(parts[0].1, intact(&first));
    assert_eq!(seen[1].path, "/rest/api/2/issue/OPS-8/comment");
    assert!(!state.exists(), "nothing is pending");

    // And the banner is clear.
    let (out, _) = session(&db, &cfg, &logs, "OPS-10");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("NOT attached"), "{out:?}");
    assert_eq!(service.take().len(), 2);
}
