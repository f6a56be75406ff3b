//! The real `roster` TUI in a pseudo-terminal (80×24) against a real
//! rosterd; the screen is read back through a terminal emulator (vt100).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use roster_e2e::{Daemon, DaemonOptions, bin, poll};

/// What the TUI has written so far: the emulated screen and the raw bytes.
struct Terminal {
    parser: vt100::Parser,
    raw: Vec<u8>,
}

struct Session {
    term: Arc<Mutex<Terminal>>,
    input: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Session {
    /// Starts `roster ARGS` in an 80×24 pseudo-terminal.
    fn spawn(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(bin("roster"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn roster");
        drop(pty.slave);
        let term = Arc::new(Mutex::new(Terminal {
            parser: vt100::Parser::new(24, 80, 0),
            raw: Vec::new(),
        }));
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let feed = term.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    return;
                }
                let mut t = feed.lock().expect("terminal");
                t.parser.process(&buf[..n]);
                t.raw.extend_from_slice(&buf[..n]);
            }
        });
        Session {
            term,
            input: pty.master.take_writer().expect("writer"),
            child,
        }
    }

    /// `q`, then the exit status once roster has ended.
    fn quit(&mut self) -> portable_pty::ExitStatus {
        self.keys("q");
        poll("roster to exit", Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        })
    }

    fn screen(&self) -> String {
        self.term
            .lock()
            .expect("terminal")
            .parser
            .screen()
            .contents()
    }

    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.term.lock().expect("terminal").raw).into_owned()
    }

    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !check(&self.screen()) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).expect("type");
        self.input.flush().expect("flush");
    }
}

#[test]
fn the_tui_lists_searches_copies_a_link_follows_changes_and_quits_cleanly() {
    let mut d = Daemon::start(DaemonOptions::default());
    for (name, email) in [
        ("Ada Lovelace", "ada@example.com"),
        ("Grace Hopper", "grace@example.com"),
    ] {
        d.invite(name, email, "builder");
    }
    let mut s = Session::spawn(&["--socket".as_ref(), d.socket().as_os_str()], &[]);

    // The list, sorted by name, with the footer's keys.
    s.wait_for("both members listed", |scr| {
        scr.contains("ada@example.com") && scr.contains("grace@example.com")
    });
    assert!(s.screen().contains("? help"), "{}", s.screen());

    // Search as you type happens in the daemon.
    s.keys("/gra");
    s.wait_for("the search to narrow the list", |scr| {
        scr.contains("grace@example.com") && !scr.contains("ada@example.com")
    });
    s.keys("\x1b");
    s.wait_for("Esc to clear the search", |scr| {
        scr.contains("ada@example.com")
    });

    // Enter opens the selected member (Ada); Esc goes back.
    s.keys("\r");
    s.wait_for("Ada's details", |scr| {
        scr.contains("Ada Lovelace") && scr.contains("last invite") && scr.contains("invited by")
            || scr.contains("e-mail  ada@example.com")
    });
    s.keys("\x1b");
    s.wait_for("the list again", |scr| {
        !scr.contains("e-mail  ada@example.com")
    });

    // y copies the selected member's (Ada's) link with OSC 52 and shows it.
    let link = d.roster_ok(&["link", "ada@example.com"]).trim().to_string();
    s.keys("y");
    s.wait_for("the whole link on screen", |scr| {
        scr.replace('\n', "").contains(&link)
    });
    let osc52 = format!(
        "\x1b]52;c;{}",
        base64::engine::general_purpose::STANDARD.encode(&link)
    );
    assert!(s.raw().contains(&osc52), "no OSC 52 sequence with the link");

    // A member invited elsewhere appears without a key press.
    d.invite("Live Arrival", "live@example.com", "end-user");
    s.wait_for("the new member to appear live", |scr| {
        scr.contains("live@example.com")
    });

    // i opens the Invite form: checked as you type, sent through the daemon.
    s.keys("i");
    s.wait_for("the invite form", |scr| scr.contains("Invite someone"));
    s.keys("Nora Form\tnora@");
    s.wait_for("the e-mail checked as typed", |scr| {
        scr.contains("e-mail address \"nora@\" is not valid")
    });
    s.keys("example.com\t\x1b[C\t\tteam\x1b[Ccore\r");
    s.wait_for("the form to close and the member to appear", |scr| {
        !scr.contains("Invite someone") && scr.contains("nora@example.com")
    });
    let nora = d.roster_json(&["users", "show", "nora@example.com"]);
    assert_eq!(nora["name"], "Nora Form");
    assert_eq!(nora["role"], "admin");
    assert_eq!(nora["source"], "tui", "the audit trail names the TUI");
    assert_eq!(
        nora["metadata"]["team"], "core",
        "metadata from the key/value editor"
    );

    // e edits the selected member (Ada) in the same form.
    s.keys("e");
    s.wait_for("the edit form", |scr| scr.contains("Edit ada@example.com"));
    s.keys(" Byron\t\t\x1b[D\r");
    s.wait_for("the saved name on the list", |scr| {
        scr.contains("Ada Lovelace Byron")
    });
    let ada = d.roster_json(&["users", "show", "ada@example.com"]);
    assert_eq!(ada["name"], "Ada Lovelace Byron");
    assert_eq!(
        ada["role"], "admin",
        "← moved the role from builder to admin"
    );

    // a archives the selected member (Ada) after a confirmation.
    s.keys("a");
    s.wait_for("the confirmation", |scr| {
        scr.contains("Archive ada@example.com?")
    });
    s.keys("y");
    s.wait_for("Ada archived on screen", |scr| {
        scr.lines()
            .any(|l| l.contains("ada@example.com") && l.contains("archived"))
    });
    assert_eq!(d.status_of("ada@example.com"), "archived");

    // 3 shows the import jobs (live); Enter shows a job's rows, errors first.
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("hires.csv");
    std::fs::write(
        &csv,
        "email,name,role\nok@example.com,Ok,builder\nbad,Bad,builder\n",
    )
    .expect("csv");
    let _ = d.roster(&["import", csv.to_str().expect("utf-8")]);
    s.keys("3");
    s.wait_for("the import job listed", |scr| {
        scr.contains("hires.csv") && scr.contains("done")
    });
    s.keys("\r");
    s.wait_for("the job's error row", |scr| {
        scr.contains("e-mail address \"bad\" is not valid")
    });
    s.keys("\x1b");
    s.wait_for("the rows to close", |scr| {
        !scr.contains("hires.csv: 2 rows")
    });
    s.keys("1");
    s.wait_for("back on Users", |scr| {
        scr.contains("E-MAIL") && scr.contains("ok@example.com")
    });

    // 2 lists groups; n creates one through a prompt.
    s.keys("2");
    s.wait_for("the Groups screen", |scr| {
        scr.contains("GROUP") && scr.contains("MEMBERS")
    });
    s.keys("n");
    s.wait_for("the name prompt", |scr| scr.contains("New group name"));
    s.keys("Finance\r");
    s.wait_for("the new group listed", |scr| scr.contains("Finance"));
    assert!(d.roster_ok(&["groups", "list"]).contains("Finance"));
    // 6 lists tokens; n creates one and shows its secret once, y copies it.
    s.keys("6");
    s.wait_for("the Tokens screen", |scr| {
        scr.contains("WORKSPACE") && scr.contains("CREATED")
    });
    s.keys("n");
    s.wait_for("the token prompt", |scr| {
        scr.contains("Name of the new SCIM token")
    });
    s.keys("okta\r");
    s.wait_for("the secret", |scr| scr.contains("it is not shown again"));
    s.keys("y");
    s.wait_for("the copy message", |scr| {
        scr.contains("copied the secret of SCIM token okta")
    });
    s.keys("\x1b");
    s.wait_for("the token listed", |scr| {
        !scr.contains("it is not shown again") && scr.contains("okta")
    });
    s.keys("1");
    s.wait_for("back on Users", |scr| scr.contains("E-MAIL"));

    // The daemon dies: a banner says so; it comes back: the TUI reconnects.
    d.kill9();
    s.wait_for("the disconnected banner", |scr| {
        scr.contains("rosterd is not answering")
    });
    d.restart();
    s.wait_for("the reconnection", |scr| {
        !scr.contains("rosterd is not answering") && scr.contains("nora@example.com")
    });

    // ? shows every key; Esc closes it.
    s.keys("?");
    s.wait_for("the help box", |scr| {
        scr.contains("Keys (Esc or ? to close)") && scr.contains("copy link")
    });
    s.keys("\x1b");
    s.wait_for("help to close", |scr| {
        !scr.contains("Keys (Esc or ? to close)")
    });

    // q quits with status 0 and gives the terminal back.
    let status = s.quit();
    assert!(status.success(), "roster exited with {status:?}");
    let raw = s.raw();
    assert!(raw.contains("\x1b[38;5;"), "colours without NO_COLOR");
    let left = raw
        .rfind("\x1b[?1049l")
        .expect("the alternate screen is left");
    let entered = raw
        .rfind("\x1b[?1049h")
        .expect("the alternate screen was used");
    assert!(left > entered, "the terminal is restored at exit");
}

#[test]
fn with_no_daemon_the_tui_offers_to_start_one_and_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let socket = data.join("rosterd.sock");
    let port = roster_e2e::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    // The started daemon inherits the environment: a free port, no SMTP.
    let mut s = Session::spawn(
        &["--socket".as_ref(), socket.as_os_str()],
        &[
            ("ROSTER_LISTEN", listen.as_str()),
            ("ROSTER_SMTP_URL", ""),
            ("NO_COLOR", "1"),
        ],
    );
    s.wait_for("the offer", |scr| {
        scr.contains("No rosterd answers on") && scr.contains("[Y/n]")
    });
    s.keys("\r");
    s.wait_for("the TUI on the new daemon", |scr| {
        scr.contains("1:Users") && scr.contains("No members match")
    });
    let status = s.quit();
    assert!(status.success(), "roster exited with {status:?}");
    assert!(
        !s.raw().contains("\x1b[38;5;"),
        "NO_COLOR: no colours at all"
    );
    // The daemon keeps running after the TUI: stop it through its socket's owner.
    let out = std::process::Command::new(bin("roster"))
        .args([
            "--socket",
            socket.to_str().expect("utf-8"),
            "workspaces",
            "list",
        ])
        .output()
        .expect("roster");
    assert!(out.status.success(), "the started daemon still answers");
    let pids = std::process::Command::new("pgrep")
        .args(["-f", &format!("rosterd --data-dir {}", data.display())])
        .output()
        .expect("pgrep");
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = std::process::Command::new("kill").arg(pid).status();
    }
}

/// The TUI follows the changes of the workspace it shows, whether chosen
/// with `--workspace` or with the switcher: the daemon sends a change
/// stream only its own workspace's news.
#[test]
fn the_tui_follows_the_changes_of_the_workspace_it_shows() {
    // A real SMTP server: without one, sending pauses and resumes, and that
    // news (of no workspace) reaches every stream and reloads the list.
    let smtp = roster_e2e::SmtpServer::start();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    });
    d.roster_ok(&["workspaces", "create", "acme"]);
    let invite_into = |workspace: &str, name: &str, email: &str| {
        d.roster_ok(&[
            "invite",
            "--workspace",
            workspace,
            "--name",
            name,
            "--email",
            email,
            "--role",
            "builder",
        ])
    };
    invite_into("acme", "Ada Lovelace", "ada@acme.example");
    invite_into("default", "Grace Hopper", "grace@ws.example");
    smtp.wait_for("ada@acme.example", 1);
    smtp.wait_for("grace@ws.example", 1);
    let mut s = Session::spawn(
        &[
            "--socket".as_ref(),
            d.socket().as_os_str(),
            "--workspace".as_ref(),
            "acme".as_ref(),
        ],
        &[],
    );
    s.wait_for("acme's member", |scr| {
        scr.contains("[acme]") && scr.contains("ada@acme.example")
    });

    // A change made in acme elsewhere shows without a key press (a rename:
    // it sends no mail, whose news every stream carries).
    let rename = |workspace: &str, email: &str, name: &str| {
        d.roster_ok(&["edit", "--workspace", workspace, email, "--name", name])
    };
    // The TUI reloads once when its stream first connects, which may come
    // after a first rename; a second rename can only show through the
    // stream's news.
    rename("acme", "ada@acme.example", "Ada King");
    s.wait_for("acme's change to show live", |scr| scr.contains("Ada King"));
    rename("acme", "ada@acme.example", "Ada Byron");
    s.wait_for("acme's second change to show live", |scr| {
        scr.contains("Ada Byron")
    });

    // Switch to default (above acme in the switcher); its news follows.
    s.keys("w");
    s.wait_for("the switcher", |scr| scr.contains("▸ acme"));
    // A workspace created elsewhere joins the open switcher's list, the
    // cursor staying where it was.
    assert!(!s.screen().contains("zeta"));
    d.roster_ok(&["workspaces", "create", "zeta"]);
    s.wait_for("the new workspace in the open switcher", |scr| {
        scr.contains("zeta") && scr.contains("▸ acme")
    });
    s.keys("k");
    s.wait_for("the cursor on default", |scr| scr.contains("▸ default"));
    s.keys("\r");
    s.wait_for("default's member", |scr| {
        scr.contains("[default]") && scr.contains("grace@ws.example")
    });
    rename("default", "grace@ws.example", "Grace Brewster");
    s.wait_for("default's change to show live", |scr| {
        scr.contains("Grace Brewster")
    });
    let status = s.quit();
    assert!(status.success(), "roster exited with {status:?}");
}
