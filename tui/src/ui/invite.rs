//! The Invite form, in a box over the list.

use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use roster_shared::Role;

use super::theme::Theme;
use crate::invite_form::{Field, InviteForm};
use crate::metadata_editor::Cell;
use crate::strings;

/// Draws the form centred on the screen.
pub fn draw(form: &InviteForm, theme: Theme, frame: &mut Frame) {
    let mut lines = Vec::new();
    let label = |field: Field, text: &'static str| {
        let marker = if form.focus == field { "▸ " } else { "  " };
        Span::styled(
            format!("{marker}{text:<9}"),
            if form.focus == field {
                theme.key()
            } else {
                theme.dim()
            },
        )
    };
    let cursor = |field: Field| if form.focus == field { "▏" } else { "" };
    for (field, text, value) in [
        (Field::Name, "Name*", &form.name),
        (Field::Email, "E-mail*", &form.email),
    ] {
        lines.push(Line::from(vec![
            label(field, text),
            Span::raw(format!("{value}{}", cursor(field))),
        ]));
        lines.push(problem_line(form, field, theme));
    }
    let mut roles = vec![label(Field::Role, "Role*")];
    for r in Role::ALL {
        let chosen = form.role == Some(r);
        roles.push(Span::styled(
            format!("{} {}  ", if chosen { "(•)" } else { "( )" }, r.as_str()),
            if chosen { theme.header() } else { theme.dim() },
        ));
    }
    lines.push(Line::from(roles));
    lines.push(problem_line(form, Field::Role, theme));
    let mut groups = vec![label(Field::Groups, "Groups")];
    if form.groups.is_empty() {
        groups.push(Span::styled(
            "no custom groups in this workspace",
            theme.dim(),
        ));
    }
    for (i, (name, on)) in form.groups.iter().enumerate() {
        let here = form.focus == Field::Groups && i == form.group_cursor;
        let text = format!("{} {name}  ", if *on { "[x]" } else { "[ ]" });
        groups.push(Span::styled(
            text,
            if here {
                theme.selected()
            } else {
                theme.header()
            },
        ));
    }
    lines.push(Line::from(groups));
    lines.push(Line::raw(""));
    lines.extend(metadata_lines(form, theme));
    lines.push(problem_line(form, Field::Metadata, theme));
    match &form.refused {
        Some(why) => lines.push(Line::styled(why.clone(), theme.error())),
        None if form.submitting => lines.push(Line::raw("sending…")),
        None if form.editing.is_some() => lines.push(Line::styled(strings::EDIT_HINT, theme.dim())),
        None => lines.push(Line::styled(strings::INVITE_HINT, theme.dim())),
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(16);
    let area = super::centred(frame.area(), Constraint::Percentage(94), height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(match &form.editing {
                    Some(e) => strings::edit_title(&e.email),
                    None => strings::INVITE_TITLE.to_string(),
                }),
        ),
        area,
    );
}

/// Most metadata rows shown at once (the cursor's row is always among them).
const META_ROWS: usize = 4;

/// The key/value rows, hidden values masked, the cursor on its cell.
fn metadata_lines(form: &InviteForm, theme: Theme) -> Vec<Line<'static>> {
    let editor = &form.metadata;
    let focused = form.focus == Field::Metadata;
    let first = editor.row.saturating_sub(META_ROWS - 1);
    editor
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(META_ROWS)
        .map(|(i, row)| {
            let here = focused && i == editor.row;
            let label = if i == first {
                let marker = if focused { "▸ " } else { "  " };
                let style = if focused { theme.key() } else { theme.dim() };
                Span::styled(format!("{marker}{:<9}", "Metadata"), style)
            } else {
                Span::raw(" ".repeat(11))
            };
            let mark = |cell: Cell| {
                if here && editor.cell == cell {
                    "▏"
                } else {
                    ""
                }
            };
            let value = if row.hidden {
                "•".repeat(row.value.chars().count().max(4))
            } else {
                row.value.clone()
            };
            let key = if row.key.is_empty() && !here {
                "(key)".to_string()
            } else {
                row.key.clone()
            };
            let hidden = if row.hidden { "  [hidden]" } else { "" };
            Line::from(vec![
                label,
                Span::styled(
                    format!("{key}{}", mark(Cell::Key)),
                    if here { theme.header() } else { theme.dim() },
                ),
                Span::raw(" = "),
                Span::raw(format!("{value}{}", mark(Cell::Value))),
                Span::styled(hidden, theme.dim()),
            ])
        })
        .collect()
}

fn problem_line(form: &InviteForm, field: Field, theme: Theme) -> Line<'static> {
    match form.problem(field, false) {
        Some(p) => Line::styled(format!("           {p}"), theme.error()),
        None => Line::raw(""),
    }
}
