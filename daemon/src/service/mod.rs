//! Use cases. Each write use case is one durable transaction that also
//! appends its audit event and, where mail is due, its outbox row.

pub mod accept;
pub mod audit;
pub mod groups;
pub mod imports;
pub mod listing;
pub mod members;
pub mod outbox;
pub mod scim;
pub mod tokens;
pub mod views;
pub mod workspaces;

use std::sync::Arc;

use roster_shared::StatusModel;
use roster_shared::api::{ChangeEvent, MailDeliveryResponse, Source};
use tokio::sync::{Notify, broadcast};

use crate::links::LinkSigner;
use crate::store::Store;

/// Who asked for a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub source: Source,
}

impl Actor {
    /// The daemon itself (start-up, the outbox worker).
    pub fn system() -> Self {
        Self {
            name: "rosterd".into(),
            source: Source::System,
        }
    }
}

/// Settings the use cases need, copied out of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub public_url: String,
    pub status_model: StatusModel,
    pub invite_expiry_ms: i64,
    pub default_workspace: String,
}

/// Everything a use case needs; cheap to clone into handlers.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub links: LinkSigner,
    pub settings: Arc<Settings>,
    events: broadcast::Sender<ChangeEvent>,
    mail_wakeup: Arc<Notify>,
    token_cache: Arc<tokens::TokenCache>,
    page_cursors: Arc<scim::cursors::PageCursors>,
    mail_delivery: Arc<std::sync::Mutex<MailDeliveryResponse>>,
}

impl Services {
    /// Assembles the service layer over an open store.
    pub fn new(store: Store, links: LinkSigner, settings: Settings) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            store,
            links,
            settings: Arc::new(settings),
            events,
            mail_wakeup: Arc::new(Notify::new()),
            token_cache: Arc::default(),
            page_cursors: Arc::default(),
            mail_delivery: Arc::default(),
        }
    }

    /// Whether invite mail is going out, as the outbox worker last found.
    pub fn mail_delivery(&self) -> MailDeliveryResponse {
        self.mail_delivery
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// The outbox worker's news: sending paused (and why) or going out.
    pub fn set_mail_delivery(&self, delivery: MailDeliveryResponse) {
        if let Ok(mut d) = self.mail_delivery.lock() {
            *d = delivery;
        }
    }

    /// A live feed of committed changes (for server-sent events).
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    /// Announces a committed change.
    pub fn publish(&self, workspace: &str, kind: &str, target: &str) {
        // No subscribers is fine.
        let _ = self.events.send(ChangeEvent {
            workspace: workspace.to_string(),
            kind: kind.to_string(),
            target: target.to_string(),
        });
    }

    /// Wakes the outbox worker after a commit that queued mail.
    pub fn wake_mailer(&self) {
        self.mail_wakeup.notify_one();
    }

    /// What the outbox worker waits on.
    pub fn mail_wakeup(&self) -> Arc<Notify> {
        self.mail_wakeup.clone()
    }

    /// The full invite link of a token.
    pub fn invite_url(&self, token: &str) -> String {
        format!("{}/invite/{token}", self.settings.public_url)
    }
}
