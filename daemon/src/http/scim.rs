//! The SCIM 2.0 surface (`/scim/v2`): bearer-token auth that selects the
//! workspace, RFC 7644 request parsing, and the one place a failure becomes
//! a SCIM Error response. Every answer is `application/scim+json`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use roster_shared::api::Source;
use roster_shared::scim::schema::{self, ResourceKind, ServerLimits};
use roster_shared::scim::{
    CONTENT_TYPE, FilterLimits, LIST_RESPONSE, Projection, ScimError, ScimFilter, ScimType,
    parse_patch,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::AppState;
use crate::config::ScimConfig;
use crate::error::ServiceError;
use crate::service::Actor;
use crate::service::scim::{ScimPage, ScimQuery, ScimScope};
use crate::store::records::TokenKind;

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
            read_only(get(service_provider_config)),
        )
        .route("/ResourceTypes", read_only(get(resource_types)))
        .route("/ResourceTypes/{id}", read_only(get(resource_type)))
        .route("/Schemas", read_only(get(schemas)))
        .route("/Schemas/{id}", read_only(get(schema_by_id)))
        .route(
            "/Users",
            get(users_list)
                .post(users_create)
                .fallback(method_not_allowed),
        )
        .route(
            "/Users/.search",
            post(users_search).fallback(method_not_allowed),
        )
        .route(
            "/Users/{id}",
            get(user_get)
                .put(user_replace)
                .patch(user_patch)
                .delete(user_delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups",
            get(groups_list)
                .post(groups_create)
                .fallback(method_not_allowed),
        )
        .route(
            "/Groups/.search",
            post(groups_search).fallback(method_not_allowed),
        )
        .route(
            "/Groups/{id}",
            get(group_get)
                .put(group_replace)
                .patch(group_patch)
                .delete(group_delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/.search",
            post(search_all_types).fallback(method_not_allowed),
        )
        .fallback(no_such_endpoint)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_scim_token,
        ))
        .layer(middleware::from_fn_with_state(state, limit_in_flight))
}

fn read_only(r: MethodRouter<AppState>) -> MethodRouter<AppState> {
    r.fallback(method_not_allowed)
}

/// A SCIM failure as a response.
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
            ServiceError::Conflict(_) | ServiceError::LastAdmin(_) => {
                ScimError::new(409, None, msg)
            }
            ServiceError::Unauthorized(_) => ScimError::new(401, None, msg),
            ServiceError::PreconditionFailed(_) => ScimError::new(412, None, msg),
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
        let mut resp = scim_json(self.status, &self.body);
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

async fn limit_in_flight(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = s.scim.in_flight.clone().try_acquire_owned() else {
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
    next.run(req).await
}

async fn require_scim_token(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = bearer(req.headers());
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
            let Some(ws) = owner.workspace else {
                return refuse("the SCIM token's workspace no longer exists");
            };
            req.extensions_mut().insert(ScimScope {
                workspace: ws.slug,
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

fn bearer(headers: &HeaderMap) -> String {
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

fn server_limits(s: &AppState) -> ServerLimits {
    ServerLimits {
        max_body_bytes: s.max_body_bytes,
        max_results: s.scim.config.max_results,
        max_operations: s.scim.config.max_operations,
        max_filter_chars: s.scim.config.max_filter_chars,
    }
}

async fn service_provider_config(State(s): State<AppState>) -> ScimResult {
    ok(schema::service_provider_config(
        server_limits(&s),
        &s.services.scim_base(),
    ))
}

fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn resource_types(State(s): State<AppState>) -> ScimResult {
    let base = s.services.scim_base();
    ok(list_of(
        [ResourceKind::User, ResourceKind::Group]
            .iter()
            .map(|k| k.resource_type_json(&base))
            .collect(),
    ))
}

async fn resource_type(State(s): State<AppState>, Path(id): Path<String>) -> ScimResult {
    let base = s.services.scim_base();
    [ResourceKind::User, ResourceKind::Group]
        .iter()
        .find(|k| k.name().eq_ignore_ascii_case(&id))
        .map(|k| k.resource_type_json(&base))
        .map_or_else(
            || {
                Err(ScimFailure(ScimError::not_found(format!(
                    "no resource type {id}"
                ))))
            },
            ok,
        )
}

async fn schemas(State(s): State<AppState>) -> ScimResult {
    let base = s.services.scim_base();
    ok(list_of(
        schema::ALL.iter().map(|d| d.to_json(&base)).collect(),
    ))
}

async fn schema_by_id(State(s): State<AppState>, Path(id): Path<String>) -> ScimResult {
    let base = s.services.scim_base();
    schema::ALL
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(&id))
        .map(|d| d.to_json(&base))
        .map_or_else(
            || Err(ScimFailure(ScimError::not_found(format!("no schema {id}")))),
            ok,
        )
}

/// Reads a JSON body: `application/json` or `application/scim+json` (any
/// parameters), too large → 413, malformed → 400 invalidSyntax.
fn body_json(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, ScimFailure> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let media = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && media != CONTENT_TYPE {
            return Err(ScimFailure(ScimError::new(
                415,
                None,
                format!(
                    "Content-Type {ct} is not supported; send application/scim+json or application/json"
                ),
            )));
        }
    }
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimFailure(ScimError::new(413, Some(ScimType::TooMany), "the request body is larger than the limit in ServiceProviderConfig (http.max_body_bytes)"))
        } else {
            ScimFailure(ScimError::bad(ScimType::InvalidSyntax, format!("the request body could not be read: {r}")))
        }
    })?;
    serde_json::from_slice::<Value>(&bytes).map_err(|e| {
        ScimFailure(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("the request body is not valid JSON: {e}"),
        ))
    })
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Builds a query from GET parameters or a `.search` body (same names).
fn query_from(
    s: &AppState,
    params: &HashMap<String, Value>,
    kind: ResourceKind,
) -> Result<ScimQuery, ScimFailure> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    let text = |name: &str| -> Result<Option<String>, ScimFailure> {
        match get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(other) => Err(ScimFailure(ScimError::invalid_value(format!(
                "{name} must be a string, not {other}"
            )))),
        }
    };
    let int = |name: &str| -> Result<Option<i64>, ScimFailure> {
        match get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                ScimFailure(ScimError::invalid_value(format!(
                    "{name} must be an integer, not {n}"
                )))
            }),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                ScimFailure(ScimError::invalid_value(format!(
                    "{name} must be an integer, not {s:?}"
                )))
            }),
            Some(other) => Err(ScimFailure(ScimError::invalid_value(format!(
                "{name} must be an integer, not {other}"
            )))),
        }
    };
    let filter_text = text("filter")?.filter(|f| !f.trim().is_empty());
    let filter = match &filter_text {
        Some(f) => Some(ScimFilter::parse(
            f,
            FilterLimits {
                max_chars: s.scim.config.max_filter_chars,
            },
        )?),
        None => None,
    };
    let descending = match text("sortOrder")?
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(other) => {
            return Err(ScimFailure(ScimError::invalid_value(format!(
                "sortOrder {other:?} is not ascending or descending"
            ))));
        }
    };
    let start_index = int("startIndex")?.unwrap_or(1).max(1) as usize;
    let count = int("count")?
        .unwrap_or(s.scim.config.max_results as i64)
        .clamp(0, s.scim.config.max_results as i64) as usize;
    let _ = kind;
    Ok(ScimQuery {
        filter_needs_members: filter_text
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().contains("members")),
        filter,
        sort_by: text("sortBy")?.filter(|x| !x.trim().is_empty()),
        descending,
        start_index,
        count,
        projection: Projection::new(
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        ),
    })
}

fn params_of(q: HashMap<String, String>) -> HashMap<String, Value> {
    q.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

fn search_params(body: Value) -> Result<HashMap<String, Value>, ScimFailure> {
    match body {
        Value::Object(o) => Ok(o.into_iter().collect()),
        _ => Err(ScimFailure(ScimError::bad(
            ScimType::InvalidSyntax,
            "a .search body must be a JSON object",
        ))),
    }
}

fn list_response(p: ScimPage) -> ScimResult {
    ok(json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": p.total,
        "startIndex": p.start_index,
        "itemsPerPage": p.resources.len(),
        "Resources": p.resources,
    }))
}

/// One resource answer, projected by `attributes`/`excludedAttributes`.
fn resource(
    status: StatusCode,
    mut doc: Value,
    kind: ResourceKind,
    projection: &Projection,
) -> ScimResult {
    let meta = |key: &str| {
        doc.get("meta")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (etag, location) = (meta("version"), meta("location"));
    projection.apply(&mut doc, kind);
    Ok(ScimOk {
        status,
        body: doc,
        etag,
        location,
    })
}

type Scope = axum::Extension<ScimScope>;
type Params = Query<HashMap<String, String>>;

fn projection_of(q: &HashMap<String, String>) -> Projection {
    let get = |n: &str| {
        q.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    Projection::new(get("attributes"), get("excludedAttributes"))
}

async fn users_list(State(s): State<AppState>, scope: Scope, Query(q): Params) -> ScimResult {
    let query = query_from(&s, &params_of(q), ResourceKind::User)?;
    list_response(s.services.scim_list_users(&scope, query).await?)
}

async fn users_search(
    State(s): State<AppState>,
    scope: Scope,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let params = search_params(body_json(&headers, body)?)?;
    let query = query_from(&s, &params, ResourceKind::User)?;
    list_response(s.services.scim_list_users(&scope, query).await?)
}

async fn users_create(
    State(s): State<AppState>,
    scope: Scope,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let doc = s
        .services
        .scim_create_user(&scope, body_json(&headers, body)?)
        .await?;
    resource(
        StatusCode::CREATED,
        doc,
        ResourceKind::User,
        &projection_of(&q),
    )
}

async fn user_get(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
) -> ScimResult {
    let doc = s.services.scim_get_user(&scope, &id).await?;
    resource(StatusCode::OK, doc, ResourceKind::User, &projection_of(&q))
}

async fn user_replace(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let doc = s
        .services
        .scim_replace_user(&scope, &id, body, if_match(&headers))
        .await?;
    resource(StatusCode::OK, doc, ResourceKind::User, &projection_of(&q))
}

async fn user_patch(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let ops = parse_patch(&body_json(&headers, body)?, s.scim.config.max_operations)?;
    let doc = s
        .services
        .scim_patch_user(&scope, &id, ops, if_match(&headers))
        .await?;
    resource(StatusCode::OK, doc, ResourceKind::User, &projection_of(&q))
}

async fn user_delete(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ScimFailure> {
    s.services
        .scim_delete_user(&scope, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn groups_list(State(s): State<AppState>, scope: Scope, Query(q): Params) -> ScimResult {
    let query = query_from(&s, &params_of(q), ResourceKind::Group)?;
    list_response(s.services.scim_list_groups(&scope, query).await?)
}

async fn groups_search(
    State(s): State<AppState>,
    scope: Scope,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let params = search_params(body_json(&headers, body)?)?;
    let query = query_from(&s, &params, ResourceKind::Group)?;
    list_response(s.services.scim_list_groups(&scope, query).await?)
}

async fn groups_create(
    State(s): State<AppState>,
    scope: Scope,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let doc = s
        .services
        .scim_create_group(&scope, body_json(&headers, body)?)
        .await?;
    resource(
        StatusCode::CREATED,
        doc,
        ResourceKind::Group,
        &projection_of(&q),
    )
}

async fn group_get(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
) -> ScimResult {
    let projection = projection_of(&q);
    let doc = s
        .services
        .scim_get_group(&scope, &id, projection.wants("members"))
        .await?;
    resource(StatusCode::OK, doc, ResourceKind::Group, &projection)
}

async fn group_replace(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let doc = s
        .services
        .scim_replace_group(&scope, &id, body, if_match(&headers))
        .await?;
    resource(StatusCode::OK, doc, ResourceKind::Group, &projection_of(&q))
}

async fn group_patch(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let ops = parse_patch(&body_json(&headers, body)?, s.scim.config.max_operations)?;
    let doc = s
        .services
        .scim_patch_group(&scope, &id, ops, if_match(&headers))
        .await?;
    resource(StatusCode::OK, doc, ResourceKind::Group, &projection_of(&q))
}

async fn group_delete(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ScimFailure> {
    s.services
        .scim_delete_group(&scope, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
