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
//!
//! The scanner is a [`Lexer`] whose state can stop and resume between any two bytes (in
//! a word, a quote, a dollar quote with its delimiter, a nested comment…), so text that
//! arrives piece by piece is lexed once: the query buffer ([`crate::repl::buffer`]) feeds
//! it each line of a script or of the prompt, and asks after each piece where it stands
//! ([`Context`]) and which statements ended, without lexing again what came before.

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
    let mut lexer = Lexer::default();
    let mut out = Split::default();
    let mut meta = None;
    while let Some(event) = lexer.next(input, stop_at_meta) {
        match event {
            Event::End(end) => {
                if end.content {
                    out.pieces.extend(piece(input, end.start, end.semi));
                }
            }
            Event::Backslash(at) => {
                meta = Some(at);
                break;
            }
        }
    }
    // An unterminated quote or comment runs to the end; a meta-command ends the text.
    out.rest = lexer.rest(input).map(str::to_owned);
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

/// Where psql's lexer is between two bytes of SQL: in plain SQL (inside parentheses or
/// not), a quote, a dollar quote or a comment. psql sees backslash commands and `:name`
/// variables only in plain SQL, and shows the state in its continuation prompt (`%R`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Plain SQL outside parentheses (a `BEGIN ATOMIC` body included, as in psql).
    Plain,
    /// Plain SQL inside parentheses.
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

/// What [`Lexer::next`] stops at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A `;` that ends a statement.
    End(Ended),
    /// A backslash in plain SQL at this offset, where psql starts a meta-command; it is
    /// not lexed, so the next call stops at it again.
    Backslash(usize),
}

/// A statement ended by a `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Offset just after the previous statement's `;` (or where lexing began).
    pub start: usize,
    /// Offset of the `;`.
    pub semi: usize,
    /// Whether it holds anything but white space and comments.
    pub content: bool,
}

/// The splitter's lexer with its state kept between calls, so that text read piece by
/// piece (a script line by line, a line up to each `\` or `:`) is lexed once, each byte
/// when it arrives: whether a byte is plain SQL ([`Lexer::context`]) and where statements
/// end is known without lexing again what came before. The state says where the lexer
/// is: in plain SQL (with the statement's parentheses and `BEGIN ATOMIC` depth), in a
/// word, number or `$tag` not yet ended, in a quote (`E''` escapes, a closing quote that
/// may be doubled), in a dollar quote (its delimiter and how much of it was seen), in a
/// comment (its nesting depth). The text it lexes is only appended to between calls,
/// or cut at the front with [`Lexer::rebase`].
#[derive(Debug, Clone)]
pub struct Lexer {
    /// How many bytes of the input were lexed.
    pos: usize,
    mode: Mode,
    stmt: Statement,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer {
            pos: 0,
            mode: Mode::Code,
            stmt: Statement::at(0),
        }
    }
}

/// Where the lexer is, between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Plain SQL, between tokens.
    Code,
    /// After a `-` (`--` starts a comment).
    Dash,
    /// After a `/` (`/*` starts a comment).
    Slash,
    /// In a word that began at `start`.
    Word { start: usize },
    /// After `u&` (the word `u` at `start`): a quote next is a Unicode string or name.
    UAmp { start: usize },
    /// In a number and any junk glued to it.
    Number,
    /// After a `$` at `start`.
    DollarStart { start: usize },
    /// In `$tag` begun at `start`: a `$` next opens a dollar quote.
    DollarTag { start: usize },
    /// In what follows a `$` that opens no quote (`$1`): psql swallows it.
    DollarSkip,
    /// In a quote opened by `quote`; `backslash` for `E''` escapes.
    Quoted {
        quote: u8,
        backslash: bool,
        after: After,
    },
    /// In a dollar quote whose delimiter is `input[tag..tag + len]`, of which the last
    /// `matched` bytes read are the beginning.
    Dollar {
        tag: usize,
        len: usize,
        matched: usize,
    },
    /// In a comment nested `depth` deep.
    Block { depth: usize, after: After },
    /// In a `--` comment.
    Line,
}

/// The byte just read inside a quote or comment, when the next one gives it a meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    /// A backslash in an `E''` string: the next byte is escaped.
    Escape,
    /// The quote: it closes unless the next byte doubles it.
    Quote,
    /// `/` in a comment: with `*`, a nested comment.
    Slash,
    /// `*` in a comment: with `/`, the end of one.
    Star,
}

impl Lexer {
    /// Lexes `input` on from where the last call stopped, up to the next event (`None`
    /// at the end of `input`). `input` begins with the text earlier calls lexed,
    /// unchanged. With `stop_at_backslash`, a backslash in plain SQL is an event.
    pub fn next(&mut self, input: &str, stop_at_backslash: bool) -> Option<Event> {
        #[cfg(test)]
        let from = self.pos;
        let event = self.step(input, stop_at_backslash);
        #[cfg(test)]
        lexed::add(self.pos.saturating_sub(from));
        event
    }

    /// Where the lexer is after the text lexed so far, as if the input ended there.
    pub fn context(&self) -> Context {
        match self.mode {
            Mode::Quoted { quote, after, .. } if after != After::Quote => {
                if quote == b'\'' {
                    Context::Single
                } else {
                    Context::Double
                }
            }
            Mode::Dollar { .. } => Context::Dollar,
            Mode::Block { .. } => Context::Comment,
            Mode::Line => Context::LineComment,
            _ if self.stmt.paren > 0 => Context::Paren,
            _ => Context::Plain,
        }
    }

    /// Where the statement left open by the text lexed so far begins (its first byte
    /// that is not white space), or `None` when it holds only white space and closed
    /// comments. An unterminated quote or comment is open.
    pub fn open_from(&self) -> Option<usize> {
        let unterminated = match self.mode {
            Mode::Quoted { after, .. } => after != After::Quote,
            Mode::Dollar { .. } | Mode::Block { .. } => true,
            _ => false,
        };
        // A `-` or `/` not followed by a comment's second byte is an operator.
        let operator = matches!(self.mode, Mode::Dash | Mode::Slash);
        if unterminated || operator || self.stmt.content {
            self.stmt.first
        } else {
            None
        }
    }

    /// The open statement ([`Lexer::open_from`]) in `input`, up to where lexing stopped.
    pub fn rest<'a>(&self, input: &'a str) -> Option<&'a str> {
        self.open_from().and_then(|from| input.get(from..self.pos))
    }

    /// The first `by` bytes of the input were dropped: every offset moves back by `by`.
    /// They must not reach into the open statement; if they do, a dollar quote open
    /// there can no longer close (the statement stays unterminated, and is not sent).
    pub fn rebase(&mut self, by: usize) {
        self.pos = self.pos.saturating_sub(by);
        self.stmt.start = self.stmt.start.saturating_sub(by);
        self.stmt.first = self.stmt.first.and_then(|f| f.checked_sub(by));
        match &mut self.mode {
            Mode::Word { start }
            | Mode::UAmp { start }
            | Mode::DollarStart { start }
            | Mode::DollarTag { start } => *start = start.saturating_sub(by),
            Mode::Dollar { tag, len, .. } => match tag.checked_sub(by) {
                Some(t) => *tag = t,
                None => *len = usize::MAX,
            },
            _ => {}
        }
    }

    fn step(&mut self, input: &str, stop: bool) -> Option<Event> {
        let bytes = input.as_bytes();
        // Kept in locals while lexing, and stored back at each stop. Each token is read
        // whole where it begins when the input holds all of it; its mode is where the
        // next call resumes when the input ends inside it.
        let (mut pos, mut mode) = (self.pos, self.mode);
        let event = 'lex: loop {
            if matches!(mode, Mode::Code) {
                // Plain SQL, token after token, while each ends in plain SQL.
                while let Some(&b) = bytes.get(pos) {
                    let i = pos;
                    if b == b'\\' && stop {
                        break 'lex Some(Event::Backslash(i));
                    }
                    if self.stmt.first.is_none() && !is_space(b) {
                        self.stmt.first = Some(i);
                    }
                    if !matches!(b, b'-' | b'/' | b';') && !is_space(b) {
                        self.stmt.content = true;
                    }
                    let (p, m) = match b {
                        b'-' => self.dash(bytes, i + 1),
                        b'/' => self.slash(bytes, i + 1),
                        b'\'' | b'"' => quoted(bytes, i + 1, b, false, After::Nothing),
                        b'$' => (i + 1, Mode::DollarStart { start: i }),
                        b'(' => {
                            self.stmt.paren = self.stmt.paren.saturating_add(1);
                            (i + 1, Mode::Code)
                        }
                        b')' => {
                            self.stmt.paren = self.stmt.paren.saturating_sub(1);
                            (i + 1, Mode::Code)
                        }
                        b';' if self.stmt.paren == 0 && self.stmt.begin_depth == 0 => {
                            let ended = Ended {
                                start: self.stmt.start,
                                semi: i,
                                content: self.stmt.content,
                            };
                            self.stmt = Statement::at(i + 1);
                            pos = i + 1;
                            mode = Mode::Code;
                            break 'lex Some(Event::End(ended));
                        }
                        b';' => {
                            self.stmt.content = true;
                            (i + 1, Mode::Code)
                        }
                        _ if is_ident_start(b) => self.word(input, i, i + 1),
                        // A number and any junk glued to it is one token, as in
                        // PostgreSQL 15+: `1e'…'` is not an E'' string.
                        b'0'..=b'9' => number(bytes, i + 1),
                        _ if is_space(b) => (skip_while(bytes, i + 1, is_space), Mode::Code),
                        _ => (i + 1, Mode::Code),
                    };
                    pos = p;
                    if !matches!(m, Mode::Code) {
                        mode = m;
                        continue 'lex;
                    }
                }
                break 'lex None;
            }
            let Some(&b) = bytes.get(pos) else {
                break 'lex None;
            };
            let i = pos;
            (pos, mode) = match mode {
                Mode::Code => (i, Mode::Code),
                Mode::Dash => self.dash(bytes, i),
                Mode::Slash => self.slash(bytes, i),
                Mode::Word { start } => self.word(input, start, i),
                Mode::UAmp { start } => {
                    // U&'…' and U&"…" follow the plain rules; the quote is read next.
                    if !matches!(b, b'\'' | b'"') {
                        self.stmt
                            .saw_identifier(input.get(start..start + 1).unwrap_or_default());
                    }
                    (i, Mode::Code)
                }
                Mode::Number => number(bytes, i),
                Mode::DollarStart { start } => {
                    if b == b'$' {
                        dollar(bytes, i + 1, start, 2, 0)
                    } else if is_ident_start(b) {
                        (i + 1, Mode::DollarTag { start })
                    } else {
                        // `$1` or a lone `$`: psql swallows `$` and the word after it.
                        (i, Mode::DollarSkip)
                    }
                }
                Mode::DollarTag { start } => {
                    let end = skip_while(bytes, i, is_dollar_tag_cont);
                    match bytes.get(end) {
                        None => (end, Mode::DollarTag { start }),
                        Some(b'$') => dollar(bytes, end + 1, start, end + 1 - start, 0),
                        // A failed delimiter: the word after `$` was swallowed.
                        Some(_) => (end, Mode::Code),
                    }
                }
                Mode::DollarSkip => {
                    let end = skip_while(bytes, i, is_dollar_tag_cont);
                    let mode = if end < bytes.len() {
                        Mode::Code
                    } else {
                        Mode::DollarSkip
                    };
                    (end, mode)
                }
                Mode::Quoted {
                    quote,
                    backslash,
                    after,
                } => quoted(bytes, i, quote, backslash, after),
                Mode::Dollar { tag, len, matched } => dollar(bytes, i, tag, len, matched),
                Mode::Block { depth, after } => block(bytes, i, depth, after),
                Mode::Line => line(bytes, i),
            };
        };
        self.pos = pos;
        self.mode = mode;
        event
    }

    /// After a `-` in plain SQL, from `i`: a `--` comment, or an operator.
    fn dash(&mut self, bytes: &[u8], i: usize) -> (usize, Mode) {
        match bytes.get(i) {
            None => (i, Mode::Dash),
            Some(b'-') => line(bytes, i + 1),
            Some(_) => {
                self.stmt.content = true;
                (i, Mode::Code)
            }
        }
    }

    /// After a `/` in plain SQL, from `i`: a comment, or an operator.
    fn slash(&mut self, bytes: &[u8], i: usize) -> (usize, Mode) {
        match bytes.get(i) {
            None => (i, Mode::Slash),
            Some(b'*') => block(bytes, i + 1, 1, After::Nothing),
            Some(_) => {
                self.stmt.content = true;
                (i, Mode::Code)
            }
        }
    }

    /// The word begun at `start`, read on from `from`: an `E''` string or `U&` prefix
    /// it starts, or an identifier psql counts.
    fn word(&mut self, input: &str, start: usize, from: usize) -> (usize, Mode) {
        let bytes = input.as_bytes();
        let end = skip_while(bytes, from, is_ident_cont);
        let Some(&b) = bytes.get(end) else {
            return (end, Mode::Word { start });
        };
        let word = input.get(start..end).unwrap_or_default();
        match (word, b) {
            ("e" | "E", b'\'') => quoted(bytes, end + 1, b'\'', true, After::Nothing),
            ("u" | "U", b'&') => (end + 1, Mode::UAmp { start }),
            _ => {
                self.stmt.saw_identifier(word);
                (end, Mode::Code)
            }
        }
    }
}

/// A number and any junk glued to it, from `i`.
fn number(bytes: &[u8], i: usize) -> (usize, Mode) {
    let end = skip_while(bytes, i, |c| is_ident_cont(c) || c == b'.');
    let mode = if end < bytes.len() {
        Mode::Code
    } else {
        Mode::Number
    };
    (end, mode)
}

/// Inside a `--` comment, from `i`: its end is the newline, white space read next.
fn line(bytes: &[u8], i: usize) -> (usize, Mode) {
    match find(bytes, i, |c| c == b'\n' || c == b'\r') {
        Some(at) => (at, Mode::Code),
        None => (bytes.len(), Mode::Line),
    }
}

/// Inside a quote, from `j`: to its end, or the end of the input.
fn quoted(
    bytes: &[u8],
    mut j: usize,
    quote: u8,
    backslash: bool,
    mut after: After,
) -> (usize, Mode) {
    loop {
        let Some(&c) = bytes.get(j) else {
            let mode = Mode::Quoted {
                quote,
                backslash,
                after,
            };
            return (j, mode);
        };
        match after {
            // The escaped byte may be the start of a multi-byte char; its continuation
            // bytes are never quotes or backslashes.
            After::Escape => {
                j += 1;
                after = After::Nothing;
            }
            // A doubled quote stays inside.
            After::Quote if c == quote => {
                j += 1;
                after = After::Nothing;
            }
            After::Quote => return (j, Mode::Code),
            _ => match find(bytes, j, |c| c == quote || (backslash && c == b'\\')) {
                Some(at) => {
                    j = at + 1;
                    after = if c_at(bytes, at) == quote {
                        After::Quote
                    } else {
                        After::Escape
                    };
                }
                None => j = bytes.len(),
            },
        }
    }
}

/// Inside a dollar quote whose delimiter is `bytes[tag..tag + len]`, `matched` bytes of
/// it just read, from `j`: to its end, or the end of the input.
fn dollar(bytes: &[u8], mut j: usize, tag: usize, len: usize, mut matched: usize) -> (usize, Mode) {
    let delimiter = bytes.get(tag..tag.saturating_add(len)).unwrap_or_default();
    while matched < len {
        if matched == 0 {
            // Every delimiter begins with `$`.
            match find(bytes, j, |c| c == b'$') {
                Some(at) => {
                    j = at + 1;
                    matched = 1;
                }
                None => {
                    j = bytes.len();
                    break;
                }
            }
        } else {
            let Some(&c) = bytes.get(j) else { break };
            j += 1;
            matched = if delimiter.get(matched) == Some(&c) {
                matched + 1
            } else {
                // Only the delimiter's first byte is a `$` that can start it.
                usize::from(c == b'$')
            };
        }
    }
    if matched == len {
        (j, Mode::Code)
    } else {
        (j, Mode::Dollar { tag, len, matched })
    }
}

/// Inside a comment nested `depth` deep, from `j`: to its end, or the end of the input.
fn block(bytes: &[u8], mut j: usize, mut depth: usize, mut after: After) -> (usize, Mode) {
    loop {
        let Some(&c) = bytes.get(j) else {
            return (j, Mode::Block { depth, after });
        };
        match after {
            After::Slash if c == b'*' => {
                j += 1;
                depth = depth.saturating_add(1);
                after = After::Nothing;
            }
            After::Star if c == b'/' => {
                j += 1;
                depth = depth.saturating_sub(1);
                after = After::Nothing;
                if depth == 0 {
                    return (j, Mode::Code);
                }
            }
            // `c` is read again on its own.
            After::Slash | After::Star => after = After::Nothing,
            _ => match find(bytes, j, |c| c == b'/' || c == b'*') {
                Some(at) => {
                    j = at + 1;
                    after = if c_at(bytes, at) == b'/' {
                        After::Slash
                    } else {
                        After::Star
                    };
                }
                None => j = bytes.len(),
            },
        }
    }
}

/// The byte at `at` (0 past the end).
fn c_at(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// The state of the statement being scanned.
#[derive(Debug, Clone)]
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
    /// Offset of its first byte that is not white space (a comment's included).
    first: Option<usize>,
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
            first: None,
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
pub(crate) fn piece(input: &str, start: usize, end: usize) -> Option<Piece> {
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

/// The offset of the first byte at or after `i` that `pred` accepts.
fn find(bytes: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> Option<usize> {
    bytes.get(i..)?.iter().position(|&b| pred(b)).map(|n| i + n)
}

fn skip_while(bytes: &[u8], mut i: usize, pred: impl Fn(u8) -> bool) -> usize {
    while bytes.get(i).is_some_and(|&b| pred(b)) {
        i += 1;
    }
    i
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

    /// The lexer's state at the end of `input`, lexed in one go.
    fn at_end(input: &str) -> Context {
        let mut lexer = Lexer::default();
        while lexer.next(input, false).is_some() {}
        lexer.context()
    }

    #[test]
    fn states_as_psql_lexes_them() {
        let cases = [
            ("", Context::Plain),
            ("select 1 ", Context::Plain),
            ("select 1; select 2", Context::Plain),
            ("select (1 + ", Context::Paren),
            ("select f((1", Context::Paren),
            ("select 'a", Context::Single),
            ("select ('a", Context::Single),
            ("select 'it''s", Context::Single),
            ("select 'a'", Context::Plain),
            ("select E'a\\", Context::Single),
            ("select E'a\\'", Context::Single),
            ("select \"a", Context::Double),
            ("select \"a\"\"", Context::Double),
            ("select /* a", Context::Comment),
            ("/* a /* b */", Context::Comment),
            ("/* a /* b */ */", Context::Plain),
            ("select 1 -- a", Context::LineComment),
            ("-- a", Context::LineComment),
            ("select 1 -- a\n", Context::Plain),
            ("select $$a", Context::Dollar),
            ("select $q$a $$ ", Context::Dollar),
            ("select $q$a $q", Context::Dollar),
            ("select $q$a $q$", Context::Plain),
            ("select $1 ", Context::Plain),
            ("select $q", Context::Plain),
            (
                "create function f() returns int language sql begin atomic select 1;",
                Context::Plain,
            ),
            (
                "create function f() returns int language sql begin atomic select (",
                Context::Paren,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(at_end(input), want, "{input:?}");
        }
    }

    #[test]
    fn resumes_at_any_byte() {
        // Every input, lexed in two pieces cut at every byte, ends where it does lexed
        // whole, and cuts the same statements.
        let inputs = [
            "select 'it''s'; select E'a\\'b'; select $q$ $ $q q$ $q$; x",
            "/* a /* b */ c */ select 1 -- d\n; select u&'x' , U&\"y\", u&z, e'\\\\';",
            "create or replace function f() returns int begin atomic select case when true then 1 end; end; select $1;",
            "select 1e'x'; select a$$b; select $a$é$a$; select (1; 2); é",
        ];
        for input in inputs {
            let mut whole = Lexer::default();
            let mut want = Vec::new();
            while let Some(e) = whole.next(input, false) {
                want.push(e);
            }
            for cut in (0..=input.len()).filter(|&c| input.is_char_boundary(c)) {
                let mut lexer = Lexer::default();
                let mut got = Vec::new();
                while let Some(e) = lexer.next(&input[..cut], false) {
                    got.push(e);
                }
                let mid = lexer.context();
                while let Some(e) = lexer.next(input, false) {
                    got.push(e);
                }
                assert_eq!(got, want, "{input:?} cut at {cut}");
                assert_eq!(lexer.context(), whole.context(), "{input:?} cut at {cut}");
                assert_eq!(
                    lexer.rest(input),
                    whole.rest(input),
                    "{input:?} cut at {cut}"
                );
                assert_eq!(mid, at_end(&input[..cut]), "{input:?} cut at {cut}");
            }
        }
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
