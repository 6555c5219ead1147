//! Script variables, as psql has them: `-v name=value`, `\set`, `\unset`, and their use
//! in SQL as `:name` (the value as is), `:'name'` (a quoted literal), `:"name"` (a quoted
//! identifier) and `:{?name}` (TRUE or FALSE: is it set). As in psql, a reference to an
//! unset variable is left as typed, `::` is a cast and never a variable, and nothing is
//! expanded inside strings, quoted identifiers, dollar quotes or comments: the caller
//! says where code is ([`expand`] takes that as a closure, see [`super::buffer`]).
//!
//! The arguments of a meta-command are read as psql reads them ([`meta_args`]): words
//! split at white space, `'…'` quoted with `''` and psql's backslash escapes, `"…"` kept
//! with its quotes, variables expanded outside quotes. A backquoted shell command is
//! refused rather than taken literally.

use std::collections::BTreeMap;

/// The variables of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl Vars {
    /// Sets `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), value.to_string());
    }

    /// Unsets `name`.
    pub fn unset(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// All variables, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A byte psql allows in a variable name (`variable_char` in psqlscan.l).
fn is_var_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// True when `name` is a valid variable name for `\set` and `-v`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_var_byte)
}

/// `value` as an SQL literal, as libpq's `PQescapeLiteral` writes it: `'` doubled, and a
/// value with a backslash becomes ` E'…'` with the backslashes doubled.
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    if value.contains('\\') {
        out.push_str(" E");
    }
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `value` as a quoted identifier (`"` doubled).
pub fn quote_ident(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// The variable reference at the start of `text` (which starts with `:`): its
/// replacement and how many bytes it spans, or `None` when `text` holds no reference or
/// names an unset variable (psql leaves those as typed).
pub fn reference(text: &str, vars: &Vars) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b':') {
        return None;
    }
    let name_end = |from: usize| {
        let mut i = from;
        while bytes.get(i).copied().is_some_and(is_var_byte) {
            i += 1;
        }
        i
    };
    match bytes.get(1).copied() {
        Some(q @ (b'\'' | b'"')) => {
            let end = name_end(2);
            if end == 2 || bytes.get(end) != Some(&q) {
                return None;
            }
            let value = vars.get(text.get(2..end)?)?;
            let quoted = if q == b'\'' {
                quote_literal(value)
            } else {
                quote_ident(value)
            };
            Some((quoted, end + 1))
        }
        Some(b'{') if bytes.get(2) == Some(&b'?') => {
            let end = name_end(3);
            if end == 3 || bytes.get(end) != Some(&b'}') {
                return None;
            }
            let set = vars.get(text.get(3..end)?).is_some();
            Some((if set { "TRUE" } else { "FALSE" }.to_string(), end + 1))
        }
        Some(b) if is_var_byte(b) => {
            let end = name_end(1);
            let value = vars.get(text.get(1..end)?)?;
            Some((value.to_string(), end))
        }
        _ => None,
    }
}

/// Expands the variables in `text`. `is_code(done)` says whether the text expanded so
/// far (`done`) ends in plain SQL, where a `:` can start a reference.
pub fn expand(text: &str, vars: &Vars, mut is_code: impl FnMut(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(rel) = text.get(i..).and_then(|t| t.find(':')) {
        let at = i + rel;
        out.push_str(&text[i..at]);
        let tail = &text[at..];
        if tail.starts_with("::") {
            // A cast, as psql's lexer takes `::` before `:name`.
            out.push_str("::");
            i = at + 2;
            continue;
        }
        match reference(tail, vars) {
            Some((value, len)) if is_code(&out) => {
                out.push_str(&value);
                i = at + len;
            }
            _ => {
                out.push(':');
                i = at + 1;
            }
        }
    }
    out.push_str(text.get(i..).unwrap_or_default());
    out
}

/// The arguments of a meta-command, read as psql reads them.
pub fn meta_args(text: &str, vars: &Vars) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".into()),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            word.push('\'');
                        }
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => word.push('\n'),
                            Some('t') => word.push('\t'),
                            Some('r') => word.push('\r'),
                            Some('b') => word.push('\u{8}'),
                            Some('f') => word.push('\u{c}'),
                            Some(other) => word.push(other),
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(other) => word.push(other),
                    }
                },
                '"' => {
                    word.push('"');
                    loop {
                        match chars.next() {
                            None => return Err("unterminated quoted string".into()),
                            Some('"') => {
                                word.push('"');
                                if chars.peek() == Some(&'"') {
                                    chars.next();
                                    word.push('"');
                                } else {
                                    break;
                                }
                            }
                            Some(other) => word.push(other),
                        }
                    }
                }
                '`' => {
                    return Err("backquoted shell commands are not run by pgward".into());
                }
                ':' => {
                    let rest: String = std::iter::once(':').chain(chars.clone()).collect();
                    match reference(&rest, vars) {
                        Some((value, len)) => {
                            word.push_str(&value);
                            for _ in rest[1..len].chars() {
                                chars.next();
                            }
                        }
                        None => word.push(':'),
                    }
                }
                other => word.push(other),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::{expand, meta_args, quote_literal, reference, valid_name, Vars};

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("id", "42");
        v.set("name", "O'Brien");
        v.set("tbl", "My \"T\"");
        v.set("path", "c:\\tmp");
        v
    }

    fn all(text: &str) -> String {
        expand(text, &vars(), |_| true)
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(all("select :id"), "select 42");
        assert_eq!(all("select :'name'"), "select 'O''Brien'");
        assert_eq!(
            all("select * from :\"tbl\""),
            "select * from \"My \"\"T\"\"\""
        );
        assert_eq!(all("select :{?id}, :{?nope}"), "select TRUE, FALSE");
    }

    #[test]
    fn backslashes_make_an_e_string_as_libpq_does() {
        assert_eq!(quote_literal("c:\\tmp"), " E'c:\\\\tmp'");
        assert_eq!(all("select :'path'"), "select  E'c:\\\\tmp'");
    }

    #[test]
    fn unset_and_casts_stay_as_typed() {
        assert_eq!(
            all("select :nope, :'nope', :\"nope\""),
            "select :nope, :'nope', :\"nope\""
        );
        assert_eq!(all("select 1::int, a::text"), "select 1::int, a::text");
        assert_eq!(all("select :"), "select :");
        assert_eq!(all("select :'id"), "select :'id");
        assert_eq!(all("x := 1"), "x := 1");
        assert_eq!(all("select :id::text"), "select 42::text");
        assert_eq!(all("arr[1:2]"), "arr[1:2]");
    }

    #[test]
    fn only_where_the_caller_says_code() {
        let v = vars();
        let out = expand("select ':id', :id", &v, |done| {
            done.matches('\'').count() % 2 == 0
        });
        assert_eq!(out, "select ':id', 42");
    }

    #[test]
    fn names() {
        assert!(valid_name("a_1"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
        assert_eq!(reference(":id;", &vars()), Some(("42".into(), 3)));
    }

    #[test]
    fn meta_arguments_as_psql_reads_them() {
        let v = vars();
        assert_eq!(meta_args(" a  b ", &v), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(
            meta_args("'it''s' x'y'z", &v),
            Ok(vec!["it's".into(), "xyz".into()])
        );
        assert_eq!(meta_args("'a\\tb'", &v), Ok(vec!["a\tb".into()]));
        assert_eq!(meta_args("\"A b\"", &v), Ok(vec!["\"A b\"".into()]));
        assert_eq!(
            meta_args(":id :'name' ':id'", &v),
            Ok(vec!["42".into(), "'O''Brien'".into(), ":id".into()])
        );
        assert!(meta_args("'open", &v).is_err());
        assert!(meta_args("`date`", &v).is_err());
    }
}
