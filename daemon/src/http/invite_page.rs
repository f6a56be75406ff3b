//! The pages behind an invite link: look, accept, done.
//!
//! Every unusable link (unknown, used, expired, revoked, malformed, forged)
//! gets the same page and status, so the pages reveal nothing about which
//! links exist; the reason goes to the log. Requests are rate-limited per
//! client address.

use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::clock;
use crate::service::accept::{DeadLink, OpenInvite};

const CSRF_COOKIE: &str = "roster_csrf";

/// The accept form's fields.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    csrf: String,
}

/// `GET /invite/{token}`.
pub async fn show(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    match s.services.open_invite(&token).await {
        Ok(Ok(invite)) => {
            let csrf = new_csrf();
            let mut resp = Html(invite_page(&invite, &token, &csrf)).into_response();
            let cookie = format!("{CSRF_COOKIE}={csrf}; Path=/invite; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            no_store(resp)
        }
        Ok(Err(dead)) => dead_link(dead),
        Err(e) => failure(&e),
    }
}

/// `POST /invite/{token}`: accept.
pub async fn accept(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AcceptForm>, FormRejection>,
) -> Response {
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let cookie = csrf_cookie(&headers).unwrap_or_default();
    if presented.is_empty() || !bool::from(presented.as_bytes().ct_eq(cookie.as_bytes())) {
        return page(
            StatusCode::FORBIDDEN,
            "Please try again",
            "<p>This form could not be checked (it may have been open too long, or cookies are blocked). Open the invite link again and press Accept.</p>",
        );
    }
    match s.services.accept_invite(&token).await {
        Ok(Ok(invite)) => match &s.accept_redirect {
            Some(url) => no_store(Redirect::to(url).into_response()),
            None => no_store(page(
                StatusCode::OK,
                "You're in",
                &format!(
                    "<p>Welcome, {}. You are now an active member of <strong>{}</strong>.</p><p>You can close this page.</p>",
                    text(&invite.name),
                    text(&invite.workspace_name)
                ),
            )),
        },
        Ok(Err(dead)) => dead_link(dead),
        Err(e) => failure(&e),
    }
}

/// Rate limit for invite pages, keyed by client address.
pub async fn rate_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if s.invite_limiter.check_key(&ip).is_err() {
        let mut resp = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "<p>Too many requests from your address. Wait a minute and try again.</p>",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    next.run(req).await
}

/// `GET /`: an invitee who opens the public address itself (or cuts the
/// link short) reads what it is for, not an API's JSON error.
pub async fn home() -> Response {
    page(
        StatusCode::OK,
        "roster",
        "<p>This address serves the invitation links that roster sends by e-mail. \
         Open the link in your invitation, or ask your admin for a new one.</p>",
    )
}

fn dead_link(reason: DeadLink) -> Response {
    tracing::info!(?reason, "invite link refused");
    page(
        StatusCode::NOT_FOUND,
        "This link is no longer valid",
        "<p>This link is no longer valid — ask your admin for a new one.</p>",
    )
}

fn failure(e: &crate::error::ServiceError) -> Response {
    tracing::error!(error = %e, "invite page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>Something went wrong on our side. Please try again in a moment.</p>",
    )
}

fn invite_page(invite: &OpenInvite, token: &str, csrf: &str) -> String {
    let expires = clock::to_datetime(invite.expires_at);
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let body = format!(
        "<p>{inviter} invited <strong>{name}</strong> ({email}) to join the workspace <strong>{ws}</strong>.</p>\n\
         <form method=\"post\" action=\"/invite/{token}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <button type=\"submit\" id=\"accept\">Accept invitation</button>\n\
         </form>\n<p class=\"note\">This link works once and expires on {expires}.</p>",
        inviter = text(&invite.invited_by),
        name = text(&invite.name),
        email = text(&invite.email),
        ws = text(&invite.workspace_name),
        token = attr(token),
        csrf = attr(csrf),
        expires = expires.format(&fmt).unwrap_or_default(),
    );
    document(&format!("Join {}", invite.workspace_name), &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(document(title, body))).into_response()
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}\
         button{{font-size:1.1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#1f5fd6;color:#fff;cursor:pointer}}\
         button:focus{{outline:3px solid #f2b705;outline-offset:2px}}.note{{color:#555;font-size:.9rem}}\
         </style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = text(title),
    )
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn new_csrf() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == CSRF_COOKIE)
        .map(|(_, v)| v.to_string())
}
