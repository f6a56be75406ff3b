//! Group commit: concurrent use cases share one durable redb commit.
//!
//! A single fsync'd commit costs a fraction of a millisecond; taking one per
//! request caps throughput at a few thousand writes per second. The writer
//! thread drains every job that is waiting, applies them all in one write
//! transaction and commits once. Each job is a re-runnable closure: if any
//! job of a batch fails, the batch is aborted and every job is run again in
//! a transaction of its own, so one refused request never affects another.

use std::sync::Arc;
use std::sync::mpsc;

use redb::Database;
use tokio::sync::oneshot;

use super::tables::Tx;
use crate::error::ServiceError;

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 512;

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
}

impl WriteQueue {
    /// Starts the writer thread over `db`. It ends when every queue handle
    /// is dropped.
    pub fn start(db: Arc<Database>) -> Self {
        let (jobs, rx) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("roster-writer".into())
            .spawn(move || {
                let stopped = writer_loop(&db, &rx);
                drop(db);
                if let Some(ack) = stopped {
                    let _ = ack.send(());
                }
            })
            .expect("spawning the writer thread");
        Self { jobs }
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
fn writer_loop(db: &Database, rx: &mpsc::Receiver<Message>) -> Option<mpsc::Sender<()>> {
    // A message taken off the queue to learn whether writes are waiting.
    let mut carried: Option<Message> = None;
    loop {
        let first = match carried.take() {
            Some(message) => message,
            None => rx.recv().ok()?,
        };
        let mut batch = Vec::new();
        let mut stop = None;
        match first {
            Message::Job(job) => batch.push(job),
            Message::Stop(ack) => return Some(ack),
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Stop(ack)) => {
                    stop = Some(ack);
                    break;
                }
                Err(_) => break,
            }
        }
        let mut more_waiting = || match rx.try_recv() {
            Ok(message) => {
                carried = Some(message);
                true
            }
            Err(_) => false,
        };
        run_batch(db, batch, &mut more_waiting);
        if stop.is_some() {
            return stop;
        }
    }
}

/// Applies a batch in one transaction and commits it. Quick repair (see
/// [`super::begin_write`]) costs each commit a second flush; it is kept for
/// the commit that leaves the queue empty and skipped while more writes
/// wait, so a burst keeps its throughput and an idle daemon killed at any
/// moment still restarts at once (one killed mid-burst checks the file).
fn run_batch(db: &Database, mut batch: Vec<Box<dyn Job>>, more_waiting: &mut dyn FnMut() -> bool) {
    let mut txn = match super::begin_write(db) {
        Ok(txn) => txn,
        Err(e) => return fail_all(batch, &e),
    };
    let mut failure = None;
    {
        let tx = Tx::new(&txn);
        for job in batch.iter_mut() {
            if let Err(e) = job.apply(&tx) {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() {
        txn.set_quick_repair(!more_waiting());
    }
    match failure {
        None => match txn.commit() {
            Ok(()) => batch.into_iter().for_each(|j| j.finish(Ok(()))),
            Err(e) => fail_all(batch, &e),
        },
        Some(e) if batch.len() == 1 => {
            let _ = txn.abort();
            if let Some(job) = batch.into_iter().next() {
                job.finish(Err(e));
            }
        }
        Some(_) => {
            let _ = txn.abort();
            batch.into_iter().for_each(|job| run_alone(db, job));
        }
    }
}

fn run_alone(db: &Database, mut job: Box<dyn Job>) {
    let txn = match super::begin_write(db) {
        Ok(txn) => txn,
        Err(e) => return job.finish(Err(ServiceError::storage(e))),
    };
    let applied = job.apply(&Tx::new(&txn));
    match applied {
        Ok(()) => {
            let outcome = txn.commit().map_err(ServiceError::storage);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_refused_job_never_takes_its_batch_down() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Database::create(dir.path().join("db")).expect("db"));
        let queue = WriteQueue::start(db.clone());
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
        let mut ok = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.expect("task") {
                Ok(v) => {
                    assert_eq!(v, i as u64);
                    ok += 1;
                }
                Err(e) => assert_eq!(e.to_string(), format!("job {i} refused")),
            }
        }
        assert_eq!(ok, 400 - 58);
        let txn = db.begin_read().expect("read");
        let table = txn.open_table(META).expect("table");
        for i in 0..400u64 {
            let key = format!("probe-{i}");
            let stored = table.get(key.as_str()).expect("get").map(|v| v.value());
            if i % 7 == 0 {
                assert_eq!(stored, None, "refused job {i} left a write behind");
            } else {
                assert_eq!(stored, Some(i * 2), "acknowledged job {i} was lost");
            }
        }
    }
}
