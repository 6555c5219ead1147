//! What the open guarded transaction has changed so far: the counts baseline taken right
//! after BEGIN (plus the work undone since, which the server still counts), the
//! cumulative per-table counts, TRUNCATEs, the folded image digest, the spill files of
//! before-images, the captured rows reduced to hashes for the net change per table, and
//! why counts are upper bounds when one statement undid work inside itself. Reset
//! whenever a transaction opens.

use crate::preview::counts::{Baseline, TableCounts};
use crate::preview::digest::{ImagesDigest, TableTotals};
use crate::preview::images::Spill;
use crate::preview::net::{self, NetCounts, NetRows};
use crate::preview::statement::difference;

/// The change set of the open transaction.
#[derive(Debug, Default)]
pub struct Changes {
    /// `pg_stat_xact_user_tables` right after BEGIN.
    pub baseline: Baseline,
    /// Counts since the baseline, after the last write.
    pub cumulative: Vec<TableCounts>,
    /// Tables truncated, with the rows they held.
    pub truncated: Vec<(String, i64)>,
    /// Image digests of every write, folded in order.
    pub images: ImagesDigest,
    /// Why the counts are upper bounds: a kept statement may have undone work inside
    /// itself (an exception block) that the server still counts. `None`: exact.
    pub upper_bound: Option<String>,
    /// What the change set looked like at each user savepoint, innermost last.
    pub marks: Vec<(String, Mark)>,
    /// Schema and storage changes, one line each, in order.
    pub schema: Vec<String>,
    /// Statements kept in the change set as writes (classified or found by the counts).
    pub writes: usize,
    /// The captured rows of every write whose rows were captured, for the net change.
    pub net: Vec<NetStatement>,
    /// The undo SQL generated at COMMIT (before the summary), or why it could not be.
    pub undo_sql: Option<Result<super::undo_sql::Stored, String>>,
}

/// One captured write's rows, for the net change of its target.
#[derive(Debug)]
pub struct NetStatement {
    /// The statement of the transaction whose rows these are (the number of writes
    /// kept when it ran): a statement's own rows, its cascades' and its parts' share it,
    /// and their undo is ordered together.
    pub step: usize,
    /// The target's oid.
    pub relid: u32,
    /// The target's display name.
    pub table: String,
    /// The target, its partitions and inheritance children.
    pub tree: Vec<u32>,
    /// What the server counted on the tree for this statement (inserted, updated,
    /// deleted).
    pub counted: (i64, i64, i64),
    /// The captured rows explain those counts (see `Report::capture_exact`).
    pub exact: bool,
    /// Rows a foreign key's ON UPDATE CASCADE changed: the undo of their parents'
    /// change cascades them back, so their undo is only a check that they are still as
    /// the commit left them.
    pub by_cascade: bool,
    /// The target has a key to find its rows by (a primary key or a NOT NULL unique
    /// key), not only `ctid`.
    pub keyed: bool,
    /// The rows, reduced to hashes.
    pub rows: NetRows,
    /// The target's quoted, schema-qualified name, its columns (the images' fields) and
    /// key columns, for undo.
    pub quoted: String,
    /// The target's columns, in order.
    pub columns: Vec<String>,
    /// The key columns (empty when rows are keyed by ctid).
    pub key: Vec<String>,
    /// Every row's images, for undo.
    pub spill: Option<Spill>,
}

/// The net change of one table, or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetLine {
    /// Table display name.
    pub table: String,
    /// Rows that differ from the transaction's start, or why that is not known.
    pub net: Result<NetCounts, String>,
}

/// The change set at a savepoint, to return to on `ROLLBACK TO`.
#[derive(Debug, Clone)]
pub struct Mark {
    cumulative: Vec<TableCounts>,
    images: ImagesDigest,
    truncated: usize,
    schema: usize,
    writes: usize,
    net: usize,
}

impl Changes {
    /// Remembers the change set at savepoint `name`.
    pub fn savepoint(&mut self, name: &str) {
        let mark = Mark {
            cumulative: self.cumulative.clone(),
            images: self.images.clone(),
            truncated: self.truncated.len(),
            schema: self.schema.len(),
            writes: self.writes,
            net: self.net.len(),
        };
        self.marks.push((name.to_string(), mark));
    }

    /// `RELEASE name`: the savepoint and those after it are gone; their work stays.
    pub fn release(&mut self, name: &str) {
        if let Some(i) = self.marks.iter().rposition(|(n, _)| n == name) {
            self.marks.truncate(i);
        }
    }

    /// `ROLLBACK TO name`, after which the server's counts since the baseline are `now`:
    /// images, TRUNCATEs, spills and schema lines of the undone work leave the change
    /// set, and so do its counts. The server still counts undone work, so the
    /// difference between `now` and the counts at the savepoint moves into the
    /// baseline, and the counts stay exact.
    pub fn rollback_to(&mut self, name: &str, now: Vec<TableCounts>) {
        let Some(i) = self.marks.iter().rposition(|(n, _)| n == name) else {
            self.cumulative = now;
            return;
        };
        self.marks.truncate(i + 1);
        if let Some((_, mark)) = self.marks.last() {
            self.baseline.absorb(&difference(&now, &mark.cumulative));
            self.cumulative = mark.cumulative.clone();
            self.images = mark.images.clone();
            self.truncated.truncate(mark.truncated);
            self.schema.truncate(mark.schema);
            self.net.truncate(mark.net);
            self.writes = mark.writes;
        }
    }

    /// A statement's own capture attempt was rolled back to its savepoint, after which
    /// the server's counts since the baseline are `now`: the attempt's counts leave the
    /// change set the same way.
    pub fn undone_since_last_write(&mut self, now: &[TableCounts]) {
        self.baseline.absorb(&difference(now, &self.cumulative));
    }

    /// The transaction ended: its before-images go at once (their files are nameless,
    /// so closing them frees them), not at the next write or at exit.
    pub fn release_spills(&mut self) {
        self.marks.clear();
        self.net.clear();
    }

    /// The net change per table: rows that differ from the transaction's start, from
    /// the captured images. A table's figure is given only where its images explain
    /// everything the server counted on it (its partitions and children included) over
    /// the whole transaction; any other table that changed is named with why its net
    /// change is not known. Sorted by table.
    pub fn net(&self) -> Vec<NetLine> {
        let mut lines = Vec::new();
        let mut covered: Vec<u32> = Vec::new();
        let mut targets: Vec<u32> = self.net.iter().map(|s| s.relid).collect();
        targets.dedup();
        targets.sort_unstable();
        targets.dedup();
        for relid in targets {
            let group: Vec<&NetStatement> = self.net.iter().filter(|s| s.relid == relid).collect();
            let mut tree: Vec<u32> = group.iter().flat_map(|s| s.tree.iter().copied()).collect();
            tree.sort_unstable();
            tree.dedup();
            covered.extend(&tree);
            let captured = group.iter().fold((0, 0, 0), |(i, u, d), s| {
                (i + s.counted.0, u + s.counted.1, d + s.counted.2)
            });
            let counted = self
                .cumulative
                .iter()
                .filter(|c| tree.contains(&c.relid))
                .fold((0, 0, 0), |(i, u, d), c| {
                    (i + c.inserted, u + c.updated, d + c.deleted)
                });
            let table = group[0].table.clone();
            let net = if !self.truncated.is_empty() {
                Err("the transaction truncated tables, which no image shows".to_string())
            } else if group.iter().any(|s| !s.exact) {
                Err(
                    "a statement's captured rows differ from the server's counts (see its warning)"
                        .to_string(),
                )
            } else if captured != counted {
                Err("rows of it were changed by a statement shown with counts only, a trigger, or deferred work, whose rows are not captured".to_string())
            } else {
                let rows: Vec<&NetRows> = group.iter().map(|s| &s.rows).collect();
                net::merge(&rows)
            };
            lines.push(NetLine { table, net });
        }
        for c in &self.cumulative {
            if !covered.contains(&c.relid) && !lines.iter().any(|l| l.table == c.table) {
                lines.push(NetLine {
                    table: c.table.clone(),
                    net: Err(
                        "its rows are not captured (changed by foreign keys, triggers, or a statement shown with counts only)"
                            .into(),
                    ),
                });
            }
        }
        for (table, _) in &self.truncated {
            if !lines.iter().any(|l| &l.table == table) {
                lines.push(NetLine {
                    table: table.clone(),
                    net: Err("TRUNCATE emptied it, which no image shows".into()),
                });
            }
        }
        lines.sort();
        lines
    }

    /// Totals per table, TRUNCATEs counted as deletes of the rows the table held.
    pub fn totals(&self) -> Vec<TableTotals> {
        let mut totals: Vec<TableTotals> = self
            .cumulative
            .iter()
            .map(|c| TableTotals {
                table: c.table.clone(),
                inserted: c.inserted,
                updated: c.updated,
                deleted: c.deleted,
            })
            .collect();
        for (table, rows) in &self.truncated {
            match totals.iter_mut().find(|t| &t.table == table) {
                Some(t) => t.deleted = t.deleted.max(0) + rows,
                None => totals.push(TableTotals {
                    table: table.clone(),
                    inserted: 0,
                    updated: 0,
                    deleted: *rows,
                }),
            }
        }
        totals.sort();
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_to_a_mark_restores_writes_and_schema_lines() {
        let mut c = Changes {
            writes: 2,
            schema: vec!["statement 1: a".into()],
            ..Changes::default()
        };
        c.savepoint("pgward_statement");
        c.writes += 1;
        c.schema.push("statement 3: b".into());
        c.images.add(None);
        let digest = ImagesDigest::default().finish();
        assert_ne!(c.images.finish(), digest);
        c.rollback_to("pgward_statement", Vec::new());
        c.release("pgward_statement");
        assert_eq!(c.writes, 2);
        assert_eq!(c.schema, vec!["statement 1: a".to_string()]);
        assert_eq!(c.images.finish(), digest);
        assert!(c.marks.is_empty());
    }
}
