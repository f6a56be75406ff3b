//! Keys to actions, one table per mode; the footer and `?` list the same.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;
use crate::state::Mode;

/// One key binding as the footer and help show it.
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
}

/// Every key of the Users screen, in help order.
pub const USERS_KEYS: &[Binding] = &[
    Binding {
        keys: "j/k ↓/↑",
        what: "move",
    },
    Binding {
        keys: "PgDn/PgUp",
        what: "page",
    },
    Binding {
        keys: "g/G",
        what: "first/last",
    },
    Binding {
        keys: "/",
        what: "search / audit filter",
    },
    Binding {
        keys: "Enter",
        what: "open member, import, group",
    },
    Binding {
        keys: "Esc",
        what: "back/clear",
    },
    Binding {
        keys: "s",
        what: "status filter",
    },
    Binding {
        keys: "r",
        what: "role filter / rename group",
    },
    Binding {
        keys: "o",
        what: "sort",
    },
    Binding {
        keys: "y",
        what: "copy link",
    },
    Binding {
        keys: "i",
        what: "invite someone",
    },
    Binding {
        keys: "e",
        what: "edit member",
    },
    Binding {
        keys: "R",
        what: "resend invite",
    },
    Binding {
        keys: "L",
        what: "reset link",
    },
    Binding {
        keys: "a",
        what: "archive/unarchive",
    },
    Binding {
        keys: "x",
        what: "remove member/group/token",
    },
    Binding {
        keys: "1…6",
        what: "screens (Users…Tokens)",
    },
    Binding {
        keys: "n",
        what: "new group or token",
    },
    Binding {
        keys: "w",
        what: "switch workspace",
    },
    Binding {
        keys: "t",
        what: "retry a mail",
    },
    Binding {
        keys: "F5",
        what: "refresh",
    },
    Binding {
        keys: "?",
        what: "help",
    },
    Binding {
        keys: "q",
        what: "quit",
    },
];

/// The action of a key in `mode`, if any.
pub fn action_for(key: KeyEvent, mode: Mode) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            KeyCode::Char('t') if mode == Mode::Invite => Some(Action::FormToggleHidden),
            _ => None,
        };
    }
    match mode {
        Mode::Search => match key.code {
            KeyCode::Enter => Some(Action::SearchDone),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Char(c) => Some(Action::SearchInput(c)),
            _ => None,
        },
        Mode::Invite => match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Tab => Some(Action::FormNext),
            KeyCode::BackTab => Some(Action::FormPrev),
            KeyCode::Down => Some(Action::FormDown),
            KeyCode::Up => Some(Action::FormUp),
            KeyCode::Left => Some(Action::FormLeft),
            KeyCode::Right => Some(Action::FormRight),
            KeyCode::Backspace => Some(Action::FormBackspace),
            KeyCode::Char(c) => Some(Action::FormInput(c)),
            _ => None,
        },
        Mode::Rows => match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => Some(Action::Back),
            _ => None,
        },
        Mode::Pick => match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
            _ => None,
        },
        Mode::Prompt => match key.code {
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Backspace => Some(Action::FormBackspace),
            KeyCode::Char(c) => Some(Action::FormInput(c)),
            _ => None,
        },
        Mode::Secret => match key.code {
            KeyCode::Esc | KeyCode::Enter => Some(Action::Back),
            KeyCode::Char('y') => Some(Action::CopyLink),
            _ => None,
        },
        Mode::Confirm => match key.code {
            KeyCode::Char('y') | KeyCode::Enter => Some(Action::Confirm),
            KeyCode::Char('n') | KeyCode::Esc => Some(Action::Back),
            _ => None,
        },
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?') => Some(Action::Back),
            KeyCode::Char('q') => Some(Action::Quit),
            _ => None,
        },
        Mode::Detail => match key.code {
            KeyCode::Esc | KeyCode::Enter => Some(Action::Back),
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('y') => Some(Action::CopyLink),
            KeyCode::Char('e') => Some(Action::Edit),
            KeyCode::Char('R') => Some(Action::Resend),
            KeyCode::Char('L') => Some(Action::ResetLink),
            KeyCode::Char('a') => Some(Action::ToggleArchive),
            KeyCode::Char('x') => Some(Action::Remove),
            _ => None,
        },
        Mode::List => match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::Char('g') | KeyCode::Home => Some(Action::Top),
            KeyCode::Char('G') | KeyCode::End => Some(Action::Bottom),
            KeyCode::Char('/') => Some(Action::SearchStart),
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Char('?') => Some(Action::ToggleHelp),
            KeyCode::Char('s') => Some(Action::CycleStatus),
            KeyCode::Char('r') => Some(Action::CycleRole),
            KeyCode::Char('o') => Some(Action::CycleSort),
            KeyCode::Char('y') => Some(Action::CopyLink),
            KeyCode::Char('i') => Some(Action::OpenInvite),
            KeyCode::Char('e') => Some(Action::Edit),
            KeyCode::Char('n') => Some(Action::New),
            KeyCode::Char('t') => Some(Action::Retry),
            KeyCode::Char('w') => Some(Action::PickWorkspace),
            KeyCode::Char(c @ '1'..='6') => crate::screens::Screen::of_key(c).map(Action::Switch),
            KeyCode::Char('R') => Some(Action::Resend),
            KeyCode::Char('L') => Some(Action::ResetLink),
            KeyCode::Char('a') => Some(Action::ToggleArchive),
            KeyCode::Char('x') => Some(Action::Remove),
            KeyCode::F(5) => Some(Action::Refresh),
            _ => None,
        },
    }
}
