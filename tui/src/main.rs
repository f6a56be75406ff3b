//! `roster`: the admin client. With a subcommand it is a scriptable CLI;
//! without one it opens the full-screen TUI.

mod action;
mod app;
mod cli;
mod client;
mod clipboard;
mod event;
mod invite_form;
mod keymap;
mod metadata_editor;
mod screens;
mod state;
mod strings;
mod ui;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = cli::Args::parse();
    if let Err(e) = cli::run(args).await {
        eprintln!("roster: {e}");
        std::process::exit(1);
    }
}
