//! The TUI's event loop: draw, wait for the next event, turn it into an
//! action, update the state, run the commands in the background.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use roster_shared::api::{GroupResponse, LinkResponse, MemberResponse, Page};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::client::{Client, ClientError, Endpoint, segment};
use crate::event::{self, Event};
use crate::state::{Command, MemberAction, State};
use crate::ui::{self, theme::Theme};
use crate::{clipboard, keymap, strings};

/// Runs the TUI until the admin quits; the terminal is restored on every
/// exit, panics included (ratatui's init installs the hook).
pub async fn run(client: Client, workspace: Option<String>) -> Result<(), ClientError> {
    // Before taking over the screen: is a daemon there (or may we start one)?
    ensure_daemon(&client).await?;
    let mut terminal = ratatui::init();
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
    event::spawn_changes(client.clone(), tx.clone());
    let mut state = State::new(workspace, rows);
    let mut pending = state.start();
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
        }
    }
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
            let (client, tx) = (client.clone(), tx.clone());
            tokio::spawn(async move {
                let result: Result<Page<MemberResponse>, ClientError> =
                    client.get("/members", &query).await;
                let result = result.map_err(|e| e.to_string());
                let _ = tx.send(Event::Action(Action::Loaded {
                    seq,
                    append,
                    result,
                }));
            });
        }
        Command::LoadGroups => {
            let (client, tx) = (client.clone(), tx.clone());
            let workspace = state.workspace.clone();
            tokio::spawn(async move {
                let result: Result<Vec<GroupResponse>, ClientError> = client
                    .get("/groups", &[("workspace", workspace.as_deref())])
                    .await;
                let names = result
                    .map(|gs| gs.into_iter().map(|g| g.name).collect())
                    .map_err(|e| e.to_string());
                let _ = tx.send(Event::Action(Action::GroupsLoaded(names)));
            });
        }
        Command::Invite(req) => {
            let (client, tx) = (client.clone(), tx.clone());
            let workspace = state.workspace.clone();
            tokio::spawn(async move {
                let result: Result<MemberResponse, ClientError> = client
                    .send_json(
                        reqwest::Method::POST,
                        "/members",
                        workspace.as_deref(),
                        &req,
                    )
                    .await;
                let _ = tx.send(Event::Action(Action::InviteDone(
                    result.map(Box::new).map_err(|e| e.to_string()),
                )));
            });
        }
        Command::Member { email, action } => {
            let (client, tx) = (client.clone(), tx.clone());
            let workspace = state.workspace.clone();
            tokio::spawn(async move {
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
                let _ = tx.send(Event::Action(Action::MemberDone(outcome)));
            });
        }
        Command::FetchLink { email } => {
            let (client, tx) = (client.clone(), tx.clone());
            let workspace = state.workspace.clone();
            tokio::spawn(async move {
                let path = format!("/members/{}/link", segment(&email));
                let result: Result<LinkResponse, ClientError> = client
                    .get(&path, &[("workspace", workspace.as_deref())])
                    .await;
                let _ = tx.send(Event::Action(Action::LinkLoaded(
                    result.map_err(|e| e.to_string()),
                )));
            });
        }
    }
    true
}
