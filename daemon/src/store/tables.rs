//! Every redb table and index, in one place.
//!
//! Ids are UUIDv7 stored as `u128`, so key order is creation order. Records
//! are JSON bytes (easy to migrate); indexes are composite keys with `()`
//! values, scoped by workspace id first so one workspace is one key range.

use redb::TableDefinition;

/// `schema_version` and other single values.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub const WORKSPACES: TableDefinition<u128, &[u8]> = TableDefinition::new("workspaces");
pub const WORKSPACE_SLUGS: TableDefinition<&str, u128> = TableDefinition::new("workspace_slugs");

pub const ACCOUNTS: TableDefinition<u128, &[u8]> = TableDefinition::new("accounts");
/// Account e-mail key (trimmed, lower-case) → account id.
pub const ACCOUNT_EMAILS: TableDefinition<&str, u128> = TableDefinition::new("account_emails");

/// (workspace, member) → member record; range by workspace = creation order.
pub const MEMBERS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("members");
/// (workspace, e-mail key) → member: lookups and e-mail order.
pub const MEMBER_EMAILS: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("member_emails");
/// (workspace, stored status, name key, member): name order, one run per
/// status (merged for the unfiltered list).
pub const MEMBER_STATUS_NAMES: TableDefinition<(u128, u8, &str, u128), ()> =
    TableDefinition::new("member_status_names");
/// (workspace, stored status, member): status filter in creation order.
pub const MEMBER_STATUSES: TableDefinition<(u128, u8, u128), ()> =
    TableDefinition::new("member_statuses");
/// (workspace, role, member): role filter in creation order.
pub const MEMBER_ROLES: TableDefinition<(u128, u8, u128), ()> =
    TableDefinition::new("member_roles");
/// (workspace, group, member): group membership.
pub const MEMBER_GROUPS: TableDefinition<(u128, u128, u128), ()> =
    TableDefinition::new("member_groups");
/// (workspace, externalId) → member: identity-provider lookups.
pub const MEMBER_EXTERNAL_IDS: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("member_external_ids");
/// (workspace, search word, member): prefix search over name words and e-mail parts.
pub const MEMBER_WORDS: TableDefinition<(u128, &str, u128), ()> =
    TableDefinition::new("member_words");
/// (workspace, stored status, role) → count: the last-admin guard and totals.
pub const MEMBER_COUNTS: TableDefinition<(u128, u8, u8), u64> =
    TableDefinition::new("member_counts");

/// (workspace, group) → group record.
pub const GROUPS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("groups");
/// (workspace, group name key) → group.
pub const GROUP_NAMES: TableDefinition<(u128, &str), u128> = TableDefinition::new("group_names");

/// Invitation id → (workspace, member): the link's way to its membership.
pub const INVITATIONS: TableDefinition<u128, (u128, u128)> = TableDefinition::new("invitations");

/// Token id → token record (SCIM and admin tokens).
pub const TOKENS: TableDefinition<u128, &[u8]> = TableDefinition::new("tokens");
/// SHA-256 of the secret → token id.
pub const TOKEN_HASHES: TableDefinition<&[u8], u128> = TableDefinition::new("token_hashes");

/// (workspace, event) → audit record; append-only.
pub const AUDIT: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("audit");

/// (workspace, message) → outbox record.
pub const OUTBOX: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("outbox");
/// (workspace, mail status, message): listing and retrying by status.
pub const OUTBOX_STATUSES: TableDefinition<(u128, u8, u128), ()> =
    TableDefinition::new("outbox_statuses");
/// (due at ms, message) → workspace: the queue of messages to send.
pub const OUTBOX_DUE: TableDefinition<(i64, u128), u128> = TableDefinition::new("outbox_due");

/// Import job id → job record (CSV drop folder and uploads).
pub const IMPORT_JOBS: TableDefinition<u128, &[u8]> = TableDefinition::new("import_jobs");
