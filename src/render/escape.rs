//! Control characters from the database or the input never reach the terminal raw: an
//! escape sequence in a value, a notice or a comment could otherwise repaint the shared
//! screen, hiding a count or a digest the reviewer is reading. Both functions show
//! control characters as visible escapes (`\x1b`).

/// For text on one line: newlines and tabs are escaped too.
pub fn one_line(value: &str) -> String {
    escape(value, false)
}

/// For text that may span lines: newlines and tabs stay, every other control goes.
pub fn multi_line(value: &str) -> String {
    escape(value, true)
}

fn escape(value: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_drives_the_terminal() {
        let hostile = "a\u{1b}[2J\u{7}b\r\nc\td\u{9b}";
        assert_eq!(one_line(hostile), "a\\x1b[2J\\x07b\\r\\nc\\td\\x9b");
        assert_eq!(multi_line(hostile), "a\\x1b[2J\\x07b\\r\nc\td\\x9b");
        assert_eq!(multi_line(&multi_line(hostile)), multi_line(hostile));
    }
}
