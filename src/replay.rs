//! `pgward replay LOG --record N --env NEXT`: the statements of one committed change,
//! read from its verified session log (never retyped), run in another environment
//! through the whole pipeline: guard, preview, run once, approval, ledger, log.
//!
//! The origin is checked first: the log's chain and signatures must be intact, record
//! N must be that change's `commit_intent` or `commit`, and the log must say it
//! committed. At COMMIT the session shows the origin's counts beside the new ones and
//! flags every difference, and what the reviewer is shown starts with "REPLAY of ticket
//! T, record N, from environment E".

use std::path::{Path, PathBuf};

use crate::audit::record::{Body, Counts, Undo};
use crate::preview::digest::TableTotals;
use crate::{Error, ExitCode};

/// Why a change cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The log does not verify.
    #[error("{path} does not verify ({reason}): nothing is replayed from a log that may have been changed")]
    Broken {
        /// The log.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Record N is no COMMIT.
    #[error("{path} record {record} is not a commit_intent or commit record (pgward log show lists the records)")]
    NotACommit {
        /// The log.
        path: PathBuf,
        /// The record asked for.
        record: u64,
    },
    /// The change did not commit.
    #[error("transaction {txid} of {path} did not commit (its outcome: {outcome}); only committed changes are replayed")]
    NotCommitted {
        /// The log.
        path: PathBuf,
        /// Its transaction.
        txid: String,
        /// What the log says.
        outcome: String,
    },
    /// The log cannot be read.
    #[error(transparent)]
    Read(#[from] crate::audit::AuditError),
}

/// The committed change a replay runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The environment it committed in.
    pub env: String,
    /// Its ticket.
    pub ticket: Option<String>,
    /// The log's file name.
    pub log_file: String,
    /// The record asked for.
    pub record: u64,
    /// Its transaction id there.
    pub txid: String,
    /// Its statements, as typed and committed.
    pub statements: Vec<String>,
    /// Its counts there.
    pub counts: Vec<Counts>,
    /// Whether it can be undone, and its undo SQL (inline, or its side file's name).
    pub undo: Option<Undo>,
}

/// Reads the committed change at `record` of the log at `path`.
pub fn origin(path: &Path, record: u64) -> Result<Origin, ReplayError> {
    let v = crate::audit::verify(&crate::audit::read(path)?, None);
    if let Some(b) = &v.broken {
        return Err(ReplayError::Broken {
            path: path.to_path_buf(),
            reason: format!("record {}: {}", b.line, b.reason),
        });
    }
    let (env, ticket) = match v.records.first().map(|r| &r.body) {
        Some(Body::SessionStart { env, ticket, .. }) => (env.clone(), ticket.clone()),
        _ => {
            return Err(ReplayError::Broken {
                path: path.to_path_buf(),
                reason: "no session_start".into(),
            })
        }
    };
    let not_a_commit = || ReplayError::NotACommit {
        path: path.to_path_buf(),
        record,
    };
    let txid = match v.records.iter().find(|r| r.seq == record).map(|r| &r.body) {
        Some(Body::CommitIntent { txid, .. } | Body::Commit { txid, .. }) => txid.clone(),
        _ => return Err(not_a_commit()),
    };
    let intent = v.records.iter().find_map(|r| match &r.body {
        Body::CommitIntent {
            txid: t,
            statements,
            counts,
            undo,
            ..
        } if *t == txid && r.seq <= record => {
            Some((statements.clone(), counts.clone(), undo.clone()))
        }
        _ => None,
    });
    let Some((statements, counts, undo)) = intent else {
        return Err(not_a_commit());
    };
    let outcome = v
        .records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Commit { txid: t, .. } if *t == txid => Some("commit"),
            Body::CommitFailed { txid: t, .. } if *t == txid => Some("commit_failed"),
            Body::CommitUnknown { txid: t, .. } if *t == txid => Some("commit_unknown"),
            _ => None,
        })
        .next_back()
        .unwrap_or("none");
    if outcome != "commit" {
        return Err(ReplayError::NotCommitted {
            path: path.to_path_buf(),
            txid,
            outcome: outcome.into(),
        });
    }
    Ok(Origin {
        env,
        ticket,
        log_file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        record,
        txid,
        statements,
        counts,
        undo,
    })
}

impl Origin {
    /// The origin's counts beside `now`, one line per table, and whether any differs.
    pub fn compare(&self, now: &[TableTotals]) -> (String, bool) {
        self.compare_as(now, "there", "here")
    }

    /// As [`Origin::compare`], the two sides labelled `there_label` and `here_label`.
    pub fn compare_as(
        &self,
        now: &[TableTotals],
        there_label: &str,
        here_label: &str,
    ) -> (String, bool) {
        let mut tables: Vec<&str> = self
            .counts
            .iter()
            .map(|c| c.table.as_str())
            .chain(now.iter().map(|t| t.table.as_str()))
            .collect();
        tables.sort_unstable();
        tables.dedup();
        let mut differs = false;
        let mut out = String::new();
        for table in tables {
            let then = self
                .counts
                .iter()
                .find(|c| c.table == table)
                .map_or((0, 0, 0), |c| (c.inserted, c.updated, c.deleted));
            let here = now
                .iter()
                .find(|t| t.table == table)
                .map_or((0, 0, 0), |t| (t.inserted, t.updated, t.deleted));
            let same = then == here;
            differs |= !same;
            out.push_str(&format!(
                "  {}: {there_label} +{} ~{} -{}, {here_label} +{} ~{} -{}{}\n",
                crate::render::escape::one_line(table),
                then.0,
                then.1,
                then.2,
                here.0,
                here.1,
                here.2,
                if same { "" } else { "  DIFFERS" }
            ));
        }
        (out, differs)
    }

    /// Who, where and what, in one line.
    pub fn described(&self) -> String {
        format!(
            "ticket {}, record {} of {} (transaction {}), from environment {}",
            self.ticket.as_deref().unwrap_or("none"),
            self.record,
            self.log_file,
            self.txid,
            self.env
        )
    }
}

/// `pgward replay`: reads the origin and runs its statements, then COMMIT, in
/// environment `args.env` through the guarded session.
pub fn command(args: &crate::cli::ReplayArgs) -> Result<ExitCode, Error> {
    let origin = origin(&args.log, args.record)?;
    let shell = crate::cli::ShellArgs {
        env: Some(args.env.clone()),
        config: args.config.clone(),
        ticket: args.ticket.clone().or_else(|| origin.ticket.clone()),
        author: args.author.clone(),
        log_dir: args.log_dir.clone(),
        ..crate::cli::ShellArgs::default()
    };
    let settings = crate::config::Settings::resolve(&shell, |k| std::env::var(k).ok())?;
    if settings.env.name == origin.env {
        eprintln!(
            "pgward: note: replaying into {}, the environment the change came from",
            origin.env
        );
    }
    eprintln!("pgward: replaying {}", origin.described());
    let mut command = origin.statements.clone();
    command.push("COMMIT".into());
    let script = crate::cli::ScriptArgs {
        command,
        again: args.again.clone(),
        no_rc: true,
        replay: Some(Box::new(origin)),
        ..crate::cli::ScriptArgs::default()
    };
    crate::run::shell(settings, &script)
}
