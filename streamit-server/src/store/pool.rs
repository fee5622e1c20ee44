//! Opening the pool: which backend a URL names, how many connections it gets, and the settings
//! every SQLite connection needs.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection as _, Executor};

use super::{Backend, Result};

/// SQLite serialises writers, so more connections only add readers; WAL lets a few read while
/// one writes.
const SQLITE_CONNECTIONS: u32 = 4;

/// Per node; several nodes share one PostgreSQL, whose default limit is 100 connections.
const POSTGRES_CONNECTIONS: u32 = 10;

/// A PostgreSQL connection idle this long is pinged before it is used again, so one the server
/// or a proxy dropped meanwhile is replaced rather than failing a request. Busier connections
/// are not: a ping before every query would double its round trips.
pub(super) const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Applied to every pooled SQLite connection, since pragmas (but `journal_mode`) are per
/// connection. `busy_timeout` comes first so switching to WAL waits out a racing connection
/// instead of failing; `synchronous=NORMAL` is durable enough in WAL mode and much faster.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// Connects a pool to `url` and says which backend it is.
pub(super) async fn open(url: &str) -> Result<(AnyPool, Backend)> {
    sqlx::any::install_default_drivers();
    let backend = backend_of(url)?;
    // sqlx pings every connection it hands out by default: one more round trip per query (for
    // SQLite, a trip to the connection's thread and back) to guard against a dropped link.
    let options = AnyPoolOptions::new().test_before_acquire(false);
    let options = match backend {
        Backend::Postgres => options
            .max_connections(POSTGRES_CONNECTIONS)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            }),
        // A file cannot hang up: never pinged.
        Backend::Sqlite if is_memory(url) => memory_pool(options),
        Backend::Sqlite => options.max_connections(SQLITE_CONNECTIONS),
    };
    let options = match backend {
        Backend::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(drop) })
        }),
        Backend::Postgres => options,
    };
    let url = match backend {
        Backend::Sqlite => sqlite_url(url),
        Backend::Postgres => url.to_owned(),
    };
    Ok((options.connect(&url).await?, backend))
}

/// The pool of an in-memory SQLite database: every connection to `sqlite::memory:` opens a
/// database of its own, so the pool keeps exactly one, open for the pool's whole life.
fn memory_pool(options: AnyPoolOptions) -> AnyPoolOptions {
    options
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        let message =
            format!("unsupported database URL scheme {scheme:?}; use sqlite:// or postgres://");
        Err(sqlx::Error::Configuration(message.into()).into())
    }
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A SQLite URL that creates its file when missing, unless it already chose a `mode`.
fn sqlite_url(url: &str) -> String {
    if is_memory(url) || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_their_file_unless_told_otherwise() {
        assert_eq!(
            sqlite_url("sqlite://streamit.db"),
            "sqlite://streamit.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert_eq!(sqlite_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn backends_by_scheme() {
        assert_eq!(backend_of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgresql://db/x").unwrap(), Backend::Postgres);
        assert!(backend_of("mysql://db/x").is_err());
    }
}
