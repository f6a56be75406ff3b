//! Where mail goes: an SMTP server (pooled connections) or `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::server::SmtpServer;
use crate::config::SmtpConfig;

/// The configured transport.
#[derive(Clone)]
pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("smtp.url \"{url}\" is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("smtp.host \"{host}\" is not usable: {reason}")]
    BadHost { host: String, reason: String },
    #[error("{0}")]
    Credentials(&'static str),
    #[error("smtp.from \"{0}\" is not a valid mailbox")]
    BadFrom(String),
    #[error("SMTP password file {path}: {source}")]
    PasswordFile {
        path: String,
        source: std::io::Error,
    },
    #[error("mail folder {path}: {source}")]
    MailDir {
        path: String,
        source: std::io::Error,
    },
}

impl MailTransport {
    /// SMTP when a server is configured (`smtp.url` or `smtp.host`),
    /// otherwise `.eml` files in `mail_dir`.
    pub fn from_config(smtp: &SmtpConfig, mail_dir: PathBuf) -> Result<Self, TransportError> {
        let Some(server) = SmtpServer::from_config(smtp)? else {
            std::fs::create_dir_all(&mail_dir).map_err(|source| TransportError::MailDir {
                path: mail_dir.display().to_string(),
                source,
            })?;
            tracing::warn!(dir = %mail_dir.display(), "no SMTP server configured (smtp.host or smtp.url; ROSTER_SMTP_HOST): invite mail is written as .eml files; every link can also be shown with `roster link EMAIL`");
            return Ok(MailTransport::Files(AsyncFileTransport::new(mail_dir)));
        };
        tracing::info!(server = %server.shown, "sending invite mail over SMTP");
        let transport = server
            .builder
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)))
            .pool_config(PoolConfig::new().max_size(smtp.pool_size))
            .build();
        Ok(MailTransport::Smtp(transport))
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            MailTransport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::of_smtp(&e)),
            MailTransport::Files(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Unavailable(format!("the mail folder: {e}"))),
        }
    }
}

/// Why a message was not sent. The worker pauses all sending while the
/// server is unavailable, instead of spending every queued message's
/// attempts on an outage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No answer about this message: the server could not be reached, the
    /// conversation broke, it refused our credentials or to serve at all
    /// (`421`). Every message would fail alike.
    Unavailable(String),
    /// The server put this message off (a 4xx reply): try it again later.
    Deferred(String),
    /// The server refused this message for good (a 5xx reply, such as an
    /// unknown mailbox): trying again would only delay the news.
    Rejected(String),
}

/// SMTP replies about the session, not the message: service not available
/// (421) and the authentication failures of RFC 4954 (454, 530, 534, 535, 538).
const SESSION_REPLIES: [u16; 6] = [421, 454, 530, 534, 535, 538];

/// lettre blames the client both for a message this server cannot take
/// (non-ASCII without SMTPUTF8 or 8BITMIME) and for a session it cannot set
/// up: these are the session's, with what to change when the configuration
/// can mend it.
const SESSION_CLIENT_ERRORS: [(&str, Option<&str>); 4] = [
    (
        "STARTTLS is not supported",
        Some(
            "it does not offer STARTTLS, which the configuration requires: set smtp.tls to \"tls\" for a TLS port such as 465 or to \"none\" for a plain relay (with smtp.url: smtps://, or no ?tls=required)",
        ),
    ),
    ("No compatible authentication mechanism", None),
    ("Connection is not encrypted", None),
    ("challenge", None),
];

impl SendError {
    fn of_smtp(e: &lettre::transport::smtp::Error) -> Self {
        let text = e.to_string();
        if refuses_sender(&text) {
            return Self::Unavailable(format!(
                "it refuses roster's sender address, so every message would fail alike: check smtp.from ({text})"
            ));
        }
        if e.is_client()
            && let Some((_, hint)) = SESSION_CLIENT_ERRORS.iter().find(|(s, _)| text.contains(s))
        {
            return Self::Unavailable(match hint {
                Some(hint) => format!("{hint} ({text})"),
                None => text,
            });
        }
        Self::kind_of(e.status().map(u16::from), e.is_client())(text)
    }

    /// The kind of a failed send, from the server's reply code (none when
    /// it gave no reply) and whether lettre blames the message itself.
    fn kind_of(reply: Option<u16>, message_at_fault: bool) -> fn(String) -> Self {
        match reply {
            Some(code) if SESSION_REPLIES.contains(&code) => Self::Unavailable,
            Some(code) if code >= 500 => Self::Rejected,
            Some(_) => Self::Deferred,
            None if message_at_fault => Self::Rejected,
            None => Self::Unavailable,
        }
    }
}

/// Whether a reply refuses the sender rather than the recipient: its
/// enhanced status code (RFC 3463) is `5.1.7` (bad sender mailbox syntax)
/// or `5.1.8` (bad sender system address). Such a refusal is the
/// configuration's, and the same for every message.
fn refuses_sender(reply: &str) -> bool {
    reply
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .any(|word| matches!(word, "5.1.7" | "5.1.8"))
}

/// What one invite mail says and to whom.
pub struct Envelope<'a> {
    /// The outbox message: every attempt to send it carries the same
    /// Message-ID, so a receiver that got it before a failed reply can tell.
    pub outbox_id: uuid::Uuid,
    pub to_name: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
}

/// Builds the invite message with a plain-text and an HTML part, a
/// Message-ID of its own (spam filters mark mail without one; lettre does
/// not add it) and `Auto-Submitted: auto-generated` (RFC 3834), so
/// out-of-office replies do not answer it.
pub fn build_message(
    from: &Mailbox,
    mail: &Envelope<'_>,
    text: String,
    html: String,
) -> Result<Message, String> {
    let to: Mailbox = Mailbox::new(
        Some(mail.to_name.to_string()),
        mail.to
            .parse()
            .map_err(|e| format!("recipient {} is not deliverable: {e}", mail.to))?,
    );
    let auto_submitted = HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_string(),
    );
    Message::builder()
        .message_id(Some(format!(
            "<{}@{}>",
            mail.outbox_id.simple(),
            from.email.domain()
        )))
        .raw_header(auto_submitted)
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())
}

/// Parses `smtp.from`.
pub fn from_mailbox(smtp: &SmtpConfig) -> Result<Mailbox, TransportError> {
    smtp.from
        .parse()
        .map_err(|_| TransportError::BadFrom(smtp.from.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_about_the_session_pause_sending_and_replies_about_a_message_do_not() {
        let cases = [
            // No reply at all: refused connection, timeout, TLS, a dropped line.
            (None, false, "unavailable"),
            // Service not available; credentials refused (RFC 4954).
            (Some(421), false, "unavailable"),
            (Some(454), false, "unavailable"),
            (Some(530), false, "unavailable"),
            (Some(535), false, "unavailable"),
            // About this message: put off, or refused for good.
            (Some(450), false, "deferred"),
            (Some(452), false, "deferred"),
            (Some(550), false, "rejected"),
            (Some(553), false, "rejected"),
            (Some(554), false, "rejected"),
            // lettre could not even write the message.
            (None, true, "rejected"),
        ];
        for (reply, message_at_fault, want) in cases {
            let kind = match SendError::kind_of(reply, message_at_fault)("x".into()) {
                SendError::Unavailable(_) => "unavailable",
                SendError::Deferred(_) => "deferred",
                SendError::Rejected(_) => "rejected",
            };
            assert_eq!(kind, want, "{reply:?}");
        }
    }

    #[test]
    fn a_refused_sender_is_told_from_a_refused_recipient() {
        assert!(refuses_sender(
            "permanent error (553): 5.1.8 <noreply@nowhere.invalid>: Sender address rejected: Domain not found"
        ));
        assert!(refuses_sender(
            "permanent error (501): 5.1.7 Bad sender address syntax"
        ));
        assert!(!refuses_sender(
            "permanent error (550): 5.1.1 <bob@example.com>: Recipient address rejected"
        ));
        assert!(!refuses_sender(
            "permanent error (550): mailbox 5.1.80 unavailable"
        ));
        assert!(!refuses_sender("permanent error (554): transaction failed"));
    }
}
