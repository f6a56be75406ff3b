//! Every redb table and index, in one place, and [`Tx`]: a write transaction
//! that opens each of them at most once.
//!
//! Ids are UUIDv7 stored as `u128`, so key order is creation order. Records
//! are MessagePack bytes (see `records`; JSON records of early versions still
//! read); indexes are composite keys, most with `()` values, scoped by
//! workspace id first so one workspace is one key range.

use std::cell::{OnceCell, RefCell};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use redb::{Table, TableDefinition, WriteTransaction};

use super::changes::{self, Logged};
use crate::error::ServiceError;

/// Declares each table once: its definition (named after the accessor, which
/// is also its name in the file), its accessor on [`Tx`], and, marked
/// `written aside`, that [`Tx::aside`] writes may touch it.
macro_rules! tables {
    (@aside) => { false };
    (@aside aside) => { true };
    ($( $(#[$doc:meta])* $def:ident, $field:ident: $key:ty => $value:ty $(, written $how:ident)?; )*) => {
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
                pub fn $field(&self) -> Result<Logged<'_, 't, $key, $value>, ServiceError> {
                    const WRITTEN_ASIDE: bool = tables!(@aside $($how)?);
                    let cell = &self.open.$field;
                    if cell.get().is_none() {
                        if self.on_side_thread && !WRITTEN_ASIDE {
                            return Err(ServiceError::storage(concat!(
                                "a write aside opened the ", stringify!($field),
                                " table, which is not marked `written aside` in tables!"
                            )));
                        }
                        if WRITTEN_ASIDE {
                            self.end_side()?;
                        }
                        let _ = cell.set(RefCell::new(self.txn.open_table($def)?));
                    }
                    let table = cell.get()
                        .ok_or_else(|| ServiceError::storage("a table failed to stay open"))?
                        .try_borrow_mut()
                        .map_err(|_| ServiceError::storage(concat!(
                            "the ", stringify!($field), " table is already borrowed in this transaction"
                        )))?;
                    Ok(Logged { table, name: stringify!($field), changes: self.changes.as_ref() })
                }
            )*

            /// Applies one change read back from the journal, to the table
            /// it names.
            fn apply_change(&self, change: &changes::Change<'_>) -> Result<(), ServiceError> {
                match change.table {
                    $( stringify!($field) => self.$field()?.apply(change), )*
                    other => Err(ServiceError::storage(format!(
                        "the write-ahead journal names a table this version of rosterd does not have: {other}"
                    ))),
                }
            }
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
    MEMBER_STATUS_NAMES, member_status_names: (u128, u8, &'static str, u128) => (), written aside;
    /// (workspace, stored status, member): status filter in creation order.
    MEMBER_STATUSES, member_statuses: (u128, u8, u128) => (), written aside;
    /// (workspace, role, member): role filter in creation order.
    MEMBER_ROLES, member_roles: (u128, u8, u128) => (), written aside;
    /// (workspace, group, member): group membership.
    MEMBER_GROUPS, member_groups: (u128, u128, u128) => (), written aside;
    /// (workspace, group) → (members, digest of their ids), kept with
    /// `member_groups`: a group's size and version without reading its
    /// members (see `memberships`).
    GROUP_MEMBERSHIPS, group_memberships: (u128, u128) => (u64, u128), written aside;
    /// (workspace, externalId) → member: identity-provider lookups.
    MEMBER_EXTERNAL_IDS, member_external_ids: (u128, &'static str) => u128;
    /// (workspace, e-mail key, member) for each SCIM `emails` value that is
    /// not the member's own address: with `member_emails`, who holds a value.
    MEMBER_EMAIL_VALUES, member_email_values: (u128, &'static str, u128) => ();
    /// (workspace, search word, member): prefix search over name words and e-mail parts.
    MEMBER_WORDS, member_words: (u128, &'static str, u128) => (), written aside;
    /// Workspace → how many of its members have ever been removed: a removal
    /// moves every later member up one place in creation order (new members
    /// only ever go last), so a remembered page position holds while this
    /// stays the same.
    MEMBER_REMOVALS, member_removals: u128 => u64;
    /// (workspace, stored status, role) → count: the last-admin guard and totals.
    MEMBER_COUNTS, member_counts: (u128, u8, u8) => u64;

    /// (workspace, group) → group record.
    GROUPS, groups: (u128, u128) => &'static [u8];
    /// (workspace, group name key) → group.
    GROUP_NAMES, group_names: (u128, &'static str) => u128;

    /// Invitation id → (workspace, member): the link's way to its membership.
    INVITATIONS, invitations: u128 => (u128, u128), written aside;

    /// Token id → token record (SCIM and admin tokens).
    TOKENS, tokens: u128 => &'static [u8];
    /// SHA-256 of the secret → token id.
    TOKEN_HASHES, token_hashes: &'static [u8] => u128;

    /// (workspace, event) → audit record; append-only.
    AUDIT, audit: (u128, u128) => &'static [u8], written aside;

    /// (workspace, message) → outbox record.
    OUTBOX, outbox: (u128, u128) => &'static [u8], written aside;
    /// (workspace, mail status, message): listing and retrying by status.
    OUTBOX_STATUSES, outbox_statuses: (u128, u8, u128) => (), written aside;
    /// (due at ms, message) → workspace: the queue of messages to send.
    OUTBOX_DUE, outbox_due: (i64, u128) => u128, written aside;

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
    /// Where [`Tx::aside`] sends writes while a side thread applies them.
    side: RefCell<Option<SideSink>>,
    /// This `Tx` is the side thread's: it may open only tables marked
    /// `written aside`, the ones the main thread leaves to it.
    on_side_thread: bool,
    /// Where new search-word entries go instead of the word index.
    deferred_words: Option<DeferredWords>,
    /// Every insert and remove made through this `Tx` (and, once it has
    /// ended, its side thread's), for the journal (see [`changes`]); none
    /// for a bulk write, which redb commits durably itself.
    changes: Option<RefCell<Vec<u8>>>,
}

impl<'t> Tx<'t> {
    /// Wraps a transaction; drop the `Tx` before committing it.
    pub fn new(txn: &'t WriteTransaction) -> Self {
        Self {
            txn,
            open: OpenTables::default(),
            side: RefCell::new(None),
            on_side_thread: false,
            deferred_words: None,
            changes: Some(RefCell::default()),
        }
    }

    /// A `Tx` that keeps no change log, for a transaction that is not
    /// journaled.
    fn unlogged(txn: &'t WriteTransaction) -> Self {
        Self {
            changes: None,
            ..Self::new(txn)
        }
    }

    /// The changes made through this `Tx` (and its side thread, which it
    /// ends first), to journal them before the commit.
    pub fn into_changes(self) -> Result<Vec<u8>, ServiceError> {
        self.end_side()?;
        Ok(self.take_changes())
    }

    /// The changes logged so far (none if this `Tx` keeps no log).
    fn take_changes(&self) -> Vec<u8> {
        self.changes.as_ref().map(RefCell::take).unwrap_or_default()
    }

    /// Makes again the changes of one journal record, in order.
    pub fn replay(&self, payload: &[u8]) -> Result<(), ServiceError> {
        for change in changes::decode(payload) {
            self.apply_change(&change?)?;
        }
        Ok(())
    }

    /// Where new search-word entries are held back, if they are.
    pub fn deferred_words(&self) -> Option<&DeferredWords> {
        self.deferred_words.as_ref()
    }

    /// A write to a table that use cases write but rarely read back (the
    /// listing and search indexes, the audit log, new outbox messages, invite
    /// links). It runs at once, or, inside [`with_side_thread`], on a second
    /// thread in the order it was made, before the transaction commits.
    pub fn aside<F>(&self, write: F) -> Result<(), ServiceError>
    where
        F: FnOnce(&Tx<'_>) -> Result<(), ServiceError> + Send + 'static,
    {
        let mut side = self.side.borrow_mut();
        let Some(sink) = side.as_mut() else {
            drop(side);
            return write(self);
        };
        sink.pending.push(Box::new(write));
        if sink.pending.len() >= SIDE_CHUNK {
            let chunk = std::mem::replace(&mut sink.pending, Vec::with_capacity(SIDE_CHUNK));
            // A side thread that stopped has failed; `end_side` hears why.
            let _ = sink.to_thread.send(chunk);
        }
        Ok(())
    }

    /// Hands the side thread what is pending and waits until it has applied
    /// everything and let go of its tables; from then on this `Tx` writes
    /// aside at once. Called before this thread opens a table written aside,
    /// so a read sees every earlier write and the two threads never hold the
    /// same table. A failed side write is the answer (once).
    fn end_side(&self) -> Result<(), ServiceError> {
        let Some(sink) = self.side.borrow_mut().take() else {
            return Ok(());
        };
        let SideSink {
            pending,
            to_thread,
            done,
        } = sink;
        let _ = to_thread.send(pending);
        drop(to_thread);
        done.recv()
            .unwrap_or_else(|_| Err(ServiceError::storage("the side writer thread panicked")))
    }
}

/// One write handed to the side thread.
type SideWrite = Box<dyn FnOnce(&Tx<'_>) -> Result<(), ServiceError> + Send>;

/// Side writes travel in chunks: one channel message per write would cost
/// about as much as the smallest of them.
const SIDE_CHUNK: usize = 256;

struct SideSink {
    pending: Vec<SideWrite>,
    to_thread: mpsc::Sender<Vec<SideWrite>>,
    /// The side thread's outcome, sent once it has dropped its tables.
    done: mpsc::Receiver<Result<(), ServiceError>>,
}

/// Runs `work` on this thread while a second thread applies its
/// [`Tx::aside`] writes to the same transaction (redb lets the tables of one
/// write transaction be written from several threads). For long batches,
/// where those writes are a third of the work: the importer's.
///
/// `work`'s error comes first; otherwise a failed side write is the result.
/// Neither thread keeps a change log: such a bulk write is committed
/// durably by redb itself, not journaled. With `deferred_words`, new
/// search-word entries made on either thread go there instead of the word
/// index (see [`DeferredWords`]).
pub fn with_side_thread<T>(
    txn: &WriteTransaction,
    deferred_words: Option<&DeferredWords>,
    work: impl FnOnce(&Tx<'_>) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    std::thread::scope(|scope| {
        let (to_thread, chunks) = mpsc::channel::<Vec<SideWrite>>();
        let (report, done) = mpsc::channel();
        let side_words = deferred_words.cloned();
        let side = std::thread::Builder::new()
            .name("roster-side-writer".into())
            .spawn_scoped(scope, move || {
                let apply = || -> Result<(), ServiceError> {
                    let tx = Tx {
                        on_side_thread: true,
                        deferred_words: side_words,
                        ..Tx::unlogged(txn)
                    };
                    for chunk in chunks {
                        for write in chunk {
                            write(&tx)?;
                        }
                    }
                    Ok(())
                };
                let _ = report.send(apply());
            })
            .map_err(ServiceError::storage)?;
        let main = Tx {
            deferred_words: deferred_words.cloned(),
            ..Tx::unlogged(txn)
        };
        *main.side.borrow_mut() = Some(SideSink {
            pending: Vec::with_capacity(SIDE_CHUNK),
            to_thread,
            done,
        });
        let outcome = work(&main);
        let side_outcome = main.end_side();
        // Joined here, a panic on the side thread is the error `end_side`
        // saw; left to the scope, it would panic this thread too.
        let _ = side.join();
        drop(main);
        let out = outcome?;
        side_outcome.map(|()| out)
    })
}

/// Search-word entries a bulk writer (the importer) holds back from the
/// word index and writes later, hundreds of thousands at a time, in key
/// order (all at once, or in slices: [`SortedWords`]).
///
/// Each entry lands at a random place of a large index: written with its
/// row, every entry rewrote a page of its own at each commit (a fifth of a
/// million-row import); written in key order, neighbours share their page.
/// Until written, a member is found by the start of its name or e-mail but
/// not yet by a later word; a search checks every word it finds against
/// the member as it is, so an entry outlived by a change finds nothing.
#[derive(Clone, Default)]
pub struct DeferredWords(Arc<Mutex<HeldWords>>);

/// The held entries, compact: the words' bytes in one buffer, each entry
/// (member, its workspace's place in `workspaces`, where its word is), so
/// a quarter of a million rows' words take a few tens of megabytes and a
/// handful of allocations.
#[derive(Default)]
struct HeldWords {
    text: String,
    workspaces: Vec<u128>,
    entries: Vec<HeldEntry>,
}

/// One held word: 32 bytes rather than the 48 of (u128, u128, Range).
struct HeldEntry {
    member: u128,
    workspace: u32,
    start: u32,
    len: u32,
}

impl DeferredWords {
    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.held().entries.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.held().entries.is_empty()
    }

    /// Holds `words` of member `id` of workspace `ws`.
    pub fn hold(&self, ws: u128, id: u128, words: impl IntoIterator<Item = String>) {
        let mut held = self.held();
        let workspace = match held.workspaces.iter().position(|w| *w == ws) {
            Some(at) => at,
            None => {
                held.workspaces.push(ws);
                held.workspaces.len() - 1
            }
        };
        for word in words {
            let start = held.text.len();
            held.text.push_str(&word);
            held.entries.push(HeldEntry {
                member: id,
                workspace: workspace as u32,
                start: start as u32,
                len: word.len() as u32,
            });
        }
    }

    /// Writes every held entry to the word index, in key order.
    pub fn write(&self, tx: &Tx<'_>) -> Result<(), ServiceError> {
        // Opening the index first waits for the side thread's last holds.
        let mut index = tx.member_words()?;
        let sorted = self.take_sorted();
        sorted.insert(&mut index, 0..sorted.len())
    }

    /// Takes every held entry out, in key order, for a writer that writes
    /// them a slice at a time (see [`SortedWords`]). Call it between
    /// transactions, when no side thread is still holding words.
    pub fn take_sorted(&self) -> SortedWords {
        let HeldWords {
            text,
            workspaces,
            mut entries,
        } = std::mem::take(&mut *self.held());
        entries.sort_unstable_by(|a, b| {
            key_of(&text, &workspaces, a).cmp(&key_of(&text, &workspaces, b))
        });
        SortedWords {
            text,
            workspaces,
            entries,
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HeldWords> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An entry's key in the word index.
fn key_of<'a>(text: &'a str, workspaces: &[u128], e: &HeldEntry) -> (u128, &'a str, u128) {
    let (start, len) = (e.start as usize, e.len as usize);
    (
        workspaces[e.workspace as usize],
        &text[start..start + len],
        e.member,
    )
}

/// Held word entries in key order. Written in consecutive slices, one per
/// transaction, they rewrite the same index pages as written all at once
/// (each slice covers its own stretch of keys), so a bulk writer can spread
/// them over its next transactions and write them aside, beside its work.
pub struct SortedWords {
    text: String,
    workspaces: Vec<u128>,
    entries: Vec<HeldEntry>,
}

impl SortedWords {
    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the entries in `range` (positions in key order) to the word
    /// index; from either thread, as the index is written aside.
    pub fn write(&self, tx: &Tx<'_>, range: std::ops::Range<usize>) -> Result<(), ServiceError> {
        self.insert(&mut tx.member_words()?, range)
    }

    fn insert(
        &self,
        index: &mut Logged<'_, '_, (u128, &'static str, u128), ()>,
        range: std::ops::Range<usize>,
    ) -> Result<(), ServiceError> {
        let slice = self.entries.get(range).unwrap_or_default();
        for entry in slice {
            index.insert(key_of(&self.text, &self.workspaces, entry), ())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

    use super::*;

    fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::create(dir.path().join("db")).expect("db");
        (dir, db)
    }

    /// 1,000 keys written on the main thread, one outbox key written aside
    /// 1,000 times (later writes of one key win: order is kept), then the
    /// main thread takes the table over: its writes come last.
    fn interleaved_writes(tx: &Tx<'_>) -> Result<&'static str, ServiceError> {
        for i in 0..1000u64 {
            tx.meta()?.insert(format!("main{i}").as_str(), i)?;
            tx.aside(move |tx| {
                tx.outbox()?.insert((1, 7), i.to_string().as_bytes())?;
                Ok(())
            })?;
        }
        tx.outbox()?.remove((1, 7))?;
        tx.outbox()?.insert((1, 8), b"main".as_slice())?;
        Ok("done")
    }

    /// What [`interleaved_writes`] leaves in `db`.
    fn assert_interleaved_writes(db: &Database) {
        let read = db.begin_read().expect("read");
        assert_eq!(
            read.open_table(META).expect("meta").len().expect("len"),
            1000
        );
        let outbox = read.open_table(OUTBOX).expect("outbox");
        assert!(outbox.get((1, 7)).expect("get").is_none());
        let kept = outbox.get((1, 8)).expect("get").expect("written last");
        assert_eq!(kept.value(), b"main");
    }

    #[test]
    fn side_writes_land_in_order_in_the_same_commit() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let out = with_side_thread(&txn, None, interleaved_writes).expect("work and side writes");
        assert_eq!(out, "done");
        txn.commit().expect("commit");
        assert_interleaved_writes(&db);
    }

    #[test]
    fn a_logged_transaction_replays_alike() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let tx = Tx::new(&txn);
        assert_eq!(interleaved_writes(&tx).expect("writes"), "done");
        let changes = tx.into_changes().expect("changes");
        txn.commit().expect("commit");

        // The journal's copy of the changes, applied to an empty database,
        // makes the same tables.
        let (_replayed_dir, replayed) = self::db();
        let txn = replayed.begin_write().expect("txn");
        Tx::new(&txn).replay(&changes).expect("replay");
        txn.commit().expect("commit");

        for db in [&db, &replayed] {
            assert_interleaved_writes(db);
        }
    }

    #[test]
    fn a_failed_side_write_fails_the_work_and_a_failed_work_comes_first() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let side_fails = with_side_thread(&txn, None, |tx| {
            tx.aside(|_| Err(ServiceError::storage("disk full aside")))?;
            Ok(())
        });
        assert!(
            matches!(&side_fails, Err(e) if e.to_string().contains("disk full aside")),
            "{side_fails:?}"
        );
        let both_fail = with_side_thread(&txn, None, |tx| -> Result<(), ServiceError> {
            tx.aside(|_| Err(ServiceError::storage("aside")))?;
            Err(ServiceError::BadRequest("the work's own refusal".into()))
        });
        assert!(
            matches!(&both_fail, Err(ServiceError::BadRequest(m)) if m.contains("own refusal")),
            "{both_fail:?}"
        );
    }

    #[test]
    fn a_panic_on_the_side_thread_is_an_error_not_a_second_panic() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let outcome = with_side_thread(&txn, None, |tx| {
            tx.aside(|_| panic!("a bug in a side write"))?;
            Ok(())
        });
        assert!(
            matches!(&outcome, Err(e) if e.to_string().contains("side writer thread panicked")),
            "{outcome:?}"
        );
    }

    #[test]
    fn without_a_side_thread_aside_writes_at_once() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let tx = Tx::new(&txn);
        tx.aside(|tx| {
            tx.meta()?.insert("now", 1)?;
            Ok(())
        })
        .expect("aside");
        let now = tx
            .meta()
            .expect("meta")
            .get("now")
            .expect("get")
            .map(|v| v.value());
        assert_eq!(now, Some(1));
    }

    #[test]
    fn reading_a_table_written_aside_first_waits_for_the_side_writes() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let seen = with_side_thread(&txn, None, |tx| {
            for i in 0..1000u128 {
                tx.aside(move |tx| {
                    tx.audit()?.insert((1, i), b"event".as_slice())?;
                    Ok(())
                })?;
            }
            let seen = tx.audit()?.len()?;
            // Writing aside after the read happens at once, on this thread.
            tx.aside(|tx| {
                tx.audit()?.insert((1, 1000), b"event".as_slice())?;
                Ok(())
            })?;
            Ok(seen)
        })
        .expect("no table is held by both threads");
        assert_eq!(seen, 1000);
        txn.commit().expect("commit");
        let read = db.begin_read().expect("read");
        assert_eq!(
            read.open_table(AUDIT).expect("audit").len().expect("len"),
            1001
        );
    }

    #[test]
    fn held_words_reach_the_index_when_written_and_not_before() {
        let (_dir, db) = db();
        let held = DeferredWords::default();
        let txn = db.begin_write().expect("txn");
        with_side_thread(&txn, Some(&held), |tx| {
            assert!(tx.deferred_words().is_some());
            for id in (0..100u128).rev() {
                tx.aside(move |tx| {
                    let words = [format!("w{}", id % 7), "example.com".to_string()];
                    tx.deferred_words()
                        .expect("the side thread holds too")
                        .hold(1, id, words);
                    Ok(())
                })?;
            }
            Ok(())
        })
        .expect("hold");
        assert_eq!(held.len(), 200, "nothing written yet");
        with_side_thread(&txn, None, |tx| held.write(tx)).expect("write");
        assert!(held.is_empty());
        txn.commit().expect("commit");
        let read = db.begin_read().expect("read");
        let words = read.open_table(MEMBER_WORDS).expect("words");
        assert_eq!(words.len().expect("len"), 200);
        let w3: Vec<u128> = words
            .range((1, "w3", 0)..(1, "w3", u128::MAX))
            .expect("range")
            .map(|e| e.expect("entry").0.value().2)
            .collect();
        assert_eq!(w3, (0..100).filter(|id| id % 7 == 3).collect::<Vec<_>>());
    }

    #[test]
    fn a_write_aside_to_a_table_not_marked_so_is_refused() {
        let (_dir, db) = db();
        let txn = db.begin_write().expect("txn");
        let outcome = with_side_thread(&txn, None, |tx| {
            tx.aside(|tx| {
                tx.meta()?.insert("written aside by mistake", 1)?;
                Ok(())
            })
        });
        let err = outcome.expect_err("the side thread may not open meta");
        assert!(err.to_string().contains("meta table"), "{err}");
    }
}
