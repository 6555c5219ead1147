//! The preview of one write, from start to finish: the facts gathered before it runs
//! ([`plan`]: target, key, WHERE shape, cascade prediction, TRUNCATE row counts, DDL
//! storage and locks), and the report after it ran ([`after`]: per-table counts from the
//! server, the captured images, confirmations and mismatches, DDL effects), rendered for
//! the person at the screen ([`Report::render`]).
//!
//! Everything [`plan`] asks the server runs in a read-only savepoint that is always
//! rolled back, so a prediction that evaluates the user's WHERE clause can neither fail
//! the transaction nor change anything.

use std::collections::HashMap;

use crate::conn::Client;
use sqlparser::ast::{FromTable, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::cascade::{self, CascadeAction, CascadeEffect};
use super::conflict;
use super::counts::TableCounts;
use super::ddl::{self, LockMode};
use super::diff;
use super::distinct;
use super::eligible;
use super::facts;
use super::images::Images;
use super::keys::RowKey;
use super::merge;
use super::part::{self, Part};
use super::partial_undo;
use super::relation::{display_name, Relation};
use super::rewrite::{self, Capture, WhereShape};
use super::truncate;
use crate::render::escape::one_line;
use crate::render::table::{self, Column};
use crate::render::{Paint, Text};

/// What kind of write a statement is, for the preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
    /// INSERT (also with ON CONFLICT).
    Insert,
    /// MERGE.
    Merge,
    /// TRUNCATE.
    Truncate,
    /// Schema change.
    Ddl,
    /// Anything else that writes (DO, CALL, a query after a data-modifying WITH, …):
    /// counts only, unless captured part by part ([`Plan::parts`]).
    Other,
}

impl WriteKind {
    /// The SQL verb.
    pub fn verb(self) -> &'static str {
        match self {
            WriteKind::Update => "UPDATE",
            WriteKind::Delete => "DELETE",
            WriteKind::Insert => "INSERT",
            WriteKind::Merge => "MERGE",
            WriteKind::Truncate => "TRUNCATE",
            WriteKind::Ddl => "DDL",
            WriteKind::Other => "statement",
        }
    }
}

/// How the transaction is set up, as far as the preview cares.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// The transaction runs at READ COMMITTED, where a concurrent update can make the
    /// UPDATE self-join skip rows: UPDATE is then shown with counts only.
    pub read_committed: bool,
    /// The user's statement is DDL.
    pub ddl: bool,
}

/// Facts gathered before the write runs.
#[derive(Debug)]
pub struct Plan {
    /// The statement as typed.
    pub text: String,
    /// Its kind.
    pub kind: WriteKind,
    /// The target table, when it is one table.
    pub target: Option<Relation>,
    /// Its WHERE clause (for an EXECUTE, the prepared statement's).
    pub where_shape: WhereShape,
    /// An UPDATE or DELETE inside it (in WITH) without a WHERE clause, named
    /// ([`crate::sql::unbounded`]); for an EXECUTE, inside the prepared statement.
    pub unbounded_part: Option<String>,
    /// The kind the guard thresholds judge: its own, or for an EXECUTE the prepared
    /// statement's ([`judge_prepared`]).
    pub guard_kind: WriteKind,
    /// How its rows are captured.
    pub capture: Capture,
    /// How rows of the target are keyed in the diff.
    pub key: RowKey,
    /// The target's columns, in order: the names of an image's fields.
    pub columns: Vec<String>,
    /// Those of them psql right-aligns (numbers), for the diff.
    pub right_aligned: Vec<String>,
    /// Foreign-key effects predicted before it ran; `Err` says why none were predicted.
    pub cascade: Option<Result<Vec<CascadeEffect>, String>>,
    /// For TRUNCATE: each table it reaches (partitions, children and CASCADE
    /// included) and its row count just before.
    pub truncated: Vec<(String, i64)>,
    /// For TRUNCATE: tables whose figure is an estimate, with why.
    pub estimated: Vec<String>,
    /// For DDL and other statements (DO, CALL, …): the storage of every user table
    /// before.
    pub storage: Option<HashMap<u32, u32>>,
    /// For DDL and other statements: the display name of every user table before, by
    /// oid, to name the tables that are gone afterwards.
    pub names_before: HashMap<u32, String>,
    /// For DDL and other statements: the locks held before.
    pub locks_before: Vec<(String, String)>,
    /// Rows the transaction changed in the system catalogs so far.
    pub catalog_before: i64,
    /// Things the user should know.
    pub notes: Vec<String>,
    /// An UPDATE with no FROM or joins of its own: the capture's self-join is the only
    /// join, so steering it to a nested loop over a TID scan is safe (and saves the
    /// multi-batch hash join a large UPDATE gets at default work_mem).
    pub tid_join: bool,
    /// The server confirmed that a row capture of the target has exactly the typed
    /// statement's effect (see [`eligible`]).
    pub capture_checked: bool,
    /// For an upsert: the read of the old values of the rows it may update, or why
    /// there is none ([`conflict`]).
    pub old_values: Option<Result<conflict::PreRead, String>>,
    /// An UPDATE's capture returns only these fields of each new row (ascending
    /// positions in [`Plan::columns`]): see [`narrowed_fields`].
    pub new_fields: Option<Vec<usize>>,
    /// For a statement with data-modifying WITH captured part by part: each table it
    /// writes ([`part`]); `target` is then `None`.
    pub parts: Vec<Part>,
    /// An UPDATE's capture also returns which of these fields (ascending positions in
    /// [`Plan::columns`]) the server calls distinct: see [`super::distinct`].
    pub compared: Option<Vec<usize>>,
}

fn parse(text: &str) -> Option<Statement> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
    (statements.len() == 1).then(|| statements.pop()).flatten()
}

/// Whether the WHERE clause can be evaluated against the bare target table: no alias,
/// no USING or FROM, so the cascade collector can reuse it.
fn where_is_standalone(statement: &Statement) -> bool {
    use sqlparser::ast::TableFactor;
    let bare = |factor: &TableFactor| matches!(factor, TableFactor::Table { alias: None, .. });
    match statement {
        Statement::Update(u) => {
            u.from.is_none() && u.table.joins.is_empty() && bare(&u.table.relation)
        }
        Statement::Delete(d) => {
            let from = match &d.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            d.using.is_none()
                && from.len() == 1
                && from.iter().all(|t| t.joins.is_empty() && bare(&t.relation))
        }
        _ => false,
    }
}

/// The data-changing statement itself, also behind a leading `WITH` (which sqlparser
/// parses as a query whose body is the DML).
fn dml(statement: Option<&Statement>) -> Option<&Statement> {
    use sqlparser::ast::SetExpr;
    match statement {
        Some(Statement::Query(q)) => match q.body.as_ref() {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                Some(s)
            }
            _ => statement,
        },
        other => other,
    }
}

fn kind_of(statement: Option<&Statement>, ddl: bool) -> WriteKind {
    match dml(statement) {
        _ if ddl => WriteKind::Ddl,
        Some(Statement::Update(_)) => WriteKind::Update,
        Some(Statement::Delete(_)) => WriteKind::Delete,
        Some(Statement::Insert(_)) => WriteKind::Insert,
        Some(Statement::Merge(_)) => WriteKind::Merge,
        Some(Statement::Truncate(_)) => WriteKind::Truncate,
        _ => WriteKind::Other,
    }
}

/// What the guard thresholds judge: the kind and WHERE clause sqlparser read, or, where
/// it could not read `text`, PostgreSQL's parser's ([`super::guard_view`]).
fn guard(statement: Option<&Statement>, text: &str, ddl: bool) -> (WriteKind, WhereShape) {
    match (statement, ddl) {
        (None, false) => super::guard_view::guard_view(text)
            .unwrap_or((WriteKind::Other, rewrite::where_clause(text))),
        _ => (kind_of(statement, ddl), rewrite::where_clause(text)),
    }
}

const PLAN_BEGIN: &str = "SAVEPOINT pgward_plan; SET LOCAL transaction_read_only = on";

/// Ends the planning savepoint [`plan`] leaves open: its reads are undone and the
/// transaction is writable again.
pub const PLAN_END: &str = "ROLLBACK TO SAVEPOINT pgward_plan; RELEASE SAVEPOINT pgward_plan";

/// Gathers what must be known before `text` runs, inside a read-only savepoint that it
/// leaves open: the caller sends [`PLAN_END`] before anything else, alone or in front
/// of its next statement of its own (one statement in the server log), and never lets
/// the typed statement run before it. Only a failure to open the planning savepoint is
/// an error; anything else becomes a note.
pub async fn plan(
    client: &Client,
    text: &str,
    ctx: &PlanContext,
) -> Result<Plan, tokio_postgres::Error> {
    let statement = parse(text);
    let kind = kind_of(statement.as_ref(), ctx.ddl);
    let (guard_kind, where_shape) = guard(statement.as_ref(), text, ctx.ddl);
    let mut capture = match kind {
        WriteKind::Update | WriteKind::Delete | WriteKind::Insert | WriteKind::Merge => {
            rewrite::rewrite(text)
        }
        WriteKind::Truncate => Capture::CountsOnly {
            reason: "TRUNCATE removes whole tables: the row counts before it are shown".into(),
        },
        WriteKind::Ddl => Capture::CountsOnly {
            reason: "DDL: locks and rewrites are shown instead of rows".into(),
        },
        WriteKind::Other => Capture::CountsOnly {
            reason: "pgward cannot see which rows this statement changes: counts only".into(),
        },
    };
    if kind == WriteKind::Update && ctx.read_committed && matches!(capture, Capture::Rows { .. }) {
        capture = Capture::CountsOnly {
            reason: "under READ COMMITTED a concurrent update could make the row capture skip rows: counts only (REPEATABLE READ, the default, shows every row)".into(),
        };
    }
    let tid_join = matches!(
        dml(statement.as_ref()),
        Some(Statement::Update(u)) if u.from.is_none() && u.table.joins.is_empty()
    );
    let mut plan = Plan {
        tid_join,
        capture_checked: false,
        old_values: None,
        new_fields: None,
        compared: None,
        parts: Vec::new(),
        text: text.to_string(),
        kind,
        guard_kind,
        target: None,
        where_shape,
        unbounded_part: crate::sql::unbounded::unbounded_part(text),
        capture,
        key: RowKey::Ctid,
        columns: Vec::new(),
        right_aligned: Vec::new(),
        cascade: None,
        truncated: Vec::new(),
        estimated: Vec::new(),
        storage: None,
        names_before: HashMap::new(),
        catalog_before: 0,
        locks_before: Vec::new(),
        notes: Vec::new(),
    };
    client.batch_execute(PLAN_BEGIN).await?;
    let gathered = gather(client, statement.as_ref(), &mut plan, ctx.read_committed).await;
    // The cached facts answer inside the gathering only (see `fact_cache`).
    client.facts().close();
    if let Err(e) = gathered {
        plan.notes
            .push(format!("part of the preview is missing: {e}"));
    }
    if matches!(plan.capture, Capture::Rows { .. } | Capture::Parts(_)) && !plan.capture_checked {
        // Fail closed: a capture whose effect the server did not vouch for is not used.
        plan.capture = Capture::CountsOnly {
            reason: "pgward could not check that a capture of this target has the statement's \
                     exact effect, so it ran as typed: counts only"
                .into(),
        };
    }
    Ok(plan)
}

/// Narrows an UPDATE's capture to the columns it can change, when the server's rules
/// say which those are: see [`narrowed_fields`].
async fn narrow(client: &Client, relid: u32, plan: &mut Plan) -> Result<(), super::PreviewError> {
    let Capture::Rows {
        sql,
        kind: rewrite::CaptureKind::Update,
        ..
    } = &mut plan.capture
    else {
        return Ok(());
    };
    let Some(assigned) = rewrite::assigned_columns(&plan.text) else {
        return Ok(());
    };
    let Some(fields) = narrowed_fields(client, relid, &plan.columns, &assigned).await? else {
        return Ok(());
    };
    let names: Vec<String> = fields.iter().map(|&i| plan.columns[i].clone()).collect();
    if let Ok(narrowed) = rewrite::narrow_new_image(sql, &names) {
        *sql = narrowed;
        plan.new_fields = Some(fields);
    }
    Ok(())
}

/// Has an UPDATE's capture return which of the columns it can change the server calls
/// distinct, for those whose type the server compares ([`distinct`]): the narrowed
/// fields where the capture was narrowed (no other column can change), else every
/// column (a BEFORE trigger can change any). Left as it was, with the text test
/// alone, where the catalog's columns are not the images' fields.
fn compare(plan: &mut Plan, output: &distinct::OutputFacts) {
    let Capture::Rows {
        sql,
        kind: rewrite::CaptureKind::Update,
        ..
    } = &mut plan.capture
    else {
        return;
    };
    let same = output.columns.len() == plan.columns.len()
        && output
            .columns
            .iter()
            .zip(&plan.columns)
            .all(|(c, n)| &c.name == n);
    if !same {
        return;
    }
    let fields = output.compared(plan.new_fields.as_deref());
    if fields.is_empty() {
        return;
    }
    let named: Vec<(usize, String)> = fields
        .iter()
        .map(|&i| (i, plan.columns[i].clone()))
        .collect();
    if let Ok(compared) = distinct::compare_on_server(sql, &named) {
        *sql = compared;
        plan.compared = Some(fields);
    }
}

/// The columns of `relid` (positions in `columns`, ascending) that an UPDATE assigning
/// `assigned` can change: those, and every column that is a stored generated column in
/// the target or any of its partitions or inheritance children, which PostgreSQL
/// recomputes on every update. Any other column of the new row holds the old row's
/// value, so the capture needs only these fields of the new image and takes the rest
/// from the old one (issue 12, item 11: half the output-function calls per row).
///
/// `None`, and the capture keeps the whole new row, when anything else could change a
/// column: a BEFORE row trigger (which can rewrite NEW) on the target or on any of its
/// partitions or inheritance children (a row moving to another partition fires that
/// partition's BEFORE INSERT triggers), or an assigned name that is not a column here.
pub async fn narrowed_fields(
    client: &Client,
    relid: u32,
    columns: &[String],
    assigned: &[String],
) -> Result<Option<Vec<usize>>, super::PreviewError> {
    // Bound first: the cache's lock must not be held across the query.
    let cached = client
        .facts()
        .get::<(bool, Vec<String>)>(NARROWING, relid, false);
    let (before_row_trigger, generated) = match cached {
        Some(cached) => cached,
        None => {
            let read = narrowing(client, relid).await?;
            client.facts().put(NARROWING, relid, false, &read);
            read
        }
    };
    if before_row_trigger {
        return Ok(None);
    }
    let position = |name: &String| columns.iter().position(|c| c == name);
    let Some(mut fields) = assigned
        .iter()
        .map(position)
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(None);
    };
    // Generated in a partition or child too (PostgreSQL 15 lets an inheritance child
    // generate a column its parent stores): a column of the target's image by name.
    fields.extend(generated.iter().filter_map(position));
    fields.sort_unstable();
    fields.dedup();
    Ok((!fields.is_empty() && fields.len() < columns.len()).then_some(fields))
}

/// The cache's key for [`narrowing`]'s answer.
const NARROWING: &str = "narrowing";

/// Whether the tree of `relid` has a BEFORE row trigger, and its stored generated
/// columns (see [`narrowed_fields`]), in one query.
async fn narrowing(
    client: &Client,
    relid: u32,
) -> Result<(bool, Vec<String>), super::PreviewError> {
    // tgtype bit 0 is ROW, bit 1 BEFORE (pg_trigger.h); disabled triggers count too,
    // since session_replication_role decides whether they fire.
    let row = client
        .query_one(
            "WITH RECURSIVE tree(relid) AS ( \
                 SELECT $1::pg_catalog.oid \
                 UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
                 JOIN tree ON i.inhparent OPERATOR(pg_catalog.=) tree.relid) \
             SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger t JOIN tree \
                              ON t.tgrelid OPERATOR(pg_catalog.=) tree.relid \
                            WHERE (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 3) \
                                  OPERATOR(pg_catalog.=) 3), \
                    ARRAY(SELECT DISTINCT a.attname::pg_catalog.text \
                          FROM pg_catalog.pg_attribute a JOIN tree \
                            ON a.attrelid OPERATOR(pg_catalog.=) tree.relid \
                          WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
                            AND a.attgenerated OPERATOR(pg_catalog.<>) '')",
            &[&relid],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// An `EXECUTE` of the prepared statement `prepared`: it runs as typed and its preview has
/// the server's counts (its kind stays "statement", so counts are upper bounds where a
/// function could undo work), but the guard thresholds judge what was prepared, exactly
/// as if it were typed: a prepared DELETE without WHERE asks for its count.
pub fn judge_prepared(plan: &mut Plan, prepared: &str) {
    let ddl = plan.kind == WriteKind::Ddl;
    (plan.guard_kind, plan.where_shape) = guard(parse(prepared).as_ref(), prepared, ddl);
    plan.unbounded_part = crate::sql::unbounded::unbounded_part(prepared);
}

async fn gather(
    client: &Client,
    statement: Option<&Statement>,
    plan: &mut Plan,
    read_committed: bool,
) -> Result<(), super::PreviewError> {
    let parts = super::cte::is_cte_write(&plan.text);
    // Whether rules rewrite the target, read with its other facts.
    let mut target_rules = false;
    if let Some(name) = rewrite::target(&plan.text).filter(|_| !parts) {
        // The name resolved and the target's facts in one query (see `facts`).
        if let Some(facts) = facts::named_for_preview(client, &name).await? {
            let relation = facts.relation;
            let relid = relation.relid;
            plan.key = facts.key;
            plan.columns = facts.columns;
            plan.right_aligned = facts.right_aligned;
            target_rules = facts.rules;
            plan.target = Some(relation.clone());
            if matches!(plan.capture, Capture::Rows { .. }) {
                let output = distinct::output_facts(client, relid).await?;
                let blocker = eligible::capture_blocker(client, relid).await?;
                if let Some(reason) = blocker.or_else(|| output.lossy()) {
                    plan.capture = Capture::CountsOnly { reason };
                }
                plan.capture_checked = true;
                narrow(client, relid, plan).await?;
                compare(plan, &output);
            }
            if plan.kind == WriteKind::Merge {
                let blocker = match eligible::capture_blocker(client, relid).await? {
                    Some(why) => Some(why),
                    None => distinct::output_facts(client, relid).await?.lossy(),
                };
                plan.capture = match blocker {
                    Some(reason) => Capture::CountsOnly { reason },
                    None if read_committed => Capture::CountsOnly {
                        reason: "under READ COMMITTED a concurrent change could slip between \
                                 the MERGE and the reads of its rows: counts only (REPEATABLE \
                                 READ, the default, shows every row)"
                            .into(),
                    },
                    None => match merge::read_around(
                        client,
                        &relation,
                        plan.key.columns(),
                        &plan.columns,
                        &plan.text,
                    )
                    .await?
                    {
                        Ok(read) => Capture::Around(read),
                        Err(reason) => Capture::CountsOnly { reason },
                    },
                };
            }
            if let Capture::Rows {
                kind: rewrite::CaptureKind::Upsert,
                ..
            } = &plan.capture
            {
                plan.old_values = Some(
                    conflict::pre_read(
                        client,
                        &relation,
                        &plan.columns,
                        &plan.text,
                        read_committed,
                    )
                    .await?,
                );
            }
        }
    }
    // Every write, not only DDL: a DO block, a procedure, a trigger, a function in the
    // statement or TRUNCATE … CASCADE can truncate, drop or rewrite tables, and TRUNCATE
    // even resets the row counters. Measured first, so no later failure can skip it.
    {
        let (tables, storage, locks) = user_tables(client).await?;
        plan.storage = Some(storage);
        plan.names_before = tables.into_iter().collect();
        (plan.locks_before, plan.catalog_before) = locks;
    }
    if plan.kind == WriteKind::Truncate {
        let removal = truncate::removal(client, &plan.text).await?;
        plan.truncated = removal.tables;
        plan.estimated = removal.estimated;
    }
    if let (Some(target), Some(statement)) = (&plan.target, statement) {
        let where_sql = match &plan.where_shape {
            WhereShape::Present(w) => Some(w.clone()),
            _ => None,
        };
        let standalone = where_is_standalone(statement);
        let only = writes_only(&plan.text);
        let rewritten = target.kind != "r" && target.kind != "p" || target_rules;
        let prediction = match plan.kind {
            WriteKind::Delete | WriteKind::Update if rewritten => {
                plan.cascade = Some(Err(format!(
                    "not predicted: {} is a view or has rules, which turn the statement into \
                     others; the counts below are the server's",
                    target.display()
                )));
                None
            }
            WriteKind::Delete if standalone => Some(
                cascade::predict_delete_scoped(client, target.relid, where_sql.as_deref(), only)
                    .await,
            ),
            WriteKind::Update if standalone => {
                let set = rewrite::set_columns(&plan.text);
                Some(
                    cascade::predict_update_scoped(
                        client,
                        target.relid,
                        &set,
                        where_sql.as_deref(),
                        only,
                    )
                    .await,
                )
            }
            WriteKind::Delete | WriteKind::Update => {
                plan.cascade = Some(Err(
                    "the WHERE clause uses an alias or other tables, so foreign-key effects are not predicted; the counts below are the server's"
                        .into(),
                ));
                None
            }
            _ => None,
        };
        match prediction {
            Some(Ok(effects)) => plan.cascade = Some(Ok(effects)),
            Some(Err(e)) => {
                // The savepoint is aborted now; nothing more can be asked, and nothing
                // more needs to be: the prediction comes last.
                plan.cascade = Some(Err(format!("foreign-key effects not predicted: {e}")));
            }
            None => {}
        }
    }
    if parts {
        // Last: describing the statement can fail and abort the savepoint.
        plan.capture = match part::plan(client, &plan.text, read_committed).await? {
            Ok((capture, parts)) => {
                plan.parts = parts;
                Capture::Parts(capture)
            }
            Err(reason) => Capture::CountsOnly { reason },
        };
        plan.capture_checked = true;
    }
    Ok(())
}

/// Whether an UPDATE or DELETE names its target with ONLY, as PostgreSQL's parser reads
/// it (inheritance children are then left alone).
pub(crate) fn writes_only(text: &str) -> bool {
    use pg_query::NodeEnum;
    let Ok(parsed) = pg_query::parse(text, pg_query::ParserOptions::DEFAULT) else {
        return false;
    };
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|n| n.node.as_ref());
    let relation = match node {
        Some(NodeEnum::DeleteStmt(d)) => d.relation.as_ref(),
        Some(NodeEnum::UpdateStmt(u)) => u.relation.as_ref(),
        _ => None,
    };
    relation.is_some_and(|r| !r.inh)
}

/// Every user table, materialized view and TOAST table, with its display name, and
/// the storage file number of each that has storage, then the locks held and the
/// catalog rows changed so far ([`ddl::LOCKS_AND_CATALOG`]), in one query.
/// Operators are schema-qualified: the user may have created look-alikes.
#[allow(clippy::type_complexity)]
async fn user_tables(
    client: &Client,
) -> Result<
    (
        Vec<(u32, String)>,
        HashMap<u32, u32>,
        (Vec<(String, String)>, i64),
    ),
    super::PreviewError,
> {
    let rows = client
        .query(
            &format!(
                "SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
                        pg_catalog.pg_relation_filenode(c.oid), {} \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
                 WHERE c.relkind OPERATOR(pg_catalog.=) \
                       ANY ('{{r,m,t}}'::pg_catalog.\"char\"[]) \
                 AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' \
                 AND n.nspname OPERATOR(pg_catalog.!~~) 'pg\\_%'",
                ddl::LOCKS_AND_CATALOG
            ),
            &[],
        )
        .await?;
    let (mut tables, mut storage) = (Vec::with_capacity(rows.len()), HashMap::new());
    for r in &rows {
        let relid: u32 = r.try_get(0)?;
        let schema: String = r.try_get(1)?;
        let name: String = r.try_get(2)?;
        tables.push((relid, display_name(&schema, &name)));
        if let Some(node) = r.try_get::<_, Option<u32>>(3)? {
            storage.insert(relid, node);
        }
    }
    let locks = match rows.first() {
        Some(r) => ddl::locks_and_catalog_of(r.try_get(4)?, &r.try_get::<_, String>(5)?)?,
        // No user table at all: the locks and catalog counter read alone.
        None => ddl::locks_and_catalog_changes(client).await?,
    };
    Ok((tables, storage, locks))
}

/// Which of `relids` are not `present` (dropped by this transaction), sorted.
fn gone(present: &std::collections::HashSet<u32>, relids: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = relids
        .iter()
        .copied()
        .filter(|relid| !present.contains(relid))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// DDL effects measured on the server.
#[derive(Debug, Clone, Default)]
pub struct DdlFacts {
    /// Relations whose strongest lock this statement raised, with the lock's SQL name.
    pub locks: Vec<(String, String)>,
    /// Tables whose storage was rewritten (or truncated: TRUNCATE gives a table new
    /// storage).
    pub rewritten: Vec<String>,
    /// Tables that existed before and are gone now, by their names before.
    pub dropped: Vec<String>,
    /// The statement changed the system catalogs (functions, triggers, columns, …).
    pub catalog_changed: bool,
}

/// What a write did.
#[derive(Debug)]
pub struct Report {
    /// The plan it ran with.
    pub plan: Plan,
    /// The statement's own row count (command tag).
    pub rows: Option<u64>,
    /// The captured images, when rows were captured.
    pub images: Option<Images>,
    /// Why rows were not captured.
    pub counts_only: Option<String>,
    /// Per-table counts of this statement, from the server.
    pub delta: Vec<TableCounts>,
    /// Why this statement's counts are upper bounds (work undone inside the statement,
    /// which the server still counts, cannot be ruled out); `None` when they are exact.
    pub upper_bound: Option<String>,
    /// DDL effects.
    pub ddl: Option<DdlFacts>,
    /// The target and its partitions and inheritance children: the statement's own rows
    /// are counted on these (on the leaves, for a partitioned table).
    pub tree: Vec<u32>,
    /// Each table a foreign-key effect names, with its partitions when it is
    /// partitioned: the server counts the cascade's rows on the leaves.
    pub cascade_trees: HashMap<u32, Vec<u32>>,
    /// Tables this statement changed that have user triggers, by display name.
    pub triggered: Vec<String>,
    /// Mismatches between what pgward saw and what the server counted.
    pub warnings: Vec<String>,
    /// The captured rows are every row of the target's tree the server counted as
    /// changed by this statement, on all three counters: the images explain the
    /// statement's counts there.
    pub capture_exact: bool,
    /// For a statement with data-modifying WITH: each table it writes, with its images
    /// when they were captured ([`Plan::parts`]).
    pub parts: Vec<Part>,
}

/// Per-table differences `now - before`, keeping tables that changed.
pub fn difference(now: &[TableCounts], before: &[TableCounts]) -> Vec<TableCounts> {
    let old: HashMap<u32, &TableCounts> = before.iter().map(|c| (c.relid, c)).collect();
    now.iter()
        .filter_map(|c| {
            let (i, u, d) = old
                .get(&c.relid)
                .map(|o| (o.inserted, o.updated, o.deleted))
                .unwrap_or((0, 0, 0));
            let delta = TableCounts {
                relid: c.relid,
                table: c.table.clone(),
                inserted: c.inserted - i,
                updated: c.updated - u,
                deleted: c.deleted - d,
            };
            (delta.inserted != 0 || delta.updated != 0 || delta.deleted != 0).then_some(delta)
        })
        .collect()
}

/// Builds the report once the statement ran: `now`, the counts since the baseline read
/// right after it (with the probe, in one statement: [`counts::since_sql`]), compared
/// with `previous` (the cumulative counts before this statement). Returns the report
/// and the new cumulative counts.
#[allow(clippy::too_many_arguments)]
pub async fn after(
    client: &Client,
    plan: Plan,
    rows: Option<u64>,
    images: Option<Images>,
    counts_only: Option<String>,
    now: Vec<TableCounts>,
    previous: &[TableCounts],
) -> Result<(Report, Vec<TableCounts>), super::PreviewError> {
    let delta = difference(&now, previous);
    let mut plan = plan;
    let parts = std::mem::take(&mut plan.parts);
    let mut report = Report {
        parts,
        plan,
        rows,
        images,
        counts_only,
        delta,
        upper_bound: None,
        ddl: None,
        tree: Vec::new(),
        cascade_trees: HashMap::new(),
        triggered: Vec::new(),
        warnings: Vec::new(),
        capture_exact: false,
    };
    let relids: Vec<u32> = report
        .plan
        .storage
        .as_ref()
        .map(|before| before.keys().copied().collect())
        .unwrap_or_default();
    let changed: Vec<u32> = report.delta.iter().map(|c| c.relid).collect();
    let target = report.plan.target.as_ref().map(|t| t.relid);
    // The target's tree, the triggers of what changed, which tables still exist and
    // their storage, the locks held and the catalog rows changed: one statement.
    let facts = after_facts(client, target, &changed, &relids).await?;
    report.tree = facts.tree;
    report.triggered = facts.triggered;
    if let Some(before) = &report.plan.storage {
        let (present, after) = (facts.present, facts.storage);
        let (locks_now, catalog_now) = facts.locks;
        let mut rewritten = Vec::new();
        for relid in ddl::rewritten(before, &after) {
            match Relation::by_oid(client, relid).await {
                Ok(r) => rewritten.push(r.display()),
                Err(_) => {
                    if let Some(name) = report.plan.names_before.get(&relid) {
                        rewritten.push(name.clone());
                    }
                }
            }
        }
        let mut dropped: Vec<String> = gone(&present, &relids)
            .iter()
            .map(|relid| {
                report
                    .plan
                    .names_before
                    .get(relid)
                    .cloned()
                    .unwrap_or_else(|| format!("table with oid {relid}"))
            })
            .collect();
        dropped.sort();
        let locks_now = ddl::strongest(&locks_now);
        let before_locks = ddl::strongest(&report.plan.locks_before);
        let raised = locks_now
            .into_iter()
            .filter(|l| !before_locks.contains(l))
            .collect();
        let catalog_changed = catalog_now != report.plan.catalog_before;
        report.ddl = Some(DdlFacts {
            locks: raised,
            rewritten,
            dropped,
            catalog_changed,
        });
    }
    if let Some(Ok(effects)) = &report.plan.cascade {
        let mut relids: Vec<u32> = effects.iter().map(|e| e.relid).collect();
        relids.sort_unstable();
        relids.dedup();
        for relid in relids {
            let leaves = partition_tree(client, relid).await?;
            report.cascade_trees.insert(relid, leaves);
        }
    }
    report.upper_bound = undone_inside(client, &report).await?;
    report.check();
    Ok((report, now))
}

/// The target and its partitions and inheritance children, at any depth.
pub async fn tree(client: &Client, relid: u32) -> Result<Vec<u32>, super::PreviewError> {
    let rows = client
        .query(
            "WITH RECURSIVE down(relid) AS ( \
                 SELECT $1::pg_catalog.oid \
                 UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
                 JOIN down ON i.inhparent OPERATOR(pg_catalog.=) down.relid) \
             SELECT relid FROM down",
            &[&relid],
        )
        .await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(super::PreviewError::from))
        .collect()
}

/// The table and, when it is partitioned, its partitions at any depth (not the
/// inheritance children of a plain table, which its foreign keys never reach).
async fn partition_tree(client: &Client, relid: u32) -> Result<Vec<u32>, super::PreviewError> {
    let rows = client
        .query(
            "SELECT $1::pg_catalog.oid UNION \
             SELECT t.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid) t",
            &[&relid],
        )
        .await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(super::PreviewError::from))
        .collect()
}

/// What [`after_facts`] reads once a statement ran.
struct AfterFacts {
    /// The target and its partitions and inheritance children (empty without a target).
    tree: Vec<u32>,
    /// The tables that changed (and that tree) with enabled user triggers, by name.
    triggered: Vec<String>,
    /// Which of the relations asked about still exist, and their storage now.
    present: std::collections::HashSet<u32>,
    storage: HashMap<u32, u32>,
    /// The locks held and the catalog rows changed so far.
    locks: (Vec<(String, String)>, i64),
}

/// In one statement: the target `target` and its partitions and inheritance children,
/// at any depth (as [`tree`]); the tables in `changed` and that tree that have enabled
/// user triggers, by display name; which of `relids` still exist, and the storage of
/// each ([`ddl::existing`]); and the locks held and catalog rows changed
/// ([`ddl::LOCKS_AND_CATALOG`]). Oids travel in json as `int8` (json has no oid). A
/// simple query, its oids written out as numbers: the
/// last of a write's statements, it settles the connection
/// ([`crate::conn::Client::unsettled`]).
async fn after_facts(
    client: &Client,
    target: Option<u32>,
    changed: &[u32],
    relids: &[u32],
) -> Result<AfterFacts, super::PreviewError> {
    let oids = |list: &[u32]| {
        let list: Vec<String> = list.iter().map(u32::to_string).collect();
        format!("'{{{}}}'::pg_catalog.oid[]", list.join(","))
    };
    let target = target.map_or("NULL".to_string(), |t| t.to_string());
    // The triggered tables come as rows of their own, their names as text (not json):
    // the byte bridge of a SQL_ASCII database escapes a name's non-UTF-8 bytes in text
    // as it does everywhere, which json could not carry.
    let sql = format!(
        "WITH RECURSIVE down(relid) AS ( \
             SELECT {target}::pg_catalog.oid WHERE {target}::pg_catalog.oid IS NOT NULL \
             UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
             JOIN down ON i.inhparent OPERATOR(pg_catalog.=) down.relid) \
         SELECT 0 AS k, \
                COALESCE((SELECT pg_catalog.jsonb_agg(relid::pg_catalog.int8) FROM down), \
                         '[]')::pg_catalog.text, \
                COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array( \
                                   c.oid::pg_catalog.int8, \
                                   pg_catalog.pg_relation_filenode(c.oid)::pg_catalog.int8)) \
                          FROM pg_catalog.pg_class c \
                          WHERE c.oid OPERATOR(pg_catalog.=) ANY ({relids})), \
                         '[]'::pg_catalog.jsonb)::pg_catalog.text, \
                {locks}, NULL::pg_catalog.text AS s, NULL::pg_catalog.text AS r \
         UNION ALL \
         SELECT 1, NULL, NULL, NULL, NULL, x.s, x.r \
         FROM (SELECT DISTINCT n.nspname::pg_catalog.text AS s, \
                      c.relname::pg_catalog.text AS r \
               FROM pg_catalog.pg_trigger t \
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid \
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
               WHERE (t.tgrelid OPERATOR(pg_catalog.=) ANY ({changed}) \
                      OR t.tgrelid IN (SELECT relid FROM down)) \
                 AND NOT t.tgisinternal \
                 AND t.tgenabled OPERATOR(pg_catalog.<>) 'D') x \
         ORDER BY 1, 6, 7",
        changed = oids(changed),
        relids = oids(relids),
        locks = ddl::LOCKS_AND_CATALOG,
    );
    let messages = client.simple_query(&sql).await?;
    let mut rows = messages.iter().filter_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    let row = rows.next().ok_or_else(|| {
        super::PreviewError::Catalog("the facts after the statement: no row".into())
    })?;
    let missing = |i: usize| {
        super::PreviewError::Catalog(format!("the facts after the statement: no column {i}"))
    };
    let text = |i: usize| -> Result<&str, super::PreviewError> {
        row.try_get(i)?.ok_or_else(|| missing(i))
    };
    let json = |e: serde_json::Error| {
        super::PreviewError::Catalog(format!("the facts after the statement as json: {e}"))
    };
    if text(0)? != "0" {
        return Err(missing(1));
    }
    let tree: Vec<u32> = serde_json::from_str(text(1)?).map_err(json)?;
    let nodes: Vec<(u32, Option<u32>)> = serde_json::from_str(text(2)?).map_err(json)?;
    let catalog: i64 = text(3)?.parse().map_err(|e| {
        super::PreviewError::Catalog(format!("the catalog rows changed could not be read ({e})"))
    })?;
    let locks = ddl::locks_and_catalog_of(catalog, text(4)?)?;
    let mut names = Vec::new();
    for r in rows {
        match (r.try_get(5)?, r.try_get(6)?) {
            (Some(schema), Some(name)) => names.push(display_name(schema, name)),
            _ => return Err(missing(6)),
        }
    }
    let (mut present, mut storage) = (std::collections::HashSet::new(), HashMap::new());
    for (relid, node) in nodes {
        present.insert(relid);
        if let Some(node) = node {
            storage.insert(relid, node);
        }
    }
    Ok(AfterFacts {
        tree,
        triggered: names,
        present,
        storage,
        locks,
    })
}

/// Why work undone inside this one statement may still be in its counts: the server
/// counts rows an exception block or a failed subtransaction undid, and nothing outside
/// the statement can tell them apart. Only a PL/pgSQL `EXCEPTION` block or code in
/// another language can undo work inside a statement, so the DO block and the trigger
/// functions that ran (and what they call) are read ([`undo`]); plain DML, foreign-key
/// cascades (the server's own triggers) and bodies without either are exact.
async fn undone_inside(
    client: &Client,
    report: &Report,
) -> Result<Option<String>, super::PreviewError> {
    // An INSERT, UPDATE, DELETE or MERGE sqlparser could not read is still plain DML:
    // the functions it calls (and what they call) are read, not presumed to undo work.
    // pgward found no target for it, so every table it changed is beyond one.
    let dml = matches!(
        super::guard_view::guard_view(&report.plan.text),
        Some((
            WriteKind::Insert | WriteKind::Update | WriteKind::Delete | WriteKind::Merge,
            _
        ))
    );
    if dml && report.plan.kind == WriteKind::Other && report.parts.is_empty() {
        if let Some(why) = partial_undo::statement(client, &report.plan.text).await? {
            return Ok(Some(why));
        }
    }
    if report.plan.kind == WriteKind::Other && report.parts.is_empty() && !dml {
        let why = if is_do_block(&report.plan.text) {
            partial_undo::do_block(client, &report.plan.text).await?
        } else {
            Some(
                "a procedure or function may undo work in an exception block, which the \
                 server still counts"
                    .to_string(),
            )
        };
        if why.is_some() {
            return Ok(why);
        }
    }
    if !report.triggered.is_empty() {
        let mut relids: Vec<u32> = report.delta.iter().map(|c| c.relid).collect();
        relids.extend(&report.tree);
        relids.extend(report.parts.iter().flat_map(|p| p.tree.iter().copied()));
        if let Some(why) = partial_undo::triggers(client, &relids).await? {
            return Ok(Some(format!(
                "triggers on {} ran, and {why}",
                report.triggered.join(", ")
            )));
        }
    }
    let unexplained = report.unexplained();
    // Through a simple view the base table and its foreign keys change: no PL/pgSQL
    // runs (a view's INSTEAD OF triggers are among the triggers above).
    let view = report.plan.target.as_ref().is_some_and(|t| t.kind == "v");
    if unexplained.is_empty() || view {
        return Ok(None);
    }
    // Beyond the target, rows change through triggers (read above) or functions the
    // statement calls: where no rule is involved (a rule's actions are not read), those
    // functions are read too.
    let rules = matches!(report.plan.cascade, Some(Err(_)));
    if !rules {
        let why = partial_undo::statement(client, &report.plan.text).await?;
        let Some(why) = why else {
            return Ok(None);
        };
        return Ok(Some(format!(
            "rows of {} changed beyond the target and the foreign-key effects pgward predicted, and {why}",
            unexplained.join(", ")
        )));
    }
    Ok(Some(format!(
        "rows of {} changed beyond the target and the foreign-key effects pgward predicted, \
         so a function or rule ran, and work it undid in an exception block would still be \
         counted by the server",
        unexplained.join(", ")
    )))
}

/// `text` is a DO block in PL/pgSQL.
fn is_do_block(text: &str) -> bool {
    let Ok(parsed) = pg_query::parse(text, pg_query::ParserOptions::DEFAULT) else {
        return false;
    };
    let [stmt] = parsed.protobuf.stmts.as_slice() else {
        return false;
    };
    let Some(pg_query::NodeEnum::DoStmt(d)) = stmt.stmt.as_ref().and_then(|s| s.node.as_ref())
    else {
        return false;
    };
    d.args.iter().all(|arg| match arg.node.as_ref() {
        Some(pg_query::NodeEnum::DefElem(e)) if e.defname == "language" => {
            matches!(
                e.arg.as_ref().and_then(|a| a.node.as_ref()),
                Some(pg_query::NodeEnum::String(s)) if s.sval == "plpgsql"
            )
        }
        _ => true,
    })
}

impl Report {
    /// The image digest this statement contributes to the change digest: its target's,
    /// or for a statement captured part by part one over every part's table and images
    /// ([`part::digest`]); `None` when its rows were not captured.
    pub fn image_digest(&self) -> Option<[u8; 32]> {
        if self.parts.is_empty() {
            return self.images.as_ref().map(|i| i.digest);
        }
        part::digest(&self.parts)
    }

    /// Rows this statement affected, for the thresholds: the command's own count, or
    /// for TRUNCATE the rows the tables held.
    pub fn affected(&self) -> u64 {
        if self.plan.kind == WriteKind::Truncate {
            return self
                .plan
                .truncated
                .iter()
                .map(|(_, n)| (*n).max(0) as u64)
                .sum();
        }
        self.rows.unwrap_or(0).max(self.changed_everywhere())
    }

    /// True when a statement that is not DDL (DO, CALL, …) changed the schema behind
    /// the row counters: it rewrote or truncated a table, dropped one, or took an
    /// ACCESS EXCLUSIVE lock as only schema changes (and LOCK TABLE) do. The session
    /// asks for confirmation then, whatever the row counts say.
    pub fn hidden_schema_change(&self) -> bool {
        self.plan.kind != WriteKind::Ddl
            && self
                .ddl
                .as_ref()
                .is_some_and(|d| !hidden_lines(d, &self.truncated_on_purpose()).is_empty())
    }

    /// Schema and storage changes this statement made, one line each, for the change
    /// set: for DDL its locks, rewrites and drops; for anything else what it did that no
    /// row counter shows.
    pub fn schema_lines(&self) -> Vec<String> {
        let Some(ddl) = &self.ddl else {
            return Vec::new();
        };
        if self.plan.kind != WriteKind::Ddl {
            return hidden_lines(ddl, &self.truncated_on_purpose());
        }
        let mut lines: Vec<String> = ddl
            .locks
            .iter()
            .map(|(relation, mode)| format!("takes {mode} on {relation}"))
            .collect();
        if !ddl.rewritten.is_empty() {
            lines.push(format!("rewrites {}", ddl.rewritten.join(", ")));
        }
        if !ddl.dropped.is_empty() {
            lines.push(format!("drops {}", ddl.dropped.join(", ")));
        }
        lines
    }

    /// The tables a TRUNCATE names: rewriting those is what it says it does.
    fn truncated_on_purpose(&self) -> Vec<String> {
        self.plan.truncated.iter().map(|(t, _)| t.clone()).collect()
    }

    /// Rows changed in every table by this statement, cascades and triggers included,
    /// as the server counted them.
    pub fn changed_everywhere(&self) -> u64 {
        let all: i64 = self
            .delta
            .iter()
            .map(|c| c.inserted.max(0) + c.updated.max(0) + c.deleted.max(0))
            .sum();
        // A row moved across partitions is one row, not a delete and an insert.
        (all - self.moved()).max(0) as u64
    }

    /// What [`Report::affected`] counts, one part per table and operation, with its
    /// cause where known: `3 rows of items updated by the statement`, `3 rows of audit
    /// inserted by a trigger on items`, joined with `, plus `. The statement's own rows
    /// alone are named too (`5 rows of items deleted by the statement`), so the number
    /// asked for always says what it counts. Empty for TRUNCATE (whose number is the
    /// tables' rows) and when the server gave no counts.
    /// The names are display names: the caller's output path escapes them.
    pub fn count_parts(&self) -> String {
        if self.plan.kind == WriteKind::Truncate {
            return String::new();
        }
        let kind = self.plan.kind;
        let own = |relid: u32| {
            self.tree.contains(&relid)
                || self.plan.target.as_ref().is_some_and(|t| t.relid == relid)
                || self.parts.iter().any(|p| p.tree.contains(&relid))
        };
        let moved = self.moved();
        let mut parts = Vec::new();
        for c in &self.delta {
            for (n, op) in [
                (c.inserted, "inserted"),
                (c.updated, "updated"),
                (c.deleted, "deleted"),
            ] {
                if n <= 0 {
                    continue;
                }
                let its_own = match kind {
                    _ if !self.parts.is_empty() => self.parts.iter().any(|p| p.owns(c.relid, op)),
                    WriteKind::Update => op == "updated",
                    WriteKind::Delete => op == "deleted",
                    WriteKind::Insert => op != "deleted",
                    WriteKind::Merge => true,
                    _ => false,
                };
                let cascaded = match &self.plan.cascade {
                    Some(Ok(effects)) => effects.iter().any(|e| {
                        e.relid == c.relid
                            && match e.action {
                                CascadeAction::Delete => op == "deleted",
                                CascadeAction::Update
                                | CascadeAction::SetNull
                                | CascadeAction::SetDefault => op == "updated",
                                CascadeAction::Blocked => false,
                            }
                    }),
                    _ => false,
                };
                let cause = if own(c.relid) && its_own {
                    " by the statement".to_string()
                } else if own(c.relid) && moved > 0 && op != "updated" {
                    " (moved between partitions)".to_string()
                } else if cascaded {
                    " by a foreign-key cascade".to_string()
                } else if !self.triggered.is_empty() {
                    let who = if self.triggered.len() == 1 {
                        "a trigger"
                    } else {
                        "triggers"
                    };
                    format!(" by {who} on {}", self.triggered.join(", "))
                } else if kind == WriteKind::Other {
                    " by the statement".to_string()
                } else {
                    " by a rule or a function the statement called".to_string()
                };
                let s = if n == 1 { "" } else { "s" };
                let first = own(c.relid) && its_own;
                parts.push((
                    !first,
                    format!(
                        "{} row{s} of {} {op}{cause}",
                        diff::thousands(n as u64),
                        c.table
                    ),
                ));
            }
        }
        // The statement's own rows first, then the rest in table order.
        parts.sort_by_key(|(rest, _)| *rest);
        let parts: Vec<String> = parts.into_iter().map(|(_, p)| p).collect();
        let mut out = parts.join(", plus ");
        if moved > 0 {
            out.push_str(&format!(
                ", less {} for rows moved between partitions (each one row, counted as a delete and an insert)",
                diff::thousands(moved as u64)
            ));
        }
        out
    }

    fn counted(&self, relid: u32) -> Option<TableCounts> {
        let tree = self.cascade_trees.get(&relid);
        let mut found: Option<TableCounts> = None;
        for c in self
            .delta
            .iter()
            .filter(|c| c.relid == relid || tree.is_some_and(|t| t.contains(&c.relid)))
        {
            match &mut found {
                Some(f) => {
                    f.inserted += c.inserted;
                    f.updated += c.updated;
                    f.deleted += c.deleted;
                }
                None => found = Some(TableCounts { relid, ..c.clone() }),
            }
        }
        found
    }

    /// The server's counts summed over the target's tree (inserted, updated, deleted).
    fn counted_in_tree(&self) -> (i64, i64, i64) {
        self.delta
            .iter()
            .filter(|c| self.tree.contains(&c.relid))
            .fold((0, 0, 0), |(i, u, d), c| {
                (i + c.inserted, u + c.updated, d + c.deleted)
            })
    }

    /// Rows an UPDATE moved to another partition: the server counts each as a delete
    /// in one partition and an insert in another, the statement as one update.
    fn moved(&self) -> i64 {
        // One table alone moves no row: a delete and an insert there are a trigger's.
        if self.plan.kind != WriteKind::Update || self.tree.len() < 2 {
            return 0;
        }
        let (i, _, d) = self.counted_in_tree();
        i.min(d).max(0)
    }

    /// Tables outside the target's tree that changed and that the foreign-key
    /// prediction does not account for, by display name. Empty when nothing was
    /// predicted (the counts then speak alone).
    fn unexplained(&self) -> Vec<String> {
        let target = match (&self.plan.target, self.parts.first()) {
            (Some(target), _) => target.relid,
            (None, Some(_)) => 0,
            (None, None) => return Vec::new(),
        };
        let mut explained: Vec<u32> = match &self.plan.cascade {
            Some(Ok(effects)) => effects.iter().map(|e| e.relid).collect(),
            _ => Vec::new(),
        };
        explained.extend(self.cascade_trees.values().flatten());
        self.delta
            .iter()
            .filter(|c| {
                c.relid != target
                    && !self.tree.contains(&c.relid)
                    && !self.parts.iter().any(|p| p.tree.contains(&c.relid))
                    && !explained.contains(&c.relid)
            })
            .map(|c| c.table.clone())
            .collect()
    }

    /// Compares what pgward saw with what the server counted.
    fn check(&mut self) {
        for part in &mut self.parts {
            let lines = part.check(&self.delta);
            self.warnings.extend(lines);
        }
        if let (Some(images), Some(target)) = (&self.images, &self.plan.target) {
            // Summed over partitions and children, where the server counts the rows.
            let (i, u, d) = self.counted_in_tree();
            let server = match self.plan.kind {
                WriteKind::Update => u + self.moved(),
                WriteKind::Delete => d,
                WriteKind::Insert => i + u,
                WriteKind::Merge => i + u + d,
                _ => images.total as i64,
            };
            // Foreign keys of the table on itself (a self-reference) change its rows
            // too: the cascade line says so, and the session reads those rows.
            let cascades_here = matches!(
                &self.plan.cascade,
                Some(Ok(effects)) if effects.iter().any(|e| e.action != CascadeAction::Blocked
                    && (e.relid == target.relid || self.tree.contains(&e.relid)))
            );
            if server != images.total as i64 && !cascades_here {
                self.warnings.push(format!(
                    "the capture saw {} rows of {} but the server counted {server}: a trigger or rule changed rows of the same table",
                    images.total,
                    target.display()
                ));
            }
            // All three counters of the target: a trigger that deletes the row its
            // UPDATE just changed shows only in the other two.
            let moved = self.moved();
            let (other, what) = match self.plan.kind {
                WriteKind::Update => (i - moved + d - moved, "inserted or deleted"),
                WriteKind::Delete => (i + u, "inserted or updated"),
                WriteKind::Insert => (d, "deleted"),
                _ => (0, ""),
            };
            if other > 0 && !cascades_here {
                self.warnings.push(format!(
                    "the server also counted {other} rows of {} {what}, which this {} does not do itself: a trigger or rule did",
                    target.display(),
                    self.plan.kind.verb()
                ));
            }
            self.capture_exact = server == images.total as i64 && other <= 0;
        }
        if let Some(Ok(effects)) = &self.plan.cascade {
            let mut predicted: HashMap<(u32, bool), i64> = HashMap::new();
            for e in effects {
                match e.action {
                    CascadeAction::Delete => {
                        *predicted.entry((e.relid, true)).or_default() += e.rows
                    }
                    CascadeAction::Update | CascadeAction::SetNull | CascadeAction::SetDefault => {
                        *predicted.entry((e.relid, false)).or_default() += e.rows
                    }
                    CascadeAction::Blocked => {}
                }
            }
            let mut lines = Vec::new();
            for ((relid, deletes), rows) in predicted {
                let name = effects
                    .iter()
                    .find(|e| e.relid == relid)
                    .map(|e| e.table.clone())
                    .unwrap_or_default();
                let mut counted = self
                    .counted(relid)
                    .map(|c| if deletes { c.deleted } else { c.updated })
                    .unwrap_or(0);
                // A key of the target on itself: the server counts the statement's
                // own rows there too.
                let own = self.plan.target.as_ref().is_some_and(|t| t.relid == relid)
                    || self.tree.contains(&relid);
                let own_kind = if deletes {
                    WriteKind::Delete
                } else {
                    WriteKind::Update
                };
                if own && self.plan.kind == own_kind {
                    counted -= self.rows.unwrap_or(0) as i64;
                }
                if counted > rows {
                    let cause = if self.triggered.is_empty() {
                        "a function of the statement did more".to_string()
                    } else {
                        format!("triggers on {} did more", self.triggered.join(", "))
                    };
                    lines.push(format!(
                        "foreign keys explain {rows} {} in {name}, but the server counted {counted}: {cause}",
                        if deletes { "deletes" } else { "updates" },
                    ));
                } else if counted < rows {
                    let skipped = self.triggered.iter().any(|t| {
                        t == &name || self.plan.target.as_ref().is_some_and(|g| &g.display() == t)
                    });
                    match (self.plan.kind, skipped) {
                        // A cascade fires only where a key value really changed: fewer is
                        // expected, and the foreign-key line shows the server's count.
                        (WriteKind::Update, false) => {}
                        (_, true) => lines.push(format!(
                            "foreign keys explain {rows} {} in {name}, but the server counted {counted}: a BEFORE trigger on {} skipped rows{}",
                            if deletes { "deletes" } else { "updates" },
                            self.triggered.join(", "),
                            if self.plan.kind == WriteKind::Update {
                                ", or key values did not change"
                            } else {
                                ""
                            }
                        )),
                        (_, false) => lines.push(format!(
                            "foreign keys explain {rows} {} in {name}, but the server counted {counted}: fewer rows were reached than predicted",
                            if deletes { "deletes" } else { "updates" },
                        )),
                    }
                }
            }
            lines.sort();
            self.warnings.extend(lines);
            // Never a foreign-key sentence the server's counts contradict: where one is
            // printed, every other table that changed is named, with what changed it.
            let unexplained = self.unexplained();
            let sentence = !effects.is_empty() || self.plan.kind == WriteKind::Delete;
            if sentence && !unexplained.is_empty() {
                let cause = if self.triggered.is_empty() {
                    "no foreign key reaches it, so a rule or a function of the statement changed it"
                        .to_string()
                } else {
                    format!("triggers on {} ran", self.triggered.join(", "))
                };
                self.warnings.push(format!(
                    "rows of {} changed, which the foreign-key prediction does not explain: {cause}",
                    unexplained.join(", ")
                ));
            }
        }
    }

    /// The preview as the person at the screen reads it.
    /// Names and messages from the server are escaped to one line each; colour is
    /// applied at the screen.
    pub fn render(&self, all_columns: bool) -> Text {
        self.render_with(all_columns, "")
    }

    /// As [`Report::render`], NULL shown in the diff as `null` says (psql's `\pset null`;
    /// empty for the word NULL).
    pub fn render_with(&self, all_columns: bool, null: &str) -> Text {
        let mut out = String::new();
        let mut text = Text::new();
        let target = self.plan.target.as_ref().map(Relation::display);
        let captured: Vec<&Part> = self.parts.iter().filter(|p| p.images.is_some()).collect();
        if let (Some(images), Some(table)) = (&self.images, &target) {
            let look = diff::Look {
                all_columns,
                null,
                right_aligned: &self.plan.right_aligned,
            };
            text.append(diff::render_with(table, images, &self.plan.key, &look));
        } else if !captured.is_empty() {
            for part in captured {
                let Some(images) = &part.images else {
                    continue;
                };
                let look = diff::Look {
                    all_columns,
                    null,
                    right_aligned: &part.right_aligned,
                };
                text.push(format!("{}:\n", one_line(&part.label)));
                text.append(diff::render_with(
                    &part.target.display(),
                    images,
                    &part.key,
                    &look,
                ));
            }
        } else if let Some(reason) = &self.counts_only {
            if self.plan.kind != WriteKind::Ddl && self.plan.kind != WriteKind::Truncate {
                out.push_str(&format!(
                    "{}: {}\n",
                    self.plan.kind.verb(),
                    one_line(reason)
                ));
            }
        }
        for (table, rows) in &self.plan.truncated {
            let about = if self
                .plan
                .estimated
                .iter()
                .any(|e| e.starts_with(&format!("{table}: ")))
            {
                "about "
            } else {
                ""
            };
            out.push_str(&format!(
                "TRUNCATE {}: removes all {about}{rows} rows it held (TRUNCATE shows in no row counter)\n",
                one_line(table)
            ));
        }
        for why in &self.plan.estimated {
            out.push_str(&format!("NOTE: estimated: {}\n", one_line(why)));
        }
        match (&self.plan.cascade, &target) {
            (Some(Ok(effects)), Some(table))
                if !effects.is_empty() || self.plan.kind == WriteKind::Delete =>
            {
                let root = self.rows.unwrap_or(0) as i64;
                let line = if self.plan.kind == WriteKind::Update {
                    // The UPDATE already ran without failing: a key that blocks only
                    // when its value really changes did not block (a no-op key update),
                    // so no failure is predicted after the fact.
                    // And a cascade happens only where a key value changed: where the
                    // server counted fewer updates than predicted, its count is the truth.
                    let ran: Vec<CascadeEffect> = effects
                        .iter()
                        .filter(|e| e.action != CascadeAction::Blocked)
                        .map(|e| {
                            let counted = self.counted(e.relid).map_or(0, |c| c.updated);
                            CascadeEffect {
                                rows: e.rows.min(counted),
                                ..e.clone()
                            }
                        })
                        .collect();
                    cascade::update_summary(table, root, &ran)
                } else {
                    // The DELETE ran: where the server counted fewer rows than predicted
                    // (a BEFORE trigger skipped some), its count is the truth.
                    let ran: Vec<CascadeEffect> = effects
                        .iter()
                        .map(|e| {
                            let counted = self.counted(e.relid).map_or(0, |c| match e.action {
                                CascadeAction::Delete => c.deleted,
                                _ => c.updated,
                            });
                            CascadeEffect {
                                rows: if e.action == CascadeAction::Blocked {
                                    e.rows
                                } else {
                                    e.rows.min(counted)
                                },
                                ..e.clone()
                            }
                        })
                        .collect();
                    cascade::summary(table, root, &ran)
                };
                out.push_str(&format!("Foreign keys: {}\n", one_line(&line)));
            }
            (Some(Err(why)), _) => {
                out.push_str(&format!("Foreign keys: {}\n", one_line(&why.to_string())))
            }
            _ => {}
        }
        match (&self.ddl, self.plan.kind) {
            (Some(ddl), WriteKind::Ddl) => render_ddl(&mut out, ddl),
            (Some(ddl), _) => {
                let lines = hidden_lines(ddl, &self.truncated_on_purpose());
                text.push(std::mem::take(&mut out));
                for line in &lines {
                    let line = format!("{}: {}", self.plan.kind.verb(), one_line(line));
                    text.push_painted(line, Paint::Warn).push("\n");
                }
            }
            _ => {}
        }
        if !self.delta.is_empty() {
            out.push_str(&format!(
                "Rows changed by this statement, per table (from the server{}):\n",
                if self.upper_bound.is_some() {
                    "; upper bounds"
                } else {
                    ""
                }
            ));
            out.push_str(&counts_table(&self.delta));
            if let Some(why) = &self.upper_bound {
                out.push_str(&format!(
                    "NOTE: these counts are upper bounds: {}\n",
                    one_line(why)
                ));
            }
        }
        text.push(out);
        for w in &self.warnings {
            text.push_painted(format!("WARNING: {}", one_line(w)), Paint::Warn)
                .push("\n");
        }
        for n in &self.plan.notes {
            text.push(format!("NOTE: {}\n", one_line(n)));
        }
        text
    }
}

/// The DDL lines: the locks taken, whether a table was rewritten, which were dropped.
fn render_ddl(out: &mut String, ddl: &DdlFacts) {
    if ddl.locks.is_empty() {
        out.push_str("DDL: takes no new table lock\n");
    }
    for (relation, mode) in &ddl.locks {
        out.push_str(&format!("DDL: takes {mode} on {}\n", one_line(relation)));
    }
    if ddl.rewritten.is_empty() {
        out.push_str("DDL: rewrites no table\n");
    } else {
        out.push_str(&format!(
            "DDL: rewrites {}\n",
            one_line(&ddl.rewritten.join(", "))
        ));
    }
    if !ddl.dropped.is_empty() {
        out.push_str(&format!(
            "DDL: drops {}\n",
            one_line(&ddl.dropped.join(", "))
        ));
    }
}

/// What a statement that is not DDL (DO, CALL, …) did to the schema behind the row
/// counters: tables rewritten or truncated, tables dropped, and ACCESS EXCLUSIVE locks
/// on other tables, which no row change takes but ALTER TABLE (a dropped or retyped
/// column) does. Empty when it did none of that.
fn hidden_lines(ddl: &DdlFacts, expected: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let rewritten: Vec<&str> = ddl
        .rewritten
        .iter()
        .filter(|t| !expected.contains(t))
        .map(String::as_str)
        .collect();
    if !rewritten.is_empty() {
        lines.push(format!(
            "rewrites or truncates: {} (a TRUNCATE shows in no row counter)",
            rewritten.join(", ")
        ));
    }
    if !ddl.dropped.is_empty() {
        lines.push(format!("drops: {}", ddl.dropped.join(", ")));
    }
    if ddl.catalog_changed {
        lines.push(
            "changes the system catalogs (a function, trigger, column or large object): a schema change no row counter shows"
                .into(),
        );
    }
    let exclusive = LockMode::AccessExclusive.sql_name();
    let locked: Vec<&str> = ddl
        .locks
        .iter()
        .filter(|(relation, mode)| {
            mode == exclusive && !ddl.rewritten.contains(relation) && !expected.contains(relation)
        })
        .map(|(relation, _)| relation.as_str())
        .collect();
    if !locked.is_empty() {
        lines.push(format!(
            "takes {exclusive} on {}, as a schema change does",
            locked.join(", ")
        ));
    }
    lines
}

/// A psql-like table of per-table counts, without the row-count footer.
pub fn counts_table(counts: &[TableCounts]) -> String {
    let columns = [
        Column {
            name: "table".into(),
            numeric: false,
        },
        Column {
            name: "inserted".into(),
            numeric: true,
        },
        Column {
            name: "updated".into(),
            numeric: true,
        },
        Column {
            name: "deleted".into(),
            numeric: true,
        },
    ];
    let rows: Vec<Vec<Option<String>>> = counts
        .iter()
        .map(|c| {
            vec![
                // A name stays on its line, unlike a value.
                Some(one_line(&c.table)),
                Some(c.inserted.to_string()),
                Some(c.updated.to_string()),
                Some(c.deleted.to_string()),
            ]
        })
        .collect();
    let rendered = table::render(&columns, &rows);
    let mut lines: Vec<&str> = rendered.lines().collect();
    lines.pop();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(relid: u32, i: i64, u: i64, d: i64) -> TableCounts {
        TableCounts {
            relid,
            table: format!("t{relid}"),
            inserted: i,
            updated: u,
            deleted: d,
        }
    }

    #[test]
    fn difference_keeps_changed_tables_only() {
        let before = [tc(1, 1, 0, 0), tc(2, 0, 5, 0)];
        let now = [tc(1, 1, 0, 0), tc(2, 0, 7, 1), tc(3, 2, 0, 0)];
        assert_eq!(
            difference(&now, &before),
            vec![tc(2, 0, 2, 1), tc(3, 2, 0, 0)]
        );
    }

    #[test]
    fn only_as_postgresql_reads_it() {
        assert!(writes_only("DELETE FROM ONLY t WHERE id = 1"));
        assert!(writes_only("update only s.t set a = 1"));
        assert!(!writes_only("DELETE FROM t"));
        assert!(!writes_only("DELETE FROM \"only\" t"));
        assert!(!writes_only("not sql"));
    }

    #[test]
    fn standalone_where() {
        let s = |t: &str| parse(t).map(|s| where_is_standalone(&s));
        assert_eq!(s("delete from t where id = 1"), Some(true));
        assert_eq!(s("delete from t as x where x.id = 1"), Some(false));
        assert_eq!(s("delete from t using u where t.id = u.id"), Some(false));
        assert_eq!(s("update t set a = 1 where id = 2"), Some(true));
        assert_eq!(
            s("update t set a = 1 from u where t.id = u.id"),
            Some(false)
        );
    }

    fn report(kind: WriteKind, ddl: Option<DdlFacts>) -> Report {
        Report {
            plan: Plan {
                text: "DO $$ BEGIN END $$".into(),
                kind,
                target: None,
                where_shape: WhereShape::NotApplicable,
                unbounded_part: None,
                guard_kind: kind,
                capture: Capture::CountsOnly {
                    reason: "counts only".into(),
                },
                key: RowKey::Ctid,
                columns: Vec::new(),
                right_aligned: Vec::new(),
                cascade: None,
                truncated: Vec::new(),
                estimated: Vec::new(),
                storage: None,
                names_before: HashMap::new(),
                catalog_before: 0,
                locks_before: Vec::new(),
                notes: Vec::new(),
                tid_join: false,
                capture_checked: false,
                old_values: None,
                new_fields: None,
                compared: None,
                parts: Vec::new(),
            },
            rows: None,
            images: None,
            counts_only: Some("counts only".into()),
            delta: Vec::new(),
            upper_bound: None,
            ddl,
            tree: Vec::new(),
            cascade_trees: HashMap::new(),
            triggered: Vec::new(),
            warnings: Vec::new(),
            capture_exact: false,
            parts: Vec::new(),
        }
    }

    #[test]
    fn count_parts_name_each_table_operation_and_cause() {
        let mut r = report(WriteKind::Update, None);
        r.plan.kind = WriteKind::Update;
        r.tree = vec![1];
        r.rows = Some(4994);
        r.delta = vec![tc(1, 0, 4994, 0), tc(2, 4994, 0, 0)];
        r.triggered = vec!["t1".into()];
        assert_eq!(r.affected(), 9988);
        assert_eq!(
            r.count_parts(),
            "4,994 rows of t1 updated by the statement, plus 4,994 rows of t2 inserted by a trigger on t1"
        );
        // Without a trigger, and with a foreign-key cascade predicted for t3.
        r.triggered.clear();
        r.delta.push(tc(3, 0, 0, 1));
        r.plan.cascade = Some(Ok(vec![CascadeEffect {
            table: "t3".into(),
            relid: 3,
            action: CascadeAction::Delete,
            rows: 1,
            depth: 1,
            via: "fk".into(),
            columns: Vec::new(),
            incomplete: false,
        }]));
        assert_eq!(
            r.count_parts(),
            "4,994 rows of t1 updated by the statement, plus 4,994 rows of t2 inserted by a rule or a function the statement called, plus 1 row of t3 deleted by a foreign-key cascade"
        );
        // The statement's own rows alone are named too.
        r.delta = vec![tc(1, 0, 4994, 0)];
        assert_eq!(r.count_parts(), "4,994 rows of t1 updated by the statement");
        r.delta.clear();
        assert_eq!(r.count_parts(), "", "no counts, nothing to name");
    }

    #[test]
    fn count_parts_count_a_moved_row_once() {
        let mut r = report(WriteKind::Update, None);
        r.plan.kind = WriteKind::Update;
        r.tree = vec![1, 2, 3];
        r.rows = Some(2);
        // One row updated in place, one moved from partition 2 to 3, and a trigger's
        // audit row in table 4.
        r.delta = vec![tc(2, 0, 1, 1), tc(3, 1, 0, 0), tc(4, 2, 0, 0)];
        r.triggered = vec!["t2".into(), "t3".into()];
        assert_eq!(r.affected(), 4);
        assert_eq!(
            r.count_parts(),
            "1 row of t2 updated by the statement, plus 1 row of t2 deleted (moved between partitions), \
             plus 1 row of t3 inserted (moved between partitions), plus 2 rows of t4 inserted by triggers on t2, t3, \
             less 1 for rows moved between partitions (each one row, counted as a delete and an insert)"
        );
    }

    fn facts(locks: &[(&str, &str)], rewritten: &[&str], dropped: &[&str]) -> DdlFacts {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        DdlFacts {
            locks: locks
                .iter()
                .map(|(r, m)| (r.to_string(), m.to_string()))
                .collect(),
            rewritten: owned(rewritten),
            dropped: owned(dropped),
            catalog_changed: false,
        }
    }

    #[test]
    fn other_statements_report_hidden_schema_changes() {
        let quiet = report(
            WriteKind::Other,
            Some(facts(&[("t", "ROW EXCLUSIVE")], &[], &[])),
        );
        assert!(!quiet.hidden_schema_change());
        assert_eq!(quiet.render(false).to_string(), "statement: counts only\n");
        assert!(!report(WriteKind::Other, None).hidden_schema_change());

        let truncating = report(
            WriteKind::Other,
            Some(facts(&[("t", "ACCESS EXCLUSIVE")], &["t"], &[])),
        );
        assert!(truncating.hidden_schema_change());
        assert_eq!(
            truncating.render(false).to_string(),
            "statement: counts only\n\
             statement: rewrites or truncates: t (a TRUNCATE shows in no row counter)\n"
        );

        let dropping = report(WriteKind::Other, Some(facts(&[], &[], &["a", "s.b"])));
        assert!(dropping.hidden_schema_change());
        assert!(dropping
            .render(false)
            .to_string()
            .contains("statement: drops: a, s.b\n"));

        let altering = report(
            WriteKind::Other,
            Some(facts(&[("u", "ACCESS EXCLUSIVE")], &[], &[])),
        );
        assert!(altering.hidden_schema_change());
        assert!(altering
            .render(false)
            .to_string()
            .contains("statement: takes ACCESS EXCLUSIVE on u, as a schema change does\n"));
    }

    #[test]
    fn ddl_wording_is_unchanged_and_names_dropped_tables() {
        let ddl = report(
            WriteKind::Ddl,
            Some(facts(&[("t", "ACCESS EXCLUSIVE")], &["t"], &[])),
        );
        assert!(!ddl.hidden_schema_change());
        assert_eq!(
            ddl.render(false).to_string(),
            "DDL: takes ACCESS EXCLUSIVE on t\nDDL: rewrites t\n"
        );
        let ddl = report(WriteKind::Ddl, Some(facts(&[], &[], &["t"])));
        assert_eq!(
            ddl.render(false).to_string(),
            "DDL: takes no new table lock\nDDL: rewrites no table\nDDL: drops t\n"
        );
    }
}

/// DO blocks and procedures against a real server: what they do to tables behind the
/// row counters is measured as for DDL.
#[cfg(test)]
mod server_tests {
    use super::*;
    use crate::preview::counts;
    use crate::preview::testdb::fresh;

    /// Plans `sql`, runs it, and builds the report, in one transaction left open.
    async fn run(client: &Client, sql: &str) -> Report {
        client.batch_execute("BEGIN").await.expect("begin");
        let baseline = counts::baseline(client).await.expect("baseline");
        let previous = counts::since(client, &baseline).await.expect("counts");
        let plan = plan(client, sql, &PlanContext::default())
            .await
            .expect("plan");
        client.batch_execute(PLAN_END).await.expect("plan end");
        assert_eq!(plan.kind, WriteKind::Other);
        client.batch_execute(sql).await.expect("run");
        let now = counts::since(client, &baseline).await.expect("counts");
        let (report, _) = after(client, plan, None, None, None, now, &previous)
            .await
            .expect("after");
        report
    }

    #[tokio::test]
    async fn do_and_call_cannot_truncate_or_drop_unseen() {
        let client = fresh(
            "stmt_hidden",
            "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);
             CREATE SCHEMA s; CREATE TABLE s.gone (x int); CREATE TABLE kept (y int);
             CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN DROP TABLE s.gone; END $$;",
        )
        .await;

        let report = run(&client, "DO $$ BEGIN EXECUTE 'TRUNC' || 'ATE t'; END $$").await;
        let ddl = report.ddl.as_ref().expect("measured");
        assert_eq!(ddl.rewritten, ["t"]);
        assert!(ddl.dropped.is_empty());
        assert!(report.hidden_schema_change());
        assert!(report
            .render(false)
            .to_string()
            .contains("statement: rewrites or truncates: t"));
        client.batch_execute("ROLLBACK").await.expect("rollback");

        let report = run(&client, "CALL p()").await;
        let ddl = report.ddl.as_ref().expect("measured");
        assert_eq!(ddl.dropped, ["s.gone"]);
        assert!(ddl.rewritten.is_empty());
        assert!(report.hidden_schema_change());
        assert!(report
            .render(false)
            .to_string()
            .contains("statement: drops: s.gone\n"));
        client.batch_execute("ROLLBACK").await.expect("rollback");

        let report = run(
            &client,
            "DO $$ BEGIN EXECUTE 'ALTER TABLE kept DROP COLUMN y'; END $$",
        )
        .await;
        assert!(report.hidden_schema_change());
        client.batch_execute("ROLLBACK").await.expect("rollback");

        let report = run(&client, "DO $$ BEGIN UPDATE t SET id = id + 10; END $$").await;
        assert!(!report.hidden_schema_change(), "{:?}", report.ddl);
        assert!(report.ddl.as_ref().is_some_and(|d| d.rewritten.is_empty()));
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }
}
