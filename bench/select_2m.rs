//! Benchmark: a 2,000,000-row SELECT written to a pipe, through psql (as is, and with
//! `FETCH_COUNT=1000`) and through pgward, against the same throwaway cluster in one run
//! (issue 11, "Large results are held entirely in memory").
//!
//! Run it with `bench/select_2m.sh` or `cargo bench --bench select_2m`. It
//!
//! 1. starts the demo shop (`pgward::demo::prepare`: a scratch cluster, the `shop`
//!    database, the roles `shop_login` / `shop_writer` / `shop_reader`);
//! 2. loads `public.orders_2m`: 2,000,000 rows shaped like the demo's `orders` (id,
//!    customer, status, total, created_at), readable by `shop_reader` (pgward's read
//!    role) and by `shop_login` (for psql);
//! 3. runs `SELECT * FROM public.orders_2m ORDER BY id` `PGWARD_BENCH_RUNS` times (default
//!    3) through each client, alternating, after one untimed warm-up run; every client's
//!    standard output is a pipe that the bench drains and counts;
//! 4. prints a markdown report: median wall time, peak RSS, CPU time and output size per
//!    client, and the goals: pgward's peak RSS at most psql's with `FETCH_COUNT=1000`
//!    plus 10 MB, and its wall time at most 1.2× psql's.
//!
//! Both clients log in as `shop_login` over TCP with a password. psql runs
//! `psql -X -c <SELECT>` (autocommit); pgward runs `pgward --config <file> --env bench -c
//! <SELECT>`, which reads in `BEGIN READ ONLY` as `shop_reader`, probes, and draws the
//! rows in batches of 1000 as they arrive. Wall time is measured here (`Instant` around
//! the child); peak RSS, user and system CPU come from GNU time
//! (`/usr/bin/time -f "%M %U %S"`, `apt-get install time`).
//!
//! Knobs (environment): `PGWARD_BENCH_ROWS` (default 2000000), `PGWARD_BENCH_RUNS`
//! (default 3), `PGWARD_BENCH_OUT` (also write the report to this file), `PGWARD_BIN`
//! (default: the binary cargo built alongside this bench), `PSQL` (default `psql` on
//! PATH), `GNU_TIME` (default `/usr/bin/time`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use tokio_postgres::{Client, NoTls};

type BoxError = Box<dyn std::error::Error>;

/// pgward's peak RSS may exceed psql's with FETCH_COUNT=1000 by this much (MB).
const GOAL_RSS_EXTRA_MB: f64 = 10.0;
/// pgward's wall time, as a multiple of psql's.
const GOAL_WALL: f64 = 1.2;

/// The clients compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arm {
    Psql,
    PsqlFetch,
    Pgward,
}

impl Arm {
    const ALL: [Arm; 3] = [Arm::Psql, Arm::PsqlFetch, Arm::Pgward];

    fn label(self) -> &'static str {
        match self {
            Arm::Psql => "psql",
            Arm::PsqlFetch => "psql, FETCH_COUNT=1000",
            Arm::Pgward => "pgward",
        }
    }
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    rss_kib: u64,
    cpu: f64,
    bytes: u64,
}

struct Bench {
    work: PathBuf,
    pgward: PathBuf,
    psql: PathBuf,
    gnu_time: PathBuf,
    conninfo: String,
    password: String,
    rows: u64,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("select_2m: {e}");
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
    let rows: u64 = env_or("PGWARD_BENCH_ROWS", 2_000_000)?;
    let runs: usize = env_or("PGWARD_BENCH_RUNS", 3)?;
    let pgward = env::var_os("PGWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgward")));
    let psql = env::var_os("PSQL").map_or_else(|| PathBuf::from("psql"), PathBuf::from);
    let gnu_time = env::var_os("GNU_TIME").map_or_else(|| "/usr/bin/time".into(), PathBuf::from);
    if !gnu_time.exists() {
        return Err(format!(
            "{} not found: install GNU time (apt-get install time) or set GNU_TIME",
            gnu_time.display()
        )
        .into());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        eprintln!("select_2m: starting the demo shop on a scratch cluster …");
        let target = pgward::demo::prepare().await?;
        let (admin, conn) =
            tokio_postgres::connect(&target.cluster.conninfo(pgward::demo::DATABASE), NoTls)
                .await?;
        tokio::spawn(conn);
        let work = tempfile::Builder::new().prefix("pgward-bench-").tempdir()?;
        let bench = Bench {
            work: work.path().to_path_buf(),
            pgward,
            psql,
            gnu_time,
            conninfo: format!(
                "host={} port={} dbname={} user={}",
                target.host, target.port, target.dbname, target.user
            ),
            password: target.password.clone(),
            rows,
        };
        fs::write(
            bench.work.join("pgward.toml"),
            format!(
                "author = \"bench\"\n\n[environments.bench]\nurl = \"{}\"\n\
                 write_role = \"{}\"\nread_role = \"{}\"\nrequire_approval = false\n\
                 statement_timeout = \"10min\"\ncolor = \"none\"\n",
                bench.conninfo, target.write_role, target.read_role
            ),
        )?;
        eprintln!("select_2m: loading {rows} rows into public.orders_2m …");
        admin
            .batch_execute(&format!(
                "CREATE TABLE public.orders_2m (id bigint PRIMARY KEY, customer_id int NOT NULL,
                   status text NOT NULL, total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL);
                 INSERT INTO public.orders_2m
                 SELECT g, 1 + (g * 7919) % 1000,
                        CASE WHEN g % 37 = 0 THEN 'cancelled' WHEN g % 11 = 0 THEN 'pending'
                             ELSE 'delivered' END,
                        round(((g * 7907) % 50000) / 100.0 + 5, 2),
                        timestamptz '2024-01-01 00:00:00+00' + g * interval '97 seconds'
                 FROM generate_series(1::bigint, {rows}) AS g;
                 GRANT SELECT ON public.orders_2m TO {}, {};",
                target.read_role, target.user
            ))
            .await?;
        admin.batch_execute("VACUUM (ANALYZE) public.orders_2m").await?;
        let mut report = String::new();
        machine(&admin, &bench, &mut report).await?;
        bench.run(runs, &mut report)?;
        println!("{report}");
        if let Some(out) = env::var_os("PGWARD_BENCH_OUT") {
            fs::write(&out, &report)?;
            eprintln!("select_2m: report written to {}", Path::new(&out).display());
        }
        drop(target);
        Ok::<(), BoxError>(())
    })
}

const SELECT: &str = "SELECT * FROM public.orders_2m ORDER BY id";

impl Bench {
    fn run(&self, runs: usize, out: &mut String) -> Result<(), BoxError> {
        self.once(Arm::Psql)?;
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Arm::ALL.len()];
        for run in 1..=runs {
            for (i, arm) in Arm::ALL.iter().enumerate() {
                let s = self.once(*arm)?;
                eprintln!(
                    "select_2m:   run {run}/{runs} {:<24} {:>6.2} s {:>8.1} MB rss {:>6.2} s cpu {:>11} bytes",
                    arm.label(),
                    s.wall,
                    mb(s.rss_kib),
                    s.cpu,
                    s.bytes
                );
                samples[i].push(s);
            }
        }
        let m: Vec<Sample> = samples.iter().map(|s| median(s)).collect();
        writeln!(
            out,
            "## `{SELECT}`: {} rows to a pipe\n\nMedian of {runs} runs (all runs listed as wall s / peak RSS MB).\n",
            self.rows
        )?;
        writeln!(
            out,
            "| client | wall (s) | peak RSS (MB) | CPU user+sys (s) | output (bytes) | runs |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---|")?;
        for (arm, (s, all)) in Arm::ALL.iter().zip(m.iter().zip(&samples)) {
            let list: Vec<String> = all
                .iter()
                .map(|s| format!("{:.2} / {:.1}", s.wall, mb(s.rss_kib)))
                .collect();
            writeln!(
                out,
                "| {} | {:.2} | {:.1} | {:.2} | {} | {} |",
                arm.label(),
                s.wall,
                mb(s.rss_kib),
                s.cpu,
                s.bytes,
                list.join("; ")
            )?;
        }
        let (psql, fetch, pgward) = (m[0], m[1], m[2]);
        let rss_goal = mb(fetch.rss_kib) + GOAL_RSS_EXTRA_MB;
        let yes = |ok: bool| if ok { "yes" } else { "no" };
        writeln!(
            out,
            "\n| goal | value | limit | met? |\n|---|---:|---:|---|"
        )?;
        writeln!(
            out,
            "| pgward peak RSS ≤ psql FETCH_COUNT=1000 + {GOAL_RSS_EXTRA_MB:.0} MB | {:.1} MB | {rss_goal:.1} MB | {} |",
            mb(pgward.rss_kib),
            yes(mb(pgward.rss_kib) <= rss_goal)
        )?;
        for (label, other) in [("psql", psql), ("psql FETCH_COUNT=1000", fetch)] {
            let ratio = pgward.wall / other.wall;
            writeln!(
                out,
                "| pgward wall ÷ {label} wall | {ratio:.2}× | {GOAL_WALL:.1}× | {} |",
                yes(ratio <= GOAL_WALL)
            )?;
        }
        writeln!(out)?;
        Ok(())
    }

    /// Runs `arm` once under GNU time, its output drained from a pipe, and checks that
    /// it printed every row.
    fn once(&self, arm: Arm) -> Result<Sample, BoxError> {
        let time_path = self.work.join("time.txt");
        let stderr_path = self.work.join("stderr.txt");
        let mut cmd = Command::new(&self.gnu_time);
        cmd.arg("-f").arg("%M %U %S").arg("-o").arg(&time_path);
        match arm {
            Arm::Psql | Arm::PsqlFetch => {
                cmd.arg(&self.psql).arg("-X");
                if arm == Arm::PsqlFetch {
                    cmd.args(["-v", "FETCH_COUNT=1000"]);
                }
                cmd.arg("-d").arg(&self.conninfo).arg("-c").arg(SELECT);
            }
            Arm::Pgward => {
                cmd.arg(&self.pgward)
                    .arg("--config")
                    .arg(self.work.join("pgward.toml"))
                    .args(["--env", "bench", "-c", SELECT]);
            }
        }
        cmd.env("PGPASSWORD", &self.password)
            .env("NO_COLOR", "1")
            .env("TMPDIR", &self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr_path)?);
        let start = Instant::now();
        let mut child = cmd.spawn()?;
        let mut pipe = child.stdout.take().ok_or("no stdout pipe")?;
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, mut last) = (0u64, Vec::new());
        loop {
            let n = pipe.read(&mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            last.extend_from_slice(&buf[..n]);
            let keep = last.len().saturating_sub(64);
            last.drain(..keep);
        }
        let status = child.wait()?;
        let wall = start.elapsed().as_secs_f64();
        // psql ends with an empty line after the footer; pgward does not.
        let footer = format!("({} rows)", self.rows);
        let ends = String::from_utf8_lossy(&last);
        if !status.success() || !ends.trim_end().ends_with(&footer) {
            return Err(format!(
                "{}: exit {status}, output ends {:?}\n{}",
                arm.label(),
                String::from_utf8_lossy(&last),
                fs::read_to_string(&stderr_path).unwrap_or_default()
            )
            .into());
        }
        let timed = fs::read_to_string(&time_path)?;
        let mut fields = timed.lines().last().unwrap_or("").split_whitespace();
        let mut next = || fields.next().unwrap_or("0").to_string();
        let rss_kib: u64 = next().parse().unwrap_or(0);
        let user: f64 = next().parse().unwrap_or(0.0);
        let sys: f64 = next().parse().unwrap_or(0.0);
        Ok(Sample {
            wall,
            rss_kib,
            cpu: user + sys,
            bytes,
        })
    }
}

/// nproc, CPU, memory, kernel, PostgreSQL, psql, pgward commit.
async fn machine(admin: &Client, bench: &Bench, out: &mut String) -> Result<(), BoxError> {
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
    let server: String = admin.query_one("SELECT version()", &[]).await?.get(0);
    let psql = Command::new(&bench.psql)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    writeln!(out, "## Machine\n")?;
    writeln!(out, "- nproc: {nproc}; CPU: {cpu}")?;
    writeln!(
        out,
        "- memory: {:.1} GiB; kernel: {}",
        mem_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )?;
    writeln!(out, "- server: {server}")?;
    writeln!(out, "- client: {psql}")?;
    writeln!(out, "- pgward: binary {}\n", bench.pgward.display())?;
    Ok(())
}

fn median(samples: &[Sample]) -> Sample {
    let pick = |f: &dyn Fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    Sample {
        wall: pick(&|s| s.wall),
        rss_kib: pick(&|s| s.rss_kib as f64) as u64,
        cpu: pick(&|s| s.cpu),
        bytes: pick(&|s| s.bytes as f64) as u64,
    }
}

/// KiB (as GNU time reports ru_maxrss) to MB (10^6 bytes).
fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1_000_000.0
}
