//! Every commit of roster's writes: its changes go to the write-ahead
//! journal (fsync'd) first, then redb commits without writing its pages; a
//! durable redb commit, a checkpoint, saves them every so often and
//! whenever writes pause, and empties the journal (see [`super::journal`]).
//!
//! A durable redb commit writes every page its transaction dirtied, and new
//! members' index entries dirty pages all over the indexes; the journal is
//! one sequential write. SCIM creates from 64 clients up to a million
//! members, same machine, same run: 6,200/s with a durable redb commit per
//! batch, 8,100/s journaled (from wrk's 64 connections: 4,800/s and
//! 8,800/s).

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, WriteTransaction};

use super::journal::Journal;
use super::tables::{META, Tx};
use crate::error::ServiceError;

/// `meta` key of the last journal record the database holds: recovery
/// applies only the records after it.
pub(super) const JOURNAL_SEQ: &str = "journal_seq";

/// Longest time between checkpoints while writes keep coming. Longer saves
/// more page writes (each checkpoint writes every page dirtied since the
/// last one, and busy indexes dirty the same pages again and again) but
/// lets the journal grow, and a restart after a crash applies it all.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// Journal size that makes the next commit a checkpoint, whatever the time.
const CHECKPOINT_AT_BYTES: u64 = 256 << 20;

/// Changes at least this large are committed durably by redb itself, with
/// no journal record (and the commit is a checkpoint): a commit this large
/// changes so many keys per page it dirties that writing the pages costs
/// less than journaling every change. The importer's batches (about 7 MB
/// of changes per 4,000 rows) keep no log at all and always commit so.
const DIRECT_AT_BYTES: usize = 4 << 20;

/// Makes commits durable through the journal; one per database.
pub struct Committer {
    state: Mutex<State>,
}

struct State {
    journal: Journal,
    /// The sequence number the next journal record gets.
    next_seq: u64,
    last_checkpoint: Instant,
}

impl Committer {
    /// Opens the journal beside the database at `journal_path` and applies
    /// what it holds that the database does not (commits acknowledged after
    /// the last checkpoint before a crash), in a durable commit.
    pub fn recover(db: &Database, journal_path: &Path) -> Result<Self, ServiceError> {
        let (mut journal, records) = Journal::open(journal_path).map_err(ServiceError::storage)?;
        let held = held_seq(db)?;
        let pending: Vec<(u64, &[u8])> = records.iter().filter(|(seq, _)| *seq > held).collect();
        let mut last = held;
        if let Some(&(newest, _)) = pending.last() {
            let started = Instant::now();
            let txn = super::begin_write(db)?;
            {
                let tx = Tx::new(&txn);
                for (_, changes) in &pending {
                    tx.replay(changes)?;
                }
            }
            txn.open_table(META)?.insert(JOURNAL_SEQ, newest)?;
            txn.commit()?;
            last = newest;
            tracing::info!(
                commits = pending.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "applied the write-ahead journal's commits made after the last checkpoint"
            );
        }
        journal.clear().map_err(ServiceError::storage)?;
        Ok(Self {
            state: Mutex::new(State {
                journal,
                next_seq: last + 1,
                last_checkpoint: Instant::now(),
            }),
        })
    }

    /// Commits `txn`, whose changes are `changes` (from its [`Tx`]), or
    /// which kept no log (a bulk write: committed durably by redb, as a
    /// checkpoint): durable once this returns, by the journal or by a
    /// checkpoint. On an error nothing of it is kept.
    pub fn commit(
        &self,
        mut txn: WriteTransaction,
        changes: Option<&[u8]>,
    ) -> Result<(), ServiceError> {
        let mut state = self.state();
        if changes.is_some_and(<[u8]>::is_empty) {
            // Nothing to lose: no record needed.
            txn.set_durability(Durability::None)
                .map_err(ServiceError::storage)?;
            return Ok(txn.commit()?);
        }
        let seq = state.next_seq;
        txn.open_table(META)?.insert(JOURNAL_SEQ, seq)?;
        let before = state.journal.len();
        let journaled = changes.filter(|c| c.len() < DIRECT_AT_BYTES);
        if let Some(changes) = journaled {
            state
                .journal
                .append(seq, changes)
                .map_err(ServiceError::storage)?;
        }
        let direct = journaled.is_none();
        tracing::trace!(bytes = changes.map(<[u8]>::len), direct, "commit");
        let checkpoint = direct
            || state.journal.len() >= CHECKPOINT_AT_BYTES
            || state.last_checkpoint.elapsed() >= CHECKPOINT_EVERY;
        if checkpoint {
            txn.set_quick_repair(true);
        } else {
            txn.set_quick_repair(false);
            txn.set_durability(Durability::None)
                .map_err(ServiceError::storage)?;
        }
        let started = Instant::now();
        match txn.commit() {
            Ok(()) => {
                state.next_seq += 1;
                if checkpoint {
                    state.saved();
                    tracing::debug!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        direct,
                        "commit made as a checkpoint"
                    );
                }
                Ok(())
            }
            Err(e) => {
                // The record must not be applied after a restart.
                if let Err(cut) = state.journal.cut_back_to(before) {
                    tracing::error!(error = %cut, "a failed commit's journal record could not be removed");
                }
                Err(e.into())
            }
        }
    }

    /// Whether commits since the last checkpoint wait for one.
    pub fn unsaved(&self) -> bool {
        !self.state().journal.is_empty()
    }

    /// Saves every commit so far in a durable redb commit (with the
    /// allocator state, so a crash from now on needs no repair) and empties
    /// the journal. Nothing to do if nothing waits.
    pub fn checkpoint(&self, db: &Database) -> Result<(), ServiceError> {
        // redb's write lock first, then the journal's, as in `commit`
        // (whose caller holds a write transaction): never the other way.
        let txn = super::begin_write(db)?;
        let mut state = self.state();
        if state.journal.is_empty() {
            return Ok(());
        }
        txn.commit()?;
        state.saved();
        Ok(())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// A durable commit now holds everything journaled.
    fn saved(&mut self) {
        self.last_checkpoint = Instant::now();
        if let Err(e) = self.journal.clear() {
            // Harmless: recovery skips records the database holds.
            tracing::warn!(error = %e, "emptying the write-ahead journal after a checkpoint failed");
        }
    }
}

/// The last journal record the database holds (0: none).
fn held_seq(db: &Database) -> Result<u64, ServiceError> {
    let read = db.begin_read()?;
    let meta = match read.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    Ok(meta.get(JOURNAL_SEQ)?.map(|v| v.value()).unwrap_or(0))
}
