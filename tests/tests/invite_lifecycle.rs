//! The invite lifecycle end to end: CLI → daemon → real SMTP → invite page.

use roster_e2e::{Daemon, DaemonOptions, SmtpServer};

/// Accepts an invite the way a browser does: GET the page, POST its form.
async fn get(link: &str) -> (u16, String) {
    let resp = reqwest::get(link).await.expect("GET");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn invite_mail_link_accept_and_the_used_link_is_void() {
    let smtp = SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });

    d.roster_ok(&["groups", "create", "Finance"]);
    let out = d.roster_ok(&[
        "invite",
        "--name",
        "Ada Lovelace",
        "--email",
        "Ada@Example.com",
        "--role",
        "admin",
        "--group",
        "finance",
        "--metadata",
        r#"{"apiKey":"abc123"}"#,
    ]);
    assert!(out.contains("invited Ada Lovelace"), "{out}");
    assert_eq!(d.status_of("ada@example.com"), "invited");

    let mails = smtp.wait_for("Ada@Example.com", 1);
    let mail = &mails[0];
    assert!(
        mail.subject.contains("My workspace"),
        "subject names the workspace: {}",
        mail.subject
    );
    assert!(
        mail.text.contains("e2e-admin invited you"),
        "mail says who invited: {}",
        mail.text
    );
    assert!(mail.text.contains("expires on"), "mail states the expiry");
    assert!(
        mail.message_id.ends_with("@localhost") && mail.message_id.len() > 20,
        "the mail has a Message-ID of the sender's domain: {:?}",
        mail.message_id
    );
    assert_eq!(
        mail.auto_submitted, "auto-generated",
        "out-of-office replies are told not to answer"
    );
    let link = mail.link().expect("mail carries a link");
    assert!(mail.html.contains(&link), "HTML part carries the same link");
    assert!(link.starts_with(&format!("{}/invite/", d.base_url())));

    let printed = d.roster_ok(&["link", "ada@example.com"]);
    assert_eq!(printed.trim(), link, "`roster link` prints the mailed link");

    let (status, body) = d.accept_invite(&link).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You're in"), "{body}");
    assert_eq!(d.status_of("ada@example.com"), "active");

    // The used link now looks exactly like a garbage one.
    let used = get(&link).await;
    let garbage = get(&format!("{}/invite/not-a-token", d.base_url())).await;
    let forged = get(&format!("{}x", link)).await;
    assert_eq!(used.0, 404);
    assert_eq!(
        used, garbage,
        "a used link and an unknown one get the same page"
    );
    assert_eq!(forged, garbage);
    assert!(used.1.contains("no longer valid"));

    // Accepting it again changes nothing.
    let web = d.web_client();
    let again = web
        .post(&link)
        .form(&[("csrf", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(again.status(), 403, "a forged form is refused");

    let audit = d.roster_json(&["audit", "list", "--member", "ada@example.com"]);
    let actions: Vec<&str> = audit
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["member.accepted", "member.invited"]);
}

#[tokio::test]
async fn resend_archive_unarchive_and_the_last_admin() {
    let smtp = SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });

    d.invite("Grace Hopper", "grace@example.com", "admin");
    let first = smtp.wait_for("grace@example.com", 1)[0]
        .link()
        .expect("link");
    let (status, _) = d.accept_invite(&first).await;
    assert_eq!(status, 200);

    // Grace is the only active admin: archiving, demoting or removing her is refused.
    let err = d.roster_err(&["archive", "grace@example.com"]);
    assert!(err.contains("last active admin"), "{err}");
    let err = d.roster_err(&["edit", "grace@example.com", "--role", "builder"]);
    assert!(
        err.contains("last active admin") && err.contains("demoted"),
        "{err}"
    );
    let err = d.roster_err(&["remove", "grace@example.com"]);
    assert!(err.contains("last active admin"), "{err}");
    assert_eq!(d.status_of("grace@example.com"), "active");

    // Resend delivers another mail with the same (still valid) link.
    d.invite("Alan Turing", "alan@example.com", "builder");
    let a1 = smtp.wait_for("alan@example.com", 1)[0]
        .link()
        .expect("link");
    let out = d.roster_ok(&["resend", "alan@example.com"]);
    assert!(out.contains("invite sent again"), "{out}");
    let mails = smtp.wait_for("alan@example.com", 2);
    assert_eq!(mails.len(), 2);
    assert!(
        mails
            .iter()
            .all(|m| m.link().as_deref() == Some(a1.as_str())),
        "resend sends the current link"
    );
    assert_ne!(
        mails[0].message_id, mails[1].message_id,
        "a resend is a message of its own"
    );

    // Archive voids the link; unarchive brings Alan back to invited with a new one.
    d.roster_ok(&["archive", "alan@example.com"]);
    assert_eq!(d.status_of("alan@example.com"), "archived");
    assert_eq!(get(&a1).await.0, 404, "archiving revokes the open link");
    // The public address itself says what it serves, in HTML.
    let (status, home) = get(&format!("{}/", d.base_url())).await;
    assert_eq!(status, 200);
    assert!(
        home.starts_with("<!doctype html>") && home.contains("ask your admin for a new one"),
        "{home}"
    );
    let err = d.roster_err(&["link", "alan@example.com"]);
    assert!(err.contains("archived"), "{err}");
    d.roster_ok(&["unarchive", "alan@example.com"]);
    assert_eq!(d.status_of("alan@example.com"), "invited");
    let mails = smtp.wait_for("alan@example.com", 3);
    let fresh = d
        .roster_ok(&["link", "alan@example.com"])
        .trim()
        .to_string();
    assert_ne!(fresh, a1);
    assert!(
        mails
            .iter()
            .any(|m| m.link().as_deref() == Some(fresh.as_str())),
        "unarchive mails the new link"
    );

    // Reset link: the old one dies at once.
    let reset = d
        .roster_ok(&["reset-link", "alan@example.com"])
        .trim()
        .to_string();
    assert_ne!(reset, fresh);
    assert_eq!(get(&fresh).await.0, 404);
    assert_eq!(get(&reset).await.0, 200);

    // Once Alan accepts and is promoted, Grace may be archived; unarchive makes her active again.
    assert_eq!(d.accept_invite(&reset).await.0, 200);
    d.roster_ok(&["edit", "alan@example.com", "--role", "admin"]);
    d.roster_ok(&["archive", "grace@example.com"]);
    d.roster_ok(&["unarchive", "grace@example.com"]);
    assert_eq!(
        d.status_of("grace@example.com"),
        "active",
        "a member who had accepted comes back active"
    );
}

#[tokio::test]
async fn without_smtp_invites_become_eml_files() {
    let d = Daemon::start(DaemonOptions::default());
    d.invite("Edsger Dijkstra", "edsger@example.com", "end-user");
    let link = d
        .roster_ok(&["link", "edsger@example.com"])
        .trim()
        .to_string();
    let mail_dir = d.data_dir().join("mail");
    let eml = roster_e2e::poll("an .eml file", std::time::Duration::from_secs(20), || {
        let entry = std::fs::read_dir(&mail_dir)
            .ok()?
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "eml"))?;
        std::fs::read(entry.path()).ok()
    });
    let msg = mail_parser::MessageParser::default()
        .parse(&eml)
        .expect("valid mail");
    assert_eq!(
        msg.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("edsger@example.com")
    );
    let text = msg.body_text(0).expect("text part");
    assert_eq!(roster_e2e::find_link(&text), Some(link));
    assert!(
        d.log().contains("no SMTP server configured"),
        "the log says where mail goes"
    );
}

/// The SMTP server named by `smtp.host`, `port` and `tls` (as SPEC §2 lists
/// them) instead of a URL. STARTTLS is the default, so a server that does
/// not offer it gets no mail in the clear: sending pauses and says why,
/// and no invite fails for it.
#[tokio::test]
async fn smtp_by_host_port_and_tls() {
    let smtp = SmtpServer::start();
    let by_host = |tls: Option<&str>| DaemonOptions {
        env: [
            ("ROSTER_SMTP_HOST", "127.0.0.1".to_string()),
            ("ROSTER_SMTP_PORT", smtp.port.to_string()),
        ]
        .into_iter()
        .chain(tls.map(|t| ("ROSTER_SMTP_TLS", t.to_string())))
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        ..Default::default()
    };
    let mut d = Daemon::start(by_host(Some("none")));
    d.invite("Plain Relay", "plain@example.com", "builder");
    assert!(smtp.wait_for("plain@example.com", 1)[0].link().is_some());
    let shown = format!("smtp://127.0.0.1:{} (no TLS)", smtp.port);
    assert!(
        d.log().contains(&shown),
        "the log names the server: {}",
        d.log()
    );

    d.restart_with(by_host(None));
    d.invite("Needs Tls", "tls@example.com", "builder");
    let said = d.mail_paused_line();
    assert!(
        said.contains("does not offer STARTTLS") && said.contains("smtp.tls"),
        "the line says what to mend: {said}"
    );
    let mails = d.roster_json(&["mail", "list", "--status", "queued"]);
    assert_eq!(
        (mails[0]["to"].as_str(), mails[0]["attempts"].as_u64()),
        (Some("tls@example.com"), Some(0)),
        "the invite waits, unfailed: {mails}"
    );
    assert!(smtp.messages_to("tls@example.com").is_empty());
}
