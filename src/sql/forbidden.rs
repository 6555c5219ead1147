//! The forbidden-word scan: a token-level check that runs before (and without) parsing.
//!
//! sqlparser cannot parse everything PostgreSQL accepts (DO, ALTER SYSTEM, PREPARE
//! TRANSACTION, …), and a function call can hide anywhere in a tree. So every statement is
//! first tokenized with sqlparser's tokenizer, which works where the parser fails, and:
//!
//! - every word (keyword, identifier, quoted identifier, each part of a qualified name) is
//!   compared, case-insensitively, with the [`NAMES`] table (`dblink*`, `lo_import`,
//!   `pg_read_file`, untrusted languages, …);
//! - every `set_config(` must name, as a plain string literal, a setting that is not
//!   pgward's own (see `settings`); a computed name is refused, since nobody can tell what
//!   it sets;
//! - the statement's first words are matched against shapes that are refused whatever
//!   follows (ALTER SYSTEM, PREPARE TRANSACTION, VACUUM, CREATE INDEX CONCURRENTLY, …);
//! - the contents of every string literal are searched for the [`NAMES`] as substrings.
//!   This over-refuses a literal that merely mentions `dblink`: failing closed is the
//!   point. Code-like literals (dollar quotes, and any literal in a `DO` or `CREATE`
//!   statement: function bodies) are also tokenized in turn and scanned as code, where
//!   the identity, two-phase and guard-setting phrases (`SET ROLE`, `SET LOCAL
//!   statement_timeout`, `NOTIFY`, `COPY … PROGRAM`, …) are refused wherever they appear;
//! - any string literal that mentions `set_config` is refused (`DynamicSql`): a string
//!   can reach a function that runs it as SQL, where nobody checks the setting's name.
//!
//! This scan is defence in depth, not the guard itself: dynamic SQL built from pieces
//! (`EXECUTE 'db' || 'link…'`) escapes any text scan. The least-privilege role, the
//! read-only transaction for reads and the identity probe after every statement are what
//! the database enforces.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::settings;
use crate::policy::{Refusal, Rule};

/// How a [`NAMES`] entry matches a word.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    /// The whole word.
    Exact(&'static str),
    /// Any word that starts with this.
    Prefix(&'static str),
}

/// Names that are refused wherever they appear: (pattern, rule, what it is, why, if the
/// rule's reason alone does not say; empty otherwise).
pub const NAMES: &[(Pattern, Rule, &str, &str)] = &[
    (Pattern::Prefix("dblink"), Rule::OutsideReach, "function", ""),
    (Pattern::Exact("lo_import"), Rule::OutsideReach, "function", ""),
    (Pattern::Exact("lo_export"), Rule::OutsideReach, "function", ""),
    (
        Pattern::Exact("pg_read_file"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_read_binary_file"),
        Rule::OutsideReach,
        "function", ""
    ),
    (Pattern::Prefix("pg_ls_"), Rule::OutsideReach, "function", ""),
    (
        Pattern::Exact("pg_stat_file"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_file_write"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_file_rename"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_file_unlink"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_file_sync"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_logdir_ls"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_reload_conf"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_rotate_logfile"),
        Rule::OutsideReach,
        "function", ""
    ),
    (Pattern::Exact("pg_promote"), Rule::OutsideReach, "function", ""),
    (
        Pattern::Exact("pg_terminate_backend"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_cancel_backend"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_switch_wal"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_create_restore_point"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_backup_start"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_backup_stop"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_start_backup"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_stop_backup"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_create_physical_replication_slot"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_create_logical_replication_slot"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("pg_drop_replication_slot"),
        Rule::OutsideReach,
        "function", ""
    ),
    (
        Pattern::Exact("postgres_fdw"),
        Rule::OutsideReach,
        "extension", ""
    ),
    (Pattern::Exact("file_fdw"), Rule::OutsideReach, "extension", ""),
    (Pattern::Exact("adminpack"), Rule::OutsideReach, "extension", ""),
    (
        Pattern::Exact("plperlu"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    (
        Pattern::Exact("plpythonu"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    (
        Pattern::Exact("plpython2u"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    (
        Pattern::Exact("plpython3u"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    (
        Pattern::Exact("pltclu"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    (
        Pattern::Exact("plsh"),
        Rule::OutsideReach,
        "untrusted language", ""
    ),
    // Acting outside the transaction: delivered at COMMIT, or not undone by ROLLBACK.
    (
        Pattern::Exact("pg_notify"),
        Rule::OutsideReach,
        "function",
        "a notification is delivered to other sessions at COMMIT, outside what pgward previews; use a table the listeners poll",
    ),
    (
        Pattern::Exact("setval"),
        Rule::OutsideReach,
        "function",
        "sequence changes are never rolled back, so ROLLBACK, \\preview and --dry-run cannot undo it",
    ),
    (
        Pattern::Prefix("pg_advisory_lock"),
        Rule::OutsideReach,
        "function",
        SESSION_LOCK,
    ),
    (
        Pattern::Prefix("pg_try_advisory_lock"),
        Rule::OutsideReach,
        "function",
        SESSION_LOCK,
    ),
    (
        Pattern::Prefix("pg_advisory_unlock"),
        Rule::OutsideReach,
        "function",
        SESSION_LOCK,
    ),
    (
        Pattern::Prefix("pg_stat_reset"),
        Rule::OutsideReach,
        "function",
        "a statistics reset is not rolled back",
    ),
    (
        Pattern::Exact("pg_stat_statements_reset"),
        Rule::OutsideReach,
        "function",
        "a statistics reset is not rolled back",
    ),
    (
        Pattern::Prefix("pg_replication_origin"),
        Rule::OutsideReach,
        "function",
        "replication progress is not rolled back",
    ),
    (
        Pattern::Prefix("pg_logical_slot_"),
        Rule::OutsideReach,
        "function",
        "it consumes a replication slot's changes",
    ),
    (
        Pattern::Exact("pg_replication_slot_advance"),
        Rule::OutsideReach,
        "function",
        "it consumes a replication slot's changes",
    ),
    (
        Pattern::Exact("pg_copy_physical_replication_slot"),
        Rule::OutsideReach,
        "function",
        "",
    ),
    (
        Pattern::Exact("pg_copy_logical_replication_slot"),
        Rule::OutsideReach,
        "function",
        "",
    ),
    (
        Pattern::Exact("pg_logical_emit_message"),
        Rule::OutsideReach,
        "function",
        "a non-transactional message reaches logical decoding even if rolled back",
    ),
    (
        Pattern::Prefix("pg_wal_replay_"),
        Rule::OutsideReach,
        "function",
        "",
    ),
    (
        Pattern::Prefix("pg_background"),
        Rule::OutsideReach,
        "function",
        "it runs SQL in a background worker, outside this transaction",
    ),
    // Built-ins (and common extensions) that run SQL handed to them as text.
    (
        Pattern::Prefix("query_to_xml"),
        Rule::DynamicSql,
        "function",
        "",
    ),
    (
        Pattern::Prefix("cursor_to_xml"),
        Rule::DynamicSql,
        "function",
        "",
    ),
    (Pattern::Exact("ts_stat"), Rule::DynamicSql, "function", ""),
    (
        Pattern::Exact("ts_rewrite"),
        Rule::DynamicSql,
        "function",
        "its two-argument form runs a query; both forms are refused",
    ),
    (
        Pattern::Prefix("crosstab"),
        Rule::DynamicSql,
        "function",
        "",
    ),
    (Pattern::Exact("connectby"), Rule::DynamicSql, "function", ""),
    (Pattern::Exact("xpath_table"), Rule::DynamicSql, "function", ""),
];

/// Why session-level advisory locks are refused.
const SESSION_LOCK: &str =
    "a session-level advisory lock outlives ROLLBACK; use pg_advisory_xact_lock";

/// How deep literals inside literals are tokenized and scanned as code.
const MAX_NESTING: usize = 4;

/// Tokenizes `sql` with sqlparser's PostgreSQL tokenizer.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Token>, Refusal> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| Refusal::new(Rule::Unrecognised, format!("cannot tokenize: {e}")))
}

/// The tokens that matter: no whitespace or comments.
pub(crate) fn significant(tokens: &[Token]) -> Vec<&Token> {
    tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect()
}

/// Scans a whole statement's tokens; `Err` names the first forbidden thing found.
pub(crate) fn scan(tokens: &[Token]) -> Result<(), Refusal> {
    let sig = significant(tokens);
    head(&sig)?;
    let code = matches!(word(&sig, 0).as_deref(), Some("do" | "create"));
    scan_tokens(&sig, code, 0)
}

/// The lower-cased value of the word at `i`, if that token is a word.
pub(crate) fn word(sig: &[&Token], i: usize) -> Option<String> {
    match sig.get(i) {
        Some(Token::Word(w)) => Some(w.value.to_lowercase()),
        _ => None,
    }
}

/// The contents of a string literal token, as PostgreSQL would read them.
pub(crate) fn literal(token: &Token) -> Option<&str> {
    match token {
        Token::SingleQuotedString(s)
        | Token::EscapedStringLiteral(s)
        | Token::UnicodeStringLiteral(s)
        | Token::NationalStringLiteral(s) => Some(s),
        Token::DollarQuotedString(d) => Some(&d.value),
        _ => None,
    }
}

/// The rule, what it is and why, for a word that [`NAMES`] forbids.
fn name_rule(lower: &str) -> Option<(Rule, &'static str, &'static str)> {
    NAMES.iter().find_map(|(pattern, rule, what, why)| {
        let hit = match pattern {
            Pattern::Exact(n) => lower == *n,
            Pattern::Prefix(p) => lower.starts_with(p),
        };
        hit.then_some((*rule, *what, *why))
    })
}

/// The first [`NAMES`] entry mentioned anywhere in `lower`.
fn mention(lower: &str) -> Option<(Rule, &'static str)> {
    NAMES.iter().find_map(|(pattern, rule, _, _)| {
        let (Pattern::Exact(n) | Pattern::Prefix(n)) = pattern;
        lower.contains(n).then_some((*rule, *n))
    })
}

fn scan_tokens(sig: &[&Token], code: bool, depth: usize) -> Result<(), Refusal> {
    for (k, token) in sig.iter().enumerate() {
        match token {
            Token::Word(w) => {
                let lower = w.value.to_lowercase();
                if let Some((rule, what, why)) = name_rule(&lower) {
                    let detail = if why.is_empty() {
                        format!("{what} {lower}")
                    } else {
                        format!("{what} {lower} ({why})")
                    };
                    return Err(Refusal::new(rule, detail));
                }
                if lower == "set_config" {
                    set_config(sig.get(k + 1..).unwrap_or_default())?;
                }
                if w.quote_style.is_some() && k >= 2 && is_unicode_prefix(sig, k) {
                    return Err(Refusal::new(
                        Rule::Unrecognised,
                        "U&\"…\" identifier (pgward does not decode Unicode escapes in names)",
                    ));
                }
                if lower == "uescape" {
                    return Err(Refusal::new(
                        Rule::Unrecognised,
                        "UESCAPE (pgward does not decode custom Unicode escapes)",
                    ));
                }
                if depth > 0 {
                    phrase(sig.get(k..).unwrap_or_default())?;
                }
            }
            other => {
                if let Some(text) = literal(other) {
                    let dollar = matches!(other, Token::DollarQuotedString(_));
                    literal_contents(text, code || dollar || depth > 0, depth)?;
                }
            }
        }
    }
    Ok(())
}

/// `U & "…"`: the tokenizer does not know Unicode-escaped identifiers.
fn is_unicode_prefix(sig: &[&Token], k: usize) -> bool {
    let amp = k.checked_sub(1).and_then(|i| sig.get(i));
    let u = k.checked_sub(2).and_then(|i| sig.get(i));
    matches!(amp, Some(Token::Ampersand))
        && matches!(u, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("u"))
}

fn literal_contents(text: &str, code: bool, depth: usize) -> Result<(), Refusal> {
    let lower = text.to_lowercase();
    if let Some((rule, name)) = mention(&lower) {
        return Err(Refusal::new(
            rule,
            format!("string literal mentioning {name}"),
        ));
    }
    if code {
        let nested = (depth < MAX_NESTING)
            .then(|| Tokenizer::new(&PostgreSqlDialect {}, text).tokenize().ok())
            .flatten();
        match nested {
            Some(tokens) => scan_tokens(&significant(&tokens), true, depth + 1)?,
            None => raw_phrases(&lower)?,
        }
    }
    // A string can reach a function that runs it as SQL (a user's own `EXECUTE $1`
    // wrapper, say), where no scan sees it: any mention of set_config is refused.
    if lower.contains("set_config") {
        return Err(Refusal::new(
            Rule::DynamicSql,
            "string literal mentioning set_config (a string can be run as SQL where pgward \
             cannot check which setting it changes)",
        ));
    }
    Ok(())
}

/// `set_config(` followed by `rest`: the first argument must be a plain literal naming a
/// setting pgward does not own.
fn set_config(rest: &[&Token]) -> Result<(), Refusal> {
    let name = match (rest.first(), rest.get(1), rest.get(2)) {
        (Some(Token::LParen), Some(lit), Some(Token::Comma)) => literal(lit),
        _ => None,
    };
    let Some(name) = name else {
        return Err(Refusal::new(
            Rule::IdentityChange,
            "set_config with a setting name that is not a string literal",
        ));
    };
    let name = name.trim().to_lowercase();
    match settings::guard(&name) {
        Some(rule) => Err(Refusal::new(rule, format!("set_config('{name}', …)"))),
        None => Ok(()),
    }
}

/// Phrases refused when a statement (or a statement inside a body) starts with them.
fn phrase(sig: &[&Token]) -> Result<(), Refusal> {
    let w = |i| word(sig, i);
    let refuse = |rule, detail: String| Err(Refusal::new(rule, detail));
    match w(0).as_deref() {
        Some(verb @ ("set" | "reset")) => {
            let verb = verb.to_uppercase();
            let (scope, j) = match w(1).as_deref() {
                Some(s @ ("session" | "local")) => (Some(s.to_owned()), 2),
                _ => (None, 1),
            };
            match (scope.as_deref(), w(j).as_deref()) {
                (Some("session"), Some("authorization")) => refuse(
                    Rule::IdentityChange,
                    format!("{verb} SESSION AUTHORIZATION"),
                ),
                (Some("session"), Some("characteristics")) => {
                    refuse(Rule::GuardSetting, "SET SESSION CHARACTERISTICS".into())
                }
                (_, Some("role")) => refuse(Rule::IdentityChange, format!("{verb} ROLE")),
                (_, Some("transaction")) => {
                    refuse(Rule::GuardSetting, format!("{verb} TRANSACTION"))
                }
                (_, Some("all")) if verb == "RESET" => {
                    refuse(Rule::GuardSetting, "RESET ALL".into())
                }
                (_, Some(name)) => match settings::guard(name) {
                    Some(rule) => refuse(rule, format!("{verb} {name}")),
                    None => Ok(()),
                },
                (_, None) => Ok(()),
            }
        }
        Some("prepare") if w(1).as_deref() == Some("transaction") => {
            refuse(Rule::TwoPhaseCommit, "PREPARE TRANSACTION".into())
        }
        Some(verb @ ("commit" | "rollback")) if w(1).as_deref() == Some("prepared") => refuse(
            Rule::TwoPhaseCommit,
            format!("{} PREPARED", verb.to_uppercase()),
        ),
        Some("alter") if w(1).as_deref() == Some("system") => {
            refuse(Rule::AlterSystem, "ALTER SYSTEM".into())
        }
        Some("notify") => refuse(
            Rule::OutsideReach,
            "NOTIFY (a notification is delivered to other sessions at COMMIT, outside what \
             pgward previews; use a table the listeners poll)"
                .into(),
        ),
        Some("copy") => copy_phrase(sig),
        _ => Ok(()),
    }
}

/// How far after `COPY` the scan looks for `PROGRAM` or a server file name.
const COPY_LOOKAHEAD: usize = 64;

/// `COPY … PROGRAM` and `COPY … TO/FROM 'file'`, in a body or where sqlparser cannot
/// parse them. The look-ahead is bounded, so a body full of the word `copy` stays cheap.
fn copy_phrase(sig: &[&Token]) -> Result<(), Refusal> {
    let window = sig.get(1..).unwrap_or_default();
    for (i, token) in window.iter().take(COPY_LOOKAHEAD).enumerate() {
        if matches!(token, Token::SemiColon) {
            break;
        }
        let Some(w) = word(window, i) else { continue };
        if w == "program" {
            return Err(Refusal::new(Rule::OutsideReach, "COPY … PROGRAM"));
        }
        let file = window.get(i + 1).is_some_and(|t| literal(t).is_some());
        if matches!(w.as_str(), "to" | "from") && file {
            return Err(Refusal::new(
                Rule::OutsideReach,
                "COPY to or from a server file",
            ));
        }
    }
    Ok(())
}

/// The phrase check for a body that does not tokenize: plain substring search.
fn raw_phrases(lower: &str) -> Result<(), Refusal> {
    let flat = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    let table: &[(&str, Rule)] = &[
        ("set role", Rule::IdentityChange),
        ("set session role", Rule::IdentityChange),
        ("set local role", Rule::IdentityChange),
        ("reset role", Rule::IdentityChange),
        ("session authorization", Rule::IdentityChange),
        ("set_config", Rule::IdentityChange),
        ("set transaction", Rule::GuardSetting),
        ("session characteristics", Rule::GuardSetting),
        ("reset all", Rule::GuardSetting),
        ("prepare transaction", Rule::TwoPhaseCommit),
        ("commit prepared", Rule::TwoPhaseCommit),
        ("rollback prepared", Rule::TwoPhaseCommit),
        ("alter system", Rule::AlterSystem),
        ("notify ", Rule::OutsideReach),
    ];
    if let Some((p, rule)) = table.iter().find(|(p, _)| flat.contains(p)) {
        return Err(Refusal::new(*rule, format!("body mentioning {p}")));
    }
    for verb in ["set ", "set local ", "set session ", "reset "] {
        for name in settings::GUARDED {
            if flat.contains(&format!("{verb}{name}")) {
                return Err(Refusal::new(
                    Rule::GuardSetting,
                    format!("body mentioning {verb}{name}"),
                ));
            }
        }
    }
    Ok(())
}

/// Statement shapes refused by their first words, whether or not sqlparser parses them.
fn head(sig: &[&Token]) -> Result<(), Refusal> {
    let words: Vec<String> = sig
        .iter()
        .take(12)
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        })
        .collect();
    let only_words = sig.len() == words.len();
    let ws: Vec<&str> = words.iter().map(String::as_str).collect();
    let no_tx = |d: &str| Err(Refusal::new(Rule::NoTransactionBlock, d.to_owned()));
    let outside = |d: &str| Err(Refusal::new(Rule::OutsideReach, d.to_owned()));
    match ws.as_slice() {
        ["vacuum", ..] => no_tx("VACUUM"),
        ["create" | "drop", "database", ..] => no_tx("CREATE/DROP DATABASE"),
        ["create" | "drop", "tablespace", ..] => no_tx("CREATE/DROP TABLESPACE"),
        ["create", "index", "concurrently", ..]
        | ["create", "unique", "index", "concurrently", ..] => no_tx("CREATE INDEX CONCURRENTLY"),
        ["drop", "index", "concurrently", ..] => no_tx("DROP INDEX CONCURRENTLY"),
        ["reindex", rest @ ..]
            if rest
                .iter()
                .any(|w| matches!(*w, "concurrently" | "system" | "database" | "schema")) =>
        {
            no_tx("REINDEX CONCURRENTLY/SCHEMA/DATABASE/SYSTEM")
        }
        ["cluster"] | ["cluster", "verbose"] if only_words => no_tx("CLUSTER without a table"),
        ["discard", "all", ..] => no_tx("DISCARD ALL"),
        ["begin" | "start", rest @ ..] if rest.contains(&"deferrable") => Err(Refusal::new(
            Rule::TransactionShape,
            "BEGIN … DEFERRABLE (pgward chooses the transaction mode itself)",
        )),
        ["create" | "alter" | "drop", "subscription", ..] => outside("SUBSCRIPTION"),
        ["checkpoint", ..] => outside("CHECKPOINT (acts on the whole server)"),
        ["load", ..] => outside("LOAD (loads a server library)"),
        ["create" | "alter", "server", ..] => outside("CREATE/ALTER SERVER"),
        ["create" | "alter", "user", "mapping", ..] => outside("USER MAPPING"),
        ["create" | "alter", "foreign", ..] => outside("FOREIGN TABLE/DATA WRAPPER"),
        ["import", "foreign", ..] => outside("IMPORT FOREIGN SCHEMA"),
        ["copy", rest @ ..] if rest.contains(&"program") => outside("COPY … PROGRAM"),
        _ => phrase(sig),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sql: &str) -> Result<(), Rule> {
        let tokens = tokenize(sql).map_err(|r| r.rule)?;
        scan(&tokens).map_err(|r| r.rule)
    }

    #[test]
    fn names_in_words_and_literals() {
        assert_eq!(check("select dblink_exec('x')"), Err(Rule::OutsideReach));
        assert_eq!(
            check("SELECT public.DBLINK('x','y')"),
            Err(Rule::OutsideReach)
        );
        assert_eq!(check("select \"DbLink\"('x')"), Err(Rule::OutsideReach));
        assert_eq!(check("select pg_ls_waldir()"), Err(Rule::OutsideReach));
        assert_eq!(check("select 'uses dblink'"), Err(Rule::OutsideReach));
        assert_eq!(check("select e'\\x64blink'"), Err(Rule::OutsideReach));
        assert_eq!(check("select U&'\\0064blink'"), Err(Rule::OutsideReach));
        assert_eq!(check("select 1 from pg_stat_activity"), Ok(()));
        assert_eq!(
            check("select note from t where note = 'set role x'"),
            Ok(())
        );
    }

    #[test]
    fn set_config_names() {
        assert_eq!(
            check("select set_config('role','postgres',false)"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(
            check("select pg_catalog.set_config( 'ROLE' , 'x', true)"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(
            check("select set_config('statement_timeout','0',true)"),
            Err(Rule::GuardSetting)
        );
        assert_eq!(
            check("select set_config(lower('ROLE'),'x',false)"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(
            check("select set_config('ro' || 'le','x',false)"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(check("select set_config('search_path','x',true)"), Ok(()));
    }

    #[test]
    fn bodies_are_scanned_as_code() {
        assert_eq!(
            check("DO $$ begin perform dblink_exec('x'); end $$"),
            Err(Rule::OutsideReach)
        );
        assert_eq!(
            check("DO $$ begin set local statement_timeout = 0; end $$"),
            Err(Rule::GuardSetting)
        );
        assert_eq!(
            check("DO $$ begin execute 'set role postgres'; end $$"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(
            check("DO $$ begin perform set_config('role', 'x', false); end $$"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(
            check("DO 'begin execute ''reset session authorization''; end'"),
            Err(Rule::IdentityChange)
        );
        assert_eq!(check("DO $$ begin update t set a = 1; end $$"), Ok(()));
    }

    #[test]
    fn unicode_escapes_in_names_are_refused() {
        assert_eq!(check("select U&\"d\\0062link\"()"), Err(Rule::Unrecognised));
        assert_eq!(
            check("select U&'d!0062' UESCAPE '!'"),
            Err(Rule::Unrecognised)
        );
    }
}
