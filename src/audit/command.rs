//! The subcommands on logs: `pgward keygen` and `pgward log verify|show|export|list`.
//! They print to standard output and return the exit code; `verify` exits 0 only when
//! every log is intact and complete.

use std::path::{Path, PathBuf};

use crate::cli::{ExportFormat, ShellArgs};
use crate::config::{locate, settings, ConfigFile, Settings};
use crate::{Error, ExitCode};

use super::key::{public_from_hex, OperatorKey};
use super::record::Body;
use super::resolve::{txid_status, TxStatus};
use super::verify::Verification;
use super::{export, list, read, AuditError};

fn config_file(explicit: Option<&Path>) -> Result<ConfigFile, Error> {
    let path = locate::find(
        explicit,
        std::env::var_os("PGWARD_CONFIG").map(PathBuf::from),
    );
    Ok(match &path {
        Some(p) => locate::load(p)?,
        None => ConfigFile::default(),
    })
}

/// `pgward keygen`: writes a new key (never over one) and prints its public key.
pub fn keygen(out: Option<&Path>, config: Option<&Path>) -> Result<ExitCode, Error> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => settings::log_target(&config_file(config)?, None).key,
    };
    let key = OperatorKey::generate().map_err(AuditError::from)?;
    key.save(&path).map_err(AuditError::from)?;
    eprintln!(
        "pgward: operator key written to {} (mode 0600); its public key:",
        path.display()
    );
    println!("{}", key.public_hex());
    Ok(ExitCode::Ok)
}

/// The approval service's key that the approval tokens in the log `bytes` must verify
/// under: `explicit` (`--approver-key`), else the `[approval] public_key` of environment
/// `env` (`--env`), else of the environment the log's `session_start` names, in the config.
pub fn approver_key(
    bytes: &[u8],
    explicit: Option<&str>,
    env: Option<&str>,
    config: Option<&Path>,
) -> Result<Option<ed25519_dalek::VerifyingKey>, Error> {
    if let Some(hex) = explicit {
        return Ok(Some(
            crate::approval::key::parse_public(hex)
                .ok_or_else(|| AuditError::BadPublicKey(hex.into()))?,
        ));
    }
    let named = || {
        let first = bytes.split(|b| *b == b'\n').next()?;
        let (unsigned, _) = super::record::split_line(first).ok()?;
        match serde_json::from_slice::<super::Record>(&unsigned)
            .ok()?
            .body
        {
            Body::SessionStart { env, .. } => Some(env),
            _ => None,
        }
    };
    let Some(name) = env.map(str::to_string).or_else(named) else {
        return Ok(None);
    };
    let file = config_file(config)?;
    Ok(file
        .environments
        .get(&name)
        .and_then(|e| e.approval.as_ref())
        .and_then(|a| crate::approval::key::parse_public(&a.public_key)))
}

/// `pgward log verify`.
pub fn verify_files(
    files: &[PathBuf],
    env: Option<&str>,
    pinned: Option<&str>,
    approver: Option<&str>,
    json: bool,
    config: Option<&Path>,
) -> Result<ExitCode, Error> {
    let pinned = match pinned {
        Some(hex) => {
            Some(public_from_hex(hex.trim()).ok_or_else(|| AuditError::BadPublicKey(hex.into()))?)
        }
        None => None,
    };
    let mut all_intact = true;
    let mut reports = Vec::new();
    for path in files {
        let bytes = read(path)?;
        let approver = approver_key(&bytes, approver, env, config)?;
        let v = super::verify::verify_with(&bytes, pinned.as_ref(), approver.as_ref());
        all_intact &= v.intact();
        let resolved = match env {
            Some(env) if v.broken.is_none() && !v.open_intents.is_empty() => {
                Some(resolve(&v, env, config))
            }
            _ => None,
        };
        if json {
            let mut value = export::verification_json(&v);
            value["file"] = path.display().to_string().into();
            if let Some(r) = &resolved {
                value["resolved"] = match r {
                    Ok(list) => list
                        .iter()
                        .map(|(txid, s)| serde_json::json!({"txid": txid, "status": s.as_str()}))
                        .collect(),
                    Err(e) => serde_json::json!({"error": e}),
                };
            }
            reports.push(value);
        } else {
            println!("{}: {}", path.display(), export::status_line(&v));
            if let Some(key) = &v.operator_key {
                println!("  signed by operator key {key}");
            }
            match &resolved {
                Some(Ok(list)) => {
                    for (txid, status) in list {
                        println!(
                            "  transaction {txid}, by txid_status on {}: {}",
                            env.unwrap_or_default(),
                            status.as_str()
                        );
                    }
                }
                Some(Err(e)) => println!("  cannot ask the database: {e}"),
                None if !v.open_intents.is_empty() && v.broken.is_none() => {
                    println!(
                        "  pass --env NAME to ask the database what became of it (txid_status)"
                    );
                }
                None => {}
            }
        }
    }
    if let Some(env) = env {
        let (agree, report) = crate::ledger::cross_check::against_ledger(files, env, config, json);
        all_intact &= agree;
        reports.extend(report);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        );
    }
    Ok(if all_intact {
        ExitCode::Ok
    } else {
        ExitCode::SqlError
    })
}

/// Asks environment `env` what became of each open intent.
fn resolve(
    v: &Verification,
    env: &str,
    config: Option<&Path>,
) -> Result<Vec<(String, TxStatus)>, String> {
    let ticket = v.records.first().and_then(|r| match &r.body {
        Body::SessionStart { ticket, .. } => ticket.clone(),
        _ => None,
    });
    let args = ShellArgs {
        env: Some(env.to_string()),
        config: config.map(Path::to_path_buf),
        // An environment that requires a ticket gets the session's own.
        ticket: Some(ticket.unwrap_or_else(|| "log-verify".into())),
        ..ShellArgs::default()
    };
    let settings =
        Settings::resolve(&args, |k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let conn = crate::conn::connect(&settings.conn, "pgward log verify")
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for intent in &v.open_intents {
            let status = txid_status(&conn.client, &intent.txid)
                .await
                .map_err(|e| crate::render::error::one_line(&e))?;
            out.push((intent.txid.clone(), status));
        }
        Ok(out)
    })
}

/// Verification for `show` and `export`: approval tokens are checked when the default
/// config names the approver's key (an unreadable config only leaves them unchecked,
/// which the status says).
fn verify_for_reading(bytes: &[u8]) -> Verification {
    let approver = approver_key(bytes, None, None, None).ok().flatten();
    super::verify::verify_with(bytes, None, approver.as_ref())
}

/// `pgward log show`.
pub fn show(file: &Path) -> Result<ExitCode, Error> {
    let v = verify_for_reading(&read(file)?);
    print!("{}", export::show(file, &v));
    Ok(ExitCode::Ok)
}

/// `pgward log export`.
pub fn export_file(file: &Path, format: ExportFormat) -> Result<ExitCode, Error> {
    let v = verify_for_reading(&read(file)?);
    match format {
        ExportFormat::Markdown => print!("{}", export::markdown(file, &v)),
        ExportFormat::Json => print!("{}", export::json(file, &v)),
    }
    Ok(ExitCode::Ok)
}

/// `pgward log attach`: exit 0 when the log reached its ticket, 1 when it did not (the
/// failure is kept for the next session's banner, with this command to retry).
pub fn attach_file(
    file: &Path,
    ticket: Option<&str>,
    config: Option<&Path>,
) -> Result<ExitCode, Error> {
    let path = locate::find(config, std::env::var_os("PGWARD_CONFIG").map(PathBuf::from));
    let file_config = match &path {
        Some(p) => locate::load(p)?,
        None => ConfigFile::default(),
    };
    let Some(tickets) = settings::tickets(&file_config)? else {
        return Err(AuditError::NoTickets {
            config: path
                .or_else(locate::default_path)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the config file".into()),
        }
        .into());
    };
    let named = path.filter(|p| Some(p) != locate::default_path().as_ref());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let approver = approver_key(&read(file)?, None, None, config)
        .ok()
        .flatten();
    let outcome = rt.block_on(super::attach::attach_recorded(
        &tickets,
        file,
        ticket,
        approver.as_ref(),
        named.as_deref(),
        |k| std::env::var(k).ok(),
    ));
    Ok(match outcome {
        Ok(done) => {
            eprintln!("pgward: session log attached: {}", done.what);
            ExitCode::Ok
        }
        Err(failed) => {
            report_failed(&failed);
            ExitCode::SqlError
        }
    })
}

/// The lines that say an attachment failed, and how to retry.
pub fn report_failed(failed: &super::attach::Failed) {
    eprintln!(
        "pgward: the session log was NOT attached: {}",
        crate::render::escape::one_line(&failed.error.to_string())
    );
    eprintln!(
        "pgward: the log is kept as it was; retry with: {}",
        failed.retry
    );
    if let Some(e) = &failed.unrecorded {
        eprintln!("pgward: and the failure could not be recorded for the next session: {e}");
    }
}

/// `pgward log list`.
pub fn list_logs(
    ticket: Option<&str>,
    env: Option<&str>,
    log_dir: Option<&Path>,
    config: Option<&Path>,
) -> Result<ExitCode, Error> {
    let target = settings::log_target(&config_file(config)?, log_dir);
    let entries = list::list(&target.dir, ticket, env)?;
    if entries.is_empty() {
        eprintln!("pgward: no session logs in {}", target.dir.display());
        return Ok(ExitCode::Ok);
    }
    let rows: Vec<Vec<Option<String>>> = entries
        .iter()
        .map(|e| {
            vec![
                Some(e.started.clone()),
                Some(e.ticket.clone().unwrap_or_default()),
                Some(e.env.clone()),
                Some(e.author.clone()),
                Some(e.records.to_string()),
                Some(if e.ended { "yes" } else { "NO" }.to_string()),
                Some(e.path.display().to_string()),
            ]
        })
        .collect();
    let columns: Vec<crate::render::table::Column> = [
        "started", "ticket", "env", "author", "records", "ended", "file",
    ]
    .iter()
    .map(|n| crate::render::table::Column {
        name: n.to_string(),
        numeric: *n == "records",
    })
    .collect();
    print!("{}", crate::render::table::render(&columns, &rows));
    Ok(ExitCode::Ok)
}
