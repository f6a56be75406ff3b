//! The Invite form (ToolJet's seed form): Name, E-mail and Role required,
//! custom groups and metadata optional, each checked as you type with the
//! same shared rules the daemon applies. The same form edits a member
//! (`e`): the e-mail is fixed. Metadata is a key/value editor whose hidden
//! values are masked on screen.

use roster_shared::api::{EditMemberRequest, InviteRequest, MemberResponse};
use roster_shared::{Email, Metadata, Role, names};

use crate::metadata_editor::MetadataEditor;

/// A member being edited rather than invited.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    pub email: String,
    /// The metadata as opened: unchanged metadata is not sent.
    original: Metadata,
}

/// The form's fields, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Email,
    Role,
    Groups,
    Metadata,
}

impl Field {
    const ORDER: [Field; 5] = [
        Field::Name,
        Field::Email,
        Field::Role,
        Field::Groups,
        Field::Metadata,
    ];

    fn index(self) -> usize {
        Self::ORDER.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// What the admin has typed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteForm {
    pub name: String,
    pub email: String,
    pub role: Option<Role>,
    /// The workspace's custom groups, each with whether it is chosen.
    pub groups: Vec<(String, bool)>,
    /// Which group the cursor is on.
    pub group_cursor: usize,
    pub metadata: MetadataEditor,
    pub focus: Field,
    /// The daemon's own refusal, shown until the next change.
    pub refused: Option<String>,
    pub submitting: bool,
    /// Set when the form edits an existing member.
    pub editing: Option<Editing>,
}

impl InviteForm {
    /// An empty form.
    pub fn new() -> Self {
        Self {
            name: String::new(),
            email: String::new(),
            role: None,
            groups: Vec::new(),
            group_cursor: 0,
            metadata: MetadataEditor::default(),
            focus: Field::Name,
            refused: None,
            submitting: false,
            editing: None,
        }
    }

    /// The form filled with a member (read with hidden values revealed) and
    /// the workspace's groups.
    pub fn for_edit(member: &MemberResponse, groups: Vec<String>) -> Self {
        let metadata = MetadataEditor::with(&member.metadata, &member.hidden_keys);
        let original = metadata.metadata().unwrap_or_default();
        let mut form = Self::new();
        form.name = member.name.clone();
        form.email = member.email.clone();
        form.role = Some(member.role);
        form.groups = groups
            .into_iter()
            .map(|g| {
                let on = member.groups.iter().any(|m| m.eq_ignore_ascii_case(&g));
                (g, on)
            })
            .collect();
        form.metadata = metadata;
        form.editing = Some(Editing {
            email: member.email.clone(),
            original,
        });
        form
    }

    /// The edit to send, or the first field's problem.
    pub fn submit_edit(&mut self) -> Result<(String, EditMemberRequest), String> {
        let Some(editing) = self.editing.clone() else {
            return Err("this form invites; it edits nobody".into());
        };
        for field in [Field::Name, Field::Metadata] {
            if let Some(problem) = self.problem(field, true) {
                self.focus = field;
                return Err(problem);
            }
        }
        let metadata = self.metadata.metadata()?;
        let changed = metadata != editing.original;
        self.submitting = true;
        Ok((
            editing.email,
            EditMemberRequest {
                name: Some(self.name.clone()),
                role: self.role.map(|r| r.as_str().to_string()),
                groups: Some(
                    self.groups
                        .iter()
                        .filter(|(_, on)| *on)
                        .map(|(g, _)| g.clone())
                        .collect(),
                ),
                metadata: changed.then(|| serde_json::json!(metadata.values)),
                hide_keys: changed.then(|| metadata.hidden.iter().cloned().collect()),
            },
        ))
    }

    /// Moves the focus to the next (or previous) field.
    pub fn step(&mut self, forward: bool) {
        let n = Field::ORDER.len();
        let i = self.focus.index();
        self.focus = Field::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// A typed character: text into text fields; Space chooses in lists.
    pub fn input(&mut self, c: char) {
        self.refused = None;
        match self.focus {
            Field::Name => self.name.push(c),
            Field::Email if self.editing.is_some() => {}
            Field::Email => self.email.push(c),
            Field::Metadata => self.metadata.input(c),
            Field::Role if c == ' ' => self.cycle_role(true),
            Field::Groups if c == ' ' => {
                if let Some(g) = self.groups.get_mut(self.group_cursor) {
                    g.1 = !g.1;
                }
            }
            Field::Role | Field::Groups => {}
        }
    }

    /// Backspace in a text field.
    pub fn backspace(&mut self) {
        self.refused = None;
        match self.focus {
            Field::Name => {
                self.name.pop();
            }
            Field::Email if self.editing.is_some() => {}
            Field::Email => {
                self.email.pop();
            }
            Field::Metadata => self.metadata.backspace(),
            Field::Role | Field::Groups => {}
        }
    }

    /// ←/→: the role, or the group under the cursor.
    pub fn sideways(&mut self, right: bool) {
        match self.focus {
            Field::Role => self.cycle_role(right),
            Field::Groups if !self.groups.is_empty() => {
                let n = self.groups.len();
                self.group_cursor = if right {
                    (self.group_cursor + 1) % n
                } else {
                    (self.group_cursor + n - 1) % n
                };
            }
            Field::Metadata => self.metadata.switch_cell(),
            _ => {}
        }
    }

    /// ↓: the next metadata row inside the editor, else the next field.
    pub fn down(&mut self) {
        if self.focus == Field::Metadata {
            self.metadata.down();
        } else {
            self.step(true);
        }
    }

    /// ↑: the previous metadata row inside the editor, else the previous field.
    pub fn up(&mut self) {
        if !(self.focus == Field::Metadata && self.metadata.up()) {
            self.step(false);
        }
    }

    /// Ctrl-T in the metadata editor: hide (or show) the row's value.
    pub fn toggle_hidden(&mut self) {
        if self.focus == Field::Metadata {
            self.metadata.toggle_hidden();
        }
    }

    fn cycle_role(&mut self, forward: bool) {
        let all = Role::ALL;
        self.role = Some(match self.role {
            None if forward => all[0],
            None => all[all.len() - 1],
            Some(r) => {
                let i = all.iter().position(|x| *x == r).unwrap_or(0);
                all[if forward {
                    (i + 1) % all.len()
                } else {
                    (i + all.len() - 1) % all.len()
                }]
            }
        });
    }

    /// The problem with a field as typed, in the shared rules' words; `None`
    /// when it is fine. Empty required fields only complain once touched or
    /// at submit (`strict`).
    pub fn problem(&self, field: Field, strict: bool) -> Option<String> {
        match field {
            Field::Name if self.name.is_empty() && !strict => None,
            Field::Name => names::person_name(&self.name).err().map(|e| e.to_string()),
            Field::Email if self.email.is_empty() && !strict => None,
            Field::Email => Email::parse(&self.email).err().map(|e| e.to_string()),
            Field::Role if self.role.is_none() && strict => {
                Some("choose a role: admin, builder or end-user (Space or ←/→)".into())
            }
            Field::Role | Field::Groups => None,
            Field::Metadata => self.metadata.problem(),
        }
    }

    /// The request to send, or the first field's problem (focus moves there).
    pub fn submit(&mut self) -> Result<InviteRequest, String> {
        for field in Field::ORDER {
            if let Some(problem) = self.problem(field, true) {
                self.focus = field;
                return Err(problem);
            }
        }
        let metadata = self.metadata.metadata()?;
        self.submitting = true;
        Ok(InviteRequest {
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role.map(Role::as_str).unwrap_or_default().to_string(),
            groups: self
                .groups
                .iter()
                .filter(|(_, on)| *on)
                .map(|(g, _)| g.clone())
                .collect(),
            metadata: (!metadata.values.is_empty()).then(|| serde_json::json!(metadata.values)),
            hidden_keys: metadata.hidden.iter().cloned().collect(),
        })
    }
}

impl Default for InviteForm {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(form: &mut InviteForm, text: &str) {
        text.chars().for_each(|c| form.input(c));
    }

    #[test]
    fn the_form_checks_as_you_type_with_the_shared_rules() {
        let mut f = InviteForm::new();
        assert_eq!(
            f.problem(Field::Name, false),
            None,
            "untouched is not an error yet"
        );
        f.step(true);
        typed(&mut f, "ada@");
        assert_eq!(
            f.problem(Field::Email, false).as_deref(),
            Some("e-mail address \"ada@\" is not valid")
        );
        typed(&mut f, "example.com");
        assert_eq!(f.problem(Field::Email, false), None);
        f.focus = Field::Metadata;
        typed(&mut f, "bad key");
        assert!(
            f.problem(Field::Metadata, false)
                .is_some_and(|p| p.contains("is not valid"))
        );
    }

    #[test]
    fn submit_names_the_first_problem_and_moves_there() {
        let mut f = InviteForm::new();
        f.focus = Field::Email;
        typed(&mut f, "ada@example.com");
        assert_eq!(f.submit(), Err("name is empty".into()));
        assert_eq!(f.focus, Field::Name);
        typed(&mut f, "Ada Lovelace");
        let err = f.submit().expect_err("no role");
        assert!(err.starts_with("choose a role"), "{err}");
        assert_eq!(f.focus, Field::Role);
        f.input(' ');
        f.sideways(true);
        assert_eq!(f.role, Some(Role::Builder));
    }

    #[test]
    fn editing_keeps_hidden_values_and_sends_metadata_only_when_changed() {
        let member = serde_json::from_value::<MemberResponse>(serde_json::json!({
            "id": "m", "email": "ada@example.com", "name": "Ada", "role": "builder",
            "groups": ["eng"], "metadata": {"team": "core", "apiKey": "s3cret"},
            "hidden_keys": ["apiKey"], "status": "invited", "external_id": null,
            "source": "cli", "invited_by": "x", "invited_at": "2026-11-01T00:00:00Z",
            "activated_at": null, "archived_at": null, "last_invite_sent_at": null,
            "invite_expires_at": null, "updated_at": "2026-11-01T00:00:00Z"
        }))
        .expect("member");
        let mut f = InviteForm::for_edit(&member, vec!["Eng".into(), "Ops".into()]);
        assert_eq!(f.groups, vec![("Eng".into(), true), ("Ops".into(), false)]);
        assert!(
            f.metadata
                .rows
                .iter()
                .any(|r| r.key == "apiKey" && r.hidden)
        );
        f.focus = Field::Email;
        f.input('x');
        assert_eq!(f.email, "ada@example.com", "the e-mail is fixed");
        let (email, req) = f.clone().submit_edit().expect("valid");
        assert_eq!(email, "ada@example.com");
        assert_eq!(req.metadata, None, "untouched metadata is not sent");
        f.focus = Field::Metadata;
        f.down();
        f.sideways(true);
        typed(&mut f, "!");
        let (_, req) = f.submit_edit().expect("valid");
        assert_eq!(
            req.metadata,
            Some(serde_json::json!({"team": "core!", "apiKey": "s3cret"})),
            "the hidden value is sent as it was"
        );
        assert_eq!(req.hide_keys, Some(vec!["apiKey".to_string()]));
    }

    #[test]
    fn a_valid_form_becomes_the_same_request_the_cli_sends() {
        let mut f = InviteForm::new();
        f.groups = vec![("Eng".into(), false), ("Ops".into(), false)];
        typed(&mut f, "Ada Lovelace");
        f.step(true);
        typed(&mut f, "ada@example.com");
        f.step(true);
        f.sideways(false);
        f.step(true);
        f.sideways(true);
        f.input(' ');
        f.step(true);
        typed(&mut f, "team");
        f.sideways(true);
        typed(&mut f, "core");
        f.down();
        typed(&mut f, "token");
        f.sideways(true);
        typed(&mut f, "abc");
        f.toggle_hidden();
        let req = f.submit().expect("valid");
        assert_eq!(req.hidden_keys, vec!["token".to_string()]);
        assert_eq!(req.role, "end-user");
        assert_eq!(req.groups, vec!["Ops".to_string()]);
        assert_eq!(
            req.metadata,
            Some(serde_json::json!({"team": "core", "token": "abc"}))
        );
        assert!(req.validate().is_ok(), "the daemon's rules agree");
        assert!(f.submitting);
    }
}
