//! HTML escaping for the reviewer page: every value that came from a request, a reviewer
//! or the database passes through [`esc`], which escapes the five characters that matter
//! in text and quoted attributes and shows control characters as `\u{…}`, so hostile
//! statements appear as text and cannot break the page.

/// `s`, safe in HTML text and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            super::esc("<script>alert('x')</script>&\"\u{7}\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\\u{7}\\u{202e}"
        );
    }
}
