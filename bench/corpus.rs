//! Benchmark: the classifier's goals on a large corpus of real SQL (issue 6), such as
//! PostgreSQL's own regression tests (`src/test/regress/sql/*.sql`).
//!
//! Run it with `bench/corpus.sh DIR` (`cargo bench --bench corpus -- DIR`). Every `.sql`
//! file under DIR is cut and classified exactly as `pgward check` does
//! (`check::check_file`), and each statement is also given a *kind* of its own, from its
//! top-level parse-tree node alone (independent of the classifier's rules): a read, a
//! write, schema DDL, or something else (transaction control, settings, COPY, roles and
//! databases, …). A cursor's DECLARE is the kind of its query, FETCH, MOVE and CLOSE are
//! reads, a PREPARE is the kind of what it prepares and an EXECUTE that of the statement
//! prepared under its name earlier in the file. The report prints, against the goals:
//!
//! - writes classified as reads (by kind), and, with `--oracle`, by an oracle that does
//!   not use the classifier at all: every statement classified as a read is run on a
//!   scratch cluster inside a READ ONLY transaction (then rolled back), and the server's
//!   SQLSTATE 25006 (read_only_sql_transaction) marks a statement that writes;
//! - the share of reads and writes classified (neither refused nor sent to a fallback;
//!   a read or write by its node that the classifier finds to be more, such as a call of
//!   a function whose body creates a table, is classified as DDL, and how many are is
//!   said), also without the cursor and prepared-statement statements (counted as "other"
//!   before pgward classified them). Statements refused as the script is read (rule
//!   MetaCommand: `\gexec`, `\bind`, `\;`, a meta-command inside a statement) never
//!   reach the classifier and are counted apart, here and for DDL;
//! - the share of schema DDL classified as DDL with its lock level. This counts the
//!   classification: DDL that reaches outside the database (a foreign server, a
//!   subscription, an untrusted language) is classified as DDL with its lock and then
//!   refused by the policy (`pgward check` reports class `ddl`, decision `refuse`); the
//!   report says how many;
//! - that every refusal names a rule, and which rules refuse what;
//! - the classification speed over the whole corpus, next to PostgreSQL's parser alone
//!   (`pg_query::parse`, one call per statement, one thread) timed in the same run.
//!
//! `--equivalence` also checks the fast path (plain reads and writes, plain EXPLAINs and
//! plain PL/pgSQL expressions, decided on PostgreSQL's summary without the parse tree):
//! every statement must get exactly the full classifier's analysis (`sql::analyze_tree`,
//! the whole tree at every depth); a difference fails the run.
//!
//! `--dump FILE` writes one tab-separated line per statement (file:line, kind, class,
//! rule, lock, first reason, relations read, relations written, text).
//!
//! For the oracle the files are replayed in order (`test_setup.sql` first, then by
//! name) on one scratch cluster as its superuser, each file on a fresh connection, so that
//! the objects later statements read exist: statements not classified as reads run
//! normally (autocommit, with a statement timeout), errors included, as in a regression
//! run. A read whose READ ONLY run fails for another reason (a missing object, a psql
//! variable that was never set, an aborted transaction) is counted as inconclusive.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pg_query::NodeEnum;

type BoxError = Box<dyn std::error::Error>;

/// What a statement is by its top-level node, without the classifier's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Read,
    Write,
    Ddl,
    Other(&'static str),
    /// PostgreSQL's parser rejects it (a deliberate syntax error, a psql variable, COPY
    /// data lines).
    NoParse,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Ddl => "ddl",
            Kind::Other(what) => what,
            Kind::NoParse => "no-parse",
        }
    }
}

/// The kind of one piece of SQL.
fn kind_of(sql: &str) -> Kind {
    let Ok(parsed) = pg_query::parse(sql, 0) else {
        return Kind::NoParse;
    };
    let [raw] = parsed.protobuf.stmts.as_slice() else {
        return Kind::NoParse;
    };
    match raw.stmt.as_ref().and_then(|s| s.node.as_ref()) {
        Some(node) => kind_of_node(node),
        None => Kind::NoParse,
    }
}

fn kind_of_node(node: &NodeEnum) -> Kind {
    match node {
        NodeEnum::SelectStmt(s) if s.into_clause.is_some() => Kind::Ddl,
        NodeEnum::SelectStmt(s) if !s.locking_clause.is_empty() => Kind::Write,
        NodeEnum::SelectStmt(_) => Kind::Read,
        NodeEnum::InsertStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::DeleteStmt(_)
        | NodeEnum::MergeStmt(_) => Kind::Write,
        NodeEnum::ExplainStmt(e) => {
            let analyze = e.options.iter().any(|o| {
                matches!(o.node.as_ref(), Some(NodeEnum::DefElem(d))
                    if d.defname == "analyze" && !matches!(
                        d.arg.as_deref().and_then(|a| a.node.as_ref()),
                        Some(NodeEnum::Boolean(b)) if !b.boolval))
            });
            match e.query.as_deref().and_then(|q| q.node.as_ref()) {
                Some(inner) if analyze => match kind_of_node(inner) {
                    Kind::Write | Kind::Ddl => Kind::Write,
                    _ => Kind::Read,
                },
                _ => Kind::Read,
            }
        }
        NodeEnum::TruncateStmt(_) | NodeEnum::LockStmt(_) => Kind::Write,
        NodeEnum::TransactionStmt(_) => Kind::Other("transaction"),
        NodeEnum::VariableSetStmt(_)
        | NodeEnum::VariableShowStmt(_)
        | NodeEnum::DiscardStmt(_)
        | NodeEnum::ConstraintsSetStmt(_) => Kind::Other("session"),
        NodeEnum::DoStmt(_) | NodeEnum::CallStmt(_) => Kind::Other("procedural (DO, CALL)"),
        NodeEnum::CopyStmt(_) => Kind::Other("COPY"),
        // A cursor reads (or, FOR UPDATE, writes) what its query does; FETCH, MOVE and
        // CLOSE read. A PREPARE is what it prepares; an EXECUTE is looked up by name in
        // `kinds` (the PREPAREs before it in the same file).
        NodeEnum::DeclareCursorStmt(d) => match d.query.as_deref().and_then(|q| q.node.as_ref()) {
            Some(query) => kind_of_node(query),
            None => Kind::NoParse,
        },
        NodeEnum::FetchStmt(_) | NodeEnum::ClosePortalStmt(_) => Kind::Read,
        NodeEnum::PrepareStmt(p) => match p.query.as_deref().and_then(|q| q.node.as_ref()) {
            Some(query) => kind_of_node(query),
            None => Kind::NoParse,
        },
        NodeEnum::ExecuteStmt(_) => Kind::Other("EXECUTE (until looked up by name)"),
        NodeEnum::DeallocateStmt(_) => Kind::Other("session"),
        NodeEnum::VacuumStmt(_) | NodeEnum::CheckPointStmt(_) | NodeEnum::LoadStmt(_) => {
            Kind::Other("maintenance (VACUUM, ANALYZE, CHECKPOINT, LOAD)")
        }
        NodeEnum::NotifyStmt(_) | NodeEnum::ListenStmt(_) | NodeEnum::UnlistenStmt(_) => {
            Kind::Other("LISTEN, NOTIFY")
        }
        NodeEnum::CreateRoleStmt(_)
        | NodeEnum::AlterRoleStmt(_)
        | NodeEnum::AlterRoleSetStmt(_)
        | NodeEnum::DropRoleStmt(_)
        | NodeEnum::GrantRoleStmt(_)
        | NodeEnum::CreatedbStmt(_)
        | NodeEnum::DropdbStmt(_)
        | NodeEnum::AlterDatabaseStmt(_)
        | NodeEnum::AlterDatabaseSetStmt(_)
        | NodeEnum::AlterDatabaseRefreshCollStmt(_)
        | NodeEnum::CreateTableSpaceStmt(_)
        | NodeEnum::DropTableSpaceStmt(_)
        | NodeEnum::AlterTableSpaceOptionsStmt(_)
        | NodeEnum::AlterSystemStmt(_) => {
            Kind::Other("cluster-wide (roles, databases, tablespaces, ALTER SYSTEM)")
        }
        // Everything else that PostgreSQL's grammar calls a statement defines, changes,
        // drops or grants on schema objects.
        _ => Kind::Ddl,
    }
}

/// The kind of `sql`, following the PREPAREs and DEALLOCATEs of its file, and whether it
/// is a cursor or prepared-statement statement.
fn stateful_kind(sql: &str, prepared: &mut BTreeMap<String, Kind>) -> (Kind, bool) {
    let kind = kind_of(sql);
    let Ok(parsed) = pg_query::parse(sql, 0) else {
        return (kind, false);
    };
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|r| r.stmt.as_ref()?.node.as_ref());
    match node {
        Some(NodeEnum::PrepareStmt(p)) => {
            prepared.insert(p.name.clone(), kind);
            (kind, true)
        }
        Some(NodeEnum::ExecuteStmt(e)) => match prepared.get(&e.name) {
            Some(k) => (*k, true),
            None => (
                Kind::Other("EXECUTE of a statement not prepared in the file"),
                true,
            ),
        },
        Some(NodeEnum::DeallocateStmt(d)) => {
            if d.isall {
                prepared.clear();
            } else {
                prepared.remove(&d.name);
            }
            (kind, true)
        }
        Some(
            NodeEnum::DeclareCursorStmt(_) | NodeEnum::FetchStmt(_) | NodeEnum::ClosePortalStmt(_),
        ) => (kind, true),
        _ => (kind, false),
    }
}

/// One classified statement.
struct Row {
    file: String,
    line: usize,
    kind: Kind,
    /// A cursor or prepared-statement statement (DECLARE, FETCH, MOVE, CLOSE, PREPARE,
    /// EXECUTE), counted among reads and writes by their kind since they are classified.
    stateful: bool,
    class: &'static str,
    rule: Option<&'static str>,
    lock: Option<&'static str>,
    reason: String,
    reads: String,
    writes: String,
    text: String,
}

/// Counts by key, printed largest first.
#[derive(Default)]
struct Tally(BTreeMap<String, usize>);

impl Tally {
    fn add(&mut self, key: impl Into<String>) {
        *self.0.entry(key.into()).or_default() += 1;
    }
    fn top(&self, n: usize) -> Vec<(&String, &usize)> {
        let mut v: Vec<_> = self.0.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("corpus: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), BoxError> {
    let mut dir = None;
    let mut dump = None;
    let mut oracle = false;
    let mut equivalence = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--oracle" => oracle = true,
            "--equivalence" => equivalence = true,
            "--dump" => dump = Some(PathBuf::from(args.next().ok_or("--dump needs a file")?)),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir
        .or_else(|| std::env::var_os("PGWARD_CORPUS_DIR").map(PathBuf::from))
        .ok_or("usage: bench/corpus.sh DIR [--oracle] [--dump FILE]")?;
    let files = sql_files(&dir)?;
    if files.is_empty() {
        return Err(format!("no .sql files under {}", dir.display()).into());
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(p)?).into_owned();
            let name = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
            Ok((name, text))
        })
        .collect::<Result<_, std::io::Error>>()?;
    let policy = pgward::check::Policy {
        can_write: true,
        ..Default::default()
    };

    // The classification, timed as `pgward check` does it (wall clock and CPU).
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let reports = pgward::check::check_files(&files, &policy);
    let elapsed = t.elapsed();
    let classify_cpu = cpu_seconds() - cpu;

    let mut rows = Vec::new();
    for (report, (_, text)) in reports.iter().zip(&texts) {
        // The kind of each statement prepared so far in this file, by name.
        let mut prepared: BTreeMap<String, Kind> = BTreeMap::new();
        for s in &report.statements {
            let sql = text.get(s.start..s.end).unwrap_or("");
            let (kind, stateful) = stateful_kind(sql, &mut prepared);
            rows.push(Row {
                file: report.path.clone(),
                line: s.line,
                kind,
                stateful,
                class: s.class,
                rule: s.rule,
                lock: s.lock,
                reason: s.reasons.first().cloned().unwrap_or_default(),
                reads: s.reads.join(","),
                writes: s.writes.join(","),
                text: sql.to_string(),
            });
        }
    }
    // For reference, in the same run (the machine's load shows in both): PostgreSQL's
    // parser alone, one call per statement, one thread.
    let (t, cpu) = (Instant::now(), cpu_seconds());
    for r in &rows {
        let _ = std::hint::black_box(pg_query::parse(&r.text, 0));
    }
    let reference = t.elapsed();
    let reference_cpu = cpu_seconds() - cpu;
    if let Some(path) = &dump {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for r in &rows {
            writeln!(
                out,
                "{}:{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.file,
                r.line,
                r.kind.name(),
                r.class,
                r.rule.unwrap_or("-"),
                r.lock.unwrap_or("-"),
                one_line(&r.reason, 300),
                r.reads,
                r.writes,
                one_line(&r.text, 300)
            )?;
        }
    }
    let oracle_result = if oracle {
        Some(run_oracle(&texts, &reports)?)
    } else {
        None
    };
    print_report(
        &dir,
        files.len(),
        &rows,
        (elapsed, reference),
        (classify_cpu, reference_cpu),
        oracle_result.as_ref(),
    );
    if equivalence {
        check_equivalence(&rows)?;
    }
    Ok(())
}

/// `--equivalence`: every statement must get from the classifier (`sql::analyze`, with the
/// fast path: plain reads and writes, plain EXPLAINs and plain PL/pgSQL expressions
/// decided on PostgreSQL's summary) exactly the analysis the full classifier
/// (`sql::analyze_tree`: the whole parse tree at every depth) gives; any difference is
/// printed and fails the run.
fn check_equivalence(rows: &[Row]) -> Result<(), BoxError> {
    let options = pgward::sql::Options::default();
    let (mut fast, mut differ) = (0, 0);
    for r in rows {
        if pgward::sql::fast::summarized(&r.text).is_some() {
            fast += 1;
        }
        let quick = pgward::sql::analyze(&r.text, &options);
        let full = pgward::sql::analyze_tree(&r.text, &options);
        if quick != full {
            differ += 1;
            println!(
                "DIFFERS {}:{}: fast {quick:?}\n    full {full:?}\n    {}",
                r.file,
                r.line,
                one_line(&r.text, 200)
            );
        }
    }
    println!(
        "\nFast path: {fast} of {} statements ({}) decided on PostgreSQL's summary without the \
         parse tree (plain reads and writes, plain EXPLAINs, plain CREATE TABLEs); statements \
         whose analysis (bodies and their expressions included) differs from the full \
         classifier's: {differ}",
        rows.len(),
        pct(fast, rows.len())
    );
    println!(
        "{}: the fast path gives exactly the full classifier's analysis",
        verdict(differ == 0)
    );
    if differ > 0 {
        return Err(format!("{differ} analyses differ from the full classifier's").into());
    }
    Ok(())
}

/// Every `.sql` file under `dir`, `test_setup.sql` first, then by path.
fn sql_files(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    out.sort_by_key(|p| {
        (
            p.file_name().is_none_or(|n| n != "test_setup.sql"),
            p.clone(),
        )
    });
    Ok(out)
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".into()
    } else {
        format!("{:.2}%", 100.0 * n as f64 / d as f64)
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "PASS"
    } else {
        "FAIL"
    }
}

/// What the READ ONLY oracle found.
struct Oracle {
    tested: usize,
    passed: usize,
    inconclusive: Tally,
    writes: Vec<String>,
    elapsed: std::time::Duration,
}

fn print_report(
    dir: &Path,
    files: usize,
    rows: &[Row],
    (elapsed, reference): (std::time::Duration, std::time::Duration),
    (classify_cpu, reference_cpu): (f64, f64),
    oracle: Option<&Oracle>,
) {
    let n = rows.len();
    let parsed = rows.iter().filter(|r| r.kind != Kind::NoParse).count();
    let mut kinds = Tally::default();
    for r in rows {
        kinds.add(r.kind.name());
    }
    // Statements `pgward check` refuses as it reads the script (rule MetaCommand: a
    // `\gexec`, `\bind`, `\;`, a meta-command inside a statement) never reach the
    // classifier, so they are no classifier's miss: counted apart.
    let script_level = |r: &&Row| r.rule == Some("MetaCommand");
    let meta: Vec<&Row> = rows.iter().filter(script_level).collect();
    let rw: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::Read | Kind::Write) && !script_level(r))
        .collect();
    // Classified: neither refused nor sent to a fallback (there is none left). A read
    // or write by its top-level node may be classified as more than that: a call of a
    // function whose body changes the schema, `EXPLAIN ANALYZE CREATE TABLE AS`, are DDL.
    let classified = |r: &Row| r.class != "refused";
    let rw_classified = rw.iter().filter(|r| classified(r)).count();
    let rw_as_read_or_write = rw
        .iter()
        .filter(|r| matches!(r.class, "read" | "write"))
        .count();
    let write_as_read: Vec<&&Row> = rw
        .iter()
        .filter(|r| r.kind == Kind::Write && r.class == "read")
        .collect();
    let ddl: Vec<&Row> = rows
        .iter()
        .filter(|r| r.kind == Kind::Ddl && !script_level(r))
        .collect();
    // The concurrent forms (CREATE INDEX CONCURRENTLY, …) run alone, outside a
    // transaction block, after an approval: still classified, with their lock.
    let is_ddl = |r: &Row| matches!(r.class, "ddl" | "non_transactional");
    let ddl_as_ddl = ddl.iter().filter(|r| is_ddl(r)).count();
    let ddl_with_lock = ddl.iter().filter(|r| is_ddl(r) && r.lock.is_some()).count();
    let refused: Vec<&Row> = rows
        .iter()
        .filter(|r| r.class == "refused" && r.kind != Kind::NoParse)
        .collect();
    let nameless = refused.iter().filter(|r| r.rule.is_none()).count();
    let catch_all = refused
        .iter()
        .filter(|r| r.rule == Some("Unrecognised") && r.reason.starts_with("refused: statement "))
        .count();

    println!("# pgward's classifier on a corpus of real SQL\n");
    println!(
        "Corpus: {} ({files} files), {n} statements as `pgward check` cuts them; \
         {parsed} of them parse (the rest are deliberate syntax errors, psql variables \
         and COPY data lines).\n",
        dir.display()
    );
    println!("| kind (top-level node) | statements |\n|---|---|");
    for (k, c) in kinds.top(usize::MAX) {
        println!("| {k} | {c} |");
    }
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "\nClassified in {:.3} s: {rate:.0} statements/s (split, parse, classify, policy; \
         release build; load average when run: {}).\n",
        elapsed.as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    );
    let reference_rate = n as f64 / reference.as_secs_f64();
    println!(
        "Reference, same run: PostgreSQL's parser alone (`pg_query::parse`, one call per \
         statement, 1 core) took {:.3} s, {reference_rate:.0} statements/s; the classifier \
         ran at {:.2}× that rate (a load on the machine slows both).\n",
        reference.as_secs_f64(),
        rate / reference_rate
    );
    let figure = classify_cpu / reference_cpu.max(0.01);
    println!(
        "CPU time (user + system, all threads), which a load on the machine does not inflate: \
         the classifier {classify_cpu:.2} s, the parser alone {reference_cpu:.2} s; a statement \
         costs the classifier {figure:.2}× the parser's CPU. On 2 free cores the classifier \
         runs at up to 2 × (the parser-alone rate) ÷ that figure, here {:.0}/s; 100,000/s \
         needs the parser-alone rate ÷ the figure to be at least 50,000/s.\n",
        2.0 * reference_rate / figure
    );
    println!("## Goals\n");
    println!("| goal | result | |\n|---|---|---|");
    println!(
        "| ≥ 100,000 statements/s | {rate:.0}/s | {} |",
        verdict(rate >= 100_000.0)
    );
    println!(
        "| no write classified as a read (by kind) | {} of {} writes | {} |",
        write_as_read.len(),
        rw.iter().filter(|r| r.kind == Kind::Write).count(),
        verdict(write_as_read.is_empty())
    );
    if let Some(o) = oracle {
        println!(
            "| no write classified as a read (READ ONLY oracle, SQLSTATE 25006) | {} of {} reads run conclusively ({} inconclusive) | {} |",
            o.writes.len(),
            o.tested - o.inconclusive.0.values().sum::<usize>(),
            o.inconclusive.0.values().sum::<usize>(),
            verdict(o.writes.is_empty())
        );
    }
    let plain: Vec<&&Row> = rw.iter().filter(|r| !r.stateful).collect();
    let plain_classified = plain.iter().filter(|r| classified(r)).count();
    println!(
        "| ≥ 99.5% of reads and writes classified (not refused) | {rw_classified} of {} ({}; as a read or write: {rw_as_read_or_write}, {}, the other {} as DDL); without the {} cursor and prepared-statement statements: {plain_classified} of {} ({}) | {} |",
        rw.len(),
        pct(rw_classified, rw.len()),
        pct(rw_as_read_or_write, rw.len()),
        rw_classified - rw_as_read_or_write,
        rw.len() - plain.len(),
        plain.len(),
        pct(plain_classified, plain.len()),
        verdict(rw_classified as f64 >= 0.995 * rw.len() as f64)
    );
    println!(
        "| (not counted above) statements refused as the script is read, rule MetaCommand | {} ({} reads and writes, {} DDL by kind): psql meta-commands pgward's script runner does not have (`\\gexec`, `\\gdesc`, `\\crosstabview`, `\\bind`, `\\;`) or a meta-command inside a statement | |",
        meta.len(),
        meta.iter()
            .filter(|r| matches!(r.kind, Kind::Read | Kind::Write))
            .count(),
        meta.iter().filter(|r| r.kind == Kind::Ddl).count(),
    );
    // Classification, not the policy's decision: DDL reaching outside the database is
    // classified (class ddl, with its lock) and then refused by the policy.
    let ddl_policy = ddl
        .iter()
        .filter(|r| is_ddl(r) && r.lock.is_some() && r.rule.is_some())
        .count();
    println!(
        "| ≥ 99% of schema DDL classified as DDL with its lock level | {ddl_with_lock} of {} ({}), of which {ddl_policy} then refused by the policy; as DDL at all: {ddl_as_ddl} ({}) | {} |",
        ddl.len(),
        pct(ddl_with_lock, ddl.len()),
        pct(ddl_as_ddl, ddl.len()),
        verdict(ddl_with_lock as f64 >= 0.99 * ddl.len() as f64)
    );
    println!(
        "| every refusal names a rule | {nameless} of {} refusals without a rule; {catch_all} by the catch-all (a statement type nobody classified) | {} |",
        refused.len(),
        verdict(nameless == 0 && catch_all == 0)
    );

    let mut by_rule: BTreeMap<&str, Tally> = BTreeMap::new();
    for r in &refused {
        let detail = r
            .reason
            .split(": ")
            .nth(1)
            .map(|d| one_line(d, 90))
            .unwrap_or_default();
        by_rule
            .entry(r.rule.unwrap_or("(none)"))
            .or_default()
            .add(format!("{} — {detail}", r.kind.name()));
    }
    println!(
        "\n## Refusals of statements that parse, by rule (kind — detail, most frequent first)\n"
    );
    for (rule, tally) in &by_rule {
        println!("- **{rule}**: {}", tally.0.values().sum::<usize>());
        for (what, c) in tally.top(12) {
            println!("  - {c} × {what}");
        }
    }
    let unclassified: Vec<&Row> = rw
        .iter()
        .copied()
        .filter(|r| !classified(r))
        .chain(
            ddl.iter()
                .copied()
                .filter(|r| r.class != "ddl" || r.lock.is_none()),
        )
        .collect();
    println!(
        "\n## Reads and writes refused, and DDL not classified as DDL with its lock ({} statements, first 40)\n",
        unclassified.len()
    );
    for r in unclassified.iter().take(40) {
        println!(
            "- {}:{} {} → {}{}: `{}`",
            r.file,
            r.line,
            r.kind.name(),
            r.class,
            r.rule.map(|x| format!(" [{x}]")).unwrap_or_default(),
            one_line(&r.text, 120).replace('`', "'")
        );
    }
    if !write_as_read.is_empty() {
        println!("\n## Writes classified as reads\n");
        for r in &write_as_read {
            println!("- {}:{}: `{}`", r.file, r.line, one_line(&r.text, 160));
        }
    }
    if let Some(o) = oracle {
        println!(
            "\n## READ ONLY oracle ({} reads, {:.0} s on a scratch cluster)\n",
            o.tested,
            o.elapsed.as_secs_f64()
        );
        println!(
            "- ran without error: {}; refused with 25006: {}",
            o.passed,
            o.writes.len()
        );
        println!("- inconclusive (other SQLSTATEs, most frequent first):");
        for (state, c) in o.inconclusive.top(10) {
            println!("  - {c} × {state}");
        }
        for w in &o.writes {
            println!("- **writes**: {w}");
        }
    }
}

/// Whether `sql` is a `DECLARE … CURSOR`.
fn declares_cursor(sql: &str) -> bool {
    pg_query::parse(sql, 0).is_ok_and(|p| {
        matches!(
            p.protobuf
                .stmts
                .first()
                .and_then(|r| r.stmt.as_ref()?.node.as_ref()),
            Some(NodeEnum::DeclareCursorStmt(_))
        )
    })
}

/// Replays the corpus on a scratch cluster; every statement classified as a read runs
/// in a READ ONLY transaction that is rolled back.
fn run_oracle(
    texts: &[(String, String)],
    reports: &[pgward::check::FileReport],
) -> Result<Oracle, BoxError> {
    use tokio_postgres::{Client, NoTls};
    let t = Instant::now();
    eprintln!("corpus: starting a scratch cluster for the READ ONLY oracle …");
    let cluster = pgward::scratch::Cluster::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let admin = connect(&cluster, "postgres").await?;
        admin.simple_query("CREATE DATABASE regression").await?;
        let mut oracle = Oracle {
            tested: 0,
            passed: 0,
            inconclusive: Tally::default(),
            writes: Vec::new(),
            elapsed: std::time::Duration::ZERO,
        };
        async fn connect(
            cluster: &pgward::scratch::Cluster,
            db: &str,
        ) -> Result<Client, BoxError> {
            let (client, conn) = tokio_postgres::connect(&cluster.conninfo(db), NoTls).await?;
            tokio::spawn(conn);
            client
                .simple_query("SET statement_timeout = '5s'; SET lock_timeout = '2s'")
                .await?;
            Ok(client)
        }
        let state = |e: &tokio_postgres::Error| {
            e.as_db_error()
                .map(|d| d.code().code().to_string())
                .unwrap_or_else(|| "(no SQLSTATE: connection)".into())
        };
        for (report, (name, text)) in reports.iter().zip(texts) {
            eprintln!("corpus: oracle: {name}");
            let mut client = connect(&cluster, "regression").await?;
            for s in &report.statements {
                if client.is_closed() {
                    client = connect(&cluster, "regression").await?;
                }
                let sql = text.get(s.start..s.end).unwrap_or("");
                if s.class != "read" {
                    let _ = client.simple_query(sql).await;
                    continue;
                }
                oracle.tested += 1;
                // In a transaction block (the file's own BEGIN) statement and transaction
                // timestamps differ; in an aborted one the question fails.
                let in_block = match client
                    .simple_query(
                        "SELECT pg_catalog.statement_timestamp() <> pg_catalog.transaction_timestamp()",
                    )
                    .await
                {
                    Ok(rows) => rows.iter().any(|m| {
                        matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))
                    }),
                    Err(e) => {
                        oracle.inconclusive.add(format!("{} (transaction aborted before it)", state(&e)));
                        continue;
                    }
                };
                // As the session runs a read: in a transaction block, inside a read-only
                // savepoint that is rolled back, except that a DECLARE's is released so
                // its cursor stays open for the FETCHes after it (transaction_read_only
                // ends with the savepoint either way).
                let (open, close) = if in_block {
                    (
                        "SAVEPOINT pgward_oracle; SET LOCAL transaction_read_only = on",
                        if declares_cursor(sql) {
                            "RELEASE SAVEPOINT pgward_oracle"
                        } else {
                            "ROLLBACK TO SAVEPOINT pgward_oracle; RELEASE SAVEPOINT pgward_oracle"
                        },
                    )
                } else {
                    ("BEGIN READ ONLY", "ROLLBACK")
                };
                if let Err(e) = client.simple_query(open).await {
                    oracle.inconclusive.add(format!("{} (opening)", state(&e)));
                    continue;
                }
                match client.simple_query(sql).await {
                    Ok(_) => oracle.passed += 1,
                    Err(e) if state(&e) == "25006" => oracle.writes.push(format!(
                        "{name}:{}: `{}` ({})",
                        s.line,
                        one_line(sql, 160),
                        one_line(&pgward::render::error::one_line(&e), 120)
                    )),
                    Err(e) => oracle.inconclusive.add(state(&e)),
                }
                let _ = client.simple_query(close).await;
            }
        }
        oracle.elapsed = t.elapsed();
        Ok::<_, BoxError>(oracle)
    })
}

/// CPU time (user + system) this process has used so far, all threads, from
/// /proc/self/stat (clock ticks of 1/100 s, Linux's USER_HZ); 0 where there is no /proc.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses: utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
