//! What a TRUNCATE removes, counted just before it runs: every table it reaches and
//! the rows each held.
//!
//! TRUNCATE shows in no row counter, so the rows are counted before. PostgreSQL's own
//! parser says which tables are named, with or without ONLY, and whether CASCADE was
//! asked for. Without ONLY a table's partitions and inheritance children go too (each
//! counted on its own, `FROM ONLY`); with CASCADE every table with a foreign key to one
//! of them goes, again and again, as the server finds them (clones of keys on
//! partitioned tables included). Under row-level security `count(*)` would see only
//! the rows the role may read while TRUNCATE removes all: such a table's figure is the
//! planner's estimate (`pg_class.reltuples`), and says so.

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::{quote_ident, Relation};

/// The tables a TRUNCATE removes rows from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Each table (display name) and the rows it held.
    pub tables: Vec<(String, i64)>,
    /// Tables whose figure is the planner's estimate, with why.
    pub estimated: Vec<String>,
}

/// What `text`, a TRUNCATE, will remove. Empty when it is not one PostgreSQL parses.
pub async fn removal(client: &Client, text: &str) -> Result<Removal, PreviewError> {
    let Some((named, cascade)) = parse(text) else {
        return Ok(Removal::default());
    };
    let mut set: Vec<u32> = Vec::new();
    for (name, inh) in named {
        let row = client
            .query_one(
                "SELECT pg_catalog.to_regclass($1::pg_catalog.text)::pg_catalog.oid",
                &[&name],
            )
            .await?;
        let Some(relid) = row.try_get::<_, Option<u32>>(0)? else {
            return Err(PreviewError::Catalog(format!("table {name} not found")));
        };
        add(client, &mut set, relid, inh).await?;
    }
    if cascade {
        loop {
            let rows = client
                .query(
                    "SELECT DISTINCT c.conrelid FROM pg_catalog.pg_constraint c \
                     WHERE c.contype OPERATOR(pg_catalog.=) 'f' \
                       AND c.confrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[]) \
                       AND c.conrelid OPERATOR(pg_catalog.<>) ALL ($1::pg_catalog.oid[])",
                    &[&set],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                add(client, &mut set, row.try_get(0)?, false).await?;
            }
        }
    }
    let mut removal = Removal::default();
    for relid in set {
        let relation = Relation::by_oid(client, relid).await?;
        if relation.kind != "r" {
            // A partitioned table holds no rows of its own; its partitions are listed.
            continue;
        }
        let hidden: bool = client
            .query_one(
                "SELECT pg_catalog.row_security_active($1::pg_catalog.oid)",
                &[&relid],
            )
            .await?
            .try_get(0)?;
        let rows = if hidden {
            let estimate: f32 = client
                .query_one(
                    "SELECT c.reltuples FROM pg_catalog.pg_class c \
                     WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
                    &[&relid],
                )
                .await?
                .try_get(0)?;
            removal.estimated.push(format!(
                "{}: row-level security hides rows from count(*), so the figure is the \
                 planner's estimate (pg_class.reltuples{})",
                relation.display(),
                if estimate < 0.0 {
                    ", never analyzed: unknown"
                } else {
                    ""
                }
            ));
            estimate.max(0.0).round() as i64
        } else {
            let sql = format!("SELECT pg_catalog.count(*) FROM ONLY {}", relation.quoted());
            client.query_one(&sql, &[]).await?.try_get(0)?
        };
        removal.tables.push((relation.display(), rows));
    }
    Ok(removal)
}

/// Adds `relid` and, when the statement reaches them (`inh`, or a partitioned table),
/// its partitions and inheritance children.
async fn add(
    client: &Client,
    set: &mut Vec<u32>,
    relid: u32,
    inh: bool,
) -> Result<(), PreviewError> {
    let rows = client
        .query(
            "WITH RECURSIVE down(relid) AS ( \
                 SELECT $1::pg_catalog.oid \
                 UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
                 JOIN down ON i.inhparent OPERATOR(pg_catalog.=) down.relid \
                 WHERE $2::pg_catalog.bool OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
                       WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
                         AND c.relkind OPERATOR(pg_catalog.=) 'p')) \
             SELECT relid FROM down",
            &[&relid, &inh],
        )
        .await?;
    for row in rows {
        let relid: u32 = row.try_get(0)?;
        if !set.contains(&relid) {
            set.push(relid);
        }
    }
    Ok(())
}

/// The named tables (as SQL names, with whether ONLY was left out) and whether CASCADE
/// was asked for, as PostgreSQL's parser reads the statement.
fn parse(text: &str) -> Option<(Vec<(String, bool)>, bool)> {
    use pg_query::protobuf::DropBehavior;
    use pg_query::NodeEnum;
    let parsed = pg_query::parse(text, pg_query::ParserOptions::DEFAULT).ok()?;
    let [statement] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    let Some(NodeEnum::TruncateStmt(truncate)) = statement.stmt.as_ref()?.node.as_ref() else {
        return None;
    };
    let mut named = Vec::new();
    for node in &truncate.relations {
        let Some(NodeEnum::RangeVar(range)) = node.node.as_ref() else {
            return None;
        };
        let name = if range.schemaname.is_empty() {
            quote_ident(&range.relname)
        } else {
            format!(
                "{}.{}",
                quote_ident(&range.schemaname),
                quote_ident(&range.relname)
            )
        };
        named.push((name, range.inh));
    }
    Some((named, truncate.behavior == DropBehavior::DropCascade as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_and_cascade_as_postgresql_does() {
        assert_eq!(
            parse("TRUNCATE ONLY a, s.\"B\" CASCADE"),
            Some((
                vec![("\"a\"".into(), false), ("\"s\".\"B\"".into(), true)],
                true
            ))
        );
        assert_eq!(
            parse("truncate table Items"),
            Some((vec![("\"items\"".into(), true)], false))
        );
        assert_eq!(parse("DELETE FROM t"), None);
        assert_eq!(parse("TRUNCATE a; TRUNCATE b"), None);
    }
}
