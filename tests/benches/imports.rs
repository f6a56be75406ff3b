//! Benchmark of the CSV drop folder against a release `rosterd`:
//!
//! 1. for each size (default 100,000 and 1,000,000 rows): a fresh daemon
//!    (invite mail to a local SMTP sink, as in production), the file renamed
//!    into `incoming/`, timed until its report is in `processed/` and the
//!    job is done; peak daemon RSS (VmHWM);
//! 2. during the largest import: `users list` (first page) from one client
//!    in a loop, p50/p99;
//! 3. the bare loop the importer is compared with, in this process on the
//!    same machine: the csv crate parsing the same file and redb inserting
//!    one record and one e-mail index row per row, 1,000 rows per durable
//!    commit.
//!
//! Run: `cargo build --release --workspace && cargo bench -p roster-e2e --bench imports`
//! (`-- --rows 100000` for one size, `-- --file hr.csv` for a file of your own).

#[allow(dead_code)] // each bench uses part of it
mod measure;
mod smtp_sink;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use measure::{ms, percentile};
use roster_e2e::{Daemon, DaemonOptions};

const GROUPS: [&str; 3] = ["Engineering", "Sales", "Support"];

fn sizes() -> Vec<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.split(',')
                .filter_map(|n| n.replace('_', "").parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 1_000_000])
}

/// Given names; with [`SYLLABLES`] they make names in no particular order,
/// as in an export sorted by employee number: each batch of rows lands all
/// over the name and e-mail indexes, as a real file's does.
const FIRST_NAMES: [&str; 32] = [
    "Ada",
    "Alan",
    "Amara",
    "Barbara",
    "Carlos",
    "Chen",
    "Dana",
    "Edsger",
    "Fatima",
    "Grace",
    "Hedy",
    "Ivan",
    "Jamal",
    "Katherine",
    "Lars",
    "Linus",
    "Maria",
    "Mei",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Radia",
    "Sofia",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zoe",
];

/// Syllables of family names: three of them make 13,824 names.
const SYLLABLES: [&str; 24] = [
    "an", "bel", "cor", "dan", "el", "fer", "gar", "hol", "is", "jan", "kov", "lin", "mar", "nor",
    "os", "pet", "quin", "ros", "sen", "tor", "ul", "ver", "wil", "zet",
];

/// Row `i`'s given and family name, scattered by a hash of `i`.
fn person(i: usize) -> (&'static str, String) {
    let z = measure::scatter(i);
    let pick = |shift: u32, n: usize| (z >> shift) as usize % n;
    let mut last: String = [0, 8, 16]
        .iter()
        .map(|&s| SYLLABLES[pick(s, SYLLABLES.len())])
        .collect();
    if let Some(c) = last.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    (FIRST_NAMES[pick(24, FIRST_NAMES.len())], last)
}

/// `--file PATH`: import that file (every row a new member) instead of a
/// generated one, with its number of rows.
fn given_file() -> Option<(std::path::PathBuf, usize)> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .iter()
        .position(|a| a == "--file")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)?;
    let mut reader = csv::Reader::from_path(&path).expect("--file: a readable CSV file");
    let rows = reader.byte_records().count();
    Some((path, rows))
}

/// Our own columns, a role and groups on every row, metadata on every
/// tenth: the shape of an HR export.
fn write_csv(path: &Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("csv file"));
    writeln!(f, "name,email,role,groups,metadata").expect("write");
    for i in 0..rows {
        let role = if i % 50 == 0 {
            "admin"
        } else if i % 5 == 0 {
            "builder"
        } else {
            "end-user"
        };
        let groups = format!("{}|{}", GROUPS[i % 3], GROUPS[(i / 3) % 3]);
        let groups = if i % 3 == (i / 3) % 3 {
            GROUPS[i % 3].to_string()
        } else {
            groups
        };
        let meta = if i % 10 == 0 {
            format!(
                "\"{{\"\"team\"\":\"\"t{}\"\",\"\"site\"\":\"\"s{}\"\"}}\"",
                i % 40,
                i % 7
            )
        } else {
            String::new()
        };
        let (first, last) = person(i);
        let email = format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase());
        writeln!(
            f,
            "{first} {last},{email}@hr.example.com,{role},{groups},{meta}"
        )
        .expect("write");
    }
    f.flush().expect("flush");
}

/// The bare loop: parse with csv, insert with redb, as many rows a commit
/// as rosterd's default `imports.batch_rows`.
const BARE_BATCH: usize = 4_000;

/// Runs the bare loop over the file.
fn bare_loop(csv_path: &Path, dir: &Path) -> (usize, Duration) {
    const RECORDS: redb::TableDefinition<u128, &[u8]> = redb::TableDefinition::new("records");
    const EMAILS: redb::TableDefinition<&str, u128> = redb::TableDefinition::new("emails");
    let db = redb::Database::create(dir.join("bare.redb")).expect("bare db");
    let start = Instant::now();
    let mut reader = csv::Reader::from_path(csv_path).expect("csv");
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    let mut id = 0u128;
    loop {
        let txn = db.begin_write().expect("txn");
        let mut more = false;
        {
            let mut records = txn.open_table(RECORDS).expect("records");
            let mut emails = txn.open_table(EMAILS).expect("emails");
            for _ in 0..BARE_BATCH {
                if !reader.read_byte_record(&mut record).expect("row") {
                    break;
                }
                more = true;
                let email = String::from_utf8_lossy(&record[1]).to_lowercase();
                let value = serde_json::json!({
                    "name": String::from_utf8_lossy(&record[0]),
                    "email": email,
                    "role": String::from_utf8_lossy(&record[2]),
                });
                id += 1;
                records
                    .insert(id, serde_json::to_vec(&value).expect("json").as_slice())
                    .expect("insert");
                emails.insert(email.as_str(), id).expect("index");
                rows += 1;
            }
        }
        txn.commit().expect("commit");
        if !more {
            break;
        }
    }
    (rows, start.elapsed())
}

/// Polls the list of jobs until the newest one has ended.
async fn wait_job(client: &reqwest::Client) -> serde_json::Value {
    loop {
        let jobs: serde_json::Value = client
            .get("http://rosterd/api/v1/imports")
            .send()
            .await
            .expect("imports")
            .json()
            .await
            .expect("json");
        if let Some(job) = jobs.as_array().and_then(|j| j.first())
            && matches!(job["status"].as_str(), Some("done" | "failed"))
        {
            return job.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `users list` first page in a loop until `stop`; sorted latencies.
async fn list_while(client: reqwest::Client, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut lat = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let resp = client
            .get("http://rosterd/api/v1/members?limit=50")
            .send()
            .await
            .expect("list");
        assert!(resp.status().is_success(), "users list failed");
        let _ = resp.bytes().await.expect("body");
        lat.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    lat.sort();
    lat
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let work = tempfile::tempdir().expect("work dir");
    let (smtp_port, _delivered) = smtp_sink::start().await;
    println!("roster CSV import benchmark (release rosterd, SMTP sink, 2 cores)");
    let given = given_file();
    let sizes = match &given {
        Some((_, rows)) => vec![*rows],
        None => sizes(),
    };
    let largest = sizes.iter().copied().max().unwrap_or(0);
    // About 4 KB a row in rosterd's database, plus the CSV and the bare loop's.
    measure::require_free_space(largest, 5_000);
    for rows in sizes {
        let csv_path = match &given {
            Some((path, _)) => path.clone(),
            None => {
                let path = work.path().join(format!("hr-{rows}.csv"));
                write_csv(&path, rows);
                path
            }
        };
        let bytes = std::fs::metadata(&csv_path).map(|m| m.len()).unwrap_or(0);
        let d = Daemon::start(DaemonOptions {
            smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")),
            ..Default::default()
        });
        for g in GROUPS {
            d.roster_ok(&["groups", "create", g]);
        }
        let incoming = d.data_dir().join("imports/incoming");
        let staged = incoming.join(".hr.csv.part");
        std::fs::copy(&csv_path, &staged).expect("stage file");
        let client = d.socket_client();
        let stop = Arc::new(AtomicBool::new(false));
        let lister =
            (rows == largest).then(|| tokio::spawn(list_while(client.clone(), stop.clone())));
        let start = Instant::now();
        std::fs::rename(&staged, incoming.join("hr.csv")).expect("rename into place");
        let job = wait_job(&client).await;
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let report = d.data_dir().join("imports/processed/hr.csv.report.csv");
        assert!(report.exists(), "no report at {}", report.display());
        assert_eq!(
            job["counts"]["invited"].as_u64(),
            Some(rows as u64),
            "{job}"
        );
        let peak = d
            .pid()
            .map_or(0.0, |pid| roster_e2e::proc_memory_mb(pid, "VmHWM"));
        println!(
            "import {rows} rows ({:.1} MB): {:.2} s = {:.0} rows/s; peak daemon RSS {peak:.0} MB",
            bytes as f64 / 1e6,
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64()
        );
        if let Some(lister) = lister {
            let lat = lister.await.expect("lister");
            println!(
                "  users list during the import: {} requests, p50 {}, p99 {}",
                lat.len(),
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99))
            );
        }
        drop(d);
        let bare_dir = tempfile::tempdir().expect("bare dir");
        let (bare_rows, bare) = bare_loop(&csv_path, bare_dir.path());
        let bare_rate = bare_rows as f64 / bare.as_secs_f64();
        println!(
            "  bare csv parse + redb insert ({BARE_BATCH} rows/commit): {:.2} s = {bare_rate:.0} rows/s; rosterd runs at {:.0} % of it",
            bare.as_secs_f64(),
            100.0 * (rows as f64 / elapsed.as_secs_f64()) / bare_rate
        );
    }
}
