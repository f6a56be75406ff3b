//! The append-only audit log.

use std::ops::Bound;

use redb::ReadTransaction;
use roster_shared::api::{AuditEventResponse, AuditQuery, DEFAULT_PAGE, MAX_PAGE, Page};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::Actor;
use crate::clock;
use crate::error::ServiceError;
use crate::store::Tx;
use crate::store::keys;
use crate::store::new_id;
use crate::store::records::{AuditRecord, WorkspaceRecord, decode, encode_compact};
use crate::store::tables::AUDIT;

/// Appends one event inside the use case's transaction.
pub fn append(
    tx: &Tx<'_>,
    workspace: Uuid,
    actor: &Actor,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), ServiceError> {
    let record = AuditRecord {
        id: new_id(),
        at: clock::now_ms(),
        actor: actor.name.clone(),
        source: actor.source,
        action: action.to_string(),
        target: target.to_string(),
        before,
        after,
    };
    let key = (workspace.as_u128(), record.id.as_u128());
    tx.aside(move |tx| {
        tx.audit()?
            .insert(key, encode_compact(&record)?.as_slice())?;
        Ok(())
    })
}

/// Lists events newest first, filtered.
pub fn list(
    txn: &ReadTransaction,
    ws: &WorkspaceRecord,
    q: &AuditQuery,
) -> Result<Page<AuditEventResponse>, ServiceError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let since = q
        .since
        .as_deref()
        .map(|s| parse_time("since", s))
        .transpose()?;
    let until = q
        .until
        .as_deref()
        .map(|s| parse_time("until", s))
        .transpose()?;
    let source = q
        .source
        .as_deref()
        .map(|s| {
            roster_shared::api::Source::parse(s).ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "unknown source \"{s}\": use tui, cli, scim, csv, api, invite or system"
                ))
            })
        })
        .transpose()?;
    let w = ws.id.as_u128();
    // Events are keyed by UUIDv7, so a time bound is an id bound.
    let hi = match (&q.cursor, until) {
        (Some(c), _) => Bound::Excluded((w, keys::cursor_id(&keys::decode_cursor(c, 1)?[0])?)),
        (None, Some(t)) => Bound::Excluded((w, time_floor_id(t))),
        (None, None) => Bound::Included((w, u128::MAX)),
    };
    let lo = Bound::Included((w, since.map(time_floor_id).unwrap_or(0)));
    let table = txn.open_table(AUDIT)?;
    let mut items = Vec::new();
    for entry in table.range::<(u128, u128)>((lo, hi))?.rev() {
        let (_, v) = entry?;
        let r: AuditRecord = decode(v.value())?;
        let keep = q
            .target
            .as_deref()
            .is_none_or(|t| r.target.eq_ignore_ascii_case(t.trim()))
            && q.actor
                .as_deref()
                .is_none_or(|a| r.actor.eq_ignore_ascii_case(a.trim()))
            && source.is_none_or(|s| r.source == s)
            && q.action
                .as_deref()
                .is_none_or(|a| r.action.starts_with(a.trim()));
        if keep {
            items.push(view(ws, r));
            if items.len() == limit {
                break;
            }
        }
    }
    let next_cursor = (items.len() == limit)
        .then(|| {
            items
                .last()
                .map(|e: &AuditEventResponse| keys::encode_cursor(std::slice::from_ref(&e.id)))
        })
        .flatten();
    Ok(Page {
        items,
        next_cursor,
        total: None,
    })
}

fn view(ws: &WorkspaceRecord, r: AuditRecord) -> AuditEventResponse {
    AuditEventResponse {
        id: r.id.to_string(),
        at: clock::to_datetime(r.at),
        workspace: ws.slug.clone(),
        actor: r.actor,
        source: r.source,
        action: r.action,
        target: r.target,
        before: r.before,
        after: r.after,
    }
}

fn parse_time(what: &str, s: &str) -> Result<OffsetDateTime, ServiceError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| {
        ServiceError::BadRequest(format!(
            "{what} \"{s}\" is not an RFC 3339 time such as 2026-01-31T12:00:00Z"
        ))
    })
}

/// The smallest UUIDv7 of a millisecond: its timestamp in the top 48 bits.
fn time_floor_id(t: OffsetDateTime) -> u128 {
    let ms = clock::from_datetime(t).max(0) as u128;
    ms << 80
}
