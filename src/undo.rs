//! `pgward undo LOG --record N [--env E]`: the stored undo of one committed change,
//! loaded from its verified session log, run through a guarded session in the
//! environment the change committed in, with the same preview, run-once check and
//! approval as any change.
//!
//! The origin is checked as a replay's is (chain and signatures intact, record N that
//! change's `commit_intent` or `commit`, the log saying it committed), and then its
//! undo: the record must say undo is possible, and the SQL, inline or in its gzip side
//! file next to the log, must hash to the SHA-256 the signed record holds. Before
//! anything runs, the session reads the undo's check lines: every row the change left
//! must still be as the commit left it (inserted and updated rows present with their
//! after-images, deleted rows absent), else nothing runs and the rows that changed are
//! named. Each undo statement also finds its row by its after-image, so a row changed
//! between the check and the statement is not touched; at COMMIT the session then
//! refuses, because the counts are not the mirror of the original's.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::audit::hex;
use crate::replay::{Origin, ReplayError};
use crate::session::undo_sql::CHECK;
use crate::{Error, ExitCode};

/// Why a change cannot be undone from its log.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// The log or record is not a committed change (see [`ReplayError`]).
    #[error(transparent)]
    Origin(#[from] ReplayError),
    /// The record says undo is impossible, or holds no undo.
    #[error("{path} record {record} has no undo: {why}")]
    Impossible {
        /// The log.
        path: PathBuf,
        /// The record.
        record: u64,
        /// Why, as the record says it.
        why: String,
    },
    /// The side file is missing or unreadable.
    #[error("the undo side file {} cannot be read ({source}); it is kept next to the log it belongs to", path.display())]
    SideFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The undo SQL does not hash to the SHA-256 the signed record holds.
    #[error("the undo SQL of {path} record {record} does not match the SHA-256 its record holds: it was changed, nothing is run")]
    Tampered {
        /// The log.
        path: PathBuf,
        /// The record.
        record: u64,
    },
    /// Asked to undo in another environment than the change committed in.
    #[error("the change committed in environment {origin}, not {asked}: undo runs only where the change was made")]
    OtherEnv {
        /// Where it committed.
        origin: String,
        /// Where the undo was asked for.
        asked: String,
    },
}

/// The undo of one committed change, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The change being undone.
    pub origin: Origin,
    /// One-line reads that return `(table, key, what)` for each row changed since.
    pub checks: Vec<String>,
    /// The undo statements, in order.
    pub statements: Vec<String>,
}

impl Plan {
    /// Reads the undo of the committed change at `record` of the log at `path`.
    pub fn load(path: &Path, record: u64) -> Result<Plan, UndoError> {
        let origin = crate::replay::origin(path, record)?;
        let impossible = |why: String| UndoError::Impossible {
            path: path.to_path_buf(),
            record,
            why,
        };
        let Some(undo) = &origin.undo else {
            return Err(impossible(
                "it was written before pgward stored undo".into(),
            ));
        };
        if !undo.possible {
            return Err(impossible(undo.impossible.join("; ")));
        }
        let sha256 = undo
            .sha256
            .clone()
            .ok_or_else(|| impossible("the record holds no SHA-256 of its undo".into()))?;
        let sql = match (&undo.sql, &undo.file) {
            (Some(sql), _) => sql.clone(),
            (None, Some(file)) => side_file(path, file)?,
            (None, None) => return Err(impossible("the record holds no undo SQL".into())),
        };
        if hex::encode(&Sha256::digest(sql.as_bytes())) != sha256 {
            return Err(UndoError::Tampered {
                path: path.to_path_buf(),
                record,
            });
        }
        let (checks, statements) = split(&sql);
        Ok(Plan {
            origin,
            checks,
            statements,
        })
    }

    /// Who, where and what, in one line.
    pub fn described(&self) -> String {
        self.origin.described()
    }

    /// The counts the undo must have: the original's mirrored (its inserts deleted,
    /// its deletes inserted, its updates updated back).
    pub fn expected(&self) -> Origin {
        let mut mirrored = self.origin.clone();
        for c in &mut mirrored.counts {
            std::mem::swap(&mut c.inserted, &mut c.deleted);
        }
        mirrored
    }
}

/// The side file `name`, next to the log at `log`, decompressed.
fn side_file(log: &Path, name: &str) -> Result<String, UndoError> {
    let path = log.parent().unwrap_or(Path::new(".")).join(name);
    let failed = |source| UndoError::SideFile {
        path: path.clone(),
        source,
    };
    // Only a bare file name is looked up: a record cannot point elsewhere.
    if Path::new(name).file_name().map(|n| n.to_string_lossy()) != Some(name.into()) {
        return Err(failed(std::io::Error::other("not a bare file name")));
    }
    let file = std::fs::File::open(&path).map_err(failed)?;
    let mut sql = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut sql)
        .map_err(failed)?;
    Ok(sql)
}

/// The check lines and the statements of stored undo SQL.
pub fn split(sql: &str) -> (Vec<String>, Vec<String>) {
    let mut checks = Vec::new();
    let mut statements = Vec::new();
    for line in sql.lines().filter(|l| !l.trim().is_empty()) {
        match line.strip_prefix(CHECK) {
            Some(check) => checks.push(check.to_string()),
            None => statements.push(line.to_string()),
        }
    }
    (checks, statements)
}

/// `pgward undo`: loads the undo and runs its statements, then COMMIT, in the
/// environment the change committed in, through the guarded session.
pub fn command(args: &crate::cli::UndoArgs) -> Result<ExitCode, Error> {
    let mut plan = Plan::load(&args.log, args.record)?;
    if let Some(asked) = args.env.as_ref().filter(|e| **e != plan.origin.env) {
        return Err(UndoError::OtherEnv {
            origin: plan.origin.env.clone(),
            asked: asked.clone(),
        }
        .into());
    }
    let shell = crate::cli::ShellArgs {
        env: Some(plan.origin.env.clone()),
        config: args.config.clone(),
        ticket: args.ticket.clone().or_else(|| plan.origin.ticket.clone()),
        author: args.author.clone(),
        log_dir: args.log_dir.clone(),
        ..crate::cli::ShellArgs::default()
    };
    let settings = crate::config::Settings::resolve(&shell, |k| std::env::var(k).ok())?;
    eprintln!(
        "pgward: undoing {} ({} statements, {} rows checked first)",
        plan.described(),
        plan.statements.len(),
        plan.checks.len()
    );
    // Moved, not copied: the statements are held once (the session keeps only the
    // checks and the origin of the plan).
    let mut command = std::mem::take(&mut plan.statements);
    command.push("COMMIT".into());
    let script = crate::cli::ScriptArgs {
        command,
        again: args.again.clone(),
        no_rc: true,
        undo: Some(Box::new(plan)),
        ..crate::cli::ScriptArgs::default()
    };
    crate::run::shell(settings, &script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_statements_are_told_apart() {
        let sql = "-- check: SELECT 1\nUPDATE t SET a = 1;\n\n-- check: SELECT 2\nDELETE FROM t;\n";
        let (checks, statements) = split(sql);
        assert_eq!(checks, ["SELECT 1", "SELECT 2"]);
        assert_eq!(statements, ["UPDATE t SET a = 1;", "DELETE FROM t;"]);
    }

    #[test]
    fn a_side_file_name_cannot_point_elsewhere() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("s.jsonl");
        assert!(matches!(
            side_file(&log, "../etc/passwd"),
            Err(UndoError::SideFile { .. })
        ));
    }
}
