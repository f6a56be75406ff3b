//! Acknowledged writes survive kill -9; mail queued while SMTP is down is
//! delivered once it is back, across a restart, exactly once.

use roster_e2e::{Daemon, DaemonOptions, SmtpServer, free_port};

#[test]
fn invites_acknowledged_before_kill_9_survive_and_are_mailed_once_smtp_is_back() {
    // SMTP is down: nothing listens on this port yet.
    let smtp_port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let mut d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp_url.clone()),
        ..Default::default()
    });

    let emails: Vec<String> = (0..20)
        .map(|i| format!("crash{i:02}@example.com"))
        .collect();
    std::thread::scope(|s| {
        for (i, e) in emails.iter().enumerate() {
            let d = &d;
            s.spawn(move || {
                d.roster_ok(&[
                    "invite",
                    "--name",
                    &format!("Crash {i}"),
                    "--email",
                    e,
                    "--role",
                    "end-user",
                ])
            });
        }
    });
    // Every invite was acknowledged; crash at once.
    d.kill9();

    let smtp = SmtpServer::start_on(smtp_port);
    d.restart();
    let listed = d.roster_json(&["users", "list", "--all"]);
    let listed: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    for e in &emails {
        assert!(
            listed.contains(&e.as_str()),
            "{e} was acknowledged but is gone after kill -9"
        );
    }
    for e in &emails {
        smtp.wait_for(e, 1);
    }
    // Let the worker finish recording, then check nobody got two mails.
    roster_e2e::poll(
        "every message marked sent",
        std::time::Duration::from_secs(30),
        || {
            let mails = d.roster_json(&["mail", "list", "--limit", "100"]);
            mails
                .as_array()
                .expect("list")
                .iter()
                .all(|m| m["status"] == "sent")
                .then_some(())
        },
    );
    for e in &emails {
        assert_eq!(smtp.messages_to(e).len(), 1, "{e} got more than one mail");
    }
}

#[test]
fn failed_mail_is_kept_with_its_error_and_can_be_retried() {
    let smtp_port = free_port();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        env: vec![("ROSTER_OUTBOX_MAX_ATTEMPTS".into(), "2".into())],
        ..DaemonOptions::default()
    });
    d.roster_ok(&[
        "invite",
        "--name",
        "Ken Thompson",
        "--email",
        "ken@example.com",
        "--role",
        "builder",
    ]);
    let failed = roster_e2e::poll(
        "the message to fail",
        std::time::Duration::from_secs(30),
        || {
            let mails = d.roster_json(&["mail", "list", "--status", "failed"]);
            mails.as_array().and_then(|a| a.first().cloned())
        },
    );
    assert_eq!(failed["to"], "ken@example.com");
    assert_eq!(failed["attempts"], 2);
    assert!(
        failed["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "the last error is kept: {failed}"
    );

    let smtp = SmtpServer::start_on(smtp_port);
    let out = d.roster_ok(&["mail", "retry", "--all"]);
    assert!(out.contains("queued 1"), "{out}");
    let mail = smtp.wait_for("ken@example.com", 1);
    assert!(mail[0].link().is_some());
}

/// A 2 MiB transparent huge page counts in full in the resident set however
/// little of it is used; rosterd declines them so its memory is what it uses.
#[test]
fn rosterd_declines_transparent_huge_pages() {
    let d = Daemon::start(DaemonOptions::default());
    for i in 0..50 {
        d.roster_ok(&[
            "invite",
            "--name",
            &format!("Page {i}"),
            "--email",
            &format!("page{i}@example.com"),
            "--role",
            "end-user",
        ]);
    }
    let pid = d.pid().expect("rosterd runs");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    match status.lines().find(|l| l.starts_with("THP_enabled:")) {
        Some(line) => assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}"),
        // Kernels before 6.7 do not report the flag; none may be in use then.
        None => {
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).expect("smaps_rollup");
            let huge = rollup
                .lines()
                .find(|l| l.starts_with("AnonHugePages:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("0");
            assert_eq!(huge, "0", "{rollup}");
        }
    }
}

#[test]
fn sigterm_stops_cleanly_and_data_is_kept() {
    let mut d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&[
        "invite",
        "--name",
        "Dennis Ritchie",
        "--email",
        "dmr@example.com",
        "--role",
        "admin",
    ]);
    assert_eq!(d.terminate(), Some(0), "rosterd exits 0 on SIGTERM");
    assert!(
        !d.socket().exists(),
        "the socket is removed on a clean exit"
    );
    assert!(d.log().contains("database closed cleanly"), "{}", d.log());
    d.restart();
    assert!(
        !d.log().contains("repairing the database"),
        "a clean stop needs no repair"
    );
    assert_eq!(
        d.roster_json(&["users", "show", "dmr@example.com"])["name"],
        "Dennis Ritchie"
    );
}

#[test]
fn a_daemon_killed_while_idle_restarts_without_checking_the_file() {
    let mut d = Daemon::start(DaemonOptions {
        env: vec![("RUST_LOG".into(), "info,rosterd::store::batch=trace".into())],
        ..Default::default()
    });
    d.roster_ok(&["groups", "create", "Verification"]);
    // The writer logs each commit and each save of the allocator state; once
    // a save follows the last commit, writes have paused and a crash must
    // not cost a walk over the whole file.
    roster_e2e::poll(
        "the writer to save the allocator state after the last commit",
        std::time::Duration::from_secs(10),
        || {
            let log = d.log();
            let saved = log.rfind("allocator state saved")?;
            let committed = log.rfind("batch committed")?;
            (saved > committed).then_some(())
        },
    );
    d.kill9();
    d.restart();
    assert!(
        !d.log().contains("repairing the database"),
        "an idle daemon killed with -9 was repaired on restart:\n{}",
        d.log()
    );
    assert_eq!(
        d.roster_json(&["groups", "list"])[0]["name"],
        "Verification",
        "the group created before the crash is there"
    );
}
