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

/// The chosen key of the table whose oid is the SQL expression `relid`, as SQL: one row (`pk`, `cols`) when the table has
/// a primary key or a usable unique index, none when its rows are keyed by ctid. The
/// primary key first, else the usable unique index with the fewest columns (ties broken
/// by index name): the first candidate that is primary, or whose key columns are all
/// NOT NULL and not none. Shared by [`row_key`] and the target's facts
/// ([`super::facts`]), so both choose alike.
pub(super) fn key_sql(relid: &str) -> String {
    format!(
        "\
    SELECT k.pk, k.cols FROM ( \
        SELECT i.indisprimary AS pk, \
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
                       AND a.attnotnull) AS all_not_null, \
               i.indnkeyatts AS nkeys, ic.relname AS iname \
        FROM pg_catalog.pg_index i \
        JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid \
        WHERE i.indrelid OPERATOR(pg_catalog.=) {relid} \
          AND i.indisunique AND i.indisvalid \
          AND (i.indisprimary OR i.indimmediate) \
          AND i.indpred IS NULL AND i.indexprs IS NULL) k \
    WHERE k.pk OR (k.all_not_null AND pg_catalog.cardinality(k.cols) OPERATOR(pg_catalog.>) 0) \
    ORDER BY k.pk DESC, k.nkeys, k.iname \
    LIMIT 1"
    )
}

/// The key for the rows of table `relid`: the primary key, else the usable unique
/// index with the fewest columns (ties broken by index name), else ctid.
pub async fn row_key(client: &Client, relid: u32) -> Result<RowKey, PreviewError> {
    match client
        .query_opt(&key_sql("$1::pg_catalog.oid"), &[&relid])
        .await?
    {
        Some(row) => key_of(row.try_get(0)?, row.try_get(1)?),
        None => Ok(RowKey::Ctid),
    }
}

/// The key from [`key_sql`]'s `pk` and `cols`, both NULL when the rows are keyed by
/// ctid; anything else is a catalog value pgward does not understand.
pub(super) fn key_of(pk: Option<bool>, cols: Option<Vec<String>>) -> Result<RowKey, PreviewError> {
    match (pk, cols) {
        (Some(true), Some(cols)) => Ok(RowKey::Primary(cols)),
        (Some(false), Some(cols)) => Ok(RowKey::Unique(cols)),
        (None, None) => Ok(RowKey::Ctid),
        _ => Err(PreviewError::Catalog(
            "a key without its columns".to_string(),
        )),
    }
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
