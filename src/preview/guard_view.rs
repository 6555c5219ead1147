//! What the guard thresholds judge of a statement sqlparser cannot read
//! (`UPDATE t SET a[2] = 0`, `… WHERE CURRENT OF c`, forms it does not know): its kind
//! and WHERE clause, from PostgreSQL's own parser. Without this an UPDATE or DELETE that
//! sqlparser failed on was "a statement" to the thresholds, and a bare
//! `UPDATE t SET a[2] = 0` was never asked about as having no WHERE clause. The preview
//! itself still shows such a statement with counts only; only the questions change.
//!
//! The condition is judged as a readable one is: PostgreSQL's deparser prints it, and
//! when sqlparser reads that print, [`rewrite::where_clause`] says whether it is always
//! true. A condition neither can judge is [`WhereShape::Opaque`]: there is one, and
//! nothing is claimed about it.

use pg_query::NodeEnum;

use super::rewrite::{self, WhereShape};
use super::statement::WriteKind;

/// The kind and WHERE clause of `text` (one statement), from PostgreSQL's parser;
/// `None` when it does not parse as one statement.
pub fn guard_view(text: &str) -> Option<(WriteKind, WhereShape)> {
    let parsed = pg_query::parse(text, pg_query::ParserOptions::DEFAULT).ok()?;
    let [stmt] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    let node = stmt.stmt.as_ref()?.node.as_ref()?;
    Some(match node {
        NodeEnum::UpdateStmt(u) => (WriteKind::Update, shape(u.where_clause.as_deref())),
        NodeEnum::DeleteStmt(d) => (WriteKind::Delete, shape(d.where_clause.as_deref())),
        NodeEnum::InsertStmt(_) => (WriteKind::Insert, WhereShape::NotApplicable),
        NodeEnum::MergeStmt(_) => (WriteKind::Merge, WhereShape::NotApplicable),
        NodeEnum::TruncateStmt(_) => (WriteKind::Truncate, WhereShape::NotApplicable),
        _ => (WriteKind::Other, WhereShape::NotApplicable),
    })
}

/// The shape of an UPDATE's or DELETE's WHERE clause `condition`.
fn shape(condition: Option<&pg_query::protobuf::Node>) -> WhereShape {
    let Some(condition) = condition else {
        return WhereShape::None;
    };
    let Some(printed) = print(condition) else {
        return WhereShape::Opaque;
    };
    match rewrite::where_clause(&format!("DELETE FROM pgward_t {printed}")) {
        WhereShape::TriviallyTrue => WhereShape::TriviallyTrue,
        WhereShape::Present(c) => WhereShape::Present(c),
        _ => WhereShape::Opaque,
    }
}

/// `WHERE condition` as PostgreSQL's deparser prints it (inside a `SELECT`, since only
/// a statement can be deparsed).
fn print(condition: &pg_query::protobuf::Node) -> Option<String> {
    let mut select = pg_query::parse("SELECT WHERE true", pg_query::ParserOptions::DEFAULT)
        .ok()?
        .protobuf;
    let stmt = select.stmts.first_mut()?.stmt.as_mut()?;
    let Some(NodeEnum::SelectStmt(s)) = stmt.node.as_mut() else {
        return None;
    };
    s.where_clause = Some(Box::new(condition.clone()));
    let printed = pg_query::deparse(&select, Default::default()).ok()?;
    printed
        .strip_prefix("SELECT ")
        .filter(|rest| rest.starts_with("WHERE "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_sqlparser_cannot_read_is_judged_from_postgresqls_parse() {
        let cases: &[(&str, WriteKind, &str)] = &[
            ("UPDATE arr SET a[2] = 0", WriteKind::Update, "none"),
            (
                "UPDATE arr SET a[2] = 0 WHERE true",
                WriteKind::Update,
                "true",
            ),
            (
                "UPDATE arr SET a[2] = 0 WHERE 1 = 1",
                WriteKind::Update,
                "true",
            ),
            (
                "UPDATE arr SET a[2] = 0 WHERE id = 3",
                WriteKind::Update,
                "present",
            ),
            (
                "DELETE FROM t WHERE CURRENT OF c",
                WriteKind::Delete,
                "opaque",
            ),
            ("DELETE FROM ONLY t", WriteKind::Delete, "none"),
            ("INSERT INTO t DEFAULT VALUES", WriteKind::Insert, "n/a"),
            ("TRUNCATE t", WriteKind::Truncate, "n/a"),
            ("SELECT 1", WriteKind::Other, "n/a"),
        ];
        for (sql, kind, expected) in cases {
            let (k, shape) = guard_view(sql).expect(sql);
            assert_eq!(k, *kind, "{sql}");
            let seen = match shape {
                WhereShape::None => "none",
                WhereShape::TriviallyTrue => "true",
                WhereShape::Present(_) => "present",
                WhereShape::Opaque => "opaque",
                WhereShape::NotApplicable => "n/a",
            };
            assert_eq!(seen, *expected, "{sql}");
        }
        assert!(guard_view("UPDATE t SET").is_none());
        assert!(guard_view("SELECT 1; SELECT 2").is_none());
    }
}
