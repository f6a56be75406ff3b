//! The outbox worker: sends due messages in parallel and records outcomes.
//!
//! One SMTP connection manages only a couple of dozen messages a second
//! (lettre waits on Nagle's algorithm between messages), so sends run
//! concurrently over a connection pool. A message is marked sent only after
//! the server accepted it; a crash in between sends it again on restart
//! (at-least-once), never zero times.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::template::InviteMail;
use super::transport::{Envelope, MailTransport, build_message};
use crate::clock;
use crate::service::Services;
use crate::service::outbox::{DueMail, RetryPolicy, SendOutcome};

/// Longest the worker sleeps without looking at the queue.
const IDLE_POLL: Duration = Duration::from_secs(5);

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
    // Sends live in a JoinSet so that stopping the worker stops them too.
    let mut sends = tokio::task::JoinSet::new();
    loop {
        while sends.try_join_next().is_some() {}
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
            let id = mail.message.id;
            if let Ok(mut set) = in_flight.lock() {
                set.insert(id);
            }
            let (services, transport, from, in_flight, wakeup) = (
                services.clone(),
                transport.clone(),
                from.clone(),
                in_flight.clone(),
                wakeup.clone(),
            );
            sends.spawn(async move {
                let ws = mail.message.workspace;
                let to = mail.message.to.clone();
                let outcome = send_one(&services, &transport, &from, mail).await;
                if let SendOutcome::Failed(err) = &outcome {
                    tracing::warn!(to = %to, error = %err, "invite mail not delivered; will retry");
                }
                if let Err(e) = services.record_send(id, ws, outcome, policy).await {
                    tracing::error!(error = %e, "recording a mail outcome failed");
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

async fn send_one(
    services: &Services,
    transport: &MailTransport,
    from: &Mailbox,
    mail: DueMail,
) -> SendOutcome {
    let Some(member) = mail.member else {
        return SendOutcome::Cancelled(
            "the link in this mail was revoked, reset or used before it could be sent".into(),
        );
    };
    let Some(inv) = &member.invitation else {
        return SendOutcome::Cancelled("the member has no open invite link".into());
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
        Err(e) => return SendOutcome::Failed(e),
    };
    match transport.send(message).await {
        Ok(()) => SendOutcome::Sent,
        Err(e) => SendOutcome::Failed(e),
    }
}
