//! The guard sees what the server sees: statements classified by PostgreSQL's own
//! parser, PL/pgSQL bodies inspected, effects that survive ROLLBACK kept out of dry runs,
//! and session settings applied as SET LOCAL. Each test checks the data as superuser.

use crate::util::{admin_rows, assert_refused_alone, cluster, TestDb, TestShell, WRITER};

#[test]
fn dynamic_role_change_in_a_do_block_is_refused_and_changes_nothing() {
    let db = TestDb::new("gp_dynamic_role");
    let before = db.items();
    for body in [
        "execute 'SET LOCAL ' || 'ro' || 'le' || ' postgres'; update items set qty = 0",
        "execute convert_from(decode('U0VUIExPQ0FMIFJPTEUgcG9zdGdyZXM=', 'base64'), 'UTF8'); delete from items",
        "execute format('update %I set qty = 0', 'items')",
    ] {
        let out = assert_refused_alone(&db, &format!("DO $$ begin {body}; end $$"), "DynamicSql");
        assert!(out.stderr.contains("allow_dynamic_sql"), "the hint: {out:?}");
        assert_eq!(db.items(), before, "{body}");
    }
    // A refused function in a nested body is refused at CREATE time.
    assert_refused_alone(
        &db,
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ begin \
         perform dblink_exec('dbname=x', 'delete from items'); end $$",
        "OutsideReach",
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_proc WHERE proname = 'f'")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn allow_dynamic_sql_lets_a_computed_execute_run_as_an_opaque_write() {
    let db = TestDb::new("gp_allow_dynamic");
    let before = db.items();
    let shell = TestShell::bare();
    crate::util::write_config(
        shell.home(),
        &format!(
            "[environments.dev]\nurl = \"{}\"\nwrite_role = \"{WRITER}\"\nread_role = \"app_reader\"\nrequire_approval = false\nallow_dynamic_sql = true\n",
            db.login_conninfo()
        ),
    );
    let logs = tempfile::tempdir().expect("log dir");
    let out = shell
        .env("PGPASSWORD", crate::util::PASSWORD)
        .args(["--env", "dev", "--dry-run", "--log-dir"])
        .arg_path(logs.path())
        .stdin(
            "DO $$ begin execute format('update %I set qty = 0 where id <= 2', 'items'); end $$;\n\
             DO $$ begin update items set qty = 0 where id = 3; end $$;\n\
             commit;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("dry run"), "{out:?}");
    // The dynamic DO is marked opaque, once, above the server's count of what it did;
    // the static DO is not.
    let lines: Vec<&str> = out.stdout.lines().collect();
    let marks: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == pgward::sql::OPAQUE_DYNAMIC)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(marks.len(), 1, "{out:?}");
    assert_eq!(lines[marks[0] - 1], "DO", "{out:?}");
    let counted = lines[marks[0]..]
        .iter()
        .find(|l| l.trim_start().starts_with("items |"))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>());
    assert_eq!(counted, Some(vec!["items", "0", "2", "0"]), "{out:?}");
    // The session log's preview record carries the mark.
    let log: Vec<_> = std::fs::read_dir(logs.path())
        .expect("log dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(log.len(), 1, "{log:?}");
    let records = crate::util::records(&log[0]);
    let marked: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["kind"] == "preview")
        .filter(|r| {
            r["excerpt"]
                .as_str()
                .is_some_and(|e| e.starts_with(pgward::sql::OPAQUE_DYNAMIC))
        })
        .collect();
    assert_eq!(marked.len(), 1, "{records:?}");
    // The dry run rolled it back: the superuser sees every row as it was.
    assert_eq!(db.items(), before);
}

#[test]
fn maintenance_functions_that_survive_rollback_never_run_in_a_dry_run() {
    let db = TestDb::new("gp_brin");
    db.exec(
        "CREATE TABLE events (id int, at int) WITH (autovacuum_enabled = off); \
         CREATE INDEX events_brin ON events USING brin (at) WITH (pages_per_range = 1, autosummarize = off); \
         INSERT INTO events SELECT g, g FROM generate_series(1, 5000) g; \
         CREATE INDEX events_gin ON events USING gin (to_tsvector('simple', at::text)) WITH (fastupdate = on); \
         GRANT SELECT ON events TO app_reader, app_writer;",
    );
    for (flags, sql) in [
        (
            vec!["--dry-run"],
            "select brin_summarize_new_values('events_brin');",
        ),
        (
            vec!["--dry-run"],
            "select brin_summarize_range('events_brin', 0);",
        ),
        (
            vec!["--dry-run"],
            "select gin_clean_pending_list('events_gin');",
        ),
        (
            vec![],
            "\\preview select brin_summarize_new_values('events_brin')\n",
        ),
    ] {
        let out = TestShell::new(&db).args(flags).stdin(sql).run();
        assert_eq!(out.code, 2, "{sql}: {out:?}");
        assert!(out.stderr.contains("survives ROLLBACK"), "{sql}: {out:?}");
    }
    // Nothing was summarized: the superuser still finds every range unsummarized (the
    // table is out of autovacuum's reach, whose VACUUM would summarize ranges too).
    let summarized = db.value("SELECT brin_summarize_new_values('events_brin')");
    assert!(
        summarized
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
            > 0,
        "{summarized:?}"
    );
}

#[test]
fn planner_settings_are_applied_local_in_each_transaction() {
    let db = TestDb::new("gp_settings");
    let out = TestShell::new(&db)
        .stdin(
            "set work_mem = '7MB';\nshow work_mem;\nset enable_seqscan = off;\n\
             begin;\nselect current_setting('work_mem') as w, current_setting('enable_seqscan') as s;\n\
             rollback;\nreset work_mem;\nshow work_mem;\n",
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert!(lines.contains(&"7MB"), "{out:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("7MB") && l.ends_with("off")),
        "{out:?}"
    );
    assert!(lines.contains(&"4MB"), "reset: {out:?}");
}

#[test]
fn registered_dotted_settings_are_not_placeholders() {
    let db = TestDb::new("gp_dotted");
    // The premise: once PL/pgSQL is loaded, its settings are registered, not placeholders.
    let registered = admin_rows(
        cluster(),
        &db.name,
        "DO $$BEGIN END$$; SELECT count(*) FROM pg_settings \
         WHERE name IN ('plpgsql.check_asserts', 'plpgsql.variable_conflict')",
    );
    assert_eq!(registered[0][0].as_deref(), Some("2"), "{registered:?}");
    for sql in [
        "SET plpgsql.check_asserts = off",
        "SET session_replication_role = replica",
    ] {
        assert_refused_alone(&db, sql, "GuardSetting");
    }
    // H.1: refused because the server registered it, and it says so.
    let out = assert_refused_alone(
        &db,
        "SET plpgsql.variable_conflict = use_column",
        "GuardSetting",
    );
    assert!(
        out.stderr.contains("registered, not a custom placeholder"),
        "{out:?}"
    );
    // An unregistered dotted name is a placeholder: accepted, and it holds.
    let out = TestShell::new(&db)
        .stdin("SET myapp.x = 1;\nSET myapp.tenant = '7';\nselect current_setting('myapp.x') || '/' || current_setting('myapp.tenant') as t;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.trim() == "1/7"), "{out:?}");
    assert!(!out.stderr.contains("refused"), "{out:?}");
}

/// The forms a DBA types daily that sqlparser could not parse, each run through the guard
/// in one transaction: none is refused, each is previewed (or shown with counts only), a
/// read in the same transaction sees what it did, and the dry run leaves the database as
/// it was for the superuser.
#[test]
fn daily_dba_forms_run_in_the_guarded_transaction_and_do_what_they_say() {
    let db = TestDb::new("gp_daily");
    db.exec(&format!(
        "CREATE TABLE arr (id int PRIMARY KEY, a int[]); INSERT INTO arr VALUES (1, '{{1,2,3}}'), (2, '{{4,5,6}}'); \
         CREATE TABLE docs (id int PRIMARY KEY, body text); INSERT INTO docs VALUES (1, 'a'), (2, 'b'); \
         CREATE MATERIALIZED VIEW docs_mv AS SELECT * FROM docs; \
         ALTER TABLE arr OWNER TO {WRITER}; ALTER TABLE docs OWNER TO {WRITER}; \
         ALTER MATERIALIZED VIEW docs_mv OWNER TO {WRITER}; \
         CREATE TYPE pair AS (x int, y int); \
         CREATE FUNCTION mkpair(i int) RETURNS pair LANGUAGE sql AS 'SELECT i, i * 2'; \
         GRANT SELECT ON arr, docs, docs_mv TO app_reader; GRANT CREATE ON SCHEMA public TO {WRITER};"
    ));
    let snapshot = || {
        db.value(
            "SELECT (SELECT string_agg(id || ':' || a::text, ',' ORDER BY id) FROM arr) \
             || '|' || (SELECT string_agg(id || ':' || body, ',' ORDER BY id) FROM docs) \
             || '|' || (SELECT string_agg(body, ',' ORDER BY id) FROM docs_mv) \
             || '|' || coalesce(obj_description('docs'::regclass, 'pg_class'), '-') \
             || '|' || has_table_privilege('app_reader', 'docs', 'UPDATE') \
             || '|' || (SELECT indisclustered FROM pg_index WHERE indexrelid = 'docs_pkey'::regclass) \
             || '|' || (SELECT count(*) FROM pg_proc WHERE proname = 'add_one') \
             || '|' || (SELECT string_agg(attname || attnotnull, ',' ORDER BY attnum) FROM pg_attribute \
                        WHERE attrelid = 'docs'::regclass AND attnum > 0 AND NOT attisdropped)",
        )
    };
    let before = snapshot();
    assert_eq!(
        before.as_deref(),
        Some("1:{1,2,3},2:{4,5,6}|1:a,2:b|a,b|-|false|false|0|idtrue,bodyfalse")
    );
    let script = "\
create function add_one(i int) returns int language sql begin atomic select i + 1; end;
select 'answer=' || add_one(41) as v;
update arr set a[2] = 20 where id = 1;
select 'arr=' || a::text as v from arr where id = 1;
declare c cursor for select * from docs where id = 2;
fetch 1 from c;
update docs set body = 'current' where current of c;
close c;
select 'docs=' || body as v from docs where id = 2;
select 'win=' || string_agg(s::text, ',' order by id) as v from (select id, sum(id) over (order by id rows between 1 preceding and 1 following exclude current row) as s from docs) w;
select 'pair=' || string_agg(x || '/' || y, ',') as v from (select (mkpair(g)).* from generate_series(1, 2) g) p;
table docs;
refresh materialized view docs_mv;
select 'mv=' || string_agg(body, ',' order by id) as v from docs_mv;
cluster docs using docs_pkey;
reindex table docs;
comment on table docs is 'reviewed';
grant update on docs to app_reader;
revoke select on arr from app_reader;
alter table docs add column extra int;
alter table docs alter column body set not null;
alter table docs rename column extra to extra2;
select 'seen=' || coalesce(obj_description('docs'::regclass, 'pg_class'), '-') || ',' || has_table_privilege('app_reader', 'docs', 'UPDATE') || ',' || has_table_privilege('app_reader', 'arr', 'SELECT') || ',' || (select indisclustered from pg_index where indexrelid = 'docs_pkey'::regclass) || ',' || (select string_agg(attname || attnotnull, ',' order by attnum) from pg_attribute where attrelid = 'docs'::regclass and attnum > 0 and not attisdropped) as v;
commit;
";
    let out = TestShell::new(&db).args(["--dry-run"]).stdin(script).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("refused"), "{out:?}");
    assert!(!out.stderr.contains("ERROR"), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    for seen in [
        "answer=42",
        "arr={1,20,3}",
        "docs=current",
        "win=2,1",
        "pair=1/2,2/4",
        "mv=a,current",
        "seen=reviewed,true,false,true,idtrue,bodytrue,extra2false",
    ] {
        assert!(lines.contains(&seen), "{seen}: {out:?}");
    }
    // TABLE docs printed the updated row; each statement's tag, and a preview per write.
    assert!(
        lines.iter().any(|l| l.replace(' ', "") == "2|current"),
        "{out:?}"
    );
    for tag in [
        "CREATE FUNCTION",
        "DECLARE CURSOR",
        "CLOSE CURSOR",
        "CLUSTER",
        "REINDEX",
        "GRANT",
        "REVOKE",
        "ALTER TABLE",
    ] {
        assert!(lines.contains(&tag), "{tag}: {out:?}");
    }
    assert!(
        out.stdout.matches("Rows changed by this statement").count() >= 3,
        "{out:?}"
    );
    assert!(out.stderr.contains("dry run"), "{out:?}");
    // Rolled back, all of it: the superuser sees the database as it was.
    assert_eq!(snapshot(), before);
}

#[test]
fn statements_sqlparser_could_not_parse_now_run_with_previews() {
    let db = TestDb::new("gp_ddl");
    db.exec(&format!(
        "CREATE TABLE docs (id int PRIMARY KEY, body text); INSERT INTO docs VALUES (1, 'a'); \
         ALTER TABLE docs OWNER TO {WRITER}; \
         CREATE MATERIALIZED VIEW docs_mv AS SELECT * FROM docs; ALTER MATERIALIZED VIEW docs_mv OWNER TO {WRITER}; \
         GRANT SELECT ON docs TO app_reader;"
    ));
    let script = "alter table docs add column extra int;\n\
                  grant select on docs to app_reader;\n\
                  comment on table docs is 'reviewed';\n\
                  refresh materialized view docs_mv;\n\
                  cluster docs using docs_pkey;\n\
                  reindex table docs;\n\
                  table items;\n\
                  commit;\n";
    let out = TestShell::new(&db).args(["--dry-run"]).stdin(script).run();
    assert_eq!(out.code, 0, "{out:?}");
    for tag in [
        "ALTER TABLE",
        "GRANT",
        "COMMENT",
        "REFRESH MATERIALIZED VIEW",
        "CLUSTER",
        "REINDEX",
    ] {
        assert!(out.stdout.contains(tag), "{tag}: {out:?}");
    }
    assert!(out.stdout.contains("item 5"), "TABLE items: {out:?}");
    assert!(!out.stderr.contains("refused"), "{out:?}");
    // DDL previews: the lock each statement takes and the tables it rewrites.
    assert!(
        out.stdout.contains("DDL: takes ACCESS EXCLUSIVE on docs"),
        "{out:?}"
    );
    assert!(out.stdout.contains("DDL: rewrites docs"), "{out:?}");
    // The dry run rolled everything back.
    assert_eq!(
        db.value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'docs' AND column_name = 'extra'").as_deref(),
        Some("0")
    );
    assert_eq!(db.value("SELECT obj_description('docs'::regclass)"), None);
}

#[test]
fn a_name_inside_a_string_literal_is_not_a_call() {
    let db = TestDb::new("gp_literal");
    let out = TestShell::new(&db)
        .stdin("select count(*) as n from pg_stat_user_tables where relname = 'dblink_stats';\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.trim() == "0"), "{out:?}");
}
