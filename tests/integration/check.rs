//! `pgward check`: the classifier and policy over files with no connection, its JSON
//! report (snapshots), exit statuses, and environments from the config file.

use crate::util::{write_config, TestShell};

/// Statements of every class, including the ones sqlparser could not parse and the
/// dynamic-SQL tricks.
const CORPUS: &str = "\
-- a reviewed fix
select * from pg_stat_user_tables where relname = 'dblink_stats';
TABLE orders;
update orders set tags[1] = 'vip' where id = 7;
alter table orders add column note text;
refresh materialized view order_totals;
grant select on orders to app_reader;
SET work_mem = '64MB';
begin;
select brin_summarize_new_values('orders_brin');
DO $$ begin execute 'SET LOCAL ' || 'ro' || 'le' || ' postgres'; end $$;
CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ begin perform dblink_exec('x', 'y'); end $f$;
SET plpgsql.check_asserts = off;
commit;
";

fn run_check(args: &[&str], files: &[(&str, &str)]) -> (crate::util::Output, String) {
    let shell = TestShell::bare();
    let dir = shell.home().join("sql");
    std::fs::create_dir_all(&dir).expect("dir");
    let mut paths = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write sql");
        paths.push(p.display().to_string());
    }
    let home = shell.home().display().to_string();
    let out = shell.args(["check"]).args(args).args(&paths).run();
    (out, home)
}

#[test]
fn json_report_snapshot() {
    let (out, home) = run_check(&["--format", "json"], &[("fix.sql", CORPUS)]);
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(json["version"], 1);
    let shown = out.stdout.replace(&home, "[HOME]");
    insta::assert_snapshot!(shown);
}

#[test]
fn text_report_snapshot() {
    let (out, home) = run_check(&[], &[("fix.sql", CORPUS)]);
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stdout.replace(&home, "[HOME]"));
}

#[test]
fn exit_statuses() {
    let clean = "select 1;\nupdate t set a = 1 where id = 2;\n";
    assert_eq!(run_check(&[], &[("a.sql", clean)]).0.code, 0);
    let ddl = "alter table t add column b int;\n";
    assert_eq!(run_check(&[], &[("a.sql", ddl)]).0.code, 0);
    let (out, _) = run_check(&["--no-ddl"], &[("a.sql", ddl)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("--no-ddl"), "{out:?}");
    let warns = "select nextval('s');\n";
    assert_eq!(run_check(&[], &[("a.sql", warns)]).0.code, 0);
    assert_eq!(run_check(&["--strict"], &[("a.sql", warns)]).0.code, 1);
    // Several files: the worst one decides.
    let (out, _) = run_check(
        &["--format", "json"],
        &[("a.sql", clean), ("b.sql", "copy t to program 'x';\n")],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(json["files"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["files"][1]["statements"][0]["rule"], "OutsideReach");
}

#[test]
fn environment_policy_from_the_config_file() {
    const CONFIG: &str = "[environments.readonly]\nurl = \"host=db\"\nrequire_approval = false\n\n\
         [environments.scripts]\nurl = \"host=db\"\nwrite_role = \"w\"\nrequire_approval = false\nallow_dynamic_sql = true\n";
    let sql_dir = tempfile::tempdir().expect("dir");
    let sql = sql_dir.path().join("a.sql");
    std::fs::write(
        &sql,
        "update t set a = 1;\nDO $$ begin execute format('delete from %I', 't'); end $$;\n",
    )
    .expect("write");
    let shell = TestShell::bare();
    write_config(shell.home(), CONFIG);
    let out = shell
        .args(["check", "--env", "readonly", "--format", "json"])
        .arg_path(&sql)
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let first = &json["files"][0]["statements"][0];
    assert_eq!(first["decision"], "refuse");
    assert!(
        first["reasons"].to_string().contains("no write role"),
        "{first}"
    );

    let elsewhere = tempfile::tempdir().expect("dir");
    let config = elsewhere.path().join("pgward.toml");
    std::fs::write(&config, CONFIG).expect("write config");
    let out = TestShell::bare()
        .args(["check", "--config"])
        .arg_path(&config)
        .args(["--env", "scripts", "--format", "json"])
        .arg_path(&sql)
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(json["files"][0]["statements"][1]["class"], "write");

    let out = TestShell::bare()
        .args(["check", "--config"])
        .arg_path(&config)
        .args(["--env", "nope"])
        .arg_path(&sql)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
}

#[test]
fn a_file_that_is_not_utf8_is_named_with_its_byte_offset() {
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.sql");
    std::fs::write(&good, "select 1;\n").expect("write");
    // Latin-1 `é` (0xE9) at byte 21, on line 2.
    let latin1 = dir.path().join("latin1.sql");
    std::fs::write(&latin1, b"select 1;\nselect 'caf\xe9';\n").expect("write");
    let out = TestShell::bare()
        .args(["check", "--format", "json"])
        .arg_path(&good)
        .arg_path(&latin1)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    // No report at all: a partial one could read as "checked, clean".
    assert_eq!(out.stdout, "", "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let shown = latin1.display().to_string();
    assert!(lines[0].contains(&shown), "{out:?}");
    assert!(lines[0].contains("byte 21 (line 2)"), "{out:?}");
    assert!(lines[0].contains("UTF-8"), "{out:?}");
}

#[test]
fn a_call_takes_the_class_of_a_function_created_earlier_in_the_file() {
    let file = "\
select f();
create function f() returns int language plpgsql as $$ begin insert into t values (1); return 1; end $$;
select f();
declare c cursor for select f();
drop function f();
create function f() returns int language sql as 'select 1';
select f();
create procedure p() language plpgsql as $$ begin perform dblink_exec('x', 'y'); end $$;
call p();
";
    let (out, _) = run_check(&["--format", "json"], &[("fn.sql", file)]);
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let statements = &json["files"][0]["statements"];
    let class = |i: usize| {
        statements[i]["class"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(class(0), "read", "unknown before its CREATE: {json}");
    assert_eq!(class(2), "write", "{json}");
    assert_eq!(statements[3]["rule"], "Cursor", "{json}");
    assert_eq!(class(6), "read", "{json}");
    assert_eq!(statements[7]["rule"], "OutsideReach", "{json}");
    // pgward would not run that CREATE, but the procedure may exist all the same: its
    // call is an opaque write, as the session treats a procedure it never saw created.
    assert_eq!(class(8), "write", "{json}");
    assert_eq!(statements[8]["rule"], serde_json::Value::Null, "{json}");
}

/// A FETCH or MOVE runs its cursor's query: after a DECLARE pgward refuses, it is
/// refused for the same reason (the READ ONLY oracle's one miss on PostgreSQL's
/// regression SQL, `FETCH ctt` in transactions.sql); a cursor never declared in the file
/// stays a read, and an accepted DECLARE of the name replaces the refusal.
#[test]
fn a_fetch_of_a_cursor_whose_declare_is_refused_is_refused() {
    let file = "\
create function w() returns int language plpgsql as $$ begin insert into t values (1); return 1; end $$;
begin;
declare ctt cursor for select w();
fetch ctt;
move 2 in ctt;
fetch 1 from other;
declare hold cursor with hold for select 1;
fetch all from hold;
close ctt;
declare ctt cursor for select 1;
fetch ctt;
commit;
";
    let (out, _) = run_check(&["--format", "json"], &[("cur.sql", file)]);
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let statements = &json["files"][0]["statements"];
    let rule = |i: usize| statements[i]["rule"].clone();
    let class = |i: usize| {
        statements[i]["class"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(rule(2), "Cursor", "{json}");
    assert_eq!(rule(3), "Cursor", "{json}");
    assert_eq!(rule(4), "Cursor", "{json}");
    assert_eq!(class(5), "read", "never declared here: {json}");
    assert_eq!(rule(6), "Cursor", "{json}");
    assert_eq!(rule(7), "Cursor", "{json}");
    assert_eq!(
        class(10),
        "read",
        "an accepted DECLARE replaces the refusal: {json}"
    );
    assert_eq!(rule(10), serde_json::Value::Null, "{json}");
}

/// A meta-command ends the statement's SQL where `pgward -f` (and psql) end it, also in
/// the middle of a statement: `\g` sends what was typed so far, `\r` discards it,
/// `\gexec` is refused (it would run result values as statements), and a backslash in a
/// string is no meta-command.
#[test]
fn meta_commands_end_statements_where_the_script_runner_does() {
    let file = "\
select 1
\\g
update t set a = 1
  where b = 2 \\g
delete from t
\\r
select format('delete from %I', relname) from pg_class
\\gexec
select E'a\\\\b', 'c\\d';
select 2; \\echo done
insert into t
\\echo inside
values (1);
";
    let (out, _) = run_check(&["--format", "json"], &[("meta.sql", file)]);
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let statements = json["files"][0]["statements"]
        .as_array()
        .expect("statements")
        .clone();
    let text = |i: usize| {
        let (s, e) = (
            statements[i]["start"].as_u64().unwrap_or(0) as usize,
            statements[i]["end"].as_u64().unwrap_or(0) as usize,
        );
        file[s..e].trim().to_string()
    };
    let class = |i: usize| {
        statements[i]["class"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(text(0), "select 1", "{json}");
    assert_eq!(class(0), "read", "{json}");
    assert_eq!(text(1), "update t set a = 1\n  where b = 2", "{json}");
    assert_eq!(class(1), "write", "{json}");
    // The discarded DELETE is no statement; the \gexec query is refused.
    assert!(file[..statements[2]["start"].as_u64().unwrap_or(0) as usize].contains("\\r"));
    assert!(text(2).starts_with("select format("), "{json}");
    assert_eq!(statements[2]["decision"], "refuse", "{json}");
    assert_eq!(statements[2]["rule"], "MetaCommand", "{json}");
    assert!(
        statements[2]["reasons"][0]
            .as_str()
            .unwrap_or_default()
            .contains("\\gexec"),
        "{json}"
    );
    assert_eq!(
        text(3),
        "select E'a\\\\b', 'c\\d'",
        "a backslash in a string: {json}"
    );
    assert_eq!(class(3), "read", "{json}");
    assert_eq!(text(4), "select 2", "{json}");
    // A meta-command inside a statement is not followed: refused, never misread.
    assert_eq!(statements[5]["rule"], "MetaCommand", "{json}");
    assert!(text(5).starts_with("insert into t"), "{json}");
    assert!(
        statements
            .iter()
            .all(|s| s["class"] != "write" || s["decision"] != "allow"),
        "{json}"
    );
}

/// A CREATE FUNCTION or DECLARE refused as the file is cut (sent by `\gexec`, joined to
/// another statement by `\;`) is nothing pgward would run, but psql would have run it:
/// a later call of that function is an opaque write, never a read, and a FETCH of that
/// cursor is refused, as after any CREATE or DECLARE pgward refuses. Every statement of
/// a `\;` group is refused, the last one (ended by `;`) included.
#[test]
fn functions_and_cursors_refused_as_the_file_is_cut_are_followed() {
    let file = "\
create function f() returns int language sql as 'select 1' \\gexec
select f();
select 1 \\; create function g() returns int language sql as 'select 1';
select g();
begin;
declare c cursor for select 1 \\gexec
fetch c;
commit;
select h();
";
    let (out, _) = run_check(&["--format", "json"], &[("cut.sql", file)]);
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let statements = json["files"][0]["statements"]
        .as_array()
        .expect("statements")
        .clone();
    let at = |start: &str| {
        statements
            .iter()
            .find(|s| {
                let (a, b) = (
                    s["start"].as_u64().unwrap_or(0) as usize,
                    s["end"].as_u64().unwrap_or(0) as usize,
                );
                file[a..b].starts_with(start)
            })
            .unwrap_or_else(|| panic!("no statement {start:?}: {json}"))
            .clone()
    };
    for refused in [
        "create function f",
        "select 1",
        "create function g",
        "declare c",
        "fetch c",
    ] {
        assert_eq!(at(refused)["rule"], "MetaCommand", "{refused}: {json}");
    }
    for call in ["select f()", "select g()"] {
        assert_eq!(at(call)["class"], "write", "{call}: {json}");
        assert_eq!(at(call)["decision"], "approve", "{call}: {json}");
    }
    assert_eq!(at("select h()")["class"], "read", "never created: {json}");
}
