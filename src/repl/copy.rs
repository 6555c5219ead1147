//! `\copy … TO`, psql's client-side export, through the read-only guard: `\copy table
//! [(columns)] TO …` and `\copy (query) TO …` become the `SELECT` they read, which the
//! session classifies, runs in its read-only transaction under the read role, probes
//! and logs like any typed read; only the rows' shape differs, written as COPY's text or
//! csv data ([`crate::render::copy`]) to a client file (as it is) or to standard output
//! (escaped, as all screen text). A `\copy` whose query is not a read is refused, and so
//! is `\copy … FROM` (pgward previews writes statement by statement: use INSERT) and a
//! `PROGRAM` at either end.
//!
//! psql's syntax is read: the file name bare or in single quotes, `STDOUT`/`PSTDOUT`,
//! options in parentheses (`FORMAT`, `HEADER`, `DELIMITER`, `NULL`) or in the old style
//! (`CSV`, `HEADER`, `DELIMITER 'x'`, `NULL 'x'`, with an optional `WITH`). Any other
//! option is refused by name rather than ignored.

use crate::render::copy::CopyFormat;
use crate::session::{Outcome, Session};
use crate::sql::{self, Verdict};

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

/// Runs `\copy` with its arguments as typed (the whole rest of the line).
pub fn perform(rt: &tokio::runtime::Runtime, session: &mut Session, raw: &str) -> Outcome {
    let copy = match parse(raw) {
        Ok(c) => c,
        Err(message) => {
            session.io().say_error(&format!("\\copy: {message}"));
            return Outcome::Refused;
        }
    };
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
    session.io().start_copy(copy.format, file);
    let outcome = rt.block_on(session.execute(&text));
    match session.io().end_copy() {
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
pub fn parse(raw: &str) -> Result<CopyTo, String> {
    let mut s = Scanner { rest: raw.trim() };
    let select = if s.at('(') {
        let inner = s.group()?;
        inner.trim().to_string()
    } else {
        let table = s.name()?;
        if table.is_empty() {
            return Err("a table name or a (query) is required".into());
        }
        let columns = if s.at('(') {
            s.group()?.trim().to_string()
        } else {
            "*".into()
        };
        format!("SELECT {columns} FROM {table}")
    };
    let direction = s.word().to_ascii_lowercase();
    match direction.as_str() {
        "to" => {}
        "from" => return Err(
            "\\copy … FROM is not supported: pgward previews every write, so load rows with INSERT"
                .into(),
        ),
        _ => return Err("expected TO after the table or query".into()),
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
    let format = options(&mut s)?;
    Ok(CopyTo {
        select,
        file: target,
        format,
    })
}

/// COPY's options after the target.
fn options(s: &mut Scanner<'_>) -> Result<CopyFormat, String> {
    let mut csv = false;
    let mut header = false;
    let mut delimiter = None;
    let mut null = None;
    let mut word = s.word();
    if word.eq_ignore_ascii_case("with") {
        word = s.word();
    }
    if word.is_empty() && s.at('(') {
        let inner = s.group()?;
        for item in inner.split(',') {
            let mut o = Scanner { rest: item.trim() };
            let name = o.word().to_ascii_lowercase();
            let value = if o.at('\'') {
                Some(o.quoted()?)
            } else {
                Some(o.word()).filter(|w| !w.is_empty())
            };
            match (name.as_str(), value.as_deref()) {
                ("format", Some(f)) if f.eq_ignore_ascii_case("csv") => csv = true,
                ("format", Some(f)) if f.eq_ignore_ascii_case("text") => csv = false,
                ("header", None) => header = true,
                ("header", Some(v)) => {
                    header = crate::render::pset::boolean(v)
                        .ok_or_else(|| format!("HEADER takes a Boolean, not {v:?}"))?
                }
                ("delimiter", Some(d)) => delimiter = Some(single(d)?),
                ("null", Some(n)) => null = Some(n.to_string()),
                (other, _) => return Err(format!("option {other:?} is not supported")),
            }
        }
    } else {
        while !word.is_empty() {
            match word.to_ascii_lowercase().as_str() {
                "csv" => csv = true,
                "header" => header = true,
                "delimiter" | "null" => {
                    let mut value_word = s.word_or_quoted()?;
                    if value_word.eq_ignore_ascii_case("as") {
                        value_word = s.word_or_quoted()?;
                    }
                    if word.eq_ignore_ascii_case("delimiter") {
                        delimiter = Some(single(&value_word)?);
                    } else {
                        null = Some(value_word);
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
    let mut format = CopyFormat::new(csv);
    format.header = header;
    if let Some(d) = delimiter {
        format.delimiter = d;
    }
    if let Some(n) = null {
        format.null = n;
    }
    Ok(format)
}

fn single(v: &str) -> Result<char, String> {
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '\n' && c != '\r' => Ok(c),
        _ => Err("the delimiter must be a single one-byte character".into()),
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
        let c =
            parse("items (id, note) to '/tmp/a b.csv' with (format csv, header)").expect("parse");
        assert_eq!(c.select, "SELECT id, note FROM items");
        assert_eq!(c.file.as_deref(), Some("/tmp/a b.csv"));
        assert!(c.format.csv && c.format.header);
        let c = parse("(select 'a)b' as x) TO STDOUT CSV HEADER DELIMITER ';'").expect("parse");
        assert_eq!(c.select, "select 'a)b' as x");
        assert_eq!((c.file, c.format.delimiter), (None, ';'));
        let c = parse("\"My Table\" to out.txt null 'NULL'").expect("parse");
        assert_eq!(c.select, "SELECT * FROM \"My Table\"");
        assert_eq!(c.format.null, "NULL");
        assert!(!c.format.csv);
        assert!(parse("items from '/tmp/x'").unwrap_err().contains("INSERT"));
        assert!(parse("items to program 'cat'").is_err());
        assert!(parse("items to stdout (format binary)").is_err());
        assert!(parse("items to stdout (force_quote *)").is_err());
    }
}
