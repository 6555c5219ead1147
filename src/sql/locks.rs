//! The table lock each schema change takes, as data (PostgreSQL's documentation, "Explicit
//! Locking" and each command's page). `pgward check` reports it, so a reviewer sees that
//! `ALTER TABLE … ADD COLUMN` blocks every reader and `CREATE INDEX` blocks writers. Every
//! schema change gets one, [`NONE`] when it locks no table that existed before it; each
//! was checked against `pg_locks` on a real server.

use pg_query::protobuf::{AlterTableType, ConstrType, CreateStmt, DropBehavior, ObjectType};
use pg_query::NodeEnum;

/// The lock modes, weakest first.
pub const MODES: &[&str] = &[
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
];

/// The stronger of two lock modes ([`NONE`] is weaker than any).
pub fn max(a: Option<&'static str>, b: &'static str) -> &'static str {
    let rank = |m: &str| {
        if m == NONE {
            0
        } else {
            MODES
                .iter()
                .position(|x| *x == m)
                .map_or(MODES.len() + 1, |p| p + 1)
        }
    };
    match a {
        Some(a) if rank(a) >= rank(b) => a,
        _ => b,
    }
}

/// The lock mode named by `LOCK TABLE … IN mode MODE` (pg_query's `LockStmt.mode`, the
/// server's LOCKMODE number).
pub fn lock_stmt_mode(mode: i32) -> &'static str {
    usize::try_from(mode)
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|m| MODES.get(m))
        .copied()
        .unwrap_or("ACCESS EXCLUSIVE")
}

/// The lock one `ALTER TABLE` subcommand takes on its table.
pub fn alter_table(subtype: AlterTableType, foreign_key: bool) -> &'static str {
    use AlterTableType as A;
    match subtype {
        A::AtSetStatistics
        | A::AtClusterOn
        | A::AtDropCluster
        | A::AtSetRelOptions
        | A::AtResetRelOptions
        | A::AtReplaceRelOptions
        | A::AtValidateConstraint
        | A::AtSetOptions
        | A::AtResetOptions => "SHARE UPDATE EXCLUSIVE",
        A::AtAddConstraint if foreign_key => "SHARE ROW EXCLUSIVE",
        A::AtEnableTrig
        | A::AtEnableAlwaysTrig
        | A::AtEnableReplicaTrig
        | A::AtDisableTrig
        | A::AtEnableTrigAll
        | A::AtDisableTrigAll
        | A::AtEnableTrigUser
        | A::AtDisableTrigUser => "SHARE ROW EXCLUSIVE",
        // ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent, and ACCESS
        // EXCLUSIVE on the table it attaches; the rest lock the table fully.
        _ => "ACCESS EXCLUSIVE",
    }
}

/// What `lock` says of a schema change that takes no lock on any table that existed
/// before it (a new function, type or role, GRANT, REVOKE): it blocks no reader or writer.
pub const NONE: &str = "none";

/// The lock of a schema change whose own `match` arm in the classifier does not name one,
/// checked against `pg_locks` on a real server (see docs/check.md): the strongest lock it
/// takes on a table, view, index or sequence that existed before it, or [`NONE`].
pub fn ddl(node: &NodeEnum) -> &'static str {
    const AX: &str = "ACCESS EXCLUSIVE";
    const SUE: &str = "SHARE UPDATE EXCLUSIVE";
    match node {
        NodeEnum::CreateStmt(c) => create_table(c),
        // The query is planned (CREATE VIEW) or run (CREATE TABLE AS) over what it reads.
        NodeEnum::CreateTableAsStmt(_) => "ACCESS SHARE",
        NodeEnum::ViewStmt(v) if v.replace => AX,
        NodeEnum::ViewStmt(_) => "ACCESS SHARE",
        // OWNED BY looks the table up.
        NodeEnum::CreateSeqStmt(s)
            if s.options.iter().any(|o| {
                matches!(o.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == "owned_by")
            }) =>
        {
            "ACCESS SHARE"
        }
        NodeEnum::CreateSchemaStmt(s) => s
            .schema_elts
            .iter()
            .filter_map(|e| e.node.as_ref())
            .fold(NONE, |lock, e| max(Some(lock), ddl_or_own(e))),
        NodeEnum::CreateStatsStmt(_) => SUE,
        NodeEnum::CreatePublicationStmt(p) if !p.pubobjects.is_empty() || p.for_all_tables => SUE,
        NodeEnum::AlterPublicationStmt(p) if !p.pubobjects.is_empty() || p.for_all_tables => SUE,
        NodeEnum::AlterSeqStmt(_) => "SHARE ROW EXCLUSIVE",
        NodeEnum::RenameStmt(r) if r.rename_type() == ObjectType::ObjectIndex => SUE,
        NodeEnum::RenameStmt(r) if on_relation(r.rename_type()) => AX,
        NodeEnum::AlterObjectSchemaStmt(a) if on_relation(a.object_type()) => AX,
        NodeEnum::CommentStmt(c) if on_relation(c.objtype()) => SUE,
        NodeEnum::SecLabelStmt(s) if on_relation(s.objtype()) => SUE,
        // Validating existing values locks every table with a column of the domain.
        NodeEnum::AlterDomainStmt(d) if matches!(d.subtype.as_str(), "C" | "O" | "V") => "SHARE",
        // Drops and re-owns whatever the role owns, tables included.
        NodeEnum::DropOwnedStmt(_) | NodeEnum::ReassignOwnedStmt(_) => AX,
        NodeEnum::DropStmt(d) if on_relation(d.remove_type()) => AX,
        // CASCADE can drop columns and triggers of tables.
        NodeEnum::DropStmt(d) if d.behavior() == DropBehavior::DropCascade => AX,
        _ => NONE,
    }
}

/// [`ddl`], for the statements whose lock the classifier's `match` names itself.
fn ddl_or_own(node: &NodeEnum) -> &'static str {
    match node {
        NodeEnum::IndexStmt(_) => "SHARE",
        NodeEnum::CreateTrigStmt(_) => "SHARE ROW EXCLUSIVE",
        NodeEnum::CreatePolicyStmt(_) | NodeEnum::RuleStmt(_) => "ACCESS EXCLUSIVE",
        other => ddl(other),
    }
}

/// Object types that are a relation or part of one (a column, constraint, trigger, rule
/// or policy): changing them locks the table.
fn on_relation(t: ObjectType) -> bool {
    use ObjectType as O;
    matches!(
        t,
        O::ObjectTable
            | O::ObjectColumn
            | O::ObjectIndex
            | O::ObjectView
            | O::ObjectMatview
            | O::ObjectSequence
            | O::ObjectForeignTable
            | O::ObjectTabconstraint
            | O::ObjectTrigger
            | O::ObjectRule
            | O::ObjectPolicy
    )
}

/// `CREATE TABLE`: a new table locks only what it points at — a partitioned parent
/// (ACCESS EXCLUSIVE), an inheritance parent (SHARE UPDATE EXCLUSIVE), a referenced table
/// (SHARE ROW EXCLUSIVE), a `LIKE` source (ACCESS SHARE).
pub(crate) fn create_table(c: &CreateStmt) -> &'static str {
    let mut lock = NONE;
    if !c.inh_relations.is_empty() {
        let parent = if c.partbound.is_some() {
            "ACCESS EXCLUSIVE"
        } else {
            "SHARE UPDATE EXCLUSIVE"
        };
        lock = max(Some(lock), parent);
    }
    let foreign = |n: &pg_query::Node| {
        matches!(n.node.as_ref(), Some(NodeEnum::Constraint(k))
            if k.contype() == ConstrType::ConstrForeign)
    };
    for element in c.table_elts.iter().chain(&c.constraints) {
        match element.node.as_ref() {
            Some(NodeEnum::ColumnDef(col)) if col.constraints.iter().any(foreign) => {
                lock = max(Some(lock), "SHARE ROW EXCLUSIVE");
            }
            Some(NodeEnum::TableLikeClause(_)) => lock = max(Some(lock), "ACCESS SHARE"),
            _ if foreign(element) => lock = max(Some(lock), "SHARE ROW EXCLUSIVE"),
            _ => {}
        }
    }
    lock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order() {
        assert_eq!(max(Some("SHARE"), "ACCESS EXCLUSIVE"), "ACCESS EXCLUSIVE");
        assert_eq!(max(Some("ACCESS EXCLUSIVE"), "SHARE"), "ACCESS EXCLUSIVE");
        assert_eq!(max(None, "SHARE"), "SHARE");
        assert_eq!(lock_stmt_mode(8), "ACCESS EXCLUSIVE");
        assert_eq!(lock_stmt_mode(3), "ROW EXCLUSIVE");
        assert_eq!(max(Some(NONE), "ACCESS SHARE"), "ACCESS SHARE");
        assert_eq!(max(Some("ACCESS SHARE"), NONE), "ACCESS SHARE");
    }
}
