//! Rows of a SQL_ASCII database, which may hold bytes that are not UTF-8 (Latin-1 text
//! written by an old application, say). PostgreSQL does not convert from SQL_ASCII, so
//! pgward sets `client_encoding = SQL_ASCII` there and the server sends the stored bytes;
//! the byte bridge ([`crate::conn::bridge`]) shows those that are not UTF-8 as `\xe9`
//! wherever they are, and counts them per connection. That count says only that
//! something of a statement's answer was escaped. The rows of a statement that returns
//! columns come as COPY's text instead, `COPY (statement) TO STDOUT (ENCODING
//! 'SQL_ASCII')` (CopyData, which the bridge never touches), so that each value says
//! whether it was escaped: a capture of rows that are UTF-8 stays exact even when
//! another value of the answer is not, and `\copy` counts the values it could only
//! escape. Each value is decoded here, its bytes that are not UTF-8 shown as `\xe9`
//! ([`crate::render::escape::bytes`]); a read never fails over them.
//!
//! The statement was prepared on its own before (so the server proved it is one
//! statement, and named and typed its columns); [`wrap`] uses COPY only where PostgreSQL's
//! own parser reads the wrapped text as exactly one `COPY (query) TO STDOUT`. Statements
//! COPY cannot run (SHOW, EXPLAIN, FETCH, a CALL with results) go through the simple
//! query protocol as everywhere else, and so do those the server refuses inside COPY
//! only once it has rewritten them (0A000: a table's DO ALSO rule, say), under a
//! savepoint that undoes the refusal (`exec::copy_or_not`).
//!
//! COPY's text format escapes backslash, tab, newline and carriage return inside values,
//! so a line is a row and a tab ends a field; `\N` is NULL. A line that does not hold one
//! field per column is refused ([`Malformed`]): PostgreSQL never sends one.

use pg_query::NodeEnum;

use crate::preview::images::RowFields;
use crate::render::escape;

/// COPY's data did not have the shape of the result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server's COPY data for row {row} has {found} fields for {columns} columns, so the rows cannot be read")]
pub struct Malformed {
    /// The row, from 1.
    pub row: u64,
    /// Fields found.
    pub found: usize,
    /// Columns of the result.
    pub columns: usize,
}

/// What [`wrap`] puts before the statement; the server's error positions count it.
pub const PREFIX: &str = "COPY (";

/// `COPY (sql) TO STDOUT (ENCODING 'SQL_ASCII')`, if PostgreSQL's parser reads that as
/// exactly one COPY of a query to the client; `None` when COPY cannot run `sql`. The
/// newline before `)` ends a trailing `--` comment.
pub fn wrap(sql: &str) -> Option<String> {
    let copy = format!("{PREFIX}{sql}\n) TO STDOUT (ENCODING 'SQL_ASCII')");
    let parsed = pg_query::parse(&copy, 0).ok()?;
    let [raw] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    match raw.stmt.as_ref()?.node.as_ref()? {
        NodeEnum::CopyStmt(c)
            if c.query.is_some()
                && !c.is_from
                && !c.is_program
                && c.filename.is_empty()
                && c.relation.is_none() =>
        {
            Some(copy)
        }
        _ => None,
    }
}

/// One row of COPY's data.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// One value per column; `None` is NULL.
    pub values: Vec<Option<String>>,
    /// The columns whose value held bytes that are not UTF-8, now shown as `\xe9`.
    pub escaped: Vec<usize>,
}

/// Splits COPY's data into rows as it arrives, in chunks of any size. Each byte is
/// looked at once for the line end, however many chunks a long line comes in:
/// `scanned` remembers how far the unfinished line was searched.
#[derive(Debug)]
pub struct Decoder {
    columns: usize,
    pending: Vec<u8>,
    scanned: usize,
    rows: u64,
}

impl Decoder {
    /// A decoder for a result of `columns` columns.
    pub fn new(columns: usize) -> Decoder {
        Decoder {
            columns,
            pending: Vec::new(),
            scanned: 0,
            rows: 0,
        }
    }

    /// The rows that `chunk` completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Decoded>, Malformed> {
        self.pending.extend_from_slice(chunk);
        let mut rows = Vec::new();
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(end) = self.pending[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|at| from + at - start)
        {
            let line = &self.pending[start..start + end];
            self.rows += 1;
            let mut row = Decoded::default();
            for (index, raw) in line.split(|&b| b == b'\t').enumerate() {
                let (value, exact) = field(raw);
                if !exact {
                    row.escaped.push(index);
                }
                row.values.push(value);
            }
            if row.values.len() != self.columns {
                return Err(Malformed {
                    row: self.rows,
                    found: row.values.len(),
                    columns: self.columns,
                });
            }
            rows.push(row);
            start += end + 1;
            from = start;
        }
        self.pending.drain(..start);
        self.scanned = self.pending.len();
        Ok(rows)
    }

    /// Checks that nothing is left over once the data ended.
    pub fn finish(self) -> Result<u64, Malformed> {
        if self.pending.is_empty() {
            return Ok(self.rows);
        }
        Err(Malformed {
            row: self.rows + 1,
            found: self.pending.split(|&b| b == b'\t').count(),
            columns: self.columns,
        })
    }
}

/// One field of COPY's text: `\N` is NULL, escapes are undone, and bytes that are not
/// UTF-8 are shown as `\xe9`; `false` when there were such bytes.
fn field(raw: &[u8]) -> (Option<String>, bool) {
    if raw == b"\\N" {
        return (None, true);
    }
    if !raw.contains(&b'\\') {
        return text(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(e) = bytes.next() else {
            out.push(b'\\');
            break;
        };
        match e {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                // Up to three octal digits, as COPY FROM reads them.
                let mut value = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' if bytes.peek().is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u8;
                for _ in 0..2 {
                    match bytes.peek().and_then(|&d| (d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d as u8;
                            bytes.next();
                        }
                        None => break,
                    }
                }
                out.push(value);
            }
            other => out.push(other),
        }
    }
    text(&out)
}

/// The value of unescaped bytes, and whether they were UTF-8.
fn text(bytes: &[u8]) -> (Option<String>, bool) {
    let shown = escape::bytes(bytes);
    let exact = matches!(shown, std::borrow::Cow::Borrowed(_));
    (Some(shown.into_owned()), exact)
}

/// A row decoded from COPY's text, with the column names the prepared statement gave.
pub struct CopiedRow<'a> {
    /// Column names, one per value.
    pub names: &'a [String],
    /// The values; `None` is NULL.
    pub values: &'a [Option<String>],
    /// The columns whose value is shown escaped ([`Decoded::escaped`]).
    pub escaped: &'a [usize],
}

impl RowFields for CopiedRow<'_> {
    fn width(&self) -> usize {
        self.values.len()
    }

    fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    fn text(&self, index: usize) -> Option<Option<&str>> {
        self.values.get(index).map(Option::as_deref)
    }

    fn exact(&self, index: usize) -> bool {
        !self.escaped.contains(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_whole_whatever_the_chunks() {
        let data = b"1\tcaf\xe9\n2\t\\N\n3\ta\\\\b\\tc\\nd\n4\t\n";
        for size in [1, 2, 5, data.len()] {
            let mut decoder = Decoder::new(2);
            let mut rows = Vec::new();
            let mut escaped = Vec::new();
            for chunk in data.chunks(size) {
                for row in decoder.push(chunk).unwrap() {
                    rows.push(row.values);
                    escaped.push(row.escaped);
                }
            }
            assert_eq!(escaped, vec![vec![1], vec![], vec![], vec![]]);
            assert_eq!(decoder.finish(), Ok(4));
            let s = |v: &str| Some(v.to_string());
            assert_eq!(
                rows,
                vec![
                    vec![s("1"), s("caf\\xe9")],
                    vec![s("2"), None],
                    vec![s("3"), s("a\\b\tc\nd")],
                    vec![s("4"), s("")],
                ]
            );
        }
    }

    #[test]
    fn escapes_are_undone_before_bytes_are_shown() {
        assert_eq!(
            field(b"\\351t\\xe9\\x41"),
            (Some("\\xe9t\\xe9A".into()), false)
        );
        assert_eq!(field("café".as_bytes()), (Some("café".into()), true));
        assert_eq!(field(b"\\\\N"), (Some("\\N".into()), true));
        assert_eq!(field(b"\\N"), (None, true));
        assert_eq!(field(b"a\\"), (Some("a\\".into()), true));
    }

    #[test]
    fn a_line_of_another_shape_is_refused() {
        let mut decoder = Decoder::new(2);
        assert_eq!(
            decoder.push(b"1\t2\t3\n"),
            Err(Malformed {
                row: 1,
                found: 3,
                columns: 2
            })
        );
        let mut decoder = Decoder::new(2);
        assert_eq!(decoder.push(b"1\t2"), Ok(vec![]));
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn only_a_copy_of_one_query_is_used() {
        assert_eq!(
            wrap("select 1 -- note").as_deref(),
            Some("COPY (select 1 -- note\n) TO STDOUT (ENCODING 'SQL_ASCII')")
        );
        assert!(wrap("update t set a = 1 returning a").is_some());
        assert!(wrap("show work_mem").is_none());
        assert!(wrap("explain select 1").is_none());
        assert!(wrap("fetch 1 from c").is_none());
        assert!(wrap("select 1) to stdout; select (1").is_none());
        assert!(wrap("select 1) to '/tmp/x' --").is_none());
    }
}
