//! Server errors and notices shown the way psql shows them: severity, SQLSTATE, message,
//! the statement line with a caret under the error position, then DETAIL, HINT and
//! CONTEXT.

use std::fmt::Write as _;

use tokio_postgres::error::{DbError, ErrorPosition};

/// One line for an error, with the server's SQLSTATE when there is one.
pub fn one_line(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
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
    }
}

/// psql's rendering of a server error or notice raised by `statement`.
pub fn db_error(db: &DbError, statement: &str) -> String {
    let mut out = format!(
        "{}:  {}: {}\n",
        db.severity(),
        db.code().code(),
        db.message()
    );
    if let Some(ErrorPosition::Original(pos)) = db.position() {
        out.push_str(&caret(statement, *pos as usize));
    }
    for (label, value) in [
        ("DETAIL", db.detail()),
        ("HINT", db.hint()),
        ("CONTEXT", db.where_()),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "{label}:  {v}");
        }
    }
    out
}

/// `LINE n: <text>` and a caret under the 1-based character `pos` of `statement`.
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
    let prefix = format!("LINE {line_no}: ");
    let col = pos.saturating_sub(line_start_char);
    format!(
        "{prefix}{line}\n{}^\n",
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
}
