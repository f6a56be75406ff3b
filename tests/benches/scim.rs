//! SCIM benchmarks against a release `rosterd` over real HTTP on loopback:
//!
//! 1. `POST /Users` from 64 clients until the workspace has M members
//!    (default 1,000,000; durable, each with its audit event), then from
//!    `wrk`'s 64 connections for 15 s;
//! 2. `GET /Users?filter=userName eq "…"` with 64 connections at M members,
//!    beside a bare axum handler doing one redb read (a separate process of
//!    this binary, same client, same run);
//! 3. Okta's import walk at M members: a page of 100 at nine tenths of the
//!    list on its own, then the pages after it (up to 1,000), each requested after
//!    the one before (as Okta pages);
//! 4. Okta's group push: a group filled with `--group-members` users
//!    (default 100,000) by PATCHes of 1,000 members each, then one member
//!    added and removed at a time, the group looked up by name without its
//!    members, and Entra's membership check (`id eq … and members[value eq
//!    …]`), each request after the one before; then the group's DELETE,
//!    with creates from another client meanwhile;
//! 5. a 100,000-user Okta-style initial sync (filter, then create) with 16
//!    clients into a second workspace;
//! 6. the same filter workload (8 connections: its server does not keep up
//!    with 64) against the Python reference server `scim2-server` (PyPI)
//!    holding `--compare-users` users.
//!
//! Run: `cargo build --release --workspace && cargo bench -p roster-e2e --bench scim`
//! (`-- --members 100000` for a shorter run). Workspaces are SSO-managed
//! (`scim_creates_active`), so creating a user sends no mail.

#[allow(dead_code)] // each bench uses part of it
mod measure;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use measure::{arg, email, ms, percentile, person};
use roster_e2e::{Daemon, DaemonOptions, free_port, poll};
use serde_json::json;

const CLIENTS: usize = 64;

/// One HTTP target: base URL and bearer token.
#[derive(Clone)]
struct Target {
    base: String,
    token: String,
}

/// Runs `job(client, target, i)` for `i` in `0..n` from `clients`
/// connections (one client each, so each keeps its own connection);
/// returns elapsed time and sorted latencies.
async fn run<F, Fut>(t: &Target, n: usize, clients: usize, job: F) -> (Duration, Vec<Duration>)
where
    F: Fn(reqwest::Client, Target, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, job, t) = (next.clone(), job.clone(), t.clone());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .expect("client");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let s = Instant::now();
                job(client.clone(), t.clone(), i).await;
                lat.push(s.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client task"));
    }
    all.sort();
    (start.elapsed(), all)
}

async fn create_user(client: &reqwest::Client, t: &Target, i: usize) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email(i),
        "externalId": format!("ext-{i}"),
        "name": {"givenName": person(i).0, "familyName": person(i).1},
        "active": true,
    });
    let r = client
        .post(format!("{}/Users", t.base))
        .bearer_auth(&t.token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /Users");
    assert_eq!(
        r.status(),
        201,
        "create {i}: {}",
        r.text().await.unwrap_or_default()
    );
}

async fn find_user(client: &reqwest::Client, t: &Target, i: usize) -> u64 {
    let filter = format!("userName eq \"{}\"", email(i));
    let r = client
        .get(format!("{}/Users", t.base))
        .query(&[("filter", filter.as_str())])
        .bearer_auth(&t.token)
        .send()
        .await
        .expect("GET /Users?filter");
    assert_eq!(r.status(), 200, "filter {i}");
    let v: serde_json::Value = r.json().await.expect("list JSON");
    v["totalResults"].as_u64().unwrap_or(0)
}

/// The filter workload: `n` lookups of existing users spread over `users`,
/// from `clients` connections.
async fn filter_load(
    t: &Target,
    n: usize,
    users: usize,
    clients: usize,
) -> (f64, Duration, Duration) {
    let (elapsed, lat) = run(t, n, clients, move |c, t, i| async move {
        let hits = find_user(&c, &t, (i * 7919) % users).await;
        assert_eq!(hits, 1, "user {} is found", (i * 7919) % users);
    })
    .await;
    (
        n as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    )
}

/// Okta's import walk (see the module doc): one page far into the list,
/// then the pages after it in turn, one connection.
async fn paging(t: &Target, members: usize) {
    const PAGE: usize = 100;
    const PAGES: usize = 1_000;
    let client = reqwest::Client::new();
    let get = |start: usize| {
        let request = client
            .get(format!("{}/Users?startIndex={start}&count={PAGE}", t.base))
            .bearer_auth(&t.token);
        async move {
            let began = Instant::now();
            let body: serde_json::Value = request
                .send()
                .await
                .expect("page")
                .json()
                .await
                .expect("page JSON");
            let got = body["Resources"].as_array().map_or(0, Vec::len);
            (began.elapsed(), got)
        }
    };
    let first = members / 10 * 9 + 1;
    let (alone, got) = get(first).await;
    assert_eq!(got, PAGE.min(members + 1 - first), "a full page");
    let mut lat = Vec::with_capacity(PAGES);
    let mut start = first + PAGE;
    while lat.len() < PAGES && start <= members {
        let (took, got) = get(start).await;
        assert!(got > 0, "a page at {start} of {members}");
        lat.push(took);
        start += PAGE;
    }
    lat.sort_unstable();
    println!(
        "Okta import paging at {members} members, {PAGE} a page: startIndex {first} alone {}; the {} pages after it, each after the one before: p50 {}, p99 {}",
        ms(alone),
        lat.len(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
}

/// `POST /Users` driven by `wrk` (64 connections, 2 threads) for `seconds`,
/// creating users `from`, `from + 1`, … (the same bodies as
/// [`create_user`], names in no particular order): the load generator
/// takes a tenth of the CPU this process's clients take, so on 2 cores the
/// figure is the server's. Any answer but 201 fails the run. Returns
/// (creates/s, p50, p99).
/// Okta's group push (see the module doc, 4).
async fn group_push(t: &Target, size: usize) {
    const BULK: usize = 1_000;
    const SINGLES: usize = 200;
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let mut req = client
            .request(method, format!("{}{path}", t.base))
            .bearer_auth(&t.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        req.send()
    };
    // The first `size` users' ids, a page at a time.
    let mut ids: Vec<String> = Vec::with_capacity(size);
    while ids.len() < size {
        let path = format!(
            "/Users?startIndex={}&count={BULK}&attributes=id",
            ids.len() + 1
        );
        let page: serde_json::Value = send(reqwest::Method::GET, path, None)
            .await
            .expect("GET /Users")
            .json()
            .await
            .expect("page");
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        assert!(!resources.is_empty(), "users run out at {}", ids.len());
        ids.extend(
            resources
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .take(size - ids.len()),
        );
    }
    let created = send(
        reqwest::Method::POST,
        "/Groups".into(),
        Some(json!({"displayName": "Everyone"})),
    )
    .await
    .expect("POST /Groups");
    assert_eq!(created.status(), 201);
    let group: serde_json::Value = created.json().await.expect("group");
    let path = format!("/Groups/{}", group["id"].as_str().expect("group id"));
    let patch = |op: &str, members: &[String]| {
        let value: Vec<_> = members.iter().map(|id| json!({"value": id})).collect();
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": "members", "value": value}],
        })
    };
    let filled = Instant::now();
    for chunk in ids[1..].chunks(BULK) {
        let r = send(
            reqwest::Method::PATCH,
            path.clone(),
            Some(patch("add", chunk)),
        )
        .await
        .expect("PATCH");
        assert!(r.status().is_success(), "bulk add: {}", r.status());
    }
    let filled = filled.elapsed();
    let mut singles = Vec::with_capacity(SINGLES);
    for i in 0..SINGLES {
        let op = if i % 2 == 0 { "add" } else { "remove" };
        let s = Instant::now();
        let r = send(
            reqwest::Method::PATCH,
            path.clone(),
            Some(patch(op, &ids[..1])),
        )
        .await
        .expect("PATCH");
        assert!(r.status().is_success(), "single {op}: {}", r.status());
        singles.push(s.elapsed());
    }
    singles.sort();
    // Filters without members in the answer, each finding the group once.
    let find_group = |filter_of: &dyn Fn(usize) -> String| {
        let filters: Vec<String> = (0..SINGLES).map(filter_of).collect();
        let client = client.clone();
        async move {
            let mut took = Vec::with_capacity(filters.len());
            for filter in filters {
                let s = Instant::now();
                let r = client
                    .get(format!("{}/Groups", t.base))
                    .query(&[
                        ("filter", filter.as_str()),
                        ("excludedAttributes", "members"),
                    ])
                    .bearer_auth(&t.token)
                    .send()
                    .await
                    .expect("GET /Groups");
                assert_eq!(r.status(), 200);
                let found: serde_json::Value = r.json().await.expect("list");
                assert_eq!(found["totalResults"], 1, "{filter}");
                took.push(s.elapsed());
            }
            took.sort();
            took
        }
    };
    let lookups = find_group(&|_| "displayName eq \"Everyone\"".to_string()).await;
    // Entra's membership check: is this user in the group?
    let group_id = group["id"].as_str().expect("group id");
    let checks = find_group(&|i| {
        let member = &ids[1 + (i * 7919) % (ids.len() - 1)];
        format!("id eq \"{group_id}\" and members[value eq \"{member}\"]")
    })
    .await;
    println!(
        "Okta group push: {} members added in {:.1} s ({BULK} a PATCH); then one member added or removed a PATCH at a time: p50 {}, p99 {}; the group by name without members: p50 {}, p99 {}",
        ids.len() - 1,
        filled.as_secs_f64(),
        ms(percentile(&singles, 0.5)),
        ms(percentile(&singles, 0.99)),
        ms(percentile(&lookups, 0.5)),
        ms(percentile(&lookups, 0.99))
    );
    println!(
        "  Entra's membership check (id eq … and members[value eq …], without members) in that group: p50 {}, p99 {}",
        ms(percentile(&checks, 0.5)),
        ms(percentile(&checks, 0.99))
    );
    // The delete, and meanwhile creates from one other client: how long
    // the delete keeps other writes waiting.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let meanwhile = {
        let (t, stop) = (t.clone(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut took = Vec::new();
            let mut i = usize::MAX / 2;
            while !stop.load(Ordering::Relaxed) {
                let s = Instant::now();
                create_user(&client, &t, i).await;
                took.push(s.elapsed());
                i += 1;
            }
            took.sort();
            took
        })
    };
    let deleted = Instant::now();
    let r = send(reqwest::Method::DELETE, path, None)
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    let deleted = deleted.elapsed();
    stop.store(true, Ordering::Relaxed);
    let creates = meanwhile.await.expect("creates");
    println!(
        "  DELETE of that group (every member leaves it, each with its audit event): {:.2} s; {} creates from another client meanwhile, slowest {}",
        deleted.as_secs_f64(),
        creates.len(),
        ms(creates.last().copied().unwrap_or_default())
    );
}

fn wrk_create_load(t: &Target, from: usize, seconds: u64) -> Option<(f64, Duration, Duration)> {
    // More users than 64 connections can create in the time (each wrk
    // thread takes every other line), from a file: Lua cannot make them.
    let room = 60_000 * seconds as usize;
    let people: Vec<String> = (from..from + room)
        .map(|i| {
            let (given, family) = person(i);
            format!("{given}|{family}|{}|ext-{i}", email(i))
        })
        .collect();
    wrk(t, seconds, &people, |list| {
        format!(
            r#"people = {{}}
for line in io.lines("{list}") do people[#people + 1] = line end
threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
counter = 0
request = function()
  local line = people[counter * 2 + tid + 1]
  counter = counter + 1
  local given, family, address, ext = line:match("([^|]*)|([^|]*)|([^|]*)|([^|]*)")
  local body = '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. address
    .. '","externalId":"' .. ext .. '","name":{{"givenName":"' .. given .. '","familyName":"' .. family
    .. '"}},"active":true}}'
  return wrk.format("POST", "{path}/Users", {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/scim+json"}}, body)
end
"#,
            path = path_of(t),
            token = t.token
        )
    })
}

/// The path part of a target's base URL (`/scim/v2`).
fn path_of(t: &Target) -> String {
    t.base
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default()
}

/// Addresses the wrk script cycles through (a sample of the users).
const WRK_ADDRESSES: usize = 200_000;

/// The filter workload driven by `wrk` (64 connections, 2 threads, a Lua
/// script that walks the users), when it is installed: a lighter load
/// generator than this process, so the figures are the servers'. Returns
/// (req/s, p50, p99).
fn wrk_filter_load(t: &Target, users: usize, seconds: u64) -> Option<(f64, Duration, Duration)> {
    let path = path_of(t);
    // The addresses it walks, in the order the bench's own clients use,
    // from a file (Lua has no 64-bit arithmetic to make them itself).
    let walked: Vec<String> = (0..users.min(WRK_ADDRESSES))
        .map(|k| email(k * 7919 % users).replace('@', "%40"))
        .collect();
    wrk(t, seconds, &walked, |list| {
        format!(
            r#"addresses = {{}}
for line in io.lines("{list}") do addresses[#addresses + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  local address = addresses[counter % #addresses + 1]
  return wrk.format("GET", "{path}/Users?filter=userName%20eq%20%22" .. address .. "%22", {{["Authorization"] = "Bearer {token}"}})
end
"#,
            token = t.token
        )
    })
}

/// Runs `wrk` against `t` for `seconds` (64 connections, 2 threads) with
/// the Lua script `script_of` makes from the path of a file holding
/// `lines`, one a line; (req/s, p50, p99), or nothing if wrk is not
/// installed.
fn wrk(
    t: &Target,
    seconds: u64,
    lines: &[String],
    script_of: impl FnOnce(&str) -> String,
) -> Option<(f64, Duration, Duration)> {
    let dir = tempfile::tempdir().ok()?;
    let list = dir.path().join("lines.txt");
    std::fs::write(&list, lines.join("\n")).ok()?;
    let script = dir.path().join("load.lua");
    std::fs::write(&script, script_of(&list.display().to_string())).ok()?;
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CLIENTS}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(&t.base)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw failed requests:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    let duration = |v: String| -> Duration {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().unwrap_or(0.0);
        Duration::from_secs_f64(match unit {
            "us" => n / 1e6,
            "ms" => n / 1e3,
            "s" => n,
            "m" => n * 60.0,
            _ => 0.0,
        })
    };
    Some((
        field("Requests/sec:")?.parse().ok()?,
        duration(field("50%")?),
        duration(field("99%")?),
    ))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    poll("a server to listen", Duration::from_secs(600), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
}

/// The bare baseline, run as `scim --serve-bare PORT DIR USERS`: axum, one
/// redb read transaction and one `get` per request on the request's own
/// thread, a tiny JSON answer.
fn serve_bare(port: u16, dir: &str, users: usize) {
    use axum::extract::{Query, State};
    use redb::{Database, ReadableDatabase, TableDefinition};
    const EMAILS: TableDefinition<&str, u128> = TableDefinition::new("emails");

    let db = Database::create(format!("{dir}/bare.redb")).expect("bare database");
    let txn = db.begin_write().expect("write");
    {
        let mut t = txn.open_table(EMAILS).expect("table");
        for i in 0..users {
            t.insert(email(i).as_str(), i as u128).expect("insert");
        }
    }
    txn.commit().expect("commit");
    let db = Arc::new(db);
    async fn lookup(
        State(db): State<Arc<Database>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> axum::Json<serde_json::Value> {
        let wanted = q
            .get("filter")
            .and_then(|f| f.split('"').nth(1))
            .unwrap_or_default()
            .to_lowercase();
        let found = (|| {
            let txn = db.begin_read().ok()?;
            let t = txn.open_table(EMAILS).ok()?;
            t.get(wanted.as_str()).ok()?.map(|v| v.value())
        })();
        axum::Json(
            json!({"totalResults": u64::from(found.is_some()), "Resources": found.map(|id| vec![json!({"id": id.to_string()})]).unwrap_or_default()}),
        )
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let app = axum::Router::new()
            .route("/Users", axum::routing::get(lookup))
            .with_state(db);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}

fn scim2_server() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var("E2E_SCIM2_SERVER").ok().map(Into::into),
        Some(std::path::PathBuf::from(
            "target/scim-venv/bin/scim2-server",
        )),
        Some(std::path::PathBuf::from(
            "../target/scim-venv/bin/scim2-server",
        )),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-bare") {
        let (port, dir, users) = (&args[i + 1], &args[i + 2], &args[i + 3]);
        return tokio::task::block_in_place(|| {
            serve_bare(
                port.parse().expect("port"),
                dir,
                users.parse().expect("users"),
            )
        });
    }
    let members = arg("--members", 1_000_000);
    let lookups = arg("--lookups", 200_000);
    let sync = arg("--sync", 100_000);
    let compare = arg("--compare-users", 10_000);
    // About 2 KB a SCIM user (no outbox), plus the bare baseline's table.
    measure::require_free_space(members + sync, 3_000);
    println!("roster SCIM benchmarks (release rosterd, HTTP on loopback, 2 cores)");

    let d = Daemon::start(DaemonOptions::default());
    d.make_sso_managed("default");
    let token = |ws: &str| {
        d.roster_ok(&["scim-token", "create", "--workspace", ws, "--name", "bench"])
            .lines()
            .last()
            .expect("token")
            .trim()
            .to_string()
    };
    let roster = Target {
        base: format!("{}/scim/v2", d.base_url()),
        token: token("default"),
    };

    // 1. Creates.
    let (elapsed, lat) = run(&roster, members, CLIENTS, |c, t, i| async move {
        create_user(&c, &t, i).await;
    })
    .await;
    println!(
        "POST /Users: {members} with {CLIENTS} clients in {:.1} s = {:.0} creates/s (durable; p50 {}, p99 {})",
        elapsed.as_secs_f64(),
        members as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    let wrk_seconds = arg("--wrk-seconds", 15) as u64;
    match wrk_create_load(&roster, members, wrk_seconds) {
        Some((rps, p50, p99)) => println!(
            "  with wrk (64 connections, {wrk_seconds} s, from {members} members on): {rps:.0} creates/s (durable; p50 {}, p99 {})",
            ms(p50),
            ms(p99)
        ),
        None => println!("  wrk is not installed (apt-get install wrk): no wrk figure"),
    }

    // 2. Filter by userName at M members, and the bare handler beside it,
    //    first from this process, then (if installed) from wrk.
    let (rps, p50, p99) = filter_load(&roster, lookups, members, CLIENTS).await;
    println!(
        "GET /Users?filter=userName eq at {members} members, {CLIENTS} connections (reqwest client): {rps:.0} req/s (p50 {}, p99 {})",
        ms(p50),
        ms(p99)
    );
    let wrk_roster = wrk_filter_load(&roster, members, wrk_seconds);
    let bare_dir = tempfile::tempdir().expect("bare dir");
    let bare_port = free_port();
    let _bare = Server(
        Command::new(std::env::current_exe().expect("bench binary"))
            .args(["--serve-bare", &bare_port.to_string()])
            .arg(bare_dir.path())
            .arg(members.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("bare server"),
    );
    wait_port(bare_port);
    let bare = Target {
        base: format!("http://127.0.0.1:{bare_port}"),
        token: String::new(),
    };
    let (bare_rps, bare_p50, bare_p99) = filter_load(&bare, lookups, members, CLIENTS).await;
    println!(
        "  bare axum + one redb read, same load: {bare_rps:.0} req/s (p50 {}, p99 {}); roster = {:.2} × bare",
        ms(bare_p50),
        ms(bare_p99),
        rps / bare_rps
    );
    match (wrk_roster, wrk_filter_load(&bare, members, wrk_seconds)) {
        (Some((r, r50, r99)), Some((b, b50, b99))) => println!(
            "  with wrk ({CLIENTS} connections, {wrk_seconds} s each): roster {r:.0} req/s (p50 {}, p99 {}); bare {b:.0} req/s (p50 {}, p99 {}); roster = {:.2} × bare",
            ms(r50),
            ms(r99),
            ms(b50),
            ms(b99),
            r / b
        ),
        _ => println!("  wrk is not installed (apt-get install wrk): no wrk figures"),
    }
    drop(_bare);

    // 3. Okta's import: pages of 100 deep into the list.
    paging(&roster, members).await;

    // 4. Okta's group push into a large group.
    group_push(&roster, arg("--group-members", 100_000).min(members)).await;

    // 5. Okta-style initial sync into a second workspace: filter, then create.
    d.roster_ok(&["workspaces", "create", "okta"]);
    d.make_sso_managed("okta");
    let okta = Target {
        base: roster.base.clone(),
        token: token("okta"),
    };
    let (elapsed, _) = run(&okta, sync, 16, |c, t, i| async move {
        assert_eq!(find_user(&c, &t, i).await, 0);
        create_user(&c, &t, i).await;
    })
    .await;
    println!(
        "Okta-style initial sync: {sync} users (filter, then create) with 16 clients in {:.1} s = {:.0} users/s",
        elapsed.as_secs_f64(),
        sync as f64 / elapsed.as_secs_f64()
    );

    // 6. scim2-server (Python, in memory) with the same filter workload.
    let Some(exe) = scim2_server() else {
        println!(
            "scim2-server: not installed (bash .ci/run installs it into target/scim-venv, or set E2E_SCIM2_SERVER)"
        );
        return;
    };
    let port = free_port();
    let _py = Server(
        Command::new(exe)
            .args(["--port", &port.to_string(), "--bearer-token", "bench"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("scim2-server"),
    );
    wait_port(port);
    let py = Target {
        base: format!("http://127.0.0.1:{port}"),
        token: "bench".into(),
    };
    run(&py, compare, 8, |c, t, i| async move {
        create_user(&c, &t, i).await
    })
    .await;
    let n = (lookups / 20).max(1_000);
    // Its development server does not keep up with 64 connections; both
    // servers get the same 8 here.
    let (py_rps, py_p50, py_p99) = filter_load(&py, n, compare, 8).await;
    let (r_rps, _, _) = filter_load(&roster, n, compare, 8).await;
    println!(
        "scim2-server holding {compare} users, same filter workload ({n} lookups, 8 connections): {py_rps:.0} req/s (p50 {}, p99 {}); roster (holding {members}) = {:.0} req/s = {:.0} × scim2-server",
        ms(py_p50),
        ms(py_p99),
        r_rps,
        r_rps / py_rps
    );
}
