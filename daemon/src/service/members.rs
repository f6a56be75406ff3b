//! The invite lifecycle: invite, edit, resend, reset, archive, unarchive, remove.

use std::collections::HashMap;

use redb::ReadableTable;
use roster_shared::api::{
    EditMemberRequest, InviteRequest, LinkResponse, MemberResponse, ValidEdit, ValidInvite,
};
use roster_shared::{Email, Role, StatusModel, StoredStatus};
use uuid::Uuid;

use super::views::{self, GroupNames};
use super::{Actor, Services, audit, outbox, workspaces};
use crate::clock;
use crate::error::ServiceError;
use crate::links::LinkSigner;
use crate::store::records::{
    AccountRecord, InvitationRecord, MemberRecord, WorkspaceRecord, decode, encode_compact,
};
use crate::store::tables::*;
use crate::store::{members, new_id};

/// What a change to one member asks of the transaction besides the write.
#[derive(Debug, Default, Clone, Copy)]
pub struct Effects {
    /// Queue an invite mail with the member's current link.
    pub send_invite: bool,
}

/// A committed change, ready to answer with.
struct Changed {
    workspace: String,
    member: MemberResponse,
    mailed: bool,
    changed: bool,
}

impl Services {
    /// Invites someone: one membership, its link, its audit event and its
    /// mail, all in one transaction.
    pub async fn invite(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        req: &InviteRequest,
    ) -> Result<MemberResponse, ServiceError> {
        let valid = req.validate()?;
        let slug = self.workspace_slug(workspace);
        let model = self.settings.status_model;
        let expiry = self.settings.invite_expiry_ms;
        let (ws_slug, email) = (slug.clone(), valid.email.as_str().to_string());
        let member = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let (record, activated) = insert_invited(tx, &ws, &valid, &actor, expiry, model)?;
                let groups = GroupNames::new(&*tx.groups()?, ws.id).names(&record.groups)?;
                Ok(views::member(&record, activated, groups, model, false))
            })
            .await?;
        self.publish(&ws_slug, "member.invited", &email);
        self.wake_mailer();
        Ok(member)
    }

    /// One member by e-mail.
    pub async fn get_member(
        &self,
        workspace: Option<&str>,
        email: &str,
        reveal: bool,
    ) -> Result<MemberResponse, ServiceError> {
        let slug = self.workspace_slug(workspace);
        let key = Email::key_of(email);
        let model = self.settings.status_model;
        self.store
            .read(move |txn| {
                let (ws, m) = read_member(txn, &slug, &key)?;
                let activated = views::account_activated(&txn.open_table(ACCOUNTS)?, m.account)?;
                let groups = GroupNames::new(&txn.open_table(GROUPS)?, ws.id).names(&m.groups)?;
                Ok(views::member(&m, activated, groups, model, reveal))
            })
            .await
    }

    /// Changes name, role, groups or metadata; what is not given stays.
    pub async fn edit_member(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
        req: &EditMemberRequest,
    ) -> Result<MemberResponse, ServiceError> {
        let edit = req.validate()?;
        self.change_member(
            actor,
            workspace,
            email,
            "member.updated",
            move |tx, ws, m| {
                apply_edit(tx, ws, m, &edit)?;
                Ok(Effects::default())
            },
        )
        .await
    }

    /// Sends the current link again, or a fresh one if it has expired.
    pub async fn resend(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<MemberResponse, ServiceError> {
        let expiry = self.settings.invite_expiry_ms;
        self.change_member(
            actor,
            workspace,
            email,
            "member.invite_resent",
            move |_, ws, m| {
                require_pending(m, ws, "resend an invite")?;
                let now = clock::now_ms();
                if m.invitation.as_ref().is_none_or(|i| i.expires_at <= now) {
                    m.invitation = Some(new_invitation(expiry));
                }
                Ok(Effects { send_invite: true })
            },
        )
        .await
    }

    /// Revokes the current link and issues a new one (not mailed: use resend).
    pub async fn reset_link(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<LinkResponse, ServiceError> {
        let expiry = self.settings.invite_expiry_ms;
        self.change_member(
            actor,
            workspace.map(str::to_string).as_deref(),
            email,
            "member.link_reset",
            move |_, ws, m| {
                require_pending(m, ws, "reset the invite link")?;
                m.invitation = Some(new_invitation(expiry));
                Ok(Effects::default())
            },
        )
        .await?;
        self.link(workspace, email).await
    }

    /// The member's current invite link.
    pub async fn link(
        &self,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<LinkResponse, ServiceError> {
        let slug = self.workspace_slug(workspace);
        let key = Email::key_of(email);
        let (m, ws) = self
            .store
            .read(move |txn| {
                let (ws, m) = read_member(txn, &slug, &key)?;
                Ok((m, ws))
            })
            .await?;
        require_pending(&m, &ws, "show an invite link")?;
        let inv = m.invitation.as_ref().ok_or_else(|| {
            ServiceError::Conflict(format!(
                "{} has no open invite link; use resend or reset-link",
                m.email
            ))
        })?;
        if inv.expires_at <= clock::now_ms() {
            return Err(ServiceError::Conflict(format!(
                "the invite link of {} expired at {}; use resend or reset-link for a new one",
                m.email,
                clock::to_datetime(inv.expires_at)
            )));
        }
        Ok(LinkResponse {
            email: m.email.clone(),
            url: self.invite_url(&self.links.token(inv.id, &inv.nonce)),
            expires_at: clock::to_datetime(inv.expires_at),
        })
    }

    /// Switches a member off and revokes any open link.
    pub async fn archive(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<MemberResponse, ServiceError> {
        self.change_member(actor, workspace, email, "member.archived", |_, ws, m| {
            if m.status == StoredStatus::Archived {
                return Err(ServiceError::Conflict(format!(
                    "{} is already archived in workspace {}",
                    m.email, ws.slug
                )));
            }
            archive_record(m, clock::now_ms());
            Ok(Effects::default())
        })
        .await
    }

    /// Brings an archived member back: active if they had accepted before,
    /// otherwise invited again with a fresh link.
    pub async fn unarchive(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<MemberResponse, ServiceError> {
        let expiry = self.settings.invite_expiry_ms;
        self.change_member(
            actor,
            workspace,
            email,
            "member.unarchived",
            move |_, ws, m| {
                if m.status != StoredStatus::Archived {
                    return Err(ServiceError::Conflict(format!(
                        "{} is not archived in workspace {}",
                        m.email, ws.slug
                    )));
                }
                let send_invite = unarchive_record(m, clock::now_ms(), expiry, false);
                Ok(Effects { send_invite })
            },
        )
        .await
    }

    /// Removes a membership for good (the account stays).
    pub async fn remove_member(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
    ) -> Result<(), ServiceError> {
        let slug = self.workspace_slug(workspace);
        let key = Email::key_of(email);
        let ws_slug = slug.clone();
        let target = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let m = load_member(tx, &ws, &key)?;
                remove_record(tx, &ws, &actor, &m)?;
                Ok(m.email)
            })
            .await?;
        self.publish(&ws_slug, "member.removed", &target);
        Ok(())
    }

    /// Runs one change to one member as a use case: load, change, check the
    /// last-admin rule, write, audit, queue mail; then announce it.
    pub(crate) async fn change_member<F>(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        email: &str,
        action: &'static str,
        change: F,
    ) -> Result<MemberResponse, ServiceError>
    where
        F: Fn(&Tx<'_>, &WorkspaceRecord, &mut MemberRecord) -> Result<Effects, ServiceError>
            + Send
            + 'static,
    {
        let slug = self.workspace_slug(workspace);
        let key = Email::key_of(email);
        let model = self.settings.status_model;
        let done = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let before = load_member(tx, &ws, &key)?;
                let mut after = before.clone();
                let effects = change(tx, &ws, &mut after)?;
                let activated = views::account_activated(&*tx.accounts()?, after.account)?;
                let changed = after != before || effects.send_invite;
                if changed {
                    guard_last_admin(tx, &ws, &before, Some(&after))?;
                    let now = clock::now_ms();
                    after.updated_at = now;
                    if effects.send_invite {
                        after.last_invite_sent_at = Some(now);
                    }
                    write_change(tx, &ws, &actor, action, &before, &after)?;
                    if effects.send_invite {
                        outbox::enqueue_invite(tx, &ws, &after, &actor.name)?;
                    }
                }
                let groups = GroupNames::new(&*tx.groups()?, ws.id).names(&after.groups)?;
                Ok(Changed {
                    workspace: ws.slug.clone(),
                    member: views::member(&after, activated, groups, model, false),
                    mailed: effects.send_invite,
                    changed,
                })
            })
            .await?;
        if done.changed {
            self.publish(&done.workspace, action, &done.member.email);
        }
        if done.mailed {
            self.wake_mailer();
        }
        Ok(done.member)
    }
}

/// Applies a valid edit to a member record (not yet written): what is not
/// given stays; new metadata keeps the hidden mark of keys it still has.
pub fn apply_edit(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    m: &mut MemberRecord,
    edit: &ValidEdit,
) -> Result<(), ServiceError> {
    if let Some(name) = &edit.name {
        m.name = name.clone();
    }
    if let Some(role) = edit.role {
        m.role = role;
    }
    if let Some(groups) = &edit.groups {
        m.groups = resolve_groups(tx, ws, groups)?;
    }
    if let Some(new) = &edit.metadata {
        let kept: Vec<String> = m
            .metadata
            .hidden
            .iter()
            .filter(|k| new.values.contains_key(*k))
            .cloned()
            .collect();
        m.metadata = new.clone().with_hidden(kept)?;
    }
    if !edit.hide_keys.is_empty() {
        m.metadata = std::mem::take(&mut m.metadata).with_hidden(&edit.hide_keys)?;
    }
    Ok(())
}

/// Writes a changed member with its audit event (before → after, hidden
/// values masked): the one way every use case records a member change.
pub fn write_change(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    actor: &Actor,
    action: &str,
    before: &MemberRecord,
    after: &MemberRecord,
) -> Result<(), ServiceError> {
    members::put(tx, Some(before), after)?;
    let groups_t = tx.groups()?;
    let mut names = GroupNames::new(&*groups_t, ws.id);
    let (b, a) = (names.names(&before.groups)?, names.names(&after.groups)?);
    audit::append(
        tx,
        ws.id,
        actor,
        action,
        &after.email,
        Some(views::audit_snapshot(before, &b)),
        Some(views::audit_snapshot(after, &a)),
    )
}

/// How a new membership starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Pending, with a link and an invite mail.
    Invited,
    /// Active at once (provisioned by an SSO-managing identity provider).
    Active,
    /// Created switched off (an identity provider sent `active: false`).
    Archived,
}

/// What a new membership carries besides a valid invite.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub invite: ValidInvite,
    pub arrival: Arrival,
    pub external_id: Option<String>,
    pub scim: Option<roster_shared::scim::user::ScimProfile>,
}

/// Creates a pending membership (and the account, if new) for a valid invite.
/// Returns the member and whether its account is already activated.
pub fn insert_invited(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    v: &ValidInvite,
    actor: &Actor,
    expiry_ms: i64,
    model: StatusModel,
) -> Result<(MemberRecord, bool), ServiceError> {
    insert_member(tx, ws, invited_member(v), actor, expiry_ms, model)
}

/// A membership that starts as an invite (from an admin or a CSV row).
pub fn invited_member(v: &ValidInvite) -> NewMember {
    NewMember {
        invite: v.clone(),
        arrival: Arrival::Invited,
        external_id: None,
        scim: None,
    }
}

/// Creates a membership (and the account, if new) with its audit event and,
/// for an invite, its link and mail. Returns the member and whether its
/// account is activated.
pub fn insert_member(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    new: NewMember,
    actor: &Actor,
    expiry_ms: i64,
    model: StatusModel,
) -> Result<(MemberRecord, bool), ServiceError> {
    ensure_not_member(tx, ws, new.invite.email.key(), None, model)?;
    let mut groups = GroupResolver::default();
    insert_absent_member(tx, ws, new, actor, expiry_ms, &mut groups)
}

/// [`insert_member`] for a caller that has just found, in this
/// transaction, that the e-mail is not a member of the workspace (the
/// importer looks first to choose between inviting and updating).
/// `groups` resolves the invite's group names.
pub fn insert_absent_member(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    new: NewMember,
    actor: &Actor,
    expiry_ms: i64,
    groups: &mut GroupResolver,
) -> Result<(MemberRecord, bool), ServiceError> {
    let v = &new.invite;
    let group_ids = groups.ids(tx, ws, &v.groups)?;
    let now = clock::now_ms();
    let activated = (new.arrival == Arrival::Active).then_some(now);
    let mut account = find_or_create_account(tx, &v.email, activated)?;
    let invited = new.arrival == Arrival::Invited;
    if activated.is_some() && account.activated_at.is_none() {
        account.activated_at = activated;
        tx.accounts()?
            .insert(account.id.as_u128(), encode_compact(&account)?.as_slice())?;
    }
    let record = MemberRecord {
        id: new_id(),
        workspace: ws.id,
        account: account.id,
        email: v.email.as_str().to_string(),
        name: v.name.clone(),
        role: v.role,
        groups: group_ids,
        metadata: v.metadata.clone(),
        status: match new.arrival {
            Arrival::Invited => StoredStatus::Pending,
            Arrival::Active => StoredStatus::Active,
            Arrival::Archived => StoredStatus::Archived,
        },
        external_id: new.external_id,
        source: actor.source,
        invited_by: actor.name.clone(),
        invited_at: now,
        activated_at: (new.arrival == Arrival::Active).then_some(now),
        archived_at: (new.arrival == Arrival::Archived).then_some(now),
        last_invite_sent_at: invited.then_some(now),
        updated_at: now,
        invitation: invited.then(|| new_invitation(expiry_ms)),
        scim: new.scim,
    };
    members::put(tx, None, &record)?;
    let names = groups.names(tx, ws, &record.groups)?;
    let action = if invited {
        "member.invited"
    } else {
        "member.provisioned"
    };
    audit::append(
        tx,
        ws.id,
        actor,
        action,
        &record.email,
        None,
        Some(views::audit_snapshot(&record, &names)),
    )?;
    if invited {
        outbox::enqueue_invite(tx, ws, &record, &actor.name)?;
    }
    Ok((record, account.activated_at.is_some()))
}

/// The person's account across workspaces, made on first sight of the
/// address; a new one starts activated at `activated_at` (a member who
/// arrives active), so it is written once rather than made and then changed.
pub fn find_or_create_account(
    tx: &Tx<'_>,
    email: &Email,
    activated_at: Option<i64>,
) -> Result<AccountRecord, ServiceError> {
    let mut emails = tx.account_emails()?;
    let mut accounts = tx.accounts()?;
    if let Some(id) = emails.get(email.key())?.map(|v| v.value()) {
        let bytes = accounts
            .get(id)?
            .ok_or_else(|| ServiceError::storage("dangling account index"))?;
        return decode(bytes.value());
    }
    let account = AccountRecord {
        id: new_id(),
        email: email.as_str().to_string(),
        created_at: clock::now_ms(),
        activated_at,
    };
    accounts.insert(account.id.as_u128(), encode_compact(&account)?.as_slice())?;
    emails.insert(email.key(), account.id.as_u128())?;
    Ok(account)
}

/// Loads a workspace and one of its members by e-mail key in a read snapshot.
fn read_member(
    txn: &redb::ReadTransaction,
    slug: &str,
    key: &str,
) -> Result<(WorkspaceRecord, MemberRecord), ServiceError> {
    let ws = workspaces::find_read(txn, slug)?;
    let id = members::id_by_email(&txn.open_table(MEMBER_EMAILS)?, ws.id, key)?
        .ok_or_else(|| not_member(key, &ws))?;
    let m =
        members::get(&txn.open_table(MEMBERS)?, ws.id, id)?.ok_or_else(|| not_member(key, &ws))?;
    Ok((ws, m))
}

/// Loads a member by e-mail key inside a write transaction.
pub fn load_member(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    key: &str,
) -> Result<MemberRecord, ServiceError> {
    let id = members::id_by_email(&*tx.member_emails()?, ws.id, key)?
        .ok_or_else(|| not_member(key, ws))?;
    members::get(&*tx.members()?, ws.id, id)?.ok_or_else(|| not_member(key, ws))
}

/// Refuses an e-mail that is already a member of the workspace (other
/// than `me`), naming that member's status.
pub fn ensure_not_member(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    email_key: &str,
    me: Option<Uuid>,
    model: StatusModel,
) -> Result<(), ServiceError> {
    let Some(id) = members::id_by_email(&*tx.member_emails()?, ws.id, email_key)? else {
        return Ok(());
    };
    if me.is_some_and(|m| m.as_u128() == id) {
        return Ok(());
    }
    let existing = members::get(&*tx.members()?, ws.id, id)?
        .ok_or_else(|| ServiceError::storage("dangling e-mail index"))?;
    let activated = views::account_activated(&*tx.accounts()?, existing.account)?;
    let shown = roster_shared::MemberStatus::shown(existing.status, activated, model);
    Err(ServiceError::Taken(format!(
        "{} is already a member of workspace {} (status: {})",
        existing.email, ws.slug, shown
    )))
}

/// Switches a member off: archived now, any open link revoked.
pub fn archive_record(m: &mut MemberRecord, now: i64) {
    m.status = StoredStatus::Archived;
    m.archived_at = Some(now);
    m.invitation = None;
}

/// Brings an archived member back: active if they had accepted before (or
/// `activate` says so), else pending with a fresh link. Returns whether an
/// invite mail is due.
pub fn unarchive_record(m: &mut MemberRecord, now: i64, expiry_ms: i64, activate: bool) -> bool {
    m.archived_at = None;
    if m.activated_at.is_some() || activate {
        m.status = StoredStatus::Active;
        m.activated_at.get_or_insert(now);
        false
    } else {
        m.status = StoredStatus::Pending;
        m.invitation = Some(new_invitation(expiry_ms));
        true
    }
}

/// Removes a membership with its audit event; the last admin stays.
pub fn remove_record(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    actor: &Actor,
    m: &MemberRecord,
) -> Result<(), ServiceError> {
    guard_last_admin(tx, ws, m, None)?;
    let groups = GroupNames::new(&*tx.groups()?, ws.id).names(&m.groups)?;
    members::delete(tx, m)?;
    audit::append(
        tx,
        ws.id,
        actor,
        "member.removed",
        &m.email,
        Some(views::audit_snapshot(m, &groups)),
        None,
    )
}

/// Turns group names into ids; an unknown name is refused.
pub fn resolve_groups(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    names: &[String],
) -> Result<Vec<Uuid>, ServiceError> {
    GroupResolver::default().ids(tx, ws, names)
}

/// Group names turned into ids and ids into names within one workspace and
/// one transaction, each read once: the rows of an import batch name the
/// same few groups again and again. Only for a transaction in which no
/// group changes meanwhile (an import batch has one of its own).
#[derive(Default)]
pub struct GroupResolver {
    ids: HashMap<String, Uuid>,
    names: HashMap<Uuid, String>,
}

impl GroupResolver {
    /// The ids of groups named `names`; an unknown name is refused.
    pub fn ids(
        &mut self,
        tx: &Tx<'_>,
        ws: &WorkspaceRecord,
        names: &[String],
    ) -> Result<Vec<Uuid>, ServiceError> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let key = roster_shared::names::group_key(n);
            if let Some(id) = self.ids.get(&key) {
                out.push(*id);
                continue;
            }
            let id = tx
                .group_names()?
                .get((ws.id.as_u128(), key.as_str()))?
                .map(|v| Uuid::from_u128(v.value()))
                .ok_or_else(|| {
                    ServiceError::BadRequest(format!(
                        "group \"{n}\" does not exist in workspace {}; create it first",
                        ws.slug
                    ))
                })?;
            self.ids.insert(key, id);
            out.push(id);
        }
        Ok(out)
    }

    /// The names of groups `ids`, in their order; deleted ones are skipped.
    pub fn names(
        &mut self,
        tx: &Tx<'_>,
        ws: &WorkspaceRecord,
        ids: &[Uuid],
    ) -> Result<Vec<String>, ServiceError> {
        let unknown: Vec<Uuid> = ids
            .iter()
            .filter(|id| !self.names.contains_key(id))
            .copied()
            .collect();
        if !unknown.is_empty() {
            let found = GroupNames::new(&*tx.groups()?, ws.id).named(&unknown)?;
            self.names.extend(found);
        }
        Ok(ids
            .iter()
            .filter_map(|id| self.names.get(id).cloned())
            .collect())
    }
}

/// Refuses a change that would leave a workspace without an active admin.
pub fn guard_last_admin(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    before: &MemberRecord,
    after: Option<&MemberRecord>,
) -> Result<(), ServiceError> {
    let was = before.status == StoredStatus::Active && before.role == Role::Admin;
    let stays = after.is_some_and(|a| a.status == StoredStatus::Active && a.role == Role::Admin);
    if !was || stays {
        return Ok(());
    }
    let admins = members::count(
        &*tx.member_counts()?,
        ws.id,
        StoredStatus::Active,
        Role::Admin,
    )?;
    if admins <= 1 {
        let what = match after {
            None => "removed",
            Some(a) if a.status == StoredStatus::Archived => "archived",
            Some(_) => "demoted",
        };
        return Err(ServiceError::LastAdmin(format!(
            "{} is the last active admin of workspace {} and cannot be {what}; make another member an admin first",
            before.email, ws.slug
        )));
    }
    Ok(())
}

fn require_pending(m: &MemberRecord, ws: &WorkspaceRecord, what: &str) -> Result<(), ServiceError> {
    match m.status {
        StoredStatus::Pending => Ok(()),
        StoredStatus::Active => Err(ServiceError::Conflict(format!(
            "cannot {what}: {} has already accepted and is active in workspace {}",
            m.email, ws.slug
        ))),
        StoredStatus::Archived => Err(ServiceError::Conflict(format!(
            "cannot {what}: {} is archived in workspace {}; unarchive first",
            m.email, ws.slug
        ))),
    }
}

/// A fresh invitation that expires after `expiry_ms`.
pub fn new_invitation(expiry_ms: i64) -> InvitationRecord {
    let now = clock::now_ms();
    InvitationRecord {
        id: new_id(),
        nonce: LinkSigner::new_nonce(),
        created_at: now,
        expires_at: now + expiry_ms,
    }
}

fn not_member(key: &str, ws: &WorkspaceRecord) -> ServiceError {
    ServiceError::NotFound(format!("{key} is not a member of workspace {}", ws.slug))
}
