//! SCIM Groups: the workspace's custom groups and who is in them.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadTransaction, ReadableTable};
use roster_shared::names;
use roster_shared::scim::group::{GroupPatch, MemberChange, ScimGroupInput};
use roster_shared::scim::{Lookup, PatchOp, ResourceKind, ScimError, ScimFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::render::{group_version, render_group};
use super::{Events, ScimPage, ScimQuery, ScimScope, Written, check_if_match, page, parse_id};
use crate::clock;
use crate::error::ServiceError;
use crate::service::groups::{delete_emptied_group, ensure_name_free, save_group};
use crate::service::members::write_change;
use crate::service::{Actor, Services, audit, workspaces};
use crate::store::members::group_member_ids;
use crate::store::memberships::{self, Membership};
use crate::store::records::{GroupRecord, WorkspaceRecord, decode};
use crate::store::tables::*;
use crate::store::{members, new_id};

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
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                ensure_name_free(tx, &ws, &input.display_name, None)?;
                let now = clock::now_ms();
                let g = GroupRecord {
                    id: new_id(),
                    name: input.display_name.clone(),
                    created_at: now,
                    external_id: input.external_id.clone(),
                    updated_at: Some(now),
                };
                save_group(tx, &ws, None, &g)?;
                audit::append(
                    tx,
                    ws.id,
                    &actor,
                    "group.created",
                    &g.name,
                    None,
                    Some(json!({"name": g.name})),
                )?;
                let mut events = vec![("group.created", g.name.clone())];
                let adds = input
                    .members
                    .iter()
                    .map(|ids| MemberChange::Add(ids.clone()))
                    .collect::<Vec<_>>();
                events.extend(change_members(tx, &ws, &actor, &g, &adds)?);
                Ok(Written {
                    doc: render_in(tx, &ws, &g, &membership_in(tx, &ws, &g)?, true, &base)?,
                    events,
                    workspace: ws.slug,
                    mailed: false,
                })
            })
            .await?;
        Ok(self.announce(w))
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
                let g = read_group(&txn.open_table(GROUPS)?, ws.id, id)?;
                let membership = memberships::get(
                    &txn.open_table(GROUP_MEMBERSHIPS)?,
                    ws.id.as_u128(),
                    g.id.as_u128(),
                )?;
                let ids = with_members
                    .then(|| group_member_ids(&txn.open_table(MEMBER_GROUPS)?, ws.id, g.id))
                    .transpose()?;
                render_group(
                    &txn.open_table(MEMBERS)?,
                    ws.id,
                    &g,
                    &membership,
                    ids.as_deref(),
                    &base,
                )
            })
            .await
    }

    /// `GET /Groups` and `POST /Groups/.search`.
    /// Unless the request chooses its attributes, a group with more than
    /// `large` members is listed without them (as a PATCH of it is answered
    /// without them): a page of large groups would otherwise carry every
    /// member of each, hundreds of megabytes at half a million.
    /// `GET /Groups/{id}` still lists them all.
    pub async fn scim_list_groups(
        &self,
        scope: &ScimScope,
        q: ScimQuery,
        large: usize,
    ) -> Result<ScimPage, ServiceError> {
        let (ws, base) = (scope.workspace_id, self.scim_base());
        self.store
            .read(move |txn| list_groups(txn, ws, &base, q, large))
            .await
    }

    /// `PUT /Groups/{id}`: name, externalId and (when given) the member list.
    pub async fn scim_replace_group(
        &self,
        scope: &ScimScope,
        id: &str,
        body: Value,
        if_match: Option<String>,
        answer: MembersInAnswer,
    ) -> Result<GroupAnswer, ServiceError> {
        let input = ScimGroupInput::from_doc(&body)?;
        let p = GroupPatch {
            display_name: Some(input.display_name),
            external_id: Some(input.external_id),
            members: match input.members {
                Some(ids) => vec![MemberChange::Clear, MemberChange::Add(ids)],
                None => Vec::new(),
            },
        };
        self.scim_change_group(scope, id, p, if_match, answer).await
    }

    /// `PATCH /Groups/{id}`: all operations apply, or none.
    pub async fn scim_patch_group(
        &self,
        scope: &ScimScope,
        id: &str,
        ops: Vec<PatchOp>,
        if_match: Option<String>,
        answer: MembersInAnswer,
    ) -> Result<GroupAnswer, ServiceError> {
        let p = GroupPatch::from_ops(&ops)?;
        self.scim_change_group(scope, id, p, if_match, answer).await
    }

    /// `DELETE /Groups/{id}`: members keep their other groups. A large
    /// group is emptied [`members::LEAVING_PER_WRITE`] members a write, so
    /// other requests are served meanwhile; the last write deletes it.
    /// `If-Match` is checked by the first. Interrupted (the daemon stopped),
    /// the group is still there with fewer members and no answer was given:
    /// the client's retry finishes it.
    pub async fn scim_delete_group(
        &self,
        scope: &ScimScope,
        id: &str,
        if_match: Option<String>,
    ) -> Result<(), ServiceError> {
        let id = parse_id("Group", id)?;
        let mut if_match = if_match;
        loop {
            let (slug, actor, checked) = (
                scope.workspace.clone(),
                scope.actor.clone(),
                if_match.take(),
            );
            let (w, deleted) = self
                .store
                .write(move |tx| {
                    let ws = workspaces::find_write(tx, &slug)?;
                    let g = read_group(&*tx.groups()?, ws.id, id)?;
                    if let Some(wanted) = checked.as_deref() {
                        check_if_match(
                            Some(wanted),
                            &group_version(&g, &membership_in(tx, &ws, &g)?)?,
                        )?;
                    }
                    let (leaving, last) = members::next_leaving(tx, ws.id, g.id)?;
                    let mut events = move_members(tx, &ws, &actor, &g, &[], &leaving)?;
                    if last {
                        delete_emptied_group(tx, &ws, &actor, &g)?;
                        events.push(("group.deleted", g.name.clone()));
                    }
                    let written = Written {
                        doc: Value::Null,
                        events,
                        workspace: ws.slug,
                        mailed: false,
                    };
                    Ok((written, last))
                })
                .await?;
            self.announce(w);
            if deleted {
                return Ok(());
            }
        }
    }

    async fn scim_change_group(
        &self,
        scope: &ScimScope,
        id: &str,
        p: GroupPatch,
        if_match: Option<String>,
        answer: MembersInAnswer,
    ) -> Result<GroupAnswer, ServiceError> {
        let id = parse_id("Group", id)?;
        let (slug, actor, base) = (
            scope.workspace.clone(),
            scope.actor.clone(),
            self.scim_base(),
        );
        let w = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let before = read_group(&*tx.groups()?, ws.id, id)?;
                let membership = membership_in(tx, &ws, &before)?;
                check_if_match(if_match.as_deref(), &group_version(&before, &membership)?)?;
                let mut after = before.clone();
                if let Some(name) = &p.display_name {
                    ensure_name_free(tx, &ws, name, Some(before.id))?;
                    after.name = name.clone();
                }
                if let Some(x) = &p.external_id {
                    after.external_id = x.clone();
                }
                let member_events = change_members(tx, &ws, &actor, &after, &p.members)?;
                let mut events = Vec::new();
                if after.name != before.name || after.external_id != before.external_id {
                    audit::append(
                        tx,
                        ws.id,
                        &actor,
                        "group.updated",
                        &after.name,
                        Some(json!({"name": before.name, "external_id": before.external_id})),
                        Some(json!({"name": after.name, "external_id": after.external_id})),
                    )?;
                    events.push(("group.updated", after.name.clone()));
                }
                if !events.is_empty() || !member_events.is_empty() {
                    after.updated_at = Some(clock::now_ms());
                    save_group(tx, &ws, Some(&before), &after)?;
                }
                events.extend(member_events);
                let now = membership_in(tx, &ws, &after)?;
                let listed = answer.lists(now.size());
                let written = Written {
                    doc: render_in(tx, &ws, &after, &now, listed, &base)?,
                    events,
                    workspace: ws.slug,
                    mailed: false,
                };
                Ok((written, !listed))
            })
            .await?;
        let (written, unlisted) = w;
        Ok(GroupAnswer {
            doc: self.announce(written),
            members_left_out: unlisted && matches!(answer, MembersInAnswer::UpTo(_)),
        })
    }
}

/// Whether the answer to a Group write lists the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersInAnswer {
    /// The request's `attributes` ask for them: always.
    Asked,
    /// The request chose attributes without them.
    Not,
    /// No choice made: up to this many members; a larger group's answer
    /// leaves them out (and is sent as `204 No Content`).
    UpTo(usize),
}

impl MembersInAnswer {
    fn lists(self, members: usize) -> bool {
        match self {
            MembersInAnswer::Asked => true,
            MembersInAnswer::Not => false,
            MembersInAnswer::UpTo(most) => members <= most,
        }
    }
}

/// The group after a write, and whether its members were left out for size.
pub struct GroupAnswer {
    pub doc: Value,
    pub members_left_out: bool,
}

/// Applies member-list changes in order to a group; each member whose
/// groups change is written with its audit event. Without a `Clear` (a
/// PATCH's `add` and `remove`) only the named members are looked at, so a
/// change to a group of half a million costs what its own members cost.
/// Ids that are not Users of the workspace are skipped and logged: RFC 7644
/// does not ask servers to refuse them, and loosely sequenced clients rely
/// on that.
fn change_members(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    actor: &Actor,
    g: &GroupRecord,
    changes: &[MemberChange],
) -> Result<Events, ServiceError> {
    // Each named member's last word: in the group (true) or not.
    let mut wanted: BTreeMap<u128, bool> = BTreeMap::new();
    let mut cleared = false;
    for c in changes {
        match c {
            MemberChange::Clear => {
                cleared = true;
                wanted.clear();
            }
            MemberChange::Add(ids) => {
                for raw in ids {
                    match member_id(raw) {
                        Some(id) => {
                            wanted.insert(id, true);
                        }
                        None => {
                            tracing::warn!(workspace = %ws.slug, group = %g.name, member = %raw, "SCIM group change names a member that is not a User id; skipped");
                        }
                    }
                }
            }
            MemberChange::Remove(ids) => {
                for id in ids.iter().filter_map(|raw| member_id(raw)) {
                    wanted.insert(id, false);
                }
            }
        }
    }
    let (w, gid) = (ws.id.as_u128(), g.id.as_u128());
    let mut joins = Vec::new();
    let mut leaves = Vec::new();
    {
        let links = tx.member_groups()?;
        if cleared {
            // A whole new list (PUT, `replace`): compared with the whole
            // current one.
            let current: BTreeSet<u128> = group_member_ids(&*links, ws.id, g.id)?
                .into_iter()
                .collect();
            leaves.extend(current.iter().filter(|id| wanted.get(*id) != Some(&true)));
            joins.extend(
                wanted
                    .iter()
                    .filter(|(id, want)| **want && !current.contains(*id))
                    .map(|(id, _)| *id),
            );
        } else {
            for (id, want) in wanted {
                if want != links.get((w, gid, id))?.is_some() {
                    if want {
                        joins.push(id);
                    } else {
                        leaves.push(id);
                    }
                }
            }
        }
    }
    move_members(tx, ws, actor, g, &joins, &leaves)
}

/// Adds `joins` to the group and takes `leaves` out of it, each member
/// written with its audit event; ids that are no member of the workspace
/// are skipped and logged.
fn move_members(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    actor: &Actor,
    g: &GroupRecord,
    joins: &[u128],
    leaves: &[u128],
) -> Result<Events, ServiceError> {
    let mut events = Vec::new();
    let now = clock::now_ms();
    let moves = joins.iter().map(|id| (*id, true));
    for (id, join) in moves.chain(leaves.iter().map(|id| (*id, false))) {
        let Some(before) = members::get(&*tx.members()?, ws.id, id)? else {
            tracing::warn!(workspace = %ws.slug, group = %g.name, member = %Uuid::from_u128(id), "SCIM group change names a member that is not a User of the workspace; skipped");
            continue;
        };
        let mut after = before.clone();
        let action = if join {
            after.groups.push(g.id);
            "member.group_added"
        } else {
            after.groups.retain(|x| *x != g.id);
            "member.group_removed"
        };
        after.updated_at = now;
        write_change(tx, ws, actor, action, &before, &after)?;
        events.push((action, after.email));
    }
    Ok(events)
}

/// A member id as a request or filter writes it; anything else names no
/// User.
fn member_id(raw: &str) -> Option<u128> {
    Uuid::parse_str(raw.trim()).ok().map(|u| u.as_u128())
}

/// A group's size and member digest, as this transaction leaves them.
fn membership_in(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    g: &GroupRecord,
) -> Result<Membership, ServiceError> {
    memberships::get(&*tx.group_memberships()?, ws.id.as_u128(), g.id.as_u128())
}

fn read_group<T>(groups: &T, ws: Uuid, id: Uuid) -> Result<GroupRecord, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    match groups.get((ws.as_u128(), id.as_u128()))? {
        Some(v) => decode(v.value()),
        None => Err(ScimError::not_found(format!("Group {id} not found")).into()),
    }
}

/// A group's document at the end of a write (its membership as the write
/// leaves it), with its members when `listed`.
fn render_in(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    g: &GroupRecord,
    membership: &Membership,
    listed: bool,
    base: &str,
) -> Result<Value, ServiceError> {
    let ids = listed
        .then(|| group_member_ids(&*tx.member_groups()?, ws.id, g.id))
        .transpose()?;
    render_group(&*tx.members()?, ws.id, g, membership, ids.as_deref(), base)
}

/// Which of the ids in `values` (as a filter wrote them) are members of the
/// group, one lookup each, in id order.
fn members_among<T>(
    links: &T,
    ws: Uuid,
    group: Uuid,
    values: &[String],
) -> Result<Vec<u128>, ServiceError>
where
    T: ReadableTable<(u128, u128, u128), ()>,
{
    let (w, g) = (ws.as_u128(), group.as_u128());
    let mut found = BTreeSet::new();
    for id in values.iter().filter_map(|v| member_id(v)) {
        if links.get((w, g, id))?.is_some() {
            found.insert(id);
        }
    }
    Ok(found.into_iter().collect())
}

fn list_groups(
    txn: &ReadTransaction,
    ws: Uuid,
    base: &str,
    q: ScimQuery,
    large: usize,
) -> Result<ScimPage, ServiceError> {
    let w = ws.as_u128();
    let groups_t = txn.open_table(GROUPS)?;
    let members_t = txn.open_table(MEMBERS)?;
    let links = txn.open_table(MEMBER_GROUPS)?;
    let sizes = txn.open_table(GROUP_MEMBERSHIPS)?;
    let filter = q.filter.as_ref();
    // Members are listed when the answer or the filter needs them; a filter
    // that only asks whether some users are members needs only those.
    let wanted = q.projection.wants("members");
    let filtered_on_members = filter.is_some_and(|f| f.mentions("members"));
    let with_members = wanted || filtered_on_members;
    let chosen = q.projection.is_chosen();
    let compared = filter
        .filter(|_| !wanted)
        .and_then(ScimFilter::member_values);
    let mut records: Vec<GroupRecord> = Vec::new();
    match filter.and_then(|f| f.lookup(ResourceKind::Group)) {
        Some(Lookup::DisplayName(vals)) => {
            let names_t = txn.open_table(GROUP_NAMES)?;
            for v in vals {
                if let Some(id) = names_t.get((w, names::group_key(&v).as_str()))?
                    && let Some(g) = groups_t.get((w, id.value()))?
                {
                    records.push(decode(g.value())?);
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
        let membership = memberships::get(&sizes, w, g.id.as_u128())?;
        let left_out = !chosen && membership.size() > large;
        let ids = match &compared {
            Some(values) => Some(members_among(&links, ws, g.id, values)?),
            None if with_members && (!left_out || filtered_on_members) => {
                Some(group_member_ids(&links, ws, g.id)?)
            }
            None => None,
        };
        let mut doc = render_group(&members_t, ws, g, &membership, ids.as_deref(), base)?;
        if filter.is_none_or(|f| f.matches(&doc, ResourceKind::Group)) {
            if left_out && let Some(fields) = doc.as_object_mut() {
                fields.remove("members");
            }
            docs.push(doc);
        }
    }
    Ok(page(docs, &q, ResourceKind::Group))
}
