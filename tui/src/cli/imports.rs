//! `roster import FILE` and `roster imports list|show`: CSV bulk invites
//! handed to the daemon, and the jobs it ran.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand};
use roster_shared::api::{
    ImportJobResponse, ImportRowResponse, ImportRowsQuery, ImportStatus, UploadImportQuery,
};

use super::Ctx;
use super::output::{self, say};
use crate::client::{ClientError, segment};

/// How often `roster import` asks whether its job has ended.
const POLL: Duration = Duration::from_millis(200);
/// Error rows printed under a summary.
const SHOWN_ERRORS: usize = 20;

#[derive(Debug, ClapArgs)]
pub struct ImportArgs {
    /// The CSV file (ToolJet's template or name,email,role,groups,metadata)
    pub file: PathBuf,
    /// Check every row and write the report, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the job and return at once instead of waiting for it to end
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportsCommand {
    /// Import jobs of the workspace, newest first
    List,
    /// One job: its counts and its rows (errors first)
    Show {
        id: String,
        /// Only rows with this outcome: invited, updated, unchanged, error, skipped
        #[arg(long)]
        outcome: Option<String>,
        /// Most rows to print
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

/// Uploads a file as an import job and, unless told not to, waits for it.
pub async fn import(ctx: &Ctx, args: ImportArgs) -> Result<(), ClientError> {
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ClientError::Usage(format!("{} is not a file", args.file.display())))?;
    let unreadable =
        |e: std::io::Error| ClientError::Usage(format!("cannot read {}: {e}", args.file.display()));
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(unreadable)?;
    // A directory opens fine and only fails once the upload reads it, as a
    // transport error; a FIFO or device would stream without end.
    let kind = file.metadata().await.map_err(unreadable)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(ClientError::Usage(format!(
            "{} is {what}; give the CSV file to import",
            args.file.display()
        )));
    }
    let query = UploadImportQuery {
        workspace: ctx.workspace.clone(),
        name,
        dry_run: args.dry_run.then_some(true),
    };
    let mut job: ImportJobResponse = ctx.client.upload("/imports", &query, file).await?;
    if !args.no_wait {
        while !job.status.is_final() {
            tokio::time::sleep(POLL).await;
            job = ctx
                .client
                .get(&format!("/imports/{}", segment(&job.id)), &())
                .await?;
        }
    }
    if ctx.json {
        return output::json(&job);
    }
    print_job(&job);
    if !job.status.is_final() {
        say!(
            "job {} is {}; see `roster imports show {}`",
            job.id,
            job.status.as_str(),
            job.id
        );
        return Ok(());
    }
    if job.status == ImportStatus::Failed {
        // Its one report line is the reason just printed.
        return Err(ClientError::Api(format!(
            "the file was not imported: {}",
            job.message.unwrap_or_default()
        )));
    }
    let errors = rows(ctx, &job.id, Some("error"), SHOWN_ERRORS).await?;
    print_rows(&errors);
    if job.counts.errors > 0 {
        return Err(ClientError::Api(format!(
            "{} of {} rows had errors; the full report is {}",
            job.counts.errors,
            job.counts.rows,
            job.report_path.unwrap_or_default()
        )));
    }
    Ok(())
}

/// `roster imports list|show`.
pub async fn imports(ctx: &Ctx, cmd: ImportsCommand) -> Result<(), ClientError> {
    match cmd {
        ImportsCommand::List => {
            let jobs: Vec<ImportJobResponse> = ctx
                .client
                .get("/imports", &[("workspace", ctx.workspace.as_deref())])
                .await?;
            if ctx.json {
                return output::json(&jobs);
            }
            output::table(
                &[
                    "id",
                    "file",
                    "status",
                    "rows",
                    "invited",
                    "updated",
                    "unchanged",
                    "errors",
                    "created",
                    "reason",
                ],
                jobs.iter()
                    .map(|j| {
                        vec![
                            j.id.clone(),
                            j.file_name.clone() + if j.dry_run { " (dry run)" } else { "" },
                            j.status.as_str().into(),
                            j.counts.rows.to_string(),
                            j.counts.invited.to_string(),
                            j.counts.updated.to_string(),
                            j.counts.unchanged.to_string(),
                            j.counts.errors.to_string(),
                            output::when(Some(j.created_at)),
                            match (j.status, j.message.as_deref()) {
                                (ImportStatus::Failed, Some(m)) => headline(m).into(),
                                _ => String::new(),
                            },
                        ]
                    })
                    .collect(),
            );
        }
        ImportsCommand::Show { id, outcome, limit } => {
            let job: ImportJobResponse = ctx
                .client
                .get(&format!("/imports/{}", segment(&id)), &())
                .await?;
            let limit = limit.clamp(1, 1000);
            let shown = match outcome.as_deref() {
                Some(o) => rows(ctx, &job.id, Some(o), limit).await?,
                None => {
                    let mut all = rows(ctx, &job.id, Some("error"), limit).await?;
                    if all.len() < limit {
                        let rest = rows(ctx, &job.id, None, limit).await?;
                        let room = limit - all.len();
                        all.extend(
                            rest.into_iter()
                                .filter(|r| r.outcome != roster_shared::api::RowOutcome::Error)
                                .take(room),
                        );
                    }
                    all
                }
            };
            if ctx.json {
                return output::json(&serde_json::json!({ "job": job, "rows": shown }));
            }
            print_job(&job);
            print_rows(&shown);
        }
    }
    Ok(())
}

async fn rows(
    ctx: &Ctx,
    id: &str,
    outcome: Option<&str>,
    limit: usize,
) -> Result<Vec<ImportRowResponse>, ClientError> {
    let q = ImportRowsQuery {
        outcome: outcome.map(str::to_string),
        after_line: None,
        limit: Some(limit),
    };
    ctx.client
        .get(&format!("/imports/{}/rows", segment(id)), &q)
        .await
}

fn print_job(job: &ImportJobResponse) {
    let what = if job.dry_run { " (dry run)" } else { "" };
    say!(
        "{}{what} → workspace {}: {}",
        job.file_name,
        job.workspace,
        job.message.clone().unwrap_or_else(|| job.counts.summary())
    );
    if let Some(report) = &job.report_path {
        say!("report: {report}");
    }
}

fn print_rows(rows: &[ImportRowResponse]) {
    if rows.is_empty() {
        return;
    }
    output::table(
        &["line", "email", "outcome", "message"],
        rows.iter()
            .map(|r| {
                vec![
                    r.line.to_string(),
                    r.email.clone(),
                    r.outcome.as_str().into(),
                    r.message.clone(),
                ]
            })
            .collect(),
    );
}

/// The first clause of why a file failed, short enough for a table row;
/// `roster imports show` prints it whole.
fn headline(message: &str) -> &str {
    let end = ["; ", ": "]
        .iter()
        .filter_map(|sep| message.find(sep))
        .min()
        .unwrap_or(message.len());
    &message[..end]
}
