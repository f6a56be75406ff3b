//! Records rendered as SCIM documents, with their versions.

use redb::ReadableTable;
use roster_shared::scim::group::ScimGroupView;
use roster_shared::scim::user::ScimUserView;
use roster_shared::{MemberStatus, StatusModel, StoredStatus};
use serde_json::Value;
use uuid::Uuid;

use crate::clock;
use crate::error::ServiceError;
use crate::service::views::{GroupNames, account_activated};
use crate::store::memberships::Membership;
use crate::store::records::{
    GroupRecord, MemberRecord, decode, encode, encode_compact, version_of,
};

/// The version of a member record as it is (or is about to be) stored.
pub fn member_version(m: &MemberRecord) -> Result<String, ServiceError> {
    Ok(version_of(&encode_compact(m)?))
}

/// The RFC 3339 form SCIM dates use.
pub fn date(ms: i64) -> String {
    clock::to_datetime(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Renders members as User documents, remembering group names.
pub struct UserRenderer<'t, G, A> {
    base_url: String,
    model: StatusModel,
    groups: GroupNames<'t, G>,
    accounts: Option<&'t A>,
}

impl<'t, G, A> UserRenderer<'t, G, A>
where
    G: ReadableTable<(u128, u128), &'static [u8]>,
    A: ReadableTable<u128, &'static [u8]>,
{
    /// A renderer over the GROUPS and ACCOUNTS tables of any transaction.
    /// Only the cloud status model reads accounts (see [`accounts_needed`]),
    /// so the self-hosted one need not open that table.
    pub fn new(
        base_url: String,
        model: StatusModel,
        workspace: Uuid,
        groups: &'t G,
        accounts: Option<&'t A>,
    ) -> Self {
        Self {
            base_url,
            model,
            groups: GroupNames::new(groups, workspace),
            accounts,
        }
    }

    /// The User document of a member at `version`; `working_copy` for PATCH.
    pub fn render(
        &mut self,
        m: &MemberRecord,
        version: String,
        working_copy: bool,
    ) -> Result<Value, ServiceError> {
        let groups: Vec<(String, String)> = self
            .groups
            .named(&m.groups)?
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
        // Only the cloud model tells requested from invited.
        let activated = match (accounts_needed(self.model), m.status, self.accounts) {
            (true, StoredStatus::Pending, Some(accounts)) => {
                account_activated(accounts, m.account)?
            }
            (true, StoredStatus::Pending, None) => {
                return Err(ServiceError::storage(
                    "rendering a User in the cloud status model needs the accounts table",
                ));
            }
            _ => false,
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
            version,
        };
        Ok(view.to_json(&self.base_url))
    }
}

/// Whether rendering Users reads the ACCOUNTS table in this status model.
pub fn accounts_needed(model: StatusModel) -> bool {
    model == StatusModel::Cloud
}

/// The version of a group: its record and its membership (size and member
/// digest), so that any join or leave changes it.
pub fn group_version(g: &GroupRecord, membership: &Membership) -> Result<String, ServiceError> {
    let mut bytes = encode(g)?;
    bytes.extend_from_slice(&membership.version_bytes());
    Ok(version_of(&bytes))
}

/// The (id, name) of each of `ids` that is a member of the workspace.
fn member_names<T>(
    members_t: &T,
    workspace: Uuid,
    ids: &[u128],
) -> Result<Vec<(String, String)>, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = members_t.get((workspace.as_u128(), *id))? {
            let m: MemberRecord = decode(v.value())?;
            out.push((m.id.to_string(), m.name));
        }
    }
    Ok(out)
}

/// A Group document; its members are listed (with their names) when `ids`
/// gives them.
pub fn render_group<T>(
    members_t: &T,
    workspace: Uuid,
    g: &GroupRecord,
    membership: &Membership,
    ids: Option<&[u128]>,
    base_url: &str,
) -> Result<Value, ServiceError>
where
    T: ReadableTable<(u128, u128), &'static [u8]>,
{
    let members = ids
        .map(|ids| member_names(members_t, workspace, ids))
        .transpose()?;
    let view = ScimGroupView {
        id: g.id.to_string(),
        external_id: g.external_id.clone(),
        display_name: g.name.clone(),
        members,
        created: date(g.created_at),
        last_modified: date(g.updated_at.unwrap_or(g.created_at)),
        version: group_version(g, membership)?,
    };
    Ok(view.to_json(base_url))
}
