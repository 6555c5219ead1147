//! What the open guarded transaction has changed so far: the counts baseline taken right
//! after BEGIN, the cumulative per-table counts, TRUNCATEs, the folded image digest, the
//! spill files of before-images, and whether a savepoint rollback made counts upper
//! bounds. Reset whenever a transaction opens.

use crate::preview::counts::{Baseline, TableCounts};
use crate::preview::digest::{ImagesDigest, TableTotals};
use crate::preview::images::Spill;

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
    /// A savepoint rollback happened: server counts are upper bounds.
    pub upper_bound: bool,
    /// Before-images of every captured write, for undo.
    pub spills: Vec<Spill>,
    /// What the change set looked like at each user savepoint, innermost last.
    pub marks: Vec<(String, Mark)>,
    /// Schema and storage changes, one line each, in order.
    pub schema: Vec<String>,
}

/// The change set at a savepoint, to return to on `ROLLBACK TO`.
#[derive(Debug, Clone)]
pub struct Mark {
    images: ImagesDigest,
    truncated: usize,
    spills: usize,
    schema: usize,
}

impl Changes {
    /// Remembers the change set at savepoint `name`.
    pub fn savepoint(&mut self, name: &str) {
        let mark = Mark {
            images: self.images.clone(),
            truncated: self.truncated.len(),
            spills: self.spills.len(),
            schema: self.schema.len(),
        };
        self.marks.push((name.to_string(), mark));
    }

    /// `RELEASE name`: the savepoint and those after it are gone; their work stays.
    pub fn release(&mut self, name: &str) {
        if let Some(i) = self.marks.iter().rposition(|(n, _)| n == name) {
            self.marks.truncate(i);
        }
    }

    /// `ROLLBACK TO name`: images, TRUNCATEs and spills of the undone work leave the
    /// change set. Counts cannot be undone this way (the server still counts the undone
    /// work), so they become upper bounds, re-read by the caller.
    pub fn rollback_to(&mut self, name: &str) {
        let Some(i) = self.marks.iter().rposition(|(n, _)| n == name) else {
            return;
        };
        self.marks.truncate(i + 1);
        if let Some((_, mark)) = self.marks.last() {
            self.images = mark.images.clone();
            self.truncated.truncate(mark.truncated);
            self.spills.truncate(mark.spills);
            self.schema.truncate(mark.schema);
        }
        self.upper_bound = true;
    }

    /// The transaction ended: its before-images go at once (their files are nameless,
    /// so closing them frees them), not at the next write or at exit.
    pub fn release_spills(&mut self) {
        self.spills.clear();
        self.marks.clear();
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
