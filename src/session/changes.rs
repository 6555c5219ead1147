//! What the open guarded transaction has changed so far: the counts baseline taken right
//! after BEGIN (plus the work undone since, which the server still counts), the
//! cumulative per-table counts, TRUNCATEs, the folded image digest, the spill files of
//! before-images, and why counts are upper bounds when one statement undid work inside
//! itself. Reset whenever a transaction opens.

use crate::preview::counts::{Baseline, TableCounts};
use crate::preview::digest::{ImagesDigest, TableTotals};
use crate::preview::images::Spill;
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
    cumulative: Vec<TableCounts>,
    images: ImagesDigest,
    truncated: usize,
    spills: usize,
    schema: usize,
}

impl Changes {
    /// Remembers the change set at savepoint `name`.
    pub fn savepoint(&mut self, name: &str) {
        let mark = Mark {
            cumulative: self.cumulative.clone(),
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
            self.spills.truncate(mark.spills);
            self.schema.truncate(mark.schema);
        }
    }

    /// A statement's own capture attempt was rolled back to its savepoint, after which
    /// the server's counts since the baseline are `now`: the attempt's counts leave the
    /// change set the same way.
    pub fn undone_since_last_write(&mut self, now: &[TableCounts]) {
        self.baseline.absorb(&difference(now, &self.cumulative));
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
