//! The cascade collector: which rows of which tables a DELETE (or an UPDATE of a
//! referenced key) will remove or change through foreign keys, counted before the
//! statement runs.
//!
//! The walk follows `pg_constraint` from the target table to the tables that
//! reference it: ON DELETE / ON UPDATE CASCADE, SET NULL and SET DEFAULT go on to the
//! next level, NO ACTION and RESTRICT stop the walk and are reported as blocking when
//! rows still reference a removed key. Each path is a nested condition "the child
//! row's key equals the key of a parent row matching …" (see [`reaches`]) ending in
//! the user's WHERE clause, so multi-column keys work, and the counts are exact for
//! the snapshot the statement will see.
//!
//! The user's WHERE text is spliced in as written, so it resolves its names,
//! functions and operators exactly as the user's statement will. Everything pgward
//! adds around it is schema-qualified (`pg_catalog.count`, `::pg_catalog.int8`), and
//! key columns are compared with each foreign key's own equality operators from
//! `pg_constraint.conpfeqop`, as the server's foreign-key triggers compare them: a
//! `search_path` with a schema before `pg_catalog` cannot change the counts. Paths that reach the same table with the same
//! action are counted together (a row reached twice counts once), and rows the same
//! statement deletes are not also counted as set to NULL or as blocking.
//!
//! Self-referencing keys (employees.manager_id) and other cycles are bounded: the
//! walk stops at [`MAX_DEPTH`] levels (and [`MAX_PATHS`] paths); when rows remain
//! beyond, every effect is marked `incomplete` and the counts are lower bounds.
//!
//! Limits the caller must know: the WHERE text must refer to the target table by its
//! name (not a statement alias) and to no other table (no `USING`/`FROM`); counting
//! needs SELECT on every table reached (a missing privilege is SQLSTATE 42501), and
//! row-level security can hide rows that the cascade (which bypasses it) still
//! changes. For an UPDATE the server only cascades when a key value really changes,
//! which cannot be known before the SET is evaluated: its counts are upper bounds.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use crate::conn::Client;

use super::error::PreviewError;
use super::relation::{quote_ident, Relation};

/// How many foreign-key levels the walk follows before it stops.
pub const MAX_DEPTH: usize = 8;
/// How many paths the walk follows before it stops.
pub const MAX_PATHS: usize = 256;

/// What a foreign key does to the referencing rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CascadeAction {
    /// ON DELETE CASCADE: the rows are deleted.
    Delete,
    /// ON UPDATE CASCADE: the referencing columns take the new key values.
    Update,
    /// SET NULL: the referencing columns are set to NULL.
    SetNull,
    /// SET DEFAULT: the referencing columns are set to their defaults.
    SetDefault,
    /// NO ACTION or RESTRICT with rows still referencing a removed or changed key:
    /// the statement (or, for a deferred constraint, the COMMIT) fails with 23503.
    Blocked,
}

/// What the statement will do, through foreign keys, to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadeEffect {
    /// `schema.table`, the schema omitted when it is `public`.
    pub table: String,
    /// The table's oid.
    pub relid: u32,
    /// What happens to the rows.
    pub action: CascadeAction,
    /// How many distinct rows.
    pub rows: i64,
    /// The fewest foreign-key hops from the target table (1 = references it directly).
    pub depth: usize,
    /// The constraint names the rows are reached through, comma-separated.
    pub via: String,
    /// The referencing columns changed (empty for Delete and Blocked).
    pub columns: Vec<String>,
    /// The walk stopped at [`MAX_DEPTH`] or [`MAX_PATHS`] with rows left to follow:
    /// all counts are lower bounds. Set on every effect of such a prediction.
    pub incomplete: bool,
}

/// What the statement does to the rows of a table on the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Delete,
    /// An update of these columns.
    Update(Vec<String>),
}

/// One foreign key referencing a table.
#[derive(Debug, Clone)]
struct ForeignKey {
    name: String,
    /// The table the key references: the parent itself, one of its partition ancestors
    /// (a key on a partitioned table covers every partition), or one of the partitions
    /// or inheritance children the statement reaches through the parent.
    referenced: u32,
    child: Relation,
    child_cols: Vec<String>,
    parent_cols: Vec<String>,
    on_delete: String,
    on_update: String,
    /// `ON DELETE SET NULL (cols)` (PostgreSQL 15+); empty means all of `child_cols`.
    delete_set_cols: Vec<String>,
    /// For each column pair, the key's own equality operator (`conpfeqop`).
    equality: Vec<KeyEquality>,
}

/// How one referenced column is compared with its referencing column: the very
/// operator the server's foreign-key triggers use (`pg_constraint.conpfeqop`, "PK =
/// FK"), schema-qualified, with casts to the operator's input types where a column's
/// type differs from them (a domain, `varchar` against `text`, …), exactly as the
/// triggers spell it. So neither a `search_path` that puts a schema before
/// `pg_catalog` nor a user-defined `=` can change which rows a path reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyEquality {
    /// `OPERATOR("schema".=)`.
    operator: String,
    /// `::"schema"."type"` for the referenced (left) side, or empty.
    parent_cast: String,
    /// `::"schema"."type"` for the referencing (right) side, or empty.
    child_cast: String,
}

impl KeyEquality {
    /// From the catalog: the operator's schema and name, and for each side the
    /// schema and name of the type to cast to, when a cast is needed.
    fn new(
        fk: &str,
        op_schema: &str,
        op_name: &str,
        parent_cast: Option<(String, String)>,
        child_cast: Option<(String, String)>,
    ) -> Result<KeyEquality, PreviewError> {
        // Operator names consist of these characters only (CREATE OPERATOR); check
        // anyway, as the name is spliced into SQL text unquoted.
        if op_name.is_empty() || !op_name.chars().all(|ch| "+-*/<>=~!@#%^&|`?".contains(ch)) {
            return Err(PreviewError::Catalog(format!(
                "foreign key {fk} has equality operator {op_name:?}"
            )));
        }
        let cast = |ty: Option<(String, String)>| match ty {
            Some((schema, name)) => format!("::{}.{}", quote_ident(&schema), quote_ident(&name)),
            None => String::new(),
        };
        Ok(KeyEquality {
            operator: format!("OPERATOR({}.{op_name})", quote_ident(op_schema)),
            parent_cast: cast(parent_cast),
            child_cast: cast(child_cast),
        })
    }
}

/// A table reached by the walk, with the condition selecting its affected rows.
#[derive(Debug, Clone)]
struct Node {
    relation: Relation,
    predicate: String,
    op: Op,
    depth: usize,
}

/// One way of reaching a table's rows.
#[derive(Debug, Clone)]
struct Path {
    relation: Relation,
    predicate: String,
    action: CascadeAction,
    columns: Vec<String>,
    depth: usize,
    via: String,
}

/// Predicts what `DELETE FROM <relid> [WHERE <where_sql>]` will do through foreign
/// keys: only effects with at least one row, ordered by depth, then table, then action.
pub async fn predict_delete(
    client: &Client,
    relid: u32,
    where_sql: Option<&str>,
) -> Result<Vec<CascadeEffect>, PreviewError> {
    predict(client, relid, Op::Delete, where_sql, false).await
}

/// [`predict_delete`] for `DELETE FROM ONLY <relid>` when `only`: the rows of
/// inheritance children are then not deleted, and their keys not followed.
pub async fn predict_delete_scoped(
    client: &Client,
    relid: u32,
    where_sql: Option<&str>,
    only: bool,
) -> Result<Vec<CascadeEffect>, PreviewError> {
    predict(client, relid, Op::Delete, where_sql, only).await
}

/// Predicts what `UPDATE <relid> SET <set_columns> = … [WHERE <where_sql>]` will do
/// through foreign keys whose referenced columns it sets. `set_columns` are column
/// names as stored (already case-folded). The counts are upper bounds: the server
/// only cascades for rows whose key value actually changes.
pub async fn predict_update(
    client: &Client,
    relid: u32,
    set_columns: &[String],
    where_sql: Option<&str>,
) -> Result<Vec<CascadeEffect>, PreviewError> {
    predict(
        client,
        relid,
        Op::Update(set_columns.to_vec()),
        where_sql,
        false,
    )
    .await
}

/// [`predict_update`] for `UPDATE ONLY <relid>` when `only`.
pub async fn predict_update_scoped(
    client: &Client,
    relid: u32,
    set_columns: &[String],
    where_sql: Option<&str>,
    only: bool,
) -> Result<Vec<CascadeEffect>, PreviewError> {
    predict(
        client,
        relid,
        Op::Update(set_columns.to_vec()),
        where_sql,
        only,
    )
    .await
}

async fn predict(
    client: &Client,
    relid: u32,
    op: Op,
    where_sql: Option<&str>,
    only: bool,
) -> Result<Vec<CascadeEffect>, PreviewError> {
    let root_deletes = op == Op::Delete;
    let (root, root_predicate, (paths, cuts, too_many)) =
        walk_from(client, relid, op, where_sql, only).await?;

    // Group the paths by (table, action), keeping the order of first appearance.
    let mut groups: Vec<Vec<&Path>> = Vec::new();
    for path in &paths {
        match groups.iter_mut().find(|group| {
            group[0].relation.relid == path.relation.relid && group[0].action == path.action
        }) {
            Some(group) => group.push(path),
            None => groups.push(vec![path]),
        }
    }

    // Rows the statement deletes from a table, directly or by cascade: they are not
    // also set to NULL, changed, or left behind to block.
    let deleted = |relation: &Relation, including_cascade: bool| -> Vec<String> {
        let mut preds = Vec::new();
        if root_deletes && relation.relid == root.relid {
            preds.push(root_predicate.clone());
        }
        if including_cascade {
            preds.extend(
                paths
                    .iter()
                    .filter(|p| {
                        p.relation.relid == relation.relid && p.action == CascadeAction::Delete
                    })
                    .map(|p| p.predicate.clone()),
            );
        }
        preds
    };

    let mut effects = Vec::new();
    for group in &groups {
        let first = group[0];
        let wanted: Vec<String> = group.iter().map(|p| p.predicate.clone()).collect();
        let excluded = deleted(&first.relation, first.action != CascadeAction::Delete);
        let rows = count(client, &first.relation, &wanted, &excluded, false).await?;
        if rows == 0 {
            continue;
        }
        let mut via: Vec<&str> = Vec::new();
        let mut columns: Vec<String> = Vec::new();
        for path in group {
            if !via.contains(&path.via.as_str()) {
                via.push(&path.via);
            }
            for col in &path.columns {
                if !columns.contains(col) {
                    columns.push(col.clone());
                }
            }
        }
        effects.push(CascadeEffect {
            table: first.relation.display(),
            relid: first.relation.relid,
            action: first.action,
            rows,
            depth: group.iter().map(|p| p.depth).min().unwrap_or(first.depth),
            via: via.join(", "),
            columns,
            incomplete: false,
        });
    }

    // A path cut at the depth limit matters only if it reaches rows not counted yet.
    let mut incomplete = too_many;
    for cut in &cuts {
        if incomplete {
            break;
        }
        let mut excluded: Vec<String> = paths
            .iter()
            .filter(|p| p.relation.relid == cut.relation.relid && p.action == cut.action)
            .map(|p| p.predicate.clone())
            .collect();
        excluded.extend(deleted(&cut.relation, cut.action != CascadeAction::Delete));
        let predicate = [cut.predicate.clone()];
        incomplete = count(client, &cut.relation, &predicate, &excluded, true).await? > 0;
    }
    for effect in &mut effects {
        effect.incomplete = incomplete;
    }
    effects.sort_by(|a, b| {
        (a.depth, &a.table, a.action, a.relid).cmp(&(b.depth, &b.table, b.action, b.relid))
    });
    Ok(effects)
}

/// The root relation as the statement scans it, its predicate, and the walk from it.
async fn walk_from(
    client: &Client,
    relid: u32,
    op: Op,
    where_sql: Option<&str>,
    only: bool,
) -> Result<(Relation, String, (Vec<Path>, Vec<Path>, bool)), PreviewError> {
    // Bound first: the cache's lock must not be held across the query.
    let cached = client.facts().get::<(Relation, bool)>(ROOT, relid, false);
    let (mut root, children) = match cached {
        Some(root) => root,
        None => {
            let root = Relation::by_oid_with_children(client, relid).await?;
            client.facts().put(ROOT, relid, false, &root);
            root
        }
    };
    if !only && root.kind == "r" && children {
        // The statement reaches the rows of the inheritance children too, and is
        // counted over them: the root is scanned as a partitioned table is.
        root.kind = "p".into();
    }
    let root_predicate = match where_sql {
        Some(text) => format!("({text})"),
        None => "true".to_owned(),
    };
    let walked = walk(client, &root, &root_predicate, op).await?;
    Ok((root, root_predicate, walked))
}

/// What a statement's foreign keys do to the rows of one table, as read before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reached {
    /// ON DELETE CASCADE removes them.
    Deleted,
    /// ON DELETE / ON UPDATE SET NULL, SET DEFAULT or ON UPDATE CASCADE (`action`)
    /// sets `columns` in them.
    Updated {
        /// The foreign-key action.
        action: CascadeAction,
        /// The referencing columns it sets.
        columns: Vec<String>,
    },
}

/// The rows of one table that a statement removes or changes through foreign keys.
#[derive(Debug, Clone)]
pub struct CascadedRows {
    /// The table.
    pub relation: Relation,
    /// The fewest foreign-key hops from the target table.
    pub depth: usize,
    /// The condition on the table's rows (naming it unaliased, as `FROM` the
    /// relation's [`Relation::from_item`] does) that selects exactly them.
    pub condition: String,
    /// What happens to them.
    pub reached: Reached,
}

/// For `DELETE FROM <relid> [WHERE <where_sql>]` (`set_columns` `None`) or `UPDATE
/// <relid> SET <set_columns> … [WHERE <where_sql>]`: the tables whose rows the
/// statement's foreign keys remove or change, each with the condition selecting those
/// rows, by the same walk as [`predict_delete`] and [`predict_update`]. Rows the
/// statement writes itself (a self-reference) are left out: its own capture has them.
/// `Ok(Err(why))` when they cannot all be named so: the walk stopped at its limits
/// with rows left, or one table is changed by more than one kind of action.
pub async fn cascaded_rows(
    client: &Client,
    relid: u32,
    set_columns: Option<&[String]>,
    where_sql: Option<&str>,
    only: bool,
) -> Result<Result<Vec<CascadedRows>, String>, PreviewError> {
    let op = match set_columns {
        None => Op::Delete,
        Some(cols) => Op::Update(cols.to_vec()),
    };
    let root_deletes = op == Op::Delete;
    let (root, root_predicate, (paths, cuts, too_many)) =
        walk_from(client, relid, op, where_sql, only).await?;
    if too_many {
        return Ok(Err(format!(
            "the foreign-key walk stopped at its limit of {MAX_PATHS} paths"
        )));
    }
    let deleted = |relid: u32| -> Vec<String> {
        let mut preds: Vec<String> = paths
            .iter()
            .filter(|p| p.relation.relid == relid && p.action == CascadeAction::Delete)
            .map(|p| p.predicate.clone())
            .collect();
        if root_deletes && relid == root.relid {
            preds.push(root_predicate.clone());
        }
        preds
    };
    // A path cut at the depth limit matters only if it reaches rows not read yet.
    for cut in &cuts {
        let mut excluded: Vec<String> = paths
            .iter()
            .filter(|p| p.relation.relid == cut.relation.relid && p.action == cut.action)
            .map(|p| p.predicate.clone())
            .collect();
        if cut.action != CascadeAction::Delete {
            excluded.extend(deleted(cut.relation.relid));
        } else if root_deletes && cut.relation.relid == root.relid {
            excluded.push(root_predicate.clone());
        }
        let predicate = [cut.predicate.clone()];
        if count(client, &cut.relation, &predicate, &excluded, true).await? > 0 {
            return Ok(Err(format!(
                "the cascade goes on beyond {MAX_DEPTH} foreign-key levels"
            )));
        }
    }
    let mut out: Vec<(CascadedRows, Vec<String>)> = Vec::new();
    for path in paths.iter().filter(|p| p.action != CascadeAction::Blocked) {
        let reached = match path.action {
            CascadeAction::Delete => Reached::Deleted,
            action => Reached::Updated {
                action,
                columns: path.columns.clone(),
            },
        };
        // Removed rows are grouped by depth as well, each row at the fewest hops it
        // is reached by, so each is read once (the undo orders them parents first
        // itself, by their values); changed rows are one group per table.
        let same = |c: &CascadedRows| {
            c.relation.relid == path.relation.relid
                && match (&c.reached, &reached) {
                    (Reached::Deleted, Reached::Deleted) => c.depth == path.depth,
                    (Reached::Updated { .. }, Reached::Updated { .. }) => true,
                    _ => false,
                }
        };
        match out.iter_mut().find(|(c, _)| same(c)) {
            Some((c, wanted)) => {
                if c.reached != reached {
                    return Ok(Err(format!(
                        "{} is changed by more than one kind of foreign-key action",
                        path.relation.display()
                    )));
                }
                c.depth = c.depth.min(path.depth);
                wanted.push(path.predicate.clone());
            }
            None => out.push((
                CascadedRows {
                    relation: path.relation.clone(),
                    depth: path.depth,
                    condition: String::new(),
                    reached,
                },
                vec![path.predicate.clone()],
            )),
        }
    }
    let shallower = |relid: u32, depth: usize| -> Vec<String> {
        out.iter()
            .filter(|(c, _)| {
                c.relation.relid == relid && c.reached == Reached::Deleted && c.depth < depth
            })
            .flat_map(|(_, wanted)| wanted.iter().cloned())
            .collect()
    };
    let excluded_by_depth: Vec<Vec<String>> = out
        .iter()
        .map(|(c, _)| match c.reached {
            Reached::Deleted => shallower(c.relation.relid, c.depth),
            Reached::Updated { .. } => Vec::new(),
        })
        .collect();
    Ok(Ok(out
        .into_iter()
        .zip(excluded_by_depth)
        .map(|((mut c, wanted), shallower)| {
            // Rows the statement writes itself are its own capture's; rows deleted are
            // not also changed, nor read at two depths.
            let mut excluded = match c.reached {
                Reached::Deleted if root_deletes && c.relation.relid == root.relid => {
                    let mut preds = shallower;
                    preds.push(root_predicate.clone());
                    preds
                }
                Reached::Deleted => shallower,
                Reached::Updated { .. } => {
                    let mut preds = deleted(c.relation.relid);
                    if !root_deletes && c.relation.relid == root.relid {
                        preds.push(root_predicate.clone());
                    }
                    preds
                }
            };
            excluded.dedup();
            c.condition = format!("({})", wanted.join(" OR "));
            if !excluded.is_empty() {
                c.condition = format!(
                    "{} AND NOT coalesce(({}), false)",
                    c.condition,
                    excluded.join(" OR ")
                );
            }
            c
        })
        .collect()))
}

/// Follows the foreign keys breadth-first from `root`. Returns the paths within
/// [`MAX_DEPTH`], the paths cut just beyond it, and whether [`MAX_PATHS`] was hit.
async fn walk(
    client: &Client,
    root: &Relation,
    root_predicate: &str,
    op: Op,
) -> Result<(Vec<Path>, Vec<Path>, bool), PreviewError> {
    let mut cache: HashMap<u32, Vec<ForeignKey>> = HashMap::new();
    let mut queue = VecDeque::from([Node {
        relation: root.clone(),
        predicate: root_predicate.to_owned(),
        op,
        depth: 0,
    }]);
    let mut paths = Vec::new();
    let mut cuts = Vec::new();
    while let Some(node) = queue.pop_front() {
        let parent = node.relation.relid;
        if let Entry::Vacant(slot) = cache.entry(parent) {
            let descendants = node.relation.kind == "p";
            let cached = client
                .facts()
                .get::<Vec<ForeignKey>>(REFERENCING, parent, descendants);
            let fks = match cached {
                Some(fks) => fks,
                None => {
                    let fks = referencing(client, parent, descendants).await?;
                    client.facts().put(REFERENCING, parent, descendants, &fks);
                    fks
                }
            };
            slot.insert(fks);
        }
        let fks = cache.get(&parent).map(Vec::as_slice).unwrap_or_default();
        for fk in fks {
            let Some((action, next_op)) = step(fk, &node.op)? else {
                continue;
            };
            let predicate = reaches(fk, &node.relation, &node.predicate);
            let columns = match &next_op {
                Some(Op::Update(cols)) => cols.clone(),
                Some(Op::Delete) | None => Vec::new(),
            };
            let path = Path {
                relation: fk.child.clone(),
                predicate,
                action,
                columns,
                depth: node.depth + 1,
                via: fk.name.clone(),
            };
            if path.depth > MAX_DEPTH {
                cuts.push(path);
                continue;
            }
            if paths.len() >= MAX_PATHS {
                return Ok((paths, cuts, true));
            }
            if let Some(next_op) = next_op {
                queue.push_back(Node {
                    relation: path.relation.clone(),
                    predicate: path.predicate.clone(),
                    op: next_op,
                    depth: path.depth,
                });
            }
            paths.push(path);
        }
    }
    Ok((paths, cuts, false))
}

/// The condition, on the rows of `fk.child`, that they reference a row of `parent`
/// matching `parent_predicate`:
///
/// ```sql
/// EXISTS (SELECT 1 FROM (SELECT "p1", "p2" FROM ONLY parent WHERE <parent_predicate>)
///                       AS pgward_keys (k1, k2)
///         WHERE pgward_keys.k1 OPERATOR(pg_catalog.=) "schema"."child"."c1"
///           AND pgward_keys.k2 OPERATOR(pg_catalog.=) "schema"."child"."c2")
/// ```
///
/// It is true exactly when `("c1", "c2") IN (SELECT "p1", "p2" …)` is, but compares
/// with the key's own equality operators rather than whatever `=` the search path
/// finds. The keys are renamed in a derived table so that a self-reference (the
/// parent and the child are the same table) stays unambiguous, while the parent
/// itself keeps its unaliased name: the user's WHERE text at the root refers to it so.
/// The child's columns are qualified by its schema and name, which is how the
/// enclosing query names it (unaliased, in `count` or in the next level's derived
/// table), and which no `pgward_keys` alias can shadow.
fn reaches(fk: &ForeignKey, parent: &Relation, parent_predicate: &str) -> String {
    let child = fk.child.quoted();
    let keys: Vec<String> = (1..=fk.parent_cols.len())
        .map(|i| format!("k{i}"))
        .collect();
    let matches: Vec<String> = fk
        .equality
        .iter()
        .zip(&keys)
        .zip(&fk.child_cols)
        .map(|((eq, key), col)| {
            format!(
                "pgward_keys.{key}{} {} {child}.{}{}",
                eq.parent_cast,
                eq.operator,
                quote_ident(col),
                eq.child_cast
            )
        })
        .collect();
    // Only the parent's rows that live where the key applies: in the referenced table
    // or, when that is partitioned, in its partitions (a key is not inherited by
    // inheritance children).
    let scope = if fk.referenced == parent.relid && parent.kind != "p" {
        String::new()
    } else {
        format!(
            " AND tableoid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT {r}::pg_catalog.oid \
             UNION SELECT t.relid::pg_catalog.oid \
             FROM pg_catalog.pg_partition_tree({r}::pg_catalog.oid) t))",
            r = fk.referenced
        )
    };
    format!(
        "EXISTS (SELECT 1 FROM (SELECT {} FROM {} WHERE ({}){scope}) AS pgward_keys ({}) WHERE {})",
        column_list(&fk.parent_cols),
        parent.from_item(),
        parent_predicate,
        keys.join(", "),
        matches.join(" AND ")
    )
}

/// What a foreign key does when its parent rows undergo `op`: the action on the
/// child rows and what the walk then does to them (None: the walk stops there).
/// `Ok(None)` when the key is not touched (an update of other columns).
fn step(fk: &ForeignKey, op: &Op) -> Result<Option<(CascadeAction, Option<Op>)>, PreviewError> {
    let (rule, set_cols) = match op {
        Op::Delete => {
            let set_cols = if fk.delete_set_cols.is_empty() {
                fk.child_cols.clone()
            } else {
                fk.delete_set_cols.clone()
            };
            (fk.on_delete.as_str(), set_cols)
        }
        Op::Update(cols) => {
            if !fk.parent_cols.iter().any(|col| cols.contains(col)) {
                return Ok(None);
            }
            (fk.on_update.as_str(), fk.child_cols.clone())
        }
    };
    let outcome = match rule {
        "c" if *op == Op::Delete => (CascadeAction::Delete, Some(Op::Delete)),
        "c" => (CascadeAction::Update, Some(Op::Update(set_cols))),
        "n" => (CascadeAction::SetNull, Some(Op::Update(set_cols))),
        "d" => (CascadeAction::SetDefault, Some(Op::Update(set_cols))),
        "a" | "r" => (CascadeAction::Blocked, None),
        other => {
            return Err(PreviewError::Catalog(format!(
                "foreign key {} has action {other:?}",
                fk.name
            )))
        }
    };
    Ok(Some(outcome))
}

/// The preview's fact cache's keys ([`super::fact_cache`]): the root relation of a walk
/// and whether it has children, and the foreign keys referencing a table.
const ROOT: &str = "cascade root";
const REFERENCING: &str = "referencing";

/// The tables whose foreign keys fire when rows of `parent` change: the parent, its
/// partition ancestors (a key referencing a partitioned table covers its partitions)
/// and, when the rows of its `descendants` change with it, its partitions and
/// inheritance children at any depth (a key may reference one of them directly).
const RELATED: &str = "WITH RECURSIVE down(relid) AS ( \
         SELECT $1::pg_catalog.oid \
         UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
         JOIN down ON i.inhparent OPERATOR(pg_catalog.=) down.relid WHERE $2::pg_catalog.bool), \
     related(relid) AS ( \
         SELECT relid FROM down \
         UNION SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1::pg_catalog.oid) a) ";

/// The foreign keys whose referenced rows change with those of table `parent` (see
/// [`RELATED`]); top-level constraints only, so a key between partitioned tables is
/// counted once, over all partitions, and never again through its clones.
async fn referencing(
    client: &Client,
    parent: u32,
    descendants: bool,
) -> Result<Vec<ForeignKey>, PreviewError> {
    let sql = format!(
        "{RELATED}SELECT c.conname::pg_catalog.text, c.conrelid, n.nspname::pg_catalog.text, \
                    r.relname::pg_catalog.text, r.relkind::pg_catalog.text, \
                    c.confdeltype::pg_catalog.text, c.confupdtype::pg_catalog.text, \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.attnum \
                          ORDER BY k.ord), \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) c.confrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.attnum \
                          ORDER BY k.ord), \
                    ARRAY(SELECT a.attname::pg_catalog.text \
                          FROM pg_catalog.jsonb_array_elements_text( \
                                 CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.to_jsonb(c) \
                                             OPERATOR(pg_catalog.->) 'confdelsetcols') \
                                           OPERATOR(pg_catalog.=) 'array' \
                                      THEN pg_catalog.to_jsonb(c) \
                                             OPERATOR(pg_catalog.->) 'confdelsetcols' \
                                      ELSE '[]'::pg_catalog.jsonb END) \
                               WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_catalog.pg_attribute a \
                            ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid \
                           AND a.attnum OPERATOR(pg_catalog.=) k.attnum::pg_catalog.int2 \
                          ORDER BY k.ord), \
                    c.oid, c.confrelid \
             FROM pg_catalog.pg_constraint c \
             JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) c.conrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace \
             WHERE c.contype OPERATOR(pg_catalog.=) 'f' \
               AND c.confrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT relid FROM related)) \
               AND c.conparentid OPERATOR(pg_catalog.=) 0::pg_catalog.oid \
             ORDER BY c.conname, c.oid"
    );
    let rows = client.query(&sql, &[&parent, &descendants]).await?;
    let mut equality = key_equality(client, parent, descendants).await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            let conoid: u32 = row.try_get(10)?;
            let parent_cols: Vec<String> = row.try_get(8)?;
            let equality = equality.remove(&conoid).unwrap_or_default();
            if equality.len() != parent_cols.len() {
                return Err(PreviewError::Catalog(format!(
                    "foreign key {name} has {} columns but {} equality operators",
                    parent_cols.len(),
                    equality.len()
                )));
            }
            Ok(ForeignKey {
                name,
                referenced: row.try_get(11)?,
                child: Relation {
                    relid: row.try_get(1)?,
                    schema: row.try_get(2)?,
                    name: row.try_get(3)?,
                    kind: row.try_get(4)?,
                },
                on_delete: row.try_get(5)?,
                on_update: row.try_get(6)?,
                child_cols: row.try_get(7)?,
                parent_cols,
                delete_set_cols: row.try_get(9)?,
                equality,
            })
        })
        .collect()
}

/// The equality operators of the foreign keys referencing table `parent`, by
/// constraint oid, in key order (see [`KeyEquality`]). A side is cast to the
/// operator's input type when the column's type differs from it, unless that input
/// type is a pseudo-type (`anyenum`, `anyarray`, …): a polymorphic operator takes
/// the column as it is.
async fn key_equality(
    client: &Client,
    parent: u32,
    descendants: bool,
) -> Result<HashMap<u32, Vec<KeyEquality>>, PreviewError> {
    let sql = format!(
        "{RELATED}SELECT c.oid, c.conname::pg_catalog.text, \
                    ons.nspname::pg_catalog.text, o.oprname::pg_catalog.text, \
                    pa.atttypid OPERATOR(pg_catalog.<>) o.oprleft \
                      AND lt.typtype OPERATOR(pg_catalog.<>) 'p', \
                    ltn.nspname::pg_catalog.text, lt.typname::pg_catalog.text, \
                    fa.atttypid OPERATOR(pg_catalog.<>) o.oprright \
                      AND rt.typtype OPERATOR(pg_catalog.<>) 'p', \
                    rtn.nspname::pg_catalog.text, rt.typname::pg_catalog.text \
             FROM pg_catalog.pg_constraint c \
             CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(c.confkey), \
                                           pg_catalog.unnest(c.conkey), \
                                           pg_catalog.unnest(c.conpfeqop)) \
                  WITH ORDINALITY AS k(pk_att, fk_att, op, ord) \
             JOIN pg_catalog.pg_operator o ON o.oid OPERATOR(pg_catalog.=) k.op \
             JOIN pg_catalog.pg_namespace ons \
               ON ons.oid OPERATOR(pg_catalog.=) o.oprnamespace \
             JOIN pg_catalog.pg_attribute pa \
               ON pa.attrelid OPERATOR(pg_catalog.=) c.confrelid \
              AND pa.attnum OPERATOR(pg_catalog.=) k.pk_att \
             JOIN pg_catalog.pg_attribute fa \
               ON fa.attrelid OPERATOR(pg_catalog.=) c.conrelid \
              AND fa.attnum OPERATOR(pg_catalog.=) k.fk_att \
             JOIN pg_catalog.pg_type lt ON lt.oid OPERATOR(pg_catalog.=) o.oprleft \
             JOIN pg_catalog.pg_namespace ltn \
               ON ltn.oid OPERATOR(pg_catalog.=) lt.typnamespace \
             JOIN pg_catalog.pg_type rt ON rt.oid OPERATOR(pg_catalog.=) o.oprright \
             JOIN pg_catalog.pg_namespace rtn \
               ON rtn.oid OPERATOR(pg_catalog.=) rt.typnamespace \
             WHERE c.contype OPERATOR(pg_catalog.=) 'f' \
               AND c.confrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT relid FROM related)) \
               AND c.conparentid OPERATOR(pg_catalog.=) 0::pg_catalog.oid \
             ORDER BY c.oid, k.ord"
    );
    let rows = client.query(&sql, &[&parent, &descendants]).await?;
    let mut out: HashMap<u32, Vec<KeyEquality>> = HashMap::new();
    for row in &rows {
        let cast = |needed: usize, schema: usize| -> Result<_, PreviewError> {
            Ok(if row.try_get::<_, bool>(needed)? {
                Some((row.try_get(schema)?, row.try_get(schema + 1)?))
            } else {
                None
            })
        };
        let conname: String = row.try_get(1)?;
        let op_schema: String = row.try_get(2)?;
        let op_name: String = row.try_get(3)?;
        let eq = KeyEquality::new(&conname, &op_schema, &op_name, cast(4, 5)?, cast(7, 8)?)?;
        out.entry(row.try_get(0)?).or_default().push(eq);
    }
    Ok(out)
}

/// Counts the rows of `relation` matching any of `wanted` and none of `excluded`
/// (or, with `exists`, whether there is one: 1 or 0).
async fn count(
    client: &Client,
    relation: &Relation,
    wanted: &[String],
    excluded: &[String],
    exists: bool,
) -> Result<i64, PreviewError> {
    let mut condition = format!("({})", wanted.join(" OR "));
    if !excluded.is_empty() {
        condition = format!(
            "{condition} AND NOT coalesce(({}), false)",
            excluded.join(" OR ")
        );
    }
    let from = relation.from_item();
    let sql = if exists {
        format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM {from} WHERE {condition}) \
             THEN 1::pg_catalog.int8 ELSE 0::pg_catalog.int8 END"
        )
    } else {
        format!("SELECT pg_catalog.count(*) FROM {from} WHERE {condition}")
    };
    Ok(client.query_one(&sql, &[]).await?.try_get(0)?)
}

/// `"a", "b"` for a column list in SQL.
fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|col| quote_ident(col))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line for a DELETE, e.g. "deleting 1 row of customers removes 3 rows of
/// orders and 9 rows of order_items".
pub fn summary(root_table: &str, root_rows: i64, effects: &[CascadeEffect]) -> String {
    describe("deleting", root_table, root_rows, effects)
}

/// One line for an UPDATE of referenced keys, e.g. "updating 1 row of customers
/// changes customer_id in 3 rows of orders".
pub fn update_summary(root_table: &str, root_rows: i64, effects: &[CascadeEffect]) -> String {
    describe("updating", root_table, root_rows, effects)
}

fn describe(verb: &str, root_table: &str, root_rows: i64, effects: &[CascadeEffect]) -> String {
    let mut line = format!("{verb} {} of {root_table}", rows(root_rows));
    let changes: Vec<String> = effects
        .iter()
        .filter_map(|e| {
            let cols = e.columns.join(", ");
            let what = match e.action {
                CascadeAction::Delete => format!("removes {} of {}", rows(e.rows), e.table),
                CascadeAction::Update => {
                    format!("changes {cols} in {} of {}", rows(e.rows), e.table)
                }
                CascadeAction::SetNull => {
                    format!("sets {cols} to NULL in {} of {}", rows(e.rows), e.table)
                }
                CascadeAction::SetDefault => {
                    format!(
                        "sets {cols} to the default in {} of {}",
                        rows(e.rows),
                        e.table
                    )
                }
                CascadeAction::Blocked => return None,
            };
            Some(what)
        })
        .collect();
    if changes.is_empty() {
        line.push_str(" changes no rows of other tables through foreign keys");
    } else {
        line.push(' ');
        line.push_str(&join_and(&changes));
    }
    let blocked: Vec<String> = effects
        .iter()
        .filter(|e| e.action == CascadeAction::Blocked)
        .map(|e| format!("{} of {} ({})", rows(e.rows), e.table, e.via))
        .collect();
    if !blocked.is_empty() {
        line.push_str(&format!(
            "; but {} still reference the old keys, so it will fail (23503)",
            join_and(&blocked)
        ));
    }
    if effects.iter().any(|e| e.incomplete) {
        line.push_str(&format!(
            "; stopped following foreign keys after {MAX_DEPTH} levels with rows left, so \
             these are lower bounds"
        ));
    }
    line
}

/// "1 row", "3 rows".
fn rows(n: i64) -> String {
    if n == 1 {
        "1 row".to_owned()
    } else {
        format!("{n} rows")
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::counts::{baseline, since, TableCounts};
    use crate::preview::testdb::{fresh, oid};

    /// (table, action, rows, depth) of each effect.
    fn shape(effects: &[CascadeEffect]) -> Vec<(&str, CascadeAction, i64, usize)> {
        effects
            .iter()
            .map(|e| (e.table.as_str(), e.action, e.rows, e.depth))
            .collect()
    }

    /// Runs `statement` in a transaction and returns the server's counts and the
    /// statement's own row count; rolls back.
    async fn run(client: &Client, statement: &str) -> (u64, Vec<TableCounts>) {
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(client).await.expect("baseline");
        let rows = client.execute(statement, &[]).await.expect("statement");
        let counts = since(client, &base).await.expect("since");
        client.batch_execute("ROLLBACK").await.expect("rollback");
        (rows, counts)
    }

    /// (table, inserted, updated, deleted).
    fn totals(counts: &[TableCounts]) -> Vec<(&str, i64, i64, i64)> {
        counts
            .iter()
            .map(|c| (c.table.as_str(), c.inserted, c.updated, c.deleted))
            .collect()
    }

    const SHOP: &str = r#"
        CREATE TABLE customers (id int PRIMARY KEY, name text);
        CREATE TABLE orders (id int PRIMARY KEY,
            customer_id int REFERENCES customers ON DELETE CASCADE ON UPDATE CASCADE);
        CREATE TABLE order_items (id serial PRIMARY KEY,
            order_id int NOT NULL REFERENCES orders ON DELETE CASCADE);
        CREATE SCHEMA billing;
        CREATE TABLE billing.invoices (id serial PRIMARY KEY,
            customer_id int REFERENCES customers ON DELETE SET NULL);
        INSERT INTO customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
        INSERT INTO orders VALUES (10, 1), (11, 1), (12, 1), (20, 2);
        INSERT INTO order_items (order_id)
            SELECT o FROM unnest(ARRAY[10, 11, 12]) o, generate_series(1, 3) g;
        INSERT INTO order_items (order_id) VALUES (20), (20);
        INSERT INTO billing.invoices (customer_id) VALUES (1), (1), (2), (NULL);
    "#;

    #[tokio::test]
    async fn predicts_a_two_level_cascade_and_set_null_exactly() {
        let client = fresh("cascade_shop", SHOP).await;
        let customers = oid(&client, "customers").await;
        let effects = predict_delete(&client, customers, Some("customers.id = 1"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![
                ("billing.invoices", CascadeAction::SetNull, 2, 1),
                ("orders", CascadeAction::Delete, 3, 1),
                ("order_items", CascadeAction::Delete, 9, 2),
            ]
        );
        assert_eq!(effects[0].columns, vec!["customer_id"]);
        assert_eq!(effects[1].via, "orders_customer_id_fkey");
        assert!(effects.iter().all(|e| !e.incomplete));
        assert_eq!(
            summary("customers", 1, &effects),
            "deleting 1 row of customers sets customer_id to NULL in 2 rows of \
             billing.invoices, removes 3 rows of orders and removes 9 rows of order_items"
        );

        let (rows, counts) = run(&client, "DELETE FROM customers WHERE customers.id = 1").await;
        assert_eq!(rows, 1);
        assert_eq!(
            totals(&counts),
            vec![
                ("billing.invoices", 0, 2, 0),
                ("customers", 0, 0, 1),
                ("order_items", 0, 0, 9),
                ("orders", 0, 0, 3),
            ]
        );

        // Every customer: the NULL invoice stays untouched.
        let all = predict_delete(&client, customers, None).await.expect("all");
        assert_eq!(
            shape(&all),
            vec![
                ("billing.invoices", CascadeAction::SetNull, 3, 1),
                ("orders", CascadeAction::Delete, 4, 1),
                ("order_items", CascadeAction::Delete, 11, 2),
            ]
        );
        let (_, counts) = run(&client, "DELETE FROM customers").await;
        assert_eq!(
            totals(&counts),
            vec![
                ("billing.invoices", 0, 3, 0),
                ("customers", 0, 0, 3),
                ("order_items", 0, 0, 11),
                ("orders", 0, 0, 4),
            ]
        );

        // Nothing references customer 3.
        let none = predict_delete(&client, customers, Some("id = 3"))
            .await
            .expect("none");
        assert!(none.is_empty());
        assert_eq!(
            summary("customers", 1, &none),
            "deleting 1 row of customers changes no rows of other tables through foreign keys"
        );

        // A WHERE clause that fails on the server fails the prediction, with its SQLSTATE.
        let err = predict_delete(&client, customers, Some("no_such_column = 1"))
            .await
            .expect_err("undefined column");
        assert_eq!(
            err.sqlstate(),
            Some(&tokio_postgres::error::SqlState::UNDEFINED_COLUMN)
        );
    }

    /// The guarded transaction runs as a least-privilege role: the catalogs, the
    /// statistics view and pg_locks are readable, and counting needs SELECT.
    #[tokio::test]
    async fn works_as_a_least_privilege_role() {
        let client = fresh("cascade_role", SHOP).await;
        client
            .batch_execute(
                "DROP ROLE IF EXISTS preview_writer; \
                 CREATE ROLE preview_writer; \
                 GRANT USAGE ON SCHEMA billing TO preview_writer; \
                 GRANT SELECT, DELETE ON customers TO preview_writer; \
                 GRANT SELECT ON orders, order_items, billing.invoices TO preview_writer;",
            )
            .await
            .expect("role");
        let customers = oid(&client, "customers").await;
        client.batch_execute("BEGIN").await.expect("begin");
        client
            .batch_execute("SET LOCAL ROLE preview_writer")
            .await
            .expect("set role");
        let base = baseline(&client).await.expect("baseline");
        let effects = predict_delete(&client, customers, Some("id = 2"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![
                ("billing.invoices", CascadeAction::SetNull, 1, 1),
                ("orders", CascadeAction::Delete, 1, 1),
                ("order_items", CascadeAction::Delete, 2, 2),
            ]
        );
        client
            .batch_execute("DELETE FROM customers WHERE id = 2")
            .await
            .expect("delete");
        let counts = since(&client, &base).await.expect("since");
        assert_eq!(counts.len(), 4, "{counts:?}");
        let locks = crate::preview::ddl::locks_held(&client)
            .await
            .expect("locks");
        assert!(
            locks.contains(&("customers".to_owned(), "ROW EXCLUSIVE".to_owned())),
            "{locks:?}"
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");

        client
            .batch_execute("REVOKE SELECT ON order_items FROM preview_writer")
            .await
            .expect("revoke");
        client.batch_execute("BEGIN").await.expect("begin");
        client
            .batch_execute("SET LOCAL ROLE preview_writer")
            .await
            .expect("set role");
        let err = predict_delete(&client, customers, Some("id = 2"))
            .await
            .expect_err("no SELECT on a cascaded table");
        assert_eq!(
            err.sqlstate(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    #[tokio::test]
    async fn predicts_update_cascades_of_referenced_keys_only() {
        let client = fresh("cascade_update", SHOP).await;
        let customers = oid(&client, "customers").await;
        let name_only = predict_update(&client, customers, &["name".to_owned()], Some("id = 1"))
            .await
            .expect("predict");
        assert!(name_only.is_empty(), "{name_only:?}");

        let effects = predict_update(&client, customers, &["id".to_owned()], Some("id = 1"))
            .await
            .expect("predict");
        // invoices' key is NO ACTION on update: its rows would block the change.
        assert_eq!(
            shape(&effects),
            vec![
                ("billing.invoices", CascadeAction::Blocked, 2, 1),
                ("orders", CascadeAction::Update, 3, 1),
            ]
        );
        assert_eq!(effects[1].columns, vec!["customer_id"]);
        let line = update_summary("customers", 1, &effects);
        assert_eq!(
            line,
            "updating 1 row of customers changes customer_id in 3 rows of orders; but 2 rows \
             of billing.invoices (invoices_customer_id_fkey) still reference the old keys, so \
             it will fail (23503)"
        );
        client.batch_execute("BEGIN").await.expect("begin");
        let err = client
            .execute("UPDATE customers SET id = 100 WHERE id = 1", &[])
            .await
            .expect_err("blocked by invoices");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");

        // Without the blocking invoices, the prediction matches what happens.
        client
            .batch_execute("DELETE FROM billing.invoices WHERE customer_id = 1")
            .await
            .expect("clear invoices");
        let effects = predict_update(&client, customers, &["id".to_owned()], Some("id = 1"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("orders", CascadeAction::Update, 3, 1)]
        );
        let (_, counts) = run(&client, "UPDATE customers SET id = 100 WHERE id = 1").await;
        assert_eq!(
            totals(&counts),
            vec![("customers", 0, 1, 0), ("orders", 0, 3, 0)]
        );
    }

    #[tokio::test]
    async fn reports_rows_that_block_a_delete() {
        let client = fresh(
            "cascade_blocked",
            "CREATE TABLE accounts (id int PRIMARY KEY); \
             CREATE TABLE payments (id serial PRIMARY KEY, \
                 account_id int REFERENCES accounts ON DELETE RESTRICT); \
             CREATE TABLE sessions (id serial PRIMARY KEY, \
                 account_id int REFERENCES accounts ON DELETE CASCADE); \
             INSERT INTO accounts VALUES (1), (2); \
             INSERT INTO payments (account_id) VALUES (1); \
             INSERT INTO sessions (account_id) VALUES (1), (2), (2);",
        )
        .await;
        let accounts = oid(&client, "accounts").await;
        let effects = predict_delete(&client, accounts, Some("id = 1"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![
                ("payments", CascadeAction::Blocked, 1, 1),
                ("sessions", CascadeAction::Delete, 1, 1),
            ]
        );
        client.batch_execute("BEGIN").await.expect("begin");
        let err = client
            .execute("DELETE FROM accounts WHERE id = 1", &[])
            .await
            .expect_err("restricted");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");

        let effects = predict_delete(&client, accounts, Some("id = 2"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("sessions", CascadeAction::Delete, 2, 1)]
        );
    }

    #[tokio::test]
    async fn self_references_terminate() {
        let client = fresh(
            "cascade_self",
            "CREATE TABLE employees (id int PRIMARY KEY, \
                 manager_id int REFERENCES employees ON DELETE CASCADE); \
             INSERT INTO employees VALUES (1, NULL); \
             INSERT INTO employees SELECT g, g - 1 FROM generate_series(2, 20) g; \
             CREATE TABLE staff (id int PRIMARY KEY, \
                 boss_id int REFERENCES staff ON DELETE SET NULL); \
             INSERT INTO staff VALUES (1, NULL), (2, 1), (3, 1), (4, 2); \
             CREATE TABLE pairs (id int PRIMARY KEY, partner int); \
             INSERT INTO pairs VALUES (1, 2), (2, 1), (3, NULL); \
             ALTER TABLE pairs ADD FOREIGN KEY (partner) REFERENCES pairs ON DELETE CASCADE;",
        )
        .await;
        let employees = oid(&client, "employees").await;

        // A chain of 20: the walk stops at MAX_DEPTH and says so.
        let effects = predict_delete(&client, employees, Some("id = 1"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("employees", CascadeAction::Delete, MAX_DEPTH as i64, 1)]
        );
        assert!(effects[0].incomplete);
        assert!(summary("employees", 1, &effects).contains("lower bounds"));
        let (_, counts) = run(&client, "DELETE FROM employees WHERE id = 1").await;
        assert_eq!(totals(&counts), vec![("employees", 0, 0, 20)]);

        // Near the end of the chain the prediction is complete and exact.
        let effects = predict_delete(&client, employees, Some("id = 15"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("employees", CascadeAction::Delete, 5, 1)]
        );
        assert!(!effects[0].incomplete);
        let (_, counts) = run(&client, "DELETE FROM employees WHERE id = 15").await;
        assert_eq!(totals(&counts), vec![("employees", 0, 0, 6)]);

        // SET NULL on a self-reference: one level, rows deleted are not also updated.
        let staff = oid(&client, "staff").await;
        let effects = predict_delete(&client, staff, Some("id IN (1, 2)"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("staff", CascadeAction::SetNull, 2, 1)]
        );
        let (_, counts) = run(&client, "DELETE FROM staff WHERE id IN (1, 2)").await;
        assert_eq!(totals(&counts), vec![("staff", 0, 2, 2)]);

        // A cycle in the data: rows found again are not new rows, so it is complete.
        let pairs = oid(&client, "pairs").await;
        let effects = predict_delete(&client, pairs, Some("id = 1"))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![("pairs", CascadeAction::Delete, 1, 1)]
        );
        assert!(!effects[0].incomplete);
        let (_, counts) = run(&client, "DELETE FROM pairs WHERE id = 1").await;
        assert_eq!(totals(&counts), vec![("pairs", 0, 0, 2)]);
    }

    #[tokio::test]
    async fn multi_column_keys_and_hostile_names() {
        let client = fresh(
            "cascade_multi",
            r#"
            CREATE TABLE "pa""rent" ("i""d" int, region text, PRIMARY KEY (region, "i""d"));
            CREATE TABLE "we""ird; drop" (id serial PRIMARY KEY, "r;g" text, pid int,
                FOREIGN KEY ("r;g", pid) REFERENCES "pa""rent" (region, "i""d")
                ON DELETE CASCADE);
            CREATE TABLE swapped (id serial PRIMARY KEY, pid int, reg text,
                FOREIGN KEY (pid, reg) REFERENCES "pa""rent" ("i""d", region)
                ON DELETE SET NULL (pid));
            INSERT INTO "pa""rent" VALUES (1, 'eu'), (1, 'us'), (2, 'eu');
            INSERT INTO "we""ird; drop" ("r;g", pid)
                VALUES ('eu', 1), ('eu', 1), ('us', 1), ('eu', 2), (NULL, 1);
            INSERT INTO swapped (pid, reg) VALUES (1, 'eu'), (1, 'us'), (2, 'eu');
            "#,
        )
        .await;
        let parent = oid(&client, r#""pa""rent""#).await;
        let where_sql = r#""i""d" = 1 AND region = 'eu'"#;
        let effects = predict_delete(&client, parent, Some(where_sql))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![
                ("\"we\"\"ird; drop\"", CascadeAction::Delete, 2, 1),
                ("swapped", CascadeAction::SetNull, 1, 1),
            ]
        );
        assert_eq!(effects[1].columns, vec!["pid"], "ON DELETE SET NULL (pid)");
        let (_, counts) = run(
            &client,
            &format!(r#"DELETE FROM "pa""rent" WHERE {where_sql}"#),
        )
        .await;
        assert_eq!(
            totals(&counts),
            vec![
                ("\"pa\"\"rent\"", 0, 0, 1),
                ("\"we\"\"ird; drop\"", 0, 0, 2),
                ("swapped", 0, 1, 0),
            ]
        );
    }

    /// A user who may set `search_path` and create objects puts a schema of hostile
    /// operators (and a `count` aggregate) before `pg_catalog`. pgward's own queries
    /// are schema-qualified and must still give the true answers; the user's WHERE
    /// text is left as written (here it qualifies its `=` itself).
    #[tokio::test]
    async fn a_hostile_search_path_changes_nothing() {
        let client = fresh(
            "cascade_hostile_path",
            &format!(
                "{SHOP} \
                 CREATE DOMAIN code AS text; \
                 CREATE TYPE mood AS ENUM ('ok', 'sad'); \
                 CREATE TABLE kinds (c code, m mood, PRIMARY KEY (c, m)); \
                 CREATE TABLE things (id int PRIMARY KEY, c varchar, m mood, \
                     FOREIGN KEY (c, m) REFERENCES kinds ON DELETE CASCADE); \
                 INSERT INTO kinds VALUES ('a', 'ok'), ('a', 'sad'), ('b', 'ok'); \
                 INSERT INTO things VALUES (1, 'a', 'ok'), (2, 'a', 'sad'), (3, 'b', 'ok'), \
                     (4, 'a', 'ok'); \
                 CREATE SCHEMA evil; \
                 CREATE FUNCTION evil.zero(bigint, bigint) RETURNS bigint \
                     LANGUAGE sql AS 'SELECT 0::pg_catalog.int8'; \
                 CREATE OPERATOR evil.- (LEFTARG = bigint, RIGHTARG = bigint, \
                     FUNCTION = evil.zero); \
                 CREATE FUNCTION evil.no(oid, oid) RETURNS bool LANGUAGE sql AS 'SELECT false'; \
                 CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.no); \
                 CREATE FUNCTION evil.no(smallint, smallint) RETURNS bool \
                     LANGUAGE sql AS 'SELECT false'; \
                 CREATE OPERATOR evil.= (LEFTARG = smallint, RIGHTARG = smallint, \
                     FUNCTION = evil.no); \
                 CREATE FUNCTION evil.no(\"char\", \"char\") RETURNS bool \
                     LANGUAGE sql AS 'SELECT false'; \
                 CREATE OPERATOR evil.= (LEFTARG = \"char\", RIGHTARG = \"char\", \
                     FUNCTION = evil.no); \
                 CREATE FUNCTION evil.no(bigint, integer) RETURNS bool \
                     LANGUAGE sql AS 'SELECT false'; \
                 CREATE OPERATOR evil.<> (LEFTARG = bigint, RIGHTARG = integer, \
                     FUNCTION = evil.no); \
                 CREATE FUNCTION evil.yes(integer, integer) RETURNS bool \
                     LANGUAGE sql AS 'SELECT true'; \
                 CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, \
                     FUNCTION = evil.yes); \
                 CREATE FUNCTION evil.yes(text, text) RETURNS bool \
                     LANGUAGE sql AS 'SELECT true'; \
                 CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, \
                     FUNCTION = evil.yes); \
                 CREATE FUNCTION evil.keep(bigint) RETURNS bigint \
                     LANGUAGE sql AS 'SELECT 0::pg_catalog.int8'; \
                 CREATE AGGREGATE evil.count(*) (SFUNC = evil.keep, STYPE = bigint, \
                     INITCOND = '0');"
            ),
        )
        .await;
        let (customers, orders, kinds) = (
            oid(&client, "customers").await,
            oid(&client, "orders").await,
            oid(&client, "kinds").await,
        );
        client
            .batch_execute("SET search_path = evil, pg_catalog")
            .await
            .expect("hostile search_path");
        // The hostile operators are live for unqualified SQL on this connection.
        let lie: i64 = client
            .query_one("SELECT 5::int8 - 2::int8", &[])
            .await
            .expect("hostile -")
            .get(0);
        assert_eq!(lie, 0);
        let lie: bool = client
            .query_one("SELECT 1::oid = 1::oid", &[])
            .await
            .expect("hostile =")
            .get(0);
        assert!(!lie);

        // Keys and columns.
        assert_eq!(
            crate::preview::keys::row_key(&client, orders)
                .await
                .expect("key"),
            crate::preview::keys::RowKey::Primary(vec!["id".into()])
        );
        assert_eq!(
            crate::preview::keys::columns(&client, orders)
                .await
                .expect("columns"),
            vec!["id", "customer_id"]
        );
        assert_eq!(
            crate::preview::counts::row_count(&client, orders)
                .await
                .expect("row count"),
            4
        );

        // Cascades: the user's WHERE resolves as the user's statement will.
        let where_sql = "customers.id OPERATOR(pg_catalog.=) 1";
        let effects = predict_delete(&client, customers, Some(where_sql))
            .await
            .expect("predict");
        assert_eq!(
            shape(&effects),
            vec![
                ("billing.invoices", CascadeAction::SetNull, 2, 1),
                ("orders", CascadeAction::Delete, 3, 1),
                ("order_items", CascadeAction::Delete, 9, 2),
            ]
        );
        // A domain over text referenced by varchar, and an enum (a polymorphic
        // equality operator): the keys' own operators, with the triggers' casts.
        let kinds_where =
            "kinds.c OPERATOR(pg_catalog.=) 'a' AND kinds.m OPERATOR(pg_catalog.=) 'ok'";
        let effects = predict_delete(&client, kinds, Some(kinds_where))
            .await
            .expect("predict kinds");
        assert_eq!(
            shape(&effects),
            vec![("things", CascadeAction::Delete, 2, 1)]
        );
        let (_, counts) = run(
            &client,
            &format!("DELETE FROM public.kinds WHERE {kinds_where}"),
        )
        .await;
        assert_eq!(
            totals(&counts),
            vec![("kinds", 0, 0, 1), ("things", 0, 0, 2)]
        );

        // Counts and locks of a real statement.
        client.batch_execute("BEGIN").await.expect("begin");
        let base = baseline(&client).await.expect("baseline");
        client
            .batch_execute(&format!("DELETE FROM public.customers WHERE {where_sql}"))
            .await
            .expect("delete");
        assert_eq!(
            totals(&since(&client, &base).await.expect("since")),
            vec![
                ("billing.invoices", 0, 2, 0),
                ("customers", 0, 0, 1),
                ("order_items", 0, 0, 9),
                ("orders", 0, 0, 3),
            ]
        );
        let locks = crate::preview::ddl::strongest(
            &crate::preview::ddl::locks_held(&client)
                .await
                .expect("locks"),
        );
        assert_eq!(
            locks,
            vec![
                ("billing.invoices".to_owned(), "ROW EXCLUSIVE".to_owned()),
                ("customers".to_owned(), "ROW EXCLUSIVE".to_owned()),
                ("order_items".to_owned(), "ROW EXCLUSIVE".to_owned()),
                ("orders".to_owned(), "ROW EXCLUSIVE".to_owned()),
            ]
        );
        client.batch_execute("ROLLBACK").await.expect("rollback");
    }

    #[test]
    fn joins_lists_in_english() {
        let items = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(join_and(&items(0)), "");
        assert_eq!(join_and(&items(1)), "1");
        assert_eq!(join_and(&items(2)), "1 and 2");
        assert_eq!(join_and(&items(3)), "1, 2 and 3");
        assert_eq!(rows(1), "1 row");
        assert_eq!(rows(0), "0 rows");
    }
}
