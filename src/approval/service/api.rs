//! Protocol v1 for shells: `POST /requests` and `GET /requests/{id}`. The author is the
//! one whose credential came with the call, never a name in the body; a request id is
//! taken once; a request lives at most [`super::MAX_TTL_SECS`] and is `expired` after its
//! `expires_at`, whatever a shell claims. Every error answer is `{"error": "…"}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::approval::protocol::{is_request_id, ApprovalRequest, Created, ErrorBody, Status};
use crate::approval::time;

use super::{auth, chat, App};

/// A JSON error answer.
pub fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(ErrorBody { error: msg.into() })).into_response()
}

fn store_error(e: impl std::fmt::Display) -> Response {
    super::note(&e.to_string());
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the approval service cannot reach its store; try again shortly",
    )
}

/// The author behind the bearer credential.
pub async fn author(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let Some(token) = auth::bearer(headers) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "no credential: set approval.credential_file or approval.credential_env",
        ));
    };
    let row = app
        .store
        .client()
        .query_opt(
            &format!(
                "SELECT name FROM {} WHERE token_hash = $1",
                app.store.t("authors")
            ),
            &[&auth::hash_secret(token)],
        )
        .await
        .map_err(store_error)?;
    row.map(|r| r.get(0)).ok_or_else(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "unknown credential: ask the approver's operator for one (pgward approver author add)",
        )
    })
}

/// `POST /requests`.
pub async fn create(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let author = match author(&app, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let request: ApprovalRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("not a protocol-v1 request: {e}"),
            )
        }
    };
    if let Err(e) = request.check() {
        return error(StatusCode::BAD_REQUEST, e);
    }
    let now = time::now_unix();
    let expires = time::parse(&request.expires_at).unwrap_or(0);
    if expires <= now {
        return error(StatusCode::BAD_REQUEST, "expires_at is in the past");
    }
    if expires > now + super::MAX_TTL_SECS {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "expires_at is more than {} minutes away",
                super::MAX_TTL_SECS / 60
            ),
        );
    }
    let text = serde_json::to_string(&request).unwrap_or_default();
    let inserted = app
        .store
        .client()
        .execute(
            &format!(
                "INSERT INTO {} (request_id, author, body, created_unix, expires_unix)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING",
                app.store.t("requests")
            ),
            &[&request.request_id, &author, &text, &now, &expires],
        )
        .await;
    match inserted {
        Ok(1) => {}
        Ok(_) => {
            return error(
                StatusCode::CONFLICT,
                "this request id was used before: ids are taken once",
            )
        }
        Err(e) => return store_error(e),
    }
    let review_url = format!("{}/review/{}", app.public_url, request.request_id);
    chat::notify(&app, &author, &request, &review_url);
    (
        StatusCode::CREATED,
        Json(Created {
            request_id: request.request_id,
            review_url,
        }),
    )
        .into_response()
}

/// `GET /requests/{id}`: only the request's author may ask.
pub async fn status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let author = match author(&app, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !is_request_id(&id) {
        return error(StatusCode::NOT_FOUND, "no such request");
    }
    let row = app
        .store
        .client()
        .query_opt(
            &format!(
                "SELECT status, reviewer, reason, approved_at, token, expires_unix FROM {}
                 WHERE request_id = $1 AND author = $2",
                app.store.t("requests")
            ),
            &[&id, &author],
        )
        .await;
    let row = match row {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such request"),
        Err(e) => return store_error(e),
    };
    let state: &str = row.get(0);
    let expires: i64 = row.get(5);
    let status = match state {
        "approved" => Status::Approved {
            reviewer: row.get(1),
            approved_at: row.get(3),
            token: row.get(4),
        },
        "rejected" => Status::Rejected {
            reviewer: row.get(1),
            reason: row.get(2),
        },
        _ if time::now_unix() > expires => Status::Expired,
        _ => Status::Pending,
    };
    Json(status).into_response()
}
