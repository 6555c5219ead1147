//! Configuration and connection through the real binary: named environments, bad files,
//! tickets, pgpass, and exit code 3.

use crate::util::{cluster, write_config, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER};

fn env_config(db: &TestDb, extra: &str) -> String {
    let c = cluster();
    format!(
        "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
         write_role = \"{WRITER}\"\nread_role = \"{READER}\"\n{extra}",
        c.host(),
        c.port(),
        db.name
    )
}

#[test]
fn named_environment_from_config_runs_reads() {
    let db = TestDb::new("cfg_env");
    let shell = TestShell::bare();
    let path = write_config(shell.home(), &env_config(&db, "require_approval = false\n"));
    let out = shell
        .args(["--env", "prod", "--config"])
        .args([&path])
        .args(["-c", "select current_user, count(*) from items"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(READER), "{out:?}");
}

#[test]
fn config_found_in_xdg_dir_and_ticket_required() {
    let db = TestDb::new("cfg_ticket");
    let shell = TestShell::bare();
    write_config(shell.home(), &env_config(&db, ""));
    let out = shell
        .args(["--env", "prod", "-c", "select 1"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("--ticket"), "{out:?}");

    let shell = TestShell::bare();
    write_config(shell.home(), &env_config(&db, ""));
    let out = shell
        .args(["--env", "prod", "--ticket", "OPS-1", "-c", "select 1"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn bad_config_refuses_to_start_naming_key_and_line() {
    let db = TestDb::new("cfg_bad");
    let before = db.items();
    let shell = TestShell::bare();
    let text = env_config(&db, "lock_timout = \"5s\"\n");
    let line = text
        .lines()
        .position(|l| l.starts_with("lock_timout"))
        .map(|i| i + 1);
    write_config(shell.home(), &text);
    let out = shell
        .args([
            "--env",
            "prod",
            "--ticket",
            "T-1",
            "-c",
            "delete from items",
        ])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("lock_timout"), "{out:?}");
    assert!(
        out.stderr.contains(&format!("line {}", line.unwrap_or(0))),
        "{out:?}"
    );
    assert_eq!(db.items(), before);
}

#[test]
fn unknown_environment_and_bad_connection_exit_3() {
    let db = TestDb::new("cfg_unknown");
    let shell = TestShell::bare();
    write_config(shell.home(), &env_config(&db, ""));
    let out = shell.args(["--env", "staging", "-c", "select 1"]).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("prod"), "{out:?}");

    let out = TestShell::new(&db)
        .env("PGPASSWORD", "wrong")
        .args(["-c", "select 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    // 28P01: invalid_password.
    assert!(out.stderr.contains("28P01"), "{out:?}");
}

#[test]
fn password_comes_from_pgpass() {
    let db = TestDb::new("cfg_pgpass");
    let c = cluster();
    let shell = TestShell::bare();
    let pgpass = shell.home().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("{}:{}:*:{LOGIN}:{PASSWORD}\n", c.host(), c.port()),
    )
    .expect("pgpass");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = shell
        .args([
            "-h",
            c.host(),
            "-p",
            &c.port().to_string(),
            "-U",
            LOGIN,
            &db.name,
            "-w",
        ])
        .args(["--write-role", WRITER, "--read-role", READER])
        .args(["-c", "select count(*) from items"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains('5'), "{out:?}");
}

#[test]
fn write_without_write_role_is_refused_with_hint() {
    let db = TestDb::new("cfg_no_writer");
    let before = db.items();
    let out = TestShell::bare()
        .args(["-d", &db.read_login_conninfo(), "--read-role", READER])
        .args(["-c", "update items set qty = 1"])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--write-role"), "{out:?}");
    assert_eq!(db.items(), before);
}
