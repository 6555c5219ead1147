//! `\copy`, psql's client-side COPY, through the guard.
//!
//! `\copy … TO` exports through the read-only guard: `\copy table [(columns)] TO …` and
//! `\copy (query) TO …` become the `SELECT` they read, which the session classifies,
//! runs in its read-only transaction under the read role, probes and logs like any typed
//! read; only the rows' shape differs, written as COPY's text or csv data
//! ([`crate::render::copy`]) to a client file (as it is) or to standard output (escaped,
//! as all screen text). A `\copy` whose query is not a read is refused.
//!
//! `\copy table [(columns)] FROM …` loads rows as a write with its preview
//! ([`Session::copy_from`]): from a client file, from `PSTDIN` (pgward's standard input
//! to its end), or from `STDIN`, the lines that follow the command in the same input (a
//! script, or the prompt) up to `\.`, as psql reads them. A `PROGRAM` at either end is
//! refused.
//!
//! psql's syntax is read: the file name bare or in single quotes, `STDOUT`/`PSTDOUT`,
//! `STDIN`/`PSTDIN`, options in parentheses (`FORMAT`, `HEADER`, `DELIMITER`, `NULL`, and
//! for FROM also `QUOTE`, `ESCAPE`, `ENCODING`) or in the old style (`CSV`, `HEADER`,
//! `DELIMITER 'x'`, `NULL 'x'`, `QUOTE 'x'`, `ESCAPE 'x'`, with an optional `WITH`).
//! Any other option is refused by name rather than ignored.

use std::io::Read;

use crate::render::copy::CopyFormat;
use crate::session::{fold_identifier, CopyLoad, CopyOptions, Header, Outcome, Session};
use crate::sql::{self, Verdict};

/// A parsed `\copy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// `\copy … TO`.
    To(CopyTo),
    /// `\copy … FROM`.
    From(CopyFrom),
}

/// Where `\copy … FROM` reads its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromSource {
    /// A client file.
    File(String),
    /// The lines after the command in the same input, up to `\.`.
    Stdin,
    /// pgward's own standard input, to its end.
    Pstdin,
}

/// A parsed `\copy … FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFrom {
    /// The table as typed.
    pub table: String,
    /// The column list, folded as PostgreSQL folds identifiers.
    pub columns: Option<Vec<String>>,
    /// Where the data comes from.
    pub source: FromSource,
    /// The COPY options.
    pub options: CopyOptions,
    /// The command's arguments as typed, without a pin.
    pub typed: String,
    /// The SHA-256 (hex) the data must have: the ` -- data sha256:HEX (N bytes)` that
    /// pgward records after a load, kept when the command is run again (`pgward
    /// replay`, a reviewed script), so different data is refused.
    pub pin: Option<String>,
}

impl CopyFrom {
    /// The load of `data`.
    pub fn load(&self, data: Vec<u8>) -> CopyLoad {
        CopyLoad {
            table: self.table.clone(),
            columns: self.columns.clone(),
            options: self.options.clone(),
            typed: self.typed.clone(),
            source: match &self.source {
                FromSource::File(f) => crate::render::escape::one_line(f),
                FromSource::Stdin | FromSource::Pstdin => "standard input".into(),
            },
            data,
        }
    }
}

/// Runs `\copy` with its arguments as typed (the whole rest of the line), except
/// `FROM STDIN` read from the lines that follow, which the caller gathers and passes to
/// [`load`].
pub fn perform(rt: &tokio::runtime::Runtime, session: &mut Session, raw: &str) -> Outcome {
    match parse(raw) {
        Ok(Copy::To(copy)) => export(rt, session, &copy),
        Ok(Copy::From(copy)) => load(rt, session, &copy, None),
        Err(message) => {
            session.io().say_error(&format!("\\copy: {message}"));
            Outcome::Refused
        }
    }
}

/// Runs `\copy … FROM`: the data is `lines` when the caller gathered it (STDIN in a
/// script or at the prompt), else read whole from the file or standard input first, so
/// a file that cannot be read costs nothing.
pub fn load(
    rt: &tokio::runtime::Runtime,
    session: &mut Session,
    copy: &CopyFrom,
    lines: Option<Vec<u8>>,
) -> Outcome {
    let data = match (lines, &copy.source) {
        (Some(data), _) => data,
        (None, FromSource::File(path)) => match std::fs::read(path) {
            Ok(data) => data,
            Err(e) => {
                let line = format!(
                    "\\copy: {}: {e}; nothing was loaded",
                    crate::render::escape::one_line(path)
                );
                session.io().say_error(&line);
                return Outcome::SqlError;
            }
        },
        (None, FromSource::Stdin | FromSource::Pstdin) => {
            let mut data = Vec::new();
            if let Err(e) = std::io::stdin().lock().read_to_end(&mut data) {
                session.io().say_error(&format!(
                    "\\copy: cannot read standard input: {e}; nothing was loaded"
                ));
                return Outcome::SqlError;
            }
            // As psql, the data ends at a line `\.` when there is one.
            end_marker(&mut data);
            data
        }
    };
    let load = copy.load(data);
    if let Some(pin) = &copy.pin {
        if load.data_sha256() != *pin {
            session.io().say_error(&format!(
                "\\copy: the data from {} is not the data recorded (sha256:{pin}); nothing was loaded",
                load.source
            ));
            return Outcome::Refused;
        }
    }
    rt.block_on(session.copy_from(&load))
}

/// Cuts `data` at a line that is exactly `\.`.
fn end_marker(data: &mut Vec<u8>) {
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        if line == b"\\." || line == b"\\.\r" {
            data.truncate(start);
            return;
        }
        start = end + 1;
    }
}

/// A parsed `\copy … TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTo {
    /// The read it runs.
    pub select: String,
    /// The client file; `None` for standard output.
    pub file: Option<String>,
    /// The data format.
    pub format: CopyFormat,
}

/// Runs `\copy … TO`.
fn export(rt: &tokio::runtime::Runtime, session: &mut Session, copy: &CopyTo) -> Outcome {
    let text = format!("{}\n;", copy.select);
    let split = sql::split(&text);
    let reads = split.pieces.len() == 1
        && split
            .pieces
            .iter()
            .all(|p| matches!(sql::classify(&p.text), Verdict::Read));
    if !reads {
        session.io().say_error(
            "\\copy … TO runs one read only: the query would change data, or pgward cannot tell that it only reads",
        );
        return Outcome::Refused;
    }
    let file = match &copy.file {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(Box::new(std::io::BufWriter::new(f)) as Box<dyn std::io::Write>),
            Err(e) => {
                let line = format!("\\copy: {}: {e}", crate::render::escape::one_line(path));
                session.io().say_error(&line);
                return Outcome::SqlError;
            }
        },
        None => None,
    };
    session.io().start_copy(copy.format.clone(), file);
    let outcome = rt.block_on(session.execute(&text));
    let written = session.io().end_copy();
    let escaped = session.last_escaped();
    if let (Outcome::Ok, true, Some(path)) = (outcome, escaped > 0, &copy.file) {
        // The values are text shown as `\xe9` (standard output is escaped anyway), so
        // the file would not hold the stored bytes psql's would.
        let _ = std::fs::remove_file(path);
        session.io().say_error(&format!(
            "\\copy: {escaped} values hold bytes that are not UTF-8 (this SQL_ASCII database), which pgward has only as \\xe9, not as stored; the file was removed"
        ));
        session.io().say_hint(
            "read such a column as encode(col::bytea, 'hex') or 'escape', or export it with psql's \\copy",
        );
        return Outcome::SqlError;
    }
    match written {
        Ok(n) if outcome == Outcome::Ok => {
            // psql names the count only when the data went to a file.
            if copy.file.is_some() {
                session.io().result_tag(&format!("COPY {n}"));
            }
            outcome
        }
        Ok(_) => outcome,
        Err(e) => {
            session
                .io()
                .say_error(&format!("\\copy: cannot write the file: {e}"));
            Outcome::SqlError
        }
    }
}

/// Reads psql's `\copy` syntax.
pub fn parse(raw: &str) -> Result<Copy, String> {
    let (raw, pin) = split_pin(raw);
    let mut s = Scanner { rest: raw };
    let (query, table, columns) = if s.at('(') {
        (Some(s.group()?.trim().to_string()), String::new(), None)
    } else {
        let table = s.name()?;
        if table.is_empty() {
            return Err("a table name or a (query) is required".into());
        }
        let columns = if s.at('(') {
            Some(s.group()?.trim().to_string())
        } else {
            None
        };
        (None, table, columns)
    };
    let direction = s.word().to_ascii_lowercase();
    match direction.as_str() {
        "to" => {}
        "from" => {
            if query.is_some() {
                return Err("a (query) can only be copied TO a file or STDOUT".into());
            }
            let mut from = parse_from(&mut s, table, columns)?;
            if let Copy::From(f) = &mut from {
                f.typed = raw.to_string();
                f.pin = pin;
            }
            return Ok(from);
        }
        _ => return Err("expected TO or FROM after the table or query".into()),
    }
    let select = match query {
        Some(q) => q,
        None => format!("SELECT {} FROM {table}", columns.as_deref().unwrap_or("*")),
    };
    if pin.is_some() {
        return Err("a data pin (-- data sha256:…) belongs to \\copy … FROM".into());
    }
    let target = if s.at('\'') {
        Some(s.quoted()?)
    } else {
        let word = s.word();
        match word.to_ascii_lowercase().as_str() {
            "stdout" | "pstdout" => None,
            "program" => return Err("PROGRAM is not supported: give a file name or STDOUT".into()),
            "" => return Err("a file name or STDOUT is required".into()),
            _ => Some(word),
        }
    };
    let o = options(&mut s)?;
    if o.quote.is_some() || o.escape.is_some() || o.encoding.is_some() {
        return Err("QUOTE, ESCAPE and ENCODING are read by \\copy … FROM only".into());
    }
    let mut format = CopyFormat::new(o.csv);
    format.header = match o.header {
        Header::No => false,
        Header::Yes => true,
        Header::Match => return Err("HEADER MATCH is for \\copy … FROM only".into()),
    };
    if let Some(d) = o.delimiter {
        format.delimiter = d;
    }
    if let Some(n) = o.null {
        format.null = n;
    }
    Ok(Copy::To(CopyTo {
        select,
        file: target,
        format,
    }))
}

/// The rest of `\copy table [(columns)] FROM …`.
fn parse_from(s: &mut Scanner<'_>, table: String, columns: Option<String>) -> Result<Copy, String> {
    let columns = match columns {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(|c| {
                    fold_identifier(c).ok_or_else(|| format!("{:?} is not a column name", c.trim()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let source = if s.at('\'') {
        FromSource::File(s.quoted()?)
    } else {
        let word = s.word();
        match word.to_ascii_lowercase().as_str() {
            "stdin" => FromSource::Stdin,
            "pstdin" => FromSource::Pstdin,
            "program" => return Err("PROGRAM is not supported: give a file name or STDIN".into()),
            "" => return Err("a file name, STDIN or PSTDIN is required".into()),
            _ => FromSource::File(word),
        }
    };
    let options = options(s)?;
    Ok(Copy::From(CopyFrom {
        table,
        columns,
        source,
        options,
        typed: String::new(),
        pin: None,
    }))
}

/// Splits the pin pgward records after a load (` -- data sha256:HEX (N bytes)`) off the
/// end of the arguments.
fn split_pin(raw: &str) -> (&str, Option<String>) {
    static PIN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pin = PIN.get_or_init(|| {
        regex::Regex::new(r"\s--\s*data sha256:([0-9a-f]{64}) \(\d+ bytes\)\s*$").expect("regex")
    });
    let raw = raw.trim();
    match pin.captures(raw) {
        Some(c) => {
            let at = c.get(0).map_or(raw.len(), |m| m.start());
            (
                raw[..at].trim_end(),
                c.get(1).map(|m| m.as_str().to_string()),
            )
        }
        None => (raw, None),
    }
}

/// COPY's options after the file.
fn options(s: &mut Scanner<'_>) -> Result<CopyOptions, String> {
    let mut o = CopyOptions::default();
    let mut word = s.word();
    if word.eq_ignore_ascii_case("with") {
        word = s.word();
    }
    if word.is_empty() && s.at('(') {
        let inner = s.group()?;
        for item in inner.split(',') {
            let mut i = Scanner { rest: item.trim() };
            let name = i.word().to_ascii_lowercase();
            let value = if i.at('\'') {
                Some(i.quoted()?)
            } else {
                Some(i.word()).filter(|w| !w.is_empty())
            };
            match (name.as_str(), value.as_deref()) {
                ("format", Some(f)) if f.eq_ignore_ascii_case("csv") => o.csv = true,
                ("format", Some(f)) if f.eq_ignore_ascii_case("text") => o.csv = false,
                ("header", None) => o.header = Header::Yes,
                ("header", Some(v)) if v.eq_ignore_ascii_case("match") => o.header = Header::Match,
                ("header", Some(v)) => {
                    o.header = match crate::render::pset::boolean(v) {
                        Some(true) => Header::Yes,
                        Some(false) => Header::No,
                        None => return Err(format!("HEADER takes a Boolean or MATCH, not {v:?}")),
                    }
                }
                ("delimiter", Some(d)) => o.delimiter = Some(single(d)?),
                ("null", Some(n)) => o.null = Some(n.to_string()),
                ("quote", Some(q)) => o.quote = Some(single(q)?),
                ("escape", Some(e)) => o.escape = Some(single(e)?),
                ("encoding", Some(e)) => o.encoding = Some(e.to_string()),
                (other, _) => return Err(format!("option {other:?} is not supported")),
            }
        }
    } else {
        while !word.is_empty() {
            match word.to_ascii_lowercase().as_str() {
                "csv" => o.csv = true,
                "header" => o.header = Header::Yes,
                name @ ("delimiter" | "null" | "quote" | "escape" | "encoding") => {
                    let mut value = s.word_or_quoted()?;
                    if value.eq_ignore_ascii_case("as") {
                        value = s.word_or_quoted()?;
                    }
                    match name {
                        "delimiter" => o.delimiter = Some(single(&value)?),
                        "null" => o.null = Some(value),
                        "quote" => o.quote = Some(single(&value)?),
                        "escape" => o.escape = Some(single(&value)?),
                        _ => o.encoding = Some(value),
                    }
                }
                other => return Err(format!("option {other:?} is not supported")),
            }
            word = s.word();
        }
    }
    if !s.rest.trim().is_empty() {
        return Err(format!("unexpected {:?}", s.rest.trim()));
    }
    Ok(o)
}

fn single(v: &str) -> Result<char, String> {
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '\n' && c != '\r' => Ok(c),
        _ => Err("DELIMITER, QUOTE and ESCAPE must be a single one-byte character".into()),
    }
}

/// A cursor over the argument text.
struct Scanner<'a> {
    rest: &'a str,
}

impl Scanner<'_> {
    /// Whether the next thing after white space is `c` (the white space is skipped).
    fn at(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        self.rest.starts_with(c)
    }

    /// A bare word up to white space, `(` or `,`.
    fn word(&mut self) -> String {
        self.rest = self.rest.trim_start();
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ',')
            .unwrap_or(self.rest.len());
        let w = self.rest[..end].to_string();
        self.rest = &self.rest[end..];
        w
    }

    fn word_or_quoted(&mut self) -> Result<String, String> {
        self.rest = self.rest.trim_start();
        if self.rest.starts_with('\'') {
            self.quoted()
        } else {
            Ok(self.word())
        }
    }

    /// A table name as typed: up to white space or `(` outside double quotes.
    fn name(&mut self) -> Result<String, String> {
        self.rest = self.rest.trim_start();
        let mut quoted = false;
        for (i, c) in self.rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                c if !quoted && (c.is_whitespace() || c == '(') => {
                    let n = self.rest[..i].to_string();
                    self.rest = &self.rest[i..];
                    return Ok(n);
                }
                _ => {}
            }
        }
        if quoted {
            return Err("unterminated quoted identifier".into());
        }
        let n = self.rest.to_string();
        self.rest = "";
        Ok(n)
    }

    /// `'…'` with `''` for a quote.
    fn quoted(&mut self) -> Result<String, String> {
        let body = &self.rest[1..];
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                self.rest = &body[i + 1..];
                return Ok(out);
            }
            out.push(c);
        }
        Err("unterminated quoted string".into())
    }

    /// The text inside a balanced `( … )`, quotes and comments respected by the
    /// splitter's own reading of SQL.
    fn group(&mut self) -> Result<String, String> {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (i, c) in self.rest.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        let inner = self.rest[1..i].to_string();
                        self.rest = &self.rest[i + 1..];
                        return Ok(inner);
                    }
                }
                _ => {}
            }
        }
        Err("unbalanced parentheses".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_psql_syntax() {
        let to = |raw: &str| match parse(raw).expect("parse") {
            Copy::To(c) => c,
            Copy::From(_) => panic!("not TO: {raw}"),
        };
        let c = to("items (id, note) to '/tmp/a b.csv' with (format csv, header)");
        assert_eq!(c.select, "SELECT id, note FROM items");
        assert_eq!(c.file.as_deref(), Some("/tmp/a b.csv"));
        assert!(c.format.csv && c.format.header);
        let c = to("(select 'a)b' as x) TO STDOUT CSV HEADER DELIMITER ';'");
        assert_eq!(c.select, "select 'a)b' as x");
        assert_eq!((c.file, c.format.delimiter), (None, ';'));
        let c = to("\"My Table\" to out.txt null 'NULL'");
        assert_eq!(c.select, "SELECT * FROM \"My Table\"");
        assert_eq!(c.format.null, "NULL");
        assert!(!c.format.csv);
        assert!(parse("items to program 'cat'").is_err());
        assert!(parse("items to stdout (format binary)").is_err());
        assert!(parse("items to stdout (force_quote *)").is_err());
        assert!(parse("items to stdout (quote '\"')").is_err());
        assert!(parse("(select 1) from '/tmp/x'").is_err());
    }

    #[test]
    fn reads_copy_from() {
        let from = |raw: &str| match parse(raw).expect("parse") {
            Copy::From(c) => c,
            Copy::To(_) => panic!("not FROM: {raw}"),
        };
        let c = from(
            r#"public.items (id, Note, "x y") from '/tmp/a b.csv' with (format csv, header match, delimiter ';', null 'x', quote '''', escape '\', encoding 'LATIN1')"#,
        );
        assert_eq!(c.table, "public.items");
        let columns = ["id", "note", "x y"].map(String::from).to_vec();
        assert_eq!(c.columns, Some(columns));
        assert_eq!(c.source, FromSource::File("/tmp/a b.csv".into()));
        assert!(c.options.csv);
        assert_eq!(c.options.header, Header::Match);
        assert_eq!(c.options.delimiter, Some(';'));
        assert_eq!(c.options.null.as_deref(), Some("x"));
        assert_eq!(c.options.quote, Some('\''));
        assert_eq!(c.options.escape, Some('\\'));
        assert_eq!(c.options.encoding.as_deref(), Some("LATIN1"));
        let c = from("items from stdin csv header delimiter as '|'");
        assert_eq!(
            (c.source, c.options.header, c.options.delimiter),
            (FromSource::Stdin, Header::Yes, Some('|'))
        );
        assert_eq!(from("items FROM PSTDIN").source, FromSource::Pstdin);
        assert_eq!(
            from("items from data.txt").source,
            FromSource::File("data.txt".into())
        );
        assert!(parse("items from program 'cat'").is_err());
        assert!(parse("items (a b) from '/tmp/x'").is_err());
        assert!(parse("items from '/tmp/x' binary").is_err());
        assert!(parse("items from '/tmp/x' (freeze)").is_err());
        let hex = "ab".repeat(32);
        let c = from(&format!(
            "items from 'x -- y.csv' csv -- data sha256:{hex} (12 bytes)"
        ));
        assert_eq!(c.pin.as_deref(), Some(hex.as_str()));
        assert_eq!(c.typed, "items from 'x -- y.csv' csv");
        assert_eq!(c.source, FromSource::File("x -- y.csv".into()));
        assert!(parse(&format!("items to stdout -- data sha256:{hex} (1 bytes)")).is_err());
    }

    #[test]
    fn stdin_data_ends_at_the_marker() {
        let mut d = b"1\ta\n\\.\nignored\n".to_vec();
        end_marker(&mut d);
        assert_eq!(d, b"1\ta\n");
        let mut d = b"1\n2".to_vec();
        end_marker(&mut d);
        assert_eq!(d, b"1\n2");
    }
}
