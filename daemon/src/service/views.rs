//! Records turned into what clients and the audit log see.

use std::collections::HashMap;

use redb::ReadableTable;
use roster_shared::api::MemberResponse;
use roster_shared::{MemberStatus, StatusModel};
use uuid::Uuid;

use crate::clock;
use crate::error::ServiceError;
use crate::store::records::{AccountRecord, GroupRecord, MemberRecord, decode};

/// Resolves group ids to names, remembering what it has read.
pub struct GroupNames<'t, T> {
    table: &'t T,
    workspace: Uuid,
    seen: HashMap<Uuid, String>,
}

impl<'t, T> GroupNames<'t, T>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    /// Reads names from `table` (the GROUPS table of any transaction).
    pub fn new(table: &'t T, workspace: Uuid) -> Self {
        Self {
            table,
            workspace,
            seen: HashMap::new(),
        }
    }

    /// The names of `ids`, in their order; ids of deleted groups are skipped.
    pub fn names(&mut self, ids: &[Uuid]) -> Result<Vec<String>, ServiceError> {
        Ok(self.named(ids)?.into_iter().map(|(_, n)| n).collect())
    }

    /// `ids` with their names, in their order; ids of deleted groups are skipped.
    pub fn named(&mut self, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, ServiceError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(name) = self.seen.get(id) {
                out.push((*id, name.clone()));
                continue;
            }
            if let Some(v) = self.table.get((self.workspace.as_u128(), id.as_u128()))? {
                let g: GroupRecord = decode(v.value())?;
                self.seen.insert(*id, g.name.clone());
                out.push((*id, g.name));
            }
        }
        Ok(out)
    }
}

/// Whether an account has accepted any invite (for the status shown).
pub fn account_activated<T>(accounts: &T, account: Uuid) -> Result<bool, ServiceError>
where
    T: ReadableTable<u128, &'static [u8]>,
{
    Ok(match accounts.get(account.as_u128())? {
        Some(v) => decode::<AccountRecord>(v.value())?.activated_at.is_some(),
        None => false,
    })
}

/// The admin-API view of a member.
pub fn member(
    m: &MemberRecord,
    activated: bool,
    groups: Vec<String>,
    model: StatusModel,
    reveal: bool,
) -> MemberResponse {
    MemberResponse {
        id: m.id.to_string(),
        email: m.email.clone(),
        name: m.name.clone(),
        role: m.role,
        groups,
        metadata: m.metadata.visible(reveal),
        hidden_keys: m.metadata.hidden.iter().cloned().collect(),
        status: MemberStatus::shown(m.status, activated, model),
        external_id: m.external_id.clone(),
        source: m.source,
        invited_by: m.invited_by.clone(),
        invited_at: clock::to_datetime(m.invited_at),
        activated_at: m.activated_at.map(clock::to_datetime),
        archived_at: m.archived_at.map(clock::to_datetime),
        last_invite_sent_at: m.last_invite_sent_at.map(clock::to_datetime),
        invite_expires_at: m
            .invitation
            .as_ref()
            .map(|i| clock::to_datetime(i.expires_at)),
        updated_at: clock::to_datetime(m.updated_at),
    }
}

/// What the audit log keeps of a member: hidden values masked.
pub fn audit_snapshot(m: &MemberRecord, groups: &[String]) -> serde_json::Value {
    let metadata: serde_json::Map<String, serde_json::Value> = m
        .metadata
        .values
        .iter()
        .map(|(k, v)| {
            let shown = if m.metadata.hidden.contains(k) {
                "********"
            } else {
                v
            };
            (k.clone(), serde_json::Value::String(shown.to_string()))
        })
        .collect();
    serde_json::json!({
        "name": m.name,
        "email": m.email,
        "role": m.role,
        "groups": groups,
        "status": m.status,
        "metadata": metadata,
        "external_id": m.external_id,
    })
}
