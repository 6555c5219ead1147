//! What Tab offers: the word under the cursor completed from its context, as psql and
//! pgcli do. After `FROM`, `JOIN`, `UPDATE`, `INTO`, `TABLE` come relations (and schemas;
//! after `schema.` that schema's relations); after `SELECT`, `WHERE`, `SET`, `ON`, `AND`,
//! `BY`, a comma or an operator come the columns of the relations the statement names
//! (its aliases resolved; after `alias.` that relation's columns), then functions and
//! keywords; right after a relation name come the keywords that can follow it; at a
//! backslash, meta-commands; after a describe command, relations; after `\c`, the
//! config file's environments; after `\h`, SQL command names. Anywhere else,
//! keywords. Keywords keep the case of what was typed (upper case when nothing was).
//!
//! It reads only the text and the catalog loaded in the background ([`super::catalog`]),
//! never the history: a past statement is never offered, a write least of all. Every
//! lookup is a scan of in-memory names, so it answers in well under a millisecond for
//! thousands of tables (bench/complete.rs measures it).

use super::catalog::{Catalog, Relation};
use super::lex::{self, Kind, Token};

/// Meta-commands, for completion after a backslash.
pub const META_COMMANDS: &[&str] = &[
    "\\?",
    "\\C",
    "\\a",
    "\\again",
    "\\c",
    "\\connect",
    "\\conninfo",
    "\\copy",
    "\\d",
    "\\d+",
    "\\dS",
    "\\df",
    "\\dg",
    "\\di",
    "\\diff",
    "\\dm",
    "\\dn",
    "\\dp",
    "\\ds",
    "\\dt",
    "\\dt+",
    "\\dT",
    "\\du",
    "\\dv",
    "\\dx",
    "\\e",
    "\\echo",
    "\\errverbose",
    "\\f",
    "\\g",
    "\\gset",
    "\\gx",
    "\\h",
    "\\help",
    "\\i",
    "\\ir",
    "\\l",
    "\\o",
    "\\p",
    "\\preview",
    "\\pset",
    "\\q",
    "\\r",
    "\\set",
    "\\sf",
    "\\t",
    "\\timing",
    "\\unset",
    "\\watch",
    "\\x",
];

/// Words that start a statement.
const STARTERS: &[&str] = &[
    "ABORT",
    "ALTER",
    "ANALYZE",
    "BEGIN",
    "CALL",
    "COMMENT",
    "COMMIT",
    "CREATE",
    "DELETE FROM",
    "DO",
    "DROP",
    "END",
    "EXPLAIN",
    "GRANT",
    "INSERT INTO",
    "LOCK",
    "MERGE INTO",
    "RELEASE",
    "RESET",
    "REVOKE",
    "ROLLBACK",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "SHOW",
    "TABLE",
    "TRUNCATE",
    "UPDATE",
    "VALUES",
    "WITH",
];

/// Words inside an expression or after a select list.
const EXPRESSION: &[&str] = &[
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "CASE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "EXISTS",
    "FALSE",
    "FROM",
    "GROUP BY",
    "HAVING",
    "ILIKE",
    "IN",
    "IS",
    "JOIN",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "OR",
    "ORDER BY",
    "RETURNING",
    "THEN",
    "TRUE",
    "UNION",
    "WHEN",
    "WHERE",
];

/// What may follow `FROM rel`, `UPDATE rel`, `INTO rel`…, by the word before the relation.
fn after_relation(introducer: &str) -> &'static [&'static str] {
    match introducer {
        "UPDATE" => &["AS", "SET"],
        "INTO" => &["AS", "DEFAULT VALUES", "OVERRIDING", "SELECT", "VALUES"],
        "TABLE" => &["LIMIT", "ORDER BY"],
        _ => &[
            "AS",
            "CROSS JOIN",
            "FULL JOIN",
            "GROUP BY",
            "INNER JOIN",
            "JOIN",
            "LEFT JOIN",
            "LIMIT",
            "NATURAL JOIN",
            "OFFSET",
            "ON",
            "ORDER BY",
            "RIGHT JOIN",
            "USING",
            "WHERE",
        ],
    }
}

/// Words after which a relation name comes.
const RELATION_BEFORE: &[&str] = &[
    "FROM", "JOIN", "UPDATE", "INTO", "TABLE", "TRUNCATE", "ONLY",
];

/// Words (and punctuation) after which a column or expression comes.
const COLUMN_BEFORE: &[&str] = &[
    "SELECT",
    "WHERE",
    "SET",
    "ON",
    "AND",
    "OR",
    "BY",
    "HAVING",
    "DISTINCT",
    "RETURNING",
    "NOT",
    "WHEN",
    "THEN",
    "ELSE",
    "CASE",
    "USING",
    ",",
    "(",
    "=",
    "<",
    ">",
    "<>",
    "!=",
    ">=",
    "<=",
    "+",
    "-",
    "*",
    "/",
];

/// After `\h`: the SQL command names `\h` knows that start with what follows it
/// (`after` is where the meta-command ends), names of several words included, in lower
/// case when the topic starts in lower case.
fn help_topics(before: &str, after: usize) -> (usize, Vec<String>) {
    let typed = before[after..].trim_start();
    let from = before.len() - typed.len();
    let lower = typed.starts_with(|c: char| c.is_ascii_lowercase());
    let found = super::help::commands()
        .filter(|n| {
            n.len() >= typed.len()
                && n.as_bytes()[..typed.len()].eq_ignore_ascii_case(typed.as_bytes())
        })
        .map(|n| {
            if lower {
                n.to_ascii_lowercase()
            } else {
                n.to_string()
            }
        })
        .collect();
    (from, found)
}

/// The candidates for the word at `pos` in `line`: where it starts, and the words.
pub fn complete(line: &str, pos: usize, catalog: &Catalog) -> (usize, Vec<String>) {
    complete_in(line, pos, catalog, &[])
}

/// As [`complete`], with the config file's `environments` offered after `\c` and
/// `\connect`.
pub fn complete_in(
    line: &str,
    pos: usize,
    catalog: &Catalog,
    environments: &[String],
) -> (usize, Vec<String>) {
    let pos = floor_boundary(line, pos);
    let before = &line[..pos];
    let all = lex::tokens(line);
    let (word, start, qualifier) = current_word(before, &all);
    let prefix = word.trim_start_matches('"');

    // A backslash command, or its argument.
    let significant: Vec<&Token> = all
        .iter()
        .filter(|t| t.end <= start && !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect();
    if let Some(first) = significant.first().filter(|t| t.kind == Kind::Meta) {
        let command = first.text(line);
        if command == "\\c" || command == "\\connect" {
            let typed = prefix.trim_start_matches('\'');
            let found = environments
                .iter()
                .filter(|e| e.starts_with(typed))
                .map(|e| quote_environment(e))
                .collect();
            return (start, found);
        }
        if command == "\\h" || command == "\\help" {
            return help_topics(before, first.end);
        }
        if command.starts_with("\\sf") {
            return (start, prepared(&catalog.function_names, prefix));
        }
        if command.starts_with("\\d") {
            return (start, relations(catalog, qualifier.as_deref(), prefix));
        }
        return (start, Vec::new());
    }
    if word.starts_with('\\') || (word.is_empty() && before.ends_with('\\')) {
        let at = before.rfind('\\').unwrap_or(start);
        let typed = &before[at..];
        return (
            at,
            META_COMMANDS
                .iter()
                .filter(|m| m.starts_with(typed))
                .map(|m| m.to_string())
                .collect(),
        );
    }

    // The statement the cursor is in: from the last `;` before it to the next after it.
    let from = significant
        .iter()
        .rposition(|t| t.text(line) == ";")
        .map_or(0, |i| significant[i].end);
    let statement: Vec<&Token> = all
        .iter()
        .filter(|t| t.start >= from && !matches!(t.kind, Kind::Space | Kind::Comment))
        .take_while(|t| t.start < start || t.text(line) != ";")
        .collect();
    let prior: Vec<String> = statement
        .iter()
        .filter(|t| t.end <= start - qualifier.as_ref().map_or(0, |q| q.len() + 1))
        .map(|t| t.text(line).to_ascii_uppercase())
        .collect();
    let named = named_relations(line, &statement, start, catalog);

    if let Some(q) = &qualifier {
        // `alias.` or `table.`: its columns; `schema.`: its relations.
        if let Some(rel) = named
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(q))
            .map(|(_, r)| *r)
            .or_else(|| catalog.relation(None, q))
        {
            return (start, matching(rel.columns.iter(), prefix));
        }
        return (start, relations(catalog, Some(q), prefix));
    }

    let last = prior.last().map(String::as_str).unwrap_or("");
    let second = prior.len().checked_sub(2).map_or("", |i| prior[i].as_str());
    let keywords = |words: &[&str]| keyword_case(words, word);

    if prior.is_empty() {
        return (start, keywords(STARTERS));
    }
    if RELATION_BEFORE.contains(&last) || (last == "," && in_from_list(&prior)) {
        return (start, relations(catalog, None, prefix));
    }
    if RELATION_BEFORE.contains(&second) && last != "(" && !COLUMN_BEFORE.contains(&last) {
        // Right after a relation name.
        return (start, keywords(after_relation(second)));
    }
    if COLUMN_BEFORE.contains(&last) {
        let update_set = last == "SET" && prior.first().is_some_and(|w| w == "UPDATE");
        let mut out: Vec<String> = Vec::new();
        let sources: Vec<&Relation> = if update_set {
            named.iter().take(1).map(|(_, r)| *r).collect()
        } else {
            named.iter().map(|(_, r)| *r).collect()
        };
        for rel in sources {
            for c in matching(rel.columns.iter(), prefix) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        if !update_set {
            out.extend(prepared(&catalog.function_names, prefix));
            out.extend(keywords(EXPRESSION));
        }
        return (start, out);
    }
    let mut out = keywords(EXPRESSION);
    out.extend(keywords(STARTERS));
    out.sort();
    out.dedup();
    (start, out)
}

/// An environment name as `\c` reads it back: as it is when it is one plain word,
/// else in single quotes (psql's quoting of meta-command arguments).
fn quote_environment(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// The largest char boundary at or before `pos`.
fn floor_boundary(line: &str, pos: usize) -> usize {
    let mut p = pos.min(line.len());
    while !line.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// The word the cursor ends (empty after a blank or punctuation), where it starts, and
/// the name before a `.` it follows, unquoted.
fn current_word<'a>(before: &'a str, all: &[Token]) -> (&'a str, usize, Option<String>) {
    let end = before.len();
    let tok = all
        .iter()
        .find(|t| t.start < end && t.end >= end)
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted | Kind::Meta));
    let (start, word) = match tok {
        Some(t) => (t.start, &before[t.start..end]),
        None => (end, ""),
    };
    let qualifier = before[..start].strip_suffix('.').and_then(|head| {
        all.iter()
            .find(|t| t.end == head.len() && matches!(t.kind, Kind::Word | Kind::Quoted))
            .map(|t| unquote(&head[t.start..t.end]))
    });
    (word, start, qualifier)
}

fn unquote(name: &str) -> String {
    match name.strip_prefix('"') {
        Some(inner) => inner
            .strip_suffix('"')
            .unwrap_or(inner)
            .replace("\"\"", "\""),
        None => name.to_lowercase(),
    }
}

/// True when the last relation-introducing word before a trailing comma is FROM (a
/// comma-separated FROM list), not SELECT or SET.
fn in_from_list(prior: &[String]) -> bool {
    prior
        .iter()
        .rev()
        .find(|w| ["FROM", "SELECT", "SET", "WHERE", "BY", "(", "VALUES"].contains(&w.as_str()))
        .is_some_and(|w| w == "FROM")
}

/// The relations the statement names (anywhere, before or after the cursor), each with
/// its alias (or its own name), first named first.
fn named_relations<'c>(
    line: &str,
    statement: &[&Token],
    cursor: usize,
    catalog: &'c Catalog,
) -> Vec<(String, &'c Relation)> {
    let mut out = Vec::new();
    let words: Vec<(String, &Token)> = statement
        .iter()
        .map(|t| (t.text(line).to_ascii_uppercase(), *t))
        .collect();
    let mut i = 0;
    while i < words.len() {
        let introduces = RELATION_BEFORE.contains(&words[i].0.as_str())
            || (words[i].0 == ","
                && in_from_list(&words[..i].iter().map(|w| w.0.clone()).collect::<Vec<_>>()));
        i += 1;
        if !introduces || i >= words.len() {
            continue;
        }
        let is_name = |t: &Token| matches!(t.kind, Kind::Word | Kind::Quoted) && t.end != cursor;
        if !is_name(words[i].1) {
            continue;
        }
        let mut schema = None;
        let mut name = unquote(words[i].1.text(line));
        if words.get(i + 1).is_some_and(|w| w.0 == ".")
            && words.get(i + 2).is_some_and(|w| is_name(w.1))
        {
            schema = Some(name);
            name = unquote(words[i + 2].1.text(line));
            i += 2;
        }
        i += 1;
        let Some(rel) = catalog.relation(schema.as_deref(), &name) else {
            continue;
        };
        let mut alias = name.clone();
        let mut j = i;
        if words.get(j).is_some_and(|w| w.0 == "AS") {
            j += 1;
        }
        if let Some((w, t)) = words.get(j) {
            let clause = t.kind == Kind::Word && follows_relation(w);
            if matches!(t.kind, Kind::Word | Kind::Quoted) && !clause && t.start != cursor {
                alias = unquote(t.text(line));
            }
        }
        out.push((alias, rel));
    }
    out
}

/// True when `word` (upper case) is one that may follow a relation name and is no alias:
/// PostgreSQL's reserved words and the join and clause words. (sqlparser's keyword list
/// is far larger, and holds words like ITEMS that are everyday table names.)
fn follows_relation(word: &str) -> bool {
    const CLAUSE: &[&str] = &[
        "CROSS",
        "FULL",
        "INNER",
        "JOIN",
        "LEFT",
        "NATURAL",
        "OVERRIDING",
        "RIGHT",
        "SET",
        "TABLESAMPLE",
        "VALUES",
    ];
    CLAUSE.contains(&word) || reserved(&word.to_lowercase())
}

/// Relations (quoted where needed) whose name starts with `prefix`; without a schema,
/// the visible ones and the schemas (as `schema.`), with one, that schema's.
fn relations(catalog: &Catalog, schema: Option<&str>, prefix: &str) -> Vec<String> {
    if let Some(s) = schema {
        let mut out: Vec<String> = catalog
            .relations
            .iter()
            .filter(|r| r.schema.eq_ignore_ascii_case(s))
            .map(|r| r.name.as_str())
            .filter(|n| starts_with(n, prefix))
            .map(quote)
            .collect();
        out.sort();
        out.dedup();
        return out;
    }
    // Prepared and sorted when the catalog loaded: a scan, no sorting here.
    catalog
        .visible
        .iter()
        .filter(|n| n.matches(prefix))
        .map(|n| n.shown.clone())
        .chain(
            catalog
                .schema_names
                .iter()
                .filter(|n| n.matches(prefix))
                .map(|n| format!("{}.", n.shown)),
        )
        .collect()
}

fn prepared(names: &[super::catalog::Name], prefix: &str) -> Vec<String> {
    names
        .iter()
        .filter(|n| n.matches(prefix))
        .map(|n| n.shown.clone())
        .collect()
}

fn matching<'a>(names: impl Iterator<Item = &'a String>, prefix: &str) -> Vec<String> {
    names
        .filter(|n| starts_with(n, prefix))
        .map(|n| quote(n))
        .collect()
}

/// Keywords and plain names match in any case, as SQL folds them; a name that must be
/// quoted matches only as written, as psql's completion does.
fn starts_with(name: &str, prefix: &str) -> bool {
    let fits = name.len() >= prefix.len() && name.is_char_boundary(prefix.len());
    if !fits {
        return false;
    }
    let head = &name[..prefix.len()];
    if name.chars().any(|c| c.is_uppercase()) && name.chars().any(|c| c.is_lowercase()) {
        head == prefix
    } else {
        head.eq_ignore_ascii_case(prefix)
    }
}

/// `name` as it must be typed: double-quoted unless it is lower case letters, digits and
/// underscores, and no keyword.
pub(super) fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !reserved(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Words PostgreSQL reserves, which a name must quote.
fn reserved(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&name)
}

/// Keywords starting with `typed`, in its case (upper when it has no letters).
fn keyword_case(words: &[&str], typed: &str) -> Vec<String> {
    let lower = typed.chars().any(|c| c.is_ascii_lowercase());
    words
        .iter()
        .filter(|w| starts_with(w, typed))
        .map(|w| {
            if lower {
                w.to_lowercase()
            } else {
                w.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Catalog {
        let rel = |schema: &str, name: &str, columns: &[&str]| Relation {
            schema: schema.into(),
            name: name.into(),
            visible: schema == "public",
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        Catalog::new(
            vec!["public".into(), "sales".into()],
            vec![
                rel(
                    "public",
                    "orders",
                    &["id", "customer_id", "status", "total"],
                ),
                rel("public", "customers", &["id", "email", "name"]),
                rel("public", "Odd Name", &["Mixed"]),
                rel("sales", "leads", &["id", "source"]),
            ],
            vec!["now".into(), "count".into(), "coalesce".into()],
        )
    }

    fn at_end(line: &str) -> Vec<String> {
        complete(line, line.len(), &shop()).1
    }

    #[test]
    fn columns_after_update_set_are_the_target_tables() {
        assert_eq!(
            at_end("UPDATE orders SET "),
            vec!["id", "customer_id", "status", "total"]
        );
        assert_eq!(at_end("update orders set st"), vec!["status"]);
        assert_eq!(at_end("update orders set status = 'x', to"), vec!["total"]);
    }

    #[test]
    fn relations_after_from_join_update_into() {
        assert_eq!(at_end("select * from cu"), vec!["customers"]);
        assert_eq!(at_end("SELECT * FROM orders o JOIN c"), vec!["customers"]);
        assert_eq!(at_end("insert into o"), vec!["orders"]);
        assert_eq!(
            at_end("update "),
            vec!["\"Odd Name\"", "customers", "orders", "public.", "sales."]
        );
        assert_eq!(at_end("select * from sales."), vec!["leads"]);
        assert_eq!(at_end("select * from orders, cu"), vec!["customers"]);
        assert_eq!(
            complete("select * from sales.le", 22, &shop()),
            (20, vec!["leads".to_string()])
        );
    }

    #[test]
    fn columns_in_context_with_aliases() {
        let cols = at_end("select * from orders o join customers c on c.");
        assert_eq!(cols, vec!["id", "email", "name"]);
        let line = "select o.to from orders o";
        assert_eq!(complete(line, 11, &shop()), (9, vec!["total".to_string()]));
        // The cursor before FROM: the relations named after it count.
        let line = "select em from customers";
        assert_eq!(complete(line, 9, &shop()).1[0], "email");
        let w = at_end("select * from orders where cust");
        assert_eq!(w, vec!["customer_id"]);
        assert!(at_end("select * from orders where ").contains(&"status".to_string()));
        assert!(at_end("select * from orders where c").contains(&"count".to_string()));
        assert_eq!(
            at_end("select * from \"Odd Name\" where M"),
            vec!["\"Mixed\""]
        );
    }

    #[test]
    fn names_that_sqlparser_calls_keywords_are_relations() {
        let c = Catalog::new(
            vec![],
            vec![Relation {
                schema: "public".into(),
                name: "items".into(),
                visible: true,
                columns: vec!["qty".into(), "note".into()],
            }],
            vec![],
        );
        assert_eq!(complete("update items set ", 17, &c).1, vec!["qty", "note"]);
        assert_eq!(complete("select i.q from items i", 10, &c).1, vec!["qty"]);
    }

    #[test]
    fn keywords_after_a_relation_and_at_the_start() {
        assert_eq!(at_end("update orders "), vec!["AS", "SET"]);
        assert_eq!(at_end("update orders s"), vec!["set"]);
        assert!(at_end("select * from orders w").contains(&"where".to_string()));
        assert_eq!(at_end("sel"), vec!["select"]);
        assert_eq!(at_end("select 1; UPD"), vec!["UPDATE"]);
    }

    #[test]
    fn meta_commands_and_their_arguments() {
        assert_eq!(at_end("\\con"), vec!["\\connect", "\\conninfo"]);
        assert!(at_end("\\d").contains(&"\\dt".to_string()));
        assert_eq!(at_end("\\d ord"), vec!["orders"]);
        assert_eq!(at_end("\\sf co"), vec!["count", "coalesce"]);
        assert_eq!(at_end("\\h"), vec!["\\h", "\\help"]);
        assert_eq!(at_end("\\h upd"), vec!["update"]);
        assert_eq!(
            at_end("\\help ALTER TAB"),
            vec!["ALTER TABLE", "ALTER TABLESPACE"]
        );
        assert_eq!(
            complete("\\h alter ta", 11, &shop()).0,
            3,
            "the whole topic"
        );
        assert!(at_end("\\h ").len() > 150);
    }

    #[test]
    fn environments_after_connect() {
        let envs = ["prod".to_string(), "staging".into(), "staging eu".into()];
        let c = shop();
        let at = |line: &str| complete_in(line, line.len(), &c, &envs).1;
        assert_eq!(at("\\c st"), vec!["staging", "'staging eu'"]);
        assert_eq!(at("\\connect p"), vec!["prod"]);
        assert_eq!(at("\\c "), vec!["prod", "staging", "'staging eu'"]);
        assert!(at("\\d p").iter().all(|n| n != "prod"), "only after \\c");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for line in [
            "",
            "'",
            "\"",
            "é",
            "select é",
            "\\",
            ".",
            "a.",
            "select * from \"x",
            ";;",
            "$$",
        ] {
            for pos in 0..=line.len() + 1 {
                let _ = complete(line, pos, &shop());
            }
        }
    }
}
