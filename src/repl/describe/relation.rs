//! `\d NAME` and `\d+ NAME`: one relation described as psql 15 describes it
//! (`describeOneTableDetails` in psql's `describe.c`), page by page. A table, view,
//! materialized view, foreign or partitioned table shows its columns (type, collation,
//! nullable, default; with `+` storage, compression, statistics target and description),
//! then psql's footers in psql's order: partition facts, indexes, check and foreign-key
//! constraints, referencing foreign keys, policies, statistics objects, the view
//! definition, triggers by category, parents and children, tablespace, access method
//! and options.
//! An index shows its key columns and one line saying what it is for; a sequence its
//! parameters and the column that owns it.
//!
//! The catalog queries are psql's, rewritten to this module's rules (see [`super`]):
//! every object schema-qualified, every operator `OPERATOR(pg_catalog.…)`, and columns
//! that only newer servers have read through `to_jsonb` of the row, so one query serves
//! every supported server. Each query is one read through the guard ([`Read`]): pgward
//! opens no connection of its own to describe.

use crate::render::table::Column;
use crate::session::exec::Executed;
use crate::session::Outcome;

use super::page::Page;
use super::{conditions, eq, literal, op, parse, Pattern};

/// Runs one catalog read through the guarded session and hands back its rows; `Err` is
/// the outcome of a read that failed (its error has been shown).
pub type Read<'a> = dyn FnMut(&str) -> Result<Executed, Outcome> + 'a;

/// What `\d NAME` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    /// One page per matching relation.
    Pages(Vec<Page>),
    /// Nothing matched: psql's message, for the error stream.
    NotFound(String),
}

/// Describes the relations matching `pattern`.
pub fn describe(read: &mut Read, pattern: &str, verbose: bool) -> Result<Described, String> {
    let parsed = parse(pattern, 2)?;
    Ok(Plan { parsed, verbose }.run(read, pattern))
}

struct Plan {
    parsed: Pattern,
    verbose: bool,
}

/// A row of text values, read by position.
struct Row<'a>(&'a [Option<String>]);

impl Row<'_> {
    fn get(&self, i: usize) -> Option<&str> {
        self.0.get(i).and_then(|v| v.as_deref())
    }
    fn text(&self, i: usize) -> String {
        self.get(i).unwrap_or("").to_string()
    }
    fn yes(&self, i: usize) -> bool {
        matches!(self.get(i), Some("t" | "true"))
    }
}

/// Why a page could not be drawn: the read failed and said so.
struct Failed;

impl Plan {
    fn run(&self, read: &mut Read, pattern: &str) -> Described {
        let conds = conditions(
            Some(&self.parsed),
            Some("n.nspname"),
            "c.relname",
            Some("pg_catalog.pg_table_is_visible(c.oid)"),
        );
        let lookup = format!(
            "SELECT c.oid, n.nspname, c.relname\n\
             FROM pg_catalog.pg_class c\n\
             LEFT JOIN pg_catalog.pg_namespace n ON {}{}\nORDER BY 2, 3",
            eq("n.oid", "c.relnamespace"),
            super::where_clause(&conds),
        );
        let Ok(found) = read(&lookup) else {
            return Described::Pages(Vec::new());
        };
        if found.rows.is_empty() {
            return Described::NotFound(format!("Did not find any relation named \"{pattern}\"."));
        }
        let mut pages = Vec::new();
        for row in &found.rows {
            let row = Row(row);
            let (oid, schema, name) = (row.text(0), row.text(1), row.text(2));
            if !oid.chars().all(|c| c.is_ascii_digit()) || oid.is_empty() {
                continue;
            }
            match self.one(read, &oid, &schema, &name) {
                Ok(Some(page)) => pages.push(page),
                // Dropped meanwhile: psql skips it too.
                Ok(None) => {}
                Err(Failed) => break,
            }
        }
        Described::Pages(pages)
    }

    fn one(
        &self,
        read: &mut Read,
        oid: &str,
        schema: &str,
        name: &str,
    ) -> Result<Option<Page>, Failed> {
        let id = format!("{}::pg_catalog.oid", literal(oid));
        let info = format!(
            "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers,\n  \
             c.relrowsecurity, c.relforcerowsecurity, c.relispartition,\n  \
             pg_catalog.array_to_string(pg_catalog.array_cat(c.reloptions,\n    \
             ARRAY(SELECT pg_catalog.concat('toast.', x) FROM pg_catalog.unnest(tc.reloptions) x)), ', '),\n  \
             c.relpersistence, am.amname, {}\n\
             FROM pg_catalog.pg_class c\n\
             LEFT JOIN pg_catalog.pg_class tc ON {}\n\
             LEFT JOIN pg_catalog.pg_am am ON {}\n\
             WHERE {}",
            tablespace("c.reltablespace"),
            eq("c.reltoastrelid", "tc.oid"),
            eq("c.relam", "am.oid"),
            eq("c.oid", &id),
        );
        let info = rows(read, &info)?;
        let Some(info) = info.rows.first() else {
            return Ok(None);
        };
        let info = Row(info);
        let kind = info.text(1);
        let unlogged = info.get(9) == Some("u");
        let qualified = format!("{schema}.{name}");
        let noun = match (kind.as_str(), unlogged) {
            ("r", false) => "Table",
            ("r", true) => "Unlogged table",
            ("v", _) => "View",
            ("m", false) => "Materialized view",
            ("m", true) => "Unlogged materialized view",
            ("i", false) => "Index",
            ("i", true) => "Unlogged index",
            ("I", false) => "Partitioned index",
            ("I", true) => "Unlogged partitioned index",
            ("S", false) => "Sequence",
            ("S", true) => "Unlogged sequence",
            ("t", _) => "TOAST table",
            ("c", _) => "Composite type",
            ("f", _) => "Foreign table",
            ("p", false) => "Partitioned table",
            ("p", true) => "Unlogged partitioned table",
            _ => "Relation",
        };
        let title = format!("{noun} \"{qualified}\"");
        if kind == "S" {
            return self.sequence(read, &id, title).map(Some);
        }
        let index = matches!(kind.as_str(), "i" | "I");
        let mut page = self.columns(read, &id, &kind, title)?;
        // psql's `add_tablespace_footer`: only a relation outside the database's default
        // tablespace names one, and only kinds that have storage of their own.
        let tablespace = info
            .get(11)
            .filter(|_| matches!(kind.as_str(), "r" | "m" | "i" | "p" | "I" | "t"))
            .map(|t| format!("Tablespace: \"{t}\""));
        if index {
            page.footers = self.index_footer(read, &id, schema)?;
            if kind == "I" {
                // psql finishes a partitioned index as a table: its partitions first.
                self.inheritance(read, &id, &kind, &mut page.footers)?;
            }
            page.footers.extend(tablespace);
            if self.verbose && kind == "I" {
                if let Some(am) = info.get(10) {
                    page.footers.push(format!("Access method: {am}"));
                }
            }
            if self.verbose {
                if let Some(options) = info.get(8).filter(|o| !o.is_empty()) {
                    page.footers.push(format!("Options: {options}"));
                }
            }
            return Ok(Some(page));
        }
        let mut f = Vec::new();
        let table_like = matches!(kind.as_str(), "r" | "p" | "m" | "f" | "t");
        if table_like {
            if info.yes(7) {
                self.partition_of(read, &id, &mut f)?;
            }
            if kind == "p" {
                let key = rows(read, &format!("SELECT pg_catalog.pg_get_partkeydef({id})"))?;
                if let Some(k) = key.rows.first().map(|r| Row(r).text(0)) {
                    f.push(format!("Partition key: {k}"));
                }
            }
            if info.yes(2) {
                self.indexes(read, &id, &mut f)?;
            }
            if info.get(0).is_some_and(|n| n != "0") {
                self.checks(read, &id, &mut f)?;
            }
            if info.yes(4) {
                self.foreign_keys(read, &id, &mut f)?;
                self.referenced_by(read, &id, &mut f)?;
            }
            self.policies(read, &id, info.yes(5), info.yes(6), &mut f)?;
            self.statistics(read, &id, &mut f)?;
            if info.yes(3) && kind != "m" {
                self.rules(read, &id, &mut f)?;
            }
            self.publications(read, &id, &mut f)?;
        }
        if self.verbose && matches!(kind.as_str(), "v" | "m") {
            let def = rows(
                read,
                &format!("SELECT pg_catalog.pg_get_viewdef({id}, true)"),
            )?;
            if let Some(d) = def.rows.first().map(|r| Row(r).text(0)) {
                f.push("View definition:".into());
                f.extend(d.lines().map(str::to_string));
            }
        }
        if info.yes(4) && matches!(kind.as_str(), "r" | "p" | "v" | "m" | "f") {
            self.triggers(read, &id, &mut f)?;
        }
        if table_like {
            self.inheritance(read, &id, &kind, &mut f)?;
            f.extend(tablespace);
            if self.verbose && matches!(kind.as_str(), "r" | "p" | "m") {
                if let Some(am) = info.get(10) {
                    f.push(format!("Access method: {am}"));
                }
            }
            if self.verbose {
                if let Some(options) = info.get(8).filter(|o| !o.is_empty()) {
                    f.push(format!("Options: {options}"));
                }
            }
        }
        page.footers = f;
        Ok(Some(page))
    }

    /// The column table of a table-like relation or an index.
    fn columns(
        &self,
        read: &mut Read,
        id: &str,
        kind: &str,
        title: String,
    ) -> Result<Page, Failed> {
        let index = matches!(kind, "i" | "I");
        let key_and_def = if index {
            format!(
                "CASE WHEN {} THEN 'yes' ELSE 'no' END,\n  \
                 pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, true)",
                op(
                    "a.attnum",
                    "<=",
                    &format!(
                        "(SELECT i.indnkeyatts FROM pg_catalog.pg_index i WHERE {})",
                        eq("i.indexrelid", id)
                    )
                ),
            )
        } else {
            "NULL, NULL".into()
        };
        let sql = format!(
            "SELECT a.attname,\n  pg_catalog.format_type(a.atttypid, a.atttypmod),\n  \
             (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d\n   \
             WHERE {} AND {} AND a.atthasdef),\n  \
             a.attnotnull,\n  \
             (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t\n   \
             WHERE {} AND {} AND {}),\n  \
             a.attidentity, a.attgenerated, a.attstorage,\n  \
             pg_catalog.jsonb_extract_path_text(pg_catalog.to_jsonb(a), 'attcompression'),\n  \
             CASE WHEN {} THEN NULL ELSE a.attstattarget END,\n  \
             pg_catalog.col_description(a.attrelid, a.attnum),\n  \
             {key_and_def}\n\
             FROM pg_catalog.pg_attribute a\n\
             WHERE {} AND {} AND NOT a.attisdropped\n\
             ORDER BY a.attnum",
            eq("d.adrelid", "a.attrelid"),
            eq("d.adnum", "a.attnum"),
            eq("c.oid", "a.attcollation"),
            eq("t.oid", "a.atttypid"),
            op("a.attcollation", "<>", "t.typcollation"),
            eq("a.attstattarget", "'-1'"),
            eq("a.attrelid", id),
            op("a.attnum", ">", "0"),
        );
        let result = rows(read, &sql)?;
        let details = matches!(kind, "r" | "v" | "m" | "f" | "c" | "p");
        let mut names = vec!["Column", "Type"];
        if details {
            names.extend(["Collation", "Nullable", "Default"]);
        }
        if index {
            names.extend(["Key?", "Definition"]);
        }
        let (storage, compression, stats, description) = if self.verbose {
            (
                true,
                matches!(kind, "r" | "p" | "m"),
                matches!(kind, "r" | "i" | "I" | "m" | "f" | "p"),
                matches!(kind, "r" | "v" | "m" | "f" | "c" | "p"),
            )
        } else {
            (false, false, false, false)
        };
        for (on, label) in [
            (storage, "Storage"),
            (compression, "Compression"),
            (stats, "Stats target"),
            (description, "Description"),
        ] {
            if on {
                names.push(label);
            }
        }
        let mut out = Vec::new();
        for r in &result.rows {
            let r = Row(r);
            let mut cells = vec![r.get(0).map(str::to_string), r.get(1).map(str::to_string)];
            if details {
                cells.push(r.get(4).map(str::to_string));
                cells.push(Some(if r.yes(3) { "not null" } else { "" }.into()));
                let default = match (r.get(5), r.get(6)) {
                    (Some("a"), _) => "generated always as identity".to_string(),
                    (Some("d"), _) => "generated by default as identity".to_string(),
                    (_, Some("s")) => format!("generated always as ({}) stored", r.text(2)),
                    _ => r.text(2),
                };
                cells.push(Some(default));
            }
            if index {
                cells.push(r.get(11).map(str::to_string));
                cells.push(r.get(12).map(str::to_string));
            }
            if storage {
                let s = match r.get(7) {
                    Some("p") => "plain",
                    Some("m") => "main",
                    Some("x") => "extended",
                    Some("e") => "external",
                    _ => "???",
                };
                cells.push(Some(s.into()));
            }
            if compression {
                let c = match r.get(8) {
                    Some("p") => "pglz",
                    Some("l") => "lz4",
                    _ => "",
                };
                cells.push(Some(c.into()));
            }
            if stats {
                cells.push(r.get(9).map(str::to_string));
            }
            if description {
                cells.push(r.get(10).map(str::to_string));
            }
            out.push(cells);
        }
        Ok(Page {
            title,
            columns: names.into_iter().map(Column::text).collect(),
            rows: out,
            footers: Vec::new(),
            count: false,
            expandable: false,
        })
    }

    fn sequence(&self, read: &mut Read, id: &str, title: String) -> Result<Page, Failed> {
        let sql = format!(
            "SELECT pg_catalog.format_type(seqtypid, NULL) AS \"Type\",\n  \
             seqstart AS \"Start\",\n  seqmin AS \"Minimum\",\n  seqmax AS \"Maximum\",\n  \
             seqincrement AS \"Increment\",\n  \
             CASE WHEN seqcycle THEN 'yes' ELSE 'no' END AS \"Cycles?\",\n  \
             seqcache AS \"Cache\"\n\
             FROM pg_catalog.pg_sequence\nWHERE {}",
            eq("seqrelid", id)
        );
        let result = rows(read, &sql)?;
        let owner = format!(
            "SELECT pg_catalog.concat(pg_catalog.quote_ident(n.nspname), '.',\n    \
             pg_catalog.quote_ident(c.relname), '.', pg_catalog.quote_ident(a.attname)),\n  \
             d.deptype\n\
             FROM pg_catalog.pg_class c\n\
             JOIN pg_catalog.pg_depend d ON {}\n\
             JOIN pg_catalog.pg_namespace n ON {}\n\
             JOIN pg_catalog.pg_attribute a ON {} AND {}\n\
             WHERE {} AND {} AND {} AND ({} OR {})",
            eq("c.oid", "d.refobjid"),
            eq("n.oid", "c.relnamespace"),
            eq("a.attrelid", "c.oid"),
            eq("a.attnum", "d.refobjsubid"),
            eq("d.classid", "'pg_catalog.pg_class'::pg_catalog.regclass"),
            eq("d.refclassid", "'pg_catalog.pg_class'::pg_catalog.regclass"),
            eq("d.objid", id),
            eq("d.deptype", "'a'"),
            eq("d.deptype", "'i'"),
        );
        let owners = rows(read, &owner)?;
        let footers = owners
            .rows
            .iter()
            .map(|r| {
                let r = Row(r);
                if r.get(1) == Some("i") {
                    format!("Sequence for identity column: {}", r.text(0))
                } else {
                    format!("Owned by: {}", r.text(0))
                }
            })
            .collect();
        Ok(Page {
            title,
            columns: result.columns,
            rows: result.rows,
            footers,
            count: false,
            expandable: true,
        })
    }

    /// The line under an index: what it is, its access method and its table.
    fn index_footer(&self, read: &mut Read, id: &str, schema: &str) -> Result<Vec<String>, Failed> {
        let constraint = |flag: &str| {
            format!(
                "(NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k\n    \
                 WHERE {} AND {} AND ({} OR {} OR {}) AND k.{flag})",
                eq("k.conrelid", "i.indrelid"),
                eq("k.conindid", "i.indexrelid"),
                eq("k.contype", "'p'"),
                eq("k.contype", "'u'"),
                eq("k.contype", "'x'"),
            )
        };
        let sql = format!(
            "SELECT i.indisunique, i.indisprimary, i.indisclustered, i.indisvalid,\n  \
             {},\n  {},\n  i.indisreplident,\n  \
             pg_catalog.jsonb_extract_path_text(pg_catalog.to_jsonb(i), 'indnullsnotdistinct'),\n  \
             a.amname, c2.relname, pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)\n\
             FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_am a\n\
             WHERE {} AND {} AND {} AND {}",
            constraint("condeferrable"),
            constraint("condeferred"),
            eq("i.indexrelid", "c.oid"),
            eq("c.oid", id),
            eq("c.relam", "a.oid"),
            eq("i.indrelid", "c2.oid"),
        );
        let result = rows(read, &sql)?;
        let Some(r) = result.rows.first() else {
            return Ok(Vec::new());
        };
        let r = Row(r);
        let mut s = String::new();
        if r.yes(1) {
            s.push_str("primary key, ");
        } else if r.yes(0) {
            s.push_str(if r.yes(7) {
                "unique nulls not distinct, "
            } else {
                "unique, "
            });
        }
        s.push_str(&format!(
            "{}, for table \"{schema}.{}\"",
            r.text(8),
            r.text(9)
        ));
        if let Some(pred) = r.get(10).filter(|p| !p.is_empty()) {
            s.push_str(&format!(", predicate ({pred})"));
        }
        for (i, word) in [
            (2, ", clustered"),
            (4, ", deferrable"),
            (5, ", initially deferred"),
            (6, ", replica identity"),
        ] {
            if i == 4 && !r.yes(3) {
                s.push_str(", invalid");
            }
            if r.yes(i) {
                s.push_str(word);
            }
        }
        Ok(vec![s])
    }

    fn partition_of(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT i.inhparent::pg_catalog.regclass, pg_catalog.pg_get_expr(c.relpartbound, c.oid),\n  \
             i.inhdetachpending, pg_catalog.pg_get_partition_constraintdef(c.oid)\n\
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON {}\n\
             WHERE {}",
            eq("c.oid", "i.inhrelid"),
            eq("c.oid", id),
        );
        let result = rows(read, &sql)?;
        if let Some(r) = result.rows.first() {
            let r = Row(r);
            let pending = if r.yes(2) { " DETACH PENDING" } else { "" };
            f.push(format!(
                "Partition of: {} {}{pending}",
                r.text(0),
                r.text(1)
            ));
            if self.verbose {
                match r.get(3) {
                    Some(c) => f.push(format!("Partition constraint: {c}")),
                    None => f.push("No partition constraint".into()),
                }
            }
        }
        Ok(())
    }

    fn indexes(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid,\n  \
             pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),\n  \
             pg_catalog.pg_get_constraintdef(con.oid, true), con.contype, con.condeferrable,\n  \
             con.condeferred, i.indisreplident, {}\n\
             FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i\n  \
             LEFT JOIN pg_catalog.pg_constraint con ON ({} AND {} AND ({} OR {} OR {}))\n\
             WHERE {} AND {} AND {}\n\
             ORDER BY i.indisprimary DESC, c2.relname",
            tablespace("c2.reltablespace"),
            eq("con.conrelid", "i.indrelid"),
            eq("con.conindid", "i.indexrelid"),
            eq("con.contype", "'p'"),
            eq("con.contype", "'u'"),
            eq("con.contype", "'x'"),
            eq("c.oid", id),
            eq("c.oid", "i.indrelid"),
            eq("i.indexrelid", "c2.oid"),
        );
        let result = rows(read, &sql)?;
        if result.rows.is_empty() {
            return Ok(());
        }
        f.push("Indexes:".into());
        for r in &result.rows {
            let r = Row(r);
            let mut s = format!("    \"{}\"", r.text(0));
            if r.get(7) == Some("x") {
                s.push_str(&format!(" {}", r.text(6)));
            } else {
                if r.yes(1) {
                    s.push_str(" PRIMARY KEY,");
                } else if r.yes(2) {
                    s.push_str(if r.get(7) == Some("u") {
                        " UNIQUE CONSTRAINT,"
                    } else {
                        " UNIQUE,"
                    });
                }
                let def = r.text(5);
                let def = def
                    .find(" USING ")
                    .map_or(def.as_str(), |at| &def[at + 7..]);
                s.push_str(&format!(" {def}"));
                if r.yes(8) {
                    s.push_str(" DEFERRABLE");
                }
                if r.yes(9) {
                    s.push_str(" INITIALLY DEFERRED");
                }
            }
            if r.yes(3) {
                s.push_str(" CLUSTER");
            }
            if !r.yes(4) {
                s.push_str(" INVALID");
            }
            if r.yes(10) {
                s.push_str(" REPLICA IDENTITY");
            }
            if let Some(t) = r.get(11) {
                s.push_str(&format!(", tablespace \"{t}\""));
            }
            f.push(s);
        }
        Ok(())
    }

    fn checks(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT r.conname, pg_catalog.pg_get_constraintdef(r.oid, true)\n\
             FROM pg_catalog.pg_constraint r\nWHERE {} AND {}\nORDER BY 1",
            eq("r.conrelid", id),
            eq("r.contype", "'c'"),
        );
        let result = rows(read, &sql)?;
        section(f, "Check constraints:", &result, |r| {
            format!("    \"{}\" {}", r.text(0), r.text(1))
        });
        Ok(())
    }

    /// The relation and its partition ancestors, for foreign keys declared on either.
    fn family(id: &str) -> String {
        format!(
            "(SELECT pg_catalog.pg_partition_ancestors({id})::pg_catalog.oid\n    \
             UNION ALL VALUES ({id}))"
        )
    }

    fn foreign_keys(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT {} AS sametable, r.conname,\n  \
             pg_catalog.pg_get_constraintdef(r.oid, true), r.conrelid::pg_catalog.regclass\n\
             FROM pg_catalog.pg_constraint r\n\
             WHERE {} AND {} AND {}\n\
             ORDER BY sametable DESC, r.conname",
            eq("r.conrelid", id),
            op("r.conrelid", "=", &format!("ANY {}", Self::family(id))),
            eq("r.contype", "'f'"),
            eq("r.conparentid", "'0'::pg_catalog.oid"),
        );
        let result = rows(read, &sql)?;
        section(f, "Foreign-key constraints:", &result, |r| {
            if r.yes(0) {
                format!("    \"{}\" {}", r.text(1), r.text(2))
            } else {
                format!(
                    "    TABLE \"{}\" CONSTRAINT \"{}\" {}",
                    r.text(3),
                    r.text(1),
                    r.text(2)
                )
            }
        });
        Ok(())
    }

    fn referenced_by(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT c.conname, c.conrelid::pg_catalog.regclass,\n  \
             pg_catalog.pg_get_constraintdef(c.oid, true)\n\
             FROM pg_catalog.pg_constraint c\n\
             WHERE {} AND {} AND {}\n\
             ORDER BY c.conname",
            op("c.confrelid", "=", &format!("ANY {}", Self::family(id))),
            eq("c.contype", "'f'"),
            eq("c.conparentid", "'0'::pg_catalog.oid"),
        );
        let result = rows(read, &sql)?;
        section(f, "Referenced by:", &result, |r| {
            format!(
                "    TABLE \"{}\" CONSTRAINT \"{}\" {}",
                r.text(1),
                r.text(0),
                r.text(2)
            )
        });
        Ok(())
    }

    fn policies(
        &self,
        read: &mut Read,
        id: &str,
        enabled: bool,
        forced: bool,
        f: &mut Vec<String>,
    ) -> Result<(), Failed> {
        let sql = format!(
            "SELECT pol.polname, pol.polpermissive,\n  \
             CASE WHEN {} THEN NULL ELSE pg_catalog.array_to_string(ARRAY(\n    \
             SELECT r.rolname FROM pg_catalog.pg_roles r, pg_catalog.unnest(pol.polroles) u(oid)\n    \
             WHERE {} ORDER BY 1), ',') END,\n  \
             pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),\n  \
             pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),\n  \
             CASE WHEN {} THEN 'SELECT' WHEN {} THEN 'INSERT' WHEN {} THEN 'UPDATE' WHEN {} THEN 'DELETE' END\n\
             FROM pg_catalog.pg_policy pol\nWHERE {}\nORDER BY 1",
            eq("pol.polroles", "'{0}'::pg_catalog.oid[]"),
            eq("r.oid", "u.oid"),
            eq("pol.polcmd", "'r'"),
            eq("pol.polcmd", "'a'"),
            eq("pol.polcmd", "'w'"),
            eq("pol.polcmd", "'d'"),
            eq("pol.polrelid", id),
        );
        let result = rows(read, &sql)?;
        let any = !result.rows.is_empty();
        let heading = match (enabled, forced, any) {
            (true, false, true) => "Policies:",
            (true, true, true) => "Policies (forced row security enabled):",
            (true, false, false) => "Policies (row security enabled): (none)",
            (true, true, false) => "Policies (forced row security enabled): (none)",
            (false, _, true) => "Policies (row security disabled):",
            (false, _, false) => return Ok(()),
        };
        f.push(heading.into());
        for r in &result.rows {
            let r = Row(r);
            let mut s = format!("    POLICY \"{}\"", r.text(0));
            if !r.yes(1) {
                s.push_str(" AS RESTRICTIVE");
            }
            if let Some(cmd) = r.get(5) {
                s.push_str(&format!(" FOR {cmd}"));
            }
            f.push(s);
            // psql puts these on lines of their own within one footer.
            if let Some(to) = r.get(2) {
                f.push(format!("      TO {to}"));
            }
            if let Some(using) = r.get(3) {
                f.push(format!("      USING ({using})"));
            }
            if let Some(check) = r.get(4) {
                f.push(format!("      WITH CHECK ({check})"));
            }
        }
        Ok(())
    }

    /// psql's rule footers, by `ev_enabled`: each rule's definition after `CREATE RULE`,
    /// one footer line per line of it.
    fn rules(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT r.rulename, pg_catalog.rtrim(pg_catalog.pg_get_ruledef(r.oid, true), ';'), ev_enabled\n\
             FROM pg_catalog.pg_rewrite r\nWHERE {}\nORDER BY 1",
            eq("r.ev_class", id)
        );
        let result = rows(read, &sql)?;
        for (heading, enabled) in [
            ("Rules:", "O"),
            ("Disabled rules:", "D"),
            ("Rules firing always:", "A"),
            ("Rules firing on replica only:", "R"),
        ] {
            let mut first = true;
            for r in result.rows.iter().map(|r| Row(r)) {
                if r.get(2) != Some(enabled) {
                    continue;
                }
                if first {
                    f.push(heading.into());
                    first = false;
                }
                let def = r.text(1);
                let def = def.strip_prefix("CREATE RULE ").unwrap_or(&def);
                let mut lines = def.lines();
                f.push(format!("    {}", lines.next().unwrap_or_default()));
                f.extend(lines.map(str::to_string));
            }
        }
        Ok(())
    }

    /// psql 15's `Publications:` footer: each publication with its column list and row
    /// filter, from a publication of the table, of its schema, or of all tables.
    fn publications(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT p.pubname, NULL::pg_catalog.text, NULL::pg_catalog.text\n\
             FROM pg_catalog.pg_publication p\n\
             JOIN pg_catalog.pg_publication_namespace pn ON {}\n\
             JOIN pg_catalog.pg_class pc ON {}\n\
             WHERE {} AND pg_catalog.pg_relation_is_publishable({id})\n\
             UNION\n\
             SELECT p.pubname, pg_catalog.pg_get_expr(pr.prqual, c.oid),\n  \
             (CASE WHEN pr.prattrs IS NOT NULL THEN\n    \
               (SELECT pg_catalog.string_agg(attname::pg_catalog.text, ', ')\n     \
                FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,\n          \
                     pg_catalog.pg_attribute\n     \
                WHERE {} AND {})\n  \
              ELSE NULL END)\n\
             FROM pg_catalog.pg_publication p\n\
             JOIN pg_catalog.pg_publication_rel pr ON {}\n\
             JOIN pg_catalog.pg_class c ON {}\n\
             WHERE {}\n\
             UNION\n\
             SELECT p.pubname, NULL, NULL\n\
             FROM pg_catalog.pg_publication p\n\
             WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable({id})\n\
             ORDER BY 1",
            eq("p.oid", "pn.pnpubid"),
            eq("pc.relnamespace", "pn.pnnspid"),
            eq("pc.oid", id),
            eq("attrelid", "pr.prrelid"),
            eq("attnum", "pr.prattrs[s]"),
            eq("p.oid", "pr.prpubid"),
            eq("c.oid", "pr.prrelid"),
            eq("pr.prrelid", id),
        );
        let result = rows(read, &sql)?;
        section(f, "Publications:", &result, |r| {
            let mut s = format!("    \"{}\"", r.text(0));
            if let Some(columns) = r.get(2) {
                s.push_str(&format!(" ({columns})"));
            }
            if let Some(filter) = r.get(1) {
                s.push_str(&format!(" WHERE {filter}"));
            }
            s
        });
        Ok(())
    }

    fn statistics(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let kind = |k: &str| {
            format!(
                "pg_catalog.array_position(s.stxkind, {}::pg_catalog.\"char\") IS NOT NULL",
                literal(k)
            )
        };
        let sql = format!(
            "SELECT s.stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, s.stxname,\n  \
             pg_catalog.pg_get_statisticsobjdef_columns(s.oid),\n  \
             {}, {}, {},\n  s.stxstattarget, s.stxrelid::pg_catalog.regclass\n\
             FROM pg_catalog.pg_statistic_ext s\nWHERE {}\nORDER BY nsp, s.stxname",
            kind("d"),
            kind("f"),
            kind("m"),
            eq("s.stxrelid", id),
        );
        let result = rows(read, &sql)?;
        section(f, "Statistics objects:", &result, |r| {
            let mut s = format!("    \"{}.{}\"", r.text(0), r.text(1));
            let kinds: Vec<&str> = [(3, "ndistinct"), (4, "dependencies"), (5, "mcv")]
                .into_iter()
                .filter(|(i, _)| r.yes(*i))
                .map(|(_, k)| k)
                .collect();
            if !kinds.is_empty() && kinds.len() < 3 {
                s.push_str(&format!(" ({})", kinds.join(", ")));
            }
            s.push_str(&format!(" ON {} FROM {}", r.text(2), r.text(7)));
            if let Some(t) = r.get(6).filter(|t| *t != "-1") {
                s.push_str(&format!("; STATISTICS {t}"));
            }
            s
        });
        Ok(())
    }

    fn triggers(&self, read: &mut Read, id: &str, f: &mut Vec<String>) -> Result<(), Failed> {
        let sql = format!(
            "SELECT t.tgname, pg_catalog.pg_get_triggerdef(t.oid, true), t.tgenabled, t.tgisinternal,\n  \
             CASE WHEN {} THEN (SELECT u.tgrelid::pg_catalog.regclass\n    \
             FROM pg_catalog.pg_trigger u,\n      \
             pg_catalog.pg_partition_ancestors(t.tgrelid) WITH ORDINALITY AS a(relid, depth)\n    \
             WHERE {} AND {} AND {}\n    ORDER BY a.depth LIMIT 1) END\n\
             FROM pg_catalog.pg_trigger t\n\
             WHERE {} AND (NOT t.tgisinternal OR (t.tgisinternal AND {}))\n\
             ORDER BY 1",
            op("t.tgparentid", "<>", "'0'::pg_catalog.oid"),
            eq("u.tgname", "t.tgname"),
            eq("u.tgrelid", "a.relid"),
            eq("u.tgparentid", "'0'::pg_catalog.oid"),
            eq("t.tgrelid", id),
            eq("t.tgenabled", "'D'"),
        );
        let result = rows(read, &sql)?;
        // psql's five trigger categories: (heading, tgenabled, internal or not).
        type Wanted = fn(&str, bool) -> bool;
        let categories: [(&str, Wanted); 5] = [
            ("Triggers:", |e, _| e == "O"),
            ("Disabled user triggers:", |e, internal| {
                e == "D" && !internal
            }),
            ("Disabled internal triggers:", |e, internal| {
                e == "D" && internal
            }),
            ("Triggers firing always:", |e, _| e == "A"),
            ("Triggers firing on replica only:", |e, _| e == "R"),
        ];
        for (heading, wanted) in categories {
            let mut first = true;
            for r in &result.rows {
                let r = Row(r);
                if !wanted(r.get(2).unwrap_or(""), r.yes(3)) {
                    continue;
                }
                if first {
                    f.push(heading.into());
                    first = false;
                }
                let def = r.text(1);
                let def = def
                    .find(" TRIGGER ")
                    .map_or(def.as_str(), |at| &def[at + 9..]);
                let mut s = format!("    {def}");
                if let Some(parent) = r.get(4) {
                    s.push_str(&format!(", ON TABLE {parent}"));
                }
                f.push(s);
            }
        }
        Ok(())
    }

    /// `Inherits:` and the child tables or partitions.
    fn inheritance(
        &self,
        read: &mut Read,
        id: &str,
        kind: &str,
        f: &mut Vec<String>,
    ) -> Result<(), Failed> {
        let parents = format!(
            "SELECT c.oid::pg_catalog.regclass\n\
             FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i\n\
             WHERE {} AND {} AND {} AND {}\nORDER BY i.inhseqno",
            eq("c.oid", "i.inhparent"),
            eq("i.inhrelid", id),
            op("c.relkind", "<>", "'p'"),
            op("c.relkind", "<>", "'I'"),
        );
        let result = rows(read, &parents)?;
        listed(f, "Inherits", &result, |r| r.text(0));
        let children = format!(
            "SELECT c.oid::pg_catalog.regclass, c.relkind, i.inhdetachpending,\n  \
             pg_catalog.pg_get_expr(c.relpartbound, c.oid)\n\
             FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i\n\
             WHERE {} AND {}\n\
             ORDER BY {}, c.oid::pg_catalog.regclass::pg_catalog.text",
            eq("c.oid", "i.inhrelid"),
            eq("i.inhparent", id),
            eq("pg_catalog.pg_get_expr(c.relpartbound, c.oid)", "'DEFAULT'"),
        );
        let result = rows(read, &children)?;
        let partitioned = matches!(kind, "p" | "I");
        let n = result.rows.len();
        if partitioned && n == 0 {
            f.push("Number of partitions: 0".into());
        } else if !self.verbose {
            if n > 0 {
                let what = if partitioned {
                    "Number of partitions"
                } else {
                    "Number of child tables"
                };
                f.push(format!("{what}: {n} (Use \\d+ to list them.)"));
            }
        } else {
            let label = if partitioned {
                "Partitions"
            } else {
                "Child tables"
            };
            listed(f, label, &result, |r| {
                let mut s = r.text(0);
                if let Some(bound) = r.get(3) {
                    s.push_str(&format!(" {bound}"));
                }
                match r.get(1) {
                    Some("p" | "I") => s.push_str(", PARTITIONED"),
                    Some("f") => s.push_str(", FOREIGN"),
                    _ => {}
                }
                if r.yes(2) {
                    s.push_str(" (DETACH PENDING)");
                }
                s
            });
        }
        Ok(())
    }
}

/// The name of the tablespace whose oid is `column`, NULL for 0 (the database's
/// default tablespace, which psql never names).
fn tablespace(column: &str) -> String {
    format!(
        "(SELECT t.spcname FROM pg_catalog.pg_tablespace t WHERE {})",
        eq("t.oid", column)
    )
}

/// Runs `sql`; a failed read ends the description (its error was shown).
fn rows(read: &mut Read, sql: &str) -> Result<Executed, Failed> {
    read(sql).map_err(|_| Failed)
}

/// A heading and one footer per row, when there are rows.
fn section(f: &mut Vec<String>, heading: &str, result: &Executed, line: impl Fn(&Row) -> String) {
    if result.rows.is_empty() {
        return;
    }
    f.push(heading.into());
    f.extend(result.rows.iter().map(|r| line(&Row(r))));
}

/// psql's list footer: `Label: first,` then the others aligned under it, comma-separated.
fn listed(f: &mut Vec<String>, label: &str, result: &Executed, item: impl Fn(&Row) -> String) {
    let n = result.rows.len();
    for (i, r) in result.rows.iter().enumerate() {
        let mut s = if i == 0 {
            format!("{label}: {}", item(&Row(r)))
        } else {
            format!("{}  {}", " ".repeat(label.chars().count()), item(&Row(r)))
        };
        if i + 1 < n {
            s.push(',');
        }
        f.push(s);
    }
}
