//! GitLab: the markdown summary as an issue note,
//! `POST {url}/api/v4/projects/{id}/issues/{iid}/notes` with `{"body": …}` and the
//! `PRIVATE-TOKEN` header. The project is its numeric id or its path, URL-encoded
//! (`group%2Fproject`), as the API asks.

use crate::conn::Secret;

use super::{issue_ref, segment, AttachError, Attachment};

/// GitLab refuses notes longer than 1,000,000 characters.
const MAX_NOTE: usize = 1_000_000;

/// Notes `a` on issue `a.ticket` (`5`, `#5` or `group/project#5`) of `project`.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    project: &str,
    token: &Secret,
    a: &Attachment<'_>,
) -> Result<String, AttachError> {
    let (named, iid) = issue_ref(a.ticket).ok_or_else(|| AttachError::NoIssue {
        ticket: a.ticket.to_string(),
        service: "GitLab",
        hint: "use the issue number, e.g. --ticket 5 (or group/project#5)",
    })?;
    let project = named.unwrap_or(project);
    let target = format!(
        "{url}/api/v4/projects/{}/issues/{iid}/notes",
        segment(project)
    );
    let body = serde_json::json!({ "body": super::bounded_markdown(a.markdown, MAX_NOTE) });
    super::send(
        &target,
        http.post(&target)
            .header("PRIVATE-TOKEN", token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string()),
    )
    .await?;
    Ok(format!(
        "GitLab issue {project}#{iid}: the summary as a note"
    ))
}
