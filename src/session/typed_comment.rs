//! The leading comment that puts the typed statement into the server log, verbatim.
//!
//! pgward sends a write as its rewritten capture, so with `log_statement = all` a DBA
//! would see only the rewrite. The capture therefore opens with a block comment naming
//! pgward, the ticket and the statement exactly as typed, so that grepping the server log
//! for what the user typed finds it.
//!
//! A `*/` typed inside a string (`set note = '*/'`) would end a plain comment early, and
//! breaking it up (`* /`) would no longer be what was typed. PostgreSQL nests block
//! comments instead, so the typed text goes in unchanged and the comment is balanced
//! around it: one extra `/*` before it for each `*/` it holds that closes nothing, and
//! one extra `*/` after it for each `/*` it leaves open. [`balance`] follows the server's
//! own lexer rules (scan.l, state `xc`) and a test checks the result with PostgreSQL's
//! scanner itself: the comment ends exactly where pgward's ends.
//!
//! Newlines and tabs stay as typed (the log shows a multi-line statement as psql's would).
//! Any other character the screen escapes ([`crate::render::escape::is_dangerous`]:
//! controls, bidi overrides and isolates, zero-width characters, line and paragraph
//! separators) would reach the log file raw: a carriage return that hides a line, a
//! terminal escape, a bidi override that makes the line read differently from what ran.
//! In a statement holding one, the comment says `typed (escaped)` and shows controls as
//! `\xNN`, the others as `\u{202e}` (and `\` as `\\`).

use crate::render::escape::is_dangerous;

/// `sql` behind a comment carrying `ticket` and the `typed` statement.
pub(super) fn with_typed_comment(ticket: Option<&str>, typed: &str, sql: &str) -> String {
    let ticket = label(ticket.unwrap_or("none"));
    let typed = typed.trim();
    let (how, text) = match escaped(typed) {
        Some(e) => ("typed (escaped)", e),
        None => ("typed", typed.to_string()),
    };
    let (open, close) = balance(&text);
    format!(
        "/* pgward ticket={ticket} {how}: {}{text} {}*/\n{sql}",
        "/*".repeat(open),
        "*/".repeat(close),
    )
}

/// How many `/*` must precede `text` and how many `*/` must follow it (beyond the
/// comment's own) for it to sit whole inside one block comment: the `*/` in it that
/// close nothing, and the `/*` it leaves open. The server's rules inside a comment:
/// `/*` opens (and its two characters are consumed), a run of `*` followed by `/`
/// closes, anything else is skipped one character at a time.
fn balance(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut depth, mut lowest) = (0i64, 0i64);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' {
            while b.get(i) == Some(&b'*') {
                i += 1;
            }
            if b.get(i) == Some(&b'/') {
                depth -= 1;
                lowest = lowest.min(depth);
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    let open = usize::try_from(-lowest).unwrap_or(0);
    let close = usize::try_from(depth - lowest).unwrap_or(0);
    (open, close)
}

/// `s` with control characters other than newline, tab and the CR of a CRLF shown as
/// `\xNN` (and `\` doubled), or `None` when it holds none.
fn escaped(s: &str) -> Option<String> {
    let raw = |c: char, next: Option<char>| {
        c == '\n' || c == '\t' || (c == '\r' && next == Some('\n')) || !is_dangerous(c)
    };
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any |= !raw(c, chars.peek().copied());
    }
    if !any {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if raw(c, chars.peek().copied()) {
            out.push(c);
        } else if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        }
    }
    Some(out)
}

/// The ticket as a label: pgward's own text, so comment markers are broken up and
/// the characters the screen would escape dropped.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for c in s.chars().filter(|&c| !is_dangerous(c)) {
        if (prev == '/' && c == '*') || (prev == '*' && c == '/') {
            out.push(' ');
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_query::protobuf::Token;

    /// PostgreSQL's own scanner: the comment is one token ending right before the
    /// newline pgward put after it, followed by the statement.
    fn comment_of(s: &str) -> &str {
        let tokens = pg_query::scan_tokens(s).expect("scans");
        let first = &tokens[0];
        assert_eq!(Token::try_from(first.token), Ok(Token::CComment), "{s}");
        let end = usize::try_from(first.end).expect("end");
        assert_eq!(
            &s[end..end + 1],
            "\n",
            "the comment ends before the statement: {s}"
        );
        assert_eq!(tokens.len(), 3, "{s}");
        &s[..end]
    }

    #[test]
    fn the_typed_text_stands_whole_inside_one_comment() {
        for typed in [
            "update t set a = 1 where b = 2",
            "update t set a = '*/' where b = 1",
            "update t set a = '/*' where b = 1",
            "update t set a = '*/ drop table t; /*' where b = 1",
            "update t /* a comment */ set a = 1",
            "update t set a = 2 */ 1",
            "update t set a = 1 /",
            "update t set a = '**/*//*/'",
            "*/ update t set a = 1 /*",
            "update t\nset a = '*/'\nwhere b = 1",
            "/**/",
        ] {
            let s = with_typed_comment(Some("OPS-1"), typed, "SELECT 1");
            let comment = comment_of(&s);
            assert!(comment.contains(typed), "{typed:?} verbatim in {comment:?}");
            assert!(comment.starts_with("/* pgward ticket=OPS-1 typed: "), "{s}");
            assert!(s.ends_with("\nSELECT 1"), "{s}");
        }
    }

    #[test]
    fn nothing_in_the_ticket_ends_the_comment() {
        let s = with_typed_comment(
            Some("OPS-1 */ drop table t; /*\n"),
            "update t set a = 1",
            "SELECT 1",
        );
        let comment = comment_of(&s);
        assert!(
            comment.contains("ticket=OPS-1 * / drop table t; / * typed: update t set a = 1 */"),
            "{comment}"
        );
    }

    #[test]
    fn control_characters_other_than_newline_and_tab_are_escaped() {
        let typed = "update t set a = 'x\u{1b}[2Jy\\z'\r\n\twhere b = 1\rc";
        let s = with_typed_comment(None, typed, "SELECT 1");
        let comment = comment_of(&s);
        assert_eq!(
            comment,
            "/* pgward ticket=none typed (escaped): update t set a = 'x\\x1b[2Jy\\\\z'\r\n\twhere b = 1\\x0dc */"
        );
        // Without one, the text is as typed, backslashes and CRLF included.
        let plain = "update t set a = E'\\n'\r\nwhere b = 1";
        assert!(comment_of(&with_typed_comment(None, plain, "SELECT 1")).contains(plain));
    }

    #[test]
    fn bidi_controls_and_separators_are_escaped_as_on_screen() {
        let typed = "update t set a = 'x\u{202e}y\u{2066}z\u{200b}\u{2028}' where b = 1";
        let s = with_typed_comment(Some("OPS\u{202e}-1"), typed, "SELECT 1");
        let comment = comment_of(&s);
        assert_eq!(
            comment,
            "/* pgward ticket=OPS-1 typed (escaped): update t set a = 'x\\u{202e}y\\u{2066}z\\u{200b}\\u{2028}' where b = 1 */"
        );
        assert!(!comment.chars().any(is_dangerous), "{comment:?}");
    }

    #[test]
    fn balance_counts_what_closes_nothing_and_what_stays_open() {
        assert_eq!(balance("a = 1"), (0, 0));
        assert_eq!(balance("'*/'"), (1, 0));
        assert_eq!(balance("'/*'"), (0, 1));
        assert_eq!(balance("/* x */"), (0, 0));
        assert_eq!(balance("*/ x /*"), (1, 1));
        assert_eq!(balance("/**/"), (0, 0));
        assert_eq!(balance("/*/"), (0, 1));
    }
}
