//! Exact per-table row counts of the open transaction, from the server's statistics.
//!
//! `pg_stat_xact_user_tables` counts the rows each table had inserted, updated and
//! deleted by the current transaction, cascades and triggers included; it never
//! estimates. Two pitfalls, measured by the tests below on PostgreSQL 15:
//!
//! - The view carries leftovers: counts of earlier statements of the same
//!   transaction, and even counts of earlier, committed transactions of the same
//!   session that are still pending in the backend (it flushes its statistics at most
//!   once a second, and an idle session only after 10 s). So a [`Baseline`] is taken
//!   right after BEGIN and [`since`] reports differences against it.
//! - Work undone by `ROLLBACK TO SAVEPOINT` still counts (the server counts attempted
//!   actions). The caller measures the counts at the savepoint and right after the
//!   rollback, and moves the difference into the baseline ([`Baseline::absorb`]), so
//!   the counts stay exact. Work undone *inside* one statement (an exception block of
//!   PL/pgSQL, a failed subtransaction of a trigger) cannot be measured from outside:
//!   the caller labels those counts as upper bounds.
//!
//! TRUNCATE shows up in no counter: it resets the counters of the truncating
//! (sub)transaction, so a difference can even turn negative. The caller reports a
//! TRUNCATE on its own, with the table's [`row_count`] taken just before it.

use std::collections::HashMap;

use tokio_postgres::{SimpleQueryMessage, SimpleQueryRow};

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::{display_name, Relation};

/// Rows one table had inserted, updated and deleted since the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCounts {
    /// The table's oid.
    pub relid: u32,
    /// `schema.table`, the schema omitted when it is `public`.
    pub table: String,
    /// Rows inserted (including the insert half of `INSERT … ON CONFLICT`).
    pub inserted: i64,
    /// Rows updated (HOT or not).
    pub updated: i64,
    /// Rows deleted.
    pub deleted: i64,
}

/// The three counters of one table at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counters {
    inserted: i64,
    updated: i64,
    deleted: i64,
}

/// A snapshot of the transaction's counters, taken right after BEGIN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline(HashMap<u32, Counters>);

impl Baseline {
    /// Moves work that was undone (by a rollback to a savepoint whose counts before and
    /// after the caller measured) into the baseline, so that [`since`] leaves it out:
    /// the server still counts it, but it is not part of the change any more.
    pub fn absorb(&mut self, undone: &[TableCounts]) {
        for u in undone {
            let c = self.0.entry(u.relid).or_default();
            c.inserted += u.inserted;
            c.updated += u.updated;
            c.deleted += u.deleted;
        }
    }
}

/// Snapshots the non-zero counters of the current transaction.
pub async fn baseline(client: &Client) -> Result<Baseline, PreviewError> {
    let messages = client.simple_query(&baseline_sql()).await?;
    baseline_of(&rows_of(&messages))
}

/// The query [`baseline`] runs, for the caller to send in one simple query with
/// statements next to it; its rows go to [`baseline_of`].
pub fn baseline_sql() -> String {
    read_sql(&[])
}

/// The [`Baseline`] in the rows of [`baseline_sql`].
pub fn baseline_of(rows: &[&SimpleQueryRow]) -> Result<Baseline, PreviewError> {
    Ok(Baseline(
        parse(rows)?
            .into_iter()
            .map(|(relid, _, counters)| (relid, counters))
            .collect(),
    ))
}

/// What each table had changed since `base`: only tables with a non-zero
/// difference, sorted by table name. Tables dropped since the baseline are left out.
pub async fn since(client: &Client, base: &Baseline) -> Result<Vec<TableCounts>, PreviewError> {
    let messages = client.simple_query(&since_sql(base)).await?;
    since_of(base, &rows_of(&messages))
}

/// The query [`since`] runs for `base`, for the caller to send in one simple query
/// with statements next to it; its rows go to [`since_of`].
pub fn since_sql(base: &Baseline) -> String {
    read_sql(&base.known())
}

/// [`since`] from the rows of [`since_sql`].
pub fn since_of(
    base: &Baseline,
    rows: &[&SimpleQueryRow],
) -> Result<Vec<TableCounts>, PreviewError> {
    let mut out: Vec<TableCounts> = parse(rows)?
        .into_iter()
        .filter_map(|(relid, table, now)| {
            let then = base.0.get(&relid).copied().unwrap_or_default();
            let diff = TableCounts {
                relid,
                table,
                inserted: now.inserted - then.inserted,
                updated: now.updated - then.updated,
                deleted: now.deleted - then.deleted,
            };
            (diff.inserted != 0 || diff.updated != 0 || diff.deleted != 0).then_some(diff)
        })
        .collect();
    out.sort_by(|a, b| a.table.cmp(&b.table).then(a.relid.cmp(&b.relid)));
    Ok(out)
}

impl Baseline {
    /// The tables it holds counters for.
    fn known(&self) -> Vec<u32> {
        let mut known: Vec<u32> = self.0.keys().copied().collect();
        known.sort_unstable();
        known
    }
}

/// The counters of every table with a non-zero counter, plus the tables in `also`:
/// a simple query (oids are numbers, written out), so that it can ride with the probe.
fn read_sql(also: &[u32]) -> String {
    let also: Vec<String> = also.iter().map(u32::to_string).collect();
    format!(
        "SELECT relid::pg_catalog.text, schemaname::pg_catalog.text, relname::pg_catalog.text, \
                n_tup_ins::pg_catalog.text, n_tup_upd::pg_catalog.text, n_tup_del::pg_catalog.text \
         FROM pg_catalog.pg_stat_xact_user_tables \
         WHERE n_tup_ins OPERATOR(pg_catalog.<>) 0 \
            OR n_tup_upd OPERATOR(pg_catalog.<>) 0 \
            OR n_tup_del OPERATOR(pg_catalog.<>) 0 \
            OR relid OPERATOR(pg_catalog.=) ANY ('{{{}}}'::pg_catalog.oid[])",
        also.join(",")
    )
}

/// The rows of a simple query's answer.
fn rows_of(messages: &[SimpleQueryMessage]) -> Vec<&SimpleQueryRow> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The rows of [`read_sql`]; a missing or unreadable value is an error, never a zero.
fn parse(rows: &[&SimpleQueryRow]) -> Result<Vec<(u32, String, Counters)>, PreviewError> {
    rows.iter()
        .map(|row| {
            let text = |i: usize| -> Result<&str, PreviewError> {
                row.try_get(i)?.ok_or_else(|| {
                    PreviewError::Catalog(format!("a table's counters had no column {i}"))
                })
            };
            let number = |i: usize| -> Result<i64, PreviewError> {
                text(i)?.parse().map_err(|e| {
                    PreviewError::Catalog(format!("a table's counter could not be read ({e})"))
                })
            };
            let relid: u32 = text(0)?.parse().map_err(|e| {
                PreviewError::Catalog(format!("a table's oid could not be read ({e})"))
            })?;
            Ok((
                relid,
                display_name(text(1)?, text(2)?),
                Counters {
                    inserted: number(3)?,
                    updated: number(4)?,
                    deleted: number(5)?,
                },
            ))
        })
        .collect()
}

/// The exact number of rows of a table (its inheritance children or partitions
/// included, as a TRUNCATE without ONLY would remove them), for the caller to run
/// right before a TRUNCATE.
pub async fn row_count(client: &Client, relid: u32) -> Result<i64, PreviewError> {
    let relation = Relation::by_oid(client, relid).await?;
    let sql = format!("SELECT pg_catalog.count(*) FROM {}", relation.quoted());
    Ok(client.query_one(&sql, &[]).await?.try_get(0)?)
}

/// Resolves a table name as the server would (search path, quoting) to its oid and
/// display name; `None` when no such relation exists.
pub async fn resolve_table(
    client: &Client,
    name: &str,
) -> Result<Option<(u32, String)>, PreviewError> {
    let row = client
        .query_opt(
            "SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
             WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)",
            &[&name],
        )
        .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let schema: String = row.try_get(1)?;
            let table: String = row.try_get(2)?;
            Ok(Some((row.try_get(0)?, display_name(&schema, &table))))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::preview::testdb::{fresh, oid};

    const SCHEMA: &str = r#"
        CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
        CREATE TABLE parts (id serial PRIMARY KEY,
                            item_id int NOT NULL REFERENCES items ON DELETE CASCADE);
        CREATE SCHEMA audit;
        CREATE TABLE audit.changes (item_id int, old_v int, new_v int);
        CREATE FUNCTION audit_item() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit.changes VALUES (OLD.id, OLD.v, NEW.v);
            RETURN NEW;
        END $$;
        CREATE TRIGGER items_audit AFTER UPDATE ON items
            FOR EACH ROW EXECUTE FUNCTION audit_item();
        INSERT INTO items SELECT g, g FROM generate_series(1, 10) g;
        INSERT INTO parts (item_id) SELECT 1 FROM generate_series(1, 3);
        INSERT INTO parts (item_id) SELECT 2 FROM generate_series(1, 2);
    "#;

    fn counts(relid: u32, table: &str, ins: i64, upd: i64, del: i64) -> TableCounts {
        TableCounts {
            relid,
            table: table.to_owned(),
            inserted: ins,
            updated: upd,
            deleted: del,
        }
    }

    #[tokio::test]
    async fn counts_cascades_and_triggers_exactly() {
        let client = fresh("counts_exact", SCHEMA).await;
        let (items, parts, audit) = (
            oid(&client, "items").await,
            oid(&client, "parts").await,
            oid(&client, "audit.changes").await,
        );
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(&client).await.expect("baseline");
        client
            .batch_execute(
                "INSERT INTO items VALUES (11, 11), (12, 12); \
                 UPDATE items SET v = v + 100 WHERE id IN (3, 4, 5); \
                 DELETE FROM items WHERE id = 1;",
            )
            .await
            .expect("writes");
        let got = since(&client, &base).await.expect("since");
        assert_eq!(
            got,
            vec![
                counts(audit, "audit.changes", 3, 0, 0),
                counts(items, "items", 2, 3, 1),
                counts(parts, "parts", 0, 0, 3),
            ]
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    /// Pitfall 1: the view carries what earlier statements of the transaction did.
    #[tokio::test]
    async fn baseline_excludes_earlier_statements() {
        let client = fresh("counts_leftovers", SCHEMA).await;
        let items = oid(&client, "items").await;
        // Flush what the setup left pending, so the raw view is predictable.
        flush(&client).await;
        client.batch_execute("BEGIN").await.expect("begin");
        client
            .batch_execute("INSERT INTO items VALUES (20, 20), (21, 21), (22, 22)")
            .await
            .expect("earlier statement");
        let empty = Baseline::default();
        assert_eq!(
            since(&client, &empty).await.expect("raw view"),
            vec![counts(items, "items", 3, 0, 0)],
            "the raw view shows the earlier statement"
        );
        let base = baseline(&client).await.expect("baseline");
        assert_eq!(since(&client, &base).await.expect("since"), vec![]);
        client
            .batch_execute("INSERT INTO items VALUES (23, 23)")
            .await
            .expect("insert");
        assert_eq!(
            since(&client, &base).await.expect("since"),
            vec![counts(items, "items", 1, 0, 0)]
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    /// Asks the backend to flush its pending statistics when it next goes idle
    /// (PostgreSQL 15+, superuser by default).
    async fn flush(client: &Client) {
        client
            .batch_execute("SELECT pg_stat_force_next_flush()")
            .await
            .expect("force a statistics flush");
    }

    /// Pitfall 1, across transactions: counts of a committed transaction stay pending
    /// in the backend until its next statistics flush (at most once a second, and an
    /// idle session waits up to 10 s on PostgreSQL 15), and a new transaction's view
    /// shows them.
    #[tokio::test]
    async fn baseline_excludes_the_previous_transaction() {
        let client = fresh("counts_previous_tx", SCHEMA).await;
        let items = oid(&client, "items").await;
        // After a flush, the next one waits a second.
        flush(&client).await;
        let start = Instant::now();
        client
            .batch_execute("INSERT INTO items VALUES (30, 30), (31, 31)")
            .await
            .expect("committed tx");
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(&client).await.expect("baseline");
        let raw = since(&client, &Baseline::default()).await.expect("raw");
        if start.elapsed().as_millis() < 800 {
            assert_eq!(
                raw,
                vec![counts(items, "items", 2, 0, 0)],
                "PostgreSQL 15 shows the committed transaction's rows in a new transaction"
            );
        }
        assert_eq!(since(&client, &base).await.expect("since"), vec![]);
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    /// Pitfall 2: rows undone by ROLLBACK TO SAVEPOINT still count.
    #[tokio::test]
    async fn savepoint_rollback_still_counts() {
        let client = fresh("counts_savepoint", SCHEMA).await;
        let (items, parts) = (oid(&client, "items").await, oid(&client, "parts").await);
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(&client).await.expect("baseline");
        client
            .batch_execute(
                "INSERT INTO items VALUES (40, 40); \
                 SAVEPOINT s; \
                 INSERT INTO items VALUES (41, 41), (42, 42); \
                 DELETE FROM items WHERE id = 2; \
                 ROLLBACK TO SAVEPOINT s;",
            )
            .await
            .expect("writes");
        let live: i64 = client
            .query_one("SELECT count(*) FROM items WHERE id >= 40", &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(live, 1, "only the insert before the savepoint survives");
        assert_eq!(
            since(&client, &base).await.expect("since"),
            vec![
                counts(items, "items", 3, 0, 1),
                counts(parts, "parts", 0, 0, 2),
            ],
            "the server counts the undone insert, delete and cascade: upper bounds"
        );
        // Measured at the savepoint and after the rollback, the undone work moves into
        // the baseline and the counts are exact again.
        let mut base = base;
        let at_savepoint = vec![counts(items, "items", 1, 0, 0)];
        let now = since(&client, &base).await.expect("since");
        base.absorb(&crate::preview::statement::difference(&now, &at_savepoint));
        assert_eq!(since(&client, &base).await.expect("since"), at_savepoint);
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    /// TRUNCATE counts nothing, and resets what the transaction had counted.
    #[tokio::test]
    async fn truncate_is_counted_by_row_count_only() {
        let client = fresh("counts_truncate", SCHEMA).await;
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(&client).await.expect("baseline");
        let (audit, name) = resolve_table(&client, "audit.changes")
            .await
            .expect("resolve")
            .expect("exists");
        assert_eq!(name, "audit.changes");
        client
            .batch_execute("INSERT INTO audit.changes VALUES (1, 1, 1), (2, 2, 2)")
            .await
            .expect("insert");
        assert_eq!(row_count(&client, audit).await.expect("count"), 2);
        client
            .batch_execute("TRUNCATE audit.changes")
            .await
            .expect("truncate");
        assert_eq!(
            since(&client, &base).await.expect("since"),
            vec![],
            "TRUNCATE zeroes the counters of the truncating transaction"
        );
        assert_eq!(row_count(&client, audit).await.expect("count"), 0);
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    #[tokio::test]
    async fn resolves_hostile_names_and_reports_missing_ones() {
        let client = fresh(
            "counts_resolve",
            r#"CREATE TABLE "we""ird; drop" (x int); INSERT INTO "we""ird; drop" VALUES (1), (2);"#,
        )
        .await;
        let (relid, name) = resolve_table(&client, r#""we""ird; drop""#)
            .await
            .expect("resolve")
            .expect("exists");
        assert_eq!(name, "\"we\"\"ird; drop\"", "quoted as PostgreSQL would");
        assert_eq!(row_count(&client, relid).await.expect("count"), 2);
        assert_eq!(resolve_table(&client, "nope").await.expect("resolve"), None);
        let err = row_count(&client, 1).await.expect_err("no table has oid 1");
        assert!(
            matches!(err, PreviewError::NoSuchTable { relid: 1 }),
            "{err}"
        );
        let err = resolve_table(&client, "a.b.c.d")
            .await
            .expect_err("an improper name is a server error");
        assert!(err.sqlstate().is_some(), "{err}");
        assert!(err.to_string().ends_with(')'), "{err}");
    }
}
