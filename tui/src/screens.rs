//! The screens besides Users: what each lists, as rows of text built from
//! the admin API's answers (pure, so snapshots and tests need no daemon).

use roster_shared::api::{
    AuditEventResponse, GroupResponse, ImportJobResponse, ImportStatus, MailDeliveryResponse,
    MailResponse, TokenResponse,
};

/// A screen of the TUI, switched with the number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Users,
    Groups,
    Imports,
    Mail,
    Audit,
    Tokens,
}

impl Screen {
    /// Every screen, in tab order (key `1` is the first).
    pub const ALL: [Screen; 6] = [
        Screen::Users,
        Screen::Groups,
        Screen::Imports,
        Screen::Mail,
        Screen::Audit,
        Screen::Tokens,
    ];

    /// The tab's label.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Users => "Users",
            Screen::Groups => "Groups",
            Screen::Imports => "Imports",
            Screen::Mail => "Mail",
            Screen::Audit => "Audit",
            Screen::Tokens => "Tokens",
        }
    }

    /// The screen of a number key.
    pub fn of_key(c: char) -> Option<Self> {
        let i = c.to_digit(10)? as usize;
        Self::ALL.get(i.checked_sub(1)?).copied()
    }
}

impl Screen {
    /// The column titles of a screen's table (also shown when it is empty).
    pub fn headers(self) -> Vec<&'static str> {
        match self {
            Screen::Users => vec![],
            Screen::Groups => vec!["GROUP", "MEMBERS", "CREATED"],
            Screen::Imports => vec![
                "FILE", "STATUS", "ROWS", "INVITED", "UPDATED", "ERRORS", "CREATED",
            ],
            Screen::Mail => vec!["TO", "STATUS", "TRIES", "CREATED", "LAST ERROR"],
            Screen::Audit => vec!["WHEN", "ACTOR", "SOURCE", "ACTION", "TARGET"],
            Screen::Tokens => vec!["NAME", "WORKSPACE", "CREATED"],
        }
    }
}

impl Screen {
    /// Column widths of a screen's table: timestamps and counts fixed, names
    /// and messages share the rest (so 80 columns stay readable).
    pub fn widths(self) -> Vec<ratatui::layout::Constraint> {
        use ratatui::layout::Constraint::{Fill, Length};
        match self {
            Screen::Users => vec![],
            Screen::Groups => vec![Fill(1), Length(8), Length(16)],
            Screen::Imports => vec![
                Fill(1),
                Length(9),
                Length(8),
                Length(8),
                Length(8),
                Length(7),
                Length(16),
            ],
            Screen::Mail => vec![Fill(2), Length(7), Length(5), Length(16), Fill(3)],
            Screen::Audit => vec![Length(16), Fill(2), Length(6), Length(20), Fill(3)],
            Screen::Tokens => vec![Fill(1), Length(20), Length(16)],
        }
    }
}

/// A screen's rows: what the table shows and the id behind each row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListView {
    pub headers: Vec<&'static str>,
    pub widths: Vec<ratatui::layout::Constraint>,
    pub rows: Vec<Vec<String>>,
    /// What actions on a row name (group name, job id, mail id, token name).
    pub keys: Vec<String>,
    /// Whether the row is a failed message or job (drawn as an error).
    pub failed: Vec<bool>,
    pub selected: usize,
    pub offset: usize,
    /// A line above the table about the whole list (sending paused).
    pub notice: Option<String>,
}

/// A timestamp as the CLI prints it.
fn when(t: time::OffsetDateTime) -> String {
    crate::cli::output::when(Some(t))
}

/// Custom groups.
pub fn groups(items: Vec<GroupResponse>) -> ListView {
    ListView {
        headers: Screen::Groups.headers(),
        widths: Screen::Groups.widths(),
        keys: items.iter().map(|g| g.name.clone()).collect(),
        failed: vec![false; items.len()],
        rows: items
            .into_iter()
            .map(|g| vec![g.name, g.members.to_string(), when(g.created_at)])
            .collect(),
        ..ListView::default()
    }
}

/// Import jobs, newest first.
pub fn imports(items: Vec<ImportJobResponse>) -> ListView {
    ListView {
        headers: Screen::Imports.headers(),
        widths: Screen::Imports.widths(),
        keys: items.iter().map(|j| j.id.clone()).collect(),
        failed: items
            .iter()
            .map(|j| j.status == ImportStatus::Failed || j.counts.errors > 0)
            .collect(),
        rows: items
            .into_iter()
            .map(|j| {
                let status = j.status.as_str();
                let file = if j.dry_run {
                    format!("{} (dry run)", j.file_name)
                } else {
                    j.file_name
                };
                vec![
                    file,
                    status.into(),
                    j.counts.rows.to_string(),
                    j.counts.invited.to_string(),
                    j.counts.updated.to_string(),
                    j.counts.errors.to_string(),
                    when(j.created_at),
                ]
            })
            .collect(),
        ..ListView::default()
    }
}

/// The outbox, newest first, under a notice while sending is paused.
pub fn mail(items: Vec<MailResponse>, delivery: &MailDeliveryResponse) -> ListView {
    ListView {
        notice: delivery.paused_line(when),
        headers: Screen::Mail.headers(),
        widths: Screen::Mail.widths(),
        keys: items.iter().map(|m| m.id.clone()).collect(),
        failed: items
            .iter()
            .map(|m| m.status.as_str() == "failed")
            .collect(),
        rows: items
            .into_iter()
            .map(|m| {
                vec![
                    m.to,
                    m.status.as_str().into(),
                    m.attempts.to_string(),
                    when(m.created_at),
                    m.last_error.unwrap_or_default(),
                ]
            })
            .collect(),
        ..ListView::default()
    }
}

/// The audit log, newest first.
pub fn audit(items: Vec<AuditEventResponse>) -> ListView {
    ListView {
        headers: Screen::Audit.headers(),
        widths: Screen::Audit.widths(),
        keys: items.iter().map(|e| e.id.clone()).collect(),
        failed: vec![false; items.len()],
        rows: items
            .into_iter()
            .map(|e| {
                vec![
                    when(e.at),
                    e.actor,
                    e.source.as_str().into(),
                    e.action,
                    e.target,
                ]
            })
            .collect(),
        ..ListView::default()
    }
}

/// SCIM tokens (never their secrets).
pub fn tokens(items: Vec<TokenResponse>) -> ListView {
    ListView {
        headers: Screen::Tokens.headers(),
        widths: Screen::Tokens.widths(),
        keys: items.iter().map(|t| t.name.clone()).collect(),
        failed: vec![false; items.len()],
        rows: items
            .into_iter()
            .map(|t| vec![t.name, t.workspace.unwrap_or_default(), when(t.created_at)])
            .collect(),
        ..ListView::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_keys_name_screens() {
        assert_eq!(Screen::of_key('1'), Some(Screen::Users));
        assert_eq!(Screen::of_key('6'), Some(Screen::Tokens));
        assert_eq!(Screen::of_key('7'), None);
        assert_eq!(Screen::of_key('0'), None);
    }
}
