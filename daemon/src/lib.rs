//! `rosterd`: owns the roster database and serves the admin API, the
//! invite pages and (later) SCIM; sends invite mail from a durable outbox.
//!
//! [`bind`] and [`run`] are the seam tests use: bind listeners on a temp
//! dir and a free port, run until a shutdown future resolves.

pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod importer;
pub mod links;
pub mod mail;
pub mod service;
pub mod store;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};

use config::Config;
use service::outbox::RetryPolicy;
use service::{Services, Settings};

/// Longest the daemon waits for open connections (event streams) at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The bound listeners of a daemon.
pub struct Listeners {
    pub tcp: TcpListener,
    pub unix: UnixListener,
}

/// Why the daemon could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("another rosterd is already running with data directory {0}")]
    AlreadyRunning(String),
    #[error("database {path}: {reason}")]
    Database { path: String, reason: String },
    #[error("{0}")]
    Setup(String),
}

/// Creates the data directory (mode 0700) and binds both listeners.
pub async fn bind(config: &Config) -> Result<Listeners, StartError> {
    let dir = &config.data_dir;
    let dir_err = |source| StartError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(dir_err)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
    let socket = config.socket_path();
    if socket.exists() {
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            return Err(StartError::AlreadyRunning(dir.display().to_string()));
        }
        std::fs::remove_file(&socket).map_err(dir_err)?;
    }
    let unix = UnixListener::bind(&socket).map_err(|source| StartError::Listen {
        addr: socket.display().to_string(),
        source,
    })?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).map_err(dir_err)?;
    let tcp = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen.to_string(),
            source,
        })?;
    Ok(Listeners { tcp, unix })
}

/// Runs the daemon until `shutdown` resolves.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let db_path = config.database_path();
    let cache_bytes = config.database.cache_mb.saturating_mul(1024 * 1024);
    let store = tokio::task::spawn_blocking(move || store::Store::open(&db_path, cache_bytes))
        .await
        .map_err(|e| StartError::Setup(e.to_string()))?
        .map_err(|e| {
            let reason = e.to_string();
            if reason.contains("already open") || reason.contains("lock") {
                StartError::AlreadyRunning(config.data_dir.display().to_string())
            } else {
                StartError::Database {
                    path: config.database_path().display().to_string(),
                    reason,
                }
            }
        })?;
    let links = links::LinkSigner::load_or_create(&config.invite_key_path())
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let settings = Settings {
        public_url: config.public_url.clone(),
        status_model: config.status_model,
        invite_expiry_ms: i64::try_from(config.invites.expiry_hours)
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000),
        default_workspace: config.default_workspace.slug.clone(),
    };
    let services = Services::new(store.clone(), links, settings);
    services
        .ensure_default_workspace(&config.default_workspace.name)
        .await
        .map_err(|e| StartError::Setup(e.to_string()))?;

    let transport = mail::MailTransport::from_config(&config.smtp, config.mail_dir())
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let from = mail::transport::from_mailbox(&config.smtp)
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let policy = RetryPolicy {
        max_attempts: config.outbox.max_attempts.max(1),
        initial_backoff_ms: i64::try_from(config.outbox.initial_backoff_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX),
        max_backoff_ms: i64::try_from(config.outbox.max_backoff_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX),
    };
    let mailer = tokio::spawn(mail::run_outbox(
        services.clone(),
        transport,
        from,
        config.smtp.concurrency,
        policy,
    ));

    let (importer, import_tasks) =
        importer::Importer::start(services.clone(), &config.imports, config.imports_dir())
            .await
            .map_err(|e| StartError::Setup(e.to_string()))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = http::AppState::new(
        services,
        config.invites.accept_redirect_url.clone(),
        config.invites.rate_limit_per_minute,
        config.http.max_body_bytes,
        stop_rx.clone(),
        config.scim,
        Some(importer.clone()),
    );
    let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let tcp_app = http::tcp_router(state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let tcp = tokio::spawn(
        axum::serve(listeners.tcp, tcp_app)
            .with_graceful_shutdown(wait_stop(stop_rx.clone()))
            .into_future(),
    );
    let unix = tokio::spawn(
        axum::serve(listeners.unix, http::socket_router(state))
            .with_graceful_shutdown(wait_stop(stop_rx))
            .into_future(),
    );
    tracing::info!(listen = %config.listen, socket = %config.socket_path().display(), public_url = %config.public_url, "rosterd is ready");

    shutdown.await;
    tracing::info!("shutting down");
    importer.stop();
    let _ = stop_tx.send(true);
    let (tcp_abort, unix_abort) = (tcp.abort_handle(), unix.abort_handle());
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        let _ = tcp.await;
        let _ = unix.await;
    })
    .await
    .is_err()
    {
        tracing::warn!("open connections did not finish in time; closing them");
        tcp_abort.abort();
        unix_abort.abort();
    }
    mailer.abort();
    let _ = mailer.await;
    import_tasks.join().await;
    drop(importer);
    if let Err(e) = tokio::task::spawn_blocking(move || store.close(SHUTDOWN_GRACE)).await {
        tracing::error!(error = %e, "closing the database failed; the next start will check it");
    }
    let _ = std::fs::remove_file(config.socket_path());
    Ok(())
}
