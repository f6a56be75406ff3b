//! `workspaces`, `scim-token`/`admin-token`, `audit` and `mail`.

use clap::Subcommand;
use reqwest::Method;
use roster_shared::api::*;

use super::Ctx;
use super::output::{self, say};
use crate::client::{ClientError, segment};

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// List workspaces
    List,
    /// Create a workspace
    Create {
        slug: String,
        /// Display name [default: the slug]
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a workspace's settings
    Set {
        slug: String,
        /// Members created over SCIM are active at once (true) or get an invite (false)
        #[arg(long)]
        scim_creates_active: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, alone on the last line
    Create {
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by name
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first
    List {
        /// Only events about this e-mail or group
        #[arg(long)]
        member: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        /// tui, cli, scim, csv, api, invite or system
        #[arg(long)]
        source: Option<String>,
        /// Action or prefix, e.g. member.archived or member.
        #[arg(long)]
        action: Option<String>,
        /// RFC 3339 time, e.g. 2026-11-01T00:00:00Z
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List outbox messages, newest first
    List {
        /// queued, sent, failed or cancelled
        #[arg(long, value_parser = parse_mail_status)]
        status: Option<MailStatus>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Queue failed messages again: one by id, or all failed ones
    Retry {
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

fn parse_mail_status(s: &str) -> Result<MailStatus, String> {
    match s.to_ascii_lowercase().as_str() {
        "queued" => Ok(MailStatus::Queued),
        "sent" => Ok(MailStatus::Sent),
        "failed" => Ok(MailStatus::Failed),
        "cancelled" => Ok(MailStatus::Cancelled),
        _ => Err(format!(
            "unknown mail status \"{s}\": use queued, sent, failed or cancelled"
        )),
    }
}

pub async fn workspaces(ctx: &Ctx, cmd: WorkspacesCommand) -> Result<(), ClientError> {
    match cmd {
        WorkspacesCommand::List => {
            let list: Vec<WorkspaceResponse> = ctx.client.get("/workspaces", &()).await?;
            if ctx.json {
                return output::json(&list);
            }
            output::table(
                &["slug", "name", "members", "default", "scim creates"],
                list.iter()
                    .map(|w| {
                        vec![
                            w.slug.clone(),
                            w.name.clone(),
                            w.members.to_string(),
                            if w.is_default {
                                "yes".into()
                            } else {
                                String::new()
                            },
                            if w.scim_creates_active {
                                "active".into()
                            } else {
                                "invited".into()
                            },
                        ]
                    })
                    .collect(),
            );
        }
        WorkspacesCommand::Create { slug, name } => {
            let w: WorkspaceResponse = ctx
                .client
                .send_json(
                    Method::POST,
                    "/workspaces",
                    None,
                    &CreateWorkspaceRequest { slug, name },
                )
                .await?;
            if ctx.json {
                return output::json(&w);
            }
            say!("created workspace {} ({})", w.slug, w.name);
        }
        WorkspacesCommand::Set {
            slug,
            scim_creates_active,
        } => {
            let w: WorkspaceResponse = ctx
                .client
                .send_json(
                    Method::PATCH,
                    &format!("/workspaces/{}", segment(&slug)),
                    None,
                    &UpdateWorkspaceRequest {
                        scim_creates_active,
                    },
                )
                .await?;
            if ctx.json {
                return output::json(&w);
            }
            say!(
                "workspace {}: SCIM-created members are {}",
                w.slug,
                if w.scim_creates_active {
                    "active at once"
                } else {
                    "invited by mail"
                }
            );
        }
    }
    Ok(())
}

pub async fn tokens(ctx: &Ctx, cmd: TokenCommand, path: &str) -> Result<(), ClientError> {
    let ws = ctx.workspace.as_deref();
    match cmd {
        TokenCommand::Create { name } => {
            let t: TokenCreatedResponse = ctx
                .client
                .send_json(
                    Method::POST,
                    &format!("/{path}"),
                    ws,
                    &CreateTokenRequest { name },
                )
                .await?;
            if ctx.json {
                return output::json(&t);
            }
            match &t.token.workspace {
                Some(w) => eprintln!(
                    "created SCIM token \"{}\" for workspace {w}; it is shown only this once:",
                    t.token.name
                ),
                None => eprintln!(
                    "created admin token \"{}\"; it is shown only this once:",
                    t.token.name
                ),
            }
            say!("{}", t.secret);
        }
        TokenCommand::List => {
            let list: Vec<TokenResponse> = ctx
                .client
                .get(&format!("/{path}"), &[("workspace", ws)])
                .await?;
            if ctx.json {
                return output::json(&list);
            }
            output::table(
                &["name", "workspace", "created"],
                list.iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.workspace.clone().unwrap_or_else(|| "-".into()),
                            output::when(Some(t.created_at)),
                        ]
                    })
                    .collect(),
            );
        }
        TokenCommand::Revoke { name } => {
            ctx.client
                .delete(&format!("/{path}/{}", segment(&name)), ws)
                .await?;
            if !ctx.json {
                say!("revoked token {name}");
            }
        }
    }
    Ok(())
}

pub async fn audit(ctx: &Ctx, cmd: AuditCommand) -> Result<(), ClientError> {
    let AuditCommand::List {
        member,
        actor,
        source,
        action,
        since,
        until,
        limit,
    } = cmd;
    let q = AuditQuery {
        workspace: ctx.workspace.clone(),
        target: member,
        actor,
        source,
        action,
        since,
        until,
        cursor: None,
        limit: Some(limit.clamp(1, MAX_PAGE)),
    };
    let page: Page<AuditEventResponse> = ctx.client.get("/audit", &q).await?;
    if ctx.json {
        return output::json(&page.items);
    }
    output::table(
        &["when", "actor", "source", "action", "target"],
        page.items
            .iter()
            .map(|e| {
                vec![
                    output::when(Some(e.at)),
                    e.actor.clone(),
                    e.source.as_str().into(),
                    e.action.clone(),
                    e.target.clone(),
                ]
            })
            .collect(),
    );
    Ok(())
}

pub async fn mail(ctx: &Ctx, cmd: MailCommand) -> Result<(), ClientError> {
    match cmd {
        MailCommand::List { status, limit } => {
            let q = MailQuery {
                workspace: ctx.workspace.clone(),
                status,
                cursor: None,
                limit: Some(limit.clamp(1, MAX_PAGE)),
            };
            let page: Page<MailResponse> = ctx.client.get("/mail", &q).await?;
            if ctx.json {
                return output::json(&page.items);
            }
            let delivery: MailDeliveryResponse = ctx.client.get("/mail/delivery", &q).await?;
            if let Some(line) = delivery.paused_line(|t| output::when(Some(t))) {
                // On stderr: the table below stays the same for scripts.
                eprintln!("{line}");
            }
            output::table(
                &["id", "to", "status", "attempts", "created", "last error"],
                page.items
                    .iter()
                    .map(|m| {
                        vec![
                            m.id.clone(),
                            m.to.clone(),
                            m.status.as_str().into(),
                            m.attempts.to_string(),
                            output::when(Some(m.created_at)),
                            m.last_error.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            );
        }
        MailCommand::Retry { id, all } => {
            if id.is_none() && !all {
                return Err(ClientError::Usage(
                    "give a mail id, or --all to retry every failed message".into(),
                ));
            }
            let r: RetryMailResponse = ctx
                .client
                .send_json(
                    Method::POST,
                    "/mail/retry",
                    ctx.workspace.as_deref(),
                    &RetryMailRequest { id },
                )
                .await?;
            if ctx.json {
                return output::json(&r);
            }
            say!("queued {} message(s) again", r.queued);
        }
    }
    Ok(())
}
