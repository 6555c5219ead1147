//! The change-set summary shown at COMMIT: every statement as typed, the totals per
//! table (the operations the server counted), next to them the net change per table
//! (rows that differ from the transaction's start, from the images), and the change
//! digest that binds environment, server, database, role, transaction, statements,
//! counts, net change and images (see `preview::digest`). Every name and
//! statement in it is escaped to one line ([`Summary::render`]), so none can draw a
//! line of the summary.

use crate::preview::counts::TableCounts;
use crate::preview::digest::{ChangeSet, NetTotals, TableTotals};
use crate::preview::statement::counts_table;
use crate::render::escape::{self, one_line};
use crate::render::table::{self, Column};

use super::changes::NetLine;
use super::{OpenTx, Session};

impl Session {
    /// The change set of `tx`, whose transaction id is `txid`, and its digest.
    pub(super) fn change_set_digest(&self, tx: &OpenTx, txid: &str) -> String {
        self.change_set_digest_with(tx, txid, &self.changes.net())
    }

    fn change_set_digest_with(&self, tx: &OpenTx, txid: &str, net: &[NetLine]) -> String {
        let totals = self.changes.totals();
        let net: Vec<NetTotals> = net
            .iter()
            .map(|l| NetTotals {
                table: l.table.clone(),
                net: l
                    .net
                    .as_ref()
                    .ok()
                    .map(|n| (n.inserted, n.changed, n.deleted)),
            })
            .collect();
        ChangeSet {
            environment: &self.settings.env.name,
            server: &self.server,
            database: &self.settings.conn.dbname,
            role: &tx.role,
            txid,
            statements: &tx.statements,
            counts: &totals,
            net: &net,
            schema: &self.changes.schema,
            images: self.changes.images.finish(),
        }
        .digest()
    }

    /// The summary printed before COMMIT is confirmed.
    pub(super) fn change_summary(&self, tx: &OpenTx, txid: &str) -> String {
        let net = self.changes.net();
        Summary {
            environment: &self.settings.env.name,
            database: &self.settings.conn.dbname,
            role: &tx.role,
            txid,
            statements: &tx.statements,
            totals: &self.changes.totals(),
            net: &net,
            upper_bound: self.changes.upper_bound.as_deref(),
            truncated: &self.changes.truncated,
            schema: &self.changes.schema,
            digest: &self.change_set_digest_with(tx, txid, &net),
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
    /// The net change per table, or why it is not known.
    pub net: &'a [NetLine],
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
        out.push_str(&net_section(self.net));
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

/// The net change per table: a grid of the tables whose net change is known, then one
/// line for each table whose is not, with why.
fn net_section(net: &[NetLine]) -> String {
    let mut out = String::new();
    let known: Vec<(&str, &crate::preview::net::NetCounts)> = net
        .iter()
        .filter_map(|l| l.net.as_ref().ok().map(|n| (l.table.as_str(), n)))
        .collect();
    if !known.is_empty() {
        out.push_str(
            "Net change, per table (rows that differ from the transaction's start, from the before/after images):\n",
        );
        let columns: Vec<Column> = [
            ("table", false),
            ("inserted", true),
            ("changed", true),
            ("deleted", true),
        ]
        .into_iter()
        .map(|(name, numeric)| Column {
            name: name.into(),
            numeric,
        })
        .collect();
        let rows: Vec<Vec<Option<String>>> = known
            .iter()
            .map(|(table, n)| {
                vec![
                    Some(one_line(table)),
                    Some(n.inserted.to_string()),
                    Some(n.changed.to_string()),
                    Some(n.deleted.to_string()),
                ]
            })
            .collect();
        let rendered = table::render(&columns, &rows);
        let mut lines: Vec<&str> = rendered.lines().collect();
        lines.pop();
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    for line in net {
        if let Err(why) = &line.net {
            out.push_str(&format!(
                "Net change of {} not known: {}\n",
                one_line(&line.table),
                one_line(why)
            ));
        }
    }
    out
}
