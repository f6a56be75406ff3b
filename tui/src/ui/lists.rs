//! The Groups, Imports, Mail, Audit and Tokens screens (one table each),
//! an import's rows, and the workspace switcher.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};
use roster_shared::api::{ImportRowResponse, RowOutcome};

use super::cells;
use super::theme::Theme;
use crate::screens::ListView;

/// Draws a screen's table into `area`, under its notice if it has one.
pub fn draw(view: &ListView, loading: bool, theme: Theme, frame: &mut Frame, area: Rect) {
    let area = match &view.notice {
        Some(notice) if area.height > 3 && area.width > 0 => {
            // Wrapped, up to three lines: the reason is the point of it.
            let chars = u16::try_from(notice.chars().count()).unwrap_or(u16::MAX);
            let lines = chars.div_ceil(area.width).clamp(1, 3);
            let [top, rest] =
                Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(area);
            frame.render_widget(
                Paragraph::new(notice.as_str())
                    .style(theme.error())
                    .wrap(Wrap { trim: true }),
                top,
            );
            rest
        }
        _ => area,
    };
    if view.rows.is_empty() {
        let text = if loading {
            "loading…"
        } else {
            "Nothing here yet."
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled(view.headers.join("  "), theme.header()),
                Line::styled(text, theme.dim()),
            ]),
            area,
        );
        return;
    }
    let columns = view.headers.len().max(1);
    let widths = if view.widths.len() == columns {
        view.widths.clone()
    } else {
        vec![Constraint::Ratio(1, u32::try_from(columns).unwrap_or(1)); columns]
    };
    let columns = cells::column_widths(&widths, cells::COLUMN_SPACING, area.width);
    let rows = view.rows.iter().zip(&view.failed).map(|(row, failed)| {
        let row = Row::new(cells::fit_row(row, &columns));
        if *failed {
            row.style(theme.error())
        } else {
            row
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(view.headers.clone()).style(theme.header()))
        .row_highlight_style(theme.selected())
        .column_spacing(cells::COLUMN_SPACING);
    let mut state = TableState::default()
        .with_offset(view.offset)
        .with_selected(Some(view.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// An import job's report lines (errors first) in a box.
pub fn draw_import_rows(title: &str, rows: &[ImportRowResponse], theme: Theme, frame: &mut Frame) {
    let area = super::centred(
        frame.area(),
        Constraint::Percentage(90),
        frame.area().height.saturating_sub(4),
    );
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| {
            let style = if r.outcome == RowOutcome::Error {
                theme.error()
            } else {
                theme.dim()
            };
            Line::from(vec![
                Span::styled(format!("{:>6} {:<9} ", r.line, r.outcome.as_str()), style),
                Span::raw(format!("{}  {}", r.email, r.message)),
            ])
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        ),
        area,
    );
}

/// The workspace switcher.
pub fn draw_picker(slugs: &[String], cursor: usize, theme: Theme, frame: &mut Frame) {
    let height = u16::try_from(slugs.len())
        .unwrap_or(10)
        .saturating_add(2)
        .min(frame.area().height);
    let area = super::centred(frame.area(), Constraint::Percentage(40), height);
    let lines: Vec<Line> = slugs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == cursor {
                Line::styled(format!("▸ {s}"), theme.selected())
            } else {
                Line::raw(format!("  {s}"))
            }
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("Workspace")),
        area,
    );
}
