//! The role setup the database enforces, and the probe of what pgward set, through the
//! real binary: a login that can become more than its write and read roles, a superuser
//! write role and dblink refuse to open the environment (exit 3, nothing runs) unless the
//! config accepts the risk by name; a function that changes a timeout or
//! application_name through a setting name built at run time is caught by the probe and
//! rolled back; a session-level advisory lock taken by a function is released after
//! ROLLBACK, and after a COMMIT confirmed at the terminal. A role the write role can become but does not inherit is an extra role; a
//! CREATEROLE login, a read role with pg_read_server_files and a write role that can run
//! lo_import are each refused by their risk, and an accepted risk opens and is shown. The superuser checks data, roles and locks afterwards.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::term::Term;
use crate::util::{
    self, admin_rows, cluster, write_config, TestDb, TestShell, COMPLETION_APP, LOGIN, PASSWORD,
    READER, WRITER,
};

/// Creates login `name` (NOINHERIT, the test password) granted `roles`.
fn login(db: &TestDb, name: &str, roles: &[&str]) {
    db.exec(&format!(
        "CREATE ROLE {name} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; GRANT {} TO {name};",
        roles.join(", ")
    ));
}

/// The shell as `user` with the write and read roles given.
fn shell_as(db: &TestDb, user: &str, write: &str, read: &str) -> TestShell {
    TestShell::bare()
        .args(["-d", &db.conninfo_as(user), "--write-role", write])
        .args(["--read-role", read])
        .env("PGPASSWORD", PASSWORD)
}

/// A config file with environment `prod` for `user`, and `extra` lines.
fn config_for(db: &TestDb, user: &str, extra: &str) -> String {
    let c = cluster();
    format!(
        "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://{user}@{}:{}/{}\"\n\
         write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\n{extra}",
        c.host(),
        c.port(),
        db.name
    )
}

#[test]
fn a_login_that_can_become_an_extra_role_is_refused_at_start() {
    let db = TestDb::new("roles_extra");
    db.exec(
        "CREATE ROLE roles_extra_power NOLOGIN CREATEDB; \
         GRANT ALL ON items TO roles_extra_power;",
    );
    login(
        &db,
        "roles_extra_login",
        &[WRITER, READER, "roles_extra_power"],
    );
    let before = db.items();
    let out = shell_as(&db, "roles_extra_login", WRITER, READER)
        .args(["-c", "update items set qty = 0 where id = 1"])
        .args(["-c", "select 1 as ran"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("\"roles_extra_power\""), "{out:?}");
    assert!(out.stderr.contains("extra_roles"), "{out:?}");
    assert!(
        out.stderr
            .contains("REVOKE roles_extra_power FROM roles_extra_login;"),
        "{out:?}"
    );
    // Nothing ran: no statement output, no change.
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);

    // The printed fix is the fix.
    db.exec("REVOKE roles_extra_power FROM roles_extra_login");
    let out = shell_as(&db, "roles_extra_login", WRITER, READER)
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_role_the_write_role_can_become_but_does_not_inherit_is_an_extra_role() {
    // A NOINHERIT write role that is a member of `power` has none of power's rights, but
    // dynamic SQL running as it can SET LOCAL ROLE power, read the secret and switch
    // back before the probe looks: power is beyond what the write role inherits.
    let db = TestDb::new("roles_noinherit");
    db.exec(
        "CREATE ROLE roles_ni_writer NOLOGIN NOINHERIT; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON items TO roles_ni_writer; \
         CREATE TABLE secret (s text); INSERT INTO secret VALUES ('s3cr3t'); \
         CREATE ROLE roles_ni_power NOLOGIN; GRANT SELECT ON secret TO roles_ni_power; \
         GRANT roles_ni_power TO roles_ni_writer;",
    );
    login(&db, "roles_ni_login", &["roles_ni_writer", READER]);
    // The premise, as the server sees it: the login can become power, the write role
    // does not inherit its rights.
    assert_eq!(
        db.value(
            "SELECT pg_has_role('roles_ni_login', 'roles_ni_power', 'MEMBER') \
             || ':' || pg_has_role('roles_ni_writer', 'roles_ni_power', 'USAGE')"
        )
        .as_deref(),
        Some("true:false")
    );
    let before = db.items();
    let out = shell_as(&db, "roles_ni_login", "roles_ni_writer", READER)
        .args(["-c", "update items set qty = 0 where id = 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("extra_roles:"), "{out:?}");
    assert!(out.stderr.contains("\"roles_ni_power\""), "{out:?}");
    // The fix names the grant it is reached through: the write role's.
    assert!(
        out.stderr
            .contains("REVOKE roles_ni_power FROM roles_ni_writer;"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);
    // Roles unchanged: pgward only looked.
    assert_eq!(
        db.value("SELECT pg_has_role('roles_ni_writer', 'roles_ni_power', 'MEMBER')::text")
            .as_deref(),
        Some("true")
    );

    // A role the write role inherits is part of it: the same membership with INHERIT
    // passes (its rights are the write role's own).
    db.exec("ALTER ROLE roles_ni_writer INHERIT");
    let out = shell_as(&db, "roles_ni_login", "roles_ni_writer", READER)
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");

    // The printed fix is the fix.
    db.exec("ALTER ROLE roles_ni_writer NOINHERIT; REVOKE roles_ni_power FROM roles_ni_writer");
    let out = shell_as(&db, "roles_ni_login", "roles_ni_writer", READER)
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_createrole_login_is_refused() {
    let db = TestDb::new("roles_createrole");
    login(&db, "roles_cr_login", &[WRITER, READER]);
    db.exec("ALTER ROLE roles_cr_login CREATEROLE");
    let before = db.items();
    let out = shell_as(&db, "roles_cr_login", WRITER, READER)
        .args(["-c", "update items set qty = 0 where id = 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("createrole:"), "{out:?}");
    assert!(
        out.stderr
            .contains("ALTER ROLE roles_cr_login NOCREATEROLE;"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);
    assert_eq!(
        db.value("SELECT rolcreaterole::text FROM pg_roles WHERE rolname = 'roles_cr_login'")
            .as_deref(),
        Some("true")
    );
    db.exec("ALTER ROLE roles_cr_login NOCREATEROLE");
    let out = shell_as(&db, "roles_cr_login", WRITER, READER)
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_read_role_holding_pg_read_server_files_is_refused() {
    let db = TestDb::new("roles_files");
    db.exec(
        "CREATE ROLE roles_files_reader NOLOGIN; GRANT SELECT ON items TO roles_files_reader; \
         GRANT pg_read_server_files TO roles_files_reader;",
    );
    login(&db, "roles_files_login", &[WRITER, "roles_files_reader"]);
    let out = shell_as(&db, "roles_files_login", WRITER, "roles_files_reader")
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("server_files:"), "{out:?}");
    assert!(out.stderr.contains("pg_read_server_files"), "{out:?}");
    assert!(out.stderr.contains("roles_files_reader"), "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    db.exec("REVOKE pg_read_server_files FROM roles_files_reader");
    let out = shell_as(&db, "roles_files_login", WRITER, "roles_files_reader")
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn lo_import_for_the_write_role_is_refused_until_accepted() {
    let db = TestDb::new("roles_lo");
    // lo_import is not PUBLIC's by default; revoking it again makes the grant below the
    // only way the write role gets it.
    db.exec(
        "REVOKE EXECUTE ON FUNCTION lo_import(text) FROM PUBLIC; \
         CREATE ROLE roles_lo_writer NOLOGIN; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON items TO roles_lo_writer; \
         GRANT EXECUTE ON FUNCTION lo_import(text) TO roles_lo_writer;",
    );
    login(&db, "roles_lo_login", &["roles_lo_writer", READER]);
    let before = db.items();
    let out = shell_as(&db, "roles_lo_login", "roles_lo_writer", READER)
        .args(["-c", "update items set qty = 0 where id = 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("large_objects:"), "{out:?}");
    assert!(out.stderr.contains("lo_import(text)"), "{out:?}");
    assert!(out.stderr.contains("\"roles_lo_writer\""), "{out:?}");
    assert!(
        out.stderr.contains("accept_risks = [\"large_objects\"]"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);

    // Accepted by name: it opens, and the banner and \conninfo say what was accepted.
    let c = cluster();
    let shell = TestShell::bare();
    write_config(
        shell.home(),
        &format!(
            "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://roles_lo_login@{}:{}/{}\"\n\
             write_role = \"roles_lo_writer\"\nread_role = \"{READER}\"\nrequire_approval = false\n\
             accept_risks = [\"large_objects\"]\n",
            c.host(),
            c.port(),
            db.name
        ),
    );
    let out = shell
        .args(["--env", "prod", "-c", "select count(*) from items"])
        .args(["-c", "\\conninfo"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let banner = out
        .stderr
        .lines()
        .find(|l| l.contains("accepted risk large_objects"))
        .unwrap_or_else(|| panic!("no banner line: {out:?}"));
    assert!(banner.contains("lo_import(text)"), "{out:?}");
    assert!(
        out.stdout.contains("accepted risk large_objects"),
        "\\conninfo lists it: {out:?}"
    );
    assert_eq!(db.items(), before);
}

#[test]
fn an_accepted_extra_role_opens_and_is_shown_in_the_banner_and_conninfo() {
    let db = TestDb::new("roles_accept");
    db.exec("CREATE ROLE roles_accept_power NOLOGIN;");
    login(
        &db,
        "roles_accept_login",
        &[WRITER, READER, "roles_accept_power"],
    );
    let shell = TestShell::bare();
    write_config(
        shell.home(),
        &config_for(
            &db,
            "roles_accept_login",
            "accept_risks = [\"extra_roles\"]\n",
        ),
    );
    let out = shell
        .args(["--env", "prod", "-c", "select count(*) from items"])
        .args(["-c", "\\conninfo"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains('5'), "{out:?}");
    let banner = out
        .stderr
        .lines()
        .find(|l| l.contains("accepted risk extra_roles"))
        .unwrap_or_else(|| panic!("no banner line: {out:?}"));
    assert!(banner.contains("roles_accept_power"), "{out:?}");
    assert!(
        out.stdout.contains("accepted risk extra_roles"),
        "\\conninfo lists it: {out:?}"
    );

    // Accepting another risk does not accept this one.
    let shell = TestShell::bare();
    write_config(
        shell.home(),
        &config_for(&db, "roles_accept_login", "accept_risks = [\"dblink\"]\n"),
    );
    let out = shell
        .args(["--env", "prod", "-c", "select 1"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("roles_accept_power"), "{out:?}");

    // An unknown risk id is a configuration error naming the line.
    let shell = TestShell::bare();
    let text = config_for(
        &db,
        "roles_accept_login",
        "accept_risks = [\"everything\"]\n",
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("accept_risks"))
        .map_or(0, |i| i + 1);
    write_config(shell.home(), &text);
    let out = shell
        .args(["--env", "prod", "-c", "select 1"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("everything"), "{out:?}");
    assert!(out.stderr.contains(&format!("line {line}")), "{out:?}");
}

#[test]
fn a_superuser_write_role_is_refused() {
    let db = TestDb::new("roles_super");
    db.exec("CREATE ROLE roles_super_writer NOLOGIN SUPERUSER;");
    login(&db, "roles_super_login", &["roles_super_writer", READER]);
    let before = db.items();
    let out = shell_as(&db, "roles_super_login", "roles_super_writer", READER)
        .args(["-c", "update items set qty = 0 where id = 2"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("superuser:"), "{out:?}");
    assert!(
        out.stderr
            .contains("ALTER ROLE roles_super_writer NOSUPERUSER;"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);
    // Still a superuser: pgward changed nothing about the roles.
    assert_eq!(
        db.value("SELECT rolsuper::text FROM pg_roles WHERE rolname = 'roles_super_writer'")
            .as_deref(),
        Some("true")
    );
}

#[test]
fn a_bypassrls_read_role_is_refused() {
    let db = TestDb::new("roles_bypassrls");
    db.exec("CREATE ROLE roles_rls_reader NOLOGIN BYPASSRLS; GRANT SELECT ON items TO roles_rls_reader;");
    login(&db, "roles_rls_login", &[WRITER, "roles_rls_reader"]);
    let out = shell_as(&db, "roles_rls_login", WRITER, "roles_rls_reader")
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("bypassrls:"), "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
}

#[test]
fn dblink_refuses_to_open_until_execute_is_revoked() {
    // dblink opens a second connection whose writes commit on their own. Direct calls are
    // refused by policy; a wrapper function is invisible to any client, so the database
    // must not let the roles execute it at all.
    let db = TestDb::new("roles_dblink");
    let out = TestShell::new(&db).args(["-c", "select 1"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    db.exec("CREATE EXTENSION dblink");
    let before = db.items();
    let out = TestShell::new(&db)
        .args(["-c", "update items set qty = 0 where id = 3"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("dblink:"), "{out:?}");
    assert!(
        out.stderr
            .contains("public.dblink_exec(text, text), public.dblink_exec(text, text, boolean)"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);

    // The printed fix is the fix.
    let fix = out
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("fix: REVOKE EXECUTE"))
        .unwrap_or_else(|| panic!("no REVOKE printed: {out:?}"));
    db.exec(&format!("REVOKE EXECUTE{fix}"));
    let out = TestShell::new(&db).args(["-c", "select 1"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("dblink"), "{out:?}");
    // And a direct call is still refused by policy.
    let out = TestShell::new(&db)
        .args(["-c", "select dblink_connect('x', 'dbname=postgres')"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn a_function_that_changes_what_pgward_set_is_rolled_back_by_the_probe() {
    let db = TestDb::new("roles_probe_settings");
    // Each builds the setting's name at run time: no client-side scan sees it.
    let changes = [
        (
            "loosen_statement",
            "'statement' || '_timeout', '0', true",
            "statement_timeout",
        ),
        (
            "loosen_lock",
            "'lock' || '_timeout', '0', false",
            "lock_timeout",
        ),
        (
            "loosen_idle",
            "'idle_in_transaction' || '_session_timeout', '0', true",
            "idle_in_transaction_session_timeout",
        ),
        (
            "forge_app",
            "'application' || '_name', 'innocent', false",
            "application_name",
        ),
    ];
    for (name, args, _) in changes {
        db.exec(&format!(
            "CREATE FUNCTION {name}() RETURNS int LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_catalog.set_config({args}); RETURN 1; END $$; \
             GRANT EXECUTE ON FUNCTION {name}() TO {WRITER}, {READER};"
        ));
    }
    let before = db.items();
    for (name, _, setting) in changes {
        // Called as a read inside the write transaction, and inside the write itself.
        for script in [
            format!("update items set qty = 0 where id = 1;\nselect {name}();\ncommit;\n"),
            format!("update items set qty = {name}() where id = 2;\ncommit;\n"),
        ] {
            let out = TestShell::new(&db).stdin(&script).run();
            assert_eq!(out.code, 2, "{name}: {out:?}");
            let guard = out
                .stderr
                .lines()
                .find(|l| l.contains("GUARD:"))
                .unwrap_or_else(|| panic!("{name}: no GUARD line: {out:?}"));
            assert!(guard.contains(setting), "{name}: {out:?}");
            assert!(guard.contains("rolled back"), "{name}: {out:?}");
            assert_eq!(db.items(), before, "{name}");
        }
    }
    // A read outside a transaction is probed the same way.
    let out = TestShell::new(&db)
        .args(["-c", "select loosen_statement()"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("statement_timeout"), "{out:?}");
}

#[test]
fn a_session_level_advisory_lock_is_released_after_rollback() {
    let db = TestDb::new("roles_advisory");
    db.exec(&format!(
        "CREATE FUNCTION take_lock() RETURNS int LANGUAGE sql AS \
         'SELECT 1 FROM (SELECT pg_catalog.pg_advisory_lock(4242)) l'; \
         GRANT EXECUTE ON FUNCTION take_lock() TO {WRITER}, {READER};"
    ));
    let before = db.items();
    // The session stays open (pg_sleep) while the superuser looks at pg_locks.
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new(util::bin());
    util::isolate(&mut cmd, home.path());
    cmd.args(["-d", &db.login_conninfo(), "--write-role", WRITER])
        .args(["--read-role", READER])
        .args(["-c", "update items set qty = 1 where id = 1"])
        .args(["-c", "select take_lock()"])
        .args(["-c", "rollback"])
        .args(["-c", "select pg_sleep(5)"])
        .env("PGPASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn pgward");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.trim() == "ROLLBACK" {
                    break;
                }
            }
            _ => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                panic!(
                    "no ROLLBACK on stdout: {seen}\nstderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    let connected = db.value(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '{}' AND usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}'",
        db.name
    ));
    let locks = db.value(&format!(
        "SELECT count(*)::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE a.datname = '{}' AND a.usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}' AND l.locktype = 'advisory'",
        db.name
    ));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().expect("wait for pgward");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // pgward's session was still open when the superuser looked: the check means something.
    assert_eq!(connected.as_deref(), Some("1"), "{seen}{rest:?}\n{stderr}");
    assert_eq!(locks.as_deref(), Some("0"), "{seen}{rest:?}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{seen}{rest:?}\n{stderr}");
    assert!(
        stderr.contains("session-level advisory lock") && stderr.contains("released"),
        "{stderr}"
    );
    assert_eq!(db.items(), before);
}

/// D.2 after COMMIT, at the terminal: a write whose function takes a session-level
/// advisory lock is confirmed and committed; while pgward is still connected, its backend
/// holds no advisory lock, and pgward said it released one.
#[test]
fn a_session_level_advisory_lock_is_released_after_a_confirmed_commit() {
    let db = TestDb::new("roles_advisory_commit");
    // Called directly, pg_advisory_lock is refused (OutsideReach); a function created
    // outside pgward is invisible to it, so only the release after COMMIT stands.
    db.exec(&format!(
        "CREATE FUNCTION take_lock() RETURNS int LANGUAGE sql AS \
         'SELECT 1 FROM (SELECT pg_catalog.pg_advisory_lock(4244)) l'; \
         GRANT EXECUTE ON FUNCTION take_lock() TO {WRITER}, {READER};"
    ));
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    // pgward's one backend (the completion connection aside), and its advisory locks.
    let backend = || {
        admin_rows(
            cluster(),
            &db.name,
            &format!(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND usename = '{LOGIN}' AND application_name <> '{COMPLETION_APP}'"
            ),
        )
    };
    let backends = backend();
    t.ensure(backends.len() == 1, "pgward's one backend is connected");
    let pid = backends[0][0].clone().unwrap_or_default();
    let locks = || {
        db.value(&format!(
            "SELECT count(*) FROM pg_locks WHERE pid = {pid} AND locktype = 'advisory'"
        ))
    };
    t.line("update items set qty = take_lock() + 100 where id = 1;");
    t.expect("UPDATE 1");
    let during = t.prompt(WRITER, "=*>");
    t.ensure(!during.contains("advisory"), "nothing released yet");
    // The lock is held while the transaction is open: the check after COMMIT matters.
    let held = locks();
    t.ensure(
        held.as_deref() == Some("1"),
        &format!("lock held: {held:?}"),
    );
    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    let after = t.prompt(READER, "=>");
    // pgward is connected and idle at its prompt: the same backend, no advisory lock.
    t.ensure(
        backend().first().and_then(|r| r[0].clone()) == Some(pid.clone()),
        "the same backend is still connected",
    );
    let left = locks();
    t.ensure(
        left.as_deref() == Some("0"),
        &format!("no advisory lock held by backend {pid}: {left:?}"),
    );
    let committed_at = after.find("COMMIT").unwrap_or(usize::MAX);
    let told = after.find("GUARD: a statement took 1 session-level advisory lock");
    t.ensure(
        told.is_some_and(|i| i > committed_at) && after.contains("pgward released"),
        "pgward said, after COMMIT, that it released the lock",
    );
    // The change itself committed.
    let qty = db.value("SELECT qty FROM items WHERE id = 1");
    t.ensure(qty.as_deref() == Some("101"), "the update committed");
    t.quit();
}

#[test]
fn a_configured_role_that_does_not_exist_refuses_to_open() {
    let db = TestDb::new("roles_missing");
    let before = db.items();
    let out = shell_as(&db, LOGIN, "roles_no_such_writer", READER)
        .args(["-c", "update items set qty = 0 where id = 4"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("\"roles_no_such_writer\" does not exist"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(db.items(), before);
}

/// A read outside a transaction is probed, rolled back and checked for session-level
/// advisory locks in one statement: a lock its function took is still found and released.
#[test]
fn a_session_level_advisory_lock_taken_by_a_read_is_released() {
    let db = TestDb::new("roles_advisory_read");
    db.exec(&format!(
        "CREATE FUNCTION take_lock() RETURNS int LANGUAGE sql AS \
         'SELECT 1 FROM (SELECT pg_catalog.pg_advisory_lock(4243)) l'; \
         GRANT EXECUTE ON FUNCTION take_lock() TO {WRITER}, {READER};"
    ));
    let out = TestShell::new(&db)
        .args(["-c", "select take_lock()", "-c", "select 2"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr
            .matches("GUARD: a statement took 1 session-level advisory lock")
            .count(),
        1,
        "{out:?}"
    );
    assert!(out.stdout.contains("take_lock"), "{out:?}");
}
