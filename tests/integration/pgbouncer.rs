//! pgward through a real PgBouncer (Debian's `pgbouncer`, started by the test with a
//! config in a temp dir, md5 auth from an auth_file, on a free loopback port), in session
//! and in transaction mode, with concurrent clients: reads, writes with their previews,
//! and a COMMIT confirmed at a real pseudo-terminal. pgward sends no `options` startup
//! parameter (PgBouncer refuses it by default), the probe accepts a new backend per
//! transaction, and no named prepared statement is left on a pooled backend: not even
//! the ones tokio-postgres prepares to look up an enum, a composite, a range or an array
//! of them, with clients reading such tables on a pool of one or two backends. The
//! superuser checks the data afterwards.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::custom_types::{self, change, has_diff, has_line, rows, stored, TABLES};
use crate::term::{Start, Term};
use crate::util::{cluster, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER};

/// A running pgbouncer, stopped on drop.
pub struct Bouncer {
    child: Child,
    /// Where it listens, on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pgbouncer binary, or None when it is not installed (script/deps installs it).
fn binary() -> Option<&'static str> {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// PgBouncer refuses to run as root: the scratch clusters' system user runs it then.
fn unprivileged() -> Option<(u32, u32)> {
    let out = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("pgward-scratch:"))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

/// A pgbouncer in `pool_mode = mode` in front of the test cluster, two server
/// connections per database and user, md5 auth for the login.
pub fn start(mode: &str) -> Bouncer {
    start_pool(mode, 2)
}

/// As [`start`], with `pool` server connections per database and user.
pub fn start_pool(mode: &str, pool: u32) -> Bouncer {
    let bin = binary().expect("pgbouncer is installed (run script/deps)");
    let c = cluster();
    let dir = tempfile::Builder::new()
        .prefix("pgward-bouncer-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let conf = format!(
        "[databases]\n* = host={} port={}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
         listen_port = {port}\nunix_socket_dir =\nauth_type = md5\nauth_file = {d}/users.txt\n\
         pool_mode = {mode}\nmax_client_conn = 50\ndefault_pool_size = {pool}\n\
         logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
        c.host(),
        c.port(),
        d = dir.path().display()
    );
    std::fs::write(dir.path().join("pgbouncer.ini"), conf).expect("write ini");
    let mut users = std::fs::File::create(dir.path().join("users.txt")).expect("users");
    writeln!(users, "\"{LOGIN}\" \"{PASSWORD}\"").expect("write users");
    let mut cmd = Command::new(bin);
    cmd.arg(dir.path().join("pgbouncer.ini"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some((uid, gid)) = unprivileged() {
        for f in ["", "pgbouncer.ini", "users.txt"] {
            let _ = std::os::unix::fs::chown(dir.path().join(f), Some(uid), Some(gid));
        }
        cmd.uid(uid).gid(gid);
    }
    let child = cmd.spawn().expect("spawn pgbouncer");
    let bouncer = Bouncer {
        child,
        port,
        _dir: dir,
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "pgbouncer did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    bouncer
}

/// Several clients at once through `mode`, more than the pool has backends: each sets a
/// custom setting while idle (pgward looks the name up in `pg_settings` first), reads,
/// writes (previewed, not committed: no terminal) and reads its own change; then one
/// commits at a terminal. pgward's own statements are unnamed, so no client meets
/// another's leftover prepared statement (42P05) or a statement parsed on another backend
/// (26000).
fn concurrent_clients(mode: &str, name: &str) {
    let db = TestDb::new(name);
    // One row per client, so that no client waits on another's row lock.
    db.exec("INSERT INTO items SELECT g, g * 10, 'item ' || g FROM generate_series(6, 8) g");
    let before = db.items();
    let bouncer = start(mode);
    let port = bouncer.port.to_string();
    let clients: Vec<_> = (1..=8)
        .map(|i| {
            let port = port.clone();
            let conninfo = db.login_conninfo();
            let id = i;
            std::thread::spawn(move || {
                TestShell::bare()
                    .args(["-d", &conninfo, "-p", &port])
                    .args(["--write-role", WRITER, "--read-role", READER])
                    .env("PGPASSWORD", PASSWORD)
                    .stdin(&format!(
                        "set app.client = 'c{i}';\n\
                         select current_setting('app.client') as who;\n\
                         select count(*) as n from items;\n\
                         select count(*) as n from items where id < 3;\n\
                         update items set qty = {i}000 where id = {id};\n\
                         select qty as mine from items where id = {id};\n\
                         rollback;\n\
                         select count(*) as again from items;\n"
                    ))
                    .run()
            })
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let out = client.join().expect("client thread");
        let i = i + 1;
        let id = i;
        assert_eq!(out.code, 0, "client {i} via {mode}: {out:?}");
        assert!(!out.stderr.contains("GUARD"), "{out:?}");
        assert!(!out.stderr.contains("ERROR"), "{out:?}");
        for sqlstate in ["42P05", "26000"] {
            assert!(!out.stderr.contains(sqlstate), "client {i}: {out:?}");
            assert!(!out.stdout.contains(sqlstate), "client {i}: {out:?}");
        }
        assert!(
            out.stdout.lines().any(|l| l.trim() == format!("c{i}")),
            "client {i}'s own setting holds in its read: {out:?}"
        );
        assert!(out.stdout.contains("UPDATE 1"), "{out:?}");
        // The preview's diff: the key and the changed column, old → new.
        let diff = format!("{id} | {id}0 → {i}000");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join(" | ") == diff),
            "client {i}'s preview shows {diff:?}: {out:?}"
        );
        assert!(
            out.stdout.lines().any(|l| l.trim() == format!("{i}000")),
            "client {i} sees its own change: {out:?}"
        );
    }
    assert_eq!(db.items(), before, "nothing was committed");

    // A COMMIT through the pooler, confirmed at a terminal.
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-p", &port]);
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    t.line("update items set qty = 77 where id = 5;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits through the pooler",
    );
    t.quit();
    assert_eq!(
        db.items(),
        before.replace("5:50:item 5", "5:77:item 5"),
        "the committed change, and only it"
    );
    drop(bouncer);
}

#[test]
fn through_pgbouncer_in_session_mode() {
    concurrent_clients("session", "bouncer_session");
}

#[test]
fn through_pgbouncer_in_transaction_mode() {
    concurrent_clients("transaction", "bouncer_transaction");
}

/// Eight clients in transaction mode on `pool` backends, each reading two of the
/// custom-type tables (so tokio-postgres looks up an enum, a composite, a range and an
/// array type with its own statements, on whichever backend the pooler gives), previewing
/// an update and reading it; then a COMMIT at a terminal. On main's code before the bridge
/// sent these statements unnamed, this failed with 42P05 or 26000.
fn custom_type_clients(pool: u32, name: &str) {
    let db = TestDb::new(name);
    custom_types::setup(&db);
    let before: Vec<String> = TABLES.iter().map(|t| rows(&db, t)).collect();
    let bouncer = start_pool("transaction", pool);
    let port = bouncer.port.to_string();
    let clients: Vec<_> = (1..=8usize)
        .map(|i| {
            let port = port.clone();
            let conninfo = db.login_conninfo();
            let (table, other) = (TABLES[i % 4], TABLES[(i + 1) % 4]);
            let (set, _) = change(table);
            std::thread::spawn(move || {
                TestShell::bare()
                    .args(["-d", &conninfo, "-p", &port])
                    .args(["--write-role", WRITER, "--read-role", READER])
                    .env("PGPASSWORD", PASSWORD)
                    .stdin(&format!(
                        "select v from {table} where id = {i};\n\
                         select v from {other} where id = {i};\n\
                         update {table} set v = {set} where id = {i};\n\
                         select v from {table} where id = {i};\n\
                         rollback;\n\
                         select v from {other} where id = {i};\n\
                         select v from {table} where id = {i};\n"
                    ))
                    .run()
            })
        })
        .collect();
    for (i, client) in (1..=8usize).zip(clients) {
        let out = client.join().expect("client thread");
        let (table, other) = (TABLES[i % 4], TABLES[(i + 1) % 4]);
        let (_, new) = change(table);
        assert_eq!(out.code, 0, "client {i}: {out:?}");
        for sqlstate in ["42P05", "26000"] {
            assert!(!out.stderr.contains(sqlstate), "client {i}: {out:?}");
            assert!(!out.stdout.contains(sqlstate), "client {i}: {out:?}");
        }
        assert!(!out.stderr.contains("ERROR"), "client {i}: {out:?}");
        assert!(has_line(&out.stdout, &stored(table, i)), "{table}: {out:?}");
        assert!(has_line(&out.stdout, &stored(other, i)), "{other}: {out:?}");
        assert!(
            has_diff(&out.stdout, i, &stored(table, i), new),
            "client {i}'s preview of {table}: {out:?}"
        );
        assert!(
            has_line(&out.stdout, new),
            "client {i} reads its change: {out:?}"
        );
    }
    let after: Vec<String> = TABLES.iter().map(|t| rows(&db, t)).collect();
    assert_eq!(after, before, "nothing was committed");

    let home = tempfile::tempdir().expect("home");
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-p", &port]);
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    t.line("select v from feel_pair where id = 4;");
    t.expect("(4,sad)");
    t.prompt(READER, "=>");
    t.line("update feel_array set v = '{happy}' where id = 4;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("select v from feel_range where id = 4;");
    t.expect("[sad,ok]");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits through the pooler",
    );
    t.line("select v from feel_enum where id = 4;");
    t.expect("sad");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(
        rows(&db, "feel_array"),
        before[3].replace("4:{sad,ok}", "4:{happy}"),
        "the committed change, and only it"
    );
    for (i, table) in TABLES.iter().enumerate().take(3) {
        assert_eq!(rows(&db, table), before[i], "{table} unchanged");
    }
    drop(bouncer);
}

#[test]
fn custom_types_through_pgbouncer_in_transaction_mode_on_one_backend() {
    custom_type_clients(1, "bouncer_types_one");
}

#[test]
fn custom_types_through_pgbouncer_in_transaction_mode_on_two_backends() {
    custom_type_clients(2, "bouncer_types_two");
}
