//! The walk over PostgreSQL's parse tree: every node of a statement, nested parts
//! included, folded into [`Facts`].
//!
//! pg_query hands the tree over as protobuf structs that serialize with serde; the walk
//! goes over that serialization (`{"node": {"FuncCall": {…}}}`), so it reaches every node
//! of every kind without a hand-written list of children that could miss one. What it
//! collects: function calls by qualified name (each looked up in `functions`), nested
//! statements (data-modifying CTEs, EXPLAIN ANALYZE targets, rule actions), row locks,
//! `SELECT … INTO`, and the relations read and written. A statement is as risky as its
//! riskiest part (`max` over [`Risk`]); under a plain EXPLAIN nothing runs, so its
//! target's risk is muted, but its refusals stand.

use std::collections::BTreeSet;

use serde_json::Value;

use super::functions::{self, Effect};
use super::settings;
use super::verdict::Risk;
use crate::policy::{Refusal, Rule};

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub risk: Option<Risk>,
    pub reads: BTreeSet<String>,
    pub writes: BTreeSet<String>,
    pub survives: Vec<String>,
    pub refusal: Option<Refusal>,
    ctes: BTreeSet<String>,
    muted: usize,
}

impl Facts {
    pub(crate) fn note(&mut self, risk: Risk) {
        if self.muted == 0 {
            self.risk = Some(self.risk.map_or(risk, |r| r.max(risk)));
        }
    }

    pub(crate) fn refuse(&mut self, refusal: Refusal) {
        if self.refusal.is_none() {
            self.refusal = Some(refusal);
        }
    }

    /// Folds in the facts of a nested part (a PL/pgSQL statement, say).
    pub(crate) fn merge(&mut self, other: Facts) {
        if let Some(r) = other.risk {
            self.note(r);
        }
        if let Some(r) = other.refusal {
            self.refuse(r);
        }
        self.reads.extend(other.reads);
        self.writes.extend(other.writes);
        self.survives.extend(other.survives);
    }

    /// Relations read, without the names of CTEs.
    pub(crate) fn reads(&self) -> Vec<String> {
        self.reads
            .iter()
            .filter(|r| !self.ctes.contains(*r))
            .cloned()
            .collect()
    }
}

/// Fields under which a `RangeVar` is the object a statement writes or redefines.
const TARGET_FIELDS: &[&str] = &["relation", "relations", "rel", "objects"];

/// Statement nodes that are fine anywhere in a tree, with the risk they carry.
fn nested_statement(kind: &str) -> Option<Risk> {
    match kind {
        "SelectStmt" | "RawStmt" | "ExplainStmt" | "VariableShowStmt" => Some(Risk::Read),
        "InsertStmt" | "UpdateStmt" | "DeleteStmt" | "MergeStmt" | "LockStmt" => Some(Risk::Write),
        "CallStmt" | "TruncateStmt" => Some(Risk::OpaqueWrite),
        _ => None,
    }
}

/// Walks a serialized statement node (the value of its `"node"` key's single entry, with
/// that entry's key as `kind`); `top` is true for the statement itself.
pub(crate) fn walk_statement(kind: &str, body: &Value, facts: &mut Facts) {
    visit_node(kind, body, "", facts, true, 0);
}

/// Walks any serialized value.
pub(crate) fn walk_value(value: &Value, facts: &mut Facts) {
    visit(value, "", facts, 0);
}

const MAX_DEPTH: usize = 2000;

fn visit(value: &Value, field: &str, facts: &mut Facts, depth: usize) {
    if depth > MAX_DEPTH {
        facts.refuse(Refusal::new(
            Rule::Unrecognised,
            "a statement nested too deeply",
        ));
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                visit(item, field, facts, depth + 1);
            }
        }
        Value::Object(map) => {
            if let (1, Some(Value::Object(inner))) = (map.len(), map.get("node")) {
                if let Some((kind, body)) = inner.iter().next() {
                    visit_node(kind, body, field, facts, false, depth + 1);
                }
                return;
            }
            // Typed children (`UpdateStmt.relation`, `CallStmt.funccall`, …) are
            // serialized without their node tag: recognised by their shape.
            if map.contains_key("relname") && map.contains_key("relpersistence") {
                return visit_node("RangeVar", value, field, facts, false, depth + 1);
            }
            if map.contains_key("funcname") && map.contains_key("funcformat") {
                return visit_node("FuncCall", value, field, facts, false, depth + 1);
            }
            for (k, v) in map {
                visit(v, k, facts, depth + 1);
            }
        }
        _ => {}
    }
}

fn visit_node(kind: &str, body: &Value, field: &str, facts: &mut Facts, top: bool, depth: usize) {
    let mut muted = false;
    match kind {
        "FuncCall" => function_call(body, facts),
        "RangeVar" => {
            let name = qualified_relation(body);
            if TARGET_FIELDS.contains(&field) {
                facts.writes.insert(name);
            } else {
                facts.reads.insert(name);
            }
        }
        "CommonTableExpr" => {
            if let Some(name) = body.get("ctename").and_then(Value::as_str) {
                facts.ctes.insert(name.to_string());
            }
        }
        "SelectStmt" => {
            // FOR UPDATE / FOR SHARE take row locks: only a write transaction holds them.
            if non_empty(body.get("locking_clause")) {
                facts.note(Risk::Write);
            }
            // SELECT … INTO creates a table, like CREATE TABLE AS.
            if !body.get("into_clause").is_none_or(Value::is_null) {
                facts.note(Risk::Ddl);
            }
        }
        "ExplainStmt" => muted = !explain_analyze(body),
        "VariableSetStmt" | "TransactionStmt" if !top => facts.refuse(Refusal::new(
            Rule::Unrecognised,
            "transaction control or SET nested inside another statement",
        )),
        "NotifyStmt" => facts.refuse(Refusal::new(
            Rule::OutsideReach,
            "NOTIFY (a notification is delivered to other sessions at COMMIT, outside what \
             pgward previews; use a table the listeners poll)",
        )),
        _ => {}
    }
    if !top && kind.ends_with("Stmt") {
        match nested_statement(kind) {
            Some(risk) => facts.note(risk),
            // Statements inside CREATE SCHEMA, rule actions and the like: schema changes.
            None => facts.note(Risk::Ddl),
        }
    }
    if muted {
        facts.muted += 1;
    }
    if let Value::Object(map) = body {
        for (k, v) in map {
            visit(v, k, facts, depth + 1);
        }
    }
    if muted {
        facts.muted -= 1;
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Array(a)) if !a.is_empty())
}

/// `EXPLAIN ANALYZE …` (either spelling): the target runs.
fn explain_analyze(body: &Value) -> bool {
    let Some(Value::Array(options)) = body.get("options") else {
        return false;
    };
    options.iter().any(|o| {
        let Some(def) = o.get("node").and_then(|n| n.get("DefElem")) else {
            return false;
        };
        let named = def.get("defname").and_then(Value::as_str) == Some("analyze");
        // `ANALYZE false` / `ANALYZE off` plans only; anything else (or no argument) runs.
        let off = def
            .get("arg")
            .and_then(|a| a.get("node"))
            .map(|n| {
                let s = n
                    .get("String")
                    .and_then(|s| s.get("sval"))
                    .and_then(Value::as_str)
                    .map(str::to_lowercase);
                let b = n
                    .get("Boolean")
                    .and_then(|b| b.get("boolval"))
                    .and_then(Value::as_bool);
                matches!(s.as_deref(), Some("false" | "off" | "0" | "no")) || b == Some(false)
            })
            .unwrap_or(false);
        named && !off
    })
}

/// `schema.name` of a serialized `RangeVar`, as written.
fn qualified_relation(body: &Value) -> String {
    let part = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    [part("catalogname"), part("schemaname"), part("relname")]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".")
}

/// The `sval` of each `String` node in a list (a qualified name).
pub(crate) fn name_parts(list: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            i.get("node")
                .and_then(|n| n.get("String"))
                .and_then(|s| s.get("sval"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// The string constant a serialized expression node is, if it is one.
pub(crate) fn string_constant(node: &Value) -> Option<&str> {
    let n = node.get("node")?;
    let c = n.get("AConst").or_else(|| {
        // `'x'::text`: a cast of a constant is still that constant.
        n.get("TypeCast")
            .and_then(|t| t.get("arg"))
            .and_then(|a| a.get("node"))
            .and_then(|a| a.get("AConst"))
    })?;
    c.get("val")?.get("Sval")?.get("sval")?.as_str()
}

fn function_call(body: &Value, facts: &mut Facts) {
    let parts = name_parts(body.get("funcname"));
    let Some(last) = parts.last() else {
        return;
    };
    let qualified = parts.join(".");
    if let Some((effect, why)) = functions::effect(last) {
        match effect {
            Effect::Refuse(rule) => {
                facts.refuse(Refusal::new(rule, format!("function {qualified} ({why})")))
            }
            Effect::SurvivesRollback => {
                facts.note(Risk::OpaqueWrite);
                facts.survives.push(format!("{qualified}: {why}"));
            }
            Effect::Writes => facts.note(Risk::OpaqueWrite),
        }
    }
    if last.eq_ignore_ascii_case("set_config") {
        let first = body
            .get("args")
            .and_then(Value::as_array)
            .and_then(|a| a.first());
        match first.and_then(string_constant) {
            Some(name) => {
                if let Err(r) = settings::check_set_config(name) {
                    facts.refuse(r);
                }
            }
            None => facts.refuse(Refusal::new(
                Rule::IdentityChange,
                "set_config of a computed setting name (it could be role)",
            )),
        }
    }
}
