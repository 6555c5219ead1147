//! PL/pgSQL bodies (DO blocks, CREATE FUNCTION/PROCEDURE … LANGUAGE plpgsql), parsed with
//! PostgreSQL's own PL/pgSQL parser (`pg_query::parse_plpgsql`) and inspected statement by
//! statement.
//!
//! Every embedded SQL statement and expression (`PLpgSQL_expr`, with the parse mode the
//! PL/pgSQL compiler itself would use) goes through the classifier again, so a body is
//! refused for what any of its statements would be refused for (`SET LOCAL ROLE`, a call
//! of dblink, COMMIT, …), and a DO block gets the verdict of its statements. Dynamic SQL
//! (`EXECUTE expr`, `FOR … IN EXECUTE`, `OPEN … FOR EXECUTE`, `RETURN QUERY EXECUTE`) is
//! inspected when the string is a constant; a computed string (`'ro' || 'le'`,
//! `format(…)`, `decode(…)`) cannot be, so it is refused unless the environment allows
//! dynamic SQL (`allow_dynamic_sql`), in which case the statement is an opaque write and
//! the role setup the database enforces is what holds.

use pg_query::{NodeEnum, ParserOptions};
use serde_json::Value;

use super::classify::analyze_at;
use super::tree::{self, Facts};
use super::verdict::{Analysis, Options, Risk, Verdict};
use crate::policy::{Refusal, Rule};

/// PL/pgSQL statement kinds whose `query` / `dynquery` expression is run as SQL text.
const DYNAMIC: &[(&str, &str)] = &[
    ("PLpgSQL_stmt_dynexecute", "query"),
    ("PLpgSQL_stmt_dynfors", "query"),
    ("PLpgSQL_stmt_open", "dynquery"),
    ("PLpgSQL_stmt_return_query", "dynquery"),
];

/// Inspects the PL/pgSQL body of `sql` (a DO or CREATE FUNCTION statement). `runs_now` is
/// true for DO: its reads and writes are the statement's own (a write in it is opaque);
/// a function's body goes into facts the caller keeps apart.
pub(crate) fn inspect(
    sql: &str,
    options: &Options,
    depth: usize,
    facts: &mut Facts,
    runs_now: bool,
) {
    inspect_parsed(
        pg_query::parse_plpgsql(sql).map_err(|e| e.to_string()),
        options,
        depth,
        facts,
        runs_now,
    );
}

/// Inspects the body (`source`, the function's `AS` string) of a PL/pgSQL function that
/// returns `trigger`; see [`parse_trigger_body`]. The body runs later, when fired.
pub(crate) fn inspect_trigger(source: &str, options: &Options, depth: usize, facts: &mut Facts) {
    inspect_parsed(parse_trigger_body(source), options, depth, facts, false);
}

/// Parses the body (`prosrc`) of a PL/pgSQL trigger function. libpg_query (pg_query
/// =18.1.0) writes the tree of a function returning `trigger` as invalid JSON, so the
/// body is parsed as a block nested in a function returning `integer` that declares
/// `new` and `old` as records: a trigger body is one block, and what it does (its
/// statements, expressions, dynamic SQL and exception blocks) parses the same.
pub fn parse_trigger_body(source: &str) -> Result<Value, String> {
    let mut tag = String::from("pgward");
    while source.contains(&format!("${tag}$")) {
        tag.push('_');
    }
    let mut last = String::new();
    // The body's last `END` may or may not carry its own semicolon.
    for end in ["\n;\n", "\n"] {
        let wrapped = format!(
            "CREATE FUNCTION pgward_trigger_body() RETURNS integer LANGUAGE plpgsql AS ${tag}$ \
             DECLARE new record; old record; BEGIN\n{source}{end}END ${tag}$"
        );
        match pg_query::parse_plpgsql(&wrapped) {
            Ok(json) => return Ok(json),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn inspect_parsed(
    parsed: Result<Value, String>,
    options: &Options,
    depth: usize,
    facts: &mut Facts,
    runs_now: bool,
) {
    let json = match parsed {
        Ok(json) => json,
        Err(e) => {
            facts.refuse(Refusal::new(
                Rule::Unrecognised,
                format!("a PL/pgSQL body PostgreSQL's parser does not accept ({e})"),
            ));
            return;
        }
    };
    let mut body = Facts::default();
    walk(&json, options, depth, &mut body, 0);
    if runs_now {
        // pgward cannot capture rows changed inside a body: counts only.
        if body.risk == Some(Risk::Write) {
            body.risk = Some(Risk::OpaqueWrite);
        }
        facts.merge(body);
    } else {
        // A function's body: the caller keeps it apart from the CREATE statement's own
        // facts, for the calls of the function ([`super::created`]).
        facts.merge(body);
    }
}

/// Folds a nested statement's analysis into the enclosing body's facts.
pub(crate) fn fold(analysis: Analysis, facts: &mut Facts) {
    match analysis.verdict {
        Verdict::Refused(r) => facts.refuse(r),
        Verdict::Transaction(_) => facts.refuse(Refusal::new(
            Rule::TransactionShape,
            "transaction control inside a body",
        )),
        Verdict::Session | Verdict::Read => facts.note(Risk::Read),
        Verdict::Write { opaque: false } => facts.note(Risk::Write),
        Verdict::Write { opaque: true } => facts.note(Risk::OpaqueWrite),
        Verdict::Ddl => facts.note(Risk::Ddl),
        Verdict::NonTransactional { what, .. } => facts.refuse(Refusal::new(
            Rule::NoTransactionBlock,
            format!("{what} inside a body (it runs only on its own, outside any transaction)"),
        )),
    }
    facts.reads.extend(analysis.reads);
    facts.writes.extend(analysis.writes);
    facts.survives.extend(analysis.survives_rollback);
    facts.calls.extend(analysis.calls);
    facts.dynamic |= analysis.dynamic_sql;
    if let Some(lock) = analysis.lock {
        facts.lock(lock);
    }
}

fn walk(value: &Value, options: &Options, depth: usize, facts: &mut Facts, nesting: usize) {
    if nesting > 1000 {
        facts.refuse(Refusal::new(
            Rule::Unrecognised,
            "a PL/pgSQL body nested too deeply",
        ));
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                walk(item, options, depth, facts, nesting + 1);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                match key.as_str() {
                    "PLpgSQL_expr" => expression(child, options, depth, facts),
                    "PLpgSQL_stmt_commit" | "PLpgSQL_stmt_rollback" => facts.refuse(Refusal::new(
                        Rule::TransactionShape,
                        "COMMIT or ROLLBACK inside a body",
                    )),
                    kind => {
                        let dynamic = DYNAMIC
                            .iter()
                            .find(|(k, _)| *k == kind)
                            .map(|(_, field)| *field);
                        match (dynamic, child) {
                            (Some(field), Value::Object(stmt)) => {
                                for (k, v) in stmt {
                                    if k == field {
                                        dynamic_query(v, options, depth, facts);
                                    } else {
                                        walk(v, options, depth, facts, nesting + 1);
                                    }
                                }
                            }
                            _ => walk(child, options, depth, facts, nesting + 1),
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The text and parse mode of a serialized `PLpgSQL_expr`.
fn expr_parts(expr: &Value) -> Option<(&str, i32)> {
    let query = expr.get("query")?.as_str()?;
    let mode = expr
        .get("parseMode")
        .and_then(Value::as_i64)
        .and_then(|m| i32::try_from(m).ok())
        .unwrap_or(0);
    Some((query, mode))
}

/// An embedded SQL statement (mode 0) or expression (assignment, condition, …).
fn expression(expr: &Value, options: &Options, depth: usize, facts: &mut Facts) {
    let Some((query, mode)) = expr_parts(expr) else {
        facts.refuse(Refusal::new(
            Rule::Unrecognised,
            "a PL/pgSQL expression without text",
        ));
        return;
    };
    if mode == 0 {
        fold(analyze_at(query, options, depth + 1), facts);
        return;
    }
    // A plain expression (no known function, no WITH, …) is decided on PostgreSQL's
    // summary of it, without its whole tree: it is a read of what it reads, with its calls.
    if super::classify::fast_path_on() {
        if let Some(analysis) = super::fast::expression(query, mode) {
            fold(analysis, facts);
            return;
        }
    }
    match pg_query::parse(query, ParserOptions::from(mode)) {
        Ok(parsed) => tree::walk_parse_result(&parsed.protobuf, facts),
        Err(e) => facts.refuse(Refusal::new(
            Rule::Unrecognised,
            format!("a PL/pgSQL expression PostgreSQL's parser does not accept ({e})"),
        )),
    }
}

/// The string handed to EXECUTE: a constant is inspected as SQL; anything computed is
/// dynamic SQL.
fn dynamic_query(v: &Value, options: &Options, depth: usize, facts: &mut Facts) {
    let Some((query, _)) = v.get("PLpgSQL_expr").and_then(expr_parts) else {
        facts.refuse(Refusal::new(Rule::Unrecognised, "EXECUTE without a query"));
        return;
    };
    let parsed = match pg_query::parse(query, ParserOptions::PLPGSQL_EXPR) {
        Ok(parsed) => parsed,
        Err(e) => {
            facts.refuse(Refusal::new(
                Rule::Unrecognised,
                format!("an EXECUTE expression PostgreSQL's parser does not accept ({e})"),
            ));
            return;
        }
    };
    // The expression's own function calls count wherever it goes (a refused function
    // building the string is refused).
    tree::walk_parse_result(&parsed.protobuf, facts);
    let constant = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|raw| raw.stmt.as_ref()?.node.as_ref())
        .and_then(|node| match node {
            NodeEnum::SelectStmt(s) => s.target_list.first()?.node.as_ref(),
            _ => None,
        })
        .and_then(|target| match target {
            NodeEnum::ResTarget(r) => r.val.as_deref(),
            _ => None,
        })
        .and_then(tree::string_constant);
    match constant {
        Some(sql) => fold(analyze_at(sql, options, depth + 1), facts),
        None if options.allow_dynamic_sql => {
            facts.note(Risk::OpaqueWrite);
            facts.dynamic = true;
        }
        None => facts.refuse(Refusal::new(
            Rule::DynamicSql,
            format!("EXECUTE of a computed string ({})", excerpt(query)),
        )),
    }
}

/// The start of a text, for a refusal's detail.
fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(40).collect();
    if out.len() < one_line.len() {
        out.push('…');
    }
    out
}
