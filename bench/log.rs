//! Benchmark: the session log's cost (issue 7, "Speed, in a benchmark").
//!
//! Goals: appending a statement record, fsync included, adds under 2 ms per statement;
//! verifying a 100,000-record log takes under 1 s.
//!
//! 1. The disk first, so the append figure has context: `PGWARD_BENCH_APPENDS` (default
//!    1000) appends of a 500-byte line to a plain file, each followed by `fdatasync`
//!    (what the log writer does, minus signing), and the same number of `fdatasync`s
//!    after overwriting one block in place (no size change, so no inode update: the
//!    disk's floor). Files go under `target/` (a real disk: `/tmp` may be a tmpfs).
//! 2. The real [`LogWriter`]: the same number of statement records, each serialised,
//!    signed, written and `fdatasync`ed, to a file in the same directory; and the same
//!    records into memory, to show the CPU part (serialise + sign) alone.
//! 3. A 100,000-record log (`PGWARD_BENCH_RECORDS`) written into memory, then
//!    [`pgward::audit::verify`] over it: median of 3 runs; and, for context, the batch
//!    signature check alone over the same records on one thread.
//!
//! Each goal ends in a `PASS` or `FAIL` line; the load average is printed with them,
//! since a shared machine's fsync and CPU times are not a quiet machine's. Run with
//! `cargo bench --bench log`; the markdown report goes to stdout and, with
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

/// Mean, median and p99 of `times`.
struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn stats(mut times: Vec<Duration>) -> Stats {
    times.sort();
    let n = times.len().max(1);
    Stats {
        mean: times.iter().sum::<Duration>() / n as u32,
        p50: times[n / 2],
        p99: times[(n * 99 / 100).min(n - 1)],
    }
}

fn row(what: &str, s: &Stats) -> String {
    format!(
        "| {what} | {:.3} ms | {:.3} ms | {:.3} ms |\n",
        ms(s.mean),
        ms(s.p50),
        ms(s.p99)
    )
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let f: Vec<&str> = l.split_whitespace().take(3).collect();
            (f.len() == 3).then(|| f.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// `n` appends of `line` to a new file in `dir`, each followed by fdatasync.
fn raw_appends(dir: &std::path::Path, n: usize, line: &[u8]) -> Vec<Duration> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(dir.join("raw-append"))
        .expect("raw file");
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f.write_all(line).expect("write");
            f.sync_data().expect("fdatasync");
            t.elapsed()
        })
        .collect()
}

/// `n` overwrites of one block in place, each followed by fdatasync (no size change).
fn raw_overwrites(dir: &std::path::Path, n: usize, line: &[u8]) -> Vec<Duration> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.join("raw-overwrite"))
        .expect("raw file");
    f.write_all_at(&[b' '; 4096], 0).expect("write");
    f.sync_all().expect("fsync");
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f.write_all_at(line, 0).expect("write");
            f.sync_data().expect("fdatasync");
            t.elapsed()
        })
        .collect()
}

fn main() {
    let appends = knob("PGWARD_BENCH_APPENDS", 1000).max(1);
    let records = knob("PGWARD_BENCH_RECORDS", 100_000).max(3);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut report = String::from("## Session log\n\n");
    let mut verdicts = Vec::new();

    // 1. The disk's own cost, and 2. the writer's, in the same directory.
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = tempfile::tempdir_in(&base).expect("a directory under target/");
    let mut writer = LogWriter::create(dir.path(), "bench.jsonl", OperatorKey::from_seed([3; 32]))
        .expect("create log");
    writer.append(start()).expect("append");
    writer.append(statement(0)).expect("append");
    let sample = std::fs::read(dir.path().join("bench.jsonl")).expect("log");
    let line = sample
        .split_inclusive(|b| *b == b'\n')
        .nth(1)
        .expect("a statement line")
        .to_vec();
    let raw_append = stats(raw_appends(dir.path(), appends, &line));
    let raw_overwrite = stats(raw_overwrites(dir.path(), appends, &line));
    let mut times = Vec::with_capacity(appends);
    for i in 0..appends {
        let t = Instant::now();
        writer.append(statement(i)).expect("append");
        times.push(t.elapsed());
    }
    let logged = stats(times);
    let mut memory = LogWriter::over(
        Box::new(Memory(Default::default())),
        "memory".into(),
        OperatorKey::from_seed([3; 32]),
    );
    memory.append(start()).expect("append");
    let mut times = Vec::with_capacity(appends);
    for i in 0..appends {
        let t = Instant::now();
        memory.append(statement(i)).expect("append");
        times.push(t.elapsed());
    }
    let cpu = stats(times);
    let ok = logged.mean < Duration::from_millis(2);
    report.push_str(&format!(
        "Append ({appends} each, {}-byte statement line, {}; load average {}):\n\n\
         | what | mean | median | p99 |\n|---|---:|---:|---:|\n{}{}{}{}\n",
        line.len(),
        dir.path().display(),
        load(),
        row("disk: append a line + fdatasync", &raw_append),
        row("disk: overwrite in place + fdatasync", &raw_overwrite),
        row(
            "pgward: statement record, signed, written, fdatasync",
            &logged
        ),
        row("pgward: the same without I/O (serialise + sign)", &cpu),
    ));
    verdicts.push(format!(
        "{} append: {:.3} ms mean per statement record with fdatasync (goal < 2 ms; this disk's own append+fdatasync: {:.3} ms, so pgward adds {:.3} ms)",
        verdict(ok),
        ms(logged.mean),
        ms(raw_append.mean),
        ms(logged.mean.saturating_sub(raw_append.mean)),
    ));

    // 3. Verify a 100,000-record log.
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
    // The floor: the signatures alone, batch-checked on one thread.
    let key = OperatorKey::from_seed([3; 32]).public();
    let mut messages = Vec::with_capacity(records);
    let mut sigs = Vec::with_capacity(records);
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let (unsigned, sig) = pgward::audit::record::split_line(line).expect("split");
        messages.push(pgward::audit::record::signing_message(&unsigned));
        sigs.push(ed25519_dalek::Signature::from_bytes(&sig));
    }
    let t = Instant::now();
    for (m, s) in messages.chunks(256).zip(sigs.chunks(256)) {
        let ms: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        ed25519_dalek::verify_batch(&ms, s, &vec![key; s.len()]).expect("signatures verify");
    }
    let floor = t.elapsed();
    let ok = median < Duration::from_secs(1);
    report.push_str(&format!(
        "Verify a {records}-record log ({:.1} MB; {cores} cores; load average {}):\n\n\
         | what | time |\n|---|---:|\n\
         | `pgward::audit::verify`, median of 3 (runs: {:.0}, {:.0}, {:.0} ms) | {:.0} ms |\n\
         | signatures alone, batches of 256, one thread | {:.0} ms |\n\n",
        bytes.len() as f64 / 1e6,
        load(),
        ms(runs[0]),
        ms(runs[1]),
        ms(runs[2]),
        ms(median),
        ms(floor),
    ));
    verdicts.push(format!(
        "{} verify: {:.0} ms for {records} records (goal < 1000 ms)",
        verdict(ok),
        ms(median)
    ));
    for v in &verdicts {
        report.push_str(v);
        report.push_str("  \n");
    }
    print!("{report}");
    if let Ok(out) = std::env::var("PGWARD_BENCH_OUT") {
        std::fs::write(out, &report).expect("write report");
    }
}
