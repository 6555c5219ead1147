//! pgward through a real PgBouncer (Debian's `pgbouncer`, started by the test with a
//! config in a temp dir, md5 auth from an auth_file, on a free loopback port), in session
//! and in transaction mode, with concurrent clients: reads, writes with their previews,
//! and a COMMIT confirmed at a real pseudo-terminal. pgward sends no `options` startup
//! parameter (PgBouncer refuses it by default), the probe accepts a new backend per
//! transaction, and no named prepared statement is left on a pooled backend. The
//! superuser checks the data afterwards.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
         pool_mode = {mode}\nmax_client_conn = 50\ndefault_pool_size = 2\n\
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
