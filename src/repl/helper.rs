//! The rustyline helper: the coloured prompt, Tab completion from the catalog loaded in
//! the background ([`super::complete`]), highlighting of the line being typed, and hints
//! from the history that are only ever reads. Every Enter hands the line to the query
//! buffer ([`super::script`]), as psql reads line by line; the prompt then shows that the
//! statement continues.
//!
//! Highlighting uses the terminal's own palette (the basic ANSI colours and bold, never
//! fixed RGB), so it follows the user's theme; with colour off (`NO_COLOR`,
//! `--no-color`, not a terminal) the line is shown exactly as typed. A line holding a
//! character the screen must not see raw (see [`crate::render::escape`]) is not
//! highlighted either: pgward adds nothing around it.

use std::borrow::Cow;

use rustyline::completion::Completer;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::SearchDirection;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::catalog::{Catalog, Shared};
use super::lex::{self, Kind};
use crate::sql::{self, Verdict};

/// How many history entries a hint looks through, newest first.
const HINT_DEPTH: usize = 200;

/// pgward's line-editor helper.
#[derive(Debug, Default)]
pub struct ReplHelper {
    /// The prompt with colour escapes; rustyline measures the plain one.
    pub colored_prompt: String,
    /// Whether the line and hints are coloured.
    pub color: bool,
    /// The names completion offers; `None` offers keywords and meta-commands only.
    pub catalog: Option<Shared>,
    /// The config file's environments, offered after `\c` and `\connect`.
    pub environments: Vec<String>,
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let catalog = self
            .catalog
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.clone()))
            .unwrap_or_else(|| std::sync::Arc::new(Catalog::default()));
        Ok(super::complete::complete_in(
            line,
            pos,
            &catalog,
            &self.environments,
        ))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    /// The rest of the newest history entry that starts with the line, when that entry
    /// is SQL the classifier calls a read: a past write is never offered.
    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        if line.trim().is_empty() || pos < line.len() {
            return None;
        }
        let history = ctx.history();
        let mut start = history.len().checked_sub(1)?;
        for _ in 0..HINT_DEPTH {
            let found = history
                .starts_with(line, start, SearchDirection::Reverse)
                .ok()
                .flatten()?;
            if found.entry != line && only_reads(&found.entry) {
                return Some(found.entry[pos..].to_string());
            }
            start = found.idx.checked_sub(1)?;
        }
        None
    }
}

/// True when `text` is complete SQL whose every statement is a read.
fn only_reads(text: &str) -> bool {
    if text.trim_start().starts_with('\\') {
        return false;
    }
    let split = sql::split(text);
    split.rest.is_none()
        && !split.pieces.is_empty()
        && split
            .pieces
            .iter()
            .all(|p| sql::classify(&p.text) == Verdict::Read)
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        if default && !self.colored_prompt.is_empty() {
            Cow::Borrowed(&self.colored_prompt)
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        match highlighted(line) {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(line),
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color && !hint.chars().any(crate::render::escape::is_dangerous) {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for ReplHelper {}

/// `line` with SGR colours around its keywords, strings, numbers, quoted names, comments
/// and meta-commands; `None` when there is nothing to colour or the line holds a
/// character that must not reach the screen raw.
pub fn highlighted(line: &str) -> Option<String> {
    if line.chars().any(crate::render::escape::is_dangerous) {
        return None;
    }
    let mut out = String::with_capacity(line.len() * 2);
    let mut coloured = false;
    for t in lex::tokens(line) {
        let text = t.text(line);
        let sgr = match t.kind {
            Kind::Word if lex::is_keyword(text) => Some("1;34"),
            Kind::String => Some("32"),
            Kind::Number => Some("36"),
            Kind::Comment => Some("2"),
            Kind::Quoted => Some("33"),
            Kind::Meta => Some("35"),
            _ => None,
        };
        match sgr {
            Some(code) => {
                coloured = true;
                out.push_str(&format!("\x1b[{code}m{text}\x1b[0m"));
            }
            None => out.push_str(text),
        }
    }
    coloured.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_wrap_tokens_and_change_no_text() {
        let line = "select 'x', 42 -- note";
        let h = highlighted(line).expect("coloured");
        assert_eq!(crate::render::text::without_colour(&h), line);
        assert!(h.contains("\x1b[1;34mselect\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[32m'x'\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[36m42\x1b[0m"), "{h:?}");
        assert!(h.contains("\x1b[2m-- note\x1b[0m"), "{h:?}");
        assert_eq!(highlighted("orders"), None);
        assert_eq!(highlighted("select '\u{1b}[2J'"), None);
    }

    #[test]
    fn only_reads_are_hinted() {
        assert!(only_reads("select 1;"));
        assert!(only_reads("select 1; select 2;"));
        assert!(!only_reads("update t set a = 1;"));
        assert!(!only_reads("select 1; delete from t;"));
        assert!(!only_reads("select 1"));
        assert!(!only_reads("\\preview delete from t;"));
    }
}
