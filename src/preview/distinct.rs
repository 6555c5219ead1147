//! Whether a column of an UPDATE changed, decided by its output text and by the server.
//!
//! Images are each column's output text ([`super::images`]), and a column counts as
//! changed when that text changed: stricter than `=` (`1.0` → `1.00` shows). The text
//! can also miss a change, where an output function prints two different values alike:
//! `extra_float_digits` below 1 rounds floats (and the geometric types built on them),
//! and a `DateStyle` other than ISO prints a `timestamptz` with its zone's abbreviation,
//! which in some zones names two offsets (Europe/Moscow: `01:30 MSK` twice on 26 October
//! 2014). So the server decides too: an UPDATE's capture also returns, per row, the
//! columns whose old and new values the server calls distinct (`pgward_distinct`,
//! computed in the same statement from the old row the self-join already reads), and a
//! column counts as changed when its text differs *or* the server says so.
//!
//! The server's test is `IS DISTINCT FROM` spelt with a pinned operator
//! (`OPERATOR(pg_catalog.=)` plus the NULL cases), for columns whose type (under its
//! domains) is built in and has a built-in `=` of its own, or is an array of a built-in
//! type with a built-in default btree operator class. Any other type (json, xml, point,
//! composites, ranges, enums, a user's or an extension's type) has the text test alone:
//! its equality is its owner's code, which the typed statement does not run, and a
//! capture must do exactly what the statement does (it could fail, or write, where the
//! statement does not). Where the server calls a column distinct and its text is the
//! same, the images cannot show the change nor undo it: the sink refuses the capture
//! ([`super::images::ImageError::PrintedAlike`]) and the statement runs as typed with
//! counts only, and why.
//!
//! The output settings are not pinned inside the capture: the statement reads its own
//! literals and casts under them (`DateStyle` reads `'03/04/2024'`, `extra_float_digits`
//! shapes `f::text`), so pinning them would change what it does. Where the session's
//! settings print different values of a column's type alike, even its unchanged columns
//! and its deleted rows would be images that do not read back exactly, so the capture
//! is not used for that table: counts only, and why ([`OutputFacts::lossy`]). The
//! server's decision is the net for what this list does not know.

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::quote_ident;

/// The first oid PostgreSQL gives to an object made after initdb: anything below is
/// built in.
const FIRST_NORMAL_OID: u32 = 16384;

/// Built-in types whose output reads `extra_float_digits`.
const FLOAT_PRINTED: [&str; 9] = [
    "float4", "float8", "point", "lseg", "line", "box", "path", "polygon", "circle",
];

/// Built-in types whose output names the zone by its abbreviation outside ISO `DateStyle`.
const ZONE_PRINTED: [&str; 3] = ["timestamptz", "tstzrange", "tstzmultirange"];

/// A column's type as the server's decision and the lossy-settings rule need it: its
/// base type under any domains and, for an array, its element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The column's name.
    pub name: String,
    /// The base type's oid, name and `typtype`.
    pub base: (u32, String, char),
    /// For an array: its element type's oid, name and `typtype`.
    pub element: Option<(u32, String, char)>,
    /// The base type has a built-in `pg_catalog.=` over itself, implemented by a
    /// built-in function.
    pub equality: bool,
    /// The element type has a built-in default btree operator class.
    pub element_equality: bool,
}

impl ColumnType {
    /// Whether the server compares this column: see the module docs.
    pub fn comparable(&self) -> bool {
        let built_in =
            |(oid, _, kind): &(u32, String, char)| *oid < FIRST_NORMAL_OID && *kind == 'b';
        built_in(&self.base)
            && match &self.element {
                None => self.equality,
                Some(element) => built_in(element) && self.element_equality,
            }
    }

    /// Whether this column's output can read a setting whose built-in victims are
    /// `printed`: one of them, an array of one, or a type pgward cannot see into (a
    /// composite, or a type that is neither built in nor an enum).
    fn printed_by(&self, printed: &[&str]) -> bool {
        let opaque = |(oid, _, kind): &(u32, String, char)| {
            *kind == 'c' || (*oid >= FIRST_NORMAL_OID && *kind != 'e')
        };
        let victim =
            |t: &(u32, String, char)| t.0 < FIRST_NORMAL_OID && printed.contains(&t.1.as_str());
        let one = |t: &(u32, String, char)| opaque(t) || victim(t);
        one(&self.base) || self.element.as_ref().is_some_and(one)
    }
}

/// The output settings of the session and the types of a table's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFacts {
    /// The columns, in the table's order (the images' fields).
    pub columns: Vec<ColumnType>,
    /// `extra_float_digits`.
    pub float_digits: i32,
    /// `DateStyle`, as `SHOW` prints it (`ISO, MDY`).
    pub date_style: String,
}

impl OutputFacts {
    /// Why the session's output settings would make images of this table lie, as a
    /// sentence ending in "counts only"; `None` when they print every value of its
    /// columns' types exactly.
    pub fn lossy(&self) -> Option<String> {
        let first = |printed: &[&str]| {
            self.columns
                .iter()
                .find(|c| c.printed_by(printed))
                .map(|c| quote_ident(&c.name))
        };
        if self.float_digits < 1 {
            if let Some(column) = first(&FLOAT_PRINTED) {
                return Some(format!(
                    "extra_float_digits is {}, which prints different floating-point values \
                     alike, so column {column} of a row could not be shown exactly: counts \
                     only (RESET extra_float_digits to see rows)",
                    self.float_digits
                ));
            }
        }
        if !self.date_style.starts_with("ISO") {
            if let Some(column) = first(&ZONE_PRINTED) {
                return Some(format!(
                    "DateStyle is {}, which prints two different timestamptz values alike \
                     where the time zone's abbreviation names two offsets, so column {column} \
                     of a row could not be shown exactly: counts only (SET DateStyle = ISO \
                     to see rows)",
                    self.date_style
                ));
            }
        }
        None
    }

    /// The positions of the columns the server compares, among `candidates` (all
    /// columns when `None`), ascending.
    pub fn compared(&self, candidates: Option<&[usize]>) -> Vec<usize> {
        let all: Vec<usize> = (0..self.columns.len()).collect();
        candidates
            .unwrap_or(&all)
            .iter()
            .copied()
            .filter(|&i| self.columns.get(i).is_some_and(ColumnType::comparable))
            .collect()
    }
}

/// The fact cache's key for the column types of a table ([`super::fact_cache`]).
pub const COLUMNS: &str = "output_columns";

/// The output settings and the column types of `relid`, as the session sees them.
/// Inside a preview's gathering the column types come from the connection's fact cache
/// (read with the target's other facts and their fingerprint, [`super::facts`]), and
/// the settings from this preview's fingerprint check or first facts query
/// ([`super::fact_cache::OUTPUT_SETTINGS_SQL`]); otherwise one query reads both, and
/// the column types are cached for the next preview.
pub async fn output_facts(client: &Client, relid: u32) -> Result<OutputFacts, PreviewError> {
    let (cached, settings) = {
        let cache = client.facts();
        (
            cache.get::<Vec<ColumnType>>(COLUMNS, relid, false),
            cache.output(),
        )
    };
    if let (Some(columns), Some((float_digits, date_style))) = (cached, settings) {
        return Ok(OutputFacts {
            columns,
            float_digits,
            date_style,
        });
    }
    let row = client
        .query_one(
            &format!(
                "SELECT {}, {}",
                columns_sql("$1::pg_catalog.oid"),
                super::fact_cache::OUTPUT_SETTINGS_SQL
            ),
            &[&relid],
        )
        .await?;
    let facts = OutputFacts {
        columns: columns_of(&row.try_get::<_, String>(0)?)?,
        float_digits: row.try_get(1)?,
        date_style: row.try_get(2)?,
    };
    client.facts().put(COLUMNS, relid, false, &facts.columns);
    Ok(facts)
}

/// The column types of the relation whose oid is the SQL expression `relid`, as one
/// SQL expression (a json array as text, one entry per column in the table's order),
/// for [`columns_of`]; an expression, so that the first facts query of a preview can
/// read it with the target's other facts and their fingerprint ([`super::facts`]).
/// Oids travel as `int8` (json has no oid).
pub fn columns_sql(relid: &str) -> String {
    format!(
        "(WITH RECURSIVE col(attnum, name, typ) AS ( \
             SELECT a.attnum, a.attname::pg_catalog.text, a.atttypid \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid OPERATOR(pg_catalog.=) {relid} \
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
             UNION ALL \
             SELECT col.attnum, col.name, t.typbasetype FROM col \
             JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) col.typ \
             WHERE t.typtype OPERATOR(pg_catalog.=) 'd'), \
         base AS ( \
             SELECT col.attnum, col.name, t.oid, t.typname::pg_catalog.text AS typname, \
                    t.typtype::pg_catalog.text AS typtype, \
                    CASE WHEN t.typsubscript OPERATOR(pg_catalog.=) \
                              'pg_catalog.array_subscript_handler'::pg_catalog.regproc \
                         THEN t.typelem END AS elem \
             FROM col JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) col.typ \
             WHERE t.typtype OPERATOR(pg_catalog.<>) 'd') \
         SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array( \
                base.name, base.oid::pg_catalog.int8, base.typname, base.typtype, \
                e.oid::pg_catalog.int8, e.typname::pg_catalog.text, e.typtype::pg_catalog.text, \
                EXISTS (SELECT FROM pg_catalog.pg_operator o \
                        WHERE o.oprname OPERATOR(pg_catalog.=) '=' \
                          AND o.oprnamespace OPERATOR(pg_catalog.=) \
                              'pg_catalog'::pg_catalog.regnamespace \
                          AND o.oprleft OPERATOR(pg_catalog.=) base.oid \
                          AND o.oprright OPERATOR(pg_catalog.=) base.oid \
                          AND o.oprcode::pg_catalog.oid OPERATOR(pg_catalog.<) 16384), \
                EXISTS (SELECT FROM pg_catalog.pg_opclass c \
                        JOIN pg_catalog.pg_am m ON m.oid OPERATOR(pg_catalog.=) c.opcmethod \
                        WHERE c.opcdefault AND m.amname OPERATOR(pg_catalog.=) 'btree' \
                          AND c.opcintype OPERATOR(pg_catalog.=) e.oid \
                          AND c.oid OPERATOR(pg_catalog.<) 16384)) \
                ORDER BY base.attnum), '[]'::pg_catalog.jsonb)::pg_catalog.text \
         FROM base LEFT JOIN pg_catalog.pg_type e ON e.oid OPERATOR(pg_catalog.=) base.elem)"
    )
}

/// One column's entry in [`columns_sql`]'s array.
type ColumnEntry = (
    String,
    u32,
    String,
    String,
    Option<u32>,
    Option<String>,
    Option<String>,
    bool,
    bool,
);

/// The column types in [`columns_sql`]'s text.
pub fn columns_of(json: &str) -> Result<Vec<ColumnType>, PreviewError> {
    let entries: Vec<ColumnEntry> = serde_json::from_str(json)
        .map_err(|e| PreviewError::Catalog(format!("the column types as json: {e}")))?;
    let kind = |text: &str| text.chars().next().unwrap_or(' ');
    Ok(entries
        .into_iter()
        .map(
            |(
                name,
                oid,
                typname,
                typtype,
                eoid,
                etypname,
                etyptype,
                equality,
                element_equality,
            )| {
                ColumnType {
                    name,
                    base: (oid, typname, kind(&typtype)),
                    element: eoid.map(|eoid| {
                        (
                            eoid,
                            etypname.unwrap_or_default(),
                            kind(etyptype.as_deref().unwrap_or("")),
                        )
                    }),
                    equality,
                    element_equality,
                }
            },
        )
        .collect())
}

/// The columns of `text`, the trailing `pgward_distinct` of a captured row: the
/// positions the server called distinct, each followed by a space.
pub fn parse_flags(text: &str) -> Option<Vec<usize>> {
    text.split_ascii_whitespace()
        .map(|n| n.parse().ok())
        .collect()
}

/// The name of the column a compared capture appends after pgward's others.
pub const FLAGS: &str = "pgward_distinct";

/// Adds the server's decision to an UPDATE's capture `sql` (as [`super::rewrite`] made
/// it, narrowed or not): the self-join's derived table also reads the old value of each
/// of `columns` (position and name) as `pgward_vN`, and RETURNING ends with
/// `pgward_distinct`, the positions whose old and new values the server calls distinct,
/// each followed by a space: `CASE WHEN o.v OPERATOR(pg_catalog.=) t.c THEN '' WHEN o.v
/// IS NULL AND t.c IS NULL THEN '' ELSE 'N ' END` per column, joined pairwise by
/// `pg_catalog.textcat`. That is `o.v IS DISTINCT FROM t.c` with the operator pinned
/// (an unqualified `IS DISTINCT FROM` finds `=` on the search path).
/// `Err` when `sql` is not such a capture; it is then used as it was.
pub fn compare_on_server(sql: &str, columns: &[(usize, String)]) -> Result<String, String> {
    use sqlparser::ast::{
        visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
        SelectItem, SetExpr, TableFactor, UpdateTableFromKind,
    };
    use std::ops::ControlFlow;

    use super::rewrite::{capture_update, internal, parse_one, template_expr};

    const NOT: &str = "not an UPDATE capture";
    if columns.is_empty() {
        return Err("no column for the server to compare".into());
    }
    let mut statement = parse_one(sql)?;
    let update = capture_update(&mut statement, NOT)?;
    // The target's reference, from pgward's `t.ctid::pg_catalog.text AS pgward_ctid`.
    let returning = update.returning.as_mut().ok_or(NOT)?;
    let reference = returning
        .iter()
        .find_map(|item| match item {
            SelectItem::ExprWithAlias {
                expr: Expr::Cast { expr, .. },
                alias,
            } if alias.value == "pgward_ctid" => match expr.as_ref() {
                Expr::CompoundIdentifier(parts)
                    if parts.last().is_some_and(|p| p.value == "ctid") =>
                {
                    Some(parts[..parts.len() - 1].to_vec())
                }
                _ => None,
            },
            _ => None,
        })
        .ok_or(NOT)?;
    let mut cases = Vec::with_capacity(columns.len());
    for (position, name) in columns {
        let mut case = template_expr(
            &format!(
                "CASE WHEN pgward_o.pgward_v{position} OPERATOR(pg_catalog.=) pgward_target.pgward_column \
                 THEN '' WHEN pgward_o.pgward_v{position} IS NULL AND pgward_target.pgward_column IS NULL \
                 THEN '' ELSE '{position} ' END"
            ),
            &reference,
        )?;
        let _ = visit_expressions_mut(&mut case, |e| {
            if let Expr::CompoundIdentifier(parts) = e {
                if parts
                    .last()
                    .is_some_and(|p| p.value == "pgward_column" && p.quote_style.is_none())
                {
                    if let Some(last) = parts.last_mut() {
                        *last = Ident::with_quote('"', name);
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        cases.push(case);
    }
    // Joined by `textcat`, a pinned `||` (a variadic `concat` looks up each argument's
    // output function on every call, which a million rows notice), pairwise, so a
    // table of many columns nests them only as deep as the log of their number.
    while cases.len() > 1 {
        let mut paired = Vec::with_capacity(cases.len().div_ceil(2));
        let mut items = cases.into_iter();
        while let Some(left) = items.next() {
            let Some(right) = items.next() else {
                paired.push(left);
                break;
            };
            let mut cat = template_expr("pg_catalog.textcat('', '')", &reference)?;
            let Expr::Function(function) = &mut cat else {
                return Err(internal("server comparison"));
            };
            let FunctionArguments::List(list) = &mut function.args else {
                return Err(internal("server comparison"));
            };
            list.args = vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(left)),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(right)),
            ];
            paired.push(cat);
        }
        cases = paired;
    }
    let flags = cases.pop().ok_or(NOT)?;
    returning.push(SelectItem::ExprWithAlias {
        expr: flags,
        alias: Ident::new(FLAGS),
    });
    // The old values, beside the old image in the self-join's derived table.
    let Some(UpdateTableFromKind::AfterSet(from)) = update.from.as_mut() else {
        return Err(NOT.into());
    };
    let source = from
        .iter_mut()
        .find_map(|t| match &mut t.relation {
            TableFactor::Derived {
                subquery,
                alias: Some(alias),
                ..
            } if alias.name.value == "pgward_o" => Some(subquery),
            _ => None,
        })
        .ok_or(NOT)?;
    let SetExpr::Select(select) = source.body.as_mut() else {
        return Err(internal("old-image source"));
    };
    for (position, name) in columns {
        select.projection.push(SelectItem::ExprWithAlias {
            expr: Expr::CompoundIdentifier(vec![
                Ident::new("pgward_t"),
                Ident::with_quote('"', name),
            ]),
            alias: Ident::new(format!("pgward_v{position}")),
        });
    }
    let printed = statement.to_string();
    let parsed = pg_query::parse(&printed, pg_query::ParserOptions::DEFAULT)
        .map_err(|_| internal("server comparison"))?;
    if parsed.protobuf.stmts.len() != 1 {
        return Err(internal("server comparison"));
    }
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(
        name: &str,
        base: (u32, &str, char),
        element: Option<(u32, &str, char)>,
    ) -> ColumnType {
        ColumnType {
            name: name.into(),
            base: (base.0, base.1.into(), base.2),
            element: element.map(|e| (e.0, e.1.into(), e.2)),
            equality: true,
            element_equality: true,
        }
    }

    fn facts(columns: Vec<ColumnType>, digits: i32, style: &str) -> OutputFacts {
        OutputFacts {
            columns,
            float_digits: digits,
            date_style: style.into(),
        }
    }

    #[test]
    fn only_built_in_types_with_built_in_equality_are_compared() {
        let mut json = column("j", (114, "json", 'b'), None);
        json.equality = false;
        let cols = vec![
            column("id", (23, "int4", 'b'), None),
            json,
            column("f", (701, "float8", 'b'), None),
            column("fs", (1022, "_float8", 'b'), Some((701, "float8", 'b'))),
            column("u", (16500, "mytype", 'b'), None),
            column("us", (16501, "_mytype", 'b'), Some((16500, "mytype", 'b'))),
            column("c", (16600, "pair", 'c'), None),
            column("r", (3904, "int4range", 'r'), None),
        ];
        let f = facts(cols, 1, "ISO, MDY");
        assert_eq!(f.compared(None), [0, 2, 3]);
        assert_eq!(f.compared(Some(&[1, 2, 6])), [2]);
    }

    #[test]
    fn lossy_settings_refuse_only_tables_they_can_blur() {
        let ints = vec![
            column("id", (23, "int4", 'b'), None),
            column("e", (16700, "mood", 'e'), None),
        ];
        assert_eq!(facts(ints.clone(), -15, "Postgres, MDY").lossy(), None);
        let floats = vec![column(
            "f",
            (1022, "_float8", 'b'),
            Some((701, "float8", 'b')),
        )];
        let why = facts(floats.clone(), -15, "ISO").lossy().expect("lossy");
        assert!(why.contains("extra_float_digits is -15"), "{why}");
        assert!(why.contains("column \"f\""), "{why}");
        assert_eq!(facts(floats, 1, "SQL, DMY").lossy(), None);
        let stamps = vec![column("t", (1184, "timestamptz", 'b'), None)];
        let why = facts(stamps.clone(), 0, "Postgres, MDY")
            .lossy()
            .expect("lossy");
        assert!(why.starts_with("DateStyle is Postgres, MDY"), "{why}");
        assert_eq!(facts(stamps, 0, "ISO, DMY").lossy(), None);
        // A composite or a user's type could hold either: refused under both.
        let pair = vec![column("p", (16600, "pair", 'c'), None)];
        assert!(facts(pair.clone(), 0, "ISO").lossy().is_some());
        assert!(facts(pair, 1, "German").lossy().is_some());
    }

    #[test]
    fn the_comparison_is_pinned_and_reads_the_old_row_once() {
        let crate::preview::rewrite::Capture::Rows { sql, .. } =
            crate::preview::rewrite::rewrite("UPDATE s.t AS x SET \"a\"\"b\" = 1 WHERE id = 2")
        else {
            panic!("counts only");
        };
        let two =
            compare_on_server(&sql, &[(0, "id".into()), (1, "a\"b".into())]).expect("compared");
        assert!(
            two.contains("pgward_distinct")
                && two.contains("pg_catalog.textcat(CASE WHEN pgward_o.pgward_v0"),
            "{two}"
        );
        // 1,600 columns (PostgreSQL's most) nest 11 deep, and every one is asked.
        let many: Vec<(usize, String)> = (0..1600).map(|i| (i, format!("c{i}"))).collect();
        let wide = compare_on_server(&sql, &many).expect("compared");
        assert!(wide.contains("ELSE '1599 ' END") && wide.contains("ELSE '0 ' END"));
        let sql = compare_on_server(&sql, &[(1, "a\"b".into())]).expect("compared");
        insta::assert_snapshot!(sql, @r#"UPDATE s.t AS x SET "a""b" = 1 FROM (SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, pg_catalog.record_out(pgward_t.*) AS pgward_old, pgward_t."a""b" AS pgward_v1 FROM s.t AS pgward_t) AS pgward_o WHERE (id = 2) AND (pgward_o.pgward_ctid OPERATOR(pg_catalog.=) x.ctid) AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) x.tableoid) RETURNING pgward_o.pgward_old, pg_catalog.record_out(x.*) AS pgward_new, x.ctid::pg_catalog.text AS pgward_ctid, CASE WHEN pgward_o.pgward_v1 OPERATOR(pg_catalog.=) x."a""b" THEN '' WHEN pgward_o.pgward_v1 IS NULL AND x."a""b" IS NULL THEN '' ELSE '1 ' END AS pgward_distinct"#);
        assert!(compare_on_server("DELETE FROM t", &[(0, "a".into())]).is_err());
    }

    #[test]
    fn flags_read_back() {
        assert_eq!(parse_flags(""), Some(vec![]));
        assert_eq!(parse_flags("0 3 "), Some(vec![0, 3]));
        assert_eq!(parse_flags("x "), None);
    }

    /// Runs the server-compared capture of the UPDATE `sql` (whole new image) in a
    /// savepoint that is rolled back, streaming its rows into a sink.
    async fn run(
        client: &Client,
        sql: &str,
    ) -> (
        Vec<usize>,
        Result<crate::preview::images::Images, crate::preview::images::ImageError>,
    ) {
        use crate::preview::images::{ImageSink, SinkOptions, SpillTo};
        use crate::preview::keys::RowKey;
        use crate::preview::rewrite::{self, Capture};
        use futures_util::{pin_mut, TryStreamExt};
        use tokio_postgres::SimpleQueryMessage;

        let Capture::Rows {
            sql: capture, kind, ..
        } = rewrite::rewrite(sql)
        else {
            panic!("counts only for {sql}");
        };
        let relid = crate::preview::testdb::oid(client, "t").await;
        let facts = output_facts(client, relid).await.expect("facts");
        let fields = facts.compared(None);
        let named: Vec<(usize, String)> = fields
            .iter()
            .map(|&i| (i, facts.columns[i].name.clone()))
            .collect();
        let capture = compare_on_server(&capture, &named).expect("compared");
        let columns = facts.columns.iter().map(|c| c.name.clone()).collect();
        let mut sink = ImageSink::new(
            kind,
            RowKey::Primary(vec!["id".into()]),
            columns,
            SinkOptions {
                shown: 100,
                spill: SpillTo::Off,
            },
        );
        sink.compare_on_server(fields.clone());
        client
            .batch_execute("SAVEPOINT s")
            .await
            .expect("savepoint");
        let stream = client
            .simple_query_raw(&capture)
            .await
            .expect("run capture");
        pin_mut!(stream);
        let mut taken = Ok(());
        while let Some(message) = stream.try_next().await.expect("row") {
            if let SimpleQueryMessage::Row(row) = message {
                if taken.is_ok() {
                    taken = sink.push_fields(&row);
                }
            }
        }
        client
            .batch_execute("ROLLBACK TO SAVEPOINT s")
            .await
            .expect("rollback");
        (fields, taken.and_then(|()| sink.finish()))
    }

    #[tokio::test]
    async fn the_server_decides_beside_the_text() {
        let client = crate::preview::testdb::fresh(
            "distinct_server",
            r#"CREATE DOMAIN money2 AS numeric(12,2);
               CREATE TYPE pair AS (a int, b int);
               CREATE TABLE t (id int PRIMARY KEY, n numeric, "q""x" float8, j json,
                               tz timestamptz, arr int[], m money2, p pair, pt point);
               INSERT INTO t VALUES (1, 1.0, 0.1, 'null', '2014-10-25 21:30:00+00', '{1}', 1,
                                     ROW(1, 2), '(1,1)'),
                                    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
               BEGIN;"#,
        )
        .await;
        // Compared: the built-in types with a built-in `=` (numeric, float8,
        // timestamptz, int[], a domain over numeric); not json, a composite or point.
        let (fields, images) = run(
            &client,
            "UPDATE t SET n = 1.00, \"q\"\"x\" = 0.2, j = NULL, arr = '{1,2}', m = 2 WHERE id = 1",
        )
        .await;
        assert_eq!(fields, [0, 1, 2, 4, 5, 6]);
        let images = images.expect("captured");
        let row = &images.shown[0];
        // 1.0 → 1.00: the server calls them equal, the text differs: changed.
        assert_eq!(
            row.old
                .as_ref()
                .and_then(|i| i.get("n"))
                .map(|d| d.display()),
            Some("1.0")
        );
        assert_eq!(
            row.new
                .as_ref()
                .and_then(|i| i.get("n"))
                .map(|d| d.display()),
            Some("1.00")
        );
        // SQL NULL on both sides of row 2 is not distinct; NULL → value is.
        let (_, images) = run(&client, "UPDATE t SET n = n, j = '\"x\"' WHERE id = 2").await;
        assert_eq!(images.expect("captured").updated, 1);
        let (_, images) = run(&client, "UPDATE t SET n = 5 WHERE id = 2").await;
        assert_eq!(images.expect("captured").updated, 1);

        // A timestamptz one hour later prints alike under DateStyle Postgres in
        // Europe/Moscow on 26 October 2014 (`01:30 MSK` twice): the server says it
        // changed, so the capture is refused rather than shown unchanged.
        client
            .batch_execute("SET LOCAL DateStyle = 'Postgres'; SET LOCAL TimeZone = 'Europe/Moscow'")
            .await
            .expect("settings");
        let (_, images) = run(
            &client,
            "UPDATE t SET tz = tz + interval '1 hour' WHERE id = 1",
        )
        .await;
        match images {
            Err(crate::preview::images::ImageError::PrintedAlike { column }) => {
                assert_eq!(column, "\"tz\"");
            }
            other => panic!("not refused: {other:?}"),
        }
        // The same under extra_float_digits = -15, for a float the text rounds alike.
        client
            .batch_execute("SET LOCAL DateStyle = 'ISO'; SET LOCAL extra_float_digits = -15")
            .await
            .expect("settings");
        let (_, images) = run(
            &client,
            "UPDATE t SET \"q\"\"x\" = \"q\"\"x\" + 1e-12 WHERE id = 1",
        )
        .await;
        assert!(
            matches!(
                images,
                Err(crate::preview::images::ImageError::PrintedAlike { ref column }) if column == "\"q\"\"x\""
            ),
            "{images:?}"
        );
        // And the lossy-settings rule names the table's float column first.
        let relid = crate::preview::testdb::oid(&client, "t").await;
        let why = output_facts(&client, relid).await.expect("facts").lossy();
        assert!(why.is_some_and(|w| w.contains("column \"q\"\"x\"")));
    }
}
