//! Where mail goes: an SMTP server (pooled connections) or `.eml` files.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpConfig;

/// The configured transport.
#[derive(Clone)]
pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// The host an SMTP URL names, read as lettre reads the URL: empty when it
/// names none, `None` when it is no URL at all (lettre says why).
fn host_of(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Ok(u) => Some(u.host_str().unwrap_or_default().to_string()),
        Err(url::ParseError::EmptyHost) => Some(String::new()),
        Err(_) => None,
    }
}

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("smtp.url \"{url}\" is not usable: {reason}")]
    BadUrl { url: String, reason: String },
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
    /// SMTP when a URL is configured, otherwise `.eml` files in `mail_dir`.
    pub fn from_config(smtp: &SmtpConfig, mail_dir: PathBuf) -> Result<Self, TransportError> {
        let Some(url) = smtp.url.as_deref() else {
            std::fs::create_dir_all(&mail_dir).map_err(|source| TransportError::MailDir {
                path: mail_dir.display().to_string(),
                source,
            })?;
            tracing::warn!(dir = %mail_dir.display(), "no SMTP server configured (smtp.url / ROSTER_SMTP_URL): invite mail is written as .eml files; every link can also be shown with `roster link EMAIL`");
            return Ok(MailTransport::Files(AsyncFileTransport::new(mail_dir)));
        };
        let bad = |reason: String| TransportError::BadUrl {
            url: redact(url),
            reason,
        };
        if host_of(url).is_some_and(|h| h.is_empty()) {
            return Err(bad(
                "it names no server; write smtp://host:port or smtps://user@host:465".into(),
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad(e.to_string()))?
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)))
            .pool_config(PoolConfig::new().max_size(smtp.pool_size));
        if let Some(password) = password(smtp)? {
            let user = user_of(url).ok_or_else(|| {
                bad("a password is set but the URL names no user (smtp://user@host)".into())
            })?;
            builder = builder.credentials(Credentials::new(user, password));
        }
        tracing::info!(url = %redact(url), "sending invite mail over SMTP");
        Ok(MailTransport::Smtp(builder.build()))
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

impl SendError {
    fn of_smtp(e: &lettre::transport::smtp::Error) -> Self {
        let text = e.to_string();
        if refuses_sender(&text) {
            return Self::Unavailable(format!(
                "it refuses roster's sender address, so every message would fail alike: check smtp.from ({text})"
            ));
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

fn password(smtp: &SmtpConfig) -> Result<Option<String>, TransportError> {
    if let Some(path) = &smtp.password_file {
        let text =
            std::fs::read_to_string(path).map_err(|source| TransportError::PasswordFile {
                path: path.display().to_string(),
                source,
            })?;
        return Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()));
    }
    Ok(std::env::var(&smtp.password_env)
        .ok()
        .filter(|p| !p.is_empty()))
}

/// The user named in the URL, percent-decoded (`bob%40corp` is `bob@corp`).
fn user_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let user = parsed.username();
    (!user.is_empty()).then(|| {
        urlencoding::decode(user)
            .map(|u| u.into_owned())
            .unwrap_or_else(|_| user.to_string())
    })
}

/// The URL with any password in it replaced, for logs and errors. Read as
/// lettre reads it (the user part ends at the last `@`), so a password with
/// an `@` in it is hidden whole; a URL that does not parse keeps only its
/// scheme and what follows its last `@`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => match (url.split_once("://"), url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
            _ => url.to_string(),
        },
    }
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

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("smtps://bob:hunter2@mail.example.com"),
            "smtps://bob:***@mail.example.com"
        );
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        // An unescaped `@` in the password: the user part ends at the last one.
        assert_eq!(
            redact("smtps://bob:p@ss@mail.example.com:465"),
            "smtps://bob:***@mail.example.com:465"
        );
        assert_eq!(
            redact("smtps://bob:p@ss word@mail example"),
            "smtps://***@mail example",
            "a URL that does not parse keeps no part of its user"
        );
        assert_eq!(
            user_of("smtps://bob:p@ss@mail.example.com").as_deref(),
            Some("bob")
        );
        assert_eq!(
            user_of("smtps://bob%40corp@mail.example.com").as_deref(),
            Some("bob@corp")
        );
        assert_eq!(user_of("smtp://127.0.0.1:25"), None);
    }

    #[test]
    fn a_url_without_a_server_is_refused_by_name() {
        for (url, host) in [
            ("smtp://", ""),
            ("smtp://:25", ""),
            ("smtps://bob@:465", ""),
            (
                "smtp://mail.example.com:587?tls=required",
                "mail.example.com",
            ),
            ("smtps://bob:pw@mail.example.com", "mail.example.com"),
        ] {
            assert_eq!(host_of(url).as_deref(), Some(host), "{url}");
        }
        let smtp = SmtpConfig {
            url: Some("smtp://".into()),
            ..SmtpConfig::default()
        };
        let e = MailTransport::from_config(&smtp, std::env::temp_dir())
            .err()
            .expect("refused");
        assert_eq!(
            e.to_string(),
            "smtp.url \"smtp://\" is not usable: it names no server; write smtp://host:port or smtps://user@host:465"
        );
    }
}
