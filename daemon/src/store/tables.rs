//! Every redb table and index, in one place, and [`Tx`]: a write transaction
//! that opens each of them at most once.
//!
//! Ids are UUIDv7 stored as `u128`, so key order is creation order. Records
//! are JSON bytes (easy to migrate); indexes are composite keys with `()`
//! values, scoped by workspace id first so one workspace is one key range.

use std::cell::{OnceCell, RefCell, RefMut};

use redb::{Table, TableDefinition, WriteTransaction};

use crate::error::ServiceError;

/// Declares each table once: its definition (named after the accessor, which
/// is also its name in the file) and its accessor on [`Tx`].
macro_rules! tables {
    ($( $(#[$doc:meta])* $def:ident, $field:ident: $key:ty => $value:ty; )*) => {
        $(
            $(#[$doc])*
            pub const $def: TableDefinition<'static, $key, $value> =
                TableDefinition::new(stringify!($field));
        )*

        /// The tables a [`Tx`] has opened so far.
        #[derive(Default)]
        struct OpenTables<'t> {
            $( $field: OnceCell<RefCell<Table<'t, $key, $value>>>, )*
        }

        impl<'t> Tx<'t> {
            $(
                /// The table, opened on first use and kept open until the
                /// transaction ends; borrowed until the guard is dropped.
                pub fn $field(&self) -> Result<RefMut<'_, Table<'t, $key, $value>>, ServiceError> {
                    let cell = &self.open.$field;
                    if cell.get().is_none() {
                        let _ = cell.set(RefCell::new(self.txn.open_table($def)?));
                    }
                    cell.get()
                        .ok_or_else(|| ServiceError::storage("a table failed to stay open"))?
                        .try_borrow_mut()
                        .map_err(|_| ServiceError::storage(concat!(
                            "the ", stringify!($field), " table is already borrowed in this transaction"
                        )))
                }
            )*
        }
    };
}

tables! {
    /// `schema_version` and other single values.
    META, meta: &'static str => u64;

    WORKSPACES, workspaces: u128 => &'static [u8];
    WORKSPACE_SLUGS, workspace_slugs: &'static str => u128;

    ACCOUNTS, accounts: u128 => &'static [u8];
    /// Account e-mail key (trimmed, lower-case) → account id.
    ACCOUNT_EMAILS, account_emails: &'static str => u128;

    /// (workspace, member) → member record; range by workspace = creation order.
    MEMBERS, members: (u128, u128) => &'static [u8];
    /// (workspace, e-mail key) → member: lookups and e-mail order.
    MEMBER_EMAILS, member_emails: (u128, &'static str) => u128;
    /// (workspace, stored status, name key, member): name order, one run per
    /// status (merged for the unfiltered list).
    MEMBER_STATUS_NAMES, member_status_names: (u128, u8, &'static str, u128) => ();
    /// (workspace, stored status, member): status filter in creation order.
    MEMBER_STATUSES, member_statuses: (u128, u8, u128) => ();
    /// (workspace, role, member): role filter in creation order.
    MEMBER_ROLES, member_roles: (u128, u8, u128) => ();
    /// (workspace, group, member): group membership.
    MEMBER_GROUPS, member_groups: (u128, u128, u128) => ();
    /// (workspace, externalId) → member: identity-provider lookups.
    MEMBER_EXTERNAL_IDS, member_external_ids: (u128, &'static str) => u128;
    /// (workspace, search word, member): prefix search over name words and e-mail parts.
    MEMBER_WORDS, member_words: (u128, &'static str, u128) => ();
    /// (workspace, stored status, role) → count: the last-admin guard and totals.
    MEMBER_COUNTS, member_counts: (u128, u8, u8) => u64;

    /// (workspace, group) → group record.
    GROUPS, groups: (u128, u128) => &'static [u8];
    /// (workspace, group name key) → group.
    GROUP_NAMES, group_names: (u128, &'static str) => u128;

    /// Invitation id → (workspace, member): the link's way to its membership.
    INVITATIONS, invitations: u128 => (u128, u128);

    /// Token id → token record (SCIM and admin tokens).
    TOKENS, tokens: u128 => &'static [u8];
    /// SHA-256 of the secret → token id.
    TOKEN_HASHES, token_hashes: &'static [u8] => u128;

    /// (workspace, event) → audit record; append-only.
    AUDIT, audit: (u128, u128) => &'static [u8];

    /// (workspace, message) → outbox record.
    OUTBOX, outbox: (u128, u128) => &'static [u8];
    /// (workspace, mail status, message): listing and retrying by status.
    OUTBOX_STATUSES, outbox_statuses: (u128, u8, u128) => ();
    /// (due at ms, message) → workspace: the queue of messages to send.
    OUTBOX_DUE, outbox_due: (i64, u128) => u128;

    /// Import job id → job record (CSV drop folder and uploads).
    IMPORT_JOBS, import_jobs: u128 => &'static [u8];
}

/// A write transaction whose tables stay open for all of it.
///
/// Opening and closing a redb table costs about a microsecond; one invite
/// touches fifteen tables, some several times, and a batch of a thousand
/// imported rows shares one transaction. Every use case writes through a `Tx`
/// (never `open_table` on the transaction beside it, which redb would refuse
/// while the `Tx` holds the table).
pub struct Tx<'t> {
    txn: &'t WriteTransaction,
    open: OpenTables<'t>,
}

impl<'t> Tx<'t> {
    /// Wraps a transaction; drop the `Tx` before committing it.
    pub fn new(txn: &'t WriteTransaction) -> Self {
        Self {
            txn,
            open: OpenTables::default(),
        }
    }
}
