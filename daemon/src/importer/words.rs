//! The search words an import holds back (see [`DeferredWords`]) and how
//! they reach the word index: 64 batches' worth at a time (a quarter of a
//! million rows by default),
//! in key order, a slice in each of the batches that follow, written on the
//! batch's side thread while the main one applies rows.
//!
//! Written in one go at the end of a batch, they stalled the applying
//! thread for a fifth of a million-row import; spread over the next
//! batches they are written beside the work, and the rows they cover are
//! noted in the job (`words_through`) only in the batch that writes the
//! last slice, so a crash before it finds those rows' words again from
//! the file.

use std::sync::Arc;

use crate::error::ServiceError;
use crate::store::{DeferredWords, SortedWords, Tx};

/// Batches whose rows' search words are held before they are taken out,
/// sorted and written: each write rewrites most pages of the word index,
/// so the fewer the better.
const BATCHES_BETWEEN_WRITES: u64 = 64;

/// Most rows held between writes, whatever the batch: a quarter of a
/// million rows' words take about 20 MB (a million took the daemon past
/// 300 MB at its peak).
const MOST_ROWS_PER_WRITE: u64 = 262_144;

/// Batches a write is spread over: a sixteenth of a write is less work
/// than the side thread's idle time in a default batch.
const BATCHES_PER_WRITE: usize = 16;

/// Held words and the write in progress, if any.
pub struct WordsDrain {
    held: DeferredWords,
    writing: Option<Writing>,
    rows_per_write: u64,
}

/// Taken-out words being written, slice by slice.
struct Writing {
    words: Arc<SortedWords>,
    /// The first entry no slice has taken yet.
    next: usize,
    /// The job's applied rows when the words were taken: all of them have
    /// their words once the last slice is written.
    through: u64,
}

/// One batch's share of the words being written.
pub struct WordsSlice {
    words: Arc<SortedWords>,
    range: std::ops::Range<usize>,
    completes: Option<u64>,
}

impl WordsSlice {
    /// Queues the slice on the transaction's side thread.
    pub fn write_aside(&self, tx: &Tx<'_>) -> Result<(), ServiceError> {
        let (words, range) = (self.words.clone(), self.range.clone());
        tx.aside(move |tx| words.write(tx, range))
    }

    /// The job's `words_through` once this slice is written: set only by
    /// the last one.
    pub fn completes(&self) -> Option<u64> {
        self.completes
    }
}

impl WordsDrain {
    /// A drain for batches of `batch_rows` rows, over words already held
    /// (found again after a crash).
    pub fn holding(held: DeferredWords, batch_rows: usize) -> Self {
        Self {
            held,
            writing: None,
            rows_per_write: (batch_rows as u64)
                .saturating_mul(BATCHES_BETWEEN_WRITES)
                .clamp(1, MOST_ROWS_PER_WRITE),
        }
    }

    /// Where batches hold new words.
    pub fn held(&self) -> &DeferredWords {
        &self.held
    }

    /// The slice the next batch writes, for a job that has applied `rows`
    /// rows, all up to `words_through` with their words: the next slice of
    /// a write in progress, or the first of a new one once enough rows are
    /// held. Call it between batches.
    pub fn next_slice(&mut self, rows: u64, words_through: u64) -> Option<WordsSlice> {
        if self.writing.is_none() && rows.saturating_sub(words_through) >= self.rows_per_write {
            self.writing = Some(Writing {
                words: Arc::new(self.held.take_sorted()),
                next: 0,
                through: rows,
            });
        }
        let writing = self.writing.as_mut()?;
        let per_batch = writing.words.len().div_ceil(BATCHES_PER_WRITE).max(1);
        let end = (writing.next + per_batch).min(writing.words.len());
        let slice = WordsSlice {
            words: writing.words.clone(),
            range: writing.next..end,
            completes: (end == writing.words.len()).then_some(writing.through),
        };
        writing.next = end;
        if slice.completes.is_some() {
            self.writing = None;
        }
        Some(slice)
    }

    /// Writes the rest in `tx`: the write in progress and every held word.
    /// Afterwards every applied row has its words.
    pub fn write_all(&mut self, tx: &Tx<'_>) -> Result<(), ServiceError> {
        if let Some(w) = self.writing.take() {
            w.words.write(tx, w.next..w.words.len())?;
        }
        self.held.write(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold_rows(drain: &WordsDrain, rows: std::ops::Range<u128>) {
        for id in rows {
            drain.held().hold(1, id, [format!("w{id}")]);
        }
    }

    #[test]
    fn a_write_starts_once_enough_rows_are_held_and_ends_after_its_slices() {
        const ROWS_PER_WRITE: u64 = 1000 * BATCHES_BETWEEN_WRITES;
        let mut drain = WordsDrain::holding(DeferredWords::default(), 1000);
        assert!(drain.next_slice(ROWS_PER_WRITE - 1, 0).is_none());
        hold_rows(&drain, 0..160);
        let mut covered = 0;
        let mut through = None;
        for batch in 0..BATCHES_PER_WRITE {
            let slice = drain
                .next_slice(ROWS_PER_WRITE + batch as u64, 0)
                .expect("a slice per batch");
            assert_eq!(slice.range.start, covered, "slices follow each other");
            covered = slice.range.end;
            through = slice.completes();
            assert_eq!(
                through.is_some(),
                batch == BATCHES_PER_WRITE - 1,
                "only the last slice completes the write"
            );
        }
        assert_eq!(covered, 160, "every taken word is in a slice");
        assert_eq!(
            through,
            Some(ROWS_PER_WRITE),
            "the rows held when the words were taken"
        );
        assert!(drain.held().is_empty());
        assert!(
            drain
                .next_slice(ROWS_PER_WRITE + 16, ROWS_PER_WRITE)
                .is_none()
        );
    }
}
