//! SCIM Users: create, read, list, replace, patch, delete.

use std::ops::Bound;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable};
use roster_shared::api::ValidInvite;
use roster_shared::scim::user::{ScimEmail, ScimUserInput, resolve_metadata};
use roster_shared::scim::{Lookup, PatchOp, ResourceKind, ScimError, patch};
use roster_shared::{Email, Role, StatusModel, StoredStatus};
use serde_json::Value;
use uuid::Uuid;

use super::cursors::PageCursors;
use super::render::{UserRenderer, accounts_needed, member_version};
use super::{ScimPage, ScimQuery, ScimScope, Written, check_if_match, page, parse_id};
use crate::clock;
use crate::error::ServiceError;
use crate::service::members::{
    Arrival, NewMember, archive_record, ensure_not_member, find_or_create_account,
    guard_last_admin, insert_member, new_invitation, remove_record, unarchive_record, write_change,
};
use crate::service::{Services, outbox, workspaces};
use crate::store::members;
use crate::store::records::{MemberRecord, WorkspaceRecord, decode, version_of};
use crate::store::tables::*;
use crate::store::{Snapshot, Tx};

/// What a PUT or PATCH asks of a User.
enum UserChange {
    Replace(Box<ScimUserInput>),
    Patch(Vec<PatchOp>),
}

impl Services {
    /// The base of every SCIM location.
    pub fn scim_base(&self) -> String {
        format!("{}/scim/v2", self.settings.public_url)
    }

    /// `POST /Users`.
    pub async fn scim_create_user(
        &self,
        scope: &ScimScope,
        body: Value,
    ) -> Result<Value, ServiceError> {
        let input = ScimUserInput::from_doc(&body)?;
        let (slug, actor) = (scope.workspace.clone(), scope.actor.clone());
        let (model, expiry, _) = self.scim_settings();
        let (w, m) = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                check_external_id(tx, &ws, input.external_id.as_deref(), None)?;
                let metadata = resolve_metadata(
                    input.metadata.as_deref(),
                    input.hidden_metadata.as_deref(),
                    &Default::default(),
                )?;
                let arrival = match (input.active, ws.scim_creates_active) {
                    (Some(false), _) => Arrival::Archived,
                    (_, true) => Arrival::Active,
                    (_, false) => Arrival::Invited,
                };
                let new = NewMember {
                    invite: ValidInvite {
                        name: input.name_for_new_member(),
                        email: input.email.clone(),
                        role: input.role.unwrap_or(Role::EndUser),
                        groups: Vec::new(),
                        metadata,
                    },
                    arrival,
                    external_id: input.external_id.clone(),
                    scim: Some(input.profile.clone()),
                };
                let (m, _) = insert_member(tx, &ws, new, &actor, expiry, model)?;
                let action = match arrival {
                    Arrival::Invited => "member.invited",
                    _ => "member.provisioned",
                };
                let written = Written {
                    doc: Value::Null,
                    events: vec![(action, m.email.clone())],
                    workspace: ws.slug,
                    mailed: arrival == Arrival::Invited,
                };
                Ok((written, m))
            })
            .await?;
        let version = member_version(&m)?;
        self.announce_user(scope, w, &m, version)
    }

    /// Announces a committed User write, with the User rendered from the
    /// shared snapshot (which holds the commit) rather than in the write:
    /// the one writer thread, which every write waits for, spends no time
    /// on the answer's JSON.
    fn announce_user(
        &self,
        scope: &ScimScope,
        w: Written,
        m: &MemberRecord,
        version: String,
    ) -> Result<Value, ServiceError> {
        let (model, _, base) = self.scim_settings();
        let doc = self.store.read_shared(|s| {
            RenderTables::of(s, model)?
                .renderer(base, model, scope.workspace_id)
                .render(m, version, false)
        })?;
        Ok(self.announce(Written { doc, ..w }))
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(&self, scope: &ScimScope, id: &str) -> Result<Value, ServiceError> {
        let id = parse_id("User", id)?;
        let ws = scope.workspace_id;
        let (model, _, base) = self.scim_settings();
        self.store.read_shared(|s| {
            let t = RenderTables::of(s, model)?;
            let (m, version) = members::get_versioned(t.members, ws, id.as_u128())?
                .ok_or_else(|| user_not_found(id))?;
            t.renderer(base, model, ws).render(&m, version, false)
        })
    }

    /// `GET /Users` and `POST /Users/.search`.
    pub async fn scim_list_users(
        &self,
        scope: &ScimScope,
        q: ScimQuery,
    ) -> Result<ScimPage, ServiceError> {
        let ws = scope.workspace_id;
        let (model, _, base) = self.scim_settings();
        // Index lookups (how IdPs find a user) are point reads; the rest scan.
        if let Some(lookup) = q.filter.as_ref().and_then(|f| f.lookup(ResourceKind::User)) {
            return self
                .store
                .read_shared(|s| lookup_users(s, ws, model, base, &lookup, &q));
        }
        let cursors = self.page_cursors.clone();
        self.store
            .read(move |txn| list_users(txn, ws, model, base, q, &cursors))
            .await
    }

    /// `PUT /Users/{id}`: the body replaces what it describes; the role and
    /// metadata stay when the body does not mention them.
    pub async fn scim_replace_user(
        &self,
        scope: &ScimScope,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> Result<Value, ServiceError> {
        let input = ScimUserInput::from_doc(&body)?;
        self.scim_change_user(scope, id, if_match, UserChange::Replace(Box::new(input)))
            .await
    }

    /// `PATCH /Users/{id}`: all operations apply, or none.
    pub async fn scim_patch_user(
        &self,
        scope: &ScimScope,
        id: &str,
        ops: Vec<PatchOp>,
        if_match: Option<String>,
    ) -> Result<Value, ServiceError> {
        self.scim_change_user(scope, id, if_match, UserChange::Patch(ops))
            .await
    }

    /// `DELETE /Users/{id}`: the membership goes (the last admin stays).
    pub async fn scim_delete_user(
        &self,
        scope: &ScimScope,
        id: &str,
        if_match: Option<String>,
    ) -> Result<(), ServiceError> {
        let id = parse_id("User", id)?;
        let (slug, actor) = (scope.workspace.clone(), scope.actor.clone());
        let w = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let (m, version) = members::get_versioned(&*tx.members()?, ws.id, id.as_u128())?
                    .ok_or_else(|| user_not_found(id))?;
                check_if_match(if_match.as_deref(), &version)?;
                remove_record(tx, &ws, &actor, &m)?;
                Ok(Written {
                    doc: Value::Null,
                    events: vec![("member.removed", m.email)],
                    workspace: ws.slug,
                    mailed: false,
                })
            })
            .await?;
        self.announce(w);
        Ok(())
    }

    /// One change to one User: load by id, check the version, derive the
    /// new fields, apply the status transition, write, audit, mail.
    async fn scim_change_user(
        &self,
        scope: &ScimScope,
        id: &str,
        if_match: Option<String>,
        change: UserChange,
    ) -> Result<Value, ServiceError> {
        let id = parse_id("User", id)?;
        let (slug, actor) = (scope.workspace.clone(), scope.actor.clone());
        let (model, expiry, base) = self.scim_settings();
        let (w, m, unchanged_version) = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let (before, version) =
                    members::get_versioned(&*tx.members()?, ws.id, id.as_u128())?
                        .ok_or_else(|| user_not_found(id))?;
                check_if_match(if_match.as_deref(), &version)?;
                let input = match &change {
                    UserChange::Replace(input) => (**input).clone(),
                    UserChange::Patch(ops) => {
                        let mut doc =
                            render_in(tx, &ws, model, &base, &before, version.clone(), true)?;
                        patch::apply(&mut doc, ops, ResourceKind::User)?;
                        let mut input =
                            ScimUserInput::from_patched_doc(&doc, stored_emails(&before))?;
                        // The working copy lists both metadata kinds; one that is gone was removed.
                        input.metadata.get_or_insert_with(Vec::new);
                        input.hidden_metadata.get_or_insert_with(Vec::new);
                        input
                    }
                };
                let mut after = before.clone();
                let (action, mail) = apply_input(tx, &ws, &mut after, &input, expiry, model)?;
                let changed = after != before;
                if changed {
                    guard_last_admin(tx, &ws, &before, Some(&after))?;
                    after.updated_at = clock::now_ms();
                    if mail {
                        after.last_invite_sent_at = Some(after.updated_at);
                    }
                    write_change(tx, &ws, &actor, action, &before, &after)?;
                    if mail {
                        outbox::enqueue_invite(tx, &ws, &after, &actor.name)?;
                    }
                }
                // The stored version stands when nothing changed (it may
                // come from an older encoding); a changed one is hashed
                // after the write.
                let unchanged_version = (!changed).then_some(version);
                let written = Written {
                    doc: Value::Null,
                    events: if changed {
                        vec![(action, after.email.clone())]
                    } else {
                        Vec::new()
                    },
                    workspace: ws.slug,
                    mailed: changed && mail,
                };
                Ok((written, after, unchanged_version))
            })
            .await?;
        let version = match unchanged_version {
            Some(v) => v,
            None => member_version(&m)?,
        };
        self.announce_user(scope, w, &m, version)
    }

    /// What SCIM use cases copy out of the settings.
    fn scim_settings(&self) -> (StatusModel, i64, String) {
        (
            self.settings.status_model,
            self.settings.invite_expiry_ms,
            self.scim_base(),
        )
    }
}

/// The `emails` a member already has (a patch may keep them as they are).
fn stored_emails(m: &MemberRecord) -> &[ScimEmail] {
    m.scim
        .as_ref()
        .map(|p| p.emails.as_slice())
        .unwrap_or_default()
}

/// Applies validated User input to a record; returns the audit action and
/// whether an invite mail is due: a reactivated member who never accepted,
/// or an open invite whose address changed (the link mailed to the old
/// address is revoked and a fresh one goes to the new one, so a corrected
/// typo reaches the person and the mistyped mailbox cannot accept).
fn apply_input(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    m: &mut MemberRecord,
    input: &ScimUserInput,
    expiry_ms: i64,
    model: StatusModel,
) -> Result<(&'static str, bool), ServiceError> {
    let readdressed = input.email.key() != m.email_key();
    if readdressed {
        ensure_not_member(tx, ws, input.email.key(), Some(m.id), model)?;
        m.account = find_or_create_account(tx, &input.email, None)?.id;
    }
    m.email = input.email.as_str().to_string();
    if let Some(name) = &input.name {
        m.name = name.clone();
    }
    // Once an IdP has written a member, its profile is kept exactly (even
    // empty), so what it removed stays removed.
    m.scim = Some(input.profile.clone());
    check_external_id(tx, ws, input.external_id.as_deref(), Some(m.id))?;
    m.external_id = input.external_id.clone();
    if let Some(role) = input.role {
        m.role = role;
    }
    m.metadata = resolve_metadata(
        input.metadata.as_deref(),
        input.hidden_metadata.as_deref(),
        &m.metadata,
    )?;
    let now = clock::now_ms();
    Ok(match (input.active, m.status) {
        (Some(false), StoredStatus::Pending | StoredStatus::Active) => {
            archive_record(m, now);
            ("member.archived", false)
        }
        (Some(true), StoredStatus::Archived) => (
            "member.unarchived",
            unarchive_record(m, now, expiry_ms, ws.scim_creates_active),
        ),
        (_, StoredStatus::Pending) if readdressed && m.invitation.is_some() => {
            m.invitation = Some(new_invitation(expiry_ms));
            ("member.updated", true)
        }
        _ => ("member.updated", false),
    })
}

/// Refuses an externalId that another member of the workspace already has.
fn check_external_id(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    external_id: Option<&str>,
    me: Option<Uuid>,
) -> Result<(), ServiceError> {
    let Some(x) = external_id else { return Ok(()) };
    let owner = tx
        .member_external_ids()?
        .get((ws.id.as_u128(), x))?
        .map(|v| v.value());
    match owner {
        Some(o) if Some(o) != me.map(|u| u.as_u128()) => Err(ServiceError::Taken(format!(
            "externalId {x} already belongs to User {} in workspace {}",
            Uuid::from_u128(o),
            ws.slug
        ))),
        _ => Ok(()),
    }
}

/// Renders one member inside a write transaction.
fn render_in(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    model: StatusModel,
    base: &str,
    m: &MemberRecord,
    version: String,
    working_copy: bool,
) -> Result<Value, ServiceError> {
    let groups = tx.groups()?;
    let accounts = accounts_needed(model).then(|| tx.accounts()).transpose()?;
    UserRenderer::new(
        base.to_string(),
        model,
        ws.id,
        &*groups,
        accounts.as_deref(),
    )
    .render(m, version, working_copy)
}

fn user_not_found(id: Uuid) -> ServiceError {
    ScimError::not_found(format!("User {id} not found")).into()
}

/// A read-only table of stored records.
type RecordTable<K> = ReadOnlyTable<K, &'static [u8]>;

/// The tables Users are read and rendered from.
struct RenderTables<'t> {
    members: &'t RecordTable<(u128, u128)>,
    groups: &'t RecordTable<(u128, u128)>,
    /// Only the status model that reads accounts opens them.
    accounts: Option<&'t RecordTable<u128>>,
}

impl<'t> RenderTables<'t> {
    /// The tables of a shared snapshot (opened there once).
    fn of(s: &'t Snapshot, model: StatusModel) -> Result<Self, ServiceError> {
        Ok(Self {
            members: s.members()?,
            groups: s.groups()?,
            accounts: accounts_needed(model).then(|| s.accounts()).transpose()?,
        })
    }

    fn renderer(
        &self,
        base: String,
        model: StatusModel,
        ws: Uuid,
    ) -> UserRenderer<'t, RecordTable<(u128, u128)>, RecordTable<u128>> {
        UserRenderer::new(base, model, ws, self.groups, self.accounts)
    }
}

/// A filter that names users by index (userName, externalId, id, and
/// or-lists of them): how identity providers find a user. Most such lookups
/// find nobody (the provider looks before it creates), so the tables that
/// render a User are touched only for a hit.
fn lookup_users(
    s: &Snapshot,
    ws: Uuid,
    model: StatusModel,
    base: String,
    lookup: &Lookup,
    q: &ScimQuery,
) -> Result<ScimPage, ServiceError> {
    let w = ws.as_u128();
    let mut ids: Vec<u128> = Vec::new();
    match lookup {
        Lookup::UserName(vals) => {
            let emails = s.member_emails()?;
            for v in vals {
                ids.extend(members::id_by_email(emails, ws, &Email::key_of(v))?);
            }
        }
        Lookup::ExternalId(vals) => {
            let ext = s.member_external_ids()?;
            for v in vals {
                ids.extend(ext.get((w, v.as_str()))?.map(|x| x.value()));
            }
        }
        Lookup::Id(vals) => ids.extend(
            vals.iter()
                .filter_map(|v| Uuid::parse_str(v).ok())
                .map(|u| u.as_u128()),
        ),
        Lookup::DisplayName(_) => {}
    }
    ids.sort_unstable();
    ids.dedup();
    let mut docs = Vec::new();
    if ids.is_empty() {
        return Ok(page(docs, q, ResourceKind::User));
    }
    let t = RenderTables::of(s, model)?;
    let mut r = t.renderer(base, model, ws);
    for id in ids {
        if let Some((m, version)) = members::get_versioned(t.members, ws, id)? {
            docs.push(r.render(&m, version, false)?);
        }
    }
    Ok(page(docs, q, ResourceKind::User))
}

/// Every other listing: the members of the workspace in creation order,
/// filtered and sorted as asked.
fn list_users(
    txn: &ReadTransaction,
    ws: Uuid,
    model: StatusModel,
    base: String,
    q: ScimQuery,
    cursors: &PageCursors,
) -> Result<ScimPage, ServiceError> {
    let w = ws.as_u128();
    let (members, groups) = (txn.open_table(MEMBERS)?, txn.open_table(GROUPS)?);
    let accounts = accounts_needed(model)
        .then(|| txn.open_table(ACCOUNTS))
        .transpose()?;
    let t = RenderTables {
        members: &members,
        groups: &groups,
        accounts: accounts.as_ref(),
    };
    let (members_t, mut r) = (t.members, t.renderer(base, model, ws));
    // No filter, no sort: creation order, rendering only the page, which
    // starts after the previous page's last member when that page was
    // served (see `cursors`) instead of stepping over all before it.
    if q.filter.is_none() && q.sort_by.is_none() {
        let total = members::count_all(&txn.open_table(MEMBER_COUNTS)?, ws)? as usize;
        let mut docs = Vec::new();
        if q.count > 0 {
            let removals = members::removals(&txn.open_table(MEMBER_REMOVALS)?, ws)?;
            let to = Bound::Included((w, u128::MAX));
            let (from, skip) = match cursors.find(ws, q.start_index, removals) {
                Some(after) => (Bound::Excluded((w, after)), 0),
                None => (Bound::Included((w, 0)), q.start_index - 1),
            };
            let mut last = None;
            for entry in members_t
                .range::<(u128, u128)>((from, to))?
                .skip(skip)
                .take(q.count)
            {
                let (k, v) = entry?;
                last = Some(k.value().1);
                let m: MemberRecord = decode(v.value())?;
                let doc = r.render(&m, version_of(v.value()), false)?;
                docs.push(q.project(doc, ResourceKind::User));
            }
            if let Some(after) = last.filter(|_| docs.len() == q.count) {
                cursors.remember(ws, q.start_index + q.count, after, removals);
            }
        }
        return Ok(ScimPage {
            total,
            start_index: q.start_index,
            resources: docs,
        });
    }
    let mut docs = Vec::new();
    let mut consider = |stored: &[u8]| -> Result<(), ServiceError> {
        let m: MemberRecord = decode(stored)?;
        let doc = r.render(&m, version_of(stored), false)?;
        if q.filter
            .as_ref()
            .is_none_or(|f| f.matches(&doc, ResourceKind::User))
        {
            docs.push(doc);
        }
        Ok(())
    };
    // A filter that needs an e-mail value (Entra ID's matching by work
    // e-mail) can only match the members holding it: read those, not all.
    match q.filter.as_ref().and_then(|f| f.email_value()) {
        Some(value) => {
            let (emails, values) = (
                txn.open_table(MEMBER_EMAILS)?,
                txn.open_table(MEMBER_EMAIL_VALUES)?,
            );
            for id in members::ids_holding_email(&emails, &values, ws, &value)? {
                if let Some(v) = members_t.get((w, id))? {
                    consider(v.value())?;
                }
            }
        }
        None => {
            for entry in members_t.range((w, 0)..=(w, u128::MAX))? {
                consider(entry?.1.value())?;
            }
        }
    }
    Ok(page(docs, &q, ResourceKind::User))
}
