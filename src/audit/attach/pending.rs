//! Attachments that failed, kept in `attach-pending.json` next to the logs until one
//! succeeds: each session's banner lists them with the exact command that retries, so a
//! log that did not reach its ticket is not forgotten. The file is rewritten whole
//! (written to a temporary file, fsynced, renamed over the old one) under an exclusive
//! lock on `attach-pending.lock`, so two sessions ending at once do not lose an entry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file's name, in the log directory.
pub const FILE: &str = "attach-pending.json";
const LOCK: &str = "attach-pending.lock";

/// One log that has not reached its ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The log file.
    pub log: PathBuf,
    /// The ticket.
    pub ticket: String,
    /// The service (`jira`, `github`, `gitlab`, `webhook`).
    pub service: String,
    /// Why the last try failed.
    pub error: String,
    /// When the first try failed (RFC 3339, UTC).
    pub since: String,
    /// How many tries failed.
    pub attempts: u32,
    /// The command that retries.
    pub retry: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    version: u32,
    pending: Vec<Pending>,
}

/// The pending attachments in `dir` (none when the file does not exist).
pub fn load(dir: &Path) -> Result<Vec<Pending>, String> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<State>(&bytes)
            .map(|s| s.pending)
            .map_err(|e| {
                format!(
                    "{} is unreadable ({e}): remove it once every log listed in it is attached",
                    path.display()
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Records that attaching `entry.log` failed (again).
pub fn failed(dir: &Path, entry: Pending) -> Result<(), String> {
    update(dir, |list| {
        match list.iter_mut().find(|p| p.log == entry.log) {
            Some(p) => {
                p.attempts += 1;
                p.error = entry.error;
                p.ticket = entry.ticket;
                p.service = entry.service;
                p.retry = entry.retry;
            }
            None => list.push(entry),
        }
    })
}

/// Records that `log` reached its ticket.
pub fn succeeded(dir: &Path, log: &Path) -> Result<(), String> {
    if !dir.join(FILE).exists() {
        return Ok(());
    }
    update(dir, |list| list.retain(|p| p.log != log))
}

fn update(dir: &Path, change: impl FnOnce(&mut Vec<Pending>)) -> Result<(), String> {
    let path = dir.join(FILE);
    let io = |what: &str, e: std::io::Error| format!("cannot {what} {}: {e}", path.display());
    super::super::key::create_private_dir(dir).map_err(|e| io("create the directory of", e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let lock = options.open(dir.join(LOCK)).map_err(|e| io("lock", e))?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| io("lock", e.into()))?;
    let mut list = load(dir)?;
    change(&mut list);
    if list.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", e)),
            _ => Ok(()),
        };
    }
    let state = State {
        version: 1,
        pending: list,
    };
    let mut text = serde_json::to_vec_pretty(&state).map_err(|e| e.to_string())?;
    text.push(b'\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io("write", e))?;
    use std::io::Write;
    tmp.write_all(&text)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io("write", e))?;
    tmp.persist(&path).map_err(|e| io("write", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(log: &str) -> Pending {
        Pending {
            log: log.into(),
            ticket: "OPS-1".into(),
            service: "jira".into(),
            error: "HTTP 503".into(),
            since: "t".into(),
            attempts: 1,
            retry: format!("pgward log attach {log}"),
        }
    }

    #[test]
    fn failures_accumulate_and_success_clears() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), vec![]);
        failed(dir.path(), entry("/a")).unwrap();
        failed(dir.path(), entry("/b")).unwrap();
        failed(dir.path(), entry("/a")).unwrap();
        let list = load(dir.path()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].attempts, 2);
        succeeded(dir.path(), Path::new("/a")).unwrap();
        assert_eq!(load(dir.path()).unwrap(), vec![entry("/b")]);
        succeeded(dir.path(), Path::new("/b")).unwrap();
        assert!(!dir.path().join(FILE).exists());
        std::fs::write(dir.path().join(FILE), "nonsense").unwrap();
        assert!(load(dir.path()).is_err());
    }
}
