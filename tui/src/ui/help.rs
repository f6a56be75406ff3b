//! `?`: every key, in a box over the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::keymap::USERS_KEYS;
use crate::strings;

/// Draws the help box centred on the screen.
pub fn draw(theme: Theme, frame: &mut Frame) {
    let height = u16::try_from(USERS_KEYS.len()).unwrap_or(20) + 2;
    let [area] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(frame.area());
    let [area] = Layout::horizontal([Constraint::Length(44)])
        .flex(Flex::Center)
        .areas(area);
    let lines: Vec<Line> = USERS_KEYS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>11}", b.keys), theme.key()),
                Span::raw(format!("  {}", b.what)),
            ])
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
