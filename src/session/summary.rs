//! The change-set summary shown at COMMIT: every statement as typed, the totals per
//! table, and the change digest that binds environment, server, database, role,
//! transaction, statements, counts and images (see `preview::digest`). Every name and
//! statement in it is escaped to one line, so none can draw a line of the summary.

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
            "Change set of transaction {} in environment \"{}\" (database {}, role {}):\n",
            one_line(txid),
            one_line(&self.settings.env.name),
            one_line(&self.settings.conn.dbname),
            one_line(&tx.role)
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
                if self.changes.upper_bound {
                    "; upper bounds, because a savepoint rollback undid work the server still counts"
                } else {
                    ""
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
            out.push_str(&format!(
                "TRUNCATE {}: {rows} rows removed\n",
                one_line(table)
            ));
        }
        if !self.changes.schema.is_empty() {
            out.push_str("Schema and storage changes:\n");
            for line in &self.changes.schema {
                out.push_str(&format!("  {}\n", one_line(line)));
            }
        }
        out.push_str(&format!(
            "Change digest: {}\n",
            self.change_set_digest(tx, txid)
        ));
        out
    }
}

fn one_line(s: &str) -> String {
    crate::render::escape::one_line(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}
