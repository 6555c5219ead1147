//! Reading PostgreSQL's `record_out` text one field at a time, without copying: the
//! capture reads the key fields of every row (a million rows for a million-row write),
//! so a field is a slice of the row's text, and only a quoted field is unescaped, into
//! a buffer the caller reuses.
//!
//! The format is `record_out`'s: `(` fields separated by `,` `)`; an empty unquoted
//! field is SQL NULL; a quoted field (`"…"`) holds `\x` for `x` and `""` for `"`; an
//! unquoted field holds none of `"`, `\`, `(`, `)`, `,`. Anything else is malformed.

use super::images::Datum;

/// One field of a record, as it stands in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// SQL NULL (an empty, unquoted field).
    Null,
    /// An unquoted value: the text itself.
    Plain(&'a str),
    /// A quoted value: the text between the quotes, still escaped.
    Quoted(&'a str),
}

impl Field<'_> {
    /// The value with its escapes undone, written into `out` (cleared first); `false`
    /// for SQL NULL.
    pub fn unescape_into(&self, out: &mut String) -> bool {
        out.clear();
        match *self {
            Field::Null => return false,
            Field::Plain(text) => out.push_str(text),
            Field::Quoted(raw) => {
                let mut chars = raw.chars();
                while let Some(c) = chars.next() {
                    match c {
                        // `\x` is `x`; `""` is `"` (the reader checked both are whole).
                        '\\' | '"' => out.extend(chars.next()),
                        c => out.push(c),
                    }
                }
            }
        }
        true
    }

    /// The field as a [`Datum`].
    pub fn to_datum(&self) -> Datum {
        let mut text = String::new();
        match self.unescape_into(&mut text) {
            false => Datum::Null,
            true => Datum::Text(text),
        }
    }
}

/// The fields of one record's text, in order; yields `Err(())` once and stops when the
/// text is malformed.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    inner: &'a str,
    pos: usize,
    more: bool,
}

/// The fields of `text`; `None` when it is not wrapped in parentheses. A record of no
/// fields and a one-column record holding NULL both print as `()`, which yields no
/// field: the caller, knowing the column count, tells them apart.
pub fn fields(text: &str) -> Option<Fields<'_>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    Some(Fields {
        inner,
        pos: 0,
        more: !inner.is_empty(),
    })
}

impl<'a> Fields<'a> {
    fn field(&mut self) -> Result<Field<'a>, ()> {
        let bytes = self.inner.as_bytes();
        let start = self.pos;
        let field = match bytes.get(start) {
            None | Some(b',') => Field::Null,
            Some(b'"') => {
                let mut i = start + 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(()),
                        Some(b'\\') if i + 1 < bytes.len() => i += 2,
                        Some(b'\\') => return Err(()),
                        Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                self.pos = i + 1;
                // Delimiters are ASCII, so both ends are character boundaries; an
                // escaped byte inside a multibyte character is only skipped over.
                Field::Quoted(self.inner.get(start + 1..i).ok_or(())?)
            }
            Some(_) => {
                let mut i = start;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b',' => break,
                        b'"' | b'\\' | b'(' | b')' => return Err(()),
                        _ => i += 1,
                    }
                }
                self.pos = i;
                Field::Plain(self.inner.get(start..i).ok_or(())?)
            }
        };
        match bytes.get(self.pos) {
            None => self.more = false,
            Some(b',') => self.pos += 1,
            Some(_) => return Err(()),
        }
        Ok(field)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.more {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.more = false;
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Option<Vec<Datum>> {
        fields(text)?
            .map(|f| f.map(|f| f.to_datum()))
            .collect::<Result<_, ()>>()
            .ok()
    }

    #[test]
    fn reads_every_kind_of_field() {
        let text = Datum::Text;
        assert_eq!(
            all(r#"(1,,"",null,"a ""q"" \\ (x, y)","é\"ü")"#),
            Some(vec![
                text("1".into()),
                Datum::Null,
                text(String::new()),
                text("null".into()),
                text(r#"a "q" \ (x, y)"#.into()),
                text("é\"ü".into()),
            ])
        );
        assert_eq!(all("()"), Some(vec![]));
        assert_eq!(all("(,)"), Some(vec![Datum::Null, Datum::Null]));
        assert_eq!(all("(1,)"), Some(vec![text("1".into()), Datum::Null]));
    }

    #[test]
    fn malformed_text_stops_with_an_error() {
        for text in [
            "(\"a,2)",
            "(a\"b,2)",
            "(\"a\"b,2)",
            "(\"\\)",
            "((1,2)",
            "(1)2)",
            "(a\\b)",
        ] {
            assert_eq!(all(text), None, "{text:?}");
        }
        for text in ["", "(", ")", "x(1,2)", "(1,2) x"] {
            assert!(fields(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn plain_fields_are_slices_of_the_text() {
        let mut f = fields("(12,\"a b\")").expect("record");
        assert_eq!(f.next(), Some(Ok(Field::Plain("12"))));
        assert_eq!(f.next(), Some(Ok(Field::Quoted("a b"))));
        assert_eq!(f.next(), None);
    }
}
