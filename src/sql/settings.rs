//! Which run-time settings (GUCs) a user may change, as data.
//!
//! pgward opens every transaction with settings of its own (role, timeouts, read-only
//! mode) and relies on others (standard_conforming_strings for its splitter, the
//! application_name the probe and the server logs show). A `SET`, `RESET` or `set_config`
//! of those is refused. Other settings are allowed only when they are known to be
//! harmless: an allow-list, because a deny-list fails open when PostgreSQL adds a setting.
//! Dotted names (`app.tenant_id`) are custom placeholders that only the application's own
//! code reads (e.g. row-level security policies), so they are allowed too.

use crate::policy::{Refusal, Rule};

/// Settings that change who the session acts as.
const IDENTITY: &[&str] = &["role", "session_authorization"];

/// Settings pgward owns or relies on.
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
    "random_page_cost",
    "seq_page_cost",
    "cpu_tuple_cost",
    "cpu_index_tuple_cost",
    "cpu_operator_cost",
    "effective_cache_size",
    "effective_io_concurrency",
    "default_statistics_target",
    "constraint_exclusion",
    "cursor_tuple_fraction",
    "from_collapse_limit",
    "join_collapse_limit",
    "geqo",
    "jit",
    "plan_cache_mode",
    "max_parallel_workers_per_gather",
    "parallel_setup_cost",
    "parallel_tuple_cost",
    "row_security",
    "check_function_bodies",
    "default_text_search_config",
    "xmloption",
];

/// Planner switches (`enable_seqscan`, `enable_hashjoin`, …) are harmless as a family.
const HARMLESS_PREFIXES: &[&str] = &["enable_"];

/// Whether a `SET`/`RESET` of the setting `name` (its parts, as written) is allowed.
pub(crate) fn check(parts: &[&str], verb: &str) -> Result<(), Refusal> {
    let [name] = parts else {
        // `a.b`: a custom placeholder, read only by the application's own code.
        return if parts.len() >= 2 {
            Ok(())
        } else {
            Err(Refusal::new(
                Rule::Unrecognised,
                format!("{verb} of no setting"),
            ))
        };
    };
    let lower = name.to_ascii_lowercase();
    match guard(&lower) {
        Some(rule) => Err(Refusal::new(rule, format!("{verb} {lower}"))),
        None if HARMLESS.contains(&lower.as_str())
            || HARMLESS_PREFIXES.iter().any(|p| lower.starts_with(p)) =>
        {
            Ok(())
        }
        None => Err(Refusal::new(
            Rule::GuardSetting,
            format!("{verb} {lower} (not a setting pgward knows to be harmless)"),
        )),
    }
}

/// The rule that forbids changing `name` (lower-case) at all, if any. Used for
/// `set_config` and for settings named inside function bodies, where anything not
/// forbidden is left to the server.
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
        assert!(check(&["search_path"], "SET").is_ok());
        assert!(check(&["TimeZone"], "SET").is_ok());
        assert!(check(&["enable_seqscan"], "SET").is_ok());
        assert!(check(&["app", "tenant"], "SET").is_ok());
        let refuse = |n: &str| check(&[n], "SET").map_err(|r| r.rule);
        assert_eq!(refuse("ROLE"), Err(Rule::IdentityChange));
        assert_eq!(refuse("statement_timeout"), Err(Rule::GuardSetting));
        assert_eq!(refuse("client_encoding"), Err(Rule::GuardSetting));
        assert_eq!(refuse("wal_level"), Err(Rule::GuardSetting));
        for n in HARMLESS {
            assert_eq!(guard(n), None, "{n} is both harmless and guarded");
        }
    }
}
