//! Before-images of the rows a captured DELETE will remove through ON DELETE CASCADE,
//! read just before it runs, so that its undo can insert them back (parents before
//! children). The rows are gone once the statement has run, and the server's cascade
//! triggers return nothing, so the only moment to read them is before.
//!
//! The cascade collector's walk ([`super::cascade::cascaded_deletes`]) names, per
//! table, the condition that selects the rows the cascade removes (the user's WHERE at
//! the root, the keys' own equality operators on the way). Each table's rows are read
//! with `record_out`, as the capture reads the target's, `FOR UPDATE` (nothing can
//! change or remove them before the DELETE does) and into the same image sink (spilled,
//! hashed for the net change). Under REPEATABLE READ, pgward's default, the read and the
//! statement see one snapshot. What this cannot see (a volatile WHERE evaluated twice,
//! a trigger, a row inserted under READ COMMITTED in between) is caught afterwards:
//! the caller compares each table's images with what the server counted for the
//! statement, and a difference makes undo unavailable, said before COMMIT.
//!
//! The typed statement is not changed: the read is a separate `SELECT` in its own
//! savepoint, and when it fails (a missing privilege, a lock timeout) it is undone and
//! the statement runs as before, its cascaded rows uncaptured (no undo).

use futures_util::StreamExt;
use tokio_postgres::SimpleQueryMessage;

use crate::conn::Client;

use super::cascade::{self, CascadeAction};
use super::images::{ImageSink, Images, SinkOptions, SpillTo};
use super::keys::{self, RowKey};
use super::relation::Relation;
use super::rewrite::{Capture, CaptureKind, WhereShape};
use super::statement::{Plan, WriteKind};

/// The rows a DELETE removes from one table through ON DELETE CASCADE, read before it.
#[derive(Debug)]
pub struct Cascaded {
    /// The table.
    pub relation: Relation,
    /// The fewest foreign-key hops from the DELETE's target.
    pub depth: usize,
    /// The table's key.
    pub key: RowKey,
    /// The table's columns (the images' fields).
    pub columns: Vec<String>,
    /// The rows' before-images.
    pub images: Images,
}

/// Reads the rows `plan`'s DELETE will remove through ON DELETE CASCADE, deepest
/// tables first (the order their undo is inserted back in reverse). `Ok(None)`: the statement has no such cascade (or is not a captured
/// DELETE). `Err`: why they could not be read; nothing of the attempt is left.
pub async fn preread(client: &Client, plan: &Plan) -> Result<Option<Vec<Cascaded>>, String> {
    let cascades = matches!(
        &plan.cascade,
        Some(Ok(effects)) if effects.iter().any(|e| e.action == CascadeAction::Delete)
    );
    let (WriteKind::Delete, Capture::Rows { .. }, true, Some(target)) =
        (plan.kind, &plan.capture, cascades, &plan.target)
    else {
        return Ok(None);
    };
    let where_sql = match &plan.where_shape {
        WhereShape::Present(w) => Some(w.as_str()),
        _ => None,
    };
    let only = super::statement::writes_only(&plan.text);
    client
        .batch_execute("SAVEPOINT pgward_preread")
        .await
        .map_err(|e| format!("the cascaded rows could not be read ({e})"))?;
    let read = read_all(client, target.relid, where_sql, only).await;
    let end = match &read {
        Ok(_) => "RELEASE SAVEPOINT pgward_preread",
        Err(_) => "ROLLBACK TO SAVEPOINT pgward_preread; RELEASE SAVEPOINT pgward_preread",
    };
    client
        .batch_execute(end)
        .await
        .map_err(|e| format!("the cascaded rows could not be read ({e})"))?;
    read.map(Some)
}

async fn read_all(
    client: &Client,
    relid: u32,
    where_sql: Option<&str>,
    only: bool,
) -> Result<Vec<Cascaded>, String> {
    let failed = |e: &dyn std::fmt::Display| format!("the cascaded rows could not be read ({e})");
    let Some(tables) = cascade::cascaded_deletes(client, relid, where_sql, only)
        .await
        .map_err(|e| failed(&e))?
    else {
        return Err(
            "the cascade reaches the target table itself, a partitioned or inherited table, \
             or beyond the foreign-key walk's limits, so its rows are not read"
                .into(),
        );
    };
    let mut out = Vec::new();
    for table in tables {
        let relid = table.relation.relid;
        let key = keys::row_key(client, relid).await.map_err(|e| failed(&e))?;
        let columns = keys::columns(client, relid).await.map_err(|e| failed(&e))?;
        let mut sink = ImageSink::new(
            CaptureKind::Delete,
            key.clone(),
            columns.clone(),
            SinkOptions {
                shown: 0,
                spill: SpillTo::TempFile,
            },
        );
        sink.open_spill().map_err(|e| failed(&e))?;
        let quoted = table.relation.quoted();
        let sql = format!(
            "SELECT pg_catalog.record_out({quoted}.*) AS pgward_old, \
             {quoted}.ctid::pg_catalog.text AS pgward_ctid \
             FROM {} WHERE {} FOR UPDATE",
            table.relation.from_item(),
            table.condition
        );
        let stream = client
            .simple_query_raw(&sql)
            .await
            .map_err(|e| failed(&e))?;
        tokio::pin!(stream);
        while let Some(message) = stream.next().await {
            if let SimpleQueryMessage::Row(row) = message.map_err(|e| failed(&e))? {
                sink.push_simple(&row).map_err(|e| failed(&e))?;
            }
        }
        out.push(Cascaded {
            relation: table.relation,
            depth: table.depth,
            key,
            columns,
            images: sink.finish().map_err(|e| failed(&e))?,
        });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.depth));
    Ok(out)
}
