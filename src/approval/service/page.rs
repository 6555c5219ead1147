//! The reviewer page: log in, see pending requests (ticket, author, environment,
//! statements, counts, diff excerpt, digest), Approve, or Reject with a reason; after
//! Approve the approval code in large type. No script at all; a strict
//! Content-Security-Policy; every value escaped ([`super::html::esc`]); a CSRF token on
//! every form; the session cookie HttpOnly, SameSite=Strict, and Secure on TLS.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::approval::protocol::{is_request_id, ApprovalRequest};
use crate::approval::{code, hex, time};

use super::auth::{self, LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECS};
use super::decide::{decide, Choice, DecideError};
use super::html::esc;
use super::App;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'none'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

const CSS: &str =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}\
pre{background:#f4f4f4;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
.req{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}\
.code{font-size:4em;font-family:monospace;letter-spacing:.1em;margin:.5em 0}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}\
td:first-child,th:first-child{text-align:left}.err{color:#b00}.muted{color:#666}\
form{display:inline-block;margin-right:1em}textarea{width:30em;height:3em}";

/// A reviewer's session.
struct Reviewer {
    name: String,
    csrf: String,
}

fn page(status: StatusCode, title: &str, body: &str, cookies: &[String]) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} · pgward approver</title><link rel=\"stylesheet\" href=\"/style.css\">\
         </head><body>{body}</body></html>",
        esc(title)
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn message(status: StatusCode, text: &str) -> Response {
    page(
        status,
        "pgward approver",
        &format!(
            "<h1>pgward approver</h1><p class=\"err\">{}</p><p><a href=\"/review\">Back to the pending requests</a></p>",
            esc(text)
        ),
        &[],
    )
}

fn store_down(e: impl std::fmt::Display) -> Response {
    super::note(&e.to_string());
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "The approval service cannot reach its store; try again shortly.",
    )
}

async fn reviewer(app: &App, headers: &HeaderMap) -> Result<Option<Reviewer>, Response> {
    let Some(id) = auth::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row = app
        .store
        .client()
        .query_opt(
            &format!(
                "SELECT reviewer, csrf FROM {} WHERE id_hash = $1 AND expires_unix > $2",
                app.store.t("sessions")
            ),
            &[&auth::hash_secret(id), &time::now_unix()],
        )
        .await
        .map_err(store_down)?;
    Ok(row.map(|r| Reviewer {
        name: r.get(0),
        csrf: r.get(1),
    }))
}

fn login_form(app: &App, status: StatusCode, note: Option<&str>) -> Response {
    let csrf = hex::random(16).unwrap_or_default();
    let cookie = auth::set_cookie(LOGIN_COOKIE, &csrf, 600, app.secure);
    let note = note
        .map(|n| format!("<p class=\"err\">{}</p>", esc(n)))
        .unwrap_or_default();
    page(
        status,
        "Log in",
        &format!(
            "<h1>pgward approver</h1>{note}<form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <p><label>Reviewer <input name=\"name\" id=\"name\" autocomplete=\"username\" required></label></p>\
             <p><label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label></p>\
             <p><button type=\"submit\" id=\"login\">Log in</button></p></form>"
        ),
        &[cookie],
    )
}

/// `GET /style.css`.
pub async fn style() -> Response {
    let mut resp = CSS.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    secure_headers(resp.headers_mut());
    resp
}

/// `GET /`.
pub async fn root() -> Redirect {
    Redirect::to("/review")
}

/// Anything else.
pub async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "No such page.")
}

/// `GET /review`: the pending requests.
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let me = match reviewer(&app, &headers).await {
        Ok(Some(me)) => me,
        Ok(None) => return login_form(&app, StatusCode::OK, None),
        Err(r) => return r,
    };
    let rows = app
        .store
        .client()
        .query(
            &format!(
                "SELECT request_id, author, body, expires_unix FROM {}
                 WHERE status = 'pending' AND expires_unix >= $1
                 ORDER BY created_unix LIMIT 200",
                app.store.t("requests")
            ),
            &[&time::now_unix()],
        )
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return store_down(e),
    };
    let mut body = header_bar(&me);
    body.push_str("<h1>Pending requests</h1>");
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">Nothing is waiting for review.</p>");
    }
    for r in &rows {
        let id: &str = r.get(0);
        let author: &str = r.get(1);
        let Ok(req) = serde_json::from_str::<ApprovalRequest>(r.get(2)) else {
            continue;
        };
        body.push_str(&card(&me, id, author, &req, "pending"));
    }
    page(StatusCode::OK, "Pending requests", &body, &[])
}

/// `GET /review/{id}`: one request, and its code once this reviewer approved it.
pub async fn one(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let me = match reviewer(&app, &headers).await {
        Ok(Some(me)) => me,
        Ok(None) => return login_form(&app, StatusCode::OK, None),
        Err(r) => return r,
    };
    if !is_request_id(&id) {
        return message(StatusCode::NOT_FOUND, "No such request.");
    }
    let row = app
        .store
        .client()
        .query_opt(
            &format!(
                "SELECT author, body, expires_unix, status, reviewer, reason, token FROM {}
                 WHERE request_id = $1",
                app.store.t("requests")
            ),
            &[&id],
        )
        .await;
    let row = match row {
        Ok(Some(r)) => r,
        Ok(None) => return message(StatusCode::NOT_FOUND, "No such request."),
        Err(e) => return store_down(e),
    };
    let author: &str = row.get(0);
    let Ok(req) = serde_json::from_str::<ApprovalRequest>(row.get(1)) else {
        return message(StatusCode::NOT_FOUND, "No such request.");
    };
    let expires: i64 = row.get(2);
    let status: &str = row.get(3);
    let decided_by: Option<&str> = row.get(4);
    let mut body = header_bar(&me);
    match (status, decided_by) {
        ("approved", Some(by)) if by == me.name => {
            let token: &str = row.get(6);
            let c = code::derive(token)
                .map(|c| code::display(&c))
                .unwrap_or_default();
            body.push_str(&format!(
                "<h1>Approved</h1><p>Type this code at the author's screen ({}):</p>\
                 <p class=\"code\" id=\"code\">{}</p>",
                esc(author),
                esc(&c)
            ));
        }
        ("approved", by) => {
            body.push_str(&format!("<h1>Approved by {}</h1>", esc(by.unwrap_or("?"))))
        }
        ("rejected", by) => {
            let reason: Option<&str> = row.get(5);
            body.push_str(&format!(
                "<h1>Rejected by {}</h1><p>{}</p>",
                esc(by.unwrap_or("?")),
                esc(reason.unwrap_or(""))
            ))
        }
        _ if time::now_unix() > expires => body.push_str("<h1>Expired</h1>"),
        _ => body.push_str("<h1>Pending</h1>"),
    }
    let state = if status == "pending" && time::now_unix() > expires {
        "expired"
    } else {
        status
    };
    body.push_str(&card(&me, &id, author, &req, state));
    page(StatusCode::OK, "Request", &body, &[])
}

fn header_bar(me: &Reviewer) -> String {
    format!(
        "<p class=\"muted\">Logged in as <b id=\"me\">{}</b> · <a href=\"/review\">pending</a> · \
         <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Log out</button></form></p>",
        esc(&me.name),
        esc(&me.csrf)
    )
}

fn card(me: &Reviewer, id: &str, author: &str, req: &ApprovalRequest, state: &str) -> String {
    let mut s = format!(
        "<div class=\"req\" id=\"req-{id}\"><h2>{ticket} · {env}</h2>\
         <p>Author <b class=\"author\">{author}</b> · database {db} · role {role} · server {server} · \
         transaction {txid} · expires {exp}</p><h3>Statements</h3>",
        id = esc(id),
        ticket = esc(&req.ticket),
        env = esc(&req.environment),
        author = esc(author),
        db = esc(&req.database),
        role = esc(&req.role),
        server = esc(&req.server),
        txid = esc(&req.txid),
        exp = esc(&req.expires_at),
    );
    for st in &req.statements {
        s.push_str(&format!("<pre class=\"stmt\">{}</pre>", esc(st)));
    }
    s.push_str("<h3>Rows changed</h3><table><tr><th>table</th><th>inserted</th><th>updated</th><th>deleted</th></tr>");
    for c in &req.counts {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.table),
            c.inserted,
            c.updated,
            c.deleted
        ));
    }
    s.push_str("</table>");
    let excerpt: String = req.preview_excerpt.chars().take(20_000).collect();
    s.push_str(&format!(
        "<h3>Preview</h3><pre class=\"preview\">{}</pre>\
         <p>Change digest <code class=\"digest\">{}</code><br>Log head <code>{}</code></p>",
        esc(&excerpt),
        esc(&req.change_digest),
        esc(&req.log_head)
    ));
    if state == "pending" {
        if crate::approval::verify::same_person(author, &me.name) {
            s.push_str(
                "<p class=\"muted\">You wrote this change: a second person must approve it.</p>",
            );
        } else {
            s.push_str(&format!(
                "<form method=\"post\" action=\"/review/{id}/approve\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"approve\" id=\"approve-{id}\">Approve</button></form>\
                 <form method=\"post\" action=\"/review/{id}/reject\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <textarea name=\"reason\" required placeholder=\"Why (required)\"></textarea> \
                 <button type=\"submit\" class=\"reject\">Reject</button></form>",
                id = esc(id),
                csrf = esc(&me.csrf)
            ));
        }
    }
    s.push_str("</div>");
    s
}

/// The fields of the login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

/// `POST /login`.
pub async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::same_token(expected, &form.csrf) {
        return login_form(
            &app,
            StatusCode::FORBIDDEN,
            Some("The form expired; log in again."),
        );
    }
    let row = app
        .store
        .client()
        .query_opt(
            &format!(
                "SELECT password_hash FROM {} WHERE name = $1",
                app.store.t("reviewers")
            ),
            &[&form.name],
        )
        .await;
    let hash: Option<String> = match row {
        Ok(r) => r.map(|r| r.get(0)),
        Err(e) => return store_down(e),
    };
    // Unknown names cost an argon2 check too, so timing does not tell who exists.
    let hash = hash.unwrap_or_else(|| {
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
    });
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::check_password(&hash, &password))
        .await
        .unwrap_or(false);
    if !ok {
        return login_form(
            &app,
            StatusCode::UNAUTHORIZED,
            Some("Unknown reviewer or wrong password."),
        );
    }
    let (Ok(id), Ok(csrf)) = (hex::random(32), hex::random(32)) else {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No randomness; try again.",
        );
    };
    let now = time::now_unix();
    let inserted = app
        .store
        .client()
        .execute(
            &format!(
                "INSERT INTO {} (id_hash, reviewer, csrf, expires_unix) VALUES ($1, $2, $3, $4)",
                app.store.t("sessions")
            ),
            &[
                &auth::hash_secret(&id),
                &form.name,
                &csrf,
                &(now + SESSION_SECS),
            ],
        )
        .await;
    if let Err(e) = inserted {
        return store_down(e);
    }
    let _ = app
        .store
        .client()
        .execute(
            &format!(
                "DELETE FROM {} WHERE expires_unix < $1",
                app.store.t("sessions")
            ),
            &[&now],
        )
        .await;
    let mut resp = Redirect::to("/review").into_response();
    for c in [
        auth::set_cookie(SESSION_COOKIE, &id, SESSION_SECS, app.secure),
        auth::set_cookie(LOGIN_COOKIE, "", 0, app.secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A form that carries only its CSRF token (and maybe a reason).
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn checked(app: &App, headers: &HeaderMap, csrf: &str) -> Result<Reviewer, Response> {
    match reviewer(app, headers).await? {
        Some(me) if auth::same_token(&me.csrf, csrf) => Ok(me),
        Some(_) => Err(message(
            StatusCode::FORBIDDEN,
            "The form's security token does not match; reload the page and try again.",
        )),
        None => Err(login_form(
            app,
            StatusCode::UNAUTHORIZED,
            Some("Log in first."),
        )),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if checked(&app, &headers, &form.csrf).await.is_ok() {
        if let Some(id) = auth::cookie(&headers, SESSION_COOKIE) {
            let _ = app
                .store
                .client()
                .execute(
                    &format!("DELETE FROM {} WHERE id_hash = $1", app.store.t("sessions")),
                    &[&auth::hash_secret(id)],
                )
                .await;
        }
    }
    let mut resp = Redirect::to("/review").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(SESSION_COOKIE, "", 0, app.secure)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

async fn act(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    form: &ActionForm,
    choice: Choice,
) -> Response {
    let me = match checked(app, headers, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    if !is_request_id(id) {
        return message(StatusCode::NOT_FOUND, "No such request.");
    }
    match decide(app, id, &me.name, choice, "page").await {
        Ok(_) => Redirect::to(&format!("/review/{id}")).into_response(),
        Err(DecideError::Store(e)) => store_down(e),
        Err(e @ DecideError::NotFound) => message(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ DecideError::NoReason) => message(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => message(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// `POST /review/{id}/approve`.
pub async fn approve(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    act(&app, &headers, &id, &form, Choice::Approve).await
}

/// `POST /review/{id}/reject`.
pub async fn reject(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let reason = form.reason.clone();
    act(&app, &headers, &id, &form, Choice::Reject(reason)).await
}
