//! The prompt: `ENV ROLE@DB=>`, with psql's transaction markers (`=>` idle, `=*>` open,
//! `=!>` failed; `->`, `'>`, `(>` … while a statement continues) and the environment name in the environment's colour (production red).

use crossterm::style::{Color, Stylize};

use crate::config::file::PromptColor;
use crate::session::{Session, TxState};

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
    /// psql's `%R`: `=` for a new statement, else where the unfinished one stands
    /// (`-`, `(`, `'`, `"`, `$`, `*`).
    pub status: char,
}

impl Prompt {
    /// The prompt for the session's current state.
    pub fn of(session: &Session) -> Prompt {
        let env = &session.settings().env;
        let role = match session.state() {
            TxState::Open(tx) | TxState::Failed(tx) => tx.role.clone(),
            TxState::Idle => env
                .read_role
                .clone()
                .unwrap_or_else(|| session.login().to_string()),
        };
        Prompt {
            env: env.name.clone(),
            role,
            db: session.settings().conn.dbname.clone(),
            marker: session.state().marker(),
            status: '=',
        }
    }

    /// The continuation prompt: `-` (or the quote or bracket the statement is in) in
    /// place of `=`, as psql's `PROMPT2`.
    pub fn continued(mut self, status: Option<char>) -> Prompt {
        self.status = status.unwrap_or('=');
        self
    }

    /// The marker with the status in place of `=`.
    fn mark(&self) -> String {
        format!(
            "{}{}",
            self.status,
            self.marker.get(1..).unwrap_or_default()
        )
    }

    /// Without colour.
    pub fn plain(&self) -> String {
        format!("[{}] {}@{}{} ", self.env, self.role, self.db, self.mark())
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
            Some(c) if !no_color => format!(
                "{} {}@{}{} ",
                format!("[{}]", self.env).with(c).bold(),
                self.role,
                self.db,
                self.mark()
            ),
            _ => self.plain(),
        }
    }
}
