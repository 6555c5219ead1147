//! Test support: the shared throwaway cluster, a database per test, an admin connection
//! for setting up and checking data, and `TestShell`, a builder that runs the real binary
//! with an isolated HOME, no controlling terminal and no inherited `PG*` variables.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use pgward::scratch::Cluster;

/// The login role the shell connects as; it can only SET ROLE to the roles below, so it
/// passes pgward's role check (nothing beyond the write and read roles).
pub const LOGIN: &str = "pgward_login";
/// The application_name of the interactive shell's second connection, which reads the
/// catalog for completion; tests that count or end "the" shell's backend leave it out.
pub const COMPLETION_APP: &str = pgward::repl::catalog::APPLICATION_NAME;
/// Its password.
pub const PASSWORD: &str = "login-secret";
/// The least-privilege write role.
pub const WRITER: &str = "app_writer";
/// The read role.
pub const READER: &str = "app_reader";
/// A second login that can only SET ROLE to the read role (same password): the setup
/// pgward's role check accepts for an environment without a write role.
pub const READ_LOGIN: &str = "pgward_read_login";

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// Held by a test while the shared cluster has a tablespace of its own, and by
/// `pg_basebackup` of that cluster (a standby): a base backup copies each tablespace to
/// its original directory, which the primary still uses.
pub static TABLESPACE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`TABLESPACE`], also after a test that held it panicked.
pub fn tablespace_lock() -> std::sync::MutexGuard<'static, ()> {
    TABLESPACE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cluster shared by every test of this run, with the roles created once.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let c = Cluster::start().expect("start a throwaway PostgreSQL cluster");
        admin_exec(
            &c,
            "postgres",
            &format!(
                "CREATE ROLE {WRITER} NOLOGIN; CREATE ROLE {READER} NOLOGIN; \
                 CREATE ROLE {LOGIN} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
                 GRANT {WRITER}, {READER} TO {LOGIN}; \
                 CREATE ROLE {READ_LOGIN} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
                 GRANT {READER} TO {READ_LOGIN};"
            ),
        )
        .expect("create roles");
        c
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `sql` as the superuser in database `db`.
pub fn admin_exec(c: &Cluster, db: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    runtime().block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&c.conninfo(db), tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.batch_execute(sql).await
    })
}

/// Rows of `sql`, as text, run as the superuser in database `db`.
pub fn admin_rows(c: &Cluster, db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(&c.conninfo(db), tokio_postgres::NoTls)
            .await
            .expect("admin connect");
        tokio::spawn(conn);
        client
            .simple_query(sql)
            .await
            .expect("admin query")
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    })
}

/// A database of its own for one test, with a small `items` table the roles may use.
pub struct TestDb {
    /// Its name.
    pub name: String,
}

impl TestDb {
    /// Creates database `t_<name>` with table `items(id, qty, note)` holding ids 1..=5.
    pub fn new(name: &str) -> TestDb {
        let c = cluster();
        let db = format!("t_{name}");
        admin_exec(
            c,
            "postgres",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )
        .expect("drop database");
        admin_exec(c, "postgres", &format!("CREATE DATABASE {db}")).expect("create database");
        admin_exec(
            c,
            &db,
            &format!(
                "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text); \
                 INSERT INTO items SELECT g, g * 10, 'item ' || g FROM generate_series(1, 5) g; \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {WRITER}; \
                 GRANT SELECT ON items TO {READER};"
            ),
        )
        .expect("create items");
        TestDb { name: db }
    }

    /// Runs setup SQL as the superuser.
    pub fn exec(&self, sql: &str) {
        admin_exec(cluster(), &self.name, sql).expect("admin exec");
    }

    /// One text value from `sql`, run as the superuser.
    pub fn value(&self, sql: &str) -> Option<String> {
        admin_rows(cluster(), &self.name, sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    }

    /// The whole `items` table as `id:qty:note` lines, to compare before and after.
    pub fn items(&self) -> String {
        self.value("SELECT string_agg(id || ':' || qty || ':' || coalesce(note, 'NULL'), ',' ORDER BY id) FROM items")
            .unwrap_or_default()
    }

    /// Conninfo for the login role (password auth over TCP).
    pub fn login_conninfo(&self) -> String {
        self.conninfo_as(LOGIN)
    }

    /// Conninfo for the login that can only become the read role.
    pub fn read_login_conninfo(&self) -> String {
        self.conninfo_as(READ_LOGIN)
    }

    /// Conninfo for `user` (password auth over TCP).
    pub fn conninfo_as(&self, user: &str) -> String {
        let c = cluster();
        format!(
            "host={} port={} user={user} dbname={}",
            c.host(),
            c.port(),
            self.name
        )
    }
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the real `pgward` binary against a test database.
pub struct TestShell {
    cmd: Command,
    stdin: Option<String>,
    home: tempfile::TempDir,
}

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pgward")
}

impl TestShell {
    /// `pgward -d <login conninfo> --write-role app_writer --read-role app_reader`, with
    /// PGPASSWORD set, an empty HOME and no controlling terminal.
    pub fn new(db: &TestDb) -> TestShell {
        let mut t = TestShell::bare();
        t.cmd
            .args([
                "-d",
                &db.login_conninfo(),
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ])
            .env("PGPASSWORD", PASSWORD);
        t
    }

    /// The binary with an isolated environment and no arguments.
    pub fn bare() -> TestShell {
        let home = tempfile::tempdir().expect("home");
        // setsid: no controlling terminal, so nothing can be confirmed on /dev/tty.
        let mut cmd = Command::new("setsid");
        cmd.arg("--wait").arg(bin());
        isolate(&mut cmd, home.path());
        TestShell {
            cmd,
            stdin: None,
            home,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> TestShell
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Adds a path argument.
    pub fn arg_path(mut self, path: &Path) -> TestShell {
        self.cmd.arg(path);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> TestShell {
        self.cmd.env(key, value);
        self
    }

    /// Pipes `text` to standard input.
    pub fn stdin(mut self, text: &str) -> TestShell {
        self.stdin = Some(text.to_string());
        self
    }

    /// The isolated HOME.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs to completion.
    pub fn run(mut self) -> Output {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawn pgward");
        let mut stdin = child.stdin.take().expect("stdin");
        let text = self.stdin.take().unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
        let out = child.wait_with_output().expect("wait for pgward");
        let _ = writer.join();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Strips the inherited environment of anything that would change pgward's behaviour.
pub fn isolate(cmd: &mut Command, home: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("PG") || k.starts_with("XDG_") || k == "NO_COLOR" {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0");
    // Every session signs its log with the operator key; a HOME without one runs
    // unlogged and refuses writes (tests of that remove it).
    let key = key_path(home);
    if !key.exists() {
        pgward::audit::OperatorKey::generate()
            .expect("random key")
            .save(&key)
            .expect("write operator key");
    }
}

/// The operator key of an isolated HOME.
pub fn key_path(home: &Path) -> PathBuf {
    home.join(".local/share/pgward/operator.key")
}

/// The session logs written under an isolated HOME, oldest first by name.
pub fn session_logs(home: &Path) -> Vec<PathBuf> {
    let dir = home.join(".local/share/pgward/sessions");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    logs.sort();
    logs
}

/// The one session log under an isolated HOME.
#[track_caller]
pub fn only_log(home: &Path) -> PathBuf {
    let logs = session_logs(home);
    assert_eq!(logs.len(), 1, "expected one session log: {logs:?}");
    logs[0].clone()
}

/// The records of a log file, as JSON values.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

/// A config file under `home`, returned as its path.
pub fn write_config(home: &Path, text: &str) -> PathBuf {
    let dir = home.join(".config/pgward");
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// psql (15) with `-X -d conninfo` and `args`, `env` set, `input` on a pipe, in a home
/// of its own: its whole output. The comparisons with psql's bytes share it.
pub fn psql_piped(
    conninfo: &str,
    args: &[&str],
    env: &[(&str, &str)],
    input: &str,
) -> std::process::Output {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-d", conninfo]).args(args);
    isolate(&mut cmd, home.path());
    cmd.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("psql is installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feed psql");
    child.wait_with_output().expect("psql ran")
}

/// Runs `sql` alone through a piped session and asserts pgward refused it under `rule`:
/// exit 2, the refusal names its rule, and the script stopped there (the canary after it
/// never ran). Alone, because a refusal among other statements proves nothing when
/// another of them ends the session with the same exit code. Returns what it printed.
#[track_caller]
pub fn assert_refused_alone(db: &TestDb, sql: &str, rule: &str) -> Output {
    let out = TestShell::new(db)
        .stdin(&format!("{sql};\nselect 'canary' || 1 as c;\n"))
        .run();
    assert_eq!(out.code, 2, "{sql}: {out:?}");
    assert!(
        out.stderr.contains(&format!("refused [{rule}]: ")),
        "{sql}: expected rule {rule}: {out:?}"
    );
    assert!(
        !out.stdout.contains("canary1"),
        "{sql}: the script went on: {out:?}"
    );
    out
}

/// Roles, their attributes and memberships, as the superuser sees them.
pub fn role_setup(db: &TestDb) -> Option<String> {
    db.value(
        "SELECT string_agg(r.rolname || ':' || r.rolsuper || r.rolcreaterole || r.rolbypassrls \
             || r.rolinherit || ':' || coalesce((SELECT string_agg(g.rolname, '+' ORDER BY g.rolname) \
             FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), ''), \
             ',' ORDER BY r.rolname) FROM pg_roles r WHERE r.rolname !~ '^pg_'",
    )
}
