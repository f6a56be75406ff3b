//! The mail outbox as data: queueing, listing, retrying, and the worker's
//! claims and outcomes. Sending itself lives in `crate::mail`.

use std::collections::HashSet;
use std::ops::Bound;

use redb::ReadableTable;
use roster_shared::api::{
    DEFAULT_PAGE, MAX_PAGE, MailQuery, MailResponse, MailStatus, Page, RetryMailResponse,
};
use uuid::Uuid;

use super::{Actor, Services, audit, workspaces};
use crate::clock;
use crate::error::ServiceError;
use crate::store::Tx;
use crate::store::keys;
use crate::store::new_id;
use crate::store::records::{MemberRecord, OutboxRecord, WorkspaceRecord, decode, encode_compact};
use crate::store::tables::*;

/// Queues an invite mail for a member's current link, in the caller's transaction.
pub fn enqueue_invite(
    tx: &Tx<'_>,
    ws: &WorkspaceRecord,
    m: &MemberRecord,
    inviter: &str,
) -> Result<(), ServiceError> {
    let Some(inv) = &m.invitation else {
        return Err(ServiceError::storage(
            "invite mail queued for a member without a link",
        ));
    };
    let now = clock::now_ms();
    let msg = OutboxRecord {
        id: new_id(),
        workspace: ws.id,
        member: m.id,
        invitation: inv.id,
        to: m.email.clone(),
        subject: format!("You are invited to join {} on roster", ws.name),
        inviter: inviter.to_string(),
        status: MailStatus::Queued,
        attempts: 0,
        last_error: None,
        created_at: now,
        next_attempt_at: Some(now),
        sent_at: None,
    };
    // A new message: nothing in this transaction reads it back.
    tx.aside(move |tx| put(tx, None, &msg))
}

/// Writes a message and keeps the due-queue in step with its state.
fn put(tx: &Tx<'_>, old: Option<&OutboxRecord>, msg: &OutboxRecord) -> Result<(), ServiceError> {
    let mut due = tx.outbox_due()?;
    if let Some(at) = old.and_then(|o| o.next_attempt_at) {
        due.remove((at, msg.id.as_u128()))?;
    }
    if let (MailStatus::Queued, Some(at)) = (msg.status, msg.next_attempt_at) {
        due.insert((at, msg.id.as_u128()), msg.workspace.as_u128())?;
    }
    if old.is_none_or(|o| o.status != msg.status) {
        let mut statuses = tx.outbox_statuses()?;
        let (w, id) = (msg.workspace.as_u128(), msg.id.as_u128());
        if let Some(o) = old {
            statuses.remove((w, o.status.code(), id))?;
        }
        statuses.insert((w, msg.status.code(), id), ())?;
    }
    tx.outbox()?.insert(
        (msg.workspace.as_u128(), msg.id.as_u128()),
        encode_compact(msg)?.as_slice(),
    )?;
    Ok(())
}

/// Ids of a workspace's messages in one status, newest first, before `before`.
fn ids_by_status(
    statuses: &impl ReadableTable<(u128, u8, u128), ()>,
    w: u128,
    status: MailStatus,
    before: Option<u128>,
    limit: usize,
) -> Result<Vec<u128>, ServiceError> {
    let s = status.code();
    let hi = before.map_or(Bound::Included((w, s, u128::MAX)), |id| {
        Bound::Excluded((w, s, id))
    });
    let mut ids = Vec::new();
    for entry in statuses
        .range::<(u128, u8, u128)>((Bound::Included((w, s, 0)), hi))?
        .rev()
    {
        ids.push(entry?.0.value().2);
        if ids.len() == limit {
            break;
        }
    }
    Ok(ids)
}

/// A message the worker should send now, with what it needs to render it.
#[derive(Debug, Clone)]
pub struct DueMail {
    pub message: OutboxRecord,
    pub workspace_name: String,
    /// The member as it is now, if its link is still the one queued.
    pub member: Option<MemberRecord>,
}

/// How one send attempt ended.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    Sent,
    Cancelled(String),
    /// Put off by the server: tried again after the back-off, until the
    /// last attempt.
    Failed(String),
    /// Refused for good (an unknown mailbox, an address the server will not
    /// take): failed at once, kept with the server's answer for `mail retry`.
    Rejected(String),
}

/// Retry policy of the worker.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff_ms: i64,
    pub max_backoff_ms: i64,
}

impl RetryPolicy {
    /// Delay before attempt `attempts + 1`: doubling from the initial back-off.
    pub fn delay_ms(&self, attempts: u32) -> i64 {
        let factor = 1i64 << attempts.saturating_sub(1).min(30);
        self.initial_backoff_ms
            .saturating_mul(factor)
            .min(self.max_backoff_ms)
    }
}

impl Services {
    /// Messages due by now, oldest first, skipping those already in flight;
    /// and when the next one after them falls due.
    pub async fn due_mail(
        &self,
        limit: usize,
        in_flight: HashSet<Uuid>,
    ) -> Result<(Vec<DueMail>, Option<i64>), ServiceError> {
        self.store
            .read(move |txn| {
                let now = clock::now_ms();
                let due = txn.open_table(OUTBOX_DUE)?;
                let outbox = txn.open_table(OUTBOX)?;
                let members_t = txn.open_table(MEMBERS)?;
                let wss = txn.open_table(WORKSPACES)?;
                let mut out = Vec::new();
                let mut next = None;
                for entry in due.iter()? {
                    let (k, ws) = entry?;
                    let (at, id) = k.value();
                    if at > now {
                        next = Some(at);
                        break;
                    }
                    if in_flight.contains(&Uuid::from_u128(id)) {
                        continue;
                    }
                    if out.len() == limit {
                        next = Some(now);
                        break;
                    }
                    let Some(bytes) = outbox.get((ws.value(), id))? else {
                        continue;
                    };
                    let message: OutboxRecord = decode(bytes.value())?;
                    let ws_rec: WorkspaceRecord = match wss.get(ws.value())? {
                        Some(v) => decode(v.value())?,
                        None => continue,
                    };
                    let member = crate::store::members::get(
                        &members_t,
                        message.workspace,
                        message.member.as_u128(),
                    )?
                    .filter(|m| {
                        m.invitation
                            .as_ref()
                            .is_some_and(|i| i.id == message.invitation)
                    });
                    out.push(DueMail {
                        message,
                        workspace_name: ws_rec.name,
                        member,
                    });
                }
                Ok((out, next))
            })
            .await
    }

    /// Records how a send attempt ended.
    pub async fn record_send(
        &self,
        message: Uuid,
        workspace: Uuid,
        outcome: SendOutcome,
        policy: RetryPolicy,
    ) -> Result<(), ServiceError> {
        let done = self
            .store
            .write(move |tx| {
                let Some(bytes) = tx
                    .outbox()?
                    .get((workspace.as_u128(), message.as_u128()))?
                    .map(|v| v.value().to_vec())
                else {
                    return Ok(None);
                };
                let old: OutboxRecord = decode(&bytes)?;
                if old.status != MailStatus::Queued {
                    return Ok(None);
                }
                let mut msg = old.clone();
                let now = clock::now_ms();
                match &outcome {
                    SendOutcome::Sent => {
                        msg.status = MailStatus::Sent;
                        msg.attempts += 1;
                        msg.sent_at = Some(now);
                        msg.next_attempt_at = None;
                        msg.last_error = None;
                    }
                    SendOutcome::Cancelled(why) => {
                        msg.status = MailStatus::Cancelled;
                        msg.next_attempt_at = None;
                        msg.last_error = Some(why.clone());
                    }
                    SendOutcome::Rejected(err) => {
                        msg.attempts += 1;
                        msg.last_error = Some(err.clone());
                        msg.status = MailStatus::Failed;
                        msg.next_attempt_at = None;
                    }
                    SendOutcome::Failed(err) => {
                        msg.attempts += 1;
                        msg.last_error = Some(err.clone());
                        if msg.attempts >= policy.max_attempts {
                            msg.status = MailStatus::Failed;
                            msg.next_attempt_at = None;
                        } else {
                            msg.next_attempt_at = Some(now + policy.delay_ms(msg.attempts));
                        }
                    }
                }
                put(tx, Some(&old), &msg)?;
                if msg.status == MailStatus::Failed {
                    audit::append(
                        tx,
                        workspace,
                        &Actor::system(),
                        "mail.failed",
                        &msg.to,
                        None,
                        Some(
                            serde_json::json!({"attempts": msg.attempts, "error": msg.last_error}),
                        ),
                    )?;
                }
                let wss = tx.workspaces()?;
                let slug = match wss.get(workspace.as_u128())? {
                    Some(v) => decode::<WorkspaceRecord>(v.value())?.slug,
                    None => String::new(),
                };
                Ok(Some((slug, msg.to.clone(), msg.status)))
            })
            .await?;
        if let Some((slug, to, status)) = done {
            self.publish(&slug, &format!("mail.{}", status.as_str()), &to);
        }
        Ok(())
    }

    /// `mail list`: newest first.
    pub async fn list_mail(&self, q: MailQuery) -> Result<Page<MailResponse>, ServiceError> {
        let slug = self.workspace_slug(q.workspace.as_deref());
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        self.store
            .read(move |txn| {
                let ws = workspaces::find_read(txn, &slug)?;
                let w = ws.id.as_u128();
                let hi = match &q.cursor {
                    Some(c) => {
                        Bound::Excluded((w, keys::cursor_id(&keys::decode_cursor(c, 1)?[0])?))
                    }
                    None => Bound::Included((w, u128::MAX)),
                };
                let table = txn.open_table(OUTBOX)?;
                let mut items = Vec::new();
                if let Some(status) = q.status {
                    let before = match &hi {
                        Bound::Excluded((_, id)) => Some(*id),
                        _ => None,
                    };
                    for id in
                        ids_by_status(&txn.open_table(OUTBOX_STATUSES)?, w, status, before, limit)?
                    {
                        if let Some(v) = table.get((w, id))? {
                            items.push(mail_view(&ws, decode(v.value())?));
                        }
                    }
                } else {
                    for entry in table
                        .range::<(u128, u128)>((Bound::Included((w, 0)), hi))?
                        .rev()
                    {
                        items.push(mail_view(&ws, decode(entry?.1.value())?));
                        if items.len() == limit {
                            break;
                        }
                    }
                }
                let next_cursor = (items.len() == limit)
                    .then(|| {
                        items.last().map(|m: &MailResponse| {
                            keys::encode_cursor(std::slice::from_ref(&m.id))
                        })
                    })
                    .flatten();
                Ok(Page {
                    items,
                    next_cursor,
                    total: None,
                })
            })
            .await
    }

    /// `mail retry`: queues failed messages again (one, or all of a workspace).
    pub async fn retry_mail(
        &self,
        actor: Actor,
        workspace: Option<&str>,
        id: Option<&str>,
    ) -> Result<RetryMailResponse, ServiceError> {
        let slug = self.workspace_slug(workspace);
        let one = id
            .map(|s| {
                Uuid::parse_str(s.trim())
                    .map_err(|_| ServiceError::BadRequest(format!("\"{s}\" is not a mail id")))
            })
            .transpose()?;
        let ws_slug = slug.clone();
        let queued = self
            .store
            .write(move |tx| {
                let ws = workspaces::find_write(tx, &slug)?;
                let w = ws.id.as_u128();
                let candidates: Vec<OutboxRecord> = {
                    let table = tx.outbox()?;
                    match one {
                        Some(id) => {
                            let m = table
                                .get((w, id.as_u128()))?
                                .map(|v| decode::<OutboxRecord>(v.value()))
                                .transpose()?
                                .ok_or_else(|| {
                                    ServiceError::NotFound(format!(
                                        "no mail {id} in workspace {}",
                                        ws.slug
                                    ))
                                })?;
                            if m.status != MailStatus::Failed {
                                return Err(ServiceError::Conflict(format!(
                                    "mail {id} is {}, not failed",
                                    m.status.as_str()
                                )));
                            }
                            vec![m]
                        }
                        None => {
                            let ids = ids_by_status(
                                &*tx.outbox_statuses()?,
                                w,
                                MailStatus::Failed,
                                None,
                                usize::MAX,
                            )?;
                            let mut v = Vec::with_capacity(ids.len());
                            for id in ids {
                                if let Some(bytes) = table.get((w, id))? {
                                    v.push(decode::<OutboxRecord>(bytes.value())?);
                                }
                            }
                            v
                        }
                    }
                };
                let now = clock::now_ms();
                for old in &candidates {
                    let mut m = old.clone();
                    m.status = MailStatus::Queued;
                    m.attempts = 0;
                    m.next_attempt_at = Some(now);
                    put(tx, Some(old), &m)?;
                    audit::append(tx, ws.id, &actor, "mail.retried", &m.to, None, None)?;
                }
                Ok(candidates.len() as u64)
            })
            .await?;
        if queued > 0 {
            self.publish(&ws_slug, "mail.queued", "");
            self.wake_mailer();
        }
        Ok(RetryMailResponse { queued })
    }
}

fn mail_view(ws: &WorkspaceRecord, m: OutboxRecord) -> MailResponse {
    MailResponse {
        id: m.id.to_string(),
        workspace: ws.slug.clone(),
        to: m.to,
        subject: m.subject,
        status: m.status,
        attempts: m.attempts,
        last_error: m.last_error,
        created_at: clock::to_datetime(m.created_at),
        next_attempt_at: m.next_attempt_at.map(clock::to_datetime),
        sent_at: m.sent_at.map(clock::to_datetime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff_ms: 1000,
            max_backoff_ms: 5000,
        };
        let delays: Vec<i64> = (1..=5).map(|a| p.delay_ms(a)).collect();
        assert_eq!(delays, vec![1000, 2000, 4000, 5000, 5000]);
    }
}
