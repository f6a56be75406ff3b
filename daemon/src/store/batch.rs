//! Group commit: concurrent use cases share one durable redb commit.
//!
//! A single fsync'd commit costs a fraction of a millisecond; taking one per
//! request caps throughput at a few thousand writes per second. The writer
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
//! Commits made while writes keep coming skip redb's quick repair (saving
//! the allocator state costs each commit a second fsync and ~100 more
//! pages); once the writer has been idle for [`CHECKPOINT_AFTER_IDLE`] it
//! commits an empty transaction that saves it, so a daemon killed while
//! idle restarts at once and one killed mid-burst checks the file first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::snapshot::Snapshots;
use super::tables::Tx;
use crate::error::ServiceError;

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 512;

/// How long writes must pause before the writer saves the allocator state
/// (quick repair) in a commit of its own: long enough that a steady stream
/// of writes never pays for it, short enough that a daemon is almost never
/// killed inside the window.
const CHECKPOINT_AFTER_IDLE: Duration = Duration::from_millis(20);

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
#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    checkpoints: AtomicU64,
    /// Told of every commit, before its jobs are answered.
    snapshots: Arc<Snapshots>,
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
    pub fn start(db: Arc<Database>, snapshots: Arc<Snapshots>) -> Self {
        Self::start_saving_after(db, CHECKPOINT_AFTER_IDLE, snapshots)
    }

    /// [`WriteQueue::start`] with the pause after which the allocator state is saved.
    fn start_saving_after(db: Arc<Database>, idle: Duration, snapshots: Arc<Snapshots>) -> Self {
        let (jobs, rx) = mpsc::channel::<Message>();
        let counters = Arc::new(Counters {
            snapshots,
            ..Counters::default()
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

    /// Empty commits made to save the allocator state after a burst.
    pub fn checkpoints(&self) -> u64 {
        self.counters.checkpoints.load(Ordering::Relaxed)
    }

    /// Runs `run` inside a durable write transaction shared with other
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
    // Whether the last commit left the allocator state unsaved.
    let mut unsaved = false;
    loop {
        let first = if unsaved {
            match rx.recv_timeout(idle) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    checkpoint(db, counters);
                    unsaved = false;
                    continue;
                }
                // Dropping the database closes it cleanly: nothing to save.
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        } else {
            rx.recv().ok()?
        };
        let first = match first {
            Message::Job(job) => job,
            Message::Stop(ack) => return Some(ack),
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
        unsaved = true;
        if stop.is_some() {
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
/// These commits skip quick repair; [`checkpoint`] saves the allocator
/// state once writes pause.
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
            let mut txn = match super::begin_write(db) {
                Ok(txn) => txn,
                Err(e) => {
                    fail_all(batch, &e);
                    todo.into_iter().for_each(|later| fail_all(later, &e));
                    return;
                }
            };
            let failure = apply_with_arrivals(&txn, &mut batch, queued);
            budget = budget.max(2 * batch.len());
            let Some((at, error)) = failure else {
                txn.set_quick_repair(false);
                match txn.commit() {
                    Ok(()) => {
                        counters.committed();
                        tracing::trace!(jobs = batch.len(), "batch committed");
                        batch.into_iter().for_each(|j| j.finish(Ok(())));
                    }
                    Err(e) => fail_all(batch, &e),
                }
                break;
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
/// once. Stops at the first job that fails and says which one and why.
fn apply_with_arrivals(
    txn: &WriteTransaction,
    batch: &mut Vec<Box<dyn Job>>,
    queued: &mut dyn FnMut(usize) -> Vec<Box<dyn Job>>,
) -> Option<(usize, ServiceError)> {
    let tx = Tx::new(txn);
    let mut from = 0;
    loop {
        if let Some(failure) = apply_from(&tx, batch, from) {
            return Some(failure);
        }
        let room = MAX_BATCH.saturating_sub(batch.len());
        let more = if room == 0 { Vec::new() } else { queued(room) };
        if more.is_empty() {
            return None;
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

/// Commits an empty transaction that saves the allocator state, so a crash
/// from now on needs no repair. A failure only costs that (the next burst
/// tries again), so it is logged, not raised.
fn checkpoint(db: &Database, counters: &Counters) {
    let saved = super::begin_write(db)
        .map_err(redb::Error::from)
        .and_then(|txn| txn.commit().map_err(redb::Error::from));
    match saved {
        Ok(()) => {
            counters.checkpoints.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("writes paused: allocator state saved");
        }
        Err(e) => {
            tracing::warn!(error = %e, "saving the allocator state after a burst of writes failed");
        }
    }
}

fn run_alone(db: &Database, job: Box<dyn Job>, counters: &Counters) {
    let txn = match super::begin_write(db) {
        Ok(txn) => txn,
        Err(e) => return job.finish(Err(ServiceError::storage(e))),
    };
    let mut jobs = [job];
    let failure = apply_from(&Tx::new(&txn), &mut jobs, 0);
    let [job] = jobs;
    match failure {
        None => {
            let outcome = txn.commit().map_err(ServiceError::storage);
            if outcome.is_ok() {
                counters.committed();
                tracing::trace!(jobs = 1, "batch committed");
            }
            job.finish(outcome);
        }
        Some((_, e)) => {
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
                tx.meta()?.insert(format!("probe-{i}").as_str(), i)?;
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

    /// Opens a copy of the database file as it is on disk now, as a restart
    /// after a crash at this moment would; says whether redb had to repair it
    /// and what the copy holds under `key`.
    fn reopen_copy_after_crash(dir: &std::path::Path, key: &str) -> (bool, Option<u64>) {
        let copy = dir.join("crashed-copy");
        std::fs::copy(dir.join("db"), &copy).expect("copy the file");
        let repaired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = repaired.clone();
        let db = Database::builder()
            .set_repair_callback(move |_| flag.store(true, Ordering::Relaxed))
            .open(&copy)
            .expect("the copy opens");
        let txn = db.begin_read().expect("read");
        let value = txn
            .open_table(META)
            .expect("table")
            .get(key)
            .expect("get")
            .map(|v| v.value());
        (repaired.load(Ordering::Relaxed), value)
    }

    #[tokio::test]
    async fn commits_skip_quick_repair_until_writes_pause() {
        let (dir, _db, queue) = fresh_queue_saving_after(Duration::from_secs(3600));
        queue
            .write(|tx| Ok(tx.meta()?.insert("burst", 1).map(|_| ())?))
            .await
            .expect("write");
        let (repaired, value) = reopen_copy_after_crash(dir.path(), "burst");
        assert_eq!(value, Some(1), "the acknowledged write is in the file");
        assert!(
            repaired,
            "a commit inside a burst leaves the allocator state unsaved"
        );
        assert_eq!(queue.checkpoints(), 0);
    }

    #[tokio::test]
    async fn a_pause_in_writes_saves_the_allocator_state_once() {
        let (dir, _db, queue) = fresh_queue_saving_after(Duration::from_millis(5));
        for i in 0..3 {
            queue
                .write(move |tx| Ok(tx.meta()?.insert("paused", i).map(|_| ())?))
                .await
                .expect("write");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queue.checkpoints() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint after the pause"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (repaired, value) = reopen_copy_after_crash(dir.path(), "paused");
        assert_eq!(value, Some(2));
        assert!(!repaired, "a crash after the pause needs no repair");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            queue.checkpoints(),
            1,
            "an idle writer saves once, not on every tick"
        );
    }

    /// A writer over a new, empty database (the file `db` in the directory).
    fn fresh_queue() -> (tempfile::TempDir, Arc<Database>, WriteQueue) {
        fresh_queue_saving_after(CHECKPOINT_AFTER_IDLE)
    }

    /// [`fresh_queue`] whose writer saves the allocator state after `idle`.
    fn fresh_queue_saving_after(idle: Duration) -> (tempfile::TempDir, Arc<Database>, WriteQueue) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Database::create(dir.path().join("db")).expect("db"));
        let queue = WriteQueue::start_saving_after(db.clone(), idle, Arc::default());
        (dir, db, queue)
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
        for (i, result) in results.iter().enumerate() {
            let stored = table
                .get(format!("probe-{i}").as_str())
                .expect("get")
                .map(|v| v.value());
            match result {
                Ok(v) => assert_eq!((stored, *v), (Some(stored_by(i as u64)), i as u64)),
                Err(e) => {
                    assert_eq!(e.to_string(), format!("job {i} refused"));
                    assert_eq!(stored, None, "refused job {i} left a write behind");
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
                    tx.meta()?.insert(format!("probe-{i}").as_str(), i * 2)?;
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
