//! What a DDL statement did, measured on the server inside the open transaction.
//!
//! A table was rewritten when its storage file (`pg_relation_filenode`) changed
//! between before and after the statement; the locks a statement took are the
//! relation locks this backend holds afterwards (locks are kept until the end of the
//! transaction, so they are the transaction's locks so far). Partitioned tables have
//! no storage of their own: pass their partitions to see a rewrite.

use std::collections::{HashMap, HashSet};

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::display_name;

/// The relation lock modes, weakest first (the server's own numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// `ACCESS SHARE` (SELECT).
    AccessShare,
    /// `ROW SHARE` (SELECT FOR UPDATE/SHARE).
    RowShare,
    /// `ROW EXCLUSIVE` (INSERT, UPDATE, DELETE, MERGE).
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE` (VACUUM, ANALYZE, some ALTER TABLE forms).
    ShareUpdateExclusive,
    /// `SHARE` (CREATE INDEX).
    Share,
    /// `SHARE ROW EXCLUSIVE` (CREATE TRIGGER, some ALTER TABLE forms).
    ShareRowExclusive,
    /// `EXCLUSIVE` (REFRESH MATERIALIZED VIEW CONCURRENTLY).
    Exclusive,
    /// `ACCESS EXCLUSIVE` (most ALTER TABLE forms, DROP, TRUNCATE): blocks reads too.
    AccessExclusive,
}

impl LockMode {
    /// The mode from its `pg_locks.mode` name, e.g. `AccessExclusiveLock`.
    pub fn from_pg_name(name: &str) -> Option<LockMode> {
        Some(match name {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }

    /// The mode as `LOCK TABLE` spells it, e.g. `ACCESS EXCLUSIVE`.
    pub fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The mode from its SQL name, e.g. `ACCESS EXCLUSIVE`.
    pub fn from_sql_name(name: &str) -> Option<LockMode> {
        ALL.into_iter().find(|mode| mode.sql_name() == name)
    }
}

/// Every mode, weakest first.
const ALL: [LockMode; 8] = [
    LockMode::AccessShare,
    LockMode::RowShare,
    LockMode::RowExclusive,
    LockMode::ShareUpdateExclusive,
    LockMode::Share,
    LockMode::ShareRowExclusive,
    LockMode::Exclusive,
    LockMode::AccessExclusive,
];

/// The storage file number of each of `relids` that exists and has storage.
pub async fn storage_of(
    client: &Client,
    relids: &[u32],
) -> Result<HashMap<u32, u32>, PreviewError> {
    Ok(existing(client, relids).await?.1)
}

/// Which of `relids` exist, and the storage file number of each of those that has
/// storage, in one query.
pub async fn existing(
    client: &Client,
    relids: &[u32],
) -> Result<(HashSet<u32>, HashMap<u32, u32>), PreviewError> {
    let rows = client
        .query(
            "SELECT c.oid, pg_catalog.pg_relation_filenode(c.oid) \
             FROM pg_catalog.pg_class c \
             WHERE c.oid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])",
            &[&relids],
        )
        .await?;
    let (mut present, mut storage) = (HashSet::new(), HashMap::new());
    for row in &rows {
        let relid: u32 = row.try_get(0)?;
        present.insert(relid);
        if let Some(node) = row.try_get::<_, Option<u32>>(1)? {
            storage.insert(relid, node);
        }
    }
    Ok((present, storage))
}

/// The relations whose storage changed between `before` and `after` (sorted): they
/// were rewritten (or truncated). Relations missing from `after` were dropped, not
/// rewritten.
pub fn rewritten(before: &HashMap<u32, u32>, after: &HashMap<u32, u32>) -> Vec<u32> {
    let mut out: Vec<u32> = before
        .iter()
        .filter(|(relid, node)| after.get(relid).is_some_and(|now| now != *node))
        .map(|(relid, _)| *relid)
        .collect();
    out.sort_unstable();
    out
}

/// The relation locks this transaction holds on user tables, views, materialized
/// views and foreign tables, as (display name, SQL mode name), sorted by name and
/// then by strength. Catalogs, TOAST tables, indexes and sequences are left out.
pub async fn locks_held(client: &Client) -> Result<Vec<(String, String)>, PreviewError> {
    Ok(locks_and_catalog_changes(client).await?.0)
}

/// [`locks_held`], and the rows of the system catalogs this transaction inserted,
/// updated or deleted so far (a change means a schema change, such as a function
/// replaced, a trigger disabled, a column dropped or a large object written, that no
/// user table's counter shows), in one query.
pub async fn locks_and_catalog_changes(
    client: &Client,
) -> Result<(Vec<(String, String)>, i64), PreviewError> {
    let row = client
        .query_one(&format!("SELECT {LOCKS_AND_CATALOG}"), &[])
        .await?;
    locks_and_catalog_of(row.try_get(0)?, &row.try_get::<_, String>(1)?)
}

/// [`locks_and_catalog_changes`] as two SQL columns (an `int8` and a `text`), for a
/// query that reads other facts at the same moment (`statement::user_tables`,
/// `statement::after_facts`): uncorrelated subqueries, which the server runs once per
/// statement however many rows it returns. [`locks_and_catalog_of`] reads them.
// The locks as one json array, so that pg_locks is read once and the row is there when
// no lock is held.
pub const LOCKS_AND_CATALOG: &str =
    "(SELECT COALESCE(pg_catalog.sum(s.n_tup_ins OPERATOR(pg_catalog.+) \
               s.n_tup_upd OPERATOR(pg_catalog.+) s.n_tup_del), 0)::pg_catalog.int8 \
             FROM pg_catalog.pg_stat_xact_sys_tables s), \
            COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array( \
                        n.nspname::pg_catalog.text, c.relname::pg_catalog.text, l.mode)) \
     FROM pg_catalog.pg_locks l \
     JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation \
     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
     WHERE l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() \
       AND l.locktype OPERATOR(pg_catalog.=) 'relation'::pg_catalog.text \
       AND l.granted \
       AND l.database OPERATOR(pg_catalog.=) \
           (SELECT d.oid FROM pg_catalog.pg_database d \
            WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) \
       AND c.relkind OPERATOR(pg_catalog.=) \
           ANY ('{r,p,v,m,f}'::pg_catalog.\"char\"[]) \
       AND n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.name \
       AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'::pg_catalog.name \
       AND NOT (n.nspname OPERATOR(pg_catalog.~~) 'pg\\_toast%'::pg_catalog.text)), \
     '[]'::pg_catalog.jsonb)::pg_catalog.text";

/// The locks held and the catalog rows changed, from the two columns of
/// [`LOCKS_AND_CATALOG`].
pub fn locks_and_catalog_of(
    catalog_changes: i64,
    json: &str,
) -> Result<(Vec<(String, String)>, i64), PreviewError> {
    let locks: Vec<(String, String, String)> = serde_json::from_str(json)
        .map_err(|e| PreviewError::Catalog(format!("the locks held as json: {e}")))?;
    let mut out: Vec<(String, String)> = locks
        .into_iter()
        .map(|(schema, name, mode)| (display_name(&schema, &name), mode))
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(LockMode::from_pg_name(&a.1).cmp(&LockMode::from_pg_name(&b.1)))
            .then(a.1.cmp(&b.1))
    });
    out.dedup();
    let locks = out
        .into_iter()
        .map(|(name, mode)| {
            // Modes other than the eight table locks (e.g. SIReadLock under
            // SERIALIZABLE) are passed through as the server names them.
            let mode = LockMode::from_pg_name(&mode)
                .map(|m| m.sql_name().to_owned())
                .unwrap_or(mode);
            (name, mode)
        })
        .collect();
    Ok((locks, catalog_changes))
}

/// The strongest lock held on each relation, as (display name, SQL mode name),
/// sorted by name. Modes that are not table lock modes count as weakest.
pub fn strongest(locks: &[(String, String)]) -> Vec<(String, String)> {
    let mut best: HashMap<&str, &str> = HashMap::new();
    for (name, mode) in locks {
        let entry = best.entry(name.as_str()).or_insert(mode.as_str());
        if LockMode::from_sql_name(mode) > LockMode::from_sql_name(entry) {
            *entry = mode.as_str();
        }
    }
    let mut out: Vec<(String, String)> = best
        .into_iter()
        .map(|(name, mode)| (name.to_owned(), mode.to_owned()))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::counts::resolve_table;
    use crate::preview::testdb::fresh;

    /// Runs `ddl` in a transaction on table `t` and reports (rewritten?, strongest lock on t).
    async fn measure(client: &Client, ddl: &str) -> (bool, Option<String>) {
        client.batch_execute("BEGIN").await.expect("begin");
        let (t, _) = resolve_table(client, "t")
            .await
            .expect("resolve")
            .expect("t exists");
        let before = storage_of(client, &[t]).await.expect("storage before");
        client.batch_execute(ddl).await.expect("ddl");
        let after = storage_of(client, &[t]).await.expect("storage after");
        let locks = locks_held(client).await.expect("locks");
        client.batch_execute("ROLLBACK").await.expect("rollback");
        let rewrote = rewritten(&before, &after) == vec![t];
        let lock = strongest(&locks)
            .into_iter()
            .find(|(name, _)| name == "t")
            .map(|(_, mode)| mode);
        (rewrote, lock)
    }

    #[tokio::test]
    async fn measures_rewrites_and_locks() {
        let client = fresh(
            "ddl_measures",
            "CREATE TABLE t (id int PRIMARY KEY, x int); \
             INSERT INTO t SELECT g, g FROM generate_series(1, 100) g; \
             CREATE TABLE other (y int);",
        )
        .await;

        let (rewrote, lock) = measure(&client, "ALTER TABLE t ADD COLUMN c int").await;
        assert!(
            !rewrote,
            "ADD COLUMN without a volatile default does not rewrite"
        );
        assert_eq!(lock.as_deref(), Some("ACCESS EXCLUSIVE"));

        let (rewrote, lock) = measure(&client, "ALTER TABLE t ALTER COLUMN x TYPE bigint").await;
        assert!(rewrote, "a type change from int to bigint rewrites");
        assert_eq!(lock.as_deref(), Some("ACCESS EXCLUSIVE"));

        let (rewrote, lock) = measure(&client, "CREATE INDEX ON t (x)").await;
        assert!(!rewrote);
        assert_eq!(lock.as_deref(), Some("SHARE"));

        let (rewrote, lock) = measure(&client, "UPDATE t SET x = x + 1 WHERE id = 1").await;
        assert!(!rewrote);
        assert_eq!(lock.as_deref(), Some("ROW EXCLUSIVE"));

        // Locks are listed per relation; a plain read elsewhere shows up too, and
        // catalogs and the pg_locks view itself do not.
        client.batch_execute("BEGIN").await.expect("begin");
        client
            .batch_execute("SELECT * FROM other; LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE")
            .await
            .expect("lock");
        let locks = locks_held(&client).await.expect("locks");
        client.batch_execute("ROLLBACK").await.expect("rollback");
        assert_eq!(
            locks,
            vec![
                ("other".to_owned(), "ACCESS SHARE".to_owned()),
                ("t".to_owned(), "SHARE ROW EXCLUSIVE".to_owned()),
            ]
        );
    }

    #[test]
    fn strongest_keeps_one_mode_per_relation() {
        let locks = vec![
            ("t".to_owned(), "ROW EXCLUSIVE".to_owned()),
            ("t".to_owned(), "ACCESS EXCLUSIVE".to_owned()),
            ("t".to_owned(), "SHARE".to_owned()),
            ("u".to_owned(), "SIReadLock".to_owned()),
            ("u".to_owned(), "ACCESS SHARE".to_owned()),
        ];
        assert_eq!(
            strongest(&locks),
            vec![
                ("t".to_owned(), "ACCESS EXCLUSIVE".to_owned()),
                ("u".to_owned(), "ACCESS SHARE".to_owned()),
            ]
        );
        assert_eq!(LockMode::from_pg_name("ShareLock"), Some(LockMode::Share));
        assert_eq!(LockMode::from_pg_name("nonsense"), None);
        for mode in ALL {
            assert_eq!(LockMode::from_sql_name(mode.sql_name()), Some(mode));
        }
    }

    #[test]
    fn rewritten_compares_storage() {
        let before = HashMap::from([(1, 10), (2, 20), (3, 30)]);
        let after = HashMap::from([(1, 10), (2, 21)]);
        assert_eq!(rewritten(&before, &after), vec![2]);
    }
}
