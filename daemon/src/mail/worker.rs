//! The outbox worker: sends due messages in parallel and records outcomes.
//!
//! One SMTP connection manages only a couple of dozen messages a second
//! (lettre waits on Nagle's algorithm between messages), so sends run
//! concurrently over a connection pool. A message is marked sent only after
//! the server accepted it; a crash in between sends it again on restart
//! (at-least-once), never zero times. While the server cannot be reached,
//! sending pauses (see [`Server`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use roster_shared::api::MailDeliveryResponse;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::template::InviteMail;
use super::transport::{Envelope, MailTransport, SendError, build_message};
use crate::clock;
use crate::service::Services;
use crate::service::outbox::{DueMail, RetryPolicy, SendOutcome};

/// Longest the worker sleeps without looking at the queue.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Longest pause between two tries of an unavailable mail server: a try is
/// one message, and a long pause would hold the mail back once it is up.
const MOST_BETWEEN_TRIES: Duration = Duration::from_secs(60);

/// Whether the mail server serves, as the latest sends found it. While it
/// does not, one queued message at a time tries it, with pauses that
/// double, and the others wait without spending their attempts: an outage
/// of an hour must not mark a million queued invites failed, nor write a
/// log line and a database change for every try of each.
#[derive(Default)]
struct Server {
    outage: Option<Outage>,
}

struct Outage {
    since: Instant,
    pause: Duration,
    next_try: Instant,
    /// What admins see (`GET /mail/delivery`, the TUI's Mail screen).
    shown: MailDeliveryResponse,
}

impl Server {
    /// A send found the server unavailable; the first to do so in an
    /// outage says so in the log.
    fn unavailable(&mut self, why: &str, first_pause: Duration) {
        if self.outage.is_some() {
            return;
        }
        tracing::warn!(error = %why, retry_secs = first_pause.as_secs_f64(), "the mail server is unavailable: invite mail is paused until it answers; queued messages keep their attempts");
        let now = Instant::now();
        let wall = time::OffsetDateTime::now_utc();
        self.outage = Some(Outage {
            since: now,
            pause: first_pause,
            next_try: now + first_pause,
            shown: MailDeliveryResponse {
                paused_since: Some(wall),
                error: Some(why.to_string()),
                next_try_at: Some(wall + first_pause),
            },
        });
    }

    /// A try during the outage failed too: twice the pause, up to a minute.
    fn still_unavailable(&mut self, why: &str) {
        if let Some(o) = &mut self.outage {
            o.pause = (o.pause * 2).min(MOST_BETWEEN_TRIES);
            o.next_try = Instant::now() + o.pause;
            o.shown.error = Some(why.to_string());
            o.shown.next_try_at = Some(time::OffsetDateTime::now_utc() + o.pause);
            tracing::debug!(error = %why, retry_secs = o.pause.as_secs_f64(), "the mail server is still unavailable");
        }
    }

    /// What admins see of it.
    fn shown(&self) -> MailDeliveryResponse {
        self.outage
            .as_ref()
            .map(|o| o.shown.clone())
            .unwrap_or_default()
    }

    /// The server answered about a message (accepted or refused it).
    fn answered(&mut self) {
        if let Some(o) = self.outage.take() {
            tracing::info!(
                after_secs = o.since.elapsed().as_secs(),
                "the mail server answers again: sending the queued invite mail"
            );
        }
    }

    /// A try that never reached the server (its message was cancelled):
    /// the next one goes at once.
    fn try_again_now(&mut self) {
        if let Some(o) = &mut self.outage {
            o.next_try = Instant::now();
        }
    }

    /// How long to wait before the next try, while the server is unavailable.
    fn until_next_try(&self) -> Option<Duration> {
        self.outage
            .as_ref()
            .map(|o| o.next_try.saturating_duration_since(Instant::now()))
    }
}

/// Changes the server's state, tells the services what admins see and,
/// when sending pauses or resumes, announces it to every event stream.
fn update(services: &Services, server: &Mutex<Server>, change: impl FnOnce(&mut Server)) {
    let Ok(mut s) = server.lock() else { return };
    let was_paused = s.outage.is_some();
    change(&mut s);
    services.set_mail_delivery(s.shown());
    match (was_paused, s.outage.is_some()) {
        (false, true) => services.publish("", "mail.paused", ""),
        (true, false) => services.publish("", "mail.resumed", ""),
        _ => {}
    }
}

/// Runs until the task is dropped.
pub async fn run_outbox(
    services: Services,
    transport: MailTransport,
    from: Mailbox,
    concurrency: usize,
    policy: RetryPolicy,
) {
    let wakeup = services.mail_wakeup();
    let in_flight: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(concurrency));
    let server: Arc<Mutex<Server>> = Arc::default();
    let first_pause = Duration::from_millis(u64::try_from(policy.initial_backoff_ms).unwrap_or(0))
        .min(MOST_BETWEEN_TRIES);
    // Sends live in a JoinSet so that stopping the worker stops them too.
    let mut sends = tokio::task::JoinSet::new();
    loop {
        while sends.try_join_next().is_some() {}
        let until_try = server.lock().ok().and_then(|s| s.until_next_try());
        if let Some(wait) = until_try {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                continue;
            }
            // Not a message still in flight from before the outage.
            let skip = in_flight.lock().map(|s| s.clone()).unwrap_or_default();
            try_server(&services, &transport, &from, &server, policy, skip).await;
            continue;
        }
        let skip = in_flight.lock().map(|s| s.clone()).unwrap_or_default();
        let (due, next) = match services.due_mail(concurrency * 4, skip).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        let got_any = !due.is_empty();
        for mail in due {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            if server.lock().is_ok_and(|s| s.outage.is_some()) {
                // Found unavailable meanwhile: the rest wait for it.
                break;
            }
            let id = mail.message.id;
            if let Ok(mut set) = in_flight.lock() {
                set.insert(id);
            }
            let (services, transport, from, in_flight, wakeup, server) = (
                services.clone(),
                transport.clone(),
                from.clone(),
                in_flight.clone(),
                wakeup.clone(),
                server.clone(),
            );
            sends.spawn(async move {
                let ws = mail.message.workspace;
                let to = mail.message.to.clone();
                match send_one(&services, &transport, &from, mail).await {
                    Err(why) => update(&services, &server, |s| s.unavailable(&why, first_pause)),
                    Ok(outcome) => {
                        // Nothing to change while mail goes out, the usual case.
                        let paused = server.lock().is_ok_and(|s| s.outage.is_some());
                        if paused && reached_the_server(&outcome) {
                            update(&services, &server, Server::answered);
                        }
                        record(&services, id, ws, &to, outcome, policy).await;
                    }
                }
                if let Ok(mut set) = in_flight.lock() {
                    set.remove(&id);
                }
                drop(permit);
                wakeup.notify_one();
            });
        }
        if got_any && next.is_some_and(|n| n <= clock::now_ms()) {
            continue;
        }
        let wait = next
            .map(|n| Duration::from_millis(u64::try_from(n - clock::now_ms()).unwrap_or(0)))
            .unwrap_or(IDLE_POLL)
            .min(IDLE_POLL);
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Tries the unavailable server with the oldest due message; with nothing
/// due, the outage no longer holds anything back and is forgotten.
async fn try_server(
    services: &Services,
    transport: &MailTransport,
    from: &Mailbox,
    server: &Mutex<Server>,
    policy: RetryPolicy,
    in_flight: HashSet<Uuid>,
) {
    let due = match services.due_mail(1, in_flight).await {
        Ok((due, _)) => due,
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox failed");
            tokio::time::sleep(IDLE_POLL).await;
            return;
        }
    };
    let Some(mail) = due.into_iter().next() else {
        update(services, server, |s| s.outage = None);
        return;
    };
    let (id, ws, to) = (
        mail.message.id,
        mail.message.workspace,
        mail.message.to.clone(),
    );
    match send_one(services, transport, from, mail).await {
        Err(why) => update(services, server, |s| s.still_unavailable(&why)),
        Ok(outcome) => {
            if reached_the_server(&outcome) {
                update(services, server, Server::answered);
            } else {
                update(services, server, Server::try_again_now);
            }
            record(services, id, ws, &to, outcome, policy).await;
        }
    }
}

/// Logs what became of a message that did not go out, and records the
/// outcome in the outbox.
async fn record(
    services: &Services,
    id: Uuid,
    ws: Uuid,
    to: &str,
    outcome: SendOutcome,
    policy: RetryPolicy,
) {
    match &outcome {
        SendOutcome::Failed(err) => {
            tracing::warn!(to = %to, error = %err, "invite mail not delivered; will retry");
        }
        SendOutcome::Rejected(err) => {
            tracing::warn!(to = %to, error = %err, "invite mail refused by the mail server; marked failed");
        }
        SendOutcome::Sent | SendOutcome::Cancelled(_) => {}
    }
    if let Err(e) = services.record_send(id, ws, outcome, policy).await {
        tracing::error!(error = %e, "recording a mail outcome failed");
    }
}

/// Whether an outcome is the server's answer (a cancelled message never
/// reached it, so says nothing about whether it serves).
fn reached_the_server(outcome: &SendOutcome) -> bool {
    !matches!(outcome, SendOutcome::Cancelled(_))
}

/// Sends one due message: what to record about it, or, as `Err`, why the
/// server is unavailable (nothing is recorded: the message stays due).
async fn send_one(
    services: &Services,
    transport: &MailTransport,
    from: &Mailbox,
    mail: DueMail,
) -> Result<SendOutcome, String> {
    let Some(member) = mail.member else {
        return Ok(SendOutcome::Cancelled(
            "the link in this mail was revoked, reset or used before it could be sent".into(),
        ));
    };
    let Some(inv) = &member.invitation else {
        return Ok(SendOutcome::Cancelled(
            "the member has no open invite link".into(),
        ));
    };
    let link = services.invite_url(&services.links.token(inv.id, &inv.nonce));
    let body = InviteMail {
        invitee: &member.name,
        inviter: &mail.message.inviter,
        workspace: &mail.workspace_name,
        link: &link,
        expires_at: clock::to_datetime(inv.expires_at),
    };
    let envelope = Envelope {
        outbox_id: mail.message.id,
        to_name: &member.name,
        to: &mail.message.to,
        subject: &mail.message.subject,
    };
    let message = match build_message(from, &envelope, body.text(), body.html()) {
        Ok(m) => m,
        Err(e) => return Ok(SendOutcome::Rejected(e)),
    };
    match transport.send(message).await {
        Ok(()) => Ok(SendOutcome::Sent),
        Err(SendError::Deferred(why)) => Ok(SendOutcome::Failed(why)),
        Err(SendError::Rejected(why)) => Ok(SendOutcome::Rejected(why)),
        Err(SendError::Unavailable(why)) => Err(why),
    }
}
