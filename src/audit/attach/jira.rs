//! Jira (REST API v2, Cloud and Data Center): the log goes up as an attachment,
//! `POST /rest/api/2/issue/{key}/attachments` as `multipart/form-data` with the file in
//! the part named `file` and the `X-Atlassian-Token: no-check` header Jira's XSRF check
//! asks for; then the markdown summary as a comment, `POST /rest/api/2/issue/{key}/comment`
//! with `{"body": …}` (v2 takes a plain string; v3 would want its document format).
//! With `user` the token is an API token sent by basic authentication (Jira Cloud);
//! without, a personal access token sent as a bearer token (Data Center).

use crate::conn::Secret;

use super::{multipart, segment, AttachError, Attachment};

/// Jira refuses comments longer than this many characters.
const MAX_COMMENT: usize = 32_000;

/// Attaches `a` to issue `a.ticket` on the Jira site `url`.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    user: Option<&str>,
    token: &Secret,
    a: &Attachment<'_>,
) -> Result<String, AttachError> {
    if a.ticket.is_empty()
        || !a
            .ticket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AttachError::NoIssue {
            ticket: a.ticket.to_string(),
            service: "Jira",
            hint: "use the issue key, e.g. --ticket OPS-123",
        });
    }
    let issue = format!("{url}/rest/api/2/issue/{}", segment(a.ticket));
    let auth = |r: reqwest::RequestBuilder| match user {
        Some(u) => r.basic_auth(u, Some(token.expose())),
        None => r.bearer_auth(token.expose()),
    };
    let form = multipart::Form::file("file", a.file_name, "application/x-ndjson", a.log)
        .map_err(|e| AttachError::Setup(e.to_string()))?;
    let target = format!("{issue}/attachments");
    super::send(
        &target,
        auth(http.post(&target))
            .header("X-Atlassian-Token", "no-check")
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, form.content_type())
            .body(form.into_body()),
    )
    .await?;
    let target = format!("{issue}/comment");
    let body = serde_json::json!({ "body": super::bounded_markdown(a.markdown, MAX_COMMENT) });
    super::send(
        &target,
        auth(http.post(&target))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string()),
    )
    .await?;
    Ok(format!(
        "Jira issue {}: the log attached as {} and the summary as a comment",
        a.ticket, a.file_name
    ))
}
