//! Tables for people, JSON for programs.

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use time::OffsetDateTime;

use crate::client::ClientError;

/// `println!` for what a command prints: a reader that stops early
/// (`roster users list | head`) ends the command quietly, as it ends any
/// Unix tool, rather than with a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to standard output; see [`say`].
pub fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("roster: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// Prints any value as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> Result<(), ClientError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ClientError::Usage(e.to_string()))?;
    say!("{text}");
    Ok(())
}

/// Prints rows under a header, in plain columns.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row);
    }
    for column in t.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in t.to_string().lines() {
        say!("{}", line.trim_end());
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC), or `-`.
pub fn when(t: Option<OffsetDateTime>) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "-".into())
}
