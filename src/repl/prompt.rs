//! The prompt: `ENV ROLE@DB=>`, with psql's transaction markers (`=>` idle, `=*>` open,
//! `=!>` failed; `->`, `'>`, `(>` … while a statement continues) and the environment name
//! in the environment's colour (production red).
//! Environment, role and database come from the config and the server: each is escaped
//! to one line, and colour is added after escaping ([`Text`]).

use crossterm::style::Color;

use crate::config::file::PromptColor;
use crate::render::escape::one_line;
use crate::render::{Paint, Style, Text};
use crate::session::{Session, TxState};

/// `marker` (`=>`, `=*>`, `=!>`) with `status` in place of `=`; an unknown status is `-`.
fn continued_marker(marker: &'static str, status: char) -> &'static str {
    const TABLE: [(char, [&str; 3]); 6] = [
        ('-', ["->", "-*>", "-!>"]),
        ('(', ["(>", "(*>", "(!>"]),
        ('\'', ["'>", "'*>", "'!>"]),
        ('"', ["\">", "\"*>", "\"!>"]),
        ('$', ["$>", "$*>", "$!>"]),
        ('*', ["*>", "**>", "*!>"]),
    ];
    let column = match marker {
        "=*>" => 1,
        "=!>" => 2,
        _ => 0,
    };
    let row = TABLE
        .iter()
        .find(|(c, _)| *c == status)
        .unwrap_or(&TABLE[0]);
    row.1[column]
}

/// The parts of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Environment name.
    pub env: String,
    /// Role in effect.
    pub role: String,
    /// Database.
    pub db: String,
    /// `=>`, `=*>` or `=!>`.
    pub marker: &'static str,
    /// The server is a standby.
    pub standby: bool,
}

impl Prompt {
    /// The prompt for the session's current state.
    pub fn of(session: &Session) -> Prompt {
        let env = &session.settings().env;
        let role = match session.state() {
            TxState::Open(tx) | TxState::Failed(tx) => tx.role.clone(),
            TxState::Idle => session.read_role(),
        };
        Prompt {
            env: env.name.clone(),
            role,
            db: session.settings().conn.dbname.clone(),
            marker: session.state().marker(),
            standby: session.is_standby(),
        }
    }

    /// The continuation prompt, as psql's `PROMPT2`: its `%R` (`-`, or the quote,
    /// comment or bracket the unfinished statement is in) in place of `=`.
    pub fn continued(mut self, status: Option<char>) -> Prompt {
        if let Some(c) = status {
            self.marker = continued_marker(self.marker, c);
        }
        self
    }

    /// Without colour.
    pub fn plain(&self) -> String {
        self.text(Paint::Plain).to_string()
    }

    fn text(&self, env: Paint) -> Text {
        let mut t = Text::painted(
            format!("[{}{}]", one_line(&self.env), self.standby_tag()),
            env,
        );
        t.push(format!(
            " {}@{}{} ",
            one_line(&self.role),
            one_line(&self.db),
            self.marker
        ));
        t
    }

    fn standby_tag(&self) -> &'static str {
        if self.standby {
            " standby (read-only)"
        } else {
            ""
        }
    }

    /// With the environment in `color`.
    pub fn colored(&self, color: PromptColor) -> String {
        let c = match color {
            PromptColor::Red => Some(Color::Red),
            PromptColor::Yellow => Some(Color::Yellow),
            PromptColor::Green => Some(Color::Green),
            PromptColor::Blue => Some(Color::Blue),
            PromptColor::Cyan => Some(Color::Cyan),
            PromptColor::Magenta => Some(Color::Magenta),
            PromptColor::None => None,
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match c {
            Some(c) if !no_color => self.text(Paint::Accent(c)).to_screen(Style { color: true }),
            _ => self.plain(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_says_so_in_the_prompt() {
        let mut p = Prompt {
            env: "prod".into(),
            role: "app_reader".into(),
            db: "shop".into(),
            marker: "=>",
            standby: false,
        };
        assert_eq!(p.plain(), "[prod] app_reader@shop=> ");
        p.standby = true;
        assert_eq!(p.plain(), "[prod standby (read-only)] app_reader@shop=> ");
        assert!(p.colored(PromptColor::Red).contains("standby (read-only)"));
    }

    #[test]
    fn names_stay_on_the_line_and_drive_nothing() {
        let p = Prompt {
            env: "prod\u{1b}[2J".into(),
            role: "w\u{202e}".into(),
            db: "d\nb".into(),
            marker: "=>",
            standby: false,
        };
        assert_eq!(p.plain(), "[prod\\x1b[2J] w\\u{202e}@d\\nb=> ");
        let coloured = p.colored(PromptColor::Red);
        assert_eq!(crate::render::text::without_colour(&coloured), p.plain());
    }

    #[test]
    fn continuation_markers_as_psql_prompt2() {
        let p = Prompt {
            env: "e".into(),
            role: "r".into(),
            db: "d".into(),
            marker: "=*>",
            standby: false,
        };
        assert_eq!(p.clone().continued(None).plain(), "[e] r@d=*> ");
        assert_eq!(p.clone().continued(Some('-')).plain(), "[e] r@d-*> ");
        assert_eq!(p.continued(Some('\'')).plain(), "[e] r@d'*> ");
        assert_eq!(super::continued_marker("=>", '('), "(>");
        assert_eq!(super::continued_marker("=!>", '"'), "\"!>");
    }
}
