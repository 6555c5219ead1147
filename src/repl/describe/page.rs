//! One describe result as psql prints it (`printTable` in the aligned format): a title
//! centred over the table, the table, then either footers (`Indexes:` and the lines under
//! it) or the `(N rows)` count, and a blank line. The table is the one every result uses
//! ([`crate::render::table::Grid`]), so cells are escaped and measured the same way; the
//! title and every footer line are escaped to their own lines ([`escape::one_line`]), so
//! a name or a definition from the server cannot forge a line of the layout.

use crate::render::escape;
use crate::render::print::{self, Part, Target};
use crate::render::pset::Pset;
use crate::render::table::Column;
use crate::session::Io;

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
    /// Whether `\x` expands the page. psql's describeOneTableDetails turns expanded
    /// display off for a table's or an index's page ("This output looks confusing in
    /// expanded mode") but not for a sequence's; listings follow `\x`.
    pub expandable: bool,
}

impl Page {
    /// The title and the footers as the printer gets them: each escaped to one line
    /// (a name or a definition from the server cannot forge a line of the layout),
    /// footers trimmed at the end; `None` for a listing's `(N rows)` default.
    fn printable(&self) -> (Option<String>, Option<Vec<String>>) {
        let title = Some(escape::one_line(&self.title)).filter(|t| !t.is_empty());
        let own = !self.count || !self.footers.is_empty();
        let footers = own.then(|| {
            self.footers
                .iter()
                .map(|f| escape::one_line(f).trim_end().to_string())
                .collect()
        });
        (title, footers)
    }

    /// Draws the page where results go, as psql's `printTable` does with the user's
    /// `\pset` (format, border, `\x`, null, tuples only) and the page's title.
    pub fn draw(&self, io: &mut Io) {
        let (title, footers) = self.printable();
        let never = self.never_expanded();
        io.result_page(title, &self.columns, &self.rows, footers.as_deref(), never);
    }

    fn never_expanded(&self) -> bool {
        !self.count && !self.expandable
    }

    /// The page as [`Page::draw`] prints it with `pset` (no terminal, no pager).
    pub fn render(&self, pset: &Pset) -> String {
        let (title, footers) = self.printable();
        let mut pset = pset.clone();
        pset.title = title;
        pset.null.clear();
        if self.never_expanded() {
            pset.expanded = crate::render::pset::Expanded::Off;
        }
        let target = Target {
            pset: &pset,
            columns: 0,
            force_expanded: false,
            footers: footers.as_deref(),
        };
        escape::multi_line(&print::table(
            &self.columns,
            &self.rows,
            target,
            Part::WHOLE,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(page: &Page, pset: &Pset) -> String {
        page.render(pset)
    }

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
            expandable: false,
        };
        assert_eq!(
            drawn(&page, &Pset::default()),
            " Table \"public.t\"\n Column |  Type   \n--------+---------\n id     | integer\n\
             Indexes:\n    \"t_pkey\" PRIMARY KEY, btree (id)\n\n"
        );
        // psql never expands a describe page.
        let mut expanded = Pset::default();
        expanded.set("expanded", Some("on")).expect("\\x");
        assert_eq!(drawn(&page, &expanded), drawn(&page, &Pset::default()));
        let listing = Page {
            title: "T".into(),
            count: true,
            footers: Vec::new(),
            ..page
        };
        assert_eq!(
            drawn(&listing, &Pset::default()),
            "        T\n Column |  Type   \n--------+---------\n id     | integer\n(1 row)\n\n"
        );
    }
}
