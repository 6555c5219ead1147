//! Changes whose undo, one statement at a time and row by row, needs an order other
//! than the usual one, or has none that the server's checks accept, found while the
//! undo is generated at COMMIT. Where there is none, the summary says before COMMIT
//! that the change has no undo, and why, and the log records it, instead of an undo
//! that fails on a key when someone runs it.
//!
//! - A statement that changed the columns of a unique key checked at the end of its
//!   statement (`DEFERRABLE INITIALLY IMMEDIATE`: a primary key, unique or exclusion
//!   constraint) in more than one row may have swapped values between them (`SET id =
//!   3 - id` over ids 1 and 2). Each undo statement is checked at its own end, so no
//!   order of single-row UPDATEs puts a swap back; pgward cannot tell a swap from a
//!   shift by the images alone, so any such statement has no undo. (A key that is
//!   `INITIALLY DEFERRED` is checked at the undo's COMMIT, when every row is back.)
//! - A statement whose deleted rows reference, through a foreign key checked at once,
//!   a value that one of its own updated rows held and no longer holds (a
//!   data-modifying WITH that changed a key and deleted the rows that referenced its
//!   old value). The undo of a statement usually puts its deleted rows back before it
//!   sets its updated rows back (the order a cascade's SET NULL needs); here the
//!   updated table's rows are set back first instead, when that is safe: the table
//!   had no rows of its own deleted, was changed by one part of the statement, not by
//!   a cascade, and its rows reference none of the deleted rows' tables through a key
//!   checked at once. Otherwise the change has no undo.
//!
//! Both read the statement's row images from their spill files (streamed); the second
//! holds the changed values as 16-byte hashes, at most [`MAX_ORDERED`] of them.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

use crate::conn::Client;
use crate::preview::images::{spill_line, ChangeKind, Image};

use super::changes::NetStatement;
use super::undo_inserts::{foreign_keys, restores_deleted, MAX_ORDERED};
use super::undo_sql::column_hash;

/// The tables whose rows the undo of `group` (the rows of one statement of the
/// transaction: its own, its cascades' and its parts') must set back before it puts
/// the deleted rows back; `Err` with the reason when no order works.
pub(super) async fn check(client: &Client, group: &[&NetStatement]) -> Result<Vec<u32>, String> {
    swapped_keys(client, group).await?;
    restored_first(client, group).await
}

/// A statement that changed the columns of a key checked at the end of its statement in
/// more than one row of a table.
async fn swapped_keys(client: &Client, group: &[&NetStatement]) -> Result<(), String> {
    // Only a table with two updated rows or more can have had a key swapped: read from
    // the images (stopping at the second), so a one-row change asks the catalog nothing.
    let mut tables: Vec<u32> = Vec::new();
    for s in group {
        if s.spill.is_some() && !tables.contains(&s.relid) && updated_twice(group, s.relid)? {
            tables.push(s.relid);
        }
    }
    if tables.is_empty() {
        return Ok(());
    }
    let rows = client
        .query(
            "WITH t(relid) AS (SELECT pg_catalog.unnest($1::pg_catalog.oid[])), \
                  a(relid, anc) AS (SELECT relid, relid FROM t \
                    UNION SELECT t.relid, p.relid \
                    FROM t, pg_catalog.pg_partition_ancestors(t.relid) p) \
             SELECT DISTINCT a.relid, c.conname::pg_catalog.text, \
                    ARRAY(SELECT t.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(n, o) \
                          JOIN pg_catalog.pg_attribute t \
                            ON t.attrelid OPERATOR(pg_catalog.=) c.conrelid \
                           AND t.attnum OPERATOR(pg_catalog.=) k.n ORDER BY k.o) \
             FROM pg_catalog.pg_constraint c \
             JOIN a ON a.anc OPERATOR(pg_catalog.=) c.conrelid \
             WHERE c.contype OPERATOR(pg_catalog.=) ANY ('{p,u,x}'::pg_catalog.\"char\"[]) \
               AND c.condeferrable AND NOT c.condeferred \
             ORDER BY 1, 2",
            &[&tables],
        )
        .await
        .map_err(|e| {
            format!("the keys checked at the end of a statement could not be read ({e})")
        })?;
    let read = |e: tokio_postgres::Error| format!("a key could not be read ({e})");
    for row in &rows {
        let relid: u32 = row.try_get(0).map_err(read)?;
        let name: String = row.try_get(1).map_err(read)?;
        let cols: Vec<String> = row.try_get(2).map_err(read)?;
        let mut moved = 0usize;
        for s in group.iter().filter(|s| s.relid == relid) {
            each_change(s, |kind, old, new| {
                if kind == ChangeKind::Updated {
                    if let (Some(old), Some(new)) = (old, new) {
                        if cols.iter().any(|c| old.get(c) != new.get(c)) {
                            moved += 1;
                        }
                    }
                }
                Ok(moved < 2)
            })?;
            if moved >= 2 {
                return Err(format!(
                    "{}: one statement changed the columns of {} in more than one row, a \
                     key checked at the end of its statement (DEFERRABLE INITIALLY \
                     IMMEDIATE), so it may have swapped them, which no row-by-row undo \
                     puts back",
                    s.table,
                    crate::render::escape::one_line(&name)
                ));
            }
        }
    }
    Ok(())
}

/// Whether the statements of `group` on `relid` updated two rows or more, by their
/// images.
fn updated_twice(group: &[&NetStatement], relid: u32) -> Result<bool, String> {
    let mut updated = 0usize;
    for s in group.iter().filter(|s| s.relid == relid) {
        each_change(s, |kind, old, new| {
            if kind == ChangeKind::Updated && old.is_some() && new.is_some() {
                updated += 1;
            }
            Ok(updated < 2)
        })?;
        if updated >= 2 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The tables of updated rows that gave up a value deleted rows of the same statement
/// reference through a key checked at once: they are set back first, where that is
/// safe (see the module docs), else `Err`.
async fn restored_first(client: &Client, group: &[&NetStatement]) -> Result<Vec<u32>, String> {
    let deleting: Vec<&NetStatement> = group
        .iter()
        .copied()
        .filter(|s| restores_deleted(s))
        .collect();
    let mut first: Vec<u32> = Vec::new();
    if deleting.is_empty() {
        return Ok(first);
    }
    let mut tables: Vec<u32> = Vec::new();
    for s in group {
        if s.spill.is_some() && !tables.contains(&s.relid) {
            tables.push(s.relid);
        }
    }
    let keys = foreign_keys(client, &tables).await?;
    for key in &keys {
        if first.contains(&key.parent) || !deleting.iter().any(|s| s.relid == key.child) {
            continue;
        }
        let mut left: HashSet<[u8; 16]> = HashSet::new();
        let mut parent = "";
        for s in group.iter().filter(|s| s.relid == key.parent) {
            each_change(s, |kind, old, new| {
                if let (ChangeKind::Updated, Some(old), Some(new)) = (kind, old, new) {
                    let was = column_hash(old, &key.parent_cols);
                    if let Some(was) =
                        was.filter(|w| column_hash(new, &key.parent_cols) != Some(*w))
                    {
                        if left.len() >= MAX_ORDERED {
                            return Err(format!(
                                "{}: more than {MAX_ORDERED} rows changed a key that rows \
                                 deleted by the same statement may reference, more than \
                                 pgward follows for undo",
                                s.table
                            ));
                        }
                        left.insert(was);
                    }
                }
                Ok(true)
            })?;
            if !left.is_empty() {
                parent = &s.table;
            }
        }
        if left.is_empty() {
            continue;
        }
        for s in deleting.iter().filter(|s| s.relid == key.child) {
            let mut found = false;
            each_change(s, |kind, old, _| {
                if let (ChangeKind::Deleted, Some(old)) = (kind, old) {
                    found = column_hash(old, &key.child_cols).is_some_and(|h| left.contains(&h));
                }
                Ok(!found)
            })?;
            if !found {
                continue;
            }
            let parts: Vec<&&NetStatement> =
                group.iter().filter(|p| p.relid == key.parent).collect();
            let safe = parts.len() == 1
                && !parts[0].by_cascade
                && !restores_deleted(parts[0])
                && !keys
                    .iter()
                    .any(|k| k.child == key.parent && deleting.iter().any(|d| d.relid == k.parent));
            if !safe {
                return Err(format!(
                    "{}: rows one statement deleted reference a key of {parent} that the \
                     same statement changed, and no order of the undo sets that key back \
                     before it puts them back (the foreign key is checked at once)",
                    s.table
                ));
            }
            first.push(key.parent);
            break;
        }
    }
    Ok(first)
}

/// Calls `row` with every captured change of `s` (its kind, before- and after-image),
/// in spill order, while it returns `Ok(true)`.
fn each_change(
    s: &NetStatement,
    mut row: impl FnMut(ChangeKind, Option<&Image>, Option<&Image>) -> Result<bool, String>,
) -> Result<(), String> {
    let Some(spill) = &s.spill else {
        return Ok(());
    };
    let failed = |e: std::io::Error| format!("{}: its row images could not be read ({e})", s.table);
    let reader = BufReader::new(spill.reader().map_err(failed)?);
    for line in reader.lines() {
        let line = line.map_err(failed)?;
        let (kind, old, new) = spill_line(&line)
            .ok_or_else(|| format!("{}: a row image could not be read back", s.table))?;
        let image = |text: &Option<String>| {
            text.as_deref()
                .map(|t| Image::parse(t, &s.columns))
                .transpose()
                .map_err(|e| format!("{}: {e}", s.table))
        };
        let (old, new) = (image(&old)?, image(&new)?);
        if !row(kind, old.as_ref(), new.as_ref())? {
            break;
        }
    }
    Ok(())
}
