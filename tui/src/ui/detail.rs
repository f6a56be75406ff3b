//! Enter on a member: everything the admin API says about them.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::state::State;

/// Draws the selected member in a box over the list.
pub fn draw(state: &State, theme: Theme, frame: &mut Frame) {
    let Some(m) = state.current() else { return };
    let when = |t: Option<time::OffsetDateTime>| match t {
        Some(_) => format!("{} UTC", crate::cli::output::when(t)),
        None => "-".to_string(),
    };
    let mut metadata: Vec<String> = m.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
    metadata.extend(m.hidden_keys.iter().map(|k| format!("{k}=••••")));
    let fields = [
        ("e-mail", m.email.clone()),
        ("role", m.role.as_str().to_string()),
        ("status", m.status.to_string()),
        (
            "groups",
            if m.groups.is_empty() {
                "-".into()
            } else {
                m.groups.join(", ")
            },
        ),
        (
            "metadata",
            if metadata.is_empty() {
                "-".into()
            } else {
                metadata.join("  ")
            },
        ),
        (
            "invited",
            format!("{} by {}", when(Some(m.invited_at)), m.invited_by),
        ),
        ("last invite", when(m.last_invite_sent_at)),
        ("link expires", when(m.invite_expires_at)),
        ("activated", when(m.activated_at)),
        ("source", m.source.as_str().to_string()),
    ];
    let lines: Vec<Line> = fields
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), theme.dim()),
                Span::raw(v),
            ])
        })
        .collect();
    let area = super::centred(frame.area(), Constraint::Percentage(90), 12);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(m.name.clone())),
        area,
    );
}
