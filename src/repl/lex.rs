//! A forgiving SQL lexer for the line being typed, shared by highlighting and completion.
//!
//! It is not the guard's splitter and decides nothing about what runs: it only says where
//! words, strings, numbers, comments and quoted names start and end, so the editor can
//! colour them and completion can see the words before the cursor. Unlike a parser's
//! tokenizer (sqlparser's refuses an unterminated string) it never fails: a line being
//! typed is usually unfinished, and an open string, quoted name, dollar quote or
//! comment simply runs to the end of the text. Keywords are sqlparser's list.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A name or a keyword.
    Word,
    /// `"a quoted name"`.
    Quoted,
    /// `'text'`, `E'text'`, `$tag$text$tag$`.
    String,
    /// `42`, `3.14`, `1e6`.
    Number,
    /// `-- to the end of the line` or `/* nested */`.
    Comment,
    /// Blanks and newlines.
    Space,
    /// A backslash meta-command word (`\d`).
    Meta,
    /// Anything else: operators, punctuation, `;`.
    Punct,
}

/// A token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just after it.
    pub end: usize,
}

impl Token {
    /// Its text in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
}

/// True when `word` is an SQL keyword (sqlparser's list, any case).
pub fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    sqlparser::keywords::ALL_KEYWORDS
        .binary_search(&upper.as_str())
        .is_ok()
}

/// The tokens of `text`, covering it without gaps.
pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = text[i..].chars().next().unwrap_or(' ');
        let kind = match c {
            c if c.is_whitespace() => {
                i = skip_while(text, i, char::is_whitespace);
                Kind::Space
            }
            '-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                Kind::Comment
            }
            '/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i);
                Kind::Comment
            }
            '\'' => {
                i = quoted_end(bytes, i + 1, b'\'', false);
                Kind::String
            }
            'e' | 'E' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(bytes, i + 2, b'\'', true);
                Kind::String
            }
            '"' => {
                i = quoted_end(bytes, i + 1, b'"', false);
                Kind::Quoted
            }
            '$' => match dollar_tag(text, i) {
                Some(tag) => {
                    let body = i + tag.len();
                    i = text[body..]
                        .find(tag)
                        .map_or(bytes.len(), |n| body + n + tag.len());
                    Kind::String
                }
                None => {
                    i = skip_while(text, i + 1, |c| c.is_ascii_digit());
                    Kind::Punct
                }
            },
            '\\' => {
                i = skip_while(text, i + 1, |c| !c.is_whitespace() && c != '\\');
                Kind::Meta
            }
            c if c.is_ascii_digit()
                || (c == '.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i = number_end(bytes, i);
                Kind::Number
            }
            c if c.is_alphabetic() || c == '_' => {
                i = skip_while(text, i, |c| c.is_alphanumeric() || c == '_' || c == '$');
                Kind::Word
            }
            c => {
                i += c.len_utf8();
                Kind::Punct
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

fn skip_while(text: &str, from: usize, keep: impl Fn(char) -> bool) -> usize {
    text[from..]
        .char_indices()
        .find(|(_, c)| !keep(*c))
        .map_or(text.len(), |(n, _)| from + n)
}

/// The end of a quoted run opened before `from`: a doubled quote stays inside, and with
/// `backslash` (E'' strings) so does a backslash-escaped character.
fn quoted_end(bytes: &[u8], from: usize, quote: u8, backslash: bool) -> usize {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn block_comment_end(bytes: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `$tag$` starting at `at`, if one does.
fn dollar_tag(text: &str, at: usize) -> Option<&str> {
    let rest = &text[at + 1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let valid = tag
        .chars()
        .enumerate()
        .all(|(n, c)| c == '_' || c.is_alphabetic() || (n > 0 && c.is_ascii_digit()));
    valid.then(|| &text[at..at + end + 2])
}

fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut seen_dot = false;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' | b'_' => i += 1,
            b'.' if !seen_dot => {
                seen_dot = true;
                i += 1;
            }
            b'e' | b'E'
                if bytes
                    .get(i + 1)
                    .is_some_and(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+') =>
            {
                i += 2;
            }
            _ => break,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        tokens(text)
            .into_iter()
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text(text)))
            .collect()
    }

    #[test]
    fn lexes_what_is_typed() {
        use Kind::*;
        assert_eq!(
            kinds("select 'it''s', E'a\\'b', 1.5e3, \"Odd \"\"x\", $q$ $ $q$ -- c"),
            vec![
                (Word, "select"),
                (String, "'it''s'"),
                (Punct, ","),
                (String, "E'a\\'b'"),
                (Punct, ","),
                (Number, "1.5e3"),
                (Punct, ","),
                (Quoted, "\"Odd \"\"x\""),
                (Punct, ","),
                (String, "$q$ $ $q$"),
                (Comment, "-- c"),
            ]
        );
        assert_eq!(
            kinds("a /* x /* y */ z */ $1 \\dt t"),
            vec![
                (Word, "a"),
                (Comment, "/* x /* y */ z */"),
                (Punct, "$1"),
                (Meta, "\\dt"),
                (Word, "t")
            ]
        );
    }

    #[test]
    fn unfinished_input_runs_to_the_end() {
        for text in [
            "select 'open",
            "select \"open",
            "select $$ open",
            "/* open",
            "e'\\",
        ] {
            let t = tokens(text);
            assert_eq!(t.last().map(|t| t.end), Some(text.len()), "{text}");
        }
        // Covers every byte, whatever the input.
        for text in ["", "é'ü", "$", "$a", "1e", "\\", "--"] {
            let t = tokens(text);
            let mut at = 0;
            for tok in &t {
                assert_eq!(tok.start, at, "{text}");
                at = tok.end;
            }
            assert_eq!(at, text.len(), "{text}");
        }
    }

    #[test]
    fn keywords_are_sqlparsers() {
        assert!(is_keyword("select"));
        assert!(is_keyword("WHERE"));
        assert!(!is_keyword("orders"));
    }
}
