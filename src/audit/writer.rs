//! Appending records: each one is serialised, signed with the operator key, written as
//! one line and fsynced before [`LogWriter::append`] returns, so a caller that acts only
//! after `append` succeeded never acts unrecorded. After any write error the writer is
//! poisoned: a half-written line may be on disk, so nothing more is appended after it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::chain::Head;
use super::key::OperatorKey;
use super::record::{self, Body, Record, VERSION};

/// Where lines go: a file that can be made durable.
pub trait Sink: Write + Send {
    /// Makes everything written so far durable (fsync for files).
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Sink for std::fs::File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// Why a record could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing or syncing failed.
    #[error("cannot write session log {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An earlier write failed.
    #[error("session log {path} is unusable after an earlier write error")]
    Poisoned {
        /// The log file.
        path: PathBuf,
    },
    /// The file could not be created.
    #[error("cannot create session log in {dir}: {source}")]
    Create {
        /// The log directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Appends signed, chained records to one session log.
pub struct LogWriter {
    sink: Box<dyn Sink>,
    path: PathBuf,
    key: OperatorKey,
    head: Head,
    clock: fn() -> SystemTime,
    poisoned: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish()
    }
}

impl LogWriter {
    /// Creates the new file `dir/name` (mode 0600; `dir` is created 0700 if missing).
    pub fn create(dir: &Path, name: &str, key: OperatorKey) -> Result<LogWriter, WriteError> {
        let err = |source| WriteError::Create {
            dir: dir.to_path_buf(),
            source,
        };
        super::key::create_private_dir(dir).map_err(err)?;
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(err)?;
        // The new name must survive a crash too.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(LogWriter::over(Box::new(file), path, key))
    }

    /// A writer over any sink (tests, benchmarks); `path` names it in messages.
    pub fn over(sink: Box<dyn Sink>, path: PathBuf, key: OperatorKey) -> LogWriter {
        LogWriter {
            sink,
            path,
            key,
            head: Head::default(),
            clock: SystemTime::now,
            poisoned: false,
            buf: Vec::new(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> LogWriter {
        self.clock = clock;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last record written.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The operator key's public half, hex.
    pub fn operator_key(&self) -> String {
        self.key.public_hex()
    }

    /// Signs, writes and fsyncs one record; returns the new head.
    ///
    /// The record is serialised once, into a buffer the writer keeps, right after the
    /// signing context, so the signed message is that buffer as it is; the signature is
    /// then written over its closing `}` and the line goes out from the same buffer in
    /// one `write` followed by one `fdatasync` (the file was opened for appending once,
    /// and its directory synced once, at creation).
    pub fn append(&mut self, body: Body) -> Result<Head, WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned {
                path: self.path.clone(),
            });
        }
        let rec = Record {
            v: VERSION,
            seq: self.head.seq + 1,
            ts: record::timestamp((self.clock)()),
            body,
            prev: self.head.hex(),
        };
        let ctx = record::SIGNING_CONTEXT.len();
        self.buf.clear();
        self.buf.extend_from_slice(record::SIGNING_CONTEXT);
        if let Err(e) = serde_json::to_writer(&mut self.buf, &rec) {
            // Plain strings, numbers and lists always serialise; refuse rather than guess.
            return Err(WriteError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            });
        }
        let sig = self.key.sign(&self.buf);
        record::append_sig(&mut self.buf, &sig);
        let end = self.buf.len();
        self.buf.push(b'\n');
        let written = self
            .sink
            .write_all(&self.buf[ctx..])
            .and_then(|()| self.sink.flush())
            .and_then(|()| self.sink.sync());
        if let Err(source) = written {
            self.poisoned = true;
            return Err(WriteError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.head = self.head.next(&self.buf[ctx..end]);
        Ok(self.head)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Memory(Arc<Mutex<Vec<u8>>>);

    impl Write for Memory {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
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

    #[test]
    fn lines_are_the_signed_records_and_chain() {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let key = OperatorKey::from_seed([5; 32]);
        let public = key.public_hex();
        let mut w = LogWriter::over(Box::new(Memory(bytes.clone())), "m".into(), key);
        w.append(Body::SessionStart {
            session_id: "s".into(),
            author: "a".into(),
            ticket: None,
            env: "e".into(),
            server: "s".into(),
            database: "d".into(),
            login: "l".into(),
            roles: Default::default(),
            version: "v".into(),
            host: "h".into(),
            operator_key: public,
            accepted_risks: vec![],
        })
        .unwrap();
        w.append(Body::Rollback {
            reason: "quote \" and \\ and é".into(),
        })
        .unwrap();
        let head = w.append(Body::SessionEnd { reason: "e".into() }).unwrap();
        let bytes = bytes.lock().unwrap().clone();
        let v = crate::audit::verify(&bytes, None);
        assert!(v.intact(), "{:?}", v.broken);
        assert_eq!(v.head, head);
        assert_eq!(v.records.len(), 3);
    }
}
