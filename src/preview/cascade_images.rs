//! Before- and after-images of the rows a captured DELETE or UPDATE changes through its
//! foreign keys (ON DELETE CASCADE, SET NULL, SET DEFAULT; ON UPDATE CASCADE, SET NULL,
//! SET DEFAULT), so that its undo restores them exactly. The server's foreign-key
//! triggers return nothing, so the rows are read around the statement:
//!
//! - **before** ([`preread`]): the cascade collector's walk
//!   ([`super::cascade::cascaded_rows`]) names, per table, the condition that selects
//!   the rows the statement's keys remove or change (the user's WHERE at the root, the
//!   keys' own equality operators on the way). Each table's rows are read with
//!   `record_out`, as the capture reads the target's, `FOR UPDATE` (nothing can change
//!   or remove them before the statement does) and into the same image sink (spilled,
//!   hashed for the net change). Under REPEATABLE READ, pgward's default, the read and
//!   the statement see one snapshot.
//! - **after** ([`Pending::finish`], for rows changed rather than removed): each row is
//!   read again by its key, 500 keys to a query, compared with its table's key columns
//!   by `OPERATOR(pg_catalog.=)` on literals of the server's own output text. A row
//!   that reads back as it was is left out (an UPDATE that did not change its key
//!   cascades nothing for it). A table whose changed columns include its key cannot be
//!   found this way, and so has no undo.
//!
//! What this cannot see (a volatile WHERE evaluated twice, a trigger, a row inserted
//! under READ COMMITTED in between, a row changed twice) is caught afterwards: the
//! caller compares each table's images with what the server counted for the statement,
//! and a difference makes undo unavailable, said before COMMIT.
//!
//! A partitioned table is read whole (its rows live in its partitions, where the server
//! counts them: [`Cascaded::tree`]); an inheritance parent only in itself (`ONLY`),
//! which is all a foreign key on it covers. Rows the statement writes itself through a
//! self-reference are its own capture's and are not read again.
//!
//! The typed statement is not changed: each read is a separate `SELECT` in its own
//! savepoint, and when it fails (a missing privilege, a lock timeout) it is undone and
//! the statement runs (or stays) as it is, its cascaded rows uncaptured (no undo).

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use tokio_postgres::SimpleQueryMessage;

use crate::conn::Client;

use super::cascade::{self, CascadeAction, CascadedRows, Reached};
use super::images::{
    spill_line, CapturedRow, Datum, Image, ImageSink, Images, SinkOptions, SpillTo,
};
use super::keys::{self, RowKey};
use super::relation::{quote_ident, Relation};
use super::revert::literal;
use super::rewrite::{self, Capture, CaptureKind, WhereShape};
use super::statement::{Plan, WriteKind};

/// Keys looked up in one after-read query.
const AFTER_BATCH: usize = 500;

/// How the undo puts a table's cascaded rows back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// By its own statements: INSERT for a removed row, UPDATE by key for a changed one.
    Statements,
    /// By the server: the rows took their parents' new key values (ON UPDATE CASCADE),
    /// and the undo of the parents' change cascades them back. The undo only checks
    /// that they are still as the commit left them.
    ByCascade,
}

/// The rows a statement removed or changed in one table through its foreign keys.
#[derive(Debug)]
pub struct Cascaded {
    /// The table.
    pub relation: Relation,
    /// The table and, when partitioned, its partitions: where the server counts its rows.
    pub tree: Vec<u32>,
    /// The fewest foreign-key hops from the statement's target.
    pub depth: usize,
    /// The table's key.
    pub key: RowKey,
    /// The table's columns (the images' fields).
    pub columns: Vec<String>,
    /// The rows' images: before-images of removed rows, before and after of changed ones.
    pub images: Images,
    /// How the undo puts them back.
    pub restore: Restore,
}

/// The rows read before the statement: the removed ones are complete, the changed ones
/// wait for their after-images.
#[derive(Debug)]
pub struct Pending {
    done: Vec<Cascaded>,
    changed: Vec<Changed>,
}

/// Before-images of rows a foreign key is to change, read before the statement.
#[derive(Debug)]
struct Changed {
    relation: Relation,
    tree: Vec<u32>,
    depth: usize,
    key: RowKey,
    /// The key columns' types, as `format_type` prints them.
    key_types: Vec<String>,
    columns: Vec<String>,
    before: Images,
    restore: Restore,
}

fn failed(e: &dyn std::fmt::Display) -> String {
    format!("the cascaded rows could not be read ({e})")
}

/// Whether [`preread`] reads anything for `plan`: a captured UPDATE or DELETE of one
/// table whose foreign keys act on other rows.
pub fn reads_first(plan: &Plan) -> bool {
    let cascades = matches!(
        &plan.cascade,
        Some(Ok(effects)) if effects.iter().any(|e| e.action != CascadeAction::Blocked)
    );
    cascades
        && matches!(plan.kind, WriteKind::Delete | WriteKind::Update)
        && matches!(plan.capture, Capture::Rows { .. })
        && plan.target.is_some()
}

/// Reads, before it runs, the rows `plan`'s DELETE or UPDATE will remove or change
/// through foreign keys. `Ok(None)`: the statement has no such effect (or is not a
/// captured DELETE or UPDATE). `Err`: why they could not be read; nothing of the
/// attempt is left.
pub async fn preread(client: &Client, plan: &Plan) -> Result<Option<Pending>, String> {
    if !reads_first(plan) {
        return Ok(None);
    }
    let set_columns = match plan.kind {
        WriteKind::Delete => None,
        WriteKind::Update => Some(rewrite::set_columns(&plan.text)),
        _ => return Ok(None),
    };
    let Some(target) = &plan.target else {
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
        .map_err(|e| failed(&e))?;
    let read = read_all(
        client,
        target.relid,
        set_columns.as_deref(),
        where_sql,
        only,
    )
    .await;
    let end = match &read {
        Ok(_) => "RELEASE SAVEPOINT pgward_preread",
        Err(_) => "ROLLBACK TO SAVEPOINT pgward_preread; RELEASE SAVEPOINT pgward_preread",
    };
    client.batch_execute(end).await.map_err(|e| failed(&e))?;
    read.map(Some)
}

async fn read_all(
    client: &Client,
    relid: u32,
    set_columns: Option<&[String]>,
    where_sql: Option<&str>,
    only: bool,
) -> Result<Pending, String> {
    let tables = cascade::cascaded_rows(client, relid, set_columns, where_sql, only)
        .await
        .map_err(|e| failed(&e))?
        .map_err(|why| format!("{why}, so the cascaded rows are not read"))?;
    let mut pending = Pending {
        done: Vec::new(),
        changed: Vec::new(),
    };
    for table in tables {
        let CascadedRows {
            relation,
            depth,
            condition,
            reached,
        } = table;
        let relid = relation.relid;
        let key = keys::row_key(client, relid).await.map_err(|e| failed(&e))?;
        let columns = keys::columns(client, relid).await.map_err(|e| failed(&e))?;
        let tree = tree(client, &relation).await.map_err(|e| failed(&e))?;
        let restore = match &reached {
            Reached::Deleted => Restore::Statements,
            Reached::Updated {
                action,
                columns: set,
                ..
            } => {
                if key == RowKey::Ctid {
                    return Err(format!(
                        "{} has no primary key or NOT NULL unique key to find its changed rows by",
                        relation.display()
                    ));
                }
                if let Some(k) = key.columns().iter().find(|k| set.contains(k)) {
                    return Err(format!(
                        "the foreign key changes {k}, part of the key of {}, so its rows \
                         cannot be found again after it",
                        relation.display()
                    ));
                }
                if *action == CascadeAction::Update {
                    Restore::ByCascade
                } else {
                    Restore::Statements
                }
            }
        };
        let images = read_before(client, &relation, &key, &columns, &condition).await?;
        match reached {
            Reached::Deleted => pending.done.push(Cascaded {
                relation,
                tree,
                depth,
                key,
                columns,
                images,
                restore,
            }),
            Reached::Updated { .. } => {
                let key_types = key_types(client, relid, key.columns())
                    .await
                    .map_err(|e| failed(&e))?;
                pending.changed.push(Changed {
                    relation,
                    tree,
                    depth,
                    key,
                    key_types,
                    columns,
                    before: images,
                    restore,
                });
            }
        }
    }
    Ok(pending)
}

/// The rows of `relation` matching `condition`, locked, as before-images.
async fn read_before(
    client: &Client,
    relation: &Relation,
    key: &RowKey,
    columns: &[String],
    condition: &str,
) -> Result<Images, String> {
    let mut sink = ImageSink::new(
        CaptureKind::Delete,
        key.clone(),
        columns.to_vec(),
        SinkOptions {
            shown: 0,
            spill: SpillTo::TempFile,
        },
    );
    sink.open_spill().map_err(|e| failed(&e))?;
    let quoted = relation.quoted();
    let sql = format!(
        "SELECT pg_catalog.record_out({quoted}.*) AS pgward_old, \
         {quoted}.ctid::pg_catalog.text AS pgward_ctid \
         FROM {} WHERE {condition} FOR UPDATE",
        relation.from_item(),
    );
    let stream = client
        .simple_query_raw(&sql)
        .await
        .map_err(|e| failed(&e))?;
    tokio::pin!(stream);
    while let Some(message) = stream.next().await {
        if let SimpleQueryMessage::Row(row) = message.map_err(|e| failed(&e))? {
            sink.push_fields(&row).map_err(|e| failed(&e))?;
        }
    }
    sink.finish().map_err(|e| failed(&e))
}

/// The table and, when it is partitioned, every partition below it.
async fn tree(client: &Client, relation: &Relation) -> Result<Vec<u32>, tokio_postgres::Error> {
    if relation.kind != "p" {
        return Ok(vec![relation.relid]);
    }
    let rows = client
        .query(
            "SELECT relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid)",
            &[&relation.relid],
        )
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// The types of `key`'s columns of `relid`, as `format_type` prints them, in key order.
async fn key_types(client: &Client, relid: u32, key: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for name in key {
        let row = client
            .query_one(
                "SELECT pg_catalog.format_type(atttypid, atttypmod) \
                 FROM pg_catalog.pg_attribute \
                 WHERE attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
                   AND attname OPERATOR(pg_catalog.=) $2::pg_catalog.name \
                   AND NOT attisdropped",
                &[&relid, name],
            )
            .await
            .map_err(|e| e.to_string())?;
        out.push(row.try_get(0).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

impl Pending {
    /// After the statement ran: reads the changed rows again by key and returns every
    /// table's images, deepest tables first (the order their undo runs in reverse).
    /// `Err`: why they could not be read; nothing of the attempt is left.
    pub async fn finish(self, client: &Client) -> Result<Vec<Cascaded>, String> {
        let mut out = self.done;
        if !self.changed.is_empty() {
            client
                .batch_execute("SAVEPOINT pgward_postread")
                .await
                .map_err(|e| failed(&e))?;
            let mut read = Ok(());
            for changed in self.changed {
                match read_after(client, changed).await {
                    Ok(c) => out.push(c),
                    Err(e) => {
                        read = Err(e);
                        break;
                    }
                }
            }
            let end = match &read {
                Ok(()) => "RELEASE SAVEPOINT pgward_postread",
                Err(_) => {
                    "ROLLBACK TO SAVEPOINT pgward_postread; RELEASE SAVEPOINT pgward_postread"
                }
            };
            client.batch_execute(end).await.map_err(|e| failed(&e))?;
            read?;
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.depth));
        Ok(out)
    }
}

/// Pairs each before-image of `changed` with the row as it is now, found by its key.
async fn read_after(client: &Client, changed: Changed) -> Result<Cascaded, String> {
    let Changed {
        relation,
        tree,
        depth,
        key,
        key_types,
        columns,
        before,
        restore,
    } = changed;
    let mut sink = ImageSink::new(
        CaptureKind::Update,
        key.clone(),
        columns.clone(),
        SinkOptions {
            shown: 0,
            spill: SpillTo::TempFile,
        },
    );
    sink.open_spill().map_err(|e| failed(&e))?;
    let Some(spill) = &before.spill else {
        return Err(failed(&"their before-images were not kept"));
    };
    let reader = BufReader::new(spill.reader().map_err(|e| failed(&e))?);
    let mut batch: Vec<String> = Vec::with_capacity(AFTER_BATCH);
    let mut missing = 0u64;
    let mut lines = reader.lines();
    loop {
        let line = lines.next().transpose().map_err(|e| failed(&e))?;
        if let Some(line) = &line {
            let (_, old, _) =
                spill_line(line).ok_or_else(|| failed(&"a row image could not be read back"))?;
            batch.push(old.ok_or_else(|| failed(&"a row without its before-image"))?);
        }
        if batch.len() == AFTER_BATCH || (line.is_none() && !batch.is_empty()) {
            let afters = after_batch(
                client,
                &relation,
                key.columns(),
                &key_types,
                &columns,
                &batch,
            )
            .await?;
            for (old, new) in batch.iter().zip(&afters) {
                match new {
                    None => missing += 1,
                    Some(new) if new == old => {}
                    Some(new) => sink
                        .push(CapturedRow {
                            old: Some(old),
                            new: Some(new),
                            ..CapturedRow::default()
                        })
                        .map_err(|e| failed(&e))?,
                }
            }
            batch.clear();
        }
        if line.is_none() {
            break;
        }
    }
    if missing > 0 {
        return Err(format!(
            "{missing} rows of {} read before the statement for its foreign keys were gone after it",
            relation.display()
        ));
    }
    Ok(Cascaded {
        relation,
        tree,
        depth,
        key,
        columns,
        images: sink.finish().map_err(|e| failed(&e))?,
        restore,
    })
}

/// The rows of `relation` whose keys are those of the images `olds` (in order), as
/// `record_out` prints them now; `None` where there is none.
async fn after_batch(
    client: &Client,
    relation: &Relation,
    key: &[String],
    key_types: &[String],
    columns: &[String],
    olds: &[String],
) -> Result<Vec<Option<String>>, String> {
    let mut values = Vec::with_capacity(olds.len());
    for (i, old) in olds.iter().enumerate() {
        let image = Image::parse(old, columns).map_err(|e| failed(&e))?;
        let mut row = vec![i.to_string()];
        for (name, ty) in key.iter().zip(key_types) {
            let value = image.get(name).unwrap_or(&Datum::Null);
            if *value == Datum::Null {
                return Err(failed(&format!("the key column {name} is NULL")));
            }
            row.push(literal(value, ty));
        }
        values.push(format!("({})", row.join(", ")));
    }
    let names: Vec<String> = (1..=key.len()).map(|i| format!("k{i}")).collect();
    let matches: Vec<String> = key
        .iter()
        .zip(&names)
        .map(|(col, k)| {
            format!(
                "pgward_a.{} OPERATOR(pg_catalog.=) pgward_k.{k}",
                quote_ident(col)
            )
        })
        .collect();
    let sql = format!(
        "SELECT pgward_k.ord, pg_catalog.record_out(pgward_a.*)::pg_catalog.text \
         FROM (VALUES {}) AS pgward_k (ord, {}) \
         JOIN {} AS pgward_a ON {}",
        values.join(", "),
        names.join(", "),
        relation.from_item(),
        matches.join(" AND ")
    );
    let mut out: Vec<Option<String>> = vec![None; olds.len()];
    for message in client.simple_query(&sql).await.map_err(|e| failed(&e))? {
        if let SimpleQueryMessage::Row(row) = message {
            let ord: usize = row
                .get(0)
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| failed(&"an after-image without its position"))?;
            let slot = out
                .get_mut(ord)
                .ok_or_else(|| failed(&"an after-image out of place"))?;
            if slot.is_some() {
                return Err(failed(&"two rows have one key"));
            }
            *slot = row.get(1).map(str::to_owned);
        }
    }
    Ok(out)
}
