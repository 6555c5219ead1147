//! Functions the guard knows by name, as data: what calling each one means.
//!
//! A function call is a parse-tree fact (`FuncCall` with its qualified name), so a name
//! inside a string literal is never a call. Names are matched on their last part,
//! lower-cased, whatever the schema: `public.dblink` and `pg_catalog.setval` are the
//! functions they look like, and a look-alike in another schema is refused with them
//! (failing closed). Every entry carries why, shown in the refusal or warning.

use crate::policy::Rule;

/// How a [`FUNCTIONS`] entry matches a function's last name part.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    /// The whole name.
    Exact(&'static str),
    /// Any name that starts with this.
    Prefix(&'static str),
}

/// What calling a known function means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Refused under this rule.
    Refuse(Rule),
    /// Changes state that ROLLBACK does not restore: a write with a warning, never run by
    /// `--dry-run` or `\preview`.
    SurvivesRollback,
    /// Changes rows or objects pgward cannot see row by row: an opaque write.
    Writes,
    /// Runs the SQL text handed to it as argument `arg` (0-based), when called with
    /// `nargs` arguments (any number when `None`): a string constant there is classified
    /// like a typed statement; anything computed is refused as dynamic SQL.
    RunsSql {
        /// Which argument is the SQL text.
        arg: usize,
        /// The form of the function this applies to, by its number of arguments.
        nargs: Option<usize>,
    },
}

const SESSION_LOCK: &str =
    "a session-level advisory lock outlives ROLLBACK; use pg_advisory_xact_lock";
const STATS: &str = "a statistics reset is not rolled back";
const SLOT: &str = "it consumes a replication slot's changes";
const RUNS_SQL: &str = "it runs SQL handed to it as text, which pgward's classifier never sees";

/// Known functions: (pattern, effect, why).
#[rustfmt::skip]
pub const FUNCTIONS: &[(Pattern, Effect, &str)] = &[
    // Other connections, server files, the server process.
    (Pattern::Prefix("dblink"), Effect::Refuse(Rule::OutsideReach), "it opens another connection, whose changes commit outside this transaction"),
    (Pattern::Exact("lo_import"), Effect::Refuse(Rule::OutsideReach), "it reads a server file"),
    (Pattern::Exact("lo_export"), Effect::Refuse(Rule::OutsideReach), "it writes a server file"),
    (Pattern::Exact("pg_read_file"), Effect::Refuse(Rule::OutsideReach), "it reads a server file"),
    (Pattern::Exact("pg_read_binary_file"), Effect::Refuse(Rule::OutsideReach), "it reads a server file"),
    (Pattern::Prefix("pg_ls_"), Effect::Refuse(Rule::OutsideReach), "it lists server directories"),
    (Pattern::Exact("pg_stat_file"), Effect::Refuse(Rule::OutsideReach), "it reads server file metadata"),
    (Pattern::Prefix("pg_file_"), Effect::Refuse(Rule::OutsideReach), "it writes server files (adminpack)"),
    (Pattern::Exact("pg_logdir_ls"), Effect::Refuse(Rule::OutsideReach), "it lists server directories"),
    (Pattern::Exact("pg_reload_conf"), Effect::Refuse(Rule::OutsideReach), "it reloads the server's configuration"),
    (Pattern::Exact("pg_rotate_logfile"), Effect::Refuse(Rule::OutsideReach), "it acts on the server process"),
    (Pattern::Exact("pg_promote"), Effect::Refuse(Rule::OutsideReach), "it promotes a standby"),
    (Pattern::Exact("pg_terminate_backend"), Effect::Refuse(Rule::OutsideReach), "it ends other sessions"),
    (Pattern::Exact("pg_cancel_backend"), Effect::Refuse(Rule::OutsideReach), "it cancels other sessions' queries"),
    (Pattern::Exact("pg_switch_wal"), Effect::Refuse(Rule::OutsideReach), "it acts on the write-ahead log"),
    (Pattern::Exact("pg_create_restore_point"), Effect::Refuse(Rule::OutsideReach), "it acts on the write-ahead log"),
    (Pattern::Prefix("pg_backup_"), Effect::Refuse(Rule::OutsideReach), "it controls backups"),
    (Pattern::Exact("pg_start_backup"), Effect::Refuse(Rule::OutsideReach), "it controls backups"),
    (Pattern::Exact("pg_stop_backup"), Effect::Refuse(Rule::OutsideReach), "it controls backups"),
    (Pattern::Exact("pg_create_physical_replication_slot"), Effect::Refuse(Rule::OutsideReach), "replication slots are not rolled back"),
    (Pattern::Exact("pg_create_logical_replication_slot"), Effect::Refuse(Rule::OutsideReach), "replication slots are not rolled back"),
    (Pattern::Exact("pg_drop_replication_slot"), Effect::Refuse(Rule::OutsideReach), "replication slots are not rolled back"),
    (Pattern::Exact("pg_copy_physical_replication_slot"), Effect::Refuse(Rule::OutsideReach), "replication slots are not rolled back"),
    (Pattern::Exact("pg_copy_logical_replication_slot"), Effect::Refuse(Rule::OutsideReach), "replication slots are not rolled back"),
    (Pattern::Prefix("pg_replication_origin"), Effect::Refuse(Rule::OutsideReach), "replication progress is not rolled back"),
    (Pattern::Prefix("pg_logical_slot_"), Effect::Refuse(Rule::OutsideReach), SLOT),
    (Pattern::Exact("pg_replication_slot_advance"), Effect::Refuse(Rule::OutsideReach), SLOT),
    (Pattern::Exact("pg_logical_emit_message"), Effect::Refuse(Rule::OutsideReach), "a non-transactional message reaches logical decoding even if rolled back"),
    (Pattern::Prefix("pg_wal_replay_"), Effect::Refuse(Rule::OutsideReach), "it acts on recovery"),
    (Pattern::Prefix("pg_background"), Effect::Refuse(Rule::OutsideReach), "it runs SQL in a background worker, outside this transaction"),
    // Acting outside the transaction: not undone by ROLLBACK.
    (Pattern::Prefix("pg_advisory_lock"), Effect::Refuse(Rule::OutsideReach), SESSION_LOCK),
    (Pattern::Prefix("pg_try_advisory_lock"), Effect::Refuse(Rule::OutsideReach), SESSION_LOCK),
    (Pattern::Prefix("pg_advisory_unlock"), Effect::Refuse(Rule::OutsideReach), SESSION_LOCK),
    (Pattern::Prefix("pg_stat_reset"), Effect::Refuse(Rule::OutsideReach), STATS),
    (Pattern::Exact("pg_stat_statements_reset"), Effect::Refuse(Rule::OutsideReach), STATS),
    // Not listed: `pg_stat_clear_snapshot()` only drops this session's cached copy of
    // the statistics, so it is a read.
    // Built-ins that run SQL handed to them as text: a constant is classified as that SQL.
    (Pattern::Prefix("query_to_xml"), Effect::RunsSql { arg: 0, nargs: None }, RUNS_SQL),
    (Pattern::Exact("ts_stat"), Effect::RunsSql { arg: 0, nargs: None }, RUNS_SQL),
    // ts_rewrite(query, target, substitute) only rewrites a tsquery; the two-argument
    // form runs its second argument as a query.
    (Pattern::Exact("ts_rewrite"), Effect::RunsSql { arg: 1, nargs: Some(2) }, RUNS_SQL),
    // What builds SQL from its arguments, or fetches a cursor's rows: refused.
    (Pattern::Prefix("cursor_to_xml"), Effect::Refuse(Rule::DynamicSql), "it fetches from a cursor, whose query pgward does not know"),
    (Pattern::Prefix("crosstab"), Effect::Refuse(Rule::DynamicSql), RUNS_SQL),
    (Pattern::Exact("connectby"), Effect::Refuse(Rule::DynamicSql), RUNS_SQL),
    (Pattern::Exact("xpath_table"), Effect::Refuse(Rule::DynamicSql), RUNS_SQL),
    // Index maintenance and sequences: their effect survives ROLLBACK (docs/refused.md,
    // OutsideReach).
    (Pattern::Exact("brin_summarize_new_values"), Effect::SurvivesRollback, "BRIN summarization is not undone by ROLLBACK"),
    (Pattern::Exact("brin_summarize_range"), Effect::SurvivesRollback, "BRIN summarization is not undone by ROLLBACK"),
    (Pattern::Exact("brin_desummarize_range"), Effect::SurvivesRollback, "BRIN desummarization is not undone by ROLLBACK"),
    (Pattern::Exact("gin_clean_pending_list"), Effect::SurvivesRollback, "moving a GIN pending list into the index is not undone by ROLLBACK"),
    (Pattern::Exact("nextval"), Effect::SurvivesRollback, "a sequence advanced by nextval stays advanced after ROLLBACK"),
    (Pattern::Exact("setval"), Effect::SurvivesRollback, "a sequence set by setval keeps its new value after ROLLBACK"),
    // Transactional, but invisible to the preview: a notification is queued, and
    // delivered to the listeners only if the transaction commits (never for a read,
    // which pgward ends with ROLLBACK).
    (Pattern::Exact("pg_notify"), Effect::Writes, "it queues a notification, delivered to listeners at COMMIT"),
    // Large objects: changes pgward cannot show row by row.
    (Pattern::Prefix("lo_creat"), Effect::Writes, "it creates a large object"),
    (Pattern::Exact("lo_unlink"), Effect::Writes, "it removes a large object"),
    (Pattern::Exact("lo_put"), Effect::Writes, "it writes a large object"),
    (Pattern::Exact("lo_from_bytea"), Effect::Writes, "it creates a large object"),
    (Pattern::Prefix("lo_truncate"), Effect::Writes, "it writes a large object"),
    (Pattern::Exact("lowrite"), Effect::Writes, "it writes a large object"),
];

/// What calling the function whose last name part is `name` means, and why.
pub fn effect(name: &str) -> Option<(Effect, &'static str)> {
    let lower = name.to_lowercase();
    FUNCTIONS.iter().find_map(|(pattern, effect, why)| {
        let hit = match pattern {
            Pattern::Exact(n) => lower == *n,
            Pattern::Prefix(p) => lower.starts_with(p),
        };
        hit.then_some((*effect, *why))
    })
}

/// Extensions whose objects reach outside the transaction (other connections, server
/// files, the operating system through an untrusted language): `CREATE EXTENSION` of one
/// (and `CREATE LANGUAGE name`, its older spelling) is classified as DDL and refused by
/// the policy.
pub const EXTENSIONS: &[&str] = &[
    "dblink",
    "postgres_fdw",
    "file_fdw",
    "adminpack",
    "pg_background",
    "plperlu",
    "plpythonu",
    "plpython2u",
    "plpython3u",
    "pltclu",
    "plsh",
];

/// Languages whose bodies pgward reads; others are refused (untrusted ones reach the
/// operating system, and the rest cannot be inspected).
pub const INSPECTED_LANGUAGES: &[&str] = &["sql", "plpgsql"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            effect("DBLINK_EXEC").map(|e| e.0),
            Some(Effect::Refuse(Rule::OutsideReach))
        );
        assert_eq!(
            effect("nextval").map(|e| e.0),
            Some(Effect::SurvivesRollback)
        );
        assert_eq!(effect("pg_advisory_xact_lock"), None);
        assert_eq!(effect("pg_try_advisory_xact_lock"), None);
        assert_eq!(effect("pg_stat_user_tables"), None);
        for (_, _, why) in FUNCTIONS {
            assert!(!why.is_empty() && !why.contains('\n'));
        }
    }
}
