//! The statement classifier: what one piece cut by the splitter is, as far as the guard
//! is concerned.
//!
//! Order of checks, each failing closed:
//! 1. tokenize (sqlparser's tokenizer); a piece that does not tokenize is refused;
//! 2. the forbidden-word scan (`forbidden`), which refuses even text sqlparser cannot
//!    parse (ALTER SYSTEM, PREPARE TRANSACTION, dblink inside a DO body, …);
//! 3. parse with the PostgreSQL dialect: the piece must be exactly one statement. A parse
//!    error is [`Verdict::Unparsed`] (the session asks the server), except for `DO`
//!    blocks, whose shape is checked by tokens (`do_block`);
//! 4. `kind` — one explicit `match` on [`Statement`] whose catch-all refuses — for the
//!    top-level statement and, through the tree walk (`walk`), every nested one.

use sqlparser::ast::{
    CopyTarget, DiscardObject, Ident, ObjectName, ObjectType, Reset, Set, Statement,
    TransactionIsolationLevel, TransactionMode,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::walk::{walk, Risk};
use super::{do_block, forbidden, settings};
use crate::policy::{Refusal, Rule};

pub use super::plan::verdict_from_plan;

/// Transaction-control statements, which the session interprets itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN` / `START TRANSACTION` (options are refused by policy except isolation level).
    Begin {
        /// `ISOLATION LEVEL …` as SQL text, e.g. `"REPEATABLE READ"`, if given.
        isolation: Option<String>,
    },
    /// `COMMIT` / `END` (without AND CHAIN).
    Commit,
    /// `ROLLBACK` / `ABORT` (without AND CHAIN, without TO SAVEPOINT).
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
}

/// What a statement is, as far as the guard is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reads only: runs in `BEGIN READ ONLY` when no transaction is open.
    Read,
    /// Changes data. `opaque` is true when pgward cannot see which rows (DO blocks,
    /// statements the server classified): counts-only preview.
    Write {
        /// True for DO blocks and server-classified writes.
        opaque: bool,
    },
    /// Changes the schema; runs like a write.
    Ddl,
    /// Transaction control, interpreted by the session.
    Transaction(TxControl),
    /// A harmless session setting (`SET search_path`, `SET timezone`, …).
    Session,
    /// Refused by policy.
    Refused(Refusal),
    /// sqlparser could not parse it as exactly one statement; the session asks the server
    /// (`EXPLAIN (FORMAT JSON)` inside a read-only transaction) and otherwise refuses with
    /// this message.
    Unparsed {
        /// sqlparser's message, including its line and column.
        message: String,
    },
}

/// Classifies one piece cut by the splitter.
pub fn classify(sql: &str) -> Verdict {
    let tokens = match forbidden::tokenize(sql) {
        Ok(tokens) => tokens,
        Err(refusal) => return Verdict::Refused(refusal),
    };
    if let Err(refusal) = forbidden::scan(&tokens) {
        return Verdict::Refused(refusal);
    }
    let statements = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(statements) => statements,
        Err(error) => {
            let sig = forbidden::significant(&tokens);
            return do_block::classify_do(&sig).unwrap_or_else(|| Verdict::Unparsed {
                message: error.to_string(),
            });
        }
    };
    let [statement] = statements.as_slice() else {
        return Verdict::Refused(Refusal::new(
            Rule::Unrecognised,
            format!("{} statements where one was expected", statements.len()),
        ));
    };
    match walk(statement) {
        Err(refusal) => Verdict::Refused(refusal),
        Ok((Kind::Transaction(tx), _)) => Verdict::Transaction(tx),
        Ok((Kind::Session, _)) => Verdict::Session,
        Ok((Kind::Risk(_), risk)) => match risk {
            Risk::Read => Verdict::Read,
            Risk::Write => Verdict::Write { opaque: false },
            Risk::OpaqueWrite => Verdict::Write { opaque: true },
            Risk::Ddl => Verdict::Ddl,
        },
    }
}

/// What one statement node is, before its children are looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Data or schema access, combined with the children's risk.
    Risk(Risk),
    /// Transaction control (top level only).
    Transaction(TxControl),
    /// A harmless setting (top level only).
    Session,
}

/// The explicit match. Every statement PostgreSQL users type is listed; the catch-all
/// refuses, so a new sqlparser variant is refused until someone classifies it.
pub(crate) fn kind(statement: &Statement) -> Result<Kind, Refusal> {
    use Kind::Risk as K;
    let refuse = |rule, detail: &str| Err(Refusal::new(rule, detail));
    match statement {
        // Reads. Row locks and SELECT INTO are found by the walk.
        Statement::Query(_) | Statement::ShowVariable { .. } => Ok(K(Risk::Read)),
        Statement::Explain {
            describe_alias: sqlparser::ast::DescribeAlias::Explain,
            query_plan: false,
            estimate: false,
            ..
        } => Ok(K(Risk::Read)),

        // Writes.
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Lock(_) => Ok(K(Risk::Write)),
        Statement::Truncate(_) | Statement::Call(_) => Ok(K(Risk::OpaqueWrite)),

        // Schema changes that can run in a transaction block.
        Statement::CreateIndex(index) if index.concurrently => {
            refuse(Rule::NoTransactionBlock, "CREATE INDEX CONCURRENTLY")
        }
        Statement::Drop {
            object_type: ObjectType::Database,
            ..
        } => refuse(Rule::NoTransactionBlock, "DROP DATABASE"),
        Statement::CreateView(_)
        | Statement::CreateTable(_)
        | Statement::CreateIndex(_)
        | Statement::CreateRole(_)
        | Statement::CreatePolicy(_)
        | Statement::CreateOperator(_)
        | Statement::CreateOperatorFamily(_)
        | Statement::CreateOperatorClass(_)
        | Statement::CreateTextSearch(_)
        | Statement::CreateExtension(_)
        | Statement::CreateCollation(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateDomain(_)
        | Statement::CreateType { .. }
        | Statement::CreateUser(_)
        | Statement::AlterTable(_)
        | Statement::AlterSchema(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView { .. }
        | Statement::AlterFunction(_)
        | Statement::AlterType(_)
        | Statement::AlterCollation(_)
        | Statement::AlterOperator(_)
        | Statement::AlterOperatorFamily(_)
        | Statement::AlterOperatorClass(_)
        | Statement::AlterTextSearch(_)
        | Statement::AlterRole { .. }
        | Statement::AlterPolicy(_)
        | Statement::AlterUser(_)
        | Statement::Drop { .. }
        | Statement::DropFunction(_)
        | Statement::DropDomain(_)
        | Statement::DropProcedure { .. }
        | Statement::DropPolicy(_)
        | Statement::DropExtension(_)
        | Statement::DropOperator(_)
        | Statement::DropOperatorFamily(_)
        | Statement::DropOperatorClass(_)
        | Statement::DropTrigger(_)
        | Statement::Comment { .. }
        | Statement::Grant(_)
        | Statement::Revoke(_)
        // ANALYZE rewrites planner statistics: runs like a schema change.
        | Statement::Analyze(_) => Ok(K(Risk::Ddl)),

        // Transaction control.
        Statement::StartTransaction {
            modes,
            modifier: None,
            statements,
            exception: None,
            has_end_keyword: false,
            ..
        } if statements.is_empty() => begin(modes),
        Statement::StartTransaction { .. } => {
            refuse(Rule::TransactionShape, "BEGIN with a block or modifier")
        }
        Statement::Commit { chain: true, .. } => refuse(Rule::TransactionShape, "COMMIT AND CHAIN"),
        Statement::Commit { modifier: None, .. } => Ok(Kind::Transaction(TxControl::Commit)),
        Statement::Commit { .. } => refuse(Rule::TransactionShape, "COMMIT with a modifier"),
        Statement::Rollback { chain: true, .. } => {
            refuse(Rule::TransactionShape, "ROLLBACK AND CHAIN")
        }
        Statement::Rollback {
            savepoint: Some(name),
            ..
        } => Ok(Kind::Transaction(TxControl::RollbackTo(identifier(name)))),
        Statement::Rollback { savepoint: None, .. } => Ok(Kind::Transaction(TxControl::Rollback)),
        Statement::Savepoint { name } => Ok(Kind::Transaction(TxControl::Savepoint(identifier(name)))),
        Statement::ReleaseSavepoint { name } => {
            Ok(Kind::Transaction(TxControl::Release(identifier(name))))
        }

        // Session settings.
        Statement::Set(set) => set_statement(set),
        Statement::Reset(reset) => match &reset.reset {
            Reset::ALL => refuse(Rule::GuardSetting, "RESET ALL (would undo pgward's timeouts)"),
            Reset::SessionAuthorization => {
                refuse(Rule::IdentityChange, "RESET SESSION AUTHORIZATION")
            }
            Reset::ConfigurationParameter(name) => {
                setting(name, "RESET").map(|()| Kind::Session)
            }
        },
        Statement::Discard { object_type } => match object_type {
            DiscardObject::ALL => refuse(Rule::NoTransactionBlock, "DISCARD ALL"),
            DiscardObject::PLANS | DiscardObject::SEQUENCES | DiscardObject::TEMP => {
                Ok(Kind::Session)
            }
        },

        // Refused, each with its reason.
        Statement::CreateDatabase { .. } => refuse(Rule::NoTransactionBlock, "CREATE DATABASE"),
        Statement::Vacuum(_) => refuse(Rule::NoTransactionBlock, "VACUUM"),
        Statement::CreateServer(_) => refuse(Rule::OutsideReach, "CREATE SERVER"),
        Statement::Copy { target, .. } => match target {
            CopyTarget::Program { .. } => refuse(Rule::OutsideReach, "COPY … PROGRAM"),
            CopyTarget::File { .. } => {
                refuse(Rule::OutsideReach, "COPY to or from a server file")
            }
            CopyTarget::Stdin => refuse(
                Rule::Unrecognised,
                "COPY … FROM STDIN (pgward does not stream COPY data; use INSERT)",
            ),
            CopyTarget::Stdout => refuse(
                Rule::Unrecognised,
                "COPY … TO STDOUT (pgward shows results as tables; use SELECT)",
            ),
        },
        Statement::Prepare { .. } | Statement::Execute { .. } | Statement::Deallocate { .. } => {
            refuse(
                Rule::Unrecognised,
                "PREPARE/EXECUTE/DEALLOCATE (pgward owns the protocol and must see each statement)",
            )
        }
        Statement::Declare { .. } | Statement::Fetch { .. } | Statement::Close { .. } => refuse(
            Rule::Unrecognised,
            "cursors (DECLARE/FETCH/CLOSE) are not supported; use SELECT … LIMIT",
        ),
        // The token scan refuses NOTIFY first; this is the same refusal, for the tree.
        Statement::NOTIFY { .. } => refuse(
            Rule::OutsideReach,
            "NOTIFY (a notification is delivered to other sessions at COMMIT, outside what \
             pgward previews; use a table the listeners poll)",
        ),
        Statement::LISTEN { .. } | Statement::UNLISTEN { .. } => refuse(
            Rule::Unrecognised,
            "LISTEN/UNLISTEN (pgward does not show notifications)",
        ),
        other => Err(Refusal::new(
            Rule::Unrecognised,
            format!("statement `{}`", excerpt(&other.to_string())),
        )),
    }
}

/// `BEGIN` with at most an isolation level.
fn begin(modes: &[TransactionMode]) -> Result<Kind, Refusal> {
    let shape = |detail: &str| Err(Refusal::new(Rule::TransactionShape, detail));
    let isolation = match modes {
        [] => None,
        [TransactionMode::IsolationLevel(level)] => Some(match level {
            TransactionIsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            TransactionIsolationLevel::ReadCommitted => "READ COMMITTED",
            TransactionIsolationLevel::RepeatableRead => "REPEATABLE READ",
            TransactionIsolationLevel::Serializable => "SERIALIZABLE",
            TransactionIsolationLevel::Snapshot => {
                return shape("BEGIN ISOLATION LEVEL SNAPSHOT (not PostgreSQL)")
            }
        }),
        _ => {
            return shape(
                "BEGIN with an access mode (pgward chooses READ ONLY or READ WRITE itself)",
            )
        }
    };
    Ok(Kind::Transaction(TxControl::Begin {
        isolation: isolation.map(str::to_owned),
    }))
}

fn set_statement(set: &Set) -> Result<Kind, Refusal> {
    let refuse = |rule, detail: &str| Err(Refusal::new(rule, detail));
    match set {
        Set::SingleAssignment {
            hivevar: false,
            variable,
            ..
        } => setting(variable, "SET").map(|()| Kind::Session),
        Set::SetTimeZone { .. } => Ok(Kind::Session),
        Set::SetRole { .. } => refuse(Rule::IdentityChange, "SET ROLE"),
        Set::SetSessionAuthorization(_) => {
            refuse(Rule::IdentityChange, "SET SESSION AUTHORIZATION")
        }
        Set::SetTransaction { session: false, .. } => refuse(Rule::GuardSetting, "SET TRANSACTION"),
        Set::SetTransaction { session: true, .. } => {
            refuse(Rule::GuardSetting, "SET SESSION CHARACTERISTICS")
        }
        Set::SetNames { .. } | Set::SetNamesDefault {} => {
            refuse(Rule::GuardSetting, "SET NAMES (client_encoding)")
        }
        Set::SingleAssignment { .. }
        | Set::ParenthesizedAssignments { .. }
        | Set::MultipleAssignments { .. }
        | Set::SetSessionParam(_) => refuse(Rule::Unrecognised, "SET of a form PostgreSQL lacks"),
    }
}

/// Checks a SET/RESET of the setting `name` against the settings lists.
fn setting(name: &ObjectName, verb: &str) -> Result<(), Refusal> {
    let parts: Option<Vec<&str>> = name
        .0
        .iter()
        .map(|part| part.as_ident().map(|i| i.value.as_str()))
        .collect();
    match parts {
        Some(parts) => settings::check(&parts, verb),
        None => Err(Refusal::new(
            Rule::Unrecognised,
            format!("{verb} of a computed name"),
        )),
    }
}

/// An identifier as PostgreSQL resolves it: quoted names as written, unquoted ones
/// folded to lower case (ASCII only, as the server does), both truncated to 63 bytes.
fn identifier(ident: &Ident) -> String {
    let name = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    };
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or_default().to_owned()
}

/// The start of a statement's text, for a refusal's detail.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("DO LANGUAGE plpgsql 'begin null; end'", OPAQUE),
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
            ("VACUUM", Rule::NoTransactionBlock),
            ("VACUUM (FULL) t", Rule::NoTransactionBlock),
            ("CREATE DATABASE x", Rule::NoTransactionBlock),
            ("DROP DATABASE x", Rule::NoTransactionBlock),
            (
                "CREATE TABLESPACE x LOCATION '/tmp'",
                Rule::NoTransactionBlock,
            ),
            ("DROP TABLESPACE x", Rule::NoTransactionBlock),
            (
                "CREATE INDEX CONCURRENTLY i ON t (a)",
                Rule::NoTransactionBlock,
            ),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)",
                Rule::NoTransactionBlock,
            ),
            ("DROP INDEX CONCURRENTLY i", Rule::NoTransactionBlock),
            ("REINDEX TABLE CONCURRENTLY t", Rule::NoTransactionBlock),
            ("REINDEX (CONCURRENTLY) INDEX i", Rule::NoTransactionBlock),
            ("REINDEX DATABASE d", Rule::NoTransactionBlock),
            ("CLUSTER", Rule::NoTransactionBlock),
            ("DISCARD ALL", Rule::NoTransactionBlock),
            ("BEGIN READ ONLY", Rule::TransactionShape),
            ("START TRANSACTION READ WRITE", Rule::TransactionShape),
            (
                "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
                Rule::TransactionShape,
            ),
            ("COMMIT AND CHAIN", Rule::TransactionShape),
            ("commit and chain", Rule::TransactionShape),
            ("ROLLBACK AND CHAIN", Rule::TransactionShape),
            ("COPY t FROM STDIN", Rule::Unrecognised),
            ("COPY t TO STDOUT", Rule::Unrecognised),
            ("PREPARE p AS DELETE FROM t", Rule::Unrecognised),
            ("EXECUTE p", Rule::Unrecognised),
            ("DEALLOCATE ALL", Rule::Unrecognised),
            ("DECLARE c CURSOR FOR SELECT 1", Rule::Unrecognised),
            ("LISTEN ch", Rule::Unrecognised),
            ("DO LANGUAGE plv8 'x'", Rule::Unrecognised),
            ("DO $$ x $$ $$ y $$", Rule::Unrecognised),
            ("select 'unterminated", Rule::Unrecognised),
            ("select E'\\xff'", Rule::Unrecognised),
            ("SELECT 1; SELECT 2", Rule::Unrecognised),
            ("EXPLAIN SET ROLE x", Rule::IdentityChange),
            ("EXPLAIN SELECT dblink('a','b')", Rule::OutsideReach),
        ];
        for (sql, rule) in cases {
            assert_eq!(refused(sql), *rule, "{sql}: {:?}", classify(sql));
        }
    }

    #[test]
    fn acting_outside_the_transaction_is_refused() {
        let cases: &[&str] = &[
            "NOTIFY ch",
            "NOTIFY ch, 'payload'",
            "notify \"Ch\"",
            "select pg_notify('ch', 'x')",
            "select pg_catalog.PG_NOTIFY('ch', 'x')",
            "insert into t select 1 where pg_notify('ch', 'x') is null",
            "DO $$ begin notify ch; end $$",
            "DO $$ begin perform pg_notify('ch', 'x'); end $$",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'notify ch'",
            "select setval('s', 1)",
            "select a, setval('s', 3) from t",
            "select pg_catalog.setval('s', 1, false)",
            "update t set a = (select setval('s', 1))",
            "DO $$ begin perform setval('s', 1); end $$",
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
        let Verdict::Refused(r) = classify("select setval('s', 1)") else {
            panic!("setval not refused");
        };
        assert!(r.detail.contains("never rolled back"), "{}", r.detail);
        let Verdict::Refused(r) = classify("NOTIFY ch") else {
            panic!("NOTIFY not refused");
        };
        assert!(r.detail.contains("at COMMIT"), "{}", r.detail);
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
        let cases: &[&str] = &[
            "select query_to_xml('select 1', false, false, '')",
            "select query_to_xmlschema('delete from t returning 1', false, false, '')",
            "select query_to_xml_and_xmlschema('select 1', true, true, '')",
            "select cursor_to_xml('c', 1, false, false, '')",
            "select cursor_to_xmlschema('c', false, false, '')",
            "select * from ts_stat('select v from docs')",
            "select ts_rewrite('a & b'::tsquery, 'select t, s from aliases')",
            "select ts_rewrite('a'::tsquery, 'a'::tsquery, 'b'::tsquery)",
            "select * from crosstab('select 1, 2, 3') as c(a int, b int)",
            "select * from connectby('t', 'id', 'parent', '1', 0) as c(id int)",
            "select * from xpath_table('id', 'doc', 't', '/a', 'true') as x(id int)",
            "select 'set_config(''standard_conforming_strings'',''off'',false)'",
            "select my_exec('select SET_CONFIG(''role'', ''x'', false)')",
            "select e'set\\x5fconfig'",
            "insert into t values ('set_config')",
            "DO $$ begin perform set_config('search_path', 'x', true); end $$",
        ];
        for sql in cases {
            assert_eq!(refused(sql), Rule::DynamicSql, "{sql}: {:?}", classify(sql));
        }
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

    #[test]
    fn unparsed_goes_to_the_server() {
        // sqlparser 0.63 cannot parse these; the server's plan decides (FOR NO KEY UPDATE
        // and FOR KEY SHARE show up there as LockRows, a write).
        for sql in [
            "REFRESH MATERIALIZED VIEW mv",
            "CLUSTER t",
            "REINDEX TABLE t",
            "TABLE t",
            "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED",
            "SELECT * FROM t FOR KEY SHARE",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ begin delete from t; end $$",
            "SELECT 1 UNION SELECT 2 FOR UPDATE",
        ] {
            assert!(
                matches!(classify(sql), Verdict::Unparsed { .. }),
                "{sql}: {:?}",
                classify(sql)
            );
        }
    }

    #[test]
    fn refusal_details_name_the_trigger() {
        let Verdict::Refused(r) = classify("select dblink_exec('x')") else {
            panic!("not refused");
        };
        assert_eq!(r.detail, "function dblink_exec");
        assert!(r.to_string().starts_with("refused: function dblink_exec: "));
    }
}
