//! Where before-images are spilled, so that they never outlive the session.
//!
//! Before-images are production rows. Each spill file is created nameless: on Linux with
//! `O_TMPFILE` (mode 0600), so no name ever exists; elsewhere (or where the file system
//! lacks `O_TMPFILE`) created 0600 and unlinked at once, so only the open handle remains.
//! Either way the kernel frees the file when its handle closes: when the transaction ends
//! (COMMIT or ROLLBACK drop the change set), when pgward exits, and when it is killed,
//! SIGKILL included. The files live in a private directory of this process,
//! `$TMPDIR/pgward-spill-<pid>-<random>` (mode 0700), so nobody else can open one in the
//! moment between creating and unlinking it. That directory is removed at exit
//! ([`release`]); after a SIGKILL it stays behind, empty, and the next pgward to start
//! removes it ([`remove_stale`]) once no process has that pid.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The prefix of every spill directory's name; the pid follows.
const PREFIX: &str = "pgward-spill-";

/// This process's spill directory, once the first spill needed it.
static DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Why a spill file could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create a private spill file in {}: {source}", dir.display())]
pub struct SpillError {
    /// The directory it was to be created in.
    pub dir: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

/// A nameless spill file in this process's private directory under the temp dir.
pub fn file() -> Result<File, SpillError> {
    let mut dir = DIR.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = std::env::temp_dir();
    let err = |dir: &Path, source| SpillError {
        dir: dir.to_path_buf(),
        source,
    };
    if let Some(d) = dir.as_ref() {
        match nameless_in(d) {
            Ok(f) => return Ok(f),
            // Removed under us (a pgward in another pid namespace took it for stale):
            // make a new one.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(d, e)),
        }
    }
    let made = private_dir(&tmp).map_err(|e| err(&tmp, e))?;
    let file = nameless_in(&made).map_err(|e| err(&made, e));
    *dir = Some(made);
    file
}

/// A nameless file in `dir`, created 0600.
pub fn nameless_in(dir: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use nix::errno::Errno;
        let flags = nix::fcntl::OFlag::O_TMPFILE.bits();
        match OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(flags)
            .open(dir)
        {
            Ok(f) => return Ok(f),
            // These three mean "no O_TMPFILE here" (or no such directory, which the
            // fallback reports as such): create and unlink instead.
            Err(e)
                if [Errno::EOPNOTSUPP, Errno::EISDIR, Errno::ENOENT]
                    .iter()
                    .any(|n| e.raw_os_error() == Some(*n as i32)) => {}
            Err(e) => return Err(e),
        }
    }
    // Created 0600 with a random name, unlinked before it is returned.
    tempfile::tempfile_in(dir)
}

/// Creates `$tmp/pgward-spill-<pid>-<random>` with mode 0700.
fn private_dir(tmp: &Path) -> io::Result<PathBuf> {
    let made = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(tmp)?;
    let path = made.keep();
    // The umask can only take bits away; check nobody else may enter anyway.
    let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        let _ = std::fs::remove_dir_all(&path);
        return Err(io::Error::other(format!(
            "the private directory {} got mode {mode:o}, not 700",
            path.display()
        )));
    }
    Ok(path)
}

/// Removes this process's spill directory, if it made one. Its files are nameless, so
/// this only removes the (empty) directory; open spills stay readable until dropped.
pub fn release() {
    let mut dir = DIR.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = dir.take() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// This process's spill directory, if it made one.
pub fn current_dir() -> Option<PathBuf> {
    DIR.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Removes spill directories in `tmp` that belong to this user and to a process that is
/// gone (a pgward that was killed). Returns what was removed.
pub fn remove_stale(tmp: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    let me = nix::unistd::geteuid().as_raw();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(pid_of) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        // Not a symlink, and ours: never follow a link or touch another user's files.
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// The pid in a spill directory's name, `pgward-spill-<pid>-<random>`.
fn pid_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// `kill(pid, 0)`: alive unless the kernel says there is no such process.
fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true;
    };
    if raw <= 0 {
        return true;
    }
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None),
        Err(nix::errno::Errno::ESRCH)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    #[test]
    fn names_carry_the_pid() {
        assert_eq!(pid_of("pgward-spill-123-abc"), Some(123));
        for name in [
            "pgward-spill-123",
            "pgward-spill--abc",
            "pgward-spill-12x-abc",
            "pgward-spill-123-",
            "other-123-abc",
        ] {
            assert_eq!(pid_of(name), None, "{name}");
        }
    }

    #[test]
    fn nameless_files_leave_no_name_and_keep_their_data() {
        let dir = tempfile::tempdir().expect("dir");
        let mut f = nameless_in(dir.path()).expect("nameless");
        f.write_all(b"row").expect("write");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
        f.rewind().expect("rewind");
        let mut back = String::new();
        f.read_to_string(&mut back).expect("read");
        assert_eq!(back, "row");
    }

    #[test]
    fn stale_directories_of_dead_processes_go_and_live_ones_stay() {
        let tmp = tempfile::tempdir().expect("dir");
        // A child that has exited and been reaped: its pid names no process now
        // (pid reuse within this test is all but impossible).
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let dead = child.id();
        child.wait().expect("wait");
        let stale = tmp.path().join(format!("pgward-spill-{dead}-x1"));
        let live = tmp
            .path()
            .join(format!("pgward-spill-{}-x2", std::process::id()));
        let other = tmp.path().join("pgward-before-x3.jsonl.gz");
        std::fs::create_dir(&stale).expect("stale");
        std::fs::create_dir(&live).expect("live");
        std::fs::write(&other, b"x").expect("other");
        assert_eq!(remove_stale(tmp.path()), vec![stale.clone()]);
        assert!(!stale.exists() && live.exists() && other.exists());
    }
}
