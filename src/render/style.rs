//! Colour on a terminal, plain text in pipes: the one place that decides, honouring
//! `NO_COLOR` (<https://no-color.org>).

use crossterm::style::{Color, Stylize};

/// Whether output gets ANSI colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// True when colour escapes are written.
    pub color: bool,
}

impl Style {
    /// Colour when `is_terminal` and `NO_COLOR` is unset or empty.
    pub fn detect(is_terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: is_terminal && !no_color,
        }
    }

    /// Plain text.
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// `text` in `color`, bold.
    pub fn paint(self, text: &str, color: Color) -> String {
        if self.color {
            text.with(color).bold().to_string()
        } else {
            text.to_string()
        }
    }

    /// An error line's colour.
    pub fn error(self, text: &str) -> String {
        self.paint(text, Color::Red)
    }

    /// A warning line's colour.
    pub fn warn(self, text: &str) -> String {
        self.paint(text, Color::Yellow)
    }
}
