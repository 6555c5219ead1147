//! A real streaming standby (pg_basebackup of the test cluster): pgward opens it even
//! with `default_transaction_isolation = serializable` on the login, says "standby
//! (read-only)" at start and in `\conninfo`, reads, and refuses writes up front with
//! that reason. The superuser checks on the primary that nothing changed.

use crate::util::{cluster, TestDb, TestShell, PASSWORD, READER, WRITER};

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

    let out = shell()
        .args(["-c", "update items set qty = 0 where id = 1"])
        .run();
    assert_eq!(out.code, 2, "refused: {out:?}");
    assert!(out.stderr.contains("standby"), "{out:?}");
    // Refused before anything reached the server: no read-only-transaction error.
    assert!(!out.stderr.contains("25006"), "{out:?}");
    assert_eq!(db.items(), before);
}
