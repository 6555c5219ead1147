//! A write's target as the preview needs it, read from the catalog in one round trip.
//!
//! The preview used to resolve the typed name, then ask for the relation's name and
//! kind, its row key, its columns, the columns psql right-aligns and whether rules
//! rewrite it, one query each; a DBA reading the server log saw six catalog queries for
//! one typed UPDATE. They are all facts of one relation, independent of each other, so
//! one statement returns them as one row: `pg_catalog` only, schema-qualified, run
//! where the six ran (as the write role, inside the preview's savepoint, in the write's
//! transaction), and each decided exactly as before (the name by `to_regclass`, the
//! key by [`super::keys::key_sql`], the same SQL [`super::keys::row_key`] runs).

use tokio_postgres::types::ToSql;

use crate::conn::Client;

use super::error::PreviewError;
use super::fact_cache;
use super::keys::{self, RowKey};
use super::relation::Relation;

/// The facts of one relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its oid, names and kind.
    pub relation: Relation,
    /// How its rows are keyed in the diff.
    pub key: RowKey,
    /// Its columns in order (dropped and system columns left out).
    pub columns: Vec<String>,
    /// The columns psql right-aligns: those whose type, or a domain's base type, is one
    /// of psql's `column_type_alignment` numbers (the integer, float and numeric types,
    /// oid, xid, xid8, cid and money). The server describes a domain column by its base
    /// type, so psql aligns it as that.
    pub right_aligned: Vec<String>,
    /// Whether rules (other than a view's own `_RETURN`) rewrite statements on it.
    pub rules: bool,
}

/// The facts of the relation `relid`, in one query.
pub async fn target(client: &Client, relid: u32) -> Result<Target, PreviewError> {
    read(client, "$1::pg_catalog.oid", &relid)
        .await?
        .ok_or(PreviewError::NoSuchTable { relid })
}

/// The facts of the relation `name` resolves to as the server resolves it (search
/// path, quoting: `to_regclass`), in one query; `None` when there is no such relation.
pub async fn named(client: &Client, name: &str) -> Result<Option<Target>, PreviewError> {
    read(client, "pg_catalog.to_regclass($1::pg_catalog.text)", &name).await
}

/// [`named`] for a preview, through the connection's [`fact_cache`]: when facts about
/// `name` are cached, one query checks that they still hold (the name resolves to the
/// same relation and the catalog fingerprint is the same) and the cache answers this
/// preview's fact queries; otherwise the facts are read with their fingerprint and the
/// cache starts an entry that answers them from then on. The caller closes the cache
/// ([`fact_cache::FactCache::close`]) when the preview's facts are gathered.
pub async fn named_for_preview(
    client: &Client,
    name: &str,
) -> Result<Option<Target>, PreviewError> {
    let stored = client
        .facts()
        .stored(name)
        .map(|(relid, fingerprint)| (relid, fingerprint.to_string()));
    if let Some((relid, fingerprint)) = stored {
        let row = client
            .query_one(fact_cache::check_sql().as_str(), &[&name])
            .await?;
        let now: (Option<u32>, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
        if now == (Some(relid), Some(fingerprint)) {
            let (float_digits, date_style) = (row.try_get(2)?, row.try_get(3)?);
            let mut cache = client.facts();
            cache.open(name);
            if let Some(target) = cache.get::<Target>(TARGET, relid, false) {
                cache.set_output(float_digits, date_style);
                return Ok(Some(target));
            }
        }
        client.facts().forget(name);
    }
    // With the fingerprint: the output settings, and the column types the "changed"
    // verdict needs ([`super::distinct::output_facts`]), read in the same statement.
    let more = format!(
        "{}, {}, {}",
        fact_cache::fingerprint_sql("c.oid"),
        fact_cache::OUTPUT_SETTINGS_SQL,
        super::distinct::columns_sql("pg_catalog.to_regclass($1::pg_catalog.text)")
    );
    let sql = select_sql("pg_catalog.to_regclass($1::pg_catalog.text)", &more);
    let Some(row) = client.query_opt(sql.as_str(), &[&name]).await? else {
        return Ok(None);
    };
    let target = target_of(&row)?;
    let fingerprint: String = row.try_get(9)?;
    let (float_digits, date_style) = (row.try_get(10)?, row.try_get(11)?);
    let columns = super::distinct::columns_of(&row.try_get::<_, String>(12)?)?;
    let mut cache = client.facts();
    cache.start(name, target.relation.relid, fingerprint);
    cache.set_output(float_digits, date_style);
    cache.put(TARGET, target.relation.relid, false, &target);
    cache.put(
        super::distinct::COLUMNS,
        target.relation.relid,
        false,
        &columns,
    );
    Ok(Some(target))
}

/// The cache's key for a [`Target`].
const TARGET: &str = "target";

/// The facts of the relation whose oid is the SQL expression `relid` of `$1`.
async fn read(
    client: &Client,
    relid: &str,
    param: &(dyn ToSql + Sync),
) -> Result<Option<Target>, PreviewError> {
    let sql = select_sql(relid, "NULL::pg_catalog.text");
    let Some(row) = client.query_opt(sql.as_str(), &[param]).await? else {
        return Ok(None);
    };
    Ok(Some(target_of(&row)?))
}

/// The facts query for the relation whose oid is the SQL expression `relid`, with the
/// SQL expressions `more` (of `c.oid`) from the tenth column on.
fn select_sql(relid: &str, more: &str) -> String {
    format!(
        "SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
                c.relkind::pg_catalog.text, key.pk, key.cols, \
                ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid \
                        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
                      ORDER BY a.attnum), \
                ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid \
                        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
                        AND (WITH RECURSIVE chain(typ) AS ( \
                               SELECT a.atttypid \
                               UNION ALL \
                               SELECT t.typbasetype FROM pg_catalog.pg_type t \
                               JOIN chain ON t.oid OPERATOR(pg_catalog.=) chain.typ \
                               WHERE t.typtype OPERATOR(pg_catalog.=) 'd') \
                             SELECT pg_catalog.bool_or(typ OPERATOR(pg_catalog.=) ANY \
                               ('{{21,23,20,700,701,1700,26,28,5069,29,790}}'::pg_catalog.oid[])) \
                             FROM chain) \
                      ORDER BY a.attnum), \
                EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r \
                        WHERE r.ev_class OPERATOR(pg_catalog.=) c.oid \
                          AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'), \
                {more} \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
         LEFT JOIN LATERAL ({}) key ON true \
         WHERE c.oid OPERATOR(pg_catalog.=) {relid}",
        keys::key_sql("c.oid")
    )
}

/// A [`Target`] from a row of [`select_sql`].
fn target_of(row: &tokio_postgres::Row) -> Result<Target, PreviewError> {
    Ok(Target {
        relation: Relation {
            relid: row.try_get(0)?,
            schema: row.try_get(1)?,
            name: row.try_get(2)?,
            kind: row.try_get(3)?,
        },
        key: keys::key_of(row.try_get(4)?, row.try_get(5)?)?,
        columns: row.try_get(6)?,
        right_aligned: row.try_get(7)?,
        rules: row.try_get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::testdb::{fresh, oid};

    #[tokio::test]
    async fn one_query_says_what_the_single_ones_said() {
        let client = fresh(
            "facts_target",
            r#"
            CREATE DOMAIN money2 AS numeric;
            CREATE TABLE pk (a int, b text, c money2, PRIMARY KEY (b, a));
            CREATE TABLE uq (x int, code text NOT NULL, y real);
            CREATE UNIQUE INDEX uq_code ON uq (code);
            CREATE TABLE "we""ird; drop" (v int, w text);
            ALTER TABLE "we""ird; drop" DROP COLUMN v;
            CREATE RULE no_del AS ON DELETE TO "we""ird; drop" DO INSTEAD NOTHING;
            "#,
        )
        .await;
        let pk = oid(&client, "pk").await;
        let t = target(&client, pk).await.expect("facts");
        assert_eq!(
            t.relation,
            Relation::by_oid(&client, pk).await.expect("by oid")
        );
        assert_eq!(t.key, RowKey::Primary(vec!["b".into(), "a".into()]));
        assert_eq!(t.key, keys::row_key(&client, pk).await.expect("key"));
        assert_eq!(t.columns, vec!["a", "b", "c"]);
        assert_eq!(t.right_aligned, vec!["a", "c"]);
        assert!(!t.rules);

        let uq = oid(&client, "uq").await;
        let t = target(&client, uq).await.expect("facts");
        assert_eq!(t.key, RowKey::Unique(vec!["code".into()]));
        assert_eq!(t.right_aligned, vec!["x", "y"]);

        let weird = oid(&client, r#""we""ird; drop""#).await;
        let t = target(&client, weird).await.expect("facts");
        assert_eq!(t.relation.name, "we\"ird; drop");
        assert_eq!(t.key, RowKey::Ctid);
        assert_eq!(t.columns, vec!["w"]);
        assert!(t.right_aligned.is_empty());
        assert!(t.rules);

        let by_name = named(&client, r#""we""ird; drop""#).await.expect("named");
        assert_eq!(by_name, Some(t));
        assert_eq!(named(&client, "nosuch").await.expect("named"), None);
        let missing = target(&client, 1).await;
        assert!(
            matches!(missing, Err(PreviewError::NoSuchTable { relid: 1 })),
            "{missing:?}"
        );
    }
}
