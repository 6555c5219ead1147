//! The change-set summary shown at COMMIT: every statement as typed, the totals per
//! table, and the change digest that binds environment, server, database, role,
//! transaction, statements, counts and images (see `preview::digest`). Every name and
//! statement in it is escaped to one line ([`Summary::render`]), so none can draw a
//! line of the summary.

use crate::preview::counts::TableCounts;
use crate::preview::digest::{ChangeSet, TableTotals};
use crate::preview::statement::counts_table;
use crate::render::escape::{self, one_line};

use super::{OpenTx, Session};

impl Session {
    /// The change set of `tx`, whose transaction id is `txid`, and its digest.
    pub(super) fn change_set_digest(&self, tx: &OpenTx, txid: &str) -> String {
        let totals = self.changes.totals();
        ChangeSet {
            environment: &self.settings.env.name,
            server: &self.server,
            database: &self.settings.conn.dbname,
            role: &tx.role,
            txid,
            statements: &tx.statements,
            counts: &totals,
            schema: &self.changes.schema,
            images: self.changes.images.finish(),
        }
        .digest()
    }

    /// The summary printed before COMMIT is confirmed.
    pub(super) fn change_summary(&self, tx: &OpenTx, txid: &str) -> String {
        Summary {
            environment: &self.settings.env.name,
            database: &self.settings.conn.dbname,
            role: &tx.role,
            txid,
            statements: &tx.statements,
            totals: &self.changes.totals(),
            upper_bound: self.changes.upper_bound.as_deref(),
            truncated: &self.changes.truncated,
            schema: &self.changes.schema,
            digest: &self.change_set_digest(tx, txid),
        }
        .render()
    }
}

/// What the COMMIT summary shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary<'a> {
    pub environment: &'a str,
    pub database: &'a str,
    pub role: &'a str,
    pub txid: &'a str,
    pub statements: &'a [String],
    pub totals: &'a [TableTotals],
    /// Why the counts are upper bounds; `None` when they are exact.
    pub upper_bound: Option<&'a str>,
    pub truncated: &'a [(String, i64)],
    pub schema: &'a [String],
    pub digest: &'a str,
}

impl Summary<'_> {
    /// The summary's text, one line per fact.
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "Change set of transaction {} in environment \"{}\" (database {}, role {}):\n",
            one_line(self.txid),
            one_line(self.environment),
            one_line(self.database),
            one_line(self.role)
        );
        out.push_str("Statements, as typed:\n");
        for (i, s) in self.statements.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", i + 1, statement_line(s)));
        }
        if self.totals.is_empty() {
            out.push_str("No rows changed.\n");
        } else {
            out.push_str(&format!(
                "Rows changed, per table (from the server{}):\n",
                match self.upper_bound {
                    Some(why) => format!("; upper bounds, because {}", one_line(why)),
                    None => String::new(),
                }
            ));
            let rows: Vec<TableCounts> = self
                .totals
                .iter()
                .map(|t| TableCounts {
                    relid: 0,
                    table: t.table.clone(),
                    inserted: t.inserted,
                    updated: t.updated,
                    deleted: t.deleted,
                })
                .collect();
            out.push_str(&counts_table(&rows));
        }
        for (table, rows) in self.truncated {
            out.push_str(&format!(
                "TRUNCATE {}: {rows} rows removed\n",
                one_line(table)
            ));
        }
        if !self.schema.is_empty() {
            out.push_str("Schema and storage changes:\n");
            for line in self.schema {
                out.push_str(&format!("  {}\n", one_line(line)));
            }
        }
        out.push_str(&format!("Change digest: {}\n", one_line(self.digest)));
        out
    }
}

/// The statement byte for byte, on one line: line breaks, tabs and other control
/// characters escaped (`\n`, `\t`, `\x1b`), every space kept, so `'two  spaces'` reads
/// as typed.
fn statement_line(s: &str) -> String {
    escape::one_line(s)
}
