//! The policy table: what pgward refuses, and why, as data.
//!
//! Every refused kind of statement is one [`Rule`] with a one-sentence reason and a hint
//! for what to do instead. [`RULES`] lists them all; `docs/refused.md` documents each under
//! a heading named after the rule, and a unit test keeps the two in step. The classifier
//! (`crate::sql::classify`) decides *which* rule a statement breaks; this file only says
//! what each rule means to the person at the screen.

use std::fmt;

/// One entry of the refused list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// SET/RESET ROLE, SET SESSION AUTHORIZATION, `set_config` of role-like settings.
    IdentityChange,
    /// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED.
    TwoPhaseCommit,
    /// SET TRANSACTION, transaction_read_only, standard_conforming_strings, and the
    /// settings pgward owns (timeouts, application_name, session_replication_role).
    GuardSetting,
    /// COPY … PROGRAM / COPY to or from a server file, functions that reach server files
    /// or other connections (dblink*, lo_import, pg_read_file, …), what acts outside the
    /// transaction (session-level advisory locks, statistics resets, replication
    /// functions), and schema changes that reach outside the database (foreign servers,
    /// user mappings, subscriptions, untrusted languages), which are classified as DDL
    /// first.
    OutsideReach,
    /// Functions that run SQL handed to them as text (query_to_xml, ts_stat, …), and
    /// `EXECUTE` of a computed string in a DO block or function body.
    DynamicSql,
    /// ALTER SYSTEM.
    AlterSystem,
    /// ALTER DATABASE … SET and ALTER ROLE … SET: defaults for every future session.
    DefaultSetting,
    /// Statements that cannot run inside a transaction block and that pgward does not run
    /// alone either (CREATE DATABASE, tablespaces, REINDEX DATABASE, …).
    NoTransactionBlock,
    /// Transaction control pgward does not support (nested BEGIN options, AND CHAIN, …).
    TransactionShape,
    /// Cursors pgward cannot guard: over a query that writes or locks rows, WITH HOLD,
    /// BINARY.
    Cursor,
    /// A statement a psql meta-command acts on as pgward does not (`\gexec` runs result
    /// values as statements; `\gdesc`, `\crosstabview`, `\bind`, `\;`), or one with a
    /// meta-command inside it: `pgward check`'s reading of a script.
    MetaCommand,
    /// Anything the classifier does not recognise: the catch-all refuses.
    Unrecognised,
}

/// Every rule, in the order `docs/refused.md` documents them.
pub const RULES: &[Rule] = &[
    Rule::IdentityChange,
    Rule::TwoPhaseCommit,
    Rule::GuardSetting,
    Rule::OutsideReach,
    Rule::DynamicSql,
    Rule::AlterSystem,
    Rule::DefaultSetting,
    Rule::NoTransactionBlock,
    Rule::TransactionShape,
    Rule::Cursor,
    Rule::MetaCommand,
    Rule::Unrecognised,
];

impl Rule {
    /// The rule's stable name, used as its heading in `docs/refused.md`.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::IdentityChange => "IdentityChange",
            Rule::TwoPhaseCommit => "TwoPhaseCommit",
            Rule::GuardSetting => "GuardSetting",
            Rule::OutsideReach => "OutsideReach",
            Rule::DynamicSql => "DynamicSql",
            Rule::AlterSystem => "AlterSystem",
            Rule::DefaultSetting => "DefaultSetting",
            Rule::NoTransactionBlock => "NoTransactionBlock",
            Rule::TransactionShape => "TransactionShape",
            Rule::Cursor => "Cursor",
            Rule::MetaCommand => "MetaCommand",
            Rule::Unrecognised => "Unrecognised",
        }
    }

    /// Why statements under this rule are refused, in one sentence.
    pub fn reason(&self) -> &'static str {
        match self {
            Rule::IdentityChange => {
                "pgward runs every write as its least-privilege role, and a change of role or \
                 session user would escape that guard"
            }
            Rule::TwoPhaseCommit => {
                "a prepared transaction commits outside pgward's approval, so two-phase commit \
                 is not available"
            }
            Rule::GuardSetting => {
                "pgward owns this setting (transaction mode, timeouts, quoting, replication \
                 role) or does not know it to be harmless, and changing it would weaken the guard"
            }
            Rule::OutsideReach => {
                "it acts outside the guarded transaction (server files, programs, other \
                 connections or sessions, the server process, or state that ROLLBACK does not \
                 restore), where pgward cannot preview or undo it"
            }
            Rule::DynamicSql => {
                "it runs SQL held in a string that is computed at run time, which pgward's \
                 classifier never sees"
            }
            Rule::AlterSystem => {
                "ALTER SYSTEM rewrites the server's configuration file, which no transaction \
                 can roll back"
            }
            Rule::DefaultSetting => {
                "it changes a setting for every future session of a database or role, which no \
                 preview shows and which can switch off the guard's settings in those sessions"
            }
            Rule::NoTransactionBlock => {
                "it cannot run inside a transaction block, and it is not one of the maintenance \
                 statements pgward runs alone after approval (CREATE/DROP INDEX CONCURRENTLY, \
                 REINDEX, VACUUM, DETACH PARTITION CONCURRENTLY)"
            }
            Rule::TransactionShape => {
                "pgward opens, chains and ends the guarded transaction itself, so this form of \
                 transaction control is not supported"
            }
            Rule::Cursor => {
                "a cursor runs its query at each FETCH, which pgward runs read-only, so it cannot \
                 preview rows a cursor changes or locks; a WITH HOLD cursor outlives the \
                 transaction and runs the rest of its query at COMMIT, after the summary"
            }
            Rule::MetaCommand => {
                "pgward runs a script's statements one at a time, each as it reads it, and has \
                 no meta-command that runs result values as statements or sends statements \
                 otherwise"
            }
            Rule::Unrecognised => {
                "pgward does not recognise or support this statement, and it refuses what it \
                 cannot classify"
            }
        }
    }

    /// What to do instead, in one sentence.
    pub fn hint(&self) -> &'static str {
        match self {
            Rule::IdentityChange => {
                "connect as the right user, or ask for the change to be made by its owner"
            }
            Rule::TwoPhaseCommit => "use a plain COMMIT, which pgward sends for approval",
            Rule::GuardSetting => {
                "leave transaction settings to pgward; use BEGIN ISOLATION LEVEL … for isolation, \
                 and ask for a configuration change if a limit is too tight"
            }
            Rule::OutsideReach => {
                "run it outside pgward through the usual change process, or use plain SQL on \
                 this database (for a notification, a row in a table the listeners poll)"
            }
            Rule::DynamicSql => {
                "type the statements themselves (or EXECUTE a constant string), so that pgward \
                 can classify them; an environment that relies on its role setup can set \
                 allow_dynamic_sql = true"
            }
            Rule::AlterSystem => "change server configuration through configuration management",
            Rule::DefaultSetting => {
                "change database and role defaults through configuration management; for this \
                 session, use SET"
            }
            Rule::NoTransactionBlock => "run it with psql through the maintenance process",
            Rule::TransactionShape => {
                "use plain BEGIN [ISOLATION LEVEL …], COMMIT, ROLLBACK, SAVEPOINT, \
                 ROLLBACK TO and RELEASE"
            }
            Rule::Cursor => {
                "declare cursors over plain reads inside BEGIN … (FETCH, MOVE and CLOSE are reads); \
                 to change or lock rows, type the UPDATE, DELETE or SELECT … FOR UPDATE itself"
            }
            Rule::MetaCommand => {
                "end each statement with ; (or \\g), and write out the statements a \\gexec \
                 would run"
            }
            Rule::Unrecognised => {
                "rewrite it as plain SELECT, INSERT, UPDATE, DELETE or DDL, one statement at a time"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: which rule, and what exactly in the statement triggered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule that refused.
    pub rule: Rule,
    /// What in the statement triggered it, e.g. "SET ROLE" or "function dblink_exec".
    pub detail: String,
}

impl Refusal {
    /// A refusal under `rule`, triggered by `detail`.
    pub fn new(rule: Rule, detail: impl Into<String>) -> Self {
        Refusal {
            rule,
            detail: detail.into(),
        }
    }

    /// What to do instead (the rule's hint).
    pub fn hint(&self) -> &'static str {
        self.rule.hint()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused [{}]: {}: {}",
            self.rule,
            self.detail,
            self.rule.reason()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../docs/refused.md");

    #[test]
    fn every_rule_is_documented_under_its_own_heading() {
        for rule in RULES {
            let heading = format!("\n## {}\n", rule.name());
            assert!(DOC.contains(&heading), "docs/refused.md lacks `## {rule}`");
        }
    }

    #[test]
    fn rules_lists_every_rule_once() {
        for (i, a) in RULES.iter().enumerate() {
            for b in RULES.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        // Exhaustive match: adding a variant without listing it fails to compile here.
        for rule in RULES {
            match rule {
                Rule::IdentityChange
                | Rule::TwoPhaseCommit
                | Rule::GuardSetting
                | Rule::OutsideReach
                | Rule::DynamicSql
                | Rule::AlterSystem
                | Rule::DefaultSetting
                | Rule::NoTransactionBlock
                | Rule::TransactionShape
                | Rule::Cursor
                | Rule::MetaCommand
                | Rule::Unrecognised => {}
            }
        }
        assert_eq!(RULES.len(), 12);
    }

    #[test]
    fn display_is_one_line() {
        let r = Refusal::new(Rule::IdentityChange, "SET ROLE");
        let text = r.to_string();
        assert!(text.starts_with("refused [IdentityChange]: SET ROLE: pgward runs"));
        assert!(!text.contains('\n'));
        for rule in RULES {
            assert!(!rule.reason().contains('\n') && !rule.hint().contains('\n'));
            assert!(!rule.reason().contains("  ") && !rule.hint().contains("  "));
        }
    }
}
