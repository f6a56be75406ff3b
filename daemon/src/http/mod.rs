//! HTTP surfaces: the admin API (socket and TCP), the invite pages, health.

pub mod admin;
pub mod error;
pub mod events;
pub mod extract;
pub mod invite_page;
pub mod scim;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::service::Services;
use crate::store::records::TokenKind;
use error::HttpError;
use extract::Transport;

/// What every handler can reach; cloned for every request by the state
/// extractors and middleware, so it is one shared allocation.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct AppStateInner {
    pub services: Services,
    pub accept_redirect: Option<String>,
    pub invite_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub max_body_bytes: usize,
    /// Turns true at shutdown, so that event streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// SCIM limits and the in-flight budget behind 429s.
    pub scim: scim::ScimLimits,
    /// The CSV importer (uploads); `None` where no drop folder runs.
    pub importer: Option<crate::importer::Importer>,
}

impl AppState {
    /// State for the routers.
    pub fn new(
        services: Services,
        accept_redirect: Option<String>,
        invites_per_minute: u32,
        max_body_bytes: usize,
        shutdown: tokio::sync::watch::Receiver<bool>,
        scim: crate::config::ScimConfig,
        importer: Option<crate::importer::Importer>,
    ) -> Self {
        let per_minute = NonZeroU32::new(invites_per_minute).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(AppStateInner {
            services,
            accept_redirect,
            invite_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            max_body_bytes,
            shutdown,
            scim: scim::ScimLimits::new(scim),
            importer,
        }))
    }
}

/// The router of the Unix socket: the admin API, no token needed (the
/// socket's 0600 mode is the authentication).
pub fn socket_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest(
            "/api/v1",
            admin::routes().layer(axum::Extension(Transport::Socket)),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
}

/// The router of the TCP listener: invite pages, health, and the admin
/// API behind an admin bearer token.
pub fn tcp_router(state: AppState) -> Router {
    let admin = admin::routes().layer(middleware::from_fn_with_state(
        state.clone(),
        require_admin_token,
    ));
    let invites = Router::new()
        .route(
            "/invite/{token}",
            get(invite_page::show).post(invite_page::accept),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            invite_page::rate_limit,
        ));
    Router::new()
        .route("/", get(invite_page::home))
        .route("/healthz", get(healthz))
        .nest("/api/v1", admin)
        .nest("/scim/v2", scim::routes(state.clone()))
        .merge(invites)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn require_admin_token(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = bearer_token(req.headers());
    if presented.is_empty() {
        return unauthorized(
            "the admin API over TCP needs an admin token: send Authorization: Bearer <token> (create one with `roster admin-token create`)",
        );
    }
    match s.services.authenticate(TokenKind::Admin, &presented).await {
        Ok(Some(owner)) => {
            req.extensions_mut().insert(Transport::Token(owner.name));
            next.run(req).await
        }
        Ok(None) => {
            unauthorized("the admin token is not valid (wrong, revoked, or not an admin token)")
        }
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// The secret of an `Authorization: Bearer …` header (scheme in any case);
/// empty when there is none. Both token-guarded surfaces read it here.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        })
        .unwrap_or_default()
}

fn unauthorized(message: &str) -> Response {
    let mut resp =
        HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    resp
}
