//! `\h` and `\help`: psql's SQL syntax help, word for word. The text is psql's own
//! (PostgreSQL's documentation, under the PostgreSQL License, whose notice heads the
//! file): `script/gen-sql-help` captures psql's `\h *` into `sql_help.txt`, which is
//! embedded here and cut into one page per command on first use. Printing psql's text
//! rather than writing our own keeps `\h` byte for byte what a psql user knows, and a
//! new PostgreSQL's syntax is one regeneration away.
//!
//! A topic is matched as psql 15's `helpSQL` matches it: trailing spaces and semicolons
//! dropped, then every command whose name starts with the topic (ASCII case ignored),
//! stopping at an exact match (`\h SELECT` is not followed by SELECT INTO); when
//! nothing starts with it, the same with the topic cut to its first two words, then to
//! its first word (`\h ALTER FOO` lists every ALTER page). `*` is every page.

use std::sync::OnceLock;

/// psql's help text under its licence header, as `script/gen-sql-help` wrote it.
const TEXT: &str = include_str!("sql_help.txt");

/// Where each page begins, as psql prints it.
const PAGE_START: &str = "Command:     ";

/// One command's page: its name and the whole text psql prints for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    name: &'static str,
    text: &'static str,
}

fn pages() -> &'static [Page] {
    static PAGES: OnceLock<Vec<Page>> = OnceLock::new();
    PAGES.get_or_init(|| parse(TEXT))
}

/// The command names `\h` knows, in psql's order (for completion).
pub fn commands() -> impl Iterator<Item = &'static str> {
    pages().iter().map(|p| p.name)
}

/// Cuts the file into pages: the header is the leading lines that start with `#`; every
/// page starts at a line beginning `Command:     ` and runs to the next.
fn parse(text: &'static str) -> Vec<Page> {
    let mut body = text;
    while body.starts_with('#') {
        body = body.find('\n').map_or("", |i| &body[i + 1..]);
    }
    let starts: Vec<usize> = body
        .match_indices(PAGE_START)
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || body.as_bytes()[i - 1] == b'\n')
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let end = starts.get(k + 1).copied().unwrap_or(body.len());
            let text = &body[start..end];
            let name = text[PAGE_START.len()..].lines().next().unwrap_or("");
            Page { name, text }
        })
        .collect()
}

/// What `\h TOPIC` prints, as psql prints it. `width` is the terminal's columns for the
/// list of commands (psql assumes 80 when its output is not a terminal).
pub fn help(topic: &str, width: usize) -> String {
    let topic = topic.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == ';');
    if topic.is_empty() {
        return listing(pages(), width);
    }
    let found: Vec<&Page> = matching(pages(), topic);
    if found.is_empty() {
        return format!(
            "No help available for \"{topic}\".\nTry \\h with no arguments to see available help.\n"
        );
    }
    found.iter().map(|p| p.text).collect()
}

/// psql's list of commands: as many columns of the longest name plus one as fit in
/// `width` less three, filled column by column, the last column unpadded.
fn listing(pages: &[Page], width: usize) -> String {
    let widest = pages.iter().map(|p| p.name.len()).max().unwrap_or(0) + 1;
    let columns = (width.saturating_sub(3) / widest).max(1);
    let rows = pages.len().div_ceil(columns);
    let name = |i: usize| pages.get(i).map_or("", |p| p.name);
    let mut out = String::from("Available help:\n");
    for row in 0..rows {
        out.push_str("  ");
        for column in 0..columns - 1 {
            out.push_str(&format!("{:<widest$}", name(row + column * rows)));
        }
        out.push_str(name(row + (columns - 1) * rows));
        out.push('\n');
    }
    out
}

/// The pages `\h topic` shows (`topic` already without trailing spaces and semicolons).
fn matching<'p>(pages: &'p [Page], topic: &str) -> Vec<&'p Page> {
    let topic = topic.as_bytes();
    let mut len = topic.len();
    for pass in 1..=3 {
        if pass > 1 {
            // The opening word, or two: cut at the space after them (psql's loop).
            let mut j = 1;
            let mut cut = 1;
            let word = |j: &mut usize, cut: &mut usize| {
                while *j < len {
                    let c = topic[*j];
                    *j += 1;
                    if c == b' ' {
                        break;
                    }
                    *cut += 1;
                }
            };
            word(&mut j, &mut cut);
            if pass == 2 && j < len {
                cut += 1;
                word(&mut j, &mut cut);
            }
            if cut >= len {
                continue;
            }
            len = cut;
        }
        let mut found = Vec::new();
        for page in pages {
            let name = page.name.as_bytes();
            let starts = name.len() >= len && name[..len].eq_ignore_ascii_case(&topic[..len]);
            if starts || topic == b"*" {
                found.push(page);
                if name.eq_ignore_ascii_case(topic) {
                    break;
                }
            }
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(topic: &str) -> Vec<&'static str> {
        matching(pages(), topic).iter().map(|p| p.name).collect()
    }

    #[test]
    fn the_file_holds_every_page_psql_has() {
        let all = pages();
        assert!(all.len() > 150, "{} pages", all.len());
        assert_eq!(all[0].name, "ABORT");
        assert!(all.iter().all(|p| p.text.contains("\nSyntax:\n")
            && p.text.contains("\nURL: https://www.postgresql.org/docs/")
            && p.text.ends_with("\n\n")));
        assert!(TEXT.contains("PostgreSQL Global Development Group"));
        let body_len: usize = all.iter().map(|p| p.text.len()).sum();
        assert_eq!(body_len, TEXT.len() - TEXT.find("\nCommand:").unwrap() - 1);
    }

    #[test]
    fn topics_match_as_psql_matches_them() {
        assert_eq!(names("update"), vec!["UPDATE"]);
        assert_eq!(
            names("ALTER TABLE"),
            vec!["ALTER TABLE"],
            "exact match stops"
        );
        assert_eq!(names("select"), vec!["SELECT"]);
        assert_eq!(names("sel"), vec!["SELECT", "SELECT INTO"]);
        assert_eq!(
            names("alter table foo"),
            vec!["ALTER TABLE", "ALTER TABLESPACE"]
        );
        let alter = names("alter foo");
        assert!(alter.len() > 30 && alter.iter().all(|n| n.starts_with("ALTER ")));
        assert_eq!(names("Create Index"), vec!["CREATE INDEX"]);
        assert_eq!(names("*").len(), pages().len());
        assert!(names("nosuch").is_empty());
        assert!(names("foo bar baz").is_empty());
        assert!(names("é").is_empty());
    }

    #[test]
    fn topics_lose_trailing_semicolons_and_unknown_ones_say_so() {
        assert!(help("update ; ", 80).starts_with("Command:     UPDATE\n"));
        assert_eq!(
            help("nosuch", 80),
            "No help available for \"nosuch\".\nTry \\h with no arguments to see available help.\n"
        );
    }

    #[test]
    fn the_list_fills_columns_as_wide_as_the_terminal() {
        let narrow = help("", 20);
        assert_eq!(narrow.lines().count(), pages().len() + 1);
        assert!(narrow.lines().nth(1).unwrap() == "  ABORT");
        let wide = help(";", 80);
        let rows = pages().len().div_ceil(2);
        assert_eq!(wide.lines().count(), rows + 1);
        assert!(wide.lines().nth(1).unwrap().starts_with("  ABORT   "));
    }
}
