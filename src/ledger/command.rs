//! `pgward ledger init` and `pgward ledger show`, and the one way both (and `log verify
//! --env`) reach an environment's ledger: the environment's connection (psql-style flags
//! override it, e.g. `-U` a DBA role for `init`), reads as the read role in `BEGIN READ
//! ONLY`.

use crate::conn::Client;

use crate::cli::{LedgerTarget, ShellArgs};
use crate::config::Settings;
use crate::preview::relation::quote_ident;
use crate::render::escape::one_line;
use crate::{Error, ExitCode};

use super::{entry, schema, LedgerError, Stored};

/// The settings of `target`: its environment (or ad-hoc flags), with a stand-in ticket,
/// since reading or creating the ledger changes no data.
pub fn settings(target: &LedgerTarget) -> Result<Settings, Error> {
    let args = ShellArgs {
        env: target.env.clone(),
        config: target.config.clone(),
        ticket: Some("ledger".into()),
        host: target.host.clone(),
        port: target.port,
        username: target.username.clone(),
        dbname: target.dbname.clone(),
        write_role: target.write_role.clone(),
        read_role: target.read_role.clone(),
        ..ShellArgs::default()
    };
    Settings::resolve(&args, |k| std::env::var(k).ok())
}

/// The settings of environment `env` in the config file `config`.
pub fn env_settings(env: &str, config: Option<&std::path::Path>) -> Result<Settings, Error> {
    settings(&LedgerTarget {
        env: Some(env.to_string()),
        config: config.map(std::path::Path::to_path_buf),
        ..LedgerTarget::default()
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The ledger's rows (all kinds when `all`), read in `BEGIN READ ONLY` as the read role
/// (else the write role); `Ok(None)` when the database has no ledger.
pub async fn read_rows(
    client: &Client,
    settings: &Settings,
    ticket: Option<&str>,
    all: bool,
) -> Result<Option<Vec<Stored>>, LedgerError> {
    // Times in UTC: `log verify` compares them with the log's.
    let mut begin = String::from("BEGIN READ ONLY; SET LOCAL TIME ZONE 'UTC'");
    let role = settings
        .env
        .read_role
        .as_deref()
        .or(settings.env.write_role.as_deref());
    if let Some(role) = role {
        begin.push_str(&format!("; SET LOCAL ROLE {}", quote_ident(role)));
    }
    client
        .batch_execute(&begin)
        .await
        .map_err(|e| LedgerError::server("cannot open a read-only transaction", &e))?;
    let read = async {
        match schema::find(client)
            .await
            .map_err(|e| LedgerError::server("cannot read the catalog", &e))?
        {
            None => Ok(None),
            Some(_) => entry::read(client, ticket, all).await.map(Some),
        }
    }
    .await;
    let _ = client.batch_execute("ROLLBACK").await;
    read
}

/// `pgward ledger init`: creates `pgward.ledger`, grants the environment's roles what
/// they need and prints the grants; with `print_sql`, prints the SQL for a DBA instead.
pub fn init(target: &LedgerTarget, print_sql: bool) -> Result<ExitCode, Error> {
    let settings = settings(target)?;
    let write = settings.env.write_role.clone();
    let read = settings.env.read_role.clone();
    let grants = schema::grants(write.as_deref(), read.as_deref());
    if print_sql {
        println!(
            "BEGIN;\n{}{}\n{}\nCOMMIT;",
            schema::CREATE,
            init_row_sql(&settings.env.name, &settings.author),
            grants.join("\n")
        );
        return Ok(ExitCode::Ok);
    }
    let database = settings.conn.dbname.clone();
    let rt = runtime()?;
    rt.block_on(async {
        let conn = crate::conn::connect(&settings.conn, "pgward ledger init").await?;
        let client = &conn.client;
        let who: String = client
            .query_one("SELECT CURRENT_USER::text", &[])
            .await
            .map_err(|e| LedgerError::server("cannot ask who is connected", &e))?
            .get(0);
        let found = schema::find(client)
            .await
            .map_err(|e| LedgerError::server("cannot read the catalog", &e))?;
        if found.is_some() {
            eprintln!(
                "pgward: {} already exists in database {}; nothing was changed. The grants pgward's roles need:",
                schema::TABLE,
                one_line(&database)
            );
            println!("{}", grants.join("\n"));
            return Ok(ExitCode::Ok);
        }
        if let Some(w) = &write {
            // A write role that is (or inherits) the owner could rewrite the ledger.
            let owns = client
                .query_one(
                    "SELECT pg_catalog.pg_has_role($1, CURRENT_USER, 'MEMBER')",
                    &[w],
                )
                .await
                .map_err(|e| LedgerError::server("cannot check the write role", &e))?;
            if owns.get::<_, bool>(0) {
                return Err(LedgerError::Refused(format!(
                    "the ledger would belong to {who}, and write role {w} is (or is a member of) {who}, so pgward sessions could rewrite it; run `pgward ledger init` as a DBA role (-U NAME) that the write role is not a member of"
                ))
                .into());
            }
        }
        let sql = format!(
            "BEGIN; {} {} {} COMMIT;",
            schema::CREATE,
            init_row_sql(&settings.env.name, &settings.author),
            grants.join(" ")
        );
        if let Err(e) = client.batch_execute(&sql).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(LedgerError::Refused(format!(
                "cannot create {} in database {} as role {}: {}; nothing was created. Run it as a role that may create a schema there (e.g. -U the database owner), or give a DBA the SQL of `pgward ledger init --print-sql`",
                schema::TABLE,
                one_line(&database),
                one_line(&who),
                crate::render::error::one_line(&e)
            ))
            .into());
        }
        eprintln!(
            "pgward: created {} in database {} (owner {}), and granted pgward's roles:",
            schema::TABLE,
            one_line(&database),
            one_line(&who)
        );
        println!("{}", grants.join("\n"));
        Ok(ExitCode::Ok)
    })
}

/// The `init` row: when the ledger started, and in which environment.
fn init_row_sql(env: &str, author: &str) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    format!(
        "INSERT INTO pgward.ledger (kind, environment, txid, change_digest, fingerprints, statements_digest, author) \
         VALUES ('init', {}, pg_catalog.txid_current()::text, '', '{{}}', '', {});",
        literal(env),
        literal(author)
    )
}

/// `pgward ledger show`.
pub fn show(target: &LedgerTarget, ticket: Option<&str>) -> Result<ExitCode, Error> {
    let settings = settings(target)?;
    let rt = runtime()?;
    let rows = rt.block_on(async {
        let conn = crate::conn::connect(&settings.conn, "pgward ledger show").await?;
        read_rows(&conn.client, &settings, ticket, false)
            .await
            .map_err(Error::from)
    })?;
    let Some(rows) = rows else {
        return Err(LedgerError::Missing {
            database: settings.conn.dbname.clone(),
            env: settings.env.name.clone(),
        }
        .into());
    };
    if rows.is_empty() {
        eprintln!("pgward: no committed changes in {}", schema::TABLE);
        return Ok(ExitCode::Ok);
    }
    let names = [
        "id",
        "committed_at",
        "env",
        "ticket",
        "author",
        "reviewer",
        "txid",
        "rows",
        "change_digest",
        "log",
        "again",
    ];
    let columns: Vec<crate::render::table::Column> = names
        .iter()
        .map(|n| crate::render::table::Column {
            name: n.to_string(),
            numeric: *n == "id",
        })
        .collect();
    let table: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            vec![
                Some(r.id.to_string()),
                Some(r.committed_at.clone()),
                Some(r.environment.clone()),
                r.ticket.clone(),
                Some(r.author.clone()),
                r.reviewer.clone(),
                Some(r.txid.clone()),
                Some(r.rows_summary()),
                Some(r.change_digest.chars().take(16).collect()),
                match (&r.log_file, r.log_seq) {
                    (Some(f), Some(s)) => Some(format!("{f}:{s}")),
                    _ => None,
                },
                r.again_reason.clone(),
            ]
        })
        .collect();
    print!("{}", crate::render::table::render(&columns, &table));
    Ok(ExitCode::Ok)
}
