//! Server-side paging, search, filters and sort; groups; the live event stream.

use std::collections::HashSet;

use roster_e2e::{Daemon, DaemonOptions};
use serde_json::Value;

async fn page(api: &reqwest::Client, query: &str) -> Value {
    let resp = api
        .get(format!("http://rosterd/api/v1/members?{query}"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.expect("json")
}

async fn walk_all(api: &reqwest::Client, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_string(),
        };
        let p = page(api, &q).await;
        out.extend(p["items"].as_array().expect("items").iter().cloned());
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn emails(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|m| m["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn paging_search_filters_and_sort_happen_in_the_daemon() {
    let d = Daemon::start(DaemonOptions::default());
    let api = d.socket_client();
    d.roster_ok(&["groups", "create", "Ops"]);
    let firsts = [
        "Ada", "Grace", "Alan", "Barbara", "Edsger", "Ken", "Dennis", "Margaret", "Linus",
        "Frances",
    ];
    for i in 0..60 {
        let name = format!("{} Person{i:02}", firsts[i % firsts.len()]);
        let body = serde_json::json!({
            "name": name, "email": format!("user{i:02}@{}.example.com", if i % 2 == 0 { "even" } else { "odd" }),
            "role": if i % 3 == 0 { "admin" } else { "end-user" },
            "groups": if i % 4 == 0 { vec!["Ops"] } else { vec![] },
        });
        let r = api
            .post("http://rosterd/api/v1/members")
            .json(&body)
            .send()
            .await
            .expect("invite");
        assert_eq!(r.status(), 201);
    }
    for email in [
        "user01@odd.example.com",
        "user02@even.example.com",
        "user03@odd.example.com",
    ] {
        d.roster_ok(&["archive", email]);
    }

    // Walking pages of 7 visits every member exactly once, in name order.
    let all = walk_all(&api, "limit=7").await;
    assert_eq!(all.len(), 60);
    assert_eq!(emails(&all).into_iter().collect::<HashSet<_>>().len(), 60);
    // The size of the whole listing comes with each page where the daemon
    // knows it: unfiltered, by status, by role; not for a search or a group.
    for (query, total) in [
        ("limit=7", Some(60)),
        ("status=archived", Some(3)),
        ("role=admin&limit=3", Some(20)),
        ("status=invited&role=admin", Some(19)),
        ("q=person1", None),
        ("group=Ops", None),
    ] {
        assert_eq!(page(&api, query).await["total"].as_u64(), total, "{query}");
    }
    let names: Vec<String> = all
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let desc = walk_all(&api, "desc=true&limit=6").await;
    let desc_names: Vec<String> = desc
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut reversed = sorted.clone();
    reversed.reverse();
    assert_eq!(
        desc_names, reversed,
        "descending name order merges every status too"
    );

    // Descending e-mail order, and creation order.
    let by_email_desc = walk_all(&api, "sort=email&desc=true&limit=9").await;
    let mut want = emails(&by_email_desc);
    want.sort();
    want.reverse();
    assert_eq!(emails(&by_email_desc), want);
    let created = walk_all(&api, "sort=created&limit=11").await;
    assert_eq!(emails(&created)[0], "user00@even.example.com");
    assert_eq!(emails(&created)[59], "user59@odd.example.com");

    // Filters.
    let archived = walk_all(&api, "status=archived&limit=2").await;
    assert_eq!(archived.len(), 3);
    let admins = walk_all(&api, "role=admin&sort=created&limit=5").await;
    assert_eq!(admins.len(), 20);
    let ops = walk_all(&api, "group=ops&limit=4").await;
    assert_eq!(ops.len(), 15);
    assert!(
        ops.iter()
            .all(|m| m["groups"] == serde_json::json!(["Ops"]))
    );
    let invited_ops_admins = walk_all(&api, "group=Ops&role=admin&status=invited").await;
    assert_eq!(invited_ops_admins.len(), 5, "i % 12 == 0");

    // Search: a prefix of a name word, of an e-mail, of a domain; each member once.
    let grace = walk_all(&api, "q=gra&limit=2").await;
    assert_eq!(grace.len(), 6);
    assert!(
        grace
            .iter()
            .all(|m| m["name"].as_str().is_some_and(|n| n.starts_with("Grace")))
    );
    let person1 = walk_all(&api, "q=person1").await;
    assert_eq!(person1.len(), 10);
    let user05 = walk_all(&api, "q=USER05@").await;
    assert_eq!(emails(&user05), ["user05@odd.example.com"]);
    let odd = walk_all(&api, "q=odd.example&limit=8").await;
    assert_eq!(odd.len(), 30);
    let phrase = walk_all(&api, "q=ada%20person1").await;
    assert_eq!(
        emails(&phrase),
        ["user10@even.example.com"],
        "several words match as a phrase"
    );
    let archived_search = walk_all(&api, "q=user0&status=archived").await;
    assert_eq!(archived_search.len(), 3);

    // The CLI shows the same thing.
    let cli = d.roster_json(&["users", "list", "--search", "gra", "--all"]);
    assert_eq!(cli.as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn search_ignores_accents_both_ways() {
    let d = Daemon::start(DaemonOptions::default());
    let api = d.socket_client();
    for (name, email) in [
        ("Zoë Ångström-Łukasiewicz", "zoe@example.com"),
        ("Łukasz Nowak", "łukasz.nowak@example.pl"),
        ("François Ørsted", "f.orsted@example.fr"),
        ("Nguyễn Thị Minh", "minh@example.vn"),
        ("Luke Skywalker", "luke@example.com"),
    ] {
        d.invite(name, email, "end-user");
    }
    let found = |q: &str| {
        let api = api.clone();
        let q = format!("q={}", urlencoding::encode(q));
        async move {
            let mut got = emails(&walk_all(&api, &q).await);
            got.sort();
            got
        }
    };
    assert_eq!(
        found("lukas").await,
        ["zoe@example.com", "łukasz.nowak@example.pl"],
        "typed without the stroke"
    );
    assert_eq!(
        found("Łukas").await,
        ["zoe@example.com", "łukasz.nowak@example.pl"],
        "typed with it"
    );
    assert_eq!(found("luk").await.len(), 3, "Luke too");
    assert_eq!(found("angstrom").await, ["zoe@example.com"]);
    assert_eq!(found("orsted").await, ["f.orsted@example.fr"]);
    assert_eq!(found("francois").await, ["f.orsted@example.fr"]);
    assert_eq!(found("nguyen").await, ["minh@example.vn"]);
    assert_eq!(
        found("zoe angstrom").await,
        ["zoe@example.com"],
        "a phrase folds too"
    );
    let cli = d.roster_json(&["users", "list", "--search", "lukasiewicz"]);
    assert_eq!(
        cli.as_array().map(|a| a.len()),
        Some(1),
        "the CLI searches the same way: {cli}"
    );
}

#[tokio::test]
async fn group_rename_and_delete_keep_members_in_their_other_groups() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&["groups", "create", "Finance"]);
    d.roster_ok(&["groups", "create", "Ops"]);
    d.roster_ok(&[
        "invite",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
        "--role",
        "builder",
        "--group",
        "Finance",
    ]);
    d.roster_ok(&["groups", "add", "ops", "ada@example.com"]);
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["groups"],
        serde_json::json!(["Finance", "Ops"])
    );
    d.roster_ok(&["groups", "rename", "Finance", "Money"]);
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["groups"],
        serde_json::json!(["Money", "Ops"])
    );
    d.roster_ok(&["groups", "delete", "Money"]);
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["groups"],
        serde_json::json!(["Ops"])
    );
    let listed = d.roster_json(&["groups", "list"]);
    assert_eq!(listed[0]["name"], "Ops");
    assert_eq!(listed[0]["members"], 1);
    d.roster_ok(&["groups", "remove", "Ops", "ada@example.com"]);
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["groups"],
        serde_json::json!([])
    );
    let err = d.roster_err(&[
        "groups",
        "add",
        "Ops",
        "ada@example.com",
        "ghost@example.com",
    ]);
    assert!(err.contains("ghost@example.com is not a member"), "{err}");
    assert_eq!(
        d.roster_json(&["users", "show", "ada@example.com"])["groups"],
        serde_json::json!([]),
        "all or nothing"
    );
}

#[tokio::test]
async fn hidden_metadata_is_write_only_unless_revealed() {
    let d = Daemon::start(DaemonOptions::default());
    d.roster_ok(&[
        "invite",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
        "--role",
        "builder",
        "--metadata",
        r#"{"apiKey":"s3cret","team":"x"}"#,
        "--hide",
        "apiKey",
    ]);
    let m = d.roster_json(&["users", "show", "ada@example.com"]);
    assert_eq!(m["metadata"], serde_json::json!({"team": "x"}));
    assert_eq!(m["hidden_keys"], serde_json::json!(["apiKey"]));
    let list = d.roster_json(&["users", "list"]);
    assert!(!list.to_string().contains("s3cret"));
    let audit = d.roster_json(&["audit", "list"]);
    assert!(
        !audit.to_string().contains("s3cret"),
        "the audit log masks hidden values"
    );
    let revealed = d.roster_json(&["users", "show", "ada@example.com", "--reveal"]);
    assert_eq!(revealed["metadata"]["apiKey"], "s3cret");
}

#[tokio::test]
async fn changes_stream_as_server_sent_events() {
    let d = Daemon::start(DaemonOptions::default());
    // Live (it said it is ready) before the change is made.
    let mut events = d.events("").await;
    assert!(
        events.resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    d.invite("Live", "live@example.com", "builder");
    events
        .until("live@example.com", std::time::Duration::from_secs(10))
        .await;
    let got = events.seen;
    assert!(got.contains("event: change"), "{got}");
    assert!(got.contains(r#""kind":"member.invited""#), "{got}");
}

/// Mail delivery pausing and resuming is news for every workspace (the mail
/// server is shared), so an admin watching another workspace hears of it.
#[tokio::test]
async fn mail_delivery_pausing_reaches_every_workspaces_stream() {
    let smtp_port = roster_e2e::free_port();
    let d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        env: vec![("ROSTER_OUTBOX_INITIAL_BACKOFF_SECS".into(), "1".into())],
        ..DaemonOptions::default()
    });
    d.roster_ok(&["workspaces", "create", "sales", "--name", "Sales"]);
    let mut events = d.events("?workspace=sales").await;
    let deadline = std::time::Duration::from_secs(30);
    d.invite("Paused", "paused@example.com", "builder");
    events.until(r#""kind":"mail.paused""#, deadline).await;
    assert!(
        !events.seen.contains("paused@example.com"),
        "the default workspace's own news stays out of the sales stream: {}",
        events.seen
    );
    let smtp = roster_e2e::SmtpServer::start_on(smtp_port);
    events.until(r#""kind":"mail.resumed""#, deadline).await;
    smtp.wait_for("paused@example.com", 1);
}

/// A new workspace is news for every stream: an admin watching another
/// workspace (the TUI's switcher) learns of it at once.
#[tokio::test]
async fn a_new_workspace_reaches_every_workspaces_stream() {
    let d = Daemon::start(DaemonOptions::default());
    let mut events = d.events("").await;
    d.roster_ok(&["workspaces", "create", "apac", "--name", "APAC"]);
    events
        .until(
            r#""kind":"workspace.created""#,
            std::time::Duration::from_secs(10),
        )
        .await;
    assert!(
        events.seen.contains(r#""target":"apac""#),
        "{}",
        events.seen
    );
}

/// A script that reads only the start of a listing (`roster users list |
/// head`) closes the pipe early: roster stops quietly and successfully, as
/// any Unix tool does, instead of panicking on the broken pipe.
#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    use std::io::{BufRead, BufReader, Write};
    let d = Daemon::start(DaemonOptions::default());
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("many.csv");
    let mut f = std::fs::File::create(&csv).expect("csv");
    writeln!(f, "name,email,role").expect("header");
    for i in 0..3000 {
        writeln!(f, "Reader Person{i},reader{i}@example.com,end-user").expect("row");
    }
    drop(f);
    d.roster_ok(&["import", csv.to_str().expect("utf-8")]);
    for args in [
        &["users", "list", "--all"][..],
        &["users", "list", "--all", "--json"][..],
    ] {
        let mut child = std::process::Command::new(roster_e2e::bin("roster"))
            .args(args)
            .env("ROSTER_SOCKET", d.socket())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("roster");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        // The read end is closed here, with most of the listing unread.
        let out = child.wait_with_output().expect("roster ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args:?}: {} {stderr}",
            out.status
        );
    }
}
