//! Undo SQL for one captured row change, from its before and after images: an updated
//! row is updated back by its key (the columns that changed get their before values), a
//! deleted row is inserted again, an inserted row is deleted by its key. Values are
//! literals of the server's own output text cast to the column's type as
//! `format_type` prints it (`E'…'::numeric(10,2)`), so they read back exactly, whatever
//! `standard_conforming_strings` says. Generated columns are never written; identity
//! columns are inserted with `OVERRIDING SYSTEM VALUE`.

use super::images::{ChangeKind, Datum, Image};
use super::relation::quote_ident;

/// One column of the undo's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its type as `format_type` prints it.
    pub ty: String,
    /// A generated column: computed by the server, never written.
    pub generated: bool,
}

/// The table an undo statement writes, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The schema-qualified, quoted name.
    pub table: String,
    /// Every column, in the table's order (the images' fields).
    pub columns: Vec<Column>,
    /// The key columns (primary key, or a NOT NULL unique key).
    pub key: Vec<String>,
}

/// A value as a literal typed by its column: `NULL`, or `E'text'::type`. Line feeds,
/// carriage returns and tabs are written as escapes, so every statement is one line.
pub fn literal(value: &Datum, ty: &str) -> String {
    match value {
        Datum::Null => "NULL".to_string(),
        Datum::Text(s) => format!("{}::{ty}", text_literal(s)),
    }
}

/// `s` as an `E'…'` string on one line: backslash, quote, line feed, carriage return
/// and tab escaped.
pub fn text_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    out.push_str("E'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The alias the undo statements and checks give their table, so the whole row can be
/// named (`pgward_u.*`) whatever the table is called.
const ALIAS: &str = "pgward_u";

impl Target {
    /// The statement that undoes one row change; `Err` says why there is none.
    ///
    /// An UPDATE or DELETE back finds its row by key *and* by its whole after-image
    /// (`after`, the `record_out` text the capture took), compared after both are
    /// printed by the server now, so a row that changed since the commit is not
    /// touched: the statement then counts one row fewer, which the undo session
    /// refuses at COMMIT. An INSERT back fails on the key when the row exists again.
    pub fn undo(
        &self,
        kind: ChangeKind,
        old: Option<&Image>,
        new: Option<&Image>,
        after: Option<&str>,
    ) -> Result<String, String> {
        match (kind, old, new) {
            (ChangeKind::Inserted, _, Some(new)) => Ok(format!(
                "DELETE FROM {} AS {ALIAS} WHERE {} AND {};",
                self.table,
                self.by_key(new)?,
                self.unchanged(after)?
            )),
            (ChangeKind::Deleted, Some(old), _) => Ok(self.insert(old)),
            (ChangeKind::Updated, Some(old), Some(new)) => {
                let mut set: Vec<String> = self
                    .columns
                    .iter()
                    .filter(|c| !c.generated && old.get(&c.name) != new.get(&c.name))
                    .map(|c| self.assign(c, old))
                    .collect();
                if set.is_empty() {
                    // An UPDATE that changed nothing is undone by one that changes
                    // nothing, so the undo counts the same rows as the change.
                    let first = self
                        .columns
                        .iter()
                        .find(|c| !c.generated)
                        .ok_or("the table has no column that can be written")?;
                    set.push(self.assign(first, old));
                }
                Ok(format!(
                    "UPDATE {} AS {ALIAS} SET {} WHERE {} AND {};",
                    self.table,
                    set.join(", "),
                    self.by_key(new)?,
                    self.unchanged(after)?
                ))
            }
            (ChangeKind::Updated, None, _) => {
                Err("an updated row has no before-image (an upsert's update)".to_string())
            }
            _ => Err("a row change without the image undo needs".to_string()),
        }
    }

    /// A one-line read that returns `(table, key, what)` when the row this change left
    /// is no longer as the commit left it: an inserted or updated row must still exist
    /// with its after-image, a deleted row must still be absent. No row: unchanged.
    pub fn check(
        &self,
        kind: ChangeKind,
        old: Option<&Image>,
        new: Option<&Image>,
        after: Option<&str>,
    ) -> Result<String, String> {
        let text = |s: &str| format!("{}::pg_catalog.text", text_literal(s));
        match (kind, old, new) {
            (ChangeKind::Deleted, Some(old), _) => Ok(format!(
                "SELECT {}, {}, {} FROM {} AS {ALIAS} WHERE {}",
                text(&self.table),
                text(&self.key_text(old)),
                text("exists again (it was deleted)"),
                self.table,
                self.by_key(old)?
            )),
            (ChangeKind::Inserted | ChangeKind::Updated, _, Some(new)) => {
                let after = after.ok_or("a row change without its after-image")?;
                Ok(format!(
                    "SELECT {}, {}, CASE WHEN pgward_c.r IS NULL THEN {} ELSE {} END \
                     FROM (SELECT (SELECT pg_catalog.record_out({ALIAS}.*)::pg_catalog.text \
                     FROM {} AS {ALIAS} WHERE {}) AS r) AS pgward_c \
                     WHERE pgward_c.r IS NULL OR pgward_c.r OPERATOR(pg_catalog.<>) {}",
                    text(&self.table),
                    text(&self.key_text(new)),
                    text("is gone"),
                    text("has changed"),
                    self.table,
                    self.by_key(new)?,
                    self.printed(after)
                ))
            }
            _ => Err("a row change without the image undo needs".to_string()),
        }
    }

    /// The key of `image` as people read it: `id=7`, `a=1, b=x`.
    pub fn key_text(&self, image: &Image) -> String {
        self.key
            .iter()
            .map(|k| format!("{k}={}", image.get(k).unwrap_or(&Datum::Null).display()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn assign(&self, c: &Column, old: &Image) -> String {
        let v = old.get(&c.name).unwrap_or(&Datum::Null);
        format!("{} = {}", quote_ident(&c.name), literal(v, &c.ty))
    }

    /// `record_out` of the after-image read back as the table's row type: printed by
    /// the server now, so it compares with the row as the server prints it now.
    fn printed(&self, after: &str) -> String {
        format!(
            "pg_catalog.record_out({}::{})::pg_catalog.text",
            text_literal(after),
            self.table
        )
    }

    /// The row is still exactly the after-image.
    fn unchanged(&self, after: Option<&str>) -> Result<String, String> {
        let after = after.ok_or("a row change without its after-image")?;
        Ok(format!(
            "pg_catalog.record_out({ALIAS}.*)::pg_catalog.text OPERATOR(pg_catalog.=) {}",
            self.printed(after)
        ))
    }

    /// The INSERT that puts one deleted row back.
    pub fn insert(&self, old: &Image) -> String {
        format!("{} {};", self.insert_head(), self.insert_values(old))
    }

    /// `INSERT INTO t (<columns>) OVERRIDING SYSTEM VALUE VALUES`: the start of the
    /// statement that inserts deleted rows back, one or several (generated columns left
    /// out).
    pub fn insert_head(&self) -> String {
        let names: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !c.generated)
            .map(|c| quote_ident(&c.name))
            .collect();
        format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES",
            self.table,
            names.join(", ")
        )
    }

    /// `(<before values>)`: one deleted row's values for [`Target::insert_head`].
    pub fn insert_values(&self, old: &Image) -> String {
        let values: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !c.generated)
            .map(|c| literal(old.get(&c.name).unwrap_or(&Datum::Null), &c.ty))
            .collect();
        format!("({})", values.join(", "))
    }

    /// A one-line read, as [`Target::check`], that returns a row when the key an
    /// updated row left (`old`'s key, vacated by a change of the key itself) holds a
    /// row now: the undo would put the row back there.
    pub fn vacated_check(&self, old: &Image) -> Result<String, String> {
        let text = |s: &str| format!("{}::pg_catalog.text", text_literal(s));
        Ok(format!(
            "SELECT {}, {}, {} FROM {} AS {ALIAS} WHERE {}",
            text(&self.table),
            text(&self.key_text(old)),
            text("holds a row again (the change moved its row to another key)"),
            self.table,
            self.by_key(old)?
        ))
    }

    fn by_key(&self, image: &Image) -> Result<String, String> {
        if self.key.is_empty() {
            return Err("the table has no key to find its rows by".to_string());
        }
        let mut terms = Vec::new();
        for name in &self.key {
            let column = self
                .columns
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| format!("the key column {name} is not among the columns"))?;
            let value = image.get(name).unwrap_or(&Datum::Null);
            if *value == Datum::Null {
                return Err(format!("the key column {name} is NULL"));
            }
            terms.push(format!(
                "{ALIAS}.{} OPERATOR(pg_catalog.=) {}",
                quote_ident(name),
                literal(value, &column.ty)
            ));
        }
        Ok(terms.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        let col = |name: &str, ty: &str, generated: bool| Column {
            name: name.into(),
            ty: ty.into(),
            generated,
        };
        Target {
            table: "\"public\".\"items\"".into(),
            columns: vec![
                col("id", "integer", false),
                col("note", "text", false),
                col("twice", "integer", true),
            ],
            key: vec!["id".into()],
        }
    }

    fn image(id: &str, note: Option<&str>) -> Image {
        Image {
            columns: vec![
                ("id".into(), Datum::Text(id.into())),
                (
                    "note".into(),
                    note.map_or(Datum::Null, |n| Datum::Text(n.into())),
                ),
                ("twice".into(), Datum::Text("0".into())),
            ],
        }
    }

    #[test]
    fn literals_are_typed_quote_safe_and_on_one_line() {
        assert_eq!(literal(&Datum::Null, "text"), "NULL");
        assert_eq!(
            literal(&Datum::Text("it's a \\ back\nand\ta\r".into()), "text"),
            r"E'it''s a \\ back\nand\ta\r'::text"
        );
        assert_eq!(
            literal(&Datum::Text("1.50".into()), "numeric(10,2)"),
            "E'1.50'::numeric(10,2)"
        );
    }

    const AFTER: &str = "(1,,0)";
    const GUARD: &str = "pg_catalog.record_out(pgward_u.*)::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.record_out(E'(1,,0)'::\"public\".\"items\")::pg_catalog.text";

    #[test]
    fn an_update_is_set_back_by_key_on_the_changed_columns_while_unchanged() {
        let sql = target()
            .undo(
                ChangeKind::Updated,
                Some(&image("1", Some("old"))),
                Some(&image("1", None)),
                Some(AFTER),
            )
            .expect("undo");
        assert_eq!(
            sql,
            format!("UPDATE \"public\".\"items\" AS pgward_u SET \"note\" = E'old'::text WHERE pgward_u.\"id\" OPERATOR(pg_catalog.=) E'1'::integer AND {GUARD};")
        );
        // An update that changed nothing is undone by one that changes nothing.
        let same = target()
            .undo(
                ChangeKind::Updated,
                Some(&image("1", None)),
                Some(&image("1", None)),
                Some(AFTER),
            )
            .expect("undo");
        assert!(same.contains("SET \"id\" = E'1'::integer WHERE"), "{same}");
    }

    #[test]
    fn a_delete_is_inserted_back_without_generated_columns() {
        let sql = target()
            .undo(ChangeKind::Deleted, Some(&image("2", None)), None, None)
            .expect("undo");
        assert_eq!(
            sql,
            "INSERT INTO \"public\".\"items\" (\"id\", \"note\") OVERRIDING SYSTEM VALUE VALUES (E'2'::integer, NULL);"
        );
    }

    #[test]
    fn an_insert_is_deleted_by_key_while_unchanged() {
        let sql = target()
            .undo(
                ChangeKind::Inserted,
                None,
                Some(&image("3", Some("x"))),
                Some(AFTER),
            )
            .expect("undo");
        assert_eq!(
            sql,
            format!("DELETE FROM \"public\".\"items\" AS pgward_u WHERE pgward_u.\"id\" OPERATOR(pg_catalog.=) E'3'::integer AND {GUARD};")
        );
    }

    #[test]
    fn checks_name_the_table_and_key() {
        let t = target();
        let gone = t
            .check(ChangeKind::Deleted, Some(&image("2", None)), None, None)
            .expect("check");
        assert!(
            gone.starts_with(
                "SELECT E'\"public\".\"items\"'::pg_catalog.text, E'id=2'::pg_catalog.text"
            ),
            "{gone}"
        );
        let kept = t
            .check(
                ChangeKind::Updated,
                None,
                Some(&image("1", None)),
                Some(AFTER),
            )
            .expect("check");
        assert!(
            kept.contains("E'id=1'") && kept.contains("E'(1,,0)'"),
            "{kept}"
        );
        assert!(!kept.contains('\n'));
        assert!(t
            .check(ChangeKind::Updated, None, Some(&image("1", None)), None)
            .is_err());
    }

    #[test]
    fn no_key_or_no_before_image_is_refused() {
        let mut t = target();
        assert!(t
            .undo(
                ChangeKind::Updated,
                None,
                Some(&image("1", None)),
                Some(AFTER)
            )
            .is_err());
        t.key.clear();
        assert!(t
            .undo(
                ChangeKind::Inserted,
                None,
                Some(&image("1", None)),
                Some(AFTER)
            )
            .is_err());
    }
}
