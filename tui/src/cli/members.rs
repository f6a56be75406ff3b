//! `users list`, `invite`, `edit`, and the one-member actions.

use clap::{Args as ClapArgs, Subcommand};
use reqwest::Method;
use roster_shared::Metadata;
use roster_shared::api::{
    EditMemberRequest, InviteRequest, LinkResponse, ListMembersQuery, MAX_PAGE, MemberResponse,
    MemberSort, Page,
};

use super::Ctx;
use super::output::{self, say};
use crate::client::{ClientError, segment};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List members (paged by the daemon; --all fetches every page)
    List {
        /// Search the start of any word of the name or e-mail
        #[arg(long, short = 'q')]
        search: Option<String>,
        /// requested, invited, active or archived
        #[arg(long)]
        status: Option<String>,
        /// admin, builder or end-user
        #[arg(long)]
        role: Option<String>,
        /// Only members of this custom group
        #[arg(long)]
        group: Option<String>,
        /// name, email or created
        #[arg(long, value_parser = parse_sort)]
        sort: Option<MemberSort>,
        /// Descending order
        #[arg(long)]
        desc: bool,
        /// Members per page
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Fetch every page
        #[arg(long)]
        all: bool,
    },
    /// Show one member (hidden metadata values with --reveal)
    Show {
        email: String,
        #[arg(long)]
        reveal: bool,
    },
}

fn parse_sort(s: &str) -> Result<MemberSort, String> {
    match s.to_ascii_lowercase().as_str() {
        "name" => Ok(MemberSort::Name),
        "email" => Ok(MemberSort::Email),
        "created" => Ok(MemberSort::Created),
        _ => Err(format!("unknown sort \"{s}\": use name, email or created")),
    }
}

#[derive(Debug, ClapArgs)]
pub struct InviteArgs {
    /// The invitee's name
    #[arg(long)]
    name: String,
    /// The invitee's e-mail
    #[arg(long)]
    email: String,
    /// admin, builder or end-user
    #[arg(long)]
    role: String,
    /// A custom group (repeat for several)
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Metadata as a JSON object of strings, e.g. '{"apiKey":"abc"}'
    #[arg(long)]
    metadata: Option<String>,
    /// Metadata key whose value is write-only (repeat for several)
    #[arg(long = "hide")]
    hide: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub struct EditArgs {
    email: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    role: Option<String>,
    /// The member's complete set of groups (repeat); see also --no-groups
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Remove the member from every group
    #[arg(long, conflicts_with = "groups")]
    no_groups: bool,
    /// The complete new metadata object (JSON)
    #[arg(long)]
    metadata: Option<String>,
    /// Mark a metadata key hidden (repeat)
    #[arg(long = "hide")]
    hide: Vec<String>,
}

/// Parses `--metadata` with the shared rules, so a mistake is caught here
/// with the same sentence the daemon would use.
fn metadata_arg(text: Option<&str>) -> Result<Option<serde_json::Value>, ClientError> {
    let Some(text) = text else { return Ok(None) };
    Metadata::parse_json(text).map_err(|e| ClientError::Usage(e.to_string()))?;
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ClientError::Usage(e.to_string()))
}

pub async fn users(ctx: &Ctx, cmd: UsersCommand) -> Result<(), ClientError> {
    match cmd {
        UsersCommand::List {
            search,
            status,
            role,
            group,
            sort,
            desc,
            limit,
            all,
        } => {
            let mut query = ListMembersQuery {
                workspace: ctx.workspace.clone(),
                q: search,
                status,
                role,
                group,
                sort,
                desc: desc.then_some(true),
                limit: Some(limit.clamp(1, MAX_PAGE)),
                ..ListMembersQuery::default()
            };
            let mut members = Vec::new();
            loop {
                let page: Page<MemberResponse> = ctx.client.get("/members", &query).await?;
                members.extend(page.items);
                match page.next_cursor {
                    Some(c) if all => query.cursor = Some(c),
                    _ => break,
                }
            }
            if ctx.json {
                return output::json(&members);
            }
            output::table(
                &["name", "email", "role", "groups", "status", "last invite"],
                members
                    .iter()
                    .map(|m| {
                        vec![
                            m.name.clone(),
                            m.email.clone(),
                            m.role.to_string(),
                            m.groups.join("|"),
                            m.status.to_string(),
                            output::when(m.last_invite_sent_at),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        UsersCommand::Show { email, reveal } => {
            let m: MemberResponse = ctx
                .client
                .get(
                    &format!("/members/{}", segment(&email)),
                    &[
                        ("workspace", ctx.workspace.as_deref()),
                        ("reveal", reveal.then_some("true")),
                    ],
                )
                .await?;
            show(ctx, &m)
        }
    }
}

fn show(ctx: &Ctx, m: &MemberResponse) -> Result<(), ClientError> {
    if ctx.json {
        return output::json(m);
    }
    let metadata = m
        .metadata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(
            m.hidden_keys
                .iter()
                .filter(|k| !m.metadata.contains_key(*k))
                .map(|k| format!("{k}=********")),
        )
        .collect::<Vec<_>>()
        .join(", ");
    let rows = [
        ("name", m.name.clone()),
        ("email", m.email.clone()),
        ("role", m.role.to_string()),
        ("groups", m.groups.join("|")),
        ("status", m.status.to_string()),
        ("metadata", metadata),
        (
            "invited by",
            format!("{} ({})", m.invited_by, m.source.as_str()),
        ),
        ("invited", output::when(Some(m.invited_at))),
        ("last invite", output::when(m.last_invite_sent_at)),
        ("link expires", output::when(m.invite_expires_at)),
        ("activated", output::when(m.activated_at)),
        ("archived", output::when(m.archived_at)),
    ];
    for (k, v) in rows {
        say!("{k:<13} {v}");
    }
    Ok(())
}

pub async fn invite(ctx: &Ctx, a: InviteArgs) -> Result<(), ClientError> {
    let req = InviteRequest {
        name: a.name,
        email: a.email,
        role: a.role,
        groups: a.groups,
        metadata: metadata_arg(a.metadata.as_deref())?,
        hidden_keys: a.hide,
    };
    req.validate()
        .map_err(|e| ClientError::Usage(e.to_string()))?;
    let m: MemberResponse = ctx
        .client
        .send_json(Method::POST, "/members", ctx.workspace.as_deref(), &req)
        .await?;
    if ctx.json {
        return output::json(&m);
    }
    say!(
        "invited {} <{}> as {} (status: {})",
        m.name,
        m.email,
        m.role,
        m.status
    );
    Ok(())
}

pub async fn edit(ctx: &Ctx, a: EditArgs) -> Result<(), ClientError> {
    let req = EditMemberRequest {
        name: a.name,
        role: a.role,
        groups: if a.no_groups {
            Some(Vec::new())
        } else {
            (!a.groups.is_empty()).then_some(a.groups)
        },
        metadata: metadata_arg(a.metadata.as_deref())?,
        hide_keys: (!a.hide.is_empty()).then_some(a.hide),
    };
    if req.name.is_none()
        && req.role.is_none()
        && req.groups.is_none()
        && req.metadata.is_none()
        && req.hide_keys.is_none()
    {
        return Err(ClientError::Usage(
            "nothing to change: give --name, --role, --group, --no-groups, --metadata or --hide"
                .into(),
        ));
    }
    req.validate()
        .map_err(|e| ClientError::Usage(e.to_string()))?;
    let m: MemberResponse = ctx
        .client
        .send_json(
            Method::PATCH,
            &format!("/members/{}", segment(&a.email)),
            ctx.workspace.as_deref(),
            &req,
        )
        .await?;
    show(ctx, &m)
}

pub async fn action(ctx: &Ctx, email: &str, verb: &str, done: &str) -> Result<(), ClientError> {
    let m: MemberResponse = ctx
        .client
        .post_empty(
            &format!("/members/{}/{verb}", segment(email)),
            ctx.workspace.as_deref(),
        )
        .await?;
    if ctx.json {
        return output::json(&m);
    }
    say!("{done} {} (status: {})", m.email, m.status);
    Ok(())
}

pub async fn link(ctx: &Ctx, email: &str, reset: bool) -> Result<(), ClientError> {
    let path = format!(
        "/members/{}/{}",
        segment(email),
        if reset { "reset-link" } else { "link" }
    );
    let link: LinkResponse = if reset {
        ctx.client
            .post_empty(&path, ctx.workspace.as_deref())
            .await?
    } else {
        ctx.client
            .get(&path, &[("workspace", ctx.workspace.as_deref())])
            .await?
    };
    if ctx.json {
        return output::json(&link);
    }
    say!("{}", link.url);
    Ok(())
}

pub async fn remove(ctx: &Ctx, email: &str) -> Result<(), ClientError> {
    ctx.client
        .delete(
            &format!("/members/{}", segment(email)),
            ctx.workspace.as_deref(),
        )
        .await?;
    if !ctx.json {
        say!("removed {email}");
    }
    Ok(())
}
