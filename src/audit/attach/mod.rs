//! Attaching a session log to its ticket (`[tickets]`): at session end, and on demand
//! with `pgward log attach FILE`.
//!
//! - [`jira`], [`github`], [`gitlab`], [`webhook`]: one file per service, each speaking
//!   that service's documented REST API.
//! - [`multipart`]: the `multipart/form-data` body of Jira's attachment upload.
//! - [`pending`]: the small state file of attachments that failed, shown in the next
//!   session's banner until one succeeds.
//!
//! The log file is only ever read here: a failed attachment loses nothing, and is
//! reported with the exact command that retries it. The credential is read from its
//! variable or file at the moment of sending and held as a [`Secret`]; it never appears
//! in a message. Redirects are not followed (a 3xx is an error), so a credential is never
//! carried to another host, and every exchange is bounded in time and answer size.

pub mod github;
pub mod gitlab;
pub mod jira;
pub mod multipart;
pub mod pending;
pub mod webhook;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::tickets::{CredentialSource, TicketService, TicketSettings};
use crate::conn::Secret;

use super::record::Body;

/// Time allowed for one HTTP exchange (a log of a long session can be megabytes).
const EXCHANGE: Duration = Duration::from_secs(30);
/// At most this much of an error answer is read, for its message.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why a log was not attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The log names no ticket, and none was given.
    #[error("{path} names no ticket: pass --ticket ID")]
    NoTicket {
        /// The log.
        path: String,
    },
    /// The ticket id does not name an issue of the service.
    #[error("ticket {ticket:?} names no {service} issue: {hint}")]
    NoIssue {
        /// The ticket.
        ticket: String,
        /// The service.
        service: &'static str,
        /// What would.
        hint: &'static str,
    },
    /// The credential could not be read.
    #[error("{0}")]
    Credential(String),
    /// The log cannot be read or sent as it is.
    #[error("{0}")]
    Log(String),
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// No connection, or it broke.
    #[error("{url} is unreachable: {reason}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// No answer in time.
    #[error("{url} did not answer within {secs} s")]
    Slow {
        /// Where.
        url: String,
        /// The limit.
        secs: u64,
    },
    /// An answer other than success.
    #[error("{url} answered HTTP {status}: {message}")]
    Http {
        /// Where.
        url: String,
        /// The status.
        status: u16,
        /// The service's message (one line, bounded).
        message: String,
    },
}

/// What was delivered, for the one line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The ticket.
    pub ticket: String,
    /// What the service now holds, e.g. "Jira issue OPS-7: attachment and comment".
    pub what: String,
}

/// One log, ready to send.
#[derive(Debug)]
pub struct Attachment<'a> {
    /// The ticket.
    pub ticket: &'a str,
    /// The log file's name (no directories).
    pub file_name: &'a str,
    /// The log's exact bytes.
    pub log: &'a [u8],
    /// The markdown export.
    pub markdown: &'a str,
}

/// Reads `path`, renders its markdown (approval tokens checked under `approver`) and
/// sends it to the ticket the log names (or `ticket`), reading the credential through `var`.
pub async fn attach(
    settings: &TicketSettings,
    path: &Path,
    ticket: Option<&str>,
    approver: Option<&ed25519_dalek::VerifyingKey>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Delivered, AttachError> {
    let bytes = std::fs::read(path).map_err(|e| {
        AttachError::Log(format!("cannot read session log {}: {e}", path.display()))
    })?;
    let v = super::verify::verify_with(&bytes, None, approver);
    let named = v.records.first().and_then(|r| match &r.body {
        Body::SessionStart { ticket, .. } => ticket.clone(),
        _ => None,
    });
    let ticket = ticket
        .map(str::to_string)
        .or(named)
        .ok_or_else(|| AttachError::NoTicket {
            path: path.display().to_string(),
        })?;
    let markdown = super::export::markdown(path, &v);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session.jsonl".into());
    let token = credential(&settings.credential, var)?;
    let http = client(settings.ca_file.as_deref())?;
    let a = Attachment {
        ticket: &ticket,
        file_name: &file_name,
        log: &bytes,
        markdown: &markdown,
    };
    let what = match &settings.service {
        TicketService::Jira { url, user } => {
            jira::send(&http, url, user.as_deref(), &token, &a).await?
        }
        TicketService::Github { api, repo } => github::send(&http, api, repo, &token, &a).await?,
        TicketService::Gitlab { url, project } => {
            gitlab::send(&http, url, project, &token, &a).await?
        }
        TicketService::Webhook { url } => webhook::send(&http, url, &token, &a).await?,
    };
    Ok(Delivered { ticket, what })
}

/// A failed attachment: why, and the command that retries it.
#[derive(Debug)]
pub struct Failed {
    /// Why.
    pub error: AttachError,
    /// The exact command that retries.
    pub retry: String,
    /// Why the failure could not be recorded for the next banner, if so.
    pub unrecorded: Option<String>,
}

/// [`attach`], with the outcome kept in the [`pending`] file next to the log: a failure
/// is recorded (with the retry command, which names `config` when given) and a success
/// clears an earlier failure of the same log.
pub async fn attach_recorded(
    settings: &TicketSettings,
    path: &Path,
    ticket: Option<&str>,
    approver: Option<&ed25519_dalek::VerifyingKey>,
    config: Option<&Path>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Delivered, Failed> {
    let log = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = log
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    match attach(settings, &log, ticket, approver, var).await {
        Ok(done) => {
            // A stale entry only repeats a warning: the attachment itself succeeded.
            let _ = pending::succeeded(&dir, &log);
            Ok(done)
        }
        Err(error) => {
            let mut retry = format!(
                "pgward log attach {}",
                super::export::shell_quote(&log.display().to_string())
            );
            if let Some(t) = ticket {
                retry.push_str(&format!(" --ticket {}", super::export::shell_quote(t)));
            }
            if let Some(c) = config {
                retry.push_str(&format!(
                    " --config {}",
                    super::export::shell_quote(&c.display().to_string())
                ));
            }
            let named = ticket.map(str::to_string).or_else(|| {
                let bytes = std::fs::read(&log).ok()?;
                super::verify(&bytes, None)
                    .records
                    .first()
                    .and_then(|r| match &r.body {
                        Body::SessionStart { ticket, .. } => ticket.clone(),
                        _ => None,
                    })
            });
            let unrecorded = pending::failed(
                &dir,
                pending::Pending {
                    log: log.clone(),
                    ticket: named.unwrap_or_else(|| "(none)".into()),
                    service: settings.service.name().into(),
                    error: error.to_string(),
                    since: super::record::timestamp(std::time::SystemTime::now()),
                    attempts: 1,
                    retry: retry.clone(),
                },
            )
            .err();
            Err(Failed {
                error,
                retry,
                unrecorded,
            })
        }
    }
}

/// The banner's lines for the attachments pending in `dir`.
pub fn banner(dir: &Path) -> Vec<String> {
    match pending::load(dir) {
        Ok(list) => list
            .iter()
            .map(|p| {
                format!(
                    "session log NOT attached to ticket {} ({}) since {} ({} tries): {}. The log is kept at {}; retry: {}",
                    p.ticket,
                    p.service,
                    p.since,
                    p.attempts,
                    p.error,
                    p.log.display(),
                    p.retry
                )
            })
            .collect(),
        Err(e) => vec![format!("ticket attachments: {e}")],
    }
}

/// Reads the credential from its variable or file (which group and others must not be
/// able to read), trimmed; empty or non-printable text is refused.
pub fn credential(
    source: &CredentialSource,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Secret, AttachError> {
    let bad = |m: String| AttachError::Credential(m);
    let (text, from) = match source {
        CredentialSource::Env(name) => (
            var(name).ok_or_else(|| {
                bad(format!(
                    "the ticket credential variable ${name} is not set; export it ([tickets] token_env)"
                ))
            })?,
            format!("${name}"),
        ),
        CredentialSource::File(p) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(p) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(bad(format!(
                            "ticket credential file {} is readable by group or others: run chmod 600 on it",
                            p.display()
                        )));
                    }
                }
            }
            let t = std::fs::read_to_string(p).map_err(|e| {
                bad(format!(
                    "cannot read ticket credential file {}: {e}",
                    p.display()
                ))
            })?;
            (t, p.display().to_string())
        }
    };
    let token = text.trim();
    if token.is_empty() || token.len() > 4096 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(format!(
            "the ticket credential in {from} is empty or malformed"
        )));
    }
    Ok(Secret::new(token))
}

/// The HTTP client: rustls with the bundled Mozilla roots (and `ca_file`), no redirects,
/// no proxy from the environment, bounded time.
pub fn client(ca_file: Option<&Path>) -> Result<reqwest::Client, AttachError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            AttachError::Setup(format!(
                "cannot read [tickets] ca_file {}: {e}",
                path.display()
            ))
        })?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                AttachError::Setup(format!(
                    "[tickets] ca_file {} is not PEM: {e}",
                    path.display()
                ))
            })?;
            roots.add(cert).map_err(|e| {
                AttachError::Setup(format!(
                    "[tickets] ca_file {}: unusable CA: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AttachError::Setup(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(EXCHANGE)
        .no_proxy()
        .user_agent(concat!("pgward/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AttachError::Setup(e.to_string()))
}

/// Sends `request` to `url`; any 2xx is success, anything else an [`AttachError`] with
/// the service's own message where it gave one.
pub(crate) async fn send(url: &str, request: reqwest::RequestBuilder) -> Result<(), AttachError> {
    let mut resp = request.send().await.map_err(|e| transport(url, &e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ANSWER_BYTES);
    let message = if (300..400).contains(&status) {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("an unnamed address");
        format!("a redirect to {to}, which pgward does not follow (check url in [tickets])")
    } else {
        service_message(&body).unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_string()
        })
    };
    Err(AttachError::Http {
        url: url.to_string(),
        status,
        message: crate::render::escape::one_line(&message.chars().take(300).collect::<String>()),
    })
}

/// The message in a service's JSON error body: Jira's `errorMessages`/`errors`, GitHub's
/// and GitLab's `message`, or `error`.
fn service_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut parts: Vec<String> = Vec::new();
    if let Some(list) = v["errorMessages"].as_array() {
        parts.extend(list.iter().filter_map(|m| m.as_str().map(str::to_string)));
    }
    if let Some(map) = v["errors"].as_object() {
        parts.extend(map.iter().map(|(k, m)| format!("{k}: {m}")));
    }
    for key in ["message", "error"] {
        match &v[key] {
            serde_json::Value::String(s) => parts.push(s.clone()),
            serde_json::Value::Null => {}
            other => parts.push(other.to_string()),
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn transport(url: &str, e: &reqwest::Error) -> AttachError {
    if e.is_timeout() {
        return AttachError::Slow {
            url: url.to_string(),
            secs: EXCHANGE.as_secs(),
        };
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    AttachError::Unreachable {
        url: url.to_string(),
        reason: crate::render::escape::one_line(&reason),
    }
}

/// A path segment: everything but RFC 3986's unreserved characters is percent-encoded
/// (so a GitLab project path's `/` becomes `%2F`, as its API asks).
pub(crate) fn segment(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// `owner/name#123`, `#123` or `123`: the repository (when named) and the issue number.
pub(crate) fn issue_ref(ticket: &str) -> Option<(Option<&str>, u64)> {
    let (repo, number) = match ticket.rsplit_once('#') {
        Some((repo, n)) => ((!repo.is_empty()).then_some(repo), n),
        None => (None, ticket),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((repo, number.parse().ok().filter(|n| *n > 0)?))
}

/// `markdown` cut to at most `max` bytes at a line break, with an open code fence closed
/// and a note saying where the rest is.
pub(crate) fn bounded_markdown(markdown: &str, max: usize) -> String {
    if markdown.len() <= max {
        return markdown.to_string();
    }
    const NOTE: &str =
        "\n\n_(cut to fit the ticket: the attached log and `pgward log export` hold everything)_\n";
    let budget = max.saturating_sub(NOTE.len() + 64);
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in markdown.split_inclusive('\n') {
        if out.len() + line.len() > budget {
            break;
        }
        out.push_str(line);
        let ticks = line.bytes().take_while(|b| *b == b'`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            Some(open) if ticks >= open && line.trim_end().len() == ticks => fence = None,
            _ => {}
        }
    }
    if let Some(open) = fence {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&"`".repeat(open));
        out.push('\n');
    }
    out.push_str(NOTE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_refs() {
        assert_eq!(issue_ref("123"), Some((None, 123)));
        assert_eq!(issue_ref("#7"), Some((None, 7)));
        assert_eq!(issue_ref("acme/shop#42"), Some((Some("acme/shop"), 42)));
        assert_eq!(issue_ref("OPS-123"), None);
        assert_eq!(issue_ref("#"), None);
        assert_eq!(issue_ref("0"), None);
    }

    #[test]
    fn segments_keep_unreserved_only() {
        assert_eq!(segment("OPS-7"), "OPS-7");
        assert_eq!(segment("group/sub project"), "group%2Fsub%20project");
    }

    #[test]
    fn bounded_markdown_closes_its_fence() {
        let md = format!("# t\n\n````sql\n{}````\n\nend\n", "select 1;\n".repeat(100));
        let cut = bounded_markdown(&md, 300);
        assert!(cut.len() <= 300, "{}", cut.len());
        assert!(cut.contains("\n````\n"), "{cut}");
        assert!(cut.ends_with("hold everything)_\n"), "{cut}");
        assert_eq!(bounded_markdown("short\n", 300), "short\n");
    }

    #[test]
    fn credentials_from_variable_or_private_file() {
        let v = |k: &str| (k == "T").then(|| " tok\n".to_string());
        let s = credential(&CredentialSource::Env("T".into()), v).unwrap();
        assert_eq!(s.expose(), "tok");
        assert!(credential(&CredentialSource::Env("NONE".into()), v).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, "file-tok\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = credential(&CredentialSource::File(p.clone()), v).unwrap_err();
            assert!(e.to_string().contains("chmod 600"), "{e}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let s = credential(&CredentialSource::File(p), v).unwrap();
        assert_eq!(s.expose(), "file-tok");
    }

    #[test]
    fn service_messages() {
        let jira = br#"{"errorMessages":["Issue does not exist"],"errors":{}}"#;
        assert_eq!(
            service_message(jira).as_deref(),
            Some("Issue does not exist")
        );
        let gh = br#"{"message":"Not Found","documentation_url":"x"}"#;
        assert_eq!(service_message(gh).as_deref(), Some("Not Found"));
        assert_eq!(service_message(b"<html>"), None);
    }
}
