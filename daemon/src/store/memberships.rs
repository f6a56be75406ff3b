//! Each group's size and a digest of its member ids, kept in step with the
//! `member_groups` index (see [`GROUP_MEMBERSHIPS`]).
//!
//! A group's SCIM version must change whenever its member list does, and
//! identity providers send `If-Match` and read versions on every change to
//! a group: computed from the member list, each of those read every member
//! (a tenth of a second at half a million members, with the writer held).
//! The digest changes with every join and leave and is the same however the
//! list was reached, so a version built from it costs one read.

use std::collections::HashMap;

use redb::{ReadableTable, WriteTransaction};
use sha2::{Digest, Sha256};

use super::tables::{GROUP_MEMBERSHIPS, MEMBER_GROUPS, Tx};
use crate::error::ServiceError;

/// A group's size and the digest of its member ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Membership {
    pub members: u64,
    /// XOR of [`member_digest`] over the members: order-free, and a join
    /// and a leave of the same member cancel out.
    pub digest: u128,
}

impl Membership {
    /// The membership of exactly these members (each once).
    pub fn of(ids: impl IntoIterator<Item = u128>) -> Self {
        ids.into_iter()
            .fold(Self::default(), |m, id| m.toggled(id, true))
    }

    /// This membership after `member` joins (`joined`) or leaves.
    fn toggled(self, member: u128, joined: bool) -> Self {
        Self {
            members: if joined {
                self.members + 1
            } else {
                self.members.saturating_sub(1)
            },
            digest: self.digest ^ member_digest(member),
        }
    }

    /// The size as a count of things in memory (saturating).
    pub fn size(&self) -> usize {
        usize::try_from(self.members).unwrap_or(usize::MAX)
    }

    /// Bytes for a version: the size, then the digest.
    pub fn version_bytes(&self) -> [u8; 24] {
        let mut out = [0; 24];
        out[..8].copy_from_slice(&self.members.to_be_bytes());
        out[8..].copy_from_slice(&self.digest.to_be_bytes());
        out
    }
}

/// A member id's share of a digest: the first half of its SHA-256, so
/// that ids made close together (UUIDv7) do not cancel each other out.
fn member_digest(member: u128) -> u128 {
    let hash = Sha256::digest(member.to_be_bytes());
    let mut first = [0; 16];
    first.copy_from_slice(&hash[..16]);
    u128::from_be_bytes(first)
}

/// A group's membership (empty if it has no members).
pub fn get<T>(table: &T, workspace: u128, group: u128) -> Result<Membership, ServiceError>
where
    T: ReadableTable<(u128, u128), (u64, u128)>,
{
    Ok(table
        .get((workspace, group))?
        .map(|v| {
            let (members, digest) = v.value();
            Membership { members, digest }
        })
        .unwrap_or_default())
}

/// Records that `member` joined or left `group`; called with the
/// `member_groups` entry's insert or remove, only when it changed.
pub(super) fn record(
    tx: &Tx<'_>,
    workspace: u128,
    group: u128,
    member: u128,
    joined: bool,
) -> Result<(), ServiceError> {
    let mut table = tx.group_memberships()?;
    let next = get(&*table, workspace, group)?.toggled(member, joined);
    if next.members == 0 {
        table.remove((workspace, group))?;
    } else {
        table.insert((workspace, group), (next.members, next.digest))?;
    }
    Ok(())
}

/// Builds every group's membership from the `member_groups` index (the
/// migration that adds the table).
pub(super) fn rebuild(txn: &WriteTransaction) -> Result<(), ServiceError> {
    let links = txn.open_table(MEMBER_GROUPS)?;
    let mut all: HashMap<(u128, u128), Membership> = HashMap::new();
    for entry in links.iter()? {
        let (ws, group, member) = entry?.0.value();
        let m = all.entry((ws, group)).or_default();
        *m = m.toggled(member, true);
    }
    let mut table = txn.open_table(GROUP_MEMBERSHIPS)?;
    for ((ws, group), m) in all {
        table.insert((ws, group), (m.members, m.digest))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_depends_on_who_not_on_the_order_or_the_path() {
        let direct = Membership::of([1, 2, 3]);
        let reordered = Membership::of([3, 1, 2]);
        let via_a_leave = Membership::of([1, 2, 3, 4]).toggled(4, false);
        assert_eq!(direct, reordered);
        assert_eq!(direct, via_a_leave);
        assert_eq!(direct.members, 3);
        assert_ne!(direct, Membership::of([1, 2, 4]), "another member");
        assert_ne!(direct, Membership::of([1, 2]), "one fewer");
        assert_eq!(Membership::of([]), Membership::default());
    }

    #[test]
    fn neighbouring_ids_do_not_cancel_out() {
        // Raw ids XORed would make {0, 3} and {1, 2} alike.
        assert_ne!(Membership::of([0, 3]), Membership::of([1, 2]));
    }
}
