//! Benchmark: `pgward check` over 50,000 statements (issue 6: "checking 50,000
//! statements takes under 1 s"), and the classifier's goals on our corpus.
//!
//! Run it with `bench/check.sh` or `cargo bench --bench check`. It builds a script of
//! `PGWARD_BENCH_STATEMENTS` statements (default 50,000) from a corpus of everyday DBA
//! SQL (reads, writes, DDL sqlparser could not parse, settings, DO blocks), writes it to a
//! temporary file, and times
//!
//! 1. the classifier: the library path `pgward::check::check_file` (split, parse,
//!    classify, policy; on every core, as `pgward check` runs it), against the goal of
//!    at least 100,000 statements/s;
//! 2. the real binary, `pgward check FILE --format json`, end to end (start-up, reading,
//!    JSON output included), against the goal of under 1 s for 50,000 statements;
//! 3. for reference, PostgreSQL's parser alone (`pg_query::parse`, one call per
//!    statement, one thread): the floor under the classifier on one core,
//!
//! side by side with a PASS/FAIL line per goal and the load average, then the
//! classification figures: how many reads and writes were classified (neither refused nor sent to a
//! fallback), whether any write was classified as a read, and how many DDL statements
//! carry a lock level.

use std::io::Write;
use std::time::Instant;

/// (statement, what it is: "read", "write" or "ddl").
const CORPUS: &[(&str, &str)] = &[
    ("select id, status, total from orders where customer_id = 42 order by id desc limit 20", "read"),
    ("select o.id, c.email from orders o join customers c on c.id = o.customer_id where o.created_at > now() - interval '1 day'", "read"),
    ("select count(*) from pg_stat_user_tables where relname = 'dblink_stats'", "read"),
    ("TABLE orders", "read"),
    ("with recent as (select * from orders where created_at > now() - interval '7 days') select status, count(*) from recent group by status", "read"),
    ("select sum(total) over (partition by customer_id order by created_at rows between 1 preceding and 1 following exclude current row) from orders", "read"),
    ("select (pg_stat_get_live_tuples(c.oid)) from pg_class c where relkind = 'r'", "read"),
    ("select * from orders where id = any(array[1,2,3]) for update", "write"),
    ("update orders set status = 'cancelled' where id = 42", "write"),
    ("update orders set tags[1] = 'vip' where id = 7", "write"),
    ("update orders o set total = o.total * 1.1 from customers c where c.id = o.customer_id and c.tier = 'gold'", "write"),
    ("delete from sessions where expires_at < now() - interval '30 days'", "write"),
    ("insert into audit_log (actor, action) values ('alice', 'manual fix OPS-123') returning id", "write"),
    ("insert into orders_archive select * from orders where created_at < '2020-01-01' on conflict (id) do nothing", "write"),
    ("with moved as (delete from queue where id < 100 returning *) insert into queue_done select * from moved", "write"),
    ("merge into stock s using incoming i on s.sku = i.sku when matched then update set qty = s.qty + i.qty when not matched then insert values (i.sku, i.qty)", "write"),
    ("select nextval('orders_id_seq')", "write"),
    ("DO $$ begin update orders set status = 'late' where due < now(); end $$", "write"),
    ("alter table orders add column note text", "ddl"),
    ("alter table orders alter column total type numeric(12,2)", "ddl"),
    ("alter table orders add constraint orders_customer_fk foreign key (customer_id) references customers (id) not valid", "ddl"),
    ("alter table orders validate constraint orders_customer_fk", "ddl"),
    ("create index orders_status_idx on orders (status) where status <> 'done'", "ddl"),
    ("grant select on orders to app_reader", "ddl"),
    ("revoke update on orders from app_writer", "ddl"),
    ("comment on column orders.note is 'free text, see OPS-123'", "ddl"),
    ("refresh materialized view order_totals", "ddl"),
    ("cluster orders using orders_pkey", "ddl"),
    ("reindex table orders", "ddl"),
    ("create function order_total(o orders) returns numeric language sql stable begin atomic select o.total * 1.2; end", "ddl"),
    ("create or replace procedure close_day() language plpgsql as $$ begin update orders set closed = true where closed = false; end $$", "ddl"),
    ("analyze orders", "ddl"),
    ("set work_mem = '256MB'", "session"),
    ("set enable_seqscan = off", "session"),
    ("begin", "transaction"),
    ("commit", "transaction"),
];

fn main() {
    let n: usize = std::env::var("PGWARD_BENCH_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let mut script = String::new();
    for i in 0..n {
        let (sql, _) = CORPUS[i % CORPUS.len()];
        script.push_str(sql);
        script.push_str(";\n");
    }
    let policy = pgward::check::Policy {
        can_write: true,
        ..Default::default()
    };

    // 1. The classifier: the library path, on every core.
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let report = pgward::check::check_file("bench.sql", &script, &policy);
    let lib = t.elapsed();
    let lib_cpu = cpu_seconds() - cpu;
    assert_eq!(report.statements.len(), n);

    // 2. The binary, end to end.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.sql");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(script.as_bytes()))
        .expect("write script");
    let bin = std::env::var("PGWARD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_pgward").into());
    let t = Instant::now();
    let out = std::process::Command::new(&bin)
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .expect("run pgward check");
    let end_to_end = t.elapsed();
    assert!(out.status.code().is_some(), "pgward check did not exit");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        json["files"][0]["statements"].as_array().map(Vec::len),
        Some(n),
        "the binary reported every statement"
    );

    // 3. The parser alone, one statement per call, one thread.
    let (t, cpu) = (Instant::now(), cpu_seconds());
    for i in 0..n {
        let (sql, _) = CORPUS[i % CORPUS.len()];
        let _ = std::hint::black_box(pg_query::parse(sql, 0));
    }
    let parse_only = t.elapsed();
    let parse_cpu = cpu_seconds() - cpu;

    // The classifier's goals, over the distinct corpus statements.
    let mut reads_writes = 0;
    let mut classified = 0;
    let mut write_as_read = 0;
    let mut ddl = 0;
    let mut ddl_classified = 0;
    for (sql, want) in CORPUS {
        let a = pgward::sql::analyze(sql, &pgward::sql::Options::default());
        let class = match a.verdict {
            pgward::sql::Verdict::Read => "read",
            pgward::sql::Verdict::Write { .. } => "write",
            pgward::sql::Verdict::Ddl => "ddl",
            pgward::sql::Verdict::NonTransactional { .. } => "non_transactional",
            pgward::sql::Verdict::Session => "session",
            pgward::sql::Verdict::Transaction(_) => "transaction",
            pgward::sql::Verdict::Refused(_) => "refused",
        };
        match *want {
            "read" | "write" => {
                reads_writes += 1;
                if class == "read" || class == "write" {
                    classified += 1;
                }
                if *want == "write" && class == "read" {
                    write_as_read += 1;
                }
            }
            "ddl" => {
                ddl += 1;
                if class == "ddl" {
                    ddl_classified += 1;
                }
            }
            _ => {}
        }
    }
    let per_sec = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    let verdict = |met: bool| if met { "PASS" } else { "FAIL" };
    // The goal is for 50,000 statements; another PGWARD_BENCH_STATEMENTS is scaled.
    let per_50k = end_to_end.as_secs_f64() * 50_000.0 / n as f64;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    println!("# pgward check: {n} statements\n");
    println!("{cores} cores; load average at the end of the run: {load}\n");
    println!("| measure | wall time | statements/s | CPU (user+sys) | goal | |");
    println!("|---|---:|---:|---:|---|---|");
    println!(
        "| classifier (`check::check_file`: split, parse, classify, policy; {cores} cores) | {:.3} s | {:.0} | {lib_cpu:.2} s | >= 100,000/s | {} |",
        lib.as_secs_f64(),
        per_sec(lib),
        verdict(per_sec(lib) >= 100_000.0)
    );
    println!(
        "| `pgward check --format json`, end to end | {:.3} s | {:.0} | | 50,000 in < 1 s | {} |",
        end_to_end.as_secs_f64(),
        per_sec(end_to_end),
        verdict(per_50k < 1.0)
    );
    println!(
        "| reference: `pg_query::parse` alone, one call per statement, 1 core | {:.3} s | {:.0} | {parse_cpu:.2} s | | |",
        parse_only.as_secs_f64(),
        per_sec(parse_only)
    );
    println!(
        "\nThe classifier ran at {:.2}× the parser-alone rate of this run.",
        per_sec(lib) / per_sec(parse_only)
    );
    println!(
        "\n{}: the classifier at >= 100,000 statements/s ({:.0}/s)",
        verdict(per_sec(lib) >= 100_000.0),
        per_sec(lib)
    );
    println!(
        "{}: 50,000 statements checked in under 1 s, end to end ({:.3} s for {n}{})",
        verdict(per_50k < 1.0),
        end_to_end.as_secs_f64(),
        if n == 50_000 {
            String::new()
        } else {
            format!(", {per_50k:.3} s scaled to 50,000")
        }
    );
    println!(
        "\nCorpus of {} distinct statements: reads and writes classified {classified}/{reads_writes}; \
         writes classified as reads: {write_as_read}; DDL classified as DDL: {ddl_classified}/{ddl}.",
        CORPUS.len()
    );
    println!(
        "{}: no write classified as a read; {}: reads and writes classified; {}: DDL as DDL \
         (this corpus; bench/corpus.sh DIR measures a real one)",
        verdict(write_as_read == 0),
        verdict(classified == reads_writes),
        verdict(ddl_classified == ddl)
    );
    println!(
        "(release build; a loaded machine slows every line; the parser-alone line shows how \
         much: the classifier cannot beat it by more than the number of free cores; CPU time \
         is what the work costs whatever the load)"
    );
}

/// CPU time (user + system) this process has used so far, all threads, from
/// /proc/self/stat (clock ticks of 1/100 s, Linux's USER_HZ); 0 where there is no /proc.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses: utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
