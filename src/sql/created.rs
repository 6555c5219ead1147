//! The functions and procedures a session (or a file under `pgward check`) has created,
//! so that a statement calling one takes the class of its body.
//!
//! The classifier sees one statement at a time: on its own, `SELECT f()` of a function
//! it does not know is a read. A `CREATE FUNCTION f() … INSERT …` earlier in the same
//! session or file says otherwise, and whoever saw it resolves the call here, the way
//! [`super::Prepared`] resolves an EXECUTE: the session records each CREATE [OR REPLACE]
//! FUNCTION/PROCEDURE the server accepted (with the class its body got, which the
//! classifier inspects already) and forgets each DROP, `pgward check` does the same for
//! the statements earlier in the file, in file order. A call takes at least its body's
//! risk: a body that writes makes the call an opaque write (the preview sees its rows
//! only as counts), a refused body makes the call refused for the same reason. What a
//! body calls is resolved when the call runs, not when the function was created: if `f`
//! calls `g`, a call of `f` takes the class `g` has at that moment (created, replaced or
//! dropped after `f`), transitively, each function visited once. Under
//! `pgward check`, a CREATE that pgward itself refuses creates nothing pgward ran: a
//! later call of that name is an opaque write ([`Created::refused`]).
//!
//! Functions are keyed by name as written and argument types; a call matches every
//! function of its last name part (overloads and schemas included), so a doubt makes the
//! call riskier, never safer. A DROP whose name or types are spelt otherwise than the
//! CREATE's forgets nothing. Functions nobody saw created stay as they are classified
//! today (the known list in [`super::functions`]).

use std::collections::{BTreeMap, BTreeSet};

use pg_query::protobuf::{self, FunctionParameterMode, ObjectType};
use pg_query::NodeEnum;

use super::tree::Facts;
use super::verdict::{Analysis, Named, Risk, Verdict};
use crate::policy::Refusal;

/// The functions known by (name as written, argument types), each with its body's class.
#[derive(Debug, Clone, Default)]
pub struct Created {
    by_key: BTreeMap<(String, Vec<String>), Analysis>,
}

impl Created {
    /// The analysis of a statement that calls functions created earlier, with the class
    /// of their bodies (the strongest of them and the statement's own); every other
    /// analysis as it is.
    ///
    /// Resolved now, at the call, and transitively: a body that calls another function
    /// created earlier takes that function's class as it is *now*, so `f` calling `g`
    /// follows `g` created or replaced after `f`. Each function is visited once, so a
    /// cycle (`f` calls `g` calls `f`) ends.
    pub fn resolve(&self, mut analysis: Analysis) -> Analysis {
        if analysis.calls.is_empty() || self.by_key.is_empty() {
            return analysis;
        }
        let Some(own) = Risk::of(&analysis.verdict) else {
            return analysis;
        };
        let mut risk = own;
        let mut seen: BTreeSet<&(String, Vec<String>)> = BTreeSet::new();
        let mut pending: Vec<String> = analysis.calls.clone();
        while let Some(call) = pending.pop() {
            for (key, body) in &self.by_key {
                if !names_the_call(&key.0, &call) || !seen.insert(key) {
                    continue;
                }
                let name = &key.0;
                if let Verdict::Refused(r) = &body.verdict {
                    let mut refused = Analysis::bare(Verdict::Refused(Refusal::new(
                        r.rule,
                        format!(
                            "a call of {name}, created earlier, whose body is refused: {}",
                            r.detail
                        ),
                    )));
                    refused.calls = analysis.calls.clone();
                    return refused;
                }
                let body_risk = match Risk::of(&body.verdict) {
                    // Rows a function changes are out of the preview's sight.
                    Some(Risk::Write) => Risk::OpaqueWrite,
                    Some(r) => r,
                    None => Risk::OpaqueWrite,
                };
                risk = risk.max(body_risk);
                analysis.reads.extend(body.reads.iter().cloned());
                analysis.writes.extend(body.writes.iter().cloned());
                analysis
                    .survives_rollback
                    .extend(body.survives_rollback.iter().cloned());
                analysis.dynamic_sql |= body.dynamic_sql;
                pending.extend(body.calls.iter().cloned());
            }
        }
        analysis.reads.sort();
        analysis.reads.dedup();
        analysis.writes.sort();
        analysis.writes.dedup();
        analysis.survives_rollback.sort();
        analysis.survives_rollback.dedup();
        if risk > own {
            if let Some(Named::Cursor(name)) = &analysis.named {
                // Its query runs at each FETCH, read-only (as `classify::cursor` refuses).
                let mut refused = Analysis::bare(Verdict::Refused(Refusal::new(
                    crate::policy::Rule::Cursor,
                    format!("DECLARE {name} over a query that calls a function created earlier whose body writes"),
                )));
                refused.named = analysis.named.clone();
                return refused;
            }
            analysis.verdict = risk.verdict();
        }
        analysis
    }

    /// Follows a statement the server ran (its [`Analysis::named`]): a CREATE FUNCTION
    /// is recorded with its body's own class and the functions the body calls (resolved
    /// at each call, [`Created::resolve`]), a DROP FUNCTION forgets.
    pub fn ran(&mut self, named: Option<&Named>) {
        match named {
            Some(Named::Function { name, args, body }) => {
                self.by_key
                    .insert((name.clone(), args.clone()), (**body).clone());
            }
            Some(Named::DropFunction(dropped)) => {
                for (name, args) in dropped {
                    match args {
                        Some(args) => {
                            self.by_key.remove(&(name.clone(), args.clone()));
                        }
                        None => self.by_key.retain(|(n, _), _| n != name),
                    }
                }
            }
            _ => {}
        }
    }

    /// The record after a transaction whose COMMIT outcome is unknown, from the record
    /// at its BEGIN (`before`) and at its COMMIT (`self`): the server may have kept the
    /// transaction's CREATEs or not, so every function it created or replaced is an
    /// opaque write (never a read, whichever body the server has), and one it dropped
    /// keeps its class from before (it is either that or gone).
    pub fn uncertain(&self, before: &Created) -> Created {
        let mut merged = before.clone();
        for (key, body) in &self.by_key {
            if before.by_key.get(key) != Some(body) {
                merged
                    .by_key
                    .insert(key.clone(), Analysis::bare(Risk::OpaqueWrite.verdict()));
            }
        }
        merged
    }
}

impl Created {
    /// Follows a `CREATE FUNCTION` pgward refuses (`pgward check`: the statement would
    /// not run). The function may exist all the same, created by other means with that
    /// body, so a later call of it is an opaque write: never a read, and not refused for
    /// another statement's reason.
    pub fn refused(&mut self, named: Option<&Named>) {
        if let Some(Named::Function { name, args, .. }) = named {
            self.by_key.insert(
                (name.clone(), args.clone()),
                Analysis::bare(Risk::OpaqueWrite.verdict()),
            );
        }
    }
}

/// Whether the function `name` (its name parts as written, joined by dots) may be what
/// a call of `call` (the call's last name part) runs: its last part, or its last parts
/// when a quoted name part holds a dot itself (`"x.f"`). A doubt matches: riskier, never
/// safer.
fn names_the_call(name: &str, call: &str) -> bool {
    name == call
        || name
            .strip_suffix(call)
            .is_some_and(|head| head.ends_with('.'))
}

/// The analysis of a `CREATE FUNCTION` with what its body does (`facts.body` from the
/// classifier, or, for a `BEGIN ATOMIC` body, the walk's facts), for [`Created::ran`].
pub(crate) fn definition(
    f: &protobuf::CreateFunctionStmt,
    mut analysis: Analysis,
    mut facts: Facts,
) -> Analysis {
    let body = match (&analysis.verdict, facts.body.take()) {
        (_, Some(body)) => of_facts(&body),
        // Refused for what it is (a setting, a language pgward cannot inspect).
        (Verdict::Refused(r), None) => Analysis::bare(Verdict::Refused(r.clone())),
        // BEGIN ATOMIC: the body is part of the statement's tree, walked with it.
        (_, None) => of_facts(&facts),
    };
    // Creating a function runs nothing of it.
    analysis.calls.clear();
    analysis.named = Some(Named::Function {
        name: names(&f.funcname).join("."),
        args: f
            .parameters
            .iter()
            .filter_map(|p| match p.node.as_ref() {
                Some(NodeEnum::FunctionParameter(p))
                    if !matches!(
                        p.mode(),
                        FunctionParameterMode::FuncParamOut | FunctionParameterMode::FuncParamTable
                    ) =>
                {
                    p.arg_type.as_ref().map(type_name)
                }
                _ => None,
            })
            .collect(),
        body: Box::new(body),
    });
    analysis
}

/// The analysis of a `DROP FUNCTION/PROCEDURE/ROUTINE` with the functions it drops.
pub(crate) fn dropped(d: &protobuf::DropStmt, mut analysis: Analysis) -> Analysis {
    if !matches!(
        d.remove_type(),
        ObjectType::ObjectFunction | ObjectType::ObjectProcedure | ObjectType::ObjectRoutine
    ) || matches!(analysis.verdict, Verdict::Refused(_))
    {
        return analysis;
    }
    let functions = d
        .objects
        .iter()
        .filter_map(|o| match o.node.as_ref() {
            Some(NodeEnum::ObjectWithArgs(o)) => {
                let args = (!o.args_unspecified).then(|| {
                    o.objargs
                        .iter()
                        .filter_map(|a| match a.node.as_ref() {
                            Some(NodeEnum::TypeName(t)) => Some(type_name(t)),
                            _ => None,
                        })
                        .collect()
                });
                Some((names(&o.objname).join("."), args))
            }
            _ => None,
        })
        .collect();
    analysis.named = Some(Named::DropFunction(functions));
    analysis
}

/// What a body does, as an analysis.
fn of_facts(facts: &Facts) -> Analysis {
    let verdict = match &facts.refusal {
        Some(r) => Verdict::Refused(r.clone()),
        None => facts.risk.unwrap_or(Risk::Read).verdict(),
    };
    let mut analysis = Analysis::bare(verdict);
    analysis.reads = facts.reads();
    analysis.writes = facts.writes.iter().cloned().collect();
    analysis.survives_rollback = facts.survives.clone();
    analysis.lock = facts.lock;
    analysis.calls = facts.calls.iter().cloned().collect();
    analysis.dynamic_sql = facts.dynamic;
    analysis
}

fn names(list: &[pg_query::Node]) -> Vec<String> {
    list.iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// A type as the key spells it: its last name part (`int` and `integer` are both
/// `int4`), `[]` for arrays.
fn type_name(t: &protobuf::TypeName) -> String {
    let names = names(&t.names);
    let mut name = names.last().cloned().unwrap_or_default();
    if !t.array_bounds.is_empty() {
        name.push_str("[]");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Rule;
    use crate::sql::{analyze, Options};

    #[test]
    fn a_call_matches_the_last_part_even_a_quoted_one_with_a_dot() {
        assert!(names_the_call("f", "f"));
        assert!(names_the_call("s.f", "f"));
        assert!(names_the_call("x.f", "x.f"));
        assert!(names_the_call("s.x.f", "x.f"));
        assert!(!names_the_call("s.g", "f"));
        assert!(!names_the_call("s.xf", "f"));
        let mut created = Created::default();
        run(
            &mut created,
            r#"CREATE FUNCTION "x.f"() RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1'"#,
        );
        assert_ne!(
            run(&mut created, r#"SELECT "x.f"()"#).verdict,
            Verdict::Read
        );
    }

    fn run(created: &mut Created, sql: &str) -> Analysis {
        let a = created.resolve(analyze(sql, &Options::default()));
        created.ran(a.named.as_ref());
        a
    }

    fn rule(a: &Analysis) -> Option<Rule> {
        match &a.verdict {
            Verdict::Refused(r) => Some(r.rule),
            _ => None,
        }
    }

    #[test]
    fn a_call_takes_the_class_of_a_body_created_earlier() {
        let mut c = Created::default();
        assert_eq!(run(&mut c, "SELECT f()").verdict, Verdict::Read);
        let create = run(
            &mut c,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ INSERT INTO t VALUES (1) RETURNING 1 $$",
        );
        assert_eq!(create.verdict, Verdict::Ddl);
        let call = run(&mut c, "SELECT f()");
        assert_eq!(call.verdict, Verdict::Write { opaque: true });
        assert_eq!(call.writes, vec!["t".to_string()]);
        // Qualified, nested, in a cursor, in a DO block, in a prepared statement.
        assert_eq!(
            run(&mut c, "SELECT * FROM u WHERE a = public.f()").verdict,
            Verdict::Write { opaque: true }
        );
        assert_eq!(
            rule(&run(&mut c, "DECLARE k CURSOR FOR SELECT f()")),
            Some(Rule::Cursor)
        );
        assert_eq!(
            run(&mut c, "DO $$ BEGIN PERFORM f(); END $$").verdict,
            Verdict::Write { opaque: true }
        );
        // A plain EXPLAIN runs nothing.
        assert_eq!(run(&mut c, "EXPLAIN SELECT f()").verdict, Verdict::Read);
        // A function that calls it writes too.
        run(
            &mut c,
            "CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN f(); END $$",
        );
        assert_eq!(
            run(&mut c, "SELECT g()").verdict,
            Verdict::Write { opaque: true }
        );
        // Dropped, then created again as a read.
        run(&mut c, "DROP FUNCTION f()");
        run(&mut c, "DROP FUNCTION g");
        assert_eq!(run(&mut c, "SELECT f(), g()").verdict, Verdict::Read);
        run(
            &mut c,
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        assert_eq!(run(&mut c, "SELECT f()").verdict, Verdict::Read);
    }

    #[test]
    fn calls_in_a_body_take_the_class_the_callee_has_at_call_time() {
        let mut c = Created::default();
        // f calls g, which does not exist yet: creating f resolves nothing.
        run(
            &mut c,
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN g(); END $$",
        );
        assert_eq!(run(&mut c, "SELECT f()").verdict, Verdict::Read);
        // g is created later with a writing body: a call of f now writes.
        run(
            &mut c,
            "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ DELETE FROM t RETURNING 1 $$",
        );
        let call = run(&mut c, "SELECT f()");
        assert_eq!(call.verdict, Verdict::Write { opaque: true });
        assert_eq!(call.writes, vec!["t".to_string()]);
        // Replaced by a read, then by a refused body: the call follows each time.
        run(
            &mut c,
            "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        assert_eq!(run(&mut c, "SELECT f()").verdict, Verdict::Read);
        c.ran(
            analyze(
                "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT dblink_exec('x') $$",
                &Options::default(),
            )
            .named
            .as_ref(),
        );
        assert_eq!(rule(&run(&mut c, "SELECT f()")), Some(Rule::OutsideReach));
        // Three deep, through a procedure and a DO block.
        run(
            &mut c,
            "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN h(); END $$",
        );
        run(
            &mut c,
            "CREATE PROCEDURE h() LANGUAGE sql AS $$ UPDATE u SET a = 1 $$",
        );
        let call = run(&mut c, "DO $$ BEGIN PERFORM f(); END $$");
        assert_eq!(call.verdict, Verdict::Write { opaque: true });
        assert_eq!(call.writes, vec!["u".to_string()]);
        // Dropping h makes f a read again.
        run(&mut c, "DROP PROCEDURE h");
        assert_eq!(run(&mut c, "SELECT f()").verdict, Verdict::Read);
    }

    #[test]
    fn a_cycle_of_calls_ends_and_keeps_the_strongest_class() {
        let mut c = Created::default();
        run(
            &mut c,
            "CREATE FUNCTION a(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN b(n - 1); END $$",
        );
        run(
            &mut c,
            "CREATE FUNCTION b(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN a(n); END $$",
        );
        // Self-recursive too.
        run(
            &mut c,
            "CREATE FUNCTION r(n int) RETURNS int LANGUAGE sql AS $$ SELECT r(n - 1) $$",
        );
        assert_eq!(run(&mut c, "SELECT a(3), r(2)").verdict, Verdict::Read);
        run(
            &mut c,
            "CREATE OR REPLACE FUNCTION b(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (n); RETURN a(n); END $$",
        );
        assert_eq!(
            run(&mut c, "SELECT a(3)").verdict,
            Verdict::Write { opaque: true }
        );
    }

    #[test]
    fn an_unknown_commit_outcome_makes_what_the_transaction_created_opaque() {
        let mut before = Created::default();
        run(
            &mut before,
            "CREATE FUNCTION kept() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        run(
            &mut before,
            "CREATE FUNCTION dropped() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        run(
            &mut before,
            "CREATE FUNCTION replaced() RETURNS int LANGUAGE sql AS $$ DELETE FROM t RETURNING 1 $$",
        );
        let mut after = before.clone();
        run(
            &mut after,
            "CREATE FUNCTION made() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        run(
            &mut after,
            "CREATE OR REPLACE FUNCTION replaced() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        run(&mut after, "DROP FUNCTION dropped()");
        let mut c = after.uncertain(&before);
        let opaque = Verdict::Write { opaque: true };
        assert_eq!(run(&mut c, "SELECT kept()").verdict, Verdict::Read);
        assert_eq!(run(&mut c, "SELECT dropped()").verdict, Verdict::Read);
        // Neither body is trusted to be the server's: never a read.
        assert_eq!(run(&mut c, "SELECT made()").verdict, opaque);
        assert_eq!(run(&mut c, "SELECT replaced()").verdict, opaque);
    }

    #[test]
    fn sql_standard_bodies_that_only_return_are_reads() {
        let mut c = Created::default();
        let create = run(
            &mut c,
            "CREATE FUNCTION s1(a text) RETURNS boolean LANGUAGE SQL RETURN a = 'abcd'",
        );
        assert_eq!(create.verdict, Verdict::Ddl);
        run(
            &mut c,
            "CREATE FUNCTION s2() RETURNS int BEGIN ATOMIC SELECT 1; RETURN 2; END",
        );
        run(
            &mut c,
            "CREATE FUNCTION s3() RETURNS int BEGIN ATOMIC INSERT INTO t VALUES (1); RETURN 2; END",
        );
        assert_eq!(run(&mut c, "SELECT s1('x'), s2()").verdict, Verdict::Read);
        assert_eq!(
            run(&mut c, "SELECT s3()").verdict,
            Verdict::Write { opaque: true }
        );
    }

    #[test]
    fn overloads_atomic_bodies_procedures_and_refused_bodies() {
        let mut c = Created::default();
        run(
            &mut c,
            "CREATE FUNCTION h(integer) RETURNS int BEGIN ATOMIC UPDATE t SET a = $1; SELECT 1; END",
        );
        run(
            &mut c,
            "CREATE OR REPLACE FUNCTION h(text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        );
        // Either overload may run: the call is the riskier.
        assert_eq!(
            run(&mut c, "SELECT h('x')").verdict,
            Verdict::Write { opaque: true }
        );
        // `int` is `integer`: this DROP forgets the writing one.
        run(&mut c, "DROP FUNCTION h(int)");
        assert_eq!(run(&mut c, "SELECT h('x')").verdict, Verdict::Read);
        // A procedure's CALL is a write already; a refused body refuses its calls.
        let p = run(
            &mut c,
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN PERFORM dblink_exec('x'); END $$",
        );
        assert_eq!(rule(&p), Some(Rule::OutsideReach));
        assert_eq!(rule(&run(&mut c, "CALL p()")), Some(Rule::OutsideReach));
        run(
            &mut c,
            "CREATE FUNCTION cf() RETURNS int LANGUAGE c AS 'x', 'y'",
        );
        assert_eq!(rule(&run(&mut c, "SELECT cf()")), Some(Rule::OutsideReach));
        // Unknown functions stay as they are.
        assert_eq!(run(&mut c, "SELECT other()").verdict, Verdict::Read);
    }
}
