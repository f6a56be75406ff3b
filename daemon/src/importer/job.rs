//! Runs one import job from its claimed file to its final folder. Every
//! step is recorded before or with its effect, so a job interrupted at any
//! point (kill -9 included) resumes where its last commit left it:
//!
//! `queued` → `running` (batches: rows, report lines and progress commit
//! together) → `finishing` (final names chosen) → `done` | `failed`.
//!
//! Rows are applied in e-mail order within windows of the file (see
//! [`RowOrder`]): neighbouring keys share index pages, so a batch rewrites
//! a few pages instead of one per row and index.

use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use csv::ByteRecord;
use roster_shared::Email;
use roster_shared::api::{ImportCounts, ImportMode, ImportStatus, RowOutcome, Source};
use uuid::Uuid;

use super::columns::ColumnMap;
use super::delimiter;
use super::paths::{ImportDirs, free_names};
use super::report::{self, ReportWriter};

use crate::clock;
use crate::error::ServiceError;
use crate::service::imports::{PreparedRow, RowContext, RowResult, apply_row, load_job, save_job};
use crate::service::{Actor, Services};
use crate::store::members;
use crate::store::records::{ImportJobRecord, ImportPhase, WorkspaceRecord, decode};
use crate::store::tables::{IMPORT_JOBS, MEMBER_EMAILS, MEMBERS, WORKSPACES};
use crate::store::{DeferredWords, Tx};

use super::words::{WordsDrain, WordsSlice};

/// What every job run needs.
#[derive(Clone)]
pub struct JobRunner {
    pub services: Services,
    pub dirs: ImportDirs,
    pub batch_rows: usize,
    /// Set at shutdown: the job stops after its current batch and resumes
    /// at the next start.
    pub stop: Arc<AtomicBool>,
}

/// A row read from the file and checked as far as it can be without the
/// database.
struct ReadRow {
    line: u64,
    email: String,
    row: Result<PreparedRow, String>,
}

/// Batches of rows on their way from the reading thread to the applying
/// one: two may wait, so reading runs ahead by at most two batches.
const BATCHES_AHEAD: usize = 2;

/// Why a job stopped without finishing (it resumes at the next start).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("report or file I/O: {0}")]
    Io(#[from] io::Error),
    #[error("stopped for shutdown")]
    Stopped,
}

impl JobRunner {
    /// Runs a job until it is done, failed, or the daemon stops.
    pub fn run(&self, id: Uuid) -> Result<(), JobError> {
        loop {
            let job = self
                .services
                .store
                .read_now(|txn| load_job(&txn.open_table(IMPORT_JOBS)?, id))?
                .ok_or_else(|| ServiceError::storage(format!("import job {id} vanished")))?;
            match job.status {
                ImportStatus::Queued => self.start(job)?,
                ImportStatus::Running => self.process(job)?,
                ImportStatus::Finishing => self.finish(job)?,
                ImportStatus::Done | ImportStatus::Failed => return Ok(()),
            }
        }
    }

    fn save(&self, job: &ImportJobRecord) -> Result<(), ServiceError> {
        self.services.store.write_blocking(|tx| save_job(tx, job))
    }

    fn start(&self, mut job: ImportJobRecord) -> Result<(), JobError> {
        let claimed = self.dirs.claimed(job.id);
        if let Some(refused) = job.message.clone() {
            // Refused at the claim (a file nested too deep); still reported.
            if claimed.exists() {
                return self.fail(job, &refused);
            }
        }
        if !claimed.exists() {
            match job.claimed_from.as_deref().map(Path::new) {
                Some(from) if from.exists() => std::fs::rename(from, &claimed)?,
                _ => return self.fail(job, "the file disappeared before it could be read"),
            }
        }
        if job.workspace.is_none() {
            let why = format!(
                "incoming/{0}/ names no workspace: create workspace \"{0}\" (roster workspaces create) and drop the file again, or drop it in incoming/ for the default workspace",
                job.workspace_slug
            );
            return self.fail(job, &why);
        }
        job.status = ImportStatus::Running;
        job.phase = if job.dry_run || job.mode == ImportMode::AllOrNothing {
            ImportPhase::Rehearse
        } else {
            ImportPhase::Apply
        };
        self.save(&job)?;
        self.announce(&job, "import.started");
        Ok(())
    }

    /// Reads the file from the start, skips the rows already committed and
    /// applies the rest a batch at a time.
    fn process(&self, mut job: ImportJobRecord) -> Result<(), JobError> {
        let Some(ws) = self.workspace(&job)? else {
            return self.fail(job, "the workspace was deleted before the import finished");
        };
        let order = RowOrder::of(&job, self.batch_rows);
        let (rows, opened) = match RowReader::open(
            &self.dirs.claimed(job.id),
            order,
            self.batch_rows,
            job.counts.rows,
        ) {
            Ok(opened) => opened,
            Err(Unreadable::Missing) => {
                let why = format!(
                    "the file was removed from processing/ after {} rows; those rows are in this report",
                    job.counts.rows
                );
                return self.fail(job, &why);
            }
            Err(Unreadable::Refused(why)) => return self.fail(job, &why),
        };
        if job.counts.rows == 0 && !rows.columns.ignored.is_empty() {
            job.ignored_columns = named_briefly(&rows.columns.ignored);
        }
        let held = self.words_of_applied_rows(&job, &ws)?;
        let mut words = WordsDrain::holding(held, self.batch_rows);
        let mut report = ReportWriter::open(&self.dirs.report(job.id), job.report_len)?;
        // One thread reads and checks rows while this one writes the batch
        // before them: the two cores share the work of a large file.
        let (batches, read) = mpsc::sync_channel(BATCHES_AHEAD);
        let applied = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("roster-import-read".into())
                .spawn_scoped(scope, move || rows.send_batches(&batches))?;
            for batch in read {
                if self.stop.load(Ordering::Relaxed) {
                    return Err(JobError::Stopped);
                }
                job = self.apply_batch(job, &ws, &mut report, &batch, &mut words)?;
                self.announce(&job, "import.progress");
            }
            Ok(job)
        });
        job = self.write_held_words(applied?, &mut words)?;
        if job.counts.rows == 0 {
            drop(report);
            return self.fail(
                job,
                "the file has a header but no rows: add one row per person below the header",
            );
        }
        if let Some(change) = opened.changed(&self.dirs.claimed(job.id)) {
            // Written to after it was picked up: say so in the report and
            // the summary rather than pretend the import is complete.
            report.push(0, "", RowOutcome::Error, &change)?;
            job.report_len = report.flush_durable()?;
            job.file_changed = Some(change);
        }
        self.rows_done(job)
    }

    /// Applies (or rehearses) one batch; its report lines are on disk
    /// before the transaction that counts them commits.
    fn apply_batch(
        &self,
        job: ImportJobRecord,
        ws: &WorkspaceRecord,
        report: &mut ReportWriter,
        batch: &[ReadRow],
        words: &mut WordsDrain,
    ) -> Result<ImportJobRecord, JobError> {
        let actor = Actor {
            name: job.actor.clone(),
            source: Source::Csv,
        };
        let cx = RowContext {
            ws,
            actor: &actor,
            expiry_ms: self.services.settings.invite_expiry_ms,
            model: self.services.settings.status_model,
            groups: Default::default(),
        };
        let apply = |tx: &Tx<'_>| -> Result<Vec<RowResult>, ServiceError> {
            batch
                .iter()
                .map(|r| match &r.row {
                    Err(why) => Ok(RowResult::error(why.clone())),
                    Ok(prepared) => apply_row(tx, &cx, prepared),
                })
                .collect()
        };
        let record =
            |report: &mut ReportWriter, results: &[RowResult]| -> io::Result<ImportJobRecord> {
                let mut next = job.clone();
                for (r, result) in batch.iter().zip(results) {
                    let message = match (job.dry_run, result.outcome) {
                        (true, o) if o != RowOutcome::Error => "dry run: not applied",
                        _ => result.message.as_str(),
                    };
                    report.push(r.line, &r.email, result.outcome, message)?;
                    next.counts.add(result.outcome);
                }
                next.report_len = report.flush_durable()?;
                Ok(next)
            };
        let store = &self.services.store;
        let next = match job.phase {
            ImportPhase::Apply => {
                let slice = words.next_slice(job.counts.rows, job.words_through);
                let next = store.write_blocking_holding(Some(words.held()), |tx| {
                    if let Some(slice) = &slice {
                        slice.write_aside(tx)?;
                    }
                    let results = apply(tx)?;
                    let mut next = record(report, &results).map_err(ServiceError::storage)?;
                    if let Some(through) = slice.as_ref().and_then(WordsSlice::completes) {
                        next.words_through = through;
                    }
                    save_job(tx, &next)?;
                    Ok(next)
                })?;
                if next.counts.invited > job.counts.invited {
                    self.services.wake_mailer();
                }
                next
            }
            ImportPhase::Rehearse => {
                let results = store.rehearse_blocking(apply)?;
                let next = record(report, &results)?;
                self.save(&next)?;
                next
            }
        };
        Ok(next)
    }

    /// Writes the search words still held back, with the job's note that
    /// every applied row has its words.
    fn write_held_words(
        &self,
        job: ImportJobRecord,
        words: &mut WordsDrain,
    ) -> Result<ImportJobRecord, JobError> {
        if job.phase != ImportPhase::Apply || job.words_through == job.counts.rows {
            return Ok(job);
        }
        let mut next = job;
        self.services.store.write_blocking(|tx| {
            words.write_all(tx)?;
            next.words_through = next.counts.rows;
            save_job(tx, &next)
        })?;
        Ok(next)
    }

    /// The search words of applied rows that a crash caught while their
    /// words were held back (see [`DeferredWords`]): the rows are read
    /// again from the file and their members' words held once more.
    fn words_of_applied_rows(
        &self,
        job: &ImportJobRecord,
        ws: &WorkspaceRecord,
    ) -> Result<DeferredWords, JobError> {
        let words = DeferredWords::default();
        let mut missing = job.counts.rows.saturating_sub(job.words_through);
        if job.phase != ImportPhase::Apply || missing == 0 {
            return Ok(words);
        }
        let order = RowOrder::of(job, self.batch_rows);
        let path = self.dirs.claimed(job.id);
        // A file that cannot be read fails the job just after this.
        let Ok((rows, _)) = RowReader::open(&path, order, self.batch_rows, job.words_through)
        else {
            return Ok(words);
        };
        let (sender, batches) = mpsc::sync_channel(BATCHES_AHEAD);
        std::thread::scope(|scope| -> Result<(), ServiceError> {
            scope.spawn(move || rows.send_batches(&sender));
            for batch in batches.iter() {
                let take = batch.len().min(missing as usize);
                self.services.store.read_now(|txn| {
                    let emails = txn.open_table(MEMBER_EMAILS)?;
                    let members_t = txn.open_table(MEMBERS)?;
                    for row in &batch[..take] {
                        let key = Email::key_of(&row.email);
                        let Some(id) = members::id_by_email(&emails, ws.id, &key)? else {
                            continue;
                        };
                        if let Some(m) = members::get(&members_t, ws.id, id)? {
                            let found = members::search_words(&m.name, &m.email);
                            words.hold(ws.id.as_u128(), id, found);
                        }
                    }
                    Ok(())
                })?;
                missing -= take as u64;
                if missing == 0 {
                    break;
                }
            }
            // The reader stops at its next batch.
            drop(batches);
            Ok(())
        })?;
        Ok(words)
    }

    /// Every row is read: all-or-nothing goes on to apply (if nothing
    /// failed) or ends with nothing applied; everything else finishes.
    fn rows_done(&self, mut job: ImportJobRecord) -> Result<(), JobError> {
        let rehearsed_for_real = job.phase == ImportPhase::Rehearse && !job.dry_run;
        if rehearsed_for_real && job.counts.errors == 0 {
            job.phase = ImportPhase::Apply;
            job.counts = ImportCounts::default();
            job.words_through = 0;
            job.report_len = 0;
            self.save(&job)?;
            return Ok(());
        }
        if rehearsed_for_real {
            let c = job.counts;
            job.counts = ImportCounts {
                rows: c.rows,
                errors: c.errors,
                skipped: c.rows - c.errors,
                ..ImportCounts::default()
            };
        }
        self.to_finishing(job, None)
    }

    /// Records the job's final names (so a restart completes the moves),
    /// then moves.
    fn to_finishing(
        &self,
        mut job: ImportJobRecord,
        failure: Option<&str>,
    ) -> Result<(), JobError> {
        let dir = if failure.is_some() {
            &self.dirs.failed
        } else {
            &self.dirs.processed
        };
        let (file, report) = free_names(dir, &job.file_name);
        job.file_path = Some(file.display().to_string());
        job.report_path = Some(report.display().to_string());
        job.failed = failure.is_some();
        job.message = Some(match failure {
            Some(why) => why.to_string(),
            None => summary(&job),
        });
        job.status = ImportStatus::Finishing;
        self.save(&job)?;
        Ok(())
    }

    /// Ends a job whose file cannot be imported: a report that says why.
    fn fail(&self, job: ImportJobRecord, why: &str) -> Result<(), JobError> {
        // Rows already applied stay in the report; the reason follows them
        // (as line 1, the header's, when no row was read).
        let kept = if job.counts.rows == 0 {
            0
        } else {
            job.report_len
        };
        let mut report = ReportWriter::open(&self.dirs.report(job.id), kept)?;
        let line = if job.counts.rows == 0 { 1 } else { 0 };
        report.push(line, "", RowOutcome::Error, why)?;
        report.flush_durable()?;
        self.to_finishing(job, Some(why))
    }

    /// Moves the file and its report to their final names and closes the
    /// job; each move is skipped if a restart finds it already done.
    fn finish(&self, mut job: ImportJobRecord) -> Result<(), JobError> {
        let (Some(file_dest), Some(report_dest)) = (job.file_path.clone(), job.report_path.clone())
        else {
            return Err(ServiceError::storage("a finishing import job has no destination").into());
        };
        let report_src = self.dirs.report(job.id);
        if report_src.exists() {
            if job.sort_window > 0 {
                report::order_by_line(&report_src, job.sort_window)?;
            }
            if job.phase == ImportPhase::Rehearse && !job.dry_run && !job.failed {
                report::mark_skipped(
                    &report_src,
                    "not applied: other rows have errors and imports.mode is all-or-nothing",
                )?;
            }
            std::fs::rename(&report_src, &report_dest)?;
        }
        let file_src = self.dirs.claimed(job.id);
        if file_src.exists() {
            std::fs::rename(&file_src, &file_dest)?;
        } else if !Path::new(&file_dest).exists() {
            job.file_path = None;
        }
        sync_dir(Path::new(&report_dest).parent());
        job.status = if job.failed {
            ImportStatus::Failed
        } else {
            ImportStatus::Done
        };
        job.finished_at = Some(clock::now_ms());
        self.save(&job)?;
        let message = job.message.clone().unwrap_or_default();
        if job.failed {
            tracing::warn!(job = %job.id, file = %job.file_name, workspace = %job.workspace_slug, report = %report_dest, "import failed: {message}");
        } else {
            tracing::info!(job = %job.id, file = %job.file_name, workspace = %job.workspace_slug, report = %report_dest, "import finished: {message}");
        }
        self.announce(&job, "import.finished");
        Ok(())
    }

    fn workspace(&self, job: &ImportJobRecord) -> Result<Option<WorkspaceRecord>, ServiceError> {
        let Some(id) = job.workspace else {
            return Ok(None);
        };
        self.services.store.read_now(|txn| {
            txn.open_table(WORKSPACES)?
                .get(id.as_u128())?
                .map(|v| decode(v.value()))
                .transpose()
        })
    }

    fn announce(&self, job: &ImportJobRecord, kind: &str) {
        self.services
            .publish(&job.workspace_slug, kind, &job.id.to_string());
    }
}

/// The job's one-line summary.
fn summary(job: &ImportJobRecord) -> String {
    let mut s = job.counts.summary();
    if job.dry_run {
        s = format!("dry run, nothing applied: {s}");
    } else if job.counts.skipped > 0 {
        s = format!(
            "nothing applied (all-or-nothing): {} rows have errors; {s}",
            job.counts.errors
        );
    }
    if !job.ignored_columns.is_empty() {
        s.push_str(&format!(
            "; ignored columns: {}",
            job.ignored_columns.join(", ")
        ));
    }
    if let Some(change) = &job.file_changed {
        s.push_str(&format!("; {change}"));
    }
    s
}

/// A file's size and modification time when it was opened, to notice a
/// writer that was still at work.
struct FileState {
    len: Option<u64>,
    modified: Option<std::time::SystemTime>,
}

impl FileState {
    fn of(file: &File) -> Self {
        let meta = file.metadata().ok();
        Self {
            len: meta.as_ref().map(std::fs::Metadata::len),
            modified: meta.and_then(|m| m.modified().ok()),
        }
    }

    /// How the file at `path` differs from when it was opened, in words.
    fn changed(&self, path: &Path) -> Option<String> {
        let Ok(now) = std::fs::metadata(path) else {
            return Some(
                "the file was removed from processing/ while it was read; every row read is in this report"
                    .into(),
            );
        };
        let (len, modified) = (Some(now.len()), now.modified().ok());
        (len != self.len || modified != self.modified).then(|| {
            format!(
                "the file changed while it was read ({} bytes when picked up, {} now): rows written later are not imported; drop the complete file again",
                self.len.unwrap_or_default(),
                now.len()
            )
        })
    }
}

/// At most ten names, then how many more (a file may have 10,000 columns).
fn named_briefly(names: &[String]) -> Vec<String> {
    const NAMED: usize = 10;
    let mut out: Vec<String> = names.iter().take(NAMED).cloned().collect();
    if names.len() > NAMED {
        out.push(format!("and {} more", names.len() - NAMED));
    }
    out
}

/// File line numbers of records (the header is line 1). The csv crate ends
/// a record at the `\r` of a CRLF pair and counts the `\n` with the next
/// one, so in CRLF files its line numbers are one short.
#[derive(Debug, Clone, Copy)]
struct LineNumbers {
    shift: u64,
}

impl LineNumbers {
    /// Learns the file's line ends from where the header left the reader.
    fn after_header<R: std::io::Read>(reader: &csv::Reader<R>) -> Self {
        Self {
            shift: u64::from(reader.position().line() == 1),
        }
    }

    /// The line where `record` starts.
    fn of(self, record: &ByteRecord) -> u64 {
        record.position().map_or(0, |p| self.at(p))
    }

    fn at(self, p: &csv::Position) -> u64 {
        p.line() + self.shift
    }
}

/// The csv reader every pass over an imported file uses; `delimiter` is
/// the file's own (see [`delimiter`]).
fn csv_reader<R: io::Read>(from: R, delimiter: u8, buffer: usize) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(buffer)
        .from_reader(from)
}

/// Buffer of the first pass, which reads the file in order.
const READ_BUFFER: usize = 1 << 18;

/// Buffer of the second pass, which reads one row per seek: a little more
/// than a typical row, since each seek reads a whole buffer (longer rows
/// take more reads).
const REREAD_BUFFER: usize = 512;

/// In which order a job applies its rows: the file is cut into windows of
/// `window` rows, and each window is applied in e-mail order when `sorted`.
/// A job keeps its window for life, so a resumed job cuts the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowOrder {
    window: u64,
    sorted: bool,
}

impl RowOrder {
    fn of(job: &ImportJobRecord, batch_rows: usize) -> Self {
        match job.sort_window {
            0 => Self {
                window: batch_rows.max(1) as u64,
                sorted: false,
            },
            window => Self {
                window,
                sorted: true,
            },
        }
    }

    /// How many of the first `done` rows applied lie in whole windows: the
    /// rows a resumed job passes over in file order.
    fn whole_windows(self, done: u64) -> u64 {
        done / self.window * self.window
    }
}

/// Where a row of the current window is in the file and where it sorts:
/// 32 bytes, so a window of a million rows holds 32 MB.
#[derive(Debug, Clone, Copy)]
struct PlacedRow {
    /// The first 8 bytes of the e-mail key, big-endian: close keys sort
    /// together, which is all the ordering is for.
    key: u64,
    line: u64,
    /// Byte offset of the record, to read it again.
    start: u64,
    /// The line of an earlier row with the same e-mail, if any.
    duplicate_of: Option<NonZeroU64>,
}

impl PlacedRow {
    fn sort_key(email_key: &str) -> u64 {
        let mut prefix = [0u8; 8];
        let n = email_key.len().min(8);
        prefix[..n].copy_from_slice(&email_key.as_bytes()[..n]);
        u64::from_be_bytes(prefix)
    }
}

/// The reading side of a job: the rest of the file, a window at a time,
/// sent on in batches.
struct RowReader {
    /// Reads the file in order: line numbers and duplicates.
    reader: csv::Reader<File>,
    /// Reads a window's rows again in the order they are applied.
    again: csv::Reader<File>,
    record: ByteRecord,
    columns: ColumnMap,
    seen: SeenEmails,
    lines: LineNumbers,
    batch_rows: usize,
    order: RowOrder,
    /// Rows of the first window that a previous run already applied.
    skip: usize,
}

/// Why a file's rows cannot be read at all.
#[derive(Debug)]
enum Unreadable {
    /// The file is gone from `processing/`.
    Missing,
    /// Why, in words for the report.
    Refused(String),
}

impl RowReader {
    /// Opens a claimed file, reads its header and passes over the whole
    /// windows of the `done` rows a previous run applied (remembering their
    /// e-mails); the rows of the window it stopped in are skipped as they
    /// are sorted again.
    fn open(
        path: &Path,
        order: RowOrder,
        batch_rows: usize,
        done: u64,
    ) -> Result<(Self, FileState), Unreadable> {
        let open = |path: &Path| {
            File::open(path).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => Unreadable::Missing,
                _ => Unreadable::Refused(format!("the file cannot be opened: {e}")),
            })
        };
        let file = open(path)?;
        let opened = FileState::of(&file);
        // Its own open file (a clone would share the offset).
        let again = open(path)?;
        let delimiter = delimiter::of_file(&file)
            .map_err(|e| Unreadable::Refused(format!("the file cannot be read: {e}")))?;
        let mut reader = csv_reader(file, delimiter, READ_BUFFER);
        let mut record = ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) if !ColumnMap::is_blank(&record) => {}
            Ok(_) => {
                return Err(Unreadable::Refused(
                    "the file is empty: its first line must be a header such as name,email,role,groups,metadata".into(),
                ));
            }
            Err(e) => {
                return Err(Unreadable::Refused(format!(
                    "the file is not readable as CSV: {e}"
                )));
            }
        }
        let lines = LineNumbers::after_header(&reader);
        let columns =
            ColumnMap::from_header(&record).map_err(|e| Unreadable::Refused(e.to_string()))?;
        let mut rows = Self {
            reader,
            again: csv_reader(again, delimiter, REREAD_BUFFER),
            record,
            columns,
            seen: SeenEmails::default(),
            lines,
            batch_rows,
            order,
            skip: 0,
        };
        let before_window = order.whole_windows(done);
        let mut passed = 0;
        while passed < before_window && matches!(rows.next_record(), Ok(true)) {
            let line = rows.lines.of(&rows.record);
            rows.seen
                .first_line(&rows.columns.email_of(&rows.record), line);
            passed += 1;
        }
        rows.skip = usize::try_from(done - passed).unwrap_or(usize::MAX);
        Ok((rows, opened))
    }

    /// Reads the next record that is not a blank line into `self.record`;
    /// `false` at the end of the file.
    fn next_record(&mut self) -> csv::Result<bool> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) if ColumnMap::is_blank(&self.record) => {}
                read => return read,
            }
        }
    }

    /// Reads, checks and sends batches until the file ends, a read fails
    /// (that error is the last row) or the applying side stops listening.
    fn send_batches(mut self, batches: &mpsc::SyncSender<Vec<ReadRow>>) {
        loop {
            let (mut placed, failure) = self.read_window();
            let at_end = failure.is_some() || (placed.len() as u64) < self.order.window;
            if self.order.sorted {
                placed.sort_unstable_by_key(|p| (p.key, p.line));
            }
            let skip = std::mem::take(&mut self.skip);
            let mut batch = Vec::with_capacity(self.batch_rows);
            for p in placed.iter().skip(skip) {
                batch.push(self.row_at(p));
                if batch.len() == self.batch_rows {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(self.batch_rows));
                    if batches.send(full).is_err() {
                        return;
                    }
                }
            }
            batch.extend(failure);
            if !batch.is_empty() && batches.send(batch).is_err() {
                return;
            }
            if at_end {
                return;
            }
        }
    }

    /// The next window's rows in file order, and the row that reports a
    /// read failure if the file cannot be read to the window's end.
    fn read_window(&mut self) -> (Vec<PlacedRow>, Option<ReadRow>) {
        // Reserved, not touched: only the rows read take memory.
        let mut placed =
            Vec::with_capacity(usize::try_from(self.order.window).unwrap_or(usize::MAX));
        while (placed.len() as u64) < self.order.window {
            match self.next_record() {
                Ok(false) => break,
                Err(e) => {
                    let failure = ReadRow {
                        line: e.position().map_or(0, |p| self.lines.at(p)),
                        email: String::new(),
                        row: Err(format!("the rest of the file cannot be read: {e}")),
                    };
                    return (placed, Some(failure));
                }
                Ok(true) => {
                    let line = self.lines.of(&self.record);
                    let key = Email::key_of(&self.columns.email_of(&self.record));
                    placed.push(PlacedRow {
                        key: PlacedRow::sort_key(&key),
                        line,
                        start: self.record.position().map_or(0, csv::Position::byte),
                        duplicate_of: self
                            .seen
                            .first_line_of_key(&key, line)
                            .and_then(NonZeroU64::new),
                    });
                }
            }
        }
        (placed, None)
    }

    /// A row of the window read again, checked as far as it can be before
    /// it meets the database.
    fn row_at(&mut self, p: &PlacedRow) -> ReadRow {
        if let Err(e) = self.read_again(p.start) {
            return ReadRow {
                line: p.line,
                email: String::new(),
                row: Err(format!(
                    "the row cannot be read again ({e}): the file changed while it was imported"
                )),
            };
        }
        let email = self.columns.email_of(&self.record);
        let row = match p.duplicate_of {
            Some(first) => Err(format!(
                "duplicate e-mail: {email} is already on line {first} of this file"
            )),
            None => self
                .columns
                .row(&self.record)
                .map(PreparedRow::new)
                .map_err(|e| e.to_string()),
        };
        ReadRow {
            line: p.line,
            email,
            row,
        }
    }

    /// Reads the record that starts at byte `start` into `self.record`.
    /// A CRLF file's record starts at the `\n` that ends the line before
    /// (the csv crate ends a record at the `\r`): that empty line is passed.
    fn read_again(&mut self, start: u64) -> Result<(), String> {
        let mut at = csv::Position::new();
        at.set_byte(start);
        self.again.seek(at).map_err(|e| e.to_string())?;
        loop {
            match self.again.read_byte_record(&mut self.record) {
                Ok(true) if ColumnMap::is_blank(&self.record) => {}
                Ok(true) => return Ok(()),
                Ok(false) => return Err("the file ends before it".into()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// The e-mails already read in this file, as 128-bit hashes of their keys
/// (two `u64`s, 24 bytes an entry where a `u128` would align to 32: a
/// million rows hold about 50 MB), each with its first line.
#[derive(Default)]
struct SeenEmails {
    lines: HashMap<(u64, u64), u64>,
    hashers: (std::hash::RandomState, std::hash::RandomState),
}

impl SeenEmails {
    /// Remembers `email`; returns the line it was first seen on if it was.
    fn first_line(&mut self, email: &str, line: u64) -> Option<u64> {
        self.first_line_of_key(&Email::key_of(email), line)
    }

    /// The same for an e-mail key (trimmed, lower-case).
    fn first_line_of_key(&mut self, key: &str, line: u64) -> Option<u64> {
        if key.is_empty() {
            return None;
        }
        let hash = (self.hashers.0.hash_one(key), self.hashers.1.hash_one(key));
        match self.lines.get(&hash) {
            Some(first) => Some(*first),
            None => {
                self.lines.insert(hash, line);
                None
            }
        }
    }
}

/// Makes renames in a folder durable (best effort: some filesystems refuse).
fn sync_dir(dir: Option<&Path>) {
    if let Some(dir) = dir
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).expect("header"));
        let lines = LineNumbers::after_header(&reader);
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).expect("row") {
            out.push(lines.of(&record));
        }
        out
    }

    #[test]
    fn line_numbers_are_file_lines_with_lf_or_crlf_and_embedded_newlines() {
        assert_eq!(lines_of("a,b\nc,d\n\"e\nf\",g\nh,i\n"), vec![2, 3, 5]);
        assert_eq!(
            lines_of("a,b\r\nc,d\r\n\"e\r\nf\",g\r\nh,i\r\n"),
            vec![2, 3, 5]
        );
    }

    /// A file of `n` people whose e-mails are not in file order, with a
    /// blank line, a name with a line break inside quotes and a duplicate.
    fn scattered_file(dir: &Path, n: usize, line_end: &str) -> std::path::PathBuf {
        let mut text = format!("name,email,role{line_end}");
        for i in 0..n {
            let who = (i * 7919) % 1000;
            let name = if i == 3 {
                "\"Multi\nLine\"".to_string()
            } else {
                format!("P{who}")
            };
            text.push_str(&format!("{name},p{who:03}@x.io,builder{line_end}"));
            if i == 5 {
                text.push_str(&format!(",,{line_end}"));
            }
        }
        text.push_str(&format!("again,P{:03}@X.io,admin{line_end}", 7919 % 1000));
        let path = dir.join("people.csv");
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Every row the reader sends, in order: (line, e-mail, refused?).
    fn sent_rows(path: &Path, order: RowOrder, done: u64) -> Vec<(u64, String, bool)> {
        let (rows, _) = RowReader::open(path, order, 3, done).expect("open");
        let (sender, batches) = mpsc::sync_channel(10_000);
        rows.send_batches(&sender);
        drop(sender);
        batches
            .iter()
            .flatten()
            .map(|r| (r.line, r.email, r.row.is_err()))
            .collect()
    }

    const SORTED_BY_8: RowOrder = RowOrder {
        window: 8,
        sorted: true,
    };

    #[test]
    fn each_window_is_sent_in_email_order_and_every_row_once() {
        for line_end in ["\n", "\r\n"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = scattered_file(dir.path(), 20, line_end);
            let sent = sent_rows(&path, SORTED_BY_8, 0);
            let mut lines: Vec<u64> = sent.iter().map(|r| r.0).collect();
            lines.sort_unstable();
            // 20 people from line 2, a name on lines 5 and 6, a blank line
            // 9 after the sixth row, then the duplicate on line 24.
            let expected: Vec<u64> = (2..=5).chain(7..=8).chain(10..=24).collect();
            assert_eq!(lines, expected, "{line_end:?}");
            for window in sent.chunks(8) {
                let keys: Vec<String> = window.iter().map(|r| r.1.to_lowercase()).collect();
                assert!(keys.is_sorted(), "{line_end:?}: {keys:?}");
            }
            let first = sent.iter().find(|r| r.0 == 3).expect("line 3");
            assert!(!first.2, "the first of two equal e-mails is applied");
            let again = sent.iter().find(|r| r.0 == 24).expect("last line");
            assert!(again.2, "the later equal e-mail is refused: {again:?}");
            assert_eq!(first.1.to_lowercase(), again.1.to_lowercase());
            let multi = sent.iter().find(|r| r.0 == 5).expect("line 5");
            assert_eq!(multi.1, format!("p{:03}@x.io", (3 * 7919) % 1000));
        }
    }

    #[test]
    fn a_resumed_job_goes_on_exactly_after_the_rows_it_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = scattered_file(dir.path(), 20, "\r\n");
        let unsorted = RowOrder {
            window: 3,
            sorted: false,
        };
        for order in [SORTED_BY_8, unsorted] {
            let all = sent_rows(&path, order, 0);
            assert_eq!(all.len(), 21);
            for done in 0..=all.len() {
                assert_eq!(
                    sent_rows(&path, order, done as u64),
                    all[done..].to_vec(),
                    "{order:?} resumed after {done} rows"
                );
            }
        }
        let in_file_order: Vec<u64> = sent_rows(&path, unsorted, 0).iter().map(|r| r.0).collect();
        assert!(in_file_order.is_sorted());
    }

    #[test]
    fn rows_longer_than_the_second_pass_buffer_are_read_again_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long_name = |i: usize| format!("N{i}{}", "x".repeat(REREAD_BUFFER * (i % 4)));
        let mut text = String::from("name,email,role\n");
        for i in 0..12 {
            let who = (i * 7) % 12;
            text.push_str(&format!("{},p{who:02}@x.io,builder\n", long_name(who)));
        }
        let path = dir.path().join("long.csv");
        std::fs::write(&path, text).expect("write");
        let (rows, _) = RowReader::open(&path, SORTED_BY_8, 3, 0).expect("open");
        let (sender, batches) = mpsc::sync_channel(100);
        rows.send_batches(&sender);
        drop(sender);
        let sent: Vec<ReadRow> = batches.iter().flatten().collect();
        assert_eq!(sent.len(), 12);
        for r in &sent {
            let who: usize = r.email[1..3].parse().expect("number");
            let prepared = r.row.as_ref().expect("a row");
            let name = format!("{:?}", long_name(who));
            assert!(
                format!("{prepared:?}").contains(&name),
                "line {}: {prepared:?}",
                r.line
            );
        }
    }

    #[test]
    fn the_same_email_in_any_case_is_a_duplicate_of_its_first_line() {
        let mut seen = SeenEmails::default();
        assert_eq!(seen.first_line("Ada@Example.com", 2), None);
        assert_eq!(seen.first_line("grace@example.com", 3), None);
        assert_eq!(seen.first_line(" ada@example.COM ", 9), Some(2));
        assert_eq!(seen.first_line("", 10), None);
        assert_eq!(seen.first_line("", 11), None);
    }
}
