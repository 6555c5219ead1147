//! MERGE, captured by reading the rows around it.
//!
//! PostgreSQL 15 gives MERGE no RETURNING, so the statement runs exactly as typed and
//! pgward reads the target's rows it can reach just before and just after it, in the
//! same transaction: every row whose key the ON condition can match, `(tableoid, ctid)`
//! and its image, read with the same image expression as every capture. A row found
//! after and not before was inserted; before and not after, deleted; at both with
//! another `(tableoid, ctid)`, updated (every UPDATE writes a new row version, so a row
//! that kept its place was not touched). Under REPEATABLE READ both reads and the MERGE
//! see one snapshot plus the transaction's own work, and a row changed by anyone else
//! in between makes the MERGE fail with 40001 instead of acting on it.
//!
//! The read must reach every row the MERGE changes without evaluating anything the
//! statement evaluates, so it is used only where that holds:
//! - the ON condition equates every column of the target's key (primary key, or unique
//!   key over NOT NULL columns) with a column of the source (`t.k = s.c`, more
//!   conditions may follow with AND);
//! - the source is a table or materialized view (not the target, not a view, whose
//!   query could call functions), or a `VALUES` list of constants, so reading it again
//!   calls nothing;
//! - every `WHEN NOT MATCHED THEN INSERT` takes each key column from that same source
//!   column, and no `WHEN MATCHED THEN UPDATE` assigns a key column;
//! - key columns of built-in types (equality is `OPERATOR(pg_catalog.=)`).
//!
//! Last, what the reads found must be what the server counted on the target (its
//! partitions and children included: inserted, updated, deleted); otherwise a trigger
//! or a moved row did something the reads cannot pair, and the MERGE is shown with
//! counts only and the reason. Either way the MERGE itself ran as typed, once.

use std::collections::HashMap;

use crate::conn::Client;
use pg_query::protobuf::{CmdType, MergeMatchKind, MergeStmt};
use pg_query::NodeEnum;

use super::constant;
use super::error::PreviewError;
use super::images::{self, CapturedRow, Datum, ImageError, ImageSink};
use super::relation::{display_ident, quote_ident, Relation};
use super::rewrite;

/// The read run before and after the MERGE, and where the key is in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAround {
    /// `SELECT tableoid, ctid, image FROM target WHERE its key is in the source`.
    pub sql: String,
    /// The key's columns, as indexes into an image's fields.
    pub key_fields: Vec<usize>,
}

/// One row a read found: where it lives and its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `tableoid:ctid`.
    pub place: String,
    /// The image (`record_out` text).
    pub image: String,
}

/// Where the MERGE's source rows come from, as the read reaches them again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A relation: schema (empty when not written), name, and whether its children are
    /// read too (no ONLY).
    Table {
        schema: String,
        name: String,
        inh: bool,
    },
    /// A VALUES list of constants, printed with its column names.
    Values(String),
}

/// What the MERGE's text says, as PostgreSQL's parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    /// The target is read with its inheritance children.
    inh: bool,
    source: Source,
    /// For each key column, the source column the ON condition equates it with.
    pairs: Vec<String>,
}

/// The read around the MERGE `text` on `target` keyed by `key` (whose columns are
/// `columns`), or why the MERGE is shown with counts only (a sentence).
pub async fn read_around(
    client: &Client,
    target: &Relation,
    key: &[String],
    columns: &[String],
    text: &str,
) -> Result<Result<ReadAround, String>, PreviewError> {
    if key.is_empty() {
        return Ok(Err(format!(
            "{} has no primary key or unique not-null key to pair the rows read before and \
             after a MERGE: counts only",
            target.display()
        )));
    }
    let shape = match shape(text, key, columns) {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    let row = client
        .query_one(
            "SELECT pg_catalog.bool_and(a.atttypid OPERATOR(pg_catalog.<) \
                    16384::pg_catalog.oid) \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND a.attname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])",
            &[&target.relid, &key],
        )
        .await?;
    if row.try_get::<_, Option<bool>>(0)? != Some(true) {
        return Ok(Err(
            "a key column has a user-defined type, whose equality would run again in a read \
             beside the MERGE: counts only"
                .into(),
        ));
    }
    let source = match &shape.source {
        Source::Values(sql) => sql.clone(),
        Source::Table { schema, name, inh } => {
            let written = if schema.is_empty() {
                quote_ident(name)
            } else {
                format!("{}.{}", quote_ident(schema), quote_ident(name))
            };
            let row = client
                .query_one(
                    "SELECT c.oid, c.relkind::pg_catalog.text FROM pg_catalog.pg_class c \
                     WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
                    &[&written],
                )
                .await;
            let Ok(row) = row else {
                return Ok(Err(format!(
                    "the MERGE's source {written} was not found: counts only"
                )));
            };
            let (oid, kind): (u32, String) = (row.try_get(0)?, row.try_get(1)?);
            if oid == target.relid || !["r", "p", "m"].contains(&kind.as_str()) {
                return Ok(Err(format!(
                    "the MERGE's source {written} is not another table (a view's query could \
                     call functions a second read would run again): counts only"
                )));
            }
            let only = if *inh { "" } else { "ONLY " };
            format!("{only}{written} AS pgward_s")
        }
    };
    let mut key_fields = Vec::new();
    let mut terms = Vec::new();
    for (k, s) in key.iter().zip(&shape.pairs) {
        let Some(at) = columns.iter().position(|c| c == k) else {
            return Ok(Err(format!(
                "the key column {} is not a column of {}: counts only",
                display_ident(k),
                target.display()
            )));
        };
        key_fields.push(at);
        terms.push(format!(
            "pgward_t.{} OPERATOR(pg_catalog.=) pgward_s.{}",
            quote_ident(k),
            quote_ident(s)
        ));
    }
    let from = if target.kind == "p" || shape.inh {
        target.quoted()
    } else {
        format!("ONLY {}", target.quoted())
    };
    let order: Vec<String> = key
        .iter()
        .map(|k| format!("pgward_t.{}", quote_ident(k)))
        .collect();
    Ok(Ok(ReadAround {
        sql: format!(
            "SELECT pgward_t.tableoid::pg_catalog.text OPERATOR(pg_catalog.||) ':' \
             OPERATOR(pg_catalog.||) pgward_t.ctid::pg_catalog.text, {} \
             FROM {from} AS pgward_t WHERE EXISTS (SELECT FROM {source} WHERE {}) ORDER BY {}",
            rewrite::image_sql("pgward_t"),
            terms.join(" AND "),
            order.join(", ")
        ),
        key_fields,
    }))
}

/// Pairs the rows read `before` and `after` the MERGE by key and pushes every changed
/// one into `sink` (after rows in their order, then the deleted ones). Returns how many
/// were inserted, updated and deleted.
pub fn pair(
    before: Vec<Found>,
    after: Vec<Found>,
    key_fields: &[usize],
    sink: &mut ImageSink,
) -> Result<(i64, i64, i64), ImageError> {
    let key = |image: &str| -> Result<Vec<Datum>, ImageError> {
        let values = images::record_fields(image)
            .ok_or_else(|| ImageError::Malformed(image.chars().take(80).collect()))?;
        key_fields
            .iter()
            .map(|&i| values.get(i).cloned())
            .collect::<Option<Vec<Datum>>>()
            .ok_or_else(|| ImageError::Malformed(image.chars().take(80).collect()))
    };
    let mut old: HashMap<Vec<Datum>, usize> = HashMap::new();
    for (i, found) in before.iter().enumerate() {
        old.insert(key(&found.image)?, i);
    }
    let mut seen = vec![false; before.len()];
    let (mut inserted, mut updated, mut deleted) = (0, 0, 0);
    for found in &after {
        match old.get(&key(&found.image)?) {
            Some(&i) => {
                seen[i] = true;
                if before[i].place != found.place {
                    updated += 1;
                    sink.push(CapturedRow {
                        old: Some(&before[i].image),
                        new: Some(&found.image),
                        ..CapturedRow::default()
                    })?;
                }
            }
            None => {
                inserted += 1;
                sink.push(CapturedRow {
                    new: Some(&found.image),
                    ..CapturedRow::default()
                })?;
            }
        }
    }
    for (found, seen) in before.iter().zip(seen) {
        if !seen {
            deleted += 1;
            sink.push(CapturedRow {
                old: Some(&found.image),
                ..CapturedRow::default()
            })?;
        }
    }
    Ok((inserted, updated, deleted))
}

/// The target, source and key pairs of the MERGE `text`, checked as the module docs say.
fn shape(text: &str, key: &[String], columns: &[String]) -> Result<Shape, String> {
    let parsed = pg_query::parse(text, pg_query::ParserOptions::DEFAULT)
        .map_err(|_| "PostgreSQL's parser cannot read the MERGE: counts only")?;
    let merge: &MergeStmt = match parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|s| s.node.as_ref())
    {
        Some(NodeEnum::MergeStmt(m)) if parsed.protobuf.stmts.len() == 1 => m,
        _ => return Err("not a single MERGE: counts only".into()),
    };
    if merge.with_clause.is_some() {
        return Err("a MERGE with a WITH clause is not read around: counts only".into());
    }
    let target = merge
        .relation
        .as_ref()
        .ok_or("a MERGE without a target: counts only")?;
    let target_name = target
        .alias
        .as_ref()
        .map_or(target.relname.clone(), |a| a.aliasname.clone());
    const SOURCE: &str = "the MERGE's source is not a table or a VALUES list of constants, \
         and reading it again could evaluate its functions a second time: counts only";
    let (source, source_name) = match merge.source_relation.as_ref().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::RangeVar(r)) if r.catalogname.is_empty() => (
            Source::Table {
                schema: r.schemaname.clone(),
                name: r.relname.clone(),
                inh: r.inh,
            },
            r.alias
                .as_ref()
                .map_or(r.relname.clone(), |a| a.aliasname.clone()),
        ),
        Some(NodeEnum::RangeSubselect(sub)) if !sub.lateral => {
            let alias = sub.alias.as_ref().ok_or(SOURCE)?;
            let Some(NodeEnum::SelectStmt(select)) =
                sub.subquery.as_ref().and_then(|s| s.node.as_ref())
            else {
                return Err(SOURCE.into());
            };
            if select.values_lists.is_empty() || !select.from_clause.is_empty() {
                return Err(SOURCE.into());
            }
            let names: Vec<String> = alias
                .colnames
                .iter()
                .map(|n| match n.node.as_ref() {
                    Some(NodeEnum::String(s)) => Ok(quote_ident(&s.sval)),
                    _ => Err(SOURCE.to_string()),
                })
                .collect::<Result<_, _>>()?;
            let mut rows = Vec::new();
            for list in &select.values_lists {
                let Some(NodeEnum::List(list)) = list.node.as_ref() else {
                    return Err(SOURCE.into());
                };
                if list.items.len() != names.len() {
                    return Err(SOURCE.into());
                }
                let cells = list
                    .items
                    .iter()
                    .map(|c| constant::sql(c.node.as_ref()))
                    .collect::<Option<Vec<String>>>()
                    .ok_or(SOURCE)?;
                rows.push(format!("({})", cells.join(", ")));
            }
            (
                Source::Values(format!(
                    "(VALUES {}) AS pgward_s({})",
                    rows.join(", "),
                    names.join(", ")
                )),
                alias.aliasname.clone(),
            )
        }
        _ => return Err(SOURCE.into()),
    };
    // The ON condition: `target.k = source.c` for every key column, AND-ed.
    let mut equalities: HashMap<String, String> = HashMap::new();
    let mut conjuncts: Vec<&NodeEnum> = merge
        .join_condition
        .as_ref()
        .and_then(|n| n.node.as_ref())
        .into_iter()
        .collect();
    while let Some(node) = conjuncts.pop() {
        match node {
            NodeEnum::BoolExpr(b)
                if b.boolop == pg_query::protobuf::BoolExprType::AndExpr as i32 =>
            {
                conjuncts.extend(b.args.iter().filter_map(|a| a.node.as_ref()));
            }
            NodeEnum::AExpr(e)
                if e.kind == pg_query::protobuf::AExprKind::AexprOp as i32
                    && matches!(e.name.as_slice(), [n] if matches!(n.node.as_ref(), Some(NodeEnum::String(s)) if s.sval == "=")) =>
            {
                let side = |n: Option<&NodeEnum>| column_of(n);
                match (
                    side(e.lexpr.as_ref().and_then(|n| n.node.as_ref())),
                    side(e.rexpr.as_ref().and_then(|n| n.node.as_ref())),
                ) {
                    (Some((a, ac)), Some((b, bc))) if a == target_name && b == source_name => {
                        equalities.insert(ac, bc);
                    }
                    (Some((a, ac)), Some((b, bc))) if b == target_name && a == source_name => {
                        equalities.insert(bc, ac);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let mut pairs = Vec::new();
    for k in key {
        let Some(s) = equalities.get(k) else {
            return Err(format!(
                "the ON condition does not equate the key column {} with a column of the \
                 source, so a read cannot find the rows the MERGE reaches: counts only",
                display_ident(k)
            ));
        };
        pairs.push(s.clone());
    }
    for clause in &merge.merge_when_clauses {
        let Some(NodeEnum::MergeWhenClause(w)) = clause.node.as_ref() else {
            return Err("a MERGE clause pgward cannot read: counts only".into());
        };
        let names = |list: &[pg_query::protobuf::Node]| -> Vec<String> {
            list.iter()
                .filter_map(|t| match t.node.as_ref() {
                    Some(NodeEnum::ResTarget(r)) => Some(r.name.clone()),
                    _ => None,
                })
                .collect()
        };
        match (
            MergeMatchKind::try_from(w.match_kind),
            CmdType::try_from(w.command_type),
        ) {
            (Ok(MergeMatchKind::MergeWhenMatched), Ok(CmdType::CmdUpdate)) => {
                if names(&w.target_list).iter().any(|n| key.contains(n)) {
                    return Err(
                        "the MERGE updates a key column, so rows read before and after \
                                cannot be paired: counts only"
                            .into(),
                    );
                }
            }
            (
                Ok(MergeMatchKind::MergeWhenMatched),
                Ok(CmdType::CmdDelete | CmdType::CmdNothing),
            ) => {}
            (Ok(MergeMatchKind::MergeWhenNotMatchedByTarget), Ok(CmdType::CmdNothing)) => {}
            (Ok(MergeMatchKind::MergeWhenNotMatchedByTarget), Ok(CmdType::CmdInsert)) => {
                let listed = names(&w.target_list);
                let order: &[String] = if listed.is_empty() { columns } else { &listed };
                for (k, s) in key.iter().zip(&pairs) {
                    let value = order
                        .iter()
                        .position(|c| c == k)
                        .and_then(|at| w.values.get(at))
                        .and_then(|v| column_of(v.node.as_ref()));
                    if value != Some((source_name.clone(), s.clone())) {
                        return Err(format!(
                            "the MERGE inserts a key column {} from something else than the \
                             source column it matches on, so a read cannot find the inserted \
                             rows: counts only",
                            display_ident(k)
                        ));
                    }
                }
            }
            _ => return Err("a MERGE clause pgward cannot read around: counts only".into()),
        }
    }
    Ok(Shape {
        inh: target.inh,
        source,
        pairs,
    })
}

/// `(qualifier, column)` of a column reference written `q.c`.
fn column_of(node: Option<&NodeEnum>) -> Option<(String, String)> {
    let Some(NodeEnum::ColumnRef(c)) = node else {
        return None;
    };
    let names: Vec<&str> = c
        .fields
        .iter()
        .map(|f| match f.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match names.as_slice() {
        [q, col] => Some((q.to_string(), col.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_the_key_pairs_and_the_source() {
        let key = cols(&["id"]);
        let columns = cols(&["id", "qty", "note"]);
        let s = shape(
            "MERGE INTO items t USING (VALUES (1, 5), (9, 'x')) s(id, q) ON t.id = s.id AND s.q > 0 \
             WHEN MATCHED AND s.q = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET qty = s.q \
             WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.q, 'merged')",
            &key,
            &columns,
        )
        .expect("shape");
        assert_eq!(s.pairs, ["id"]);
        assert_eq!(
            s.source,
            Source::Values("(VALUES (1, 5), (9, E'x')) AS pgward_s(\"id\", \"q\")".into())
        );
        let s = shape(
            "MERGE INTO ONLY items USING stage.incoming AS i ON i.code = items.id \
             WHEN NOT MATCHED THEN INSERT (note, id) VALUES ('n', i.code)",
            &key,
            &columns,
        )
        .expect("shape");
        assert!(!s.inh);
        assert_eq!(s.pairs, ["code"]);
        assert_eq!(
            s.source,
            Source::Table {
                schema: "stage".into(),
                name: "incoming".into(),
                inh: true
            }
        );
        for (sql, why) in [
            ("MERGE INTO items t USING (SELECT * FROM s) s ON t.id = s.id WHEN MATCHED THEN DELETE", "source"),
            ("MERGE INTO items t USING (VALUES (now())) s(id) ON t.id = s.id WHEN MATCHED THEN DELETE", "source"),
            ("MERGE INTO items t USING s ON t.qty = s.id WHEN MATCHED THEN DELETE", "does not equate"),
            ("MERGE INTO items t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET id = 3", "updates a key"),
            ("MERGE INTO items t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id + 1, 0, '')", "inserts a key"),
        ] {
            let reason = shape(sql, &key, &columns).expect_err(sql);
            assert!(reason.contains(why) && reason.ends_with("counts only"), "{sql}: {reason}");
        }
    }

    #[test]
    fn pairs_rows_by_key_and_place() {
        let found = |place: &str, image: &str| Found {
            place: place.into(),
            image: image.into(),
        };
        let mut sink = ImageSink::new(
            rewrite::CaptureKind::Merge,
            super::super::keys::RowKey::Primary(cols(&["id"])),
            cols(&["id", "v"]),
            images::SinkOptions {
                shown: 10,
                spill: images::SpillTo::Off,
            },
        );
        let before = vec![
            found("1:(0,1)", "(1,a)"),
            found("1:(0,2)", "(2,b)"),
            found("1:(0,3)", "(3,c)"),
        ];
        let after = vec![
            found("1:(0,1)", "(1,a)"),
            found("1:(0,4)", "(2,B)"),
            found("1:(0,5)", "(4,d)"),
        ];
        assert_eq!(
            pair(before, after, &[0], &mut sink).expect("pair"),
            (1, 1, 1)
        );
        let images = sink.finish().expect("finish");
        let kinds: Vec<_> = images
            .shown
            .iter()
            .map(|r| (r.kind, r.key[0].1.clone()))
            .collect();
        use images::ChangeKind::*;
        assert_eq!(
            kinds,
            [
                (Updated, "2".into()),
                (Inserted, "4".into()),
                (Deleted, "3".into())
            ]
        );
    }
}
