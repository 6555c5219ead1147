//! Result tables drawn as psql's aligned format draws them: no outer border, `|` between
//! columns, a dashed rule under centred headers, numbers right-aligned, NULL shown empty,
//! a value's further lines marked with `+` at the end of the line before, and a
//! `(N rows)` footer: pgward's own tables (diffs, previews). Query results are drawn by
//! [`super::print`] with psql's printing options.
//!
//! Every header and every line of every cell is escaped ([`escape::one_line`]) before it
//! is measured, so widths are true and no value can drive the terminal or forge a row:
//! a newline in a value is drawn as psql draws it, a continuation line behind a `+`.

use unicode_width::UnicodeWidthStr;

use super::escape;
use super::text::{Paint, Text};

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// True for the types psql right-aligns (`column_type_alignment`: the integer,
    /// float and numeric types, oid, xid, xid8, cid and money).
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
            Type::XID,
            Type::XID8,
            Type::CID,
            Type::MONEY,
        ]
        .contains(ty);
        Column {
            name: name.into(),
            numeric,
        }
    }

    /// A left-aligned column.
    pub fn text(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            numeric: false,
        }
    }
}

/// One cell: its lines, each a run of painted pieces, already escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    lines: Vec<Vec<(String, Paint)>>,
}

impl Cell {
    /// A value; each of its lines becomes a line of the cell.
    pub fn text(value: &str) -> Cell {
        Cell {
            lines: value
                .split('\n')
                .map(|line| vec![(escape::one_line(line), Paint::Plain)])
                .collect(),
        }
    }

    /// One line of painted pieces (a diff's `old → new`).
    pub fn pieces<S: AsRef<str>>(pieces: impl IntoIterator<Item = (S, Paint)>) -> Cell {
        Cell {
            lines: vec![pieces
                .into_iter()
                .map(|(s, paint)| (escape::one_line(s.as_ref()), paint))
                .collect()],
        }
    }

    fn width(&self, line: usize) -> usize {
        self.lines.get(line).map_or(0, |pieces| {
            pieces.iter().map(|(s, _)| s.width()).sum::<usize>()
        })
    }
}

/// A table in psql's aligned layout.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<Cell>>,
}

impl Grid {
    /// An empty table with these columns.
    pub fn new(columns: &[Column]) -> Grid {
        Grid {
            headers: columns.iter().map(|c| escape::one_line(&c.name)).collect(),
            right: columns.iter().map(|c| c.numeric).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Grid {
        self.rows.push(cells);
        self
    }

    /// Header, rule and rows, each line ending in a newline, trailing blanks trimmed.
    pub fn text(&self) -> Text {
        let n = self.headers.len();
        let mut out = Text::new();
        if n == 0 {
            return out;
        }
        let widths: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .flat_map(|row| {
                        let c = cell(row, i);
                        (0..c.lines.len()).map(move |l| c.width(l))
                    })
                    .chain([self.headers[i].width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();

        let mut header = String::new();
        for (i, h) in self.headers.iter().enumerate() {
            let pad = widths[i] - h.width();
            // psql puts the odd blank on the right.
            let (left, right) = (pad / 2, pad - pad / 2);
            header.push_str(&format!(" {}{h}{} ", " ".repeat(left), " ".repeat(right)));
            if i + 1 < n {
                header.push('|');
            }
        }
        out.line(header.trim_end());
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        out.line(rule.join("+"));

        for row in &self.rows {
            let height = (0..n).map(|i| cell(row, i).lines.len()).max().unwrap_or(0);
            for l in 0..height.max(1) {
                let mut line = Text::new();
                for (i, (width, right)) in widths.iter().zip(&self.right).enumerate() {
                    let c = cell(row, i);
                    let pad = " ".repeat(width - c.width(l));
                    line.push(" ");
                    if *right {
                        line.push(pad.as_str());
                    }
                    for (s, paint) in c.lines.get(l).into_iter().flatten() {
                        line.push_painted(s.as_str(), *paint);
                    }
                    if !right {
                        line.push(pad);
                    }
                    line.push(if l + 1 < c.lines.len() { "+" } else { " " });
                    if i + 1 < n {
                        line.push("|");
                    }
                }
                out.append(line.trim_end()).push("\n");
            }
        }
        out
    }
}

/// Cell `i` of `row`, empty when the row is short.
fn cell(row: &[Cell], i: usize) -> &Cell {
    static EMPTY: Cell = Cell { lines: Vec::new() };
    row.get(i).unwrap_or(&EMPTY)
}

/// Renders rows as text, including the row-count footer and a final newline.
pub fn render(columns: &[Column], rows: &[Vec<Option<String>>]) -> String {
    let mut grid = Grid::new(columns);
    for row in rows {
        grid.row(
            row.iter()
                .map(|v| Cell::text(v.as_deref().unwrap_or("")))
                .collect(),
        );
    }
    let mut out = grid.text().to_string();
    out.push_str(&footer(rows.len()));
    out.push('\n');
    out
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
            Column::text("name"),
        ];
        let rows = vec![
            vec![Some("1".into()), Some("alice".into())],
            vec![Some("22".into()), None],
        ];
        insta::assert_snapshot!(render(&cols, &rows));
    }

    #[test]
    fn continuation_lines_like_psql_and_nothing_raw() {
        let cols = [Column::text("a\u{1b}[2J"), Column::text("b")];
        let rows = vec![
            vec![Some("x\ny\u{202e}".into()), Some("1".into())],
            vec![Some("z".into()), Some("p\nq".into())],
        ];
        insta::assert_snapshot!(render(&cols, &rows), @r"
         a\x1b[2J  | b
        -----------+---
         x        +| 1
         y\u{202e} |
         z         | p+
                   | q
        (2 rows)
        ");
    }

    #[test]
    fn wide_characters_align() {
        let cols = [Column::text("名前"), Column::text("n")];
        let rows = vec![vec![Some("日本".into()), Some("1".into())]];
        assert_eq!(
            render(&cols, &rows),
            " 名前 | n\n------+---\n 日本 | 1\n(1 row)\n"
        );
    }
}
