//! Large reads stream: rows are drawn in batches as they arrive (psql's `FETCH_COUNT`
//! semantics), so pgward's memory stays flat whatever the row count. Checked on the real
//! binary: the layout of a multi-batch result, and the peak RSS of a large one.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{self, TestDb, PASSWORD, READER, WRITER};

/// A result over several batches: one header, every row once, alignment per batch
/// (psql's FETCH_COUNT layout), one footer counting all rows; inside an open
/// transaction too.
#[test]
fn large_results_come_in_batches_with_one_header_and_footer() {
    let db = TestDb::new("stream_layout");
    let before = db.items();
    // The pad is 3 wide in the first batch of 1000 rows and 8 wide after.
    let sql = "select repeat('x', case when g <= 1000 then 3 else 8 end) as pad, g as id \
               from generate_series(1, 2500) g order by g";
    for input in [
        format!("{sql};\n"),
        format!("update items set qty = 1 where id = 1;\n{sql};\nrollback;\n"),
    ] {
        let out = util::TestShell::new(&db).stdin(&input).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let lines: Vec<&str> = out.stdout.lines().collect();
        let header = lines
            .iter()
            .position(|l| *l == " pad |  id  ")
            .unwrap_or_else(|| panic!("header:\n{}", out.stdout));
        assert_eq!(lines[header + 1], "-----+------");
        assert_eq!(
            lines[header + 2],
            " xxx |    1",
            "batch 1 on its own widths"
        );
        assert!(lines.contains(&" xxxxxxxx | 1001"), "batch 2 on its own");
        assert!(lines.contains(&" xxxxxxxx | 2500"), "the last batch");
        assert_eq!(
            lines.iter().filter(|l| l.contains("pad")).count(),
            1,
            "one header"
        );
        let ids: Vec<u32> = lines[header..]
            .iter()
            .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
            .collect();
        assert!(
            ids.len() == 2500 && ids.iter().zip(1..).all(|(a, b)| *a == b),
            "every row once, in order"
        );
        assert_eq!(
            lines.iter().filter(|l| l.ends_with(" rows)")).count(),
            1,
            "{}",
            out.stdout
        );
        assert!(lines.contains(&"(2500 rows)"), "{}", out.stdout);
    }
    assert_eq!(db.items(), before);
}

/// The peak RSS of pgward reading 100,000 rows of 200 bytes (20 MB of output) stays far
/// below what holding them would take.
#[test]
fn memory_stays_flat_for_large_reads() {
    let db = TestDb::new("stream_rss");
    let mut child = Command::new(util::bin())
        .args([
            "-d",
            &db.login_conninfo(),
            "--write-role",
            WRITER,
            "--read-role",
            READER,
            "-c",
            "select g, repeat(md5(g::text), 6) as payload from generate_series(1, 100000) g",
        ])
        .env("PGPASSWORD", PASSWORD)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pgward");
    let pid = child.id();
    let mut pipe = child.stdout.take().expect("stdout");
    // Read slowly enough to sample the high-water mark while pgward still runs.
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, mut tail) = (0usize, Vec::new());
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes += n;
            tail.extend_from_slice(&buf[..n]);
            let keep = tail.len().saturating_sub(32);
            tail.drain(..keep);
        }
        (bytes, String::from_utf8_lossy(&tail).into_owned())
    });
    let mut peak_kib = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (bytes, tail) = reader.join().expect("reader");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(tail.ends_with("(100000 rows)\n\n"), "{tail:?}\n{stderr}");
    assert!(bytes > 20_000_000, "{bytes} bytes");
    assert!(peak_kib > 0, "sampled the peak RSS");
    eprintln!("peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < 40 * 1024,
        "peak RSS {peak_kib} KiB for {bytes} bytes of output"
    );
}
