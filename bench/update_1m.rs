//! Benchmark: a 1,000,000-row UPDATE in a transaction, run through psql and through
//! pgward against the same throwaway cluster in one run (issue 3, "Scale, measured by a
//! benchmark, not a timed test").
//!
//! Run it with `bench/run.sh` or `cargo bench --bench update_1m`. It
//!
//! 1. starts the demo shop (`pgward::demo::prepare`: a scratch cluster, the `shop`
//!    database, the roles `shop_login` / `shop_writer` / `shop_reader`);
//! 2. loads 1,000,000 rows into `public.orders_big` (same columns, defaults,
//!    constraints and indexes as the demo's `orders`, no trigger, no foreign key) and,
//!    unless `PGWARD_BENCH_CASES` leaves it out, tops the demo's own `public.orders` up
//!    to 1,000,000 rows (its AFTER UPDATE audit trigger then writes 1,000,000
//!    `audit_log` rows per UPDATE, on both sides);
//! 3. for each case, runs the same UPDATE `PGWARD_BENCH_RUNS` times (default 3) through
//!    each client, alternating, with `VACUUM (ANALYZE)` and `CHECKPOINT` before every run
//!    (every run rolls back, leaving 1,000,000 dead row versions behind);
//! 4. prints a markdown report: median wall time, peak RSS and CPU time per client, and
//!    the pgward/psql ratios against the goals (≤ 1.5× with full capture, ≤ 1.1× with
//!    counts only, peak RSS < 100 MB), then server-side `EXPLAIN ANALYZE` times of the
//!    plain and the capturing statement.
//!
//! Both clients log in as `shop_login` over TCP with a password and do the same
//! transaction: psql runs `BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL ROLE
//! shop_writer; <UPDATE>; ROLLBACK;`; pgward runs `<UPDATE>` from a script file, which
//! opens its guarded transaction (REPEATABLE READ, SET LOCAL ROLE shop_writer) and rolls
//! back at the end of the script. pgward's environment comes from a config file with
//! `max_rows = 10000000` and `require_approval = false`, so no confirmation is asked.
//!
//! Wall time is measured here (`Instant` around the child); peak RSS, user and system
//! CPU come from GNU time (`/usr/bin/time -f "%M %U %S"`, `apt-get install time`).
//!
//! Knobs (environment): `PGWARD_BENCH_ROWS` (default 1000000), `PGWARD_BENCH_RUNS`
//! (default 3), `PGWARD_BENCH_CASES` (comma list of `plain`, `demo`; default both),
//! `PGWARD_BENCH_OUT` (also write the report to this file), `PGWARD_BENCH_WORK_MEM`
//! (e.g. `128MB`: `ALTER ROLE shop_login SET work_mem`, for both clients), `PGWARD_BIN` (default: the
//! binary cargo built alongside this bench), `PSQL` (default `psql` on PATH),
//! `GNU_TIME` (default `/usr/bin/time`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

type BoxError = Box<dyn std::error::Error>;

/// The wall-time goal with full before/after capture, as a multiple of psql (issue 12,
/// item 11: at most 1.5×).
const GOAL_CAPTURE: f64 = 1.5;
/// The wall-time goal with counts only, as a multiple of psql.
const GOAL_COUNTS: f64 = 1.1;
/// The peak-RSS goal for pgward, in MB (10^6 bytes... GNU time reports KiB; see `mb`).
const GOAL_RSS_MB: f64 = 100.0;

/// Which client runs a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    /// psql, wrapping the statement in BEGIN … ROLLBACK.
    Psql,
    /// pgward, with the statement as its script.
    Pgward,
}

/// One statement, as one client runs it.
#[derive(Debug, Clone)]
struct Arm {
    /// Label in the report.
    label: String,
    runner: Runner,
    /// The statement (no trailing semicolon).
    sql: String,
    /// Which pgward mode must show in pgward's output (ignored for psql).
    expect_capture: Option<bool>,
}

/// A group of arms compared with each other.
#[derive(Debug, Clone)]
struct Case {
    title: String,
    /// Tables to VACUUM before each run.
    vacuum: Vec<&'static str>,
    arms: Vec<Arm>,
    /// (pgward arm, psql arm, goal): ratios to report.
    ratios: Vec<(usize, usize, f64)>,
    /// Notes printed under the table.
    notes: Vec<String>,
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    rss_kib: u64,
    cpu: f64,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("update_1m: {e}");
        std::process::exit(1);
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> Result<T, BoxError> {
    match env::var(key) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{key}={v:?} is not a valid value").into()),
        Err(_) => Ok(default),
    }
}

fn real_main() -> Result<(), BoxError> {
    let rows: u64 = env_or("PGWARD_BENCH_ROWS", 1_000_000)?;
    let runs: usize = env_or("PGWARD_BENCH_RUNS", 3)?;
    let cases_wanted: String = env_or("PGWARD_BENCH_CASES", "plain,demo".to_string())?;
    let pgward = env::var_os("PGWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgward")));
    let psql = env::var_os("PSQL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("psql"));
    let gnu_time = env::var_os("GNU_TIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/time"));
    if !gnu_time.exists() {
        return Err(format!(
            "{} not found: install GNU time (apt-get install time) or set GNU_TIME",
            gnu_time.display()
        )
        .into());
    }
    let want_plain = cases_wanted.split(',').any(|c| c.trim() == "plain");
    let want_demo = cases_wanted.split(',').any(|c| c.trim() == "demo");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        eprintln!("update_1m: starting the demo shop on a scratch cluster …");
        let target = pgward::demo::prepare().await?;
        let (admin, conn) =
            tokio_postgres::connect(&target.cluster.conninfo(pgward::demo::DATABASE), NoTls)
                .await?;
        tokio::spawn(conn);

        let work = tempfile::Builder::new().prefix("pgward-bench-").tempdir()?;
        let bench = Bench {
            admin,
            work: work.path().to_path_buf(),
            pgward,
            psql,
            gnu_time,
            conninfo: format!(
                "host={} port={} dbname={} user={}",
                target.host, target.port, target.dbname, target.user
            ),
            password: target.password.clone(),
            write_role: target.write_role.clone(),
            rows,
        };
        bench.write_config(&target.read_role)?;
        if let Ok(work_mem) = env::var("PGWARD_BENCH_WORK_MEM") {
            // A login-role setting: both clients log in as shop_login, so both get it.
            let quoted = work_mem.replace('\'', "''");
            bench
                .sql(&format!(
                    "ALTER ROLE {} SET work_mem = '{quoted}'",
                    target.user
                ))
                .await?;
        }

        let mut report = String::new();
        bench.machine(&mut report).await?;

        let mut cases = Vec::new();
        if want_plain {
            eprintln!("update_1m: loading {rows} rows into public.orders_big …");
            bench.load_plain().await?;
            cases.push(plain_case(rows));
        }
        if want_demo {
            eprintln!("update_1m: topping public.orders up to {rows} rows …");
            bench.load_demo().await?;
            cases.push(demo_case(rows));
        }
        for case in &cases {
            bench.run_case(case, runs, &mut report).await?;
        }
        if want_plain {
            bench.explain(&mut report).await?;
        }

        println!("{report}");
        if let Some(out) = env::var_os("PGWARD_BENCH_OUT") {
            fs::write(&out, &report)?;
            eprintln!("update_1m: report written to {}", Path::new(&out).display());
        }
        drop(target);
        Ok::<(), BoxError>(())
    })
}

/// The UPDATE every case runs on `table`: every row matches, through a real condition
/// (pgward refuses a missing or trivially true WHERE without a typed confirmation).
fn update_sql(table: &str) -> String {
    format!("UPDATE {table} SET total = total + 1 WHERE id > 0")
}

/// The same UPDATE after `SET DateStyle = 'Postgres'`, which can print two different
/// `timestamptz` values alike (`created_at`), so pgward runs it with counts only (it
/// captures a data-modifying CTE since issue 12, item 10, and `extra_float_digits`
/// blocks only tables with a float column since item 3, so neither serves). psql runs
/// the same two statements.
fn counts_only_sql(table: &str) -> String {
    format!("SET DateStyle = 'Postgres'; {}", update_sql(table))
}

/// pgward's capturing statement for [`update_sql`]: the whole new row, or (`narrowed`,
/// what pgward runs here) the new image narrowed to the columns the UPDATE can change,
/// since `orders_big` has no BEFORE row trigger and no generated column: `total`, with
/// the server's verdict on it (`pgward_distinct`, see `preview::distinct`).
fn capture_sql(table: &str, narrowed: bool) -> Result<String, BoxError> {
    let whole = match pgward::preview::rewrite::rewrite(&update_sql(table)) {
        pgward::preview::rewrite::Capture::Rows { sql, .. } => sql,
        other => return Err(format!("the UPDATE is not captured: {other:?}").into()),
    };
    if !narrowed {
        return Ok(whole);
    }
    let narrowed = pgward::preview::rewrite::narrow_new_image(&whole, &["total".to_string()])
        .map_err(|e| format!("the capture is not narrowed: {e}"))?;
    // The server's decision on `total` (numeric), as pgward asks for it: position 3.
    pgward::preview::distinct::compare_on_server(&narrowed, &[(3, "total".to_string())])
        .map_err(|e| format!("the capture is not compared: {e}").into())
}

fn arms(table: &str) -> Vec<Arm> {
    let update = update_sql(table);
    let counts_only = counts_only_sql(table);
    vec![
        Arm {
            label: "psql: UPDATE".into(),
            runner: Runner::Psql,
            sql: update.clone(),
            expect_capture: None,
        },
        Arm {
            label: "pgward: UPDATE (full capture)".into(),
            runner: Runner::Pgward,
            sql: update,
            expect_capture: Some(true),
        },
        Arm {
            label: "psql: SET + UPDATE".into(),
            runner: Runner::Psql,
            sql: counts_only.clone(),
            expect_capture: None,
        },
        Arm {
            label: "pgward: SET + UPDATE (counts only)".into(),
            runner: Runner::Pgward,
            sql: counts_only,
            expect_capture: Some(false),
        },
    ]
}

fn plain_case(rows: u64) -> Case {
    let table = "public.orders_big";
    let mut arms = arms(table);
    let capture = capture_sql(table, true).unwrap_or_else(|e| panic!("{e}"));
    arms.push(Arm {
        label: "psql: pgward's capture SQL, output to /dev/null".into(),
        runner: Runner::Psql,
        sql: capture,
        expect_capture: None,
    });
    Case {
        title: format!("`{table}`: {rows} rows, no trigger"),
        vacuum: vec![table],
        arms,
        ratios: vec![
            (1, 0, GOAL_CAPTURE),
            (3, 2, GOAL_COUNTS),
            (3, 0, GOAL_COUNTS),
        ],
        notes: vec![
            "The last row is a diagnostic: psql runs the statement pgward's rewriter produces \
             (self-join on ctid; in RETURNING the old row's `record_out` image and the new \
             one narrowed to the changed column) and discards the rows; psql holds the whole \
             result in memory, hence its RSS, and its planner picks its own join (pgward turns \
             hash and merge joins off). It shows what the capture costs the server and the \
             wire, without pgward's client-side work."
                .into(),
        ],
    }
}

fn demo_case(rows: u64) -> Case {
    let table = "public.orders";
    Case {
        title: format!(
            "demo `{table}`: {rows} rows, AFTER UPDATE audit trigger (writes {rows} `audit_log` rows)"
        ),
        vacuum: vec![table, "public.audit_log"],
        arms: arms(table),
        ratios: vec![(1, 0, GOAL_CAPTURE), (3, 2, GOAL_COUNTS), (3, 0, GOAL_COUNTS)],
        notes: vec![],
    }
}

struct Bench {
    admin: Client,
    work: PathBuf,
    pgward: PathBuf,
    psql: PathBuf,
    gnu_time: PathBuf,
    conninfo: String,
    password: String,
    write_role: String,
    rows: u64,
}

impl Bench {
    fn config_path(&self) -> PathBuf {
        self.work.join("pgward.toml")
    }

    fn write_config(&self, read_role: &str) -> Result<(), BoxError> {
        // pgward refuses writes without a session log: the log and its operator key
        // live in the bench's work directory, the key made by `pgward keygen`.
        let key = self.work.join("operator.key");
        let status = Command::new(&self.pgward)
            .arg("keygen")
            .arg("--out")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("pgward keygen --out {} failed ({status})", key.display()).into());
        }
        let config = format!(
            "author = \"bench\"\n\
             log_dir = \"{}\"\n\
             key = \"{}\"\n\n\
             [environments.bench]\n\
             url = \"{}\"\n\
             write_role = \"{}\"\n\
             read_role = \"{read_role}\"\n\
             require_approval = false\n\
             max_rows = 10000000\n\
             statement_timeout = \"10min\"\n\
             idle_timeout = \"10min\"\n\
             color = \"none\"\n",
            self.work.join("sessions").display(),
            key.display(),
            self.conninfo,
            self.write_role
        );
        fs::write(self.config_path(), config)?;
        Ok(())
    }

    /// nproc, CPU, memory, kernel, PostgreSQL, pgward commit.
    async fn machine(&self, out: &mut String) -> Result<(), BoxError> {
        let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let server = one_value(&self.admin, "SELECT version()").await?;
        let settings = one_value(
            &self.admin,
            "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) \
             FROM pg_settings WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit', \
             'full_page_writes', 'work_mem')",
        )
        .await?;
        let psql_version = Command::new(&self.psql)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let commit = git_commit().unwrap_or_else(|| "unknown".into());
        writeln!(out, "## Machine\n")?;
        writeln!(out, "- nproc: {nproc}")?;
        writeln!(out, "- CPU: {cpu}")?;
        writeln!(out, "- memory: {:.1} GiB", mem_kib as f64 / 1024.0 / 1024.0)?;
        writeln!(out, "- kernel: {}", kernel.trim())?;
        writeln!(out, "- server: {server}")?;
        writeln!(out, "- server settings (scratch cluster): {settings}")?;
        let login_work_mem = one_value(
            &self.admin,
            "SELECT coalesce(string_agg(c, ', '), 'none') FROM pg_db_role_setting s \
             JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) AS c \
             WHERE r.rolname = 'shop_login'",
        )
        .await?;
        writeln!(
            out,
            "- settings of the login role shop_login: {login_work_mem}"
        )?;
        writeln!(out, "- client: {psql_version}")?;
        writeln!(
            out,
            "- pgward: commit {commit}, binary {}",
            self.pgward.display()
        )?;
        writeln!(out)?;
        Ok(())
    }

    async fn load_plain(&self) -> Result<(), BoxError> {
        let sql = format!(
            "CREATE TABLE public.orders_big (LIKE public.orders INCLUDING ALL);
             ALTER TABLE public.orders_big SET (autovacuum_enabled = off);
             INSERT INTO public.orders_big (id, customer_id, status, total, created_at)
             SELECT g, {select_tail} FROM generate_series(1::bigint, {rows}) AS g;
             GRANT SELECT, UPDATE ON public.orders_big TO {writer};
             GRANT SELECT ON public.orders_big TO shop_reader;",
            select_tail = ORDER_COLUMNS,
            rows = self.rows,
            writer = self.write_role,
        );
        self.sql(&sql).await?;
        self.settle(&["public.orders_big"]).await
    }

    /// Tops the demo's orders up to `rows` rows (the audit trigger is disabled while
    /// loading, so audit_log does not get a million INSERT rows).
    async fn load_demo(&self) -> Result<(), BoxError> {
        let sql = format!(
            "ALTER TABLE public.orders DISABLE TRIGGER orders_audit;
             INSERT INTO public.orders (id, customer_id, status, total, created_at)
             SELECT g, {select_tail}
             FROM generate_series((SELECT max(id) + 1 FROM public.orders), {rows}) AS g;
             ALTER TABLE public.orders ENABLE TRIGGER orders_audit;
             ALTER TABLE public.orders SET (autovacuum_enabled = off);
             ALTER TABLE public.audit_log SET (autovacuum_enabled = off);",
            select_tail = ORDER_COLUMNS,
            rows = self.rows,
        );
        self.sql(&sql).await?;
        self.settle(&["public.orders", "public.audit_log"]).await?;
        let n: String = one_value(&self.admin, "SELECT count(*)::text FROM public.orders").await?;
        if n != self.rows.to_string() {
            return Err(format!("public.orders has {n} rows, expected {}", self.rows).into());
        }
        Ok(())
    }

    async fn settle(&self, tables: &[&str]) -> Result<(), BoxError> {
        // Separate statements: VACUUM cannot run in the implicit transaction of a
        // multi-statement query.
        self.sql(&format!("VACUUM (ANALYZE) {}", tables.join(", ")))
            .await?;
        self.sql("CHECKPOINT").await
    }

    /// Runs `sql` as the superuser; the error carries the server's message.
    async fn sql(&self, sql: &str) -> Result<(), BoxError> {
        self.admin
            .batch_execute(sql)
            .await
            .map_err(|e| pg_error(&e, sql))
    }

    async fn run_case(&self, case: &Case, runs: usize, out: &mut String) -> Result<(), BoxError> {
        eprintln!("update_1m: case {}", case.title);
        // One untimed warm-up run (psql), so the first timed run does not pay for a cold
        // cache alone.
        self.settle(&case.vacuum).await?;
        self.run_once(&case.arms[0])?;
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); case.arms.len()];
        for run in 1..=runs {
            for (i, arm) in case.arms.iter().enumerate() {
                self.settle(&case.vacuum).await?;
                let s = self.run_once(arm)?;
                eprintln!(
                    "update_1m:   run {run}/{runs} {:<48} {:>7.2} s {:>8.1} MB rss {:>7.2} s cpu",
                    arm.label,
                    s.wall,
                    mb(s.rss_kib),
                    s.cpu
                );
                samples[i].push(s);
            }
        }
        writeln!(out, "## {}\n", case.title)?;
        writeln!(
            out,
            "Median of {runs} runs (all runs listed as wall s / peak RSS MB).\n"
        )?;
        writeln!(
            out,
            "| client: statement | wall (s) | peak RSS (MB) | CPU user+sys (s) | runs |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---|")?;
        let medians: Vec<Sample> = samples.iter().map(|s| median(s)).collect();
        for (arm, (m, all)) in case.arms.iter().zip(medians.iter().zip(&samples)) {
            let list: Vec<String> = all
                .iter()
                .map(|s| format!("{:.2} / {:.1}", s.wall, mb(s.rss_kib)))
                .collect();
            writeln!(
                out,
                "| {} | {:.2} | {:.1} | {:.2} | {} |",
                arm.label,
                m.wall,
                mb(m.rss_kib),
                m.cpu,
                list.join("; ")
            )?;
        }
        writeln!(out)?;
        writeln!(out, "| ratio (wall, medians) | value | goal | met? |")?;
        writeln!(out, "|---|---:|---:|---|")?;
        let mut verdicts = Vec::new();
        for &(p, q, goal) in &case.ratios {
            let ratio = medians[p].wall / medians[q].wall;
            if goal == GOAL_CAPTURE {
                // One line to grep for, on standard error as the run goes and in the report.
                let verdict = format!(
                    "update_1m: {} full capture {ratio:.2}× psql, goal ≤ {goal:.1}×: {}",
                    if ratio <= goal { "PASS" } else { "FAIL" },
                    case.title
                );
                eprintln!("{verdict}");
                verdicts.push(verdict);
            }
            writeln!(
                out,
                "| {} ÷ {} | {:.2}× | ≤ {:.1}× | {} |",
                case.arms[p].label,
                case.arms[q].label,
                ratio,
                goal,
                if ratio <= goal { "yes" } else { "no" }
            )?;
        }
        for (arm, m) in case.arms.iter().zip(&medians) {
            if arm.runner == Runner::Pgward {
                let rss = mb(m.rss_kib);
                writeln!(
                    out,
                    "| peak RSS of {} | {:.1} MB | < {:.0} MB | {} |",
                    arm.label,
                    rss,
                    GOAL_RSS_MB,
                    if rss < GOAL_RSS_MB { "yes" } else { "no" }
                )?;
            }
        }
        writeln!(out)?;
        for verdict in &verdicts {
            writeln!(out, "{verdict}\n")?;
        }
        for note in &case.notes {
            writeln!(out, "{note}\n")?;
        }
        Ok(())
    }

    /// Runs `arm` once under GNU time and checks that it did what it should.
    fn run_once(&self, arm: &Arm) -> Result<Sample, BoxError> {
        let script = self.work.join("script.sql");
        let stdout_path = self.work.join("stdout.txt");
        let stderr_path = self.work.join("stderr.txt");
        let time_path = self.work.join("time.txt");
        let mut cmd = Command::new(&self.gnu_time);
        cmd.arg("-f").arg("%M %U %S").arg("-o").arg(&time_path);
        match arm.runner {
            Runner::Psql => {
                // The capturing statement returns a million rows: psql discards them.
                let (quiet_on, quiet_off) = if arm.sql.contains("pgward_old") {
                    ("\\o /dev/null\n", "\\o\n")
                } else {
                    ("", "")
                };
                fs::write(
                    &script,
                    format!(
                        "BEGIN ISOLATION LEVEL REPEATABLE READ;\nSET LOCAL ROLE {};\n\
                         {quiet_on}{};\n{quiet_off}ROLLBACK;\n",
                        self.write_role, arm.sql
                    ),
                )?;
                cmd.arg(&self.psql)
                    .args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
                    .arg(&self.conninfo)
                    .arg("-f")
                    .arg(&script);
            }
            Runner::Pgward => {
                // pgward opens its guarded transaction itself; the explicit ROLLBACK
                // ends it as psql's does (without it the script's end rolls back too,
                // but exits 2: "input ended inside an open transaction").
                fs::write(&script, format!("{};\nROLLBACK;\n", arm.sql))?;
                cmd.arg(&self.pgward)
                    .arg("--config")
                    .arg(self.config_path())
                    .args(["--env", "bench", "-f"])
                    .arg(&script);
            }
        }
        cmd.env("PGPASSWORD", &self.password)
            .env("NO_COLOR", "1")
            .env("TMPDIR", &self.work)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout_path)?)
            .stderr(fs::File::create(&stderr_path)?);
        let start = Instant::now();
        let status = cmd.status()?;
        let wall = start.elapsed().as_secs_f64();
        let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
        let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
        let fail = |why: &str| -> BoxError {
            format!(
                "{}: {why} (exit {status})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                arm.label,
                tail(&stdout, 60),
                tail(&stderr, 60)
            )
            .into()
        };
        if !status.success() {
            return Err(fail("failed"));
        }
        let rows = self.rows.to_string();
        match (arm.runner, arm.expect_capture) {
            (Runner::Psql, _) => {
                if !arm.sql.contains("pgward_old")
                    && !stdout.contains(&format!("UPDATE {rows}"))
                    && !stdout.contains(&format!(" {rows}\n"))
                {
                    return Err(fail(&format!("psql did not report {rows} rows")));
                }
            }
            (Runner::Pgward, expect) => {
                let all = format!("{stdout}\n{stderr}");
                if !all.contains(&rows) && !all.contains(&group_thousands(self.rows)) {
                    return Err(fail(&format!("pgward did not report {rows} rows")));
                }
                let counts_only = all.contains("counts only");
                match expect {
                    Some(true) if counts_only => {
                        return Err(fail("pgward ran counts-only, full capture was expected"))
                    }
                    Some(false) if !counts_only => {
                        return Err(fail("pgward did not say it ran counts-only"))
                    }
                    _ => {}
                }
                let kept = self.work.join(format!(
                    "pgward-{}.out",
                    if counts_only { "counts" } else { "capture" }
                ));
                fs::write(kept, &all)?;
            }
        }
        let timed = fs::read_to_string(&time_path)?;
        let mut fields = timed
            .lines()
            .last()
            .ok_or_else(|| fail("GNU time wrote nothing"))?
            .split_whitespace();
        let rss_kib: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        let user: f64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0.0);
        let sys: f64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0.0);
        Ok(Sample {
            wall,
            rss_kib,
            cpu: user + sys,
        })
    }

    /// Server-side cost of the plain and the capturing UPDATE (EXPLAIN ANALYZE executes
    /// the statement, RETURNING included, but sends no rows), each rolled back.
    async fn explain(&self, out: &mut String) -> Result<(), BoxError> {
        let table = "public.orders_big";
        let plain = update_sql(table);
        let capture = capture_sql(table, true)?;
        let whole = capture_sql(table, false)?;
        writeln!(out, "## Server side: EXPLAIN ANALYZE on `{table}`\n")?;
        writeln!(
            out,
            "`EXPLAIN (ANALYZE, BUFFERS)` runs the statement (RETURNING expressions \
             included) without sending rows to a client; each is rolled back, with VACUUM \
             before. pgward's capturing statement, from `pgward::preview::rewrite` (run, as \
             pgward runs it, with hash and merge joins off: a nested loop over a TID scan):\n"
        )?;
        writeln!(out, "```sql\n{capture}\n```\n")?;
        const TID_JOIN: &str = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;";
        let variants: [(&str, &String, &str); 4] = [
            ("plain UPDATE", &plain, ""),
            ("capturing UPDATE, as pgward runs it", &capture, TID_JOIN),
            (
                "capturing UPDATE, whole new row in the new image",
                &whole,
                TID_JOIN,
            ),
            ("capturing UPDATE, planner's own join", &capture, ""),
        ];
        let mut summary = Vec::new();
        let mut times: Vec<Option<f64>> = Vec::new();
        let mut plans = String::new();
        for (label, sql, settings) in variants {
            self.settle(&[table]).await?;
            self.sql(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL ROLE {}; {settings}",
                self.write_role
            ))
            .await?;
            let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
            let plan = self.admin.simple_query(&explain).await;
            self.sql("ROLLBACK").await?;
            let lines: Vec<String> = plan
                .map_err(|e| pg_error(&e, &explain))?
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .collect();
            let ms = lines
                .iter()
                .find_map(|l| l.strip_prefix("Execution Time: "))
                .unwrap_or("?")
                .to_string();
            // The Update node's own buffer line (the first "Buffers:" line).
            let buffers = lines
                .iter()
                .find_map(|l| l.trim().strip_prefix("Buffers: "))
                .unwrap_or("")
                .to_string();
            eprintln!("update_1m:   EXPLAIN ANALYZE {label}: {ms}");
            times.push(ms.trim_end_matches(" ms").parse().ok());
            summary.push(format!("| {label} | {ms} | {buffers} |"));
            writeln!(plans, "{label}:\n\n```\n{}\n```\n", lines.join("\n"))?;
        }
        let ms = |i: usize| -> Option<f64> { times.get(i).copied().flatten() };
        if let (Some(plain), Some(capture)) = (ms(0), ms(1)) {
            let line = format!(
                "update_1m: server side (EXPLAIN ANALYZE) capture {:.2}× the plain UPDATE",
                capture / plain
            );
            eprintln!("{line}");
            writeln!(out, "{line}\n")?;
        }
        writeln!(
            out,
            "| statement | execution time | buffers (Update node) |"
        )?;
        writeln!(out, "|---|---:|---|")?;
        writeln!(out, "{}\n", summary.join("\n"))?;
        out.push_str(&plans);
        self.settle(&[table]).await?;
        Ok(())
    }
}

/// The columns after `id` of a generated order `g`, shaped like the demo's.
const ORDER_COLUMNS: &str = "1 + (g * 7919 + (g / 7) * 13) % 1000,
       CASE WHEN g % 37 = 0 THEN 'cancelled' WHEN g % 53 = 0 THEN 'refunded'
            WHEN g % 11 = 0 THEN 'pending' WHEN g % 7 = 0 THEN 'shipped'
            ELSE 'delivered' END,
       round(((g * 7907) % 50000) / 100.0 + 5, 2),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '97 seconds'";

/// A driver error with the server's message (tokio-postgres's Display says "db error").
fn pg_error(e: &tokio_postgres::Error, sql: &str) -> BoxError {
    let what = match e.as_db_error() {
        Some(db) => format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        ),
        None => e.to_string(),
    };
    let head: String = sql.chars().take(200).collect();
    format!("{what}\n  in: {head}").into()
}

async fn one_value(client: &Client, sql: &str) -> Result<String, BoxError> {
    let row = client
        .query_one(sql, &[])
        .await
        .map_err(|e| pg_error(&e, sql))?;
    Ok(row.get::<_, Option<String>>(0).unwrap_or_default())
}

fn median(samples: &[Sample]) -> Sample {
    let pick = |f: &dyn Fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        }
    };
    Sample {
        wall: pick(&|s| s.wall),
        rss_kib: pick(&|s| s.rss_kib as f64) as u64,
        cpu: pick(&|s| s.cpu),
    }
}

/// KiB (as GNU time reports ru_maxrss) to MB (10^6 bytes).
fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1_000_000.0
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The commit of the checkout this bench was built from, read from .git without running
/// git (HEAD, then the ref it names, loose or packed); "-dirty" is not detected.
fn git_commit() -> Option<String> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let git = loop {
        let candidate = dir.join(".git");
        if candidate.exists() {
            break candidate;
        }
        if !dir.pop() {
            return None;
        }
    };
    // A worktree's .git is a file: "gitdir: <path>".
    let git_dir = if git.is_file() {
        let text = fs::read_to_string(&git).ok()?;
        let path = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        if path.is_absolute() {
            path
        } else {
            git.parent()?.join(path)
        }
    } else {
        git
    };
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:") else {
        return Some(head.to_string());
    };
    let reference = reference.trim();
    // Refs live in the common dir for worktrees.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for base in [&git_dir, &common] {
        if let Ok(id) = fs::read_to_string(base.join(reference)) {
            return Some(id.trim().to_string());
        }
        if let Ok(packed) = fs::read_to_string(base.join("packed-refs")) {
            if let Some(line) = packed.lines().find(|l| l.ends_with(reference)) {
                return line.split_whitespace().next().map(str::to_string);
            }
        }
    }
    None
}
