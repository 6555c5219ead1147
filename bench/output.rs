//! Benchmark: pgward against psql in one run, on the same throwaway cluster (issue 9,
//! "never slower than psql"):
//!
//! - `-c 'select 1'`: wall time, goal at most 1× psql's;
//! - 100,000 rows to a pipe, aligned and `--csv`: wall time, goal at most 1.5× psql's;
//! - launch to prompt on a pseudo-terminal: from spawn to the first prompt, goal at most
//!   psql's.
//!
//! Run it with `bench/output.sh` or `cargo bench --bench output` (a release pgward:
//! `PGWARD_BIN=target/release/pgward`). Both clients log in as the demo's `shop_login`
//! over TCP with a password; pgward reads as `shop_reader` in `BEGIN READ ONLY` with its
//! probe, as always. Each case alternates the clients, after an untimed warm-up, and
//! reports the median of `PGWARD_BENCH_RUNS` runs (default 5). A `PASS`/`FAIL` line per
//! goal ends the report. Knobs: `PGWARD_BENCH_ROWS` (default 100000),
//! `PGWARD_BENCH_RUNS`, `PGWARD_BENCH_OUT` (also write the report there), `PGWARD_BIN`,
//! `PSQL`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

/// One comparison: its name, pgward's arguments after the connection, psql's, and the
/// goal (pgward's median wall time at most `goal` × psql's).
struct Case {
    name: String,
    pgward: Vec<String>,
    psql: Vec<String>,
    goal: f64,
}

struct Bench {
    work: PathBuf,
    pgward: PathBuf,
    psql: PathBuf,
    conninfo: String,
    password: String,
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> Result<T, BoxError> {
    match env::var(key) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{key}={v:?} is not a valid value").into()),
        Err(_) => Ok(default),
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("output: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), BoxError> {
    let rows: u64 = env_or("PGWARD_BENCH_ROWS", 100_000)?;
    let runs: usize = env_or("PGWARD_BENCH_RUNS", 5)?;
    let pgward = env::var_os("PGWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pgward")));
    let psql = env::var_os("PSQL").map_or_else(|| PathBuf::from("psql"), PathBuf::from);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let target = rt.block_on(pgward::demo::prepare())?;
    let (admin, conn) = rt.block_on(tokio_postgres::connect(
        &target.cluster.conninfo(pgward::demo::DATABASE),
        tokio_postgres::NoTls,
    ))?;
    rt.spawn(conn);
    let work = tempfile::Builder::new().prefix("pgward-bench-").tempdir()?;
    let bench = Bench {
        work: work.path().to_path_buf(),
        pgward,
        psql,
        conninfo: format!(
            "host={} port={} dbname={} user={}",
            target.host, target.port, target.dbname, target.user
        ),
        password: target.password.clone(),
    };
    fs::write(
        bench.work.join("pgward.toml"),
        format!(
            "author = \"bench\"\n\n[environments.bench]\nurl = \"{}\"\n\
             write_role = \"{}\"\nread_role = \"{}\"\nrequire_approval = false\n\
             color = \"none\"\n",
            bench.conninfo, target.write_role, target.read_role
        ),
    )?;
    eprintln!("output: loading {rows} rows …");
    rt.block_on(admin.batch_execute(&format!(
        "CREATE TABLE public.rows_out (id bigint PRIMARY KEY, status text NOT NULL,
           total numeric(10,2), note text, created_at timestamptz NOT NULL);
         INSERT INTO public.rows_out
         SELECT g, CASE WHEN g % 11 = 0 THEN 'pending' ELSE 'delivered' END,
                CASE WHEN g % 13 = 0 THEN NULL ELSE round(((g * 7907) % 50000) / 100.0, 2) END,
                CASE WHEN g % 7 = 0 THEN E'two\\nlines' ELSE 'note ' || g END,
                timestamptz '2024-01-01 00:00:00+00' + g * interval '97 seconds'
         FROM generate_series(1::bigint, {rows}) AS g;
         GRANT SELECT ON public.rows_out TO {}, {};",
        target.read_role, target.user
    )))?;
    // VACUUM cannot run in the implicit transaction of a multi-statement batch.
    rt.block_on(admin.batch_execute("VACUUM (ANALYZE) public.rows_out"))?;
    let select = "SELECT * FROM public.rows_out ORDER BY id".to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases = [
        Case {
            name: "-c 'select 1'".into(),
            pgward: s(&["-c", "select 1"]),
            psql: s(&["-c", "select 1"]),
            goal: 1.0,
        },
        Case {
            name: format!("{rows} rows, aligned, to a pipe"),
            pgward: vec!["-c".into(), select.clone()],
            psql: vec!["-c".into(), select.clone()],
            goal: 1.5,
        },
        Case {
            name: format!("{rows} rows, --csv, to a pipe"),
            pgward: vec!["--csv".into(), "-c".into(), select.clone()],
            psql: vec!["--csv".into(), "-c".into(), select.clone()],
            goal: 1.5,
        },
    ];
    let mut report = String::new();
    writeln!(
        report,
        "| case | psql (s) | pgward (s) | ratio | goal | result |\n|---|---:|---:|---:|---:|---|"
    )?;
    let mut verdicts = Vec::new();
    for case in &cases {
        bench.pipe(true, &case.psql)?;
        bench.pipe(false, &case.pgward)?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            theirs.push(bench.pipe(true, &case.psql)?);
            ours.push(bench.pipe(false, &case.pgward)?);
        }
        verdicts.push(line(&mut report, &case.name, &theirs, &ours, case.goal)?);
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    bench.prompt(true)?;
    bench.prompt(false)?;
    for _ in 0..runs {
        theirs.push(bench.prompt(true)?);
        ours.push(bench.prompt(false)?);
    }
    verdicts.push(line(
        &mut report,
        "launch to prompt (pty)",
        &theirs,
        &ours,
        1.0,
    )?);
    writeln!(report)?;
    for v in &verdicts {
        writeln!(report, "{v}")?;
    }
    println!("{report}");
    if let Some(out) = env::var_os("PGWARD_BENCH_OUT") {
        fs::write(&out, &report)?;
    }
    drop(target);
    Ok(())
}

/// A report row and its PASS/FAIL line.
fn line(
    report: &mut String,
    name: &str,
    psql: &[f64],
    pgward: &[f64],
    goal: f64,
) -> Result<String, BoxError> {
    let (p, g) = (median(psql), median(pgward));
    let ratio = g / p;
    let ok = ratio <= goal;
    writeln!(
        report,
        "| {name} | {p:.3} | {g:.3} | {ratio:.2}× | ≤ {goal:.1}× | {} |",
        if ok { "pass" } else { "fail" }
    )?;
    Ok(format!(
        "{} {name}: pgward {g:.3} s, psql {p:.3} s, {ratio:.2}× (goal ≤ {goal:.1}×)",
        if ok { "PASS" } else { "FAIL" }
    ))
}

impl Bench {
    fn command(&self, psql: bool) -> Command {
        let mut cmd;
        if psql {
            cmd = Command::new(&self.psql);
            cmd.arg("-X").arg("-d").arg(&self.conninfo);
        } else {
            cmd = Command::new(&self.pgward);
            cmd.arg("-X")
                .arg("--config")
                .arg(self.work.join("pgward.toml"))
                .args(["--env", "bench"]);
        }
        cmd.env("PGPASSWORD", &self.password)
            .env("NO_COLOR", "1")
            .env("HOME", &self.work)
            .env("TMPDIR", &self.work);
        cmd
    }

    /// Runs one client with `args`, its output drained from a pipe; the wall time.
    fn pipe(&self, psql: bool, args: &[String]) -> Result<f64, BoxError> {
        let mut cmd = self.command(psql);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let start = Instant::now();
        let mut child = cmd.spawn()?;
        let mut pipe = child.stdout.take().ok_or("no stdout pipe")?;
        let mut buf = vec![0u8; 1 << 16];
        while pipe.read(&mut buf)? > 0 {}
        let status = child.wait()?;
        if !status.success() {
            return Err(format!(
                "{} {args:?}: {status}",
                if psql { "psql" } else { "pgward" }
            )
            .into());
        }
        Ok(start.elapsed().as_secs_f64())
    }

    /// Starts one client on a pseudo-terminal and times it until its first prompt.
    fn prompt(&self, psql: bool) -> Result<f64, BoxError> {
        let mut cmd = self.command(psql);
        cmd.env("TERM", "xterm").env("PAGER", "");
        let options = rexpect::reader::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true);
        let start = Instant::now();
        let mut p = rexpect::session::spawn_with_options(cmd, options)?;
        p.exp_string("=> ")?;
        let took = start.elapsed().as_secs_f64();
        p.send_line("\\q")?;
        let _ = p.process.wait();
        std::thread::sleep(Duration::from_millis(20));
        Ok(took)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
