//! `GET /api/v1/events`: committed changes as server-sent events.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use roster_shared::api::WORKSPACE_CREATED;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::AppState;
use super::admin::WorkspaceParam;
use super::extract::ApiQuery;

/// Streams `change` events for one workspace (or all, with `?workspace=*`).
/// A client that falls behind gets one `resync` event and should reload.
/// Events of no workspace (mail delivery pausing) and new workspaces are
/// every stream's news: an admin's workspace switcher lists them at once.
pub async fn stream(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<WorkspaceParam>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let only = match p.workspace.as_deref() {
        Some("*") => None,
        other => Some(s.services.workspace_slug(other)),
    };
    let events = BroadcastStream::new(s.services.subscribe()).filter_map(move |item| {
        let only = only.clone();
        async move {
            match item {
                Ok(change)
                    if change.workspace.is_empty()
                        || change.kind == WORKSPACE_CREATED
                        || only.as_ref().is_none_or(|w| *w == change.workspace) =>
                {
                    let data = serde_json::to_string(&change).unwrap_or_default();
                    Some(Ok(Event::default().event("change").data(data)))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    Some(Ok(Event::default().event("resync").data(n.to_string())))
                }
            }
        }
    });
    let hello =
        futures_util::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let mut shutdown = s.shutdown.clone();
    let until_shutdown = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    Sse::new(hello.chain(events).take_until(until_shutdown)).keep_alive(KeepAlive::default())
}
