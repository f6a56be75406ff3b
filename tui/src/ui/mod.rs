//! Rendering: a pure function of the state. One file per screen.

mod cells;
mod confirm;
mod detail;
mod help;
mod invite;
mod lists;
mod prompt;
pub mod theme;
mod users;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::screens::Screen;
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
    let banner_text = if !state.connected {
        Some((strings::DISCONNECTED, theme.warning()))
    } else if state.mail_paused && state.screen != Screen::Mail {
        Some((strings::MAIL_PAUSED, theme.error()))
    } else {
        None
    };
    let [title, banner, body, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner_text.is_some())),
        Constraint::Min(3),
        Constraint::Length(message_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(title_line(state, theme), title);
    if let Some((text, style)) = banner_text {
        frame.render_widget(Paragraph::new(text).style(style), banner);
    }
    match state.screen {
        Screen::Users => users::draw(state, theme, frame, body),
        Screen::Audit if !state.audit_filter.is_empty() => {
            let [line, table] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
            frame.render_widget(
                Paragraph::new(format!("filter: {}", state.audit_filter)).style(theme.dim()),
                line,
            );
            lists::draw(&state.view, state.loading, theme, frame, table);
        }
        _ => lists::draw(&state.view, state.loading, theme, frame, body),
    }
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
        Mode::Rows => {
            if let Some((title, rows)) = &state.import_rows {
                lists::draw_import_rows(title, rows, theme, frame);
            }
        }
        Mode::Pick => lists::draw_picker(&state.workspaces, state.workspace_cursor, theme, frame),
        Mode::Prompt => {
            if let Some((kind, text)) = &state.prompt {
                prompt::draw(&kind.title(), text, theme, frame);
            }
        }
        Mode::Secret => {
            if let Some((name, secret)) = &state.secret {
                prompt::draw_secret(name, secret, theme, frame);
            }
        }
        Mode::List | Mode::Search => {}
    }
}

/// A box of `width` × `height` in the middle of `outer` (dialogs, help).
fn centred(outer: ratatui::layout::Rect, width: Constraint, height: u16) -> ratatui::layout::Rect {
    let [area] = Layout::vertical([Constraint::Length(height)])
        .flex(ratatui::layout::Flex::Center)
        .areas(outer);
    let [area] = Layout::horizontal([width])
        .flex(ratatui::layout::Flex::Center)
        .areas(area);
    area
}

fn title_line(state: &State, theme: Theme) -> Paragraph<'static> {
    let workspace = state.workspace.clone().unwrap_or_else(|| "default".into());
    let mut spans = vec![
        Span::styled(strings::TITLE, theme.title()),
        Span::raw(format!(" [{workspace}] ")),
    ];
    for (i, screen) in Screen::ALL.iter().enumerate() {
        let text = format!("{}:{} ", i + 1, screen.title());
        spans.push(if *screen == state.screen {
            Span::styled(text, theme.selected())
        } else {
            Span::styled(text, theme.dim())
        });
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
        Mode::Rows => &[("Esc", "back")],
        Mode::Pick | Mode::Prompt => &[("Enter", "ok"), ("Esc", "cancel")],
        Mode::Secret => &[("y", "copy"), ("Esc", "close")],
        Mode::Invite => &[
            ("Enter", "invite"),
            ("Tab", "next field"),
            ("Esc", "cancel"),
        ],
        Mode::List if state.screen == Screen::Imports => &[
            ("Enter", "rows"),
            ("1-6", "screens"),
            ("w", "workspace"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List if state.screen == Screen::Mail => &[
            ("t", "retry"),
            ("1-6", "screens"),
            ("w", "workspace"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List if state.screen == Screen::Groups => &[
            ("n", "new"),
            ("r", "rename"),
            ("x", "delete"),
            ("Enter", "members"),
            ("1-6", "screens"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List if state.screen == Screen::Tokens => &[
            ("n", "new"),
            ("x", "revoke"),
            ("1-6", "screens"),
            ("w", "workspace"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List if state.screen == Screen::Audit => &[
            ("/", "filter"),
            ("Esc", "clear"),
            ("1-6", "screens"),
            ("w", "workspace"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List => &[
            ("/", "search"),
            ("Enter", "open"),
            ("i", "invite"),
            ("y", "copy link"),
            ("1-6", "screens"),
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
            let help = render(&s, w, h);
            for b in crate::keymap::USERS_KEYS {
                assert!(help.contains(b.what), "{w}x{h} help lacks {:?}", b.what);
            }
            insta::assert_snapshot!(format!("help_{w}x{h}"), help);
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
    fn a_paused_mail_server_is_named_above_every_screen_but_mail() {
        let paused = |kind: &str| {
            Action::Changed(roster_shared::api::ChangeEvent {
                workspace: String::new(),
                kind: kind.into(),
                target: String::new(),
            })
        };
        let mut s = loaded(24, 3);
        assert!(!render(&s, 80, 24).contains("Invite mail is paused"));
        s.update(paused("mail.paused"));
        let users = render(&s, 80, 24);
        assert!(
            users.contains("Invite mail is paused: the mail server"),
            "{users}"
        );
        s.update(Action::Switch(Screen::Mail));
        assert!(!render(&s, 80, 24).contains("Invite mail is paused"));
        s.update(Action::Switch(Screen::Users));
        s.update(paused("mail.resumed"));
        assert!(!render(&s, 80, 24).contains("Invite mail is paused"));
        s.update(Action::MailPaused(true));
        assert!(render(&s, 80, 24).contains("Invite mail is paused"));
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
    fn other_screen_snapshots() {
        use crate::screens;
        use roster_shared::api::{
            GroupResponse, ImportCounts, ImportJobResponse, ImportMode, ImportStatus,
        };
        let t = time::macros::datetime!(2026-11-02 10:30 UTC);
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = loaded(h, 3);
            s.update(Action::Switch(Screen::Groups));
            let seq = s.seq;
            let groups = (0..3)
                .map(|i| GroupResponse {
                    id: format!("g{i}"),
                    name: format!("Team {i}"),
                    members: i * 7,
                    created_at: t,
                })
                .collect();
            s.update(Action::ScreenLoaded {
                seq,
                result: Ok(screens::groups(groups)),
            });
            insta::assert_snapshot!(format!("groups_{w}x{h}"), render(&s, w, h));
            s.update(Action::Switch(Screen::Imports));
            let seq = s.seq;
            let job = ImportJobResponse {
                id: "job-1".into(),
                workspace: "default".into(),
                file_name: "team.csv".into(),
                dry_run: false,
                mode: ImportMode::BestEffort,
                status: ImportStatus::Done,
                counts: ImportCounts {
                    rows: 6,
                    invited: 2,
                    updated: 1,
                    unchanged: 0,
                    errors: 3,
                    skipped: 0,
                },
                message: Some("6 rows: 2 invited, 1 updated, 0 unchanged, 3 errors".into()),
                file_path: None,
                report_path: None,
                created_at: t,
                finished_at: Some(t),
            };
            s.update(Action::ScreenLoaded {
                seq,
                result: Ok(screens::imports(vec![job])),
            });
            insta::assert_snapshot!(format!("imports_{w}x{h}"), render(&s, w, h));
            s.update(Action::ImportRowsLoaded(Ok((
                "team.csv: 6 rows: 2 invited, 1 updated, 0 unchanged, 3 errors".into(),
                vec![roster_shared::api::ImportRowResponse {
                    line: 4,
                    email: "bad".into(),
                    outcome: roster_shared::api::RowOutcome::Error,
                    message: "e-mail address \"bad\" is not valid".into(),
                }],
            ))));
            insta::assert_snapshot!(format!("import_rows_{w}x{h}"), render(&s, w, h));
            s.update(Action::Back);
            s.update(Action::WorkspacesLoaded(Ok(vec![
                "default".into(),
                "sales".into(),
            ])));
            insta::assert_snapshot!(format!("workspace_picker_{w}x{h}"), render(&s, w, h));
            s.update(Action::Back);
            s.update(Action::Switch(Screen::Mail));
            let seq = s.seq;
            let mail: Vec<roster_shared::api::MailResponse> = serde_json::from_value(serde_json::json!([
                {"id": "m0", "workspace": "default", "to": "alan@example.com", "subject": "You are invited",
                 "status": "queued", "attempts": 0, "last_error": null,
                 "created_at": "2026-11-02T10:32:00Z", "next_attempt_at": "2026-11-02T10:32:00Z", "sent_at": null},
                {"id": "m1", "workspace": "default", "to": "ada@example.com", "subject": "You are invited",
                 "status": "failed", "attempts": 10, "last_error": "permanent error (550): 5.1.1 <ada@example.com>: mailbox unavailable",
                 "created_at": "2026-11-02T10:30:00Z", "next_attempt_at": null, "sent_at": null},
                {"id": "m2", "workspace": "default", "to": "grace@example.com", "subject": "You are invited",
                 "status": "sent", "attempts": 1, "last_error": null,
                 "created_at": "2026-11-02T10:31:00Z", "next_attempt_at": null, "sent_at": "2026-11-02T10:31:01Z"}
            ]))
            .expect("mail");
            let paused: roster_shared::api::MailDeliveryResponse =
                serde_json::from_value(serde_json::json!(
                    {"paused_since": "2026-11-02T10:32:05Z", "next_try_at": "2026-11-02T10:33:05Z",
                     "error": "Connection error: Connection refused (os error 111)"}
                ))
                .expect("delivery");
            s.update(Action::ScreenLoaded {
                seq,
                result: Ok(screens::mail(mail, &paused)),
            });
            insta::assert_snapshot!(format!("mail_{w}x{h}"), render(&s, w, h));
            // The later screens' snapshots are about themselves, not the banner.
            s.update(Action::MailPaused(false));
            s.update(Action::Switch(Screen::Audit));
            s.update(Action::SearchStart);
            "actor:okta".chars().for_each(|c| {
                s.update(Action::FormInput(c));
            });
            s.update(Action::Submit);
            let seq = s.seq;
            let audit: Vec<roster_shared::api::AuditEventResponse> = serde_json::from_value(serde_json::json!([
                {"id": "a1", "at": "2026-11-02T10:30:00Z", "workspace": "default", "actor": "token:okta",
                 "source": "scim", "action": "member.provisioned", "target": "ada@example.com",
                 "before": null, "after": null}
            ]))
            .expect("audit");
            s.update(Action::ScreenLoaded {
                seq,
                result: Ok(screens::audit(audit)),
            });
            insta::assert_snapshot!(format!("audit_filtered_{w}x{h}"), render(&s, w, h));
            s.update(Action::Switch(Screen::Tokens));
            s.update(Action::New);
            "okta".chars().for_each(|c| {
                s.update(Action::FormInput(c));
            });
            insta::assert_snapshot!(format!("prompt_new_token_{w}x{h}"), render(&s, w, h));
            s.update(Action::Submit);
            s.update(Action::TokenCreated(Ok((
                "okta".into(),
                "rst_s3cr3t_shown_once".into(),
            ))));
            insta::assert_snapshot!(format!("token_secret_{w}x{h}"), render(&s, w, h));
            s.update(Action::Back);
        }
    }

    #[test]
    fn edit_form_snapshots() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = loaded(h, 3);
            let mut m = crate::state::tests::member(0);
            m.metadata.insert("team".into(), "core".into());
            m.metadata.insert("apiKey".into(), "s3cret".into());
            m.hidden_keys = vec!["apiKey".into()];
            s.update(Action::EditLoaded(Ok((
                Box::new(m),
                vec!["Eng".into(), "Ops".into()],
            ))));
            if let Some(f) = &mut s.invite {
                f.focus = crate::invite_form::Field::Metadata;
            }
            let screen = render(&s, w, h);
            assert!(!screen.contains("s3cret"), "hidden values are masked");
            insta::assert_snapshot!(format!("edit_{w}x{h}"), screen);
        }
    }

    #[test]
    fn an_empty_list_says_what_to_do() {
        for (w, h) in [(80, 24), (120, 40)] {
            let s = loaded(h, 0);
            insta::assert_snapshot!(format!("empty_{w}x{h}"), render(&s, w, h));
        }
    }
}
