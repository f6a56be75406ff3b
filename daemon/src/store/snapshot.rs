//! Point reads share one read transaction, and the tables it has opened,
//! until the next commit.
//!
//! An identity provider looks users up by `userName` tens of thousands of
//! times a second. Beginning a read transaction and opening three tables
//! walks the table tree for each of them: more page reads than the lookup
//! itself, all on the hottest pages of the file, whose cache entries both
//! cores then fight over. A [`Snapshot`] is begun once and its tables opened
//! once, then shared by every point read until a commit makes it stale.
//!
//! Every commit bumps the generation before its writers are answered, so a
//! read that starts after a write was acknowledged never sees a snapshot
//! from before it; it also drops the shared snapshot, so one kept between
//! writes never holds back the reuse of the pages they free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use redb::{
    Database, Key, ReadOnlyTable, ReadTransaction, ReadableDatabase, TableDefinition, Value,
};

use super::tables::{ACCOUNTS, GROUPS, MEMBER_EMAILS, MEMBER_EXTERNAL_IDS, MEMBERS};
use crate::error::ServiceError;

/// The shared snapshot and the commit generation it must match.
#[derive(Default)]
pub struct Snapshots {
    generation: AtomicU64,
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl Snapshots {
    /// A snapshot that holds every commit acknowledged before this call.
    pub fn current(&self, db: &Database) -> Result<Arc<Snapshot>, ServiceError> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(snapshot) = self.lock().as_ref()
            && snapshot.generation == generation
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(Snapshot::new(db.begin_read()?, generation));
        let mut current = self.lock();
        // A commit since the load above: this snapshot may predate it, so
        // it serves this read only.
        if self.generation.load(Ordering::Acquire) == generation {
            let _stale = current.replace(snapshot.clone());
            drop(current);
        }
        Ok(snapshot)
    }

    /// Called after every commit, before the writers hear of it.
    pub fn committed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.forget();
    }

    /// Drops the shared snapshot (reads in progress keep theirs): after a
    /// commit, and before the database closes, so no read transaction of
    /// ours outlives it.
    pub fn forget(&self) {
        let stale = self.lock().take();
        drop(stale);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Snapshot>>> {
        // The slot holds no invariant a panicking reader could break.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A read transaction with the tables of point reads, each opened on first use.
pub struct Snapshot {
    generation: u64,
    txn: ReadTransaction,
    member_emails: OnceLock<ReadOnlyTable<(u128, &'static str), u128>>,
    member_external_ids: OnceLock<ReadOnlyTable<(u128, &'static str), u128>>,
    members: OnceLock<ReadOnlyTable<(u128, u128), &'static [u8]>>,
    groups: OnceLock<ReadOnlyTable<(u128, u128), &'static [u8]>>,
    accounts: OnceLock<ReadOnlyTable<u128, &'static [u8]>>,
}

impl Snapshot {
    fn new(txn: ReadTransaction, generation: u64) -> Self {
        Self {
            generation,
            txn,
            member_emails: OnceLock::new(),
            member_external_ids: OnceLock::new(),
            members: OnceLock::new(),
            groups: OnceLock::new(),
            accounts: OnceLock::new(),
        }
    }

    /// (workspace, e-mail key) → member.
    pub fn member_emails(
        &self,
    ) -> Result<&ReadOnlyTable<(u128, &'static str), u128>, ServiceError> {
        self.open(&self.member_emails, MEMBER_EMAILS)
    }

    /// (workspace, externalId) → member.
    pub fn member_external_ids(
        &self,
    ) -> Result<&ReadOnlyTable<(u128, &'static str), u128>, ServiceError> {
        self.open(&self.member_external_ids, MEMBER_EXTERNAL_IDS)
    }

    /// (workspace, member) → member record.
    pub fn members(&self) -> Result<&ReadOnlyTable<(u128, u128), &'static [u8]>, ServiceError> {
        self.open(&self.members, MEMBERS)
    }

    /// (workspace, group) → group record.
    pub fn groups(&self) -> Result<&ReadOnlyTable<(u128, u128), &'static [u8]>, ServiceError> {
        self.open(&self.groups, GROUPS)
    }

    /// Account id → account record.
    pub fn accounts(&self) -> Result<&ReadOnlyTable<u128, &'static [u8]>, ServiceError> {
        self.open(&self.accounts, ACCOUNTS)
    }

    fn open<'s, K: Key + 'static, V: Value + 'static>(
        &'s self,
        cell: &'s OnceLock<ReadOnlyTable<K, V>>,
        definition: TableDefinition<'static, K, V>,
    ) -> Result<&'s ReadOnlyTable<K, V>, ServiceError> {
        if let Some(table) = cell.get() {
            return Ok(table);
        }
        // Two readers may both open it; one of the two is kept.
        let _ = cell.set(self.txn.open_table(definition)?);
        cell.get()
            .ok_or_else(|| ServiceError::storage("a shared table failed to stay open"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(db: &Database, email: &str, id: u128) {
        let txn = db.begin_write().expect("write");
        txn.open_table(MEMBER_EMAILS)
            .expect("table")
            .insert((1, email), id)
            .expect("insert");
        txn.commit().expect("commit");
    }

    fn lookup(snapshot: &Snapshot, email: &str) -> Option<u128> {
        snapshot
            .member_emails()
            .expect("table")
            .get((1, email))
            .expect("get")
            .map(|v| v.value())
    }

    #[test]
    fn a_snapshot_is_shared_until_a_commit_and_then_sees_it() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Database::create(dir.path().join("db.redb")).expect("db");
        insert(&db, "ada@example.com", 1);
        let snapshots = Snapshots::default();
        let first = snapshots.current(&db).expect("snapshot");
        let again = snapshots.current(&db).expect("snapshot");
        assert!(Arc::ptr_eq(&first, &again), "no commit in between: shared");

        insert(&db, "grace@example.com", 2);
        assert_eq!(
            lookup(
                &snapshots.current(&db).expect("snapshot"),
                "grace@example.com"
            ),
            None,
            "a commit the store was not told of is not seen (the test's control)"
        );
        snapshots.committed();
        let after = snapshots.current(&db).expect("snapshot");
        assert!(!Arc::ptr_eq(&first, &after));
        assert_eq!(lookup(&after, "grace@example.com"), Some(2));
        assert_eq!(
            lookup(&first, "grace@example.com"),
            None,
            "old readers keep theirs"
        );
    }
}
