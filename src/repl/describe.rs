//! psql's describe meta-commands (`\d`, `\dt`, `\dv`, `\di`, `\dn`, `\du`, `\df`, `\l`)
//! as catalog queries that go through the guarded session like any typed `SELECT`: they
//! are classified, run in a `READ ONLY` transaction under the read role, and printed as
//! tables. Nothing here opens a connection of its own.
//!
//! Two rules keep the generated SQL honest:
//!
//! - **Patterns are data.** A psql pattern (`schema.name`, `*` and `?` wildcards, double
//!   quotes to keep case and literal characters) becomes an anchored regular expression
//!   in which every other regex metacharacter is escaped, then a SQL string literal with
//!   `'` doubled. pgward forces `standard_conforming_strings` on (the probe checks it), so
//!   a backslash in that literal is literal.
//! - **Nothing depends on `search_path`.** Every table, function, type and operator is
//!   written with its schema (`pg_catalog.pg_class`, `OPERATOR(pg_catalog.=)`), so objects
//!   someone created in a schema on the path cannot stand in for the catalog's own.

/// One query of a describe command, and the title printed above its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Printed above the result, like psql's table titles; escaped, on one line.
    pub title: String,
    /// The catalog query, without its terminating `;`.
    pub sql: String,
}

impl Query {
    /// The title may quote the pattern as typed: it is escaped to one line.
    fn new(title: impl Into<String>, sql: String) -> Query {
        Query {
            title: crate::render::escape::one_line(&title.into()),
            sql,
        }
    }
}

/// The describe commands, for `\?`.
pub const HELP: &str = "\
Informational (PATTERN: [schema.]name with * and ?; \"quotes\" keep case)
  \\d               list tables, views, materialized views, sequences, foreign tables
  \\d NAME          describe a table, view, index or sequence: columns, then indexes,
                   constraints, referencing foreign keys and triggers
  \\dt [PATTERN]    list tables
  \\dv [PATTERN]    list views
  \\di [PATTERN]    list indexes
  \\df [PATTERN]    list functions
  \\dn [PATTERN]    list schemas
  \\du [PATTERN]    list roles
  \\l  [PATTERN]    list databases";

/// The queries that `command` with `args` runs: `None` when `command` is not a describe
/// command, `Some(Err(message))` when its pattern cannot be used.
pub fn plan(command: &str, args: &[String]) -> Option<Result<Vec<Query>, String>> {
    let pattern = args.first().map(String::as_str);
    let result = match command {
        "\\d" => match pattern {
            None => relations(Kinds::D, None),
            Some(p) => describe_relation(p),
        },
        "\\dt" => relations(Kinds::Tables, pattern),
        "\\dv" => relations(Kinds::Views, pattern),
        "\\di" => relations(Kinds::Indexes, pattern),
        "\\df" => functions(pattern),
        "\\dn" => schemas(pattern),
        "\\du" | "\\dg" => roles(pattern),
        "\\l" | "\\list" => databases(pattern),
        _ => return None,
    };
    Some(result)
}

/// Splits a meta-command's argument text into words; double quotes keep spaces inside a
/// word and stay part of it, as psql's patterns need them.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            word.push(c);
        } else if c.is_whitespace() && !quoted {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A psql name pattern, as regular expressions: `None` where any name matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Pattern {
    schema: Option<String>,
    name: Option<String>,
    /// True when an unquoted `*` or `?` may match more than one object.
    wildcard: bool,
}

/// Parses `text` into at most `parts` dot-separated parts (1: name, 2: schema.name).
fn parse(text: &str, parts: usize) -> Result<Pattern, String> {
    if text.contains('\0') {
        return Err("a pattern cannot contain a NUL character".into());
    }
    let mut pieces: Vec<String> = vec![String::new()];
    let mut quoted = false;
    let mut wildcard = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let current = pieces.last_mut();
        let Some(re) = current else { break };
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                re.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => pieces.push(String::new()),
            '*' if !quoted => {
                wildcard = true;
                re.push_str(".*");
            }
            '?' if !quoted => {
                wildcard = true;
                re.push('.');
            }
            c if "|*+?()[]{}.^$\\".contains(c) => {
                re.push('\\');
                re.push(c);
            }
            c if !quoted => re.push(c.to_ascii_lowercase()),
            c => re.push(c),
        }
    }
    if pieces.len() > parts {
        return Err(format!(
            "improper qualified name (too many dotted names): {text}"
        ));
    }
    let anchored = |re: String| (!re.is_empty() && re != ".*").then(|| format!("^({re})$"));
    let name = pieces.pop().and_then(anchored);
    let schema = pieces.pop().and_then(anchored);
    Ok(Pattern {
        schema,
        name,
        wildcard,
    })
}

/// `text` as a SQL string literal. `standard_conforming_strings` is on in every pgward
/// session, so doubling `'` is the whole of the quoting.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn op(left: &str, operator: &str, right: &str) -> String {
    format!("{left} OPERATOR(pg_catalog.{operator}) {right}")
}

fn eq(left: &str, right: &str) -> String {
    op(left, "=", right)
}

/// `column` is one of the `"char"` codes.
fn any_of(column: &str, codes: &[char]) -> String {
    let alternatives: Vec<String> = codes
        .iter()
        .map(|c| eq(column, &literal(&c.to_string())))
        .collect();
    format!("({})", alternatives.join(" OR "))
}

/// The conditions a pattern adds, as psql's `processSQLNamePattern` does: without a
/// schema part, only objects visible on `search_path` (`visible`, if given) match.
fn conditions(
    pattern: Option<&Pattern>,
    schema_column: Option<&str>,
    name_column: &str,
    visible: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(p) = pattern else {
        out.extend(visible.map(str::to_string));
        return out;
    };
    if let Some(re) = &p.name {
        out.push(op(name_column, "~", &literal(re)));
    }
    match (&p.schema, schema_column) {
        (Some(re), Some(column)) => out.push(op(column, "~", &literal(re))),
        (None, _) => out.extend(visible.map(str::to_string)),
        (Some(_), None) => {}
    }
    out
}

/// psql's filter of system schemas when no pattern is given.
fn not_system(schema_column: &str) -> Vec<String> {
    vec![
        op(schema_column, "<>", "'pg_catalog'"),
        format!("NOT {}", op(schema_column, "~", "'^pg_toast'")),
        op(schema_column, "<>", "'information_schema'"),
    ]
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("\nWHERE {}", conditions.join("\n  AND "))
    }
}

const RELKIND_LABEL: &[(char, &str)] = &[
    ('r', "table"),
    ('v', "view"),
    ('m', "materialized view"),
    ('i', "index"),
    ('S', "sequence"),
    ('t', "TOAST table"),
    ('f', "foreign table"),
    ('p', "partitioned table"),
    ('I', "partitioned index"),
];

fn relkind_label(column: &str) -> String {
    let arms: Vec<String> = RELKIND_LABEL
        .iter()
        .map(|(code, label)| {
            format!(
                "WHEN {} THEN {}",
                eq(column, &literal(&code.to_string())),
                literal(label)
            )
        })
        .collect();
    format!("CASE {} END", arms.join(" "))
}

/// Which relations a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinds {
    /// `\d` without a name: tables, views, materialized views, sequences, foreign tables.
    D,
    Tables,
    Views,
    Indexes,
}

fn relations(kinds: Kinds, pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let codes: &[char] = match kinds {
        Kinds::D => &['r', 'p', 'v', 'm', 'S', 'f'],
        Kinds::Tables => &['r', 'p'],
        Kinds::Views => &['v'],
        Kinds::Indexes => &['i', 'I'],
    };
    let mut conds = vec![any_of("c.relkind", codes)];
    if parsed.is_none() {
        conds.extend(not_system("n.nspname"));
    }
    conds.extend(conditions(
        parsed.as_ref(),
        Some("n.nspname"),
        "c.relname",
        Some("pg_catalog.pg_table_is_visible(c.oid)"),
    ));
    let (table_column, table_join) = if kinds == Kinds::Indexes {
        (
            ",\n  t.relname AS \"Table\"",
            format!(
                "\nLEFT JOIN pg_catalog.pg_index i ON {}\
                 \nLEFT JOIN pg_catalog.pg_class t ON {}",
                eq("i.indexrelid", "c.oid"),
                eq("t.oid", "i.indrelid")
            ),
        )
    } else {
        ("", String::new())
    };
    let sql = format!(
        "SELECT n.nspname AS \"Schema\",\n  c.relname AS \"Name\",\n  {} AS \"Type\",\n  \
         pg_catalog.pg_get_userbyid(c.relowner) AS \"Owner\"{table_column}\n\
         FROM pg_catalog.pg_class c\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}{table_join}{}\nORDER BY 1, 2",
        relkind_label("c.relkind"),
        eq("n.oid", "c.relnamespace"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of relations", sql)])
}

/// `\d NAME`: the matching relations, their columns, then one table of what psql shows
/// under a table's columns (indexes, check and foreign-key constraints, referencing
/// foreign keys, triggers).
fn describe_relation(pattern: &str) -> Result<Vec<Query>, String> {
    let parsed = parse(pattern, 2)?;
    let conds = conditions(
        Some(&parsed),
        Some("n.nspname"),
        "c.relname",
        Some("pg_catalog.pg_table_is_visible(c.oid)"),
    );
    let rel = format!(
        "WITH rel AS (\n  SELECT c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS label\n  \
         FROM pg_catalog.pg_class c\n  LEFT JOIN pg_catalog.pg_namespace n ON {}{}\n)\n",
        eq("n.oid", "c.relnamespace"),
        where_clause(&conds).replace('\n', "\n  "),
    );
    // Without a wildcard at most one relation matches; with one, every row says which.
    let (label, label_order) = if parsed.wildcard {
        ("rel.label AS \"Table\",\n  ", "rel.label, ")
    } else {
        ("", "")
    };

    let header = format!(
        "SELECT n.nspname AS \"Schema\",\n  c.relname AS \"Name\",\n  {} AS \"Type\",\n  \
         pg_catalog.pg_get_userbyid(c.relowner) AS \"Owner\"\n\
         FROM pg_catalog.pg_class c\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}{}\nORDER BY 1, 2",
        relkind_label("c.relkind"),
        eq("n.oid", "c.relnamespace"),
        where_clause(&conds),
    );

    let default = format!(
        "CASE WHEN {} THEN 'generated always as identity'\n    \
         WHEN {} THEN 'generated by default as identity'\n    \
         WHEN {} THEN pg_catalog.concat('generated always as (', pg_catalog.pg_get_expr(d.adbin, d.adrelid), ') stored')\n    \
         ELSE pg_catalog.pg_get_expr(d.adbin, d.adrelid) END",
        eq("a.attidentity", "'a'"),
        eq("a.attidentity", "'d'"),
        eq("a.attgenerated", "'s'"),
    );
    let columns = format!(
        "{rel}SELECT {label}a.attname AS \"Column\",\n  \
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS \"Type\",\n  \
         (SELECT co.collname FROM pg_catalog.pg_collation co, pg_catalog.pg_type ty\n   \
         WHERE {} AND {} AND {}) AS \"Collation\",\n  \
         CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS \"Nullable\",\n  \
         {default} AS \"Default\"\n\
         FROM rel\n\
         JOIN pg_catalog.pg_attribute a ON {}\n\
         LEFT JOIN pg_catalog.pg_attrdef d ON {} AND {}\n\
         WHERE {} AND NOT a.attisdropped\n\
         ORDER BY {label_order}a.attnum",
        eq("co.oid", "a.attcollation"),
        eq("ty.oid", "a.atttypid"),
        op("a.attcollation", "<>", "ty.typcollation"),
        eq("a.attrelid", "rel.oid"),
        eq("d.adrelid", "a.attrelid"),
        eq("d.adnum", "a.attnum"),
        op("a.attnum", ">", "0"),
    );

    const INDEX_DEF: &str = "pg_catalog.concat_ws(' ',\n      \
         CASE WHEN i.indisprimary THEN 'PRIMARY KEY,' WHEN i.indisunique THEN 'UNIQUE,' END,\n      \
         pg_catalog.regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid, 0, true), '^.*? USING ', ''),\n      \
         CASE WHEN NOT i.indisvalid THEN 'INVALID' END)";
    let footer = format!(
        "{rel}SELECT {label}s.kind AS \"Kind\", s.name AS \"Name\", s.definition AS \"Definition\"\n\
         FROM rel JOIN (\n  \
         SELECT i.indrelid AS relid, 1 AS ord, 'index' AS kind, ic.relname::pg_catalog.text AS name,\n    \
         {INDEX_DEF} AS definition\n  \
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON {}\n  \
         UNION ALL\n  \
         SELECT r.conrelid, 2, 'check', r.conname::pg_catalog.text, pg_catalog.pg_get_constraintdef(r.oid, true)\n  \
         FROM pg_catalog.pg_constraint r WHERE {}\n  \
         UNION ALL\n  \
         SELECT r.conrelid, 3, 'foreign key', r.conname::pg_catalog.text, pg_catalog.pg_get_constraintdef(r.oid, true)\n  \
         FROM pg_catalog.pg_constraint r WHERE {}\n  \
         UNION ALL\n  \
         SELECT r.confrelid, 4, 'referenced by', r.conname::pg_catalog.text,\n    \
         pg_catalog.concat('TABLE ', r.conrelid::pg_catalog.regclass::pg_catalog.text, ' ', pg_catalog.pg_get_constraintdef(r.oid, true))\n  \
         FROM pg_catalog.pg_constraint r WHERE {}\n  \
         UNION ALL\n  \
         SELECT t.tgrelid, 5, 'trigger', t.tgname::pg_catalog.text, pg_catalog.pg_get_triggerdef(t.oid, true)\n  \
         FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal\n\
         ) s ON {}\n\
         ORDER BY {label_order}s.ord, s.name",
        eq("ic.oid", "i.indexrelid"),
        eq("r.contype", "'c'"),
        eq("r.contype", "'f'"),
        eq("r.contype", "'f'"),
        eq("s.relid", "rel.oid"),
    );
    Ok(vec![
        Query::new(format!("Relations matching {pattern}"), header),
        Query::new("Columns", columns),
        Query::new("Indexes, constraints, referenced by, triggers", footer),
    ])
}

fn functions(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let mut conds = Vec::new();
    if parsed.is_none() {
        conds.push(op("n.nspname", "<>", "'pg_catalog'"));
        conds.push(op("n.nspname", "<>", "'information_schema'"));
    }
    conds.extend(conditions(
        parsed.as_ref(),
        Some("n.nspname"),
        "p.proname",
        Some("pg_catalog.pg_function_is_visible(p.oid)"),
    ));
    let sql = format!(
        "SELECT n.nspname AS \"Schema\",\n  p.proname AS \"Name\",\n  \
         pg_catalog.pg_get_function_result(p.oid) AS \"Result data type\",\n  \
         pg_catalog.pg_get_function_arguments(p.oid) AS \"Argument data types\",\n  \
         CASE WHEN {} THEN 'agg' WHEN {} THEN 'window' WHEN {} THEN 'proc' ELSE 'func' END AS \"Type\"\n\
         FROM pg_catalog.pg_proc p\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}{}\nORDER BY 1, 2, 4",
        eq("p.prokind", "'a'"),
        eq("p.prokind", "'w'"),
        eq("p.prokind", "'p'"),
        eq("n.oid", "p.pronamespace"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of functions", sql)])
}

fn schemas(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 1)).transpose()?;
    let mut conds = Vec::new();
    if parsed.is_none() {
        conds.push(format!("NOT {}", op("n.nspname", "~", "'^pg_'")));
        conds.push(op("n.nspname", "<>", "'information_schema'"));
    }
    conds.extend(conditions(parsed.as_ref(), None, "n.nspname", None));
    let sql = format!(
        "SELECT n.nspname AS \"Name\",\n  pg_catalog.pg_get_userbyid(n.nspowner) AS \"Owner\"\n\
         FROM pg_catalog.pg_namespace n{}\nORDER BY 1",
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of schemas", sql)])
}

fn roles(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 1)).transpose()?;
    let mut conds = Vec::new();
    if parsed.is_none() {
        conds.push(format!("NOT {}", op("r.rolname", "~", "'^pg_'")));
    }
    conds.extend(conditions(parsed.as_ref(), None, "r.rolname", None));
    let sql = format!(
        "SELECT r.rolname AS \"Role name\",\n  \
         pg_catalog.array_to_string(ARRAY[\n    \
         CASE WHEN r.rolsuper THEN 'Superuser' END,\n    \
         CASE WHEN NOT r.rolinherit THEN 'No inheritance' END,\n    \
         CASE WHEN r.rolcreaterole THEN 'Create role' END,\n    \
         CASE WHEN r.rolcreatedb THEN 'Create DB' END,\n    \
         CASE WHEN NOT r.rolcanlogin THEN 'Cannot login' END,\n    \
         CASE WHEN r.rolreplication THEN 'Replication' END,\n    \
         CASE WHEN r.rolbypassrls THEN 'Bypass RLS' END,\n    \
         CASE WHEN {} THEN pg_catalog.concat(r.rolconnlimit, ' connections') END,\n    \
         CASE WHEN r.rolvaliduntil IS NOT NULL THEN pg_catalog.concat('Password valid until ', r.rolvaliduntil) END\n  \
         ], ', ') AS \"Attributes\",\n  \
         ARRAY(SELECT b.rolname FROM pg_catalog.pg_auth_members m\n    \
         JOIN pg_catalog.pg_roles b ON {}\n    \
         WHERE {} ORDER BY 1) AS \"Member of\"\n\
         FROM pg_catalog.pg_roles r{}\nORDER BY 1",
        op("r.rolconnlimit", ">=", "0"),
        eq("m.roleid", "b.oid"),
        eq("m.member", "r.oid"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of roles", sql)])
}

fn databases(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 1)).transpose()?;
    let conds = conditions(parsed.as_ref(), None, "d.datname", None);
    let sql = format!(
        "SELECT d.datname AS \"Name\",\n  \
         pg_catalog.pg_get_userbyid(d.datdba) AS \"Owner\",\n  \
         pg_catalog.pg_encoding_to_char(d.encoding) AS \"Encoding\",\n  \
         d.datcollate AS \"Collate\",\n  d.datctype AS \"Ctype\",\n  \
         pg_catalog.array_to_string(d.datacl, ', ') AS \"Access privileges\"\n\
         FROM pg_catalog.pg_database d{}\nORDER BY 1",
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of databases", sql)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{classify, Verdict};

    fn regexes(text: &str) -> (Option<String>, Option<String>) {
        let p = parse(text, 2).expect("parses");
        (p.schema, p.name)
    }

    #[test]
    fn patterns_become_anchored_escaped_regexes() {
        let s = |x: &str| Some(x.to_string());
        assert_eq!(regexes("items"), (None, s("^(items)$")));
        assert_eq!(regexes("Items"), (None, s("^(items)$")));
        assert_eq!(regexes("\"Items\""), (None, s("^(Items)$")));
        assert_eq!(regexes("public.it*"), (s("^(public)$"), s("^(it.*)$")));
        assert_eq!(regexes("it?m"), (None, s("^(it.m)$")));
        assert_eq!(regexes("public.*"), (s("^(public)$"), None));
        assert_eq!(regexes("*"), (None, None));
        assert_eq!(regexes("public."), (s("^(public)$"), None));
        assert_eq!(regexes("\"a.b\""), (None, s("^(a\\.b)$")));
        assert_eq!(regexes("\"a\"\"b\""), (None, s("^(a\"b)$")));
        assert_eq!(regexes("\"a*\""), (None, s("^(a\\*)$")));
        assert_eq!(
            regexes("a+(b)|[c]{1}^$"),
            (None, s("^(a\\+\\(b\\)\\|\\[c\\]\\{1\\}\\^\\$)$"))
        );
        assert_eq!(regexes("a\\b"), (None, s("^(a\\\\b)$")));
        assert!(parse("a.b.c", 2).is_err());
        assert!(parse("a.b", 1).is_err());
        assert!(parse("a\0b", 2).is_err());
        assert!(parse("x*", 2).expect("parses").wildcard);
        assert!(!parse("\"x*\"", 2).expect("parses").wildcard);
    }

    #[test]
    fn literals_double_quotes() {
        assert_eq!(literal("x';drop table t;--"), "'x'';drop table t;--'");
        assert_eq!(literal("a\\'b"), "'a\\''b'");
    }

    #[test]
    fn words_keep_double_quoted_spaces() {
        assert_eq!(words("  a  \"b c\".d  e "), vec!["a", "\"b c\".d", "e"]);
        assert!(words("   ").is_empty());
    }

    const HOSTILE: &[&str] = &[
        "x';drop table items;--",
        "\"x';drop table items;--\"",
        "'; select pg_catalog.pg_sleep(10); --",
        "a\\'b",
        "\\",
        "$$x$$",
        "\"unterminated",
        "x'||(select 1)||'",
        "*.*",
        "public.items",
    ];

    fn all_queries(pattern: Option<&str>) -> Vec<Query> {
        let args: Vec<String> = pattern.into_iter().map(str::to_string).collect();
        let mut out = Vec::new();
        for command in ["\\d", "\\dt", "\\dv", "\\di", "\\df", "\\dn", "\\du", "\\l"] {
            match plan(command, &args) {
                Some(Ok(q)) => out.extend(q),
                Some(Err(_)) => {}
                None => panic!("{command} is a describe command"),
            }
        }
        out
    }

    /// Every query, whatever the pattern, is a single read that the guard's own
    /// classifier accepts without asking the server.
    #[test]
    fn every_query_is_one_read() {
        let mut patterns: Vec<Option<&str>> = vec![None];
        patterns.extend(HOSTILE.iter().map(|p| Some(*p)));
        for pattern in patterns {
            for q in all_queries(pattern) {
                assert_eq!(classify(&q.sql), Verdict::Read, "{pattern:?}:\n{}", q.sql);
                let split = crate::sql::split(&format!("{};", q.sql));
                assert_eq!(split.pieces.len(), 1, "{pattern:?}:\n{}", q.sql);
                assert!(split.rest.is_none());
            }
        }
    }

    /// Every catalog object is named with its schema.
    #[test]
    fn catalog_names_are_qualified() {
        for q in all_queries(Some("public.x*")) {
            let tokens: Vec<&str> = q
                .sql
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .collect();
            for t in tokens {
                if t.starts_with("pg_") && !t.starts_with("pg_catalog") {
                    panic!("unqualified {t} in:\n{}", q.sql);
                }
            }
            assert!(!q.sql.contains(" = "), "unqualified = in:\n{}", q.sql);
        }
    }

    #[test]
    fn unknown_commands_are_not_describe() {
        assert!(plan("\\dx", &[]).is_none());
        assert!(plan("\\q", &[]).is_none());
    }
}
