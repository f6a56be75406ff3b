//! SCIM Groups: the workspace's custom groups and who is in them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use roster_shared::names;
use roster_shared::scim::group::{GroupPatch, MemberChange, ScimGroupInput};
use roster_shared::scim::{Lookup, PatchOp, ResourceKind, ScimError};
use serde_json::Value;
use uuid::Uuid;

use super::render::{group_member_ids, group_version, render_group};
use super::users::page;
use super::{ScimPage, ScimQuery, ScimScope, check_if_match, parse_id};
use crate::clock;
use crate::error::ServiceError;
use crate::service::members::write_change;
use crate::service::{Actor, Services, audit, workspaces};
use crate::store::records::{GroupRecord, WorkspaceRecord, decode, encode};
use crate::store::tables::*;
use crate::store::{members, new_id};

/// A committed group write.
struct Written {
    workspace: String,
    doc: Value,
    events: Vec<(&'static str, String)>,
}

impl Services {
    /// `POST /Groups`.
    pub async fn scim_create_group(
        &self,
        scope: &ScimScope,
        body: Value,
    ) -> Result<Value, ServiceError> {
        let input = ScimGroupInput::from_doc(&body)?;
        let (slug, actor, base) = (
            scope.workspace.clone(),
            scope.actor.clone(),
            self.scim_base(),
        );
        let w = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                check_name_free(txn, &ws, &input.display_name, None)?;
                let now = clock::now_ms();
                let g = GroupRecord {
                    id: new_id(),
                    name: input.display_name.clone(),
                    created_at: now,
                    external_id: input.external_id.clone(),
                    updated_at: Some(now),
                };
                save_group(txn, &ws, None, &g)?;
                audit::append(
                    txn,
                    ws.id,
                    &actor,
                    "group.created",
                    &g.name,
                    None,
                    Some(serde_json::json!({"name": g.name})),
                )?;
                let mut events = vec![("group.created", g.name.clone())];
                if let Some(ids) = &input.members {
                    events.extend(change_members(
                        txn,
                        &ws,
                        &actor,
                        &g,
                        &[MemberChange::Add(ids.clone())],
                    )?);
                }
                let doc = render_in(txn, &ws, &g, true, &base)?;
                Ok(Written {
                    workspace: ws.slug,
                    doc,
                    events,
                })
            })
            .await?;
        Ok(self.announce_group(w))
    }

    /// `GET /Groups/{id}`.
    pub async fn scim_get_group(
        &self,
        scope: &ScimScope,
        id: &str,
        with_members: bool,
    ) -> Result<Value, ServiceError> {
        let id = parse_id("Group", id)?;
        let (slug, base) = (scope.workspace.clone(), self.scim_base());
        self.store
            .read(move |txn| {
                let ws = workspaces::find_read(txn, &slug)?;
                let g = read_group(&txn.open_table(GROUPS)?, &ws, id)?;
                render_group(
                    &txn.open_table(MEMBERS)?,
                    &txn.open_table(MEMBER_GROUPS)?,
                    ws.id,
                    &g,
                    with_members,
                    &base,
                )
            })
            .await
    }

    /// `GET /Groups` and `POST /Groups/.search`.
    pub async fn scim_list_groups(
        &self,
        scope: &ScimScope,
        q: ScimQuery,
    ) -> Result<ScimPage, ServiceError> {
        let (slug, base) = (scope.workspace.clone(), self.scim_base());
        self.store
            .read(move |txn| list_groups(txn, &slug, &base, q))
            .await
    }

    /// `PUT /Groups/{id}`: name, externalId and (when given) the member list.
    pub async fn scim_replace_group(
        &self,
        scope: &ScimScope,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> Result<Value, ServiceError> {
        let input = ScimGroupInput::from_doc(&body)?;
        let mut p = GroupPatch {
            display_name: Some(input.display_name),
            external_id: Some(input.external_id),
            members: Vec::new(),
        };
        if let Some(ids) = input.members {
            p.members = vec![MemberChange::Clear, MemberChange::Add(ids)];
        }
        self.scim_change_group(scope, id, p, if_match).await
    }

    /// `PATCH /Groups/{id}`: all operations apply, or none.
    pub async fn scim_patch_group(
        &self,
        scope: &ScimScope,
        id: &str,
        ops: Vec<PatchOp>,
        if_match: Option<String>,
    ) -> Result<Value, ServiceError> {
        let p = GroupPatch::from_ops(&ops)?;
        self.scim_change_group(scope, id, p, if_match).await
    }

    /// `DELETE /Groups/{id}`: members keep their other groups.
    pub async fn scim_delete_group(
        &self,
        scope: &ScimScope,
        id: &str,
        if_match: Option<String>,
    ) -> Result<(), ServiceError> {
        let id = parse_id("Group", id)?;
        let (slug, actor) = (scope.workspace.clone(), scope.actor.clone());
        let w = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                let g = read_group(&txn.open_table(GROUPS)?, &ws, id)?;
                let ids = group_member_ids(&txn.open_table(MEMBER_GROUPS)?, ws.id, g.id)?;
                check_if_match(if_match.as_deref(), &group_version(&g, &ids)?)?;
                let mut events = change_members(txn, &ws, &actor, &g, &[MemberChange::Clear])?;
                txn.open_table(GROUPS)?
                    .remove((ws.id.as_u128(), g.id.as_u128()))?;
                txn.open_table(GROUP_NAMES)?
                    .remove((ws.id.as_u128(), names::group_key(&g.name).as_str()))?;
                audit::append(
                    txn,
                    ws.id,
                    &actor,
                    "group.deleted",
                    &g.name,
                    Some(serde_json::json!({"name": g.name})),
                    None,
                )?;
                events.push(("group.deleted", g.name.clone()));
                Ok(Written {
                    workspace: ws.slug,
                    doc: Value::Null,
                    events,
                })
            })
            .await?;
        self.announce_group(w);
        Ok(())
    }

    async fn scim_change_group(
        &self,
        scope: &ScimScope,
        id: &str,
        p: GroupPatch,
        if_match: Option<String>,
    ) -> Result<Value, ServiceError> {
        let id = parse_id("Group", id)?;
        let (slug, actor, base) = (
            scope.workspace.clone(),
            scope.actor.clone(),
            self.scim_base(),
        );
        let w = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                let before = read_group(&txn.open_table(GROUPS)?, &ws, id)?;
                let ids = group_member_ids(&txn.open_table(MEMBER_GROUPS)?, ws.id, before.id)?;
                check_if_match(if_match.as_deref(), &group_version(&before, &ids)?)?;
                let mut after = before.clone();
                if let Some(name) = &p.display_name {
                    check_name_free(txn, &ws, name, Some(before.id))?;
                    after.name = name.clone();
                }
                if let Some(x) = &p.external_id {
                    after.external_id = x.clone();
                }
                let mut events = Vec::new();
                let member_events = change_members(txn, &ws, &actor, &after, &p.members)?;
                if after != before || !member_events.is_empty() {
                    after.updated_at = Some(clock::now_ms());
                    save_group(txn, &ws, Some(&before), &after)?;
                }
                if after.name != before.name || after.external_id != before.external_id {
                    audit::append(
                        txn,
                        ws.id,
                        &actor,
                        "group.updated",
                        &after.name,
                        Some(serde_json::json!({"name": before.name, "external_id": before.external_id})),
                        Some(serde_json::json!({"name": after.name, "external_id": after.external_id})),
                    )?;
                    events.push(("group.updated", after.name.clone()));
                }
                events.extend(member_events);
                let doc = render_in(txn, &ws, &after, true, &base)?;
                Ok(Written { workspace: ws.slug, doc, events })
            })
            .await?;
        Ok(self.announce_group(w))
    }

    fn announce_group(&self, w: Written) -> Value {
        for (kind, target) in &w.events {
            self.publish(&w.workspace, kind, target);
        }
        w.doc
    }
}

/// Applies member-list changes in order; each member whose groups change is
/// written with its audit event. Ids that are not Users of the workspace
/// are skipped (and logged).
fn change_members(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    actor: &Actor,
    g: &GroupRecord,
    changes: &[MemberChange],
) -> Result<Vec<(&'static str, String)>, ServiceError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let current: Vec<u128> = group_member_ids(&txn.open_table(MEMBER_GROUPS)?, ws.id, g.id)?;
    let mut wanted: std::collections::BTreeSet<u128> = current.iter().copied().collect();
    for c in changes {
        match c {
            MemberChange::Clear => wanted.clear(),
            MemberChange::Add(ids) => {
                let members_t = txn.open_table(MEMBERS)?;
                for raw in ids {
                    let id = match Uuid::parse_str(raw.trim()) {
                        Ok(u) if members::get(&members_t, ws.id, u.as_u128())?.is_some() => Some(u),
                        _ => None,
                    };
                    // RFC 7644 does not ask servers to refuse unknown member ids,
                    // and clients that sequence loosely rely on that: skip them.
                    let Some(id) = id else {
                        tracing::warn!(workspace = %ws.slug, group = %g.name, member = %raw, "SCIM group change names a member that is not a User of the workspace; skipped");
                        continue;
                    };
                    wanted.insert(id.as_u128());
                }
            }
            MemberChange::Remove(ids) => {
                for raw in ids {
                    if let Ok(u) = Uuid::parse_str(raw.trim()) {
                        wanted.remove(&u.as_u128());
                    }
                }
            }
        }
    }
    let current: std::collections::BTreeSet<u128> = current.into_iter().collect();
    let mut events = Vec::new();
    let now = clock::now_ms();
    for (id, join) in wanted
        .difference(&current)
        .map(|id| (*id, true))
        .chain(current.difference(&wanted).map(|id| (*id, false)))
        .collect::<Vec<_>>()
    {
        let Some(before) = members::get(&txn.open_table(MEMBERS)?, ws.id, id)? else {
            continue;
        };
        let mut after = before.clone();
        if join {
            after.groups.push(g.id);
        } else {
            after.groups.retain(|x| *x != g.id);
        }
        after.updated_at = now;
        let action = if join {
            "member.group_added"
        } else {
            "member.group_removed"
        };
        write_change(txn, ws, actor, action, &before, &after)?;
        events.push((action, after.email));
    }
    Ok(events)
}

fn check_name_free(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    name: &str,
    me: Option<Uuid>,
) -> Result<(), ServiceError> {
    let key = names::group_key(name);
    let owner = txn
        .open_table(GROUP_NAMES)?
        .get((ws.id.as_u128(), key.as_str()))?
        .map(|v| v.value());
    match owner {
        Some(o) if Some(o) != me.map(|u| u.as_u128()) => Err(ScimError::uniqueness(format!(
            "a group named \"{name}\" already exists in workspace {} (Group {})",
            ws.slug,
            Uuid::from_u128(o)
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Writes a group record and keeps its name index.
fn save_group(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    before: Option<&GroupRecord>,
    g: &GroupRecord,
) -> Result<(), ServiceError> {
    let w = ws.id.as_u128();
    let mut names_t = txn.open_table(GROUP_NAMES)?;
    if let Some(b) = before {
        names_t.remove((w, names::group_key(&b.name).as_str()))?;
    }
    names_t.insert((w, names::group_key(&g.name).as_str()), g.id.as_u128())?;
    txn.open_table(GROUPS)?
        .insert((w, g.id.as_u128()), encode(g)?.as_slice())?;
    Ok(())
}

fn read_group<T>(groups: &T, ws: &WorkspaceRecord, id: Uuid) -> Result<GroupRecord, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    match groups.get((ws.id.as_u128(), id.as_u128()))? {
        Some(v) => decode(v.value()),
        None => Err(ScimError::not_found(format!("Group {id} not found")).into()),
    }
}

fn render_in(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    g: &GroupRecord,
    with_members: bool,
    base: &str,
) -> Result<Value, ServiceError> {
    render_group(
        &txn.open_table(MEMBERS)?,
        &txn.open_table(MEMBER_GROUPS)?,
        ws.id,
        g,
        with_members,
        base,
    )
}

fn list_groups(
    txn: &ReadTransaction,
    slug: &str,
    base: &str,
    q: ScimQuery,
) -> Result<ScimPage, ServiceError> {
    let ws = workspaces::find_read(txn, slug)?;
    let w = ws.id.as_u128();
    let groups_t = txn.open_table(GROUPS)?;
    let members_t = txn.open_table(MEMBERS)?;
    let links = txn.open_table(MEMBER_GROUPS)?;
    let with_members = q.projection.wants("members");
    let start = q.start_index.max(1);
    let project = |mut d: Value| {
        q.projection.apply(&mut d, ResourceKind::Group);
        d
    };
    let mut records: Vec<GroupRecord> = Vec::new();
    match q
        .filter
        .as_ref()
        .and_then(|f| f.lookup(ResourceKind::Group))
    {
        Some(Lookup::DisplayName(vals)) => {
            let names_t = txn.open_table(GROUP_NAMES)?;
            for v in vals {
                if let Some(id) = names_t.get((w, names::group_key(&v).as_str()))? {
                    let id = id.value();
                    if let Some(g) = groups_t.get((w, id))? {
                        records.push(decode(g.value())?);
                    }
                }
            }
        }
        Some(Lookup::Id(vals)) => {
            for v in vals {
                if let Ok(u) = Uuid::parse_str(&v)
                    && let Some(g) = groups_t.get((w, u.as_u128()))?
                {
                    records.push(decode(g.value())?);
                }
            }
        }
        _ => {
            for entry in groups_t.range((w, 0)..=(w, u128::MAX))? {
                records.push(decode(entry?.1.value())?);
            }
        }
    }
    records.sort_by_key(|g| g.id);
    records.dedup_by_key(|g| g.id);
    let mut docs = Vec::with_capacity(records.len());
    for g in &records {
        let needs = with_members || q.filter_needs_members;
        let mut doc = render_group(&members_t, &links, ws.id, g, needs, base)?;
        if q.filter
            .as_ref()
            .is_none_or(|f| f.matches(&doc, ResourceKind::Group))
        {
            if needs
                && !with_members
                && let Some(o) = doc.as_object_mut()
            {
                o.remove("members");
            }
            docs.push(doc);
        }
    }
    Ok(page(docs, &q, start, project))
}
