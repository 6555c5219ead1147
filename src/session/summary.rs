//! The change-set summary shown at COMMIT: every statement as typed, the totals per
//! table, and the change digest that binds environment, server, database, role,
//! transaction, statements, counts and images (see `preview::digest`).

use crate::preview::counts::TableCounts;
use crate::preview::digest::ChangeSet;
use crate::preview::statement::counts_table;

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
        let mut out = format!(
            "Change set of transaction {txid} in environment {:?} (database {}, role {}):\n",
            self.settings.env.name, self.settings.conn.dbname, tx.role
        );
        out.push_str("Statements, as typed:\n");
        for (i, s) in tx.statements.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", i + 1, one_line(s)));
        }
        let totals = self.changes.totals();
        if totals.is_empty() {
            out.push_str("No rows changed.\n");
        } else {
            out.push_str(&format!(
                "Rows changed, per table (from the server{}):\n",
                match &self.changes.upper_bound {
                    Some(why) => format!("; upper bounds, because {why}"),
                    None => String::new(),
                }
            ));
            let rows: Vec<TableCounts> = totals
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
        for (table, rows) in &self.changes.truncated {
            out.push_str(&format!("TRUNCATE {table}: {rows} rows removed\n"));
        }
        if !self.changes.schema.is_empty() {
            out.push_str("Schema and storage changes:\n");
            for line in &self.changes.schema {
                out.push_str(&format!("  {}\n", crate::render::escape::one_line(line)));
            }
        }
        out.push_str(&format!(
            "Change digest: {}\n",
            self.change_set_digest(tx, txid)
        ));
        out
    }
}

/// The statement byte for byte, on one line: line breaks, tabs and other control
/// characters escaped (`\n`, `\t`, `\x1b`), every space kept, so `'two  spaces'` reads
/// as typed.
fn one_line(s: &str) -> String {
    crate::render::escape::one_line(s)
}
