//! The rustyline helper: the coloured prompt. Every Enter hands the line to the query
//! buffer ([`super::script`]), as psql reads line by line; the prompt then shows that the
//! statement continues.

use std::borrow::Cow;

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
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

impl Validator for ReplHelper {}
