//! CSV imports: the rules for one row (an upsert through the same checks as
//! an invite or an edit) and the durable job records.

use std::cell::RefCell;

use redb::ReadableTable;
use roster_shared::api::{
    EditMemberRequest, ImportJobResponse, InviteRequest, RowOutcome, ValidInvite,
};
use roster_shared::{Email, Metadata, StatusModel, StoredStatus};
use uuid::Uuid;

use super::members::{
    GroupResolver, apply_edit, guard_last_admin, insert_absent_member, invited_member, write_change,
};
use super::{Actor, Services};
use crate::clock;
use crate::error::ServiceError;
use crate::store::Tx;
use crate::store::members;
use crate::store::records::{ImportJobRecord, MemberRecord, WorkspaceRecord, decode, encode};
use crate::store::tables::IMPORT_JOBS;

/// One data row of a file, by column meaning. `None` is a column the file
/// does not have (or an empty cell where empty means "keep"): an existing
/// member keeps that value; a new one is invited without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRow {
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    /// Present when the file has a groups column: the complete new set.
    pub groups: Option<Vec<String>>,
    /// JSON object text, when the cell is not empty: the complete new set.
    pub metadata: Option<String>,
}

/// What one row came to, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub outcome: RowOutcome,
    pub message: String,
}

impl RowResult {
    /// A refused row.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            outcome: RowOutcome::Error,
            message: message.into(),
        }
    }

    fn done(outcome: RowOutcome, message: impl Into<String>) -> Self {
        Self {
            outcome,
            message: message.into(),
        }
    }
}

/// What every row of one batch shares.
pub struct RowContext<'a> {
    pub ws: &'a WorkspaceRecord,
    pub actor: &'a Actor,
    pub expiry_ms: i64,
    pub model: StatusModel,
    /// The batch's groups, each looked up once (nothing else writes in
    /// the batch's transaction).
    pub groups: RefCell<GroupResolver>,
}

/// A row with every check that needs no database already made, so that a
/// file's rows can be checked on one thread while the previous batch is
/// written on another. The rules are the invite's and the edit's own.
#[derive(Debug)]
pub struct PreparedRow {
    row: ImportRow,
    email: Result<Email, String>,
    metadata: Result<Option<serde_json::Value>, String>,
    /// What inviting this row would be, if its e-mail is new.
    invite: Result<ValidInvite, String>,
}

impl PreparedRow {
    /// Checks a row as far as it can be checked without the database.
    pub fn new(row: ImportRow) -> Self {
        let metadata = match row.metadata.as_deref().map(Metadata::parse_json) {
            None => Ok(None),
            Some(Ok(m)) => serde_json::to_value(&m.values)
                .map(Some)
                .map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.to_string()),
        };
        let invite = match (&row.role, &metadata) {
            (None, _) => {
                Err("role is empty: a new member needs one of admin, builder or end-user".into())
            }
            (Some(role), Ok(metadata)) => InviteRequest {
                name: row.name.clone().unwrap_or_default(),
                email: row.email.clone(),
                role: role.clone(),
                groups: row.groups.clone().unwrap_or_default(),
                metadata: metadata.clone(),
                hidden_keys: Vec::new(),
            }
            .validate()
            .map_err(|e| e.to_string()),
            (Some(_), Err(e)) => Err(e.clone()),
        };
        // A valid invite has parsed the e-mail already.
        let email = match &invite {
            Ok(valid) => Ok(valid.email.clone()),
            Err(_) => Email::parse(&row.email).map_err(|e| e.to_string()),
        };
        Self {
            row,
            email,
            metadata,
            invite,
        }
    }
}

/// Applies one row inside the batch's transaction: a new e-mail is invited
/// (with its mail), an existing member is updated, an unchanged one is left
/// alone. A refused row writes nothing and becomes an `error` result; only a
/// storage fault is an `Err` (the batch is then rolled back).
pub fn apply_row(
    tx: &Tx<'_>,
    cx: &RowContext<'_>,
    prepared: &PreparedRow,
) -> Result<RowResult, ServiceError> {
    let email = match &prepared.email {
        Ok(e) => e,
        Err(e) => return Ok(RowResult::error(e.clone())),
    };
    let metadata = match &prepared.metadata {
        Ok(m) => m,
        Err(e) => return Ok(RowResult::error(e.clone())),
    };
    let existing = members::id_by_email(&*tx.member_emails()?, cx.ws.id, email.key())?;
    let outcome = match (existing, &prepared.invite) {
        (None, Err(refused)) => return Ok(RowResult::error(refused.clone())),
        (None, Ok(valid)) => {
            let mut groups = cx.groups.borrow_mut();
            let new = invited_member(valid);
            insert_absent_member(tx, cx.ws, new, cx.actor, cx.expiry_ms, &mut groups)
                .map(|_| RowResult::done(RowOutcome::Invited, ""))
        }
        (Some(id), _) => {
            let before = members::get(&*tx.members()?, cx.ws.id, id)?
                .ok_or_else(|| ServiceError::storage("dangling e-mail index"))?;
            update(tx, cx, &prepared.row, metadata.clone(), before)
        }
    };
    match outcome {
        Err(ServiceError::Storage(e)) => Err(ServiceError::Storage(e)),
        Err(refused) => Ok(RowResult::error(refused.to_string())),
        Ok(result) => Ok(result),
    }
}

fn update(
    tx: &Tx<'_>,
    cx: &RowContext<'_>,
    row: &ImportRow,
    metadata: Option<serde_json::Value>,
    before: MemberRecord,
) -> Result<RowResult, ServiceError> {
    let edit = EditMemberRequest {
        name: row.name.clone(),
        role: row.role.clone(),
        groups: row.groups.clone(),
        metadata,
        hide_keys: None,
    }
    .validate()?;
    let mut after = before.clone();
    apply_edit(tx, cx.ws, &mut after, &edit)?;
    let note = match before.status {
        StoredStatus::Archived => "archived member; not re-invited",
        _ => "",
    };
    if after == before {
        return Ok(RowResult::done(RowOutcome::Unchanged, note));
    }
    guard_last_admin(tx, cx.ws, &before, Some(&after))?;
    after.updated_at = clock::now_ms();
    write_change(tx, cx.ws, cx.actor, "member.updated", &before, &after)?;
    let mut changed = Vec::new();
    if after.name != before.name {
        changed.push("name");
    }
    if after.role != before.role {
        changed.push("role");
    }
    if after.groups != before.groups {
        changed.push("groups");
    }
    if after.metadata != before.metadata {
        changed.push("metadata");
    }
    let mut message = format!("changed {}", changed.join(", "));
    if !note.is_empty() {
        message.push_str(&format!(" ({note})"));
    }
    Ok(RowResult::done(RowOutcome::Updated, message))
}

/// Reads a job record inside a transaction.
pub fn load_job(
    table: &impl ReadableTable<u128, &'static [u8]>,
    id: Uuid,
) -> Result<Option<ImportJobRecord>, ServiceError> {
    table
        .get(id.as_u128())?
        .map(|v| decode(v.value()))
        .transpose()
}

/// Writes a job record inside a transaction.
pub fn save_job(tx: &Tx<'_>, job: &ImportJobRecord) -> Result<(), ServiceError> {
    tx.import_jobs()?
        .insert(job.id.as_u128(), encode(job)?.as_slice())?;
    Ok(())
}

/// The admin-API view of a job.
pub fn job_view(job: &ImportJobRecord) -> ImportJobResponse {
    ImportJobResponse {
        id: job.id.to_string(),
        workspace: job.workspace_slug.clone(),
        file_name: job.file_name.clone(),
        dry_run: job.dry_run,
        mode: job.mode,
        status: job.status,
        counts: job.counts,
        message: job.message.clone(),
        file_path: job.file_path.clone(),
        report_path: job.report_path.clone(),
        created_at: clock::to_datetime(job.created_at),
        finished_at: job.finished_at.map(clock::to_datetime),
    }
}

/// Most jobs one listing returns (newest first).
pub const MAX_JOBS_LISTED: usize = 200;

impl Services {
    /// Import jobs of a workspace, newest first.
    pub async fn list_imports(
        &self,
        workspace: Option<&str>,
    ) -> Result<Vec<ImportJobResponse>, ServiceError> {
        let slug = self.workspace_slug(workspace);
        self.store
            .read(move |txn| {
                let table = txn.open_table(IMPORT_JOBS)?;
                let mut out = Vec::new();
                for entry in table.iter()?.rev() {
                    let job: ImportJobRecord = decode(entry?.1.value())?;
                    if job.workspace_slug == slug {
                        out.push(job_view(&job));
                        if out.len() == MAX_JOBS_LISTED {
                            break;
                        }
                    }
                }
                Ok(out)
            })
            .await
    }

    /// One import job by id.
    pub async fn get_import(&self, id: &str) -> Result<ImportJobRecord, ServiceError> {
        let not_found = || ServiceError::NotFound(format!("there is no import job {}", id.trim()));
        let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
        self.store
            .read(move |txn| load_job(&txn.open_table(IMPORT_JOBS)?, id))
            .await?
            .ok_or_else(not_found)
    }

    /// Jobs that a restart must pick up again, oldest first.
    pub async fn unfinished_imports(&self) -> Result<Vec<ImportJobRecord>, ServiceError> {
        self.store
            .read(|txn| {
                let table = txn.open_table(IMPORT_JOBS)?;
                let mut out = Vec::new();
                for entry in table.iter()? {
                    let job: ImportJobRecord = decode(entry?.1.value())?;
                    if !job.status.is_final() {
                        out.push(job);
                    }
                }
                Ok(out)
            })
            .await
    }
}
