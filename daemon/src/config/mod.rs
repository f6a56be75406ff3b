//! Configuration: embedded defaults ← TOML file ← `ROSTER_*` environment ← flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use roster_shared::StatusModel;
use serde::{Deserialize, Serialize};

mod explain;

/// Environment variables with the `ROSTER_` prefix that are not settings
/// (secrets and client-side variables), so they are never read as keys.
const NON_SETTING_VARS: &[&str] = &["SMTP_PASSWORD", "SOCKET", "URL", "TOKEN", "CONFIG"];

/// What `listen` (the setting and the `--listen` flag) must be, in the
/// words of both refusals.
pub const LISTEN_FORM: &str = "an IP address and a port, such as 127.0.0.1:8080";

/// Sections of the config file; `ROSTER_SMTP_URL` means `smtp.url`.
const SECTIONS: &[&str] = &[
    "default_workspace",
    "database",
    "http",
    "invites",
    "smtp",
    "outbox",
    "scim",
    "imports",
];

/// Every setting of `rosterd`; `config/rosterd.toml` documents each one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_url: String,
    pub status_model: StatusModel,
    pub log: String,
    pub default_workspace: DefaultWorkspace,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub invites: InviteConfig,
    pub smtp: SmtpConfig,
    pub outbox: OutboxConfig,
    pub scim: ScimConfig,
    pub imports: ImportsConfig,
}

/// The CSV drop folder and the import jobs behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportsConfig {
    /// The drop folder; `DATA_DIR/imports` when unset.
    pub dir: Option<PathBuf>,
    /// What a file with some bad rows does.
    pub mode: roster_shared::api::ImportMode,
    /// Rows applied per write transaction: fewer commits against how long
    /// other writes may wait for one batch.
    pub batch_rows: usize,
    /// Rows read ahead and applied in e-mail order (0: file order). Rows
    /// close in e-mail order land on the same index pages, so a batch
    /// rewrites far fewer of them; the report is put back in file order.
    pub sort_window_rows: usize,
    /// How long a file's size must stay unchanged before it is picked up
    /// (files renamed into place are picked up at once).
    pub settle_ms: u64,
    /// Seconds between full rescans of `incoming/` (for filesystems that
    /// send no change events); 0 turns rescans off.
    pub rescan_secs: u64,
    /// Largest file `roster import` may upload.
    pub max_upload_bytes: u64,
}

impl Default for ImportsConfig {
    fn default() -> Self {
        Self {
            dir: None,
            mode: roster_shared::api::ImportMode::BestEffort,
            batch_rows: 4000,
            sort_window_rows: 1_048_576,
            settle_ms: 1000,
            rescan_secs: 10,
            max_upload_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The workspace that exists from the first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultWorkspace {
    pub slug: String,
    pub name: String,
}

/// The embedded database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub cache_mb: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { cache_mb: 64 }
    }
}

/// HTTP limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
}

/// Invitation links and the pages behind them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InviteConfig {
    pub expiry_hours: u64,
    pub accept_redirect_url: Option<String>,
    pub rate_limit_per_minute: u32,
    pub key_file: Option<PathBuf>,
}

/// Where invite mail goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The whole server in lettre's URL form; or `host` and the three below.
    pub url: Option<String>,
    pub host: Option<String>,
    /// Default by `tls`: 25, 587 (STARTTLS) or 465 (TLS).
    pub port: Option<u16>,
    /// Default STARTTLS: mail is not sent in the clear unless asked.
    pub tls: Option<SmtpTls>,
    pub user: Option<String>,
    pub from: String,
    pub password_env: String,
    pub password_file: Option<PathBuf>,
    pub pool_size: u32,
    pub concurrency: usize,
    pub timeout_secs: u64,
}

/// Retry policy of the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub max_attempts: u32,
    pub initial_backoff_secs: u64,
    pub max_backoff_secs: u64,
}

/// SCIM limits, advertised in `ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// Largest page (`count` above it is lowered to it).
    pub max_results: usize,
    /// Most operations in one PATCH.
    pub max_operations: usize,
    /// Longest filter, in characters.
    pub max_filter_chars: usize,
    /// SCIM requests handled at once; more are answered 429 with Retry-After.
    pub max_in_flight: usize,
    /// A PATCH of a group with more members answers `204 No Content`
    /// rather than listing every member (unless the request names
    /// attributes): an identity provider pushing a large group one PATCH at
    /// a time would otherwise receive the whole member list each time. A
    /// list of groups leaves such a group's members out the same way.
    pub large_group_members: usize,
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self {
            max_results: 1000,
            max_operations: 1000,
            max_filter_chars: 4096,
            max_in_flight: 512,
            large_group_members: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            status_model: StatusModel::SelfHosted,
            log: "info".into(),
            default_workspace: DefaultWorkspace::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            invites: InviteConfig::default(),
            smtp: SmtpConfig::default(),
            outbox: OutboxConfig::default(),
            scim: ScimConfig::default(),
            imports: ImportsConfig::default(),
        }
    }
}

impl Default for DefaultWorkspace {
    fn default() -> Self {
        Self {
            slug: "default".into(),
            name: "My workspace".into(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Default for InviteConfig {
    fn default() -> Self {
        Self {
            expiry_hours: 7 * 24,
            accept_redirect_url: None,
            rate_limit_per_minute: 60,
            key_file: None,
        }
    }
}

impl SmtpConfig {
    /// One way of naming the server: `url`, or `host` with its settings.
    fn check(&mut self) -> Result<(), ConfigError> {
        for named in [&mut self.url, &mut self.host] {
            if named.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *named = None;
            }
        }
        let invalid = |why: &str| Err(ConfigError::Invalid(why.into()));
        if self.url.is_some() && self.host.is_some() {
            return invalid(
                "smtp.url and smtp.host both name the SMTP server: keep one (smtp.url holds host, port, TLS and user in one)",
            );
        }
        let host_settings = self.port.is_some() || self.tls.is_some() || self.user.is_some();
        if self.host.is_none() && host_settings {
            return invalid(match self.url {
                Some(_) => {
                    "smtp.port, smtp.tls and smtp.user go with smtp.host; with smtp.url, write them in the URL"
                }
                None => "smtp.port, smtp.tls and smtp.user need smtp.host, the SMTP server's name",
            });
        }
        if self.port == Some(0) {
            return invalid("smtp.port must be between 1 and 65535");
        }
        Ok(())
    }
}

/// How the connection to `smtp.host` is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS").
    Tls,
}

impl SmtpTls {
    /// The port such servers listen on.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }

    /// For logs.
    pub fn shown(self) -> &'static str {
        match self {
            SmtpTls::None => "no TLS",
            SmtpTls::Starttls => "STARTTLS",
            SmtpTls::Tls => "TLS",
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            url: None,
            host: None,
            port: None,
            tls: None,
            user: None,
            from: "roster <roster@localhost>".into(),
            password_env: "ROSTER_SMTP_PASSWORD".into(),
            password_file: None,
            pool_size: 32,
            concurrency: 64,
            timeout_secs: 30,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff_secs: 2,
            max_backoff_secs: 3600,
        }
    }
}

/// The data directory when none is configured: `$XDG_DATA_HOME/roster`.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("roster")
}

/// Settings given as command-line flags; `None` leaves the lower layers.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Merges every layer; an unknown key anywhere is an error naming it.
    pub fn load(file: Option<&Path>, flags: FlagOverrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(env_provider())
            .merge(Serialized::defaults(flags));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(explain::explain(&e)))?;
        config.finish()?;
        Ok(config)
    }

    fn finish(&mut self) -> Result<(), ConfigError> {
        if self.public_url.trim().is_empty() {
            self.public_url = format!("http://{}", self.listen);
        }
        self.public_url = self.public_url.trim_end_matches('/').to_string();
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url \"{}\" must start with http:// or https://",
                self.public_url
            )));
        }
        roster_shared::names::workspace_slug(&self.default_workspace.slug)
            .map_err(|e| ConfigError::Invalid(format!("default_workspace.slug: {e}")))?;
        if self.invites.expiry_hours == 0 {
            return Err(ConfigError::Invalid(
                "invites.expiry_hours must be at least 1".into(),
            ));
        }
        if self.smtp.concurrency == 0 || self.smtp.pool_size == 0 {
            return Err(ConfigError::Invalid(
                "smtp.concurrency and smtp.pool_size must be at least 1".into(),
            ));
        }
        if self.invites.rate_limit_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "invites.rate_limit_per_minute must be at least 1".into(),
            ));
        }
        self.make_paths_absolute()?;
        if self.imports.batch_rows == 0 {
            return Err(ConfigError::Invalid(
                "imports.batch_rows must be at least 1".into(),
            ));
        }
        self.smtp.check()
    }

    /// Resolves relative paths against the directory rosterd starts in, once:
    /// file-system events name files by absolute path, and a drop folder
    /// given as `--data-dir data` must still recognise its own files.
    fn make_paths_absolute(&mut self) -> Result<(), ConfigError> {
        let absolute = |p: &Path| {
            std::path::absolute(p).map_err(|e| {
                ConfigError::Invalid(format!("the path {} cannot be resolved: {e}", p.display()))
            })
        };
        self.data_dir = absolute(&self.data_dir)?;
        for path in [
            &mut self.imports.dir,
            &mut self.invites.key_file,
            &mut self.smtp.password_file,
        ]
        .into_iter()
        .flatten()
        {
            *path = absolute(path)?;
        }
        Ok(())
    }

    /// The admin socket's path.
    pub fn socket_path(&self) -> PathBuf {
        self.data_dir.join("rosterd.sock")
    }

    /// The database file's path.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("roster.redb")
    }

    /// Where the invite-link key lives (outside the database, on purpose).
    pub fn invite_key_path(&self) -> PathBuf {
        self.invites
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("invite-link.key"))
    }

    /// The CSV drop folder.
    pub fn imports_dir(&self) -> PathBuf {
        self.imports
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("imports"))
    }

    /// Where mail goes when no SMTP server is configured.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

/// The environment variable of a setting's key path (`smtp.url` is
/// `ROSTER_SMTP_URL`): the way back from what [`env_provider`] reads.
fn env_var_of(path: &[String]) -> String {
    format!("ROSTER_{}", path.join("_").to_ascii_uppercase())
}

fn env_provider() -> Env {
    Env::prefixed("ROSTER_")
        .filter(|key| {
            let upper = key.as_str().to_ascii_uppercase();
            !NON_SETTING_VARS.contains(&upper.as_str())
        })
        .map(|key| {
            let lower = key.as_str().to_ascii_lowercase();
            for section in SECTIONS {
                if let Some(rest) = lower.strip_prefix(&format!("{section}_")) {
                    return format!("{section}.{rest}").into();
                }
            }
            lower.into()
        })
        .split(".")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error.
mod tests {
    use super::*;

    fn example_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/rosterd.toml")
    }

    #[test]
    fn the_documented_example_parses_and_matches_the_defaults() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(Some(&example_path()), FlagOverrides::default())
                .map_err(|e| e.to_string())?;
            let defaults =
                Config::load(None, FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, defaults.listen);
            assert_eq!(config.invites.expiry_hours, 168);
            assert_eq!(config.smtp.url, None);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[smtp]\nhots = \"x\"\n")?;
            let err = Config::load(Some(Path::new("bad.toml")), FlagOverrides::default())
                .expect_err("unknown key");
            assert!(err.to_string().contains("hots"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn relative_paths_are_resolved_against_the_starting_directory() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ROSTER_IMPORTS_DIR", "drop");
            let flags = FlagOverrides {
                data_dir: Some(PathBuf::from("data")),
                ..FlagOverrides::default()
            };
            let c = Config::load(None, flags).map_err(|e| e.to_string())?;
            assert_eq!(c.data_dir, jail.directory().join("data"));
            assert_eq!(c.imports_dir(), jail.directory().join("drop"));
            assert!(c.socket_path().is_absolute());
            Ok(())
        });
    }

    #[test]
    fn environment_and_flags_override_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "listen = \"127.0.0.1:9000\"\n[smtp]\nurl = \"smtp://file:25\"\n",
            )?;
            jail.set_env("ROSTER_SMTP_URL", "smtp://env:2525");
            jail.set_env("ROSTER_SMTP_PASSWORD", "not-a-setting");
            jail.set_env("ROSTER_INVITES_EXPIRY_HOURS", "2");
            let flags = FlagOverrides {
                listen: Some("127.0.0.1:9100".parse().map_err(|_| "addr")?),
                ..FlagOverrides::default()
            };
            let c = Config::load(Some(Path::new("c.toml")), flags).map_err(|e| e.to_string())?;
            assert_eq!(c.smtp.url.as_deref(), Some("smtp://env:2525"));
            assert_eq!(c.invites.expiry_hours, 2);
            assert_eq!(c.listen.port(), 9100);
            assert_eq!(c.public_url, "http://127.0.0.1:9100");
            Ok(())
        });
    }

    #[test]
    fn the_smtp_server_is_named_by_host_or_by_url_not_both() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ROSTER_SMTP_HOST", "mail.example.com");
            jail.set_env("ROSTER_SMTP_PORT", "2525");
            jail.set_env("ROSTER_SMTP_TLS", "none");
            jail.set_env("ROSTER_SMTP_USER", "roster@example.com");
            let c = Config::load(None, FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.smtp.host.as_deref(), Some("mail.example.com"));
            assert_eq!(c.smtp.port, Some(2525));
            assert_eq!(c.smtp.tls, Some(SmtpTls::None));
            assert_eq!(c.smtp.user.as_deref(), Some("roster@example.com"));
            Ok(())
        });
        let refusal = |file: &str| {
            let mut out = String::new();
            figment::Jail::expect_with(|jail| {
                jail.create_file("c.toml", file)?;
                out = Config::load(Some(Path::new("c.toml")), FlagOverrides::default())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                Ok(())
            });
            out
        };
        for (file, said) in [
            (
                "[smtp]\nurl = \"smtp://a:25\"\nhost = \"b\"\n",
                "smtp.url and smtp.host both name the SMTP server",
            ),
            (
                "[smtp]\nurl = \"smtp://a:25\"\ntls = \"tls\"\n",
                "with smtp.url, write them in the URL",
            ),
            ("[smtp]\nport = 25\n", "need smtp.host"),
            ("[smtp]\nhost = \"a\"\nport = 0\n", "between 1 and 65535"),
            ("[smtp]\nhost = \"a\"\ntls = \"ssl\"\n", "smtp.tls"),
        ] {
            let got = refusal(file);
            assert!(got.contains(said), "{file:?}: {got}");
        }
    }
}
