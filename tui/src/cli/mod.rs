//! Command-line interface: one module per group of subcommands.

mod groups;
mod imports;
mod members;
pub(crate) mod output;
mod system;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use roster_shared::api::Source;

use crate::client::{Client, ClientError, Endpoint, default_socket};

/// Onboard people into workspaces: invite, manage members, groups and tokens.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about)]
pub struct Args {
    /// rosterd's admin socket [default: $XDG_DATA_HOME/roster/rosterd.sock]
    #[arg(long, global = true, env = "ROSTER_SOCKET")]
    socket: Option<PathBuf>,
    /// A remote rosterd's base URL (needs --token)
    #[arg(long, global = true, env = "ROSTER_URL")]
    url: Option<String>,
    /// Admin token for --url
    #[arg(long, global = true, env = "ROSTER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Workspace slug [default: the daemon's default workspace]
    #[arg(long, short = 'w', global = true)]
    workspace: Option<String>,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    json: bool,
    /// Without a command, the full-screen TUI opens
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List and inspect members
    Users {
        #[command(subcommand)]
        command: members::UsersCommand,
    },
    /// Invite someone by name and e-mail
    Invite(members::InviteArgs),
    /// Change a member's name, role, groups or metadata
    Edit(members::EditArgs),
    /// Send the current invite link again (a fresh one if it expired)
    Resend { email: String },
    /// Print the member's current invite link
    Link { email: String },
    /// Revoke the current invite link and issue a new one
    ResetLink { email: String },
    /// Switch a member off and revoke any open invite
    Archive { email: String },
    /// Bring an archived member back
    Unarchive { email: String },
    /// Remove a member from the workspace
    Remove { email: String },
    /// Custom groups
    Groups {
        #[command(subcommand)]
        command: groups::GroupsCommand,
    },
    /// Bulk-invite from a CSV file (ToolJet's template or our columns)
    Import(imports::ImportArgs),
    /// CSV import jobs (drop folder and `roster import`)
    Imports {
        #[command(subcommand)]
        command: imports::ImportsCommand,
    },
    /// Workspaces
    Workspaces {
        #[command(subcommand)]
        command: system::WorkspacesCommand,
    },
    /// SCIM bearer tokens for identity providers (per workspace)
    ScimToken {
        #[command(subcommand)]
        command: system::TokenCommand,
    },
    /// Admin tokens for the admin API over TCP
    AdminToken {
        #[command(subcommand)]
        command: system::TokenCommand,
    },
    /// The audit log
    Audit {
        #[command(subcommand)]
        command: system::AuditCommand,
    },
    /// The invite-mail outbox
    Mail {
        #[command(subcommand)]
        command: system::MailCommand,
    },
}

/// What every command needs.
pub struct Ctx {
    pub client: Client,
    pub workspace: Option<String>,
    pub json: bool,
}

/// Runs one command.
pub async fn run(args: Args) -> Result<(), ClientError> {
    let endpoint = match (args.url, args.token) {
        (Some(base), Some(token)) => Endpoint::Url { base, token },
        (Some(_), None) => return Err(ClientError::Usage("--url needs --token (or ROSTER_TOKEN): create one with `roster admin-token create --name NAME` on the daemon's host".into())),
        (None, _) => Endpoint::Socket(args.socket.unwrap_or_else(default_socket)),
    };
    let Some(command) = args.command else {
        let client = Client::new(endpoint, Source::Tui)?;
        return crate::app::run(client, args.workspace).await;
    };
    let ctx = Ctx {
        client: Client::new(endpoint, Source::Cli)?,
        workspace: args.workspace,
        json: args.json,
    };
    match command {
        Command::Users { command } => members::users(&ctx, command).await,
        Command::Invite(a) => members::invite(&ctx, a).await,
        Command::Edit(a) => members::edit(&ctx, a).await,
        Command::Resend { email } => {
            members::action(&ctx, &email, "resend", "invite sent again to").await
        }
        Command::Link { email } => members::link(&ctx, &email, false).await,
        Command::ResetLink { email } => members::link(&ctx, &email, true).await,
        Command::Archive { email } => members::action(&ctx, &email, "archive", "archived").await,
        Command::Unarchive { email } => {
            members::action(&ctx, &email, "unarchive", "unarchived").await
        }
        Command::Remove { email } => members::remove(&ctx, &email).await,
        Command::Groups { command } => groups::run(&ctx, command).await,
        Command::Import(a) => imports::import(&ctx, a).await,
        Command::Imports { command } => imports::imports(&ctx, command).await,
        Command::Workspaces { command } => system::workspaces(&ctx, command).await,
        Command::ScimToken { command } => system::tokens(&ctx, command, "scim-tokens").await,
        Command::AdminToken { command } => system::tokens(&ctx, command, "admin-tokens").await,
        Command::Audit { command } => system::audit(&ctx, command).await,
        Command::Mail { command } => system::mail(&ctx, command).await,
    }
}
