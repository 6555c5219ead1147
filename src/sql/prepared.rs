//! The prepared statements a session (or a file under `pgward check`) has made, so that an
//! `EXECUTE` gets the class of the statement prepared under its name.
//!
//! The classifier sees one statement at a time: on its own, `EXECUTE p` could run
//! anything, so it is refused ([`Named::Execute`]). Whoever saw the `PREPARE p` resolves
//! it here: the session records each PREPARE the server accepted and forgets each
//! DEALLOCATE, `pgward check` does the same for the statements earlier in the file.
//! Prepared statements are not transactional (ROLLBACK keeps them), so neither is this
//! record; a new connection has none, and a reconnect clears it. A name nobody saw
//! prepared stays refused, with a rule that says why.

use std::collections::HashMap;

use super::verdict::{Analysis, Named, Risk, Verdict};

/// One prepared statement: its text and its analysis.
#[derive(Debug, Clone)]
struct Entry {
    statement: String,
    analysis: Analysis,
}

/// The prepared statements known by name.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    by_name: HashMap<String, Entry>,
}

impl Prepared {
    /// The analysis of a statement that runs a prepared statement, with the class of the
    /// statement prepared under that name (the stronger of it and the statement's own);
    /// every other analysis as it is. A prepared write is opaque: pgward sees the rows
    /// it changes only as counts.
    pub fn resolve(&self, analysis: Analysis) -> Analysis {
        let Some(Named::Execute { name, own }) = &analysis.named else {
            return analysis;
        };
        let Some(entry) = self.by_name.get(name) else {
            return analysis;
        };
        let prepared = &entry.analysis;
        let (Some(a), Some(b)) = (Risk::of(&own.verdict), Risk::of(&prepared.verdict)) else {
            return analysis;
        };
        let verdict = match a.max(b) {
            Risk::Write => Verdict::Write { opaque: true },
            risk => risk.verdict(),
        };
        let mut reads = own.reads.clone();
        reads.extend(prepared.reads.iter().cloned());
        reads.sort();
        reads.dedup();
        let mut writes = own.writes.clone();
        writes.extend(prepared.writes.iter().cloned());
        writes.sort();
        writes.dedup();
        let lock = match (own.lock, prepared.lock) {
            (Some(x), Some(y)) => Some(super::locks::max(Some(x), y)),
            (x, y) => x.or(y),
        };
        let mut calls = own.calls.clone();
        calls.extend(prepared.calls.iter().cloned());
        calls.sort();
        calls.dedup();
        let mut survives = own.survives_rollback.clone();
        survives.extend(prepared.survives_rollback.iter().cloned());
        Analysis {
            verdict,
            reads,
            writes,
            lock,
            survives_rollback: survives,
            syntax_error: None,
            class: None,
            named: analysis.named.clone(),
            dynamic_sql: own.dynamic_sql || prepared.dynamic_sql,
            calls,
        }
    }

    /// Follows a statement the server ran successfully (its [`Analysis::named`]): a
    /// PREPARE is recorded, a DEALLOCATE forgets.
    pub fn ran(&mut self, named: Option<&Named>) {
        match named {
            Some(Named::Prepare {
                name,
                statement,
                analysis,
            }) => {
                self.by_name.insert(
                    name.clone(),
                    Entry {
                        statement: statement.clone(),
                        analysis: (**analysis).clone(),
                    },
                );
            }
            Some(Named::Deallocate(Some(name))) => {
                self.by_name.remove(name);
            }
            Some(Named::Deallocate(None)) => self.clear(),
            _ => {}
        }
    }

    /// The text of the statement prepared as `name`, if known.
    pub fn statement(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(|e| e.statement.as_str())
    }

    /// Forgets everything (a new connection has no prepared statements).
    pub fn clear(&mut self) {
        self.by_name.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Rule;
    use crate::sql::{analyze, Options};

    fn run(prepared: &mut Prepared, sql: &str) -> Analysis {
        let a = prepared.resolve(analyze(sql, &Options::default()));
        prepared.ran(a.named.as_ref());
        a
    }

    fn rule(a: &Analysis) -> Option<Rule> {
        match &a.verdict {
            Verdict::Refused(r) => Some(r.rule),
            _ => None,
        }
    }

    #[test]
    fn execute_takes_the_class_of_what_was_prepared() {
        let mut p = Prepared::default();
        assert_eq!(
            rule(&run(&mut p, "EXECUTE del(1)")),
            Some(Rule::Unrecognised)
        );
        let prep = run(&mut p, "PREPARE del(int) AS DELETE FROM t WHERE id = $1");
        assert_eq!(prep.verdict, Verdict::Write { opaque: false });
        assert_eq!(prep.writes, vec!["t".to_string()]);
        let exec = run(&mut p, "EXECUTE del(1)");
        assert_eq!(exec.verdict, Verdict::Write { opaque: true });
        assert_eq!(exec.writes, vec!["t".to_string()]);
        assert_eq!(p.statement("del"), Some("DELETE FROM t WHERE id = $1"));
        // Names fold as the server folds them.
        assert_eq!(
            run(&mut p, "execute DEL(2)").verdict,
            Verdict::Write { opaque: true }
        );
        // Under EXPLAIN ANALYZE it runs; under a plain EXPLAIN it is only planned.
        assert_eq!(
            run(&mut p, "EXPLAIN ANALYZE EXECUTE del(1)").verdict,
            Verdict::Write { opaque: true }
        );
        assert_eq!(run(&mut p, "EXPLAIN EXECUTE del(1)").verdict, Verdict::Read);
        run(&mut p, "DEALLOCATE del");
        assert_eq!(
            rule(&run(&mut p, "EXECUTE del(1)")),
            Some(Rule::Unrecognised)
        );
    }

    #[test]
    fn reads_arguments_and_warnings() {
        let mut p = Prepared::default();
        assert_eq!(
            run(&mut p, "PREPARE q AS SELECT * FROM t WHERE a = $1").verdict,
            Verdict::Read
        );
        assert_eq!(run(&mut p, "EXECUTE q(1)").verdict, Verdict::Read);
        // The arguments are expressions: what they call counts.
        let a = run(&mut p, "EXECUTE q(nextval('s'))");
        assert_eq!(a.verdict, Verdict::Write { opaque: true });
        assert!(!a.survives_rollback.is_empty());
        assert_eq!(
            rule(&run(&mut p, "EXECUTE q(dblink_exec('x'))")),
            Some(Rule::OutsideReach)
        );
        // A PREPARE runs nothing, so it carries no warning; its EXECUTE does.
        let prep = run(&mut p, "PREPARE bump AS SELECT setval('s', 42)");
        assert!(prep.survives_rollback.is_empty());
        assert_eq!(prep.verdict, Verdict::Write { opaque: true });
        let exec = run(&mut p, "EXECUTE bump");
        assert_eq!(exec.verdict, Verdict::Write { opaque: true });
        assert!(!exec.survives_rollback.is_empty());
        // CREATE TABLE AS EXECUTE is a schema change that runs the prepared read.
        assert_eq!(
            run(&mut p, "CREATE TABLE x AS EXECUTE q(1)").verdict,
            Verdict::Ddl
        );
        run(&mut p, "DEALLOCATE ALL");
        assert_eq!(rule(&run(&mut p, "EXECUTE q(1)")), Some(Rule::Unrecognised));
    }

    #[test]
    fn a_refused_prepare_is_not_recorded() {
        let mut p = Prepared::default();
        assert_eq!(
            rule(&run(&mut p, "PREPARE x AS SELECT dblink_exec('a')")),
            Some(Rule::OutsideReach)
        );
        assert_eq!(rule(&run(&mut p, "EXECUTE x")), Some(Rule::Unrecognised));
        // The driver's own statement names are not the user's.
        assert_eq!(
            rule(&run(&mut p, "PREPARE s1 AS SELECT 1")),
            Some(Rule::Unrecognised)
        );
        assert_eq!(
            run(&mut p, "PREPARE s1x AS SELECT 1").verdict,
            Verdict::Read
        );
    }
}
