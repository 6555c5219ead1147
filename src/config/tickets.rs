//! `[tickets]`: where session logs are attached. One service per config file (`jira`,
//! `github`, `gitlab` or `webhook`), its address, and where its credential is read from:
//! an environment variable (`token_env`) or a private file (`token_file`), never the
//! config text itself, which people copy into repositories and chat. The file model is
//! flat, so an option that does not belong to the chosen service is named in the error.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// `[tickets]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tickets {
    /// `jira`, `github`, `gitlab` or `webhook`.
    pub service: String,
    /// The service's address (Jira site, GitHub API, GitLab instance, webhook URL).
    pub url: Option<String>,
    /// Jira: the account (email) for basic authentication with an API token; without it
    /// the token is sent as a bearer token (Jira Data Center personal access tokens).
    pub user: Option<String>,
    /// GitHub: `owner/name` of the repository whose issues are the tickets.
    pub repo: Option<String>,
    /// GitLab: the project's path (`group/project`) or numeric id.
    pub project: Option<String>,
    /// The variable holding the token (webhook: the HMAC key).
    pub token_env: Option<String>,
    /// The file holding the token (mode 0600).
    pub token_file: Option<PathBuf>,
    /// Refused with a hint: credentials never live in the config text.
    pub token: Option<toml::Value>,
    /// Whether each session's log is attached when the session ends (default true);
    /// `pgward log attach FILE` attaches on demand either way.
    #[serde(default = "yes")]
    pub at_session_end: bool,
    /// A CA file for the service's TLS certificate, besides the bundled Mozilla roots.
    pub ca_file: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

/// The service a log is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketService {
    /// Jira's REST API v2: an attachment and a comment.
    Jira {
        /// The site, e.g. `https://example.atlassian.net`.
        url: String,
        /// The account for basic authentication; bearer when absent.
        user: Option<String>,
    },
    /// A GitHub issue comment.
    Github {
        /// The REST API root, `https://api.github.com` by default.
        api: String,
        /// `owner/name`.
        repo: String,
    },
    /// A GitLab issue note.
    Gitlab {
        /// The instance, `https://gitlab.com` by default.
        url: String,
        /// Path or numeric id.
        project: String,
    },
    /// A signed JSON POST.
    Webhook {
        /// Where to POST.
        url: String,
    },
}

impl TicketService {
    /// The name the config file uses.
    pub fn name(&self) -> &'static str {
        match self {
            TicketService::Jira { .. } => "jira",
            TicketService::Github { .. } => "github",
            TicketService::Gitlab { .. } => "gitlab",
            TicketService::Webhook { .. } => "webhook",
        }
    }
}

/// Where the service's credential is read from, at the moment of attaching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable.
    Env(String),
    /// A file (mode 0600).
    File(PathBuf),
}

/// A validated `[tickets]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSettings {
    /// The service.
    pub service: TicketService,
    /// Its credential.
    pub credential: CredentialSource,
    /// Attach when a session ends.
    pub at_session_end: bool,
    /// Extra CA.
    pub ca_file: Option<PathBuf>,
}

impl TicketSettings {
    /// Validates `raw`; `expand` resolves a leading `~/` in paths.
    pub fn new(
        raw: &Tickets,
        expand: impl Fn(&std::path::Path) -> PathBuf,
    ) -> Result<TicketSettings, ConfigError> {
        let bad = |message: String| ConfigError::Tickets { message };
        if raw.token.is_some() {
            return Err(bad("token: credentials are never read from the config file; name a variable (token_env) or a file with mode 0600 (token_file)".into()));
        }
        let credential = match (&raw.token_env, &raw.token_file) {
            (Some(v), None) if !v.trim().is_empty() => CredentialSource::Env(v.trim().into()),
            (None, Some(f)) => CredentialSource::File(expand(f)),
            (Some(_), Some(_)) => {
                return Err(bad("set token_env or token_file, not both".into()));
            }
            _ => {
                return Err(bad(
                    "the credential is missing: set token_env (a variable) or token_file (a file with mode 0600)".into(),
                ))
            }
        };
        let only = |field: &str, set: bool, services: &str| -> Result<(), ConfigError> {
            if set {
                Err(bad(format!(
                    "{field} is only for service = {services}, not {:?}",
                    raw.service
                )))
            } else {
                Ok(())
            }
        };
        let url = |default: Option<&str>| -> Result<String, ConfigError> {
            let url = raw
                .url
                .as_deref()
                .or(default)
                .ok_or_else(|| bad(format!("service = {:?} needs url", raw.service)))?
                .trim()
                .trim_end_matches('/')
                .to_string();
            let Some(rest) = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
            else {
                return Err(bad(format!(
                    "url {url:?} must start with https:// or http://"
                )));
            };
            if rest.split('/').next().unwrap_or("").contains('@') {
                return Err(bad(
                    "url must not hold a user or password: the credential comes from token_env or token_file".into(),
                ));
            }
            Ok(url)
        };
        let service = match raw.service.as_str() {
            "jira" => {
                only("repo", raw.repo.is_some(), "github")?;
                only("project", raw.project.is_some(), "gitlab")?;
                TicketService::Jira {
                    url: url(None)?,
                    user: raw.user.clone().filter(|u| !u.trim().is_empty()),
                }
            }
            "github" => {
                only("user", raw.user.is_some(), "jira")?;
                only("project", raw.project.is_some(), "gitlab")?;
                let repo = raw.repo.clone().unwrap_or_default();
                if !is_owner_repo(&repo) {
                    return Err(bad(format!(
                        "service = \"github\" needs repo = \"owner/name\" (got {repo:?})"
                    )));
                }
                TicketService::Github {
                    api: url(Some("https://api.github.com"))?,
                    repo,
                }
            }
            "gitlab" => {
                only("user", raw.user.is_some(), "jira")?;
                only("repo", raw.repo.is_some(), "github")?;
                let project = raw.project.clone().unwrap_or_default().trim().to_string();
                if project.is_empty() {
                    return Err(bad(
                        "service = \"gitlab\" needs project = \"group/project\" (or its numeric id)".into(),
                    ));
                }
                TicketService::Gitlab {
                    url: url(Some("https://gitlab.com"))?,
                    project,
                }
            }
            "webhook" => {
                only("user", raw.user.is_some(), "jira")?;
                only("repo", raw.repo.is_some(), "github")?;
                only("project", raw.project.is_some(), "gitlab")?;
                TicketService::Webhook { url: url(None)? }
            }
            other => {
                return Err(bad(format!(
                    "service {other:?} is not one of jira, github, gitlab, webhook"
                )))
            }
        };
        Ok(TicketSettings {
            service,
            credential,
            at_session_end: raw.at_session_end,
            ca_file: raw.ca_file.as_deref().map(expand),
        })
    }
}

/// `owner/name` with GitHub's characters only.
pub fn is_owner_repo(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    matches!(s.split_once('/'), Some((o, r)) if ok(o) && ok(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TicketSettings, String> {
        let raw: Tickets = toml::from_str(text).map_err(|e| e.to_string())?;
        TicketSettings::new(&raw, |p| p.to_path_buf()).map_err(|e| e.to_string())
    }

    #[test]
    fn each_service_validates() {
        let jira = parse(
            "service = \"jira\"\nurl = \"https://x.atlassian.net/\"\nuser = \"a@b\"\ntoken_env = \"T\"",
        )
        .unwrap();
        assert_eq!(
            jira.service,
            TicketService::Jira {
                url: "https://x.atlassian.net".into(),
                user: Some("a@b".into())
            }
        );
        assert_eq!(jira.credential, CredentialSource::Env("T".into()));
        assert!(jira.at_session_end);
        let gh = parse("service = \"github\"\nrepo = \"acme/shop\"\ntoken_file = \"/t\"").unwrap();
        assert_eq!(
            gh.service,
            TicketService::Github {
                api: "https://api.github.com".into(),
                repo: "acme/shop".into()
            }
        );
        let gl = parse("service = \"gitlab\"\nproject = \"g/p\"\ntoken_env = \"T\"").unwrap();
        assert_eq!(gl.service.name(), "gitlab");
        let hook = parse(
            "service = \"webhook\"\nurl = \"http://127.0.0.1:1/h\"\ntoken_env = \"T\"\nat_session_end = false",
        )
        .unwrap();
        assert!(!hook.at_session_end);
    }

    #[test]
    fn credentials_never_come_from_the_config_text() {
        let e = parse("service = \"jira\"\nurl = \"https://x\"\ntoken = \"abc\"").unwrap_err();
        assert!(e.contains("token_env"), "{e}");
        let e = parse("service = \"jira\"\nurl = \"https://x\"").unwrap_err();
        assert!(e.contains("credential is missing"), "{e}");
        let e = parse(
            "service = \"jira\"\nurl = \"https://x\"\ntoken_env = \"A\"\ntoken_file = \"/f\"",
        )
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn misplaced_and_missing_options_are_named() {
        let e = parse("service = \"github\"\nrepo = \"nope\"\ntoken_env = \"T\"").unwrap_err();
        assert!(e.contains("owner/name"), "{e}");
        let e = parse("service = \"jira\"\nurl = \"https://x\"\nrepo = \"a/b\"\ntoken_env = \"T\"")
            .unwrap_err();
        assert!(e.contains("repo is only for service = github"), "{e}");
        let e = parse("service = \"webhook\"\ntoken_env = \"T\"").unwrap_err();
        assert!(e.contains("needs url"), "{e}");
        let e = parse("service = \"webhook\"\nurl = \"ftp://x\"\ntoken_env = \"T\"").unwrap_err();
        assert!(e.contains("https://"), "{e}");
        let e = parse("service = \"webhook\"\nurl = \"https://u:p@x/\"\ntoken_env = \"T\"")
            .unwrap_err();
        assert!(e.contains("user or password"), "{e}");
        let e = parse("service = \"trello\"\ntoken_env = \"T\"").unwrap_err();
        assert!(e.contains("not one of"), "{e}");
        assert!(
            parse("service = \"jira\"\nurl = \"https://x\"\ntoken_env = \"T\"\nextra = 1").is_err()
        );
    }
}
