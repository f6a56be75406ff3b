//! The redb store: tables, typed record access, migrations and group commit.
//! No business rules live here.

pub mod batch;
pub mod changes;
pub mod commit;
pub mod fold;
pub mod journal;
pub mod keys;
pub mod members;
pub mod memberships;
pub mod migrate;
pub mod records;
pub mod snapshot;
pub mod tables;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::error::ServiceError;
pub use batch::WriteQueue;
use commit::Committer;
pub use snapshot::Snapshot;
use snapshot::Snapshots;
pub use tables::{DeferredWords, SortedWords, Tx};

/// The database and its writer.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writes: WriteQueue,
    snapshots: Arc<Snapshots>,
    committer: Arc<Committer>,
}

impl Store {
    /// Opens (or creates) the database file, applies what its write-ahead
    /// journal (beside it, `.journal`) holds after a crash, and brings its
    /// schema up to date. `cache_bytes` bounds redb's page cache (the OS
    /// caches the file too).
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, ServiceError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .set_repair_callback(|session| {
                tracing::warn!(
                    progress = format!("{:.0}%", session.progress() * 100.0),
                    "repairing the database after an unclean shutdown"
                );
            })
            .create(path)?;
        let db = Arc::new(db);
        let committer = Arc::new(Committer::recover(&db, &path.with_extension("journal"))?);
        migrate::run(&db)?;
        let snapshots = Arc::new(Snapshots::default());
        let writes = WriteQueue::start(db.clone(), snapshots.clone(), committer.clone());
        Ok(Self {
            db,
            writes,
            snapshots,
            committer,
        })
    }

    /// Stops the writer and closes the database cleanly (so the next start
    /// needs no repair), waiting up to `grace` for readers to finish.
    pub fn close(self, grace: std::time::Duration) {
        self.writes.stop();
        self.snapshots.forget();
        let deadline = std::time::Instant::now() + grace;
        let mut db = self.db;
        loop {
            match Arc::try_unwrap(db) {
                Ok(db) => {
                    drop(db);
                    tracing::info!("database closed cleanly");
                    return;
                }
                Err(still_shared) if std::time::Instant::now() < deadline => {
                    db = still_shared;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(_) => {
                    tracing::warn!(
                        "the database is still in use at shutdown; the next start will check it"
                    );
                    return;
                }
            }
        }
    }

    /// Runs a read on a blocking thread against a consistent snapshot.
    pub async fn read<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&ReadTransaction) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            run(&txn)
        })
        .await
        .map_err(ServiceError::storage)?
    }

    /// Runs a read that touches a handful of keys (a point lookup) on the
    /// calling thread: redb serves it from its cache in microseconds, less
    /// than the hand-off to the blocking pool costs. Never for scans.
    pub fn read_now<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&ReadTransaction) -> Result<T, ServiceError>,
    {
        let txn = self.db.begin_read()?;
        run(&txn)
    }

    /// Runs a point read on the calling thread against the [`Snapshot`]
    /// shared with other point reads until the next commit: no transaction
    /// to begin and no table to open when one is current. It holds every
    /// write acknowledged before the call.
    pub fn read_shared<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&Snapshot) -> Result<T, ServiceError>,
    {
        let snapshot = self.snapshots.current(&self.db)?;
        run(&snapshot)
    }

    /// Runs a use case in a durable write transaction (see [`batch`]).
    pub async fn write<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnMut(&Tx<'_>) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        self.writes.write(run).await
    }
}

impl Store {
    /// Runs a write on the calling (blocking) thread in a transaction of its
    /// own (its [`Tx::aside`] writes on a second thread), committed durably
    /// (journaled) before it returns. For the importer, whose
    /// report file must be flushed while the transaction is still open;
    /// everything else goes through [`Store::write`].
    pub fn write_blocking<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, ServiceError>,
    {
        self.write_blocking_holding(None, run)
    }

    /// [`Store::write_blocking`] whose new search-word entries go to
    /// `words` instead of the word index (see [`DeferredWords`]).
    pub fn write_blocking_holding<F, T>(
        &self,
        words: Option<&DeferredWords>,
        run: F,
    ) -> Result<T, ServiceError>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, ServiceError>,
    {
        let txn = begin_write(&self.db)?;
        // A bulk write: its pages hold many of its changes each, so redb
        // commits it durably itself, and no change log is kept.
        let outcome = tables::with_side_thread(&txn, words, run);
        match outcome {
            Ok(out) => {
                self.committer.commit(txn, None)?;
                self.snapshots.committed();
                Ok(out)
            }
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// Runs a write on the calling (blocking) thread and rolls it back: the
    /// exact outcome of a change without making it (dry runs).
    pub fn rehearse_blocking<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&Tx<'_>) -> Result<T, ServiceError>,
    {
        let txn = begin_write(&self.db)?;
        let out = tables::with_side_thread(&txn, None, run);
        txn.abort()?;
        out
    }
}

/// Starts a write transaction with redb's quick repair: each commit also
/// saves the allocator state and commits in two phases, so a restart after a
/// crash (kill -9, power loss) opens a database of a million members in
/// milliseconds instead of walking the whole file for seconds first. It
/// costs a durable commit a second fsync; journaled commits, which redb does
/// not make durable, skip it (see [`commit`]).
pub(crate) fn begin_write(db: &Database) -> Result<redb::WriteTransaction, redb::TransactionError> {
    let mut txn = db.begin_write()?;
    txn.set_quick_repair(true);
    Ok(txn)
}

/// A new time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
