//! The SCIM 2.0 surface (`/scim/v2`): bearer-token auth that selects the
//! workspace, RFC 7644 request parsing, and the one place a failure becomes
//! a SCIM Error response. Every answer is `application/scim+json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use roster_shared::api::Source;
use roster_shared::scim::{CONTENT_TYPE, ScimError};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::AppState;
use crate::config::ScimConfig;
use crate::error::ServiceError;
use crate::service::Actor;
use crate::service::scim::ScimScope;
use crate::store::records::TokenKind;

mod discovery;
mod extract;
mod resources;

/// Limits and the in-flight budget of the SCIM surface.
#[derive(Clone)]
pub struct ScimLimits {
    pub config: ScimConfig,
    in_flight: Arc<Semaphore>,
}

impl ScimLimits {
    /// Limits from the configuration.
    pub fn new(config: ScimConfig) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            config,
        }
    }
}

/// The `/scim/v2` router, behind the SCIM-token and overload layers.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            read_only(get(discovery::service_provider_config)),
        )
        .route("/ResourceTypes", read_only(get(discovery::resource_types)))
        .route(
            "/ResourceTypes/{id}",
            read_only(get(discovery::resource_type)),
        )
        .route("/Schemas", read_only(get(discovery::schemas)))
        .route("/Schemas/{id}", read_only(get(discovery::schema_by_id)))
        .route(
            "/Users",
            get(resources::users_list)
                .post(resources::users_create)
                .fallback(method_not_allowed),
        )
        .route(
            "/Users/.search",
            post(resources::users_search).fallback(method_not_allowed),
        )
        .route(
            "/Users/{id}",
            get(resources::user_get)
                .put(resources::user_replace)
                .patch(resources::user_patch)
                .delete(resources::user_delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups",
            get(resources::groups_list)
                .post(resources::groups_create)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups/.search",
            post(resources::groups_search).fallback(method_not_allowed),
        )
        .route(
            "/Groups/{id}",
            get(resources::group_get)
                .put(resources::group_replace)
                .patch(resources::group_patch)
                .delete(resources::group_delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/.search",
            post(search_all_types).fallback(method_not_allowed),
        )
        .fallback(no_such_endpoint)
        .layer(middleware::from_fn_with_state(state, admit))
}

fn read_only(r: MethodRouter<AppState>) -> MethodRouter<AppState> {
    r.fallback(method_not_allowed)
}

/// A SCIM failure as a response.
#[derive(Debug)]
pub struct ScimFailure(ScimError);

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        Self(e)
    }
}

impl From<ServiceError> for ScimFailure {
    fn from(e: ServiceError) -> Self {
        let msg = e.to_string();
        Self(match e {
            ServiceError::Scim(s) => s,
            ServiceError::Invalid(_) | ServiceError::BadRequest(_) => ScimError::invalid_value(msg),
            ServiceError::NotFound(_) => ScimError::not_found(msg),
            ServiceError::Taken(_) => ScimError::uniqueness(msg),
            ServiceError::Conflict(_) | ServiceError::LastAdmin(_) => {
                ScimError::new(409, None, msg)
            }
            ServiceError::Unauthorized(_) => ScimError::new(401, None, msg),
            ServiceError::PreconditionFailed(_) => ScimError::new(412, None, msg),
            ServiceError::TooLarge(_) => ScimError::new(413, None, msg),
            ServiceError::Storage(detail) => {
                tracing::error!(error = %detail, "SCIM request failed inside rosterd");
                ScimError::new(
                    500,
                    None,
                    "rosterd could not complete the request; its log has the details",
                )
            }
        })
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        scim_json(status, &self.0.to_json())
    }
}

/// A successful SCIM answer, with `ETag` (and `Location` for a creation)
/// taken from the resource's `meta` before any projection.
struct ScimOk {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    location: Option<String>,
}

impl IntoResponse for ScimOk {
    fn into_response(self) -> Response {
        let mut resp = if self.status == StatusCode::NO_CONTENT {
            self.status.into_response()
        } else {
            scim_json(self.status, &self.body)
        };
        if let Some(h) = self.etag.and_then(|v| HeaderValue::from_str(&v).ok()) {
            resp.headers_mut().insert(header::ETAG, h);
        }
        if self.status == StatusCode::CREATED
            && let Some(h) = self.location.and_then(|v| HeaderValue::from_str(&v).ok())
        {
            resp.headers_mut().insert(header::LOCATION, h);
        }
        resp
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        bytes,
    )
        .into_response()
}

type ScimResult = Result<ScimOk, ScimFailure>;

fn ok(body: Value) -> ScimResult {
    Ok(ScimOk {
        status: StatusCode::OK,
        body,
        etag: None,
        location: None,
    })
}

/// The one middleware of every SCIM request (one layer, because each layer
/// costs a boxed future per request): the overload check, then the token.
async fn admit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = s.scim.in_flight.try_acquire() else {
        let mut resp = ScimFailure(ScimError::new(
            429,
            None,
            format!(
                "rosterd is handling {} SCIM requests already; retry after a second",
                s.scim.config.max_in_flight
            ),
        ))
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    };
    require_scim_token(&s, req, next).await
}

async fn require_scim_token(s: &AppState, mut req: Request, next: Next) -> Response {
    let presented = super::bearer_token(req.headers());
    let refuse = |detail: &str| {
        let mut resp = ScimFailure(ScimError::new(401, None, detail)).into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"roster SCIM\""),
        );
        resp
    };
    if presented.is_empty() {
        return refuse(
            "SCIM needs a bearer token: send Authorization: Bearer <token> (create one with `roster scim-token create`)",
        );
    }
    match s.services.authenticate(TokenKind::Scim, &presented).await {
        Ok(Some(owner)) => {
            let Some((workspace_id, workspace)) = owner.workspace else {
                return refuse("the SCIM token's workspace no longer exists");
            };
            req.extensions_mut().insert(ScimScope {
                workspace,
                workspace_id,
                actor: Actor {
                    name: owner.name,
                    source: Source::Scim,
                },
            });
            next.run(req).await
        }
        Ok(None) => refuse("the SCIM token is not valid (wrong, revoked, or not a SCIM token)"),
        Err(e) => ScimFailure::from(e).into_response(),
    }
}

async fn method_not_allowed(method: Method) -> ScimFailure {
    ScimFailure(ScimError::new(
        405,
        None,
        format!("{method} is not supported on this endpoint"),
    ))
}

/// RFC 7644 §3.4.3 lets a server decline searching every type at once.
async fn search_all_types() -> ScimFailure {
    ScimFailure(ScimError::new(
        501,
        None,
        "searching every resource type at once is not supported; use /Users/.search or /Groups/.search",
    ))
}

async fn no_such_endpoint() -> ScimFailure {
    ScimFailure(ScimError::not_found(
        "no such SCIM endpoint; roster serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas",
    ))
}
