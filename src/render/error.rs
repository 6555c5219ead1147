//! Server errors and notices shown the way psql shows them: severity, SQLSTATE, message,
//! the statement line with a caret under the error position, then DETAIL, HINT and
//! CONTEXT, every field escaped.

use std::fmt::Write as _;

use tokio_postgres::error::{DbError, ErrorPosition};
use unicode_width::UnicodeWidthStr;

use super::escape;

/// One line for an error, with the server's SQLSTATE when there is one, escaped.
pub fn one_line(e: &tokio_postgres::Error) -> String {
    let s = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let _ = write!(s, ": {inner}");
                source = inner.source();
            }
            s
        }
    };
    escape::one_line(&s)
}

/// The fields of a server error or notice that psql shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields<'a> {
    /// `ERROR`, `NOTICE`, …
    pub severity: &'a str,
    /// The SQLSTATE.
    pub code: &'a str,
    /// The primary message.
    pub message: &'a str,
    /// The 1-based character position in the statement, if the server gave one.
    pub position: Option<u32>,
    /// DETAIL.
    pub detail: Option<&'a str>,
    /// HINT.
    pub hint: Option<&'a str>,
    /// CONTEXT.
    pub context: Option<&'a str>,
}

/// Where the server's error position points, relative to the statement the user typed.
/// The server counts characters of the text it was sent; pgward sometimes sends the
/// typed statement inside other text (COPY's wrapper in a SQL_ASCII database) or sends
/// a rewrite of it (a write's capture), and the caret must still point into what was
/// typed, as psql's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum At {
    /// The typed statement was sent as typed.
    #[default]
    Typed,
    /// The typed statement was sent after this many characters of pgward's own.
    After(u32),
    /// The position is in text the user did not type: no caret.
    Elsewhere,
}

impl At {
    /// The 1-based character position in the typed statement, if `db` has one there.
    pub fn position(self, db: &DbError, statement: &str) -> Option<u32> {
        let Some(ErrorPosition::Original(pos)) = db.position() else {
            return None;
        };
        match self {
            At::Typed => Some(*pos),
            At::After(n) => {
                // A position one past the end (the server's "at end of input") belongs
                // to the typed text too.
                let last = u32::try_from(statement.chars().count()).ok()? + 1;
                pos.checked_sub(n).filter(|p| (1..=last).contains(p))
            }
            At::Elsewhere => None,
        }
    }
}

/// psql's rendering of a server error or notice raised by `statement`.
pub fn db_error(db: &DbError, statement: &str) -> String {
    db_error_at(db, statement, At::Typed)
}

/// [`db_error`], the position taken [`At`] where the typed statement sat in what was sent.
pub fn db_error_at(db: &DbError, statement: &str, at: At) -> String {
    let position = at.position(db, statement);
    fields(
        &Fields {
            severity: db.severity(),
            code: db.code().code(),
            message: db.message(),
            position,
            detail: db.detail(),
            hint: db.hint(),
            context: db.where_(),
        },
        statement,
    )
}

/// psql's `\errverbose` (libpq's VERBOSE verbosity, context always shown): severity,
/// SQLSTATE and message, the caret, DETAIL, HINT, QUERY, CONTEXT, then the names the
/// server attached (schema, table, column, data type, constraint) and LOCATION.
pub fn verbose(db: &DbError, statement: &str, at: At) -> String {
    let position = at.position(db, statement);
    let mut out = fields(
        &Fields {
            severity: db.severity(),
            code: db.code().code(),
            message: db.message(),
            position,
            detail: db.detail(),
            hint: db.hint(),
            context: None,
        },
        statement,
    );
    let internal = match db.position() {
        Some(ErrorPosition::Internal { query, .. }) => Some(query.as_str()),
        _ => None,
    };
    for (label, value) in [
        ("QUERY", internal),
        ("CONTEXT", db.where_()),
        ("SCHEMA NAME", db.schema()),
        ("TABLE NAME", db.table()),
        ("COLUMN NAME", db.column()),
        ("DATATYPE NAME", db.datatype()),
        ("CONSTRAINT NAME", db.constraint()),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{label}:  {}", escape::multi_line(v));
        }
    }
    if db.routine().is_some() || db.file().is_some() {
        out.push_str("LOCATION:  ");
        if let Some(f) = db.routine() {
            let _ = write!(out, "{}, ", escape::one_line(f));
        }
        if let (Some(file), Some(line)) = (db.file(), db.line()) {
            let _ = write!(out, "{}:{line}", escape::one_line(file));
        }
        out.push('\n');
    }
    out
}

/// psql's rendering of `f`, raised by `statement`: every field escaped (the message,
/// DETAIL, HINT and CONTEXT may span lines; severity and SQLSTATE may not), and the
/// statement's line under `LINE n:` on one line, the caret under the escaped text.
pub fn fields(f: &Fields<'_>, statement: &str) -> String {
    let mut out = format!(
        "{}:  {}: {}\n",
        escape::one_line(f.severity),
        escape::one_line(f.code),
        escape::multi_line(f.message)
    );
    if let Some(pos) = f.position {
        out.push_str(&caret(statement, pos as usize));
    }
    for (label, value) in [
        ("DETAIL", f.detail),
        ("HINT", f.hint),
        ("CONTEXT", f.context),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{label}:  {}", escape::multi_line(v));
        }
    }
    out
}

/// `LINE n: <text>` and a caret under the 1-based character `pos` of `statement`; the
/// line is escaped, and the caret counts the escaped width.
fn caret(statement: &str, pos: usize) -> String {
    let pos = pos.saturating_sub(1);
    let mut line_no = 1;
    let mut line_start_char = 0;
    for (i, c) in statement.chars().enumerate() {
        if i >= pos {
            break;
        }
        if c == '\n' {
            line_no += 1;
            line_start_char = i + 1;
        }
    }
    let line: String = statement
        .chars()
        .skip(line_start_char)
        .take_while(|c| *c != '\n')
        .collect();
    let before: String = line
        .chars()
        .take(pos.saturating_sub(line_start_char))
        .collect();
    let prefix = format!("LINE {line_no}: ");
    let col = UnicodeWidthStr::width(escape::one_line(&before).as_str());
    format!(
        "{prefix}{}\n{}^\n",
        escape::one_line(&line),
        " ".repeat(prefix.chars().count() + col)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn caret_on_second_line() {
        let s = super::caret("select 1,\n  nope from t", 13);
        assert_eq!(s, "LINE 2:   nope from t\n          ^\n");
    }

    #[test]
    fn caret_past_end_does_not_panic() {
        let s = super::caret("x", 99);
        assert!(s.starts_with("LINE 1: x"));
    }

    #[test]
    fn caret_under_escaped_text() {
        let s = super::caret("select '\u{1b}[2J', nope", 16);
        let (line, caret) = s.split_once('\n').expect("two lines");
        assert_eq!(line, "LINE 1: select '\\x1b[2J', nope");
        assert_eq!(caret.find('^'), line.find("nope"));
    }
}
