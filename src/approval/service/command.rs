//! `pgward approver …` as the command line asks: the operator's side of the service.

use crate::approval::key;
use crate::cli::{ApproverCommand, MemberAction, StoreArgs};
use crate::conn::Secret;
use crate::{Error, ExitCode};

use super::admin::{self, Options, Running};
use super::store::Store;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn open(store: &StoreArgs) -> Result<Store, Error> {
    Store::open(&store.store, &store.schema, 1)
        .await
        .map_err(|e| Error::Approver(e.to_string()))
}

/// Runs one approver command.
pub fn run(command: ApproverCommand) -> Result<ExitCode, Error> {
    let fail = Error::Approver;
    match command {
        ApproverCommand::Keygen { key: path } => {
            let k = key::generate(&path).map_err(|e| fail(e.to_string()))?;
            eprintln!(
                "pgward approver: wrote the service key to {}",
                path.display()
            );
            println!("{}", key::public_hex(&k.verifying_key()));
            Ok(ExitCode::Ok)
        }
        ApproverCommand::Serve {
            store,
            key: key_path,
            listen,
            public_url,
            webhook_url,
            chat_secret_env,
            pool,
        } => {
            let key = key::load(&key_path).map_err(|e| fail(e.to_string()))?;
            let slack_secret = match chat_secret_env {
                Some(var) => Some(Secret::new(std::env::var(&var).map_err(|_| {
                    fail(format!("--chat-secret-env: variable ${var} is not set"))
                })?)),
                None => None,
            };
            let running = Running::start(Options {
                store: store.store,
                schema: store.schema,
                key,
                listen,
                public_url,
                webhook: webhook_url,
                slack_secret,
                pool,
            })
            .map_err(fail)?;
            eprintln!(
                "pgward approver: listening on {}; reviewers open {}/review",
                running.addr, running.public_url
            );
            running.wait();
            Ok(ExitCode::Ok)
        }
        ApproverCommand::Reviewer { action } => {
            let rt = runtime()?;
            match action {
                MemberAction::Add {
                    name,
                    store,
                    password_env,
                } => {
                    let password = match password_env {
                        Some(var) => std::env::var(&var).map_err(|_| {
                            fail(format!("--password-env: variable ${var} is not set"))
                        })?,
                        None => {
                            let a = rpassword::prompt_password(format!("Password for {name}: "))?;
                            let b = rpassword::prompt_password("Again: ")?;
                            if a != b {
                                return Err(fail("the passwords differ; nothing changed".into()));
                            }
                            a
                        }
                    };
                    rt.block_on(async {
                        let s = open(&store).await?;
                        admin::add_reviewer(&s, &name, &password)
                            .await
                            .map_err(fail)
                    })?;
                    eprintln!("pgward approver: reviewer {name} added");
                    Ok(ExitCode::Ok)
                }
                MemberAction::Remove { name, store } => remove(&rt, &store, "reviewers", &name),
            }
        }
        ApproverCommand::Author { action } => {
            let rt = runtime()?;
            match action {
                MemberAction::Add { name, store, .. } => {
                    let token = rt.block_on(async {
                        let s = open(&store).await?;
                        admin::add_author(&s, &name).await.map_err(fail)
                    })?;
                    eprintln!(
                        "pgward approver: author {name} added; give them this credential (shown once) for approval.credential_file:"
                    );
                    println!("{}", token.expose());
                    Ok(ExitCode::Ok)
                }
                MemberAction::Remove { name, store } => remove(&rt, &store, "authors", &name),
            }
        }
        ApproverCommand::Verify { store, key } => {
            let rt = runtime()?;
            let n = rt.block_on(async {
                let s = open(&store).await?;
                admin::verify_log(&s, &key).await.map_err(fail)
            })?;
            println!("decision log OK: {n} entries, chain and signatures verified");
            Ok(ExitCode::Ok)
        }
    }
}

fn remove(
    rt: &tokio::runtime::Runtime,
    store: &StoreArgs,
    table: &str,
    name: &str,
) -> Result<ExitCode, Error> {
    let gone = rt.block_on(async {
        let s = open(store).await?;
        admin::remove(&s, table, name)
            .await
            .map_err(Error::Approver)
    })?;
    if gone {
        eprintln!("pgward approver: {name} removed");
        Ok(ExitCode::Ok)
    } else {
        Err(Error::Approver(format!(
            "no {} named {name:?}",
            &table[..table.len() - 1]
        )))
    }
}
