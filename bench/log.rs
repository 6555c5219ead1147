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
//!    [`pgward::audit::verify`] over it on all cores: median of 3 runs; and, to show where
//!    the time goes, each of its parts alone on one thread: parsing the records, hashing
//!    the lines, and the one-key batch signature check at several batch sizes (with
//!    ed25519-dalek's general `verify_batch` for comparison). Whether the CPU has AVX2
//!    (curve25519-dalek's fast backend, chosen at run time) is printed with it.
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

/// The CPU time this process has used, all threads (user + system, from /proc, in
/// clock ticks of 10 ms): on a loaded machine it shows the work apart from the waiting.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start at `) `.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        })
        .unwrap_or_default()
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
    let mut cpu_runs = Vec::new();
    for _ in 0..3 {
        let (t, c) = (Instant::now(), cpu_time());
        let v = pgward::audit::verify(&bytes, None);
        runs.push(t.elapsed());
        cpu_runs.push(cpu_time().saturating_sub(c));
        assert!(v.intact(), "the benchmark log verifies");
        assert_eq!(v.records.len(), records);
    }
    runs.sort();
    cpu_runs.sort();
    let median = runs[1];
    // Where the time goes: each part of verify alone, over every line, on one thread.
    let key = OperatorKey::from_seed([3; 32]).public();
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let (t, c) = (Instant::now(), cpu_time());
    let mut unsigned = Vec::new();
    for line in &lines {
        let (body, _) = pgward::audit::record::split_sig(line).expect("split");
        unsigned.clear();
        unsigned.extend_from_slice(body);
        unsigned.push(b'}');
        let rec: pgward::audit::Record = serde_json::from_slice(&unsigned).expect("parse");
        std::hint::black_box(rec);
    }
    let parse = (t.elapsed(), cpu_time().saturating_sub(c));
    let (t, c) = (Instant::now(), cpu_time());
    for line in &lines {
        std::hint::black_box(pgward::audit::chain::line_hash(line));
    }
    let hash = (t.elapsed(), cpu_time().saturating_sub(c));
    let signed: Vec<pgward::audit::batch::Signed<'_>> = lines
        .iter()
        .map(|line| {
            let (body, sig) = pgward::audit::record::split_sig(line).expect("split");
            pgward::audit::batch::Signed {
                message: [pgward::audit::record::SIGNING_CONTEXT, body, b"}"],
                sig: ed25519_dalek::Signature::from_bytes(&sig),
            }
        })
        .collect();
    let mut one_key = Vec::new();
    for size in [64, 256, 1024, 4096] {
        let (t, c) = (Instant::now(), cpu_time());
        for batch in signed.chunks(size) {
            assert!(pgward::audit::batch::verify_same_key(&key, batch));
        }
        one_key.push((size, (t.elapsed(), cpu_time().saturating_sub(c))));
    }
    // The general batch check (a key per signature), as ed25519-dalek ships it.
    let messages: Vec<Vec<u8>> = signed.iter().map(|s| s.message()).collect();
    let (t, c) = (Instant::now(), cpu_time());
    for (m, s) in messages.chunks(256).zip(signed.chunks(256)) {
        let ms: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        let sigs: Vec<ed25519_dalek::Signature> = s.iter().map(|s| s.sig).collect();
        ed25519_dalek::verify_batch(&ms, &sigs, &vec![key; s.len()]).expect("signatures verify");
    }
    let dalek = (t.elapsed(), cpu_time().saturating_sub(c));
    let ok = median < Duration::from_secs(1);
    let avx2 = if cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx2") {
        "yes: curve25519-dalek picks its AVX2 backend at run time"
    } else {
        "no: curve25519-dalek runs its serial backend"
    };
    let mut batches = String::new();
    for (size, d) in &one_key {
        batches.push_str(&format!(
            "| signatures, one key, batches of {size} (`audit::batch`) | {:.0} ms | {:.0} ms |\n",
            ms(d.0),
            ms(d.1)
        ));
    }
    report.push_str(&format!(
        "Verify a {records}-record log ({:.1} MB; {cores} cores; AVX2 {avx2}; load average {}):\n\n\
         | what | time |\n|---|---:|\n\
         | `pgward::audit::verify`, all cores, median of 3 (runs: {:.0}, {:.0}, {:.0} ms) | {:.0} ms |\n\
         | its CPU time, all threads (median of 3; about the sum of the parts below) | {:.0} ms |\n\n\
         Its parts, each alone over every line on one thread (verify runs them in chunks on all cores):\n\n\
         | part | time | CPU time |\n|---|---:|---:|\n\
         | parse each record (serde, typed) | {:.0} ms | {:.0} ms |\n\
         | SHA-256 of each line (the chain) | {:.0} ms | {:.0} ms |\n\
         {batches}\
         | for comparison: ed25519-dalek `verify_batch`, batches of 256 (a key per signature) | {:.0} ms | {:.0} ms |\n\n",
        bytes.len() as f64 / 1e6,
        load(),
        ms(runs[0]),
        ms(runs[1]),
        ms(runs[2]),
        ms(median),
        ms(cpu_runs[1]),
        ms(parse.0),
        ms(parse.1),
        ms(hash.0),
        ms(hash.1),
        ms(dalek.0),
        ms(dalek.1),
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
