//! Admin-API handlers (`/api/v1`): parse, call one use case, answer.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use roster_shared::api::*;
use serde::Deserialize;

use super::AppState;
use super::error::HttpError;
use super::events;
use super::extract::{ApiJson, ApiQuery, Caller};
use crate::store::records::TokenKind;

type ApiResult<T> = Result<Json<T>, HttpError>;

/// `?workspace=` on endpoints that take nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceParam {
    pub workspace: Option<String>,
}

/// `?workspace=&reveal=` on member reads.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberParam {
    pub workspace: Option<String>,
    pub reveal: Option<bool>,
}

/// Every admin-API route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(workspaces_list).post(workspaces_create))
        .route("/workspaces/{slug}", axum::routing::patch(workspace_update))
        .route("/members", get(members_list).post(members_invite))
        .route(
            "/members/{email}",
            get(member_get).patch(member_edit).delete(member_remove),
        )
        .route("/members/{email}/resend", post(member_resend))
        .route("/members/{email}/reset-link", post(member_reset_link))
        .route("/members/{email}/link", get(member_link))
        .route("/members/{email}/archive", post(member_archive))
        .route("/members/{email}/unarchive", post(member_unarchive))
        .route("/groups", get(groups_list).post(groups_create))
        .route(
            "/groups/{name}",
            axum::routing::patch(groups_rename).delete(groups_delete),
        )
        .route(
            "/groups/{name}/members",
            post(groups_add).delete(groups_remove),
        )
        .route(
            "/scim-tokens",
            get(scim_tokens_list).post(scim_tokens_create),
        )
        .route(
            "/scim-tokens/{name}",
            axum::routing::delete(scim_tokens_revoke),
        )
        .route(
            "/admin-tokens",
            get(admin_tokens_list).post(admin_tokens_create),
        )
        .route(
            "/admin-tokens/{name}",
            axum::routing::delete(admin_tokens_revoke),
        )
        .route("/imports", get(imports_list).post(imports_upload))
        .route("/imports/{id}", get(import_get))
        .route("/imports/{id}/rows", get(import_rows))
        .route("/audit", get(audit_list))
        .route("/mail", get(mail_list))
        .route("/mail/delivery", get(mail_delivery))
        .route("/mail/retry", post(mail_retry))
        .route("/events", get(events::stream))
}

async fn workspaces_list(State(s): State<AppState>) -> ApiResult<Vec<WorkspaceResponse>> {
    Ok(Json(s.services.list_workspaces().await?))
}

async fn workspaces_create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<CreateWorkspaceRequest>,
) -> Result<(StatusCode, Json<WorkspaceResponse>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.create_workspace(actor, req).await?),
    ))
}

async fn workspace_update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(slug): Path<String>,
    ApiJson(req): ApiJson<UpdateWorkspaceRequest>,
) -> ApiResult<WorkspaceResponse> {
    Ok(Json(s.services.update_workspace(actor, &slug, req).await?))
}

async fn members_list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListMembersQuery>,
) -> ApiResult<Page<MemberResponse>> {
    Ok(Json(s.services.list_members(q).await?))
}

async fn members_invite(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<MemberResponse>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .invite(actor, p.workspace.as_deref(), &req)
                .await?,
        ),
    ))
}

async fn member_get(
    State(s): State<AppState>,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<MemberParam>,
) -> ApiResult<MemberResponse> {
    Ok(Json(
        s.services
            .get_member(p.workspace.as_deref(), &email, p.reveal.unwrap_or(false))
            .await?,
    ))
}

async fn member_edit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<EditMemberRequest>,
) -> ApiResult<MemberResponse> {
    Ok(Json(
        s.services
            .edit_member(actor, p.workspace.as_deref(), &email, &req)
            .await?,
    ))
}

async fn member_remove(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> Result<StatusCode, HttpError> {
    s.services
        .remove_member(actor, p.workspace.as_deref(), &email)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn member_resend(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<MemberResponse> {
    Ok(Json(
        s.services
            .resend(actor, p.workspace.as_deref(), &email)
            .await?,
    ))
}

async fn member_reset_link(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<LinkResponse> {
    Ok(Json(
        s.services
            .reset_link(actor, p.workspace.as_deref(), &email)
            .await?,
    ))
}

async fn member_link(
    State(s): State<AppState>,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<LinkResponse> {
    Ok(Json(s.services.link(p.workspace.as_deref(), &email).await?))
}

async fn member_archive(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<MemberResponse> {
    Ok(Json(
        s.services
            .archive(actor, p.workspace.as_deref(), &email)
            .await?,
    ))
}

async fn member_unarchive(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(email): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<MemberResponse> {
    Ok(Json(
        s.services
            .unarchive(actor, p.workspace.as_deref(), &email)
            .await?,
    ))
}

async fn groups_list(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<Vec<GroupResponse>> {
    Ok(Json(s.services.list_groups(p.workspace.as_deref()).await?))
}

async fn groups_create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<GroupNameRequest>,
) -> Result<(StatusCode, Json<GroupResponse>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_group(actor, p.workspace.as_deref(), &req.name)
                .await?,
        ),
    ))
}

async fn groups_rename(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<GroupNameRequest>,
) -> ApiResult<GroupResponse> {
    Ok(Json(
        s.services
            .rename_group(actor, p.workspace.as_deref(), &name, &req.name)
            .await?,
    ))
}

async fn groups_delete(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> Result<StatusCode, HttpError> {
    s.services
        .delete_group(actor, p.workspace.as_deref(), &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn groups_add(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<GroupMembersRequest>,
) -> ApiResult<GroupResponse> {
    Ok(Json(
        s.services
            .add_to_group(actor, p.workspace.as_deref(), &name, req.emails)
            .await?,
    ))
}

async fn groups_remove(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<GroupMembersRequest>,
) -> ApiResult<GroupResponse> {
    Ok(Json(
        s.services
            .remove_from_group(actor, p.workspace.as_deref(), &name, req.emails)
            .await?,
    ))
}

async fn scim_tokens_list(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<Vec<TokenResponse>> {
    Ok(Json(
        s.services
            .list_tokens(TokenKind::Scim, p.workspace.as_deref())
            .await?,
    ))
}

async fn scim_tokens_create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<TokenCreatedResponse>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_token(actor, TokenKind::Scim, p.workspace.as_deref(), &req.name)
                .await?,
        ),
    ))
}

async fn scim_tokens_revoke(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> Result<StatusCode, HttpError> {
    s.services
        .revoke_token(actor, TokenKind::Scim, p.workspace.as_deref(), &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_tokens_list(State(s): State<AppState>) -> ApiResult<Vec<TokenResponse>> {
    Ok(Json(s.services.list_tokens(TokenKind::Admin, None).await?))
}

async fn admin_tokens_create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<TokenCreatedResponse>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.services
                .create_token(actor, TokenKind::Admin, None, &req.name)
                .await?,
        ),
    ))
}

async fn admin_tokens_revoke(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, HttpError> {
    s.services
        .revoke_token(actor, TokenKind::Admin, None, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit_list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Page<AuditEventResponse>> {
    let slug = s.services.workspace_slug(q.workspace.as_deref());
    let page = s
        .services
        .store
        .read(move |txn| {
            let ws = crate::service::workspaces::find_read(txn, &slug)?;
            crate::service::audit::list(txn, &ws, &q)
        })
        .await?;
    Ok(Json(page))
}

async fn mail_list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<MailQuery>,
) -> ApiResult<Page<MailResponse>> {
    Ok(Json(s.services.list_mail(q).await?))
}

async fn mail_delivery(State(s): State<AppState>) -> Json<MailDeliveryResponse> {
    Json(s.services.mail_delivery())
}

async fn mail_retry(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
    ApiJson(req): ApiJson<RetryMailRequest>,
) -> ApiResult<RetryMailResponse> {
    Ok(Json(
        s.services
            .retry_mail(actor, p.workspace.as_deref(), req.id.as_deref())
            .await?,
    ))
}

fn importer(s: &AppState) -> Result<&crate::importer::Importer, HttpError> {
    s.importer.as_ref().ok_or_else(|| {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the CSV importer is not running in this daemon",
        )
    })
}

async fn imports_list(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> ApiResult<Vec<ImportJobResponse>> {
    Ok(Json(s.services.list_imports(p.workspace.as_deref()).await?))
}

async fn imports_upload(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<UploadImportQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<ImportJobResponse>), HttpError> {
    let job = importer(&s)?
        .upload(
            q.workspace.as_deref(),
            &q.name,
            q.dry_run.unwrap_or(false),
            &actor.name,
            body,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::service::imports::job_view(&job)),
    ))
}

async fn import_get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ImportJobResponse> {
    let job = s.services.get_import(&id).await?;
    Ok(Json(crate::service::imports::job_view(&job)))
}

async fn import_rows(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ImportRowsQuery>,
) -> ApiResult<Vec<ImportRowResponse>> {
    let importer = importer(&s)?.clone();
    let job = s.services.get_import(&id).await?;
    Ok(Json(importer.rows(&job, &q).await?))
}
