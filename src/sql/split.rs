//! The client-side statement splitter.
//!
//! `split(input)` cuts `input` at every `;` that lies outside single quotes (incl. `E''`
//! strings with backslash escapes, and `''` doubling), double-quoted identifiers, dollar
//! quotes (`$$…$$`, `$tag$…$tag$`), `--` line comments, nested `/* */` comments,
//! parentheses, and `BEGIN ATOMIC … END` bodies of SQL-standard functions. It follows
//! psql's lexer (`psqlscan.l`) so that pgward cuts where psql would: `standard_conforming_strings`
//! is on, so a backslash in a plain `'…'` (or `U&'…'`) string is literal; `$1` is a
//! parameter, not a dollar quote; `BEGIN`/`CASE`/`END` are counted only in a statement
//! that starts `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, outside parentheses.
//!
//! Each [`Piece`] holds the statement text trimmed of surrounding whitespace and without
//! its terminating `;`; `start` is the byte offset of the text in `input`. Pieces that are
//! empty or only comments are dropped. `rest` is the unterminated tail (no `;` yet) with
//! leading whitespace removed, `None` when the tail is only whitespace and comments. An
//! unterminated quote, comment or dollar quote is part of `rest`.
//!
//! The scanner works on bytes: every byte it cuts or trims at is ASCII, so every offset
//! is a `char` boundary of the UTF-8 input.

/// One statement cut out of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The statement, trimmed, without its terminating `;`.
    pub text: String,
    /// Byte offset of `text` in the input.
    pub start: usize,
}

/// The result of splitting a buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// Complete statements, in order.
    pub pieces: Vec<Piece>,
    /// The unterminated tail, if it holds anything but whitespace and comments.
    pub rest: Option<String>,
}

/// Splits `input` into statements.
pub fn split(input: &str) -> Split {
    scan(input, false).0
}

/// Splits `input` up to the first backslash in plain SQL (outside quotes, comments and
/// dollar quotes; parentheses included), where psql starts a meta-command, and returns
/// its offset with the statements before it; the open statement before the backslash,
/// if any, is `rest`. Without such a backslash it is [`split`] and `None`. One pass:
/// `pgward check` cuts a whole file with it in linear time, however many meta-commands
/// or backslashes inside strings it holds.
pub fn split_to_meta(input: &str) -> (Split, Option<usize>) {
    scan(input, true)
}

fn scan(input: &str, stop_at_meta: bool) -> (Split, Option<usize>) {
    let bytes = input.as_bytes();
    let mut out = Split::default();
    let mut stmt = Statement::at(0);
    let mut i = 0;
    let mut unterminated = false;
    let mut meta = None;

    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match b {
            b'\\' if stop_at_meta => {
                meta = Some(i);
                break;
            }
            b'-' if next == Some(b'-') => i = line_comment_end(bytes, i),
            b'/' if next == Some(b'*') => match block_comment_end(bytes, i) {
                Some(end) => i = end,
                None => {
                    unterminated = true;
                    break;
                }
            },
            b'\'' | b'"' => {
                stmt.content = true;
                match quoted_end(bytes, i, b, false) {
                    Some(end) => i = end,
                    None => {
                        unterminated = true;
                        break;
                    }
                }
            }
            b'$' => {
                stmt.content = true;
                match dollar_tag_end(bytes, i) {
                    Some(tag_end) => match dollar_body_end(input, i, tag_end) {
                        Some(end) => i = end,
                        None => {
                            unterminated = true;
                            break;
                        }
                    },
                    // `$1` or a failed delimiter: psql swallows `$` and the word after it.
                    None => i = skip_while(bytes, i + 1, is_dollar_tag_cont),
                }
            }
            b'(' => {
                stmt.content = true;
                stmt.paren = stmt.paren.saturating_add(1);
                i += 1;
            }
            b')' => {
                stmt.content = true;
                stmt.paren = stmt.paren.saturating_sub(1);
                i += 1;
            }
            b';' if stmt.paren == 0 && stmt.begin_depth == 0 => {
                if stmt.content {
                    out.pieces.extend(piece(input, stmt.start, i));
                }
                i += 1;
                stmt = Statement::at(i);
            }
            _ if is_ident_start(b) => {
                stmt.content = true;
                let end = skip_while(bytes, i, is_ident_cont);
                let word = input.get(i..end).unwrap_or_default();
                match (word, bytes.get(end).copied(), bytes.get(end + 1).copied()) {
                    ("e" | "E", Some(b'\''), _) => match quoted_end(bytes, end, b'\'', true) {
                        Some(e) => i = e,
                        None => {
                            unterminated = true;
                            break;
                        }
                    },
                    // U&'…' and U&"…" follow the plain rules; the quote is scanned next.
                    ("u" | "U", Some(b'&'), Some(b'\'' | b'"')) => i = end + 1,
                    _ => {
                        stmt.saw_identifier(word);
                        i = end;
                    }
                }
            }
            // A number and any junk glued to it is one token, as in PostgreSQL 15+:
            // `1e'…'` is not an E'' string.
            b'0'..=b'9' => {
                stmt.content = true;
                i = skip_while(bytes, i, |c| is_ident_cont(c) || c == b'.');
            }
            _ if is_space(b) => i += 1,
            _ => {
                stmt.content = true;
                i += 1;
            }
        }
    }

    // An unterminated quote or comment runs to the end; a meta-command ends the text.
    let end = if unterminated {
        input.len()
    } else {
        i.min(input.len())
    };
    #[cfg(test)]
    lexed::add(end);
    if unterminated || stmt.content {
        let tail = input.get(stmt.start..end).unwrap_or_default();
        out.rest = Some(tail.trim_start_matches(is_space_char).to_owned());
    }
    (out, meta)
}

/// How many bytes the scanner went over on this thread, for tests that the work of
/// cutting a file grows linearly with it.
#[cfg(test)]
pub(crate) mod lexed {
    use std::cell::Cell;

    thread_local! {
        static LEXED: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn add(n: usize) {
        LEXED.with(|c| c.set(c.get() + n));
    }

    /// The bytes scanned on this thread so far.
    pub(crate) fn total() -> usize {
        LEXED.with(Cell::get)
    }
}

/// True when `input` ends at a statement boundary: nothing is left unterminated.
/// The REPL's multi-line validator asks this before accepting a line.
pub fn is_complete(input: &str) -> bool {
    split(input).rest.is_none()
}

/// The state of the statement being scanned.
struct Statement {
    /// Byte offset where the statement (after the previous `;`) begins.
    start: usize,
    /// Whether anything but whitespace and comments has been seen.
    content: bool,
    /// Parenthesis depth; psql does not cut at `;` inside parentheses.
    paren: u32,
    /// `BEGIN … END` depth inside `CREATE FUNCTION|PROCEDURE`.
    begin_depth: u32,
    /// First letters of the leading `create`/`or`/`replace`/`function`/`procedure` words,
    /// as psql records them.
    leading: [u8; 4],
    /// Number of identifiers seen so far.
    identifiers: usize,
}

impl Statement {
    fn at(start: usize) -> Self {
        Statement {
            start,
            content: false,
            paren: 0,
            begin_depth: 0,
            leading: [0; 4],
            identifiers: 0,
        }
    }

    /// psql's heuristic for SQL-standard function bodies (psqlscan.l, `{identifier}`).
    fn saw_identifier(&mut self, word: &str) {
        let is = |kw: &str| word.eq_ignore_ascii_case(kw);
        if is("create") || is("function") || is("procedure") || is("or") || is("replace") {
            if let (Some(slot), Some(first)) =
                (self.leading.get_mut(self.identifiers), word.bytes().next())
            {
                *slot = first.to_ascii_lowercase();
            }
        }
        self.identifiers = self.identifiers.saturating_add(1);
        let routine = matches!(
            self.leading,
            [b'c', b'f' | b'p', ..] | [b'c', b'o', b'r', b'f' | b'p']
        );
        if !routine || self.paren != 0 {
            return;
        }
        if is("begin") {
            self.begin_depth = self.begin_depth.saturating_add(1);
        } else if is("case") {
            // CASE also ends with END; it matters only inside a body.
            if self.begin_depth >= 1 {
                self.begin_depth = self.begin_depth.saturating_add(1);
            }
        } else if is("end") {
            self.begin_depth = self.begin_depth.saturating_sub(1);
        }
    }
}

/// The trimmed statement in `input[start..end]`, if any.
fn piece(input: &str, start: usize, end: usize) -> Option<Piece> {
    let raw = input.get(start..end)?;
    let lead = raw.len() - raw.trim_start_matches(is_space_char).len();
    let text = raw.trim_matches(is_space_char);
    if text.is_empty() {
        return None;
    }
    Some(Piece {
        text: text.to_owned(),
        start: start + lead,
    })
}

/// PostgreSQL's whitespace: `[ \t\n\r\f\v]`. Unicode spaces are not whitespace to the server.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_dollar_tag_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

fn skip_while(bytes: &[u8], mut i: usize, pred: impl Fn(u8) -> bool) -> usize {
    while bytes.get(i).is_some_and(|&b| pred(b)) {
        i += 1;
    }
    i
}

/// End of a `--` comment that starts at `i`: the newline (kept) or the end of input.
fn line_comment_end(bytes: &[u8], i: usize) -> usize {
    skip_while(bytes, i, |b| b != b'\n' && b != b'\r')
}

/// Just past the `*/` closing the (nested) comment opened at `i`; `None` if unterminated.
fn block_comment_end(bytes: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    loop {
        match (bytes.get(j)?, bytes.get(j + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                j += 2;
            }
            (b'*', Some(b'/')) => {
                depth = depth.saturating_sub(1);
                j += 2;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => j += 1,
        }
    }
}

/// Just past the closing quote of the quoted text opened at `i` by `quote`, with
/// doubling; `backslash` makes `\` escape the next byte (E'' strings).
fn quoted_end(bytes: &[u8], i: usize, quote: u8, backslash: bool) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let b = *bytes.get(j)?;
        if backslash && b == b'\\' {
            // The escaped byte may be the start of a multi-byte char; its continuation
            // bytes are never quotes or backslashes, so skipping one byte is enough.
            j += 2;
        } else if b == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
}

/// If a dollar-quote delimiter (`$$` or `$tag$`) starts at `i`, the offset just past it.
fn dollar_tag_end(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i + 1)? {
        b'$' => Some(i + 2),
        &b if is_ident_start(b) => {
            let end = skip_while(bytes, i + 1, is_dollar_tag_cont);
            (bytes.get(end) == Some(&b'$')).then_some(end + 1)
        }
        _ => None,
    }
}

/// Just past the delimiter that closes the dollar quote whose opening delimiter is
/// `input[start..tag_end]`; `None` if unterminated.
fn dollar_body_end(input: &str, start: usize, tag_end: usize) -> Option<usize> {
    let tag = input.get(start..tag_end)?;
    let body = input.get(tag_end..)?;
    body.find(tag).map(|at| tag_end + at + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> (Vec<String>, Option<String>) {
        let s = split(input);
        (s.pieces.into_iter().map(|p| p.text).collect(), s.rest)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("", &[], None),
            ("   \n\t ", &[], None),
            ("select 1;", &["select 1"], None),
            ("select 1", &[], Some("select 1")),
            ("select 1; select 2", &["select 1"], Some("select 2")),
            (
                "update t set a='x;y'; commit;",
                &["update t set a='x;y'", "commit"],
                None,
            ),
            ("select 'it''s; fine';", &["select 'it''s; fine'"], None),
            ("select 'a\\';' ;", &["select 'a\\'"], Some("' ;")),
            ("select E'\\';';", &["select E'\\';'"], None),
            ("select e'it\\'s;';", &["select e'it\\'s;'"], None),
            ("select E'a\\\\';b';", &["select E'a\\\\'"], Some("b';")),
            ("select U&'d\\0061;';", &["select U&'d\\0061;'"], None),
            ("select u&\"a;b\";", &["select u&\"a;b\""], None),
            ("select \"a;\"\"b\";", &["select \"a;\"\"b\""], None),
            ("select $$;$$;", &["select $$;$$"], None),
            ("select $a$ $b$ ; $b$ $a$;", &["select $a$ $b$ ; $b$ $a$"], None),
            ("select $f$;$$;$f$; x;", &["select $f$;$$;$f$", "x"], None),
            ("select $1; select $2;", &["select $1", "select $2"], None),
            ("select a$$b; c;", &["select a$$b", "c"], None),
            ("select 1 -- no; cut\n; 2;", &["select 1 -- no; cut", "2"], None),
            ("select /* ; */ 1;", &["select /* ; */ 1"], None),
            ("select /* /* ; */ ; */ 1;", &["select /* /* ; */ ; */ 1"], None),
            ("-- only a comment\n;", &[], None),
            ("/* c */ ; select 1;", &["select 1"], None),
            ("select 1; -- trailing", &["select 1"], None),
            ("select 1; /* open", &["select 1"], Some("/* open")),
            ("select 'open;", &[], Some("select 'open;")),
            ("select \"open;", &[], Some("select \"open;")),
            ("select $$open;", &[], Some("select $$open;")),
            ("select E'open\\';", &[], Some("select E'open\\';")),
            ("select (1; 2);", &["select (1; 2)"], None),
            ("select 1e'x\\';'", &["select 1e'x\\'"], Some("'")),
            (
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; select 3;",
                &[
                    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
                    "select 3",
                ],
                None,
            ),
            (
                "create or replace procedure p() begin atomic select case when true then 1 end; end; x;",
                &[
                    "create or replace procedure p() begin atomic select case when true then 1 end; end",
                    "x",
                ],
                None,
            ),
            ("begin; select 1; end;", &["begin", "select 1", "end"], None),
            (
                "create function f() returns int begin atomic select 1;",
                &[],
                Some("create function f() returns int begin atomic select 1;"),
            ),
            ("é; ü ;", &["é", "ü"], None),
            ("\u{a0}select 1;", &["\u{a0}select 1"], None),
        ];
        for (input, pieces, rest) in cases {
            let (got, got_rest) = texts(input);
            assert_eq!(got, *pieces, "pieces of {input:?}");
            assert_eq!(got_rest.as_deref(), *rest, "rest of {input:?}");
        }
    }

    #[test]
    fn offsets_point_into_the_input() {
        let input = "  select 1 ;\n\n  -- c\n  update t set a = 'é;' ;  x";
        let s = split(input);
        assert_eq!(s.pieces.len(), 2);
        for p in &s.pieces {
            assert_eq!(&input[p.start..p.start + p.text.len()], p.text);
        }
        assert_eq!(s.pieces[1].text, "-- c\n  update t set a = 'é;'");
        assert_eq!(s.rest.as_deref(), Some("x"));
    }

    #[test]
    fn completeness() {
        assert!(is_complete("select 1;"));
        assert!(is_complete("select 1; -- done"));
        assert!(is_complete(""));
        assert!(!is_complete("select 1"));
        assert!(!is_complete("select 'a;"));
        assert!(!is_complete("/* a"));
        assert!(!is_complete("select $x$ ;"));
    }
}
