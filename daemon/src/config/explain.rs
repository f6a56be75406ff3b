//! One sentence for a setting figment could not use, naming it the way the
//! admin wrote it: the key and the file it is in, or the `ROSTER_` variable.
//! figment's own message qualifies the key with its profile
//! (`default.smtp.url`), nests backticks around lists of choices and keeps
//! the TOML parser's multi-line source excerpt.

use figment::error::Kind;
use figment::{Error, Source};

/// Every error figment collected, one sentence each, joined by `; `.
pub fn explain(error: &Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| sentence(&e))
        .collect::<Vec<_>>()
        .join("; ")
}

fn sentence(e: &Error) -> String {
    let at = Place::of(e);
    match &e.kind {
        Kind::InvalidType(found, expected) | Kind::InvalidValue(found, expected) => {
            format!("{at} must be {} (found {found})", plain(expected))
        }
        Kind::UnknownVariant(found, choices) => {
            format!("{at} must be one of {} (found `{found}`)", listed(choices))
        }
        Kind::UnknownField(_, known) => {
            let known_here = match e.path.split_last() {
                Some((_, parents)) if !parents.is_empty() => {
                    format!("the settings of [{}] are", parents.join("."))
                }
                _ => "the top-level settings and sections are".to_string(),
            };
            format!("{at} is not a setting; {known_here} {}", listed(known))
        }
        Kind::Message(message) => format!("{at}: {}", squeezed(message)),
        other => format!("{at}: {other}"),
    }
}

/// Where the value came from.
enum Place {
    /// A key in a configuration file (empty for the file as a whole).
    File { file: String, key: String },
    /// A `ROSTER_` environment variable.
    Env { var: String },
    /// Anything else figment knows by name.
    Other { source: String, key: String },
}

impl Place {
    fn of(e: &Error) -> Self {
        let key = e.path.join(".").to_ascii_lowercase();
        let Some(meta) = e.metadata.as_ref() else {
            return Self::Other {
                source: "the settings".to_string(),
                key,
            };
        };
        match &meta.source {
            Some(Source::File(path)) => Self::File {
                file: path.display().to_string(),
                key,
            },
            _ if meta.name.contains("environment variable") => Self::Env {
                var: super::env_var_of(&e.path),
            },
            _ => Self::Other {
                source: meta.name.to_string(),
                key,
            },
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { file, key } if key.is_empty() => write!(f, "{file}"),
            Self::File { file, key } => write!(f, "{key} in {file}"),
            Self::Env { var } => write!(f, "{var}"),
            Self::Other { source, key } if key.is_empty() => write!(f, "{source}"),
            Self::Other { source, key } => write!(f, "{key} (from {source})"),
        }
    }
}

/// serde's name for an expected type, in words an admin uses.
fn plain(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "socket address" => super::LISTEN_FORM,
        other => other,
    }
}

fn listed(choices: &[&str]) -> String {
    choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parser's message on one line: the source excerpt (`1 | [smtp`, the
/// caret line) left out, the remaining lines joined.
fn squeezed(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| {
            let excerpt = line
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
            !excerpt.starts_with('|')
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error.
mod tests {
    use std::path::Path;

    use super::super::{Config, FlagOverrides};

    /// The message `Config::load` gives inside a jail with `file` (if any)
    /// and the environment set up by `set_up`.
    fn refusal(file: Option<&str>, set_up: impl FnOnce(&mut figment::Jail)) -> String {
        let mut message = String::new();
        figment::Jail::expect_with(|jail| {
            if let Some(text) = file {
                jail.create_file("rosterd.toml", text)?;
            }
            set_up(jail);
            let err = Config::load(
                file.map(|_| Path::new("rosterd.toml")),
                FlagOverrides::default(),
            )
            .expect_err("the setting is refused");
            message = err.to_string();
            Ok(())
        });
        message
    }

    #[test]
    fn each_refusal_names_the_setting_where_the_admin_wrote_it() {
        let cases: [(Option<&str>, (&str, &str), &str); 8] = [
            (
                Some("listen = 8080\n"),
                ("", ""),
                "configuration: listen in rosterd.toml must be an IP address and a port, such as 127.0.0.1:8080 (found signed int `8080`)",
            ),
            (
                None,
                ("ROSTER_LISTN", "127.0.0.1:1"),
                "configuration: ROSTER_LISTN is not a setting; the top-level settings and sections are `data_dir`, `listen`, `public_url`, `status_model`, `log`, `default_workspace`, `database`, `http`, `invites`, `smtp`, `outbox`, `scim`, `imports`",
            ),
            (
                Some("[smtp]\nurl = 5\n"),
                ("", ""),
                "configuration: smtp.url in rosterd.toml must be a string (found signed int `5`)",
            ),
            (
                Some("[imports]\nmode = \"sometimes\"\n"),
                ("", ""),
                "configuration: imports.mode in rosterd.toml must be one of `best-effort`, `all-or-nothing` (found `sometimes`)",
            ),
            (
                Some("[smtp]\nurll = \"x\"\n"),
                ("", ""),
                "configuration: smtp.urll in rosterd.toml is not a setting; the settings of [smtp] are `url`, `host`, `port`, `tls`, `user`, `from`, `password_env`, `password_file`, `pool_size`, `concurrency`, `timeout_secs`",
            ),
            (
                Some("[smtp\n"),
                ("", ""),
                "configuration: rosterd.toml: TOML parse error at line 1, column 6: invalid table header: expected `.`, `]`",
            ),
            (
                None,
                ("ROSTER_INVITES_EXPIRY_HOURS", "abc"),
                "configuration: ROSTER_INVITES_EXPIRY_HOURS must be a whole number, 0 or more (found string \"abc\")",
            ),
            (
                None,
                ("ROSTER_IMPORTS_MODE", "sometimes"),
                "configuration: ROSTER_IMPORTS_MODE must be one of `best-effort`, `all-or-nothing` (found `sometimes`)",
            ),
        ];
        for (file, (var, value), expected) in cases {
            let got = refusal(file, |jail| {
                if !var.is_empty() {
                    jail.set_env(var, value);
                }
            });
            assert_eq!(got, expected);
        }
    }
}
