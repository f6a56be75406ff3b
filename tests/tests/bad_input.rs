//! Every kind of bad input gets a precise one-line reason and changes nothing.

use roster_e2e::{Daemon, DaemonOptions};
use std::time::Duration;

fn snapshot(d: &Daemon) -> (serde_json::Value, usize) {
    let members = d.roster_json(&["users", "list", "--all"]);
    let audit = d.roster_json(&["audit", "list", "--limit", "500"]);
    (members, audit.as_array().map_or(0, Vec::len))
}

#[test]
fn the_cli_refuses_bad_input_with_one_clear_line_and_changes_nothing() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["groups", "create", "Finance"]);
    d.roster_ok(&[
        "invite",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
        "--role",
        "admin",
    ]);
    let before = snapshot(&d);

    let long_email = format!("{}@example.com", "a".repeat(250));
    let long_name = "n".repeat(101);
    let big_value = format!(r#"{{"k":"{}"}}"#, "v".repeat(2001));
    let data_dir = d.data_dir().display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "not-an-email",
                "--role",
                "admin",
            ],
            "e-mail address \"not-an-email\" is not valid",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                &long_email,
                "--role",
                "admin",
            ],
            "longer than 254 characters",
        ),
        (
            vec![
                "invite",
                "--name",
                "  ",
                "--email",
                "x@example.com",
                "--role",
                "admin",
            ],
            "name is empty",
        ),
        (
            vec![
                "invite",
                "--name",
                &long_name,
                "--email",
                "x@example.com",
                "--role",
                "admin",
            ],
            "name is longer than 100 characters",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "owner",
            ],
            "unknown role \"owner\"",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--group",
                "Nope",
            ],
            "group \"Nope\" does not exist",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--metadata",
                "[1]",
            ],
            "JSON object",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--metadata",
                r#"{"a":1}"#,
            ],
            "not a string",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--metadata",
                &big_value,
            ],
            "longer than 2000",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--metadata",
                r#"{"bad key":"v"}"#,
            ],
            "metadata key \"bad key\"",
        ),
        (
            vec![
                "invite",
                "--name",
                "Ada again",
                "--email",
                "ADA@example.com",
                "--role",
                "builder",
            ],
            "already a member of workspace default (status: invited)",
        ),
        (
            vec!["archive", "nobody@example.com"],
            "nobody@example.com is not a member of workspace default",
        ),
        (
            vec!["edit", "nobody@example.com", "--name", "X"],
            "not a member",
        ),
        (vec!["groups", "create", "Admin"], "role name"),
        (vec!["groups", "create", "finance"], "already exists"),
        (
            vec!["users", "list", "--status", "gone"],
            "unknown status \"gone\"",
        ),
        (
            vec![
                "invite",
                "--name",
                "X",
                "--email",
                "x@example.com",
                "--role",
                "admin",
                "--workspace",
                "nope",
            ],
            "workspace \"nope\" does not exist",
        ),
        (vec!["workspaces", "create", "Bad Slug"], "slug"),
        (
            vec!["import", data_dir.as_str()],
            "is a directory; give the CSV file to import",
        ),
        (
            vec!["import", "/dev/null"],
            "/dev/null is not a regular file; give the CSV file to import",
        ),
    ];
    for (args, want) in &cases {
        let err = d.roster_err(args);
        assert!(err.starts_with("roster: "), "{err}");
        assert!(
            err.contains(want),
            "`roster {}` said {err:?}, expected it to mention {want:?}",
            args.join(" ")
        );
    }
    assert_eq!(snapshot(&d), before, "refused input changed something");
}

#[tokio::test]
async fn the_admin_api_refuses_malformed_and_oversized_bodies() {
    let d = Daemon::start(DaemonOptions {
        env: vec![("ROSTER_HTTP_MAX_BODY_BYTES".into(), "4096".into())],
        ..Default::default()
    });
    let api = d.socket_client();
    let url = "http://rosterd/api/v1/members";
    let before = snapshot(&d);

    let cases: Vec<(String, u16, &str)> = vec![
        ("{".into(), 400, "not valid JSON"),
        (
            r#"{"name":"A","email":"a@b.co"}"#.into(),
            400,
            "missing field `role`",
        ),
        (
            r#"{"name":"A","email":"a@b.co","role":"admin","colour":"red"}"#.into(),
            400,
            "unknown field `colour`",
        ),
        (
            r#"{"name":5,"email":"a@b.co","role":"admin"}"#.into(),
            400,
            "invalid type",
        ),
        // serde_json alone would keep "2" without a word.
        (
            r#"{"name":"A","email":"a@b.co","role":"admin","metadata":{"k":"1","k":"2"}}"#.into(),
            400,
            "names \"k\" twice in one object",
        ),
        (
            format!(
                r#"{{"name":"A","email":"a@b.co","role":"admin","metadata":{{"k":"{}"}}}}"#,
                "v".repeat(5000)
            ),
            413,
            "larger than the configured limit",
        ),
    ];
    for (body, status, want) in cases {
        let resp = api
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(
            resp.status().as_u16(),
            status,
            "for {}",
            &body[..body.len().min(60)]
        );
        let err: serde_json::Value = resp.json().await.expect("error body is JSON");
        assert!(
            err["message"].as_str().is_some_and(|m| m.contains(want)),
            "{err} should mention {want:?}"
        );
        assert!(err["code"].is_string());
    }
    for query in ["limit=abc", "colour=red", "cursor=garbage"] {
        let resp = api
            .get(format!("http://rosterd/api/v1/members?{query}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 400, "{query}");
    }
    assert_eq!(snapshot(&d), before);
}

#[tokio::test]
async fn the_admin_api_over_tcp_needs_an_admin_token() {
    let d = Daemon::start(DaemonOptions::default());
    let url = format!("{}/api/v1/members", d.base_url());
    let http = reqwest::Client::new();

    let none = http.get(&url).send().await.expect("request");
    assert_eq!(none.status(), 401);
    assert!(
        none.text()
            .await
            .unwrap_or_default()
            .contains("needs an admin token")
    );
    let wrong = http
        .get(&url)
        .bearer_auth("roster_admin_nope")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    let scim = d.roster_ok(&["scim-token", "create", "--name", "okta"]);
    let scim_secret = scim.trim().lines().last().expect("secret line").to_string();
    let as_scim = http
        .get(&url)
        .bearer_auth(&scim_secret)
        .send()
        .await
        .expect("request");
    assert_eq!(as_scim.status(), 401, "a SCIM token is not an admin token");

    let out = d.roster_ok(&["admin-token", "create", "--name", "laptop"]);
    let secret = out.trim().lines().last().expect("secret line").to_string();
    assert!(secret.starts_with("roster_admin_"));
    let ok = http
        .get(&url)
        .bearer_auth(&secret)
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);

    // The CLI works remotely with the token, and the audit names the token.
    let remote = std::process::Command::new(roster_e2e::bin("roster"))
        .args([
            "--url",
            &d.base_url(),
            "--token",
            &secret,
            "invite",
            "--name",
            "Remote",
            "--email",
            "remote@example.com",
            "--role",
            "builder",
        ])
        .output()
        .expect("roster");
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let audit = d.roster_json(&["audit", "list", "--member", "remote@example.com"]);
    assert_eq!(audit[0]["actor"], "token:laptop");
    assert_eq!(audit[0]["source"], "cli");

    d.roster_ok(&["admin-token", "revoke", "laptop"]);
    let revoked = http
        .get(&url)
        .bearer_auth(&secret)
        .send()
        .await
        .expect("request");
    assert_eq!(
        revoked.status(),
        401,
        "a revoked token stops working at once"
    );
    let listed = d.roster_ok(&["scim-token", "list"]);
    assert!(
        listed.contains("okta") && !listed.contains(&scim_secret),
        "tokens are listed without secrets"
    );
}

#[test]
fn an_unreachable_daemon_is_one_clear_line() {
    let out = std::process::Command::new(roster_e2e::bin("roster"))
        .args(["--socket", "/nonexistent/rosterd.sock", "users", "list"])
        .output()
        .expect("roster");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach rosterd at /nonexistent/rosterd.sock"),
        "{err}"
    );
    // A --url without its scheme is named as such, not "builder error".
    let out = std::process::Command::new(roster_e2e::bin("roster"))
        .args(["--url", "127.0.0.1:8080", "--token", "t", "users", "list"])
        .output()
        .expect("roster");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "roster: --url 127.0.0.1:8080 is not an http:// or https:// URL; write it like https://roster.example.com or http://127.0.0.1:8080"
    );
}

#[tokio::test]
async fn the_invite_page_is_rate_limited() {
    let d = Daemon::start(DaemonOptions {
        env: vec![("ROSTER_INVITES_RATE_LIMIT_PER_MINUTE".into(), "5".into())],
        ..Default::default()
    });
    let url = format!("{}/invite/garbage", d.base_url());
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(reqwest::get(&url).await.expect("request").status().as_u16());
    }
    assert_eq!(&statuses[..5], &[404; 5]);
    assert_eq!(statuses[7], 429, "{statuses:?}");
}

#[test]
fn a_bad_setting_stops_rosterd_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("rosterd.toml");
    std::fs::write(&config, "[imports]\nmode = \"sometimes\"\n").expect("config file");
    let data = dir.path().join("data");
    let start = |env: &[(&str, &str)], with_file: bool| {
        let mut cmd = std::process::Command::new(roster_e2e::bin("rosterd"));
        cmd.arg("--data-dir").arg(&data);
        if with_file {
            cmd.arg("--config").arg(&config);
        }
        cmd.envs(env.iter().copied());
        cmd.output().expect("rosterd")
    };

    let out = start(&[], true);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "rosterd: configuration: imports.mode in {} must be one of `best-effort`, `all-or-nothing` (found `sometimes`)",
            config.display()
        )
    );

    let out = start(&[("ROSTER_INVITES_EXPIRY_HOURS", "a week")], false);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "rosterd: configuration: ROSTER_INVITES_EXPIRY_HOURS must be a whole number, 0 or more (found string \"a week\")"
    );
    let out = std::process::Command::new(roster_e2e::bin("rosterd"))
        .args(["--listen", "8080", "--data-dir"])
        .arg(&data)
        .output()
        .expect("rosterd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("use an IP address and a port, such as 127.0.0.1:8080"),
        "a bare port gets the form to use: {err}"
    );
    assert!(!data.exists(), "a refused start creates no data directory");
}

#[test]
fn an_smtp_password_never_reaches_the_log_even_with_an_at_sign_in_it() {
    let port = roster_e2e::free_port();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://bob:s3cr@t@127.0.0.1:{port}")),
        ..DaemonOptions::default()
    });
    let log = roster_e2e::poll("the SMTP set-up line", Duration::from_secs(10), || {
        let log = d.log();
        log.contains("sending invite mail over SMTP").then_some(log)
    });
    assert!(log.contains("smtp://bob:***@127.0.0.1"), "{log}");
    assert!(!log.contains("s3cr"), "the password leaked: {log}");
    assert!(!log.contains("t@127"), "part of the password leaked: {log}");
}
