//! `?`: every key, in a box over the screen; in two columns when one
//! column would not fit the terminal's height.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::keymap::{Binding, USERS_KEYS};
use crate::strings;

/// Width of one column: the keys, two spaces, what they do.
const KEYS_WIDTH: usize = 9;
const WHAT_WIDTH: usize = 27;

/// Draws the help box centred on the screen.
pub fn draw(theme: Theme, frame: &mut Frame) {
    let screen = frame.area();
    let n = USERS_KEYS.len();
    // Room for the keys between the title line and the footer.
    let room = usize::from(screen.height.saturating_sub(4)).max(1);
    let columns = if n <= room { 1 } else { 2 };
    let rows = n.div_ceil(columns);
    let width = columns * (KEYS_WIDTH + 2 + WHAT_WIDTH) + 2 + (columns - 1) * 2;
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let area = super::centred(
        screen,
        Constraint::Length(u16::try_from(width).unwrap_or(80)),
        height,
    );
    let cell = |b: &Binding| {
        [
            Span::styled(format!("{:>KEYS_WIDTH$}", b.keys), theme.key()),
            Span::raw(format!("  {:<WHAT_WIDTH$}", b.what)),
        ]
    };
    let lines: Vec<Line> = (0..rows)
        .map(|r| {
            let mut spans = Vec::new();
            for c in 0..columns {
                if let Some(b) = USERS_KEYS.get(c * rows + r) {
                    if c > 0 {
                        spans.push(Span::raw("  "));
                    }
                    spans.extend(cell(b));
                }
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(strings::HELP_TITLE),
        ),
        area,
    );
}
