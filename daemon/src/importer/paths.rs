//! The drop folder's layout and the names a file takes through it:
//! `incoming/[<slug>/]name.csv` → `processing/<job>.csv` (with
//! `<job>.report.csv`) → `processed/` or `failed/` as `name.csv` and
//! `name.csv.report.csv`, never overwriting an earlier file of that name.

use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

/// The folders under `imports.dir`.
#[derive(Debug, Clone)]
pub struct ImportDirs {
    pub root: PathBuf,
    pub incoming: PathBuf,
    pub processing: PathBuf,
    pub processed: PathBuf,
    pub failed: PathBuf,
}

/// Where a file in `incoming/` belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Directly in `incoming/`: the default workspace.
    Default,
    /// In `incoming/<slug>/`.
    Workspace(String),
}

impl ImportDirs {
    /// The layout under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            incoming: root.join("incoming"),
            processing: root.join("processing"),
            processed: root.join("processed"),
            failed: root.join("failed"),
            root,
        }
    }

    /// Creates every folder, and `incoming/<slug>/` for each workspace.
    pub fn create(&self, slugs: &[String]) -> io::Result<()> {
        for dir in [
            &self.incoming,
            &self.processing,
            &self.processed,
            &self.failed,
        ] {
            std::fs::create_dir_all(dir)?;
        }
        for slug in slugs {
            std::fs::create_dir_all(self.incoming.join(slug))?;
        }
        Ok(())
    }

    /// The file a claimed job reads.
    pub fn claimed(&self, job: Uuid) -> PathBuf {
        self.processing.join(format!("{job}.csv"))
    }

    /// The report a running job writes.
    pub fn report(&self, job: Uuid) -> PathBuf {
        self.processing.join(format!("{job}.report.csv"))
    }

    /// A temporary upload (a dot-file, so nothing else picks it up).
    pub fn upload(&self, id: Uuid) -> PathBuf {
        self.processing.join(format!(".upload-{id}.part"))
    }

    /// Which workspace a file under `incoming/` is for, by its folder;
    /// `Err` says why a file deeper down cannot be placed.
    pub fn destination_of(&self, path: &Path) -> Result<Destination, String> {
        let rel = path
            .strip_prefix(&self.incoming)
            .map_err(|_| "the file is not under incoming/".to_string())?;
        let parts: Vec<_> = rel.components().collect();
        match parts.len() {
            1 => Ok(Destination::Default),
            2 => Ok(Destination::Workspace(
                parts[0].as_os_str().to_string_lossy().into_owned(),
            )),
            _ => Err(format!(
                "{} is nested too deep: put files in incoming/ or incoming/<workspace>/",
                rel.display()
            )),
        }
    }

    /// The path of `path` relative to the drop folder, for people.
    pub fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// What a file in `incoming/` is to the importer, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// `*.csv` (any case): imported.
    Csv,
    /// A dot-file, a `*.part` upload in progress, an office suite's lock
    /// file (`~$team.xlsx`, `.~lock.team.csv#`) or an editor's backup
    /// (`team.csv~`): not meant for the importer, passed over in silence.
    Ignored,
    /// Anything else (a spreadsheet, a text export): put there to be
    /// imported, so the admin is told it is not.
    NotCsv,
}

/// Sorts a file name into [`Dropped`]: the one rule for which files import.
pub fn dropped(name: &str) -> Dropped {
    let lower = name.to_lowercase();
    if name.starts_with('.') || lower.ends_with(".part") {
        Dropped::Ignored
    } else if lower.ends_with(".csv") {
        Dropped::Csv
    } else if name.starts_with("~$") || name.ends_with('~') {
        Dropped::Ignored
    } else {
        Dropped::NotCsv
    }
}

/// Whether a file asks for a dry run (`*.dry-run.csv`).
pub fn is_dry_run(name: &str) -> bool {
    name.to_lowercase().ends_with(".dry-run.csv")
}

/// Free names in `dir` for a finished file and its report: `name.csv`
/// and `name.csv.report.csv`, or `name-2.csv`… when either is taken.
pub fn free_names(dir: &Path, file_name: &str) -> (PathBuf, PathBuf) {
    let (stem, ext) = match file_name.rfind('.') {
        Some(i) if i > 0 => (&file_name[..i], &file_name[i..]),
        _ => (file_name, ""),
    };
    let mut n = 1u32;
    loop {
        let name = if n == 1 {
            file_name.to_string()
        } else {
            format!("{stem}-{n}{ext}")
        };
        let file = dir.join(&name);
        let report = dir.join(format!("{name}.report.csv"));
        if !file.exists() && !report.exists() {
            return (file, report);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_candidate(name: &str) -> bool {
        dropped(name) == Dropped::Csv
    }

    fn is_foreign(name: &str) -> bool {
        dropped(name) == Dropped::NotCsv
    }

    #[test]
    fn candidates_are_csv_files_that_are_neither_hidden_nor_partial() {
        assert!(is_candidate("team.csv"));
        assert!(is_candidate("Équipe été.CSV"));
        assert!(!is_candidate(".team.csv"));
        assert!(!is_candidate("team.csv.part"));
        assert!(!is_candidate("team.txt"));
        assert!(is_dry_run("team.Dry-Run.csv"));
        for name in ["team.xlsx", "team.txt", "team.csv.zip", "team"] {
            assert!(is_foreign(name), "{name}");
        }
        for name in [
            "team.csv",
            ".team.xlsx",
            "~$team.xlsx",
            ".~lock.team.csv#",
            "team.csv~",
            "team.csv.part",
        ] {
            assert!(!is_foreign(name), "{name}");
        }
        assert!(!is_dry_run("team.csv"));
    }

    #[test]
    fn the_folder_names_the_workspace() {
        let dirs = ImportDirs::new(PathBuf::from("/i"));
        assert_eq!(
            dirs.destination_of(Path::new("/i/incoming/a.csv")),
            Ok(Destination::Default)
        );
        assert_eq!(
            dirs.destination_of(Path::new("/i/incoming/sales/a.csv")),
            Ok(Destination::Workspace("sales".into()))
        );
        assert!(
            dirs.destination_of(Path::new("/i/incoming/a/b/c.csv"))
                .expect_err("deep")
                .contains("nested too deep")
        );
    }

    #[test]
    fn finished_names_never_collide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (f, r) = free_names(dir.path(), "team.csv");
        assert_eq!(f, dir.path().join("team.csv"));
        assert_eq!(r, dir.path().join("team.csv.report.csv"));
        std::fs::write(&r, "x").expect("write");
        let (f2, r2) = free_names(dir.path(), "team.csv");
        assert_eq!(f2, dir.path().join("team-2.csv"));
        assert_eq!(r2, dir.path().join("team-2.csv.report.csv"));
    }
}
