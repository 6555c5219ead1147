//! The query buffer: the SQL read so far that no statement has been sent from yet, with
//! the splitter's lexer ([`Lexer`]) standing at its end. Every byte appended is lexed
//! once, as it is appended, so the questions psql's main loop asks after every piece of
//! a line (is this backslash or `:name` in plain SQL? which statements did the line
//! complete? which prompt comes next?) cost nothing however long the open statement has
//! grown: a 5,000-line function body read line by line is lexed once, not once per line
//! or per `:`.

use crate::sql::split::{Context, Event, Lexer, Piece};

/// The query buffer and the lexer's state at its end.
#[derive(Debug, Default)]
pub struct Buffer {
    text: String,
    lexer: Lexer,
    /// The statements `text` completes, in order (those holding more than comments).
    complete: Vec<Piece>,
}

/// A complete statement taken off the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// What is sent: the statement with its `;` and what follows up to the next one.
    pub text: String,
    /// The statement alone, trimmed, without its `;` (what `\p` and `\g` show next).
    pub statement: String,
}

impl Buffer {
    /// The text of the buffer.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the buffer holds nothing but white space. (Only from the front: white
    /// space does not pile up there, so the question does not grow with the buffer.)
    pub fn is_blank(&self) -> bool {
        self.text.trim_start().is_empty()
    }

    /// Appends `s` and lexes it.
    pub fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
        while let Some(event) = self.lexer.next(&self.text, false) {
            if let Event::End(end) = event {
                if end.content {
                    self.complete
                        .extend(crate::sql::split::piece(&self.text, end.start, end.semi));
                }
            }
        }
    }

    /// Where the buffer ends: in plain SQL, a quote, a dollar quote or a comment.
    pub fn context(&self) -> Context {
        self.lexer.context()
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        *self = Buffer::default();
    }

    /// Takes the statements the buffer completes off its front, in order, each with the
    /// text up to the next one; the open statement stays (whatever follows the last `;`
    /// when that is only white space and comments goes with the last statement). A
    /// buffer of white space only is emptied.
    pub fn take_complete(&mut self) -> Vec<Ready> {
        if self.complete.is_empty() {
            if self.lexer.open_from().is_none() && self.is_blank() {
                self.clear();
            }
            return Vec::new();
        }
        let end = self.lexer.open_from().unwrap_or(self.text.len());
        let pieces = std::mem::take(&mut self.complete);
        let mut ready = Vec::with_capacity(pieces.len());
        let mut from = 0;
        for (k, piece) in pieces.iter().enumerate() {
            let to = pieces.get(k + 1).map_or(end, |next| next.start);
            ready.push(Ready {
                text: self.text.get(from..to).unwrap_or_default().to_string(),
                statement: piece.text.clone(),
            });
            from = to;
        }
        self.text.drain(..end);
        self.lexer.rebase(end);
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(b: &mut Buffer) -> Vec<String> {
        b.take_complete().into_iter().map(|r| r.text).collect()
    }

    #[test]
    fn statements_leave_as_they_complete_and_the_open_one_stays() {
        let mut b = Buffer::default();
        b.push_str("select 1; select 'a\n");
        assert_eq!(sent(&mut b), ["select 1; "]);
        assert_eq!(b.as_str(), "select 'a\n");
        assert_eq!(b.context(), Context::Single);
        b.push_str("b'; -- done\n");
        assert_eq!(sent(&mut b), ["select 'a\nb'; -- done\n"]);
        assert_eq!(b.as_str(), "");
        b.push_str("  \n");
        assert!(sent(&mut b).is_empty());
        assert_eq!(b.as_str(), "", "white space alone is dropped");
        b.push_str("; ;\n");
        assert!(sent(&mut b).is_empty());
        b.push_str("  select $f$ ; $f$; select (1;\n");
        assert_eq!(sent(&mut b), ["; ;\n  select $f$ ; $f$; "]);
        assert_eq!(b.as_str(), "select (1;\n");
        assert_eq!(b.context(), Context::Paren);
        b.push_str(");");
        let ready = b.take_complete();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].statement, "select (1;\n)");
    }

    #[test]
    fn a_dollar_quote_open_across_a_sent_statement_still_closes() {
        let mut b = Buffer::default();
        b.push_str("select 1;\nselect $body$ ; ");
        assert_eq!(sent(&mut b), ["select 1;\n"]);
        b.push_str("$body; $body$;");
        assert_eq!(sent(&mut b), ["select $body$ ; $body; $body$;"]);
        assert_eq!(b.context(), Context::Plain);
    }
}
