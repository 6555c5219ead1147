//! The classifier's corpus: tricky statements with the verdict each must get, covering
//! every class of issue 6 (statements sqlparser could not parse, names inside string
//! literals, dynamic SQL in bodies, effects that survive ROLLBACK, settings).

use super::verdict::{Named, Options, TxControl, Verdict};
use super::{analyze, classify};
use crate::policy::{Refusal, Rule};

fn refused(sql: &str) -> Rule {
    match classify(sql) {
        Verdict::Refused(r) => r.rule,
        other => panic!("{sql:?} was not refused: {other:?}"),
    }
}

fn tx(sql: &str) -> TxControl {
    match classify(sql) {
        Verdict::Transaction(t) => t,
        other => panic!("{sql:?} is not transaction control: {other:?}"),
    }
}

const W: Verdict = Verdict::Write { opaque: false };
const OPAQUE: Verdict = Verdict::Write { opaque: true };

#[test]
fn classes() {
    let cases: &[(&str, Verdict)] = &[
        ("SELECT * FROM t", Verdict::Read),
        ("select 1 from pg_stat_activity", Verdict::Read),
        ("VALUES (1), (2)", Verdict::Read),
        ("SHOW work_mem", Verdict::Read),
        ("EXPLAIN DELETE FROM t", Verdict::Read),
        ("EXPLAIN ANALYZE SELECT 1", Verdict::Read),
        ("EXPLAIN ANALYZE DELETE FROM t", W),
        ("EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", W),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", W),
        (
            "SELECT * FROM (WITH x AS (UPDATE t SET a=1 RETURNING a) SELECT * FROM x) s",
            W,
        ),
        ("SELECT * FROM t FOR UPDATE", W),
        ("SELECT * FROM t FOR SHARE", W),
        ("SELECT * FROM t FOR UPDATE OF t NOWAIT", W),
        ("SELECT * INTO newt FROM t", Verdict::Ddl),
        ("INSERT INTO t VALUES (1) ON CONFLICT (a) DO NOTHING", W),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", W),
        ("SELECT pg_advisory_xact_lock(1)", Verdict::Read),
        ("select current_setting('role')", Verdict::Read),
        ("SELECT nextval('s')", OPAQUE),
        ("INSERT INTO t VALUES (1)", W),
        ("INSERT INTO t SELECT * FROM u RETURNING *", W),
        ("UPDATE t SET role = 'admin' WHERE id = 1", W),
        ("DELETE FROM t WHERE id = 1", W),
        (
            "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE",
            W,
        ),
        ("LOCK TABLE t IN ROW EXCLUSIVE MODE", W),
        ("TRUNCATE t", OPAQUE),
        ("CALL p(1)", OPAQUE),
        ("DO $$ begin update t set a = 1; end $$", OPAQUE),
        ("DO LANGUAGE plpgsql 'begin null; end'", Verdict::Read),
        ("CREATE TABLE x (a int)", Verdict::Ddl),
        ("CREATE TABLE x AS SELECT * FROM t", Verdict::Ddl),
        ("ALTER TABLE t ADD COLUMN b int", Verdict::Ddl),
        ("DROP TABLE t", Verdict::Ddl),
        ("CREATE INDEX i ON t (a)", Verdict::Ddl),
        ("COMMENT ON TABLE t IS 'x'", Verdict::Ddl),
        ("GRANT SELECT ON t TO u", Verdict::Ddl),
        ("REVOKE SELECT ON t FROM u", Verdict::Ddl),
        ("CREATE EXTENSION pg_trgm", Verdict::Ddl),
        ("ANALYZE t", Verdict::Ddl),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ select 1 $$",
            Verdict::Ddl,
        ),
        ("SET search_path TO a, b", Verdict::Session),
        ("SET LOCAL work_mem = '64MB'", Verdict::Session),
        ("SET timezone = 'UTC'", Verdict::Session),
        ("SET TIME ZONE 'UTC'", Verdict::Session),
        ("SET client_min_messages = warning", Verdict::Session),
        ("SET app.tenant_id = '42'", Verdict::Session),
        ("RESET search_path", Verdict::Session),
        ("DISCARD PLANS", Verdict::Session),
        ("select set_config('search_path', 'x', true)", Verdict::Read),
    ];
    for (sql, want) in cases {
        assert_eq!(&classify(sql), want, "{sql}");
    }
}

/// Statements PostgreSQL refuses inside a transaction block: the session runs them alone,
/// after an approval bound to their text; the verdict names them and their lock.
#[test]
fn non_transactional() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "CREATE INDEX CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        (
            "create unique index concurrently if not exists i on t (a) where a > 0",
            "CREATE INDEX CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        (
            "DROP INDEX CONCURRENTLY IF EXISTS i",
            "DROP INDEX CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        (
            "REINDEX TABLE CONCURRENTLY t",
            "REINDEX … CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        (
            "REINDEX (CONCURRENTLY) INDEX i",
            "REINDEX … CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        (
            "REINDEX SCHEMA CONCURRENTLY s",
            "REINDEX SCHEMA … CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
        ("REINDEX SCHEMA s", "REINDEX SCHEMA", "ACCESS EXCLUSIVE"),
        ("VACUUM", "VACUUM", "SHARE UPDATE EXCLUSIVE"),
        ("VACUUM ANALYZE t", "VACUUM", "SHARE UPDATE EXCLUSIVE"),
        (
            "vacuum (verbose, analyze) t (a)",
            "VACUUM",
            "SHARE UPDATE EXCLUSIVE",
        ),
        ("VACUUM (FULL) t", "VACUUM FULL", "ACCESS EXCLUSIVE"),
        ("VACUUM FULL t", "VACUUM FULL", "ACCESS EXCLUSIVE"),
        ("VACUUM (FULL false) t", "VACUUM", "SHARE UPDATE EXCLUSIVE"),
        (
            "ALTER TABLE t DETACH PARTITION p CONCURRENTLY",
            "ALTER TABLE … DETACH PARTITION … CONCURRENTLY",
            "SHARE UPDATE EXCLUSIVE",
        ),
    ];
    for (sql, what, lock) in cases {
        let a = analyze(sql, &Options::default());
        assert_eq!(a.verdict, Verdict::NonTransactional { what, lock }, "{sql}");
        assert_eq!(a.lock, Some(*lock), "{sql}");
    }
    // What the statement calls is still inspected: a refused function refuses it.
    assert!(matches!(
        classify("CREATE INDEX CONCURRENTLY i ON t (a) WHERE pg_terminate_backend(a)"),
        Verdict::Refused(_)
    ));
    // The forms that run in a transaction block stay schema changes.
    assert_eq!(classify("CREATE INDEX i ON t (a)"), Verdict::Ddl);
    assert_eq!(classify("ANALYZE t"), Verdict::Ddl);
    assert_eq!(classify("REINDEX TABLE t"), Verdict::Ddl);
}

#[test]
fn transaction_control() {
    assert_eq!(tx("BEGIN"), TxControl::Begin { isolation: None });
    assert_eq!(
        tx("start transaction"),
        TxControl::Begin { isolation: None }
    );
    assert_eq!(
        tx("BEGIN ISOLATION LEVEL REPEATABLE READ"),
        TxControl::Begin {
            isolation: Some("REPEATABLE READ".into())
        }
    );
    assert_eq!(
        tx("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        TxControl::Begin {
            isolation: Some("SERIALIZABLE".into())
        }
    );
    // READ WRITE is what pgward's write transaction is: accepted, as plain BEGIN.
    assert_eq!(tx("BEGIN READ WRITE"), TxControl::Begin { isolation: None });
    assert_eq!(
        tx("start transaction isolation level serializable, read write, not deferrable"),
        TxControl::Begin {
            isolation: Some("SERIALIZABLE".into())
        }
    );
    assert_eq!(tx("COMMIT"), TxControl::Commit);
    assert_eq!(tx("END"), TxControl::Commit);
    assert_eq!(tx("COMMIT AND NO CHAIN"), TxControl::Commit);
    assert_eq!(tx("end transaction"), TxControl::Commit);
    assert_eq!(tx("ROLLBACK"), TxControl::Rollback);
    assert_eq!(tx("ABORT"), TxControl::Rollback);
    assert_eq!(tx("SAVEPOINT Foo"), TxControl::Savepoint("foo".into()));
    assert_eq!(tx("SAVEPOINT \"Foo\""), TxControl::Savepoint("Foo".into()));
    assert_eq!(tx("ROLLBACK TO Foo"), TxControl::RollbackTo("foo".into()));
    assert_eq!(
        tx("ROLLBACK TO SAVEPOINT \"Foo\""),
        TxControl::RollbackTo("Foo".into())
    );
    assert_eq!(tx("RELEASE Foo"), TxControl::Release("foo".into()));
    assert_eq!(
        tx("RELEASE SAVEPOINT ÉTÉ"),
        TxControl::Release("ÉtÉ".into())
    );
    let long = "a".repeat(70);
    assert_eq!(
        tx(&format!("SAVEPOINT {long}")),
        TxControl::Savepoint("a".repeat(63))
    );
}

#[test]
fn end_never_swallows_a_statement() {
    for sql in [
        "END DELETE FROM t",
        "END; DELETE FROM t",
        "COMMIT DELETE FROM t",
    ] {
        assert!(
            !matches!(classify(sql), Verdict::Transaction(_)),
            "{sql}: {:?}",
            classify(sql)
        );
    }
    assert_eq!(refused("SELECT 1; SELECT 2"), Rule::Unrecognised);
}

#[test]
fn refusals() {
    let cases: &[(&str, Rule)] = &[
        ("SET ROLE postgres", Rule::IdentityChange),
        ("SET LOCAL ROLE postgres", Rule::IdentityChange),
        ("SET SESSION ROLE postgres", Rule::IdentityChange),
        ("RESET ROLE", Rule::IdentityChange),
        ("SET role = postgres", Rule::IdentityChange),
        ("SET role TO 'postgres'", Rule::IdentityChange),
        ("SET \"role\" = postgres", Rule::IdentityChange),
        ("SET SESSION AUTHORIZATION postgres", Rule::IdentityChange),
        ("RESET SESSION AUTHORIZATION", Rule::IdentityChange),
        ("SET session_authorization = postgres", Rule::IdentityChange),
        (
            "select set_config('role','postgres',false)",
            Rule::IdentityChange,
        ),
        (
            "select set_config('session_authorization','x',false)",
            Rule::IdentityChange,
        ),
        (
            "select set_config(name, 'x', false) from t",
            Rule::IdentityChange,
        ),
        (
            "update t set a = (select set_config('role', 'x', true))",
            Rule::IdentityChange,
        ),
        ("PREPARE TRANSACTION 'x'", Rule::TwoPhaseCommit),
        ("COMMIT PREPARED 'x'", Rule::TwoPhaseCommit),
        ("ROLLBACK PREPARED 'x'", Rule::TwoPhaseCommit),
        (
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            Rule::GuardSetting,
        ),
        ("SET TRANSACTION READ WRITE", Rule::GuardSetting),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            Rule::GuardSetting,
        ),
        ("SET transaction_read_only = off", Rule::GuardSetting),
        (
            "SET default_transaction_read_only = off",
            Rule::GuardSetting,
        ),
        ("SET standard_conforming_strings = off", Rule::GuardSetting),
        ("SET statement_timeout = 0", Rule::GuardSetting),
        ("SET LOCAL lock_timeout = 0", Rule::GuardSetting),
        (
            "SET idle_in_transaction_session_timeout = 0",
            Rule::GuardSetting,
        ),
        ("SET idle_session_timeout = 0", Rule::GuardSetting),
        ("SET application_name = 'x'", Rule::GuardSetting),
        ("SET session_replication_role = replica", Rule::GuardSetting),
        ("SET client_encoding = 'SJIS'", Rule::GuardSetting),
        ("SET NAMES 'SJIS'", Rule::GuardSetting),
        ("SET wal_compression = on", Rule::GuardSetting),
        ("RESET statement_timeout", Rule::GuardSetting),
        ("RESET ALL", Rule::GuardSetting),
        (
            "select set_config('statement_timeout','0',false)",
            Rule::GuardSetting,
        ),
        ("COPY t FROM PROGRAM 'ls'", Rule::OutsideReach),
        ("COPY t TO PROGRAM 'cat > /tmp/x'", Rule::OutsideReach),
        ("COPY t TO '/tmp/x'", Rule::OutsideReach),
        ("COPY t FROM '/etc/passwd'", Rule::OutsideReach),
        (
            "select dblink_exec('host=x', 'delete from t')",
            Rule::OutsideReach,
        ),
        ("SELECT public.DBLINK('x','y')", Rule::OutsideReach),
        (
            "select * from \"dblink\"('x', 'y') as t(a int)",
            Rule::OutsideReach,
        ),
        (
            "DO $$ begin perform dblink_exec('x'); end $$",
            Rule::OutsideReach,
        ),
        ("DO LANGUAGE plpython3u $$ import os $$", Rule::OutsideReach),
        ("select lo_import('/etc/passwd')", Rule::OutsideReach),
        ("select lo_export(1, '/tmp/x')", Rule::OutsideReach),
        ("select pg_read_file('/etc/passwd')", Rule::OutsideReach),
        ("select pg_read_binary_file('x')", Rule::OutsideReach),
        ("select * from pg_ls_dir('.')", Rule::OutsideReach),
        ("select * from pg_ls_logdir()", Rule::OutsideReach),
        ("select pg_stat_file('x')", Rule::OutsideReach),
        ("select pg_file_write('x', 'y', false)", Rule::OutsideReach),
        ("select pg_file_rename('x', 'y')", Rule::OutsideReach),
        ("select pg_file_unlink('x')", Rule::OutsideReach),
        ("select * from pg_logdir_ls()", Rule::OutsideReach),
        ("select pg_reload_conf()", Rule::OutsideReach),
        ("select pg_rotate_logfile()", Rule::OutsideReach),
        ("select pg_promote()", Rule::OutsideReach),
        (
            "select pg_terminate_backend(pid) from pg_stat_activity",
            Rule::OutsideReach,
        ),
        ("select pg_cancel_backend(42)", Rule::OutsideReach),
        (
            "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw",
            Rule::OutsideReach,
        ),
        ("CREATE SERVER s FOREIGN DATA WRAPPER x", Rule::OutsideReach),
        ("CREATE USER MAPPING FOR u SERVER s", Rule::OutsideReach),
        (
            "CREATE FOREIGN TABLE f (a int) SERVER s",
            Rule::OutsideReach,
        ),
        (
            "IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y",
            Rule::OutsideReach,
        ),
        ("CREATE EXTENSION dblink", Rule::OutsideReach),
        (
            "CREATE EXTENSION IF NOT EXISTS postgres_fdw",
            Rule::OutsideReach,
        ),
        ("CHECKPOINT", Rule::OutsideReach),
        ("LOAD 'auto_explain'", Rule::OutsideReach),
        ("ALTER SYSTEM SET work_mem = '1GB'", Rule::AlterSystem),
        ("alter  system reset all", Rule::AlterSystem),
        ("CREATE DATABASE x", Rule::NoTransactionBlock),
        ("DROP DATABASE x", Rule::NoTransactionBlock),
        (
            "CREATE TABLESPACE x LOCATION '/tmp'",
            Rule::NoTransactionBlock,
        ),
        ("DROP TABLESPACE x", Rule::NoTransactionBlock),
        ("REINDEX DATABASE d", Rule::NoTransactionBlock),
        ("REINDEX SYSTEM d", Rule::NoTransactionBlock),
        ("CLUSTER", Rule::NoTransactionBlock),
        (
            "DO $$ begin execute 'vacuum'; end $$",
            Rule::NoTransactionBlock,
        ),
        (
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ VACUUM t $$",
            Rule::NoTransactionBlock,
        ),
        ("DISCARD ALL", Rule::NoTransactionBlock),
        ("BEGIN READ ONLY", Rule::TransactionShape),
        ("START TRANSACTION READ ONLY", Rule::TransactionShape),
        ("BEGIN READ WRITE, DEFERRABLE", Rule::TransactionShape),
        (
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
            Rule::TransactionShape,
        ),
        ("COMMIT AND CHAIN", Rule::TransactionShape),
        ("commit and chain", Rule::TransactionShape),
        ("ROLLBACK AND CHAIN", Rule::TransactionShape),
        ("COPY t FROM STDIN", Rule::Unrecognised),
        ("COPY t TO STDOUT", Rule::Unrecognised),
        // Without the PREPARE (see sql::prepared), an EXECUTE could run anything.
        ("EXECUTE p", Rule::Unrecognised),
        ("LISTEN ch", Rule::Unrecognised),
        ("DO LANGUAGE plv8 'x'", Rule::Unrecognised),
        ("DO $$ x $$ $$ y $$", Rule::Unrecognised),
        ("select 'unterminated", Rule::Unrecognised),
        ("select E'\\xff'", Rule::Unrecognised),
        ("SELECT 1; SELECT 2", Rule::Unrecognised),
        ("EXPLAIN SET ROLE x", Rule::Unrecognised),
        ("EXPLAIN SELECT dblink('a','b')", Rule::OutsideReach),
    ];
    for (sql, rule) in cases {
        assert_eq!(refused(sql), *rule, "{sql}: {:?}", classify(sql));
    }
}

#[test]
fn acting_outside_the_transaction_is_refused() {
    let cases: &[&str] = &[
        "select pg_advisory_lock(1)",
        "select pg_try_advisory_lock_shared(1)",
        "select pg_advisory_unlock_all()",
        "select pg_stat_reset()",
        "select pg_stat_statements_reset()",
        "select pg_replication_origin_advance('x', '0/0')",
        "select * from pg_logical_slot_get_changes('s', null, null)",
        "select pg_logical_emit_message(false, 'p', 'x')",
        "select pg_background_launch('delete from t')",
        "DO $$ begin copy t to program 'cat'; end $$",
        "DO $$ begin execute 'copy t from ''/etc/passwd'''; end $$",
    ];
    for sql in cases {
        assert_eq!(
            refused(sql),
            Rule::OutsideReach,
            "{sql}: {:?}",
            classify(sql)
        );
    }
    let Verdict::Refused(r) = classify("select pg_advisory_lock(1)") else {
        panic!("pg_advisory_lock not refused");
    };
    assert!(r.detail.contains("outlives ROLLBACK"), "{}", r.detail);
    // Still allowed: transaction-scoped locks, nextval (an opaque write), ALTER
    // SEQUENCE (transactional since PostgreSQL 10), COPY to the client.
    assert_eq!(classify("SELECT pg_advisory_xact_lock(1)"), Verdict::Read);
    assert_eq!(
        classify("select pg_try_advisory_xact_lock(1)"),
        Verdict::Read
    );
    assert_eq!(classify("SELECT nextval('s')"), OPAQUE);
    assert!(!matches!(
        classify("ALTER SEQUENCE s RESTART WITH 5"),
        Verdict::Refused(Refusal {
            rule: Rule::OutsideReach,
            ..
        })
    ));
    assert_eq!(refused("COPY t TO STDOUT"), Rule::Unrecognised);
    assert_eq!(
        refused("COPY (SELECT 'a' FROM t) TO STDOUT"),
        Rule::Unrecognised
    );
    assert_eq!(
        classify("DO $$ begin update t set copy = 1 from u where u.a = 'x'; end $$"),
        OPAQUE
    );
}

#[test]
fn sql_in_strings_is_refused() {
    // A constant query text is classified as the SQL it is
    // (constant_query_texts_handed_to_functions_are_classified); a computed one, a
    // cursor's, or SQL an extension builds from its arguments is refused.
    assert_eq!(
        classify("select query_to_xmlschema('delete from t returning 1', false, false, '')"),
        W
    );
    let cases: &[&str] = &[
        "select query_to_xml('select ' || 1, false, false, '')",
        "select query_to_xml_and_xmlschema(q, true, true, '') from x",
        "select cursor_to_xml('c', 1, false, false, '')",
        "select cursor_to_xmlschema('c', false, false, '')",
        "select * from ts_stat(format('select %I from docs', 'v'))",
        "select ts_rewrite('a & b'::tsquery, 'select t, s from ' || 'aliases')",
        "select * from crosstab('select 1, 2, 3') as c(a int, b int)",
        "select * from connectby('t', 'id', 'parent', '1', 0) as c(id int)",
        "select * from xpath_table('id', 'doc', 't', '/a', 'true') as x(id int)",
    ];
    for sql in cases {
        assert_eq!(refused(sql), Rule::DynamicSql, "{sql}: {:?}", classify(sql));
    }
    // A string that merely mentions set_config is data, not a call; a body's call of it
    // is checked like a typed one.
    for sql in [
        "select 'set_config(''standard_conforming_strings'',''off'',false)'",
        "select e'set\\x5fconfig'",
        "DO $$ begin perform set_config('search_path', 'x', true); end $$",
    ] {
        assert_eq!(classify(sql), Verdict::Read, "{sql}");
    }
    assert_eq!(classify("insert into t values ('set_config')"), W);
    // A role change in a body keeps its own, more precise rule.
    assert_eq!(
        refused("DO $$ begin perform set_config('role', 'x', false); end $$"),
        Rule::IdentityChange
    );
    assert_eq!(
        classify("select set_config('search_path', 'x', true)"),
        Verdict::Read
    );
    assert_eq!(
        classify("select table_to_xml('t', false, false, '')"),
        Verdict::Read
    );
}

const DDL: Verdict = Verdict::Ddl;
const READ: Verdict = Verdict::Read;

fn lock(sql: &str) -> Option<&'static str> {
    analyze(sql, &Options::default()).lock
}

#[test]
fn what_sqlparser_could_not_parse_is_classified() {
    let cases: &[(&str, Verdict)] = &[
        ("REFRESH MATERIALIZED VIEW mv", DDL),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", DDL),
        ("CLUSTER t", DDL),
        ("CLUSTER t USING t_pkey", DDL),
        ("REINDEX TABLE t", DDL),
        ("REINDEX INDEX t_pkey", DDL),
        ("TABLE t", READ),
        ("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", W),
        ("SELECT * FROM t FOR KEY SHARE", W),
        ("SELECT 1 UNION SELECT 2 FOR UPDATE", W),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", DDL),
        ("CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ begin delete from t; end $$", DDL),
        ("UPDATE t SET a[2] = 5 WHERE id = 1", W),
        ("UPDATE t SET (a, b) = (SELECT 1, 2) WHERE id = 1", W),
        ("DELETE FROM t WHERE CURRENT OF c", W),
        (
            "SELECT sum(a) OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) FROM t",
            READ,
        ),
        ("SELECT (f(x)).* FROM t", READ),
        ("SELECT (pg_stat_file_like(x)).a FROM t", READ),
        ("ALTER TABLE t ADD COLUMN b int", DDL),
        ("ALTER TABLE t ALTER COLUMN b SET STATISTICS 500", DDL),
        ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID", DDL),
        ("ALTER TABLE t VALIDATE CONSTRAINT f", DDL),
        ("ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint", DDL),
        ("ALTER TABLE t ENABLE ROW LEVEL SECURITY", DDL),
        ("ALTER TABLE IF EXISTS ONLY t RENAME COLUMN a TO b", DDL),
        ("ALTER TABLE t SET (fillfactor = 70)", DDL),
        ("ALTER TABLE t ATTACH PARTITION t_2025 FOR VALUES FROM (1) TO (2)", DDL),
        ("GRANT SELECT, UPDATE (a) ON t TO app_reader", DDL),
        ("GRANT USAGE ON SCHEMA s TO r", DDL),
        ("GRANT r TO u", DDL),
        ("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC", DDL),
        ("ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r", DDL),
        ("COMMENT ON COLUMN t.a IS 'dblink id'", DDL),
        ("COMMENT ON TABLE t IS NULL", DDL),
        ("CREATE INDEX ON t USING gin (doc jsonb_path_ops)", DDL),
        ("CREATE STATISTICS s (dependencies) ON a, b FROM t", DDL),
        ("ALTER SEQUENCE s RESTART WITH 5", DDL),
        ("ALTER TYPE mood ADD VALUE 'meh'", DDL),
        ("CREATE MATERIALIZED VIEW mv AS SELECT * FROM t", DDL),
        ("SET CONSTRAINTS ALL IMMEDIATE", READ),
    ];
    for (sql, want) in cases {
        assert_eq!(&classify(sql), want, "{sql}");
    }
}

#[test]
fn locks_of_schema_changes() {
    assert_eq!(
        lock("ALTER TABLE t ADD COLUMN b int"),
        Some("ACCESS EXCLUSIVE")
    );
    assert_eq!(
        lock("ALTER TABLE t VALIDATE CONSTRAINT f"),
        Some("SHARE UPDATE EXCLUSIVE")
    );
    assert_eq!(
        lock("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)"),
        Some("SHARE ROW EXCLUSIVE")
    );
    assert_eq!(
        lock("ALTER TABLE t ALTER COLUMN a SET STATISTICS 100, ADD COLUMN c int"),
        Some("ACCESS EXCLUSIVE")
    );
    assert_eq!(lock("CREATE INDEX i ON t (a)"), Some("SHARE"));
    assert_eq!(lock("REINDEX TABLE t"), Some("SHARE"));
    assert_eq!(lock("CLUSTER t"), Some("ACCESS EXCLUSIVE"));
    assert_eq!(
        lock("REFRESH MATERIALIZED VIEW mv"),
        Some("ACCESS EXCLUSIVE")
    );
    assert_eq!(
        lock("REFRESH MATERIALIZED VIEW CONCURRENTLY mv"),
        Some("EXCLUSIVE")
    );
    assert_eq!(lock("DROP TABLE t"), Some("ACCESS EXCLUSIVE"));
    assert_eq!(lock("TRUNCATE t"), Some("ACCESS EXCLUSIVE"));
    assert_eq!(lock("LOCK TABLE t IN SHARE MODE"), Some("SHARE"));
    assert_eq!(lock("ANALYZE t"), Some("SHARE UPDATE EXCLUSIVE"));
    assert_eq!(lock("SELECT 1"), None);
}

#[test]
fn relations_read_and_written() {
    let a = analyze(
        "WITH x AS (SELECT id FROM s.src) UPDATE t SET a = u.b FROM u, x WHERE t.id = u.id",
        &Options::default(),
    );
    assert_eq!(a.writes, vec!["t".to_string()]);
    assert_eq!(a.reads, vec!["s.src".to_string(), "u".to_string()]);
    let a = analyze("INSERT INTO log SELECT * FROM t", &Options::default());
    assert_eq!((a.reads, a.writes), (vec!["t".into()], vec!["log".into()]));
    let a = analyze("DROP TABLE a, s.b", &Options::default());
    assert_eq!(a.writes, vec!["a".to_string(), "s.b".to_string()]);
    let a = analyze(
        "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u",
        &Options::default(),
    );
    assert_eq!((a.reads, a.writes), (vec!["u".into()], vec!["t".into()]));
}

#[test]
fn names_inside_string_literals_are_not_calls() {
    for sql in [
        "select * from pg_stat_user_tables where relname = 'dblink_stats'",
        "select * from t where note = 'posts_stats'",
        "select 'set_config(''role'',''x'',false)'",
        "select e'set\\x5fconfig'",
        "select $$ dblink_exec('x') $$",
        "select 1 as \"pg_read_file\"",
    ] {
        assert_eq!(classify(sql), READ, "{sql}");
    }
    assert_eq!(classify("insert into t values ('dblink', 'setval')"), W);
    assert_eq!(classify("COMMENT ON TABLE t IS 'uses dblink'"), DDL);
}

#[test]
fn dynamic_sql_in_bodies() {
    let refused_as = |sql: &str| match classify(sql) {
        Verdict::Refused(r) => r.rule,
        other => panic!("{sql:?} was not refused: {other:?}"),
    };
    let cases: &[(&str, Rule)] = &[
        (
            "DO $$ begin execute 'SET LOCAL ' || 'ro' || 'le' || ' postgres'; end $$",
            Rule::DynamicSql,
        ),
        (
            "DO $$ begin execute convert_from(decode('U0VUIFJPTEUgeA==', 'base64'), 'UTF8'); end $$",
            Rule::DynamicSql,
        ),
        (
            "DO $$ begin execute format('delete from %I', 't'); end $$",
            Rule::DynamicSql,
        ),
        (
            "DO $$ declare r record; begin for r in execute 'select ' || 1 loop end loop; end $$",
            Rule::DynamicSql,
        ),
        (
            "CREATE FUNCTION f(q text) RETURNS void LANGUAGE plpgsql AS $$ begin execute q; end $$",
            Rule::DynamicSql,
        ),
        (
            "CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$ begin return query execute 'select ' || '1'; end $$",
            Rule::DynamicSql,
        ),
        // Constant strings are read as SQL, and refused for what they are.
        ("DO $$ begin execute 'SET LOCAL ROLE postgres'; end $$", Rule::IdentityChange),
        ("DO $$ begin execute 'select dblink_exec(''x'')'; end $$", Rule::OutsideReach),
        ("DO $$ begin set local statement_timeout = 0; end $$", Rule::GuardSetting),
        ("DO $$ begin set local role postgres; end $$", Rule::IdentityChange),
        ("DO $$ begin perform dblink('x', 'y'); end $$", Rule::OutsideReach),
        ("DO $$ declare x text := dblink_exec('x'); begin end $$", Rule::OutsideReach),
        ("DO $$ begin if pg_advisory_lock(1) is null then end if; end $$", Rule::OutsideReach),
        ("DO $$ begin commit; end $$", Rule::TransactionShape),
        (
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ begin perform public.dblink_exec('x'); end $$",
            Rule::OutsideReach,
        ),
        (
            "CREATE FUNCTION outer_f() RETURNS void LANGUAGE plpgsql AS $o$ begin \
             execute 'CREATE FUNCTION inner_f() RETURNS void LANGUAGE plpgsql AS $i$ begin perform dblink(''a'', ''b''); end $i$'; end $o$",
            Rule::OutsideReach,
        ),
        (
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ select 1; select dblink_exec('x') $$",
            Rule::OutsideReach,
        ),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT pg_advisory_lock(1); END",
            Rule::OutsideReach,
        ),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE plperlu AS $$ 1 $$", Rule::OutsideReach),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'f'", Rule::OutsideReach),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE plv8 AS $$ 1 $$", Rule::Unrecognised),
        ("DO $$ begin syntax error here; end $$", Rule::Unrecognised),
    ];
    for (sql, rule) in cases {
        assert_eq!(refused_as(sql), *rule, "{sql}");
    }
    // Static SQL gets the verdict of its statements.
    assert_eq!(classify("DO $$ begin update t set a = 1; end $$"), OPAQUE);
    assert_eq!(
        classify("DO $$ begin raise notice '%', (select count(*) from t); end $$"),
        READ
    );
    assert_eq!(
        classify("DO $$ begin execute 'delete from t'; end $$"),
        OPAQUE
    );
    assert_eq!(classify("DO $$ begin perform nextval('s'); end $$"), OPAQUE);
    // allow_dynamic_sql lets a computed EXECUTE through as an opaque write; refused
    // functions stay refused.
    let allow = Options {
        allow_dynamic_sql: true,
    };
    let dynamic = "DO $$ begin execute format('delete from %I', 't'); end $$";
    assert_eq!(analyze(dynamic, &allow).verdict, OPAQUE);
    // …and marks it as dynamic SQL (the preview's opaque line), through a nested block,
    // a function body and a constant EXECUTE of a DO; static bodies are not marked.
    assert!(analyze(dynamic, &allow).dynamic_sql);
    for marked in [
        "DO $$ begin begin execute format('delete from %I', 't'); end; end $$",
        "DO $x$ begin execute 'DO $$ begin execute ''x'' || 1; end $$'; end $x$",
    ] {
        assert!(analyze(marked, &allow).dynamic_sql, "{marked}");
    }
    let body = analyze(
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ begin execute 'x' || 1; end $$",
        &allow,
    );
    match body.named {
        Some(Named::Function { body, .. }) => assert!(body.dynamic_sql),
        other => panic!("{other:?}"),
    }
    for plain in [
        "DO $$ begin update t set a = 1; end $$",
        "DO $$ begin execute 'update t set a = 1'; end $$",
        "update t set a = 1",
    ] {
        assert!(!analyze(plain, &allow).dynamic_sql, "{plain}");
    }
    let still = "DO $$ begin execute 'x' || dblink_exec('a'); end $$";
    assert!(
        matches!(analyze(still, &allow).verdict, Verdict::Refused(r) if r.rule == Rule::OutsideReach)
    );
}

#[test]
fn trigger_functions_are_inspected_like_any_body() {
    // libpg_query cannot write a trigger function's tree as JSON; its body is read
    // through a wrapper, so a trigger function is DDL like any other, and refused for
    // what its body would do when fired.
    let ddl = [
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         NEW.updated_at := now(); INSERT INTO audit_log VALUES (TG_OP, OLD.id); RETURN NEW; END $$",
        "CREATE OR REPLACE FUNCTION pg_catalog_t() RETURNS pg_catalog.trigger AS $f$ \
         BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END; $f$ LANGUAGE plpgsql",
        "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS 'begin return null; end'",
    ];
    for sql in ddl {
        assert_eq!(classify(sql), Verdict::Ddl, "{sql}");
    }
    let refusals: &[(&str, Rule)] = &[
        (
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             EXECUTE 'SET LOCAL ' || 'ro' || 'le x'; RETURN NEW; END $$",
            Rule::DynamicSql,
        ),
        (
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             PERFORM dblink_exec('x'); RETURN NEW; END $$",
            Rule::OutsideReach,
        ),
        (
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             SET LOCAL ROLE postgres; RETURN NEW; END $$",
            Rule::IdentityChange,
        ),
        (
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN syntax error; END $$",
            Rule::Unrecognised,
        ),
        // A body that would close the wrapper early is still one body to the parser.
        (
            "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $q$ BEGIN RETURN NEW; END $pgward$ \
             ; SELECT dblink_exec('x') $q$",
            Rule::Unrecognised,
        ),
    ];
    for (sql, rule) in refusals {
        assert_eq!(refused(sql), *rule, "{sql}");
    }
}

#[test]
fn effects_that_survive_rollback() {
    for sql in [
        "SELECT brin_summarize_new_values('i')",
        "SELECT brin_summarize_range('i', 0)",
        "SELECT brin_desummarize_range('i', 0)",
        "SELECT gin_clean_pending_list('i')",
        "SELECT pg_catalog.gin_clean_pending_list('i'::regclass)",
        "SELECT nextval('s')",
        "DO $$ begin perform brin_summarize_new_values('i'); end $$",
    ] {
        let a = analyze(sql, &Options::default());
        assert_eq!(
            a.verdict, OPAQUE,
            "{sql}: a SELECT calling one is not a read"
        );
        assert!(!a.survives_rollback.is_empty(), "{sql}");
    }
    assert!(analyze("SELECT 1", &Options::default())
        .survives_rollback
        .is_empty());
}

#[test]
fn settings() {
    for sql in [
        "SET work_mem = '256MB'",
        "SET maintenance_work_mem TO '1GB'",
        "SET temp_buffers = '64MB'",
        "SET enable_nestloop = off",
        "SET random_page_cost = 1.1",
        "SET jit = off",
        "SET jit_above_cost = 100000",
        "SET max_parallel_workers_per_gather = 0",
        "SET parallel_tuple_cost = 0.5",
        "SET search_path = app, public",
        "SET TIME ZONE 'UTC'",
        "SET datestyle = 'ISO, DMY'",
        "SET myapp.tenant = '7'",
    ] {
        assert_eq!(classify(sql), Verdict::Session, "{sql}");
    }
    let refused_as = |sql: &str| match classify(sql) {
        Verdict::Refused(r) => r.rule,
        other => panic!("{sql:?} was not refused: {other:?}"),
    };
    assert_eq!(
        refused_as("SET plpgsql.check_asserts = off"),
        Rule::GuardSetting
    );
    assert_eq!(
        refused_as("SET session_replication_role = replica"),
        Rule::GuardSetting
    );
    assert_eq!(
        refused_as("select set_config('plpgsql.check_asserts', 'off', true)"),
        Rule::GuardSetting
    );
    assert_eq!(
        refused_as("ALTER DATABASE shop SET work_mem = '1GB'"),
        Rule::DefaultSetting
    );
    assert_eq!(
        refused_as("ALTER ROLE app SET statement_timeout = 0"),
        Rule::DefaultSetting
    );
}

#[test]
fn refusal_details_name_the_trigger() {
    let Verdict::Refused(r) = classify("select dblink_exec('x')") else {
        panic!("not refused");
    };
    assert!(
        r.detail.starts_with("function dblink_exec ("),
        "{}",
        r.detail
    );
    assert!(r
        .to_string()
        .starts_with("refused [OutsideReach]: function dblink_exec ("));
}

// ---- Found by PostgreSQL's regression SQL (bench/corpus.sh) ------------------------------

#[test]
fn every_schema_change_states_its_lock() {
    // Each checked against pg_locks on PostgreSQL 15 (docs/check.md).
    let cases: &[(&str, &str)] = &[
        ("GRANT SELECT ON t TO u", "none"),
        ("REVOKE ALL ON ALL TABLES IN SCHEMA s FROM u", "none"),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
            "none",
        ),
        ("CREATE TYPE ty AS (x int)", "none"),
        ("CREATE ROLE r", "none"),
        ("CREATE TABLE n (a int)", "none"),
        (
            "CREATE TABLE n (a int REFERENCES t (id))",
            "SHARE ROW EXCLUSIVE",
        ),
        (
            "CREATE TABLE n (a int, FOREIGN KEY (a) REFERENCES t)",
            "SHARE ROW EXCLUSIVE",
        ),
        ("CREATE TABLE n () INHERITS (t)", "SHARE UPDATE EXCLUSIVE"),
        (
            "CREATE TABLE n PARTITION OF p FOR VALUES IN (1)",
            "ACCESS EXCLUSIVE",
        ),
        ("CREATE TABLE n (LIKE t INCLUDING ALL)", "ACCESS SHARE"),
        ("CREATE TABLE n AS SELECT * FROM t", "ACCESS SHARE"),
        ("SELECT * INTO n FROM t", "ACCESS SHARE"),
        ("CREATE VIEW v AS SELECT * FROM t", "ACCESS SHARE"),
        (
            "CREATE OR REPLACE VIEW v AS SELECT * FROM t",
            "ACCESS EXCLUSIVE",
        ),
        ("CREATE POLICY p ON t USING (true)", "ACCESS EXCLUSIVE"),
        (
            "CREATE STATISTICS st ON a, b FROM t",
            "SHARE UPDATE EXCLUSIVE",
        ),
        ("ALTER SEQUENCE s RESTART", "SHARE ROW EXCLUSIVE"),
        ("ALTER TABLE t RENAME TO t2", "ACCESS EXCLUSIVE"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "ACCESS EXCLUSIVE"),
        ("ALTER INDEX i RENAME TO j", "SHARE UPDATE EXCLUSIVE"),
        ("ALTER FUNCTION f() RENAME TO g", "none"),
        ("ALTER TABLE t SET SCHEMA s", "ACCESS EXCLUSIVE"),
        (
            "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (7)",
            "ACCESS EXCLUSIVE",
        ),
        ("COMMENT ON COLUMN t.a IS 'x'", "SHARE UPDATE EXCLUSIVE"),
        ("COMMENT ON FUNCTION f() IS 'x'", "none"),
        ("ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0)", "SHARE"),
        ("DROP FUNCTION f()", "none"),
        ("DROP TYPE ty CASCADE", "ACCESS EXCLUSIVE"),
        ("DROP OWNED BY r", "ACCESS EXCLUSIVE"),
        (
            "CREATE SCHEMA s CREATE TABLE x (id int REFERENCES t) CREATE VIEW y AS SELECT 1",
            "SHARE ROW EXCLUSIVE",
        ),
        ("ALTER FUNCTION f() SET work_mem = '2MB'", "none"),
    ];
    for (sql, want) in cases {
        assert_eq!(classify(sql), Verdict::Ddl, "{sql}");
        assert_eq!(lock(sql), Some(*want), "{sql}");
    }
    let a = analyze("CREATE VIEW v AS SELECT * FROM t", &Options::default());
    assert_eq!((a.reads, a.writes), (vec!["t".into()], vec!["v".into()]));
}

#[test]
fn function_set_clauses_follow_the_rules_of_set() {
    for sql in [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET work_mem = '1MB' AS 'select 1'",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path FROM CURRENT AS 'select 1'",
        "ALTER FUNCTION f() SET enable_seqscan = off",
        "ALTER FUNCTION f() RESET work_mem",
        "ALTER FUNCTION f() RESET ALL",
        "ALTER PROCEDURE p() SET work_mem = '1MB'",
    ] {
        assert_eq!(classify(sql), Verdict::Ddl, "{sql}");
    }
    for (sql, rule) in [
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET statement_timeout = 0 AS 'select 1'",
            Rule::GuardSetting,
        ),
        ("ALTER FUNCTION f() SET role = admin", Rule::IdentityChange),
        (
            "ALTER FUNCTION f() SET session_replication_role = replica",
            Rule::GuardSetting,
        ),
        (
            "ALTER FUNCTION f() SET plpgsql.check_asserts = off",
            Rule::GuardSetting,
        ),
        (
            "ALTER FUNCTION f() SET myext.anything = 1",
            Rule::GuardSetting,
        ),
    ] {
        assert_eq!(refused(sql), rule, "{sql}");
    }
}

#[test]
fn plpgsql_assignments_are_not_schema_changes() {
    assert_eq!(
        classify("DO $$ declare n int; begin n := 1; n := (select count(*) from t); end $$"),
        Verdict::Read
    );
    assert_eq!(
        classify("DO $$ declare n int; begin n := nextval('s'); end $$"),
        OPAQUE
    );
}

#[test]
fn planner_and_new_object_settings_are_session_settings() {
    for sql in [
        "SET min_parallel_table_scan_size = 0",
        "RESET min_parallel_index_scan_size",
        "SET default_tablespace = ''",
        "SET default_toast_compression = 'lz4'",
        "SET default_table_access_method = heap",
        "SET stats_fetch_consistency = snapshot",
    ] {
        assert_eq!(classify(sql), Verdict::Session, "{sql}");
    }
}

// ---- Cursors, prepared statements, notifications, sequences, outside DDL -----------------

#[test]
fn cursors_over_reads_are_reads() {
    for sql in [
        "DECLARE c CURSOR FOR SELECT * FROM t",
        "declare c scroll cursor for select a from t order by a",
        "DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR VALUES (1), (2)",
        "DECLARE c INSENSITIVE CURSOR FOR TABLE t",
        "FETCH 10 FROM c",
        "FETCH ALL c",
        "FETCH BACKWARD 2 IN c",
        "MOVE FORWARD 5 IN c",
        "MOVE LAST FROM c",
        "CLOSE c",
        "CLOSE ALL",
    ] {
        assert_eq!(classify(sql), READ, "{sql}");
    }
    let a = analyze(
        "DECLARE Cur CURSOR FOR SELECT * FROM s.t",
        &Options::default(),
    );
    assert_eq!(a.named, Some(super::Named::Cursor("cur".into())));
    assert_eq!(a.reads, vec!["s.t".to_string()]);
    assert_eq!(
        analyze("FETCH 1 FROM c", &Options::default()).named,
        Some(super::Named::Fetch("c".into())),
        "a FETCH names its cursor, and only a DECLARE keeps its savepoint"
    );
    // Its query runs at each FETCH, which pgward runs read-only: a cursor that writes or
    // locks rows, outlives the transaction or returns binary rows is refused.
    for sql in [
        "DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE",
        "DECLARE c CURSOR FOR SELECT * FROM t FOR SHARE OF t NOWAIT",
        "DECLARE c CURSOR FOR SELECT nextval('s') FROM t",
        "DECLARE c CURSOR FOR SELECT setval('s', a) FROM t",
        "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t",
        "DECLARE c BINARY CURSOR FOR SELECT * FROM t",
    ] {
        assert_eq!(refused(sql), Rule::Cursor, "{sql}");
    }
    assert_eq!(
        refused("DECLARE c CURSOR FOR SELECT dblink('a', 'b')"),
        Rule::OutsideReach
    );
}

#[test]
fn prepared_statements_take_the_class_of_their_statement() {
    let cases: &[(&str, Verdict)] = &[
        ("PREPARE q AS SELECT * FROM t", READ),
        ("PREPARE q(int) AS SELECT * FROM t WHERE a = $1", READ),
        ("prepare q (int, text) as insert into t values ($1, $2)", W),
        ("PREPARE q AS UPDATE t SET a = a + 1 WHERE id = $1", W),
        ("PREPARE q AS DELETE FROM t", W),
        ("PREPARE q AS SELECT * FROM t FOR UPDATE", W),
        ("PREPARE q AS SELECT nextval('s')", OPAQUE),
        ("PREPARE q AS VALUES (1)", READ),
        ("DEALLOCATE q", Verdict::Session),
        ("DEALLOCATE PREPARE q", Verdict::Session),
        ("DEALLOCATE ALL", Verdict::Session),
    ];
    for (sql, want) in cases {
        assert_eq!(&classify(sql), want, "{sql}");
    }
    // A PREPARE is refused for what its statement would be refused for.
    assert_eq!(
        refused("PREPARE q AS SELECT pg_read_file('x')"),
        Rule::OutsideReach
    );
    assert_eq!(
        refused("PREPARE q AS SELECT set_config('role', 'x', true)"),
        Rule::IdentityChange
    );
    // Bodies cannot use the session's prepared statements, nor make ones it would not
    // know of.
    for sql in [
        "DO $$ begin execute 'PREPARE q AS DELETE FROM t'; end $$",
        "DO $$ begin execute 'DEALLOCATE q'; end $$",
        "DO $$ begin execute 'EXECUTE q'; end $$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'EXECUTE q'",
    ] {
        assert_eq!(refused(sql), Rule::Unrecognised, "{sql}");
    }
}

#[test]
fn notifications_are_writes_delivered_at_commit() {
    // NOTIFY is transactional: queued, and delivered only when pgward's COMMIT commits
    // (a read, which pgward ends with ROLLBACK, never delivers one).
    for sql in [
        "NOTIFY ch",
        "NOTIFY ch, 'payload'",
        "notify \"Ch\"",
        "select pg_notify('ch', 'x')",
        "select pg_catalog.PG_NOTIFY('ch', 'x')",
        "insert into t select 1 where pg_notify('ch', 'x') is null",
        "DO $$ begin notify ch; end $$",
        "DO $$ begin perform pg_notify('ch', 'x'); end $$",
    ] {
        let a = analyze(sql, &Options::default());
        assert_eq!(a.verdict, OPAQUE, "{sql}");
        assert!(a.survives_rollback.is_empty(), "{sql}");
    }
    assert_eq!(
        classify("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'notify ch'"),
        DDL
    );
    assert_eq!(
        refused("LISTEN ch"),
        Rule::Unrecognised,
        "pgward does not show notifications"
    );
}

#[test]
fn constant_query_texts_handed_to_functions_are_classified() {
    for sql in [
        "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)",
        "SELECT ts_rewrite('moscow', 'SELECT keyword, sample FROM test_tsquery'::text)",
        "SELECT ts_rewrite(query, 'SELECT keyword, sample FROM aliases') FROM q",
        "SELECT * FROM ts_stat('SELECT vector FROM docs')",
        "SELECT query_to_xml('select * from t', true, false, '')",
        "EXPLAIN SELECT ts_stat('SELECT v FROM t')",
    ] {
        assert_eq!(classify(sql), READ, "{sql}");
    }
    let a = analyze(
        "SELECT * FROM ts_stat('SELECT vector FROM s.docs')",
        &Options::default(),
    );
    assert_eq!(a.reads, vec!["s.docs".to_string()]);
    assert_eq!(
        classify("SELECT query_to_xml('select nextval(''s'')', true, false, '')"),
        OPAQUE
    );
    for (sql, rule) in [
        (
            "SELECT ts_rewrite(q, 'SELECT ' || cols || ' FROM t') FROM x",
            Rule::DynamicSql,
        ),
        (
            "SELECT query_to_xml(q, true, false, '') FROM x",
            Rule::DynamicSql,
        ),
        (
            "SELECT query_to_xml('select dblink_exec(''x'')', true, false, '')",
            Rule::OutsideReach,
        ),
        (
            "SELECT query_to_xml('SET ROLE x', true, false, '')",
            Rule::IdentityChange,
        ),
        (
            "SELECT query_to_xml('EXECUTE q', true, false, '')",
            Rule::Unrecognised,
        ),
        (
            "SELECT cursor_to_xml('c', 1, true, false, '')",
            Rule::DynamicSql,
        ),
    ] {
        assert_eq!(refused(sql), rule, "{sql}");
    }
}

#[test]
fn sequence_functions_are_writes_that_survive_rollback() {
    for sql in [
        "select setval('s', 1)",
        "select a, setval('s', 3) from t",
        "select pg_catalog.setval('s', 1, false)",
        "update t set a = (select setval('s', 1))",
        "DO $$ begin perform setval('s', 1); end $$",
        "select nextval('s')",
        "insert into t values (nextval('s'))",
    ] {
        let a = analyze(sql, &Options::default());
        assert_eq!(a.verdict, OPAQUE, "{sql}");
        assert!(
            a.survives_rollback
                .iter()
                .any(|w| w.contains("after ROLLBACK")),
            "{sql}: {:?}",
            a.survives_rollback
        );
    }
    // currval and lastval only read the session's state.
    assert_eq!(classify("select currval('s'), lastval()"), READ);
}

#[test]
fn ddl_reaching_outside_the_database_is_classified_then_refused() {
    let cases: &[(&str, &str)] = &[
        ("CREATE FOREIGN DATA WRAPPER w", "none"),
        ("ALTER FOREIGN DATA WRAPPER w OPTIONS (ADD a '1')", "none"),
        ("CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "none"),
        ("ALTER SERVER s OPTIONS (SET host 'x')", "none"),
        (
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'x')",
            "none",
        ),
        (
            "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET user 'y')",
            "none",
        ),
        ("DROP USER MAPPING FOR u SERVER s", "none"),
        ("CREATE FOREIGN TABLE f (a int) SERVER s", "none"),
        (
            "CREATE FOREIGN TABLE f PARTITION OF p FOR VALUES IN (1) SERVER s",
            "ACCESS EXCLUSIVE",
        ),
        ("IMPORT FOREIGN SCHEMA r FROM SERVER s INTO l", "none"),
        (
            "CREATE SUBSCRIPTION sub CONNECTION 'host=x' PUBLICATION p WITH (connect = false)",
            "none",
        ),
        ("ALTER SUBSCRIPTION sub DISABLE", "none"),
        ("DROP SUBSCRIPTION sub", "none"),
        ("CREATE LANGUAGE plperlu", "none"),
        ("CREATE TRUSTED LANGUAGE l HANDLER h", "none"),
        (
            "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()",
            "none",
        ),
        ("CREATE EXTENSION dblink", "none"),
        (
            "CREATE FUNCTION f(int) RETURNS int LANGUAGE internal AS 'int4abs'",
            "none",
        ),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'f'",
            "none",
        ),
    ];
    for (sql, lock) in cases {
        let a = analyze(sql, &Options::default());
        assert!(
            matches!(&a.verdict, Verdict::Refused(r) if r.rule == Rule::OutsideReach),
            "{sql}: {:?}",
            a.verdict
        );
        assert_eq!(a.class, Some(DDL), "{sql}: classified as DDL");
        assert_eq!(a.lock, Some(*lock), "{sql}");
    }
    // What the classifier itself refuses has no class.
    assert_eq!(
        analyze("select dblink_exec('x')", &Options::default()).class,
        None
    );
    assert_eq!(
        analyze(
            "CREATE FUNCTION f() RETURNS int LANGUAGE plv8 AS '1'",
            &Options::default()
        )
        .class,
        None
    );
}
