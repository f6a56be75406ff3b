//! Admin-API requests and responses (`/api/v1`), as both sides see them.
//!
//! Requests carry raw text so that the daemon can refuse bad input with the
//! shared [`ValidationError`] sentences instead of a deserialiser's message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Email, MemberStatus, Metadata, Role, ValidationError, names};

/// Where a change came from, recorded on memberships and audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Tui,
    #[default]
    Cli,
    Scim,
    Csv,
    Api,
    Invite,
    System,
}

impl Source {
    /// Lowercase spelling for tables and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Tui => "tui",
            Source::Cli => "cli",
            Source::Scim => "scim",
            Source::Csv => "csv",
            Source::Api => "api",
            Source::Invite => "invite",
            Source::System => "system",
        }
    }

    /// Every source, for filters and their error messages.
    pub const ALL: [Source; 7] = [
        Source::Tui,
        Source::Cli,
        Source::Scim,
        Source::Csv,
        Source::Api,
        Source::Invite,
        Source::System,
    ];

    /// Parses any source name (audit filters).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw))
    }

    /// Parses what a client may claim in `X-Roster-Source`: the daemon's own
    /// sources (`invite`, `system`) cannot be claimed.
    pub fn parse_client(raw: &str) -> Option<Self> {
        Self::parse(raw).filter(|s| !matches!(s, Source::Invite | Source::System))
    }
}

/// Header that tells the daemon which client made a request.
pub const SOURCE_HEADER: &str = "x-roster-source";
/// Header that names the person behind a socket request (for the audit log).
pub const ACTOR_HEADER: &str = "x-roster-actor";

/// The error body of every failed admin-API request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code (`not_found`, `conflict`, `invalid`, …).
    pub code: String,
    /// One sentence for a person.
    pub message: String,
}

/// `POST /api/v1/members`: invite someone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub name: String,
    pub email: String,
    pub role: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// A JSON object of string values; `null` or absent for none. A key
    /// given twice is refused (see [`crate::strict_json`]).
    #[serde(default, deserialize_with = "crate::strict_json::optional_value")]
    pub metadata: Option<serde_json::Value>,
    /// Metadata keys whose values are write-only.
    #[serde(default)]
    pub hidden_keys: Vec<String>,
}

/// An invite that passed every rule that needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInvite {
    pub name: String,
    pub email: Email,
    pub role: Role,
    pub groups: Vec<String>,
    pub metadata: Metadata,
}

impl InviteRequest {
    /// Applies every stateless rule; the one place CLI, TUI, SCIM and CSV
    /// invites are checked.
    pub fn validate(&self) -> Result<ValidInvite, ValidationError> {
        let name = names::person_name(&self.name)?;
        let email = Email::parse(&self.email)?;
        let role = Role::parse(&self.role)?;
        let groups = names::group_list(&self.groups)?;
        let metadata = match &self.metadata {
            None | Some(serde_json::Value::Null) => Metadata::default(),
            Some(v) => Metadata::from_value(v)?,
        }
        .with_hidden(&self.hidden_keys)?;
        Ok(ValidInvite {
            name,
            email,
            role,
            groups,
            metadata,
        })
    }
}

/// `PATCH /api/v1/members/{email}`: change what is given, keep the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMemberRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The complete new set of groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The complete new metadata object; a key given twice is refused.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::strict_json::optional_value"
    )]
    pub metadata: Option<serde_json::Value>,
    /// Keys to mark hidden (added to those already hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_keys: Option<Vec<String>>,
}

/// An edit that passed every stateless rule.
#[derive(Debug, Clone, Default)]
pub struct ValidEdit {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub groups: Option<Vec<String>>,
    pub metadata: Option<Metadata>,
    pub hide_keys: Vec<String>,
}

impl EditMemberRequest {
    /// Applies every stateless rule.
    pub fn validate(&self) -> Result<ValidEdit, ValidationError> {
        Ok(ValidEdit {
            name: self.name.as_deref().map(names::person_name).transpose()?,
            role: self.role.as_deref().map(Role::parse).transpose()?,
            groups: self.groups.as_deref().map(names::group_list).transpose()?,
            metadata: self
                .metadata
                .as_ref()
                .map(Metadata::from_value)
                .transpose()?,
            hide_keys: self.hide_keys.clone().unwrap_or_default(),
        })
    }
}

/// One membership as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberResponse {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub groups: Vec<String>,
    /// Visible metadata; hidden values only when `reveal=true` was asked for.
    pub metadata: BTreeMap<String, String>,
    pub hidden_keys: Vec<String>,
    pub status: MemberStatus,
    pub external_id: Option<String>,
    pub source: Source,
    pub invited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub invited_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub activated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_invite_sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub invite_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Sort orders of the member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MemberSort {
    #[default]
    Name,
    Email,
    Created,
}

/// `GET /api/v1/members`: one page of members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMembersQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Case-insensitive search: a prefix of any word of the name or the
    /// e-mail, or (slower) any substring of either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<MemberSort>,
    /// `true` for descending order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Show hidden metadata values (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal: Option<bool>,
}

/// Largest page the member list returns.
pub const MAX_PAGE: usize = 500;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 50;

/// One page of a listing; `next_cursor` fetches the next.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// How many items the whole listing has, where the daemon knows it
    /// without walking them (members unfiltered or by status or role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// The current invite link of a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkResponse {
    pub email: String,
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceResponse {
    pub slug: String,
    pub name: String,
    pub is_default: bool,
    pub members: u64,
    /// Whether members created over SCIM are active at once (SSO-managed)
    /// instead of being sent an invite.
    pub scim_creates_active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /api/v1/workspaces`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceRequest {
    pub slug: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `PATCH /api/v1/workspaces/{slug}`: settings of a workspace; what is not
/// given stays.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspaceRequest {
    /// Members created over SCIM are active at once (the identity provider
    /// manages sign-in) instead of being sent an invite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_creates_active: Option<bool>,
}

/// A custom group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupResponse {
    pub id: String,
    pub name: String,
    pub members: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /api/v1/groups` and `PATCH /api/v1/groups/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupNameRequest {
    pub name: String,
}

/// `POST /api/v1/groups/{name}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMembersRequest {
    pub emails: Vec<String>,
}

/// `POST /api/v1/scim-tokens` and `/api/v1/admin-tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: String,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub id: String,
    pub name: String,
    /// The workspace a SCIM token provisions; none for admin tokens.
    pub workspace: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A token just created: the secret is shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenCreatedResponse {
    pub token: TokenResponse,
    pub secret: String,
}

/// `GET /api/v1/audit` filters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Only events about this e-mail (or group name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Action name or prefix, e.g. `member.` or `member.archived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// One audit event, newest first in listings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEventResponse {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub workspace: String,
    pub actor: String,
    pub source: Source,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// State of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailStatus {
    Queued,
    Sent,
    Failed,
    /// The link it carried was revoked or used before it could be sent.
    Cancelled,
}

impl MailStatus {
    /// A compact code for index keys.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Lowercase spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Queued => "queued",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
            MailStatus::Cancelled => "cancelled",
        }
    }
}

/// `GET /api/v1/mail` filters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MailStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `GET /api/v1/mail/delivery`: whether invite mail is going out. Sending
/// pauses while the mail server cannot be reached, and queued messages then
/// wait with no error of their own: this says why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDeliveryResponse {
    /// When sending paused; `None` while mail goes out.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub paused_since: Option<OffsetDateTime>,
    /// What the latest try of the server ran into.
    #[serde(default)]
    pub error: Option<String>,
    /// When one queued message tries the server next.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_try_at: Option<OffsetDateTime>,
}

impl MailDeliveryResponse {
    /// One line for the CLI and the TUI, when sending is paused.
    pub fn paused_line(&self, when: impl Fn(OffsetDateTime) -> String) -> Option<String> {
        let since = self.paused_since?;
        let mut line = format!(
            "Sending paused since {}: the mail server is unavailable ({})",
            when(since),
            self.error.as_deref().unwrap_or("no answer")
        );
        if let Some(next) = self.next_try_at {
            line.push_str(&format!("; next try {}", when(next)));
        }
        Some(line)
    }
}

/// One outbox message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailResponse {
    pub id: String,
    pub workspace: String,
    pub to: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// `POST /api/v1/mail/retry`: which failed messages to queue again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryMailRequest {
    /// One message id; all failed messages of the workspace when absent.
    #[serde(default)]
    pub id: Option<String>,
}

/// How many messages a retry queued again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryMailResponse {
    pub queued: u64,
}

/// The kind of change that says a workspace was created: every event
/// stream carries it, whichever workspace it watches (so an open workspace
/// switcher and the drop-folder watcher hear of it).
pub const WORKSPACE_CREATED: &str = "workspace.created";

/// One change pushed on `GET /api/v1/events` (server-sent events).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangeEvent {
    /// Empty for news of the whole daemon (`mail.paused`, `mail.resumed`),
    /// which every stream carries.
    pub workspace: String,
    /// Same vocabulary as audit actions: `member.invited`, `group.renamed`, …
    pub kind: String,
    /// The e-mail or group the change is about.
    pub target: String,
}

/// What became of one row of an imported CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    /// A new e-mail: invited, one mail queued.
    Invited,
    /// An existing member whose name, role, groups or metadata changed.
    Updated,
    /// An existing member the row already described; nothing written.
    Unchanged,
    /// Refused; the message says why.
    Error,
    /// Valid but not applied: in all-or-nothing mode another row failed.
    Skipped,
}

impl RowOutcome {
    /// The word written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Invited => "invited",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
            RowOutcome::Error => "error",
            RowOutcome::Skipped => "skipped",
        }
    }

    /// Parses a report's outcome word.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            RowOutcome::Invited,
            RowOutcome::Updated,
            RowOutcome::Unchanged,
            RowOutcome::Error,
            RowOutcome::Skipped,
        ]
        .into_iter()
        .find(|o| o.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// How an import treats a file with some bad rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ImportMode {
    /// Good rows are applied, bad rows reported.
    #[default]
    BestEffort,
    /// Nothing is applied if any row fails.
    AllOrNothing,
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Claimed from the drop folder, not started.
    Queued,
    /// Rows are being checked or applied.
    Running,
    /// Every row is done; the file and its report are being moved.
    Finishing,
    /// Finished: the file is in `processed/` with its report.
    Done,
    /// The file could not be read as CSV; it is in `failed/` with a report.
    Failed,
}

impl ImportStatus {
    /// The word the API, the CLI and the TUI show (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Queued => "queued",
            ImportStatus::Running => "running",
            ImportStatus::Finishing => "finishing",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
        }
    }

    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, ImportStatus::Done | ImportStatus::Failed)
    }
}

/// Row counts of an import job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    /// Data rows read so far (the header is not counted).
    pub rows: u64,
    pub invited: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: u64,
    pub skipped: u64,
}

impl ImportCounts {
    /// Counts one row's outcome.
    pub fn add(&mut self, outcome: RowOutcome) {
        self.rows += 1;
        match outcome {
            RowOutcome::Invited => self.invited += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
            RowOutcome::Error => self.errors += 1,
            RowOutcome::Skipped => self.skipped += 1,
        }
    }

    /// One line for logs and the CLI.
    pub fn summary(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!(
            "{}: {} invited, {} updated, {} unchanged, {}",
            plural(self.rows, "row", "rows"),
            self.invited,
            self.updated,
            self.unchanged,
            plural(self.errors, "error", "errors")
        );
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }
}

/// One CSV import job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportJobResponse {
    pub id: String,
    pub workspace: String,
    /// The file's name as it was dropped or uploaded.
    pub file_name: String,
    /// Only the report is produced; nothing is applied.
    pub dry_run: bool,
    pub mode: ImportMode,
    pub status: ImportStatus,
    pub counts: ImportCounts,
    /// Why the file failed, or the summary once done.
    pub message: Option<String>,
    /// Where the file ended (`processed/…` or `failed/…`), once finished.
    pub file_path: Option<String>,
    /// Where its report is, once finished.
    pub report_path: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// One line of an import report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportRowResponse {
    /// The line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub email: String,
    pub outcome: RowOutcome,
    pub message: String,
}

/// `GET /api/v1/imports/{id}/rows`: report lines, optionally one outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRowsQuery {
    /// Only rows with this outcome (`error`, `invited`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Only rows after this file line (paging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `POST /api/v1/imports`: hand a CSV file (the request body) to the daemon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadImportQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The file's name, for the report and `processed/`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_status_is_shown_as_it_is_serialized() {
        use ImportStatus::*;
        for status in [Queued, Running, Finishing, Done, Failed] {
            assert_eq!(
                serde_json::to_value(status).expect("serialize"),
                status.as_str(),
                "{status:?}"
            );
        }
    }

    fn invite() -> InviteRequest {
        InviteRequest {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            role: "End User".into(),
            groups: vec!["Finance".into()],
            metadata: Some(serde_json::json!({"apiKey": "abc"})),
            hidden_keys: vec!["apiKey".into()],
        }
    }

    #[test]
    fn an_import_summary_counts_in_words() {
        let mut counts = ImportCounts::default();
        counts.add(RowOutcome::Invited);
        counts.add(RowOutcome::Error);
        assert_eq!(
            counts.summary(),
            "2 rows: 1 invited, 0 updated, 0 unchanged, 1 error"
        );
        counts.add(RowOutcome::Error);
        counts.add(RowOutcome::Skipped);
        assert_eq!(
            counts.summary(),
            "4 rows: 1 invited, 0 updated, 0 unchanged, 2 errors, 1 skipped"
        );
    }

    #[test]
    fn a_good_invite_validates() {
        let v = invite().validate().expect("valid");
        assert_eq!(v.role, Role::EndUser);
        assert!(v.metadata.hidden.contains("apiKey"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let mut r = invite();
        r.email = "nope".into();
        assert!(matches!(
            r.validate(),
            Err(ValidationError::EmailInvalid(_))
        ));
        let mut r = invite();
        r.role = "owner".into();
        assert!(matches!(r.validate(), Err(ValidationError::RoleUnknown(_))));
        let mut r = invite();
        r.metadata = Some(serde_json::json!(["x"]));
        assert!(matches!(
            r.validate(),
            Err(ValidationError::MetadataNotObject(_))
        ));
        let mut r = invite();
        r.hidden_keys = vec!["other".into()];
        assert!(matches!(
            r.validate(),
            Err(ValidationError::HiddenKeyUnknown(_))
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<InviteRequest>(
            r#"{"name":"a","email":"a@b.c","role":"admin","colour":"red"}"#,
        )
        .expect_err("unknown field");
        assert!(err.to_string().contains("colour"));
    }
}
