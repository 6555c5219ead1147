//! What never enters the history file: a statement that mentions a password
//! (`ALTER ROLE … PASSWORD`, `CREATE ROLE … PASSWORD`, `CREATE USER MAPPING … OPTIONS
//! (password …)`, `\password`), and whatever matches one of the config file's
//! `history_ignore` patterns. The built-in rule is deliberately broad: a false match only
//! costs a history entry, a missed one leaves a secret on disk.

use regex::Regex;

/// Decides which history entries are kept.
#[derive(Debug, Clone)]
pub struct HistoryFilter {
    patterns: Vec<Regex>,
    /// A pattern did not compile: nothing is kept (fail closed).
    broken: bool,
}

impl HistoryFilter {
    /// The built-in rule plus `extra` (patterns the config already validated; one that
    /// does not compile keeps nothing, failing closed).
    pub fn new(extra: &[String]) -> HistoryFilter {
        let compiled: Vec<Result<Regex, regex::Error>> =
            extra.iter().map(|p| Regex::new(p)).collect();
        HistoryFilter {
            broken: compiled.iter().any(Result::is_err),
            patterns: compiled.into_iter().flatten().collect(),
        }
    }

    /// True when `entry` may be written to the history.
    pub fn keeps(&self, entry: &str) -> bool {
        !self.broken
            && !entry.to_lowercase().contains("password")
            && !self.patterns.iter().any(|p| p.is_match(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::HistoryFilter;

    #[test]
    fn secrets_stay_out() {
        let f = HistoryFilter::new(&["(?i)pgp_sym_encrypt".into()]);
        assert!(!f.keeps("ALTER ROLE app PASSWORD 'x';"));
        assert!(!f.keeps("create role r login encrypted password 'md5…';"));
        assert!(!f.keeps("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a', Password 'b');"));
        assert!(!f.keeps("select pgp_sym_encrypt('a', 'key');"));
        assert!(f.keeps("select 1;"));
        assert!(f.keeps("alter role app set search_path = x;"));
    }

    #[test]
    fn a_broken_pattern_keeps_nothing() {
        let f = HistoryFilter::new(&["(".into()]);
        assert!(!f.keeps("select 1;"));
    }
}
