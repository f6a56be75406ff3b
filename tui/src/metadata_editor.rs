//! The metadata key/value editor of the Invite and Edit forms: one row per
//! key, hidden values masked on screen, checked as you type with the shared
//! metadata rules.

use std::collections::{BTreeMap, BTreeSet};

use roster_shared::{Metadata, ValidationError};

/// One key and its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaRow {
    pub key: String,
    pub value: String,
    /// Write-only for clients: shown masked, never read back.
    pub hidden: bool,
}

/// Which half of a row is being typed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Key,
    Value,
}

/// The rows and the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataEditor {
    pub rows: Vec<MetaRow>,
    pub row: usize,
    pub cell: Cell,
}

impl Default for MetadataEditor {
    fn default() -> Self {
        Self {
            rows: vec![MetaRow::default()],
            row: 0,
            cell: Cell::Key,
        }
    }
}

impl MetadataEditor {
    /// An editor holding a member's metadata (hidden values included, as
    /// read with `reveal`), plus an empty row to add one.
    pub fn with(values: &BTreeMap<String, String>, hidden: &[String]) -> Self {
        let mut rows: Vec<MetaRow> = values
            .iter()
            .map(|(k, v)| MetaRow {
                key: k.clone(),
                value: v.clone(),
                hidden: hidden.contains(k),
            })
            .collect();
        rows.push(MetaRow::default());
        Self {
            rows,
            row: 0,
            cell: Cell::Key,
        }
    }

    fn current(&mut self) -> &mut MetaRow {
        if self.rows.is_empty() {
            self.rows.push(MetaRow::default());
        }
        self.row = self.row.min(self.rows.len() - 1);
        &mut self.rows[self.row]
    }

    /// A typed character goes into the current cell.
    pub fn input(&mut self, c: char) {
        let cell = self.cell;
        let row = self.current();
        match cell {
            Cell::Key => row.key.push(c),
            Cell::Value => row.value.push(c),
        }
    }

    /// Deletes a character; an emptied row (not the last) goes away.
    pub fn backspace(&mut self) {
        let cell = self.cell;
        let row = self.current();
        let emptied = row.key.is_empty() && row.value.is_empty();
        match cell {
            Cell::Key => {
                row.key.pop();
            }
            Cell::Value => {
                row.value.pop();
            }
        }
        if emptied && self.rows.len() > 1 {
            self.rows.remove(self.row);
            self.row = self.row.saturating_sub(1);
            self.cell = Cell::Key;
        }
    }

    /// ←/→: key or value.
    pub fn switch_cell(&mut self) {
        self.cell = match self.cell {
            Cell::Key => Cell::Value,
            Cell::Value => Cell::Key,
        };
    }

    /// ↓: the next row; past a filled last row, a new empty one.
    pub fn down(&mut self) {
        if self.row + 1 < self.rows.len() {
            self.row += 1;
        } else if self.rows.last().is_some_and(|r| !r.key.is_empty()) {
            self.rows.push(MetaRow::default());
            self.row += 1;
        }
        self.cell = Cell::Key;
    }

    /// ↑: the previous row; `false` on the first (focus leaves the editor).
    pub fn up(&mut self) -> bool {
        if self.row == 0 {
            return false;
        }
        self.row -= 1;
        self.cell = Cell::Key;
        true
    }

    /// Ctrl-T: the current row's value becomes hidden (or visible again).
    pub fn toggle_hidden(&mut self) {
        let row = self.current();
        row.hidden = !row.hidden;
    }

    /// The rows that hold something.
    fn filled(&self) -> impl Iterator<Item = &MetaRow> {
        self.rows
            .iter()
            .filter(|r| !(r.key.is_empty() && r.value.is_empty()))
    }

    /// The metadata as the shared rules see it, or their sentence.
    pub fn metadata(&self) -> Result<Metadata, String> {
        let mut values = BTreeMap::new();
        let mut hidden = BTreeSet::new();
        for (i, r) in self.filled().enumerate() {
            let key = r.key.trim();
            if key.is_empty() {
                return Err(format!("metadata row {} has a value but no key", i + 1));
            }
            if values.insert(key.to_string(), r.value.clone()).is_some() {
                return Err(ValidationError::MetadataKeyDuplicate(key.to_string()).to_string());
            }
            if r.hidden {
                hidden.insert(key.to_string());
            }
        }
        Metadata::from_map(values)
            .and_then(|m| m.with_hidden(hidden))
            .map_err(|e| e.to_string())
    }

    /// What is wrong as typed, if anything.
    pub fn problem(&self) -> Option<String> {
        self.metadata().err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(e: &mut MetadataEditor, text: &str) {
        text.chars().for_each(|c| e.input(c));
    }

    #[test]
    fn rows_are_typed_key_then_value_and_checked_with_the_shared_rules() {
        let mut e = MetadataEditor::default();
        typed(&mut e, "team");
        e.switch_cell();
        typed(&mut e, "core");
        e.down();
        typed(&mut e, "apiKey");
        e.switch_cell();
        typed(&mut e, "s3cret");
        e.toggle_hidden();
        let m = e.metadata().expect("valid");
        assert_eq!(m.values.get("team").map(String::as_str), Some("core"));
        assert!(m.hidden.contains("apiKey"));
        e.down();
        typed(&mut e, "team");
        assert_eq!(
            e.problem().as_deref(),
            Some("metadata key \"team\" appears twice")
        );
        e.backspace();
        e.backspace();
        e.backspace();
        e.backspace();
        e.backspace();
        assert_eq!(e.rows.len(), 2, "an emptied row goes away");
        e.switch_cell();
        typed(&mut e, &"x".repeat(2001));
        assert!(e.problem().is_some_and(|p| p.contains("longer than 2000")));
    }

    #[test]
    fn a_value_without_a_key_and_bad_keys_are_named() {
        let mut e = MetadataEditor::default();
        e.switch_cell();
        typed(&mut e, "orphan");
        assert_eq!(
            e.problem().as_deref(),
            Some("metadata row 1 has a value but no key")
        );
        e.switch_cell();
        typed(&mut e, "bad key!");
        assert!(e.problem().is_some_and(|p| p.contains("is not valid")));
        assert_eq!(MetadataEditor::default().problem(), None);
    }

    #[test]
    fn up_leaves_the_editor_from_the_first_row() {
        let mut e =
            MetadataEditor::with(&BTreeMap::from([("a".to_string(), "1".to_string())]), &[]);
        assert_eq!(e.rows.len(), 2);
        e.down();
        assert!(e.up());
        assert!(!e.up());
    }
}
