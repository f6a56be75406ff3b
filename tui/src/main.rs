//! `roster`: the admin client. With a subcommand it is a scriptable CLI;
//! the full-screen TUI arrives with its own issue.

mod cli;
mod client;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = cli::Args::parse();
    if let Err(e) = cli::run(args).await {
        eprintln!("roster: {e}");
        std::process::exit(1);
    }
}
