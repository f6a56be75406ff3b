//! Handlers of `/Users` and `/Groups`: parse, call one service, answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster_shared::scim::schema::ResourceKind;
use roster_shared::scim::{LIST_RESPONSE, Projection, parse_patch};
use serde_json::{Value, json};

use super::extract::{IfMatch, ScimBody, ScimParams};
use super::{ScimFailure, ScimOk, ScimResult, ok};
use crate::http::AppState;
use crate::service::scim::groups::{GroupAnswer, MembersInAnswer};
use crate::service::scim::{ScimPage, ScimScope};

type Scope = axum::Extension<ScimScope>;

/// A list answer (RFC 7644 §3.4.2). The resources move in as they are
/// (`json!` would copy every document once more).
pub fn list_response(p: ScimPage) -> ScimResult {
    let mut body = serde_json::Map::with_capacity(5);
    body.insert("schemas".into(), json!([LIST_RESPONSE]));
    body.insert("totalResults".into(), p.total.into());
    body.insert("startIndex".into(), p.start_index.into());
    body.insert("itemsPerPage".into(), p.resources.len().into());
    body.insert("Resources".into(), Value::Array(p.resources));
    ok(Value::Object(body))
}

/// One resource answer, projected; `ETag` and `Location` come from its
/// `meta` even when the projection leaves `meta` out.
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

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;

pub async fn users_list(State(s): State<AppState>, scope: Scope, p: ScimParams) -> ScimResult {
    list_response(
        s.services
            .scim_list_users(&scope, p.query(&s.scim.config, USER)?)
            .await?,
    )
}

pub async fn users_search(
    State(s): State<AppState>,
    scope: Scope,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let q = ScimParams::from_search(b)?.query(&s.scim.config, USER)?;
    list_response(s.services.scim_list_users(&scope, q).await?)
}

pub async fn users_create(
    State(s): State<AppState>,
    scope: Scope,
    p: ScimParams,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let doc = s.services.scim_create_user(&scope, b).await?;
    resource(StatusCode::CREATED, doc, USER, &p.projection()?)
}

pub async fn user_get(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
) -> ScimResult {
    let doc = s.services.scim_get_user(&scope, &id).await?;
    resource(StatusCode::OK, doc, USER, &p.projection()?)
}

pub async fn user_replace(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
    IfMatch(version): IfMatch,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let doc = s
        .services
        .scim_replace_user(&scope, &id, b, version)
        .await?;
    resource(StatusCode::OK, doc, USER, &p.projection()?)
}

pub async fn user_patch(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
    IfMatch(version): IfMatch,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let ops = parse_patch(&b, s.scim.config.max_operations)?;
    let doc = s
        .services
        .scim_patch_user(&scope, &id, ops, version)
        .await?;
    resource(StatusCode::OK, doc, USER, &p.projection()?)
}

pub async fn user_delete(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ScimFailure> {
    s.services.scim_delete_user(&scope, &id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn groups_list(State(s): State<AppState>, scope: Scope, p: ScimParams) -> ScimResult {
    list_response(
        s.services
            .scim_list_groups(
                &scope,
                p.query(&s.scim.config, GROUP)?,
                s.scim.config.large_group_members,
            )
            .await?,
    )
}

pub async fn groups_search(
    State(s): State<AppState>,
    scope: Scope,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let q = ScimParams::from_search(b)?.query(&s.scim.config, GROUP)?;
    list_response(
        s.services
            .scim_list_groups(&scope, q, s.scim.config.large_group_members)
            .await?,
    )
}

pub async fn groups_create(
    State(s): State<AppState>,
    scope: Scope,
    p: ScimParams,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let doc = s.services.scim_create_group(&scope, b).await?;
    resource(StatusCode::CREATED, doc, GROUP, &p.projection()?)
}

pub async fn group_get(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
) -> ScimResult {
    let projection = p.projection()?;
    let doc = s
        .services
        .scim_get_group(&scope, &id, projection.wants("members"))
        .await?;
    resource(StatusCode::OK, doc, GROUP, &projection)
}

pub async fn group_replace(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
    IfMatch(version): IfMatch,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let projection = p.projection()?;
    // A PUT answers with the entire resource (RFC 7644 §3.5.1).
    let answer = members_in_answer(&projection, usize::MAX);
    let written = s
        .services
        .scim_replace_group(&scope, &id, b, version, answer)
        .await?;
    group_written(written, &projection)
}

pub async fn group_patch(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: ScimParams,
    IfMatch(version): IfMatch,
    ScimBody(b): ScimBody,
) -> ScimResult {
    let ops = parse_patch(&b, s.scim.config.max_operations)?;
    let projection = p.projection()?;
    let answer = members_in_answer(&projection, s.scim.config.large_group_members);
    let written = s
        .services
        .scim_patch_group(&scope, &id, ops, version, answer)
        .await?;
    group_written(written, &projection)
}

/// Whether a Group write's answer lists the members: as the request's
/// attributes say, or, when it names none, for groups of up to `most`.
fn members_in_answer(projection: &Projection, most: usize) -> MembersInAnswer {
    match (projection.is_chosen(), projection.wants("members")) {
        (true, true) => MembersInAnswer::Asked,
        (true, false) => MembersInAnswer::Not,
        (false, _) => MembersInAnswer::UpTo(most),
    }
}

/// `200` with the group; `204 No Content` with its `ETag` when its members
/// were left out for size (RFC 7644 §3.5.2 allows either).
fn group_written(written: GroupAnswer, projection: &Projection) -> ScimResult {
    let mut ok = resource(StatusCode::OK, written.doc, GROUP, projection)?;
    if written.members_left_out {
        ok.status = StatusCode::NO_CONTENT;
    }
    Ok(ok)
}

pub async fn group_delete(
    State(s): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ScimFailure> {
    s.services.scim_delete_group(&scope, &id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
