//! Discovery (RFC 7644 §4): what the server supports, read from the
//! schema tables in `roster_shared::scim::schema`.

use axum::extract::{Path, State};
use roster_shared::scim::ScimError;
use roster_shared::scim::schema::{self, ResourceKind, ServerLimits};
use serde_json::Value;

use super::{ScimFailure, ScimResult, ok, resources};
use crate::http::AppState;
use crate::service::scim::ScimPage;

fn server_limits(s: &AppState) -> ServerLimits {
    ServerLimits {
        max_body_bytes: s.max_body_bytes,
        max_results: s.scim.config.max_results,
        max_operations: s.scim.config.max_operations,
        max_filter_chars: s.scim.config.max_filter_chars,
    }
}

pub async fn service_provider_config(State(s): State<AppState>) -> ScimResult {
    ok(schema::service_provider_config(
        server_limits(&s),
        &s.services.scim_base(),
    ))
}

/// A discovery list: everything on one page.
fn list_of(resources: Vec<Value>) -> ScimResult {
    resources::list_response(ScimPage {
        total: resources.len(),
        start_index: 1,
        resources,
    })
}

pub async fn resource_types(State(s): State<AppState>) -> ScimResult {
    let base = s.services.scim_base();
    list_of(
        [ResourceKind::User, ResourceKind::Group]
            .iter()
            .map(|k| k.resource_type_json(&base))
            .collect(),
    )
}

pub async fn resource_type(State(s): State<AppState>, Path(id): Path<String>) -> ScimResult {
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

pub async fn schemas(State(s): State<AppState>) -> ScimResult {
    let base = s.services.scim_base();
    list_of(schema::ALL.iter().map(|d| d.to_json(&base)).collect())
}

pub async fn schema_by_id(State(s): State<AppState>, Path(id): Path<String>) -> ScimResult {
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
