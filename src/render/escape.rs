//! Nothing from the database or the input drives the terminal: an escape sequence in a
//! value, a name or a notice could otherwise repaint the shared screen (clear it, draw a
//! fake change set, set a scroll region that hides the real one), and a bidi override or
//! an invisible character could make the text read differently from what it is.
//!
//! Every such character is shown as a visible escape: C0 and C1 controls and DEL as
//! `\x1b` (`\n`, `\r`, `\t` for the common three), everything else on the list as
//! `\u{202e}`. The list ([`is_dangerous`]) is the Unicode format characters (bidi
//! embeddings, overrides, isolates and marks, zero-width spaces and joiners, the BOM,
//! invisible operators and tags) and the line and paragraph separators. The escapes are
//! plain ASCII, so escaping twice changes nothing.
//!
//! Bytes that are not UTF-8 (a SQL_ASCII database's Latin-1 text, see
//! [`crate::session::copy_rows`]) never reach the screen raw either: [`bytes`] shows each
//! one as `\xe9`, in the same notation, before any of the above applies.
//!
//! [`one_line`] is for text that must stay on its line (names, tags, cells); the layout
//! around it is pgward's. [`multi_line`] keeps newline and tab, for text that may span
//! lines. The terminal writer ([`crate::session::Io`]) applies [`multi_line`] to every
//! byte it writes, so a renderer that forgets cannot let a sequence through; renderers
//! apply [`one_line`] where a newline would forge a line of pgward's own.

/// For text on one line: newlines and tabs are escaped too.
pub fn one_line(value: &str) -> String {
    escape(value, false)
}

/// For text that may span lines: newlines and tabs stay, every other dangerous
/// character goes.
pub fn multi_line(value: &str) -> String {
    escape(value, true)
}

/// Text from bytes that may not be UTF-8: valid UTF-8 as it is, every byte of an invalid
/// sequence as `\xe9` (lowercase hex, like the controls above).
pub fn bytes(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    let mut chunks = raw.utf8_chunks();
    let Some(first) = chunks.next() else {
        return std::borrow::Cow::Borrowed("");
    };
    if first.invalid().is_empty() {
        return std::borrow::Cow::Borrowed(first.valid());
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// True for a character that must not reach a terminal raw: controls (C0, DEL, C1),
/// Unicode format characters (bidi controls, zero-width characters, BOM, tags, …) and the
/// line and paragraph separators.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (format), as of Unicode 16: invisible characters that
/// change how the text around them is shown.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn escape(value: &str, keep_lines: bool) -> String {
    if !value.chars().any(is_dangerous) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
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
        let hostile = "a\u{1b}[2J\u{7}b\r\nc\td\u{9b}\u{7f}";
        assert_eq!(one_line(hostile), "a\\x1b[2J\\x07b\\r\\nc\\td\\x9b\\x7f");
        assert_eq!(multi_line(hostile), "a\\x1b[2J\\x07b\\r\nc\td\\x9b\\x7f");
        assert_eq!(multi_line(&multi_line(hostile)), multi_line(hostile));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_escaped() {
        assert_eq!(bytes(b"caf\xe9"), "caf\\xe9");
        assert_eq!(bytes("café".as_bytes()), "café");
        assert_eq!(bytes(b""), "");
        assert_eq!(bytes(b"\xff\xfea\xc3"), "\\xff\\xfea\\xc3");
        // What is left is plain text: escaping it for the screen changes nothing.
        assert_eq!(multi_line(&bytes(b"\xe9\xe8")), "\\xe9\\xe8");
    }

    #[test]
    fn nothing_reorders_or_hides_text() {
        assert_eq!(one_line("abc\u{202e}fed"), "abc\\u{202e}fed");
        for c in [
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{2028}',
            '\u{2029}',
            '\u{e0041}',
        ] {
            assert!(is_dangerous(c), "{c:?}");
            let shown = multi_line(&c.to_string());
            assert!(shown.starts_with("\\u{") && shown.is_ascii(), "{shown}");
        }
        for c in ['a', 'é', '→', '中', '😀', ' ', '\\'] {
            assert!(!is_dangerous(c), "{c:?}");
        }
    }
}
