//! The operator's commands: `keygen`, `reviewer add|remove`, `author add|remove`,
//! `verify` (the decision log), and `serve`, plus [`Running`], an approver started on its
//! own thread (for `pgward demo` and the tests).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::approval::key;
use crate::conn::Secret;

use super::store::Store;
use super::{auth, decisions, App};

/// Whether `name` can name a reviewer or an author: it is signed into tokens and shown on
/// the page, so it is short and plain.
pub fn valid_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?}: a name is 1 to 64 letters, digits and . _ @ -"
        ))
    }
}

/// Adds (or replaces the password of) reviewer `name`.
pub async fn add_reviewer(store: &Store, name: &str, password: &str) -> Result<(), String> {
    valid_name(name)?;
    if password.chars().count() < 8 {
        return Err("a reviewer password has at least 8 characters".into());
    }
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| e.to_string())??;
    store
        .client()
        .execute(
            &format!(
                "INSERT INTO {} (name, password_hash) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash",
                store.t("reviewers")
            ),
            &[&name, &hash],
        )
        .await
        .map_err(|e| super::store::StoreError::from(e).to_string())?;
    Ok(())
}

/// Mints a credential for author `name` (replacing any earlier one) and returns it; only
/// its hash is stored.
pub async fn add_author(store: &Store, name: &str) -> Result<Secret, String> {
    valid_name(name)?;
    let token = auth::new_credential()?;
    store
        .client()
        .execute(
            &format!(
                "INSERT INTO {} (name, token_hash) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash",
                store.t("authors")
            ),
            &[&name, &auth::hash_secret(&token)],
        )
        .await
        .map_err(|e| super::store::StoreError::from(e).to_string())?;
    Ok(Secret::new(token))
}

/// Removes reviewer or author `name` (`table` is `reviewers` or `authors`); false when
/// there was none.
pub async fn remove(store: &Store, table: &str, name: &str) -> Result<bool, String> {
    let n = store
        .client()
        .execute(
            &format!("DELETE FROM {} WHERE name = $1", store.t(table)),
            &[&name],
        )
        .await
        .map_err(|e| super::store::StoreError::from(e).to_string())?;
    Ok(n > 0)
}

/// Verifies the decision log against the service key at `key_path`; returns its length.
pub async fn verify_log(store: &Store, key_path: &Path) -> Result<usize, String> {
    let key = key::load(key_path).map_err(|e| e.to_string())?;
    let rows = decisions::read(store.client(), &store.schema)
        .await
        .map_err(|e| super::store::StoreError::from(e).to_string())?;
    decisions::verify(&rows, &key.verifying_key())
}

/// An approver running on its own thread and runtime; stops when dropped.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its public URL.
    pub public_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What [`Running::start`] needs.
pub struct Options {
    /// Store URL.
    pub store: String,
    /// Store schema.
    pub schema: String,
    /// Service key.
    pub key: ed25519_dalek::SigningKey,
    /// Listen address (port 0 for any).
    pub listen: SocketAddr,
    /// Public URL; `http://{addr}` when absent.
    pub public_url: Option<String>,
    /// Chat webhook.
    pub webhook: Option<String>,
    /// Slack signing secret.
    pub slack_secret: Option<Secret>,
    /// Pooled store connections.
    pub pool: usize,
}

impl Running {
    /// Opens the store, binds, and serves on a new thread.
    pub fn start(opts: Options) -> Result<Running, String> {
        let (ready_tx, ready_rx) =
            std::sync::mpsc::channel::<Result<(SocketAddr, String), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let setup = async {
                    let store = Store::open(&opts.store, &opts.schema, opts.pool)
                        .await
                        .map_err(|e| e.to_string())?;
                    let listener = tokio::net::TcpListener::bind(opts.listen)
                        .await
                        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
                    let addr = listener.local_addr().map_err(|e| e.to_string())?;
                    let public = opts
                        .public_url
                        .clone()
                        .unwrap_or_else(|| format!("http://{addr}"));
                    let app = App::new(store, opts.key, &public, opts.webhook, opts.slack_secret)?;
                    Ok::<_, String>((listener, addr, public, app))
                };
                match setup.await {
                    Ok((listener, addr, public, app)) => {
                        let _ = ready_tx.send(Ok((addr, public)));
                        let stop = async {
                            let _ = stop_rx.await;
                        };
                        if let Err(e) = super::serve(listener, Arc::new(app), stop).await {
                            super::note(&format!("server stopped: {e}"));
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        });
        let (addr, public_url) = ready_rx
            .recv()
            .map_err(|_| "the approver thread ended before it was ready".to_string())??;
        Ok(Running {
            addr,
            public_url,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Waits until the server stops (it never does by itself).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
