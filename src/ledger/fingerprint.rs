//! What identifies a change for the run-once guard: per write statement, PostgreSQL's
//! normalized fingerprint (libpg_query's, constants ignored, so the same statement
//! shape whatever its values), and over all of them one digest of the exact parse
//! trees, reprinted by PostgreSQL's own deparser (so spelling, case and whitespace do
//! not matter, but every constant does).
//!
//! Why both: a fingerprint match alone says "a change of this shape ran here", which
//! is routine (`UPDATE accounts SET … WHERE id = 7`, then `id = 9`); blocking on it would
//! make `\again` a habit. The same change, values included, is what runs twice by
//! mistake, so that is what needs `\again`; the shape match is shown as a note.

use sha2::{Digest, Sha256};

/// Domain separation of [`ChangePrint::exact`].
const CONTEXT: &[u8] = b"pgward-statements-v1\n";

/// The identity of a change's write statements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangePrint {
    /// PostgreSQL's fingerprint of each write statement, in order (hex).
    pub fingerprints: Vec<String>,
    /// SHA-256 (hex) over the deparsed write statements, in order.
    pub exact: String,
}

impl ChangePrint {
    /// The print of `statements`, the write statements of one change, in order. A
    /// statement the parser does not take (pgward ran none such) is fingerprinted by its
    /// trimmed text instead, so the print is still defined.
    pub fn of<S: AsRef<str>>(statements: &[S]) -> ChangePrint {
        let mut hasher = Sha256::new();
        hasher.update(CONTEXT);
        let mut fingerprints = Vec::new();
        for statement in statements {
            let text = statement.as_ref().trim();
            let canonical = canonical(text);
            fingerprints.push(
                crate::sql::fingerprint(text)
                    .unwrap_or_else(|| format!("text:{}", hex(&Sha256::digest(text.as_bytes())))),
            );
            hasher.update((canonical.len() as u64).to_be_bytes());
            hasher.update(canonical.as_bytes());
        }
        ChangePrint {
            fingerprints,
            exact: hex(&hasher.finalize()),
        }
    }
}

/// The statement as PostgreSQL's deparser prints its parse tree; the trimmed text when
/// it does not parse or deparse.
fn canonical(text: &str) -> String {
    pg_query::parse(text, pg_query::ParserOptions::DEFAULT)
        .ok()
        .and_then(|p| p.deparse(pg_query::DeparseOptions::default()).ok())
        .unwrap_or_else(|| text.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_does_not_matter_values_do() {
        let a = ChangePrint::of(&["UPDATE items SET qty = 0 WHERE id = 1"]);
        let b = ChangePrint::of(&["update  items\n set qty=0 where id=1;"]);
        let c = ChangePrint::of(&["UPDATE items SET qty = 0 WHERE id = 2"]);
        assert_eq!(a, b);
        assert_eq!(a.fingerprints, c.fingerprints, "same shape");
        assert_ne!(a.exact, c.exact, "other values");
    }

    #[test]
    fn order_and_count_matter() {
        let one = "DELETE FROM items WHERE id = 1";
        let two = "INSERT INTO items VALUES (9, 9, 'x')";
        let ab = ChangePrint::of(&[one, two]);
        assert_ne!(ab, ChangePrint::of(&[two, one]));
        assert_ne!(ab, ChangePrint::of(&[one]));
        assert_ne!(
            ChangePrint::of(&[one, one]).exact,
            ChangePrint::of(&[one]).exact
        );
        assert_eq!(ab.fingerprints.len(), 2);
    }
}
