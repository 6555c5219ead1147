//! Where a buffer ends, lexically: in plain SQL, inside parentheses, a quote, a dollar
//! quote or a comment. psql needs this twice: a backslash starts a meta-command and a
//! `:name` is a variable only in plain SQL (parentheses included), and the continuation
//! prompt shows the state (`-`, `(`, `'`, `"`, `$`, `*`).
//!
//! There is one SQL lexer in pgward, the splitter ([`crate::sql::split`]); this module asks
//! it rather than lexing again. It appends a probe to the buffer and asks whether the
//! probe ends the statement: `" ;"` does so only in plain SQL; `)…);` also inside
//! parentheses (an extra `)` is harmless to the splitter); a closing `'`, `"` or `*/`
//! before that tells which quote or comment the buffer ends in. What nothing closes is a
//! dollar quote (or a `BEGIN ATOMIC` body, which psql also lexes as plain SQL).

use crate::sql;

/// The lexical state at the end of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Plain SQL outside parentheses.
    Plain,
    /// Plain SQL inside parentheses (or a `BEGIN ATOMIC` body).
    Paren,
    /// Inside a single-quoted string.
    Single,
    /// Inside a double-quoted identifier.
    Double,
    /// Inside a `/* */` comment.
    Comment,
    /// Inside a `--` comment (only mid-line).
    LineComment,
    /// Inside a dollar quote.
    Dollar,
}

impl Context {
    /// True where psql sees backslash commands and variables.
    pub fn is_code(self) -> bool {
        matches!(self, Context::Plain | Context::Paren)
    }

    /// psql's `%R` character of the continuation prompt.
    pub fn prompt_char(self) -> char {
        match self {
            Context::Plain => '-',
            Context::Paren => '(',
            Context::Single => '\'',
            Context::Double => '"',
            Context::Comment | Context::LineComment => '*',
            Context::Dollar => '$',
        }
    }
}

/// Closes any parentheses the buffer has open, then ends the statement.
const CLOSE_PARENS: &str = " ))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))));";

/// The lexical state at the end of `buffer`.
pub fn at_end(buffer: &str) -> Context {
    let ends = |probe: &str| {
        let mut text = String::with_capacity(buffer.len() + probe.len());
        text.push_str(buffer);
        text.push_str(probe);
        sql::split(&text).rest.is_none()
    };
    if ends(" ;") {
        Context::Plain
    } else if ends(CLOSE_PARENS) {
        Context::Paren
    } else if ends(&format!("'{CLOSE_PARENS}")) {
        Context::Single
    } else if ends(&format!("\"{CLOSE_PARENS}")) {
        Context::Double
    } else if ends(&format!("*/{CLOSE_PARENS}")) {
        Context::Comment
    } else if ends(&format!("\n{CLOSE_PARENS}")) {
        Context::LineComment
    } else {
        Context::Dollar
    }
}

#[cfg(test)]
mod tests {
    use super::{at_end, Context};

    #[test]
    fn states_as_psql_lexes_them() {
        assert_eq!(at_end(""), Context::Plain);
        assert_eq!(at_end("select 1 "), Context::Plain);
        assert_eq!(at_end("select 1; select 2"), Context::Plain);
        assert_eq!(at_end("select (1 + "), Context::Paren);
        assert_eq!(at_end("select f((1"), Context::Paren);
        assert_eq!(at_end("select 'a"), Context::Single);
        assert_eq!(at_end("select ('a"), Context::Single);
        assert_eq!(at_end("select 'it''s"), Context::Single);
        assert_eq!(at_end("select \"a"), Context::Double);
        assert_eq!(at_end("select /* a"), Context::Comment);
        assert_eq!(at_end("select 1 -- a"), Context::LineComment);
        assert_eq!(at_end("select 1 -- a\n"), Context::Plain);
        assert_eq!(at_end("select $$a"), Context::Dollar);
        assert_eq!(at_end("select $q$a $$ "), Context::Dollar);
        assert_eq!(at_end("select $1 "), Context::Plain);
        assert_eq!(at_end("select 'a' "), Context::Plain);
    }
}
