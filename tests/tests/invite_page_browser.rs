//! The invite page in a real browser: headless Chromium driven over WebDriver.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use roster_e2e::{Daemon, DaemonOptions, free_port, poll};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_person_opens_the_link_clicks_accept_and_is_in() {
    let d = Daemon::start(DaemonOptions::default());
    d.invite("Barbara Liskov", "barbara@example.com", "builder");
    let link = d
        .roster_ok(&["link", "barbara@example.com"])
        .trim()
        .to_string();

    let port = free_port();
    let chromedriver = std::env::var("E2E_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver} ({e}): install Debian's chromium-driver (the README's test command does)")),
    );
    poll("chromedriver to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });

    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("E2E_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.path().display())]
        }),
    );
    let browser = ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in headless Chromium");

    let result = async {
        browser.goto(&link).await?;
        let heading = browser.find(Locator::Css("h1")).await?.text().await?;
        assert_eq!(heading, "Join My workspace");
        let body = browser.find(Locator::Css("main")).await?.text().await?;
        assert!(
            body.contains("Barbara Liskov"),
            "the page names the invitee: {body}"
        );
        // Chromium may answer the click itself with "aborted by navigation":
        // the navigation it started is the point of the click.
        match browser
            .find(Locator::Css("button#accept"))
            .await?
            .click()
            .await
        {
            Err(e) if !aborted_by_navigation(&e) => return Err(e),
            _ => {}
        }
        // Wait for the success page's own heading: the form page's h1 can still be found
        // (and then go stale) while the POST navigation is in flight, and a
        // command sent during that navigation is aborted by it.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let (done, page) = loop {
            let read = async {
                let done = browser
                    .find(Locator::XPath("//h1[normalize-space()=\"You're in\"]"))
                    .await?
                    .text()
                    .await?;
                let page = browser.find(Locator::Css("main")).await?.text().await?;
                Ok::<_, fantoccini::error::CmdError>((done, page))
            };
            match read.await {
                Ok(found) => break found,
                Err(e) if std::time::Instant::now() < deadline && still_navigating(&e) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        };
        Ok::<_, fantoccini::error::CmdError>((done, page))
    }
    .await;
    let _ = browser.close().await;
    let (done, page) = result.expect("browser steps");
    assert_eq!(done, "You're in", "{page}");
    assert!(page.contains("active member of My workspace"), "{page}");

    let member = d.roster_json(&["users", "show", "barbara@example.com"]);
    assert_eq!(member["status"], "active");
}

/// Chromium's answer to a command that a page navigation interrupted.
fn aborted_by_navigation(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("aborted by navigation")
}

/// Errors that only mean the success page is not there yet.
fn still_navigating(e: &fantoccini::error::CmdError) -> bool {
    aborted_by_navigation(e) || e.is_no_such_element() || e.is_stale_element_reference()
}
