//! The classifier's answer, shared by the classifier, the tree walk and the PL/pgSQL
//! inspection: what one statement is ([`Verdict`]), how risky a part of it is ([`Risk`]),
//! and everything the guard learnt about it on the way ([`Analysis`]) for `pgward check`.

use crate::policy::Refusal;

/// Transaction-control statements, which the session interprets itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN` / `START TRANSACTION` (options are refused by policy except isolation level).
    Begin {
        /// `ISOLATION LEVEL …` as SQL text, e.g. `"REPEATABLE READ"`, if given.
        isolation: Option<String>,
    },
    /// `COMMIT` / `END` (without AND CHAIN).
    Commit,
    /// `ROLLBACK` / `ABORT` (without AND CHAIN, without TO SAVEPOINT).
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `ROLLBACK TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
}

/// What a statement is, as far as the guard is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reads only: runs in `BEGIN READ ONLY` when no transaction is open.
    Read,
    /// Changes data. `opaque` is true when pgward cannot see which rows (DO blocks with
    /// dynamic SQL, CALL, TRUNCATE, functions that write): counts-only preview.
    Write {
        /// True when the rows changed cannot be captured one by one.
        opaque: bool,
    },
    /// Changes the schema; runs like a write.
    Ddl,
    /// Cannot run inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, …): the
    /// session runs it alone, outside any transaction, after an approval bound to its
    /// exact text. `what` names it for the summary, e.g. `"CREATE INDEX CONCURRENTLY"`.
    NonTransactional {
        /// The statement's kind, in words.
        what: &'static str,
        /// The strongest table lock it takes.
        lock: &'static str,
    },
    /// Transaction control, interpreted by the session.
    Transaction(TxControl),
    /// A session setting pgward allows (`SET work_mem`, `SET search_path`, …).
    Session,
    /// Refused by policy.
    Refused(Refusal),
}

/// How much a statement (or a part of it) can change, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Risk {
    /// Reads only.
    Read,
    /// Changes rows pgward can see (INSERT, UPDATE, DELETE, MERGE, row locks).
    Write,
    /// Changes pgward cannot see row by row (CALL, TRUNCATE, nextval, dynamic SQL, …).
    OpaqueWrite,
    /// Changes the schema.
    Ddl,
}

impl Risk {
    /// The risk of a verdict that runs in a transaction (`None` for the rest).
    pub(crate) fn of(verdict: &Verdict) -> Option<Risk> {
        match verdict {
            Verdict::Read => Some(Risk::Read),
            Verdict::Write { opaque: false } => Some(Risk::Write),
            Verdict::Write { opaque: true } => Some(Risk::OpaqueWrite),
            Verdict::Ddl => Some(Risk::Ddl),
            _ => None,
        }
    }

    pub(crate) fn verdict(self) -> Verdict {
        match self {
            Risk::Read => Verdict::Read,
            Risk::Write => Verdict::Write { opaque: false },
            Risk::OpaqueWrite => Verdict::Write { opaque: true },
            Risk::Ddl => Verdict::Ddl,
        }
    }
}

/// Everything the classifier learnt about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The verdict the session acts on.
    pub verdict: Verdict,
    /// Relations the statement reads, as written (schema-qualified when it was).
    pub reads: Vec<String>,
    /// Relations the statement writes or changes the definition of.
    pub writes: Vec<String>,
    /// The strongest table lock a schema change takes (`ACCESS EXCLUSIVE`, …).
    pub lock: Option<&'static str>,
    /// Functions called whose effect survives ROLLBACK (each with why): the statement is
    /// a write with a warning, and `--dry-run` and `\preview` never run it.
    pub survives_rollback: Vec<String>,
    /// PostgreSQL's own parser rejected the statement: the server would answer this
    /// syntax error (SQLSTATE 42601), so the session reports it as one, sending nothing.
    pub syntax_error: Option<String>,
    /// What the statement is when the policy, not the classifier, refused it: schema DDL
    /// that reaches outside the database (a foreign server, a subscription, an untrusted
    /// language) is classified as DDL with its lock, then refused. `pgward check` reports
    /// this class next to the refusal; the session acts on `verdict` alone.
    pub class: Option<Verdict>,
    /// The cursor or prepared statement the statement declares, prepares, runs or drops,
    /// or the function it creates or drops.
    pub named: Option<Named>,
    /// A body it runs (a DO block, a function created earlier) `EXECUTE`s a computed
    /// string that `allow_dynamic_sql` let through: what that does is known only to the
    /// server, so the preview marks the statement opaque and shows the server's counts.
    pub dynamic_sql: bool,
    /// The functions the statement runs (last name part, as the parser folds it), which
    /// [`super::created::Created`] looks up among those created earlier.
    pub calls: Vec<String>,
}

/// Statements about objects the server keeps for the session between statements: cursors
/// and prepared statements. What they mean depends on what ran before them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// `DECLARE name CURSOR FOR query`. Over a read (the verdict is `Read`), without
    /// `WITH HOLD`: the cursor lives until its transaction ends, so it needs an open one,
    /// and the read-only savepoint it is declared in is released, not rolled back.
    /// FETCH, MOVE and CLOSE are reads. A refused DECLARE keeps its name too, so that
    /// `pgward check` can refuse a later FETCH of it ([`super::cursors::Cursors`]).
    Cursor(String),
    /// `FETCH` or `MOVE` from the cursor `name`: it runs the cursor's query.
    Fetch(String),
    /// `PREPARE name AS statement`: its verdict is its statement's (nothing runs yet).
    /// `statement` is the prepared statement's text and `analysis` its own analysis, which
    /// an EXECUTE of it gets ([`super::prepared::Prepared`]).
    Prepare {
        /// The prepared statement's name, as the server folds it.
        name: String,
        /// The prepared statement's text (after `AS`).
        statement: String,
        /// The prepared statement's own analysis.
        analysis: Box<Analysis>,
    },
    /// `EXECUTE name` (typed, or inside EXPLAIN ANALYZE or CREATE TABLE AS): refused
    /// until [`super::prepared::Prepared::resolve`] gives it the class of the statement
    /// prepared under that name. `own` is what the statement does besides (its
    /// arguments, the table CREATE TABLE AS makes).
    Execute {
        /// The prepared statement's name.
        name: String,
        /// The analysis of the statement without the prepared statement.
        own: Box<Analysis>,
    },
    /// `DEALLOCATE name`, or `DEALLOCATE ALL` (`None`).
    Deallocate(Option<String>),
    /// `CREATE [OR REPLACE] FUNCTION/PROCEDURE`: nothing runs yet. `body` is the class its
    /// body got, which a later call of it takes ([`super::created::Created`]).
    Function {
        /// Its name as written (schema-qualified when it was).
        name: String,
        /// Its argument types, each its type's last name part (`[]` for arrays).
        args: Vec<String>,
        /// The analysis of its body (refused when the body is).
        body: Box<Analysis>,
    },
    /// `DROP FUNCTION/PROCEDURE/ROUTINE`: each name, with its argument types when given.
    DropFunction(Vec<(String, Option<Vec<String>>)>),
}

impl Analysis {
    /// An analysis that is only a verdict (transaction control, settings, refusals).
    pub(crate) fn bare(verdict: Verdict) -> Analysis {
        Analysis {
            verdict,
            reads: Vec::new(),
            writes: Vec::new(),
            lock: None,
            survives_rollback: Vec::new(),
            syntax_error: None,
            class: None,
            named: None,
            dynamic_sql: false,
            calls: Vec::new(),
        }
    }
}

/// The line that marks a statement whose body runs dynamic SQL ([`Analysis::dynamic_sql`])
/// opaque, in the session's preview, its log and `pgward check`.
pub const OPAQUE_DYNAMIC: &str = "opaque: dynamic SQL — the preview cannot say what this statement does; only the counts below are the server's";

/// What the classifier may let through, per environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `EXECUTE` of a computed string in a DO block or function body: refused unless
    /// the environment sets `allow_dynamic_sql = true` (then the role setup is what
    /// holds, and the write is opaque).
    pub allow_dynamic_sql: bool,
}
