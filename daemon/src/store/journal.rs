//! The write-ahead journal: how a commit becomes durable without redb
//! writing its pages at every commit.
//!
//! A durable redb commit writes every page the transaction dirtied. When
//! writes land all over large indexes (a new member's e-mail, name and
//! search words), that is most of a commit's cost: a thousand SCIM creates
//! rewrite a thousand index pages. Instead, each commit first appends what
//! it changed (every insert and remove, as key and value bytes) to this
//! journal and fsyncs it, one sequential write, and then commits in redb
//! without durability. Every so often (and whenever writes pause) a durable
//! redb commit saves the pages, after which the journal starts over. After a
//! crash redb opens at its last durable commit and the journal's later
//! records are applied again, in order: every acknowledged write is back.
//!
//! A record is `[payload length u32][CRC-32 of seq and payload u32][seq
//! u64][payload]`, little-endian. Records are appended in sequence order and
//! only acknowledged once fsync'd, so the first record that is cut short or
//! fails its checksum ends the journal: it was never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes before each record's payload.
const HEADER: usize = 16;

/// What went wrong with the journal file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the write-ahead journal {path} could not be {doing}: {source}")]
    Io {
        path: PathBuf,
        doing: &'static str,
        source: std::io::Error,
    },
}

/// The intact records of a journal, as read back for recovery.
pub struct Records {
    bytes: Vec<u8>,
    /// Each record's sequence number and where its payload is in `bytes`.
    found: Vec<(u64, std::ops::Range<usize>)>,
}

impl Records {
    /// Each commit's place in the order of commits (see [`Journal::append`])
    /// and its encoded changes (see [`super::changes`]), in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.found
            .iter()
            .map(|(seq, at)| (*seq, &self.bytes[at.clone()]))
    }
}

/// The open journal file, positioned at its end.
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Bytes of whole records: where the next one starts.
    len: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and reads its intact
    /// records; a cut-short or damaged tail is left out (and overwritten by
    /// the next append).
    pub fn open(path: &Path) -> Result<(Self, Records), JournalError> {
        let fail = |doing| move |source| io_error(path, doing, source);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(fail("opened"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(fail("read"))?;
        let (found, len) = intact_records(&bytes);
        if len < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() - len,
                "the write-ahead journal ends in a record that was never completed (a crash while it was written); it is left out"
            );
        }
        file.seek(SeekFrom::Start(len as u64))
            .map_err(fail("positioned"))?;
        let journal = Self {
            file,
            path: path.to_path_buf(),
            len: len as u64,
        };
        Ok((journal, Records { bytes, found }))
    }

    /// Appends one commit's changes and fsyncs them: once this returns, the
    /// commit survives a crash. On failure the journal is cut back to where
    /// it was, so a half-written record never precedes a later one.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        let Ok(len) = u32::try_from(payload.len()) else {
            let too_long = std::io::Error::other("a commit's changes exceed 4 GiB");
            return Err(self.error("written", too_long));
        };
        let mut header = [0u8; HEADER];
        header[0..4].copy_from_slice(&len.to_le_bytes());
        header[4..8].copy_from_slice(&checksum(seq, payload).to_le_bytes());
        header[8..16].copy_from_slice(&seq.to_le_bytes());
        let written = self
            .file
            .write_all(&header)
            .and_then(|()| self.file.write_all(payload))
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += (HEADER + payload.len()) as u64;
                Ok(())
            }
            Err(source) => {
                // Best effort: if even this fails, the torn record is the
                // journal's end and recovery stops before it.
                let _ = self.cut_back_to(self.len);
                Err(self.error("written", source))
            }
        }
    }

    /// Removes the last record, appended by a commit that then failed in
    /// redb: it must not be applied after a restart.
    pub fn cut_back_to(&mut self, len: u64) -> Result<(), JournalError> {
        self.end_at(len)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| self.error("cut back", source))
    }

    /// Empties the journal once a durable redb commit holds everything in
    /// it. Its records need not be gone for sure: each carries its sequence
    /// number, and recovery skips those the database already holds.
    pub fn clear(&mut self) -> Result<(), JournalError> {
        self.end_at(0)
            .map_err(|source| self.error("emptied", source))
    }

    /// Makes the file end after `len` bytes, where the next record goes.
    fn end_at(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.file.seek(SeekFrom::Start(len))?;
        self.len = len;
        Ok(())
    }

    /// Bytes in the journal: what a crash now would make recovery apply.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is waiting for a durable redb commit.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn error(&self, doing: &'static str, source: std::io::Error) -> JournalError {
        io_error(&self.path, doing, source)
    }
}

fn io_error(path: &Path, doing: &'static str, source: std::io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        doing,
        source,
    }
}

/// The CRC-32 that guards a record: its sequence number and payload.
fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// The records of `bytes` up to the first incomplete or damaged one (their
/// sequence numbers and payloads), and how many bytes they take.
fn intact_records(bytes: &[u8]) -> (Vec<(u64, std::ops::Range<usize>)>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let (Ok(len), Ok(crc), Ok(seq)) = (
            <[u8; 4]>::try_from(&header[0..4]),
            <[u8; 4]>::try_from(&header[4..8]),
            <[u8; 8]>::try_from(&header[8..16]),
        ) else {
            break;
        };
        let len = u32::from_le_bytes(len) as usize;
        let seq = u64::from_le_bytes(seq);
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if checksum(seq, payload) != u32::from_le_bytes(crc) {
            break;
        }
        records.push((seq, at + HEADER..at + HEADER + len));
        at += HEADER + len;
    }
    (records, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal at `path` and its records' sequence numbers.
    fn reopen(path: &Path) -> (Journal, Records) {
        Journal::open(path).expect("journal opens")
    }

    fn seqs(records: &Records) -> Vec<u64> {
        records.iter().map(|(seq, _)| seq).collect()
    }

    #[test]
    fn appended_records_read_back_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        let (mut j, none) = reopen(&path);
        assert!(seqs(&none).is_empty());
        j.append(7, b"first").expect("append");
        j.append(8, b"").expect("append");
        j.append(9, b"third").expect("append");
        drop(j);
        let (j, records) = reopen(&path);
        assert_eq!(seqs(&records), [7, 8, 9]);
        assert_eq!(records.iter().nth(2).map(|(_, p)| p), Some(&b"third"[..]));
        assert_eq!(j.len(), 3 * HEADER as u64 + 10);
    }

    #[test]
    fn a_torn_or_damaged_tail_ends_the_journal_and_is_overwritten() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        let (mut j, _) = reopen(&path);
        j.append(1, b"kept").expect("append");
        j.append(2, b"torn record").expect("append");
        drop(j);
        let full = std::fs::read(&path).expect("read");
        // Cut inside the second record, as a crash mid-write leaves it.
        std::fs::write(&path, &full[..full.len() - 3]).expect("write");
        let (mut j, records) = reopen(&path);
        assert_eq!(seqs(&records), [1]);
        j.append(3, b"after").expect("append");
        drop(j);
        let (_, records) = reopen(&path);
        assert_eq!(seqs(&records), [1, 3]);

        // A flipped payload byte fails the checksum.
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[HEADER] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let (_, records) = reopen(&path);
        assert!(seqs(&records).is_empty());
    }

    #[test]
    fn cleared_and_cut_back_journals_hold_only_what_remains() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        let (mut j, _) = reopen(&path);
        j.append(1, b"one").expect("append");
        let before = j.len();
        j.append(2, b"two").expect("append");
        j.cut_back_to(before).expect("cut back");
        j.append(3, b"three").expect("append");
        drop(j);
        let (mut j, records) = reopen(&path);
        assert_eq!(seqs(&records), [1, 3]);
        j.clear().expect("clear");
        assert!(j.is_empty());
        j.append(4, b"four").expect("append");
        drop(j);
        let (_, records) = reopen(&path);
        assert_eq!(seqs(&records), [4]);
    }
}
