//! psql's query buffer and script variables, through the real binary: a meta-command
//! after SQL on the same line ends the statement, `-v`/`\set`/`\unset` expand as psql
//! expands them (psql 15 runs the same input on the same database and must agree),
//! `~/.pgwardrc` runs unless `-X`, `\watch` refuses writes, and a script error says
//! `FILE:LINE:`. Data are checked as the superuser.

use std::time::Duration;

use crate::term::{Start, Term};
use crate::util::{self, TestDb, TestShell, PASSWORD, READER, WRITER};

/// Every `R:…:R` marker in `out`, in order.
fn markers(out: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = out;
    while let Some(at) = rest.find("R:") {
        let tail = &rest[at + 2..];
        match tail.find(":R") {
            Some(end) => {
                found.push(tail[..end].to_string());
                rest = &tail[end + 2..];
            }
            None => break,
        }
    }
    found
}

/// psql 15 on the same database as the same login, reading `input` from a pipe.
fn psql(db: &TestDb, args: &[&str], input: &str) -> String {
    let out = util::psql_piped(
        &db.login_conninfo(),
        args,
        &[("PGPASSWORD", PASSWORD)],
        input,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn script_variables_expand_as_psql_expands_them() {
    let db = TestDb::new("sc_vars");
    let input = "\
\\set id 3
\\set col qty
\\set path 'c:\\\\tmp'
select 'R:' || :id || ':R' as a;
select 'R:' || :'name' || ':R' as b;
select 'R:' || :'path' || ':R' as c;
select 'R:' || :\"col\" || ':R' as d from (select 10 * :id as qty) s;
select 'R:' || ':id' || ' :''id'' ' || $$:id$$ || ':R' as e;
select 'R:' || 1 /* :id */ || ':R' as f; -- :id
select 'R:' || :id::text || :{?id} || :{?nope} || ':R' as g;
select 'R:' || replace('a
:id b', chr(10), '|') || ':R' as h;
select 'R:' || \":id\" || ':R' from (select 5 as \":id\") s;
\\unset id
select 'R:' || ':' || ':id' || ':R' as i;
select 'R:' || length(:'id') || ':R' as j;
";
    let args = ["-v", "name=O'Brien"];
    let ours = TestShell::new(&db).args(args).stdin(input).run();
    let theirs = psql(&db, &args, input);
    let want = markers(&theirs);
    assert_eq!(
        want.len(),
        10,
        "psql printed every marker but the last: {theirs}"
    );
    // `:'id'` of an unset variable is left as typed, as in psql; PostgreSQL's parser
    // rejects the result, and pgward reports the server's syntax error (42601) as psql
    // does, without sending it.
    assert_eq!(ours.code, 1, "{ours:?}");
    assert!(ours.stderr.contains("42601"), "{ours:?}");
    assert_eq!(
        markers(&ours.stdout),
        want,
        "pgward and psql expand alike: {ours:?}"
    );
    assert!(
        ours.stderr.contains("pgward:<stdin>:16:"),
        "the error names the line: {ours:?}"
    );
}

#[test]
fn script_meta_command_after_sql_ends_the_statement() {
    let db = TestDb::new("sc_meta");
    let input = "\
select 'R:' || 11 || ':R' as a \\g
select 'R:' || 12 || ':R' as b; \\echo R:after-b:R
select 'R:' || 13 || ':R'
  as c
\\g
\\p
\\r
select 'R:' || 14 || ':R' as d \\echo R:echo-first:R
;
\\echo R:done:R
";
    let ours = TestShell::new(&db).stdin(input).run();
    assert_eq!(ours.code, 0, "{ours:?}");
    let out = markers(&ours.stdout);
    // `\p` shows the last statement sent (the buffer is empty after `\g`).
    assert_eq!(
        out,
        [
            "11",
            "12",
            "after-b",
            "13",
            "' || 13 || '",
            "echo-first",
            "14",
            "done"
        ],
        "{ours:?}"
    );
    assert!(
        ours.stdout.contains("Query buffer reset (cleared)."),
        "{ours:?}"
    );
}

#[test]
fn script_watch_refuses_a_write_and_the_row_stays() {
    let db = TestDb::new("sc_watch");
    let before = db.items();
    let ours = TestShell::new(&db)
        .stdin("update items set qty = 0 where id = 1 \\watch 1\n")
        .run();
    assert_eq!(ours.code, 2, "{ours:?}");
    assert!(ours.stderr.contains("\\watch runs reads only"), "{ours:?}");
    assert_eq!(db.items(), before, "nothing changed");
}

#[test]
fn script_rc_file_runs_unless_skipped() {
    let db = TestDb::new("sc_rc");
    let t = TestShell::new(&db);
    std::fs::write(
        t.home().join(".pgwardrc"),
        "\\set id 4\nselect 'R:rc-ran:R' as rc;\n",
    )
    .expect("write rc");
    let ours = t
        .stdin("select 'R:' || qty || ':R' from items where id = :id;\n")
        .run();
    assert_eq!(ours.code, 0, "{ours:?}");
    assert_eq!(markers(&ours.stdout), ["rc-ran", "40"], "{ours:?}");

    let t = TestShell::new(&db).args(["-X"]);
    std::fs::write(t.home().join(".pgwardrc"), "\\set id 4\n").expect("write rc");
    let ours = t.stdin("select qty from items where id = :id;\n").run();
    assert_eq!(ours.code, 1, "-X: :id is not set, a syntax error: {ours:?}");
    assert!(ours.stderr.contains("42601"), "{ours:?}");

    // A write in the rc file goes through the guard like any other: without a terminal
    // its COMMIT cannot be confirmed, so pgward stops and nothing changes.
    let before = db.items();
    let t = TestShell::new(&db);
    std::fs::write(
        t.home().join(".pgwardrc"),
        "update items set qty = 0 where id = 2;\ncommit;\n",
    )
    .expect("write rc");
    let ours = t.stdin("select 1;\n").run();
    assert_eq!(ours.code, 2, "{ours:?}");
    assert!(ours.stderr.contains(".pgwardrc"), "{ours:?}");
    assert_eq!(db.items(), before, "the rc file's write was not committed");
}

#[test]
fn script_file_error_names_file_and_line() {
    let db = TestDb::new("sc_line");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("inner.sql"),
        "select 1;\n\nselect nosuch;\n",
    )
    .expect("inner");
    let file = dir.path().join("fix.sql");
    std::fs::write(
        &file,
        "select 'R:outer:R';\n\\ir inner.sql\nselect 'R:never:R';\n",
    )
    .expect("fix");
    let ours = TestShell::new(&db)
        .args(["-f", file.to_str().expect("utf-8 path")])
        .run();
    assert_eq!(ours.code, 1, "{ours:?}");
    assert!(ours.stderr.contains("42703"), "{ours:?}");
    assert_eq!(markers(&ours.stdout), ["outer"], "{ours:?}");
    let inner = dir.path().join("inner.sql");
    assert!(
        ours.stderr
            .contains(&format!("pgward:{}:3:", inner.display())),
        "{ours:?}"
    );
}

#[test]
fn repl_continuation_prompt_and_watch() {
    let db = TestDb::new("sc_repl");
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("select");
    t.prompt(READER, "->");
    t.line("'a");
    t.prompt(READER, "'>");
    t.line("b' as x \\g");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("a\r\nb") || out.contains("a +") || out.contains("b"),
        "the string ran",
    );
    t.line("select (1");
    t.prompt(READER, "(>");
    // Ctrl-C empties the buffer, as in psql.
    t.ctrl('c');
    t.prompt(READER, "=>");
    t.line("\\p");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("b' as x"),
        "\\p shows the last statement, not the cancelled one",
    );

    t.line("select 40 + 2 as w \\watch 0.3");
    t.expect("42");
    t.expect("(every 0.3s)");
    t.expect("42");
    std::thread::sleep(Duration::from_millis(100));
    t.ctrl('c');
    t.prompt(READER, "=>");
    t.line("\\q");
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
}

#[test]
fn script_edit_runs_the_edited_buffer_through_the_guard() {
    let db = TestDb::new("sc_edit");
    let dir = tempfile::tempdir().expect("dir");
    let editor = dir.path().join("editor.sh");
    // The "editor": turns 41 into 42, the read into a write on item 3, and ends the
    // statement with `;`.
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i -e 's/41/42/' -e 's/NEXT/update items set qty = 0 where id = 3/' -e '$s/$/;/' \"$1\"\n",
    )
    .expect("editor");
    let mut perms = std::fs::metadata(&editor).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).expect("chmod");
    let before = db.items();
    let ours = TestShell::new(&db)
        .env("EDITOR", editor.to_str().expect("utf-8"))
        .stdin("select 'R:' || 41 || ':R' as e\n\\e\nNEXT\n\\e\n")
        .run();
    assert_eq!(markers(&ours.stdout), ["42"], "{ours:?}");
    // The edited write ran in a guarded transaction that piped input cannot commit.
    assert!(ours.stdout.contains("UPDATE 1"), "{ours:?}");
    assert_eq!(ours.code, 2, "{ours:?}");
    assert_eq!(db.items(), before, "nothing was committed");
}

/// `\gset` sets variables from a read's one row as psql does (a prefix, NULL unsets),
/// and a write sent by `\gset` is refused unsent: the row stays.
#[test]
fn script_gset_sets_variables_as_psql_does() {
    let db = TestDb::new("sc_gset");
    let input = "\
\\set gone was-set
select 40 + 2 as answer, 'x y' as words, null as gone \\gset
select 'R:' || :answer || ':R' as a, 'R:' || :'words' || ':R' as b;
select 7 as n
\\gset p_
select 'R:' || :p_n || ':R' as d;
select 'R:' || :'gone' || ':R' as c;
";
    let ours = TestShell::new(&db).stdin(input).run();
    let theirs = psql(&db, &[], input);
    assert_eq!(
        ours.code, 1,
        "the unset :'gone' is a syntax error: {ours:?}"
    );
    assert_eq!(
        markers(&ours.stdout),
        markers(&theirs),
        "pgward and psql agree: {ours:?} / {theirs}"
    );
    assert_eq!(
        markers(&theirs),
        ["42", "x y", "7"],
        "NULL unset :gone: {theirs}"
    );

    let ours = TestShell::new(&db)
        .stdin("select 1 as one where false \\gset\n")
        .run();
    assert_eq!(ours.code, 1, "{ours:?}");
    assert!(
        ours.stderr.contains("no rows returned for \\gset"),
        "{ours:?}"
    );
    let ours = TestShell::new(&db)
        .stdin("select 1 as one from generate_series(1, 2) \\gset\n")
        .run();
    assert_eq!(ours.code, 1, "{ours:?}");

    let before = db.items();
    let ours = TestShell::new(&db)
        .stdin("update items set qty = 0 returning id \\gset\n")
        .run();
    assert_ne!(ours.code, 0, "{ours:?}");
    assert!(ours.stderr.contains("refused"), "{ours:?}");
    assert_eq!(db.items(), before, "the write was not sent");
}

/// A 5,000-line PL/pgSQL body with `:=` on every line, and a read with 10,000 `::`
/// casts, through `-f`: the reader lexes each byte once (the unit test
/// `repl::script::tests::reading_lexes_each_byte_once_however_long_the_open_statement`
/// counts it), and what reaches the server is the body as written: `:n` inside the
/// dollar quote is not expanded and a backslash in its comments starts no meta-command,
/// while `:n` in plain SQL is. After the confirmed COMMIT the function is there.
#[test]
fn script_long_function_body_runs_whole() {
    let db = TestDb::new("sc_long_body");
    db.exec(&format!("GRANT CREATE ON SCHEMA public TO {WRITER}"));
    let mut sql = String::from(
        "\\set n 12345\n\
         create function long_sum() returns bigint language plpgsql as $body$\n\
         declare v bigint := 0;\n\
         begin\n",
    );
    for _ in 0..5_000 {
        // Adds 1 while ':n' is two characters long (it would add 4 expanded).
        sql.push_str("  v := v + length(':n') - 1; -- \\echo R:meta:R\n");
    }
    sql.push_str("  return v;\nend\n$body$;\n");
    let casts: Vec<String> = (0..10_000).map(|k| format!("{k}::int")).collect();
    sql.push_str(&format!(
        "select 'R:' || cardinality(array[{}]) || ':' || :n::int || ':R' as casts;\ncommit;\n",
        casts.join(", ")
    ));
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("long.sql");
    std::fs::write(&script, &sql).expect("write the script");
    let path = script.to_string_lossy().into_owned();
    let mut t = Term::start_with(&db, home.path(), Start::WithPassword, &["-f", &path]);
    t.expect_within("R:10000:12345:R", Duration::from_secs(120));
    t.expect_within(
        &format!("Type the environment name ({}) to COMMIT", db.name),
        Duration::from_secs(60),
    );
    let env = db.name.clone();
    t.line(&env);
    let code = t.exit_code();
    t.ensure(code == 0, &format!("exit code {code}, expected 0"));
    t.ensure(
        !t.transcript.lines().any(|l| l.trim() == "R:meta:R"),
        "no backslash inside the body ran as a meta-command",
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_proc WHERE proname = 'long_sum'")
            .as_deref(),
        Some("1"),
        "the function was committed"
    );
    assert_eq!(
        db.value("SELECT long_sum()").as_deref(),
        Some("5000"),
        "the body ran as written, :n unexpanded"
    );
    assert_eq!(
        db.value(
            "SELECT array_length(string_to_array(prosrc, chr(10)), 1) FROM pg_proc WHERE proname = 'long_sum'"
        )
        .as_deref(),
        Some("5006"),
        "the whole body reached the server"
    );
}
