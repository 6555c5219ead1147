//! Benchmark: Tab completion on a large catalog (issue 9: "10,000 tables of 20 columns: a
//! completion answers in under 50 ms", where pgcli is known to be slow).
//!
//! Run it with `bench/complete.sh` or `cargo bench --bench complete`. It starts a scratch
//! cluster, creates `PGWARD_BENCH_TABLES` tables (default 10,000) of 20 integer columns
//! each, loads the completion catalog exactly as the shell's background loader does
//! (`pgward::repl::catalog::load`, one read-only transaction), then answers a set of
//! completions the way the line editor asks for them (`pgward::repl::complete::complete`
//! on the loaded catalog), `PGWARD_BENCH_RUNS` times each (default 20), and prints a
//! markdown report: the catalog's load time (which happens in the background and never
//! delays the prompt), and per completion the number of candidates, the median and the
//! slowest answer, with PASS when the slowest answer of every case is under 50 ms.
//!
//! Knobs (environment): `PGWARD_BENCH_TABLES`, `PGWARD_BENCH_RUNS`, `PGWARD_BENCH_OUT`
//! (also write the report to this file).

use std::env;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use pgward::repl::{catalog, complete};

type BoxError = Box<dyn std::error::Error>;

/// The goal: every completion answers within this.
const GOAL: Duration = Duration::from_millis(50);

fn knob(name: &str, default: usize) -> usize {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), BoxError> {
    let tables = knob("PGWARD_BENCH_TABLES", 10_000);
    let runs = knob("PGWARD_BENCH_RUNS", 20).max(1);
    let cluster = pgward::scratch::Cluster::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (client, connection) = rt.block_on(tokio_postgres::connect(
        &cluster.conninfo("postgres"),
        tokio_postgres::NoTls,
    ))?;
    rt.spawn(connection);

    let created = Instant::now();
    let columns: Vec<String> = (1..=20).map(|c| format!("col_{c:02} integer")).collect();
    let ddl = format!(
        "DO $$ BEGIN FOR i IN 1..{tables} LOOP \
         EXECUTE pg_catalog.format('CREATE TABLE public.t_%s ({})', i); END LOOP; END $$",
        columns.join(", ")
    );
    rt.block_on(client.batch_execute(&ddl))?;
    let created = created.elapsed();

    let client = pgward::conn::Client::from(client);
    let loading = Instant::now();
    let catalog = rt.block_on(catalog::load(&client))?;
    let loading = loading.elapsed();
    let known: usize = catalog.relations.iter().map(|r| r.columns.len()).sum();

    let mid = tables / 2;
    let cases: Vec<(String, String)> = vec![
        (
            "a relation after FROM".into(),
            format!("select * from t_{mid}"),
        ),
        ("every relation after UPDATE".into(), "update ".into()),
        (
            "columns after UPDATE t SET".into(),
            format!("UPDATE t_{mid} SET "),
        ),
        (
            "columns after WHERE, with alias".into(),
            format!("select * from t_1 a join t_{mid} b on a.col_01 = b.col_01 where b.col_1"),
        ),
        (
            "columns, functions, keywords after SELECT".into(),
            format!("select c from t_{mid}"),
        ),
        (
            "a relation for \\d".into(),
            format!("\\d t_{}", tables.saturating_sub(1)),
        ),
        ("a keyword at the start".into(), "sel".into()),
    ];

    let mut report = String::new();
    writeln!(report, "## Completion on {tables} tables of 20 columns")?;
    writeln!(report)?;
    writeln!(
        report,
        "- catalog: {} relations, {known} columns, {} functions; created in {:.1} s",
        catalog.relations.len(),
        catalog.functions.len(),
        created.as_secs_f64()
    )?;
    writeln!(
        report,
        "- background load (one read-only transaction, never before the prompt): {:.0} ms",
        loading.as_secs_f64() * 1000.0
    )?;
    writeln!(
        report,
        "- {runs} runs per completion; goal: every answer under {} ms",
        GOAL.as_millis()
    )?;
    writeln!(report)?;
    writeln!(
        report,
        "| completion | line | candidates | median | slowest |"
    )?;
    writeln!(report, "|---|---|---:|---:|---:|")?;
    let mut pass = true;
    for (what, line) in &cases {
        // The select-list case completes the word after SELECT, before FROM.
        let pos = if what.starts_with("columns, functions") {
            8
        } else {
            line.len()
        };
        let mut times = Vec::with_capacity(runs);
        let mut found = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let (_, got) = complete::complete(line, pos, &catalog);
            times.push(t.elapsed());
            found = got.len();
        }
        times.sort();
        let (median, slowest) = (times[times.len() / 2], times[times.len() - 1]);
        pass &= slowest < GOAL && found > 0;
        writeln!(
            report,
            "| {what} | `{line}` | {found} | {:.2} ms | {:.2} ms |",
            median.as_secs_f64() * 1000.0,
            slowest.as_secs_f64() * 1000.0
        )?;
    }
    writeln!(report)?;
    writeln!(report, "Result: {}", if pass { "PASS" } else { "FAIL" })?;
    print!("{report}");
    if let Ok(path) = env::var("PGWARD_BENCH_OUT") {
        std::fs::write(path, &report)?;
    }
    if pass {
        Ok(())
    } else {
        Err("a completion took 50 ms or more, or offered nothing".into())
    }
}
