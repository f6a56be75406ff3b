//! Group commit: concurrent use cases share one durable (journaled) commit.
//!
//! A single journaled commit (see [`super::commit`]) costs an fsync; taking
//! one per request caps throughput at a few thousand writes per second. The writer
//! thread drains every job that is waiting, applies them all in one write
//! transaction, takes in the jobs that arrived meanwhile until none is
//! waiting, and commits once. With 64 concurrent clients the batches grow
//! and each job's share of a commit's page writes and fsync shrinks (SCIM
//! creates up to a million members: 9,930/s, against 8,985/s when a batch
//! held only what was waiting when it began). Each job is a re-runnable
//! closure: if a job of a batch is refused, the batch is aborted, that job
//! gets its refusal and the others run again together, so one refused
//! request never affects another nor costs them their shared commit.
//!
//! Once the writer has been idle for [`CHECKPOINT_AFTER_IDLE`] it makes a
//! checkpoint: a durable redb commit of everything journaled, with the
//! allocator state, so a daemon killed while idle restarts at once with an
//! empty journal.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::commit::Committer;
use super::snapshot::Snapshots;
use super::tables::Tx;
use crate::error::ServiceError;

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 512;

/// How long writes must pause before the writer makes a checkpoint: long
/// enough that a steady stream of writes never pays for it, short enough
/// that a daemon is almost never killed with a journal to apply.
const CHECKPOINT_AFTER_IDLE: Duration = Duration::from_millis(20);

/// How often an idle writer looks whether writes made elsewhere (the
/// importer's, see [`super::Store::write_blocking`]) wait for a checkpoint.
const IDLE_LOOK: Duration = Duration::from_secs(1);

trait Job: Send {
    fn apply(&mut self, tx: &Tx<'_>) -> Result<(), ServiceError>;
    fn finish(self: Box<Self>, outcome: Result<(), ServiceError>);
}

struct TypedJob<F, T> {
    run: F,
    output: Option<T>,
    reply: oneshot::Sender<Result<T, ServiceError>>,
}

impl<F, T> Job for TypedJob<F, T>
where
    F: FnMut(&Tx<'_>) -> Result<T, ServiceError> + Send,
    T: Send,
{
    fn apply(&mut self, tx: &Tx<'_>) -> Result<(), ServiceError> {
        self.output = Some((self.run)(tx)?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), ServiceError>) {
        let result = match (outcome, self.output) {
            (Ok(()), Some(out)) => Ok(out),
            (Ok(()), None) => Err(ServiceError::storage("write job produced no output")),
            (Err(e), _) => Err(e),
        };
        // The requester may have gone away; the write still stands.
        let _ = self.reply.send(result);
    }
}

enum Message {
    Job(Box<dyn Job>),
    /// Finish what is queued, release the database, then acknowledge.
    Stop(mpsc::Sender<()>),
}

/// Hands write jobs to the one writer thread.
#[derive(Clone)]
pub struct WriteQueue {
    jobs: mpsc::Sender<Message>,
    counters: Arc<Counters>,
}

/// What each commit updates: its counts (for tests and diagnostics) and the
/// point reads' shared snapshot, which goes stale.
struct Counters {
    commits: AtomicU64,
    checkpoints: AtomicU64,
    /// Told of every commit, before its jobs are answered.
    snapshots: Arc<Snapshots>,
    /// Makes every commit durable.
    committer: Arc<Committer>,
}

impl Counters {
    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.snapshots.committed();
    }
}

impl WriteQueue {
    /// Starts the writer thread over `db`. It ends when every queue handle
    /// is dropped.
    /// `snapshots` hears of every commit before its jobs are answered.
    pub fn start(db: Arc<Database>, snapshots: Arc<Snapshots>, committer: Arc<Committer>) -> Self {
        Self::start_saving_after(db, CHECKPOINT_AFTER_IDLE, snapshots, committer)
    }

    /// [`WriteQueue::start`] with the pause after which a checkpoint is made.
    fn start_saving_after(
        db: Arc<Database>,
        idle: Duration,
        snapshots: Arc<Snapshots>,
        committer: Arc<Committer>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel::<Message>();
        let counters = Arc::new(Counters {
            snapshots,
            committer,
            commits: AtomicU64::default(),
            checkpoints: AtomicU64::default(),
        });
        let counted = counters.clone();
        std::thread::Builder::new()
            .name("roster-writer".into())
            .spawn(move || {
                let stopped = writer_loop(&db, &rx, idle, &counted);
                drop(db);
                if let Some(ack) = stopped {
                    let _ = ack.send(());
                }
            })
            .expect("spawning the writer thread");
        Self { jobs, counters }
    }

    /// Commits made so far: with the jobs answered, it tells how well
    /// concurrent writes share their fsyncs.
    pub fn commits(&self) -> u64 {
        self.counters.commits.load(Ordering::Relaxed)
    }

    /// Checkpoints made after a burst of writes.
    pub fn checkpoints(&self) -> u64 {
        self.counters.checkpoints.load(Ordering::Relaxed)
    }

    /// Runs `run` inside a durable (journaled) write transaction shared with other
    /// concurrent jobs; resolves once that transaction has committed.
    /// `run` may be called more than once and must only touch `tx`.
    pub async fn write<F, T>(&self, run: F) -> Result<T, ServiceError>
    where
        F: FnMut(&Tx<'_>) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = TypedJob {
            run,
            output: None,
            reply,
        };
        self.jobs
            .send(Message::Job(Box::new(job)))
            .map_err(|_| ServiceError::storage("the writer thread has stopped"))?;
        rx.await
            .map_err(|_| ServiceError::storage("the writer thread dropped a job"))?
    }

    /// Stops the writer after the jobs already queued; later writes fail.
    pub fn stop(&self) {
        let (ack, done) = mpsc::channel();
        if self.jobs.send(Message::Stop(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

/// Applies batches until stopped (returns the stop's acknowledgement) or
/// until every queue handle is gone.
fn writer_loop(
    db: &Database,
    rx: &mpsc::Receiver<Message>,
    idle: Duration,
    counters: &Counters,
) -> Option<mpsc::Sender<()>> {
    loop {
        let wait = if counters.committer.unsaved() {
            idle
        } else {
            IDLE_LOOK
        };
        let first = match rx.recv_timeout(wait) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                checkpoint(db, counters);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                checkpoint(db, counters);
                return None;
            }
        };
        let first = match first {
            Message::Job(job) => job,
            Message::Stop(ack) => {
                checkpoint(db, counters);
                return Some(ack);
            }
        };
        let mut stop = None;
        let mut queued = |room: usize| {
            let mut jobs = Vec::new();
            while jobs.len() < room && stop.is_none() {
                match rx.try_recv() {
                    Ok(Message::Job(job)) => jobs.push(job),
                    Ok(Message::Stop(ack)) => stop = Some(ack),
                    Err(_) => break,
                }
            }
            jobs
        };
        // The others waiting join it as it is applied (see `run_batch`).
        run_batch(db, vec![first], counters, &mut queued);
        if stop.is_some() {
            checkpoint(db, counters);
            return stop;
        }
    }
}

/// Fewest jobs a batch may apply again after refusals (see [`run_batch`]).
const MIN_RERUN_BUDGET: usize = 64;

/// Applies a batch in one transaction and commits it. A job that is refused
/// (a duplicate e-mail, a stale version) is answered with its refusal and
/// taken out; the others run again, together, in a fresh transaction, so
/// they still share one commit. The refused job saw exactly the state it
/// would have seen in that fresh run (the jobs before it, the same way).
///
/// Running again costs in proportion to the jobs ahead of the refusal, a
/// commit costs one fsync: once the jobs run again exceed twice the batch,
/// the jobs ahead of the next refusal are committed on their own (they just
/// succeeded, in that order) and the rest goes on as a batch of its own. So
/// many refusals cost a few commits and at most about three times the work,
/// never one commit per job.
///
/// These commits are journaled; [`checkpoint`] saves them in redb once
/// writes pause.
fn run_batch(
    db: &Database,
    batch: Vec<Box<dyn Job>>,
    counters: &Counters,
    queued: &mut dyn FnMut(usize) -> Vec<Box<dyn Job>>,
) {
    let mut todo = VecDeque::from([batch]);
    while let Some(mut batch) = todo.pop_front() {
        // Twice the batch at its largest (jobs that arrive join it).
        let mut budget = (2 * batch.len()).max(MIN_RERUN_BUDGET);
        let mut rerun = 0;
        loop {
            let txn = match super::begin_write(db) {
                Ok(txn) => txn,
                Err(e) => {
                    fail_all(batch, &e);
                    todo.into_iter().for_each(|later| fail_all(later, &e));
                    return;
                }
            };
            let applied = apply_with_arrivals(&txn, &mut batch, queued);
            budget = budget.max(2 * batch.len());
            let (at, error) = match applied {
                Ok(changes) => {
                    match counters.committer.commit(txn, Some(&changes)) {
                        Ok(()) => {
                            counters.committed();
                            tracing::trace!(jobs = batch.len(), "batch committed");
                            batch.into_iter().for_each(|j| j.finish(Ok(())));
                        }
                        Err(e) => fail_all(batch, &e),
                    }
                    break;
                }
                Err(failure) => failure,
            };
            let _ = txn.abort();
            let refused = batch.remove(at);
            if matches!(error, ServiceError::Storage(_)) {
                // Not a refusal but a fault: every job finds out on its own.
                let rest = todo.drain(..).flatten();
                for job in std::iter::once(refused).chain(batch).chain(rest) {
                    run_alone(db, job, counters);
                }
                return;
            }
            refused.finish(Err(error));
            if batch.is_empty() {
                break;
            }
            if rerun + at > budget {
                let rest = batch.split_off(at);
                if !rest.is_empty() {
                    todo.push_front(rest);
                }
                todo.push_front(batch);
                break;
            }
            rerun += at;
        }
    }
}

/// Applies `batch`, then the jobs that arrive meanwhile (until none is
/// waiting or the batch is full), so they join this commit rather than
/// wait for the next one. One `Tx` serves them all, so each table opens
/// once. Answers their changes, or stops at the first job that fails and
/// says which one and why.
fn apply_with_arrivals(
    txn: &WriteTransaction,
    batch: &mut Vec<Box<dyn Job>>,
    queued: &mut dyn FnMut(usize) -> Vec<Box<dyn Job>>,
) -> Result<Vec<u8>, (usize, ServiceError)> {
    let tx = Tx::new(txn);
    let mut from = 0;
    loop {
        if let Some(failure) = apply_from(&tx, batch, from) {
            return Err(failure);
        }
        let room = MAX_BATCH.saturating_sub(batch.len());
        let more = if room == 0 { Vec::new() } else { queued(room) };
        if more.is_empty() {
            return tx.into_changes().map_err(|e| (0, e));
        }
        from = batch.len();
        batch.extend(more);
    }
}

/// Applies the jobs from `from` on, in order; stops at the first that fails
/// and says which one it was and why.
fn apply_from(
    tx: &Tx<'_>,
    jobs: &mut [Box<dyn Job>],
    from: usize,
) -> Option<(usize, ServiceError)> {
    jobs.iter_mut()
        .enumerate()
        .skip(from)
        .find_map(|(at, job)| job.apply(tx).err().map(|e| (at, e)))
}

/// Saves what the journal holds in a durable redb commit (see
/// [`Committer::checkpoint`]), if anything waits. A failure only costs a
/// longer journal (the next pause tries again), so it is logged, not raised.
fn checkpoint(db: &Database, counters: &Counters) {
    if !counters.committer.unsaved() {
        return;
    }
    let started = std::time::Instant::now();
    match counters.committer.checkpoint(db) {
        Ok(()) => {
            counters.checkpoints.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "writes paused: journaled commits saved in the database"
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "saving the journaled commits in the database after a burst of writes failed");
        }
    }
}

fn run_alone(db: &Database, job: Box<dyn Job>, counters: &Counters) {
    let txn = match super::begin_write(db) {
        Ok(txn) => txn,
        Err(e) => return job.finish(Err(ServiceError::storage(e))),
    };
    let mut jobs = [job];
    let applied = {
        let tx = Tx::new(&txn);
        match apply_from(&tx, &mut jobs, 0) {
            None => tx.into_changes(),
            Some((_, e)) => Err(e),
        }
    };
    let [job] = jobs;
    match applied {
        Ok(changes) => {
            let outcome = counters.committer.commit(txn, Some(&changes));
            if outcome.is_ok() {
                counters.committed();
                tracing::trace!(jobs = 1, "batch committed");
            }
            job.finish(outcome);
        }
        Err(e) => {
            let _ = txn.abort();
            job.finish(Err(e));
        }
    }
}

fn fail_all(batch: Vec<Box<dyn Job>>, e: &dyn std::fmt::Display) {
    tracing::error!(error = %e, "write transaction failed");
    for job in batch {
        job.finish(Err(ServiceError::storage(e)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::META;
    use redb::ReadableDatabase;

    /// Queues `n` jobs while the writer is held inside a first one, so that
    /// all of them are waiting when it is released and join its batch (the
    /// held job blocks only the first time it runs, as a batch with a
    /// refusal runs again).
    async fn one_batch_of(
        queue: &WriteQueue,
        n: u64,
        refuse: Refusal,
    ) -> Vec<Result<u64, ServiceError>> {
        let (release, held) = mpsc::channel::<()>();
        let (entered, inside) = mpsc::channel::<()>();
        let held = std::sync::Mutex::new(held);
        let mut first_run = true;
        let blocker = queue.write(move |_tx| {
            if std::mem::take(&mut first_run) {
                let _ = entered.send(());
                let _ = held.lock().map(|rx| rx.recv());
            }
            Ok(())
        });
        let mut blocker = Box::pin(blocker);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(blocker.as_mut().poll(&mut cx).is_pending());
        // The writer is inside the held job: everything queued from now on
        // waits for the next batch.
        inside.recv().expect("the writer runs the held job");
        let mut jobs = Vec::new();
        for i in 0..n {
            let mut job = Box::pin(queue.write(move |tx| {
                probe(tx, i, i)?;
                if refuse(i) {
                    return Err(ServiceError::Conflict(format!("job {i} refused")));
                }
                Ok(i)
            }));
            // The first poll hands the job to the writer's queue.
            assert!(job.as_mut().poll(&mut cx).is_pending());
            jobs.push(job);
        }
        release.send(()).expect("release the writer");
        blocker.await.expect("blocking job");
        let mut out = Vec::new();
        for job in jobs {
            out.push(job.await);
        }
        out
    }

    /// Which probe jobs refuse.
    type Refusal = fn(u64) -> bool;

    /// Job `i`'s writes: `value` under META `probe-i`, and an audit entry
    /// `(1, i)` written aside (`Tx::aside`, as the audit log is).
    fn probe(tx: &Tx<'_>, i: u64, value: u64) -> Result<(), ServiceError> {
        tx.meta()?.insert(format!("probe-{i}").as_str(), value)?;
        tx.aside(move |tx| {
            tx.audit()?
                .insert((1, u128::from(i)), b"probe".as_slice())?;
            Ok(())
        })
    }

    /// How many entries the AUDIT table holds.
    fn audit_entries(db: &Database) -> u64 {
        use redb::ReadableTableMetadata;
        let txn = db.begin_read().expect("read");
        match txn.open_table(super::super::tables::AUDIT) {
            Ok(table) => table.len().expect("len"),
            Err(redb::TableError::TableDoesNotExist(_)) => 0,
            Err(e) => panic!("{e}"),
        }
    }

    /// What a restart after a crash at this moment would find, opening a
    /// copy of the database file and its journal as they are on disk now.
    struct AfterCrash {
        /// redb had to repair the file.
        repaired: bool,
        /// `key` in the file alone.
        in_file: Option<u64>,
        /// `key` once the journal is applied.
        recovered: Option<u64>,
        /// Journal records the file does not hold yet: what a restart applies.
        unsaved_records: usize,
        /// Audit entries once the journal is applied.
        audit_entries: u64,
    }

    /// `key` of the META table in `db`.
    fn meta_value(db: &Database, key: &str) -> Option<u64> {
        let txn = db.begin_read().expect("read");
        let table = match txn.open_table(META) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return None,
            Err(e) => panic!("{e}"),
        };
        table.get(key).expect("get").map(|v| v.value())
    }

    fn reopen_copy_after_crash(dir: &std::path::Path, key: &str) -> AfterCrash {
        let copies = tempfile::tempdir().expect("tempdir");
        let copy = copies.path().join("db");
        std::fs::copy(dir.join("db"), &copy).expect("copy the file");
        std::fs::copy(dir.join("db.journal"), copy.with_extension("journal"))
            .expect("copy the journal");
        let repaired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = repaired.clone();
        let db = Database::builder()
            .set_repair_callback(move |_| flag.store(true, Ordering::Relaxed))
            .open(&copy)
            .expect("the copy opens");
        let in_file = meta_value(&db, key);
        let held = meta_value(&db, super::super::commit::JOURNAL_SEQ).unwrap_or(0);
        let (_, records) =
            super::super::journal::Journal::open(&copy.with_extension("journal")).expect("journal");
        let unsaved_records = records.iter().filter(|(seq, _)| *seq > held).count();
        Committer::recover(&db, &copy.with_extension("journal")).expect("recovers");
        AfterCrash {
            repaired: repaired.load(Ordering::Relaxed),
            in_file,
            recovered: meta_value(&db, key),
            unsaved_records,
            audit_entries: audit_entries(&db),
        }
    }

    #[tokio::test]
    async fn commits_inside_a_burst_are_saved_by_the_journal() {
        let (dir, _db, queue) = fresh_queue_saving_after(Duration::from_secs(3600));
        queue
            .write(|tx| Ok(tx.meta()?.insert("burst", 1).map(|_| ())?))
            .await
            .expect("write");
        let crash = reopen_copy_after_crash(dir.path(), "burst");
        assert_eq!(crash.in_file, None, "redb has not written the commit yet");
        assert_eq!(
            crash.recovered,
            Some(1),
            "the acknowledged write is back from the journal"
        );
        assert!(!crash.repaired, "the file needs no repair");
        assert_eq!(crash.unsaved_records, 1);
        assert_eq!(queue.checkpoints(), 0);
    }

    #[tokio::test]
    async fn a_batch_s_writes_aside_are_journaled_with_it() {
        let (dir, db, queue) = fresh_queue_saving_after(Duration::from_secs(3600));
        let results = one_batch_of(&queue, 100, |i| i % 10 == 3).await;
        assert_answers_match_the_database(&db, &results, |i| i);
        let crash = reopen_copy_after_crash(dir.path(), "probe-99");
        assert_eq!(crash.in_file, None, "redb has not written the batch yet");
        assert_eq!(crash.recovered, Some(99));
        assert_eq!(
            crash.audit_entries, 90,
            "the writes aside are back from the journal, the refused jobs' are not"
        );
    }

    #[tokio::test]
    async fn a_pause_in_writes_makes_one_checkpoint() {
        let (dir, _db, queue) = fresh_queue_saving_after(Duration::from_millis(5));
        write_each(&queue, "paused", 0..3).await;
        wait_for_a_checkpoint(&queue).await;
        let crash = reopen_copy_after_crash(dir.path(), "paused");
        assert_eq!(crash.in_file, Some(2), "the file holds every commit");
        assert_eq!(
            crash.unsaved_records, 0,
            "the checkpoint leaves a restart nothing to apply"
        );
        assert!(!crash.repaired, "a crash after the pause needs no repair");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            queue.checkpoints(),
            1,
            "an idle writer saves once, not on every tick"
        );
    }

    #[tokio::test]
    async fn after_a_checkpoint_a_crash_recovers_the_later_commits_alone() {
        let (dir, db, committer) = fresh_database();
        // No checkpoint of its own: the test makes the one it needs.
        let queue = WriteQueue::start_saving_after(
            db.clone(),
            Duration::from_secs(3600),
            Arc::default(),
            committer.clone(),
        );
        write_each(&queue, "k", 1..6).await;
        committer.checkpoint(&db).expect("checkpoint");
        // The journal starts over: this record overwrites the first of the
        // five, the other four stay in the file behind it.
        write_each(&queue, "k", 6..7).await;
        let crash = reopen_copy_after_crash(dir.path(), "k");
        assert_eq!(crash.in_file, Some(5), "the checkpoint saved the five");
        assert_eq!(crash.unsaved_records, 1, "only the later commit is applied");
        assert_eq!(crash.recovered, Some(6));
    }

    /// Sets META `key` to each of `values`, one commit each.
    async fn write_each(queue: &WriteQueue, key: &'static str, values: std::ops::Range<u64>) {
        for i in values {
            queue
                .write(move |tx| Ok(tx.meta()?.insert(key, i).map(|_| ())?))
                .await
                .expect("write");
        }
    }

    /// Waits until the writer has made a checkpoint after a pause.
    async fn wait_for_a_checkpoint(queue: &WriteQueue) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queue.checkpoints() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint after the pause"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A writer over a new, empty database (the file `db` in the directory).
    fn fresh_queue() -> (tempfile::TempDir, Arc<Database>, WriteQueue) {
        fresh_queue_saving_after(CHECKPOINT_AFTER_IDLE)
    }

    /// [`fresh_queue`] whose writer saves the allocator state after `idle`.
    fn fresh_queue_saving_after(idle: Duration) -> (tempfile::TempDir, Arc<Database>, WriteQueue) {
        let (dir, db, committer) = fresh_database();
        let queue = WriteQueue::start_saving_after(db.clone(), idle, Arc::default(), committer);
        (dir, db, queue)
    }

    /// A new, empty database (the file `db` in the directory) and its
    /// committer (journal `db.journal`).
    fn fresh_database() -> (tempfile::TempDir, Arc<Database>, Arc<Committer>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Database::create(dir.path().join("db")).expect("db"));
        let committer =
            Arc::new(Committer::recover(&db, &dir.path().join("db.journal")).expect("journal"));
        (dir, db, committer)
    }

    /// Checks every job's answer against what the database holds: job `i`
    /// answered `i` and wrote `stored_by(i)`, or was refused and wrote nothing.
    fn assert_answers_match_the_database(
        db: &Database,
        results: &[Result<u64, ServiceError>],
        stored_by: fn(u64) -> u64,
    ) {
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(META).expect("table");
        let audit = txn.open_table(super::super::tables::AUDIT).expect("audit");
        for (i, result) in results.iter().enumerate() {
            let stored = table
                .get(format!("probe-{i}").as_str())
                .expect("get")
                .map(|v| v.value());
            let aside = audit.get((1, i as u128)).expect("get").is_some();
            match result {
                Ok(v) => {
                    assert_eq!((stored, *v), (Some(stored_by(i as u64)), i as u64));
                    assert!(aside, "job {i}'s write aside is missing");
                }
                Err(e) => {
                    assert_eq!(e.to_string(), format!("job {i} refused"));
                    assert_eq!(stored, None, "refused job {i} left a write behind");
                    assert!(!aside, "refused job {i} left a write aside behind");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_few_refused_jobs_leave_the_others_one_shared_commit() {
        let (_dir, db, queue) = fresh_queue();
        let results = one_batch_of(&queue, 300, |i| i % 100 == 7).await;
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 3);
        assert_eq!(
            queue.commits(),
            1,
            "the held job and the 297 accepted jobs share one commit"
        );
        assert_answers_match_the_database(&db, &results, |i| i);
    }

    #[tokio::test]
    async fn many_refused_jobs_cost_the_others_a_few_commits_not_one_each() {
        let cases: [(u64, Refusal); 3] = [
            (300, |i| i % 50 == 7),
            (60, |i| i % 5 == 0),
            (40, |i| i % 2 == 0),
        ];
        for (n, refuse) in cases {
            let (_dir, db, queue) = fresh_queue();
            let results = one_batch_of(&queue, n, refuse).await;
            let accepted = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(accepted, (0..n).filter(|i| !refuse(*i)).count());
            // The held job and the accepted jobs in at most three commits
            // (one more per exhausted re-run budget).
            let commits = queue.commits();
            assert!(
                (1..=3).contains(&commits),
                "{n} jobs, {accepted} accepted: {commits} commits"
            );
            assert_answers_match_the_database(&db, &results, |i| i);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_refused_job_never_takes_its_batch_down() {
        let (_dir, db, queue) = fresh_queue();
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            let q = queue.clone();
            tasks.push(tokio::spawn(async move {
                q.write(move |tx| {
                    probe(tx, i, i * 2)?;
                    if i % 7 == 0 {
                        return Err(ServiceError::Conflict(format!("job {i} refused")));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("task"));
        }
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 400 - 58);
        assert_answers_match_the_database(&db, &results, |i| i * 2);
    }
}
