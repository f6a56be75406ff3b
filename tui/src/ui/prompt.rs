//! One line of text in a box (names, filters), and a secret shown once.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::strings;

/// The prompt box with what has been typed.
pub fn draw(title: &str, text: &str, theme: Theme, frame: &mut Frame) {
    let area = super::centred(frame.area(), Constraint::Percentage(90), 4);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::raw(format!("{text}▏")),
            Line::styled("Enter ok · Esc cancel", theme.dim()),
        ])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        ),
        area,
    );
}

/// A new SCIM token's secret, with how to copy it.
pub fn draw_secret(name: &str, secret: &str, theme: Theme, frame: &mut Frame) {
    let area = super::centred(frame.area(), Constraint::Percentage(90), 8);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::raw(strings::secret_intro(name)),
            Line::raw(""),
            Line::styled(secret.to_string(), theme.header()),
            Line::raw(""),
            Line::styled(strings::SECRET_HINT, theme.dim()),
        ])
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title("New SCIM token"),
        ),
        area,
    );
}
