//! `rosterd`: flags → configuration → run.

use std::path::PathBuf;

use clap::Parser;
use rosterd::config::{Config, FlagOverrides, LISTEN_FORM};

/// Request handling allocates many small JSON values on two threads;
/// mimalloc's per-thread free lists serve that far better than glibc's arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The roster daemon. With no flags it runs on embedded defaults: data in
/// $XDG_DATA_HOME/roster, HTTP on 127.0.0.1:8080, mail as .eml files.
#[derive(Debug, Parser)]
#[command(name = "rosterd", version, about)]
struct Args {
    /// TOML configuration file (see config/rosterd.toml).
    #[arg(long, env = "ROSTER_CONFIG")]
    config: Option<PathBuf>,
    /// Where the database, the admin socket and the link key live.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TCP address for invite pages and the token-protected admin API.
    #[arg(long, value_name = "IP:PORT", value_parser = listen_address)]
    listen: Option<std::net::SocketAddr>,
    /// Base URL that invite links start with (default: http://LISTEN).
    #[arg(long)]
    public_url: Option<String>,
}

/// `--listen` as an IP address and port; a bare port or a host name gets
/// the form to use instead of "invalid socket address syntax".
fn listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse().map_err(|_| {
        format!(
            "use {LISTEN_FORM} (this machine only) or 0.0.0.0:8080 (every interface), not \"{text}\""
        )
    })
}

/// mimalloc asks for transparent huge pages, and a 2 MiB page counts in
/// full in the resident set however little of it is used: a 1M-row import
/// peaked at 266–303 MB with them and 227–252 MB without, at the same speed
/// (SCIM lookups too). The kernel may refuse (an old one); that costs only
/// the memory.
fn without_huge_pages() {
    let _ = nix::sys::prctl::set_thp_disable(true);
}

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`, the v3 sources
/// this crate builds): the crate names the options around it but not it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps memory it no longer uses before giving it back
/// to the system: with its default (a second) a 1M-row import peaked at
/// 290–321 MB while it churned through database pages, with a tenth of a
/// second at 270–273 MB, at the same speed.
#[allow(unsafe_code)]
fn purge_unused_memory_soon() {
    // SAFETY: sets one option's value; mimalloc reads it at each purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) };
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    without_huge_pages();
    purge_unused_memory_soon();
    let args = Args::parse();
    let flags = FlagOverrides {
        data_dir: args.data_dir,
        listen: args.listen,
        public_url: args.public_url,
    };
    let config = match Config::load(args.config.as_deref(), flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rosterd: {e}");
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let listeners = match rosterd::bind(&config).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rosterd: {e}");
            std::process::exit(1);
        }
    };
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    if let Err(e) = rosterd::run(config, listeners, shutdown).await {
        eprintln!("rosterd: {e}");
        std::process::exit(1);
    }
    Ok(())
}
