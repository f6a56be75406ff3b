//! Everything the app loop reacts to, as one stream: terminal input, ticks,
//! answers to requests and the daemon's change events.

use std::time::Duration;

use futures_util::StreamExt;
use roster_shared::api::ChangeEvent;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::action::Action;
use crate::client::Client;

/// How often the screen animates and debounced reloads run.
pub const TICK: Duration = Duration::from_millis(200);
/// Pause before reconnecting to a daemon that went away.
const RECONNECT: Duration = Duration::from_secs(1);

/// One input to the app loop.
#[derive(Debug)]
pub enum Event {
    /// A key, a resize, a paste…
    Terminal(crossterm::event::Event),
    /// Already an action (ticks, request answers, change events).
    Action(Action),
}

/// Reads the terminal until the channel closes.
pub fn spawn_terminal(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut input = crossterm::event::EventStream::new();
        while let Some(Ok(ev)) = input.next().await {
            if tx.send(Event::Terminal(ev)).is_err() {
                return;
            }
        }
    });
}

/// Ticks until the channel closes.
pub fn spawn_ticks(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        loop {
            every.tick().await;
            if tx.send(Event::Action(Action::Tick)).is_err() {
                return;
            }
        }
    });
}

/// Follows `/api/v1/events` for the workspace `following` names (the
/// daemon's default while it names none), reconnecting whenever the daemon
/// goes away and whenever the admin switches workspaces: the daemon sends
/// each stream the changes of its own workspace only.
pub fn spawn_changes(
    client: Client,
    tx: UnboundedSender<Event>,
    mut following: watch::Receiver<Option<String>>,
) {
    tokio::spawn(async move {
        loop {
            let workspace = following.borrow_and_update().clone();
            let mut switched = false;
            if let Ok(resp) = client.event_stream(workspace.as_deref()).await {
                let mut body = resp.bytes_stream();
                let mut buffer = String::new();
                loop {
                    let chunk = tokio::select! {
                        chunk = body.next() => chunk,
                        // Another workspace: this stream's news is not its.
                        followed = following.changed() => {
                            if followed.is_err() {
                                return;
                            }
                            switched = true;
                            break;
                        }
                    };
                    let Some(Ok(chunk)) = chunk else { break };
                    buffer.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buffer.find("\n\n") {
                        let message: String = buffer.drain(..end + 2).collect();
                        let action = match parse_sse(&message) {
                            Some(SseMessage::Ready) => Action::Connection(true),
                            Some(SseMessage::Change(c)) => Action::Changed(c),
                            None => continue,
                        };
                        if tx.send(Event::Action(action)).is_err() {
                            return;
                        }
                    }
                }
            }
            if switched {
                continue;
            }
            if tx.send(Event::Action(Action::Connection(false))).is_err() {
                return;
            }
            tokio::time::sleep(RECONNECT).await;
        }
    });
}

/// What one server-sent event says.
#[derive(Debug, PartialEq)]
enum SseMessage {
    Ready,
    Change(ChangeEvent),
}

fn parse_sse(message: &str) -> Option<SseMessage> {
    let mut event = "message";
    let mut data = String::new();
    for line in message.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push_str(d.trim_start());
        }
    }
    match event {
        "ready" => Some(SseMessage::Ready),
        // A lagging stream: reload as for any change.
        "change" | "resync" => serde_json::from_str(&data)
            .ok()
            .map(SseMessage::Change)
            .or(Some(SseMessage::Change(ChangeEvent {
                workspace: String::new(),
                kind: "resync".into(),
                target: String::new(),
            }))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_sent_events_become_actions() {
        assert_eq!(
            parse_sse("event: ready\ndata: {}\n\n"),
            Some(SseMessage::Ready)
        );
        let change = parse_sse(
            "event: change\ndata: {\"workspace\":\"default\",\"kind\":\"member.invited\",\"target\":\"a@b.co\"}\n\n",
        );
        assert!(matches!(change, Some(SseMessage::Change(c)) if c.target == "a@b.co"));
        assert!(matches!(
            parse_sse("event: resync\ndata: 12\n\n"),
            Some(SseMessage::Change(_))
        ));
        assert_eq!(parse_sse(":keep-alive\n\n"), None);
    }
}
