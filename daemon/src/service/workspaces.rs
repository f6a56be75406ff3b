//! Workspaces: the default one, creating more, and resolving a slug.

use redb::{ReadTransaction, ReadableTable};
use roster_shared::api::{CreateWorkspaceRequest, UpdateWorkspaceRequest, WorkspaceResponse};
use roster_shared::names;

use super::{Actor, Services, audit};
use crate::clock;
use crate::error::ServiceError;
use crate::store::Tx;
use crate::store::new_id;
use crate::store::records::{WorkspaceRecord, decode, encode};
use crate::store::tables::{MEMBER_COUNTS, WORKSPACE_SLUGS, WORKSPACES};

/// Finds a workspace by slug in any transaction's tables.
pub fn find<S, W>(slugs: &S, workspaces: &W, slug: &str) -> Result<WorkspaceRecord, ServiceError>
where
    S: ReadableTable<&'static str, u128>,
    W: ReadableTable<u128, &'static [u8]>,
{
    let id = slugs.get(slug.trim())?.map(|v| v.value()).ok_or_else(|| {
        ServiceError::NotFound(format!("workspace \"{}\" does not exist", slug.trim()))
    })?;
    let bytes = workspaces
        .get(id)?
        .ok_or_else(|| ServiceError::storage("workspace slug points at no workspace"))?;
    decode(bytes.value())
}

/// Resolves a workspace in a read snapshot.
pub fn find_read(txn: &ReadTransaction, slug: &str) -> Result<WorkspaceRecord, ServiceError> {
    find(
        &txn.open_table(WORKSPACE_SLUGS)?,
        &txn.open_table(WORKSPACES)?,
        slug,
    )
}

/// Resolves a workspace inside a write transaction.
pub fn find_write(tx: &Tx<'_>, slug: &str) -> Result<WorkspaceRecord, ServiceError> {
    find(&*tx.workspace_slugs()?, &*tx.workspaces()?, slug)
}

impl Services {
    /// The slug a request means: the one it names, or the default.
    pub fn workspace_slug(&self, requested: Option<&str>) -> String {
        match requested.map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => self.settings.default_workspace.clone(),
        }
    }

    /// Creates the default workspace on first start.
    pub async fn ensure_default_workspace(&self, name: &str) -> Result<(), ServiceError> {
        let slug = self.settings.default_workspace.clone();
        let name = name.to_string();
        self.store
            .write(move |tx| {
                if tx.workspace_slugs()?.get(slug.as_str())?.is_some() {
                    return Ok(());
                }
                insert(tx, &slug, &name, &Actor::system())
            })
            .await
    }

    /// `workspaces create`.
    pub async fn create_workspace(
        &self,
        actor: Actor,
        req: CreateWorkspaceRequest,
    ) -> Result<WorkspaceResponse, ServiceError> {
        let slug = names::workspace_slug(&req.slug)?;
        let name = match req.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => names::person_name(n)?,
            _ => slug.clone(),
        };
        let s = slug.clone();
        self.store
            .write(move |tx| {
                if tx.workspace_slugs()?.get(s.as_str())?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "workspace \"{s}\" already exists"
                    )));
                }
                insert(tx, &s, &name, &actor)
            })
            .await?;
        self.publish(&slug, roster_shared::api::WORKSPACE_CREATED, &slug);
        let ws = self.store.read(move |txn| find_read(txn, &slug)).await?;
        Ok(self.workspace_view(&ws, 0))
    }

    /// `workspaces set`: changes a workspace's settings, audited.
    pub async fn update_workspace(
        &self,
        actor: Actor,
        slug: &str,
        req: UpdateWorkspaceRequest,
    ) -> Result<WorkspaceResponse, ServiceError> {
        let s = slug.to_string();
        let (ws, members) = self
            .store
            .write(move |tx| {
                let before = find_write(tx, &s)?;
                let mut ws = before.clone();
                if let Some(active) = req.scim_creates_active {
                    ws.scim_creates_active = active;
                }
                if ws.scim_creates_active != before.scim_creates_active {
                    tx.workspaces()?
                        .insert(ws.id.as_u128(), encode(&ws)?.as_slice())?;
                    audit::append(
                        tx,
                        ws.id,
                        &actor,
                        "workspace.updated",
                        &ws.slug,
                        Some(
                            serde_json::json!({"scim_creates_active": before.scim_creates_active}),
                        ),
                        Some(serde_json::json!({"scim_creates_active": ws.scim_creates_active})),
                    )?;
                }
                let members = crate::store::members::count_all(&*tx.member_counts()?, ws.id)?;
                Ok((ws, members))
            })
            .await?;
        self.publish(&ws.slug, "workspace.updated", &ws.slug);
        Ok(self.workspace_view(&ws, members))
    }

    /// `workspaces list`.
    pub async fn list_workspaces(&self) -> Result<Vec<WorkspaceResponse>, ServiceError> {
        let rows = self
            .store
            .read(|txn| {
                let counts = txn.open_table(MEMBER_COUNTS)?;
                let mut out = Vec::new();
                for entry in txn.open_table(WORKSPACES)?.iter()? {
                    let (_, v) = entry?;
                    let ws: WorkspaceRecord = decode(v.value())?;
                    let members = crate::store::members::count_all(&counts, ws.id)?;
                    out.push((ws, members));
                }
                Ok(out)
            })
            .await?;
        Ok(rows
            .iter()
            .map(|(ws, n)| self.workspace_view(ws, *n))
            .collect())
    }

    fn workspace_view(&self, ws: &WorkspaceRecord, members: u64) -> WorkspaceResponse {
        WorkspaceResponse {
            slug: ws.slug.clone(),
            name: ws.name.clone(),
            is_default: ws.slug == self.settings.default_workspace,
            members,
            scim_creates_active: ws.scim_creates_active,
            created_at: clock::to_datetime(ws.created_at),
        }
    }
}

fn insert(tx: &Tx<'_>, slug: &str, name: &str, actor: &Actor) -> Result<(), ServiceError> {
    let ws = WorkspaceRecord {
        id: new_id(),
        slug: slug.to_string(),
        name: name.to_string(),
        created_at: clock::now_ms(),
        scim_creates_active: false,
    };
    tx.workspaces()?
        .insert(ws.id.as_u128(), encode(&ws)?.as_slice())?;
    tx.workspace_slugs()?.insert(slug, ws.id.as_u128())?;
    audit::append(
        tx,
        ws.id,
        actor,
        "workspace.created",
        slug,
        None,
        Some(serde_json::json!({"slug": slug, "name": name})),
    )
}
