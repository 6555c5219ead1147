//! Whether the open transaction's change can be undone from what pgward captured,
//! decided before COMMIT so the summary says it and the `commit_intent` record keeps
//! it: nobody learns after COMMIT that there is no way back. Undo is possible only when
//! every row the transaction changed was captured with a key to find it by (a primary
//! key or a NOT NULL unique key). It is impossible, with the reason named, for schema
//! and storage changes (DDL), TRUNCATE, a table without such a key, and any table
//! whose captured rows do not explain everything the server counted on it: a statement
//! shown with counts only (a capture limit, an uncapturable form), rows changed by
//! foreign-key actions not read around the statement, triggers or deferred work
//! (counted, not captured). Rows a foreign key removed or changed count as captured
//! when they were read around the statement and match the server's count
//! (`preview::cascade_images`).

use crate::audit::record::Undo;

use super::changes::Changes;

/// Whether `changes` can be undone, and if not, every reason, one line each.
pub fn availability(changes: &Changes) -> Undo {
    let mut impossible: Vec<String> = Vec::new();
    let mut add = |why: String| {
        if !impossible.contains(&why) {
            impossible.push(why);
        }
    };
    for line in &changes.schema {
        add(format!(
            "{line}: a schema or storage change (DDL), which has no undo"
        ));
    }
    for (table, _) in &changes.truncated {
        add(format!(
            "TRUNCATE {table}: the rows it removed were not captured"
        ));
    }
    for s in changes.net.iter().filter(|s| !s.keyed) {
        add(format!(
            "{}: it has no primary key or NOT NULL unique key to find its rows by",
            s.table
        ));
    }
    for line in changes.net() {
        if let Err(why) = line.net {
            add(format!("{}: {why}", line.table));
        }
    }
    if let Some(Err(why)) = &changes.undo_sql {
        add(format!("the undo SQL could not be generated: {why}"));
    }
    let stored = match &changes.undo_sql {
        Some(Ok(stored)) if impossible.is_empty() => Some(stored),
        _ => None,
    };
    Undo {
        possible: impossible.is_empty(),
        impossible,
        sql: stored.and_then(|s| s.sql.clone()),
        file: stored.and_then(|s| s.file.clone()),
        sha256: stored.map(|s| s.sha256.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::counts::TableCounts;
    use crate::preview::net::NetWriter;
    use crate::session::changes::NetStatement;

    fn counts(relid: u32, table: &str, updated: i64) -> TableCounts {
        TableCounts {
            relid,
            table: table.into(),
            inserted: 0,
            updated,
            deleted: 0,
        }
    }

    fn captured(relid: u32, table: &str, updated: i64, keyed: bool) -> NetStatement {
        NetStatement {
            step: 1,
            relid,
            table: table.into(),
            tree: vec![relid],
            counted: (0, updated, 0),
            exact: true,
            by_cascade: false,
            keyed,
            rows: NetWriter::new(Some(vec![0])).finish(),
            quoted: format!("\"{table}\""),
            columns: vec!["id".into()],
            key: vec!["id".into()],
            spill: None,
        }
    }

    #[test]
    fn nothing_changed_is_undoable() {
        let undo = availability(&Changes::default());
        assert!(undo.possible);
        assert!(undo.impossible.is_empty());
    }

    #[test]
    fn every_reason_is_named() {
        let changes = Changes {
            schema: vec!["statement 1: ALTER TABLE t".into()],
            truncated: vec![("public.u".into(), 3)],
            cumulative: vec![counts(1, "public.a", 1), counts(2, "public.child", 4)],
            net: vec![captured(1, "public.a", 1, false)],
            ..Changes::default()
        };
        let undo = availability(&changes);
        assert!(!undo.possible);
        let all = undo.impossible.join("\n");
        for needle in [
            "statement 1: ALTER TABLE t",
            "TRUNCATE public.u",
            "public.a: it has no primary key",
            "public.child: its rows are not captured",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
    }

    #[test]
    fn rows_counted_beyond_the_capture_make_undo_impossible() {
        // The capture explains one update; the server counted two (a trigger).
        let changes = Changes {
            cumulative: vec![counts(1, "public.a", 2)],
            net: vec![captured(1, "public.a", 1, true)],
            ..Changes::default()
        };
        let undo = availability(&changes);
        assert!(!undo.possible);
        assert_eq!(undo.impossible.len(), 1, "{:?}", undo.impossible);
        assert!(undo.impossible[0].starts_with("public.a: "));
    }
}
