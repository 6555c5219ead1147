//! Result tables drawn as psql draws them: no outer border, `|` between columns, a
//! dashed rule under centred headers, numbers right-aligned, NULL shown empty, and a
//! `(N rows)` footer.
//!
//! A large result is drawn in batches as it arrives ([`batch`], psql's `FETCH_COUNT`
//! semantics): each batch is aligned on its own widths, the header comes with the first
//! batch only, and the footer counts every row. A result that fits in one batch is drawn
//! exactly as [`render`] draws it.

use std::borrow::Cow;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use unicode_width::UnicodeWidthStr;

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// True for number types, which psql right-aligns.
    pub numeric: bool,
}

impl Column {
    /// A column of the given PostgreSQL type.
    pub fn new(name: impl Into<String>, ty: &tokio_postgres::types::Type) -> Column {
        use tokio_postgres::types::Type;
        let numeric = [
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::NUMERIC,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::OID,
            Type::MONEY,
        ]
        .contains(ty);
        Column {
            name: name.into(),
            numeric,
        }
    }
}

/// psql's border layout for comfy-table: only the vertical lines and the header rule.
const PSQL: &str = "     -+ |          ";

/// An empty table in psql's layout, with centred `headers`.
pub fn psql_table<'a>(headers: impl IntoIterator<Item = &'a str>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(PSQL)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            headers
                .into_iter()
                .map(|h| Cell::new(h).set_alignment(CellAlignment::Center)),
        );
    table
}

/// Renders rows as text, including the row-count footer and a final newline.
pub fn render(columns: &[Column], rows: &[Vec<Option<String>>]) -> String {
    let mut out = batch(columns, rows, true);
    out.push_str(&footer(rows.len()));
    out.push('\n');
    out
}

/// Renders one batch of rows, aligned on its own widths (the header's included), with
/// the header and its rule only when `header` is set, and no footer.
///
/// The layout is [`psql_table`]'s (one space of padding each side, `|` between columns,
/// `-` and `+` in the rule, names centred with the odd space on the left, numbers
/// right-aligned, lines trimmed at the end, a value's line breaks kept), drawn directly:
/// a table of a million rows is drawn in batches, and this is the hot loop.
pub fn batch(columns: &[Column], rows: &[Vec<Option<String>>], header: bool) -> String {
    let mut out = String::new();
    if columns.is_empty() {
        return out;
    }
    let names: Vec<Vec<&str>> = columns
        .iter()
        .map(|c| c.name.split('\n').collect())
        .collect();
    let cells: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| shown(row.get(i).and_then(|v| v.as_deref()).unwrap_or("")))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = names
        .iter()
        // comfy-table draws an empty column one wide.
        .map(|lines| lines.iter().map(|l| width(l)).max().unwrap_or(0).max(1))
        .collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            for line in cell.split('\n') {
                *w = (*w).max(width(line));
            }
        }
    }
    let mut line = String::new();
    if header {
        let height = names.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            line.clear();
            for (c, lines) in names.iter().enumerate() {
                if c > 0 {
                    line.push('|');
                }
                let text = lines.get(i).copied().unwrap_or("");
                let rest = widths[c].saturating_sub(width(text));
                pad(&mut line, rest.div_ceil(2) + 1);
                line.push_str(text);
                pad(&mut line, rest / 2 + 1);
            }
            push_trimmed(&mut out, &line);
        }
        for (c, w) in widths.iter().enumerate() {
            if c > 0 {
                out.push('+');
            }
            out.extend(std::iter::repeat_n('-', w + 2));
        }
        out.push('\n');
    }
    for row in &cells {
        let height = row.iter().map(|c| c.split('\n').count()).max().unwrap_or(1);
        for i in 0..height {
            line.clear();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push('|');
                }
                let text = if height == 1 {
                    cell.as_ref()
                } else {
                    cell.split('\n').nth(i).unwrap_or("")
                };
                let rest = widths[c].saturating_sub(width(text));
                if columns[c].numeric {
                    pad(&mut line, rest + 1);
                    line.push_str(text);
                    line.push(' ');
                } else {
                    line.push(' ');
                    line.push_str(text);
                    pad(&mut line, rest + 1);
                }
            }
            push_trimmed(&mut out, &line);
        }
    }
    out
}

/// A value as shown: control characters escaped (line breaks and tabs stay), without
/// copying the common value that has none.
fn shown(value: &str) -> Cow<'_, str> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Cow::Owned(super::escape::multi_line(value))
    } else {
        Cow::Borrowed(value)
    }
}

/// Display width, as the terminal (and comfy-table) count it.
fn width(text: &str) -> usize {
    if text.is_ascii() && !text.contains('\t') {
        text.len()
    } else {
        UnicodeWidthStr::width(text)
    }
}

fn pad(line: &mut String, n: usize) {
    line.extend(std::iter::repeat_n(' ', n));
}

fn push_trimmed(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

/// `(1 row)` or `(N rows)`.
pub fn footer(n: usize) -> String {
    if n == 1 {
        "(1 row)".into()
    } else {
        format!("({n} rows)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_psql() {
        let cols = [
            Column {
                name: "id".into(),
                numeric: true,
            },
            Column {
                name: "name".into(),
                numeric: false,
            },
        ];
        let rows = vec![
            vec![Some("1".into()), Some("alice".into())],
            vec![Some("22".into()), None],
        ];
        insta::assert_snapshot!(render(&cols, &rows));
    }

    #[test]
    fn batches_after_the_first_have_no_header() {
        let cols = [Column {
            name: "a\nb".into(),
            numeric: false,
        }];
        let rows = vec![vec![Some("x".into())], vec![Some("longer\nvalue".into())]];
        let first = batch(&cols, &rows, true);
        let next = batch(&cols, &rows, false);
        assert!(first.ends_with(&next), "{first}\n---\n{next}");
        assert_eq!(next, " x\n longer\n value\n");
        assert_eq!(batch(&cols, &[], false), "");
        assert_eq!(batch(&[], &rows, true), "");
    }

    /// The layout comfy-table draws with [`psql_table`], which [`batch`] must match.
    fn comfy(columns: &[Column], rows: &[Vec<Option<String>>]) -> String {
        let mut table = psql_table(columns.iter().map(|c| c.name.as_str()));
        for row in rows {
            table.add_row(
                row.iter().map(|v| {
                    Cell::new(super::super::escape::multi_line(v.as_deref().unwrap_or("")))
                }),
            );
        }
        for (i, c) in columns.iter().enumerate() {
            if let Some(col) = table.column_mut(i) {
                col.set_cell_alignment(if c.numeric {
                    CellAlignment::Right
                } else {
                    CellAlignment::Left
                });
            }
        }
        let mut out = String::new();
        for line in table.to_string().lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn draws_what_comfy_table_draws(
            names in proptest::collection::vec("[a-z é\n]{0,6}", 1..4),
            numeric in proptest::collection::vec(proptest::bool::ANY, 4),
            values in proptest::collection::vec(
                proptest::collection::vec(proptest::option::of("[a-zA-Z0-9 é日\n\t\u{1b}]{0,8}"), 4),
                0..6,
            ),
        ) {
            let columns: Vec<Column> = names
                .iter()
                .zip(&numeric)
                .map(|(n, &numeric)| Column { name: n.clone(), numeric })
                .collect();
            let rows: Vec<Vec<Option<String>>> = values
                .iter()
                .map(|r| r[..columns.len()].to_vec())
                .collect();
            proptest::prop_assert_eq!(batch(&columns, &rows, true), comfy(&columns, &rows));
        }
    }
}
