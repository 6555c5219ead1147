//! The table lock each schema change takes, as data (PostgreSQL's documentation, "Explicit
//! Locking" and each command's page). `pgward check` reports it, so a reviewer sees that
//! `ALTER TABLE … ADD COLUMN` blocks every reader and `CREATE INDEX` blocks writers.

use pg_query::protobuf::AlterTableType;

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

/// The stronger of two lock modes.
pub fn max(a: Option<&'static str>, b: &'static str) -> &'static str {
    let rank = |m: &str| MODES.iter().position(|x| *x == m).unwrap_or(MODES.len());
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
        | A::AtAttachPartition
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
        _ => "ACCESS EXCLUSIVE",
    }
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
    }
}
