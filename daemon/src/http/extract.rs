//! Extractors whose rejections speak the admin API's error shape.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use roster_shared::api::{ACTOR_HEADER, SOURCE_HEADER, Source};

use super::error::HttpError;
use crate::service::Actor;

/// JSON body; malformed or oversized input is a precise `400`/`413`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(HttpError))]
pub struct ApiJson<T>(pub T);

/// Query string; unknown or mistyped parameters are a precise `400`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(HttpError))]
pub struct ApiQuery<T>(pub T);

/// How the caller reached the admin API, set by the listener's auth layer.
#[derive(Debug, Clone)]
pub enum Transport {
    /// The Unix socket: file permissions authenticated the caller.
    Socket,
    /// TCP with a valid admin token of this name.
    Token(String),
}

/// The caller as the audit log records it.
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let transport = parts
            .extensions
            .get::<Transport>()
            .cloned()
            .unwrap_or(Transport::Socket);
        Ok(Caller(actor(transport, &parts.headers)))
    }
}

fn actor(transport: Transport, headers: &HeaderMap) -> Actor {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let source = header(SOURCE_HEADER).and_then(Source::parse_client);
    match transport {
        Transport::Socket => Actor {
            name: header(ACTOR_HEADER)
                .map(|a| a.chars().take(100).collect())
                .unwrap_or_else(|| "local admin".into()),
            source: source.unwrap_or(Source::Cli),
        },
        Transport::Token(name) => Actor {
            name: format!("token:{name}"),
            source: source.unwrap_or(Source::Api),
        },
    }
}
