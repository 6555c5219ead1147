//! libpq's connection features against the real server: service files (precedence over
//! the `PG*` variables, the per-user file before the system one, a missing service an
//! error), several hosts with the first one down, `target_session_attrs`, and loud errors
//! for what pgward does not support, `options`/`PGOPTIONS` applied in pgward's own
//! transactions and refused for settings pgward owns. Each run prints what the server says it is
//! (`current_database()`, `inet_server_port()`), so a connection to the wrong place fails.

use crate::util::{
    cluster, session_logs, Output, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER,
};

/// The shell with the roles and `-c sql`, PGPASSWORD set, and `conn` before them.
fn shell(conn: &[&str], sql: &str) -> TestShell {
    TestShell::bare()
        .args(conn)
        .args(["--write-role", WRITER, "--read-role", READER, "-c", sql])
        .env("PGPASSWORD", PASSWORD)
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The service group `[name]` for the test database.
fn service(name: &str, db: &TestDb) -> String {
    let c = cluster();
    format!(
        "# a service file\n[unrelated]\nhost=/nonexistent\n\n[{name}]\nhost={}\nport={}\nuser={LOGIN}\ndbname={}\n",
        c.host(),
        c.port(),
        db.name
    )
}

#[track_caller]
/// The first (dead) port of a two-host URI, as `\conninfo` would print it.
fn dead_port_text(uri: &str) -> String {
    let port = uri
        .split(['@', ','])
        .nth(1)
        .and_then(|h| h.rsplit(':').next())
        .unwrap_or_default();
    format!("port \"{port}\"")
}

fn assert_ran(out: &Output, want: &str) {
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(want), "expected {want:?}: {out:?}");
}

#[test]
fn pgservice_wins_over_the_pg_variables() {
    let db = TestDb::new("lp_service");
    let t = shell(&[], "select current_database()");
    let file = t.home().join("services.conf");
    std::fs::write(&file, service("shop", &db)).expect("service file");
    let out = t
        .env("PGSERVICEFILE", &file.to_string_lossy())
        .env("PGSERVICE", "shop")
        // The defaults point elsewhere: the service must win over them.
        .env("PGHOST", "/nonexistent")
        .env("PGPORT", "1")
        .env("PGDATABASE", "postgres")
        .run();
    assert_ran(&out, &db.name);
}

#[test]
fn service_keyword_reads_the_users_file_and_explicit_parameters_win() {
    let db = TestDb::new("lp_service_kw");
    let t = shell(&["-d", "service=shop"], "select current_database()");
    std::fs::write(t.home().join(".pg_service.conf"), service("shop", &db)).expect("file");
    assert_ran(&t.run(), &db.name);

    // An explicit dbname beats the service's.
    let t = shell(
        &["-d", "service=shop dbname=postgres"],
        "select current_database()",
    );
    std::fs::write(t.home().join(".pg_service.conf"), service("shop", &db)).expect("file");
    let out = t.run();
    // The login may not read postgres's items, but it may connect: the database is
    // what the explicit parameter says.
    assert!(out.stdout.contains("postgres"), "{out:?}");
}

#[test]
fn system_service_file_is_searched_after_the_users() {
    let db = TestDb::new("lp_service_sys");
    let t = shell(&["-d", "service=shop"], "select current_database()");
    let sysconf = t.home().join("etc");
    std::fs::create_dir_all(&sysconf).expect("dir");
    std::fs::write(sysconf.join("pg_service.conf"), service("shop", &db)).expect("file");
    // The user's file exists but does not define the service.
    std::fs::write(t.home().join(".pg_service.conf"), "[other]\nport=1\n").expect("file");
    let out = t.env("PGSYSCONFDIR", &sysconf.to_string_lossy()).run();
    assert_ran(&out, &db.name);
}

#[test]
fn a_missing_service_is_an_error() {
    let out = shell(&["-d", "service=nowhere"], "select 1").run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("definition of service \"nowhere\" not found"),
        "{out:?}"
    );
}

#[test]
fn two_host_uri_with_the_first_host_down() {
    let db = TestDb::new("lp_multi");
    let c = cluster();
    let uri = format!(
        "postgresql://{LOGIN}@127.0.0.1:{},127.0.0.1:{}/{}?connect_timeout=5",
        dead_port(),
        c.port(),
        db.name
    );
    let out = shell(&["-d", &uri], "select inet_server_port()").run();
    assert_ran(&out, &c.port().to_string());
    // \conninfo names the server the failover reached, not the first one configured.
    let out = shell(&["-d", &uri], "\\conninfo").run();
    assert_ran(
        &out,
        &format!("on host \"127.0.0.1\" at port \"{}\"", c.port()),
    );
    assert!(!out.stdout.contains(&dead_port_text(&uri)), "{out:?}");

    // The conninfo form, with one port per host.
    let info = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user={LOGIN} dbname={} target_session_attrs=read-write",
        dead_port(),
        c.port(),
        db.name
    );
    let out = shell(&["-d", &info], "select inet_server_port()").run();
    assert_ran(&out, &c.port().to_string());
}

#[test]
fn target_session_attrs_standby_refuses_a_primary() {
    let db = TestDb::new("lp_attrs");
    let c = cluster();
    let info = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user={LOGIN} dbname={} target_session_attrs=standby",
        dead_port(),
        c.port(),
        db.name
    );
    let out = shell(&["-d", &info], "select 1").run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("server is not in hot standby mode"),
        "{out:?}"
    );
    // prefer-standby settles for the primary.
    let info = info.replace("=standby", "=prefer-standby");
    let out = shell(&["-d", &info], "select inet_server_port()").run();
    assert_ran(&out, &c.port().to_string());
}

#[test]
fn keepalives_are_accepted_and_unsupported_parameters_are_loud() {
    let db = TestDb::new("lp_keep");
    let info = format!(
        "{} keepalives=1 keepalives_idle=30 keepalives_interval=5 keepalives_count=3 channel_binding=prefer",
        db.login_conninfo()
    );
    assert_ran(&shell(&["-d", &info], "select 7 * 6").run(), "42");

    for (extra, named) in [
        ("options='-c statement_timeout=0'", "statement_timeout"),
        ("sslcrl=/x", "sslcrl"),
        ("sslpassword=secret", "sslpassword"),
        ("keepalives=maybe", "keepalives"),
        ("target_session_attrs=master", "target_session_attrs"),
    ] {
        let info = format!("{} {extra}", db.login_conninfo());
        let out = shell(&["-d", &info], "select 1").run();
        assert_eq!(out.code, 3, "{extra}: {out:?}");
        assert!(out.stderr.contains(named), "{extra}: {out:?}");
    }
}

#[test]
fn application_name_from_the_string_or_pgappname_follows_pgwards_own() {
    let db = TestDb::new("lp_appname");
    let info = format!("{} application_name=nightly_fix", db.login_conninfo());
    let out = shell(&["-d", &info], "select current_setting('application_name')").run();
    assert_eq!(out.code, 0, "{out:?}");
    let shown = out
        .stdout
        .lines()
        .find(|l| l.contains("nightly_fix"))
        .unwrap_or_else(|| panic!("the caller's application_name is sent: {out:?}"));
    assert!(shown.trim_start().starts_with("pgward ("), "{out:?}");
    let out = shell(
        &["-d", &db.login_conninfo()],
        "select current_setting('application_name')",
    )
    .env("PGAPPNAME", "from_env")
    .run();
    assert_ran(&out, "from_env");
}

#[test]
fn pgoptions_settings_hold_in_reads() {
    let db = TestDb::new("lp_pgoptions");
    let out = shell(&["-d", &db.login_conninfo()], "show work_mem")
        .env("PGOPTIONS", "-c work_mem=64MB")
        .run();
    assert_ran(&out, "64MB");
    // libpq's shorthand variables are the same kind of setting.
    let out = shell(&["-d", &db.login_conninfo()], "show datestyle")
        .env("PGDATESTYLE", "SQL, DMY")
        .run();
    assert_ran(&out, "SQL, DMY");
    // A list of names is split as the server splits `-c search_path=…`.
    let out = shell(&["-d", &db.login_conninfo()], "show search_path")
        .env("PGOPTIONS", r#"-c search_path="My\ Schema",public"#)
        .run();
    assert_ran(&out, "\"My Schema\", public");
}

#[test]
fn options_hold_inside_a_write_transaction() {
    let db = TestDb::new("lp_options_write");
    let info = format!(
        "{} options='-c work_mem=48MB --app.note=from\\\\ options'",
        db.login_conninfo()
    );
    let out = TestShell::bare()
        .args(["-d", &info, "--write-role", WRITER, "--read-role", READER])
        .env("PGPASSWORD", PASSWORD)
        .stdin(
            "update items set qty = 11 where id = 1;\n\
             select current_setting('work_mem') || '|' || current_setting('app.note') || '|' || current_user as seen;\n\
             rollback;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("UPDATE 1"), "{out:?}");
    assert!(
        out.stdout.contains(&format!("48MB|from options|{WRITER}")),
        "the setting holds in the write transaction, under the write role: {out:?}"
    );
    assert_eq!(
        db.value("SELECT qty FROM items WHERE id = 1").as_deref(),
        Some("10")
    );
}

#[test]
fn options_may_not_carry_a_setting_pgward_owns() {
    let db = TestDb::new("lp_options_owned");
    for (info, env, named) in [
        (
            format!("{} options='-c statement_timeout=0'", db.login_conninfo()),
            None,
            "statement_timeout",
        ),
        (
            db.login_conninfo(),
            Some(("PGOPTIONS", "--default-transaction-read-only=off")),
            "default_transaction_read_only",
        ),
        (
            db.login_conninfo(),
            Some(("PGOPTIONS", "-c role=postgres")),
            "role",
        ),
    ] {
        let t = shell(&["-d", &info], "update items set qty = 0");
        let home = t.home().to_path_buf();
        let t = match env {
            Some((k, v)) => t.env(k, v),
            None => t,
        };
        let out = t.run();
        assert_eq!(out.code, 3, "{named}: {out:?}");
        assert!(out.stderr.contains(named), "{named}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {out:?}");
        assert!(out.stdout.is_empty(), "nothing ran: {out:?}");
        assert!(session_logs(&home).is_empty(), "no session began: {out:?}");
    }
    assert_eq!(
        db.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5"
    );
}

#[test]
fn pg_variables_pgward_does_not_implement_are_loud() {
    let db = TestDb::new("lp_unsupported_env");
    for (var, value) in [
        ("PGSSLCRL", "/x"),
        ("PGSSLCRLDIR", "/x"),
        ("PGREQUIREPEER", "postgres"),
        ("PGGSSENCMODE", "require"),
        ("PGREQUIREAUTH", "scram-sha-256"),
        ("PGLOADBALANCEHOSTS", "random"),
        ("PGKRBSRVNAME", "postgres"),
    ] {
        let out = shell(&["-d", &db.login_conninfo()], "select 1")
            .env(var, value)
            .run();
        assert_eq!(out.code, 3, "{var}: {out:?}");
        assert!(out.stderr.contains(var), "{var} named: {out:?}");
        assert!(out.stdout.is_empty(), "{var}: {out:?}");
    }
    // Values that mean what pgward does anyway pass; requiressl=1 is sslmode=require.
    let out = shell(&["-d", &db.login_conninfo()], "select 7 * 6")
        .env("PGSSLSNI", "1")
        .env("PGGSSENCMODE", "disable")
        .env("PGSSLMINPROTOCOLVERSION", "TLSv1.2")
        .run();
    assert_ran(&out, "42");
    let info = format!("{} requiressl=1 sslmode=disable", db.login_conninfo());
    assert_ran(&shell(&["-d", &info], "select 7 * 6").run(), "42");
}
