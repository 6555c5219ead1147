//! A SQL_ASCII database holding Latin-1 bytes. PostgreSQL refuses to send bytes that are
//! not UTF-8 to a UTF-8 client (22021), and pgward's quoting rules need UTF-8, so such a
//! read fails on the server: pgward says why and how to read the column escaped, the
//! session goes on, and the escaped read works.

use crate::util::{admin_exec, cluster, TestDb, TestShell, READER, WRITER};

/// Database `t_<name>` in SQL_ASCII with `names(id, name)` holding `café` in Latin-1.
fn sql_ascii_db(name: &str) -> TestDb {
    let c = cluster();
    let db = format!("t_{name}");
    admin_exec(
        c,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )
    .expect("drop");
    admin_exec(
        c,
        "postgres",
        &format!(
            "CREATE DATABASE {db} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ),
    )
    .expect("create");
    admin_exec(
        c,
        &db,
        &format!(
            "CREATE TABLE names (id int PRIMARY KEY, name text); \
             INSERT INTO names VALUES (1, E'caf\\xe9'), (2, 'plain'); \
             GRANT SELECT, UPDATE ON names TO {WRITER}; GRANT SELECT ON names TO {READER};"
        ),
    )
    .expect("fixture");
    TestDb { name: db }
}

#[test]
fn latin1_bytes_in_sql_ascii_are_explained_and_readable_escaped() {
    let db = sql_ascii_db("enc_ascii");
    let out = TestShell::new(&db)
        .args(["-c", "select id, name from names order by id"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("22021"), "{out:?}");
    assert!(
        out.stderr.contains("encode(name::bytea, 'escape')"),
        "{out:?}"
    );

    // Every row reads escaped, as the hint says: ASCII as it is, Latin-1 as octal escapes.
    let out = TestShell::new(&db)
        .args([
            "-c",
            "select id, encode(name::bytea, 'escape') as raw from names order by id",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("caf\\351"), "{out:?}");
    assert!(out.stdout.contains("plain"), "{out:?}");
}
