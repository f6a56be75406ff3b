//! Which SMTP server invite mail goes to, and how roster logs in: named by
//! `smtp.host` with `port`, `tls` and `user`, or by one `smtp.url` in
//! lettre's URL form. Either way the password comes from the environment
//! or a file, never from the config file.

use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use super::transport::TransportError;
use crate::config::{SmtpConfig, SmtpTls};

/// A configured server: the transport builder, and how logs show it.
pub struct SmtpServer {
    pub builder: AsyncSmtpTransportBuilder,
    /// `smtp://mail.example.com:587 (STARTTLS)`, with any password hidden.
    pub shown: String,
}

impl SmtpServer {
    /// The server the settings name; `None` when they name none.
    pub fn from_config(smtp: &SmtpConfig) -> Result<Option<Self>, TransportError> {
        match (smtp.url.as_deref(), smtp.host.as_deref()) {
            (Some(url), _) => from_url(url, smtp).map(Some),
            (None, Some(host)) => from_host(host, smtp).map(Some),
            (None, None) => Ok(None),
        }
    }
}

fn from_host(host: &str, smtp: &SmtpConfig) -> Result<SmtpServer, TransportError> {
    let bad = |e: lettre::transport::smtp::Error| TransportError::BadHost {
        host: host.to_string(),
        reason: e.to_string(),
    };
    let tls = smtp.tls.unwrap_or_default();
    let builder = match tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(bad)?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(bad)?,
    };
    let port = smtp.port.unwrap_or(tls.default_port());
    let builder = builder.port(port);
    let builder = match (smtp.user.as_deref(), password(smtp)?) {
        (Some(user), Some(password)) => {
            builder.credentials(Credentials::new(user.to_string(), password))
        }
        (None, None) => builder,
        (Some(_), None) => {
            return Err(TransportError::Credentials(
                "smtp.user is set but no password: set ROSTER_SMTP_PASSWORD (or the variable smtp.password_env names) or smtp.password_file",
            ));
        }
        (None, Some(_)) => {
            return Err(TransportError::Credentials(
                "an SMTP password is set but smtp.user is not: name the user roster logs in as",
            ));
        }
    };
    let user = smtp
        .user
        .as_deref()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    Ok(SmtpServer {
        builder,
        shown: format!("smtp://{user}{host}:{port} ({})", tls.shown()),
    })
}

fn from_url(url: &str, smtp: &SmtpConfig) -> Result<SmtpServer, TransportError> {
    let bad = |reason: String| TransportError::BadUrl {
        url: redact(url),
        reason,
    };
    // Read as lettre reads it: an empty host is an error of its own there.
    let parsed = match url::Url::parse(url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
        Ok(_) | Err(url::ParseError::EmptyHost) => {
            return Err(bad(
                "it names no server; write smtp://host:port or smtps://user@host:465".into(),
            ));
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| bad(e.to_string()))?;
    if let Some(password) = password(smtp)? {
        let user = user_of(&parsed).ok_or_else(|| {
            bad("a password is set but the URL names no user (smtp://user@host)".into())
        })?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(SmtpServer {
        builder,
        shown: redact(url),
    })
}

/// The password, from `smtp.password_file` or the variable
/// `smtp.password_env` names.
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
fn user_of(url: &url::Url) -> Option<String> {
    let user = url.username();
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

    fn refusal(smtp: SmtpConfig) -> String {
        match SmtpServer::from_config(&smtp) {
            Ok(_) => panic!("{smtp:?} was accepted"),
            Err(e) => e.to_string(),
        }
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
        let user = |url: &str| user_of(&url::Url::parse(url).expect("url"));
        assert_eq!(
            user("smtps://bob:p@ss@mail.example.com").as_deref(),
            Some("bob")
        );
        assert_eq!(
            user("smtps://bob%40corp@mail.example.com").as_deref(),
            Some("bob@corp")
        );
        assert_eq!(user("smtp://127.0.0.1:25"), None);
    }

    #[test]
    fn a_url_without_a_server_is_refused_by_name() {
        for url in ["smtp://", "smtp://:25", "smtps://bob@:465"] {
            assert_eq!(
                refusal(SmtpConfig {
                    url: Some(url.into()),
                    ..SmtpConfig::default()
                }),
                format!(
                    "smtp.url \"{}\" is not usable: it names no server; write smtp://host:port or smtps://user@host:465",
                    redact(url)
                )
            );
        }
    }

    #[test]
    fn a_host_is_shown_with_its_port_and_security() {
        let shown = |tls, port| {
            let smtp = SmtpConfig {
                host: Some("mail.example.com".into()),
                tls,
                port,
                ..SmtpConfig::default()
            };
            SmtpServer::from_config(&smtp)
                .expect("valid")
                .expect("a server")
                .shown
        };
        assert_eq!(
            shown(None, None),
            "smtp://mail.example.com:587 (STARTTLS)",
            "STARTTLS unless told otherwise"
        );
        assert_eq!(
            shown(Some(SmtpTls::Tls), None),
            "smtp://mail.example.com:465 (TLS)"
        );
        assert_eq!(
            shown(Some(SmtpTls::None), Some(2525)),
            "smtp://mail.example.com:2525 (no TLS)"
        );
    }

    #[test]
    fn a_user_and_a_password_come_together() {
        let no_password = SmtpConfig {
            host: Some("mail.example.com".into()),
            user: Some("bob".into()),
            password_env: "ROSTER_TEST_NO_SUCH_PASSWORD".into(),
            ..SmtpConfig::default()
        };
        assert!(refusal(no_password).starts_with("smtp.user is set but no password"));
        let file = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(file.path(), "hunter2\n").expect("write");
        let no_user = SmtpConfig {
            host: Some("mail.example.com".into()),
            password_file: Some(file.path().to_path_buf()),
            ..SmtpConfig::default()
        };
        assert!(refusal(no_user.clone()).contains("smtp.user is not"));
        let both = SmtpConfig {
            user: Some("bob".into()),
            ..no_user
        };
        let server = SmtpServer::from_config(&both)
            .expect("valid")
            .expect("a server");
        assert!(!server.shown.contains("hunter2"), "{}", server.shown);
    }
}
