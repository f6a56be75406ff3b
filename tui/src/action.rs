//! What a key press or a daemon answer asks the state to do. Keys become
//! actions in [`crate::keymap`]; [`crate::state::State::update`] applies them.

use roster_shared::api::{ChangeEvent, ImportRowResponse, LinkResponse, MemberResponse, Page};

use crate::screens::{ListView, Screen};

/// One thing that happened, from the admin or from the daemon.
#[derive(Debug, Clone)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Start typing a search.
    SearchStart,
    /// A character typed into the search.
    SearchInput(char),
    SearchBackspace,
    /// Keep the search and go back to the list.
    SearchDone,
    /// Esc: close what is open, or clear the search.
    Back,
    /// Enter on the list: show the selected member.
    Open,
    ToggleHelp,
    CycleStatus,
    CycleRole,
    CycleSort,
    /// Copy the selected member's invite link (OSC 52) and show it.
    CopyLink,
    Refresh,
    /// The terminal's size changed (rows matter for paging).
    Resize {
        rows: u16,
    },
    /// A page of members arrived for request `seq`.
    Loaded {
        seq: u64,
        append: bool,
        result: Result<Page<MemberResponse>, String>,
    },
    /// The selected member's link arrived.
    LinkLoaded(Result<LinkResponse, String>),
    /// The daemon announced a change.
    Changed(ChangeEvent),
    /// The event stream connected or dropped.
    Connection(bool),
    /// Whether invite mail is paused (the mail server is unavailable).
    MailPaused(bool),
    /// Time passed (spinners, debounced reloads).
    Tick,
    /// `i`: open the Invite form.
    OpenInvite,
    FormNext,
    FormPrev,
    FormInput(char),
    FormBackspace,
    FormLeft,
    FormRight,
    /// ↓/↑ in the form: metadata rows inside the editor, else fields.
    FormDown,
    FormUp,
    /// Ctrl-T: hide or show the metadata row's value.
    FormToggleHidden,
    /// Enter in the form: check it and send it.
    Submit,
    /// The workspace's custom groups arrived (for the form).
    GroupsLoaded(Result<Vec<String>, String>),
    /// `R`: send the selected member's invite again.
    Resend,
    /// `L`: revoke the link and issue a new one (asks first).
    ResetLink,
    /// `a`: archive (asks first) or unarchive the selected member.
    ToggleArchive,
    /// `x`: remove the selected member (asks first).
    Remove,
    /// `y`/Enter in a confirmation: do it.
    Confirm,
    /// An action finished: what to tell the admin, or why not.
    Done(Result<String, String>),
    /// `1`…`6`: another screen.
    Switch(Screen),
    /// A screen's rows arrived for request `seq`.
    ScreenLoaded {
        seq: u64,
        result: Result<ListView, String>,
    },
    /// `t` on the Mail screen: send the selected message again.
    Retry,
    /// An import job's rows (errors first) arrived: its file name and rows.
    ImportRowsLoaded(Result<(String, Vec<ImportRowResponse>), String>),
    /// `w`: choose another workspace.
    PickWorkspace,
    /// The workspaces to choose from arrived.
    WorkspacesLoaded(Result<Vec<String>, String>),
    /// `n`: create (a group on Groups, a SCIM token on Tokens).
    New,
    /// A SCIM token was created: its name and secret, shown once.
    TokenCreated(Result<(String, String), String>),
    /// `e`: edit the selected member.
    Edit,
    /// The member to edit (hidden values revealed) and the groups arrived.
    EditLoaded(Result<(Box<MemberResponse>, Vec<String>), String>),
    /// The daemon answered the invite.
    InviteDone(Result<Box<MemberResponse>, String>),
}

impl Action {
    /// Answers, change news and ticks: they come from the daemon or the
    /// clock, not from a key, so they apply whatever the admin has open.
    pub fn is_background(&self) -> bool {
        matches!(
            self,
            Action::Loaded { .. }
                | Action::ScreenLoaded { .. }
                | Action::Done(_)
                | Action::Changed(_)
                | Action::Connection(_)
                | Action::Tick
                | Action::Resize { .. }
        )
    }
}
