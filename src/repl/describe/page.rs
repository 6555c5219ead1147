//! One describe result as psql prints it (`printTable` in the aligned format): a title
//! centred over the table, the table, then either footers (`Indexes:` and the lines under
//! it) or the `(N rows)` count, and a blank line. The table is the one every result uses
//! ([`crate::render::table::Grid`]), so cells are escaped and measured the same way; the
//! title and every footer line are escaped to their own lines ([`escape::one_line`]), so
//! a name or a definition from the server cannot forge a line of the layout.

use unicode_width::UnicodeWidthStr;

use crate::render::escape;
use crate::render::table::{footer, Cell, Column, Grid};

/// A titled table with footers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Centred above the table.
    pub title: String,
    /// The table's columns.
    pub columns: Vec<Column>,
    /// Its rows, as text; `None` is NULL, shown empty.
    pub rows: Vec<Vec<Option<String>>>,
    /// Lines under the table, one each: a newline inside one is shown escaped, so a
    /// name cannot forge a footer line.
    pub footers: Vec<String>,
    /// Whether `(N rows)` follows the table (listings); describe pages have footers.
    pub count: bool,
}

impl Page {
    /// The page as psql draws it, ending in the blank line psql leaves after a table.
    pub fn render(&self) -> String {
        let mut grid = Grid::new(&self.columns);
        for row in &self.rows {
            grid.row(
                row.iter()
                    .map(|v| Cell::text(v.as_deref().unwrap_or("")))
                    .collect(),
            );
        }
        let table = grid.text().to_string();
        // psql centres the title over the table's full width, its rule's.
        let width = table.lines().nth(1).map_or(0, UnicodeWidthStr::width);
        let title = escape::one_line(&self.title);
        let mut out = String::new();
        if !title.is_empty() {
            let pad = width.saturating_sub(title.width()) / 2;
            out.push_str(&" ".repeat(pad));
            out.push_str(&title);
            out.push('\n');
        }
        out.push_str(&table);
        for f in &self.footers {
            out.push_str(escape::one_line(f).trim_end());
            out.push('\n');
        }
        if self.count {
            out.push_str(&footer(self.rows.len()));
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_centred_and_footers_follow() {
        let page = Page {
            title: "Table \"public.t\"".into(),
            columns: vec![Column::text("Column"), Column::text("Type")],
            rows: vec![vec![Some("id".into()), Some("integer".into())]],
            footers: vec![
                "Indexes:".into(),
                "    \"t_pkey\" PRIMARY KEY, btree (id)".into(),
            ],
            count: false,
        };
        assert_eq!(
            page.render(),
            " Table \"public.t\"\n Column |  Type\n--------+---------\n id     | integer\n\
             Indexes:\n    \"t_pkey\" PRIMARY KEY, btree (id)\n\n"
        );
        let page = Page {
            title: "T".into(),
            count: true,
            footers: vec!["a\u{1b}[2J\nb".into(), "c".into()],
            ..page
        };
        assert_eq!(
            page.render(),
            "        T\n Column |  Type\n--------+---------\n id     | integer\n\
             a\\x1b[2J\\nb\nc\n(1 row)\n\n"
        );
    }
}
