//! The Users screen: the search line and the member table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::cells;
use super::theme::Theme;
use crate::state::{Mode, State};
use crate::strings;

/// Draws the filters line and the table into `area`.
pub fn draw(state: &State, theme: Theme, frame: &mut Frame, area: Rect) {
    let [filters, table] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(filter_line(state, theme), filters);
    if state.members.is_empty() && !state.loading {
        frame.render_widget(
            Paragraph::new(strings::NO_MEMBERS)
                .style(theme.dim())
                .wrap(Wrap { trim: true }),
            table,
        );
        return;
    }
    // Every column at any width: narrow terminals get a shorter date.
    let wide = area.width >= 110;
    let short = time::macros::format_description!("[month]-[day] [hour]:[minute]");
    let header = vec!["NAME", "E-MAIL", "ROLE", "STATUS", "GROUPS", "LAST INVITE"];
    let widths = [
        Constraint::Fill(4),
        Constraint::Fill(4),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Fill(2),
        Constraint::Length(if wide { 16 } else { 11 }),
    ];
    let columns = cells::column_widths(&widths, cells::COLUMN_SPACING, table.width);
    let rows = state.members.iter().map(|m| {
        let invited = match m.last_invite_sent_at {
            Some(_) if wide => crate::cli::output::when(m.last_invite_sent_at),
            Some(t) => t.format(&short).unwrap_or_default(),
            None => "-".into(),
        };
        Row::new(cells::fit_row(
            &[
                m.name.clone(),
                m.email.clone(),
                m.role.as_str().to_string(),
                m.status.to_string(),
                m.groups.join(", "),
                invited,
            ],
            &columns,
        ))
    });
    let table_widget = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header()))
        .row_highlight_style(theme.selected())
        .column_spacing(cells::COLUMN_SPACING);
    let mut ts = TableState::default()
        .with_offset(state.offset)
        .with_selected(Some(state.selected).filter(|_| !state.members.is_empty()));
    frame.render_stateful_widget(table_widget, table, &mut ts);
}

fn filter_line(state: &State, theme: Theme) -> Paragraph<'static> {
    let searching = state.mode == Mode::Search;
    let mut spans = vec![
        Span::styled("/", theme.key()),
        Span::raw(format!(" {}", state.search)),
    ];
    if searching {
        spans.push(Span::raw("▏"));
    }
    let status = state.status.unwrap_or("all");
    let role = state.role.map_or("all", |r| r.as_str());
    spans.push(Span::styled(
        format!(
            "   status: {status}  role: {role}  sort: {}   {}",
            sort_word(state),
            strings::member_count(
                state.total,
                state.members.len(),
                state.next_cursor.is_some()
            )
        ),
        theme.dim(),
    ));
    Paragraph::new(Line::from(spans))
}

fn sort_word(state: &State) -> &'static str {
    match state.sort {
        roster_shared::api::MemberSort::Name => "name",
        roster_shared::api::MemberSort::Email => "e-mail",
        roster_shared::api::MemberSort::Created => "created",
    }
}
