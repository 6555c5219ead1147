//! A real streaming standby (pg_basebackup of the test cluster): pgward opens it even
//! with `default_transaction_isolation = serializable` on the login, says "standby
//! (read-only)" at start and in `\conninfo`, reads, and refuses writes up front with
//! that reason. With the standby listed first, `target_session_attrs=read-write` fails
//! over to the primary (a write runs there), `standby` and `prefer-standby` past the
//! primary to the standby. The superuser checks on the primary that nothing changed.

use crate::util::{cluster, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER};

#[test]
fn a_standby_reads_and_refuses_writes_up_front() {
    let db = TestDb::new("standby");
    db.exec(&format!(
        "DROP ROLE IF EXISTS standby_login; \
         CREATE ROLE standby_login LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
         GRANT {WRITER}, {READER} TO standby_login; \
         ALTER ROLE standby_login IN DATABASE {} SET default_transaction_isolation = serializable;",
        db.name
    ));
    let primary = cluster();
    let standby = {
        let _no_tablespace = crate::util::tablespace_lock();
        primary.start_standby().expect("start a streaming standby")
    };
    let before = db.items();
    let conninfo = format!(
        "host={} port={} user=standby_login dbname={}",
        standby.host(),
        standby.port(),
        db.name
    );
    let shell = || {
        TestShell::bare()
            .args([
                "-d",
                &conninfo,
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ])
            .env("PGPASSWORD", PASSWORD)
    };
    let out = shell()
        .args(["-c", "select count(*) as n from items"])
        .args(["-c", "\\conninfo"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.trim() == "5"), "{out:?}");
    assert!(out.stderr.contains("standby (read-only)"), "{out:?}");
    assert!(out.stdout.contains("standby (read-only)"), "{out:?}");
    assert!(
        out.stderr.contains("a standby cannot run serializable"),
        "{out:?}"
    );
    // At a terminal the prompt says so too, as long as the session lasts.
    let home = tempfile::tempdir().expect("home");
    let args = [
        "-d",
        conninfo.as_str(),
        "--write-role",
        WRITER,
        "--read-role",
        READER,
    ];
    let mut t = crate::term::Term::start_args(&db, home.path(), "", &args, &[]);
    t.expect(&format!("standby (read-only)] {READER}@"));
    t.line("select 1 as one;");
    t.expect("(1 row)");
    t.expect(&format!("standby (read-only)] {READER}@"));
    t.quit();

    let out = shell()
        .args(["-c", "update items set qty = 0 where id = 1"])
        .run();
    assert_eq!(out.code, 2, "refused: {out:?}");
    assert!(out.stderr.contains("standby"), "{out:?}");
    // Refused before anything reached the server: no read-only-transaction error.
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert_eq!(db.items(), before);

    // Failover past a live standby: with the standby listed first, read-write lands on
    // the primary (a write runs there), standby and prefer-standby on the standby.
    let hosts =
        |first: &pgward::scratch::Cluster, second: &pgward::scratch::Cluster, attrs: &str| {
            format!(
                "host={},{} port={},{} user={LOGIN} dbname={} target_session_attrs={attrs}",
                first.host(),
                second.host(),
                first.port(),
                second.port(),
                db.name
            )
        };
    let on = |conninfo: &str, sql: &str| {
        TestShell::bare()
            .args([
                "-d",
                conninfo,
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ])
            .args([
                "-c",
                "select pg_is_in_recovery() as standby, current_setting('port') as port",
            ])
            .args(["-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .run()
    };
    let row = |standby: &str, port: u16| format!("{standby}|{port}");
    let cells = |l: &str| l.split('|').map(str::trim).collect::<Vec<_>>().join("|");
    let out = on(
        &hosts(&standby, primary, "read-write"),
        "update items set qty = 0 where id = 1",
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| cells(l) == row("f", primary.port())),
        "read-write lands on the primary: {out:?}"
    );
    assert!(
        out.stdout.contains("UPDATE 1"),
        "the write ran there: {out:?}"
    );
    assert!(
        out.stdout.lines().any(|l| cells(l) == "1|10 → 0"),
        "with its preview: {out:?}"
    );
    assert!(!out.stderr.contains("GUARD"), "{out:?}");
    for attrs in ["standby", "prefer-standby"] {
        let out = on(&hosts(primary, &standby, attrs), "select 1 as one");
        assert_eq!(out.code, 0, "{attrs}: {out:?}");
        assert!(
            out.stdout
                .lines()
                .any(|l| cells(l) == row("t", standby.port())),
            "{attrs} lands on the standby: {out:?}"
        );
    }
    assert_eq!(db.items(), before, "nothing was committed on the primary");
}
