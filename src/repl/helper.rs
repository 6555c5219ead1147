//! The rustyline helper: the multi-line validator (a statement is complete at a `;`
//! outside quotes, dollar quotes and comments; a backslash command at end of line) and the
//! coloured prompt.

use std::borrow::Cow;

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::Helper;

/// pgward's line-editor helper.
#[derive(Debug, Default)]
pub struct ReplHelper {
    /// The prompt with colour escapes; rustyline measures the plain one.
    pub colored_prompt: String,
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = String;
}

impl Hinter for ReplHelper {
    type Hint = String;
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
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

/// True when the buffer can be submitted.
pub fn is_complete(input: &str) -> bool {
    let t = input.trim();
    t.is_empty() || t.starts_with('\\') || crate::sql::split(input).rest.is_none()
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_for_semicolon() {
        assert!(!super::is_complete("select 1"));
        assert!(!super::is_complete("select ';'"));
        assert!(super::is_complete("select ';';"));
        assert!(super::is_complete("\\q"));
        assert!(!super::is_complete("select $$;"));
    }
}
