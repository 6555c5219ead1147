//! Test support for two-person approval: the real approver (`pgward approver`'s service,
//! started in this process on 127.0.0.1:0 over the shared cluster), a reviewer driving its
//! page over real HTTP, a shell config that requires approval, and a small hostile HTTP
//! server for answers no honest approver gives.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use pgward::approval::service::admin::{self, Options, Running};
use pgward::approval::service::store::Store;
use pgward::approval::{hex, key};
use pgward::conn::Secret;

use crate::util::{self, cluster, TestDb, TestShell, PASSWORD, READER, WRITER};

/// The reviewer's password in every test.
pub const REVIEWER_PW: &str = "reviewer-password";
/// Where the shell finds the author's credential.
pub const CRED_VAR: &str = "PGWARD_TEST_CRED";

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn store_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let c = cluster();
        let _ = util::admin_exec(c, "postgres", "CREATE DATABASE approver_store");
        c.conninfo("approver_store")
    })
}

/// A real approver with its own schema.
pub struct Approver {
    pub running: Running,
    pub key: SigningKey,
    pub schema: String,
}

/// Extra settings of an approver.
#[derive(Default, Clone)]
pub struct Extra {
    pub webhook: Option<String>,
    pub slack_secret: Option<String>,
}

impl Approver {
    /// A fresh schema `name`, a new key, reviewers bob and alice, author alice.
    pub fn start(name: &str) -> Approver {
        Approver::start_with(name, Extra::default())
    }

    pub fn start_with(name: &str, extra: Extra) -> Approver {
        let schema = format!("appr_{name}");
        store_url();
        util::admin_exec(
            cluster(),
            "approver_store",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        )
        .expect("drop schema");
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).expect("random");
        let key = SigningKey::from_bytes(&seed);
        let running = Approver::process(&schema, &key, extra);
        let a = Approver {
            running,
            key,
            schema,
        };
        a.reviewer("bob");
        a.reviewer("alice");
        a
    }

    /// Another approver process over the same store.
    pub fn process(schema: &str, key: &SigningKey, extra: Extra) -> Running {
        Running::start(Options {
            store: store_url().to_string(),
            schema: schema.to_string(),
            key: key.clone(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            public_url: None,
            webhook: extra.webhook,
            slack_secret: extra.slack_secret.map(Secret::new),
            pool: 2,
        })
        .expect("start the approver")
    }

    pub fn url(&self) -> String {
        self.running.public_url.clone()
    }

    pub fn public_key(&self) -> String {
        key::public_hex(&self.key.verifying_key())
    }

    fn store(&self) -> (tokio::runtime::Runtime, Store) {
        let rt = rt();
        let s = rt
            .block_on(Store::open(store_url(), &self.schema, 1))
            .expect("open store");
        (rt, s)
    }

    pub fn reviewer(&self, name: &str) {
        let (rt, s) = self.store();
        rt.block_on(admin::add_reviewer(&s, name, REVIEWER_PW))
            .expect("add reviewer");
    }

    pub fn author(&self, name: &str) -> String {
        let (rt, s) = self.store();
        rt.block_on(admin::add_author(&s, name))
            .expect("add author")
            .expose()
            .to_string()
    }

    /// The decision log verifies, and has `n` entries.
    pub fn log_entries(&self) -> usize {
        let (rt, s) = self.store();
        let rows = rt
            .block_on(pgward::approval::service::decisions::read(
                s.client(),
                &self.schema,
            ))
            .expect("read decisions");
        pgward::approval::service::decisions::verify(&rows, &self.key.verifying_key())
            .expect("decision log verifies")
    }
}

/// A reviewer logged in to an approver's page.
pub struct Reviewer {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Reviewer {
    pub fn login(base: &str, name: &str, password: &str) -> Result<Reviewer, Answer> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        rt().block_on(async {
            let r = http
                .get(format!("{base}/review"))
                .send()
                .await
                .expect("get");
            let login_cookie = set_cookie(&r, "pgward_login").expect("login cookie");
            let html = r.text().await.expect("text");
            let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
                .expect("csrf")
                .to_string();
            let r = http
                .post(format!("{base}/login"))
                .header("cookie", &login_cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("name", name),
                        ("password", password),
                        ("csrf", &csrf),
                    ])
                    .expect("form"),
                )
                .send()
                .await
                .expect("post login");
            let status = r.status().as_u16();
            let Some(cookie) = set_cookie(&r, "pgward_session") else {
                return Err(Answer {
                    status,
                    body: r.text().await.unwrap_or_default(),
                });
            };
            let html = http
                .get(format!("{base}/review"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("text");
            let csrf = between(&html, "name=\"csrf\" value=\"", "\"")
                .expect("csrf")
                .to_string();
            Ok(Reviewer {
                base: base.to_string(),
                http,
                cookie,
                csrf,
            })
        })
    }

    pub fn get(&self, path: &str) -> Answer {
        rt().block_on(async {
            let r = self
                .http
                .get(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await
                .expect("get");
            Answer {
                status: r.status().as_u16(),
                body: r.text().await.unwrap_or_default(),
            }
        })
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        fields.extend_from_slice(form);
        rt().block_on(async {
            let r = self
                .http
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(&fields).expect("form"))
                .send()
                .await
                .expect("post");
            Answer {
                status: r.status().as_u16(),
                body: r.text().await.unwrap_or_default(),
            }
        })
    }

    /// POSTs a raw form body with the session cookie.
    pub fn post_raw(&self, path: &str, body: &str) -> Answer {
        rt().block_on(async {
            let r = self
                .http
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_string())
                .send()
                .await
                .expect("post");
            Answer {
                status: r.status().as_u16(),
                body: r.text().await.unwrap_or_default(),
            }
        })
    }

    /// The id of the first pending request, waiting up to `limit`.
    pub fn next_pending(&self, limit: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let page = self.get("/review");
            if let Some(id) = between(&page.body, "id=\"req-", "\"") {
                return Some(id.to_string());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Approves `id`; the code the page then shows, if any.
    pub fn approve(&self, id: &str) -> (u16, Option<String>) {
        let a = self.post(&format!("/review/{id}/approve"), &[]);
        if a.status != 303 {
            return (a.status, None);
        }
        let page = self.get(&format!("/review/{id}"));
        let code =
            between(&page.body, "<p class=\"code\" id=\"code\">", "</p>").map(str::to_string);
        (a.status, code)
    }

    pub fn reject(&self, id: &str, reason: &str) -> u16 {
        self.post(&format!("/review/{id}/reject"), &[("reason", reason)])
            .status
    }
}

/// Approves the next pending request on another thread as `name`; the code comes back
/// through the join handle.
pub fn approve_soon(base: &str, name: &str) -> std::thread::JoinHandle<(u16, Option<String>)> {
    let base = base.to_string();
    let name = name.to_string();
    std::thread::spawn(move || {
        let r = Reviewer::login(&base, &name, REVIEWER_PW)
            .unwrap_or_else(|a| panic!("login: {}", a.status));
        let id = r
            .next_pending(Duration::from_secs(20))
            .expect("a pending request");
        r.approve(&id)
    })
}

/// A config whose environment `t` requires approval from `url` with `public_key`;
/// `extra` lines go into `[environments.t.approval]`.
pub fn config(home: &Path, db: &TestDb, url: &str, public_key: &str, extra: &str) -> PathBuf {
    util::write_config(
        home,
        &format!(
            "[environments.t]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"{READER}\"\n\
             require_approval = true\n[environments.t.approval]\nurl = \"{url}\"\n\
             public_key = \"{public_key}\"\ncredential_env = \"{CRED_VAR}\"\nwait = \"20s\"\n{extra}\n",
            db.login_conninfo()
        ),
    )
}

/// The shell, without a terminal, running `script` in environment `t` as `author`.
pub fn shell(home_cfg: &Path, cred: &str, script: &str) -> TestShell {
    TestShell::bare()
        .args([
            "--config",
            &home_cfg.display().to_string(),
            "--env",
            "t",
            "--ticket",
            "OPS-1",
            "-f",
            "-",
        ])
        .env("PGPASSWORD", PASSWORD)
        .env(CRED_VAR, cred)
        .stdin(script)
}

/// One HTTP exchange as a hostile server sees it.
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// An HTTP server on 127.0.0.1:0 answering each exchange with `answer`'s raw bytes;
/// it serves at most `max` connections, then stops. Returns its URL and what it saw.
pub fn hostile<F>(max: usize, answer: F) -> (String, Arc<Mutex<Vec<Exchange>>>)
where
    F: Fn(&Exchange) -> Vec<u8> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let mut parts = first.split_whitespace();
            let ex = Exchange {
                method: parts.next().unwrap_or("").to_string(),
                path: parts.next().unwrap_or("").to_string(),
                body,
            };
            let out = answer(&ex);
            let _ = stream.write_all(&out);
            let _ = stream.flush();
            log.lock().expect("lock").push(ex);
        }
    });
    (url, seen)
}

/// A raw HTTP response.
pub fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A random hex string.
pub fn random_hex(n: usize) -> String {
    hex::random(n).expect("random")
}
