//! The ticket attachment: markdown and JSON renderings of a verified log, and the
//! readable summary of `pgward log show`.
//!
//! Everything rendered comes from the records that verified; a broken log is rendered up
//! to its first broken record and says so at the top. Statement texts and previews are
//! user data: in markdown they sit in fenced blocks whose fence is longer than any run of
//! backticks inside, so no statement can close its block and inject markup; table cells
//! get their pipes escaped and their line breaks folded.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::record::{Body, Counts, Record};
use super::verify::{Ending, Verification};

/// At most this many statements are rendered in markdown; the log holds them all.
const MAX_STATEMENTS: usize = 200;
/// At most this many characters of one statement are rendered in markdown.
const MAX_STATEMENT_CHARS: usize = 2000;

/// One line saying whether the log verified.
pub fn status_line(v: &Verification) -> String {
    if let Some(b) = &v.broken {
        return format!("BROKEN at record {}: {}", b.line, b.reason);
    }
    let n = v.records.len();
    let unchecked = &v.unchecked_approvals;
    let mut s = match &v.ending {
        Ending::Ended if unchecked.is_empty() => {
            format!("intact: {n} records, chain and signatures verified")
        }
        Ending::Ended => format!("unchecked: {n} records, chain and signatures verified"),
        Ending::PartialLine { line } => format!(
            "incomplete: {n} records intact, then a truncated tail (line {line} was cut off mid-record: the writer crashed, or the file was cut)"
        ),
        Ending::NoSessionEnd { last } => format!(
            "incomplete: {n} records intact, but the log ends after record {last} without session_end (the session was killed, or records were cut off)"
        ),
    };
    if v.approvals > 0 {
        let _ = write!(
            s,
            "; {} approval token{} verified",
            v.approvals,
            if v.approvals == 1 { "" } else { "s" }
        );
    }
    if !unchecked.is_empty() {
        let lines: Vec<String> = unchecked.iter().map(usize::to_string).collect();
        let _ = write!(
            s,
            "; the approval token{} of record{} {} NOT checked: no approver key (pass --approver-key HEX, or --env NAME whose [approval] has public_key)",
            if unchecked.len() == 1 { "" } else { "s" },
            if unchecked.len() == 1 { "" } else { "s" },
            lines.join(", ")
        );
    }
    for i in &v.open_intents {
        let _ = write!(
            s,
            "; COMMIT of transaction {} (record {}) has {}",
            i.txid,
            i.line,
            if i.unknown {
                "an unknown outcome (connection lost after COMMIT was sent)"
            } else {
                "no outcome in the log"
            }
        );
    }
    s
}

/// The verification result as JSON.
pub fn verification_json(v: &Verification) -> serde_json::Value {
    let (ending, ending_line) = match &v.ending {
        Ending::Ended => ("ended", None),
        Ending::PartialLine { line } => ("partial_line", Some(*line)),
        Ending::NoSessionEnd { last } => ("no_session_end", Some(*last)),
    };
    json!({
        "intact": v.intact(),
        "records": v.records.len(),
        "operator_key": v.operator_key,
        "head": v.head.hex(),
        "broken": v.broken.as_ref().map(|b| json!({"line": b.line, "reason": b.reason})),
        "ending": if v.broken.is_some() { None } else { Some(ending) },
        "ending_line": ending_line,
        "open_intents": v.open_intents.iter().map(|i| json!({
            "line": i.line, "txid": i.txid, "unknown": i.unknown,
        })).collect::<Vec<_>>(),
        "approvals": v.approvals,
        "unchecked_approvals": v.unchecked_approvals,
        "status": status_line(v),
    })
}

/// The JSON export: verification, and every verified record.
pub fn json(path: &Path, v: &Verification) -> String {
    let value = json!({
        "file": path.display().to_string(),
        "verification": verification_json(v),
        "verify_command": verify_command(path),
        "records": v.records,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

fn verify_command(path: &Path) -> String {
    format!(
        "pgward log verify {}",
        shell_quote(&path.display().to_string())
    )
}

/// `s` as one word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A markdown table cell.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
}

/// A fenced block around `text`, fenced with more backticks than any run inside.
fn fenced(text: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

fn counts_table(counts: &[Counts]) -> String {
    let mut s = String::from("| table | inserted | updated | deleted |\n|---|---:|---:|---:|\n");
    for c in counts {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            cell(&c.table),
            c.inserted,
            c.updated,
            c.deleted
        );
    }
    s
}

fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max).collect();
    s.push_str("\n… (cut; the full text is in the log)");
    s
}

/// The markdown ticket attachment.
pub fn markdown(path: &Path, v: &Verification) -> String {
    let mut md = String::new();
    let start = v.records.first();
    let (ticket, env) = match start.map(|r| &r.body) {
        Some(Body::SessionStart { ticket, env, .. }) => (
            ticket.clone().unwrap_or_else(|| "no ticket".into()),
            env.clone(),
        ),
        _ => ("unknown ticket".into(), "unknown environment".into()),
    };
    let _ = writeln!(
        md,
        "# pgward session: {} on {}\n",
        cell(&ticket),
        cell(&env)
    );
    let _ = writeln!(md, "**Log:** {}\n", cell(&status_line(v)));
    md.push_str("| | |\n|---|---|\n");
    let mut row = |k: &str, val: &str| {
        let _ = writeln!(md, "| {k} | {} |", cell(val));
    };
    if let Some(Record {
        ts,
        body:
            Body::SessionStart {
                session_id,
                author,
                server,
                database,
                login,
                roles,
                version,
                host,
                operator_key,
                accepted_risks,
                ..
            },
        ..
    }) = start
    {
        row("Author", author);
        row("Ticket", &ticket);
        row("Environment", &env);
        row("Server", server);
        row("Database", database);
        row("Login", login);
        row("Write role", roles.write.as_deref().unwrap_or("none"));
        row(
            "Read role",
            roles.read.as_deref().unwrap_or("the login role"),
        );
        row("Client host", host);
        row("pgward", version);
        row("Session", session_id);
        row("Started", ts);
        row("Operator key", operator_key);
        row(
            "Accepted risks",
            &if accepted_risks.is_empty() {
                "none".to_string()
            } else {
                accepted_risks.join(", ")
            },
        );
    }
    if let Some(Record {
        ts,
        body: Body::SessionEnd { reason },
        ..
    }) = v.records.last()
    {
        row("Ended", &format!("{ts} ({reason})"));
    }
    row("Log head", &v.head.hex());
    md.push('\n');

    md.push_str("## Statements\n\n");
    let mut shown = 0;
    let mut hidden = 0;
    for r in &v.records {
        match &r.body {
            Body::Statement {
                text,
                class,
                outcome,
                duration_ms,
                rows,
                sqlstate,
                error,
                rule,
            } => {
                if shown == MAX_STATEMENTS {
                    hidden += 1;
                    continue;
                }
                shown += 1;
                let mut facts = if class == outcome {
                    class.clone()
                } else {
                    format!("{class}, {outcome}")
                };
                if let Some(n) = rows {
                    let _ = write!(facts, ", {n} row{}", if *n == 1 { "" } else { "s" });
                }
                let _ = write!(facts, ", {duration_ms} ms");
                if let Some(s) = sqlstate {
                    let _ = write!(facts, ", SQLSTATE {s}");
                }
                if let Some(rule) = rule {
                    let _ = write!(facts, ", rule {rule}");
                }
                let _ = writeln!(
                    md,
                    "**{}.** {} — record {}, {}\n",
                    shown,
                    cell(&facts),
                    r.seq,
                    r.ts
                );
                md.push_str(&fenced(&bounded(text, MAX_STATEMENT_CHARS), "sql"));
                if let Some(e) = error {
                    let _ = writeln!(md, "\n> {}", cell(e));
                }
                md.push('\n');
            }
            Body::Preview {
                counts,
                image_digest,
                excerpt,
                excerpt_truncated,
            } if shown <= MAX_STATEMENTS && hidden == 0 => {
                md.push_str("What it did:\n\n");
                if !counts.is_empty() {
                    md.push_str(&counts_table(counts));
                    md.push('\n');
                }
                if let Some(d) = image_digest {
                    let _ = writeln!(md, "Row-image digest: `{d}`\n");
                }
                if !excerpt.is_empty() {
                    let mut text = excerpt.clone();
                    if *excerpt_truncated {
                        text.push_str("… (preview cut)\n");
                    }
                    md.push_str(&fenced(&text, "text"));
                    md.push('\n');
                }
            }
            _ => {}
        }
    }
    if shown == 0 {
        md.push_str("No statements.\n\n");
    }
    if hidden > 0 {
        let _ = writeln!(md, "… and {hidden} more statements, in the log itself.\n");
    }

    md.push_str("## Transactions\n\n");
    let mut any = false;
    for r in &v.records {
        match &r.body {
            Body::CommitIntent {
                txid,
                change_digest,
                statements,
                counts,
                undo,
            } => {
                any = true;
                let outcome = outcome_of(v, txid);
                let _ = writeln!(md, "### Transaction {}: {}\n", cell(txid), cell(&outcome));
                let _ = writeln!(md, "Change digest: `{change_digest}`\n");
                let _ = writeln!(md, "COMMIT intent: record {}, {}\n", r.seq, r.ts);
                md.push_str("Statements:\n\n");
                let all = statements
                    .iter()
                    .map(|s| bounded(s, MAX_STATEMENT_CHARS))
                    .collect::<Vec<_>>()
                    .join(";\n");
                md.push_str(&fenced(&format!("{all};"), "sql"));
                md.push('\n');
                if !counts.is_empty() {
                    md.push_str(&counts_table(counts));
                    md.push('\n');
                }
                match undo {
                    Some(u) if u.possible => md.push_str("Undo: possible.\n\n"),
                    Some(u) => {
                        md.push_str("Undo: impossible:\n\n");
                        for why in &u.impossible {
                            let _ = writeln!(md, "- {}", cell(why));
                        }
                        md.push('\n');
                    }
                    None => {}
                }
            }
            Body::Approval {
                reviewer,
                approved_at,
                request_id,
                code_typed,
                ..
            } => {
                let _ = writeln!(
                    md,
                    "Approved by {} at {} (request {}){}.\n",
                    cell(reviewer),
                    cell(approved_at),
                    cell(request_id),
                    match code_typed {
                        Some(false) => "; no approval code was typed (require_code = false)",
                        _ => "",
                    }
                );
            }
            Body::Rollback { reason } => {
                any = true;
                let _ = writeln!(md, "- Rolled back at {} ({})\n", r.ts, cell(reason));
            }
            _ => {}
        }
    }
    if !any {
        md.push_str("No write transaction.\n\n");
    }
    if !v
        .records
        .iter()
        .any(|r| matches!(r.body, Body::Approval { .. }))
    {
        md.push_str("No second reviewer approved anything in this session.\n\n");
    }
    md.push_str("## Verify\n\n");
    md.push_str("Anyone with the log file can check it:\n\n");
    md.push_str(&fenced(&verify_command(path), "sh"));
    md
}

/// What became of the COMMIT of `txid`, as the log says.
fn outcome_of(v: &Verification, txid: &str) -> String {
    for r in &v.records {
        match &r.body {
            Body::Commit { txid: t, .. } if t == txid => return format!("committed at {}", r.ts),
            Body::CommitFailed {
                txid: t,
                sqlstate,
                error,
            } if t == txid => {
                return format!(
                    "COMMIT failed ({}{error}), rolled back",
                    sqlstate
                        .as_deref()
                        .map(|s| format!("SQLSTATE {s}: "))
                        .unwrap_or_default()
                )
            }
            Body::CommitUnknown { txid: t, .. } if t == txid => {
                return "COMMIT sent, outcome unknown (connection lost); resolve with `pgward log verify --env`".into()
            }
            _ => {}
        }
    }
    "no outcome in the log; resolve with `pgward log verify --env`".into()
}

/// The readable summary of `pgward log show`: a header, then one line per record.
pub fn show(path: &Path, v: &Verification) -> String {
    let mut s = format!("{}: {}\n", path.display(), status_line(v));
    for r in &v.records {
        let what = match &r.body {
            Body::SessionStart {
                author,
                ticket,
                env,
                database,
                login,
                operator_key,
                ..
            } => format!(
                "{author} on {env} (database {database}, login {login}), ticket {}, operator key {operator_key}",
                ticket.as_deref().unwrap_or("none")
            ),
            Body::Statement {
                text,
                class,
                outcome,
                rows,
                sqlstate,
                ..
            } => format!(
                "{class} {outcome}{}{}: {}",
                rows.map(|n| format!(" ({n} rows)")).unwrap_or_default(),
                sqlstate
                    .as_deref()
                    .map(|s| format!(" SQLSTATE {s}"))
                    .unwrap_or_default(),
                one_line(text, 100)
            ),
            Body::Preview { counts, .. } => counts
                .iter()
                .map(|c| {
                    format!(
                        "{} +{} ~{} -{}",
                        c.table, c.inserted, c.updated, c.deleted
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Body::ApprovalRequest { request_id, .. } => format!("request {request_id}"),
            Body::Approval {
                reviewer,
                code_typed: Some(false),
                ..
            } => format!("approved by {reviewer}, no code typed"),
            Body::Approval { reviewer, .. } => format!("approved by {reviewer}"),
            Body::CommitIntent {
                txid,
                change_digest,
                ..
            } => format!("transaction {txid}, digest {change_digest}"),
            Body::Commit { txid, .. } => format!("transaction {txid} committed"),
            Body::CommitFailed { txid, error, .. } => format!("transaction {txid}: {error}"),
            Body::CommitUnknown { txid, error } => {
                format!("transaction {txid}: outcome unknown ({error})")
            }
            Body::Rollback { reason } | Body::SessionEnd { reason } => reason.clone(),
            Body::Ledger {
                ledger_id,
                repeats,
                again,
                ..
            } => match (repeats, again) {
                (Some(earlier), Some(why)) => {
                    format!("ledger row {ledger_id}, again after row {earlier}: {why}")
                }
                _ => format!("ledger row {ledger_id}"),
            },
        };
        let _ = writeln!(
            s,
            "{:>4}  {}  {:<14}  {}",
            r.seq,
            r.ts,
            r.body.kind(),
            crate::render::escape::one_line(&what)
        );
    }
    s
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_inside() {
        let f = fenced("select '```'", "sql");
        assert!(f.starts_with("````sql\n"), "{f}");
        assert!(f.ends_with("\n````\n"), "{f}");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc <x>"), "a\\|b c &lt;x>");
    }
}
