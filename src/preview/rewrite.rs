//! Rewrites the user's one INSERT, UPDATE or DELETE into a statement with the same
//! meaning that also returns the before and after image of every row it changes.
//!
//! The rewrite works on the sqlparser AST and prints it back; the user's text is never
//! spliced into a string, and the fixed fragments pgward adds are parsed from constant
//! templates whose placeholder names are then swapped for AST nodes of the user's
//! statement. The added columns always come last, after any RETURNING columns of the
//! user's own, so the caller can split a returned row into "the user's result" and
//! "pgward's images" by counting from the end ([`CaptureKind::columns`]).
//!
//! UPDATE pairs the old and new image in one scan under one snapshot: the target table is
//! joined to a derived table over the same relation on `(tableoid, ctid)`, and RETURNING
//! takes the old image from the derived table and the new one from the target. Each
//! target row meets exactly one derived row, so a volatile condition (`random() < 0.5`)
//! is still decided once per row, and the images are those of the row that changed. A
//! separate pre-image SELECT would evaluate the condition a second time and disagree.
//!
//! Images are taken with `record_out(t.*)`: each column through its type's own output
//! function, in the table's column order, with SQL NULL as an empty field (see
//! `images`). `to_json` would apply a cast to `json` that a type's owner can create,
//! print SQL NULL and JSON `null` alike, and costs about twice as much per row.
//!
//! Every function, operator and type pgward adds is schema-qualified
//! (`pg_catalog.record_out`, `OPERATOR(pg_catalog.=)`, `::pg_catalog.text`): the user may
//! create `public.record_out(orders)`, an exact-type match that would otherwise beat
//! `pg_catalog.record_out(record)` and fake the images and the digest.
//!
//! What cannot be rewritten safely yields [`Capture::CountsOnly`] with a reason the shell
//! shows; the caller then runs the user's statement as typed and reports counts only.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, visit_statements, AssignmentTarget, BinaryOperator,
    Expr, FromTable, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, OnConflictAction, OnInsert, Query, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, Statement, TableAlias, TableFactor, TableObject, TableWithJoins, UnaryOperator,
    UpdateTableFromKind, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The placeholder the templates use for the target table's reference.
const TARGET: &str = "pgward_target";
/// The placeholder the templates use for the target relation's name.
const RELATION: &str = "pgward_relation";
/// The derived table over the target relation that carries the old images of an UPDATE.
const OLD_SOURCE: &str = "SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, \
     pg_catalog.record_out(pgward_t.*) AS pgward_old FROM pgward_relation AS pgward_t";
/// The alias of [`OLD_SOURCE`] in the UPDATE's FROM list.
const OLD_ALIAS: &str = "pgward_o";
/// Pairs each target row with its own old image.
const OLD_JOIN: &str = "(pgward_o.pgward_ctid OPERATOR(pg_catalog.=) pgward_target.ctid) \
     AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) pgward_target.tableoid)";
/// A row's image, the expression every capture takes it with (see `images`).
const IMAGE: &str = "pg_catalog.record_out(pgward_target.*)";

/// The image of the row `reference` (a table alias), for reads pgward runs beside a
/// statement: the same expression as the captures' own, so the images compare.
pub fn image_sql(reference: &str) -> String {
    IMAGE.replace(TARGET, reference)
}

/// Why MERGE gets counts only.
const MERGE_REASON: &str = "MERGE cannot return rows before PostgreSQL 17: counts only";

/// Which kind of write a captured statement is; it fixes the columns pgward appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// UPDATE: old and new images.
    Update,
    /// DELETE: old images.
    Delete,
    /// INSERT (also with ON CONFLICT DO NOTHING, which returns only the inserted rows).
    Insert,
    /// MERGE: run as typed, its rows read before and after it ([`super::merge`]);
    /// nothing is appended.
    Merge,
    /// INSERT … ON CONFLICT DO UPDATE: new images and whether each row was inserted.
    /// PostgreSQL 15 returns no old image: those of the updated rows are read just
    /// before it ([`super::conflict`]).
    Upsert,
}

/// One column pgward appends to RETURNING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureColumn {
    /// `pgward_old`: the row before the change, as JSON text.
    Old,
    /// `pgward_new`: the row after the change, as JSON text.
    New,
    /// `pgward_inserted`: boolean, true when an upsert inserted the row (`xmax = 0`).
    Inserted,
    /// `pgward_ctid`: the row's physical address (`ctid::text`); after an UPDATE, the
    /// new version's. Shown as the row's identity for tables without a usable key.
    Ctid,
}

impl CaptureColumn {
    /// The column's name in the result.
    pub fn name(self) -> &'static str {
        match self {
            CaptureColumn::Old => "pgward_old",
            CaptureColumn::New => "pgward_new",
            CaptureColumn::Inserted => "pgward_inserted",
            CaptureColumn::Ctid => "pgward_ctid",
        }
    }
}

impl CaptureKind {
    /// The columns pgward appends, in order; they are the last columns of every row.
    pub fn columns(self) -> &'static [CaptureColumn] {
        use CaptureColumn::{Ctid, Inserted, New, Old};
        match self {
            CaptureKind::Update => &[Old, New, Ctid],
            CaptureKind::Delete => &[Old, Ctid],
            CaptureKind::Insert => &[New, Ctid],
            CaptureKind::Upsert => &[New, Inserted, Ctid],
            CaptureKind::Merge => &[],
        }
    }
}

/// The result of [`rewrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// Run `sql` instead of the user's text; every changed row comes back.
    Rows {
        /// The capturing statement.
        sql: String,
        /// Which columns were appended (see [`CaptureKind::columns`]).
        kind: CaptureKind,
        /// True when the user wrote RETURNING: the leading columns of each row are the
        /// user's result (see [`Capture::user_columns`]).
        user_returning: bool,
    },
    /// Run the user's text unchanged, reading the target's rows it can reach before
    /// and after it (MERGE, see [`super::merge`]).
    Around(super::merge::ReadAround),
    /// Run a rewrite of a statement with data-modifying WITH whose every part returns
    /// its images, each tagged with its part ([`super::cte`]).
    Parts(super::cte::Parts),
    /// Run the user's text unchanged and show counts only, saying why.
    CountsOnly {
        /// A sentence for the user.
        reason: String,
    },
}

impl Capture {
    /// How many leading columns of a returned row of `width` columns are the user's own
    /// RETURNING columns (0 for counts only, or a row narrower than pgward's columns).
    pub fn user_columns(&self, width: usize) -> usize {
        match self {
            Capture::Rows { kind, .. } => width.saturating_sub(kind.columns().len()),
            Capture::Parts(parts) => parts.user_columns,
            Capture::Around(_) | Capture::CountsOnly { .. } => 0,
        }
    }
}

/// The shape of an UPDATE's or DELETE's WHERE clause, for the guard thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhereShape {
    /// No WHERE clause. Also returned for text that does not parse (fail closed).
    None,
    /// A condition that is true for every row, such as `true`, `1 = 1` or `x = x`.
    TriviallyTrue,
    /// Some other condition, as SQL text.
    Present(String),
    /// A condition only PostgreSQL's parser could read ([`super::guard_view`]): there is
    /// one, and nothing more is claimed about it.
    Opaque,
    /// The statement is not an UPDATE or DELETE.
    NotApplicable,
}

/// Rewrites `sql` (one statement) into a capturing statement, or says why it cannot.
///
/// The capture runs sqlparser's reprint of the statement, not the text as typed, so
/// the reprint must mean what the text means: see [`faithful`].
pub fn rewrite(sql: &str) -> Capture {
    let checked = try_rewrite(sql).and_then(|(statement, kind, user_returning)| {
        let printed = statement.to_string();
        faithful(sql, &printed)?;
        Ok((printed, kind, user_returning))
    });
    match checked {
        Ok((sql, kind, user_returning)) => Capture::Rows {
            sql,
            kind,
            user_returning,
        },
        Err(reason) => Capture::CountsOnly { reason },
    }
}

/// Why a reprint is not trusted.
const REPRINT: &str = "pgward's SQL parser would not reprint this statement faithfully";

/// Checks that `printed`, the rewrite of `original`, runs the statement PostgreSQL reads
/// in `original`. The capture runs sqlparser's reprint, and sqlparser and PostgreSQL
/// disagree on a few spellings (`0xFF` reprints as the bit string `X'FF'`, `0b101` as
/// `0 AS b101`, `- -1` as the comment `--1`), so PostgreSQL's own parser (libpg_query)
/// decides: the reprint of the user's statement, before pgward adds anything, must
/// have the same fingerprint as the text as typed, and, because a fingerprint ignores
/// the values of constants, the two trees must deparse to the same text. The rewrite
/// itself must be one statement to PostgreSQL. Otherwise the user's text runs as
/// typed, with counts only.
pub(super) fn faithful(original: &str, printed: &str) -> Result<(), String> {
    let first = parse_one(original)?;
    same_to_postgres(original, &first.to_string())?;
    let capture = pg_query::parse(printed, pg_query::ParserOptions::DEFAULT)
        .map_err(|_| format!("{REPRINT}: PostgreSQL cannot parse the capture: counts only"))?;
    if capture.protobuf.stmts.len() != 1 {
        return Err(format!(
            "{REPRINT}: PostgreSQL reads the capture as more than one statement: counts only"
        ));
    }
    Ok(())
}

/// Whether `typed` and `reprint` are the same statement to PostgreSQL.
fn same_to_postgres(typed: &str, reprint: &str) -> Result<(), String> {
    use pg_query::{FingerprintOptions, ParserOptions};
    let fingerprint = |sql: &str| {
        pg_query::fingerprint(
            sql,
            ParserOptions::DEFAULT,
            FingerprintOptions::FULL_RELNAME,
        )
        .map(|f| f.value)
    };
    let deparsed = |sql: &str| {
        pg_query::parse(sql, ParserOptions::DEFAULT)
            .and_then(|tree| tree.deparse(Default::default()))
    };
    let (Ok(typed_print), Ok(typed_deparse)) = (fingerprint(typed), deparsed(typed)) else {
        return Err(
            "PostgreSQL's parser (libpg_query) cannot read this statement as pgward does: \
             counts only"
                .into(),
        );
    };
    let (Ok(reprint_print), Ok(reprint_deparse)) = (fingerprint(reprint), deparsed(reprint)) else {
        return Err(format!(
            "{REPRINT}: PostgreSQL cannot parse its reprint: counts only"
        ));
    };
    if typed_print != reprint_print {
        return Err(format!(
            "{REPRINT}: PostgreSQL's fingerprint of its reprint differs: counts only"
        ));
    }
    if typed_deparse != reprint_deparse {
        return Err(format!(
            "{REPRINT}: PostgreSQL reads a value of its reprint differently: counts only"
        ));
    }
    Ok(())
}

/// The target relation as written (schema-qualified if the user qualified it), without
/// `ONLY`, for an INSERT, UPDATE, DELETE or MERGE; `None` for anything else.
pub fn target(sql: &str) -> Option<String> {
    let statement = parse_one(sql).ok()?;
    let dml = match &statement {
        Statement::Query(query) => match query.body.as_ref() {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => s,
            _ => return None,
        },
        other => other,
    };
    let relation = match dml {
        Statement::Update(update) => Target::of_table(&update.table).ok()?.relation,
        Statement::Delete(delete) => match &delete.from {
            FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => {
                Target::of_table(from.first()?).ok()?.relation
            }
        },
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => name.clone(),
            _ => return None,
        },
        Statement::Merge(merge) => match &merge.table {
            TableFactor::Table { name, .. } => name.clone(),
            _ => return None,
        },
        _ => return None,
    };
    Some(relation.to_string())
}

/// The WHERE clause of an UPDATE or DELETE, classified for the guard thresholds.
pub fn where_clause(sql: &str) -> WhereShape {
    let Ok(statement) = parse_one(sql) else {
        return WhereShape::None;
    };
    let selection = match dml_of(&statement) {
        Statement::Update(update) => &update.selection,
        Statement::Delete(delete) => &delete.selection,
        _ => return WhereShape::NotApplicable,
    };
    match selection {
        None => WhereShape::None,
        Some(condition) if truth(condition) == Some(true) => WhereShape::TriviallyTrue,
        Some(condition) => WhereShape::Present(condition.to_string()),
    }
}

/// The columns an UPDATE assigns, as PostgreSQL names them (unquoted names folded to
/// lower case), in the order written; empty for anything else. In `SET c.f = …` the
/// column is `c` (PostgreSQL reads the first name as the column and the rest as a field
/// of it; a target column is never qualified by its table).
pub fn set_columns(sql: &str) -> Vec<String> {
    let Ok(statement) = parse_one(sql) else {
        return Vec::new();
    };
    let Statement::Update(update) = dml_of(&statement) else {
        return Vec::new();
    };
    let mut columns = Vec::new();
    for assignment in &update.assignments {
        let names: Vec<&ObjectName> = match &assignment.target {
            AssignmentTarget::ColumnName(name) => vec![name],
            AssignmentTarget::Tuple(names) => names.iter().collect(),
        };
        for name in names {
            if let Some(ident) = name.0.first().and_then(ObjectNamePart::as_ident) {
                columns.push(folded(ident));
            }
        }
    }
    columns
}

/// The columns an UPDATE assigns, as PostgreSQL names them, in the order written;
/// `None` when the statement is not an UPDATE or an assignment is not a plain column
/// (`SET c.field = …`, `SET a[1] = …`), whose column pgward does not resolve.
pub fn assigned_columns(sql: &str) -> Option<Vec<String>> {
    let statement = parse_one(sql).ok()?;
    let Statement::Update(update) = dml_of(&statement) else {
        return None;
    };
    let mut columns = Vec::new();
    for assignment in &update.assignments {
        let names: Vec<&ObjectName> = match &assignment.target {
            AssignmentTarget::ColumnName(name) => vec![name],
            AssignmentTarget::Tuple(names) => names.iter().collect(),
        };
        for name in names {
            match idents(name)?.as_slice() {
                [column] => columns.push(folded(column)),
                _ => return None,
            }
        }
    }
    Some(columns)
}

/// The UPDATE of a capture `statement`, bare or as the body of a query (a capture
/// inside WITH); `Err(not)` for anything else.
pub(super) fn capture_update<'a>(
    statement: &'a mut Statement,
    not: &str,
) -> Result<&'a mut sqlparser::ast::Update, String> {
    match statement {
        Statement::Query(query) => match query.body.as_mut() {
            SetExpr::Update(Statement::Update(update)) => Ok(update),
            _ => Err(not.into()),
        },
        Statement::Update(update) => Ok(update),
        _ => Err(not.into()),
    }
}

/// Narrows the new image of an UPDATE's capture `sql` (as [`rewrite`] made it) to the
/// target's `columns`, in the order given: `pgward_new` becomes
/// `pg_catalog.record_out(ROW(t."c1", t."c2", …))` instead of
/// `pg_catalog.record_out(t.*)`. The caller splices those fields into the old image
/// ([`super::images::ImageSink::narrow_new`]), which is sound only where no other
/// column of the row can change (see `preview::statement`). `Err` when `sql` is not
/// such a capture; the capture is then used as it was.
pub fn narrow_new_image(sql: &str, columns: &[String]) -> Result<String, String> {
    const NOT: &str = "not an UPDATE capture whose new image is the whole row";
    if columns.is_empty() {
        return Err("no column to narrow the new image to".into());
    }
    let mut statement = parse_one(sql)?;
    let update = capture_update(&mut statement, NOT)?;
    let item = update
        .returning
        .as_mut()
        .and_then(|items| {
            items.iter_mut().find_map(|item| match item {
                SelectItem::ExprWithAlias { expr, alias } if alias.value == "pgward_new" => {
                    Some(expr)
                }
                _ => None,
            })
        })
        .ok_or(NOT)?;
    let reference = whole_row_of_record_out(item).ok_or(NOT)?;
    let mut narrowed = template_expr("pg_catalog.record_out(ROW(pgward_target.id))", &reference)?;
    let Expr::Function(record_out) = &mut narrowed else {
        return Err(internal("narrowed new image"));
    };
    let FunctionArguments::List(outer) = &mut record_out.args else {
        return Err(internal("narrowed new image"));
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(row)))) =
        outer.args.first_mut()
    else {
        return Err(internal("narrowed new image"));
    };
    let FunctionArguments::List(fields) = &mut row.args else {
        return Err(internal("narrowed new image"));
    };
    fields.args = columns
        .iter()
        .map(|column| {
            let mut parts = reference.clone();
            parts.push(Ident::with_quote('"', column));
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(parts)))
        })
        .collect();
    *item = narrowed;
    let printed = statement.to_string();
    let parsed = pg_query::parse(&printed, pg_query::ParserOptions::DEFAULT)
        .map_err(|_| internal("narrowed new image"))?;
    if parsed.protobuf.stmts.len() != 1 {
        return Err(internal("narrowed new image"));
    }
    Ok(printed)
}

/// `t` of `pg_catalog.record_out(t.*)`.
fn whole_row_of_record_out(expr: &Expr) -> Option<Vec<Ident>> {
    let Expr::Function(function) = expr else {
        return None;
    };
    if function.name.to_string() != "pg_catalog.record_out" {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(name))] => idents(name),
        _ => None,
    }
}

/// Whether a server error from running a capturing statement means "run the user's
/// statement again, as typed, with counts only".
///
/// The caller must run the capturing statement inside a SAVEPOINT and roll back to it
/// before retrying. These SQLSTATEs are what a rewrite that does not fit the relation
/// raises: views and foreign tables have no `ctid`/`tableoid`/`xmax` (42703
/// undefined_column, 42P01 for a reference the planner cannot resolve), rule-based views
/// cannot do RETURNING or a self-join (0A000 feature_not_supported, 42809
/// wrong_object_type), and a type without a JSON cast or an `xmax` comparison (42883,
/// 42804). If the user's own statement has the same fault, the retry fails the same way
/// and that error is what the user sees, so a retry is never wrong, only wasted.
/// A privilege error (42501) is retried too: the capture reads more than the statement
/// (whole rows, system columns), so its privilege error is never the statement's own.
/// Cancels, timeouts, lock and serialization failures are not retried: they would just
/// happen again or hide a real conflict.
pub fn is_fallback_error(error: &tokio_postgres::Error) -> bool {
    const FALLBACK: [&str; 7] = [
        "0A000", "42703", "42P01", "42809", "42883", "42804", "42501",
    ];
    error
        .as_db_error()
        .is_some_and(|db| FALLBACK.contains(&db.code().code()))
}

/// Parses exactly one PostgreSQL statement.
pub(super) fn parse_one(sql: &str) -> Result<Statement, String> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| {
        format!("pgward's SQL parser cannot read this statement ({e}): counts only")
    })?;
    match (statements.pop(), statements.is_empty()) {
        (Some(statement), true) => Ok(statement),
        (None, _) => Err("no statement to capture: counts only".into()),
        (Some(_), false) => Err("more than one statement: counts only".into()),
    }
}

/// The DML statement itself, looking through a leading WITH.
fn dml_of(statement: &Statement) -> &Statement {
    if let Statement::Query(query) = statement {
        if let SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) =
            query.body.as_ref()
        {
            return s;
        }
    }
    statement
}

/// The rewritten statement, its kind and whether the user wrote RETURNING.
fn try_rewrite(sql: &str) -> Result<(Statement, CaptureKind, bool), String> {
    if sql.to_ascii_lowercase().contains("pgward_") {
        return Err(
            "the statement uses names starting with pgward_, which the capture \
                    reserves: counts only"
                .into(),
        );
    }
    match parse_one(sql)? {
        Statement::Query(mut query) => {
            let body = std::mem::replace(query.body.as_mut(), SetExpr::Values(empty_values()));
            let inner = match body {
                SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => s,
                SetExpr::Merge(_) => return Err(MERGE_REASON.into()),
                _ => return Err("not an INSERT, UPDATE or DELETE: counts only".into()),
            };
            if let Some(with) = &query.with {
                if with.cte_tables.iter().any(|cte| modifies_data(&cte.query)) {
                    // Captured part by part where that holds (`super::cte`).
                    return Err(super::cte::NOT_HERE.into());
                }
            }
            let (inner, kind, user_returning) = rewrite_dml(inner)?;
            *query.body = match kind {
                CaptureKind::Update => SetExpr::Update(inner),
                CaptureKind::Delete => SetExpr::Delete(inner),
                CaptureKind::Insert | CaptureKind::Upsert | CaptureKind::Merge => {
                    SetExpr::Insert(inner)
                }
            };
            Ok((Statement::Query(query), kind, user_returning))
        }
        other => rewrite_dml(other),
    }
}

/// An empty VALUES list, a placeholder while a query's body is moved out.
pub(super) fn empty_values() -> sqlparser::ast::Values {
    sqlparser::ast::Values {
        explicit_row: false,
        value_keyword: false,
        rows: Vec::new(),
    }
}

/// Whether a query contains an INSERT, UPDATE, DELETE or MERGE anywhere.
pub(super) fn modifies_data(query: &Query) -> bool {
    visit_statements(query, |statement| match statement {
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

pub(super) fn rewrite_dml(statement: Statement) -> Result<(Statement, CaptureKind, bool), String> {
    match statement {
        Statement::Update(update) => {
            let (update, user) = rewrite_update(update)?;
            Ok((Statement::Update(update), CaptureKind::Update, user))
        }
        Statement::Delete(delete) => {
            let (delete, user) = rewrite_delete(delete)?;
            Ok((Statement::Delete(delete), CaptureKind::Delete, user))
        }
        Statement::Insert(insert) => {
            let (insert, kind, user) = rewrite_insert(insert)?;
            Ok((Statement::Insert(insert), kind, user))
        }
        Statement::Merge(_) => Err(MERGE_REASON.into()),
        _ => Err("not an INSERT, UPDATE or DELETE: counts only".into()),
    }
}

/// The relation an UPDATE or DELETE changes, and the name its columns are reached by.
struct Target {
    /// The relation as written, without ONLY.
    relation: ObjectName,
    /// The alias if one was given, else the relation as written.
    reference: Vec<Ident>,
}

impl Target {
    fn of_table(table: &TableWithJoins) -> Result<Target, String> {
        const UNUSUAL: &str = "the target is not a plain table name: counts only";
        if !table.joins.is_empty() {
            return Err(UNUSUAL.into());
        }
        let TableFactor::Table {
            name,
            alias,
            args: None,
            with_hints,
            version: None,
            with_ordinality: false,
            partitions,
            json_path: None,
            sample: None,
            index_hints,
        } = &table.relation
        else {
            return Err(UNUSUAL.into());
        };
        if !with_hints.is_empty() || !partitions.is_empty() || !index_hints.is_empty() {
            return Err(UNUSUAL.into());
        }
        if alias
            .as_ref()
            .is_some_and(|a| !a.columns.is_empty() || a.at.is_some())
        {
            return Err("column aliases on the target table: counts only".into());
        }
        let parts = idents(name).ok_or(UNUSUAL)?;
        // sqlparser 0.63 reads `ONLY t` as the table `ONLY` with the alias `t`. ONLY is
        // reserved in PostgreSQL, so an unquoted table of that name cannot exist: the
        // "alias" is the relation, and it is also how its columns are referenced.
        if let ([only], Some(alias)) = (parts.as_slice(), alias) {
            if only.quote_style.is_none() && only.value.eq_ignore_ascii_case("only") {
                return Ok(Target {
                    relation: ObjectName::from(vec![alias.name.clone()]),
                    reference: vec![alias.name.clone()],
                });
            }
        }
        let reference = match alias {
            Some(alias) => vec![alias.name.clone()],
            None => parts,
        };
        Ok(Target {
            relation: name.clone(),
            reference,
        })
    }
}

/// The identifiers of a plain name, or `None` when a part is not an identifier.
fn idents(name: &ObjectName) -> Option<Vec<Ident>> {
    name.0.iter().map(|part| part.as_ident().cloned()).collect()
}

/// An identifier as PostgreSQL stores it.
fn folded(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

fn rewrite_update(
    mut update: sqlparser::ast::Update,
) -> Result<(sqlparser::ast::Update, bool), String> {
    if update.or.is_some()
        || update.output.is_some()
        || !update.order_by.is_empty()
        || update.limit.is_some()
        || !update.optimizer_hints.is_empty()
    {
        return Err("UPDATE syntax PostgreSQL does not have: counts only".into());
    }
    let target = Target::of_table(&update.table)?;
    if let Some(returning) = update.returning.take() {
        update.returning = Some(expand_wildcard(returning, &target, update.from.as_ref())?);
    }

    let source = TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(old_source(&target.relation)?),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new(OLD_ALIAS),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        },
        joins: Vec::new(),
    };
    update.from = match update.from.take() {
        None => Some(UpdateTableFromKind::AfterSet(vec![source])),
        Some(UpdateTableFromKind::AfterSet(mut from)) => {
            from.push(source);
            Some(UpdateTableFromKind::AfterSet(from))
        }
        Some(UpdateTableFromKind::BeforeSet(_)) => {
            return Err("UPDATE … FROM before SET is not PostgreSQL syntax: counts only".into())
        }
    };

    let join = template_expr(OLD_JOIN, &target.reference)?;
    update.selection = Some(match update.selection.take() {
        None => join,
        Some(condition) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(condition))),
            op: BinaryOperator::And,
            right: Box::new(join),
        },
    });

    let user_returning = update.returning.is_some();
    let mut returning = update.returning.take().unwrap_or_default();
    returning.extend(returning_items(
        &[
            "pgward_o.pgward_old",
            "pg_catalog.record_out(pgward_target.*) AS pgward_new",
            "pgward_target.ctid::pg_catalog.text AS pgward_ctid",
        ],
        &target.reference,
    )?);
    update.returning = Some(returning);
    Ok((update, user_returning))
}

/// Replaces an UPDATE's unqualified `RETURNING *` by what PostgreSQL expands it to: the
/// target's columns, then those of each FROM item in order (`t.*, f.*`). The capture
/// adds its own derived table to FROM, and a bare `*` would return its columns too;
/// spelt out, the user's result has exactly the columns, names and types the typed
/// statement returns. A FROM item whose columns `alias.*` cannot name alone (a join,
/// whose `USING` merges columns) keeps the statement at counts only.
fn expand_wildcard(
    returning: Vec<SelectItem>,
    target: &Target,
    from: Option<&UpdateTableFromKind>,
) -> Result<Vec<SelectItem>, String> {
    const JOINED: &str = "RETURNING * over a FROM list with joins cannot be spelt out \
         exactly; name the columns (or use table.*) to see the row diff: counts only";
    if !returning
        .iter()
        .any(|item| matches!(item, SelectItem::Wildcard(_)))
    {
        return Ok(returning);
    }
    let mut references = vec![ObjectName::from(target.reference.clone())];
    let items: &[TableWithJoins] = match from {
        None => &[],
        Some(UpdateTableFromKind::AfterSet(items)) => items,
        Some(UpdateTableFromKind::BeforeSet(_)) => {
            return Err("UPDATE … FROM before SET is not PostgreSQL syntax: counts only".into())
        }
    };
    for item in items {
        if !item.joins.is_empty() {
            return Err(JOINED.into());
        }
        let reference = match &item.relation {
            TableFactor::Table {
                alias: Some(alias), ..
            }
            | TableFactor::Derived {
                alias: Some(alias), ..
            }
            | TableFactor::Function {
                alias: Some(alias), ..
            } => ObjectName::from(vec![alias.name.clone()]),
            TableFactor::Table { name, .. } => name.clone(),
            _ => return Err(JOINED.into()),
        };
        references.push(reference);
    }
    let mut out = Vec::new();
    for item in returning {
        match item {
            SelectItem::Wildcard(options) => {
                if options.opt_ilike.is_some()
                    || options.opt_exclude.is_some()
                    || options.opt_except.is_some()
                    || options.opt_replace.is_some()
                    || options.opt_rename.is_some()
                    || options.opt_alias.is_some()
                {
                    return Err(
                        "RETURNING * with options PostgreSQL does not have: counts only".into(),
                    );
                }
                for reference in &references {
                    out.push(SelectItem::QualifiedWildcard(
                        SelectItemQualifiedWildcardKind::ObjectName(reference.clone()),
                        options.clone(),
                    ));
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn rewrite_delete(
    mut delete: sqlparser::ast::Delete,
) -> Result<(sqlparser::ast::Delete, bool), String> {
    if !delete.tables.is_empty()
        || delete.output.is_some()
        || !delete.order_by.is_empty()
        || delete.limit.is_some()
        || !delete.optimizer_hints.is_empty()
    {
        return Err("DELETE syntax PostgreSQL does not have: counts only".into());
    }
    let target = match &delete.from {
        FromTable::WithFromKeyword(from) if from.len() == 1 => Target::of_table(&from[0])?,
        _ => return Err("DELETE syntax PostgreSQL does not have: counts only".into()),
    };
    let user_returning = delete.returning.is_some();
    let mut returning = delete.returning.take().unwrap_or_default();
    returning.extend(returning_items(
        &[
            "pg_catalog.record_out(pgward_target.*) AS pgward_old",
            "pgward_target.ctid::pg_catalog.text AS pgward_ctid",
        ],
        &target.reference,
    )?);
    delete.returning = Some(returning);
    Ok((delete, user_returning))
}

fn rewrite_insert(
    mut insert: sqlparser::ast::Insert,
) -> Result<(sqlparser::ast::Insert, CaptureKind, bool), String> {
    const FOREIGN: &str = "INSERT syntax PostgreSQL does not have: counts only";
    if insert.or.is_some()
        || insert.ignore
        || insert.replace_into
        || insert.overwrite
        || insert.has_table_keyword
        || insert.priority.is_some()
        || insert.insert_alias.is_some()
        || insert.partitioned.is_some()
        || !insert.after_columns.is_empty()
        || !insert.assignments.is_empty()
        || insert.output.is_some()
        || insert.settings.is_some()
        || insert.format_clause.is_some()
        || insert.multi_table_insert_type.is_some()
        || !insert.multi_table_into_clauses.is_empty()
        || !insert.multi_table_when_clauses.is_empty()
        || insert.multi_table_else_clause.is_some()
        || !insert.optimizer_hints.is_empty()
    {
        return Err(FOREIGN.into());
    }
    let TableObject::TableName(name) = &insert.table else {
        return Err(FOREIGN.into());
    };
    let reference = match &insert.table_alias {
        Some(alias) => vec![alias.alias.clone()],
        None => idents(name).ok_or(FOREIGN)?,
    };
    let kind = match &insert.on {
        None => CaptureKind::Insert,
        Some(OnInsert::OnConflict(conflict)) => match conflict.action {
            OnConflictAction::DoNothing => CaptureKind::Insert,
            OnConflictAction::DoUpdate(_) => CaptureKind::Upsert,
        },
        Some(_) => return Err(FOREIGN.into()),
    };
    let mut templates = vec!["pg_catalog.record_out(pgward_target.*) AS pgward_new"];
    if kind == CaptureKind::Upsert {
        templates.push(
            "(pgward_target.xmax OPERATOR(pg_catalog.=) '0'::pg_catalog.xid) AS pgward_inserted",
        );
    }
    templates.push("pgward_target.ctid::pg_catalog.text AS pgward_ctid");

    let user_returning = insert.returning.is_some();
    let mut returning = insert.returning.take().unwrap_or_default();
    returning.extend(returning_items(&templates, &reference)?);
    insert.returning = Some(returning);
    Ok((insert, kind, user_returning))
}

/// The derived table of old images over `relation`.
fn old_source(relation: &ObjectName) -> Result<Query, String> {
    let Statement::Query(mut query) = parse_one(OLD_SOURCE)? else {
        return Err(internal("old-image source"));
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(internal("old-image source"));
    };
    let Some(TableFactor::Table { name, .. }) = select.from.first_mut().map(|t| &mut t.relation)
    else {
        return Err(internal("old-image source"));
    };
    if idents(name).is_none_or(|parts| parts != [Ident::new(RELATION)]) {
        return Err(internal("old-image source"));
    }
    *name = relation.clone();
    Ok(*query)
}

/// RETURNING items parsed from templates, with the placeholder table retargeted.
fn returning_items(templates: &[&str], reference: &[Ident]) -> Result<Vec<SelectItem>, String> {
    let mut items = Vec::new();
    for template in templates {
        let Statement::Query(query) = parse_one(&format!("SELECT {template}"))? else {
            return Err(internal(template));
        };
        let SetExpr::Select(select) = *query.body else {
            return Err(internal(template));
        };
        for mut item in select.projection {
            match &mut item {
                SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                    retarget(expr, reference);
                }
                _ => return Err(internal(template)),
            }
            items.push(item);
        }
    }
    Ok(items)
}

/// An expression parsed from a template, with the placeholder table retargeted.
pub(super) fn template_expr(template: &str, reference: &[Ident]) -> Result<Expr, String> {
    let mut expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(template)
        .and_then(|mut parser| parser.parse_expr())
        .map_err(|_| internal(template))?;
    retarget(&mut expr, reference);
    Ok(expr)
}

/// Replaces the placeholder table `pgward_target` by `reference` in column references
/// (`pgward_target.ctid`) and whole-row arguments (`record_out(pgward_target.*)`).
fn retarget(expr: &mut Expr, reference: &[Ident]) {
    let placeholder = Ident::new(TARGET);
    let _ = visit_expressions_mut(expr, |e| {
        match e {
            Expr::CompoundIdentifier(parts) if parts.first() == Some(&placeholder) => {
                let rest = parts.split_off(1);
                *parts = reference.iter().cloned().chain(rest).collect();
            }
            Expr::Function(function) => {
                if let FunctionArguments::List(list) = &mut function.args {
                    for arg in &mut list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(name)) = arg
                        {
                            if idents(name).is_some_and(|p| p == [placeholder.clone()]) {
                                *name = ObjectName::from(reference.to_vec());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

pub(super) fn internal(what: &str) -> String {
    format!(
        "internal error: pgward's capture template `{what}` did not parse as expected: counts only"
    )
}

/// Folds a condition to a constant where that is plain to see: `Some(true)` for
/// conditions that hold for every row, `Some(false)` for none, `None` otherwise.
fn truth(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Value(v) => match v.value {
            Value::Boolean(b) => Some(b),
            _ => None,
        },
        Expr::Nested(inner) => truth(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => truth(expr).map(|b| !b),
        Expr::IsTrue(inner) | Expr::IsNotFalse(inner) => truth(inner),
        Expr::IsFalse(inner) | Expr::IsNotTrue(inner) => truth(inner).map(|b| !b),
        Expr::IsNotNull(inner) => literal(inner).map(|_| true),
        Expr::IsNull(inner) => literal(inner).map(|_| false),
        Expr::IsNotDistinctFrom(left, right) => {
            (deterministic(left) && left.to_string() == right.to_string()).then_some(true)
        }
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => match (truth(left), truth(right)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            BinaryOperator::Or => match (truth(left), truth(right)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            _ => compare(left, op, right),
        },
        _ => None,
    }
}

/// A constant, for folding comparisons.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
}

fn literal(expr: &Expr) -> Option<Literal> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok().map(Literal::Number),
            Value::SingleQuotedString(s) => Some(Literal::Text(s.clone())),
            Value::Boolean(b) => Some(Literal::Bool(*b)),
            _ => None,
        },
        Expr::Nested(inner) => literal(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal(expr)? {
            Literal::Number(n) => Some(Literal::Number(-n)),
            _ => None,
        },
        _ => None,
    }
}

/// Folds `left op right` when both sides are constants, or both are the same
/// expression without function calls (`x = x`, which the guard counts as trivially true
/// although it is NULL where x is).
fn compare(left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<bool> {
    use std::cmp::Ordering;
    let ordering = match (literal(left), literal(right)) {
        (Some(Literal::Number(a)), Some(Literal::Number(b))) => a.partial_cmp(&b),
        (Some(Literal::Number(a)), Some(Literal::Text(b))) => {
            a.partial_cmp(&b.trim().parse::<f64>().ok()?)
        }
        (Some(Literal::Text(a)), Some(Literal::Number(b))) => {
            a.trim().parse::<f64>().ok()?.partial_cmp(&b)
        }
        (Some(Literal::Text(a)), Some(Literal::Text(b))) => {
            // Only equality: ordering of text depends on the collation.
            return match op {
                BinaryOperator::Eq => Some(a == b),
                BinaryOperator::NotEq => Some(a != b),
                _ => None,
            };
        }
        (Some(Literal::Bool(a)), Some(Literal::Bool(b))) => Some(a.cmp(&b)),
        (None, None) if deterministic(left) && left.to_string() == right.to_string() => {
            Some(Ordering::Equal)
        }
        _ => None,
    }?;
    match op {
        BinaryOperator::Eq => Some(ordering == Ordering::Equal),
        BinaryOperator::NotEq => Some(ordering != Ordering::Equal),
        BinaryOperator::Lt => Some(ordering == Ordering::Less),
        BinaryOperator::LtEq => Some(ordering != Ordering::Greater),
        BinaryOperator::Gt => Some(ordering == Ordering::Greater),
        BinaryOperator::GtEq => Some(ordering != Ordering::Less),
        _ => None,
    }
}

/// True when an expression calls no function and has no subquery, so two copies of it
/// have the same value.
fn deterministic(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Function(_) | Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_continue()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(sql: &str) -> (String, CaptureKind, bool) {
        match rewrite(sql) {
            Capture::Rows {
                sql,
                kind,
                user_returning,
            } => (sql, kind, user_returning),
            Capture::CountsOnly { reason } => panic!("counts only for {sql}: {reason}"),
            Capture::Around(read) => panic!("read around: {read:?}"),
            Capture::Parts(parts) => panic!("parts: {parts:?}"),
        }
    }

    fn reason(sql: &str) -> String {
        match rewrite(sql) {
            Capture::CountsOnly { reason } => reason,
            Capture::Rows { sql, .. } => panic!("rewritten: {sql}"),
            Capture::Around(read) => panic!("read around: {read:?}"),
            Capture::Parts(parts) => panic!("parts: {parts:?}"),
        }
    }

    #[test]
    fn update_pairs_old_and_new_in_one_scan() {
        let (sql, kind, user) = rows("update orders set status = 'shipped' where id in (1, 2)");
        assert_eq!(kind, CaptureKind::Update);
        assert!(!user);
        insta::assert_snapshot!(sql, @"UPDATE orders SET status = 'shipped' FROM (SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, pg_catalog.record_out(pgward_t.*) AS pgward_old FROM orders AS pgward_t) AS pgward_o WHERE (id IN (1, 2)) AND (pgward_o.pgward_ctid OPERATOR(pg_catalog.=) orders.ctid) AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) orders.tableoid) RETURNING pgward_o.pgward_old, pg_catalog.record_out(orders.*) AS pgward_new, orders.ctid::pg_catalog.text AS pgward_ctid");
    }

    #[test]
    fn update_with_schema_alias_from_and_returning() {
        let (sql, _, user) = rows(
            r#"UPDATE shop."Orders" AS o SET total = o.total + l.amount FROM lines l WHERE l.order_id = o.id RETURNING o.id, l.amount"#,
        );
        assert!(user);
        insta::assert_snapshot!(sql, @r#"UPDATE shop."Orders" AS o SET total = o.total + l.amount FROM lines l, (SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, pg_catalog.record_out(pgward_t.*) AS pgward_old FROM shop."Orders" AS pgward_t) AS pgward_o WHERE (l.order_id = o.id) AND (pgward_o.pgward_ctid OPERATOR(pg_catalog.=) o.ctid) AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) o.tableoid) RETURNING o.id, l.amount, pgward_o.pgward_old, pg_catalog.record_out(o.*) AS pgward_new, o.ctid::pg_catalog.text AS pgward_ctid"#);
        let capture = rewrite(r#"UPDATE shop."Orders" AS o SET total = 1 RETURNING o.id, o.total"#);
        assert_eq!(capture.user_columns(5), 2);
    }

    #[test]
    fn reads_beside_a_statement_take_the_captures_image() {
        assert_eq!(image_sql("pgward_t"), "pg_catalog.record_out(pgward_t.*)");
        let (sql, ..) = rows("insert into t values (1)");
        assert!(sql.contains(&image_sql("t")), "{sql}");
    }

    #[test]
    fn update_returning_star_is_spelt_out() {
        let (sql, _, user) = rows("UPDATE t SET a = 1 RETURNING *");
        assert!(user);
        insta::assert_snapshot!(sql, @"UPDATE t SET a = 1 FROM (SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, pg_catalog.record_out(pgward_t.*) AS pgward_old FROM t AS pgward_t) AS pgward_o WHERE (pgward_o.pgward_ctid OPERATOR(pg_catalog.=) t.ctid) AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) t.tableoid) RETURNING t.*, pgward_o.pgward_old, pg_catalog.record_out(t.*) AS pgward_new, t.ctid::pg_catalog.text AS pgward_ctid");
        let (sql, ..) = rows(
            "UPDATE s.t o SET a = f.a FROM s.f, (SELECT 1 AS k) AS d WHERE o.id = f.id RETURNING *, 1 AS one",
        );
        assert!(
            sql.contains("RETURNING o.*, s.f.*, d.*, 1 AS one, pgward_o.pgward_old"),
            "{sql}"
        );
    }

    #[test]
    fn update_without_where_and_only() {
        let (sql, ..) = rows("UPDATE ONLY t SET a = 1");
        insta::assert_snapshot!(sql, @"UPDATE ONLY t SET a = 1 FROM (SELECT tableoid AS pgward_oid, ctid AS pgward_ctid, pg_catalog.record_out(pgward_t.*) AS pgward_old FROM t AS pgward_t) AS pgward_o WHERE (pgward_o.pgward_ctid OPERATOR(pg_catalog.=) t.ctid) AND (pgward_o.pgward_oid OPERATOR(pg_catalog.=) t.tableoid) RETURNING pgward_o.pgward_old, pg_catalog.record_out(t.*) AS pgward_new, t.ctid::pg_catalog.text AS pgward_ctid");
    }

    #[test]
    fn delete_returns_old_images() {
        let (sql, kind, _) = rows(
            "DELETE FROM public.orders o USING customers c WHERE c.id = o.customer_id AND c.banned",
        );
        assert_eq!(kind, CaptureKind::Delete);
        insta::assert_snapshot!(sql, @"DELETE FROM public.orders o USING customers c WHERE c.id = o.customer_id AND c.banned RETURNING pg_catalog.record_out(o.*) AS pgward_old, o.ctid::pg_catalog.text AS pgward_ctid");
        let (sql, _, user) = rows("delete from t returning *");
        assert!(user);
        insta::assert_snapshot!(sql, @"DELETE FROM t RETURNING *, pg_catalog.record_out(t.*) AS pgward_old, t.ctid::pg_catalog.text AS pgward_ctid");
    }

    #[test]
    fn insert_forms() {
        let (sql, kind, _) = rows("insert into public.t (a, b) values (1, 'x'), (2, 'y')");
        assert_eq!(kind, CaptureKind::Insert);
        insta::assert_snapshot!(sql, @"INSERT INTO public.t (a, b) VALUES (1, 'x'), (2, 'y') RETURNING pg_catalog.record_out(public.t.*) AS pgward_new, public.t.ctid::pg_catalog.text AS pgward_ctid");
        let (sql, kind, _) = rows(
            "insert into t as x (a, b) values (1, 'x') on conflict (a) do update set b = excluded.b",
        );
        assert_eq!(kind, CaptureKind::Upsert);
        insta::assert_snapshot!(sql, @"INSERT INTO t AS x (a, b) VALUES (1, 'x') ON CONFLICT(a) DO UPDATE SET b = excluded.b RETURNING pg_catalog.record_out(x.*) AS pgward_new, (x.xmax OPERATOR(pg_catalog.=) '0'::pg_catalog.xid) AS pgward_inserted, x.ctid::pg_catalog.text AS pgward_ctid");
        let (sql, kind, _) = rows("insert into t select * from s on conflict do nothing");
        assert_eq!(kind, CaptureKind::Insert);
        insta::assert_snapshot!(sql, @"INSERT INTO t SELECT * FROM s ON CONFLICT DO NOTHING RETURNING pg_catalog.record_out(t.*) AS pgward_new, t.ctid::pg_catalog.text AS pgward_ctid");
    }

    #[test]
    fn read_only_with_is_kept() {
        let (sql, kind, _) = rows(
            "WITH ids AS (SELECT id FROM stale) DELETE FROM t WHERE id IN (SELECT id FROM ids)",
        );
        assert_eq!(kind, CaptureKind::Delete);
        insta::assert_snapshot!(sql, @"WITH ids AS (SELECT id FROM stale) DELETE FROM t WHERE id IN (SELECT id FROM ids) RETURNING pg_catalog.record_out(t.*) AS pgward_old, t.ctid::pg_catalog.text AS pgward_ctid");
    }

    #[test]
    fn counts_only_with_a_reason() {
        for sql in [
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "WITH d AS (DELETE FROM a RETURNING *) UPDATE t SET x = 1 FROM d WHERE t.id = d.id",
            "UPDATE t SET a = 1 WHERE CURRENT OF c",
            "UPDATE t SET a = 1 FROM a JOIN b USING (id) RETURNING *",
            "UPDATE t SET a = 1; DELETE FROM t",
            "SELECT 1",
            "TRUNCATE t",
            "UPDATE t SET pgward_old = 1",
            "",
            "UPDATE (SELECT 1) SET a = 1",
        ] {
            let reason = reason(sql);
            assert!(reason.ends_with("counts only"), "{sql}: {reason}");
        }
        assert_eq!(
            reason("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"),
            MERGE_REASON
        );
    }

    #[test]
    fn targets_as_written() {
        assert_eq!(
            target("update public.t as x set a = 1").as_deref(),
            Some("public.t")
        );
        assert_eq!(target("delete from only t").as_deref(), Some("t"));
        assert_eq!(
            target(r#"insert into "T" values (1)"#).as_deref(),
            Some(r#""T""#)
        );
        assert_eq!(target("select 1"), None);
        assert_eq!(target("not sql at all"), None);
    }

    #[test]
    fn where_shapes() {
        use WhereShape::*;
        for sql in [
            "update t set a = 1 where true",
            "update t set a = 1 where 1=1",
            "delete from t where 'a'='a'",
            "delete from t where x = x",
            "delete from t where t.x = t.x",
            "delete from t where not false",
            "delete from t where 1 = 1 or id = 5",
            "delete from t where id = 5 or true",
            "delete from t where (1 = 1)",
            "delete from t where 2 > 1 and 'x' <> 'y'",
            "delete from t where 1 is not null",
        ] {
            assert_eq!(where_clause(sql), TriviallyTrue, "{sql}");
        }
        assert_eq!(where_clause("update t set a = 1"), None);
        assert_eq!(where_clause("not sql"), None);
        assert_eq!(
            where_clause("delete from t where id = 5 and true"),
            Present("id = 5 AND true".into())
        );
        assert_eq!(
            where_clause("delete from t where random() = random()"),
            Present("random() = random()".into())
        );
        assert_eq!(
            where_clause("delete from t where 1 = 2 or id = 3"),
            Present("1 = 2 OR id = 3".into())
        );
        assert_eq!(where_clause("insert into t values (1)"), NotApplicable);
        assert_eq!(where_clause("select 1"), NotApplicable);
    }

    #[test]
    fn assigned_columns() {
        assert_eq!(
            set_columns(r#"update t set a = 1, "B" = 2, (C, d) = (3, 4), e.f = 5 where x"#),
            ["a", "B", "c", "d", "e"]
        );
        assert!(set_columns("delete from t").is_empty());
    }

    #[test]
    fn everything_pgward_adds_is_schema_qualified() {
        for sql in [
            "UPDATE t SET a = 1 WHERE b = 2",
            "DELETE FROM t WHERE b = 2",
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2",
        ] {
            let (out, ..) = rows(sql);
            let added = &out[out.find("RETURNING").expect("returning")..];
            assert!(!out.contains(" = t.") && !out.contains("xmax ="), "{out}");
            assert!(
                !out.contains(" record_out(") && !out.contains("(record_out("),
                "{out}"
            );
            assert!(added.contains("pg_catalog.record_out("), "{out}");
            assert!(
                !added.contains("::TEXT") && added.contains("::pg_catalog.text"),
                "{out}"
            );
        }
    }

    /// Spellings sqlparser and PostgreSQL read differently run as typed: PostgreSQL's
    /// own parser compares the reprint with the text.
    #[test]
    fn reprints_postgresql_reads_differently_run_as_typed() {
        for sql in [
            "UPDATE t SET a = 0xFF",
            "DELETE FROM t WHERE a = 0x1f",
            "INSERT INTO t VALUES (0xFF)",
            "UPDATE t SET a = 1 WHERE b IN (1, 0x0)",
            "INSERT INTO t SELECT 0b101 FROM s",
            "INSERT INTO t SELECT 0o17 FROM s",
            "INSERT INTO t SELECT 0X1F FROM s",
            "DELETE FROM t WHERE a = 1AND b = 2",
            "UPDATE t SET a = - -1 WHERE id = 1",
            "DELETE FROM t WHERE a = 1 OR - -b > 0",
            "UPDATE t SET a = - - 1",
        ] {
            let why = reason(sql);
            assert!(why.contains("PostgreSQL"), "{sql}: {why}");
            assert!(why.ends_with("counts only"), "{sql}: {why}");
        }
        // The X'…' spelling means the same to both, at any position and line.
        let (sql, ..) = rows("UPDATE t\n  SET a = X'FF', b = x'0a' WHERE c = 'é0x'");
        assert!(sql.contains("a = X'FF', b = X'0a'"), "{sql}");
        // Underscores in numbers and ordinary spacing are fine.
        rows("UPDATE t SET a = 1_000 WHERE b = 2 AND c = 1.5e3");
        // Comments and comment-like text in literals are no reason.
        let (sql, ..) =
            rows("UPDATE t SET a = '--x', b = '/* y */' -- note\nWHERE id = -(-1) /* c */");
        assert!(sql.contains("a = '--x', b = '/* y */' FROM"), "{sql}");
        assert!(sql.contains("(id = -(-1))"), "{sql}");
    }

    #[test]
    fn reprint_checks() {
        assert!(faithful("UPDATE t SET a = 1", "UPDATE t SET a = 1").is_ok());
        let why = faithful("UPDATE t SET a = 1", "UPDATE t SET a = 1; DELETE FROM t")
            .expect_err("two statements");
        assert!(why.contains("more than one statement"), "{why}");
        let why = faithful("UPDATE t SET a = 1", "UPDATE t SET a =").expect_err("broken");
        assert!(why.contains("cannot parse the capture"), "{why}");
        let why = faithful("UPDATE t SET a = 'x", "UPDATE t SET a = 1").expect_err("unreadable");
        assert!(why.ends_with("counts only"), "{why}");
        // A literal whose value the reprint changes, which a fingerprint alone ignores.
        let why =
            same_to_postgres("SELECT 'two  spaces'", "SELECT 'two spaces'").expect_err("value");
        assert!(why.contains("value"), "{why}");
        let why = same_to_postgres("SELECT a FROM t", "SELECT b FROM t").expect_err("column");
        assert!(why.contains("fingerprint"), "{why}");
        assert!(same_to_postgres("select  a from t", "SELECT a FROM t").is_ok());
    }

    #[test]
    fn rewrite_never_panics_on_odd_text() {
        for sql in [
            "UPDATE t SET a = 0x",
            "UPDATE t SET a = 0xZZ",
            "UPDATE t SET a = 'unterminated",
            "UPDATE t SET a = $$x",
            "DELETE FROM t WHERE a = E'\\'",
            "\u{0}",
            "UPDATE t SET a = 1 --",
            "INSERT INTO t VALUES (1e)",
            "UPDATE t SET a = 1 WHERE b = 'x\u{301}' AND c = 0xF",
        ] {
            if let Capture::Rows { sql: out, .. } = rewrite(sql) {
                assert!(!out.contains("0x") && !out.contains("--"), "{sql}: {out}");
            }
        }
    }
}

/// The rewrites against a real server: exact images, counts that agree with the
/// server's, and a volatile condition decided once per row.
#[cfg(test)]
mod server_tests {
    use std::collections::BTreeSet;
    use std::io::Read;
    use std::sync::OnceLock;

    use futures_util::{pin_mut, TryStreamExt};
    use tokio_postgres::{NoTls, SimpleQueryMessage};

    use super::*;
    use crate::conn::Client;
    use crate::preview::diff::render;
    use crate::preview::images::{Datum, ImageSink, Images, SinkOptions, SpillTo};
    use crate::preview::keys::RowKey;
    use crate::scratch::Cluster;

    static CLUSTER: OnceLock<Cluster> = OnceLock::new();

    /// A fresh database `name` with `setup` run in it, and a client in an open transaction.
    async fn db(name: &str, setup: &str) -> Client {
        let cluster = CLUSTER.get_or_init(|| Cluster::start().expect("start a scratch cluster"));
        let (admin, conn) = tokio_postgres::connect(&cluster.conninfo("postgres"), NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let (client, conn) = tokio_postgres::connect(&cluster.conninfo(name), NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client.batch_execute(setup).await.expect("setup");
        client.batch_execute("BEGIN").await.expect("begin");
        client.into()
    }

    /// Runs the capture of `sql`, streaming rows into a sink; the images and the
    /// server's own row count.
    async fn capture(
        client: &Client,
        sql: &str,
        key: RowKey,
        options: SinkOptions,
    ) -> (Images, u64) {
        let Capture::Rows {
            sql: rewritten,
            kind,
            ..
        } = rewrite(sql)
        else {
            panic!("counts only for {sql}");
        };
        let name = target(sql).expect("a target");
        let (relid, _) = crate::preview::counts::resolve_table(client, &name)
            .await
            .expect("resolve")
            .expect("target exists");
        let columns = crate::preview::keys::columns(client, relid)
            .await
            .expect("columns");
        let mut sink = ImageSink::new(kind, key, columns, options);
        let stream = client
            .simple_query_raw(&rewritten)
            .await
            .expect("run capture");
        pin_mut!(stream);
        let mut count = None;
        while let Some(message) = stream.try_next().await.expect("row") {
            match message {
                SimpleQueryMessage::Row(row) => sink.push_fields(&row).expect("push"),
                SimpleQueryMessage::CommandComplete(n) => count = Some(n),
                _ => {}
            }
        }
        (
            sink.finish().expect("finish"),
            count.expect("command complete"),
        )
    }

    fn all() -> SinkOptions {
        SinkOptions {
            shown: 100_000,
            spill: SpillTo::Off,
        }
    }

    fn value(image: Option<&crate::preview::images::Image>, column: &str) -> String {
        image
            .and_then(|i| i.get(column))
            .map(|d| d.display().to_owned())
            .expect("column present")
    }

    async fn ints(client: &Client, sql: &str) -> BTreeSet<i64> {
        client
            .query(sql, &[])
            .await
            .expect("query")
            .iter()
            .map(|r| r.get::<_, i64>(0))
            .collect()
    }

    const ORDERS: &str = "CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, \
        total numeric(10,2) NOT NULL, note text);
        INSERT INTO orders VALUES (1, 'new', 10.50, NULL), (2, 'new', 7.00, 'x'), (3, 'paid', 99.99, 'y');";

    #[tokio::test]
    async fn update_two_rows_shows_changed_columns_only() {
        let client = db("upd_two", ORDERS).await;
        let key = RowKey::Primary(vec!["id".into()]);
        let (images, count) = capture(
            &client,
            "UPDATE orders SET status = 'shipped', note = 'fast' WHERE status = 'new'",
            key.clone(),
            SinkOptions::default(),
        )
        .await;
        assert_eq!((count, images.total, images.updated), (2, 2, 2));
        let mut seen: Vec<(String, String, String, String, String)> = images
            .shown
            .iter()
            .map(|row| {
                (
                    row.key[0].1.clone(),
                    value(row.old.as_ref(), "status"),
                    value(row.new.as_ref(), "status"),
                    value(row.old.as_ref(), "note"),
                    value(row.new.as_ref(), "note"),
                )
            })
            .collect();
        seen.sort();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            seen,
            [
                (s("1"), s("new"), s("shipped"), s("NULL"), s("fast")),
                (s("2"), s("new"), s("shipped"), s("x"), s("fast")),
            ]
        );
        assert!(images.shown[0]
            .old
            .as_ref()
            .and_then(|i| i.get("note"))
            .is_some());
        // The exact numeric text survives, and it is unchanged, so the diff leaves it out.
        assert!(value(images.shown[0].new.as_ref(), "total").contains('.'));
        let text = render("orders", &images, &key, false).to_string();
        let header: Vec<&str> = text
            .lines()
            .nth(1)
            .expect("grid")
            .split('|')
            .map(str::trim)
            .collect();
        assert_eq!(header, ["id", "status", "note"]);
        // Only the user's statement changed the table, once.
        let shipped = ints(
            &client,
            "SELECT id::int8 FROM orders WHERE status = 'shipped'",
        )
        .await;
        assert_eq!(shipped, BTreeSet::from([1, 2]));
    }

    /// Runs an UPDATE's capture twice in a rolled-back savepoint, whole and narrowed
    /// to what `narrowed_fields` allows; both digests and every image must agree.
    async fn whole_and_narrowed(client: &Client, sql: &str) -> (Images, Images) {
        let Capture::Rows {
            sql: rewritten,
            kind,
            ..
        } = rewrite(sql)
        else {
            panic!("counts only for {sql}");
        };
        let relid = crate::preview::testdb::oid(client, &target(sql).expect("target")).await;
        let columns = crate::preview::keys::columns(client, relid)
            .await
            .expect("columns");
        let fields = crate::preview::statement::narrowed_fields(
            client,
            relid,
            &columns,
            &assigned_columns(sql).expect("plain columns"),
        )
        .await
        .expect("catalog")
        .expect("narrowed");
        let names: Vec<String> = fields.iter().map(|&i| columns[i].clone()).collect();
        let narrowed = narrow_new_image(&rewritten, &names).expect("narrow");
        assert!(narrowed.contains("ROW("), "{narrowed}");
        let mut images = Vec::new();
        for (text, narrow) in [(&rewritten, None), (&narrowed, Some(fields.clone()))] {
            client
                .batch_execute("SAVEPOINT s")
                .await
                .expect("savepoint");
            let mut sink = ImageSink::new(
                kind,
                RowKey::Primary(vec!["id".into()]),
                columns.clone(),
                all(),
            );
            if let Some(fields) = narrow {
                sink.narrow_new(fields);
            }
            let stream = client.simple_query_raw(text).await.expect("run capture");
            pin_mut!(stream);
            while let Some(message) = stream.try_next().await.expect("row") {
                if let SimpleQueryMessage::Row(row) = message {
                    sink.push_fields(&row).expect("push");
                }
            }
            client
                .batch_execute("ROLLBACK TO SAVEPOINT s")
                .await
                .expect("rollback");
            images.push(sink.finish().expect("finish"));
        }
        let narrowed = images.pop().expect("narrowed");
        (images.pop().expect("whole"), narrowed)
    }

    #[tokio::test]
    async fn a_narrowed_new_image_is_the_whole_row_exactly() {
        let client = db(
            "narrowed_new_image",
            r#"CREATE TABLE "we""ird" (id int PRIMARY KEY, "a b" text, n numeric, j json,
                   arr text[], tz timestamptz, e text,
                   g text GENERATED ALWAYS AS ("a b" || '!') STORED);
               INSERT INTO "we""ird" (id, "a b", n, j, arr, tz, e) VALUES
                 (1, 'x, "y" \ (z)', 1.50, 'null', '{"a b",NULL}', '2024-01-01 00:00+00', ''),
                 (2, NULL, NULL, NULL, NULL, NULL, NULL),
                 (3, ' ', -0.0, '{"k": [1, null]}', '{}', 'infinity', 'e');"#,
        )
        .await;
        for sql in [
            r#"UPDATE "we""ird" SET "a b" = NULL, n = n * 10 WHERE id > 0"#,
            r#"UPDATE "we""ird" SET e = '', j = 'null' WHERE id > 0"#,
            r#"UPDATE "we""ird" AS w SET (id, "a b") = (w.id + 10, 'a "q", (b)') WHERE w.id <> 2"#,
            r#"UPDATE "we""ird" SET n = n WHERE id = 1"#,
        ] {
            let (whole, narrowed) = whole_and_narrowed(&client, sql).await;
            assert_eq!(whole.digest, narrowed.digest, "{sql}");
            // The second run's new row versions live elsewhere: all but the ctid agree.
            let images = |i: &Images| {
                i.shown
                    .iter()
                    .map(|r| (r.key.clone(), r.kind, r.old.clone(), r.new.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(images(&whole), images(&narrowed), "{sql}");
            assert!(!whole.shown.is_empty(), "{sql}");
            assert_eq!(whole.updated, narrowed.updated, "{sql}");
        }
    }

    #[tokio::test]
    async fn a_before_row_trigger_anywhere_keeps_the_whole_new_image() {
        let client = db(
            "narrowed_triggers",
            "CREATE TABLE p (id int, v text, w text) PARTITION BY RANGE (id);
             CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
             CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20);
             CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN NEW.w := 'moved'; RETURN NEW; END $$;
             CREATE TABLE plain (id int PRIMARY KEY, v text, w text);
             CREATE TABLE parent (id int, v text, w text);
             CREATE TABLE child (w text GENERATED ALWAYS AS (v || '!') STORED)
               INHERITS (parent);",
        )
        .await;
        let fields = |relid| {
            let client = &client;
            async move {
                let columns = crate::preview::keys::columns(client, relid)
                    .await
                    .expect("columns");
                crate::preview::statement::narrowed_fields(client, relid, &columns, &["v".into()])
                    .await
                    .expect("catalog")
            }
        };
        let p = crate::preview::testdb::oid(&client, "p").await;
        let plain = crate::preview::testdb::oid(&client, "plain").await;
        assert_eq!(fields(p).await, Some(vec![1]));
        assert_eq!(fields(plain).await, Some(vec![1]));
        // The child generates w, which the parent stores: w changes through the parent.
        let parent = crate::preview::testdb::oid(&client, "parent").await;
        assert_eq!(fields(parent).await, Some(vec![1, 2]));
        // A row moving into p2 fires p2's BEFORE INSERT trigger, which can change w.
        client
            .batch_execute(
                "CREATE TRIGGER stamp BEFORE INSERT ON p2 FOR EACH ROW EXECUTE FUNCTION stamp()",
            )
            .await
            .expect("trigger");
        assert_eq!(fields(p).await, None);
        client
            .batch_execute(
                "CREATE TRIGGER stamp BEFORE UPDATE ON plain FOR EACH ROW EXECUTE FUNCTION stamp()",
            )
            .await
            .expect("trigger");
        assert_eq!(fields(plain).await, None);
        // An assignment pgward cannot resolve to a column keeps the whole image too.
        assert_eq!(assigned_columns("UPDATE t SET c.f = 1"), None);
        assert_eq!(
            assigned_columns(r#"UPDATE t SET "A" = 1, (b, C) = (2, 3)"#),
            Some(vec!["A".into(), "b".into(), "c".into()])
        );
    }

    #[tokio::test]
    async fn delete_returns_the_deleted_rows() {
        let client = db("del", ORDERS).await;
        let (images, count) = capture(
            &client,
            "DELETE FROM orders WHERE total > 8",
            RowKey::Primary(vec!["id".into()]),
            all(),
        )
        .await;
        assert_eq!((count, images.total, images.deleted), (2, 2, 2));
        let mut old: Vec<(String, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                assert!(r.new.is_none());
                (
                    value(r.old.as_ref(), "id"),
                    value(r.old.as_ref(), "total"),
                    value(r.old.as_ref(), "note"),
                )
            })
            .collect();
        old.sort();
        assert_eq!(
            old,
            [
                ("1".into(), "10.50".into(), "NULL".into()),
                ("3".into(), "99.99".into(), "y".into())
            ]
        );
        assert_eq!(
            ints(&client, "SELECT id::int8 FROM orders").await,
            BTreeSet::from([2])
        );
    }

    #[tokio::test]
    async fn insert_many_rows_with_defaults_and_a_schema() {
        let client = db(
            "ins",
            "CREATE TABLE public.items (id serial PRIMARY KEY, name text, qty int DEFAULT 5);",
        )
        .await;
        let (images, count) = capture(
            &client,
            "INSERT INTO public.items (name) VALUES ('a'), ('b'), (NULL) RETURNING id",
            RowKey::Primary(vec!["id".into()]),
            all(),
        )
        .await;
        assert_eq!((count, images.total, images.inserted), (3, 3, 3));
        let new: Vec<(String, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                let n = r.new.as_ref();
                (value(n, "id"), value(n, "name"), value(n, "qty"))
            })
            .collect();
        assert_eq!(
            new,
            [
                ("1".into(), "a".into(), "5".into()),
                ("2".into(), "b".into(), "5".into()),
                ("3".into(), "NULL".into(), "5".into())
            ]
        );
        assert_eq!(
            images.shown[2].new.as_ref().and_then(|i| i.get("name")),
            Some(&Datum::Null)
        );
    }

    #[tokio::test]
    async fn upsert_tells_inserted_from_updated() {
        let client = db(
            "ups",
            "CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL);
             INSERT INTO stock VALUES ('A', 1);",
        )
        .await;
        let (images, count) = capture(
            &client,
            "INSERT INTO stock AS s VALUES ('A', 10), ('B', 2) \
             ON CONFLICT (sku) DO UPDATE SET qty = s.qty + excluded.qty",
            RowKey::Primary(vec!["sku".into()]),
            all(),
        )
        .await;
        assert_eq!(
            (count, images.total, images.inserted, images.updated),
            (2, 2, 1, 1)
        );
        let rows: Vec<(ChangeKindView, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                (
                    r.kind.into(),
                    r.key[0].1.clone(),
                    value(r.new.as_ref(), "qty"),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (ChangeKindView::Updated, "A".into(), "11".into()),
                (ChangeKindView::Inserted, "B".into(), "2".into())
            ]
        );
        // ON CONFLICT DO NOTHING returns only what it inserted.
        let (images, count) = capture(
            &client,
            "INSERT INTO stock VALUES ('A', 0), ('C', 3) ON CONFLICT DO NOTHING",
            RowKey::Primary(vec!["sku".into()]),
            all(),
        )
        .await;
        assert_eq!((count, images.total, images.inserted), (1, 1, 1));
        assert_eq!(images.shown[0].key[0].1, "C");
    }

    /// `ChangeKind` compared in a tuple.
    #[derive(Debug, PartialEq, Eq)]
    enum ChangeKindView {
        Inserted,
        Updated,
        Deleted,
    }

    impl From<crate::preview::images::ChangeKind> for ChangeKindView {
        fn from(kind: crate::preview::images::ChangeKind) -> Self {
            use crate::preview::images::ChangeKind as K;
            match kind {
                K::Inserted => ChangeKindView::Inserted,
                K::Updated => ChangeKindView::Updated,
                K::Deleted => ChangeKindView::Deleted,
            }
        }
    }

    #[tokio::test]
    async fn volatile_where_is_decided_once_per_row() {
        let client = db(
            "volatile",
            "CREATE TABLE t (id int8 PRIMARY KEY, v int NOT NULL DEFAULT 0);
             INSERT INTO t (id) SELECT g FROM generate_series(1, 2000) g;",
        )
        .await;
        let (images, count) = capture(
            &client,
            "UPDATE t SET v = v + 1 WHERE random() < 0.5",
            RowKey::Primary(vec!["id".into()]),
            all(),
        )
        .await;
        let changed = ints(&client, "SELECT id FROM t WHERE v = 1").await;
        assert!(count > 0 && count < 2000, "{count}");
        assert_eq!(images.total, count);
        assert_eq!(changed.len() as u64, count);
        assert!(ints(&client, "SELECT id FROM t WHERE v > 1")
            .await
            .is_empty());
        let mut captured = BTreeSet::new();
        for row in &images.shown {
            assert_eq!(value(row.old.as_ref(), "v"), "0");
            assert_eq!(value(row.new.as_ref(), "v"), "1");
            assert_eq!(value(row.old.as_ref(), "id"), value(row.new.as_ref(), "id"));
            captured.insert(value(row.new.as_ref(), "id").parse::<i64>().expect("id"));
        }
        assert_eq!(captured, changed);
    }

    #[tokio::test]
    async fn update_with_from_and_alias() {
        let client = db(
            "upd_from",
            &format!(
                "{ORDERS}
                 CREATE TABLE adjustments (order_id int, delta numeric);
                 INSERT INTO adjustments VALUES (1, 1.25), (3, -0.99);"
            ),
        )
        .await;
        let sql = "UPDATE orders AS o SET total = o.total + a.delta FROM adjustments a \
                   WHERE a.order_id = o.id RETURNING o.id, a.delta";
        let (images, count) =
            capture(&client, sql, RowKey::Primary(vec!["id".into()]), all()).await;
        assert_eq!((count, images.total), (2, 2));
        let mut totals: Vec<(String, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                (
                    r.key[0].1.clone(),
                    value(r.old.as_ref(), "total"),
                    value(r.new.as_ref(), "total"),
                )
            })
            .collect();
        totals.sort();
        assert_eq!(
            totals,
            [
                ("1".into(), "10.50".into(), "11.75".into()),
                ("3".into(), "99.99".into(), "99.00".into())
            ]
        );
        // The user's RETURNING columns come first, pgward's after them.
        let rows = client
            .simple_query(&rewrite_sql(
                "UPDATE orders o SET note = 'z' WHERE o.id = 2 RETURNING o.id, o.note",
            ))
            .await
            .expect("run");
        let row = rows
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r),
                _ => None,
            })
            .expect("a row");
        assert_eq!(
            rewrite("UPDATE orders o SET note = 'z' RETURNING o.id, o.note")
                .user_columns(row.len()),
            2
        );
        assert_eq!((row.get(0), row.get(1)), (Some("2"), Some("z")));
    }

    fn rewrite_sql(sql: &str) -> String {
        match rewrite(sql) {
            Capture::Rows { sql, .. } => sql,
            Capture::CountsOnly { reason } => panic!("{reason}"),
            Capture::Around(read) => panic!("read around: {read:?}"),
            Capture::Parts(parts) => panic!("parts: {parts:?}"),
        }
    }

    #[tokio::test]
    async fn table_without_key_is_keyed_by_ctid() {
        let client = db(
            "nokey",
            "CREATE TABLE log (msg text, n int); INSERT INTO log VALUES ('a', 1), ('b', 2);",
        )
        .await;
        let (images, count) = capture(
            &client,
            "UPDATE log SET n = n * 10 WHERE msg = 'b'",
            RowKey::Ctid,
            all(),
        )
        .await;
        assert_eq!((count, images.total), (1, 1));
        let now: String = client
            .query_one("SELECT ctid::text FROM log WHERE msg = 'b'", &[])
            .await
            .expect("ctid")
            .get(0);
        assert_eq!(images.shown[0].key, [("ctid".to_owned(), now)]);
        assert_eq!(value(images.shown[0].old.as_ref(), "n"), "2");
        assert_eq!(value(images.shown[0].new.as_ref(), "n"), "20");
        let text = render("log", &images, &RowKey::Ctid, false).to_string();
        assert!(text.lines().any(|l| l.starts_with("warning:")), "{text}");
    }

    #[tokio::test]
    async fn only_and_inheritance_stay_exact() {
        let client = db(
            "inherit",
            "CREATE TABLE parent (id int, v int);
             CREATE TABLE child () INHERITS (parent);
             INSERT INTO parent VALUES (1, 0); INSERT INTO child VALUES (1, 0), (2, 0);",
        )
        .await;
        let (only, count) =
            capture(&client, "UPDATE ONLY parent SET v = 1", RowKey::Ctid, all()).await;
        assert_eq!((count, only.total), (1, 1));
        // Same ctid in parent and child: tableoid keeps the pairs apart.
        let (every, count) =
            capture(&client, "UPDATE parent SET v = v + 1", RowKey::Ctid, all()).await;
        assert_eq!((count, every.total), (3, 3));
        let olds: BTreeSet<String> = every
            .shown
            .iter()
            .map(|r| value(r.old.as_ref(), "v"))
            .collect();
        assert_eq!(
            every
                .shown
                .iter()
                .filter(|r| value(r.old.as_ref(), "v") == "1")
                .count(),
            1
        );
        assert_eq!(olds, BTreeSet::from(["0".to_owned(), "1".to_owned()]));
    }

    #[tokio::test]
    async fn spill_holds_every_before_image() {
        let client = db(
            "spill",
            "CREATE TABLE t (id int8 PRIMARY KEY, body json);
             INSERT INTO t SELECT g, '{\"a\":\n 1}' FROM generate_series(1, 5000) g;",
        )
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let (images, count) = capture(
            &client,
            "UPDATE t SET body = NULL",
            RowKey::Primary(vec!["id".into()]),
            SinkOptions {
                shown: 20,
                spill: SpillTo::TempIn(dir.path().to_path_buf()),
            },
        )
        .await;
        assert_eq!((count, images.total, images.shown.len()), (5000, 5000, 20));
        let spill = images.spill.as_ref().expect("spill");
        let mut text = String::new();
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("ls").count(),
            0,
            "nameless"
        );
        spill
            .reader()
            .expect("reader")
            .read_to_string(&mut text)
            .expect("gunzip");
        let mut ids = BTreeSet::new();
        for line in text.lines() {
            // One line per row: kind, before-image (line breaks written as `\n`), after.
            let (id, body) = line
                .strip_prefix("U\t(")
                .and_then(|l| l.split_once('\t'))
                .map(|(before, _)| before)
                .and_then(|l| l.split_once(','))
                .expect("record line");
            assert_eq!(body, r#""{""a"":\n 1}")"#, "{line}");
            ids.insert(id.parse::<i64>().expect("id"));
        }
        assert_eq!(ids.len(), 5000);
        assert_eq!(ids, (1..=5000).collect());
    }

    /// A user's `public.record_out(orders)` (an exact-type match beats
    /// `pg_catalog.record_out(record)`) and `=` operators on `tid` and `xid`, put ahead
    /// of pg_catalog in the search path, must not fake the images or the upsert flag.
    #[tokio::test]
    async fn shadowing_functions_and_operators_cannot_fake_the_images() {
        let client = db(
            "shadow",
            &format!(
                "{ORDERS}
                 CREATE FUNCTION public.record_out(orders) RETURNS text LANGUAGE sql AS
                   $$ SELECT '(1,fake,0,)' $$;
                 CREATE FUNCTION public.fake_tideq(tid, tid) RETURNS bool LANGUAGE sql AS 'SELECT true';
                 CREATE OPERATOR public.= (LEFTARG = tid, RIGHTARG = tid, FUNCTION = public.fake_tideq);
                 CREATE FUNCTION public.fake_xideq(xid, xid) RETURNS bool LANGUAGE sql AS 'SELECT false';
                 CREATE OPERATOR public.= (LEFTARG = xid, RIGHTARG = xid, FUNCTION = public.fake_xideq);"
            ),
        )
        .await;
        client
            .batch_execute("SET LOCAL search_path = public, pg_catalog")
            .await
            .expect("search path");
        // The shadows are live: unqualified names reach them.
        let faked: String = client
            .query_one(
                "SELECT record_out(o.*)::text FROM orders o WHERE o.id = 3",
                &[],
            )
            .await
            .expect("shadowed record_out")
            .get(0);
        assert!(faked.contains("fake"), "{faked}");
        let pairs: i64 = client
            .query_one(
                "SELECT count(*) FROM orders a, orders b WHERE a.ctid = b.ctid",
                &[],
            )
            .await
            .expect("shadowed =")
            .get(0);
        assert_eq!(pairs, 9, "the fake tid = matches every pair");

        let key = RowKey::Primary(vec!["id".into()]);
        let (images, count) = capture(
            &client,
            "UPDATE orders SET status = 'shipped' WHERE status = 'new'",
            key.clone(),
            all(),
        )
        .await;
        assert_eq!((count, images.total, images.updated), (2, 2, 2));
        let mut seen: Vec<(String, String, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                (
                    value(r.old.as_ref(), "id"),
                    value(r.old.as_ref(), "status"),
                    value(r.new.as_ref(), "status"),
                    value(r.old.as_ref(), "total"),
                )
            })
            .collect();
        seen.sort();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            seen,
            [
                (s("1"), s("new"), s("shipped"), s("10.50")),
                (s("2"), s("new"), s("shipped"), s("7.00")),
            ]
        );

        let (images, count) = capture(
            &client,
            "DELETE FROM orders WHERE id = 3",
            key.clone(),
            all(),
        )
        .await;
        assert_eq!((count, images.total), (1, 1));
        assert_eq!(value(images.shown[0].old.as_ref(), "status"), "paid");
        assert_eq!(value(images.shown[0].old.as_ref(), "total"), "99.99");

        let (images, count) = capture(
            &client,
            "INSERT INTO orders VALUES (1, 'dup', 1, NULL), (4, 'new', 4.25, NULL) \
             ON CONFLICT (id) DO UPDATE SET note = 'again'",
            key,
            all(),
        )
        .await;
        assert_eq!(
            (count, images.total, images.inserted, images.updated),
            (2, 2, 1, 1)
        );
        let mut new: Vec<(ChangeKindView, String, String)> = images
            .shown
            .iter()
            .map(|r| {
                (
                    r.kind.into(),
                    value(r.new.as_ref(), "id"),
                    value(r.new.as_ref(), "note"),
                )
            })
            .collect();
        new.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            new,
            [
                (ChangeKindView::Updated, s("1"), s("again")),
                (ChangeKindView::Inserted, s("4"), s("NULL")),
            ]
        );
    }

    #[tokio::test]
    async fn views_fall_back_to_counts_only() {
        let client = db(
            "view",
            &format!(
                "{ORDERS} CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'new';"
            ),
        )
        .await;
        client
            .batch_execute("SAVEPOINT pgward_capture")
            .await
            .expect("savepoint");
        let err = client
            .simple_query(&rewrite_sql("UPDATE open_orders SET note = 'v'"))
            .await
            .expect_err("a view has no ctid");
        assert!(is_fallback_error(&err), "{err:?}");
        client
            .batch_execute("ROLLBACK TO SAVEPOINT pgward_capture")
            .await
            .expect("rollback to");
        client
            .batch_execute("UPDATE open_orders SET note = 'v'")
            .await
            .expect("the user's statement as typed");
        assert_eq!(
            ints(&client, "SELECT count(*) FROM orders WHERE note = 'v'").await,
            BTreeSet::from([2])
        );
    }
}
