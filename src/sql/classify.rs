//! The statement classifier: what one piece cut by the splitter is, as far as the guard
//! is concerned, decided on PostgreSQL's own parse tree (`pg_query`, the server's parser
//! compiled in), so no statement means one thing to the guard and another to the server.
//!
//! Order of checks, each failing closed:
//! 1. parse with pg_query: the piece must be exactly one statement, or it is refused;
//! 2. [`kind`] — one explicit `match` on the statement's node type whose catch-all
//!    refuses — decides the statement's own class, its lock, and the refusals that
//!    depend on its options (`CONCURRENTLY`, `PROGRAM`, an untrusted language, …);
//! 3. the tree walk (`tree`) folds in every nested part: function calls by name
//!    (`functions`), data-modifying CTEs, row locks, `SELECT … INTO`, relations;
//! 4. DO blocks and function bodies are parsed too (`plpgsql`) and every embedded
//!    statement and expression goes through 1–3 again.

use std::cell::Cell;

use pg_query::protobuf::{
    self, AlterTableType, DiscardMode, ObjectType, ReindexObjectType, TransactionStmtKind,
    VariableSetKind,
};
use pg_query::NodeEnum;
use serde_json::Value;

use super::functions;
use super::locks;
use super::plpgsql;
use super::settings;
use super::tree::{self, Facts};
use super::verdict::{Analysis, Named, Options, Risk, TxControl, Verdict};
use crate::policy::{Refusal, Rule};

/// `DECLARE … WITH HOLD` (PostgreSQL's `CURSOR_OPT_HOLD`).
const CURSOR_OPT_HOLD: i32 = 0x0020;
/// `DECLARE … BINARY` (PostgreSQL's `CURSOR_OPT_BINARY`).
const CURSOR_OPT_BINARY: i32 = 0x0001;

/// How deep bodies inside bodies (a constant EXECUTE string inside a DO block, say) are
/// inspected before the classifier gives up and refuses.
const MAX_BODY_DEPTH: usize = 4;

/// Classifies one piece cut by the splitter, with the strictest options.
pub fn classify(sql: &str) -> Verdict {
    analyze(sql, &Options::default()).verdict
}

/// Classifies one piece and says what it reads, writes and locks.
pub fn analyze(sql: &str, options: &Options) -> Analysis {
    analyze_at(sql, options, 0)
}

/// PostgreSQL's fingerprint of `sql` (hex, relation names in full), or `None` when it
/// does not parse: two texts with the same fingerprint are the same statement to the
/// server, whatever their spelling. Fingerprints ignore the values of constants, so a
/// caller comparing a reprint with the typed text must compare constants separately.
pub fn fingerprint(sql: &str) -> Option<String> {
    pg_query::fingerprint(sql, 0, pg_query::FingerprintOptions::FULL_RELNAME)
        .ok()
        .map(|f| f.hex)
}

fn refused(rule: Rule, detail: impl Into<String>) -> Analysis {
    Analysis::bare(Verdict::Refused(Refusal::new(rule, detail)))
}

/// A schema change that reaches outside the database: DDL with its lock, which the policy
/// refuses (rule [`Rule::OutsideReach`]) because `why`.
fn outside(what: &str, lock: &'static str, why: &str) -> Result<Kind, Refusal> {
    Ok(Kind::Policy(
        Risk::Ddl,
        lock,
        Refusal::new(Rule::OutsideReach, format!("{what} ({why})")),
    ))
}

/// What one statement node is, before its children are looked at.
pub(crate) enum Kind {
    /// Data or schema access, with the lock a schema change takes.
    Risk(Risk, Option<&'static str>),
    /// Transaction control (top level only).
    Transaction(TxControl),
    /// An allowed setting (top level only).
    Session,
    /// Runs only outside a transaction block (top level only), with the lock it takes.
    NonTransactional(&'static str, &'static str),
    /// Classified (a schema change with its lock), then refused by the policy.
    Policy(Risk, &'static str, Refusal),
}

pub(crate) fn analyze_at(sql: &str, options: &Options, depth: usize) -> Analysis {
    if depth > MAX_BODY_DEPTH {
        return refused(
            Rule::DynamicSql,
            "SQL nested in bodies too deeply to inspect",
        );
    }
    if fast_path_on() {
        if let Some(analysis) = super::fast::summarized(sql) {
            return analysis;
        }
    }
    analyze_parsed(sql, options, depth)
}

thread_local! {
    /// Set while [`analyze_tree`] runs on this thread: no fast path at any depth.
    static FULL_TREE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the fast path ([`super::fast`]) may decide a statement or a PL/pgSQL
/// expression: always, but inside [`analyze_tree`].
pub(crate) fn fast_path_on() -> bool {
    !FULL_TREE.with(Cell::get)
}

/// [`analyze`] without the fast path ([`super::fast`]) at any depth (the statement, and
/// every statement and expression of a body in it): PostgreSQL's whole parse tree,
/// walked. The classifier of record, against which the fast path is checked.
pub fn analyze_tree(sql: &str, options: &Options) -> Analysis {
    /// Puts the flag back as it was, also if the walk panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FULL_TREE.with(|f| f.set(self.0));
        }
    }
    let _restore = Restore(FULL_TREE.with(|f| f.replace(true)));
    analyze_parsed(sql, options, 0)
}

/// Parses `sql` and classifies its tree (`depth`: how deep in bodies it sits).
fn analyze_parsed(sql: &str, options: &Options, depth: usize) -> Analysis {
    let parsed = match pg_query::parse(sql, 0) {
        Ok(parsed) => parsed,
        Err(e) => {
            let message = parse_message(&e);
            let mut analysis = refused(
                Rule::Unrecognised,
                format!("PostgreSQL's parser does not accept it ({message})"),
            );
            if depth == 0 {
                analysis.syntax_error = Some(message);
            }
            return analysis;
        }
    };
    let node = match parsed.protobuf.stmts.as_slice() {
        [raw] => raw.stmt.as_ref().and_then(|s| s.node.as_ref()),
        more => {
            return refused(
                Rule::Unrecognised,
                format!("{} statements where one was expected", more.len()),
            )
        }
    };
    let Some(node) = node else {
        return refused(Rule::Unrecognised, "an empty statement");
    };
    analyze_node(node, sql, options, depth)
}

/// [`analyze_at`] of a statement parsed already: `node` is the tree of `sql`.
fn analyze_node(node: &NodeEnum, sql: &str, options: &Options, depth: usize) -> Analysis {
    match node {
        NodeEnum::PrepareStmt(_) | NodeEnum::ExecuteStmt(_) | NodeEnum::DeallocateStmt(_)
            if depth > 0 =>
        {
            return refused(
                Rule::Unrecognised,
                "PREPARE, EXECUTE or DEALLOCATE inside a body (pgward follows only the \
                 prepared statements typed at the session)",
            )
        }
        NodeEnum::PrepareStmt(p) => return prepare(p, sql, options, depth),
        _ => {}
    }
    let mut facts = Facts::default();
    let analysis = statement(node, sql, options, depth, &mut facts);
    match node {
        NodeEnum::CreateFunctionStmt(f) => super::created::definition(f, analysis, facts),
        NodeEnum::DropStmt(d) => super::created::dropped(d, analysis),
        // A refused DECLARE keeps its name, and a FETCH or MOVE names its cursor, for
        // whoever follows cursors (`pgward check`: `super::cursors`).
        NodeEnum::DeclareCursorStmt(d) => named(analysis, Named::Cursor(d.portalname.clone())),
        NodeEnum::FetchStmt(f) => named(analysis, Named::Fetch(f.portalname.clone())),
        _ => analysis,
    }
}

/// `analysis` with `named`, unless it names something already.
fn named(mut analysis: Analysis, named: Named) -> Analysis {
    analysis.named.get_or_insert(named);
    analysis
}

/// [`analyze_node`] but for what a CREATE FUNCTION's body does, which stays in `facts`.
fn statement(
    node: &NodeEnum,
    sql: &str,
    options: &Options,
    depth: usize,
    facts: &mut Facts,
) -> Analysis {
    let kind = match kind(node, sql, options, depth, facts) {
        Ok(kind) => kind,
        Err(refusal) => return Analysis::bare(Verdict::Refused(refusal)),
    };
    tree::walk_statement(node, facts);
    if let Some(refusal) = facts.refusal.take() {
        return Analysis::bare(Verdict::Refused(refusal));
    }
    let reads = facts.reads();
    let mut policy = None;
    let (verdict, lock) = match kind {
        Kind::Transaction(tx) => (Verdict::Transaction(tx), None),
        Kind::Session => (Verdict::Session, None),
        Kind::NonTransactional(what, lock) => {
            (Verdict::NonTransactional { what, lock }, Some(lock))
        }
        Kind::Policy(risk, lock, refusal) => {
            policy = Some(refusal);
            risk_verdict(risk, Some(lock), facts, &reads)
        }
        Kind::Risk(risk, lock) => risk_verdict(risk, lock, facts, &reads),
    };
    let mut analysis = Analysis {
        verdict,
        reads,
        writes: facts.writes.iter().cloned().collect(),
        lock,
        survives_rollback: facts.survives.clone(),
        syntax_error: None,
        class: None,
        named: None,
        dynamic_sql: facts.dynamic,
        calls: facts.calls.iter().cloned().collect(),
    };
    if let Some(refusal) = policy {
        let class = std::mem::replace(&mut analysis.verdict, Verdict::Refused(refusal));
        analysis.class = Some(class);
        return analysis;
    }
    match node {
        NodeEnum::DeclareCursorStmt(d) => cursor(d, analysis),
        NodeEnum::DeallocateStmt(d) => {
            analysis.named = Some(Named::Deallocate((!d.isall).then(|| d.name.clone())));
            analysis
        }
        _ => match facts.executes.as_slice() {
            [] => analysis,
            [name] => execute(name, analysis),
            _ => refused(
                Rule::Unrecognised,
                "a statement that runs more than one prepared statement",
            ),
        },
    }
}

/// The verdict and lock of a statement of `risk` (its own) after the walk found `facts`.
fn risk_verdict(
    risk: Risk,
    lock: Option<&'static str>,
    facts: &Facts,
    reads: &[String],
) -> (Verdict, Option<&'static str>) {
    let risk = facts.risk.map_or(risk, |r| r.max(risk));
    // Locks that nested parts take (the statements of a DO block) count too.
    let lock = match (lock, facts.lock) {
        (Some(a), Some(b)) => Some(locks::max(Some(a), b)),
        (a, b) => a.or(b),
    };
    // A schema change found inside (SELECT … INTO) reads what it copies.
    let lock = match lock {
        None if risk == Risk::Ddl && !reads.is_empty() => Some("ACCESS SHARE"),
        None if risk == Risk::Ddl => Some(locks::NONE),
        lock => lock,
    };
    (risk.verdict(), lock)
}

/// `PREPARE name AS statement`: nothing runs yet, so the PREPARE gets its statement's
/// class, relations and lock, but not its warnings; the statement's own analysis goes
/// with it for the EXECUTEs ([`super::prepared::Prepared`]).
fn prepare(p: &protobuf::PrepareStmt, sql: &str, options: &Options, depth: usize) -> Analysis {
    if driver_name(&p.name) {
        return refused(
            Rule::Unrecognised,
            format!(
                "PREPARE {} (the names s0, s1, … are those of pgward's database driver; choose another)",
                p.name
            ),
        );
    }
    let Some(statement) = prepared_text(sql) else {
        return refused(
            Rule::Unrecognised,
            format!("PREPARE {} whose statement pgward cannot find", p.name),
        );
    };
    let inner = analyze_at(statement, options, depth);
    match &inner.verdict {
        Verdict::Read | Verdict::Write { .. } | Verdict::Ddl => {}
        Verdict::Refused(r) => return Analysis::bare(Verdict::Refused(r.clone())),
        _ => {
            return refused(
                Rule::Unrecognised,
                format!("PREPARE {} of a statement that is not a query", p.name),
            )
        }
    }
    Analysis {
        verdict: inner.verdict.clone(),
        reads: inner.reads.clone(),
        writes: inner.writes.clone(),
        lock: inner.lock,
        survives_rollback: Vec::new(),
        syntax_error: None,
        class: None,
        dynamic_sql: inner.dynamic_sql,
        calls: inner.calls.clone(),
        named: Some(Named::Prepare {
            name: p.name.clone(),
            statement: statement.to_string(),
            analysis: Box::new(inner),
        }),
    }
}

/// Whether `name` is one tokio-postgres gives the statements it prepares (`s0`, `s1`, …):
/// a user's PREPARE under such a name would make pgward's own next query fail.
fn driver_name(name: &str) -> bool {
    name.strip_prefix('s')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The text of the statement a `PREPARE name [(types)] AS statement` prepares: what
/// follows its first `AS` outside parentheses, found with PostgreSQL's own scanner.
fn prepared_text(sql: &str) -> Option<&str> {
    use protobuf::Token;
    let tokens = pg_query::scan_tokens(sql).ok()?;
    let mut depth = 0i32;
    for t in &tokens {
        match Token::try_from(t.token) {
            Ok(Token::Ascii40) => depth += 1,
            Ok(Token::Ascii41) => depth -= 1,
            Ok(Token::As) if depth == 0 => {
                let end = usize::try_from(t.end).ok()?;
                let rest = sql.get(end..)?.trim();
                return (!rest.is_empty()).then_some(rest);
            }
            _ => {}
        }
    }
    None
}

/// `DECLARE name CURSOR FOR query`: a read when its query is one. Its query runs at each
/// FETCH, which pgward runs read-only, so a query that writes or locks rows is refused,
/// as are WITH HOLD (refused earlier, in [`kind`]) and BINARY.
fn cursor(d: &protobuf::DeclareCursorStmt, mut analysis: Analysis) -> Analysis {
    match analysis.verdict {
        Verdict::Read => {
            analysis.named = Some(Named::Cursor(d.portalname.clone()));
            analysis
        }
        Verdict::Refused(_) => analysis,
        _ => refused(
            Rule::Cursor,
            format!(
                "DECLARE {} over a query that writes or locks rows (FOR UPDATE, nextval, …)",
                d.portalname
            ),
        ),
    }
}

/// A statement that runs the prepared statement `name`: refused until the session (or
/// `pgward check`, earlier in the same file) says what was prepared under that name.
fn execute(name: &str, own: Analysis) -> Analysis {
    if let Verdict::Refused(_) = own.verdict {
        return own;
    }
    let mut analysis = refused(
        Rule::Unrecognised,
        format!(
            "EXECUTE {name} (what a prepared statement does is known only from its PREPARE, \
             typed earlier in this session or file)"
        ),
    );
    analysis.named = Some(Named::Execute {
        name: name.to_string(),
        own: Box::new(own),
    });
    analysis
}

fn parse_message(e: &pg_query::Error) -> String {
    match e {
        pg_query::Error::Parse(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The explicit match. Every statement PostgreSQL users type is listed; the catch-all
/// refuses, so a statement nobody classified is refused until someone does.
pub(crate) fn kind(
    node: &NodeEnum,
    sql: &str,
    options: &Options,
    depth: usize,
    facts: &mut Facts,
) -> Result<Kind, Refusal> {
    use Kind::Risk as K;
    let refuse = |rule, detail: &str| Err(Refusal::new(rule, detail));
    let ddl = |lock: &'static str| Ok(K(Risk::Ddl, Some(lock)));
    let alone = |what, lock| Ok(Kind::NonTransactional(what, lock));
    const AX: &str = "ACCESS EXCLUSIVE";
    const SUE: &str = "SHARE UPDATE EXCLUSIVE";
    match node {
        // Reads. Row locks, SELECT INTO and writing functions are found by the walk.
        NodeEnum::SelectStmt(_) | NodeEnum::VariableShowStmt(_) | NodeEnum::ExplainStmt(_) => {
            Ok(K(Risk::Read, None))
        }

        // Writes.
        NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::MergeStmt(_) => Ok(K(Risk::Write, None)),
        NodeEnum::LockStmt(l) => Ok(K(Risk::Write, Some(locks::lock_stmt_mode(l.mode)))),
        NodeEnum::TruncateStmt(_) => Ok(K(Risk::OpaqueWrite, Some(AX))),
        NodeEnum::CallStmt(_) => Ok(K(Risk::OpaqueWrite, None)),
        NodeEnum::DoStmt(d) => {
            let language = def_string(&d.args, "language").unwrap_or_else(|| "plpgsql".into());
            body_language(&language, "DO")?;
            plpgsql::inspect(sql, options, depth, facts, true);
            Ok(K(Risk::Read, None))
        }

        // Schema changes, in a transaction block or (the concurrent forms) alone.
        NodeEnum::IndexStmt(i) if i.concurrent => alone("CREATE INDEX CONCURRENTLY", SUE),
        NodeEnum::IndexStmt(_) => ddl("SHARE"),
        NodeEnum::DropStmt(d) => {
            for object in &d.objects {
                let parts = name_list(object);
                if !parts.is_empty() {
                    facts.writes.insert(parts.join("."));
                }
            }
            if d.concurrent {
                alone("DROP INDEX CONCURRENTLY", SUE)
            } else {
                ddl(locks::ddl(node))
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            let mut lock = None;
            for cmd in &a.cmds {
                if let Some(NodeEnum::AlterTableCmd(c)) = cmd.node.as_ref() {
                    let fk = matches!(
                        c.def.as_ref().and_then(|d| d.node.as_ref()),
                        Some(NodeEnum::Constraint(k)) if k.contype() == protobuf::ConstrType::ConstrForeign
                    );
                    let subtype =
                        AlterTableType::try_from(c.subtype).unwrap_or(AlterTableType::Undefined);
                    if subtype == AlterTableType::AtDetachPartition && detach_concurrently(c) {
                        if a.cmds.len() > 1 {
                            return refuse(
                                Rule::NoTransactionBlock,
                                "DETACH PARTITION … CONCURRENTLY with other subcommands",
                            );
                        }
                        return alone("ALTER TABLE … DETACH PARTITION … CONCURRENTLY", SUE);
                    }
                    lock = Some(locks::max(lock, locks::alter_table(subtype, fk)));
                }
            }
            Ok(K(Risk::Ddl, Some(lock.unwrap_or(AX))))
        }
        NodeEnum::ReindexStmt(r) => {
            let concurrently = has_option(&r.params, "concurrently");
            match r.kind() {
                ReindexObjectType::ReindexObjectTable | ReindexObjectType::ReindexObjectIndex
                    if concurrently =>
                {
                    alone("REINDEX … CONCURRENTLY", SUE)
                }
                ReindexObjectType::ReindexObjectTable => ddl("SHARE"),
                ReindexObjectType::ReindexObjectIndex => ddl(AX),
                ReindexObjectType::ReindexObjectSchema if concurrently => {
                    alone("REINDEX SCHEMA … CONCURRENTLY", SUE)
                }
                ReindexObjectType::ReindexObjectSchema => alone("REINDEX SCHEMA", AX),
                _ => refuse(
                    Rule::NoTransactionBlock,
                    "REINDEX DATABASE or SYSTEM (it reaches every table of the database)",
                ),
            }
        }
        NodeEnum::ClusterStmt(c) if c.relation.is_none() => {
            refuse(Rule::NoTransactionBlock, "CLUSTER without a table")
        }
        NodeEnum::ClusterStmt(_) => ddl(AX),
        NodeEnum::RefreshMatViewStmt(r) if r.concurrent => ddl("EXCLUSIVE"),
        NodeEnum::RefreshMatViewStmt(_) => ddl(AX),
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && has_option(&v.options, "full") => {
            alone("VACUUM FULL", AX)
        }
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd => alone("VACUUM", SUE),
        // ANALYZE rewrites planner statistics: runs like a schema change.
        NodeEnum::VacuumStmt(_) => ddl("SHARE UPDATE EXCLUSIVE"),
        NodeEnum::AlterFunctionStmt(f) => {
            function_settings(&f.actions)?;
            ddl(locks::NONE)
        }
        NodeEnum::CreateFunctionStmt(f) => {
            let language = def_string(&f.options, "language").unwrap_or_else(|| "sql".into());
            match body_language(&language, "CREATE FUNCTION") {
                // What the statement is, is clear: a new function. The language is what
                // the policy refuses.
                Err(r) if r.rule == Rule::OutsideReach => {
                    let mut body = Facts::default();
                    body.refuse(r.clone());
                    facts.body = Some(Box::new(body));
                    return Ok(Kind::Policy(Risk::Ddl, locks::NONE, r));
                }
                other => other?,
            }
            function_settings(&f.options)?;
            let mut body = Facts::default();
            if f.sql_body.is_none() {
                if language.eq_ignore_ascii_case("plpgsql") {
                    match def_string(&f.options, "as") {
                        Some(source) if returns_trigger(f) => {
                            plpgsql::inspect_trigger(&source, options, depth, &mut body)
                        }
                        _ => plpgsql::inspect(sql, options, depth, &mut body, false),
                    }
                } else if let Some(text) = def_string(&f.options, "as") {
                    sql_body(&text, options, depth, &mut body);
                }
            }
            // The body runs later, when called; what it would refuse is refused now. What
            // it does goes with the function, for its calls ([`super::created`]).
            let refusal = body.refusal.clone();
            if f.sql_body.is_none() {
                facts.body = Some(Box::new(body));
            }
            if let Some(r) = refusal {
                return Err(r);
            }
            ddl(locks::NONE)
        }
        NodeEnum::CreateExtensionStmt(e)
            if functions::EXTENSIONS.contains(&e.extname.to_lowercase().as_str()) =>
        {
            Ok(Kind::Policy(
                Risk::Ddl,
                locks::NONE,
                Refusal::new(
                    Rule::OutsideReach,
                    format!(
                        "CREATE EXTENSION {} (its objects reach other connections, server files or the operating system)",
                        e.extname
                    ),
                ),
            ))
        }
        NodeEnum::CreateStmt(_)
        | NodeEnum::CreateTableAsStmt(_)
        | NodeEnum::ViewStmt(_)
        | NodeEnum::CreateSeqStmt(_)
        | NodeEnum::CreateSchemaStmt(_)
        | NodeEnum::CreateDomainStmt(_)
        | NodeEnum::CompositeTypeStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::CreateRangeStmt(_)
        | NodeEnum::DefineStmt(_)
        | NodeEnum::CreateExtensionStmt(_)
        | NodeEnum::CreateCastStmt(_)
        | NodeEnum::CreateOpClassStmt(_)
        | NodeEnum::CreateOpFamilyStmt(_)
        | NodeEnum::CreateConversionStmt(_)
        | NodeEnum::CreateStatsStmt(_)
        | NodeEnum::CreateRoleStmt(_)
        | NodeEnum::CreatePublicationStmt(_)
        | NodeEnum::CreateTransformStmt(_)
        | NodeEnum::CreateAmStmt(_) => ddl(locks::ddl(node)),
        NodeEnum::CreateTrigStmt(_) => ddl("SHARE ROW EXCLUSIVE"),
        NodeEnum::CreatePolicyStmt(_) | NodeEnum::RuleStmt(_) => ddl(AX),
        NodeEnum::AlterPolicyStmt(_) => ddl(AX),
        NodeEnum::RenameStmt(_)
        | NodeEnum::AlterObjectSchemaStmt(_)
        | NodeEnum::AlterOwnerStmt(_)
        | NodeEnum::AlterSeqStmt(_)
        | NodeEnum::AlterDomainStmt(_)
        | NodeEnum::AlterEnumStmt(_)
        | NodeEnum::AlterTypeStmt(_)
        | NodeEnum::AlterOperatorStmt(_)
        | NodeEnum::AlterCollationStmt(_)
        | NodeEnum::AlterStatsStmt(_)
        | NodeEnum::AlterOpFamilyStmt(_)
        | NodeEnum::AlterTsdictionaryStmt(_)
        | NodeEnum::AlterTsconfigurationStmt(_)
        | NodeEnum::AlterExtensionStmt(_)
        | NodeEnum::AlterExtensionContentsStmt(_)
        | NodeEnum::AlterRoleStmt(_)
        | NodeEnum::DropRoleStmt(_)
        | NodeEnum::DropOwnedStmt(_)
        | NodeEnum::ReassignOwnedStmt(_)
        | NodeEnum::AlterPublicationStmt(_)
        | NodeEnum::AlterDefaultPrivilegesStmt(_)
        | NodeEnum::GrantStmt(_)
        | NodeEnum::GrantRoleStmt(_) => ddl(locks::ddl(node)),
        NodeEnum::CommentStmt(c) => {
            if let Some(object) = c.object.as_deref() {
                let parts = name_list(object);
                if !parts.is_empty() && c.objtype() != ObjectType::ObjectColumn {
                    facts.writes.insert(parts.join("."));
                }
            }
            ddl(locks::ddl(node))
        }
        NodeEnum::SecLabelStmt(_) => ddl(locks::ddl(node)),

        // Transaction control.
        NodeEnum::TransactionStmt(t) => transaction(t),

        // Session settings.
        NodeEnum::VariableSetStmt(s) => set_statement(s),
        NodeEnum::DiscardStmt(d) => match d.target() {
            DiscardMode::DiscardAll => refuse(Rule::NoTransactionBlock, "DISCARD ALL"),
            _ => Ok(Kind::Session),
        },
        NodeEnum::ConstraintsSetStmt(_) => Ok(K(Risk::Read, None)),

        // Refused, each with its reason.
        NodeEnum::AlterSystemStmt(_) => refuse(Rule::AlterSystem, "ALTER SYSTEM"),
        NodeEnum::AlterDatabaseSetStmt(_) => refuse(Rule::DefaultSetting, "ALTER DATABASE … SET"),
        NodeEnum::AlterRoleSetStmt(_) => refuse(Rule::DefaultSetting, "ALTER ROLE … SET"),
        NodeEnum::CreatedbStmt(_) => refuse(Rule::NoTransactionBlock, "CREATE DATABASE"),
        NodeEnum::DropdbStmt(_) => refuse(Rule::NoTransactionBlock, "DROP DATABASE"),
        NodeEnum::AlterDatabaseStmt(_) | NodeEnum::AlterDatabaseRefreshCollStmt(_) => {
            refuse(Rule::NoTransactionBlock, "ALTER DATABASE")
        }
        NodeEnum::CreateTableSpaceStmt(_) => refuse(Rule::NoTransactionBlock, "CREATE TABLESPACE"),
        NodeEnum::DropTableSpaceStmt(_) => refuse(Rule::NoTransactionBlock, "DROP TABLESPACE"),
        NodeEnum::AlterTableSpaceOptionsStmt(_) | NodeEnum::AlterTableMoveAllStmt(_) => {
            refuse(Rule::OutsideReach, "ALTER TABLESPACE")
        }
        // Schema changes that reach outside the database: classified (DDL with its lock),
        // then refused by the policy, each with why.
        NodeEnum::CreateFdwStmt(_) | NodeEnum::AlterFdwStmt(_) => outside(
            "CREATE or ALTER FOREIGN DATA WRAPPER",
            locks::NONE,
            "a foreign-data wrapper's handler reaches data outside the database",
        ),
        NodeEnum::CreateForeignServerStmt(_) | NodeEnum::AlterForeignServerStmt(_) => outside(
            "CREATE or ALTER SERVER",
            locks::NONE,
            "a foreign server is the address of another data source, where pgward's transaction, preview and undo do not reach",
        ),
        NodeEnum::CreateUserMappingStmt(_)
        | NodeEnum::AlterUserMappingStmt(_)
        | NodeEnum::DropUserMappingStmt(_) => outside(
            "USER MAPPING",
            locks::NONE,
            "a user mapping holds the credentials for another data source",
        ),
        NodeEnum::CreateForeignTableStmt(f) => outside(
            "CREATE FOREIGN TABLE",
            f.base_stmt.as_ref().map_or(locks::NONE, locks::create_table),
            "a foreign table's rows live outside the database, where pgward's transaction, preview and undo do not reach",
        ),
        NodeEnum::ImportForeignSchemaStmt(_) => outside(
            "IMPORT FOREIGN SCHEMA",
            locks::NONE,
            "it connects to the foreign server to read its catalog",
        ),
        NodeEnum::CreateSubscriptionStmt(_)
        | NodeEnum::AlterSubscriptionStmt(_)
        | NodeEnum::DropSubscriptionStmt(_) => outside(
            "SUBSCRIPTION",
            locks::NONE,
            "a subscription connects to another server, and creates or drops replication slots there, which no ROLLBACK undoes",
        ),
        NodeEnum::CreatePlangStmt(p) => outside(
            "CREATE LANGUAGE",
            locks::NONE,
            if p.pltrusted {
                "a procedural language's handler runs code pgward cannot inspect"
            } else {
                "an untrusted language reaches the operating system"
            },
        ),
        NodeEnum::CreateEventTrigStmt(_) | NodeEnum::AlterEventTrigStmt(_) => outside(
            "EVENT TRIGGER",
            locks::NONE,
            "it runs on every later schema change, in every session",
        ),
        NodeEnum::CheckPointStmt(_) => refuse(Rule::OutsideReach, "CHECKPOINT"),
        NodeEnum::LoadStmt(_) => refuse(Rule::OutsideReach, "LOAD"),
        NodeEnum::CopyStmt(c) if c.is_program => refuse(Rule::OutsideReach, "COPY … PROGRAM"),
        NodeEnum::CopyStmt(c) if !c.filename.is_empty() => {
            refuse(Rule::OutsideReach, "COPY to or from a server file")
        }
        NodeEnum::CopyStmt(c) if c.is_from => refuse(
            Rule::Unrecognised,
            "COPY … FROM STDIN (pgward does not stream COPY data; use INSERT)",
        ),
        NodeEnum::CopyStmt(_) => refuse(
            Rule::Unrecognised,
            "COPY … TO STDOUT (pgward shows results as tables; use SELECT)",
        ),
        // Cursors: a DECLARE is what its query is (see `cursor`); FETCH, MOVE and CLOSE
        // read (the session runs them read-only, where the server refuses any write).
        NodeEnum::DeclareCursorStmt(d) if d.options & CURSOR_OPT_HOLD != 0 => refuse(
            Rule::Cursor,
            "DECLARE … WITH HOLD (the cursor outlives the transaction, and the rest of its \
             query runs at COMMIT, after the summary)",
        ),
        NodeEnum::DeclareCursorStmt(d) if d.options & CURSOR_OPT_BINARY != 0 => refuse(
            Rule::Cursor,
            "DECLARE … BINARY CURSOR (pgward shows rows as text)",
        ),
        NodeEnum::DeclareCursorStmt(_) | NodeEnum::FetchStmt(_) | NodeEnum::ClosePortalStmt(_) => {
            Ok(K(Risk::Read, None))
        }
        // Prepared statements: PREPARE is classified in `prepare`; an EXECUTE is what its
        // prepared statement is (see `execute`), DEALLOCATE drops one.
        NodeEnum::PrepareStmt(_) | NodeEnum::ExecuteStmt(_) => Ok(K(Risk::Read, None)),
        NodeEnum::DeallocateStmt(_) => Ok(Kind::Session),
        // A notification is transactional: delivered to listeners only when the
        // transaction commits, through pgward's COMMIT; a rolled-back one never is.
        NodeEnum::NotifyStmt(_) => Ok(K(Risk::OpaqueWrite, None)),
        NodeEnum::ListenStmt(_) | NodeEnum::UnlistenStmt(_) => refuse(
            Rule::Unrecognised,
            "LISTEN/UNLISTEN (pgward does not show notifications)",
        ),
        other => Err(Refusal::new(
            Rule::Unrecognised,
            format!("statement {}", statement_name(other)),
        )),
    }
}

/// The node type's name, e.g. `CreateForeignTableStmt`.
fn statement_name(node: &NodeEnum) -> String {
    match serde_json::to_value(node) {
        Ok(Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => "of an unknown kind".into(),
    }
}

/// Languages a body may be written in.
fn body_language(language: &str, what: &str) -> Result<(), Refusal> {
    let lower = language.to_lowercase();
    if functions::INSPECTED_LANGUAGES.contains(&lower.as_str()) {
        Ok(())
    } else if lower == "c" || lower == "internal" {
        Err(Refusal::new(
            Rule::OutsideReach,
            format!("{what} LANGUAGE {lower} (compiled code pgward cannot inspect, which reaches the operating system and the server's memory)"),
        ))
    } else if lower.ends_with('u') || lower == "plsh" {
        Err(Refusal::new(
            Rule::OutsideReach,
            format!("{what} LANGUAGE {lower} (an untrusted language reaches the operating system)"),
        ))
    } else {
        Err(Refusal::new(
            Rule::Unrecognised,
            format!("{what} LANGUAGE {lower} (only sql and plpgsql bodies can be inspected)"),
        ))
    }
}

/// Every statement of a `LANGUAGE sql` body, classified like typed ones. The body is
/// parsed once: each statement's text is its `RawStmt` range (as
/// `pg_query::split_with_parser` would cut it) and its tree comes from the same parse.
fn sql_body(text: &str, options: &Options, depth: usize, facts: &mut Facts) {
    let parsed = match pg_query::parse(text, 0) {
        Ok(parsed) => parsed,
        Err(e) => {
            // The words `split_with_parser` used to report the same error in.
            let message = match e {
                pg_query::Error::Parse(m) => format!("Error splitting: {m}"),
                other => other.to_string(),
            };
            facts.refuse(Refusal::new(
                Rule::Unrecognised,
                format!("a function body PostgreSQL's parser does not accept ({message})"),
            ));
            return;
        }
    };
    for raw in &parsed.protobuf.stmts {
        let start = usize::try_from(raw.stmt_location).unwrap_or(0);
        let end = match usize::try_from(raw.stmt_len) {
            Ok(0) | Err(_) => text.len(),
            Ok(len) => start.saturating_add(len),
        };
        let piece = text.get(start..end).unwrap_or(text);
        let analysis = if depth + 1 > MAX_BODY_DEPTH {
            refused(
                Rule::DynamicSql,
                "SQL nested in bodies too deeply to inspect",
            )
        } else {
            match raw.stmt.as_ref().and_then(|s| s.node.as_ref()) {
                Some(node) => analyze_node(node, piece, options, depth + 1),
                None => refused(Rule::Unrecognised, "an empty statement"),
            }
        };
        plpgsql::fold(analysis, facts);
    }
}

/// The `SET` clauses of CREATE or ALTER FUNCTION (`SET work_mem = '1MB'`, `RESET ALL`):
/// they apply whenever the function runs, so a setting a typed `SET` may not change is
/// refused here too. A dotted name is refused: whether it is a registered setting can only
/// be looked up when the function is called.
fn function_settings(options: &[pg_query::Node]) -> Result<(), Refusal> {
    for option in options {
        let Some(NodeEnum::DefElem(d)) = option.node.as_ref() else {
            continue;
        };
        let Some(NodeEnum::VariableSetStmt(s)) = d.arg.as_deref().and_then(|a| a.node.as_ref())
        else {
            continue;
        };
        let verb = match s.kind() {
            // Drops the function's own settings: nothing of pgward's.
            VariableSetKind::VarResetAll => continue,
            VariableSetKind::VarReset => "a function's RESET",
            _ => "a function's SET",
        };
        if settings::check(&s.name, verb)? == settings::Allowed::Placeholder {
            return Err(Refusal::new(
                Rule::GuardSetting,
                format!("{verb} {} (a dotted setting is checked against the server only when set in the session)", s.name),
            ));
        }
    }
    Ok(())
}

/// Whether a CREATE FUNCTION returns `trigger` (or `pg_catalog.trigger`).
fn returns_trigger(f: &pg_query::protobuf::CreateFunctionStmt) -> bool {
    let Some(t) = f.return_type.as_ref() else {
        return false;
    };
    let names: Vec<&str> = t
        .names
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    t.array_bounds.is_empty()
        && !t.setof
        && matches!(names.as_slice(), ["trigger"] | ["pg_catalog", "trigger"])
}

/// The string value of the `DefElem` named `name` in a list of options.
fn def_string(options: &[pg_query::Node], name: &str) -> Option<String> {
    options.iter().find_map(|o| match o.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname == name => match d.arg.as_deref()?.node.as_ref()? {
            NodeEnum::String(s) => Some(s.sval.clone()),
            NodeEnum::List(l) => l.items.iter().find_map(|i| match i.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            }),
            _ => None,
        },
        _ => None,
    })
}

/// Whether a list of options has `name` (on, or without a value).
fn has_option(options: &[pg_query::Node], name: &str) -> bool {
    options.iter().any(|o| match o.node.as_ref() {
        Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name) => {
            !matches!(d.arg.as_deref().and_then(|a| a.node.as_ref()),
                Some(NodeEnum::Boolean(b)) if !b.boolval)
                && !matches!(d.arg.as_deref().and_then(|a| a.node.as_ref()),
                    Some(NodeEnum::String(s)) if matches!(s.sval.to_lowercase().as_str(), "false" | "off" | "0"))
        }
        _ => false,
    })
}

fn detach_concurrently(cmd: &protobuf::AlterTableCmd) -> bool {
    matches!(cmd.def.as_deref().and_then(|d| d.node.as_ref()),
        Some(NodeEnum::PartitionCmd(p)) if p.concurrent)
}

/// The names in a `List` of `String` nodes (a qualified object name), or of a `RangeVar`.
fn name_list(node: &pg_query::Node) -> Vec<String> {
    match node.node.as_ref() {
        Some(NodeEnum::List(l)) => l
            .items
            .iter()
            .filter_map(|i| match i.node.as_ref() {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            })
            .collect(),
        Some(NodeEnum::String(s)) => vec![s.sval.clone()],
        _ => Vec::new(),
    }
}

/// The value of a boolean transaction option (`READ ONLY` is `transaction_read_only = 1`).
fn flag(d: &protobuf::DefElem) -> Option<bool> {
    match d.arg.as_deref()?.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            protobuf::a_const::Val::Ival(i) => Some(i.ival != 0),
            protobuf::a_const::Val::Boolval(b) => Some(b.boolval),
            _ => None,
        },
        NodeEnum::Integer(i) => Some(i.ival != 0),
        _ => None,
    }
}

fn transaction(t: &protobuf::TransactionStmt) -> Result<Kind, Refusal> {
    let shape = |detail: &str| Err(Refusal::new(Rule::TransactionShape, detail));
    let two_phase = |detail: &str| Err(Refusal::new(Rule::TwoPhaseCommit, detail));
    let tx = |t| Ok(Kind::Transaction(t));
    match t.kind() {
        TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart => {
            let mut isolation = None;
            for option in &t.options {
                match option.node.as_ref() {
                    Some(NodeEnum::DefElem(d)) if d.defname == "transaction_isolation" => {
                        let level = d
                            .arg
                            .as_deref()
                            .and_then(|a| match a.node.as_ref() {
                                Some(NodeEnum::AConst(c)) => match c.val.as_ref() {
                                    Some(protobuf::a_const::Val::Sval(s)) => Some(s.sval.clone()),
                                    _ => None,
                                },
                                _ => None,
                            })
                            .unwrap_or_default()
                            .to_uppercase();
                        isolation = Some(level);
                    }
                    // READ WRITE and NOT DEFERRABLE are what pgward's guarded write
                    // transaction is anyway (it states READ WRITE itself): accepted.
                    Some(NodeEnum::DefElem(d))
                        if (d.defname == "transaction_read_only"
                            || d.defname == "transaction_deferrable")
                            && flag(d) == Some(false) => {}
                    Some(NodeEnum::DefElem(d)) if d.defname == "transaction_read_only" => {
                        return shape(
                            "BEGIN READ ONLY (a transaction you open is pgward's guarded write transaction; reads typed outside one already run in a READ ONLY transaction of pgward's own: just type the SELECT)",
                        )
                    }
                    _ => {
                        return shape(
                            "BEGIN DEFERRABLE (it only matters to a SERIALIZABLE READ ONLY transaction, and a transaction you open is pgward's guarded write transaction)",
                        )
                    }
                }
            }
            tx(TxControl::Begin { isolation })
        }
        TransactionStmtKind::TransStmtCommit if t.chain => shape("COMMIT AND CHAIN"),
        TransactionStmtKind::TransStmtCommit => tx(TxControl::Commit),
        TransactionStmtKind::TransStmtRollback if t.chain => shape("ROLLBACK AND CHAIN"),
        TransactionStmtKind::TransStmtRollback => tx(TxControl::Rollback),
        TransactionStmtKind::TransStmtSavepoint => {
            tx(TxControl::Savepoint(t.savepoint_name.clone()))
        }
        TransactionStmtKind::TransStmtRelease => tx(TxControl::Release(t.savepoint_name.clone())),
        TransactionStmtKind::TransStmtRollbackTo => {
            tx(TxControl::RollbackTo(t.savepoint_name.clone()))
        }
        TransactionStmtKind::TransStmtPrepare => two_phase("PREPARE TRANSACTION"),
        TransactionStmtKind::TransStmtCommitPrepared => two_phase("COMMIT PREPARED"),
        TransactionStmtKind::TransStmtRollbackPrepared => two_phase("ROLLBACK PREPARED"),
        TransactionStmtKind::Undefined => shape("transaction control of an unknown kind"),
    }
}

fn set_statement(s: &protobuf::VariableSetStmt) -> Result<Kind, Refusal> {
    let refuse = |rule, detail: &str| Err(Refusal::new(rule, detail));
    match s.kind() {
        VariableSetKind::VarResetAll => refuse(
            Rule::GuardSetting,
            "RESET ALL (would undo pgward's timeouts)",
        ),
        VariableSetKind::VarSetMulti => match s.name.as_str() {
            "TRANSACTION" => refuse(Rule::GuardSetting, "SET TRANSACTION"),
            "SESSION CHARACTERISTICS" => refuse(Rule::GuardSetting, "SET SESSION CHARACTERISTICS"),
            other => refuse(Rule::GuardSetting, &format!("SET {other}")),
        },
        VariableSetKind::VarReset => settings::check(&s.name, "RESET").map(|_| Kind::Session),
        VariableSetKind::VarSetValue
        | VariableSetKind::VarSetDefault
        | VariableSetKind::VarSetCurrent => settings::check(&s.name, "SET").map(|_| Kind::Session),
        VariableSetKind::Undefined => refuse(Rule::Unrecognised, "SET of an unknown kind"),
    }
}
