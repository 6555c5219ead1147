//! A reviewer's decision, the one path for the page and for chat: in one transaction the
//! request row is locked, checked (pending, not expired, not the reviewer's own) and
//! updated, the token is signed, and the decision is appended to the signed decision log.

use crate::approval::protocol::{ApprovalRequest, Status};
use crate::approval::token::Approval;
use crate::approval::verify::same_person;
use crate::approval::{code, time};

use super::decisions::{self, Entry};
use super::App;

/// What the reviewer chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Approve.
    Approve,
    /// Reject, with a reason.
    Reject(String),
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// Someone decided already.
    #[error("this request was already {0}")]
    Decided(String),
    /// Too late.
    #[error("this request has expired")]
    Expired,
    /// The reviewer is the author.
    #[error("you wrote this change: a second person must approve it")]
    OwnRequest,
    /// A reject without a reason.
    #[error("a rejection needs a reason")]
    NoReason,
    /// The store failed.
    #[error("{0}")]
    Store(#[from] super::store::StoreError),
}

impl From<tokio_postgres::Error> for DecideError {
    fn from(e: tokio_postgres::Error) -> Self {
        DecideError::Store(e.into())
    }
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The request as sent.
    pub request: ApprovalRequest,
    /// Its author.
    pub author: String,
    /// The new status.
    pub status: Status,
}

impl Decided {
    /// The approval code, for an approval.
    pub fn code(&self) -> Option<String> {
        match &self.status {
            Status::Approved { token, .. } => code::derive(token),
            _ => None,
        }
    }
}

/// Records `reviewer`'s `choice` on request `id`, through `via` (`page` or `chat`).
pub async fn decide(
    app: &App,
    id: &str,
    reviewer: &str,
    choice: Choice,
    via: &str,
) -> Result<Decided, DecideError> {
    if let Choice::Reject(reason) = &choice {
        if reason.trim().is_empty() {
            return Err(DecideError::NoReason);
        }
    }
    let client = app.store.decider.lock().await;
    client.batch_execute("BEGIN").await?;
    let result = decide_in(app, &client, id, reviewer, choice, via).await;
    match &result {
        Ok(_) => client.batch_execute("COMMIT").await?,
        Err(_) => {
            let _ = client.batch_execute("ROLLBACK").await;
        }
    }
    result
}

async fn decide_in(
    app: &App,
    client: &tokio_postgres::Client,
    id: &str,
    reviewer: &str,
    choice: Choice,
    via: &str,
) -> Result<Decided, DecideError> {
    let s = &app.store.schema;
    let row = client
        .query_opt(
            &format!(
                "SELECT author, body, expires_unix, status FROM {s}.requests
                 WHERE request_id = $1 FOR UPDATE"
            ),
            &[&id],
        )
        .await?
        .ok_or(DecideError::NotFound)?;
    let author: String = row.get(0);
    let request: ApprovalRequest =
        serde_json::from_str(row.get(1)).map_err(|_| DecideError::NotFound)?;
    let expires: i64 = row.get(2);
    let status: String = row.get(3);
    if status != "pending" {
        return Err(DecideError::Decided(status));
    }
    let now = time::now_unix();
    if now > expires {
        return Err(DecideError::Expired);
    }
    if same_person(&author, reviewer) {
        return Err(DecideError::OwnRequest);
    }
    let mut entry = Entry {
        v: 1,
        seq: 0,
        ts: time::format(now),
        kind: String::new(),
        request_id: id.to_string(),
        author: author.clone(),
        reviewer: reviewer.to_string(),
        via: via.to_string(),
        environment: request.environment.clone(),
        ticket: request.ticket.clone(),
        change_digest: request.change_digest.clone(),
        log_head: request.log_head.clone(),
        token: None,
        reason: None,
        prev: String::new(),
    };
    let status = match choice {
        Choice::Approve => {
            let approved_at = time::format(now);
            let token = Approval {
                request_id: id,
                change_digest: &request.change_digest,
                log_head: &request.log_head,
                reviewer,
                approved_at: &approved_at,
                expires_at: &request.expires_at,
            }
            .sign(&app.key)
            .ok_or(DecideError::NotFound)?;
            client
                .execute(
                    &format!(
                        "UPDATE {s}.requests SET status = 'approved', reviewer = $2,
                         approved_at = $3, token = $4, decided_unix = $5 WHERE request_id = $1"
                    ),
                    &[&id, &reviewer, &approved_at, &token, &now],
                )
                .await?;
            entry.kind = "approved".into();
            entry.token = Some(token.clone());
            Status::Approved {
                reviewer: reviewer.to_string(),
                approved_at,
                token,
            }
        }
        Choice::Reject(reason) => {
            let reason = reason.trim().chars().take(2000).collect::<String>();
            client
                .execute(
                    &format!(
                        "UPDATE {s}.requests SET status = 'rejected', reviewer = $2,
                         reason = $3, decided_unix = $4 WHERE request_id = $1"
                    ),
                    &[&id, &reviewer, &reason, &now],
                )
                .await?;
            entry.kind = "rejected".into();
            entry.reason = Some(reason.clone());
            Status::Rejected {
                reviewer: reviewer.to_string(),
                reason,
            }
        }
    };
    decisions::append(client, s, &app.key, entry).await?;
    Ok(Decided {
        request,
        author,
        status,
    })
}
