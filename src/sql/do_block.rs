//! `DO` blocks, which sqlparser 0.63 cannot parse.
//!
//! A DO block runs procedural code that pgward cannot see into, so it is an opaque write:
//! it runs in the guarded transaction and its effect is shown as counts only. Its body
//! has already been scanned as code by the forbidden-word scan (`forbidden`). Here the
//! statement's shape is checked token by token — `DO [LANGUAGE name] body` or
//! `DO body [LANGUAGE name]`, nothing else — and only PL/pgSQL is accepted: untrusted
//! languages reach the operating system, and others are unknown.

use sqlparser::tokenizer::Token;

use super::classify::Verdict;
use super::forbidden::{literal, word};
use crate::policy::{Refusal, Rule};

/// The verdict for a statement whose significant tokens are `sig`, if it is a DO block.
pub(crate) fn classify_do(sig: &[&Token]) -> Option<Verdict> {
    if !matches!(sig.first(), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("do"))
    {
        return None;
    }
    let rest = sig.get(1..).unwrap_or_default();
    let is_body = |t: Option<&&Token>| t.is_some_and(|t| literal(t).is_some());
    let language = match rest.len() {
        1 if is_body(rest.first()) => Some("plpgsql".to_owned()),
        3 if word(rest, 0).as_deref() == Some("language") && is_body(rest.get(2)) => word(rest, 1),
        3 if is_body(rest.first()) && word(rest, 1).as_deref() == Some("language") => word(rest, 2),
        _ => None,
    };
    let verdict = match language.as_deref() {
        Some("plpgsql") => Verdict::Write { opaque: true },
        Some(lang) if lang.ends_with('u') => Verdict::Refused(Refusal::new(
            Rule::OutsideReach,
            format!("DO LANGUAGE {lang} (an untrusted language)"),
        )),
        Some(lang) => Verdict::Refused(Refusal::new(
            Rule::Unrecognised,
            format!("DO LANGUAGE {lang} (only plpgsql is supported)"),
        )),
        None => Verdict::Refused(Refusal::new(
            Rule::Unrecognised,
            "DO block of an unexpected shape",
        )),
    };
    Some(verdict)
}
