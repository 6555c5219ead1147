//! The fast path for plain reads and writes: a `SELECT`, `INSERT`, `UPDATE` or `DELETE`
//! whose analysis can be read off PostgreSQL's own summary of the statement
//! (`pg_query::summary`, a walk in C that encodes only the relations and function calls
//! it found), without encoding the whole parse tree as protobuf and decoding it in Rust,
//! which is most of what the full classifier ([`super::classify`]) costs.
//!
//! It is a shortcut, never a second classifier: a statement takes it only when what the
//! summary reports *proves* that the full classifier gives exactly this analysis (verdict
//! [`Verdict::Read`] or a visible [`Verdict::Write`], the same relations read and
//! written, the same functions called, nothing else); in every other case [`summarized`]
//! says `None` and the statement goes the full way. The proof has two halves.
//!
//! 1. PostgreSQL's scanner (`pg_query::scan_tokens`) limits the syntax: the statement starts with
//!    `SELECT`, `TABLE` or `WITH` (a read), or `INSERT INTO`, `UPDATE` or `DELETE` (a
//!    write), is one statement (no `;`), has at most [`MAX_STRUCTURE`] tokens that can
//!    nest (see below), names no relation in three parts (the summary drops a catalog
//!    name), and uses no keyword outside [`ALLOWED`] (and its shape's own: [`READ`],
//!    [`WRITE`]) except unreserved ones (which the grammar lets stand as plain names,
//!    and none of which starts a clause of its own that the summary's walk does not
//!    see). What that leaves out is everything that makes a `SELECT` more than a read,
//!    or that the summary's walk does not see the way the classifier's does:
//!    `FOR UPDATE`/`SHARE` (row locks), `INTO` (a new table; in a write, only right after
//!    `INSERT`), `TABLESAMPLE`, `LATERAL`, `XMLTABLE`, `JSON_TABLE`, `FETCH`, `WINDOW`,
//!    `GROUPING`, `OPERATOR(…)`, `CYCLE … SET … TO` (expressions the summary does not
//!    walk), `MERGE` (its source relation is not in the summary), a `WITH` in a write.
//!    A `RETURNING` list may hold only names, `*`, `.`, `,` and `AS`: libpg_query's walker
//!    (pg_query 18.1) does not enter PostgreSQL 18's `ReturningClause`, so a function
//!    called there would be missing from the summary.
//! 2. The summary then says what the statement is: its statement types are the shape's
//!    own (`SelectStmt`, `InsertStmt`, …) followed by nested `SelectStmt`s only (so no
//!    data-modifying `WITH`), every relation is read (`SELECT` context) or, in a write, is
//!    the one target (DML context), every function is in a call context and none of them
//!    is one the guard knows by name ([`functions::effect`]: refused, surviving ROLLBACK,
//!    writing, or running SQL text) or `set_config`. Relations named like a CTE are not
//!    reads, as the classifier has it (the summary keeps a CTE's reference to a relation
//!    of its own name, which the classifier drops).
//!
//! The limit on tokens that can nest keeps the statement within the full path's nesting
//! limit: pg_query's protobuf decoder refuses a tree nested 100 messages deep (then the
//! full classifier refuses the statement as one the parser does not accept), and
//! `1+1+…+1` with 100 terms is that deep. Names, constants, parameters, commas and dots
//! only ever sit side by side or at the bottom of a tree (a leaf and its cast are at most
//! six levels); every other token (operators, parentheses, keywords) adds at most four
//! levels (a sub-select, `(SELECT`, adds seven for its three tokens with the `)`), and the
//! statement itself is seven levels above its expressions (nine for the rows of an
//! `INSERT … VALUES` or `INSERT … SELECT`). Only the tokens above a node count for its
//! depth, and those lie in the parentheses (or brackets) around it, never in a group
//! beside it: every node's span is balanced (each rule of the grammar closes what it
//! opens), so a node above a leaf outside a group holds that whole group, and has a token
//! of its own outside it (the group's parentheses, if nothing else). At the top level,
//! the parts between commas are siblings too (the items of a select list, of `FROM`,
//! `GROUP BY`, `ORDER BY` and `SET`, the rows of `VALUES`, the CTEs of `WITH`): what
//! stands above all of them is the statement and its clause, the seven (nine) levels
//! counted already, unless a set operation (`UNION`, …) wraps the parts before it; then
//! the top level is taken whole. So what is limited is, along the deepest chain of nested
//! groups, the sum of each group's own tokens that nest (its parentheses counted in the
//! group around it), and at the top the most of any one part: `f(a + b), g(c + d)` counts
//! 3 + 1, not 4 + 4 + 1, and the rows of a long `VALUES` list count once.
//! [`MAX_STRUCTURE`] = 20 stays below 9 + 6 + 4 × 20 = 95 levels; the unit tests build the
//! deepest statements of each kind at the limit, and wide ones far beyond it.
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
/// comments) a statement on the fast path may have along its deepest chain of nested
/// parentheses and brackets (see the module docs).
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

/// Keywords a read may use besides [`ALLOWED`]: `TABLE t`, and `WITH` (common table
/// expressions, whose data-modifying forms the summary's statement types show, and the
/// `WITH TIME ZONE` of types).
pub const READ: &[Token] = &[Token::Table, Token::With];

/// Keywords a write may use besides [`ALLOWED`]: `INTO` (right after `INSERT` only),
/// `DEFAULT`, `DO` (`ON CONFLICT … DO`, in an `INSERT`), and `RETURNING` (with a list of
/// names only).
pub const WRITE: &[Token] = &[Token::Into, Token::Default, Token::Do, Token::Returning];

/// What a statement on the fast path is, by its first token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Read,
    Insert,
    Update,
    Delete,
}

impl Shape {
    /// The shape a statement starting with `token` has, if any.
    fn of(token: Token) -> Option<Shape> {
        match token {
            Token::Select | Token::Table | Token::With => Some(Shape::Read),
            Token::Insert => Some(Shape::Insert),
            Token::Update => Some(Shape::Update),
            Token::DeleteP => Some(Shape::Delete),
            _ => None,
        }
    }

    /// The summary's name for the statement's own type.
    fn statement_type(self) -> &'static str {
        match self {
            Shape::Read => "SelectStmt",
            Shape::Insert => "InsertStmt",
            Shape::Update => "UpdateStmt",
            Shape::Delete => "DeleteStmt",
        }
    }

    /// Whether the shape may use the keyword `token` (beyond unreserved ones).
    fn allows(self, token: Token) -> bool {
        ALLOWED.contains(&token)
            || match self {
                Shape::Read => READ.contains(&token),
                Shape::Insert => WRITE.contains(&token),
                Shape::Update | Shape::Delete => {
                    WRITE.contains(&token) && !matches!(token, Token::Into | Token::Do)
                }
            }
    }
}

/// The analysis of `sql` when it is provably a plain read or write (see the module docs),
/// which is then exactly what the full classifier gives; `None` when it is not, or when
/// it cannot be told cheaply (the statement then goes the full way).
pub fn summarized(sql: &str) -> Option<Analysis> {
    // Which path, not the verdict: a statement whose first word starts no shape is
    // spared the scanner.
    if !first_word_may_start(sql) {
        return None;
    }
    let shape = plain_syntax(sql)?;
    let summary = pg_query::summary(sql, 0, -1).ok()?.protobuf;
    match summary.statement_types.split_first() {
        Some((first, rest))
            if first == shape.statement_type() && rest.iter().all(|t| t == "SelectStmt") => {}
        _ => return None,
    }
    let (mut reads, mut writes) = (BTreeSet::new(), BTreeSet::new());
    for table in &summary.tables {
        if table.table_name.is_empty() {
            return None;
        }
        let name = if table.schema_name.is_empty() {
            table.table_name.clone()
        } else {
            format!("{}.{}", table.schema_name, table.table_name)
        };
        match table.context() {
            Context::Select => reads.insert(name),
            Context::Dml if shape != Shape::Read => writes.insert(name),
            _ => return None,
        };
    }
    if shape != Shape::Read && writes.len() != 1 {
        return None;
    }
    // The classifier drops every read named like a CTE.
    reads.retain(|r| !summary.cte_names.contains(r));
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
    let mut analysis = Analysis::bare(match shape {
        Shape::Read => Verdict::Read,
        _ => Verdict::Write { opaque: false },
    });
    analysis.reads = reads.into_iter().collect();
    analysis.writes = writes.into_iter().collect();
    analysis.calls = calls.into_iter().collect();
    Some(analysis)
}

/// The scanner's half of the proof: the statement's shape when it starts one, is one
/// statement, has few tokens that nest, names no relation in three parts, and uses no
/// keyword outside its shape's but unreserved ones.
fn plain_syntax(sql: &str) -> Option<Shape> {
    let tokens = pg_query::scan_tokens(sql).ok()?;
    let mut tokens = tokens
        .iter()
        .filter(|t| t.token != Token::SqlComment as i32 && t.token != Token::CComment as i32)
        .peekable();
    let shape = Shape::of(Token::try_from(tokens.peek()?.token).ok()?)?;
    // Names in the dotted chain being read (`a.b.c` is three), and whether the previous
    // token was its dot.
    let (mut chain, mut dot) = (0, false);
    let mut nesting = Nesting::default();
    // Whether a RETURNING list is being read, and the previous token.
    let mut returning = false;
    let mut previous = None;
    for t in tokens {
        let token = Token::try_from(t.token).ok()?;
        let keyword = KeywordKind::try_from(t.keyword_kind).unwrap_or(KeywordKind::ReservedKeyword);
        match keyword {
            KeywordKind::NoKeyword | KeywordKind::UnreservedKeyword => {}
            _ if shape.allows(token) => {}
            _ => return None,
        }
        match token {
            // `INSERT INTO`, and no other INTO.
            Token::Into if previous != Some(Token::Insert) => return None,
            Token::Returning => returning = true,
            // A RETURNING list of names only (see the module docs).
            Token::Ident
            | Token::Uident
            | Token::Ascii44
            | Token::Ascii46
            | Token::Ascii42
            | Token::As => {}
            _ if returning => return None,
            _ => {}
        }
        previous = Some(token);
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
        );
        nesting.token(token, !flat)?;
        match token {
            // One statement only: the full classifier refuses more than one.
            Token::Ascii59 => return None,
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
                    return None;
                }
            }
            _ => chain = 0,
        }
        dot = false;
    }
    (nesting.depth()? <= MAX_STRUCTURE).then_some(shape)
}

/// The measure of nesting the module docs describe, token by token.
#[derive(Debug, Default)]
struct Nesting {
    /// The groups of parentheses or brackets still open, innermost last: each one's own
    /// tokens that nest, and the most of its closed groups'.
    open: Vec<(usize, usize)>,
    /// At the top level, the comma-separated part being read: its own tokens that nest,
    /// and the most of its closed groups'.
    part: (usize, usize),
    /// The most of the top level's parts read before.
    widest: usize,
    /// The top level taken whole, for when its parts add up.
    whole: (usize, usize),
    /// A set operation at the top level (`UNION`, `INTERSECT`, `EXCEPT`) wraps the
    /// parts before it, so they add up.
    set_operation: bool,
}

impl Nesting {
    /// Reads one token (`nests`: whether it is a token that can nest); `None` as soon as
    /// a part or group has too many, or a bracket closes none.
    fn token(&mut self, token: Token, nests: bool) -> Option<()> {
        if matches!(token, Token::Ascii41 | Token::Ascii93) {
            let (own, inner) = self.open.pop()?;
            match self.open.last_mut() {
                Some(outer) => outer.1 = outer.1.max(own + inner),
                None => {
                    self.part.1 = self.part.1.max(own + inner);
                    self.whole.1 = self.whole.1.max(own + inner);
                }
            }
        }
        if nests {
            let own = match self.open.last_mut() {
                Some(group) => &mut group.0,
                None => {
                    self.whole.0 += 1;
                    &mut self.part.0
                }
            };
            *own += 1;
            if *own > MAX_STRUCTURE {
                return None;
            }
        }
        match token {
            Token::Ascii40 | Token::Ascii91 => self.open.push((0, 0)),
            Token::Ascii44 if self.open.is_empty() => {
                self.widest = self.widest.max(self.part.0 + self.part.1);
                self.part = (0, 0);
            }
            Token::Union | Token::Intersect | Token::Except if self.open.is_empty() => {
                self.set_operation = true;
            }
            _ => {}
        }
        Some(())
    }

    /// The measure once every token is read; `None` while a group is open.
    fn depth(&self) -> Option<usize> {
        if !self.open.is_empty() {
            return None;
        }
        Some(if self.set_operation {
            self.whole.0 + self.whole.1
        } else {
            self.widest.max(self.part.0 + self.part.1)
        })
    }
}

/// Whether the first word of `sql`, after white space and comments (`--` to the end of
/// the line, `/* … */` nested), may start a statement on the fast path (`select`,
/// `table`, `with`, `insert`, `update` or `delete`, in any case). Only a pre-filter: the
/// scanner decides.
fn first_word_may_start(sql: &str) -> bool {
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
    let word = rest
        .as_bytes()
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let word = &rest.as_bytes()[..word];
    ["select", "table", "with", "insert", "update", "delete"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::classify::analyze_tree;
    use crate::sql::verdict::Options;

    /// The fast path's analysis, checked against the full classifier's.
    fn fast(sql: &str) -> Option<Analysis> {
        let got = summarized(sql);
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
            "TABLE orders",
            "table s.t union table u",
            "with r as (select * from t) select * from r join u using (id)",
            "with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select * from r",
            // A CTE's reference to a relation of its own name: the classifier drops it.
            "with users as (select * from users) select * from users",
            "with a as (select 1) select * from (with b as (select * from a) select * from b) s, c",
            "with r as materialized (select 1) select * from r",
            "select x::timestamp with time zone from t",
            "select * from generate_series(1, 3) with ordinality",
        ] {
            assert!(fast(sql).is_some(), "{sql}");
        }
        let a = fast("select lower(name) from s.t join u using (id)").unwrap();
        assert_eq!(a.reads, vec!["s.t", "u"]);
        assert_eq!(a.calls, vec!["lower"]);
        let a = fast("with r as (select * from t) select * from r, s.r").unwrap();
        assert_eq!(a.reads, vec!["s.r", "t"]);
    }

    #[test]
    fn plain_writes_take_it_with_the_full_analysis() {
        for sql in [
            "update orders set status = 'cancelled' where id = 42",
            "update orders set tags[1] = 'vip' where id = 7",
            "update orders o set total = o.total * 1.1 from customers c where c.id = o.customer_id and c.tier = 'gold'",
            "update only s.t set (a, b) = (select x, y from u where u.id = t.id), c = default",
            "update t set a = 1 where current of c",
            "update t set a = lower(b) from u join v on u.id = v.id, w where t.id = u.id and f(w.x)",
            "delete from sessions where expires_at < now() - interval '30 days'",
            "delete from t using u where t.a = u.a and t.b in (select b from s.v)",
            "DELETE FROM ONLY t",
            "insert into audit_log (actor, action) values ('alice', 'manual fix OPS-123') returning id",
            "insert into t values (1, 'x'), (2, default)",
            "insert into t as x default values",
            "insert into s.t (a[1], b) select a, lower(b) from u where exists (select 1 from v)",
            "insert into orders_archive select * from orders where created_at < '2020-01-01' on conflict (id) do nothing",
            "insert into t values (1) on conflict (a) where a > 0 do update set b = excluded.b + g(1) where t.c",
            "insert into t overriding system value values (1)",
            "insert into t values (1) returning *",
            "insert into t values (1) returning t.a as x, b, \"C\"",
            "update t set a = 1 returning a * b",
            // The target read too.
            "update t set a = (select max(a) from t)",
            "/* a comment */ delete from t where a = 1 -- and one after\n",
        ] {
            let a = fast(sql).unwrap_or_else(|| panic!("{sql}"));
            assert_eq!(a.verdict, Verdict::Write { opaque: false }, "{sql}");
        }
        let a = fast("update t set a = f(u.x) from s.u where u.id = t.id").unwrap();
        assert_eq!(a.writes, vec!["t"]);
        assert_eq!(a.reads, vec!["s.u"]);
        assert_eq!(a.calls, vec!["f"]);
    }

    #[test]
    fn what_must_go_the_full_way() {
        for sql in [
            // Row locks, a new table, CTEs (data-modifying ones above all).
            "select * from orders where id = 1 for update",
            "select * from orders for share skip locked",
            "select * into archive from orders",
            "with moved as (delete from q returning *) select * from moved",
            "with moved as (delete from q) select 1",
            "with r as (update q set a = 1) select 1",
            "with r as (insert into q values (1)) select 1",
            "with r as (select 1) select * from r for update",
            "with r as (select 1) select * into t from r",
            "with recursive r(n) as (select 1 union all select n + 1 from r) cycle n set c to f(1) default g(2) using p select * from r",
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
            // Writes the summary does not show as the tree walk does: RETURNING beyond
            // names (libpg_query's walker skips PostgreSQL 18's ReturningClause), MERGE
            // (its source), a second INTO, WITH, known functions.
            "insert into t values (1) returning nextval('s')",
            "insert into t values (1) returning pg_read_file('x')",
            "update t set a = 1 returning f(a)",
            "delete from t returning (select 1)",
            "delete from t returning a at local",
            "update t set a = 1 returning 1",
            "merge into t using u on t.a = u.a when matched then delete",
            "insert into t select 1 into u",
            "with r as (select 1) insert into t select * from r",
            "with r as (select 1) update t set a = 1",
            "update t set a = nextval('s')",
            "delete from t where pg_advisory_lock(1) is not null",
            "insert into t values (dblink_exec('x', 'y'))",
            "insert into t values (set_config('role', 'x', true))",
            "update t set a = 1 from u tablesample system (1)",
            "update t set a = 1 from lateral (select 1) s",
            "update cat.s.t set a = 1",
            "insert into t values (1) on conflict on constraint c do nothing",
            "delete from t where a = 1 for update",
            // Not one statement on the fast path.
            "select 1; select 2",
            "update t set a = 1; delete from t",
            "(select 1)",
            "explain select 1",
            "explain analyze delete from t",
            "selec 1",
            "values (1)",
            "truncate t",
            "copy t from stdin",
            "-- select\ncreate table t (a int)",
            "/* select */ drop table t",
            "/* unterminated select",
        ] {
            assert!(fast(sql).is_none(), "{sql}");
        }
        // One token too many that can nest, in one group or along a chain of groups.
        let long = format!("select 1{}", "+1".repeat(MAX_STRUCTURE));
        assert!(fast(&long).is_none());
        let deep = format!(
            "select {}1{}",
            "f(".repeat(MAX_STRUCTURE / 2),
            ")".repeat(MAX_STRUCTURE / 2)
        );
        assert!(fast(&deep).is_none());
        let chain = format!("select (1{}) + 1", "+1".repeat(MAX_STRUCTURE - 3));
        assert!(fast(&chain).is_none());
        // Unbalanced.
        assert!(fast("select (1").is_none());
        assert!(fast("select 1)").is_none());
    }

    #[test]
    fn groups_and_parts_side_by_side_do_not_add_up() {
        let m = MAX_STRUCTURE;
        let rows = vec!["(1, 'a', f(x) + 1, array[1, 2], (select 1))"; 500].join(", ");
        let calls = vec!["lower(a || b) || upper(c)"; 200].join(", ");
        let chain = |k: usize| format!("(a{})", " + a".repeat(k));
        for sql in [
            format!("insert into t values {rows}"),
            format!(
                "insert into t (a, b) values {rows} on conflict (a) do update set b = 1, c = 2"
            ),
            format!("select {calls} from t where (a + 1) * (b - 1) > (c / 2)"),
            format!(
                "update t set {} where id = 1",
                vec!["a = f(b) + 1"; 100].join(", ")
            ),
            format!("select {} from t", vec![chain(m - 4); 50].join(", ")),
            format!(
                "with {} select 1 from t order by {}",
                vec!["c as (select f(x) from u)"; 30].join(", "),
                vec!["g(y) desc"; 30].join(", ")
            ),
        ] {
            assert!(fast(&sql).is_some(), "{}", &sql[..80]);
        }
        // But the tokens of one part or group do add up, and a set operation wraps all
        // the parts before it.
        for sql in [
            format!("select 1 from t where {}", vec!["a = 1"; 100].join(" or ")),
            format!("select greatest({}) from t", vec!["(a + 1)"; 30].join(", ")),
            format!("select a, b {}", "union select a, b ".repeat(m)),
            format!("select 1, (a{})", " + a".repeat(m)),
        ] {
            assert!(fast(&sql).is_none(), "{}", &sql[..80]);
        }
    }

    #[test]
    fn parts_at_the_limit_stay_within_the_full_path() {
        // The deepest part of a statement with wide parts beside it.
        let m = MAX_STRUCTURE;
        let deepest = [
            format!(
                "insert into t values (1), (2), ({}t.c::text)",
                "- ".repeat(m - 4)
            ),
            format!("insert into t values (1), (1{})", "+1".repeat(m - 2)),
            format!(
                "insert into t values (1), ({}x.y{})",
                "(select ".repeat((m - 2) / 3),
                ")".repeat((m - 2) / 3)
            ),
            format!(
                "insert into t values (1) on conflict (a) do update set c = 1, b = {}1",
                "- ".repeat(m - 1)
            ),
            format!("update t set b = 1, a = {}t.c::text", "- ".repeat(m - 3)),
            format!("update t set b = 1, a = 1{}", "+1".repeat(m - 1)),
            format!("select 1, {}1{}", "f(".repeat(m / 2), ")".repeat(m / 2)),
            format!(
                "select 1, {}x.y{}",
                "(select ".repeat(m / 3),
                ")".repeat(m / 3)
            ),
            format!("select 1 from t order by a, {}b", "- ".repeat(m)),
            format!("select 1 from t group by a, {}b", "- ".repeat(m)),
            format!("select 1 from t, u join v on {}true", "not ".repeat(m - 3)),
            format!(
                "with a as (select 1), b as (select {}x.y{}) select 1",
                "(select ".repeat((m - 5) / 3),
                ")".repeat((m - 5) / 3)
            ),
        ];
        for sql in deepest {
            assert!(fast(&sql).is_some(), "{sql}");
        }
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
    fn writes_nesting_at_the_limit_stay_within_the_full_path() {
        // As above, for writes: the rows of an INSERT sit two levels deeper than a
        // SELECT's list. `insert into t values (` and its `)` are five tokens that nest
        // (`text`, a keyword, is one too).
        let m = MAX_STRUCTURE;
        let deepest = [
            format!("insert into t values ({}t.c::text)", "- ".repeat(m - 7)),
            format!("insert into t values (1{})", "+1".repeat(m - 5)),
            format!(
                "insert into t values ({}1{})",
                "f(".repeat((m - 5) / 2),
                ")".repeat((m - 5) / 2)
            ),
            format!(
                "insert into t values ({}x.y{})",
                "(select ".repeat((m - 5) / 3),
                ")".repeat((m - 5) / 3)
            ),
            format!(
                "insert into t values ({}x{})",
                "array[".repeat((m - 5) / 3),
                "]".repeat((m - 5) / 3)
            ),
            format!(
                "insert into t values ({}1{})",
                "case when a then ".repeat((m - 5) / 4),
                " end".repeat((m - 5) / 4)
            ),
            format!("insert into t select {}t.c::text", "- ".repeat(m - 5)),
            format!(
                "insert into t select {}x.y{}",
                "(select ".repeat((m - 3) / 3),
                ")".repeat((m - 3) / 3)
            ),
            format!(
                "insert into t select * from {}u{}",
                "(select * from ".repeat((m - 3) / 5),
                ") s".repeat((m - 3) / 5)
            ),
            format!(
                "insert into t (a) values (1) on conflict (a) do update set b = {}1",
                "- ".repeat(m - 15)
            ),
            format!("update t set a = {}t.c::text", "- ".repeat(m - 5)),
            format!("update t set a = 1{}", "+1".repeat(m - 3)),
            format!(
                "update t set (a) = ({}x.y{})",
                "(select ".repeat((m - 7) / 3),
                ")".repeat((m - 7) / 3)
            ),
            format!("delete from t where {}a.b", "not ".repeat(m - 3)),
            format!("delete from t where 1{} = 1", "+1".repeat(m - 4)),
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
