//! The TUI's whole state and its one pure update function: actions in,
//! commands out. No terminal, no network: tested as action sequences.

use roster_shared::Role;
use roster_shared::api::{
    EditMemberRequest, InviteRequest, LinkResponse, ListMembersQuery, MAX_PAGE, MemberResponse,
    MemberSort,
};

use crate::invite_form::InviteForm;
use crate::screens::{ListView, Screen};

use crate::action::Action;
use crate::strings;

/// Which keys apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    List,
    Search,
    Help,
    Detail,
    Invite,
    /// A yes/no question before something that cannot be undone.
    Confirm,
    /// An import job's rows, errors first.
    Rows,
    /// The workspace switcher.
    Pick,
    /// One line of text: a group name, a token name, an audit filter.
    Prompt,
    /// A secret shown once (a new SCIM token).
    Secret,
}

/// What a one-line prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    NewGroup,
    RenameGroup {
        from: String,
    },
    NewToken,
    /// `actor:NAME source:scim action:member. since:2026-11-01 TEXT`
    AuditFilter,
}

impl PromptKind {
    /// The prompt's question.
    pub fn title(&self) -> String {
        match self {
            PromptKind::NewGroup => "New group name".into(),
            PromptKind::RenameGroup { from } => format!("Rename group \"{from}\" to"),
            PromptKind::NewToken => "Name of the new SCIM token (e.g. okta)".into(),
            PromptKind::AuditFilter => {
                "Filter: member e-mail, or actor:NAME source:scim action:member. since:2026-11-01"
                    .into()
            }
        }
    }
}

/// An action on one member, as the admin API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    Resend,
    ResetLink,
    Archive,
    Unarchive,
    Remove,
}

impl MemberAction {
    /// The path segment after `/members/{email}/` (remove is a DELETE).
    pub fn path(self) -> &'static str {
        match self {
            MemberAction::Resend => "resend",
            MemberAction::ResetLink => "reset-link",
            MemberAction::Archive => "archive",
            MemberAction::Unarchive => "unarchive",
            MemberAction::Remove => "",
        }
    }
}

/// Work for the app loop: requests run in the background and come back as
/// actions, so the UI never waits on the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Load {
        seq: u64,
        query: ListMembersQuery,
        append: bool,
    },
    FetchLink {
        email: String,
    },
    /// Put text on the admin's clipboard through the terminal (OSC 52).
    Copy(String),
    /// Fetch the workspace's custom groups (for the Invite form).
    LoadGroups,
    /// Send an invite.
    Invite(InviteRequest),
    /// Resend, reset, archive, unarchive or remove one member.
    Member {
        email: String,
        action: MemberAction,
    },
    /// Fetch the rows of a screen other than Users.
    LoadScreen {
        seq: u64,
        screen: Screen,
    },
    /// Fetch an import job's report lines, errors first.
    LoadImportRows {
        id: String,
    },
    DeleteGroup {
        name: String,
    },
    RevokeToken {
        name: String,
    },
    RetryMail {
        id: String,
    },
    LoadWorkspaces,
    CreateGroup {
        name: String,
    },
    RenameGroup {
        from: String,
        to: String,
    },
    CreateToken {
        name: String,
    },
    /// Fetch a member (hidden values revealed) and the groups, to edit.
    LoadForEdit {
        email: String,
    },
    /// Save an edit.
    Edit {
        email: String,
        req: EditMemberRequest,
    },
    Quit,
}

/// Status filters, in the order `s` cycles through them.
const STATUSES: [Option<&str>; 5] = [
    None,
    Some("invited"),
    Some("requested"),
    Some("active"),
    Some("archived"),
];
/// Sort orders, in the order `o` cycles through them.
const SORTS: [MemberSort; 3] = [MemberSort::Name, MemberSort::Email, MemberSort::Created];
/// Members fetched per page.
pub const PAGE: usize = 200;
/// Load the next page when the selection is this close to the end.
const PREFETCH: usize = 10;

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct State {
    pub workspace: Option<String>,
    pub mode: Mode,
    pub members: Vec<MemberResponse>,
    pub selected: usize,
    /// First visible row; kept when rows arrive.
    pub offset: usize,
    pub search: String,
    pub status: Option<&'static str>,
    pub role: Option<Role>,
    pub sort: MemberSort,
    pub next_cursor: Option<String>,
    /// How many members the listing has in all, when the daemon knows
    /// (not for a search or a group).
    pub total: Option<u64>,
    /// The request whose answer counts (older answers are dropped).
    pub seq: u64,
    pub loading: bool,
    pub error: Option<String>,
    pub flash: Option<String>,
    pub link: Option<LinkResponse>,
    pub connected: bool,
    /// Invite mail is paused: the mail server is unavailable.
    pub mail_paused: bool,
    /// The Invite form, while it is open.
    pub invite: Option<InviteForm>,
    /// The question being asked and what a yes does.
    pub confirm: Option<(String, Command)>,
    /// Where a confirmation returns to.
    confirm_from: Mode,
    /// The screen shown (number keys switch).
    pub screen: Screen,
    /// The rows of a screen other than Users.
    pub view: ListView,
    /// An import job's file name and report lines.
    pub import_rows: Option<(String, Vec<roster_shared::api::ImportRowResponse>)>,
    /// The workspace switcher's choices and cursor.
    pub workspaces: Vec<String>,
    pub workspace_cursor: usize,
    /// The open one-line prompt and what has been typed.
    pub prompt: Option<(PromptKind, String)>,
    /// A new token's name and secret, shown once.
    pub secret: Option<(String, String)>,
    /// Users of one custom group only (Enter on a group).
    pub group: Option<String>,
    /// The Audit screen's filter, as typed.
    pub audit_filter: String,
    /// A change arrived; reload at the next tick.
    pub dirty: bool,
    /// The member whose row stays selected when the reload lands.
    keep: Option<String>,
    pub rows: u16,
    pub ticks: u64,
}

impl State {
    /// A fresh state; the first load starts with `State::start`.
    pub fn new(workspace: Option<String>, rows: u16) -> Self {
        Self {
            workspace,
            mode: Mode::List,
            members: Vec::new(),
            selected: 0,
            offset: 0,
            search: String::new(),
            status: None,
            role: None,
            sort: MemberSort::Name,
            next_cursor: None,
            total: None,
            seq: 0,
            loading: false,
            error: None,
            flash: None,
            link: None,
            connected: false,
            mail_paused: false,
            invite: None,
            confirm: None,
            confirm_from: Mode::List,
            screen: Screen::Users,
            view: ListView::default(),
            import_rows: None,
            workspaces: Vec::new(),
            workspace_cursor: 0,
            prompt: None,
            secret: None,
            group: None,
            audit_filter: String::new(),
            dirty: false,
            keep: None,
            rows,
            ticks: 0,
        }
    }

    /// The first request.
    pub fn start(&mut self) -> Vec<Command> {
        vec![self.reload()]
    }

    /// The selected member, if any.
    pub fn current(&self) -> Option<&MemberResponse> {
        self.members.get(self.selected)
    }

    /// Rows of the member table that fit on screen.
    pub fn visible_rows(&self) -> usize {
        // A list's notice takes up to three lines above its table.
        let notice = if self.screen != Screen::Users && self.view.notice.is_some() {
            3
        } else {
            0
        };
        usize::from(self.rows.saturating_sub(6 + notice)).max(1)
    }

    /// Applies one action; returns what the app must do.
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        // News of mail delivery counts in every mode (a picker may be open).
        match &action {
            Action::MailPaused(paused) => {
                self.mail_paused = *paused;
                return Vec::new();
            }
            Action::Changed(c) if c.kind == "mail.paused" => self.mail_paused = true,
            Action::Changed(c) if c.kind == "mail.resumed" => self.mail_paused = false,
            _ => {}
        }
        if self.mode == Mode::Pick {
            return self.pick(action);
        }
        if self.mode == Mode::Prompt {
            return self.on_prompt(action);
        }
        if self.screen != Screen::Users
            && self.mode == Mode::List
            && let Some(commands) = self.on_list_screen(&action)
        {
            return commands;
        }
        match action {
            Action::Quit => return vec![Command::Quit],
            Action::Up => self.select(self.selected.saturating_sub(1)),
            Action::Down => return self.select_and_prefetch(self.selected + 1),
            Action::PageUp => self.select(self.selected.saturating_sub(self.visible_rows())),
            Action::PageDown => {
                return self.select_and_prefetch(self.selected + self.visible_rows());
            }
            Action::Top => self.select(0),
            Action::Bottom => {
                return self.select_and_prefetch(self.members.len().saturating_sub(1));
            }
            Action::SearchStart => self.mode = Mode::Search,
            Action::SearchInput(c) => {
                self.search.push(c);
                return self.restart();
            }
            Action::SearchBackspace => {
                self.search.pop();
                return self.restart();
            }
            Action::SearchDone => self.mode = Mode::List,
            Action::Back => return self.back(),
            Action::Open => {
                if self.current().is_some() {
                    self.mode = Mode::Detail;
                }
            }
            Action::ToggleHelp => {
                self.mode = if self.mode == Mode::Help {
                    Mode::List
                } else {
                    Mode::Help
                };
            }
            Action::CycleStatus => {
                self.status = next_in(&STATUSES, &self.status);
                return self.restart();
            }
            Action::CycleRole => {
                let roles: Vec<Option<Role>> = std::iter::once(None)
                    .chain(Role::ALL.into_iter().map(Some))
                    .collect();
                self.role = next_in(&roles, &self.role);
                return self.restart();
            }
            Action::CycleSort => {
                self.sort = next_in(&SORTS, &self.sort);
                return self.restart();
            }
            Action::CopyLink if self.mode == Mode::Secret => {
                if let Some((name, secret)) = &self.secret {
                    self.flash = Some(strings::copied_secret(name));
                    return vec![Command::Copy(secret.clone())];
                }
            }
            Action::CopyLink => {
                if let Some(m) = self.current() {
                    let email = m.email.clone();
                    self.flash = Some(strings::fetching_link(&email));
                    return vec![Command::FetchLink { email }];
                }
            }
            Action::Refresh => return vec![self.refresh()],
            Action::Resize { rows } => {
                self.rows = rows;
                self.keep_in_view();
            }
            Action::Loaded {
                seq,
                append,
                result,
            } => self.loaded(seq, append, result),
            Action::LinkLoaded(Ok(link)) => {
                self.flash = Some(strings::copied(&link.email));
                let url = link.url.clone();
                self.link = Some(link);
                return vec![Command::Copy(url)];
            }
            Action::LinkLoaded(Err(e)) => {
                self.link = None;
                self.flash = Some(e);
            }
            Action::Changed(change) => {
                // Workspace and token changes do not touch the member list.
                if !(change.kind.starts_with("workspace.") || change.kind.starts_with("token.")) {
                    self.dirty = true;
                }
            }
            // Taken above, in every mode.
            Action::MailPaused(_) => {}
            Action::Connection(up) => {
                if up && !self.connected {
                    self.dirty = true;
                }
                self.connected = up;
            }
            Action::Resend => return self.member_action(MemberAction::Resend),
            Action::ResetLink => return self.member_action(MemberAction::ResetLink),
            Action::Remove => return self.member_action(MemberAction::Remove),
            Action::ToggleArchive => {
                let archived = self
                    .current()
                    .is_some_and(|m| m.status == roster_shared::MemberStatus::Archived);
                return self.member_action(if archived {
                    MemberAction::Unarchive
                } else {
                    MemberAction::Archive
                });
            }
            Action::Confirm => {
                self.mode = self.confirm_from;
                if let Some((_, command)) = self.confirm.take() {
                    return vec![command];
                }
            }
            Action::Done(result) => {
                match result {
                    Ok(done) => {
                        self.flash = Some(done);
                        self.error = None;
                    }
                    Err(why) => self.flash = Some(why),
                }
                self.dirty = true;
            }
            Action::Switch(screen) => {
                self.screen = screen;
                self.mode = Mode::List;
                self.view = ListView {
                    headers: screen.headers(),
                    widths: screen.widths(),
                    ..ListView::default()
                };
                self.link = None;
                self.flash = None;
                return vec![self.refresh()];
            }
            Action::ScreenLoaded { seq, result } => {
                if seq == self.seq {
                    self.loading = false;
                    match result {
                        Ok(mut view) => {
                            let keep = self.view.keys.get(self.view.selected).cloned();
                            let at = keep.and_then(|k| view.keys.iter().position(|x| *x == k));
                            view.selected = at
                                .unwrap_or(self.view.selected)
                                .min(view.rows.len().saturating_sub(1));
                            view.offset = self.view.offset;
                            if self.screen == Screen::Mail {
                                // The Mail screen's notice is the daemon's latest word.
                                self.mail_paused = view.notice.is_some();
                            }
                            self.view = view;
                            self.error = None;
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
            }
            Action::ImportRowsLoaded(Ok(rows)) => {
                self.import_rows = Some(rows);
                self.mode = Mode::Rows;
            }
            Action::ImportRowsLoaded(Err(e)) | Action::WorkspacesLoaded(Err(e)) => {
                self.flash = Some(e);
            }
            Action::PickWorkspace => return vec![Command::LoadWorkspaces],
            Action::WorkspacesLoaded(Ok(slugs)) => {
                let current = self.workspace.clone();
                self.show_workspaces(slugs, current);
            }
            Action::Retry => {}
            Action::OpenInvite => {
                self.invite = Some(InviteForm::new());
                self.mode = Mode::Invite;
                return vec![Command::LoadGroups];
            }
            Action::FormNext | Action::FormPrev => {
                if let Some(f) = &mut self.invite {
                    f.step(matches!(action, Action::FormNext));
                }
            }
            Action::FormInput(c) => {
                if let Some(f) = &mut self.invite {
                    f.input(c);
                }
            }
            Action::FormBackspace => {
                if let Some(f) = &mut self.invite {
                    f.backspace();
                }
            }
            Action::FormDown | Action::FormUp => {
                if let Some(f) = &mut self.invite {
                    if matches!(action, Action::FormDown) {
                        f.down();
                    } else {
                        f.up();
                    }
                }
            }
            Action::FormToggleHidden => {
                if let Some(f) = &mut self.invite {
                    f.toggle_hidden();
                }
            }
            Action::FormLeft | Action::FormRight => {
                if let Some(f) = &mut self.invite {
                    f.sideways(matches!(action, Action::FormRight));
                }
            }
            Action::Submit => {
                if let Some(f) = &mut self.invite
                    && !f.submitting
                {
                    let sent = if f.editing.is_some() {
                        f.submit_edit()
                            .map(|(email, req)| Command::Edit { email, req })
                    } else {
                        f.submit().map(Command::Invite)
                    };
                    match sent {
                        Ok(command) => return vec![command],
                        Err(problem) => f.refused = Some(problem),
                    }
                }
            }
            Action::Edit => {
                if let Some(m) = self.current() {
                    return vec![Command::LoadForEdit {
                        email: m.email.clone(),
                    }];
                }
            }
            Action::EditLoaded(Ok((member, groups))) => {
                self.invite = Some(InviteForm::for_edit(&member, groups));
                self.mode = Mode::Invite;
            }
            Action::EditLoaded(Err(e)) => self.flash = Some(e),
            Action::New => {}
            Action::TokenCreated(Ok(secret)) => {
                self.secret = Some(secret);
                self.mode = Mode::Secret;
                self.dirty = true;
            }
            Action::TokenCreated(Err(e)) => self.flash = Some(e),
            Action::GroupsLoaded(Ok(names)) => {
                if let Some(f) = &mut self.invite {
                    f.groups = names.into_iter().map(|g| (g, false)).collect();
                }
            }
            Action::GroupsLoaded(Err(e)) => {
                if let Some(f) = &mut self.invite {
                    f.refused = Some(e);
                }
            }
            Action::InviteDone(Ok(member)) => {
                let edited = self.invite.as_ref().is_some_and(|f| f.editing.is_some());
                self.invite = None;
                self.mode = Mode::List;
                self.flash = Some(if edited {
                    strings::saved(&member.email)
                } else {
                    strings::invited(&member.email)
                });
                self.dirty = true;
            }
            Action::InviteDone(Err(e)) => {
                if let Some(f) = &mut self.invite {
                    f.submitting = false;
                    f.refused = Some(e);
                }
            }
            Action::Tick => {
                self.ticks = self.ticks.wrapping_add(1);
                if self.dirty && !self.loading {
                    self.dirty = false;
                    return vec![self.refresh()];
                }
            }
        }
        Vec::new()
    }

    fn back(&mut self) -> Vec<Command> {
        match self.mode {
            Mode::Help | Mode::Detail => {
                self.mode = Mode::List;
                Vec::new()
            }
            Mode::Invite => {
                self.invite = None;
                self.mode = Mode::List;
                Vec::new()
            }
            Mode::Confirm => {
                self.confirm = None;
                self.mode = self.confirm_from;
                Vec::new()
            }
            Mode::Rows | Mode::Pick | Mode::Prompt | Mode::Secret => {
                self.import_rows = None;
                self.prompt = None;
                self.secret = None;
                self.mode = Mode::List;
                Vec::new()
            }
            Mode::Search => {
                self.mode = Mode::List;
                self.search.clear();
                self.restart()
            }
            Mode::List => {
                self.link = None;
                self.flash = None;
                if self.search.is_empty()
                    && self.status.is_none()
                    && self.role.is_none()
                    && self.group.is_none()
                {
                    return Vec::new();
                }
                self.search.clear();
                self.status = None;
                self.role = None;
                self.group = None;
                self.restart()
            }
        }
    }

    /// A fresh load of what the current screen shows.
    fn refresh(&mut self) -> Command {
        match self.screen {
            Screen::Users => self.reload(),
            screen => {
                self.seq += 1;
                self.loading = true;
                Command::LoadScreen {
                    seq: self.seq,
                    screen,
                }
            }
        }
    }

    /// Keys on the Groups, Imports, Mail, Audit and Tokens lists; `None`
    /// leaves the action to the common handling (quit, help, switch…).
    fn on_list_screen(&mut self, action: &Action) -> Option<Vec<Command>> {
        let rows = self.view.rows.len();
        let page = self.visible_rows();
        let v = &mut self.view;
        let to = match action {
            Action::Up => v.selected.saturating_sub(1),
            Action::Down => v.selected + 1,
            Action::PageUp => v.selected.saturating_sub(page),
            Action::PageDown => v.selected + page,
            Action::Top => 0,
            Action::Bottom => rows.saturating_sub(1),
            Action::Open if self.screen == Screen::Groups => {
                let name = v.keys.get(v.selected).cloned()?;
                self.screen = Screen::Users;
                self.group = Some(name);
                self.search.clear();
                return Some(self.restart());
            }
            Action::New if matches!(self.screen, Screen::Groups | Screen::Tokens) => {
                let kind = if self.screen == Screen::Groups {
                    PromptKind::NewGroup
                } else {
                    PromptKind::NewToken
                };
                self.prompt = Some((kind, String::new()));
                self.mode = Mode::Prompt;
                return Some(Vec::new());
            }
            Action::CycleRole if self.screen == Screen::Groups => {
                let from = v.keys.get(v.selected).cloned()?;
                self.prompt = Some((PromptKind::RenameGroup { from: from.clone() }, from));
                self.mode = Mode::Prompt;
                return Some(Vec::new());
            }
            Action::SearchStart if self.screen == Screen::Audit => {
                self.prompt = Some((PromptKind::AuditFilter, self.audit_filter.clone()));
                self.mode = Mode::Prompt;
                return Some(Vec::new());
            }
            Action::Back if self.screen == Screen::Audit && !self.audit_filter.is_empty() => {
                self.audit_filter.clear();
                return Some(vec![self.refresh()]);
            }
            Action::Open if self.screen == Screen::Imports => {
                return Some(
                    v.keys
                        .get(v.selected)
                        .map(|id| vec![Command::LoadImportRows { id: id.clone() }])
                        .unwrap_or_default(),
                );
            }
            Action::Remove => {
                let key = v.keys.get(v.selected).cloned()?;
                let (question, command) = match self.screen {
                    Screen::Groups => (
                        strings::confirm_delete_group(&key),
                        Command::DeleteGroup { name: key },
                    ),
                    Screen::Tokens => (
                        strings::confirm_revoke(&key),
                        Command::RevokeToken { name: key },
                    ),
                    _ => return Some(Vec::new()),
                };
                self.confirm = Some((question, command));
                self.confirm_from = Mode::List;
                self.mode = Mode::Confirm;
                return Some(Vec::new());
            }
            Action::Retry if self.screen == Screen::Mail => {
                return Some(
                    v.keys
                        .get(v.selected)
                        .map(|id| vec![Command::RetryMail { id: id.clone() }])
                        .unwrap_or_default(),
                );
            }
            Action::SearchStart
            | Action::Open
            | Action::CopyLink
            | Action::Resend
            | Action::ResetLink
            | Action::ToggleArchive
            | Action::CycleStatus
            | Action::CycleRole
            | Action::CycleSort
            | Action::OpenInvite
            | Action::Edit
            | Action::New
            | Action::Retry => return Some(Vec::new()),
            _ => return None,
        };
        v.selected = to.min(rows.saturating_sub(1));
        if v.selected < v.offset {
            v.offset = v.selected;
        } else if v.selected >= v.offset + page {
            v.offset = v.selected + 1 - page;
        }
        Some(Vec::new())
    }

    /// Keys of a one-line prompt.
    fn on_prompt(&mut self, action: Action) -> Vec<Command> {
        let Some((kind, text)) = &mut self.prompt else {
            self.mode = Mode::List;
            return Vec::new();
        };
        match action {
            Action::FormInput(c) => text.push(c),
            Action::FormBackspace => {
                text.pop();
            }
            Action::Back => return self.back(),
            Action::Quit => return vec![Command::Quit],
            Action::Submit => {
                let (kind, text) = (kind.clone(), text.trim().to_string());
                self.prompt = None;
                self.mode = Mode::List;
                return match kind {
                    PromptKind::NewGroup => vec![Command::CreateGroup { name: text }],
                    PromptKind::RenameGroup { from } => {
                        vec![Command::RenameGroup { from, to: text }]
                    }
                    PromptKind::NewToken => vec![Command::CreateToken { name: text }],
                    PromptKind::AuditFilter => {
                        self.audit_filter = text;
                        vec![self.refresh()]
                    }
                };
            }
            other if other.is_background() => {
                let out = self.in_background(other);
                if self.prompt.is_some() {
                    self.mode = Mode::Prompt;
                }
                return out;
            }
            _ => {}
        }
        Vec::new()
    }

    /// Answers, change news and ticks that arrive while a prompt or the
    /// workspace switcher is open: applied as the list would apply them,
    /// then the caller puts its mode back.
    fn in_background(&mut self, action: Action) -> Vec<Command> {
        self.mode = Mode::List;
        self.update(action)
    }

    /// Opens the workspace switcher on `slugs`, the cursor on `at` (or the
    /// first).
    fn show_workspaces(&mut self, slugs: Vec<String>, at: Option<String>) {
        self.workspace_cursor = at
            .and_then(|c| slugs.iter().position(|s| *s == c))
            .unwrap_or(0);
        self.workspaces = slugs;
        self.mode = Mode::Pick;
    }

    /// Keys of the workspace switcher. A workspace created meanwhile (here
    /// or by another admin) reloads its list, the cursor staying put.
    fn pick(&mut self, action: Action) -> Vec<Command> {
        let n = self.workspaces.len();
        match action {
            Action::WorkspacesLoaded(Ok(slugs)) => {
                let under_cursor = self.workspaces.get(self.workspace_cursor).cloned();
                self.show_workspaces(slugs, under_cursor);
            }
            Action::Changed(ref change) if change.kind == roster_shared::api::WORKSPACE_CREATED => {
                let mut out = self.in_background(action);
                self.mode = Mode::Pick;
                out.push(Command::LoadWorkspaces);
                return out;
            }
            Action::Up => self.workspace_cursor = self.workspace_cursor.saturating_sub(1),
            Action::Down => {
                self.workspace_cursor = (self.workspace_cursor + 1).min(n.saturating_sub(1))
            }
            Action::Open => {
                self.mode = Mode::List;
                if let Some(slug) = self.workspaces.get(self.workspace_cursor) {
                    self.workspace = Some(slug.clone());
                    self.members.clear();
                    self.view = ListView::default();
                    self.selected = 0;
                    self.offset = 0;
                    return vec![self.refresh()];
                }
            }
            Action::Back => self.mode = Mode::List,
            Action::Quit => return vec![Command::Quit],
            other if other.is_background() => {
                let out = self.in_background(other);
                if self.mode == Mode::List {
                    self.mode = Mode::Pick;
                }
                return out;
            }
            _ => {}
        }
        Vec::new()
    }

    /// Runs an action on the selected member; the ones that cannot be
    /// undone ask first.
    fn member_action(&mut self, action: MemberAction) -> Vec<Command> {
        let Some(m) = self.current() else {
            return Vec::new();
        };
        let command = Command::Member {
            email: m.email.clone(),
            action,
        };
        let question = match action {
            MemberAction::Resend | MemberAction::Unarchive => return vec![command],
            MemberAction::ResetLink => strings::confirm_reset(&m.email),
            MemberAction::Archive => strings::confirm_archive(&m.email),
            MemberAction::Remove => strings::confirm_remove(&m.email),
        };
        self.confirm = Some((question, command));
        self.confirm_from = self.mode;
        self.mode = Mode::Confirm;
        Vec::new()
    }

    fn select(&mut self, i: usize) {
        self.selected = i.min(self.members.len().saturating_sub(1));
        self.keep_in_view();
    }

    fn select_and_prefetch(&mut self, i: usize) -> Vec<Command> {
        self.select(i);
        match &self.next_cursor {
            Some(cursor) if !self.loading && self.selected + PREFETCH >= self.members.len() => {
                let mut query = self.query(PAGE);
                query.cursor = Some(cursor.clone());
                self.seq += 1;
                self.loading = true;
                vec![Command::Load {
                    seq: self.seq,
                    query,
                    append: true,
                }]
            }
            _ => Vec::new(),
        }
    }

    fn keep_in_view(&mut self) {
        let rows = self.visible_rows();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
    }

    /// A new search or filter: back to the top.
    fn restart(&mut self) -> Vec<Command> {
        self.selected = 0;
        self.offset = 0;
        let load = self.reload();
        self.keep = None;
        vec![load]
    }

    /// Reloads what is on screen (as many rows as are loaded, at least a page).
    fn reload(&mut self) -> Command {
        self.keep = self.current().map(|m| m.id.clone());
        self.seq += 1;
        self.loading = true;
        Command::Load {
            seq: self.seq,
            query: self.query(self.members.len().clamp(PAGE, MAX_PAGE)),
            append: false,
        }
    }

    fn query(&self, limit: usize) -> ListMembersQuery {
        ListMembersQuery {
            workspace: self.workspace.clone(),
            q: (!self.search.trim().is_empty()).then(|| self.search.trim().to_string()),
            status: self.status.map(str::to_string),
            role: self.role.map(|r| r.as_str().to_string()),
            group: self.group.clone(),
            sort: Some(self.sort),
            limit: Some(limit),
            ..ListMembersQuery::default()
        }
    }

    fn loaded(
        &mut self,
        seq: u64,
        append: bool,
        result: Result<roster_shared::api::Page<MemberResponse>, String>,
    ) {
        if seq != self.seq {
            return;
        }
        self.loading = false;
        match result {
            Ok(page) => {
                self.error = None;
                self.next_cursor = page.next_cursor;
                self.total = page.total;
                if append {
                    self.members.extend(page.items);
                    return;
                }
                self.members = page.items;
                let keep = self.keep.take();
                if let Some(i) = keep.and_then(|id| self.members.iter().position(|m| m.id == id)) {
                    self.selected = i;
                }
                self.select(self.selected);
            }
            Err(e) => self.error = Some(e),
        }
    }
}

/// The element after `current` in `all`, wrapping.
fn next_in<T: PartialEq + Clone>(all: &[T], current: &T) -> T {
    let i = all.iter().position(|x| x == current).unwrap_or(0);
    all[(i + 1) % all.len()].clone()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use roster_shared::MemberStatus;
    use roster_shared::api::{Page, Source};
    use time::macros::datetime;

    /// A member with fixed times, for tests and snapshots.
    pub fn member(i: usize) -> MemberResponse {
        MemberResponse {
            id: format!("id-{i}"),
            email: format!("person{i}@example.com"),
            name: format!("Person {i}"),
            role: Role::ALL[i % 3],
            groups: if i.is_multiple_of(2) {
                vec!["Eng".into()]
            } else {
                vec![]
            },
            metadata: Default::default(),
            hidden_keys: vec![],
            status: if i.is_multiple_of(4) {
                MemberStatus::Active
            } else {
                MemberStatus::Invited
            },
            external_id: None,
            source: Source::Cli,
            invited_by: "admin".into(),
            invited_at: datetime!(2026-11-01 09:00 UTC),
            activated_at: None,
            archived_at: None,
            last_invite_sent_at: Some(datetime!(2026-11-02 10:30 UTC)),
            invite_expires_at: None,
            updated_at: datetime!(2026-11-02 10:30 UTC),
        }
    }

    pub fn page(range: std::ops::Range<usize>, more: bool) -> Result<Page<MemberResponse>, String> {
        Ok(Page {
            items: range.map(member).collect(),
            next_cursor: more.then(|| "next".to_string()),
            // A long listing as the daemon describes an unfiltered one.
            total: more.then_some(1_234_567),
        })
    }

    /// A state whose first page has arrived.
    fn started_with(first: Result<Page<MemberResponse>, String>) -> State {
        let mut s = State::new(None, 24);
        let (seq, _) = load_seq(&s.start());
        s.update(Action::Loaded {
            seq,
            append: false,
            result: first,
        });
        s
    }

    fn load_seq(cmds: &[Command]) -> (u64, ListMembersQuery) {
        match cmds {
            [Command::Load { seq, query, .. }] => (*seq, query.clone()),
            other => panic!("expected one load, got {other:?}"),
        }
    }

    #[test]
    fn typing_a_search_reloads_from_the_daemon_and_stale_answers_are_dropped() {
        let mut s = State::new(None, 24);
        let (first, _) = load_seq(&s.start());
        s.update(Action::SearchStart);
        assert_eq!(s.mode, Mode::Search);
        let (a, _) = load_seq(&s.update(Action::SearchInput('a')));
        let (b, q) = load_seq(&s.update(Action::SearchInput('d')));
        assert_eq!(q.q.as_deref(), Some("ad"));
        assert!(first < a && a < b);
        s.update(Action::Loaded {
            seq: a,
            append: false,
            result: page(0..50, false),
        });
        assert!(s.members.is_empty(), "an older answer is dropped");
        s.update(Action::Loaded {
            seq: b,
            append: false,
            result: page(0..3, false),
        });
        assert_eq!(s.members.len(), 3);
        s.update(Action::SearchDone);
        assert_eq!(s.mode, Mode::List);
        s.update(Action::Down);
        let cmds = s.update(Action::Back);
        let (seq, q) = load_seq(&cmds);
        assert_eq!(q.q, None, "Esc clears the search");
        s.update(Action::Loaded {
            seq,
            append: false,
            result: page(0..10, false),
        });
        assert_eq!(s.selected, 0, "a new search starts at the top");
    }

    #[test]
    fn moving_near_the_end_fetches_the_next_page_once() {
        let mut s = started_with(page(0..20, true));
        assert!(s.update(Action::Down).is_empty());
        let cmds = s.update(Action::Bottom);
        let (next, q) = load_seq(&cmds);
        assert_eq!(q.cursor.as_deref(), Some("next"));
        assert!(s.update(Action::Up).is_empty());
        assert!(
            s.update(Action::Down).is_empty(),
            "one page in flight at a time"
        );
        s.update(Action::Loaded {
            seq: next,
            append: true,
            result: page(20..30, false),
        });
        assert_eq!(s.members.len(), 30);
        assert_eq!(s.selected, 19);
    }

    #[test]
    fn live_changes_reload_at_the_next_tick_and_keep_the_selection() {
        let mut s = started_with(page(0..10, false));
        s.update(Action::Down);
        s.update(Action::Down);
        assert_eq!(s.current().map(|m| m.id.as_str()), Some("id-2"));
        s.update(Action::Changed(roster_shared::api::ChangeEvent {
            workspace: "default".into(),
            kind: "member.invited".into(),
            target: "new@example.com".into(),
        }));
        let (seq, _) = load_seq(&s.update(Action::Tick));
        // A new member sorts first: the selection follows its member.
        let mut items: Vec<_> = (0..10).map(member).collect();
        items.insert(0, member(99));
        s.update(Action::Loaded {
            seq,
            append: false,
            result: Ok(Page {
                items,
                next_cursor: None,
                total: None,
            }),
        });
        assert_eq!(s.current().map(|m| m.id.as_str()), Some("id-2"));
        assert!(s.update(Action::Tick).is_empty(), "nothing more to reload");
    }

    #[test]
    fn copy_link_fetches_then_copies_and_shows_the_link() {
        let mut s = started_with(page(0..2, false));
        let cmds = s.update(Action::CopyLink);
        assert_eq!(
            cmds,
            vec![Command::FetchLink {
                email: "person0@example.com".into()
            }]
        );
        let link = LinkResponse {
            email: "person0@example.com".into(),
            url: "http://h/invite/t0k".into(),
            expires_at: datetime!(2026-12-01 00:00 UTC),
        };
        let cmds = s.update(Action::LinkLoaded(Ok(link)));
        assert_eq!(cmds, vec![Command::Copy("http://h/invite/t0k".into())]);
        assert_eq!(
            s.link.as_ref().map(|l| l.url.as_str()),
            Some("http://h/invite/t0k")
        );
        s.update(Action::LinkLoaded(Err(
            "cannot show an invite link: active".into(),
        )));
        assert_eq!(s.link, None);
        assert_eq!(
            s.flash.as_deref(),
            Some("cannot show an invite link: active")
        );
    }

    #[test]
    fn the_invite_form_sends_once_shows_refusals_and_closes_on_success() {
        let mut s = State::new(None, 24);
        s.start();
        assert_eq!(s.update(Action::OpenInvite), vec![Command::LoadGroups]);
        assert_eq!(s.mode, Mode::Invite);
        s.update(Action::GroupsLoaded(Ok(vec!["Eng".into()])));
        "Ada".chars().for_each(|c| {
            s.update(Action::FormInput(c));
        });
        s.update(Action::FormNext);
        "ada@example.com".chars().for_each(|c| {
            s.update(Action::FormInput(c));
        });
        s.update(Action::FormNext);
        s.update(Action::FormRight);
        s.update(Action::FormNext);
        s.update(Action::FormInput(' '));
        let cmds = s.update(Action::Submit);
        let [Command::Invite(req)] = cmds.as_slice() else {
            panic!("expected an invite, got {cmds:?}");
        };
        assert_eq!(
            (req.role.as_str(), req.groups.clone()),
            ("admin", vec!["Eng".to_string()])
        );
        assert!(s.update(Action::Submit).is_empty(), "one request at a time");
        s.update(Action::InviteDone(Err(
            "ada@example.com is already a member".into(),
        )));
        let form = s.invite.as_ref().expect("form stays open");
        assert_eq!(
            form.refused.as_deref(),
            Some("ada@example.com is already a member")
        );
        s.update(Action::Submit);
        s.update(Action::InviteDone(Ok(Box::new(member(7)))));
        assert_eq!(s.mode, Mode::List);
        assert!(s.invite.is_none());
        assert!(s.dirty, "the list reloads");
        s.update(Action::OpenInvite);
        s.update(Action::Back);
        assert_eq!(
            (s.mode, s.invite.is_none()),
            (Mode::List, true),
            "Esc cancels"
        );
    }

    #[test]
    fn actions_that_cannot_be_undone_ask_first() {
        let mut s = started_with(page(0..3, false));
        let resend = s.update(Action::Resend);
        assert_eq!(
            resend,
            vec![Command::Member {
                email: "person0@example.com".into(),
                action: MemberAction::Resend
            }]
        );
        assert!(s.update(Action::Remove).is_empty(), "remove asks first");
        assert_eq!(s.mode, Mode::Confirm);
        assert!(
            s.confirm
                .as_ref()
                .is_some_and(|(q, _)| q.contains("person0@example.com"))
        );
        assert!(s.update(Action::Back).is_empty(), "n cancels");
        assert_eq!((s.mode, s.confirm.is_none()), (Mode::List, true));
        s.update(Action::ToggleArchive);
        let archive = s.update(Action::Confirm);
        assert_eq!(
            archive,
            vec![Command::Member {
                email: "person0@example.com".into(),
                action: MemberAction::Archive
            }]
        );
        s.update(Action::Done(Ok("archived person0@example.com".into())));
        assert!(s.dirty);
        assert_eq!(s.flash.as_deref(), Some("archived person0@example.com"));
    }

    #[test]
    fn other_screens_load_move_and_ask_before_deleting() {
        let mut s = State::new(None, 24);
        s.start();
        let cmds = s.update(Action::Switch(Screen::Groups));
        let [
            Command::LoadScreen {
                seq,
                screen: Screen::Groups,
            },
        ] = cmds.as_slice()
        else {
            panic!("{cmds:?}");
        };
        let view = ListView {
            headers: vec!["GROUP"],
            rows: vec![vec!["Eng".into()], vec!["Ops".into()]],
            keys: vec!["Eng".into(), "Ops".into()],
            failed: vec![false, false],
            ..ListView::default()
        };
        s.update(Action::ScreenLoaded {
            seq: *seq,
            result: Ok(view),
        });
        s.update(Action::Down);
        assert_eq!(s.view.selected, 1);
        assert!(s.update(Action::Remove).is_empty());
        assert_eq!(s.mode, Mode::Confirm);
        assert_eq!(
            s.update(Action::Confirm),
            vec![Command::DeleteGroup { name: "Ops".into() }]
        );
        assert!(
            s.update(Action::CopyLink).is_empty(),
            "member keys do nothing here"
        );
        let cmds = s.update(Action::Switch(Screen::Users));
        assert!(matches!(cmds.as_slice(), [Command::Load { .. }]));
    }

    #[test]
    fn the_workspace_switcher_reloads_in_the_chosen_workspace() {
        let mut s = State::new(None, 24);
        s.start();
        assert_eq!(
            s.update(Action::PickWorkspace),
            vec![Command::LoadWorkspaces]
        );
        s.update(Action::WorkspacesLoaded(Ok(vec![
            "default".into(),
            "sales".into(),
        ])));
        assert_eq!(s.mode, Mode::Pick);
        s.update(Action::Down);
        let (_, q) = load_seq(&s.update(Action::Open));
        assert_eq!(q.workspace.as_deref(), Some("sales"));
        assert_eq!(s.mode, Mode::List);
    }

    #[test]
    fn a_workspace_created_while_the_switcher_is_open_joins_its_list() {
        let mut s = started_with(page(0..3, false));
        s.update(Action::PickWorkspace);
        s.update(Action::WorkspacesLoaded(Ok(vec![
            "default".into(),
            "sales".into(),
        ])));
        s.update(Action::Down);
        let cmds = s.update(Action::Changed(roster_shared::api::ChangeEvent {
            workspace: "apac".into(),
            kind: "workspace.created".into(),
            target: "apac".into(),
        }));
        assert_eq!(cmds, vec![Command::LoadWorkspaces]);
        assert_eq!(s.mode, Mode::Pick, "the switcher stays open");
        s.update(Action::WorkspacesLoaded(Ok(vec![
            "apac".into(),
            "default".into(),
            "sales".into(),
        ])));
        assert_eq!(s.workspaces, ["apac", "default", "sales"]);
        assert_eq!(
            s.workspaces[s.workspace_cursor], "sales",
            "the cursor stays on the workspace it was on"
        );
        let (_, q) = load_seq(&s.update(Action::Open));
        assert_eq!(q.workspace.as_deref(), Some("sales"));
    }

    #[test]
    fn news_that_arrives_while_the_switcher_is_open_is_not_lost() {
        let mut s = started_with(page(0..3, false));
        s.update(Action::PickWorkspace);
        s.update(Action::WorkspacesLoaded(Ok(vec!["default".into()])));
        assert_eq!(s.mode, Mode::Pick);
        s.update(Action::Changed(roster_shared::api::ChangeEvent {
            workspace: "default".into(),
            kind: "member.invited".into(),
            target: "new@example.com".into(),
        }));
        s.update(Action::Connection(false));
        assert!(!s.connected, "the lost connection shows at once");
        let cmds = s.update(Action::Tick);
        assert!(
            matches!(cmds.as_slice(), [Command::Load { .. }]),
            "the change reloads the list behind the switcher: {cmds:?}"
        );
        assert_eq!(s.mode, Mode::Pick, "the switcher stays open");
    }

    #[test]
    fn prompts_create_and_rename_groups_and_filter_the_audit_log() {
        let mut s = State::new(None, 24);
        s.start();
        s.update(Action::Switch(Screen::Groups));
        let seq = s.seq;
        let view = ListView {
            headers: vec!["GROUP"],
            rows: vec![vec!["Eng".into()]],
            keys: vec!["Eng".into()],
            failed: vec![false],
            ..ListView::default()
        };
        s.update(Action::ScreenLoaded {
            seq,
            result: Ok(view),
        });
        s.update(Action::New);
        assert_eq!(s.mode, Mode::Prompt);
        "Ops".chars().for_each(|c| {
            s.update(Action::FormInput(c));
        });
        s.update(Action::Tick);
        assert_eq!(s.mode, Mode::Prompt, "a tick keeps the prompt open");
        assert_eq!(
            s.update(Action::Submit),
            vec![Command::CreateGroup { name: "Ops".into() }]
        );
        s.update(Action::CycleRole);
        s.update(Action::FormBackspace);
        s.update(Action::FormBackspace);
        s.update(Action::FormBackspace);
        "Core".chars().for_each(|c| {
            s.update(Action::FormInput(c));
        });
        assert_eq!(
            s.update(Action::Submit),
            vec![Command::RenameGroup {
                from: "Eng".into(),
                to: "Core".into()
            }]
        );
        let cmds = s.update(Action::Open);
        let (_, q) = load_seq(&cmds);
        assert_eq!(
            (s.screen, q.group.as_deref()),
            (Screen::Users, Some("Eng")),
            "Enter lists the group's members"
        );
        s.update(Action::Switch(Screen::Audit));
        s.update(Action::SearchStart);
        "actor:okta".chars().for_each(|c| {
            s.update(Action::FormInput(c));
        });
        let cmds = s.update(Action::Submit);
        assert!(matches!(
            cmds.as_slice(),
            [Command::LoadScreen {
                screen: Screen::Audit,
                ..
            }]
        ));
        assert_eq!(s.audit_filter, "actor:okta");
    }

    #[test]
    fn filters_cycle_and_help_toggles() {
        let mut s = State::new(None, 24);
        s.start();
        let (_, q) = load_seq(&s.update(Action::CycleStatus));
        assert_eq!(q.status.as_deref(), Some("invited"));
        let (_, q) = load_seq(&s.update(Action::CycleRole));
        assert_eq!(q.role.as_deref(), Some("admin"));
        let (_, q) = load_seq(&s.update(Action::CycleSort));
        assert_eq!(q.sort, Some(MemberSort::Email));
        s.update(Action::ToggleHelp);
        assert_eq!(s.mode, Mode::Help);
        s.update(Action::Back);
        assert_eq!(s.mode, Mode::List);
        assert_eq!(s.update(Action::Quit), vec![Command::Quit]);
    }
}
