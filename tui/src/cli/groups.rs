//! `groups list|create|rename|delete|add|remove`.

use clap::Subcommand;
use reqwest::Method;
use roster_shared::api::{GroupMembersRequest, GroupNameRequest, GroupResponse};

use super::Ctx;
use super::output::{self, say};
use crate::client::{ClientError, segment};

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List custom groups with their member counts
    List,
    /// Create a group
    Create { name: String },
    /// Rename a group (members stay in it)
    Rename { name: String, new_name: String },
    /// Delete a group (members keep their other groups)
    Delete { name: String },
    /// Add members to a group
    Add {
        group: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// Remove members from a group
    Remove {
        group: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: GroupsCommand) -> Result<(), ClientError> {
    let ws = ctx.workspace.as_deref();
    let group = match cmd {
        GroupsCommand::List => {
            let groups: Vec<GroupResponse> =
                ctx.client.get("/groups", &[("workspace", ws)]).await?;
            if ctx.json {
                return output::json(&groups);
            }
            output::table(
                &["name", "members", "created"],
                groups
                    .iter()
                    .map(|g| {
                        vec![
                            g.name.clone(),
                            g.members.to_string(),
                            output::when(Some(g.created_at)),
                        ]
                    })
                    .collect(),
            );
            return Ok(());
        }
        GroupsCommand::Create { name } => {
            ctx.client
                .send_json::<_, GroupResponse>(
                    Method::POST,
                    "/groups",
                    ws,
                    &GroupNameRequest { name },
                )
                .await?
        }
        GroupsCommand::Rename { name, new_name } => {
            ctx.client
                .send_json(
                    Method::PATCH,
                    &format!("/groups/{}", segment(&name)),
                    ws,
                    &GroupNameRequest { name: new_name },
                )
                .await?
        }
        GroupsCommand::Delete { name } => {
            ctx.client
                .delete(&format!("/groups/{}", segment(&name)), ws)
                .await?;
            if !ctx.json {
                say!("deleted group {name}");
            }
            return Ok(());
        }
        GroupsCommand::Add { group, emails } => {
            ctx.client
                .send_json(
                    Method::POST,
                    &format!("/groups/{}/members", segment(&group)),
                    ws,
                    &GroupMembersRequest { emails },
                )
                .await?
        }
        GroupsCommand::Remove { group, emails } => {
            ctx.client
                .delete_json(
                    &format!("/groups/{}/members", segment(&group)),
                    ws,
                    &GroupMembersRequest { emails },
                )
                .await?
        }
    };
    if ctx.json {
        return output::json(&group);
    }
    say!("group {} has {} member(s)", group.name, group.members);
    Ok(())
}
