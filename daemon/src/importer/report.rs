//! The report beside every imported file: `line,email,outcome,message`, one
//! line per data row. It is appended a batch at a time and flushed to disk
//! before the batch's transaction commits, so after a crash the committed
//! length (kept in the job record) is always a complete prefix. Rows are
//! written in the order they are applied and put back in line order when
//! the job ends ([`order_by_line`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
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

/// Puts a report written a window at a time (each window's rows in the
/// order they were applied) back in file-line order. A window's rows are
/// one stretch of the report: each row's line, offset and length are held
/// (16 bytes a row), then the lines are copied out by line number, a group
/// of at most [`REORDER_BUFFER`] bytes at a time, each group gathered in one
/// forward pass over the stretch. Lines that belong to no row (line 0: notes
/// on the whole file) stay after the rows. Sorting a sorted report changes
/// nothing, so a restart may do it again.
pub fn order_by_line(path: &Path, window: u64) -> io::Result<()> {
    order_by_line_within(path, window, REORDER_BUFFER)
}

/// Most bytes of report lines held at once while reordering (the row index
/// comes on top: 16 MB for a window of a million rows).
const REORDER_BUFFER: usize = 16 << 20;

fn order_by_line_within(path: &Path, window: u64, buffer: usize) -> io::Result<()> {
    let window = usize::try_from(window).unwrap_or(usize::MAX).max(1);
    let tmp = path.with_extension("ordered.tmp");
    let mut reader = csv::Reader::from_reader(BufReader::new(File::open(path)?));
    let mut stretches = File::open(path)?;
    let mut w = csv::Writer::from_writer(io::BufWriter::new(File::create(&tmp)?));
    w.write_record(HEADER).map_err(io::Error::other)?;
    let mut out = w
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut block = Window::default();
    let mut rec = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut rec)
        .map_err(io::Error::other)?
    {
        let line = std::str::from_utf8(rec.get(0).unwrap_or_default())
            .ok()
            .and_then(|l| l.parse::<u64>().ok())
            .filter(|l| *l > 0)
            .unwrap_or(u64::MAX);
        block.push(line, rec.position().map_or(0, csv::Position::byte))?;
        if block.rows.len() == window {
            block.copy_in_line_order(&mut stretches, reader.position().byte(), buffer, &mut out)?;
        }
    }
    block.copy_in_line_order(&mut stretches, reader.position().byte(), buffer, &mut out)?;
    out.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The rows of one window of a report: where its stretch starts and, for
/// each row, its line and where it starts in the stretch.
#[derive(Default)]
struct Window {
    start: u64,
    /// (line, offset in the stretch, length; the length is known once the
    /// next row starts).
    rows: Vec<(u64, u32, u32)>,
}

impl Window {
    fn push(&mut self, line: u64, at: u64) -> io::Result<()> {
        if self.rows.is_empty() {
            self.start = at;
        }
        let offset = self.offset_of(at)?;
        if let Some(last) = self.rows.last_mut() {
            last.2 = offset - last.1;
        }
        self.rows.push((line, offset, 0));
        Ok(())
    }

    fn offset_of(&self, at: u64) -> io::Result<u32> {
        at.checked_sub(self.start)
            .and_then(|o| u32::try_from(o).ok())
            .ok_or_else(|| io::Error::other("a window of the report spans more than 4 GB"))
    }

    /// Copies the lines of the stretch that ends at `end` to `out` sorted by
    /// line (a stable sort: lines that belong to no row keep their order
    /// after the rows), `buffer` bytes of them at a time; empties the window.
    fn copy_in_line_order(
        &mut self,
        from: &mut File,
        end: u64,
        buffer: usize,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let Some(last) = self.rows.len().checked_sub(1) else {
            return Ok(());
        };
        let stretch_len = self.offset_of(end)?;
        self.rows[last].2 = stretch_len - self.rows[last].1;
        self.rows.sort_by_key(|(line, _, _)| *line);
        let mut stretch = BufReader::with_capacity(1 << 20, &mut *from);
        let mut rest = self.rows.as_slice();
        while !rest.is_empty() {
            let mut bytes = 0;
            let taken = rest
                .iter()
                .take_while(|(_, _, len)| {
                    bytes += *len as usize;
                    bytes <= buffer
                })
                .count()
                .max(1);
            let (group, later) = rest.split_at(taken);
            self.copy_group(&mut stretch, group, out)?;
            rest = later;
        }
        self.rows.clear();
        Ok(())
    }

    /// Gathers a group of rows (in line order) in one forward pass over the
    /// stretch, then writes them in line order.
    fn copy_group(
        &self,
        stretch: &mut BufReader<&mut File>,
        group: &[(u64, u32, u32)],
        out: &mut impl Write,
    ) -> io::Result<()> {
        let mut places = Vec::with_capacity(group.len());
        let mut total = 0usize;
        for (_, _, len) in group {
            places.push(total);
            total += *len as usize;
        }
        let mut lines = vec![0; total];
        let mut by_offset: Vec<usize> = (0..group.len()).collect();
        by_offset.sort_unstable_by_key(|&i| group[i].1);
        stretch.seek(SeekFrom::Start(self.start))?;
        let mut at = 0u32;
        for i in by_offset {
            let (_, offset, len) = group[i];
            stretch.seek_relative(i64::from(offset - at))?;
            stretch.read_exact(&mut lines[places[i]..places[i] + len as usize])?;
            at = offset + len;
        }
        for (i, (_, _, len)) in group.iter().enumerate() {
            let row = &lines[places[i]..places[i] + *len as usize];
            out.write_all(row)?;
            if !row.ends_with(b"\n") {
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

/// Reads report lines: only `outcome` if given, after file line
/// `after_line`, the `limit` first by line. A report in line order (every
/// finished job's) is read only as far as needed; one still being written
/// applies its rows in e-mail order within a window, so all of it is read.
pub fn read_rows(
    path: &Path,
    outcome: Option<RowOutcome>,
    after_line: u64,
    limit: usize,
    in_line_order: bool,
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
        if in_line_order && out.len() >= limit {
            break;
        }
        if out.len() >= 2 * limit {
            // Keep the `limit` lowest lines seen so far.
            out.sort_by_key(|r| r.line);
            out.truncate(limit);
        }
    }
    out.sort_by_key(|r| r.line);
    out.truncate(limit);
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
        let rows = read_rows(&path, None, 0, 10, true).expect("read");
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
        let errors = read_rows(&path, Some(RowOutcome::Error), 0, 2, true).expect("read");
        assert_eq!(
            errors.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![3, 6]
        );
        let next = read_rows(&path, Some(RowOutcome::Error), 6, 10, true).expect("read");
        assert_eq!(next.iter().map(|r| r.line).collect::<Vec<_>>(), vec![9]);
    }

    /// A report of two windows of three rows, each in e-mail order, and a
    /// note on the whole file.
    fn report_in_windows(path: &Path) {
        let mut w = ReportWriter::open(path, 0).expect("open");
        for (line, email) in [(4, "a@x.io"), (2, "b@x.io"), (3, "c@x.io")] {
            w.push(line, email, RowOutcome::Invited, "").expect("push");
        }
        w.push(7, "a2@x.io", RowOutcome::Error, "bad, \"quoted\"\nmessage")
            .expect("push");
        w.push(5, "b2@x.io", RowOutcome::Invited, "").expect("push");
        w.push(6, "c2@x.io", RowOutcome::Invited, "").expect("push");
        w.push(
            0,
            "",
            RowOutcome::Error,
            "the file changed while it was read",
        )
        .expect("push");
        w.flush_durable().expect("flush");
    }

    #[test]
    fn a_report_written_in_windows_is_put_back_in_line_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        report_in_windows(&path);
        let running = read_rows(&path, None, 2, 2, false).expect("read");
        assert_eq!(
            running.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![3, 4]
        );
        order_by_line(&path, 3).expect("order");
        let once = std::fs::read(&path).expect("read");
        let rows = read_rows(&path, None, 0, 10, true).expect("read");
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6, 7]
        );
        let text = String::from_utf8(once.clone()).expect("utf-8");
        assert!(
            text.ends_with("0,,error,the file changed while it was read\n"),
            "{text}"
        );
        assert_eq!(rows[5].message, "bad, \"quoted\"\nmessage");
        order_by_line(&path, 3).expect("order again");
        assert_eq!(std::fs::read(&path).expect("read"), once);
        // Gathered a line or two at a time, the same report comes out.
        report_in_windows(&path);
        order_by_line_within(&path, 3, 40).expect("order in small groups");
        assert_eq!(std::fs::read(&path).expect("read"), once);
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
        let rows = read_rows(&path, None, 0, 10, true).expect("read");
        assert_eq!(rows[0].outcome, RowOutcome::Skipped);
        assert_eq!(rows[1].outcome, RowOutcome::Error);
    }
}
