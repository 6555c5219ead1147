//! The INSERTs that put back the rows one statement deleted (its own rows, its
//! cascades' and its parts'), parents first, whatever order the server returned them in.
//!
//! The statement's tables are ordered by the foreign keys among them that are checked
//! at once (not `INITIALLY DEFERRED`; deferred ones are checked at the undo's COMMIT,
//! when every row is back): a referenced table's rows before its referencing table's.
//! Where the keys form a cycle (a self-referencing table such as
//! `categories(parent_id)`, or tables that reference each other), the rows themselves
//! are ordered ([`crate::preview::parents_first`]): each row's referenced values are
//! matched, as the server prints them, with the referenced key of the other deleted
//! rows. Rows that reference each other in a cycle within one table go back in one
//! multi-row INSERT (a key that is not deferred is checked at the end of its
//! statement); a cycle through two tables has no order, and undo is then impossible,
//! said before COMMIT.
//!
//! Memory stays bounded: the tables' rows stream from their spill files; only rows in a
//! cycle of keys are ordered, at most [`MAX_ORDERED`] of them per statement, each held
//! as a few hashes and offsets (their INSERT values wait in a nameless file, which
//! holds production rows and so is a spill file). A larger deletion from a
//! self-referencing table has no undo, said before COMMIT.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::conn::Client;
use crate::preview::images::{spill_line, ChangeKind, Image};
use crate::preview::parents_first::parents_first;
use crate::preview::revert::Target;

use super::changes::NetStatement;
use super::undo_sql::{column_hash, Out};

/// Rows of tables in a cycle of foreign keys, deleted by one statement, that the undo
/// orders: under 100 bytes of memory each (hashes, offsets, the ordering's own).
pub const MAX_ORDERED: usize = 250_000;

/// A foreign key among the tables of one statement's deleted rows, checked at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ForeignKey {
    pub(super) child: u32,
    pub(super) parent: u32,
    pub(super) child_cols: Vec<String>,
    pub(super) parent_cols: Vec<String>,
}

/// Writes the INSERTs of every row `statements` (one statement's, in undo order)
/// deleted, parents first; `targets` holds each table's undo target by oid.
pub(super) async fn write(
    client: &Client,
    statements: &[&NetStatement],
    targets: &HashMap<u32, Target>,
    out: &mut Out,
) -> Result<(), String> {
    let deleting: Vec<&NetStatement> = statements
        .iter()
        .copied()
        .filter(|s| restores_deleted(s))
        .collect();
    let mut tables: Vec<u32> = Vec::new();
    for s in &deleting {
        if !tables.contains(&s.relid) {
            tables.push(s.relid);
        }
    }
    if tables.is_empty() {
        return Ok(());
    }
    let keys = foreign_keys(client, &tables).await?;
    let index = |relid: u32| tables.iter().position(|&t| t == relid);
    let edges: Vec<(u32, u32)> = keys
        .iter()
        .filter_map(|k| Some((index(k.child)? as u32, index(k.parent)? as u32)))
        .collect();
    let self_referencing = |t: u32| edges.iter().any(|&(c, p)| c == t && p == t);
    let order = parents_first(tables.len() as u32, edges.clone());
    for group in order.iter() {
        let cyclic = group.len() > 1 || self_referencing(group[0]);
        let members: Vec<u32> = group.iter().map(|&i| tables[i as usize]).collect();
        let rows: Vec<&NetStatement> = deleting
            .iter()
            .copied()
            .filter(|s| members.contains(&s.relid))
            .collect();
        if cyclic {
            let keys: Vec<&ForeignKey> = keys
                .iter()
                .filter(|k| members.contains(&k.child) && members.contains(&k.parent))
                .collect();
            ordered(&rows, &keys, targets, out)?;
        } else {
            for s in rows {
                each_deleted(s, |old| {
                    out.write(&target_of(targets, s)?.insert(old))?;
                    out.write("\n")
                })?;
            }
        }
    }
    Ok(())
}

/// Whether `s` deleted rows that its undo inserts back (here, not with its other rows).
pub(super) fn restores_deleted(s: &NetStatement) -> bool {
    !s.by_cascade && s.rows.counts().deleted > 0
}

fn target_of<'a>(
    targets: &'a HashMap<u32, Target>,
    s: &NetStatement,
) -> Result<&'a Target, String> {
    targets
        .get(&s.relid)
        .ok_or_else(|| format!("{}: its undo target was not read", s.table))
}

/// Calls `row` with the before-image of every row `s` deleted, in spill order.
fn each_deleted(
    s: &NetStatement,
    mut row: impl FnMut(&Image) -> Result<(), String>,
) -> Result<(), String> {
    let Some(spill) = &s.spill else {
        return Err(format!("{}: its row images were not kept", s.table));
    };
    let failed = |e: std::io::Error| format!("{}: its row images could not be read ({e})", s.table);
    let reader = BufReader::new(spill.reader().map_err(failed)?);
    for line in reader.lines() {
        let line = line.map_err(failed)?;
        let (kind, old, _) = spill_line(&line)
            .ok_or_else(|| format!("{}: a row image could not be read back", s.table))?;
        if kind != ChangeKind::Deleted {
            continue;
        }
        let old = old.ok_or_else(|| format!("{}: a deleted row without its image", s.table))?;
        let image = Image::parse(&old, &s.columns).map_err(|e| format!("{}: {e}", s.table))?;
        row(&image)?;
    }
    Ok(())
}

/// One row to order: its table (an index into the statements) and where its INSERT
/// values wait in the scratch file.
struct Waiting {
    statement: u32,
    at: u64,
    len: u32,
}

/// The deleted rows of `statements`, whose tables are in a cycle of `keys`, ordered
/// parents first and written as INSERTs: one per row, one for each set of rows of one
/// table that reference each other. `Err` when rows of two tables reference each
/// other, or there are more than [`MAX_ORDERED`].
fn ordered(
    statements: &[&NetStatement],
    keys: &[&ForeignKey],
    targets: &HashMap<u32, Target>,
    out: &mut Out,
) -> Result<(), String> {
    let scratch_failed = |e: &dyn std::fmt::Display| {
        format!("the deleted rows could not be ordered for undo (a scratch file: {e})")
    };
    // The referenced keys: (table, columns), each with the rows that hold a value.
    let mut referenced: Vec<(u32, &[String])> = Vec::new();
    for k in keys {
        if !referenced.contains(&(k.parent, k.parent_cols.as_slice())) {
            referenced.push((k.parent, &k.parent_cols));
        }
    }
    let mut holding: Vec<Vec<([u8; 16], u32)>> = vec![Vec::new(); referenced.len()];
    let mut wanting: Vec<(u32, [u8; 16], u32)> = Vec::new();
    let mut rows: Vec<Waiting> = Vec::new();
    let file = crate::preview::spill::file().map_err(|e| scratch_failed(&e))?;
    let mut scratch = BufWriter::new(file);
    let mut at = 0u64;
    for (si, s) in statements.iter().enumerate() {
        let target = target_of(targets, s)?;
        each_deleted(s, |old| {
            if rows.len() >= MAX_ORDERED {
                return Err(format!(
                    "{}: more than {MAX_ORDERED} rows of tables whose foreign keys reference \
                     each other were deleted by one statement, more than pgward orders for undo",
                    s.table
                ));
            }
            let row = rows.len() as u32;
            for (ri, (table, cols)) in referenced.iter().enumerate() {
                if *table == s.relid {
                    if let Some(h) = column_hash(old, cols) {
                        holding[ri].push((h, row));
                    }
                }
            }
            for k in keys.iter().filter(|k| k.child == s.relid) {
                let ri = referenced
                    .iter()
                    .position(|r| *r == (k.parent, k.parent_cols.as_slice()))
                    .unwrap_or_default();
                // A key with a NULL in it references nothing (MATCH SIMPLE or FULL).
                if let Some(h) = column_hash(old, &k.child_cols) {
                    wanting.push((ri as u32, h, row));
                }
            }
            let values = target.insert_values(old);
            scratch
                .write_all(values.as_bytes())
                .map_err(|e| scratch_failed(&e))?;
            rows.push(Waiting {
                statement: si as u32,
                at,
                len: values.len() as u32,
            });
            at += values.len() as u64;
            Ok(())
        })?;
    }
    for h in &mut holding {
        h.sort_unstable();
    }
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for (ri, hash, child) in wanting {
        let held = &holding[ri as usize];
        let from = held.partition_point(|(h, _)| *h < hash);
        for &(_, parent) in held[from..].iter().take_while(|(h, _)| *h == hash) {
            edges.push((child, parent));
        }
    }
    drop(holding);
    let mut file = scratch
        .into_inner()
        .map_err(|e| scratch_failed(&e.error()))?;
    let mut read = |w: &Waiting| -> Result<String, String> {
        let mut buf = vec![0u8; w.len as usize];
        file.seek(SeekFrom::Start(w.at))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| scratch_failed(&e))?;
        String::from_utf8(buf).map_err(|e| scratch_failed(&e))
    };
    for group in parents_first(rows.len() as u32, edges).iter() {
        let first = &rows[group[0] as usize];
        let s = statements[first.statement as usize];
        let target = target_of(targets, s)?;
        if let Some(other) = group
            .iter()
            .map(|&r| statements[rows[r as usize].statement as usize])
            .find(|o| o.relid != s.relid)
        {
            return Err(format!(
                "rows of {} and {} reference each other through foreign keys checked at once \
                 (not INITIALLY DEFERRED), so no order puts each row back after the rows it \
                 references",
                s.table, other.table
            ));
        }
        out.write(&target.insert_head())?;
        for (i, &r) in group.iter().enumerate() {
            out.write(if i == 0 { " " } else { ", " })?;
            out.write(&read(&rows[r as usize])?)?;
        }
        out.write(";\n")?;
    }
    Ok(())
}

/// The foreign keys among `tables` that are checked at once (not `INITIALLY
/// DEFERRED`), with their columns in key order. A key declared on a partitioned table
/// covers its partitions, on either side: a statement on one partition of a table
/// whose key references the partitioned table itself deletes rows that reference each
/// other, though neither end of the key names the partition. (Inheritance children
/// are not covered: a key on an inheritance parent is its own rows' only.)
pub(super) async fn foreign_keys(
    client: &Client,
    tables: &[u32],
) -> Result<Vec<ForeignKey>, String> {
    let rows = client
        .query(
            "WITH t(relid) AS (SELECT pg_catalog.unnest($1::pg_catalog.oid[])), \
                  a(relid, anc) AS (SELECT relid, relid FROM t \
                    UNION SELECT t.relid, p.relid \
                    FROM t, pg_catalog.pg_partition_ancestors(t.relid) p) \
             SELECT ch.relid, pa.relid, \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(n, o) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.n ORDER BY k.o), \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY AS k(n, o) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) c.confrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.n ORDER BY k.o) \
             FROM pg_catalog.pg_constraint c \
             JOIN a ch ON ch.anc OPERATOR(pg_catalog.=) c.conrelid \
             JOIN a pa ON pa.anc OPERATOR(pg_catalog.=) c.confrelid \
             WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND NOT c.condeferred \
             ORDER BY c.oid, ch.relid, pa.relid",
            &[&tables],
        )
        .await
        .map_err(|e| {
            format!("the foreign keys among the deleted rows' tables could not be read ({e})")
        })?;
    let mut keys = Vec::new();
    for row in &rows {
        let read = |e: tokio_postgres::Error| format!("a foreign key could not be read ({e})");
        let key = ForeignKey {
            child: row.try_get(0).map_err(read)?,
            parent: row.try_get(1).map_err(read)?,
            child_cols: row.try_get(2).map_err(read)?,
            parent_cols: row.try_get(3).map_err(read)?,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}
