//! `\copy … FROM` as a guarded write, with psql as the contract: the same files (csv with
//! a header, quotes, empty strings beside NULLs; text with escapes; a custom delimiter
//! and NULL string; a column list with defaults; data after the command in a script)
//! loaded by psql into a twin table and by pgward through the guard must leave the same
//! rows. A bad file, a missing one, an unknown column and an unconfirmed max_rows fail
//! closed: nothing is loaded, and the open transaction keeps its earlier work. The log
//! records the `\copy` with the SHA-256 of the data.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::term::{Start, Term};
use crate::util::{self, cluster, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER};

/// The twin tables: the same definition, each with its own sequence.
fn create_twins(db: &TestDb) {
    for t in ["cf", "cf_psql"] {
        db.exec(&format!(
            "CREATE TABLE {t} (id serial PRIMARY KEY, a int NOT NULL, t text, n numeric(6,2), \
               d date, flag boolean, note text DEFAULT 'dflt', arr int[]); \
             GRANT SELECT, INSERT ON {t} TO {WRITER}; GRANT SELECT ON {t} TO {READER}; \
             GRANT USAGE ON SEQUENCE {t}_id_seq TO {WRITER};"
        ));
    }
}

/// Every row of `table` as PostgreSQL's record text, in id order (NULL an empty field,
/// an empty string `""`).
fn rows(db: &TestDb, table: &str) -> String {
    db.value(&format!(
        "SELECT string_agg(x::text, E'\\n' ORDER BY x.id) FROM {table} x"
    ))
    .unwrap_or_default()
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The script both tools run, for table `t`, with the files in `dir`.
fn script(t: &str, dir: &Path) -> String {
    let f = |name: &str| dir.join(name).display().to_string();
    format!(
        "\\copy {t} (a, t, n, d, flag, arr) from '{}' with (format csv, header)\n\
         \\copy {t} (a, t, n, d) from '{}'\n\
         \\copy {t} (a, t, note) from '{}' delimiter '|' null 'NULL'\n\
         \\copy {t} (a, t) from stdin csv\n\
         30,\"from, stdin\"\n\
         31,\n\
         \\.\n\
         \\copy {t} (a, \"t\") from '{}' (format csv, delimiter ';', quote '''')\n",
        f("one.csv"),
        f("two.txt"),
        f("three.txt"),
        f("four.csv"),
    )
}

#[test]
fn copy_from_leaves_the_rows_psql_leaves_and_commits_them_through_the_guard() {
    let db = TestDb::new("cf_twin");
    create_twins(&db);
    let dir = tempfile::tempdir().expect("dir");
    let one = "a,t,n,d,flag,arr\n\
               1,\"x, y\",1.5,2024-02-29,t,\"{1,2}\"\n\
               2,,,,f,\n\
               3,\"\"\"q\"\"\nline2\",-0.005,2024-01-01,true,{}\n\
               4,\"\",0,,,\n";
    let files: [(&str, &str); 4] = [
        ("one.csv", one),
        (
            "two.txt",
            "10\tA\\tB\\\\C\t\\N\t2024-03-01\n11\t\\N\t7\t2024-03-02\n12\t\\101\\x42\t\\N\t\\N\n",
        ),
        ("three.txt", "20|NULL|x\n21|y|NULL\n22||\n"),
        ("four.csv", "40;'semi;colon'\n41;''\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write a data file");
    }

    // psql, as the superuser, into the twin.
    let theirs = dir.path().join("psql.sql");
    std::fs::write(&theirs, script("cf_psql", dir.path())).expect("psql's script");
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &cluster().conninfo(&db.name),
        "-f",
    ])
    .arg(&theirs);
    util::isolate(&mut cmd, home.path());
    let out = cmd.output().expect("psql is installed");
    assert!(out.status.success(), "psql: {out:?}");
    assert_eq!(
        db.value("SELECT count(*) FROM cf_psql").as_deref(),
        Some("14"),
        "psql loaded the files"
    );

    // pgward, through the guard, committed at the pty.
    let ours = home.path().join("fix.sql");
    std::fs::write(&ours, format!("{}commit;\n", script("cf", dir.path()))).expect("script");
    let path = ours.to_string_lossy().into_owned();
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-f", &path]);
    t.expect("COPY 4");
    // The preview shows the inserted rows, as for an INSERT.
    let preview = t.expect("COPY 3");
    t.ensure(
        preview.contains("x, y") && preview.contains("inserted"),
        &format!("the first load's inserted rows are previewed: {preview}"),
    );
    t.expect("COPY 3");
    t.expect("COPY 2");
    t.expect("COPY 2");
    let summary = t.expect("Change digest:");
    t.ensure(
        summary.contains("\\copy cf (a, t, n, d, flag, arr) from"),
        &format!("the summary lists the \\copy as typed: {summary}"),
    );
    t.expect("to COMMIT");
    t.ensure(
        rows(&db, "cf").is_empty(),
        "nothing is visible before COMMIT",
    );
    let env = t.env.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}"));
    assert_eq!(
        rows(&db, "cf"),
        rows(&db, "cf_psql"),
        "the same rows as psql's"
    );

    // The log: each load a write statement recording the data's SHA-256, its preview
    // counting the rows.
    let records = util::records(&util::only_log(home.path()));
    let copies: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| {
            r["kind"] == "statement" && r["text"].as_str().is_some_and(|s| s.starts_with("\\copy"))
        })
        .collect();
    assert_eq!(copies.len(), 5, "{copies:?}");
    assert!(copies
        .iter()
        .all(|r| r["class"] == "write" && r["outcome"] == "ok"));
    let first = copies[0]["text"].as_str().unwrap_or_default();
    assert!(
        first.contains(&format!("sha256:{}", sha256(one.as_bytes()))),
        "{first}"
    );
    let stdin = copies[3]["text"].as_str().unwrap_or_default();
    assert!(
        stdin.contains(&sha256(b"30,\"from, stdin\"\n31,\n")),
        "{stdin}"
    );
    let counted: Vec<i64> = records
        .iter()
        .filter(|r| r["kind"] == "preview")
        .map(|r| r["counts"][0]["inserted"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(counted, [4, 3, 3, 2, 2], "{records:?}");
    let intent = records
        .iter()
        .find(|r| r["kind"] == "commit_intent")
        .expect("a commit_intent");
    assert_eq!(intent["statements"].as_array().map(Vec::len), Some(5));

    // The recorded command runs again (replay, a reviewed script) only on the same data.
    let again = TestShell::new(&db).args(["--dry-run", "-c", first]).run();
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.starts_with("COPY 4\n"), "{again:?}");
    std::fs::write(dir.path().join("one.csv"), one.replace("x, y", "x, z")).expect("change");
    let again = TestShell::new(&db).args(["--dry-run", "-c", first]).run();
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains("is not the data recorded"),
        "{again:?}"
    );
    assert_eq!(rows(&db, "cf"), rows(&db, "cf_psql"));
}

#[test]
fn a_bad_file_loads_nothing_and_keeps_the_open_transaction() {
    let db = TestDb::new("cf_bad");
    create_twins(&db);
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "1\n2\nx\n4\n").expect("bad file");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("update items set qty = 0 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");

    // A value the column's type refuses, on the file's third line: one line, SQLSTATE.
    t.line(&format!("\\copy cf (a) from '{}' csv", bad.display()));
    let said = t.prompt(WRITER, "=*>");
    t.ensure(
        said.contains("bad.csv, line 3:") && said.contains("(22P02); nothing was loaded"),
        &format!("the bad line is named: {said}"),
    );
    // A file that does not exist, a column that does not, a NULL in a NOT NULL column.
    t.line(&format!(
        "\\copy cf (a) from '{}/missing.csv'",
        dir.path().display()
    ));
    let said = t.prompt(WRITER, "=*>");
    t.ensure(
        said.contains("nothing was loaded"),
        &format!("missing file: {said}"),
    );
    t.line(&format!("\\copy cf (a, nope) from '{}' csv", bad.display()));
    let said = t.prompt(WRITER, "=*>");
    t.ensure(said.contains("42703"), &format!("unknown column: {said}"));
    t.line("\\copy cf (t) from stdin");
    t.expect("End with a backslash and a period");
    t.line("no a");
    t.line("\\.");
    let said = t.prompt(WRITER, "=*>");
    t.ensure(said.contains("23502"), &format!("NOT NULL: {said}"));

    // Data typed at the prompt after the command, up to \.
    t.line("\\copy cf (a, t) from stdin csv");
    t.expect("End with a backslash and a period");
    t.line("7,seven");
    t.line("8,");
    t.line("\\.");
    t.expect("COPY 2");
    t.prompt(WRITER, "=*>");

    t.line("commit;");
    t.expect("to COMMIT");
    let env = t.env.clone();
    t.line(&env);
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(
        rows(&db, "cf"),
        "(2,7,seven,,,,dflt,)\n(3,8,,,,,dflt,)",
        "only the good load committed (the NOT NULL one drew id 1 before it failed)"
    );
    assert!(
        db.items().starts_with("1:0:item 1,"),
        "the earlier update was kept"
    );
}

#[test]
fn more_rows_than_max_rows_need_the_count_and_pstdin_reads_standard_input() {
    let db = TestDb::new("cf_max");
    create_twins(&db);
    let c = cluster();
    let config = format!(
        "author = \"tester\"\n\n[environments.prod]\nurl = \"postgresql://{LOGIN}@{}:{}/{}\"\n\
         write_role = \"{WRITER}\"\nread_role = \"{READER}\"\nrequire_approval = false\nmax_rows = 3\n",
        c.host(),
        c.port(),
        db.name
    );
    let run = |data: &str| {
        let shell = TestShell::bare();
        util::write_config(shell.home(), &config);
        shell
            .args([
                "--env",
                "prod",
                "--dry-run",
                "-c",
                "\\copy cf (a) from pstdin csv",
            ])
            .env("PGPASSWORD", PASSWORD)
            .stdin(data)
            .run()
    };
    // Four rows: more than max_rows, and nobody at a terminal types the count.
    let out = run("1\n2\n3\n4\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.starts_with("COPY 4\n"), "{out:?}");
    assert!(out.stderr.contains("max_rows (3)"), "{out:?}");
    // Three rows are within it; the data ends at \. as in psql.
    let out = run("1\n2\n3\n\\.\n4\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("COPY 3\n"), "{out:?}");
    assert_eq!(rows(&db, "cf"), "", "a dry run commits nothing");
}

#[test]
fn an_identity_always_column_takes_the_file_values_as_psql_copy_does() {
    let db = TestDb::new("cf_identity");
    for t in ["ga", "ga_psql"] {
        db.exec(&format!(
            "CREATE TABLE {t} (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int); \
             GRANT SELECT, INSERT ON {t} TO {WRITER};"
        ));
    }
    let data = "5\t1\n6\t2\n";
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &cluster().conninfo(&db.name),
    ])
    .args(["-c", "\\copy ga_psql (id, a) from pstdin"])
    .stdin(std::process::Stdio::piped());
    util::isolate(&mut cmd, home.path());
    let mut child = cmd.spawn().expect("psql is installed");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(data.as_bytes()).expect("feed psql");
    }
    let out = child.wait_with_output().expect("psql ran");
    assert!(out.status.success(), "psql: {out:?}");
    assert_eq!(rows(&db, "ga_psql"), "(5,1)\n(6,2)");
    let out = TestShell::new(&db)
        .args(["--dry-run", "-c", "\\copy ga (id, a) from pstdin"])
        .stdin(data)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("COPY 2\n"), "{out:?}");
}
