//! Benchmarks of the foundation, over the real admin API on the Unix socket
//! against a release `rosterd`:
//!
//! 1. invites with 64 concurrent clients (durable, each with its audit event
//!    and outbox row);
//! 2. the outbox delivering to a local SMTP server;
//! 3. at N members (default 1,000,000): daemon start time and idle RSS, and
//!    the p50/p99 latency of the first page, a prefix search and status filters.
//!
//! Run: `cargo build --release --workspace && cargo bench -p roster-e2e --bench foundation`
//! (`-- --members 100000` for a shorter run).

#[allow(dead_code)] // each bench uses part of it
mod measure;
mod smtp_sink;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use measure::{FIRST, arg, email, ms, percentile, person};
use roster_e2e::{Daemon, DaemonOptions};

const CLIENTS: usize = 64;

fn invite_body(i: usize) -> String {
    let (first, last) = person(i);
    serde_json::json!({
        "name": format!("{first} {last}{i}"),
        "email": email(i),
        "role": if i.is_multiple_of(50) { "admin" } else if i.is_multiple_of(5) { "builder" } else { "end-user" },
    })
    .to_string()
}

/// Runs `job(client, i)` for every `i` in `from..to` from 64 concurrent
/// clients on the admin socket; returns the elapsed time and each job's
/// latency, sorted.
async fn fan_out<F, Fut>(d: &Daemon, from: usize, to: usize, job: F) -> (Duration, Vec<Duration>)
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(from));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, next, job) = (d.socket_client(), next.clone(), job.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return lat;
                }
                let t = Instant::now();
                job(client.clone(), i).await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort();
    (start.elapsed(), all)
}

/// Invites members `from..to`.
async fn invite_range(d: &Daemon, from: usize, to: usize) -> (Duration, Vec<Duration>) {
    fan_out(d, from, to, |client, i| async move {
        let resp = client
            .post("http://rosterd/api/v1/members")
            .header("content-type", "application/json")
            .body(invite_body(i))
            .send()
            .await
            .expect("invite request");
        assert_eq!(
            resp.status(),
            201,
            "invite {i}: {}",
            resp.text().await.unwrap_or_default()
        );
    })
    .await
}

/// Posts `/members/{email(i)}/{action}` for every `i` that `pick` maps `0..n` to.
async fn member_action(d: &Daemon, n: usize, action: &'static str, pick: fn(usize) -> usize) {
    fan_out(d, 0, n, move |client, k| async move {
        let i = pick(k);
        let r = client
            .post(format!(
                "http://rosterd/api/v1/members/{}/{action}",
                email(i)
            ))
            .send()
            .await
            .expect("member action");
        assert_eq!(r.status(), 200, "{action} {}", email(i));
    })
    .await;
}

/// Latencies of `n` GETs of `path_for(i)` from `clients` concurrent clients.
async fn measure_reads(
    d: &Daemon,
    n: usize,
    clients: usize,
    path_for: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Vec<Duration> {
    let path_for = Arc::new(path_for);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next, path_for) = (d.socket_client(), next.clone(), path_for.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let t = Instant::now();
                let resp = client
                    .get(format!("http://rosterd/api/v1/members{}", path_for(i)))
                    .send()
                    .await
                    .expect("list request");
                assert_eq!(resp.status(), 200);
                let page: serde_json::Value = resp.json().await.expect("page");
                lat.push(t.elapsed());
                assert!(page["items"].is_array());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("reader"));
    }
    all.sort();
    all
}

async fn wait_mail(count: &AtomicU64, n: u64, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    while count.load(Ordering::Relaxed) < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} mails arrived",
            count.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Instant::now()
}

/// Waits until no message is queued (sent, or cancelled by an archive).
async fn wait_outbox_empty(d: &Daemon) {
    let client = d.socket_client();
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let page: serde_json::Value = client
            .get("http://rosterd/api/v1/mail?status=queued&limit=1")
            .send()
            .await
            .expect("mail list")
            .json()
            .await
            .expect("json");
        if page["items"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let members = arg("--members", 1_000_000);
    let invites = arg("--invites", 50_000).min(members);
    // About 4 KB a member (its record, indexes, audit and outbox rows).
    measure::require_free_space(members, 5_000);
    let (smtp_port, delivered) = smtp_sink::start().await;
    let mut d = Daemon::start(DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        ..Default::default()
    });
    println!(
        "roster foundation benchmarks (release rosterd, admin API over the Unix socket, 2 cores)"
    );

    // 1. Concurrent invites.
    let (elapsed, lat) = invite_range(&d, 0, invites).await;
    println!(
        "invites: {invites} with {CLIENTS} clients in {:.2} s = {:.0}/s (durable; p50 {}, p99 {})",
        elapsed.as_secs_f64(),
        invites as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // 2. The outbox alone: wait for the invite mails, then time a burst of resends.
    wait_mail(&delivered, invites as u64, Duration::from_secs(600)).await;
    let burst = 5_000.min(invites);
    let before = delivered.load(Ordering::Relaxed);
    let start = Instant::now();
    member_action(&d, burst, "resend", |i| i).await;
    let done = wait_mail(&delivered, before + burst as u64, Duration::from_secs(600)).await;
    println!(
        "outbox: {burst} mails to a local SMTP server in {:.2} s = {:.0} mails/s (queued by resend, delivered over a pooled connection set)",
        (done - start).as_secs_f64(),
        burst as f64 / (done - start).as_secs_f64()
    );

    // 3. Fill up to `members`, archive 1 %, wait for mail to drain.
    if members > invites {
        // A wider SMTP pool only to drain the fill's mail sooner.
        d.restart_with(DaemonOptions {
            smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
            env: vec![
                ("ROSTER_SMTP_POOL_SIZE".into(), "128".into()),
                ("ROSTER_SMTP_CONCURRENCY".into(), "128".into()),
            ],
            ..DaemonOptions::default()
        });
        let (elapsed, _) = invite_range(&d, invites, members).await;
        println!(
            "filled to {members} members in {:.1} s ({:.0} invites/s, outbox sending alongside)",
            elapsed.as_secs_f64(),
            (members - invites) as f64 / elapsed.as_secs_f64()
        );
    }
    let archived = (members / 100).max(1);
    member_action(&d, archived, "archive", |k| k * 100 + 1).await;
    wait_outbox_empty(&d).await;

    // Start time and idle memory at this size, with the default settings:
    // after a crash (kill -9: redb checks the file) and after a clean stop.
    let defaults = DaemonOptions {
        smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
        ..Default::default()
    };
    d.kill9();
    let t = Instant::now();
    d.restart_with(defaults.clone());
    let after_crash = t.elapsed();
    d.terminate();
    let t = Instant::now();
    d.restart_with(defaults);
    let started = t.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = d
        .pid()
        .map_or(0.0, |pid| roster_e2e::proc_memory_mb(pid, "VmRSS"));
    let log = d.log();
    let notes: Vec<&str> = log
        .lines()
        .filter(|l| {
            [
                "closed cleanly",
                "still in use",
                "failed",
                "panicked",
                "shutting down",
                "progress=\"0%\"",
                "is ready",
                "did not finish",
            ]
            .iter()
            .any(|needle| l.contains(needle))
        })
        .map(|l| l.split_once("  ").map_or(l, |(_, rest)| rest.trim()))
        .collect();
    println!(
        "  daemon log, shutdowns and repairs so far: {}",
        notes.join(" | ")
    );
    println!(
        "at {members} members: rosterd answers /healthz {} after a clean start ({} after kill -9, with the repair); idle RSS {rss:.0} MB",
        ms(started),
        ms(after_crash)
    );

    // rosterd was just restarted: its page cache is empty. Each query runs
    // twice; the first pass fills the cache (what the first minutes after a
    // restart see), the second is the steady state.
    let n = 4_000;
    type PathFor = Arc<dyn Fn(usize) -> String + Send + Sync>;
    let queries: Vec<(&str, PathFor)> = vec![
        ("first page", Arc::new(|_| "?limit=50".into())),
        (
            "prefix search (3 letters)",
            Arc::new(|i| {
                format!(
                    "?limit=50&q={}",
                    &FIRST[i % FIRST.len()][..3].to_lowercase()
                )
            }),
        ),
        (
            "prefix search (e-mail)",
            Arc::new(move |i| {
                let address = email((i * 7919) % members);
                let local = address.split('@').next().unwrap_or_default().to_string();
                format!("?limit=50&q={local}")
            }),
        ),
        (
            "status=invited",
            Arc::new(|_| "?limit=50&status=invited".into()),
        ),
        (
            "status=archived (1 %)",
            Arc::new(|_| "?limit=50&status=archived".into()),
        ),
    ];
    // The warm pass is timed twice: one client alone (the latency of a
    // request) and 8 concurrent clients (a loaded daemon on 2 cores, where
    // the 8 requests and the benchmark's own client share the CPUs).
    for (label, path_for) in queries {
        let mut passes = Vec::new();
        for clients in [8, 8, 1] {
            let path_for = path_for.clone();
            passes.push(measure_reads(&d, n, clients, move |i| path_for(i)).await);
        }
        let (cold, loaded, alone) = (&passes[0], &passes[1], &passes[2]);
        println!(
            "  users list, {label:<26} warm p50 {:>9}  p99 {:>9} with 1 client; p50 {:>9}  p99 {:>9} with 8 (cold cache, 8 clients: p50 {}, p99 {}; {} requests each)",
            ms(percentile(alone, 0.5)),
            ms(percentile(alone, 0.99)),
            ms(percentile(loaded, 0.5)),
            ms(percentile(loaded, 0.99)),
            ms(percentile(cold, 0.5)),
            ms(percentile(cold, 0.99)),
            n
        );
    }
}
