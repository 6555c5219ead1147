//! The UPDATEs and DELETEs inside a statement (in a WITH part, at any depth) that have
//! no WHERE clause, for the guard thresholds: `WITH d AS (DELETE FROM orders RETURNING *)
//! INSERT INTO archive SELECT * FROM d` deletes every order as surely as a bare
//! `DELETE FROM orders`, so it is asked about in the same way. The main statement's own
//! WHERE is judged by the preview's plan (which also knows an always-true one); this
//! looks at the parts beneath it, with PostgreSQL's own parser.

use pg_query::NodeRef;

/// What the first UPDATE or DELETE below the top of `sql` without a WHERE clause is
/// (`"DELETE FROM orders inside WITH"`); `None` when there is none, or when the text does
/// not parse (the server then refuses it as well).
pub fn unbounded_part(sql: &str) -> Option<String> {
    let parsed = pg_query::parse(sql, 0).ok()?;
    let nodes = parsed.protobuf.nodes();
    nodes.iter().find_map(|(node, depth, _, _)| {
        let (verb, relation) = match node {
            NodeRef::DeleteStmt(d) if *depth > 1 && d.where_clause.is_none() => {
                ("DELETE FROM", d.relation.as_ref())
            }
            NodeRef::UpdateStmt(u) if *depth > 1 && u.where_clause.is_none() => {
                ("UPDATE", u.relation.as_ref())
            }
            _ => return None,
        };
        let name = relation.map_or_else(
            || "a table".to_string(),
            |r| {
                if r.schemaname.is_empty() {
                    r.relname.clone()
                } else {
                    format!("{}.{}", r.schemaname, r.relname)
                }
            },
        );
        Some(format!("{verb} {name} inside WITH"))
    })
}

#[cfg(test)]
mod tests {
    use super::unbounded_part;

    #[test]
    fn finds_a_part_without_where_at_any_depth() {
        assert_eq!(
            unbounded_part(
                "WITH d AS (DELETE FROM orders RETURNING *) INSERT INTO archive SELECT * FROM d"
            )
            .as_deref(),
            Some("DELETE FROM orders inside WITH")
        );
        assert_eq!(
            unbounded_part("WITH u AS (UPDATE s.t SET a = 1 RETURNING id) SELECT * FROM u")
                .as_deref(),
            Some("UPDATE s.t inside WITH")
        );
        assert_eq!(
            unbounded_part(
                "WITH x AS (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d) SELECT * FROM x"
            )
            .as_deref(),
            Some("DELETE FROM t inside WITH")
        );
        // Bounded parts, and the main statement (judged elsewhere), are not named.
        assert_eq!(
            unbounded_part("WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d"),
            None
        );
        assert_eq!(unbounded_part("DELETE FROM t"), None);
        assert_eq!(unbounded_part("UPDATE t SET a = 1"), None);
        assert_eq!(unbounded_part("not sql"), None);
    }
}
