//! Benchmark: what undo and the ledger cost at COMMIT (issue 10, "Speed, in a
//! benchmark").
//!
//! Goals, each printed as a PASS or FAIL line:
//! - generating and storing the undo of a 1,000,000-row UPDATE stays within pgward's
//!   memory bound: the whole pgward process, capture and undo included, peaks under
//!   64 MB RSS;
//! - the ledger insert adds under 5 ms to a COMMIT: median over the runs.
//!
//! 1. **Undo of 1,000,000 rows.** A scratch cluster, `big(id int PRIMARY KEY, qty int,
//!    note text)` with `PGWARD_BENCH_ROWS` rows (default 1,000,000), and `pgward -f` on
//!    a pseudo-terminal under GNU time (`/usr/bin/time`, `apt-get install time`) running
//!    `UPDATE big SET qty = qty + 1 WHERE id > 0` (a WHERE, so no row count is asked
//!    for) and then, side by side in one run, `ROLLBACK` (the
//!    capture alone) and `COMMIT` (the capture, the undo generated into its gzip side
//!    file next to the log, and the commit), the COMMIT confirmed by typing the
//!    environment name. Peak RSS (GNU time's `%M`) and wall time of each; the side file's
//!    size. psql is not compared here: it keeps no undo (`bench/update_1m.rs` compares
//!    the UPDATE itself with psql's).
//! 2. **Ledger insert.** Two databases, one with `pgward.ledger` (`pgward ledger init`),
//!    one without; `PGWARD_BENCH_RUNS` (default 20) one-row UPDATEs committed in each,
//!    alternating (`--again`, since every run repeats the same change). Each COMMIT is
//!    timed from the moment the typed confirmation is sent to the `commit` record's
//!    timestamp (same clock, ms resolution; rexpect's 100 ms polling is not in it). The
//!    ledger's cost is the difference of the medians; the run-once lookup before the
//!    question is not in it.
//!
//! Run with `bench/undo.sh`; the markdown report goes to stdout and, with
//! `PGWARD_BENCH_OUT`, to that file too. `PGWARD_BIN` picks the pgward binary (default:
//! the one cargo built alongside this bench, release).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pgward::scratch::Cluster;

type BoxError = Box<dyn std::error::Error>;

/// Peak RSS of the whole process for a 1,000,000-row UPDATE committed with its undo (MB).
const GOAL_RSS_MB: f64 = 64.0;
/// What the ledger insert may add to a COMMIT (ms).
const GOAL_LEDGER_MS: f64 = 5.0;

const PASSWORD: &str = "bench-secret";

fn knob(name: &str, default: u64) -> u64 {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pgward_bin() -> PathBuf {
    env::var_os("PGWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgward")))
}

fn gnu_time() -> PathBuf {
    env::var_os("GNU_TIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/time"))
}

fn admin(c: &Cluster, db: &str, sql: &str) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&c.conninfo(db), tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.batch_execute(sql).await?;
        Ok(())
    })
}

/// What one pgward run on a pseudo-terminal measured.
struct Run {
    /// Peak RSS, MB (10^6 bytes).
    rss_mb: f64,
    /// Wall time of the whole process, seconds.
    wall_s: f64,
    /// Milliseconds from the typed confirmation to the `commit` record (COMMIT runs).
    commit_ms: Option<f64>,
}

/// Runs `pgward -f script` in environment `env` under GNU time on a pseudo-terminal,
/// typing the environment name when COMMIT asks.
fn pgward(home: &Path, cfg: &Path, env_name: &str, script: &Path) -> Result<Run, BoxError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 250 rows 50 && exec \"$0\" \"$@\"")
        .arg(gnu_time())
        .args(["-f", "PGWARD-RSS-KIB %M"])
        .arg(pgward_bin())
        .arg("--config")
        .arg(cfg)
        .args([
            "--env",
            env_name,
            "--ticket",
            "OPS-10",
            "--again",
            "bench run",
            "-f",
        ])
        .arg(script)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("PGPASSWORD", PASSWORD);
    for (k, _) in env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("PG") && !k.starts_with("PGWARD_BENCH") && k != "PGPASSWORD" {
            cmd.env_remove(&k);
        }
    }
    let commits = std::fs::read_to_string(script)?.contains("COMMIT");
    let started = Instant::now();
    let mut p = rexpect::session::spawn_with_options(
        cmd,
        rexpect::reader::Options::new()
            .timeout_ms(Some(1_800_000))
            .strip_ansi_escape_codes(true),
    )?;
    let mut commit_ms = None;
    if commits {
        p.exp_string(&format!("Type the environment name ({env_name}) to COMMIT"))?;
        let sent = ms_of_day();
        p.send_line(env_name)?;
        let (_, rss) = p.exp_regex(r"PGWARD-RSS-KIB \d+")?;
        commit_ms = Some(commit_time(&home.join(".local/share/pgward/sessions"))? - sent);
        p.exp_eof()?;
        return Ok(Run {
            rss_mb: rss_mb(&rss)?,
            wall_s: started.elapsed().as_secs_f64(),
            commit_ms,
        });
    }
    let (_, rss) = p.exp_regex(r"PGWARD-RSS-KIB \d+")?;
    p.exp_eof()?;
    Ok(Run {
        rss_mb: rss_mb(&rss)?,
        wall_s: started.elapsed().as_secs_f64(),
        commit_ms,
    })
}

fn rss_mb(line: &str) -> Result<f64, BoxError> {
    let kib: f64 = line.split_whitespace().last().ok_or("no RSS")?.parse()?;
    Ok(kib * 1024.0 / 1e6)
}

/// Milliseconds since midnight UTC now, as the session log's `ts` counts them.
fn ms_of_day() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() % 86_400_000) as f64
}

/// The newest session log under `dir`.
fn newest_log(dir: &Path) -> Result<PathBuf, BoxError> {
    Ok(std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .ok_or("no session log")?
        .path())
}

/// The newest log's record of `kind`.
fn record(dir: &Path, kind: &str) -> Result<serde_json::Value, BoxError> {
    let text = std::fs::read_to_string(newest_log(dir)?)?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["kind"] == kind)
        .ok_or_else(|| format!("the log has no {kind} record").into())
}

/// The newest log's `commit` record time, in milliseconds since midnight UTC. The log
/// is fsynced before pgward exits, so waiting for GNU time's line is enough.
fn commit_time(dir: &Path) -> Result<f64, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = record(dir, "commit") {
            let ts = r["ts"].as_str().ok_or("no ts")?.to_string();
            let t = ts.split('T').nth(1).ok_or("odd ts")?.trim_end_matches('Z');
            let mut parts = t.split(':');
            let mut next =
                || -> Result<f64, BoxError> { Ok(parts.next().ok_or("odd ts")?.parse::<f64>()?) };
            let (h, m, s) = (next()?, next()?, next()?);
            return Ok((h * 3600.0 + m * 60.0 + s) * 1000.0);
        }
        if Instant::now() > deadline {
            return Err("no commit record".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
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
    let rows = knob("PGWARD_BENCH_ROWS", 1_000_000);
    let runs = knob("PGWARD_BENCH_RUNS", 20) as usize;
    if !gnu_time().exists() {
        return Err(format!(
            "GNU time not found at {}: apt-get install time",
            gnu_time().display()
        )
        .into());
    }
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
    for db in ["big", "plain", "ledgered"] {
        admin(&c, "postgres", &format!("CREATE DATABASE {db}"))?;
        admin(
            &c,
            db,
            "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL); \
             INSERT INTO items SELECT g, g * 10 FROM generate_series(1, 5) g; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON items TO app_writer; \
             GRANT SELECT ON items TO app_reader",
        )?;
    }
    admin(
        &c,
        "big",
        &format!(
            "CREATE TABLE big (id int PRIMARY KEY, qty int NOT NULL, note text); \
             INSERT INTO big SELECT g, g, 'row ' || g FROM generate_series(1, {rows}) g; \
             GRANT SELECT, UPDATE ON big TO app_writer; GRANT SELECT ON big TO app_reader"
        ),
    )?;
    admin(&c, "big", "VACUUM (ANALYZE) big")?;
    let work = tempfile::tempdir()?;
    let home = work.path().join("home");
    std::fs::create_dir_all(home.join(".local/share/pgward"))?;
    pgward::audit::OperatorKey::generate()?.save(&home.join(".local/share/pgward/operator.key"))?;
    let cfg = work.path().join("config.toml");
    let env = |name: &str, db: &str| {
        format!(
            "[environments.{name}]\nurl = \"host={} port={} user=pgward_login dbname={db}\"\n\
             write_role = \"app_writer\"\nread_role = \"app_reader\"\nrequire_approval = false\n\
             max_rows = 100000000\nstatement_timeout = \"30min\"\n",
            c.host(),
            c.port()
        )
    };
    std::fs::write(
        &cfg,
        format!(
            "{}{}{}",
            env("big", "big"),
            env("plain", "plain"),
            env("led", "ledgered")
        ),
    )?;
    let init = Command::new(pgward_bin())
        .args([
            "ledger",
            "init",
            "--env",
            "led",
            "-U",
            c.superuser(),
            "--config",
        ])
        .arg(&cfg)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .output()?;
    if !init.status.success() {
        return Err(format!(
            "ledger init failed: {}",
            String::from_utf8_lossy(&init.stderr)
        )
        .into());
    }

    let mut report = String::from("# Undo and the ledger at COMMIT\n\n");
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

    // 1. Undo of a large UPDATE: the capture alone, then capture + undo + COMMIT.
    let update = "UPDATE big SET qty = qty + 1 WHERE id > 0;\n";
    let rollback = work.path().join("rollback.sql");
    std::fs::write(&rollback, format!("{update}ROLLBACK;\n"))?;
    let commit = work.path().join("commit.sql");
    std::fs::write(&commit, format!("{update}COMMIT;\n"))?;
    let captured = pgward(&home, &cfg, "big", &rollback)?;
    let undone = pgward(&home, &cfg, "big", &commit)?;
    let sessions = home.join(".local/share/pgward/sessions");
    let intent = record(&sessions, "commit_intent")?;
    let side = intent["undo"]["file"].as_str().map(|f| sessions.join(f));
    let side_mb = side
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(f64::NAN, |m| m.len() as f64 / 1e6);
    let _ = writeln!(
        report,
        "## Undo of a {rows}-row UPDATE\n\n\
         | run | peak RSS (MB) | wall (s) |\n|---|---:|---:|\n\
         | UPDATE, ROLLBACK (capture only) | {:.1} | {:.1} |\n\
         | UPDATE, COMMIT (capture, undo generated and stored, commit) | {:.1} | {:.1} |\n\n\
         Undo possible: {}; side file: {} ({side_mb:.1} MB gzip).\n\n\
         {} peak RSS with undo {:.1} MB (goal < {GOAL_RSS_MB} MB)\n",
        captured.rss_mb,
        captured.wall_s,
        undone.rss_mb,
        undone.wall_s,
        intent["undo"]["possible"],
        intent["undo"]["file"].as_str().unwrap_or("none (inline)"),
        verdict(undone.rss_mb < GOAL_RSS_MB && intent["undo"]["possible"] == true),
        undone.rss_mb,
    );

    // 2. The ledger insert: one-row COMMITs with and without pgward.ledger, alternating.
    let small = work.path().join("small.sql");
    std::fs::write(
        &small,
        "UPDATE items SET qty = qty + 1 WHERE id = 1;\nCOMMIT;\n",
    )?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        without.push(
            pgward(&home, &cfg, "plain", &small)?
                .commit_ms
                .ok_or("no commit")?,
        );
        with.push(
            pgward(&home, &cfg, "led", &small)?
                .commit_ms
                .ok_or("no commit")?,
        );
    }
    let (m0, m1) = (median(&mut without), median(&mut with));
    let _ = writeln!(
        report,
        "## The ledger insert ({runs} COMMITs each, alternating)\n\n\
         | database | median confirmation → `commit` record (ms) | min | max |\n|---|---:|---:|---:|\n\
         | without pgward.ledger | {m0:.0} | {:.0} | {:.0} |\n\
         | with pgward.ledger | {m1:.0} | {:.0} | {:.0} |\n\n\
         {} the ledger adds {:.1} ms to a COMMIT (goal < {GOAL_LEDGER_MS} ms)\n",
        without.first().copied().unwrap_or(f64::NAN),
        without.last().copied().unwrap_or(f64::NAN),
        with.first().copied().unwrap_or(f64::NAN),
        with.last().copied().unwrap_or(f64::NAN),
        verdict(m1 - m0 < GOAL_LEDGER_MS),
        m1 - m0,
    );
    print!("{report}");
    if let Some(out) = env::var_os("PGWARD_BENCH_OUT") {
        std::fs::write(out, &report)?;
    }
    Ok(())
}
