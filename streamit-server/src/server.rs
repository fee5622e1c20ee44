//! The accept loop: one task per connection, tracked, and a graceful shutdown that stops
//! accepting, lets open requests finish within a bounded time, then returns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tracing::Instrument as _;

use crate::app::App;
use crate::auth::KeyRing;
use crate::config::{Config, redact_url};
use crate::lifecycle;
use crate::{bus, grace, http, purge, store};

/// The longest a request body may pause between two pieces (a slow client, or one that stopped
/// half-way): it is refused as unreadable then, and its connection freed. Headers have their
/// own 10 s (`header_read_timeout`).
pub(crate) const BODY_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop waits, after the drain, for the database's connections to close (SQLite then
/// folds its WAL back into the file): closing idle connections takes milliseconds, but a task
/// the drain gave up on may hold one for good.
const STORE_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database {url}: {cause}")]
    Database {
        /// The database URL, password redacted.
        url: String,
        /// What went wrong; already in the message, so not a `source` that would say it twice.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A setting that cannot be used, named in the message.
    #[error("{0}")]
    Setting(String),
    /// `--redis-url` is not a Redis URL, or the server was stopped while waiting for Redis.
    #[error("redis {url}: {cause}")]
    Redis {
        /// The Redis URL, password redacted.
        url: String,
        /// What went wrong; already in the message.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No usable token-signing secret: too short, unreadable, or none for PostgreSQL.
    #[error("token-signing secret: {cause}")]
    Secret {
        /// What is wrong with it; already in the message.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn database_error(url: &str, error: store::Error) -> StartError {
    StartError::Database {
        url: url.to_owned(),
        cause: Box::new(error),
    }
}

/// Serves `listener` until `shutdown` is cancelled, then drains open requests (at most
/// `--shutdown-grace-seconds`) and returns.
///
/// # Errors
/// When the token-signing secret is unusable, or the database cannot be opened or migrated.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let url = redact_url(&config.database_url);
    // Checked before the database is touched: a bad setting should not leave a new file behind.
    let keys = KeyRing::load(&config).map_err(|e| StartError::Secret { cause: Box::new(e) })?;
    let cors = http::Origins::parse(&config.cors_origins)
        .map_err(|e| StartError::Setting(format!("--cors-origins: {e}")))?;
    let connections = TaskTracker::new();
    let redis_url = config.redis_url.as_deref();
    let bus = bus::connect(redis_url, &shutdown, &connections)
        .await
        .map_err(|e| StartError::Redis {
            url: redis_url.map(redact_url).unwrap_or_default(),
            cause: Box::new(e),
        })?;
    let app = App::start(
        &config,
        &keys,
        bus,
        cors,
        shutdown.clone(),
        connections.clone(),
    )
    .await
    .map_err(|e| database_error(&url, e))?;
    // Alone, this node owned every room: no socket survived the last stop, so rooms whose
    // host was live get their grace from now. With other nodes, rooms whose node died are
    // found by the orphan sweep instead; the others are in good hands.
    if config.redis_url.is_none() {
        let deadline = lifecycle::grace_deadline(crate::clock::now_ms(), config.grace_seconds);
        let in_grace = app
            .store
            .recover_after_restart(deadline)
            .await
            .map_err(|e| database_error(&url, e))?;
        if !in_grace.is_empty() {
            tracing::info!(
                rooms = in_grace.len(),
                "rooms live in the last run are in grace"
            );
        }
    }
    let app = Arc::new(app);
    let sweeper = grace::sweep(app.store.clone(), app.notices.clone(), shutdown.clone());
    connections.spawn(sweeper.instrument(tracing::info_span!("grace", database = %url)));
    if config.retention_days > 0 {
        let retention = Duration::from_secs(u64::from(config.retention_days) * 24 * 60 * 60);
        connections.spawn(purge::sweep(app.store.clone(), retention, shutdown.clone()));
    }
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(%address, database = %url, backend = ?app.store.backend(), "streamit-server listening");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(Arc::clone(&app), stream, peer, shutdown.clone()));
                }
                // Out of descriptors or a reset during the handshake: log and keep serving.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    connections.close();
    tracing::info!(
        open = connections.len(),
        "shutting down; draining connections"
    );
    if tokio::time::timeout(config.shutdown_grace(), connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "drain timed out; closing what is left"
        );
    }
    if tokio::time::timeout(STORE_CLOSE_TIMEOUT, app.store.close())
        .await
        .is_err()
    {
        tracing::warn!("the database's connections did not close in time");
    }
    tracing::info!("streamit-server stopped");
    Ok(())
}

async fn connection(
    app: Arc<App>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let cors = app.cors.layer();
    let handler = tower::service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(http::serve(app, peer, request).await) }
    });
    let service = TowerToHyperService::new(
        tower::ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                ::http::header::AUTHORIZATION,
            ]))
            .option_layer(cors)
            .layer(RequestBodyTimeoutLayer::new(BODY_FRAME_TIMEOUT))
            .service(handler),
    );
    let connection = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .serve_connection(http::JsonRefusals::new(TokioIo::new(stream)), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
