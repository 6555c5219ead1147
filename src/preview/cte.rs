//! Rewrites a statement with data-modifying WITH (`WITH d AS (DELETE … RETURNING *)
//! INSERT INTO b SELECT * FROM d`, `WITH u AS (UPDATE …) SELECT …`) into one that also
//! returns the before and after image of every row each part changes, tagged with its
//! part.
//!
//! Each data-modifying CTE is rewritten exactly as a statement of its own would be
//! ([`super::rewrite`]: the self-join for UPDATE, the images appended to RETURNING) and
//! renamed `pgward_part_N`, with a column list that names the user's RETURNING columns
//! by position (`pgward_c1`, …) and pgward's by their names. Where the user's CTE had
//! RETURNING, a plain CTE of the user's name hands the rest of the statement exactly
//! the user's columns again (`d("id", "total") AS (SELECT pgward_c1, pgward_c2 FROM
//! pgward_part_1)`), under the names the server gave them, so `SELECT * FROM d` reads
//! what it read before. A main INSERT, UPDATE or DELETE becomes the last part; a main
//! query stays the statement's first result. The statement's result is then one UNION
//! ALL: the main query's rows (with pgward's columns NULL), then each part's images
//! (with the user's columns NULL), told apart by `pgward_part`.
//!
//! The parts now run one after the other where the typed statement may interleave them
//! (PostgreSQL runs the sub-statements of a WITH "concurrently", in an order it leaves
//! unspecified). That is the same statement only where no part can see another's order:
//! so the caller ([`super::part`]) keeps counts only when two parts write the same table
//! (or its partitions or children), when a user trigger fires on a target, and for
//! whatever the single-statement capture refuses ([`super::eligible`]). Recursive WITH,
//! an upsert inside WITH and a main statement with its own RETURNING stay counts only
//! too, and the reprint of the user's statement must be the typed statement to
//! PostgreSQL's own parser (the same fingerprint check as [`super::rewrite`]).

use sqlparser::ast::{
    helpers::attached_token::AttachedToken, Cte, Ident, Query, SetExpr, Statement, TableAlias,
    TableAliasColumnDef, TableFactor, With,
};

use super::rewrite::{
    self, empty_values, faithful, internal, modifies_data, parse_one, rewrite_dml, CaptureKind,
};

/// The reason [`rewrite::rewrite`] gives for a statement this module captures instead.
pub const NOT_HERE: &str =
    "a WITH clause with a data-modifying statement changes more than one table: counts only";

/// The placeholder of the user's main query in the final UNION ALL.
const USER_QUERY: &str = "pgward_user_query";
/// The name of part `n`'s CTE.
fn part_name(n: usize) -> String {
    format!("pgward_part_{n}")
}

/// One data-modifying part of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The CTE's name as written, or `None` for the main statement.
    pub cte: Option<String>,
    /// The relation it writes, as written (without ONLY).
    pub relation: String,
    /// Which images it returns.
    pub kind: CaptureKind,
}

impl Part {
    /// How the preview names the part: `WITH d`, or `main statement`.
    pub fn label(&self) -> String {
        match &self.cte {
            Some(name) => format!("WITH {name}"),
            None => "main statement".to_string(),
        }
    }
}

/// A capturing rewrite of a statement with data-modifying WITH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// The capturing statement.
    pub sql: String,
    /// Its parts, in the order of `pgward_part` (1 is the first).
    pub parts: Vec<Part>,
    /// How many leading columns of each row are the main query's result (0 for a main
    /// INSERT, UPDATE or DELETE); pgward's four columns follow.
    pub user_columns: usize,
    /// The main statement is a query: its rows are the statement's result.
    pub main_query: bool,
}

/// pgward's columns at the end of every row of a [`Parts`] capture.
pub const COLUMNS: [&str; 4] = ["pgward_part", "pgward_old", "pgward_new", "pgward_ctid"];

/// What the server must describe before [`rewrite`] can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Describe {
    /// For each data-modifying CTE in order: a query whose result columns are the
    /// CTE's (its RETURNING as the server expands it), or `None` without RETURNING.
    pub ctes: Vec<Option<String>>,
    /// The main statement is a query: describe the statement itself for its columns.
    pub main_query: bool,
}

/// Whether `sql` is one statement with a data-modifying WITH, the form this module
/// captures.
pub fn is_cte_write(sql: &str) -> bool {
    match parse_one(sql) {
        Ok(Statement::Query(query)) => query
            .with
            .as_ref()
            .is_some_and(|with| with.cte_tables.iter().any(|c| modifies_data(&c.query))),
        _ => false,
    }
}

/// The statement's WITH and main body, checked for the forms [`rewrite`] takes.
fn split(sql: &str) -> Result<(Box<Query>, With), String> {
    if sql.to_ascii_lowercase().contains("pgward_") {
        return Err(
            "the statement uses names starting with pgward_, which the capture reserves: \
             counts only"
                .into(),
        );
    }
    let Statement::Query(mut query) = parse_one(sql)? else {
        return Err(NOT_HERE.into());
    };
    let Some(with) = query.with.take() else {
        return Err(NOT_HERE.into());
    };
    if with.recursive {
        return Err("WITH RECURSIVE with a data-modifying statement: counts only".into());
    }
    for cte in &with.cte_tables {
        if !modifies_data(&cte.query) {
            continue;
        }
        let q = &cte.query;
        let direct = matches!(
            q.body.as_ref(),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_)
        );
        if !direct
            || q.with.is_some()
            || q.order_by.is_some()
            || q.limit_clause.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || cte.materialized.is_some()
            || cte.from.is_some()
        {
            return Err(format!(
                "the data-modifying WITH query {} has a form pgward does not capture: counts only",
                cte.alias.name
            ));
        }
    }
    Ok((query, with))
}

/// What the server must describe for `sql` (see [`Describe`]).
pub fn describe(sql: &str) -> Result<Describe, String> {
    let (query, with) = split(sql)?;
    let mut ctes = Vec::new();
    for (i, cte) in with.cte_tables.iter().enumerate() {
        if !modifies_data(&cte.query) {
            continue;
        }
        let returning = match cte.query.body.as_ref() {
            SetExpr::Insert(Statement::Insert(s)) => s.returning.is_some(),
            SetExpr::Update(Statement::Update(s)) => s.returning.is_some(),
            SetExpr::Delete(Statement::Delete(s)) => s.returning.is_some(),
            _ => return Err(NOT_HERE.into()),
        };
        if !returning {
            ctes.push(None);
            continue;
        }
        let Statement::Query(mut read) = parse_one("SELECT * FROM pgward_cte")? else {
            return Err(internal("describe"));
        };
        read.with = Some(With {
            with_token: AttachedToken::empty(),
            recursive: false,
            cte_tables: with.cte_tables[..=i].to_vec(),
        });
        let SetExpr::Select(select) = read.body.as_mut() else {
            return Err(internal("describe"));
        };
        let Some(TableFactor::Table { name, .. }) =
            select.from.first_mut().map(|t| &mut t.relation)
        else {
            return Err(internal("describe"));
        };
        *name = sqlparser::ast::ObjectName::from(vec![cte.alias.name.clone()]);
        ctes.push(Some(read.to_string()));
    }
    let main_query = !matches!(
        query.body.as_ref(),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_)
    );
    Ok(Describe { ctes, main_query })
}

/// Rewrites `sql` into a capturing statement. `cte_columns` holds, for each
/// data-modifying CTE in order, the names the server gives its result columns (empty
/// without RETURNING); `user_columns` is how many columns the main query returns (0 for
/// a main INSERT, UPDATE or DELETE).
pub fn rewrite(
    sql: &str,
    cte_columns: &[Vec<String>],
    user_columns: usize,
) -> Result<Parts, String> {
    let (mut query, with) = split(sql)?;
    let mut parts = Vec::new();
    let mut tables = Vec::new();
    let mut described = cte_columns.iter();
    for mut cte in with.cte_tables {
        if !modifies_data(&cte.query) {
            tables.push(cte);
            continue;
        }
        let names = described
            .next()
            .ok_or_else(|| internal("described columns"))?;
        let body = std::mem::replace(cte.query.body.as_mut(), SetExpr::Values(empty_values()));
        let statement = match body {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => s,
            _ => return Err(NOT_HERE.into()),
        };
        let relation = rewrite::target(&statement.to_string()).ok_or(NOT_HERE)?;
        let (statement, kind, returning) = rewrite_dml(statement)?;
        if kind == CaptureKind::Upsert {
            return Err(
                "INSERT … ON CONFLICT DO UPDATE inside WITH: its old values cannot be read \
                 before it: counts only"
                    .into(),
            );
        }
        if returning == names.is_empty() {
            return Err(internal("described columns"));
        }
        parts.push(Part {
            cte: Some(cte.alias.name.value.clone()),
            relation,
            kind,
        });
        let n = parts.len();
        *cte.query.body = body_of(statement, kind);
        let user_name = std::mem::replace(&mut cte.alias, alias(&part_name(n), names.len(), kind));
        tables.push(cte);
        if returning {
            tables.push(pass_through(&part_name(n), user_name, names)?);
        }
    }
    let main_query = match *query.body {
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) => {
            if query.order_by.is_some()
                || query.limit_clause.is_some()
                || query.fetch.is_some()
                || !query.locks.is_empty()
            {
                return Err(NOT_HERE.into());
            }
            let body = std::mem::replace(query.body.as_mut(), SetExpr::Values(empty_values()));
            let (SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)) = body
            else {
                return Err(internal("main statement"));
            };
            let relation = rewrite::target(&statement.to_string()).ok_or(NOT_HERE)?;
            let (statement, kind, returning) = rewrite_dml(statement)?;
            if returning {
                return Err(
                    "the main statement of a data-modifying WITH has its own RETURNING: \
                     counts only"
                        .into(),
                );
            }
            if kind == CaptureKind::Upsert {
                return Err(
                    "INSERT … ON CONFLICT DO UPDATE after a data-modifying WITH: counts only"
                        .into(),
                );
            }
            parts.push(Part {
                cte: None,
                relation,
                kind,
            });
            let n = parts.len();
            tables.push(Cte {
                alias: alias(&part_name(n), 0, kind),
                query: Box::new(Query {
                    body: Box::new(body_of(statement, kind)),
                    ..*query
                }),
                from: None,
                materialized: None,
                closing_paren_token: AttachedToken::empty(),
            });
            None
        }
        SetExpr::Merge(_) => return Err(NOT_HERE.into()),
        _ => {
            if modifies_data(&query) {
                return Err(NOT_HERE.into());
            }
            if let SetExpr::Select(select) = query.body.as_ref() {
                if select.into.is_some() {
                    return Err("SELECT INTO creates a table: counts only".into());
                }
            }
            Some(query)
        }
    };
    let is_query = main_query.is_some();
    let user_columns = if is_query { user_columns } else { 0 };
    let mut outer = union(&parts, main_query.is_some(), user_columns)?;
    if let Some(user) = main_query {
        place_user_query(&mut outer, user)?;
    }
    outer.with = Some(With {
        with_token: AttachedToken::empty(),
        recursive: false,
        cte_tables: tables,
    });
    let printed = Statement::Query(outer).to_string();
    faithful(sql, &printed)?;
    Ok(Parts {
        sql: printed,
        parts,
        user_columns,
        main_query: is_query,
    })
}

fn body_of(statement: Statement, kind: CaptureKind) -> SetExpr {
    match kind {
        CaptureKind::Update => SetExpr::Update(statement),
        CaptureKind::Delete => SetExpr::Delete(statement),
        _ => SetExpr::Insert(statement),
    }
}

/// The column list of part CTE `name`: the user's `width` RETURNING columns by
/// position, then pgward's.
fn alias(name: &str, width: usize, kind: CaptureKind) -> TableAlias {
    let mut columns: Vec<TableAliasColumnDef> = (1..=width)
        .map(|i| TableAliasColumnDef::from_name(format!("pgward_c{i}")))
        .collect();
    columns.extend(
        kind.columns()
            .iter()
            .map(|c| TableAliasColumnDef::from_name(c.name())),
    );
    TableAlias {
        explicit: false,
        name: Ident::new(name),
        columns,
        at: None,
    }
}

/// The CTE of the user's name that hands on the user's RETURNING columns of `part`.
fn pass_through(part: &str, user: TableAlias, names: &[String]) -> Result<Cte, String> {
    let mut seen = std::collections::HashSet::new();
    if !names.iter().all(|n| seen.insert(n)) {
        return Err(format!(
            "the RETURNING of WITH query {} has two columns of one name: counts only",
            user.name
        ));
    }
    let list: Vec<String> = (1..=names.len()).map(|i| format!("pgward_c{i}")).collect();
    let Statement::Query(query) = parse_one(&format!("SELECT {} FROM {part}", list.join(", ")))?
    else {
        return Err(internal("pass-through"));
    };
    Ok(Cte {
        alias: TableAlias {
            explicit: false,
            name: user.name,
            columns: names
                .iter()
                .map(|n| TableAliasColumnDef {
                    name: Ident::with_quote('"', n),
                    data_type: None,
                })
                .collect(),
            at: None,
        },
        query,
        from: None,
        materialized: None,
        closing_paren_token: AttachedToken::empty(),
    })
}

/// The final UNION ALL, from pgward's names only: the user's query (a placeholder,
/// when there is one), then each part's images.
fn union(parts: &[Part], user_query: bool, user_columns: usize) -> Result<Box<Query>, String> {
    const TYPED: &str = "NULL::pg_catalog.int4 AS pgward_part, NULL::pg_catalog.text AS \
                         pgward_old, NULL::pg_catalog.text AS pgward_new, \
                         NULL::pg_catalog.text AS pgward_ctid";
    let mut branches = Vec::new();
    if user_query {
        branches.push(format!(
            "SELECT pgward_u.*, {TYPED} FROM {USER_QUERY} AS pgward_u"
        ));
    }
    for (i, part) in parts.iter().enumerate() {
        let (old, new) = match part.kind {
            CaptureKind::Update => ("pgward_old", "pgward_new"),
            CaptureKind::Delete => ("pgward_old", "NULL"),
            _ => ("NULL", "pgward_new"),
        };
        let mut columns: Vec<String> = vec!["NULL".into(); user_columns];
        columns.push(format!("{}::pg_catalog.int4 AS pgward_part", i + 1));
        columns.push(format!("{old}::pg_catalog.text AS pgward_old"));
        columns.push(format!("{new}::pg_catalog.text AS pgward_new"));
        columns.push("pgward_ctid::pg_catalog.text AS pgward_ctid".into());
        branches.push(format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            part_name(i + 1)
        ));
    }
    let Statement::Query(query) = parse_one(&branches.join(" UNION ALL "))? else {
        return Err(internal("union"));
    };
    Ok(query)
}

/// Puts the user's main query where the placeholder is: the first branch's FROM.
fn place_user_query(outer: &mut Query, user: Box<Query>) -> Result<(), String> {
    let mut body = outer.body.as_mut();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            SetExpr::Select(select) => {
                let factor = select
                    .from
                    .first_mut()
                    .map(|t| &mut t.relation)
                    .ok_or_else(|| internal("union"))?;
                let TableFactor::Table { name, alias, .. } = factor else {
                    return Err(internal("union"));
                };
                if name.to_string() != USER_QUERY {
                    return Err(internal("union"));
                }
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: user,
                    alias: alias.take(),
                    sample: None,
                };
                return Ok(());
            }
            _ => return Err(internal("union")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_data_modifying_with() {
        assert!(is_cte_write(
            "WITH d AS (DELETE FROM a WHERE id < 3 RETURNING *) INSERT INTO b SELECT * FROM d"
        ));
        assert!(is_cte_write(
            "with u as (update a set x = 1 returning id) select count(*) from u"
        ));
        assert!(!is_cte_write("WITH s AS (SELECT 1) DELETE FROM a"));
        assert!(!is_cte_write("DELETE FROM a"));
    }

    #[test]
    fn delete_feeding_insert() {
        let sql =
            "WITH d AS (DELETE FROM a WHERE id < 3 RETURNING *) INSERT INTO b SELECT * FROM d";
        let describe = describe(sql).expect("describe");
        assert_eq!(
            describe.ctes,
            vec![Some(
                "WITH d AS (DELETE FROM a WHERE id < 3 RETURNING *) SELECT * FROM d".to_string()
            )]
        );
        assert!(!describe.main_query);
        let parts = rewrite(sql, &[vec!["id".into(), "v".into()]], 0).expect("rewrite");
        assert_eq!(parts.parts.len(), 2);
        assert_eq!(parts.parts[0].label(), "WITH d");
        assert_eq!(parts.parts[0].kind, CaptureKind::Delete);
        assert_eq!(parts.parts[0].relation, "a");
        assert_eq!(parts.parts[1].label(), "main statement");
        assert_eq!(parts.parts[1].kind, CaptureKind::Insert);
        assert_eq!(parts.parts[1].relation, "b");
        assert_eq!(parts.user_columns, 0);
        assert!(
            parts.sql.starts_with(
                "WITH pgward_part_1 (pgward_c1, pgward_c2, pgward_old, pgward_ctid) AS (DELETE FROM a WHERE id < 3 RETURNING *, pg_catalog.record_out(a.*) AS pgward_old"
            ),
            "{}",
            parts.sql
        );
        assert!(
            parts.sql.contains(
                "d (\"id\", \"v\") AS (SELECT pgward_c1, pgward_c2 FROM pgward_part_1), pgward_part_2 (pgward_new, pgward_ctid) AS (INSERT INTO b SELECT * FROM d RETURNING"
            ),
            "{}",
            parts.sql
        );
        assert!(parts.sql.contains("UNION ALL SELECT 2::pg_catalog.int4"));
    }

    #[test]
    fn main_query_comes_first() {
        let sql = "WITH u AS (UPDATE a SET v = v + 1 WHERE id = 1 RETURNING id) SELECT id FROM u ORDER BY id";
        let parts = rewrite(sql, &[vec!["id".into()]], 1).expect("rewrite");
        assert_eq!(parts.parts.len(), 1);
        assert!(parts.main_query);
        assert!(
            parts.sql.contains(
                "SELECT pgward_u.*, NULL::pg_catalog.int4 AS pgward_part, NULL::pg_catalog.text AS pgward_old, NULL::pg_catalog.text AS pgward_new, NULL::pg_catalog.text AS pgward_ctid FROM (SELECT id FROM u ORDER BY id) AS pgward_u UNION ALL SELECT NULL, 1::pg_catalog.int4"
            ),
            "{}",
            parts.sql
        );
    }

    #[test]
    fn refusals_say_why() {
        let no = |sql: &str| rewrite(sql, &[vec![]], 0).expect_err(sql);
        assert!(no("WITH RECURSIVE d AS (DELETE FROM a) DELETE FROM b").contains("RECURSIVE"));
        assert!(no("WITH d AS (DELETE FROM a) DELETE FROM b RETURNING *").contains("RETURNING"));
        assert!(no(
            "WITH d AS (INSERT INTO a VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 2) DELETE FROM b"
        )
        .contains("ON CONFLICT"));
        assert!(no("WITH d AS (DELETE FROM pgward_a) DELETE FROM b").contains("pgward_"));
    }
}
