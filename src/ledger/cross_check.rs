//! `pgward log verify --env E FILE…`: the session logs against the environment's ledger,
//! both ways.
//!
//! A COMMIT that wrote a ledger row is logged as a `ledger` record (naming the row), the
//! `commit_intent` right after it, then the outcome. So, for the logs of environment E:
//!
//! - a logged `commit` whose `ledger` record names a row the ledger lacks, or a logged
//!   `commit` without a `ledger` record made after the ledger's `init` row, is a log
//!   commit **missing from the ledger**;
//! - a row whose change digest or transaction differs from the log's is a **digest
//!   that differs**;
//! - a row for a COMMIT the log says failed, a row naming a record that is no such
//!   COMMIT, and a row of environment E in none of the given logs are **ledger rows
//!   missing from the logs** (give every log of the environment).
//!
//! [`compare`] is the pure comparison; [`against_ledger`] reads the ledger and prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audit::record::Body;
use crate::audit::Verification;

use super::{schema, Stored};

/// One disagreement between the logs and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `missing_from_ledger`, `digest_differs` or `missing_from_logs`.
    pub kind: &'static str,
    /// What, in one line.
    pub detail: String,
}

/// The comparison's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Logged COMMITs of the environment that were checked.
    pub commits: usize,
    /// Ledger rows of the environment that were checked.
    pub rows: usize,
    /// Every disagreement.
    pub findings: Vec<Finding>,
}

/// A logged COMMIT intent, with the `ledger` record right before it, if any.
struct Intent {
    seq: u64,
    ts: String,
    ledger_seq: Option<u64>,
}

/// Compares `logs` (file name, verified records) with `rows`, the ledger's rows of
/// every kind, for environment `env`. `started` is when the ledger's `init` row was
/// written, in the log's timestamp spelling.
pub fn compare(
    logs: &[(String, &Verification)],
    env: &str,
    rows: &[Stored],
    started: Option<&str>,
) -> Comparison {
    let mut out = Comparison::default();
    let commits: Vec<&Stored> = rows
        .iter()
        .filter(|r| r.kind == "commit" && r.environment == env)
        .collect();
    out.rows = commits.len();
    let mut matched = vec![false; commits.len()];
    let by_place: HashMap<(&str, i64), usize> = commits
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some(((r.log_file.as_deref()?, r.log_seq?), i)))
        .collect();
    let given: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
    for (name, v) in logs {
        let of_env = v
            .records
            .first()
            .is_some_and(|r| matches!(&r.body, Body::SessionStart { env: e, .. } if e == env));
        if !of_env {
            continue;
        }
        let mut last_ledger: Option<u64> = None;
        let mut intents: HashMap<String, Intent> = HashMap::new();
        for r in &v.records {
            match &r.body {
                Body::Ledger { .. } => last_ledger = Some(r.seq),
                Body::CommitIntent { txid, .. } => {
                    let ledger_seq = last_ledger.filter(|l| l + 1 == r.seq);
                    intents.insert(
                        txid.clone(),
                        Intent {
                            seq: r.seq,
                            ts: r.ts.clone(),
                            ledger_seq,
                        },
                    );
                }
                Body::Commit {
                    txid,
                    change_digest,
                } => {
                    out.commits += 1;
                    let Some(intent) = intents.get(txid) else {
                        continue;
                    };
                    let found = intent
                        .ledger_seq
                        .and_then(|l| by_place.get(&(name.as_str(), i64::try_from(l).ok()?)));
                    match (intent.ledger_seq, found) {
                        (Some(_), Some(&i)) => {
                            matched[i] = true;
                            let row = commits[i];
                            if row.change_digest != *change_digest || row.txid != *txid {
                                out.findings.push(Finding {
                                    kind: "digest_differs",
                                    detail: format!(
                                        "ledger row {} has digest {} for transaction {}; {name} record {} has digest {change_digest} for transaction {txid}",
                                        row.id, row.change_digest, row.txid, intent.seq
                                    ),
                                });
                            }
                        }
                        (Some(l), None) => out.findings.push(Finding {
                            kind: "missing_from_ledger",
                            detail: format!(
                                "{name} record {l}: transaction {txid} committed with a ledger row, and the ledger has no row for it"
                            ),
                        }),
                        (None, _) if started.is_some_and(|s| intent.ts.as_str() >= s) => {
                            out.findings.push(Finding {
                                kind: "missing_from_ledger",
                                detail: format!(
                                    "{name} record {}: transaction {txid} committed after the ledger was created, without a ledger row",
                                    intent.seq
                                ),
                            })
                        }
                        (None, _) => {}
                    }
                }
                Body::CommitFailed { txid, .. } => {
                    let place = intents
                        .get(txid)
                        .and_then(|i| i.ledger_seq)
                        .and_then(|l| by_place.get(&(name.as_str(), i64::try_from(l).ok()?)));
                    if let Some(&i) = place {
                        matched[i] = true;
                        out.findings.push(Finding {
                            kind: "missing_from_logs",
                            detail: format!(
                                "ledger row {} records transaction {txid}, whose COMMIT {name} says failed",
                                commits[i].id
                            ),
                        });
                    }
                }
                _ => {}
            }
        }
        // A COMMIT whose outcome the log lacks: its row, if any, says it committed.
        for intent in intents.values() {
            if let Some(&i) = intent
                .ledger_seq
                .and_then(|l| by_place.get(&(name.as_str(), i64::try_from(l).ok()?)))
            {
                matched[i] = true;
            }
        }
    }
    for (i, row) in commits.iter().enumerate() {
        if matched[i] {
            continue;
        }
        let place = match (&row.log_file, row.log_seq) {
            (Some(f), Some(s)) => format!("{f} record {s}"),
            _ => "no log record".to_string(),
        };
        let detail = if row.log_file.as_deref().is_some_and(|f| given.contains(&f)) {
            format!(
                "ledger row {} (transaction {}, ticket {}) names {place}, which is no COMMIT with a ledger record",
                row.id,
                row.txid,
                row.ticket.as_deref().unwrap_or("none")
            )
        } else {
            format!(
                "ledger row {} (transaction {}, ticket {}, by {} {}) is in none of the given logs ({place})",
                row.id,
                row.txid,
                row.ticket.as_deref().unwrap_or("none"),
                row.author,
                row.committed_at
            )
        };
        out.findings.push(Finding {
            kind: "missing_from_logs",
            detail,
        });
    }
    out
}

/// Reads environment `env`'s ledger and compares it with `files` (each verified again
/// here; a broken log compares its intact part). Prints the result (as text unless
/// `json`, whose value is returned); `true` when the logs and the ledger agree, or
/// when the database has no ledger.
pub fn against_ledger(
    files: &[PathBuf],
    env: &str,
    config: Option<&Path>,
    json: bool,
) -> (bool, Option<serde_json::Value>) {
    let read = read_ledger(env, config);
    let (rows, started, database) = match read {
        Ok(Some(found)) => found,
        Ok(None) => {
            let line = format!(
                "ledger: environment {env} has no {}: not cross-checked",
                schema::TABLE
            );
            if json {
                return (
                    true,
                    Some(serde_json::json!({"ledger": {"present": false}})),
                );
            }
            println!("{line}");
            return (true, None);
        }
        Err(e) => {
            if json {
                return (false, Some(serde_json::json!({"ledger": {"error": e}})));
            }
            println!("ledger: cannot cross-check with environment {env}: {e}");
            return (false, None);
        }
    };
    let mut verified = Vec::new();
    for path in files {
        let Ok(bytes) = crate::audit::read(path) else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        verified.push((name, crate::audit::verify(&bytes, None)));
    }
    let logs: Vec<(String, &Verification)> = verified.iter().map(|(n, v)| (n.clone(), v)).collect();
    let c = compare(&logs, env, &rows, started.as_deref());
    let ok = c.findings.is_empty();
    if json {
        let findings: Vec<serde_json::Value> = c
            .findings
            .iter()
            .map(|f| serde_json::json!({"kind": f.kind, "detail": f.detail}))
            .collect();
        return (
            ok,
            Some(serde_json::json!({"ledger": {
                "present": true,
                "environment": env,
                "database": database,
                "commits": c.commits,
                "rows": c.rows,
                "findings": findings,
            }})),
        );
    }
    println!(
        "ledger of environment {env} (database {}): {} logged COMMITs, {} ledger rows: {}",
        crate::render::escape::one_line(&database),
        c.commits,
        c.rows,
        if ok { "they agree" } else { "they DISAGREE" }
    );
    for f in &c.findings {
        let label = match f.kind {
            "missing_from_ledger" => "MISSING FROM THE LEDGER",
            "digest_differs" => "DIGEST DIFFERS",
            _ => "MISSING FROM THE LOGS",
        };
        println!("  {label}: {}", crate::render::escape::one_line(&f.detail));
    }
    (ok, None)
}

/// The ledger's rows, the `init` row's time in the log's spelling, and the database.
type Read = (Vec<Stored>, Option<String>, String);

fn read_ledger(env: &str, config: Option<&Path>) -> Result<Option<Read>, String> {
    let settings = super::command::env_settings(env, config).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let conn = crate::conn::connect(&settings.conn, "pgward log verify")
            .await
            .map_err(|e| e.to_string())?;
        let rows = super::command::read_rows(&conn.client, &settings, None, true)
            .await
            .map_err(|e| e.to_string())?;
        let Some(rows) = rows else {
            return Ok(None);
        };
        let started = rows
            .iter()
            .find(|r| r.kind == "init")
            .map(|r| log_time(&r.committed_at));
        Ok(Some((rows, started, settings.conn.dbname.clone())))
    })
}

/// The server's `timestamptz` text (`2026-11-26 00:29:46.123456+00`, the session in
/// UTC) in the log's spelling (`2026-11-26T00:29:46.123Z`), so the two compare as text.
fn log_time(server: &str) -> String {
    let (date, rest) = server.split_once(' ').unwrap_or((server, ""));
    let time: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':' || *c == '.')
        .collect();
    let (hms, frac) = time.split_once('.').unwrap_or((&time, ""));
    let millis: String = frac.chars().chain("000".chars()).take(3).collect();
    format!("{date}T{hms}.{millis}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_times_read_as_log_times() {
        assert_eq!(
            log_time("2026-11-26 00:29:46.123456+00"),
            "2026-11-26T00:29:46.123Z"
        );
        assert_eq!(
            log_time("2026-11-26 00:29:46+00"),
            "2026-11-26T00:29:46.000Z"
        );
    }
}
