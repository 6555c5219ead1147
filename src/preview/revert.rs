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

/// A value as a literal typed by its column: `NULL`, or `E'text'::type`.
pub fn literal(value: &Datum, ty: &str) -> String {
    match value {
        Datum::Null => "NULL".to_string(),
        Datum::Text(s) => format!("E'{}'::{ty}", s.replace('\\', "\\\\").replace('\'', "''")),
    }
}

impl Target {
    /// The statement that undoes one row change; `Err` says why there is none.
    pub fn undo(
        &self,
        kind: ChangeKind,
        old: Option<&Image>,
        new: Option<&Image>,
    ) -> Result<String, String> {
        match (kind, old, new) {
            (ChangeKind::Inserted, _, Some(new)) => Ok(format!(
                "DELETE FROM {} WHERE {};",
                self.table,
                self.by_key(new)?
            )),
            (ChangeKind::Deleted, Some(old), _) => Ok(self.insert(old)),
            (ChangeKind::Updated, Some(old), Some(new)) => {
                let set: Vec<String> = self
                    .columns
                    .iter()
                    .filter(|c| !c.generated && old.get(&c.name) != new.get(&c.name))
                    .map(|c| {
                        let v = old.get(&c.name).unwrap_or(&Datum::Null);
                        format!("{} = {}", quote_ident(&c.name), literal(v, &c.ty))
                    })
                    .collect();
                if set.is_empty() {
                    return Ok(String::new());
                }
                Ok(format!(
                    "UPDATE {} SET {} WHERE {};",
                    self.table,
                    set.join(", "),
                    self.by_key(new)?
                ))
            }
            (ChangeKind::Updated, None, _) => {
                Err("an updated row has no before-image (an upsert's update)".to_string())
            }
            _ => Err("a row change without the image undo needs".to_string()),
        }
    }

    fn insert(&self, old: &Image) -> String {
        let written: Vec<&Column> = self.columns.iter().filter(|c| !c.generated).collect();
        let names: Vec<String> = written.iter().map(|c| quote_ident(&c.name)).collect();
        let values: Vec<String> = written
            .iter()
            .map(|c| literal(old.get(&c.name).unwrap_or(&Datum::Null), &c.ty))
            .collect();
        format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({});",
            self.table,
            names.join(", "),
            values.join(", ")
        )
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
                "{} OPERATOR(pg_catalog.=) {}",
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
    fn literals_are_typed_and_quote_safe() {
        assert_eq!(literal(&Datum::Null, "text"), "NULL");
        assert_eq!(
            literal(&Datum::Text(r"it's a \ back".into()), "text"),
            r"E'it''s a \\ back'::text"
        );
        assert_eq!(
            literal(&Datum::Text("1.50".into()), "numeric(10,2)"),
            "E'1.50'::numeric(10,2)"
        );
    }

    #[test]
    fn an_update_is_set_back_by_key_on_the_changed_columns() {
        let sql = target()
            .undo(
                ChangeKind::Updated,
                Some(&image("1", Some("old"))),
                Some(&image("1", None)),
            )
            .expect("undo");
        assert_eq!(
            sql,
            "UPDATE \"public\".\"items\" SET \"note\" = E'old'::text WHERE \"id\" OPERATOR(pg_catalog.=) E'1'::integer;"
        );
    }

    #[test]
    fn a_delete_is_inserted_back_without_generated_columns() {
        let sql = target()
            .undo(ChangeKind::Deleted, Some(&image("2", None)), None)
            .expect("undo");
        assert_eq!(
            sql,
            "INSERT INTO \"public\".\"items\" (\"id\", \"note\") OVERRIDING SYSTEM VALUE VALUES (E'2'::integer, NULL);"
        );
    }

    #[test]
    fn an_insert_is_deleted_by_key() {
        let sql = target()
            .undo(ChangeKind::Inserted, None, Some(&image("3", Some("x"))))
            .expect("undo");
        assert_eq!(
            sql,
            "DELETE FROM \"public\".\"items\" WHERE \"id\" OPERATOR(pg_catalog.=) E'3'::integer;"
        );
    }

    #[test]
    fn no_key_or_no_before_image_is_refused() {
        let mut t = target();
        assert!(t
            .undo(ChangeKind::Updated, None, Some(&image("1", None)))
            .is_err());
        t.key.clear();
        assert!(t
            .undo(ChangeKind::Inserted, None, Some(&image("1", None)))
            .is_err());
    }
}
