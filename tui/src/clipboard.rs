//! The admin's own clipboard through the terminal: an OSC 52 sequence that
//! terminals (also over SSH and inside tmux) turn into a copy.

use std::io::Write;

use crossterm::clipboard::CopyToClipboard;
use crossterm::execute;

/// Writes `text` to the clipboard of the terminal behind `out`.
pub fn copy(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    execute!(out, CopyToClipboard::to_clipboard_from(text))
}
