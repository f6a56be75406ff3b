//! The redb store: tables, typed record access, migrations and group commit.
//! No business rules live here.

pub mod batch;
pub mod keys;
pub mod members;
pub mod migrate;
pub mod records;
pub mod tables;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::error::ServiceError;
pub use batch::WriteQueue;

/// The database and its writer.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writes: WriteQueue,
}

impl Store {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, ServiceError> {
        let db = Arc::new(Database::create(path)?);
        migrate::run(&db)?;
        let writes = WriteQueue::start(db.clone());
        Ok(Self { db, writes })
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

    /// Runs a use case in a durable write transaction (see [`batch`]).
    pub async fn write<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnMut(&WriteTransaction) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        self.writes.write(run).await
    }
}

/// A new time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
