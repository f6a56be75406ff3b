//! Table cells cut where their column ends, with a final `…` that says so:
//! ratatui cuts a cell silently, and a cut name, address or group
//! (`Engineeri`) reads as the whole of it.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Blank cells between two columns of every table.
pub const COLUMN_SPACING: u16 = 1;

/// Each column's width in a table `width` cells wide, laid out the way
/// ratatui's `Table` does it (no highlight symbol, `Flex::Start`).
pub fn column_widths(widths: &[Constraint], spacing: u16, width: u16) -> Vec<u16> {
    Layout::horizontal(widths.iter().copied())
        .flex(Flex::Start)
        .spacing(spacing)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| r.width)
        .collect()
}

/// Every cell of `cells` fitted to its column (see [`fit`]); a cell
/// without a column is left as it is.
pub fn fit_row(cells: &[String], widths: &[u16]) -> Vec<String> {
    cells
        .iter()
        .enumerate()
        .map(|(i, cell)| match widths.get(i) {
            Some(&w) => fit(cell, w),
            None => cell.clone(),
        })
        .collect()
}

/// `text` whole if it fits in `width` terminal cells, else cut to leave one
/// cell for `…`.
pub fn fit(text: &str, width: u16) -> String {
    let width = usize::from(width);
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_cell_ends_in_an_ellipsis_and_a_whole_one_is_untouched() {
        assert_eq!(fit("Engineering", 9), "Engineer…");
        assert_eq!(fit("Engineering", 11), "Engineering");
        assert_eq!(fit("Zoë Ångström-Łukasiewicz", 19), "Zoë Ångström-Łukas…");
        // Wide characters count two cells; the cut never splits one.
        assert_eq!(fit("山田太郎さん", 7), "山田太…");
        assert_eq!(fit("anything", 1), "…");
        assert_eq!(fit("anything", 0), "");
    }

    #[test]
    fn column_widths_match_the_table_layout() {
        let widths = [
            Constraint::Fill(3),
            Constraint::Length(7),
            Constraint::Fill(1),
        ];
        let got = column_widths(&widths, 1, 49);
        assert_eq!(got, [30, 7, 10], "fills share what the fixed column leaves");
    }
}
