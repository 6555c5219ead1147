//! psql's printing options (`\pset`, `\x`, `\t`, `\a`, `\f`, `\C` and the flags `-A -t -F
//! -R -x --csv -P`): what they hold, how `\pset NAME [VALUE]` reads a value, and the
//! words psql answers with (`Output format is csv.`), so a psql user's habits and
//! scripts work unchanged. pgward draws the aligned, unaligned and csv formats; the
//! others psql knows (html, latex, wrapped, …) are refused by name.

/// `\pset format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// psql's default: padded columns, a rule under the header.
    Aligned,
    /// Fields joined by `fieldsep`, records by `recordsep`.
    Unaligned,
    /// RFC 4180-style, quoted where needed.
    Csv,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Aligned => "aligned",
            Format::Unaligned => "unaligned",
            Format::Csv => "csv",
        }
    }
}

/// `\pset expanded` (`\x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expanded {
    /// One row per line.
    Off,
    /// One line per column, a record header per row.
    On,
    /// Expanded when the aligned table is wider than the terminal.
    Auto,
}

/// `\pset pager`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pager {
    /// Never.
    Off,
    /// For results taller or wider than the terminal.
    On,
    /// For every result shown on a terminal.
    Always,
}

/// The printing options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pset {
    /// `format`.
    pub format: Format,
    /// `expanded`.
    pub expanded: Expanded,
    /// `border`: 0, 1 or 2 (higher values draw as 2, as in psql).
    pub border: u16,
    /// `tuples_only`: no header, no footer, no title.
    pub tuples_only: bool,
    /// `null`: what a NULL is shown as.
    pub null: String,
    /// `fieldsep` (unaligned).
    pub fieldsep: String,
    /// `recordsep` (unaligned).
    pub recordsep: String,
    /// `csv_fieldsep`: one single-byte character.
    pub csv_fieldsep: char,
    /// `footer`: the `(N rows)` line.
    pub footer: bool,
    /// `pager`.
    pub pager: Pager,
    /// `title` (`\C`).
    pub title: Option<String>,
}

impl Default for Pset {
    fn default() -> Pset {
        Pset {
            format: Format::Aligned,
            expanded: Expanded::Off,
            border: 1,
            tuples_only: false,
            null: String::new(),
            fieldsep: "|".into(),
            recordsep: "\n".into(),
            csv_fieldsep: ',',
            footer: true,
            pager: Pager::On,
            title: None,
        }
    }
}

/// The options `\pset` lists, in psql's order.
const NAMES: [&str; 11] = [
    "border",
    "csv_fieldsep",
    "expanded",
    "fieldsep",
    "footer",
    "format",
    "null",
    "pager",
    "recordsep",
    "title",
    "tuples_only",
];

/// psql's formats pgward does not draw.
const OTHER_FORMATS: [&str; 6] = [
    "asciidoc",
    "html",
    "latex",
    "latex-longtable",
    "troff-ms",
    "wrapped",
];

impl Pset {
    /// `\pset NAME [VALUE]`: changes the option (a missing value toggles a boolean and
    /// shows the others) and returns what psql says about it, if anything: as psql 15,
    /// a boolean given a value answers nothing. `Err` is psql's message.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<Option<String>, String> {
        match (name, value) {
            ("format", Some(v)) => self.format = format(v)?,
            ("border", Some(v)) => self.border = leading_int(v).clamp(0, 65535) as u16,
            ("expanded" | "x", v) => {
                self.expanded = match v {
                    None if self.expanded == Expanded::Off => Expanded::On,
                    None => Expanded::Off,
                    Some(v) if v.eq_ignore_ascii_case("auto") => Expanded::Auto,
                    Some(v) => match boolean(v) {
                        Some(true) => Expanded::On,
                        Some(false) => Expanded::Off,
                        None => {
                            return Err(format!(
                                "unrecognized value \"{v}\" for \"expanded\"\nAvailable values are: on, off, auto."
                            ))
                        }
                    },
                }
            }
            ("null", Some(v)) => self.null = v.to_string(),
            ("fieldsep", Some(v)) => self.fieldsep = v.to_string(),
            ("recordsep", Some(v)) => self.recordsep = v.to_string(),
            ("csv_fieldsep", Some(v)) => {
                let mut chars = v.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => {
                        self.csv_fieldsep = c
                    }
                    _ => {
                        return Err(
                            "\\pset: csv_fieldsep must be a single one-byte character".into()
                        )
                    }
                }
            }
            ("title", v) => self.title = v.map(str::to_string),
            ("tuples_only" | "t", None) => self.tuples_only = !self.tuples_only,
            ("tuples_only" | "t", Some(v)) => {
                self.tuples_only = bool_value(v, "tuples_only")?;
                return Ok(None);
            }
            ("footer", None) => self.footer = !self.footer,
            ("footer", Some(v)) => {
                self.footer = bool_value(v, "footer")?;
                return Ok(None);
            }
            ("pager", None) => {
                // As psql: on goes off, anything else goes on.
                self.pager = match self.pager {
                    Pager::On => Pager::Off,
                    _ => Pager::On,
                }
            }
            ("pager", Some(v)) => {
                self.pager = if v.eq_ignore_ascii_case("always") {
                    Pager::Always
                } else {
                    match boolean(v) {
                        Some(true) => Pager::On,
                        Some(false) => Pager::Off,
                        None => {
                            return Err(format!(
                                "unrecognized value \"{v}\" for \"pager\"\nAvailable values are: on, off, always."
                            ))
                        }
                    }
                }
            }
            ("format" | "border" | "null" | "fieldsep" | "recordsep" | "csv_fieldsep", None) => {}
            (other, _) => return Err(format!("\\pset: unknown option: {other}")),
        }
        Ok(Some(self.describe(name)))
    }

    /// What psql says about option `name` (`Null display is "".`).
    pub fn describe(&self, name: &str) -> String {
        match name {
            "format" => format!("Output format is {}.", self.format.name()),
            "border" => format!("Border style is {}.", self.border),
            "expanded" | "x" => match self.expanded {
                Expanded::Auto => "Expanded display is used automatically.".into(),
                Expanded::On => "Expanded display is on.".into(),
                Expanded::Off => "Expanded display is off.".into(),
            },
            "null" => format!("Null display is \"{}\".", self.null),
            "fieldsep" => format!("Field separator is \"{}\".", self.fieldsep),
            "recordsep" if self.recordsep == "\n" => "Record separator is <newline>.".into(),
            "recordsep" => format!("Record separator is \"{}\".", self.recordsep),
            "csv_fieldsep" => format!("Field separator for CSV is \"{}\".", self.csv_fieldsep),
            "title" => match &self.title {
                Some(t) => format!("Title is \"{t}\"."),
                None => "Title is unset.".into(),
            },
            "tuples_only" | "t" => format!("Tuples only is {}.", on_off(self.tuples_only)),
            "footer" => format!("Default footer is {}.", on_off(self.footer)),
            "pager" => match self.pager {
                Pager::On => "Pager is used for long output.".into(),
                Pager::Always => "Pager is always used.".into(),
                Pager::Off => "Pager usage is off.".into(),
            },
            _ => String::new(),
        }
    }

    /// `\pset` without arguments: every option and its value, as psql lists them.
    pub fn list(&self) -> String {
        let mut out = String::new();
        for name in NAMES {
            let value = match name {
                "border" => self.border.to_string(),
                "csv_fieldsep" => quoted(&self.csv_fieldsep.to_string()),
                "expanded" => match self.expanded {
                    Expanded::Off => "off".into(),
                    Expanded::On => "on".into(),
                    Expanded::Auto => "auto".into(),
                },
                "fieldsep" => quoted(&self.fieldsep),
                "footer" => on_off(self.footer).into(),
                "format" => self.format.name().into(),
                "null" => quoted(&self.null),
                "pager" => match self.pager {
                    Pager::Off => "0".into(),
                    Pager::On => "1".into(),
                    Pager::Always => "2".into(),
                },
                "recordsep" => quoted(&self.recordsep),
                "title" => self.title.as_deref().map(quoted).unwrap_or_default(),
                _ => on_off(self.tuples_only).into(),
            };
            out.push_str(&format!("{name:<24} {value}\n"));
        }
        out
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// psql's `pset_quoted_string`: in single quotes, `'` and newline backslash-escaped.
fn quoted(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A format name or a unique prefix of one, as psql reads it.
fn format(v: &str) -> Result<Format, String> {
    let ours = [Format::Aligned, Format::Unaligned, Format::Csv];
    let lower = v.to_ascii_lowercase();
    if let Some(f) = ours.iter().find(|f| f.name() == lower) {
        return Ok(*f);
    }
    let names = ours
        .iter()
        .map(|f| f.name())
        .chain(OTHER_FORMATS)
        .filter(|n| !lower.is_empty() && n.starts_with(&lower))
        .collect::<Vec<_>>();
    match names.as_slice() {
        [one] => match ours.iter().find(|f| f.name() == *one) {
            Some(f) => Ok(*f),
            None => Err(format!(
                "\\pset: format {one} is not supported by pgward (aligned, unaligned and csv are)"
            )),
        },
        [a, b, ..] => Err(format!(
            "\\pset: ambiguous abbreviation \"{v}\" matches both \"{a}\" and \"{b}\""
        )),
        [] if OTHER_FORMATS.contains(&lower.as_str()) => Err(format!(
            "\\pset: format {lower} is not supported by pgward (aligned, unaligned and csv are)"
        )),
        [] => Err("\\pset: allowed formats are aligned, csv, unaligned".into()),
    }
}

/// psql's `ParseVariableBool`: true/false, yes/no and on/off (unique prefixes), 1/0.
pub fn boolean(v: &str) -> Option<bool> {
    let l = v.to_ascii_lowercase();
    let prefix = |word: &str, min: usize| l.len() >= min && word.starts_with(&l);
    if prefix("true", 1) || prefix("yes", 1) || prefix("on", 2) || l == "1" {
        Some(true)
    } else if prefix("false", 1) || prefix("no", 1) || prefix("off", 2) || l == "0" {
        Some(false)
    } else {
        None
    }
}

fn bool_value(v: &str, name: &str) -> Result<bool, String> {
    boolean(v).ok_or_else(|| format!("unrecognized value \"{v}\" for \"{name}\": Boolean expected"))
}

/// C's `atoi`: the leading integer, 0 when there is none.
fn leading_int(v: &str) -> i64 {
    let v = v.trim_start();
    let (sign, digits) = match v.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, v.strip_prefix('+').unwrap_or(v)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    sign * digits[..end].parse::<i64>().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_psql_does() {
        let mut p = Pset::default();
        assert_eq!(
            p.set("null", Some("(null)")),
            Ok(Some("Null display is \"(null)\".".into()))
        );
        assert_eq!(
            p.set("format", Some("u")),
            Ok(Some("Output format is unaligned.".into()))
        );
        assert!(p
            .set("format", Some("a"))
            .unwrap_err()
            .contains("ambiguous"));
        assert_eq!(p.set("footer", Some("off")), Ok(None));
        assert!(!p.footer);
        assert_eq!(
            p.set("footer", None),
            Ok(Some("Default footer is on.".into()))
        );
        assert_eq!(
            p.set("x", Some("auto")),
            Ok(Some("Expanded display is used automatically.".into()))
        );
        assert_eq!(
            p.set("tuples_only", Some("foo")),
            Err("unrecognized value \"foo\" for \"tuples_only\": Boolean expected".into())
        );
        assert_eq!(
            p.set("border", Some("x")),
            Ok(Some("Border style is 0.".into()))
        );
        assert_eq!(
            p.set("recordsep", None),
            Ok(Some("Record separator is <newline>.".into()))
        );
        assert!(p
            .set("bogus", None)
            .unwrap_err()
            .contains("unknown option: bogus"));
        assert_eq!(
            p.set("csv_fieldsep", Some("ab")),
            Err("\\pset: csv_fieldsep must be a single one-byte character".into())
        );
    }

    #[test]
    fn lists_like_psql() {
        let list = Pset::default().list();
        assert!(list.starts_with("border                   1\n"), "{list}");
        assert!(list.contains("recordsep                '\\n'\n"), "{list}");
        assert!(list.contains("title                    \n"), "{list}");
        assert_eq!(boolean("of"), Some(false));
        assert_eq!(boolean("o"), None);
    }
}
