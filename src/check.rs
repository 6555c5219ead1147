//! `pgward check FILE…`: the splitter, classifier and policy of a session, with no
//! connection, for code review and CI.
//!
//! A file is cut as `pgward -f` cuts it (a line that starts with a backslash where no
//! statement is unfinished is a meta-command, and is skipped here), and every statement
//! is reported with its byte range and line, its class, the rule that refuses it, the
//! relations it reads and writes, the lock a schema change takes, and the decision for
//! the environment (`--env`: an environment without a write role refuses writes). The
//! JSON form is versioned and documented in docs/check.md. Exit status: 0 clean, 2 when
//! any statement would be refused, 1 on warnings with `--strict`.

use std::io::Write;

use serde::Serialize;

use crate::policy::{Refusal, Rule};
use crate::sql::{self, Analysis, Options, Verdict};

/// The format version of the JSON report.
pub const VERSION: u32 = 1;

/// What an environment decides, as far as a check can know without a connection.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The environment's name, if one was chosen.
    pub env: Option<String>,
    /// Whether the environment has a write role (writes are refused without one). True
    /// when no environment was chosen.
    pub can_write: bool,
    /// Whether COMMIT needs a second person's approval.
    pub require_approval: bool,
    /// What the classifier may let through.
    pub options: Options,
    /// `--no-ddl`: a schema change fails the check.
    pub no_ddl: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// One entry per file, in the order given.
    pub files: Vec<FileReport>,
}

/// One file's statements.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// Its statements, in order.
    pub statements: Vec<StatementReport>,
}

/// One statement.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatementReport {
    /// Byte offset of the statement's first byte in the file.
    pub start: usize,
    /// Byte offset just past its last byte (the `;` excluded).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// `read`, `write`, `ddl`, `transaction`, `session` or `refused`.
    pub class: &'static str,
    /// The refusing rule's name, when refused.
    pub rule: Option<&'static str>,
    /// Relations read.
    pub reads: Vec<String>,
    /// Relations written or redefined.
    pub writes: Vec<String>,
    /// The table lock a schema change takes.
    pub lock: Option<&'static str>,
    /// `allow` (runs without COMMIT), `approve` (runs in the guarded transaction and
    /// needs a confirmed, approved COMMIT) or `refuse`.
    pub decision: &'static str,
    /// Why: the refusal with its reason, warnings, what the environment requires.
    pub reasons: Vec<String>,
    /// Whether any reason is a warning (for `--strict`).
    #[serde(skip)]
    pub warning: bool,
}

impl Report {
    /// The exit status: 2 when anything is refused, 1 on warnings when `strict`, else 0.
    pub fn exit_code(&self, strict: bool) -> crate::ExitCode {
        let all = || self.files.iter().flat_map(|f| f.statements.iter());
        if all().any(|s| s.decision == "refuse") {
            crate::ExitCode::Refused
        } else if strict && all().any(|s| s.warning) {
            crate::ExitCode::SqlError
        } else {
            crate::ExitCode::Ok
        }
    }

    /// The report as one line per statement, `path:line: class … decision`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            for s in &file.statements {
                let mut line = format!("{}:{}: {}", file.path, s.line, s.class);
                if let Some(rule) = s.rule {
                    line.push_str(&format!(" [{rule}]"));
                }
                if let Some(lock) = s.lock {
                    line.push_str(&format!(" (lock {lock})"));
                }
                if !s.reads.is_empty() {
                    line.push_str(&format!(" reads {}", s.reads.join(", ")));
                }
                if !s.writes.is_empty() {
                    line.push_str(&format!(" writes {}", s.writes.join(", ")));
                }
                line.push_str(&format!(" -> {}", s.decision));
                for reason in &s.reasons {
                    line.push_str(&format!("\n    {reason}"));
                }
                out.push_str(&crate::render::escape::multi_line(&line));
                out.push('\n');
            }
        }
        let all: Vec<&StatementReport> = self
            .files
            .iter()
            .flat_map(|f| f.statements.iter())
            .collect();
        let refused = all.iter().filter(|s| s.decision == "refuse").count();
        let warned = all.iter().filter(|s| s.warning).count();
        out.push_str(&format!(
            "{} statement{} checked, {refused} refused, {warned} with warnings\n",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ));
        out
    }
}

/// Checks the text of one file: [`check_files`] with that file alone.
pub fn check_file(path: &str, text: &str, policy: &Policy) -> FileReport {
    check_files(&[(path, text)], policy)
        .pop()
        .unwrap_or_else(|| FileReport {
            path: path.to_string(),
            statements: Vec::new(),
        })
}

/// Checks the text of each file (`(path, text)`), a report per file in the same order.
/// Each file's statements are cut first (quickly, in order), then the statements of all
/// the files are classified together on every core ([`sql::analyze_all`]), so many small
/// files keep every core as busy as one large one does.
///
/// Statements are cut as `pgward -f` reads the file (the script runner in
/// [`crate::repl`], as psql does): a `;` ends a statement, and a backslash in plain SQL
/// (not in a string, identifier, comment or dollar quote) starts a meta-command that
/// ends the line's SQL part. `\g`, `\gx`, `\gset` and `\watch` send the open statement even
/// without a `;`; `\r` discards it; `\gexec` (which runs result values as statements),
/// `\gdesc` and `\crosstabview` are refused; a statement with any other meta-command
/// inside it is refused (check does not follow a statement across one). Statements
/// joined by `\;` are refused, each of them ([`cut`]).
pub fn check_files(files: &[(&str, &str)], policy: &Policy) -> Vec<FileReport> {
    let cuts: Vec<Vec<Cut>> = files.iter().map(|(_, text)| cut(text)).collect();
    let texts: Vec<&str> = files
        .iter()
        .zip(&cuts)
        .flat_map(|((_, text), cut)| {
            cut.iter().filter_map(|c| match c {
                Cut::Statement { start, end }
                | Cut::Refused {
                    start,
                    end,
                    statement: true,
                    ..
                } => text.get(*start..*end),
                Cut::Refused { .. } => None,
            })
        })
        .collect();
    let mut analyses = sql::analyze_all(&texts, &policy.options).into_iter();
    files
        .iter()
        .zip(cuts)
        .map(|((path, text), cut)| file_report(path, text, cut, &mut analyses, policy))
        .collect()
}

/// The report of one file cut into `cut`, its statements' analyses the next ones of
/// `analyses` (one for each statement cut, in order).
fn file_report(
    path: &str,
    text: &str,
    cut: Vec<Cut>,
    analyses: &mut impl Iterator<Item = Analysis>,
    policy: &Policy,
) -> FileReport {
    let mut statements = Vec::with_capacity(cut.len());
    // An EXECUTE gets the class of a PREPARE earlier in the same file, a call of a
    // function the class of its body created earlier in the file: resolved in file
    // order, after the parallel classification.
    let mut prepared = sql::Prepared::default();
    let mut created = sql::Created::default();
    // A FETCH or MOVE of a cursor whose DECLARE is refused earlier in the file is
    // refused too.
    let mut cursors = sql::Cursors::default();
    for c in cut {
        let (start, end, analysis) = match c {
            // `analyze_all` gives one analysis per statement; were one missing, the
            // statement is refused rather than left out of the report.
            Cut::Statement { start, end } => (start, end, {
                let analysis = cursors.resolve(created.resolve(prepared.resolve(
                    analyses.next().unwrap_or_else(|| {
                        refused("a statement the classifier gave no verdict for")
                    }),
                )));
                prepared.ran(analysis.named.as_ref());
                cursors.ran(&analysis);
                if matches!(analysis.verdict, Verdict::Refused(_)) {
                    created.refused(analysis.named.as_ref());
                } else {
                    created.ran(analysis.named.as_ref());
                }
                analysis
            }),
            Cut::Refused {
                start,
                end,
                rule,
                why,
                statement,
            } => {
                let mut refused = Analysis::bare(Verdict::Refused(Refusal::new(rule, why)));
                if statement {
                    // Sent some other way than pgward sends statements (`\gexec`, `\;`),
                    // or not at all: what it would create or declare is recorded as for
                    // any refused CREATE or DECLARE, so a later call of the function is
                    // an opaque write and a FETCH of the cursor is refused, not taken
                    // for a function or cursor nobody saw.
                    refused.named = analyses.next().and_then(|a| a.named);
                    created.refused(refused.named.as_ref());
                    cursors.ran(&refused);
                }
                (start, end, refused)
            }
        };
        statements.push(report(start, end, analysis, policy));
    }
    // Lines in one pass (counting from the start of the file for each statement was
    // quadratic in the file's length).
    let (mut line, mut at) = (1, 0);
    for s in &mut statements {
        line += text.get(at..s.start).map_or(0, |t| t.matches('\n').count());
        at = at.max(s.start);
        s.line = line;
    }
    FileReport {
        path: path.to_string(),
        statements,
    }
}

/// Why a statement joined to others by `\;` is refused.
const JOINED: &str = "statements joined by \\; into one query (pgward sends statements one at a time; end each with ;)";

/// Cuts a file into statements as `pgward -f` reads it, in one pass: the scanner stops
/// at each backslash in plain SQL ([`sql::split::split_to_meta`]) and goes on after the
/// meta-command, so no text is lexed twice, however many backslashes the file holds.
///
/// `\;` is not a meta-command to psql: it puts a `;` in the query buffer without sending
/// it, and the statements so joined go to the server as one query when a `;` ends the
/// last of them. pgward sends statements one at a time, so each statement of such a
/// group is refused.
fn cut(text: &str) -> Vec<Cut> {
    let mut out = Vec::new();
    let mut from = 0;
    // After `\;`: the statements up to the next `;` join the group.
    let mut joined = false;
    while let Some(rest) = text.get(from..) {
        let (split, meta) = sql::split::split_to_meta(rest);
        let stop = meta.map_or(text.len(), |m| from + m);
        for piece in &split.pieces {
            let start = from + piece.start;
            let end = start + piece.text.len();
            out.push(if std::mem::take(&mut joined) {
                Cut::meta(start, end, JOINED)
            } else {
                Cut::Statement { start, end }
            });
        }
        // The statement open at the backslash (or the end), if any, and where it ends
        // before the blanks that precede the backslash.
        let open = split.rest.as_ref().map(|r| stop - r.len());
        let stop_sql = open.map_or(stop, |start| {
            let sql = text.get(start..stop).unwrap_or_default();
            start
                + sql
                    .trim_end_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
                    .len()
        });
        if meta.is_none() {
            if let Some(start) = open {
                out.push(Cut::Refused {
                    start,
                    end: text.len(),
                    rule: Rule::Unrecognised,
                    why: "an unterminated statement at the end of the input (pgward does not run it; end it with ;)",
                    statement: false,
                });
            }
            break;
        }
        let line_end = text
            .get(stop..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |n| stop + n + 1);
        let command = text.get(stop..line_end).unwrap_or_default();
        if command.starts_with("\\;") {
            if let Some(start) = open {
                out.push(Cut::meta(start, stop_sql, JOINED));
            }
            joined = true;
            from = stop + 2;
            continue;
        }
        let acts = meta_end(command);
        match (&acts, open) {
            (MetaEnd::Sends, Some(start)) if joined => out.push(Cut::meta(start, stop_sql, JOINED)),
            (MetaEnd::Sends, Some(start)) => out.push(Cut::Statement { start, end: stop_sql }),
            (MetaEnd::Refused(why), Some(start)) => out.push(Cut::meta(start, stop_sql, why)),
            (MetaEnd::Keeps, Some(start)) => out.push(Cut::meta(
                start,
                stop_sql,
                "a statement with a meta-command inside it (pgward check does not follow a statement across one; end the statement with ; first)",
            )),
            _ => {}
        }
        // Only a meta-command with no statement open leaves a group joined by `\;`
        // open; one that sends, discards or refuses the query buffer ends it.
        joined &= matches!((acts, open), (MetaEnd::Keeps, None));
        from = line_end;
    }
    out
}

/// A statement cut out of a file, by byte range.
enum Cut {
    /// A complete statement (its `;` excluded).
    Statement { start: usize, end: usize },
    /// A statement refused as it is cut: an unterminated tail, or one a meta-command
    /// acts on as pgward does not.
    Refused {
        start: usize,
        end: usize,
        rule: Rule,
        why: &'static str,
        /// Whether the text is a whole statement, classified all the same so that what
        /// it would create or declare is known to the statements after it.
        statement: bool,
    },
}

impl Cut {
    /// A whole statement refused for the meta-command that acts on it.
    fn meta(start: usize, end: usize, why: &'static str) -> Cut {
        Cut::Refused {
            start,
            end,
            rule: Rule::MetaCommand,
            why,
            statement: true,
        }
    }
}

/// What a meta-command does to the open statement.
enum MetaEnd {
    /// Sends it (`\g`, `\gx`, `\gset`, `\watch`).
    Sends,
    /// Discards it (`\r`).
    Discards,
    /// Acts on it as pgward does not.
    Refused(&'static str),
    /// Leaves it as it was (every other meta-command).
    Keeps,
}

/// What the meta-command `meta` (from its backslash to the end of the line) does.
fn meta_end(meta: &str) -> MetaEnd {
    let command = meta.split_whitespace().next().unwrap_or("\\");
    match command {
        "\\g" | "\\go" | "\\gx" | "\\gset" | "\\watch" => MetaEnd::Sends,
        "\\r" | "\\reset" => MetaEnd::Discards,
        "\\gexec" => MetaEnd::Refused(
            "a statement sent by \\gexec, which runs each value of its result as a statement (pgward runs only statements it can read; write them out)",
        ),
        "\\gdesc" | "\\crosstabview" => MetaEnd::Refused(
            "a statement sent by \\gdesc or \\crosstabview (pgward does not have them; end it with ;)",
        ),
        "\\bind" => MetaEnd::Refused(
            "a statement sent with \\bind parameters (pgward does not have \\bind; write the values into the statement)",
        ),
        _ => MetaEnd::Keeps,
    }
}

/// A statement refused without classifying it.
fn refused(why: &str) -> Analysis {
    Analysis::bare(Verdict::Refused(Refusal::new(
        crate::policy::Rule::Unrecognised,
        why,
    )))
}

fn report(start: usize, end: usize, analysis: Analysis, policy: &Policy) -> StatementReport {
    // Set by `check_file` in one pass over the file.
    let line = 0;
    let mut reasons = Vec::new();
    let mut warning = false;
    let mut rule = None;
    let (class, mut decision) = match &analysis.verdict {
        Verdict::Refused(r) => {
            rule = Some(r.rule.name());
            reasons.push(r.to_string());
            reasons.push(format!("hint: {}", r.hint()));
            // A statement the classifier classified and the policy refused keeps its class.
            (
                analysis.class.as_ref().map_or("refused", class_of),
                "refuse",
            )
        }
        Verdict::Read | Verdict::Session | Verdict::Transaction(_) => {
            (class_of(&analysis.verdict), "allow")
        }
        _ => (class_of(&analysis.verdict), "approve"),
    };
    if analysis.dynamic_sql {
        reasons.push(crate::sql::OPAQUE_DYNAMIC.into());
    } else if matches!(analysis.verdict, Verdict::Write { opaque: true }) {
        reasons.push("opaque: the preview shows counts only".into());
    }
    for what in &analysis.survives_rollback {
        warning = true;
        reasons.push(format!(
            "warning: its effect survives ROLLBACK ({what}); --dry-run and \\preview refuse it"
        ));
    }
    if let Verdict::NonTransactional { what, .. } = &analysis.verdict {
        reasons.push(format!(
            "{what} runs alone, outside any transaction: it cannot be rolled back"
        ));
    }
    if matches!(
        analysis.verdict,
        Verdict::Write { .. } | Verdict::Ddl | Verdict::NonTransactional { .. }
    ) {
        if !policy.can_write {
            decision = "refuse";
            reasons.push(format!(
                "environment {:?} has no write role, so writes are refused",
                policy.env.as_deref().unwrap_or("")
            ));
        } else {
            let when = match analysis.verdict {
                Verdict::NonTransactional { .. } => "running it",
                _ => "COMMIT",
            };
            reasons.push(if policy.require_approval {
                format!("{when} needs a second person's approval")
            } else {
                format!("{when} needs the author's confirmation")
            });
        }
    }
    if matches!(
        analysis.verdict,
        Verdict::Ddl | Verdict::NonTransactional { .. }
    ) && policy.no_ddl
    {
        decision = "refuse";
        reasons.push("--no-ddl: the script changes the schema".into());
    }
    StatementReport {
        start,
        end,
        line,
        class,
        rule,
        reads: analysis.reads,
        writes: analysis.writes,
        lock: analysis.lock,
        decision,
        reasons,
        warning,
    }
}

/// The class a verdict is reported as.
fn class_of(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Read => "read",
        Verdict::Session => "session",
        Verdict::Transaction(_) => "transaction",
        Verdict::Write { .. } => "write",
        Verdict::Ddl => "ddl",
        Verdict::NonTransactional { .. } => "non_transactional",
        Verdict::Refused(_) => "refused",
    }
}

/// Writes the report in the chosen format.
pub fn write(report: &Report, json: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
        writeln!(out, "{text}")
    } else {
        out.write_all(report.text().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            can_write: true,
            ..Policy::default()
        }
    }

    #[test]
    fn ranges_lines_and_meta_commands() {
        let text = "select 1;\n\\d t\nupdate t set a = 1\n  where id = 2;\nselect dblink('x');\ndelete from t";
        let r = check_file("f.sql", text, &policy());
        let s = &r.statements;
        assert_eq!(s.len(), 4);
        assert_eq!(
            (s[0].start, s[0].end, s[0].line, s[0].class),
            (0, 8, 1, "read")
        );
        assert_eq!(
            &text[s[1].start..s[1].end],
            "update t set a = 1\n  where id = 2"
        );
        assert_eq!(
            (s[1].line, s[1].class, s[1].decision),
            (3, "write", "approve")
        );
        assert_eq!((s[2].class, s[2].rule), ("refused", Some("OutsideReach")));
        assert_eq!((s[3].class, s[3].line), ("refused", 6));
        let report = Report {
            version: VERSION,
            files: vec![r],
        };
        assert_eq!(report.exit_code(false), crate::ExitCode::Refused);
    }

    #[test]
    fn cutting_lexes_each_byte_once_however_many_backslashes() {
        // Hostile input: a dollar quote left open across many lines that each start
        // with a backslash, a string of backslashes on one line, many meta-commands with
        // no statement open, and many statements each sent by `\g`. Lexing the open
        // statement again at each backslash (as cutting once did) is quadratic here:
        // billions of bytes for this file of under a megabyte.
        let n = 20_000;
        let mut text = String::from("select $$\n");
        text.push_str(&"\\x\n".repeat(n));
        text.push_str("$$;\nselect '");
        text.push_str(&"\\".repeat(n));
        text.push_str("';\n");
        text.push_str(&"\\echo x\n".repeat(n));
        text.push_str(&"select 1 \\g\n".repeat(n));
        let before = sql::split::lexed::total();
        let cut = cut(&text);
        let lexed = sql::split::lexed::total() - before;
        assert!(
            lexed <= text.len(),
            "{lexed} bytes lexed for a file of {}",
            text.len()
        );
        assert_eq!(cut.len(), 2 + n);
        assert!(cut.iter().all(|c| matches!(c, Cut::Statement { .. })));
    }

    #[test]
    fn statements_joined_by_backslash_semicolon_are_each_refused() {
        let text = "select 1 \\; delete from t \\;\ninsert into t values (1);\nselect 2;\nselect 3 \\; select 4 \\g\nselect 5;";
        let r = check_file("f.sql", text, &policy());
        let got: Vec<(&str, Option<&str>)> = r
            .statements
            .iter()
            .map(|s| (&text[s.start..s.end], s.rule))
            .collect();
        assert_eq!(
            got,
            [
                ("select 1", Some("MetaCommand")),
                ("delete from t", Some("MetaCommand")),
                ("insert into t values (1)", Some("MetaCommand")),
                ("select 2", None),
                ("select 3", Some("MetaCommand")),
                ("select 4", Some("MetaCommand")),
                ("select 5", None),
            ]
        );
    }

    #[test]
    fn functions_and_cursors_refused_as_cut_are_recorded() {
        let text = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$ \\gexec\n\
                    SELECT f();\n\
                    SELECT 1 \\; CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n\
                    SELECT g();\n\
                    BEGIN;\n\
                    DECLARE c CURSOR FOR SELECT 1 \\gexec\n\
                    FETCH c;\n\
                    SELECT h();\n";
        let r = check_file("f.sql", text, &policy());
        let s = &r.statements;
        let at = |needle: &str| {
            s.iter()
                .find(|s| text[s.start..s.end].starts_with(needle))
                .unwrap_or_else(|| panic!("no statement {needle}"))
        };
        assert_eq!(at("CREATE FUNCTION f").rule, Some("MetaCommand"));
        assert_eq!(at("CREATE FUNCTION g").rule, Some("MetaCommand"));
        // Never a read: the functions may exist with whatever body was sent.
        for call in ["SELECT f()", "SELECT g()"] {
            assert_eq!(
                (at(call).class, at(call).decision),
                ("write", "approve"),
                "{call}"
            );
        }
        assert_eq!(at("DECLARE c").rule, Some("MetaCommand"));
        assert_eq!(at("FETCH c").rule, Some("MetaCommand"));
        // A function nobody created stays as it is classified.
        assert_eq!(at("SELECT h()").class, "read");
    }

    #[test]
    fn files_checked_together_report_as_each_alone() {
        // Enough statements that the batch runs on every core, with a PREPARE, a
        // function and a cursor that belong to their own file only.
        let big: String = (0..300)
            .map(|i| format!("update t set a = {i} where id = {i};\nselect {i};\n"))
            .collect();
        let files = [
            (
                "a.sql",
                "prepare p as delete from t;\nexecute p;\n".to_string(),
            ),
            ("b.sql", big),
            (
                "c.sql",
                "execute p;\ndeclare c cursor for select 1;\nfetch c;\n".to_string(),
            ),
            ("d.sql", String::new()),
        ];
        let pairs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let together = check_files(&pairs, &policy());
        assert_eq!(together.len(), files.len());
        for ((path, text), report) in pairs.iter().zip(&together) {
            let alone = check_file(path, text, &policy());
            assert_eq!(format!("{report:?}"), format!("{alone:?}"), "{path}");
        }
    }

    #[test]
    fn environment_decides() {
        let no_write = Policy {
            env: Some("ro".into()),
            can_write: false,
            ..Policy::default()
        };
        let r = check_file("f.sql", "update t set a = 1;", &no_write);
        assert_eq!(r.statements[0].decision, "refuse");
        let no_ddl = Policy {
            no_ddl: true,
            ..policy()
        };
        let r = check_file("f.sql", "alter table t add b int;", &no_ddl);
        assert_eq!(r.statements[0].decision, "refuse");
        assert_eq!(r.statements[0].lock, Some("ACCESS EXCLUSIVE"));
        let r = check_file("f.sql", "select nextval('s');", &policy());
        let report = Report {
            version: VERSION,
            files: vec![r],
        };
        assert_eq!(report.exit_code(false), crate::ExitCode::Ok);
        assert_eq!(report.exit_code(true), crate::ExitCode::SqlError);
    }
}
