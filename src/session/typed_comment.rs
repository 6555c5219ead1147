//! The leading comment that puts the typed statement into the server log.
//!
//! pgward sends a write as its rewritten capture, so with `log_statement = all` a DBA
//! would see only the rewrite. The capture therefore opens with a block comment naming
//! pgward, the ticket and the statement as typed. PostgreSQL nests block comments, so
//! every `/*` and `*/` inside is broken up (`/ *`, `* /`): nothing typed can end the
//! comment early or open one that swallows the statement.

/// `sql` behind a comment carrying `ticket` and the `typed` statement.
pub(super) fn with_typed_comment(ticket: Option<&str>, typed: &str, sql: &str) -> String {
    format!(
        "/* pgward ticket={} typed: {} */\n{sql}",
        defuse(ticket.unwrap_or("none")),
        defuse(typed.trim())
    )
}

fn defuse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for c in s.chars() {
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

    #[test]
    fn nothing_typed_can_end_or_nest_the_comment() {
        let s = with_typed_comment(
            Some("OPS-1 */ drop table t; /*"),
            "update t set a = '*/' /* x */ where b = 1",
            "SELECT 1",
        );
        let comment = s.split_once('\n').expect("two lines").0;
        // One opening and one closing marker: the comment's own.
        assert_eq!(comment.matches("/*").count(), 1, "{s}");
        assert_eq!(comment.matches("*/").count(), 1, "{s}");
        assert!(comment.ends_with("*/"), "{s}");
        assert!(s.ends_with("\nSELECT 1"));
        assert!(comment.contains("update t set a = '* /'"), "{s}");
    }

    #[test]
    fn breaks_overlapping_markers() {
        assert_eq!(defuse("/*/"), "/ * /");
        assert_eq!(defuse("**//"), "** //");
    }
}
