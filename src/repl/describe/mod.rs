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

pub mod page;
pub mod relation;

/// One query of a describe command, and the title printed above its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Centred above the result, like psql's table titles; escaped, on one line.
    pub title: String,
    /// The catalog query, without its terminating `;`.
    pub sql: String,
    /// psql's message, for the error stream, when the query finds nothing (the relation
    /// listings); `None` draws an empty table.
    pub empty: Option<String>,
}

impl Query {
    /// The title may quote the pattern as typed: it is escaped to one line.
    fn new(title: impl Into<String>, sql: String) -> Query {
        Query {
            title: crate::render::escape::one_line(&title.into()),
            sql,
            empty: None,
        }
    }
}

/// What a describe command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Run each query and draw its rows under its title, with `(N rows)`.
    List(Vec<Query>),
    /// `\d NAME`: describe each matching relation ([`relation`]).
    Relation {
        /// The pattern as typed.
        pattern: String,
        /// `\d+`: storage, compression, statistics target, description, and more footers.
        verbose: bool,
    },
    /// `\sf NAME`: the function's `CREATE OR REPLACE FUNCTION` text, as psql prints it.
    FunctionSource(Query),
}

/// The describe commands, for `\?`.
pub const HELP: &str = "\
Informational (PATTERN: [schema.]name with * and ?; \"quotes\" keep case;
               S: include system objects; +: more detail)
  \\d[S+]            list tables, views, materialized views, sequences, foreign tables
  \\d[S+] NAME       describe a table, view, index or sequence, as psql does
  \\dt[S+] [PATTERN] list tables
  \\dv[S+] [PATTERN] list views
  \\dm[S+] [PATTERN] list materialized views
  \\di[S+] [PATTERN] list indexes
  \\ds[S+] [PATTERN] list sequences
  \\df[S] [PATTERN]  list functions
  \\dT[S] [PATTERN]  list data types
  \\dn [PATTERN]     list schemas
  \\dp [PATTERN]     list table, view and sequence access privileges and policies
  \\dx [PATTERN]     list extensions
  \\du [PATTERN]     list roles
  \\l  [PATTERN]     list databases
  \\sf FUNCTION      show a function's definition";

/// The meta-commands of this module, for completion.
pub const COMMANDS: &[&str] = &[
    "\\d", "\\d+", "\\dS", "\\dt", "\\dt+", "\\dv", "\\dm", "\\di", "\\ds", "\\df", "\\dT", "\\dn",
    "\\dp", "\\dx", "\\du", "\\dg", "\\l", "\\sf",
];

/// A command's name without psql's modifiers: `\dtS+` is `\dt`, system objects
/// included, verbose.
fn modifiers(command: &str) -> (&str, bool, bool) {
    let mut base = command;
    let (mut system, mut verbose) = (false, false);
    loop {
        if let Some(b) = base.strip_suffix('+') {
            verbose = true;
            base = b;
        } else if let Some(b) = base.strip_suffix('S').filter(|b| b.len() > 1) {
            system = true;
            base = b;
        } else {
            return (base, system, verbose);
        }
    }
}

/// What `command` with `args` does: `None` when `command` is not a describe command,
/// `Some(Err(message))` when its pattern cannot be used. `rest` is the argument text as
/// typed, for `\sf`, whose argument may hold spaces.
pub fn plan(command: &str, args: &[String], rest: &str) -> Option<Result<Plan, String>> {
    let pattern = args.first().map(String::as_str);
    let (base, system, verbose) = modifiers(command);
    let list = |r: Result<Vec<Query>, String>| r.map(Plan::List);
    let result = match base {
        "\\d" => match pattern {
            None => list(relations(Kinds::D, None, system, verbose)),
            Some(p) => parse(p, 2).map(|_| Plan::Relation {
                pattern: p.to_string(),
                verbose,
            }),
        },
        "\\dt" => list(relations(Kinds::Tables, pattern, system, verbose)),
        "\\dv" => list(relations(Kinds::Views, pattern, system, verbose)),
        "\\dm" => list(relations(Kinds::MatViews, pattern, system, verbose)),
        "\\di" => list(relations(Kinds::Indexes, pattern, system, verbose)),
        "\\ds" => list(relations(Kinds::Sequences, pattern, system, verbose)),
        "\\df" => list(functions(pattern, system)),
        "\\dT" => list(types(pattern, system)),
        "\\dn" => list(schemas(pattern)),
        "\\dp" | "\\z" => list(privileges(pattern)),
        "\\dx" => list(extensions(pattern)),
        "\\du" | "\\dg" => list(roles(pattern)),
        "\\l" | "\\list" => list(databases(pattern)),
        "\\sf" => function_source(rest.trim()),
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
    MatViews,
    Indexes,
    Sequences,
}

/// psql's `listTables`: `\d`, `\dt`, `\dv`, `\dm`, `\di`, `\ds`, with `S` (system objects
/// too) and `+` (persistence, access method, size, description).
fn relations(
    kinds: Kinds,
    pattern: Option<&str>,
    system: bool,
    verbose: bool,
) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let mut codes: Vec<char> = match kinds {
        Kinds::D => vec!['r', 'p', 'v', 'm', 'S', 'f'],
        Kinds::Tables => vec!['r', 'p'],
        Kinds::Views => vec!['v'],
        Kinds::MatViews => vec!['m'],
        Kinds::Indexes => vec!['i', 'I'],
        Kinds::Sequences => vec!['S'],
    };
    if system && matches!(kinds, Kinds::D | Kinds::Tables) {
        codes.push('t');
    }
    let mut conds = vec![any_of("c.relkind", &codes)];
    if parsed.is_none() && !system {
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
    let mut more = String::new();
    if verbose {
        more.push_str(&format!(
            ",\n  CASE WHEN {} THEN 'permanent' WHEN {} THEN 'temporary' WHEN {} THEN 'unlogged' END AS \"Persistence\"",
            eq("c.relpersistence", "'p'"),
            eq("c.relpersistence", "'t'"),
            eq("c.relpersistence", "'u'"),
        ));
        if matches!(
            kinds,
            Kinds::D | Kinds::Tables | Kinds::MatViews | Kinds::Indexes
        ) {
            more.push_str(",\n  am.amname AS \"Access method\"");
        }
        more.push_str(
            ",\n  pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) AS \"Size\",\n  \
             pg_catalog.obj_description(c.oid, 'pg_class') AS \"Description\"",
        );
    }
    let sql = format!(
        "SELECT n.nspname AS \"Schema\",\n  c.relname AS \"Name\",\n  {} AS \"Type\",\n  \
         pg_catalog.pg_get_userbyid(c.relowner) AS \"Owner\"{table_column}{more}\n\
         FROM pg_catalog.pg_class c\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}\n\
         LEFT JOIN pg_catalog.pg_am am ON {}{table_join}{}\nORDER BY 1, 2",
        relkind_label("c.relkind"),
        eq("n.oid", "c.relnamespace"),
        eq("am.oid", "c.relam"),
        where_clause(&conds),
    );
    let mut q = Query::new("List of relations", sql);
    q.empty = Some(match pattern {
        Some(p) => format!("Did not find any relation named \"{p}\"."),
        None => "Did not find any relations.".into(),
    });
    Ok(vec![q])
}

/// `\dT`: data types, as psql lists them (no array types, no table row types).
fn types(pattern: Option<&str>, system: bool) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let mut conds = vec![
        format!(
            "({} OR (SELECT {} FROM pg_catalog.pg_class c WHERE {}))",
            eq("t.typrelid", "'0'::pg_catalog.oid"),
            eq("c.relkind", "'c'"),
            eq("c.oid", "t.typrelid"),
        ),
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE {} AND {})",
            eq("el.oid", "t.typelem"),
            eq("el.typarray", "t.oid"),
        ),
    ];
    if parsed.is_none() && !system {
        conds.push(op("n.nspname", "<>", "'pg_catalog'"));
        conds.push(op("n.nspname", "<>", "'information_schema'"));
    }
    conds.extend(conditions(
        parsed.as_ref(),
        Some("n.nspname"),
        "t.typname",
        Some("pg_catalog.pg_type_is_visible(t.oid)"),
    ));
    let sql = format!(
        "SELECT n.nspname AS \"Schema\",\n  pg_catalog.format_type(t.oid, NULL) AS \"Name\",\n  \
         pg_catalog.obj_description(t.oid, 'pg_type') AS \"Description\"\n\
         FROM pg_catalog.pg_type t\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}{}\nORDER BY 1, 2",
        eq("n.oid", "t.typnamespace"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of data types", sql)])
}

/// `\dp`: privileges and policies of tables, views and sequences.
fn privileges(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let mut conds = vec![any_of("c.relkind", &['r', 'v', 'm', 'S', 'f', 'p'])];
    if parsed.is_none() {
        conds.push(format!("NOT {}", op("n.nspname", "~", "'^pg_'")));
    }
    conds.extend(conditions(
        parsed.as_ref(),
        Some("n.nspname"),
        "c.relname",
        Some("pg_catalog.pg_table_is_visible(c.oid)"),
    ));
    let kind = |code: &str, label: &str| {
        format!(
            "WHEN {} THEN {}",
            eq("c.relkind", &literal(code)),
            literal(label)
        )
    };
    let sql = format!(
        "SELECT n.nspname AS \"Schema\",\n  c.relname AS \"Name\",\n  \
         CASE {} {} {} {} {} {} END AS \"Type\",\n  \
         pg_catalog.array_to_string(c.relacl, E'\\n') AS \"Access privileges\",\n  \
         pg_catalog.array_to_string(ARRAY(\n    \
         SELECT pg_catalog.concat(a.attname, E':\\n  ', pg_catalog.array_to_string(a.attacl, E'\\n  '))\n    \
         FROM pg_catalog.pg_attribute a\n    \
         WHERE {} AND NOT a.attisdropped AND a.attacl IS NOT NULL\n  \
         ), E'\\n') AS \"Column privileges\",\n  \
         pg_catalog.array_to_string(ARRAY(\n    \
         SELECT pg_catalog.concat(pol.polname,\n      \
         CASE WHEN NOT pol.polpermissive THEN ' (RESTRICTIVE)' ELSE '' END,\n      \
         CASE WHEN {} THEN pg_catalog.concat(' (', pol.polcmd::pg_catalog.text, '):') ELSE ':' END,\n      \
         CASE WHEN pol.polqual IS NOT NULL THEN pg_catalog.concat(E'\\n  (u): ', pg_catalog.pg_get_expr(pol.polqual, pol.polrelid)) ELSE '' END,\n      \
         CASE WHEN pol.polwithcheck IS NOT NULL THEN pg_catalog.concat(E'\\n  (c): ', pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid)) ELSE '' END,\n      \
         CASE WHEN {} THEN pg_catalog.concat(E'\\n  to: ', pg_catalog.array_to_string(ARRAY(\n        \
         SELECT r.rolname FROM pg_catalog.pg_roles r, pg_catalog.unnest(pol.polroles) u(oid)\n        \
         WHERE {} ORDER BY 1), ', ')) ELSE '' END)\n    \
         FROM pg_catalog.pg_policy pol\n    WHERE {}\n  \
         ), E'\\n') AS \"Policies\"\n\
         FROM pg_catalog.pg_class c\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}{}\nORDER BY 1, 2",
        kind("r", "table"),
        kind("v", "view"),
        kind("m", "materialized view"),
        kind("S", "sequence"),
        kind("f", "foreign table"),
        kind("p", "partitioned table"),
        eq("a.attrelid", "c.oid"),
        op("pol.polcmd", "<>", "'*'"),
        op("pol.polroles", "<>", "'{0}'::pg_catalog.oid[]"),
        eq("r.oid", "u.oid"),
        eq("pol.polrelid", "c.oid"),
        eq("n.oid", "c.relnamespace"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("Access privileges", sql)])
}

/// `\dx`: installed extensions.
fn extensions(pattern: Option<&str>) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 1)).transpose()?;
    let conds = conditions(parsed.as_ref(), None, "e.extname", None);
    let sql =
        format!(
        "SELECT e.extname AS \"Name\", e.extversion AS \"Version\", n.nspname AS \"Schema\",\n  \
         c.description AS \"Description\"\n\
         FROM pg_catalog.pg_extension e\n\
         LEFT JOIN pg_catalog.pg_namespace n ON {}\n\
         LEFT JOIN pg_catalog.pg_description c ON {} AND {}{}\nORDER BY 1",
        eq("n.oid", "e.extnamespace"),
        eq("c.objoid", "e.oid"),
        eq("c.classoid", "'pg_catalog.pg_extension'::pg_catalog.regclass"),
        where_clause(&conds),
    );
    Ok(vec![Query::new("List of installed extensions", sql)])
}

/// `\sf NAME` or `\sf NAME(argument types)`: the server resolves the name as a cast to
/// `regproc` (or `regprocedure`) would, and says so when it is unknown or ambiguous.
fn function_source(name: &str) -> Result<Plan, String> {
    if name.is_empty() {
        return Err("function name is required".into());
    }
    if name.contains('\0') {
        return Err("a function name cannot contain a NUL character".into());
    }
    let cast = if name.contains('(') {
        "regprocedure"
    } else {
        "regproc"
    };
    let sql = format!(
        "SELECT pg_catalog.pg_get_functiondef({}::pg_catalog.{cast}::pg_catalog.oid)",
        literal(name)
    );
    Ok(Plan::FunctionSource(Query::new("", sql)))
}

fn functions(pattern: Option<&str>, system: bool) -> Result<Vec<Query>, String> {
    let parsed = pattern.map(|p| parse(p, 2)).transpose()?;
    let mut conds = Vec::new();
    if parsed.is_none() && !system {
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

    /// Every query the describe commands send for `pattern`: the listings', `\sf`'s, and
    /// those of `\d NAME` for every kind of relation, each branch taken (the rows the
    /// reader hands back say "true" to every question).
    fn all_queries(pattern: Option<&str>) -> Vec<String> {
        let args: Vec<String> = pattern.into_iter().map(str::to_string).collect();
        let rest = pattern.unwrap_or("");
        let mut out = Vec::new();
        for command in [
            "\\d", "\\d+", "\\dS", "\\dt", "\\dtS+", "\\dv", "\\dm", "\\di+", "\\ds", "\\df",
            "\\dfS", "\\dT", "\\dn", "\\dp", "\\dx", "\\du", "\\l", "\\sf",
        ] {
            match plan(command, &args, rest) {
                Some(Ok(Plan::List(q))) => out.extend(q.into_iter().map(|q| q.sql)),
                Some(Ok(Plan::FunctionSource(q))) => out.push(q.sql),
                Some(Ok(Plan::Relation { pattern, verbose })) => {
                    for kind in ["r", "p", "v", "m", "i", "I", "S", "f", "t"] {
                        let mut read = |sql: &str| {
                            out.push(sql.to_string());
                            let cell = |v: &str| Some(v.to_string());
                            let row = if sql.contains("c.relchecks") {
                                vec![
                                    cell("1"),
                                    cell(kind),
                                    cell("t"),
                                    cell("t"),
                                    cell("t"),
                                    cell("t"),
                                    cell("t"),
                                    cell("t"),
                                    cell("o"),
                                    cell("u"),
                                    cell("heap"),
                                ]
                            } else {
                                let mut r = vec![cell("16410"), cell("public"), cell("x")];
                                r.extend((0..12).map(|_| cell("t")));
                                r
                            };
                            Ok::<_, crate::session::Outcome>(crate::session::exec::Executed {
                                rows: vec![row],
                                ..Default::default()
                            })
                        };
                        let got = relation::describe(&mut read, &pattern, verbose);
                        assert!(got.is_ok(), "{pattern}");
                    }
                }
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
                assert_eq!(classify(&q), Verdict::Read, "{pattern:?}:\n{q}");
                let split = crate::sql::split(&format!("{q};"));
                assert_eq!(split.pieces.len(), 1, "{pattern:?}:\n{q}");
                assert!(split.rest.is_none());
            }
        }
    }

    /// Every catalog object is named with its schema.
    #[test]
    fn catalog_names_are_qualified() {
        for q in all_queries(Some("public.x*")) {
            // Outside string literals.
            let code: String = q.split('\'').step_by(2).collect::<Vec<_>>().join(" ");
            let tokens: Vec<&str> = code
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .collect();
            for t in tokens {
                if t.starts_with("pg_") && !t.starts_with("pg_catalog") {
                    panic!("unqualified {t} in:\n{q}");
                }
            }
            for bare in [" = ", " IN (", " <> ", " || ", " ~ ", " != "] {
                assert!(!q.contains(bare), "unqualified {bare} in:\n{q}");
            }
        }
    }

    #[test]
    fn unknown_commands_are_not_describe() {
        assert!(plan("\\dq", &[], "").is_none());
        assert!(plan("\\q", &[], "").is_none());
        assert!(plan("\\S", &[], "").is_none());
    }
}
