//! The shell's HTTP client for an approval service. It sends the author's credential as a
//! bearer token, follows no redirects (a 3xx is an error, so a request can never be
//! carried to another host), bounds every answer's size and time, and turns every answer
//! that is not the protocol's JSON into a typed [`ApprovalError`].

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::protocol::{ApprovalRequest, Created, ErrorBody, Status, MAX_ANSWER_BYTES};
use super::ApprovalError;
use crate::conn::Secret;

/// Time allowed for one HTTP exchange.
const EXCHANGE: Duration = Duration::from_secs(10);

/// A client for one approval service.
#[derive(Clone)]
pub struct ApprovalClient {
    http: reqwest::Client,
    base: String,
    credential: Secret,
}

impl std::fmt::Debug for ApprovalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ApprovalClient {
    /// A client for the service at `base` (`http://` or `https://`), authenticating with
    /// `credential`; `ca_file` adds a CA to the bundled Mozilla roots.
    pub fn new(
        base: &str,
        credential: Secret,
        ca_file: Option<&std::path::Path>,
    ) -> Result<ApprovalClient, String> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "approval.url {base:?} must start with http:// or https://"
            ));
        }
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read approval.ca_file {}: {e}", path.display()))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert
                    .map_err(|e| format!("approval.ca_file {} is not PEM: {e}", path.display()))?;
                roots.add(cert).map_err(|e| {
                    format!("approval.ca_file {}: unusable CA: {e}", path.display())
                })?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(EXCHANGE)
            .no_proxy()
            .user_agent(concat!("pgward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the approval client: {e}"))?;
        Ok(ApprovalClient {
            http,
            base,
            credential,
        })
    }

    /// The service's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs `request`; the service answers where the reviewer reviews it.
    pub async fn submit(&self, request: &ApprovalRequest) -> Result<Created, ApprovalError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| ApprovalError::Malformed(format!("cannot encode the request: {e}")))?;
        let sent = self
            .http
            .post(format!("{}/requests", self.base))
            .bearer_auth(self.credential.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let created: Created = self.answer(sent, 201).await?;
        if created.request_id != request.request_id {
            return Err(ApprovalError::Mismatch("request id"));
        }
        Ok(created)
    }

    /// Where request `id` stands.
    pub async fn status(&self, id: &str) -> Result<Status, ApprovalError> {
        let sent = self
            .http
            .get(format!("{}/requests/{id}", self.base))
            .bearer_auth(self.credential.expose())
            .send()
            .await;
        self.answer(sent, 200).await
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
        want: u16,
    ) -> Result<T, ApprovalError> {
        let mut resp = sent.map_err(|e| self.transport(&e))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("an unnamed address");
            return Err(ApprovalError::Redirect {
                to: crate::render::escape::one_line(to),
            });
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(ApprovalError::TooLarge {
                limit: MAX_ANSWER_BYTES,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ApprovalError::TooLarge {
                    limit: MAX_ANSWER_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status != want {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| resp_reason(status).to_string());
            return Err(ApprovalError::Http {
                status,
                message: crate::render::escape::one_line(&truncate(&message, 300)),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ApprovalError::Malformed(e.to_string()))
    }

    fn transport(&self, e: &reqwest::Error) -> ApprovalError {
        if e.is_timeout() {
            ApprovalError::Slow {
                url: self.base.clone(),
                secs: EXCHANGE.as_secs(),
            }
        } else {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                reason = s.to_string();
                source = s.source();
            }
            ApprovalError::Unreachable {
                url: self.base.clone(),
                reason: crate::render::escape::one_line(&reason),
            }
        }
    }
}

fn resp_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
