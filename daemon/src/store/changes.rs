//! What a write transaction changed, as the journal keeps it: every insert
//! and remove, with the table's name and the key's and value's bytes in
//! redb's own encoding, so applying them again needs no use-case code.
//!
//! A change is `[name length u8][name][kind u8][key length u32][key][value
//! length u32][value]` (a remove's value is empty), little-endian.

use std::borrow::Borrow;
use std::cell::{RefCell, RefMut};
use std::ops::Deref;

use redb::{AccessGuard, Key, StorageError, Table, Value};

use crate::error::ServiceError;

/// Whether a change put a value under a key or took it away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Table::insert`: the key now holds the value.
    Insert = 1,
    /// `Table::remove`: the key holds nothing.
    Remove = 2,
}

/// One change, borrowed from a journal record.
#[derive(Debug, PartialEq, Eq)]
pub struct Change<'a> {
    /// The table's name in the file (its accessor's name on `Tx`).
    pub table: &'a str,
    pub kind: Kind,
    /// The key in redb's encoding of the table's key type.
    pub key: &'a [u8],
    /// The value in redb's encoding (empty for a remove).
    pub value: &'a [u8],
}

/// Appends one change to `log`.
fn record(log: &mut Vec<u8>, table: &str, kind: Kind, key: &[u8], value: &[u8]) {
    log.push(table.len() as u8);
    log.extend_from_slice(table.as_bytes());
    log.push(kind as u8);
    log.extend_from_slice(&(key.len() as u32).to_le_bytes());
    log.extend_from_slice(key);
    log.extend_from_slice(&(value.len() as u32).to_le_bytes());
    log.extend_from_slice(value);
}

/// The changes of one journal record, in the order they were made.
pub fn decode(payload: &[u8]) -> impl Iterator<Item = Result<Change<'_>, ServiceError>> {
    let mut rest = payload;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let change = next_change(&mut rest);
        if change.is_err() {
            rest = &[];
        }
        Some(change)
    })
}

fn next_change<'a>(rest: &mut &'a [u8]) -> Result<Change<'a>, ServiceError> {
    let damaged = || ServiceError::storage("a write-ahead journal record is damaged");
    let mut take = |n: usize| -> Result<&'a [u8], ServiceError> {
        let (head, tail) = rest.split_at_checked(n).ok_or_else(damaged)?;
        *rest = tail;
        Ok(head)
    };
    let name_len = take(1)?[0] as usize;
    let table = std::str::from_utf8(take(name_len)?).map_err(|_| damaged())?;
    let kind = match take(1)?[0] {
        1 => Kind::Insert,
        2 => Kind::Remove,
        _ => return Err(damaged()),
    };
    let mut sized = || -> Result<&'a [u8], ServiceError> {
        let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| damaged())?);
        take(len as usize)
    };
    let key = sized()?;
    let value = sized()?;
    Ok(Change {
        table,
        kind,
        key,
        value,
    })
}

/// A table opened in a [`super::Tx`]: reads go straight to redb's table,
/// inserts and removes also go to the transaction's change log, which is
/// the only way to change it (there is no mutable access to the table).
pub struct Logged<'a, 't, K: Key + 'static, V: Value + 'static> {
    pub(super) table: RefMut<'a, Table<'t, K, V>>,
    pub(super) name: &'static str,
    /// The transaction's log, if it keeps one.
    pub(super) changes: Option<&'a RefCell<Vec<u8>>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> Deref for Logged<'_, 't, K, V> {
    type Target = Table<'t, K, V>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

impl<K: Key + 'static, V: Value + 'static> Logged<'_, '_, K, V> {
    /// redb's `Table::insert`, logged.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StorageError> {
        self.log(
            Kind::Insert,
            K::as_bytes(key.borrow()).as_ref(),
            V::as_bytes(value.borrow()).as_ref(),
        );
        self.table.insert(key, value)
    }

    /// redb's `Table::remove`, logged.
    pub fn remove<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StorageError> {
        self.log(Kind::Remove, K::as_bytes(key.borrow()).as_ref(), &[]);
        self.table.remove(key)
    }

    /// Adds one change of this table to the transaction's log.
    fn log(&self, kind: Kind, key: &[u8], value: &[u8]) {
        if let Some(changes) = self.changes {
            record(&mut changes.borrow_mut(), self.name, kind, key, value);
        }
    }

    /// Makes a change read back from the journal, without logging it again.
    pub(super) fn apply(mut self, change: &Change<'_>) -> Result<(), ServiceError> {
        let key = K::from_bytes(change.key);
        match change.kind {
            Kind::Insert => self.table.insert(key, V::from_bytes(change.value))?,
            Kind::Remove => self.table.remove(key)?,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_decode_as_recorded() {
        let mut log = Vec::new();
        record(&mut log, "members", Kind::Insert, b"key", b"value");
        record(&mut log, "meta", Kind::Remove, b"k", &[]);
        let changes: Vec<_> = decode(&log).collect::<Result<_, _>>().expect("decodes");
        assert_eq!(
            changes,
            [
                Change {
                    table: "members",
                    kind: Kind::Insert,
                    key: b"key",
                    value: b"value"
                },
                Change {
                    table: "meta",
                    kind: Kind::Remove,
                    key: b"k",
                    value: b""
                },
            ]
        );
    }

    #[test]
    fn a_cut_short_record_is_an_error_not_a_panic() {
        let mut log = Vec::new();
        record(&mut log, "members", Kind::Insert, b"key", b"value");
        for cut in 1..log.len() {
            let outcome: Result<Vec<_>, _> = decode(&log[..cut]).collect();
            assert!(outcome.is_err(), "cut at {cut}");
        }
        log[8] = 9;
        assert!(decode(&log).any(|c| c.is_err()));
    }
}
