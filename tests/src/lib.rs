//! Test kit for the end-to-end suite: the real `rosterd` and `roster`
//! binaries on a temp data dir and a free port, a real SMTP server
//! (aiosmtpd) writing to a real maildir, and polling with deadlines.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Polls `check` until it yields a value or `timeout` passes.
pub fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Where cargo put the workspace binaries (next to the test executable).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests (the README's test command does)",
        path.display()
    );
    path
}

/// A memory figure of a process in MB from `/proc/PID/status`: `VmRSS`
/// (now) or `VmHWM` (peak). 0 when the process is gone.
pub fn proc_memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| {
            l.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// How to start a daemon.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    pub smtp_url: Option<String>,
    pub env: Vec<(String, String)>,
    /// Start in the temp dir with `--data-dir data`, as an admin who types
    /// a relative path does.
    pub relative_data_dir: bool,
}

/// A running `rosterd`, stopped (SIGKILL) on drop.
pub struct Daemon {
    pub dir: TempDir,
    pub port: u16,
    opts: DaemonOptions,
    child: Option<Child>,
}

impl Daemon {
    /// Starts a daemon with embedded defaults but a temp dir and free port.
    pub fn start(opts: DaemonOptions) -> Self {
        let mut d = Daemon {
            dir: tempfile::tempdir().expect("tempdir"),
            port: free_port(),
            opts,
            child: None,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(bin("rosterd"));
        if self.opts.relative_data_dir {
            cmd.current_dir(self.dir.path())
                .arg("--data-dir")
                .arg("data");
        } else {
            cmd.arg("--data-dir").arg(self.data_dir());
        }
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env_remove("ROSTER_SMTP_URL")
            .env_remove("ROSTER_SMTP_HOST")
            .env_remove("ROSTER_SMTP_PORT")
            .env_remove("ROSTER_SMTP_TLS")
            .env_remove("ROSTER_SMTP_USER")
            .env("RUST_LOG", "info")
            .env("ROSTER_OUTBOX_INITIAL_BACKOFF_SECS", "1")
            .env("ROSTER_OUTBOX_MAX_BACKOFF_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("rosterd.log"))
                    .expect("log file"),
            ));
        if let Some(url) = &self.opts.smtp_url {
            cmd.env("ROSTER_SMTP_URL", url);
        }
        for (k, v) in &self.opts.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawning rosterd"));
        let url = format!("{}/healthz", self.base_url());
        let socket = self.socket();
        poll(
            "rosterd to answer /healthz",
            Duration::from_secs(20),
            || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!(
                        "rosterd exited with {status} during start; log:\n{}",
                        self.log()
                    );
                }
                let tcp_ok = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
                (tcp_ok && socket.exists() && http_get_ok(&url)).then_some(())
            },
        );
    }

    /// The daemon's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The admin socket.
    pub fn socket(&self) -> PathBuf {
        self.data_dir().join("rosterd.sock")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rosterd.log")).unwrap_or_default()
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// kill -9, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL rosterd");
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(c.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let status = poll(
            "rosterd to exit after SIGTERM",
            Duration::from_secs(10),
            || c.try_wait().ok().flatten(),
        );
        status.code()
    }

    /// Starts the daemon again on the same data dir and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Starts again with other options.
    pub fn restart_with(&mut self, opts: DaemonOptions) {
        self.kill9();
        self.opts = opts;
        self.spawn();
    }

    /// Invites someone through the real CLI, which must succeed; what it
    /// printed.
    pub fn invite(&self, name: &str, email: &str, role: &str) -> String {
        self.roster_ok(&["invite", "--name", name, "--email", email, "--role", role])
    }

    /// Waits until `roster mail list` says that sending is paused; the line
    /// it prints above the list.
    pub fn mail_paused_line(&self) -> String {
        poll("sending to pause", Duration::from_secs(30), || {
            let listed = self.roster(&["mail", "list"]);
            let said = String::from_utf8_lossy(&listed.stderr).to_string();
            said.starts_with("Sending paused since ").then_some(said)
        })
    }

    /// Runs the real `roster` CLI against this daemon's socket.
    pub fn roster(&self, args: &[&str]) -> Output {
        Command::new(bin("roster"))
            .args(args)
            .env("ROSTER_SOCKET", self.socket())
            .env_remove("ROSTER_URL")
            .env_remove("ROSTER_TOKEN")
            .env("USER", "e2e-admin")
            .stdin(Stdio::null())
            .output()
            .expect("running roster")
    }

    /// Makes a workspace SSO-managed (`--scim-creates-active true`): users
    /// an identity provider creates are active at once, and get no mail.
    pub fn make_sso_managed(&self, workspace: &str) {
        self.roster_ok(&[
            "workspaces",
            "set",
            workspace,
            "--scim-creates-active",
            "true",
        ]);
    }

    /// Runs `roster` and insists on success; returns stdout.
    pub fn roster_ok(&self, args: &[&str]) -> String {
        let out = self.roster(args);
        assert!(
            out.status.success(),
            "roster {args:?} failed: {}\n--- daemon log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs `roster` and insists on failure; returns its one-line stderr.
    pub fn roster_err(&self, args: &[&str]) -> String {
        let out = self.roster(args);
        assert!(
            !out.status.success(),
            "roster {args:?} should have failed but printed {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "error should be one line: {err:?}"
        );
        err.trim_end().to_string()
    }

    /// `roster ... --json` parsed.
    pub fn roster_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.roster_ok(&all)).expect("roster --json prints JSON")
    }

    /// A member's status as `roster users show` reports it.
    pub fn status_of(&self, email: &str) -> String {
        self.roster_json(&["users", "show", email])["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An HTTP client bound to the admin socket.
    pub fn socket_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .unix_socket(self.socket())
            .build()
            .expect("socket client")
    }

    /// A plain HTTP client for the TCP listener (cookies kept).
    pub fn web_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("web client")
    }

    /// The admin API's live event stream (`query` is `""` or `?workspace=…`),
    /// once it says it is ready.
    pub async fn events(&self, query: &str) -> Events {
        let resp = self
            .socket_client()
            .get(format!("http://rosterd/api/v1/events{query}"))
            .send()
            .await
            .expect("events");
        assert_eq!(resp.status(), 200, "the event stream opens");
        let mut events = Events {
            resp,
            seen: String::new(),
        };
        events.until("event: ready", Duration::from_secs(30)).await;
        events
    }

    /// Follows an invite link as a browser does: opens the page, then posts
    /// its form with the page's CSRF field. Returns the answer's status and body.
    pub async fn accept_invite(&self, link: &str) -> (u16, String) {
        let web = self.web_client();
        let page = web.get(link).send().await.expect("GET invite page");
        assert_eq!(page.status(), 200, "invite page should open");
        let html = page.text().await.expect("page body");
        let csrf = csrf_of(&html).expect("page has a CSRF field");
        let resp = web
            .post(link)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("POST accept");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn http_get_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    use std::io::{Read, Write};
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// One message the SMTP server received.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The Message-ID header, without its angle brackets (empty if none).
    pub message_id: String,
    /// The Auto-Submitted header as sent (empty if none).
    pub auto_submitted: String,
}

impl ReceivedMail {
    /// The first invite link in the plain-text part.
    pub fn link(&self) -> Option<String> {
        find_link(&self.text)
    }
}

/// The first `http…/invite/…` URL in a text.
pub fn find_link(text: &str) -> Option<String> {
    let start = text.find("http")?;
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    url.contains("/invite/").then_some(url)
}

/// An open event stream and everything it has said so far.
pub struct Events {
    pub resp: reqwest::Response,
    pub seen: String,
}

impl Events {
    /// Reads until `text` has arrived; fails the test after `deadline`.
    pub async fn until(&mut self, text: &str, deadline: Duration) {
        let read = async {
            while !self.seen.contains(text) {
                let chunk = self
                    .resp
                    .chunk()
                    .await
                    .expect("chunk")
                    .expect("stream open");
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        if tokio::time::timeout(deadline, read).await.is_err() {
            panic!("no {text} within {deadline:?}: {}", self.seen);
        }
    }
}

/// A real SMTP server (Python's aiosmtpd) delivering into a maildir.
pub struct SmtpServer {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
    /// Whether it refuses recipients whose local part starts with `refused`
    /// (`550 5.1.1` at RCPT TO, see `tests/support/refusing_mailbox.py`).
    refusing: bool,
}

impl SmtpServer {
    /// Starts on a free port.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts on a given port (to bring a "down" server back).
    pub fn start_on(port: u16) -> Self {
        Self::spawned(port, false)
    }

    /// Starts on a given port, refusing every recipient whose local part
    /// starts with `refused` as a real server refuses an unknown mailbox.
    pub fn refusing_on(port: u16) -> Self {
        Self::spawned(port, true)
    }

    fn spawned(port: u16, refusing: bool) -> Self {
        let mut s = SmtpServer {
            port,
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
            refusing,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let python = std::env::var("E2E_PYTHON").unwrap_or_else(|_| "python3".into());
        let maildir = self.dir.path().join("maildir");
        let handler = if self.refusing {
            "refusing_mailbox.RefusingMailbox"
        } else {
            "aiosmtpd.handlers.Mailbox"
        };
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c", handler])
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/support"))
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {python} ({e}); install it with `pip install aiosmtpd` or set E2E_PYTHON"));
        self.child = Some(child);
        let port = self.port;
        poll("the SMTP server to listen", Duration::from_secs(15), || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "aiosmtpd exited with {status}: is it installed for {python}? (pip install aiosmtpd, or set E2E_PYTHON)"
                );
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| ())
        });
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let new = self.dir.path().join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let Ok(raw) = std::fs::read(e.path()) else {
                continue;
            };
            let Some(msg) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            let to = msg
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            out.push(ReceivedMail {
                to,
                subject: msg.subject().unwrap_or_default().to_string(),
                text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                message_id: msg.message_id().unwrap_or_default().to_string(),
                auto_submitted: msg
                    .header_raw("Auto-Submitted")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            });
        }
        out
    }

    /// Messages to one address.
    pub fn messages_to(&self, addr: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(addr))
            .collect()
    }

    /// Waits until `addr` has received `n` messages; returns them.
    pub fn wait_for(&self, addr: &str, n: usize) -> Vec<ReceivedMail> {
        poll(
            &format!("{n} mail(s) to {addr}"),
            Duration::from_secs(30),
            || {
                let got = self.messages_to(addr);
                (got.len() >= n).then_some(got)
            },
        )
    }

    /// Stops the server.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The hidden CSRF value of the invite page's form.
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..].chars().take_while(|c| *c != '"').collect())
}
