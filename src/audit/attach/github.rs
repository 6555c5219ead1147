//! GitHub: the markdown summary as an issue comment,
//! `POST {api}/repos/{owner}/{repo}/issues/{number}/comments` with `{"body": …}`, a
//! bearer token, `Accept: application/vnd.github+json` and the REST API version header.
//! GitHub has no API to attach files to issues, so the summary carries the log's head
//! and the command that verifies the log, which stays where it was written.

use crate::conn::Secret;

use super::{issue_ref, segment, AttachError, Attachment};

/// GitHub refuses comment bodies longer than 65,536 characters.
const MAX_COMMENT: usize = 65_000;

/// The REST API version pgward speaks.
pub const API_VERSION: &str = "2022-11-28";

/// Comments `a` on issue `a.ticket` (`123`, `#123` or `owner/name#123`) of `repo`.
pub async fn send(
    http: &reqwest::Client,
    api: &str,
    repo: &str,
    token: &Secret,
    a: &Attachment<'_>,
) -> Result<String, AttachError> {
    let (named, number) = issue_ref(a.ticket)
        .filter(|(r, _)| r.is_none_or(crate::config::tickets::is_owner_repo))
        .ok_or_else(|| AttachError::NoIssue {
            ticket: a.ticket.to_string(),
            service: "GitHub",
            hint: "use the issue number, e.g. --ticket 123 (or owner/name#123)",
        })?;
    let repo = named.unwrap_or(repo);
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let target = format!(
        "{api}/repos/{}/{}/issues/{number}/comments",
        segment(owner),
        segment(name)
    );
    let body = serde_json::json!({ "body": super::bounded_markdown(a.markdown, MAX_COMMENT) });
    super::send(
        &target,
        http.post(&target)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string()),
    )
    .await?;
    Ok(format!(
        "GitHub issue {repo}#{number}: the summary as a comment"
    ))
}
