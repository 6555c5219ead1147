//! The cursors a file under `pgward check` declares, so that a FETCH or MOVE of one whose
//! DECLARE pgward refuses is refused too.
//!
//! A FETCH runs its cursor's query. On its own it is a read: the session runs every
//! FETCH read-only, where the server refuses any write. Under `pgward check` nothing
//! runs, so a file that declares `ctt` over a query pgward refuses (a writing function,
//! FOR UPDATE, WITH HOLD) and then fetches from it would report the FETCH as a read. The
//! file is checked in order, as [`super::Prepared`] follows PREPAREs: each refused
//! DECLARE is remembered by name, a later DECLARE of the name that pgward accepts
//! replaces it, and a FETCH or MOVE of a remembered name is refused for the DECLARE's
//! reason. A name never declared in the file stays a read (a cursor a function opened
//! and returned, fetched read-only in the session).
//!
//! The session does not need this: a refused DECLARE never reaches the server, so a
//! FETCH of its name fails there (34000), or reads a cursor of that name that was
//! declared and accepted before, which is what it then is.

use std::collections::HashMap;

use super::verdict::{Analysis, Named, Verdict};
use crate::policy::Refusal;

/// The refused DECLAREs seen so far, by cursor name.
#[derive(Debug, Clone, Default)]
pub struct Cursors {
    refused: HashMap<String, Refusal>,
}

impl Cursors {
    /// The analysis of a FETCH or MOVE of a cursor whose DECLARE was refused: refused,
    /// under the DECLARE's rule; every other analysis as it is.
    pub fn resolve(&self, analysis: Analysis) -> Analysis {
        let Some(Named::Fetch(name)) = &analysis.named else {
            return analysis;
        };
        if matches!(analysis.verdict, Verdict::Refused(_)) {
            return analysis;
        }
        let Some(declare) = self.refused.get(name) else {
            return analysis;
        };
        let mut refused = Analysis::bare(Verdict::Refused(Refusal::new(
            declare.rule,
            format!(
                "FETCH or MOVE of cursor {name}, whose DECLARE is refused: {}",
                declare.detail
            ),
        )));
        refused.named = analysis.named.clone();
        refused
    }

    /// Follows a statement in file order: a refused DECLARE is remembered, an accepted
    /// one forgets its name's refusal.
    pub fn ran(&mut self, analysis: &Analysis) {
        if let Some(Named::Cursor(name)) = &analysis.named {
            match &analysis.verdict {
                Verdict::Refused(r) => {
                    self.refused.insert(name.clone(), r.clone());
                }
                _ => {
                    self.refused.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Rule;
    use crate::sql::{analyze, Options};

    fn run(cursors: &mut Cursors, sql: &str) -> Analysis {
        let a = cursors.resolve(analyze(sql, &Options::default()));
        cursors.ran(&a);
        a
    }

    fn rule(a: &Analysis) -> Option<Rule> {
        match &a.verdict {
            Verdict::Refused(r) => Some(r.rule),
            _ => None,
        }
    }

    #[test]
    fn a_fetch_takes_the_refusal_of_its_declare() {
        let mut c = Cursors::default();
        // Never declared here: a read (the session fetches read-only).
        assert_eq!(run(&mut c, "FETCH ALL FROM ctt").verdict, Verdict::Read);
        for declare in [
            "DECLARE ctt CURSOR FOR SELECT * FROM t FOR UPDATE",
            "DECLARE ctt CURSOR WITH HOLD FOR SELECT 1",
            "DECLARE ctt BINARY CURSOR FOR SELECT 1",
            "DECLARE ctt CURSOR FOR SELECT nextval('s')",
        ] {
            assert_eq!(rule(&run(&mut c, declare)), Some(Rule::Cursor), "{declare}");
            for fetch in ["FETCH ALL FROM ctt", "fetch next in CTT", "MOVE 5 IN ctt"] {
                assert_eq!(rule(&run(&mut c, fetch)), Some(Rule::Cursor), "{fetch}");
            }
            // Another cursor's FETCH is not touched.
            assert_eq!(run(&mut c, "FETCH 1 FROM other").verdict, Verdict::Read);
        }
        // A DECLARE pgward accepts replaces the refused one of that name.
        assert_eq!(
            run(&mut c, "DECLARE ctt CURSOR FOR SELECT 1").verdict,
            Verdict::Read
        );
        assert_eq!(run(&mut c, "FETCH ALL FROM ctt").verdict, Verdict::Read);
        // CLOSE runs no query.
        assert_eq!(run(&mut c, "CLOSE ctt").verdict, Verdict::Read);
    }

    #[test]
    fn a_declare_over_a_function_created_writing_is_followed_too() {
        let mut created = crate::sql::Created::default();
        let mut c = Cursors::default();
        let f = analyze(
            "CREATE FUNCTION w() RETURNS int LANGUAGE sql AS 'INSERT INTO t VALUES (1) RETURNING 1'",
            &Options::default(),
        );
        created.ran(f.named.as_ref());
        let declare = created.resolve(analyze(
            "DECLARE ctt CURSOR FOR SELECT w()",
            &Options::default(),
        ));
        assert_eq!(rule(&declare), Some(Rule::Cursor));
        c.ran(&declare);
        assert_eq!(rule(&run(&mut c, "FETCH ctt")), Some(Rule::Cursor));
    }
}
