//! The tree walk: how risky a whole statement is, nested parts included.
//!
//! A statement is as risky as its riskiest part. sqlparser's [`Visitor`] visits every
//! nested statement (data-modifying CTEs, the target of EXPLAIN, INSERT … SELECT), every
//! query (row locks), every SELECT (`INTO`) and every expression (functions that write),
//! and each is folded in with `max` over the [`Risk`] order. Nested statements go through
//! the same explicit match as top-level ones (`classify::kind`), so the catch-all refuses
//! at any depth. Under a plain `EXPLAIN` (no ANALYZE) nothing runs, so the target's risk
//! is muted — but its refusals still stand.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, Select, Statement, Visit, Visitor};

use super::classify::{kind, Kind};
use crate::policy::{Refusal, Rule};

/// How much a statement can change, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Risk {
    /// Reads only.
    Read,
    /// Changes rows pgward can see (INSERT, UPDATE, DELETE, MERGE, row locks).
    Write,
    /// Changes pgward cannot see row by row (CALL, TRUNCATE, nextval, …).
    OpaqueWrite,
    /// Changes the schema.
    Ddl,
}

/// Functions that change state even inside an otherwise read-only query.
const WRITING_FUNCTIONS: &[&str] = &[
    "nextval",
    "setval",
    "lo_create",
    "lo_creat",
    "lo_unlink",
    "lo_put",
    "lo_from_bytea",
    "lo_truncate",
    "lo_truncate64",
    "lowrite",
    "pg_notify",
];

/// The top-level statement's kind and the risk of the whole tree.
pub(crate) fn walk(statement: &Statement) -> Result<(Kind, Risk), Refusal> {
    let mut walker = Walker {
        depth: 0,
        muted: 0,
        root: None,
        risk: Risk::Read,
    };
    if let ControlFlow::Break(refusal) = statement.visit(&mut walker) {
        return Err(refusal);
    }
    match walker.root {
        Some(root) => Ok((root, walker.risk)),
        None => Err(Refusal::new(Rule::Unrecognised, "empty statement")),
    }
}

struct Walker {
    /// Statement nesting depth; 1 is the top-level statement.
    depth: usize,
    /// How many plain EXPLAINs enclose the current node.
    muted: usize,
    root: Option<Kind>,
    risk: Risk,
}

impl Walker {
    fn note(&mut self, risk: Risk) {
        if self.muted == 0 {
            self.risk = self.risk.max(risk);
        }
    }
}

/// `EXPLAIN` without ANALYZE (in either spelling): plans, does not execute.
fn is_plain_explain(statement: &Statement) -> bool {
    match statement {
        Statement::Explain {
            analyze, options, ..
        } => {
            let analyze_option = options
                .iter()
                .flatten()
                .any(|o| o.name.value.eq_ignore_ascii_case("analyze"));
            !analyze && !analyze_option
        }
        _ => false,
    }
}

impl Visitor for Walker {
    type Break = Refusal;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Refusal> {
        self.depth += 1;
        let kind = match kind(statement) {
            Ok(kind) => kind,
            Err(refusal) => return ControlFlow::Break(refusal),
        };
        match (&kind, self.depth) {
            (Kind::Risk(risk), _) => self.note(*risk),
            (_, 1) => {}
            (Kind::Transaction(_) | Kind::Session, _) => {
                return ControlFlow::Break(Refusal::new(
                    Rule::Unrecognised,
                    "transaction control or SET nested inside another statement",
                ))
            }
        }
        if self.depth == 1 {
            self.root = Some(kind);
        }
        if is_plain_explain(statement) {
            self.muted += 1;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Refusal> {
        self.depth = self.depth.saturating_sub(1);
        if is_plain_explain(statement) {
            self.muted = self.muted.saturating_sub(1);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Refusal> {
        // FOR UPDATE / FOR SHARE take row locks: only a write transaction should hold them.
        if !query.locks.is_empty() {
            self.note(Risk::Write);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Refusal> {
        // SELECT … INTO creates a table, like CREATE TABLE AS: a schema change.
        if select.into.is_some() {
            self.note(Risk::Ddl);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Refusal> {
        if let Expr::Function(function) = expr {
            let name = function
                .name
                .0
                .last()
                .and_then(|part| part.as_ident())
                .map(|ident| ident.value.to_lowercase());
            if name.is_some_and(|n| WRITING_FUNCTIONS.contains(&n.as_str())) {
                self.note(Risk::OpaqueWrite);
            }
        }
        ControlFlow::Continue(())
    }
}
