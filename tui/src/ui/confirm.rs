//! A yes/no question in a box, before something that cannot be undone.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;

/// Draws the question centred on the screen.
pub fn draw(question: &str, theme: Theme, frame: &mut Frame) {
    let area = super::centred(frame.area(), Constraint::Percentage(80), 5);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(question.to_string())
            .style(theme.warning())
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title("Confirm")),
        area,
    );
}
