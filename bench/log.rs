//! Benchmark: the session log's cost (issue 7, "Speed, in a benchmark").
//!
//! Goals: appending a statement record, fsync included, adds under 2 ms per statement;
//! verifying a 100,000-record log takes under 1 s.
//!
//! 1. Appends `PGWARD_BENCH_APPENDS` (default 2000) statement records through the real
//!    [`LogWriter`] to a file under `target/` (a real disk, not a tmpfs: `/tmp` may be
//!    one, and fsync there costs nothing), each one signed, written and fsynced, and
//!    reports the mean, median and 99th percentile per record.
//! 2. Writes a 100,000-record log (`PGWARD_BENCH_RECORDS`) with the same writer over a
//!    sink that skips fsync (only the bytes matter here), then times
//!    [`pgward::audit::verify`] over the whole file: median of 3 runs.
//!
//! Run with `cargo bench --bench log`; the markdown report goes to stdout and, with
//! `PGWARD_BENCH_OUT`, to that file too.

use std::io::Write;
use std::time::{Duration, Instant};

use pgward::audit::writer::{LogWriter, Sink};
use pgward::audit::{Body, OperatorKey};

struct Memory(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Memory {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink for Memory {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn statement(i: usize) -> Body {
    Body::Statement {
        text: format!(
            "update orders set status = 'cancelled', note = 'customer asked, ticket OPS-{i}' where id = {i}"
        ),
        class: "write".into(),
        outcome: "ok".into(),
        duration_ms: 1.234,
        rows: Some(1),
        sqlstate: None,
        error: None,
        rule: None,
    }
}

fn start() -> Body {
    Body::SessionStart {
        session_id: "bench".into(),
        author: "bench".into(),
        ticket: Some("BENCH-1".into()),
        env: "bench".into(),
        server: "bench".into(),
        database: "bench".into(),
        login: "bench".into(),
        roles: Default::default(),
        version: env!("CARGO_PKG_VERSION").into(),
        host: "bench".into(),
        operator_key: OperatorKey::from_seed([3; 32]).public_hex(),
        accepted_risks: vec![],
    }
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let appends = knob("PGWARD_BENCH_APPENDS", 2000);
    let records = knob("PGWARD_BENCH_RECORDS", 100_000);
    let mut report = String::from("## Session log\n\n");

    // 1. Append + fsync on a real disk.
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = tempfile::tempdir_in(&base).expect("a directory under target/");
    let mut writer = LogWriter::create(dir.path(), "bench.jsonl", OperatorKey::from_seed([3; 32]))
        .expect("create log");
    writer.append(start()).expect("append");
    let mut times = Vec::with_capacity(appends);
    for i in 0..appends {
        let t = Instant::now();
        writer.append(statement(i)).expect("append");
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / appends as u32;
    let p50 = times[appends / 2];
    let p99 = times[(appends * 99 / 100).min(appends - 1)];
    let ok = if mean < Duration::from_millis(2) {
        "met"
    } else {
        "NOT met"
    };
    report.push_str(&format!(
        "Append a statement record, signed and fsynced ({appends} records, {}):\n\n\
         | mean | median | p99 | goal (< 2 ms) |\n|---:|---:|---:|---|\n\
         | {:.3} ms | {:.3} ms | {:.3} ms | {ok} |\n\n",
        dir.path().display(),
        ms(mean),
        ms(p50),
        ms(p99)
    ));

    // 2. Verify a 100,000-record log.
    let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writer = LogWriter::over(
        Box::new(Memory(bytes.clone())),
        "memory".into(),
        OperatorKey::from_seed([3; 32]),
    );
    writer.append(start()).expect("append");
    for i in 0..records - 2 {
        writer.append(statement(i)).expect("append");
    }
    writer
        .append(Body::SessionEnd {
            reason: "bench".into(),
        })
        .expect("append");
    drop(writer);
    let bytes = bytes.lock().expect("bytes").clone();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let v = pgward::audit::verify(&bytes, None);
        runs.push(t.elapsed());
        assert!(v.intact(), "the benchmark log verifies");
        assert_eq!(v.records.len(), records);
    }
    runs.sort();
    let median = runs[1];
    let ok = if median < Duration::from_secs(1) {
        "met"
    } else {
        "NOT met"
    };
    report.push_str(&format!(
        "Verify a {records}-record log ({:.1} MB; {} cores):\n\n\
         | median of 3 | goal (< 1 s) |\n|---:|---|\n| {:.0} ms | {ok} |\n",
        bytes.len() as f64 / 1e6,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ms(median)
    ));
    print!("{report}");
    if let Ok(out) = std::env::var("PGWARD_BENCH_OUT") {
        std::fs::write(out, &report).expect("write report");
    }
}
