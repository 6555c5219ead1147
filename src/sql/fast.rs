//! The fast path for plain reads: a `SELECT` whose analysis can be read off PostgreSQL's
//! own summary of the statement (`pg_query::summary`, a walk in C that encodes only the
//! relations and function calls it found), without encoding the whole parse tree as
//! protobuf and decoding it in Rust, which is most of what the full classifier
//! ([`super::classify`]) costs.
//!
//! It is a shortcut, never a second classifier: a statement takes it only when what the
//! summary reports *proves* that the full classifier gives exactly this analysis (verdict
//! [`Verdict::Read`], the same relations read, the same functions called, nothing else);
//! in every other case [`plain_read`] says `None` and the statement goes the full way.
//! The proof has two halves.
//!
//! 1. PostgreSQL's scanner (`pg_query::scan`) limits the syntax: the statement starts with
//!    `SELECT`, is one statement (no `;`), has at most [`MAX_STRUCTURE`] tokens that can
//!    nest (see below), names no relation in three parts (the summary drops a catalog
//!    name), and uses no keyword
//!    outside [`ALLOWED`] except unreserved ones (which the grammar lets stand as plain
//!    names, and none of which starts a clause of its own in a `SELECT`). What that leaves
//!    out is everything that makes a `SELECT` more than a read, or that the summary's walk
//!    does not see the way the classifier's does: `FOR UPDATE`/`SHARE` (row locks),
//!    `INTO` (a new table), `WITH` (data-modifying CTEs, CTE names, `CYCLE … SET … TO`
//!    expressions the summary does not walk), `TABLESAMPLE`, `LATERAL`, `XMLTABLE`,
//!    `JSON_TABLE`, `FETCH`, `WINDOW`, `GROUPING`, `OPERATOR(…)`.
//! 2. The summary then says what the statement is: exactly one statement type, `SelectStmt`
//!    (nested ones included), every relation in a `SELECT` context, every function in a
//!    call context and none of them one the guard knows by name ([`functions::effect`]:
//!    refused, surviving ROLLBACK, writing, or running SQL text) or `set_config`.
//!
//! The limit on tokens that can nest keeps the statement within the full path's nesting
//! limit: pg_query's protobuf decoder refuses a tree nested 100 messages deep (then the
//! full classifier refuses the statement as one the parser does not accept), and
//! `1+1+…+1` with 100 terms is that deep. Names, constants, parameters, commas and dots
//! only ever sit side by side or at the bottom of a tree (a leaf and its cast are at most
//! six levels); every other token (operators, parentheses, keywords) adds at most four
//! levels (a sub-select, `(SELECT`, adds seven for its three tokens with the `)`), and the
//! statement itself is seven levels above its expressions. So [`MAX_STRUCTURE`] = 20 such
//! tokens stay below 7 + 6 + 4 × 20 = 93 levels; the unit tests build the deepest
//! statements of each kind at the limit.
//!
//! A call of a function created earlier in the session or file is resolved after either
//! path ([`super::Created::resolve`] reads [`Analysis::calls`], which both give alike).
//! `bench/corpus.sh DIR --equivalence` and the unit tests check, statement by statement,
//! that the fast path's analysis is the full classifier's.

use std::collections::BTreeSet;

use pg_query::protobuf::summary_result::Context;
use pg_query::protobuf::{KeywordKind, Token};

use super::functions;
use super::verdict::{Analysis, Verdict};

/// The most tokens that can nest (all but names, constants, parameters, commas, dots and
/// comments) a statement on the fast path may have.
pub const MAX_STRUCTURE: usize = 20;

/// Keywords other than unreserved ones that a statement on the fast path may use: the
/// `SELECT` list, `FROM` with joins, `WHERE`, grouping, ordering, set operations, and the
/// expressions, types and SQL-standard functions of everyday reads.
#[rustfmt::skip]
pub const ALLOWED: &[Token] = &[
    Token::Select, Token::From, Token::Where, Token::And, Token::Or, Token::Not, Token::As,
    Token::On, Token::Join, Token::InnerP, Token::Left, Token::Right, Token::Full,
    Token::OuterP, Token::Cross, Token::Natural, Token::Using, Token::GroupP, Token::By,
    Token::Order, Token::Asc, Token::Desc, Token::Limit, Token::Offset, Token::Having,
    Token::Distinct, Token::All, Token::NullP, Token::Is, Token::InP, Token::Between,
    Token::Like, Token::Ilike, Token::Similar, Token::Case, Token::When, Token::Then,
    Token::Else, Token::EndP, Token::TrueP, Token::FalseP, Token::Union, Token::Intersect,
    Token::Except, Token::Exists, Token::Any, Token::Some, Token::Array, Token::Only,
    Token::Isnull, Token::Notnull, Token::Cast, Token::Coalesce, Token::Nullif,
    Token::Greatest, Token::Least, Token::Interval, Token::IntP, Token::Integer,
    Token::Smallint, Token::Bigint, Token::Real, Token::FloatP, Token::Numeric,
    Token::DecimalP, Token::Dec, Token::BooleanP, Token::CharP, Token::Character,
    Token::Varchar, Token::Nchar, Token::Bit, Token::Precision, Token::Time,
    Token::Timestamp, Token::CurrentDate, Token::CurrentTime, Token::CurrentTimestamp,
    Token::Localtime, Token::Localtimestamp, Token::CurrentUser, Token::SessionUser,
    Token::User, Token::CurrentRole, Token::CurrentCatalog, Token::CurrentSchema,
    Token::Collate, Token::Symmetric, Token::Asymmetric, Token::Values, Token::Extract,
    Token::Position, Token::Substring, Token::Trim, Token::Both, Token::Leading,
    Token::Trailing, Token::Row, Token::Overlaps,
];

/// The analysis of `sql` when it is provably a plain read (see the module docs), which is
/// then exactly what the full classifier gives; `None` when it is not, or when it cannot
/// be told cheaply (the statement then goes the full way).
pub fn plain_read(sql: &str) -> Option<Analysis> {
    // Which path, not the verdict: a statement whose first word is not SELECT is spared
    // the scanner.
    if !first_word_is_select(sql) {
        return None;
    }
    if !plain_syntax(sql) {
        return None;
    }
    let summary = pg_query::summary(sql, 0, -1).ok()?.protobuf;
    if summary.statement_types.len() != 1
        || summary.statement_types[0] != "SelectStmt"
        || !summary.cte_names.is_empty()
    {
        return None;
    }
    let mut reads = BTreeSet::new();
    for table in &summary.tables {
        if table.context() != Context::Select || table.table_name.is_empty() {
            return None;
        }
        reads.insert(if table.schema_name.is_empty() {
            table.table_name.clone()
        } else {
            format!("{}.{}", table.schema_name, table.table_name)
        });
    }
    let mut calls = BTreeSet::new();
    for function in &summary.functions {
        let name = &function.function_name;
        if function.context() != Context::Call
            || name.is_empty()
            || functions::effect(name).is_some()
            || name.eq_ignore_ascii_case("set_config")
        {
            return None;
        }
        calls.insert(name.clone());
    }
    let mut analysis = Analysis::bare(Verdict::Read);
    analysis.reads = reads.into_iter().collect();
    analysis.calls = calls.into_iter().collect();
    Some(analysis)
}

/// The scanner's half of the proof: a `SELECT`, one statement, few tokens that nest, no
/// relation named in three parts, no keyword outside [`ALLOWED`] but unreserved ones.
fn plain_syntax(sql: &str) -> bool {
    let Ok(scan) = pg_query::scan(sql) else {
        return false;
    };
    let tokens = scan.tokens;
    let first = tokens
        .iter()
        .map(|t| t.token)
        .find(|&t| t != Token::SqlComment as i32 && t != Token::CComment as i32);
    if first != Some(Token::Select as i32) {
        return false;
    }
    // Names in the dotted chain being read (`a.b.c` is three), and whether the previous
    // token was its dot.
    let (mut chain, mut dot) = (0, false);
    let mut structure = 0;
    for t in &tokens {
        let Ok(token) = Token::try_from(t.token) else {
            return false;
        };
        let keyword = KeywordKind::try_from(t.keyword_kind).unwrap_or(KeywordKind::ReservedKeyword);
        match keyword {
            KeywordKind::NoKeyword | KeywordKind::UnreservedKeyword => {}
            _ if ALLOWED.contains(&token) => {}
            _ => return false,
        }
        let name =
            keyword != KeywordKind::NoKeyword || matches!(token, Token::Ident | Token::Uident);
        let flat = matches!(
            token,
            Token::Ident
                | Token::Uident
                | Token::Iconst
                | Token::Fconst
                | Token::Sconst
                | Token::Usconst
                | Token::Bconst
                | Token::Xconst
                | Token::Param
                | Token::Ascii44
                | Token::Ascii46
                | Token::SqlComment
                | Token::CComment
        );
        if !flat {
            structure += 1;
            if structure > MAX_STRUCTURE {
                return false;
            }
        }
        match token {
            // One statement only: the full classifier refuses more than one.
            Token::Ascii59 => return false,
            // Comments do not break a chain.
            Token::SqlComment | Token::CComment => continue,
            Token::Ascii46 => {
                dot = chain > 0;
                if !dot {
                    chain = 0;
                }
                continue;
            }
            _ if name => {
                chain = if dot { chain + 1 } else { 1 };
                if chain >= 3 {
                    return false;
                }
            }
            _ => chain = 0,
        }
        dot = false;
    }
    true
}

/// Whether the first word of `sql`, after white space and comments (`--` to the end of
/// the line, `/* … */` nested), is `select` in any case. Only a pre-filter: the scanner
/// decides.
fn first_word_is_select(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if rest.starts_with("/*") {
            let mut depth = 0usize;
            let mut i = 0;
            let bytes = rest.as_bytes();
            while i + 1 < bytes.len() {
                match (bytes[i], bytes[i + 1]) {
                    (b'/', b'*') => {
                        depth += 1;
                        i += 2;
                    }
                    (b'*', b'/') => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            if depth != 0 {
                return false;
            }
            rest = rest.get(i..).unwrap_or("").trim_start();
        } else {
            break;
        }
    }
    rest.as_bytes()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"select"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::classify::analyze_tree;
    use crate::sql::verdict::Options;

    /// The fast path's analysis, checked against the full classifier's.
    fn fast(sql: &str) -> Option<Analysis> {
        let got = plain_read(sql);
        if let Some(a) = &got {
            assert_eq!(a, &analyze_tree(sql, &Options::default()), "{sql}");
        }
        got
    }

    #[test]
    fn plain_reads_take_it_with_the_full_analysis() {
        for sql in [
            "select 1",
            "select id, status from orders where customer_id = 42 order by id desc limit 20",
            "select o.id, c.email from orders o join customers c on c.id = o.customer_id where o.created_at > now() - interval '1 day'",
            "select count(*) from pg_stat_user_tables where relname = 'dblink_stats'",
            "select * from public.orders, \"Mixed\".\"Case\" where exists (select 1 from items i where i.order_id = orders.id)",
            "select a from t union all select b from u except select c from s.v",
            "select sum(total) over (partition by customer_id order by created_at rows between 1 preceding and 1 following) from orders",
            "select * from generate_series(1, 3) g, lower('X') l",
            "select f(x) filter (where x > 1), g(y) from t group by rollup (a, b)",
            "select case when a then lower(b) else upper(c) end::varchar(10) from t -- comment\n",
            "-- a comment first\n/* and /* a nested */ one */ SELECT 1",
        ] {
            assert!(fast(sql).is_some(), "{sql}");
        }
        let a = fast("select lower(name) from s.t join u using (id)").unwrap();
        assert_eq!(a.reads, vec!["s.t", "u"]);
        assert_eq!(a.calls, vec!["lower"]);
    }

    #[test]
    fn what_must_go_the_full_way() {
        for sql in [
            // Row locks, a new table, CTEs (data-modifying ones above all).
            "select * from orders where id = 1 for update",
            "select * from orders for share skip locked",
            "select * into archive from orders",
            "with moved as (delete from q returning *) select * from moved",
            "with r as (select 1) select * from r",
            // Functions the guard knows: refused, surviving ROLLBACK, writing, running SQL.
            "select pg_read_file('/etc/passwd')",
            "select dblink('host=x', 'delete from t')",
            "select * from dblink('host=x', 'select 1') as t(a int)",
            "select nextval('s')",
            "select lo_unlink(1)",
            "select query_to_xml('select 1', true, true, '')",
            "select set_config('role', 'x', true)",
            "select pg_advisory_lock(1)",
            // Syntax the summary does not see as the tree walk does.
            "select * from t tablesample system (10)",
            "select * from t, lateral (select 1) s",
            "select * from xmltable('/a' passing '<a/>' columns x int)",
            "select * from t fetch first 1 rows only",
            "select a from t window w as (order by a)",
            "select cat.s.t.c from cat.s.t",
            // Not one SELECT.
            "select 1; select 2",
            "update t set a = 1",
            "TABLE orders",
            "(select 1)",
            "explain select 1",
            "selec 1",
            "-- select\nupdate t set a = 1",
            "/* select */ delete from t",
            "/* unterminated select",
        ] {
            assert!(fast(sql).is_none(), "{sql}");
        }
        // One token too many that can nest.
        let long = format!("select 1{}", "+1".repeat(MAX_STRUCTURE));
        assert!(fast(&long).is_none());
    }

    #[test]
    fn nesting_at_the_limit_stays_within_the_full_path() {
        // The deepest statements of each kind with MAX_STRUCTURE tokens that nest: the
        // full classifier must give the same analysis (its protobuf decoder refuses a tree
        // 100 messages deep).
        let n = MAX_STRUCTURE - 1;
        let deepest = [
            format!("select {}t.c::text", "- ".repeat(n - 2)),
            format!("select 1{}", "+1".repeat(n)),
            format!("select {}a.b", "not ".repeat(n)),
            format!("select {}1{}", "f(".repeat(n / 2), ")".repeat(n / 2)),
            format!(
                "select {}x.y{}",
                "(select ".repeat(n / 3),
                ")".repeat(n / 3)
            ),
            format!(
                "select * from {}t{}",
                "(select * from ".repeat(n / 5),
                ") s".repeat(n / 5)
            ),
            format!(
                "select {}1{}",
                "case when a then ".repeat(n / 4),
                " end".repeat(n / 4)
            ),
            format!("select 1 {}", "union select 1 ".repeat(n / 2)),
            format!("select {}x{}", "array[".repeat(n / 3), "]".repeat(n / 3)),
        ];
        for sql in deepest {
            assert!(fast(&sql).is_some(), "{sql}");
        }
    }

    #[test]
    fn a_call_of_a_function_created_earlier_is_resolved_after_it() {
        let policy = crate::check::Policy {
            can_write: true,
            ..Default::default()
        };
        let report = crate::check::check_file(
            "x.sql",
            "create function f() returns int language sql as $$ delete from t returning 1 $$;\n\
             select f();\n",
            &policy,
        );
        assert!(fast("select f()").is_some());
        assert_eq!(report.statements[1].class, "write");
        assert_eq!(report.statements[1].writes, vec!["t"]);
    }
}
