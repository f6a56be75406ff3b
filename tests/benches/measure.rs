//! What every benchmark needs: its flags, latency reports, and people whose
//! names and e-mails arrive in no particular order.

use std::time::Duration;

/// The value of `--name N` on the command line (`_` allowed as a digit
/// separator), or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Stops the benchmark before it starts when the temporary directory (where
/// its databases and files go) has less than 1 GB plus `bytes_each` for each
/// of `items` free: on a full disk rosterd fails its writes, and a run would
/// end with no figure and nothing in its log, which cannot be written either.
pub fn require_free_space(items: usize, bytes_each: u64) {
    const GB: f64 = 1e9;
    let dir = std::env::temp_dir();
    let Ok(stat) = nix::sys::statvfs::statvfs(&dir) else {
        return;
    };
    let needed = GB + items as f64 * bytes_each as f64;
    let free = stat.blocks_available() as f64 * stat.fragment_size() as f64;
    if free < needed {
        eprintln!(
            "this run needs about {:.1} GB free in {} and there are {:.1} GB: free some space or set TMPDIR to a larger disk",
            needed / GB,
            dir.display(),
            free / GB
        );
        std::process::exit(2);
    }
}

/// The `p` quantile (0–1) of sorted latencies; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len().max(1) as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

/// A duration in milliseconds, for reports.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Given names the benchmarks' people are made of.
pub const FIRST: [&str; 16] = [
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Ken", "Dennis", "Margaret", "Linus", "Frances",
    "John", "Radia", "Donald", "Leslie", "Tony", "Niklaus",
];

/// Family names the benchmarks' people are made of.
pub const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Thompson", "Ritchie", "Hamilton",
    "Torvalds", "Allen", "Backus", "Perlman",
];

/// A fixed, well-mixed number for row `i` (splitmix64), the same every run.
/// Names picked by it come in no particular order, as from a real directory
/// or HR export: numbered names in order would land on a few index pages
/// and flatter every write.
pub fn scatter(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Person `i`'s given and family name.
pub fn person(i: usize) -> (&'static str, &'static str) {
    let z = scatter(i) as usize;
    (FIRST[z % FIRST.len()], LAST[(z / FIRST.len()) % LAST.len()])
}

/// Person `i`'s e-mail: `ada.lovelace123@bench.example.com`.
pub fn email(i: usize) -> String {
    let (first, last) = person(i);
    format!(
        "{}.{}{i}@bench.example.com",
        first.to_lowercase(),
        last.to_lowercase()
    )
}
