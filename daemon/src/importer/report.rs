//! The report beside every imported file: `line,email,outcome,message`, one
//! line per data row. It is appended a batch at a time and flushed to disk
//! before the batch's transaction commits, so after a crash the committed
//! length (kept in the job record) is always a complete prefix.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use roster_shared::api::{ImportRowResponse, RowOutcome};

/// The report's header row.
pub const HEADER: &[&str] = &["line", "email", "outcome", "message"];

/// Appends report lines a batch at a time.
pub struct ReportWriter {
    file: File,
    pending: csv::Writer<Vec<u8>>,
    len: u64,
}

impl ReportWriter {
    /// Opens a job's report keeping its first `committed` bytes (what the
    /// job record vouches for); a fresh report gets the header row.
    pub fn open(path: &Path, committed: u64) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        file.set_len(committed)?;
        file.seek(SeekFrom::Start(committed))?;
        let mut writer = Self {
            file,
            pending: csv::Writer::from_writer(Vec::new()),
            len: committed,
        };
        if committed == 0 {
            writer
                .pending
                .write_record(HEADER)
                .map_err(io::Error::other)?;
        }
        Ok(writer)
    }

    /// Adds one row's line to the pending batch.
    pub fn push(
        &mut self,
        line: u64,
        email: &str,
        outcome: RowOutcome,
        message: &str,
    ) -> io::Result<()> {
        self.pending
            .write_record([line.to_string().as_str(), email, outcome.as_str(), message])
            .map_err(io::Error::other)
    }

    /// Writes the pending lines and flushes them to disk; returns the
    /// report's length, to be committed with the batch.
    pub fn flush_durable(&mut self) -> io::Result<u64> {
        let full = std::mem::replace(&mut self.pending, csv::Writer::from_writer(Vec::new()));
        let bytes = full
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.file.write_all(&bytes)?;
        self.file.sync_data()?;
        self.len += bytes.len() as u64;
        Ok(self.len)
    }
}

/// Rewrites a rehearsed report for all-or-nothing mode after some rows
/// failed: every row that would have been applied becomes `skipped`.
pub fn mark_skipped(path: &Path, note: &str) -> io::Result<u64> {
    let tmp = path.with_extension("skipped.tmp");
    let mut reader = csv::Reader::from_reader(BufReader::new(File::open(path)?));
    let mut w = csv::Writer::from_path(&tmp).map_err(io::Error::other)?;
    w.write_record(HEADER).map_err(io::Error::other)?;
    let mut skipped = 0;
    for rec in reader.records() {
        let rec = rec.map_err(io::Error::other)?;
        let outcome = rec.get(2).and_then(RowOutcome::parse);
        if outcome == Some(RowOutcome::Error) {
            w.write_record(&rec).map_err(io::Error::other)?;
        } else {
            skipped += 1;
            let line = rec.get(0).unwrap_or_default();
            let email = rec.get(1).unwrap_or_default();
            w.write_record([line, email, RowOutcome::Skipped.as_str(), note])
                .map_err(io::Error::other)?;
        }
    }
    w.flush()?;
    w.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(skipped)
}

/// Reads report lines: only `outcome` if given, after file line
/// `after_line`, at most `limit`.
pub fn read_rows(
    path: &Path,
    outcome: Option<RowOutcome>,
    after_line: u64,
    limit: usize,
) -> io::Result<Vec<ImportRowResponse>> {
    let mut reader = csv::Reader::from_reader(BufReader::new(File::open(path)?));
    let mut out = Vec::new();
    for rec in reader.records() {
        // A report being written may end in a partial line; stop there.
        let Ok(rec) = rec else { break };
        let (Some(line), Some(email), Some(found), Some(message)) = (
            rec.get(0).and_then(|l| l.parse::<u64>().ok()),
            rec.get(1),
            rec.get(2).and_then(RowOutcome::parse),
            rec.get(3),
        ) else {
            continue;
        };
        if line <= after_line || outcome.is_some_and(|o| o != found) {
            continue;
        }
        out.push(ImportRowResponse {
            line,
            email: email.to_string(),
            outcome: found,
            message: message.to_string(),
        });
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_report_keeps_only_what_was_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        let mut w = ReportWriter::open(&path, 0).expect("open");
        w.push(2, "a@x.io", RowOutcome::Invited, "").expect("push");
        let committed = w.flush_durable().expect("flush");
        w.push(3, "b@x.io", RowOutcome::Error, "bad, \"quoted\"")
            .expect("push");
        w.flush_durable().expect("flush");
        drop(w);
        let mut w = ReportWriter::open(&path, committed).expect("reopen");
        w.push(3, "b@x.io", RowOutcome::Updated, "changed role")
            .expect("push");
        w.flush_durable().expect("flush");
        let rows = read_rows(&path, None, 0, 10).expect("read");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].outcome, RowOutcome::Updated);
        let text = std::fs::read_to_string(&path).expect("text");
        assert!(text.starts_with("line,email,outcome,message\n"), "{text}");
    }

    #[test]
    fn rows_filter_by_outcome_and_page_by_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        let mut w = ReportWriter::open(&path, 0).expect("open");
        for line in 2..12 {
            let o = if line % 3 == 0 {
                RowOutcome::Error
            } else {
                RowOutcome::Invited
            };
            w.push(line, "x@y.z", o, "m").expect("push");
        }
        w.flush_durable().expect("flush");
        let errors = read_rows(&path, Some(RowOutcome::Error), 0, 2).expect("read");
        assert_eq!(
            errors.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![3, 6]
        );
        let next = read_rows(&path, Some(RowOutcome::Error), 6, 10).expect("read");
        assert_eq!(next.iter().map(|r| r.line).collect::<Vec<_>>(), vec![9]);
    }

    #[test]
    fn all_or_nothing_marks_the_good_rows_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        let mut w = ReportWriter::open(&path, 0).expect("open");
        w.push(2, "a@x.io", RowOutcome::Invited, "").expect("push");
        w.push(3, "bad", RowOutcome::Error, "not valid")
            .expect("push");
        w.flush_durable().expect("flush");
        assert_eq!(mark_skipped(&path, "not applied").expect("mark"), 1);
        let rows = read_rows(&path, None, 0, 10).expect("read");
        assert_eq!(rows[0].outcome, RowOutcome::Skipped);
        assert_eq!(rows[1].outcome, RowOutcome::Error);
    }
}
