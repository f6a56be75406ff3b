//! Finds finished files in `incoming/`: at once when renamed into place,
//! otherwise once their size and modification time have stopped changing
//! for `settle`. notify reports changes; a periodic rescan finds files on
//! filesystems that report nothing (some network mounts).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use notify::event::{CreateKind, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

use super::Importer;
use super::paths::{Dropped, dropped};

/// How often pending files are looked at again.
const TICK: Duration = Duration::from_millis(100);

/// A file seen in `incoming/` that is not claimed yet.
struct Pending {
    len: u64,
    modified: Option<SystemTime>,
    since: Instant,
    /// Renamed into place: complete by convention, claim at once.
    renamed_in: bool,
}

/// What the watcher knows of `incoming/`.
#[derive(Default)]
struct Folder {
    /// Candidate files not claimed yet.
    pending: HashMap<PathBuf, Pending>,
    /// Files that are not imported and have been named in the log once.
    told: HashSet<PathBuf>,
}

/// Watches until the importer stops; runs on its own thread.
pub fn watch(importer: &Importer, settle: Duration, rescan: Option<Duration>) {
    let incoming = importer.dirs().incoming.clone();
    let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
    let watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })
    .and_then(|mut w| w.watch(&incoming, RecursiveMode::Recursive).map(|()| w));
    let _watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, dir = %incoming.display(), "cannot watch the drop folder for changes; relying on rescans");
            None
        }
    };
    let mut workspaces = importer.services().subscribe();
    let mut folder = Folder::default();
    scan(&incoming, &mut folder);
    let mut last_scan = Instant::now();
    tracing::info!(dir = %importer.dirs().root.display(), "watching the CSV drop folder");
    while !importer.stopping().load(Ordering::Relaxed) {
        match rx.recv_timeout(TICK) {
            Ok(Ok(event)) => note_event(&event, &mut folder),
            Ok(Err(e)) => tracing::warn!(error = %e, "drop-folder watch error"),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(TICK),
        }
        while let Ok(change) = workspaces.try_recv() {
            if change.kind == roster_shared::api::WORKSPACE_CREATED {
                importer.create_workspace_folder(&change.workspace);
            }
        }
        if rescan.is_some_and(|every| last_scan.elapsed() >= every) {
            scan(&incoming, &mut folder);
            last_scan = Instant::now();
        }
        claim_ready(importer, &mut folder, settle);
    }
}

/// Files to look at from one notify event.
fn note_event(event: &Event, folder: &mut Folder) {
    let renamed_in = matches!(
        event.kind,
        EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
    );
    let paths: &[PathBuf] = match event.kind {
        // `Both` carries [from, to]; only the destination is new.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            &event.paths[event.paths.len().saturating_sub(1)..]
        }
        _ => &event.paths,
    };
    for path in paths {
        if path.is_dir() {
            if matches!(
                event.kind,
                EventKind::Create(CreateKind::Folder | CreateKind::Any)
                    | EventKind::Modify(ModifyKind::Name(_))
            ) {
                scan(path, folder);
            }
            continue;
        }
        note(path, renamed_in, folder);
    }
}

/// Remembers one file if it is a candidate; names one that is not in the
/// log, once (a spreadsheet saved as `.xlsx` would otherwise wait unseen).
fn note(path: &Path, renamed_in: bool, folder: &mut Folder) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match dropped(&name) {
        Dropped::Csv => {}
        Dropped::Ignored => return,
        Dropped::NotCsv => {
            if path.is_file() && folder.told.insert(path.to_path_buf()) {
                tracing::warn!(
                    file = %path.display(),
                    "not imported: only .csv files are (save a spreadsheet as \"CSV UTF-8\"); the file stays where it is"
                );
            }
            return;
        }
    }
    let pending = &mut folder.pending;
    let Ok(meta) = std::fs::metadata(path) else {
        pending.remove(path);
        return;
    };
    if !meta.is_file() {
        return;
    }
    let (len, modified) = (meta.len(), meta.modified().ok());
    match pending.get_mut(path) {
        Some(p) => {
            p.renamed_in |= renamed_in;
            if p.len != len || p.modified != modified {
                (p.len, p.modified, p.since) = (len, modified, Instant::now());
            }
        }
        None => {
            pending.insert(
                path.to_path_buf(),
                Pending {
                    len,
                    modified,
                    since: Instant::now(),
                    renamed_in,
                },
            );
        }
    }
}

/// Notes every file under `dir` (recursively, for the nested-folder error).
fn scan(dir: &Path, folder: &mut Folder) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => scan(&path, folder),
            Ok(t) if t.is_file() => note(&path, false, folder),
            _ => {}
        }
    }
}

/// Claims every file that was renamed in or has settled.
fn claim_ready(importer: &Importer, folder: &mut Folder, settle: Duration) {
    let paths: Vec<PathBuf> = folder.pending.keys().cloned().collect();
    for path in paths {
        // Re-check size and time: a growing file restarts its settle clock.
        note(&path, false, folder);
        let Some(p) = folder.pending.get(&path) else {
            continue;
        };
        if !(p.renamed_in || p.since.elapsed() >= settle) {
            continue;
        }
        folder.pending.remove(&path);
        if let Err(e) = importer.claim_dropped(&path) {
            tracing::error!(file = %path.display(), error = %e, "cannot claim a dropped file; it stays in incoming/");
        }
    }
}
