//! The log as a session holds it: either writing to its file, or *unlogged* with the
//! reason. A session that is unlogged refuses every write and runs reads marked as
//! unlogged (fail closed); a log that fails mid-session turns unlogged at that record.
//! Dropping a log that never recorded its end appends a `session_end`, so a session that
//! ends by any path but a crash closes its log.

use std::path::{Path, PathBuf};

use super::chain::Head;
use super::key::OperatorKey;
use super::record::Body;
use super::writer::LogWriter;

/// Where a session's log goes and who signs it.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The directory of session logs.
    pub dir: PathBuf,
    /// The operator key file.
    pub key: PathBuf,
}

/// A session's log.
#[derive(Debug)]
pub enum SessionLog {
    /// Records are being written.
    Writing {
        /// The writer (boxed: it is large, and the unlogged state is small).
        writer: Box<LogWriter>,
        /// Whether `session_end` was written.
        ended: bool,
    },
    /// Nothing can be logged, for this reason.
    Unlogged {
        /// One line a user can act on.
        reason: String,
    },
}

impl SessionLog {
    /// An unlogged session.
    pub fn unlogged(reason: impl Into<String>) -> SessionLog {
        SessionLog::Unlogged {
            reason: reason.into(),
        }
    }

    /// Opens a new log in `target.dir` and writes `start` (a `session_start`) as its first
    /// record. Any failure leaves the session unlogged, with the reason.
    pub fn open(target: &LogTarget, start: impl FnOnce(&str) -> Body) -> SessionLog {
        let key = match OperatorKey::load(&target.key) {
            Ok(k) => k,
            Err(e) => return SessionLog::unlogged(e.to_string()),
        };
        let public = key.public_hex();
        let body = start(&public);
        let name = file_name(&body);
        let writer = match LogWriter::create(&target.dir, &name, key) {
            Ok(w) => w,
            Err(e) => return SessionLog::unlogged(e.to_string()),
        };
        SessionLog::from_writer(writer, body)
    }

    /// A log over `writer`, whose first record is `start`.
    pub fn from_writer(writer: LogWriter, start: Body) -> SessionLog {
        let mut log = SessionLog::Writing {
            writer: Box::new(writer),
            ended: false,
        };
        let _ = log.record(start);
        log
    }

    /// Appends `body`. `Err(reason)` when the session is (or just became) unlogged.
    pub fn record(&mut self, body: Body) -> Result<Head, String> {
        let end = matches!(body, Body::SessionEnd { .. });
        match self {
            SessionLog::Unlogged { reason } => Err(reason.clone()),
            SessionLog::Writing { writer, ended } => match writer.append(body) {
                Ok(head) => {
                    *ended |= end;
                    Ok(head)
                }
                Err(e) => {
                    let reason = e.to_string();
                    *self = SessionLog::unlogged(reason.clone());
                    Err(reason)
                }
            },
        }
    }

    /// Why nothing is logged, if so.
    pub fn unlogged_reason(&self) -> Option<&str> {
        match self {
            SessionLog::Unlogged { reason } => Some(reason),
            SessionLog::Writing { .. } => None,
        }
    }

    /// The log file, while writing.
    pub fn path(&self) -> Option<&Path> {
        match self {
            SessionLog::Writing { writer, .. } => Some(writer.path()),
            SessionLog::Unlogged { .. } => None,
        }
    }

    /// The chain head, while writing.
    pub fn head(&self) -> Option<Head> {
        match self {
            SessionLog::Writing { writer, .. } => Some(writer.head()),
            SessionLog::Unlogged { .. } => None,
        }
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        if let SessionLog::Writing { ended: false, .. } = self {
            let _ = self.record(Body::SessionEnd {
                reason: "the session ended".into(),
            });
        }
    }
}

/// `{date}-{ticket}-{session_id}.jsonl` for a `session_start` body; characters a file
/// name should not hold become `_`.
pub fn file_name(start: &Body) -> String {
    let date = super::record::timestamp(std::time::SystemTime::now())[..10].to_string();
    let (ticket, id) = match start {
        Body::SessionStart {
            ticket, session_id, ..
        } => (ticket.as_deref().unwrap_or("none"), session_id.as_str()),
        _ => ("none", "session"),
    };
    let safe: String = ticket
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{date}-{safe}-{id}.jsonl")
}

/// A fresh random session id: 12 hex digits.
pub fn new_session_id() -> String {
    let mut b = [0u8; 6];
    if getrandom::getrandom(&mut b).is_err() {
        // The id only has to be unlikely to collide: time and pid will do.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
            ^ u64::from(std::process::id());
        b.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    super::hex::encode(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FailAfter(usize);

    impl std::io::Write for FailAfter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl super::super::writer::Sink for FailAfter {
        fn sync(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_makes_the_session_unlogged_for_good() {
        let writer = LogWriter::over(
            Box::new(FailAfter(2)),
            "x.jsonl".into(),
            OperatorKey::from_seed([1; 32]),
        );
        let mut log = SessionLog::from_writer(
            writer,
            Body::SessionEnd {
                reason: "start".into(),
            },
        );
        assert!(log.record(Body::Rollback { reason: "a".into() }).is_ok());
        let err = log
            .record(Body::Rollback { reason: "b".into() })
            .unwrap_err();
        assert!(err.contains("disk full"), "{err}");
        assert!(log.unlogged_reason().is_some());
        assert!(log.record(Body::Rollback { reason: "c".into() }).is_err());
    }

    #[test]
    fn file_names_hold_no_path_characters() {
        let body = Body::SessionStart {
            session_id: "abc".into(),
            author: "a".into(),
            ticket: Some("OPS/1#2".into()),
            env: "e".into(),
            server: "s".into(),
            database: "d".into(),
            login: "l".into(),
            roles: Default::default(),
            version: "v".into(),
            host: "h".into(),
            operator_key: "k".into(),
            accepted_risks: vec![],
        };
        let name = file_name(&body);
        assert!(name.ends_with("-OPS_1_2-abc.jsonl"), "{name}");
        assert!(!name.contains('/'));
    }
}
