//! COPY's two data formats, written on the client for `\copy … TO`: `text` (tab between
//! fields, `\N` for NULL, backslash escapes) and `csv` (quoted where needed, NULL as an
//! unquoted empty field, so an empty string is `""`), with an optional header line. The
//! values are PostgreSQL's own text output, the same the server's COPY writes.

use super::table::Column;

/// How `\copy` writes its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    /// `FORMAT csv` (else text).
    pub csv: bool,
    /// `HEADER`: the column names first.
    pub header: bool,
    /// `DELIMITER`: tab for text, comma for csv.
    pub delimiter: char,
    /// `NULL`: `\N` for text, empty for csv.
    pub null: String,
}

impl CopyFormat {
    /// COPY's defaults for the text (`csv` false) or csv format.
    pub fn new(csv: bool) -> CopyFormat {
        CopyFormat {
            csv,
            header: false,
            delimiter: if csv { ',' } else { '\t' },
            null: if csv { String::new() } else { "\\N".into() },
        }
    }

    /// The header line, newline included.
    pub fn header_line(&self, columns: &[Column]) -> String {
        let mut out = String::new();
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            if self.csv {
                csv_field(&mut out, &c.name, self.delimiter, &self.null, false);
            } else {
                text_field(&mut out, &c.name, self.delimiter);
            }
        }
        out.push('\n');
        out
    }

    /// `rows` as COPY data lines.
    pub fn rows(&self, rows: &[Vec<Option<String>>], out: &mut String) {
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    out.push(self.delimiter);
                }
                match value {
                    None => out.push_str(&self.null),
                    Some(v) if self.csv => csv_field(out, v, self.delimiter, &self.null, i == 0),
                    Some(v) => text_field(out, v, self.delimiter),
                }
            }
            out.push('\n');
        }
    }
}

/// COPY's text format: backslash, newline, carriage return, tab, backspace, form feed,
/// vertical tab and the delimiter escaped with a backslash.
fn text_field(out: &mut String, v: &str, delimiter: char) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' if delimiter == '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// COPY's csv format: quoted when the value holds the delimiter, a quote, CR or LF,
/// equals the NULL string, or (first column) is `\.`; quotes doubled.
fn csv_field(out: &mut String, v: &str, delimiter: char, null: &str, first: bool) {
    let quote = v.contains(delimiter)
        || v.contains(['"', '\r', '\n'])
        || v == null
        || (first && v == "\\.");
    if !quote {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_csv_as_copy_writes_them() {
        let rows = vec![
            vec![Some("a\tb\\c\nd".into()), None, Some(String::new())],
            vec![
                Some("\\.".into()),
                Some("q\"x,y".into()),
                Some("NULL".into()),
            ],
        ];
        let mut text = String::new();
        CopyFormat::new(false).rows(&rows, &mut text);
        assert_eq!(text, "a\\tb\\\\c\\nd\t\\N\t\n\\\\.\tq\"x,y\tNULL\n");
        let mut csv = String::new();
        CopyFormat::new(true).rows(&rows, &mut csv);
        assert_eq!(csv, "\"a\tb\\c\nd\",,\"\"\n\"\\.\",\"q\"\"x,y\",NULL\n");
    }
}
