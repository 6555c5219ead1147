//! The row-level diff a reviewer reads: a header with the exact totals, then a psql-like
//! grid of the first rows keyed by the table's key, with `old → new` for each changed
//! value of an UPDATE, the deleted rows of a DELETE, the inserted rows of an INSERT and,
//! for an upsert, which rows were inserted and which updated.
//!
//! The grid is [`crate::render::table::Grid`]'s psql layout with painted pieces (old red
//! and crossed out, new green), returned as [`Text`]: colour is added at the screen,
//! after escaping, so the grid reads the same without it. Names and values are shown
//! escaped (`\n`, `\x1b`, `\u{202e}`), so they cannot break the grid or drive the
//! terminal of the shared screen.

use super::images::{ChangeKind, Datum, Image, Images, RowChange};
use super::keys::RowKey;
use super::rewrite::CaptureKind;
use crate::render::escape;
use crate::render::table::{Cell, Column, Grid};
use crate::render::{Paint, Text};

/// Between the old and the new value of a changed column.
const ARROW: &str = " → ";

/// A cell: pieces of text, each with its paint.
type Pieces = Vec<(String, Paint)>;

/// How a diff is drawn beyond its data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Look<'a> {
    /// Every column of an UPDATE (`\diff all`), not only the changed ones.
    pub all_columns: bool,
    /// psql's `\pset null`: what NULL is shown as; empty for the word `NULL` (a blank
    /// would vanish beside `→`).
    pub null: &'a str,
    /// The columns psql right-aligns (numbers).
    pub right_aligned: &'a [String],
}

/// Renders the diff of one statement on `table`; see the module docs.
pub fn render(table: &str, images: &Images, key: &RowKey, all_columns: bool) -> Text {
    let look = Look {
        all_columns,
        ..Look::default()
    };
    render_with(table, images, key, &look)
}

/// As [`render`], drawn as `look` says.
pub fn render_with(table: &str, images: &Images, key: &RowKey, look: &Look<'_>) -> Text {
    let table = escape::one_line(table);
    let mut out = Text::plain(header(&table, images));
    if matches!(key, RowKey::Ctid) {
        out.push_painted(
            format!(
                "warning: {table} has no primary key or unique not-null key; rows are keyed by ctid"
            ),
            Paint::Warn,
        );
        out.push("\n");
    }
    if let Some(why) = &images.old_values {
        out.push(format!(
            "note: {}; the new values of the updated rows are shown\n",
            escape::one_line(why)
        ));
    }
    if images.shown.is_empty() {
        return out;
    }
    let (columns, rows) = grid(images, look);
    let keys = key_names(&images.shown[0]);
    let key_changed = images
        .shown
        .iter()
        .any(|row| keys.iter().any(|k| changed(row, k)));
    if images.kind == CaptureKind::Update && columns.len() == keys.len() && !key_changed {
        out.push("(no column changed its value in the rows shown)\n");
    }
    out.append(draw(&columns, &rows, look.right_aligned));
    out
}

/// `UPDATE orders: 3 rows updated (showing 3)` and the like.
fn header(table: &str, images: &Images) -> String {
    let shown = images.shown.len();
    let (verb, counts) = match images.kind {
        CaptureKind::Update => ("UPDATE", rows(images.updated, "updated")),
        CaptureKind::Delete => ("DELETE", rows(images.deleted, "deleted")),
        CaptureKind::Insert => ("INSERT", rows(images.inserted, "inserted")),
        CaptureKind::Merge => (
            "MERGE",
            format!(
                "{}, {}, {}",
                rows(images.inserted, "inserted"),
                rows(images.updated, "updated"),
                rows(images.deleted, "deleted")
            ),
        ),
        CaptureKind::Upsert => (
            "INSERT",
            format!(
                "{}, {}",
                rows(images.inserted, "inserted"),
                rows(images.updated, "updated")
            ),
        ),
    };
    if images.total == 0 {
        format!("{verb} {table}: {counts}\n")
    } else {
        format!("{verb} {table}: {counts} (showing {shown})\n")
    }
}

/// `1 row updated`, `1,000,000 rows updated`.
fn rows(n: u64, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} row{s} {what}", thousands(n))
}

/// `1,000,000`: digits grouped by three, as the totals show them.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn key_names(row: &RowChange) -> Vec<String> {
    row.key.iter().map(|(name, _)| name.clone()).collect()
}

/// The grid's column headers and its rows of painted cells.
fn grid(images: &Images, look: &Look<'_>) -> (Vec<String>, Vec<Vec<Pieces>>) {
    let all_columns = look.all_columns;
    let null = null_word(look.null);
    let keys = images.shown.first().map(key_names).unwrap_or_default();
    // An upsert's and a MERGE's rows say what happened to each.
    let upsert = matches!(images.kind, CaptureKind::Upsert | CaptureKind::Merge);

    // Value columns in table order, as first seen; key columns are already shown.
    let mut value_columns: Vec<String> = Vec::new();
    for row in &images.shown {
        for image in [&row.old, &row.new].into_iter().flatten() {
            for (name, _) in &image.columns {
                if !keys.contains(name) && !value_columns.contains(name) {
                    value_columns.push(name.clone());
                }
            }
        }
    }
    if images.kind == CaptureKind::Update && !all_columns {
        value_columns.retain(|column| images.shown.iter().any(|row| changed(row, column)));
    }

    let mut columns = Vec::new();
    if upsert {
        columns.push("action".to_owned());
    }
    columns.extend(keys.iter().cloned());
    columns.extend(value_columns.iter().cloned());

    let rows = images
        .shown
        .iter()
        .map(|row| {
            let mut cells: Vec<Pieces> = Vec::new();
            if upsert {
                let action = match row.kind {
                    ChangeKind::Inserted => "inserted",
                    ChangeKind::Updated => "updated",
                    ChangeKind::Deleted => "deleted",
                };
                cells.push(vec![(action.to_owned(), Paint::Plain)]);
            }
            let whole = match row.kind {
                ChangeKind::Deleted => Paint::Old,
                ChangeKind::Inserted => Paint::New,
                ChangeKind::Updated if images.kind == CaptureKind::Upsert => Paint::New,
                ChangeKind::Updated => Paint::Plain,
            };
            for (name, value) in &row.key {
                // An UPDATE of the key itself shows `old → new` in the key column.
                if changed(row, name) {
                    cells.push(cell(row, name, whole, null));
                } else {
                    cells.push(vec![(shown(value, null), Paint::Plain)]);
                }
            }
            for column in &value_columns {
                cells.push(cell(row, column, whole, null));
            }
            cells
        })
        .collect();
    (columns, rows)
}

/// Whether `column` differs between the old and the new image of `row`.
fn changed(row: &RowChange, column: &str) -> bool {
    match (&row.old, &row.new) {
        (Some(old), Some(new)) => old.get(column) != new.get(column),
        _ => false,
    }
}

/// What NULL is shown as: `\pset null`, else the word.
fn null_word(null: &str) -> &str {
    if null.is_empty() {
        "NULL"
    } else {
        null
    }
}

fn cell(row: &RowChange, column: &str, whole: Paint, null: &str) -> Pieces {
    let value = |image: &Option<Image>, paint: Paint| -> (String, Paint) {
        match image.as_ref().and_then(|i| i.get(column)) {
            // NULL is the `\pset null` text (the bare word by default), dimmed where no
            // diff colour applies; a string that could read as NULL, as empty or as
            // something it is not comes quoted.
            Some(Datum::Null) => (
                escape::one_line(null),
                if paint == Paint::Plain {
                    Paint::Null
                } else {
                    paint
                },
            ),
            Some(Datum::Text(s)) => (shown(s, null), paint),
            None => (String::new(), paint),
        }
    };
    if changed(row, column) {
        vec![
            value(&row.old, Paint::Old),
            (ARROW.to_owned(), Paint::Plain),
            value(&row.new, Paint::New),
        ]
    } else if row.new.is_some() {
        vec![value(&row.new, whole)]
    } else {
        vec![value(&row.old, whole)]
    }
}

/// A value as PostgreSQL's own text, escaped so it stays on its line and cannot drive
/// the terminal, and quoted as an SQL literal (`'NULL'`, `''`, `'abc '`) where it could
/// be mistaken: the empty string, any spelling of NULL or the text NULL is shown as
/// (`null`), spaces at either end (a grid cell would hide them), or a leading quote.
fn shown(value: &str, null: &str) -> String {
    let escaped = crate::render::escape::one_line(value);
    let ambiguous = value.is_empty()
        || value.eq_ignore_ascii_case("null")
        || escaped == escape::one_line(null)
        || value.starts_with([' ', '\'', '\t'])
        || value.ends_with([' ', '\t']);
    if ambiguous {
        format!("'{}'", escaped.replace('\'', "''"))
    } else {
        escaped
    }
}

/// Lays out the grid with its painted pieces, numbers right-aligned as psql aligns them.
fn draw(columns: &[String], rows: &[Vec<Pieces>], right_aligned: &[String]) -> Text {
    let columns: Vec<Column> = columns
        .iter()
        .map(|name| Column {
            name: name.clone(),
            numeric: right_aligned.contains(name),
        })
        .collect();
    let mut grid = Grid::new(&columns);
    for row in rows {
        grid.row(
            row.iter()
                .map(|pieces| Cell::pieces(pieces.iter().map(|(s, p)| (s.as_str(), *p))))
                .collect(),
        );
    }
    grid.text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::images::{CapturedRow, ImageSink, SinkOptions, SpillTo};
    use crate::render::Style;

    fn images(
        kind: CaptureKind,
        key: RowKey,
        columns: &[&str],
        rows: &[CapturedRow<'_>],
        shown: usize,
    ) -> Images {
        let mut sink = ImageSink::new(
            kind,
            key,
            columns.iter().map(|c| c.to_string()).collect(),
            SinkOptions {
                shown,
                spill: SpillTo::Off,
            },
        );
        for row in rows {
            sink.push(*row).expect("push");
        }
        sink.finish().expect("finish")
    }

    fn update(old: &'static str, new: &'static str) -> CapturedRow<'static> {
        CapturedRow {
            old: Some(old),
            new: Some(new),
            ..CapturedRow::default()
        }
    }

    fn orders_update() -> Images {
        images(
            CaptureKind::Update,
            RowKey::Primary(vec!["id".into()]),
            &["id", "status", "total", "note"],
            &[
                update("(1,new,10.50,)", "(1,shipped,10.50,fast)"),
                update("(2,new,7.00,x)", "(2,shipped,7.00,x)"),
                update("(3,new,1,\"a\nb\")", "(3,shipped,1,\"a\nb\")"),
            ],
            2,
        )
    }

    #[test]
    fn null_never_reads_as_a_string() {
        let key = RowKey::Primary(vec!["id".into()]);
        let images = images(
            CaptureKind::Update,
            key.clone(),
            &["id", "note"],
            &[
                update("(1,)", "(1,NULL)"),
                update("(2,\"\")", "(2,)"),
                update("(3,\"null\")", "(3,\" x \")"),
            ],
            3,
        );
        insta::assert_snapshot!(render("t", &images, &key, false).to_string(), @r"
        UPDATE t: 3 rows updated (showing 3)
         id |      note
        ----+----------------
         1  | NULL → 'NULL'
         2  | '' → NULL
         3  | 'null' → ' x '
        ");
        let all = render("t", &images, &key, true);
        let unchanged = images_of_null();
        let shown = render("t", &unchanged, &key, true);
        assert!(shown.spans().any(|(s, p)| s == "NULL" && p == Paint::Null));
        assert!(all.spans().all(|(_, p)| p != Paint::Null));
    }

    fn images_of_null() -> Images {
        images(
            CaptureKind::Update,
            RowKey::Primary(vec!["id".into()]),
            &["id", "a", "b"],
            &[update("(1,,x)", "(1,,y)")],
            1,
        )
    }

    #[test]
    fn update_plain() {
        let key = RowKey::Primary(vec!["id".into()]);
        let images = orders_update();
        insta::assert_snapshot!(render("orders", &images, &key, false).to_string(), @r"
        UPDATE orders: 3 rows updated (showing 2)
         id |    status     |    note
        ----+---------------+-------------
         1  | new → shipped | NULL → fast
         2  | new → shipped | x
        ");
        insta::assert_snapshot!(render("orders", &images, &key, true).to_string(), @r"
        UPDATE orders: 3 rows updated (showing 2)
         id |    status     | total |    note
        ----+---------------+-------+-------------
         1  | new → shipped | 10.50 | NULL → fast
         2  | new → shipped | 7.00  | x
        ");
    }

    #[test]
    fn update_colour() {
        let key = RowKey::Primary(vec!["id".into()]);
        let out = render("orders", &orders_update(), &key, false).to_screen(Style { color: true });
        insta::assert_snapshot!(out.escape_debug().to_string().replace("\\n", "\n"), @r"
        UPDATE orders: 3 rows updated (showing 2)
         id |    status     |    note
        ----+---------------+-------------
         1  | \u{1b}[38;5;9m\u{1b}[9mnew\u{1b}[0m → \u{1b}[38;5;10mshipped\u{1b}[39m | \u{1b}[38;5;9m\u{1b}[9mNULL\u{1b}[0m → \u{1b}[38;5;10mfast\u{1b}[39m
         2  | \u{1b}[38;5;9m\u{1b}[9mnew\u{1b}[0m → \u{1b}[38;5;10mshipped\u{1b}[39m | x
        ");
    }

    #[test]
    fn delete_insert_upsert_and_ctid() {
        let deleted = images(
            CaptureKind::Delete,
            RowKey::Ctid,
            &["sku", "qty"],
            &[CapturedRow {
                old: Some("(A-1,3)"),
                ctid: Some("(0,7)"),
                ..CapturedRow::default()
            }],
            20,
        );
        insta::assert_snapshot!(render("stock", &deleted, &RowKey::Ctid, false).to_string(), @r"
        DELETE stock: 1 row deleted (showing 1)
        warning: stock has no primary key or unique not-null key; rows are keyed by ctid
         ctid  | sku | qty
        -------+-----+-----
         (0,7) | A-1 | 3
        ");
        let key = RowKey::Unique(vec!["sku".into()]);
        let upserted = images(
            CaptureKind::Upsert,
            key.clone(),
            &["sku", "qty"],
            &[
                CapturedRow {
                    new: Some("(A-1,4)"),
                    inserted: Some(false),
                    ..CapturedRow::default()
                },
                CapturedRow {
                    new: Some("(B-2,1)"),
                    inserted: Some(true),
                    ..CapturedRow::default()
                },
            ],
            20,
        );
        insta::assert_snapshot!(render("stock", &upserted, &key, false).to_string(), @r"
        INSERT stock: 1 row inserted, 1 row updated (showing 2)
        note: the old values of rows an upsert updates were not read before it; the new values of the updated rows are shown
          action  | sku | qty
        ----------+-----+-----
         updated  | A-1 | 4
         inserted | B-2 | 1
        ");
        let none = images(CaptureKind::Insert, key.clone(), &["sku", "qty"], &[], 20);
        assert_eq!(
            render("stock", &none, &key, false).to_string(),
            "INSERT stock: 0 rows inserted\n"
        );
    }

    #[test]
    fn pset_null_and_numbers_as_psql_shows_them() {
        let key = RowKey::Primary(vec!["id".into()]);
        let images = images(
            CaptureKind::Update,
            key.clone(),
            &["id", "total", "note"],
            &[
                update("(1,10.50,)", "(1,-3,\"(null)\")"),
                update("(22,7,x)", "(22,1234,)"),
            ],
            2,
        );
        let numbers = ["id".to_string(), "total".to_string()];
        let look = Look {
            all_columns: false,
            null: "(null)",
            right_aligned: &numbers,
        };
        insta::assert_snapshot!(render_with("t", &images, &key, &look).to_string(), @r"
        UPDATE t: 2 rows updated (showing 2)
         id |   total    |       note
        ----+------------+-------------------
          1 | 10.50 → -3 | (null) → '(null)'
         22 |   7 → 1234 | x → (null)
        ");
        // The string NULL is quoted, NULL itself is the \\pset null text.
        assert_eq!(shown("(null)", "(null)"), "'(null)'");
        assert_eq!(shown("NULL", "(null)"), "'NULL'");
        assert_eq!(shown("-", "(null)"), "-");
    }

    #[test]
    fn totals_use_thousands_and_values_are_escaped() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(shown("a\u{1b}[2Jb\n", "NULL"), "a\\x1b[2Jb\\n");
        assert_eq!(shown("abc  ", "NULL"), "'abc  '");
        assert_eq!(shown(" a'b ", "NULL"), "' a''b '");
        assert_eq!(shown("  ", "NULL"), "'  '");
        assert_eq!(shown("", "NULL"), "''");
        assert_eq!(shown("NULL", "NULL"), "'NULL'");
        assert_eq!(shown("null", "NULL"), "'null'");
        assert_eq!(shown("x", "NULL"), "x");
    }
}
