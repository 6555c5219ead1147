//! Result tables drawn as psql draws them: no outer border, `|` between columns, a
//! dashed rule under centred headers, numbers right-aligned, NULL shown empty, and a
//! `(N rows)` footer.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

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
    let mut table = psql_table(columns.iter().map(|c| c.name.as_str()));
    for row in rows {
        table.add_row(
            row.iter()
                .map(|v| Cell::new(super::escape::multi_line(v.as_deref().unwrap_or("")))),
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
    if !columns.is_empty() {
        for line in table.to_string().lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
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
}
