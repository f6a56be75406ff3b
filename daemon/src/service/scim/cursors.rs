//! Where the next page of the unfiltered Users list starts. Okta's import
//! walks a directory page by page (`startIndex=1, 101, 201, …`); stepping
//! over every member before the page made a page at a million members take
//! over a second, and the whole walk hours. The page after one just served
//! starts right after that page's last member instead, for as long as no
//! member of the workspace has been removed since: a removal moves every
//! later member up one place, while new members only ever go last (ids are
//! time-ordered). A clock set back between restarts could place a new
//! member earlier; the pages then stay consistent with each other, which is
//! all RFC 7644 §3.4.2.4 promises while a list changes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use uuid::Uuid;

/// Positions kept at most; the map starts over when full, and a walk in
/// progress then pays for one slow page before it is quick again.
const CAPACITY: usize = 4096;

/// Page positions remembered across requests.
#[derive(Default)]
pub struct PageCursors {
    next: Mutex<HashMap<(Uuid, usize), Cursor>>,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// The member id the page follows.
    after: u128,
    /// The workspace's removal count when it was noted.
    removals: u64,
}

impl PageCursors {
    /// The member id the page at `start_index` follows, when a page that
    /// ended just before it was served with the same removal count.
    pub fn find(&self, workspace: Uuid, start_index: usize, removals: u64) -> Option<u128> {
        let map = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(workspace, start_index))
            .filter(|c| c.removals == removals)
            .map(|c| c.after)
    }

    /// Notes that the page at `start_index` follows member `after`.
    pub fn remember(&self, workspace: Uuid, start_index: usize, after: u128, removals: u64) {
        let mut map = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert((workspace, start_index), Cursor { after, removals });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_holds_until_a_removal_and_per_workspace() {
        let cursors = PageCursors::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cursors.remember(a, 101, 7, 0);
        assert_eq!(cursors.find(a, 101, 0), Some(7));
        assert_eq!(cursors.find(a, 101, 1), None, "a member was removed since");
        assert_eq!(cursors.find(a, 201, 0), None);
        assert_eq!(cursors.find(b, 101, 0), None);
    }

    #[test]
    fn a_full_map_starts_over() {
        let cursors = PageCursors::default();
        let ws = Uuid::now_v7();
        for i in 0..CAPACITY {
            cursors.remember(ws, i, i as u128, 0);
        }
        assert_eq!(cursors.find(ws, 5, 0), Some(5));
        cursors.remember(ws, CAPACITY, 1, 0);
        assert_eq!(cursors.find(ws, 5, 0), None);
        assert_eq!(cursors.find(ws, CAPACITY, 0), Some(1));
    }
}
