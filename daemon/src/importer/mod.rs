//! The CSV drop folder (SPEC §4): a watcher claims finished files from
//! `incoming/`, uploads (`roster import`) are claimed the same way, and one
//! worker runs the jobs in order. A claim records the job before it moves
//! the file, so no file is ever lost or imported twice.

pub mod columns;
pub mod delimiter;
pub mod job;
pub mod paths;
pub mod report;
pub mod watcher;
pub mod words;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use roster_shared::api::{
    ImportCounts, ImportMode, ImportRowResponse, ImportRowsQuery, ImportStatus, RowOutcome,
};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::clock;
use crate::config::ImportsConfig;
use crate::error::ServiceError;
use crate::service::Services;
use crate::service::imports::save_job;
use crate::service::workspaces;
use crate::store::new_id;
use crate::store::records::{ImportJobRecord, ImportPhase};
use job::{JobError, JobRunner};
use paths::{Destination, ImportDirs, is_dry_run};

/// Who the audit log names for files dropped in the folder.
const FOLDER_ACTOR: &str = "drop folder";

/// Hands files to the import worker; cheap to clone.
#[derive(Clone)]
pub struct Importer(Arc<Inner>);

struct Inner {
    services: Services,
    dirs: ImportDirs,
    mode: ImportMode,
    sort_window: u64,
    max_upload_bytes: u64,
    queue: mpsc::UnboundedSender<Uuid>,
    stop: Arc<AtomicBool>,
    /// Wakes the idle worker at shutdown.
    stop_worker: Arc<tokio::sync::Notify>,
}

/// The importer's background work, for shutdown.
pub struct ImporterTasks {
    worker: tokio::task::JoinHandle<()>,
    watcher: std::thread::JoinHandle<()>,
}

impl ImporterTasks {
    /// Waits for the worker to stop after its current batch.
    pub async fn join(self) {
        let _ = self.worker.await;
        let _ = tokio::task::spawn_blocking(move || self.watcher.join()).await;
    }
}

impl Importer {
    /// Creates the folders, queues every unfinished job again (a restart
    /// resumes them), then starts the worker and the watcher.
    pub async fn start(
        services: Services,
        config: &ImportsConfig,
        root: PathBuf,
    ) -> Result<(Self, ImporterTasks), ServiceError> {
        let dirs = ImportDirs::new(root);
        let slugs: Vec<String> = services
            .list_workspaces()
            .await?
            .into_iter()
            .filter(|w| !w.is_default)
            .map(|w| w.slug)
            .collect();
        dirs.create(&slugs).map_err(|e| {
            ServiceError::storage(format!("drop folder {}: {e}", dirs.root.display()))
        })?;
        remove_stale_uploads(&dirs);
        let (queue, jobs) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_worker = Arc::new(tokio::sync::Notify::new());
        let importer = Importer(Arc::new(Inner {
            services: services.clone(),
            dirs: dirs.clone(),
            mode: config.mode,
            sort_window: config.sort_window_rows as u64,
            max_upload_bytes: config.max_upload_bytes,
            queue,
            stop: stop.clone(),
            stop_worker: stop_worker.clone(),
        }));
        for job in services.unfinished_imports().await? {
            tracing::info!(job = %job.id, file = %job.file_name, rows_done = job.counts.rows, "resuming an unfinished import");
            importer.enqueue(job.id);
        }
        let runner = JobRunner {
            services,
            dirs,
            batch_rows: config.batch_rows,
            stop,
        };
        let worker = tokio::spawn(work(runner, jobs, stop_worker));
        let settle = Duration::from_millis(config.settle_ms);
        let rescan = (config.rescan_secs > 0).then(|| Duration::from_secs(config.rescan_secs));
        let watching = importer.clone();
        let watcher = std::thread::Builder::new()
            .name("roster-drop-folder".into())
            .spawn(move || watcher::watch(&watching, settle, rescan))
            .map_err(ServiceError::storage)?;
        Ok((importer, ImporterTasks { worker, watcher }))
    }

    /// Asks the watcher and the worker to stop (the running job pauses
    /// after its current batch).
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Relaxed);
        self.0.stop_worker.notify_one();
    }

    /// The drop folder's layout.
    pub fn dirs(&self) -> &ImportDirs {
        &self.0.dirs
    }

    /// The service layer.
    pub fn services(&self) -> &Services {
        &self.0.services
    }

    /// Turns true at shutdown.
    pub fn stopping(&self) -> &AtomicBool {
        &self.0.stop
    }

    /// Gives a new workspace its `incoming/<slug>/` folder.
    pub fn create_workspace_folder(&self, slug: &str) {
        if let Err(e) = std::fs::create_dir_all(self.0.dirs.incoming.join(slug)) {
            tracing::warn!(workspace = slug, error = %e, "cannot create the workspace's drop folder");
        }
    }

    fn enqueue(&self, id: Uuid) {
        // The worker only goes away at shutdown; the job then resumes at the
        // next start.
        let _ = self.0.queue.send(id);
    }

    /// Claims a file found in `incoming/` (blocking).
    pub fn claim_dropped(&self, path: &Path) -> Result<(), ServiceError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = self.0.dirs.destination_of(path);
        self.claim(path, dest, &name, is_dry_run(&name), FOLDER_ACTOR)?;
        Ok(())
    }

    /// Records a queued job for `from`, then moves the file into
    /// `processing/` and queues the job (blocking).
    fn claim(
        &self,
        from: &Path,
        dest: Result<Destination, String>,
        file_name: &str,
        dry_run: bool,
        actor: &str,
    ) -> Result<ImportJobRecord, ServiceError> {
        let services = &self.0.services;
        let slug = match &dest {
            Ok(Destination::Default) | Err(_) => services.settings.default_workspace.clone(),
            Ok(Destination::Workspace(s)) => s.clone(),
        };
        let workspace = services
            .store
            .read_now(|txn| match workspaces::find_read(txn, &slug) {
                Ok(ws) => Ok(Some(ws.id)),
                Err(ServiceError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            })?;
        let mut job = ImportJobRecord {
            id: new_id(),
            workspace,
            workspace_slug: slug,
            file_name: file_name.to_string(),
            dry_run,
            mode: self.0.mode,
            status: ImportStatus::Queued,
            phase: ImportPhase::Apply,
            counts: ImportCounts::default(),
            report_len: 0,
            actor: actor.to_string(),
            claimed_from: Some(from.display().to_string()),
            failed: false,
            ignored_columns: Vec::new(),
            file_changed: None,
            message: None,
            file_path: None,
            report_path: None,
            created_at: clock::now_ms(),
            finished_at: None,
            sort_window: self.0.sort_window,
            words_through: 0,
        };
        if let Err(why) = &dest {
            job.message = Some(why.clone());
        }
        services.store.write_blocking(|tx| save_job(tx, &job))?;
        if let Err(e) = std::fs::rename(from, self.0.dirs.claimed(job.id)) {
            tracing::warn!(file = %from.display(), error = %e, "a dropped file could not be moved to processing/");
        }
        tracing::info!(job = %job.id, file = %self.0.dirs.shown(from), workspace = %job.workspace_slug, dry_run, "import queued");
        services.publish(&job.workspace_slug, "import.queued", &job.id.to_string());
        self.enqueue(job.id);
        Ok(job)
    }

    /// Takes a file uploaded by `roster import`: streams it to disk (up to
    /// `imports.max_upload_bytes`), then claims it like a dropped file.
    pub async fn upload(
        &self,
        workspace: Option<&str>,
        name: &str,
        dry_run: bool,
        actor: &str,
        body: axum::body::Body,
    ) -> Result<ImportJobRecord, ServiceError> {
        let services = &self.0.services;
        let slug = services.workspace_slug(workspace);
        let lookup = slug.clone();
        let checked = match upload_name(name) {
            Ok(name) => services
                .store
                .read(move |txn| workspaces::find_read(txn, &lookup))
                .await
                .map(|_| name),
            Err(e) => Err(e),
        };
        let name = match checked {
            Ok(name) => name,
            Err(refused) => {
                // Read the body before answering, so the client sees the
                // refusal instead of a connection closed mid-upload.
                self.discard(body).await;
                return Err(refused);
            }
        };
        let part = self.0.dirs.upload(new_id());
        let written = self.receive(&part, body).await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        let importer = self.clone();
        let actor = actor.to_string();
        tokio::task::spawn_blocking(move || {
            let dest = Ok(Destination::Workspace(slug));
            let dry_run = dry_run || is_dry_run(&name);
            importer.claim(&part, dest, &name, dry_run, &actor)
        })
        .await
        .map_err(ServiceError::storage)?
    }

    /// Reads and drops a refused upload (up to the upload limit).
    async fn discard(&self, body: axum::body::Body) {
        let mut stream = body.into_data_stream();
        let mut total = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            total += chunk.len() as u64;
            if total > self.0.max_upload_bytes {
                return;
            }
        }
    }

    async fn receive(&self, part: &Path, body: axum::body::Body) -> Result<(), ServiceError> {
        let limit = self.0.max_upload_bytes;
        let mut file = tokio::fs::File::create(part)
            .await
            .map_err(ServiceError::storage)?;
        let mut stream = body.into_data_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ServiceError::BadRequest(format!("the upload was interrupted: {e}"))
            })?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(ServiceError::TooLarge(format!(
                    "the file is larger than imports.max_upload_bytes ({limit} bytes)"
                )));
            }
            file.write_all(&chunk)
                .await
                .map_err(ServiceError::storage)?;
        }
        file.sync_all().await.map_err(ServiceError::storage)?;
        Ok(())
    }
}

impl Importer {
    /// Report lines of a job (finished or running), errors or any outcome.
    pub async fn rows(
        &self,
        job: &ImportJobRecord,
        q: &ImportRowsQuery,
    ) -> Result<Vec<ImportRowResponse>, ServiceError> {
        let outcome = match q.outcome.as_deref() {
            None => None,
            Some(raw) => Some(RowOutcome::parse(raw).ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "unknown outcome \"{raw}\": use invited, updated, unchanged, error or skipped"
                ))
            })?),
        };
        let in_line_order = job.status.is_final() || job.sort_window == 0;
        let path = match (&job.report_path, job.status) {
            (Some(p), s) if s.is_final() => PathBuf::from(p),
            _ => self.0.dirs.report(job.id),
        };
        let (after, limit) = (
            q.after_line.unwrap_or(0),
            q.limit.unwrap_or(100).clamp(1, 1000),
        );
        tokio::task::spawn_blocking(move || {
            match report::read_rows(&path, outcome, after, limit, in_line_order) {
                Ok(rows) => Ok(rows),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(ServiceError::storage(e)),
            }
        })
        .await
        .map_err(ServiceError::storage)?
    }
}

/// A plain file name for an upload: no folders, not hidden, not empty.
fn upload_name(raw: &str) -> Result<String, ServiceError> {
    let name = raw.trim();
    let bad = |why: &str| ServiceError::BadRequest(format!("file name \"{name}\" {why}"));
    if name.is_empty() {
        return Err(ServiceError::BadRequest("the file name is empty".into()));
    }
    if name.contains(['/', '\\', '\0']) {
        return Err(bad("must not contain a folder"));
    }
    if name.starts_with('.') {
        return Err(bad("must not start with a dot"));
    }
    if name.len() > 200 {
        return Err(bad("is longer than 200 bytes"));
    }
    Ok(name.to_string())
}

/// Removes uploads a crash cut short (nothing was claimed from them).
fn remove_stale_uploads(dirs: &ImportDirs) {
    let Ok(entries) = std::fs::read_dir(&dirs.processing) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".upload-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Runs queued jobs one at a time until shutdown.
async fn work(
    runner: JobRunner,
    mut jobs: mpsc::UnboundedReceiver<Uuid>,
    stopped: Arc<tokio::sync::Notify>,
) {
    loop {
        let id = tokio::select! {
            next = jobs.recv() => match next {
                Some(id) => id,
                None => return,
            },
            () = stopped.notified() => return,
        };
        let r = runner.clone();
        match tokio::task::spawn_blocking(move || r.run(id)).await {
            Ok(Ok(())) => {}
            Ok(Err(JobError::Stopped)) => {
                tracing::info!(job = %id, "import paused for shutdown; it resumes at the next start");
                return;
            }
            Ok(Err(e)) => {
                tracing::error!(job = %id, error = %e, "import stopped; it resumes at the next start")
            }
            Err(e) => tracing::error!(job = %id, error = %e, "import worker failed"),
        }
        if runner.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}
