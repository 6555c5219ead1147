//! Colour on a terminal, plain text in pipes: the one place that decides, honouring
//! `NO_COLOR` (<https://no-color.org>). Colour itself is applied only by
//! [`super::Text::to_screen`], after escaping, so only pgward emits escape sequences.

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
}
