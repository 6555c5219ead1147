//! A SQL_ASCII database holding Latin-1 bytes. pgward sets `client_encoding = SQL_ASCII`
//! there, so the server sends the stored bytes (to a UTF-8 client it would refuse them,
//! 22021), and the byte bridge shows each byte that is not UTF-8 as `\xe9` wherever it
//! is: reads succeed (psql's own output, with the byte escaped), and so do a Latin-1
//! column name, `\d`, SHOW, EXPLAIN, FETCH, an error quoting such a value and a NOTICE.
//! An UPDATE of a Latin-1 row runs with counts only (its preview would not show the
//! stored bytes), offers no undo, and commits the exact bytes. `\copy … TO` a file
//! refuses values it has only escaped. `PGCLIENTENCODING` other than UTF-8 is a loud
//! error.

use std::process::Command;

use crate::term::Term;
use crate::util::{self, admin_exec, cluster, TestDb, TestShell, READER, WRITER};

/// Database `t_<name>` in SQL_ASCII with `names(id, name)` holding `café` in Latin-1 (the
/// byte 0xe9), a table whose name is Latin-1 (`cafés`), and `wide`, whose column name is.
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
    // E'\xe9' is the byte itself: a SQL_ASCII database stores any byte as it is.
    admin_exec(
        c,
        &db,
        &format!(
            "CREATE TABLE names (id int PRIMARY KEY, name text); \
             INSERT INTO names VALUES (1, E'caf\\xe9'), (2, 'plain'); \
             GRANT SELECT, UPDATE ON names TO {WRITER}; GRANT SELECT ON names TO {READER}; \
             DO $$ BEGIN \
               EXECUTE format('CREATE TABLE %I (id int)', E'caf\\xe9s'); \
               EXECUTE format('CREATE TABLE wide (id int, %I text)', E'\\xe9t\\xe9'); \
             END $$; \
             INSERT INTO wide VALUES (1, 'x'); GRANT SELECT ON wide TO {READER};"
        ),
    )
    .expect("fixture");
    TestDb { name: db }
}

/// The stored bytes of `names.name` for `id`, in hex, read as superuser.
fn stored(db: &TestDb, id: i32) -> Option<String> {
    db.value(&format!(
        "SELECT encode(name::bytea, 'hex') FROM names WHERE id = {id}"
    ))
}

#[test]
fn latin1_bytes_in_sql_ascii_are_read_escaped_as_psql_reads_them() {
    let db = sql_ascii_db("enc_ascii");
    let out = TestShell::new(&db)
        .args(["-c", "select id, name from names order by id"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, " id |  name   \n----+---------\n  1 | caf\\xe9\n  2 | plain\n(2 rows)\n\n",
        "{out:?}"
    );

    // psql (not on a terminal, so in the database's own encoding) writes the raw byte;
    // pgward writes the same, with that byte escaped.
    let query = "select id, name, null as n, E'a\\tb' as t from names order by id";
    let home = tempfile::tempdir().expect("home");
    let mut psql = Command::new("psql");
    psql.args(["-X", "-A", "-d", &cluster().conninfo(&db.name), "-c", query]);
    util::isolate(&mut psql, home.path());
    let theirs = psql.output().expect("psql is installed");
    assert!(theirs.status.success(), "psql: {theirs:?}");
    assert!(theirs.stdout.contains(&0xe9), "psql wrote the raw byte");
    let mut expected = Vec::new();
    for &b in &theirs.stdout {
        match b {
            0xe9 => expected.extend_from_slice(b"\\xe9"),
            b => expected.push(b),
        }
    }
    let ours = TestShell::new(&db).args(["-A", "-c", query]).run();
    assert_eq!(ours.code, 0, "{ours:?}");
    assert_eq!(
        ours.stdout,
        String::from_utf8(expected).expect("UTF-8"),
        "{ours:?}"
    );

    // Catalog reads too: the Latin-1 table name is listed, escaped.
    let out = TestShell::new(&db).args(["-A", "-t", "-c", "\\dt"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("public|caf\\xe9s|table|"), "{out:?}");
}

/// psql's `-X -A` output of `args` in `db` (in the database's own encoding, not on a
/// terminal) with each byte 0xe9 shown as `\xe9`, and its exit code.
fn psql_escaped(db: &TestDb, args: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().expect("home");
    let mut psql = Command::new("psql");
    psql.args(["-X", "-A", "-d", &cluster().conninfo(&db.name)])
        .args(args);
    util::isolate(&mut psql, home.path());
    let out = psql.output().expect("psql is installed");
    let mut shown = Vec::new();
    for &b in &out.stdout {
        match b {
            0xe9 => shown.extend_from_slice(b"\\xe9"),
            b => shown.push(b),
        }
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(shown).expect("UTF-8 apart from 0xe9"),
    )
}

#[test]
fn latin1_names_settings_plans_errors_and_notices_read_escaped_as_psql_reads_them() {
    let db = sql_ascii_db("enc_ascii_name");
    db.exec(&format!(
        "ALTER DATABASE {} SET pgward_test.greeting = E'caf\\xe9'",
        db.name
    ));
    // A Latin-1 column name, a setting, a plan naming that column: psql's rows,
    // with the byte escaped, and psql's exit status.
    for query in [
        "select * from wide",
        "show pgward_test.greeting",
        "explain (costs off, verbose) select * from wide",
    ] {
        let (code, theirs) = psql_escaped(&db, &["-c", query]);
        assert_eq!(code, 0, "psql: {query}");
        assert!(theirs.contains("\\xe9"), "psql wrote the byte: {theirs}");
        let ours = TestShell::new(&db).args(["-A", "-c", query]).run();
        assert_eq!(ours.code, 0, "{query}: {ours:?}");
        assert_eq!(ours.stdout, theirs, "{query}: {ours:?}");
    }

    // An error quoting a Latin-1 value: psql's SQLSTATE and exit status.
    let query = "select name::int from names where id = 1";
    let (code, _) = psql_escaped(&db, &["-c", query]);
    let out = TestShell::new(&db).args(["-c", query]).run();
    assert_eq!((out.code, code), (1, 1), "{out:?}");
    assert!(
        out.stderr.contains("22P02") && out.stderr.contains("\"caf\\xe9\""),
        "{out:?}"
    );

    // A NOTICE holding one, and a cursor's FETCH.
    let out = TestShell::new(&db)
        .args([
            "-c",
            "do $$ begin raise notice 'v=%', (select name from names where id = 1); end $$",
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.starts_with("NOTICE:") && out.stderr.contains("v=caf\\xe9"),
        "{out:?}"
    );
    let out = TestShell::new(&db)
        .stdin(
            "begin;\ndeclare c cursor for select name from names order by id;\nfetch 1 from c;\nrollback;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(" caf\\xe9\n(1 row)"), "{out:?}");

    // \d of the table with the Latin-1 column, and of the table with the Latin-1 name.
    let out = TestShell::new(&db)
        .args(["-A", "-c", "\\d wide", "-c", "\\d caf*"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\\xe9t\\xe9|text|"), "{out:?}");
    assert!(out.stdout.contains("Table \"public.caf\\xe9s\""), "{out:?}");
}

/// A change to a Latin-1 row of a table with a rule, which COPY refuses to wrap, so its
/// RETURNING row comes through the simple protocol and the byte bridge: shown escaped,
/// counts only, no undo (it could only hold `\xe9` text), and the bytes committed are
/// exactly those written.
#[test]
fn a_latin1_change_offers_no_undo_and_commits_the_exact_bytes() {
    let db = sql_ascii_db("enc_ascii_undo");
    db.exec(&format!(
        "CREATE TABLE ruled (id int PRIMARY KEY, v text); INSERT INTO ruled VALUES (1, E'\\xe9t\\xe9'); \
         CREATE TABLE ruled_log (id int); \
         CREATE RULE also_log AS ON UPDATE TO ruled DO ALSO INSERT INTO ruled_log VALUES (new.id); \
         GRANT SELECT, UPDATE ON ruled TO {WRITER}; GRANT SELECT ON ruled TO {READER}; \
         GRANT SELECT, INSERT ON ruled_log TO {WRITER};"
    ));
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = crate::revert::run_and_commit(
        &db,
        home.path(),
        "update ruled set v = v || '?' where id = 1 returning v;\ncommit;\n",
    );
    assert!(summary.contains("counts only"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    assert!(
        !intent.to_string().contains("\\\\xe9"),
        "no escaped value is kept as if stored: {intent}"
    );
    assert!(
        summary.contains("\\xe9t\\xe9?"),
        "the RETURNING row: {summary}"
    );
    assert_eq!(
        db.value("SELECT encode(v::bytea, 'hex') FROM ruled")
            .as_deref(),
        Some("e974e93f")
    );
}

#[test]
fn client_encoding_other_than_utf8_is_a_loud_error() {
    let db = sql_ascii_db("enc_ascii_pgce");
    let out = TestShell::new(&db)
        .env("PGCLIENTENCODING", "LATIN1")
        .args(["-c", "select 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("PGCLIENTENCODING"), "{out:?}");
    let out = TestShell::new(&db)
        .env("PGCLIENTENCODING", "UTF8")
        .args(["-c", "select name from names where id = 1"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(" caf\\xe9\n"), "{out:?}");
}

#[test]
fn an_update_of_a_latin1_row_runs_with_counts_only_and_commits_the_exact_bytes() {
    let db = sql_ascii_db("enc_ascii_write");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());

    // A row of UTF-8 bytes previews as usual.
    t.line("update names set name = name || '!' where id = 2;");
    let shown = t.prompt(WRITER, "=*>");
    t.ensure(
        shown.contains("plain → plain!"),
        &format!("the plain row is previewed: {shown}"),
    );

    // The Latin-1 row: the preview would show the byte escaped, not as stored, so the
    // statement runs as typed and says why.
    t.line("update names set name = name || '!' where id = 1 returning name;");
    let shown = t.prompt(WRITER, "=*>");
    t.ensure(
        shown.contains("caf\\xe9!") && shown.contains("not UTF-8") && shown.contains("counts only"),
        &format!("counts only, with the reason: {shown}"),
    );
    t.line("select name from names order by id;");
    let shown = t.prompt(WRITER, "=*>");
    t.ensure(
        shown.contains("caf\\xe9!") && shown.contains("plain!"),
        &format!("the open transaction reads its change: {shown}"),
    );
    t.ensure(
        stored(&db, 1).as_deref() == Some("636166e9"),
        "nothing committed yet",
    );

    t.line("commit;");
    t.expect("Change digest: ");
    let env = db.name.clone();
    t.expect(&format!(
        "Type the environment name ({env}) to COMMIT, anything else keeps the transaction open: "
    ));
    t.line(&env);
    let answer = t.prompt(READER, "=>");
    t.ensure(
        answer.lines().any(|l| l.trim() == "COMMIT"),
        "the environment name commits",
    );
    t.ensure(
        stored(&db, 1).as_deref() == Some("636166e921"),
        &format!("the Latin-1 byte is kept: {:?}", stored(&db, 1)),
    );
    t.ensure(
        stored(&db, 2).as_deref() == Some("706c61696e21"),
        "the plain row committed",
    );
    t.quit();
}

#[test]
fn copy_to_a_file_refuses_values_it_has_only_escaped() {
    let db = sql_ascii_db("enc_ascii_copy");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("names.txt");
    let path = file.to_string_lossy().into_owned();
    let out = TestShell::new(&db)
        .args(["-c", &format!("\\copy names to '{path}'")])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not UTF-8"), "{out:?}");
    assert!(!file.exists(), "no file with escaped bytes is left");

    // Rows without such bytes export as psql's would.
    let out = TestShell::new(&db)
        .args([
            "-c",
            &format!("\\copy (select id, name from names where id = 2) to '{path}'"),
        ])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read(&file).expect("file"), b"2\tplain\n");
}

/// A statement that COPY refuses to wrap (0A000: a table with a DO ALSO rule, whose
/// UPDATE … RETURNING COPY cannot run) still runs, as a simple query, and returns its
/// rows; the rule's work and the update both happen once, and are rolled back.
#[test]
fn a_statement_copy_refuses_runs_without_copy() {
    let db = sql_ascii_db("enc_ascii_rule");
    db.exec(&format!(
        "CREATE TABLE ruled (id int PRIMARY KEY, v text); INSERT INTO ruled VALUES (1, 'a'); \
         CREATE TABLE ruled_log (id int); \
         CREATE RULE also_log AS ON UPDATE TO ruled DO ALSO INSERT INTO ruled_log VALUES (new.id); \
         GRANT SELECT, UPDATE ON ruled TO {WRITER}; GRANT SELECT, INSERT ON ruled_log TO {WRITER};"
    ));
    let out = TestShell::new(&db)
        .args([
            "-c",
            "update ruled set v = v || '!' where id = 1 returning v",
            "-c",
            "select (select v from ruled) || ' ' || (select count(*) from ruled_log) as seen",
        ])
        .run();
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    assert!(out.stdout.contains(" a!\n"), "the RETURNING row: {out:?}");
    assert!(
        out.stdout.contains(" a! 1\n"),
        "updated and logged once: {out:?}"
    );
    assert!(!out.stderr.contains("0A000"), "{out:?}");
    // The script's implicit ROLLBACK undid both.
    assert_eq!(db.value("SELECT v FROM ruled").as_deref(), Some("a"));
    assert_eq!(
        db.value("SELECT count(*) FROM ruled_log").as_deref(),
        Some("0")
    );
}

/// The rows a foreign key deletes are read around the statement by pgward's own
/// queries: one holding a Latin-1 byte leaves the change without undo, which could
/// otherwise re-insert `\xe9` text.
#[test]
fn a_cascade_over_latin1_rows_offers_no_undo() {
    let db = sql_ascii_db("enc_ascii_cascade");
    db.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (1), (2); \
         CREATE TABLE kid (id int PRIMARY KEY, parent int REFERENCES parent ON DELETE CASCADE, note text); \
         INSERT INTO kid VALUES (1, 1, E'caf\\xe9'), (2, 2, 'plain'); \
         GRANT SELECT, DELETE ON parent, kid TO {WRITER}; GRANT SELECT ON parent, kid TO {READER};"
    ));
    let home = tempfile::tempdir().expect("home");
    let (summary, intent) = crate::revert::run_and_commit(
        &db,
        home.path(),
        "delete from parent where id = 1;\ncommit;\n",
    );
    assert!(summary.contains("Undo: IMPOSSIBLE"), "{summary}");
    assert_eq!(intent["undo"]["possible"], false, "{intent}");
    assert!(!intent.to_string().contains("\\\\xe9"), "{intent}");
    assert_eq!(
        db.value("SELECT string_agg(id::text, ',' ORDER BY id) FROM kid")
            .as_deref(),
        Some("2")
    );
}
