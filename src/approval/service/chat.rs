//! Chat: a notification to an incoming webhook (Slack and Mattermost take `{"text": …}`)
//! when a request arrives, and a Slack-compatible interactivity endpoint to approve, or
//! reject with a reason, from chat. The endpoint verifies the signing secret (`X-Slack-Signature` v0: HMAC-SHA256 of
//! `v0:{timestamp}:{body}`, with a 5-minute timestamp window against replay), takes the
//! reviewer from the signed payload's user name (which must be a registered reviewer),
//! records the decision through the one decision path (a reject needs the reason typed
//! in the message's `reason` input, as the page needs one), and shows the code only to
//! that reviewer, through the payload's `response_url` (ephemeral). A failing webhook is noted
//! on standard error and never blocks anything.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::approval::protocol::{ApprovalRequest, Status};
use crate::approval::{code, hex, time};

use super::api::error;
use super::decide::{decide, Choice};
use super::App;

/// Largest accepted clock difference for a signed chat payload.
pub const WINDOW_SECS: i64 = 300;

/// The notification text for `request`.
pub fn text(author: &str, request: &ApprovalRequest, review_url: &str) -> String {
    let rows: i64 = request
        .counts
        .iter()
        .map(|c| c.inserted + c.updated + c.deleted)
        .sum();
    format!(
        "pgward: {author} asks for approval of {ticket} in {env} ({n} statement{s}, {rows} row{rs} changed, digest {d}): {review_url}",
        ticket = request.ticket,
        env = request.environment,
        n = request.statements.len(),
        s = if request.statements.len() == 1 { "" } else { "s" },
        rs = if rows == 1 { "" } else { "s" },
        d = &request.change_digest[..12.min(request.change_digest.len())],
    )
}

/// Posts the notification in the background; failures are noted, never block.
pub fn notify(app: &Arc<App>, author: &str, request: &ApprovalRequest, review_url: &str) {
    let Some(url) = app.webhook.clone() else {
        return;
    };
    let body = serde_json::json!({ "text": text(author, request, review_url) });
    let http = app.http.clone();
    tokio::spawn(async move {
        match http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => super::note(&format!(
                "chat webhook answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) => super::note(&format!("chat webhook failed: {e}")),
        }
    });
}

/// The signature Slack sends for `body` at `timestamp` under `secret`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(&mac.finalize().into_bytes()))
}

/// Whether `headers` carry a valid, fresh signature of `body` at Unix time `now`.
pub fn verify(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let ts = get("x-slack-request-timestamp").ok_or("missing X-Slack-Request-Timestamp")?;
    let sig = get("x-slack-signature").ok_or("missing X-Slack-Signature")?;
    let t: i64 = ts.parse().map_err(|_| "bad X-Slack-Request-Timestamp")?;
    if (now - t).abs() > WINDOW_SECS {
        return Err("stale request: timestamp outside the 5-minute window");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    let given = sig
        .strip_prefix("v0=")
        .and_then(hex::decode)
        .ok_or("bad X-Slack-Signature")?;
    // verify_slice compares in constant time.
    mac.verify_slice(&given).map_err(|_| "bad signature")
}

#[derive(Debug, Deserialize)]
struct Payload {
    user: User,
    actions: Vec<Action>,
    response_url: String,
    /// The message's input blocks (`state.values.{block}.{action}.value`): a reject
    /// takes its reason from the input whose action id is `reason`.
    #[serde(default)]
    state: Option<serde_json::Value>,
}

/// The text typed in the message's `reason` input, if any.
fn typed_reason(state: Option<&serde_json::Value>) -> Option<String> {
    state?
        .get("values")?
        .as_object()?
        .values()
        .find_map(|block| block.get("reason")?.get("value")?.as_str())
        .map(str::to_string)
}

#[derive(Debug, Deserialize)]
struct User {
    username: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct Form {
    payload: String,
}

/// `POST /chat/interactivity`: a Slack block action `approve`, or `reject` with the
/// reason typed in the message's `reason` input, whose value is a request id.
pub async fn interactivity(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &app.slack_secret else {
        return error(
            StatusCode::NOT_FOUND,
            "chat interactivity is not configured",
        );
    };
    if let Err(why) = verify(
        secret.expose().as_bytes(),
        &headers,
        &body,
        time::now_unix(),
    ) {
        return error(StatusCode::UNAUTHORIZED, why);
    }
    let payload = serde_urlencoded::from_bytes::<Form>(&body)
        .ok()
        .and_then(|f| serde_json::from_str::<Payload>(&f.payload).ok());
    let Some(payload) = payload else {
        return error(StatusCode::BAD_REQUEST, "not an interactivity payload");
    };
    let Some(action) = payload.actions.first() else {
        return error(StatusCode::BAD_REQUEST, "no action");
    };
    let choice = match action.action_id.as_str() {
        "approve" => Choice::Approve,
        // No reason typed is an empty one, which `decide` refuses like the page does.
        "reject" => Choice::Reject(typed_reason(payload.state.as_ref()).unwrap_or_default()),
        _ => return error(
            StatusCode::BAD_REQUEST,
            "unknown action: chat takes approve, and reject with a reason in the `reason` input",
        ),
    };
    let verb = match choice {
        Choice::Approve => "approved",
        Choice::Reject(_) => "rejected",
    };
    let known = app
        .store
        .client()
        .query_opt(
            &format!("SELECT 1 FROM {} WHERE name = $1", app.store.t("reviewers")),
            &[&payload.user.username],
        )
        .await;
    match known {
        Ok(Some(_)) => {}
        Ok(None) => {
            return error(
                StatusCode::FORBIDDEN,
                "this chat user is not a registered reviewer",
            )
        }
        Err(e) => {
            super::note(&e.to_string());
            return error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable");
        }
    }
    let text = match decide(&app, &action.value, &payload.user.username, choice, "chat").await {
        Ok(d) => match &d.status {
            Status::Rejected { reason, .. } => format!(
                "Rejected {} in {}: {reason}",
                d.request.ticket, d.request.environment
            ),
            _ => format!(
                "Approved {} in {}. Type this code at the author's screen: {}",
                d.request.ticket,
                d.request.environment,
                d.code().map(|c| code::display(&c)).unwrap_or_default()
            ),
        },
        Err(e) => format!("Not {verb}: {e}"),
    };
    let reply = serde_json::json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    });
    let http = app.http.clone();
    let url = payload.response_url;
    tokio::spawn(async move {
        if let Err(e) = http
            .post(&url)
            .header("content-type", "application/json")
            .body(reply.to_string())
            .send()
            .await
        {
            super::note(&format!("chat response_url failed: {e}"));
        }
    });
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        // Slack's documented example.
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = signature(secret, "1531420618", body);
        assert_eq!(
            sig,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", "1531420618".parse().unwrap());
        h.insert("x-slack-signature", sig.parse().unwrap());
        assert!(verify(secret, &h, body, 1531420618 + 10).is_ok());
        assert!(verify(secret, &h, body, 1531420618 + 301).is_err());
        assert!(verify(b"other", &h, body, 1531420618).is_err());
        assert!(verify(secret, &h, b"tampered", 1531420618).is_err());
    }

    #[test]
    fn the_reason_comes_from_the_reason_input() {
        let state = serde_json::json!({"values": {
            "b1": {"other": {"type": "plain_text_input", "value": "x"}},
            "b2": {"reason": {"type": "plain_text_input", "value": "wrong table"}},
        }});
        assert_eq!(typed_reason(Some(&state)).as_deref(), Some("wrong table"));
        let empty = serde_json::json!({"values": {"b1": {"reason": {"value": null}}}});
        assert_eq!(typed_reason(Some(&empty)), None);
        assert_eq!(typed_reason(None), None);
    }
}
