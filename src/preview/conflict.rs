//! The old values of the rows an `INSERT … ON CONFLICT DO UPDATE` updates.
//!
//! PostgreSQL 15 returns only the new row from an upsert, so the old one is read just
//! before the statement runs, inside the capture's savepoint: a `SELECT … FOR UPDATE`
//! of every existing row whose conflict key the statement proposes, built from the
//! constants of its `VALUES` list (cast to each key column's type, compared with
//! `OPERATOR(pg_catalog.=)`). The read locks exactly the rows the upsert is about to
//! lock itself, so nothing can change them in between, and under REPEATABLE READ it
//! sees the same snapshot as the statement. Each row the upsert reports as updated is
//! then paired with its old image by the conflict key of its new image
//! ([`super::images::Prior`]); the arbiter is a non-deferrable unique index, checked
//! row by row, so a key that was taken before belongs to the same row after.
//!
//! Where that cannot hold, the old values are not captured and the preview says why;
//! the new images are still shown:
//! - READ COMMITTED: a concurrent insert can commit a conflicting row after the read,
//!   and the upsert would update a row the read never saw;
//! - a conflict target that is not plain columns or a named constraint (an expression
//!   or a partial index's predicate), or a key column of a user-defined type (whose
//!   input and equality are the owner's code, run a second time);
//! - a source that is not a `VALUES` list of constants for the key columns (a `SELECT`,
//!   a function, `DEFAULT`): reading the keys would evaluate it a second time;
//! - a BEFORE INSERT trigger, which can change the key a row proposes.
//!
//! A row the upsert updated that the read did not find (which these rules should make
//! impossible) is shown without its old values, and the preview says so.

use std::collections::HashMap;

use crate::conn::Client;
use pg_query::protobuf::{InsertStmt, OnConflictAction};
use pg_query::NodeEnum;

use super::constant;
use super::error::PreviewError;
use super::images::{self, Datum, ImageError};
use super::relation::{display_ident, quote_ident, Relation};
use super::rewrite;

/// The read that takes the old images, and where the conflict key is in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRead {
    /// `SELECT image FROM target WHERE key in the proposed keys FOR UPDATE`.
    pub sql: String,
    /// The conflict key's columns, as indexes into an image's fields.
    pub key_fields: Vec<usize>,
}

/// The old images the pre-read found, by conflict key, each given out once.
#[derive(Debug, Default)]
pub struct Prior {
    key_fields: Vec<usize>,
    by_key: HashMap<Vec<Datum>, String>,
}

impl Prior {
    /// The images `read` (record text) by their conflict key at `key_fields`.
    pub fn new(key_fields: Vec<usize>, read: Vec<String>) -> Result<Prior, ImageError> {
        let mut by_key = HashMap::new();
        for image in read {
            let key = key_of(&image, &key_fields)?;
            by_key.insert(key, image);
        }
        Ok(Prior { key_fields, by_key })
    }

    /// The old image of the row whose new image is `new`, if the read found it.
    pub fn take(&mut self, new: &str) -> Result<Option<String>, ImageError> {
        let key = key_of(new, &self.key_fields)?;
        Ok(self.by_key.remove(&key))
    }
}

/// The fields at `fields` of the image `text`.
fn key_of(text: &str, fields: &[usize]) -> Result<Vec<Datum>, ImageError> {
    let values = images::record_fields(text)
        .ok_or_else(|| ImageError::Malformed(text.chars().take(80).collect()))?;
    fields
        .iter()
        .map(|&i| values.get(i).cloned())
        .collect::<Option<Vec<Datum>>>()
        .ok_or_else(|| ImageError::Malformed(text.chars().take(80).collect()))
}

/// What the upsert's conflict target and source say, as PostgreSQL's parser reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Proposed {
    /// The conflict target.
    arbiter: Arbiter,
    /// The INSERT's column list; empty for the table's columns in order.
    columns: Vec<String>,
    /// Each VALUES row: each cell's constant SQL, `None` where it is not a constant.
    rows: Vec<Vec<Option<String>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arbiter {
    Columns(Vec<String>),
    Constraint(String),
}

/// The pre-read for the upsert `text` on `target` (whose columns are `columns`), or
/// why its old values are not captured (a sentence).
pub async fn pre_read(
    client: &Client,
    target: &Relation,
    columns: &[String],
    text: &str,
    read_committed: bool,
) -> Result<Result<PreRead, String>, PreviewError> {
    if read_committed {
        return Ok(Err(
            "under READ COMMITTED a concurrent insert can race ON CONFLICT, so the rows an \
             upsert updates cannot be read before it exactly: old values not captured \
             (REPEATABLE READ, the default, shows them)"
                .into(),
        ));
    }
    let proposed = match proposed(text) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let key = match &proposed.arbiter {
        Arbiter::Columns(names) => names.clone(),
        Arbiter::Constraint(name) => {
            let row = client
                .query_opt(
                    "SELECT ARRAY(SELECT a.attname::pg_catalog.text \
                        FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                        JOIN pg_catalog.pg_attribute a \
                          ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid \
                         AND a.attnum OPERATOR(pg_catalog.=) k.attnum ORDER BY k.ord) \
                     FROM pg_catalog.pg_constraint c \
                     WHERE c.conrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
                       AND c.conname OPERATOR(pg_catalog.=) $2::pg_catalog.text",
                    &[&target.relid, name],
                )
                .await?;
            match row {
                Some(row) => row.try_get(0)?,
                None => {
                    return Ok(Err(format!(
                        "no constraint {} on {}: old values not captured",
                        display_ident(name),
                        target.display()
                    )))
                }
            }
        }
    };
    let rows = client
        .query(
            "SELECT a.attname::pg_catalog.text, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    a.atttypid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND a.attname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) \
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
            &[&target.relid, &key],
        )
        .await?;
    let mut types = Vec::new();
    for name in &key {
        let Some(row) = rows
            .iter()
            .find(|r| r.try_get::<_, String>(0).ok().as_deref() == Some(name.as_str()))
        else {
            return Ok(Err(format!(
                "the conflict key column {} is not a column of {}: old values not captured",
                display_ident(name),
                target.display()
            )));
        };
        if !row.try_get::<_, bool>(2)? {
            return Ok(Err(format!(
                "the conflict key column {} has a user-defined type, whose input and \
                 equality would run a second time: old values not captured",
                display_ident(name)
            )));
        }
        types.push(row.try_get::<_, String>(1)?);
    }
    let triggers: bool = client
        .query_one(
            "WITH RECURSIVE tree(relid) AS ( \
                 SELECT $1::pg_catalog.oid \
                 UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i \
                 JOIN tree ON i.inhparent OPERATOR(pg_catalog.=) tree.relid) \
             SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t JOIN tree \
                 ON t.tgrelid OPERATOR(pg_catalog.=) tree.relid \
                 WHERE NOT t.tgisinternal AND t.tgenabled OPERATOR(pg_catalog.<>) 'D' \
                   AND (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 6) \
                       OPERATOR(pg_catalog.=) 6)",
            &[&target.relid],
        )
        .await?
        .try_get(0)?;
    if triggers {
        return Ok(Err(format!(
            "a BEFORE INSERT trigger on {} can change the key a row proposes: old values \
             not captured",
            target.display()
        )));
    }
    Ok(build(target, columns, &proposed, &key, &types))
}

/// The pre-read's SQL, once the key columns and their types are known.
fn build(
    target: &Relation,
    columns: &[String],
    proposed: &Proposed,
    key: &[String],
    types: &[String],
) -> Result<PreRead, String> {
    let inserted: &[String] = if proposed.columns.is_empty() {
        columns
    } else {
        &proposed.columns
    };
    let mut positions = Vec::new();
    let mut key_fields = Vec::new();
    for name in key {
        let Some(at) = inserted.iter().position(|c| c == name) else {
            return Err(format!(
                "the INSERT gives no value for the conflict key column {}: old values not \
                 captured",
                display_ident(name)
            ));
        };
        positions.push(at);
        let Some(field) = columns.iter().position(|c| c == name) else {
            return Err(format!(
                "the conflict key column {} is not a column of {}: old values not captured",
                display_ident(name),
                target.display()
            ));
        };
        key_fields.push(field);
    }
    let mut alternatives = Vec::new();
    for row in &proposed.rows {
        let mut terms = Vec::new();
        let mut null = false;
        for ((name, at), ty) in key.iter().zip(&positions).zip(types) {
            let Some(Some(value)) = row.get(*at) else {
                return Err(format!(
                    "a row's value for the conflict key column {} is not a constant, and \
                     reading it would evaluate it a second time: old values not captured",
                    display_ident(name)
                ));
            };
            // A NULL key conflicts with nothing.
            null |= value == "NULL";
            terms.push(format!(
                "pgward_t.{} OPERATOR(pg_catalog.=) ({value})::{ty}",
                quote_ident(name)
            ));
        }
        if !null {
            alternatives.push(format!("({})", terms.join(" AND ")));
        }
    }
    let condition = if alternatives.is_empty() {
        "false".to_string()
    } else {
        alternatives.join(" OR ")
    };
    Ok(PreRead {
        sql: format!(
            "SELECT {} FROM {} AS pgward_t WHERE {condition} FOR UPDATE OF pgward_t",
            rewrite::image_sql("pgward_t"),
            target.from_item()
        ),
        key_fields,
    })
}

/// The conflict target, column list and VALUES constants of the upsert `text`.
fn proposed(text: &str) -> Result<Proposed, String> {
    const SOURCE: &str = "the upsert's rows do not come from a VALUES list of constants, \
         and reading their keys would evaluate them a second time: old values not captured";
    let parsed = pg_query::parse(text, pg_query::ParserOptions::DEFAULT)
        .map_err(|_| "PostgreSQL's parser cannot read the upsert: old values not captured")?;
    let insert: &InsertStmt = match parsed
        .protobuf
        .stmts
        .as_slice()
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|s| s.node.as_ref())
    {
        Some(NodeEnum::InsertStmt(insert)) if parsed.protobuf.stmts.len() == 1 => insert,
        _ => return Err("not a single INSERT: old values not captured".into()),
    };
    if insert.with_clause.is_some() {
        return Err(SOURCE.into());
    }
    let conflict = insert
        .on_conflict_clause
        .as_ref()
        .filter(|c| c.action == OnConflictAction::OnconflictUpdate as i32)
        .ok_or("not an ON CONFLICT DO UPDATE: old values not captured")?;
    const TARGET: &str = "the conflict target is not plain columns or a constraint (an \
         expression or a partial index): old values not captured";
    let infer = conflict.infer.as_ref().ok_or(TARGET)?;
    if infer.where_clause.is_some() {
        return Err(TARGET.into());
    }
    let arbiter = if !infer.conname.is_empty() {
        Arbiter::Constraint(infer.conname.clone())
    } else {
        let mut names = Vec::new();
        for elem in &infer.index_elems {
            match elem.node.as_ref() {
                Some(NodeEnum::IndexElem(e))
                    if !e.name.is_empty()
                        && e.expr.is_none()
                        && e.collation.is_empty()
                        && e.opclass.is_empty() =>
                {
                    names.push(e.name.clone())
                }
                _ => return Err(TARGET.into()),
            }
        }
        if names.is_empty() {
            return Err(TARGET.into());
        }
        Arbiter::Columns(names)
    };
    let mut columns = Vec::new();
    for col in &insert.cols {
        match col.node.as_ref() {
            Some(NodeEnum::ResTarget(t)) if t.indirection.is_empty() => {
                columns.push(t.name.clone())
            }
            _ => return Err("the INSERT assigns parts of columns: old values not captured".into()),
        }
    }
    let select = match insert.select_stmt.as_ref().and_then(|s| s.node.as_ref()) {
        Some(NodeEnum::SelectStmt(s)) => s,
        _ => return Err(SOURCE.into()),
    };
    if select.values_lists.is_empty()
        || !select.from_clause.is_empty()
        || select.with_clause.is_some()
    {
        return Err(SOURCE.into());
    }
    let mut rows = Vec::new();
    for list in &select.values_lists {
        let Some(NodeEnum::List(list)) = list.node.as_ref() else {
            return Err(SOURCE.into());
        };
        rows.push(
            list.items
                .iter()
                .map(|cell| constant::sql(cell.node.as_ref()))
                .collect(),
        );
    }
    Ok(Proposed {
        arbiter,
        columns,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation() -> Relation {
        Relation {
            relid: 1,
            schema: "public".into(),
            name: "stock".into(),
            kind: "r".into(),
        }
    }

    #[test]
    fn reads_target_columns_and_constants() {
        let p = proposed(
            "INSERT INTO stock AS s (qty, sku) VALUES (1, 'A'), (2, DEFAULT), (now(), 'C') \
             ON CONFLICT (sku) DO UPDATE SET qty = s.qty + excluded.qty",
        )
        .expect("proposed");
        assert_eq!(p.arbiter, Arbiter::Columns(vec!["sku".into()]));
        assert_eq!(p.columns, ["qty", "sku"]);
        assert_eq!(
            p.rows,
            [
                vec![Some("1".into()), Some("E'A'".into())],
                vec![Some("2".into()), None],
                vec![None, Some("E'C'".into())],
            ]
        );
        let p = proposed(
            "insert into t values (1) on conflict on constraint t_pkey do update set v = 1",
        )
        .expect("constraint");
        assert_eq!(p.arbiter, Arbiter::Constraint("t_pkey".into()));
        for (sql, why) in [
            (
                "INSERT INTO t SELECT * FROM s ON CONFLICT (id) DO UPDATE SET v = 1",
                "VALUES",
            ),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT (lower(k)) DO UPDATE SET v = 1",
                "expression",
            ),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT (k) WHERE k > 0 DO UPDATE SET v = 1",
                "expression",
            ),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
                "DO UPDATE",
            ),
            (
                "WITH x AS (SELECT 1) INSERT INTO t VALUES (1) ON CONFLICT (k) DO UPDATE SET v = 1",
                "VALUES",
            ),
        ] {
            let reason = proposed(sql).expect_err(sql);
            assert!(
                reason.contains(why) && reason.ends_with("not captured"),
                "{sql}: {reason}"
            );
        }
    }

    #[test]
    fn prior_images_pair_by_key_once() {
        let mut prior =
            Prior::new(vec![1], vec!["(1,A)".into(), "(2,\"B,b\")".into()]).expect("prior");
        assert_eq!(
            prior.take("(10,A)").expect("take").as_deref(),
            Some("(1,A)")
        );
        assert_eq!(prior.take("(10,A)").expect("take"), None);
        assert_eq!(
            prior.take("(3,\"B,b\")").expect("take").as_deref(),
            Some("(2,\"B,b\")")
        );
        assert_eq!(prior.take("(3,)").expect("take"), None);
        assert!(prior.take("not a record").is_err());
    }

    #[test]
    fn builds_one_alternative_per_row_and_refuses_unknown_keys() {
        let columns = ["sku".to_string(), "qty".to_string()];
        let p = proposed(
            "INSERT INTO stock VALUES ('A', 1), (NULL, 2), ('it''s', 3) \
             ON CONFLICT (sku) DO UPDATE SET qty = 0",
        )
        .expect("proposed");
        let read =
            build(&relation(), &columns, &p, &["sku".into()], &["text".into()]).expect("read");
        assert_eq!(read.key_fields, [0]);
        assert_eq!(
            read.sql,
            "SELECT pg_catalog.record_out(pgward_t.*) FROM ONLY \"public\".\"stock\" AS pgward_t \
             WHERE (pgward_t.\"sku\" OPERATOR(pg_catalog.=) (E'A')::text) \
             OR (pgward_t.\"sku\" OPERATOR(pg_catalog.=) (E'it''s')::text) FOR UPDATE OF pgward_t"
        );
        let p = proposed(
            "INSERT INTO stock VALUES (DEFAULT, 1) ON CONFLICT (sku) DO UPDATE SET qty = 0",
        )
        .expect("proposed");
        let why = build(&relation(), &columns, &p, &["sku".into()], &["text".into()])
            .expect_err("default key");
        assert!(why.contains("not a constant"), "{why}");
        let p =
            proposed("INSERT INTO stock (qty) VALUES (1) ON CONFLICT (sku) DO UPDATE SET qty = 0")
                .expect("proposed");
        let why = build(&relation(), &columns, &p, &["sku".into()], &["text".into()])
            .expect_err("no key");
        assert!(why.contains("gives no value"), "{why}");
    }
}
