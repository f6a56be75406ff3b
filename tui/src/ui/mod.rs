//! Rendering: a pure function of the state. One file per screen.

mod confirm;
mod detail;
mod help;
mod invite;
pub mod theme;
mod users;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::state::{Mode, State};
use crate::strings;
use theme::Theme;

/// Spinner frames shown while a request is in flight.
const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

/// Draws the whole screen.
pub fn draw(state: &State, theme: Theme, frame: &mut Frame) {
    // A shown link wraps rather than being cut, so it can be selected by hand.
    let width = usize::from(frame.area().width.max(1));
    let link_lines = state
        .link
        .as_ref()
        .map_or(0, |l| l.url.chars().count().div_ceil(width));
    let message_height = u16::try_from(1 + link_lines).unwrap_or(2);
    let [title, banner, body, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(!state.connected)),
        Constraint::Min(3),
        Constraint::Length(message_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(title_line(state, theme), title);
    if !state.connected {
        frame.render_widget(
            Paragraph::new(strings::DISCONNECTED).style(theme.warning()),
            banner,
        );
    }
    users::draw(state, theme, frame, body);
    frame.render_widget(message_lines(state, theme), message);
    frame.render_widget(footer_line(state, theme), footer);
    match state.mode {
        Mode::Help => help::draw(theme, frame),
        Mode::Detail => detail::draw(state, theme, frame),
        Mode::Invite => {
            if let Some(form) = &state.invite {
                invite::draw(form, theme, frame);
            }
        }
        Mode::Confirm => {
            if let Some((question, _)) = &state.confirm {
                confirm::draw(question, theme, frame);
            }
        }
        Mode::List | Mode::Search => {}
    }
}

fn title_line(state: &State, theme: Theme) -> Paragraph<'static> {
    let workspace = state.workspace.clone().unwrap_or_else(|| "default".into());
    let mut spans = vec![
        Span::styled(strings::TITLE, theme.title()),
        Span::raw(format!("  workspace {workspace}  ")),
        Span::styled(format!("{} shown", state.members.len()), theme.dim()),
    ];
    if state.next_cursor.is_some() {
        spans.push(Span::styled("+", theme.dim()));
    }
    if state.loading {
        let frame = SPINNER[(state.ticks % SPINNER.len() as u64) as usize];
        spans.push(Span::raw(format!("  {frame}")));
    }
    Paragraph::new(Line::from(spans))
}

fn message_lines(state: &State, theme: Theme) -> Paragraph<'static> {
    let mut lines = Vec::new();
    if let Some(e) = &state.error {
        lines.push(Line::styled(e.clone(), theme.error()));
    } else if let Some(f) = &state.flash {
        lines.push(Line::raw(f.clone()));
    }
    if let Some(link) = &state.link {
        lines.push(Line::raw(link.url.clone()));
    }
    Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false })
}

fn footer_line(state: &State, theme: Theme) -> Paragraph<'static> {
    let keys: &[(&str, &str)] = match state.mode {
        Mode::Search => &[("Enter", "keep"), ("Esc", "clear"), ("↓/↑", "move")],
        Mode::Help => &[("Esc", "back"), ("q", "quit")],
        Mode::Detail => &[
            ("Esc", "back"),
            ("y", "copy link"),
            ("R", "resend"),
            ("L", "reset link"),
            ("a", "archive"),
            ("x", "remove"),
        ],
        Mode::Confirm => &[("y", "yes"), ("n/Esc", "no")],
        Mode::Invite => &[
            ("Enter", "invite"),
            ("Tab", "next field"),
            ("Esc", "cancel"),
        ],
        Mode::List => &[
            ("/", "search"),
            ("Enter", "open"),
            ("y", "copy link"),
            ("i", "invite"),
            ("s", "status"),
            ("r", "role"),
            ("o", "sort"),
            ("?", "help"),
            ("q", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Paragraph::new(Line::from(spans))
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::action::Action;
    use crate::state::tests::page;

    fn render(state: &State, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal
            .draw(|f| draw(state, Theme { color: false }, f))
            .expect("draw");
        terminal.backend().to_string()
    }

    fn loaded(rows: u16, n: usize) -> State {
        let mut s = State::new(None, rows);
        s.start();
        s.connected = true;
        let seq = s.seq;
        s.update(Action::Loaded {
            seq,
            append: false,
            result: page(0..n, n > 30),
        });
        s
    }

    #[test]
    fn users_screen_snapshots() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = loaded(h, 40);
            s.update(Action::Down);
            insta::assert_snapshot!(format!("users_{w}x{h}"), render(&s, w, h));
        }
    }

    #[test]
    fn search_help_detail_and_banner_snapshots() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = loaded(h, 5);
            s.update(Action::SearchStart);
            s.update(Action::SearchInput('p'));
            let seq = s.seq;
            s.update(Action::Loaded {
                seq,
                append: false,
                result: page(0..3, false),
            });
            insta::assert_snapshot!(format!("search_{w}x{h}"), render(&s, w, h));
            s.update(Action::SearchDone);
            s.update(Action::ToggleHelp);
            insta::assert_snapshot!(format!("help_{w}x{h}"), render(&s, w, h));
            s.update(Action::Back);
            s.update(Action::Open);
            insta::assert_snapshot!(format!("detail_{w}x{h}"), render(&s, w, h));
            s.update(Action::Remove);
            insta::assert_snapshot!(format!("confirm_remove_{w}x{h}"), render(&s, w, h));
            s.update(Action::Back);
            s.update(Action::Back);
            s.update(Action::Connection(false));
            s.update(Action::LinkLoaded(Ok(roster_shared::api::LinkResponse {
                email: "person0@example.com".into(),
                url: "http://127.0.0.1:8080/invite/abc".into(),
                expires_at: time::macros::datetime!(2026-12-01 00:00 UTC),
            })));
            insta::assert_snapshot!(format!("offline_with_link_{w}x{h}"), render(&s, w, h));
        }
    }

    #[test]
    fn invite_form_snapshots() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = loaded(h, 3);
            s.update(Action::OpenInvite);
            s.update(Action::GroupsLoaded(Ok(vec!["Eng".into(), "Ops".into()])));
            "Ada".chars().for_each(|c| {
                s.update(Action::FormInput(c));
            });
            s.update(Action::FormNext);
            "ada@".chars().for_each(|c| {
                s.update(Action::FormInput(c));
            });
            insta::assert_snapshot!(format!("invite_typing_{w}x{h}"), render(&s, w, h));
            "example.com".chars().for_each(|c| {
                s.update(Action::FormInput(c));
            });
            s.update(Action::Submit);
            insta::assert_snapshot!(format!("invite_no_role_{w}x{h}"), render(&s, w, h));
        }
    }

    #[test]
    fn an_empty_list_says_what_to_do() {
        let s = loaded(24, 0);
        insta::assert_snapshot!("empty_80x24", render(&s, 80, 24));
    }
}
