//! The fast path for plain reads and writes: a `SELECT`, `INSERT`, `UPDATE` or `DELETE`
//! (a plain `EXPLAIN` of one, a plain PL/pgSQL expression) whose analysis can be read off PostgreSQL's own summary of the statement
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
//!    `FOR UPDATE … OF` (row locks naming their tables, maybe by an alias, which the
//!    classifier counts as reads), `INTO` (a new table; in a write, only right after
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
//! A row-locking clause without `OF` (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`,
//! `FOR KEY SHARE`, with `NOWAIT` or `SKIP LOCKED`) makes a plain read a visible write,
//! as the classifier has it (only a write transaction holds row locks).
//!
//! Two more things take the same proof:
//!
//! - `EXPLAIN` without `ANALYZE` (its options in parentheses name no `analyze`, quoted or
//!   not) of a statement on the fast path: nothing runs, so the classifier gives a read
//!   with the statement's relations read and written, and no calls. The statement sits
//!   two protobuf messages deeper, so it may have one token that nests fewer.
//! - A PL/pgSQL expression (a condition, an assignment: [`expression`], parsed in the mode
//!   the PL/pgSQL compiler uses) that the proof shows to be a plain read without `WITH`:
//!   the classifier's walk of its tree finds a read, its relations and its calls, which
//!   is what the body's facts get. One token that nests fewer for the implicit `SELECT`,
//!   two for an assignment.
//!
//! A call of a function created earlier in the session or file is resolved after either
//! path ([`super::Created::resolve`] reads [`Analysis::calls`], which both give alike).
//! `bench/corpus.sh DIR --equivalence` and the unit tests check, statement by statement,
//! that the fast path's analysis is the full classifier's ([`super::analyze_tree`], which
//! takes no fast path at any depth).

use std::collections::BTreeSet;

use pg_query::protobuf::summary_result::Context;
use pg_query::protobuf::{KeywordKind, ScanToken, SummaryResult, Token};

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

/// The analysis of `sql` when it is provably a plain read or write, or a plain `EXPLAIN`
/// of one (see the module docs), which is then exactly what the full classifier gives;
/// `None` when it is not, or when it cannot be told cheaply (the statement then goes the
/// full way).
pub fn summarized(sql: &str) -> Option<Analysis> {
    // Which path, not the verdict: a statement whose first word starts no shape is
    // spared the scanner.
    match first_word(sql)? {
        Start::Plain => plain(sql),
        Start::Explain => explained(sql),
        Start::Create => new_table(sql),
    }
}

/// A plain read or write: the scanner's half of the proof, then the summary's.
fn plain(sql: &str) -> Option<Analysis> {
    let tokens = tokens(sql)?;
    let shape = Shape::of(Token::try_from(tokens.first()?.token).ok()?)?;
    let locks = plain_syntax(&tokens, shape, MAX_STRUCTURE)?;
    decide(sql, 0, shape, locks)
}

/// `EXPLAIN [VERBOSE] statement` or `EXPLAIN (options) statement` without `ANALYZE`, of a
/// statement that is itself on the fast path: nothing runs, so the full classifier mutes
/// the statement's risk and calls (a read) but keeps what it reads and writes.
fn explained(sql: &str) -> Option<Analysis> {
    let tokens = tokens(sql)?;
    let mut rest = tokens.get(1..)?;
    if Token::try_from(rest.first()?.token) == Ok(Token::Ascii40) {
        // Options: `name [value]`, comma-separated; any of them named ANALYZE (however
        // spelt, quoted included) runs the statement, so it goes the full way.
        let close = rest.iter().position(|t| t.token == Token::Ascii41 as i32)?;
        for t in &rest[1..close] {
            let text = sql.get(usize::try_from(t.start).ok()?..usize::try_from(t.end).ok()?)?;
            let word = text.trim_matches('"');
            if matches!(
                Token::try_from(t.token),
                Ok(Token::Analyze | Token::Analyse | Token::Ascii40 | Token::Uident)
            ) || word.eq_ignore_ascii_case("analyze")
                || word.eq_ignore_ascii_case("analyse")
                || text.starts_with('"')
            {
                return None;
            }
        }
        rest = &rest[close + 1..];
    } else if Token::try_from(rest.first()?.token) == Ok(Token::Verbose) {
        rest = &rest[1..];
    }
    let shape = Shape::of(Token::try_from(rest.first()?.token).ok()?)?;
    // The statement sits two messages deeper under EXPLAIN: one token that nests less.
    let locks = plain_syntax(rest, shape, MAX_STRUCTURE - 1)?;
    let inner = sql.get(usize::try_from(rest.first()?.start).ok()?..)?;
    let planned = decide(inner, 0, shape, locks)?;
    let mut analysis = Analysis::bare(Verdict::Read);
    analysis.reads = planned.reads;
    analysis.writes = planned.writes;
    Some(analysis)
}

/// `CREATE [TEMP | TEMPORARY | UNLOGGED] TABLE [IF NOT EXISTS] name (…)` whose columns
/// have a type, `NOT NULL`, `NULL`, `PRIMARY KEY`, `UNIQUE`, `COLLATE` and `DEFAULT` a
/// constant only, and whose table constraints are `PRIMARY KEY (…)` and `UNIQUE (…)`:
/// such a table points at no other relation (no `REFERENCES`, `INHERITS`, `PARTITION
/// OF`, `LIKE`) and calls no function (no expression but a constant), so the classifier
/// gives a schema change that writes the new table and locks nothing that existed
/// ([`super::locks::create_table`]). The summary (whose walk does not enter a `CREATE
/// TABLE`) proves only that PostgreSQL's parser accepts it as one, and names the table.
fn new_table(sql: &str) -> Option<Analysis> {
    let tokens = tokens(sql)?;
    let kinds: Vec<Token> = tokens
        .iter()
        .map(|t| Token::try_from(t.token).ok())
        .collect::<Option<_>>()?;
    let mut i = 1;
    if matches!(
        kinds.get(i),
        Some(Token::Temp | Token::Temporary | Token::Unlogged)
    ) {
        i += 1;
    }
    if kinds.get(i) != Some(&Token::Table) {
        return None;
    }
    i += 1;
    if kinds.get(i..i + 3) == Some(&[Token::IfP, Token::Not, Token::Exists]) {
        i += 3;
    }
    // The table's name: one or two names.
    let name = |t: &ScanToken| {
        t.token == Token::Ident as i32
            || KeywordKind::try_from(t.keyword_kind) == Ok(KeywordKind::UnreservedKeyword)
    };
    let mut parts = 0;
    loop {
        if !name(tokens.get(i)?) {
            return None;
        }
        parts += 1;
        i += 1;
        if kinds.get(i) != Some(&Token::Ascii46) || parts == 2 {
            break;
        }
        i += 1;
    }
    if kinds.get(i) != Some(&Token::Ascii40) {
        return None;
    }
    table_elements(&tokens[i + 1..], &kinds[i + 1..])?;
    let summary = pg_query::summary(sql, 0, -1).ok()?.protobuf;
    let [table] = summary.tables.as_slice() else {
        return None;
    };
    if summary.statement_types != ["CreateStmt"]
        || !summary.functions.is_empty()
        || table.context() != Context::Ddl
        || table.table_name.is_empty()
    {
        return None;
    }
    let mut analysis = Analysis::bare(Verdict::Ddl);
    analysis.lock = Some(super::locks::NONE);
    analysis.writes = vec![if table.schema_name.is_empty() {
        table.table_name.clone()
    } else {
        format!("{}.{}", table.schema_name, table.table_name)
    }];
    Some(analysis)
}

/// The scanner's check of a `CREATE TABLE`'s elements (`tokens`, after the `(` that opens
/// them, with their `kinds`) for [`new_table`]: they end with the `)` that closes them,
/// as the statement does; a `DEFAULT` is one constant; a group inside (a type's
/// modifiers, array bounds, a key's columns) holds single names or integers between
/// commas, so no expression, and so no function call, can hide in it.
fn table_elements(tokens: &[ScanToken], kinds: &[Token]) -> Option<()> {
    let mut i = 0;
    loop {
        let token = *kinds.get(i)?;
        let keyword = KeywordKind::try_from(tokens[i].keyword_kind).ok()?;
        match token {
            // The end of the elements, and of the statement.
            Token::Ascii41 => return (i + 1 == kinds.len()).then_some(()),
            Token::Ascii40 | Token::Ascii91 => {
                let close = if token == Token::Ascii40 {
                    Token::Ascii41
                } else {
                    Token::Ascii93
                };
                i += 1;
                // Single names or integers between commas, then the closing bracket.
                loop {
                    let flat = matches!(kinds.get(i)?, Token::Iconst | Token::Ident)
                        || matches!(
                            KeywordKind::try_from(tokens[i].keyword_kind),
                            Ok(KeywordKind::UnreservedKeyword | KeywordKind::ColNameKeyword)
                        );
                    if kinds[i] == close {
                        break;
                    }
                    if !flat {
                        return None;
                    }
                    i += 1;
                    match kinds.get(i)? {
                        Token::Ascii44 => i += 1,
                        t if *t == close => break,
                        _ => return None,
                    }
                }
            }
            Token::Default => {
                i += 1;
                if kinds.get(i) == Some(&Token::Ascii45) {
                    i += 1;
                }
                if !matches!(
                    kinds.get(i)?,
                    Token::Iconst
                        | Token::Fconst
                        | Token::Sconst
                        | Token::NullP
                        | Token::TrueP
                        | Token::FalseP
                ) {
                    return None;
                }
                if !matches!(
                    kinds.get(i + 1)?,
                    Token::Ascii44
                        | Token::Ascii41
                        | Token::Not
                        | Token::NullP
                        | Token::Primary
                        | Token::Unique
                        | Token::Constraint
                ) {
                    return None;
                }
            }
            Token::Ident
            | Token::Ascii44
            | Token::Ascii46
            | Token::Not
            | Token::NullP
            | Token::Primary
            | Token::Unique
            | Token::Constraint
            | Token::Collate
            | Token::With => {}
            _ if matches!(
                keyword,
                KeywordKind::UnreservedKeyword | KeywordKind::ColNameKeyword
            ) => {}
            _ => return None,
        }
        i += 1;
    }
}

/// What a PL/pgSQL expression (`text`, parsed in `mode`: a condition, an assignment, …)
/// reads and calls, when it is provably a plain read as above and has no `WITH`: then the
/// full classifier's walk of its tree finds exactly these relations and calls and a read,
/// nothing else. `None` otherwise (the expression then goes the full way).
pub(crate) fn expression(text: &str, mode: i32) -> Option<Analysis> {
    use pg_query::ParserOptions as P;
    // The implicit `SELECT` (and an assignment's statement) sit above the expression:
    // one or two tokens that nest less.
    let limit = match mode {
        m if m == P::PLPGSQL_EXPR.bits() => MAX_STRUCTURE - 1,
        m if m == P::PLPGSQL_ASSIGN1.bits()
            || m == P::PLPGSQL_ASSIGN2.bits()
            || m == P::PLPGSQL_ASSIGN3.bits() =>
        {
            MAX_STRUCTURE - 2
        }
        _ => return None,
    };
    let tokens = tokens(text)?;
    if tokens.is_empty() || plain_syntax(&tokens, Shape::Read, limit)? {
        return None;
    }
    let summary = pg_query::summary(text, mode, -1).ok()?.protobuf;
    if !summary.cte_names.is_empty() {
        return None;
    }
    summary_analysis(&summary, Shape::Read, false)
}

/// The comments-free tokens of `sql`, from PostgreSQL's scanner.
fn tokens(sql: &str) -> Option<Vec<ScanToken>> {
    // pg_query 18.1 hands over no tokens as a null pointer, which it must not make a
    // slice of: text without any token (PostgreSQL's white space is Rust's too) is no
    // statement for the fast path anyway.
    if sql.trim().is_empty() {
        return None;
    }
    let mut tokens = pg_query::scan_tokens(sql).ok()?;
    tokens.retain(|t| t.token != Token::SqlComment as i32 && t.token != Token::CComment as i32);
    Some(tokens)
}

/// The summary's half of the proof, for `sql` parsed in `mode` whose syntax is `shape`'s
/// (`locks`: it has a row-locking clause, which makes a read a write).
fn decide(sql: &str, mode: i32, shape: Shape, locks: bool) -> Option<Analysis> {
    let summary = pg_query::summary(sql, mode, -1).ok()?.protobuf;
    summary_analysis(&summary, shape, locks)
}

/// The analysis a summary proves (see the module docs), or `None`.
fn summary_analysis(summary: &SummaryResult, shape: Shape, locks: bool) -> Option<Analysis> {
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
        Shape::Read if !locks => Verdict::Read,
        _ => Verdict::Write { opaque: false },
    });
    analysis.reads = reads.into_iter().collect();
    analysis.writes = writes.into_iter().collect();
    analysis.calls = calls.into_iter().collect();
    Some(analysis)
}

/// The scanner's half of the proof for `tokens` of `shape`: one statement, at most
/// `limit` tokens that nest (see the module docs), no relation in three parts, no keyword
/// outside its shape's but unreserved ones. `Some(true)` when a read has a row-locking
/// clause (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE`, without `OF`).
fn plain_syntax(tokens: &[ScanToken], shape: Shape, limit: usize) -> Option<bool> {
    // Names in the dotted chain being read (`a.b.c` is three), and whether the previous
    // token was its dot.
    let (mut chain, mut dot) = (0, false);
    let mut nesting = Nesting::default();
    // Whether a RETURNING list is being read, and the previous token.
    let mut returning = false;
    let mut previous = None;
    let mut locks = false;
    let mut tokens = tokens.iter().peekable();
    while let Some(t) = tokens.next() {
        let token = Token::try_from(t.token).ok()?;
        let keyword = KeywordKind::try_from(t.keyword_kind).unwrap_or(KeywordKind::ReservedKeyword);
        match (keyword, token) {
            (KeywordKind::NoKeyword | KeywordKind::UnreservedKeyword, _) => {}
            // A row-locking clause, in a read only.
            (_, Token::For) if shape == Shape::Read => {
                let next = tokens.peek().and_then(|n| Token::try_from(n.token).ok());
                if !matches!(
                    next,
                    Some(Token::Update | Token::Share | Token::No | Token::Key)
                ) {
                    return None;
                }
                locks = true;
            }
            _ if shape.allows(token) => {}
            _ => return None,
        }
        match token {
            // `INSERT INTO`, and no other INTO.
            Token::Into if previous != Some(Token::Insert) => return None,
            // `FOR UPDATE OF t` names what it locks, maybe by an alias: the full way.
            Token::Of if locks => return None,
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
        nesting.token(token, !flat, limit)?;
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
    (nesting.depth()? <= limit).then_some(locks)
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
    /// a part or group has more than `limit`, or a bracket closes none.
    fn token(&mut self, token: Token, nests: bool, limit: usize) -> Option<()> {
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
            if *own > limit {
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

/// Which fast path the first word of `sql` may start, after white space and comments (`--`
/// to the end of the line, `/* … */` nested): `select`, `table`, `with`, `insert`,
/// `update` or `delete` ([`Start::Plain`]), `explain` ([`Start::Explain`]), in any case.
/// Only a pre-filter: the scanner decides.
fn first_word(sql: &str) -> Option<Start> {
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
                return None;
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
    if ["select", "table", "with", "insert", "update", "delete"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
    {
        Some(Start::Plain)
    } else if word.eq_ignore_ascii_case(b"explain") {
        Some(Start::Explain)
    } else if word.eq_ignore_ascii_case(b"create") {
        Some(Start::Create)
    } else {
        None
    }
}

/// The fast path a statement's first word may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Plain,
    Explain,
    Create,
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
    fn row_locks_make_a_plain_read_a_write() {
        for sql in [
            "select * from orders where id = any(array[1,2,3]) for update",
            "select * from orders for share skip locked",
            "select * from orders where id = 1 for no key update nowait",
            "select * from orders for key share for update limit 1",
            "select * from orders for update limit 1",
            "with r as (select 1) select * from r, t for update",
            "select * from (select * from t for update) s",
        ] {
            let a = fast(sql).unwrap_or_else(|| panic!("{sql}"));
            assert_eq!(a.verdict, Verdict::Write { opaque: false }, "{sql}");
        }
        for sql in [
            "select * from t for update of t",
            "select * from t for",
            "select substring(a from 1 for 2) from t",
            "select * from t for update; select 1",
            "select nextval('s') from t for update",
            "with d as (delete from t returning *) select * from d for update",
        ] {
            assert!(fast(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn a_plain_explain_of_a_plain_statement_takes_it() {
        for sql in [
            "explain select * from orders where id = 1",
            "EXPLAIN (COSTS OFF) select o.id from orders o join s.items i using (id)",
            "explain (verbose, costs off, format json) update t set a = lower(b) from u where u.id = t.id",
            "explain verbose delete from t where a in (select a from u)",
            "-- plan it\nexplain (costs off)\n  insert into t select * from u",
            "explain with r as (select * from t) select * from r",
            "explain select * from t for update",
            "explain (costs off, generic_plan) select * from t where a = $1",
            "explain table t",
        ] {
            let a = fast(sql).unwrap_or_else(|| panic!("{sql}"));
            assert_eq!(a.verdict, Verdict::Read, "{sql}");
            assert!(a.calls.is_empty(), "{sql}");
        }
        let a = fast("explain update t set a = f(1) from u where u.id = t.id").unwrap();
        assert_eq!(
            (a.reads, a.writes),
            (vec!["u".to_string()], vec!["t".to_string()])
        );
        for sql in [
            // It runs.
            "explain analyze delete from t",
            "explain analyse select 1",
            "explain analyze verbose select 1",
            "explain (analyze) select 1",
            "explain (costs off, analyze) select 1",
            "explain (analyze false) select 1",
            "explain (\"analyze\") select 1",
            "explain (\"ANALYZE\" on) select 1",
            // Not a statement on the fast path, or a known function.
            "explain select nextval('s')",
            "explain with d as (delete from t returning *) select * from d",
            "explain create table t as select 1",
            "explain execute s1",
            "explain merge into t using u on t.a = u.a when matched then delete",
            "explain select 1; select 2",
            "explain (costs off",
            "explain",
        ] {
            assert!(fast(sql).is_none(), "{sql}");
        }
        // EXPLAIN puts the statement two messages deeper: one token that nests less.
        let n = MAX_STRUCTURE - 2;
        for sql in [
            format!("explain select {}t.c::text", "- ".repeat(n - 2)),
            format!("explain select 1{}", "+1".repeat(n)),
            format!(
                "explain select {}x.y{}",
                "(select ".repeat(n / 3),
                ")".repeat(n / 3)
            ),
            format!(
                "explain insert into t values ({}t.c::text)",
                "- ".repeat(n - 6)
            ),
            format!(
                "explain (costs off) update t set a = 1{}",
                "+1".repeat(n - 2)
            ),
        ] {
            assert!(fast(&sql).is_some(), "{sql}");
        }
        assert!(fast(&format!("explain select 1{}", "+1".repeat(n + 1))).is_none());
    }

    #[test]
    fn a_plain_create_table_takes_it() {
        for sql in [
            "create table t (a int)",
            "CREATE TABLE IF NOT EXISTS s.orders (id bigserial primary key, status text not null \
             default 'new', total numeric(12, 2) default 0, created_at timestamp with time zone, \
             tags text[], note varchar(200) collate \"C\")",
            "create temp table t (a int, b int, primary key (a, b), unique (b) include (a))",
            "create unlogged table t (x double precision default -1.5, y bit varying(3), z interval)",
            "create table t ()",
            "create table t (a int default null not null, b boolean default true, constraint u unique (a))",
            "create table \"Mixed\" (\"select\" int, m int[3], n character varying(9) storage plain)",
            "-- a comment\ncreate temporary table t (a int) /* and one after */",
        ] {
            let a = fast(sql).unwrap_or_else(|| panic!("{sql}"));
            assert_eq!(a.verdict, Verdict::Ddl, "{sql}");
            assert_eq!(a.lock, Some(crate::sql::locks::NONE), "{sql}");
            assert_eq!(a.writes.len(), 1, "{sql}");
        }
        assert_eq!(
            fast("create table s.t (a int)").unwrap().writes,
            vec!["s.t"]
        );
        for sql in [
            // Other relations: a referenced table, a parent, a LIKE source.
            "create table t (a int references u)",
            "create table t (a int, foreign key (a) references u (id))",
            "create table t (like u)",
            "create table t (a int) inherits (u)",
            "create table t partition of p for values in (1)",
            "create table t (a int) partition by range (a)",
            "create table t of mytype",
            // Expressions, which may call functions.
            "create table t (a int default nextval('s'))",
            "create table t (a timestamptz default now())",
            "create table t (a int default 1 + 1)",
            "create table t (a text default 'x'::text)",
            "create table t (a timestamptz default current_timestamp)",
            "create table t (a int check (a > 0))",
            "create table t (a int generated always as (b * 2) stored, b int)",
            "create table t (a int generated always as identity)",
            "create table t (a varchar(f(1)))",
            "create table t (a varchar(b at time zone c))",
            "create table t (a int, exclude using gist (a with =))",
            // Other clauses, forms and statements.
            "create table t as select 1",
            "create table t (a int) with (fillfactor = 10)",
            "create temp table t (a int) on commit drop",
            "create global temp table t (a int)",
            "create table a.b.c (x int)",
            "create table t (a int); create table u (b int)",
            "create table t (a int",
            "create index i on t (a)",
            "create view v as select 1",
            "create function f() returns int language sql as 'select 1'",
        ] {
            assert!(fast(sql).is_none(), "{sql}");
        }
    }

    /// The fast path's analysis of a PL/pgSQL expression, checked against the full walk of
    /// its tree.
    fn expr(text: &str, mode: pg_query::ParserOptions) -> Option<Analysis> {
        use crate::sql::tree::{walk_parse_result, Facts};
        use crate::sql::verdict::Risk;
        let got = expression(text, mode.bits());
        if let Some(a) = &got {
            let parsed = pg_query::parse(text, mode).unwrap();
            let mut facts = Facts::default();
            walk_parse_result(&parsed.protobuf, &mut facts);
            assert!(facts.refusal.is_none(), "{text}");
            assert_eq!(facts.risk, Some(Risk::Read), "{text}");
            assert_eq!(a.verdict, Verdict::Read, "{text}");
            assert_eq!(a.reads, facts.reads(), "{text}");
            assert!(facts.writes.is_empty() && a.writes.is_empty(), "{text}");
            let calls: Vec<String> = facts.calls.iter().cloned().collect();
            assert_eq!(a.calls, calls, "{text}");
            assert!(
                facts.survives.is_empty() && facts.executes.is_empty(),
                "{text}"
            );
            assert_eq!(facts.lock, None, "{text}");
        }
        got
    }

    #[test]
    fn plain_plpgsql_expressions_take_it() {
        use pg_query::ParserOptions as P;
        for (text, mode) in [
            ("n > 0", P::PLPGSQL_EXPR),
            ("NEW.total IS NULL AND TG_OP = 'INSERT'", P::PLPGSQL_EXPR),
            ("lower(a) || upper(b)", P::PLPGSQL_EXPR),
            (
                "(select count(*) from s.orders o where o.id = $1)",
                P::PLPGSQL_EXPR,
            ),
            (
                "exists (select 1 from t join u using (id))",
                P::PLPGSQL_EXPR,
            ),
            ("coalesce(x, 0) + 1", P::PLPGSQL_EXPR),
            ("array[1, 2, f(3)]", P::PLPGSQL_EXPR),
            ("count(*) from t where a = 1", P::PLPGSQL_EXPR),
            ("n := n + 1", P::PLPGSQL_ASSIGN1),
            ("r.total := (select sum(a) from t)", P::PLPGSQL_ASSIGN2),
            ("v[i + g(1)] := lower(x)", P::PLPGSQL_ASSIGN1),
            ("v.a[1] := 0", P::PLPGSQL_ASSIGN2),
        ] {
            assert!(expr(text, mode).is_some(), "{text}");
        }
        for (text, mode) in [
            // Known functions, CTEs, row locks, what the summary does not see.
            ("nextval('s')", P::PLPGSQL_EXPR),
            ("pg_read_file('/etc/passwd')", P::PLPGSQL_EXPR),
            ("set_config('role', 'x', true)", P::PLPGSQL_EXPR),
            ("x := dblink('a', 'b')", P::PLPGSQL_ASSIGN1),
            ("(with r as (select 1) select * from r)", P::PLPGSQL_EXPR),
            ("a from t for update", P::PLPGSQL_EXPR),
            ("1 from t, lateral (select 1) s", P::PLPGSQL_EXPR),
            ("a from t tablesample system (1)", P::PLPGSQL_EXPR),
            ("x into y", P::PLPGSQL_EXPR),
            ("1; select 2", P::PLPGSQL_EXPR),
            ("", P::PLPGSQL_EXPR),
            // Other modes: a statement, a type name.
            ("select 1", P::DEFAULT),
            ("integer", P::TYPE_NAME),
        ] {
            assert!(expr(text, mode).is_none(), "{text}");
        }
        // The implicit SELECT (and an assignment) sit above the expression.
        let n = MAX_STRUCTURE - 2;
        for (text, mode) in [
            (format!("1{}", "+1".repeat(n)), P::PLPGSQL_EXPR),
            (
                format!("{}x.y{}", "(select ".repeat(n / 3), ")".repeat(n / 3)),
                P::PLPGSQL_EXPR,
            ),
            (format!("v := 1{}", "+1".repeat(n - 2)), P::PLPGSQL_ASSIGN1),
            (
                format!("v := {}t.c::text", "- ".repeat(n - 3)),
                P::PLPGSQL_ASSIGN1,
            ),
        ] {
            assert!(expr(&text, mode).is_some(), "{text}");
        }
        let m = MAX_STRUCTURE - 1;
        assert!(expr(&format!("1{}", "+1".repeat(m)), P::PLPGSQL_EXPR).is_some());
        assert!(expr(&format!("1{}", "+1".repeat(m + 1)), P::PLPGSQL_EXPR).is_none());
        // `:=` is one of them.
        assert!(expr(&format!("v := 1{}", "+1".repeat(m - 2)), P::PLPGSQL_ASSIGN1).is_some());
        assert!(expr(&format!("v := 1{}", "+1".repeat(m - 1)), P::PLPGSQL_ASSIGN1).is_none());
    }

    #[test]
    fn bodies_with_plain_expressions_get_the_full_analysis() {
        let options = Options::default();
        for sql in [
            "DO $$ declare n int := 0; begin n := n + 1; if n > 0 and lower('x') = 'x' then \
             update orders set status = 'late' where due < now(); end if; end $$",
            "DO $$ begin if (select count(*) from s.t) > 1 then perform f(1); end if; end $$",
            "DO $$ declare r record; begin for r in select * from t loop raise notice '%', r.a; \
             end loop; end $$",
            "DO $$ begin if nextval('s') > 1 then null; end if; end $$",
            "DO $$ declare x text := pg_read_file('/etc/passwd'); begin null; end $$",
            "DO $$ begin if exists (with c as (select 1) select * from c) then null; end if; end $$",
            "create function f(a int) returns int language plpgsql as $$ begin \
             return a + (select max(b) from t where t.c = a); end $$",
            "create function g() returns trigger language plpgsql as $$ begin \
             new.total := new.qty * (select price from items where id = new.item); return new; end $$",
        ] {
            assert_eq!(
                crate::sql::analyze(sql, &options),
                analyze_tree(sql, &options),
                "{sql}"
            );
        }
    }

    #[test]
    fn what_must_go_the_full_way() {
        for sql in [
            // Row locks naming what they lock, a new table, CTEs (data-modifying ones
            // above all).
            "select * from orders o where id = 1 for update of o",
            "select * from orders for share of orders skip locked",
            "select * into archive from orders",
            "with moved as (delete from q returning *) select * from moved",
            "with moved as (delete from q) select 1",
            "with r as (update q set a = 1) select 1",
            "with r as (insert into q values (1)) select 1",
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
            "selec 1",
            "values (1)",
            "truncate t",
            "copy t from stdin",
            "-- select\ncreate index i on t (a)",
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
