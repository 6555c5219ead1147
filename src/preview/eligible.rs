//! Whether a row capture has exactly the typed statement's effect on this relation.
//!
//! The capture adds `RETURNING` of whole-row images and, for UPDATE, a self-join over
//! the target. PostgreSQL treats such a statement differently from the typed one in
//! ways no rewrite can undo: `RETURNING` and a self-join apply row-level security's
//! SELECT policies (so `DELETE FROM t` under a policy that hides rows from SELECT
//! deletes fewer rows), and they need SELECT on every column, system columns included
//! (so a role with column grants or INSERT-only rights fails with 42501). Rules and
//! views rewrite the statement into something else, and a foreign table is another
//! server's business. So before a capture is used, the server is asked, as the write
//! role, about the target and every partition and inheritance child it reaches; where
//! anything could differ, the typed statement runs as typed with counts only, and the
//! reason is shown.

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::display_name;

/// Why a row capture of a write to `relid` could change what the write does, as a
/// sentence ending in "counts only"; `None` when the capture is faithful.
pub async fn capture_blocker(client: &Client, relid: u32) -> Result<Option<String>, PreviewError> {
    // Bound first: the cache's lock must not be held across the query.
    let cached = client.facts().get::<Reach>(REACH, relid, false);
    let facts = match cached {
        Some(facts) => facts,
        None => {
            let facts = reach(client, relid).await?;
            client.facts().put(REACH, relid, false, &facts);
            facts
        }
    };
    Ok(blocker(
        &facts.role,
        facts.select,
        &facts.rls,
        &facts.not_tables,
        &facts.rules,
    ))
}

/// The preview's fact cache's key for [`Reach`] ([`super::fact_cache`]).
const REACH: &str = "reach";

/// What [`blocker`] decides on, as the write role sees it.
#[derive(Debug, Clone)]
struct Reach {
    rls: Vec<String>,
    not_tables: Vec<String>,
    rules: Vec<String>,
    select: bool,
    role: String,
}

/// Every relation a write to `relid` can reach (the target, its partitions and its
/// inheritance children, at any depth) with row-level security, kind and rules, and on
/// every row the role's SELECT privilege on the target and the role: one query.
async fn reach(client: &Client, relid: u32) -> Result<Reach, PreviewError> {
    let rows = client
        .query(
            "WITH RECURSIVE tree(relid) AS ( \
                 SELECT $1::pg_catalog.oid \
                 UNION \
                 SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
                 JOIN tree ON i.inhparent OPERATOR(pg_catalog.=) tree.relid) \
             SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
                    pg_catalog.row_security_active(c.oid), \
                    c.relkind OPERATOR(pg_catalog.<>) ALL ('{r,p}'::pg_catalog.\"char\"[]), \
                    EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r \
                            WHERE r.ev_class OPERATOR(pg_catalog.=) c.oid \
                              AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'), \
                    pg_catalog.has_table_privilege($1::pg_catalog.oid, 'SELECT'), \
                    current_user::pg_catalog.text \
             FROM tree \
             JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) tree.relid \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
             ORDER BY 1, 2",
            &[&relid],
        )
        .await?;
    // The target itself is always in the tree: no row means no such relation.
    let first = rows.first().ok_or(PreviewError::NoSuchTable { relid })?;
    let mut facts = Reach {
        rls: Vec::new(),
        not_tables: Vec::new(),
        rules: Vec::new(),
        select: first.try_get(5)?,
        role: first.try_get(6)?,
    };
    for row in &rows {
        let name = display_name(&row.try_get::<_, String>(0)?, &row.try_get::<_, String>(1)?);
        if row.try_get(2)? {
            facts.rls.push(name.clone());
        }
        if row.try_get(3)? {
            facts.not_tables.push(name.clone());
        }
        if row.try_get(4)? {
            facts.rules.push(name);
        }
    }
    Ok(facts)
}

/// The sentence for the first reason found, in order of how much it would change.
fn blocker(
    role: &str,
    select: bool,
    rls: &[String],
    not_tables: &[String],
    rules: &[String],
) -> Option<String> {
    if !rls.is_empty() {
        return Some(format!(
            "row-level security applies to {} for role {role}: a capture would also apply \
             its SELECT policies and could change fewer rows than the statement, so it ran \
             as typed: counts only",
            rls.join(", ")
        ));
    }
    if !select {
        return Some(format!(
            "role {role} cannot SELECT every column of the target: a capture would need \
             that and fail where the statement does not, so it ran as typed: counts only"
        ));
    }
    if !rules.is_empty() {
        return Some(format!(
            "rules on {} rewrite the statement: it ran as typed: counts only",
            rules.join(", ")
        ));
    }
    if !not_tables.is_empty() {
        return Some(format!(
            "{} is not a plain table (a view or foreign table): it ran as typed: counts only",
            not_tables.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_level_security_comes_first() {
        let rls = ["t".to_string()];
        let why = blocker("w", false, &rls, &[], &[]).expect("blocked");
        assert!(
            why.contains("row-level security applies to t for role w"),
            "{why}"
        );
        assert!(why.ends_with("counts only"));
        let why = blocker("w", false, &[], &[], &[]).expect("blocked");
        assert!(why.contains("cannot SELECT every column"), "{why}");
        assert_eq!(blocker("w", true, &[], &[], &[]), None);
        let v = ["v".to_string()];
        assert!(blocker("w", true, &[], &v, &[])
            .expect("blocked")
            .contains("v is not a plain table"));
        assert!(blocker("w", true, &[], &[], &v)
            .expect("blocked")
            .contains("rules on v"));
    }
}
