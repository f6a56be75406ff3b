//! SCIM Users: create, read, list, replace, patch, delete.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use roster_shared::api::ValidInvite;
use roster_shared::scim::user::{ScimUserInput, resolve_metadata};
use roster_shared::scim::{Lookup, PatchOp, ResourceKind, ScimError, patch};
use roster_shared::{Email, Role, StoredStatus};
use serde_json::Value;
use uuid::Uuid;

use super::render::{UserRenderer, member_version};
use super::{ScimPage, ScimQuery, ScimScope, check_if_match, parse_id, sort_docs};
use crate::clock;
use crate::error::ServiceError;
use crate::service::members::{
    Arrival, NewMember, find_or_create_account, guard_last_admin, insert_member, new_invitation,
    write_change,
};
use crate::service::views::GroupNames;
use crate::service::{Services, outbox, workspaces};
use crate::store::members;
use crate::store::records::{MemberRecord, WorkspaceRecord};
use crate::store::tables::*;

/// A committed write: the document to answer with and what to announce.
struct Written {
    workspace: String,
    doc: Value,
    action: Option<&'static str>,
    email: String,
    mailed: bool,
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
        let (model, expiry, base) = (
            self.settings.status_model,
            self.settings.invite_expiry_ms,
            self.scim_base(),
        );
        let w = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                if let Some(id) =
                    members::id_by_email(&txn.open_table(MEMBER_EMAILS)?, ws.id, input.email.key())?
                {
                    return Err(ScimError::uniqueness(format!(
                        "userName {} is already taken in workspace {} (by User {})",
                        input.email.as_str(),
                        ws.slug,
                        Uuid::from_u128(id)
                    ))
                    .into());
                }
                check_external_id(txn, &ws, input.external_id.as_deref(), None)?;
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
                    scim: profile_of(&input),
                };
                let (m, _) = insert_member(txn, &ws, new, &actor, expiry, model)?;
                let doc = renderer(txn, &ws, model, base.clone())?.render(&m, false)?;
                Ok(Written {
                    workspace: ws.slug,
                    doc,
                    action: Some(match arrival {
                        Arrival::Invited => "member.invited",
                        _ => "member.provisioned",
                    }),
                    email: m.email,
                    mailed: arrival == Arrival::Invited,
                })
            })
            .await?;
        Ok(self.announce(w))
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(&self, scope: &ScimScope, id: &str) -> Result<Value, ServiceError> {
        let id = parse_id("User", id)?;
        let slug = scope.workspace.clone();
        let (model, base) = (self.settings.status_model, self.scim_base());
        self.store
            .read(move |txn| {
                let ws = workspaces::find_read(txn, &slug)?;
                let m = members::get(&txn.open_table(MEMBERS)?, ws.id, id.as_u128())?
                    .ok_or_else(|| user_not_found(id))?;
                let groups_t = txn.open_table(GROUPS)?;
                let accounts = txn.open_table(ACCOUNTS)?;
                let mut r = UserRenderer {
                    base_url: base,
                    model,
                    groups: GroupNames::new(&groups_t, ws.id),
                    accounts: &accounts,
                };
                r.render(&m, false)
            })
            .await
    }

    /// `GET /Users` and `POST /Users/.search`.
    pub async fn scim_list_users(
        &self,
        scope: &ScimScope,
        q: ScimQuery,
    ) -> Result<ScimPage, ServiceError> {
        let slug = scope.workspace.clone();
        let (model, base) = (self.settings.status_model, self.scim_base());
        self.store
            .read(move |txn| list_users(txn, &slug, model, base, q))
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
        self.scim_change_user(scope, id, if_match, move |_, _| Ok(input.clone()))
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
        self.scim_change_user(scope, id, if_match, move |r, m| {
            let mut doc = r(m)?;
            patch::apply(&mut doc, &ops, ResourceKind::User)?;
            let mut input = ScimUserInput::from_doc(&doc)?;
            // The working copy lists both metadata kinds; one that is gone was removed.
            input.metadata.get_or_insert_with(Vec::new);
            input.hidden_metadata.get_or_insert_with(Vec::new);
            Ok(input)
        })
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
        let (ws_slug, email) = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                let m = members::get(&txn.open_table(MEMBERS)?, ws.id, id.as_u128())?
                    .ok_or_else(|| user_not_found(id))?;
                check_if_match(if_match.as_deref(), &member_version(&m)?)?;
                guard_last_admin(txn, &ws, &m, None)?;
                let groups = GroupNames::new(&txn.open_table(GROUPS)?, ws.id).names(&m.groups)?;
                members::delete(txn, &m)?;
                crate::service::audit::append(
                    txn,
                    ws.id,
                    &actor,
                    "member.removed",
                    &m.email,
                    Some(crate::service::views::audit_snapshot(&m, &groups)),
                    None,
                )?;
                Ok((ws.slug, m.email))
            })
            .await?;
        self.publish(&ws_slug, "member.removed", &email);
        Ok(())
    }

    /// One change to one User: load by id, check the version, derive the
    /// new fields, apply the status transition, write, audit, mail.
    async fn scim_change_user<F>(
        &self,
        scope: &ScimScope,
        id: &str,
        if_match: Option<String>,
        derive: F,
    ) -> Result<Value, ServiceError>
    where
        F: Fn(
                &mut dyn FnMut(&MemberRecord) -> Result<Value, ServiceError>,
                &MemberRecord,
            ) -> Result<ScimUserInput, ServiceError>
            + Send
            + 'static,
    {
        let id = parse_id("User", id)?;
        let (slug, actor) = (scope.workspace.clone(), scope.actor.clone());
        let (model, expiry, base) = (
            self.settings.status_model,
            self.settings.invite_expiry_ms,
            self.scim_base(),
        );
        let w = self
            .store
            .write(move |txn| {
                let ws = workspaces::find_write(txn, &slug)?;
                let before = members::get(&txn.open_table(MEMBERS)?, ws.id, id.as_u128())?
                    .ok_or_else(|| user_not_found(id))?;
                check_if_match(if_match.as_deref(), &member_version(&before)?)?;
                let input = {
                    let groups_t = txn.open_table(GROUPS)?;
                    let accounts = txn.open_table(ACCOUNTS)?;
                    let mut r = UserRenderer {
                        base_url: base.clone(),
                        model,
                        groups: GroupNames::new(&groups_t, ws.id),
                        accounts: &accounts,
                    };
                    derive(&mut |m| r.render(m, true), &before)?
                };
                let mut after = before.clone();
                let (action, mail) = apply_input(txn, &ws, &mut after, &input, expiry)?;
                let changed = after != before;
                if changed {
                    guard_last_admin(txn, &ws, &before, Some(&after))?;
                    after.updated_at = clock::now_ms();
                    if mail {
                        after.last_invite_sent_at = Some(after.updated_at);
                    }
                    write_change(txn, &ws, &actor, action, &before, &after)?;
                    if mail {
                        outbox::enqueue_invite(txn, &ws, &after, &actor.name)?;
                    }
                }
                let doc = renderer(txn, &ws, model, base.clone())?.render(&after, false)?;
                Ok(Written {
                    workspace: ws.slug,
                    doc,
                    action: changed.then_some(action),
                    email: after.email,
                    mailed: changed && mail,
                })
            })
            .await?;
        Ok(self.announce(w))
    }

    fn announce(&self, w: Written) -> Value {
        if let Some(action) = w.action {
            self.publish(&w.workspace, action, &w.email);
        }
        if w.mailed {
            self.wake_mailer();
        }
        w.doc
    }
}

/// Applies validated User input to a record; returns the audit action and
/// whether an invite mail is due (a reactivated member who never accepted).
fn apply_input(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    m: &mut MemberRecord,
    input: &ScimUserInput,
    expiry_ms: i64,
) -> Result<(&'static str, bool), ServiceError> {
    if input.email.key() != m.email_key() {
        if let Some(other) =
            members::id_by_email(&txn.open_table(MEMBER_EMAILS)?, ws.id, input.email.key())?
            && other != m.id.as_u128()
        {
            return Err(ScimError::uniqueness(format!(
                "userName {} is already taken in workspace {}",
                input.email.as_str(),
                ws.slug
            ))
            .into());
        }
        m.account = find_or_create_account(txn, &input.email)?.id;
    }
    m.email = input.email.as_str().to_string();
    if let Some(name) = &input.name {
        m.name = name.clone();
    }
    m.scim = profile_of(input);
    check_external_id(txn, ws, input.external_id.as_deref(), Some(m.id))?;
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
            m.status = StoredStatus::Archived;
            m.archived_at = Some(now);
            m.invitation = None;
            ("member.archived", false)
        }
        (Some(true), StoredStatus::Archived) => {
            m.archived_at = None;
            if m.activated_at.is_some() || ws.scim_creates_active {
                m.status = StoredStatus::Active;
                m.activated_at.get_or_insert(now);
                ("member.unarchived", false)
            } else {
                m.status = StoredStatus::Pending;
                m.invitation = Some(new_invitation(expiry_ms));
                ("member.unarchived", true)
            }
        }
        _ => ("member.updated", false),
    })
}

/// Once an IdP has written a member, its profile is kept exactly (even
/// empty), so what it removed stays removed.
fn profile_of(input: &ScimUserInput) -> Option<roster_shared::scim::user::ScimProfile> {
    Some(input.profile.clone())
}

/// Refuses an externalId that another member of the workspace already has.
fn check_external_id(
    txn: &WriteTransaction,
    ws: &WorkspaceRecord,
    external_id: Option<&str>,
    me: Option<Uuid>,
) -> Result<(), ServiceError> {
    let Some(x) = external_id else { return Ok(()) };
    let owner = txn
        .open_table(MEMBER_EXTERNAL_IDS)?
        .get((ws.id.as_u128(), x))?
        .map(|v| v.value());
    match owner {
        Some(o) if Some(o) != me.map(|u| u.as_u128()) => Err(ScimError::uniqueness(format!(
            "externalId {x} already belongs to User {} in workspace {}",
            Uuid::from_u128(o),
            ws.slug
        ))
        .into()),
        _ => Ok(()),
    }
}

fn renderer<'t>(
    txn: &'t WriteTransaction,
    ws: &WorkspaceRecord,
    model: roster_shared::StatusModel,
    base: String,
) -> Result<UserRendererOwned<'t>, ServiceError> {
    Ok(UserRendererOwned {
        groups: txn.open_table(GROUPS)?,
        accounts: txn.open_table(ACCOUNTS)?,
        ws: ws.id,
        model,
        base,
    })
}

/// A renderer that owns its tables (for the end of a write).
struct UserRendererOwned<'t> {
    groups: redb::Table<'t, (u128, u128), &'static [u8]>,
    accounts: redb::Table<'t, u128, &'static [u8]>,
    ws: Uuid,
    model: roster_shared::StatusModel,
    base: String,
}

impl UserRendererOwned<'_> {
    fn render(&mut self, m: &MemberRecord, working_copy: bool) -> Result<Value, ServiceError> {
        UserRenderer {
            base_url: self.base.clone(),
            model: self.model,
            groups: GroupNames::new(&self.groups, self.ws),
            accounts: &self.accounts,
        }
        .render(m, working_copy)
    }
}

fn user_not_found(id: Uuid) -> ServiceError {
    ScimError::not_found(format!("User {id} not found")).into()
}

fn list_users(
    txn: &ReadTransaction,
    slug: &str,
    model: roster_shared::StatusModel,
    base: String,
    q: ScimQuery,
) -> Result<ScimPage, ServiceError> {
    let ws = workspaces::find_read(txn, slug)?;
    let w = ws.id.as_u128();
    let members_t = txn.open_table(MEMBERS)?;
    let groups_t = txn.open_table(GROUPS)?;
    let accounts = txn.open_table(ACCOUNTS)?;
    let mut r = UserRenderer {
        base_url: base,
        model,
        groups: GroupNames::new(&groups_t, ws.id),
        accounts: &accounts,
    };
    let start = q.start_index.max(1);
    let project = |mut d: Value| {
        q.projection.apply(&mut d, ResourceKind::User);
        d
    };
    // Index lookups: userName, externalId, id (and or-lists of them).
    if let Some(lookup) = q.filter.as_ref().and_then(|f| f.lookup(ResourceKind::User)) {
        let mut ids: Vec<u128> = Vec::new();
        match &lookup {
            Lookup::UserName(vals) => {
                let emails = txn.open_table(MEMBER_EMAILS)?;
                for v in vals {
                    ids.extend(members::id_by_email(&emails, ws.id, &Email::key_of(v))?);
                }
            }
            Lookup::ExternalId(vals) => {
                let ext = txn.open_table(MEMBER_EXTERNAL_IDS)?;
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
        for id in ids {
            if let Some(m) = members::get(&members_t, ws.id, id)? {
                docs.push(r.render(&m, false)?);
            }
        }
        return Ok(page(docs, &q, start, project));
    }
    // No filter, no sort: creation order, rendering only the page.
    if q.filter.is_none() && q.sort_by.is_none() {
        let total = members::count_all(&txn.open_table(MEMBER_COUNTS)?, ws.id)? as usize;
        let mut docs = Vec::new();
        if q.count > 0 {
            for entry in members_t
                .range((w, 0)..=(w, u128::MAX))?
                .skip(start - 1)
                .take(q.count)
            {
                let (_, v) = entry?;
                let m: MemberRecord = crate::store::records::decode(v.value())?;
                docs.push(project(r.render(&m, false)?));
            }
        }
        return Ok(ScimPage {
            total,
            start_index: start,
            resources: docs,
        });
    }
    let mut docs = Vec::new();
    for entry in members_t.range((w, 0)..=(w, u128::MAX))? {
        let (_, v) = entry?;
        let m: MemberRecord = crate::store::records::decode(v.value())?;
        let doc = r.render(&m, false)?;
        if q.filter
            .as_ref()
            .is_none_or(|f| f.matches(&doc, ResourceKind::User))
        {
            docs.push(doc);
        }
    }
    Ok(page(docs, &q, start, project))
}

/// Sorts (if asked), then cuts one page out of all matching documents.
pub(super) fn page(
    mut docs: Vec<Value>,
    q: &ScimQuery,
    start: usize,
    project: impl Fn(Value) -> Value,
) -> ScimPage {
    if let Some(by) = &q.sort_by {
        sort_docs(&mut docs, by, q.descending);
    }
    let total = docs.len();
    let resources = docs
        .into_iter()
        .skip(start - 1)
        .take(q.count)
        .map(project)
        .collect();
    ScimPage {
        total,
        start_index: start,
        resources,
    }
}
