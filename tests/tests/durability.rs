//! Acknowledged writes survive kill -9; mail queued while SMTP is down is
//! delivered once it is back, across a restart, exactly once.

use std::collections::HashSet;

use roster_e2e::{Daemon, DaemonOptions, SmtpServer, free_port};

/// Polls `roster mail list ARGS` (for 30 s at most) until `done` holds for
/// the messages it lists.
fn mail_until(d: &Daemon, what: &str, args: &[&str], done: impl Fn(&[serde_json::Value]) -> bool) {
    roster_e2e::poll(what, std::time::Duration::from_secs(30), || {
        let mails = d.roster_json(&[&["mail", "list"], args].concat());
        done(mails.as_array().expect("mail list")).then_some(())
    });
}

/// The addresses `roster users list --all` shows.
fn listed_emails(d: &Daemon) -> HashSet<String> {
    let listed = d.roster_json(&["users", "list", "--all"]);
    listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["email"].as_str().map(str::to_string))
        .collect()
}

/// Waits until every address got its invite and the outbox has marked
/// their messages sent, then checks that nobody got two mails.
fn each_mailed_once(d: &Daemon, smtp: &SmtpServer, emails: &[String]) {
    for e in emails {
        smtp.wait_for(e, 1);
    }
    mail_until(
        d,
        "every message marked sent",
        &["--limit", "100"],
        |mails| {
            mails
                .iter()
                .filter(|m| emails.iter().any(|e| m["to"] == e.as_str()))
                .all(|m| m["status"] == "sent")
        },
    );
    for e in emails {
        assert_eq!(smtp.messages_to(e).len(), 1, "{e} got more than one mail");
    }
}

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
            s.spawn(move || d.invite(&format!("Crash {i}"), e, "end-user"));
        }
    });
    // Every invite was acknowledged; crash at once.
    d.kill9();

    let smtp = SmtpServer::start_on(smtp_port);
    d.restart();
    let listed = listed_emails(&d);
    for e in &emails {
        assert!(
            listed.contains(e),
            "{e} was acknowledged but is gone after kill -9"
        );
    }
    each_mailed_once(&d, &smtp, &emails);
}

/// Invites from 6 concurrent CLI clients (addresses `{tag}{client}-{n}@`)
/// until `until` are acknowledged (or a minute has passed: callers check
/// the count); `meanwhile` runs while they are still being made, then the
/// clients stop. Returns the acknowledged addresses.
fn burst_of_invites(d: &Daemon, tag: &str, until: usize, meanwhile: impl FnOnce()) -> Vec<String> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    let acknowledged = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..6 {
            let (acknowledged, stop) = (&acknowledged, &stop);
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let email = format!("{tag}{t}-{n}@example.com");
                    let name = format!("Burst {t} {n}");
                    let out = d.roster(&[
                        "invite", "--name", &name, "--email", &email, "--role", "end-user",
                    ]);
                    if out.status.success() {
                        acknowledged.lock().expect("lock").push(email);
                    }
                }
            });
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while acknowledged.lock().expect("lock").len() < until
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        meanwhile();
        stop.store(true, Ordering::Relaxed);
    });
    acknowledged.into_inner().expect("lock")
}

/// Kills the daemon with SIGKILL.
fn sigkill(pid: nix::unistd::Pid) {
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
}

/// The daemon's process id.
fn pid_of(d: &Daemon) -> nix::unistd::Pid {
    nix::unistd::Pid::from_raw(i32::try_from(d.pid().expect("running")).expect("pid"))
}

/// Restarts a daemon killed in the middle of a burst and checks that it
/// applied its journal, needed no repair, and lists every address in
/// `acknowledged`.
fn restart_finds_every_acknowledged_invite(d: &mut Daemon, acknowledged: &[String]) {
    d.restart();
    assert!(
        d.log().contains("applied the write-ahead journal"),
        "the restart found nothing to apply from the journal: the kill came after a checkpoint\n{}",
        d.log()
    );
    // The file's last durable commit was a checkpoint, which saves the
    // allocator state: no walk over the whole file first.
    assert!(
        !d.log().contains("repairing the database"),
        "a daemon killed in the middle of a burst was repaired on restart:\n{}",
        d.log()
    );
    let listed = listed_emails(d);
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|e| !listed.contains(*e))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but gone after kill -9: {lost:?}"
    );
}

/// Writes acknowledged while writes keep coming are in the write-ahead
/// journal, not yet in the database file (redb saves its pages at
/// checkpoints, when writes pause or every few seconds): a kill -9 in the
/// middle of a burst must find every one of them again on restart.
#[test]
fn writes_acknowledged_in_the_middle_of_a_burst_survive_kill_9() {
    let mut d = Daemon::start(DaemonOptions::default());
    let pid = pid_of(&d);
    // The crash comes while invites are still being made.
    let acknowledged = burst_of_invites(&d, "burst", 50, || sigkill(pid));
    assert!(
        acknowledged.len() >= 20,
        "only {} invites before the kill",
        acknowledged.len()
    );
    restart_finds_every_acknowledged_invite(&mut d, &acknowledged);
}

/// The journal file is reused after a checkpoint: new records overwrite the
/// old ones from the start and the rest of the old ones stay behind them. A
/// kill -9 in a second burst must bring back every write of both bursts and
/// nothing from the old records.
#[test]
fn writes_acknowledged_after_the_journal_started_over_survive_kill_9() {
    let mut d = Daemon::start(DaemonOptions {
        env: vec![("RUST_LOG".into(), "info,rosterd::store::batch=trace".into())],
        ..Default::default()
    });
    let first = burst_of_invites(&d, "first", 60, || {});
    wait_for_an_idle_checkpoint(&d);
    let pid = pid_of(&d);
    let second = burst_of_invites(&d, "second", 20, || sigkill(pid));
    assert!(
        first.len() >= 60 && second.len() >= 10,
        "only {} and {} invites in the two bursts",
        first.len(),
        second.len()
    );
    restart_finds_every_acknowledged_invite(&mut d, &[first, second].concat());
}

/// Waits until the writer's log shows a checkpoint after its last commit:
/// writes have paused and the journal has started over.
fn wait_for_an_idle_checkpoint(d: &Daemon) {
    roster_e2e::poll(
        "the writer to make a checkpoint after the last commit",
        std::time::Duration::from_secs(10),
        || {
            let log = d.log();
            let saved = log.rfind("journaled commits saved in the database")?;
            let committed = log.rfind("batch committed")?;
            (saved > committed).then_some(())
        },
    );
}

/// A message the server refuses for good (`550`, an unknown mailbox) is
/// failed at once, not after ten attempts, and kept with the server's
/// answer; `mail retry` sends it again once the server takes it.
#[test]
fn failed_mail_is_kept_with_its_error_and_can_be_retried() {
    let smtp_port = free_port();
    let mut refusing = SmtpServer::refusing_on(smtp_port);
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        ..DaemonOptions::default()
    });
    d.invite("Ken Thompson", "refused.ken@example.com", "builder");
    let failed = roster_e2e::poll(
        "the message to fail",
        std::time::Duration::from_secs(30),
        || {
            let mails = d.roster_json(&["mail", "list", "--status", "failed"]);
            mails.as_array().and_then(|a| a.first().cloned())
        },
    );
    assert_eq!(failed["to"], "refused.ken@example.com");
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("mailbox unavailable")),
        "the server's answer is kept: {failed}"
    );

    refusing.stop();
    let smtp = SmtpServer::start_on(smtp_port);
    let out = d.roster_ok(&["mail", "retry", "--all"]);
    assert!(out.contains("queued 1"), "{out}");
    let mail = smtp.wait_for("refused.ken@example.com", 1);
    assert!(mail[0].link().is_some());
}

/// While the SMTP server cannot be reached, sending pauses: queued invites
/// keep their attempts however long the outage lasts (none is marked
/// failed), the log says so once rather than once per message and try,
/// and every invite goes out once the server is back.
#[test]
fn an_smtp_outage_pauses_mail_instead_of_failing_it() {
    let smtp_port = free_port();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        env: vec![
            ("ROSTER_OUTBOX_MAX_ATTEMPTS".into(), "2".into()),
            ("ROSTER_OUTBOX_INITIAL_BACKOFF_SECS".into(), "1".into()),
        ],
        ..DaemonOptions::default()
    });
    let emails: Vec<String> = (0..30)
        .map(|i| format!("outage{i:02}@example.com"))
        .collect();
    for (i, e) in emails.iter().enumerate() {
        d.invite(&format!("Outage {i}"), e, "end-user");
    }
    // Two attempts a second apart would have failed every message by now.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let mails = d.roster_json(&["mail", "list", "--limit", "100"]);
    let mails = mails.as_array().expect("mail list");
    assert_eq!(mails.len(), emails.len());
    for m in mails {
        assert_eq!(
            (m["status"].as_str(), m["attempts"].as_u64()),
            (Some("queued"), Some(0)),
            "an outage spends no attempts: {m}"
        );
    }
    let log = d.log();
    assert_eq!(
        log.matches("the mail server is unavailable").count(),
        1,
        "one line for the outage:\n{log}"
    );
    assert!(!log.contains("not delivered"), "{log}");
    // A reset link (shown, not mailed) cancels the oldest queued message;
    // the try that picks it never reaches the server, still unavailable.
    let (reset, emails) = emails.split_first().expect("emails");
    d.roster_ok(&["reset-link", reset]);
    mail_until(
        &d,
        "a try to pick the cancelled message",
        &["--status", "cancelled"],
        |mails| mails.iter().any(|m| m["to"] == reset.as_str()),
    );
    let log = d.log();
    assert_eq!(
        (
            log.matches("the mail server is unavailable").count(),
            log.matches("answers again").count()
        ),
        (1, 0),
        "a cancelled message says nothing about the server:\n{log}"
    );
    // The admin sees why nothing goes out: above `roster mail list`.
    let listed = d.roster(&["mail", "list"]);
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(
        listed.status.success()
            && said.starts_with("Sending paused since ")
            && said.contains("the mail server is unavailable (")
            && said.contains("; next try "),
        "{said}"
    );

    let smtp = SmtpServer::start_on(smtp_port);
    each_mailed_once(&d, &smtp, emails);
    assert!(
        smtp.messages_to(reset).is_empty(),
        "a revoked link is not mailed"
    );
    let listed = d.roster(&["mail", "list"]);
    assert!(
        listed.stderr.is_empty(),
        "no notice once mail goes out: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(
        d.log().contains("the mail server answers again"),
        "{}",
        d.log()
    );
}

/// A server that refuses roster's sender address (`553 5.1.8` at MAIL
/// FROM) would refuse every message alike: sending pauses with a line that
/// points at `smtp.from` instead of failing each invite, and once the
/// address is mended each invite goes out once.
#[test]
fn a_refused_sender_address_pauses_mail_instead_of_failing_it() {
    let smtp_port = free_port();
    let smtp = SmtpServer::refusing_on(smtp_port);
    let refused_from = DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        env: vec![(
            "ROSTER_SMTP_FROM".into(),
            "Roster <refused.sender@example.com>".into(),
        )],
        ..DaemonOptions::default()
    };
    let mut d = Daemon::start(refused_from.clone());
    let emails: Vec<String> = (0..3).map(|i| format!("sender{i}@example.com")).collect();
    for e in &emails {
        d.invite("Sender Test", e, "end-user");
    }
    let said = d.mail_paused_line();
    assert!(
        said.contains("check smtp.from") && said.contains("5.1.8"),
        "the line says what to mend: {said}"
    );
    let mails = d.roster_json(&["mail", "list"]);
    for m in mails.as_array().expect("mail list") {
        assert_eq!(
            (m["status"].as_str(), m["attempts"].as_u64()),
            (Some("queued"), Some(0)),
            "a refused sender fails no invite: {m}"
        );
    }
    d.restart_with(DaemonOptions {
        env: Vec::new(),
        ..refused_from
    });
    each_mailed_once(&d, &smtp, &emails);
}

/// A 2 MiB transparent huge page counts in full in the resident set however
/// little of it is used; rosterd declines them so its memory is what it uses.
#[test]
fn rosterd_declines_transparent_huge_pages() {
    let d = Daemon::start(DaemonOptions::default());
    for i in 0..50 {
        d.invite(
            &format!("Page {i}"),
            &format!("page{i}@example.com"),
            "end-user",
        );
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
    d.invite("Dennis Ritchie", "dmr@example.com", "admin");
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
    // The writer logs each commit and each checkpoint; once a checkpoint
    // follows the last commit, writes have paused and a crash must not cost
    // a walk over the whole file nor leave a journal to apply.
    wait_for_an_idle_checkpoint(&d);
    d.kill9();
    d.restart();
    assert!(
        !d.log().contains("repairing the database"),
        "an idle daemon killed with -9 was repaired on restart:\n{}",
        d.log()
    );
    assert!(
        !d.log().contains("applied the write-ahead journal"),
        "an idle daemon killed with -9 had a journal to apply:\n{}",
        d.log()
    );
    assert_eq!(
        d.roster_json(&["groups", "list"])[0]["name"],
        "Verification",
        "the group created before the crash is there"
    );
}
