//! Following an invite link: looking at it, and accepting it.

use redb::ReadableTable;
use roster_shared::StoredStatus;
use roster_shared::api::Source;
use uuid::Uuid;

use super::members::write_change;
use super::{Actor, Services};
use crate::clock;
use crate::error::ServiceError;
use crate::links::LinkSigner;
use crate::store::Tx;
use crate::store::members;
use crate::store::records::{AccountRecord, MemberRecord, WorkspaceRecord, decode, encode_compact};
use crate::store::tables::*;

/// What the invite page shows about a valid link.
#[derive(Debug, Clone)]
pub struct OpenInvite {
    pub workspace_name: String,
    pub name: String,
    pub email: String,
    pub invited_by: String,
    pub expires_at: i64,
}

/// Every way a link can be unusable. The page treats them all alike so
/// that nobody can learn which links exist; the log keeps the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLink {
    Malformed,
    Unknown,
    BadSignature,
    Expired,
    NotPending,
}

impl Services {
    /// Looks up a link without changing anything.
    pub async fn open_invite(
        &self,
        token: &str,
    ) -> Result<Result<OpenInvite, DeadLink>, ServiceError> {
        let Some((id, sig)) = LinkSigner::parse(token) else {
            return Ok(Err(DeadLink::Malformed));
        };
        let links = self.links.clone();
        self.store
            .read(move |txn| {
                let found = find_live(
                    &txn.open_table(INVITATIONS)?,
                    &txn.open_table(MEMBERS)?,
                    &txn.open_table(WORKSPACES)?,
                    &links,
                    id,
                    &sig,
                )?;
                Ok(found.map(|(ws, m)| OpenInvite {
                    workspace_name: ws.name,
                    expires_at: m
                        .invitation
                        .as_ref()
                        .map(|i| i.expires_at)
                        .unwrap_or_default(),
                    name: m.name,
                    email: m.email,
                    invited_by: m.invited_by,
                }))
            })
            .await
    }

    /// Accepts a link: the membership becomes active, the account activated,
    /// the link void. Returns the invite that was accepted.
    pub async fn accept_invite(
        &self,
        token: &str,
    ) -> Result<Result<OpenInvite, DeadLink>, ServiceError> {
        let Some((id, sig)) = LinkSigner::parse(token) else {
            return Ok(Err(DeadLink::Malformed));
        };
        let links = self.links.clone();
        let outcome = self
            .store
            .write(move |tx| {
                let found = find_live(
                    &*tx.invitations()?,
                    &*tx.members()?,
                    &*tx.workspaces()?,
                    &links,
                    id,
                    &sig,
                )?;
                let (ws, before) = match found {
                    Ok(found) => found,
                    Err(dead) => return Ok(Err(dead)),
                };
                let now = clock::now_ms();
                let expires_at = before
                    .invitation
                    .as_ref()
                    .map(|i| i.expires_at)
                    .unwrap_or_default();
                let mut after = before.clone();
                after.status = StoredStatus::Active;
                after.activated_at = Some(now);
                after.invitation = None;
                after.updated_at = now;
                activate_account(tx, &after, now)?;
                let actor = Actor {
                    name: after.email.clone(),
                    source: Source::Invite,
                };
                write_change(tx, &ws, &actor, "member.accepted", &before, &after)?;
                Ok(Ok((
                    ws.slug.clone(),
                    OpenInvite {
                        workspace_name: ws.name,
                        name: after.name,
                        email: after.email,
                        invited_by: after.invited_by,
                        expires_at,
                    },
                )))
            })
            .await?;
        Ok(outcome.map(|(slug, invite)| {
            self.publish(&slug, "member.accepted", &invite.email);
            invite
        }))
    }
}

/// Finds the workspace and member a link belongs to, if the link is live.
fn find_live<I, M, W>(
    invitations: &I,
    members_t: &M,
    workspaces: &W,
    links: &LinkSigner,
    id: Uuid,
    sig: &[u8],
) -> Result<Result<(WorkspaceRecord, MemberRecord), DeadLink>, ServiceError>
where
    I: ReadableTable<u128, (u128, u128)>,
    M: ReadableTable<(u128, u128), &'static [u8]>,
    W: ReadableTable<u128, &'static [u8]>,
{
    let Some((ws_id, mid)) = invitations.get(id.as_u128())?.map(|v| v.value()) else {
        return Ok(Err(DeadLink::Unknown));
    };
    let Some(m) = members::get(members_t, Uuid::from_u128(ws_id), mid)? else {
        return Ok(Err(DeadLink::Unknown));
    };
    if let Err(dead) = check(links, &m, id, sig) {
        return Ok(Err(dead));
    }
    let Some(ws) = workspaces
        .get(ws_id)?
        .map(|v| decode::<WorkspaceRecord>(v.value()))
        .transpose()?
    else {
        return Ok(Err(DeadLink::Unknown));
    };
    Ok(Ok((ws, m)))
}

fn check(links: &LinkSigner, m: &MemberRecord, id: Uuid, sig: &[u8]) -> Result<(), DeadLink> {
    let Some(inv) = m.invitation.as_ref().filter(|i| i.id == id) else {
        return Err(DeadLink::Unknown);
    };
    if !links.verify(id, &inv.nonce, sig) {
        return Err(DeadLink::BadSignature);
    }
    if m.status != StoredStatus::Pending {
        return Err(DeadLink::NotPending);
    }
    if inv.expires_at <= clock::now_ms() {
        return Err(DeadLink::Expired);
    }
    Ok(())
}

fn activate_account(tx: &Tx<'_>, m: &MemberRecord, now: i64) -> Result<(), ServiceError> {
    let mut accounts = tx.accounts()?;
    let Some(bytes) = accounts
        .get(m.account.as_u128())?
        .map(|v| v.value().to_vec())
    else {
        return Err(ServiceError::storage("member without account"));
    };
    let mut account: AccountRecord = decode(&bytes)?;
    if account.activated_at.is_none() {
        account.activated_at = Some(now);
        accounts.insert(account.id.as_u128(), encode_compact(&account)?.as_slice())?;
    }
    Ok(())
}
