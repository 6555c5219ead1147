//! Which run-time settings (GUCs) a user may change, as data.
//!
//! pgward opens every transaction with settings of its own (role, timeouts, read-only
//! mode) and relies on others (standard_conforming_strings for its splitter, the
//! application_name the probe and the server logs show). A `SET`, `RESET` or `set_config`
//! of those is refused, and so is one that weakens integrity checks
//! (`session_replication_role` turns off triggers and foreign keys,
//! `plpgsql.check_asserts` turns off ASSERT). Other settings are allowed only when they
//! are known to be harmless: an allow-list (memory, planner, cost, JIT and parallel
//! settings, formats, search_path), because a deny-list fails open when PostgreSQL adds a
//! setting. A dotted name is a custom placeholder only if the server has no such
//! registered setting: the session looks it up in `pg_settings` before it lets the SET
//! through ([`Allowed::Placeholder`]).

use crate::policy::{Refusal, Rule};

/// Settings that change who the session acts as.
const IDENTITY: &[&str] = &["role", "session_authorization"];

/// Settings pgward owns or relies on, and settings that weaken integrity checks.
pub(crate) const GUARDED: &[&str] = &[
    "transaction_read_only",
    "default_transaction_read_only",
    "transaction_isolation",
    "default_transaction_isolation",
    "transaction_deferrable",
    "default_transaction_deferrable",
    "standard_conforming_strings",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "transaction_timeout",
    "application_name",
    "session_replication_role",
    "client_encoding",
    "plpgsql.check_asserts",
];

/// Settings that only change how this session plans, formats or reports.
const HARMLESS: &[&str] = &[
    "search_path",
    "timezone",
    "datestyle",
    "intervalstyle",
    "extra_float_digits",
    "bytea_output",
    "client_min_messages",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "work_mem",
    "maintenance_work_mem",
    "hash_mem_multiplier",
    "temp_buffers",
    "temp_tablespaces",
    "effective_cache_size",
    "effective_io_concurrency",
    "maintenance_io_concurrency",
    "default_statistics_target",
    "constraint_exclusion",
    "cursor_tuple_fraction",
    "from_collapse_limit",
    "join_collapse_limit",
    "plan_cache_mode",
    "recursive_worktable_factor",
    "row_security",
    "check_function_bodies",
    "default_text_search_config",
    "gin_fuzzy_search_limit",
    "xmloption",
    "stats_fetch_consistency",
    // Where and how new objects are stored: what CREATE … TABLESPACE / USING could say.
    "default_tablespace",
    "default_table_access_method",
    "default_toast_compression",
];

/// Families of planner settings: `enable_*` switches, `*_cost` constants, JIT, GEQO and
/// parallel query.
const HARMLESS_PREFIXES: &[&str] = &[
    "enable_",
    "jit",
    "geqo",
    "parallel_",
    "max_parallel_",
    "min_parallel_",
];
const HARMLESS_SUFFIXES: &[&str] = &["_cost"];

/// A setting a user may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Known to be harmless.
    Known,
    /// A dotted name: allowed only if the server has no registered setting of that name.
    Placeholder,
}

/// Whether a `SET`/`RESET` (`verb`) of the setting `name` (as the parser resolved it:
/// unquoted names folded to lower case, qualified names joined with dots) is allowed.
pub fn check(name: &str, verb: &str) -> Result<Allowed, Refusal> {
    let lower = name.to_lowercase();
    if let Some(rule) = guard(&lower) {
        return Err(Refusal::new(rule, format!("{verb} {lower}")));
    }
    if lower.contains('.') {
        return Ok(Allowed::Placeholder);
    }
    if HARMLESS.contains(&lower.as_str())
        || HARMLESS_PREFIXES.iter().any(|p| lower.starts_with(p))
        || HARMLESS_SUFFIXES.iter().any(|s| lower.ends_with(s))
    {
        return Ok(Allowed::Known);
    }
    Err(Refusal::new(
        Rule::GuardSetting,
        format!("{verb} {lower} (not a setting pgward knows to be harmless)"),
    ))
}

/// Whether `set_config(name, …)` is allowed: pgward's own and integrity settings are
/// refused; anything else is left to the server (`set_config` cannot create a registered
/// setting's bypass that SET could not).
pub(crate) fn check_set_config(name: &str) -> Result<(), Refusal> {
    let lower = name.trim().to_lowercase();
    match guard(&lower) {
        Some(rule) => Err(Refusal::new(rule, format!("set_config of {lower}"))),
        None => Ok(()),
    }
}

/// A `SET` or `RESET` of an allowed setting, as the session applies it: remembered, and
/// re-applied as `SET LOCAL` after every BEGIN pgward opens, so that it holds for reads
/// and writes alike and ends with the transaction it was applied in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The setting's name, lower-case (dotted for a placeholder).
    pub name: String,
    /// A dotted name: the session must check that the server has no such registered
    /// setting before letting it through.
    pub placeholder: bool,
    /// `SET LOCAL` as typed: for the open transaction only, not remembered.
    pub local: bool,
    /// `SET LOCAL …` to run in each guarded transaction; `None` for RESET.
    pub apply: Option<String>,
}

/// The setting change `sql` makes, if it is an allowed `SET`/`RESET` of one setting.
pub fn setting_change(sql: &str) -> Option<SettingChange> {
    use pg_query::protobuf::VariableSetKind as K;
    use pg_query::NodeEnum;
    let parsed = pg_query::parse(sql, 0).ok()?;
    let [raw] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    let Some(NodeEnum::VariableSetStmt(stmt)) = raw.stmt.as_ref()?.node.as_ref() else {
        return None;
    };
    let verb = if stmt.kind() == K::VarReset {
        "RESET"
    } else {
        "SET"
    };
    let allowed = check(&stmt.name, verb).ok()?;
    let apply = match stmt.kind() {
        K::VarSetValue | K::VarSetDefault | K::VarSetCurrent => {
            let mut local = stmt.clone();
            local.is_local = true;
            Some(
                NodeEnum::VariableSetStmt(local)
                    .deparse(pg_query::DeparseOptions::default())
                    .ok()?,
            )
        }
        K::VarReset => None,
        _ => return None,
    };
    Some(SettingChange {
        name: stmt.name.to_lowercase(),
        placeholder: allowed == Allowed::Placeholder,
        local: stmt.is_local,
        apply,
    })
}

/// The rule that forbids changing `name` (lower-case) at all, if any.
pub(crate) fn guard(name: &str) -> Option<Rule> {
    if IDENTITY.contains(&name) {
        Some(Rule::IdentityChange)
    } else if GUARDED.contains(&name) {
        Some(Rule::GuardSetting)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(check("search_path", "SET"), Ok(Allowed::Known));
        assert_eq!(check("TimeZone", "SET"), Ok(Allowed::Known));
        for n in [
            "enable_seqscan",
            "random_page_cost",
            "jit",
            "jit_above_cost",
            "max_parallel_workers_per_gather",
            "parallel_setup_cost",
            "work_mem",
        ] {
            assert_eq!(check(n, "SET"), Ok(Allowed::Known), "{n}");
        }
        assert_eq!(check("app.tenant", "SET"), Ok(Allowed::Placeholder));
        let refuse = |n: &str| check(n, "SET").map_err(|r| r.rule);
        assert_eq!(refuse("ROLE"), Err(Rule::IdentityChange));
        assert_eq!(refuse("statement_timeout"), Err(Rule::GuardSetting));
        assert_eq!(refuse("client_encoding"), Err(Rule::GuardSetting));
        assert_eq!(refuse("wal_level"), Err(Rule::GuardSetting));
        assert_eq!(refuse("plpgsql.check_asserts"), Err(Rule::GuardSetting));
        assert_eq!(refuse("session_replication_role"), Err(Rule::GuardSetting));
        for n in HARMLESS {
            assert_eq!(guard(n), None, "{n} is both harmless and guarded");
        }
    }

    #[test]
    fn changes() {
        let c = setting_change("SET work_mem = '64MB'").unwrap();
        assert_eq!(c.name, "work_mem");
        assert!(!c.local && !c.placeholder);
        assert_eq!(c.apply.as_deref(), Some("SET LOCAL work_mem TO \"64MB\""));
        let c = setting_change("set local app.tenant to 42").unwrap();
        assert!(c.local && c.placeholder);
        let c = setting_change("RESET enable_seqscan").unwrap();
        assert_eq!(c.apply, None);
        assert_eq!(setting_change("SET role x"), None);
        assert_eq!(setting_change("SELECT 1"), None);
    }
}
