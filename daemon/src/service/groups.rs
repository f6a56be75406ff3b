//! Custom groups: create, rename, delete, and who is in them.

use redb::ReadableTable;
use roster_shared::Email;
use roster_shared::api::GroupResponse;
use roster_shared::names;
use uuid::Uuid;

use super::members::{load_member, write_change};
use super::{Actor, Services, audit, workspaces};
use crate::clock;
use crate::error::ServiceError;
use crate::store::records::{GroupRecord, WorkspaceRecord, decode, encode};
use crate::store::tables::*;
use crate::store::{members, memberships, new_id};

impl Services {
    /// `groups list`, by name.
    pub async fn list_groups(
        &self,
        workspace: Option<&str>,
    ) -> Result<Vec<GroupResponse>, ServiceError> {
        let slug = self.workspace_slug(workspace);
        self.store
            .read(move |txn| {
                let ws = workspaces::find_read(txn, &slug)?;
                let w = ws.id.as_u128();
                let names_t = txn.open_table(GROUP_NAMES)?;
                let groups = txn.open_table(GROUPS)?;
                let sizes = txn.open_table(GROUP_MEMBERSHIPS)?;
                let mut out = Vec::new();
                for entry in names_t.range((w, "")..=(w, "\u{10FFFF}"))? {
                    let (_, id) = entry?;
                    let id = id.value();
                    let Some(v) = groups.get((w, id))? else {
                        continue;
                    };
                    let g: GroupRecord = decode(v.value())?;
                    let members = memberships::get(&sizes, w, id)?.members;
                    out.push(group_view(&g, members));
                }
                Ok(out)
            })
            .await
    }

    /// `groups create`.
    pub async fn create_group(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        name: &str,
    ) -> Result<GroupResponse, ServiceError> {
        let name = names::group_name(name)?;
        let g = self
            .group_write(actor, workspace, "group.created", move |tx, ws| {
                ensure_name_free(tx, ws, &name, None)?;
                let g = GroupRecord {
                    id: new_id(),
                    name: name.clone(),
                    created_at: clock::now_ms(),
                    external_id: None,
                    updated_at: None,
                };
                save_group(tx, ws, None, &g)?;
                Ok((g, None, Some(serde_json::json!({"name": name}))))
            })
            .await?;
        Ok(group_view(&g, 0))
    }

    /// `groups rename`: members keep their membership.
    pub async fn rename_group(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<GroupResponse, ServiceError> {
        let to = names::group_name(to)?;
        let from = from.to_string();
        let g = self
            .group_write(actor, workspace, "group.renamed", move |tx, ws| {
                let mut g = find_group(tx, ws, &from)?;
                ensure_name_free(tx, ws, &to, Some(g.id))?;
                let before = serde_json::json!({"name": g.name});
                let old = g.clone();
                g.name = to.clone();
                save_group(tx, ws, Some(&old), &g)?;
                Ok((g, Some(before), Some(serde_json::json!({"name": to}))))
            })
            .await?;
        let count = self.group_size(workspace, g.id).await?;
        Ok(group_view(&g, count))
    }

    /// `groups delete`: members keep their other groups. A large group is
    /// emptied [`members::LEAVING_PER_WRITE`] members a write, other writes
    /// served between; the last write deletes it. Interrupted, the group
    /// is still there with fewer members, and deleting it again finishes.
    pub async fn delete_group(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        name: &str,
    ) -> Result<(), ServiceError> {
        loop {
            let (slug, name, actor) = (
                self.workspace_slug(workspace),
                name.to_string(),
                actor.clone(),
            );
            let deleted = self
                .store
                .write(move |tx| {
                    let ws = workspaces::find_write(tx, &slug)?;
                    let g = find_group(tx, &ws, &name)?;
                    let (leaving, last) = members::next_leaving(tx, ws.id, g.id)?;
                    let now = clock::now_ms();
                    for id in &leaving {
                        let Some(before) = members::get(&*tx.members()?, ws.id, *id)? else {
                            continue;
                        };
                        let mut after = before.clone();
                        after.groups.retain(|x| *x != g.id);
                        after.updated_at = now;
                        members::put(tx, Some(&before), &after)?;
                    }
                    if !last {
                        return Ok(None);
                    }
                    delete_emptied_group(tx, &ws, &actor, &g)?;
                    Ok(Some((ws.slug, g.name)))
                })
                .await?;
            if let Some((ws_slug, group)) = deleted {
                self.publish(&ws_slug, "group.deleted", &group);
                return Ok(());
            }
        }
    }

    /// `groups add`: all the e-mails join, or none does.
    pub async fn add_to_group(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        group: &str,
        emails: Vec<String>,
    ) -> Result<GroupResponse, ServiceError> {
        self.group_membership(actor, workspace, group, emails, true)
            .await
    }

    /// `groups remove`.
    pub async fn remove_from_group(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        group: &str,
        emails: Vec<String>,
    ) -> Result<GroupResponse, ServiceError> {
        self.group_membership(actor, workspace, group, emails, false)
            .await
    }

    async fn group_membership(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        group: &str,
        emails: Vec<String>,
        join: bool,
    ) -> Result<GroupResponse, ServiceError> {
        if emails.is_empty() {
            return Err(ServiceError::BadRequest("give at least one e-mail".into()));
        }
        let group = group.to_string();
        let slug = self.workspace_slug(workspace);
        let action = if join {
            "member.group_added"
        } else {
            "member.group_removed"
        };
        let (ws_slug, g, touched) = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let g = find_group(tx, &ws, &group)?;
                let mut touched = Vec::new();
                for email in &emails {
                    let before = load_member(tx, &ws, &Email::key_of(email))?;
                    let mut after = before.clone();
                    let has = after.groups.contains(&g.id);
                    match (join, has) {
                        (true, false) => after.groups.push(g.id),
                        (false, true) => after.groups.retain(|x| *x != g.id),
                        _ => continue,
                    }
                    after.updated_at = clock::now_ms();
                    write_change(tx, &ws, &actor, action, &before, &after)?;
                    touched.push(after.email);
                }
                Ok((ws.slug, g, touched))
            })
            .await?;
        for email in &touched {
            self.publish(&ws_slug, action, email);
        }
        let count = self.group_size(workspace, g.id).await?;
        Ok(group_view(&g, count))
    }

    async fn group_size(&self, workspace: Option<&str>, group: Uuid) -> Result<u64, ServiceError> {
        let slug = self.workspace_slug(workspace);
        self.store
            .read(move |txn| {
                let ws = workspaces::find_read(txn, &slug)?;
                Ok(memberships::get(
                    &txn.open_table(GROUP_MEMBERSHIPS)?,
                    ws.id.as_u128(),
                    group.as_u128(),
                )?
                .members)
            })
            .await
    }

    /// One group change as a use case: write, audit, announce.
    async fn group_write<F>(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        action: &'static str,
        change: F,
    ) -> Result<GroupRecord, ServiceError>
    where
        F: Fn(
                &Tx<'_>,
                &WorkspaceRecord,
            ) -> Result<
                (
                    GroupRecord,
                    Option<serde_json::Value>,
                    Option<serde_json::Value>,
                ),
                ServiceError,
            > + Send
            + 'static,
    {
        let slug = self.workspace_slug(workspace);
        let (ws_slug, g) = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let (g, before, after) = change(tx, &ws)?;
                audit::append(tx, ws.id, &actor, action, &g.name, before, after)?;
                Ok((ws.slug, g))
            })
            .await?;
        self.publish(&ws_slug, action, &g.name);
        Ok(g)
    }
}

/// Refuses a group name that another group of the workspace has
/// (case-insensitively); `me` is the group being renamed.
pub fn ensure_name_free(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    name: &str,
    me: Option<Uuid>,
) -> Result<(), ServiceError> {
    let key = names::group_key(name);
    let owner = tx
        .group_names()?
        .get((ws.id.as_u128(), key.as_str()))?
        .map(|v| v.value());
    match owner {
        Some(o) if Some(o) != me.map(|u| u.as_u128()) => Err(ServiceError::Taken(format!(
            "group \"{}\" already exists in workspace {}",
            name.trim(),
            ws.slug
        ))),
        _ => Ok(()),
    }
}

/// Writes a group record and keeps its name index (`before`: the record
/// it replaces).
pub fn save_group(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    before: Option<&GroupRecord>,
    g: &GroupRecord,
) -> Result<(), ServiceError> {
    let w = ws.id.as_u128();
    let mut names_t = tx.group_names()?;
    if let Some(b) = before {
        names_t.remove((w, names::group_key(&b.name).as_str()))?;
    }
    names_t.insert((w, names::group_key(&g.name).as_str()), g.id.as_u128())?;
    tx.groups()?
        .insert((w, g.id.as_u128()), encode(g)?.as_slice())?;
    Ok(())
}

/// Deletes a group its members have all left, with its audit event.
pub fn delete_emptied_group(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    actor: &Actor,
    g: &GroupRecord,
) -> Result<(), ServiceError> {
    drop_group(tx, ws, g)?;
    let before = serde_json::json!({"name": g.name});
    audit::append(
        tx,
        ws.id,
        actor,
        "group.deleted",
        &g.name,
        Some(before),
        None,
    )
}

/// Removes a group record and its name (members are the caller's).
pub fn drop_group(tx: &Tx<'_>, ws: &WorkspaceRecord, g: &GroupRecord) -> Result<(), ServiceError> {
    let w = ws.id.as_u128();
    tx.groups()?.remove((w, g.id.as_u128()))?;
    tx.group_names()?
        .remove((w, names::group_key(&g.name).as_str()))?;
    Ok(())
}

fn find_group(tx: &Tx<'_>, ws: &WorkspaceRecord, name: &str) -> Result<GroupRecord, ServiceError> {
    let key = names::group_key(name);
    let w = ws.id.as_u128();
    let id = tx
        .group_names()?
        .get((w, key.as_str()))?
        .map(|v| v.value())
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "group \"{}\" does not exist in workspace {}",
                name.trim(),
                ws.slug
            ))
        })?;
    let bytes = tx
        .groups()?
        .get((w, id))?
        .ok_or_else(|| ServiceError::storage("dangling group name"))?
        .value()
        .to_vec();
    decode(&bytes)
}

fn group_view(g: &GroupRecord, members: u64) -> GroupResponse {
    GroupResponse {
        id: g.id.to_string(),
        name: g.name.clone(),
        members,
        created_at: clock::to_datetime(g.created_at),
    }
}
