//! Records rendered as SCIM documents, with their versions.

use redb::ReadableTable;
use roster_shared::scim::group::ScimGroupView;
use roster_shared::scim::user::ScimUserView;
use roster_shared::{MemberStatus, StatusModel, StoredStatus};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock;
use crate::error::ServiceError;
use crate::service::views::GroupNames;
use crate::store::records::{AccountRecord, GroupRecord, MemberRecord, decode, encode};

/// A weak ETag over everything a record holds.
pub fn version_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// The version of a member record.
pub fn member_version(m: &MemberRecord) -> Result<String, ServiceError> {
    Ok(version_of(&encode(m)?))
}

/// The RFC 3339 form SCIM dates use.
pub fn date(ms: i64) -> String {
    clock::to_datetime(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Everything a User document needs besides the record.
pub struct UserRenderer<'t, G, A> {
    pub base_url: String,
    pub model: StatusModel,
    pub groups: GroupNames<'t, G>,
    pub accounts: &'t A,
}

impl<G, A> UserRenderer<'_, G, A>
where
    G: ReadableTable<(u128, u128), &'static [u8]>,
    A: ReadableTable<u128, &'static [u8]>,
{
    /// The User document of a member; `working_copy` for PATCH.
    pub fn render(&mut self, m: &MemberRecord, working_copy: bool) -> Result<Value, ServiceError> {
        let names = self.groups.names(&m.groups)?;
        let groups: Vec<(String, String)> = m
            .groups
            .iter()
            .zip(names)
            .map(|(id, n)| (id.to_string(), n))
            .collect();
        // Only the cloud model tells requested from invited.
        let activated = self.model == StatusModel::Cloud
            && m.status == StoredStatus::Pending
            && match self.accounts.get(m.account.as_u128())? {
                Some(v) => decode::<AccountRecord>(v.value())?.activated_at.is_some(),
                None => false,
            };
        let status = MemberStatus::shown(m.status, activated, self.model);
        let view = ScimUserView {
            id: m.id.to_string(),
            external_id: m.external_id.as_deref(),
            email: &m.email,
            name: &m.name,
            profile: m.scim.as_ref(),
            active: m.status != StoredStatus::Archived,
            role: m.role,
            groups,
            metadata: &m.metadata,
            working_copy,
            status: status.as_str(),
            created: date(m.invited_at),
            last_modified: date(m.updated_at),
            version: member_version(m)?,
        };
        Ok(view.to_json(&self.base_url))
    }
}

/// The version of a group: its record and its member list.
pub fn group_version(g: &GroupRecord, member_ids: &[u128]) -> Result<String, ServiceError> {
    let mut bytes = encode(g)?;
    for id in member_ids {
        bytes.extend_from_slice(&id.to_be_bytes());
    }
    Ok(version_of(&bytes))
}

/// The ids of a group's members, in id order.
pub fn group_member_ids<T>(
    links: &T,
    workspace: Uuid,
    group: Uuid,
) -> Result<Vec<u128>, ServiceError>
where
    T: ReadableTable<(u128, u128, u128), ()>,
{
    let (w, g) = (workspace.as_u128(), group.as_u128());
    links
        .range((w, g, 0)..=(w, g, u128::MAX))?
        .map(|e| e.map(|(k, _)| k.value().2).map_err(ServiceError::from))
        .collect()
}

/// A Group document; members listed only when `with_members`.
pub fn render_group<T>(
    txn_members: &T,
    links: &impl ReadableTable<(u128, u128, u128), ()>,
    workspace: Uuid,
    g: &GroupRecord,
    with_members: bool,
    base_url: &str,
) -> Result<Value, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    let ids = group_member_ids(links, workspace, g.id)?;
    let members = if with_members {
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(v) = txn_members.get((workspace.as_u128(), *id))? {
                let m: MemberRecord = decode(v.value())?;
                out.push((m.id.to_string(), m.name));
            }
        }
        Some(out)
    } else {
        None
    };
    let view = ScimGroupView {
        id: g.id.to_string(),
        external_id: g.external_id.clone(),
        display_name: g.name.clone(),
        members,
        created: date(g.created_at),
        last_modified: date(g.updated_at.unwrap_or(g.created_at)),
        version: group_version(g, &ids)?,
    };
    Ok(view.to_json(base_url))
}
