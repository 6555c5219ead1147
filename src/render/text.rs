//! Text on its way to the screen, with pgward's colours kept out of band: a sequence of
//! spans, each a piece of text and how pgward paints it. No span holds an escape
//! sequence that pgward means: colour is added by [`Text::to_screen`] *after* each span
//! is escaped ([`super::escape::multi_line`]), so only pgward emits escape sequences, and
//! text from the server or the user, wherever it ends up in a span, is shown escaped.

use std::fmt;

use crossterm::style::{Color, Stylize};

use super::escape;
use super::Style;

/// How pgward paints a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// No colour.
    Plain,
    /// An error line: red, bold.
    Error,
    /// A warning line: yellow, bold.
    Warn,
    /// An old value in a diff: red, crossed out.
    Old,
    /// A new value in a diff: green.
    New,
    /// SQL NULL in a diff, where no diff colour applies: dimmed, so it never reads as a
    /// string.
    Null,
    /// An accent in the given colour, bold (the environment in the prompt).
    Accent(Color),
}

/// Text for the screen: spans of text and their paint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    spans: Vec<(String, Paint)>,
}

impl Text {
    /// Empty text.
    pub fn new() -> Text {
        Text::default()
    }

    /// `s`, unpainted.
    pub fn plain(s: impl Into<String>) -> Text {
        Text::painted(s, Paint::Plain)
    }

    /// `s` in `paint`.
    pub fn painted(s: impl Into<String>, paint: Paint) -> Text {
        let mut t = Text::new();
        t.push_painted(s, paint);
        t
    }

    /// Appends `s`, unpainted.
    pub fn push(&mut self, s: impl Into<String>) -> &mut Text {
        self.push_painted(s, Paint::Plain)
    }

    /// Appends `s` in `paint`.
    pub fn push_painted(&mut self, s: impl Into<String>, paint: Paint) -> &mut Text {
        let s = s.into();
        if s.is_empty() {
            return self;
        }
        match self.spans.last_mut() {
            Some((last, p)) if *p == paint => last.push_str(&s),
            _ => self.spans.push((s, paint)),
        }
        self
    }

    /// Appends `other`, keeping its paint.
    pub fn append(&mut self, other: Text) -> &mut Text {
        for (s, paint) in other.spans {
            self.push_painted(s, paint);
        }
        self
    }

    /// Appends `s` and a newline, unpainted.
    pub fn line(&mut self, s: impl Into<String>) -> &mut Text {
        self.push(s).push("\n")
    }

    /// True when there is no text.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The spans, in order.
    pub fn spans(&self) -> impl Iterator<Item = (&str, Paint)> {
        self.spans.iter().map(|(s, p)| (s.as_str(), *p))
    }

    /// Removes trailing whitespace (newlines included) from the end.
    pub fn trim_end(mut self) -> Text {
        while let Some((last, _)) = self.spans.last_mut() {
            let kept = last.trim_end().len();
            last.truncate(kept);
            if !last.is_empty() {
                break;
            }
            self.spans.pop();
        }
        self
    }

    /// What the terminal receives: every span escaped, then painted when `style` has
    /// colour. The only escape sequences in the result are pgward's own SGR colours.
    pub fn to_screen(&self, style: Style) -> String {
        let mut out = String::new();
        for (s, paint) in &self.spans {
            let s = escape::multi_line(s);
            if !style.color || *paint == Paint::Plain {
                out.push_str(&s);
                continue;
            }
            // Paint each line on its own, so a colour never runs past a newline.
            for (i, line) in s.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                if !line.is_empty() {
                    out.push_str(&paint_one(line, *paint));
                }
            }
        }
        out
    }
}

fn paint_one(s: &str, paint: Paint) -> String {
    match paint {
        Paint::Plain => s.to_string(),
        Paint::Error => s.with(Color::Red).bold().to_string(),
        Paint::Warn => s.with(Color::Yellow).bold().to_string(),
        Paint::Old => s.red().crossed_out().to_string(),
        Paint::New => s.green().to_string(),
        Paint::Null => s.dim().italic().to_string(),
        Paint::Accent(c) => s.with(c).bold().to_string(),
    }
}

/// The first character of `screen` that must not reach a terminal raw (newline and tab
/// are layout): `None` for anything [`Text::to_screen`] wrote without colour.
pub fn foreign(screen: &str) -> Option<char> {
    screen
        .chars()
        .find(|&c| c != '\n' && c != '\t' && escape::is_dangerous(c))
}

/// `screen` without SGR sequences (`ESC [ digits and ; m`), the only escape sequences
/// pgward writes: with colour, `without_colour(t.to_screen(colour)) == t.to_string()`.
pub fn without_colour(screen: &str) -> String {
    let mut out = String::with_capacity(screen.len());
    let mut rest = screen;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let params = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        if tail[params..].starts_with('m') {
            rest = &tail[params + 1..];
        } else {
            // Not a colour: keep it, so a check sees it.
            out.push_str(&rest[at..at + 2]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::plain(s)
    }
}

/// Without colour, escaped: what a pipe receives.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_screen(Style::plain()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_comes_after_escaping() {
        let mut t = Text::painted("warn \u{1b}[2J", Paint::Warn);
        t.push(" then \u{202e}x\n");
        let plain = t.to_screen(Style::plain());
        assert_eq!(plain, "warn \\x1b[2J then \\u{202e}x\n");
        let coloured = t.to_screen(Style { color: true });
        assert!(coloured.contains("warn \\x1b[2J"), "{coloured:?}");
        assert!(coloured.starts_with('\u{1b}'), "{coloured:?}");
        assert_eq!(without_colour(&coloured), plain);
        assert_eq!(foreign(&plain), None);
        assert_eq!(foreign("a\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(foreign("a\u{202e}"), Some('\u{202e}'));
        assert_eq!(without_colour("a\u{1b}[1;5r\u{1b}[31mb"), "a\u{1b}[1;5rb");
    }

    #[test]
    fn trims_and_merges() {
        let mut t = Text::plain("a");
        t.push("b  \n").push_painted("", Paint::Warn);
        assert_eq!(t.spans().count(), 1);
        assert_eq!(t.trim_end().to_string(), "ab");
    }
}
