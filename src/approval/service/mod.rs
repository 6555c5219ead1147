//! `pgward approver`, the built-in approval service: protocol v1 for shells ([`api`]), the
//! reviewer page ([`page`]), chat notification and approve-from-chat ([`chat`]), state in
//! PostgreSQL ([`store`]), decisions through one path ([`decide`]) into a signed decision
//! log ([`decisions`]), and the operator's commands ([`admin`]).
//!
//! It listens on 127.0.0.1 by default; put it behind a TLS-terminating proxy and give
//! `--public-url https://…` to serve a team (cookies are then `Secure`).

pub mod admin;
pub mod api;
pub mod auth;
pub mod chat;
pub mod command;
pub mod decide;
pub mod decisions;
pub mod html;
pub mod page;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use ed25519_dalek::SigningKey;

use crate::conn::Secret;
use store::Store;

/// Longest a request may stay open, whatever the shell asks.
pub const MAX_TTL_SECS: i64 = 3600;

/// A running approver's shared state.
pub struct App {
    /// The store.
    pub store: Store,
    /// The service key, which signs tokens and decision-log entries.
    pub key: SigningKey,
    /// The address reviewers reach the service at (no trailing slash).
    pub public_url: String,
    /// Whether the page is served over TLS (cookies are then Secure).
    pub secure: bool,
    /// Incoming-webhook URL of a chat room, if any.
    pub webhook: Option<String>,
    /// Slack signing secret, which enables the interactivity endpoint.
    pub slack_secret: Option<Secret>,
    /// Client for outgoing calls (webhook, response_url): no redirects, short timeouts.
    pub http: reqwest::Client,
}

impl App {
    /// A new app state.
    pub fn new(
        store: Store,
        key: SigningKey,
        public_url: &str,
        webhook: Option<String>,
        slack_secret: Option<Secret>,
    ) -> Result<App, String> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        let public_url = public_url.trim_end_matches('/').to_string();
        Ok(App {
            secure: public_url.starts_with("https://"),
            public_url,
            store,
            key,
            webhook,
            slack_secret,
            http,
        })
    }
}

/// The routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/requests", post(api::create))
        .route("/requests/{id}", get(api::status))
        .route("/", get(page::root))
        .route("/review", get(page::list))
        .route("/review/{id}", get(page::one))
        .route("/review/{id}/approve", post(page::approve))
        .route("/review/{id}/reject", post(page::reject))
        .route("/login", post(page::login))
        .route("/logout", post(page::logout))
        .route("/style.css", get(page::style))
        .route("/chat/interactivity", post(chat::interactivity))
        .fallback(page::not_found)
        .layer(DefaultBodyLimit::max(
            crate::approval::protocol::MAX_REQUEST_BYTES,
        ))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// One line to the operator's standard error (the approver's own diagnostics; the
/// decision log is the record).
pub fn note(msg: &str) {
    eprintln!("pgward approver: {}", crate::render::escape::one_line(msg));
}
