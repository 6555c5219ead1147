//! Throwaway PostgreSQL clusters, for the integration tests and `pgward demo`.
//!
//! [`Cluster::start`] runs `initdb` into a fresh temp dir, starts the server with
//! `pg_ctl` on a free port of 127.0.0.1 (unix socket inside the temp dir), and stops
//! and removes everything again on drop. The superuser `pgward_admin` is trusted on
//! loopback; every other role must authenticate with a password (SCRAM), so tests can
//! exercise pgpass and password prompts. PostgreSQL refuses to run as root, so when
//! we are root (as in CI) every server command runs as the unprivileged system user
//! `pgward-scratch`, created on first use. A detached watchdog process removes the
//! cluster when our process ends without dropping it (e.g. a cluster kept in a
//! `static`), so test runs do not leak servers.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::Duration;

/// The loopback address the server listens on (and nothing else).
const HOST: &str = "127.0.0.1";
/// The superuser role created by initdb.
const SUPERUSER: &str = "pgward_admin";
/// The system user that runs the server when we are root.
const SYSTEM_USER: &str = "pgward-scratch";
/// How many times a start is tried on a fresh port before giving up.
const START_ATTEMPTS: u32 = 3;
/// How many lines of the server log an error shows.
const LOG_TAIL_LINES: usize = 20;

/// Who may connect how: see the module docs.
const PG_HBA: &str = "\
# Written by pgward's scratch cluster.
# TYPE  DATABASE  USER          ADDRESS        METHOD
local   all       all                          trust
host    all       pgward_admin  127.0.0.1/32   trust
host    replication pgward_admin 127.0.0.1/32  trust
host    all       all           127.0.0.1/32   scram-sha-256
";

/// Why a throwaway cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// initdb / pg_ctl were not found.
    #[error("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH, via pg_config --bindir, or in /usr/lib/postgresql/*/bin; install the postgresql package")]
    BinariesNotFound,
    /// A step failed.
    #[error("{step} failed: {detail}")]
    Step {
        /// The step, e.g. "initdb".
        step: &'static str,
        /// What it printed.
        detail: String,
    },
    /// A command could not be run at all.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program, e.g. "/usr/lib/postgresql/15/bin/initdb".
        program: String,
        /// Why the spawn failed.
        #[source]
        source: io::Error,
    },
    /// A file-system operation on the cluster's temp dir failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "write".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The unprivileged system user needed when running as root is unavailable.
    #[error("running as root, but the system user `{user}` needed to run PostgreSQL could not be set up: {detail}; create it with `useradd --system --no-create-home --shell /usr/sbin/nologin {user}`")]
    SystemUser {
        /// The user name.
        user: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// No port could be found or the server did not start on any tried port.
    #[error("the server did not start after {attempts} attempts: {detail}")]
    Start {
        /// How many ports were tried.
        attempts: u32,
        /// pg_ctl's output and the tail of the server log.
        detail: String,
    },
}

/// The two server binaries we drive.
#[derive(Debug, Clone)]
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

/// The unprivileged user (uid, gid) commands run as, when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A running throwaway cluster, stopped and removed on drop.
pub struct Cluster {
    // Declared first so it is dropped (and reaped) before the temp dir goes.
    watchdog: Option<Child>,
    data_dir: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
    run_as: Option<RunAs>,
    started: bool,
    dir: tempfile::TempDir,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("host", &HOST)
            .field("port", &self.port)
            .field("superuser", &SUPERUSER)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Starts a fresh cluster on a free loopback port in a temp dir.
    ///
    /// Blocks for a second or two (initdb and start-up); call it from
    /// `spawn_blocking` in async code.
    pub fn start() -> Result<Cluster, ScratchError> {
        let bins = find_binaries().ok_or(ScratchError::BinariesNotFound)?;
        let mut cluster = Cluster::prepare(&bins)?;
        cluster.initdb(&bins.initdb)?;
        cluster.configure()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Starts a hot standby of this cluster: `pg_basebackup -R -X stream` into a fresh
    /// temp dir, then the server on a free port, streaming from this one. Blocks like
    /// [`Cluster::start`].
    pub fn start_standby(&self) -> Result<Cluster, ScratchError> {
        let bins = find_binaries().ok_or(ScratchError::BinariesNotFound)?;
        let mut standby = Cluster::prepare(&bins)?;
        // Next to the real initdb: PATH may hold only symlinks to a few binaries.
        let initdb = fs::canonicalize(&bins.initdb).unwrap_or_else(|_| bins.initdb.clone());
        let basebackup = initdb
            .parent()
            .map(|d| d.join("pg_basebackup"))
            .unwrap_or_default();
        let mut cmd = standby.command(&basebackup);
        cmd.arg("-D")
            .arg(&standby.data_dir)
            .args([
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "--checkpoint=fast",
                "-h",
                HOST,
            ])
            .args(["-p", &self.port.to_string(), "-U", SUPERUSER]);
        let out = run(&mut cmd)?;
        if !out.status.success() {
            return Err(ScratchError::Step {
                step: "pg_basebackup",
                detail: output_text(&out),
            });
        }
        standby.configure()?;
        standby.start_server()?;
        Ok(standby)
    }

    /// A temp dir owned by the server's user and its watchdog; nothing initialised yet.
    fn prepare(bins: &Binaries) -> Result<Cluster, ScratchError> {
        let run_as = if effective_uid_is_root() {
            Some(ensure_system_user()?)
        } else {
            None
        };
        // The unprivileged user must be able to reach the dir, so when switching users
        // use /tmp (world-traversable) rather than a TMPDIR that may sit under /root.
        let parent = match run_as {
            Some(_) => PathBuf::from("/tmp"),
            None => std::env::temp_dir(),
        };
        let dir = tempfile::Builder::new()
            .prefix("pgward-scratch-")
            .tempdir_in(&parent)
            .map_err(|source| ScratchError::Io {
                action: "create a temp dir in",
                path: parent.clone(),
                source,
            })?;
        if let Some(user) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid)).map_err(
                |source| ScratchError::Io {
                    action: "chown",
                    path: dir.path().to_path_buf(),
                    source,
                },
            )?;
        }
        let mut cluster = Cluster {
            watchdog: None,
            data_dir: dir.path().join("data"),
            port: 0,
            pg_ctl: bins.pg_ctl.clone(),
            run_as,
            started: false,
            dir,
        };
        // From here on, an early return drops `cluster`, which cleans up.
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        Ok(cluster)
    }

    /// The loopback host, "127.0.0.1".
    pub fn host(&self) -> &str {
        HOST
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser role name (trust auth on loopback).
    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    /// A key=value conninfo for the superuser and `dbname`.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={HOST} port={} user={SUPERUSER} dbname={}",
            self.port,
            conninfo_value(dbname)
        )
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory holding the server's unix socket (`host=` for a local connection).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// Turns TLS on: writes `cert_pem` and `key_pem` as `server.crt` and `server.key`
    /// into the data directory (owned by the server's user, the key with mode 0600 as
    /// PostgreSQL requires), then runs `ALTER SYSTEM SET ssl = on` and
    /// `pg_reload_conf()` as the superuser, and waits until the server both reports
    /// `SHOW ssl` as `on` and actually accepts TLS (answers `S` to an SSLRequest).
    ///
    /// `cert_pem` may hold the server certificate followed by intermediates. Blocks for
    /// up to [`TLS_RELOAD_TIMEOUT`]; the database work runs on a thread of its own, so
    /// this may be called from async code too (it still blocks the caller). If the
    /// server rejects the certificate or key, the error carries the server log's tail.
    /// Note that `ssl` then stays on in `postgresql.auto.conf`, so a restart of this
    /// cluster would fail; it is a throwaway, so nothing undoes that.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) -> Result<(), ScratchError> {
        self.write_server_file("server.crt", cert_pem, 0o644)?;
        self.write_server_file("server.key", key_pem, 0o600)?;
        let conninfo = self.conninfo("postgres");
        let port = self.port;
        let result = thread::Builder::new()
            .name("pgward-scratch-enable-tls".into())
            .spawn(move || enable_tls_and_wait(&conninfo, port))
            .map_err(|source| ScratchError::Spawn {
                program: "a thread to enable TLS".to_owned(),
                source,
            })?
            .join()
            .unwrap_or_else(|_| Err("the thread enabling TLS panicked".to_owned()));
        result.map_err(|detail| ScratchError::Step {
            step: "enabling TLS",
            detail: format!("{detail}; server log (last lines):\n{}", self.log_tail()),
        })
    }

    /// Writes `name` into the data directory with `mode`, owned by the server's user.
    fn write_server_file(&self, name: &str, contents: &str, mode: u32) -> Result<(), ScratchError> {
        let path = self.data_dir.join(name);
        let io_error = |action: &'static str| {
            let path = path.clone();
            move |source| ScratchError::Io {
                action,
                path,
                source,
            }
        };
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut file| file.write_all(contents.as_bytes()))
            .map_err(io_error("write"))?;
        // An existing file keeps its old mode through open(); make sure of it.
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(io_error("set the mode of"))?;
        if let Some(user) = self.run_as {
            std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid))
                .map_err(io_error("chown"))?;
        }
        Ok(())
    }

    /// A command that runs as the cluster's owner, in the temp dir, without the
    /// caller's `PG*` environment (which would otherwise steer initdb and pg_ctl).
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid).env("HOME", self.dir.path());
        }
        cmd
    }

    /// Starts the process that cleans up if we die without dropping the cluster.
    ///
    /// It waits for end-of-file on its stdin, a pipe whose only writer is this process
    /// (std opens pipes close-on-exec, so no other child inherits it): when we exit for
    /// whatever reason, the kernel closes the pipe and the watchdog stops the server and
    /// removes the dir. No pid polling, so no pid-reuse race. It runs in its own process
    /// group so a Ctrl-C at the terminal does not kill it before it has cleaned up.
    fn spawn_watchdog(&self) -> Result<Child, ScratchError> {
        const SCRIPT: &str = r#"trap '' HUP INT PIPE
while read -r _line; do :; done
"$1" stop -D "$2" -m immediate -s -w -t 30 >/dev/null 2>&1
rm -rf -- "$3""#;
        let mut cmd = self.command(Path::new("/bin/sh"));
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("pgward-scratch-watchdog")
            .arg(&self.pg_ctl)
            .arg(&self.data_dir)
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        cmd.spawn().map_err(|source| ScratchError::Spawn {
            program: "/bin/sh (watchdog)".to_owned(),
            source,
        })
    }

    fn initdb(&self, initdb: &Path) -> Result<(), ScratchError> {
        let mut cmd = self.command(initdb);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-U", SUPERUSER])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .args(["--encoding=UTF8", "--locale=C", "--no-sync"]);
        let out = run(&mut cmd)?;
        if !out.status.success() {
            return Err(ScratchError::Step {
                step: "initdb",
                detail: output_text(&out),
            });
        }
        Ok(())
    }

    /// Writes pg_hba.conf and appends our settings to postgresql.conf (later lines win).
    fn configure(&self) -> Result<(), ScratchError> {
        let hba = self.data_dir.join("pg_hba.conf");
        fs::write(&hba, PG_HBA).map_err(|source| ScratchError::Io {
            action: "write",
            path: hba.clone(),
            source,
        })?;
        let socket_dir = self.dir.path().to_string_lossy().replace('\'', "''");
        let settings = format!(
            "\n# Added by pgward's scratch cluster: fast, loopback only.\n\
             listen_addresses = '{HOST}'\n\
             unix_socket_directories = '{socket_dir}'\n\
             max_connections = 100\n\
             shared_buffers = 32MB\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             track_counts = on\n\
             password_encryption = 'scram-sha-256'\n"
        );
        let conf = self.data_dir.join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|source| ScratchError::Io {
                action: "append to",
                path: conf,
                source,
            })
    }

    /// Starts the server on a free port, retrying on a fresh port if another process
    /// took ours between probing and binding.
    fn start_server(&mut self) -> Result<(), ScratchError> {
        self.start_server_on(None)
    }

    /// Starts the server on `port`, or on a free port (retrying on a fresh one if
    /// another process took ours between probing and binding).
    fn start_server_on(&mut self, port: Option<u16>) -> Result<(), ScratchError> {
        let mut detail = String::new();
        for attempt in 1..=START_ATTEMPTS {
            self.port = match port {
                Some(p) => p,
                None => free_port().map_err(|source| ScratchError::Io {
                    action: "find a free port on",
                    path: PathBuf::from(HOST),
                    source,
                })?,
            };
            let mut cmd = self.command(&self.pg_ctl);
            cmd.args(["start", "-w", "-t", "60", "-D"])
                .arg(&self.data_dir)
                .arg("-l")
                .arg(self.log_file())
                .arg("-o")
                .arg(format!("-p {}", self.port));
            let out = run(&mut cmd)?;
            if out.status.success() {
                self.started = true;
                return Ok(());
            }
            detail = format!(
                "pg_ctl: {}; server log (last lines):\n{}",
                output_text(&out),
                self.log_tail()
            );
            if attempt < START_ATTEMPTS {
                // A half-started postmaster must not hold the data dir for the next try.
                self.stop();
                thread::sleep(Duration::from_millis(200));
            }
        }
        Err(ScratchError::Start {
            attempts: START_ATTEMPTS,
            detail,
        })
    }

    fn log_tail(&self) -> String {
        match fs::read_to_string(self.log_file()) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(LOG_TAIL_LINES);
                lines[from..].join("\n")
            }
            Err(err) => format!("(log unreadable: {err})"),
        }
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`), as a crash or a failover
    /// would: tests use it to see what a client makes of a server that goes away.
    pub fn stop_immediately(&self) {
        self.stop();
    }

    /// Starts a server stopped by [`Cluster::stop_immediately`] again (crash recovery
    /// runs), on a fresh free port.
    pub fn restart(&mut self) -> Result<(), ScratchError> {
        self.start_server()
    }

    /// Restarts the server on the same port as a DBA's `pg_ctl restart` does: a fast
    /// shutdown (every session ends with 57P01) and a start, so the same address answers
    /// again. Fast, not immediate: scratch clusters commit asynchronously, and an
    /// immediate stop could lose a test's fixture to crash recovery.
    pub fn restart_in_place(&mut self) -> Result<(), ScratchError> {
        self.stop_with("fast");
        let port = self.port;
        self.start_server_on(Some(port))
    }

    /// Stops the server, immediately (nothing here is worth a checkpoint).
    fn stop(&self) {
        self.stop_with("immediate");
    }

    /// Stops the server with `pg_ctl stop -m MODE`.
    fn stop_with(&self, mode: &str) {
        let mut cmd = self.command(&self.pg_ctl);
        cmd.args(["stop", "-m", mode, "-s", "-w", "-t", "30", "-D"])
            .arg(&self.data_dir);
        // Nothing to do about a failure here: the watchdog and the dir removal follow.
        let _ = run(&mut cmd);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Kill the watchdog first so it cannot race us to the same dir later.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if self.started {
            self.stop();
        }
        // `self.dir` (a TempDir) is removed when the fields drop, right after this.
    }
}

/// How long [`Cluster::enable_tls`] waits for the server to take up TLS.
pub const TLS_RELOAD_TIMEOUT: Duration = Duration::from_secs(15);

/// `ALTER SYSTEM SET ssl = on`, reload, and wait until the server accepts TLS. Runs on a
/// small runtime of its own; the error is a plain description.
fn enable_tls_and_wait(conninfo: &str, port: u16) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start a runtime: {e}"))?;
    runtime.block_on(async {
        let superuser = |e: tokio_postgres::Error| format!("as the superuser: {}", pg_error(&e));
        let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
            .await
            .map_err(superuser)?;
        let task = tokio::spawn(connection);
        // Two statements: ALTER SYSTEM cannot run in the implicit transaction of one.
        for sql in [
            "ALTER SYSTEM SET ssl = on",
            "SELECT pg_catalog.pg_reload_conf()",
        ] {
            client.batch_execute(sql).await.map_err(superuser)?;
        }
        drop(client);
        let _ = task.await;

        // The postmaster takes up the new setting asynchronously: poll fresh sessions.
        let deadline = tokio::time::Instant::now() + TLS_RELOAD_TIMEOUT;
        loop {
            let last = match tls_state(conninfo, port).await {
                Ok((true, true)) => return Ok(()),
                Ok((setting, offered)) => format!(
                    "SHOW ssl says {}, the server {} TLS",
                    if setting { "on" } else { "off" },
                    if offered { "offers" } else { "does not offer" }
                ),
                Err(e) => e,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "the server did not take up TLS within {}s ({last})",
                    TLS_RELOAD_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Whether a fresh session reports `ssl = on`, and whether the server answers an
/// SSLRequest with `S` (`SHOW ssl` alone can say on while the postmaster failed to load
/// the certificate and keeps refusing TLS).
async fn tls_state(conninfo: &str, port: u16) -> Result<(bool, bool), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("as the superuser: {}", pg_error(&e)))?;
    let task = tokio::spawn(connection);
    let setting = client
        .simple_query("SHOW ssl")
        .await
        .map_err(|e| format!("SHOW ssl: {}", pg_error(&e)))?
        .into_iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(|v| v == "on"),
            _ => None,
        })
        .unwrap_or(false);
    drop(client);
    let _ = task.await;

    // SSLRequest: length 8, then the magic code 80877103; the answer is one byte.
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let mut stream = tokio::net::TcpStream::connect((HOST, port))
        .await
        .map_err(|e| format!("could not connect to {HOST}:{port}: {e}"))?;
    stream
        .write_all(&SSL_REQUEST)
        .await
        .map_err(|e| format!("could not send an SSLRequest: {e}"))?;
    let mut answer = [0u8; 1];
    stream
        .read_exact(&mut answer)
        .await
        .map_err(|e| format!("no answer to an SSLRequest: {e}"))?;
    Ok((setting, answer[0] == b'S'))
}

/// A tokio-postgres error with the server's message (its Display says only "db error").
fn pg_error(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => err.to_string(),
    }
}

/// Runs a command to completion, capturing its output.
fn run(cmd: &mut Command) -> Result<Output, ScratchError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.output().map_err(|source| ScratchError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })
}

/// stdout and stderr of a finished command, trimmed, for an error message.
fn output_text(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = format!("{}\n{}", stdout.trim(), stderr.trim());
    let text = text.trim();
    if text.is_empty() {
        format!("exited with {}", out.status)
    } else {
        format!("exited with {}: {text}", out.status)
    }
}

/// A port that was free on 127.0.0.1 a moment ago (the listener is released on return).
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Quotes a conninfo value the way libpq reads it, when it needs quoting.
fn conninfo_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\');
    if plain {
        value.to_owned()
    } else {
        let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
        format!("'{escaped}'")
    }
}

/// Finds a directory holding both initdb and pg_ctl: PATH, then `pg_config --bindir`,
/// then Debian's `/usr/lib/postgresql/<version>/bin`, newest version first.
fn find_binaries() -> Option<Binaries> {
    let from_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    from_path
        .into_iter()
        .chain(from_pg_config)
        .chain(debian_bindirs(Path::new("/usr/lib/postgresql")))
        .find_map(|dir| binaries_in(&dir))
}

fn binaries_in(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    (is_executable(&initdb) && is_executable(&pg_ctl)).then_some(Binaries { initdb, pg_ctl })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

/// `<root>/<version>/bin`, highest version first (numerically: 9.6 < 10 < 15 < 16).
fn debian_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key: Option<Vec<u64>> = name.split('.').map(|part| part.parse().ok()).collect();
            Some((key?, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// Whether we run with uid 0. `/proc/self` is owned by our effective uid; without
/// procfs, ask `id -u`. If neither answers, assume not root: initdb then refuses
/// loudly by itself, which is a clearer message than a guess.
fn effective_uid_is_root() -> bool {
    if let Ok(meta) = fs::metadata("/proc/self") {
        return meta.uid() == 0;
    }
    Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Looks up (creating it if missing) the unprivileged user the server runs as.
fn ensure_system_user() -> Result<RunAs, ScratchError> {
    if let Some(user) = lookup_user(SYSTEM_USER) {
        return Ok(user);
    }
    let mut last_error = String::from("not found");
    // Concurrent test binaries may race to create it: a failed useradd is fine as
    // long as the user exists afterwards (the loser may also find /etc/passwd locked).
    for _ in 0..10 {
        match useradd(SYSTEM_USER) {
            Ok(()) => {}
            Err(err) => last_error = err,
        }
        if let Some(user) = lookup_user(SYSTEM_USER) {
            return Ok(user);
        }
        thread::sleep(Duration::from_millis(200));
    }
    Err(ScratchError::SystemUser {
        user: SYSTEM_USER,
        detail: last_error,
    })
}

fn useradd(name: &str) -> Result<(), String> {
    let mut last = String::new();
    for program in ["useradd", "/usr/sbin/useradd", "/sbin/useradd"] {
        let result = Command::new(program)
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(name)
            .stdin(Stdio::null())
            .output();
        match result {
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => return Err(format!("useradd {}", output_text(&out))),
            Err(err) => last = format!("could not run {program}: {err}"),
        }
    }
    Err(last)
}

/// uid and primary gid of `name`, from /etc/passwd, else from `id`.
fn lookup_user(name: &str) -> Option<RunAs> {
    if let Ok(passwd) = fs::read_to_string("/etc/passwd") {
        if let Some(user) = passwd
            .lines()
            .find_map(|line| parse_passwd_line(line, name))
        {
            return Some(user);
        }
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id")
            .args([flag, name])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// `name:x:uid:gid:…` → uid and gid, if the line is for `name`.
fn parse_passwd_line(line: &str, name: &str) -> Option<RunAs> {
    let mut fields = line.split(':');
    if fields.next()? != name {
        return None;
    }
    let _password = fields.next()?;
    let uid = fields.next()?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some(RunAs { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integration tests keep one cluster in a `static OnceLock`.
    #[test]
    fn cluster_can_live_in_a_static() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Cluster>();
    }

    #[test]
    fn parses_passwd_lines() {
        let line = "pgward-scratch:x:998:997::/home/pgward-scratch:/usr/sbin/nologin";
        let user = parse_passwd_line(line, "pgward-scratch");
        assert!(matches!(user, Some(RunAs { uid: 998, gid: 997 })));
        assert!(parse_passwd_line(line, "pgward").is_none());
        assert!(parse_passwd_line("garbage", "garbage").is_none());
    }

    #[test]
    fn quotes_conninfo_values() {
        assert_eq!(conninfo_value("shop"), "shop");
        assert_eq!(conninfo_value("my db"), "'my db'");
        assert_eq!(conninfo_value("it's"), r"'it\'s'");
        assert_eq!(conninfo_value(""), "''");
    }

    #[test]
    fn orders_debian_versions_numerically() {
        let root = tempfile::tempdir().expect("temp dir");
        for version in ["9.6", "15", "10", "notaversion"] {
            fs::create_dir(root.path().join(version)).expect("mkdir");
        }
        let dirs = debian_bindirs(root.path());
        let names: Vec<String> = dirs
            .iter()
            .filter_map(|dir| dir.parent()?.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["15", "10", "9.6"]);
    }

    #[tokio::test]
    async fn starts_serves_and_cleans_up() {
        let cluster = Cluster::start().expect("start a scratch cluster");
        let data_dir = cluster.data_dir().to_path_buf();
        let socket_dir = cluster.socket_dir().to_path_buf();
        assert!(data_dir.join("PG_VERSION").is_file());
        assert_eq!(cluster.host(), "127.0.0.1");
        assert_eq!(cluster.superuser(), "pgward_admin");
        assert_eq!(
            cluster.conninfo("postgres"),
            format!(
                "host=127.0.0.1 port={} user=pgward_admin dbname=postgres",
                cluster.port()
            )
        );
        let debug = format!("{cluster:?}");
        assert!(debug.contains(&cluster.port().to_string()), "{debug}");

        let (client, connection) =
            tokio_postgres::connect(&cluster.conninfo("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect as the superuser over TCP");
        let conn_task = tokio::spawn(connection);
        let row = client.query_one("select 1", &[]).await.expect("select 1");
        assert_eq!(row.get::<_, i32>(0), 1);
        let fsync: String = client
            .query_one("show fsync", &[])
            .await
            .expect("show fsync")
            .get(0);
        assert_eq!(fsync, "off");

        // Other roles need a password over TCP.
        client
            .batch_execute("create role someone login password 'secret'")
            .await
            .expect("create role");
        let port = cluster.port();
        let no_password = format!("host=127.0.0.1 port={port} user=someone dbname=postgres");
        assert!(tokio_postgres::connect(&no_password, tokio_postgres::NoTls)
            .await
            .is_err());
        let with_password = format!("{no_password} password=secret");
        let (other, other_conn) = tokio_postgres::connect(&with_password, tokio_postgres::NoTls)
            .await
            .expect("password login");
        let other_task = tokio::spawn(other_conn);
        drop(other);
        let _ = other_task.await;

        drop(client);
        let _ = conn_task.await;
        drop(cluster);
        assert!(!data_dir.exists(), "data dir left behind: {data_dir:?}");
        assert!(!socket_dir.exists(), "temp dir left behind: {socket_dir:?}");
        // The server is gone too.
        let gone = format!("host=127.0.0.1 port={port} user=pgward_admin dbname=postgres");
        assert!(tokio_postgres::connect(&gone, tokio_postgres::NoTls)
            .await
            .is_err());
    }
}
