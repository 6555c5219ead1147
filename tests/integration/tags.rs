//! The command tag after a statement is the server's, as psql prints it: the same
//! statements through psql 15 and through pgward, each in a transaction that is rolled
//! back, must print the same tag line (`CREATE INDEX` for `create unique index`,
//! `SELECT 3` for `create table … as`, `REFRESH MATERIALIZED VIEW`, `COMMENT`).

use crate::util::{self, cluster, TestDb, TestShell, READER, WRITER};

/// Statements whose tag is not their first words, or not their first two.
const STATEMENTS: &[&str] = &[
    "create unique index items_qty on w.t (qty)",
    "create index if not exists items_note on w.t (note)",
    "create temp table scratch (a int)",
    "create table w.copy as select * from w.t",
    "select * into w.copy2 from w.t",
    "create or replace view w.v as select id from w.t",
    "create materialized view w.mv as select id from w.t",
    "refresh materialized view w.m",
    "comment on table w.t is 'the table'",
    "alter table w.t add column extra int",
    "alter table w.t rename column note to remark",
    "drop table if exists w.nothing",
    "create or replace function w.f() returns int language sql as 'select 1'",
    "create type w.mood as enum ('ok', 'sad')",
    "create sequence w.s",
    "truncate w.t",
    "lock table w.t in share mode",
    "analyze w.t",
    "do $$ begin perform 1; end $$",
];

/// The tag line psql prints for `sql` run as the write role in a rolled-back
/// transaction.
fn psql_tag(db: &TestDb, sql: &str) -> String {
    let input = format!("begin;\nset local role {WRITER};\n{sql};\nrollback;\n");
    let out = util::psql_piped(&cluster().conninfo(&db.name), &[], &[], &input);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "psql {sql}: {stdout} {:?}", out.stderr);
    lines[2].to_string()
}

#[test]
fn command_tags_are_the_servers_as_psql_prints_them() {
    let db = TestDb::new("tags");
    db.exec(&format!(
        "CREATE SCHEMA w AUTHORIZATION {WRITER}; \
         SET ROLE {WRITER}; \
         CREATE TABLE w.t (id int PRIMARY KEY, qty int, note text); \
         INSERT INTO w.t SELECT g, g, 'n' FROM generate_series(1, 3) g; \
         CREATE MATERIALIZED VIEW w.m AS SELECT id FROM w.t; \
         RESET ROLE"
    ));
    for sql in STATEMENTS {
        let theirs = psql_tag(&db, sql);
        let ours = TestShell::new(&db).stdin(&format!("{sql};\n")).run();
        let first = ours.stdout.lines().next().unwrap_or_default();
        assert_eq!(first, theirs, "{sql}: {ours:?}");
    }
    // A capture's own tag counts pgward's rows too: never shown for the typed statement.
    // (psql draws the zero-column result, `--` and `(2 rows)`; pgward says `SELECT 2`.)
    for (sql, psql_shows, ours_shows) in [
        (
            "with d as (delete from w.t where id < 3 returning *) select from d",
            "--\n(2 rows)\n",
            "SELECT 2\n",
        ),
        (
            "with d as (delete from w.t where id < 3 returning *) insert into w.t select id + 10, qty, note from d",
            "INSERT 0 2\n",
            "INSERT 0 2\n",
        ),
    ] {
        let input = format!("begin;\nset local role {WRITER};\n{sql};\nrollback;\n");
        let theirs = util::psql_piped(&cluster().conninfo(&db.name), &[], &[], &input);
        let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
        assert!(theirs.contains(psql_shows), "psql {sql}: {theirs}");
        let ours = TestShell::new(&db).stdin(&format!("{sql};\n")).run();
        assert!(ours.stdout.starts_with(ours_shows), "{sql}: {ours:?}");
    }
    // Everything was rolled back: the table is as it was.
    assert_eq!(db.value("select count(*) from w.t").as_deref(), Some("3"));
    assert_eq!(db.value("select to_regclass('w.copy')::text"), None);
}

/// `cmd` (in a home of its own) with `input` on a pipe and its output and errors in one
/// file, in the order it wrote them, as a terminal shows them.
fn merged(mut cmd: std::process::Command, env: &[(&str, &str)], input: &str) -> String {
    use std::io::Write;
    let home = tempfile::tempdir().expect("home");
    util::isolate(&mut cmd, home.path());
    cmd.envs(env.iter().copied());
    // One file for both: the two descriptors share one offset, so the writes land in
    // the order they were made.
    let path = home.path().join("merged.out");
    let file = std::fs::File::create(&path).expect("output file");
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(file.try_clone().expect("clone"))
        .stderr(file)
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("feed");
    drop(stdin);
    let ok = child.wait().expect("ran").success();
    let out = std::fs::read_to_string(&path).expect("read output");
    assert!(ok, "{out}");
    out
}

#[test]
fn notices_come_before_the_result_they_belong_to_as_in_psql() {
    let db = TestDb::new("tag_notices");
    db.exec(&format!(
        "CREATE FUNCTION noisy(n int) RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN RAISE NOTICE 'counting %', n; RETURN n * 2; END $$; \
         GRANT EXECUTE ON FUNCTION noisy(int) TO {READER}; \
         CREATE FUNCTION first_noisy(n int) RETURNS int LANGUAGE plpgsql AS \
         $$ BEGIN IF n = 1 THEN RAISE NOTICE 'first'; END IF; RETURN n; END $$; \
         GRANT EXECUTE ON FUNCTION first_noisy(int) TO {READER}"
    ));
    // The last one streams (more rows than a batch): its notice still comes first.
    let input = "select noisy(1) as doubled;\nselect noisy(g) from generate_series(1, 2) g;\n\
                 select first_noisy(g) as n from generate_series(1, 2500) g;\n";
    let mut psql = std::process::Command::new("psql");
    // pgward shows a notice's CONTEXT, as psql does with SHOW_CONTEXT=always.
    psql.args([
        "-X",
        "-q",
        "-v",
        "SHOW_CONTEXT=always",
        "-d",
        &cluster().conninfo(&db.name),
    ]);
    let role = format!("-c role={READER}");
    let theirs = merged(psql, &[("PGOPTIONS", &role)], input);
    // setsid: no controlling terminal, as in `TestShell`.
    let mut pgward = std::process::Command::new("setsid");
    pgward.args([
        "--wait",
        util::bin(),
        "-d",
        &db.login_conninfo(),
        "--write-role",
        WRITER,
        "--read-role",
        READER,
    ]);
    let ours = merged(pgward, &[("PGPASSWORD", util::PASSWORD)], input);
    // pgward names the SQLSTATE in every message; psql's default verbosity does not.
    assert_eq!(ours.replace("NOTICE:  00000: ", "NOTICE:  "), theirs);
}
