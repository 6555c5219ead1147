//! Benchmark: what two-person approval costs (issue 8, "Speed and scale").
//!
//! Goals, each printed as a PASS or FAIL line:
//! - from the typed approval code to COMMIT, pgward adds under 100 ms (the human not
//!   counted): median over the runs;
//! - one approver on one core sustains 200 concurrent pending requests with polling
//!   shells, with the 99th percentile of the answer time under 50 ms.
//!
//! 1. **Code to COMMIT.** A scratch cluster, the real approver (`pgward approver serve`,
//!    the `PGWARD_BIN` binary), and `pgward -f fix.sql` on a pseudo-terminal with
//!    `require_code = true`: an UPDATE and COMMIT. A reviewer approves on the page over
//!    HTTP and reads the code; the bench waits for the code prompt, then times from
//!    writing the code to the terminal until `COMMIT` comes back. That span is all
//!    pgward: the code check, the `approval` record (fsynced), the probe, deferred work
//!    fired again, counts and digest re-read, `commit_intent` (fsynced), COMMIT, and
//!    `commit` (fsynced). `PGWARD_BENCH_RUNS` runs (default 5).
//! 2. **200 pending, polling.** The approver is started again under `taskset -c 0` (one
//!    core; its server runs on one thread anyway) and `PGWARD_BENCH_PENDING` requests
//!    (default 200) are created, then each is polled every 500 ms (the shell's interval)
//!    for `PGWARD_BENCH_SECONDS` (default 15), all at once from this process. Every
//!    poll's answer time is recorded; the report gives median, p99 and max.
//!
//! Run with `bench/approval.sh`; the markdown report goes to stdout and, with
//! `PGWARD_BENCH_OUT`, to that file too. Use a release `pgward` (`PGWARD_BIN`): the
//! harness itself can be a dev build, it only waits.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pgward::approval::protocol::{ApprovalRequest, TableCount};
use pgward::scratch::Cluster;

type BoxError = Box<dyn std::error::Error>;

/// Code to COMMIT: what pgward may add (ms).
const GOAL_CODE_TO_COMMIT_MS: f64 = 100.0;
/// 99th percentile of the approver's answer time with the pending requests polled (ms).
const GOAL_POLL_P99_MS: f64 = 50.0;

const PASSWORD: &str = "bench-secret";
const REVIEWER_PW: &str = "reviewer-password";

fn knob(name: &str, default: u64) -> u64 {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn pgward_bin() -> PathBuf {
    env::var_os("PGWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgward")))
}

fn admin(c: &Cluster, db: &str, sql: &str) -> Result<(), BoxError> {
    rt().block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&c.conninfo(db), tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.batch_execute(sql).await?;
        Ok(())
    })
}

/// The approver as its own process, optionally pinned to CPU 0.
struct Approver {
    child: Child,
    url: String,
}

impl Drop for Approver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn approver(store: &str, key: &Path, pin: bool) -> Result<Approver, BoxError> {
    let port = free_port()?;
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(pgward_bin());
        c
    } else {
        Command::new(pgward_bin())
    };
    cmd.args([
        "approver",
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .arg("--key")
    .arg(key)
    .env("PGWARD_APPROVER_STORE", store)
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    let child = cmd.spawn()?;
    let url = format!("http://127.0.0.1:{port}");
    let a = Approver { child, url };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(30) {
            return Err("the approver did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(a)
}

fn cli(args: &[&str], store: &str, stdin: &str) -> Result<String, BoxError> {
    let mut child = Command::new(pgward_bin())
        .args(args)
        .env("PGWARD_APPROVER_STORE", store)
        .env("PGWARD_BENCH_REVIEWER_PW", REVIEWER_PW)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    use std::io::Write;
    child
        .stdin
        .take()
        .ok_or("stdin")?
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!(
            "pgward {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Logs in as `bob`, approves the first pending request, and returns its code.
async fn approve_next(base: &str) -> Result<String, BoxError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = http.get(format!("{base}/review")).send().await?;
    let login = cookie(&r, "pgward_login").ok_or("no login cookie")?;
    let html = r.text().await?;
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").ok_or("no csrf")?;
    let form =
        serde_urlencoded::to_string([("name", "bob"), ("password", REVIEWER_PW), ("csrf", csrf)])?;
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", &login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await?;
    let session = cookie(&r, "pgward_session").ok_or("login failed")?;
    let start = Instant::now();
    let (id, csrf) = loop {
        let html = http
            .get(format!("{base}/review"))
            .header("cookie", &session)
            .send()
            .await?
            .text()
            .await?;
        if let Some(id) = between(&html, "id=\"req-", "\"") {
            let csrf = between(&html, "name=\"csrf\" value=\"", "\"").ok_or("no csrf")?;
            break (id.to_string(), csrf.to_string());
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err("no pending request".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    http.post(format!("{base}/review/{id}/approve"))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("csrf", csrf.as_str())])?)
        .send()
        .await?;
    let html = http
        .get(format!("{base}/review/{id}"))
        .header("cookie", &session)
        .send()
        .await?
        .text()
        .await?;
    Ok(between(&html, "<p class=\"code\" id=\"code\">", "</p>")
        .ok_or("no code on the page")?
        .to_string())
}

/// One code-to-COMMIT run: milliseconds from the code written to `COMMIT` read on the
/// terminal, and from the `approval` to the `commit` record of the session log.
fn code_to_commit(
    home: &Path,
    cfg: &Path,
    script: &Path,
    cred: &str,
    url: &str,
) -> Result<(f64, f64), BoxError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 250 rows 50 && exec \"$0\" \"$@\"")
        .arg(pgward_bin())
        .arg("--config")
        .arg(cfg)
        .args(["--env", "bench", "--ticket", "OPS-1", "-f"])
        .arg(script)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("PGPASSWORD", PASSWORD)
        .env("PGWARD_BENCH_CRED", cred);
    for (k, _) in env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("PG") && !k.starts_with("PGWARD_BENCH") && k != "PGPASSWORD" {
            cmd.env_remove(&k);
        }
    }
    let mut p = rexpect::session::spawn_with_options(
        cmd,
        rexpect::reader::Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true),
    )?;
    let base = url.to_string();
    let reviewer = std::thread::spawn(move || {
        rt().block_on(approve_next(&base))
            .map_err(|e| e.to_string())
    });
    p.exp_string("Approval code (1 of 3): ")?;
    let code = reviewer.join().map_err(|_| "reviewer thread")??;
    // rexpect sleeps 100 ms whenever its buffer does not match yet, so the time until
    // `COMMIT` is read back is quantised to 100 ms and only an upper bound. The span
    // measured is from the moment the code is sent to the `commit` record's timestamp
    // (written once the server acknowledged COMMIT; same clock, ms resolution).
    let sent = ms_of_day();
    p.send_line(&code)?;
    p.exp_string("COMMIT\r\n")?;
    p.exp_eof()?;
    let (_, committed) = log_times(&home.join(".local/share/pgward/sessions"))?;
    Ok((
        committed - sent,
        log_span(&home.join(".local/share/pgward/sessions"))?,
    ))
}

/// Milliseconds since midnight UTC now, as the session log's `ts` counts them.
fn ms_of_day() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() % 86_400_000) as f64
}

/// In the newest session log under `dir`: milliseconds from the `approval` record
/// (written once the code matched) to the `commit` record (COMMIT acknowledged).
fn log_span(dir: &Path) -> Result<f64, BoxError> {
    let (approval, commit) = log_times(dir)?;
    Ok(commit - approval)
}

/// In the newest session log under `dir`: the `approval` and `commit` records' times, in
/// milliseconds since midnight UTC.
fn log_times(dir: &Path) -> Result<(f64, f64), BoxError> {
    let newest = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .ok_or("no session log")?;
    let text = std::fs::read_to_string(newest.path())?;
    let at = |kind: &str| -> Option<f64> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["kind"] == kind)
            .and_then(|r| r["ts"].as_str().map(str::to_string))
            .and_then(|ts| {
                // `…THH:MM:SS.mmmZ`
                let t = ts.split('T').nth(1)?.trim_end_matches('Z').to_string();
                let mut parts = t.split(':');
                let h: f64 = parts.next()?.parse().ok()?;
                let m: f64 = parts.next()?.parse().ok()?;
                let s: f64 = parts.next()?.parse().ok()?;
                Some((h * 3600.0 + m * 60.0 + s) * 1000.0)
            })
    };
    match (at("approval"), at("commit")) {
        (Some(a), Some(c)) => Ok((a, c)),
        _ => Err("the log lacks its approval or commit record".into()),
    }
}

/// CPU seconds (user + system) process `pid` has used so far.
fn cpu_seconds(pid: u32) -> Result<f64, BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(") ").ok_or("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let hz: f64 = String::from_utf8(Command::new("getconf").arg("CLK_TCK").output()?.stdout)?
        .trim()
        .parse()
        .unwrap_or(100.0);
    Ok(ticks / hz)
}

fn request(id: &str) -> ApprovalRequest {
    ApprovalRequest {
        version: 1,
        request_id: id.to_string(),
        environment: "bench".into(),
        server: "bench".into(),
        database: "bench".into(),
        role: "app_writer".into(),
        author: "alice".into(),
        ticket: "OPS-1".into(),
        statements: vec!["UPDATE items SET qty = qty + 1 WHERE id = 1".into()],
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
        expires_at: pgward::approval::time::format(pgward::approval::time::now_unix() + 600),
    }
}

/// Creates `n` requests, then polls each every 500 ms for `seconds`; the answer times
/// of every poll (ms) and how many answers were errors.
async fn polling(
    url: &str,
    cred: &str,
    n: usize,
    seconds: u64,
) -> Result<(Vec<f64>, usize), BoxError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()?;
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = pgward::approval::hex::random(16).map_err(|e| e.to_string())?;
        let r = http
            .post(format!("{url}/requests"))
            .bearer_auth(cred)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&request(&id))?)
            .send()
            .await?;
        if r.status().as_u16() != 201 {
            return Err(format!("create: HTTP {}", r.status()).into());
        }
        ids.push(id);
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        let http = http.clone();
        let url = format!("{url}/requests/{id}");
        let cred = cred.to_string();
        tasks.spawn(async move {
            // Spread the shells over the interval, as real ones would be.
            tokio::time::sleep(Duration::from_millis((i as u64 * 500) / n as u64)).await;
            let mut times = Vec::new();
            let mut errors = 0;
            while Instant::now() < until {
                let start = Instant::now();
                let ok = match http.get(&url).bearer_auth(&cred).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                times.push(start.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            (times, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        let (t, e) = done?;
        all.extend(t);
        errors += e;
    }
    Ok((all, errors))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn main() -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runs = knob("PGWARD_BENCH_RUNS", 5) as usize;
    let pending = knob("PGWARD_BENCH_PENDING", 200) as usize;
    let seconds = knob("PGWARD_BENCH_SECONDS", 15);
    let c = Cluster::start()?;
    admin(
        &c,
        "postgres",
        &format!(
            "CREATE ROLE app_writer NOLOGIN; CREATE ROLE app_reader NOLOGIN; \
             CREATE ROLE pgward_login LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
             GRANT app_writer, app_reader TO pgward_login"
        ),
    )?;
    admin(&c, "postgres", "CREATE DATABASE bench")?;
    admin(&c, "postgres", "CREATE DATABASE approver_store")?;
    admin(
        &c,
        "bench",
        "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL); \
         INSERT INTO items SELECT g, g * 10 FROM generate_series(1, 5) g; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON items TO app_writer; \
         GRANT SELECT ON items TO app_reader",
    )?;
    let store = c.conninfo("approver_store");
    let work = tempfile::tempdir()?;
    let home = work.path().join("home");
    std::fs::create_dir_all(home.join(".local/share/pgward"))?;
    pgward::audit::OperatorKey::generate()?.save(&home.join(".local/share/pgward/operator.key"))?;
    let key = work.path().join("approver.key");
    let public = cli(
        &["approver", "keygen", "--key", &key.display().to_string()],
        &store,
        "",
    )?;
    let public = public
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("keygen printed no public key")?
        .to_string();
    let ap = approver(&store, &key, false)?;
    cli(
        &[
            "approver",
            "reviewer",
            "add",
            "bob",
            "--password-env",
            "PGWARD_BENCH_REVIEWER_PW",
        ],
        &store,
        "",
    )?;
    let cred_out = cli(&["approver", "author", "add", "alice"], &store, "")?;
    let cred = cred_out
        .split_whitespace()
        .find(|w| w.starts_with("pgw_"))
        .ok_or("author add printed no credential")?
        .to_string();
    let cfg = work.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[environments.bench]\nurl = \"host={} port={} user=pgward_login dbname=bench\"\n\
             write_role = \"app_writer\"\nread_role = \"app_reader\"\nrequire_approval = true\n\
             [environments.bench.approval]\nurl = \"{}\"\npublic_key = \"{public}\"\n\
             credential_env = \"PGWARD_BENCH_CRED\"\nwait = \"60s\"\n",
            c.host(),
            c.port(),
            ap.url
        ),
    )?;
    let script = work.path().join("fix.sql");
    std::fs::write(
        &script,
        "UPDATE items SET qty = qty + 1 WHERE id = 1;\nCOMMIT;\n",
    )?;

    let mut report = String::from("# Two-person approval: speed and scale\n\n");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        report,
        "Machine: {cores} cores; load average at start: {}; pgward: {}\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        pgward_bin().display()
    );

    // 1. Code to COMMIT.
    let mut spans = Vec::new();
    let mut logged = Vec::new();
    for _ in 0..runs {
        let (terminal, log) = code_to_commit(&home, &cfg, &script, &cred, &ap.url)?;
        spans.push(terminal);
        logged.push(log);
    }
    drop(ap);
    spans.sort_by(f64::total_cmp);
    logged.sort_by(f64::total_cmp);
    let median = percentile(&spans, 50.0);
    let _ = writeln!(
        report,
        "## From the typed code to COMMIT ({runs} runs)\n\n| span | min | median | max |\n|---|---|---|---|\n\
         | code sent to the terminal → `commit` record written (COMMIT acknowledged; ms resolution) | {:.1} ms | {:.1} ms | {:.1} ms |\n\
         | `approval` record → `commit` record (log timestamps, ms resolution) | {:.0} ms | {:.0} ms | {:.0} ms |\n",
        spans[0],
        median,
        spans[spans.len() - 1],
        logged[0],
        percentile(&logged, 50.0),
        logged[logged.len() - 1]
    );
    let code_ok = median < GOAL_CODE_TO_COMMIT_MS;

    // 2. Pending requests, polled.
    let ap = approver(&store, &key, true)?;
    let cpu_before = cpu_seconds(ap.child.id())?;
    let (mut times, errors) = rt().block_on(polling(&ap.url, &cred, pending, seconds))?;
    let cpu = cpu_seconds(ap.child.id())? - cpu_before;
    drop(ap);
    times.sort_by(f64::total_cmp);
    let p99 = percentile(&times, 99.0);
    let _ = writeln!(
        report,
        "## {pending} pending requests, each polled every 500 ms for {seconds} s (approver on CPU 0)\n\n\
         | polls | errors | median | p99 | max |\n|---|---|---|---|---|\n| {} | {errors} | {:.1} ms | {:.1} ms | {:.1} ms |\n",
        times.len(),
        percentile(&times, 50.0),
        p99,
        times.last().copied().unwrap_or(f64::NAN)
    );
    let poll_ok = p99 < GOAL_POLL_P99_MS && errors == 0;
    // Load-independent: what one answer costs the approver's core, and so how many
    // answers one core gives per second, against what the polling shells ask.
    let answers = times.len() + pending;
    let cpu_per_answer_ms = cpu * 1000.0 / answers as f64;
    let capacity = if cpu > 0.0 {
        answers as f64 / cpu
    } else {
        f64::INFINITY
    };
    let needed = pending as f64 * 2.0;
    let _ = writeln!(
        report,
        "Approver CPU over the phase (creates and polls): {cpu:.2} s for {answers} answers = {cpu_per_answer_ms:.2} ms per answer, \
         so one core answers about {capacity:.0} per second; {pending} shells polling twice a second ask {needed:.0}.\n"
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        report,
        "Load average at end: {}\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        report,
        "{}: code to COMMIT median {median:.1} ms < {GOAL_CODE_TO_COMMIT_MS} ms",
        verdict(code_ok)
    );
    let _ = writeln!(
        report,
        "{}: {pending} pending, polled: p99 {p99:.1} ms < {GOAL_POLL_P99_MS} ms, {errors} errors",
        verdict(poll_ok)
    );
    let _ = writeln!(
        report,
        "{}: one core's capacity {capacity:.0} answers/s ≥ {needed:.0} asked (CPU per answer, independent of load)",
        verdict(capacity >= needed)
    );
    print!("{report}");
    if let Some(out) = env::var_os("PGWARD_BENCH_OUT") {
        std::fs::write(out, &report)?;
    }
    Ok(())
}
