//! The session logs in a directory, newest first. Listing reads each file's first
//! record (`session_start`) and its last line's kind; it does not verify signatures
//! (that is `pgward log verify`), so it stays fast over years of logs.

use std::path::{Path, PathBuf};

use super::record::{Body, Record};
use super::AuditError;

/// One session log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// When it started (RFC 3339), or the file's name when unreadable.
    pub started: String,
    /// Ticket.
    pub ticket: Option<String>,
    /// Environment.
    pub env: String,
    /// Author.
    pub author: String,
    /// Records in the file.
    pub records: usize,
    /// Whether the last record is `session_end`.
    pub ended: bool,
}

/// The logs in `dir` matching the filters, newest first.
pub fn list(dir: &Path, ticket: Option<&str>, env: Option<&str>) -> Result<Vec<Entry>, AuditError> {
    let err = |source| AuditError::List {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(err(e)),
    };
    for item in read {
        let path = item.map_err(err)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Some(entry) = entry(&path, &bytes) else {
            continue;
        };
        if ticket.is_some_and(|t| entry.ticket.as_deref() != Some(t))
            || env.is_some_and(|e| entry.env != e)
        {
            continue;
        }
        entries.push(entry);
    }
    entries.sort_by(|a, b| b.started.cmp(&a.started).then(b.path.cmp(&a.path)));
    Ok(entries)
}

fn entry(path: &Path, bytes: &[u8]) -> Option<Entry> {
    let mut lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let first = lines.next()?;
    let (unsigned, _) = super::record::split_line(first).ok()?;
    let rec: Record = serde_json::from_slice(&unsigned).ok()?;
    let Body::SessionStart {
        author,
        ticket,
        env,
        ..
    } = rec.body
    else {
        return None;
    };
    let rest: Vec<&[u8]> = lines.collect();
    let last = rest.last().copied().unwrap_or(first);
    let records = 1 + rest.len();
    let ended = super::record::split_line(last)
        .ok()
        .and_then(|(u, _)| serde_json::from_slice::<Record>(&u).ok())
        .is_some_and(|r| matches!(r.body, Body::SessionEnd { .. }));
    Some(Entry {
        path: path.to_path_buf(),
        started: rec.ts,
        ticket,
        env,
        author,
        records,
        ended,
    })
}
