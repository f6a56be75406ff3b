//! Tables for people, JSON for programs.

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use time::OffsetDateTime;

use crate::client::ClientError;

/// Prints any value as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> Result<(), ClientError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ClientError::Usage(e.to_string()))?;
    println!("{text}");
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
        println!("{}", line.trim_end());
    }
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC), or `-`.
pub fn when(t: Option<OffsetDateTime>) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "-".into())
}
