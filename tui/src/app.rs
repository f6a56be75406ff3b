//! The TUI's event loop: draw, wait for the next event, turn it into an
//! action, update the state, run the commands in the background.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use roster_shared::api::{
    AuditEventResponse, AuditQuery, CreateTokenRequest, GroupNameRequest, GroupResponse,
    ImportJobResponse, ImportRowResponse, ImportRowsQuery, LinkResponse, MailDeliveryResponse,
    MailResponse, MemberResponse, Page, RetryMailRequest, RetryMailResponse, RowOutcome,
    TokenCreatedResponse, WorkspaceResponse,
};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::client::{Client, ClientError, Endpoint, segment};
use crate::event::{self, Event};
use crate::screens::{self, ListView, Screen};
use crate::state::{Command, MemberAction, State};
use crate::ui::{self, theme::Theme};
use crate::{clipboard, keymap, strings};

/// Runs the TUI until the admin quits; the terminal is restored on every
/// exit, panics included (ratatui's init installs the hook).
pub async fn run(client: Client, workspace: Option<String>) -> Result<(), ClientError> {
    // Before taking over the screen: is a daemon there (or may we start one)?
    ensure_daemon(&client).await?;
    let mut terminal = ratatui::init();
    // A terminal without an alternate screen (the Linux console, some
    // serial and multiplexer setups) keeps what was on it, such as the
    // start-a-daemon question; ratatui only draws cells that change.
    let _ = terminal.clear();
    let outcome = event_loop(&mut terminal, client, workspace).await;
    ratatui::restore();
    outcome
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: Client,
    workspace: Option<String>,
) -> Result<(), ClientError> {
    let theme = Theme::from_env();
    let rows = terminal.size().map(|s| s.height).unwrap_or(24);
    let (tx, mut rx) = mpsc::unbounded_channel();
    event::spawn_terminal(tx.clone());
    event::spawn_ticks(tx.clone());
    // The change stream follows the workspace on screen.
    let (following, followed) = tokio::sync::watch::channel(workspace.clone());
    event::spawn_changes(client.clone(), tx.clone(), followed);
    let mut state = State::new(workspace, rows);
    let mut pending = state.start();
    // Later changes arrive as `mail.paused`/`mail.resumed` events.
    let delivery_client = client.clone();
    spawn(&tx, async move {
        let delivery: Result<MailDeliveryResponse, _> = delivery_client
            .get("/mail/delivery", &[("workspace", None::<&str>)])
            .await;
        Action::MailPaused(delivery.is_ok_and(|d| d.paused_since.is_some()))
    });
    loop {
        for command in pending.drain(..) {
            if !run_command(command, &client, &state, &tx) {
                return Ok(());
            }
        }
        terminal
            .draw(|f| ui::draw(&state, theme, f))
            .map_err(|e| ClientError::Usage(format!("cannot draw on this terminal: {e}")))?;
        let Some(next) = rx.recv().await else {
            return Ok(());
        };
        let action = match next {
            Event::Action(a) => Some(a),
            Event::Terminal(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => {
                keymap::action_for(key, state.mode)
            }
            Event::Terminal(TermEvent::Resize(_, rows)) => Some(Action::Resize { rows }),
            Event::Terminal(_) => None,
        };
        if let Some(action) = action {
            pending = state.update(action);
            following.send_if_modified(|followed| {
                let switched = *followed != state.workspace;
                if switched {
                    followed.clone_from(&state.workspace);
                }
                switched
            });
        }
    }
}

/// Runs a request in the background; its answer comes back as an action.
fn spawn<F>(tx: &mpsc::UnboundedSender<Event>, request: F)
where
    F: std::future::Future<Output = Action> + Send + 'static,
{
    let tx = tx.clone();
    tokio::spawn(async move {
        let _ = tx.send(Event::Action(request.await));
    });
}

/// Most rows a list screen fetches.
const SCREEN_ROWS: usize = 500;

/// The rows of a screen other than Users.
async fn load_screen(
    client: &Client,
    workspace: Option<&str>,
    screen: Screen,
    audit: AuditQuery,
) -> Result<ListView, ClientError> {
    let ws = [("workspace", workspace)];
    let paged = [
        ("workspace", workspace.map(str::to_string)),
        ("limit", Some(SCREEN_ROWS.to_string())),
    ];
    Ok(match screen {
        Screen::Users => ListView::default(),
        Screen::Groups => screens::groups(client.get("/groups", &ws).await?),
        Screen::Imports => screens::imports(client.get("/imports", &ws).await?),
        Screen::Mail => {
            let page: Page<MailResponse> = client.get("/mail", &paged).await?;
            let delivery: MailDeliveryResponse = client.get("/mail/delivery", &ws).await?;
            screens::mail(page.items, &delivery)
        }
        Screen::Audit => {
            let page: Page<AuditEventResponse> = client.get("/audit", &audit).await?;
            screens::audit(page.items)
        }
        Screen::Tokens => screens::tokens(client.get("/scim-tokens", &ws).await?),
    })
}

/// The Audit screen's filter: `actor:`, `source:`, `action:`, `since:`,
/// `until:` words, anything else is the member (target).
fn audit_query(filter: &str, workspace: Option<String>) -> AuditQuery {
    let mut q = AuditQuery {
        workspace,
        limit: Some(SCREEN_ROWS),
        ..AuditQuery::default()
    };
    let mut target = Vec::new();
    for word in filter.split_whitespace() {
        match word.split_once(':') {
            Some(("actor", v)) => q.actor = Some(v.to_string()),
            Some(("source", v)) => q.source = Some(v.to_string()),
            Some(("action", v)) => q.action = Some(v.to_string()),
            Some(("since", v)) => q.since = Some(v.to_string()),
            Some(("until", v)) => q.until = Some(v.to_string()),
            _ => target.push(word),
        }
    }
    if !target.is_empty() {
        q.target = Some(target.join(" "));
    }
    q
}

/// An import job's file name and report lines: errors first, then the rest.
async fn import_rows(
    client: &Client,
    id: &str,
) -> Result<(String, Vec<ImportRowResponse>), ClientError> {
    const SHOWN: usize = 200;
    let job: ImportJobResponse = client
        .get(&format!("/imports/{}", segment(id)), &())
        .await?;
    let path = format!("/imports/{}/rows", segment(id));
    let errors = ImportRowsQuery {
        outcome: Some("error".into()),
        limit: Some(SHOWN),
        ..ImportRowsQuery::default()
    };
    let mut rows: Vec<ImportRowResponse> = client.get(&path, &errors).await?;
    if rows.len() < SHOWN {
        let all = ImportRowsQuery {
            limit: Some(SHOWN),
            ..ImportRowsQuery::default()
        };
        let rest: Vec<ImportRowResponse> = client.get(&path, &all).await?;
        let room = SHOWN - rows.len();
        rows.extend(
            rest.into_iter()
                .filter(|r| r.outcome != RowOutcome::Error)
                .take(room),
        );
    }
    let title = format!(
        "{}: {}",
        job.file_name,
        job.message.unwrap_or_else(|| job.counts.summary())
    );
    Ok((title, rows))
}

/// Checks that the daemon answers; when none runs on the local socket and a
/// person is at the terminal, offers to start one with the embedded
/// defaults (it keeps running after the TUI quits).
async fn ensure_daemon(client: &Client) -> Result<(), ClientError> {
    let unreachable = match client.get::<_, serde_json::Value>("/workspaces", &()).await {
        Ok(_) => return Ok(()),
        Err(ClientError::Unreachable(at)) => ClientError::Unreachable(at),
        Err(e) => return Err(e),
    };
    let Endpoint::Socket(socket) = client.endpoint() else {
        return Err(unreachable);
    };
    let Some(data_dir) = socket.parent().filter(|_| std::io::stdin().is_terminal()) else {
        return Err(unreachable);
    };
    eprint!("{}", strings::offer_start(socket, data_dir));
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim().to_lowercase().starts_with('n') {
        return Err(unreachable);
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| ClientError::Usage(format!("cannot create {}: {e}", data_dir.display())))?;
    let log_path = data_dir.join("rosterd.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| ClientError::Usage(format!("cannot write {}: {e}", log_path.display())))?;
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("rosterd")))
        .filter(|p| p.exists());
    let program = beside.unwrap_or_else(|| "rosterd".into());
    std::process::Command::new(&program)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| ClientError::Usage(format!("cannot start {}: {e}", program.display())))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if client
            .get::<_, serde_json::Value>("/workspaces", &())
            .await
            .is_ok()
        {
            eprintln!("{}", strings::started(&log_path));
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ClientError::Usage(format!(
        "rosterd did not start in 20 s; see {}",
        log_path.display()
    )))
}

/// Starts one command; `false` means quit.
fn run_command(
    command: Command,
    client: &Client,
    state: &State,
    tx: &mpsc::UnboundedSender<Event>,
) -> bool {
    match command {
        Command::Quit => return false,
        Command::Copy(text) => {
            let mut out = std::io::stdout();
            let _ = clipboard::copy(&mut out, &text);
            let _ = out.flush();
        }
        Command::Load { seq, query, append } => {
            let client = client.clone();
            spawn(tx, async move {
                let result: Result<Page<MemberResponse>, ClientError> =
                    client.get("/members", &query).await;
                let result = result.map_err(|e| e.to_string());
                Action::Loaded {
                    seq,
                    append,
                    result,
                }
            });
        }
        Command::LoadGroups => {
            let (client, workspace) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let result: Result<Vec<GroupResponse>, ClientError> = client
                    .get("/groups", &[("workspace", workspace.as_deref())])
                    .await;
                let names = result
                    .map(|gs| gs.into_iter().map(|g| g.name).collect())
                    .map_err(|e| e.to_string());
                Action::GroupsLoaded(names)
            });
        }
        Command::Invite(req) => {
            let (client, workspace) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let result: Result<MemberResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::POST,
                        "/members",
                        workspace.as_deref(),
                        &req,
                    )
                    .await;
                Action::InviteDone(result.map(Box::new).map_err(|e| e.to_string()))
            });
        }
        Command::Member { email, action } => {
            let (client, workspace) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let path = format!("/members/{}", segment(&email));
                let result = match action {
                    MemberAction::Remove => client.delete(&path, workspace.as_deref()).await,
                    other => client
                        .post_empty::<serde_json::Value>(
                            &format!("{path}/{}", other.path()),
                            workspace.as_deref(),
                        )
                        .await
                        .map(|_| ()),
                };
                let done = match action {
                    MemberAction::Resend => "sent the invite again to",
                    MemberAction::ResetLink => "issued a new invite link for",
                    MemberAction::Archive => "archived",
                    MemberAction::Unarchive => "unarchived",
                    MemberAction::Remove => "removed",
                };
                let outcome = result
                    .map(|()| strings::member_done(done, &email))
                    .map_err(|e| e.to_string());
                Action::Done(outcome)
            });
        }
        Command::LoadScreen { seq, screen } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            let filter = audit_query(&state.audit_filter, ws.clone());
            spawn(tx, async move {
                let result = load_screen(&client, ws.as_deref(), screen, filter)
                    .await
                    .map_err(|e| e.to_string());
                Action::ScreenLoaded { seq, result }
            });
        }
        Command::LoadImportRows { id } => {
            let client = client.clone();
            spawn(tx, async move {
                Action::ImportRowsLoaded(import_rows(&client, &id).await.map_err(|e| e.to_string()))
            });
        }
        Command::DeleteGroup { name } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r = client
                    .delete(&format!("/groups/{}", segment(&name)), ws.as_deref())
                    .await;
                Action::Done(
                    r.map(|()| format!("deleted group {name}"))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::RevokeToken { name } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r = client
                    .delete(&format!("/scim-tokens/{}", segment(&name)), ws.as_deref())
                    .await;
                Action::Done(
                    r.map(|()| format!("revoked SCIM token {name}"))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::RetryMail { id } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r: Result<RetryMailResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::POST,
                        "/mail/retry",
                        ws.as_deref(),
                        &RetryMailRequest { id: Some(id) },
                    )
                    .await;
                Action::Done(
                    r.map(|r| format!("queued {} message(s) again", r.queued))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::LoadWorkspaces => {
            let client = client.clone();
            spawn(tx, async move {
                let r: Result<Vec<WorkspaceResponse>, ClientError> =
                    client.get("/workspaces", &()).await;
                Action::WorkspacesLoaded(
                    r.map(|ws| ws.into_iter().map(|w| w.slug).collect())
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::LoadForEdit { email } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let loaded = async {
                    let member: MemberResponse = client
                        .get(
                            &format!("/members/{}", segment(&email)),
                            &[("workspace", ws.clone()), ("reveal", Some("true".into()))],
                        )
                        .await?;
                    let groups: Vec<GroupResponse> = client
                        .get("/groups", &[("workspace", ws.as_deref())])
                        .await?;
                    Ok::<_, ClientError>((
                        Box::new(member),
                        groups.into_iter().map(|g| g.name).collect(),
                    ))
                };
                Action::EditLoaded(loaded.await.map_err(|e| e.to_string()))
            });
        }
        Command::Edit { email, req } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r: Result<MemberResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::PATCH,
                        &format!("/members/{}", segment(&email)),
                        ws.as_deref(),
                        &req,
                    )
                    .await;
                Action::InviteDone(r.map(Box::new).map_err(|e| e.to_string()))
            });
        }
        Command::CreateGroup { name } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r: Result<GroupResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::POST,
                        "/groups",
                        ws.as_deref(),
                        &GroupNameRequest { name },
                    )
                    .await;
                Action::Done(
                    r.map(|g| format!("created group {}", g.name))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::RenameGroup { from, to } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r: Result<GroupResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::PATCH,
                        &format!("/groups/{}", segment(&from)),
                        ws.as_deref(),
                        &GroupNameRequest { name: to },
                    )
                    .await;
                Action::Done(
                    r.map(|g| format!("renamed group {from} to {}", g.name))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::CreateToken { name } => {
            let (client, ws) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let r: Result<TokenCreatedResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::POST,
                        "/scim-tokens",
                        ws.as_deref(),
                        &CreateTokenRequest { name },
                    )
                    .await;
                Action::TokenCreated(
                    r.map(|t| (t.token.name, t.secret))
                        .map_err(|e| e.to_string()),
                )
            });
        }
        Command::FetchLink { email } => {
            let (client, workspace) = (client.clone(), state.workspace.clone());
            spawn(tx, async move {
                let path = format!("/members/{}/link", segment(&email));
                let result: Result<LinkResponse, ClientError> = client
                    .get(&path, &[("workspace", workspace.as_deref())])
                    .await;
                Action::LinkLoaded(result.map_err(|e| e.to_string()))
            });
        }
    }
    true
}
