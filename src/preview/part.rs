//! One table a statement with data-modifying WITH writes, captured on its own: the
//! part's target, how its rows are keyed, its images once it ran, and whether they
//! explain what the server counted on the target's tree. A report holds one [`Part`]
//! per table ([`super::statement::Report::parts`]); each is rendered, digested, netted
//! and undone exactly like a single statement's target, with the same types.
//!
//! [`plan`] decides whether the statement can be captured at all. The rewrite
//! ([`super::cte`]) runs the parts one after the other, which is the typed statement
//! only where no part can observe the order: so every part must be one that a statement
//! of its own could capture ([`super::eligible`]), no two parts may write one table (or
//! its partitions or children), and no user trigger may fire on a target. Otherwise the
//! statement runs as typed, with counts only and the reason.

use crate::conn::Client;
use sha2::{Digest, Sha256};

use super::counts::{self, TableCounts};
use super::cte::{self, Parts};
use super::eligible;
use super::error::PreviewError;
use super::facts;
use super::images::Images;
use super::keys::RowKey;
use super::relation::{display_name, Relation};
use super::rewrite::CaptureKind;
use super::statement;

/// One table the statement writes.
#[derive(Debug)]
pub struct Part {
    /// How the preview names the part (`WITH d: DELETE`).
    pub label: String,
    /// Which images it returns.
    pub kind: CaptureKind,
    /// The table.
    pub target: Relation,
    /// How its rows are keyed.
    pub key: RowKey,
    /// Its columns, in order: the names of an image's fields.
    pub columns: Vec<String>,
    /// Those of them psql right-aligns.
    pub right_aligned: Vec<String>,
    /// The table, its partitions and inheritance children.
    pub tree: Vec<u32>,
    /// Its images, once the statement ran with the capture.
    pub images: Option<Images>,
    /// The images explain every row the server counted on the tree (see
    /// [`Part::check`]).
    pub exact: bool,
}

/// The capture of `text`, a statement with data-modifying WITH, and its parts; or why
/// it runs as typed with counts only. Asks the server to describe the statement: a
/// failure there is a reason (the savepoint it ran in is then aborted, so this comes
/// last in planning).
pub async fn plan(
    client: &Client,
    text: &str,
    read_committed: bool,
) -> Result<Result<(Parts, Vec<Part>), String>, PreviewError> {
    let describe = match cte::describe(text) {
        Ok(d) => d,
        Err(why) => return Ok(Err(why)),
    };
    let unreadable = |e: &tokio_postgres::Error| {
        format!(
            "the server could not describe the statement ({}): counts only",
            crate::render::error::one_line(e)
        )
    };
    let mut names = Vec::new();
    for query in &describe.ctes {
        let Some(query) = query else {
            names.push(Vec::new());
            continue;
        };
        match client.prepare(query).await {
            Ok(s) => names.push(s.columns().iter().map(|c| c.name().to_string()).collect()),
            Err(e) => return Ok(Err(unreadable(&e))),
        }
    }
    let user_columns = if describe.main_query {
        match client.prepare(text).await {
            Ok(s) => s.columns().len(),
            Err(e) => return Ok(Err(unreadable(&e))),
        }
    } else {
        0
    };
    let capture = match cte::rewrite(text, &names, user_columns) {
        Ok(c) => c,
        Err(why) => return Ok(Err(why)),
    };
    let mut parts: Vec<Part> = Vec::new();
    for p in &capture.parts {
        let Some((relid, _)) = counts::resolve_table(client, &p.relation).await? else {
            return Ok(Err(format!(
                "{} is not a table pgward can find: counts only",
                p.relation
            )));
        };
        if let Some(why) = eligible::capture_blocker(client, relid).await? {
            return Ok(Err(why));
        }
        if let Some(why) = super::distinct::output_facts(client, relid).await?.lossy() {
            return Ok(Err(why));
        }
        if read_committed && p.kind == CaptureKind::Update {
            return Ok(Err(
                "under READ COMMITTED a concurrent update could make the row \
                           capture skip rows: counts only (REPEATABLE READ, the default, \
                           shows every row)"
                    .into(),
            ));
        }
        let facts = facts::target(client, relid).await?;
        let target = facts.relation;
        let tree = statement::tree(client, relid).await?;
        if let Some(other) = parts
            .iter()
            .find(|q| q.tree.iter().any(|r| tree.contains(r)))
        {
            return Ok(Err(format!(
                "two parts of the statement write {} and {}, one table or its partitions: \
                 which change wins depends on the order PostgreSQL runs them in: counts only",
                other.target.display(),
                target.display()
            )));
        }
        let triggered = user_triggers(client, &tree).await?;
        if !triggered.is_empty() {
            return Ok(Err(format!(
                "triggers on {} could see the parts of the statement run in another order \
                 under a capture: counts only",
                triggered.join(", ")
            )));
        }
        parts.push(Part {
            label: p.label(),
            kind: p.kind,
            key: facts.key,
            columns: facts.columns,
            right_aligned: facts.right_aligned,
            target,
            tree,
            images: None,
            exact: false,
        });
    }
    Ok(Ok((capture, parts)))
}

/// The tables of `relids` with user triggers (enabled or not: `session_replication_role`
/// decides whether they fire), by display name.
async fn user_triggers(client: &Client, relids: &[u32]) -> Result<Vec<String>, PreviewError> {
    let rows = client
        .query(
            "SELECT DISTINCT n.nspname::pg_catalog.text, c.relname::pg_catalog.text \
             FROM pg_catalog.pg_trigger t \
             JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
             WHERE t.tgrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[]) \
               AND NOT t.tgisinternal \
             ORDER BY 1, 2",
            &[&relids],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(display_name(
                &row.try_get::<_, String>(0)?,
                &row.try_get::<_, String>(1)?,
            ))
        })
        .collect()
}

impl Part {
    /// What the server counted on the part's tree in `delta` (inserted, updated,
    /// deleted).
    pub fn counted(&self, delta: &[TableCounts]) -> (i64, i64, i64) {
        delta
            .iter()
            .filter(|c| self.tree.contains(&c.relid))
            .fold((0, 0, 0), |(i, u, d), c| {
                (i + c.inserted, u + c.updated, d + c.deleted)
            })
    }

    /// Rows an UPDATE part moved to another partition (counted by the server as a
    /// delete and an insert).
    fn moved(&self, delta: &[TableCounts]) -> i64 {
        if self.kind != CaptureKind::Update || self.tree.len() < 2 {
            return 0;
        }
        let (i, _, d) = self.counted(delta);
        i.min(d).max(0)
    }

    /// Whether the operation `op` (`inserted`, `updated`, `deleted`) on a table of the
    /// tree is this part's own.
    pub fn owns(&self, relid: u32, op: &str) -> bool {
        self.tree.contains(&relid)
            && match self.kind {
                CaptureKind::Update => op == "updated",
                CaptureKind::Delete => op == "deleted",
                _ => op == "inserted",
            }
    }

    /// Compares the images with the server's counts on the tree; sets
    /// [`Part::exact`] and returns the warnings.
    pub fn check(&mut self, delta: &[TableCounts]) -> Vec<String> {
        let Some(images) = &self.images else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        let (i, u, d) = self.counted(delta);
        let moved = self.moved(delta);
        let (server, other, what) = match self.kind {
            CaptureKind::Update => (u + moved, i - moved + d - moved, "inserted or deleted"),
            CaptureKind::Delete => (d, i + u, "inserted or updated"),
            _ => (i, u + d, "updated or deleted"),
        };
        let table = self.target.display();
        if server != images.total as i64 {
            warnings.push(format!(
                "the capture of {} saw {} rows of {table} but the server counted {server}: a \
                 rule or function changed rows of the same table",
                self.label, images.total
            ));
        }
        if other > 0 {
            warnings.push(format!(
                "the server also counted {other} rows of {table} {what}, which {} does not do \
                 itself",
                self.label
            ));
        }
        self.exact = server == images.total as i64 && other <= 0;
        warnings
    }
}

/// One digest over every part, in order: each table's quoted name and its images'
/// digest, so the change digest binds which table each image belongs to. `None` when a
/// part's rows were not captured.
pub fn digest(parts: &[Part]) -> Option<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(b"pgward-parts-v1\n");
    hasher.update((parts.len() as u64).to_be_bytes());
    for part in parts {
        let images = part.images.as_ref()?;
        let table = part.target.quoted();
        hasher.update((table.len() as u64).to_be_bytes());
        hasher.update(table.as_bytes());
        hasher.update(images.digest);
    }
    Some(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::images::{CapturedRow, ImageSink, SinkOptions};

    fn part(table: &str, rows: &[&str]) -> Part {
        let columns = vec!["id".to_string()];
        let key = RowKey::Primary(columns.clone());
        let mut sink = ImageSink::new(
            CaptureKind::Delete,
            key.clone(),
            columns.clone(),
            SinkOptions::default(),
        );
        for row in rows {
            sink.push(CapturedRow {
                old: Some(row),
                ctid: Some("(0,1)"),
                ..CapturedRow::default()
            })
            .expect("row");
        }
        Part {
            label: "WITH d".into(),
            kind: CaptureKind::Delete,
            target: Relation {
                relid: 1,
                schema: "public".into(),
                name: table.into(),
                kind: "r".into(),
            },
            key,
            columns,
            right_aligned: Vec::new(),
            tree: vec![1],
            images: Some(sink.finish().expect("images")),
            exact: true,
        }
    }

    #[test]
    fn the_digest_binds_each_table_and_its_images() {
        let both = digest(&[part("a", &["(1)"]), part("b", &["(2)"])]).expect("captured");
        // The same images under other tables, another row, or in another order differ.
        assert_ne!(
            Some(both),
            digest(&[part("a", &["(1)"]), part("c", &["(2)"])])
        );
        assert_ne!(
            Some(both),
            digest(&[part("a", &["(1)"]), part("b", &["(3)"])])
        );
        assert_ne!(
            Some(both),
            digest(&[part("b", &["(2)"]), part("a", &["(1)"])])
        );
        assert_eq!(
            Some(both),
            digest(&[part("a", &["(1)"]), part("b", &["(2)"])])
        );
        // A part without images: no image digest for the statement.
        let mut missing = part("b", &["(2)"]);
        missing.images = None;
        assert_eq!(digest(&[part("a", &["(1)"]), missing]), None);
    }
}
