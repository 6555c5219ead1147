//! How the rows of a table are keyed in the before/after diff.
//!
//! The primary key when there is one; else a unique index the server enforces on
//! every row (immediate, not partial, no expressions, every key column NOT NULL);
//! else the physical row address `ctid`, which an UPDATE changes, so the diff then
//! carries a visible warning.

use crate::conn::Client;

use super::error::PreviewError;

/// The columns that identify a row of a table in the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// The primary key's columns, in key order.
    Primary(Vec<String>),
    /// The columns of a unique index whose columns are all NOT NULL, not partial,
    /// without expressions and checked immediately.
    Unique(Vec<String>),
    /// No usable key: rows are keyed by `ctid`.
    Ctid,
}

impl RowKey {
    /// The warning to show for a table keyed by ctid, naming the table.
    pub fn warning(&self, table: &str) -> Option<String> {
        match self {
            RowKey::Ctid => Some(format!(
                "table {table} has no primary key or unique not-null key: rows are keyed by \
                 ctid, which changes on update"
            )),
            RowKey::Primary(_) | RowKey::Unique(_) => None,
        }
    }

    /// The key's columns; empty for ctid.
    pub fn columns(&self) -> &[String] {
        match self {
            RowKey::Primary(cols) | RowKey::Unique(cols) => cols,
            RowKey::Ctid => &[],
        }
    }
}

/// The key for the rows of table `relid`: the primary key, else the usable unique
/// index with the fewest columns (ties broken by index name), else ctid.
pub async fn row_key(client: &Client, relid: u32) -> Result<RowKey, PreviewError> {
    let rows = client
        .query(
            "SELECT i.indisprimary, \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) \
                               WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.attnum \
                          WHERE k.ord OPERATOR(pg_catalog.<=) i.indnkeyatts \
                          ORDER BY k.ord) AS cols, \
                    i.indnkeyatts OPERATOR(pg_catalog.=) (SELECT pg_catalog.count(*) \
                          FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) \
                               WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.attnum \
                          WHERE k.ord OPERATOR(pg_catalog.<=) i.indnkeyatts \
                            AND a.attnotnull) AS all_not_null \
             FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid \
             WHERE i.indrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND i.indisunique AND i.indisvalid \
               AND (i.indisprimary OR i.indimmediate) \
               AND i.indpred IS NULL AND i.indexprs IS NULL \
             ORDER BY i.indisprimary DESC, i.indnkeyatts, ic.relname",
            &[&relid],
        )
        .await?;
    for row in rows {
        let primary: bool = row.try_get(0)?;
        let cols: Vec<String> = row.try_get(1)?;
        let all_not_null: bool = row.try_get(2)?;
        if primary {
            return Ok(RowKey::Primary(cols));
        }
        if all_not_null && !cols.is_empty() {
            return Ok(RowKey::Unique(cols));
        }
    }
    Ok(RowKey::Ctid)
}

/// The table's columns that psql right-aligns: those whose type, or a domain's base
/// type, is one of psql's `column_type_alignment` numbers (the integer, float and
/// numeric types, oid, xid, xid8, cid and money). The server describes a domain column
/// by its base type, so psql aligns it as that.
pub async fn right_aligned(client: &Client, relid: u32) -> Result<Vec<String>, PreviewError> {
    let rows = client
        .query(
            "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
               AND (WITH RECURSIVE chain(typ) AS ( \
                      SELECT a.atttypid \
                      UNION ALL \
                      SELECT t.typbasetype FROM pg_catalog.pg_type t \
                      JOIN chain ON t.oid OPERATOR(pg_catalog.=) chain.typ \
                      WHERE t.typtype OPERATOR(pg_catalog.=) 'd') \
                    SELECT pg_catalog.bool_or(typ OPERATOR(pg_catalog.=) ANY \
                      ('{21,23,20,700,701,1700,26,28,5069,29,790}'::pg_catalog.oid[])) FROM chain) \
             ORDER BY a.attnum",
            &[&relid],
        )
        .await?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(PreviewError::from))
        .collect()
}

/// The table's columns in order (dropped and system columns left out).
pub async fn columns(client: &Client, relid: u32) -> Result<Vec<String>, PreviewError> {
    let rows = client
        .query(
            "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute \
             WHERE attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped \
             ORDER BY attnum",
            &[&relid],
        )
        .await?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(PreviewError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::testdb::{fresh, oid};

    #[tokio::test]
    async fn picks_primary_then_unique_not_null_then_ctid() {
        let client = fresh(
            "keys_kinds",
            r#"
            CREATE TABLE pk (a int, b text, c int, PRIMARY KEY (b, a), UNIQUE (c));
            CREATE TABLE uq (x int, code text NOT NULL, other int NOT NULL, y int);
            CREATE UNIQUE INDEX uq_nullable ON uq (y);
            CREATE UNIQUE INDEX uq_partial ON uq (other) WHERE other > 0;
            CREATE UNIQUE INDEX uq_expr ON uq (lower(code));
            CREATE UNIQUE INDEX uq_code ON uq (code) INCLUDE (x);
            CREATE TABLE deferred (k int NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED);
            CREATE TABLE "we""ird; drop" (v int, w int);
            ALTER TABLE "we""ird; drop" DROP COLUMN v;
            ALTER TABLE "we""ird; drop" ADD COLUMN "z""q" int;
            "#,
        )
        .await;
        let pk = oid(&client, "pk").await;
        assert_eq!(
            row_key(&client, pk).await.expect("key"),
            RowKey::Primary(vec!["b".into(), "a".into()])
        );
        let uq = oid(&client, "uq").await;
        let key = row_key(&client, uq).await.expect("key");
        assert_eq!(key, RowKey::Unique(vec!["code".into()]));
        assert_eq!(key.warning("uq"), None);

        let deferred = oid(&client, "deferred").await;
        let key = row_key(&client, deferred).await.expect("key");
        // A deferrable unique index may hold duplicates until commit: not a key.
        assert_eq!(key, RowKey::Ctid);

        let weird = oid(&client, r#""we""ird; drop""#).await;
        let key = row_key(&client, weird).await.expect("key");
        assert_eq!(key, RowKey::Ctid);
        assert!(key.columns().is_empty());
        let warning = key.warning(r#"we"ird; drop"#).expect("a ctid warning");
        assert!(warning.contains("ctid"), "{warning}");
        assert_eq!(
            columns(&client, weird).await.expect("columns"),
            vec!["w".to_owned(), "z\"q".to_owned()]
        );
        assert_eq!(
            columns(&client, uq).await.expect("columns"),
            vec!["x", "code", "other", "y"]
        );
    }
}
